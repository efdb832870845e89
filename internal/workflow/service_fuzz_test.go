package workflow_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// FuzzService_Fire fires arbitrary events, payloads and versions, as
// arbitrary demo actors, at requests in every state, through the real
// service on a real SQLite store. Whatever happens: no panic; an error is
// one of the contract's codes for the event endpoint and leaves the request
// exactly as it was; a success moves it along the table, by one version,
// with one history entry. `go test` runs the seeds; `go test -fuzz
// FuzzService_Fire ./internal/workflow` explores.
func FuzzService_Fire(f *testing.F) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{
		DSN: filepath.Join(f.TempDir(), "fuzz.db"), AuditKey: bytes.Repeat([]byte{9}, 32),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc := workflow.NewService(st, auth.NewPolicy())

	actors := []workflow.Actor{}
	for _, a := range []string{"IT", "ES", "NG"} {
		for _, r := range []workflow.Role{workflow.RoleOfficer, workflow.RoleSupervisor, workflow.RoleAuditor} {
			actors = append(actors, workflow.Actor{UserID: a + string(r), Username: a + "." + string(r), Role: r, Authority: a})
		}
	}
	actors = append(actors, workflow.Actor{Username: "admin", Role: workflow.RoleAdmin}, workflow.Actor{Username: "trainer", Role: workflow.RoleTrainer})
	itOfficer, itSupervisor := actors[0], actors[1]

	for _, seed := range []struct {
		actor, kind, steps uint8
		event, comment     string
		grounds            string
		version            int
	}{
		{4, 0, 1, "acknowledge", "", "", 0},
		{7, 1, 2, "refuse", "", "death_penalty", 3},
		{7, 0, 2, "refuse", "", "death_penalty", 0},
		{1, 0, 0, "send", "", "", 1},
		{1, 0, 0, "send", "", "", 7},
		{4, 0, 2, "execute", "done", "", 0},
		{3, 0, 3, "provide_info", "", "", 0},
		{0, 0, 9, "withdraw", "x", "", -1},
		{10, 0, 1, "teleport", "", "", 0},
		{5, 0, 1, "acknowledge", "\x00\xff", "dual_criminality", 0},
	} {
		f.Add(seed.actor, seed.kind, seed.steps, seed.event, seed.comment, seed.grounds, seed.version)
	}
	// The way to each state from a draft, as demo-like actors fire it.
	es := func(r workflow.Role) workflow.Actor {
		return workflow.Actor{UserID: "ES" + string(r), Username: "ES." + string(r), Role: r, Authority: "ES"}
	}
	path := []struct {
		by workflow.Actor
		in workflow.EventInput
	}{
		{itSupervisor, workflow.EventInput{Event: workflow.EventSend}},
		{es(workflow.RoleOfficer), workflow.EventInput{Event: workflow.EventAcknowledge}},
		{es(workflow.RoleOfficer), workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "which accounts?"}},
		{itSupervisor, workflow.EventInput{Event: workflow.EventWithdraw, Comment: "no longer needed"}},
	}
	allowed := []workflow.Code{workflow.ErrNotFound, workflow.ErrValidation, workflow.ErrInvalidTransition,
		workflow.ErrForbidden, workflow.ErrVersionConflict}

	f.Fuzz(func(t *testing.T, actor, kind, steps uint8, event, comment, grounds string, version int) {
		k := workflow.Kinds[int(kind)%len(workflow.Kinds)]
		r, err := svc.Create(ctx, itOfficer, workflow.Draft{Kind: k, RequestedAuthority: "ES", Title: "fuzzed"})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range path[:int(steps)%(len(path)+1)] {
			if r, err = svc.Fire(ctx, step.by, r.ID, step.in); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := st.History(ctx, r.ID)
		in := workflow.EventInput{Event: workflow.Event(event), Comment: comment}
		if grounds != "" {
			in.Grounds = []string{grounds}
		}
		if version != 0 {
			in.Version = &version
		}
		a := actors[int(actor)%len(actors)]
		got, err := svc.Fire(ctx, a, r.ID, in)
		after, _ := st.Request(ctx, r.ID)
		history, _ := st.History(ctx, r.ID)
		if err != nil {
			if !slices.Contains(allowed, workflow.ErrorCode(err)) {
				t.Fatalf("%s fires %q at a %s request: %v, not a contract error", a.Username, event, r.State, err)
			}
			if after.Version != r.Version || after.State != r.State || len(history) != len(before) {
				t.Fatalf("a refused %q changed the request: %+v -> %+v", event, r, after)
			}
			return
		}
		tr, _ := workflow.Lookup(in.Event)
		if !tr.Leaves(r.State) || got.State != tr.To || after.State != tr.To || after.Version != r.Version+1 ||
			len(history) != len(before)+1 {
			t.Fatalf("%s fired %s from %s: got %s v%d with %d history entries", a.Username, event, r.State, after.State, after.Version, len(history))
		}
	})
}
