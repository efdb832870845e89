package httpapi

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
)

// TestErrors_text sends text that no field may hold, a NUL character or
// bytes that are not UTF-8, in every place a client can put text: body
// fields, nested ones, list items, the path and the query. Each is refused
// with the contract's 4xx and shape (422 naming the field for a body field,
// 400 for the path, the query and a body that is not UTF-8), never a 500
// or a 503, and nothing changes: no version moves, no change is audited.
func TestErrors_text(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		officer := srv.login(t, "it.officer")
		esOfficer := srv.login(t, "es.officer")
		esSupervisor := srv.login(t, "es.supervisor")
		thOfficer := srv.login(t, "th.officer")
		admin := srv.login(t, "admin")
		draft := srv.newDraft(t)
		draftID := draft["id"].(string)
		acked := srv.requestIn(t, "acknowledged")
		ackedID := acked["id"].(string)
		tests := []struct {
			name       string
			token      string
			method     string
			path       string
			body       any
			wantStatus int
			wantCode   string
			wantField  string
		}{
			{"event comment: NUL", esOfficer, "POST", pathTo(ackedID, "events"),
				`{"event":"request_info","comment":"which\u0000account"}`, 422, "validation_failed", "comment"},
			{"event comment: not UTF-8", esOfficer, "POST", pathTo(ackedID, "events"),
				"{\"event\":\"request_info\",\"comment\":\"which\xffaccount\"}", 400, "bad_request", ""},
			{"event name: NUL", esOfficer, "POST", pathTo(ackedID, "events"),
				`{"event":"request_info\u0000","comment":"which account"}`, 422, "validation_failed", "event"},
			{"grounds item: NUL", esSupervisor, "POST", pathTo(ackedID, "events"),
				`{"event":"refuse","grounds":["dual_criminality\u0000"]}`, 422, "validation_failed", "grounds"},
			{"draft title: NUL", officer, "POST", "/api/v1/requests",
				`{"kind":"mla","requested_authority":"ES","title":"Bank\u0000records"}`, 422, "validation_failed", "title"},
			{"draft title: not UTF-8", officer, "POST", "/api/v1/requests",
				"{\"kind\":\"mla\",\"requested_authority\":\"ES\",\"title\":\"Bank\xc3records\"}", 400, "bad_request", ""},
			{"draft authority: NUL", officer, "POST", "/api/v1/requests",
				`{"kind":"mla","requested_authority":"E\u0000S","title":"Bank records"}`, 422, "validation_failed", "requested_authority"},
			{"draft offence: NUL", officer, "POST", "/api/v1/requests",
				`{"kind":"mla","requested_authority":"ES","title":"x","offences":["fraud","lau\u0000ndering"]}`, 422, "validation_failed", "offences"},
			{"draft person's name: NUL", officer, "POST", "/api/v1/requests",
				`{"kind":"extradition","requested_authority":"ES","title":"x","person_sought":{"name":"Ros\u0000si"}}`, 422, "validation_failed", "person_sought.name"},
			{"edit title: NUL", officer, "PATCH", pathTo(draftID), `{"title":"Bank\u0000records"}`, 422, "validation_failed", "title"},
			{"edit legal basis: NUL", officer, "PATCH", pathTo(draftID), `{"legal_basis":"UNTOC\u0000"}`, 422, "validation_failed", "legal_basis"},
			// The workflow checks the text of a request's changes in its
			// order: a hidden request is not found, whatever the body.
			{"event on a hidden request: NUL", thOfficer, "POST", pathTo(ackedID, "events"),
				`{"event":"request_info","comment":"which\u0000account"}`, 404, "not_found", ""},
			{"edit of a hidden draft: NUL", thOfficer, "PATCH", pathTo(draftID), `{"title":"Bank\u0000records"}`, 404, "not_found", ""},
			{"log-in username: NUL", "", "POST", "/api/v1/auth/login", `{"username":"it.officer\u0000","password":"x"}`, 422, "validation_failed", "username"},
			{"path id: NUL", officer, "GET", pathTo(draftID + "%00"), nil, 400, "bad_request", ""},
			{"path id: not UTF-8", officer, "GET", pathTo("%ff%fe"), nil, 400, "bad_request", ""},
			{"path id of an event: NUL", esOfficer, "POST", pathTo(ackedID+"%00", "events"),
				`{"event":"request_info","comment":"which account"}`, 400, "bad_request", ""},
			{"path id of an edit: NUL", officer, "PATCH", pathTo("%00"), `{"title":"x"}`, 400, "bad_request", ""},
			{"path id of a history: not UTF-8", officer, "GET", pathTo("%c3", "history"), nil, 400, "bad_request", ""},
			{"query value: NUL", officer, "GET", "/api/v1/requests?q=bank%00", nil, 400, "bad_request", "q"},
			{"query value: not UTF-8", officer, "GET", "/api/v1/requests?q=%ff", nil, 400, "bad_request", "q"},
			{"query name: NUL", officer, "GET", "/api/v1/requests?%00=1", nil, 400, "bad_request", ""},
			{"audit query: NUL", admin, "GET", "/api/v1/audit?actor=it.officer%00", nil, 400, "bad_request", "actor"},
			{"audit query: not UTF-8", admin, "GET", "/api/v1/audit?request_id=%ff", nil, 400, "bad_request", "request_id"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := srv.do(t, tc.token, tc.method, tc.path, tc.body)
				wantError(t, status, body, tc.wantStatus, tc.wantCode)
				if tc.wantField != "" && errorFields(body)[tc.wantField] == nil {
					t.Fatalf("fields %v, want %s", errorFields(body), tc.wantField)
				}
				if msg, _ := body["error"].(map[string]any)["message"].(string); msg == "" {
					t.Fatal("no message")
				}
			})
		}
		for _, before := range []map[string]any{draft, acked} {
			id := before["id"].(string)
			_, after := srv.do(t, officer, http.MethodGet, pathTo(id), nil)
			if after["version"] != before["version"] || after["title"] != before["title"] || after["state"] != before["state"] {
				t.Fatalf("bad text changed request %s: %v, was %v", id, after, before)
			}
			// Only the changes that made it: the creation, and for the
			// acknowledged one its send and acknowledgement.
			ok := srv.auditPage(t, url.Values{"request_id": {id}, "outcome": {"ok"}})
			if want := 1 + len(pathToState("acknowledged"))*boolInt(id == ackedID); len(ok) != want {
				t.Fatalf("request %s has %d audit entries of outcome ok, want %d", id, len(ok), want)
			}
		}
		// A refused text in a change of a request the caller sees is a
		// refused attempt on that request, audited like any other (CONTRACT
		// section 4); on a hidden one nothing is recorded against it.
		denied := srv.auditPage(t, url.Values{"request_id": {ackedID}, "outcome": {"denied"}, "actor": {"es.officer"}})
		if len(denied) == 0 {
			t.Fatal("a refused event with a NUL in its comment was not audited")
		}
		if hidden := srv.auditPage(t, url.Values{"request_id": {ackedID}, "actor": {"th.officer"}}); len(hidden) != 0 {
			t.Fatalf("an attempt on a hidden request was recorded against it: %v", hidden)
		}
		_, list := srv.do(t, officer, http.MethodGet, "/api/v1/requests", nil)
		if n := len(list["items"].([]any)); n != 2 {
			t.Fatalf("%d requests after refused creations, want 2", n)
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
