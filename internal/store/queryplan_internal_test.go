package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestListRequests_queryPlans checks SQLite's plan of every list query: each
// must walk one index of (column, seq) newest first and stop at the page's
// end, without reading the whole table or sorting what it found, both
// before the planner has statistics and after ANALYZE. Asked as one query
// with OR, the two sides of a scope were read in full and sorted, and so
// were a side's open requests for the worklist's urgent-first order.
func TestListRequests_queryPlans(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{DSN: filepath.Join(t.TempDir(), "mla.db"), AuditKey: bytes.Repeat([]byte{1}, audit.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	open := []workflow.State{workflow.StateSent, workflow.StateAcknowledged, workflow.StateInfoRequested}
	every := workflow.States
	sent := every[1:]
	cursor := s.encodeCursor(requestCursor, 1000)
	both := workflow.Scope{Authority: "IT", RequestingStates: every, RequestedStates: sent}
	// The deadline filters walk the side's index of its running deadlines
	// (the planner may also read its due index for the range of due times
	// and sort what it found, a few of the side's requests).
	sorts := map[string]bool{"overdue": true, "due soon": true}
	cases := []struct {
		name   string
		filter workflow.ListFilter
	}{
		{"incoming", workflow.ListFilter{Scope: workflow.Scope{Authority: "IT", RequestedStates: sent}}},
		{"inbox", workflow.ListFilter{Scope: workflow.Scope{Authority: "IT", RequestedStates: sent}, States: open}},
		{"outgoing", workflow.ListFilter{Scope: workflow.Scope{Authority: "IT", RequestingStates: every}}},
		{"drafts", workflow.ListFilter{Scope: workflow.Scope{Authority: "IT", RequestingStates: every[:1]}}},
		{"both sides", workflow.ListFilter{Scope: both}},
		{"next page", workflow.ListFilter{Scope: both, Cursor: cursor}},
		{"kind", workflow.ListFilter{Scope: both, Kind: workflow.KindExtradition}},
		{"counterpart", workflow.ListFilter{Scope: both, Counterpart: "ES"}},
		{"title", workflow.ListFilter{Scope: both, TitleContains: "bank"}},
		{"worklist", workflow.ListFilter{Scope: workflow.Scope{Authority: "IT", RequestingStates: open, RequestedStates: open}, UrgentFirst: true, DueFirst: true, Limit: 10}},
		{"by due", workflow.ListFilter{Scope: both, DueFirst: true}},
		{"overdue", workflow.ListFilter{Scope: both, DueBefore: time.Now()}},
		{"due soon", workflow.ListFilter{Scope: both, DueFrom: time.Now(), DueBefore: time.Now().Add(workflow.DueSoon)}},
	}
	check := func(t *testing.T) {
		for _, tc := range cases {
			after, err := s.decodeCursor(requestCursor, tc.filter.Cursor)
			if err != nil {
				t.Fatal(err)
			}
			queries := s.listQueries(s.r.WithContext(ctx), tc.filter, listPosition{seq: after}, 51)
			if len(queries) == 0 {
				t.Fatalf("%s: no query", tc.name)
			}
			for _, q := range queries {
				columns := requestColumns
				if inTwoSteps(tc.filter, queries) {
					columns = listKeyColumns(tc.filter)
				}
				stmt := q.db.Select(columns).Session(&gorm.Session{DryRun: true}).Find(&[]requestRow{}).Statement
				plan := explain(t, s, stmt.SQL.String(), stmt.Vars)
				// One index of (column, seq), walked newest first: the
				// side's, or the state's or kind's if the planner expects
				// them to reach the page sooner.
				walksIndex := (strings.HasPrefix(plan, "SEARCH requests USING INDEX ix_requests_") || strings.HasPrefix(plan, "SEARCH requests USING COVERING INDEX ix_requests_")) &&
					(strings.Contains(plan, "_seq (") || strings.Contains(plan, "_due (") || strings.Contains(plan, "_running (") || strings.Contains(plan, "_worklist (")) && !strings.Contains(plan, "MULTI-INDEX")
				if !walksIndex || strings.Contains(plan, "SCAN requests") || strings.Contains(plan, "TEMP B-TREE") && !sorts[tc.name] {
					t.Errorf("%s: plan %q\nof %s", tc.name, plan, stmt.SQL.String())
				} else if testing.Verbose() {
					t.Logf("%s: %s", tc.name, plan)
				}
			}
		}
	}
	t.Run("no statistics", check)

	for i := range 300 {
		r := workflow.Request{
			ID: fmt.Sprintf("r%03d", i), Reference: fmt.Sprintf("IT-MLA-2026-%05d", i), Kind: workflow.KindMLA,
			State: every[i%len(every)], Version: 1, RequestingAuthority: []string{"IT", "ES", "NG", "TH"}[i%4],
			RequestedAuthority: []string{"ES", "IT", "TH", "NG"}[i%4], Title: "t", Urgency: workflow.UrgencyNormal,
			CreatedAt: time.Now(), UpdatedAt: time.Now(),
		}
		if i%7 == 0 {
			r.Kind = workflow.KindExtradition
		}
		if err := s.withTx(ctx, func(t *tx) error { return t.createRequest(ctx, r) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("analyzed", check)
}

// explain returns SQLite's query plan of q, its steps joined by " | ".
func explain(t *testing.T, s *Store, q string, vars []any) string {
	t.Helper()
	rows, err := s.r.Raw("EXPLAIN QUERY PLAN "+q, vars...).Rows()
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	return strings.Join(steps, " | ")
}
