package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"gorm.io/driver/sqlite"
)

// Backup writes a consistent copy of the database to a new file at path,
// while the server keeps running. On SQLite it runs VACUUM INTO, which reads
// one snapshot: the copy holds every transaction committed up to some instant
// and none in part, and writers are not blocked meanwhile. The file is synced before Backup returns. An existing
// path is refused rather than overwritten, so a mistyped name cannot destroy
// an earlier backup.
//
// The audit key is not part of the database, by design: keep it, and a copy
// of it, apart from the backups, or whoever holds a backup could rewrite its
// chain. On PostgreSQL Backup fails: use pg_dump, which does the same job
// consistently and knows the server's features.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.postgres {
		return errors.New("backup: the database is PostgreSQL; use pg_dump (for example pg_dump --format=custom) instead")
	}
	if path == "" {
		return errors.New("backup: no target file given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Lstat(abs); err == nil {
		return fmt.Errorf("backup: %s exists; choose a new file", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := s.vacuumInto(ctx, abs); err != nil {
		return s.fail(err, "backup")
	}
	// VACUUM INTO does not sync its output; a backup that a crash can
	// truncate is no backup.
	if err := syncFile(abs); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := syncFile(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// vacuumInto runs VACUUM INTO on a connection of its own. Not the writer's,
// which would hold up every write for the length of the copy; not a
// reader's, because query_only forbids VACUUM INTO even though it only
// reads the database.
func (s *Store) vacuumInto(ctx context.Context, target string) error {
	dsn, err := sqliteDSN(s.path, "_busy_timeout=5000&_txlock=deferred")
	if err != nil {
		return err
	}
	db, err := sql.Open(sqlite.DriverName, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", target)
	return err
}
