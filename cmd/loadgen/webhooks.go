package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// With --webhooks N, loadgen subscribes N webhooks (as the supervisors of
// the four authorities in turn, to every action) before the window, each
// to a receiver of its own on 127.0.0.1, and reports the delivery lag of
// the changes made in the window: from the change's time (the body's
// timestamp) to its arrival. The server must run with
// --webhook-allow-private, since the receivers are on loopback. The
// transitions figure of the same run is the one the webhooks cost.

// maxWebhooks bounds --webhooks.
const maxWebhooks = 100

// webhookDrain is how long loadgen waits after the window for the
// deliveries of its changes, at most, and webhookQuiet how long without any
// arrival ends the wait sooner.
const (
	webhookDrain = 30 * time.Second
	webhookQuiet = 2 * time.Second
)

// webhookStats is what the receivers measured.
type webhookStats struct {
	Subscribed int `json:"subscribed"`
	// Delivered counts the deliveries of changes made in the window;
	// Arrived every delivery received.
	Delivered int64        `json:"delivered"`
	Arrived   int64        `json:"arrived"`
	LagMs     latencyStats `json:"lag_ms"`
}

// receivers are the webhooks' receiving servers.
type receivers struct {
	win     window
	servers []*http.Server
	ids     []string // the webhooks, to delete after the run
	tokens  []string // of their authorities' supervisors, in the same order

	mu      sync.Mutex
	lags    []time.Duration
	arrived int64
	last    time.Time
}

// startWebhooks starts n receivers and subscribes a webhook to each.
func startWebhooks(ctx context.Context, c *client, o options, win window) (*receivers, error) {
	sup, err := signIn(ctx, c, o.password, "supervisor")
	if err != nil {
		return nil, err
	}
	r := &receivers{win: win}
	for i := range o.webhooks {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			r.stop(ctx, c)
			return nil, err
		}
		srv := &http.Server{Handler: http.HandlerFunc(r.receive), ReadHeaderTimeout: 10 * time.Second}
		r.servers = append(r.servers, srv)
		go func() { _ = srv.Serve(ln) }()
		token := sup[authorities[i%len(authorities)]+".supervisor"]
		status, body, err := c.call(ctx, "POST", "/api/v1/webhooks", token, map[string]any{
			"url": "http://" + ln.Addr().String() + "/hook", "events": []string{"*"},
		})
		if err != nil || status != http.StatusCreated {
			r.stop(ctx, c)
			if status == http.StatusUnprocessableEntity {
				return nil, fmt.Errorf("subscribe a webhook: %d %s (is the server run with --webhook-allow-private?)", status, snippet(body))
			}
			return nil, fmt.Errorf("subscribe a webhook: %d %s %v", status, snippet(body), err)
		}
		var created struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &created); err != nil || created.ID == "" {
			r.stop(ctx, c)
			return nil, errors.New("subscribe a webhook: no id in the answer")
		}
		r.ids, r.tokens = append(r.ids, created.ID), append(r.tokens, token)
	}
	return r, nil
}

// setWindow sets the window whose changes' deliveries count.
func (r *receivers) setWindow(w window) {
	r.mu.Lock()
	r.win = w
	r.mu.Unlock()
}

// receive takes one delivery and notes its lag.
func (r *receivers) receive(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	// The timestamp is found by hand: this process shares the machine with
	// the server, and decoding every body would cost it what the server
	// needs for its deliveries.
	ts, ok := timestampOf(body)
	r.mu.Lock()
	r.arrived++
	r.last = at
	if ok && r.win.counts(ts) {
		r.lags = append(r.lags, at.Sub(ts))
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// drain waits, after the window, until no delivery has arrived for
// webhookQuiet, or webhookDrain has passed.
func (r *receivers) drain(ctx context.Context) {
	deadline := time.Now().Add(webhookDrain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		r.mu.Lock()
		quiet := time.Since(r.last) > webhookQuiet
		r.mu.Unlock()
		if quiet {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop deletes the webhooks, stops the receivers and returns what they
// measured.
func (r *receivers) stop(ctx context.Context, c *client) webhookStats {
	for i, id := range r.ids {
		_, _, _ = c.call(ctx, "DELETE", "/api/v1/webhooks/"+id, r.tokens[i], nil)
	}
	for _, s := range r.servers {
		_ = s.Close()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return webhookStats{Subscribed: len(r.ids), Delivered: int64(len(r.lags)), Arrived: r.arrived, LagMs: summarize(r.lags)}
}

// timestampKey opens the body's timestamp, which a delivery's body
// carries at its top level ({type, timestamp, data}).
var timestampKey = []byte(`"timestamp":"`)

// timestampOf reads the timestamp of a delivery's body.
func timestampOf(body []byte) (time.Time, bool) {
	i := bytes.Index(body, timestampKey)
	if i < 0 {
		return time.Time{}, false
	}
	rest := body[i+len(timestampKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}
