// Package apispec checks a server's answers against its OpenAPI
// description in tests: Checked wraps a handler so that an answer whose
// status, content type or body the description does not give fails the
// test, and so does a request to a route the description lacks (unless the
// router, too, answered it as a route it does not have).
package apispec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

var (
	mu         sync.Mutex
	validators = map[string]*Spec{}
)

// Load returns the checker of the description spec (JSON or YAML), built
// once per description.
func Load(spec []byte) (*Spec, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := validators[string(spec)]; ok {
		return s, nil
	}
	s, err := load(spec)
	if err == nil {
		validators[string(spec)] = s
	}
	return s, err
}

func load(spec []byte) (*Spec, error) {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, err
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build the OpenAPI model: %w", err)
	}
	opts := []config.Option{config.WithFormatAssertions()}
	v, errs := validator.NewValidator(doc, opts...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("validator: %v", errs)
	}
	return &Spec{V: v, model: &model.Model, opts: config.NewValidationOptions(opts...)}, nil
}

// Spec is a loaded description.
type Spec struct {
	V     validator.Validator
	model *v3.Document
	opts  *config.ValidationOptions
}

// documented reports whether the description has r's method and path.
func (s *Spec) documented(r *http.Request) bool {
	item, errs, _ := paths.FindPath(r, s.model, s.opts)
	return item != nil && len(errs) == 0 && helpers.ExtractOperation(r, item) != nil
}

// maxChecked bounds how much of an answer's body is kept for the check.
const maxChecked = 4 << 20

// servesJSON tells the paths of the API and the probes.
func servesJSON(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz"
}

// Checked wraps h so that every answer to an API path is checked against
// the description spec, and a failure fails tb.
func Checked(tb testing.TB, h http.Handler, spec []byte) http.Handler {
	check, err := Load(spec)
	if err != nil {
		tb.Fatalf("OpenAPI description: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !servesJSON(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		req := r.Clone(r.Context())
		req.Body = http.NoBody
		tw := &TeeWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(tw, r)
		if tw.hijacked {
			return
		}
		if problem := check.Answer(req, tw); problem != "" {
			tb.Errorf("OpenAPI: %s %s answered %d %s, which the description does not allow: %s\nbody: %.600s",
				r.Method, r.URL.Path, tw.status, tw.Header().Get("Content-Type"), problem, tw.body.String())
		}
	})
}

// Answer says what is wrong with the answer tw recorded to req, "" if
// nothing.
func (s *Spec) Answer(req *http.Request, tw *TeeWriter) string {
	if !s.documented(req) {
		// No such route: only what the router and the middleware answer
		// for a path they do not route may come back.
		var body struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(tw.body.Bytes(), &body)
		switch {
		case tw.status == http.StatusNotFound && body.Error.Code == "not_found",
			tw.status == http.StatusMethodNotAllowed && body.Error.Code == "method_not_allowed",
			tw.status == http.StatusBadRequest && body.Error.Code == "bad_request",
			tw.status == http.StatusRequestEntityTooLarge && body.Error.Code == "too_large":
			return ""
		case req.Method == http.MethodHead && (tw.status == http.StatusNotFound || tw.status == http.StatusMethodNotAllowed):
			return "" // a HEAD answer has no body
		}
		return "the route is not in the description"
	}
	if req.URL.Path == "/api/v1/events" && tw.status == http.StatusOK {
		// A stream: its content type is checked, its events by the
		// stream's own tests against EventStreamData.
		if !strings.HasPrefix(tw.Header().Get("Content-Type"), "text/event-stream") {
			return "a stream must be text/event-stream"
		}
		return ""
	}
	if tw.truncated {
		return "" // too large to check whole (a document's bytes)
	}
	resp := &http.Response{
		StatusCode: tw.status, Header: tw.Header().Clone(), Request: req,
		Body: io.NopCloser(bytes.NewReader(tw.body.Bytes())),
	}
	if ok, errs := s.V.ValidateHttpResponse(req, resp); !ok {
		msgs := make([]string, 0, len(errs))
		for _, e := range errs {
			m := e.Message
			if e.Reason != "" {
				m += " (" + e.Reason + ")"
			}
			for _, se := range e.SchemaValidationErrors {
				m += fmt.Sprintf("; %s: %s", se.FieldPath, se.Reason)
			}
			msgs = append(msgs, m)
		}
		return strings.Join(msgs, " | ")
	}
	return ""
}

// TeeWriter passes an answer through and keeps its status and (up to
// maxChecked) body for the check; flushing and hijacking pass through,
// so that streams and cut connections behave as without it.
type TeeWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
	truncated   bool
	hijacked    bool
}

func (t *TeeWriter) WriteHeader(code int) {
	if !t.wroteHeader {
		t.status, t.wroteHeader = code, true
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *TeeWriter) Write(p []byte) (int, error) {
	t.wroteHeader = true
	if t.body.Len()+len(p) <= maxChecked {
		t.body.Write(p)
	} else {
		t.truncated = true
	}
	return t.ResponseWriter.Write(p)
}

func (t *TeeWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (t *TeeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := t.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	t.hijacked = true
	return hj.Hijack()
}

func (t *TeeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// NewTeeWriter records an answer written to w, for Answer.
func NewTeeWriter(w http.ResponseWriter) *TeeWriter {
	return &TeeWriter{ResponseWriter: w, status: http.StatusOK}
}
