package letter

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testkit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

var letterDate = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// fullMLA is an MLA request with every part of a letter filled in.
func fullMLA() Input {
	return Input{
		Request: workflow.Request{
			ID: "r1", Reference: "IT-MLA-2026-000042", Kind: workflow.KindMLA, State: workflow.StateSent,
			RequestingAuthority: "IT", RequestedAuthority: "ES", RequestedReference: "ES-2026-77",
			Title: "Bank records of the Okoro network", Summary: "Payments for recruited victims\nwere made from Madrid.",
			LegalBasis: "Art. 18 UNTOC; Italian Code of Criminal Procedure Art. 727",
			Offences:   []string{"trafficking in persons", "money laundering"},
			Measures:   []string{"bank_records", "freezing"}, Urgency: workflow.UrgencyUrgent,
			UrgencyReason: "the suspects are about to move the funds", DueDate: "2027-01-15",
			Instrument: "eio", Purpose: "to trace the proceeds",
			Persons: []workflow.PersonConcerned{
				{ID: "p1", Role: workflow.PersonSuspect, Name: "Felix Okoro", Aliases: []string{"Big F"}, Nationality: "NG", Location: "Madrid"},
				{ID: "p2", Role: workflow.PersonVictim, Name: "Grace Edo", Location: "a shelter in Turin", Protected: true},
				{ID: "p3", Role: workflow.PersonWitness, Protected: true, Concealed: true},
			},
			CreatedBy: "it.officer",
		},
		Requesting: workflow.Authority{Code: "IT", Name: "Ministry of Justice of Italy"},
		Requested:  workflow.Authority{Code: "ES", Name: "Ministerio de Justicia de España"},
		Instrument: "Directive 2014/41/EU (European Investigation Order)",
		Date:       letterDate,
	}
}

func TestCompose_mla(t *testing.T) {
	text := Compose(fullMLA()).Text()
	// In the order of the letter.
	want := []string{
		"Ministry of Justice of Italy (IT)", "Our reference: IT-MLA-2026-000042", "Your reference: ES-2026-77",
		"Date: 3 December 2026", "To: Ministerio de Justicia de España (ES)", "URGENT",
		"Request for mutual legal assistance in a criminal matter: Bank records of the Okoro network",
		"1. Legal basis", "Directive 2014/41/EU (European Investigation Order)", "Italian Code of Criminal Procedure",
		"2. Purpose of the request", "to trace the proceeds",
		"3. Summary of the facts", "Payments for recruited victims\nwere made from Madrid.",
		"4. Offences", "- trafficking in persons", "- money laundering",
		"5. Assistance sought", "- Bank records (accounts, transactions)", "- Freezing",
		"6. Persons concerned", "Suspect: Felix Okoro, also known as Big F, NG, Madrid",
		"Victim: Grace Edo, a shelter in Turin (protected person: do not disclose)",
		"Witness: protected person; identity withheld from this copy",
		"7. Urgency and time limits", "This request is urgent: the suspects are about to move the funds",
		"by 15 January 2027", "8. Confidentiality", "9. Contact", "IT-MLA-2026-000042 (your reference ES-2026-77)",
		"Drafted by: it.officer", "For Ministry of Justice of Italy (IT)",
	}
	at := 0
	for _, w := range want {
		i := strings.Index(text[at:], w)
		if i < 0 {
			t.Fatalf("the letter lacks %q after position %d:\n%s", w, at, text)
		}
		at += i + len(w)
	}
}

func TestCompose_extradition(t *testing.T) {
	in := Input{
		Request: workflow.Request{
			Reference: "ES-EXT-2026-000007", Kind: workflow.KindExtradition, RequestingAuthority: "ES", RequestedAuthority: "TH",
			Title: "Surrender of P. Ruiz",
			PersonSought: &workflow.Person{Name: "Pablo Ruiz García", Aliases: []string{"El Flaco"}, DateOfBirth: "1980-02-29",
				Nationality: "ES", Location: "Bangkok"},
			Warrant: &workflow.Warrant{Type: workflow.WarrantArrest, Reference: "AW-12/2026", IssuedBy: "Juzgado Central de Instrucción nº 3", IssuedOn: "2026-03-01"},
		},
		Date: letterDate,
	}
	text := Compose(in).Text()
	for _, w := range []string{
		"Request for extradition: Surrender of P. Ruiz", "requests the extradition of the person named below",
		"Person sought", "Name: Pablo Ruiz García", "Also known as: El Flaco", "Date of birth: 29 February 1980",
		"Believed to be: Bangkok", "Warrant or judgment", "Type: Arrest warrant", "Issued by: Juzgado Central de Instrucción nº 3",
		"Issued on: 1 March 2026",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("the letter lacks %q:\n%s", w, text)
		}
	}
	// Sections without content are left out: no legal basis, no measures.
	for _, no := range []string{"Legal basis", "Assistance sought", "URGENT", "Drafted by"} {
		if strings.Contains(text, no) {
			t.Errorf("the letter has %q though the request has none:\n%s", no, text)
		}
	}
}

func TestRender_pdf(t *testing.T) {
	l := Compose(fullMLA())
	out, err := Render(l, letterDate)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("%PDF-")) || !bytes.Contains(out[len(out)-32:], []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q ... %q", out[:16], out[len(out)-16:])
	}
	// The reference is the document's subject, in plain bytes.
	if !bytes.Contains(out, []byte("/Subject (IT-MLA-2026-000042)")) {
		t.Errorf("the PDF does not name its reference as its subject")
	}
	again, err := Render(l, letterDate)
	if err != nil || !bytes.Equal(out, again) {
		t.Errorf("the same letter on the same date renders differently (err %v)", err)
	}
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"latin", "Lucía García, Łódź, Øresund, İstanbul", "Lucía García, Łódź, Øresund, İstanbul"},
		{"greek and cyrillic", "Αθήνα Москва", "Αθήνα Москва"},
		{"combining accent composed", "Garci\u0301a", "García"},
		{"thai", "สมชาย วงศ์สกุล", "สมชาย วงศ์สกุล"},
		{"chinese, which the font lacks", "中文", "??"},
		{"beyond the BMP", "a😀b\U00010000c", "a?b?c"},
		{"bidi override dropped", "abc\u202Edef", "abcdef"},
		{"controls", "a\x00b\x1bc\r\n\td", "abc  d"},
		{"invalid UTF-8", "a\xffb", "a?b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := printable(tc.in, false); got != tc.want {
				t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := printable("a\nb", true); got != "a\nb" {
		t.Errorf("a paragraph's line break: got %q", got)
	}
}

// hostile is text that has broken PDF libraries: every script, characters
// outside the font and the BMP, controls, invalid UTF-8, PDF syntax, a
// word longer than a line, a summary at its limit.
var hostile = []string{
	"García Núñez", "สมชาย วงศ์สกุล", "محمد بن سلمان", "עברית", "中文名字", "😀👩‍👩‍👧", "\U00010000\U0010FFFF",
	"\x00\x01\x7f\u202e\u200b\ufeff", "\xff\xfe\xc3", ") Tj ET endstream %%EOF (", "\\(\\)\\\\",
	strings.Repeat("W", 3000), strings.Repeat("Straße ", workflow.MaxSummary/7),
}

func TestRender_anyText(t *testing.T) {
	for i, s := range hostile {
		in := fullMLA()
		r := &in.Request
		r.Title, r.Summary, r.Purpose, r.UrgencyReason, r.Reference = s, s, s, s, s
		r.Offences = []string{s}
		r.Persons[0].Name, r.Persons[0].Aliases = s, []string{s}
		in.Requesting.Name = s
		out, err := Render(Compose(in), letterDate)
		if err != nil || !bytes.HasPrefix(out, []byte("%PDF-")) {
			t.Errorf("text %d (%.20q): err %v, %d bytes", i, s, err, len(out))
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range hostile[:11] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := fullMLA()
		in.Request.Title, in.Request.Summary, in.Request.Offences = s, s, []string{s}
		out, err := Render(Compose(in), letterDate)
		if err != nil || !bytes.HasPrefix(out, []byte("%PDF-")) {
			t.Fatalf("%q: err %v", s, err)
		}
	})
}

// TestRender_text reads the PDF back: it shows the letter's text, in
// whatever script the font covers.
func TestRender_text(t *testing.T) {
	in := fullMLA()
	in.Request.Persons[0].Name = "Lucía García Αθήνα Москва"
	l := Compose(in)
	out, err := Render(l, letterDate)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := testkit.PDFText(out)
	if err != nil {
		t.Fatal(err)
	}
	shown = strings.Join(strings.Fields(shown), " ") // as the lines wrap
	for _, want := range []string{"IT-MLA-2026-000042", "Bank records of the Okoro network", "Lucía García Αθήνα Москва",
		"Grace Edo", "Directive 2014/41/EU", "it.officer", "page 1 of"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the PDF does not show %q:\n%s", want, shown)
		}
	}
}
