package web

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/textcheck"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Form fields carry the API's field names, so that the workflow's
// validation errors ("title", "person_sought.name") land next to the
// field they are about without any translation table.

// requestValues is the content of the request form, as typed.
type requestValues struct {
	RequestedAuthority string
	Title              string
	Summary            string
	LegalBasis         string
	Offences           string // one per line
	Measures           []string
	Urgency            string
	UrgencyReason      string
	DueDate            string
	Person             personValues
	Warrant            warrantValues
	Instrument         string
	Purpose            string
	Persons            []concernedValues
}

// concernedValues is one row of the persons concerned, as typed; ID names
// a person the request has (a hidden field), "" a new one.
type concernedValues struct {
	ID          string
	Role        string
	Name        string
	Aliases     string // one per line
	DateOfBirth string
	Nationality string
	Location    string
	Protected   bool
}

func (p concernedValues) empty() bool {
	return p.ID == "" && strings.TrimSpace(p.Name+p.Aliases+p.DateOfBirth+p.Nationality+p.Location) == ""
}

// Rows are the rows of persons the form shows: those typed or stored, and
// blank ones to add more.
func (v requestValues) Rows() []concernedValues { return withBlankRows(v.Persons) }

// blankPersonRows is how many empty rows the form offers for new persons:
// the pages work without scripts, so a row to add is a row shown.
const blankPersonRows = 2

// withBlankRows returns the rows with blankPersonRows empty ones after
// them, within workflow.MaxPersons.
func withBlankRows(rows []concernedValues) []concernedValues {
	out := slices.Clone(rows)
	for range blankPersonRows {
		if len(out) < workflow.MaxPersons {
			out = append(out, concernedValues{})
		}
	}
	return out
}

// readPersons reads the rows persons[0], persons[1], ... of the form, up to
// the first index the form does not hold; empty rows are left out.
func readPersons(c echo.Context) []concernedValues {
	form, err := c.FormParams()
	if err != nil {
		return nil
	}
	var out []concernedValues
	for i := 0; i < workflow.MaxPersons+blankPersonRows; i++ {
		prefix := "persons[" + strconv.Itoa(i) + "]."
		if _, ok := form[prefix+"name"]; !ok {
			break
		}
		p := concernedValues{
			ID: form.Get(prefix + "id"), Role: form.Get(prefix + "role"), Name: form.Get(prefix + "name"),
			Aliases: form.Get(prefix + "aliases"), DateOfBirth: form.Get(prefix + "date_of_birth"),
			Nationality: form.Get(prefix + "nationality"), Location: form.Get(prefix + "location"),
			Protected: form.Get(prefix+"protected") == "yes",
		}
		if !p.empty() {
			out = append(out, p)
		}
	}
	return out
}

func personsOf(rows []concernedValues) []workflow.PersonConcerned {
	out := make([]workflow.PersonConcerned, 0, len(rows))
	for _, p := range rows {
		out = append(out, workflow.PersonConcerned{
			ID: p.ID, Role: workflow.PersonRole(p.Role), Name: strings.TrimSpace(p.Name), Aliases: splitLines(p.Aliases),
			DateOfBirth: strings.TrimSpace(p.DateOfBirth), Nationality: strings.TrimSpace(p.Nationality),
			Location: strings.TrimSpace(p.Location), Protected: p.Protected,
		})
	}
	return out
}

type personValues struct {
	Name        string
	Aliases     string // one per line
	DateOfBirth string
	Nationality string
	Description string
	Location    string
}

type warrantValues struct {
	Type      string
	Reference string
	IssuedBy  string
	IssuedOn  string
}

// formError is the validation error of a form that holds text no field
// may (textcheck.Problems: a NUL character, bytes that are not UTF-8), so
// that the form comes back with the mistake next to its field like any
// other, before anything reads the text; nil when there is none. Every
// handler of a form asks it first.
func formError(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return nil // a body that is no form: its fields read as empty
	}
	if fields := textcheck.Problems(form); len(fields) > 0 {
		return workflow.InvalidFields(fields)
	}
	return nil
}

// readRequestForm reads the request form of a request of kind k; the
// fields of the other kind are ignored.
func readRequestForm(c echo.Context, k workflow.Kind) requestValues {
	v := requestValues{
		RequestedAuthority: c.FormValue("requested_authority"),
		Title:              c.FormValue("title"),
		Summary:            c.FormValue("summary"),
		LegalBasis:         c.FormValue("legal_basis"),
		Offences:           c.FormValue("offences"),
		Urgency:            c.FormValue("urgency"),
		UrgencyReason:      c.FormValue("urgency_reason"),
		DueDate:            c.FormValue("due_date"),
		Instrument:         c.FormValue("instrument"),
		Purpose:            c.FormValue("purpose"),
		Persons:            readPersons(c),
	}
	if k == workflow.KindMLA {
		if form, err := c.FormParams(); err == nil {
			v.Measures = form["measures"]
		}
	}
	if k == workflow.KindExtradition {
		v.Person = personValues{
			Name:        c.FormValue("person_sought.name"),
			Aliases:     c.FormValue("person_sought.aliases"),
			DateOfBirth: c.FormValue("person_sought.date_of_birth"),
			Nationality: c.FormValue("person_sought.nationality"),
			Description: c.FormValue("person_sought.description"),
			Location:    c.FormValue("person_sought.location"),
		}
		v.Warrant = warrantValues{
			Type:      c.FormValue("warrant.type"),
			Reference: c.FormValue("warrant.reference"),
			IssuedBy:  c.FormValue("warrant.issued_by"),
			IssuedOn:  c.FormValue("warrant.issued_on"),
		}
	}
	return v
}

// splitLines turns a text area of one item per line into a list, without
// blank lines; nil when there is none.
func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (v requestValues) person() workflow.Person {
	return workflow.Person{
		Name: strings.TrimSpace(v.Person.Name), Aliases: splitLines(v.Person.Aliases),
		DateOfBirth: strings.TrimSpace(v.Person.DateOfBirth), Nationality: strings.TrimSpace(v.Person.Nationality),
		Description: strings.TrimSpace(v.Person.Description), Location: strings.TrimSpace(v.Person.Location),
	}
}

func (v requestValues) warrant() workflow.Warrant {
	return workflow.Warrant{
		Type: v.Warrant.Type, Reference: strings.TrimSpace(v.Warrant.Reference),
		IssuedBy: strings.TrimSpace(v.Warrant.IssuedBy), IssuedOn: strings.TrimSpace(v.Warrant.IssuedOn),
	}
}

func (p personValues) empty() bool { return p == personValues{} }

func (w warrantValues) empty() bool { return w == warrantValues{} }

// draft is the new request the form describes.
func (v requestValues) draft(k workflow.Kind) workflow.Draft {
	d := workflow.Draft{
		Kind: k, RequestedAuthority: v.RequestedAuthority, Title: strings.TrimSpace(v.Title),
		Summary: strings.TrimSpace(v.Summary), LegalBasis: strings.TrimSpace(v.LegalBasis),
		Offences: splitLines(v.Offences), Measures: v.Measures, Urgency: workflow.Urgency(v.Urgency),
		UrgencyReason: strings.TrimSpace(v.UrgencyReason), DueDate: strings.TrimSpace(v.DueDate),
		Instrument: v.Instrument, Purpose: strings.TrimSpace(v.Purpose), Persons: personsOf(v.Persons),
	}
	if k == workflow.KindExtradition {
		if !v.Person.empty() {
			p := v.person()
			d.PersonSought = &p
		}
		if !v.Warrant.empty() {
			w := v.warrant()
			d.Warrant = &w
		}
	}
	return d
}

// changes is the edit of a draft of kind k that the form describes: every
// field of the form is set, an emptied one clears what was there.
func (v requestValues) changes(k workflow.Kind) workflow.Changes {
	d := v.draft(k)
	offences := d.Offences
	if offences == nil {
		offences = []string{}
	}
	ch := workflow.Changes{
		RequestedAuthority: &d.RequestedAuthority, Title: &d.Title, Summary: &d.Summary,
		LegalBasis: &d.LegalBasis, Offences: &offences,
		UrgencyReason: &d.UrgencyReason, DueDate: &d.DueDate,
		Instrument: &d.Instrument, Purpose: &d.Purpose, Persons: &d.Persons,
	}
	if d.Urgency != "" { // a form without the choice keeps the urgency
		ch.Urgency = &d.Urgency
	}
	switch k {
	case workflow.KindMLA:
		measures := d.Measures
		if measures == nil {
			measures = []string{}
		}
		ch.Measures = &measures
	case workflow.KindExtradition:
		// A pointer to a zero value clears the person or the warrant.
		p, w := workflow.Person{}, workflow.Warrant{}
		if d.PersonSought != nil {
			p = *d.PersonSought
		}
		if d.Warrant != nil {
			w = *d.Warrant
		}
		ch.PersonSought, ch.Warrant = &p, &w
	}
	return ch
}

// valuesOf fills the form from a stored request, to edit it.
func valuesOf(r workflow.Request) requestValues {
	v := requestValues{
		RequestedAuthority: r.RequestedAuthority, Title: r.Title, Summary: r.Summary,
		LegalBasis: r.LegalBasis, Offences: strings.Join(r.Offences, "\n"), Measures: r.Measures,
		Urgency: string(r.Urgency), UrgencyReason: r.UrgencyReason, DueDate: r.DueDate,
		Instrument: r.Instrument, Purpose: r.Purpose,
	}
	for _, p := range r.Persons {
		v.Persons = append(v.Persons, concernedValues{ID: p.ID, Role: string(p.Role), Name: p.Name,
			Aliases: strings.Join(p.Aliases, "\n"), DateOfBirth: p.DateOfBirth, Nationality: p.Nationality,
			Location: p.Location, Protected: p.Protected})
	}
	if p := r.PersonSought; p != nil {
		v.Person = personValues{Name: p.Name, Aliases: strings.Join(p.Aliases, "\n"), DateOfBirth: p.DateOfBirth,
			Nationality: p.Nationality, Description: p.Description, Location: p.Location}
	}
	if w := r.Warrant; w != nil {
		v.Warrant = warrantValues{Type: w.Type, Reference: w.Reference, IssuedBy: w.IssuedBy, IssuedOn: w.IssuedOn}
	}
	return v
}

// fieldLabels name the form's fields in error summaries.
var fieldLabels = map[string]string{
	"url":                         "Destination URL",
	"events":                      "Events",
	"kind":                        "Kind of request",
	"requested_authority":         "Requested authority",
	"title":                       "Title",
	"summary":                     "Summary of the facts",
	"legal_basis":                 "Legal basis",
	"offences":                    "Offences",
	"measures":                    "Measures sought",
	"urgency":                     "Urgency",
	"urgency_reason":              "Reasons for urgency",
	"due_date":                    "Due date",
	"instrument":                  "Legal instrument",
	"purpose":                     "Purpose",
	"persons":                     "Persons concerned",
	"reason":                      "Reason",
	"days":                        "Days to add",
	"reference":                   "Your reference",
	"person_sought":               "Person sought",
	"person_sought.name":          "Name of the person sought",
	"person_sought.aliases":       "Aliases",
	"person_sought.date_of_birth": "Date of birth",
	"person_sought.nationality":   "Nationality",
	"person_sought.description":   "Description",
	"person_sought.location":      "Known or presumed location",
	"warrant":                     "Warrant or judgment",
	"warrant.type":                "Type of document",
	"warrant.reference":           "Warrant or judgment reference",
	"warrant.issued_by":           "Issued by",
	"warrant.issued_on":           "Issued on",
	"comment":                     "Comment",
	"grounds":                     "Refusal grounds",
	"username":                    "Username",
	"display_name":                "Full name",
	"role":                        "Role",
	"authority":                   "Authority",
	"password":                    "Password",
	"event":                       "Action",
	"disabled":                    "Access",
	"name":                        "Name",
	"expires_at":                  "Expires on",
}

// The fields of each form in the order the form shows them, which is the
// order of its error summary: a summary read top to bottom leads through
// the form top to bottom.
var (
	requestFormFields = []string{
		"kind", "requested_authority", "title", "instrument", "legal_basis", "summary", "purpose", "offences", "measures",
		"person_sought", "person_sought.name", "person_sought.aliases", "person_sought.date_of_birth",
		"person_sought.nationality", "person_sought.description", "person_sought.location",
		"warrant", "warrant.type", "warrant.reference", "warrant.issued_on", "warrant.issued_by",
		"persons", "persons[0].role", "persons[0].name", "persons[0].aliases", "persons[0].date_of_birth",
		"persons[0].nationality", "persons[0].location", "persons[0].protected",
		"urgency", "urgency_reason", "due_date",
	}
	newUserFields = []string{"username", "display_name", "role", "authority", "password"}
	userFields    = []string{"disabled", "password", "role", "authority"}
)

// problems lists field errors for the summary at the top of a form, each
// linking to its field: a problem of the whole form first, then the
// fields in the form's order, then any field the form does not show,
// sorted, so that the order never depends on the map's.
func problems(fields map[string]string, order []string) []fieldProblem {
	rank := func(k string) int {
		if k == "" {
			return -1
		}
		if i := slices.Index(order, k); i >= 0 {
			return i
		}
		return len(order)
	}
	keys := slices.Collect(maps.Keys(fields))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	out := make([]fieldProblem, 0, len(keys))
	for _, k := range keys {
		label, ok := fieldLabels[k]
		if !ok {
			label = k
		}
		out = append(out, fieldProblem{Field: k, Label: label, Message: fields[k]})
	}
	return out
}
