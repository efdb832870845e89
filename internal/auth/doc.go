// Package auth is identity and access for mla-flow: password hashing and
// the password policy, access tokens and the key ring that signs them
// (rotated without logging anyone out), sessions with rotating refresh
// tokens and reuse detection, the log-in throttle, the Echo middleware that
// turns a bearer token into a user, and the Policy that decides who may see
// and do what.
//
// It imports internal/workflow (whose Policy interface it implements) and no
// other package of the project; it holds no HTTP handlers. Accounts,
// sessions and signing keys live behind the small Store and KeyStore
// interfaces, which internal/store implements.
package auth
