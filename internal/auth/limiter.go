package auth

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Limits configures the log-in throttle.
type Limits struct {
	// PerUsername is how many failed log-ins one username may have within
	// Window before further attempts are refused. It stops guessing one
	// account's password; a success clears it.
	PerUsername int
	// PerClient is how many failed log-ins one client address may have
	// within Window. It stops one client spraying many usernames; a success
	// does not clear it, or a valid account would reopen the door.
	PerClient int
	// Window is how far back failures count (a sliding window).
	Window time.Duration
	// MaxKeys bounds the usernames and the addresses remembered, each, so
	// that a flood of made-up names cannot exhaust memory.
	MaxKeys int
}

// DefaultLimits are the throttle's numbers: 10 failures per username or 50
// per client address within 15 minutes. Ten leaves room for a user who
// mistypes a few times; fifty lets an office behind one address share a
// few failing colleagues without locking everybody out.
var DefaultLimits = Limits{PerUsername: 10, PerClient: 50, Window: 15 * time.Minute, MaxKeys: 10000}

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

// failures are the recent failure times of one key, oldest first. At most
// the limit is kept: older ones cannot matter any more.
type failures []time.Time

// limiter is the in-memory log-in throttle. Each server keeps its own: a
// cluster of n servers allows n times the numbers, which still bounds
// guessing, and needs no shared state.
type limiter struct {
	mu      sync.Mutex
	limits  Limits
	now     func() time.Time
	users   map[string]failures
	clients map[string]failures
}

func newLimiter(l Limits, now func() time.Time) (*limiter, error) {
	if l.PerUsername <= 0 || l.PerClient <= 0 || l.Window <= 0 || l.MaxKeys <= 0 {
		return nil, fmt.Errorf("log-in limits must be positive: %+v", l)
	}
	return &limiter{
		limits: l, now: now,
		users:   map[string]failures{},
		clients: map[string]failures{},
	}, nil
}

// wait tells how long the username and client must wait before another
// attempt, 0 when they may try now.
func (l *limiter) wait(username, client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	return max(
		l.waitOf(l.users, username, l.limits.PerUsername, now),
		l.waitOf(l.clients, client, l.limits.PerClient, now),
	)
}

func (l *limiter) waitOf(m map[string]failures, key string, limit int, now time.Time) time.Duration {
	f := l.recent(m, key, now)
	if len(f) < limit {
		return 0
	}
	// The oldest failure that still counts leaves the window first.
	return f[len(f)-limit].Add(l.limits.Window).Sub(now)
}

// recent drops the failures of key that left the window and returns the
// rest.
func (l *limiter) recent(m map[string]failures, key string, now time.Time) failures {
	f, ok := m[key]
	if !ok {
		return nil
	}
	cut := now.Add(-l.limits.Window)
	i := 0
	for i < len(f) && !f[i].After(cut) {
		i++
	}
	if i == len(f) {
		delete(m, key)
		return nil
	}
	if i > 0 {
		f = f[i:]
		m[key] = f
	}
	return f
}

// fail counts a failed attempt of the username from the client.
func (l *limiter) fail(username, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.add(l.users, username, l.limits.PerUsername, now)
	l.add(l.clients, client, l.limits.PerClient, now)
}

func (l *limiter) add(m map[string]failures, key string, limit int, now time.Time) {
	f := l.recent(m, key, now)
	if f == nil && len(m) >= l.limits.MaxKeys {
		l.evict(m, now)
	}
	f = append(f, now)
	if len(f) > limit {
		f = f[len(f)-limit:]
	}
	m[key] = f
}

// evict makes room for one key: it drops every key whose failures have all
// left the window and, if none has, the key whose last failure is oldest.
func (l *limiter) evict(m map[string]failures, now time.Time) {
	cut := now.Add(-l.limits.Window)
	var oldestKey string
	var oldest time.Time
	for k, f := range m {
		last := f[len(f)-1]
		if !last.After(cut) {
			delete(m, k)
			continue
		}
		if oldestKey == "" || last.Before(oldest) {
			oldestKey, oldest = k, last
		}
	}
	if len(m) >= l.limits.MaxKeys && oldestKey != "" {
		delete(m, oldestKey)
	}
}

// succeed forgets the username's failures: its owner has proved to know the
// password. The client's failures stay.
func (l *limiter) succeed(username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, username)
}
