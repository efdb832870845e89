package store

import (
	"context"
	"encoding/hex"
	"fmt"

	"gorm.io/gorm/clause"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// signingKeyRow is one key of the access tokens' key ring (auth.KeyRing).
// Secret is the HMAC key in hex, empty for the key of a configured secret,
// which only the configuration holds. A zero retired_at_us means the key
// may sign.
//
// The secrets are in the database, as the generated signing secret always
// was: whoever can read the database can read the case files anyway. The
// audit key, which protects against those who can write it, is elsewhere.
type signingKeyRow struct {
	ID        string `gorm:"column:id;size:64;primaryKey"`
	Secret    string `gorm:"column:secret;not null"`
	CreatedUS int64  `gorm:"column:created_at_us;not null"`
	RetiredUS int64  `gorm:"column:retired_at_us;not null"`
}

func (signingKeyRow) TableName() string { return "signing_keys" }

var _ auth.KeyStore = (*Store)(nil)

// SigningKeys returns every key of the ring.
func (s *Store) SigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	var rows []signingKeyRow
	if err := s.r.WithContext(ctx).Order("created_at_us, id").Find(&rows).Error; err != nil {
		return nil, s.fail(err, "read signing keys")
	}
	out := make([]auth.SigningKey, 0, len(rows))
	for _, r := range rows {
		secret, err := hex.DecodeString(r.Secret)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: the stored secret is not hex", r.ID)
		}
		out = append(out, auth.SigningKey{
			ID: r.ID, Secret: secret, CreatedAt: fromMicros(r.CreatedUS), RetiredAt: optionalTime(r.RetiredUS),
		})
	}
	return out, nil
}

// AddSigningKey adds k under the condition when, retiring every other key
// that is not retired yet at k.CreatedAt, and appends rec when it is not
// nil, in one transaction. It reports whether it added the key.
func (s *Store) AddSigningKey(ctx context.Context, k auth.SigningKey, when auth.KeyAddition, rec *workflow.AuditRecord) (bool, error) {
	row := signingKeyRow{ID: k.ID, Secret: hex.EncodeToString(k.Secret), CreatedUS: toMicros(k.CreatedAt)}
	// What every start asks, whether there is a key already, is answered
	// by a read where it can be: a command-line tool then opens a database
	// whose writes it would be refused (see batchTx.chainAudit) and still
	// reports what it finds, and a start writes nothing it need not.
	if have, err := s.haveSigningKey(ctx, k.ID, when); err != nil || have {
		return false, err
	}
	var added bool
	err := s.withTx(ctx, func(t *tx) error {
		added = false
		db := t.db
		if when == auth.AddIfNoneUsable {
			var n int64
			if err := db.Model(&signingKeyRow{}).Where("retired_at_us = 0 AND secret <> ''").Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			if when == auth.AddAlways {
				return workflow.Errorf(workflow.ErrConflict, "signing key %s exists", k.ID)
			}
			return nil // AddIfUnknown: known already
		}
		if err := db.Model(&signingKeyRow{}).Where("retired_at_us = 0 AND id <> ?", k.ID).
			Update("retired_at_us", row.CreatedUS).Error; err != nil {
			return err
		}
		if rec != nil {
			if err := t.AppendAudit(ctx, *rec); err != nil {
				return err
			}
		}
		added = true
		return nil
	})
	return added, err
}

// haveSigningKey tells whether AddSigningKey would leave the ring as it is:
// a usable key exists (AddIfNoneUsable) or k's id is known (AddIfUnknown).
// The write transaction checks again; this read only spares it.
func (s *Store) haveSigningKey(ctx context.Context, id string, when auth.KeyAddition) (bool, error) {
	q := s.r.WithContext(ctx).Model(&signingKeyRow{})
	switch when {
	case auth.AddIfNoneUsable:
		q = q.Where("retired_at_us = 0 AND secret <> ''")
	case auth.AddIfUnknown:
		q = q.Where("id = ?", id)
	default:
		return false, nil
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return false, s.fail(err, "read signing keys")
	}
	return n > 0, nil
}
