package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/mla-flow/mla-flow/internal/httpstatus"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// codeInternal is the code of a fault of the server; the workflow never
// returns it.
const codeInternal workflow.Code = "internal"

// errorJSON is the contract's error body.
type errorJSON struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    workflow.Code     `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// internalMessage is all a client learns of an unexpected failure; the
// details are in the log under the request id.
const internalMessage = "something went wrong on the server; the request id identifies it in the log"

// errorHandler is Echo's HTTPErrorHandler: it answers every error in the
// contract's shape. Application errors keep their code and message; Echo's
// own errors (no such route, wrong method, body too large) get the
// contract's codes; anything else is a 500 whose cause is logged, never
// shown.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		body := classify(err)
		status, known := httpstatus.Of(body.Code)
		if !known {
			status = http.StatusInternalServerError
		}
		if status >= 500 && body.Code != workflow.ErrUnavailable {
			logger.ErrorContext(c.Request().Context(), "internal error",
				"request_id", requestIDOf(c), "method", c.Request().Method,
				"route", c.Path(), "error", err.Error())
			body = errorBody{Code: codeInternal, Message: internalMessage}
		} else if status >= 500 {
			logger.WarnContext(c.Request().Context(), "unavailable",
				"request_id", requestIDOf(c), "route", c.Path(), "error", err.Error())
		}
		h := c.Response().Header()
		switch status {
		case http.StatusUnauthorized:
			// RFC 6750 3: a 401 names the scheme the client should use.
			h.Set(echo.HeaderWWWAuthenticate, "Bearer")
		case http.StatusTooManyRequests:
			var rl *auth.RateLimitError
			if errors.As(err, &rl) {
				h.Set(echo.HeaderRetryAfter, strconv.Itoa(auth.RetrySeconds(rl.RetryAfter)))
			}
		}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = c.JSON(status, errorJSON{Error: body})
		}
		if err != nil {
			logger.WarnContext(c.Request().Context(), "error answer not sent",
				"request_id", requestIDOf(c), "error", err.Error())
		}
	}
}

// classify turns any error into the contract's code, message and fields.
func classify(err error) errorBody {
	var ae *workflow.Error
	if errors.As(err, &ae) {
		return errorBody{Code: ae.Code, Message: ae.Message, Fields: ae.Fields}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorBody{Code: workflow.ErrTooLarge, Message: errTooLarge.Message}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return errorBody{Code: workflow.ErrNotFound, Message: "no such endpoint"}
		case http.StatusMethodNotAllowed:
			return errorBody{Code: httpstatus.MethodNotAllowed, Message: "this endpoint does not accept that method"}
		case http.StatusRequestEntityTooLarge:
			return errorBody{Code: workflow.ErrTooLarge, Message: errTooLarge.Message}
		case http.StatusBadRequest:
			return errorBody{Code: workflow.ErrBadRequest, Message: "the request is malformed"}
		case http.StatusUnauthorized:
			return errorBody{Code: workflow.ErrUnauthenticated, Message: "missing, invalid or expired access token"}
		}
	}
	return errorBody{Code: codeInternal, Message: internalMessage}
}
