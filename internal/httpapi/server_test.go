package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"
	"github.com/mla-flow/mla-flow/internal/testworld"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/blob"
	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// forEachDB runs fn once per test database, as subtests named after it.
func forEachDB(t *testing.T, fn func(t *testing.T, db testdb.Backend)) { testdb.Each(t, fn) }

// testServer is the real router over a real store holding the demo world.
type testServer struct {
	handler http.Handler // the router, its answers checked against the OpenAPI description
	echo    *echo.Echo
	events  *events.Hub
	store   *store.Store
	wf      *workflow.Service
	auth    *auth.Authenticator
	clock   *testkit.Clock
	secret  []byte
	logs    *testkit.SyncBuffer
	blobs   *blob.Dir

	mu     sync.Mutex
	tokens map[string]string
}

// newTestServer starts the API on a fresh SQLite file with the demo world
// (bcrypt at its minimum cost, to stay fast).
func newTestServer(tb testing.TB) *testServer { return newTestServerOn(tb, testdb.SQLite) }

// newTestServerOn starts the API on a fresh database of the given kind.
func newTestServerOn(tb testing.TB, db testdb.Backend) *testServer {
	return newTestServerWith(tb, db, testworld.Options{})
}

// newTestServerWith starts the API on a fresh database of the given kind,
// its world built with o (whose Logger it sets).
func newTestServerWith(tb testing.TB, db testdb.Backend, o testworld.Options) *testServer {
	tb.Helper()
	logs := &testkit.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Logger = logger
	w := testworld.New(tb, db, o)
	hub := events.NewHub(w.Store, events.Options{Poll: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Recheck: 50 * time.Millisecond, Logger: logger})
	tb.Cleanup(hub.Close)
	h := New(Deps{Workflow: w.Workflow, Auth: w.Auth, Webhooks: w.Webhooks, Ready: w.Store.Ping, Logger: logger, Idempotency: w.Store, Events: hub})
	return &testServer{
		handler: specChecked(tb, h), echo: h, events: hub, store: w.Store, wf: w.Workflow, auth: w.Auth, clock: w.Clock, secret: testworld.Secret, logs: logs, blobs: w.Blobs,
		tokens: map[string]string{},
	}
}

// login returns an access token of the demo user, logging in once per
// server.
func (s *testServer) login(tb testing.TB, username string) string {
	tb.Helper()
	s.mu.Lock()
	tok, ok := s.tokens[username]
	s.mu.Unlock()
	if ok {
		return tok
	}
	status, body := s.do(tb, "", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": username, "password": demo.Password})
	if status != http.StatusOK {
		tb.Fatalf("log in as %s: %d %v", username, status, body)
	}
	tok = body["access_token"].(string)
	s.mu.Lock()
	s.tokens[username] = tok
	s.mu.Unlock()
	return tok
}

// do sends a request and decodes the JSON answer. body is sent as JSON,
// or as is when it is a string or []byte; nil sends none.
func (s *testServer) do(tb testing.TB, token, method, path string, body any) (int, map[string]any) {
	tb.Helper()
	rec := s.raw(tb, token, method, path, body, nil)
	var out map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			tb.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, rec.Body.String())
		}
	}
	return rec.Code, out
}

// raw sends a request and returns the recorded answer.
// unchecked is the server without the check of its answers against the
// OpenAPI description, for the tests of middleware on routes or answers
// of their own that no client ever meets.
func (s *testServer) unchecked() *testServer {
	s.handler = s.echo
	return s
}

func (s *testServer) raw(tb testing.TB, token, method, path string, body any, header http.Header) *httptest.ResponseRecorder {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}

// errorCode returns the contract's error code of an answer body.
// text is v as a string, "" when it is missing or not a string: a check
// that a field is set must not pass on a field that is absent (nil).
func text(v any) string {
	s, _ := v.(string)
	return s
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// errorFields returns the fields of an error answer.
func errorFields(body map[string]any) map[string]any {
	e, _ := body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

// wantError fails unless the answer is the given status and error code.
func wantError(tb testing.TB, status int, body map[string]any, wantStatus int, wantCode string) {
	tb.Helper()
	if status != wantStatus || errorCode(body) != wantCode {
		tb.Fatalf("got %d %v, want %d %s", status, body, wantStatus, wantCode)
	}
}

// newDraft creates an mla draft from IT to ES as it.officer and returns it.
func (s *testServer) newDraft(tb testing.TB) map[string]any {
	tb.Helper()
	status, body := s.do(tb, s.login(tb, "it.officer"), http.MethodPost, "/api/v1/requests", map[string]any{
		"kind": "mla", "requested_authority": "ES", "title": "Bank records of Rossi Srl",
		"summary": "Accounts used to launder proceeds", "offences": []string{"money laundering"},
		"measures": []string{"bank_records"},
	})
	if status != http.StatusCreated {
		tb.Fatalf("create draft: %d %v", status, body)
	}
	return body
}

// pathTo is the route of a request, or of one of its sub-resources.
func pathTo(id string, sub ...string) string {
	return "/api/v1/requests/" + id + strings.Join(append([]string{""}, sub...), "/")
}

// fire fires an event as the user and fails the test unless it succeeds.
func (s *testServer) fire(tb testing.TB, username, id string, event workflow.Event) map[string]any {
	tb.Helper()
	status, body := s.do(tb, s.login(tb, username), http.MethodPost, pathTo(id, "events"), payloadFor(event))
	if status != http.StatusOK {
		tb.Fatalf("%s fires %s: %d %v", username, event, status, body)
	}
	return body
}

// payloadFor is a valid body for firing the event at an mla request.
func payloadFor(event workflow.Event) map[string]any {
	p := map[string]any{"event": event}
	t, _ := workflow.Lookup(event)
	if t.NeedsField(workflow.FieldGrounds) {
		p["grounds"] = []string{"dual_criminality"}
	} else {
		p["comment"] = "as agreed by telephone"
	}
	return p
}

// pathToState lists the events, and who fires them, that take a new draft
// (IT to ES) into the state: the table's shortest run, each step by the
// side's officer when the table lets one fire it, else its supervisor.
func pathToState(state workflow.State) []struct {
	user  string
	event workflow.Event
} {
	var out []struct {
		user  string
		event workflow.Event
	}
	for _, t := range workflow.PathTo(state) {
		who := "it."
		if t.Side == workflow.SideRequested {
			who = "es."
		}
		if slices.Contains(t.Roles, workflow.RoleOfficer) {
			who += "officer"
		} else {
			who += "supervisor"
		}
		out = append(out, struct {
			user  string
			event workflow.Event
		}{who, t.Event})
	}
	return out
}

// requestIn creates a request from IT to ES and drives it into the state.
func (s *testServer) requestIn(tb testing.TB, state workflow.State) map[string]any {
	tb.Helper()
	r := s.newDraft(tb)
	id := r["id"].(string)
	for _, step := range pathToState(state) {
		r = s.fire(tb, step.user, id, step.event)
	}
	if r["state"] != string(state) {
		tb.Fatalf("drove the request to %v, want %s", r["state"], state)
	}
	return r
}

// loginWith logs in with a password and returns a fresh token.
// loginReplacing logs in with a temporary password, replacing it with
// newPassword, and returns the access token.
func (s *testServer) loginReplacing(tb testing.TB, username, password, newPassword string) string {
	tb.Helper()
	status, body := s.do(tb, "", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": username, "password": password, "new_password": newPassword})
	if status != http.StatusOK {
		tb.Fatalf("log in as %s replacing the password: %d %v", username, status, body)
	}
	return body["access_token"].(string)
}

func (s *testServer) loginWith(tb testing.TB, username, password string) string {
	tb.Helper()
	status, body := s.do(tb, "", http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": username, "password": password})
	if status != http.StatusOK {
		tb.Fatalf("log in as %s: %d %v", username, status, body)
	}
	return body["access_token"].(string)
}
