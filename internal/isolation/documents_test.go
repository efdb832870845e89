package isolation

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The case file (CONTRACT.md section 6): every fixture request has one
// document, added by its requesting side's officer, titled with the
// request's title (so that its secret marks it: a document of a hidden
// request must show up in no answer). Its visibility is the request's.

// pdf is the content of the fixture's documents and of refused uploads.
var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")

// buildDocuments adds a document to every fixture request, through the
// workflow service as its requesting side's officer.
func (w *world) buildDocuments(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, r := range w.requests {
		u := w.users[strings.ToLower(r.requesting)+".officer"]
		a := u.Actor()
		content, err := w.wf.ReceiveContent(ctx, bytes.NewReader(pdf))
		if err != nil {
			t.Fatal(err)
		}
		d, err := w.wf.AddDocument(ctx, a, r.id, workflow.DocumentInput{
			Type: workflow.DocAnnex, Language: "en", Title: r.title, Filename: "annex.pdf",
		}, content)
		if err != nil {
			t.Fatalf("add a document to %s: %v", r, err)
		}
		r.document = d.ID
	}
}

// uploadBody is a refused upload's body: a valid upload with a stale
// version (and for a page, the session's CSRF token is in the query).
func uploadBody(title string, _ bool) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("type", "annex")
	mw.WriteField("language", "en")
	mw.WriteField("title", title)
	mw.WriteField("version", "1000000")
	fw, _ := mw.CreateFormFile("file", "annex.pdf")
	fw.Write(pdf)
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

// documentOps are the checks of the document endpoints: what each sends.
func documentCall(ep *endpoint, id, attempt string) call {
	c := call{ep: ep, path: strings.Replace(ep.path, ":id", id, 1)}
	switch {
	case ep.method == http.MethodPatch:
		// Not a status: refused, after the checks of access, with 422.
		c.json = map[string]any{"translation_status": attempt}
	case ep.method == http.MethodPost:
		c.form = url.Values{"translation_status": {attempt}}
	}
	return c
}

// expectDocument is the answer of a document endpoint on r's document: as
// missing for whoever does not see r; a change refused to those who may
// not add to its case file (403), and otherwise for its bad status (422).
func expectDocument(ep *endpoint, a actor, r *fixtureRequest) outcome {
	if o, refused := gate(ep, a, r); refused {
		return o
	}
	switch {
	case ep.method == http.MethodGet:
		return outcome{status: http.StatusOK}
	case !writes(a):
		return outcome{status: http.StatusForbidden, code: "forbidden"}
	}
	return outcome{status: http.StatusUnprocessableEntity, code: "validation_failed"}
}

// testDocuments walks every document endpoint × every actor × every
// fixture request's document.
func (w *world) testDocuments(t *testing.T) {
	missingDoc := workflow.NewID()
	w.forEachActor(t, func(t *testing.T, s *session) {
		for _, ep := range w.eps.ofClass(classDocument) {
			missing := w.do(t, s, documentCall(ep, missingDoc, w.attempt))
			w.checkStatus(t, ep.key()+" on a missing document as "+s.a.String(), ep, missing, expectDocument(ep, s.a, nobodys))
			for _, r := range w.requests {
				what := ep.key() + " as " + s.a.String() + " on the document of " + r.String()
				want := expectDocument(ep, s.a, r)
				got := w.do(t, s, documentCall(ep, r.document, w.attempt))
				w.checkStatus(t, what, ep, got, want)
				if want.asMissing {
					w.checks.Add(1)
					if g, m := normal(got, r.document), normal(missing, missingDoc); g != m {
						t.Errorf("LEAK: %s: the answer differs from the answer for a missing document, %s", what, firstDifference(g, m))
					}
				}
				if want.status == http.StatusOK && got.status == http.StatusOK {
					w.checks.Add(1)
					switch {
					case strings.HasSuffix(ep.path, "/content") && !bytes.Equal(got.body, pdf):
						t.Errorf("%s: the content is not the document's", what)
					case !strings.HasSuffix(ep.path, "/content") && !bytes.Contains(got.body, []byte(r.document)):
						t.Errorf("%s: the answer is not the document's: %s", what, short(got.body))
					}
				}
			}
		}
	})
}
