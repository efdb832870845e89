package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// decodeJSON reads the request body into v, strictly: exactly one JSON
// value, no unknown fields, the right types. Every failure is a 400
// bad_request that says what is wrong and, when known, names the field, or
// a 413 when the body outgrew the limit while being read. Missing or
// invalid values are left to the workflow's validation (422).
//
// Strictness catches client mistakes early: a misspelt optional field
// ("legal_bases") would otherwise be dropped silently and the request saved
// without it.
func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// One value only: "{}{}" or "{} x" is a client bug, not two requests.
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return badRequest("the body must hold a single JSON value")
	default:
		if tooLarge(err) {
			return errTooLarge
		}
		return badRequest("the body must hold a single JSON value")
	}
}

// decodeError explains a decoding failure.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case tooLarge(err):
		return errTooLarge
	case errors.Is(err, io.EOF):
		return badRequest("the request body is empty; a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the JSON body ends too early")
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest(fmt.Sprintf("the body must be a JSON object, not %s", typ.Value))
		}
		reason := fmt.Sprintf("must be %s, not %s", jsonTypeName(typ.Type.String()), typ.Value)
		return &workflow.Error{
			Code:    workflow.ErrBadRequest,
			Message: fmt.Sprintf("field %q %s", typ.Field, reason),
			Fields:  map[string]string{typ.Field: reason},
		}
	}
	// encoding/json has no type for an unknown field; its message is
	// stable: `json: unknown field "name"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &workflow.Error{
			Code:    workflow.ErrBadRequest,
			Message: fmt.Sprintf("unknown field %q", name),
			Fields:  map[string]string{name: "unknown field"},
		}
	}
	var ae *workflow.Error
	if errors.As(err, &ae) {
		return ae // from an UnmarshalJSON of this package
	}
	return badRequest("the body is not valid JSON")
}

// tooLarge reports whether a read failed because the body exceeded the
// limit (limitBody's reader, or Echo's BodyLimit if ever used instead).
func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return true
	}
	var he *echo.HTTPError
	return errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge
}

// jsonTypeName names a Go type as a client writing JSON thinks of it.
func jsonTypeName(goType string) string {
	switch {
	case goType == "string" || strings.HasSuffix(goType, ".Kind") || strings.HasSuffix(goType, ".Urgency") ||
		strings.HasSuffix(goType, ".Event"):
		return "a string"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "bool":
		return "true or false"
	}
	return "of another type"
}

func badRequest(msg string) *workflow.Error {
	return &workflow.Error{Code: workflow.ErrBadRequest, Message: msg}
}

// optional is a field of a partial update: Set tells whether the client
// sent it at all, and a JSON null sets it to the zero value, which clears
// optional content (due_date, summary, ...) and is refused by validation
// where a value is required (title).
type optional[T any] struct {
	Set   bool
	Value T
}

// UnmarshalJSON implements json.Unmarshaler; encoding/json calls it for
// null too, which is how null is told apart from absent.
func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		var zero T
		o.Value = zero
		return nil
	}
	// The outer decoder's DisallowUnknownFields does not reach inside a
	// custom unmarshaler: nested objects are decoded as strictly here.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(&o.Value)
}

// ptr returns a pointer to the value when set, nil otherwise: the form
// workflow.Changes wants.
func (o optional[T]) ptr() *T {
	if !o.Set {
		return nil
	}
	v := o.Value
	return &v
}
