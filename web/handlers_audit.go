package web

import (
	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// auditFilter is what the filter form of the audit page holds.
type auditFilter struct {
	RequestID string
	Action    string
	Actor     string
	Outcome   string
}

// auditView is the content of the audit page.
type auditView struct {
	Entries  []workflow.AuditEntry
	Filter   auditFilter
	Filtered bool
	Scope    string // whose entries: "all authorities" or one
	NextURL  string
	FirstURL string
	Verified *workflow.AuditVerification
}

// handleAudit shows a page of the audit entries the user may read,
// newest first, filtered.
func (h *Handler) handleAudit() echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := h.auditView(c)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "audit.html", title: "Audit log", content: v})
	}
}

// handleVerifyAudit recomputes the whole chain and shows the result above
// the entries.
func (h *Handler) handleVerifyAudit() echo.HandlerFunc {
	return func(c echo.Context) error {
		res, err := h.wf.VerifyAudit(c.Request().Context(), actorOf(c))
		if err != nil {
			return err
		}
		v, err := h.auditView(c)
		if err != nil {
			return err
		}
		v.Verified = &res
		return h.render(c, view{name: "audit.html", title: "Audit log", content: v})
	}
}

func (h *Handler) auditView(c echo.Context) (auditView, error) {
	f := auditFilter{
		RequestID: c.QueryParam("request_id"), Action: c.QueryParam("action"),
		Actor: c.QueryParam("actor"), Outcome: c.QueryParam("outcome"),
	}
	for name, val := range map[string]string{"request_id": f.RequestID, "action": f.Action, "actor": f.Actor} {
		if len(val) > 64 {
			return auditView{}, badFilter(name)
		}
	}
	switch f.Outcome {
	case "", workflow.OutcomeOK, workflow.OutcomeDenied:
	default:
		return auditView{}, badFilter("outcome")
	}
	cursor := c.QueryParam("cursor")
	if len(cursor) > 256 {
		return auditView{}, badFilter("cursor")
	}
	a := actorOf(c)
	entries, next, err := h.wf.Audit(c.Request().Context(), a, workflow.AuditFilter{
		RequestID: f.RequestID, Action: f.Action, Actor: f.Actor, Outcome: f.Outcome,
		Limit: pageSize, Cursor: cursor,
	})
	if err != nil {
		return auditView{}, err
	}
	v := auditView{Entries: entries, Filter: f, Filtered: f != (auditFilter{}), Scope: "all authorities and the platform"}
	if authority, all, _ := h.policy.AuditScope(a); !all {
		v.Scope = "your authority (" + authority + ")"
	}
	v.NextURL, v.FirstURL = pageLinks("/audit", map[string]string{
		"request_id": f.RequestID, "action": f.Action, "actor": f.Actor, "outcome": f.Outcome,
	}, cursor, next)
	return v, nil
}
