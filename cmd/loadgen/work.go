package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one run measured.
type result struct {
	Workload     string       `json:"workload"`
	URL          string       `json:"url"`
	Path         string       `json:"path,omitempty"`
	Query        string       `json:"query,omitempty"`
	Workers      int          `json:"workers"`
	Requests     int          `json:"requests_per_worker,omitempty"`
	DurationS    float64      `json:"duration_s"`
	Ops          int64        `json:"ops"`
	OpsPerS      float64      `json:"ops_per_s"`
	Errors       int64        `json:"errors"`
	ErrorSamples []string     `json:"error_samples,omitempty"`
	Latency      latencyStats `json:"latency_ms"`
	// ItemsPerOp is the mean number of rows a list answer held (reads).
	ItemsPerOp float64      `json:"items_per_op,omitempty"`
	Server     *serverStats `json:"server,omitempty"`
	// Webhooks is what the receivers of --webhooks measured.
	Webhooks   *webhookStats `json:"webhooks,omitempty"`
	StartedAt  string        `json:"started_at"`
	GoMaxProcs int           `json:"loadgen_gomaxprocs"`
}

func (r result) print(w io.Writer) {
	fmt.Fprintf(w, "workload %s, %d workers, %.1f s measured\n", r.Workload, r.Workers, r.DurationS)
	if r.Path != "" {
		fmt.Fprintf(w, "list: GET %s?%s\n", r.Path, r.Query)
	}
	fmt.Fprintf(w, "ops: %d  (%.0f ops/s)  errors: %d\n", r.Ops, r.OpsPerS, r.Errors)
	fmt.Fprintf(w, "latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (mean %.2f)\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Latency.Mean)
	if r.ItemsPerOp > 0 {
		fmt.Fprintf(w, "rows per answer: %.1f\n", r.ItemsPerOp)
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server pid %d: cpu %.2f s = %.3f ms/op; rss max %.1f MB (peak since start %.1f MB)\n",
			s.PID, s.CPUSeconds, s.CPUMsPerOp, s.RSSMaxMB, s.HWMMB)
	}
	if h := r.Webhooks; h != nil {
		fmt.Fprintf(w, "webhooks: %d subscribed; %d deliveries of the window's changes (%d arrived in all)\n", h.Subscribed, h.Delivered, h.Arrived)
		fmt.Fprintf(w, "delivery lag ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", h.LagMs.P50, h.LagMs.P90, h.LagMs.P99, h.LagMs.Max)
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// client is a worker's view of the server.
type client struct {
	base string
	http *http.Client
}

// call sends one request and reads the whole answer. body, when not nil, is
// sent as JSON.
func (c *client) call(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// post sends a JSON body and returns the status and the whole answer.
func (c *client) post(ctx context.Context, path, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

var (
	stateField   = []byte(`"state":"`)
	versionField = []byte(`"version":`)
)

// stateAndVersion reads the "state" and "version" of a request answer
// without decoding the rest. A request's JSON holds one field of each name
// at its top level, before any nested object (the contract's field order),
// so the first occurrence of each is the request's.
func stateAndVersion(b []byte) (string, int, bool) {
	i := bytes.Index(b, stateField)
	if i < 0 {
		return "", 0, false
	}
	rest := b[i+len(stateField):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", 0, false
	}
	state := string(rest[:j])
	i = bytes.Index(b, versionField)
	if i < 0 {
		return "", 0, false
	}
	rest = b[i+len(versionField):]
	j = 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	v, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		return "", 0, false
	}
	return state, v, true
}

// login signs a demo user in and returns the access token.
func (c *client) login(ctx context.Context, username, password string) (string, error) {
	status, body, err := c.call(ctx, "POST", "/api/v1/auth/login", "", map[string]string{"username": username, "password": password})
	if err != nil {
		return "", fmt.Errorf("log in as %s: %w", username, err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("log in as %s: %d %s", username, status, snippet(body))
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("log in as %s: no token in %s", username, snippet(body))
	}
	return out.AccessToken, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// authorities are the demo world's central authorities.
var authorities = []string{"it", "es", "ng", "th"}

// tokens signs in every demo user a workload needs, once: log-ins are
// deliberately slow (password hashing), and workers share the tokens.
type tokens map[string]string

func signIn(ctx context.Context, c *client, password string, roles ...string) (tokens, error) {
	t := tokens{}
	for _, a := range authorities {
		for _, r := range roles {
			name := a + "." + r
			tok, err := c.login(ctx, name, password)
			if err != nil {
				return nil, err
			}
			t[name] = tok
		}
	}
	return t, nil
}

// recorder collects one worker's latencies and errors.
type recorder struct {
	lat    []time.Duration
	errs   int64
	sample []string
	items  int64
}

func (r *recorder) fail(format string, args ...any) {
	r.errs++
	if len(r.sample) < 3 {
		r.sample = append(r.sample, fmt.Sprintf(format, args...))
	}
}

// window is the measured part of a run: operations that start inside it
// count.
type window struct {
	start, end time.Time
}

func (w window) counts(t time.Time) bool { return !t.Before(w.start) && t.Before(w.end) }

// drive runs the workload and returns what it measured.
func drive(ctx context.Context, o options, stderr io.Writer) (result, error) {
	transport := &http.Transport{
		MaxIdleConns:        o.workers + 4,
		MaxIdleConnsPerHost: o.workers + 4,
		MaxConnsPerHost:     o.workers + 4,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	c := &client{base: strings.TrimRight(o.url, "/"), http: &http.Client{Transport: transport, Timeout: o.timeout}}

	var wl workload
	var err error
	switch o.workload {
	case "transitions":
		wl, err = newTransitions(ctx, c, o)
	case "reads":
		wl, err = newReads(ctx, c, o)
	}
	if err != nil {
		return result{}, err
	}

	var sampler *procSampler
	if o.serverPID > 0 {
		if sampler, err = newProcSampler(o.serverPID); err != nil {
			return result{}, err
		}
	}
	began := time.Now()
	win := window{start: began.Add(o.warmup), end: began.Add(o.warmup + o.duration)}
	var hooks *receivers
	if o.webhooks > 0 {
		if hooks, err = startWebhooks(ctx, c, o, win); err != nil {
			return result{}, err
		}
		// The window starts after the subscriptions.
		began = time.Now()
		win = window{start: began.Add(o.warmup), end: began.Add(o.warmup + o.duration)}
		hooks.setWindow(win)
	}
	runCtx, cancel := context.WithDeadline(ctx, win.end.Add(o.timeout))
	defer cancel()

	recs := make([]*recorder, o.workers)
	var wg sync.WaitGroup
	var measuring atomic.Bool
	var startCPU float64
	if sampler != nil {
		// Start the CPU clock when the window opens.
		wg.Go(func() {
			select {
			case <-time.After(time.Until(win.start)):
				startCPU = sampler.start()
				measuring.Store(true)
			case <-runCtx.Done():
			}
		})
	}
	for w := range o.workers {
		rec := &recorder{lat: make([]time.Duration, 0, 4096)}
		recs[w] = rec
		wg.Go(func() { wl.work(runCtx, w, win, rec) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return result{}, ctx.Err()
	}

	res := result{
		Workload: o.workload, URL: o.url, Workers: o.workers, DurationS: o.duration.Seconds(),
		StartedAt: began.UTC().Format(time.RFC3339), GoMaxProcs: runtime.GOMAXPROCS(0),
	}
	if o.workload == "reads" {
		res.Path, res.Query = o.path, o.query
	} else {
		res.Requests = o.requests
	}
	var all []time.Duration
	var items int64
	for _, r := range recs {
		all = append(all, r.lat...)
		res.Errors += r.errs
		items += r.items
		for _, s := range r.sample {
			if len(res.ErrorSamples) < 5 {
				res.ErrorSamples = append(res.ErrorSamples, s)
			}
		}
	}
	res.Ops = int64(len(all))
	res.OpsPerS = float64(res.Ops) / o.duration.Seconds()
	res.Latency = summarize(all)
	if o.workload == "reads" && res.Ops > 0 {
		res.ItemsPerOp = float64(items) / float64(res.Ops)
	}
	if sampler != nil && measuring.Load() {
		s := sampler.finish(startCPU, res.Ops)
		res.Server = &s
	}
	if hooks != nil {
		hooks.drain(ctx)
		s := hooks.stop(ctx, c)
		res.Webhooks = &s
		if s.Delivered == 0 {
			res.Errors++
			res.ErrorSamples = append(res.ErrorSamples, "no webhook delivery of the window's changes arrived")
		}
	}
	// The final check of the transitions workload runs after the window.
	if err := wl.check(ctx); err != nil {
		res.Errors++
		res.ErrorSamples = append(res.ErrorSamples, err.Error())
	}
	if res.Ops == 0 {
		fmt.Fprintln(stderr, "loadgen: no operation completed in the measured window")
		res.Errors++
	}
	return res, nil
}

// workload is one kind of load.
type workload interface {
	// work runs worker w until the window ends.
	work(ctx context.Context, w int, win window, rec *recorder)
	// check runs after every worker stopped.
	check(ctx context.Context) error
}

// transitions is the transitions workload.
type transitions struct {
	c          *client
	tokens     tokens
	owned      [][]*owned // per worker
	instrument string
	rate       float64 // transitions per second offered in all; 0 for no pacing
}

// owned is a request a worker drives, and where the worker believes it is.
type owned struct {
	id                string
	from, to          string // authority prefixes: "it", "es", ...
	state             string
	version           int
	requestedOfficer  string
	requestingOfficer string
}

// pair returns the requesting and requested authority of worker w's
// requests: every authority requests from and is requested by another.
func pair(w int) (string, string) {
	return authorities[w%len(authorities)], authorities[(w+1)%len(authorities)]
}

func newTransitions(ctx context.Context, c *client, o options) (*transitions, error) {
	t := &transitions{c: c, owned: make([][]*owned, o.workers), instrument: o.instrument, rate: o.rate}
	var err error
	if t.tokens, err = signIn(ctx, c, o.password, "officer", "supervisor"); err != nil {
		return nil, err
	}
	// Set-up in parallel (a few workers at a time): draft, send,
	// acknowledge every request, so that each sits in acknowledged.
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := range o.workers {
		from, to := pair(w)
		for range o.requests {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				r, err := t.prepare(ctx, from, to)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				t.owned[w] = append(t.owned[w], r)
			})
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("prepare requests: %w", firstErr)
	}
	return t, nil
}

// requestAnswer is what the workload reads of a request.
type requestAnswer struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Version int    `json:"version"`
}

// retrying calls the server like client.call, and tries again a few times
// when it answers 503, as the contract invites clients to: the set-up is
// not measured, and must not fail on a transient refusal.
func (c *client) retrying(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		status, out, err := c.call(ctx, method, path, token, body)
		if err != nil || status != http.StatusServiceUnavailable || attempt == 4 {
			return status, out, err
		}
		select {
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		case <-ctx.Done():
			return status, out, ctx.Err()
		}
	}
}

func (t *transitions) prepare(ctx context.Context, from, to string) (*owned, error) {
	r := &owned{from: from, to: to, requestingOfficer: from + ".officer", requestedOfficer: to + ".officer"}
	draft := map[string]any{
		"kind": "mla", "requested_authority": strings.ToUpper(to),
		"title": "Load test: bank records of a shell company", "summary": "Created by loadgen.",
		"measures": []string{"bank_records"},
	}
	if t.instrument != "" {
		draft["instrument"] = t.instrument
	}
	status, body, err := t.c.retrying(ctx, "POST", "/api/v1/requests", t.tokens[from+".officer"], draft)
	if err != nil || status != http.StatusCreated {
		return nil, fmt.Errorf("create: %d %s %v", status, snippet(body), err)
	}
	var a requestAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	r.id = a.ID
	for _, step := range []struct{ user, event, want string }{
		{from + ".supervisor", "send", "sent"},
		{to + ".officer", "acknowledge", "acknowledged"},
	} {
		status, body, err := t.c.retrying(ctx, "POST", "/api/v1/requests/"+r.id+"/events", t.tokens[step.user], map[string]any{"event": step.event})
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("%s: %d %s %v", step.event, status, snippet(body), err)
		}
		if err := json.Unmarshal(body, &a); err != nil || a.State != step.want {
			return nil, fmt.Errorf("%s: state %q, want %s (%v)", step.event, a.State, step.want, err)
		}
	}
	r.state, r.version = a.State, a.Version
	return r, nil
}

func (t *transitions) work(ctx context.Context, w int, win window, rec *recorder) {
	mine := t.owned[w]
	buf := make([]byte, 0, 256)
	// With a rate, each worker starts its transitions on a schedule of its
	// own, offset from the others'; one behind its schedule goes on at once.
	var every time.Duration
	next := time.Now()
	if t.rate > 0 {
		every = time.Duration(float64(time.Second) * float64(len(t.owned)) / t.rate)
		next = next.Add(every * time.Duration(w) / time.Duration(len(t.owned)))
	}
	for i := 0; ; i++ {
		if every > 0 {
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
			next = next.Add(every)
		}
		if time.Now().After(win.end) || ctx.Err() != nil {
			return
		}
		r := mine[i%len(mine)]
		event, user, next := "request_info", r.requestedOfficer, "info_requested"
		comment := "Please provide the account holder's date of birth."
		if r.state == "info_requested" {
			event, user, next = "provide_info", r.requestingOfficer, "acknowledged"
			comment = "Date of birth: 1970-01-01."
		}
		// The body is written, and the answer read, by hand: this process
		// shares the machine with the server, and encoding/json would cost
		// it a good part of what the server spends on the request.
		body := strconv.AppendInt(append(append(append(append(append(buf[:0],
			`{"event":"`...), event...), `","comment":"`...), comment...), `","version":`...), int64(r.version), 10)
		body = append(body, '}')
		start := time.Now()
		status, answer, err := t.c.post(ctx, "/api/v1/requests/"+r.id+"/events", t.tokens[user], body)
		took := time.Since(start)
		counted := win.counts(start)
		if ctx.Err() != nil && err != nil {
			return
		}
		if counted {
			rec.lat = append(rec.lat, took)
		}
		switch state, version, ok := stateAndVersion(answer); {
		case err != nil:
			rec.fail("%s %s: %v", event, r.id, err)
		case status != http.StatusOK:
			rec.fail("%s %s: %d %s", event, r.id, status, snippet(answer))
		case !ok:
			rec.fail("%s %s: unreadable answer %s", event, r.id, snippet(answer))
		case state != next || version != r.version+1:
			rec.fail("%s %s: answered state %s version %d, want %s version %d", event, r.id, state, version, next, r.version+1)
		default:
			r.state, r.version = state, version
			continue
		}
		// After an error the worker no longer knows where its request is:
		// read it back before going on.
		if err := t.reload(ctx, r); err != nil {
			rec.fail("reload %s: %v", r.id, err)
			return
		}
	}
}

func (t *transitions) reload(ctx context.Context, r *owned) error {
	status, body, err := t.c.call(ctx, "GET", "/api/v1/requests/"+r.id, t.tokens[r.requestingOfficer], nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%d %s", status, snippet(body))
	}
	var a requestAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return err
	}
	r.state, r.version = a.State, a.Version
	return nil
}

// check reads every request back: each must be in the state and at the
// version its worker's last accepted answer said.
func (t *transitions) check(ctx context.Context) error {
	n, bad := 0, 0
	var first string
	for _, mine := range t.owned {
		for _, r := range mine {
			n++
			want := *r
			if err := t.reload(ctx, r); err != nil {
				return fmt.Errorf("final check of %s: %w", r.id, err)
			}
			if r.state != want.state || r.version != want.version {
				bad++
				if first == "" {
					first = fmt.Sprintf("%s is %s at version %d, the last answer said %s at %d", r.id, r.state, r.version, want.state, want.version)
				}
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("final check: %d of %d requests are not where their last answer left them; %s", bad, n, first)
	}
	return nil
}

// reads is the reads workload.
type reads struct {
	c      *client
	tokens tokens
	path   string
	states map[string]bool // the states the query filters on; nil: any
	dir    string
}

func newReads(ctx context.Context, c *client, o options) (*reads, error) {
	q, err := url.ParseQuery(o.query)
	if err != nil {
		return nil, fmt.Errorf("%w: --query: %v", errUsage, err)
	}
	r := &reads{c: c, path: o.path + "?" + o.query, dir: q.Get("direction")}
	for _, v := range q["state"] {
		for _, s := range strings.Split(v, ",") {
			if r.states == nil {
				r.states = map[string]bool{}
			}
			r.states[strings.TrimSpace(s)] = true
		}
	}
	if r.tokens, err = signIn(ctx, c, o.password, "officer"); err != nil {
		return nil, err
	}
	// One call before the clock starts: the query must be one the server
	// accepts.
	status, body, err := c.call(ctx, "GET", r.path, r.tokens["it.officer"], nil)
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s %v", r.path, status, snippet(body), err)
	}
	return r, nil
}

var (
	stateKey     = []byte(`"state":"`)
	requestedKey = []byte(`"requested_authority":"`)
	itemsPrefix  = []byte(`{"items":[`)
)

func (r *reads) work(ctx context.Context, w int, win window, rec *recorder) {
	authority := authorities[w%len(authorities)]
	token := r.tokens[authority+".officer"]
	code := []byte(strings.ToUpper(authority))
	for {
		if time.Now().After(win.end) || ctx.Err() != nil {
			return
		}
		start := time.Now()
		status, body, err := r.c.call(ctx, "GET", r.path, token, nil)
		took := time.Since(start)
		if ctx.Err() != nil && err != nil {
			return
		}
		if !win.counts(start) {
			continue
		}
		rec.lat = append(rec.lat, took)
		switch {
		case err != nil:
			rec.fail("list: %v", err)
		case status != http.StatusOK:
			rec.fail("list: %d %s", status, snippet(body))
		case !bytes.HasPrefix(body, itemsPrefix):
			rec.fail("list: unexpected answer %s", snippet(body))
		default:
			if msg := r.checkPage(body, code); msg != "" {
				rec.fail("list: %s", msg)
			}
			rec.items += int64(bytes.Count(body, requestedKey))
		}
	}
}

// checkPage checks a list answer without decoding it (decoding would cost
// this process more CPU than the server spends producing it, on the same
// machine): every row's state must be one the query asked for, and an
// incoming list must hold only requests to the caller's authority.
func (r *reads) checkPage(body, code []byte) string {
	if r.states != nil {
		for rest := body; ; {
			i := bytes.Index(rest, stateKey)
			if i < 0 {
				break
			}
			rest = rest[i+len(stateKey):]
			j := bytes.IndexByte(rest, '"')
			if j < 0 {
				return "malformed state"
			}
			if !r.states[string(rest[:j])] {
				return fmt.Sprintf("a row in state %q, which the filter excludes", rest[:j])
			}
		}
	}
	if r.dir == "incoming" {
		for rest := body; ; {
			i := bytes.Index(rest, requestedKey)
			if i < 0 {
				break
			}
			rest = rest[i+len(requestedKey):]
			if !bytes.HasPrefix(rest, code) || len(rest) <= len(code) || rest[len(code)] != '"' {
				return "an incoming row requested of another authority"
			}
		}
	}
	return ""
}

func (r *reads) check(context.Context) error { return nil }
