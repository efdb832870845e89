// Package migrate applies numbered SQL migrations to a database and records
// each one, with the checksum of its text, in the table schema_migrations.
//
// A migration is a file NNNN_name.sql; the numbers start at 1 and have no
// gaps, so that the order is the order of the numbers and a missing file is
// noticed. Each runs in one transaction together with its record: it is
// applied wholly or not at all. A database that records a migration this
// binary does not have (a newer release migrated it), or whose recorded
// checksum differs from the file's (the file was edited after release), is
// refused: applying anything to it could only make things worse.
//
// The package knows SQL and two dialects, nothing of the tables it creates.
package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Table records the migrations applied.
const Table = "schema_migrations"

// Migration is one numbered SQL file.
type Migration struct {
	Version  int
	Name     string // the file name without number and extension
	SQL      string
	Checksum string // hex SHA-256 of SQL
}

// File is the migration's file name.
func (m Migration) File() string { return fmt.Sprintf("%04d_%s.sql", m.Version, m.Name) }

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Load reads the migrations in dir of fsys. Any other file there, a number
// given twice or a gap in the numbers is an error: a release with such a
// set could not be migrated to the same schema everywhere.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			return nil, fmt.Errorf("migrations %s: %q is not NNNN_name.sql", dir, e.Name())
		}
		text, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		version, _ := strconv.Atoi(m[1])
		sum := sha256.Sum256(text)
		out = append(out, Migration{Version: version, Name: m[2], SQL: string(text), Checksum: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations %s: expected number %04d, found %s", dir, i+1, m.File())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("migrations %s: none", dir)
	}
	return out, nil
}

// Dialect is the SQL the database speaks.
type Dialect int

const (
	SQLite Dialect = iota
	Postgres
)

// State is a migration and whether the database has it.
type State struct {
	Migration
	Applied   bool
	AppliedAt time.Time // zero when not applied
	// Recorded is the checksum the database recorded, when it differs
	// from the file's.
	Recorded string
}

// Recorded is a migration the database records but this binary does not
// have: a newer release applied it.
type Recorded struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

// Report is what a database holds of the migrations.
type Report struct {
	// Versioned is false for a database without schema_migrations: empty,
	// or made before its schema was versioned.
	Versioned bool
	States    []State
	Unknown   []Recorded // migrations of a newer release
}

// Empty is the report of a database that does not exist yet: every
// migration pending.
func Empty(migrations []Migration) Report {
	r := Report{}
	for _, m := range migrations {
		r.States = append(r.States, State{Migration: m})
	}
	return r
}

// Pending lists the migrations not applied, in order.
func (r Report) Pending() []Migration {
	var out []Migration
	for _, s := range r.States {
		if !s.Applied {
			out = append(out, s.Migration)
		}
	}
	return out
}

// Problem says why the database must not be migrated or served by this
// binary, or nil when it may.
func (r Report) Problem() error {
	if len(r.Unknown) > 0 {
		u := r.Unknown[len(r.Unknown)-1]
		return &Error{Newer: true, Version: u.Version,
			Text: fmt.Sprintf("the database was migrated by a newer version of mla-flow (it has migration %04d_%s, this binary knows up to %04d); run that version or newer", u.Version, u.Name, len(r.States))}
	}
	for _, s := range r.States {
		if s.Applied && s.Recorded != "" {
			return &Error{Version: s.Version,
				Text: fmt.Sprintf("migration %s was applied with checksum %s, but this binary's file has %s: the migration was changed after it was applied; restore the database's release or its file", s.File(), short(s.Recorded), short(s.Checksum))}
		}
	}
	return nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// Error is a database that this binary refuses to migrate.
type Error struct {
	Newer   bool // migrated by a newer release; otherwise a checksum differs
	Version int
	Text    string
}

func (e *Error) Error() string { return e.Text }

// ErrRefused matches every *Error with errors.Is.
var ErrRefused = errors.New("migration refused")

func (e *Error) Is(target error) bool { return target == ErrRefused }

// Migrator applies a set of migrations to one database.
type Migrator struct {
	db         *sql.DB
	dialect    Dialect
	migrations []Migration
	now        func() time.Time
	// Adopt, when set, runs in the transaction of the first migration ever
	// recorded on this database, after that migration's SQL: the place to
	// bring a database made before versioning up to the first migration's
	// schema, atomically with the record that says it is there.
	Adopt func(ctx context.Context, tx *sql.Tx) error
}

// New returns a Migrator of migrations for db. now stamps the records.
func New(db *sql.DB, d Dialect, migrations []Migration, now func() time.Time) *Migrator {
	return &Migrator{db: db, dialect: d, migrations: migrations, now: now}
}

// Report reads what the database holds of the migrations. It changes
// nothing.
func (m *Migrator) Report(ctx context.Context) (Report, error) {
	return m.report(ctx, m.db)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (m *Migrator) report(ctx context.Context, q querier) (Report, error) {
	var r Report
	exists, err := m.hasTable(ctx, q)
	if err != nil {
		return r, err
	}
	byVersion := map[int]State{}
	for _, mg := range m.migrations {
		byVersion[mg.Version] = State{Migration: mg}
	}
	if exists {
		r.Versioned = true
		rows, err := q.QueryContext(ctx, "SELECT version, name, checksum, applied_at_us FROM "+Table+" ORDER BY version")
		if err != nil {
			return r, fmt.Errorf("read %s: %w", Table, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				version   int
				name, sum string
				at        int64
			)
			if err := rows.Scan(&version, &name, &sum, &at); err != nil {
				return r, fmt.Errorf("read %s: %w", Table, err)
			}
			s, known := byVersion[version]
			if !known {
				r.Unknown = append(r.Unknown, Recorded{Version: version, Name: name, AppliedAt: time.UnixMicro(at).UTC()})
				continue
			}
			s.Applied, s.AppliedAt = true, time.UnixMicro(at).UTC()
			if sum != s.Checksum {
				s.Recorded = sum
			}
			byVersion[version] = s
		}
		if err := rows.Err(); err != nil {
			return r, fmt.Errorf("read %s: %w", Table, err)
		}
	}
	for _, mg := range m.migrations {
		r.States = append(r.States, byVersion[mg.Version])
	}
	return r, nil
}

func (m *Migrator) hasTable(ctx context.Context, q querier) (bool, error) {
	query := "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
	if m.dialect == Postgres {
		// to_regclass resolves the name on the search path, as every
		// unqualified statement of the migrations does.
		query = "SELECT 1 WHERE to_regclass($1) IS NOT NULL"
	}
	rows, err := q.QueryContext(ctx, query, Table)
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", Table, err)
	}
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}

// Apply applies the pending migrations in order, each in its own
// transaction with its record, and returns those it applied. It refuses a
// database whose Report has a Problem. Several processes may call it at
// once on one PostgreSQL database: they take turns, and each migration is
// applied once.
func (m *Migrator) Apply(ctx context.Context) ([]Migration, error) {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if m.dialect == Postgres {
		// A session lock held for the whole run, on this one connection:
		// a second server starting at the same moment waits here, then
		// finds the migrations applied.
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
			return nil, fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID)
	}
	var applied []Migration
	for {
		done, mg, err := m.applyNext(ctx, conn)
		if err != nil {
			return applied, err
		}
		if done {
			return applied, nil
		}
		applied = append(applied, mg)
	}
}

// lockID is the advisory lock key of migrations: any fixed number other
// locks of the application do not use ("mla-mig" in ASCII).
const lockID int64 = 0x6d6c612d6d6967

// applyNext applies the first pending migration in one transaction, after
// reading the records again inside it: what another process applied
// meanwhile is not applied twice.
func (m *Migrator) applyNext(ctx context.Context, conn *sql.Conn) (done bool, applied Migration, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, Migration{}, fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	r, err := m.report(ctx, tx)
	if err != nil {
		return false, Migration{}, err
	}
	if err := r.Problem(); err != nil {
		return false, Migration{}, err
	}
	pending := r.Pending()
	if len(pending) == 0 {
		return true, Migration{}, tx.Rollback()
	}
	mg := pending[0]
	if !r.Versioned {
		if _, err := tx.ExecContext(ctx, createTable); err != nil {
			return false, mg, fmt.Errorf("create %s: %w", Table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, mg.SQL); err != nil {
		return false, mg, fmt.Errorf("migration %s: %w", mg.File(), err)
	}
	if !r.Versioned && m.Adopt != nil {
		if err := m.Adopt(ctx, tx); err != nil {
			return false, mg, fmt.Errorf("migration %s: adopt the database: %w", mg.File(), err)
		}
	}
	insert := "INSERT INTO " + Table + " (version, name, checksum, applied_at_us) VALUES (?, ?, ?, ?)"
	if m.dialect == Postgres {
		insert = "INSERT INTO " + Table + " (version, name, checksum, applied_at_us) VALUES ($1, $2, $3, $4)"
	}
	if _, err := tx.ExecContext(ctx, insert, mg.Version, mg.Name, mg.Checksum, m.now().UnixMicro()); err != nil {
		return false, mg, fmt.Errorf("record migration %s: %w", mg.File(), err)
	}
	if err := tx.Commit(); err != nil {
		return false, mg, fmt.Errorf("migration %s: commit: %w", mg.File(), err)
	}
	return false, mg, nil
}

// createTable is the same in both dialects.
var createTable = strings.TrimSpace(`
CREATE TABLE ` + Table + ` (
	version BIGINT NOT NULL PRIMARY KEY,
	name TEXT NOT NULL,
	checksum TEXT NOT NULL,
	applied_at_us BIGINT NOT NULL
)`)
