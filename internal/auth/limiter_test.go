package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

func asError(err error, target **workflow.Error) bool { return errors.As(err, target) }

func TestLimiter(t *testing.T) {
	small := Limits{PerUsername: 3, PerClient: 5, Window: time.Minute, MaxKeys: 100}
	type step struct {
		op       string // fail, succeed, wait, advance
		user, ip string
		d        time.Duration // advance by, or the wait expected
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"under the limit", []step{
			{"fail", "a", "1", 0}, {"fail", "a", "1", 0},
			{"wait", "a", "1", 0},
		}},
		{"username limit", []step{
			{"fail", "a", "1", 0}, {"advance", "", "", 10 * time.Second},
			{"fail", "a", "2", 0}, {"fail", "a", "3", 0},
			{"wait", "a", "9", 50 * time.Second}, // the first failure leaves the window at 60s
			{"wait", "b", "1", 0},                // another user from the same client
		}},
		{"sliding window", []step{
			{"fail", "a", "1", 0}, {"fail", "a", "1", 0}, {"fail", "a", "1", 0},
			{"advance", "", "", time.Minute},
			{"wait", "a", "1", 0},
		}},
		{"success resets the username", []step{
			{"fail", "a", "1", 0}, {"fail", "a", "1", 0}, {"fail", "a", "1", 0},
			{"succeed", "a", "", 0},
			{"wait", "a", "7", 0},
		}},
		{"client limit across usernames", []step{
			{"fail", "a", "1", 0}, {"fail", "b", "1", 0}, {"fail", "c", "1", 0},
			{"fail", "d", "1", 0}, {"advance", "", "", 30 * time.Second}, {"fail", "e", "1", 0},
			{"wait", "f", "1", 30 * time.Second},
			{"wait", "f", "2", 0},
		}},
		{"success keeps the client count", []step{
			{"fail", "a", "1", 0}, {"fail", "b", "1", 0}, {"fail", "c", "1", 0},
			{"fail", "d", "1", 0}, {"fail", "e", "1", 0},
			{"succeed", "e", "", 0},
			{"wait", "e", "1", time.Minute},
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
					l.succeed(s.user)
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
	l, _ := newLimiter(Limits{PerUsername: 2, PerClient: 1000, Window: time.Minute, MaxKeys: 10}, c.now)
	for i := range 1000 {
		l.fail(fmt.Sprintf("user%d", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250))
		if i%100 == 0 {
			c.advance(time.Second)
		}
	}
	if len(l.users) > 10 || len(l.clients) > 10 {
		t.Fatalf("remembers %d users and %d clients, want at most 10 each", len(l.users), len(l.clients))
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
	if n := len(l.users["target"]); n > 2 {
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
