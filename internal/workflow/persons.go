package workflow

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// PersonRole is the part a person plays in a request (UNTOC Art. 18(15)(e)
// asks for the identity, location and nationality of persons concerned).
type PersonRole string

// The roles of persons concerned.
const (
	PersonSuspect   PersonRole = "suspect"
	PersonAccused   PersonRole = "accused"
	PersonSentenced PersonRole = "sentenced"
	PersonVictim    PersonRole = "victim"
	PersonWitness   PersonRole = "witness"
	PersonExpert    PersonRole = "expert"
	PersonOther     PersonRole = "other"
)

// PersonRoles lists every role, in the order forms show them.
var PersonRoles = []PersonRole{PersonSuspect, PersonAccused, PersonSentenced, PersonVictim,
	PersonWitness, PersonExpert, PersonOther}

// Valid reports whether r is a known role.
func (r PersonRole) Valid() bool {
	for _, known := range PersonRoles {
		if r == known {
			return true
		}
	}
	return false
}

// PersonConcerned is a person a request concerns. A protected person (a
// victim or witness at risk, Palermo Protocol Art. 6) shows who it is only
// to those who work the case on either side, in the one answer that shows
// one request (Service.Read); everywhere else it is Concealed.
type PersonConcerned struct {
	ID          string
	Role        PersonRole
	Name        string
	Aliases     []string
	DateOfBirth string // YYYY-MM-DD
	Nationality string
	Location    string
	Protected   bool
	// Concealed is set on a copy whose identifying fields were removed.
	Concealed bool
}

// MaxPersons bounds the persons of one request.
const MaxPersons = 50

// conceal returns p without what identifies it.
func (p PersonConcerned) conceal() PersonConcerned {
	return PersonConcerned{ID: p.ID, Role: p.Role, Protected: true, Concealed: true}
}

// HasProtected reports whether any person of r is protected.
func (r Request) HasProtected() bool {
	for _, p := range r.Persons {
		if p.Protected {
			return true
		}
	}
	return false
}

// ProtectedIDs lists the ids of r's protected persons.
func (r Request) ProtectedIDs() []string {
	var out []string
	for _, p := range r.Persons {
		if p.Protected {
			out = append(out, p.ID)
		}
	}
	return out
}

// Concealed returns r with its protected persons concealed: the form of a
// request in every answer but the disclosing one.
func (r Request) Concealed() Request {
	if !r.HasProtected() {
		return r
	}
	persons := make([]PersonConcerned, len(r.Persons))
	for i, p := range r.Persons {
		if p.Protected {
			p = p.conceal()
		}
		persons[i] = p
	}
	r.Persons = persons
	return r
}

// assignPersonIDs gives an id to every person of next that has none, keeping
// those of old's persons it names again: an id stays the person's through
// edits, so that a disclosure's audit entry names whom it showed.
func assignPersonIDs(old, next []PersonConcerned) ([]PersonConcerned, error) {
	if len(next) == 0 {
		return nil, nil
	}
	known := map[string]bool{}
	for _, p := range old {
		known[p.ID] = true
	}
	out := make([]PersonConcerned, len(next))
	seen := map[string]bool{}
	for i, p := range next {
		switch {
		case p.ID == "":
			p.ID = newPersonID()
		case !known[p.ID]:
			return nil, Invalid(fmt.Sprintf("persons[%d].id", i), "is not the id of a person of this request; leave it out for a new person")
		case seen[p.ID]:
			return nil, Invalid(fmt.Sprintf("persons[%d].id", i), "names a person twice")
		}
		seen[p.ID] = true
		p.Concealed = false
		out[i] = p
	}
	return out, nil
}

// newPersonID returns a short random identifier of a person concerned.
func newPersonID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("no randomness: " + err.Error())
	}
	return "p" + hex.EncodeToString(b[:])
}

// checkPersons checks the persons concerned of a request.
func checkPersons(errs fieldErrors, persons []PersonConcerned, today time.Time) {
	if len(persons) > MaxPersons {
		errs.add("persons", fmt.Sprintf("must list at most %d persons", MaxPersons))
		return
	}
	for i, p := range persons {
		field := func(name string) string { return fmt.Sprintf("persons[%d].%s", i, name) }
		if !p.Role.Valid() {
			errs.add(field("role"), "must be one of: suspect, accused, sentenced, victim, witness, expert, other")
		}
		if strings.TrimSpace(p.Name) == "" {
			errs.add(field("name"), "is required")
		}
		checkText(errs, field("name"), p.Name, MaxShortText)
		if len(p.Aliases) > MaxAliases {
			errs.add(field("aliases"), fmt.Sprintf("must list at most %d aliases", MaxAliases))
		}
		for _, a := range p.Aliases {
			if strings.TrimSpace(a) == "" || utf8.RuneCountInString(a) > MaxShortText {
				errs.add(field("aliases"), fmt.Sprintf("each alias must be 1 to %d characters", MaxShortText))
			}
			checkText(errs, field("aliases"), a, MaxShortText)
		}
		checkBirthDate(errs, field("date_of_birth"), p.DateOfBirth, today)
		checkText(errs, field("nationality"), p.Nationality, MaxShortText)
		checkText(errs, field("location"), p.Location, MaxLegalBasis)
	}
}
