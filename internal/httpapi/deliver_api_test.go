package httpapi

import (
	"net/http"
	"slices"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestDeliver_executionInPart fires deliver (CONTRACT 6) twice on an EIO
// request: the request stays acknowledged and open, its version moves, the
// execution deadline runs on (only execute meets it), the history and the
// events endpoint show each delivery, and the audit log replays it.
func TestDeliver_executionInPart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		status, r := srv.do(t, srv.login(t, "it.officer"), http.MethodPost, "/api/v1/requests", eioDraft(srv))
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, r)
		}
		id := r["id"].(string)
		srv.fire(t, "it.supervisor", id, workflow.EventSend)
		r = srv.fire(t, "es.officer", id, workflow.EventAcknowledge)
		if !slices.Contains(r["allowed_events"].([]any), any("deliver")) {
			t.Fatalf("allowed_events of the requested officer %v lack deliver", r["allowed_events"])
		}
		version := r["version"].(float64)

		// A comment is required; the requesting side and auditors may not.
		status, body := srv.do(t, srv.login(t, "es.officer"), http.MethodPost, pathTo(id, "events"), map[string]any{"event": "deliver"})
		if status != 422 || errorFields(body)["comment"] == nil {
			t.Errorf("deliver without a comment: %d %v, want 422 with a comment field", status, body)
		}
		for _, user := range []string{"it.supervisor", "es.auditor"} {
			status, body := srv.do(t, srv.login(t, user), http.MethodPost, pathTo(id, "events"), map[string]any{"event": "deliver", "comment": "x"})
			wantError(t, status, body, 403, "forbidden")
		}

		for i, user := range []string{"es.officer", "es.supervisor"} {
			status, r = srv.do(t, srv.login(t, user), http.MethodPost, pathTo(id, "events"),
				map[string]any{"event": "deliver", "comment": "bank statements 2024, batch " + string(rune('1'+i))})
			if status != 200 {
				t.Fatalf("%s delivers: %d %v", user, status, r)
			}
			if r["state"] != "acknowledged" || r["version"].(float64) != version+float64(i+1) {
				t.Errorf("after delivery %d: state %v version %v", i+1, r["state"], r["version"])
			}
			if d := deadlineOf(t, r, "execution"); d["status"] != "running" || d["met_at"] != nil {
				t.Errorf("a delivery met the execution deadline: %v", d)
			}
		}
		_, h := srv.do(t, srv.login(t, "it.officer"), http.MethodGet, pathTo(id, "history"), nil)
		var delivered int
		for _, it := range h["items"].([]any) {
			if e := it.(map[string]any); e["event"] == "deliver" {
				delivered++
				if e["from"] != "acknowledged" || e["to"] != "acknowledged" || e["authority"] != "ES" {
					t.Errorf("delivery in the history: %v", e)
				}
			}
		}
		if delivered != 2 {
			t.Errorf("%d deliveries in the history, want 2", delivered)
		}
		// Execution still meets its deadline afterwards.
		r = srv.fire(t, "es.supervisor", id, workflow.EventExecute)
		if d := deadlineOf(t, r, "execution"); d["status"] != "met" {
			t.Errorf("execute after deliveries: %v", d)
		}
		_, a := srv.do(t, srv.login(t, "es.auditor"), http.MethodGet, "/api/v1/audit?request_id="+id, nil)
		var audited int
		for _, it := range a["items"].([]any) {
			if e := it.(map[string]any); e["action"] == "request.deliver" && e["outcome"] == "ok" {
				audited++
			}
		}
		if audited != 2 {
			t.Errorf("%d request.deliver entries, want 2", audited)
		}
		if !srv.verify(t) {
			t.Error("the audit chain does not verify (replay) after deliveries")
		}
	})
}
