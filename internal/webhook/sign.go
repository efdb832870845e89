package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Sign is the webhook-signature header of a message, as Standard Webhooks
// writes it: "v1," then the base64 HMAC-SHA256, under the secret's bytes,
// of the message id, the timestamp (Unix seconds) and the body, joined by
// dots.
func Sign(secret []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// payload is a delivery's body (CONTRACT 8): the action as type, the time
// of the change, and what the outbox message says of it. It holds no case
// text and no person, as the message does not.
type payload struct {
	Type      string      `json:"type"`
	Timestamp string      `json:"timestamp"`
	Data      payloadData `json:"data"`
}

type payloadData struct {
	RequestID           string  `json:"request_id"`
	Reference           string  `json:"reference"`
	Kind                string  `json:"kind"`
	Event               *string `json:"event"` // null for a create or an edit
	From                string  `json:"from"`
	To                  string  `json:"to"`
	Version             int     `json:"version"`
	RequestingAuthority string  `json:"requesting_authority"`
	RequestedAuthority  string  `json:"requested_authority"`
}

// Body is the body delivered for outbox entry e.
func Body(e workflow.OutboxEntry) []byte {
	d := payloadData{
		RequestID: e.RequestID, Reference: e.Reference, Kind: string(e.Kind),
		From: string(e.From), To: string(e.To), Version: e.Version,
		RequestingAuthority: e.RequestingAuthority, RequestedAuthority: e.RequestedAuthority,
	}
	if e.Event != "" {
		ev := string(e.Event)
		d.Event = &ev
	}
	b, err := json.Marshal(payload{Type: e.Action, Timestamp: e.At.UTC().Format(time.RFC3339Nano), Data: d})
	if err != nil {
		panic(err) // strings and numbers always encode
	}
	return b
}
