package isolation

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// keyActors are the callers the API keys' check signs in with a key, one
// for each relation to the fixture (own: requesting; counterpart:
// requested; third) and each role a key may act as (auth.Policy.MayKeyActAs).
// Their names are what the audit log names them by.
var keyActors = []actor{
	{"key:it-officer", "officer", "IT"}, {"key:es-supervisor", "supervisor", "ES"},
	{"key:es-auditor", "auditor", "ES"}, {"key:ng-officer", "officer", "NG"},
}

// instant finds the API's times.
var instant = regexp.MustCompile(`"\d{4}-\d\d-\d\dT[0-9:.]+Z"`)

// testAPIKeys checks the API keys of CONTRACT 8: their endpoints and pages
// are the administrator's, and nobody else's, whatever the body; and a key
// sees and does exactly what a user of its role and authority sees and
// does: every per-request read and write of the API on every fixture
// request, every list, as the walk checks the demo users (a key of ES
// sees nothing of IT's drafts, a key of NG nothing of IT and ES), with
// each disclosure audited under the key's name. A revoked key is refused
// at once.
func (w *world) testAPIKeys(t *testing.T) {
	ctx := context.Background()
	w.forEachActor(t, func(t *testing.T, s *session) {
		a := s.a
		missing := "/api-keys/" + w.missing + "/revoke"
		for _, c := range []struct {
			key, path string
			json      any
			form      url.Values
			ok        int // the admin's answer
		}{
			{"GET /api/v1/api-keys", "/api/v1/api-keys", nil, nil, http.StatusOK},
			// A key may not act as admin; the refused text rides in the
			// expiry, which is never stored.
			{"POST /api/v1/api-keys", "/api/v1/api-keys", map[string]any{"name": "evil", "role": "admin", "authority": "IT", "expires_at": w.attempt}, nil, http.StatusUnprocessableEntity},
			{"DELETE /api/v1/api-keys/:id", "/api/v1/api-keys/" + w.missing, nil, nil, http.StatusNotFound},
			{"GET /api-keys", "/api-keys", nil, nil, http.StatusOK},
			{"POST /api-keys", "/api-keys", nil, url.Values{"name": {"evil"}, "role": {"admin"}, "expires_at": {w.attempt}}, http.StatusUnprocessableEntity},
			{"GET /api-keys/:id/revoke", missing, nil, nil, http.StatusNotFound},
			{"POST /api-keys/:id/revoke", missing, nil, nil, http.StatusNotFound},
		} {
			ep := w.eps.get(t, c.key)
			ans := w.do(t, s, call{ep: ep, path: c.path, json: c.json, form: c.form})
			w.checkAnswer(t, c.key+" ("+c.path+") as "+a.String(), ans, statusFor(ep, a, a.role == workflow.RoleAdmin, c.ok))
		}
	})
	admin := w.users["admin"].Actor()
	keys, err := w.auth.ListAPIKeys(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	w.checks.Add(1)
	if len(keys) != 0 {
		t.Fatalf("CHANGED: refused creations made keys: %+v", keys)
	}

	sessions := make([]*session, len(keyActors))
	ids := map[string]string{}
	for i, ka := range keyActors {
		k, secret, err := w.auth.CreateAPIKey(ctx, admin, auth.NewAPIKey{
			Name: strings.TrimPrefix(ka.name, auth.APIKeyActorPrefix), Role: ka.role, Authority: ka.authority,
			ExpiresAt: w.auth.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339),
		})
		if err != nil {
			t.Fatalf("create the key of %s: %v", ka, err)
		}
		sessions[i], ids[ka.name] = &session{a: ka, token: secret}, k.ID
	}

	// Before anything reads a thread: a key's lists are, byte for byte,
	// those of the demo user of its role and authority.
	list := w.eps.get(t, "GET /api/v1/requests")
	for _, s := range sessions {
		user := w.sessions[strings.ToLower(s.a.authority)+"."+string(s.a.role)]
		path := list.path + "?limit=200"
		got, want := w.do(t, s, call{ep: list, path: path}), w.do(t, user, call{ep: list, path: path})
		w.checks.Add(1)
		// A paused deadline's due time moves on with the clock: times
		// are not what this compares.
		g, u := instant.ReplaceAllString(string(got.body), "T"), instant.ReplaceAllString(string(want.body), "T")
		if got.status != http.StatusOK || g != u {
			t.Errorf("%s as %s: %d, unlike %s's answer %s", list.key(), s.a, got.status, user.a, firstDifference(g, u))
		}
	}

	counts, waiting := w.eps.get(t, "GET /api/v1/requests/counts"), w.eps.get(t, "GET /api/v1/requests/waiting")
	t.Run("keys", func(t *testing.T) {
		for _, s := range sessions {
			t.Run(s.a.name, func(t *testing.T) {
				t.Parallel()
				me := w.do(t, s, call{ep: w.eps.get(t, "GET /api/v1/me"), path: "/api/v1/me"})
				var body struct {
					Username, Role string
					Authority      struct{ Code string }
				}
				w.checks.Add(1)
				if me.status != http.StatusOK || json.Unmarshal(me.body, &body) != nil || body.Username != s.a.name ||
					body.Role != string(s.a.role) || body.Authority.Code != s.a.authority {
					t.Errorf("GET /api/v1/me as %s: %d %s", s.a, me.status, short(me.body))
				}
				for _, ep := range w.eps.ofClass(classRequestRead) {
					if !ep.web {
						w.perRequest(t, s, ep, readOps[ep.key()])
					}
				}
				for _, ep := range w.eps.ofClass(classRequestWrite) {
					if !ep.web {
						for _, op := range writeOps[ep.key()] {
							w.perRequest(t, s, ep, op)
						}
					}
				}
				w.apiLists(t, s, list, counts, waiting)
				for _, c := range []struct{ key, path string }{
					{"GET /api/v1/api-keys", "/api/v1/api-keys"},
					{"GET /api/v1/users", "/api/v1/users"},
				} {
					ep := w.eps.get(t, c.key)
					w.checkAnswer(t, c.key+" as "+s.a.String(), w.do(t, s, call{ep: ep, path: c.path}), http.StatusForbidden)
				}
			})
		}
	})

	// Revoked: refused from the next call on.
	revoked := sessions[0]
	del := w.eps.get(t, "DELETE /api/v1/api-keys/:id")
	w.checkAnswer(t, "revoke "+revoked.a.name, w.do(t, w.sessions["admin"], call{ep: del, path: "/api/v1/api-keys/" + ids[revoked.a.name]}), http.StatusNoContent)
	w.checkAnswer(t, "GET /api/v1/requests with the revoked key", w.do(t, revoked, call{ep: list, path: list.path}), http.StatusUnauthorized)
}
