package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// memUsers is an in-memory Store. The API tests of internal/httpapi use
// the real store; this one keeps the unit tests of this package fast.
type memUsers struct {
	*memEvents
	mu       sync.Mutex
	byID     map[string]workflow.User
	audit    []workflow.AuditRecord
	failRec  error
	sessions map[string]Session
	tokens   map[string]RefreshToken // by id
}

func newMemUsers() *memUsers {
	return &memUsers{memEvents: newMemEvents(), byID: map[string]workflow.User{}, sessions: map[string]Session{}, tokens: map[string]RefreshToken{}}
}

var errNoUser = workflow.Errorf(workflow.ErrNotFound, "no user")

func (m *memUsers) UserByUsername(_ context.Context, name string) (workflow.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.byID {
		if u.Username == name {
			return u, nil
		}
	}
	return workflow.User{}, errNoUser
}

func (m *memUsers) UserByID(_ context.Context, id string) (workflow.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.byID[id]
	if !ok {
		return workflow.User{}, errNoUser
	}
	return u, nil
}

func (m *memUsers) CreateUser(_ context.Context, u workflow.User, rec workflow.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.byID {
		if x.Username == u.Username {
			return workflow.Errorf(workflow.ErrConflict, "username taken")
		}
	}
	m.byID[u.ID] = u
	m.audit = append(m.audit, rec.AuditRecord())
	return nil
}

func (m *memUsers) RecordAudit(_ context.Context, rec workflow.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.appendAudit(rec.AuditRecord())
}

func (m *memUsers) appendAudit(rec workflow.AuditRecord) error {
	if m.failRec != nil {
		return m.failRec
	}
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

func (m *memUsers) SessionUser(_ context.Context, userID, sessionID string) (workflow.User, Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.byID[userID]
	s, found := m.sessions[sessionID]
	if !ok || !found || s.UserID != userID {
		return workflow.User{}, Session{}, errNoUser
	}
	return u, s, nil
}

// WithSessionTx runs fn under the lock and puts everything back if it
// fails, like a transaction.
func (m *memUsers) WithSessionTx(_ context.Context, fn func(SessionTx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	users, sessions, tokens, audit := maps.Clone(m.byID), maps.Clone(m.sessions), maps.Clone(m.tokens), len(m.audit)
	if err := fn(memTx{m}); err != nil {
		m.byID, m.sessions, m.tokens, m.audit = users, sessions, tokens, m.audit[:audit]
		return err
	}
	return nil
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

// memTx is a transaction of memUsers; the lock is held.
type memTx struct{ m *memUsers }

func (t memTx) Apply(_ context.Context, rec workflow.Change) error {
	return t.m.appendAudit(rec.AuditRecord())
}

func (t memTx) UserByID(_ context.Context, id string) (workflow.User, error) {
	u, ok := t.m.byID[id]
	if !ok {
		return workflow.User{}, errNoUser
	}
	return u, nil
}

func (t memTx) UpdateUser(_ context.Context, u workflow.User) error {
	if _, ok := t.m.byID[u.ID]; !ok {
		return errNoUser
	}
	t.m.byID[u.ID] = u
	return nil
}

func (t memTx) CreateSession(_ context.Context, s Session) error {
	t.m.sessions[s.ID] = s
	return nil
}

func (t memTx) SessionByID(_ context.Context, id string) (Session, error) {
	s, ok := t.m.sessions[id]
	if !ok {
		return Session{}, workflow.Errorf(workflow.ErrNotFound, "no session")
	}
	return s, nil
}

func (t memTx) ExtendSession(_ context.Context, id string, at time.Time) error {
	s := t.m.sessions[id]
	s.ExpiresAt = at
	t.m.sessions[id] = s
	return nil
}

func (t memTx) RevokeSession(_ context.Context, id string, at time.Time, reason string) (bool, error) {
	s, ok := t.m.sessions[id]
	live := ok && !s.Revoked()
	if live {
		s.RevokedAt, s.RevokeReason = at, reason
		t.m.sessions[id] = s
	}
	for k, rt := range t.m.tokens {
		if rt.SessionID == id && rt.RevokedAt.IsZero() {
			rt.RevokedAt = at
			t.m.tokens[k] = rt
		}
	}
	return live, nil
}

func (t memTx) RevokeUserSessions(ctx context.Context, userID string, at time.Time, reason string) ([]string, error) {
	ids := []string{}
	for id, s := range t.m.sessions {
		if s.UserID == userID && !s.Revoked() {
			ids = append(ids, id)
			if _, err := t.RevokeSession(ctx, id, at, reason); err != nil {
				return nil, err
			}
		}
	}
	return ids, nil
}

func (t memTx) PruneSessions(_ context.Context, before time.Time) (int64, int64, error) {
	var sessions, tokens int64
	ended := map[string]bool{}
	for id, s := range t.m.sessions {
		if s.ExpiresAt.Before(before) || (s.Revoked() && s.RevokedAt.Before(before)) {
			ended[id] = true
			delete(t.m.sessions, id)
			sessions++
		}
	}
	for id, rt := range t.m.tokens {
		if rt.ExpiresAt.Before(before) || ended[rt.SessionID] {
			delete(t.m.tokens, id)
			tokens++
		}
	}
	return sessions, tokens, nil
}

func (t memTx) AddRefreshToken(_ context.Context, rt RefreshToken) error {
	t.m.tokens[rt.ID] = rt
	return nil
}

func (t memTx) RefreshTokenByHash(_ context.Context, hash []byte) (RefreshToken, error) {
	for _, rt := range t.m.tokens {
		if string(rt.Hash) == string(hash) {
			return rt, nil
		}
	}
	return RefreshToken{}, workflow.Errorf(workflow.ErrNotFound, "no token")
}

func (t memTx) MarkRefreshTokenUsed(_ context.Context, id string, at time.Time) error {
	rt := t.m.tokens[id]
	if !rt.UsedAt.IsZero() {
		return workflow.Errorf(workflow.ErrConflict, "used")
	}
	rt.UsedAt = at
	t.m.tokens[id] = rt
	return nil
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
		WithLimits(Limits{PerUserClient: 3, PerUsername: 5, PerClient: 6, Window: time.Minute, KnownFor: time.Hour}))
	// The demo password, which only AddDemoUser accepts.
	u, err := a.AddDemoUser(context.Background(), workflow.Actor{Username: "system"}, NewUser{
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
			g, err := f.auth.Login(ctx, tc.username, tc.password, "127.0.0.1")
			tok, life, u := g.AccessToken, g.ExpiresIn, g.User
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
			if g.RefreshToken == "" || g.RefreshExpiresIn != DefaultRefreshLifetime || g.SessionID == "" {
				t.Fatalf("Login grant %+v, want a refresh token of %s and a session", g, DefaultRefreshLifetime)
			}
			if rec.Outcome != workflow.OutcomeOK || rec.Actor != "it.officer" || rec.Authority != "IT" || rec.Details["session_id"] != g.SessionID {
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
	_, _ = f.auth.Login(context.Background(), long, "secret-typed", "127.0.0.1")
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
	g, err := f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	f.users.setDisabled(f.user.ID, true)
	if _, err := f.auth.Authenticate(ctx, g.AccessToken); workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
		t.Fatalf("token of a disabled user: %v, want unauthenticated", err)
	}
	_, err = f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.1")
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
		if _, err := f.auth.Login(ctx, "it.officer", "wrong", "127.0.0.1"); workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Now even the right password is refused until the window moves on.
	_, err := f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.1")
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Minute {
		t.Fatalf("4th attempt: %v, want rate limited for 1m", err)
	}
	if r := f.users.last(); r.Outcome != workflow.OutcomeDenied || r.Details["reason"] != "rate_limited" {
		t.Fatalf("audit %+v, want denied rate_limited", r)
	}
	f.clock.advance(time.Minute)
	if _, err := f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// A success clears the username's failures: two failures, a success
	// and two more failures in one window (from addresses of their own)
	// leave the password working, where four failures would not.
	for round := range 2 {
		for i := range 2 {
			_, _ = f.auth.Login(ctx, "it.officer", "wrong", fmt.Sprintf("127.0.1.%d", 2*round+i))
		}
		if _, err := f.auth.Login(ctx, "it.officer", "demo-pass", fmt.Sprintf("127.0.2.%d", round)); err != nil {
			t.Fatalf("round %d: after 2 failures since the last success: %v", round, err)
		}
	}
}

func TestAuthenticator_LoginFailsClosed(t *testing.T) {
	f := newAuthFixture(t)
	f.users.failRec = errors.New("disk full")
	g, err := f.auth.Login(context.Background(), "it.officer", "demo-pass", "127.0.0.1")
	if err == nil || g.AccessToken != "" || g.RefreshToken != "" {
		t.Fatalf("log-in without its audit record: grant %+v, err %v; want an error", g, err)
	}
	if len(f.users.sessions) != 0 {
		t.Fatalf("a session was kept without its audit record")
	}
}

func TestAuthenticator_Authenticate(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	g, err := f.auth.Login(ctx, "it.officer", "demo-pass", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(userID, sid string) string {
		t.Helper()
		tok, _, err := f.auth.tokens.issue(ctx, userID, sid, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ghost := issue("no-such-user", g.SessionID)
	sessionless := issue(f.user.ID, "")
	otherSession := issue(f.user.ID, "no-such-session")
	if _, err := f.auth.Authenticate(ctx, g.AccessToken); err != nil {
		t.Fatalf("the log-in's token: %v", err)
	}
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "xyz"},
		{"unknown user", ghost},
		{"no session", sessionless},
		{"unknown session", otherSession},
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
		{"supervisor", NewUser{Username: "es.supervisor", Role: workflow.RoleSupervisor, Authority: "ES", Password: "a long pass phrase"}, "", nil},
		{"admin", NewUser{Username: "admin2", Role: workflow.RoleAdmin, Password: "a long pass phrase"}, "", nil},
		{"taken", NewUser{Username: "it.officer", Role: workflow.RoleOfficer, Authority: "IT", Password: "a long pass phrase"}, workflow.ErrConflict, nil},
		{"bad username", NewUser{Username: "It Officer", Role: workflow.RoleOfficer, Authority: "IT", Password: "a long pass phrase"}, workflow.ErrValidation, []string{"username"}},
		{"short username", NewUser{Username: "ab", Role: workflow.RoleTrainer, Password: "a long pass phrase"}, workflow.ErrValidation, []string{"username"}},
		{"bad role", NewUser{Username: "x.root", Role: "root", Password: "a long pass phrase"}, workflow.ErrValidation, []string{"role"}},
		{"officer without authority", NewUser{Username: "x.officer", Role: workflow.RoleOfficer, Password: "a long pass phrase"}, workflow.ErrValidation, []string{"authority"}},
		{"trainer with authority", NewUser{Username: "x.trainer", Role: workflow.RoleTrainer, Authority: "IT", Password: "a long pass phrase"}, workflow.ErrValidation, []string{"authority"}},
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
