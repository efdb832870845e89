package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Options configure a Worker. Zero values take the defaults.
type Options struct {
	// AllowPrivate lets the sender connect to loopback and private
	// addresses (--webhook-allow-private); otherwise its dialer refuses
	// them at every connection.
	AllowPrivate bool
	// Client sends the deliveries; default one with the timeouts below,
	// the dialer of Dialer, no proxy, and no redirect followed.
	Client *http.Client
	// ConnectTimeout bounds a connection (default 5 s), RequestTimeout a
	// whole attempt, the answer included (default 15 s).
	ConnectTimeout, RequestTimeout time.Duration
	// BaseDelay is the wait after the first failed attempt (default 10 s,
	// so that the first retry comes within 30 s as CONTRACT 8 asks); each
	// failure doubles it, up to MaxDelay (default 1 h). The wait is
	// jittered between half of it and all of it, so that receivers coming
	// back are not hit by every sender at once. A Retry-After longer than
	// the wait is honoured, up to MaxDelay.
	BaseDelay, MaxDelay time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is parked
	// as dead (default 10: about 1.4 hours of retries).
	MaxAttempts int
	// ClaimLease is how long a claimed delivery is the sender's: longer
	// than an attempt (default 4 × RequestTimeout). A sender that died
	// holding one leaves it due again once the lease ends.
	ClaimLease time.Duration
	// Concurrency is how many deliveries are sent at once (default 16); a
	// subscription and request has at most one in flight (the order).
	Concurrency int
	// Poll is how often the outbox and the due deliveries are looked at
	// while the worker runs (default 50 ms), and Window how long one Run
	// works before it gives its runner's turn back (default 900 ms).
	Poll, Window time.Duration
	// Now is the clock of the deliveries' times; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// maxAnswer bounds what is read of a receiver's answer: nothing of it is
// needed but that it came.
const maxAnswer = 64 << 10

// maxErrorText bounds the last error kept of a delivery.
const maxErrorText = 300

// fanOutPage is how many outbox messages one pass turns into deliveries.
const fanOutPage = 500

// Worker turns outbox messages into deliveries and sends them. Its Run is
// a job of the leased runner (internal/jobs): one server at a time runs
// it, and the claims (FOR UPDATE SKIP LOCKED on PostgreSQL, with a claim
// token) keep a lease handed over mid-run from sending one delivery twice
// at once.
type Worker struct {
	store Store
	opt   Options
	log   *slog.Logger
}

// NewWorker returns a worker over store.
func NewWorker(store Store, opt Options) *Worker {
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = 5 * time.Second
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 15 * time.Second
	}
	if opt.BaseDelay <= 0 {
		opt.BaseDelay = 10 * time.Second
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = time.Hour
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 10
	}
	if opt.ClaimLease <= 0 {
		opt.ClaimLease = 4 * opt.RequestTimeout
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 16
	}
	if opt.Poll <= 0 {
		opt.Poll = 50 * time.Millisecond
	}
	if opt.Window <= 0 {
		opt.Window = 900 * time.Millisecond
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Client == nil {
		opt.Client = NewClient(opt.ConnectTimeout, opt.RequestTimeout, opt.AllowPrivate)
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: store, opt: opt, log: log}
}

// NewClient is the sender's HTTP client: the checking dialer, timeouts for
// the connection, the TLS handshake, the answer's headers and the whole
// attempt, no proxy from the environment (a proxy would connect where the
// dialer cannot check), and no redirect followed (a redirect could point
// anywhere; the 3xx counts as a failed attempt).
func NewClient(connectTimeout, requestTimeout time.Duration, allowPrivate bool) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           Dialer(connectTimeout, allowPrivate).DialContext,
		TLSHandshakeTimeout:   connectTimeout,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run works for one window: it turns new outbox messages into deliveries
// and sends the due ones, looking again every Poll and as soon as a
// delivery ends. After the window it goes on working until no delivery is
// under way, so that a slow receiver holds up none of the others, but
// claims nothing more once the window and a RequestTimeout have passed;
// then it waits for the deliveries under way and returns, giving the
// runner its turn back. It returns at once when ctx ends; a delivery cut
// short then is given back (due again at once, its attempt not counted),
// and one whose sender died without giving it back is due again when its
// claim lapses: at least once.
func (w *Worker) Run(ctx context.Context) error {
	end := time.Now().Add(w.opt.Window)
	lastClaim := end.Add(w.opt.RequestTimeout)
	// inFlight counts the deliveries claimed and not yet recorded; their
	// outcomes come back on results (never blocking: it holds as many as
	// may be in flight) and are recorded together, once per turn.
	inFlight := 0
	results := make(chan Finished, w.opt.Concurrency)
	var wg sync.WaitGroup
	var firstErr error
	note := func(err error) {
		if err != nil && ctx.Err() == nil && firstErr == nil {
			firstErr = err
		}
	}
	var ended []Finished
	record := func() {
		for {
			select {
			case f := <-results:
				ended = append(ended, f)
				continue
			default:
			}
			break
		}
		if len(ended) == 0 {
			return
		}
		if err := w.store.FinishDeliveries(context.WithoutCancel(ctx), ended); err != nil {
			w.log.Warn("webhook: recording deliveries' outcomes failed; they are due again when their claims lapse",
				"deliveries", len(ended), "error", err.Error())
			note(err)
		}
		inFlight -= len(ended)
		ended = ended[:0]
	}
	defer func() {
		wg.Wait()
		record()
	}()
	for {
		record()
		now := time.Now()
		claiming := ctx.Err() == nil && now.Before(lastClaim)
		if claiming {
			note(w.fanOut(ctx))
			if free := w.opt.Concurrency - inFlight; free > 0 {
				claimed, err := w.store.ClaimDeliveries(ctx, w.opt.Now(), w.opt.ClaimLease, free)
				note(err)
				inFlight += len(claimed)
				for _, c := range claimed {
					wg.Add(1)
					go func() {
						defer wg.Done()
						results <- Finished{ID: c.ID, Claim: c.Claim, Outcome: w.attempt(ctx, c)}
					}()
				}
			}
		}
		if !claiming || (!now.Before(end) && inFlight == 0) {
			return firstErr
		}
		t := time.NewTimer(w.opt.Poll)
		select {
		case <-ctx.Done():
		case f := <-results:
			ended = append(ended, f)
		case <-t.C:
		}
		t.Stop()
	}
}

// fanOut turns the outbox messages after the cursor into deliveries, one
// for each active subscription that wants the message's action and whose
// authority is of the message's audience, and moves the cursor past them,
// in one transaction.
func (w *Worker) fanOut(ctx context.Context) error {
	var subs []Subscription
	for {
		cursor, err := w.store.WebhookCursor(ctx)
		if err != nil {
			return fmt.Errorf("webhook cursor: %w", err)
		}
		entries, err := w.store.OutboxAfter(ctx, cursor, fanOutPage)
		if err != nil || len(entries) == 0 {
			return err
		}
		if subs == nil {
			if subs, err = w.store.Webhooks(ctx, ""); err != nil {
				return err
			}
		}
		now := w.opt.Now().UTC()
		var ds []NewDelivery
		for _, e := range entries {
			for _, s := range subs {
				if !s.Wants(e.Action) || !slices.Contains(e.Audience, s.Authority) || e.At.Before(s.CreatedAt) {
					continue
				}
				ds = append(ds, NewDelivery{
					ID: "msg_" + workflow.NewIDAt(now), WebhookID: s.ID, OutboxID: e.ID, RequestID: e.RequestID,
					EventType: e.Action, Body: Body(e), CreatedAt: now,
				})
			}
		}
		if err := w.store.EnqueueDeliveries(ctx, cursor, entries[len(entries)-1].ID, ds); err != nil {
			return fmt.Errorf("enqueue deliveries: %w", err)
		}
		if len(entries) < fanOutPage {
			return nil
		}
	}
}

// attempt sends c once, signed at this moment.
func (w *Worker) attempt(ctx context.Context, c Claimed) Outcome {
	now := w.opt.Now()
	ts := now.Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(c.Body))
	if err != nil {
		return w.failed(c, now, 0, "invalid destination: "+err.Error(), 0)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "mla-flow-webhooks/1")
	h.Set("webhook-id", c.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", Sign(c.Secret, c.ID, ts, c.Body))
	resp, err := w.opt.Client.Do(req)
	if ctx.Err() != nil {
		if resp != nil {
			resp.Body.Close()
		}
		// Shutting down: give it back, uncounted. The receiver may have
		// had it all the same; the repeat carries the same webhook-id.
		return Outcome{At: now, Released: true}
	}
	if err != nil {
		return w.failed(c, now, 0, networkError(err), 0)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return Outcome{At: now, Delivered: true, StatusCode: resp.StatusCode}
	}
	msg := "answered " + strconv.Itoa(resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " (redirects are not followed)"
	}
	return w.failed(c, now, resp.StatusCode, msg, retryAfter(resp.Header.Get("Retry-After"), now))
}

// failed is the outcome of a failed attempt: due again after the backoff
// (or Retry-After), or dead when it was the last.
func (w *Worker) failed(c Claimed, now time.Time, status int, msg string, after time.Duration) Outcome {
	o := Outcome{At: now, StatusCode: status, Error: clean(msg)}
	attempts := c.Attempts + 1
	if attempts >= w.opt.MaxAttempts {
		o.Dead = true
		return o
	}
	o.Next = now.Add(Backoff(attempts, w.opt.BaseDelay, w.opt.MaxDelay, after))
	return o
}

// Backoff is the wait after the attempts-th failed attempt: base doubled
// for each earlier failure, capped at max, jittered between half and all
// of it; at least retryAfter when the receiver asked for it, up to max.
func Backoff(attempts int, base, max time.Duration, retryAfter time.Duration) time.Duration {
	d := base
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = min(retryAfter, max)
	}
	return d
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date; 0 for
// none or nonsense.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 366*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// networkError says what went wrong without the Go error's wrapping.
func networkError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "timed out"
	}
	if errors.Is(err, errForbiddenAddress) {
		return errForbiddenAddress.Error()
	}
	return "network error: " + err.Error()
}

// clean keeps an error text short and printable.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > maxErrorText {
		s = string([]rune(s)[:maxErrorText]) + "…"
	}
	return s
}
