package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// writerParams configure the one connection that writes.
//
//   - journal_mode=WAL lets readers go on while a write commits.
//   - synchronous=FULL, because an answered commit must survive a crash or
//     power loss: in WAL mode NORMAL syncs only at checkpoints, so the last
//     commits before a power cut can vanish although their callers were told
//     they succeeded (and their audit entries with them).
//   - busy_timeout waits for another process's lock instead of failing.
//   - foreign_keys is off by default in SQLite.
//   - txlock=immediate makes every transaction BEGIN IMMEDIATE: a deferred
//     transaction that reads and then writes fails with SQLITE_BUSY at once,
//     ignoring the busy timeout, whenever another writer got in between.
//   - stmt_cache_size keeps the connection's last prepared statements:
//     preparing (parsing and planning) every statement again was about a
//     third of the CPU time SQLite spent per transition. The writer's
//     holds a multi-row INSERT per table and batch size (history, outbox,
//     audit entries, counts: up to maxBatchSQLite rows each), and 64 no
//     longer held those a busy server uses: with the outbox the writer
//     prepared its INSERTs again and lost a sixth of its throughput.
//
// mattn/go-sqlite3 applies these to every connection it opens, unlike a
// PRAGMA run through the pool, which reaches only one connection.
const writerParams = "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate&_stmt_cache_size=512"

// writerDriver is the database/sql driver of the writer connection:
// mattn/go-sqlite3 with the pragmas that have no DSN parameter.
//
//   - temp_store=MEMORY keeps statement journals and the savepoints'
//     sub-journals in memory. Every item of a group commit runs in a
//     savepoint (groupcommit.go), and with the default these went to
//     temporary files: about 650 KB of writes per commit, and a sixth of
//     the throughput. What they hold is needed only until the transaction
//     ends; durability rests on the WAL alone.
const writerDriver = "sqlite3-mlaflow-writer"

//   - wal_autocheckpoint=4000 (16 MB of WAL instead of 4): the
//     checkpointer copies the WAL into the database file in the background
//     (see checkpointer), so the writer seldom does it itself in the middle
//     of a commit that callers wait for. The writer's own checkpoint stays
//     as the bound on the WAL: SQLite starts the WAL over only when a
//     writer begins a transaction after everything in it has been copied,
//     which under a steady stream of commits only the writer's own
//     checkpoint achieves.
func init() {
	sql.Register(writerDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 4000", nil)
		return err
	}})
}

// checkpointInterval is how often the checkpointer copies what the WAL
// holds into the database file.
const checkpointInterval = 100 * time.Millisecond

// checkpointer copies committed pages from the WAL into the database file
// (a PASSIVE checkpoint: it waits for nobody and blocks nobody) every
// checkpointInterval, on a connection of its own, so that the writer's
// automatic checkpoint finds little left to copy. Commits are durable once
// in the WAL; checkpoints only keep it short.
type checkpointer struct {
	db   *sql.DB
	log  interface{ Warn(string, ...any) }
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(path string, log interface{ Warn(string, ...any) }) (*checkpointer, error) {
	dsn, err := sqliteDSN(path, writerParams)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(sqlite.DriverName, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if _, err := c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			c.log.Warn("wal checkpoint", "err", err.Error())
		}
	}
}

// close stops the checkpointer after one last checkpoint.
func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
	_, _ = c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	c.db.Close()
}

// readerParams configure the read pool: deferred transactions (they never
// write) and query_only, so that a bug cannot write around the writer; and
// prepared statements kept, as on the writer.
const readerParams = "_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_txlock=deferred&_query_only=1&_stmt_cache_size=64"

// readerConns is the size of the read pool. WAL readers do not block each
// other or the writer; a few cover the request handlers of a small server.
const readerConns = 4

// sqliteDSN turns a file path into a file: URI with the given parameters.
// The path is made absolute and escaped, so that names with spaces, '?',
// '#' or '%' reach SQLite as they are instead of being read as URI syntax.
func sqliteDSN(path, params string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("database path %q: %w", path, err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: params}
	// url.URL writes "file:///abs"; SQLite reads that as the absolute path.
	return u.String(), nil
}

// sqlitePath turns the path given for a SQLite file into the file's own
// name, creating its directory when missing: absolute, so that Backup finds
// the file even if the process changes its working directory later, and
// with symbolic links resolved, as SQLite resolves them to name its -wal
// and -shm files, so that the lock and the messages name the same file.
func sqlitePath(dsn string) (string, error) {
	abs, err := filepath.Abs(dsn)
	if err != nil {
		return "", fmt.Errorf("database path %q: %w", dsn, err)
	}
	dir, base := filepath.Split(abs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create database directory: %w", err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real, nil
	}
	// No file yet (SQLite creates it): resolve the directory only.
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("database directory %q: %w", dir, err)
	}
	return filepath.Join(realDir, base), nil
}

// openSQLite opens the writer, migrates and seeds through it, then opens the
// read pool (after the schema exists and the file is in WAL mode). path is
// what sqlitePath made of the given one.
func openSQLite(ctx context.Context, path string, cfg *gorm.Config) (w, r *gorm.DB, err error) {
	wdsn, err := sqliteDSN(path, writerParams)
	if err != nil {
		return nil, nil, err
	}
	w, err = gorm.Open(sqlite.New(sqlite.Config{DriverName: writerDriver, DSN: wdsn}), cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	wsql, err := w.DB()
	if err != nil {
		return nil, nil, err
	}
	// One writer connection, kept open for good: SQLite has one writer
	// anyway, and more connections only add SQLITE_BUSY and latency.
	wsql.SetMaxOpenConns(1)
	wsql.SetMaxIdleConns(1)
	wsql.SetConnMaxLifetime(0)
	wsql.SetConnMaxIdleTime(0)
	if err := pingSQLite(ctx, w); err != nil {
		wsql.Close()
		return nil, nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	rdsn, err := sqliteDSN(path, readerParams)
	if err != nil {
		wsql.Close()
		return nil, nil, err
	}
	r, err = gorm.Open(sqlite.Open(rdsn), cfg)
	if err != nil {
		wsql.Close()
		return nil, nil, fmt.Errorf("open sqlite %s for reading: %w", path, err)
	}
	rsql, err := r.DB()
	if err != nil {
		wsql.Close()
		return nil, nil, err
	}
	rsql.SetMaxOpenConns(readerConns)
	rsql.SetMaxIdleConns(readerConns)
	rsql.SetConnMaxIdleTime(5 * time.Minute)
	return w, r, nil
}

// pingSQLite checks the connection and that SQLite is recent enough for the
// statements this package uses (RETURNING needs 3.35).
func pingSQLite(ctx context.Context, db *gorm.DB) error {
	var version string
	if err := db.WithContext(ctx).Raw("SELECT sqlite_version()").Scan(&version).Error; err != nil {
		return err
	}
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return fmt.Errorf("sqlite version %q: %w", version, err)
	}
	if major < 3 || major == 3 && minor < 35 {
		return fmt.Errorf("sqlite %s is too old: 3.35 or later is needed", version)
	}
	return nil
}
