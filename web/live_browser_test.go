package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

const liveConnected = `document.getElementById('live-changes')?.getAttribute('data-connected') === 'true'`

// TestBrowser_liveUpdates: a list and a request page left open say, in
// their polite live region, that something changed elsewhere (through
// the event stream, static/live.js), without a reload; the link reloads
// the page, which then shows the change. A change the reader may not see
// says nothing. Checked with axe-core at 1280 and 390 px.
func TestBrowser_liveUpdates(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL

	c.login("es.officer")
	c.open("/inbox")
	c.waitFor(liveConnected)
	if got := c.text("#live-changes"); strings.TrimSpace(got) != "" {
		t.Fatalf("the live region speaks before any change: %q", got)
	}
	// Another authority's change ES may not see: nothing is said.
	app.draft(t, "ng.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "TH", Title: "Phone records"})
	// IT's draft is not ES's to see either.
	r := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records of Rossi S.r.l."})
	time.Sleep(300 * time.Millisecond)
	if got := c.text("#live-changes"); strings.TrimSpace(got) != "" {
		t.Fatalf("the live region speaks of a change ES may not see: %q", got)
	}
	app.fire(t, "it.supervisor", r.ID, workflow.EventInput{Event: workflow.EventSend})
	c.waitFor(`document.getElementById('live-changes').textContent.includes('The requests have changed')`)
	c.contains("#live-changes", r.Reference, "Reload to see it")
	if live, _ := chromedp.Run(c.ctx, chromedp.Evaluate[string](`document.getElementById('live-changes').getAttribute('aria-live')`)); live != "polite" {
		t.Errorf("the live region is aria-live=%q", live)
	}
	c.shoot("inbox-live")
	c.press("#live-changes a")
	c.contains("tbody", "Bank records of Rossi S.r.l.")

	c.open("/requests/" + r.ID)
	c.waitFor(liveConnected)
	other := app.sent(t, "Witness statements")
	_ = other
	time.Sleep(300 * time.Millisecond)
	if got := c.text("#live-changes"); strings.TrimSpace(got) != "" {
		t.Fatalf("the request page speaks of another request: %q", got)
	}
	app.fire(t, "es.supervisor", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
	c.waitFor(`document.getElementById('live-changes').textContent.includes('This request changed')`)
	c.shoot("request-live")
	c.press("#live-changes a")
	c.contains("main", "Acknowledged")
}

// TestBrowser_apiDocs: the API reference page reads without script, is
// axe-clean and reflows at 390 px.
func TestBrowser_apiDocs(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
	c.open("/api/docs")
	c.contains("main", "API reference", "GET /api/v1/events", "POST /api/v1/requests/{id}/events", "Answers")
	c.shoot("api-docs")
}
