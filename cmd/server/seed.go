package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/seed"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// maxSeedRequests bounds one seed run.
const maxSeedRequests = 10_000_000

// runSeed fills the database with generated casework for benchmarks and
// demonstrations: the demo users when the database has none, then N
// requests of both kinds between the demo authorities, in every state, with
// their history and audit records chained after the current head. It writes
// in bulk, around the workflow service, so it is for databases that hold no
// real cases, and it should run while no server uses the database.
func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server seed", flag.ContinueOnError)
	n := fs.Int("requests", 10000, "number of requests to generate")
	span := fs.Duration("span", 3*365*24*time.Hour, "the requests are drafted evenly over this time before now")
	rs := fs.Uint64("seed", 1, "seed of the random generator (the same seed gives the same body)")
	cfg, help, err := loadConfig(fs, args, getenv, stdout, stderr)
	if help || err != nil {
		return err
	}
	if *n < 0 || *n > maxSeedRequests {
		return fmt.Errorf("%w: --requests must be 0 to %d", errUsage, maxSeedRequests)
	}
	if *span <= 0 {
		return fmt.Errorf("%w: --span must be positive", errUsage)
	}
	tuneGC(getenv)
	a, err := open(ctx, cfg, newLogger(cfg, stderr), asTool)
	if err != nil {
		return err
	}
	defer a.Close()
	logins, err := seedDemoUsers(ctx, a)
	if err != nil {
		return err
	}
	if logins != nil {
		fmt.Fprintf(stdout, "demo users created (password %s)\n", demo.Password)
	}
	instruments, err := law.Catalog()
	if err != nil {
		return err
	}
	start := time.Now()
	loader := a.store.NewLoader(ctx)
	progress := &seedProgress{Loader: loader, w: stdout, every: 5 * time.Second, last: start, start: start}
	st, err := seed.Generate(ctx, seed.Options{
		Requests: *n, Authorities: demo.Authorities, End: start, Span: *span, Seed: *rs,
		Instruments: instruments, Digester: a.store,
		UsedSerials: func(authority string, kind workflow.Kind, year int) (int64, error) {
			return a.store.UsedSerials(ctx, authority, kind, year)
		},
	}, progress)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := loader.Close(); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	loaded := time.Since(start)
	if err := a.store.Analyze(ctx); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(stdout, "seeded %d requests, %d history entries, %d audit entries in %s (%.0f requests/s), statistics updated in %s\n",
		st.Requests, st.History, st.Audit, loaded.Round(time.Millisecond), float64(st.Requests)/loaded.Seconds(),
		(time.Since(start) - loaded).Round(time.Millisecond))
	states := make([]workflow.State, 0, len(st.ByState))
	for s := range st.ByState {
		states = append(states, s)
	}
	slices.Sort(states)
	for _, s := range states {
		fmt.Fprintf(stdout, "  %-15s %d\n", s, st.ByState[s])
	}
	return nil
}

// seedProgress passes the generated rows to the loader and reports now and
// then how far it got.
type seedProgress struct {
	*store.Loader
	w           io.Writer
	every       time.Duration
	start, last time.Time
	n           int64
}

func (p *seedProgress) Request(r workflow.Request) error {
	p.n++
	if p.n%1024 == 0 {
		if now := time.Now(); now.Sub(p.last) >= p.every {
			p.last = now
			fmt.Fprintf(p.w, "  %d requests after %s\n", p.n, now.Sub(p.start).Round(time.Second))
		}
	}
	return p.Loader.Request(r)
}
