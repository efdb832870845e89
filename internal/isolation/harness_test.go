package isolation

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/httpapi"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"
	"github.com/mla-flow/mla-flow/internal/testkit/apispec"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
	"github.com/mla-flow/mla-flow/web"
)

// actor is a caller: a demo user, or nobody signed in.
type actor struct {
	name      string // demo username; "anonymous" for no sign-in
	role      workflow.Role
	authority string
}

// The fixture's requests are between IT (requesting) and ES (requested),
// one of each kind in each state; NG is the third authority. Two more, from
// NG to IT, put IT on the requested side and give NG requests of its own.
const (
	requesting = "IT"
	requested  = "ES"
)

// fixtureSpecs lists the fixture: kind, state, requesting and requested
// authority of each request.
func fixtureSpecs() []fixtureRequest {
	var out []fixtureRequest
	for _, kind := range workflow.Kinds {
		for _, state := range contractStates {
			out = append(out, fixtureRequest{kind: kind, state: state, requesting: requesting, requested: requested})
		}
	}
	return append(out,
		fixtureRequest{kind: workflow.KindMLA, state: "sent", requesting: "NG", requested: "IT"},
		fixtureRequest{kind: workflow.KindExtradition, state: "drafted", requesting: "NG", requested: "IT"},
	)
}

// actors are every role of each relation to the fixture's requests: own
// (requesting), counterpart (requested), third; the roles of no authority;
// and no sign-in.
var actors = []actor{
	{"it.officer", "officer", "IT"}, {"it.supervisor", "supervisor", "IT"}, {"it.auditor", "auditor", "IT"},
	{"es.officer", "officer", "ES"}, {"es.supervisor", "supervisor", "ES"}, {"es.auditor", "auditor", "ES"},
	{"ng.officer", "officer", "NG"}, {"ng.supervisor", "supervisor", "NG"}, {"ng.auditor", "auditor", "NG"},
	{"admin", "admin", ""}, {"trainer", "trainer", ""},
	{"anonymous", anonymous, ""},
}

// sideOf tells the actor's authority's side of r.
func (a actor) sideOf(r *fixtureRequest) workflow.Side {
	switch {
	case a.authority == "":
		return workflow.SideNone
	case a.authority == r.requesting:
		return workflow.SideRequesting
	case a.authority == r.requested:
		return workflow.SideRequested
	}
	return workflow.SideNone
}

// relation names the actor's relation to most of the fixture (IT to ES),
// for messages.
func (a actor) relation() string {
	switch a.authority {
	case requesting:
		return "own authority: requesting side"
	case requested:
		return "counterpart: requested side"
	case "":
		return "no authority"
	}
	return "third authority"
}

func (a actor) String() string {
	if a.role == anonymous {
		return "anonymous (no sign-in)"
	}
	return fmt.Sprintf("%s (%s, %s)", a.name, a.role, a.relation())
}

// fixtureRequest is one request of the fixture, with the secrets written
// into its content: a leak is found by searching answers for them.
type fixtureRequest struct {
	n                     int // its number, written into its secrets
	kind                  workflow.Kind
	state                 workflow.State
	requesting, requested string
	id, reference         string
	version               int
	notes                 bool // each side that sees it keeps an internal note on it
	title, summary        string
	comments              []string         // one per transition, in the history
	events                []workflow.Event // the events that brought it to its state
	overdue, dueSoon      bool             // its next running deadline is past, or due soon
	persons               []fixturePerson  // the persons concerned, in order
	requestedRef          string           // the requested side's own reference, once acknowledged
	secrets               []string         // every secret of its content
	document              string           // the id of its case file's one document
}

// fired tells whether e is one of the events that brought r to its state.
func (r *fixtureRequest) fired(e workflow.Event) bool { return slices.Contains(r.events, e) }

func (r *fixtureRequest) String() string {
	return fmt.Sprintf("the %s request %s→%s in state %s", r.kind, r.requesting, r.requested, r.state)
}

// secretMark finds the secrets in a text: SECRET-NN-field-xxxxxxxx, where
// NN is the request's number, or attemptN for what refused writes carried.
var secretMark = regexp.MustCompile(`SECRET-(\d\d)-([a-z0-9]+)-[0-9a-f]{8}`)

// attemptN numbers the secrets sent in refused writes: they must never be
// stored, and never shown anywhere but in the answer to their own request.
const attemptN = 99

func newSecret(n int, field string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("SECRET-%02d-%s-%s", n, field, hex.EncodeToString(b[:]))
}

// world is one running server over one database, with the fixture and a
// session of every actor.
type world struct {
	echo *echo.Echo // the API and the pages, as cmd/server serves them
	// served is echo with every API answer checked against the OpenAPI
	// description (internal/testkit/apispec).
	served   http.Handler
	store    *store.Store
	wf       *workflow.Service
	auth     *auth.Authenticator
	eps      endpoints
	logs     *testkit.SyncBuffer
	requests []*fixtureRequest
	missing  string // an id of the same shape as the fixture's, of no request
	attempt  string // the text every refused write carries
	sessions map[string]*session
	users    map[string]workflow.User
	// hooks are the webhooks of each authority, one each, subscribed to
	// every action before the fixture was built (webhooks_test.go).
	hooks map[string]string

	mu          sync.Mutex
	disclosures map[string]int // "actor request-id": answers that showed its protected persons

	exchanges atomic.Int64 // HTTP requests sent
	checks    atomic.Int64 // assertions made
}

// newWorld starts the server as cmd/server's runServe wires it (store,
// authenticator, workflow service with the contract's policy, httpapi.New,
// then web.New(...).Register on the same Echo instance) on a fresh database
// of the backend, seeds the demo world with bcrypt at its minimum cost,
// builds the fixture and signs every actor in, on the API and on the web.
// policy is the workflow's access policy: auth.NewPolicy(), as in
// cmd/server, but for the test that proves the checks catch a leaky one.
// specs is the fixture, fixtureSpecs() but for the test that compares
// worlds with and without some requests.
func newWorld(t *testing.T, db testdb.Backend, policy workflow.Policy, specs []fixtureRequest) *world {
	t.Helper()
	ctx := context.Background()
	logs := &testkit.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Two hours: no token expires, and no session is renewed, during a run.
	// The API keys' check (apikeys_test.go) sends thousands of calls with
	// each key: the per-key throttle is internal/httpapi's to test. The
	// fixture's webhooks deliver to a receiver on loopback.
	tw := testworld.New(t, db, testworld.Options{Logger: logger, Policy: policy, TokenLifetime: 2 * time.Hour,
		AuthOptions:         []auth.Option{auth.WithAPIKeyLimit(auth.APIKeyLimit{Uses: 1 << 30, Window: time.Minute})},
		WebhookAllowPrivate: true})
	st, a, wf := tw.Store, tw.Auth, tw.Workflow
	hub := events.NewHub(st, events.Options{Poll: 20 * time.Millisecond, Logger: logger})
	t.Cleanup(hub.Close)
	e := httpapi.New(httpapi.Deps{Workflow: wf, Auth: a, Webhooks: tw.Webhooks, Ready: st.Ping, Logger: logger, Idempotency: st, Events: hub})
	web.New(web.Deps{
		Workflow: wf, Auth: a, Webhooks: tw.Webhooks, Logger: logger, CSRFKey: bytes.Repeat([]byte{9}, 32), Events: hub,
	}).Register(e)

	w := &world{
		echo: e, served: apispec.Checked(t, e, httpapi.OpenAPI()), store: st, wf: wf, auth: a, eps: newEndpoints(), logs: logs,
		missing: workflow.NewID(), attempt: newSecret(attemptN, "attempt"), sessions: map[string]*session{}, users: map[string]workflow.User{},
		disclosures: map[string]int{},
	}
	users, err := a.ListUsers(ctx, workflow.Actor{Username: "admin", Role: workflow.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		w.users[u.Username] = u
	}
	w.subscribeWebhooks(t, tw.Webhooks)
	w.buildFixture(t, specs)
	w.buildDocuments(t)
	w.deliverWebhooks(t)
	tw.Clock.Advance(clockMovesOn)
	w.readDeadlines(t)
	for _, ac := range actors {
		w.sessions[ac.name] = w.signIn(t, ac)
	}
	return w
}

// pathTo lists which side's which role fires which event to bring a new
// draft into the state: the table's shortest run (workflow.PathTo), each
// step by the side's officer when the table lets one fire it, else its
// supervisor.
func pathTo(state workflow.State) []struct {
	side  workflow.Side
	role  workflow.Role
	event workflow.Event
} {
	var out []struct {
		side  workflow.Side
		role  workflow.Role
		event workflow.Event
	}
	for _, t := range workflow.PathTo(state) {
		role := workflow.RoleSupervisor
		if slices.Contains(t.Roles, workflow.RoleOfficer) {
			role = workflow.RoleOfficer
		}
		out = append(out, struct {
			side  workflow.Side
			role  workflow.Role
			event workflow.Event
		}{t.Side, role, t.Event})
	}
	return out
}

// dueInDays are the fixture's due dates, in days from its building, one
// after another: after the clock is moved on by clockMovesOn, the first is
// past, the second due soon, the third neither.
var dueInDays = []int{1, 10, 40}

// clockMovesOn is how far the server's clock moves between building the
// fixture and the checks.
const clockMovesOn = 5 * 24 * time.Hour

// readDeadlines notes which fixture requests are overdue and which due
// soon, as their deadlines say (the lists' deadline filters go by the next
// due time of the deadlines whose clocks run): who may see them is the
// question here, the arithmetic of deadlines is internal/workflow's.
func (w *world) readDeadlines(t *testing.T) {
	t.Helper()
	now := w.wf.Now()
	for _, r := range w.requests {
		var next *time.Time
		for _, d := range w.stored(t, r).DeadlinesAt(now) {
			running := d.Status == workflow.DeadlineRunning || d.Status == workflow.DeadlineOverdue
			if running && !d.Paused && (next == nil || d.DueAt.Before(*next)) {
				next = &d.DueAt
			}
		}
		r.overdue = next != nil && next.Before(now)
		r.dueSoon = next != nil && !next.Before(now) && next.Before(now.Add(workflow.DueSoon))
	}
}

// buildFixture creates, through the workflow service, the requests of
// specs, every text of them a secret.
func (w *world) buildFixture(t *testing.T, specs []fixtureRequest) {
	t.Helper()
	ctx := context.Background()
	user := func(authority string, role workflow.Role) workflow.Actor {
		return w.users[strings.ToLower(authority)+"."+string(role)].Actor()
	}
	for _, spec := range specs {
		r := &spec
		r.n = len(w.requests) + 1
		sec := func(field string) string {
			s := newSecret(r.n, field)
			r.secrets = append(r.secrets, s)
			return s
		}
		r.title, r.summary = sec("title"), sec("summary")
		d := workflow.Draft{
			Kind: r.kind, RequestedAuthority: r.requested, Title: r.title, Summary: r.summary,
			LegalBasis: sec("legalbasis"), Offences: []string{sec("offence")},
			Urgency: workflow.UrgencyUrgent, UrgencyReason: sec("reason"),
			Instrument: "untoc", Purpose: sec("purpose"),
			DueDate: w.wf.Now().AddDate(0, 0, dueInDays[r.n%len(dueInDays)]).Format(time.DateOnly),
		}
		r.persons, d.Persons = personsOf(r.n, sec)
		if r.kind == workflow.KindExtradition {
			d.Instrument = "ece_1957" // urgent: the provisional arrest's limits run (fixtureDeadlines)
			d.PersonSought = &workflow.Person{Name: sec("person"), Location: sec("location")}
			d.Warrant = &workflow.Warrant{Type: workflow.WarrantArrest, Reference: sec("warrant")}
		}
		got, err := w.wf.Create(ctx, user(r.requesting, "officer"), d)
		if err != nil {
			t.Fatalf("create %s: %v", r, err)
		}
		if len(got.Persons) != len(r.persons) {
			t.Fatalf("create %s: %d persons, want %d", r, len(got.Persons), len(r.persons))
		}
		for i := range r.persons {
			r.persons[i].id = got.Persons[i].ID
		}
		for i, step := range pathTo(r.state) {
			in := workflow.EventInput{Event: step.event, Comment: sec("comment" + strconv.Itoa(i+1))}
			switch step.event {
			case "refuse":
				in.Grounds = []string{"dual_criminality"}
			case "acknowledge":
				// An identifier, not a secret: the log shows it to its
				// readers as it shows the reference.
				r.requestedRef = fmt.Sprintf("%s/%02d/%s", r.requested, r.n, workflow.NewID()[20:])
				in.Reference = r.requestedRef
			}
			r.comments = append(r.comments, in.Comment)
			r.events = append(r.events, step.event)
			by := r.requesting
			if step.side == "requested" {
				by = r.requested
			}
			if got, err = w.wf.Fire(ctx, user(by, step.role), got.ID, in); err != nil {
				t.Fatalf("%s %s fires %s on %s: %v", by, step.role, step.event, r, err)
			}
		}
		if got.State != r.state {
			t.Fatalf("drove %s to %s", r, got.State)
		}
		// Each side that sees the request keeps an internal note on it,
		// which the other must never see (CONTRACT 6; checkContent).
		for _, by := range []string{r.requesting, r.requested} {
			if by == r.requested && r.state == workflow.StateDrafted {
				continue
			}
			if _, err := w.wf.PostMessage(ctx, user(by, "officer"), got.ID, workflow.MessageKindNote, "internal note of "+by); err != nil {
				t.Fatalf("%s posts a note on %s: %v", by, r, err)
			}
		}
		r.notes = true
		r.id, r.reference, r.version = got.ID, got.Reference, got.Version
		w.requests = append(w.requests, r)
	}
}

// session is how an actor calls: a bearer token for the API, cookies and
// the CSRF token for the pages. It does not change after sign-in.
type session struct {
	a      actor
	token  string
	cookie string // the Cookie header of the pages
	csrf   string
}

// signIn logs the actor in on the API and through the log-in form.
func (w *world) signIn(t *testing.T, a actor) *session {
	t.Helper()
	s := &session{a: a}
	if a.role == anonymous {
		return s
	}
	login := w.eps.get(t, "POST /api/v1/auth/login")
	ans := w.do(t, s, call{ep: login, path: login.path, json: map[string]string{"username": a.name, "password": demo.Password}})
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if ans.status != http.StatusOK || json.Unmarshal(ans.body, &body) != nil || body.AccessToken == "" {
		t.Fatalf("API log-in as %s: %d %s", a.name, ans.status, ans.body)
	}
	s.token = body.AccessToken
	s.cookie, s.csrf = w.webSignIn(t, s, a.name)
	return s
}

// webSignIn goes through the log-in form as a browser does: the form sets a
// pre-session CSRF cookie; posting it with the password sets the session
// cookie and a CSRF token bound to the user.
func (w *world) webSignIn(t *testing.T, s *session, username string) (cookie, csrf string) {
	t.Helper()
	anon := &session{a: actor{name: "anonymous", role: anonymous}}
	form := w.do(t, anon, call{ep: w.eps.get(t, "GET /login"), path: "/login"})
	pre := cookieValue(form.header, "mla_csrf")
	if pre == "" {
		t.Fatalf("the log-in form set no CSRF cookie")
	}
	anon.cookie, anon.csrf = "mla_csrf="+pre, pre
	ans := w.do(t, anon, call{ep: w.eps.get(t, "POST /login"), path: "/login",
		form: url.Values{"username": {username}, "password": {demo.Password}}})
	sess, tok := cookieValue(ans.header, "mla_session"), cookieValue(ans.header, "mla_csrf")
	if ans.status != http.StatusSeeOther || sess == "" || tok == "" {
		t.Fatalf("web log-in as %s: %d, cookies %q", username, ans.status, ans.header.Values("Set-Cookie"))
	}
	return "mla_session=" + sess + "; mla_csrf=" + tok, tok
}

func cookieValue(h http.Header, name string) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name && c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

// call is one HTTP request to an endpoint: path is the concrete path with
// its query; json is the API body, form the page's form (POST only; the
// session's CSRF token is added).
type call struct {
	ep   *endpoint
	path string
	json any
	form url.Values
	// body, when set, is sent as it is, as contentType (an upload).
	body        []byte
	contentType string
	// header holds headers the call sends besides those of its session
	// and body (an Idempotency-Key).
	header http.Header
}

// answer is what the server answered.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends the call as the session's actor straight into the server's
// handler, and scans the answer for leaks.
func (w *world) do(tb testing.TB, s *session, c call) answer {
	tb.Helper()
	var body []byte
	contentType := ""
	switch {
	case c.body != nil:
		body, contentType = c.body, c.contentType
		if c.ep.web && s.csrf != "" {
			// An upload's form carries its token in its address.
			c.path += "?_csrf=" + url.QueryEscape(s.csrf)
		}
	case c.json != nil:
		var err error
		if body, err = json.Marshal(c.json); err != nil {
			tb.Fatal(err)
		}
		contentType = "application/json"
	case c.ep.method == http.MethodPost && c.ep.web:
		f := url.Values{}
		for k, v := range c.form {
			f[k] = v
		}
		if s.csrf != "" {
			f.Set("_csrf", s.csrf)
		}
		body = []byte(f.Encode())
		contentType = "application/x-www-form-urlencoded"
	}
	req := httptest.NewRequest(c.ep.method, "http://127.0.0.1"+c.path, bytes.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.ep.web && s.cookie != "" {
		req.Header.Set("Cookie", s.cookie)
	}
	if !c.ep.web && s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.ep.class == classStream {
		// An event stream never ends by itself: read what it sends in a
		// moment, from the outbox's start (every change ever made).
		ctx, cancel := context.WithTimeout(req.Context(), streamRead)
		defer cancel()
		req = req.WithContext(ctx)
		req.Header.Set("Last-Event-ID", "0")
	}
	rec := httptest.NewRecorder()
	w.served.ServeHTTP(rec, req)
	c.ep.exercised.Add(1)
	w.exchanges.Add(1)
	ans := answer{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
	for _, r := range w.scan(tb, s.a, c.ep, c.path, c.path+"\n"+string(body), ans) {
		w.disclosed(s.a, r)
	}
	return ans
}

// scan fails on every secret, reference or id in the answer of a request
// hidden from the actor, and on every identifying field of a protected
// person in an answer that may not disclose it (discloses). In strict mode
// (audit views) every secret is a leak, visible or not: the log holds
// digests of case content, never the content. What the caller sent itself
// (an id in the path, a search text, the text of its own refused write) is
// no leak when it comes back. It returns the requests whose protected
// persons the answer showed.
func (w *world) scan(tb testing.TB, a actor, ep *endpoint, path, sent string, ans answer) (disclosed []*fixtureRequest) {
	tb.Helper()
	w.checks.Add(1)
	what := ep.key() + " " + path
	strict := ep.class == classAudit
	var text strings.Builder
	text.Write(ans.body)
	if strings.HasPrefix(ans.header.Get("Content-Type"), "application/pdf") {
		// A letter of request shows its text in UTF-16BE, in compressed
		// streams: what it shows is scanned too.
		shown, err := testkit.PDFText(ans.body)
		if err != nil {
			tb.Errorf("%s as %s: the PDF cannot be read: %v", what, a, err)
		}
		text.WriteString("\n" + shown)
	}
	for _, k := range []string{"Location", "Set-Cookie"} {
		for _, v := range ans.header.Values(k) {
			text.WriteString("\n" + v)
		}
	}
	all := text.String()
	for _, m := range findMarks(all) {
		if strings.Contains(sent, m.text) {
			continue
		}
		if m.n == attemptN {
			tb.Errorf("LEAK: %s as %s: the answer holds %q, the text of a refused write (%d)", what, a, m.text, ans.status)
			continue
		}
		if m.n < 1 || m.n > len(w.requests) {
			tb.Errorf("LEAK: %s as %s: the answer holds %q, of no fixture request", what, a, m.text)
			continue
		}
		r := w.requests[m.n-1]
		protected := strings.HasPrefix(m.field, protectedPrefix)
		if protected && !slices.Contains(disclosed, r) {
			disclosed = append(disclosed, r)
		}
		switch {
		case protected && (strict || !w.discloses(ep, path, a, r)):
			tb.Errorf("LEAK: %s as %s: the answer (%d) holds the %s of a protected person of %s (%q), "+
				"shown only in the single-request answer to the officers and supervisors of its two sides",
				what, a, ans.status, m.field, r, m.text)
		case protected:
		case strict:
			tb.Errorf("LEAK: %s as %s: the audit view holds case content (%s of %s: %q)", what, a, m.field, r, m.text)
		case !sees(a, r):
			tb.Errorf("LEAK: %s as %s: the answer (%d) holds the %s of %s, hidden from this caller (%q)",
				what, a, ans.status, m.field, r, m.text)
		}
	}
	adminReadsLog := strict && a.role == workflow.RoleAdmin // ids and references are what the log is about
	for _, r := range w.requests {
		if sees(a, r) || adminReadsLog {
			continue
		}
		for _, ident := range []struct{ name, v string }{{"id", r.id}, {"reference", r.reference}, {"requested reference", r.requestedRef}} {
			if ident.v != "" && strings.Contains(all, ident.v) && !strings.Contains(sent, ident.v) {
				tb.Errorf("LEAK: %s as %s: the answer (%d) holds the %s of %s, hidden from this caller (%s)",
					what, a, ans.status, ident.name, r, ident.v)
			}
		}
	}
	return disclosed
}

var (
	csrfInBody   = regexp.MustCompile(`name="_csrf" value="[^"]*"`)
	csrfInCookie = regexp.MustCompile(`mla_csrf=[^;]*`)
)

// normal renders an answer for comparison with another: status, headers
// but the request id and date, body; the id asked for and per-session CSRF
// tokens replaced by placeholders.
func normal(ans answer, id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", ans.status)
	keys := make([]string, 0, len(ans.header))
	for k := range ans.header {
		if k != "X-Request-Id" && k != "Date" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range ans.header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, csrfInCookie.ReplaceAllString(v, "mla_csrf={CSRF}"))
		}
	}
	b.WriteString("\n")
	b.WriteString(csrfInBody.ReplaceAllString(string(ans.body), `name="_csrf" value="{CSRF}"`))
	return strings.ReplaceAll(b.String(), id, "{ID}")
}

// short cuts a body for a message.
func short(b []byte) string {
	s := string(b)
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// firstDifference shows where two texts part: the line of each, with a
// little context.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, strings.LastIndexByte(a[:i], '\n')+1, i-120)
	cut := func(s string) string { return s[from:min(len(s), i+200)] }
	return fmt.Sprintf("at byte %d:\n--- this answer:\n%s\n--- the missing one's:\n%s", i, cut(a), cut(b))
}

// apiError reads the contract's error code of an API answer.
func apiError(ans answer) string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(ans.body, &body)
	return body.Error.Code
}

// decode reads a JSON answer into v, failing the test when it is not one.
func decode(tb testing.TB, what string, ans answer, v any) bool {
	tb.Helper()
	if err := json.Unmarshal(ans.body, v); err != nil {
		tb.Errorf("%s: answer is not the expected JSON: %v\n%s", what, err, short(ans.body))
		return false
	}
	return true
}

// stored reads a fixture request as the database has it now.
func (w *world) stored(tb testing.TB, r *fixtureRequest) workflow.Request {
	tb.Helper()
	got, err := w.store.Request(context.Background(), r.id)
	if err != nil {
		tb.Fatalf("read %s from the store: %v", r, err)
	}
	return got
}

// unchanged fails when a fixture request is no longer as built.
func (w *world) unchanged(tb testing.TB, what string, r *fixtureRequest) {
	tb.Helper()
	w.checks.Add(1)
	if got := w.stored(tb, r); got.Version != r.version || got.State != r.state || got.Title != r.title {
		tb.Errorf("CHANGED: %s: %s is now version %d in %s titled %q, want version %d in %s, unchanged",
			what, r, got.Version, got.State, got.Title, r.version, r.state)
	}
}
