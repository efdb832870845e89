package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestRun_webhooksDeliver: the program as run, with
// --webhook-allow-private, delivers a request's changes to a subscribed
// receiver on loopback, in order, within a second or so of each change:
// the webhooks' job is wired into the runner. Without the setting, the
// same receiver is refused at creation.
func TestRun_webhooksDeliver(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Type string `json:"type"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		mu.Lock()
		got = append(got, body.Type)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()

	dir := t.TempDir()
	base, _, stop := startInProcess(t, "--db", filepath.Join(dir, "mla.db"), "--demo")
	sup := login(t, base, "es.supervisor")
	out := sup.must(422, "POST", "/api/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"*"}})
	if fields, _ := out["error"].(map[string]any)["fields"].(map[string]any); fields["url"] == nil {
		t.Errorf("a loopback receiver without --webhook-allow-private: %v", out)
	}
	stop()

	base, _, _ = startInProcess(t, "--db", filepath.Join(dir, "mla.db"), "--webhook-allow-private")
	sup = login(t, base, "es.supervisor")
	sup.must(201, "POST", "/api/v1/webhooks", map[string]any{"url": rc.URL, "events": []string{"*"}})
	walk(t, base)
	want := []string{"request.send", "request.acknowledge", "request.execute"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("ES's receiver got %v, want %v (the draft's creation is IT's alone)", got, want)
	}
}
