package isolation

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// auditEntry is what the checks read of an API audit entry.
type auditEntry struct {
	Seq       int64          `json:"seq"`
	Actor     string         `json:"actor"`
	Authority string         `json:"authority"`
	Action    string         `json:"action"`
	RequestID string         `json:"request_id"`
	Details   map[string]any `json:"details"`
	Redacted  []string       `json:"redacted"`
}

type pageOfAudit struct {
	Items      []auditEntry `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

// testAudit checks the audit views, after the refused writes have been
// recorded: 403 for roles that do not read the log; for an auditor only
// the own authority's entries, none about a request hidden from them, and
// a hidden request's entries answered as a missing request's; no case
// content for anybody (the scan's strict mode); and of the details, only
// metadata for the admin (detailsReadable).
func (w *world) testAudit(t *testing.T) {
	w.forEachActor(t, func(t *testing.T, s *session) {
		w.apiAudit(t, s)
		w.webAudit(t, s)
	})
}

// auditWant is the status of an audit view for a.
func auditWant(a actor, web bool) int {
	switch {
	case a.role == anonymous && web:
		return http.StatusSeeOther
	case a.role == anonymous:
		return http.StatusUnauthorized
	case !readsAudit(a):
		return http.StatusForbidden
	}
	return http.StatusOK
}

// entryInScope fails for an entry an auditor may not read: another
// authority's, or one about a request hidden from them.
func (w *world) entryInScope(t testing.TB, what string, a actor, authority, requestID string) {
	t.Helper()
	w.checks.Add(1)
	if a.role != "auditor" {
		return
	}
	if authority != a.authority {
		t.Errorf("LEAK: %s: an entry of authority %q, want only %s's", what, authority, a.authority)
	}
	for _, r := range w.requests {
		if r.id == requestID && !sees(a, r) {
			t.Errorf("LEAK: %s: an entry about %s, hidden from this auditor", what, r)
		}
	}
}

// detailsReadable fails for a detail of an entry of authority that the
// contract does not let a read: the admin "sees no case contents"
// (CONTRACT.md section 3), so reads metadata only; an auditor reads the
// entries of its own authority, about its own requests, whole; an
// unclassified detail is shown to nobody.
func (w *world) detailsReadable(t testing.TB, what string, a actor, authority string, details map[string]any) {
	t.Helper()
	for k := range details {
		w.checks.Add(1)
		switch c := workflow.ClassOf(k); {
		case c == workflow.DetailUnclassified:
			t.Errorf("LEAK: %s: the audit view shows the unclassified detail %q", what, k)
		case c != workflow.DetailMeta && (a.role != "auditor" || authority != a.authority):
			t.Errorf("LEAK: %s: the audit view holds case content, detail %q of an entry of %q", what, k, authority)
		}
	}
}

// detailsSeen checks, once an actor's whole log is read, that the details
// checks were not vacuous: the fixture's refusals by the requested side
// carry grounds, which the admin is told were withheld and the requested
// side's auditor reads.
func detailsSeen(t testing.TB, what string, a actor, all []auditEntry) {
	t.Helper()
	withheld, read := false, false
	for _, e := range all {
		withheld = withheld || slices.Contains(e.Redacted, "grounds")
		_, has := e.Details["grounds"]
		read = read || has
	}
	switch {
	case a.role == "admin" && !withheld:
		t.Errorf("%s: no entry says its grounds were withheld", what)
	case a.role == "auditor" && a.authority == requested && !read:
		t.Errorf("%s: the requested side's auditor reads no grounds", what)
	}
}

func (w *world) apiAudit(t testing.TB, s *session) {
	t.Helper()
	ep := w.eps.get(t, "GET /api/v1/audit")
	a := s.a
	// read walks every page of a query and returns the entries, or false
	// when the answer is not a page (it checks the status first).
	read := func(query url.Values) ([]auditEntry, answer, bool) {
		var all []auditEntry
		query.Set("limit", "200")
		what := ep.key() + "?" + query.Encode() + " as " + a.String()
		var first answer
		for page := 0; ; page++ {
			ans := w.do(t, s, call{ep: ep, path: ep.path + "?" + query.Encode()})
			if page == 0 {
				first = ans
				w.checks.Add(1)
				if want := auditWant(a, false); ans.status != want {
					t.Errorf("%s: got %d, want %d\n%s", what, ans.status, want, short(ans.body))
				}
				if ans.status != http.StatusOK {
					return nil, first, false
				}
			}
			var p pageOfAudit
			if !decode(t, what, ans, &p) {
				return nil, first, false
			}
			for _, e := range p.Items {
				w.entryInScope(t, what, a, e.Authority, e.RequestID)
				w.detailsReadable(t, what, a, e.Authority, e.Details)
			}
			all = append(all, p.Items...)
			if p.NextCursor == nil {
				return all, first, true
			}
			query.Set("cursor", *p.NextCursor)
		}
	}
	all, _, ok := read(url.Values{})
	if !ok {
		return
	}
	if len(all) == 0 {
		t.Errorf("%s as %s: no entries at all", ep.key(), a)
	}
	detailsSeen(t, ep.key()+" as "+a.String(), a, all)

	// One request's entries: a hidden request's answer is a missing one's.
	missingEntries, missing, _ := read(url.Values{"request_id": {w.missing}})
	if len(missingEntries) != 0 {
		t.Errorf("%s?request_id=missing as %s: %d entries", ep.key(), a, len(missingEntries))
	}
	for _, r := range w.requests {
		what := ep.key() + "?request_id=<" + r.String() + "> as " + a.String()
		entries, got, _ := read(url.Values{"request_id": {r.id}})
		visible := sees(a, r) || a.role == "admin"
		w.checks.Add(1)
		switch {
		case !visible && normal(got, r.id) != normal(missing, w.missing):
			t.Errorf("LEAK: %s: answers unlike a missing request, %s", what, firstDifference(normal(got, r.id), normal(missing, w.missing)))
		case (a.role == "admin" || a.authority == r.requesting) && len(entries) == 0:
			t.Errorf("%s: no entries, want at least its creation", what)
		}
		for _, e := range entries {
			if e.RequestID != r.id {
				t.Errorf("%s: an entry of request %q", what, e.RequestID)
			}
		}
	}

	// Another authority's users: an auditor reads nothing of them.
	_, noOne, _ := read(url.Values{"actor": {"no.such.user"}})
	for _, other := range actors {
		if other.role == anonymous || a.role != "auditor" || other.authority == a.authority {
			continue
		}
		what := ep.key() + "?actor=" + other.name + " as " + a.String()
		_, got, _ := read(url.Values{"actor": {other.name}})
		w.checks.Add(1)
		if normal(got, other.name) != normal(noOne, "no.such.user") {
			t.Errorf("LEAK: %s: answers unlike a user who does not exist, %s", what, firstDifference(normal(got, other.name), normal(noOne, "no.such.user")))
		}
	}
}

var (
	webEntryAuthority = regexp.MustCompile(`<div class="cell">[^<]*<span class="muted">\(([A-Z]*)\)</span></div>`)
	webEntryRequest   = regexp.MustCompile(`href="/audit\?request_id=([0-9a-z]*)"`)
	webEntryRow       = regexp.MustCompile(`<td data-label="No.">`)
	webEntryDetails   = regexp.MustCompile(`(?s)<td data-label="Details" class="cell--details">(.*?)</td>`)
	// The page shows details as label and value pairs, each naming the
	// detail it shows in an attribute.
	webDetailKey = regexp.MustCompile(`data-detail="([^"]*)"`)
)

// webDetails checks the details of every entry of an audit page as
// detailsReadable does. An auditor's page holds only its own authority's
// entries (checked apart), the admin's any.
func (w *world) webDetails(t testing.TB, what string, a actor, body []byte) {
	t.Helper()
	authority := ""
	if a.role == "auditor" {
		authority = a.authority
	}
	for _, m := range webEntryDetails.FindAllSubmatch(body, -1) {
		details := map[string]any{}
		for _, k := range webDetailKey.FindAllSubmatch(m[1], -1) {
			details[html.UnescapeString(string(k[1]))] = true
		}
		w.detailsReadable(t, what, a, authority, details)
	}
}

func (w *world) webAudit(t testing.TB, s *session) {
	t.Helper()
	ep := w.eps.get(t, "GET /audit")
	a := s.a
	// read walks the pages from path and returns the first answer and the
	// number of entries shown.
	read := func(path string) (answer, int, bool) {
		what := "GET " + path + " as " + a.String()
		var first answer
		n := 0
		for page := 0; path != ""; page++ {
			ans := w.do(t, s, call{ep: ep, path: path})
			if page == 0 {
				first = ans
				w.checks.Add(1)
				if want := auditWant(a, true); ans.status != want {
					t.Errorf("%s: got %d, want %d\n%s", what, ans.status, want, short(ans.body))
				}
			}
			if ans.status != http.StatusOK {
				return first, n, false
			}
			rows := len(webEntryRow.FindAll(ans.body, -1))
			n += rows
			if details := len(webEntryDetails.FindAll(ans.body, -1)); details != rows {
				t.Errorf("%s: %d entries, %d details cells", what, rows, details)
			}
			w.webDetails(t, what, a, ans.body)
			if a.role == "auditor" {
				w.checks.Add(1)
				if spans := len(webEntryAuthority.FindAll(ans.body, -1)); spans != rows {
					t.Errorf("LEAK: %s: %d entries, of which %d name an authority; want all of %s", what, rows, spans, a.authority)
				}
				for _, m := range webEntryAuthority.FindAllSubmatch(ans.body, -1) {
					w.entryInScope(t, what, a, string(m[1]), "")
				}
				for _, m := range webEntryRequest.FindAllSubmatch(ans.body, -1) {
					w.entryInScope(t, what, a, a.authority, string(m[1]))
				}
			}
			path = nextPage(ans.body)
			if page > 10000 {
				t.Fatalf("%s: endless pages", what)
			}
		}
		return first, n, true
	}
	if _, n, ok := read("/audit"); ok && n == 0 {
		t.Errorf("GET /audit as %s: no entries at all", a)
	}
	missing, _, _ := read("/audit?request_id=" + w.missing)
	for _, r := range w.requests {
		got, _, _ := read("/audit?request_id=" + r.id)
		w.checks.Add(1)
		if !sees(a, r) && a.role != "admin" && normal(got, r.id) != normal(missing, w.missing) {
			t.Errorf("LEAK: GET /audit?request_id=<%s> as %s: answers unlike a missing request, %s", r, a, firstDifference(normal(got, r.id), normal(missing, w.missing)))
		}
	}

	// Verifying the chain tells the platform's entry count and head: an
	// audit view like the others, for the same readers.
	for _, v := range []struct {
		key string
		web bool
	}{{"POST /audit/verify", true}, {"GET /api/v1/audit/verify", false}} {
		verify := w.eps.get(t, v.key)
		ans := w.do(t, s, call{ep: verify, path: verify.path})
		w.checks.Add(1)
		if want := auditWant(a, v.web); ans.status != want {
			t.Errorf("%s as %s: got %d, want %d\n%s", v.key, a, ans.status, want, short(ans.body))
		}
	}
}
