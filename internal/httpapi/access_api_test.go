package httpapi

import (
	"net/http"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestAccess_thirdAuthority: a request between IT and ES does not exist for
// NG, whatever NG's users try.
func TestAccess_thirdAuthority(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		r := srv.requestIn(t, workflow.StateAcknowledged)
		id := r["id"].(string)
		for _, user := range []string{"ng.officer", "ng.supervisor", "ng.auditor"} {
			tok := srv.login(t, user)
			for _, tc := range []struct {
				method, path string
				body         any
			}{
				{"GET", pathTo(id), nil},
				{"GET", pathTo(id, "history"), nil},
				{"PATCH", pathTo(id), map[string]any{"title": "mine now"}},
				{"POST", pathTo(id, "events"), map[string]any{"event": "execute", "comment": "done"}},
				{"POST", pathTo(id, "events"), map[string]any{"event": "no_such_event"}},
			} {
				status, body := srv.do(t, tok, tc.method, tc.path, tc.body)
				if status != http.StatusNotFound || errorCode(body) != "not_found" {
					t.Errorf("%s %s %s: %d %v, want 404", user, tc.method, tc.path, status, body)
				}
			}
			_, list := srv.do(t, tok, http.MethodGet, "/api/v1/requests", nil)
			if n := len(list["items"].([]any)); n != 0 {
				t.Errorf("%s lists %d requests, want 0", user, n)
			}
		}
		// The unknown and the hidden request answer alike.
		_, hidden := srv.do(t, srv.login(t, "ng.officer"), http.MethodGet, pathTo(id), nil)
		_, missing := srv.do(t, srv.login(t, "ng.officer"), http.MethodGet, pathTo("nosuchrequest"), nil)
		if hidden["error"].(map[string]any)["message"] != missing["error"].(map[string]any)["message"] {
			t.Errorf("hidden %v and missing %v answer differently", hidden, missing)
		}
	})
}

// TestAccess_draftsStayHome: the requested side sees nothing of a draft.
func TestAccess_draftsStayHome(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		r := srv.newDraft(t)
		id := r["id"].(string)
		es := srv.login(t, "es.supervisor")
		for _, path := range []string{pathTo(id), pathTo(id, "history")} {
			status, body := srv.do(t, es, http.MethodGet, path, nil)
			wantError(t, status, body, http.StatusNotFound, "not_found")
		}
		status, body := srv.do(t, es, http.MethodPatch, pathTo(id), map[string]any{"title": "x"})
		wantError(t, status, body, http.StatusNotFound, "not_found")
		_, list := srv.do(t, es, http.MethodGet, "/api/v1/requests", nil)
		if n := len(list["items"].([]any)); n != 0 {
			t.Fatalf("es lists %d requests, want 0", n)
		}
		srv.fire(t, "it.supervisor", id, workflow.EventSend)
		if status, _ := srv.do(t, es, http.MethodGet, pathTo(id), nil); status != http.StatusOK {
			t.Fatalf("after send: %d, want 200", status)
		}
	})
}

// TestAccess_adminAndTrainer: no case contents, but the admin reads the
// audit log.
func TestAccess_adminAndTrainer(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		r := srv.requestIn(t, workflow.StateSent)
		id := r["id"].(string)
		for _, user := range []string{"admin", "trainer"} {
			tok := srv.login(t, user)
			_, list := srv.do(t, tok, http.MethodGet, "/api/v1/requests", nil)
			if items := list["items"].([]any); len(items) != 0 || list["next_cursor"] != nil {
				t.Errorf("%s lists %v", user, list)
			}
			status, body := srv.do(t, tok, http.MethodGet, pathTo(id), nil)
			wantError(t, status, body, http.StatusNotFound, "not_found")
			status, body = srv.do(t, tok, http.MethodPost, "/api/v1/requests",
				map[string]any{"kind": "mla", "requested_authority": "ES", "title": "x"})
			wantError(t, status, body, http.StatusForbidden, "forbidden")
			status, me := srv.do(t, tok, http.MethodGet, "/api/v1/me", nil)
			if status != http.StatusOK || me["authority"] != nil || me["role"] != user {
				t.Errorf("%s /me: %d %v", user, status, me)
			}
		}
		status, audit := srv.do(t, srv.login(t, "admin"), http.MethodGet, "/api/v1/audit", nil)
		if status != http.StatusOK || len(audit["items"].([]any)) == 0 {
			t.Fatalf("admin /audit: %d %v", status, audit)
		}
		status, body := srv.do(t, srv.login(t, "trainer"), http.MethodGet, "/api/v1/audit", nil)
		wantError(t, status, body, http.StatusForbidden, "forbidden")
	})
}

// TestAccess_audit: auditors read their authority's entries only; officers
// and supervisors none.
func TestAccess_audit(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		srv.requestIn(t, workflow.StateAcknowledged) // IT and ES act
		for _, user := range []string{"it.officer", "it.supervisor", "es.officer"} {
			status, body := srv.do(t, srv.login(t, user), http.MethodGet, "/api/v1/audit", nil)
			wantError(t, status, body, http.StatusForbidden, "forbidden")
		}
		for _, tc := range []struct {
			user, authority string
			wantSome        bool
		}{{"it.auditor", "IT", true}, {"es.auditor", "ES", true}, {"th.auditor", "TH", true}} {
			status, body := srv.do(t, srv.login(t, tc.user), http.MethodGet, "/api/v1/audit?limit=200", nil)
			if status != http.StatusOK {
				t.Fatalf("%s: %d %v", tc.user, status, body)
			}
			items := body["items"].([]any)
			if tc.wantSome && len(items) == 0 {
				t.Errorf("%s sees no entries", tc.user)
			}
			for _, it := range items {
				if a := it.(map[string]any)["authority"]; a != tc.authority {
					t.Errorf("%s sees an entry of %v: %v", tc.user, a, it)
				}
			}
		}
		// The audit log's readers check the chain; for the others its count
		// and head would measure the platform's activity.
		for _, user := range []string{"it.auditor", "admin"} {
			status, v := srv.do(t, srv.login(t, user), http.MethodGet, "/api/v1/audit/verify", nil)
			if status != http.StatusOK || v["ok"] != true || v["entries"].(float64) < 1 || text(v["head"]) == "" {
				t.Fatalf("verify as %s: %d %v", user, status, v)
			}
			if _, has := v["broken_at"]; has {
				t.Errorf("an intact chain reports broken_at: %v", v)
			}
		}
		for _, user := range []string{"it.officer", "es.supervisor", "trainer"} {
			status, body := srv.do(t, srv.login(t, user), http.MethodGet, "/api/v1/audit/verify", nil)
			wantError(t, status, body, http.StatusForbidden, "forbidden")
		}
	})
}
