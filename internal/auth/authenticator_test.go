package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// memUsers is an in-memory UserStore. The API tests of internal/httpapi use
// the real store; this one keeps the unit tests of this package fast.
type memUsers struct {
	mu      sync.Mutex
	byID    map[string]workflow.User
	audit   []workflow.AuditRecord
	failRec error
}

func newMemUsers() *memUsers { return &memUsers{byID: map[string]workflow.User{}} }

func (m *memUsers) UserByUsername(_ context.Context, name string) (workflow.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.byID {
		if u.Username == name {
			return u, nil
		}
	}
	return workflow.User{}, workflow.Errorf(workflow.ErrNotFound, "no user")
}

func (m *memUsers) UserByID(_ context.Context, id string) (workflow.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.byID[id]
	if !ok {
		return workflow.User{}, workflow.Errorf(workflow.ErrNotFound, "no user")
	}
	return u, nil
}

func (m *memUsers) CreateUser(_ context.Context, u workflow.User, rec workflow.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.byID {
		if x.Username == u.Username {
			return workflow.Errorf(workflow.ErrConflict, "username taken")
		}
	}
	m.byID[u.ID] = u
	m.audit = append(m.audit, rec)
	return nil
}

func (m *memUsers) RecordAudit(_ context.Context, rec workflow.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failRec != nil {
		return m.failRec
	}
	m.audit = append(m.audit, rec)
	return nil
}

func (m *memUsers) UpdateUser(_ context.Context, u workflow.User, rec workflow.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byID[u.ID]; !ok {
		return workflow.Errorf(workflow.ErrNotFound, "no user")
	}
	m.byID[u.ID] = u
	m.audit = append(m.audit, rec)
	return nil
}

func (m *memUsers) ListUsers(context.Context) ([]workflow.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]workflow.User, 0, len(m.byID))
	for _, u := range m.byID {
		out = append(out, u)
	}
	return out, nil
}

func (m *memUsers) last() workflow.AuditRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.audit[len(m.audit)-1]
}

func (m *memUsers) setDisabled(id string, d bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.byID[id]
	u.Disabled = d
	m.byID[id] = u
}

type authFixture struct {
	users *memUsers
	clock *clock
	auth  *Authenticator
	user  workflow.User
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	c := newClock()
	users := newMemUsers()
	tokens := mustTokens(t, c)
	a := NewAuthenticator(users, tokens, NewHasher(bcrypt.MinCost), c.now, nil,
		WithLimits(Limits{PerUsername: 3, PerClient: 6, Window: time.Minute, MaxKeys: 100}))
	u, err := a.AddUser(context.Background(), workflow.Actor{Username: "system"}, NewUser{
		Username: "it.officer", DisplayName: "Giulia Rossi", Role: workflow.RoleOfficer, Authority: "it", Password: "demo-pass",
	})
	if err != nil {
		t.Fatal(err)
	}
	return &authFixture{users: users, clock: c, auth: a, user: u}
}

func TestAuthenticator_Login(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	tests := []struct {
		name, username, password string
		wantCode                 workflow.Code
		wantReason               string
	}{
		{"ok", "it.officer", "demo-pass", "", ""},
		{"upper case username", "IT.Officer", "demo-pass", "", ""},
		{"wrong password", "it.officer", "demo-pasS", workflow.ErrUnauthenticated, "wrong_password"},
		{"unknown user", "xx.officer", "demo-pass", workflow.ErrUnauthenticated, "unknown_user"},
		{"impossible username", "a b", "demo-pass", workflow.ErrUnauthenticated, "unknown_user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, life, u, err := f.auth.Login(ctx, tc.username, tc.password, "127.0.0.1")
			rec := f.users.last()
			if rec.Action != ActionLogin || strings.Contains(strings.ToLower(rec.Actor+rec.Authority), "demo-pass") {
				t.Fatalf("audit record %+v", rec)
			}
			if tc.wantCode != "" {
				if workflow.ErrorCode(err) != tc.wantCode || err.Error() != wrongCredentials.Error() {
					t.Fatalf("err = %v, want %s with the common message", err, tc.wantCode)
				}
				if rec.Outcome != workflow.OutcomeDenied || rec.Details["reason"] != tc.wantReason {
					t.Fatalf("audit %+v, want denied for %s", rec, tc.wantReason)
				}
				return
			}
			if err != nil || tok == "" || life != DefaultTokenLifetime || u.ID != f.user.ID {
				t.Fatalf("Login = %q, %s, %+v, %v", tok, life, u, err)
			}
			if rec.Outcome != workflow.OutcomeOK || rec.Actor != "it.officer" || rec.Authority != "IT" {
				t.Fatalf("audit %+v, want ok by it.officer of IT", rec)
			}
			got, err := f.auth.Authenticate(ctx, tok)
			if err != nil || got.ID != f.user.ID {
				t.Fatalf("Authenticate = %+v, %v", got, err)
			}
		})
	}
}

func TestAuthenticator_LoginRecordsNoPassword(t *testing.T) {
	f := newAuthFixture(t)
	long := strings.Repeat("Q", 100)
	_, _, _, _ = f.auth.Login(context.Background(), long, "secret-typed", "127.0.0.1")
	rec := f.users.last()
	if len([]rune(rec.Actor)) != maxActorName || rec.Actor != strings.Repeat("q", maxActorName) {
		t.Fatalf("actor %q, want the name lower-cased and cut to %d", rec.Actor, maxActorName)
	}
	for k, v := range rec.Details {
		if s, _ := v.(string); strings.Contains(s, "secret-typed") {
			t.Fatalf("details[%s] holds the password", k)
		}
	}
}

func TestAuthenticator_LoginDisabled(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	tok, _, _, err := f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	f.users.setDisabled(f.user.ID, true)
	if _, err := f.auth.Authenticate(ctx, tok); workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
		t.Fatalf("token of a disabled user: %v, want unauthenticated", err)
	}
	_, _, _, err = f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.1")
	if workflow.ErrorCode(err) != workflow.ErrUnauthenticated || err.Error() != wrongCredentials.Error() {
		t.Fatalf("disabled log-in: %v, want the common unauthenticated answer", err)
	}
	if r := f.users.last(); r.Details["reason"] != "disabled" || r.Authority != "IT" {
		t.Fatalf("audit %+v, want reason disabled with the user's authority", r)
	}
}

func TestAuthenticator_Throttle(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	for i := range 3 {
		if _, _, _, err := f.auth.Login(ctx, "it.officer", "wrong", "127.0.0.1"); workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Now even the right password is refused until the window moves on.
	_, _, _, err := f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.1")
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Minute {
		t.Fatalf("4th attempt: %v, want rate limited for 1m", err)
	}
	if r := f.users.last(); r.Outcome != workflow.OutcomeDenied || r.Details["reason"] != "rate_limited" {
		t.Fatalf("audit %+v, want denied rate_limited", r)
	}
	f.clock.advance(time.Minute)
	if _, _, _, err := f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// The success cleared the username's failures.
	for range 2 {
		_, _, _, _ = f.auth.Login(ctx, "it.officer", "wrong", "127.0.0.2")
	}
	if _, _, _, err := f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.2"); err != nil {
		t.Fatalf("after a reset and 2 failures: %v", err)
	}
}

func TestAuthenticator_LoginFailsClosed(t *testing.T) {
	f := newAuthFixture(t)
	f.users.failRec = errors.New("disk full")
	tok, _, _, err := f.auth.Login(context.Background(), "it.officer", "demo-pass", "127.0.0.1")
	if err == nil || tok != "" {
		t.Fatalf("log-in without its audit record: token %q, err %v; want an error", tok, err)
	}
}

func TestAuthenticator_Authenticate(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	ghost, _, _ := f.auth.tokens.Issue("no-such-user")
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "xyz"},
		{"unknown user", ghost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.auth.Authenticate(ctx, tc.token); workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
				t.Fatalf("got %v, want unauthenticated", err)
			}
		})
	}
}

func TestAuthenticator_AddUser(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	by := workflow.Actor{Username: "admin", Role: workflow.RoleAdmin}
	tests := []struct {
		name       string
		nu         NewUser
		wantCode   workflow.Code
		wantFields []string
	}{
		{"supervisor", NewUser{Username: "es.supervisor", Role: workflow.RoleSupervisor, Authority: "ES", Password: "long enough"}, "", nil},
		{"admin", NewUser{Username: "admin2", Role: workflow.RoleAdmin, Password: "long enough"}, "", nil},
		{"taken", NewUser{Username: "it.officer", Role: workflow.RoleOfficer, Authority: "IT", Password: "long enough"}, workflow.ErrConflict, nil},
		{"bad username", NewUser{Username: "It Officer", Role: workflow.RoleOfficer, Authority: "IT", Password: "long enough"}, workflow.ErrValidation, []string{"username"}},
		{"short username", NewUser{Username: "ab", Role: workflow.RoleTrainer, Password: "long enough"}, workflow.ErrValidation, []string{"username"}},
		{"bad role", NewUser{Username: "x.root", Role: "root", Password: "long enough"}, workflow.ErrValidation, []string{"role"}},
		{"officer without authority", NewUser{Username: "x.officer", Role: workflow.RoleOfficer, Password: "long enough"}, workflow.ErrValidation, []string{"authority"}},
		{"trainer with authority", NewUser{Username: "x.trainer", Role: workflow.RoleTrainer, Authority: "IT", Password: "long enough"}, workflow.ErrValidation, []string{"authority"}},
		{"short password", NewUser{Username: "x.auditor", Role: workflow.RoleAuditor, Authority: "IT", Password: "short"}, workflow.ErrValidation, []string{"password"}},
		{"everything wrong", NewUser{Username: "?", Role: "", Password: ""}, workflow.ErrValidation, []string{"username", "role", "password"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := f.auth.AddUser(ctx, by, tc.nu)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				if u.ID == "" || u.PasswordHash == "" || u.PasswordHash == tc.nu.Password || u.DisplayName != tc.nu.Username {
					t.Fatalf("user %+v", u)
				}
				rec := f.users.last()
				if rec.Action != ActionUserCreate || rec.Actor != "admin" || rec.Details["username"] != tc.nu.Username {
					t.Fatalf("audit %+v", rec)
				}
				for k, v := range rec.Details {
					if v == tc.nu.Password {
						t.Fatalf("details[%s] holds the password", k)
					}
				}
				return
			}
			if workflow.ErrorCode(err) != tc.wantCode {
				t.Fatalf("err %v, want %s", err, tc.wantCode)
			}
			var e *workflow.Error
			errors.As(err, &e)
			for _, field := range tc.wantFields {
				if e.Fields[field] == "" {
					t.Errorf("no problem reported on %s: %v", field, err)
				}
			}
		})
	}
}

func TestRequireUser(t *testing.T) {
	f := newAuthFixture(t)
	tok, _, _, err := f.auth.Login(context.Background(), "it.officer", "demo-pass", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	guarded := RequireUser(f.auth)(func(c echo.Context) error {
		a := ActorFrom(c)
		return c.String(http.StatusOK, a.Username+"/"+a.Authority+"/"+string(UserFrom(c).Role))
	})
	tests := []struct {
		name, header string
		wantOK       bool
	}{
		{"bearer", "Bearer " + tok, true},
		{"lower-case scheme", "bearer " + tok, true},
		{"upper-case scheme", "BEARER " + tok, true},
		{"none", "", false},
		{"basic", "Basic " + tok, false},
		{"scheme only", "Bearer", false},
		{"scheme and spaces", "Bearer   ", false},
		{"bad token", "Bearer abc", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			err := guarded(e.NewContext(req, rec))
			if !tc.wantOK {
				if workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
					t.Fatalf("got %v, want unauthenticated", err)
				}
				return
			}
			if err != nil || rec.Body.String() != "it.officer/IT/officer" {
				t.Fatalf("got %q, %v", rec.Body.String(), err)
			}
		})
	}
}
