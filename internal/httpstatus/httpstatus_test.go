package httpstatus

import (
	"net/http"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestOf restates the contract's error table (section 4).
func TestOf(t *testing.T) {
	for code, want := range map[workflow.Code]int{
		"bad_request": 400, "unauthenticated": 401, "forbidden": 403, "not_found": 404,
		"invalid_transition": 409, "version_conflict": 409, "too_large": 413,
		"validation_failed": 422, "rate_limited": 429, "unavailable": 503, "conflict": 409,
		"method_not_allowed": http.StatusMethodNotAllowed,
	} {
		if got, ok := Of(code); !ok || got != want {
			t.Errorf("Of(%s) = %d, %t; want %d", code, got, ok, want)
		}
	}
	if _, ok := Of("no_such_code"); ok {
		t.Errorf("an unknown code has a status")
	}
}
