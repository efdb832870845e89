package auth

import (
	"context"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

func (f *authFixture) login(t *testing.T) Grant {
	t.Helper()
	g, err := f.auth.Login(context.Background(), "it.officer", "demo-pass", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func wantUnauthenticated(t *testing.T, what string, err error) {
	t.Helper()
	if workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
		t.Fatalf("%s: %v, want unauthenticated", what, err)
	}
}

func TestRefresh_rotates(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	g := f.login(t)
	f.clock.advance(10 * time.Minute)
	n, err := f.auth.Refresh(ctx, g.RefreshToken, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if n.SessionID != g.SessionID || n.RefreshToken == g.RefreshToken || n.AccessToken == g.AccessToken || n.User.ID != f.user.ID {
		t.Fatalf("refresh grant %+v, want new tokens of the same session", n)
	}
	if rec := f.users.last(); rec.Action != ActionRefresh || rec.Outcome != workflow.OutcomeOK || rec.Actor != "it.officer" || rec.Details["session_id"] != g.SessionID {
		t.Fatalf("audit %+v", rec)
	}
	// The session now expires a refresh lifetime after the refresh.
	if s := f.users.sessions[g.SessionID]; !s.ExpiresAt.Equal(f.clock.now().Add(DefaultRefreshLifetime)) {
		t.Fatalf("session expires %s, want %s", s.ExpiresAt, f.clock.now().Add(DefaultRefreshLifetime))
	}
	if _, err := f.auth.Authenticate(ctx, n.AccessToken); err != nil {
		t.Fatalf("the new access token: %v", err)
	}
	if _, err := f.auth.Authenticate(ctx, g.AccessToken); err != nil {
		t.Fatalf("the first access token, still within its lifetime: %v", err)
	}
}

func TestRefresh_reuseRevokesTheFamily(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	g := f.login(t)
	n, err := f.auth.Refresh(ctx, g.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.auth.Refresh(ctx, g.RefreshToken, "")
	wantUnauthenticated(t, "reused token", err)
	rec := f.users.last()
	if rec.Action != ActionRefresh || rec.Outcome != workflow.OutcomeDenied || rec.Details["reason"] != "reuse" || rec.Details["session_revoked"] != true {
		t.Fatalf("audit %+v, want a denied refresh for reuse that revoked the session", rec)
	}
	_, err = f.auth.Refresh(ctx, n.RefreshToken, "")
	wantUnauthenticated(t, "newest token of a revoked family", err)
	for name, tok := range map[string]string{"first": g.AccessToken, "second": n.AccessToken} {
		_, err := f.auth.Authenticate(ctx, tok)
		wantUnauthenticated(t, name+" access token of a revoked family", err)
	}
	if s := f.users.sessions[g.SessionID]; s.RevokeReason != RevokedReuse {
		t.Fatalf("session %+v, want revoked for reuse", s)
	}
	// Another session of the same user is not touched.
	other := f.login(t)
	if _, err := f.auth.Refresh(ctx, other.RefreshToken, ""); err != nil {
		t.Fatalf("another session: %v", err)
	}
}

func TestRefresh_refused(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	g := f.login(t)
	unknown, _, _ := newRefreshToken()
	tests := []struct{ name, token, reason string }{
		{"malformed", "not-a-token", "malformed"},
		{"unknown", unknown, "unknown_token"},
	}
	for _, tc := range tests {
		_, err := f.auth.Refresh(ctx, tc.token, "")
		wantUnauthenticated(t, tc.name, err)
		if rec := f.users.last(); rec.Outcome != workflow.OutcomeDenied || rec.Details["reason"] != tc.reason {
			t.Fatalf("%s: audit %+v, want denied for %s", tc.name, rec, tc.reason)
		}
	}
	f.clock.advance(DefaultRefreshLifetime)
	_, err := f.auth.Refresh(ctx, g.RefreshToken, "")
	wantUnauthenticated(t, "expired", err)
	if rec := f.users.last(); rec.Details["reason"] != "expired" {
		t.Fatalf("audit %+v, want denied as expired", rec)
	}
}

func TestLogout(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	g, other, third := f.login(t), f.login(t), f.login(t)
	// The caller's session, and the one of the refresh token given.
	if err := f.auth.Logout(ctx, g.AccessToken, LogoutOptions{RefreshToken: other.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	rec := f.users.last()
	if rec.Action != ActionLogout || rec.Outcome != workflow.OutcomeOK || len(rec.Details["sessions_revoked"].([]string)) != 2 {
		t.Fatalf("audit %+v, want a log-out of two sessions", rec)
	}
	for name, tok := range map[string]string{"own": g.AccessToken, "other": other.AccessToken} {
		_, err := f.auth.Authenticate(ctx, tok)
		wantUnauthenticated(t, name+" access token after log-out", err)
	}
	for name, tok := range map[string]string{"own": g.RefreshToken, "other": other.RefreshToken} {
		_, err := f.auth.Refresh(ctx, tok, "")
		wantUnauthenticated(t, name+" refresh token after log-out", err)
	}
	if _, err := f.auth.Authenticate(ctx, third.AccessToken); err != nil {
		t.Fatalf("a third session is logged out too: %v", err)
	}
	wantUnauthenticated(t, "log-out with a revoked token", f.auth.Logout(ctx, g.AccessToken, LogoutOptions{}))
	// Everywhere.
	fourth := f.login(t)
	if err := f.auth.Logout(ctx, fourth.AccessToken, LogoutOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	_, err := f.auth.Authenticate(ctx, third.AccessToken)
	wantUnauthenticated(t, "after logging out everywhere", err)
}

func TestRenew_endsWithTheSession(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	g := f.login(t)
	f.clock.advance(DefaultRefreshLifetime - 5*time.Minute)
	tok, life, err := f.auth.Renew(ctx, g.AccessToken)
	if err == nil {
		t.Fatal("renewed an access token long expired")
	}
	// Keep the session's token fresh until shortly before its end.
	f = newAuthFixture(t)
	g = f.login(t)
	tok = g.AccessToken
	for elapsed := time.Duration(0); elapsed < DefaultRefreshLifetime-10*time.Minute; elapsed += 10 * time.Minute {
		f.clock.advance(10 * time.Minute)
		if tok, life, err = f.auth.Renew(ctx, tok); err != nil {
			t.Fatalf("renewal after %s: %v", elapsed, err)
		}
	}
	if life > 10*time.Minute {
		t.Fatalf("the last renewal lasts %s, past the session's end", life)
	}
	cl, err := f.auth.tokens.Verify(ctx, tok)
	if err != nil || cl.SessionID != g.SessionID {
		t.Fatalf("renewed token %+v, %v; want the same session", cl, err)
	}
	f.clock.advance(life)
	_, err = f.auth.Authenticate(ctx, tok)
	wantUnauthenticated(t, "after the session's end", err)
}

func TestUpdateUser_revokesSessions(t *testing.T) {
	admin := workflow.Actor{UserID: "admin-id", Username: "admin", Role: workflow.RoleAdmin}
	ctx := context.Background()
	t.Run("disabled", func(t *testing.T) {
		f := newAuthFixture(t)
		g := f.login(t)
		if _, err := f.auth.SetDisabled(ctx, admin, f.user.ID, true); err != nil {
			t.Fatal(err)
		}
		if s := f.users.sessions[g.SessionID]; s.RevokeReason != RevokedUserDisabled {
			t.Fatalf("session %+v, want revoked because the user was disabled", s)
		}
		if rec := f.users.last(); rec.Action != ActionUserUpdate || rec.Details["sessions_revoked"] != 1 {
			t.Fatalf("audit %+v, want the update naming one revoked session", rec)
		}
		// Re-enabled: the old session stays revoked.
		if _, err := f.auth.SetDisabled(ctx, admin, f.user.ID, false); err != nil {
			t.Fatal(err)
		}
		_, err := f.auth.Refresh(ctx, g.RefreshToken, "")
		wantUnauthenticated(t, "refresh of a session revoked at disabling", err)
	})
	t.Run("refused_anyway", func(t *testing.T) {
		// Disabled behind the Authenticator's back: refused all the same,
		// and the session is revoked on the way.
		f := newAuthFixture(t)
		g := f.login(t)
		f.users.setDisabled(f.user.ID, true)
		_, err := f.auth.Refresh(ctx, g.RefreshToken, "")
		wantUnauthenticated(t, "refresh of a disabled user", err)
		if rec := f.users.last(); rec.Details["reason"] != "disabled" {
			t.Fatalf("audit %+v", rec)
		}
		if s := f.users.sessions[g.SessionID]; !s.Revoked() {
			t.Fatal("the disabled user's session is live")
		}
	})
	t.Run("password_reset", func(t *testing.T) {
		f := newAuthFixture(t)
		g := f.login(t)
		if _, err := f.auth.ResetPassword(ctx, admin, f.user.ID, "a brand new pass phrase"); err != nil {
			t.Fatal(err)
		}
		_, err := f.auth.Authenticate(ctx, g.AccessToken)
		wantUnauthenticated(t, "access token after a password reset", err)
	})
	t.Run("display_name_keeps_sessions", func(t *testing.T) {
		f := newAuthFixture(t)
		g := f.login(t)
		name := "Giulia R."
		if _, err := f.auth.UpdateUser(ctx, admin, f.user.ID, UserChanges{DisplayName: &name}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth.Authenticate(ctx, g.AccessToken); err != nil {
			t.Fatalf("a rename ended the session: %v", err)
		}
	})
}

// TestPruneSessions checks that sessions that ended, and refresh tokens that
// expired, more than SessionRetention ago go, that live ones and recent ones
// stay, and that a prune is audited only when it deleted something.
func TestPruneSessions(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	old := f.login(t)    // will have expired long ago
	logout := f.login(t) // will have been revoked long ago
	if err := f.auth.Logout(ctx, logout.AccessToken, LogoutOptions{}); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(DefaultRefreshLifetime + SessionRetention + time.Minute)
	live := f.login(t)
	f.clock.advance(10 * time.Minute)
	if _, err := f.auth.Refresh(ctx, live.RefreshToken, ""); err != nil { // its first token: used, not expired
		t.Fatal(err)
	}
	recent := f.login(t)
	if err := f.auth.Logout(ctx, recent.AccessToken, LogoutOptions{}); err != nil { // revoked just now: kept
		t.Fatal(err)
	}
	audited := len(f.users.audit)

	sessions, tokens, err := f.auth.PruneSessions(ctx)
	if err != nil || sessions != 2 || tokens != 2 {
		t.Fatalf("pruned %d sessions and %d refresh tokens (%v), want 2 and 2", sessions, tokens, err)
	}
	for _, g := range []Grant{old, logout} {
		if _, ok := f.users.sessions[g.SessionID]; ok {
			t.Errorf("session %s is still there", g.SessionID)
		}
	}
	for _, g := range []Grant{live, recent} {
		if _, ok := f.users.sessions[g.SessionID]; !ok {
			t.Errorf("session %s was pruned", g.SessionID)
		}
	}
	if _, err := f.auth.Authenticate(ctx, live.AccessToken); err != nil {
		t.Errorf("the live session after the prune: %v", err)
	}
	if len(f.users.audit) != audited+1 {
		t.Fatalf("%d audit records for the prune, want 1", len(f.users.audit)-audited)
	}
	if rec := f.users.last(); rec.Action != ActionPrune || rec.Actor != "system" || rec.Details["sessions"] != int64(2) || rec.Details["refresh_tokens"] != int64(2) {
		t.Fatalf("prune audit %+v", rec)
	}
	if s, tk, err := f.auth.PruneSessions(ctx); err != nil || s+tk != 0 || len(f.users.audit) != audited+1 {
		t.Fatalf("a prune with nothing to do: %d, %d, %v, and %d more audit records", s, tk, err, len(f.users.audit)-audited-1)
	}
}
