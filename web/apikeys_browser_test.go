package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/testdb"
)

// TestBrowser_apiKeys: the administrator reaches the API keys page from
// the navigation, is told what is wrong with a form left wrong, creates a
// key and reads it once, then revokes it after the confirmation page. The
// pages are photographed and checked with axe-core at 1280 and 390 px.
func TestBrowser_apiKeys(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL

	c.login("admin")
	c.press(`.site-nav a[href="/api-keys"]`)
	c.contains("main", "No API keys yet.", "Create a key")
	c.shoot("api-keys-empty")

	// Wrong: no name, no authority.
	c.load(422, chromedp.Click(chromedp.CSS(`form[action="/api-keys"] button[type="submit"]`)))
	c.contains(".error-summary", "There is a problem", "Name")
	c.shoot("api-keys-errors")

	c.do(
		chromedp.SendKeys(chromedp.ID("f-name"), "es-case-system"),
		chromedp.SetValue(chromedp.ID("f-role"), "supervisor"),
		chromedp.SetValue(chromedp.ID("f-authority"), "ES"),
	)
	c.load(201, chromedp.Click(chromedp.CSS(`form[action="/api-keys"] button[type="submit"]`)))
	c.contains(".panel--key", "New key for es-case-system", "not shown again")
	key, err := chromedp.Run(c.ctx, chromedp.Value(chromedp.ID("f-new-key")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "mla_") || len(key) != 47 {
		t.Fatalf("the page shows %q as the key", key)
	}
	c.shoot("api-keys-created")

	c.open("/api-keys")
	if strings.Contains(c.text("main"), key) {
		t.Fatal("the list shows the key again")
	}
	c.press(`a[href$="/revoke"]`)
	c.contains("main", "Revoke the key es-case-system?", "cannot be restored")
	c.shoot("api-key-revoke")
	c.press(`form[action$="/revoke"] button[type="submit"]`)
	c.contains(".notice--ok", "The API key has been revoked")
	c.contains("tbody", "Revoked", "Revoked by admin")
	c.shoot("api-keys-revoked")
}
