package workflow

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestTable_matchesContract restates the contract's workflow table (section
// 3 of CONTRACT.md, with section 5's postponement and section 6's delivery in part) independently of Table, so that a change of the table
// that breaks the contract fails here.
func TestTable_matchesContract(t *testing.T) {
	type row struct {
		from  string
		to    State
		side  Side
		roles string
		needs string
	}
	contract := map[Event]row{
		EventSend:        {"drafted", StateSent, SideRequesting, "supervisor", ""},
		EventAcknowledge: {"sent", StateAcknowledged, SideRequested, "officer,supervisor", ""},
		EventRequestInfo: {"acknowledged", StateInfoRequested, SideRequested, "officer,supervisor", "comment"},
		EventProvideInfo: {"info_requested", StateAcknowledged, SideRequesting, "officer,supervisor", "comment"},
		EventExecute:     {"acknowledged", StateExecuted, SideRequested, "supervisor", "comment"},
		EventPostpone:    {"acknowledged", StatePostponed, SideRequested, "supervisor", "comment"},
		EventResume:      {"postponed", StateAcknowledged, SideRequested, "officer,supervisor", ""},
		EventRefuse:      {"sent,acknowledged,info_requested,postponed", StateRefused, SideRequested, "supervisor", "grounds"},
		EventWithdraw:    {"sent,acknowledged,info_requested,postponed", StateWithdrawn, SideRequesting, "supervisor", "comment"},
		EventDeliver:     {"acknowledged", StateAcknowledged, SideRequested, "officer,supervisor", "comment"},
	}
	if len(Table) != len(contract) {
		t.Fatalf("table has %d events, contract %d", len(Table), len(contract))
	}
	join := func(xs any) string {
		switch v := xs.(type) {
		case []State:
			s := make([]string, len(v))
			for i, x := range v {
				s[i] = string(x)
			}
			return strings.Join(s, ",")
		case []Role:
			s := make([]string, len(v))
			for i, x := range v {
				s[i] = string(x)
			}
			return strings.Join(s, ",")
		case []Field:
			s := make([]string, len(v))
			for i, x := range v {
				s[i] = string(x)
			}
			return strings.Join(s, ",")
		}
		return ""
	}
	for _, tr := range Table {
		want, ok := contract[tr.Event]
		if !ok {
			t.Errorf("event %s is not in the contract", tr.Event)
			continue
		}
		got := row{join(tr.From), tr.To, tr.Side, join(tr.Roles), join(tr.Needs)}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", tr.Event, got, want)
		}
	}
}

func TestStates_finalHaveNoWayOut(t *testing.T) {
	for _, s := range States {
		leaving := 0
		for _, tr := range Table {
			if tr.Leaves(s) {
				leaving++
			}
		}
		if s.Final() != (leaving == 0) {
			t.Errorf("state %s: final=%t but %d events leave it", s, s.Final(), leaving)
		}
	}
}

func TestAdvance(t *testing.T) {
	ctx := context.Background()
	for _, s := range States {
		for _, tr := range Table {
			to, err := Advance(ctx, s, tr.Event)
			if tr.Leaves(s) {
				if err != nil || to != tr.To {
					t.Errorf("Advance(%s, %s) = %s, %v; want %s", s, tr.Event, to, err, tr.To)
				}
			} else if ErrorCode(err) != ErrInvalidTransition {
				t.Errorf("Advance(%s, %s) error = %v; want invalid_transition", s, tr.Event, err)
			}
		}
		if _, err := Advance(ctx, s, "teleport"); ErrorCode(err) != ErrValidation {
			t.Errorf("Advance(%s, teleport) error = %v; want validation_failed", s, err)
		}
	}
}

func TestDocument_perKind(t *testing.T) {
	doc := Document()
	for _, k := range Kinds {
		m, ok := doc[k]
		if !ok {
			t.Fatalf("no machine for %s", k)
		}
		if !slices.Equal(m.States, States) || len(m.Events) != len(Table) {
			t.Errorf("%s: %d states, %d events", k, len(m.States), len(m.Events))
		}
		for _, e := range m.Events {
			if e.Requires == nil || e.Roles == nil {
				t.Errorf("%s/%s: nil list would encode as null", k, e.Name)
			}
		}
	}
}

// TestDiagram_golden keeps a rendered diagram of the table under review: any
// change of the workflow shows as a change of testdata/workflow.mmd.
func TestDiagram_golden(t *testing.T) {
	got, err := Diagram("")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "workflow.mmd")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/workflow -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("diagram changed; review and run with -update.\ngot:\n%s\nwant:\n%s", got, want)
	}
}
