package audit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendTime checks the hand-written time encoding against the general
// one it replaces, byte for byte: a difference would break every chain.
func TestAppendTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.FixedZone("CET", 3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 6, 7, 8, 9, 10, 11000, time.UTC),
		time.Unix(0, 0),
	}
	for range 100000 {
		times = append(times, time.Unix(r.Int64N(400_000_000_000)-62_000_000_000, r.Int64N(1e9)))
	}
	for _, tm := range times {
		want := tm.UTC().AppendFormat(nil, TimeFormat)
		if got := appendTime(nil, tm); string(got) != string(want) {
			t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}
