package auth

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// contractGrants is the "acting side" and "roles" columns of CONTRACT.md
// section 3, written out by hand so that the test does not merely repeat
// workflow.Table.
var contractGrants = map[workflow.Event]map[string]bool{
	workflow.EventSend:        {"requesting/supervisor": true},
	workflow.EventAcknowledge: {"requested/officer": true, "requested/supervisor": true},
	workflow.EventRequestInfo: {"requested/officer": true, "requested/supervisor": true},
	workflow.EventProvideInfo: {"requesting/officer": true, "requesting/supervisor": true},
	workflow.EventExecute:     {"requested/supervisor": true},
	workflow.EventRefuse:      {"requested/supervisor": true},
	workflow.EventWithdraw:    {"requesting/supervisor": true},
	// CONTRACT 5.
	workflow.EventPostpone: {"requested/supervisor": true},
	workflow.EventResume:   {"requested/officer": true, "requested/supervisor": true},
	// CONTRACT 6.
	workflow.EventDeliver: {"requested/officer": true, "requested/supervisor": true},
}

// sides of a request between IT (requesting) and ES (requested), and NG,
// which is neither.
var sideAuthority = map[string]string{"requesting": "IT", "requested": "ES", "third": "NG"}

func testRequest(state workflow.State) workflow.Request {
	return workflow.Request{ID: "r1", Kind: workflow.KindMLA, State: state, RequestingAuthority: "IT", RequestedAuthority: "ES"}
}

func actorFor(role workflow.Role, side string) workflow.Actor {
	a := workflow.Actor{UserID: "u", Username: "someone", Role: role}
	if role.NeedsAuthority() {
		a.Authority = sideAuthority[side]
	}
	return a
}

func TestPolicy_MayFire(t *testing.T) {
	p := NewPolicy()
	if len(contractGrants) != len(workflow.Table) {
		t.Fatalf("the table has %d events, the contract %d", len(workflow.Table), len(contractGrants))
	}
	for _, tr := range workflow.Table {
		for _, role := range workflow.Roles {
			for _, side := range []string{"requesting", "requested", "third"} {
				name := fmt.Sprintf("%s/%s/%s", tr.Event, side, role)
				t.Run(name, func(t *testing.T) {
					want := contractGrants[tr.Event][side+"/"+string(role)]
					got := p.MayFire(actorFor(role, side), testRequest(tr.From[0]), tr)
					if got != want {
						t.Fatalf("MayFire = %v, want %v", got, want)
					}
				})
			}
		}
	}
}

func TestPolicy_MayFire_auditorNeverWrites(t *testing.T) {
	// Even a table row that named auditors would not let them act.
	tr := workflow.Transition{Event: "x", Side: workflow.SideRequested, Roles: []workflow.Role{workflow.RoleAuditor}}
	if NewPolicy().MayFire(actorFor(workflow.RoleAuditor, "requested"), testRequest(workflow.StateSent), tr) {
		t.Fatal("an auditor may fire, want never")
	}
}

func TestPolicy_Scope(t *testing.T) {
	p := NewPolicy()
	for _, role := range workflow.Roles {
		for _, side := range []string{"requesting", "requested", "third"} {
			for _, state := range workflow.States {
				t.Run(fmt.Sprintf("%s/%s/%s", role, side, state), func(t *testing.T) {
					want := role.NeedsAuthority() &&
						(side == "requesting" || side == "requested" && state != workflow.StateDrafted)
					got := p.Scope(actorFor(role, side)).Includes(testRequest(state))
					if got != want {
						t.Fatalf("visible = %v, want %v", got, want)
					}
				})
			}
		}
	}
}

func TestPolicy_ScopeOfNoAuthority(t *testing.T) {
	for _, role := range []workflow.Role{workflow.RoleAdmin, workflow.RoleTrainer} {
		s := NewPolicy().Scope(workflow.Actor{Username: "x", Role: role})
		if s.Authority != "" || len(s.RequestingStates)+len(s.RequestedStates) != 0 {
			t.Errorf("%s: scope %+v, want empty", role, s)
		}
	}
	// An officer record without an authority (a broken account) sees nothing
	// rather than everything.
	if s := NewPolicy().Scope(workflow.Actor{Role: workflow.RoleOfficer}); s.Authority != "" {
		t.Errorf("officer without authority: scope %+v, want empty", s)
	}
}

func TestPolicy_MayCreateAndEdit(t *testing.T) {
	p := NewPolicy()
	tests := []struct {
		role       workflow.Role
		side       string
		wantCreate bool
		wantEdit   bool
	}{
		{workflow.RoleOfficer, "requesting", true, true},
		{workflow.RoleSupervisor, "requesting", true, true},
		{workflow.RoleAuditor, "requesting", false, false},
		{workflow.RoleOfficer, "requested", true, false},
		{workflow.RoleSupervisor, "requested", true, false},
		{workflow.RoleAuditor, "requested", false, false},
		{workflow.RoleOfficer, "third", true, false},
		{workflow.RoleSupervisor, "third", true, false},
		{workflow.RoleAdmin, "", false, false},
		{workflow.RoleTrainer, "", false, false},
	}
	for _, tc := range tests {
		t.Run(string(tc.role)+"/"+tc.side, func(t *testing.T) {
			a := actorFor(tc.role, tc.side)
			if got := p.MayCreate(a); got != tc.wantCreate {
				t.Errorf("MayCreate = %v, want %v", got, tc.wantCreate)
			}
			if got := p.MayEdit(a, testRequest(workflow.StateDrafted)); got != tc.wantEdit {
				t.Errorf("MayEdit = %v, want %v", got, tc.wantEdit)
			}
		})
	}
	if p.MayCreate(workflow.Actor{Role: workflow.RoleOfficer}) {
		t.Error("an officer without authority may create, want not")
	}
}

func TestPolicy_AuditScope(t *testing.T) {
	p := NewPolicy()
	tests := []struct {
		actor         workflow.Actor
		wantAuthority string
		wantAll       bool
		wantOK        bool
	}{
		{workflow.Actor{Role: workflow.RoleAdmin}, "", true, true},
		{workflow.Actor{Role: workflow.RoleAuditor, Authority: "IT"}, "IT", false, true},
		{workflow.Actor{Role: workflow.RoleAuditor}, "", false, false},
		{workflow.Actor{Role: workflow.RoleOfficer, Authority: "IT"}, "", false, false},
		{workflow.Actor{Role: workflow.RoleSupervisor, Authority: "IT"}, "", false, false},
		{workflow.Actor{Role: workflow.RoleTrainer}, "", false, false},
		{workflow.Actor{}, "", false, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s", tc.actor.Role, tc.actor.Authority), func(t *testing.T) {
			authority, all, ok := p.AuditScope(tc.actor)
			if authority != tc.wantAuthority || all != tc.wantAll || ok != tc.wantOK {
				t.Fatalf("AuditScope = (%q, %v, %v), want (%q, %v, %v)", authority, all, ok, tc.wantAuthority, tc.wantAll, tc.wantOK)
			}
		})
	}
}

// TestPolicy_MayReadDetail: metadata for every reader of an entry; case
// content and digests for an auditor of the entry's authority only, never
// the admin; an unclassified detail for nobody.
func TestPolicy_MayReadDetail(t *testing.T) {
	p := NewPolicy()
	esEntry := workflow.AuditEntry{Authority: "ES", RequestID: "r1", Action: "request.refuse"}
	platformEntry := workflow.AuditEntry{Action: "user.create"}
	admin := workflow.Actor{Role: workflow.RoleAdmin}
	esAuditor := workflow.Actor{Role: workflow.RoleAuditor, Authority: "ES"}
	itAuditor := workflow.Actor{Role: workflow.RoleAuditor, Authority: "IT"}
	esOfficer := workflow.Actor{Role: workflow.RoleOfficer, Authority: "ES"}
	tests := []struct {
		name  string
		actor workflow.Actor
		entry workflow.AuditEntry
		want  map[workflow.DetailClass]bool
	}{
		{"admin", admin, esEntry, map[workflow.DetailClass]bool{workflow.DetailMeta: true}},
		{"admin, platform entry", admin, platformEntry, map[workflow.DetailClass]bool{workflow.DetailMeta: true}},
		{"auditor of the entry's authority", esAuditor, esEntry, map[workflow.DetailClass]bool{
			workflow.DetailMeta: true, workflow.DetailCase: true, workflow.DetailDigest: true}},
		{"auditor of another authority", itAuditor, esEntry, map[workflow.DetailClass]bool{workflow.DetailMeta: true}},
		{"auditor, platform entry", esAuditor, platformEntry, map[workflow.DetailClass]bool{workflow.DetailMeta: true}},
		{"officer", esOfficer, esEntry, map[workflow.DetailClass]bool{workflow.DetailMeta: true}},
	}
	classes := []workflow.DetailClass{workflow.DetailUnclassified, workflow.DetailMeta, workflow.DetailCase, workflow.DetailDigest}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range classes {
				if got := p.MayReadDetail(tc.actor, tc.entry, c); got != tc.want[c] {
					t.Errorf("MayReadDetail(class %d) = %v, want %v", c, got, tc.want[c])
				}
			}
		})
	}
}

// TestAudience_matchesScope checks workflow.Audience, which the outbox
// addresses its messages by, against the Policy's Scope: in every state,
// the authorities it names are those whose officers see the request.
func TestAudience_matchesScope(t *testing.T) {
	p := Policy{}
	for _, st := range workflow.States {
		r := workflow.Request{State: st, RequestingAuthority: "IT", RequestedAuthority: "ES"}
		var want []string
		for _, code := range []string{"ES", "IT"} {
			if p.Scope(workflow.Actor{Username: "x", Role: workflow.RoleOfficer, Authority: code}).Includes(r) {
				want = append(want, code)
			}
		}
		if got := workflow.Audience(r); !slices.Equal(got, want) {
			t.Errorf("%s: Audience = %v, the Policy lets %v see it", st, got, want)
		}
	}
}

// TestPolicy_messages: the officers and supervisors of the two sides post;
// whoever sees the request sees its thread, but an internal message only
// the author's authority.
func TestPolicy_messages(t *testing.T) {
	p := NewPolicy()
	r := testRequest(workflow.StateAcknowledged)
	for _, side := range []string{"requesting", "requested", "third"} {
		for _, role := range workflow.Roles {
			a := actorFor(role, side)
			posts := side != "third" && (role == workflow.RoleOfficer || role == workflow.RoleSupervisor)
			if got := p.MayPostMessage(a, r); got != posts {
				t.Errorf("MayPostMessage(%s/%s) = %v, want %v", side, role, got, posts)
			}
			sees := side != "third" && role.NeedsAuthority()
			for _, internal := range []bool{false, true} {
				m := workflow.Message{Authority: "IT", Internal: internal}
				want := sees && (!internal || side == "requesting")
				if got := p.MaySeeMessage(a, r, m); got != want {
					t.Errorf("MaySeeMessage(%s/%s, internal %v of IT) = %v, want %v", side, role, internal, got, want)
				}
			}
		}
	}
}

// TestPolicy_MayRunExercises: the trainer alone runs exercises (CONTRACT
// 7); not the administrator, and no role of an authority.
func TestPolicy_MayRunExercises(t *testing.T) {
	p := NewPolicy()
	for _, role := range workflow.Roles {
		for _, side := range []string{"requesting", "third"} {
			want := role == workflow.RoleTrainer
			if got := p.MayRunExercises(actorFor(role, side)); got != want {
				t.Errorf("%s of %s: MayRunExercises %v, want %v", role, side, got, want)
			}
		}
	}
	if p.MayRunExercises(workflow.Actor{}) {
		t.Error("nobody signed in runs exercises")
	}
}
