package web_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestBrowser_caseFile uploads a document through the request page's
// plain form as the requesting side's officer, and downloads it as the
// requested side's once the request is sent; the page with its documents
// table and upload form is checked with axe-core at 1280 and 390 px.
func TestBrowser_caseFile(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
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
