package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestMessages_thread posts every kind of message on a request between IT
// and ES and reads the thread as each side: the shape of a message, oldest
// first, notes seen by their own authority only, read receipts set by the
// counterpart's reading (not by an auditor's, not by the author's), the
// lists' unread counts, the errors of the contract, and the audit entries
// with the body digested, the chain verifying.
func TestMessages_thread(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		r := srv.requestIn(t, workflow.StateAcknowledged)
		id := r["id"].(string)
		itOfficer, esOfficer := srv.login(t, "it.officer"), srv.login(t, "es.officer")
		post := func(token, kind, body string) map[string]any {
			t.Helper()
			status, m := srv.do(t, token, http.MethodPost, pathTo(id, "messages"), map[string]any{"kind": kind, "body": body})
			if status != http.StatusCreated {
				t.Fatalf("post %s: %d %v", kind, status, m)
			}
			return m
		}
		first := post(esOfficer, "consultation", "Before refusing: can you show dual criminality for count 2?")
		wantKeys(t, "message", first, "id", "kind", "body", "actor", "authority", "at", "read_at", "internal")
		if first["kind"] != "consultation" || first["actor"] != "es.officer" || first["authority"] != "ES" || first["read_at"] != nil || first["internal"] != false {
			t.Errorf("posted consultation: %v", first)
		}
		wantUTC(t, "at", first["at"])
		post(esOfficer, "note", "ES internal: the prosecutor leans towards refusal")
		post(itOfficer, "note", "IT internal: the second count is weak")

		// IT's list shows one unread message (ES's note does not count).
		unreadOf := func(token string) float64 {
			t.Helper()
			_, l := srv.do(t, token, http.MethodGet, "/api/v1/requests", nil)
			for _, it := range l["items"].([]any) {
				if m := it.(map[string]any); m["id"] == id {
					n, _ := m["unread_messages"].(float64)
					return n
				}
			}
			t.Fatalf("request not in the list")
			return 0
		}
		if n := unreadOf(itOfficer); n != 1 {
			t.Errorf("IT's unread_messages = %v, want 1", n)
		}
		if n := unreadOf(esOfficer); n != 0 {
			t.Errorf("ES's unread_messages = %v, want 0 (its own messages)", n)
		}

		// An auditor reads without leaving a receipt, and sees no ES note.
		thread := func(token string) []map[string]any {
			t.Helper()
			status, body := srv.do(t, token, http.MethodGet, pathTo(id, "messages"), nil)
			if status != 200 {
				t.Fatalf("read the thread: %d %v", status, body)
			}
			var out []map[string]any
			for _, it := range body["items"].([]any) {
				out = append(out, it.(map[string]any))
			}
			return out
		}
		for _, m := range thread(srv.login(t, "it.auditor")) {
			if strings.HasPrefix(text(m["body"]), "ES internal") {
				t.Errorf("LEAK: IT's auditor sees ES's note %v", m)
			}
			if m["read_at"] != nil {
				t.Errorf("read before the counterpart read it: %v", m)
			}
		}
		if n := unreadOf(itOfficer); n != 1 {
			t.Errorf("after the auditor read: unread_messages = %v, want 1", n)
		}

		// IT's officer reads: oldest first, its own note, not ES's; the
		// consultation is now read.
		got := thread(itOfficer)
		if len(got) != 2 || got[0]["kind"] != "consultation" || got[1]["body"] != "IT internal: the second count is weak" || got[1]["internal"] != true {
			t.Fatalf("IT's thread: %v", got)
		}
		if got[0]["read_at"] == nil || got[1]["read_at"] != nil {
			t.Errorf("read receipts after IT read: %v", got)
		}
		if n := unreadOf(itOfficer); n != 0 {
			t.Errorf("after reading: unread_messages = %v, want 0", n)
		}
		// ES sees the receipt, its own note and not IT's.
		got = thread(esOfficer)
		if len(got) != 2 || got[0]["read_at"] == nil || got[1]["body"] != "ES internal: the prosecutor leans towards refusal" {
			t.Errorf("ES's thread: %v", got)
		}
		for _, m := range got {
			if strings.HasPrefix(text(m["body"]), "IT internal") {
				t.Errorf("LEAK: ES sees IT's note %v", m)
			}
		}

		// The contract's errors.
		for _, c := range []struct {
			name, user string
			body       any
			status     int
			code       string
		}{
			{"auditor", "it.auditor", map[string]any{"kind": "message", "body": "x"}, 403, "forbidden"},
			{"third authority", "ng.officer", map[string]any{"kind": "message", "body": "x"}, 404, "not_found"},
			{"admin", "admin", map[string]any{"kind": "message", "body": "x"}, 404, "not_found"},
			{"unknown kind", "it.officer", map[string]any{"kind": "gossip", "body": "x"}, 422, "validation_failed"},
			{"empty body", "it.officer", map[string]any{"kind": "message", "body": "  "}, 422, "validation_failed"},
			{"too long", "it.officer", map[string]any{"kind": "message", "body": strings.Repeat("x", workflow.MaxMessageBody+1)}, 422, "validation_failed"},
			{"unknown field", "it.officer", map[string]any{"kind": "message", "body": "x", "to": "ES"}, 400, "bad_request"},
		} {
			status, body := srv.do(t, srv.login(t, c.user), http.MethodPost, pathTo(id, "messages"), c.body)
			if status != c.status || errorCode(body) != c.code {
				t.Errorf("%s: %d %v, want %d %s", c.name, status, body, c.status, c.code)
			}
			if c.status == 422 && len(errorFields(body)) == 0 {
				t.Errorf("%s: no fields in %v", c.name, body)
			}
		}
		if status, body := srv.do(t, srv.login(t, "ng.officer"), http.MethodGet, pathTo(id, "messages"), nil); status != 404 {
			t.Errorf("a third authority reads the thread: %d %v", status, body)
		}

		// A draft's messages stay with the requesting side, even once sent.
		draft := srv.newDraft(t)
		did := draft["id"].(string)
		if status, m := srv.do(t, itOfficer, http.MethodPost, pathTo(did, "messages"), map[string]any{"kind": "message", "body": "draft remark"}); status != 201 || m["internal"] != true {
			t.Fatalf("a message on a draft: %d %v", status, m)
		}
		srv.fire(t, "it.supervisor", did, workflow.EventSend)
		if _, body := srv.do(t, esOfficer, http.MethodGet, pathTo(did, "messages"), nil); len(body["items"].([]any)) != 0 {
			t.Errorf("LEAK: ES sees the messages of IT's draft: %v", body)
		}

		// Audited with the body digested, never copied.
		var posted, read int
		var items []any
		for _, auditor := range []string{"es.auditor", "it.auditor"} {
			_, a := srv.do(t, srv.login(t, auditor), http.MethodGet, "/api/v1/audit?request_id="+id, nil)
			items = append(items, a["items"].([]any)...)
		}
		for _, it := range items {
			e := it.(map[string]any)
			d := jsonText(e["details"])
			if strings.Contains(d, "dual criminality for count 2") || strings.Contains(d, "leans towards") {
				t.Errorf("LEAK: a message body in the audit log: %v", e)
			}
			switch {
			case e["action"] == "message.post" && e["outcome"] == "ok":
				posted++
				if !strings.Contains(d, "body_hmac") {
					t.Errorf("message.post without the body's digest: %v", e)
				}
			case e["action"] == "message.read" && e["outcome"] == "ok":
				read++
			}
		}
		// Three posts; one reading found something unread (IT's).
		if posted != 3 || read != 1 {
			t.Errorf("%d message.post, %d message.read, want 3 and 1", posted, read)
		}
		if !srv.verify(t) {
			t.Error("the audit chain does not verify")
		}
	})
}
