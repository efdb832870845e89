package httpapi

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"

	"github.com/golang-jwt/jwt/v5"
)

// TestErrors_body covers what a client can get wrong in a body: each case
// is refused with the contract's status and code, and changes nothing.
func TestErrors_body(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		officer := srv.login(t, "it.officer")
		draft := srv.newDraft(t)
		id := draft["id"].(string)
		huge := `{"kind":"mla","requested_authority":"ES","title":"x","summary":"` + strings.Repeat("a", MaxBody) + `"}`
		tests := []struct {
			name       string
			method     string
			path       string
			body       any
			wantStatus int
			wantCode   string
			wantField  string
		}{
			{"create: malformed JSON", "POST", "/api/v1/requests", `{"kind":"mla",`, 400, "bad_request", ""},
			{"create: not JSON", "POST", "/api/v1/requests", `kind=mla`, 400, "bad_request", ""},
			{"create: empty body", "POST", "/api/v1/requests", ``, 400, "bad_request", ""},
			{"create: an array", "POST", "/api/v1/requests", `[]`, 400, "bad_request", ""},
			{"create: two values", "POST", "/api/v1/requests", `{"kind":"mla"} {}`, 400, "bad_request", ""},
			{"create: trailing garbage", "POST", "/api/v1/requests", `{"kind":"mla"}x`, 400, "bad_request", ""},
			{"create: wrong type", "POST", "/api/v1/requests", `{"kind":"mla","requested_authority":"ES","title":42}`, 400, "bad_request", "title"},
			{"create: wrong list type", "POST", "/api/v1/requests", `{"kind":"mla","requested_authority":"ES","title":"x","offences":"fraud"}`, 400, "bad_request", "offences"},
			{"create: unknown field", "POST", "/api/v1/requests", `{"kind":"mla","requested_authority":"ES","title":"x","legal_bases":"UNTOC"}`, 400, "bad_request", "legal_bases"},
			{"create: missing fields", "POST", "/api/v1/requests", `{}`, 422, "validation_failed", "title"},
			{"create: missing kind", "POST", "/api/v1/requests", `{"requested_authority":"ES","title":"x"}`, 422, "validation_failed", "kind"},
			{"create: own authority", "POST", "/api/v1/requests", `{"kind":"mla","requested_authority":"IT","title":"x"}`, 422, "validation_failed", "requested_authority"},
			{"create: unknown authority", "POST", "/api/v1/requests", `{"kind":"mla","requested_authority":"FR","title":"x"}`, 422, "validation_failed", "requested_authority"},
			{"create: title too long", "POST", "/api/v1/requests", fmt.Sprintf(`{"kind":"mla","requested_authority":"ES","title":%q}`, strings.Repeat("t", 201)), 422, "validation_failed", "title"},
			{"create: bad due date", "POST", "/api/v1/requests", `{"kind":"mla","requested_authority":"ES","title":"x","due_date":"31/12/2026"}`, 422, "validation_failed", "due_date"},
			{"create: over 1 MiB", "POST", "/api/v1/requests", huge, 413, "too_large", ""},
			{"create: over 1 MiB without length", "POST", "/api/v1/requests", io.MultiReader(strings.NewReader(huge)), 413, "too_large", ""},
			{"create: JSON cut by the limit", "POST", "/api/v1/requests", io.MultiReader(strings.NewReader(huge[:MaxBody+10])), 413, "too_large", ""},
			{"patch: malformed", "PATCH", pathTo(id), `{"title":`, 400, "bad_request", ""},
			{"patch: wrong type", "PATCH", pathTo(id), `{"version":"1"}`, 400, "bad_request", "version"},
			{"patch: wrong type in optional", "PATCH", pathTo(id), `{"title":["a"]}`, 400, "bad_request", "title"},
			{"patch: unknown field", "PATCH", pathTo(id), `{"state":"sent"}`, 400, "bad_request", "state"},
			{"patch: kind", "PATCH", pathTo(id), `{"kind":"extradition"}`, 422, "validation_failed", "kind"},
			{"patch: null title", "PATCH", pathTo(id), `{"title":null}`, 422, "validation_failed", "title"},
			{"patch: blank title", "PATCH", pathTo(id), `{"title":"  "}`, 422, "validation_failed", "title"},
			{"patch: stale version", "PATCH", pathTo(id), `{"title":"y","version":99}`, 409, "version_conflict", ""},
			{"patch: over 1 MiB", "PATCH", pathTo(id), huge, 413, "too_large", ""},
			{"event: malformed", "POST", pathTo(id, "events"), `{"event":}`, 400, "bad_request", ""},
			{"event: wrong type", "POST", pathTo(id, "events"), `{"event":"send","grounds":"x"}`, 400, "bad_request", "grounds"},
			{"event: unknown field", "POST", pathTo(id, "events"), `{"event":"send","reason":"x"}`, 400, "bad_request", "reason"},
			{"event: missing event", "POST", pathTo(id, "events"), `{}`, 422, "validation_failed", "event"},
			{"event: unknown event", "POST", pathTo(id, "events"), `{"event":"approve"}`, 422, "validation_failed", "event"},
			{"event: empty body", "POST", pathTo(id, "events"), ``, 400, "bad_request", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, officer, tc.method, tc.path, tc.body)
				wantError(t, status, body, tc.wantStatus, tc.wantCode)
				if tc.wantField != "" && errorFields(body)[tc.wantField] == nil {
					t.Fatalf("fields %v, want %s", errorFields(body), tc.wantField)
				}
				if msg, _ := body["error"].(map[string]any)["message"].(string); msg == "" {
					t.Fatal("no message")
				}
			})
		}
		_, after := srv.do(t, officer, http.MethodGet, pathTo(id), nil)
		if after["version"] != draft["version"] || after["title"] != draft["title"] {
			t.Fatalf("bad input changed the draft: %v", after)
		}
		_, list := srv.do(t, officer, http.MethodGet, "/api/v1/requests", nil)
		if n := len(list["items"].([]any)); n != 1 {
			t.Fatalf("%d requests after refused creations, want 1", n)
		}
	})
}

// TestErrors_query covers bad query strings of the lists.
func TestErrors_query(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		officer := srv.login(t, "it.officer")
		admin := srv.login(t, "admin")
		tests := []struct {
			name  string
			token string
			path  string
			field string
		}{
			{"unknown parameter", officer, "/api/v1/requests?stat=sent", "stat"},
			{"unknown state", officer, "/api/v1/requests?state=open", "state"},
			{"one unknown state in a list", officer, "/api/v1/requests?state=sent,open", "state"},
			{"unknown kind", officer, "/api/v1/requests?kind=letter", "kind"},
			{"unknown direction", officer, "/api/v1/requests?direction=inbound", "direction"},
			{"limit zero", officer, "/api/v1/requests?limit=0", "limit"},
			{"limit too big", officer, "/api/v1/requests?limit=201", "limit"},
			{"limit not a number", officer, "/api/v1/requests?limit=ten", "limit"},
			{"limit twice", officer, "/api/v1/requests?limit=1&limit=2", "limit"},
			{"malformed cursor", officer, "/api/v1/requests?cursor=%21%21%21", ""},
			{"cursor of another list", officer, "/api/v1/requests?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("a:5")), ""},
			{"malformed query", officer, "/api/v1/requests?state=%zz", ""},
			{"audit: unknown parameter", admin, "/api/v1/audit?user=x", "user"},
			{"audit: bad outcome", admin, "/api/v1/audit?outcome=maybe", "outcome"},
			{"audit: bad limit", admin, "/api/v1/audit?limit=-1", "limit"},
			{"audit: malformed cursor", admin, "/api/v1/audit?cursor=zzzz", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, tc.token, http.MethodGet, tc.path, nil)
				wantError(t, status, body, http.StatusBadRequest, "bad_request")
				if tc.field != "" && errorFields(body)[tc.field] == nil {
					t.Fatalf("fields %v, want %s", errorFields(body), tc.field)
				}
			})
		}
	})
}

// TestErrors_tokens covers every way of not being signed in.
func TestErrors_tokens(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		valid := srv.login(t, "it.officer")
		now := srv.clock.Now()
		sid := sessionOf(t, valid)
		claims := func(f func(jwt.MapClaims)) jwt.MapClaims {
			_, body := srv.do(t, valid, http.MethodGet, "/api/v1/me", nil)
			c := jwt.MapClaims{"iss": "mla-flow", "aud": "mla-flow-api", "sub": body["id"], "jti": "x", "sid": sid,
				"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}
			f(c)
			return c
		}
		kid := auth.ConfiguredKeyID(srv.secret)
		signKid := func(m jwt.SigningMethod, c jwt.MapClaims, key any, kid string) string {
			return testkit.SignJWT(t, m, c, key, kid)
		}
		sign := func(m jwt.SigningMethod, c jwt.MapClaims, key any) string { return signKid(m, c, key, kid) }
		same := func(jwt.MapClaims) {}
		if s := sign(jwt.SigningMethodHS256, claims(same), srv.secret); srv.raw(t, s, "GET", "/api/v1/me", nil, nil).Code != 200 {
			t.Fatal("a token made like the server's is refused; the cases below would prove nothing")
		}
		parts := strings.Split(valid, ".")
		tests := []struct {
			name   string
			header string
		}{
			{"no header", ""},
			{"no scheme", valid},
			{"basic scheme", "Basic " + valid},
			{"garbage", "Bearer garbage"},
			{"alg none", "Bearer " + sign(jwt.SigningMethodNone, claims(same), jwt.UnsafeAllowNoneSignatureType)},
			{"HS384", "Bearer " + sign(jwt.SigningMethodHS384, claims(same), srv.secret)},
			{"forged with another key", "Bearer " + sign(jwt.SigningMethodHS256, claims(same), []byte("not the server's secret, but long enough"))},
			{"tampered", "Bearer " + parts[0] + "." + parts[1] + "x." + parts[2]},
			{"expired", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }), srv.secret)},
			{"no expiry", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "exp") }), srv.secret)},
			{"wrong audience", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["aud"] = "other" }), srv.secret)},
			{"unknown user", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["sub"] = "nobody" }), srv.secret)},
			{"no key id", "Bearer " + signKid(jwt.SigningMethodHS256, claims(same), srv.secret, "")},
			{"unknown key id", "Bearer " + signKid(jwt.SigningMethodHS256, claims(same), srv.secret, "key-00000000000000ff")},
			{"alg none with the key id", "Bearer " + sign(jwt.SigningMethodNone, claims(same), jwt.UnsafeAllowNoneSignatureType)},
			{"no session", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "sid") }), srv.secret)},
			{"unknown session", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["sid"] = "no-such-session" }), srv.secret)},
			{"another user's session", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["sid"] = sessionOf(t, srv.login(t, "es.officer")) }), srv.secret)},
		}
		for _, tc := range tests {
			for _, path := range []string{"/api/v1/me", "/api/v1/requests", "/api/v1/audit/verify"} {
				t.Run(tc.name+path, func(t *testing.T) {
					h := http.Header{}
					if tc.header != "" {
						h.Set("Authorization", tc.header)
					}
					rec := srv.raw(t, "", http.MethodGet, path, nil, h)
					if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"unauthenticated"`) {
						t.Fatalf("got %d %s, want 401 unauthenticated", rec.Code, rec.Body.String())
					}
					if rec.Header().Get("WWW-Authenticate") != "Bearer" {
						t.Fatalf("WWW-Authenticate %q, want Bearer", rec.Header().Get("WWW-Authenticate"))
					}
				})
			}
		}
		t.Run("expired by the clock", func(t *testing.T) {
			tok := srv.login(t, "es.officer")
			srv.clock.Advance(16 * time.Minute)
			defer srv.clock.Advance(-16 * time.Minute)
			status, body := srv.do(t, tok, http.MethodGet, "/api/v1/me", nil)
			wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
		})
	})
}

// TestLogin covers log-in answers, including the throttle.
func TestLogin(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		t.Run("ok", func(t *testing.T) {
			status, body := srv.do(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "it.officer", "password": "demo-pass"})
			if status != http.StatusOK || body["token_type"] != "Bearer" || body["expires_in"] != float64(900) || text(body["access_token"]) == "" {
				t.Fatalf("got %d %v", status, body)
			}
			user := body["user"].(map[string]any)
			authority := user["authority"].(map[string]any)
			if user["username"] != "it.officer" || user["role"] != "officer" || authority["code"] != "IT" ||
				authority["name"] != "Italy, Ministry of Justice" || text(user["display_name"]) == "" || text(user["id"]) == "" {
				t.Fatalf("user %v", user)
			}
			if _, leaked := user["password_hash"]; leaked {
				t.Fatal("the password hash is shown")
			}
		})
		tests := []struct {
			name       string
			body       any
			wantStatus int
			wantCode   string
			wantFields []string
		}{
			{"wrong password", map[string]string{"username": "it.officer", "password": "wrong-pass"}, 401, "unauthenticated", nil},
			{"unknown user", map[string]string{"username": "fr.officer", "password": "demo-pass"}, 401, "unauthenticated", nil},
			{"empty fields", map[string]string{"username": "", "password": ""}, 422, "validation_failed", []string{"username", "password"}},
			{"missing password", map[string]string{"username": "it.officer"}, 422, "validation_failed", []string{"password"}},
			{"unknown field", map[string]string{"username": "it.officer", "password": "demo-pass", "otp": "1"}, 400, "bad_request", nil},
			{"malformed", `{"username":`, 400, "bad_request", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, "", http.MethodPost, "/api/v1/auth/login", tc.body)
				wantError(t, status, body, tc.wantStatus, tc.wantCode)
				for _, f := range tc.wantFields {
					if errorFields(body)[f] == nil {
						t.Errorf("fields %v, want %s", errorFields(body), f)
					}
				}
			})
		}
		t.Run("same message for unknown user and wrong password", func(t *testing.T) {
			_, a := srv.do(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "it.officer", "password": "wrong-pass"})
			_, b := srv.do(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "wrong-pass"})
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatalf("answers differ: %v and %v", a, b)
			}
		})
		t.Run("throttle", func(t *testing.T) {
			wrong := map[string]string{"username": "th.officer", "password": "wrong-pass"}
			for range 10 {
				status, body := srv.do(t, "", http.MethodPost, "/api/v1/auth/login", wrong)
				wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")
			}
			rec := srv.raw(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "th.officer", "password": "demo-pass"}, nil)
			if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"rate_limited"`) {
				t.Fatalf("11th attempt: %d %s, want 429 rate_limited", rec.Code, rec.Body.String())
			}
			retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
			if err != nil || retry < 1 || retry > 15*60 {
				t.Fatalf("Retry-After %q, want 1..900 seconds", rec.Header().Get("Retry-After"))
			}
			// Another user from the same address is not locked out by this.
			if status, _ := srv.do(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "th.supervisor", "password": "demo-pass"}); status != http.StatusOK {
				t.Fatalf("another user: %d, want 200", status)
			}
			srv.clock.Advance(16 * time.Minute)
			defer srv.clock.Advance(-16 * time.Minute)
			if status, body := srv.do(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "th.officer", "password": "demo-pass"}); status != http.StatusOK {
				t.Fatalf("after the window: %d %v", status, body)
			}
		})
		t.Run("a stranger elsewhere cannot lock the user out", func(t *testing.T) {
			for range 12 {
				srv.loginFrom(t, "198.51.100.7", "es.auditor", "wrong-pass")
			}
			if rec := srv.loginFrom(t, "198.51.100.7", "es.auditor", "demo-pass"); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("the stranger's address: %d, want 429 with Retry-After", rec.Code)
			}
			if rec := srv.loginFrom(t, "192.0.2.44", "es.auditor", "demo-pass"); rec.Code != http.StatusOK {
				t.Fatalf("the real user at another address: %d %s, want 200", rec.Code, rec.Body.String())
			}
		})
		t.Run("guessing from many addresses is throttled", func(t *testing.T) {
			const home = "192.0.2.45"
			if rec := srv.loginFrom(t, home, "ng.auditor", "demo-pass"); rec.Code != http.StatusOK {
				t.Fatalf("log-in at home: %d", rec.Code)
			}
			for i := range auth.DefaultLimits.PerUsername {
				srv.loginFrom(t, fmt.Sprintf("198.51.%d.%d", 101+i/200, i%200), "ng.auditor", "wrong-pass")
			}
			rec := srv.loginFrom(t, "203.0.113.50", "ng.auditor", "demo-pass")
			if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"rate_limited"`) || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("a new address after %d failures from elsewhere: %d %s, want 429 rate_limited with Retry-After",
					auth.DefaultLimits.PerUsername, rec.Code, rec.Body.String())
			}
			if rec := srv.loginFrom(t, home, "ng.auditor", "demo-pass"); rec.Code != http.StatusOK {
				t.Fatalf("the address the user logged in from: %d, want 200", rec.Code)
			}
		})
		t.Run("throttle per address", func(t *testing.T) {
			// 50 failures from one address, spread over usernames so that no
			// username reaches its own limit.
			for i := range 50 {
				rec := srv.raw(t, "", http.MethodPost, "/api/v1/auth/login",
					map[string]string{"username": fmt.Sprintf("guess%d", i%6), "password": "x"}, nil)
				if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusTooManyRequests {
					t.Fatalf("attempt %d: %d", i, rec.Code)
				}
			}
			rec := srv.raw(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "ng.officer", "password": "demo-pass"}, nil)
			if rec.Code != http.StatusTooManyRequests {
				t.Fatalf("after 50 failures from one address: %d, want 429", rec.Code)
			}
			// X-Forwarded-For is not trusted by default: it does not dodge it.
			rec = srv.raw(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "ng.officer", "password": "demo-pass"},
				http.Header{"X-Forwarded-For": {"203.0.113.9"}})
			if rec.Code != http.StatusTooManyRequests {
				t.Fatalf("with an invented X-Forwarded-For: %d, want 429", rec.Code)
			}
		})
	})
}

// TestErrors_routes covers paths and methods that do not exist.
func TestErrors_routes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		tok := srv.login(t, "it.officer")
		tests := []struct {
			name, method, path, token string
			wantStatus                int
			wantCode                  string
		}{
			{"unknown path", "GET", "/api/v1/nothing", tok, 404, "not_found"},
			{"unknown path without token", "GET", "/api/v1/nothing", "", 404, "not_found"},
			{"unknown request", "GET", pathTo("01hzzzzzzzzzzzzzzzzzzzzzzz"), tok, 404, "not_found"},
			{"wrong method", "DELETE", pathTo("x"), tok, 405, "method_not_allowed"},
			{"wrong method on login", "GET", "/api/v1/auth/login", "", 405, "method_not_allowed"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, tc.token, tc.method, tc.path, nil)
				wantError(t, status, body, tc.wantStatus, tc.wantCode)
			})
		}
	})
}

// TestErrors_versionAndState covers stale versions and edits of sent
// requests.
func TestErrors_versionAndState(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		sup := srv.login(t, "it.supervisor")
		r := srv.newDraft(t)
		id := r["id"].(string)

		status, body := srv.do(t, sup, http.MethodPost, pathTo(id, "events"), map[string]any{"event": "send", "version": 7})
		wantError(t, status, body, http.StatusConflict, "version_conflict")
		status, body = srv.do(t, sup, http.MethodPost, pathTo(id, "events"), map[string]any{"event": "send", "version": r["version"]})
		if status != http.StatusOK || body["version"] != r["version"].(float64)+1 {
			t.Fatalf("send with the current version: %d %v", status, body)
		}
		status, body = srv.do(t, sup, http.MethodPatch, pathTo(id), map[string]any{"title": "new"})
		wantError(t, status, body, http.StatusConflict, "invalid_transition")
		// The requested side sees the sent request but may not edit it: 403.
		status, body = srv.do(t, srv.login(t, "es.supervisor"), http.MethodPatch, pathTo(id), map[string]any{"title": "new"})
		wantError(t, status, body, http.StatusForbidden, "forbidden")
		// An auditor of the requesting side may see it and never edit: 403.
		status, body = srv.do(t, srv.login(t, "it.auditor"), http.MethodPatch, pathTo(id), map[string]any{"title": "new"})
		wantError(t, status, body, http.StatusForbidden, "forbidden")
	})
}

// loginFrom logs in from the client address addr.
func (s *testServer) loginFrom(tb testing.TB, addr, username, password string) *httptest.ResponseRecorder {
	tb.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = addr + ":1234"
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}
