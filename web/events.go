package web

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/httpapi"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// handleEvents serves the event stream to the pages (static/live.js): the
// same stream as GET /api/v1/events, authenticated by the session cookie,
// so that the lists and the request page can say when what they show has
// changed. It ends when the session does (log-out, expiry, a disabled
// account); the browser's EventSource then reconnects through the log-in
// redirect, which it does not follow, and stops.
func (h *Handler) handleEvents() echo.HandlerFunc {
	return func(c echo.Context) error {
		after, resume, err := events.LastEventID(c.Request())
		if err != nil {
			return workflow.Errorf(workflow.ErrBadRequest, "Last-Event-ID is not an event id.")
		}
		if h.events == nil {
			return workflow.Errorf(workflow.ErrUnavailable, "Live updates are not available on this server.")
		}
		token := ""
		if ck, err := c.Cookie(sessionCookie); err == nil {
			token = ck.Value
		}
		authority := h.policy.Scope(actorOf(c)).Authority
		half, renewable := halfLife(token)
		return httpapi.ServeEvents(c, h.events, authority, func(ctx context.Context) error {
			if renewable && !h.now().Before(half) {
				// The cookie's token is due for renewal, which only an
				// answer can give: end the stream, and the browser's
				// reconnection (with Last-Event-ID, so nothing is lost)
				// gets the renewed cookie from signedIn.
				return events.ErrReconnect
			}
			_, err := h.auth.Authenticate(ctx, token)
			return err
		}, after, resume)
	}
}
