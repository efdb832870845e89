package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/upload"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// documentJSON is a document of the case file (CONTRACT 6).
type documentJSON struct {
	ID                string  `json:"id"`
	RequestID         string  `json:"request_id"`
	Type              string  `json:"type"`
	Language          string  `json:"language"`
	Title             string  `json:"title"`
	Filename          string  `json:"filename"`
	MediaType         string  `json:"media_type"`
	Size              int64   `json:"size"`
	SHA256            string  `json:"sha256"`
	TranslationOf     *string `json:"translation_of"`
	TranslationStatus *string `json:"translation_status"`
	UploadedBy        string  `json:"uploaded_by"`
	Authority         string  `json:"authority"`
	At                string  `json:"at"`
}

func toDocumentJSON(d workflow.CaseDocument) documentJSON {
	return documentJSON{
		ID: d.ID, RequestID: d.RequestID, Type: string(d.Type), Language: d.Language, Title: d.Title,
		Filename: d.Filename, MediaType: d.MediaType, Size: d.Size, SHA256: d.SHA256,
		TranslationOf: optionalString(d.TranslationOf), TranslationStatus: optionalString(string(d.TranslationStatus)),
		UploadedBy: d.UploadedBy, Authority: d.Authority, At: timeJSON(d.At),
	}
}

// documentsJSON is the case file of a request: its documents, oldest
// first, and the languages it is available in (added: the originals'
// languages and those of the translations done).
type documentsJSON struct {
	Items         []documentJSON `json:"items"`
	LanguagesDone []string       `json:"languages_done"`
}

// handleUploadDocument files an uploaded document on a request. Who may
// upload is checked before the body is read; the file is streamed into the
// blob store, hashed on the way; the metadata is checked when it is filed.
func handleUploadDocument(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, a, id := c.Request().Context(), actorFrom(c), c.Param("id")
		if err := wf.CheckUpload(ctx, a, id); err != nil {
			return err
		}
		upload.AllowTime(c.Response())
		u, err := upload.Read(c.Request(), wf)
		if err != nil {
			return err
		}
		d, err := wf.AddDocument(ctx, a, id, u.Input, u.Content)
		if err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/documents/"+d.ID)
		return c.JSON(http.StatusCreated, toDocumentJSON(d))
	}
}

// handleListDocuments lists a request's case file.
func handleListDocuments(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		list, err := wf.Documents(c.Request().Context(), actorFrom(c), c.Param("id"))
		if err != nil {
			return err
		}
		out := documentsJSON{Items: make([]documentJSON, len(list)), LanguagesDone: nonNil(workflow.LanguagesDone(list))}
		for i, d := range list {
			out.Items[i] = toDocumentJSON(d)
		}
		return c.JSON(http.StatusOK, out)
	}
}

// handleGetDocument answers one document's metadata.
func handleGetDocument(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		d, err := wf.Document(c.Request().Context(), actorFrom(c), c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toDocumentJSON(d))
	}
}

// documentPatch is the body of PATCH /documents/{id}.
type documentPatch struct {
	TranslationStatus workflow.TranslationStatus `json:"translation_status"`
}

// handleUpdateDocument sets a document's translation status.
func handleUpdateDocument(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in documentPatch
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		d, err := wf.SetTranslationStatus(c.Request().Context(), actorFrom(c), c.Param("id"), in.TranslationStatus)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toDocumentJSON(d))
	}
}

// handleDocumentContent serves a document's bytes, checked against their
// SHA-256 first (Service.OpenDocument).
func handleDocumentContent(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		d, f, err := wf.OpenDocument(c.Request().Context(), actorFrom(c), c.Param("id"))
		if err != nil {
			return err
		}
		defer f.Close()
		return upload.Serve(c.Response(), d, f)
	}
}
