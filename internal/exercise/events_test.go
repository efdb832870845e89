package exercise_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/exercise/exercisetest"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
)

// stream is an open event stream (GET /api/v1/events) read line by line.
type stream struct {
	lines  chan string // closed when the stream ends
	cancel context.CancelFunc
}

// openStream opens the event stream of the caller c and waits until it
// is connected (its first line, retry:, is sent after the stream has
// taken the outbox's head, so that every later change reaches it).
func openStream(t *testing.T, c client) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		res.Body.Close()
		cancel()
		t.Fatalf("GET /api/v1/events: %d %s, want 200 text/event-stream", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &stream{lines: make(chan string, 256), cancel: cancel}
	go func() {
		defer close(s.lines)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(s.close)
	select {
	case line := <-s.lines:
		if !strings.HasPrefix(line, "retry:") {
			t.Fatalf("the stream starts with %q, want retry:", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream sent nothing")
	}
	return s
}

// close ends the stream and waits until its reader has stopped.
func (s *stream) close() {
	s.cancel()
	for range s.lines {
	}
}

// heard returns the request ids of the events the stream sends within d,
// and whether the stream ended by itself.
func (s *stream) heard(t *testing.T, d time.Duration, until func(ids []string) bool) (ids []string, ended bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				return ids, true
			}
			data, isData := strings.CutPrefix(line, "data: ")
			if !isData {
				continue
			}
			var ev struct {
				Type string `json:"type"`
				Data struct {
					RequestID string `json:"request_id"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatalf("event data %q: %v", data, err)
			}
			ids = append(ids, ev.Data.RequestID)
			if until != nil && until(ids) {
				return ids, false
			}
		case <-deadline:
			return ids, false
		}
	}
}

func has(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// newExercise creates and starts an exercise with perRole trainees per
// role, and signs its trainees in.
func newExercise(t *testing.T, trainer client, perRole int) (string, []client) {
	t.Helper()
	created := trainer.expect(http.StatusCreated, "POST", "/api/v1/exercises",
		map[string]any{"scenario": exercisetest.ScenarioID, "trainees": perRole})
	id := created["id"].(string)
	trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "start"})
	var trainees []client
	for _, a := range created["accounts"].([]any) {
		acc := a.(map[string]any)
		trainees = append(trainees, login(t, trainer.url, acc["username"].(string), acc["password"].(string)))
	}
	return id, trainees
}

// TestExerciseWorld_events: a trainee's event stream is the world's own
// (CONTRACT 8 in a world of CONTRACT 7): another member of the world
// drafts a request, and the event reaches the trainee's open stream; a
// trainee of another exercise, and a live user of the same authority, hear
// nothing of it, while each hears the changes of its own world.
func TestExerciseWorld_events(t *testing.T) {
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		ts, _ := streamingServer(t, b)
		trainer := login(t, ts.URL, "trainer", demo.Password)
		liveOfficer := login(t, ts.URL, "it.officer", demo.Password)
		_, inA := newExercise(t, trainer, 2)
		_, inB := newExercise(t, trainer, 1)
		if len(inA) != 2 || len(inB) != 1 {
			t.Fatalf("trainees: %d in A, %d in B", len(inA), len(inB))
		}

		streamA, streamB, streamLive := openStream(t, inA[0]), openStream(t, inB[0]), openStream(t, liveOfficer)

		// Another trainee of A drafts: A's first trainee hears it.
		draftA := inA[1].expect(http.StatusCreated, "POST", "/api/v1/requests",
			map[string]any{"kind": "mla", "requested_authority": "ES", "title": "Drafted in A"})["id"].(string)
		heardA, _ := streamA.heard(t, 5*time.Second, func(ids []string) bool { return has(ids, draftA) })
		if !has(heardA, draftA) {
			t.Fatalf("A's trainee did not hear the draft of A (%s); heard %v", draftA, heardA)
		}

		// B changes too: its stream hears its own change, and never A's;
		// the live user of IT hears neither world.
		draftB := inB[0].expect(http.StatusCreated, "POST", "/api/v1/requests",
			map[string]any{"kind": "mla", "requested_authority": "ES", "title": "Drafted in B"})["id"].(string)
		heardB, _ := streamB.heard(t, 5*time.Second, func(ids []string) bool { return has(ids, draftB) })
		if !has(heardB, draftB) {
			t.Fatalf("B's trainee did not hear the draft of B (%s); heard %v", draftB, heardB)
		}
		// A moment more, many of the hubs' polls, for anything late.
		lateA, _ := streamA.heard(t, 10*exercisetest.EventPoll, nil)
		lateB, _ := streamB.heard(t, 10*exercisetest.EventPoll, nil)
		heardLive, _ := streamLive.heard(t, 10*exercisetest.EventPoll, nil)
		for _, leak := range []struct {
			who   string
			heard []string
			id    string
		}{
			{"A's trainee", append(heardA, lateA...), draftB},
			{"B's trainee", append(heardB, lateB...), draftA},
			{"the live it.officer", heardLive, draftA},
			{"the live it.officer", heardLive, draftB},
		} {
			if has(leak.heard, leak.id) {
				t.Errorf("LEAK: %s heard %s of another world (heard %v)", leak.who, leak.id, leak.heard)
			}
		}
		if len(heardLive) != 0 {
			t.Errorf("the live it.officer heard %v, and nothing live changed", heardLive)
		}
	})
}

// hubGoroutines counts the running pollers of event hubs, and the streams
// they serve.
func hubGoroutines() (pollers, streams int) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	all := string(buf)
	return strings.Count(all, "internal/events.(*Hub).poll("), strings.Count(all, "internal/events.(*Hub).Serve(")
}

// waitHubGoroutines waits until the counts are as wanted.
func waitHubGoroutines(t *testing.T, what string, pollers, streams int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, s := hubGoroutines()
		if p == pollers && s == streams {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d hub pollers and %d streams running, want %d and %d", what, p, s, pollers, streams)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestExerciseWorld_eventHubLifetime: a world's event hub starts with the
// world and stops with it, its streams ended, whether the world is
// deleted or the manager closed; and the server's shutdown (StopStreams)
// ends the streams of the worlds, open ones and those of worlds opened
// later, while the worlds go on answering. No poller or stream is left
// behind.
func TestExerciseWorld_eventHubLifetime(t *testing.T) {
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		ts, srv := streamingServer(t, b)
		trainer := login(t, ts.URL, "trainer", demo.Password)
		basePollers, baseStreams := hubGoroutines() // the live hub's, and those of other tests

		// Deleted: the stream ends, the poller stops.
		id, trainees := newExercise(t, trainer, 1)
		waitHubGoroutines(t, "a world created", basePollers+1, baseStreams)
		s := openStream(t, trainees[0])
		waitHubGoroutines(t, "a trainee's stream open", basePollers+1, baseStreams+1)
		trainer.expect(http.StatusNoContent, "DELETE", "/api/v1/exercises/"+id, nil)
		if _, ended := s.heard(t, 5*time.Second, nil); !ended {
			t.Fatal("the stream of a deleted world goes on")
		}
		waitHubGoroutines(t, "the world deleted", basePollers, baseStreams)

		// The server shuts down: the streams end, the world still answers.
		_, trainees = newExercise(t, trainer, 1)
		s = openStream(t, trainees[0])
		srv.Manager.StopStreams()
		if _, ended := s.heard(t, 5*time.Second, nil); !ended {
			t.Fatal("a world's stream goes on after StopStreams")
		}
		trainees[0].expect(http.StatusOK, "GET", "/api/v1/me", nil)
		// A world opened after it (here: created) streams nothing either.
		_, late := newExercise(t, trainer, 1)
		res := late[0].do("GET", "/api/v1/events", nil) // ends at once: do reads it to its end
		if res.status != http.StatusOK || strings.Contains(string(res.body), "data:") {
			t.Fatalf("a late world's stream after StopStreams: %d %q", res.status, res.body)
		}
		waitHubGoroutines(t, "streams stopped", basePollers, baseStreams)

		// Closed with the manager: no poller is left of the open worlds.
		srv.Manager.Close()
		waitHubGoroutines(t, "the manager closed", basePollers, baseStreams)
	})
}

// streamingServer is a server of exercises on backend b for tests that
// open event streams.
func streamingServer(t *testing.T, b testdb.Backend) (*httptest.Server, *exercisetest.Server) {
	t.Helper()
	w := testworld.New(t, b, testworld.Options{})
	srv := exercisetest.New(t, w.Store, w.Auth, w.Workflow, &exercisetest.Engine{}, nil)
	ts := httptest.NewServer(srv.Handler)
	t.Cleanup(ts.Close) // after the streams' cleanups: Close waits for open connections
	return ts, srv
}
