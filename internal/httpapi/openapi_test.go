package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/testkit/apispec"
)

// The API's tests check every answer they get against the OpenAPI
// description (openapi.yaml) as it is served: newTestServerWith wraps the
// router in specChecked (internal/testkit/apispec), so that an answer whose
// status, content type or body the description does not give fails the
// test that got it, and so does a request to a route the description does
// not have (unless the router, too, knew no such route). TestOpenAPIRoutes
// checks the other direction: every route of the router is described, and
// every described route but the training ones exists.

func specChecked(tb testing.TB, h http.Handler) http.Handler {
	return apispec.Checked(tb, h, OpenAPI())
}

// trainingTag marks the operations of CONTRACT 7, which the live server
// routes when it runs training exercises; this package's test server does
// not (an exercise manager needs the pages and worlds of cmd/server), so
// internal/exercise's tests check those answers against the description.
const trainingTag = "training"

// TestOpenAPIRoutes checks that the description and the router agree:
// every route of the Echo instance is described, with its method, and
// every described operation but the training ones is routed.
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
	training := map[string]bool{}
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
			if slices.Contains(op.Tags, trainingTag) {
				training[key] = true
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
		t.Errorf("routes the description lacks (or marks as training's): %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("described operations that are not routed: %v", extra)
	}
	if len(described) < 30 || len(training) < 9 {
		t.Errorf("described %d operations and %d of training: fewer than expected", len(described), len(training))
	}
}

// TestOpenAPIDocument checks the description itself: it is OpenAPI 3.1,
// valid by the specification's own schema, served publicly as JSON.
func TestOpenAPIDocument(t *testing.T) {
	check, err := apispec.Load(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if ok, errs := check.V.ValidateDocument(); !ok {
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
	check, err := apispec.Load(OpenAPI())
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
		tw := apispec.NewTeeWriter(rec)
		tw.Header().Set("Content-Type", c.contentType)
		tw.WriteHeader(c.status)
		_, _ = tw.Write([]byte(c.body))
		if problem := check.Answer(req, tw); problem == "" {
			t.Errorf("%s: not caught", c.name)
		}
	}
}
