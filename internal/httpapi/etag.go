package httpapi

import (
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Entity tags of requests (CONTRACT 8): every answer that is a request
// (GET, PATCH, events, create) carries ETag, a strong tag made of the
// request's id and version. The version moves with every change of the
// request, so the tag names one state of it; what a caller may see of that
// state (allowed_events, protected persons) depends on the caller, as the
// body does, and a cache keyed by the caller's token keeps them apart.

// requestETag is the entity tag of r: "ID.VERSION", strong.
func requestETag(r workflow.Request) string {
	return `"` + r.ID + "." + strconv.Itoa(r.Version) + `"`
}

// setRequestETag sets the ETag header of an answer that is r.
func setRequestETag(c echo.Context, r workflow.Request) {
	c.Response().Header().Set("ETag", requestETag(r))
}

// entityTags splits an If-Match or If-None-Match value into its tags
// (RFC 9110 8.8.3): each with its weakness and its opaque text, "*" as
// itself. Tags are quoted strings, which hold no comma or quote.
func entityTags(header string) []entityTag {
	var out []entityTag
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if part == "*" {
			out = append(out, entityTag{any: true})
			continue
		}
		t := entityTag{}
		if strings.HasPrefix(part, "W/") {
			t.weak, part = true, part[2:]
		}
		if len(part) < 2 || part[0] != '"' || part[len(part)-1] != '"' {
			continue // not a tag: matches nothing
		}
		t.opaque = part[1 : len(part)-1]
		out = append(out, t)
	}
	return out
}

type entityTag struct {
	any    bool // "*"
	weak   bool
	opaque string
}

// version returns the version the tag names of request id, if it is one
// of its tags.
func (t entityTag) version(id string) (int, bool) {
	i := strings.LastIndexByte(t.opaque, '.')
	if i < 0 || t.opaque[:i] != id {
		return 0, false
	}
	v, err := strconv.Atoi(t.opaque[i+1:])
	if err != nil || v < 0 || strconv.Itoa(v) != t.opaque[i+1:] {
		return 0, false
	}
	return v, true
}

// ifMatchOf turns the If-Match header of c, a command on request id, into
// the workflow's precondition: nil without the header or with "*" (the
// request must exist, as for every command); else the versions its strong
// tags name of this request, which may be none (RFC 9110 13.1.1: If-Match
// compares strongly, so a weak tag never matches).
func ifMatchOf(c echo.Context, id string) *workflow.IfMatch {
	values := c.Request().Header.Values("If-Match")
	if len(values) == 0 {
		return nil
	}
	m := &workflow.IfMatch{Versions: []int{}}
	for _, t := range entityTags(strings.Join(values, ",")) {
		if t.any {
			return nil
		}
		if v, ok := t.version(id); ok && !t.weak {
			m.Versions = append(m.Versions, v)
		}
	}
	return m
}

// notModified tells whether the If-None-Match header of c names r's
// current tag (RFC 9110 13.1.2: weak comparison, "*" matches any), in
// which case a GET answers 304 without a body.
func notModified(c echo.Context, r workflow.Request) bool {
	values := c.Request().Header.Values("If-None-Match")
	if len(values) == 0 {
		return false
	}
	for _, t := range entityTags(strings.Join(values, ",")) {
		if t.any {
			return true
		}
		if v, ok := t.version(r.ID); ok && v == r.Version {
			return true
		}
	}
	return false
}

// answerRequest sends r as the answer of status with its ETag.
func answerRequest(c echo.Context, status int, wf *workflow.Service, a workflow.Actor, r workflow.Request) error {
	setRequestETag(c, r)
	return c.JSON(status, toRequestJSON(wf, a, r))
}
