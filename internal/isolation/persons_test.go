package isolation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Persons concerned (CONTRACT.md section 5). Every fixture request names a
// suspect, and most a protected victim or witness too; every identifying
// field of each is a mark: a secret (name, aliases, nationality, location)
// or a date of birth of a year no other text holds. The protected person's
// secrets are of fields named protectedPrefix+..., so that the scan tells
// them apart: they may appear only in a disclosing answer (discloses), and
// every answer that shows them is counted, to be compared with the
// person.view entries the server wrote.

// fixturePerson is a person concerned of a fixture request, as written.
type fixturePerson struct {
	id          string // given by the server
	role        workflow.PersonRole
	name        string
	aliases     []string
	birth       string // YYYY-MM-DD
	nationality string
	location    string
	protected   bool
}

// protectedPrefix begins the field names of a protected person's secrets.
const protectedPrefix = "prot"

// hasProtected tells whether the request numbered n has a protected
// person: every fourth has none, and must write no person.view entry
// either.
func hasProtected(n int) bool { return n%4 != 0 }

// personsOf writes the persons of the request numbered n, every text a
// secret made by sec, and returns them as the workflow takes them.
func personsOf(n int, sec func(field string) string) ([]fixturePerson, []workflow.PersonConcerned) {
	people := []fixturePerson{{
		role: workflow.PersonSuspect, name: sec("name"), aliases: []string{sec("alias")},
		birth: birthDate(n, false), nationality: sec("nationality"), location: sec("whereabouts"),
	}}
	if hasProtected(n) {
		role := workflow.PersonWitness
		if n%2 == 0 {
			role = workflow.PersonVictim
		}
		p := func(field string) string { return sec(protectedPrefix + field) }
		people = append(people, fixturePerson{
			role: role, name: p("name"), aliases: []string{p("alias"), p("alias")},
			birth: birthDate(n, true), nationality: p("nationality"), location: p("location"), protected: true,
		})
	}
	out := make([]workflow.PersonConcerned, len(people))
	for i, p := range people {
		out[i] = workflow.PersonConcerned{Role: p.role, Name: p.name, Aliases: p.aliases, DateOfBirth: p.birth,
			Nationality: p.nationality, Location: p.location, Protected: p.protected}
	}
	return people, out
}

// birthDate is the date of birth of the request numbered n's protected
// person, or of its other one: the year tells the request.
func birthDate(n int, protected bool) string {
	if protected {
		return fmt.Sprintf("%d-11-23", 1900+n)
	}
	return fmt.Sprintf("%d-05-17", 1900+n)
}

// birthForms are the fixture's dates of birth as a date or as pages might
// write one: the text around the year, where the year stands (before or
// after it), and whether it is a protected person's.
var birthForms = []struct {
	text        string
	yearBefore  bool
	protectedOf bool
}{
	{"-05-17", true, false}, {"-11-23", true, true},
	{"17 May ", false, false}, {"May 17, ", false, false},
	{"23 November ", false, true}, {"November 23, ", false, true},
}

// findBirthDates finds the fixture's dates of birth in a text: a year of
// 1900 + the request's number, in one of birthForms. It searches for the
// forms' text, as a regular expression without a literal to start from
// would read every answer slowly.
func findBirthDates(text string) []mark {
	var out []mark
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	for _, f := range birthForms {
		for from := 0; ; {
			i := strings.Index(text[from:], f.text)
			if i < 0 {
				break
			}
			i += from
			from = i + len(f.text)
			start := from // where the year stands
			if f.yearBefore {
				start = i - 4
			}
			end := start + 4
			if start < 0 || end > len(text) || text[start:start+2] != "19" || !isDigit(text[start+2]) || !isDigit(text[start+3]) ||
				start > 0 && isDigit(text[start-1]) || end < len(text) && isDigit(text[end]) {
				continue
			}
			field := "birth"
			if f.protectedOf {
				field = protectedPrefix + "birth"
			}
			n := int(text[start+2]-'0')*10 + int(text[start+3]-'0')
			out = append(out, mark{n: n, field: field, text: text[min(i, start):max(from, end)]})
		}
	}
	return out
}

// mark is a piece of case content found in a text: the number of its
// request, the field it was written into, the text itself.
type mark struct {
	n     int
	field string
	text  string
}

// findMarks finds every secret and every date of birth of the fixture in
// a text.
func findMarks(text string) []mark {
	var out []mark
	for _, m := range secretMark.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, mark{n: n, field: m[2], text: m[0]})
	}
	return append(out, findBirthDates(text)...)
}

// discloses tells whether the answer to path through ep may show who r's
// protected persons are to a: the single-request answer about r, to those
// who may see them.
func (w *world) discloses(ep *endpoint, path string, a actor, r *fixtureRequest) bool {
	return slices.Contains(disclosingViews, ep.key()) && path == strings.Replace(ep.path, ":id", r.id, 1) && seesProtected(a, r)
}

// disclosed counts an answer to a that showed who r's protected persons
// are.
func (w *world) disclosed(a actor, r *fixtureRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.disclosures[a.name+" "+r.id]++
}

// disclosedTo is how many answers to a showed who r's protected persons
// are.
func (w *world) disclosedTo(a actor, r *fixtureRequest) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.disclosures[a.name+" "+r.id]
}

// disclosureCount is how many answers showed protected persons.
func (w *world) disclosureCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.disclosures {
		n += c
	}
	return n
}

// personsWant is r's persons as an answer must show them: each whole, but
// a protected one concealed unless the answer discloses it.
func personsWant(r *fixtureRequest, disclose bool) []map[string]any {
	out := []map[string]any{}
	for _, p := range r.persons {
		if p.protected && !disclose {
			out = append(out, map[string]any{"id": p.id, "role": p.role, "protected": true, "name": nil,
				"aliases": nil, "date_of_birth": nil, "nationality": nil, "location": nil})
			continue
		}
		out = append(out, map[string]any{"id": p.id, "role": p.role, "protected": p.protected, "name": p.name,
			"aliases": p.aliases, "date_of_birth": p.birth, "nationality": p.nationality, "location": p.location})
	}
	return out
}

// checkPersons compares the persons of an API answer about r with what
// the answer must show.
func (w *world) checkPersons(tb testing.TB, what string, r *fixtureRequest, got json.RawMessage, disclose bool) {
	tb.Helper()
	w.checks.Add(1)
	var list []map[string]any
	if err := json.Unmarshal(got, &list); err != nil {
		tb.Errorf("%s: persons of %s are not a list: %v: %s", what, r, err, short(got))
		return
	}
	gotJSON, _ := json.Marshal(list)
	wantJSON, _ := json.Marshal(personsWant(r, disclose))
	if string(gotJSON) != string(wantJSON) {
		how := "concealing the protected ones"
		if disclose {
			how = "disclosing the protected ones"
		}
		tb.Errorf("%s: persons of %s\n got %s\nwant %s (%s)", what, r, gotJSON, wantJSON, how)
	}
}

// checkPagePersons checks the persons on a request's page: the page need
// not show persons yet, but once it shows the unprotected ones, it shows
// the protected ones exactly to whom it may (the scan has checked that
// nobody else sees them).
func (w *world) checkPagePersons(tb testing.TB, what string, a actor, r *fixtureRequest, body []byte) {
	tb.Helper()
	w.checks.Add(1)
	shows := func(p fixturePerson) bool { return strings.Contains(string(body), p.name) }
	showsPersons := slices.ContainsFunc(r.persons, func(p fixturePerson) bool { return !p.protected && shows(p) })
	for _, p := range r.persons {
		switch {
		case !showsPersons:
		case !p.protected && !shows(p):
			tb.Errorf("%s: the page lacks the person %s (%s) of %s", what, p.name, p.role, r)
		case p.protected && seesProtected(a, r) && !shows(p):
			tb.Errorf("%s: the page shows the persons of %s but not the protected %s (%s), which this caller may see", what, r, p.name, p.role)
		}
	}
}

// checkDisclosureAudit compares the person.view entries of a about r with
// the answers to a that showed who r's protected persons are: one entry
// each, of a's authority, naming r's reference and the ids of its
// protected persons, never who they are.
func (w *world) checkDisclosureAudit(tb testing.TB, what string, a actor, r *fixtureRequest) {
	tb.Helper()
	w.checks.Add(1)
	entries, _, err := w.store.AuditEntries(context.Background(), workflow.AuditFilter{
		Action: "person.view", Actor: a.name, RequestID: r.id, Limit: workflow.MaxLimit})
	if err != nil {
		tb.Fatalf("read the person.view entries: %v", err)
	}
	if want := w.disclosedTo(a, r); len(entries) != want {
		tb.Errorf("%s: %d person.view entries of %s about %s, want %d: one for each answer that showed its protected persons",
			what, len(entries), a, r, want)
	}
	var protected []string
	for _, p := range r.persons {
		if p.protected {
			protected = append(protected, p.id)
		}
	}
	for _, e := range entries {
		var details map[string]any
		_ = json.Unmarshal([]byte(e.Details), &details)
		want := map[string]any{"reference": r.reference, "persons": protected}
		gotJSON, _ := json.Marshal(details)
		wantJSON, _ := json.Marshal(want)
		if e.Outcome != workflow.OutcomeOK || e.Authority != a.authority || string(gotJSON) != string(wantJSON) {
			tb.Errorf("%s: the person.view entry %d of %s about %s is %s by %q with details %s, want ok by %s with %s",
				what, e.Seq, a, r, e.Outcome, e.Authority, gotJSON, a.authority, wantJSON)
		}
	}
}

// testDisclosures compares, once every check has run, all the person.view
// entries of the log with all the answers that showed protected persons:
// one entry per such answer, and none for any other answer, whoever asked
// and whatever the endpoint.
func (w *world) testDisclosures(t *testing.T) {
	logged := map[string]int{}
	filter := workflow.AuditFilter{Action: "person.view", Limit: workflow.MaxLimit}
	for {
		entries, next, err := w.store.AuditEntries(context.Background(), filter)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			logged[e.Actor+" "+e.RequestID]++
		}
		if next == "" {
			break
		}
		filter.Cursor = next
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.disclosures) == 0 {
		t.Fatalf("no answer showed a protected person: the disclosure checks proved nothing")
	}
	for key, n := range logged {
		w.checks.Add(1)
		if w.disclosures[key] != n {
			t.Errorf("person.view of %s: %d entries, want %d: one for each answer that showed its protected persons", key, n, w.disclosures[key])
		}
	}
	for key, n := range w.disclosures {
		w.checks.Add(1)
		if logged[key] == 0 {
			t.Errorf("person.view of %s: no entry for %d answers that showed its protected persons", key, n)
		}
	}
}

// testChanges makes the changes that the walk refuses, on a request of its
// own with persons, one protected: drafting, editing, sending,
// acknowledging with the requested side's reference, extending a deadline,
// postponing, resuming, and an event on the pages. Each answer conceals the
// protected person (CONTRACT.md section 5: only the single-request answer
// discloses one), which the scan checks too; the single-request answers
// afterwards disclose it to the officers and supervisors of the two sides,
// and to nobody else.
func (w *world) testChanges(t *testing.T) {
	r := &fixtureRequest{n: len(w.requests) + 1, kind: workflow.KindMLA, state: "drafted", requesting: requesting, requested: requested}
	w.requests = append(w.requests, r) // before its secrets appear in answers
	sec := func(field string) string {
		s := newSecret(r.n, field)
		r.secrets = append(r.secrets, s)
		return s
	}
	r.title, r.summary = sec("title"), sec("summary")
	var persons []map[string]any
	r.persons, _ = personsOf(r.n, sec)
	for _, p := range r.persons {
		persons = append(persons, map[string]any{"role": p.role, "name": p.name, "aliases": p.aliases,
			"date_of_birth": p.birth, "nationality": p.nationality, "location": p.location, "protected": p.protected})
	}
	if !slices.ContainsFunc(r.persons, func(p fixturePerson) bool { return p.protected }) {
		t.Fatalf("%s has no protected person", r)
	}
	events := w.eps.get(t, "POST /api/v1/requests/:id/events")
	// change sends one change as who, wants want, and checks that the
	// answer conceals the protected person.
	change := func(who, key, path string, body map[string]any, want int) {
		t.Helper()
		s := w.sessions[who]
		what := key + " as " + s.a.String() + " on " + r.String()
		if key != "POST /api/v1/requests" {
			body["version"] = r.version
		}
		ans := w.do(t, s, call{ep: w.eps.get(t, key), path: path, json: body})
		w.checkAnswer(t, what, ans, want)
		var got struct {
			ID, Reference, State string
			Version              int
			Persons              json.RawMessage
		}
		if ans.status != want || !decode(t, what, ans, &got) {
			t.FailNow()
		}
		if r.id == "" {
			var ids []struct{ ID string }
			_ = json.Unmarshal(got.Persons, &ids)
			for i := range r.persons {
				if i < len(ids) {
					r.persons[i].id = ids[i].ID
				}
			}
			r.id, r.reference = got.ID, got.Reference
		}
		r.state, r.version = workflow.State(got.State), got.Version
		w.checkPersons(t, what, r, got.Persons, false)
	}
	fire := func(who string, ev workflow.Event, body map[string]any) {
		t.Helper()
		body["event"] = ev
		change(who, events.key(), "/api/v1/requests/"+r.id+"/events", body, http.StatusOK)
		r.events = append(r.events, ev)
	}
	change("it.officer", "POST /api/v1/requests", "/api/v1/requests", map[string]any{
		"kind": r.kind, "requested_authority": r.requested, "title": r.title, "summary": r.summary,
		"instrument": "bilateral", "purpose": sec("purpose"), "persons": persons,
	}, http.StatusCreated)
	change("it.officer", "PATCH /api/v1/requests/:id", "/api/v1/requests/"+r.id, map[string]any{"purpose": sec("purpose")}, http.StatusOK)
	fire("it.supervisor", "send", map[string]any{})
	r.requestedRef = fmt.Sprintf("%s/%02d/%s", r.requested, r.n, workflow.NewID()[20:])
	fire("es.officer", "acknowledge", map[string]any{"comment": sec("comment"), "reference": r.requestedRef})
	change("es.supervisor", "POST /api/v1/requests/:id/deadlines/:kind/extensions", "/api/v1/requests/"+r.id+"/deadlines/execution/extensions",
		map[string]any{"days": 10, "reason": sec("extension")}, http.StatusOK)
	fire("es.supervisor", "postpone", map[string]any{"comment": sec("comment")})
	fire("es.officer", "resume", map[string]any{})

	// On the pages, an event answers with a redirect; the history of the
	// API shows no persons at all (the scan checks both).
	page := w.eps.get(t, "POST /requests/:id/events/:event")
	ans := w.do(t, w.sessions["es.officer"], call{ep: page, path: "/requests/" + r.id + "/events/request_info",
		form: map[string][]string{"comment": {sec("comment")}, "version": {strconv.Itoa(r.version)}}})
	w.checkAnswer(t, page.key()+" as es.officer on "+r.String(), ans, http.StatusSeeOther)
	r.state, r.version = "info_requested", r.version+1
	history := w.eps.get(t, "GET /api/v1/requests/:id/history")
	w.checkAnswer(t, history.key()+" as it.officer on "+r.String(),
		w.do(t, w.sessions["it.officer"], call{ep: history, path: "/api/v1/requests/" + r.id + "/history"}), http.StatusOK)

	// The single-request answers, API and page, to every actor.
	for _, key := range disclosingViews {
		ep := w.eps.get(t, key)
		for _, a := range actors {
			w.perRequestOne(t, w.sessions[a.name], ep, readOps[key], r)
		}
	}
}
