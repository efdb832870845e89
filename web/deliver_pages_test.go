package web_test

import (
	"html"
	"net/http"
	"net/url"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestRequestPage_deliverEvidence ticks evidence in the deliver form (no
// JavaScript: checkboxes), sees the delivery on the timeline with a link to
// each document handed over, and a refused choice come back with its
// reason.
func TestRequestPage_deliverEvidence(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	r := app.sent(t, "Bank records")
	app.fire(t, "es.officer", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
	es := app.as(t, "es.officer")
	page := "/requests/" + r.ID
	m := uploadAction.FindStringSubmatch(es.get(page).must(t, 200).body)
	if m == nil {
		t.Fatal("the request page has no upload form")
	}
	action := html.UnescapeString(m[1])
	for _, d := range []struct{ typ, title, file string }{
		{"evidence", "Estratti conto 2024", "estratti.pdf"},
		{"annex", "Nota di accompagnamento", "nota.pdf"},
	} {
		es.uploadForm(action, map[string]string{"type": d.typ, "language": "es", "title": d.title}, d.file, uploadPDF).must(t, http.StatusSeeOther)
	}
	docs, err := app.wf.Documents(t.Context(), app.actor(t, "es.officer"), r.ID)
	if err != nil || len(docs) != 2 {
		t.Fatalf("documents: %v %v", docs, err)
	}
	evidence, annex := docs[0].ID, docs[1].ID

	// The form offers the evidence, not the annex.
	es.get(page).must(t, 200).has(t, `name="documents" value="`+evidence+`"`, "Evidence handed over").
		lacks(t, `name="documents" value="`+annex+`"`)

	// An annex is no evidence: the form comes back open, with the reason.
	es.post(page+"/events/deliver", url.Values{"comment": {"x"}, "documents": {annex}}).
		must(t, http.StatusUnprocessableEntity).has(t, "evidence or an execution report")

	es.post(page+"/events/deliver", url.Values{"comment": {"Statements of 2024 enclosed"}, "documents": {evidence}}).
		must(t, http.StatusSeeOther)
	for _, user := range []string{"es.officer", "it.officer"} {
		app.as(t, user).get(page).must(t, 200).has(t, "Documents handed over:",
			`<a href="/documents/`+evidence+`/content" download="estratti.pdf">Estratti conto 2024</a>`)
	}
	h, err := app.wf.History(t.Context(), app.actor(t, "it.officer"), r.ID)
	if err != nil || len(h) == 0 || h[len(h)-1].Event != workflow.EventDeliver || len(h[len(h)-1].Documents) != 1 || h[len(h)-1].Documents[0] != evidence {
		t.Errorf("history after the form's delivery: %+v %v", h, err)
	}
}
