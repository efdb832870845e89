package httpapi

import (
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
			return &workflow.Error{Code: workflow.ErrValidation, Message: "the input is not valid", Fields: fields}
		}
		ctx := c.Request().Context()
		token, lifetime, u, err := a.Login(ctx, in.Username, in.Password, c.RealIP())
		if err != nil {
			return err
		}
		uj, err := toUserJSON(ctx, u, names)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, loginJSON{
			AccessToken: token, TokenType: "Bearer", ExpiresIn: int(lifetime.Seconds()), User: uj,
		})
	}
}

// handleMe answers who the caller is.
func handleMe(names *authorityNames) echo.HandlerFunc {
	return func(c echo.Context) error {
		uj, err := toUserJSON(c.Request().Context(), auth.UserFrom(c), names)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, uj)
	}
}
