package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
)

// newKeyPattern finds the key on the page that creates it.
var newKeyPattern = regexp.MustCompile(`id="f-new-key"[^>]*>(mla_[A-Za-z0-9_-]{43})</textarea>`)

// TestAPIKeysPage: the administrator creates a key, sees it once on the
// answer (not cached, not in a URL), never again in the list; the errors
// come back next to the fields; a revocation asks first, then holds at
// once for the API. Nobody else has the page, the link or the form.
func TestAPIKeysPage(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	admin := app.as(t, "admin")
	admin.get("/").must(t, http.StatusOK).has(t, `href="/api-keys"`)
	admin.get("/api-keys").must(t, http.StatusOK).
		has(t, "API keys", "No API keys yet.", "Create a key", `type="date"`, `value="officer"`, `value="auditor"`).
		lacks(t, `<option value="admin"`, `<option value="trainer"`)

	in := time.Now().Add(40 * 24 * time.Hour).Format(time.DateOnly)
	bad := admin.post("/api-keys", url.Values{"name": {"Not OK"}, "role": {"admin"}, "authority": {""}, "expires_at": {"2001-01-01"}}).
		must(t, http.StatusUnprocessableEntity)
	bad.has(t, "There is a problem", `id="f-name-error"`, `id="f-role-error"`, `id="f-expires_at-error"`, `value="Not OK"`,
		"must be in the future").lacks(t, `id="f-new-key"`)

	created := admin.post("/api-keys", url.Values{"name": {"es-cms"}, "role": {"supervisor"}, "authority": {"ES"}, "expires_at": {in}}).
		must(t, http.StatusCreated)
	created.has(t, "New key for es-cms", "it is not shown again", "Copy it now")
	if created.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the page with the key may be cached: %q", created.header.Get("Cache-Control"))
	}
	m := newKeyPattern.FindStringSubmatch(created.body)
	if m == nil {
		t.Fatalf("no key on the page\n%s", created.body)
	}
	key := m[1]

	// The key works on the API, as the ES supervisor it was made for.
	req, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	if me := app.browser(t).do(req); me.status != http.StatusOK || !strings.Contains(me.body, `"username":"key:es-cms"`) {
		t.Fatalf("the key on the API: %d %s", me.status, me.body)
	}
	// But a key is no session: the pages do not take it as their cookie.
	cookieReq, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/inbox", nil)
	cookieReq.AddCookie(&http.Cookie{Name: "mla_session", Value: key})
	if p := app.browser(t).do(cookieReq); p.status != http.StatusSeeOther {
		t.Fatalf("a key as the session cookie: %d", p.status)
	}

	list := admin.get("/api-keys").must(t, http.StatusOK).has(t, "es-cms", "Supervisor, ES", "Active").lacks(t, key, `id="f-new-key"`)
	id := regexp.MustCompile(`/api-keys/([0-9a-z]+)/revoke`).FindStringSubmatch(list.body)
	if id == nil {
		t.Fatalf("no revoke link\n%s", list.body)
	}
	revokePath := "/api-keys/" + id[1] + "/revoke"
	admin.get(revokePath).must(t, http.StatusOK).has(t, "Revoke the key es-cms?", "cannot be restored", "Cancel")
	admin.post(revokePath, url.Values{"_csrf": {""}}).must(t, http.StatusForbidden)
	done := admin.post(revokePath, nil).must(t, http.StatusSeeOther)
	admin.get(done.location).must(t, http.StatusOK).has(t, "The API key has been revoked", "Revoked by admin")
	if me := app.browser(t).do(req); me.status != http.StatusUnauthorized {
		t.Fatalf("the revoked key on the API: %d", me.status)
	}
	admin.get(revokePath).must(t, http.StatusOK).has(t, "was revoked on")
	admin.get("/api-keys/nope/revoke").must(t, http.StatusNotFound)
	// The audit page reads the keys' entries in words, and never holds the
	// key.
	admin.get("/audit?action=api_key.create").must(t, http.StatusOK).has(t, "api_key.create", "API key", "es-cms", "Expires").lacks(t, key)
	admin.get("/audit?action=api_key.revoke").must(t, http.StatusOK).has(t, "api_key.revoke", "es-cms")
	admin.get("/audit?actor=key:es-cms").must(t, http.StatusOK)

	for _, user := range []string{"it.officer", "it.supervisor", "es.auditor", "trainer"} {
		b := app.as(t, user)
		b.get("/").must(t, http.StatusOK).lacks(t, `href="/api-keys"`)
		b.get("/api-keys").must(t, http.StatusForbidden).has(t, "Only the administrator manages API keys.")
		b.post("/api-keys", url.Values{"name": {"evil"}, "role": {"officer"}, "authority": {"IT"}, "expires_at": {in}}).
			must(t, http.StatusForbidden)
		b.get(revokePath).must(t, http.StatusForbidden)
		b.post(revokePath, nil).must(t, http.StatusForbidden)
	}
}
