package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// apiActor is a demo user with its place in a request from IT to ES.
type apiActor struct {
	username  string
	role      workflow.Role
	side      workflow.Side // of a request from IT to ES
	authority string
}

// everyActor lists an officer, a supervisor and an auditor of the
// requesting (IT), the requested (ES) and a third authority (NG), and the
// admin and the trainer.
func everyActor() []apiActor {
	var out []apiActor
	for _, a := range []struct {
		cc   string
		side workflow.Side
	}{{"it", workflow.SideRequesting}, {"es", workflow.SideRequested}, {"ng", workflow.SideNone}} {
		for _, role := range []workflow.Role{workflow.RoleOfficer, workflow.RoleSupervisor, workflow.RoleAuditor} {
			out = append(out, apiActor{username: a.cc + "." + string(role), role: role, side: a.side, authority: strings.ToUpper(a.cc)})
		}
	}
	return append(out,
		apiActor{username: "admin", role: workflow.RoleAdmin},
		apiActor{username: "trainer", role: workflow.RoleTrainer})
}

// expectation is the answer the contract promises.
type expectation struct {
	status int
	code   string
	to     workflow.State
}

// expect computes the answer to actor firing event at a request in state
// from the one table, in the documented order of checks: not visible 404;
// event not leaving the state 409; role or side not allowed 403; else 200.
func expect(a apiActor, t workflow.Transition, state workflow.State) expectation {
	visible := a.role == workflow.RoleOfficer || a.role == workflow.RoleSupervisor || a.role == workflow.RoleAuditor
	visible = visible && (a.side == workflow.SideRequesting || a.side == workflow.SideRequested && state != workflow.StateDrafted)
	switch {
	case !visible:
		return expectation{http.StatusNotFound, "not_found", ""}
	case !t.Leaves(state):
		return expectation{http.StatusConflict, "invalid_transition", ""}
	case a.side != t.Side || !slices.Contains(t.Roles, a.role):
		return expectation{http.StatusForbidden, "forbidden", ""}
	}
	return expectation{http.StatusOK, "", t.To}
}

// TestFire_everyEventActorState fires every event as every kind of actor at
// a request in every state and checks the answer against the table.
func TestFire_everyEventActorState(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		counts := map[int]int{}
		for _, state := range workflow.States {
			// Refusals do not change a request, so one request per state
			// serves every refused attempt; each success needs its own.
			shared := srv.requestIn(t, state)
			id := shared["id"].(string)
			for _, tr := range workflow.Table {
				for _, a := range everyActor() {
					want := expect(a, tr, state)
					counts[want.status]++
					name := fmt.Sprintf("%s/%s/%s", state, tr.Event, a.username)
					t.Run(name, func(t *testing.T) {
						target := id
						if want.status == http.StatusOK {
							target = srv.requestIn(t, state)["id"].(string)
						}
						status, body := srv.do(t, srv.login(t, a.username), http.MethodPost,
							pathTo(target, "events"), payloadFor(tr.Event))
						if status != want.status || errorCode(body) != want.code {
							t.Fatalf("got %d %s, want %d %s (%v)", status, errorCode(body), want.status, want.code, body)
						}
						if want.status == http.StatusOK && body["state"] != string(want.to) {
							t.Fatalf("state %v, want %s", body["state"], want.to)
						}
					})
				}
			}
			// Unknown event: 422 on the field event, for whoever may see it.
			t.Run(string(state)+"/unknown event", func(t *testing.T) {
				status, body := srv.do(t, srv.login(t, "it.supervisor"), http.MethodPost, pathTo(id, "events"),
					map[string]any{"event": "approve", "comment": "x"})
				wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
				if errorFields(body)["event"] == nil {
					t.Fatalf("fields %v, want event", errorFields(body))
				}
			})
			// Nothing of the refused attempts changed the shared request.
			_, after := srv.do(t, srv.login(t, "it.officer"), http.MethodGet, pathTo(id), nil)
			if after["version"] != shared["version"] || after["state"] != shared["state"] {
				t.Errorf("%s: refused attempts changed the request: version %v→%v, state %v→%v",
					state, shared["version"], after["version"], shared["state"], after["state"])
			}
		}
		t.Logf("answers expected: %v", counts)
		for _, status := range []int{200, 403, 404, 409} {
			if counts[status] == 0 {
				t.Errorf("no case expects %d; the table test lost its reach", status)
			}
		}
	})
}

// TestAllowedEvents checks that allowed_events lists what each actor may
// fire now, the same answer as the table gives.
func TestAllowedEvents(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		for _, state := range workflow.States {
			r := srv.requestIn(t, state)
			for _, a := range everyActor() {
				status, body := srv.do(t, srv.login(t, a.username), http.MethodGet, pathTo(r["id"].(string)), nil)
				var want []any
				for _, tr := range workflow.Table {
					if expect(a, tr, state).status == http.StatusOK {
						want = append(want, string(tr.Event))
					}
				}
				if expect(a, workflow.Table[0], state).status == http.StatusNotFound {
					if status != http.StatusNotFound {
						t.Errorf("%s/%s: GET %d, want 404", state, a.username, status)
					}
					continue
				}
				got, _ := body["allowed_events"].([]any)
				if status != http.StatusOK || got == nil || fmt.Sprint(got) != fmt.Sprint(nonNil(want)) {
					t.Errorf("%s/%s: allowed_events %v, want %v", state, a.username, body["allowed_events"], want)
				}
			}
		}
	})
}

// TestFire_concurrent fires one event 20 times at once: exactly one wins.
func TestFire_concurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		tok := srv.login(t, "es.officer")
		for _, withVersion := range []bool{false, true} {
			t.Run(fmt.Sprintf("version=%v", withVersion), func(t *testing.T) {
				r := srv.requestIn(t, workflow.StateSent)
				body := map[string]any{"event": "acknowledge"}
				if withVersion {
					body["version"] = r["version"]
				}
				const n = 20
				var wg sync.WaitGroup
				statuses := make([]int, n)
				codes := make([]string, n)
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rec := srv.raw(t, tok, http.MethodPost, pathTo(r["id"].(string), "events"), body, nil)
						statuses[i] = rec.Code
						codes[i] = rec.Body.String()
					}()
				}
				wg.Wait()
				ok, conflict := 0, 0
				for i, s := range statuses {
					switch s {
					case http.StatusOK:
						ok++
					case http.StatusConflict:
						conflict++
					default:
						t.Errorf("answer %d: %d %s", i, s, codes[i])
					}
				}
				if ok != 1 || conflict != n-1 {
					t.Fatalf("%d answered 200 and %d 409, want 1 and %d", ok, conflict, n-1)
				}
				_, got := srv.do(t, tok, http.MethodGet, pathTo(r["id"].(string)), nil)
				if got["version"].(float64) != r["version"].(float64)+1 {
					t.Fatalf("version %v after one acknowledgement of version %v", got["version"], r["version"])
				}
				_, hist := srv.do(t, tok, http.MethodGet, pathTo(r["id"].(string), "history"), nil)
				if n := len(hist["items"].([]any)); n != 2 {
					t.Fatalf("history has %d entries, want 2 (send, acknowledge)", n)
				}
			})
		}
	})
}

// TestCountsAndWaiting covers the added dashboard endpoints: counts by side
// and state, and the worklist of requests on which the caller has the next
// move, urgent first.
func TestCountsAndWaiting(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		draft := srv.requestIn(t, workflow.StateDrafted)
		sent := srv.requestIn(t, workflow.StateSent)
		acked := srv.requestIn(t, workflow.StateAcknowledged)
		info := srv.requestIn(t, workflow.StateInfoRequested)
		srv.requestIn(t, workflow.StateExecuted)
		officer := srv.login(t, "it.officer")
		status, urgent := srv.do(t, officer, http.MethodPost, "/api/v1/requests",
			map[string]any{"kind": "mla", "requested_authority": "ES", "title": "Urgent freezing", "urgency": "urgent"})
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, urgent)
		}
		srv.fire(t, "it.supervisor", urgent["id"].(string), workflow.EventSend)

		_, it := srv.do(t, officer, http.MethodGet, "/api/v1/requests/counts", nil)
		out := it["outgoing"].(map[string]any)
		if out["drafted"] != float64(1) || out["sent"] != float64(2) || out["executed"] != float64(1) || out["refused"] != float64(0) {
			t.Errorf("IT outgoing %v", out)
		}
		_, es := srv.do(t, srv.login(t, "es.officer"), http.MethodGet, "/api/v1/requests/counts", nil)
		in := es["incoming"].(map[string]any)
		if in["drafted"] != float64(0) || in["sent"] != float64(2) || in["acknowledged"] != float64(1) || len(in) != len(workflow.States) {
			t.Errorf("ES incoming %v", in)
		}
		status, ng := srv.do(t, srv.login(t, "ng.supervisor"), http.MethodGet, "/api/v1/requests/counts", nil)
		if status != http.StatusOK {
			t.Fatalf("third authority's counts: %d %v", status, ng)
		}
		wantKeys(t, "counts", ng, "incoming", "outgoing")
		for side, m := range ng {
			for state, n := range m.(map[string]any) {
				if n != float64(0) {
					t.Errorf("third authority counts %s %s = %v", side, state, n)
				}
			}
		}

		ids := func(tok, path string) []string {
			_, page := srv.do(t, tok, http.MethodGet, path, nil)
			var out []string
			for _, it := range page["items"].([]any) {
				out = append(out, it.(map[string]any)["id"].(string))
			}
			return out
		}
		id := func(r map[string]any) string { return r["id"].(string) }
		// ES has the next move on what was sent and acknowledged; urgent first.
		got := ids(srv.login(t, "es.officer"), "/api/v1/requests/waiting")
		want := []string{id(urgent), id(acked), id(sent)}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("es.officer waiting %v, want %v", got, want)
		}
		// IT's officer answers the request for information; its supervisor
		// also sends the draft.
		if got := ids(officer, "/api/v1/requests/waiting"); strings.Join(got, ",") != id(info) {
			t.Errorf("it.officer waiting %v, want %v", got, id(info))
		}
		if got := ids(srv.login(t, "it.supervisor"), "/api/v1/requests/waiting"); strings.Join(got, ",") != id(info)+","+id(draft) {
			t.Errorf("it.supervisor waiting %v", got)
		}
		for _, user := range []string{"it.auditor", "admin", "ng.officer"} {
			if got := ids(srv.login(t, user), "/api/v1/requests/waiting"); len(got) != 0 {
				t.Errorf("%s waiting %v, want nothing", user, got)
			}
		}
		if status, _ := srv.do(t, officer, http.MethodGet, "/api/v1/requests/waiting?limit=0", nil); status != http.StatusBadRequest {
			t.Errorf("limit=0: %d, want 400", status)
		}
	})
}
