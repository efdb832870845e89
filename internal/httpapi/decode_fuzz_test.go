package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// FuzzDecodeBodies feeds arbitrary bodies to the strict decoder of every
// JSON input the API reads. Whatever arrives, decoding either succeeds or
// fails with the contract's bad_request or too_large, or validation_failed
// naming the field of a text with NUL, never a panic or any other error;
// and what it accepts converts to the domain without panic.
// `go test` runs the seeds; `go test -fuzz FuzzDecodeBodies` explores.
func FuzzDecodeBodies(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, `null`, `""`, `{"kind":"mla","requested_authority":"ES","title":"x"}`,
		`{"event":"refuse","grounds":["dual_criminality"],"version":3}`,
		`{"event":"send","version":"3"}`, `{"event":1}`, `{"comment":null,"grounds":null}`,
		`{"person_sought":{"name":"A","aliases":["B"]},"warrant":{"type":"judgment"}}`,
		`{"person_sought":null,"due_date":null,"kind":null}`, `{"person_sought":{"eyes":"blue"}}`,
		`{"title":"\u0000\ud800"}`, `{"a":1}{"b":2}`, `{"title":"x"} trailing`, `{`, `{"title":`,
		`{"offences":[1,2]}`, `{"measures":"bank_records"}`, `{"username":"a","password":"b"}`,
		`{"role":"admin","authority":null,"disabled":true}`, strings.Repeat(`[`, 10000),
	} {
		f.Add([]byte(seed))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		decode := func(v any) error {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
			req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, MaxBody)
			err := decodeJSON(e.NewContext(req, httptest.NewRecorder()), v)
			if err == nil {
				return nil
			}
			var we *workflow.Error
			switch {
			case !errors.As(err, &we):
				t.Fatalf("body %q: error %v, want a *workflow.Error", body, err)
			case we.Code == workflow.ErrValidation && len(we.Fields) == 1 && strings.Contains(string(body), `\u0000`):
			case we.Code != workflow.ErrBadRequest && we.Code != workflow.ErrTooLarge:
				t.Fatalf("body %q: error %v (code %q), want bad_request, too_large or validation_failed of a NUL", body, err, we.Code)
			}
			return err
		}
		var create createInput
		if decode(&create) == nil {
			_ = create.toDomain()
		}
		var update updateInput
		if decode(&update) == nil {
			_ = update.toDomain()
		}
		var fire fireInput
		if decode(&fire) == nil {
			_ = fire.toDomain()
		}
		var login loginInput
		_ = decode(&login)
		var user newUserInput
		_ = decode(&user)
		var changes userChangesInput
		_ = decode(&changes)
	})
}
