package httpapi

import (
	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// userKey is where requireUser keeps the signed-in user in the Echo
// context.
const userKey = "mla-flow.httpapi.user"

// requireUser is the guard of every endpoint that needs a signed-in user.
// It reads "Authorization: Bearer TOKEN" (the scheme in any case, RFC 7235
// 2.1), has the Authenticator verify the token and load its user, and
// refuses with auth.ErrBadToken otherwise. The credential may be an API
// key of another agency's system as well (CONTRACT 8): the Authenticator
// tells the two apart by the key's prefix. Handlers then read the user
// with userFrom or actorFrom. (It lives here, not in internal/auth, which
// knows nothing of Echo.)
func requireUser(a *auth.Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := auth.BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				return auth.ErrBadToken
			}
			u, err := a.AuthenticateBearer(c.Request().Context(), token)
			if err != nil {
				return err
			}
			c.Set(userKey, u)
			return next(c)
		}
	}
}

// userFrom returns the user requireUser stored in c, and the zero User
// when there is none (a route without the guard).
func userFrom(c echo.Context) workflow.User {
	u, _ := c.Get(userKey).(workflow.User)
	return u
}

// actorFrom returns the acting identity of the signed-in user of c.
// Without requireUser it is the zero Actor, which the Policy lets see and
// do nothing.
func actorFrom(c echo.Context) workflow.Actor {
	return userFrom(c).Actor()
}
