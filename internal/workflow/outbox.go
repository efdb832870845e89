package workflow

import "time"

// OutboxMessage is what a committed change tells the world outside its
// transaction: the webhooks and the event stream of CONTRACT 8 read it
// later from the outbox, and nothing is sent from inside the transaction.
// It holds what an authority of Audience may see of the change and nothing
// else: no case text, no comment, no grounds, no person (a protected one
// least of all); a consumer that needs more reads the request with the
// subscriber's own rights.
type OutboxMessage struct {
	RequestID string
	Action    string // the audit action: request.create, request.send, ...
	At        time.Time
	// Audience are the authorities that may see the change, sorted: the
	// requesting authority alone while the request is a draft.
	Audience            []string
	Reference           string
	Kind                Kind
	Event               Event // empty for a create or an edit
	From, To            State // the state before and after; equal for an edit
	Version             int
	RequestingAuthority string
	RequestedAuthority  string
}

// OutboxEntry is a stored outbox message. ID is the sequence number of the
// audit entry of the change that wrote it: per database it increases in
// the order the changes committed, so that a consumer that has read up to
// ID n and asks for what comes after n misses nothing and sees nothing
// twice.
type OutboxEntry struct {
	ID int64
	OutboxMessage
}

// Timer is something to do at a time after a change has committed: a
// reminder, a deadline's check, a simulated authority's move. A job claims
// it when it is due (at least once: a claim lapses after its lease) and
// deletes it when done.
type Timer struct {
	Kind    string    // what to do, e.g. "deadline.remind"
	Subject string    // what it is about, e.g. a request id
	DueAt   time.Time // when
	Payload string    // what the job needs beyond kind and subject; opaque here
}

// TimerRef names the pending timers of one kind and subject, for a change
// that cancels them.
type TimerRef struct {
	Kind    string
	Subject string
}

// DueTimer is a timer claimed by a job: ID to delete it by when done.
type DueTimer struct {
	ID int64
	Timer
	CreatedAt time.Time
}
