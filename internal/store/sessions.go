package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Sessions (refresh-token families), refresh tokens and the signing key
// ring of internal/auth. Their tables are created by authRows, after the
// tables of allRows that their foreign keys point at.

// authRows lists the row types of authentication, in creation order.
func authRows() []any {
	return []any{&sessionRow{}, &refreshTokenRow{}, &signingKeyRow{}}
}

// sessionRow is the stored form of auth.Session: one log-in and the refresh
// tokens rotated from it. Times are microseconds (see toMicros); a zero
// revoked_at_us means live.
type sessionRow struct {
	ID           string `gorm:"column:id;size:64;primaryKey"`
	UserID       string `gorm:"column:user_id;size:64;not null;index:ix_auth_sessions_user"`
	CreatedUS    int64  `gorm:"column:created_at_us;not null"`
	ExpiresUS    int64  `gorm:"column:expires_at_us;not null"`
	RevokedUS    int64  `gorm:"column:revoked_at_us;not null"`
	RevokeReason string `gorm:"column:revoke_reason;size:32;not null"`

	User *userRow `gorm:"foreignKey:UserID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:CASCADE"`
}

func (sessionRow) TableName() string { return "auth_sessions" }

func (r sessionRow) toDomain() auth.Session {
	return auth.Session{
		ID: r.ID, UserID: r.UserID, CreatedAt: fromMicros(r.CreatedUS), ExpiresAt: fromMicros(r.ExpiresUS),
		RevokedAt: optionalTime(r.RevokedUS), RevokeReason: r.RevokeReason,
	}
}

// refreshTokenRow is the stored form of auth.RefreshToken: the SHA-256 of
// the token, in hex, never the token. FamilyID is its session.
type refreshTokenRow struct {
	ID        string `gorm:"column:id;size:64;primaryKey"`
	FamilyID  string `gorm:"column:family_id;size:64;not null;index:ix_refresh_tokens_family"`
	UserID    string `gorm:"column:user_id;size:64;not null;index:ix_refresh_tokens_user"`
	TokenHash string `gorm:"column:token_hash;size:64;not null;uniqueIndex:ux_refresh_tokens_hash"`
	CreatedUS int64  `gorm:"column:created_at_us;not null"`
	ExpiresUS int64  `gorm:"column:expires_at_us;not null"`
	UsedUS    int64  `gorm:"column:used_at_us;not null"`
	RevokedUS int64  `gorm:"column:revoked_at_us;not null"`

	Family *sessionRow `gorm:"foreignKey:FamilyID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:CASCADE"`
	User   *userRow    `gorm:"foreignKey:UserID;references:ID;constraint:OnUpdate:RESTRICT,OnDelete:CASCADE"`
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

func (r refreshTokenRow) toDomain() (auth.RefreshToken, error) {
	hash, err := hex.DecodeString(r.TokenHash)
	if err != nil {
		return auth.RefreshToken{}, errors.New("stored refresh token hash is not hex")
	}
	return auth.RefreshToken{
		ID: r.ID, SessionID: r.FamilyID, UserID: r.UserID, Hash: hash,
		CreatedAt: fromMicros(r.CreatedUS), ExpiresAt: fromMicros(r.ExpiresUS),
		UsedAt: optionalTime(r.UsedUS), RevokedAt: optionalTime(r.RevokedUS),
	}, nil
}

// optionalTime reads a stored time of which 0 means "not yet".
func optionalTime(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
}

// optionalMicros stores a time of which zero means "not yet".
func optionalMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return toMicros(t)
}

var errSessionNotFound = workflow.Errorf(workflow.ErrNotFound, "session not found")

var _ auth.Store = (*Store)(nil)
var _ auth.SessionTx = (*tx)(nil)

// sessionColumns are the columns of sessionRow in the order of its
// scanTargets.
const sessionColumns = "id, user_id, created_at_us, expires_at_us, revoked_at_us, revoke_reason"

func (r *sessionRow) scanTargets() []any {
	return []any{&r.ID, &r.UserID, &r.CreatedUS, &r.ExpiresUS, &r.RevokedUS, &r.RevokeReason}
}

// refreshTokenColumns are the columns of refreshTokenRow in the order of
// its scanTargets.
const refreshTokenColumns = "id, family_id, user_id, token_hash, created_at_us, expires_at_us, used_at_us, revoked_at_us"

func (r *refreshTokenRow) scanTargets() []any {
	return []any{&r.ID, &r.FamilyID, &r.UserID, &r.TokenHash, &r.CreatedUS, &r.ExpiresUS, &r.UsedUS, &r.RevokedUS}
}

// prefixed qualifies each of a comma-separated list of columns with a
// table alias.
func prefixed(alias, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// SessionUser reads the user and the session of an access token in one
// query, on the read pool: every authenticated request asks it. A session
// that is missing, or not the user's, is ErrNotFound.
func (s *Store) SessionUser(ctx context.Context, userID, sessionID string) (workflow.User, auth.Session, error) {
	key := sessionKey{userID: userID, sessionID: sessionID}
	if u, sess, ok := s.sessions.get(key); ok {
		return u, sess, nil
	}
	gen := s.sessions.generation()
	rdb, err := s.r.DB()
	if err != nil {
		return workflow.User{}, auth.Session{}, err
	}
	var u userRow
	var sr sessionRow
	// Not cancelled with the request: a read this short is cheaper to
	// finish than the driver's goroutine that would watch for it.
	err = rdb.QueryRowContext(context.WithoutCancel(ctx), s.sql.sessionUser, sessionID, userID).
		Scan(append(u.scanTargets(), sr.scanTargets()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return workflow.User{}, auth.Session{}, errSessionNotFound
	}
	if err != nil {
		return workflow.User{}, auth.Session{}, s.fail(err, "load session")
	}
	if _, err := s.checkedUser(u); err != nil {
		return workflow.User{}, auth.Session{}, errSessionNotFound
	}
	user, sess := u.toDomain(), sr.toDomain()
	s.sessions.put(key, gen, user, sess)
	return user, sess, nil
}

// WithSessionTx runs fn in one write transaction of the group-commit
// writer (see WithTx).
func (s *Store) WithSessionTx(ctx context.Context, fn func(auth.SessionTx) error) error {
	return s.withTx(ctx, func(t *tx) error { return fn(t) })
}

// authExec runs a statement of this file inside the transaction. Like the
// other hand-written statements it is not cancelled by the caller's
// context: a cancelled statement could abort the whole group commit. Each
// of them changes a session or a refresh token, so the session cache is
// invalidated once the batch has committed.
func (t *tx) authExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.batch.authChanged = true
	return t.batch.sqlTx.ExecContext(context.WithoutCancel(ctx), rebind(t.store.postgres, query), args...)
}

// UserByID reads a user inside the transaction.
func (t *tx) UserByID(ctx context.Context, id string) (workflow.User, error) {
	var row userRow
	err := t.batch.sqlTx.QueryRowContext(context.WithoutCancel(ctx), t.store.sql.userBy["id = ?"], id).
		Scan(row.scanTargets()...)
	if errors.Is(err, sql.ErrNoRows) {
		return workflow.User{}, errUserNotFound
	}
	if err != nil {
		return workflow.User{}, err
	}
	if row, err = t.store.checkedUser(row); err != nil {
		return workflow.User{}, err
	}
	return row.toDomain(), nil
}

// UpdateUser writes every field of u but its creation time, under the
// rules of Store.UpdateUser, inside the transaction, so that the change
// of an account and the revocation of its sessions commit together.
func (t *tx) UpdateUser(ctx context.Context, u workflow.User) error {
	row := userFromDomain(u)
	if row.Username == "" {
		return workflow.Invalid("username", "is required")
	}
	if err := t.checkUser(ctx, row); err != nil {
		return err
	}
	t.batch.authChanged = true
	res := t.db.Model(&userRow{}).Where("id = ?", row.ID).Updates(map[string]any{
		"username":           row.Username,
		"display_name":       row.DisplayName,
		"role":               row.Role,
		"authority":          row.Authority,
		"password_hash":      row.PasswordHash,
		"password_temporary": row.PasswordTemporary,
		"disabled":           row.Disabled,
		"seal":               t.store.userSeal(row),
	})
	if isDuplicate(res.Error) {
		return usernameTaken(row.Username)
	}
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errUserNotFound
	}
	return nil
}

// CreateSession inserts a session.
func (t *tx) CreateSession(ctx context.Context, s auth.Session) error {
	_, err := t.authExec(ctx, "INSERT INTO auth_sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?)",
		s.ID, s.UserID, toMicros(s.CreatedAt), toMicros(s.ExpiresAt), optionalMicros(s.RevokedAt), s.RevokeReason)
	return err
}

// SessionByID reads a session, locked on PostgreSQL.
func (t *tx) SessionByID(ctx context.Context, id string) (auth.Session, error) {
	var row sessionRow
	err := t.batch.sqlTx.QueryRowContext(context.WithoutCancel(ctx), t.store.sql.sessionForUpdate, id).
		Scan(row.scanTargets()...)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Session{}, errSessionNotFound
	}
	if err != nil {
		return auth.Session{}, err
	}
	return row.toDomain(), nil
}

// ExtendSession moves a session's expiry.
func (t *tx) ExtendSession(ctx context.Context, id string, expiresAt time.Time) error {
	res, err := t.authExec(ctx, "UPDATE auth_sessions SET expires_at_us = ? WHERE id = ?", toMicros(expiresAt), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errSessionNotFound
	}
	return nil
}

// RevokeSession revokes a live session and every refresh token of it not
// revoked yet; it reports whether the session was live.
func (t *tx) RevokeSession(ctx context.Context, id string, at time.Time, reason string) (bool, error) {
	us := toMicros(at)
	res, err := t.authExec(ctx, "UPDATE auth_sessions SET revoked_at_us = ?, revoke_reason = ? WHERE id = ? AND revoked_at_us = 0",
		us, reason, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if _, err := t.authExec(ctx, "UPDATE refresh_tokens SET revoked_at_us = ? WHERE family_id = ? AND revoked_at_us = 0", us, id); err != nil {
		return false, err
	}
	return n > 0, nil
}

// RevokeUserSessions revokes every live session of a user, and their
// refresh tokens, and returns the ids of the sessions revoked.
func (t *tx) RevokeUserSessions(ctx context.Context, userID string, at time.Time, reason string) ([]string, error) {
	rows, err := t.batch.sqlTx.QueryContext(context.WithoutCancel(ctx),
		rebind(t.store.postgres, "SELECT id FROM auth_sessions WHERE user_id = ? AND revoked_at_us = 0 ORDER BY id"), userID)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return ids, nil
	}
	us := toMicros(at)
	if _, err := t.authExec(ctx, "UPDATE auth_sessions SET revoked_at_us = ?, revoke_reason = ? WHERE user_id = ? AND revoked_at_us = 0",
		us, reason, userID); err != nil {
		return nil, err
	}
	if _, err := t.authExec(ctx, "UPDATE refresh_tokens SET revoked_at_us = ? WHERE user_id = ? AND revoked_at_us = 0", us, userID); err != nil {
		return nil, err
	}
	return ids, nil
}

// AddRefreshToken inserts a refresh token.
func (t *tx) AddRefreshToken(ctx context.Context, rt auth.RefreshToken) error {
	_, err := t.authExec(ctx, "INSERT INTO refresh_tokens ("+refreshTokenColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		rt.ID, rt.SessionID, rt.UserID, hex.EncodeToString(rt.Hash), toMicros(rt.CreatedAt), toMicros(rt.ExpiresAt),
		optionalMicros(rt.UsedAt), optionalMicros(rt.RevokedAt))
	return err
}

// RefreshTokenByHash reads a refresh token by its hash, locked on
// PostgreSQL.
func (t *tx) RefreshTokenByHash(ctx context.Context, hash []byte) (auth.RefreshToken, error) {
	var row refreshTokenRow
	err := t.batch.sqlTx.QueryRowContext(context.WithoutCancel(ctx), t.store.sql.tokenForUpdate, hex.EncodeToString(hash)).
		Scan(row.scanTargets()...)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.RefreshToken{}, workflow.Errorf(workflow.ErrNotFound, "refresh token not found")
	}
	if err != nil {
		return auth.RefreshToken{}, err
	}
	return row.toDomain()
}

// MarkRefreshTokenUsed records that a token was exchanged for its
// successor; a token used already is ErrConflict.
func (t *tx) MarkRefreshTokenUsed(ctx context.Context, id string, at time.Time) error {
	res, err := t.authExec(ctx, "UPDATE refresh_tokens SET used_at_us = ? WHERE id = ? AND used_at_us = 0", toMicros(at), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return workflow.Errorf(workflow.ErrConflict, "the refresh token was used already")
	}
	return nil
}

// PruneSessions deletes the sessions that expired or were revoked before
// the given time, with their refresh tokens, and the refresh tokens that
// expired before it.
func (t *tx) PruneSessions(ctx context.Context, before time.Time) (sessions, refreshTokens int64, err error) {
	us := toMicros(before)
	ended := "expires_at_us < ? OR (revoked_at_us > 0 AND revoked_at_us < ?)"
	res, err := t.authExec(ctx, "DELETE FROM refresh_tokens WHERE expires_at_us < ? OR family_id IN (SELECT id FROM auth_sessions WHERE "+ended+")",
		us, us, us)
	if err != nil {
		return 0, 0, err
	}
	if refreshTokens, err = res.RowsAffected(); err != nil {
		return 0, 0, err
	}
	if res, err = t.authExec(ctx, "DELETE FROM auth_sessions WHERE "+ended, us, us); err != nil {
		return 0, 0, err
	}
	if sessions, err = res.RowsAffected(); err != nil {
		return 0, 0, err
	}
	return sessions, refreshTokens, nil
}
