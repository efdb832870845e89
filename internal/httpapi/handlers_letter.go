package httpapi

import (
	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/letter"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// handleLetter serves a request's letter of request as PDF (CONTRACT 6),
// composed from the request as the caller may see it and audited
// (request.letter) before it is sent; 404 for a request the caller may not
// see, as for a missing one.
func handleLetter(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		pdf, r, err := letter.For(c.Request().Context(), wf, actorFrom(c), c.Param("id"))
		if err != nil {
			return err
		}
		return letter.Serve(c.Response(), r, pdf)
	}
}
