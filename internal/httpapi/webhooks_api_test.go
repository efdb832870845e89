package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/webhook"
)

// TestWebhooks_API: the endpoints of CONTRACT 8 through the real router:
// who may make, see, delete and re-send webhooks, what is refused with
// which answer, the secret shown once, and every change and refusal in the
// audit log.
func TestWebhooks_API(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerWith(t, db, testworld.Options{})
		sup := srv.login(t, "it.supervisor")
		const public = "https://203.0.113.10/hooks?token=x"

		status, created := srv.do(t, sup, http.MethodPost, "/api/v1/webhooks", map[string]any{
			"url": public, "events": []string{"request.send", "request.acknowledge"}})
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, created)
		}
		id := text(created["id"])
		if !strings.HasPrefix(text(created["secret"]), "whsec_") || created["authority"] != "IT" || created["url"] != public {
			t.Errorf("created = %v", created)
		}

		refusals := []struct {
			name, user  string
			body        map[string]any
			status      int
			code, field string
		}{
			{"officer", "it.officer", map[string]any{"url": public, "events": []string{"*"}}, 403, "forbidden", ""},
			{"auditor", "it.auditor", map[string]any{"url": public, "events": []string{"*"}}, 403, "forbidden", ""},
			{"another authority", "it.supervisor", map[string]any{"url": public, "events": []string{"*"}, "authority": "ES"}, 403, "forbidden", ""},
			{"trainer", "trainer", map[string]any{"url": public, "events": []string{"*"}}, 403, "forbidden", ""},
			{"unknown action", "it.supervisor", map[string]any{"url": public, "events": []string{"request.explode"}}, 422, "validation_failed", "events"},
			{"no events", "it.supervisor", map[string]any{"url": public, "events": []string{}}, 422, "validation_failed", "events"},
			{"loopback", "it.supervisor", map[string]any{"url": "http://127.0.0.1:9/x", "events": []string{"*"}}, 422, "validation_failed", "url"},
			{"private", "it.supervisor", map[string]any{"url": "http://10.0.0.7/x", "events": []string{"*"}}, 422, "validation_failed", "url"},
			{"metadata", "it.supervisor", map[string]any{"url": "http://169.254.169.254/", "events": []string{"*"}}, 422, "validation_failed", "url"},
			{"scheme", "it.supervisor", map[string]any{"url": "gopher://203.0.113.10/", "events": []string{"*"}}, 422, "validation_failed", "url"},
			{"admin without authority", "admin", map[string]any{"url": public, "events": []string{"*"}}, 422, "validation_failed", "authority"},
			{"admin, no such authority", "admin", map[string]any{"url": public, "events": []string{"*"}, "authority": "ZZ"}, 422, "validation_failed", "authority"},
			{"unknown field", "it.supervisor", map[string]any{"url": public, "events": []string{"*"}, "secret": "mine"}, 400, "bad_request", ""},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, srv.login(t, tc.user), http.MethodPost, "/api/v1/webhooks", tc.body)
				wantError(t, status, body, tc.status, tc.code)
				if tc.field != "" && errorFields(body)[tc.field] == nil {
					t.Errorf("fields = %v, want %s", errorFields(body), tc.field)
				}
			})
		}

		status, adminMade := srv.do(t, srv.login(t, "admin"), http.MethodPost, "/api/v1/webhooks", map[string]any{
			"url": public, "events": []string{"*"}, "authority": "es"})
		if status != http.StatusCreated || adminMade["authority"] != "ES" {
			t.Fatalf("admin creates ES's: %d %v", status, adminMade)
		}

		list := func(user, query string) []any {
			t.Helper()
			status, body := srv.do(t, srv.login(t, user), http.MethodGet, "/api/v1/webhooks"+query, nil)
			if status != http.StatusOK {
				t.Fatalf("%s lists: %d %v", user, status, body)
			}
			items, _ := body["items"].([]any)
			for _, it := range items {
				if it.(map[string]any)["secret"] != nil {
					t.Errorf("a list shows a secret: %v", it)
				}
			}
			return items
		}
		if n := len(list("it.supervisor", "")); n != 1 {
			t.Errorf("IT lists %d webhooks, want 1", n)
		}
		if n := len(list("es.supervisor", "")); n != 1 {
			t.Errorf("ES lists %d webhooks, want 1", n)
		}
		if n := len(list("admin", "")); n != 2 {
			t.Errorf("admin lists %d webhooks, want 2", n)
		}
		if n := len(list("admin", "?authority=IT")); n != 1 {
			t.Errorf("admin lists %d of IT's, want 1", n)
		}
		status, body := srv.do(t, srv.login(t, "it.officer"), http.MethodGet, "/api/v1/webhooks", nil)
		wantError(t, status, body, 403, "forbidden")
		status, body = srv.do(t, sup, http.MethodGet, "/api/v1/webhooks?authority=ES", nil)
		wantError(t, status, body, 403, "forbidden")

		// Another authority's webhook does not exist for ES.
		es := srv.login(t, "es.supervisor")
		status, body = srv.do(t, es, http.MethodGet, "/api/v1/webhooks/"+id+"/deliveries", nil)
		wantError(t, status, body, 404, "not_found")
		status, body = srv.do(t, es, http.MethodDelete, "/api/v1/webhooks/"+id, nil)
		wantError(t, status, body, 404, "not_found")
		status, body = srv.do(t, srv.login(t, "it.officer"), http.MethodDelete, "/api/v1/webhooks/"+id, nil)
		wantError(t, status, body, 403, "forbidden")
		status, body = srv.do(t, sup, http.MethodPost, "/api/v1/webhooks/"+id+"/deliveries/nope/retry", nil)
		wantError(t, status, body, 404, "not_found")

		status, body = srv.do(t, sup, http.MethodGet, "/api/v1/webhooks/"+id+"/deliveries", nil)
		if status != http.StatusOK || len(body["items"].([]any)) != 0 {
			t.Errorf("deliveries: %d %v", status, body)
		}
		if status, _ := srv.do(t, sup, http.MethodDelete, "/api/v1/webhooks/"+id, nil); status != http.StatusNoContent {
			t.Errorf("delete: %d", status)
		}
		status, body = srv.do(t, sup, http.MethodDelete, "/api/v1/webhooks/"+id, nil)
		wantError(t, status, body, 404, "not_found")

		for _, want := range []struct{ action, outcome string }{
			{"webhook.create", "ok"}, {"webhook.create", "denied"}, {"webhook.delete", "ok"}, {"webhook.delete", "denied"},
		} {
			if entries := srv.auditPage(t, url.Values{"action": {want.action}, "outcome": {want.outcome}, "limit": {"1"}}); len(entries) != 1 {
				t.Errorf("no %s %s audit entry", want.action, want.outcome)
			}
		}
		entries := srv.auditPage(t, url.Values{"action": {"webhook.create"}, "outcome": {"ok"}, "limit": {"200"}})
		for _, e := range entries {
			if strings.Contains(text(e["details"]), "token=x") || strings.Contains(text(e["details"]), "whsec_") {
				t.Errorf("an audit entry holds the URL's query or the secret: %v", e["details"])
			}
		}
	})
}

// TestWebhooks_API_deliveriesAndRetry: a delivery parked dead shows its
// status, attempts and last error, and POST …/retry sends it again.
func TestWebhooks_API_deliveriesAndRetry(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerWith(t, db, testworld.Options{WebhookAllowPrivate: true})
		var fail atomic.Bool
		var hits atomic.Int32
		fail.Store(true)
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if fail.Load() {
				http.Error(w, "down for maintenance", http.StatusBadGateway)
				return
			}
			w.WriteHeader(http.StatusOK)
		}))
		defer rc.Close()
		sup := srv.login(t, "it.supervisor")
		status, created := srv.do(t, sup, http.MethodPost, "/api/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"*"}})
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, created)
		}
		path := "/api/v1/webhooks/" + text(created["id"]) + "/deliveries"
		srv.newDraft(t)
		w := webhook.NewWorker(srv.store, webhook.Options{AllowPrivate: true, MaxAttempts: 1, Window: 50 * time.Millisecond, Poll: 5 * time.Millisecond})
		deliveries := func() []any {
			t.Helper()
			status, body := srv.do(t, sup, http.MethodGet, path, nil)
			if status != http.StatusOK {
				t.Fatalf("deliveries: %d %v", status, body)
			}
			return body["items"].([]any)
		}
		waitFor := func(status string) map[string]any {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
				if err := w.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				if ds := deliveries(); len(ds) == 1 && ds[0].(map[string]any)["status"] == status {
					return ds[0].(map[string]any)
				}
			}
			t.Fatalf("no delivery became %s: %v", status, deliveries())
			return nil
		}
		dead := waitFor("dead")
		if dead["attempts"] != 1.0 || dead["last_status"] != 502.0 || !strings.Contains(text(dead["last_error"]), "502") ||
			dead["type"] != "request.create" || dead["next_attempt_at"] != nil {
			t.Errorf("dead delivery = %v", dead)
		}
		if text(dead["request_id"]) == "" {
			t.Errorf("the supervisor is not shown the request: %v", dead)
		}
		status, asAdmin := srv.do(t, srv.login(t, "admin"), http.MethodGet, path, nil)
		if items, _ := asAdmin["items"].([]any); status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["request_id"] != nil {
			t.Errorf("the admin's deliveries: %d %v, want the request_id null", status, asAdmin)
		}
		fail.Store(false)
		status, body := srv.do(t, sup, http.MethodPost, path+"/"+text(dead["id"])+"/retry", nil)
		if status != http.StatusOK || body["status"] != "pending" || body["attempts"] != 0.0 {
			t.Fatalf("retry: %d %v", status, body)
		}
		status, body = srv.do(t, sup, http.MethodPost, path+"/"+text(dead["id"])+"/retry", nil)
		wantError(t, status, body, 409, "conflict")
		status, body = srv.do(t, srv.login(t, "it.officer"), http.MethodPost, path+"/"+text(dead["id"])+"/retry", nil)
		wantError(t, status, body, 403, "forbidden")
		done := waitFor("delivered")
		if done["delivered_at"] == nil || done["id"] != dead["id"] || hits.Load() != 2 {
			t.Errorf("delivered = %v after %d hits", done, hits.Load())
		}
		for _, outcome := range []string{"ok", "denied"} {
			if entries := srv.auditPage(t, url.Values{"action": {"webhook.retry"}, "outcome": {outcome}, "limit": {"1"}}); len(entries) != 1 {
				t.Errorf("no webhook.retry %s audit entry", outcome)
			}
		}
	})
}
