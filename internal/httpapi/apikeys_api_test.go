package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// createKey creates an API key as admin and returns the answer.
func (s *testServer) createKey(tb testing.TB, name string, role workflow.Role, authority string, expires time.Time) map[string]any {
	tb.Helper()
	status, body := s.do(tb, s.login(tb, "admin"), http.MethodPost, "/api/v1/api-keys", map[string]any{
		"name": name, "role": role, "authority": authority, "expires_at": expires.Format(time.RFC3339)})
	if status != http.StatusCreated {
		tb.Fatalf("create key %s: %d %v", name, status, body)
	}
	return body
}

// TestAPIKeys_administration: only the admin creates, lists and revokes
// keys; every field is checked, with the contract's error shape; the key
// is shown once, in the answer to its creation, and stored only as its
// SHA-256; creation and revocation are audited, refused attempts too.
func TestAPIKeys_administration(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		admin := srv.login(t, "admin")
		now := srv.clock.Now()
		month := now.Add(30 * 24 * time.Hour)
		valid := map[string]any{"name": "es-cms", "role": "supervisor", "authority": "ES", "expires_at": month.Format(time.RFC3339)}

		for _, user := range []string{"it.officer", "it.supervisor", "it.auditor", "trainer"} {
			tok := srv.login(t, user)
			status, body := srv.do(t, tok, http.MethodPost, "/api/v1/api-keys", valid)
			wantError(t, status, body, http.StatusForbidden, "forbidden")
			status, body = srv.do(t, tok, http.MethodGet, "/api/v1/api-keys", nil)
			wantError(t, status, body, http.StatusForbidden, "forbidden")
			status, body = srv.do(t, tok, http.MethodDelete, "/api/v1/api-keys/x", nil)
			wantError(t, status, body, http.StatusForbidden, "forbidden")
		}
		if denied := srv.auditPage(t, url.Values{"action": {"api_key.create"}}); len(denied) != 4 || denied[0]["outcome"] != "denied" {
			t.Fatalf("refused creations audited: %v", denied)
		}

		with := func(k string, v any) map[string]any {
			out := map[string]any{}
			for k, v := range valid {
				out[k] = v
			}
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
			return out
		}
		invalid := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"name missing", with("name", nil), "name"},
			{"name with spaces", with("name", "Spain CMS"), "name"},
			{"name too short", with("name", "es"), "name"},
			{"role admin", with("role", "admin"), "role"},
			{"role trainer", with("role", "trainer"), "role"},
			{"role unknown", with("role", "king"), "role"},
			{"authority missing", with("authority", nil), "authority"},
			{"authority unknown", with("authority", "XX"), "authority"},
			{"expiry missing", with("expires_at", nil), "expires_at"},
			{"expiry malformed", with("expires_at", "next week"), "expires_at"},
			{"expiry past", with("expires_at", now.Add(-time.Minute).Format(time.RFC3339)), "expires_at"},
			{"expiry now", with("expires_at", now.Format(time.RFC3339)), "expires_at"},
			{"expiry beyond a year", with("expires_at", now.AddDate(1, 1, 0).Format(time.RFC3339)), "expires_at"},
		}
		for _, tc := range invalid {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, admin, http.MethodPost, "/api/v1/api-keys", tc.body)
				wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
				if _, ok := errorFields(body)[tc.field]; !ok {
					t.Fatalf("fields %v, want %s", errorFields(body), tc.field)
				}
			})
		}
		status, body := srv.do(t, admin, http.MethodPost, "/api/v1/api-keys", `{"name":"x","extra":1}`)
		wantError(t, status, body, http.StatusBadRequest, "bad_request")

		rec := srv.raw(t, admin, http.MethodPost, "/api/v1/api-keys", valid, nil)
		if rec.Code != http.StatusCreated || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("create: %d %q %s", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
		}
		var key map[string]any
		mustJSON(t, rec.Body.Bytes(), &key)
		wantKeys(t, "created key", key, "id", "name", "actor", "role", "authority", "status", "created_at", "created_by",
			"expires_at", "revoked_at", "revoked_by", "last_used_at", "key")
		secret := text(key["key"])
		if !strings.HasPrefix(secret, "mla_") || len(secret) != 47 || key["actor"] != "key:es-cms" ||
			key["status"] != "active" || key["created_by"] != "admin" || !sameSecond(text(key["expires_at"]), month) {
			t.Fatalf("created: %v", key)
		}
		status, body = srv.do(t, admin, http.MethodPost, "/api/v1/api-keys", valid)
		wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")
		if _, ok := errorFields(body)["name"]; !ok {
			t.Fatalf("a taken name: %v", body)
		}

		// Listed without the key; stored as its SHA-256 only.
		status, list := srv.do(t, admin, http.MethodGet, "/api/v1/api-keys", nil)
		items, _ := list["items"].([]any)
		if status != http.StatusOK || len(items) != 1 {
			t.Fatalf("list: %d %v", status, list)
		}
		if _, shown := items[0].(map[string]any)["key"]; shown || strings.Contains(jsonText(list), secret) {
			t.Fatalf("the list shows the key: %v", list)
		}
		var row map[string]any
		if err := srv.store.DB().Raw("SELECT * FROM api_keys WHERE id = ?", key["id"]).Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(secret))
		if row["key_hash"] != hex.EncodeToString(sum[:]) {
			t.Fatalf("stored hash %v, want the key's SHA-256", row["key_hash"])
		}
		for col, v := range row {
			if s, ok := v.(string); ok && strings.Contains(s, secret[4:12]) {
				t.Fatalf("column %s holds the key: %q", col, s)
			}
		}

		// Revoked: 204, again 204 without a second entry; unknown 404.
		id := text(key["id"])
		if rec := srv.raw(t, admin, http.MethodDelete, "/api/v1/api-keys/"+id, nil, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
		}
		if rec := srv.raw(t, admin, http.MethodDelete, "/api/v1/api-keys/"+id, nil, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("revoke again: %d %s", rec.Code, rec.Body)
		}
		status, body = srv.do(t, admin, http.MethodDelete, "/api/v1/api-keys/nope", nil)
		wantError(t, status, body, http.StatusNotFound, "not_found")
		_, list = srv.do(t, admin, http.MethodGet, "/api/v1/api-keys", nil)
		item := list["items"].([]any)[0].(map[string]any)
		if item["status"] != "revoked" || item["revoked_by"] != "admin" || item["revoked_at"] == nil {
			t.Fatalf("revoked key listed as %v", item)
		}

		created2 := srv.auditPage(t, url.Values{"action": {"api_key.create"}})
		revoked := srv.auditPage(t, url.Values{"action": {"api_key.revoke"}})
		if len(created2) != 4+len(invalid)+1+1 || created2[0]["outcome"] != "denied" || created2[1]["outcome"] != "ok" {
			t.Fatalf("creations audited: %d %v", len(created2), created2[:2])
		}
		d := created2[1]["details"].(map[string]any)
		if d["key_id"] != id || d["name"] != "es-cms" || d["role"] != "supervisor" || d["authority"] != "ES" ||
			strings.Contains(jsonText(created2[1]), secret[4:12]) {
			t.Fatalf("creation entry %v", created2[1])
		}
		// One revocation (the second changed nothing), four refused.
		if len(revoked) != 5 || revoked[0]["actor"] != "admin" || revoked[0]["outcome"] != "ok" || revoked[1]["outcome"] != "denied" || revoked[0]["details"].(map[string]any)["key_id"] != id {
			t.Fatalf("revocation entries %v", revoked)
		}
	})
}

// mustJSON decodes b into v.
func mustJSON(tb testing.TB, b []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%v: %s", err, b)
	}
}

// TestAPIKeys_use: a key is a bearer credential that acts as a user of its
// role and authority, and every audit entry of what it does names it; an
// expired, revoked, malformed or unknown key is 401; the throttle answers
// 429 with Retry-After, and its refusal is audited once per window.
func TestAPIKeys_use(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		now := srv.clock.Now()
		sup := text(srv.createKey(t, "it-cms", workflow.RoleSupervisor, "IT", now.Add(48*time.Hour))["key"])
		aud := text(srv.createKey(t, "it-audit", workflow.RoleAuditor, "IT", now.Add(time.Hour))["key"])

		status, me := srv.do(t, sup, http.MethodGet, "/api/v1/me", nil)
		if status != http.StatusOK || me["username"] != "key:it-cms" || me["role"] != "supervisor" ||
			me["authority"].(map[string]any)["code"] != "IT" {
			t.Fatalf("me: %d %v", status, me)
		}
		status, draft := srv.do(t, sup, http.MethodPost, "/api/v1/requests", map[string]any{
			"kind": "mla", "requested_authority": "ES", "title": "Bank records, filed by a system"})
		if status != http.StatusCreated {
			t.Fatalf("draft by key: %d %v", status, draft)
		}
		id := text(draft["id"])
		status, sent := srv.do(t, sup, http.MethodPost, pathTo(id, "events"), map[string]any{"event": "send"})
		if status != http.StatusOK || sent["state"] != "sent" {
			t.Fatalf("send by key: %d %v", status, sent)
		}
		// The auditor's key reads and never writes; its refusal is audited
		// under its name too.
		if status, _ := srv.do(t, aud, http.MethodGet, pathTo(id), nil); status != http.StatusOK {
			t.Fatalf("auditor key reads: %d", status)
		}
		status, body := srv.do(t, aud, http.MethodPost, pathTo(id, "events"), map[string]any{"event": "withdraw", "comment": "x"})
		wantError(t, status, body, http.StatusForbidden, "forbidden")
		status, body = srv.do(t, aud, http.MethodGet, "/api/v1/api-keys", nil)
		wantError(t, status, body, http.StatusForbidden, "forbidden")

		entries := srv.auditPage(t, url.Values{"request_id": {id}})
		actions := map[string]string{}
		for _, e := range entries {
			actions[text(e["action"])+"/"+text(e["outcome"])] = text(e["actor"])
		}
		want := map[string]string{
			"request.create/ok": "key:it-cms", "request.send/ok": "key:it-cms", "request.withdraw/denied": "key:it-audit",
		}
		for k, v := range want {
			if actions[k] != v {
				t.Fatalf("entry %s by %q, want %q; all: %v", k, actions[k], v, actions)
			}
		}
		status, hist := srv.do(t, sup, http.MethodGet, pathTo(id, "history"), nil)
		if status != http.StatusOK || hist["items"].([]any)[0].(map[string]any)["actor"] != "key:it-cms" {
			t.Fatalf("history: %d %v", status, hist)
		}

		// Not a key: malformed, unknown, or a valid one with a letter
		// changed.
		flipped := sup[:10] + string(rune(sup[10])^1) + sup[11:]
		for _, bad := range []string{"mla_", "mla_short", "mla_" + strings.Repeat("A", 43), flipped, sup + "x"} {
			status, body := srv.do(t, bad, http.MethodGet, "/api/v1/me", nil)
			wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
		}

		// Expired: 401, and the refusal audited once in the window.
		srv.clock.Advance(time.Hour)
		srv.tokens = map[string]string{} // the access tokens expired too
		for range 3 {
			status, body := srv.do(t, aud, http.MethodGet, "/api/v1/me", nil)
			wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
		}
		uses := srv.auditPage(t, url.Values{"action": {"api_key.use"}})
		if len(uses) != 1 || uses[0]["actor"] != "key:it-audit" || uses[0]["outcome"] != "denied" ||
			uses[0]["details"].(map[string]any)["reason"] != "expired" {
			t.Fatalf("expired uses audited: %v", uses)
		}
		_, list := srv.do(t, srv.login(t, "admin"), http.MethodGet, "/api/v1/api-keys", nil)
		for _, it := range list["items"].([]any) {
			k := it.(map[string]any)
			if k["name"] == "it-audit" && (k["status"] != "expired" || k["last_used_at"] == nil) {
				t.Fatalf("expired key listed as %v", k)
			}
		}
	})
}

// TestAPIKeys_throttle: beyond its limit in a window a key gets 429
// rate_limited with Retry-After until the window ends; the first refusal
// of the window is audited, not every one.
func TestAPIKeys_throttle(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		base := newTestServerOn(t, db)
		logger := slog.New(slog.DiscardHandler)
		tokens, err := auth.NewTokens(testworld.Secret, 0, base.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		a := auth.NewAuthenticator(base.store, tokens, auth.NewHasher(bcrypt.MinCost), base.clock.Now, logger,
			auth.WithAPIKeyLimit(auth.APIKeyLimit{Uses: 3, Window: time.Minute}))
		srv := &testServer{handler: New(Deps{Workflow: base.wf, Auth: a, Logger: logger}), store: base.store, wf: base.wf,
			auth: a, clock: base.clock, logs: base.logs, tokens: map[string]string{}}
		// Start at a window's beginning, so that the test knows when it ends.
		toNextMinute(base.clock)
		key := text(srv.createKey(t, "es-poller", workflow.RoleOfficer, "ES", base.clock.Now().Add(24*time.Hour))["key"])
		for i := range 3 {
			if status, body := srv.do(t, key, http.MethodGet, "/api/v1/requests", nil); status != http.StatusOK {
				t.Fatalf("call %d: %d %v", i+1, status, body)
			}
		}
		base.clock.Advance(20 * time.Second)
		for range 2 {
			rec := srv.raw(t, key, http.MethodGet, "/api/v1/requests", nil, nil)
			var body map[string]any
			mustJSON(t, rec.Body.Bytes(), &body)
			wantError(t, rec.Code, body, http.StatusTooManyRequests, "rate_limited")
			if got := rec.Header().Get("Retry-After"); got != "40" {
				t.Fatalf("Retry-After %q, want 40", got)
			}
		}
		limited := srv.auditPage(t, url.Values{"action": {"api_key.use"}})
		if len(limited) != 1 || limited[0]["details"].(map[string]any)["reason"] != "rate_limited" || limited[0]["actor"] != "key:es-poller" {
			t.Fatalf("throttled uses audited: %v", limited)
		}
		base.clock.Advance(40 * time.Second)
		if status, body := srv.do(t, key, http.MethodGet, "/api/v1/requests", nil); status != http.StatusOK {
			t.Fatalf("next window: %d %v", status, body)
		}
	})
}

// TestAPIKeys_revokedOnEveryServer: two servers, each with its own
// authenticator and (on PostgreSQL) its own store over one database: a
// key revoked on one is refused by the other at its very next use, and
// the throttle counts the uses made on both.
func TestAPIKeys_revokedOnEveryServer(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		w := testworld.New(t, db, testworld.Options{})
		a := serverOver(t, w, w.Store)
		second := w.Store
		if db.Name == "postgres" {
			st, err := store.Open(context.Background(), store.Options{DSN: w.DSN, AuditKey: testworld.AuditKey})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			second = st
		}
		b := serverOver(t, w, second)
		toNextMinute(w.Clock)
		created := a.createKey(t, "th-cms", workflow.RoleOfficer, "TH", w.Clock.Now().Add(24*time.Hour))
		key := text(created["key"])
		for name, s := range map[string]*testServer{"a": a, "b": b} {
			if status, me := s.do(t, key, http.MethodGet, "/api/v1/me", nil); status != http.StatusOK || me["username"] != "key:th-cms" {
				t.Fatalf("server %s before revocation: %d %v", name, status, me)
			}
		}
		// Uses on both servers count toward one limit (4 made, limit 5).
		for _, s := range []*testServer{a, b} {
			s.do(t, key, http.MethodGet, "/api/v1/me", nil)
		}
		if status, _ := b.do(t, key, http.MethodGet, "/api/v1/me", nil); status != http.StatusOK {
			t.Fatalf("fifth use: %d", status)
		}
		if status, body := a.do(t, key, http.MethodGet, "/api/v1/me", nil); status != http.StatusTooManyRequests {
			t.Fatalf("sixth use across servers: %d %v, want 429", status, body)
		}
		w.Clock.Advance(time.Minute)

		if rec := a.raw(t, a.login(t, "admin"), http.MethodDelete, "/api/v1/api-keys/"+text(created["id"]), nil, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("revoke on a: %d %s", rec.Code, rec.Body)
		}
		for name, s := range map[string]*testServer{"b": b, "a": a} {
			status, body := s.do(t, key, http.MethodGet, "/api/v1/me", nil)
			wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
			if status != http.StatusUnauthorized {
				t.Fatalf("server %s accepts the revoked key", name)
			}
		}
		uses := a.auditPage(t, url.Values{"action": {"api_key.use"}})
		if len(uses) != 2 || uses[0]["details"].(map[string]any)["reason"] != "revoked" {
			t.Fatalf("refused uses audited: %v", uses)
		}
	})
}

// serverOver is an API server over st, with an authenticator of its own
// (limit of 5 uses a minute) on the world's clock.
func serverOver(tb testing.TB, w *testworld.World, st *store.Store) *testServer {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	tokens, err := auth.NewTokens(testworld.Secret, 0, w.Clock.Now)
	if err != nil {
		tb.Fatal(err)
	}
	a := auth.NewAuthenticator(st, tokens, auth.NewHasher(bcrypt.MinCost), w.Clock.Now, logger,
		auth.WithAPIKeyLimit(auth.APIKeyLimit{Uses: 5, Window: time.Minute}))
	wf := workflow.NewService(st, auth.NewPolicy(), workflow.WithClock(w.Clock.Now))
	return &testServer{handler: New(Deps{Workflow: wf, Auth: a, Logger: logger}), store: st, wf: wf, auth: a,
		clock: w.Clock, tokens: map[string]string{}}
}

// toNextMinute moves c to the start of the next minute, where a throttle
// window of a minute begins.
func toNextMinute(c *testkit.Clock) {
	now := c.Now()
	c.Advance(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
}

// sameSecond tells whether the API's time s is t, to the second.
func sameSecond(s string, t time.Time) bool {
	got, err := time.Parse(time.RFC3339, s)
	return err == nil && got.Equal(t.Truncate(time.Second))
}

// TestAPIKeys_sealed: a key row changed behind the server's back (another
// role or authority, a later expiry, a cleared revocation, a key hash of
// the writer's choosing inserted) lets nobody in, and is listed no more.
func TestAPIKeys_sealed(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		now := srv.clock.Now()
		tampering := []struct {
			name, sql string
		}{
			{"another role", "UPDATE api_keys SET role = 'supervisor' WHERE id = ?"},
			{"another authority", "UPDATE api_keys SET authority = 'IT' WHERE id = ?"},
			{"a later expiry", "UPDATE api_keys SET expires_at_us = expires_at_us + 1000000 WHERE id = ?"},
			{"revocation cleared", "UPDATE api_keys SET revoked_at_us = 0, revoked_by = '' WHERE id = ?"},
			{"a hash of the writer's choosing", "UPDATE api_keys SET key_hash = ? WHERE id = ?"},
		}
		for i, tc := range tampering {
			t.Run(tc.name, func(t *testing.T) {
				created := srv.createKey(t, "es-cms-"+strconv.Itoa(i), workflow.RoleOfficer, "ES", now.Add(time.Hour))
				key, id := text(created["key"]), text(created["id"])
				if status, _ := srv.do(t, key, http.MethodGet, "/api/v1/me", nil); status != http.StatusOK {
					t.Fatalf("before: %d", status)
				}
				args := []any{id}
				switch tc.name {
				case "revocation cleared":
					if rec := srv.raw(t, srv.login(t, "admin"), http.MethodDelete, "/api/v1/api-keys/"+id, nil, nil); rec.Code != http.StatusNoContent {
						t.Fatalf("revoke: %d", rec.Code)
					}
				case "a hash of the writer's choosing":
					key = "mla_" + strings.Repeat("B", 43)
					sum := sha256.Sum256([]byte(key))
					args = []any{hex.EncodeToString(sum[:]), id}
				}
				if err := srv.store.DB().Exec(tc.sql, args...).Error; err != nil {
					t.Fatal(err)
				}
				status, body := srv.do(t, key, http.MethodGet, "/api/v1/me", nil)
				wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
				_, list := srv.do(t, srv.login(t, "admin"), http.MethodGet, "/api/v1/api-keys", nil)
				if strings.Contains(jsonText(list), id) {
					t.Fatalf("the altered key is listed: %v", list)
				}
				if !strings.Contains(srv.logs.String(), "API KEY ROW ALTERED") {
					t.Fatal("the alteration is not logged")
				}
			})
		}
	})
}
