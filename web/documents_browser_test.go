package web_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestBrowser_caseFile uploads a document through the request page's
// plain form as the requesting side's officer, and downloads it as the
// requested side's once the request is sent; the page with its documents
// table and upload form is checked with axe-core at 1280 and 390 px. The
// upload script is kept from loading, so the form is the one a browser
// without script submits (TestBrowser_uploadProgress covers the script).
func TestBrowser_caseFile(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
	c.block(c.base + "/static/upload.js")
	r := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records of Rossi S.r.l."})

	content := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	file := filepath.Join(t.TempDir(), "lettera.pdf")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}

	c.login("it.officer")
	c.open("/requests/" + r.ID)
	c.contains("#documents-title + *", "No documents yet")
	c.do(chromedp.Click(chromedp.CSS(`details:has(form[enctype="multipart/form-data"]) > summary`)))
	c.do(chromedp.WaitVisible(chromedp.ID("doc-file")))
	c.shoot("case-file-form")
	c.do(
		chromedp.SetUploadFiles(chromedp.ID("doc-file"), []string{file}),
		chromedp.SendKeys(chromedp.ID("doc-title"), "Lettera di richiesta"),
		chromedp.SetValue(chromedp.ID("doc-type"), "letter_of_request"),
		chromedp.SendKeys(chromedp.ID("doc-language"), "it"),
	)
	c.press(`form[enctype="multipart/form-data"] button[type="submit"]`)
	c.contains("main", "The document has been added to the case file.")
	c.contains(".table--documents", "Lettera di richiesta", "Letter of request", "lettera.pdf", "it.officer")
	c.shoot("case-file")
	c.logout()

	app.fire(t, "it.supervisor", r.ID, workflow.EventInput{Event: workflow.EventSend})

	c.login("es.officer")
	c.open("/requests/" + r.ID)
	c.contains(".table--documents", "Lettera di richiesta")
	dir := t.TempDir()
	progress := chromedp.Events(c.ctx, cdpbrowser.DownloadProgress)
	enabled := true
	c.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &enabled,
		})
		return err
	}), chromedp.Click(chromedp.CSS(`.table--documents a[href$="/content"]`)))
	deadline := time.After(stepTimeout)
	done := make(chan string, 1)
	go func() {
		for ev, err := range progress {
			if err != nil {
				return
			}
			if ev.State == cdpbrowser.DownloadProgressStateCompleted {
				done <- ev.GUID
				return
			}
		}
	}()
	select {
	case guid := <-done:
		got, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, content) {
			t.Errorf("downloaded %q, want the uploaded bytes", got)
		}
	case <-deadline:
		t.Fatal("the download did not complete")
	}
}

// block keeps the browser from loading the URLs of the patterns (URLPattern
// syntax, absolute); none lifts every block.
func (c *chrome) block(patterns ...string) {
	c.t.Helper()
	list := make([]*network.BlockPattern, 0, len(patterns))
	for _, p := range patterns {
		list = append(list, &network.BlockPattern{URLPattern: p, Block: true})
	}
	c.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: list})
		return err
	}))
}

// eval evaluates a JavaScript expression on the current page.
func eval[T any](c *chrome, expr string) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is true on the current page.
func (c *chrome) waitFor(expr string) {
	c.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !eval[bool](c, expr) {
		if time.Now().After(deadline) {
			c.t.Fatalf("waited in vain for %s", expr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowser_uploadProgress uploads evidence with the page's script on
// (web/static/upload.js): the form is sent by XMLHttpRequest with a
// labelled progress bar, a failed sending says so and leaves the form
// usable (checked with axe-core at 1280 and 390 px, the progress bar
// shown), and a completed one leads to the page the server redirected to,
// with the document in the table. The evidence is then handed over with a
// delivery, ticked in the deliver form, and the timeline links it.
func TestBrowser_uploadProgress(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
	r := app.sent(t, "Bank records of Rossi S.r.l.")
	app.fire(t, "es.officer", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})

	// A PDF of about 1 MiB, so that the upload reports progress.
	content := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("% padding of the statements\n"), 40000)...)
	content = append(content, []byte("%%EOF\n")...)
	file := filepath.Join(t.TempDir(), "estratti.pdf")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}

	c.login("es.officer")
	c.open("/requests/" + r.ID)
	form := `form[data-upload-progress]`
	c.waitFor(`document.querySelector('` + form + `').dataset.uploadBound === 'yes'`)
	c.do(chromedp.Click(chromedp.CSS(`details:has(` + form + `) > summary`)))
	c.do(chromedp.WaitVisible(chromedp.ID("doc-file")))
	c.do(
		chromedp.SetUploadFiles(chromedp.ID("doc-file"), []string{file}),
		chromedp.SendKeys(chromedp.ID("doc-title"), "Estratti conto 2024"),
		chromedp.SetValue(chromedp.ID("doc-type"), "evidence"),
		chromedp.SendKeys(chromedp.ID("doc-language"), "es"),
	)

	// The sending fails: the form stays, with its progress bar and why.
	c.block(c.base + "/requests/*/documents?*")
	c.do(chromedp.Click(chromedp.CSS(form + ` button[type="submit"]`)))
	c.waitFor(`(document.querySelector('.upload-progress [role=status]') || {}).textContent?.includes('did not get through')`)
	if !eval[bool](c, `!document.querySelector('`+form+` button[type=submit]').disabled && !!document.querySelector('.upload-progress progress').labels.length`) {
		t.Error("after a failed upload the button stays disabled, or the progress bar has no label")
	}
	c.shoot("case-file-upload-failed")
	c.block()

	// The sending succeeds. The page's script handled the submission (it
	// prevented the plain one) and showed the progress bar; sessionStorage
	// keeps what the page saw across the navigation.
	c.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('` + form + `').addEventListener('submit', e => {
		sessionStorage.setItem('upload', JSON.stringify({prevented: e.defaultPrevented,
			progress: !!document.querySelector('.upload-progress:not([hidden]) progress')}));
	}); undefined`))
	c.press(form + ` button[type="submit"]`)
	c.contains("main", "The document has been added to the case file.")
	c.contains(".table--documents", "Estratti conto 2024", "Evidence", "estratti.pdf", "es.officer")
	if got := eval[string](c, `sessionStorage.getItem('upload') || ''`); got != `{"prevented":true,"progress":true}` {
		t.Errorf("the upload script saw %s, want it to handle the submission with a progress bar", got)
	}
	if !strings.Contains(c.location(), "/requests/"+r.ID) {
		t.Errorf("after the upload the browser is at %s, want the request's page", c.location())
	}

	// The evidence is handed over with a delivery.
	c.do(chromedp.Click(chromedp.CSS(`details:has(form[action$="/events/deliver"]) > summary`)))
	c.do(chromedp.WaitVisible(chromedp.ID("c-deliver")))
	c.do(
		chromedp.Click(chromedp.CSS(`#f-documents-deliver input[name="documents"]`)),
		chromedp.SendKeys(chromedp.ID("c-deliver"), "Bank statements of 2024 enclosed."),
	)
	c.shoot("deliver-form")
	c.press(`form[action$="/events/deliver"] button[type="submit"]`)
	c.contains(".timeline", "Documents handed over:", "Estratti conto 2024")
	c.shoot("delivery-timeline")
}
