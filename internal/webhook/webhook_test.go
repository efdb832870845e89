package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// received is one request a receiver got.
type received struct {
	ID, Timestamp, Signature string
	Body                     []byte
	At                       time.Time
}

// body decodes the delivery's JSON body.
func (r received) body(t *testing.T) deliveredBody {
	t.Helper()
	var b deliveredBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return b
}

type deliveredBody struct {
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

func (b deliveredBody) requestID() string { s, _ := b.Data["request_id"].(string); return s }
func (b deliveredBody) version() int      { f, _ := b.Data["version"].(float64); return int(f) }

// receiver is a real HTTP server on 127.0.0.1 that logs what it gets and
// answers what answer says (200 when nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	log    []received
	answer func(n int, r received, w http.ResponseWriter) // n: how many came before
}

func newReceiver(t *testing.T, answer func(n int, r received, w http.ResponseWriter)) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
			Signature: r.Header.Get("webhook-signature"), Body: body, At: time.Now()}
		rc.mu.Lock()
		n := len(rc.log)
		rc.log = append(rc.log, got)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, got, w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.log...)
}

// verify checks a delivery as a receiver would, by the Standard Webhooks
// specification, written here apart from the server's signer: the secret
// is the base64 after "whsec_"; the signed content is
// "{webhook-id}.{webhook-timestamp}.{body}"; the header holds one or more
// space-separated "v1,{base64 HMAC-SHA256}"; the timestamp must be within
// five minutes.
func verify(t *testing.T, secret string, r received) {
	t.Helper()
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q lacks whsec_", secret)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) < 24 {
		t.Fatalf("secret does not decode to at least 24 bytes: %v", err)
	}
	ts, err := strconv.ParseInt(r.Timestamp, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		t.Fatalf("webhook-timestamp %q not a recent Unix time", r.Timestamp)
	}
	if r.ID == "" {
		t.Fatal("no webhook-id")
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, r.ID+"."+r.Timestamp+"."+string(r.Body))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(r.Signature) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
			return
		}
	}
	t.Fatalf("webhook-signature %q does not verify for id %s", r.Signature, r.ID)
}

// fixture is a demo world with webhooks allowed to loopback receivers.
type fixture struct {
	w   *testworld.World
	ctx context.Context
}

func newFixture(t *testing.T, db testdb.Backend) *fixture {
	return &fixture{w: testworld.New(t, db, testworld.Options{WebhookAllowPrivate: true}), ctx: context.Background()}
}

func (f *fixture) actor(t *testing.T, username string) workflow.Actor {
	t.Helper()
	u, err := f.w.Store.UserByUsername(f.ctx, username)
	if err != nil {
		t.Fatal(err)
	}
	return u.Actor()
}

func (f *fixture) subscribe(t *testing.T, username, url string, events ...string) webhook.Created {
	t.Helper()
	c, err := f.w.Webhooks.Create(f.ctx, f.actor(t, username), webhook.NewSubscription{URL: url, Events: events})
	if err != nil {
		t.Fatalf("subscribe %s: %v", username, err)
	}
	return c
}

func (f *fixture) draft(t *testing.T, username, to string) workflow.Request {
	t.Helper()
	r, err := f.w.Workflow.Create(f.ctx, f.actor(t, username), workflow.Draft{
		Kind: workflow.KindMLA, RequestedAuthority: to, Title: "Secret case title: bank records of a witness",
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) fire(t *testing.T, username, id string, ev workflow.Event) {
	t.Helper()
	if _, err := f.w.Workflow.Fire(f.ctx, f.actor(t, username), id, workflow.EventInput{Event: ev}); err != nil {
		t.Fatalf("%s %s: %v", username, ev, err)
	}
}

// quickOptions are a worker's options for tests: short waits everywhere.
func quickOptions() webhook.Options {
	return webhook.Options{
		AllowPrivate: true, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxAttempts: 3,
		Poll: 5 * time.Millisecond, Window: 100 * time.Millisecond, RequestTimeout: 5 * time.Second,
		ClaimLease: 2 * time.Second,
	}
}

// afterCursor is the sender's cursor and the one outbox message after it.
func (f *fixture) afterCursor(t *testing.T) (int64, []workflow.OutboxEntry) {
	t.Helper()
	cursor, err := f.w.Store.WebhookCursor(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := f.w.Store.OutboxAfter(f.ctx, cursor, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("outbox after the cursor: %v %v", entries, err)
	}
	return cursor, entries
}

// runUntil runs the worker's windows one after the other, as the job
// runner does, until done says so or the time is up.
func runUntil(t *testing.T, w *webhook.Worker, within time.Duration, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for !done() {
		if ctx.Err() != nil {
			t.Fatal("timed out waiting for the deliveries")
		}
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			t.Fatalf("worker: %v", err)
		}
	}
}

// TestDelivery_signedInOrderToTheAudienceOnly: every subscriber gets, in
// order, signed as the specification says, what its authority may see and
// nothing else: IT its draft's creation and everything after, ES from the
// send on, NG nothing of IT–ES traffic nor of an IT draft to NG; no body
// holds case text.
func TestDelivery_signedInOrderToTheAudienceOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		f := newFixture(t, db)
		it, es, ng, itSends := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
		itSub := f.subscribe(t, "it.supervisor", it.URL+"/hook?token=abc", "*")
		esSub := f.subscribe(t, "es.supervisor", es.URL, "*")
		f.subscribe(t, "ng.supervisor", ng.URL, "*")
		sendsSub := f.subscribe(t, "it.supervisor", itSends.URL, "request.send")

		r := f.draft(t, "it.officer", "ES")
		f.fire(t, "it.supervisor", r.ID, workflow.EventSend)
		f.fire(t, "es.officer", r.ID, workflow.EventAcknowledge)
		draftToNG := f.draft(t, "it.officer", "NG")

		w := webhook.NewWorker(f.w.Store, quickOptions())
		runUntil(t, w, 20*time.Second, func() bool { return len(it.got()) >= 4 && len(es.got()) >= 2 && len(itSends.got()) >= 1 })
		// One more window: anything wrongly queued would come now.
		if err := w.Run(context.Background()); err != nil {
			t.Fatal(err)
		}

		check := func(name string, rc *receiver, secret string, want []string) {
			t.Helper()
			// In order per request; requests among themselves in any order.
			got := rc.got()
			sort.SliceStable(got, func(i, j int) bool { return got[i].body(t).requestID() < got[j].body(t).requestID() })
			sort.SliceStable(want, func(i, j int) bool {
				return strings.Fields(want[i])[1] < strings.Fields(want[j])[1]
			})
			var types []string
			for _, g := range got {
				verify(t, secret, g)
				b := g.body(t)
				types = append(types, b.Type+" "+b.requestID())
				if strings.Contains(string(g.Body), "Secret case title") {
					t.Errorf("%s: a body holds case text: %s", name, g.Body)
				}
			}
			if strings.Join(types, "; ") != strings.Join(want, "; ") {
				t.Errorf("%s got\n  %v\nwant\n  %v", name, types, want)
			}
		}
		check("IT", it, itSub.Secret, []string{"request.create " + r.ID, "request.send " + r.ID,
			"request.acknowledge " + r.ID, "request.create " + draftToNG.ID})
		check("ES", es, esSub.Secret, []string{"request.send " + r.ID, "request.acknowledge " + r.ID})
		check("IT, sends only", itSends, sendsSub.Secret, []string{"request.send " + r.ID})
		if got := ng.got(); len(got) != 0 {
			t.Errorf("NG got %d deliveries of requests it may not see: %s", len(got), got[0].Body)
		}

		b := es.got()[0].body(t)
		if b.Data["reference"] != r.Reference || b.Data["event"] != "send" || b.Data["from"] != "drafted" || b.Data["to"] != "sent" {
			t.Errorf("send's data = %v", b.Data)
		}
		if _, err := time.Parse(time.RFC3339Nano, b.Timestamp); err != nil {
			t.Errorf("timestamp %q: %v", b.Timestamp, err)
		}
		if it.got()[0].body(t).Data["event"] != nil {
			t.Errorf("a create's event = %v, want null", it.got()[0].body(t).Data["event"])
		}

		ds, err := f.w.Webhooks.Deliveries(f.ctx, f.actor(t, "es.supervisor"), esSub.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 || ds[0].Status != webhook.StatusDelivered || ds[0].Attempts != 1 || ds[0].LastStatus != http.StatusNoContent {
			t.Errorf("ES deliveries = %+v", ds)
		}
	})
}

// TestDelivery_retriesHonourRetryAfterThenParksDead: a failed attempt is
// retried after the backoff or the receiver's Retry-After, whichever is
// longer; after the last attempt the delivery is parked dead with the last
// error, the next one of the same request goes on, and the retry endpoint's
// command sends the dead one again with the same webhook-id.
func TestDelivery_retriesHonourRetryAfterThenParksDead(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		f := newFixture(t, db)
		busy := newReceiver(t, func(n int, _ received, w http.ResponseWriter) {
			if n == 0 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		var failing sync.Mutex
		broken := true
		down := newReceiver(t, func(_ int, _ received, w http.ResponseWriter) {
			failing.Lock()
			defer failing.Unlock()
			if broken {
				http.Error(w, "no", http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		busySub := f.subscribe(t, "it.supervisor", busy.URL, "request.create")
		downSub := f.subscribe(t, "it.supervisor", down.URL, "request.create", "request.update")

		r := f.draft(t, "it.officer", "ES")
		title := "Another title"
		if _, err := f.w.Workflow.Update(f.ctx, f.actor(t, "it.officer"), r.ID, workflow.Changes{Title: &title}, nil); err != nil {
			t.Fatal(err)
		}
		opts := quickOptions()
		opts.MaxDelay = 5 * time.Second // Retry-After is honoured up to it
		w := webhook.NewWorker(f.w.Store, opts)
		runUntil(t, w, 20*time.Second, func() bool { return len(busy.got()) >= 2 && len(down.got()) >= 6 })

		g := busy.got()
		if gap := g[1].At.Sub(g[0].At); gap < 900*time.Millisecond {
			t.Errorf("retried %v after a Retry-After of 1 s", gap)
		}
		if g[0].ID != g[1].ID {
			t.Errorf("the retry's webhook-id %s differs from %s", g[1].ID, g[0].ID)
		}
		verify(t, busySub.Secret, g[1])

		// Three attempts of the create, parked, then three of the update:
		// the update waited for the create to be parked.
		d := down.got()
		for i, want := range []string{"request.create", "request.create", "request.create", "request.update", "request.update", "request.update"} {
			if got := d[i].body(t).Type; got != want {
				t.Fatalf("attempt %d to the failing receiver was %s, want %s", i+1, got, want)
			}
		}
		supervisor := f.actor(t, "it.supervisor")
		ds, err := f.w.Webhooks.Deliveries(f.ctx, supervisor, downSub.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 {
			t.Fatalf("deliveries = %+v", ds)
		}
		create := ds[1]
		if create.Status != webhook.StatusDead || create.Attempts != 3 || create.LastStatus != 500 || !strings.Contains(create.LastError, "500") {
			t.Errorf("the parked delivery = %+v", create)
		}

		if _, err := f.w.Webhooks.Retry(f.ctx, f.actor(t, "es.supervisor"), downSub.ID, create.ID); workflow.ErrorCode(err) != workflow.ErrNotFound {
			t.Errorf("another authority's retry: %v, want not_found", err)
		}
		failing.Lock()
		broken = false
		failing.Unlock()
		again, err := f.w.Webhooks.Retry(f.ctx, supervisor, downSub.ID, create.ID)
		if err != nil || again.Status != webhook.StatusPending {
			t.Fatalf("retry: %+v, %v", again, err)
		}
		if _, err := f.w.Webhooks.Retry(f.ctx, supervisor, downSub.ID, create.ID); workflow.ErrorCode(err) != workflow.ErrConflict {
			t.Errorf("retry of a pending delivery: %v, want conflict", err)
		}
		runUntil(t, w, 10*time.Second, func() bool { return len(down.got()) >= 7 })
		last := down.got()[6]
		if last.ID != create.ID {
			t.Errorf("the re-sent delivery's webhook-id = %s, want %s", last.ID, create.ID)
		}
		verify(t, downSub.Secret, last)
		runUntil(t, w, 5*time.Second, func() bool {
			ds, _ := f.w.Webhooks.Deliveries(f.ctx, supervisor, downSub.ID, 0)
			return ds[1].Status == webhook.StatusDelivered
		})
	})
}

// dropFinishes is a store whose sender dies before it can record anything
// once dead is set: what a server killed mid-delivery leaves behind.
type dropFinishes struct {
	webhook.Store
	mu   sync.Mutex
	dead bool
}

func (d *dropFinishes) isDead() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dead
}

func (d *dropFinishes) FinishDeliveries(ctx context.Context, fs []webhook.Finished) error {
	if d.isDead() {
		return nil
	}
	return d.Store.FinishDeliveries(ctx, fs)
}

func (d *dropFinishes) RecordTurn(ctx context.Context, turn webhook.Turn) error {
	if d.isDead() {
		return nil
	}
	return d.Store.RecordTurn(ctx, turn)
}

// TestDelivery_killedMidDeliveryLosesNothing: a worker stopped while the
// receiver holds a delivery, and one that dies without recording anything,
// leave nothing lost: a new worker over the same database delivers every
// message, in order per request, and a repeat carries the same webhook-id.
func TestDelivery_killedMidDeliveryLosesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		for _, how := range []string{"stopped", "killed"} {
			t.Run(how, func(t *testing.T) {
				f := newFixture(t, db)
				holding := make(chan struct{})
				release := make(chan struct{})
				var once sync.Once
				rc := newReceiver(t, func(n int, _ received, w http.ResponseWriter) {
					if n == 1 { // the second delivery: hold it
						once.Do(func() { close(holding) })
						<-release
					}
					w.WriteHeader(http.StatusOK)
				})
				t.Cleanup(func() {
					select {
					case <-release:
					default:
						close(release)
					}
				})
				sub := f.subscribe(t, "it.supervisor", rc.URL, "*")
				var ids []string
				for range 3 {
					r := f.draft(t, "it.officer", "ES")
					ids = append(ids, r.ID)
					f.fire(t, "it.supervisor", r.ID, workflow.EventSend)
				}

				store := &dropFinishes{Store: f.w.Store}
				opts := quickOptions()
				opts.Concurrency = 1 // so that the held delivery is the one in flight
				opts.ClaimLease = 500 * time.Millisecond
				opts.Window = time.Minute
				first := webhook.NewWorker(store, opts)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); _ = first.Run(ctx) }()
				select {
				case <-holding:
				case <-time.After(10 * time.Second):
					t.Fatal("the receiver got no second delivery")
				}
				if how == "killed" {
					store.mu.Lock()
					store.dead = true
					store.mu.Unlock()
				}
				cancel()
				<-done
				close(release)

				// Meanwhile, more changes.
				for _, id := range ids {
					f.fire(t, "es.officer", id, workflow.EventAcknowledge)
				}
				opts.Window = 100 * time.Millisecond
				second := webhook.NewWorker(f.w.Store, opts)
				want := 3 * 3
				runUntil(t, second, 20*time.Second, func() bool {
					ds, _ := f.w.Webhooks.Deliveries(f.ctx, f.actor(t, "it.supervisor"), sub.ID, 0)
					delivered := 0
					for _, d := range ds {
						if d.Status == webhook.StatusDelivered {
							delivered++
						}
					}
					return delivered == want
				})

				// Per request: versions never go back, each arrives, and a
				// repeated version has the same webhook-id.
				perRequest := map[string][]received{}
				idOf := map[int64]string{}
				for _, g := range rc.got() {
					verify(t, sub.Secret, g)
					b := g.body(t)
					perRequest[b.requestID()] = append(perRequest[b.requestID()], g)
					_ = idOf
				}
				for _, id := range ids {
					log := perRequest[id]
					seen := map[int]string{}
					last := 0
					for _, g := range log {
						v := g.body(t).version()
						if v < last {
							t.Errorf("request %s: version %d after %d: out of order", id, v, last)
						}
						if prev, ok := seen[v]; ok && prev != g.ID {
							t.Errorf("request %s: version %d sent twice under two ids %s, %s", id, v, prev, g.ID)
						}
						seen[v], last = g.ID, v
					}
					if len(seen) != 3 {
						t.Errorf("request %s: got versions %v, want 1, 2, 3", id, seen)
					}
				}
			})
		}
	})
}

// TestDelivery_slowReceiverHoldsUpNoOther: a receiver that holds every
// delivery for seconds delays its own deliveries only; another
// subscription's arrive meanwhile.
func TestDelivery_slowReceiverHoldsUpNoOther(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	release := make(chan struct{})
	slow := newReceiver(t, func(_ int, _ received, w http.ResponseWriter) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		w.WriteHeader(http.StatusOK)
	})
	fast := newReceiver(t, nil)
	f.subscribe(t, "it.supervisor", slow.URL, "*")
	f.subscribe(t, "it.supervisor", fast.URL, "*")
	r := f.draft(t, "it.officer", "ES")
	f.fire(t, "it.supervisor", r.ID, workflow.EventSend)
	f.draft(t, "it.officer", "NG")

	opts := quickOptions()
	opts.Window = time.Millisecond // the send behind the create comes after the window
	w := webhook.NewWorker(f.w.Store, opts)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(context.Background()) }()
	deadline := time.Now().Add(3 * time.Second)
	for len(fast.got()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(fast.got()); n != 3 {
		t.Errorf("the fast receiver got %d deliveries while the slow one held its first, want 3", n)
	}
	close(release)
	<-done
}

// TestDelivery_deletedWebhookGetsNothing: deleting a webhook cancels what
// it had pending, and deliveries made for it from a list read before the
// delete are not queued.
func TestDelivery_deletedWebhookGetsNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		f := newFixture(t, db)
		rc := newReceiver(t, nil)
		sub := f.subscribe(t, "it.supervisor", rc.URL, "*")
		r := f.draft(t, "it.officer", "ES")
		sup := f.actor(t, "it.supervisor")
		// Queue the draft's delivery, then delete before it is sent.
		cursor, entries := f.afterCursor(t)
		queue := func(id string, from, to int64) {
			t.Helper()
			err := f.w.Store.EnqueueDeliveries(f.ctx, from, to, []webhook.NewDelivery{{
				ID: id, WebhookID: sub.ID, OutboxID: entries[0].ID, RequestID: r.ID, EventType: entries[0].Action,
				Body: webhook.Body(entries[0]), CreatedAt: time.Now(),
			}})
			if err != nil {
				t.Fatal(err)
			}
		}
		queue("msg_first", cursor, entries[0].ID)
		if err := f.w.Webhooks.Delete(f.ctx, sup, sub.ID); err != nil {
			t.Fatal(err)
		}
		f.fire(t, "it.supervisor", r.ID, workflow.EventSend)
		late, err := f.w.Store.OutboxAfter(f.ctx, entries[0].ID, 10)
		if err != nil || len(late) != 1 {
			t.Fatalf("outbox: %v %v", late, err)
		}
		prev := entries[0].ID
		entries = late
		queue("msg_late", prev, entries[0].ID) // as from a list read before the delete
		ds, err := f.w.Store.Deliveries(f.ctx, sub.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].ID != "msg_first" || ds[0].Status != webhook.StatusCancelled {
			t.Errorf("deliveries of the deleted webhook = %+v, want the first alone, cancelled", ds)
		}
		if err := webhook.NewWorker(f.w.Store, quickOptions()).Run(f.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(rc.got()); n != 0 {
			t.Errorf("the deleted webhook's receiver got %d deliveries", n)
		}
	})
}

// TestClaims_lapseAndTokens: a claim whose lease ended is due again and
// another sender takes it; the first sender's late outcome then changes
// nothing, and the second's counts.
func TestClaims_lapseAndTokens(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		f := newFixture(t, db)
		f.subscribe(t, "it.supervisor", "http://127.0.0.1:9/unused", "*")
		r := f.draft(t, "it.officer", "ES")
		// A delivery queued as a row, as one behind a failed attempt is.
		cursor, entries := f.afterCursor(t)
		subs0, _ := f.w.Store.Webhooks(f.ctx, "")
		err := f.w.Store.EnqueueDeliveries(f.ctx, cursor, entries[0].ID, []webhook.NewDelivery{{
			ID: webhook.DeliveryID(subs0[0].ID, entries[0].ID), WebhookID: subs0[0].ID, OutboxID: entries[0].ID,
			RequestID: r.ID, EventType: entries[0].Action, Body: webhook.Body(entries[0]), CreatedAt: time.Now(),
		}})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		first, err := f.w.Store.ClaimDeliveries(f.ctx, now, 50*time.Millisecond, 10)
		if err != nil || len(first) != 1 {
			t.Fatalf("first claim: %v, %v", first, err)
		}
		if again, _ := f.w.Store.ClaimDeliveries(f.ctx, now.Add(10*time.Millisecond), time.Minute, 10); len(again) != 0 {
			t.Fatalf("claimed twice within the lease: %v", again)
		}
		second, err := f.w.Store.ClaimDeliveries(f.ctx, now.Add(100*time.Millisecond), time.Minute, 10)
		if err != nil || len(second) != 1 || second[0].ID != first[0].ID || second[0].Claim == first[0].Claim {
			t.Fatalf("claim after the lease: %v, %v", second, err)
		}
		late := webhook.Finished{ID: first[0].ID, Claim: first[0].Claim, Outcome: webhook.Outcome{At: now, Delivered: true, StatusCode: 200}}
		if err := f.w.Store.FinishDeliveries(f.ctx, []webhook.Finished{late}); err != nil {
			t.Fatal(err)
		}
		sup := f.actor(t, "it.supervisor")
		subs, _ := f.w.Webhooks.List(f.ctx, sup, "")
		ds, _ := f.w.Webhooks.Deliveries(f.ctx, sup, subs[0].ID, 0)
		if ds[0].Status != webhook.StatusPending || ds[0].Attempts != 0 {
			t.Fatalf("after the lapsed sender's outcome: %+v", ds[0])
		}
		ok := webhook.Finished{ID: second[0].ID, Claim: second[0].Claim, Outcome: webhook.Outcome{At: now, Delivered: true, StatusCode: 200}}
		if err := f.w.Store.FinishDeliveries(f.ctx, []webhook.Finished{ok}); err != nil {
			t.Fatal(err)
		}
		ds, _ = f.w.Webhooks.Deliveries(f.ctx, sup, subs[0].ID, 0)
		if ds[0].Status != webhook.StatusDelivered || ds[0].Attempts != 1 {
			t.Fatalf("after the holder's outcome: %+v", ds[0])
		}
	})
}

// TestPruneDeliveries: deliveries delivered before the limit are
// forgotten; dead ones, later ones and those still to deliver stay.
func TestPruneDeliveries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		f := newFixture(t, db)
		ok := newReceiver(t, nil)
		down := newReceiver(t, func(_ int, _ received, w http.ResponseWriter) { w.WriteHeader(http.StatusGone) })
		good := f.subscribe(t, "it.supervisor", ok.URL, "request.create")
		bad := f.subscribe(t, "it.supervisor", down.URL, "request.create")
		f.draft(t, "it.officer", "ES")
		opts := quickOptions()
		opts.MaxAttempts = 1
		w := webhook.NewWorker(f.w.Store, opts)
		sup := f.actor(t, "it.supervisor")
		settled := func(id, status string) bool {
			ds, _ := f.w.Webhooks.Deliveries(f.ctx, sup, id, 0)
			return len(ds) == 1 && ds[0].Status == status
		}
		runUntil(t, w, 10*time.Second, func() bool { return settled(good.ID, webhook.StatusDelivered) && settled(bad.ID, webhook.StatusDead) })
		if n, err := f.w.Store.PruneDeliveries(f.ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("pruned %d before the limit (%v)", n, err)
		}
		n, err := f.w.Store.PruneDeliveries(f.ctx, time.Now().Add(time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, want the delivered one (%v)", n, err)
		}
		if !settled(bad.ID, webhook.StatusDead) {
			t.Error("the dead delivery was pruned")
		}
		if ds, _ := f.w.Webhooks.Deliveries(f.ctx, sup, good.ID, 0); len(ds) != 0 {
			t.Errorf("the delivered one is still there: %+v", ds)
		}
	})
}

// TestDelivery_subscribedWhileRunning: a webhook made while a run is
// under way gets the changes written after it from that same run, and an
// earlier webhook's deliveries go on meanwhile.
func TestDelivery_subscribedWhileRunning(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	first, second := newReceiver(t, nil), newReceiver(t, nil)
	f.subscribe(t, "it.supervisor", first.URL, "*")
	opts := quickOptions()
	opts.Window = 3 * time.Second
	w := webhook.NewWorker(f.w.Store, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	f.draft(t, "it.officer", "ES")
	waitFor(t, func() bool { return len(first.got()) == 1 })
	f.subscribe(t, "it.supervisor", second.URL, "*")
	f.draft(t, "it.officer", "NG")
	waitFor(t, func() bool { return len(first.got()) == 2 && len(second.got()) == 1 })
}

// waitFor waits up to five seconds for ok.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not within 5 s")
		}
	}
}
