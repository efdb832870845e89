package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"

	"github.com/labstack/echo/v4"
)

// TestInternalErrors: a panic or an unexpected error becomes a generic 500
// in the contract's shape; the cause is logged, never shown.
func TestInternalErrors(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		e := srv.handler.(*echo.Echo)
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
