package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestLocalPath(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/", "/"},
		{"/inbox?state=sent&q=a%20b", "/inbox?state=sent&q=a%20b"},
		{"/requests/01abc", "/requests/01abc"},
		{"", ""},
		{"inbox", ""},
		{"//evil.example", ""},
		{"///evil.example", ""},
		{"/\\evil.example", ""},
		{"https://evil.example/", ""},
		{"/x\r\nSet-Cookie: a=b", ""},
		{"/\tevil", ""},
		{"/api/v1/me", ""},
		{"/login?next=/x", ""},
		{"/static/app.css", ""},
	}
	for _, tc := range cases {
		if got := localPath(tc.in); got != tc.want {
			t.Errorf("localPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestDiagram checks that the diagram shows every state and every row of
// the table once, from the table itself.
func TestDiagram(t *testing.T) {
	d := buildDiagram(workflow.StateAcknowledged,
		[]workflow.State{workflow.StateDrafted, workflow.StateSent, workflow.StateAcknowledged},
		[]workflow.Event{workflow.EventExecute})
	var states []workflow.State
	edges := 0
	for _, n := range append(slices.Clone(d.Steps), d.Finals...) {
		states = append(states, n.State)
		edges += len(n.Out)
		if n.Current != (n.State == workflow.StateAcknowledged) {
			t.Errorf("%s: current %v", n.State, n.Current)
		}
		if n.Final != n.State.Final() {
			t.Errorf("%s: final %v", n.State, n.Final)
		}
		for _, e := range n.Out {
			if e.Available != (n.State == workflow.StateAcknowledged && e.Event == workflow.EventExecute) {
				t.Errorf("%s --%s--> available %v", n.State, e.Event, e.Available)
			}
		}
	}
	if len(states) != len(workflow.States) {
		t.Errorf("diagram has states %v, want %v", states, workflow.States)
	}
	want := 0
	for _, tr := range workflow.Table {
		want += len(tr.From)
	}
	if edges != want {
		t.Errorf("diagram has %d edges, the table %d", edges, want)
	}
	if d.Steps[0].State != workflow.StateDrafted || !d.Steps[1].Visited || d.Steps[0].Current {
		t.Errorf("first steps: %+v", d.Steps[:2])
	}
	for _, n := range d.Steps {
		for _, e := range n.Out {
			if e.Event == workflow.EventProvideInfo && !e.Back {
				t.Errorf("provide_info leads back to acknowledged, not marked as such")
			}
		}
	}
}

func TestCSRFToken(t *testing.T) {
	h := &Handler{key: []byte("0123456789abcdef0123456789abcdef")}
	n := "nonce"
	tok := n + "." + h.csrfMAC("user1", n)
	if !h.validCSRF(tok, "user1") {
		t.Errorf("own token refused")
	}
	for _, bad := range []string{tok[:len(tok)-1], "nonce.", ".x", "", n + "." + h.csrfMAC("user2", n)} {
		if h.validCSRF(bad, "user1") {
			t.Errorf("token %q accepted", bad)
		}
	}
	if h.validCSRF(tok, "") {
		t.Errorf("a user's token accepted before log-in")
	}
}

// TestErrorPage_internal checks that a 500 page shows the request id and
// never the error itself, which goes to the log.
func TestErrorPage_internal(t *testing.T) {
	var logs strings.Builder
	h := &Handler{
		pages: mustParsePages(), key: []byte("0123456789abcdef0123456789abcdef"),
		logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/inbox", nil), rec)
	c.Response().Header().Set(echo.HeaderXRequestID, "rid-123")
	h.handleError(errors.New("database password is hunter2"), c)
	body := rec.Body.String()
	if rec.Code != http.StatusInternalServerError || !strings.Contains(body, "Something went wrong") || !strings.Contains(body, "rid-123") {
		t.Errorf("500 page: %d\n%s", rec.Code, body)
	}
	if strings.Contains(body, "hunter2") {
		t.Errorf("the 500 page shows the error")
	}
	if !strings.Contains(logs.String(), "hunter2") {
		t.Errorf("the error was not logged: %q", logs.String())
	}
}

// TestEventPast_everyEvent: the timeline names every event of the table
// by what happened, not by the button's command.
func TestEventPast_everyEvent(t *testing.T) {
	var events []workflow.Event
	for _, tr := range workflow.Table {
		events = append(events, tr.Event)
	}
	for _, ev := range events {
		past, ok := eventPast[ev]
		if !ok || past == "" {
			t.Errorf("%s has no past-tense label", ev)
			continue
		}
		if past == eventLabels[ev] {
			t.Errorf("%s: past-tense label %q is the button's", ev, past)
		}
	}
	if got := toTimeline([]workflow.HistoryEntry{{Event: "hold_over", Actor: "es.officer"}}, nil)[0].Label; got != "Hold over" {
		t.Errorf("an event without a label reads %q, want %q", got, "Hold over")
	}
}

// TestAuditDetails_generic: details are shown as label and value pairs
// whatever their keys: known keys with their labels, in their order, and
// codes in words; unknown keys after them, their names made words; ids
// that another detail says in words hidden, and the others last.
func TestAuditDetails_generic(t *testing.T) {
	e := workflow.AuditEntry{Action: "user.update", Details: `{"changed":["role","disabled"],"disabled":true,` +
		`"ended_before":"2026-05-04T10:30:00Z","new_thing":["a","b"],"retries":3,"role":"supervisor",` +
		`"session_id":"s-1","user_id":"u-1","username":"it.clerk","zone_code":""}`}
	got := auditDetails(e, func(id string) string { return "/users/" + id })
	want := []detailItem{
		{Key: "username", Label: "Account", Value: "it.clerk", Href: "/users/u-1"},
		{Key: "role", Label: "Role", Value: "Supervisor"},
		{Key: "disabled", Label: "Disabled", Value: "yes"},
		{Key: "changed", Label: "Changed", Value: "Role, Access"},
		{Key: "ended_before", Label: "Ended before", Value: "2026-05-04 10:30 UTC"},
		{Key: "new_thing", Label: "New thing", Value: "a, b"},
		{Key: "retries", Label: "Retries", Value: "3"},
		{Key: "zone_code", Label: "Zone code", Value: "none"},
		{Key: "session_id", Label: "Session", Value: "s-1", Secondary: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("details:\n got %+v\nwant %+v", got, want)
	}

	// The event of request.EVENT is the action itself: not repeated.
	fired := auditDetails(workflow.AuditEntry{Action: "request.send", Details: `{"event":"send","from":"drafted","to":"sent"}`}, nil)
	if want := []detailItem{{Key: "from", Label: "From", Value: "Draft"}, {Key: "to", Label: "To", Value: "Sent"}}; !slices.Equal(fired, want) {
		t.Errorf("fired details %+v, want %+v", fired, want)
	}
	logout := auditDetails(workflow.AuditEntry{Action: "auth.logout", Details: `{"all":true,"sessions_revoked":["s-1","s-2"]}`}, nil)
	if want := []detailItem{{Key: "all", Label: "All sessions", Value: "yes"}, {Key: "sessions_revoked", Label: "Sessions ended", Value: "2"}}; !slices.Equal(logout, want) {
		t.Errorf("log-out details %+v, want %+v: the ended sessions counted, not listed", logout, want)
	}
	if got := auditDetails(workflow.AuditEntry{Details: `[1,2]`}, nil); len(got) != 1 || got[0].Value != "[1,2]" {
		t.Errorf("details that are no object: %+v, want them as written", got)
	}
	for action, want := range map[string]string{"request.send": "Send", "request.create": "Draft request",
		"auth.login": "Log in", "request.postpone": "Postpone execution", "backup.restore": "Backup restore"} {
		if got := actionLabel(action); got != want {
			t.Errorf("actionLabel(%q) = %q, want %q", action, got, want)
		}
	}
}
