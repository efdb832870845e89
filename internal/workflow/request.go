package workflow

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Request is a mutual legal assistance or extradition request between a
// requesting and a requested central authority.
type Request struct {
	ID                  string
	Reference           string // e.g. IT-MLA-2026-000042
	Kind                Kind
	State               State
	Version             int // incremented by every change; optimistic concurrency
	RequestingAuthority string
	RequestedAuthority  string
	Title               string
	Summary             string
	LegalBasis          string
	Offences            []string
	Measures            []string // codes from Measures
	Urgency             Urgency
	UrgencyReason       string
	DueDate             string // YYYY-MM-DD, empty when none
	// PersonSought and Warrant are what an extradition request is about:
	// whom to surrender, on the strength of which decision (ECE Art. 12).
	// Nil on MLA requests and on extradition drafts not yet completed.
	PersonSought *Person
	Warrant      *Warrant
	// Instrument is the code of the legal instrument the request rests on
	// (Catalog), "" when none is named.
	Instrument string
	Purpose    string // why the assistance is sought (UNTOC Art. 18(15)(f))
	// RequestedReference is the requested authority's own reference, given
	// when it acknowledges the request.
	RequestedReference string
	Persons            []PersonConcerned
	// Deadlines are the request's time limits as its history has run them
	// (see deadline.go); the service keeps them, clients only read them.
	Deadlines []DeadlineTrack
	// CreatedBy is the username of who drafted it ("" on requests drafted
	// before it was kept).
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SideOf tells which side of r the authority code plays.
func (r Request) SideOf(authority string) Side {
	switch {
	case authority == "":
		return SideNone
	case authority == r.RequestingAuthority:
		return SideRequesting
	case authority == r.RequestedAuthority:
		return SideRequested
	}
	return SideNone
}

// Person is the person an extradition request seeks.
type Person struct {
	Name        string
	Aliases     []string
	DateOfBirth string // YYYY-MM-DD
	Nationality string
	Description string
	Location    string // where the person is believed to be
}

// IsZero reports whether nothing about the person is known.
func (p Person) IsZero() bool {
	return p.Name == "" && len(p.Aliases) == 0 && p.DateOfBirth == "" && p.Nationality == "" &&
		p.Description == "" && p.Location == ""
}

// Warrant is the decision an extradition request rests on: an arrest
// warrant for prosecution, or an enforceable judgment for a sentence.
type Warrant struct {
	Type      string // WarrantArrest or WarrantJudgment
	Reference string
	IssuedBy  string
	IssuedOn  string // YYYY-MM-DD
}

// IsZero reports whether nothing about the warrant is known.
func (w Warrant) IsZero() bool { return w == Warrant{} }

// The types of warrant.
const (
	WarrantArrest   = "arrest_warrant"
	WarrantJudgment = "judgment"
)

// Limits on what a client may send. They keep rows, audit details and pages
// bounded; they are checked here, once, for the API and the web pages alike.
const (
	MaxTitle      = 200
	MaxSummary    = 20000
	MaxLegalBasis = 2000
	MaxOffences   = 50
	MaxOffence    = 500
	MaxMeasures   = 30
	MaxComment    = 20000
	MaxGrounds    = 20
	MaxDelivered  = 100 // documents one delivery hands over
	MaxShortText  = 200 // names, references, nationalities, reasons
	MaxAliases    = 10
)

// Draft is the content of a new request.
type Draft struct {
	Kind               Kind
	RequestedAuthority string
	Title              string
	Summary            string
	LegalBasis         string
	Offences           []string
	Measures           []string
	Urgency            Urgency // normal when empty
	UrgencyReason      string
	DueDate            string
	PersonSought       *Person
	Warrant            *Warrant
	Instrument         string
	Purpose            string
	Persons            []PersonConcerned
}

// Changes is an edit of a draft: nil fields stay as they are. A DueDate of
// "" clears it, and so does a pointer to a zero Person or Warrant. Kind may be sent back unchanged (a client returning the
// whole object) but never changed: it is part of the reference, and a
// request of the other kind is a new request.
type Changes struct {
	Kind               *Kind
	RequestedAuthority *string
	Title              *string
	Summary            *string
	LegalBasis         *string
	Offences           *[]string
	Measures           *[]string
	Urgency            *Urgency
	UrgencyReason      *string
	DueDate            *string
	PersonSought       *Person
	Warrant            *Warrant
	Instrument         *string // "" names none
	Purpose            *string
	Persons            *[]PersonConcerned // the whole list; persons keep their ids
}

// Empty reports whether the edit changes nothing.
func (c Changes) Empty() bool { return len(c.fieldNames()) == 0 }

// fieldNames lists the fields the edit sets, in the API's names.
func (c Changes) fieldNames() []string {
	var names []string
	add := func(set bool, name string) {
		if set {
			names = append(names, name)
		}
	}
	add(c.RequestedAuthority != nil, "requested_authority")
	add(c.Title != nil, "title")
	add(c.Summary != nil, "summary")
	add(c.LegalBasis != nil, "legal_basis")
	add(c.Offences != nil, "offences")
	add(c.Measures != nil, "measures")
	add(c.Urgency != nil, "urgency")
	add(c.UrgencyReason != nil, "urgency_reason")
	add(c.DueDate != nil, "due_date")
	add(c.PersonSought != nil, "person_sought")
	add(c.Warrant != nil, "warrant")
	add(c.Instrument != nil, "instrument")
	add(c.Purpose != nil, "purpose")
	add(c.Persons != nil, "persons")
	return names
}

// apply returns r with the changes made.
func (c Changes) apply(r Request) Request {
	if c.RequestedAuthority != nil {
		r.RequestedAuthority = *c.RequestedAuthority
	}
	if c.Title != nil {
		r.Title = *c.Title
	}
	if c.Summary != nil {
		r.Summary = *c.Summary
	}
	if c.LegalBasis != nil {
		r.LegalBasis = *c.LegalBasis
	}
	if c.Offences != nil {
		r.Offences = *c.Offences
	}
	if c.Measures != nil {
		r.Measures = *c.Measures
	}
	if c.Urgency != nil {
		r.Urgency = *c.Urgency
	}
	if c.UrgencyReason != nil {
		r.UrgencyReason = *c.UrgencyReason
	}
	if c.DueDate != nil {
		r.DueDate = *c.DueDate
	}
	if c.PersonSought != nil {
		r.PersonSought = nonZero(c.PersonSought)
	}
	if c.Warrant != nil {
		r.Warrant = nonZero(c.Warrant)
	}
	if c.Instrument != nil {
		r.Instrument = *c.Instrument
	}
	if c.Purpose != nil {
		r.Purpose = *c.Purpose
	}
	if c.Persons != nil {
		r.Persons = *c.Persons
	}
	return r
}

// validateContent checks the client-supplied content of a request, the same
// way for a new draft and for an edit. Whether the requested authority exists
// and the instrument is known are checked by the service, which can ask the
// store and the catalog. today is the date on the request's clock: a due
// date that set (for a new draft, or by the edit) must not have passed, and
// no person can be born nor a warrant issued after it.
func validateContent(r Request, today time.Time, set func(field string) bool) fieldErrors {
	errs := fieldErrors{}
	if !r.Kind.Valid() {
		errs.add("kind", "must be one of: mla, extradition")
	}
	switch {
	case r.RequestedAuthority == "":
		errs.add("requested_authority", "is required")
	case TextProblem(r.RequestedAuthority) != "":
		errs.add("requested_authority", TextProblem(r.RequestedAuthority))
	case r.RequestedAuthority == r.RequestingAuthority:
		errs.add("requested_authority", "must be another authority than your own")
	}
	if strings.TrimSpace(r.Title) == "" {
		errs.add("title", "is required")
	}
	checkText(errs, "title", r.Title, MaxTitle)
	checkText(errs, "summary", r.Summary, MaxSummary)
	checkText(errs, "legal_basis", r.LegalBasis, MaxLegalBasis)
	if len(r.Offences) > MaxOffences {
		errs.add("offences", fmt.Sprintf("must list at most %d offences", MaxOffences))
	}
	for _, o := range r.Offences {
		if strings.TrimSpace(o) == "" || utf8.RuneCountInString(o) > MaxOffence {
			errs.add("offences", fmt.Sprintf("each offence must be 1 to %d characters", MaxOffence))
		}
		checkText(errs, "offences", o, MaxOffence)
	}
	checkMeasures(errs, r.Kind, r.Measures)
	if !r.Urgency.Valid() {
		errs.add("urgency", "must be one of: normal, urgent")
	}
	checkText(errs, "urgency_reason", r.UrgencyReason, MaxLegalBasis)
	checkDate(errs, "due_date", r.DueDate)
	if d, err := time.Parse(time.DateOnly, r.DueDate); err == nil && set("due_date") && d.Before(dateOf(today)) {
		errs.add("due_date", "is in the past; give the date by which the assistance is still needed")
	}
	checkPerson(errs, r.Kind, r.PersonSought, today)
	checkWarrant(errs, r.Kind, r.Warrant, today)
	checkText(errs, "purpose", r.Purpose, MaxLegalBasis)
	checkText(errs, "instrument", r.Instrument, MaxShortText)
	checkPersons(errs, r.Persons, today)
	return errs
}

// dateOf is the date of t, at midnight UTC.
func dateOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// earliestBirth is the earliest date of birth that is plausible.
var earliestBirth = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// checkBirthDate checks a date of birth: a date, not after today, not before
// 1900.
func checkBirthDate(errs fieldErrors, field, value string, today time.Time) {
	checkDate(errs, field, value)
	if d, err := time.Parse(time.DateOnly, value); err == nil {
		switch {
		case d.After(dateOf(today)):
			errs.add(field, "is in the future")
		case d.Before(earliestBirth):
			errs.add(field, "is before 1900")
		}
	}
}

func checkDate(errs fieldErrors, field, value string) {
	if value == "" {
		return
	}
	if _, err := time.Parse(time.DateOnly, value); err != nil {
		errs.add(field, "must be a date as YYYY-MM-DD")
	}
}

func checkPerson(errs fieldErrors, k Kind, p *Person, today time.Time) {
	if p == nil {
		return
	}
	if k != KindExtradition {
		errs.add("person_sought", "applies to extradition requests only")
		return
	}
	if strings.TrimSpace(p.Name) == "" {
		errs.add("person_sought.name", "is required")
	}
	checkText(errs, "person_sought.name", p.Name, MaxShortText)
	if len(p.Aliases) > MaxAliases {
		errs.add("person_sought.aliases", fmt.Sprintf("must list at most %d aliases", MaxAliases))
	}
	for _, a := range p.Aliases {
		if strings.TrimSpace(a) == "" || utf8.RuneCountInString(a) > MaxShortText {
			errs.add("person_sought.aliases", fmt.Sprintf("each alias must be 1 to %d characters", MaxShortText))
		}
		checkText(errs, "person_sought.aliases", a, MaxShortText)
	}
	checkBirthDate(errs, "person_sought.date_of_birth", p.DateOfBirth, today)
	checkText(errs, "person_sought.nationality", p.Nationality, MaxShortText)
	checkText(errs, "person_sought.description", p.Description, MaxLegalBasis)
	checkText(errs, "person_sought.location", p.Location, MaxLegalBasis)
}

func checkWarrant(errs fieldErrors, k Kind, w *Warrant, today time.Time) {
	if w == nil {
		return
	}
	if k != KindExtradition {
		errs.add("warrant", "applies to extradition requests only")
		return
	}
	if w.Type != WarrantArrest && w.Type != WarrantJudgment {
		errs.add("warrant.type", "must be one of: arrest_warrant, judgment")
	}
	checkText(errs, "warrant.reference", w.Reference, MaxShortText)
	checkText(errs, "warrant.issued_by", w.IssuedBy, MaxShortText)
	checkDate(errs, "warrant.issued_on", w.IssuedOn)
	if d, err := time.Parse(time.DateOnly, w.IssuedOn); err == nil && d.After(dateOf(today)) {
		errs.add("warrant.issued_on", "is in the future")
	}
}

// nonZero returns nil for a zero value, so that "clear it" is stored as
// absence.
func nonZero[T interface{ IsZero() bool }](v *T) *T {
	if v == nil || (*v).IsZero() {
		return nil
	}
	c := *v
	return &c
}

// checkText checks a free text: acceptable text (TextProblem) of at most
// max characters.
func checkText(errs fieldErrors, field, value string, max int) {
	if p := TextProblem(value); p != "" {
		errs.add(field, p)
	} else if utf8.RuneCountInString(value) > max {
		errs.add(field, fmt.Sprintf("must be at most %d characters", max))
	}
}

func checkMeasures(errs fieldErrors, k Kind, measures []string) {
	if len(measures) == 0 {
		return
	}
	if k == KindExtradition {
		errs.add("measures", "apply to mla requests only")
		return
	}
	if len(measures) > MaxMeasures {
		errs.add("measures", fmt.Sprintf("must list at most %d measures", MaxMeasures))
		return
	}
	seen := map[string]bool{}
	for _, m := range measures {
		switch {
		case !knownMeasure(m):
			errs.add("measures", fmt.Sprintf("unknown measure %q", truncate(m, 40)))
		case seen[m]:
			errs.add("measures", fmt.Sprintf("measure %q is listed twice", m))
		}
		seen[m] = true
	}
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// HistoryEntry is one transition of a request, as its timeline shows it.
type HistoryEntry struct {
	RequestID string
	Event     Event
	From      State
	To        State
	Actor     string // username
	Authority string // the actor's authority code
	At        time.Time
	Comment   string
	Grounds   []string
	// Documents are the ids of the evidence a delivery handed over
	// (CONTRACT 6: execution in part); empty for every other event.
	Documents []string
}
