package workflow

import "time"

// Change is the record of one command: everything it changes, as one value
// that the command's decision builds and the store writes in one
// transaction (Tx.Apply). The store writes each part where it belongs
// without the command naming a table, so that a new part (a document, a
// deadline) is a new field here and a new writer there, not a new call in
// every command. Temporal's history service writes its transfer and timer
// tasks in the transaction of the state change; this is the same idea.
//
// Every command has one, audited ones that change nothing included (a
// refused attempt, a failed log-in): its audit entry is built from it by
// AuditRecord, the one place any audit record is made.
//
// The changes of the dashboard's counts are not a part: the store derives
// them from the request's stored row and its new state, which only it
// holds both of.
type Change struct {
	// The audit entry's fields: who did what, when, with which outcome.
	At        time.Time // a zero At means now
	Actor     string    // username, or the name tried at a failed log-in
	Authority string
	Action    string // auth.login, request.create, request.send, ...
	RequestID string // the request the entry is about; Request's id when empty
	Outcome   string // OutcomeOK or OutcomeDenied
	Details   map[string]any

	// Request is the request's new state, when the command writes one: a
	// new request when OldVersion is 0, else an update that holds only if
	// the stored version is still OldVersion (ErrVersionConflict
	// otherwise).
	Request    *Request
	OldVersion int
	// History is the transition the command made, if any.
	History *HistoryEntry
	// Outbox is what the change tells those outside the transaction (the
	// webhooks and event stream of CONTRACT 8): at most one message per
	// change, numbered as the change's audit entry (see OutboxEntry).
	Outbox *OutboxMessage
	// CancelTimers removes the pending timers of these kinds and subjects,
	// before Timers are set: a command may thus move a timer by cancelling
	// and setting it again.
	CancelTimers []TimerRef
	// Timers are set to fire after the change commits (a reminder, a
	// deadline, a simulated authority's move).
	Timers []Timer
	// AuthoritySettings are an authority's new settings, when the command
	// changes them (its completeness policy).
	AuthoritySettings *Authority
	// Document is a document the command adds to a request's case file.
	Document *CaseDocument
	// DocumentStatus is a translation status the command sets.
	DocumentStatus *DocumentStatusChange
	// Message is a message posted to a request's thread.
	Message *Message
	// ReadMark sets the read receipts of a request's messages.
	ReadMark *ReadMark
}

// AuditRecord is the audit record of the change. It is the one function
// that builds audit records, for the workflow's commands, internal/auth's
// (log-ins, log-outs, refreshes, user administration, key rotation,
// pruning) and the seeder's alike (TestAuditRecord_builtOnce keeps it so),
// so that every entry of the chain has the same shape whoever wrote it.
func (c Change) AuditRecord() AuditRecord {
	requestID := c.RequestID
	if requestID == "" && c.Request != nil {
		requestID = c.Request.ID
	}
	at := c.At
	if at.IsZero() {
		at = time.Now()
	}
	return AuditRecord{
		At: at, Actor: c.Actor, Authority: c.Authority, Action: c.Action,
		RequestID: requestID, Outcome: c.Outcome, Details: c.Details,
	}
}

// Recorded is the change of a command that writes nothing of the workflow
// but its audit entry and what its own store methods write (a log-in's
// session, a user, a key): by a at at, action with outcome and details.
func Recorded(a Actor, at time.Time, action, outcome string, details map[string]any) Change {
	return Change{At: at, Actor: a.Username, Authority: a.Authority, Action: action, Outcome: outcome, Details: details}
}

// ActionCreate and ActionUpdate are the audit actions of drafting and
// editing a request; an event's is EventAction.
const (
	ActionCreate = "request.create"
	ActionUpdate = "request.update"
)

// EventAction is the audit action of firing ev: request.send, ...
func EventAction(ev Event) string { return "request." + string(ev) }

// Created is the change of a request drafted by a: the new request, its
// audit entry (CreatedDetails) and a message to its own authority, the
// only one that sees a draft.
func Created(d Digester, a Actor, r Request) Change {
	return Change{
		At: r.CreatedAt, Actor: a.Username, Authority: a.Authority, Action: ActionCreate,
		RequestID: r.ID, Outcome: OutcomeOK, Details: CreatedDetails(d, r),
		Request: &r, Outbox: requestMessage(ActionCreate, r, r.State, ""),
	}
}

// Edited is the change of a draft old edited by a into next, fields naming
// what changed.
func Edited(d Digester, a Actor, old, next Request, fields []string) Change {
	return Change{
		At: next.UpdatedAt, Actor: a.Username, Authority: a.Authority, Action: ActionUpdate,
		RequestID: next.ID, Outcome: OutcomeOK, Details: UpdatedDetails(d, fields, next),
		Request: &next, OldVersion: old.Version, Outbox: requestMessage(ActionUpdate, next, old.State, ""),
	}
}

// Fired is the change of the transition h that a made, moving old to next.
func Fired(d Digester, a Actor, old, next Request, h HistoryEntry) Change {
	action := EventAction(h.Event)
	return Change{
		At: h.At, Actor: a.Username, Authority: a.Authority, Action: action,
		RequestID: next.ID, Outcome: OutcomeOK, Details: FiredDetails(d, h, next.Version),
		Request: &next, OldVersion: old.Version, History: &h,
		Outbox: requestMessage(action, next, old.State, h.Event),
	}
}

// Denied is the change of an attempt that was refused with code: an audit
// entry and nothing else. details says what was tried; the code is added
// as "error".
func Denied(a Actor, at time.Time, action, requestID string, code Code, details map[string]any) Change {
	if details == nil {
		details = map[string]any{}
	}
	details["error"] = code
	return Change{
		At: at, Actor: a.Username, Authority: a.Authority, Action: action,
		RequestID: requestID, Outcome: OutcomeDenied, Details: details,
	}
}

// DeniedEventDetails are the details of a refused event: the event tried
// and the state the request was in.
func DeniedEventDetails(ev Event, state State) map[string]any {
	return map[string]any{"event": truncate(string(ev), 64), "state": state}
}

// Audience lists the authorities that may see r as it is: its requesting
// authority always, its requested authority once it has left drafted
// (CONTRACT 3). auth.Policy.Scope grants the same, which its tests check;
// the outbox needs the rule without an actor to ask for.
func Audience(r Request) []string {
	if r.State == StateDrafted || r.RequestedAuthority == "" {
		return []string{r.RequestingAuthority}
	}
	if r.RequestedAuthority < r.RequestingAuthority {
		return []string{r.RequestedAuthority, r.RequestingAuthority}
	}
	return []string{r.RequestingAuthority, r.RequestedAuthority}
}

// caseFileMessage is the outbox message of action on r's case file (a
// message posted, a document added or its translation tracked) at at: the
// request as it stands, told to audience. A webhook or the event stream
// says that the case file changed, and the subscriber reads what with its
// own rights.
func caseFileMessage(action string, r Request, at time.Time, audience []string) *OutboxMessage {
	m := requestMessage(action, r, r.State, "")
	m.At, m.Audience = at, audience
	return m
}

// requestMessage is the outbox message of action on r, which was in state
// from before: what an authority that may see r may be told of it.
func requestMessage(action string, r Request, from State, ev Event) *OutboxMessage {
	return &OutboxMessage{
		RequestID: r.ID, Action: action, At: r.UpdatedAt, Audience: Audience(r),
		Reference: r.Reference, Kind: r.Kind, Event: ev, From: from, To: r.State, Version: r.Version,
		RequestingAuthority: r.RequestingAuthority, RequestedAuthority: r.RequestedAuthority,
	}
}
