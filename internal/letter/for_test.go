package letter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

func actor(username, authority string, role workflow.Role) workflow.Actor {
	return workflow.Actor{UserID: username, Username: username, Role: role, Authority: authority}
}

var (
	itOfficer = actor("it.officer", "IT", workflow.RoleOfficer)
	itAuditor = actor("it.auditor", "IT", workflow.RoleAuditor)
	esOfficer = actor("es.officer", "ES", workflow.RoleOfficer)
	admin     = workflow.Actor{UserID: "admin", Username: "admin", Role: workflow.RoleAdmin}
)

// TestFor_disclosure reads a letter as the service hands it over, on every
// backend: its protected person named only to whom may see it, the draft
// not found by the other side, every letter audited, the chain whole.
func TestFor_disclosure(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		ctx := context.Background()
		w := testworld.New(t, db, testworld.Options{})
		r, err := w.Workflow.Create(ctx, itOfficer, workflow.Draft{
			Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records of the Okoro network",
			Summary: "Payments for recruited victims", Instrument: "untoc", Purpose: "to trace the proceeds",
			Measures: []string{"bank_records"},
			Persons: []workflow.PersonConcerned{
				{Role: workflow.PersonSuspect, Name: "Felix Okoro"},
				{Role: workflow.PersonVictim, Name: "Grace Edo", Location: "a shelter in Turin", Protected: true},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		read := func(a workflow.Actor) (string, []byte, error) {
			var text string
			out, got, err := forWith(ctx, w.Workflow, a, r.ID, func(l Letter, d time.Time) ([]byte, error) {
				text = l.Text()
				return Render(l, d)
			})
			if err == nil && got.ID != r.ID {
				t.Errorf("%s: the letter of %s, want %s", a.Username, got.ID, r.ID)
			}
			return text, out, err
		}

		// The requested side does not see a draft: not found, as a
		// missing request.
		if _, _, err := read(esOfficer); workflow.ErrorCode(err) != workflow.ErrNotFound {
			t.Errorf("ES officer on IT's draft: err %v, want not found", err)
		}
		if _, _, err := read(actor("it.officer", "IT", workflow.RoleOfficer)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := forWith(ctx, w.Workflow, itOfficer, "no-such-request", Render); workflow.ErrorCode(err) != workflow.ErrNotFound {
			t.Errorf("a missing request: err %v, want not found", err)
		}

		for _, tc := range []struct {
			name  string
			a     workflow.Actor
			names bool
		}{
			{"officer of the requesting side", itOfficer, true},
			{"auditor", itAuditor, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				text, out, err := read(tc.a)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(string(out), "%PDF-") {
					t.Fatalf("not a PDF: %.16q", out)
				}
				for _, want := range []string{r.Reference, "Bank records of the Okoro network", "UN Convention against Transnational Organized Crime", "Felix Okoro"} {
					if !strings.Contains(text, want) {
						t.Errorf("the letter lacks %q:\n%s", want, text)
					}
				}
				for _, secret := range []string{"Grace Edo", "a shelter in Turin"} {
					if strings.Contains(text, secret) != tc.names {
						t.Errorf("%s: the letter names %q: %v, want %v", tc.a.Username, secret, !tc.names, tc.names)
					}
				}
			})
		}

		entries, _, err := w.Workflow.Audit(ctx, admin, workflow.AuditFilter{RequestID: r.ID, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, e := range entries {
			count[e.Action+" "+e.Actor]++
		}
		// it.officer read it twice, the auditor once; ES was refused and
		// left no letter entry.
		for key, want := range map[string]int{
			"request.letter it.officer": 2, "person.view it.officer": 2,
			"request.letter it.auditor": 1, "person.view it.auditor": 0, "request.letter es.officer": 0,
		} {
			if count[key] != want {
				t.Errorf("%d audit entries %s, want %d (all: %v)", count[key], key, want, count)
			}
		}
		v, err := w.Workflow.VerifyChain(ctx)
		if err != nil || !v.OK {
			t.Errorf("the audit chain: %+v, %v", v, err)
		}
	})
}
