package seed_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/seed"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestGenerate_asTheService replays generated requests through the
// workflow service, each command at the time the seeder says it happened,
// and compares what the service made of them with what the seeder wrote:
// the same state, instrument and deadlines, so that a benchmark on a
// seeded database measures the body of casework the service would hold.
// The seeded body must also use what the benchmarks of deadlines need:
// instruments with deadline rules, postponed requests, and deadlines that
// were met, missed, are running and are overdue at its end.
func TestGenerate_asTheService(t *testing.T) {
	const n = 600
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	catalog := law.MustCatalog()
	m := &memory{}
	key := bytes.Repeat([]byte{5}, audit.KeySize)
	_, err := seed.Generate(context.Background(), seed.Options{
		Requests: n, Authorities: []string{"IT", "ES", "NG", "TH"}, End: end, Span: 365 * 24 * time.Hour, Seed: 11,
		Instruments: catalog, Digester: audit.NewDigester(key),
	}, m)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DSN: filepath.Join(t.TempDir(), "mla.db"), AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var now time.Time
	svc := workflow.NewService(st, auth.NewPolicy(), workflow.WithClock(func() time.Time { return now }),
		workflow.WithInstruments(catalog))
	actor := func(username, authority string) workflow.Actor {
		return workflow.Actor{Username: username, Authority: authority, Role: workflow.Role(strings.TrimPrefix(username, strings.ToLower(authority)+"."))}
	}
	history := map[string][]workflow.HistoryEntry{}
	for _, h := range m.history {
		history[h.RequestID] = append(history[h.RequestID], h)
	}

	statuses := map[workflow.DeadlineStatus]int{}
	postponed, withRules := 0, 0
	for _, want := range m.requests {
		in, ok := catalog.Instrument(want.Instrument)
		if !ok || !in.Serves(want.Kind) {
			t.Fatalf("request %s of kind %s rests on %q", want.Reference, want.Kind, want.Instrument)
		}
		if len(in.Deadlines) > 0 {
			withRules++
		}
		for _, d := range want.DeadlinesAt(end) {
			statuses[d.Status]++
		}
		now = want.CreatedAt
		got, err := svc.Create(ctx, actor(strings.ToLower(want.RequestingAuthority)+".officer", want.RequestingAuthority), workflow.Draft{
			Kind: want.Kind, RequestedAuthority: want.RequestedAuthority, Title: want.Title, Summary: want.Summary,
			LegalBasis: want.LegalBasis, Offences: want.Offences, Measures: want.Measures, Urgency: want.Urgency,
			UrgencyReason: want.UrgencyReason, DueDate: want.DueDate, PersonSought: want.PersonSought,
			Warrant: want.Warrant, Instrument: want.Instrument,
		})
		if err != nil {
			t.Fatalf("create %s: %v", want.Reference, err)
		}
		for _, h := range history[want.ID] {
			if h.Event == workflow.EventPostpone {
				postponed++
			}
			now = h.At
			got, err = svc.Fire(ctx, actor(h.Actor, h.Authority), got.ID, workflow.EventInput{Event: h.Event, Comment: h.Comment, Grounds: h.Grounds})
			if err != nil {
				t.Fatalf("%s of %s at %s: %v", h.Event, want.Reference, h.At, err)
			}
		}
		if got.State != want.State || !sameTracks(got.Deadlines, want.Deadlines) {
			t.Fatalf("%s: the service made it %s with deadlines\n%+v\nthe seeder %s with\n%+v", want.Reference, got.State, got.Deadlines, want.State, want.Deadlines)
		}
		gotDue, gotHas := got.NextDue()
		wantDue, wantHas := want.NextDue()
		if gotHas != wantHas || !gotDue.Equal(wantDue) {
			t.Fatalf("%s: next due %v %v, the seeder's %v %v", want.Reference, gotDue, gotHas, wantDue, wantHas)
		}
	}
	if withRules < n/3 || postponed == 0 {
		t.Errorf("%d of %d requests under instruments with deadline rules, %d postponements", withRules, n, postponed)
	}
	for _, s := range []workflow.DeadlineStatus{workflow.DeadlineMet, workflow.DeadlineMissed, workflow.DeadlineRunning, workflow.DeadlineOverdue, workflow.DeadlineStopped} {
		if statuses[s] == 0 {
			t.Errorf("no deadline is %s at the end: %v", s, statuses)
		}
	}
}

// sameTracks compares two requests' deadline tracks, times by the instant.
func sameTracks(a, b []workflow.DeadlineTrack) bool {
	if len(a) != len(b) {
		return false
	}
	sameAt := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	for i := range a {
		x, y := a[i], b[i]
		if x.Kind != y.Kind || x.Basis != y.Basis || x.Side != y.Side || !x.StartsAt.Equal(y.StartsAt) || !x.DueAt.Equal(y.DueAt) ||
			!sameAt(x.StoppedSince, y.StoppedSince) || !sameAt(x.MetAt, y.MetAt) || !sameAt(x.EndedAt, y.EndedAt) || len(x.Extensions) != len(y.Extensions) {
			return false
		}
	}
	return true
}
