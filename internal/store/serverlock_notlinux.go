//go:build !linux

package store

// lockPath outside Linux is a file next to the database, not the database
// itself: on the BSDs and macOS flock(2) and fcntl(2) locks interact, so a
// flock on the database would block SQLite's own locks. Two names of one
// file then meet the lock only if they share its directory; the path is
// resolved first (symbolic links) and checkOneName refuses hard links,
// which leaves a renamed file or a bind mount of the file itself. The
// server runs on Linux (see the Dockerfile).
func lockPath(db string) string { return db + ".server-lock" }
