package auth

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Limits configures the log-in throttle.
//
// A stranger must not be able to lock an officer out: anyone who knows a
// username could otherwise keep its owner out of the platform by typing
// wrong passwords from anywhere. So the lock-out that a handful of failures
// brings is on the pair of username and client address, which the stranger
// does not share with the real user, and the count per username alone, which
// bounds guessing spread over many addresses, has a much higher threshold
// and spares the addresses the user has recently logged in from.
type Limits struct {
	// PerUserClient is how many failed log-ins one username may have from
	// one client address within Window before that address must wait to
	// try that username again. It stops guessing one account's password
	// from one place; a success from the address clears it.
	PerUserClient int
	// PerUsername is how many failed log-ins one username may have from
	// all addresses together within Window before it is refused to every
	// address it has not logged in from within KnownFor. It bounds
	// guessing spread over many addresses, and must be well above
	// PerUserClient. A success does not clear it: the guesses were not the
	// user's.
	PerUsername int
	// PerClient is how many failed log-ins one client address may have
	// within Window. It stops one client spraying many usernames; a success
	// does not clear it, or a valid account would reopen the door.
	PerClient int
	// Window is how far back failures count (a sliding window).
	Window time.Duration
	// KnownFor is how long an address stays known for a username after a
	// successful log-in from it, and thus exempt from PerUsername.
	KnownFor time.Duration
	// MaxKeys bounds the pairs, the usernames, the addresses and the known
	// addresses remembered, each, so that a flood of made-up names cannot
	// exhaust memory.
	MaxKeys int
}

// DefaultLimits are the throttle's numbers: 10 failures of one username
// from one address, 100 of one username from everywhere, or 50 from one
// address within 15 minutes; an address stays known for a username 30 days
// after a log-in from it. Ten leaves room for a user who mistypes a few
// times; fifty lets an office behind one address share a few failing
// colleagues without locking everybody out; a hundred guesses of one
// account per quarter hour, about ten thousand a day, are far too few for
// a password the policy accepts (CheckPasswordRule).
var DefaultLimits = Limits{
	PerUserClient: 10, PerUsername: 100, PerClient: 50,
	Window: 15 * time.Minute, KnownFor: 30 * 24 * time.Hour, MaxKeys: 10000,
}

// RateLimitError refuses an attempt made too often. It unwraps to a
// *workflow.Error with code workflow.ErrRateLimited, so it maps to 429 like
// any application error; RetryAfter says when the next attempt may succeed
// (the HTTP layer sends it as Retry-After).
type RateLimitError struct {
	RetryAfter time.Duration
	err        *workflow.Error
}

func newRateLimitError(retry time.Duration) *RateLimitError {
	return &RateLimitError{
		RetryAfter: retry,
		err:        workflow.Errorf(workflow.ErrRateLimited, "too many failed log-ins; try again in %d seconds", RetrySeconds(retry)),
	}
}

// Error implements error.
func (e *RateLimitError) Error() string { return e.err.Error() }

// Unwrap returns the application error that classifies the refusal.
func (e *RateLimitError) Unwrap() error { return e.err }

// RetrySeconds rounds a retry delay up to whole seconds, at least 1, as
// Retry-After wants it.
func RetrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// failures are the recent times of one key, oldest first. At most the
// limit is kept: older ones cannot matter any more.
type failures []time.Time

// counter remembers, per key, the times of recent events within a sliding
// window: at most limit of them, for at most maxKeys keys.
type counter struct {
	limit   int
	window  time.Duration
	maxKeys int
	m       map[string]failures
}

func newCounter(limit int, window time.Duration, maxKeys int) *counter {
	return &counter{limit: limit, window: window, maxKeys: maxKeys, m: map[string]failures{}}
}

// wait tells how long key must wait until it has fewer than limit events
// in the window, 0 when it has already.
func (c *counter) wait(key string, now time.Time) time.Duration {
	f := c.recent(key, now)
	if len(f) < c.limit {
		return 0
	}
	// The oldest event that still counts leaves the window first.
	return f[len(f)-c.limit].Add(c.window).Sub(now)
}

// has tells whether key has an event in the window.
func (c *counter) has(key string, now time.Time) bool { return len(c.recent(key, now)) > 0 }

// recent drops the events of key that left the window and returns the
// rest.
func (c *counter) recent(key string, now time.Time) failures {
	f, ok := c.m[key]
	if !ok {
		return nil
	}
	cut := now.Add(-c.window)
	i := 0
	for i < len(f) && !f[i].After(cut) {
		i++
	}
	if i == len(f) {
		delete(c.m, key)
		return nil
	}
	if i > 0 {
		f = f[i:]
		c.m[key] = f
	}
	return f
}

// add counts an event of key now.
func (c *counter) add(key string, now time.Time) {
	f := c.recent(key, now)
	if f == nil && len(c.m) >= c.maxKeys {
		c.evict(now)
	}
	f = append(f, now)
	if len(f) > c.limit {
		f = f[len(f)-c.limit:]
	}
	c.m[key] = f
}

// forget drops every event of key.
func (c *counter) forget(key string) { delete(c.m, key) }

// evict makes room for one key: it drops every key whose events have all
// left the window and, if none has, the key whose last event is oldest.
func (c *counter) evict(now time.Time) {
	cut := now.Add(-c.window)
	var oldestKey string
	var oldest time.Time
	for k, f := range c.m {
		last := f[len(f)-1]
		if !last.After(cut) {
			delete(c.m, k)
			continue
		}
		if oldestKey == "" || last.Before(oldest) {
			oldestKey, oldest = k, last
		}
	}
	if len(c.m) >= c.maxKeys && oldestKey != "" {
		delete(c.m, oldestKey)
	}
}

// limiter is the in-memory log-in throttle. Each server keeps its own: a
// cluster of n servers allows n times the numbers, which still bounds
// guessing, and needs no shared state.
type limiter struct {
	mu      sync.Mutex
	now     func() time.Time
	pairs   *counter // failures per username and client address
	users   *counter // failures per username, from every address
	clients *counter // failures per client address, for every username
	known   *counter // successful log-ins per username and client address
}

func newLimiter(l Limits, now func() time.Time) (*limiter, error) {
	if l.PerUserClient <= 0 || l.PerUsername <= 0 || l.PerClient <= 0 || l.Window <= 0 || l.KnownFor <= 0 || l.MaxKeys <= 0 {
		return nil, fmt.Errorf("log-in limits must be positive: %+v", l)
	}
	return &limiter{
		now:     now,
		pairs:   newCounter(l.PerUserClient, l.Window, l.MaxKeys),
		users:   newCounter(l.PerUsername, l.Window, l.MaxKeys),
		clients: newCounter(l.PerClient, l.Window, l.MaxKeys),
		known:   newCounter(1, l.KnownFor, l.MaxKeys),
	}, nil
}

// pairKey is the key of a username at a client address; a NUL cannot occur
// in either.
func pairKey(username, client string) string { return username + "\x00" + client }

// wait tells how long the username and client must wait before another
// attempt, 0 when they may try now.
func (l *limiter) wait(username, client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	pair := pairKey(username, client)
	w := max(l.pairs.wait(pair, now), l.clients.wait(client, now))
	if !l.known.has(pair, now) {
		w = max(w, l.users.wait(username, now))
	}
	return w
}

// fail counts a failed attempt of the username from the client.
func (l *limiter) fail(username, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.pairs.add(pairKey(username, client), now)
	l.users.add(username, now)
	l.clients.add(client, now)
}

// succeed forgets the failures of the username at the client, whose user
// has proved to know the password there, and makes the client known for
// the username. The username's failures from everywhere and the client's
// failures for every username stay.
func (l *limiter) succeed(username, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pair := pairKey(username, client)
	l.pairs.forget(pair)
	l.known.add(pair, l.now())
}
