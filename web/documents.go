package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/upload"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The case file on the request's page (CONTRACT 6): its documents, which
// languages it is available in, and the upload form. The form is a plain
// multipart form that works without JavaScript; its CSRF token travels in
// the form's address (the body is streamed to disk, never parsed whole to
// find a field), and the server's check reads it there for an upload.

// caseFileView is the case file as the request page shows it.
type caseFileView struct {
	RequestID     string
	Documents     []documentView
	LanguagesDone []string
	MayUpload     bool
	CSRF          string // for the translation status forms
	Statuses      []statusOption
	Types         []documentTypeOption
	Originals     []documentView // what a translation may render
	MaxSize       string
	UploadAction  string // the form's address, with its CSRF token
	// A refused upload: Failed, with what was wrong with each field, or
	// (ErrorMessage) with the whole file.
	Failed       bool
	Errors       map[string]string
	ErrorMessage string
}

// documentView is one document's row.
type documentView struct {
	workflow.CaseDocument
	TypeLabel   string
	SizeLabel   string
	ShortSHA    string
	StatusLabel string
	Original    string // the title of the document it translates
}

// translationOptions are the statuses the page offers to set.
var translationOptions = []workflow.TranslationStatus{workflow.TranslationNeeded, workflow.TranslationInProgress, workflow.TranslationDone}

type statusOption struct {
	Value workflow.TranslationStatus
	Label string
}

type documentTypeOption struct {
	Value workflow.DocumentType
	Label string
}

var documentTypeLabels = map[workflow.DocumentType]string{
	workflow.DocLetterOfRequest: "Letter of request", workflow.DocAnnex: "Annex",
	workflow.DocTranslation: "Translation", workflow.DocWarrant: "Warrant",
	workflow.DocJudgment: "Judgment", workflow.DocEvidence: "Evidence",
	workflow.DocExecutionReport: "Execution report", workflow.DocOther: "Other",
}

var translationLabels = map[workflow.TranslationStatus]string{
	workflow.TranslationNeeded: "Translation needed", workflow.TranslationInProgress: "Translation in progress",
	workflow.TranslationDone: "Translated",
}

// sizeLabel says a size briefly, in binary units.
func sizeLabel(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// caseFile builds the case file of r, which a may see.
func (h *Handler) caseFile(c echo.Context, a workflow.Actor, r workflow.Request) (caseFileView, error) {
	docs, err := h.wf.Documents(c.Request().Context(), a, r.ID)
	if err != nil {
		return caseFileView{}, err
	}
	v := caseFileView{
		RequestID: r.ID, LanguagesDone: workflow.LanguagesDone(docs),
		MayUpload: h.wf.Policy().MayAddDocument(a, r), MaxSize: sizeLabel(h.wf.MaxDocument()),
		UploadAction: "/requests/" + r.ID + "/documents?" + csrfField + "=" + h.csrfToken(c, userOf(c).ID),
	}
	titles := map[string]string{}
	for _, d := range docs {
		titles[d.ID] = d.Title
	}
	for _, d := range docs {
		dv := documentView{
			CaseDocument: d, TypeLabel: labelOr(documentTypeLabels, d.Type), SizeLabel: sizeLabel(d.Size),
			ShortSHA: d.SHA256[:min(12, len(d.SHA256))], StatusLabel: translationLabels[d.TranslationStatus],
			Original: titles[d.TranslationOf],
		}
		v.Documents = append(v.Documents, dv)
		if d.TranslationOf == "" {
			v.Originals = append(v.Originals, dv)
		}
	}
	v.CSRF = h.csrfToken(c, userOf(c).ID)
	for _, st := range translationOptions {
		v.Statuses = append(v.Statuses, statusOption{st, translationLabels[st]})
	}
	for _, t := range workflow.DocumentTypes {
		v.Types = append(v.Types, documentTypeOption{t, documentTypeLabels[t]})
	}
	return v, nil
}

// handleUploadDocument files a document from the page's form, and comes
// back to the request's page: with a confirmation, or with what was wrong.
func (h *Handler) handleUploadDocument() echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, a, id := c.Request().Context(), actorOf(c), c.Param("id")
		err := h.wf.CheckUpload(ctx, a, id)
		if err != nil {
			return err
		}
		upload.AllowTime(c.Response())
		u, err := upload.Read(c.Request(), h.wf, csrfField)
		if err == nil {
			_, err = h.wf.AddDocument(ctx, a, id, u.Input, u.Content)
		}
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/requests/"+id+"?done=document#documents-title")
		}
		code := workflow.ErrorCode(err)
		switch code {
		case workflow.ErrValidation, workflow.ErrVersionConflict, workflow.ErrTooLarge, workflow.ErrUnsupportedMediaType:
		default:
			return err
		}
		v, out, verr := h.refusedView(c, id, code)
		if verr != nil {
			return verr
		}
		msg := "the upload was refused"
		var we *workflow.Error
		if errors.As(err, &we) {
			msg = strings.TrimSuffix(we.Message, ".")
			v.Case.Errors = we.Fields
		}
		v.Case.Failed = true
		if len(v.Case.Errors) == 0 {
			v.Case.ErrorMessage = "The document was not added: " + msg + "."
		}
		out.alert = "The document was not added: " + msg + "."
		return h.render(c, out)
	}
}

// handleDownloadDocument serves a document's bytes, checked against their
// SHA-256 first, as the API does.
func (h *Handler) handleDownloadDocument() echo.HandlerFunc {
	return func(c echo.Context) error {
		d, f, err := h.wf.OpenDocument(c.Request().Context(), actorOf(c), c.Param("id"))
		if err != nil {
			return err
		}
		defer f.Close()
		return upload.Serve(c.Response(), d, f)
	}
}

// handleTranslationStatus sets a document's translation status from the
// page's form, and comes back to its request's page.
func (h *Handler) handleTranslationStatus() echo.HandlerFunc {
	return func(c echo.Context) error {
		d, err := h.wf.SetTranslationStatus(c.Request().Context(), actorOf(c), c.Param("id"),
			workflow.TranslationStatus(c.FormValue("translation_status")))
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/requests/"+d.RequestID+"?done=translation#documents-title")
	}
}
