package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// loginView is the content of the log-in page.
type loginView struct {
	Username string
	// NewPassword asks for a new password: the one given is temporary.
	NewPassword bool
	Next        string
	Problem     string // shown above the form
	Errors      map[string]string
	Info        string
}

// handleLoginForm shows the log-in form. A signed-in user goes straight to
// where they were going.
func (h *Handler) handleLoginForm() echo.HandlerFunc {
	return func(c echo.Context) error {
		next := localPath(c.QueryParam("next"))
		if u, _, err := h.session(c); err == nil && u.ID != "" {
			return c.Redirect(http.StatusSeeOther, orHome(next))
		}
		v := loginView{Next: next}
		switch {
		case c.QueryParam("expired") == "1":
			v.Info = "Your session has ended. Log in again to continue where you were."
		case c.QueryParam("bye") == "1":
			v.Info = "You have logged out."
		}
		return h.render(c, view{name: "login.html", title: "Log in", content: v})
	}
}

// handleLogin checks the credentials with the Authenticator, which
// throttles and audits every attempt, and starts the session.
func (h *Handler) handleLogin() echo.HandlerFunc {
	return func(c echo.Context) error {
		v := loginView{
			Username: strings.TrimSpace(c.FormValue("username")),
			Next:     localPath(c.FormValue("next")),
			Errors:   map[string]string{},
		}
		fail := func(status int, problem string) error {
			v.Problem = problem
			return h.render(c, view{status: status, name: "login.html", title: "Log in", content: v})
		}
		if !h.checkCSRF(c, "") {
			// A form kept open past a restart of the browser, or posted
			// from elsewhere: a fresh form (with a fresh token) follows.
			h.issueCSRF(c, "")
			return fail(statusOf(workflow.ErrForbidden), "The log-in form had expired. Please enter your password again.")
		}
		password, newPassword := c.FormValue("password"), c.FormValue("new_password")
		v.NewPassword = c.FormValue("replacing") == "1"
		if fields, bad := validationFields(formError(c)); bad {
			v.Errors = fields
			return fail(statusOf(workflow.ErrValidation), "Correct the fields marked below.")
		}
		if v.Username == "" {
			v.Errors["username"] = "Enter your username."
		}
		if password == "" {
			v.Errors["password"] = "Enter your password."
		}
		if v.NewPassword && newPassword == "" {
			v.Errors["new_password"] = "Choose a new password."
		}
		if len(v.Errors) > 0 {
			return fail(statusOf(workflow.ErrValidation), "Enter your username and password.")
		}
		g, err := h.auth.LoginReplacing(c.Request().Context(), v.Username, password, newPassword, c.RealIP())
		if err != nil {
			var rl *auth.RateLimitError
			var ae *workflow.Error
			switch {
			case workflow.ErrorCode(err) == workflow.ErrPasswordChange:
				v.NewPassword = true
				return fail(statusOf(workflow.ErrPasswordChange),
					"Your password was set by the administrator. Enter it again and choose a new one that only you know.")
			case workflow.ErrorCode(err) == workflow.ErrValidation && errors.As(err, &ae):
				v.Errors = ae.Fields
				return fail(statusOf(workflow.ErrValidation), "Choose another new password.")
			case errors.As(err, &rl):
				c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(auth.RetrySeconds(rl.RetryAfter)))
				return fail(statusOf(workflow.ErrRateLimited),
					"Too many failed attempts. For your account's safety, wait "+strconv.Itoa(auth.RetrySeconds(rl.RetryAfter))+" seconds before trying again.")
			case workflow.ErrorCode(err) == workflow.ErrUnauthenticated:
				return fail(statusOf(workflow.ErrUnauthenticated), "The username or password is wrong. Check them and try again.")
			}
			return err
		}
		// The browser keeps the access token only; its session is renewed
		// through the Authenticator (see maybeRenew), so the refresh token
		// is not needed and never leaves the server.
		setSessionCookie(c, g.AccessToken, g.ExpiresIn)
		h.issueCSRF(c, g.User.ID) // a new token, bound to this user
		return c.Redirect(http.StatusSeeOther, orHome(v.Next))
	}
}

// handleLogout ends the session: the Authenticator revokes it, as the API's
// log-out does, so that its token stops working at once wherever a copy of
// it may be, and both cookies are removed. If the revocation cannot be
// recorded, the error page says so and the cookies stay, so that the user
// can try again rather than believe the session ended.
func (h *Handler) handleLogout() echo.HandlerFunc {
	return func(c echo.Context) error {
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			err := h.auth.Logout(c.Request().Context(), ck.Value, auth.LogoutOptions{})
			if err != nil && workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
				return err
			}
		}
		clearCookie(c, sessionCookie)
		clearCookie(c, csrfCookie)
		return c.Redirect(http.StatusSeeOther, "/login?bye=1")
	}
}

func orHome(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
