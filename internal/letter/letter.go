package letter

import (
	"strconv"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Input is what a letter is composed from: the request as its reader may
// see it, the names of the two authorities, the label of its instrument in
// the service's catalog, and the letter's date.
type Input struct {
	Request    workflow.Request
	Requesting workflow.Authority
	Requested  workflow.Authority
	// Instrument is the label of the request's instrument, "" when it
	// names none.
	Instrument string
	Date       time.Time
}

// Letter is a letter of request laid out as blocks of text, in order.
type Letter struct {
	Reference string // the requesting authority's reference: the file name
	Title     string
	Blocks    []Block
}

// Block is one piece of a letter.
type Block struct {
	Style Style
	Label string // of a Field
	Text  string
}

// Style is how a block prints.
type Style int

// The styles of blocks.
const (
	Letterhead Style = iota // the requesting authority, large and bold
	Line                    // one plain line
	Subject                 // bold
	Notice                  // bold, set apart: urgency, protection
	Heading                 // a numbered section's heading
	Para                    // a paragraph; line breaks kept
	Item                    // an item of a list
	Field                   // Label: Text
	Gap                     // vertical space
)

// Text is the letter as plain text, one block a line: what Render prints.
func (l Letter) Text() string {
	var b strings.Builder
	for _, bl := range l.Blocks {
		switch bl.Style {
		case Gap:
		case Item:
			b.WriteString("- " + bl.Text + "\n")
		case Field:
			b.WriteString(bl.Label + ": " + bl.Text + "\n")
		default:
			b.WriteString(bl.Text + "\n")
		}
	}
	return b.String()
}

var kindSubjects = map[workflow.Kind]string{
	workflow.KindMLA:         "Request for mutual legal assistance in a criminal matter",
	workflow.KindExtradition: "Request for extradition",
}

var personRoles = map[workflow.PersonRole]string{
	workflow.PersonSuspect: "Suspect", workflow.PersonAccused: "Accused", workflow.PersonSentenced: "Sentenced person",
	workflow.PersonVictim: "Victim", workflow.PersonWitness: "Witness", workflow.PersonExpert: "Expert",
	workflow.PersonOther: "Other person",
}

var warrantTypes = map[string]string{
	workflow.WarrantArrest:   "Arrest warrant",
	workflow.WarrantJudgment: "Enforceable judgment",
}

func labelOr[K comparable](m map[K]string, k K, or string) string {
	if l, ok := m[k]; ok {
		return l
	}
	return or
}

// authorityName names an authority as the letter does: "Name (CODE)", or
// the code alone when its name is not known.
func authorityName(a workflow.Authority, code string) string {
	switch {
	case a.Name == "" && code == "":
		return "the central authority"
	case a.Name == "":
		return code
	}
	return a.Name + " (" + code + ")"
}

// date prints a day as letters do: 3 December 2026. A YYYY-MM-DD that does
// not parse prints as given.
func date(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("2 January 2006")
}

// Compose lays out the letter of in.Request, in the order of the UNODC
// request writer's letter and UNTOC Art. 18(15). Sections without content
// are left out, and renumbered, rather than printed empty.
func Compose(in Input) Letter {
	r := in.Request
	from := authorityName(in.Requesting, r.RequestingAuthority)
	to := authorityName(in.Requested, r.RequestedAuthority)
	l := Letter{Reference: r.Reference, Title: r.Title}
	add := func(s Style, text string) { l.Blocks = append(l.Blocks, Block{Style: s, Text: text}) }
	field := func(label, text string) {
		if strings.TrimSpace(text) != "" {
			l.Blocks = append(l.Blocks, Block{Style: Field, Label: label, Text: text})
		}
	}
	n := 0
	section := func(title string) {
		n++
		add(Heading, strconv.Itoa(n)+". "+title)
	}

	add(Letterhead, from)
	add(Line, "Central authority")
	add(Gap, "")
	field("Our reference", r.Reference)
	field("Your reference", r.RequestedReference)
	field("Date", in.Date.UTC().Format("2 January 2006"))
	add(Gap, "")
	add(Line, "To: "+to)
	add(Line, "Central authority")
	add(Gap, "")
	if r.Urgency == workflow.UrgencyUrgent {
		add(Notice, "URGENT")
	}
	add(Subject, labelOr(kindSubjects, r.Kind, "Request")+": "+r.Title)
	add(Gap, "")
	opening := from + " presents its compliments to " + to + " and requests its assistance"
	if r.Kind == workflow.KindExtradition {
		opening = from + " presents its compliments to " + to +
			" and requests the extradition of the person named below"
	}
	if in.Instrument != "" {
		opening += ", under the " + in.Instrument
	}
	add(Para, opening+", in the matter set out in this letter.")

	if in.Instrument != "" || strings.TrimSpace(r.LegalBasis) != "" {
		section("Legal basis")
		if in.Instrument != "" {
			add(Para, "This request is made under the "+in.Instrument+".")
		}
		if strings.TrimSpace(r.LegalBasis) != "" {
			add(Para, r.LegalBasis)
		}
	}
	if strings.TrimSpace(r.Purpose) != "" {
		section("Purpose of the request")
		add(Para, r.Purpose)
	}
	if strings.TrimSpace(r.Summary) != "" {
		section("Summary of the facts")
		add(Para, r.Summary)
	}
	if len(r.Offences) > 0 {
		section("Offences")
		for _, o := range r.Offences {
			add(Item, o)
		}
	}
	if len(r.Measures) > 0 {
		section("Assistance sought")
		for _, m := range r.Measures {
			add(Item, measureLabel(m))
		}
	}
	if p := r.PersonSought; p != nil && !p.IsZero() {
		section("Person sought")
		field("Name", p.Name)
		field("Also known as", strings.Join(p.Aliases, "; "))
		field("Date of birth", date(p.DateOfBirth))
		field("Nationality", p.Nationality)
		field("Description", p.Description)
		field("Believed to be", p.Location)
	}
	if w := r.Warrant; w != nil && !w.IsZero() {
		section("Warrant or judgment")
		field("Type", labelOr(warrantTypes, w.Type, w.Type))
		field("Reference", w.Reference)
		field("Issued by", w.IssuedBy)
		field("Issued on", date(w.IssuedOn))
	}
	if len(r.Persons) > 0 {
		section("Persons concerned")
		for _, p := range r.Persons {
			role := labelOr(personRoles, p.Role, string(p.Role))
			if p.Concealed {
				// Palermo Protocol Art. 6: who a protected victim or witness
				// is reaches only those who work the case.
				add(Item, role+": protected person; identity withheld from this copy")
				continue
			}
			var parts []string
			for _, s := range []string{p.Name, aka(p.Aliases), born(p.DateOfBirth), p.Nationality, p.Location} {
				if strings.TrimSpace(s) != "" {
					parts = append(parts, s)
				}
			}
			text := role + ": " + strings.Join(parts, ", ")
			if p.Protected {
				text += " (protected person: do not disclose)"
			}
			add(Item, text)
		}
	}
	if r.Urgency == workflow.UrgencyUrgent || r.DueDate != "" {
		section("Urgency and time limits")
		if r.Urgency == workflow.UrgencyUrgent {
			reason := strings.TrimSpace(r.UrgencyReason)
			if reason == "" {
				reason = "no reason given"
			}
			add(Para, "This request is urgent: "+reason)
		}
		if r.DueDate != "" {
			// UNTOC Art. 18(24): the requested state honours, as far as it
			// can, the deadlines the requesting state gives, which gives
			// its reasons.
			text := from + " asks that the assistance be provided by " + date(r.DueDate) + "."
			if r.Urgency == workflow.UrgencyUrgent && strings.TrimSpace(r.UrgencyReason) != "" {
				text += " The date is needed for the reason given above."
			}
			text += " Should the request not be executed by then, please inform the requesting authority as soon as possible."
			add(Para, text)
		}
	}
	section("Confidentiality")
	// UNTOC Art. 18(20): the requesting state may ask that the request and
	// its content be kept confidential, save as needed to execute it.
	add(Para, from+" asks that this request and its content be kept confidential, except to the "+
		"extent necessary to execute it. Should the requested authority be unable to comply with this, "+
		"it is asked to inform the requesting authority before executing the request.")
	section("Contact")
	text := "Please quote the reference " + r.Reference
	if r.RequestedReference != "" {
		text += " (your reference " + r.RequestedReference + ")"
	}
	add(Para, text+" in all correspondence on this request, which "+from+" conducts as central authority.")

	add(Gap, "")
	add(Line, from+" avails itself of this opportunity to renew to "+to+
		" the assurances of its highest consideration.")
	add(Gap, "")
	if r.CreatedBy != "" {
		field("Drafted by", r.CreatedBy)
	}
	add(Line, "For "+from)
	return l
}

func aka(aliases []string) string {
	if len(aliases) == 0 {
		return ""
	}
	return "also known as " + strings.Join(aliases, "; ")
}

func born(day string) string {
	if day == "" {
		return ""
	}
	return "born " + date(day)
}

func measureLabel(code string) string {
	for _, m := range workflow.Measures {
		if m.Code == code {
			return m.Label
		}
	}
	return code
}
