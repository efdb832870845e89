package main

import (
	"bufio"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServe_exerciseEventStream: the program serves a trainee the event
// stream of the exercise's world (it answered 503 before the worlds had
// hubs), and shutting down ends the worlds' open streams with the live
// ones, so that the shutdown does not wait for them.
func TestServe_exerciseEventStream(t *testing.T) {
	url, _, stop := startInProcess(t, "--demo", "--db", filepath.Join(t.TempDir(), "mla.db"))
	trainer := login(t, url, "trainer")
	status, created := trainer.call("POST", "/api/v1/exercises", map[string]any{"scenario": "palermo-ring", "seed": 1})
	if status != http.StatusCreated {
		t.Fatalf("create exercise: %d %v", status, created)
	}
	acc := created["accounts"].([]any)[0].(map[string]any)
	trainee := &client{tb: t, base: url}
	status, out := trainee.call("POST", "/api/v1/auth/login", map[string]string{"username": acc["username"].(string), "password": acc["password"].(string)})
	if status != http.StatusOK {
		t.Fatalf("trainee log-in: %d %v", status, out)
	}
	trainee.token = out["access_token"].(string)

	ended := make(chan string, 2)
	for _, c := range []*client{trainee, login(t, url, "it.officer")} {
		req, _ := http.NewRequest("GET", url+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
			res.Body.Close()
			t.Fatalf("GET /api/v1/events: %d %q, want the stream", res.StatusCode, res.Header.Get("Content-Type"))
		}
		sc := bufio.NewScanner(res.Body)
		if !sc.Scan() || !strings.HasPrefix(sc.Text(), "retry:") {
			t.Fatalf("the stream starts with %q", sc.Text())
		}
		go func() {
			defer res.Body.Close()
			for sc.Scan() {
			}
			ended <- "ended"
		}()
	}
	start := time.Now()
	stop() // fails the test if the shutdown timed out
	for range 2 {
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("a stream outlived the server")
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the shutdown took %v: it waited for the streams", d)
	}
}
