package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// loginInput is the body of POST /auth/login.
type loginInput struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// NewPassword replaces the password (added to the contract): required
	// when the password is temporary, as after the administrator reset it.
	NewPassword string `json:"new_password"`
}

// handleLogin signs a user in. The throttle and the audit of every attempt
// are the Authenticator's; this handler only checks that both fields are
// there.
func handleLogin(a *auth.Authenticator, names *authorityNames) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in loginInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		fields := map[string]string{}
		if strings.TrimSpace(in.Username) == "" {
			fields["username"] = "is required"
		}
		if in.Password == "" {
			fields["password"] = "is required"
		}
		if len(fields) > 0 {
			return workflow.InvalidFields(fields)
		}
		g, err := a.LoginReplacing(c.Request().Context(), in.Username, in.Password, in.NewPassword, c.RealIP())
		if err != nil {
			return err
		}
		return grantAnswer(c, g, names)
	}
}

// refreshInput is the body of POST /auth/refresh.
type refreshInput struct {
	RefreshToken string `json:"refresh_token"`
}

// handleRefresh exchanges a refresh token for a new access token and a new
// refresh token; the one sent is used up. Rotation, reuse detection and
// the audit are the Authenticator's.
func handleRefresh(a *auth.Authenticator, names *authorityNames) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in refreshInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		if in.RefreshToken == "" {
			return workflow.Invalid("refresh_token", "is required")
		}
		g, err := a.Refresh(c.Request().Context(), in.RefreshToken, c.RealIP())
		if err != nil {
			return err
		}
		return grantAnswer(c, g, names)
	}
}

// grantAnswer answers a log-in or a refresh (with Cache-Control: no-store,
// like every answer: see securityHeaders).
func grantAnswer(c echo.Context, g auth.Grant, names *authorityNames) error {
	uj, err := toUserJSON(c.Request().Context(), g.User, names)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginJSON{
		AccessToken: g.AccessToken, TokenType: "Bearer", ExpiresIn: int(g.ExpiresIn.Seconds()), User: uj,
		RefreshToken: g.RefreshToken, RefreshExpiresIn: int(g.RefreshExpiresIn.Seconds()),
	})
}

// logoutInput is the optional body of POST /auth/logout.
type logoutInput struct {
	// RefreshToken also ends that token's session, if it is the caller's.
	RefreshToken string `json:"refresh_token"`
	// All ends every session of the caller.
	All bool `json:"all"`
}

// handleLogout ends the caller's session: its access and refresh tokens
// stop working at once. The body is optional.
func handleLogout(a *auth.Authenticator) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in logoutInput
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return decodeError(err)
		}
		if len(bytes.TrimSpace(body)) > 0 {
			c.Request().Body = io.NopCloser(bytes.NewReader(body))
			if err := decodeJSON(c, &in); err != nil {
				return err
			}
		}
		token, _ := auth.BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		err = a.Logout(c.Request().Context(), token, auth.LogoutOptions{RefreshToken: in.RefreshToken, All: in.All})
		if err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

// handleMe answers who the caller is.
func handleMe(names *authorityNames) echo.HandlerFunc {
	return func(c echo.Context) error {
		uj, err := toUserJSON(c.Request().Context(), userFrom(c), names)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, uj)
	}
}
