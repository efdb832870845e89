package workflow

import (
	"strings"
	"time"
)

// Completeness tells whether a request holds what UNTOC Art. 18(15) asks
// of a request and what its kind needs (an extradition: the person sought
// and the warrant), and what is missing. Deficient requests bounce back
// from the requested state; the draft page shows this as a checklist, and
// an authority may refuse to send an incomplete request (its
// CompletenessPolicy).
type Completeness struct {
	Complete bool
	Missing  []Missing
}

// Missing is one thing a request lacks, and why it needs it.
type Missing struct {
	Field  string
	Reason string
}

// CompletenessPolicy is what an authority does with an incomplete request
// of its own: advise (the default), or refuse to send it.
type CompletenessPolicy string

// The completeness policies.
const (
	CompletenessAdvisory CompletenessPolicy = "advisory"
	CompletenessEnforced CompletenessPolicy = "enforced"
)

// Valid reports whether p is a known policy.
func (p CompletenessPolicy) Valid() bool {
	return p == CompletenessAdvisory || p == CompletenessEnforced
}

// CheckItem is one item of the completeness checklist: the field, what it
// must hold and on what basis.
type CheckItem struct {
	Field  string
	Label  string
	Reason string
	// Applies tells whether the item applies to a request; nil for all.
	applies func(Request) bool
	// present tells whether the request holds it.
	present func(Request, time.Time) bool
}

// Applies reports whether the item applies to r.
func (c CheckItem) Applies(r Request) bool { return c.applies == nil || c.applies(r) }

func isExtradition(r Request) bool { return r.Kind == KindExtradition }
func isMLA(r Request) bool         { return r.Kind == KindMLA }
func filled(s string) bool         { return strings.TrimSpace(s) != "" }

// Checklist is what a complete request holds, in the order of UNTOC Art.
// 18(15) and then the kind's needs; the pages show it in this order.
var Checklist = []CheckItem{
	{Field: "summary", Label: "Summary of the facts",
		Reason:  "a summary of the relevant facts is required (UNTOC Art. 18(15)(d))",
		present: func(r Request, _ time.Time) bool { return filled(r.Summary) }},
	{Field: "offences", Label: "Offences",
		Reason:  "the subject matter and nature of the investigation or proceedings is required (UNTOC Art. 18(15)(b))",
		present: func(r Request, _ time.Time) bool { return len(r.Offences) > 0 }},
	{Field: "legal_basis", Label: "Legal basis",
		Reason:  "name the instrument or the legal basis the request rests on",
		present: func(r Request, _ time.Time) bool { return r.Instrument != "" || filled(r.LegalBasis) }},
	{Field: "measures", Label: "Assistance sought", applies: isMLA,
		Reason:  "a description of the assistance sought is required (UNTOC Art. 18(15)(c))",
		present: func(r Request, _ time.Time) bool { return len(r.Measures) > 0 }},
	{Field: "purpose", Label: "Purpose",
		Reason:  "the purpose for which the evidence, information or action is sought is required (UNTOC Art. 18(15)(f))",
		present: func(r Request, _ time.Time) bool { return filled(r.Purpose) }},
	{Field: "persons", Label: "Persons concerned: location and nationality",
		Reason: "where possible, the identity, location and nationality of each person concerned (UNTOC Art. 18(15)(e))",
		present: func(r Request, _ time.Time) bool {
			for _, p := range r.Persons {
				if !filled(p.Location) || !filled(p.Nationality) {
					return false
				}
			}
			return true
		}},
	{Field: "urgency_reason", Label: "Reasons for urgency", applies: func(r Request) bool { return r.Urgency == UrgencyUrgent },
		Reason:  "an urgent request must say why it is urgent",
		present: func(r Request, _ time.Time) bool { return filled(r.UrgencyReason) }},
	{Field: "due_date", Label: "Due date still ahead", applies: func(r Request) bool { return r.DueDate != "" },
		Reason: "the due date has passed; give the date by which the assistance is still needed (UNTOC Art. 18(24))",
		present: func(r Request, now time.Time) bool {
			d, err := time.Parse(time.DateOnly, r.DueDate)
			return err == nil && !d.Before(dateOf(now))
		}},
	{Field: "person_sought", Label: "Person sought", applies: isExtradition,
		Reason:  "an extradition request must identify the person sought: name, and as far as known date of birth, nationality and location",
		present: func(r Request, _ time.Time) bool { return r.PersonSought != nil && filled(r.PersonSought.Name) }},
	{Field: "warrant", Label: "Warrant or judgment", applies: isExtradition,
		Reason:  "an extradition request must rest on an arrest warrant or an enforceable judgment, with its reference",
		present: func(r Request, _ time.Time) bool { return r.Warrant != nil && filled(r.Warrant.Reference) }},
}

// CompletenessAt is r's completeness at now (a due date can pass).
func (r Request) CompletenessAt(now time.Time) Completeness {
	out := Completeness{Complete: true, Missing: []Missing{}}
	for _, item := range Checklist {
		if item.Applies(r) && !item.present(r, now) {
			out.Complete = false
			out.Missing = append(out.Missing, Missing{Field: item.Field, Reason: item.Reason})
		}
	}
	return out
}

// Has reports whether r holds the checklist item at now.
func (c CheckItem) Has(r Request, now time.Time) bool { return c.present(r, now) }
