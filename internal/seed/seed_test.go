package seed_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/seed"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// memory is a Sink that keeps everything.
type memory struct {
	requests []workflow.Request
	history  []workflow.HistoryEntry
	audit    []workflow.AuditRecord
	counters map[string]int64
}

func (m *memory) Request(r workflow.Request) error      { m.requests = append(m.requests, r); return nil }
func (m *memory) History(h workflow.HistoryEntry) error { m.history = append(m.history, h); return nil }
func (m *memory) Audit(r workflow.AuditRecord) error    { m.audit = append(m.audit, r); return nil }
func (m *memory) Counter(a string, k workflow.Kind, y int, last int64) {
	if m.counters == nil {
		m.counters = map[string]int64{}
	}
	m.counters[a+string(k)+time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006")] = last
}

// TestGenerate checks that what Generate produces is a history the
// workflow could have written: every transition allowed by the table from
// the state the request was in, by a user of the side and role the table
// names; each request as its last transition left it; the audit records in
// time order with one per change; references unique.
func TestGenerate(t *testing.T) {
	const n = 3000
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	m := &memory{}
	digester := audit.NewDigester(bytes.Repeat([]byte{5}, audit.KeySize))
	st, err := seed.Generate(context.Background(), seed.Options{
		Requests: n, Authorities: []string{"IT", "ES", "NG", "TH"}, End: end, Span: 365 * 24 * time.Hour, Seed: 7,
		Digester: digester,
	}, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.requests) != n || st.Requests != n || int(st.History) != len(m.history) || int(st.Audit) != len(m.audit) {
		t.Fatalf("stats %+v for %d requests, %d history, %d audit", st, len(m.requests), len(m.history), len(m.audit))
	}
	byID := map[string]workflow.Request{}
	refs := map[string]bool{}
	for _, r := range m.requests {
		if refs[r.Reference] {
			t.Fatalf("reference %s given twice", r.Reference)
		}
		refs[r.Reference] = true
		byID[r.ID] = r
		if r.RequestedAuthority == r.RequestingAuthority || !r.Kind.Valid() || !r.State.Valid() {
			t.Fatalf("bad request %+v", r)
		}
		if (r.Kind == workflow.KindExtradition) != (r.PersonSought != nil) {
			t.Fatalf("request %s of kind %s: person sought %v", r.ID, r.Kind, r.PersonSought)
		}
	}
	state := map[string]workflow.State{}
	changes := map[string]int{}
	for _, h := range m.history {
		r, ok := byID[h.RequestID]
		if !ok {
			t.Fatalf("history of an unknown request %s", h.RequestID)
		}
		from := state[h.RequestID]
		if from == "" {
			from = workflow.StateDrafted
		}
		tr, ok := workflow.Lookup(h.Event)
		if !ok || !tr.Leaves(from) || tr.To != h.To || h.From != from {
			t.Fatalf("request %s: %s from %s to %s is not in the table (it was %s)", r.ID, h.Event, h.From, h.To, from)
		}
		side := workflow.SideRequesting
		if h.Authority == r.RequestedAuthority {
			side = workflow.SideRequested
		}
		role := workflow.Role(h.Actor[len(h.Authority)+1:])
		if side != tr.Side || !containsRole(tr.Roles, role) {
			t.Fatalf("request %s: %s fired by %s (%s side), the table says %s side, %v", r.ID, h.Event, h.Actor, side, tr.Side, tr.Roles)
		}
		if tr.NeedsField(workflow.FieldGrounds) != (len(h.Grounds) > 0) {
			t.Fatalf("request %s: %s with grounds %v", r.ID, h.Event, h.Grounds)
		}
		for _, g := range h.Grounds {
			if applies, _ := workflow.GroundApplies(g, r.Kind); !applies {
				t.Fatalf("request %s: ground %s does not apply to %s", r.ID, g, r.Kind)
			}
		}
		if tr.NeedsField(workflow.FieldComment) && h.Comment == "" {
			t.Fatalf("request %s: %s without a comment", r.ID, h.Event)
		}
		if !h.At.Before(end) || h.At.Before(r.CreatedAt) {
			t.Fatalf("request %s: %s at %s, created %s", r.ID, h.Event, h.At, r.CreatedAt)
		}
		state[h.RequestID] = h.To
		changes[h.RequestID]++
	}
	for _, a := range m.audit {
		if a.Action == "request.update" && a.Outcome == workflow.OutcomeOK {
			changes[a.RequestID]++
		}
	}
	for _, r := range m.requests {
		want := state[r.ID]
		if want == "" {
			want = workflow.StateDrafted
		}
		if r.State != want || r.Version != 1+changes[r.ID] {
			t.Fatalf("request %s is %s at version %d; its history says %s at %d", r.ID, r.State, r.Version, want, 1+changes[r.ID])
		}
	}
	okChanges := 0
	for i, a := range m.audit {
		if i > 0 && a.At.Before(m.audit[i-1].At) && a.Action != "auth.login" && m.audit[i-1].Action != "auth.login" {
			t.Fatalf("audit record %d (%s at %s) is older than the one before (%s)", i, a.Action, a.At, m.audit[i-1].At)
		}
		if a.Outcome == workflow.OutcomeOK && a.Action != "auth.login" && a.Action != "request.update" && a.Action != "request.create" {
			okChanges++
		}
	}
	if okChanges != len(m.history) {
		t.Fatalf("%d audit records of transitions, %d transitions", okChanges, len(m.history))
	}
	checkDigests(t, m, digester)
	if len(st.ByState) < 6 {
		t.Fatalf("only states %v", st.ByState)
	}
}

func containsRole(list []workflow.Role, r workflow.Role) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// checkDigests: the generated details are the service's (keyed digests of
// the comments, nothing unclassified), not plain hashes of their own.
func checkDigests(t *testing.T, m *memory, d *audit.Digester) {
	t.Helper()
	comments := map[string]bool{}
	for _, h := range m.history {
		if h.Comment != "" {
			comments[d.Digest(h.Comment)] = true
		}
	}
	digests := 0
	for _, a := range m.audit {
		for k := range a.Details {
			if workflow.ClassOf(k) == workflow.DetailUnclassified {
				t.Fatalf("%s writes the unclassified detail %q", a.Action, k)
			}
		}
		if _, plain := a.Details["comment_sha256"]; plain {
			t.Fatalf("%s writes a plain digest of its comment: %v", a.Action, a.Details)
		}
		if mac, ok := a.Details["comment_hmac"]; ok {
			if !comments[mac.(string)] {
				t.Fatalf("%s: comment_hmac %v is the keyed digest of no comment", a.Action, mac)
			}
			digests++
		}
	}
	if digests == 0 {
		t.Fatal("no comment digest at all")
	}
}
