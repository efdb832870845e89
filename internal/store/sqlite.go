package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

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
//
// mattn/go-sqlite3 applies these to every connection it opens, unlike a
// PRAGMA run through the pool, which reaches only one connection.
const writerParams = "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate"

// readerParams configure the read pool: deferred transactions (they never
// write) and query_only, so that a bug cannot write around the writer.
const readerParams = "_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_txlock=deferred&_query_only=1"

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

// openSQLite opens the writer, migrates and seeds through it, then opens the
// read pool (after the schema exists and the file is in WAL mode).
func openSQLite(ctx context.Context, path string, cfg *gorm.Config) (w, r *gorm.DB, err error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	wdsn, err := sqliteDSN(path, writerParams)
	if err != nil {
		return nil, nil, err
	}
	w, err = gorm.Open(sqlite.Open(wdsn), cfg)
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
