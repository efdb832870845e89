package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

var secretOnPage = regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`)

// deliverAll runs a delivery worker over the app's store until no
// delivery is pending, as the server's job runner would.
func (a *testApp) deliverAll(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	w := webhook.NewWorker(a.store, webhook.Options{AllowPrivate: true, MaxAttempts: 1, Window: 30 * time.Millisecond, Poll: 5 * time.Millisecond})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if err := w.Run(ctx); err != nil {
			tb.Fatal(err)
		}
		cursor, err := a.store.WebhookCursor(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		rest, err := a.store.OutboxAfter(ctx, cursor, 1)
		if err != nil {
			tb.Fatal(err)
		}
		open := len(rest)
		subs, err := a.store.Webhooks(ctx, "")
		if err != nil {
			tb.Fatal(err)
		}
		for _, s := range subs {
			ds, err := a.store.Deliveries(ctx, s.ID, 1000)
			if err != nil {
				tb.Fatal(err)
			}
			for _, d := range ds {
				if d.Status == webhook.StatusPending || d.Status == webhook.StatusWaiting {
					open++
				}
			}
		}
		if open == 0 {
			return
		}
	}
	tb.Fatal("deliveries still pending")
}

// TestWebhookPages: a supervisor makes a webhook on the page and sees its
// secret once, sees the deliveries with their status and last error, sends
// a dead one again, and deletes the webhook; officers have no such page,
// and another authority's webhook does not exist for a supervisor.
func TestWebhookPages(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	var fail atomic.Bool
	fail.Store(true)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer rc.Close()

	sup := app.as(t, "it.supervisor")
	sup.get("/").must(t, 200).has(t, `href="/webhooks"`)
	sup.get("/webhooks").must(t, 200).has(t, "No webhooks yet.", "Create a webhook", "request.send")
	bad := sup.post("/webhooks", url.Values{"url": {"ftp://x"}, "events": {"request.nope"}}).must(t, 422)
	bad.has(t, "There is a problem", `href="#f-url"`, `href="#f-events"`)
	made := sup.post("/webhooks", url.Values{"url": {rc.URL + "/in"}, "events": {"request.create", "request.send"}}).must(t, 201)
	secret := secretOnPage.FindString(made.body)
	if secret == "" {
		t.Fatalf("no secret on the page:\n%s", made.body)
	}
	list := sup.get("/webhooks").must(t, 200).has(t, rc.URL+"/in", "request.create")
	if strings.Contains(list.body, secret) {
		t.Error("the secret is shown again")
	}
	m := regexp.MustCompile(`href="/webhooks/([0-9a-z]+)"`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatalf("no link to the deliveries:\n%s", list.body)
	}
	hook := "/webhooks/" + m[1]

	app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records"})
	app.deliverAll(t)
	page := sup.get(hook).must(t, 200).has(t, "request.create", "Dead", "answered 418", "Send again")
	dm := regexp.MustCompile(`action="(/webhooks/[0-9a-z]+/deliveries/msg_[0-9a-z_]+/retry)"`).FindStringSubmatch(page.body)
	if dm == nil {
		t.Fatalf("no retry form:\n%s", page.body)
	}
	fail.Store(false)
	sup.post(dm[1], nil).must(t, 303)
	sup.get(hook+"?done=webhook_retried").must(t, 200).has(t, "Pending", "sent again at once")
	app.deliverAll(t)
	sup.get(hook).must(t, 200).has(t, "Delivered")

	app.as(t, "it.officer").get("/webhooks").must(t, 403)
	app.as(t, "it.auditor").get("/webhooks").must(t, 403)
	es := app.as(t, "es.supervisor")
	es.get("/webhooks").must(t, 200).lacks(t, rc.URL)
	es.get(hook).must(t, 404)
	es.post(hook+"/delete", nil).must(t, 404)
	app.as(t, "admin").get("/webhooks").must(t, 200).has(t, rc.URL, "Choose an authority")

	sup.post(hook+"/delete", nil).must(t, 303)
	sup.get("/webhooks?done=webhook_deleted").must(t, 200).has(t, "has been deleted", "No webhooks yet.")
}

// TestBrowser_webhooks photographs and checks with axe-core, at 1280 and
// 390 px, the webhooks page with its form, the page showing a new secret,
// and the deliveries page with a dead and a delivered delivery.
func TestBrowser_webhooks(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
	var fail atomic.Bool
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()

	c.login("it.supervisor")
	c.open("/webhooks")
	c.shoot("webhooks-empty")
	c.do(
		chromedp.SendKeys(chromedp.ID("f-url"), rc.URL+"/hooks/mla"),
	)
	c.load(201, chromedp.Click(chromedp.CSS(`form[action="/webhooks"] button[type="submit"]`)))
	c.contains("main", "Signing secret of the new webhook", "not shown again")
	c.shoot("webhooks-created")

	app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records"})
	app.deliverAll(t)
	fail.Store(true)
	app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "NG", Title: "Witness"})
	app.deliverAll(t)
	c.open("/webhooks")
	href, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`document.querySelector('td a[href^="/webhooks/"]').getAttribute('href')`))
	if err != nil {
		t.Fatal(err)
	}
	c.open(href)
	c.contains("main", "Delivered", "Dead", "answered 503")
	c.shoot("webhook-deliveries")
}
