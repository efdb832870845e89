package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
	"github.com/mla-flow/mla-flow/web"
)

func TestAuditPage(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	r := app.sent(t, "Bank records")
	app.as(t, "ng.officer") // a log-in of another authority

	admin := app.as(t, "admin")
	admin.get("/audit").must(t, http.StatusOK).
		has(t, "Audit log", "Verify chain", "request.send", "request.create", "auth.login", "ng.officer", "all authorities")
	admin.get("/audit?actor=it.supervisor").has(t, "request.send").lacks(t, "request.create")
	admin.get("/audit?outcome=maybe").must(t, http.StatusBadRequest)
	admin.get("/audit?request_id="+r.ID).has(t, ">request.send</code>", ">request.create</code>").lacks(t, ">auth.login</code>")
	admin.post("/audit/verify", nil).must(t, http.StatusOK).has(t, "The audit chain is intact")
	admin.post("/audit/verify", url.Values{"_csrf": {""}}).must(t, http.StatusForbidden)

	app.as(t, "es.auditor").get("/audit").must(t, http.StatusOK).
		has(t, "your authority (ES)").lacks(t, "ng.officer", "it.supervisor")
	officer := app.as(t, "it.officer")
	officer.get("/audit").must(t, http.StatusForbidden).has(t, "Only auditors and the administrator")
	officer.post("/audit/verify", nil).must(t, http.StatusForbidden)
	officer.get("/").must(t, http.StatusOK).lacks(t, `href="/audit"`)
}

func TestUsersPage(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	admin := app.as(t, "admin")
	admin.get("/users").must(t, http.StatusOK).has(t, "it.officer", "Giulia Rossi", "th.auditor", "Create an account")

	p := admin.post("/users", url.Values{"username": {"X"}, "role": {"officer"}, "authority": {""}, "password": {"short"}}).
		must(t, http.StatusUnprocessableEntity)
	p.has(t, "There is a problem", `id="f-username-error"`, `id="f-authority-error"`, `id="f-password-error"`, `value="X"`).
		lacks(t, `value="short"`)
	admin.post("/users", url.Values{"username": {"it.officer"}, "role": {"officer"}, "authority": {"IT"}, "password": {"a long enough password"}}).
		must(t, http.StatusConflict)

	p = admin.post("/users", url.Values{"username": {"it.clerk"}, "display_name": {"Paolo Neri"}, "role": {"officer"},
		"authority": {"IT"}, "password": {"a long enough password"}}).must(t, http.StatusSeeOther)
	if !strings.HasPrefix(p.location, "/users/") {
		t.Fatalf("created user leads to %q", p.location)
	}
	userPath := strings.SplitN(p.location, "?", 2)[0]
	admin.get(p.location).must(t, http.StatusOK).has(t, "Paolo Neri", "The account has been created", "Disable account")

	// The administrator chose the password: it is the clerk's to replace.
	clerk := app.browser(t)
	clerk.get("/login")
	first := url.Values{"username": {"it.clerk"}, "password": {"a long enough password"}}
	clerk.post("/login", first).must(t, http.StatusForbidden).has(t, `name="new_password"`)
	first.Set("replacing", "1")
	first.Set("new_password", "the clerk's first words")
	clerk.post("/login", first).must(t, http.StatusSeeOther)
	clerk.get("/").must(t, http.StatusOK).has(t, "Paolo Neri")

	admin.post(userPath+"/role", url.Values{"role": {"supervisor"}, "authority": {"IT"}}).must(t, http.StatusSeeOther)
	clerk.get("/").has(t, "Supervisor")
	admin.post(userPath+"/role", url.Values{"role": {"admin"}, "authority": {"IT"}}).must(t, http.StatusUnprocessableEntity).
		has(t, `id="f-authority-error"`)

	admin.post(userPath+"/password", url.Values{"password": {"x"}}).must(t, http.StatusUnprocessableEntity).has(t, `id="f-password-error"`)
	// The password policy, as the API applies it.
	admin.post(userPath+"/password", url.Values{"password": {"Password2026!"}}).must(t, http.StatusUnprocessableEntity).
		has(t, `id="f-password-error"`, "too common")
	admin.post(userPath+"/password", url.Values{"password": {"I am it.clerk!"}}).must(t, http.StatusUnprocessableEntity).
		has(t, "must not contain the user name")
	admin.post(userPath+"/password", url.Values{"password": {"another long password"}}).must(t, http.StatusSeeOther)
	// Setting a password ends the account's sessions.
	clerk.get("/").must(t, http.StatusSeeOther)

	// The password the administrator set is temporary: it opens no session
	// until the clerk has replaced it with one only the clerk knows.
	clerk.get("/login")
	reset := url.Values{"username": {"it.clerk"}, "password": {"another long password"}}
	clerk.post("/login", reset).must(t, http.StatusForbidden).has(t, `name="new_password"`, "set by the administrator")
	reset.Set("replacing", "1")
	clerk.post("/login", reset).must(t, http.StatusUnprocessableEntity).has(t, `id="f-new_password-error"`)
	reset.Set("new_password", "another long password")
	clerk.post("/login", reset).must(t, http.StatusUnprocessableEntity).has(t, "must differ from the current password")
	reset.Set("new_password", "quiet harbour of my own")
	clerk.post("/login", reset).must(t, http.StatusSeeOther)
	clerk.get("/").must(t, http.StatusOK)
	admin.post(userPath+"/status", url.Values{"disabled": {"true"}}).must(t, http.StatusSeeOther)
	clerk.get("/").must(t, http.StatusSeeOther)
	admin.get(userPath).has(t, "Enable account", "Disabled")
	admin.post(userPath+"/status", url.Values{"disabled": {"false"}}).must(t, http.StatusSeeOther)
	clerk.get("/login")
	clerk.post("/login", url.Values{"username": {"it.clerk"}, "password": {"quiet harbour of my own"}}).must(t, http.StatusSeeOther)

	// The administrator cannot lock themselves out.
	adminID := app.actor(t, "admin").UserID
	admin.post("/users/"+adminID+"/status", url.Values{"disabled": {"true"}}).must(t, http.StatusUnprocessableEntity).
		has(t, "cannot disable your own account")
	admin.post(userPath+"/status", url.Values{"disabled": {"true"}, "_csrf": {""}}).must(t, http.StatusForbidden)
	admin.get("/users/nosuchuser").must(t, http.StatusNotFound)

	officer := app.as(t, "it.supervisor")
	officer.get("/users").must(t, http.StatusForbidden)
	officer.post("/users", url.Values{"username": {"it.mole"}, "role": {"admin"}, "password": {"a long enough password"}}).
		must(t, http.StatusForbidden)
	officer.post(userPath+"/role", url.Values{"role": {"admin"}}).must(t, http.StatusForbidden)
	officer.get("/").must(t, http.StatusOK).lacks(t, `href="/users"`)
	admin.get("/users").must(t, http.StatusOK).lacks(t, "it.mole")
}

func TestErrorPages(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	anon := app.browser(t)
	anon.get("/no/such/page").must(t, http.StatusNotFound).has(t, "Error 404", "Not found", "<!doctype html>").lacks(t, "Log out")
	officer := app.as(t, "it.officer")
	p := officer.get("/no/such/page").must(t, http.StatusNotFound).has(t, "Error 404", "Log out", "Skip to main content")
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("404 page Content-Type %q", ct)
	}
	officer.get("/requests/nosuchrequest").must(t, http.StatusNotFound).has(t, "Error 404")
	officer.get("/users").must(t, http.StatusForbidden).has(t, "Error 403", "Only the administrator manages users.")
	req, _ := http.NewRequest(http.MethodPut, app.srv.URL+"/drafts", nil)
	officer.do(req).must(t, http.StatusMethodNotAllowed).has(t, "Error 405")

	// The API keeps its JSON errors.
	for _, path := range []string{"/api/v1/no/such", "/api/v1/requests", "/api/v1/requests/nosuch"} {
		p := anon.get(path)
		var body struct {
			Error struct{ Code workflow.Code } `json:"error"`
		}
		if err := json.Unmarshal([]byte(p.body), &body); err != nil || body.Error.Code == "" {
			t.Errorf("%s: %d %q, want a JSON error", path, p.status, p.body)
		}
	}
	anon.get("/healthz").must(t, http.StatusOK)
}

func TestStatic(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	b := app.browser(t)
	p := b.get("/static/app.css").must(t, http.StatusOK).has(t, ":focus-visible")
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type %q", ct)
	}
	b.get("/static/").must(t, http.StatusNotFound)
	b.get("/static/../web.go").must(t, http.StatusNotFound)
	b.get("/static/nope.js").must(t, http.StatusNotFound)
	if js := b.get("/static/upload.js").must(t, 200); !strings.Contains(js.header.Get("Content-Type"), "javascript") ||
		strings.Contains(js.body, "eval(") || strings.Contains(js.body, "innerHTML") {
		t.Errorf("upload.js: Content-Type %q, or it evaluates strings", js.header.Get("Content-Type"))
	}
}

// TestPages_noInlineScript checks that no page needs an inline script or
// handler, so that a strict Content Security Policy can forbid them.
func TestPages_noInlineScript(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	r := app.sent(t, "Bank records")
	pages := map[string][]string{
		"es.supervisor": {"/", "/inbox", "/outbox", "/drafts", "/requests/" + r.ID, "/requests/new", "/requests/new?kind=mla", "/requests/new?kind=extradition"},
		"admin":         {"/", "/users", "/audit"},
		"":              {"/login", "/nope"},
	}
	for user, paths := range pages {
		b := app.browser(t)
		if user != "" {
			b.login(user)
		}
		for _, path := range paths {
			want := http.StatusOK
			if path == "/nope" {
				want = http.StatusNotFound
			}
			p := b.get(path).must(t, want)
			// The scripts a page may name are /static's upload.js and
			// live.js, which the page's policy allows (script-src 'self').
			lower := strings.ToLower(p.body)
			for _, own := range []string{"upload.js", "live.js"} {
				lower = strings.ReplaceAll(lower, `<script src="/static/`+own+`" defer></script>`, "")
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") ||
				strings.Contains(csp, "unsafe-") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("%s as %q: CSP %q, want scripts of this origin only", path, user, csp)
			}
			for _, bad := range []string{"<script", " onclick=", " onload=", " onsubmit=", " onchange=", "javascript:", " style="} {
				if strings.Contains(lower, bad) {
					t.Errorf("%s as %q holds %q", path, user, bad)
				}
			}
		}
	}
}

// TestAuditPage_caseDetails: the admin's audit page shows no refusal
// grounds and no digest of a comment, and says what it withheld; the
// requested authority's auditor reads the grounds.
func TestAuditPage_caseDetails(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		app := newTestApp(t, db)
		refused := app.sent(t, "Bank records")
		app.fire(t, "es.supervisor", refused.ID, workflow.EventInput{Event: workflow.EventRefuse, Grounds: []string{"political_offence"}})
		executed := app.sent(t, "Witness hearing")
		app.fire(t, "es.officer", executed.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
		app.fire(t, "es.supervisor", executed.ID, workflow.EventInput{Event: workflow.EventExecute, Comment: "The witness was heard on 3 May."})

		const political = "Political offence, or connected with one"
		admin := app.as(t, "admin")
		admin.get("/audit?request_id="+refused.ID).must(t, http.StatusOK).
			has(t, ">request.refuse</code>", "Withheld from you: Grounds").
			lacks(t, "political_offence", political, "grounds&#34;:")
		admin.get("/audit?request_id="+executed.ID).must(t, http.StatusOK).
			has(t, ">request.execute</code>", "Withheld from you: Comment digest", "Withheld from you: Content digest").
			lacks(t, "comment_hmac", "content_hmac", "_sha256", "<dt>Comment digest</dt>", "<dt>Content digest</dt>")
		app.as(t, "es.auditor").get("/audit?request_id="+refused.ID).must(t, http.StatusOK).
			has(t, "<dt>Grounds</dt><dd>"+political+"</dd>").lacks(t, "Withheld from you", "political_offence")
	})
}

// TestForms_summaryOrder: a form's error summary lists the problems in the
// order of the form's fields, whatever the order of the map they come in,
// and each form's order is the order its page shows the fields in.
func TestForms_summaryOrder(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	admin, officer := app.as(t, "admin"), app.as(t, "it.officer")
	summary := func(p page) string { return between(p.body, `class="error-summary"`, "</div>") }

	for i := 0; i < 5; i++ { // map order varies from one answer to the next
		p := admin.post("/users", url.Values{"username": {"X"}, "role": {"officer"}, "authority": {""}, "password": {"short"}}).
			must(t, http.StatusUnprocessableEntity)
		inOrder(t, summary(p), `href="#f-username"`, `href="#f-authority"`, `href="#f-password"`)
		p = officer.post("/requests/new", url.Values{"kind": {"mla"}, "requested_authority": {""}, "title": {""}, "due_date": {"soon"}}).
			must(t, http.StatusUnprocessableEntity)
		inOrder(t, summary(p), `href="#f-requested_authority"`, `href="#f-title"`, `href="#f-due_date"`)
	}

	clerk, err := app.auth.CreateUser(t.Context(), app.actor(t, "admin"), auth.NewUser{Username: "it.clerk", Role: workflow.RoleOfficer,
		Authority: "IT", Password: "a long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	forms := []struct {
		b     *browser
		path  string
		order []string
	}{
		{officer, "/requests/new?kind=mla", web.RequestFormFields},
		{officer, "/requests/new?kind=extradition", web.RequestFormFields},
		{admin, "/users", web.NewUserFields},
		{admin, "/users/" + clerk.ID, web.UserFields},
	}
	for _, f := range forms {
		body := f.b.get(f.path).must(t, http.StatusOK).body
		var ids []string
		for _, name := range f.order {
			if id := `id="` + web.FieldID(name) + `"`; strings.Contains(body, id) {
				ids = append(ids, id)
			}
		}
		if len(ids) < 3 {
			t.Errorf("%s shows only %v of its fields", f.path, ids)
		}
		inOrder(t, body, ids...)
	}
}

// inOrder checks that s holds each of texts, in that order.
func inOrder(tb testing.TB, s string, texts ...string) {
	tb.Helper()
	last, prev := -1, ""
	for _, text := range texts {
		i := strings.Index(s, text)
		switch {
		case i < 0:
			tb.Errorf("%q is missing from:\n%s", text, s)
		case i < last:
			tb.Errorf("%q comes before %q, want after", text, prev)
		}
		last, prev = i, text
	}
}

// TestUsersPage_ownAccount: the administrator's own page offers none of
// the changes the server refuses for one's own account, and says why; a
// refused attempt all the same is explained on the page, and the password,
// which one may set, is offered with what setting it does.
func TestUsersPage_ownAccount(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	admin := app.as(t, "admin")
	own := "/users/" + app.actor(t, "admin").UserID
	other := "/users/" + app.actor(t, "it.officer").UserID

	admin.get(other).must(t, http.StatusOK).
		has(t, `action="`+other+`/status"`, `action="`+other+`/role"`, `action="`+other+`/password"`).
		lacks(t, "You cannot")
	admin.get(own).must(t, http.StatusOK).
		has(t, "You cannot disable your own account", "You cannot change your own role", `action="`+own+`/password"`,
			"Setting it ends your sessions, this one too").
		lacks(t, `action="`+own+`/status"`, `action="`+own+`/role"`, "Disable account", "Change role")

	// A form kept open from before, or typed by hand: the summary's links
	// land on the explanations.
	admin.post(own+"/status", url.Values{"disabled": {"true"}}).must(t, http.StatusUnprocessableEntity).
		has(t, `href="#f-disabled"`, `<p id="f-disabled">You cannot disable your own account`)
	admin.post(own+"/role", url.Values{"role": {"officer"}, "authority": {"IT"}}).must(t, http.StatusUnprocessableEntity).
		has(t, `href="#f-role"`, `<p id="f-role">You cannot change your own role`)

	admin.post(own+"/password", url.Values{"password": {"quiet harbour of my own"}}).must(t, http.StatusSeeOther)
	admin.get(own).must(t, http.StatusSeeOther) // this session ended too, as the hint says
}

// TestAuditPage_readable: the audit page names the request by its
// reference (a link to the case for a reader of the case, plain text for
// the administrator, who reads no case), the actor by name, the action by
// its label, and the details as label and value pairs; internal ids are
// no text of the page, only parts of its links.
func TestAuditPage_readable(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	r := app.sent(t, "Bank records")
	app.fire(t, "es.officer", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
	draft := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Phone records"})
	if _, err := app.wf.Update(t.Context(), app.actor(t, "it.officer"), draft.ID, workflow.Changes{
		Title: ptr("Phone records of Rossi"), Summary: ptr("Calls between the suspects."),
	}, nil); err != nil {
		t.Fatal(err)
	}
	es := app.as(t, "es.officer")
	es.post("/requests/"+r.ID+"/events/refuse", url.Values{"grounds": {"dual_criminality"}}).must(t, http.StatusForbidden)
	admin := app.as(t, "admin")
	p := admin.post("/users", url.Values{"username": {"it.clerk"}, "role": {"officer"}, "authority": {"IT"},
		"password": {"a long enough password"}}).must(t, http.StatusSeeOther)
	clerkPage := strings.SplitN(p.location, "?", 2)[0]

	noIDs := func(p page, ids ...string) {
		t.Helper()
		text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(between(p.body, "<tbody>", "</tbody>"), " ")
		for _, id := range ids {
			if strings.Contains(text, id) {
				t.Errorf("the audit table shows the internal id %s as text", id)
			}
		}
	}
	page := admin.get("/audit").must(t, http.StatusOK).
		has(t, `<span class="ref">`+r.Reference+`</span>`, `<span class="ref">`+draft.Reference+`</span>`,
			`href="/audit?request_id=`+r.ID+`"`,
			"Giulia Rossi <span class=\"muted small\">it.officer</span>", "Lucía García",
			"<td data-label=\"Action\"><div class=\"cell\">Acknowledge receipt<code",
			"<dt>From</dt><dd>Sent</dd>", "<dt>To</dt><dd>Acknowledged</dd>",
			"<dt>Changed fields</dt><dd>Title, Summary of the facts</dd>",
			"<dt>Refused because</dt><dd>not permitted for this user</dd>", "<dt>State at the time</dt><dd>Acknowledged</dd>",
			`<dt>Account</dt><dd><a href="`+clerkPage+`">it.clerk</a></dd>`, "<dt>Role</dt><dd>Officer</dd>",
			"<dt>Temporary password</dt><dd>yes</dd>").
		lacks(t, `href="/requests/`, "&#34;:", "<dt>Action</dt>")
	noIDs(page, r.ID, draft.ID, strings.TrimPrefix(clerkPage, "/users/"), app.actor(t, "it.officer").UserID)

	// The requested authority's auditor reads the case: its reference
	// leads there. The auditor manages no accounts: usernames only.
	page = app.as(t, "es.auditor").get("/audit").must(t, http.StatusOK).
		has(t, `<a class="ref" href="/requests/`+r.ID+`">`+r.Reference+`</a>`, "es.officer").
		lacks(t, "Lucía García", draft.Reference)
	noIDs(page, r.ID)
}

func ptr[T any](v T) *T { return &v }
