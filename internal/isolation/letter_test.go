package isolation

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testkit"
)

// checkLetter checks a visible request's letter of request (CONTRACT 6): a
// PDF attachment that prints the request's reference, title and summary,
// its persons, and its protected persons exactly to whom may see them (the
// scan has failed on any other disclosure, and has counted this one for
// checkDisclosureAudit).
func (w *world) checkLetter(t testing.TB, what string, a actor, r *fixtureRequest, got answer) {
	t.Helper()
	if ct := got.header.Get("Content-Type"); ct != "application/pdf" || !bytes.HasPrefix(got.body, []byte("%PDF-")) {
		t.Errorf("%s: %q %.16q, want a PDF", what, ct, got.body)
		return
	}
	if cd, want := got.header.Get("Content-Disposition"), `attachment; filename="`+r.reference+`.pdf"`; cd != want {
		t.Errorf("%s: Content-Disposition %q, want %q", what, cd, want)
	}
	if got.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: the letter may be sniffed", what)
	}
	shown, err := testkit.PDFText(got.body)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	for _, s := range []string{r.reference, r.title, r.summary} {
		if !strings.Contains(shown, s) {
			t.Errorf("%s: the letter lacks %q", what, s)
		}
	}
	for _, p := range r.persons {
		switch shows := strings.Contains(shown, p.name); {
		case !p.protected && !shows:
			t.Errorf("%s: the letter lacks the person %s (%s)", what, p.name, p.role)
		case p.protected && seesProtected(a, r) && !shows:
			t.Errorf("%s: the letter lacks the protected %s (%s), whom this caller may see", what, p.name, p.role)
		}
	}
}
