package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// The API's tests check every answer they get against the OpenAPI
// description (openapi.yaml) as it is served: newTestServerWith wraps the
// router in specChecked, so that an answer whose status, content type or
// body the description does not give fails the test that got it, and so
// does a request to a route the description does not have (unless the
// router, too, knew no such route). TestOpenAPIRoutes checks the other
// direction: every route of the router is described, and every described
// route but the pending ones exists.

// specValidator is the validator of the served description, built once.
var specValidator = sync.OnceValues(func() (*specCheck, error) {
	doc, err := libopenapi.NewDocument(OpenAPI())
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
	return &specCheck{v: v, model: &model.Model, opts: config.NewValidationOptions(opts...)}, nil
})

type specCheck struct {
	v     validator.Validator
	model *v3.Document
	opts  *config.ValidationOptions
}

// documented reports whether the description has r's method and path.
func (s *specCheck) documented(r *http.Request) bool {
	item, errs, _ := paths.FindPath(r, s.model, s.opts)
	return item != nil && len(errs) == 0 && helpers.ExtractOperation(r, item) != nil
}

// maxChecked bounds how much of an answer's body is kept for the check.
const maxChecked = 4 << 20

// specChecked wraps h so that every answer to an API path is checked
// against the description, and a failure fails tb.
func specChecked(tb testing.TB, h http.Handler) http.Handler {
	check, err := specValidator()
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
		tw := &teeWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(tw, r)
		if tw.hijacked {
			return
		}
		if problem := check.answer(req, tw); problem != "" {
			tb.Errorf("OpenAPI: %s %s answered %d %s, which the description does not allow: %s\nbody: %.600s",
				r.Method, r.URL.Path, tw.status, tw.Header().Get("Content-Type"), problem, tw.body.String())
		}
	})
}

// answer says what is wrong with the answer tw recorded to req, "" if
// nothing.
func (s *specCheck) answer(req *http.Request, tw *teeWriter) string {
	if !s.documented(req) {
		// No such route: only what the router and the middleware answer
		// for a path they do not route may come back.
		var body errorJSON
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
	if ok, errs := s.v.ValidateHttpResponse(req, resp); !ok {
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

// teeWriter passes an answer through and keeps its status and (up to
// maxChecked) body for the check; flushing and hijacking pass through,
// so that streams and cut connections behave as without it.
type teeWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
	truncated   bool
	hijacked    bool
}

func (t *teeWriter) WriteHeader(code int) {
	if !t.wroteHeader {
		t.status, t.wroteHeader = code, true
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.wroteHeader = true
	if t.body.Len()+len(p) <= maxChecked {
		t.body.Write(p)
	} else {
		t.truncated = true
	}
	return t.ResponseWriter.Write(p)
}

func (t *teeWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (t *teeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := t.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	t.hijacked = true
	return hj.Hijack()
}

func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// pendingTag marks the operations of CONTRACT 7 and 8 that other branches
// build; they are described but not routed yet.
const pendingTag = "pending"

// TestOpenAPIRoutes checks that the description and the router agree:
// every route of the Echo instance is described, with its method, and
// every described operation but the pending ones is routed.
func TestOpenAPIRoutes(t *testing.T) {
	s := newTestServer(t)
	e := s.echo
	param := regexp.MustCompile(`:([a-z_]+)`)
	routed := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || strings.HasSuffix(r.Path, "/*") {
			continue
		}
		routed[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	described := map[string]bool{}
	pending := map[string]bool{}
	for p, item := range doc.Paths {
		for m, raw := range item {
			if m == "parameters" {
				continue
			}
			key := strings.ToUpper(m) + " " + p
			var op struct {
				Tags []string `json:"tags"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(op.Tags, pendingTag) {
				pending[key] = true
			} else {
				described[key] = true
			}
		}
	}
	var missing, extra []string
	for k := range routed {
		if !described[k] {
			missing = append(missing, k)
		}
	}
	for k := range described {
		if !routed[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes the description lacks (or marks pending): %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("described operations that are not routed: %v", extra)
	}
	if len(described) < 30 || len(pending) < 10 {
		t.Errorf("described %d operations and %d pending: fewer than expected", len(described), len(pending))
	}
}

// TestOpenAPIDocument checks the description itself: it is OpenAPI 3.1,
// valid by the specification's own schema, served publicly as JSON.
func TestOpenAPIDocument(t *testing.T) {
	check, err := specValidator()
	if err != nil {
		t.Fatal(err)
	}
	if ok, errs := check.v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("invalid description: %s %s", e.Message, e.Reason)
		}
	}
	s := newTestServer(t)
	rec := s.raw(t, "", http.MethodGet, "/api/v1/openapi.json", nil, nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json is not an OpenAPI 3.1 document: %v %v", err, doc["openapi"])
	}

	rec = s.raw(t, "", http.MethodGet, "/api/docs", nil, nil)
	page := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("/api/docs: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{"<code>GET /api/v1/events</code>", "<code>POST /api/v1/requests/{id}/events</code>",
		"<code>POST /api/v1/webhooks</code>", `href="/api/v1/openapi.json"`} {
		if !strings.Contains(page, want) {
			t.Errorf("/api/docs lacks %s", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("/api/docs has a script")
	}
}

// TestOpenAPICatchesDrift checks that the check can fail: an answer that
// the description does not give, and a route it does not have, are found.
func TestOpenAPICatchesDrift(t *testing.T) {
	check, err := specValidator()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path string
		status             int
		contentType, body  string
	}{
		{"field missing", "GET", "/api/v1/me", 200, "application/json", `{"id":"x","username":"u","display_name":"","role":"officer"}`},
		{"unknown field", "GET", "/api/v1/me", 200, "application/json", `{"id":"x","username":"u","display_name":"","role":"officer","authority":null,"secret":1}`},
		{"status not described", "GET", "/api/v1/me", 418, "application/json", `{"error":{"code":"internal","message":"m"}}`},
		{"error shape", "GET", "/api/v1/requests/x", 404, "application/json", `{"code":"not_found"}`},
		{"content type", "GET", "/api/v1/authorities", 200, "text/plain", `{"items":[]}`},
		{"undocumented route", "GET", "/api/v1/secret", 200, "application/json", `{}`},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, c.path, nil)
		rec := httptest.NewRecorder()
		tw := &teeWriter{ResponseWriter: rec, status: http.StatusOK}
		tw.Header().Set("Content-Type", c.contentType)
		tw.WriteHeader(c.status)
		_, _ = tw.Write([]byte(c.body))
		if problem := check.answer(req, tw); problem == "" {
			t.Errorf("%s: not caught", c.name)
		}
	}
}
