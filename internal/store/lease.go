package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"

	"github.com/mla-flow/mla-flow/internal/jobs"
)

// jobsLockID is the advisory lock of the job runner's lease on PostgreSQL
// ("mla-job" in ASCII; the migrations use another).
const jobsLockID int64 = 0x6d6c612d6a6f62

// JobLease returns the lease of the job runner (see internal/jobs). On
// PostgreSQL it is a session advisory lock, held by a connection of its
// own taken from the pool: PostgreSQL releases it the moment that
// connection ends, so a server killed with SIGKILL hands the lease over as
// soon as its socket closes, and no expiry has to be guessed. On SQLite it
// is always held: a server holds its file's server lock, and no other
// server can open the file.
func (s *Store) JobLease() jobs.Lease {
	if !s.postgres {
		return alwaysHeld{}
	}
	return &advisoryLease{s: s}
}

type alwaysHeld struct{}

func (alwaysHeld) TryAcquire(context.Context) (bool, error) { return true, nil }
func (alwaysHeld) Held(context.Context) bool                { return true }
func (alwaysHeld) Release(context.Context) error            { return nil }

// advisoryLease holds pg_try_advisory_lock on one connection.
type advisoryLease struct {
	s    *Store
	mu   sync.Mutex
	conn *sql.Conn // non-nil while held
}

// leaseCheckTimeout bounds the query that tells whether the lease's
// connection is alive: a connection that does not answer within it is
// taken for dead.
const leaseCheckTimeout = 5 * time.Second

func (l *advisoryLease) TryAcquire(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		return true, nil
	}
	db, err := l.s.w.DB()
	if err != nil {
		return false, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("job lease: %w", err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", jobsLockID).Scan(&got); err != nil {
		conn.Close()
		return false, fmt.Errorf("job lease: %w", err)
	}
	if !got {
		conn.Close()
		return false, nil
	}
	l.conn = conn
	return true, nil
}

func (l *advisoryLease) Held(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, leaseCheckTimeout)
	defer cancel()
	// A session lock lasts as long as its session: a connection that
	// answers still holds it.
	if _, err := l.conn.ExecContext(ctx, "SELECT 1"); err != nil {
		l.drop()
		return false
	}
	return true
}

func (l *advisoryLease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	_, err := l.conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", jobsLockID)
	l.drop()
	return err
}

// drop closes the lease's connection without returning it to the pool: a
// connection that held the lock, or whose state is unknown, must not serve
// a command later. Closing it ends its session, which releases the lock.
func (l *advisoryLease) drop() {
	if l.conn == nil {
		return
	}
	_ = l.conn.Raw(func(any) error { return driver.ErrBadConn }) // not back to the pool
	_ = l.conn.Close()
	l.conn = nil
}
