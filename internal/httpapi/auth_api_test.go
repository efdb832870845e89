package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// jwtPart decodes part i (0 header, 1 payload) of a JWT.
func jwtPart(tb testing.TB, token string, i int) map[string]any {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("%q is no JWT", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		tb.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// sessionOf returns the "sid" claim of an access token.
func sessionOf(tb testing.TB, token string) string {
	tb.Helper()
	sid, _ := jwtPart(tb, token, 1)["sid"].(string)
	if sid == "" {
		tb.Fatalf("access token without sid")
	}
	return sid
}

// kidOf returns the key id in an access token's header.
func kidOf(tb testing.TB, token string) string {
	tb.Helper()
	kid, _ := jwtPart(tb, token, 0)["kid"].(string)
	return kid
}

// loginGrant logs the demo user in and returns the whole answer.
func (s *testServer) loginGrant(tb testing.TB, username string) map[string]any {
	tb.Helper()
	status, body := s.do(tb, "", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": username, "password": demo.Password})
	if status != http.StatusOK {
		tb.Fatalf("log in as %s: %d %v", username, status, body)
	}
	return body
}

// refresh posts a refresh token.
func (s *testServer) refresh(tb testing.TB, refreshToken string) (int, map[string]any) {
	tb.Helper()
	return s.do(tb, "", http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": refreshToken})
}

// me reports the status of GET /me with the token.
func (s *testServer) me(tb testing.TB, token string) int {
	tb.Helper()
	status, _ := s.do(tb, token, http.MethodGet, "/api/v1/me", nil)
	return status
}

func TestAuth_loginAnswer(t *testing.T) {
	srv := newTestServer(t)
	g := srv.loginGrant(t, "it.officer")
	for _, k := range []string{"access_token", "token_type", "expires_in", "user", "refresh_token", "refresh_expires_in"} {
		if _, ok := g[k]; !ok {
			t.Errorf("the log-in answer has no %s: %v", k, g)
		}
	}
	if g["token_type"] != "Bearer" || g["expires_in"] != float64(900) || g["refresh_expires_in"] != float64(8*3600) {
		t.Errorf("log-in answer %v", g)
	}
	rt, _ := g["refresh_token"].(string)
	if raw, err := base64.RawURLEncoding.DecodeString(rt); err != nil || len(raw) < 32 {
		t.Errorf("refresh token %q: want at least 256 random bits", rt)
	}
	if kidOf(t, g["access_token"].(string)) != auth.ConfiguredKeyID(srv.secret) {
		t.Errorf("access token header %v, want the key id", jwtPart(t, g["access_token"].(string), 0))
	}
	// Only its hash is stored (hex, as the store writes every hash).
	sum := sha256.Sum256([]byte(rt))
	for stored, want := range map[string]int64{hex.EncodeToString(sum[:]): 1, hex.EncodeToString([]byte(rt)): 0, rt: 0} {
		var n int64
		if err := srv.store.DB().Raw("SELECT count(*) FROM refresh_tokens WHERE token_hash = ?", stored).Scan(&n).Error; err != nil || n != want {
			t.Errorf("refresh tokens stored as %q: %d (%v), want %d", stored, n, err, want)
		}
	}
}

func TestAuth_refreshRotation(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		g := srv.loginGrant(t, "it.officer")
		access, refresh := g["access_token"].(string), g["refresh_token"].(string)

		srv.clock.Advance(10 * time.Minute)
		status, n := srv.refresh(t, refresh)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, n)
		}
		access2, refresh2 := n["access_token"].(string), n["refresh_token"].(string)
		if access2 == access || refresh2 == refresh || n["token_type"] != "Bearer" || n["expires_in"] != float64(900) ||
			n["refresh_expires_in"] != float64(8*3600) || n["user"].(map[string]any)["username"] != "it.officer" {
			t.Fatalf("refresh answer %v, want new tokens in the log-in's shape", n)
		}
		if sessionOf(t, access2) != sessionOf(t, access) {
			t.Fatal("the refreshed token belongs to another session")
		}
		if srv.me(t, access2) != http.StatusOK {
			t.Fatal("the refreshed access token is refused")
		}
		// The first access token expires as usual; the new one lives on.
		srv.clock.Advance(10 * time.Minute)
		if srv.me(t, access) != http.StatusUnauthorized || srv.me(t, access2) != http.StatusOK {
			t.Fatal("access tokens do not expire with their own lifetime")
		}
		status, n = srv.refresh(t, refresh2)
		if status != http.StatusOK {
			t.Fatalf("second refresh: %d %v", status, n)
		}
		entries := srv.auditPage(t, url.Values{"action": {"auth.refresh"}, "outcome": {"ok"}})
		if len(entries) != 2 || entries[0]["actor"] != "it.officer" || entries[0]["authority"] != "IT" ||
			entries[0]["details"].(map[string]any)["session_id"] != sessionOf(t, access) {
			t.Fatalf("refresh audit %v", entries)
		}
		for _, e := range entries {
			for k, v := range e["details"].(map[string]any) {
				if v == refresh || v == refresh2 {
					t.Fatalf("a refresh token is in the audit log, details[%s]", k)
				}
			}
		}
	})
}

func TestAuth_refreshReuseRevokesTheFamily(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		g := srv.loginGrant(t, "es.officer")
		_, n := srv.refresh(t, g["refresh_token"].(string))
		newest, newestAccess := n["refresh_token"].(string), n["access_token"].(string)
		other := srv.loginGrant(t, "es.officer") // another session of the same user

		// The first refresh token comes back: somebody holds a copy.
		status, body := srv.refresh(t, g["refresh_token"].(string))
		wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
		// Both the reused and the newest token are dead, and so is every
		// access token of the family.
		status, body = srv.refresh(t, newest)
		wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
		if srv.me(t, newestAccess) != http.StatusUnauthorized || srv.me(t, g["access_token"].(string)) != http.StatusUnauthorized {
			t.Fatal("an access token of the revoked family still works")
		}
		// The user's other session is untouched.
		if srv.me(t, other["access_token"].(string)) != http.StatusOK {
			t.Fatal("reuse in one session ended another")
		}
		if status, _ := srv.refresh(t, other["refresh_token"].(string)); status != http.StatusOK {
			t.Fatalf("refresh of the other session: %d", status)
		}

		denied := srv.auditPage(t, url.Values{"action": {"auth.refresh"}, "outcome": {"denied"}})
		if len(denied) != 2 {
			t.Fatalf("denied refreshes %v, want the reuse and the newest token", denied)
		}
		reuse, after := denied[1]["details"].(map[string]any), denied[0]["details"].(map[string]any)
		if reuse["reason"] != "reuse" || reuse["session_revoked"] != true || denied[1]["actor"] != "es.officer" || after["reason"] != "revoked" {
			t.Fatalf("denied entries %v", denied)
		}
	})
}

func TestAuth_refreshRefused(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		g := srv.loginGrant(t, "th.officer")
		tests := []struct {
			name       string
			body       any
			wantStatus int
			wantCode   string
		}{
			{"empty body", "", http.StatusBadRequest, "bad_request"},
			{"unknown field", map[string]string{"refresh_token": "x", "scope": "all"}, http.StatusBadRequest, "bad_request"},
			{"missing token", map[string]string{}, http.StatusUnprocessableEntity, "validation_failed"},
			{"malformed token", map[string]string{"refresh_token": "garbage"}, http.StatusUnauthorized, "unauthenticated"},
			{"unknown token", map[string]string{"refresh_token": strings.Repeat("A", 43)}, http.StatusUnauthorized, "unauthenticated"},
			{"an access token", map[string]string{"refresh_token": g["access_token"].(string)}, http.StatusUnauthorized, "unauthenticated"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, "", http.MethodPost, "/api/v1/auth/refresh", tc.body)
				wantError(t, status, body, tc.wantStatus, tc.wantCode)
			})
		}
		t.Run("expired", func(t *testing.T) {
			srv.clock.Advance(8*time.Hour + time.Second)
			status, body := srv.refresh(t, g["refresh_token"].(string))
			wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
			denied := srv.auditPage(t, url.Values{"action": {"auth.refresh"}, "outcome": {"denied"}, "limit": {"1"}})
			if len(denied) != 1 || denied[0]["details"].(map[string]any)["reason"] != "expired" {
				t.Fatalf("audit %v, want a denied refresh for expiry", denied)
			}
		})
	})
}

func TestAuth_logout(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)

		t.Run("ends_the_session_at_once", func(t *testing.T) {
			g := srv.loginGrant(t, "it.supervisor")
			access := g["access_token"].(string)
			if srv.me(t, access) != http.StatusOK {
				t.Fatal("not signed in")
			}
			rec := srv.raw(t, access, http.MethodPost, "/api/v1/auth/logout", nil, nil)
			if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
				t.Fatalf("log-out: %d %s, want 204 without a body", rec.Code, rec.Body.String())
			}
			if srv.me(t, access) != http.StatusUnauthorized {
				t.Fatal("the access token works after log-out")
			}
			status, body := srv.refresh(t, g["refresh_token"].(string))
			wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
			status, body = srv.do(t, access, http.MethodPost, "/api/v1/auth/logout", nil)
			wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
			entries := srv.auditPage(t, url.Values{"action": {"auth.logout"}, "limit": {"1"}})
			if len(entries) != 1 || entries[0]["actor"] != "it.supervisor" || entries[0]["outcome"] != "ok" ||
				entries[0]["details"].(map[string]any)["session_id"] != sessionOf(t, access) {
				t.Fatalf("log-out audit %v", entries)
			}
		})

		t.Run("with_a_refresh_token_of_another_session", func(t *testing.T) {
			a, b, c := srv.loginGrant(t, "ng.officer"), srv.loginGrant(t, "ng.officer"), srv.loginGrant(t, "ng.officer")
			stranger := srv.loginGrant(t, "ng.supervisor")
			status, body := srv.do(t, a["access_token"].(string), http.MethodPost, "/api/v1/auth/logout",
				map[string]string{"refresh_token": b["refresh_token"].(string)})
			if status != http.StatusNoContent {
				t.Fatalf("log-out: %d %v", status, body)
			}
			if srv.me(t, a["access_token"].(string)) != http.StatusUnauthorized || srv.me(t, b["access_token"].(string)) != http.StatusUnauthorized {
				t.Fatal("the named sessions are still live")
			}
			if srv.me(t, c["access_token"].(string)) != http.StatusOK {
				t.Fatal("an unnamed session ended")
			}
			// Another user's refresh token is ignored, not revoked.
			status, _ = srv.do(t, c["access_token"].(string), http.MethodPost, "/api/v1/auth/logout",
				map[string]string{"refresh_token": stranger["refresh_token"].(string)})
			if status != http.StatusNoContent || srv.me(t, stranger["access_token"].(string)) != http.StatusOK {
				t.Fatalf("a log-out with another user's refresh token: %d; that user's session must stay", status)
			}
		})

		t.Run("everywhere", func(t *testing.T) {
			a, b := srv.loginGrant(t, "th.auditor"), srv.loginGrant(t, "th.auditor")
			status, _ := srv.do(t, a["access_token"].(string), http.MethodPost, "/api/v1/auth/logout", map[string]any{"all": true})
			if status != http.StatusNoContent || srv.me(t, b["access_token"].(string)) != http.StatusUnauthorized {
				t.Fatalf("log-out everywhere: %d, other session still live", status)
			}
		})

		t.Run("refused", func(t *testing.T) {
			status, body := srv.do(t, "", http.MethodPost, "/api/v1/auth/logout", nil)
			wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
			tok := srv.loginGrant(t, "es.auditor")["access_token"].(string)
			status, body = srv.do(t, tok, http.MethodPost, "/api/v1/auth/logout", map[string]any{"everything": true})
			wantError(t, status, body, http.StatusBadRequest, "bad_request")
			status, body = srv.do(t, tok, http.MethodPost, "/api/v1/auth/logout", "{")
			wantError(t, status, body, http.StatusBadRequest, "bad_request")
			if srv.me(t, tok) != http.StatusOK {
				t.Fatal("a refused log-out ended the session")
			}
		})
	})
}

func TestAuth_disabledUser(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		g := srv.loginGrant(t, "es.supervisor")
		id := g["user"].(map[string]any)["id"].(string)
		admin := srv.login(t, "admin")
		if status, body := srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"disabled": true}); status != http.StatusOK {
			t.Fatalf("disable: %d %v", status, body)
		}
		status, body := srv.refresh(t, g["refresh_token"].(string))
		wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
		if srv.me(t, g["access_token"].(string)) != http.StatusUnauthorized {
			t.Fatal("a disabled user's access token works")
		}
		var revoked int64
		if err := srv.store.DB().Raw("SELECT count(*) FROM auth_sessions WHERE user_id = ? AND revoke_reason = 'user_disabled'", id).
			Scan(&revoked).Error; err != nil || revoked != 1 {
			t.Fatalf("%d sessions revoked for the disabled user (%v), want 1", revoked, err)
		}
		update := srv.auditPage(t, url.Values{"action": {"user.update"}, "limit": {"1"}})
		if len(update) != 1 || update[0]["details"].(map[string]any)["sessions_revoked"] != float64(1) {
			t.Fatalf("user.update audit %v, want sessions_revoked 1", update)
		}
		// Enabled again: the old session stays revoked; a new log-in works.
		srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"disabled": false})
		status, body = srv.refresh(t, g["refresh_token"].(string))
		wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
		srv.loginGrant(t, "es.supervisor")
	})
}

func TestAuth_passwordPolicy(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		admin := srv.login(t, "admin")
		tests := []struct {
			name, password, reason string
		}{
			{"too short", "short pass", "at least 12 characters"},
			{"too long", strings.Repeat("long words ", 7), "at most 72 bytes"},
			{"the user name", "it.registrar", "user name"},
			{"containing the user name", "I am IT.Registrar!", "user name"},
			{"common", "Password1234", "common"},
			{"common with a year", "sunshine2026!", "common"},
			{"a row of the keyboard", "qwertyuiopas", "common"},
			{"repetitive", "abababababab", "different characters"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{
					"username": "it.registrar", "role": "officer", "authority": "IT", "password": tc.password})
				wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
				if reason, _ := errorFields(body)["password"].(string); !strings.Contains(reason, tc.reason) {
					t.Fatalf("fields %v, want password: ...%s...", errorFields(body), tc.reason)
				}
			})
		}
		status, body := srv.do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{
			"username": "it.registrar", "role": "officer", "authority": "IT", "password": "lantern orchard velvet"})
		if status != http.StatusCreated {
			t.Fatalf("a good pass phrase: %d %v", status, body)
		}
		id := body["id"].(string)
		status, body = srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"password": "letmein12345"})
		wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
		// The demo users keep the contract's password.
		srv.loginGrant(t, "ng.auditor")
	})
}

func TestAuth_passwordResetEndsSessions(t *testing.T) {
	srv := newTestServer(t)
	admin := srv.login(t, "admin")
	status, body := srv.do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{
		"username": "es.clerk", "role": "officer", "authority": "ES", "password": "lantern orchard velvet"})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	id := body["id"].(string)
	tok := srv.loginReplacing(t, "es.clerk", "lantern orchard velvet", "the clerk's own words")
	if status, body := srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"password": "harbour tulip compass"}); status != http.StatusOK {
		t.Fatalf("reset: %d %v", status, body)
	}
	if srv.me(t, tok) != http.StatusUnauthorized {
		t.Fatal("a session survived the reset of its password")
	}
}

// TestAuth_passwordSetByAdminIsTemporary: a password the administrator set
// for an officer, by a reset or a new account, opens no session until the
// officer has replaced it, so the administrator cannot log in and act as
// the officer with it, and if they replace it themselves the officer's
// next log-in fails and the audit log shows the reset, by whom, and the
// change, from which address.
func TestAuth_passwordSetByAdminIsTemporary(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		admin := srv.login(t, "admin")
		status, body := srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+srv.userID(t, admin, "es.officer"), map[string]any{"password": "harbour tulip compass"})
		if status != http.StatusOK {
			t.Fatalf("reset: %d %v", status, body)
		}
		login := func(pw, newPw string) (int, map[string]any) {
			in := map[string]any{"username": "es.officer", "password": pw}
			if newPw != "" {
				in["new_password"] = newPw
			}
			return srv.do(t, "", http.MethodPost, "/api/v1/auth/login", in)
		}
		status, body = login("harbour tulip compass", "")
		wantError(t, status, body, http.StatusForbidden, "password_change_required")
		if errorFields(body)["new_password"] == nil {
			t.Errorf("fields %v, want new_password", errorFields(body))
		}
		status, body = login("wrong pass here", "lantern orchard velvet")
		wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
		for _, weak := range []string{"harbour tulip compass", "password1234", "short"} {
			status, body = login("harbour tulip compass", weak)
			wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
		}
		if status, body = login("harbour tulip compass", "lantern orchard velvet"); status != http.StatusOK {
			t.Fatalf("log in replacing the temporary password: %d %v", status, body)
		}
		if status, _ = login("harbour tulip compass", ""); status != http.StatusUnauthorized {
			t.Errorf("the temporary password after its replacement: %d, want 401", status)
		}
		if status, body = login("lantern orchard velvet", ""); status != http.StatusOK {
			t.Errorf("the new password: %d %v", status, body)
		}

		status, body = srv.do(t, admin, http.MethodGet, "/api/v1/audit?action=user.update", nil)
		items, _ := body["items"].([]any)
		if status != http.StatusOK || len(items) != 1 {
			t.Fatalf("audit of the reset: %d %v", status, body)
		}
		reset := items[0].(map[string]any)
		d, _ := reset["details"].(map[string]any)
		if reset["actor"] != "admin" || d["username"] != "es.officer" || d["password_temporary"] != true || fmt.Sprint(d["changed"]) != "[password]" {
			t.Errorf("audit of the reset %v, want by admin, of es.officer, a temporary password", reset)
		}
		status, body = srv.do(t, admin, http.MethodGet, "/api/v1/audit?action=auth.login", nil)
		var changedAt []any
		items, _ = body["items"].([]any)
		for _, it := range items {
			e := it.(map[string]any)
			if d, _ := e["details"].(map[string]any); e["actor"] == "es.officer" && d["password_changed"] == true {
				changedAt = append(changedAt, d["client_ip"])
			}
		}
		if status != http.StatusOK || len(changedAt) != 1 || changedAt[0] == nil {
			t.Errorf("log-ins that changed the password: %v, want one, with its address", changedAt)
		}

		// A new account's first password is temporary too.
		status, body = srv.do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{
			"username": "es.newcomer", "role": "officer", "authority": "ES", "password": "lantern orchard velvet"})
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, body)
		}
		status, body = srv.do(t, "", http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "es.newcomer", "password": "lantern orchard velvet"})
		wantError(t, status, body, http.StatusForbidden, "password_change_required")
		_, body = srv.do(t, admin, http.MethodGet, "/api/v1/audit?action=user.create", nil)
		items, _ = body["items"].([]any)
		if d, _ := items[0].(map[string]any)["details"].(map[string]any); d["username"] != "es.newcomer" || d["password_temporary"] != true {
			t.Errorf("audit of the creation %v, want a temporary password", items[0])
		}

		// The administrator's own password is theirs: not temporary.
		if status, body = srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+srv.userID(t, admin, "admin"), map[string]any{"password": "a passphrase of my own"}); status != http.StatusOK {
			t.Fatalf("own reset: %d %v", status, body)
		}
		srv.loginWith(t, "admin", "a passphrase of my own")
	})
}

// userID finds the id of an account in the administrator's list.
func (s *testServer) userID(tb testing.TB, admin, username string) string {
	tb.Helper()
	_, body := s.do(tb, admin, http.MethodGet, "/api/v1/users", nil)
	items, _ := body["items"].([]any)
	for _, it := range items {
		if u := it.(map[string]any); u["username"] == username {
			return u["id"].(string)
		}
	}
	tb.Fatalf("no user %s in %v", username, body)
	return ""
}

// ringAPI is one more server over the test server's database, with its
// own key ring read from the database: two of them are two servers.
type ringAPI struct {
	*testServer
	ring *auth.KeyRing
}

func newRingAPI(tb testing.TB, base *testServer) ringAPI {
	tb.Helper()
	ring, err := auth.OpenKeyRing(context.Background(), base.store, auth.KeyRingOptions{Now: base.clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tokens, err := auth.NewRingTokens(ring, 0, base.clock.Now)
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := auth.NewAuthenticator(base.store, tokens, auth.NewHasher(bcrypt.MinCost), base.clock.Now, logger)
	wf := workflow.NewService(base.store, auth.NewPolicy(), workflow.WithClock(base.clock.Now))
	s := &testServer{
		handler: New(Deps{Workflow: wf, Auth: a, Logger: logger}), store: base.store, wf: wf, auth: a,
		clock: base.clock, logs: base.logs, tokens: map[string]string{},
	}
	return ringAPI{testServer: s, ring: ring}
}

func TestAuth_keyRotation(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		base := newTestServerOn(t, db)
		a, b := newRingAPI(t, base), newRingAPI(t, base)
		ctx := context.Background()

		before := a.loginGrant(t, "it.officer")["access_token"].(string)
		oldKid := kidOf(t, before)
		if !strings.HasPrefix(oldKid, "key-") || b.me(t, before) != http.StatusOK {
			t.Fatalf("server b refuses server a's token (kid %q)", oldKid)
		}

		k, err := a.ring.Rotate(ctx, workflow.Actor{Username: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		after := a.loginGrant(t, "it.officer")["access_token"].(string)
		if kidOf(t, after) != k.ID || k.ID == oldKid {
			t.Fatalf("new token signed by %q, want the new key %q", kidOf(t, after), k.ID)
		}
		// Nobody is logged out, and the other server knows the new key at
		// once.
		for name, s := range map[string]ringAPI{"a": a, "b": b} {
			if s.me(t, before) != http.StatusOK || s.me(t, after) != http.StatusOK {
				t.Fatalf("server %s: the old token %d, the new %d; want both accepted", name, s.me(t, before), s.me(t, after))
			}
		}
		if kid := kidOf(t, b.loginGrant(t, "es.officer")["access_token"].(string)); kid != k.ID {
			t.Fatalf("server b signs with %q after seeing the new key, want %q", kid, k.ID)
		}
		rotations := base.auditPage(t, url.Values{"action": {"auth.key_rotate"}})
		if len(rotations) != 1 || rotations[0]["actor"] != "cli" || rotations[0]["details"].(map[string]any)["kid"] != k.ID {
			t.Fatalf("rotation audit %v", rotations)
		}

		// A token is bound to its key id: the new key's secret under
		// another id, no id, or alg none is refused.
		secret := signingSecret(t, base.store, k.ID)
		claims := jwt.MapClaims(jwtPart(t, after, 1))
		forge := func(m jwt.SigningMethod, kid string, key any) string {
			return testkit.SignJWT(t, m, claims, key, kid)
		}
		if a.me(t, forge(jwt.SigningMethodHS256, k.ID, secret)) != http.StatusOK {
			t.Fatal("a token made like the server's is refused; the cases below would prove nothing")
		}
		for name, tok := range map[string]string{
			"unknown kid":      forge(jwt.SigningMethodHS256, "key-0123456789abcdef", secret),
			"the old kid":      forge(jwt.SigningMethodHS256, oldKid, secret),
			"no kid":           forge(jwt.SigningMethodHS256, "", secret),
			"alg none":         forge(jwt.SigningMethodNone, k.ID, jwt.UnsafeAllowNoneSignatureType),
			"HS512 of the key": forge(jwt.SigningMethodHS512, k.ID, secret),
		} {
			if status := b.me(t, tok); status != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", name, status)
			}
		}

		// The retired key verifies for its grace period, then nothing, even
		// a token it signed that has not expired.
		oldSecret := signingSecret(t, base.store, oldKid)
		fresh := func() string {
			now := base.clock.Now()
			claims["iat"], claims["nbf"], claims["exp"] = now.Unix(), now.Unix(), now.Add(10*time.Minute).Unix()
			return forge(jwt.SigningMethodHS256, oldKid, oldSecret)
		}
		if a.me(t, fresh()) != http.StatusOK {
			t.Fatal("the retired key's token is refused within the grace period")
		}
		base.clock.Advance(a.ring.Grace())
		if status := a.me(t, fresh()); status != http.StatusUnauthorized {
			t.Fatalf("a token of a key past its grace period: %d, want 401", status)
		}
		if a.me(t, a.loginGrant(t, "it.officer")["access_token"].(string)) != http.StatusOK {
			t.Fatal("the new key stopped working")
		}
	})
}

// signingSecret returns the secret of the signing key id, as a server with
// the audit key reads it (the database holds it sealed).
func signingSecret(t testing.TB, s auth.KeyStore, id string) []byte {
	t.Helper()
	keys, err := s.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == id && len(k.Secret) >= 32 {
			return k.Secret
		}
	}
	t.Fatalf("no secret of signing key %s among %d keys", id, len(keys))
	return nil
}
