package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The API keys page (CONTRACT 8): the administrator lists the keys of
// other agencies' systems, creates one (shown once, on the page that
// answers the form, never again) and revokes one after a confirmation
// page. Everything is decided by the Authenticator and its Policy; the
// page only shows it.

// newAPIKeyValues is the create-key form, as typed.
type newAPIKeyValues struct {
	Name      string
	Role      string
	Authority string
	ExpiresOn string // YYYY-MM-DD
}

// apiKeyRow is one key as the list shows it.
type apiKeyRow struct {
	K      auth.APIKey
	Status string
}

// apiKeysView is the content of the API keys page.
type apiKeysView struct {
	Keys []apiKeyRow
	// Created is the key just created, and Secret the key itself: shown
	// on this one answer only.
	Created          *auth.APIKey
	Secret           string
	New              newAPIKeyValues
	Errors           map[string]string
	Problems         []fieldProblem
	RoleOptions      []option
	AuthorityOptions []option
	MaxExpiresOn     string
	MinExpiresOn     string
}

// apiKeyFields are the create form's fields, in its order.
var apiKeyFields = []string{"name", "role", "authority", "expires_at"}

// defaultKeyLifetime is the expiry the form proposes: 90 days, a
// quarterly rotation, well inside auth.MaxAPIKeyLifetime.
const defaultKeyLifetime = 90 * 24 * time.Hour

func (h *Handler) apiKeysView(c echo.Context) (apiKeysView, error) {
	a := actorOf(c)
	keys, err := h.auth.ListAPIKeys(c.Request().Context(), a)
	if err != nil {
		return apiKeysView{}, err
	}
	list, err := h.authorities(c)
	if err != nil {
		return apiKeysView{}, err
	}
	now := h.auth.Now()
	rows := make([]apiKeyRow, len(keys))
	for i, k := range keys {
		rows[i] = apiKeyRow{K: k, Status: k.Status(now)}
	}
	var roles []option
	for _, o := range roleOptions() {
		if h.policy.MayKeyActAs(workflow.Role(o.Value)) {
			roles = append(roles, o)
		}
	}
	return apiKeysView{
		Keys: rows, Errors: map[string]string{}, RoleOptions: roles,
		AuthorityOptions: counterpartOptions(list, ""),
		New: newAPIKeyValues{Role: string(workflow.RoleOfficer),
			ExpiresOn: now.Add(defaultKeyLifetime).Format(time.DateOnly)},
		MinExpiresOn: now.AddDate(0, 0, 1).Format(time.DateOnly),
		MaxExpiresOn: now.Add(auth.MaxAPIKeyLifetime).Add(-24 * time.Hour).Format(time.DateOnly),
	}, nil
}

// handleAPIKeys lists the keys, with the form to create one.
func (h *Handler) handleAPIKeys() echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := h.apiKeysView(c)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "api_keys.html", title: "API keys", content: v, flash: doneMessages[c.QueryParam("done")]})
	}
}

// handleCreateAPIKey creates a key and shows it, once: the answer is not
// a redirect, since the key must not travel in a URL, and no cache may keep
// it.
func (h *Handler) handleCreateAPIKey() echo.HandlerFunc {
	return func(c echo.Context) error {
		nv := newAPIKeyValues{
			Name: strings.TrimSpace(c.FormValue("name")), Role: c.FormValue("role"),
			Authority: c.FormValue("authority"), ExpiresOn: strings.TrimSpace(c.FormValue("expires_at")),
		}
		var k auth.APIKey
		var secret string
		err := formError(c)
		if err == nil {
			k, secret, err = h.auth.CreateAPIKey(c.Request().Context(), actorOf(c), auth.NewAPIKey{
				Name: nv.Name, Role: workflow.Role(nv.Role), Authority: nv.Authority, ExpiresAt: nv.ExpiresOn,
			})
		}
		code := workflow.ErrorCode(err)
		if err != nil && code != workflow.ErrValidation {
			return err
		}
		v, verr := h.apiKeysView(c)
		if verr != nil {
			return verr
		}
		if err == nil {
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			v.Created, v.Secret = &k, secret
			return h.render(c, view{status: http.StatusCreated, name: "api_keys.html", title: "API keys", content: v,
				flash: "The API key has been created. Copy it now: it is not shown again."})
		}
		v.New = nv
		v.Errors, _ = validationFields(err)
		v.Problems = problems(v.Errors, apiKeyFields)
		return h.render(c, view{status: statusOf(code), name: "api_keys.html", title: "API keys", content: v,
			alert: "The API key was not created. Correct the fields marked below."})
	}
}

// findAPIKey loads one key through the admin's list: the Authenticator
// decides who may list.
func (h *Handler) findAPIKey(c echo.Context) (auth.APIKey, error) {
	keys, err := h.auth.ListAPIKeys(c.Request().Context(), actorOf(c))
	if err != nil {
		return auth.APIKey{}, err
	}
	for _, k := range keys {
		if k.ID == c.Param("id") {
			return k, nil
		}
	}
	return auth.APIKey{}, workflow.Errorf(workflow.ErrNotFound, "no such API key")
}

// handleConfirmRevokeAPIKey asks before revoking: a revoked key cannot be
// restored, and the system using it stops at once.
func (h *Handler) handleConfirmRevokeAPIKey() echo.HandlerFunc {
	return func(c echo.Context) error {
		k, err := h.findAPIKey(c)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "api_key_revoke.html", title: "Revoke " + k.Name,
			content: apiKeyRow{K: k, Status: k.Status(h.auth.Now())}})
	}
}

// handleRevokeAPIKey revokes a key, then lists the keys again.
func (h *Handler) handleRevokeAPIKey() echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := formError(c); err != nil {
			return err
		}
		if _, err := h.auth.RevokeAPIKey(c.Request().Context(), actorOf(c), c.Param("id")); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/api-keys?done=key_revoked")
	}
}
