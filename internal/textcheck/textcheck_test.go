package textcheck

import (
	"maps"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestProblems(t *testing.T) {
	const nul, notUTF8 = "must not contain the NUL character", "must be valid UTF-8 text"
	tests := []struct {
		name string
		in   url.Values
		want map[string]string
	}{
		{"fine", url.Values{"q": {"Überweisung", ""}, "state": {"sent", "acknowledged"}}, nil},
		{"NUL in a value", url.Values{"q": {"bank\x00"}, "state": {"sent"}}, map[string]string{"q": nul}},
		{"bad second value", url.Values{"state": {"sent", "\xff"}}, map[string]string{"state": notUTF8}},
		{"bad name", url.Values{"q\x00": {"x"}}, map[string]string{"": nul}},
		{"two bad values", url.Values{"a": {"\x00"}, "b": {"\xc3"}}, map[string]string{"a": nul, "b": notUTF8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Problems(tc.in); !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		target string
		want   workflow.Code
		field  string
	}{
		{"/api/v1/requests/01abc?state=sent", "", ""},
		{"/requests/%C3%BCber", "", ""},
		{"/api/v1/requests/01abc%00", workflow.ErrBadRequest, ""},
		{"/requests/%ff/edit", workflow.ErrBadRequest, ""},
		{"/api/v1/requests?q=%00", workflow.ErrBadRequest, "q"},
		{"/inbox?%ff=1", workflow.ErrBadRequest, ""},
		{"/inbox?q=ok&q=%zz", "", ""}, // malformed: the handler's to refuse
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			err := check(httptest.NewRequest("GET", tc.target, nil))
			if code := workflow.ErrorCode(err); code != tc.want {
				t.Fatalf("got %v, want code %q", err, tc.want)
			}
			if tc.field != "" {
				if e := err.(*workflow.Error); e.Fields[tc.field] == "" {
					t.Fatalf("fields %v, want %s", e.Fields, tc.field)
				}
			}
		})
	}
}
