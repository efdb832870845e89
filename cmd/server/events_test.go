package main

import (
	"bufio"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCluster_eventStream: two serve processes on one PostgreSQL database;
// a stream opened on one carries a change made through the other (the
// outbox is polled, nothing is told in-process), and a server shutting
// down ends its open streams instead of waiting for them.
func TestCluster_eventStream(t *testing.T) {
	bin, common := clusterFlags(t)
	a := startLogged(t, bin, append([]string{"--demo"}, common...)...)
	b := startLogged(t, bin, common...)

	es := login(t, b.url, "es.officer")
	req, _ := http.NewRequest(http.MethodGet, b.url+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+es.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events on B: %d", resp.StatusCode)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	draft := login(t, a.url, "it.officer").must(201, "POST", "/api/v1/requests",
		map[string]any{"kind": "mla", "requested_authority": "ES", "title": "Bank records"})
	id := draft["id"].(string)
	login(t, a.url, "it.supervisor").must(200, "POST", "/api/v1/requests/"+id+"/events", map[string]any{"event": "send"})

	deadline := time.After(10 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			if strings.HasPrefix(l, "data: ") {
				if !strings.Contains(l, id) || !strings.Contains(l, `"type":"request.send"`) {
					t.Fatalf("ES heard first: %s (its draft's create is not ES's)", l)
				}
				break wait
			}
		case <-deadline:
			t.Fatal("the send made on A did not reach the stream on B")
		}
	}

	began := time.Now()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines { // until the server closes the stream
	}
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("B exited with %v\n%s", err, b.logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("B did not shut down with a stream open\n%s", b.logs)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("shutting down with a stream open took %s", took)
	}
}
