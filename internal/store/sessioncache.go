package store

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// sessionCache keeps the answers of SessionUser, which every authenticated
// call asks and which was a fifth of the server's CPU under load.
//
// It must never let a revoked session or a disabled user back in, so it is
// invalidated as a whole, by a generation number, whenever a write
// transaction that changed a user or a session has committed, before that
// transaction's caller is answered: a log-out or a disabled account takes
// effect for the very next call, as without the cache. A reader notes the
// generation before it queries the database and keeps its answer only under
// that generation, so an answer read just before such a commit is dropped
// rather than served after it.
//
// The generation covers the writes of this process only, which on SQLite
// are all of them: the server is the database's one writer (the command
// line adds users and keys, never changes a session or an existing user).
// Several servers may share one PostgreSQL database, and a log-out on one
// must end the session on the others at once too, so there the store has
// no cache (a nil *sessionCache) and asks the database every time.
//
// maxAge bounds an answer's life all the same, as a second line of defence.
type sessionCache struct {
	gen     atomic.Uint64
	now     func() time.Time
	maxAge  time.Duration
	maxSize int

	mu      sync.Mutex
	entries map[sessionKey]cachedSession
}

type sessionKey struct{ userID, sessionID string }

type cachedSession struct {
	gen     uint64
	read    time.Time
	user    workflow.User
	session auth.Session
}

// Bounds of the session cache. maxAge bounds what another process's change
// may take to be seen; maxSize bounds memory (a few hundred bytes a session).
const (
	sessionCacheMaxAge  = time.Second
	sessionCacheMaxSize = 10000
)

func newSessionCache() *sessionCache {
	return &sessionCache{
		now:     time.Now,
		maxAge:  sessionCacheMaxAge,
		maxSize: sessionCacheMaxSize,
		entries: make(map[sessionKey]cachedSession),
	}
}

// generation is to be read before the database is.
func (c *sessionCache) generation() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Load()
}

// get returns the cached answer for the key, if it is of the current
// generation and young enough.
func (c *sessionCache) get(k sessionKey) (workflow.User, auth.Session, bool) {
	if c == nil {
		return workflow.User{}, auth.Session{}, false
	}
	gen := c.gen.Load()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if !ok || e.gen != gen || c.now().Sub(e.read) >= c.maxAge {
		return workflow.User{}, auth.Session{}, false
	}
	return e.user, e.session, true
}

// put keeps an answer read under generation gen, unless a change committed
// since.
func (c *sessionCache) put(k sessionKey, gen uint64, u workflow.User, s auth.Session) {
	if c == nil {
		return
	}
	read := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(c.entries) >= c.maxSize {
		clear(c.entries)
	}
	c.entries[k] = cachedSession{gen: gen, read: read, user: u, session: s}
}

// invalidate drops every answer: a user or a session has changed.
func (c *sessionCache) invalidate() {
	if c == nil {
		return
	}
	c.gen.Add(1)
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}
