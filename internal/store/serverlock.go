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
// The lock is the operating system's, on a file next to the database, so
// it ends with the process however that ends, kill -9 included; the file
// itself stays, empty, and means nothing when no process holds it.
type serverLock struct{ f *os.File }

func lockServer(dbPath string) (*serverLock, error) {
	name := dbPath + ".server-lock"
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
