package isolation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// listFilter is one query of a list and which requests it keeps, stated
// from the caller's side.
type listFilter struct {
	query url.Values
	keep  func(a actor, r *fixtureRequest) bool
}

// everyRequest is the filter that keeps every request.
func everyRequest(actor, *fixtureRequest) bool { return true }

// apiListFilters are the queries of GET /api/v1/requests: every direction
// with every state, each kind, each counterpart, and a search for each
// request's title.
func (w *world) apiListFilters() []listFilter {
	var out []listFilter
	directions := []struct {
		name string
		side workflow.Side
	}{{"", ""}, {"incoming", "requested"}, {"outgoing", "requesting"}}
	for _, d := range directions {
		for _, st := range append([]workflow.State{""}, contractStates...) {
			q := url.Values{}
			if d.name != "" {
				q.Set("direction", d.name)
			}
			if st != "" {
				q.Set("state", string(st))
			}
			out = append(out, listFilter{q, func(a actor, r *fixtureRequest) bool {
				return (d.side == "" || a.sideOf(r) == d.side) && (st == "" || r.state == st)
			}})
		}
	}
	for _, k := range workflow.Kinds {
		out = append(out, listFilter{url.Values{"kind": {string(k)}}, func(_ actor, r *fixtureRequest) bool { return r.kind == k }})
	}
	for _, cp := range []string{"IT", "ES", "NG", "TH"} {
		out = append(out, listFilter{url.Values{"counterpart": {cp}}, func(a actor, r *fixtureRequest) bool {
			return (a.sideOf(r) == "requesting" && r.requested == cp) || (a.sideOf(r) == "requested" && r.requesting == cp)
		}})
	}
	out = append(out, listFilter{url.Values{"q": {"secret"}}, everyRequest}) // every title, in another case
	out = append(out, listFilter{url.Values{"state": {"drafted,sent"}, "direction": {"incoming"}}, func(a actor, r *fixtureRequest) bool {
		return a.sideOf(r) == "requested" && (r.state == "drafted" || r.state == "sent")
	}})
	out = append(out, listFilter{url.Values{"state": {"drafted", "executed"}, "kind": {"extradition"}}, func(_ actor, r *fixtureRequest) bool {
		return r.kind == "extradition" && (r.state == "drafted" || r.state == "executed")
	}})
	for _, r := range w.requests {
		out = append(out, listFilter{url.Values{"q": {r.title}}, func(_ actor, x *fixtureRequest) bool { return x == r }})
	}
	// A search finds no request by who its protected persons are
	// (CONTRACT.md section 9 searches the unprotected persons' names only).
	for _, r := range w.requests {
		for _, p := range r.persons {
			if p.protected {
				out = append(out, listFilter{url.Values{"q": {p.name}}, func(actor, *fixtureRequest) bool { return false }})
			}
		}
	}
	// CONTRACT.md section 5: the deadline filters, alone and with a
	// direction; the order by due time keeps every request.
	overdue := func(_ actor, r *fixtureRequest) bool { return r.overdue }
	dueSoon := func(_ actor, r *fixtureRequest) bool { return r.dueSoon }
	incoming := func(keep func(actor, *fixtureRequest) bool) func(actor, *fixtureRequest) bool {
		return func(a actor, r *fixtureRequest) bool { return a.sideOf(r) == "requested" && keep(a, r) }
	}
	out = append(out,
		listFilter{url.Values{"deadline": {"overdue"}}, overdue},
		listFilter{url.Values{"deadline": {"due_soon"}}, dueSoon},
		listFilter{url.Values{"deadline": {"overdue"}, "direction": {"incoming"}}, incoming(overdue)},
		listFilter{url.Values{"deadline": {"due_soon"}, "direction": {"incoming"}, "sort": {"due"}}, incoming(dueSoon)},
		listFilter{url.Values{"sort": {"due"}}, everyRequest},
		listFilter{url.Values{"sort": {"due"}, "kind": {"extradition"}}, func(_ actor, r *fixtureRequest) bool { return r.kind == "extradition" }},
	)
	return out
}

// visibleIDs lists the ids of the fixture requests a sees that keep keeps.
func (w *world) visibleIDs(a actor, keep func(actor, *fixtureRequest) bool) []string {
	out := []string{}
	for _, r := range w.requests {
		if sees(a, r) && keep(a, r) {
			out = append(out, r.id)
		}
	}
	sort.Strings(out)
	return out
}

// names turns ids into "kind/state" for messages.
func (w *world) names(ids []string) []string {
	out := []string{}
	for _, id := range ids {
		name := "unknown " + id
		for _, r := range w.requests {
			if r.id == id {
				name = r.requesting + "→" + r.requested + " " + string(r.kind) + "/" + string(r.state)
			}
		}
		out = append(out, name)
	}
	return out
}

// sameIDs fails unless got and want hold the same ids.
func (w *world) sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	w.checks.Add(1)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s: lists %v, want exactly %v", what, w.names(got), w.names(want))
	}
}

// pageOfRequests is the API's list answer.
type pageOfRequests struct {
	Items []struct {
		ID      string          `json:"id"`
		Persons json.RawMessage `json:"persons"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// checkListPersons checks the persons of every item of a list: the
// unprotected ones whole, the protected ones concealed (CONTRACT.md section
// 5: lists never disclose them).
func (w *world) checkListPersons(t *testing.T, what string, p pageOfRequests) {
	t.Helper()
	for _, it := range p.Items {
		for _, r := range w.requests {
			if r.id == it.ID {
				w.checkPersons(t, what, r, it.Persons, false)
			}
		}
	}
}

func (p pageOfRequests) ids() []string {
	out := []string{}
	for _, it := range p.Items {
		out = append(out, it.ID)
	}
	return out
}

// testLists checks every list, count and worklist of the API and the
// pages against the fixture requests each actor sees.
func (w *world) testLists(t *testing.T) {
	list := w.eps.get(t, "GET /api/v1/requests")
	counts := w.eps.get(t, "GET /api/v1/requests/counts")
	waiting := w.eps.get(t, "GET /api/v1/requests/waiting")
	overdue := slices.IndexFunc(w.requests, func(r *fixtureRequest) bool { return r.overdue && r.requested == requested })
	dueSoon := slices.IndexFunc(w.requests, func(r *fixtureRequest) bool { return r.dueSoon && r.requested == requested })
	if overdue < 0 || dueSoon < 0 {
		t.Fatalf("the fixture has no request to %s overdue, or none due soon: the deadline filters would prove nothing", requested)
	}
	w.forEachActor(t, func(t *testing.T, s *session) {
		w.apiLists(t, s, list, counts, waiting)
		w.webLists(t, s)
		w.dashboard(t, s)
	})
}

// apiLists checks the API's lists as s: every filter, page by page, the
// counts and the waiting list hold exactly what s's role and authority
// see. The API keys' check runs it for each key as well.
func (w *world) apiLists(t *testing.T, s *session, list, counts, waiting *endpoint) {
	t.Helper()
	a := s.a
	for _, f := range w.apiListFilters() {
		q := url.Values{"limit": {"200"}}
		for k, v := range f.query {
			q[k] = v
		}
		what := list.key() + "?" + q.Encode() + " as " + a.String()
		ans := w.do(t, s, call{ep: list, path: list.path + "?" + q.Encode()})
		if !w.apiAnswer(t, what, a, ans) {
			continue
		}
		var p pageOfRequests
		if decode(t, what, ans, &p) {
			w.sameIDs(t, what, p.ids(), w.visibleIDs(a, f.keep))
			w.checkListPersons(t, what, p)
			if p.NextCursor != nil {
				t.Errorf("%s: a next page after %d items of at most %d", what, len(p.Items), len(w.requests))
			}
		}
	}
	w.walkPages(t, s, list, url.Values{})
	w.walkPages(t, s, list, url.Values{"sort": {"due"}})

	what := counts.key() + " as " + a.String()
	ans := w.do(t, s, call{ep: counts, path: counts.path})
	if w.apiAnswer(t, what, a, ans) {
		var got map[string]map[string]int
		if decode(t, what, ans, &got) {
			w.checks.Add(1)
			if want := w.wantCounts(a); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: got %v, want %v", what, got, want)
			}
		}
	}

	what = waiting.key() + " as " + a.String()
	ans = w.do(t, s, call{ep: waiting, path: waiting.path + "?limit=200"})
	if w.apiAnswer(t, what, a, ans) {
		var p pageOfRequests
		if decode(t, what, ans, &p) {
			w.sameIDs(t, what, p.ids(), w.visibleIDs(a, waitsFor))
			w.checkListPersons(t, what, p)
		}
	}

}

// apiAnswer checks the status of a list answer: 401 without a sign-in, 200
// otherwise. It tells whether there is a list to read.
func (w *world) apiAnswer(t *testing.T, what string, a actor, ans answer) bool {
	t.Helper()
	w.checks.Add(1)
	want := http.StatusOK
	if a.role == anonymous {
		want = http.StatusUnauthorized
	}
	if ans.status != want {
		t.Errorf("%s: got %d, want %d\n%s", what, ans.status, want, short(ans.body))
	}
	return ans.status == http.StatusOK && want == http.StatusOK
}

// walkPages reads the whole list in the order of query one item per page:
// the pages together hold exactly the visible requests, and no cursor leads
// elsewhere.
func (w *world) walkPages(t *testing.T, s *session, list *endpoint, query url.Values) {
	t.Helper()
	if s.a.role == anonymous {
		return
	}
	query.Set("limit", "1")
	what := list.key() + "?" + query.Encode() + ", page by page, as " + s.a.String()
	var got []string
	path := list.path + "?" + query.Encode()
	for range len(w.requests) + 1 {
		ans := w.do(t, s, call{ep: list, path: path})
		var p pageOfRequests
		if ans.status != http.StatusOK || !decode(t, what, ans, &p) {
			t.Errorf("%s: %d %s", what, ans.status, short(ans.body))
			return
		}
		got = append(got, p.ids()...)
		if p.NextCursor == nil {
			w.sameIDs(t, what, got, w.visibleIDs(s.a, everyRequest))
			return
		}
		query.Set("cursor", *p.NextCursor)
		path = list.path + "?" + query.Encode()
	}
	t.Errorf("%s: more pages than requests", what)
}

// wantCounts is the counts answer due to a: every state on both sides.
func (w *world) wantCounts(a actor) map[string]map[string]int {
	out := map[string]map[string]int{"incoming": {}, "outgoing": {}}
	for _, s := range contractStates {
		out["incoming"][string(s)], out["outgoing"][string(s)] = 0, 0
	}
	for _, r := range w.requests {
		switch {
		case !sees(a, r):
		case a.sideOf(r) == "requested":
			out["incoming"][string(r.state)]++
		case a.sideOf(r) == "requesting":
			out["outgoing"][string(r.state)]++
		}
	}
	return out
}

// idsOnPage are the requests a page links to.
var idsOnPage = regexp.MustCompile(`href="/requests/([0-9a-z]{26})"`)

func pageIDs(body []byte) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, m := range idsOnPage.FindAllSubmatch(body, -1) {
		if id := string(m[1]); !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// webBox is one request table of the pages, and what it holds.
type webBox struct {
	key    string
	states []workflow.State // its state filter's values
	holds  func(a actor, r *fixtureRequest) bool
}

var webBoxes = []webBox{
	{"GET /inbox", contractStates[1:], func(a actor, r *fixtureRequest) bool {
		return a.sideOf(r) == "requested" && r.state != "drafted"
	}},
	{"GET /outbox", contractStates[1:], func(a actor, r *fixtureRequest) bool {
		return a.sideOf(r) == "requesting" && r.state != "drafted"
	}},
	{"GET /drafts", contractStates[:1], func(a actor, r *fixtureRequest) bool {
		return a.sideOf(r) == "requesting" && r.state == "drafted"
	}},
}

// webLists checks the inbox, outbox and drafts, unfiltered and with each
// filter, as s's actor.
func (w *world) webLists(t *testing.T, s *session) {
	t.Helper()
	a := s.a
	for _, b := range webBoxes {
		ep := w.eps.get(t, b.key)
		filters := []listFilter{{url.Values{}, everyRequest}}
		for _, st := range b.states {
			filters = append(filters, listFilter{url.Values{"state": {string(st)}}, func(_ actor, r *fixtureRequest) bool { return r.state == st }})
		}
		for _, k := range workflow.Kinds {
			filters = append(filters, listFilter{url.Values{"kind": {string(k)}}, func(_ actor, r *fixtureRequest) bool { return r.kind == k }})
		}
		for _, cp := range []string{"IT", "ES", "NG", "TH"} {
			if cp == a.authority {
				continue // not offered: one's own authority is no counterpart
			}
			filters = append(filters, listFilter{url.Values{"counterpart": {cp}}, func(a actor, r *fixtureRequest) bool {
				return (a.sideOf(r) == "requesting" && r.requested == cp) || (a.sideOf(r) == "requested" && r.requesting == cp)
			}})
		}
		for _, r := range w.requests {
			filters = append(filters, listFilter{url.Values{"q": {r.title}}, func(_ actor, x *fixtureRequest) bool { return x == r }})
		}
		for _, f := range filters {
			path := ep.path
			if len(f.query) > 0 {
				path += "?" + f.query.Encode()
			}
			what := ep.method + " " + path + " as " + a.String()
			ans := w.do(t, s, call{ep: ep, path: path})
			if !w.pageAnswer(t, what, ep, a, ans) {
				continue
			}
			w.sameIDs(t, what, pageIDs(ans.body), w.visibleIDs(a, func(a actor, r *fixtureRequest) bool {
				return b.holds(a, r) && f.keep(a, r)
			}))
		}
	}
}

// pageAnswer checks the status of a page that is not about one request:
// the log-in redirect without a session, 403 for a role the page is not
// for, 200 otherwise. It tells whether there is a page to read.
func (w *world) pageAnswer(t *testing.T, what string, ep *endpoint, a actor, ans answer) bool {
	t.Helper()
	w.checks.Add(1)
	want := http.StatusOK
	switch {
	case a.role == anonymous:
		want = http.StatusSeeOther
	case ep.pages != nil && !slices.Contains(ep.pages, a.role):
		want = http.StatusForbidden
	}
	if ans.status != want {
		t.Errorf("%s: got %d, want %d\n%s", what, ans.status, want, short(ans.body))
	}
	if want == http.StatusSeeOther && !strings.HasPrefix(ans.header.Get("Location"), "/login") {
		t.Errorf("%s: redirects to %q, want the log-in page", what, ans.header.Get("Location"))
	}
	return ans.status == http.StatusOK && want == http.StatusOK
}

var (
	dashIncoming = regexp.MustCompile(`<a href="/inbox\?state=([a-z_]+)">(\d+)</a>`)
	dashOutgoing = regexp.MustCompile(`<a href="/outbox\?state=([a-z_]+)">(\d+)</a>`)
	dashDrafts   = regexp.MustCompile(`<a href="/drafts">(\d+)</a>`)
	dashTotals   = regexp.MustCompile(`<th scope="row">Total</th><td class="num">(\d+)</td><td class="num">(\d+)</td>`)
)

// dashboard checks the dashboard: the worklist holds exactly the requests
// waiting for the actor, and the table of counts shows the visible ones.
func (w *world) dashboard(t *testing.T, s *session) {
	t.Helper()
	ep := w.eps.get(t, "GET /")
	what := "GET / as " + s.a.String()
	ans := w.do(t, s, call{ep: ep, path: "/"})
	if !w.pageAnswer(t, what, ep, s.a, ans) {
		return
	}
	// The worklist's panel only: the overdue panel above it lists other
	// requests, which the deadline lists' checks cover.
	waitingPanel := ans.body
	if _, rest, ok := bytes.Cut(ans.body, []byte(`id="waiting-title"`)); ok {
		waitingPanel, _, _ = bytes.Cut(rest, []byte(`id="counts-title"`))
	}
	w.sameIDs(t, what+" (waiting for you)", pageIDs(waitingPanel), w.visibleIDs(s.a, waitsFor))

	want := w.wantCounts(s.a)
	got := map[string]map[string]int{"incoming": {}, "outgoing": {}}
	for _, m := range dashIncoming.FindAllStringSubmatch(string(ans.body), -1) {
		got["incoming"][m[1]], _ = strconv.Atoi(m[2])
	}
	for _, m := range dashOutgoing.FindAllStringSubmatch(string(ans.body), -1) {
		got["outgoing"][m[1]], _ = strconv.Atoi(m[2])
	}
	if m := dashDrafts.FindStringSubmatch(string(ans.body)); m != nil {
		got["outgoing"]["drafted"], _ = strconv.Atoi(m[1])
	}
	nonZero := map[string]map[string]int{"incoming": {}, "outgoing": {}}
	totals := [2]int{}
	for i, side := range []string{"incoming", "outgoing"} {
		for st, n := range want[side] {
			if n > 0 {
				nonZero[side][st] = n
				totals[i] += n
			}
		}
	}
	w.checks.Add(1)
	if fmt.Sprint(got) != fmt.Sprint(nonZero) {
		t.Errorf("%s: counts %v, want %v", what, got, nonZero)
	}
	readsCases := slices.Contains(casePages, s.a.role)
	m := dashTotals.FindStringSubmatch(string(ans.body))
	switch {
	case readsCases && m == nil:
		t.Errorf("%s: no totals row", what)
	case readsCases && (m[1] != strconv.Itoa(totals[0]) || m[2] != strconv.Itoa(totals[1])):
		t.Errorf("%s: totals %s in, %s out, want %d, %d", what, m[1], m[2], totals[0], totals[1])
	case !readsCases && m != nil:
		t.Errorf("%s: a table of counts for a role that sees no requests", what)
	}
}

// nextLink is the link to the older page of a paged table.
var nextLink = regexp.MustCompile(`<a href="([^"]*)" class="button button--secondary" rel="next">`)

func nextPage(body []byte) string {
	m := nextLink.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(string(m[1]))
}
