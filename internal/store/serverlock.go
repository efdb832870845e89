package store

import (
	"errors"
	"fmt"
	"os"
)

// errServerRunning is what a second server on one SQLite file gets.
var errServerRunning = errors.New("another server is using this database")

// errLocked is lockFile's answer when another process holds the lock.
var errLocked = errors.New("locked by another process")

// serverLock is held by the one server of a SQLite file for as long as its
// store is open. The store is written to by one group-commit writer and
// keeps what it wrote in memory (the session cache), both of which assume
// that no other server writes to the file meanwhile. The command line's
// tools (user add, audit verify, backup, keys rotate) do not take it: they
// run beside the server, as they are meant to.
//
// The lock is the operating system's, so it ends with the process however
// that ends, kill -9 included. It is taken on the file lockPath names for
// the database: on Linux the database file itself, so that every name of
// the file (a symbolic link, a hard link, a rename, a bind mount) meets the
// same lock; see serverlock_linux.go for why that cannot disturb SQLite's
// own locks.
type serverLock struct{ f *os.File }

// lockServer takes the server lock of the SQLite file at path (absolute,
// symbolic links resolved). Open calls it before SQLite opens the file and
// Close releases it after SQLite has closed it: see serverlock_linux.go.
func lockServer(path string) (*serverLock, error) {
	name := lockPath(path)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server lock %s: %w", name, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%w (%s is locked): stop it first, or give this one another --db", errServerRunning, name)
		}
		return nil, fmt.Errorf("server lock %s: %w", name, err)
	}
	return &serverLock{f: f}, nil
}

func (l *serverLock) release() error {
	if l == nil {
		return nil
	}
	return l.f.Close() // closing the last descriptor releases the lock
}

// checkOneName refuses a database file that has more than one name (hard
// link), for servers and tools alike. SQLite keeps a database's
// uncheckpointed commits in "<name>-wal" and its index in "<name>-shm",
// after the name it was opened by (symbolic links resolved, hard links
// not): through another name, a program sees none of the commits still in
// the first name's WAL and writes a second WAL over the same file, which
// loses or corrupts data (https://sqlite.org/howtocorrupt.html, "Multiple links to the same
// file"). A
// missing file is fine: SQLite creates it with one name.
func checkOneName(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("database %s: %w", path, err)
	}
	if n := linkCount(fi); n > 1 {
		return fmt.Errorf("database %s has %d names (hard links): SQLite keeps a journal per name, so open it by one name only and remove the other links", path, n)
	}
	return nil
}
