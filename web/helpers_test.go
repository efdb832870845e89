package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/httpapi"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
	"github.com/mla-flow/mla-flow/web"
)

// testApp is the real server, API and pages on one Echo instance, wired as
// cmd/server wires it, over a real store holding the demo world.
type testApp struct {
	srv     *httptest.Server
	handler http.Handler
	wf      *workflow.Service
	auth    *auth.Authenticator
	clock   *testkit.Clock
	store   *store.Store
}

// newTestApp starts the server on a fresh database of the given kind, on
// 127.0.0.1 and a free port, with bcrypt at its minimum cost.
func newTestApp(tb testing.TB, db testdb.Backend) *testApp {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	w := testworld.New(tb, db, testworld.Options{Logger: logger, WebhookAllowPrivate: true})
	wf, a, clock := w.Workflow, w.Auth, w.Clock
	hub := events.NewHub(w.Store, events.Options{Poll: 50 * time.Millisecond, Logger: logger})
	e := httpapi.New(httpapi.Deps{Workflow: wf, Auth: a, Webhooks: w.Webhooks, Ready: w.Store.Ping, Logger: logger, Events: hub})
	web.New(web.Deps{
		Workflow: wf, Auth: a, Webhooks: w.Webhooks, Logger: logger, CSRFKey: bytes.Repeat([]byte{9}, 32), Now: clock.Now, Events: hub,
	}).Register(e)
	srv := httptest.NewServer(e)
	tb.Cleanup(srv.Close)
	tb.Cleanup(hub.Close) // first: ends the streams that Close would wait for
	return &testApp{srv: srv, handler: e, wf: wf, auth: a, clock: clock, store: w.Store}
}

// actor returns the demo user's acting identity, for setting up data
// through the service.
func (a *testApp) actor(tb testing.TB, username string) workflow.Actor {
	tb.Helper()
	users, err := a.auth.ListUsers(context.Background(), workflow.Actor{Username: "admin", Role: workflow.RoleAdmin})
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range users {
		if u.Username == username {
			return u.Actor()
		}
	}
	tb.Fatalf("no demo user %s", username)
	return workflow.Actor{}
}

// draft creates a request through the service, as username.
func (a *testApp) draft(tb testing.TB, username string, d workflow.Draft) workflow.Request {
	tb.Helper()
	r, err := a.wf.Create(context.Background(), a.actor(tb, username), d)
	if err != nil {
		tb.Fatalf("create: %v", err)
	}
	return r
}

// fire moves a request through the service, as username.
func (a *testApp) fire(tb testing.TB, username, id string, in workflow.EventInput) workflow.Request {
	tb.Helper()
	r, err := a.wf.Fire(context.Background(), a.actor(tb, username), id, in)
	if err != nil {
		tb.Fatalf("fire %s: %v", in.Event, err)
	}
	return r
}

// sent drafts a request from IT to ES and sends it.
func (a *testApp) sent(tb testing.TB, title string) workflow.Request {
	tb.Helper()
	r := a.draft(tb, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: title})
	return a.fire(tb, "it.supervisor", r.ID, workflow.EventInput{Event: workflow.EventSend})
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that tests see each answer.
type browser struct {
	tb     testing.TB
	app    *testApp
	client *http.Client
}

func (a *testApp) browser(tb testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{tb: tb, app: a, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one answer.
type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.tb.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header}
}

func (b *browser) get(path string) page {
	b.tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.app.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form with the CSRF token of the cookie jar, as the page's
// hidden field would, unless the form sets _csrf itself.
func (b *browser) post(path string, form url.Values) page {
	b.tb.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, set := form["_csrf"]; !set {
		form.Set("_csrf", b.cookie("mla_csrf"))
	} else if form.Get("_csrf") == "" {
		form.Del("_csrf")
	}
	req, _ := http.NewRequest(http.MethodPost, b.app.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.app.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// login signs the demo user in through the log-in form.
func (b *browser) login(username string) {
	b.tb.Helper()
	b.get("/login")
	p := b.post("/login", url.Values{"username": {username}, "password": {demo.Password}})
	if p.status != http.StatusSeeOther {
		b.tb.Fatalf("log in as %s: %d\n%s", username, p.status, p.body)
	}
}

// as returns a browser signed in as the demo user.
func (a *testApp) as(tb testing.TB, username string) *browser {
	tb.Helper()
	b := a.browser(tb)
	b.login(username)
	return b
}

// must checks the status of an answer and returns it.
func (p page) must(tb testing.TB, status int) page {
	tb.Helper()
	if p.status != status {
		tb.Fatalf("status %d, want %d; location %q\n%s", p.status, status, p.location, p.body)
	}
	return p
}

// has checks that the page holds each of the texts.
func (p page) has(tb testing.TB, texts ...string) page {
	tb.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			tb.Errorf("page lacks %q\n%s", s, p.body)
		}
	}
	return p
}

// lacks checks that the page holds none of the texts.
func (p page) lacks(tb testing.TB, texts ...string) page {
	tb.Helper()
	for _, s := range texts {
		if strings.Contains(p.body, s) {
			tb.Errorf("page holds %q, which it should not", s)
		}
	}
	return p
}

// messagePattern finds what a page says about what just went wrong: its
// notices, the errors next to fields and the text of an error page.
var messagePattern = regexp.MustCompile(`(?s)<div class="notice[^"]*"[^>]*>(.*?)</div>|<p class="field-error"[^>]*>(.*?)</p>|<p class="lede">(.*?)</p>`)

// messages returns a page of the messages of p alone, without their
// markup, so that a test can check their words without meeting the codes
// that addresses and ids of the page hold.
func (p page) messages() page {
	var texts []string
	for _, m := range messagePattern.FindAllStringSubmatch(p.body, -1) {
		texts = append(texts, m[1]+m[2]+m[3])
	}
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(strings.Join(texts, "\n"), "")
	return page{status: p.status, body: text}
}

var requestIDInLocation = regexp.MustCompile(`^/requests/([0-9a-z]+)`)

// requestID reads the id of the request a redirect leads to.
func (p page) requestID(tb testing.TB) string {
	tb.Helper()
	m := requestIDInLocation.FindStringSubmatch(p.location)
	if m == nil {
		tb.Fatalf("redirect to %q, want a request page", p.location)
	}
	return m[1]
}

// resetPassword has the administrator give username a new password, as
// the users page does: a temporary one.
func (a *testApp) resetPassword(tb testing.TB, username, password string) {
	tb.Helper()
	admin := workflow.Actor{Username: "admin", Role: workflow.RoleAdmin}
	users, err := a.auth.ListUsers(context.Background(), admin)
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range users {
		if u.Username == username {
			if _, err := a.auth.ResetPassword(context.Background(), admin, u.ID, password); err != nil {
				tb.Fatal(err)
			}
			return
		}
	}
	tb.Fatalf("no user %s", username)
}
