package isolation

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// leakyPolicy is the contract's policy with two holes, once open: Spain's
// users see the drafts addressed to Spain, and Nigeria's users see what
// Italy's see.
type leakyPolicy struct {
	auth.Policy
	open *atomic.Bool // the fixture is built with the holes closed
}

func (p leakyPolicy) Scope(a workflow.Actor) workflow.Scope {
	s := p.Policy.Scope(a)
	if !p.open.Load() {
		return s
	}
	switch a.Authority {
	case "ES":
		s.RequestedStates = workflow.States
	case "NG":
		s.Authority = "IT"
	}
	return s
}

// recorder collects the errors of checks instead of failing, so that a
// test can assert that they fail.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

// TestIsolation_catchesLeaks proves that the checks are not vacuous: over a
// server whose policy leaks, the per-request checks report every hidden
// request that became readable, on the API and on the pages, and only
// those.
func TestIsolation_catchesLeaks(t *testing.T) {
	holes := &atomic.Bool{}
	w := newWorld(t, testdb.SQLite, leakyPolicy{Policy: auth.NewPolicy(), open: holes}, fixtureSpecs())
	holes.Store(true)
	for _, tc := range []struct {
		actor string
		leaks func(r *fixtureRequest) bool // whose answers the holes change
	}{
		{"es.officer", func(r *fixtureRequest) bool { return r.state == "drafted" && r.requested == "ES" }},
		// Nigeria gets Italy's view: Italy's requests appear, Nigeria's
		// own draft to Italy vanishes; the one it sent is in both views.
		{"ng.auditor", func(r *fixtureRequest) bool { return r.requesting != "NG" || r.state == "drafted" }},
		{"it.officer", func(*fixtureRequest) bool { return false }},
	} {
		for _, key := range []string{"GET /api/v1/requests/:id", "GET /api/v1/requests/:id/history", "GET /requests/:id"} {
			t.Run(tc.actor+" "+key, func(t *testing.T) {
				rec := &recorder{TB: t}
				w.perRequest(rec, w.sessions[tc.actor], w.eps.get(t, key), readOps[key])
				for _, r := range w.requests {
					caught := false
					for _, e := range rec.errs {
						// Each check names the request, then ":" or ",".
						if strings.Contains(e, r.String()+":") || strings.Contains(e, r.String()+",") {
							caught = true
						}
					}
					if caught != tc.leaks(r) {
						t.Errorf("%s reads %s through a leaky policy: reported %v, want %v; reports:\n%s",
							tc.actor, r, caught, tc.leaks(r), strings.Join(rec.errs, "\n"))
					}
				}
			})
		}
	}
}

// detailLeakyPolicy is the contract's policy, but anybody who reads an
// audit entry reads all of its details.
type detailLeakyPolicy struct{ auth.Policy }

func (detailLeakyPolicy) MayReadDetail(workflow.Actor, workflow.AuditEntry, workflow.DetailClass) bool {
	return true
}

// TestIsolation_catchesCaseDetails proves that the audit views' details
// checks are not vacuous: over a policy that lets everybody read every
// detail, they report the grounds and the digests that the admin reads, on
// the API and on the pages.
func TestIsolation_catchesCaseDetails(t *testing.T) {
	w := newWorld(t, testdb.SQLite, detailLeakyPolicy{auth.NewPolicy()}, fixtureSpecs())
	admin := w.sessions["admin"]
	for name, view := range map[string]func(testing.TB, *session){"api": w.apiAudit, "web": w.webAudit} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{TB: t}
			view(rec, admin)
			all := strings.Join(rec.errs, "\n")
			for _, key := range []string{"grounds", "comment_hmac", "content_hmac"} {
				if !strings.Contains(all, fmt.Sprintf("holds case content, detail %q", key)) {
					t.Errorf("the admin reads %s through a leaky policy, unreported; reports:\n%s", key, all)
				}
			}
		})
	}
}

// protectedLeakyPolicy is the contract's policy, but the auditors of a
// request's two sides see who its protected persons are.
type protectedLeakyPolicy struct{ auth.Policy }

func (p protectedLeakyPolicy) MaySeeProtected(a workflow.Actor, r workflow.Request) bool {
	return p.Policy.MaySeeProtected(a, r) || a.Role == workflow.RoleAuditor
}

// TestIsolation_catchesProtectedPersons proves that the checks of
// protected persons are not vacuous. Over a policy that shows them to
// auditors, the single-request answer's checks report exactly the requests
// with a protected person that the auditor sees, and nothing for an
// officer. An answer that shows them where no answer may (a list, the audit
// log, another caller's answer) is reported, and so is a disclosure that
// left no person.view entry, or an entry without a disclosure.
func TestIsolation_catchesProtectedPersons(t *testing.T) {
	w := newWorld(t, testdb.SQLite, protectedLeakyPolicy{auth.NewPolicy()}, fixtureSpecs())
	view := w.eps.get(t, "GET /api/v1/requests/:id")
	seenBy := func(name string) func(r *fixtureRequest) bool {
		return func(r *fixtureRequest) bool { return hasProtected(r.n) && sees(w.sessions[name].a, r) }
	}
	for _, tc := range []struct {
		actor string
		leaks func(r *fixtureRequest) bool
	}{
		{"it.auditor", seenBy("it.auditor")},
		{"es.auditor", seenBy("es.auditor")},
		{"ng.auditor", seenBy("ng.auditor")}, // Nigeria's own requests to Italy
		{"it.officer", func(*fixtureRequest) bool { return false }},
		{"admin", func(*fixtureRequest) bool { return false }},
	} {
		t.Run(tc.actor, func(t *testing.T) {
			rec := &recorder{TB: t}
			w.perRequest(rec, w.sessions[tc.actor], view, readOps[view.key()])
			for _, r := range w.requests {
				caught := false
				for _, e := range rec.errs {
					if strings.Contains(e, r.String()+" (") && strings.Contains(e, "protected person") {
						caught = true
					}
				}
				if caught != tc.leaks(r) {
					t.Errorf("%s reads %s through a policy that shows protected persons to auditors: reported %v, want %v; reports:\n%s",
						tc.actor, r, caught, tc.leaks(r), strings.Join(rec.errs, "\n"))
				}
			}
		})
	}

	// An answer that shows who a protected person is, given where it may
	// not be: the disclosing answer of an officer, as if it were a list,
	// an audit view, or the answer to another caller.
	var r *fixtureRequest
	for _, x := range w.requests {
		if hasProtected(x.n) && x.requesting == requesting && x.state == "sent" {
			r = x
		}
	}
	officer := w.sessions["it.officer"]
	disclosing := w.do(t, officer, call{ep: view, path: "/api/v1/requests/" + r.id})
	if !strings.Contains(string(disclosing.body), r.persons[1].name) {
		t.Fatalf("the answer to %s about %s does not disclose its protected person: %s", officer.a, r, short(disclosing.body))
	}
	for _, tc := range []struct {
		name, key, path string
		as              *session
	}{
		{"list", "GET /api/v1/requests", "/api/v1/requests", officer},
		{"history", "GET /api/v1/requests/:id/history", "/api/v1/requests/" + r.id + "/history", officer},
		{"audit view", "GET /api/v1/audit", "/api/v1/audit", w.sessions["it.auditor"]},
		{"another request's answer", view.key(), "/api/v1/requests/" + w.requests[0].id, officer},
		{"an auditor's answer", view.key(), "/api/v1/requests/" + r.id, w.sessions["it.auditor"]},
		{"an auditor's page", "GET /requests/:id", "/requests/" + r.id, w.sessions["it.auditor"]},
		{"the page of a refused event", "POST /requests/:id/events/:event", "/requests/" + r.id + "/events/execute", officer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			w.scan(rec, tc.as.a, w.eps.get(t, tc.key), tc.path, tc.path, disclosing)
			for _, field := range []string{"protname", "protalias", "protnationality", "protlocation", "protbirth"} {
				if !strings.Contains(strings.Join(rec.errs, "\n"), "holds the "+field+" of a protected person of "+r.String()) {
					t.Errorf("%s shows the %s of %s's protected person, unreported; reports:\n%s", tc.name, field, r, strings.Join(rec.errs, "\n"))
				}
			}
		})
	}

	// The same answer is no leak as the officer's own single-request
	// answer or page, and counts as a disclosure.
	for _, key := range disclosingViews {
		rec := &recorder{TB: t}
		path := strings.Replace(w.eps.get(t, key).path, ":id", r.id, 1)
		got := w.scan(rec, officer.a, w.eps.get(t, key), path, path, disclosing)
		if len(rec.errs) != 0 || len(got) != 1 || got[0] != r {
			t.Errorf("%s as %s: reported %q and disclosed %v, want nothing and the disclosure of %s", key, officer.a, rec.errs, got, r)
		}
	}

	// A page that shows the persons shows the protected one to whom it
	// may; one that shows none is not checked yet.
	for _, tc := range []struct {
		name    string
		body    string
		as      actor
		reports bool
	}{
		{"an officer's page without the protected person", r.persons[0].name, officer.a, true},
		{"an officer's page with both", r.persons[0].name + " " + r.persons[1].name, officer.a, false},
		{"an auditor's page without the protected person", r.persons[0].name, w.sessions["it.auditor"].a, false},
		{"a page without persons", r.title, officer.a, false},
	} {
		rec := &recorder{TB: t}
		w.checkPagePersons(rec, "the self-test", tc.as, r, []byte(tc.body))
		if (len(rec.errs) > 0) != tc.reports {
			t.Errorf("%s: reported %q, want a report: %v", tc.name, rec.errs, tc.reports)
		}
	}

	// The disclosure audit: one answer more than the log records, or one
	// fewer, is reported.
	for _, tc := range []struct {
		name  string
		delta int
	}{{"a disclosure without its entry", 1}, {"an entry without its disclosure", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			w.mu.Lock()
			w.disclosures[officer.a.name+" "+r.id] += tc.delta
			w.mu.Unlock()
			defer func() {
				w.mu.Lock()
				w.disclosures[officer.a.name+" "+r.id] -= tc.delta
				w.mu.Unlock()
			}()
			rec := &recorder{TB: t}
			w.checkDisclosureAudit(rec, "the self-test", officer.a, r)
			if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "person.view entries") {
				t.Errorf("%s: reported %q, want the count of person.view entries", tc.name, rec.errs)
			}
		})
	}
	rec := &recorder{TB: t}
	w.checkDisclosureAudit(rec, "the self-test", officer.a, r)
	if len(rec.errs) != 0 {
		t.Errorf("the disclosures of %s to %s, as they are: reported %q, want nothing", r, officer.a, rec.errs)
	}
}

// TestIsolation_findsBirthDates proves that the scan finds the fixture's
// dates of birth however an answer writes them, and nothing else.
func TestIsolation_findsBirthDates(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []mark
	}{
		{`"date_of_birth":"1905-05-17"`, []mark{{5, "birth", "1905-05-17"}}},
		{"Born 1912-11-23.", []mark{{12, "protbirth", "1912-11-23"}}},
		{"born 17 May 1907, and 23 November 1903", []mark{{7, "birth", "17 May 1907"}, {3, "protbirth", "23 November 1903"}}},
		{"born November 23, 1911", []mark{{11, "protbirth", "November 23, 1911"}}},
		{"2026-05-17 11905-05-17 2019-11-23 17 May 2026 23 November 19", nil},
	} {
		if got := findBirthDates(tc.text); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("findBirthDates(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
