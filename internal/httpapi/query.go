package httpapi

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// maxQueryValue bounds a free-text query value (ids, names, cursors).
const maxQueryValue = 256

// queryParams parses the query string strictly: every name must be one the
// endpoint knows and appear once (multi names may repeat), so that a typo
// ("stat=sent") is an error rather than a silently unfiltered list. Empty
// values count as absent, as HTML forms send them.
func queryParams(c echo.Context, names []string, multi ...string) (url.Values, error) {
	q, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, badRequest("the query string is malformed")
	}
	out := url.Values{}
	for name, values := range q {
		if !slices.Contains(names, name) {
			return nil, &workflow.Error{
				Code:    workflow.ErrBadRequest,
				Message: fmt.Sprintf("unknown query parameter %q; known: %s", truncate(name, 40), strings.Join(names, ", ")),
				Fields:  map[string]string{truncate(name, 40): "unknown query parameter"},
			}
		}
		if len(values) > 1 && !slices.Contains(multi, name) {
			return nil, badQuery(name, "must be given at most once")
		}
		for _, v := range values {
			if v != "" {
				out.Add(name, v)
			}
		}
	}
	return out, nil
}

func badQuery(name, reason string) *workflow.Error {
	return &workflow.Error{
		Code:    workflow.ErrBadRequest,
		Message: fmt.Sprintf("query parameter %s %s", name, reason),
		Fields:  map[string]string{name: reason},
	}
}

// parseLimit reads limit: an integer from 1 to workflow.MaxLimit, the
// default when absent.
func parseLimit(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return workflow.DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > workflow.MaxLimit {
		return 0, badQuery("limit", fmt.Sprintf("must be an integer from 1 to %d", workflow.MaxLimit))
	}
	return n, nil
}

// parseCursor reads cursor. Cursors are opaque tokens of the store; this
// only refuses what no cursor can look like, and the store refuses the
// rest.
func parseCursor(q url.Values) (string, error) {
	s := q.Get("cursor")
	if len(s) > maxQueryValue {
		return "", badQuery("cursor", "is not a cursor this server gave")
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < 0x21 || ch > 0x7e {
			return "", badQuery("cursor", "is not a cursor this server gave")
		}
	}
	return s, nil
}

// listQuery reads the filters of GET /requests.
func listQuery(c echo.Context) (workflow.ListQuery, error) {
	q, err := queryParams(c, []string{"state", "kind", "direction", "counterpart", "q", "deadline", "sort", "limit", "cursor"}, "state")
	if err != nil {
		return workflow.ListQuery{}, err
	}
	var lq workflow.ListQuery
	// States may be repeated (state=a&state=b) or listed (state=a,b).
	for _, v := range q["state"] {
		for _, s := range strings.Split(v, ",") {
			st := workflow.State(strings.TrimSpace(s))
			if !st.Valid() {
				return lq, badQuery("state", "must be states out of: "+joinStates(workflow.States))
			}
			if !slices.Contains(lq.States, st) {
				lq.States = append(lq.States, st)
			}
		}
	}
	if k := q.Get("kind"); k != "" {
		lq.Kind = workflow.Kind(k)
		if !lq.Kind.Valid() {
			return lq, badQuery("kind", "must be mla or extradition")
		}
	}
	switch d := workflow.Direction(q.Get("direction")); d {
	case workflow.DirectionAny, workflow.DirectionIncoming, workflow.DirectionOutgoing:
		lq.Direction = d
	default:
		return lq, badQuery("direction", "must be incoming or outgoing")
	}
	if cp := q.Get("counterpart"); cp != "" {
		lq.Counterpart = strings.ToUpper(cp)
		if !isAuthorityCode(lq.Counterpart) {
			return lq, badQuery("counterpart", "must be an authority code such as ES")
		}
	}
	switch d := workflow.DeadlineFilter(q.Get("deadline")); d {
	case workflow.DeadlineAny, workflow.DeadlineDue, workflow.DeadlineDueSoon:
		lq.Deadline = d
	default:
		return lq, badQuery("deadline", "must be overdue or due_soon")
	}
	switch q.Get("sort") {
	case "":
	case "due":
		lq.SortDue = true
	default:
		return lq, badQuery("sort", "must be due (nearest deadline first); newest first without it")
	}
	lq.Text = q.Get("q")
	if len([]rune(lq.Text)) > workflow.MaxSearchText {
		return lq, badQuery("q", fmt.Sprintf("must be at most %d characters", workflow.MaxSearchText))
	}
	if lq.Limit, err = parseLimit(q); err != nil {
		return lq, err
	}
	lq.Cursor, err = parseCursor(q)
	return lq, err
}

// isAuthorityCode reports whether s looks like an authority code: 2 to 8
// upper-case letters (ISO 3166-1 alpha-2 for states).
func isAuthorityCode(s string) bool {
	if len(s) < 2 || len(s) > 8 {
		return false
	}
	for _, ch := range s {
		if ch < 'A' || ch > 'Z' {
			return false
		}
	}
	return true
}

// auditQuery reads the filters of GET /audit.
func auditQuery(c echo.Context) (workflow.AuditFilter, error) {
	q, err := queryParams(c, []string{"request_id", "action", "actor", "outcome", "limit", "cursor"})
	if err != nil {
		return workflow.AuditFilter{}, err
	}
	f := workflow.AuditFilter{
		RequestID: q.Get("request_id"), Action: q.Get("action"), Actor: q.Get("actor"), Outcome: q.Get("outcome"),
	}
	for name, v := range map[string]string{"request_id": f.RequestID, "action": f.Action, "actor": f.Actor} {
		if len(v) > 64 {
			return f, badQuery(name, "must be at most 64 characters")
		}
	}
	switch f.Outcome {
	case "", workflow.OutcomeOK, workflow.OutcomeDenied:
	default:
		return f, badQuery("outcome", "must be ok or denied")
	}
	if f.Limit, err = parseLimit(q); err != nil {
		return f, err
	}
	f.Cursor, err = parseCursor(q)
	return f, err
}

func joinStates(states []workflow.State) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = string(s)
	}
	return strings.Join(parts, ", ")
}

// truncate cuts s to n bytes for messages, so that an error does not echo
// a huge client value back.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
