// Package workflow is the domain of mla-flow: the kinds of request, their
// states and events, the one transition table, refusal grounds, and the
// Service that creates, edits and moves requests.
//
// It imports no other package of the project. What it needs from the outside
// (a transactional store, an access policy) it declares as small interfaces
// that internal/store and internal/auth implement, so that the rules here can
// be read, and tested, without HTTP or SQL.
//
// A command decides, then says everything it changes in one value, Change
// (change.go): the request's new state, its history, its audit entry, its
// outbox message and timers, which the store writes in the command's
// transaction (Tx.Apply). Every audit record is made from a Change, by
// Change.AuditRecord.
package workflow
