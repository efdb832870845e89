package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestBrowser_consultation: the requested authority's supervisor posts a
// consultation (and an internal note) from the request page's form; the
// requesting authority's officer sees the request marked unread in the
// outgoing list, opens it from the marker, reads the consultation, and the
// marker is gone; the supervisor's refusal form then points to the
// consultation, read. The pages are photographed and checked with axe-core
// at 1280 and 390 px.
func TestBrowser_consultation(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
	r := app.sent(t, "Bank records of Rossi S.r.l.")
	app.fire(t, "es.officer", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
	app.sent(t, "Witness statements, Banca Etrusca case")
	path := "/requests/" + r.ID

	c.login("es.supervisor")
	c.open(path)
	c.do(chromedp.Click(chromedp.CSS(`details:has(form[action$="/events/refuse"]) > summary`)))
	c.contains("#consulted-refuse", "No consultation has taken place")
	c.do(
		chromedp.Click(chromedp.ID("mk-note")),
		chromedp.SendKeys(chromedp.ID("message-body"), "Our prosecutor leans towards refusal."),
	)
	c.press(`form[action$="/messages#messages"] button[type="submit"]`)
	c.contains(".notice--ok", "The message has been posted")
	c.do(
		chromedp.Click(chromedp.ID("mk-consultation")),
		chromedp.SendKeys(chromedp.ID("message-body"), "Before we decide: can you show dual criminality for count 2?"),
	)
	c.press(`form[action$="/messages#messages"] button[type="submit"]`)
	c.contains(".thread", "Consultation before refusal", "Internal: only ES sees it", "Not yet read by the other authority")
	c.shoot("request-thread")
	c.logout()

	c.login("it.officer")
	c.open("/outbox")
	c.contains("tbody", "1 unread")
	c.shoot("outbox-unread")
	c.press(`a.badge--unread[href="` + path + `#messages"]`)
	c.contains(".thread", "Consultation before refusal", "dual criminality for count 2", "New")
	if got := c.text(".thread"); strings.Contains(got, "leans towards refusal") {
		t.Errorf("LEAK: the requesting officer's page shows ES's note:\n%s", got)
	}
	c.shoot("request-thread-counterpart")
	c.open("/outbox")
	if got := c.text("tbody"); strings.Contains(got, "unread") {
		t.Errorf("still marked unread after reading:\n%s", got)
	}
	c.logout()

	c.login("es.supervisor")
	c.open(path)
	c.contains(".thread", "Read by the other authority")
	c.do(chromedp.Click(chromedp.CSS(`details:has(form[action$="/events/refuse"]) > summary`)))
	c.contains("#consulted-refuse", "The requesting authority was consulted", "consultation by es.supervisor (ES)", "read")
	c.shoot("request-refuse-consulted")
}
