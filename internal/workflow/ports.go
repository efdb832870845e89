package workflow

import (
	"context"
	"time"
)

// Store is what the workflow needs from persistence. internal/store
// implements it on SQLite and PostgreSQL.
type Store interface {
	// Digester keys the digests of case text in audit details: the store
	// holds the key of the log, which its readers do not.
	Digester

	// WithTx runs fn in one write transaction and commits when fn returns
	// nil. Every change and its audit record go through one call, so they
	// commit together or not at all.
	WithTx(ctx context.Context, fn func(Tx) error) error

	// Request reads one request; an *Error with ErrNotFound when none.
	Request(ctx context.Context, id string) (Request, error)
	// ListRequests returns one page of requests, newest first, and the
	// cursor of the next page ("" on the last).
	ListRequests(ctx context.Context, f ListFilter) ([]Request, string, error)
	// CountRequests counts the requests in scope by side and state.
	CountRequests(ctx context.Context, scope Scope) (Counts, error)
	// History returns the transitions of a request, oldest first.
	History(ctx context.Context, requestID string) ([]HistoryEntry, error)
	// Authorities lists the central authorities by code.
	Authorities(ctx context.Context) ([]Authority, error)
	// AuditEntries returns one page of audit entries, newest first.
	AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, string, error)
	// Messages returns the thread of a request, oldest first.
	Messages(ctx context.Context, requestID string) ([]Message, error)
	// UnreadMessages counts, per request of ids, the messages not internal
	// and not of authority that nobody has read yet; requests without any
	// are left out.
	UnreadMessages(ctx context.Context, authority string, ids []string) (map[string]int, error)
	// VerifyAudit recomputes the whole audit chain.
	VerifyAudit(ctx context.Context) (AuditVerification, error)
	// Documents lists the documents of a request, oldest first.
	Documents(ctx context.Context, requestID string) ([]CaseDocument, error)
	// Document reads one document; an *Error with ErrNotFound when none.
	Document(ctx context.Context, id string) (CaseDocument, error)
}

// Tx is what a command needs inside its write transaction.
type Tx interface {
	// Request reads a request for update (locked on PostgreSQL).
	Request(ctx context.Context, id string) (Request, error)
	// Authority reads one authority; ErrNotFound when none.
	Authority(ctx context.Context, code string) (Authority, error)
	// NextSerial returns the next number of the authority's references of
	// that kind and year, starting at 1.
	NextSerial(ctx context.Context, authority string, kind Kind, year int) (int64, error)
	// Apply writes everything the change says, its audit entry included,
	// in this transaction: the request, its history, its outbox message and
	// timers, and the counts they move. If any part fails the whole
	// transaction fails: nothing happens without its record. The request
	// update fails with ErrVersionConflict if the stored version is no
	// longer c.OldVersion.
	Apply(ctx context.Context, c Change) error
}

// Policy decides who may see and do what. internal/auth implements it; the
// rules live there, once.
type Policy interface {
	// Scope tells which requests the actor may see.
	Scope(a Actor) Scope
	// MayCreate tells whether the actor may draft requests.
	MayCreate(a Actor) bool
	// MayEdit tells whether the actor may edit r (while it is a draft).
	MayEdit(a Actor, r Request) bool
	// MayFire tells whether the actor's role and side of r allow transition t.
	MayFire(a Actor, r Request, t Transition) bool
	// AuditScope tells which audit entries the actor may read: all of them,
	// those of one authority, or (ok false) none.
	AuditScope(a Actor) (authority string, all bool, ok bool)
	// MayReadDetail tells whether the actor may read the details of class c
	// of entry e, which AuditScope lets it read. An unclassified detail is
	// read by nobody.
	MayReadDetail(a Actor, e AuditEntry, c DetailClass) bool
	// MayExtendDeadline tells whether the actor may extend a deadline of r
	// that binds side binds.
	MayExtendDeadline(a Actor, r Request, binds Side) bool
	// MaySeeProtected tells whether the actor, who may see r, may see who
	// its protected persons are.
	MaySeeProtected(a Actor, r Request) bool
	// MayConfigureAuthorities tells whether the actor may change an
	// authority's settings.
	MayConfigureAuthorities(a Actor) bool
	// MayAddDocument tells whether the actor, who may see r, may add
	// documents to its case file and track their translations.
	MayAddDocument(a Actor, r Request) bool
	// MayPostMessage tells whether the actor, who may see r, may post to
	// its thread (and so leaves read receipts when reading it).
	MayPostMessage(a Actor, r Request) bool
	// MaySeeMessage tells whether the actor, who may see r, may see its
	// message m.
	MaySeeMessage(a Actor, r Request, m Message) bool
}

// Scope is the set of requests an actor may see: those its authority
// requests in one of RequestingStates, and those it is asked for in one of
// RequestedStates. An empty Authority sees nothing; an empty list none of
// that side.
type Scope struct {
	Authority        string
	RequestingStates []State
	RequestedStates  []State
}

// Includes reports whether r is in the scope.
func (s Scope) Includes(r Request) bool {
	if s.Authority == "" {
		return false
	}
	switch r.SideOf(s.Authority) {
	case SideRequesting:
		return containsState(s.RequestingStates, r.State)
	case SideRequested:
		return containsState(s.RequestedStates, r.State)
	}
	return false
}

func containsState(list []State, s State) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Direction narrows a list to one side of the caller's requests.
type Direction string

// The directions.
const (
	DirectionAny      Direction = ""
	DirectionIncoming Direction = "incoming" // the caller's authority is requested
	DirectionOutgoing Direction = "outgoing" // the caller's authority is requesting
)

// ListFilter selects a page of requests. Scope already includes the
// caller's visibility and direction; States and Kind narrow it further.
type ListFilter struct {
	Scope         Scope
	States        []State // any when empty
	Kind          Kind    // any when empty
	Counterpart   string  // the other side's authority code; any when empty
	TitleContains string  // case-insensitive substring of the title; any when empty
	// UrgentFirst orders urgent requests before the others (then newest
	// first) for a short worklist; such a list has one page only.
	UrgentFirst bool
	// DueFirst orders the requests by their next due time (NextDue),
	// earliest first, those without any after them in the list's other
	// order: the worklist's overdue first, then due soonest.
	DueFirst bool
	// DueBefore and DueFrom narrow the list to requests whose next due
	// time is before (overdue: before now) or from (due soon: from now,
	// with DueBefore then now + DueSoon) the time; zero for any.
	DueBefore, DueFrom time.Time
	Limit              int
	Cursor             string // opaque, from the previous page
}

// Counts is how many requests an authority has, by state, on each side:
// Incoming those it is asked for, Outgoing its own (drafts included).
type Counts struct {
	Incoming map[State]int
	Outgoing map[State]int
}

// AuditRecord is what a command asks to be written to the audit log; the
// store adds the sequence number and chains it. Only Change.AuditRecord
// builds one.
type AuditRecord struct {
	At        time.Time
	Actor     string // username, or the name tried at a failed log-in
	Authority string
	Action    string // auth.login, request.create, request.send, ...
	RequestID string
	Outcome   string // OutcomeOK or OutcomeDenied
	Details   map[string]any
}

// The outcomes of an audited action.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
)

// AuditEntry is a stored, chained audit record.
type AuditEntry struct {
	Seq       int64
	At        time.Time
	Actor     string
	Authority string
	Action    string
	RequestID string
	Outcome   string
	// Details is the canonical JSON exactly as hashed, as the store reads
	// it; Service.Audit leaves out what its reader may not read, and names
	// those keys in Redacted.
	Details  string
	Redacted []string
	PrevHash string
	Hash     string
}

// AuditFilter selects a page of audit entries.
type AuditFilter struct {
	Authority string // only entries of this authority; all when empty
	RequestID string
	Action    string
	Actor     string
	Outcome   string
	Limit     int
	Cursor    string
}

// AuditVerification is the result of recomputing the chain.
type AuditVerification struct {
	OK       bool
	Entries  int64
	Head     string
	BrokenAt int64  // sequence number of the first bad entry, 0 when OK
	Problem  string // what is wrong there
	// RequestID names the request whose row or history disagrees with its
	// audited changes, when that is the break; BrokenAt is then the last
	// entry recorded for it (1 when the log records none).
	RequestID string
	// UserID names the account whose row disagrees with its audited
	// changes, when that is the break.
	UserID string
}
