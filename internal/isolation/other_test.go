package isolation

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// statusFor is the status of a route that is not about one request: the
// log-in redirect (pages) or 401 (API) without a sign-in, 403 for a role
// the route is not for, ok otherwise.
func statusFor(ep *endpoint, a actor, allowed bool, ok int) int {
	switch {
	case a.role == anonymous && !ep.public && ep.web:
		return http.StatusSeeOther
	case a.role == anonymous && !ep.public:
		return http.StatusUnauthorized
	case !allowed:
		return http.StatusForbidden
	}
	return ok
}

func (w *world) checkAnswer(t *testing.T, what string, ans answer, want int) {
	t.Helper()
	w.checks.Add(1)
	if ans.status != want {
		t.Errorf("%s: got %d, want %d\n%s", what, ans.status, want, short(ans.body))
	}
}

// testAdmin checks account administration: the administrator's, and no
// one else's, whatever the target; a refused change changes nothing; and
// the administrator's pages hold no case content (the scan).
func (w *world) testAdmin(t *testing.T) {
	ctx := context.Background()
	before, err := w.store.CountUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.forEachActor(t, func(t *testing.T, s *session) {
		a := s.a
		isAdmin := a.role == workflow.RoleAdmin
		// Everybody but the admin aims at their own account (a role
		// for oneself would be the escalation); the admin, whose every
		// change would succeed, at an account that does not exist.
		target, self := w.missing, w.users[a.name]
		if !isAdmin {
			target = self.ID
			if a.role == anonymous {
				self = w.users["it.officer"]
				target = self.ID
			}
		}
		missingUser := http.StatusNotFound
		// The admin sets Italy's completeness policy to what it is, so that
		// the fixture stays as built; everybody else tries to enforce it.
		policy := "enforced"
		if isAdmin {
			policy = "advisory"
		}
		for _, c := range []struct {
			key, path string
			json      any
			form      url.Values
			ok        int // the admin's answer
		}{
			{"GET /api/v1/users", "/api/v1/users", nil, nil, http.StatusOK},
			{"POST /api/v1/users", "/api/v1/users", map[string]any{"username": "x", "role": "admin", "password": w.attempt}, nil, http.StatusUnprocessableEntity},
			{"PATCH /api/v1/users/:id", "/api/v1/users/" + target, map[string]any{"role": "admin", "display_name": w.attempt}, nil, missingUser},
			{"GET /users", "/users", nil, nil, http.StatusOK},
			{"GET /users/:id", "/users/" + w.users["it.officer"].ID, nil, nil, http.StatusOK},
			{"POST /users", "/users", nil, url.Values{"username": {"x"}, "role": {"admin"}, "password": {w.attempt}}, http.StatusUnprocessableEntity},
			{"POST /users/:id/status", "/users/" + target + "/status", nil, url.Values{"disabled": {"true"}}, missingUser},
			{"POST /users/:id/password", "/users/" + target + "/password", nil, url.Values{"password": {w.attempt}}, missingUser},
			{"POST /users/:id/role", "/users/" + target + "/role", nil, url.Values{"role": {"admin"}}, missingUser},
			// CONTRACT.md section 5: the admin's; 403 for everyone else,
			// whatever the body and whichever the authority.
			{"PATCH /api/v1/authorities/:code", "/api/v1/authorities/IT", map[string]any{"completeness_policy": policy}, nil, http.StatusOK},
			{"PATCH /api/v1/authorities/:code", "/api/v1/authorities/" + cmp.Or(a.authority, "ES"), map[string]any{"completeness_policy": "strict"}, nil, http.StatusUnprocessableEntity},
			{"PATCH /api/v1/authorities/:code", "/api/v1/authorities/ES", map[string]any{}, nil, http.StatusUnprocessableEntity},
			{"PATCH /api/v1/authorities/:code", "/api/v1/authorities/XX", map[string]any{"completeness_policy": "enforced"}, nil, http.StatusNotFound},
			{"GET /authorities", "/authorities", nil, nil, http.StatusOK},
			{"POST /authorities/:code", "/authorities/XX", nil, url.Values{"completeness_policy": {"enforced"}}, http.StatusNotFound},
		} {
			ep := w.eps.get(t, c.key)
			ans := w.do(t, s, call{ep: ep, path: c.path, json: c.json, form: c.form})
			w.checkAnswer(t, c.key+" ("+c.path+") as "+a.String(), ans, statusFor(ep, a, isAdmin, c.ok))
		}
		w.authorityUpdates(t, a)
		if isAdmin {
			return
		}
		w.checks.Add(1)
		got, err := w.store.UserByID(context.Background(), self.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Role != self.Role || got.Disabled || got.DisplayName != self.DisplayName || got.PasswordHash != self.PasswordHash {
			t.Errorf("CHANGED: %s's refused account changes changed %s: %+v", a, self.Username, got)
		}
	})
	after, err := w.store.CountUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.checks.Add(1)
	if after != before {
		t.Errorf("CHANGED: %d accounts after refused creations, want %d", after, before)
	}
	authorities, err := w.wf.Authorities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, au := range authorities {
		w.checks.Add(1)
		if au.CompletenessPolicy != workflow.CompletenessAdvisory {
			t.Errorf("CHANGED: %s's completeness policy is %q after refused changes, want advisory", au.Code, au.CompletenessPolicy)
		}
	}
}

// authorityUpdates checks the audit log's record of a's changes of
// authorities' settings: the admin's one change, as authority.update with
// what it set; nobody else's, as none was made.
func (w *world) authorityUpdates(t *testing.T, a actor) {
	t.Helper()
	if a.role == anonymous {
		return
	}
	entries, _, err := w.store.AuditEntries(context.Background(), workflow.AuditFilter{
		Action: "authority.update", Actor: a.name, Outcome: "ok", Limit: workflow.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	w.checks.Add(1)
	switch {
	case a.role != workflow.RoleAdmin && len(entries) > 0:
		t.Errorf("CHANGED: %s changed an authority's settings: %+v", a, entries)
	case a.role == workflow.RoleAdmin && len(entries) != 1:
		t.Errorf("PATCH /api/v1/authorities/IT as %s: %d authority.update entries, want 1", a, len(entries))
	case a.role == workflow.RoleAdmin && entries[0].Details != `{"authority":"IT","completeness_policy":"advisory"}`:
		t.Errorf("PATCH /api/v1/authorities/IT as %s: audited with details %s, want the authority and the policy set", a, entries[0].Details)
	}
}

// testMeta checks the routes that hold no case data: every caller gets
// them (or the log-in), the code lists alike for all, and none of them
// holds a secret (the scan).
func (w *world) testMeta(t *testing.T) {
	shared := map[string]string{} // the code lists as it.officer reads them
	for _, path := range []string{"/api/v1/authorities", "/api/v1/workflows", "/api/v1/refusal-grounds", "/api/v1/measures", "/api/v1/instruments"} {
		ans := w.do(t, w.sessions["it.officer"], call{ep: w.eps.get(t, "GET "+path), path: path})
		shared[path] = string(ans.body)
	}
	w.forEachActor(t, func(t *testing.T, s *session) {
		a := s.a
		for _, c := range []struct{ key, path string }{
			{"GET /healthz", "/healthz"},
			{"GET /readyz", "/readyz"},
			{"GET /api/v1/me", "/api/v1/me"},
			{"GET /api/v1/authorities", "/api/v1/authorities"},
			{"GET /api/v1/workflows", "/api/v1/workflows"},
			{"GET /api/v1/refusal-grounds", "/api/v1/refusal-grounds"},
			{"GET /api/v1/measures", "/api/v1/measures"},
			{"GET /api/v1/instruments", "/api/v1/instruments"},
			{"GET /static/*", "/static/app.css"},
			{"GET /api/v1/openapi.json", "/api/v1/openapi.json"},
			{"GET /api/docs", "/api/docs"},
		} {
			ep := w.eps.get(t, c.key)
			ans := w.do(t, s, call{ep: ep, path: c.path})
			what := c.key + " as " + a.String()
			w.checkAnswer(t, what, ans, statusFor(ep, a, true, http.StatusOK))
			if want, ok := shared[c.path]; ok && ans.status == http.StatusOK && string(ans.body) != want {
				t.Errorf("%s: answers unlike to it.officer:\n%s\n--- it.officer:\n%s", what, short(ans.body), short([]byte(want)))
			}
			if c.path == "/api/v1/authorities" && ans.status == http.StatusOK {
				var list struct {
					Items []struct {
						Code               string `json:"code"`
						CompletenessPolicy string `json:"completeness_policy"`
					} `json:"items"`
				}
				if decode(t, what, ans, &list) {
					for _, au := range list.Items {
						if au.CompletenessPolicy != "advisory" && au.CompletenessPolicy != "enforced" {
							t.Errorf("%s: %s has completeness_policy %q, want advisory or enforced", what, au.Code, au.CompletenessPolicy)
						}
					}
				}
			}
			if c.path == "/api/v1/me" && ans.status == http.StatusOK {
				var me struct{ Username string }
				if err := json.Unmarshal(ans.body, &me); err != nil || me.Username != a.name {
					t.Errorf("%s: %s, want %s", what, ans.body, a.name)
				}
			}
		}
		// The log-in form sends a signed-in user home.
		ep := w.eps.get(t, "GET /login")
		want := http.StatusSeeOther
		if a.role == anonymous {
			want = http.StatusOK
		}
		w.checkAnswer(t, "GET /login as "+a.String(), w.do(t, s, call{ep: ep, path: "/login"}), want)

		// Log-out, on a session of its own, so that the shared one
		// lives on whatever log-out does to tokens.
		logout := w.eps.get(t, "POST /logout")
		own := &session{a: a}
		if a.role != anonymous {
			own.cookie, own.csrf = w.webSignIn(t, own, a.name)
		}
		ans := w.do(t, own, call{ep: logout, path: "/logout"})
		w.checkAnswer(t, "POST /logout as "+a.String(), ans, http.StatusSeeOther)
		if a.role != anonymous && cookieValue(ans.header, "mla_session") != "" {
			t.Errorf("POST /logout as %s: the session cookie stays", a)
		}
	})
}

// testCreate checks the drafting routes: officers and supervisors draft,
// always for their own authority, and nobody else sees the draft; the
// other roles are refused; no field names another requesting authority.
func (w *world) testCreate(t *testing.T) {
	api := w.eps.get(t, "POST /api/v1/requests")
	form := w.eps.get(t, "GET /requests/new")
	post := w.eps.get(t, "POST /requests/new")
	w.forEachActor(t, func(t *testing.T, s *session) {
		a := s.a
		other := requested
		if a.authority == requested {
			other = requesting
		}
		var created []string

		// The API: 201 with the caller's authority as the requesting one.
		what := api.key() + " as " + a.String()
		ans := w.do(t, s, call{ep: api, path: api.path, json: map[string]any{
			"kind": "mla", "requested_authority": other, "title": "Draft of " + a.name,
		}})
		w.checkAnswer(t, what, ans, statusFor(api, a, writes(a), http.StatusCreated))
		if ans.status == http.StatusCreated {
			var r struct {
				ID                  string `json:"id"`
				State               string `json:"state"`
				RequestingAuthority string `json:"requesting_authority"`
			}
			if decode(t, what, ans, &r) {
				if r.RequestingAuthority != a.authority || r.State != "drafted" {
					t.Errorf("%s: created %s in %s, want a draft of %s", what, r.RequestingAuthority, r.State, a.authority)
				}
				created = append(created, r.ID)
			}
		}
		// A body that names the requesting authority is refused: the
		// field is no input.
		ans = w.do(t, s, call{ep: api, path: api.path, json: map[string]any{
			"kind": "mla", "requested_authority": "NG", "requesting_authority": other, "title": "Forged by " + a.name,
		}})
		w.checkAnswer(t, api.key()+" naming requesting_authority as "+a.String(), ans, statusFor(api, a, true, http.StatusBadRequest))

		// The pages.
		w.checkAnswer(t, "GET /requests/new?kind=mla as "+a.String(),
			w.do(t, s, call{ep: form, path: "/requests/new?kind=mla"}), statusFor(form, a, writes(a), http.StatusOK))
		ans = w.do(t, s, call{ep: post, path: post.path, form: url.Values{
			"kind": {"mla"}, "requested_authority": {other}, "title": {"Page draft of " + a.name},
			"requesting_authority": {other}, "urgency": {"normal"},
		}})
		w.checkAnswer(t, "POST /requests/new as "+a.String(), ans, statusFor(post, a, writes(a), http.StatusSeeOther))
		if m := regexp.MustCompile(`^/requests/([0-9a-z]{26})`).FindStringSubmatch(ans.header.Get("Location")); ans.status == http.StatusSeeOther && m != nil {
			r, err := w.store.Request(context.Background(), m[1])
			if err != nil || r.RequestingAuthority != a.authority {
				t.Errorf("POST /requests/new as %s: created %+v (%v), want a draft of %s", a, r, err, a.authority)
			}
			created = append(created, m[1])
		}

		// Nobody outside the own authority sees the new drafts: they
		// answer as missing requests do.
		get := w.eps.get(t, "GET /api/v1/requests/:id")
		for _, id := range created {
			for _, o := range []string{"es.officer", "it.officer", "ng.officer"} {
				os := w.sessions[o]
				if os.a.authority == a.authority {
					continue
				}
				got := w.do(t, os, call{ep: get, path: "/api/v1/requests/" + id})
				missing := w.do(t, os, call{ep: get, path: "/api/v1/requests/" + w.missing})
				w.checks.Add(1)
				if normal(got, id) != normal(missing, w.missing) {
					t.Errorf("LEAK: %s's new draft, read by %s: answers unlike a missing request, %s", a, o, firstDifference(normal(got, id), normal(missing, w.missing)))
				}
			}
		}
	})
}

// testLog checks that the server's log, which operators read, holds no
// case content: no secret of any request, no person's date of birth, no
// text of a refused write.
func (w *world) testLog(t *testing.T) {
	w.checks.Add(1)
	log := w.logs.String()
	seen := map[string]bool{}
	for _, m := range findMarks(log) {
		if seen[m.text] {
			continue
		}
		seen[m.text] = true
		i := strings.Index(log, m.text)
		t.Errorf("LEAK: the server log holds case content (%s) %q: …%s…", m.field, m.text, log[max(0, i-200):min(len(log), i+100)])
	}
}

// testSessions checks refresh and log-out: each actor's own session only,
// on a fresh log-in (logging out the shared sessions would end them for
// the rest of the run); what a refresh answers carries no case content (the
// scan); without a session both are refused alike.
func (w *world) testSessions(t *testing.T) {
	refresh := w.eps.get(t, "POST /api/v1/auth/refresh")
	logout := w.eps.get(t, "POST /api/v1/auth/logout")
	login := w.eps.get(t, "POST /api/v1/auth/login")
	w.forEachActor(t, func(t *testing.T, s *session) {
		a := s.a
		if a.role == anonymous {
			w.checkAnswer(t, "refresh without a token as "+a.String(),
				w.do(t, s, call{ep: refresh, path: refresh.path, json: map[string]string{"refresh_token": "not-a-token"}}), http.StatusUnauthorized)
			w.checkAnswer(t, "log-out as "+a.String(), w.do(t, s, call{ep: logout, path: logout.path}), http.StatusUnauthorized)
			return
		}
		fresh := &session{a: a}
		ans := w.do(t, fresh, call{ep: login, path: login.path, json: map[string]string{"username": a.name, "password": demo.Password}})
		var tokens struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if ans.status != http.StatusOK || json.Unmarshal(ans.body, &tokens) != nil || tokens.RefreshToken == "" {
			t.Fatalf("log-in as %s: %d %s", a.name, ans.status, short(ans.body))
		}
		fresh.token = tokens.AccessToken
		ans = w.do(t, fresh, call{ep: refresh, path: refresh.path, json: map[string]string{"refresh_token": tokens.RefreshToken}})
		w.checkAnswer(t, "refresh as "+a.String(), ans, http.StatusOK)
		if json.Unmarshal(ans.body, &tokens) == nil && tokens.AccessToken != "" {
			fresh.token = tokens.AccessToken
		}
		w.checkAnswer(t, "log-out as "+a.String(), w.do(t, fresh, call{ep: logout, path: logout.path}), http.StatusNoContent)
		w.checkAnswer(t, "the shared session after another's log-out as "+a.String(),
			w.do(t, s, call{ep: w.eps.get(t, "GET /api/v1/me"), path: "/api/v1/me"}), http.StatusOK)
	})
}
