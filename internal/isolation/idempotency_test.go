package isolation

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// testIdempotencyKeys checks that an Idempotency-Key is its caller's own
// (CONTRACT 8): it.supervisor sends a write on its authority's draft under a
// key (refused by its stale version, so the fixture stays as built); every
// other actor then sends the same bytes under the same key and must get an
// answer of its own, never the replay: those who may not see the draft
// exactly the answer of a missing request. it.supervisor's own repeat is the
// replay, so that the check is not vacuous.
func (w *world) testIdempotencyKeys(t *testing.T) {
	var draft *fixtureRequest
	for _, r := range w.requests {
		if r.state == workflow.StateDrafted && r.requesting == requesting && r.kind == workflow.KindMLA {
			draft = r
		}
	}
	if draft == nil {
		t.Fatal("no MLA draft of IT in the fixture")
	}
	ep := w.eps.get(t, "POST /api/v1/requests/:id/events")
	keyedAs := func(id, key string) call {
		return call{ep: ep, path: "/api/v1/requests/" + id + "/events",
			json:   map[string]any{"event": "send", "comment": w.attempt, "version": staleVersion},
			header: http.Header{"Idempotency-Key": {key}}}
	}
	keyed := func(id string) call { return keyedAs(id, "isolation: one key, many callers") }
	owner := w.sessions["it.supervisor"] // send is the supervisor's: refused by the stale version only
	first := w.do(t, owner, keyed(draft.id))
	if first.status != http.StatusConflict {
		t.Fatalf("it.supervisor's keyed write: %d %s", first.status, short(first.body))
	}
	for _, a := range actors {
		if a.name == owner.a.name {
			continue
		}
		s := w.sessions[a.name]
		ans := w.do(t, s, keyed(draft.id))
		w.checks.Add(1)
		if ans.header.Get("Idempotent-Replayed") != "" || (bytes.Equal(ans.body, first.body) && ans.status == first.status) {
			t.Errorf("%s got it.supervisor's answer under the same key: %d %s", a, ans.status, short(ans.body))
		}
		if a.role == anonymous || a.authority == requesting {
			continue // 401; or its own authority's draft, which it sees: answers of its own, checked above
		}
		// The draft is hidden from everybody else (the requested side
		// included): the answer is a missing request's, under a key of
		// the caller's own for the probe.
		missing := w.do(t, s, keyedAs(w.missing, "isolation: the missing probe"))
		w.checks.Add(1)
		if ans.status != http.StatusNotFound || normal(ans, draft.id) != normal(missing, w.missing) {
			t.Errorf("%s under it.supervisor's key: %d %s, want the answer of a missing request %d %s",
				a, ans.status, short(ans.body), missing.status, short(missing.body))
		}
	}
	again := w.do(t, owner, keyed(draft.id))
	w.checks.Add(1)
	if again.header.Get("Idempotent-Replayed") != "true" || again.status != first.status || !bytes.Equal(again.body, first.body) {
		t.Errorf("it.supervisor's own repeat is not the replay: %d %s", again.status, short(again.body))
	}
	w.unchanged(t, "after the keyed writes", draft)
}
