package jobs_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/jobs"
)

// fakeLease is a lease the test hands out and takes back: the true edge of
// this package is the database, which internal/store's tests use.
type fakeLease struct {
	mu       sync.Mutex
	free     bool // nobody holds it; TryAcquire takes it
	held     bool
	released int
}

func (l *fakeLease) TryAcquire(context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.free {
		l.free, l.held = false, true
	}
	return l.held, nil
}

func (l *fakeLease) Held(context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

func (l *fakeLease) Release(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held = false
	l.released++
	return nil
}

func (l *fakeLease) set(free, held bool) {
	l.mu.Lock()
	l.free, l.held = free, held
	l.mu.Unlock()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunner_runsOnlyWhileLeading: no job runs without the lease; taking it
// runs every job at once, then each every Every; losing it stops them; a
// lease free again is taken again, and its jobs run at once.
func TestRunner_runsOnlyWhileLeading(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var hourly, daily atomic.Int64
	lease := &fakeLease{}
	r := jobs.New(lease, []jobs.Job{
		{Name: "hourly", Every: time.Hour, Run: func(context.Context) error { hourly.Add(1); return nil }},
		{Name: "daily", Every: 24 * time.Hour, Run: func(context.Context) error { daily.Add(1); return nil }},
	}, jobs.Options{Poll: time.Millisecond, Now: clock})
	r.Start(context.Background())
	defer r.Stop()

	time.Sleep(50 * time.Millisecond)
	if hourly.Load()+daily.Load() != 0 || r.Leading() {
		t.Fatal("jobs ran without the lease")
	}
	lease.set(true, false)
	eventually(t, "both jobs run once the lease is taken", func() bool { return hourly.Load() == 1 && daily.Load() == 1 })
	if !r.Leading() {
		t.Fatal("not leading with the lease")
	}
	time.Sleep(20 * time.Millisecond)
	if hourly.Load() != 1 {
		t.Fatalf("the hourly job ran %d times within the hour", hourly.Load())
	}
	advance(time.Hour)
	eventually(t, "the hourly job runs after an hour", func() bool { return hourly.Load() == 2 })
	if daily.Load() != 1 {
		t.Fatalf("the daily job ran %d times", daily.Load())
	}

	lease.set(false, false) // lost: another server took it
	eventually(t, "the runner sees the lease lost", func() bool { return !r.Leading() })
	advance(48 * time.Hour)
	time.Sleep(20 * time.Millisecond)
	if hourly.Load() != 2 || daily.Load() != 1 {
		t.Fatalf("jobs ran after the lease was lost: hourly %d, daily %d", hourly.Load(), daily.Load())
	}
	lease.set(true, false)
	eventually(t, "jobs run at once on leading again", func() bool { return hourly.Load() == 3 && daily.Load() == 2 })
}

// TestRunner_stopWaitsAndReleases: Stop cancels a job under way, waits for
// it to return, and gives the lease up.
func TestRunner_stopWaitsAndReleases(t *testing.T) {
	lease := &fakeLease{free: true}
	started, returned := make(chan struct{}), atomic.Bool{}
	r := jobs.New(lease, []jobs.Job{{Name: "long", Every: time.Hour, Run: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond)
		returned.Store(true)
		return ctx.Err()
	}}}, jobs.Options{Poll: time.Millisecond})
	r.Start(context.Background())
	<-started
	r.Stop()
	if !returned.Load() {
		t.Fatal("Stop returned before the job did")
	}
	if lease.Held(context.Background()) || lease.released != 1 {
		t.Fatalf("lease after Stop: held %v, released %d times", lease.Held(context.Background()), lease.released)
	}
	if r.Leading() {
		t.Fatal("leading after Stop")
	}
}
