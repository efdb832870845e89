// Package httpstatus is the one mapping from the workflow's error codes to
// HTTP statuses, shared by the REST API and the web pages so that the same
// refusal answers the same status whichever door a user came in by.
package httpstatus

import (
	"net/http"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// MethodNotAllowed is the code of a known path asked with another method;
// only the router answers it, the workflow never does.
const MethodNotAllowed workflow.Code = "method_not_allowed"

var statuses = map[workflow.Code]int{
	workflow.ErrBadRequest:            http.StatusBadRequest,
	workflow.ErrUnauthenticated:       http.StatusUnauthorized,
	workflow.ErrForbidden:             http.StatusForbidden,
	workflow.ErrNotFound:              http.StatusNotFound,
	workflow.ErrInvalidTransition:     http.StatusConflict,
	workflow.ErrVersionConflict:       http.StatusConflict,
	workflow.ErrConflict:              http.StatusConflict,
	workflow.ErrTooLarge:              http.StatusRequestEntityTooLarge,
	workflow.ErrUnsupportedMediaType:  http.StatusUnsupportedMediaType,
	workflow.ErrValidation:            http.StatusUnprocessableEntity,
	workflow.ErrRateLimited:           http.StatusTooManyRequests,
	workflow.ErrUnavailable:           http.StatusServiceUnavailable,
	workflow.ErrPasswordChange:        http.StatusForbidden,
	MethodNotAllowed:                  http.StatusMethodNotAllowed,
	workflow.ErrPreconditionFailed:    http.StatusPreconditionFailed,
	workflow.ErrIdempotencyInProgress: http.StatusConflict,
	workflow.ErrIdempotencyAnswerLost: http.StatusConflict,
}

// Of returns the status of an error code, and false for a code it does not
// know (which callers answer as an internal error).
func Of(code workflow.Code) (int, bool) {
	s, ok := statuses[code]
	return s, ok
}
