package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The end-to-end tests drive headless Chromium (Debian's chromium package)
// through the real pages of a real server. They skip only when
// MLA_SKIP_BROWSER=1 is set: a missing browser is a failure, so that CI
// cannot pass without them by accident.

// skipBrowserEnv names the variable that, set to 1, skips the browser tests.
const skipBrowserEnv = "MLA_SKIP_BROWSER"

// widths are the screen widths every main page is shown and checked at: a
// desktop and a phone.
var widths = []int64{1280, 390}

// chromiumPath finds the browser, or fails the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if os.Getenv(skipBrowserEnv) == "1" {
		t.Skip(skipBrowserEnv + "=1: browser tests skipped")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no Chromium found: install Debian's chromium package (apt-get install chromium), or set %s=1 to skip the browser tests", skipBrowserEnv)
	return ""
}

// artifactsDir is where screenshots go: $MLA_ARTIFACTS, or artifacts/
// at the root of the repository (git-ignored).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MLA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	dir = filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	return dir
}

// chrome is one browser tab on the test server.
type chrome struct {
	t         *testing.T
	ctx       context.Context
	base      string
	shots     string
	axeSource string
	width     int64
}

// newChrome starts a headless browser with a fresh profile.
func newChrome(t *testing.T, base string) *chrome {
	t.Helper()
	exe := chromiumPath(t)
	axe, err := os.ReadFile(filepath.Join("testdata", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a timeout
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	c := &chrome{t: t, ctx: ctx, base: base, shots: artifactsDir(t), axeSource: string(axe)}
	c.resize(1280)
	return c
}

// timeout bounds one step; the browser itself lives as long as the test.
const stepTimeout = 30 * time.Second

func (c *chrome) do(steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		c.t.Fatalf("browser: %v", err)
	}
}

// load runs steps that navigate (a link, a form) and checks the status of
// the page they lead to.
func (c *chrome) load(want int64, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		c.t.Fatalf("browser: %v", err)
	}
	if resp.Status != want {
		body := c.text("main")
		c.t.Fatalf("%s: status %d, want %d\n%s", resp.URL, resp.Status, want, body)
	}
}

func (c *chrome) open(path string) { c.t.Helper(); c.load(200, chromedp.Navigate(c.base+path)) }

// press clicks an element that leads to another page.
func (c *chrome) press(sel string) { c.t.Helper(); c.load(200, chromedp.Click(chromedp.CSS(sel))) }

func (c *chrome) text(sel string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (c *chrome) location() string {
	c.t.Helper()
	loc, err := chromedp.Run(c.ctx, chromedp.Location())
	if err != nil {
		c.t.Fatal(err)
	}
	return loc
}

// contains checks that the text of sel holds each of the texts.
func (c *chrome) contains(sel string, texts ...string) {
	c.t.Helper()
	got := c.text(sel)
	for _, s := range texts {
		if !strings.Contains(got, s) {
			c.t.Errorf("%s lacks %q; it reads:\n%s", sel, s, got)
		}
	}
}

func (c *chrome) login(username string) {
	c.t.Helper()
	c.open("/login")
	c.do(
		chromedp.SendKeys(chromedp.ID("f-username"), username),
		chromedp.SendKeys(chromedp.ID("f-password"), demo.Password),
	)
	c.press(`form[action="/login"] button[type="submit"]`)
	c.contains(".who", username)
}

func (c *chrome) logout() {
	c.t.Helper()
	c.press(".who__logout button")
	c.contains("main", "You have logged out.")
}

func (c *chrome) resize(w int64) {
	c.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if w < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	c.do(chromedp.EmulateViewport(w, 900, opts...))
	c.width = w
}

// shoot saves a full-page screenshot of the current page at every width,
// and checks each with axe-core; it leaves the browser at 1280.
func (c *chrome) shoot(name string) {
	c.t.Helper()
	for _, w := range widths {
		c.resize(w)
		c.checkNoHorizontalScroll(name)
		c.checkAccessibility(name)
		ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			c.t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(c.shots, fmt.Sprintf("%s-%d.png", name, w))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
	c.resize(1280)
}

// checkNoHorizontalScroll fails when the page is wider than the screen:
// at 390 px everything must reflow (WCAG 1.4.10).
func (c *chrome) checkNoHorizontalScroll(name string) {
	c.t.Helper()
	over, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	if err != nil {
		c.t.Fatal(err)
	}
	if over > 0 {
		wide, _ := chromedp.Run(c.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')]
			.filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
			.slice(0, 8).map(e => e.tagName.toLowerCase() + '.' + e.className + ' right=' + Math.round(e.getBoundingClientRect().right))`))
		c.t.Errorf("%s at %d px: the page is %d px wider than the screen; too wide: %v", name, c.width, over, wide)
	}
}

// axeViolation is what the test reads of an axe-core violation.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe runs axe-core (WCAG 2.0, 2.1 and 2.2 A and AA rules, and best
// practices) on the current page and returns its violations.
func (c *chrome) axe() []axeViolation {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[*json.RawMessage](c.axeSource+";0")); err != nil {
		c.t.Fatalf("inject axe-core: %v", err)
	}
	const run = `axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
		resultTypes: ['violations']
	}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || '', help: v.help,
		nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\s+/g, ' '))
	})))`
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("run axe-core: %v", err)
	}
	return violations
}

// checkAccessibility fails on any serious or critical axe-core violation
// of the current page and logs the others.
func (c *chrome) checkAccessibility(name string) {
	c.t.Helper()
	for _, v := range c.axe() {
		msg := fmt.Sprintf("%s at %d px: axe %s (%s): %s\n  %s", name, c.width, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
		if v.Impact == "serious" || v.Impact == "critical" {
			c.t.Error(msg)
		} else {
			c.t.Log(msg)
		}
	}
}

// TestBrowser_axeFindsProblems makes sure the accessibility check can
// fail: a page with an image without text and an unlabelled field has
// critical violations.
func TestBrowser_axeFindsProblems(t *testing.T) {
	c := newChrome(t, "")
	c.do(chromedp.Navigate(`data:text/html,<!doctype html><html lang="en"><title>x</title><main><img src="x.png"><input type="text"></main></html>`))
	found := map[string]string{}
	for _, v := range c.axe() {
		found[v.ID] = v.Impact
	}
	if found["image-alt"] != "critical" || found["label"] != "critical" {
		t.Errorf("axe-core found %v on a page without alt text and labels", found)
	}
}

// TestBrowser_requestLifecycle walks one MLA request through four users'
// browsers: drafted through the form, sent, found in the inbox and
// acknowledged, refused with a ground chosen in the form; then both sides
// read the same timeline. The main pages are photographed at 1280 and 390
// px and checked with axe-core on the way.
func TestBrowser_requestLifecycle(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
	// Some older traffic, so that lists and the dashboard are not empty.
	for i, title := range []string{"Witness statements, Banca Etrusca case", "Electronic evidence from a hosting provider"} {
		r := app.sent(t, title)
		if i == 0 {
			app.fire(t, "es.officer", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
		}
	}
	app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindExtradition, RequestedAuthority: "TH",
		Title: "Surrender of Mario Verdi", PersonSought: &workflow.Person{Name: "Mario Verdi", Nationality: "Italian"}})

	// The log-in page; a wrong password says so.
	c.open("/login")
	c.shoot("login")
	c.do(
		chromedp.SendKeys(chromedp.ID("f-username"), "it.officer"),
		chromedp.SendKeys(chromedp.ID("f-password"), "not the password"),
	)
	c.load(401, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)))
	c.contains("#login-problem", "The username or password is wrong")
	c.shoot("login-wrong-password")

	// 1. it.officer drafts an MLA request through the form, after a first
	// try with a missing title.
	c.login("it.officer")
	c.shoot("dashboard-it-officer")
	c.press(`.site-nav a[href="/requests/new"]`)
	c.shoot("new-request-kind")
	c.press(`form[action="/requests/new"] button[type="submit"]`) // MLA is preselected
	c.contains("h1", "Mutual legal assistance")
	c.do(
		chromedp.SetValue(chromedp.ID("f-requested_authority"), "ES"),
		chromedp.SendKeys(chromedp.ID("f-summary"), "Proceeds of a fraud were laundered through accounts of Rossi S.r.l. in Madrid."),
		chromedp.Click(chromedp.ID("m-bank_records")),
		chromedp.Click(chromedp.ID("m-freezing")),
	)
	c.load(422, chromedp.Click(chromedp.CSS(`.form-actions button[type="submit"]`)))
	c.contains(".error-summary", "Title is required")
	c.contains("#f-title-error", "Title is required")
	c.shoot("new-request-errors")
	// A title typed past its limit is not cut by the browser: the server
	// says how long it may be, and the text stays to be shortened.
	long := strings.Repeat("Rossi ", workflow.MaxTitle/6+1)
	c.do(chromedp.SendKeys(chromedp.ID("f-title"), long))
	c.load(422, chromedp.Click(chromedp.CSS(`.form-actions button[type="submit"]`)))
	c.contains("#f-title-error", fmt.Sprintf("Title must be at most %d characters.", workflow.MaxTitle))
	c.contains(".error-summary", "Title must be at most")
	if kept, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](`document.getElementById('f-title').value.length`)); err != nil || kept != len(long) {
		t.Errorf("the title field holds %d characters (%v), want the %d typed", kept, err, len(long))
	}
	c.shoot("new-request-title-too-long")
	c.do(
		chromedp.Clear(chromedp.ID("f-title")),
		chromedp.SendKeys(chromedp.ID("f-title"), "Bank records of Rossi S.r.l."),
		chromedp.SendKeys(chromedp.ID("f-legal_basis"), "UNTOC Art. 18"),
		chromedp.SendKeys(chromedp.ID("f-offences"), "Money laundering"),
		chromedp.Click(chromedp.ID("f-urgency-urgent")),
		chromedp.SendKeys(chromedp.ID("f-urgency_reason"), "The accounts are being emptied."),
		chromedp.SetValue(chromedp.ID("f-due_date"), "2027-01-31"),
	)
	c.press(`.form-actions button[type="submit"]`)
	c.contains(".notice--ok", "The draft has been saved")
	c.contains("main", "Bank records of Rossi S.r.l.", "Freezing of assets or evidence", "Proceeds of a fraud", "2027-01-31")
	requestURL := c.location()
	requestURL, _, _ = strings.Cut(requestURL, "?")
	path := strings.TrimPrefix(requestURL, c.base)
	c.shoot("request-draft")
	c.open("/requests/new?kind=extradition")
	c.shoot("new-request-extradition")
	c.open("/drafts")
	c.shoot("drafts")
	c.logout()

	// 2. it.supervisor sends it.
	c.login("it.supervisor")
	c.open(path)
	c.press(`form[action$="/events/send"] button`)
	c.contains(".notice--ok", "sent")
	c.contains(".page-head .badge", "Sent")
	c.open("/outbox")
	c.shoot("outbox")
	c.logout()

	// 3. es.officer finds it in the inbox and acknowledges it.
	c.login("es.officer")
	c.shoot("dashboard-es-officer")
	c.press(`.site-nav a[href="/inbox"]`)
	c.contains("table", "Bank records of Rossi S.r.l.")
	c.shoot("inbox")
	c.do(chromedp.SendKeys(chromedp.ID("f-q"), "rossi"))
	c.press(`.filters button[type="submit"]`)
	c.contains("table", "Bank records of Rossi S.r.l.")
	if got := c.text("tbody"); strings.Contains(got, "Banca Etrusca") {
		t.Errorf("the title filter let another request through:\n%s", got)
	}
	c.press(`a.ref[href="` + path + `"]`)
	if c.location() != requestURL {
		t.Errorf("the inbox led to %s, want %s", c.location(), requestURL)
	}
	c.press(`form[action$="/events/acknowledge"] button`)
	c.contains(".notice--ok", "acknowledged")
	c.logout()

	// 4. es.supervisor refuses it with a ground chosen in the form.
	c.login("es.supervisor")
	c.open(path)
	c.do(chromedp.Click(chromedp.CSS(`details:has(form[action$="/events/refuse"]) > summary`)))
	c.do(chromedp.WaitVisible(chromedp.ID("g-refuse-dual_criminality")))
	c.shoot("request-refuse-form")
	c.do(
		chromedp.Click(chromedp.ID("g-refuse-dual_criminality")),
		chromedp.SendKeys(chromedp.ID("c-refuse"), "Laundering of the proceeds of tax evasion is not an offence here."),
	)
	c.press(`form[action$="/events/refuse"] button[type="submit"]`)
	c.contains(".notice--ok", "refused")

	// 5. Both sides read the same timeline.
	want := []string{"Drafted", "Sent by it.supervisor", "Acknowledged by es.officer", "Refused by es.supervisor",
		"dual criminality", "not an offence here"}
	c.contains(".timeline", want...)
	c.contains(".page-head .badge", "Refused")
	c.contains(".wf__node--current", "Refused")
	if cur := strings.ToLower(c.text(".wf__node--current")); !strings.Contains(cur, "current") {
		t.Errorf("the current state is not marked in words: %q", cur)
	}
	c.shoot("request-refused")
	c.logout()
	c.login("it.officer")
	c.open(path)
	c.contains(".timeline", want...)
	c.contains(".panel--actions", "This request is closed")
	c.open("/outbox?state=refused")
	c.contains("table", "Bank records of Rossi S.r.l.")
	c.logout()

	// The administrator's pages.
	c.login("admin")
	c.shoot("dashboard-admin")
	c.press(`.site-nav a[href="/audit"]`)
	c.press(`.verify-form button`)
	c.contains("#verify-result", "The audit chain is intact")
	c.contains(".table--audit", "Refuse", "Javier Martínez", "Withheld from you: Comment digest, Grounds")
	c.shoot("audit")
	c.press(`.site-nav a[href="/users"]`)
	c.shoot("users")
	c.press(`a[href^="/users/"]`)
	c.shoot("user")
	c.open("/users/" + app.actor(t, "admin").UserID)
	c.contains("main", "You cannot disable your own account", "You cannot change your own role")
	c.shoot("user-own")
	c.load(404, chromedp.Navigate(c.base+"/no/such/page"))
	c.shoot("error-404")
	c.load(403, chromedp.Navigate(c.base+"/inbox"))
	c.shoot("error-403")

	// A password the administrator sets is temporary: its owner's log-in
	// asks for a new one, and that one opens the session.
	app.resetPassword(t, "es.auditor", "a temporary passphrase")
	c.logout()
	c.open("/login")
	c.do(
		chromedp.SendKeys(chromedp.ID("f-username"), "es.auditor"),
		chromedp.SendKeys(chromedp.ID("f-password"), "a temporary passphrase"),
	)
	c.load(403, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)))
	c.contains("main", "set by the administrator")
	c.shoot("login-new-password")
	c.do(
		chromedp.SetValue(chromedp.ID("f-password"), "a temporary passphrase"),
		chromedp.SendKeys(chromedp.ID("f-new_password"), "words only the auditor knows"),
	)
	c.press(`form[action="/login"] button[type="submit"]`)
	c.contains(".who", "es.auditor")

	// The requested authority's auditor reads the log with the references
	// of its cases, which lead to them, and the details in words.
	c.press(`.site-nav a[href="/audit"]`)
	c.contains(".table--audit", "Refuse", "es.supervisor", "Grounds", "dual criminality")
	c.shoot("audit-auditor")
	c.press(`.table--audit a.ref[href="` + path + `"]`)
	c.contains("h1", "Bank records of Rossi S.r.l.")
}

// TestBrowser_keyboard checks that a user can log in and reach the main
// content with the keyboard alone, and that focus is visible.
func TestBrowser_keyboard(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
	c.open("/login")
	// The first Tab reaches the skip link.
	c.do(chromedp.KeyEvent("\t"))
	focused, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`document.activeElement.textContent.trim()`))
	if err != nil || focused != "Skip to main content" {
		t.Errorf("first Tab focuses %q (%v), want the skip link", focused, err)
	}
	outline, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).boxShadow`))
	if err != nil || strings.HasPrefix(outline, "none none") {
		t.Errorf("focused skip link has no visible focus: %q (%v)", outline, err)
	}
	// Type into the fields and submit with Enter.
	c.do(chromedp.Focus(chromedp.ID("f-username")), chromedp.KeyEvent("es.officer"), chromedp.KeyEvent("\t"), chromedp.KeyEvent(demo.Password))
	c.load(200, chromedp.KeyEvent("\r"))
	c.contains(".who", "es.officer")
}

// TestBrowser_legalSubstance photographs and checks with axe-core, at 1280
// and 390 px, the pages of a request's legal substance: deadlines with an
// overdue marker and the extension form, persons concerned (a protected
// one as its handlers and as an auditor see it), the dashboard's overdue
// panel, a draft's checklist and the form's rows of persons.
func TestBrowser_legalSubstance(t *testing.T) {
	c := newChrome(t, "")
	app := newTestApp(t, testdb.SQLite)
	c.base = app.srv.URL
	r := legalCase(t, app)
	other := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Witness hearings in Valencia", Instrument: "bilateral"})
	app.fire(t, "it.supervisor", other.ID, workflow.EventInput{Event: workflow.EventSend})
	app.fire(t, "es.officer", other.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
	draft := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindExtradition, RequestedAuthority: "ES", Title: "Surrender of Osas Igbinedion",
		Instrument: "eaw", Persons: []workflow.PersonConcerned{{Role: workflow.PersonWitness, Name: "Joy Aimiuwu", Protected: true}}})

	c.login("es.supervisor")
	c.contains(".panel--overdue", r.Reference, "Execution")
	c.shoot("dashboard-overdue")
	c.open("/requests/" + r.ID)
	c.contains(".deadlines", "Overdue", "EIO Art. 12(4)")
	c.contains(".persons", "Blessing Uwa", "Protected")
	c.shoot("request-deadlines")
	c.open("/requests/" + other.ID)
	c.do(chromedp.Click(chromedp.CSS(`details:has(form[action$="/deadlines/execution/extensions"]) > summary`)))
	c.do(chromedp.WaitVisible(chromedp.ID("x-execution-days")))
	c.do(chromedp.SendKeys(chromedp.ID("x-execution-days"), "30"), chromedp.SendKeys(chromedp.ID("x-execution-reason"), "The witnesses are abroad until June"))
	c.shoot("request-extend-form")
	c.press(`form[action$="/deadlines/execution/extensions"] button[type="submit"]`)
	c.contains(".deadlines", "Extended by 30 days")
	c.do(chromedp.Click(chromedp.CSS(`details:has(form[action$="/events/postpone"]) > summary`)))
	c.do(chromedp.SendKeys(chromedp.ID("c-postpone"), "Our own trial of the same ring comes first"))
	c.press(`form[action$="/events/postpone"] button[type="submit"]`)
	c.contains(".deadlines", "Clock stopped")
	c.shoot("request-postponed")
	c.open("/inbox?deadline=overdue&sort=due")
	c.contains("table", r.Reference, "Overdue")
	c.shoot("inbox-overdue")
	c.logout()

	c.login("es.auditor")
	c.open("/requests/" + r.ID)
	c.contains(".persons", "identity withheld")
	if strings.Contains(c.text("main"), "Blessing") {
		t.Error("the auditor's page shows the protected victim")
	}
	c.shoot("request-persons-auditor")
	c.logout()

	c.login("it.officer")
	c.open("/requests/" + draft.ID)
	c.contains(".checklist", "Warrant or judgment", "Purpose")
	c.shoot("request-draft-checklist")
	c.open("/requests/" + draft.ID + "/edit")
	c.contains("#sec-persons", "Persons concerned")
	c.shoot("request-form-persons")
	c.logout()

	// The administrator sets an authority's completeness policy.
	c.login("admin")
	c.press(`.site-nav a[href="/authorities"]`)
	c.do(chromedp.Click(chromedp.ID("cp-IT-enforced")))
	c.press(`form[action="/authorities/IT"] button[type="submit"]`)
	c.contains(".notice--ok", "settings have been saved")
	c.shoot("authorities")
}
