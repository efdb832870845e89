package events

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestLastEventID(t *testing.T) {
	for _, c := range []struct {
		header, query string
		id            int64
		resume, bad   bool
	}{
		{"", "", 0, false, false},
		{"42", "", 42, true, false},
		{"", "last_event_id=7", 7, true, false},
		{"9", "last_event_id=7", 9, true, false}, // the header, which a reconnecting EventSource sends, wins
		{"0", "", 0, true, false},
		{"x", "", 0, false, true},
		{"-1", "", 0, false, true},
		{"", "last_event_id=1e3", 0, false, true},
	} {
		r := httptest.NewRequest("GET", "/events?"+c.query, nil)
		if c.header != "" {
			r.Header.Set("Last-Event-ID", c.header)
		}
		id, resume, err := LastEventID(r)
		if id != c.id || resume != c.resume || (err != nil) != c.bad {
			t.Errorf("%q %q: %d %v %v", c.header, c.query, id, resume, err)
		}
	}
}

// TestEventOf: the event says what changed and nothing else; its
// audience decides who hears it.
func TestEventOf(t *testing.T) {
	m := workflow.OutboxEntry{ID: 5, OutboxMessage: workflow.OutboxMessage{
		RequestID: "r1", Action: "request.send", At: time.Date(2026, 12, 3, 10, 0, 0, 123456000, time.UTC),
		Audience: []string{"ES", "IT"}, Reference: "IT-MLA-2026-000001", Kind: workflow.KindMLA,
		Event: workflow.EventSend, From: workflow.StateDrafted, To: workflow.StateSent, Version: 2,
		RequestingAuthority: "IT", RequestedAuthority: "ES",
	}}
	b, _ := json.Marshal(EventOf(m))
	want := `{"type":"request.send","timestamp":"2026-12-03T10:00:00.123456Z","data":{"request_id":"r1","reference":"IT-MLA-2026-000001","event":"send","from":"drafted","to":"sent","version":2}}`
	if string(b) != want {
		t.Errorf("event:\n%s\nwant\n%s", b, want)
	}
	for auth, want := range map[string]bool{"IT": true, "ES": true, "NG": false, "": false} {
		if Visible(m, auth) != want {
			t.Errorf("Visible to %q: %v", auth, !want)
		}
	}
}
