package store

import (
	"reflect"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm/schema"
)

// TestSessionColumns checks the hand-written column lists of the sessions
// and refresh tokens (sessions.go) against the row types GORM migrates.
func TestSessionColumns(t *testing.T) {
	var sr sessionRow
	var rr refreshTokenRow
	tests := []struct {
		name    string
		row     any
		columns string
		targets []any
	}{
		{"auth_sessions", &sr, sessionColumns, sr.scanTargets()},
		{"refresh_tokens", &rr, refreshTokenColumns, rr.scanTargets()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := schema.Parse(tc.row, &sync.Map{}, schema.NamingStrategy{})
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
			if got := strings.Split(tc.columns, ", "); !reflect.DeepEqual(got, want) {
				t.Fatalf("columns:\n got %v\nwant %v", got, want)
			}
			if len(tc.targets) != len(want) {
				t.Fatalf("scanTargets has %d pointers for %d columns", len(tc.targets), len(want))
			}
			base := reflect.ValueOf(tc.row).Pointer()
			for i, p := range tc.targets {
				if off := reflect.ValueOf(p).Pointer() - base; off != offsets[i] {
					t.Errorf("scanTargets[%d] points at offset %d, column %s is at %d", i, off, want[i], offsets[i])
				}
			}
		})
	}
}
