package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Options configure a Worker. Zero values take the defaults.
type Options struct {
	// AllowPrivate lets the sender connect to loopback and private
	// addresses (--webhook-allow-private); otherwise its dialer refuses
	// them at every connection.
	AllowPrivate bool
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
	// Concurrency is how many deliveries are sent at once (default 64); a
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

// fanOutPage is how many outbox messages one read turns into deliveries.
const fanOutPage = 500

// Worker turns outbox messages into deliveries and sends them. Its Run is
// a job of the leased runner (internal/jobs): one server at a time runs
// it. A run records only while the cursor is where it read it, and the
// claims of rows (FOR UPDATE SKIP LOCKED on PostgreSQL, with a claim
// token) keep a lease handed over mid-run from sending one delivery twice
// at once.
type Worker struct {
	store  Store
	opt    Options
	log    *slog.Logger
	poster *poster
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
		opt.Concurrency = 64
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
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: store, opt: opt, log: log, poster: newPoster(opt.ConnectTimeout, opt.RequestTimeout, opt.AllowPrivate)}
}

// Run works for one window. It sends the outbox's new messages straight
// away, without writing anything first, each chain (subscription and
// request) one message at a time, and the due rows of webhook_deliveries
// (retries and re-sends) as claims. What happened is recorded once per
// turn, in one transaction (Store.RecordTurn): the first attempts that
// arrived as small rows, the failed ones and those behind them as rows of
// their own, and the cursor past every message settled. A chain's next
// message is sent only once its previous one is recorded, so that a
// sender that dies and starts again from the cursor repeats at most the
// last message of a chain, never an older one after a newer: in order,
// at least once.
//
// After the window it goes on working until no delivery is under way, so
// that a slow receiver holds up none of the others, but starts nothing
// more once the window and a RequestTimeout have passed; then it records
// and returns, giving the runner its turn back. It returns at once when
// ctx ends; a delivery cut short then is sent again by the next run (its
// attempt not counted), and one whose sender died is due again when its
// claim lapses, or sent again from the cursor.
func (w *Worker) Run(ctx context.Context) error {
	end := time.Now().Add(w.opt.Window)
	lastStart := end.Add(w.opt.RequestTimeout)
	r, err := w.newRound(ctx)
	if err != nil {
		return err
	}
	// sending counts the attempts under way; their outcomes come back on
	// results (never blocking: it holds as many as may be under way) and
	// are recorded together, one turn at a time, while the next attempts
	// go on: a chain waits for its turn's record, the senders do not.
	sending := 0
	results := make(chan result, w.opt.Concurrency)
	var wg sync.WaitGroup
	var firstErr error
	note := func(err error) {
		if err != nil && ctx.Err() == nil && firstErr == nil {
			firstErr = err
		}
	}
	var ended []result
	// stopped: a turn could not be recorded, or the cursor moved under
	// this sender; nothing more is sent, since what follows a delivery
	// not recorded must not go before it is.
	stopped := false
	recorded := make(chan error, 1)
	var recording *recordedTurn
	startRecord := func() {
		if recording != nil || stopped {
			return
		}
		t := r.turn(ended)
		ended = ended[:0]
		if t.empty() {
			return
		}
		recording = &t
		go func() { recorded <- w.store.RecordTurn(context.WithoutCancel(ctx), t.Turn) }()
	}
	finishRecord := func(err error) {
		t := recording
		recording = nil
		if err != nil {
			w.log.Warn("webhook: recording a turn failed; what it held is sent again",
				"delivered", len(t.Delivered), "queued", len(t.Queued), "finished", len(t.Finished), "error", err.Error())
			note(err)
			stopped = true
			return
		}
		r.recorded(t)
	}
	send := func(c Claimed, f *fresh) {
		sending++
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- result{fresh: f, Finished: Finished{ID: c.ID, Claim: c.Claim, Outcome: w.attempt(ctx, c)}}
		}()
	}
	defer func() {
		wg.Wait()
		for range sending {
			ended = append(ended, <-results)
		}
		if recording != nil {
			finishRecord(<-recorded)
		}
		startRecord()
		if recording != nil {
			finishRecord(<-recorded)
		}
	}()
	var lastRead, lastClaim time.Time
	for {
		startRecord()
		now := time.Now()
		starting := ctx.Err() == nil && !stopped && now.Before(lastStart)
		if starting {
			note(r.refresh(ctx, false))
			// The loop comes round at every outcome: the outbox and the
			// due rows are looked at only so often, which bounds the
			// lag, rather than at each.
			if now.Sub(lastRead) >= readEvery {
				lastRead = now
				note(r.read(ctx))
			}
			for _, f := range r.ready(w.opt.Concurrency - sending) {
				send(r.claimedOf(f), f)
			}
			if free := w.opt.Concurrency - sending; free > 0 && now.Sub(lastClaim) >= w.opt.Poll {
				lastClaim = now
				claimed, err := w.store.ClaimDeliveries(ctx, w.opt.Now(), w.opt.ClaimLease, free)
				note(err)
				for _, c := range claimed {
					send(c, nil)
				}
			}
		}
		if !starting || (!now.Before(end) && sending == 0 && recording == nil && len(ended) == 0) {
			return firstErr
		}
		t := time.NewTimer(min(w.opt.Poll, readEvery))
		select {
		case <-ctx.Done():
		case res := <-results:
			sending--
			ended = append(ended, res)
		case err := <-recorded:
			finishRecord(err)
		case <-t.C:
		}
		t.Stop()
	}
}

// readEvery is how often a run reads the outbox while it is busy: the
// most a new message waits before it is sent, when its chain is free.
const readEvery = 5 * time.Millisecond

// result is the outcome of one attempt: of a message sent straight from
// the outbox (fresh set), or of a claimed row.
type result struct {
	fresh *fresh
	Finished
}

// maxBacklog bounds the deliveries read from the outbox and not yet
// settled that a sender holds; it reads no further meanwhile.
const maxBacklog = 20000

// refreshSenders is how often a run reads the subscriptions again, so that
// one deleted meanwhile gets nothing more from it.
const refreshSenders = 200 * time.Millisecond

// round is a run's view of the outbox after the cursor: the messages read
// and not yet settled for every subscription, and their deliveries in
// chains.
type round struct {
	w       *Worker
	cursor  int64 // the cursor as stored (the From of the next turn)
	head    int64 // the last outbox id read
	senders []Sender
	byID    map[string]*Sender
	readAt  time.Time        // when senders were read
	open    map[Chain]bool   // chains with a row pending or waiting
	settled map[Settled]bool // settled after the cursor before this run
	// messages are the outbox messages read, in id order, from the first
	// not settled for every subscription.
	messages []*message
	chains   map[Chain]*chain
	// rows are the deliveries to keep as rows at the next turn.
	rows    []row
	backlog int
}

// message is an outbox message and how many of its deliveries are not
// yet settled.
type message struct {
	id      int64
	unknown int
}

// fresh is a delivery of a message read from the outbox.
type fresh struct {
	msg   *message
	chain Chain
	NewDelivery
}

// chain is the deliveries of a chain not yet sent; the first is in
// flight, or its outcome not yet recorded, while busy.
type chain struct {
	queue []*fresh
	busy  bool
}

// row is a delivery to record as a row: attempted once (failed), or not.
type row struct {
	f       *fresh
	attempt *Outcome
}

func (w *Worker) newRound(ctx context.Context) (*round, error) {
	cursor, err := w.store.WebhookCursor(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhook cursor: %w", err)
	}
	r := &round{w: w, cursor: cursor, head: cursor, chains: map[Chain]*chain{}}
	if err := r.refresh(ctx, true); err != nil {
		return nil, err
	}
	if r.open, err = w.store.Open(ctx); err != nil {
		return nil, err
	}
	if r.settled, err = w.store.SettledAfter(ctx, cursor); err != nil {
		return nil, err
	}
	return r, nil
}

// refresh reads the active subscriptions, at most every refreshSenders
// unless forced (when messages were just read); the chains of one no
// longer active are dropped (settled, unsent).
func (r *round) refresh(ctx context.Context, force bool) error {
	if !force && time.Since(r.readAt) < refreshSenders {
		return nil
	}
	senders, err := r.w.store.Senders(ctx)
	if err != nil {
		return err
	}
	r.senders, r.readAt = senders, time.Now()
	r.byID = make(map[string]*Sender, len(senders))
	for i := range r.senders {
		r.byID[r.senders[i].ID] = &r.senders[i]
	}
	for key, c := range r.chains {
		if r.byID[key.WebhookID] != nil {
			continue
		}
		for i, f := range c.queue {
			if i > 0 || !c.busy { // the one in flight settles with its outcome
				r.settle(f)
			}
		}
		c.queue = c.queue[:min(len(c.queue), 1)]
		if !c.busy {
			delete(r.chains, key)
		}
	}
	return nil
}

// read turns the outbox messages after the head into deliveries, one for
// each active subscription that wants the message's action, whose
// authority is of the message's audience, made before it, and not settled
// already; a delivery of an open chain is to be a row behind the chain's.
func (r *round) read(ctx context.Context) error {
	for r.backlog < maxBacklog {
		entries, err := r.w.store.OutboxAfter(ctx, r.head, fanOutPage)
		if err != nil || len(entries) == 0 {
			return err
		}
		// The subscriptions as they are now, after the messages were
		// read: one made before a message was written is known here.
		if err := r.refresh(ctx, true); err != nil {
			return err
		}
		now := r.w.opt.Now().UTC()
		for _, e := range entries {
			m := &message{id: e.ID}
			var body []byte
			for _, s := range r.senders {
				if !s.Wants(e.Action) || !slices.Contains(e.Audience, s.Authority) || e.At.Before(s.CreatedAt) ||
					r.settled[Settled{s.ID, e.ID}] {
					continue
				}
				if body == nil {
					body = Body(e)
				}
				f := &fresh{msg: m, chain: Chain{s.ID, e.RequestID}, NewDelivery: NewDelivery{
					ID: DeliveryID(s.ID, e.ID), WebhookID: s.ID, OutboxID: e.ID, RequestID: e.RequestID,
					EventType: e.Action, Body: body, CreatedAt: now,
				}}
				m.unknown++
				r.backlog++
				if r.open[f.chain] {
					r.rows = append(r.rows, row{f: f})
					continue
				}
				c := r.chains[f.chain]
				if c == nil {
					c = &chain{}
					r.chains[f.chain] = c
				}
				c.queue = append(c.queue, f)
			}
			r.messages = append(r.messages, m)
			r.head = e.ID
		}
		if len(entries) < fanOutPage {
			return nil
		}
	}
	return nil
}

// ready takes up to n chains' next deliveries to send, marking them busy.
func (r *round) ready(n int) []*fresh {
	var out []*fresh
	for _, c := range r.chains {
		if len(out) >= n {
			break
		}
		if !c.busy && len(c.queue) > 0 {
			c.busy = true
			out = append(out, c.queue[0])
		}
	}
	return out
}

// claimedOf is what sends f: its subscription's address and secret.
func (r *round) claimedOf(f *fresh) Claimed {
	s := r.byID[f.WebhookID]
	return Claimed{
		Delivery: Delivery{ID: f.ID, WebhookID: f.WebhookID, OutboxID: f.OutboxID, RequestID: f.RequestID,
			EventType: f.EventType, Status: StatusPending, CreatedAt: f.CreatedAt},
		Body: f.Body, URL: s.URL, Secret: s.Secret,
	}
}

// settle counts f's delivery as settled.
func (r *round) settle(f *fresh) {
	f.msg.unknown--
	r.backlog--
}

// recordedTurn is a turn being recorded, with the chains whose head it
// settles: they go on once it is recorded.
type recordedTurn struct {
	Turn
	chains []Chain
}

// turn is what to record of the attempts ended, the deliveries counted as
// settled already (a run whose record fails sends nothing more), with the
// cursor moved past the messages settled. The chains whose head it
// settles stay busy until it is recorded.
func (r *round) turn(ended []result) recordedTurn {
	t := recordedTurn{Turn: Turn{From: r.cursor}}
	for _, res := range ended {
		f := res.fresh
		if f == nil {
			t.Finished = append(t.Finished, res.Finished)
			continue
		}
		o := res.Outcome
		c := r.chains[f.chain]
		switch {
		case o.Released:
			// Given back unattempted: this run sends nothing more of the
			// chain; the next one sends it again from the cursor.
			if c != nil {
				c.queue = c.queue[:min(len(c.queue), 1)]
			}
			continue
		case o.Delivered:
			t.Delivered = append(t.Delivered, FirstDelivered{Settled: Settled{f.WebhookID, f.OutboxID}, At: o.At, StatusCode: o.StatusCode})
			r.settle(f)
		default:
			r.rows = append(r.rows, row{f: f, attempt: &o})
			if !o.Dead && c != nil {
				// Due again later: the rest of the chain waits behind it,
				// as rows.
				r.open[f.chain] = true
				for _, next := range c.queue[1:] {
					r.rows = append(r.rows, row{f: next})
				}
				c.queue = c.queue[:1]
			}
		}
		t.chains = append(t.chains, f.chain)
	}
	for _, rw := range r.rows {
		t.Queued = append(t.Queued, Queued{NewDelivery: rw.f.NewDelivery, Attempt: rw.attempt})
		r.settle(rw.f)
	}
	r.rows = r.rows[:0]
	t.To = r.cursor
	i := 0
	for i < len(r.messages) && r.messages[i].unknown == 0 {
		t.To = r.messages[i].id
		i++
	}
	r.messages = r.messages[i:]
	return t
}

// recorded lets the chains whose head t settled go on, and moves the
// cursor.
func (r *round) recorded(t *recordedTurn) {
	r.cursor = t.To
	for _, key := range t.chains {
		c := r.chains[key]
		if c == nil {
			continue
		}
		c.busy = false
		if len(c.queue) > 0 {
			c.queue = c.queue[1:]
		}
		if len(c.queue) == 0 {
			delete(r.chains, key)
		}
	}
}

func (t Turn) empty() bool {
	return t.To == t.From && len(t.Delivered)+len(t.Queued)+len(t.Finished) == 0
}

// attempt sends c once, signed at this moment.
func (w *Worker) attempt(ctx context.Context, c Claimed) Outcome {
	now := w.opt.Now()
	ts := now.Unix()
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return w.failed(c, now, 0, "invalid destination", 0)
	}
	tsText := strconv.FormatInt(ts, 10)
	header := make([]byte, 0, 256)
	for _, h := range [][2]string{
		{"Content-Type", "application/json"},
		{"User-Agent", "mla-flow-webhooks/1"},
		{"webhook-id", c.ID},
		{"webhook-timestamp", tsText},
		{"webhook-signature", Sign(c.Secret, c.ID, ts, c.Body)},
	} {
		header = append(append(append(append(header, h[0]...), ": "...), h[1]...), "\r\n"...)
	}
	a, err := w.poster.post(ctx, u, header, c.Body)
	if ctx.Err() != nil {
		// Shutting down: give it back, uncounted. The receiver may have
		// had it all the same; the repeat carries the same webhook-id.
		return Outcome{At: now, Released: true}
	}
	if err != nil {
		return w.failed(c, now, 0, networkError(err), 0)
	}
	if a.status >= 200 && a.status < 300 {
		return Outcome{At: now, Delivered: true, StatusCode: a.status}
	}
	msg := "answered " + strconv.Itoa(a.status)
	if a.status >= 300 && a.status < 400 {
		msg += " (redirects are not followed)"
	}
	return w.failed(c, now, a.status, msg, retryAfter(a.retryAfter, now))
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
	if errors.Is(err, errTimedOut) || errors.Is(err, context.DeadlineExceeded) {
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
