package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestServer_crashUnderLoad kills the real server with SIGKILL while
// workers fire transitions at it, restarts it, and checks the promise of
// durability: every transition answered 200 is there, in its place; nothing
// that was refused is; at most the one attempt a worker had in flight when
// the server died may have landed unanswered; the history, the version and
// the audit chain agree.
func TestServer_crashUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildServer(t)
	db := filepath.Join(t.TempDir(), "mla.db")
	cmd, url := startBinary(t, bin, "--demo", "--db", db)

	const workers, perWorker = 8, 2
	it, itSup, es := login(t, url, "it.officer"), login(t, url, "it.supervisor"), login(t, url, "es.officer")
	type tracked struct {
		id       string
		answered []string // events answered 200, in order
		inFlight bool     // an attempt got no answer
	}
	requests := make([]*tracked, workers*perWorker)
	for i := range requests {
		r := it.must(201, "POST", "/api/v1/requests", map[string]any{
			"kind": "mla", "requested_authority": "ES", "title": fmt.Sprintf("Crash test %d", i)})
		id := r["id"].(string)
		itSup.must(200, "POST", "/api/v1/requests/"+id+"/events", map[string]any{"event": "send"})
		es.must(200, "POST", "/api/v1/requests/"+id+"/events", map[string]any{"event": "acknowledge"})
		requests[i] = &tracked{id: id}
	}

	// fire answers the status, or 0 when the server gave no answer.
	client := &http.Client{Timeout: 10 * time.Second}
	fire := func(token, id string, body map[string]any) int {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", url+"/api/v1/requests/"+id+"/events", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Each worker cycles its own requests between acknowledged and
	// info_requested, and tries one refused move each round: an officer may
	// not execute (403), nor acknowledge twice (409).
	var wg sync.WaitGroup
	var mu sync.Mutex
	var answered, refused int
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := requests[w*perWorker : (w+1)*perWorker]
			for round := 0; ; round++ {
				for _, r := range mine {
					steps := []struct {
						token string
						body  map[string]any
					}{
						{es.token, map[string]any{"event": "request_info", "comment": fmt.Sprintf("round %d: which accounts?", round)}},
						{it.token, map[string]any{"event": "provide_info", "comment": fmt.Sprintf("round %d: these", round)}},
					}
					if round%2 == 0 {
						if status := fire(es.token, r.id, map[string]any{"event": "execute", "comment": "x"}); status == 0 {
							return
						} else if status != http.StatusForbidden {
							t.Errorf("an officer's execute: %d, want 403", status)
						}
						mu.Lock()
						refused++
						mu.Unlock()
					}
					for _, st := range steps {
						switch status := fire(st.token, r.id, st.body); status {
						case http.StatusOK:
							mu.Lock()
							r.answered = append(r.answered, st.body["event"].(string))
							answered++
							mu.Unlock()
						case 0:
							mu.Lock()
							r.inFlight = true
							mu.Unlock()
							return
						default:
							t.Errorf("%s: %d, want 200", st.body["event"], status)
							return
						}
					}
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	wg.Wait()
	if answered < 20 {
		t.Fatalf("only %d transitions answered before the kill: the load did not run", answered)
	}
	t.Logf("%d transitions answered and %d refused before SIGKILL", answered, refused)

	_, url = startBinary(t, bin, "--db", db)
	reader := login(t, url, "it.auditor")
	for _, r := range requests {
		req := reader.must(200, "GET", "/api/v1/requests/"+r.id, nil)
		hist := reader.must(200, "GET", "/api/v1/requests/"+r.id+"/history", nil)["items"].([]any)
		events := make([]string, 0, len(hist))
		for _, h := range hist[2:] { // send and acknowledge came first
			events = append(events, h.(map[string]any)["event"].(string))
		}
		extra := len(events) - len(r.answered)
		switch {
		case extra < 0:
			t.Errorf("request %s: %d answered transitions, only %d after the crash: an answered change was lost", r.id, len(r.answered), len(events))
		case extra > 1 || (extra == 1 && !r.inFlight):
			t.Errorf("request %s: %d transitions stored, %d answered, in flight %t", r.id, len(events), len(r.answered), r.inFlight)
		}
		for i, ev := range r.answered {
			if i < len(events) && events[i] != ev {
				t.Errorf("request %s: transition %d is %s, answered as %s", r.id, i, events[i], ev)
			}
		}
		for _, ev := range events {
			if ev != "request_info" && ev != "provide_info" {
				t.Errorf("request %s: a refused %s was stored", r.id, ev)
			}
		}
		if v := int(req["version"].(float64)); v != len(hist)+1 {
			t.Errorf("request %s: version %d with %d history entries", r.id, v, len(hist))
		}
	}
	if v := login(t, url, "admin").must(200, "GET", "/api/v1/audit/verify", nil); v["ok"] != true {
		t.Errorf("audit chain after the crash: %v", v)
	}
}
