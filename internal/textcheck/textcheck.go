// Package textcheck applies the one rule of what text a client may send
// (workflow.TextProblem: valid UTF-8, no NUL character) to the parts of an
// HTTP request that no JSON decoder reads: the path, the query string and
// form values. The REST API and the web pages share one Echo instance and
// its Guard; the web pages check their forms with Problems, so that a bad
// field is shown next to the field like any other mistake.
package textcheck

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Guard refuses, with 400 bad_request, a request whose path or query string
// holds text that workflow.TextProblem refuses, before any handler reads
// it: such a path or value names nothing that exists, and PostgreSQL would
// refuse to look it up (a 500).
func Guard() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := check(c.Request()); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// check applies the rule to the path and the query string of r.
func check(r *http.Request) error {
	// URL.Path is decoded: %00 and %FF arrive here as the bytes they
	// stand for, as in the handlers' path parameters.
	if p := workflow.TextProblem(r.URL.Path); p != "" {
		return workflow.Errorf(workflow.ErrBadRequest, "the path %s", p)
	}
	// A malformed query string is the handlers' to refuse (the API does,
	// strictly); what could be parsed is checked here.
	q, _ := url.ParseQuery(r.URL.RawQuery)
	fields := Problems(q)
	if len(fields) == 0 {
		return nil
	}
	if p, bad := fields[""]; bad {
		return workflow.Errorf(workflow.ErrBadRequest, "a query parameter's name %s", p)
	}
	return &workflow.Error{Code: workflow.ErrBadRequest, Message: "a query parameter holds text that is not valid", Fields: fields}
}

// Problems returns what is wrong with each name of v whose values hold text
// that workflow.TextProblem refuses, by name, and under "" what is wrong
// with a name that is not itself acceptable text (it cannot be shown as a
// field); nil when nothing is wrong.
func Problems(v url.Values) map[string]string {
	var out map[string]string
	add := func(name, problem string) {
		if out == nil {
			out = map[string]string{}
		}
		if _, seen := out[name]; !seen {
			out[name] = problem
		}
	}
	for name, values := range v {
		if p := workflow.TextProblem(name); p != "" {
			add("", p)
			continue
		}
		if i := slices.IndexFunc(values, func(s string) bool { return workflow.TextProblem(s) != "" }); i >= 0 {
			add(name, workflow.TextProblem(values[i]))
		}
	}
	return out
}
