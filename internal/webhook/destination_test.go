package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/jobs"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// fakeResolver answers names from a table, as DNS would; nothing leaves
// the machine.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestCheckDestination(t *testing.T) {
	dns := fakeResolver{
		"receiver.example":   {"203.0.113.10"},
		"inside.example":     {"10.1.2.3"},
		"metadata.example":   {"169.254.169.254"},
		"mixed.example":      {"203.0.113.10", "192.168.1.1"},
		"v6inside.example":   {"fd00::1"},
		"mapped.example":     {"::ffff:127.0.0.1"},
		"carriernat.example": {"100.64.0.1"},
	}
	cases := []struct {
		url     string
		private bool   // --webhook-allow-private
		refused string // part of the reason; "" when accepted
	}{
		{"https://receiver.example/hooks", false, ""},
		{"http://203.0.113.10:8443/x?y=1", false, ""},
		{"https://inside.example/", false, "private"},
		{"https://metadata.example/", false, "link-local"},
		{"https://mixed.example/", false, "private"},
		{"https://v6inside.example/", false, "private"},
		{"https://mapped.example/", false, "loopback"},
		{"https://carriernat.example/", false, "private"},
		{"http://127.0.0.1:9000/", false, "loopback"},
		{"http://[::1]/", false, "loopback"},
		{"http://0.0.0.0/", false, "unspecified"},
		{"http://10.0.0.1/", false, "private"},
		{"http://172.16.0.1/", false, "private"},
		{"http://192.168.0.1/", false, "private"},
		{"http://169.254.169.254/latest/meta-data", false, "link-local"},
		{"http://localhost:8080/", false, "this machine"},
		{"http://unknown.example/", false, "does not resolve"},
		{"http://127.0.0.1:9000/", true, ""},
		{"http://localhost:8080/", true, ""},
		{"ftp://receiver.example/", false, "http or https"},
		{"file:///etc/passwd", true, "http or https"},
		{"https://user:pw@receiver.example/", false, "user name or password"},
		{"https://receiver.example/#frag", false, "fragment"},
		{"/relative", true, "absolute"},
		{"", true, "required"},
		{"https://" + strings.Repeat("a", 2001), true, "at most"},
	}
	for _, tc := range cases {
		_, reason := webhook.CheckDestination(context.Background(), tc.url, tc.private, dns)
		switch {
		case tc.refused == "" && reason != "":
			t.Errorf("%q (allow private %t) refused: %s", tc.url, tc.private, reason)
		case tc.refused != "" && !strings.Contains(reason, tc.refused):
			t.Errorf("%q (allow private %t): reason %q, want one saying %q", tc.url, tc.private, reason, tc.refused)
		}
	}
}

// TestSender_checksAtConnectAndFollowsNoRedirect: a destination accepted
// when it was made (here with private addresses allowed) reaches nothing
// on loopback when the sender is not allowed to connect there, which is
// what a name rebound to 127.0.0.1 after the check would meet; and a
// redirect is not followed, but counted as a failure.
func TestSender_checksAtConnectAndFollowsNoRedirect(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	target := newReceiver(t, nil)
	rebound := f.subscribe(t, "it.supervisor", target.URL+"/rebound", "request.create")
	f.draft(t, "it.officer", "ES")

	strict := quickOptions()
	strict.AllowPrivate = false
	strict.MaxAttempts = 1
	w := webhook.NewWorker(f.w.Store, strict)
	supervisor := f.actor(t, "it.supervisor")
	settled := func(id string) webhook.Delivery {
		ds, _ := f.w.Webhooks.Deliveries(f.ctx, supervisor, id, 0)
		if len(ds) == 1 && ds[0].Status != webhook.StatusPending {
			return ds[0]
		}
		return webhook.Delivery{}
	}
	runUntil(t, w, 10*time.Second, func() bool { return settled(rebound.ID).Status != "" })
	if d := settled(rebound.ID); d.Status != webhook.StatusDead || !strings.Contains(d.LastError, "loopback") {
		t.Errorf("delivery to loopback with the check on: %+v", d)
	}
	if len(target.got()) != 0 {
		t.Errorf("the loopback receiver was reached %d times", len(target.got()))
	}

	elsewhere := newReceiver(t, nil)
	redirecting := newReceiver(t, func(_ int, _ received, w http.ResponseWriter) {
		w.Header().Set("Location", elsewhere.URL+"/elsewhere")
		w.WriteHeader(http.StatusFound)
	})
	redirected := f.subscribe(t, "it.supervisor", redirecting.URL, "request.create")
	f.draft(t, "it.officer", "ES")
	allowed := quickOptions()
	allowed.MaxAttempts = 1
	w = webhook.NewWorker(f.w.Store, allowed)
	runUntil(t, w, 10*time.Second, func() bool { return settled(redirected.ID).Status != "" })
	if d := settled(redirected.ID); d.Status != webhook.StatusDead || d.LastStatus != http.StatusFound || !strings.Contains(d.LastError, "redirect") {
		t.Errorf("redirected delivery: %+v", d)
	}
	if len(elsewhere.got()) != 0 {
		t.Error("the redirect was followed")
	}
}

func TestBackoff(t *testing.T) {
	base, max := 10*time.Second, time.Hour
	for attempts, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 12: time.Hour} {
		for range 50 {
			d := webhook.Backoff(attempts, base, max, 0)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: waited %v, want within [%v, %v]", attempts, d, want/2, want)
			}
		}
	}
	if d := webhook.Backoff(1, base, max, 2*time.Minute); d != 2*time.Minute {
		t.Errorf("Retry-After of 2 min: waited %v", d)
	}
	if d := webhook.Backoff(1, base, max, 48*time.Hour); d != time.Hour {
		t.Errorf("Retry-After of two days: waited %v, want the cap", d)
	}
	if d := webhook.Backoff(1, base, max, 0); d > 30*time.Second {
		t.Errorf("the first retry after %v, want within 30 s (CONTRACT 8)", d)
	}
}

// TestDelivery_twoServersDeliverOnce: two servers on one PostgreSQL
// database, each with its job runner and worker, deliver every message
// once per subscription: the runner's lease lets one work, and the claims
// would keep two apart.
func TestDelivery_twoServersDeliverOnce(t *testing.T) {
	base := os.Getenv(testdb.PostgresEnv)
	if base == "" {
		t.Skip("two servers on one database need " + testdb.PostgresEnv)
	}
	dsn := testdb.PostgresSchema(t, base)
	f := &fixture{w: testworld.New(t, testdb.Backend{Name: "postgres", DSN: func(testing.TB) string { return dsn }},
		testworld.Options{WebhookAllowPrivate: true}), ctx: context.Background()}
	other, err := store.Open(f.ctx, store.Options{DSN: dsn, AuditKey: testworld.AuditKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })

	var mu sync.Mutex
	count := map[string]int{}
	rc := newReceiver(t, func(_ int, r received, w http.ResponseWriter) {
		mu.Lock()
		count[r.ID]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	subs := []webhook.Created{f.subscribe(t, "it.supervisor", rc.URL+"/a", "*"), f.subscribe(t, "es.supervisor", rc.URL+"/b", "request.send")}

	var runners []*jobs.Runner
	for _, st := range []*store.Store{f.w.Store, other} {
		opts := quickOptions()
		opts.Window = 50 * time.Millisecond
		wk := webhook.NewWorker(st, opts)
		r := jobs.New(st.JobLease(), []jobs.Job{{Name: "webhook-deliveries", Every: time.Millisecond, Run: wk.Run}},
			jobs.Options{Poll: 20 * time.Millisecond})
		r.Start(context.Background())
		runners = append(runners, r)
	}
	t.Cleanup(func() {
		for _, r := range runners {
			r.Stop()
		}
	})
	const n = 10
	for range n {
		r := f.draft(t, "it.officer", "ES")
		f.fire(t, "it.supervisor", r.ID, workflow.EventSend)
	}
	want := n*2 + n // IT: create and send of each; ES: each send
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := len(count)
		mu.Unlock()
		if got >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a second delivery would come now
	mu.Lock()
	defer mu.Unlock()
	if len(count) != want {
		t.Errorf("%d messages delivered, want %d", len(count), want)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
	for _, s := range subs {
		ds, err := f.w.Webhooks.Deliveries(f.ctx, f.actor(t, map[string]string{"IT": "it.supervisor", "ES": "es.supervisor"}[s.Authority]), s.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Status != webhook.StatusDelivered || d.Attempts != 1 {
				t.Errorf("delivery %+v", d)
			}
		}
	}
}
