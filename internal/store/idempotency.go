package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/mla-flow/mla-flow/internal/idem"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The idempotency keys of the API (CONTRACT 8, internal/idem). A key's row
// is claimed, and its answer stored, in short transactions of their own on
// the writer; what makes a retried request never make a second effect is
// the mark withTx writes inside the attempt's own write transactions
// (markIdempotent): once the change has committed, so has the mark.

var _ idem.Store = (*Store)(nil)

const idemColumns = "owner, idem_key, token, fingerprint, created_at_us, lease_until_us, effect_seq, status, headers, body"

// Claim takes k for the attempt token (idem.Store). On SQLite the
// writer's transaction is exclusive; on PostgreSQL the row is locked, and
// the INSERT ... ON CONFLICT DO NOTHING makes two first attempts on two
// servers one winner and one that reads the winner's row.
func (s *Store) Claim(ctx context.Context, k idem.Key, token string, now, leaseUntil time.Time) (idem.Record, bool, error) {
	var rec idem.Record
	var won bool
	err := s.w.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		won = false
		fresh := idem.Record{Key: k, Token: token, CreatedAt: now, LeaseUntil: leaseUntil}
		res := db.Exec("INSERT INTO idempotency_keys (owner, idem_key, token, created_at_us, lease_until_us) VALUES (?, ?, ?, ?, ?) "+
			"ON CONFLICT (owner, idem_key) DO NOTHING",
			k.Owner, k.Key, token, toMicros(now), toMicros(leaseUntil))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			rec, won = fresh, true
			return nil
		}
		q := "SELECT " + idemColumns + " FROM idempotency_keys WHERE owner = ? AND idem_key = ?"
		if s.postgres {
			q += " FOR UPDATE"
		}
		stored, err := scanIdem(db.Raw(q, k.Owner, k.Key).Row())
		if err != nil {
			return err
		}
		expired := stored.CreatedAt.Before(now.Add(-idem.Lifetime))
		abandoned := stored.Pending() && stored.EffectSeq == 0 && stored.LeaseUntil.Before(now)
		if !expired && !abandoned {
			rec = stored
			return nil
		}
		if !expired {
			// A holder that died before any effect: the key is taken
			// over, and keeps its first use's time.
			fresh.CreatedAt = stored.CreatedAt
		}
		err = db.Exec("UPDATE idempotency_keys SET token = ?, fingerprint = '', created_at_us = ?, lease_until_us = ?, "+
			"effect_seq = 0, status = 0, headers = '', body = NULL WHERE owner = ? AND idem_key = ?",
			token, toMicros(fresh.CreatedAt), toMicros(leaseUntil), k.Owner, k.Key).Error
		if err != nil {
			return err
		}
		rec, won = fresh, true
		return nil
	})
	return rec, won, s.fail(err, "claim idempotency key")
}

// Lookup reads the record of k (idem.Store), from the readers: a repeat
// waiting for the first attempt's answer polls it without taking the
// writer.
func (s *Store) Lookup(ctx context.Context, k idem.Key) (idem.Record, bool, error) {
	rec, err := scanIdem(s.r.WithContext(ctx).Raw("SELECT "+idemColumns+" FROM idempotency_keys WHERE owner = ? AND idem_key = ?",
		k.Owner, k.Key).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return idem.Record{}, false, nil
	}
	if err != nil {
		return idem.Record{}, false, s.fail(err, "read idempotency key")
	}
	return rec, true, nil
}

func scanIdem(row *sql.Row) (idem.Record, error) {
	var r idem.Record
	var created, lease int64
	var headers string
	err := row.Scan(&r.Owner, &r.Key.Key, &r.Token, &r.Fingerprint, &created, &lease, &r.EffectSeq, &r.Status, &headers, &r.Body)
	if err != nil {
		return idem.Record{}, err
	}
	r.CreatedAt, r.LeaseUntil = fromMicros(created), fromMicros(lease)
	if headers != "" {
		if err := json.Unmarshal([]byte(headers), &r.Headers); err != nil {
			return idem.Record{}, fmt.Errorf("idempotency key headers: %w", err)
		}
	}
	return r, nil
}

// errClaimLost refuses to store what an attempt did once its key was
// taken over by another attempt (its lease lapsed while it stalled).
var errClaimLost = workflow.Errorf(workflow.ErrIdempotencyInProgress,
	"another attempt with this Idempotency-Key took it over; retry to get its answer")

// Complete stores the answer of attempt c (idem.Store).
func (s *Store) Complete(ctx context.Context, c idem.Claim, fingerprint string, status int, headers map[string]string, body []byte) error {
	h, err := json.Marshal(headers)
	if err != nil {
		return err
	}
	if body == nil {
		body = []byte{}
	}
	res := s.w.WithContext(ctx).Exec("UPDATE idempotency_keys SET fingerprint = ?, status = ?, headers = ?, body = ? "+
		"WHERE owner = ? AND idem_key = ? AND token = ?", fingerprint, status, string(h), body, c.Owner, c.Key.Key, c.Token)
	if res.Error != nil {
		return s.fail(res.Error, "store idempotent answer")
	}
	if res.RowsAffected == 0 {
		return errClaimLost
	}
	return nil
}

// Release forgets the key of attempt c unless it committed an effect
// (idem.Store).
func (s *Store) Release(ctx context.Context, c idem.Claim) (bool, error) {
	res := s.w.WithContext(ctx).Exec("DELETE FROM idempotency_keys WHERE owner = ? AND idem_key = ? AND token = ? AND effect_seq = 0",
		c.Owner, c.Key.Key, c.Token)
	if res.Error != nil {
		return false, s.fail(res.Error, "release idempotency key")
	}
	return res.RowsAffected > 0, nil
}

// PruneIdempotencyKeys deletes the keys first used before before
// (idem.Store), for the prune job.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res := s.w.WithContext(ctx).Exec("DELETE FROM idempotency_keys WHERE created_at_us < ?", toMicros(before))
	if res.Error != nil {
		return 0, s.fail(res.Error, "prune idempotency keys")
	}
	return res.RowsAffected, nil
}

// markIdempotent writes, inside the transaction t of the attempt holding
// c, that the attempt committed an effect: the number of the last audit
// entry its transaction wrote (every change has one), or -1. It fails, and
// with it the whole change, when the key no longer names the attempt.
func (t *tx) markIdempotent(ctx context.Context, c idem.Claim, audited bool) error {
	seq := int64(-1)
	if audited {
		seq = t.batch.headSeq + int64(len(t.batch.audit))
	}
	res, err := t.batch.sqlTx.ExecContext(context.WithoutCancel(ctx), t.store.sql.markIdempotent, seq, c.Owner, c.Key.Key, c.Token)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errClaimLost
	}
	return nil
}

// withClaim wraps fn so that, when ctx carries a claim on a key this store
// keeps, the key is marked inside the same transaction, after fn's writes.
func (s *Store) withClaim(ctx context.Context, fn func(*tx) error) func(*tx) error {
	c, ok := idem.ClaimFrom(ctx, s)
	if !ok {
		return fn
	}
	return func(t *tx) error {
		before := len(t.batch.audit)
		if err := fn(t); err != nil {
			return err
		}
		return t.markIdempotent(ctx, c, len(t.batch.audit) > before)
	}
}
