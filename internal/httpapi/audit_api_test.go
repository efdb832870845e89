package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// auditPage reads the newest audit entries matching the query, as admin.
func (s *testServer) auditPage(tb testing.TB, query url.Values) []map[string]any {
	tb.Helper()
	status, body := s.do(tb, s.login(tb, "admin"), http.MethodGet, "/api/v1/audit?"+query.Encode(), nil)
	if status != http.StatusOK {
		tb.Fatalf("audit: %d %v", status, body)
	}
	var out []map[string]any
	for _, it := range body["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// TestAudit_refusalsAndLogins: every refused attempt on a request (403,
// 409, 422) and every log-in leaves an entry with its outcome.
func TestAudit_refusalsAndLogins(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		r := srv.requestIn(t, workflow.StateSent)
		id := r["id"].(string)
		tests := []struct {
			name       string
			user       string
			method     string
			path       string
			body       any
			wantStatus int
			wantAction string
		}{
			{"403 wrong side", "it.officer", "POST", pathTo(id, "events"), map[string]any{"event": "acknowledge"}, 403, "request.acknowledge"},
			{"403 auditor", "es.auditor", "POST", pathTo(id, "events"), map[string]any{"event": "acknowledge"}, 403, "request.acknowledge"},
			{"409 wrong state", "it.supervisor", "POST", pathTo(id, "events"), map[string]any{"event": "send"}, 409, "request.send"},
			{"409 stale version", "es.officer", "POST", pathTo(id, "events"), map[string]any{"event": "acknowledge", "version": 1}, 409, "request.acknowledge"},
			{"422 unknown event", "es.officer", "POST", pathTo(id, "events"), map[string]any{"event": "approve"}, 422, "request.event"},
			{"422 payload", "es.supervisor", "POST", pathTo(id, "events"), map[string]any{"event": "refuse"}, 422, "request.refuse"},
			{"409 edit of a sent request", "it.officer", "PATCH", pathTo(id), map[string]any{"title": "x"}, 409, "request.update"},
			{"403 edit by the requested side", "es.officer", "PATCH", pathTo(id), map[string]any{"title": "x"}, 403, "request.update"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, srv.login(t, tc.user), tc.method, tc.path, tc.body)
				if status != tc.wantStatus {
					t.Fatalf("got %d %v, want %d", status, body, tc.wantStatus)
				}
				entries := srv.auditPage(t, url.Values{"request_id": {id}, "outcome": {"denied"}, "limit": {"1"}})
				if len(entries) != 1 {
					t.Fatal("no denied entry")
				}
				e := entries[0]
				details := e["details"].(map[string]any)
				if e["actor"] != tc.user || e["action"] != tc.wantAction || e["request_id"] != id || details["error"] != errorCode(body) {
					t.Fatalf("newest denied entry %v, want %s by %s with error %s", e, tc.wantAction, tc.user, errorCode(body))
				}
			})
		}
		_, after := srv.do(t, srv.login(t, "it.officer"), http.MethodGet, pathTo(id), nil)
		if after["version"] != r["version"] || after["state"] != "sent" {
			t.Fatalf("refused attempts changed the request: %v", after)
		}

		t.Run("log-ins", func(t *testing.T) {
			srv.do(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "ES.Officer", "password": "nope-nope"})
			denied := srv.auditPage(t, url.Values{"action": {"auth.login"}, "outcome": {"denied"}, "limit": {"1"}})
			if len(denied) != 1 || denied[0]["actor"] != "es.officer" || denied[0]["authority"] != "ES" ||
				denied[0]["details"].(map[string]any)["reason"] != "wrong_password" {
				t.Fatalf("denied log-in entry %v", denied)
			}
			for k, v := range denied[0]["details"].(map[string]any) {
				if v == "nope-nope" {
					t.Fatalf("the password is in details[%s]", k)
				}
			}
			srv.do(t, "", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "ng.auditor", "password": "demo-pass"})
			ok := srv.auditPage(t, url.Values{"action": {"auth.login"}, "outcome": {"ok"}, "limit": {"1"}})
			if len(ok) != 1 || ok[0]["actor"] != "ng.auditor" || ok[0]["authority"] != "NG" {
				t.Fatalf("ok log-in entry %v", ok)
			}
		})

		t.Run("changes", func(t *testing.T) {
			entries := srv.auditPage(t, url.Values{"request_id": {id}, "outcome": {"ok"}})
			var actions []any
			for _, e := range entries {
				actions = append(actions, e["action"])
				if text(e["hash"]) == "" || text(e["prev_hash"]) == "" || e["seq"].(float64) < 1 {
					t.Errorf("entry without chain: %v", e)
				}
			}
			if fmt.Sprint(actions) != "[request.send request.create]" {
				t.Fatalf("ok actions, newest first: %v", actions)
			}
		})
	})
}

// TestPagination_requests walks every page of the request list, newest
// first, with and without filters.
func TestPagination_requests(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		itOfficer := srv.login(t, "it.officer")
		esOfficer := srv.login(t, "es.officer")
		var created []string // oldest first
		for i := range 7 {
			tok, to := itOfficer, "ES"
			kind := "mla"
			if i%3 == 2 {
				tok, to = esOfficer, "IT" // incoming for IT, once sent
			}
			if i%2 == 1 {
				kind = "extradition"
			}
			status, body := srv.do(t, tok, http.MethodPost, "/api/v1/requests",
				map[string]any{"kind": kind, "requested_authority": to, "title": fmt.Sprintf("request %d", i)})
			if status != http.StatusCreated {
				t.Fatalf("create %d: %d %v", i, status, body)
			}
			id := body["id"].(string)
			if to == "IT" {
				srv.fire(t, "es.supervisor", id, workflow.EventSend)
			}
			created = append(created, id)
		}
		// IT sees its 5 outgoing drafts and the 2 sent to it.
		walk := func(query string) []string {
			var ids []string
			cursor := ""
			for page := 0; page < 20; page++ {
				q := query + "&limit=2"
				if cursor != "" {
					q += "&cursor=" + url.QueryEscape(cursor)
				}
				status, body := srv.do(t, itOfficer, http.MethodGet, "/api/v1/requests?"+q, nil)
				if status != http.StatusOK {
					t.Fatalf("%s: %d %v", q, status, body)
				}
				items := body["items"].([]any)
				if len(items) > 2 {
					t.Fatalf("page of %d items with limit 2", len(items))
				}
				for _, it := range items {
					ids = append(ids, it.(map[string]any)["id"].(string))
				}
				next, _ := body["next_cursor"].(string)
				if next == "" {
					if body["next_cursor"] != nil {
						t.Fatalf("next_cursor %v, want null", body["next_cursor"])
					}
					return ids
				}
				cursor = next
			}
			t.Fatal("more than 20 pages")
			return nil
		}
		reverse := func(ids []string, keep func(i int) bool) []string {
			var out []string
			for i := len(ids) - 1; i >= 0; i-- {
				if keep(i) {
					out = append(out, ids[i])
				}
			}
			return out
		}
		all := func(int) bool { return true }
		incoming := func(i int) bool { return i%3 == 2 }
		tests := []struct {
			name  string
			query string
			want  []string
		}{
			{"all", "", reverse(created, all)},
			{"outgoing", "direction=outgoing", reverse(created, func(i int) bool { return !incoming(i) })},
			{"incoming", "direction=incoming", reverse(created, incoming)},
			{"kind", "kind=extradition", reverse(created, func(i int) bool { return i%2 == 1 })},
			{"state", "state=sent", reverse(created, incoming)},
			{"states", "state=drafted,sent", reverse(created, all)},
			{"repeated state", "state=drafted&state=executed", reverse(created, func(i int) bool { return !incoming(i) })},
			{"combined", "state=drafted&kind=mla&direction=outgoing", reverse(created, func(i int) bool { return !incoming(i) && i%2 == 0 })},
			{"none", "state=refused", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := walk(tc.query); fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("got %v\nwant %v", got, tc.want)
				}
			})
		}
		t.Run("default limit", func(t *testing.T) {
			_, body := srv.do(t, itOfficer, http.MethodGet, "/api/v1/requests", nil)
			if len(body["items"].([]any)) != 7 || body["next_cursor"] != nil {
				t.Fatalf("got %v", body)
			}
		})
	})
}

// TestPagination_audit walks the audit log page by page, newest first.
func TestPagination_audit(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		srv.requestIn(t, workflow.StateExecuted)
		var all []float64
		cursor := ""
		for page := 0; page < 100; page++ {
			q := url.Values{"limit": {"3"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			status, body := srv.do(t, srv.login(t, "admin"), http.MethodGet, "/api/v1/audit?"+q.Encode(), nil)
			if status != http.StatusOK {
				t.Fatalf("%d %v", status, body)
			}
			for _, it := range body["items"].([]any) {
				all = append(all, it.(map[string]any)["seq"].(float64))
			}
			next, _ := body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(all) < 10 {
			t.Fatalf("only %d entries", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i] != all[i-1]-1 {
				t.Fatalf("seq %v then %v: want every entry once, newest first", all[i-1], all[i])
			}
		}
		if all[len(all)-1] != 1 {
			t.Fatalf("the walk ends at seq %v, want 1", all[len(all)-1])
		}
	})
}

// TestAudit_caseDetails: the admin reads the log without case contents,
// neither the grounds of a refusal nor the digest of a comment, and is told
// which details were withheld; the requested authority's auditor reads
// both. A comment's digest is keyed: not its SHA-256, and what the key's
// holder alone computes.
func TestAudit_caseDetails(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		refused := srv.requestIn(t, workflow.StateRefused)["id"].(string)
		executed := srv.requestIn(t, workflow.StateExecuted)["id"].(string)
		comment := payloadFor(workflow.EventExecute)["comment"].(string)
		plain := sha256.Sum256([]byte(comment))
		plainHex := hex.EncodeToString(plain[:])

		entryOf := func(t *testing.T, user, id, action string) map[string]any {
			t.Helper()
			q := url.Values{"request_id": {id}, "action": {action}}
			status, body := srv.do(t, srv.login(t, user), http.MethodGet, "/api/v1/audit?"+q.Encode(), nil)
			if status != http.StatusOK {
				t.Fatalf("audit as %s: %d %v", user, status, body)
			}
			items := body["items"].([]any)
			if len(items) != 1 {
				t.Fatalf("audit as %s: %d entries of %s, want 1", user, len(items), action)
			}
			if raw, _ := json.Marshal(body); strings.Contains(string(raw), plainHex) {
				t.Fatalf("audit as %s holds the SHA-256 of the comment: %s", user, raw)
			}
			return items[0].(map[string]any)
		}
		details := func(e map[string]any) map[string]any { return e["details"].(map[string]any) }
		redacted := func(e map[string]any) string { return fmt.Sprint(e["redacted"]) }

		t.Run("admin", func(t *testing.T) {
			refusal := entryOf(t, "admin", refused, "request.refuse")
			if g, ok := details(refusal)["grounds"]; ok || redacted(refusal) != "[grounds]" {
				t.Fatalf("admin reads the refusal as %v (grounds %v), want grounds withheld and named in redacted", refusal, g)
			}
			if details(refusal)["event"] != "refuse" || details(refusal)["to"] != "refused" {
				t.Fatalf("admin reads the refusal's metadata as %v, want event and states", details(refusal))
			}
			execution := entryOf(t, "admin", executed, "request.execute")
			for k := range details(execution) {
				if strings.HasPrefix(k, "comment") {
					t.Fatalf("admin reads %s of the execution: %v", k, details(execution))
				}
			}
			if redacted(execution) != "[comment_hmac]" {
				t.Fatalf("execution redacted %v, want [comment_hmac]", execution["redacted"])
			}
			creation := entryOf(t, "admin", executed, "request.create")
			if _, ok := details(creation)["reference"]; !ok || redacted(creation) != "[content_hmac]" {
				t.Fatalf("admin reads the creation as %v, want the reference and content_hmac withheld", creation)
			}
		})
		t.Run("auditor of the requested side", func(t *testing.T) {
			refusal := entryOf(t, "es.auditor", refused, "request.refuse")
			if fmt.Sprint(details(refusal)["grounds"]) != "[dual_criminality]" || redacted(refusal) != "[]" {
				t.Fatalf("es.auditor reads the refusal as %v, want its grounds", refusal)
			}
			execution := entryOf(t, "es.auditor", executed, "request.execute")
			mac, _ := details(execution)["comment_hmac"].(string)
			derive := hmac.New(sha256.New, testworld.AuditKey)
			derive.Write([]byte("mla-flow/digest/v1"))
			keyed := hmac.New(sha256.New, derive.Sum(nil))
			keyed.Write([]byte(comment))
			if want := hex.EncodeToString(keyed.Sum(nil)); mac != want {
				t.Fatalf("comment_hmac %q, want the HMAC of the comment under the derived digest key %s", mac, want)
			}
		})
	})
}

// TestAudit_legacyDigests: entries written before digests were keyed keep
// their plain SHA-256 digests under their old names, and verify as they
// are; the admin reads them as case content, withheld. (The entry is a
// refused attempt, which changes nothing: an accepted acknowledgement that
// the request's row does not show would be a break of its own.)
func TestAudit_legacyDigests(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		id := srv.requestIn(t, workflow.StateSent)["id"].(string)
		sum := sha256.Sum256([]byte("as agreed by telephone"))
		err := srv.store.RecordAudit(context.Background(), workflow.Change{
			Actor: "es.officer", Authority: "ES", Action: "request.acknowledge", RequestID: id, Outcome: workflow.OutcomeDenied,
			Details: map[string]any{"event": "acknowledge", "from": "sent", "to": "acknowledged", "version": 3,
				"comment_sha256": hex.EncodeToString(sum[:]), "content_sha256": hex.EncodeToString(sum[:])},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ user, wantRedacted string }{
			{"admin", "[comment_sha256 content_sha256]"},
			{"es.auditor", "[]"},
		} {
			q := url.Values{"request_id": {id}, "action": {"request.acknowledge"}}
			_, body := srv.do(t, srv.login(t, tc.user), http.MethodGet, "/api/v1/audit?"+q.Encode(), nil)
			items, _ := body["items"].([]any)
			if len(items) != 1 {
				t.Fatalf("%s: %v", tc.user, body)
			}
			e := items[0].(map[string]any)
			if got := fmt.Sprint(e["redacted"]); got != tc.wantRedacted {
				t.Errorf("%s reads the old entry as %v, want redacted %s", tc.user, e, tc.wantRedacted)
			}
		}
		status, v := srv.do(t, srv.login(t, "admin"), http.MethodGet, "/api/v1/audit/verify", nil)
		if status != http.StatusOK || v["ok"] != true {
			t.Fatalf("verify: %d %v", status, v)
		}
	})
}
