package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Messages.
//
// A request's case file carries the correspondence of its two central
// authorities beside the transitions: messages, consultations before a
// refusal (UNTOC 18(26), 16(16)), enquiries about the status of a request
// (UNTOC 18(24)), and notes, which are internal: only the author's
// authority ever sees them. Each message is posted by a command of its own
// (PostMessage), audited as message.post with a digest of its body, never
// the body; reading the thread marks the counterpart's messages read (a
// read receipt), audited as message.read.

// MessageKind is what a message is for.
type MessageKind string

// The kinds of message.
const (
	MessageKindMessage       MessageKind = "message"
	MessageKindConsultation  MessageKind = "consultation"   // UNTOC 18(26): before refusing
	MessageKindStatusEnquiry MessageKind = "status_enquiry" // UNTOC 18(24)
	MessageKindNote          MessageKind = "note"           // internal to the author's authority
)

// MessageKinds lists the kinds in the order forms offer them.
var MessageKinds = []MessageKind{MessageKindMessage, MessageKindConsultation, MessageKindStatusEnquiry, MessageKindNote}

// Valid reports whether k is a known kind of message.
func (k MessageKind) Valid() bool {
	for _, known := range MessageKinds {
		if k == known {
			return true
		}
	}
	return false
}

// MaxMessageBody bounds a message's body, as a comment is bounded.
const MaxMessageBody = MaxComment

// Message is one message of a request's thread.
type Message struct {
	ID        string
	RequestID string
	Kind      MessageKind
	Body      string
	Actor     string
	Authority string
	At        time.Time
	// Internal messages are seen by the author's authority only: notes,
	// and whatever was posted while the request was a draft, when the
	// requested side was no party to it yet.
	Internal bool
	// ReadAt is when the counterpart's officers or supervisors first read
	// the thread after it was posted; nil while unread, and always for an
	// internal message, which has no counterpart.
	ReadAt *time.Time
	// New tells, in the answer of a reading, that the reader's authority
	// had not read the message before (not stored).
	New bool
}

// The audit actions of the thread.
const (
	ActionMessagePost = "message.post"
	ActionMessageRead = "message.read"
)

// MessagePosted is the change of message m posted by a on r: the message
// and its audit entry, which binds the body by its digest.
func MessagePosted(d Digester, a Actor, r Request, m Message) Change {
	return Change{
		At: m.At, Actor: a.Username, Authority: a.Authority, Action: ActionMessagePost,
		RequestID: r.ID, Outcome: OutcomeOK,
		Details: map[string]any{"message_id": m.ID, "kind": string(m.Kind), "internal": m.Internal, "body_hmac": d.Digest(m.Body)},
		Message: &m,
		Outbox:  caseFileMessage(ActionMessagePost, r, m.At, messageAudience(r, m)),
	}
}

// messageAudience are the authorities that may see message m on r: its
// author's alone for an internal one.
func messageAudience(r Request, m Message) []string {
	if m.Internal {
		return []string{m.Authority}
	}
	return Audience(r)
}

// MessagesRead is the change of a reading, by a at at, of the thread of
// the request with the given id that found the counterpart's messages ids
// unread: their read receipts, and its audit entry.
func MessagesRead(a Actor, at time.Time, requestID string, ids []string) Change {
	return Change{
		At: at, Actor: a.Username, Authority: a.Authority, Action: ActionMessageRead,
		RequestID: requestID, Outcome: OutcomeOK,
		Details:  map[string]any{"messages_read": len(ids)},
		ReadMark: &ReadMark{RequestID: requestID, IDs: ids, At: at},
	}
}

// ReadMark sets the read receipts of messages of one request.
type ReadMark struct {
	RequestID string
	IDs       []string
	At        time.Time
}

// PostMessage posts a message to the thread of a request the actor may
// see. 404 for a request the actor may not see, 403 for a role or side
// that may not post (the Policy's), 422 for a bad kind or body.
func (s *Service) PostMessage(ctx context.Context, a Actor, id string, kind MessageKind, body string) (Message, error) {
	return s.postMessage(ctx, a, id, s.newID(), kind, body)
}

// PostMessageWithID is PostMessage with the message's id given by the
// caller (DerivedID): a simulated authority of a training exercise names
// its reply after what it answers, so that a repeat fails on the taken id
// and posts nothing twice.
func (s *Service) PostMessageWithID(ctx context.Context, a Actor, id, messageID string, kind MessageKind, body string) (Message, error) {
	return s.postMessage(ctx, a, id, messageID, kind, body)
}

func (s *Service) postMessage(ctx context.Context, a Actor, id, messageID string, kind MessageKind, body string) (Message, error) {
	var out Message
	err := s.onVisible(ctx, a, id, ActionMessagePost, func(tx Tx, r Request) error {
		if !s.policy.MayPostMessage(a, r) {
			return Errorf(ErrForbidden, "only the officers and supervisors of the request's two authorities post messages")
		}
		errs := fieldErrors{}
		if !kind.Valid() {
			errs.add("kind", "must be one of message, consultation, status_enquiry, note")
		}
		if strings.TrimSpace(body) == "" {
			errs.add("body", "is required")
		}
		checkText(errs, "body", body, MaxMessageBody)
		if err := errs.err(); err != nil {
			return err
		}
		m := Message{
			ID: messageID, RequestID: r.ID, Kind: kind, Body: body, Actor: a.Username, Authority: a.Authority,
			At: s.clock(), Internal: kind == MessageKindNote || r.State == StateDrafted,
		}
		if err := tx.Apply(ctx, MessagePosted(s.store, a, r, m)); err != nil {
			return fmt.Errorf("post message: %w", err)
		}
		out = m
		return nil
	}, func(Request) map[string]any { return map[string]any{"kind": truncate(string(kind), 40)} })
	return out, err
}

// Messages returns the thread of a request the actor may see, oldest
// first, without what the Policy hides from the actor (the other
// authority's internal messages). When the actor may post to the thread,
// reading it marks the counterpart's unread messages read, in a command of
// its own; auditors read without leaving a receipt.
func (s *Service) Messages(ctx context.Context, a Actor, id string) ([]Message, error) {
	r, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	all, err := s.store.Messages(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(all))
	var unread []string
	for _, m := range all {
		if !s.policy.MaySeeMessage(a, r, m) {
			continue
		}
		if m.ReadAt == nil && !m.Internal && m.Authority != a.Authority {
			unread = append(unread, m.ID)
		}
		out = append(out, m)
	}
	if len(unread) == 0 || !s.policy.MayPostMessage(a, r) {
		return out, nil
	}
	now := s.clock()
	err = s.store.WithTx(ctx, func(tx Tx) error {
		return tx.Apply(ctx, MessagesRead(a, now, r.ID, unread))
	})
	if err != nil {
		return nil, fmt.Errorf("mark messages read: %w", err)
	}
	for i := range out {
		if out[i].ReadAt == nil && !out[i].Internal && out[i].Authority != a.Authority {
			out[i].ReadAt, out[i].New = &now, true
		}
	}
	return out, nil
}

// UnreadMessages counts, for each of the requests, the counterpart's
// messages that the actor's authority has not read yet (the lists' unread
// markers). Requests without any are left out.
func (s *Service) UnreadMessages(ctx context.Context, a Actor, rs []Request) (map[string]int, error) {
	scope := s.policy.Scope(a)
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		if scope.Includes(r) {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return map[string]int{}, nil
	}
	return s.store.UnreadMessages(ctx, scope.Authority, ids)
}
