package workflow

import (
	"strings"
	"testing"
	"time"
)

func TestValidatePayload(t *testing.T) {
	refuse, _ := Lookup(EventRefuse)
	execute, _ := Lookup(EventExecute)
	ack, _ := Lookup(EventAcknowledge)
	tests := []struct {
		name      string
		tr        Transition
		kind      Kind
		in        EventInput
		wantField string // "" for valid
	}{
		{"execute needs comment", execute, KindMLA, EventInput{}, "comment"},
		{"blank comment is missing", execute, KindMLA, EventInput{Comment: "   "}, "comment"},
		{"execute with report", execute, KindMLA, EventInput{Comment: "evidence returned"}, ""},
		{"comment too long", ack, KindMLA, EventInput{Comment: strings.Repeat("x", MaxComment+1)}, "comment"},
		{"optional comment", ack, KindMLA, EventInput{Comment: "received"}, ""},
		{"refuse needs grounds", refuse, KindMLA, EventInput{}, "grounds"},
		{"ground of the kind", refuse, KindMLA, EventInput{Grounds: []string{"essential_interests"}}, ""},
		{"ground of the other kind", refuse, KindMLA, EventInput{Grounds: []string{"death_penalty"}}, "grounds"},
		{"extradition ground", refuse, KindExtradition, EventInput{Grounds: []string{"death_penalty", "nationality"}}, ""},
		{"unknown ground", refuse, KindExtradition, EventInput{Grounds: []string{"bank_secrecy"}}, "grounds"},
		{"ground twice", refuse, KindMLA, EventInput{Grounds: []string{"dual_criminality", "dual_criminality"}}, "grounds"},
		{"grounds on another event", ack, KindMLA, EventInput{Grounds: []string{"dual_criminality"}}, "grounds"},
		{"comment with NUL", execute, KindMLA, EventInput{Comment: "done\x00"}, "comment"},
		{"comment not UTF-8", ack, KindMLA, EventInput{Comment: "re\xffceived"}, "comment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Service{}).validatePayload(tc.tr, Request{Kind: tc.kind}, tc.in)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != ErrValidation || e.Fields[tc.wantField] == "" {
				t.Fatalf("got %v, want validation_failed on %s", err, tc.wantField)
			}
		})
	}
}

func TestValidateContent(t *testing.T) {
	valid := Request{Kind: KindMLA, RequestingAuthority: "IT", RequestedAuthority: "ES", Title: "Bank records", Urgency: UrgencyNormal}
	tests := []struct {
		name      string
		edit      func(*Request)
		wantField string
	}{
		{"valid", func(*Request) {}, ""},
		{"unknown kind", func(r *Request) { r.Kind = "letter" }, "kind"},
		{"own authority", func(r *Request) { r.RequestedAuthority = "IT" }, "requested_authority"},
		{"no requested authority", func(r *Request) { r.RequestedAuthority = "" }, "requested_authority"},
		{"blank title", func(r *Request) { r.Title = "  " }, "title"},
		{"title 200 runes", func(r *Request) { r.Title = strings.Repeat("é", 200) }, ""},
		{"title 201 runes", func(r *Request) { r.Title = strings.Repeat("é", 201) }, "title"},
		{"bad urgency", func(r *Request) { r.Urgency = "asap" }, "urgency"},
		{"bad due date", func(r *Request) { r.DueDate = "2026-02-30" }, "due_date"},
		{"good due date", func(r *Request) { r.DueDate = "2026-12-31" }, ""},
		{"unknown measure", func(r *Request) { r.Measures = []string{"torture"} }, "measures"},
		{"measures on extradition", func(r *Request) { r.Kind = KindExtradition; r.Measures = []string{"freezing"} }, "measures"},
		{"empty offence", func(r *Request) { r.Offences = []string{""} }, "offences"},
		{"summary too long", func(r *Request) { r.Summary = strings.Repeat("s", MaxSummary+1) }, "summary"},
		// Text that no field may hold (TextProblem), in every kind of field.
		{"title with NUL", func(r *Request) { r.Title = "Bank\x00records" }, "title"},
		{"title not UTF-8", func(r *Request) { r.Title = "Bank \xc3" }, "title"},
		{"authority with NUL", func(r *Request) { r.RequestedAuthority = "ES\x00" }, "requested_authority"},
		{"summary with NUL", func(r *Request) { r.Summary = "\x00" }, "summary"},
		{"offence not UTF-8", func(r *Request) { r.Offences = []string{"fraud", "\xff"} }, "offences"},
		{"person's name with NUL", func(r *Request) {
			r.Kind, r.PersonSought = KindExtradition, &Person{Name: "Ros\x00si"}
		}, "person_sought.name"},
		{"alias not UTF-8", func(r *Request) {
			r.Kind, r.PersonSought = KindExtradition, &Person{Name: "Rossi", Aliases: []string{"\xfe"}}
		}, "person_sought.aliases"},
		{"warrant reference with NUL", func(r *Request) {
			r.Kind, r.Warrant = KindExtradition, &Warrant{Type: WarrantArrest, Reference: "GIP\x00"}
		}, "warrant.reference"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := valid
			tc.edit(&r)
			errs := validateContent(r, time.Now(), func(string) bool { return true })
			if tc.wantField == "" && len(errs) != 0 {
				t.Fatalf("got %v, want valid", errs)
			}
			if tc.wantField != "" && errs[tc.wantField] == "" {
				t.Fatalf("got %v, want a problem with %s", errs, tc.wantField)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := NewID()
		if len(id) != 26 || seen[id] {
			t.Fatalf("id %q: length %d, seen before %t", id, len(id), seen[id])
		}
		seen[id] = true
	}
}

// TestNewIDAt: identifiers sort by the instant they are made at, so a
// service on a clock of its own numbers its requests in its own time.
func TestNewIDAt(t *testing.T) {
	early := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	late := early.Add(time.Millisecond)
	for range 100 {
		a, b := NewIDAt(early), NewIDAt(late)
		if a >= b || a[:10] == b[:10] {
			t.Fatalf("id at %s (%s) does not sort before id a millisecond later (%s)", early, a, b)
		}
	}
	s := NewService(nil, nil, WithClock(func() time.Time { return early }))
	if got, want := s.newID()[:10], NewIDAt(early)[:10]; got != want {
		t.Fatalf("the service's ids are made at %s, not at its clock's %s", got, want)
	}
}

func TestGrounds_bankSecrecyIsNoGround(t *testing.T) {
	// UNTOC 18(8): bank secrecy is no ground for refusing assistance.
	for _, g := range Grounds {
		if strings.Contains(g.Code, "bank") {
			t.Errorf("ground %s must not exist", g.Code)
		}
	}
	// The contract's 13 and the 11 instruments need (DOMAIN.md).
	if len(GroundsFor(KindMLA)) != 13 || len(GroundsFor(KindExtradition)) != 19 {
		t.Errorf("got %d mla and %d extradition grounds, want 13 and 19", len(GroundsFor(KindMLA)), len(GroundsFor(KindExtradition)))
	}
}
