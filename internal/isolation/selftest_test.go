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
