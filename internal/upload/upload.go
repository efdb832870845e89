// Package upload reads a document's upload, a multipart/form-data body, and
// serves its download, for the REST API and the web pages alike: the file
// part streamed into the workflow's blob store (Service.ReceiveContent),
// never whole in memory, and the metadata parts, bounded, whichever order
// the client sent them in; the download as an attachment, never sniffed.
package upload

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Slack is how many bytes a body may hold beyond the document itself: the
// multipart framing and the metadata fields.
const Slack = 64 << 10

// maxField bounds one metadata field.
const maxField = 4 << 10

// Upload is what a client sent: the metadata, the content received (empty
// Key when no file came), and any other fields the caller accepts (the web
// form's CSRF token).
type Upload struct {
	Input   workflow.DocumentInput
	Content workflow.Content
	Extra   map[string]string
}

// Read reads the upload of r. extra names fields besides the metadata that
// the caller accepts; any other field is a validation error. On error,
// anything received is discarded; on success the caller files the content
// (Service.AddDocument) or discards it.
func Read(r *http.Request, wf *workflow.Service, extra ...string) (u Upload, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return Upload{}, &workflow.Error{Code: workflow.ErrBadRequest, Message: "an upload is a multipart/form-data body"}
	}
	ctx := r.Context()
	defer func() {
		if err != nil {
			wf.DiscardContent(ctx, u.Content)
		}
	}()
	u.Extra = map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return u, malformed(err)
		}
		name := p.FormName()
		if name == "file" {
			if u.Content.Key != "" {
				return u, workflow.Invalid("file", "only one file per upload")
			}
			u.Input.Filename = p.FileName()
			if u.Content, err = wf.ReceiveContent(ctx, p); err != nil {
				return u, err
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, maxField+1))
		if err != nil {
			return u, malformed(err)
		}
		if len(b) > maxField {
			return u, workflow.Invalid(name, "is too long")
		}
		v := string(b)
		if problem := workflow.TextProblem(v); problem != "" {
			return u, workflow.Invalid(name, problem)
		}
		switch name {
		case "type":
			u.Input.Type = workflow.DocumentType(v)
		case "language":
			u.Input.Language = v
		case "title":
			u.Input.Title = v
		case "translation_of":
			u.Input.TranslationOf = strings.TrimSpace(v)
		case "translation_status":
			u.Input.TranslationStatus = workflow.TranslationStatus(v)
		case "version":
			if strings.TrimSpace(v) == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return u, workflow.Invalid("version", "must be a whole number")
			}
			u.Input.Version = &n
		default:
			known := false
			for _, e := range extra {
				known = known || e == name
			}
			if !known {
				return u, workflow.Invalid(truncate(name), "is not a field of an upload")
			}
			u.Extra[name] = v
		}
	}
	if u.Content.Key == "" {
		return u, workflow.Invalid("file", "is required")
	}
	return u, nil
}

// malformed is the error of a body that is not readable multipart: too
// large when the server's body limit cut it, else a bad request.
func malformed(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return &workflow.Error{Code: workflow.ErrBadRequest, Message: "the multipart body is malformed"}
}

func truncate(s string) string {
	if len(s) > 40 || workflow.TextProblem(s) != "" {
		return "field"
	}
	return s
}

// UploadTimeout is how long an upload's body may take to arrive: the
// server's read timeout (30 s) suits JSON bodies, not 25 MiB over a slow
// line between two ministries.
const UploadTimeout = 15 * time.Minute

// AllowTime gives the upload being read on w UploadTimeout to arrive,
// instead of the server's read timeout. A writer that cannot (a test's
// recorder) is left as it is.
func AllowTime(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(UploadTimeout))
}

// IsUpload tells whether a route takes uploads, so that the server's body
// limit gives it the document limit rather than the JSON limit: POST to a
// path ending in /documents, the API's or the page's.
func IsUpload(method, routePath string) bool {
	return method == http.MethodPost && strings.HasSuffix(routePath, "/documents")
}

// Serve writes d's verified bytes from f as an attachment, in the
// stored media type, never sniffed. The bytes are hashed again as they go
// out: should they have changed between the check and the sending, the
// connection is cut rather than the answer completed, so that the client
// sees a broken download and not a whole one.
func Serve(w http.ResponseWriter, d workflow.CaseDocument, f io.Reader) error {
	h := w.Header()
	h.Set(echo.HeaderContentType, d.MediaType)
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": d.Filename}))
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	h.Set(echo.HeaderContentLength, strconv.FormatInt(d.Size, 10))
	w.WriteHeader(http.StatusOK)
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, sum), f)
	if err != nil || n != d.Size || hex.EncodeToString(sum.Sum(nil)) != d.SHA256 {
		panic(http.ErrAbortHandler)
	}
	return nil
}
