package store

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm/schema"
)

// TestRequestColumns checks the hand-written column list of the requests
// table (tx.Request, UpdateRequest) against the row type GORM migrates: a
// column added to requestRow must be added to requestColumns, scanTargets
// and updateColumns as well, or commands would drop it.
func TestRequestColumns(t *testing.T) {
	var row requestRow
	want := checkColumns(t, &row, requestColumns, row.scanTargets())
	update := map[string]bool{}
	var names []string
	for _, c := range row.updateColumns() {
		update[c.name] = true
		names = append(names, c.name)
	}
	if !slices.IsSorted(names) {
		t.Errorf("updateColumns is not in the order of the names: %v", names)
	}
	for _, c := range want {
		ok := update[c]
		if skip := c == "seq" || c == "id" || c == "created_at_us"; ok == skip {
			t.Errorf("updateColumns: column %s listed %v, want %v", c, ok, !skip)
		}
	}
	if len(update) != len(want)-3 {
		t.Errorf("updateColumns has %d columns, want %d", len(update), len(want)-3)
	}
}

// TestUserColumns checks the hand-written column list of the users table
// (Store.user) against the row type GORM migrates.
func TestUserColumns(t *testing.T) {
	var row userRow
	checkColumns(t, &row, userColumns, row.scanTargets())
}

// TestPlainStrings checks the fast reading of stored lists against
// encoding/json, on what encodeStrings writes and on what it does not.
func TestPlainStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "Z", " ", ",", `"`, `\`, "<", "&", "é", "証", "\n", "\x01", "\u2028", "\xff", "[", "]"}
	for i := range 20000 {
		list := make([]string, r.IntN(4))
		for j := range list {
			for range r.IntN(6) {
				list[j] += alphabet[r.IntN(len(alphabet))]
			}
		}
		enc, err := encodeStrings(list)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeStrings(enc)
		if err != nil {
			t.Fatalf("case %d %q: %v", i, enc, err)
		}
		var want []string
		if err := json.Unmarshal([]byte(enc), &want); err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d %q: got %q, want %q", i, enc, got, want)
		}
	}
	for _, odd := range []string{`[]`, `["a"]`, `[ "a" ]`, `["a",]`, `["a""b"]`, `["a",1]`, `[`, `"a"`, `["a\u0062"]`} {
		if got, ok := plainStrings(odd); ok {
			var want []string
			if err := json.Unmarshal([]byte(odd), &want); err != nil || !reflect.DeepEqual(got, nonNilStrings(want)) {
				t.Errorf("plainStrings(%s) = %q, encoding/json says %q, %v", odd, got, want, err)
			}
		}
	}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkColumns checks a hand-written column list against the row type
// GORM migrates (row points at it): the columns, in the order of the
// type's fields, and the scan targets, one per column pointing at its
// field. It returns the columns.
func checkColumns(t *testing.T, row any, columns string, targets []any) []string {
	t.Helper()
	s, err := schema.Parse(row, &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	var offsets []uintptr
	for _, f := range s.Fields {
		if f.DBName == "" {
			continue // the parents that declare the foreign keys
		}
		want = append(want, f.DBName)
		offsets = append(offsets, f.StructField.Offset)
	}
	if got := strings.Split(columns, ", "); !reflect.DeepEqual(got, want) {
		t.Fatalf("columns:\n got %v\nwant %v", got, want)
	}
	if len(targets) != len(want) {
		t.Fatalf("scanTargets has %d pointers for %d columns", len(targets), len(want))
	}
	base := reflect.ValueOf(row).Pointer()
	for i, p := range targets {
		if off := reflect.ValueOf(p).Pointer() - base; off != offsets[i] {
			t.Errorf("scanTargets[%d] points at offset %d, column %s is at %d", i, off, want[i], offsets[i])
		}
	}
	return want
}
