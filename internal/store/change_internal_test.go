package store

import (
	"encoding/json"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestEncodePayload_json checks the hand-written JSON of outbox payloads
// against encoding/json, with text that needs escaping.
func TestEncodePayload_json(t *testing.T) {
	for _, m := range []workflow.OutboxMessage{
		{Reference: "IT-MLA-2026-000042", Kind: workflow.KindMLA, Event: workflow.EventSend, From: "drafted", To: "sent",
			Version: 3, RequestingAuthority: "IT", RequestedAuthority: "ES"},
		{Reference: "a\"b\\c\nd\te\x01f «é» 証拠 \u2028", Kind: "k", From: "x", To: "x", Version: -1},
	} {
		var got outboxPayload
		if err := json.Unmarshal([]byte(encodePayload(m)), &got); err != nil {
			t.Fatalf("%q: %v", encodePayload(m), err)
		}
		want := outboxPayload{Reference: m.Reference, Kind: string(m.Kind), Event: string(m.Event), From: string(m.From),
			To: string(m.To), Version: m.Version, RequestingAuthority: m.RequestingAuthority, RequestedAuthority: m.RequestedAuthority}
		if got != want {
			t.Errorf("decoded %+v, want %+v", got, want)
		}
	}
}
