package auth

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// userKey is where RequireUser keeps the signed-in user in the Echo context.
const userKey = "mla-flow.auth.user"

// RequireUser is the Echo middleware of every endpoint that needs a
// signed-in user. It reads "Authorization: Bearer TOKEN" (the scheme in any
// case, RFC 7235 2.1), verifies the token and loads its user, and refuses
// with ErrUnauthenticated otherwise. Handlers then read the user with
// UserFrom or ActorFrom.
func RequireUser(a *Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				return badToken
			}
			u, err := a.Authenticate(c.Request().Context(), token)
			if err != nil {
				return err
			}
			c.Set(userKey, u)
			return next(c)
		}
	}
}

// BearerToken extracts the token of an Authorization header value
// ("Bearer TOKEN", the scheme in any case).
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// UserFrom returns the user RequireUser stored in c, and the zero User when
// there is none (a route without the guard).
func UserFrom(c echo.Context) workflow.User {
	u, _ := c.Get(userKey).(workflow.User)
	return u
}

// ActorFrom returns the acting identity of the signed-in user of c. Without
// RequireUser it is the zero Actor, which the Policy lets see and do
// nothing.
func ActorFrom(c echo.Context) workflow.Actor {
	return UserFrom(c).Actor()
}
