package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Password is every demo user's password, as the contract promises. It is
// public: a demo database must never hold real cases.
const Password = "demo-pass"

// UserAdder creates the demo accounts; *auth.Authenticator is one. Its
// AddDemoUser skips the password policy, which "demo-pass" (fixed by the
// contract) does not meet, and says so in the audit record.
type UserAdder interface {
	AddDemoUser(ctx context.Context, by workflow.Actor, nu auth.NewUser) (workflow.User, error)
}

// Login is one demo log-in, for main to print as a table.
type Login struct {
	Username    string
	Password    string
	Role        workflow.Role
	Authority   string // code, empty for admin and trainer
	DisplayName string
}

// System is the actor of the seed's audit records: no person created these
// accounts.
var System = workflow.Actor{Username: "system"}

// Authorities are the codes of the demo's central authorities, in the
// contract's order.
var Authorities = []string{"IT", "ES", "NG", "TH"}

// people gives the demo users plausible names, so that screens and
// histories read like real casework; the key is "authority/role".
var people = map[string]string{
	"IT/officer": "Giulia Rossi", "IT/supervisor": "Marco Bianchi", "IT/auditor": "Chiara Esposito",
	"ES/officer": "Lucía García", "ES/supervisor": "Javier Martínez", "ES/auditor": "Carmen López",
	"NG/officer": "Chinedu Okafor", "NG/supervisor": "Aisha Bello", "NG/auditor": "Oluwaseun Adeyemi",
	"TH/officer": "Somchai Wongsakul", "TH/supervisor": "Siriporn Chaiyaporn", "TH/auditor": "Nattapong Srisuk",
}

// Logins lists the demo world's accounts in a stable order: per authority
// officer, supervisor, auditor; then admin and trainer.
func Logins() []Login {
	var out []Login
	for _, cc := range Authorities {
		for _, role := range []workflow.Role{workflow.RoleOfficer, workflow.RoleSupervisor, workflow.RoleAuditor} {
			out = append(out, Login{
				Username:    fmt.Sprintf("%s.%s", strings.ToLower(cc), role),
				Password:    Password,
				Role:        role,
				Authority:   cc,
				DisplayName: people[cc+"/"+string(role)],
			})
		}
	}
	return append(out,
		Login{Username: "admin", Password: Password, Role: workflow.RoleAdmin, DisplayName: "Platform administrator"},
		Login{Username: "trainer", Password: Password, Role: workflow.RoleTrainer, DisplayName: "Training coordinator"},
	)
}

// Seed creates the demo users and returns their log-ins. The caller seeds
// only an empty database: an existing username is an error.
func Seed(ctx context.Context, users UserAdder) ([]Login, error) {
	logins := Logins()
	for _, l := range logins {
		_, err := users.AddDemoUser(ctx, System, auth.NewUser{
			Username: l.Username, DisplayName: l.DisplayName, Role: l.Role,
			Authority: l.Authority, Password: l.Password,
		})
		if err != nil {
			return nil, fmt.Errorf("seed user %s: %w", l.Username, err)
		}
	}
	return logins, nil
}
