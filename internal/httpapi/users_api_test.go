package httpapi

import (
	"net/http"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
)

// TestUsers covers the added account administration: only the admin
// manages accounts; a disabled user is out at once, tokens included; role
// changes take effect at once; every change is audited without the
// password.
func TestUsers(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		admin := srv.login(t, "admin")

		for _, user := range []string{"it.officer", "it.auditor", "trainer"} {
			tok := srv.login(t, user)
			status, body := srv.do(t, tok, http.MethodGet, "/api/v1/users", nil)
			wantError(t, status, body, http.StatusForbidden, "forbidden")
			status, body = srv.do(t, tok, http.MethodPost, "/api/v1/users",
				map[string]any{"username": "evil", "role": "admin", "password": "long enough"})
			wantError(t, status, body, http.StatusForbidden, "forbidden")
		}

		status, list := srv.do(t, admin, http.MethodGet, "/api/v1/users", nil)
		if status != http.StatusOK || len(list["items"].([]any)) != 14 {
			t.Fatalf("list: %d %v", status, list)
		}
		wantKeys(t, "account", list["items"].([]any)[0].(map[string]any),
			"id", "username", "display_name", "role", "authority", "disabled", "created_at")

		status, created := srv.do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{
			"username": "es.clerk", "display_name": "Lucía Martín", "role": "officer", "authority": "ES", "password": "a long passphrase"})
		if status != http.StatusCreated || created["disabled"] != false || created["authority"].(map[string]any)["code"] != "ES" {
			t.Fatalf("create: %d %v", status, created)
		}
		id := created["id"].(string)
		status, body := srv.do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{
			"username": "es.clerk", "role": "officer", "authority": "ES", "password": "a long passphrase"})
		wantError(t, status, body, http.StatusConflict, "conflict")
		status, body = srv.do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{
			"username": "x", "role": "king", "password": "short"})
		wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")

		// The administrator chose the password: the clerk replaces it.
		clerk := srv.loginReplacing(t, "es.clerk", "a long passphrase", "the clerk's first passphrase")
		if status, _ := srv.do(t, clerk, http.MethodGet, "/api/v1/me", nil); status != http.StatusOK {
			t.Fatalf("new user /me: %d", status)
		}

		// Role change: the same token now acts as an auditor.
		status, changed := srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"role": "auditor"})
		if status != http.StatusOK || changed["role"] != "auditor" {
			t.Fatalf("change role: %d %v", status, changed)
		}
		status, body = srv.do(t, clerk, http.MethodPost, "/api/v1/requests", map[string]any{"kind": "mla", "requested_authority": "IT", "title": "x"})
		wantError(t, status, body, http.StatusForbidden, "forbidden")

		// Disabled: the unexpired token stops working at once.
		status, disabled := srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"disabled": true})
		if status != http.StatusOK || disabled["disabled"] != true {
			t.Fatalf("disable: %d %v", status, disabled)
		}
		status, body = srv.do(t, clerk, http.MethodGet, "/api/v1/me", nil)
		wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")

		// Re-enabled with a new password: the old one no longer works.
		status, _ = srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"disabled": false, "password": "another passphrase"})
		if status != http.StatusOK {
			t.Fatalf("enable and reset: %d", status)
		}
		status, body = srv.do(t, "", http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "es.clerk", "password": "the clerk's first passphrase"})
		wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
		srv.loginReplacing(t, "es.clerk", "another passphrase", "the clerk's own passphrase")

		// The admin cannot lock themselves out.
		_, me := srv.do(t, admin, http.MethodGet, "/api/v1/me", nil)
		for _, change := range []map[string]any{{"disabled": true}, {"role": "trainer"}} {
			status, body = srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+me["id"].(string), change)
			wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
		}
		for _, bad := range []map[string]any{{"role": "admin"}, {"role": "officer", "authority": nil}, {"authority": "ZZ"}, {"password": "short"}} {
			status, body = srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+id, bad)
			wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
		}
		status, body = srv.do(t, admin, http.MethodPatch, "/api/v1/users/nosuchuser", map[string]any{"disabled": true})
		wantError(t, status, body, http.StatusNotFound, "not_found")
		status, body = srv.do(t, admin, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"colour": "blue"})
		wantError(t, status, body, http.StatusBadRequest, "bad_request")

		// Audited, without the password.
		_, audit := srv.do(t, admin, http.MethodGet, "/api/v1/audit?action=user.update", nil)
		items := audit["items"].([]any)
		if len(items) != 3 {
			t.Fatalf("%d user.update entries, want 3: %v", len(items), items)
		}
		for _, it := range items {
			e := it.(map[string]any)
			if e["actor"] != "admin" || e["outcome"] != "ok" {
				t.Errorf("entry %v", e)
			}
			if d, ok := e["details"].(map[string]any); !ok || d["password"] != nil || d["password_hash"] != nil {
				t.Errorf("a password reached the audit log: %v", d)
			}
		}
	})
}
