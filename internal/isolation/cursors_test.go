package isolation

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/testdb"
)

// TestIsolation_cursors checks what the walk of TestIsolation cannot see in
// one world: a list's next_cursor is opaque, yet it must not depend on the
// requests hidden from the caller. Two servers are compared: one with the
// whole fixture, one with only the requests the caller sees, created in the
// same order. Every page holds the same requests in both, so the cursors
// that lead from page to page must be the same too; if they differ, the
// caller is told something about requests it cannot see (for example how
// many exist, or how many drafts the counterpart wrote in between). Cursors
// that are sealed afresh at every call cannot be compared at all; for those
// the test checks that their length tells nothing either.
func TestIsolation_cursors(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		full := newWorld(t, db, auth.NewPolicy(), fixtureSpecs())
		for _, name := range []string{"es.officer", "ng.officer"} {
			t.Run(name, func(t *testing.T) {
				s := full.sessions[name]
				var seen []fixtureRequest
				for _, spec := range fixtureSpecs() {
					if sees(s.a, &spec) {
						seen = append(seen, spec)
					}
				}
				alone := newWorld(t, db, auth.NewPolicy(), seen)
				withHidden := full.cursors(t, s)
				without := alone.cursors(t, alone.sessions[name])
				if again := full.cursors(t, s); !slices.Equal(again, withHidden) {
					// Sealed afresh at every call (randomised encryption): no
					// two cursors can be compared, so what is left to leak is
					// their length, which must not depend on the position.
					lengths := map[int]bool{}
					for _, c := range append(append(withHidden, again...), without...) {
						lengths[len(c)] = true
					}
					if len(lengths) > 1 {
						t.Errorf("LEAK: cursors of different lengths %q, %q: the length tells the position", withHidden, without)
					}
					return
				}
				if !slices.Equal(withHidden, without) {
					t.Errorf("LEAK: GET /api/v1/requests?limit=1 as %s: the cursors depend on the %d requests hidden from this caller: "+
						"with them %q, without them %q (the same %d requests, page by page)",
						s.a, len(full.requests)-len(seen), withHidden, without, len(seen))
				}
			})
		}
	})
}

// cursors walks the caller's whole request list one item per page and
// returns the next_cursor values it was given.
func (w *world) cursors(t *testing.T, s *session) []string {
	t.Helper()
	ep := w.eps.get(t, "GET /api/v1/requests")
	var out []string
	path := ep.path + "?limit=1"
	for range len(w.requests) + 1 {
		ans := w.do(t, s, call{ep: ep, path: path})
		var p pageOfRequests
		if ans.status != http.StatusOK || !decode(t, path, ans, &p) {
			t.Fatalf("%s as %s: %d %s", path, s.a, ans.status, short(ans.body))
		}
		if p.NextCursor == nil {
			return out
		}
		out = append(out, *p.NextCursor)
		path = ep.path + "?limit=1&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	t.Fatalf("%s as %s: more pages than requests", ep.path, s.a)
	return nil
}
