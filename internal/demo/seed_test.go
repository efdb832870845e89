package demo

import (
	"context"
	"errors"
	"testing"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

type recorder struct {
	added []auth.NewUser
	by    []workflow.Actor
	fail  string
}

func (r *recorder) AddDemoUser(_ context.Context, by workflow.Actor, nu auth.NewUser) (workflow.User, error) {
	if nu.Username == r.fail {
		return workflow.User{}, errors.New("boom")
	}
	r.added = append(r.added, nu)
	r.by = append(r.by, by)
	return workflow.User{ID: "x", Username: nu.Username}, nil
}

func TestSeed(t *testing.T) {
	r := &recorder{}
	logins, err := Seed(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(logins) != 14 || len(r.added) != 14 {
		t.Fatalf("seeded %d users, returned %d log-ins; want 14", len(r.added), len(logins))
	}
	want := map[string]struct {
		role      workflow.Role
		authority string
	}{
		"it.officer": {workflow.RoleOfficer, "IT"}, "es.supervisor": {workflow.RoleSupervisor, "ES"},
		"ng.auditor": {workflow.RoleAuditor, "NG"}, "th.officer": {workflow.RoleOfficer, "TH"},
		"admin": {workflow.RoleAdmin, ""}, "trainer": {workflow.RoleTrainer, ""},
	}
	for i, nu := range r.added {
		if nu.Password != "demo-pass" || nu.DisplayName == "" || r.by[i].Username != "system" {
			t.Errorf("%s: %+v by %+v", nu.Username, nu, r.by[i])
		}
		// The contract's demo password is below the policy for chosen
		// passwords; that is why the seed uses AddDemoUser.
		if err := auth.CheckPasswordRule(nu.Password, nu.Username); err == nil {
			t.Errorf("the demo password passes the password policy; the seed could use AddUser")
		}
		if w, ok := want[nu.Username]; ok {
			if nu.Role != w.role || nu.Authority != w.authority {
				t.Errorf("%s: role %s authority %q, want %s %q", nu.Username, nu.Role, nu.Authority, w.role, w.authority)
			}
			delete(want, nu.Username)
		}
	}
	if len(want) != 0 {
		t.Errorf("not seeded: %v", want)
	}
}

func TestSeed_error(t *testing.T) {
	if _, err := Seed(context.Background(), &recorder{fail: "es.officer"}); err == nil {
		t.Fatal("a failing user is not reported")
	}
}
