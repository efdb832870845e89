package web_test

import (
	"bytes"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

var uploadPDF = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")

// uploadForm posts the request page's upload form as the browser would,
// to the action the page gave it (with its CSRF token).
func (b *browser) uploadForm(action string, fields map[string]string, filename string, content []byte) page {
	b.tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write(content)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.app.srv.URL+action, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

var uploadAction = regexp.MustCompile(`action="(/requests/[^"]+/documents\?[^"]+)" enctype="multipart/form-data"`)

func TestCaseFilePage_uploadAndDownload(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	r := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records"})
	it := app.as(t, "it.officer")
	m := uploadAction.FindStringSubmatch(it.get("/requests/"+r.ID).must(t, 200).has(t, "Case file", "No documents yet").body)
	if m == nil {
		t.Fatal("the request page has no upload form")
	}
	action := html.UnescapeString(m[1])

	// Without the token the form is refused, whatever it carries.
	u, _ := url.Parse(action)
	it.uploadForm(u.Path, map[string]string{"type": "annex", "language": "it", "title": "Annex"}, "a.pdf", uploadPDF).must(t, http.StatusForbidden)

	// A file the case file does not take: the page again, with the reason.
	it.uploadForm(action, map[string]string{"type": "annex", "language": "it", "title": "Annex"}, "a.html",
		[]byte("<!DOCTYPE html><html><script>x</script></html>")).must(t, http.StatusUnsupportedMediaType).has(t, "The document was not added")
	// A field missing: the form again, with the field's error.
	it.uploadForm(action, map[string]string{"type": "annex", "language": "it"}, "a.pdf", uploadPDF).
		must(t, http.StatusUnprocessableEntity).has(t, `id="doc-title-error"`)

	p := it.uploadForm(action, map[string]string{"type": "annex", "language": "it", "title": "Estratti conto"}, "estratti.pdf", uploadPDF).
		must(t, http.StatusSeeOther)
	it.get(p.location).must(t, 200).has(t, "The document has been added", "Estratti conto", "estratti.pdf", "it.officer (IT)")

	docs, err := app.wf.Documents(t.Context(), app.actor(t, "it.officer"), r.ID)
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents: %v %v", docs, err)
	}
	it.post("/documents/"+docs[0].ID+"/translation", url.Values{"translation_status": {"needed"}}).must(t, http.StatusSeeOther)
	it.get("/requests/"+r.ID).must(t, 200).has(t, "Translation needed")
	link := "/documents/" + docs[0].ID + "/content"
	es := app.as(t, "es.officer")
	es.get(link).must(t, http.StatusNotFound) // a draft's case file is the requesting side's
	app.fire(t, "it.supervisor", r.ID, workflow.EventInput{Event: workflow.EventSend})
	d := es.get(link).must(t, 200)
	if d.body != string(uploadPDF) || d.header.Get("Content-Type") != "application/pdf" ||
		d.header.Get("Content-Disposition") != "attachment; filename=estratti.pdf" {
		t.Errorf("download: %q %v", d.body, d.header)
	}
	app.as(t, "ng.officer").get(link).must(t, http.StatusNotFound)
}
