// Package store keeps mla-flow's data in SQLite or PostgreSQL through GORM.
// It implements workflow.Store and workflow.Tx, and adds what the
// authentication layer and the command line need (users, settings, backups).
//
// The rows it persists are its own types (rows.go), converted to and from
// the domain's explicitly, so that internal/workflow carries no GORM tags and
// the schema can change without touching the domain.
//
// Every write goes through one transaction per command (Store.WithTx), and
// every command's audit record is chained inside that same transaction
// (tx.Apply): if the record cannot be written, the change does not
// happen. The commands' transactions go through one writer goroutine that
// commits the ones waiting together (group commit, groupcommit.go): each
// runs in a savepoint of one database transaction, which is committed once,
// before any of them is answered. On SQLite all writes share one
// connection, because SQLite has one writer anyway and more connections
// only add SQLITE_BUSY; reads use a separate read-only pool. On PostgreSQL
// one pool serves both, and the audit head row, locked FOR UPDATE by each
// batch, serialises the appends of several servers so the chain cannot
// fork.
package store
