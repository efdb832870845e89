package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// legalCase makes, 100 days ago on the world's clock, an EIO request from IT
// to ES with a protected victim, sent and acknowledged with ES's reference:
// its execution deadline (90 days) is overdue now. It returns the request
// as it stands now.
func legalCase(t *testing.T, a *testApp) workflow.Request {
	t.Helper()
	a.clock.Advance(-100 * 24 * time.Hour)
	defer a.clock.Advance(100 * 24 * time.Hour)
	r := a.draft(t, "it.officer", workflow.Draft{
		Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Proceeds of the Edo recruitment ring",
		Summary: "Payments for recruited women", Offences: []string{"Trafficking in persons"},
		Measures: []string{"bank_records"}, Instrument: "eio", Purpose: "To trace the proceeds",
		Persons: []workflow.PersonConcerned{
			{Role: workflow.PersonSuspect, Name: "Osas Igbinedion", Nationality: "Nigerian", Location: "Madrid"},
			{Role: workflow.PersonVictim, Name: "Blessing Uwa", Nationality: "Nigerian", Location: "a shelter in Turin", Protected: true},
		},
	})
	a.fire(t, "it.supervisor", r.ID, workflow.EventInput{Event: workflow.EventSend})
	return a.fire(t, "es.officer", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge, Reference: "AN-2026-0077"})
}

func TestRequestPage_legalSubstance(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		a := newTestApp(t, db)
		r := legalCase(t, a)
		page := a.as(t, "es.officer").get("/requests/"+r.ID).must(t, 200)
		page.has(t, "European Investigation Order", "AN-2026-0077", "To trace the proceeds",
			"Execution", "Overdue", "EIO Art. 12(4)", "Acknowledgement of receipt", "Met",
			"Blessing Uwa", "Protected", "Osas Igbinedion")
		// The auditor reads the case, not whom it protects.
		aud := a.as(t, "es.auditor").get("/requests/"+r.ID).must(t, 200)
		aud.has(t, "Osas Igbinedion", "identity withheld")
		if strings.Contains(aud.body, "Blessing") || strings.Contains(aud.body, "shelter") {
			t.Error("the auditor's page discloses the protected victim")
		}
		// The lists and the dashboard mark it overdue, and never name her.
		for _, path := range []string{"/inbox", "/inbox?deadline=overdue&sort=due", "/"} {
			p := a.as(t, "es.supervisor").get(path).must(t, 200).has(t, "Overdue", r.Reference)
			if strings.Contains(p.body, "Blessing") {
				t.Errorf("%s discloses the protected victim", path)
			}
		}
		a.as(t, "es.supervisor").get("/").has(t, "Execution: 10 days overdue")
		a.as(t, "es.supervisor").get("/inbox?deadline=late").must(t, 400)
		// Each disclosing page wrote its person.view.
		entries, _, err := a.wf.Audit(context.Background(), a.actor(t, "admin"), workflow.AuditFilter{Action: workflow.ActionViewPersons, RequestID: r.ID})
		if err != nil || len(entries) != 1 || entries[0].Actor != "es.officer" {
			t.Fatalf("person.view entries %+v (%v), want es.officer's one", entries, err)
		}
	})
}

func TestRequestPage_extendAndPostpone(t *testing.T) {
	a := newTestApp(t, testdb.SQLite)
	r := a.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Hearing of witnesses", Instrument: "bilateral"})
	a.fire(t, "it.supervisor", r.ID, workflow.EventInput{Event: workflow.EventSend})
	r = a.fire(t, "es.officer", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
	sup := a.as(t, "es.supervisor")
	view := sup.get("/requests/"+r.ID).must(t, 200)
	view.has(t, `action="/requests/`+r.ID+`/deadlines/execution/extensions"`, "At most 90 more days")
	csrf := csrfOf(t, view.body)
	ext := "/requests/" + r.ID + "/deadlines/execution/extensions"
	sup.post(ext, url.Values{"_csrf": {csrf}, "days": {"120"}, "reason": {"x"}}).must(t, 422).has(t, "The deadline was not extended", "At most 90 days in all")
	sup.post(ext, url.Values{"_csrf": {csrf}, "days": {"30"}, "reason": {""}}).must(t, 422).has(t, "Reason is required: say why the deadline is extended.")
	done := sup.post(ext, url.Values{"_csrf": {csrf}, "days": {"30"}, "reason": {"The witnesses are abroad until June"}}).must(t, 303)
	sup.get(done.location).must(t, 200).has(t, "The deadline has been extended", "Extended by 30 days by es.supervisor", "The witnesses are abroad until June")
	// The requesting side sees the deadline but may not extend it.
	if p := a.as(t, "it.supervisor").get("/requests/" + r.ID); strings.Contains(p.body, "/deadlines/execution/extensions") {
		t.Error("the requesting side is offered the extension of the requested side's deadline")
	}
	// Postponed, the clock stands.
	sup.post("/requests/"+r.ID+"/events/postpone", url.Values{"_csrf": {csrf}, "comment": {"Our own trial of the same ring comes first"}}).must(t, 303)
	sup.get("/requests/"+r.ID).must(t, 200).has(t, "Postponed", "Clock stopped", "Resume execution")
}

func TestDraftPage_checklistAndForm(t *testing.T) {
	a := newTestApp(t, testdb.SQLite)
	r := a.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindExtradition, RequestedAuthority: "ES", Title: "Surrender of O. I."})
	b := a.as(t, "it.officer")
	b.get("/requests/"+r.ID).must(t, 200).has(t, "Before sending", "Person sought", "Warrant or judgment",
		"Summary of the facts", "(missing)", "You may still send it")
	form := b.get("/requests/"+r.ID+"/edit").must(t, 200)
	form.has(t, `name="instrument"`, `name="purpose"`, `name="persons[0].name"`, `name="persons[1].protected"`, "European Arrest Warrant")
	values := url.Values{"_csrf": {csrfOf(t, form.body)}, "version": {"1"}, "requested_authority": {"ES"}, "title": {r.Title},
		"instrument": {"eaw"}, "purpose": {"Prosecution in Turin"}, "urgency": {"normal"},
		"persons[0].role": {"witness"}, "persons[0].name": {"Joy Aimiuwu"}, "persons[0].protected": {"yes"},
		"persons[1].role": {"suspect"}, "persons[1].name": {""}}
	b.post("/requests/"+r.ID+"/edit", values).must(t, 303)
	got, err := a.wf.Read(context.Background(), a.actor(t, "it.officer"), r.ID)
	if err != nil || got.Instrument != "eaw" || len(got.Persons) != 1 || !got.Persons[0].Protected || got.Persons[0].ID == "" {
		t.Fatalf("after the edit: %+v (%v), want the instrument and one protected witness", got, err)
	}
	// A person's id stays through an edit of the draft.
	form = b.get("/requests/"+r.ID+"/edit").must(t, 200).has(t, `value="`+got.Persons[0].ID+`"`, "Joy Aimiuwu")
	values.Set("_csrf", csrfOf(t, form.body))
	values.Set("version", "2")
	values.Set("persons[0].id", got.Persons[0].ID)
	values.Set("persons[0].location", "Turin")
	b.post("/requests/"+r.ID+"/edit", values).must(t, 303)
	again, _ := a.wf.Get(context.Background(), a.actor(t, "it.officer"), r.ID)
	if len(again.Persons) != 1 || again.Persons[0].ID != got.Persons[0].ID || again.Persons[0].Location != "Turin" {
		t.Errorf("the person after a second edit: %+v, want the same id with the location", again.Persons)
	}
	// Enforced completeness: the send is refused with what is missing.
	if _, err := a.wf.SetCompletenessPolicy(context.Background(), a.actor(t, "admin"), "IT", workflow.CompletenessEnforced); err != nil {
		t.Fatal(err)
	}
	sup := a.as(t, "it.supervisor")
	view := sup.get("/requests/"+r.ID).must(t, 200).has(t, "Your authority sends complete requests only")
	sup.post("/requests/"+r.ID+"/events/send", url.Values{"_csrf": {csrfOf(t, view.body)}, "version": {"3"}}).must(t, 422)
}

// csrfOf reads the CSRF token of a page's forms.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="_csrf" value="`)
	if !ok {
		t.Fatalf("no CSRF token in the page")
	}
	token, _, _ := strings.Cut(rest, `"`)
	return token
}

func TestAuthoritiesPage_completenessPolicy(t *testing.T) {
	a := newTestApp(t, testdb.SQLite)
	admin := a.as(t, "admin")
	page := admin.get("/authorities").must(t, 200).has(t, "Completeness of outgoing requests", "IT — Italy", `value="enforced"`)
	admin.post("/authorities/IT", url.Values{"_csrf": {csrfOf(t, page.body)}, "completeness_policy": {"strict"}}).must(t, 422)
	done := admin.post("/authorities/IT", url.Values{"_csrf": {csrfOf(t, page.body)}, "completeness_policy": {"enforced"}}).must(t, 303)
	admin.get(done.location).must(t, 200).has(t, "settings have been saved", `id="cp-IT-enforced" name="completeness_policy" value="enforced" checked`)
	list, err := a.wf.Authorities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, au := range list {
		if want := au.Code == "IT"; (au.CompletenessPolicy == workflow.CompletenessEnforced) != want {
			t.Errorf("%s is %s after the page enforced IT's policy", au.Code, au.CompletenessPolicy)
		}
	}
	a.as(t, "it.supervisor").get("/authorities").must(t, 403)
}
