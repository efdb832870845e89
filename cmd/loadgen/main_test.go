package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.2:8080", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://192.168.1.10", false},
		{"http://[2001:db8::1]:80", false},
		{"http://0.0.0.0:8080", false},
		{"http://example.com", false},
		{"http://localhost.example.com", false},
		{"https://127.0.0.1:8443", false}, // not supported
		{"127.0.0.1:8080", false},
		{"http://:8080", false},
	}
	for _, tc := range tests {
		err := checkLoopback(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

func TestParse_refusesBadRuns(t *testing.T) {
	for _, args := range [][]string{
		{"--url", "http://10.1.2.3:8080"},
		{"--workload", "writes"},
		{"--workers", "0"},
		{"--duration", "2h"},
		{"--duration", "0s"},
		{"--requests", "0"},
		{"--path", "/elsewhere"},
		{"--path", "/api/v1/requests?state=sent"},
		{"extra"},
		{"--webhooks", "-1"},
		{"--webhooks", "101"},
		{"--workload", "reads", "--webhooks", "10"},
		{"--rate", "-1"},
		{"--workload", "reads", "--rate", "100"},
	} {
		if _, err := parse(args, io.Discard); err == nil {
			t.Errorf("parse(%q) accepted it", args)
		}
	}
	o, err := parse([]string{"--workers", "4", "--duration", "3s"}, io.Discard)
	if err != nil || o.workers != 4 || o.duration != 3*time.Second || o.url != "http://127.0.0.1:8080" {
		t.Fatalf("parse = %+v, %v", o, err)
	}
}

func TestSummarize(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	s := summarize(lat)
	if s.P50 != 50 || s.P90 != 90 || s.P99 != 99 || s.Max != 100 || s.Mean != 50.5 {
		t.Fatalf("summarize = %+v", s)
	}
	if s := summarize(nil); s != (latencyStats{}) {
		t.Fatalf("summarize(nil) = %+v", s)
	}
}

func TestCheckPage(t *testing.T) {
	r := &reads{states: map[string]bool{"sent": true, "acknowledged": true}, dir: "incoming"}
	good := `{"items":[{"state":"sent","requested_authority":"ES"},{"state":"acknowledged","requested_authority":"ES"}],"next_cursor":null}`
	if msg := r.checkPage([]byte(good), []byte("ES")); msg != "" {
		t.Fatalf("good page: %s", msg)
	}
	for _, bad := range []string{
		`{"items":[{"state":"executed","requested_authority":"ES"}]}`,
		`{"items":[{"state":"sent","requested_authority":"ESX"}]}`,
		`{"items":[{"state":"sent","requested_authority":"IT"}]}`,
	} {
		if msg := r.checkPage([]byte(bad), []byte("ES")); msg == "" {
			t.Errorf("page %s passed", bad)
		}
	}
}

func TestFsyncProbe(t *testing.T) {
	res, err := fsyncProbe(t.TempDir(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rounds != 5 || res.Latency.Max <= 0 || res.SerialCommitsPerS <= 0 {
		t.Fatalf("probe = %+v", res)
	}
	var b strings.Builder
	res.print(&b)
	if !strings.Contains(b.String(), "fsync") {
		t.Fatalf("printed %q", b.String())
	}
}

func TestStateAndVersion(t *testing.T) {
	body := []byte(`{"id":"x","reference":"IT-MLA-2026-000001","kind":"mla","state":"info_requested","version":12,"title":"a \"state\":\"sent\" title","person_sought":{"state":"x"}}`)
	state, version, ok := stateAndVersion(body)
	if !ok || state != "info_requested" || version != 12 {
		t.Fatalf("got %q %d %v", state, version, ok)
	}
	for _, bad := range []string{`{}`, `{"state":"sent"}`, `{"state":"sent","version":x}`, `{"state":"sent`} {
		if _, _, ok := stateAndVersion([]byte(bad)); ok {
			t.Errorf("%s read as an answer", bad)
		}
	}
}

// TestTimestampOf: the receivers read a delivery's timestamp as the body
// carries it, and refuse a body without one.
func TestTimestampOf(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.UTC)
	body := []byte(`{"type":"request.send","timestamp":"` + at.Format(time.RFC3339Nano) + `","data":{"request_id":"r1"}}`)
	if got, ok := timestampOf(body); !ok || !got.Equal(at) {
		t.Errorf("timestampOf = %v, %v; want %v", got, ok, at)
	}
	for _, bad := range []string{`{}`, `{"timestamp":"yesterday"}`, `{"timestamp":"2026-`} {
		if _, ok := timestampOf([]byte(bad)); ok {
			t.Errorf("timestampOf(%s) accepted it", bad)
		}
	}
}
