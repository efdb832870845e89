package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// acknowledgedWithEvidence is a request from IT to ES, acknowledged, with
// the documents the deliveries below choose among: es.officer's evidence
// and execution report, es.officer's annex (a type a delivery does not
// hand over), and it.officer's evidence (the requesting side's).
func acknowledgedWithEvidence(t *testing.T, srv *testServer) (id string, docs map[string]string) {
	t.Helper()
	id = text(srv.newDraft(t)["id"])
	srv.fire(t, "it.supervisor", id, workflow.EventSend)
	srv.fire(t, "es.officer", id, workflow.EventAcknowledge)
	docs = map[string]string{}
	for _, d := range []struct{ name, user, typ string }{
		{"evidence", "es.officer", "evidence"},
		{"report", "es.officer", "execution_report"},
		{"annex", "es.officer", "annex"},
		{"theirs", "it.officer", "evidence"},
	} {
		status, doc := srv.upload(t, d.user, id, map[string]string{"type": d.typ, "language": "es", "title": d.name}, d.name+".pdf", pdfBytes)
		if status != http.StatusCreated {
			t.Fatalf("upload %s: %d %v", d.name, status, doc)
		}
		docs[d.name] = text(doc["id"])
	}
	return id, docs
}

// deliveries returns the documents of each delivery in the request's
// history, as the API answers them.
func deliveries(t *testing.T, srv *testServer, user, id string) [][]string {
	t.Helper()
	status, h := srv.do(t, srv.login(t, user), http.MethodGet, pathTo(id, "history"), nil)
	if status != http.StatusOK {
		t.Fatalf("history: %d %v", status, h)
	}
	var out [][]string
	for _, it := range h["items"].([]any) {
		e := it.(map[string]any)
		docs, ok := e["documents"].([]any)
		if !ok {
			t.Fatalf("history entry without a documents list: %v", e)
		}
		if e["event"] != "deliver" {
			if len(docs) > 0 {
				t.Errorf("%v carries documents %v", e["event"], docs)
			}
			continue
		}
		ids := []string{}
		for _, d := range docs {
			ids = append(ids, text(d))
		}
		out = append(out, ids)
	}
	return out
}

// TestDeliver_withEvidence hands evidence over with a delivery (CONTRACT
// 6): the history entry lists the documents for both sides, the audit
// entry's details carry them, and the chain verifies, requests replayed.
func TestDeliver_withEvidence(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		id, docs := acknowledgedWithEvidence(t, srv)
		handed := []string{docs["evidence"], docs["report"]}
		status, r := srv.do(t, srv.login(t, "es.officer"), http.MethodPost, pathTo(id, "events"),
			map[string]any{"event": "deliver", "comment": "bank statements 2024", "documents": handed})
		if status != http.StatusOK || r["state"] != "acknowledged" {
			t.Fatalf("deliver with evidence: %d %v", status, r)
		}
		// A delivery without documents stays possible.
		status, r = srv.do(t, srv.login(t, "es.supervisor"), http.MethodPost, pathTo(id, "events"),
			map[string]any{"event": "deliver", "comment": "the rest follows"})
		if status != http.StatusOK {
			t.Fatalf("deliver without documents: %d %v", status, r)
		}
		for _, user := range []string{"it.officer", "es.officer", "es.auditor"} {
			got := deliveries(t, srv, user, id)
			if len(got) != 2 || !slices.Equal(got[0], handed) || len(got[1]) != 0 {
				t.Errorf("%s reads the deliveries' documents %v, want [%v []]", user, got, handed)
			}
		}
		_, a := srv.do(t, srv.login(t, "es.auditor"), http.MethodGet, "/api/v1/audit?request_id="+id, nil)
		var audited [][]any
		for _, it := range a["items"].([]any) {
			e := it.(map[string]any)
			if e["action"] != "request.deliver" || e["outcome"] != "ok" {
				continue
			}
			d, _ := e["details"].(map[string]any)
			list, _ := d["documents"].([]any)
			audited = append(audited, list)
		}
		// Newest first: the delivery without documents, then the one with.
		if len(audited) != 2 || len(audited[0]) != 0 || jsonText(audited[1]) != jsonText(handed) {
			t.Errorf("request.deliver details' documents %v, want [] then %v", audited, handed)
		}
		if !srv.verify(t) {
			t.Error("the audit chain does not verify after a delivery with evidence")
		}
	})
}

// TestDeliver_evidenceRefused lists what a delivery may not hand over:
// each answer is 422 validation_failed naming documents, is audited as a
// refused request.deliver, and changes nothing. A document of another
// request, visible or not, gets the answer an unknown id gets.
func TestDeliver_evidenceRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		id, docs := acknowledgedWithEvidence(t, srv)
		otherID, otherDocs := acknowledgedWithEvidence(t, srv)
		_ = otherID
		// A draft of IT that ES does not see, with an evidence document.
		hidden := text(srv.newDraft(t)["id"])
		status, hiddenDoc := srv.upload(t, "it.officer", hidden, map[string]string{"type": "evidence", "language": "it", "title": "x"}, "x.pdf", pdfBytes)
		if status != http.StatusCreated {
			t.Fatalf("upload to the draft: %d %v", status, hiddenDoc)
		}
		noDocument := "is no document of this request"
		tests := []struct {
			name  string
			event string
			ids   []string
			want  string // in fields.documents
		}{
			{"wrong type", "deliver", []string{docs["annex"]}, "evidence or an execution report"},
			{"the other side's document", "deliver", []string{docs["theirs"]}, "not uploaded by the requested side"},
			{"another request's document", "deliver", []string{otherDocs["evidence"]}, noDocument},
			{"an invisible request's document", "deliver", []string{text(hiddenDoc["id"])}, noDocument},
			{"unknown id", "deliver", []string{"no-such-document"}, noDocument},
			{"listed twice", "deliver", []string{docs["evidence"], docs["evidence"]}, "listed twice"},
			{"one good, one bad", "deliver", []string{docs["evidence"], docs["annex"]}, "evidence or an execution report"},
			{"documents on another event", "request_info", []string{docs["evidence"]}, "only a delivery carries documents"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, before := srv.do(t, srv.login(t, "es.officer"), http.MethodGet, "/api/v1/requests/"+id, nil)
				status, body := srv.do(t, srv.login(t, "es.officer"), http.MethodPost, pathTo(id, "events"),
					map[string]any{"event": tc.event, "comment": "x", "documents": tc.ids})
				wantError(t, status, body, 422, "validation_failed")
				if why := text(errorFields(body)["documents"]); !strings.Contains(why, tc.want) {
					t.Errorf("fields.documents = %q, want it to say %q (%v)", why, tc.want, body)
				}
				if strings.Contains(jsonText(body), "theirs.pdf") || strings.Contains(jsonText(body), "\"x\"") {
					t.Errorf("the answer discloses a document: %v", body)
				}
				_, after := srv.do(t, srv.login(t, "es.officer"), http.MethodGet, "/api/v1/requests/"+id, nil)
				if after["version"] != before["version"] || after["state"] != "acknowledged" {
					t.Errorf("a refused delivery changed the request: version %v → %v, state %v", before["version"], after["version"], after["state"])
				}
			})
		}
		if got := deliveries(t, srv, "es.officer", id); len(got) != 0 {
			t.Errorf("refused deliveries are in the history: %v", got)
		}
		_, a := srv.do(t, srv.login(t, "es.auditor"), http.MethodGet, "/api/v1/audit?request_id="+id+"&limit=200", nil)
		var denied int
		for _, it := range a["items"].([]any) {
			if e := it.(map[string]any); e["action"] == "request.deliver" && e["outcome"] == "denied" {
				denied++
			}
		}
		if denied != len(tests)-1 {
			t.Errorf("%d denied request.deliver entries, want %d", denied, len(tests)-1)
		}
		if !srv.verify(t) {
			t.Error("the audit chain does not verify after refused deliveries")
		}
	})
}

// TestDeliver_documentsTampering changes the documents of a delivery's
// history row behind the service's back: verification names the request.
func TestDeliver_documentsTampering(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		for _, tc := range []struct {
			name, documents string
		}{
			{"a document swapped", `["SWAP"]`},
			{"the documents removed", `[]`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				srv := newTestServerOn(t, db)
				id, docs := acknowledgedWithEvidence(t, srv)
				status, r := srv.do(t, srv.login(t, "es.officer"), http.MethodPost, pathTo(id, "events"),
					map[string]any{"event": "deliver", "comment": "x", "documents": []string{docs["evidence"]}})
				if status != http.StatusOK {
					t.Fatalf("deliver: %d %v", status, r)
				}
				if !srv.verify(t) {
					t.Fatal("the chain does not verify before tampering")
				}
				value := strings.ReplaceAll(tc.documents, "SWAP", docs["report"])
				if err := srv.store.DB().Exec("UPDATE request_history SET documents = ? WHERE request_id = ? AND event = 'deliver'", value, id).Error; err != nil {
					t.Fatal(err)
				}
				v, err := srv.wf.VerifyChain(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if v.OK || v.RequestID != id || !strings.Contains(v.Problem, "other documents than the log records") {
					t.Errorf("verify after tampering = %+v, want broken at request %s over its documents", v, id)
				}
			})
		}
	})
}
