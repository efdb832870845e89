package audit

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// canonicalFlat is CanonicalDetails for the details every command writes:
// a flat object whose values are strings, integers, booleans or lists of
// strings (also of named types such as workflow.State, unless they encode
// themselves). It writes the bytes CanonicalDetails's general path gives,
// without its three passes of reflection-driven encoding and decoding; ok
// is false for anything else, which takes the general path.
// TestCanonicalDetails_fastPath compares the two on random input.
func canonicalFlat(details map[string]any) (string, bool) {
	var keysBuf [16]string
	keys := keysBuf[:0]
	for k := range details {
		if !utf8.ValidString(k) {
			// The general path sorts such keys before replacing their
			// invalid bytes, and may merge two of them.
			return "", false
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, 64*len(keys))
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var ok bool
		if b, ok = appendFlatValue(b, details[k]); !ok {
			return "", false
		}
	}
	b = append(b, '}')
	return string(b), true
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// encodesItself reports whether encoding/json would call a method of t (or
// of *t) instead of encoding it by kind.
func encodesItself(t reflect.Type) bool {
	return t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)
}

func appendFlatValue(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case string:
		return appendJSONString(b, x), true
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case bool:
		return strconv.AppendBool(b, x), true
	case []string:
		return appendStrings(b, x), true
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if encodesItself(rv.Type()) {
		return nil, false
	}
	switch rv.Kind() {
	case reflect.String:
		return appendJSONString(b, rv.String()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, rv.Uint(), 10), true
	case reflect.Bool:
		return strconv.AppendBool(b, rv.Bool()), true
	case reflect.Slice:
		et := rv.Type().Elem()
		if et.Kind() != reflect.String || encodesItself(et) {
			return nil, false
		}
		if rv.IsNil() {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i := range rv.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, rv.Index(i).String())
		}
		return append(b, ']'), true
	}
	return nil, false
}

func appendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way CanonicalDetails's
// general path ends up writing it: encoding/json's escapes without HTML
// escaping, and invalid UTF-8 as U+FFFD itself (the general path's first
// pass writes \ufffd, its decoding turns that into the character, and its
// second pass writes the character as it is).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = utf8.AppendRune(b, utf8.RuneError)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
