package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The legal substance of a request (CONTRACT 5) through the real router:
// instruments, deadlines and their extensions, completeness and its
// policy, persons concerned and their protection, postponement.

func TestInstruments_published(t *testing.T) {
	srv := newTestServer(t)
	status, body := srv.do(t, srv.login(t, "it.officer"), http.MethodGet, "/api/v1/instruments", nil)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	var codes []string
	for _, it := range body["items"].([]any) {
		in := it.(map[string]any)
		wantKeys(t, "instrument", in, "code", "label", "kinds", "grounds", "deadlines")
		codes = append(codes, in["code"].(string))
		for _, d := range in["deadlines"].([]any) {
			wantKeys(t, "deadline rule", d.(map[string]any), "kind", "days", "extendable_days", "starts_on", "met_by",
				// added (docs/API.md):
				"consent_days", "side", "stops_while_info_requested", "only_urgent", "basis")
		}
	}
	for _, c := range []string{"untoc", "mla_1959", "eio", "ece_1957", "eaw", "bilateral", "reciprocity"} {
		if !slices.Contains(codes, c) {
			t.Errorf("instruments %v lack %s", codes, c)
		}
	}
}

// eioDraft is a complete EIO request from IT to ES, due in 60 days.
func eioDraft(srv *testServer) map[string]any {
	return map[string]any{
		"kind": "mla", "requested_authority": "ES", "title": "Bank records of the Okoro network",
		"summary": "Payments for recruited victims", "offences": []string{"trafficking in persons"},
		"measures": []string{"bank_records"}, "instrument": "eio", "purpose": "to trace the proceeds",
		"due_date": srv.clock.Now().AddDate(0, 0, 60).Format(time.DateOnly),
		"persons": []map[string]any{
			{"role": "suspect", "name": "Felix Okoro", "aliases": []string{"Big F"}, "nationality": "NG", "location": "Madrid"},
			{"role": "victim", "name": "Grace Edo", "nationality": "NG", "location": "a shelter in Turin", "protected": true},
		},
	}
}

func deadlineOf(t *testing.T, r map[string]any, kind string) map[string]any {
	t.Helper()
	for _, d := range r["deadlines"].([]any) {
		if m := d.(map[string]any); m["kind"] == kind {
			return m
		}
	}
	t.Fatalf("no deadline %s in %v", kind, r["deadlines"])
	return nil
}

func TestDeadlines_throughTheAPI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		// The request is made 100 days ago, on the world's clock, and read
		// now.
		srv.clock.Advance(-100 * 24 * time.Hour)
		officer := srv.login(t, "it.officer")
		status, r := srv.do(t, officer, http.MethodPost, "/api/v1/requests", eioDraft(srv))
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, r)
		}
		if r["instrument"] != "eio" || !r["completeness"].(map[string]any)["complete"].(bool) || len(r["deadlines"].([]any)) != 0 {
			t.Fatalf("draft: instrument %v, completeness %v, deadlines %v", r["instrument"], r["completeness"], r["deadlines"])
		}
		id := r["id"].(string)
		srv.fire(t, "it.supervisor", id, workflow.EventSend)
		status, r = srv.do(t, srv.login(t, "es.officer"), http.MethodPost, pathTo(id, "events"),
			map[string]any{"event": "acknowledge", "reference": "ES-AN-2026-77"})
		if status != http.StatusOK || r["requested_reference"] != "ES-AN-2026-77" {
			t.Fatalf("acknowledge with a reference: %d %v", status, r["requested_reference"])
		}
		for kind, want := range map[string]string{"acknowledgement": "met", "decision": "met", "execution": "running", "requested_by": "running"} {
			d := deadlineOf(t, r, kind)
			wantKeys(t, "deadline", d, "kind", "basis", "side", "starts_at", "due_at", "status", "met_at", "extensions", "paused")
			if d["status"] != want || d["side"] != "requested" || d["basis"] == "" {
				t.Errorf("%s: %v, want %s", kind, d, want)
			}
		}

		// Only a supervisor of the bound side extends; not beyond the rule.
		ext := pathTo(id, "deadlines", "execution", "extensions")
		for user, want := range map[string]int{"es.officer": 403, "it.supervisor": 403, "ng.supervisor": 404} {
			if status, body := srv.do(t, srv.login(t, user), http.MethodPost, ext, map[string]any{"days": 5, "reason": "r"}); status != want {
				t.Errorf("%s extends: %d %v, want %d", user, status, body, want)
			}
		}
		sup := srv.login(t, "es.supervisor")
		if status, body := srv.do(t, sup, http.MethodPost, ext, map[string]any{"days": 5, "reason": "r"}); status != 422 {
			t.Errorf("extending a deadline the EIO does not extend: %d %v", status, body)
		}
		status, body := srv.do(t, sup, http.MethodPost, pathTo(id, "deadlines", "no_such", "extensions"), map[string]any{"days": 5, "reason": "r"})
		if status != 404 {
			t.Errorf("an unknown deadline: %d %v", status, body)
		}
		// Postponed: the clocks stand; a deadline shows paused.
		status, r = srv.do(t, sup, http.MethodPost, pathTo(id, "events"), map[string]any{"event": "postpone", "comment": "our own trial first (UNTOC 18(25))"})
		if status != http.StatusOK || r["state"] != "postponed" || deadlineOf(t, r, "execution")["paused"] != true {
			t.Fatalf("postpone: %d %v", status, r)
		}
		if status, r = srv.do(t, srv.login(t, "es.officer"), http.MethodPost, pathTo(id, "events"), map[string]any{"event": "resume"}); status != 200 || r["state"] != "acknowledged" {
			t.Fatalf("resume: %d %v", status, r)
		}

		// Now, 100 days on, execution is overdue and the list filter finds it.
		srv.clock.Advance(100 * 24 * time.Hour)
		srv.mu.Lock()
		clear(srv.tokens) // issued 100 days ago, long expired
		srv.mu.Unlock()
		sup = srv.login(t, "es.supervisor")
		if status, r = srv.do(t, sup, http.MethodGet, pathTo(id), nil); status != 200 {
			t.Fatalf("read after 100 days: %d %v", status, r)
		}
		if deadlineOf(t, r, "execution")["status"] != "overdue" {
			t.Errorf("execution after 100 days: %v", deadlineOf(t, r, "execution"))
		}
		for q, want := range map[string]int{"deadline=overdue": 1, "deadline=due_soon": 0, "sort=due": 1} {
			status, l := srv.do(t, sup, http.MethodGet, "/api/v1/requests?"+q, nil)
			if status != 200 || len(l["items"].([]any)) != want {
				t.Errorf("%s: %d, %d items, want %d", q, status, len(l["items"].([]any)), want)
			}
		}
		if status, _ := srv.do(t, sup, http.MethodGet, "/api/v1/requests?deadline=late", nil); status != 400 {
			t.Errorf("deadline=late: %d, want 400", status)
		}
		_, w := srv.do(t, sup, http.MethodGet, "/api/v1/requests/waiting", nil)
		if items := w["items"].([]any); len(items) == 0 || items[0].(map[string]any)["id"] != id {
			t.Errorf("the worklist does not start with the overdue request: %v", items)
		}
	})
}

func TestExtension_audited(t *testing.T) {
	srv := newTestServer(t)
	d := eioDraft(srv)
	d["kind"], d["instrument"], d["measures"] = "extradition", "eaw", nil
	d["person_sought"] = map[string]any{"name": "Felix Okoro"}
	d["warrant"] = map[string]any{"type": "arrest_warrant", "reference": "GIP-Torino-1/26"}
	status, r := srv.do(t, srv.login(t, "it.officer"), http.MethodPost, "/api/v1/requests", d)
	if status != http.StatusCreated {
		t.Fatalf("%d %v", status, r)
	}
	id := r["id"].(string)
	srv.fire(t, "it.supervisor", id, workflow.EventSend)
	srv.fire(t, "es.officer", id, workflow.EventAcknowledge)
	sup := srv.login(t, "es.supervisor")
	ext := pathTo(id, "deadlines", "decision", "extensions")
	if status, body := srv.do(t, sup, http.MethodPost, ext, map[string]any{"days": 10}); status != 422 || !strings.Contains(jsonText(body), "reason") {
		t.Errorf("without a reason: %d %v", status, body)
	}
	if status, body := srv.do(t, sup, http.MethodPost, ext, map[string]any{"days": 31, "reason": "the hearing"}); status != 422 {
		t.Errorf("beyond 30 days: %d %v", status, body)
	}
	status, r = srv.do(t, sup, http.MethodPost, ext, map[string]any{"days": 30, "reason": "the hearing is set for June"})
	dl := deadlineOf(t, r, "decision")
	exts := dl["extensions"].([]any)
	if status != 200 || len(exts) != 1 || exts[0].(map[string]any)["actor"] != "es.supervisor" {
		t.Fatalf("extension: %d %v", status, dl)
	}
	_, audit := srv.do(t, srv.login(t, "es.auditor"), http.MethodGet, "/api/v1/audit?request_id="+id, nil)
	var actions []string
	for _, e := range audit["items"].([]any) {
		actions = append(actions, e.(map[string]any)["action"].(string)+"/"+e.(map[string]any)["outcome"].(string))
	}
	if !slices.Contains(actions, "deadline.extend/ok") || !slices.Contains(actions, "deadline.extend/denied") {
		t.Errorf("audit %v, want the extension and the refused attempts", actions)
	}
	if v := srv.verify(t); !v {
		t.Error("the chain does not verify after an extension")
	}
}

func TestCompleteness_enforced(t *testing.T) {
	srv := newTestServer(t)
	admin := srv.login(t, "admin")
	if status, body := srv.do(t, srv.login(t, "it.supervisor"), http.MethodPatch, "/api/v1/authorities/IT", map[string]any{"completeness_policy": "enforced"}); status != 403 {
		t.Fatalf("a supervisor configures the authority: %d %v", status, body)
	}
	if status, body := srv.do(t, admin, http.MethodPatch, "/api/v1/authorities/IT", map[string]any{"completeness_policy": "strict"}); status != 422 {
		t.Fatalf("an unknown policy: %d %v", status, body)
	}
	if status, _ := srv.do(t, admin, http.MethodPatch, "/api/v1/authorities/XX", map[string]any{"completeness_policy": "enforced"}); status != 404 {
		t.Fatalf("an unknown authority: %d", status)
	}
	status, a := srv.do(t, admin, http.MethodPatch, "/api/v1/authorities/IT", map[string]any{"completeness_policy": "enforced"})
	if status != 200 || a["completeness_policy"] != "enforced" {
		t.Fatalf("enforce: %d %v", status, a)
	}
	bare := srv.newDraft(t) // a title and nothing else
	status, body := srv.do(t, srv.login(t, "it.supervisor"), http.MethodPost, pathTo(bare["id"].(string), "events"), map[string]any{"event": "send"})
	fields, _ := body["error"].(map[string]any)["fields"].(map[string]any)
	if status != 422 || len(fields) != len(bare["completeness"].(map[string]any)["missing"].([]any)) || fields["purpose"] == nil {
		t.Fatalf("sending an incomplete request under enforcement: %d %v", status, body)
	}
	// ES advises only: its incomplete requests go.
	status, r := srv.do(t, srv.login(t, "es.officer"), http.MethodPost, "/api/v1/requests", map[string]any{"kind": "mla", "requested_authority": "IT", "title": "t"})
	if status != 201 {
		t.Fatal(status, r)
	}
	if status, body := srv.do(t, srv.login(t, "es.supervisor"), http.MethodPost, pathTo(r["id"].(string), "events"), map[string]any{"event": "send"}); status != 200 {
		t.Errorf("an advisory authority sends an incomplete request: %d %v", status, body)
	}
	past := time.Now().AddDate(0, 0, -3).Format(time.DateOnly)
	if status, body := srv.do(t, srv.login(t, "es.officer"), http.MethodPost, "/api/v1/requests", map[string]any{"kind": "mla", "requested_authority": "IT", "title": "t", "due_date": past}); status != 422 {
		t.Errorf("a past due date: %d %v", status, body)
	}
}

func TestPersons_protected(t *testing.T) {
	srv := newTestServer(t)
	status, r := srv.do(t, srv.login(t, "it.officer"), http.MethodPost, "/api/v1/requests", eioDraft(srv))
	if status != 201 {
		t.Fatal(status, r)
	}
	id := r["id"].(string)
	victim := r["persons"].([]any)[1].(map[string]any)
	if victim["name"] != nil || victim["protected"] != true || victim["id"] == "" {
		t.Fatalf("the create answer discloses a protected person: %v", victim)
	}
	srv.fire(t, "it.supervisor", id, workflow.EventSend)
	for user, sees := range map[string]bool{"it.officer": true, "es.supervisor": true, "es.auditor": false, "it.auditor": false} {
		_, r := srv.do(t, srv.login(t, user), http.MethodGet, pathTo(id), nil)
		p := r["persons"].([]any)[1].(map[string]any)
		if (p["name"] == "Grace Edo") != sees {
			t.Errorf("%s reads the protected victim as %v, want disclosed %v", user, p, sees)
		}
		if !sees {
			wantKeys(t, "concealed person", p, "id", "role", "name", "aliases", "date_of_birth", "nationality", "location", "protected")
			for _, k := range []string{"name", "aliases", "date_of_birth", "nationality", "location"} {
				if p[k] != nil {
					t.Errorf("%s: %s = %v, want null", user, k, p[k])
				}
			}
		}
		if suspect := r["persons"].([]any)[0].(map[string]any); suspect["name"] != "Felix Okoro" {
			t.Errorf("%s reads the suspect as %v", user, suspect)
		}
	}
	_, l := srv.do(t, srv.login(t, "es.supervisor"), http.MethodGet, "/api/v1/requests", nil)
	if strings.Contains(jsonText(l), "Grace Edo") || strings.Contains(jsonText(l), "shelter") {
		t.Error("the list discloses the protected victim")
	}
	_, audit := srv.do(t, srv.login(t, "it.auditor"), http.MethodGet, "/api/v1/audit?request_id="+id+"&action=person.view", nil)
	if n := len(audit["items"].([]any)); n != 1 {
		t.Errorf("%d person.view entries by IT, want 1 (it.officer's read)", n)
	}
	if strings.Contains(jsonText(audit), "Grace") {
		t.Error("the audit log holds the protected person's name")
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// verify reports whether the audit chain verifies, requests replayed.
func (s *testServer) verify(tb testing.TB) bool {
	tb.Helper()
	v, err := s.wf.VerifyChain(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	if !v.OK {
		tb.Logf("verify: %+v", v)
	}
	return v.OK
}
