// Package jobs runs the server's background work: pruning today, and the
// deadline scans, exercise clocks and webhook deliveries that come next.
// Every job runs through one Runner, and a Runner runs its jobs only while
// it holds a Lease, so that with several servers on one database each job
// runs on one of them, once (contract section 11). When the leader dies,
// its lease lapses and another server's Runner takes it within a poll or
// two.
//
// A job that claims rows (timers, deliveries) should still claim them
// with FOR UPDATE SKIP LOCKED, so that a lease handed over while a job was
// under way does not make two servers work on one row: the lease makes a
// job run once in the usual case, the claim makes it safe in every case.
//
// The package knows no database: the store provides the Lease.
package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Lease is the right to run the jobs. On PostgreSQL it is an advisory lock
// held by a connection of its own; on SQLite, whose file one server alone
// may serve, it is always held.
type Lease interface {
	// TryAcquire takes the lease if nobody holds it, and tells whether
	// this server holds it now. It does not wait.
	TryAcquire(ctx context.Context) (bool, error)
	// Held tells whether this server still holds the lease (for a lock
	// held by a connection: whether the connection is alive). Once it has
	// answered false, the lease must be acquired again.
	Held(ctx context.Context) bool
	// Release gives the lease up, for another server to take.
	Release(ctx context.Context) error
}

// Job is one kind of background work, run every Every while the Runner
// leads, first at once when it starts to lead. Run must return when its
// context is done; a Runner never runs two calls of one job at once.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// Options configure a Runner.
type Options struct {
	// Poll is how often the Runner checks its lease, or tries to take it,
	// and looks for jobs due: the longest a lease lapsed stays unused.
	// Default one second.
	Poll time.Duration
	// Now is the clock that schedules the jobs; default time.Now.
	Now func() time.Time
	// Logger receives the changes of leadership and the jobs' failures;
	// nil discards them.
	Logger *slog.Logger
}

// Runner runs jobs while it holds its lease.
type Runner struct {
	lease Lease
	jobs  []Job
	poll  time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	leading bool

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Runner of jobs under lease; Start starts it.
func New(lease Lease, jobs []Job, opts Options) *Runner {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{lease: lease, jobs: jobs, poll: opts.Poll, now: opts.Now, log: opts.Logger}
}

// Leading tells whether the Runner holds its lease now.
func (r *Runner) Leading() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leading
}

func (r *Runner) setLeading(v bool) {
	r.mu.Lock()
	r.leading = v
	r.mu.Unlock()
}

// Start runs the Runner in the background until Stop.
func (r *Runner) Start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		r.loop(ctx)
	}()
}

// Stop stops the Runner, waits for a job under way to return, and gives
// the lease up.
func (r *Runner) Stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel = nil
}

// loop checks the lease every poll, or sooner when a job is due, and,
// while it is held, runs the jobs that are due, one after the other. The jobs run on this goroutine: a
// lease held by a connection needs no renewal while a job runs, and
// between two jobs the lease is checked again.
func (r *Runner) loop(ctx context.Context) {
	next := make([]time.Time, len(r.jobs)) // zero: due at once
	defer func() {
		if r.Leading() {
			r.setLeading(false)
			if err := r.lease.Release(context.WithoutCancel(ctx)); err != nil {
				r.log.Warn("job runner: giving the lease up failed", "error", err.Error())
			}
		}
	}()
	for {
		r.step(ctx, next)
		t := time.NewTimer(r.wait(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// wait is how long the loop waits before its next step: until the next
// job is due while leading, at most poll. A job due again at once (the
// webhooks' sender, which works in windows) thus runs again at once,
// rather than at the next poll.
func (r *Runner) wait(next []time.Time) time.Duration {
	d := r.poll
	if !r.Leading() {
		return d
	}
	now := r.now()
	for _, at := range next {
		d = min(d, max(at.Sub(now), 0))
	}
	return d
}

// step is one turn of the loop: keep or take the lease, then run what is
// due.
func (r *Runner) step(ctx context.Context, next []time.Time) {
	if !r.Leading() || !r.stillHeld(ctx) {
		held, err := r.lease.TryAcquire(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("job runner: taking the lease failed", "error", err.Error())
			}
			return
		}
		if !held {
			return
		}
		r.setLeading(true)
		r.log.Info("job runner: leading; this server runs the background jobs", "jobs", len(r.jobs))
		for i := range next {
			next[i] = time.Time{} // a new leader runs every job at once
		}
	}
	for i, j := range r.jobs {
		if ctx.Err() != nil || !r.Leading() {
			return
		}
		if now := r.now(); now.Before(next[i]) {
			continue
		}
		if err := j.Run(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("job failed", "job", j.Name, "error", err.Error())
		}
		next[i] = r.now().Add(j.Every)
		if !r.stillHeld(ctx) {
			return
		}
	}
}

// stillHeld tells whether the leading Runner still holds its lease, and
// stops it leading when it does not.
func (r *Runner) stillHeld(ctx context.Context) bool {
	if r.lease.Held(ctx) {
		return true
	}
	r.setLeading(false)
	if ctx.Err() == nil {
		r.log.Warn("job runner: lease lost; this server stops running background jobs")
	}
	return false
}
