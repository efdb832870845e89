package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestDerivedID(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	a, b := workflow.DerivedID(at, "k"), workflow.DerivedID(at, "k")
	if a != b || len(a) != 26 {
		t.Fatalf("DerivedID gave %q and %q, want one 26-character id", a, b)
	}
	later := workflow.DerivedID(at.Add(time.Hour), "k")
	if later == a || workflow.IDSuffix(later) != workflow.IDSuffix(a) || later < a {
		t.Errorf("an hour later %q, then %q: want another id with the same suffix, sorting after", a, later)
	}
	if workflow.IDSuffix(workflow.DerivedID(at, "other")) == workflow.IDSuffix(a) {
		t.Error("two keys, one suffix")
	}
	if n := workflow.NewIDAt(at); n[:10] != a[:10] {
		t.Errorf("NewIDAt %q and DerivedID %q disagree on the timestamp", n, a)
	}
}

// TestCreateWithID_once: a second create, or post, under a taken id fails
// and leaves one request, one message (what a simulated authority's repeat
// relies on).
func TestCreateWithID_once(t *testing.T) {
	w := testworld.New(t, testdb.SQLite, testworld.Options{})
	ctx := context.Background()
	ng := workflow.Actor{Username: "sim.ng", Role: workflow.RoleSupervisor, Authority: "NG"}
	id := workflow.DerivedID(w.Clock.Now(), "request one")
	d := workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "IT", Title: "Bank records"}
	r, err := w.Workflow.CreateWithID(ctx, ng, id, d)
	if err != nil || r.ID != id {
		t.Fatalf("CreateWithID = %v, %v; want the request under %s", r.ID, err, id)
	}
	if _, err := w.Workflow.CreateWithID(ctx, ng, id, d); err == nil {
		t.Fatal("a second create under the same id succeeded")
	}
	list, _, err := w.Workflow.List(ctx, ng, workflow.ListQuery{})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d requests (%v), want 1", len(list), err)
	}
	mid := workflow.DerivedID(w.Clock.Now(), "message one")
	for i := range 2 {
		_, err := w.Workflow.PostMessageWithID(ctx, ng, id, mid, workflow.MessageKindNote, "hello")
		if (err == nil) != (i == 0) {
			t.Fatalf("post %d under one id: %v", i+1, err)
		}
	}
	thread, err := w.Workflow.Messages(ctx, ng, id)
	if err != nil || len(thread) != 1 || thread[0].ID != mid {
		t.Fatalf("thread %+v (%v), want the one message %s", thread, err, mid)
	}
}
