package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"gorm.io/gorm/clause"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// signingKeyRow is one key of the access tokens' key ring (auth.KeyRing).
// SealedSecret is the HMAC key sealed with AES-256-GCM under a key derived
// from the audit key (sealSecret), empty for the key of a configured
// secret, which only the configuration holds. A zero retired_at_us means
// the key may sign.
//
// Sealed, because whoever holds a signing secret can sign in as anyone:
// someone who reads the database (a copied backup, say) could otherwise
// act as the administrator or as any officer, and the server would audit
// those forged actions as genuine. The audit key is kept outside the
// database. Secret held the secret in hex before secrets were sealed; Open
// seals such rows once and empties it, and it is never read as a secret
// afterwards (see sealLegacySigningKeys).
type signingKeyRow struct {
	ID           string `gorm:"column:id;size:64;primaryKey"`
	Secret       string `gorm:"column:secret;not null"`
	SealedSecret string `gorm:"column:sealed_secret;not null;default:''"`
	CreatedUS    int64  `gorm:"column:created_at_us;not null"`
	RetiredUS    int64  `gorm:"column:retired_at_us;not null"`
}

// signingSecretPurpose derives the key that seals signing secrets.
const signingSecretPurpose = "mla-flow/signing-key-secrets/v1"

// sealSecret seals a signing key's secret for its row; the key's id is
// authenticated with it, so that a sealed secret moved to another row does
// not open.
func (s *Store) sealSecret(id string, secret []byte) string {
	if len(secret) == 0 {
		return ""
	}
	aead := s.aeadFor(signingSecretPurpose)
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, secret, []byte(id)))
}

// openSecret opens what sealSecret sealed; "" opens to no secret.
func (s *Store) openSecret(id, sealed string) ([]byte, error) {
	if sealed == "" {
		return nil, nil
	}
	aead := s.aeadFor(signingSecretPurpose)
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err == nil && len(raw) > aead.NonceSize() {
		var secret []byte
		if secret, err = aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(id)); err == nil {
			return secret, nil
		}
	}
	return nil, fmt.Errorf("signing key %s: its secret does not open with the audit key (altered, or sealed under another key)", id)
}

// sealLegacySigningKeys seals the secrets of a database from before
// secrets were sealed (legacy: its signing_keys had no sealed_secret column
// until this Open's migration added one), and empties their hex column.
// Directly, like sealLegacyHead: the writer is not started yet.
func (s *Store) sealLegacySigningKeys(ctx context.Context, legacy bool) error {
	if !legacy {
		return nil
	}
	var rows []signingKeyRow
	if err := s.w.WithContext(ctx).Where("secret <> ''").Find(&rows).Error; err != nil {
		return fmt.Errorf("read signing keys to seal: %w", err)
	}
	for _, r := range rows {
		secret, err := hex.DecodeString(r.Secret)
		if err != nil {
			return fmt.Errorf("signing key %s: the stored secret is not hex", r.ID)
		}
		err = s.w.WithContext(ctx).Model(&signingKeyRow{}).Where("id = ? AND secret = ?", r.ID, r.Secret).
			Updates(map[string]any{"sealed_secret": s.sealSecret(r.ID, secret), "secret": ""}).Error
		if err != nil {
			return fmt.Errorf("seal signing key %s: %w", r.ID, err)
		}
	}
	if len(rows) > 0 {
		s.log.Info("signing key secrets sealed", "keys", len(rows))
	}
	return nil
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
		secret, err := s.openSecret(r.ID, r.SealedSecret)
		if err != nil {
			return nil, err
		}
		out = append(out, auth.SigningKey{
			ID: r.ID, Secret: secret, CreatedAt: fromMicros(r.CreatedUS), RetiredAt: optionalTime(r.RetiredUS),
		})
	}
	return out, nil
}

// AddSigningKey adds k under the condition when, retiring every other key
// that is not retired yet at k.CreatedAt, and applies c when it is not
// nil, in one transaction. It reports whether it added the key.
func (s *Store) AddSigningKey(ctx context.Context, k auth.SigningKey, when auth.KeyAddition, c *workflow.Change) (bool, error) {
	row := signingKeyRow{ID: k.ID, SealedSecret: s.sealSecret(k.ID, k.Secret), CreatedUS: toMicros(k.CreatedAt)}
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
			if err := db.Model(&signingKeyRow{}).Where("retired_at_us = 0 AND sealed_secret <> ''").Count(&n).Error; err != nil {
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
		if c != nil {
			if err := t.Apply(ctx, *c); err != nil {
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
		q = q.Where("retired_at_us = 0 AND sealed_secret <> ''")
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
