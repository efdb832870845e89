package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// fail prepares a database error for the caller. A *workflow.Error passes
// through untouched (it is a decision, not a failure); an error meaning that
// the database cannot serve now (locked, busy, disk full, read-only,
// connection lost) becomes an ErrUnavailable *workflow.Error, so that the API
// answers 503 and the client may retry, and its cause is logged because the
// message shown does not carry it; anything else is wrapped with what was
// being done.
func (s *Store) fail(err error, what string) error {
	if err == nil {
		return nil
	}
	var we *workflow.Error
	if errors.As(err, &we) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if reason, ok := unavailable(err); ok {
		s.log.Warn("database unavailable", "op", what, "err", err.Error())
		return workflow.Errorf(workflow.ErrUnavailable, "%s; try again later", reason)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unavailable reports whether err means the database cannot serve now but
// may later, and says why in words fit for a client.
func unavailable(err error) (string, bool) {
	const (
		busy     = "the database is busy"
		full     = "the database's disk is full"
		readOnly = "the database is read-only"
		down     = "the database cannot be reached"
	)
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return busy, true
		case sqlite3.ErrFull:
			return full, true
		case sqlite3.ErrReadonly:
			return readOnly, true
		case sqlite3.ErrIoErr, sqlite3.ErrCantOpen:
			return down, true
		}
		return "", false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100":
			return full, true
		case pe.Code == "25006":
			return readOnly, true
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03", pe.Code == "57014":
			// Serialisation failure, deadlock, lock not available, statement
			// cancelled (timeout): retrying is the documented remedy.
			return busy, true
		case strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57P"), strings.HasPrefix(pe.Code, "08"):
			// Out of resources, shutting down, connection trouble.
			return down, true
		}
		return "", false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone), pgconn.SafeToRetry(err):
		return down, true
	}
	// Errors that lost their type on the way (GORM's translator re-creates
	// some); SQLite's messages are stable.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "database is locked"), strings.Contains(msg, "database table is locked"):
		return busy, true
	case strings.Contains(msg, "database or disk is full"):
		return full, true
	case strings.Contains(msg, "readonly database"):
		return readOnly, true
	}
	return "", false
}

// isDuplicate reports whether err is a unique-constraint violation.
func isDuplicate(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }

// notFound reports whether err says that no row matched.
func notFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// isConflict reports whether err is PostgreSQL's serialization failure
// (40001) or deadlock (40P01): the transaction lost a race with another
// one and was rolled back, and running it again is the documented remedy.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
