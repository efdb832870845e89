package web

import (
	"context"
	"net/url"
	"time"

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
	Entries  []auditRow
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
	rows, err := h.auditRows(c, a, entries)
	if err != nil {
		return auditView{}, err
	}
	v := auditView{Entries: rows, Filter: f, Filtered: f != (auditFilter{}), Scope: "all authorities and the platform"}
	if authority, all, _ := h.policy.AuditScope(a); !all {
		v.Scope = "your authority (" + authority + ")"
	}
	v.NextURL, v.FirstURL = pageLinks("/audit", map[string]string{
		"request_id": f.RequestID, "action": f.Action, "actor": f.Actor, "outcome": f.Outcome,
	}, cursor, next)
	return v, nil
}

// auditRow is one audit entry as people read it: who by name, what by the
// action's label, which request by its reference, the details as label and
// value pairs. Internal ids are no text of the row: they only make links.
type auditRow struct {
	Seq        int64
	At         time.Time
	Person     string // the actor's name, as far as the viewer may know it
	Username   string // beside Person when Person is a display name
	Authority  string
	Action     string
	ActionCode string // what the action filter takes
	OK         bool
	Request    *auditRequest // nil for an entry about no request
	Details    []detailItem
	Withheld   []string // labels of the details withheld from the viewer
}

// auditRequest is the request an entry is about, as its reader may know it.
type auditRequest struct {
	Reference  string // "" when the viewer may not learn it
	CaseURL    string // the request page, when the viewer may open it
	EntriesURL string // the audit entries of the request
}

// auditRows builds the rows of the entries the actor reads.
func (h *Handler) auditRows(c echo.Context, a workflow.Actor, entries []workflow.AuditEntry) ([]auditRow, error) {
	ctx := c.Request().Context()
	names := map[string]string{}
	var userPage func(string) string
	if h.policy.MayManageUsers(a) {
		// Who manages accounts knows everyone's name; an auditor knows
		// the username the entry records.
		users, err := h.auth.ListUsers(ctx, a)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			names[u.Username] = u.DisplayName
		}
		userPage = func(id string) string { return "/users/" + url.PathEscape(id) }
	}
	requests, err := h.auditRequests(ctx, a, entries)
	if err != nil {
		return nil, err
	}
	out := make([]auditRow, len(entries))
	for i, e := range entries {
		row := auditRow{
			Seq: e.Seq, At: e.At, Authority: e.Authority, Action: actionLabel(e.Action), ActionCode: e.Action,
			OK: e.Outcome == workflow.OutcomeOK, Request: requests[e.RequestID],
			Details: auditDetails(e, userPage), Withheld: withheldLabels(e.Redacted),
		}
		switch name := names[e.Actor]; {
		case e.Actor == "":
			row.Person = "Nobody signed in"
		case e.Actor == "system": // internal/auth's name for the server's own work
			row.Person = "The server"
		case name != "" && name != e.Actor:
			row.Person, row.Username = name, e.Actor
		default:
			row.Person = e.Actor
		}
		out[i] = row
	}
	return out, nil
}

// auditRequests finds the reference of each request the entries are
// about, by what the actor may read: the request itself when the actor
// reads its case (then the reference links to it), else the entry that
// drafted it, whose reference is metadata that every reader of the entry
// reads. A page holds at most pageSize entries, so at most that many
// look-ups, each by the request's id.
func (h *Handler) auditRequests(ctx context.Context, a workflow.Actor, entries []workflow.AuditEntry) (map[string]*auditRequest, error) {
	out := map[string]*auditRequest{}
	for _, e := range entries {
		if e.RequestID == "" {
			continue
		}
		r, ok := out[e.RequestID]
		if !ok {
			r = &auditRequest{EntriesURL: "/audit?" + url.Values{"request_id": {e.RequestID}}.Encode()}
			out[e.RequestID] = r
		}
		if e.Action == workflow.ActionCreate && r.Reference == "" {
			r.Reference = detailString(e.Details, "reference")
		}
	}
	for id, r := range out {
		if h.readsCases(a) {
			req, err := h.wf.Get(ctx, a, id)
			if err == nil {
				r.Reference, r.CaseURL = req.Reference, "/requests/"+url.PathEscape(id)
				continue
			}
			if code := workflow.ErrorCode(err); code != workflow.ErrNotFound && code != workflow.ErrForbidden {
				return nil, err
			}
		}
		if r.Reference != "" {
			continue
		}
		created, _, err := h.wf.Audit(ctx, a, workflow.AuditFilter{RequestID: id, Action: workflow.ActionCreate, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(created) > 0 {
			r.Reference = detailString(created[0].Details, "reference")
		}
	}
	return out, nil
}
