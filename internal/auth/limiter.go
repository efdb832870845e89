package auth

import (
	"context"
	"fmt"
	"math"
	"strconv"
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
	Window: 15 * time.Minute, KnownFor: 30 * 24 * time.Hour,
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

// LoginEvents keeps what the throttle counts. The store keeps it in the
// database, so that several servers on one database count the attempts
// made on all of them (contract section 11), and a restart forgets none.
type LoginEvents interface {
	// RecentLoginEvents returns the times of the newest limit events of
	// kind and subject after since, newest first.
	RecentLoginEvents(ctx context.Context, kind, subject string, since time.Time, limit int) ([]time.Time, error)
	// RecordLoginEvents records an event at at for each of add, and
	// forgets every event of each of forget.
	RecordLoginEvents(ctx context.Context, at time.Time, add, forget []LoginEvent) error
	// PruneLoginEvents forgets the events of each kind in before that are
	// not after its time, and says how many.
	PruneLoginEvents(ctx context.Context, before map[string]time.Time) (int64, error)
}

// LoginEvent names what an event counts for: a kind and its subject.
type LoginEvent struct{ Kind, Subject string }

// The kinds of events.
const (
	eventPair   = "pair"   // a failure of a username at a client address
	eventUser   = "user"   // a failure of a username, from any address
	eventClient = "client" // a failure at a client address, for any username
	eventKnown  = "known"  // a success of a username at a client address
)

// limiter is the log-in throttle: the rules of Limits over the events the
// store keeps.
type limiter struct {
	events LoginEvents
	limits Limits
	now    func() time.Time
}

func newLimiter(events LoginEvents, l Limits, now func() time.Time) (*limiter, error) {
	if l.PerUserClient <= 0 || l.PerUsername <= 0 || l.PerClient <= 0 || l.Window <= 0 || l.KnownFor <= 0 {
		return nil, fmt.Errorf("log-in limits must be positive: %+v", l)
	}
	return &limiter{events: events, limits: l, now: now}, nil
}

// pairKey is the key of a username at a client address. The username's
// length first makes it unambiguous whatever either holds (no separator
// would be: a username attempted at log-in is whatever a client sent), and
// it is text that any database column takes, which a NUL is not.
func pairKey(username, client string) string {
	return strconv.Itoa(len(username)) + ":" + username + "@" + client
}

// wait tells how long the username and client must wait before another
// attempt, 0 when they may try now.
func (l *limiter) wait(ctx context.Context, username, client string) (time.Duration, error) {
	now := l.now()
	pair := pairKey(username, client)
	w, err := l.waitFor(ctx, eventPair, pair, l.limits.PerUserClient, now)
	if err != nil {
		return 0, err
	}
	wc, err := l.waitFor(ctx, eventClient, client, l.limits.PerClient, now)
	if err != nil {
		return 0, err
	}
	w = max(w, wc)
	known, err := l.events.RecentLoginEvents(ctx, eventKnown, pair, now.Add(-l.limits.KnownFor), 1)
	if err != nil {
		return 0, err
	}
	if len(known) == 0 {
		wu, err := l.waitFor(ctx, eventUser, username, l.limits.PerUsername, now)
		if err != nil {
			return 0, err
		}
		w = max(w, wu)
	}
	return w, nil
}

// waitFor tells how long subject must wait until it has fewer than limit
// events of kind in the window, 0 when it has already.
func (l *limiter) waitFor(ctx context.Context, kind, subject string, limit int, now time.Time) (time.Duration, error) {
	times, err := l.events.RecentLoginEvents(ctx, kind, subject, now.Add(-l.limits.Window), limit)
	if err != nil || len(times) < limit {
		return 0, err
	}
	// The oldest event that still counts leaves the window first.
	return times[limit-1].Add(l.limits.Window).Sub(now), nil
}

// fail counts a failed attempt of the username from the client.
func (l *limiter) fail(ctx context.Context, username, client string) error {
	return l.events.RecordLoginEvents(ctx, l.now(), []LoginEvent{
		{eventPair, pairKey(username, client)}, {eventUser, username}, {eventClient, client},
	}, nil)
}

// succeed forgets the failures of the username at the client, whose user
// has proved to know the password there, and makes the client known for
// the username. The username's failures from everywhere and the client's
// failures for every username stay.
func (l *limiter) succeed(ctx context.Context, username, client string) error {
	pair := pairKey(username, client)
	return l.events.RecordLoginEvents(ctx, l.now(),
		[]LoginEvent{{eventKnown, pair}}, []LoginEvent{{eventPair, pair}})
}

// prune forgets the events that can no longer count.
func (l *limiter) prune(ctx context.Context) (int64, error) {
	now := l.now()
	failed := now.Add(-l.limits.Window)
	return l.events.PruneLoginEvents(ctx, map[string]time.Time{
		eventPair: failed, eventUser: failed, eventClient: failed,
		eventKnown: now.Add(-l.limits.KnownFor),
	})
}
