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
		items := make([]authorityJSON, len(list))
		for i, a := range list {
			items[i] = authorityJSON{Code: a.Code, Name: a.Name}
		}
		return c.JSON(http.StatusOK, itemsJSON[authorityJSON]{Items: items})
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
