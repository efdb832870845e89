package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// keysOf returns the sorted keys of a JSON object.
func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func wantKeys(tb testing.TB, what string, m map[string]any, keys ...string) {
	tb.Helper()
	sort.Strings(keys)
	if got := keysOf(m); !slices.Equal(got, keys) {
		tb.Fatalf("%s has keys %v, want %v", what, got, keys)
	}
}

func wantUTC(tb testing.TB, what string, v any) {
	tb.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") || time.Since(ts) > time.Hour {
		tb.Fatalf("%s = %v, want a recent RFC 3339 UTC time", what, v)
	}
}

// TestShapes checks every answer's JSON against CONTRACT.md section 4.
func TestShapes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		officer := srv.login(t, "it.officer")

		t.Run("request", func(t *testing.T) {
			status, r := srv.do(t, officer, http.MethodPost, "/api/v1/requests",
				map[string]any{"kind": "extradition", "requested_authority": "NG", "title": "Surrender of J. Doe"})
			if status != http.StatusCreated {
				t.Fatalf("%d %v", status, r)
			}
			wantKeys(t, "request", r, "id", "reference", "kind", "state", "version", "requesting_authority",
				"requested_authority", "title", "summary", "legal_basis", "offences", "measures", "urgency",
				"due_date", "created_at", "updated_at", "allowed_events",
				// CONTRACT 5:
				"instrument", "purpose", "requested_reference", "persons", "deadlines", "completeness",
				// added to the contract's request (docs/API.md):
				"urgency_reason", "person_sought", "warrant")
			wantKeys(t, "completeness", r["completeness"].(map[string]any), "complete", "missing")
			if r["instrument"] != nil || r["requested_reference"] != nil || r["completeness"].(map[string]any)["complete"] != false {
				t.Errorf("a bare extradition draft: instrument %v, requested_reference %v, completeness %v",
					r["instrument"], r["requested_reference"], r["completeness"])
			}
			year := time.Now().UTC().Format("2006")
			if ok, _ := regexp.MatchString(`^IT-EXT-`+year+`-\d{6}$`, r["reference"].(string)); !ok {
				t.Errorf("reference %v", r["reference"])
			}
			if r["state"] != "drafted" || r["version"] != float64(1) || r["requesting_authority"] != "IT" ||
				r["requested_authority"] != "NG" || r["summary"] != "" || r["legal_basis"] != "" || r["urgency"] != "normal" ||
				r["due_date"] != nil {
				t.Errorf("request %v", r)
			}
			for _, list := range []string{"offences", "measures", "allowed_events", "persons", "deadlines"} {
				if _, ok := r[list].([]any); !ok {
					t.Errorf("%s = %v, want an array", list, r[list])
				}
			}
			if len(r["allowed_events"].([]any)) != 0 {
				t.Errorf("an officer may fire %v at a draft, want nothing (send is the supervisor's)", r["allowed_events"])
			}
			wantUTC(t, "created_at", r["created_at"])
			wantUTC(t, "updated_at", r["updated_at"])

			id := r["id"].(string)
			status, r = srv.do(t, officer, http.MethodPatch, pathTo(id), map[string]any{
				"due_date": "2026-12-31", "offences": []string{"fraud"}, "kind": "extradition", "version": 1,
			})
			if status != http.StatusOK || r["due_date"] != "2026-12-31" || r["version"] != float64(2) {
				t.Fatalf("patch: %d %v", status, r)
			}
			status, r = srv.do(t, officer, http.MethodPatch, pathTo(id), map[string]any{"due_date": nil, "summary": "Fled in 2024"})
			if status != http.StatusOK || r["due_date"] != nil || r["summary"] != "Fled in 2024" ||
				r["title"] != "Surrender of J. Doe" || r["version"] != float64(3) {
				t.Fatalf("patch clearing due_date: %d %v", status, r)
			}
			status, r = srv.do(t, officer, http.MethodPatch, pathTo(id), map[string]any{})
			if status != http.StatusOK || r["version"] != float64(3) {
				t.Fatalf("empty patch: %d %v", status, r)
			}
			status, sup := srv.do(t, srv.login(t, "it.supervisor"), http.MethodGet, pathTo(id), nil)
			if status != http.StatusOK || !slices.Equal(sup["allowed_events"].([]any), []any{"send"}) {
				t.Fatalf("supervisor's allowed_events %v", sup["allowed_events"])
			}
		})

		t.Run("history", func(t *testing.T) {
			r := srv.requestIn(t, workflow.StateRefused)
			status, h := srv.do(t, officer, http.MethodGet, pathTo(r["id"].(string), "history"), nil)
			if status != http.StatusOK {
				t.Fatalf("%d %v", status, h)
			}
			wantKeys(t, "history", h, "items")
			items := h["items"].([]any)
			if len(items) != 2 {
				t.Fatalf("%d items, want 2", len(items))
			}
			send, refuse := items[0].(map[string]any), items[1].(map[string]any)
			wantKeys(t, "history item", send, "event", "from", "to", "actor", "authority", "at", "comment", "grounds", "documents")
			if send["event"] != "send" || send["from"] != "drafted" || send["to"] != "sent" || send["actor"] != "it.supervisor" ||
				send["authority"] != "IT" || send["comment"] != "as agreed by telephone" || len(send["grounds"].([]any)) != 0 {
				t.Errorf("send %v", send)
			}
			if refuse["event"] != "refuse" || refuse["authority"] != "ES" || refuse["comment"] != "" ||
				!slices.Equal(refuse["grounds"].([]any), []any{"dual_criminality"}) {
				t.Errorf("refuse %v", refuse)
			}
			wantUTC(t, "at", send["at"])
		})

		t.Run("list", func(t *testing.T) {
			_, l := srv.do(t, officer, http.MethodGet, "/api/v1/requests?limit=1", nil)
			wantKeys(t, "list", l, "items", "next_cursor")
			if _, ok := l["next_cursor"].(string); !ok {
				t.Errorf("next_cursor %v, want a string", l["next_cursor"])
			}
		})

		t.Run("me", func(t *testing.T) {
			_, me := srv.do(t, officer, http.MethodGet, "/api/v1/me", nil)
			wantKeys(t, "user", me, "id", "username", "display_name", "role", "authority")
			wantKeys(t, "authority", me["authority"].(map[string]any), "code", "name")
		})

		t.Run("authorities", func(t *testing.T) {
			_, a := srv.do(t, officer, http.MethodGet, "/api/v1/authorities", nil)
			items := a["items"].([]any)
			var codes []any
			for _, it := range items {
				wantKeys(t, "authority", it.(map[string]any), "code", "name", "completeness_policy")
				codes = append(codes, it.(map[string]any)["code"])
			}
			for _, cc := range []string{"IT", "ES", "NG", "TH"} {
				if !slices.Contains(codes, any(cc)) {
					t.Errorf("authorities %v lack %s", codes, cc)
				}
			}
		})

		t.Run("workflows", func(t *testing.T) {
			rec := srv.raw(t, officer, http.MethodGet, "/api/v1/workflows", nil, nil)
			var doc map[string]struct {
				States []string `json:"states"`
				Events []struct {
					Name     string   `json:"name"`
					From     []string `json:"from"`
					To       string   `json:"to"`
					Side     string   `json:"side"`
					Roles    []string `json:"roles"`
					Requires []string `json:"requires"`
				} `json:"events"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != 200 {
				t.Fatalf("%d %v %s", rec.Code, err, rec.Body.String())
			}
			if len(doc) != 2 || len(doc["mla"].States) != len(workflow.States) || len(doc["extradition"].Events) != len(workflow.Table) {
				t.Fatalf("workflows %+v", doc)
			}
			if strings.Contains(rec.Body.String(), `"requires":null`) {
				t.Error("requires is null somewhere, want []")
			}
			refuse := doc["mla"].Events[7]
			if refuse.Name != "refuse" || refuse.Side != "requested" || !slices.Equal(refuse.Requires, []string{"grounds"}) {
				t.Errorf("refuse %+v", refuse)
			}
		})

		t.Run("refusal grounds", func(t *testing.T) {
			_, g := srv.do(t, officer, http.MethodGet, "/api/v1/refusal-grounds", nil)
			items := g["items"].([]any)
			if len(items) != len(workflow.Grounds) {
				t.Fatalf("%d grounds", len(items))
			}
			first := items[0].(map[string]any)
			wantKeys(t, "ground", first, "code", "label", "applies_to")
			if first["code"] != "dual_criminality" || len(first["applies_to"].([]any)) != 2 {
				t.Errorf("first ground %v", first)
			}
		})

		t.Run("measures", func(t *testing.T) {
			_, m := srv.do(t, officer, http.MethodGet, "/api/v1/measures", nil)
			items := m["items"].([]any)
			if len(items) != len(workflow.Measures) {
				t.Fatalf("%d measures, want %d", len(items), len(workflow.Measures))
			}
			first := items[0].(map[string]any)
			wantKeys(t, "measure", first, "code", "label")
			if first["code"] != "take_evidence" {
				t.Errorf("first measure %v", first)
			}
		})

		t.Run("audit", func(t *testing.T) {
			_, a := srv.do(t, srv.login(t, "admin"), http.MethodGet, "/api/v1/audit?limit=1&action=request.refuse", nil)
			wantKeys(t, "audit page", a, "items", "next_cursor")
			e := a["items"].([]any)[0].(map[string]any)
			wantKeys(t, "audit entry", e, "seq", "at", "actor", "authority", "action", "request_id", "outcome", "details", "redacted", "prev_hash", "hash")
			d := e["details"].(map[string]any)
			if d["event"] != "refuse" || d["to"] != "refused" {
				t.Errorf("details %v", d)
			}
			if r, _ := e["redacted"].([]any); len(r) != 1 || r[0] != "grounds" {
				t.Errorf("redacted %v, want the admin told the grounds were withheld", e["redacted"])
			}
			wantUTC(t, "at", e["at"])
		})

		t.Run("error", func(t *testing.T) {
			_, e := srv.do(t, officer, http.MethodPost, "/api/v1/requests", map[string]any{})
			wantKeys(t, "error answer", e, "error")
			wantKeys(t, "error", e["error"].(map[string]any), "code", "message", "fields")
			_, e = srv.do(t, officer, http.MethodGet, pathTo("x"), nil)
			wantKeys(t, "error without fields", e["error"].(map[string]any), "code", "message")
		})
	})
}

// TestHeaders checks the headers every answer carries.
func TestHeaders(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		tok := srv.login(t, "it.officer")
		for _, tc := range []struct{ token, path string }{
			{tok, "/api/v1/me"}, {"", "/api/v1/me"}, {tok, "/api/v1/none"}, {"", "/healthz"},
		} {
			rec := srv.raw(t, tc.token, http.MethodGet, tc.path, nil, nil)
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q", tc.path, rec.Header().Get("Cache-Control"))
			}
			if len(rec.Header().Get("X-Request-ID")) < 16 {
				t.Errorf("%s: X-Request-ID %q", tc.path, rec.Header().Get("X-Request-ID"))
			}
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				t.Errorf("%s: Content-Type %q", tc.path, rec.Header().Get("Content-Type"))
			}
			for name, want := range map[string]string{
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "same-origin",
				"Content-Security-Policy": contentSecurityPolicy,
			} {
				if got := rec.Header().Get(name); got != want {
					t.Errorf("%s: %s %q, want %q", tc.path, name, got, want)
				}
			}
			csp := rec.Header().Get("Content-Security-Policy")
			if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
				t.Errorf("%s: CSP %q allows scripts or framing", tc.path, csp)
			}
			if rec.Header().Get("Strict-Transport-Security") != "" {
				t.Errorf("%s: HSTS over plain HTTP", tc.path)
			}
		}
		rec := srv.raw(t, tok, http.MethodGet, "/api/v1/me", nil, http.Header{"X-Request-Id": {"trace-42"}})
		if rec.Header().Get("X-Request-ID") != "trace-42" {
			t.Errorf("a client's request id is not kept: %q", rec.Header().Get("X-Request-ID"))
		}
		rec = srv.raw(t, tok, http.MethodGet, "/api/v1/me", nil, http.Header{"X-Request-Id": {"bad id\nwith junk"}})
		if id := rec.Header().Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
			t.Errorf("a malformed request id is kept: %q", id)
		}
	})
}

// TestHealth covers /healthz and /readyz.
func TestHealth(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		for _, path := range []string{"/healthz", "/readyz"} {
			status, body := srv.do(t, "", http.MethodGet, path, nil)
			if status != http.StatusOK || body["status"] != "ok" {
				t.Errorf("%s: %d %v", path, status, body)
			}
		}
		srv.store.Close()
		status, body := srv.do(t, "", http.MethodGet, "/readyz", nil)
		wantError(t, status, body, http.StatusServiceUnavailable, "unavailable")
		if status, _ := srv.do(t, "", http.MethodGet, "/healthz", nil); status != http.StatusOK {
			t.Errorf("healthz with the database closed: %d, want 200", status)
		}
	})
}

// TestLogs: one line per request, with its id and status, and never a
// token or a password.
func TestLogs(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		tok := srv.login(t, "it.officer")
		srv.raw(t, tok, http.MethodGet, "/api/v1/me", nil, http.Header{"X-Request-Id": {"trace-logs-1"}})
		logs := srv.logs.String()
		for _, secret := range []string{tok, "demo-pass"} {
			if strings.Contains(logs, secret) {
				t.Fatalf("the log holds a secret: %q", secret)
			}
		}
		var line map[string]any
		for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
			if strings.Contains(l, "trace-logs-1") {
				if err := json.Unmarshal([]byte(l), &line); err != nil {
					t.Fatal(err)
				}
			}
		}
		if line["msg"] != "request" || line["method"] != "GET" || line["path"] != "/api/v1/me" ||
			line["status"] != float64(200) || line["duration"] == nil || line["user_id"] == nil {
			t.Fatalf("log line %v", line)
		}
	})
}

// TestExtraditionDetails covers the fields added for extradition: the
// person sought and the warrant, their validation, and clearing by null.
func TestExtraditionDetails(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		officer := srv.login(t, "it.officer")
		person := map[string]any{"name": "Marco Bianchi", "aliases": []string{"M.B."}, "date_of_birth": "1980-04-01",
			"nationality": "Italian", "description": "tall", "location": "Bangkok"}
		warrant := map[string]any{"type": "arrest_warrant", "reference": "GIP-2026-17", "issued_by": "Tribunale di Milano", "issued_on": "2026-03-02"}
		status, r := srv.do(t, officer, http.MethodPost, "/api/v1/requests", map[string]any{
			"kind": "extradition", "requested_authority": "TH", "title": "Surrender of M.B.",
			"urgency": "urgent", "urgency_reason": "risk of flight", "person_sought": person, "warrant": warrant,
		})
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, r)
		}
		p := r["person_sought"].(map[string]any)
		w := r["warrant"].(map[string]any)
		if p["name"] != "Marco Bianchi" || p["date_of_birth"] != "1980-04-01" || w["issued_by"] != "Tribunale di Milano" || r["urgency_reason"] != "risk of flight" {
			t.Errorf("created %v", r)
		}
		id := r["id"].(string)
		_, got := srv.do(t, officer, http.MethodGet, pathTo(id), nil)
		if got["person_sought"].(map[string]any)["location"] != "Bangkok" {
			t.Errorf("read back %v", got)
		}

		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"person on mla", map[string]any{"kind": "mla", "requested_authority": "ES", "title": "x", "person_sought": person}, "person_sought"},
			{"nameless person", map[string]any{"kind": "extradition", "requested_authority": "ES", "title": "x", "person_sought": map[string]any{"location": "Madrid"}}, "person_sought.name"},
			{"bad warrant type", map[string]any{"kind": "extradition", "requested_authority": "ES", "title": "x", "warrant": map[string]any{"type": "letter"}}, "warrant.type"},
			{"bad birth date", map[string]any{"kind": "extradition", "requested_authority": "ES", "title": "x", "person_sought": map[string]any{"name": "A", "date_of_birth": "01/04/1980"}}, "person_sought.date_of_birth"},
		} {
			status, body := srv.do(t, officer, http.MethodPost, "/api/v1/requests", tc.body)
			if status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %v, want 422", tc.name, status, body)
				continue
			}
			if f := body["error"].(map[string]any)["fields"].(map[string]any); f[tc.field] == nil {
				t.Errorf("%s: fields %v, want %s", tc.name, f, tc.field)
			}
		}
		status, body := srv.do(t, officer, http.MethodPost, "/api/v1/requests", map[string]any{
			"kind": "extradition", "requested_authority": "ES", "title": "x", "person_sought": map[string]any{"name": "A", "eyes": "blue"}})
		if status != http.StatusBadRequest {
			t.Errorf("unknown nested field: %d %v, want 400", status, body)
		}
		status, body = srv.do(t, officer, http.MethodPatch, pathTo(id), map[string]any{"person_sought": map[string]any{"name": "A", "eyes": "blue"}})
		if status != http.StatusBadRequest {
			t.Errorf("unknown nested field in an edit: %d %v, want 400", status, body)
		}

		status, cleared := srv.do(t, officer, http.MethodPatch, pathTo(id), map[string]any{"person_sought": nil, "warrant": nil})
		if status != http.StatusOK || cleared["person_sought"] != nil || cleared["warrant"] != nil || cleared["version"] != float64(2) {
			t.Errorf("clear: %d %v", status, cleared)
		}
	})
}

// TestListFilters covers the added filters of GET /requests: counterpart
// and q (text in the title).
func TestListFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		officer := srv.login(t, "it.officer")
		for _, c := range []struct{ to, title string }{{"ES", "Bank records 50% stake"}, {"NG", "Bank records of Okafor"}, {"ES", "Hearing of a witness"}} {
			if status, body := srv.do(t, officer, http.MethodPost, "/api/v1/requests", map[string]any{"kind": "mla", "requested_authority": c.to, "title": c.title}); status != http.StatusCreated {
				t.Fatalf("create: %d %v", status, body)
			}
		}
		for _, tc := range []struct {
			query string
			want  int
		}{
			{"counterpart=ES", 2},
			{"counterpart=es", 2},
			{"counterpart=TH", 0},
			{"q=bank", 2},
			{"q=BANK+records&counterpart=NG", 1},
			{"q=50%25", 1},
			{"q=_", 0},
		} {
			status, page := srv.do(t, officer, http.MethodGet, "/api/v1/requests?"+tc.query, nil)
			if status != http.StatusOK {
				t.Errorf("%s: %d %v", tc.query, status, page)
				continue
			}
			if n := len(page["items"].([]any)); n != tc.want {
				t.Errorf("%s: %d items, want %d", tc.query, n, tc.want)
			}
		}
		for _, bad := range []string{"counterpart=E5", "counterpart=ESPANAAAA", "q=" + strings.Repeat("x", 101)} {
			if status, _ := srv.do(t, officer, http.MethodGet, "/api/v1/requests?"+bad, nil); status != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", bad, status)
			}
		}
	})
}
