package audit

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

type namedString string
type namedInt int
type textual string

func (t textual) MarshalText() ([]byte, error) { return []byte("T:" + string(t)), nil }

// TestCanonicalDetails_fastPath checks the fast path against the general
// one, byte for byte, on random flat details: strings with every kind of
// character JSON escapes, invalid UTF-8, U+2028, named types, integers,
// booleans and lists.
func TestCanonicalDetails_fastPath(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "\n", "\r", "\t", "\b", "\f",
		"\x00", "\x01", "\x1f", "\x7f", "é", "証", "\u2028", "\u2029", "\U0001F600", "\xff", "\xc3", "\xed\xa0\x80", "\ufffd"}
	str := func() string {
		n := r.IntN(12)
		s := ""
		for range n {
			s += alphabet[r.IntN(len(alphabet))]
		}
		return s
	}
	for i := range 20000 {
		d := map[string]any{}
		for range 1 + r.IntN(6) {
			k := str()
			if r.IntN(3) == 0 {
				k = []string{"event", "from", "to", "version", "grounds", "comment_sha256"}[r.IntN(6)]
			}
			switch r.IntN(9) {
			case 0:
				d[k] = str()
			case 1:
				d[k] = namedString(str())
			case 2:
				d[k] = r.IntN(1 << 40)
			case 3:
				d[k] = namedInt(r.IntN(100) - 50)
			case 4:
				d[k] = r.IntN(2) == 0
			case 5:
				d[k] = []string{str(), str()}
			case 6:
				d[k] = []namedString{namedString(str())}
			case 7:
				d[k] = int64(-r.Int64N(1 << 52))
			case 8:
				d[k] = []string(nil)
			}
		}
		got, ok := canonicalFlat(d)
		if !ok {
			continue
		}
		want, err := canonicalGeneral(d)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("case %d %#v:\nfast    %q\ngeneral %q", i, d, got, want)
		}
	}
}

// TestCanonicalDetails_fastPathDeclines checks that values the fast path
// cannot write exactly go the general way.
func TestCanonicalDetails_fastPathDeclines(t *testing.T) {
	for name, d := range map[string]map[string]any{
		"text marshaler": {"a": textual("x")},
		"float":          {"a": 1.5},
		"nested map":     {"a": map[string]any{"b": 1}},
		"nil":            {"a": nil},
		"raw message":    {"a": json.RawMessage(`{"b":1}`)},
		"invalid key":    {"\xff": 1},
		"list of any":    {"a": []any{"x"}},
	} {
		if _, ok := canonicalFlat(d); ok {
			t.Errorf("%s: the fast path took it", name)
		}
		if _, err := CanonicalDetails(d); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
