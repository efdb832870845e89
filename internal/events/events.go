// Package events serves the event stream of CONTRACT 8 (GET /api/v1/events,
// and the same stream to the web pages at /events): the caller's visible
// changes, read from the outbox, as Server-Sent Events.
//
// The outbox is the only source. Every committed change wrote its message
// in its own transaction, numbered as its audit entry, and the numbers grow
// in commit order (workflow.OutboxEntry), so a stream that remembers the
// last id it read and asks for what follows misses nothing and repeats
// nothing, across reconnects (Last-Event-ID) and across servers on one
// database. A Hub polls the outbox head once per interval for every stream
// of its server together, and wakes the streams only when something new
// committed; each stream then reads from its own position.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Outbox is what the stream reads: internal/store implements it.
type Outbox interface {
	// OutboxAfter returns the messages after id after, in id order.
	OutboxAfter(ctx context.Context, after int64, limit int) ([]workflow.OutboxEntry, error)
	// OutboxHead returns the newest message's id, 0 when none.
	OutboxHead(ctx context.Context) (int64, error)
}

// Options tune a Hub; zero values take the defaults.
type Options struct {
	// Poll is how often the hub reads the outbox head (default 250 ms):
	// the longest a change committed by another server waits.
	Poll time.Duration
	// Heartbeat is how often an idle stream sends a comment line (default
	// 15 s), so that proxies and load balancers keep the connection open
	// and a dead client is noticed.
	Heartbeat time.Duration
	// Recheck is how often a stream asks whether its credential is still
	// valid (default 15 s): a log-out, a revoked session, a disabled
	// account or an expired token ends the stream within it.
	Recheck time.Duration
	// Logger receives read failures; nil discards them.
	Logger *slog.Logger
}

// page is how many outbox messages a stream reads at once.
const page = 500

// Hub serves the event streams of one server.
type Hub struct {
	outbox Outbox
	opt    Options

	mu     sync.Mutex
	head   int64         // the newest id the poller has seen
	wake   chan struct{} // closed and replaced when head moves
	closed chan struct{} // closed by Close
	once   sync.Once
	done   chan struct{} // closed when the poller has stopped
}

// NewHub returns a hub over the outbox and starts its poller, which runs
// until Close.
func NewHub(o Outbox, opt Options) *Hub {
	if opt.Poll <= 0 {
		opt.Poll = 250 * time.Millisecond
	}
	if opt.Heartbeat <= 0 {
		opt.Heartbeat = 15 * time.Second
	}
	if opt.Recheck <= 0 {
		opt.Recheck = 15 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Hub{outbox: o, opt: opt, wake: make(chan struct{}), closed: make(chan struct{}), done: make(chan struct{})}
	go h.poll()
	return h
}

// Close ends every stream (each sends nothing more and returns) and stops
// the poller. The server calls it when it shuts down (http.Server's
// RegisterOnShutdown), since Shutdown waits for open requests and a stream
// never ends by itself.
func (h *Hub) Close() {
	h.once.Do(func() { close(h.closed) })
	<-h.done
}

// Notify wakes the streams at once, without waiting for the next poll: for
// a change this server has just committed.
func (h *Hub) Notify() { h.broadcast() }

func (h *Hub) broadcast() {
	h.mu.Lock()
	close(h.wake)
	h.wake = make(chan struct{})
	h.mu.Unlock()
}

// poll reads the outbox head every Poll and wakes the streams when it
// moved, whichever server committed the change.
func (h *Hub) poll() {
	defer close(h.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-h.closed
		cancel()
	}()
	t := time.NewTicker(h.opt.Poll)
	defer t.Stop()
	for {
		select {
		case <-h.closed:
			return
		case <-t.C:
		}
		head, err := h.outbox.OutboxHead(ctx)
		if err != nil {
			if ctx.Err() == nil {
				h.opt.Logger.Warn("event stream: read the outbox head", "error", err.Error())
			}
			continue
		}
		h.mu.Lock()
		moved := head != h.head
		h.head = head
		h.mu.Unlock()
		if moved {
			h.broadcast()
		}
	}
}

// waitChan is the channel the next head move closes.
func (h *Hub) waitChan() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wake
}

// Subscriber is who a stream is for.
type Subscriber struct {
	// Authority is the authority whose visible changes the stream carries,
	// as the Policy's Scope names it; "" sees nothing (the stream then
	// carries only heartbeats).
	Authority string
	// Alive reports whether the subscriber's credential is still valid;
	// the stream ends when it returns an error.
	Alive func(ctx context.Context) error
}

// ErrReconnect, from a Subscriber's Alive, ends the stream without the
// end event, so that the client reconnects at once (and resumes by
// Last-Event-ID): for a credential the reconnection renews.
var ErrReconnect = errors.New("reconnect to go on")

// ErrBadLastEventID is the error of a Last-Event-ID that is not an event
// id of this stream.
var ErrBadLastEventID = errors.New("Last-Event-ID is not an event id")

// LastEventID reads where a stream resumes: the Last-Event-ID header that
// an EventSource sends when it reconnects, or the query parameter
// last_event_id (for a client that opens a new EventSource itself). ok is
// false when neither is given: the stream then starts at the head, with
// what commits next.
func LastEventID(r *http.Request) (id int64, ok bool, err error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return 0, false, nil
	}
	id, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || id < 0 {
		return 0, false, ErrBadLastEventID
	}
	return id, true, nil
}

// Event is the data of one event: the shape of a webhook's body (CONTRACT
// 8), with nothing of a person or of the case's text.
type Event struct {
	Type      string    `json:"type"`
	Timestamp string    `json:"timestamp"`
	Data      EventData `json:"data"`
}

// EventData is what changed.
type EventData struct {
	RequestID string `json:"request_id"`
	Reference string `json:"reference"`
	// Event is the workflow event fired, "" for a create or an edit.
	Event   string `json:"event"`
	From    string `json:"from"`
	To      string `json:"to"`
	Version int    `json:"version"`
}

// EventOf is the event an outbox message tells.
func EventOf(m workflow.OutboxEntry) Event {
	return Event{
		Type: m.Action, Timestamp: m.At.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		Data: EventData{
			RequestID: m.RequestID, Reference: m.Reference, Event: string(m.Event),
			From: string(m.From), To: string(m.To), Version: m.Version,
		},
	}
}

// Visible reports whether the subscriber's authority may see the change:
// it is one of the message's audience, which the change computed with the
// same rule as the Policy's Scope (workflow.Audience).
func Visible(m workflow.OutboxEntry, authority string) bool {
	return authority != "" && slices.Contains(m.Audience, authority)
}

// Serve streams the subscriber's events to w until the client goes away,
// the subscriber's credential fails, or the hub closes. With resume it
// starts after the event id after (Last-Event-ID); without, at the head.
// It writes the headers itself; an error before them is returned for the
// caller to answer, and none is returned once streaming.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, sub Subscriber, after int64, resume bool) error {
	ctx := r.Context()
	if !resume {
		head, err := h.outbox.OutboxHead(ctx)
		if err != nil {
			return err
		}
		after = head
	}
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	// retry: how long an EventSource waits before it reconnects.
	if !h.write(w, rc, "retry: 2000\n\n") {
		return nil
	}

	heartbeat := time.NewTicker(h.opt.Heartbeat)
	defer heartbeat.Stop()
	recheck := time.NewTicker(h.opt.Recheck)
	defer recheck.Stop()
	for {
		wake := h.waitChan() // before reading, so that no move is missed
		for {
			msgs, err := h.outbox.OutboxAfter(ctx, after, page)
			if err != nil {
				if ctx.Err() == nil {
					h.opt.Logger.WarnContext(ctx, "event stream: read the outbox", "error", err.Error())
				}
				break // try again at the next wake or poll
			}
			var b strings.Builder
			for _, m := range msgs {
				after = m.ID
				if !Visible(m, sub.Authority) {
					continue
				}
				data, err := json.Marshal(EventOf(m))
				if err != nil {
					return nil
				}
				fmt.Fprintf(&b, "id: %d\ndata: %s\n\n", m.ID, data)
			}
			if b.Len() > 0 {
				if !h.write(w, rc, b.String()) {
					return nil
				}
				heartbeat.Reset(h.opt.Heartbeat)
			}
			if len(msgs) < page {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-h.closed:
			return nil
		case <-wake:
		case <-heartbeat.C:
			if !h.write(w, rc, ": heartbeat\n\n") {
				return nil
			}
		case <-recheck.C:
			if sub.Alive == nil {
				continue
			}
			if err := sub.Alive(ctx); errors.Is(err, ErrReconnect) {
				return nil // the client reconnects, and resumes
			} else if err != nil {
				// The credential ended: say so, then close; the client
				// must authenticate again before it reconnects.
				h.write(w, rc, "event: end\ndata: {\"reason\":\"unauthenticated\"}\n\n")
				return nil
			}
		}
	}
}

// write sends s at once, giving the write its own deadline: the server's
// WriteTimeout is meant for ordinary answers, not for a stream that stays
// open.
func (h *Hub) write(w http.ResponseWriter, rc *http.ResponseController, s string) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := w.Write([]byte(s)); err != nil {
		return false
	}
	return rc.Flush() == nil
}
