package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// messageJSON is a message of a request's thread (CONTRACT 6); internal
// (added) says that only the author's authority sees it.
type messageJSON struct {
	ID        string               `json:"id"`
	Kind      workflow.MessageKind `json:"kind"`
	Body      string               `json:"body"`
	Actor     string               `json:"actor"`
	Authority string               `json:"authority"`
	At        string               `json:"at"`
	ReadAt    *string              `json:"read_at"`
	Internal  bool                 `json:"internal"`
}

func toMessageJSON(m workflow.Message) messageJSON {
	out := messageJSON{
		ID: m.ID, Kind: m.Kind, Body: m.Body, Actor: m.Actor, Authority: m.Authority,
		At: timeJSON(m.At), Internal: m.Internal,
	}
	if m.ReadAt != nil {
		at := timeJSON(*m.ReadAt)
		out.ReadAt = &at
	}
	return out
}

// messageInput is the body of POST /requests/{id}/messages.
type messageInput struct {
	Body string `json:"body"`
	Kind string `json:"kind"`
}

// handlePostMessage posts a message to a request's thread.
func handlePostMessage(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in messageInput
		// The workflow checks the texts, after visibility (404 first).
		if err := decodeRequestChange(c, &in); err != nil {
			return err
		}
		m, err := wf.PostMessage(c.Request().Context(), actorFrom(c), c.Param("id"), workflow.MessageKind(in.Kind), in.Body)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, toMessageJSON(m))
	}
}

// handleMessages lists a request's thread, oldest first; reading it marks
// the counterpart's messages read.
func handleMessages(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		list, err := wf.Messages(c.Request().Context(), actorFrom(c), c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, itemsOf(list, toMessageJSON))
	}
}
