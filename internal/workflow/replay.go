package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Replaying the audit log.
//
// The audit chain proves that its entries are as written; the request rows
// and their history are plain rows beside it, which anyone who can write
// the database could change: move a request to another state, delete a
// transition, hand a case to a third authority. Each command's audit entry
// records what the command did (service.go writes them), so the log can be
// replayed: a request's audited changes, in order, say what its row and its
// history must be now. Verification replays every request and names any
// whose row or history disagrees.

// AuditedRequest is what the audit log says of one request: the facts its
// audited changes recorded, replayed in order.
type AuditedRequest struct {
	ID                  string
	Reference           string
	Kind                Kind
	RequestingAuthority string
	RequestedAuthority  string
	CreatedBy           string
	State               State
	Version             int
	CreatedAt           time.Time
	UpdatedAt           time.Time
	// Content is the digest field of the last creation or edit ("" when
	// none recorded one) and its value.
	ContentField, Content string
	// History are the audited transitions, oldest first, with the digest
	// field of each comment.
	History []AuditedTransition
	// RequestedReference is the reference the last acknowledgement gave.
	RequestedReference string
	// Extensions are the audited extensions of its deadlines, in order.
	Extensions []AuditedExtension
	// LastSeq is the sequence number of the last audited change.
	LastSeq int64
	// Problem says why the entries themselves do not replay (a transition
	// from a state the request was not in, an entry before the creation).
	Problem string
}

// AuditedTransition is one transition as its audit entry recorded it.
type AuditedTransition struct {
	HistoryEntry
	// CommentField names the digest of the comment in the entry ("" when
	// the transition carried no comment); CommentDigest is its value.
	CommentField, CommentDigest string
}

// AuditedExtension is an extension of a deadline as its audit entry
// recorded it.
type AuditedExtension struct {
	Deadline string
	Days     int
	Actor    string
	At       time.Time
}

// TextDigests computes the digests the audit log binds texts with: given a
// detail field's name (content_sha256, comment_hmac, ...) and the text, it
// answers the digest that field holds, and false for a field it does not
// know.
type TextDigests func(field, text string) (string, bool)

// DigestsOf is the TextDigests of the details written with d: the keyed
// digests (…_hmac) by d, and the plain SHA-256 of entries written before
// digests were keyed (…_sha256).
func DigestsOf(d Digester) TextDigests {
	return func(field, text string) (string, bool) {
		switch field {
		case "content_hmac", "comment_hmac", "body_hmac":
			return d.Digest(text), true
		case "content_sha256", "comment_sha256":
			sum := sha256.Sum256([]byte(text))
			return hex.EncodeToString(sum[:]), true
		}
		return "", false
	}
}

// ChangesRequest tells whether an audit entry of the action and outcome
// records a change of its request (and so takes part in its replay).
func ChangesRequest(action, outcome string) bool {
	if outcome != OutcomeOK {
		return false
	}
	switch action {
	case "request.create", "request.update", ActionExtendDeadline:
		return true
	}
	ev, ok := strings.CutPrefix(action, "request.")
	if !ok {
		return false
	}
	_, known := Lookup(Event(ev))
	return known
}

// replayDetails are the detail fields replay reads.
type replayDetails struct {
	Reference          string   `json:"reference"`
	Kind               Kind     `json:"kind"`
	RequestedAuthority string   `json:"requested_authority"`
	Version            int      `json:"version"`
	Event              Event    `json:"event"`
	From               State    `json:"from"`
	To                 State    `json:"to"`
	Grounds            []string `json:"grounds"`
	Documents          []string `json:"documents"`
	RequestedReference string   `json:"requested_reference"`
	Deadline           string   `json:"deadline"`
	Days               int      `json:"days"`
	// The digests of a request's content and of a comment: keyed, or
	// plain SHA-256 in entries written before digests were keyed.
	ContentHMAC   *string `json:"content_hmac"`
	ContentSHA256 *string `json:"content_sha256"`
	CommentHMAC   *string `json:"comment_hmac"`
	CommentSHA256 *string `json:"comment_sha256"`
}

// content names the content digest the entry holds, and its value.
func (d replayDetails) content() (string, string) {
	return firstDigest("content_hmac", d.ContentHMAC, "content_sha256", d.ContentSHA256)
}

// comment names the comment digest the entry holds, and its value.
func (d replayDetails) comment() (string, string) {
	return firstDigest("comment_hmac", d.CommentHMAC, "comment_sha256", d.CommentSHA256)
}

func firstDigest(keyed string, keyedValue *string, plain string, plainValue *string) (string, string) {
	switch {
	case keyedValue != nil:
		return keyed, *keyedValue
	case plainValue != nil:
		return plain, *plainValue
	}
	return "", ""
}

// Replay applies one audited change of the request (an entry for which
// ChangesRequest is true), in sequence order.
func (a *AuditedRequest) Replay(e AuditEntry) {
	if a.Problem != "" {
		return
	}
	var d replayDetails
	if err := json.Unmarshal([]byte(e.Details), &d); err != nil {
		a.Problem = fmt.Sprintf("entry %d: details do not decode: %v", e.Seq, err)
		return
	}
	a.ID, a.LastSeq = e.RequestID, e.Seq
	switch {
	case e.Action == "request.create":
		if a.Version != 0 {
			a.Problem = fmt.Sprintf("entry %d creates the request a second time", e.Seq)
			return
		}
		a.Reference, a.Kind, a.RequestedAuthority = d.Reference, d.Kind, d.RequestedAuthority
		a.RequestingAuthority, a.State, a.Version = e.Authority, StateDrafted, 1
		a.CreatedBy = e.Actor
		a.CreatedAt, a.UpdatedAt = e.At, e.At
		a.ContentField, a.Content = d.content()
		return
	case a.Version == 0:
		a.Problem = fmt.Sprintf("entry %d changes the request before any entry creates it", e.Seq)
		return
	case e.Action == "request.update":
		a.Version, a.UpdatedAt = d.Version, e.At
		a.ContentField, a.Content = d.content()
		return
	case e.Action == ActionExtendDeadline:
		a.Version, a.UpdatedAt = d.Version, e.At
		a.Extensions = append(a.Extensions, AuditedExtension{Deadline: d.Deadline, Days: d.Days, Actor: e.Actor, At: e.At})
		return
	}
	if d.RequestedReference != "" {
		a.RequestedReference = d.RequestedReference
	}
	if d.From != a.State {
		a.Problem = fmt.Sprintf("entry %d moves the request from %s, but it was %s", e.Seq, d.From, a.State)
		return
	}
	a.State, a.Version, a.UpdatedAt = d.To, d.Version, e.At
	t := AuditedTransition{HistoryEntry: HistoryEntry{
		RequestID: e.RequestID, Event: d.Event, From: d.From, To: d.To, Actor: e.Actor,
		Authority: e.Authority, At: e.At, Grounds: d.Grounds, Documents: d.Documents,
	}}
	t.CommentField, t.CommentDigest = d.comment()
	a.History = append(a.History, t)
}

// Disagreement compares a stored request and its history with what the
// audit log says of it, and returns what differs ("" when they agree).
// digest computes the digests the entries bind texts with.
func (a *AuditedRequest) Disagreement(r Request, history []HistoryEntry, digest TextDigests) string {
	if a.Problem != "" {
		return a.Problem
	}
	var diffs []string
	differ := func(field string, stored, audited any) {
		if fmt.Sprint(stored) != fmt.Sprint(audited) {
			diffs = append(diffs, fmt.Sprintf("%s is %v, the log says %v", field, stored, audited))
		}
	}
	differ("reference", r.Reference, a.Reference)
	differ("kind", r.Kind, a.Kind)
	differ("requesting authority", r.RequestingAuthority, a.RequestingAuthority)
	differ("requested authority", r.RequestedAuthority, a.RequestedAuthority)
	differ("state", r.State, a.State)
	differ("version", r.Version, a.Version)
	differ("creation time", r.CreatedAt.UTC(), a.CreatedAt.UTC())
	differ("last change", r.UpdatedAt.UTC(), a.UpdatedAt.UTC())
	differ("requested reference", r.RequestedReference, a.RequestedReference)
	if r.CreatedBy != "" { // kept since migration 0004
		differ("drafter", r.CreatedBy, a.CreatedBy)
	}
	var extensions []AuditedExtension
	for _, t := range r.Deadlines {
		for _, x := range t.Extensions {
			extensions = append(extensions, AuditedExtension{Deadline: t.Kind, Days: x.Days, Actor: x.Actor, At: x.At.UTC()})
		}
	}
	slices.SortStableFunc(extensions, func(x, y AuditedExtension) int { return x.At.Compare(y.At) })
	if fmt.Sprint(extensions) != fmt.Sprint(a.utcExtensions()) {
		diffs = append(diffs, "its deadlines' extensions are not those the log records")
	}
	if a.ContentField != "" && !a.contentMatches(r, digest) {
		diffs = append(diffs, "its content is not what the log's last creation or edit recorded")
	}
	if len(history) != len(a.History) {
		diffs = append(diffs, fmt.Sprintf("it has %d transitions in its history, the log records %d", len(history), len(a.History)))
	} else {
		for i, h := range history {
			if why := a.History[i].disagreement(h, digest); why != "" {
				diffs = append(diffs, fmt.Sprintf("transition %d of its history (%s): %s", i+1, h.Event, why))
			}
		}
	}
	return strings.Join(diffs, "; ")
}

func (a *AuditedRequest) utcExtensions() []AuditedExtension {
	var out []AuditedExtension
	for _, x := range a.Extensions {
		x.At = x.At.UTC()
		out = append(out, x)
	}
	return out
}

// contentMatches tells whether r's content is what the last creation or
// edit recorded (or whether the field is one digest does not know).
func (a *AuditedRequest) contentMatches(r Request, digest TextDigests) bool {
	if want, known := digest(a.ContentField, contentText(r)); !known || want == a.Content {
		return true // the usual case, at the cost of one encoding
	}
	for _, text := range legacyContentTexts(r) {
		want, known := digest(a.ContentField, text)
		if !known || want == a.Content {
			return true
		}
	}
	return false
}

// disagreement compares a stored history row with its audited transition.
func (t AuditedTransition) disagreement(h HistoryEntry, digest TextDigests) string {
	var diffs []string
	if h.Event != t.Event || h.From != t.From || h.To != t.To {
		diffs = append(diffs, fmt.Sprintf("%s from %s to %s, the log says %s from %s to %s", h.Event, h.From, h.To, t.Event, t.From, t.To))
	}
	if h.Actor != t.Actor || h.Authority != t.Authority {
		diffs = append(diffs, fmt.Sprintf("by %s of %s, the log says %s of %s", h.Actor, h.Authority, t.Actor, t.Authority))
	}
	if !h.At.Equal(t.At) {
		diffs = append(diffs, "at another time than the log says")
	}
	if !slices.Equal(h.Grounds, t.Grounds) && len(h.Grounds)+len(t.Grounds) > 0 {
		diffs = append(diffs, "with other grounds than the log records")
	}
	if !slices.Equal(h.Documents, t.Documents) && len(h.Documents)+len(t.Documents) > 0 {
		diffs = append(diffs, "with other documents than the log records")
	}
	switch {
	case t.CommentField == "" && h.Comment != "":
		diffs = append(diffs, "with a comment the log does not record")
	case t.CommentField != "":
		if want, known := digest(t.CommentField, h.Comment); known && want != t.CommentDigest {
			diffs = append(diffs, "with another comment than the log records")
		}
	}
	return strings.Join(diffs, ", ")
}
