// Package auth is identity and access for mla-flow: password hashing and
// the password policy, access tokens and the key ring that signs them
// (rotated without logging anyone out), sessions with rotating refresh
// tokens and reuse detection, the log-in throttle, and the Policy that
// decides who may see and do what.
//
// It imports internal/workflow (whose Policy interface it implements) and no
// other package of the project, and no web framework: the guards that turn
// a bearer token or a session cookie into a user live in internal/httpapi
// and web, which ask the Authenticator. Accounts,
// sessions and signing keys live behind the small Store and KeyStore
// interfaces, which internal/store implements.
package auth
