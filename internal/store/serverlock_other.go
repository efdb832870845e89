//go:build !unix

package store

import (
	"os"
)

// lockFile does nothing where flock(2) does not exist: the server runs on
// Linux (see the Dockerfile); elsewhere, running one server per database
// file is up to the operator.
func lockFile(*os.File) error { return nil }

// linkCount cannot tell hard links apart here, and says one.
func linkCount(os.FileInfo) uint64 { return 1 }
