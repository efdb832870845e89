// Package httpapi is the REST API of mla-flow, version 1, as CONTRACT.md
// section 4 defines it: routes, strict JSON decoding, the converters between
// domain values and the contract's JSON, and the one place where domain
// errors become HTTP statuses.
//
// Handlers are thin: decode, call workflow.Service (or auth.Authenticator),
// encode. Every rule about who may see or do what lives in internal/auth's
// Policy and every workflow rule in internal/workflow; this package never
// talks to the store.
package httpapi
