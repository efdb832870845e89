package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"gorm.io/driver/sqlite"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// HoldWriter makes the group-commit writer stop after it has taken the next
// transaction and before it gathers the rest of its batch, until release is
// called; queued tells how many transactions wait behind the held one. A
// test holds the writer, starts n transactions, waits until queued() is
// n-1, and releases: the n transactions then run as one batch.
func HoldWriter(s *Store) (queued func() int, release func()) {
	s.gc.gate.Lock()
	return func() int { return len(s.gc.jobs) }, s.gc.gate.Unlock
}

// FailCommits makes every batch's COMMIT fail with err (the transaction is
// rolled back instead) until restore is called.
func FailCommits(s *Store, err error) (restore func()) {
	fail := func() error { return err }
	s.gc.commitFn.Store(&fail)
	return func() { s.gc.commitFn.Store(nil) }
}

// WaitQueued waits until n transactions are queued behind a held writer.
func WaitQueued(queued func() int, n int) bool {
	deadline := time.Now().Add(10 * time.Second)
	for queued() < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// FailBeforeCommit makes the next times batches fail with err after their
// transactions ran and before their COMMIT (every batch when times is
// negative), as a deadlock or a failing write at the end of a batch does,
// until restore is called.
func FailBeforeCommit(s *Store, err error, times int) (restore func()) {
	var n atomic.Int64
	fail := func() error {
		if times >= 0 && n.Add(1) > int64(times) {
			return nil
		}
		return err
	}
	s.gc.abortFn.Store(&fail)
	return func() { s.gc.abortFn.Store(nil) }
}

// OpenInspection opens a database for reading as tools find it, without
// migrating it.
var OpenInspection = openInspection

// RawTx is the lower level of a write transaction, below Apply, for the
// tests of the store's own rules (versions, counts, group commit) that
// write a request or a history row with no audit entry beside it.
type RawTx struct{ t *tx }

// Raw returns the lower level of tx, a transaction of this package.
func Raw(wt workflow.Tx) RawTx { return RawTx{wt.(*tx)} }

// CreateRequest inserts a request.
func (r RawTx) CreateRequest(ctx context.Context, q workflow.Request) error {
	return r.t.createRequest(ctx, q)
}

// UpdateRequest updates a request if it is still at oldVersion.
func (r RawTx) UpdateRequest(ctx context.Context, q workflow.Request, oldVersion int) error {
	return r.t.updateRequest(ctx, q, oldVersion)
}

// AppendHistory records a transition.
func (r RawTx) AppendHistory(_ context.Context, h workflow.HistoryEntry) error {
	return r.t.appendHistory(h)
}

// Unversion makes the database of s look made by a release before
// versioned migrations: it drops schema_migrations and every table that a
// migration after the baseline (0001) created. A test that also drops a
// column of the baseline has such a release's database.
func Unversion(s *Store) error {
	migrations, err := Migrations(false)
	if err != nil {
		return err
	}
	mem, err := sql.Open(sqlite.DriverName, ":memory:")
	if err != nil {
		return err
	}
	defer mem.Close()
	if _, err := mem.Exec(migrations[0].SQL); err != nil {
		return err
	}
	var baseline []string
	rows, err := mem.Query("SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		baseline = append(baseline, name)
	}
	list, drop := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", "DROP TABLE %s"
	if s.postgres {
		list, drop = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()", "DROP TABLE %s CASCADE"
	}
	var tables []string
	if err := s.w.Raw(list).Scan(&tables).Error; err != nil {
		return err
	}
	for _, t := range tables {
		if !slices.Contains(baseline, t) {
			if err := s.w.Exec(fmt.Sprintf(drop, t)).Error; err != nil {
				return err
			}
		}
	}
	// And the columns migrations after the baseline added (0004, 0008),
	// their indexes first (0004's and 0005's).
	for _, stmt := range []string{
		"DROP INDEX IF EXISTS ix_requests_requesting_due", "DROP INDEX IF EXISTS ix_requests_requested_due",
		"DROP INDEX IF EXISTS ix_requests_requesting_worklist", "DROP INDEX IF EXISTS ix_requests_requested_worklist",
		"DROP INDEX IF EXISTS ix_requests_requesting_running", "DROP INDEX IF EXISTS ix_requests_requested_running",
		"ALTER TABLE requests DROP COLUMN instrument", "ALTER TABLE requests DROP COLUMN purpose",
		"ALTER TABLE requests DROP COLUMN requested_reference", "ALTER TABLE requests DROP COLUMN persons",
		"ALTER TABLE requests DROP COLUMN deadlines", "ALTER TABLE requests DROP COLUMN next_due_at_us",
		"ALTER TABLE requests DROP COLUMN created_by",
		"ALTER TABLE authorities DROP COLUMN completeness_policy",
		"ALTER TABLE request_history DROP COLUMN documents",
	} {
		if err := s.w.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}

// JobsLockID is the advisory lock of the job lease, for tests that kill
// the session holding it.
const JobsLockID = jobsLockID
