package store_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

var testKey = bytes.Repeat([]byte{0x5a}, audit.KeySize)

// testDB is one backend a test runs on: a fresh, empty database.
type testDB struct {
	Name    string // "sqlite" or "postgres"
	Backend testdb.Backend
	DSN     string // to reopen the same database
	Store   *store.Store
}

// openStores returns a fresh store on every backend available: SQLite in a
// temporary directory always, and PostgreSQL (in a schema of its own,
// dropped afterwards) when MLA_TEST_POSTGRES_URL is set. The stores are
// closed when the test ends.
func openStores(t *testing.T) []testDB {
	t.Helper()
	var out []testDB
	for _, b := range backends() {
		out = append(out, openBackend(t, b))
	}
	return out
}

// backends names the backends the tests run on.
func backends() []testdb.Backend { return testdb.Backends() }

// openBackend opens a fresh store on one backend.
func openBackend(t testing.TB, b testdb.Backend) testDB {
	t.Helper()
	db := testDB{Name: b.Name, Backend: b, DSN: b.DSN(t)}
	db.Store = openStore(t, db.DSN, testKey)
	return db
}

// openStore opens a store and closes it when the test ends.
func openStore(t testing.TB, dsn string, key []byte) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{DSN: dsn, AuditKey: key})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testPolicy is a minimal access policy for the tests: the contract's
// visibility rule, sides and roles from the workflow table. The real one
// lives in internal/auth, which the store must not depend on.
type testPolicy struct{}

func (testPolicy) Scope(a workflow.Actor) workflow.Scope {
	if a.Authority == "" {
		return workflow.Scope{}
	}
	return workflow.Scope{
		Authority:        a.Authority,
		RequestingStates: slices.Clone(workflow.States),
		RequestedStates:  slices.DeleteFunc(slices.Clone(workflow.States), func(s workflow.State) bool { return s == workflow.StateDrafted }),
	}
}

func (testPolicy) MayCreate(a workflow.Actor) bool {
	return a.Authority != "" && (a.Role == workflow.RoleOfficer || a.Role == workflow.RoleSupervisor)
}

func (p testPolicy) MayEdit(a workflow.Actor, r workflow.Request) bool {
	return p.MayCreate(a) && r.SideOf(a.Authority) == workflow.SideRequesting
}

func (testPolicy) MayFire(a workflow.Actor, r workflow.Request, t workflow.Transition) bool {
	return r.SideOf(a.Authority) == t.Side && slices.Contains(t.Roles, a.Role)
}

func (testPolicy) AuditScope(a workflow.Actor) (string, bool, bool) {
	switch a.Role {
	case workflow.RoleAdmin:
		return "", true, true
	case workflow.RoleAuditor:
		return a.Authority, false, true
	}
	return "", false, false
}

// baseTime is a fixed instant with nanoseconds, to show that the store keeps
// microseconds.
var baseTime = time.Date(2026, 2, 3, 4, 5, 6, 789123456, time.UTC)

// newRequest returns a complete request with every field set.
func newRequest(i int, from, to string, kind workflow.Kind, state workflow.State) workflow.Request {
	at := baseTime.Add(time.Duration(i) * time.Minute).Truncate(time.Microsecond)
	r := workflow.Request{
		ID:                  workflow.NewID(),
		Reference:           fmt.Sprintf("%s-%s-2026-%06d", from, kind, i+1),
		Kind:                kind,
		State:               state,
		Version:             1 + i%3,
		RequestingAuthority: from,
		RequestedAuthority:  to,
		Title:               fmt.Sprintf("Request %d — «évidence» 証拠", i),
		Summary:             "Line one\nline two, with 'quotes' and \"double\" and \\ backslash",
		LegalBasis:          "UNTOC Art. 18",
		Offences:            []string{"fraud", "money laundering"},
		Measures:            []string{"bank_records", "freezing"},
		Urgency:             workflow.UrgencyUrgent,
		DueDate:             "2026-12-31",
		CreatedAt:           at,
		UpdatedAt:           at.Add(time.Second + 42*time.Microsecond),
	}
	if kind == workflow.KindExtradition {
		r.Measures = []string{}
	}
	return r
}

// insert writes requests through one transaction each, each with an audit
// record of its creation. The rows are in whatever state and version the
// test gives them, which no command would write from that record: tests
// that insert such rows verify the chain alone (mustVerifyChain).
func insert(t testing.TB, s *store.Store, rs ...workflow.Request) {
	t.Helper()
	for _, r := range rs {
		err := s.WithTx(context.Background(), func(tx workflow.Tx) error {
			if err := store.Raw(tx).CreateRequest(context.Background(), r); err != nil {
				return err
			}
			return tx.Apply(context.Background(), workflow.Change{
				At: r.CreatedAt, Actor: "it.officer", Authority: r.RequestingAuthority,
				Action: "request.create", RequestID: r.ID, Outcome: workflow.OutcomeOK,
				Details: map[string]any{"reference": r.Reference},
			})
		})
		if err != nil {
			t.Fatalf("insert request %s: %v", r.Reference, err)
		}
	}
}

// appendN appends n audit records, each in its own transaction.
func appendN(t testing.TB, s *store.Store, n int) {
	t.Helper()
	for i := range n {
		rec := workflow.Change{
			At: baseTime.Add(time.Duration(i) * time.Millisecond), Actor: "es.auditor", Authority: "ES",
			Action: "auth.login", Outcome: workflow.OutcomeOK, Details: map[string]any{"i": i},
		}
		if err := s.RecordAudit(context.Background(), rec); err != nil {
			t.Fatalf("append audit %d: %v", i, err)
		}
	}
}

// wantCode fails the test unless err is a *workflow.Error with that code.
func wantCode(t testing.TB, err error, code workflow.Code) {
	t.Helper()
	if got := workflow.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// mustVerify fails the test unless the chain verifies with n entries, and
// every request agrees with its audited changes.
func mustVerify(t testing.TB, s *store.Store, n int64) workflow.AuditVerification {
	t.Helper()
	return mustVerifyWith(t, s.VerifyAudit, n)
}

// mustVerifyChain is mustVerify for a test whose requests are written in
// states and versions no command would give them (see insert): it checks
// the chain alone.
func mustVerifyChain(t testing.TB, s *store.Store, n int64) workflow.AuditVerification {
	t.Helper()
	return mustVerifyWith(t, s.VerifyAuditChain, n)
}

func mustVerifyWith(t testing.TB, verify func(context.Context) (workflow.AuditVerification, error), n int64) workflow.AuditVerification {
	t.Helper()
	v, err := verify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !v.OK || v.Entries != n || v.BrokenAt != 0 {
		t.Fatalf("verify = %+v, want OK with %d entries", v, n)
	}
	return v
}

// createOfficer creates the user "it.officer" (id "u1"), an officer of IT.
func createOfficer(t testing.TB, s *store.Store) workflow.User {
	t.Helper()
	u := workflow.User{ID: "u1", Username: "it.officer", Role: workflow.RoleOfficer, Authority: "IT", PasswordHash: "h", CreatedAt: baseTime}
	if err := s.CreateUser(context.Background(), u, userCreated(u)); err != nil {
		t.Fatal(err)
	}
	return u
}

// userCreated is the audit record of u's creation, as auth writes it.
func userCreated(u workflow.User) workflow.Change {
	return workflow.Change{
		At: u.CreatedAt, Actor: "admin", Action: "user.create", Outcome: workflow.OutcomeOK,
		Details: map[string]any{"user_id": u.ID, "username": u.Username, "role": u.Role, "authority": u.Authority},
	}
}

// MayReadDetail lets everybody read metadata only: the store's tests read
// the stored details through the store, not through the service.
func (testPolicy) MayReadDetail(_ workflow.Actor, _ workflow.AuditEntry, c workflow.DetailClass) bool {
	return c == workflow.DetailMeta
}

func (testPolicy) MayExtendDeadline(a workflow.Actor, r workflow.Request, binds workflow.Side) bool {
	return a.Role == workflow.RoleSupervisor && r.SideOf(a.Authority) == binds
}

func (testPolicy) MaySeeProtected(a workflow.Actor, r workflow.Request) bool {
	return r.SideOf(a.Authority) != workflow.SideNone && a.Role != workflow.RoleAuditor
}

func (testPolicy) MayConfigureAuthorities(a workflow.Actor) bool { return a.Role == workflow.RoleAdmin }

func (p testPolicy) MayAddDocument(a workflow.Actor, r workflow.Request) bool {
	return p.MayCreate(a) && r.SideOf(a.Authority) != workflow.SideNone
}

func (testPolicy) MayPostMessage(a workflow.Actor, r workflow.Request) bool {
	return r.SideOf(a.Authority) != workflow.SideNone && a.Role != workflow.RoleAuditor
}

func (testPolicy) MaySeeMessage(a workflow.Actor, _ workflow.Request, m workflow.Message) bool {
	return !m.Internal || m.Authority == a.Authority
}
