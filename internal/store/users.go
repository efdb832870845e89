package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// normalizeUsername is the stored and looked-up form of a username: lower
// case, so that "IT.Officer" and "it.officer" are one account.
func normalizeUsername(u string) string { return strings.ToLower(u) }

var errUserNotFound = workflow.Errorf(workflow.ErrNotFound, "user not found")

// UserByUsername returns the user with that username, in any case.
func (s *Store) UserByUsername(ctx context.Context, username string) (workflow.User, error) {
	return s.user(ctx, "username = ?", normalizeUsername(username))
}

// UserByID returns the user with that id.
func (s *Store) UserByID(ctx context.Context, id string) (workflow.User, error) {
	return s.user(ctx, "id = ?", id)
}

func (s *Store) user(ctx context.Context, cond string, arg string) (workflow.User, error) {
	// Every authenticated API call looks its user up: written by hand,
	// because GORM's statement building and reflection cost twice the
	// query (see statements.userBy); and not cancellable, because for a
	// cancellable context the driver starts a goroutine per query to watch
	// it, which costs more than this lookup by primary key.
	rdb, err := s.r.DB()
	if err != nil {
		return workflow.User{}, err
	}
	var row userRow
	err = rdb.QueryRowContext(context.WithoutCancel(ctx), s.sql.userBy[cond], arg).Scan(row.scanTargets()...)
	if errors.Is(err, sql.ErrNoRows) {
		return workflow.User{}, errUserNotFound
	}
	if err != nil {
		return workflow.User{}, s.fail(err, "load user")
	}
	if row, err = s.checkedUser(row); err != nil {
		return workflow.User{}, err
	}
	return row.toDomain(), nil
}

// ListUsers returns every user, by username.
func (s *Store) ListUsers(ctx context.Context) ([]workflow.User, error) {
	var rows []userRow
	if err := s.r.WithContext(ctx).Order("username").Find(&rows).Error; err != nil {
		return nil, s.fail(err, "list users")
	}
	out := make([]workflow.User, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, nil
}

// CountUsers returns the number of users (none yet means a fresh server).
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.WithContext(ctx).Model(&userRow{}).Count(&n).Error; err != nil {
		return 0, s.fail(err, "count users")
	}
	return n, nil
}

// CreateUser inserts u and applies c (its audit entry), in one transaction.
// An empty u.ID gets a new one and a zero u.CreatedAt the current time; the
// username is stored in lower case. A u.Authority that does not exist is a
// validation error on "authority"; a username already taken (in any case)
// is ErrConflict. Whether the role and authority go together is the
// caller's rule (workflow.Role.NeedsAuthority), not checked here.
func (s *Store) CreateUser(ctx context.Context, u workflow.User, c workflow.Change) error {
	if u.ID == "" {
		u.ID = workflow.NewID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	row := s.sealed(userFromDomain(u))
	if row.Username == "" {
		return workflow.Invalid("username", "is required")
	}
	return s.withTx(ctx, func(t *tx) error {
		if err := t.checkUser(ctx, row); err != nil {
			return err
		}
		err := t.db.WithContext(ctx).Omit(clause.Associations).Create(&row).Error
		if isDuplicate(err) {
			return usernameTaken(row.Username)
		}
		if err != nil {
			return err
		}
		return t.Apply(ctx, c)
	})
}

// UpdateUser writes every field of the user with u.ID but its creation time
// (a disabled flag, a new role or password hash, a rename) and applies c,
// in one transaction. The rules of CreateUser apply; an unknown u.ID is
// ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, u workflow.User, c workflow.Change) error {
	return s.withTx(ctx, func(t *tx) error {
		if err := t.UpdateUser(ctx, u); err != nil {
			return err
		}
		return t.Apply(ctx, c)
	})
}

// checkUser checks, before writing row, that its authority exists and that
// no other user has its username. The unique index enforces the latter as
// well; checking first gives the clear answer without relying on the
// database's error, which on PostgreSQL would also abort the transaction.
func (t *tx) checkUser(ctx context.Context, row userRow) error {
	db := t.db.WithContext(ctx)
	if row.Authority != nil {
		if _, err := authorityByCode(db, *row.Authority); err != nil {
			if workflow.ErrorCode(err) == workflow.ErrNotFound {
				return workflow.Invalid("authority", "no such authority")
			}
			return err
		}
	}
	var n int64
	if err := db.Model(&userRow{}).Where("username = ? AND id <> ?", row.Username, row.ID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return usernameTaken(row.Username)
	}
	// A trainee's username belongs to an exercise's world: a log-in with
	// it goes there (see internal/exercise), so no live account may have it.
	if err := db.Model(&traineeRow{}).Where("username = ?", row.Username).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return usernameTaken(row.Username)
	}
	return nil
}

func usernameTaken(username string) error {
	return workflow.Errorf(workflow.ErrConflict, "username %q is taken", username)
}

// validAuthorityCode accepts the ISO 3166-1 alpha-2 codes of states, and a
// little more (up to 8 letters) for regional or international bodies; the
// column is sized to match, so both databases refuse the same codes.
func validAuthorityCode(code string) bool {
	if len(code) < 2 || len(code) > 8 {
		return false
	}
	for _, c := range code {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// AddAuthority inserts a central authority and applies c, in one
// transaction. An existing code is ErrConflict.
func (s *Store) AddAuthority(ctx context.Context, a workflow.Authority, c workflow.Change) error {
	switch {
	case !validAuthorityCode(a.Code):
		return workflow.Invalid("code", "must be 2 to 8 upper-case letters (ISO 3166-1 alpha-2 for a state)")
	case strings.TrimSpace(a.Name) == "":
		return workflow.Invalid("name", "is required")
	}
	return s.withTx(ctx, func(t *tx) error {
		db := t.db.WithContext(ctx)
		var n int64
		if err := db.Model(&authorityRow{}).Where("code = ?", a.Code).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return workflow.Errorf(workflow.ErrConflict, "authority %q exists", a.Code)
		}
		if err := db.Create(&authorityRow{Code: a.Code, Name: a.Name}).Error; err != nil {
			if isDuplicate(err) {
				return workflow.Errorf(workflow.ErrConflict, "authority %q exists", a.Code)
			}
			return err
		}
		return t.Apply(ctx, c)
	})
}

// EnsureSetting stores value under key unless a value is stored already,
// and returns the stored one. Servers starting at once on one database thus
// agree on, say, one generated token-signing secret: the first insert wins.
//
// A value stored already is read without a write transaction, so that a
// command-line tool can open a database whose writes it would be refused
// (the wrong audit key, say) and still report what it finds.
func (s *Store) EnsureSetting(ctx context.Context, key, value string) (string, error) {
	var row settingRow
	err := s.r.WithContext(ctx).Where("name = ?", key).Take(&row).Error
	if err == nil {
		return row.Value, nil
	}
	if !notFound(err) {
		return "", s.fail(err, "read setting")
	}
	var stored string
	err = s.withTx(ctx, func(t *tx) error {
		db := t.db.WithContext(ctx)
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&settingRow{Name: key, Value: value}).Error; err != nil {
			return err
		}
		var row settingRow
		if err := db.Where("name = ?", key).Take(&row).Error; err != nil {
			return err
		}
		stored = row.Value
		return nil
	})
	return stored, err
}
