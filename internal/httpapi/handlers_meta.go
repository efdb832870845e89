package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// handleHealth answers 200 while the process serves: a liveness probe must
// not depend on the database, or a database outage would restart healthy
// servers.
func handleHealth() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
}

// readyTimeout bounds the readiness check: a probe that hangs is a failed
// probe.
const readyTimeout = 2 * time.Second

// handleReady answers 200 when the database answers and 503 otherwise, so
// that a load balancer sends no traffic to a server that cannot record it;
// also 503, with the reason, when the audit chain failed verification.
func handleReady(ready func(context.Context) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ready != nil {
			ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				if workflow.ErrorCode(err) == workflow.ErrUnavailable {
					return err // a reason meant for the operator, e.g. a broken audit chain
				}
				return &readyError{cause: err}
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
}

// readyError is a failed readiness check: 503 unavailable, with the cause
// in the log only.
type readyError struct{ cause error }

// Error implements error; the cause is for the log.
func (e *readyError) Error() string { return "not ready: " + e.cause.Error() }

// Unwrap classifies the failure for the error handler.
func (e *readyError) Unwrap() error {
	return workflow.Errorf(workflow.ErrUnavailable, "the database does not answer")
}

// handleAuthorities lists the central authorities.
func handleAuthorities(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		list, err := wf.Authorities(c.Request().Context())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, itemsOf(list, toAuthoritySettingsJSON))
	}
}

// authorityInput is the body of PATCH /authorities/{code}.
type authorityInput struct {
	CompletenessPolicy *workflow.CompletenessPolicy `json:"completeness_policy"`
}

// handleUpdateAuthority changes an authority's settings (CONTRACT 5: its
// completeness policy; the administrator only).
func handleUpdateAuthority(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in authorityInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		// A missing policy goes to the service as none, which refuses it
		// (422) only after the caller's right (403), as for any body.
		var p workflow.CompletenessPolicy
		if in.CompletenessPolicy != nil {
			p = *in.CompletenessPolicy
		}
		a, err := wf.SetCompletenessPolicy(c.Request().Context(), actorFrom(c), c.Param("code"), p)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toAuthoritySettingsJSON(a))
	}
}

// instrumentJSON is a legal instrument in GET /instruments.
type instrumentJSON struct {
	Code      string             `json:"code"`
	Label     string             `json:"label"`
	Kinds     []workflow.Kind    `json:"kinds"`
	Grounds   []string           `json:"grounds"`
	Deadlines []deadlineRuleJSON `json:"deadlines"`
}

// deadlineRuleJSON is a deadline rule: the contract's fields, and (added)
// what else the rule says.
type deadlineRuleJSON struct {
	Kind                    string           `json:"kind"`
	Days                    int              `json:"days"`
	ExtendableDays          int              `json:"extendable_days"`
	StartsOn                string           `json:"starts_on"`
	MetBy                   []workflow.Event `json:"met_by"`
	ConsentDays             *int             `json:"consent_days"`
	Side                    workflow.Side    `json:"side"`
	StopsWhileInfoRequested bool             `json:"stops_while_info_requested"`
	OnlyUrgent              bool             `json:"only_urgent"`
	Basis                   string           `json:"basis"`
}

// handleInstruments lists the instruments a request may rest on.
func handleInstruments(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		list := wf.Instruments()
		items := make([]instrumentJSON, len(list))
		for i, in := range list {
			j := instrumentJSON{Code: in.Code, Label: in.Label, Kinds: nonNil(in.Kinds), Grounds: nonNil(in.Grounds),
				Deadlines: make([]deadlineRuleJSON, len(in.Deadlines))}
			for k, r := range in.Deadlines {
				d := deadlineRuleJSON{Kind: r.Kind, Days: r.Days, ExtendableDays: r.ExtendableDays, StartsOn: r.StartsOn,
					MetBy: nonNil(r.MetBy), Side: r.Side, StopsWhileInfoRequested: r.StopsWhileInfoRequested,
					OnlyUrgent: r.OnlyUrgent, Basis: r.Basis}
				if r.ConsentDays > 0 {
					days := r.ConsentDays
					d.ConsentDays = &days
				}
				j.Deadlines[k] = d
			}
			items[i] = j
		}
		return c.JSON(http.StatusOK, itemsJSON[instrumentJSON]{Items: items})
	}
}

// handleWorkflows publishes the state machine, per kind, from the one
// table.
func handleWorkflows() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, workflow.Document())
	}
}

// handleRefusalGrounds lists the refusal grounds with their labels.
func handleRefusalGrounds() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, itemsJSON[workflow.Ground]{Items: workflow.Grounds})
	}
}

// handleMeasures lists the measures an MLA request may seek, for forms and
// filters of other systems.
func handleMeasures() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, itemsJSON[workflow.Measure]{Items: workflow.Measures})
	}
}
