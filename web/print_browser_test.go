package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestBrowser_printedRequest prints a request page as Chromium does, with
// the print stylesheet: the case (title, timeline, thread) is on paper,
// the screen's navigation, forms and buttons are not, and the text is
// black on white. The printed PDF is kept beside the screenshots.
func TestBrowser_printedRequest(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
	r := app.sent(t, "Bank records of Rossi S.r.l.")
	app.fire(t, "es.officer", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})

	c.login("it.officer")
	c.open("/requests/" + r.ID)
	onScreen, err := chromedp.Run(c.ctx, chromedp.Evaluate[[]int](
		`['.site-nav', 'form', 'button'].map(s => document.querySelectorAll(s).length)`))
	if err != nil || len(onScreen) != 3 || onScreen[0] == 0 || onScreen[1] == 0 || onScreen[2] == 0 {
		t.Fatalf("the request page should have navigation, forms and buttons to hide on paper: %v (err %v)", onScreen, err)
	}
	if _, err := chromedp.Call(c.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		chromedp.Call(c.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
	})

	// What only works on a screen is gone; the case is there.
	shown, err := chromedp.Run(c.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(
		'.site-nav, .skip-link, form, button, .panel--actions, .letter-link')]
		.filter(e => getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0)
		.map(e => e.tagName.toLowerCase() + '.' + e.className)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) > 0 {
		t.Errorf("on paper, the screen's controls still show: %v", shown)
	}
	for _, sel := range []string{"h1", ".timeline"} {
		visible, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+
			"`"+sel+"`"+`); return !!e && getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0 })()`))
		if err != nil || !visible {
			t.Errorf("on paper, %s is not shown (err %v)", sel, err)
		}
	}
	colours, err := chromedp.Run(c.ctx, chromedp.Evaluate[[]string](`[getComputedStyle(document.body).color,
		getComputedStyle(document.body).backgroundColor, getComputedStyle(document.querySelector('h1')).color]`))
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range colours {
		if col != "rgb(0, 0, 0)" && col != "rgba(0, 0, 0, 0)" && col != "rgb(255, 255, 255)" {
			t.Errorf("on paper, a colour is %s, want black on white: %v", col, colours)
		}
	}
	if !strings.Contains(c.text("h1"), "Bank records of Rossi") {
		t.Errorf("the printed title: %q", c.text("h1"))
	}

	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(pdf), "%PDF-") || len(pdf) < 2000 {
		t.Fatalf("the printed page is not a PDF: %d bytes", len(pdf))
	}
	if err := os.WriteFile(filepath.Join(c.shots, "request-printed.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
}
