package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// handleAudit lists audit entries, newest first: the admin all of them, an
// auditor those of their authority, anybody else 403 (the Policy decides).
func handleAudit(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		f, err := auditQuery(c)
		if err != nil {
			return err
		}
		list, next, err := wf.Audit(c.Request().Context(), actorFrom(c), f)
		if err != nil {
			return err
		}
		items := make([]auditJSON, len(list))
		for i, e := range list {
			items[i] = toAuditJSON(e)
		}
		return c.JSON(http.StatusOK, toPage(items, next))
	}
}

// handleVerifyAudit recomputes the audit chain, for those who may read the
// audit log (the Policy decides, in the workflow service).
func handleVerifyAudit(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := wf.VerifyAudit(c.Request().Context(), actorFrom(c))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toVerifyJSON(v))
	}
}
