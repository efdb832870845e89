package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The administrator's page of the central authorities' settings: whether
// each may send an incomplete request (CONTRACT 5, completeness policy).

// authoritiesView is the content of the authorities page.
type authoritiesView struct {
	Authorities []workflow.Authority
	Policies    []option
}

var completenessLabels = map[workflow.CompletenessPolicy]string{
	workflow.CompletenessAdvisory: "Advisory: incomplete requests may be sent, with the checklist's warnings",
	workflow.CompletenessEnforced: "Enforced: only complete requests may be sent",
}

// handleAuthorities shows each authority with its completeness policy.
func (h *Handler) handleAuthorities() echo.HandlerFunc {
	return func(c echo.Context) error {
		list, err := h.wf.Authorities(c.Request().Context())
		if err != nil {
			return err
		}
		v := authoritiesView{Authorities: list}
		for _, p := range []workflow.CompletenessPolicy{workflow.CompletenessAdvisory, workflow.CompletenessEnforced} {
			v.Policies = append(v.Policies, option{Value: string(p), Label: completenessLabels[p]})
		}
		return h.render(c, view{name: "authorities.html", title: "Authorities",
			flash: doneMessages[c.QueryParam("done")], content: v})
	}
}

// handleSetCompleteness sets an authority's completeness policy; the
// service decides who may and which values exist.
func (h *Handler) handleSetCompleteness() echo.HandlerFunc {
	return func(c echo.Context) error {
		err := formError(c)
		if err == nil {
			_, err = h.wf.SetCompletenessPolicy(c.Request().Context(), actorOf(c), c.Param("code"),
				workflow.CompletenessPolicy(c.FormValue("completeness_policy")))
		}
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/authorities?done=authority_updated")
	}
}
