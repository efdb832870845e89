package isolation

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// streamRead is how long a check reads an event stream.
const streamRead = 400 * time.Millisecond

// testEvents reads the event stream (CONTRACT 8), of the API and of the
// pages, from its start as every actor: it carries the changes of exactly
// the requests the actor sees, each by id (w.do's scan fails on any id,
// reference or secret of a hidden one), and nothing to roles that see no
// requests.
func (w *world) testEvents(t *testing.T) {
	w.forEachActor(t, func(t *testing.T, s *session) {
		a := s.a
		for _, key := range []string{"GET /api/v1/events", "GET /events"} {
			ep := w.eps.get(t, key)
			ans := w.do(t, s, call{ep: ep, path: strings.TrimPrefix(key, "GET ")})
			what := key + " as " + a.String()
			// The page's stream exists for the roles of the case pages.
			w.checkAnswer(t, what, ans, statusFor(ep, a, ep.pages == nil || slices.Contains(ep.pages, a.role), http.StatusOK))
			if ans.status != http.StatusOK {
				continue
			}
			if ct := ans.header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("%s: Content-Type %q", what, ct)
			}
			heard := streamedRequests(t, what, ans.body)
			for _, r := range w.requests {
				w.checks.Add(1)
				if seen := sees(a, r); heard[r.id] != seen {
					t.Errorf("%s: %s heard=%v, sees=%v", what, r, heard[r.id], seen)
				}
			}
		}
	})
}
