package web

import (
	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/letter"
)

// handleLetter serves a request's letter of request as PDF, the same
// letter as the API's (CONTRACT 6), for the signed-in user: composed from
// the request as the user may see it, audited before it is sent.
func (h *Handler) handleLetter() echo.HandlerFunc {
	return func(c echo.Context) error {
		pdf, r, err := letter.For(c.Request().Context(), h.wf, actorOf(c), c.Param("id"))
		if err != nil {
			return err
		}
		return letter.Serve(c.Response(), r, pdf)
	}
}
