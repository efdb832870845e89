package isolation

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The webhooks (CONTRACT 8): an authority's webhooks are its supervisors'
// and the administrator's to manage, exist for nobody else (404; 403 for
// the authority's own other roles), and deliver only what the authority
// may see: each authority's one webhook, subscribed to everything before
// the fixture was built, has a delivery for exactly the fixture requests
// the authority sees, and the scan of every answer finds nothing of the
// others.

// webhookPages are the roles the webhooks pages exist for.
var webhookPages = []workflow.Role{"supervisor", "admin"}

// fixtureAuthorities are the authorities of the fixture.
var fixtureAuthorities = []string{"IT", "ES", "NG", "TH"}

// managesHooks: a supervisor manages their authority's webhooks, the
// administrator every authority's.
func managesHooks(a actor, authority string) bool {
	return a.role == workflow.RoleAdmin || (a.role == workflow.RoleSupervisor && a.authority == authority)
}

// subscribeWebhooks gives every authority one webhook to a receiver on
// loopback, subscribed to every action, as its supervisor.
func (w *world) subscribeWebhooks(t *testing.T, hooks *webhook.Service) {
	t.Helper()
	rc := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(rc.Close)
	w.hooks = map[string]string{}
	for _, code := range fixtureAuthorities {
		sup := w.users[lower(code)+".supervisor"].Actor()
		c, err := hooks.Create(context.Background(), sup, webhook.NewSubscription{URL: rc.URL + "/" + code, Events: []string{"*"}})
		if err != nil {
			t.Fatalf("webhook of %s: %v", code, err)
		}
		w.hooks[code] = c.ID
	}
}

// deliverWebhooks runs a delivery worker until every message of the
// fixture is delivered.
func (w *world) deliverWebhooks(t *testing.T) {
	t.Helper()
	wk := webhook.NewWorker(w.store, webhook.Options{AllowPrivate: true, Window: 50 * time.Millisecond, Poll: 5 * time.Millisecond})
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := wk.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, id := range w.hooks {
			ds, err := w.store.Deliveries(context.Background(), id, 100000)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if d.Status != webhook.StatusDelivered {
					pending++
				}
			}
		}
		cursor, err := w.store.WebhookCursor(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		last, err := w.store.OutboxAfter(context.Background(), cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		if pending == 0 && len(last) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fixture's webhooks: %d deliveries not delivered", pending)
		}
	}
}

func lower(code string) string {
	b := []byte(code)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// testWebhooks checks every webhooks endpoint and page as every actor.
func (w *world) testWebhooks(t *testing.T) {
	w.forEachActor(t, func(t *testing.T, s *session) {
		a := s.a
		// hookStatus is the answer to a about authority's webhook: the
		// page's role gate, then whether a may know it exists.
		hookStatus := func(ep *endpoint, authority string, ok int) int {
			switch {
			case a.role == anonymous && ep.web:
				return http.StatusSeeOther
			case a.role == anonymous:
				return http.StatusUnauthorized
			case ep.web && !slices.Contains(webhookPages, a.role):
				return http.StatusForbidden
			case managesHooks(a, authority):
				return ok
			case a.authority == authority:
				return http.StatusForbidden
			}
			return http.StatusNotFound
		}
		for _, code := range fixtureAuthorities {
			id := w.hooks[code]
			for _, c := range []struct {
				key, path string
				form      url.Values
				ok        int // the manager's answer
				managers  bool
			}{
				{"GET /api/v1/webhooks/:id/deliveries", "/api/v1/webhooks/" + id + "/deliveries", nil, http.StatusOK, true},
				{"GET /webhooks/:id", "/webhooks/" + id, nil, http.StatusOK, true},
				{"POST /api/v1/webhooks/:id/deliveries/:delivery/retry", "/api/v1/webhooks/" + id + "/deliveries/" + w.missing + "/retry", nil, http.StatusNotFound, true},
				{"POST /webhooks/:id/deliveries/:delivery/retry", "/webhooks/" + id + "/deliveries/" + w.missing + "/retry", url.Values{}, http.StatusNotFound, true},
				// A manager's delete would succeed: only the refused are sent.
				{"DELETE /api/v1/webhooks/:id", "/api/v1/webhooks/" + id, nil, 0, false},
				{"POST /webhooks/:id/delete", "/webhooks/" + id + "/delete", url.Values{}, 0, false},
			} {
				if !c.managers && managesHooks(a, code) {
					continue
				}
				ep := w.eps.get(t, c.key)
				ans := w.do(t, s, call{ep: ep, path: c.path, form: c.form})
				w.checkAnswer(t, c.key+" ("+code+"'s) as "+a.String(), ans, hookStatus(ep, code, c.ok))
				if c.key == "GET /api/v1/webhooks/:id/deliveries" && ans.status == http.StatusOK {
					w.checkDeliveries(t, a, code, ans)
				}
			}
		}
		manages := a.role == workflow.RoleAdmin || a.role == workflow.RoleSupervisor
		for _, c := range []struct {
			key, path string
			json      any
			form      url.Values
			ok        int
		}{
			{"GET /api/v1/webhooks", "/api/v1/webhooks", nil, nil, http.StatusOK},
			{"GET /webhooks", "/webhooks", nil, nil, http.StatusOK},
			// An action that does not exist: refused for all, 422 for
			// those who may make webhooks.
			{"POST /api/v1/webhooks", "/api/v1/webhooks", map[string]any{"url": "https://203.0.113.9/", "events": []string{"request.nope"}}, nil, http.StatusUnprocessableEntity},
			{"POST /webhooks", "/webhooks", nil, url.Values{"url": {"https://203.0.113.9/"}, "events": {"request.nope"}}, http.StatusUnprocessableEntity},
			{"DELETE /api/v1/webhooks/:id", "/api/v1/webhooks/" + w.missing, nil, nil, http.StatusNotFound},
			{"POST /webhooks/:id/delete", "/webhooks/" + w.missing + "/delete", nil, url.Values{}, http.StatusNotFound},
		} {
			ep := w.eps.get(t, c.key)
			ans := w.do(t, s, call{ep: ep, path: c.path, json: c.json, form: c.form})
			want := statusFor(ep, a, manages, c.ok)
			if !ep.web && c.key == "DELETE /api/v1/webhooks/:id" && a.role != anonymous {
				want = http.StatusNotFound // no such webhook, whoever asks
			}
			w.checkAnswer(t, c.key+" as "+a.String(), ans, want)
			if c.key == "GET /api/v1/webhooks" && ans.status == http.StatusOK {
				var body struct {
					Items []struct {
						ID, Authority string
					} `json:"items"`
				}
				if !decode(t, c.key, ans, &body) {
					continue
				}
				w.checks.Add(1)
				var got []string
				for _, it := range body.Items {
					got = append(got, it.Authority)
				}
				if want := []string{a.authority}; a.role != workflow.RoleAdmin && !slices.Equal(got, want) {
					t.Errorf("GET /api/v1/webhooks as %s lists the webhooks of %v, want %v", a, got, want)
				} else if a.role == workflow.RoleAdmin && len(got) != len(fixtureAuthorities) {
					t.Errorf("GET /api/v1/webhooks as %s lists %d webhooks, want %d", a, len(got), len(fixtureAuthorities))
				}
			}
		}
	})
	for code, id := range w.hooks {
		w.checks.Add(1)
		if _, err := w.store.Webhook(context.Background(), id); err != nil {
			t.Errorf("CHANGED: %s's webhook after refused deletes: %v", code, err)
		}
	}
}

// checkDeliveries: the deliveries of authority's webhook are about exactly
// the fixture requests it sees (the administrator is shown no request at
// all), each request's in the order of its changes.
func (w *world) checkDeliveries(t *testing.T, a actor, authority string, ans answer) {
	t.Helper()
	var body struct {
		Items []struct {
			RequestID string `json:"request_id"`
			Status    string `json:"status"`
		} `json:"items"`
	}
	if !decode(t, "deliveries", ans, &body) {
		return
	}
	got := map[string]bool{}
	for _, it := range body.Items {
		got[it.RequestID] = true
	}
	sup := actor{name: lower(authority) + ".supervisor", role: workflow.RoleSupervisor, authority: authority}
	for _, r := range w.requests {
		w.checks.Add(1)
		want := sees(sup, r) && a.role != workflow.RoleAdmin
		if got[r.id] != want {
			t.Errorf("%s's webhook, read by %s: delivered %s: %t, want %t", authority, a, r, got[r.id], want)
		}
	}
	if a.role == workflow.RoleAdmin && (len(got) > 1 || (len(got) == 1 && !got[""])) { // null reads as ""
		t.Errorf("%s's webhook, read by %s, names requests: %v", authority, a, got)
	}
}
