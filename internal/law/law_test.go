package law

import (
	"strings"
	"testing"
)

// TestCatalog_theContractsInstruments checks that the built-in file holds
// the instruments CONTRACT.md section 5 names, with the time limits of
// DOMAIN.md, so that an edit of the file that drops one fails here.
func TestCatalog_theContractsInstruments(t *testing.T) {
	c, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"untoc", "mla_1959", "eio", "ece_1957", "eaw", "bilateral", "reciprocity"} {
		if _, ok := c.Instrument(code); !ok {
			t.Errorf("instrument %s is missing", code)
		}
	}
	type limit struct{ days, consent, extendable int }
	want := map[string]map[string]limit{
		"eio":      {"acknowledgement": {7, 0, 0}, "decision": {30, 0, 30}, "execution": {90, 0, 0}},
		"eaw":      {"decision": {60, 10, 30}, "surrender": {10, 0, 0}},
		"ece_1957": {"provisional_arrest_may_release": {18, 0, 0}, "provisional_arrest_must_release": {40, 0, 0}},
	}
	for code, rules := range want {
		in, _ := c.Instrument(code)
		for kind, l := range rules {
			r, ok := in.Rule(kind)
			if !ok {
				t.Errorf("%s has no deadline %s", code, kind)
				continue
			}
			if got := (limit{r.Days, r.ConsentDays, r.ExtendableDays}); got != l {
				t.Errorf("%s %s = %+v, want %+v", code, kind, got, l)
			}
		}
	}
	eaw, _ := c.Instrument("eaw")
	if eaw.Admits("nationality") || !eaw.Admits("resident_serving_sentence") {
		t.Error("the EAW admits resident_serving_sentence (Art. 4(6)) and not nationality")
	}
}

func TestParse_refusesMistakes(t *testing.T) {
	base := `instruments:
  - code: x
    label: X
    kinds: [mla]
    grounds: [dual_criminality]
    deadlines:
      - {kind: ack, days: 7, starts_on: send, met_by: [acknowledge], side: requested, basis: B}
`
	if _, err := Parse([]byte(base)); err != nil {
		t.Fatalf("a good file: %v", err)
	}
	for name, edit := range map[string][2]string{
		"unknown key":       {"basis: B", "basis: B, colour: red"},
		"unknown kind":      {"kinds: [mla]", "kinds: [letter]"},
		"ground of no kind": {"[dual_criminality]", "[death_penalty]"},
		"unknown ground":    {"[dual_criminality]", "[bank_secrecy]"},
		"unknown event":     {"met_by: [acknowledge]", "met_by: [approve]"},
		"unknown start":     {"starts_on: send", "starts_on: arrival"},
		"no days":           {"days: 7", "days: 0"},
		"no side":           {"side: requested", "side: both"},
		"reserved kind":     {"kind: ack", "kind: requested_by"},
	} {
		text := strings.Replace(base, edit[0], edit[1], 1)
		if _, err := Parse([]byte(text)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}
