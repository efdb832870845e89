package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestLetterPage: the request page links to its letter of request, which
// the web route serves as the API does, to whom sees the request only.
func TestLetterPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		app := newTestApp(t, db)
		draft := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES",
			Title: "Bank records of García Núñez"})
		it := app.as(t, "it.officer")
		it.get("/requests/"+draft.ID).must(t, http.StatusOK).
			has(t, `<a href="/requests/`+draft.ID+`/letter" download>Letter of request (PDF)</a>`,
				`<link rel="stylesheet" href="/static/print.css" media="print">`)

		p := it.get("/requests/"+draft.ID+"/letter").must(t, http.StatusOK)
		if !strings.HasPrefix(p.body, "%PDF-") {
			t.Fatalf("the letter is not a PDF: %.32q", p.body)
		}
		for k, want := range map[string]string{
			"Content-Type":           "application/pdf",
			"Content-Disposition":    `attachment; filename="` + draft.Reference + `.pdf"`,
			"X-Content-Type-Options": "nosniff",
		} {
			if got := p.header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if !strings.Contains(p.body, "/Subject ("+draft.Reference+")") {
			t.Errorf("the PDF does not name its reference %s", draft.Reference)
		}

		// The other side does not see a draft: the not-found page, as for
		// a missing request.
		app.as(t, "es.officer").get("/requests/"+draft.ID+"/letter").must(t, http.StatusNotFound)
		it.get("/requests/no-such-request/letter").must(t, http.StatusNotFound)
		// The print style sheet is served.
		it.get("/static/print.css").must(t, http.StatusOK).has(t, "@page", ".site-nav")
	})
}
