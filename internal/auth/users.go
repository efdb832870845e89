package auth

import (
	"context"
	"strings"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// errNotAdmin answers a signed-in user who may not manage accounts.
var errNotAdmin = workflow.Errorf(workflow.ErrForbidden, "only the administrator manages users")

// CreateUser creates an account on behalf of a signed-in user, who must be
// allowed to manage users.
func (a *Authenticator) CreateUser(ctx context.Context, by workflow.Actor, nu NewUser) (workflow.User, error) {
	if !a.policy.MayManageUsers(by) {
		return workflow.User{}, errNotAdmin
	}
	return a.AddUser(ctx, by, nu)
}

// ListUsers lists every account, for the administrator.
func (a *Authenticator) ListUsers(ctx context.Context, by workflow.Actor) ([]workflow.User, error) {
	if !a.policy.MayManageUsers(by) {
		return nil, errNotAdmin
	}
	return a.users.ListUsers(ctx)
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
// password). The administrator cannot disable or demote their own account:
// a platform must not be left without anyone able to manage it.
func (a *Authenticator) UpdateUser(ctx context.Context, by workflow.Actor, userID string, ch UserChanges) (workflow.User, error) {
	if !a.policy.MayManageUsers(by) {
		return workflow.User{}, errNotAdmin
	}
	u, err := a.users.UserByID(ctx, userID)
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
		checkPassword(fields, *ch.Password)
		if len(fields) == 0 {
			hash, err := a.hasher.Hash(*ch.Password)
			if err != nil {
				return workflow.User{}, err
			}
			u.PasswordHash = hash
		}
		changed = append(changed, "password")
	}
	if len(fields) > 0 {
		return workflow.User{}, &workflow.Error{Code: workflow.ErrValidation, Message: "the input is not valid", Fields: fields}
	}
	if len(changed) == 0 {
		return u, nil
	}
	details["changed"] = changed
	rec := workflow.AuditRecord{
		At: a.now().UTC(), Actor: by.Username, Authority: by.Authority,
		Action: ActionUserUpdate, Outcome: workflow.OutcomeOK, Details: details,
	}
	if err := a.users.UpdateUser(ctx, u, rec); err != nil {
		return workflow.User{}, err
	}
	return u, nil
}

// SetDisabled disables or re-enables an account; a disabled user's tokens
// stop working at once, since every request loads the user.
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
