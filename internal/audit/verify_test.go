package audit_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/audit"
)

// chain builds a correctly sealed chain of n entries.
func chain(key []byte, n int) []audit.Entry {
	out := make([]audit.Entry, n)
	prev := audit.GenesisHash
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range out {
		e := audit.Entry{
			Seq: int64(i + 1), At: start.Add(time.Duration(i) * time.Millisecond),
			Actor: "it.officer", Authority: "IT", Action: "request.update",
			RequestID: fmt.Sprintf("req-%d", i%7), Outcome: "ok",
			Details: fmt.Sprintf(`{"version":%d}`, i),
		}
		e.PrevHash = prev
		e.Hash = audit.Seal(key, prev, e)
		prev = e.Hash
		out[i] = e
	}
	return out
}

func verify(key []byte, entries []audit.Entry) audit.Result {
	v := audit.NewVerifier(key)
	for _, e := range entries {
		if !v.Add(e) {
			break
		}
	}
	return v.Result()
}

func TestVerifier(t *testing.T) {
	const n = 10
	tests := []struct {
		name     string
		key      []byte
		tamper   func([]audit.Entry) []audit.Entry
		brokenAt int64 // 0: intact
		intact   int64 // entries verified before the break; 0: brokenAt-1
	}{
		{"intact", testKey, func(es []audit.Entry) []audit.Entry { return es }, 0, 0},
		{"empty", testKey, func([]audit.Entry) []audit.Entry { return nil }, 0, 0},
		{"wrong key", bytes.Repeat([]byte{1}, audit.KeySize), func(es []audit.Entry) []audit.Entry { return es }, 1, 0},
		{"modified details", testKey, func(es []audit.Entry) []audit.Entry {
			es[4].Details = `{"version":999}`
			return es
		}, 5, 0},
		{"modified actor", testKey, func(es []audit.Entry) []audit.Entry {
			es[6].Actor = "es.officer"
			return es
		}, 7, 0},
		{"modified time", testKey, func(es []audit.Entry) []audit.Entry {
			es[2].At = es[2].At.Add(time.Microsecond)
			return es
		}, 3, 0},
		{"modified hash", testKey, func(es []audit.Entry) []audit.Entry {
			es[8].Hash = es[7].Hash
			return es
		}, 9, 0},
		{"deleted first", testKey, func(es []audit.Entry) []audit.Entry { return es[1:] }, 1, 0},
		{"deleted middle", testKey, func(es []audit.Entry) []audit.Entry {
			return append(es[:4:4], es[5:]...)
		}, 5, 0},
		{"deleted three", testKey, func(es []audit.Entry) []audit.Entry {
			return append(es[:4:4], es[7:]...)
		}, 5, 0},
		{"renumbered after deletion", testKey, func(es []audit.Entry) []audit.Entry {
			out := append(es[:4:4], es[5:]...)
			for i := 4; i < len(out); i++ {
				out[i].Seq--
			}
			return out
		}, 5, 0},
		{"swapped seq", testKey, func(es []audit.Entry) []audit.Entry {
			es[4], es[5] = es[5], es[4]
			es[4].Seq, es[5].Seq = 5, 6
			return es
		}, 5, 0},
		{"out of order", testKey, func(es []audit.Entry) []audit.Entry {
			es[4], es[5] = es[5], es[4]
			return es
		}, 5, 0},
		{"duplicate", testKey, func(es []audit.Entry) []audit.Entry {
			return append(es[:5:5], es[4:]...)
		}, 5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries := tc.tamper(chain(testKey, n))
			res := verify(tc.key, entries)
			if tc.brokenAt == 0 {
				if !res.OK || res.BrokenAt != 0 || res.Reason != "" {
					t.Fatalf("got %+v, want intact", res)
				}
				if res.Count != int64(len(entries)) {
					t.Fatalf("count %d, want %d", res.Count, len(entries))
				}
				wantHead := audit.GenesisHash
				if len(entries) > 0 {
					wantHead = entries[len(entries)-1].Hash
				}
				if res.Head != wantHead {
					t.Fatalf("head %s, want %s", res.Head, wantHead)
				}
				return
			}
			if res.OK || res.BrokenAt != tc.brokenAt || res.Reason == "" {
				t.Fatalf("got %+v, want broken at %d", res, tc.brokenAt)
			}
			wantCount := tc.intact
			if wantCount == 0 {
				wantCount = tc.brokenAt - 1
			}
			if res.Count != wantCount {
				t.Fatalf("count %d, want %d intact entries before the break", res.Count, wantCount)
			}
			t.Logf("reason: %s", res.Reason)
		})
	}
}

func TestVerifier_stopsAtFirstBreak(t *testing.T) {
	es := chain(testKey, 5)
	es[1].Actor = "x"
	es[3].Actor = "y"
	v := audit.NewVerifier(testKey)
	for _, e := range es {
		v.Add(e)
	}
	if got := v.Result().BrokenAt; got != 2 {
		t.Fatalf("broken at %d, want the first break, 2", got)
	}
}

func TestVerifier_CheckHead(t *testing.T) {
	es := chain(testKey, 6)
	tests := []struct {
		name     string
		fed      int
		headSeq  int64
		headHash string
		brokenAt int64
	}{
		{"matches", 6, 6, es[5].Hash, 0},
		{"empty chain, empty head", 0, 0, audit.GenesisHash, 0},
		{"tail deleted", 5, 6, es[5].Hash, 6},
		{"tail of three deleted", 3, 6, es[5].Hash, 4},
		{"everything deleted", 0, 6, es[5].Hash, 1},
		{"head hash altered", 6, 6, es[4].Hash, 6},
		{"entries beyond head", 6, 4, es[3].Hash, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := audit.NewVerifier(testKey)
			for _, e := range es[:tc.fed] {
				if !v.Add(e) {
					t.Fatalf("intact entry %d refused: %+v", e.Seq, v.Result())
				}
			}
			ok := v.CheckHead(tc.headSeq, tc.headHash)
			res := v.Result()
			if ok != (tc.brokenAt == 0) || res.OK != ok || res.BrokenAt != tc.brokenAt {
				t.Fatalf("CheckHead = %v, result %+v; want broken at %d", ok, res, tc.brokenAt)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	const n = 10000
	es := chain(testKey, n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res := verify(testKey, es); !res.OK {
			b.Fatalf("chain broken: %+v", res)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
