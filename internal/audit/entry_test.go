package audit_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/audit"
)

var testKey = bytes.Repeat([]byte{0x42}, audit.KeySize)

func sampleEntry() audit.Entry {
	return audit.Entry{
		Seq:       7,
		At:        time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.FixedZone("CET", 3600)),
		Actor:     "it.supervisor",
		Authority: "IT",
		Action:    "request.send",
		RequestID: "01hx0000000000000000000000",
		Outcome:   "ok",
		Details:   `{"from":"drafted","to":"sent"}`,
	}
}

func TestCanonical_format(t *testing.T) {
	got := string(audit.Canonical(sampleEntry()))
	want := "17:mla-flow/audit/v1,1:7,27:2026-03-01T11:30:45.123456Z,13:it.supervisor,2:IT," +
		"12:request.send,26:01hx0000000000000000000000,2:ok,30:{\"from\":\"drafted\",\"to\":\"sent\"},"
	if got != want {
		t.Fatalf("Canonical:\n got %s\nwant %s", got, want)
	}
}

func TestCanonical_ignoresHashes(t *testing.T) {
	a := sampleEntry()
	b := a
	b.PrevHash, b.Hash = "aa", "bb"
	if !bytes.Equal(audit.Canonical(a), audit.Canonical(b)) {
		t.Fatal("PrevHash and Hash changed the canonical encoding")
	}
}

func TestCanonical_timePrecision(t *testing.T) {
	// Sub-microsecond digits and the zone must not matter: stores keep
	// microseconds in UTC, and verify must see the same bytes.
	a := sampleEntry()
	b := a
	b.At = a.At.UTC().Truncate(time.Microsecond)
	if !bytes.Equal(audit.Canonical(a), audit.Canonical(b)) {
		t.Fatalf("time encoding differs:\n%s\n%s", audit.Canonical(a), audit.Canonical(b))
	}
	c := a
	c.At = a.At.Add(time.Microsecond)
	if bytes.Equal(audit.Canonical(a), audit.Canonical(c)) {
		t.Fatal("one microsecond later encodes the same")
	}
}

// Every change of a field, including moving text from one field into its
// neighbour, must change the encoding and therefore the seal.
func TestSeal_distinguishesEntries(t *testing.T) {
	base := sampleEntry()
	baseHash := audit.Seal(testKey, audit.GenesisHash, base)
	tests := []struct {
		name   string
		change func(*audit.Entry)
	}{
		{"seq", func(e *audit.Entry) { e.Seq++ }},
		{"at", func(e *audit.Entry) { e.At = e.At.Add(time.Second) }},
		{"actor", func(e *audit.Entry) { e.Actor = "it.officer" }},
		{"authority", func(e *audit.Entry) { e.Authority = "ES" }},
		{"action", func(e *audit.Entry) { e.Action = "request.withdraw" }},
		{"request id", func(e *audit.Entry) { e.RequestID = "other" }},
		{"outcome", func(e *audit.Entry) { e.Outcome = "denied" }},
		{"details", func(e *audit.Entry) { e.Details = `{"from":"drafted","to":"refused"}` }},
		{"boundary shift actor→authority", func(e *audit.Entry) { e.Actor, e.Authority = "it.supervisorI", "T" }},
		{"boundary shift outcome→details", func(e *audit.Entry) { e.Outcome, e.Details = "", "ok"+e.Details }},
		{"empty field moved", func(e *audit.Entry) { e.RequestID, e.Actor = e.Actor, e.RequestID }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			tc.change(&e)
			if got := audit.Seal(testKey, audit.GenesisHash, e); got == baseHash {
				t.Fatalf("changed entry seals to the same hash %s", got)
			}
		})
	}
}

func TestSeal_keyAndPrev(t *testing.T) {
	e := sampleEntry()
	h := audit.Seal(testKey, audit.GenesisHash, e)
	if len(h) != 64 || strings.ToLower(h) != h {
		t.Fatalf("hash %q is not 64 lower-case hex digits", h)
	}
	if h != audit.Seal(testKey, audit.GenesisHash, e) {
		t.Fatal("Seal is not deterministic")
	}
	other := bytes.Repeat([]byte{0x43}, audit.KeySize)
	if audit.Seal(other, audit.GenesisHash, e) == h {
		t.Fatal("another key gives the same hash")
	}
	if audit.Seal(testKey, strings.Repeat("0", 64), e) == h {
		t.Fatal("another prev hash gives the same hash")
	}
}

func TestCanonicalDetails(t *testing.T) {
	type pair struct {
		B int `json:"b"`
		A int `json:"a"`
	}
	tests := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"nil", nil, `{}`},
		{"empty", map[string]any{}, `{}`},
		{"sorted keys", map[string]any{"to": "sent", "from": "drafted", "version": 2}, `{"from":"drafted","to":"sent","version":2}`},
		{"nested maps sorted", map[string]any{"z": map[string]any{"y": 1, "x": []any{map[string]int{"d": 1, "c": 2}}}}, `{"z":{"x":[{"c":2,"d":1}],"y":1}}`},
		{"no html escaping", map[string]any{"comment": "<b>&</b>"}, `{"comment":"<b>&</b>"}`},
		{"raw message re-sorted", map[string]any{"raw": json.RawMessage(`{"b": 1, "a": 2}`)}, `{"raw":{"a":2,"b":1}}`},
		{"struct keys sorted", map[string]any{"p": pair{B: 1, A: 2}}, `{"p":{"a":2,"b":1}}`},
		{"numbers kept", map[string]any{"big": int64(9007199254740993), "f": 1.5}, `{"big":9007199254740993,"f":1.5}`},
		{"string slice", map[string]any{"grounds": []string{"nationality", "death_penalty"}}, `{"grounds":["nationality","death_penalty"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := audit.CanonicalDetails(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCanonicalDetails_unencodable(t *testing.T) {
	if _, err := audit.CanonicalDetails(map[string]any{"c": make(chan int)}); err == nil {
		t.Fatal("a channel encoded without error")
	}
}
