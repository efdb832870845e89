package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// handleEvents serves GET /events (CONTRACT 8): the caller's visible
// changes as Server-Sent Events, resumed after Last-Event-ID. Which
// changes are visible is the Policy's Scope, the same rule as every read;
// the stream ends when the caller's token stops being valid.
func handleEvents(hub *events.Hub, a *auth.Authenticator, wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, []string{"last_event_id"}); err != nil {
			return err
		}
		after, resume, err := events.LastEventID(c.Request())
		if err != nil {
			return badQuery("last_event_id", "must be an event id (Last-Event-ID too)")
		}
		if hub == nil {
			return workflow.Errorf(workflow.ErrUnavailable, "the event stream is not available on this server")
		}
		token, _ := auth.BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		return ServeEvents(c, hub, wf.Policy().Scope(actorFrom(c)).Authority, func(ctx context.Context) error {
			_, err := a.Authenticate(ctx, token)
			return err
		}, after, resume)
	}
}

// ServeEvents streams the events of authority on c's connection; the web
// pages' /events serves the same stream with the session's credential.
func ServeEvents(c echo.Context, hub *events.Hub, authority string, alive func(context.Context) error, after int64, resume bool) error {
	sub := events.Subscriber{Authority: authority, Alive: alive}
	if err := hub.Serve(c.Response(), c.Request(), sub, after, resume); err != nil {
		return err
	}
	if !c.Response().Committed {
		return c.NoContent(http.StatusNoContent)
	}
	return nil
}
