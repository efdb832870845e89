package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// decodeJSON reads the request body into v, strictly: exactly one JSON
// value, no unknown fields, the right types, valid UTF-8. Every failure is
// a 400 bad_request that says what is wrong and, when known, names the
// field, or a 413 when the body outgrew the limit while being read. A
// string that holds a NUL character (\u0000) is a 422 validation_failed
// naming its field: valid JSON, but no text any field may hold
// (workflow.TextProblem). Missing or invalid values are left to the
// workflow's validation (422).
//
// Strictness catches client mistakes early: a misspelt optional field
// ("legal_bases") would otherwise be dropped silently and the request saved
// without it. The text check is here, once for every body, so that no
// handler can forget it.
func decodeJSON(c echo.Context, v any) error {
	body, err := decodeBody(c, v)
	if err != nil {
		return err
	}
	if field, problem := badText(body); problem != "" {
		return workflow.Invalid(field, problem)
	}
	return nil
}

// decodeRequestChange is decodeJSON for the bodies that change one request
// (its edit, its events), whose every text the workflow checks itself
// (workflow.TextProblem, in its validation) before it writes anything. It
// leaves that check to the workflow, so that a refused text is answered in
// the documented order (a hidden request is 404, whatever its body holds)
// and audited as the refused attempt on the request that it is.
func decodeRequestChange(c echo.Context, v any) error {
	_, err := decodeBody(c, v)
	return err
}

// decodeBody is decodeJSON without the check of the strings' text; it
// returns the body it read.
func decodeBody(c echo.Context, v any) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if tooLarge(err) {
			return nil, errTooLarge
		}
		return nil, badRequest("the request body could not be read")
	}
	// encoding/json would replace bytes that are not UTF-8 with U+FFFD
	// and store a text the client never sent; JSON must be UTF-8
	// (RFC 8259, section 8.1).
	if !utf8.Valid(body) {
		return nil, badRequest("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, decodeError(err)
	}
	// One value only: "{}{}" or "{} x" is a client bug, not two requests.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("the body must hold a single JSON value")
	}
	return body, nil
}

// badText finds the first string of a JSON body that workflow.TextProblem
// refuses, and names its field (fieldPath). The body is valid UTF-8
// already, and encoding/json decodes every escape to valid UTF-8, so only a
// NUL, which can only be written as the escape \u0000 (a raw control
// character is a syntax error), is left to find: a body without one is not
// walked.
func badText(body []byte) (field, problem string) {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return "", ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var at fieldPath
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", ""
		}
		at.step(tok)
		if s, ok := tok.(string); ok {
			if p := workflow.TextProblem(s); p != "" {
				return at.name(), p
			}
		}
	}
}

// fieldPath follows a stream of JSON tokens to name the field of the
// current one as the workflow names fields: the object keys on the way to
// it joined by dots ("person_sought.name"), a list's items by the list's
// name ("offences").
type fieldPath struct {
	keys    []*string // per open container: an object's current key, nil for a list
	wantKey bool      // the innermost container is an object expecting a key
}

// step moves past tok.
func (p *fieldPath) step(tok json.Token) {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			p.keys = append(p.keys, new(string))
			p.wantKey = true
			return
		case '[':
			p.keys = append(p.keys, nil)
		default:
			p.keys = p.keys[:len(p.keys)-1]
		}
	case string:
		if p.wantKey {
			*p.keys[len(p.keys)-1] = t
			p.wantKey = false
			return
		}
	}
	// A value began or ended: inside an object, a key comes next.
	p.wantKey = len(p.keys) > 0 && p.keys[len(p.keys)-1] != nil
}

// name is the field of the token last stepped past.
func (p *fieldPath) name() string {
	var keys []string
	for _, k := range p.keys {
		if k != nil {
			keys = append(keys, *k)
		}
	}
	return strings.Join(keys, ".")
}

// decodeError explains a decoding failure.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
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
