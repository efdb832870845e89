package workflow

import (
	"fmt"
	"slices"
)

// Instrument is a legal instrument a request may rest on (a convention, a
// directive, a treaty, reciprocity): the kinds of request it serves, the
// refusal grounds it admits and its time limits. The instruments are data
// (config/instruments.yaml, read by internal/law), not code: a new treaty
// is a new entry, not a release.
type Instrument struct {
	Code      string         `json:"code"`
	Label     string         `json:"label"`
	Kinds     []Kind         `json:"kinds"`
	Grounds   []string       `json:"grounds"`
	Deadlines []DeadlineRule `json:"deadlines"`
}

// Serves reports whether requests of kind k may rest on the instrument.
func (in Instrument) Serves(k Kind) bool { return slices.Contains(in.Kinds, k) }

// Admits reports whether the instrument lets a request be refused on the
// ground code.
func (in Instrument) Admits(code string) bool { return slices.Contains(in.Grounds, code) }

// Rule returns the instrument's deadline rule of that kind.
func (in Instrument) Rule(kind string) (DeadlineRule, bool) { return ruleIn(in.Deadlines, kind) }

// ruleIn returns the rule of that kind among rules.
func ruleIn(rules []DeadlineRule, kind string) (DeadlineRule, bool) {
	for _, r := range rules {
		if r.Kind == kind {
			return r, true
		}
	}
	return DeadlineRule{}, false
}

// DeadlineRule is a time limit an instrument sets: how many days from what
// start, met by which events, binding which side. See
// config/instruments.yaml for the meaning of each field.
type DeadlineRule struct {
	Kind           string  `json:"kind"`
	Days           int     `json:"days"`
	ConsentDays    int     `json:"consent_days,omitempty"`
	ExtendableDays int     `json:"extendable_days"`
	StartsOn       string  `json:"starts_on"`
	MetBy          []Event `json:"met_by"`
	Side           Side    `json:"side"`
	// StopsWhileInfoRequested stops the clock while the requesting side is
	// asked for more information; every clock stops while postponed.
	StopsWhileInfoRequested bool   `json:"stops_while_info_requested"`
	OnlyUrgent              bool   `json:"only_urgent"`
	Basis                   string `json:"basis"`
}

// DeadlineRequestedBy is the kind of the deadline a requesting authority
// sets by giving a due date (UNTOC Art. 18(24)): it binds the requested
// side, from the request's arrival to the end of that date.
const DeadlineRequestedBy = "requested_by"

// requestedByRule is the rule of the requested_by deadline. Its due time is
// the due date's end, not a number of days.
var requestedByRule = DeadlineRule{
	Kind: DeadlineRequestedBy, StartsOn: string(EventSend), MetBy: []Event{EventExecute},
	Side: SideRequested, StopsWhileInfoRequested: true,
	Basis: "UNTOC Art. 18(24), the date by which the requesting authority needs the assistance",
}

// Catalog is the set of instruments the service knows.
type Catalog struct {
	items []Instrument
}

// NewCatalog checks the instruments and returns their catalog: unique
// codes, known kinds, known grounds that apply to one of the instrument's
// kinds, and deadline rules whose events and starts are known.
func NewCatalog(items []Instrument) (*Catalog, error) {
	seen := map[string]bool{}
	for _, in := range items {
		if err := checkInstrument(in); err != nil {
			return nil, fmt.Errorf("instrument %q: %w", in.Code, err)
		}
		if seen[in.Code] {
			return nil, fmt.Errorf("instrument %q is listed twice", in.Code)
		}
		seen[in.Code] = true
	}
	return &Catalog{items: slices.Clone(items)}, nil
}

func checkInstrument(in Instrument) error {
	if in.Code == "" || in.Label == "" {
		return fmt.Errorf("needs a code and a label")
	}
	if len(in.Kinds) == 0 {
		return fmt.Errorf("serves no kind of request")
	}
	for _, k := range in.Kinds {
		if !k.Valid() {
			return fmt.Errorf("unknown kind %q", k)
		}
	}
	for _, g := range in.Grounds {
		ok := false
		for _, k := range in.Kinds {
			applies, _ := GroundApplies(g, k)
			ok = ok || applies
		}
		if !ok {
			return fmt.Errorf("ground %q is unknown or applies to none of its kinds", g)
		}
	}
	kinds := map[string]bool{DeadlineRequestedBy: true}
	for _, r := range in.Deadlines {
		if r.Kind == "" || kinds[r.Kind] {
			return fmt.Errorf("deadline kind %q is empty, reserved or listed twice", r.Kind)
		}
		kinds[r.Kind] = true
	}
	for _, r := range in.Deadlines {
		switch {
		case r.Days <= 0 || r.ConsentDays < 0 || r.ExtendableDays < 0:
			return fmt.Errorf("deadline %s: days must be positive, consent and extendable days not negative", r.Kind)
		case r.Side != SideRequesting && r.Side != SideRequested:
			return fmt.Errorf("deadline %s: side must be requesting or requested", r.Kind)
		case len(r.MetBy) == 0:
			return fmt.Errorf("deadline %s: nothing meets it", r.Kind)
		case r.Basis == "":
			return fmt.Errorf("deadline %s: needs a basis", r.Kind)
		}
		if _, ok := Lookup(Event(r.StartsOn)); !ok && (!kinds[r.StartsOn] || r.StartsOn == r.Kind) {
			return fmt.Errorf("deadline %s: starts_on %q is neither an event nor another deadline", r.Kind, r.StartsOn)
		}
		for _, e := range r.MetBy {
			if _, ok := Lookup(e); !ok {
				return fmt.Errorf("deadline %s: unknown event %q", r.Kind, e)
			}
		}
	}
	return nil
}

// Items lists the instruments in the catalog's order.
func (c *Catalog) Items() []Instrument {
	if c == nil {
		return []Instrument{}
	}
	return slices.Clone(c.items)
}

// Instrument returns the instrument of that code.
func (c *Catalog) Instrument(code string) (Instrument, bool) {
	if c == nil {
		return Instrument{}, false
	}
	for _, in := range c.items {
		if in.Code == code {
			return in, true
		}
	}
	return Instrument{}, false
}

// admits reports whether r's instrument lets it be refused on the ground
// code; without an instrument every ground of its kind may be given.
func (c *Catalog) admits(r Request, code string) bool {
	in, ok := c.Instrument(r.Instrument)
	return !ok || in.Admits(code)
}

// rulesFor returns the deadline rules that apply to r: its instrument's
// (none without one) and requested_by when r has a due date.
func (c *Catalog) rulesFor(r Request) []DeadlineRule {
	var out []DeadlineRule
	if in, ok := c.Instrument(r.Instrument); ok {
		out = append(out, in.Deadlines...)
	}
	if r.DueDate != "" {
		out = append(out, requestedByRule)
	}
	return out
}

// rule returns the rule of the deadline kind that applies to r.
func (c *Catalog) rule(r Request, kind string) (DeadlineRule, bool) {
	return ruleIn(c.rulesFor(r), kind)
}

// WithInstruments gives the service the instruments requests may rest on.
// Without it the service knows none, and a request names none.
func WithInstruments(c *Catalog) Option { return func(s *Service) { s.instruments = c } }
