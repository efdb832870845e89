package store

// lockPath on Linux is the database file itself: the lock then belongs to
// the file, whatever name reaches it.
//
// It cannot collide with SQLite's own locking. SQLite's unix VFS locks the
// database with fcntl(2) byte-range locks; lockFile takes a flock(2) lock,
// and on Linux the two are separate kinds that never conflict (flock(2),
// NOTES). The one way they meet is through the descriptor: closing any
// descriptor of a file drops every fcntl lock the process holds on it, so
// the lock's descriptor is opened before SQLite opens the file and closed
// after SQLite has closed it, and stays open in between. (A second server
// refused in the same process closes its descriptor at once, and with it
// the first one's fcntl locks: two servers in one process happen only in
// tests, and SQLite coordinates the connections of one process without
// the kernel's locks.) The -wal and -shm files need no lock of their own:
// they are named after the database file and only opened by whoever opened
// it, and checkOneName makes sure the file has one name.
//
// On NFS, Linux emulates flock(2) with a whole-file fcntl lock, which would
// block SQLite in other processes; SQLite's WAL mode, which the store
// uses, does not work on a network filesystem anyway
// (https://sqlite.org/wal.html, "WAL does not work over a network
// filesystem").
func lockPath(db string) string { return db }
