package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// accountJSON is a user as the administrator sees it (added to the
// contract): the user of /me plus whether the account is disabled.
type accountJSON struct {
	userJSON
	Disabled  bool   `json:"disabled"`
	CreatedAt string `json:"created_at"`
}

func toAccountJSON(ctx context.Context, u workflow.User, names *authorityNames) (accountJSON, error) {
	uj, err := toUserJSON(ctx, u, names)
	return accountJSON{userJSON: uj, Disabled: u.Disabled, CreatedAt: timeJSON(u.CreatedAt)}, err
}

// handleListUsers lists every account, for the administrator.
func handleListUsers(a *auth.Authenticator, names *authorityNames) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		ctx := c.Request().Context()
		users, err := a.ListUsers(ctx, actorFrom(c))
		if err != nil {
			return err
		}
		items := make([]accountJSON, len(users))
		for i, u := range users {
			if items[i], err = toAccountJSON(ctx, u, names); err != nil {
				return err
			}
		}
		return c.JSON(http.StatusOK, itemsJSON[accountJSON]{Items: items})
	}
}

// newUserInput is the body of POST /users.
type newUserInput struct {
	Username    string        `json:"username"`
	DisplayName string        `json:"display_name"`
	Role        workflow.Role `json:"role"`
	Authority   *string       `json:"authority"`
	Password    string        `json:"password"`
}

// handleCreateUser creates an account.
func handleCreateUser(a *auth.Authenticator, names *authorityNames) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in newUserInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		ctx := c.Request().Context()
		u, err := a.CreateUser(ctx, actorFrom(c), auth.NewUser{
			Username: in.Username, DisplayName: in.DisplayName, Role: in.Role,
			Authority: deref(in.Authority), Password: in.Password,
		})
		if err != nil {
			return err
		}
		out, err := toAccountJSON(ctx, u, names)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, out)
	}
}

// userChangesInput is the body of PATCH /users/{id}: every field optional.
type userChangesInput struct {
	DisplayName *string          `json:"display_name"`
	Role        *workflow.Role   `json:"role"`
	Authority   optional[string] `json:"authority"` // null: none (admin, trainer)
	Disabled    *bool            `json:"disabled"`
	Password    *string          `json:"password"`
}

// handleUpdateUser changes an account: display name, role and authority,
// disabled, or a new password.
func handleUpdateUser(a *auth.Authenticator, names *authorityNames) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in userChangesInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		ctx := c.Request().Context()
		u, err := a.UpdateUser(ctx, actorFrom(c), c.Param("id"), auth.UserChanges{
			DisplayName: in.DisplayName, Role: in.Role, Authority: in.Authority.ptr(),
			Disabled: in.Disabled, Password: in.Password,
		})
		if err != nil {
			return err
		}
		out, err := toAccountJSON(ctx, u, names)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, out)
	}
}
