package workflow

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Code classifies an application error. The HTTP layer maps each code to one
// status, in one place.
type Code string

// The error codes of the contract, and Unavailable for a store that cannot
// record a change now.
const (
	ErrBadRequest        Code = "bad_request"
	ErrUnauthenticated   Code = "unauthenticated"
	ErrForbidden         Code = "forbidden"
	ErrNotFound          Code = "not_found"
	ErrInvalidTransition Code = "invalid_transition"
	ErrVersionConflict   Code = "version_conflict"
	ErrTooLarge          Code = "too_large"
	ErrValidation        Code = "validation_failed"
	ErrRateLimited       Code = "rate_limited"
	ErrConflict          Code = "conflict"
	// ErrPasswordChange refuses a log-in with a temporary password that
	// does not replace it (added to the contract: 403).
	ErrPasswordChange Code = "password_change_required"
	ErrUnavailable    Code = "unavailable"
	// ErrPreconditionFailed refuses a command whose If-Match names a
	// version the request is no longer at (CONTRACT 8: 412).
	ErrPreconditionFailed Code = "precondition_failed"
	// ErrIdempotencyInProgress answers a repeat of an Idempotency-Key whose
	// first attempt is still running after the repeat waited for it (409).
	ErrIdempotencyInProgress Code = "idempotency_in_progress"
	// ErrIdempotencyAnswerLost answers a repeat of an Idempotency-Key whose
	// first attempt committed its change but whose server stopped before
	// storing the answer: the change is not made again (409).
	ErrIdempotencyAnswerLost Code = "idempotency_answer_lost"
)

// Error is an application error: its Code decides the status, its Message is
// safe to show to the caller, Fields maps input fields to what is wrong.
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return string(e.Code) + ": " + e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return string(e.Code) + ": " + e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error about one field.
func Invalid(field, reason string) *Error {
	return InvalidFields(map[string]string{field: reason})
}

// InvalidFields is the ErrValidation error of several fields, by name,
// with what is wrong with each.
func InvalidFields(fields map[string]string) *Error {
	return &Error{Code: ErrValidation, Message: "the input is not valid", Fields: fields}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and ""
// otherwise.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// fieldErrors collects validation problems and turns them into one error.
type fieldErrors map[string]string

func (f fieldErrors) add(field, reason string) {
	if _, seen := f[field]; !seen {
		f[field] = reason
	}
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return InvalidFields(f)
}
