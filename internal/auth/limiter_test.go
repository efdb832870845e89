package auth

import (
	"errors"
	"fmt"
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
	small := Limits{PerUserClient: 3, PerUsername: 6, PerClient: 8, Window: time.Minute, KnownFor: time.Hour, MaxKeys: 100}
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
			c := newClock()
			l, err := newLimiter(small, c.now)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				switch s.op {
				case "fail":
					l.fail(s.user, s.ip)
				case "succeed":
					l.succeed(s.user, s.ip)
				case "advance":
					c.advance(s.d)
				case "wait":
					if got := l.wait(s.user, s.ip); got != s.d {
						t.Fatalf("step %d: wait(%s, %s) = %s, want %s", i, s.user, s.ip, got, s.d)
					}
				}
			}
		})
	}
}

func TestLimiter_bounded(t *testing.T) {
	c := newClock()
	l, _ := newLimiter(Limits{PerUserClient: 2, PerUsername: 2, PerClient: 1000, Window: time.Minute, KnownFor: time.Hour, MaxKeys: 10}, c.now)
	for i := range 1000 {
		l.fail(fmt.Sprintf("user%d", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250))
		if i%100 == 0 {
			c.advance(time.Second)
		}
	}
	for i := range 1000 {
		l.succeed(fmt.Sprintf("user%d", i), "10.1.0.1")
	}
	if len(l.pairs.m) > 10 || len(l.users.m) > 10 || len(l.clients.m) > 10 || len(l.known.m) > 10 {
		t.Fatalf("remembers %d pairs, %d users, %d clients and %d known addresses, want at most 10 each",
			len(l.pairs.m), len(l.users.m), len(l.clients.m), len(l.known.m))
	}
	// A key that is attacked right now survives the eviction of old ones.
	c.advance(time.Second)
	l.fail("target", "x")
	l.fail("target", "x")
	for i := range 5 {
		l.fail(fmt.Sprintf("new%d", i), "y")
	}
	if l.wait("target", "z") == 0 {
		t.Fatal("the latest attacked username was evicted")
	}
	// Many failures of one key keep at most the limit's times.
	for range 100 {
		l.fail("target", "x")
	}
	if n := len(l.users.m["target"]); n > 2 {
		t.Fatalf("keeps %d failure times for one user, want at most 2", n)
	}
	c.advance(2 * time.Minute)
	if l.wait("target", "x") != 0 {
		t.Fatal("still limited after the window")
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
	if _, err := newLimiter(Limits{}, time.Now); err == nil {
		t.Fatal("zero limits accepted")
	}
}
