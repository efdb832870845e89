package store

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// API keys of internal/auth (table api_keys, migration 0010): the key's
// SHA-256 in hex, never the key. Keys are read on the read pool and never
// cached, so that a revocation written by any server is seen by every
// server at the key's next use.
//
// Each row is sealed as user rows are (userseal.go): whoever can write the
// database could otherwise insert a key whose hash they chose, give a key
// another role or authority, move its expiry or clear its revocation. The
// seal covers every column that says what the key may do; the last use
// and the throttle's window, which change on every call and grant
// nothing, are outside it. A row whose seal does not match is no key.

// apiKeySealPurpose derives the key of the seals of API key rows.
const apiKeySealPurpose = "mla-flow/api-key-rows/v1"

// apiKeySeal returns the seal of k as stored.
func (s *Store) apiKeySeal(k auth.APIKey) string {
	return audit.FieldsMAC(audit.DeriveKey(s.key, apiKeySealPurpose), apiKeySealPurpose,
		k.ID, k.Name, string(k.Role), k.Authority, hex.EncodeToString(k.Hash),
		strconv.FormatInt(toMicros(k.CreatedAt), 10), k.CreatedBy, strconv.FormatInt(toMicros(k.ExpiresAt), 10),
		strconv.FormatInt(optionalMicros(k.RevokedAt), 10), k.RevokedBy)
}

var _ auth.APIKeyStore = (*Store)(nil)

var errAPIKeyNotFound = workflow.Errorf(workflow.ErrNotFound, "API key not found")

// apiKeyColumns are the columns scanAPIKey reads, in its order.
const apiKeyColumns = "id, name, role, authority, key_hash, created_at_us, created_by, expires_at_us, revoked_at_us, revoked_by, last_used_at_us, seal"

// rowScanner is a *sql.Row or a *sql.Rows, for the scans of one row.
type rowScanner interface{ Scan(dest ...any) error }

// scanAPIKey reads a row of apiKeyColumns, and its seal.
func scanAPIKey(r rowScanner) (auth.APIKey, string, error) {
	var k auth.APIKey
	var role, hash, seal string
	var created, expires, revoked, used int64
	if err := r.Scan(&k.ID, &k.Name, &role, &k.Authority, &hash, &created, &k.CreatedBy, &expires, &revoked, &k.RevokedBy, &used, &seal); err != nil {
		return auth.APIKey{}, "", err
	}
	h, err := hex.DecodeString(hash)
	if err != nil {
		return auth.APIKey{}, "", errors.New("stored API key hash is not hex")
	}
	k.Role, k.Hash = workflow.Role(role), h
	k.CreatedAt, k.ExpiresAt = fromMicros(created), fromMicros(expires)
	k.RevokedAt, k.LastUsedAt = optionalTime(revoked), optionalTime(used)
	return k, strings.TrimSpace(seal), nil
}

// checkedAPIKey is k, or errAPIKeyNotFound, logged, when seal is not k's.
func (s *Store) checkedAPIKey(k auth.APIKey, seal string) (auth.APIKey, error) {
	if !hmac.Equal([]byte(seal), []byte(s.apiKeySeal(k))) {
		s.log.Error("API KEY ROW ALTERED: its seal does not match its columns; it lets nobody in", "key_id", k.ID)
		return auth.APIKey{}, errAPIKeyNotFound
	}
	return k, nil
}

// apiKeyWhere reads the one key matching cond on the read pool.
func (s *Store) apiKeyWhere(ctx context.Context, cond string, arg any) (auth.APIKey, error) {
	rdb, err := s.r.DB()
	if err != nil {
		return auth.APIKey{}, err
	}
	// Not cancelled with the request, as the session lookup: a read this
	// short is cheaper to finish than the driver's watching goroutine.
	k, seal, err := scanAPIKey(rdb.QueryRowContext(context.WithoutCancel(ctx),
		rebind(s.postgres, "SELECT "+apiKeyColumns+" FROM api_keys WHERE "+cond), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.APIKey{}, errAPIKeyNotFound
	}
	if err != nil {
		return auth.APIKey{}, s.fail(err, "load API key")
	}
	return s.checkedAPIKey(k, seal)
}

// APIKeyByHash reads the key whose SHA-256 is hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (auth.APIKey, error) {
	return s.apiKeyWhere(ctx, "key_hash = ?", hex.EncodeToString(hash))
}

// APIKeyByID reads a key by its id.
func (s *Store) APIKeyByID(ctx context.Context, id string) (auth.APIKey, error) {
	return s.apiKeyWhere(ctx, "id = ?", id)
}

// APIKeys lists every key, newest first; a row whose seal does not match
// is left out (and logged): it is no key.
func (s *Store) APIKeys(ctx context.Context) ([]auth.APIKey, error) {
	rdb, err := s.r.DB()
	if err != nil {
		return nil, err
	}
	rows, err := rdb.QueryContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys ORDER BY created_at_us DESC, id DESC")
	if err != nil {
		return nil, s.fail(err, "list API keys")
	}
	defer rows.Close()
	out := []auth.APIKey{}
	for rows.Next() {
		k, seal, err := scanAPIKey(rows)
		if err != nil {
			return nil, s.fail(err, "list API keys")
		}
		if k, err = s.checkedAPIKey(k, seal); err == nil {
			out = append(out, k)
		}
	}
	return out, s.fail(rows.Err(), "list API keys")
}

// CreateAPIKey inserts k and applies c (its audit entry), in one
// transaction. The authority must exist and the name be free (revoked
// keys' names included); both are checked before the insert, for the clear
// answer and because a failed insert would abort a PostgreSQL transaction.
func (s *Store) CreateAPIKey(ctx context.Context, k auth.APIKey, c workflow.Change) error {
	return s.withTx(ctx, func(t *tx) error {
		db := t.db.WithContext(ctx)
		if _, err := authorityByCode(db, k.Authority); err != nil {
			if workflow.ErrorCode(err) == workflow.ErrNotFound {
				return workflow.Invalid("authority", "no such authority")
			}
			return err
		}
		var n int64
		if err := db.Raw("SELECT COUNT(*) FROM api_keys WHERE name = ?", k.Name).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return workflow.Invalid("name", "is taken by another API key (names of revoked keys are not reused)")
		}
		err := db.Exec("INSERT INTO api_keys ("+apiKeyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			k.ID, k.Name, string(k.Role), k.Authority, hex.EncodeToString(k.Hash), toMicros(k.CreatedAt), k.CreatedBy,
			toMicros(k.ExpiresAt), optionalMicros(k.RevokedAt), k.RevokedBy, optionalMicros(k.LastUsedAt), s.apiKeySeal(k)).Error
		if isDuplicate(err) {
			return workflow.Invalid("name", "is taken by another API key")
		}
		if err != nil {
			return err
		}
		return t.Apply(ctx, c)
	})
}

// RevokeAPIKey marks a live key revoked, sealed anew, and applies c, in one
// transaction; a key revoked already is left as it is, and c is not
// applied. Of two revocations at once, the update's condition lets one
// win.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time, by string, c workflow.Change) (bool, error) {
	revoked := false
	err := s.withTx(ctx, func(t *tx) error {
		k, seal, err := scanAPIKey(t.batch.sqlTx.QueryRowContext(context.WithoutCancel(ctx),
			rebind(s.postgres, "SELECT "+apiKeyColumns+" FROM api_keys WHERE id = ?"), id))
		if errors.Is(err, sql.ErrNoRows) {
			return errAPIKeyNotFound
		}
		if err != nil {
			return err
		}
		if !k.RevokedAt.IsZero() {
			return nil
		}
		// A row altered behind the server's back is revoked all the same
		// (it lets nobody in either way), and its revocation recorded.
		if _, err := s.checkedAPIKey(k, seal); err != nil {
			c.Details["seal"] = "did not match"
		}
		k.RevokedAt, k.RevokedBy = fromMicros(toMicros(at)), by
		res := t.db.WithContext(ctx).Exec("UPDATE api_keys SET revoked_at_us = ?, revoked_by = ?, seal = ? WHERE id = ? AND revoked_at_us = 0",
			toMicros(k.RevokedAt), by, s.apiKeySeal(k), id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil // revoked meanwhile by another server
		}
		revoked = true
		return t.Apply(ctx, c)
	})
	return revoked, err
}

// UseAPIKey counts a use of the key in the fixed window starting at window
// and records at as its last use, in one statement on the writer beside
// the group commit (like the log-in throttle's events: nothing a command
// reads, and not audited itself), so that the count is atomic across
// servers. A use in a newer window starts the count again at 1.
func (s *Store) UseAPIKey(ctx context.Context, id string, at, window time.Time) (int, error) {
	w := toMicros(window)
	var uses []int
	err := s.w.WithContext(context.WithoutCancel(ctx)).Raw(
		"UPDATE api_keys SET window_uses = CASE WHEN window_start_us = ? THEN window_uses + 1 ELSE 1 END, "+
			"window_start_us = ?, last_used_at_us = ? WHERE id = ? RETURNING window_uses",
		w, w, toMicros(at), id).Scan(&uses).Error
	if err != nil {
		return 0, s.fail(err, "count API key use")
	}
	if len(uses) == 0 {
		return 0, errAPIKeyNotFound
	}
	return uses[0], nil
}
