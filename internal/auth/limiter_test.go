package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

func asError(err error, target **workflow.Error) bool { return errors.As(err, target) }

// TestLimiter checks who waits after which failures. The lock-out falls on
// the pair of username and address, so that a stranger elsewhere cannot
// lock the real user out; the username's count from everywhere has a higher
// threshold and spares the addresses the user logged in from.
func TestLimiter(t *testing.T) {
	small := Limits{PerUserClient: 3, PerUsername: 6, PerClient: 8, Window: time.Minute, KnownFor: time.Hour}
	type step struct {
		op       string // fail, succeed, wait, advance
		user, ip string
		d        time.Duration // advance by, or the wait expected
	}
	sixFailures := func(user string) []step {
		var s []step
		for _, ip := range []string{"1", "2", "3", "4", "5", "6"} {
			s = append(s, step{"fail", user, ip, 0})
		}
		return s
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"under the limit", []step{
			{"fail", "a", "1", 0}, {"fail", "a", "1", 0},
			{"wait", "a", "1", 0},
		}},
		{"username and address limit", []step{
			{"fail", "a", "1", 0}, {"advance", "", "", 10 * time.Second},
			{"fail", "a", "1", 0}, {"fail", "a", "1", 0},
			{"wait", "a", "1", 50 * time.Second}, // the first failure leaves the window at 60s
			{"wait", "a", "2", 0},                // the real user elsewhere is not locked out
			{"wait", "b", "1", 0},                // nor another user from the same address
		}},
		{"username limit from many addresses", append(sixFailures("a"),
			step{"wait", "a", "9", time.Minute}, // a new address waits
			step{"wait", "b", "9", 0},
		)},
		{"a known address is spared the username limit", append(append([]step{
			{"succeed", "a", "7", 0}, {"advance", "", "", 10 * time.Minute},
		}, sixFailures("a")...),
			step{"wait", "a", "7", 0},
			step{"wait", "a", "8", time.Minute},
		)},
		{"but not its own pair's limit", []step{
			{"succeed", "a", "7", 0},
			{"fail", "a", "7", 0}, {"fail", "a", "7", 0}, {"fail", "a", "7", 0},
			{"wait", "a", "7", time.Minute},
		}},
		{"an address is known for a while", append(append([]step{
			{"succeed", "a", "7", 0}, {"advance", "", "", time.Hour},
		}, sixFailures("a")...),
			step{"wait", "a", "7", time.Minute},
		)},
		{"an address is known for its username only", append(append([]step{
			{"succeed", "b", "7", 0},
		}, sixFailures("a")...),
			step{"wait", "a", "7", time.Minute},
		)},
		{"pruning forgets only what cannot count", []step{
			{"succeed", "a", "7", 0},
			{"fail", "a", "1", 0}, {"fail", "a", "1", 0}, {"advance", "", "", 30 * time.Second},
			{"fail", "a", "1", 0}, {"prune", "", "", 0},
			{"wait", "a", "1", 30 * time.Second},
			{"advance", "", "", 10 * time.Minute}, {"prune", "", "", 0},
			{"wait", "a", "1", 0},
		}},
		{"sliding window", []step{
			{"fail", "a", "1", 0}, {"fail", "a", "1", 0}, {"fail", "a", "1", 0},
			{"advance", "", "", time.Minute},
			{"wait", "a", "1", 0},
		}},
		{"success resets the pair, not the username", append(append([]step{
			{"fail", "a", "1", 0}, {"fail", "a", "1", 0}, {"fail", "a", "1", 0},
			{"succeed", "a", "1", 0},
			{"wait", "a", "1", 0},
		}, sixFailures("a")[:3]...),
			step{"wait", "a", "9", time.Minute}, // 3 before the success and 3 after
		)},
		{"client limit across usernames", []step{
			{"fail", "a", "1", 0}, {"fail", "b", "1", 0}, {"fail", "c", "1", 0}, {"fail", "d", "1", 0},
			{"fail", "e", "1", 0}, {"fail", "f", "1", 0}, {"fail", "g", "1", 0},
			{"advance", "", "", 30 * time.Second}, {"fail", "h", "1", 0},
			{"wait", "i", "1", 30 * time.Second},
			{"wait", "i", "2", 0},
		}},
		{"success keeps the client count", []step{
			{"fail", "a", "1", 0}, {"fail", "b", "1", 0}, {"fail", "c", "1", 0}, {"fail", "d", "1", 0},
			{"fail", "e", "1", 0}, {"fail", "f", "1", 0}, {"fail", "g", "1", 0}, {"fail", "h", "1", 0},
			{"succeed", "h", "1", 0},
			{"wait", "h", "1", time.Minute},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := newClock()
			l, err := newLimiter(newMemEvents(), small, c.now)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				switch s.op {
				case "fail":
					if err := l.fail(ctx, s.user, s.ip); err != nil {
						t.Fatal(err)
					}
				case "succeed":
					if err := l.succeed(ctx, s.user, s.ip); err != nil {
						t.Fatal(err)
					}
				case "advance":
					c.advance(s.d)
				case "prune":
					if _, err := l.prune(ctx); err != nil {
						t.Fatal(err)
					}
				case "wait":
					if got, err := l.wait(ctx, s.user, s.ip); err != nil || got != s.d {
						t.Fatalf("step %d: wait(%s, %s) = %s, want %s", i, s.user, s.ip, got, s.d)
					}
				}
			}
		})
	}
}

func TestRateLimitError(t *testing.T) {
	err := error(newRateLimitError(1500 * time.Millisecond))
	if workflow.ErrorCode(err) != workflow.ErrRateLimited {
		t.Fatalf("code %q, want rate_limited", workflow.ErrorCode(err))
	}
	var rl *RateLimitError
	if !errors.As(err, &rl) || RetrySeconds(rl.RetryAfter) != 2 {
		t.Fatalf("retry after %v, want 2 s", rl)
	}
	if RetrySeconds(0) != 1 {
		t.Error("RetrySeconds(0) should be at least 1")
	}
}

func TestNewLimiter_invalid(t *testing.T) {
	if _, err := newLimiter(newMemEvents(), Limits{}, time.Now); err == nil {
		t.Fatal("zero limits accepted")
	}
}

// memEvents keeps log-in events in memory, for the unit tests of the
// throttle's rules; the store's are tested in internal/store, and shared
// between servers in cmd/server.
type memEvents struct {
	mu sync.Mutex
	m  map[LoginEvent][]time.Time // oldest first
}

func newMemEvents() *memEvents { return &memEvents{m: map[LoginEvent][]time.Time{}} }

func (m *memEvents) RecentLoginEvents(_ context.Context, kind, subject string, since time.Time, limit int) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []time.Time
	for _, t := range slices.Backward(m.m[LoginEvent{kind, subject}]) {
		if len(out) == limit || !t.After(since) {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

func (m *memEvents) RecordLoginEvents(_ context.Context, at time.Time, add, forget []LoginEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range forget {
		delete(m.m, e)
	}
	for _, e := range add {
		m.m[e] = append(m.m[e], at)
	}
	return nil
}

func (m *memEvents) PruneLoginEvents(_ context.Context, before map[string]time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for e, times := range m.m {
		cut, ok := before[e.Kind]
		if !ok {
			continue
		}
		kept := slices.DeleteFunc(times, func(t time.Time) bool { return !t.After(cut) })
		n += int64(len(times) - len(kept))
		m.m[e] = kept
	}
	return n, nil
}
