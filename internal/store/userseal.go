package store

import (
	"context"
	"crypto/hmac"
	"fmt"
	"strconv"

	"github.com/mla-flow/mla-flow/internal/audit"
)

// Sealed accounts.
//
// Whoever can write the database could otherwise give an account another
// role or authority, or a password hash of their own choosing, and sign in
// with it: the replay of the log (verifyUsers) finds that afterwards, the
// seal refuses it at once. Every write of a user row seals it, every read
// that signs someone in or authenticates a call checks the seal, and a row
// whose seal does not match is no account (the caller is told what an
// unknown user is told; the log says why).

// userSealPurpose derives the key of the seals of user rows.
const userSealPurpose = "mla-flow/user-rows/v1"

// userSeal returns the seal of row: audit.FieldsMAC under the derived key,
// of every column but the seal itself.
func (s *Store) userSeal(row userRow) string {
	authority := ""
	if row.Authority != nil {
		authority = "=" + *row.Authority // told apart from no authority
	}
	return audit.FieldsMAC(s.userSealKey,
		userSealPurpose, row.ID, row.Username, row.DisplayName, row.Role, authority, row.PasswordHash,
		strconv.FormatBool(row.PasswordTemporary), strconv.FormatBool(row.Disabled), strconv.FormatInt(row.CreatedUS, 10))
}

// sealed returns row with its seal set.
func (s *Store) sealed(row userRow) userRow {
	row.Seal = s.userSeal(row)
	return row
}

// userSealed reports whether row's seal matches its columns.
func (s *Store) userSealed(row userRow) bool {
	return hmac.Equal([]byte(row.Seal), []byte(s.userSeal(row)))
}

// checkedUser is the account of row, or errUserNotFound, logged, when its
// seal does not match: a row changed behind the server's back signs nobody
// in.
func (s *Store) checkedUser(row userRow) (userRow, error) {
	if !s.userSealed(row) {
		s.log.Error("ACCOUNT ROW ALTERED: its seal does not match its columns; it signs nobody in", "user_id", row.ID)
		return userRow{}, errUserNotFound
	}
	return row, nil
}

// sealLegacyUsers seals the user rows of a database from before rows were
// sealed (legacy: its users had no seal column until this Open's migration
// added one). Directly, like sealLegacyHead: the writer is not started yet.
func (s *Store) sealLegacyUsers(ctx context.Context, legacy bool) error {
	if !legacy {
		return nil
	}
	var rows []userRow
	if err := s.w.WithContext(ctx).Find(&rows).Error; err != nil {
		return fmt.Errorf("read users to seal: %w", err)
	}
	for _, r := range rows {
		err := s.w.WithContext(ctx).Model(&userRow{}).Where("id = ? AND seal = ''", r.ID).Update("seal", s.userSeal(r)).Error
		if err != nil {
			return fmt.Errorf("seal user %s: %w", r.ID, err)
		}
	}
	if len(rows) > 0 {
		s.log.Info("user rows sealed", "users", len(rows))
	}
	return nil
}
