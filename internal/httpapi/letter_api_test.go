package httpapi

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The letter of request (CONTRACT 6) through the real router.

func TestLetter_throughTheAPI(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		status, r := srv.do(t, srv.login(t, "it.officer"), http.MethodPost, "/api/v1/requests", eioDraft(srv))
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, r)
		}
		id, ref := text(r["id"]), text(r["reference"])
		letter := func(user string) *bytes.Buffer {
			t.Helper()
			rec := srv.raw(t, srv.login(t, user), http.MethodGet, pathTo(id, "letter"), nil, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", user, rec.Code, rec.Body)
			}
			for k, want := range map[string]string{
				"Content-Type":           "application/pdf",
				"Content-Disposition":    `attachment; filename="` + ref + `.pdf"`,
				"X-Content-Type-Options": "nosniff",
			} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s: %s %q, want %q", user, k, got, want)
				}
			}
			if !bytes.HasPrefix(rec.Body.Bytes(), []byte("%PDF-")) || !bytes.Contains(rec.Body.Bytes(), []byte("/Subject ("+ref+")")) {
				t.Errorf("%s: not the PDF of %s: %.32q", user, ref, rec.Body.String())
			}
			return rec.Body
		}

		// The protected victim of eioDraft is named to the two sides'
		// officers and supervisors, and to nobody else.
		names := func(user string, want bool) {
			t.Helper()
			shown, err := testkit.PDFText(letter(user).Bytes())
			if err != nil {
				t.Fatal(err)
			}
			shown = strings.Join(strings.Fields(shown), " ")
			if !strings.Contains(shown, "Bank records of the Okoro network") || !strings.Contains(shown, "Felix Okoro") {
				t.Errorf("%s: the letter lacks the title or the suspect:\n%s", user, shown)
			}
			for _, secret := range []string{"Grace Edo", "a shelter in Turin"} {
				if strings.Contains(shown, secret) != want {
					t.Errorf("%s: the letter shows %q: %v, want %v", user, secret, !want, want)
				}
			}
		}
		names("it.officer", true)
		// A draft is the requesting side's: the other side, and a third,
		// get the answer of a missing request.
		_, missing := srv.do(t, srv.login(t, "es.officer"), http.MethodGet, pathTo("no-such-request", "letter"), nil)
		wantError(t, http.StatusNotFound, missing, http.StatusNotFound, "not_found")
		for _, user := range []string{"es.officer", "th.supervisor"} {
			status, body := srv.do(t, srv.login(t, user), http.MethodGet, pathTo(id, "letter"), nil)
			wantError(t, status, body, http.StatusNotFound, "not_found")
			if jsonText(body["error"]) != jsonText(missing["error"]) {
				t.Errorf("%s: %v, unlike a missing request's %v", user, body, missing)
			}
		}
		status, body := srv.do(t, "", http.MethodGet, pathTo(id, "letter"), nil)
		wantError(t, status, body, http.StatusUnauthorized, "unauthenticated")

		// Once sent the requested side reads it; auditors read it as they
		// read the request.
		srv.fire(t, "it.supervisor", id, workflow.EventSend)
		names("es.officer", true)
		names("it.auditor", false)

		letters, views := map[string]int{}, map[string]int{}
		// The administrator reads both sides' entries.
		status, audit := srv.do(t, srv.login(t, "admin"), http.MethodGet, "/api/v1/audit?limit=200&request_id="+id, nil)
		if status != http.StatusOK {
			t.Fatalf("audit: %d %v", status, audit)
		}
		for _, it := range audit["items"].([]any) {
			e := it.(map[string]any)
			switch e["action"] {
			case "request.letter":
				letters[text(e["actor"])]++
				if e["outcome"] != "ok" || !strings.Contains(jsonText(e["details"]), ref) {
					t.Errorf("letter entry %v", e)
				}
			case "person.view":
				views[text(e["actor"])]++
			}
		}
		for user, want := range map[string]int{"it.officer": 1, "es.officer": 1, "it.auditor": 1, "th.supervisor": 0} {
			if letters[user] != want {
				t.Errorf("request.letter entries of %s: %d, want %d (%v)", user, letters[user], want, letters)
			}
		}
		// The protected victim is disclosed, and the disclosure audited,
		// to the two sides' officers; never to an auditor.
		for user, want := range map[string]int{"it.officer": 1, "es.officer": 1, "it.auditor": 0} {
			if views[user] != want {
				t.Errorf("person.view entries of %s: %d, want %d (%v)", user, views[user], want, views)
			}
		}
		if !srv.verify(t) {
			t.Error("the audit chain does not verify")
		}
	})
}
