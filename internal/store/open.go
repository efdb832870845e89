package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"gorm.io/gorm"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Options configure Open.
type Options struct {
	// DSN selects the database: a postgres:// or postgresql:// URL for
	// PostgreSQL, anything else is the path of a SQLite file (created, with
	// its directory, when missing).
	DSN string
	// AuditKey seals the audit chain (at least audit.KeySize bytes). It is
	// kept outside the database: see audit.LoadOrCreateKey.
	AuditKey []byte
	// Logger receives slow queries and database trouble; nil discards them.
	Logger *slog.Logger
	// Server says that the caller is the server of a SQLite file, not a
	// command-line tool: Open refuses if another server has the file open
	// (see serverLock). It means nothing on PostgreSQL, which several
	// servers may share.
	Server bool
	// PostgresConns is the size of the PostgreSQL pool; 0 means
	// postgresConns. The world of a training exercise needs few.
	PostgresConns int
}

// Store is the database of mla-flow. It implements workflow.Store; its
// methods are safe for concurrent use.
type Store struct {
	w        *gorm.DB // writes: one connection on SQLite
	r        *gorm.DB // reads: a read-only pool on SQLite, w on PostgreSQL
	key      []byte
	log      *slog.Logger
	postgres bool
	path     string // the SQLite file; "" on PostgreSQL
	dsn      string // as opened: the base of the exercise worlds' addresses

	gc     *committer      // the group-commit writer every write goes through
	ckpt   *checkpointer   // SQLite: copies the WAL into the database file
	sealer *audit.Sealer   // used by the writer goroutine only
	digest *audit.Digester // keys the digests of case text in audit details
	sql    statements      // hand-written SQL in the database's dialect

	userSealKey []byte // seals user rows (userseal.go)
	// digests computes the digests audit entries bind texts with, for the
	// replay of requests (see verifyRequests).
	digests workflow.TextDigests

	sessions *sessionCache // answers of SessionUser on SQLite (see sessioncache.go)
	lock     *serverLock   // SQLite, Options.Server: held while open
}

var _ workflow.Store = (*Store)(nil)

// Authorities seeded on every Open: the central authorities of the contract
// (section 2). They are inserted when missing and never overwritten, so an
// administrator's later rename survives restarts.
var seedAuthorities = []authorityRow{
	{Code: "IT", Name: "Italy, Ministry of Justice"},
	{Code: "ES", Name: "Spain, Ministry of Justice"},
	{Code: "NG", Name: "Nigeria, Federal Ministry of Justice"},
	{Code: "TH", Name: "Thailand, Office of the Attorney General"},
}

// Open connects to the database of opts.DSN, applies the pending migrations
// of its schema (see schema.go), seeds the central authorities and the
// audit head when missing, and protects what an adopted database from
// before a protection holds unprotected. It refuses a database that a newer
// release migrated, or whose migrations' checksums differ
// (migrate.ErrRefused).
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.DSN == "" {
		return nil, errors.New("open store: no database given")
	}
	if len(opts.AuditKey) < audit.KeySize {
		return nil, fmt.Errorf("open store: the audit key has %d bytes, at least %d are needed", len(opts.AuditKey), audit.KeySize)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &gorm.Config{
		// Every write already runs in the caller's explicit transaction; a
		// transaction per statement would only add round trips.
		SkipDefaultTransaction: true,
		// Unique and foreign key violations come back as gorm.ErrDuplicatedKey
		// and gorm.ErrForeignKeyViolated on both databases.
		TranslateError: true,
		Logger:         queryLogger{log: log},
		// No PrepareStmt: it gained nothing on SQLite and halved
		// throughput on PostgreSQL.
	}
	s := &Store{key: append([]byte(nil), opts.AuditKey...), log: log, dsn: opts.DSN}
	s.sealer = audit.NewSealer(s.key)
	s.digest = audit.NewDigester(s.key)
	s.digests = workflow.DigestsOf(s.digest)
	s.userSealKey = audit.DeriveKey(s.key, userSealPurpose)
	if isPostgresDSN(opts.DSN) {
		db, err := openPostgres(ctx, opts.DSN, cfg)
		if err == nil && opts.PostgresConns > 0 {
			if sqlDB, derr := db.DB(); derr == nil {
				sqlDB.SetMaxOpenConns(opts.PostgresConns)
				sqlDB.SetMaxIdleConns(opts.PostgresConns)
			}
		}
		if err != nil {
			return nil, err
		}
		s.w, s.r, s.postgres = db, db, true
		s.sql = newStatements(true)
		if err := migrateAndSeed(ctx, db, s.key, true, log); err != nil {
			s.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if err := s.protectLegacy(ctx); err != nil {
			s.Close()
			return nil, err
		}
		s.gc = newCommitter(s, writersPostgres, maxBatchPostgres)
		return s, nil
	}
	s.sql = newStatements(false)
	s.sessions = newSessionCache()
	path, err := sqlitePath(opts.DSN)
	if err != nil {
		return nil, err
	}
	s.path = path
	if opts.Server {
		// Before SQLite opens the file: see serverlock_linux.go.
		if s.lock, err = lockServer(path); err != nil {
			return nil, err
		}
	}
	if err := checkOneName(path); err != nil {
		s.Close()
		return nil, err
	}
	w, r, err := openSQLite(ctx, path, cfg)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.w, s.r = w, r
	if err := migrateAndSeed(ctx, w, s.key, false, log); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if s.ckpt, err = startCheckpointer(path, log); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := s.protectLegacy(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.gc = newCommitter(s, writersSQLite, maxBatchSQLite)
	return s, nil
}

// Ping checks that the database answers a query, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	var n int64
	if err := s.r.WithContext(ctx).Model(&auditHeadRow{}).Count(&n).Error; err != nil {
		return s.fail(err, "ping database")
	}
	return nil
}

// Close answers the writes already queued, then closes the database
// connections. Writes that arrive later fail.
func (s *Store) Close() error {
	if s.gc != nil {
		s.gc.close()
	}
	if s.ckpt != nil {
		s.ckpt.close()
		s.ckpt = nil
	}
	if !s.postgres && s.w != nil {
		// SQLite's advice for long-lived connections: refresh the query
		// planner's statistics where they have drifted, on the way out.
		_ = s.w.Exec("PRAGMA optimize").Error
	}
	var errs []error
	closeDB := func(db *gorm.DB) {
		if db == nil {
			return
		}
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		errs = append(errs, err)
	}
	if s.r != s.w {
		closeDB(s.r)
	}
	closeDB(s.w)
	errs = append(errs, s.lock.release())
	s.lock = nil
	return errors.Join(errs...)
}

// Digest binds case text into audit details by a digest keyed with a key
// derived from the audit key (see audit.Digester): the store holds the key
// of the log, so readers of the log, who do not, cannot confirm a guess of
// the text. It implements workflow.Digester.
func (s *Store) Digest(text string) string { return s.digest.Digest(text) }

// DB returns the writing *gorm.DB. It is for tests and tooling only (tests
// tamper with rows through it to prove that verification notices): the
// application goes through the methods, which keep the audit chain.
func (s *Store) DB() *gorm.DB { return s.w }
