package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// seeded is a demo world with its cases seeded at now.
func seeded(tb testing.TB, now time.Time) (*testworld.World, []demo.Case) {
	tb.Helper()
	w := testworld.New(tb, testdb.SQLite, testworld.Options{})
	cases, err := demo.SeedCases(context.Background(), casework(w), now)
	if err != nil {
		tb.Fatalf("seed cases: %v", err)
	}
	return w, cases
}

func casework(w *testworld.World) demo.Casework {
	return demo.Casework{Store: w.Store, Policy: auth.NewPolicy(), Instruments: law.MustCatalog(), Accounts: w.Store}
}

// TestSeedCases: the demo cases stand in every state, with every status of
// deadline among them, were worked over the past months by the demo users
// of the side whose move it was, and their audit log verifies against the
// requests and their histories.
func TestSeedCases(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	w, cases := seeded(t, now)
	if len(cases) < 12 {
		t.Fatalf("%d cases seeded, want about a dozen", len(cases))
	}

	states := map[workflow.State]int{}
	statuses := map[workflow.DeadlineStatus]int{}
	kinds := map[workflow.Kind]int{}
	var extensions, protected, oldest int
	for _, c := range cases {
		r, err := w.Store.Request(ctx, c.ID)
		if err != nil {
			t.Fatalf("%s: %v", c.Reference, err)
		}
		if r.State != c.State || r.Reference != c.Reference {
			t.Errorf("%s: stored as %s %s, reported as %s %s", c.Title, r.Reference, r.State, c.Reference, c.State)
		}
		states[r.State]++
		kinds[r.Kind]++
		if len(r.Title) > workflow.MaxTitle {
			t.Errorf("%s: title of %d characters", r.Reference, len(r.Title))
		}
		if _, ok := law.MustCatalog().Instrument(r.Instrument); !ok {
			t.Errorf("%s: instrument %q is not in the catalog", r.Reference, r.Instrument)
		}
		switch age := now.Sub(r.CreatedAt); {
		case age <= 0 || age > 365*24*time.Hour:
			t.Errorf("%s: opened %s ago, want within the past year", r.Reference, age)
		case age > 90*24*time.Hour:
			oldest++
		}
		for _, d := range r.DeadlinesAt(now) {
			statuses[d.Status]++
			for _, e := range d.Extensions {
				extensions++
				if strings.TrimSpace(e.Reason) == "" {
					t.Errorf("%s: an extension of %s without a reason", r.Reference, d.Kind)
				}
			}
		}
		for _, p := range r.Persons {
			if p.Protected {
				protected++
			}
		}
		checkHistory(t, w, r)
	}
	for _, s := range workflow.States {
		if states[s] == 0 {
			t.Errorf("no demo case is %s (have %v)", s, states)
		}
	}
	for _, s := range []workflow.DeadlineStatus{workflow.DeadlineRunning, workflow.DeadlineMet,
		workflow.DeadlineMissed, workflow.DeadlineOverdue, workflow.DeadlineStopped} {
		if statuses[s] == 0 {
			t.Errorf("no deadline of the demo cases is %s (have %v)", s, statuses)
		}
	}
	if kinds[workflow.KindMLA] == 0 || kinds[workflow.KindExtradition] == 0 {
		t.Errorf("kinds %v, want both", kinds)
	}
	if extensions == 0 {
		t.Error("no deadline of the demo cases was extended")
	}
	if protected == 0 {
		t.Error("no person of the demo cases is protected")
	}
	if oldest == 0 {
		t.Error("no demo case was opened more than three months ago")
	}

	v, err := w.Workflow.VerifyChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK || v.BrokenAt != 0 || v.Problem != "" || v.RequestID != "" {
		t.Errorf("the audit log does not verify: %+v", v)
	}
}

// checkHistory checks that r's history leads to its state, move after move
// in the past, each made by a demo user of the side and role the workflow
// gives the move, and that an acknowledged request carries the requested
// authority's reference.
func checkHistory(t *testing.T, w *testworld.World, r workflow.Request) {
	t.Helper()
	history, err := w.Store.History(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State == workflow.StateDrafted {
		if len(history) != 0 {
			t.Errorf("%s: a draft with history %v", r.Reference, history)
		}
		return
	}
	if len(history) == 0 || history[len(history)-1].To != r.State {
		t.Fatalf("%s: history %v does not lead to %s", r.Reference, history, r.State)
	}
	prev := r.CreatedAt
	acknowledged := false
	for _, h := range history {
		acknowledged = acknowledged || h.Event == workflow.EventAcknowledge
		tr, _ := workflow.Lookup(h.Event)
		if side := r.SideOf(h.Authority); side != tr.Side {
			t.Errorf("%s: %s by %s of %s, the %s side; want the %s side", r.Reference, h.Event, h.Actor, h.Authority, side, tr.Side)
		}
		u, err := w.Store.UserByUsername(context.Background(), h.Actor)
		switch {
		case err != nil:
			t.Errorf("%s: %s by %s: %v", r.Reference, h.Event, h.Actor, err)
		case u.Authority != h.Authority || !roleMay(tr, u.Role):
			t.Errorf("%s: %s by %s, a %s of %s", r.Reference, h.Event, h.Actor, u.Role, u.Authority)
		}
		if !h.At.After(prev) {
			t.Errorf("%s: %s at %s, not after the step before (%s)", r.Reference, h.Event, h.At, prev)
		}
		prev = h.At
	}
	if acknowledged && r.RequestedReference == "" {
		t.Errorf("%s: answered without the requested authority's reference", r.Reference)
	}
}

func roleMay(t workflow.Transition, role workflow.Role) bool {
	for _, r := range t.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// TestSeedCases_once: seeding again adds nothing, neither requests nor
// audit entries.
func TestSeedCases_once(t *testing.T) {
	ctx := context.Background()
	w, cases := seeded(t, time.Now())
	before, err := w.Workflow.VerifyChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := demo.SeedCases(ctx, casework(w), time.Now())
	if err != nil || again != nil {
		t.Fatalf("seeding again: %v, %d cases; want none", err, len(again))
	}
	after, err := w.Workflow.VerifyChain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Entries != before.Entries || after.Head != before.Head {
		t.Errorf("seeding again moved the audit log from %d entries to %d", before.Entries, after.Entries)
	}
	if n := countRequests(t, w); n != len(cases) {
		t.Errorf("%d requests after seeding twice, want %d", n, len(cases))
	}
}

// countRequests counts the requests of every authority.
func countRequests(t *testing.T, w *testworld.World) int {
	t.Helper()
	n := 0
	for _, cc := range demo.Authorities {
		c, err := w.Store.CountRequests(context.Background(), workflow.Scope{Authority: cc, RequestingStates: workflow.States})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range c.Outgoing {
			n += k
		}
	}
	return n
}
