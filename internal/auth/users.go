package auth

import (
	"context"
	"strings"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// errNotAdmin answers a signed-in user who may not manage accounts.
var errNotAdmin = workflow.Errorf(workflow.ErrForbidden, "only the administrator manages users")

// CreateUser creates an account on behalf of a signed-in user, who must be
// allowed to manage users. Its password is temporary, as after a reset (see
// UpdateUser): the administrator chose it, so it opens no session until
// the account's owner has replaced it.
func (a *Authenticator) CreateUser(ctx context.Context, by workflow.Actor, nu NewUser) (workflow.User, error) {
	if !a.policy.MayManageUsers(by) {
		return workflow.User{}, errNotAdmin
	}
	return a.addUser(ctx, by, nu, newAccount{passwordPolicy: true, temporary: true})
}

// ListUsers lists every account, for the administrator.
func (a *Authenticator) ListUsers(ctx context.Context, by workflow.Actor) ([]workflow.User, error) {
	if !a.policy.MayManageUsers(by) {
		return nil, errNotAdmin
	}
	return a.store.ListUsers(ctx)
}

// UserChanges is an edit of an account: nil fields stay as they are.
type UserChanges struct {
	DisplayName *string
	Role        *workflow.Role
	Authority   *string // with Role: the authority the new role works for
	Disabled    *bool
	Password    *string // a new password, set by the administrator
}

// UpdateUser changes an account on behalf of the administrator, in one
// transaction with one audit record naming what changed (never the
// password). Disabling an account or setting its password revokes its
// sessions in the same transaction: whoever held them is out at once, and
// their refresh tokens are worth nothing. A password set for somebody
// else's account is temporary: it opens no session until its owner has
// replaced it (see LoginReplacing), so that an administrator who reset it
// cannot use it without the owner finding their password no longer works. The administrator cannot disable
// or demote their own account: a platform must not be left without anyone
// able to manage it.
func (a *Authenticator) UpdateUser(ctx context.Context, by workflow.Actor, userID string, ch UserChanges) (workflow.User, error) {
	if !a.policy.MayManageUsers(by) {
		return workflow.User{}, errNotAdmin
	}
	u, err := a.store.UserByID(ctx, userID)
	if err != nil {
		if workflow.ErrorCode(err) == workflow.ErrNotFound {
			return workflow.User{}, workflow.Errorf(workflow.ErrNotFound, "user not found")
		}
		return workflow.User{}, err
	}
	fields := map[string]string{}
	var changed []string
	details := map[string]any{"user_id": u.ID, "username": u.Username}
	if ch.DisplayName != nil {
		u.DisplayName = strings.TrimSpace(*ch.DisplayName)
		if u.DisplayName == "" {
			u.DisplayName = u.Username
		}
		checkDisplayName(fields, u.DisplayName)
		changed = append(changed, "display_name")
	}
	if ch.Role != nil || ch.Authority != nil {
		if ch.Role != nil {
			u.Role = *ch.Role
		}
		if ch.Authority != nil {
			u.Authority = strings.ToUpper(strings.TrimSpace(*ch.Authority))
		}
		checkRole(fields, u)
		if u.ID == by.UserID && !a.policy.MayManageUsers(u.Actor()) {
			fields["role"] = "you cannot remove your own administration rights"
		}
		changed = append(changed, "role")
		details["role"], details["authority"] = u.Role, u.Authority
	}
	if ch.Disabled != nil {
		if *ch.Disabled && u.ID == by.UserID {
			fields["disabled"] = "you cannot disable your own account"
		}
		u.Disabled = *ch.Disabled
		changed = append(changed, "disabled")
		details["disabled"] = u.Disabled
	}
	if ch.Password != nil {
		checkPassword(fields, "password", *ch.Password, u.Username)
		if len(fields) == 0 {
			hash, err := a.hasher.Hash(*ch.Password)
			if err != nil {
				return workflow.User{}, err
			}
			u.PasswordHash = hash
			u.PasswordTemporary = u.ID != by.UserID
		}
		changed = append(changed, "password")
		details["password_temporary"] = u.PasswordTemporary
	}
	if len(fields) > 0 {
		return workflow.User{}, workflow.InvalidFields(fields)
	}
	if len(changed) == 0 {
		return u, nil
	}
	details["changed"] = changed
	now := a.now().UTC()
	rec := workflow.Recorded(by, now, ActionUserUpdate, workflow.OutcomeOK, details)
	revoke := ""
	switch {
	case u.Disabled && ch.Disabled != nil:
		revoke = RevokedUserDisabled
	case ch.Password != nil:
		revoke = RevokedPasswordReset
	}
	err = a.store.WithSessionTx(ctx, func(tx SessionTx) error {
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if revoke != "" {
			n, err := revokeUserSessions(ctx, tx, u.ID, now, revoke)
			if err != nil {
				return err
			}
			details["sessions_revoked"] = n
		}
		return tx.Apply(ctx, rec)
	})
	if err != nil {
		return workflow.User{}, err
	}
	return u, nil
}

// SetDisabled disables or re-enables an account; a disabled user's
// sessions are revoked, and its tokens stop working at once.
func (a *Authenticator) SetDisabled(ctx context.Context, by workflow.Actor, userID string, disabled bool) (workflow.User, error) {
	return a.UpdateUser(ctx, by, userID, UserChanges{Disabled: &disabled})
}

// ResetPassword gives an account a new password.
func (a *Authenticator) ResetPassword(ctx context.Context, by workflow.Actor, userID, password string) (workflow.User, error) {
	return a.UpdateUser(ctx, by, userID, UserChanges{Password: &password})
}

// ChangeRole gives an account another role, and the authority it works for
// (empty for admin and trainer).
func (a *Authenticator) ChangeRole(ctx context.Context, by workflow.Actor, userID string, role workflow.Role, authority string) (workflow.User, error) {
	return a.UpdateUser(ctx, by, userID, UserChanges{Role: &role, Authority: &authority})
}
