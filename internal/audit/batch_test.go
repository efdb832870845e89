package audit_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/audit"
)

// TestVerifier_AddChecked checks that verifying in batches whose MACs a
// MACChecker computed beforehand, as the store does on every CPU, reports
// exactly what entry-by-entry verification reports: the same count, head,
// first broken entry and reason, whatever the batch boundaries.
func TestVerifier_AddChecked(t *testing.T) {
	const n = 5000
	tests := []struct {
		name   string
		key    []byte
		tamper func([]audit.Entry) []audit.Entry
	}{
		{"intact", testKey, func(es []audit.Entry) []audit.Entry { return es }},
		{"wrong key", bytes.Repeat([]byte{1}, audit.KeySize), func(es []audit.Entry) []audit.Entry { return es }},
		{"modified details late", testKey, func(es []audit.Entry) []audit.Entry {
			es[4321].Details = `{"version":999}`
			return es
		}},
		{"two modified, first reported", testKey, func(es []audit.Entry) []audit.Entry {
			es[3000].Actor = "x"
			es[1200].Actor = "y"
			return es
		}},
		{"modified hash", testKey, func(es []audit.Entry) []audit.Entry {
			es[2500].Hash = es[2499].Hash
			return es
		}},
		{"deleted middle", testKey, func(es []audit.Entry) []audit.Entry {
			return append(es[:1700:1700], es[1701:]...)
		}},
		{"renumbered after deletion", testKey, func(es []audit.Entry) []audit.Entry {
			out := append(es[:999:999], es[1000:]...)
			for i := 999; i < len(out); i++ {
				out[i].Seq--
			}
			return out
		}},
		{"out of order", testKey, func(es []audit.Entry) []audit.Entry {
			es[2047], es[2048] = es[2048], es[2047]
			return es
		}},
		{"duplicate", testKey, func(es []audit.Entry) []audit.Entry {
			return append(es[:600:600], es[599:]...)
		}},
		{"time changed", testKey, func(es []audit.Entry) []audit.Entry {
			es[4999].At = es[4999].At.Add(time.Microsecond)
			return es
		}},
	}
	for _, tc := range tests {
		for _, size := range []int{1, 700, 1024, 4096, n} {
			t.Run(fmt.Sprintf("%s/batch %d", tc.name, size), func(t *testing.T) {
				want := verify(tc.key, tc.tamper(chain(testKey, n)))
				es := tc.tamper(chain(testKey, n))
				v := audit.NewVerifier(tc.key)
				checker := audit.NewMACChecker(tc.key)
				for lo := 0; lo < len(es); lo += size {
					batch := es[lo:min(lo+size, len(es))]
					ok := make([]bool, len(batch))
					checker.Check(batch, ok)
					if !v.AddChecked(batch, ok) {
						break
					}
				}
				if got := v.Result(); got != want {
					t.Fatalf("AddChecked: %+v\nAdd:        %+v", got, want)
				}
			})
		}
	}
}

func TestSealer(t *testing.T) {
	s := audit.NewSealer(testKey)
	for i, e := range chain(testKey, 50) {
		if got, want := s.Seal(e.PrevHash, e), audit.Seal(testKey, e.PrevHash, e); got != want || got != e.Hash {
			t.Fatalf("entry %d: Sealer %s, Seal %s, chain %s", i, got, want, e.Hash)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	s := audit.NewSealer(testKey)
	e := sampleEntry()
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Seal("3f2a", e)
	}
}

// BenchmarkCanonicalDetails encodes the details of a transition, as every
// fired event does.
func BenchmarkCanonicalDetails(b *testing.B) {
	details := map[string]any{
		"event": "request_info", "from": "acknowledged", "to": "info_requested", "version": 7,
		"comment_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := audit.CanonicalDetails(details); err != nil {
			b.Fatal(err)
		}
	}
}
