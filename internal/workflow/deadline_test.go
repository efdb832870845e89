package workflow

import (
	"testing"
	"time"
)

// testCatalog is a catalog of two instruments with the EIO's and the EAW's
// rules, as config/instruments.yaml states them (internal/law's test checks
// the file itself).
func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := NewCatalog([]Instrument{
		{Code: "eio", Label: "EIO", Kinds: []Kind{KindMLA}, Grounds: []string{"ne_bis_in_idem", "territoriality"},
			Deadlines: []DeadlineRule{
				{Kind: "acknowledgement", Days: 7, StartsOn: "send", MetBy: []Event{EventAcknowledge, EventRefuse}, Side: SideRequested, Basis: "EIO 16(1)"},
				{Kind: "decision", Days: 30, ExtendableDays: 30, StartsOn: "send", MetBy: []Event{EventAcknowledge, EventRefuse}, Side: SideRequested, StopsWhileInfoRequested: true, Basis: "EIO 12(3)"},
				{Kind: "execution", Days: 90, StartsOn: "acknowledge", MetBy: []Event{EventExecute}, Side: SideRequested, StopsWhileInfoRequested: true, Basis: "EIO 12(4)"},
			}},
		{Code: "eaw", Label: "EAW", Kinds: []Kind{KindExtradition}, Grounds: []string{"resident_serving_sentence"},
			Deadlines: []DeadlineRule{
				{Kind: "decision", Days: 60, ConsentDays: 10, ExtendableDays: 30, StartsOn: "acknowledge", MetBy: []Event{EventExecute, EventRefuse, EventPostpone}, Side: SideRequested, Basis: "EAW 17"},
				{Kind: "surrender", Days: 10, StartsOn: "decision", MetBy: []Event{EventExecute}, Side: SideRequested, Basis: "EAW 23(2)"},
			}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var day0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func days(n float64) time.Time { return day0.Add(time.Duration(n * float64(24*time.Hour))) }

// run folds the events, each at its time, into r's deadlines as Fire does.
func run(c *Catalog, r Request, steps ...struct {
	ev Event
	at time.Time
}) Request {
	for _, s := range steps {
		t, _ := Lookup(s.ev)
		h := HistoryEntry{Event: s.ev, From: r.State, To: t.To, At: s.at}
		r.State = t.To
		r.Deadlines = c.AdvanceDeadlines(r, h, false)
	}
	return r
}

type step = struct {
	ev Event
	at time.Time
}

func statusOf(t *testing.T, r Request, kind string, now time.Time) Deadline {
	t.Helper()
	for _, d := range r.DeadlinesAt(now) {
		if d.Kind == kind {
			return d
		}
	}
	t.Fatalf("no deadline %s in %+v", kind, r.Deadlines)
	return Deadline{}
}

func TestDeadlines_EIO(t *testing.T) {
	c := testCatalog(t)
	r := Request{Kind: KindMLA, Instrument: "eio", State: StateDrafted}
	r = run(c, r, step{EventSend, days(0)})
	if got := statusOf(t, r, "acknowledgement", days(3)); got.Status != DeadlineRunning || !got.DueAt.Equal(days(7)) {
		t.Fatalf("acknowledgement after 3 days: %+v", got)
	}
	if got := statusOf(t, r, "acknowledgement", days(8)); got.Status != DeadlineOverdue {
		t.Fatalf("acknowledgement after 8 days: %s, want overdue", got.Status)
	}
	r = run(c, r, step{EventAcknowledge, days(9)})
	if got := statusOf(t, r, "acknowledgement", days(10)); got.Status != DeadlineMissed {
		t.Errorf("acknowledged on day 9: %s, want missed", got.Status)
	}
	if got := statusOf(t, r, "decision", days(10)); got.Status != DeadlineMet {
		t.Errorf("decision on day 9: %s, want met", got.Status)
	}
	// Execution: 90 days from the acknowledgement, the clock stopped for
	// the 10 days the information was awaited, and for the 5 postponed.
	r = run(c, r, step{EventRequestInfo, days(20)}, step{EventProvideInfo, days(30)},
		step{EventPostpone, days(40)})
	exec := statusOf(t, r, "execution", days(43))
	if !exec.Paused || exec.Status != DeadlineRunning || !exec.DueAt.Equal(days(9+90+10+3)) {
		t.Fatalf("execution while postponed: %+v, want paused, due on day 112", exec)
	}
	if _, ok := r.NextDue(); ok {
		t.Error("a postponed request has a next due time; its clocks stand")
	}
	r = run(c, r, step{EventResume, days(45)})
	if exec := statusOf(t, r, "execution", days(50)); exec.Paused || !exec.DueAt.Equal(days(9+90+10+5)) {
		t.Fatalf("execution after resuming: %+v, want due on day 114", exec)
	}
	if next, ok := r.NextDue(); !ok || !next.Equal(days(114)) {
		t.Errorf("next due %v %v, want day 114", next, ok)
	}
	r = run(c, r, step{EventExecute, days(100)})
	if exec := statusOf(t, r, "execution", days(200)); exec.Status != DeadlineMet {
		t.Errorf("executed on day 100: %s, want met", exec.Status)
	}
}

func TestDeadlines_stoppedByTheEnd(t *testing.T) {
	c := testCatalog(t)
	r := run(c, Request{Kind: KindMLA, Instrument: "eio", State: StateDrafted, DueDate: "2026-04-01"},
		step{EventSend, days(0)}, step{EventAcknowledge, days(2)}, step{EventWithdraw, days(5)})
	for _, kind := range []string{"execution", DeadlineRequestedBy} {
		if got := statusOf(t, r, kind, days(100)); got.Status != DeadlineStopped {
			t.Errorf("%s of a withdrawn request: %s, want stopped", kind, got.Status)
		}
	}
	if got := statusOf(t, r, DeadlineRequestedBy, days(1)); !got.DueAt.Equal(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("requested_by due %v, want the end of 1 April", got.DueAt)
	}
}

func TestDeadlines_EAWConsentAndSurrender(t *testing.T) {
	c := testCatalog(t)
	r := Request{Kind: KindExtradition, Instrument: "eaw", State: StateSent}
	h := HistoryEntry{Event: EventAcknowledge, From: StateSent, To: StateAcknowledged, At: days(0)}
	r.State = StateAcknowledged
	r.Deadlines = c.AdvanceDeadlines(r, h, true)
	if got := statusOf(t, r, "decision", days(1)); !got.DueAt.Equal(days(10)) {
		t.Fatalf("decision with consent due %v, want day 10", got.DueAt)
	}
	// A postponed surrender (EAW Art. 24) is a decision taken: the
	// surrender deadline starts, with its clock stopped until resumed.
	r = run(c, r, step{EventPostpone, days(5)})
	if got := statusOf(t, r, "decision", days(6)); got.Status != DeadlineMet {
		t.Errorf("decision: %s, want met by the postponement", got.Status)
	}
	r = run(c, r, step{EventResume, days(40)})
	if got := statusOf(t, r, "surrender", days(41)); !got.DueAt.Equal(days(50)) || got.Status != DeadlineRunning {
		t.Errorf("surrender %+v, want running, due on day 50", got)
	}
}

func TestExtendDeadline(t *testing.T) {
	c := testCatalog(t)
	r := run(c, Request{Kind: KindMLA, Instrument: "eio", State: StateDrafted}, step{EventSend, days(0)})
	rule, _ := c.rule(r, "decision")
	ext := Extension{Days: 20, Reason: "the court sits on 20 April", Actor: "es.supervisor", At: days(10)}
	tracks, err := extendDeadline(r, rule, "decision", ext)
	if err != nil {
		t.Fatal(err)
	}
	r.Deadlines = tracks
	if got := statusOf(t, r, "decision", days(11)); !got.DueAt.Equal(days(50)) || len(got.Extensions) != 1 {
		t.Fatalf("extended decision %+v, want due on day 50 with one extension", got)
	}
	for name, tc := range map[string]struct {
		kind  string
		e     Extension
		field string
	}{
		"beyond what is left": {"decision", Extension{Days: 11, Reason: "more"}, "days"},
		"without a reason":    {"decision", Extension{Days: 1, Reason: "  "}, "reason"},
		"not extendable":      {"acknowledgement", Extension{Days: 1, Reason: "r"}, "days"},
		"no days":             {"decision", Extension{Days: 0, Reason: "r"}, "days"},
	} {
		rule, _ := c.rule(r, tc.kind)
		_, err := extendDeadline(r, rule, tc.kind, tc.e)
		if e, ok := err.(*Error); !ok || e.Code != ErrValidation || e.Fields[tc.field] == "" {
			t.Errorf("%s: %v, want validation_failed on %s", name, err, tc.field)
		}
	}
	if _, err := extendDeadline(r, rule, "execution", ext); ErrorCode(err) != ErrNotFound {
		t.Errorf("a deadline not started: %v, want not_found", err)
	}
}

// TestDeadlines_foldOfHistory checks that the tracks a request carries are
// the fold of its history: the same whether folded one transition at a
// time, as Fire does, or all at once later.
func TestDeadlines_foldOfHistory(t *testing.T) {
	c := testCatalog(t)
	steps := []step{{EventSend, days(0)}, {EventAcknowledge, days(3)}, {EventRequestInfo, days(4)},
		{EventProvideInfo, days(9)}, {EventPostpone, days(10)}, {EventResume, days(12)}, {EventExecute, days(60)}}
	base := Request{Kind: KindMLA, Instrument: "eio", State: StateDrafted, DueDate: "2026-05-01"}
	once := run(c, base, steps...)
	stepwise := base
	for _, s := range steps {
		stepwise = run(c, stepwise, s)
	}
	a, b := once.DeadlinesAt(days(100)), stepwise.DeadlinesAt(days(100))
	if len(a) != 4 || len(a) != len(b) {
		t.Fatalf("%d and %d deadlines, want 4", len(a), len(b))
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].Status != b[i].Status || !a[i].DueAt.Equal(b[i].DueAt) {
			t.Errorf("%+v != %+v", a[i], b[i])
		}
	}
}

func TestCompleteness(t *testing.T) {
	now := days(0)
	r := Request{Kind: KindExtradition, Urgency: UrgencyUrgent, DueDate: "2026-03-01"}
	got := r.CompletenessAt(now)
	want := []string{"summary", "offences", "legal_basis", "purpose", "urgency_reason", "due_date", "person_sought", "warrant"}
	if got.Complete || len(got.Missing) != len(want) {
		t.Fatalf("missing %+v, want %v", got.Missing, want)
	}
	for i, m := range got.Missing {
		if m.Field != want[i] || m.Reason == "" {
			t.Errorf("missing[%d] = %+v, want %s with a reason", i, m, want[i])
		}
	}
	r = Request{Kind: KindMLA, Summary: "s", Offences: []string{"trafficking"}, Instrument: "untoc",
		Measures: []string{"bank_records"}, Purpose: "p", Urgency: UrgencyNormal,
		Persons: []PersonConcerned{{Role: PersonSuspect, Name: "X", Nationality: "NG", Location: "Turin"}}}
	if got := r.CompletenessAt(now); !got.Complete {
		t.Errorf("a complete request lacks %+v", got.Missing)
	}
}

func TestValidatePayload_groundsOfTheInstrument(t *testing.T) {
	s := &Service{instruments: testCatalog(t)}
	refuse, _ := Lookup(EventRefuse)
	r := Request{Kind: KindMLA, Instrument: "eio"}
	if err := s.validatePayload(refuse, r, EventInput{Grounds: []string{"territoriality"}}); err != nil {
		t.Errorf("a ground the EIO admits: %v", err)
	}
	if err := s.validatePayload(refuse, r, EventInput{Grounds: []string{"dual_criminality"}}); err == nil {
		t.Error("a ground the test EIO does not admit was accepted")
	}
	r.Instrument = ""
	if err := s.validatePayload(refuse, r, EventInput{Grounds: []string{"dual_criminality"}}); err != nil {
		t.Errorf("without an instrument every ground of the kind: %v", err)
	}
	ack, _ := Lookup(EventAcknowledge)
	if err := s.validatePayload(ack, Request{Kind: KindMLA}, EventInput{Consent: true}); err == nil {
		t.Error("consent to surrender accepted on an mla request")
	}
}

func TestValidateContent_implausible(t *testing.T) {
	today := days(0)
	all := func(string) bool { return true }
	r := Request{Kind: KindExtradition, RequestingAuthority: "IT", RequestedAuthority: "ES", Title: "t", Urgency: UrgencyNormal,
		DueDate: "2026-03-01", PersonSought: &Person{Name: "X", DateOfBirth: "2030-01-01"},
		Warrant: &Warrant{Type: WarrantArrest, IssuedOn: "2027-01-01"},
		Persons: []PersonConcerned{{Role: "bystander", Name: "", DateOfBirth: "1850-01-01"}}}
	errs := validateContent(r, today, all)
	for _, f := range []string{"due_date", "person_sought.date_of_birth", "warrant.issued_on", "persons[0].role",
		"persons[0].name", "persons[0].date_of_birth"} {
		if errs[f] == "" {
			t.Errorf("no problem with %s in %v", f, errs)
		}
	}
	// A past due date that the edit does not set is not the edit's fault.
	if errs := validateContent(r, today, func(f string) bool { return f != "due_date" }); errs["due_date"] != "" {
		t.Errorf("an edit of other fields refused for the old due date: %v", errs)
	}
}
