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
	DueDate             string // YYYY-MM-DD, empty when none
	CreatedAt           time.Time
	UpdatedAt           time.Time
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
	DueDate            string
}

// Changes is an edit of a draft: nil fields stay as they are. A DueDate of
// "" clears it. Kind may be sent back unchanged (a client returning the
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
	DueDate            *string
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
	add(c.DueDate != nil, "due_date")
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
	if c.DueDate != nil {
		r.DueDate = *c.DueDate
	}
	return r
}

// validateContent checks the client-supplied content of a request, the same
// way for a new draft and for an edit. Whether the requested authority exists
// is checked by the service, which can ask the store.
func validateContent(r Request) fieldErrors {
	errs := fieldErrors{}
	if !r.Kind.Valid() {
		errs.add("kind", "must be one of: mla, extradition")
	}
	if r.RequestedAuthority == "" {
		errs.add("requested_authority", "is required")
	} else if r.RequestedAuthority == r.RequestingAuthority {
		errs.add("requested_authority", "must be another authority than your own")
	}
	title := strings.TrimSpace(r.Title)
	switch {
	case title == "":
		errs.add("title", "is required")
	case utf8.RuneCountInString(r.Title) > MaxTitle:
		errs.add("title", fmt.Sprintf("must be at most %d characters", MaxTitle))
	}
	checkText(errs, "summary", r.Summary, MaxSummary)
	checkText(errs, "legal_basis", r.LegalBasis, MaxLegalBasis)
	if len(r.Offences) > MaxOffences {
		errs.add("offences", fmt.Sprintf("must list at most %d offences", MaxOffences))
	}
	for _, o := range r.Offences {
		if strings.TrimSpace(o) == "" || utf8.RuneCountInString(o) > MaxOffence {
			errs.add("offences", fmt.Sprintf("each offence must be 1 to %d characters", MaxOffence))
		}
	}
	checkMeasures(errs, r.Kind, r.Measures)
	if !r.Urgency.Valid() {
		errs.add("urgency", "must be one of: normal, urgent")
	}
	if r.DueDate != "" {
		if _, err := time.Parse(time.DateOnly, r.DueDate); err != nil {
			errs.add("due_date", "must be a date as YYYY-MM-DD")
		}
	}
	return errs
}

func checkText(errs fieldErrors, field, value string, max int) {
	if utf8.RuneCountInString(value) > max {
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
}
