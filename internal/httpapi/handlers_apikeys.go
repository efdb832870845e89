package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// apiKeyJSON is an API key as the administrator sees it (CONTRACT 8):
// never the key, which is shown once in the answer to its creation
// (createdAPIKeyJSON) and not kept. status is "active", "expired" or
// "revoked"; revoked_at, revoked_by and last_used_at are null until they
// happen.
type apiKeyJSON struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Actor      string        `json:"actor"`
	Role       workflow.Role `json:"role"`
	Authority  string        `json:"authority"`
	Status     string        `json:"status"`
	CreatedAt  string        `json:"created_at"`
	CreatedBy  string        `json:"created_by"`
	ExpiresAt  string        `json:"expires_at"`
	RevokedAt  *string       `json:"revoked_at"`
	RevokedBy  *string       `json:"revoked_by"`
	LastUsedAt *string       `json:"last_used_at"`
}

// createdAPIKeyJSON is the answer to POST /api-keys: the key and, once,
// the key itself.
type createdAPIKeyJSON struct {
	apiKeyJSON
	Key string `json:"key"`
}

func optionalTimeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timeJSON(t)
	return &s
}

func toAPIKeyJSON(k auth.APIKey, now time.Time) apiKeyJSON {
	return apiKeyJSON{
		ID: k.ID, Name: k.Name, Actor: k.Actor().Username, Role: k.Role, Authority: k.Authority,
		Status: k.Status(now), CreatedAt: timeJSON(k.CreatedAt), CreatedBy: k.CreatedBy,
		ExpiresAt: timeJSON(k.ExpiresAt), RevokedAt: optionalTimeJSON(k.RevokedAt),
		RevokedBy: optionalString(k.RevokedBy), LastUsedAt: optionalTimeJSON(k.LastUsedAt),
	}
}

// newAPIKeyInput is the body of POST /api-keys. expires_at is an RFC 3339
// time (or a date, meaning 00:00 UTC of that day).
type newAPIKeyInput struct {
	Name      string        `json:"name"`
	Role      workflow.Role `json:"role"`
	Authority *string       `json:"authority"`
	ExpiresAt string        `json:"expires_at"`
}

// handleCreateAPIKey creates a key and shows it, the one time it is shown.
func handleCreateAPIKey(a *auth.Authenticator) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in newAPIKeyInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		k, key, err := a.CreateAPIKey(c.Request().Context(), actorFrom(c), auth.NewAPIKey{
			Name: in.Name, Role: in.Role, Authority: deref(in.Authority), ExpiresAt: in.ExpiresAt,
		})
		if err != nil {
			return err
		}
		// The key is a credential: no cache may keep the one answer that
		// holds it, nor the idempotency keys' table.
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		keepSecret(c)
		return c.JSON(http.StatusCreated, createdAPIKeyJSON{apiKeyJSON: toAPIKeyJSON(k, a.Now()), Key: key})
	}
}

// handleListAPIKeys lists every key, revoked and expired ones too.
func handleListAPIKeys(a *auth.Authenticator) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		keys, err := a.ListAPIKeys(c.Request().Context(), actorFrom(c))
		if err != nil {
			return err
		}
		now := a.Now()
		return c.JSON(http.StatusOK, itemsOf(keys, func(k auth.APIKey) apiKeyJSON { return toAPIKeyJSON(k, now) }))
	}
}

// handleRevokeAPIKey revokes a key: 204, also when it was revoked already.
func handleRevokeAPIKey(a *auth.Authenticator) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := a.RevokeAPIKey(c.Request().Context(), actorFrom(c), c.Param("id")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}
