package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// newUserValues is the create-user form, as typed (never the password).
type newUserValues struct {
	Username    string
	DisplayName string
	Role        string
	Authority   string
}

// usersView is the content of the users page.
type usersView struct {
	Users            []workflow.User
	New              newUserValues
	Errors           map[string]string
	Problems         []fieldProblem
	RoleOptions      []option
	AuthorityOptions []option
}

// userView is the content of one user's page.
type userView struct {
	U workflow.User
	// Own is the administrator's own account, which may not be disabled
	// or lose its role (auth.Authenticator.UpdateUser): its page offers
	// neither, and says why.
	Own              bool
	Errors           map[string]string
	Problems         []fieldProblem
	RoleOptions      []option
	AuthorityOptions []option
}

func (h *Handler) usersView(c echo.Context) (usersView, error) {
	users, err := h.auth.ListUsers(c.Request().Context(), actorOf(c))
	if err != nil {
		return usersView{}, err
	}
	list, err := h.authorities(c)
	if err != nil {
		return usersView{}, err
	}
	return usersView{
		Users: users, Errors: map[string]string{}, RoleOptions: roleOptions(),
		AuthorityOptions: counterpartOptions(list, ""),
		New:              newUserValues{Role: string(workflow.RoleOfficer)},
	}, nil
}

// handleUsers lists the accounts, with the form to create one.
func (h *Handler) handleUsers() echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := h.usersView(c)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "users.html", title: "Users", content: v, flash: doneMessages[c.QueryParam("done")]})
	}
}

// handleCreateUser creates an account; errors come back next to the fields.
func (h *Handler) handleCreateUser() echo.HandlerFunc {
	return func(c echo.Context) error {
		nv := newUserValues{
			Username: strings.TrimSpace(c.FormValue("username")), DisplayName: c.FormValue("display_name"),
			Role: c.FormValue("role"), Authority: c.FormValue("authority"),
		}
		var u workflow.User
		err := formError(c)
		if err == nil {
			u, err = h.auth.CreateUser(c.Request().Context(), actorOf(c), auth.NewUser{
				Username: nv.Username, DisplayName: nv.DisplayName, Role: workflow.Role(nv.Role),
				Authority: nv.Authority, Password: c.FormValue("password"),
			})
		}
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/users/"+u.ID+"?done=user_created")
		}
		code := workflow.ErrorCode(err)
		if code != workflow.ErrValidation && code != workflow.ErrConflict {
			return err
		}
		v, verr := h.usersView(c)
		if verr != nil {
			return verr
		}
		v.New = nv
		if fields, ok := validationFields(err); ok {
			v.Errors = fields
		} else {
			v.Errors = map[string]string{"username": "is taken by another account"}
		}
		v.Problems = problems(v.Errors, newUserFields)
		return h.render(c, view{status: statusOf(code), name: "users.html", title: "Users", content: v,
			alert: "The account was not created. Correct the fields marked below."})
	}
}

// findUser loads one account through the admin's list: the Authenticator
// decides who may list.
func (h *Handler) findUser(c echo.Context) (workflow.User, error) {
	users, err := h.auth.ListUsers(c.Request().Context(), actorOf(c))
	if err != nil {
		return workflow.User{}, err
	}
	for _, u := range users {
		if u.ID == c.Param("id") {
			return u, nil
		}
	}
	return workflow.User{}, workflow.Errorf(workflow.ErrNotFound, "no such user")
}

func (h *Handler) userPage(c echo.Context, u workflow.User) (userView, error) {
	list, err := h.authorities(c)
	if err != nil {
		return userView{}, err
	}
	return userView{
		U: u, Own: u.ID == actorOf(c).UserID, Errors: map[string]string{},
		RoleOptions: roleOptions(), AuthorityOptions: counterpartOptions(list, ""),
	}, nil
}

// handleUser shows one account with its actions.
func (h *Handler) handleUser() echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := h.findUser(c)
		if err != nil {
			return err
		}
		v, err := h.userPage(c, u)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "user.html", title: u.Username, content: v, flash: doneMessages[c.QueryParam("done")]})
	}
}

// userAction runs one change of an account, then shows the account again:
// after a redirect on success, with the errors next to the form otherwise.
func (h *Handler) userAction(do func(c echo.Context, id string) (string, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		var done string
		err := formError(c)
		if err == nil {
			done, err = do(c, id)
		}
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/users/"+id+"?done="+done)
		}
		code := workflow.ErrorCode(err)
		if code != workflow.ErrValidation && code != workflow.ErrConflict {
			return err
		}
		u, ferr := h.findUser(c)
		if ferr != nil {
			return ferr
		}
		v, verr := h.userPage(c, u)
		if verr != nil {
			return verr
		}
		if fields, ok := validationFields(err); ok {
			v.Errors = fields
		} else {
			var ae *workflow.Error
			errors.As(err, &ae)
			v.Errors = map[string]string{"": ae.Message}
		}
		v.Problems = problems(v.Errors, userFields)
		return h.render(c, view{status: statusOf(code), name: "user.html", title: u.Username, content: v,
			alert: "Nothing was changed. See below."})
	}
}

// handleSetDisabled disables or enables an account.
func (h *Handler) handleSetDisabled() echo.HandlerFunc {
	return h.userAction(func(c echo.Context, id string) (string, error) {
		disable := c.FormValue("disabled") == "true"
		_, err := h.auth.SetDisabled(c.Request().Context(), actorOf(c), id, disable)
		if disable {
			return "user_disabled", err
		}
		return "user_enabled", err
	})
}

// handleResetPassword sets a new password.
func (h *Handler) handleResetPassword() echo.HandlerFunc {
	return h.userAction(func(c echo.Context, id string) (string, error) {
		_, err := h.auth.ResetPassword(c.Request().Context(), actorOf(c), id, c.FormValue("password"))
		return "user_password", err
	})
}

// handleChangeRole changes an account's role and authority.
func (h *Handler) handleChangeRole() echo.HandlerFunc {
	return h.userAction(func(c echo.Context, id string) (string, error) {
		_, err := h.auth.ChangeRole(c.Request().Context(), actorOf(c), id,
			workflow.Role(c.FormValue("role")), c.FormValue("authority"))
		return "user_role", err
	})
}
