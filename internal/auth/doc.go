// Package auth is identity and access for mla-flow: password hashing, access
// tokens, the log-in throttle, the Echo middleware that turns a bearer token
// into a user, and the Policy that decides who may see and do what.
//
// It imports internal/workflow (whose Policy interface it implements) and no
// other package of the project; it holds no HTTP handlers. The user accounts
// themselves live behind the small UserStore interface, which internal/store
// implements.
package auth
