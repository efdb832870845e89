package workflow

import (
	"encoding/json"
	"fmt"
	"time"
)

// Replaying the threads. A message row is a plain row like a request's:
// anyone who can write the database could reword a consultation, turn an
// internal note into a message the counterpart reads, or slip in a message
// nobody posted. Each message.post entry records who posted what (the body
// by its keyed digest), so every message row must match exactly one
// accepted entry, and every such entry must still have its row.

// AuditedMessage is a posted message as its audit entry recorded it.
type AuditedMessage struct {
	Seq       int64
	RequestID string
	Actor     string
	Authority string
	At        time.Time
	Kind      MessageKind
	Internal  bool
	// BodyField names the digest of the body in the entry; BodyDigest is
	// its value.
	BodyField, BodyDigest string
}

// ChangesThread tells whether an audit entry of the action and outcome
// records a message posted (and so takes part in the threads' replay).
func ChangesThread(action, outcome string) bool {
	return action == ActionMessagePost && outcome == OutcomeOK
}

// AuditedMessageOf reads the message a message.post entry records, and the
// id of that message.
func AuditedMessageOf(e AuditEntry) (string, AuditedMessage, error) {
	var d struct {
		MessageID string      `json:"message_id"`
		Kind      MessageKind `json:"kind"`
		Internal  bool        `json:"internal"`
		BodyHMAC  *string     `json:"body_hmac"`
	}
	if err := json.Unmarshal([]byte(e.Details), &d); err != nil {
		return "", AuditedMessage{}, fmt.Errorf("entry %d: details do not decode: %w", e.Seq, err)
	}
	if d.MessageID == "" || d.BodyHMAC == nil {
		return "", AuditedMessage{}, fmt.Errorf("entry %d: a message.post without message_id or body_hmac", e.Seq)
	}
	return d.MessageID, AuditedMessage{
		Seq: e.Seq, RequestID: e.RequestID, Actor: e.Actor, Authority: e.Authority, At: e.At,
		Kind: d.Kind, Internal: d.Internal, BodyField: "body_hmac", BodyDigest: *d.BodyHMAC,
	}, nil
}

// Disagreement says how message m differs from what its entry recorded,
// or "" when it agrees. The read receipt is not compared: it is set after
// the post, by a reading that records only how many it marked.
func (a AuditedMessage) Disagreement(m Message, digest TextDigests) string {
	switch {
	case m.RequestID != a.RequestID:
		return fmt.Sprintf("message %s was posted on request %s, its row now says %s", m.ID, a.RequestID, m.RequestID)
	case m.Actor != a.Actor || m.Authority != a.Authority:
		return fmt.Sprintf("message %s was posted by %s (%s), its row now says %s (%s)", m.ID, a.Actor, a.Authority, m.Actor, m.Authority)
	case m.Kind != a.Kind:
		return fmt.Sprintf("message %s was posted as %s, its row now says %s", m.ID, a.Kind, m.Kind)
	case m.Internal != a.Internal:
		return fmt.Sprintf("message %s was posted with internal=%t, its row now says %t: who may read it changed", m.ID, a.Internal, m.Internal)
	case !m.At.Equal(a.At):
		return fmt.Sprintf("message %s was posted at %s, its row now says %s", m.ID, a.At.Format(time.RFC3339Nano), m.At.Format(time.RFC3339Nano))
	}
	if want, ok := digest(a.BodyField, m.Body); !ok || want != a.BodyDigest {
		return fmt.Sprintf("the body of message %s is not the one posted", m.ID)
	}
	return ""
}
