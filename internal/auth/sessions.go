package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Sessions and refresh tokens.
//
// A log-in starts a session and gives the client two tokens: a short-lived
// access token (a JWT whose "sid" claim names the session) and a refresh
// token (256 random bits, stored only as its SHA-256). The refresh token
// buys a new pair once: using it marks it used and issues its successor in
// the same session, so the session is a family of refresh tokens of which
// only the newest is good. A used token that comes back means that two
// parties hold the family (a thief and its owner, in some order), so the
// whole session is revoked: both the thief's newest token and the owner's
// stop working (OAuth 2.0 Security BCP, RFC 9700 4.14.2). Every access
// token is checked against its session on every request, so revoking a
// session (log-out, reuse, a disabled account, a password reset) ends its
// access tokens at once too.

// DefaultRefreshLifetime is how long a refresh token is valid when the
// caller does not say: a working day. Each refresh starts a new one, so a
// client in use stays signed in; one left alone overnight signs in again.
const DefaultRefreshLifetime = 8 * time.Hour

// The audited actions of sessions.
const (
	ActionRefresh = "auth.refresh"
	ActionLogout  = "auth.logout"
	ActionPrune   = "auth.prune"
)

// SessionRetention is how long a session that has ended (expired or
// revoked) and a refresh token that has expired are kept before
// PruneSessions deletes them: nothing needs them any more (the audit log
// keeps every log-in, refresh and log-out), but a day of them helps whoever
// looks into an incident of the day.
const SessionRetention = 24 * time.Hour

// PruneInterval is how often the server prunes ended sessions.
const PruneInterval = time.Hour

// Reasons a session is revoked, as recorded.
const (
	RevokedLogout        = "logout"
	RevokedReuse         = "reuse"
	RevokedUserDisabled  = "user_disabled"
	RevokedPasswordReset = "password_reset"
	// RevokedPasswordChange ends the other sessions of a user who replaced
	// their password at log-in.
	RevokedPasswordChange = "password_change"
)

// refreshTokenBytes is the size of a refresh token's randomness: 256 bits,
// beyond guessing for as long as anyone can try.
const refreshTokenBytes = 32

// refreshTokenLen is the length of a refresh token as sent: unpadded
// base64url of refreshTokenBytes.
var refreshTokenLen = base64.RawURLEncoding.EncodedLen(refreshTokenBytes)

// Session is a signed-in session: one log-in and the refresh tokens rotated
// from it (a refresh-token family). Its ID is the "sid" of its access
// tokens.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	// ExpiresAt is when its newest refresh token expires; no access token
	// of the session outlives it.
	ExpiresAt time.Time
	// RevokedAt is when it was revoked; zero while it is live.
	RevokedAt    time.Time
	RevokeReason string
}

// Revoked reports whether the session has been revoked.
func (s Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// RefreshToken is the stored form of a refresh token: its hash, never the
// token.
type RefreshToken struct {
	ID        string
	SessionID string // the family
	UserID    string
	Hash      []byte // SHA-256 of the token
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until it was exchanged for its successor
	RevokedAt time.Time // zero unless its session was revoked
}

// SessionStore keeps sessions and refresh tokens; internal/store
// implements it.
type SessionStore interface {
	// WithSessionTx runs fn in one write transaction, committed when fn
	// returns nil.
	WithSessionTx(ctx context.Context, fn func(SessionTx) error) error
	// SessionUser reads the user and the session of an access token in one
	// lookup; ErrNotFound when either is missing or the session is not the
	// user's.
	SessionUser(ctx context.Context, userID, sessionID string) (workflow.User, Session, error)
}

// SessionTx is what session commands need inside their transaction.
type SessionTx interface {
	// Apply writes the command's record of change: for these commands
	// its audit entry, chained to the log.
	Apply(ctx context.Context, rec workflow.Change) error
	// UserByID reads a user; ErrNotFound when none.
	UserByID(ctx context.Context, id string) (workflow.User, error)
	// UpdateUser writes every field of the user but its creation time;
	// ErrNotFound when none, ErrConflict for a username that is taken.
	UpdateUser(ctx context.Context, u workflow.User) error
	// CreateSession inserts a session.
	CreateSession(ctx context.Context, s Session) error
	// SessionByID reads a session for update; ErrNotFound when none.
	SessionByID(ctx context.Context, id string) (Session, error)
	// ExtendSession moves the session's expiry.
	ExtendSession(ctx context.Context, id string, expiresAt time.Time) error
	// RevokeSession revokes a session and every refresh token of it not
	// revoked yet; it reports whether the session was live.
	RevokeSession(ctx context.Context, id string, at time.Time, reason string) (bool, error)
	// RevokeUserSessions revokes every live session of a user and their
	// refresh tokens, and returns the ids of the sessions revoked.
	RevokeUserSessions(ctx context.Context, userID string, at time.Time, reason string) ([]string, error)
	// AddRefreshToken inserts a refresh token.
	AddRefreshToken(ctx context.Context, rt RefreshToken) error
	// RefreshTokenByHash reads a refresh token by its hash, for update;
	// ErrNotFound when none.
	RefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error)
	// MarkRefreshTokenUsed records that the token was exchanged;
	// ErrConflict when it was used already.
	MarkRefreshTokenUsed(ctx context.Context, id string, at time.Time) error
	// PruneSessions deletes the sessions that expired, or were revoked,
	// before the given time, with their refresh tokens, and the refresh
	// tokens of other sessions that expired before it; it returns how many
	// of each it deleted.
	PruneSessions(ctx context.Context, before time.Time) (sessions, refreshTokens int64, err error)
}

// Grant is what a log-in or a refresh gives the client.
type Grant struct {
	AccessToken      string
	ExpiresIn        time.Duration // of the access token
	RefreshToken     string
	RefreshExpiresIn time.Duration
	SessionID        string
	User             workflow.User
}

// newRefreshToken returns a new refresh token and its hash.
func newRefreshToken() (string, []byte, error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("new refresh token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, hashRefreshToken(tok), nil
}

// hashRefreshToken is how a refresh token is stored and looked up. The
// token is 256 random bits, so a plain SHA-256 (no salt, no stretching)
// cannot be reversed, and it can be looked up directly.
func hashRefreshToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// wellFormedRefreshToken reports whether tok can be a refresh token of this
// server, before any lookup.
func wellFormedRefreshToken(tok string) bool {
	if len(tok) != refreshTokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(tok)
	return err == nil
}

// badRefresh is the one answer to every refused refresh: unknown, expired,
// used, revoked, or of a disabled user.
var badRefresh = workflow.Errorf(workflow.ErrUnauthenticated, "invalid or expired refresh token; log in again")

// startSession creates the session and first refresh token of a log-in and
// appends its audit record, in one transaction, and returns the grant.
//
// also, when not nil, writes in the same transaction, before the session
// is created (a password changed at log-in, see LoginReplacing).
func (a *Authenticator) startSession(ctx context.Context, u workflow.User, rec workflow.Change, also func(SessionTx) error) (Grant, error) {
	raw, hash, err := newRefreshToken()
	if err != nil {
		return Grant{}, err
	}
	now := a.now().UTC()
	s := Session{ID: workflow.NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(a.refreshLifetime)}
	rt := RefreshToken{
		ID: workflow.NewID(), SessionID: s.ID, UserID: u.ID, Hash: hash, CreatedAt: now, ExpiresAt: s.ExpiresAt,
	}
	access, lifetime, err := a.tokens.issue(ctx, u.ID, s.ID, s.ExpiresAt)
	if err != nil {
		return Grant{}, err
	}
	rec.At = now
	if rec.Details == nil {
		rec.Details = map[string]any{}
	}
	rec.Details["session_id"] = s.ID
	// Fail closed: a log-in that cannot be recorded does not happen.
	err = a.store.WithSessionTx(ctx, func(tx SessionTx) error {
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, s); err != nil {
			return err
		}
		if err := tx.AddRefreshToken(ctx, rt); err != nil {
			return err
		}
		return tx.Apply(ctx, rec)
	})
	if err != nil {
		return Grant{}, fmt.Errorf("record log-in: %w", err)
	}
	return Grant{
		AccessToken: access, ExpiresIn: lifetime, RefreshToken: a.refreshPrefix + raw, RefreshExpiresIn: a.refreshLifetime,
		SessionID: s.ID, User: u,
	}, nil
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token of the same session; the one given is used up. A refresh
// token that was used already revokes its whole session. Every attempt is
// audited as auth.refresh; every refusal is the same ErrUnauthenticated
// error.
func (a *Authenticator) Refresh(ctx context.Context, refreshToken, clientIP string) (Grant, error) {
	rec := workflow.Recorded(workflow.Actor{}, time.Time{}, ActionRefresh, workflow.OutcomeDenied, map[string]any{})
	if clientIP != "" {
		rec.Details["client_ip"] = clientIP
	}
	refreshToken, prefixed := strings.CutPrefix(refreshToken, a.refreshPrefix)
	if !prefixed || !wellFormedRefreshToken(refreshToken) {
		rec.Details["reason"] = "malformed"
		a.record(ctx, rec)
		return Grant{}, badRefresh
	}
	hash := hashRefreshToken(refreshToken)
	raw, nextHash, err := newRefreshToken()
	if err != nil {
		return Grant{}, err
	}
	now := a.now().UTC()
	var (
		granted bool
		user    workflow.User
		sess    Session
	)
	// One transaction decides and records: the rotation, or the refusal
	// and (for a reused token) the revocation, with its audit record. The
	// refusal is no error of the transaction, so that the revocation
	// commits.
	err = a.store.WithSessionTx(ctx, func(tx SessionTx) error {
		granted = false
		rec.Outcome, rec.Actor, rec.Authority, rec.At = workflow.OutcomeDenied, "", "", now
		deny := func(reason string) error {
			rec.Details["reason"] = reason
			return tx.Apply(ctx, rec)
		}
		rt, err := tx.RefreshTokenByHash(ctx, hash)
		if workflow.ErrorCode(err) == workflow.ErrNotFound {
			return deny("unknown_token")
		}
		if err != nil {
			return err
		}
		// The lookup was by hash; compare again in constant time, so that
		// nothing depends on how the database compared.
		if subtle.ConstantTimeCompare(rt.Hash, hash) != 1 {
			return deny("unknown_token")
		}
		rec.Details["session_id"] = rt.SessionID
		u, err := tx.UserByID(ctx, rt.UserID)
		switch {
		case err == nil:
			rec.Actor, rec.Authority = u.Username, u.Authority
		case workflow.ErrorCode(err) != workflow.ErrNotFound:
			return err
		}
		s, err := tx.SessionByID(ctx, rt.SessionID)
		if err != nil {
			return err
		}
		switch {
		case s.Revoked() || !rt.RevokedAt.IsZero():
			return deny("revoked")
		case !rt.UsedAt.IsZero():
			// Reuse: the family is compromised. Revoke all of it.
			if _, err := tx.RevokeSession(ctx, s.ID, now, RevokedReuse); err != nil {
				return err
			}
			rec.Details["session_revoked"] = true
			return deny("reuse")
		case u.ID == "" || u.Disabled:
			if _, err := tx.RevokeSession(ctx, s.ID, now, RevokedUserDisabled); err != nil {
				return err
			}
			return deny("disabled")
		case !now.Before(rt.ExpiresAt):
			return deny("expired")
		}
		if err := tx.MarkRefreshTokenUsed(ctx, rt.ID, now); err != nil {
			return err
		}
		next := RefreshToken{
			ID: workflow.NewID(), SessionID: s.ID, UserID: u.ID, Hash: nextHash,
			CreatedAt: now, ExpiresAt: now.Add(a.refreshLifetime),
		}
		if err := tx.AddRefreshToken(ctx, next); err != nil {
			return err
		}
		if err := tx.ExtendSession(ctx, s.ID, next.ExpiresAt); err != nil {
			return err
		}
		rec.Outcome = workflow.OutcomeOK
		if err := tx.Apply(ctx, rec); err != nil {
			return err
		}
		granted, user, sess = true, u, s
		sess.ExpiresAt = next.ExpiresAt
		return nil
	})
	if err != nil {
		return Grant{}, fmt.Errorf("refresh: %w", err)
	}
	if !granted {
		return Grant{}, badRefresh
	}
	access, lifetime, err := a.tokens.issue(ctx, user.ID, sess.ID, sess.ExpiresAt)
	if err != nil {
		return Grant{}, err
	}
	return Grant{
		AccessToken: access, ExpiresIn: lifetime, RefreshToken: a.refreshPrefix + raw, RefreshExpiresIn: a.refreshLifetime,
		SessionID: sess.ID, User: user,
	}, nil
}

// LogoutOptions widen a log-out beyond the session of the access token.
type LogoutOptions struct {
	// RefreshToken, when set, also revokes that token's session, if it is
	// the caller's (a client that kept one from another log-in). Anything
	// else is ignored, so that a log-out tells nothing about tokens.
	RefreshToken string
	// All revokes every session of the caller: "log out everywhere".
	All bool
}

// Logout revokes the session of a valid access token, and more as opts
// say; its access tokens and refresh tokens stop working at once. It is
// audited as auth.logout. The API's and the web's log-outs both come here.
func (a *Authenticator) Logout(ctx context.Context, accessToken string, opts LogoutOptions) error {
	u, s, err := a.authenticate(ctx, accessToken)
	if err != nil {
		return err
	}
	var extra []byte
	if wellFormedRefreshToken(opts.RefreshToken) {
		extra = hashRefreshToken(opts.RefreshToken)
	}
	now := a.now().UTC()
	rec := workflow.Recorded(u.Actor(), now, ActionLogout, workflow.OutcomeOK, nil)
	return a.store.WithSessionTx(ctx, func(tx SessionTx) error {
		revoked := []string{}
		if opts.All {
			ids, err := tx.RevokeUserSessions(ctx, u.ID, now, RevokedLogout)
			if err != nil {
				return err
			}
			revoked = append(revoked, ids...)
		} else {
			ids := []string{s.ID}
			if extra != nil {
				rt, err := tx.RefreshTokenByHash(ctx, extra)
				switch {
				case err == nil && rt.UserID == u.ID && rt.SessionID != s.ID && subtle.ConstantTimeCompare(rt.Hash, extra) == 1:
					ids = append(ids, rt.SessionID)
				case err != nil && workflow.ErrorCode(err) != workflow.ErrNotFound:
					return err
				}
			}
			for _, id := range ids {
				live, err := tx.RevokeSession(ctx, id, now, RevokedLogout)
				if err != nil {
					return err
				}
				if live {
					revoked = append(revoked, id)
				}
			}
		}
		rec.Details = map[string]any{"session_id": s.ID, "all": opts.All, "sessions_revoked": revoked}
		return tx.Apply(ctx, rec)
	})
}

// Renew returns a new access token of the same session as a valid one,
// for the web application, whose session cookie holds an access token and
// no refresh token. It is valid for the token lifetime but not past the
// session's expiry, so a browser session, too, ends at the latest when the
// refresh lifetime after its log-in (or its last refresh) has passed.
func (a *Authenticator) Renew(ctx context.Context, accessToken string) (string, time.Duration, error) {
	u, s, err := a.authenticate(ctx, accessToken)
	if err != nil {
		return "", 0, err
	}
	return a.tokens.issue(ctx, u.ID, s.ID, s.ExpiresAt)
}

// revokeUserSessions revokes every session of the user inside tx, for a
// change of the account that must end them, and returns their number.
func revokeUserSessions(ctx context.Context, tx SessionTx, userID string, at time.Time, reason string) (int, error) {
	ids, err := tx.RevokeUserSessions(ctx, userID, at, reason)
	return len(ids), err
}

// systemActor is who the server's own housekeeping is recorded as.
var systemActor = workflow.Actor{Username: "system"}

// PruneSessions deletes the sessions that ended, and the refresh tokens
// that expired, more than SessionRetention ago: every log-in and refresh
// adds a row, and without pruning the tables would grow for ever. What it
// deleted is audited, as auth.prune by "system", in the same transaction;
// a prune that finds nothing writes nothing. It also forgets the log-in
// throttle's events that can no longer count (not audited: they are no
// record, the attempts they counted are).
func (a *Authenticator) PruneSessions(ctx context.Context) (sessions, refreshTokens int64, err error) {
	now := a.now().UTC()
	err = a.store.WithSessionTx(ctx, func(tx SessionTx) error {
		var err error
		sessions, refreshTokens, err = tx.PruneSessions(ctx, now.Add(-SessionRetention))
		if err != nil || sessions+refreshTokens == 0 {
			return err
		}
		return tx.Apply(ctx, workflow.Recorded(systemActor, now, ActionPrune, workflow.OutcomeOK, map[string]any{
			"sessions": sessions, "refresh_tokens": refreshTokens, "ended_before": now.Add(-SessionRetention).Format(time.RFC3339),
		}))
	})
	if err != nil {
		return 0, 0, fmt.Errorf("prune sessions: %w", err)
	}
	if _, err := a.limiter.prune(ctx); err != nil {
		return sessions, refreshTokens, fmt.Errorf("prune log-in events: %w", err)
	}
	return sessions, refreshTokens, nil
}

// worldRefreshPrefix starts the refresh tokens of a world's sessions.
const worldRefreshPrefix = "exercise."

// WithWorld makes the Authenticator the one of the world of a training
// exercise: its refresh tokens start with the world's name, so that the
// server can route a refresh to its world (RefreshTokenWorld), and it
// refuses every refresh token that does not, the live server's included.
// (Its access tokens name the world by their audience: NewWorldTokens.)
func WithWorld(world string) Option {
	return func(a *Authenticator) { a.refreshPrefix = worldRefreshPrefix + world + "." }
}

// RefreshTokenWorld tells which world a refresh token claims to belong
// to, "" for the live one; it verifies nothing.
func RefreshTokenWorld(token string) string {
	rest, ok := strings.CutPrefix(token, worldRefreshPrefix)
	if !ok {
		return ""
	}
	world, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	return world
}
