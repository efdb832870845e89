package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// sseEvent is one event of the stream as a client reads it.
type sseEvent struct {
	ID    int64
	Name  string // the SSE event name; "" for the default (message)
	Data  string
	Event struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			RequestID string `json:"request_id"`
			Reference string `json:"reference"`
			Event     string `json:"event"`
			From      string `json:"from"`
			To        string `json:"to"`
			Version   int    `json:"version"`
		} `json:"data"`
	}
}

// streamServer serves srv over HTTP until the test's end, after its
// streams have been closed (cleanups run last first).
func streamServer(t *testing.T, srv *testServer) *httptest.Server {
	web := httptest.NewServer(srv.handler)
	t.Cleanup(web.Close)
	return web
}

// stream is an open event stream over a real HTTP connection.
type stream struct {
	events     chan sseEvent
	heartbeats chan struct{}
	done       chan struct{} // closed when the server ends the stream
	cancel     context.CancelFunc
}

// openStream opens GET /api/v1/events as token, with header (e.g.
// Last-Event-ID) and query, and reads its events in the background.
func openStream(t *testing.T, base, token string, header http.Header, query string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{events: make(chan sseEvent, 100), heartbeats: make(chan struct{}, 100), done: make(chan struct{}), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Data != "" {
					_ = json.Unmarshal([]byte(ev.Data), &ev.Event)
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				select {
				case s.heartbeats <- struct{}{}:
				default:
				}
			case strings.HasPrefix(line, "id: "):
				ev.ID, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	return s
}

// next returns the next event, failing after a while.
func (s *stream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return sseEvent{}
}

// none checks that no event comes for a while.
func (s *stream) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-s.events:
		t.Fatalf("unexpected event %d %s", ev.ID, ev.Data)
	case <-time.After(150 * time.Millisecond):
	}
}

// ended waits for the server to end the stream.
func (s *stream) ended(t *testing.T, why string) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the stream did not end when %s", why)
	}
}

// TestEvents_visibility: each authority's stream carries exactly the
// changes it may see: an IT draft's create to IT alone, its send to IT and
// ES, nothing of either to NG, nothing at all to the admin; no case text.
func TestEvents_visibility(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		web := streamServer(t, srv)
		it := openStream(t, web.URL, srv.login(t, "it.auditor"), nil, "")
		es := openStream(t, web.URL, srv.login(t, "es.officer"), nil, "")
		ng := openStream(t, web.URL, srv.login(t, "ng.officer"), nil, "")
		admin := openStream(t, web.URL, srv.login(t, "admin"), nil, "")

		draft := srv.newDraft(t)
		id := text(draft["id"])
		created := it.next(t)
		if created.Event.Type != "request.create" || created.Event.Data.RequestID != id ||
			created.Event.Data.Reference != text(draft["reference"]) || created.Event.Data.To != "drafted" ||
			created.Event.Data.Version != 1 || created.Event.Timestamp == "" {
			t.Fatalf("create event: %+v", created.Event)
		}
		if strings.Contains(created.Data, "Rossi") || strings.Contains(created.Data, "laundering") {
			t.Fatalf("the event carries case text: %s", created.Data)
		}
		es.none(t) // a draft is not ES's to see

		srv.fire(t, "it.supervisor", id, workflow.EventSend)
		for name, s := range map[string]*stream{"IT": it, "ES": es} {
			ev := s.next(t)
			if ev.Event.Type != "request.send" || ev.Event.Data.Event != "send" || ev.Event.Data.From != "drafted" ||
				ev.Event.Data.To != "sent" || ev.Event.Data.Version != 2 || ev.ID <= created.ID {
				t.Fatalf("%s: send event %d %+v", name, ev.ID, ev.Event)
			}
		}

		// NG's own draft is the first thing NG hears of: nothing of the
		// IT–ES request came before it.
		status, body := srv.do(t, srv.login(t, "ng.officer"), http.MethodPost, "/api/v1/requests",
			map[string]any{"kind": "mla", "requested_authority": "TH", "title": "Phone records"})
		if status != http.StatusCreated {
			t.Fatalf("NG draft: %d %v", status, body)
		}
		if ev := ng.next(t); ev.Event.Data.RequestID != text(body["id"]) || ev.Event.Type != "request.create" {
			t.Fatalf("NG heard first of %+v", ev.Event)
		}
		it.none(t)
		admin.none(t)
	})
}

// TestEvents_resume: Last-Event-ID (the header an EventSource sends, or
// the query parameter) resumes with what followed that event, in order,
// nothing lost and nothing twice, however many changes came meanwhile.
func TestEvents_resume(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		web := streamServer(t, srv)
		token := srv.login(t, "it.officer")
		s := openStream(t, web.URL, token, nil, "")
		id := text(srv.newDraft(t)["id"])
		first := s.next(t)
		s.cancel()

		// Changes while disconnected: an edit, the send, and another draft.
		if status, body := srv.do(t, token, http.MethodPatch, pathTo(id), map[string]any{"summary": "More"}); status != http.StatusOK {
			t.Fatalf("edit: %d %v", status, body)
		}
		srv.fire(t, "it.supervisor", id, workflow.EventSend)
		other := text(srv.newDraft(t)["id"])
		want := []struct{ typ, request string }{{"request.update", id}, {"request.send", id}, {"request.create", other}}

		for _, how := range []struct {
			header http.Header
			query  string
		}{
			{http.Header{"Last-Event-ID": {strconv.FormatInt(first.ID, 10)}}, ""},
			{nil, "?last_event_id=" + strconv.FormatInt(first.ID, 10)},
		} {
			r := openStream(t, web.URL, token, how.header, how.query)
			last := first.ID
			for i, w := range want {
				ev := r.next(t)
				if ev.Event.Type != w.typ || ev.Event.Data.RequestID != w.request || ev.ID <= last {
					t.Fatalf("resumed event %d: %d %+v, want %s of %s after %d", i, ev.ID, ev.Event, w.typ, w.request, last)
				}
				last = ev.ID
			}
			r.none(t)
			r.cancel()
		}

		// Resuming from the last event seen gives nothing again.
		head := openStream(t, web.URL, token, nil, "")
		srv.fire(t, "es.officer", id, workflow.EventAcknowledge)
		ack := head.next(t)
		again := openStream(t, web.URL, token, http.Header{"Last-Event-ID": {strconv.FormatInt(ack.ID, 10)}}, "")
		again.none(t)
	})
}

// TestEvents_order: a burst of changes arrives in commit order, ids
// strictly increasing, each once.
func TestEvents_order(t *testing.T) {
	srv := newTestServer(t)
	web := streamServer(t, srv)
	s := openStream(t, web.URL, srv.login(t, "it.officer"), nil, "")
	const n = 12
	ids := make([]string, n)
	for i := range ids {
		ids[i] = text(srv.newDraft(t)["id"])
	}
	var last int64
	for i := range n {
		ev := s.next(t)
		if ev.Event.Data.RequestID != ids[i] || ev.ID <= last {
			t.Fatalf("event %d: %d for %s, want %s after %d", i, ev.ID, ev.Event.Data.RequestID, ids[i], last)
		}
		last = ev.ID
	}
	s.none(t)
}

// TestEvents_ends: the stream ends when the caller logs out (its token is
// revoked), and when the server shuts down; an idle one gets heartbeats.
func TestEvents_ends(t *testing.T) {
	srv := newTestServer(t)
	web := streamServer(t, srv)
	token := srv.login(t, "it.officer")
	s := openStream(t, web.URL, token, nil, "")
	select {
	case <-s.heartbeats:
	case <-time.After(3 * time.Second):
		t.Fatal("no heartbeat on an idle stream")
	}
	if status, body := srv.do(t, token, http.MethodPost, "/api/v1/auth/logout", nil); status != http.StatusNoContent {
		t.Fatalf("logout: %d %v", status, body)
	}
	s.ended(t, "the session was revoked")

	s = openStream(t, web.URL, srv.login(t, "es.officer"), nil, "")
	srv.events.Close()
	s.ended(t, "the server shut down")
}

// TestEvents_refused: a stream needs a valid token and a well-formed
// Last-Event-ID; unknown parameters are refused like everywhere.
func TestEvents_refused(t *testing.T) {
	srv := newTestServer(t)
	token := srv.login(t, "it.officer")
	for _, c := range []struct {
		token, query string
		header       http.Header
		status       int
	}{
		{"", "", nil, http.StatusUnauthorized},
		{"forged", "", nil, http.StatusUnauthorized},
		{token, "", http.Header{"Last-Event-Id": {"seven"}}, http.StatusBadRequest},
		{token, "?last_event_id=-1", nil, http.StatusBadRequest},
		{token, "?since=1", nil, http.StatusBadRequest},
	} {
		rec := srv.raw(t, c.token, http.MethodGet, "/api/v1/events"+c.query, nil, c.header)
		if rec.Code != c.status {
			t.Errorf("%q %v: %d %s, want %d", c.query, c.header, rec.Code, rec.Body.String(), c.status)
		}
	}
}
