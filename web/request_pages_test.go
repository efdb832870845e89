package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestDashboard(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	urgent := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES",
		Title: "Freezing of accounts, urgent", Urgency: workflow.UrgencyUrgent, UrgencyReason: "Funds about to move"})
	app.fire(t, "it.supervisor", urgent.ID, workflow.EventInput{Event: workflow.EventSend})
	app.sent(t, "Witness hearing in Madrid")
	app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindExtradition, RequestedAuthority: "TH", Title: "Surrender of M.R."})

	t.Run("requested_side", func(t *testing.T) {
		p := app.as(t, "es.officer").get("/").must(t, http.StatusOK).
			has(t, "Waiting for your action", "Requests by state", "Freezing of accounts, urgent", "Witness hearing in Madrid",
				`<a href="/inbox?state=sent">2</a>`)
		if i, j := strings.Index(p.body, "Freezing of accounts"), strings.Index(p.body, "Witness hearing"); i > j {
			t.Errorf("the urgent request is not listed first")
		}
	})
	t.Run("requesting_side", func(t *testing.T) {
		// The supervisor sends drafts: the draft waits for them, not for
		// the officer; sent requests wait for the other side.
		app.as(t, "it.supervisor").get("/").must(t, http.StatusOK).has(t, "Surrender of M.R.", `<a href="/drafts">1</a>`)
		app.as(t, "it.officer").get("/").must(t, http.StatusOK).has(t, "Nothing is waiting for you.")
	})
	t.Run("admin", func(t *testing.T) {
		app.as(t, "admin").get("/").must(t, http.StatusOK).
			has(t, `href="/users"`, `href="/audit"`, "Administrator").
			lacks(t, "Requests by state", `href="/inbox"`, "Freezing")
	})
}

func TestLists(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		app := newTestApp(t, db)
		ctx := context.Background()
		it, es := app.actor(t, "it.officer"), app.actor(t, "es.officer")
		for i := 0; i < 55; i++ {
			if _, err := app.wf.Create(ctx, it, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES",
				Title: fmt.Sprintf("Draft number %02d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		app.sent(t, "Bank records of Rossi S.r.l.")
		ext := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindExtradition, RequestedAuthority: "NG", Title: "Surrender of A.B."})
		app.fire(t, "it.supervisor", ext.ID, workflow.EventInput{Event: workflow.EventSend})
		if _, err := app.wf.Create(ctx, es, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "IT", Title: "Spanish draft"}); err != nil {
			t.Fatal(err)
		}

		itb := app.as(t, "it.officer")
		p := itb.get("/drafts").must(t, http.StatusOK).has(t, "Draft number 54", "Older requests").lacks(t, "Draft number 04", "Bank records")
		next := between(p.body, `href="/drafts?cursor=`, `"`)
		if next == "" {
			t.Fatalf("no link to the next page")
		}
		itb.get("/drafts?cursor="+strings.ReplaceAll(next, "&amp;", "&")).must(t, http.StatusOK).
			has(t, "Draft number 04", "Draft number 00", "« Newest").lacks(t, "Draft number 54", "Older requests")
		// A filtered list keeps its filters in both links.
		p = itb.get("/drafts?q=number&kind=mla").must(t, http.StatusOK).has(t, "Draft number 54", "Older requests")
		next = strings.ReplaceAll(between(p.body, `href="/drafts?`, `"`), "&amp;", "&")
		if q, err := url.ParseQuery(next); err != nil || q.Get("q") != "number" || q.Get("kind") != "mla" || q.Get("cursor") == "" {
			t.Fatalf("next link of a filtered list: %q (%v), want its filters and a cursor", next, err)
		}
		p = itb.get("/drafts?"+next).must(t, http.StatusOK).has(t, "Draft number 04")
		if first := strings.ReplaceAll(between(p.body, `href="/drafts?`, `"`), "&amp;", "&"); first != "kind=mla&q=number" {
			t.Fatalf("first-page link of a filtered list: %q, want its filters and no cursor", first)
		}

		itb.get("/outbox").must(t, http.StatusOK).has(t, "Bank records of Rossi S.r.l.", "Surrender of A.B.").lacks(t, "Draft number")
		itb.get("/outbox?kind=extradition").has(t, "Surrender of A.B.").lacks(t, "Bank records")
		itb.get("/outbox?counterpart=ES").has(t, "Bank records").lacks(t, "Surrender of A.B.")
		itb.get("/outbox?q=rossi").has(t, "Bank records", "Clear filters").lacks(t, "Surrender of A.B.")
		itb.get("/outbox?state=acknowledged").has(t, "No request matches these filters.")
		itb.get("/outbox?state=bogus").must(t, http.StatusBadRequest).has(t, "Error 400")
		itb.get("/inbox").must(t, http.StatusOK).lacks(t, "Spanish draft") // a draft is not sent yet

		esb := app.as(t, "es.officer")
		esb.get("/inbox").must(t, http.StatusOK).has(t, "Bank records of Rossi S.r.l.", "IT-MLA-").lacks(t, "Surrender of A.B.", "Draft number")
		esb.get("/drafts").has(t, "Spanish draft")

		app.as(t, "admin").get("/inbox").must(t, http.StatusForbidden).has(t, "Error 403", "work with requests")
	})
}

// between returns the text of s after the first start and up to end.
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func TestNewRequest(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	b := app.as(t, "it.officer")

	b.get("/requests/new").must(t, http.StatusOK).has(t, "What kind of request?", `value="mla"`, `value="extradition"`)
	b.get("/requests/new?kind=piracy").must(t, http.StatusBadRequest)

	mla := b.get("/requests/new?kind=mla").must(t, http.StatusOK)
	for _, m := range workflow.Measures {
		mla.has(t, `value="`+m.Code+`"`)
	}
	mla.has(t, `name="offences"`, `name="legal_basis"`, `name="urgency_reason"`, `name="due_date"`).
		lacks(t, `name="person_sought.name"`, `name="warrant.reference"`, `<option value="IT"`)
	b.get("/requests/new?kind=extradition").must(t, http.StatusOK).
		has(t, `name="person_sought.name"`, `name="person_sought.date_of_birth"`, `name="warrant.type"`, `name="warrant.issued_by"`).
		lacks(t, `name="measures"`)

	t.Run("errors_next_to_fields_input_kept", func(t *testing.T) {
		p := b.post("/requests/new", url.Values{
			"kind": {"mla"}, "requested_authority": {"ES"}, "title": {""}, "summary": {"Facts stay"},
			"measures": {"bank_records"}, "due_date": {"soon"},
		}).must(t, http.StatusUnprocessableEntity)
		p.has(t, "There is a problem", `href="#f-title"`, `id="f-title-error"`, "Title is required.",
			`id="f-due_date-error"`, "Facts stay", `value="bank_records" checked`, `<option value="ES" selected>`)
	})

	t.Run("mla", func(t *testing.T) {
		p := b.post("/requests/new", url.Values{
			"kind": {"mla"}, "requested_authority": {"ES"}, "title": {"Bank records of Rossi S.r.l."},
			"summary": {"Laundering through shell companies."}, "legal_basis": {"UNTOC Art. 18"},
			"offences": {"Money laundering\n\nFraud"}, "measures": {"bank_records", "freezing"},
			"urgency": {"urgent"}, "urgency_reason": {"Funds are being moved"}, "due_date": {"2027-01-31"},
		}).must(t, http.StatusSeeOther)
		id := p.requestID(t)
		b.get(p.location).must(t, http.StatusOK).has(t, "The draft has been saved", "Bank records of Rossi S.r.l.",
			"IT-MLA-", "Money laundering", "Fraud", "Freezing of assets or evidence", "Funds are being moved", "2027-01-31",
			"UNTOC Art. 18", `href="/requests/`+id+`/edit"`)
	})

	t.Run("extradition", func(t *testing.T) {
		p := b.post("/requests/new", url.Values{
			"kind": {"extradition"}, "requested_authority": {"TH"}, "title": {"Surrender of Mario Rossi"},
			"person_sought.name": {"Mario Rossi"}, "person_sought.aliases": {"M. R.\nIl Conte"},
			"person_sought.date_of_birth": {"1970-05-04"}, "person_sought.nationality": {"Italian"},
			"warrant.type": {"arrest_warrant"}, "warrant.reference": {"GIP-2026-17"},
			"warrant.issued_by": {"Tribunale di Milano"}, "warrant.issued_on": {"2026-03-01"},
		}).must(t, http.StatusSeeOther)
		b.get(p.location).must(t, http.StatusOK).has(t, "IT-EXT-", "Mario Rossi", "Il Conte", "1970-05-04",
			"Arrest warrant", "GIP-2026-17", "Tribunale di Milano")
		// A sub-field error lands next to its field.
		b.post("/requests/new", url.Values{
			"kind": {"extradition"}, "requested_authority": {"TH"}, "title": {"Surrender"},
			"person_sought.date_of_birth": {"yesterday"},
		}).must(t, http.StatusUnprocessableEntity).has(t, `id="f-person_sought-date_of_birth-error"`, `value="yesterday"`)
	})

	t.Run("forbidden_roles", func(t *testing.T) {
		auditor := app.as(t, "it.auditor")
		auditor.get("/requests/new").must(t, http.StatusForbidden)
		auditor.post("/requests/new", url.Values{"kind": {"mla"}, "requested_authority": {"ES"}, "title": {"x"}}).must(t, http.StatusForbidden)
		auditor.get("/").must(t, http.StatusOK).lacks(t, `href="/requests/new"`)
	})

	t.Run("csrf", func(t *testing.T) {
		b.post("/requests/new", url.Values{"kind": {"mla"}, "requested_authority": {"ES"}, "title": {"Forged"}, "_csrf": {""}}).
			must(t, http.StatusForbidden).has(t, "did not come from this site")
		b.post("/requests/new", url.Values{"kind": {"mla"}, "requested_authority": {"ES"}, "title": {"Forged"}, "_csrf": {"abc.def"}}).
			must(t, http.StatusForbidden)
		// Another user's token does not do either.
		other := app.as(t, "it.supervisor")
		b.post("/requests/new", url.Values{"kind": {"mla"}, "requested_authority": {"ES"}, "title": {"Forged"}, "_csrf": {other.cookie("mla_csrf")}}).
			must(t, http.StatusForbidden)
		b.get("/drafts").must(t, http.StatusOK).lacks(t, "Forged")
	})
}

func TestRequestPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		app := newTestApp(t, db)
		r := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records"})
		path := "/requests/" + r.ID

		officer := app.as(t, "it.officer")
		officer.get(path).must(t, http.StatusOK).
			has(t, "Edit draft", "Timeline", "Workflow", `aria-current="step"`, "stateDiagram-v2").
			lacks(t, `/events/send"`)
		officer.post(path+"/events/send", url.Values{"version": {"1"}}).must(t, http.StatusForbidden).has(t, "Error 403")

		supervisor := app.as(t, "it.supervisor")
		supervisor.get(path).has(t, `action="/requests/`+r.ID+`/events/send"`)
		supervisor.post(path+"/events/send", url.Values{"_csrf": {""}}).must(t, http.StatusForbidden)
		p := supervisor.post(path+"/events/send", url.Values{"version": {"1"}}).must(t, http.StatusSeeOther)
		supervisor.get(p.location).has(t, "The request has been sent", "Sent")

		// A page left open on the old version: nothing happens, a message says why.
		supervisor.post(path+"/events/withdraw", url.Values{"version": {"1"}, "comment": {"no longer needed"}}).
			must(t, http.StatusConflict).has(t, "moved on while you had it open")

		app.as(t, "es.auditor").get(path).must(t, http.StatusOK).lacks(t, "/events/")
		app.as(t, "ng.officer").get(path).must(t, http.StatusNotFound).has(t, "Error 404")
		app.as(t, "admin").get(path).must(t, http.StatusForbidden)

		esOfficer := app.as(t, "es.officer")
		esOfficer.get(path).has(t, `/events/acknowledge"`).lacks(t, `/events/refuse"`, "Edit draft")
		esOfficer.post(path+"/events/refuse", url.Values{"grounds": {"dual_criminality"}}).must(t, http.StatusForbidden)
		esOfficer.post(path+"/events/acknowledge", nil).must(t, http.StatusSeeOther)

		esSupervisor := app.as(t, "es.supervisor")
		page := esSupervisor.get(path).must(t, http.StatusOK).has(t, `/events/refuse"`, `/events/execute"`, `/events/request_info"`)
		for _, g := range workflow.Grounds {
			applies, _ := workflow.GroundApplies(g.Code, workflow.KindMLA)
			if applies {
				page.has(t, `value="`+g.Code+`"`)
			} else {
				page.lacks(t, `value="`+g.Code+`"`)
			}
		}
		esSupervisor.post(path+"/events/refuse", url.Values{"comment": {"kept"}}).must(t, http.StatusUnprocessableEntity).
			has(t, "At least one refusal ground is required", "<details class=\"disclosure\" open>", ">kept</textarea>")
		esSupervisor.post(path+"/events/execute", url.Values{}).must(t, http.StatusUnprocessableEntity).has(t, "“Execution report” is required.")
		esSupervisor.post(path+"/events/refuse", url.Values{"grounds": {"military_offence"}}).must(t, http.StatusUnprocessableEntity)
		esSupervisor.post(path+"/events/refuse", url.Values{"grounds": {"dual_criminality", "essential_interests"}, "comment": {"Not an offence in Spain."}}).
			must(t, http.StatusSeeOther)

		// The timeline says what happened, by whom, of which authority.
		for _, b := range []*browser{officer, esSupervisor} {
			b.get(path).must(t, http.StatusOK).
				has(t, "<strong>Drafted</strong> by it.officer <span class=\"muted\">(IT — ",
					"<strong>Sent</strong> by it.supervisor <span class=\"muted\">(IT — ",
					"<strong>Acknowledged</strong> by es.officer <span class=\"muted\">(ES — ",
					"<strong>Refused</strong> by es.supervisor", "Other essential interests of the requested state",
					"Not an offence in Spain.", "This request is closed").
				lacks(t, `/events/`, "<strong>Send</strong>", "<strong>Refuse</strong>")
		}
		officer.get(path+"/edit").must(t, http.StatusConflict)
	})
}

func TestEditDraft(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	r := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindExtradition, RequestedAuthority: "ES", Title: "Surrender",
		PersonSought: &workflow.Person{Name: "Anna Verdi"}})
	path := "/requests/" + r.ID + "/edit"
	b := app.as(t, "it.officer")
	b.get(path).must(t, http.StatusOK).has(t, `value="Surrender"`, `value="Anna Verdi"`, `name="version" value="1"`)
	form := url.Values{"version": {"1"}, "requested_authority": {"ES"}, "title": {"Surrender of Anna Verdi"},
		"person_sought.name": {"Anna Verdi"}, "person_sought.location": {"Valencia"}}
	p := b.post(path, form).must(t, http.StatusSeeOther)
	b.get(p.location).has(t, "Surrender of Anna Verdi", "Valencia", "Your changes to the draft have been saved")
	// The same form again is stale now.
	b.post(path, form).must(t, http.StatusConflict).has(t, "someone else changed this draft")
	form.Set("version", "2")
	form.Set("title", "")
	b.post(path, form).must(t, http.StatusUnprocessableEntity).has(t, "Title is required.", `value="Valencia"`)
	app.as(t, "es.officer").get(path).must(t, http.StatusNotFound)
	app.as(t, "it.auditor").get(path).must(t, http.StatusForbidden)
}

// TestRequestPage_messagesNameActionsByLabel: every refusal of an action
// names it as its button does ("Record execution"), and states and grounds
// by their labels, never by the codes the API uses.
func TestRequestPage_messagesNameActionsByLabel(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	r := app.sent(t, "Bank records")
	path := "/requests/" + r.ID
	esOfficer, esSupervisor := app.as(t, "es.officer"), app.as(t, "es.supervisor")
	codes := []string{"refuse", "execute", "request_info", "military_offence", "mla requests", "acknowledged", "sent"}

	esOfficer.post(path+"/events/refuse", url.Values{"grounds": {"dual_criminality"}}).must(t, http.StatusForbidden).
		messages().has(t, "“Refuse” is for the supervisors of the requested authority.").lacks(t, codes...)
	esOfficer.post(path+"/events/acknowledge", nil).must(t, http.StatusSeeOther)

	cases := []struct {
		name, event string
		form        url.Values
		want        string
	}{
		{"comment_required", "execute", url.Values{}, "“Execution report” is required."},
		{"comment_required_other_label", "request_info", url.Values{}, "“What information is needed” is required."},
		{"ground_of_other_kind", "refuse", url.Values{"grounds": {"military_offence"}},
			"“Purely military offence” does not apply to requests for mutual legal assistance."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			esSupervisor.post(path+"/events/"+tc.event, tc.form).must(t, http.StatusUnprocessableEntity).
				messages().has(t, tc.want, "was not done. Complete the form below.").lacks(t, codes...)
		})
	}

	// A page left open on an old version.
	app.as(t, "it.supervisor").post(path+"/events/withdraw", url.Values{"version": {"1"}, "comment": {"no longer needed"}}).
		must(t, http.StatusConflict).messages().
		has(t, "“Withdraw” was not done: the request moved on", "It is now “Acknowledged”.").lacks(t, codes...)
	app.as(t, "it.officer").get(path+"/edit").must(t, http.StatusConflict).
		messages().has(t, "Only drafts can be edited; this request is “Acknowledged”.").lacks(t, codes...)
}

// TestRequestPage_draftActions: where a draft may be edited, its actions
// panel offers the edit and never says that there is nothing to do.
func TestRequestPage_draftActions(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	r := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records"})
	path := "/requests/" + r.ID
	actions := func(p page) page {
		return page{status: p.status, body: between(p.body, `id="actions-title"`, "</section>")}
	}
	officer, supervisor := app.as(t, "it.officer"), app.as(t, "it.supervisor")

	actions(officer.get(path).must(t, http.StatusOK)).
		has(t, `href="/requests/`+r.ID+`/edit">Edit draft</a>`, "When it is ready, the supervisors of your authority send it.").
		lacks(t, "nothing for you to do", "/events/")
	actions(supervisor.get(path).must(t, http.StatusOK)).
		has(t, "Edit draft", `/events/send"`).lacks(t, "nothing for you to do", "send it.")

	app.fire(t, "it.supervisor", r.ID, workflow.EventInput{Event: workflow.EventSend})
	actions(officer.get(path).must(t, http.StatusOK)).
		has(t, "There is nothing for you to do on this request now.").lacks(t, "Edit draft")
}

// TestRequestForm_titleLimit: the title's limit is said under its label
// and tied to the field, the browser is not told to cut longer text, and
// a longer title comes back as an error with the whole text kept.
func TestRequestForm_titleLimit(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	b := app.as(t, "it.officer")
	limit := fmt.Sprintf("at most %d characters", workflow.MaxTitle)
	b.get("/requests/new?kind=mla").must(t, http.StatusOK).
		has(t, `<p class="hint" id="f-title-hint">`, limit, `name="title" type="text" value="" required aria-required="true" aria-describedby="f-title-hint">`).
		lacks(t, "maxlength")

	long := strings.Repeat("x", workflow.MaxTitle+1)
	want := fmt.Sprintf("Title must be %s.", limit)
	b.post("/requests/new", url.Values{"kind": {"mla"}, "requested_authority": {"ES"}, "title": {long}}).
		must(t, http.StatusUnprocessableEntity).
		has(t, `<a href="#f-title">`+want+`</a>`, `id="f-title-error"`, `value="`+long+`"`,
			`aria-invalid="true" aria-describedby="f-title-hint f-title-error"`)

	full := strings.Repeat("y", workflow.MaxTitle)
	p := b.post("/requests/new", url.Values{"kind": {"mla"}, "requested_authority": {"ES"}, "title": {full}}).
		must(t, http.StatusSeeOther)
	r, err := app.wf.Get(t.Context(), app.actor(t, "it.officer"), p.requestID(t))
	if err != nil || r.Title != full {
		t.Fatalf("stored title %q (%v), want the %d characters sent", r.Title, err, len(full))
	}
	b.post("/requests/"+r.ID+"/edit", url.Values{"version": {"1"}, "requested_authority": {"ES"}, "title": {long}}).
		must(t, http.StatusUnprocessableEntity).has(t, want, `value="`+long+`"`)
}

// TestUrgentBadge_openCasesOnly: an urgent request carries the urgent mark
// in the lists, on the dashboard and on its page while it is open, and
// loses it once it is closed; its page still records that it was urgent.
func TestUrgentBadge_openCasesOnly(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	urgent := func(title string) workflow.Request {
		r := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: title,
			Urgency: workflow.UrgencyUrgent, UrgencyReason: "Funds about to move"})
		return app.fire(t, "it.supervisor", r.ID, workflow.EventInput{Event: workflow.EventSend})
	}
	open, closed := urgent("Freezing, still open"), urgent("Freezing, refused")
	app.fire(t, "es.supervisor", closed.ID, workflow.EventInput{Event: workflow.EventRefuse, Grounds: []string{"dual_criminality"}})
	const badge = "badge--urgent"
	// row is the table row of p that holds title.
	row := func(p page, title string) string {
		t.Helper()
		i := strings.Index(p.body, title)
		start, end := strings.LastIndex(p.body[:max(i, 0)], "<tr"), strings.Index(p.body[max(i, 0):], "</tr>")
		if i < 0 || start < 0 || end < 0 {
			t.Fatalf("no row holds %q:\n%s", title, p.body)
		}
		return p.body[start : i+end]
	}

	esOfficer, itOfficer := app.as(t, "es.officer"), app.as(t, "it.officer")
	for _, p := range []page{esOfficer.get("/inbox").must(t, http.StatusOK), itOfficer.get("/outbox").must(t, http.StatusOK)} {
		if r := row(p, "Freezing, still open"); !strings.Contains(r, badge) || !strings.Contains(r, "row--urgent") {
			t.Errorf("the open urgent request is not marked urgent:\n%s", r)
		}
		if r := row(p, "Freezing, refused"); strings.Contains(r, badge) || strings.Contains(r, "urgent") || !strings.Contains(r, "Closed") {
			t.Errorf("the refused request is still marked urgent:\n%s", r)
		}
	}
	esOfficer.get("/").must(t, http.StatusOK).has(t, badge, "Freezing, still open").lacks(t, "Freezing, refused")
	esOfficer.get("/requests/"+open.ID).must(t, http.StatusOK).has(t, badge)
	esOfficer.get("/requests/"+closed.ID).must(t, http.StatusOK).lacks(t, badge).
		has(t, "<dt>Urgency</dt><dd>Urgent", "Funds about to move")
}
