package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"

	"github.com/labstack/echo/v4"
)

// TestInternalErrors: a panic or an unexpected error becomes a generic 500
// in the contract's shape; the cause is logged, never shown.
func TestInternalErrors(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		e := srv.echo
		e.GET("/test/panic", func(echo.Context) error { panic("secret detail") })
		e.GET("/test/error", func(echo.Context) error { return errors.New("database password is hunter2") })
		for _, path := range []string{"/test/panic", "/test/error"} {
			rec := srv.raw(t, "", http.MethodGet, path, nil, nil)
			if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"code":"internal"`) {
				t.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
			}
			if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "hunter2") {
				t.Fatalf("%s shows its cause: %s", path, rec.Body.String())
			}
		}
		logs := srv.logs.String()
		if !strings.Contains(logs, "secret detail") || !strings.Contains(logs, "hunter2") {
			t.Fatalf("causes not logged:\n%s", logs)
		}
	})
}

// TestOptional: absent, null and a value are three different things in a
// partial update.
func TestOptional(t *testing.T) {
	var in updateInput
	if err := decodeString(`{"due_date":null,"title":"x"}`, &in); err != nil {
		t.Fatal(err)
	}
	if !in.DueDate.Set || in.DueDate.Value != "" || !in.Title.Set || in.Title.Value != "x" || in.Summary.Set {
		t.Fatalf("decoded %+v", in)
	}
	ch := in.toDomain()
	if ch.DueDate == nil || *ch.DueDate != "" || ch.Summary != nil || ch.Title == nil {
		t.Fatalf("changes %+v", ch)
	}
}

func decodeString(s string, v any) error {
	e := echo.New()
	req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(s))
	return decodeJSON(e.NewContext(req, nil), v)
}

// TestBadText checks how a NUL in a body is found and its field named.
func TestBadText(t *testing.T) {
	tests := []struct{ body, field string }{
		{`{"title":"a\u0000"}`, "title"},
		{`{"a":{"x":1,"y":[true,null]},"b":"\u0000"}`, "b"},
		{`{"offences":["ok","\u0000"]}`, "offences"},
		{`{"a":[{"b":"ok"},{"b":"x\u0000y"}]}`, "a.b"},
		{`{"person_sought":{"aliases":["\u0000"]}}`, "person_sought.aliases"},
		{`"\u0000"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			field, problem := badText([]byte(tc.body))
			if field != tc.field || problem == "" {
				t.Fatalf("got %q %q, want a problem with %q", field, problem, tc.field)
			}
		})
	}
	for _, body := range []string{`{"title":"a\\u0000"}`, `{"title":"\u00e9"}`, `{}`} {
		if field, problem := badText([]byte(body)); problem != "" {
			t.Errorf("%s: got a problem with %q: %s, want none", body, field, problem)
		}
	}
}

// TestRequireUser: the guard takes a Bearer token in any case of the
// scheme, and refuses anything else as unauthenticated.
func TestRequireUser(t *testing.T) {
	srv := newTestServer(t)
	tok := srv.login(t, "it.officer")
	e := echo.New()
	guarded := requireUser(srv.auth)(func(c echo.Context) error {
		a := actorFrom(c)
		return c.String(http.StatusOK, a.Username+"/"+a.Authority+"/"+string(userFrom(c).Role))
	})
	tests := []struct {
		name, header string
		wantOK       bool
	}{
		{"bearer", "Bearer " + tok, true},
		{"lower-case scheme", "bearer " + tok, true},
		{"upper-case scheme", "BEARER " + tok, true},
		{"none", "", false},
		{"basic", "Basic " + tok, false},
		{"scheme only", "Bearer", false},
		{"scheme and spaces", "Bearer   ", false},
		{"bad token", "Bearer abc", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			err := guarded(e.NewContext(req, rec))
			if !tc.wantOK {
				if workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
					t.Fatalf("got %v, want unauthenticated", err)
				}
				return
			}
			if err != nil || rec.Body.String() != "it.officer/IT/officer" {
				t.Fatalf("got %q, %v", rec.Body.String(), err)
			}
		})
	}
}
