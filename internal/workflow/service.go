package workflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"
)

// Service creates, edits, moves and reads requests on behalf of an actor.
// The REST API, the web pages and the command line all go through it, so
// every rule is applied the same way whichever door a user comes in by.
type Service struct {
	store       Store
	policy      Policy
	instruments *Catalog
	// blobs holds the bytes of documents, at most maxDocument each
	// (WithDocuments).
	blobs       Blobs
	maxDocument int64
	now         func() time.Time
	newID       func() string
	// verifying coalesces concurrent chain verifications into one pass:
	// any user may ask, and a full pass reads the whole log.
	verifying singleflight.Group
}

// Option configures a Service.
type Option func(*Service)

// WithClock makes the service read time from now; tests and training
// exercises control the clock this way.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// NewService returns a service over the store, deciding access with policy.
func NewService(store Store, policy Policy, opts ...Option) *Service {
	s := &Service{store: store, policy: policy, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.newID == nil {
		// On the service's clock, so that a world on a clock of its own
		// (a training exercise) numbers its requests in its own time.
		s.newID = func() string { return NewIDAt(s.now()) }
	}
	return s
}

// Policy returns the access policy the service applies, so that views can
// ask the same questions (which buttons to show) without a second rule.
func (s *Service) Policy() Policy { return s.policy }

// clock reads the time as it is stored: UTC at microsecond precision, the
// finest both SQLite and PostgreSQL keep, so that an answer shows exactly
// what a later read will.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

var errRequestNotFound = Errorf(ErrNotFound, "request not found")

// Create drafts a new request of the actor's authority.
func (s *Service) Create(ctx context.Context, a Actor, d Draft) (Request, error) {
	return s.create(ctx, a, s.newID(), d)
}

// CreateWithID is Create with the request's id given by the caller, which
// must make it unique (DerivedID). The simulated authorities of a training
// exercise name what they create after what causes it, so that a repeat,
// or a second server doing the same move, fails on the taken id and
// creates nothing twice.
func (s *Service) CreateWithID(ctx context.Context, a Actor, id string, d Draft) (Request, error) {
	return s.create(ctx, a, id, d)
}

func (s *Service) create(ctx context.Context, a Actor, id string, d Draft) (Request, error) {
	now := s.clock()
	r := Request{
		ID: id, Kind: d.Kind, State: StateDrafted, Version: 1,
		RequestingAuthority: a.Authority, RequestedAuthority: d.RequestedAuthority,
		Title: d.Title, Summary: d.Summary, LegalBasis: d.LegalBasis,
		Offences: d.Offences, Measures: d.Measures, Urgency: d.Urgency, UrgencyReason: d.UrgencyReason,
		DueDate: d.DueDate, PersonSought: nonZero(d.PersonSought), Warrant: nonZero(d.Warrant),
		Instrument: d.Instrument, Purpose: d.Purpose, CreatedBy: a.Username,
		CreatedAt: now, UpdatedAt: now,
	}
	persons, err := assignPersonIDs(nil, d.Persons)
	if err != nil {
		return Request{}, err
	}
	r.Persons = persons
	if r.Urgency == "" {
		r.Urgency = UrgencyNormal
	}
	const action = ActionCreate
	if !s.policy.MayCreate(a) {
		err := Errorf(ErrForbidden, "your role may not draft requests")
		s.recordDenied(ctx, a, action, "", err, nil)
		return Request{}, err
	}
	err = s.store.WithTx(ctx, func(tx Tx) error {
		if err := s.checkContent(ctx, tx, r, func(string) bool { return true }); err != nil {
			return err
		}
		serial, err := tx.NextSerial(ctx, r.RequestingAuthority, r.Kind, now.Year())
		if err != nil {
			return fmt.Errorf("next reference: %w", err)
		}
		r.Reference = FormatReference(r.RequestingAuthority, r.Kind, now.Year(), serial)
		if err := tx.Apply(ctx, Created(s.store, a, r)); err != nil {
			return fmt.Errorf("create request: %w", err)
		}
		return nil
	})
	if err != nil {
		s.recordDenied(ctx, a, action, "", err, map[string]any{"kind": truncate(string(d.Kind), 40)})
		return Request{}, err
	}
	return r, nil
}

// Update edits a draft. version, when given, must be the current one.
func (s *Service) Update(ctx context.Context, a Actor, id string, ch Changes, version *int) (Request, error) {
	return s.UpdateIfMatch(ctx, a, id, ch, version, nil)
}

// UpdateIfMatch is Update under an If-Match precondition (nil for none),
// checked first once the request proved visible: a caller that says which
// version it edits learns it is stale (412) before anything else.
func (s *Service) UpdateIfMatch(ctx context.Context, a Actor, id string, ch Changes, version *int, ifMatch *IfMatch) (Request, error) {
	var out Request
	err := s.onVisible(ctx, a, id, ActionUpdate, func(tx Tx, r Request) error {
		if err := ifMatch.check(r); err != nil {
			return err
		}
		if err := s.Editable(a, r); err != nil {
			return err
		}
		if version != nil && *version != r.Version {
			return Errorf(ErrVersionConflict, "the request is at version %d, not %d", r.Version, *version)
		}
		if ch.Kind != nil && *ch.Kind != r.Kind {
			return Invalid("kind", "cannot be changed; draft a new request of the other kind")
		}
		if ch.Empty() {
			out = r
			return nil
		}
		next := ch.apply(r)
		if ch.Persons != nil {
			persons, err := assignPersonIDs(r.Persons, *ch.Persons)
			if err != nil {
				return err
			}
			next.Persons = persons
		}
		set := ch.fieldNames()
		if err := s.checkContent(ctx, tx, next, func(f string) bool { return slices.Contains(set, f) }); err != nil {
			return err
		}
		next.Version = r.Version + 1
		next.UpdatedAt = s.clock()
		if err := tx.Apply(ctx, Edited(s.store, a, r, next, ch.fieldNames())); err != nil {
			return err
		}
		out = next
		return nil
	}, nil)
	return out, err
}

// EventInput is an event fired at a request with its payload.
type EventInput struct {
	Event   Event
	Comment string
	Grounds []string
	// Documents are the ids of the evidence a delivery hands over: documents
	// of the request that the requested side uploaded (deliver only).
	Documents []string
	// Reference is the requested authority's own reference (acknowledge).
	Reference string
	// Consent records that the person sought consents to surrender
	// (acknowledge of an extradition).
	Consent bool
	Version *int // when given, must be the request's current version
	// IfMatch is the If-Match precondition (nil for none), checked first
	// once the request proved visible.
	IfMatch *IfMatch
}

// Fire moves a request through the workflow. The checks run in the order
// the API documents: visibility (404), the If-Match precondition (412), a
// known event (422), the state (409),
// the actor's side and role (403), the version (409), the payload (422).
// Refused attempts are audited too, in their own transaction.
func (s *Service) Fire(ctx context.Context, a Actor, id string, in EventInput) (Request, error) {
	var out Request
	// The case file is read before the transaction, so that the
	// transaction holds no second connection; what is checked of a
	// document (its request, type and uploader) never changes. It is only
	// consulted once the request has proved visible.
	var caseFile []CaseDocument
	var caseFileErr error
	if len(in.Documents) > 0 && in.Event == EventDeliver {
		caseFile, caseFileErr = s.store.Documents(ctx, id)
	}
	action := "request.event"
	if _, known := Lookup(in.Event); known {
		action = EventAction(in.Event)
	}
	err := s.onVisible(ctx, a, id, action, func(tx Tx, r Request) error {
		if err := in.IfMatch.check(r); err != nil {
			return err
		}
		t, known := Lookup(in.Event)
		if !known {
			return Invalid("event", "unknown event")
		}
		to, err := Advance(ctx, r.State, in.Event)
		if err != nil {
			return err
		}
		if !s.policy.MayFire(a, r, t) {
			return Errorf(ErrForbidden, "%s is for the %s side's %s", t.Event, t.Side, joinRoles(t.Roles))
		}
		if in.Version != nil && *in.Version != r.Version {
			return Errorf(ErrVersionConflict, "the request is at version %d, not %d", r.Version, *in.Version)
		}
		if err := s.validatePayload(t, r, in); err != nil {
			return err
		}
		if caseFileErr != nil {
			return fmt.Errorf("read the case file of %s: %w", r.ID, caseFileErr)
		}
		if err := checkDelivered(r, caseFile, in.Documents); err != nil {
			return err
		}
		now := s.clock()
		if t.Event == EventSend {
			if err := s.checkSendable(ctx, tx, r, now); err != nil {
				return err
			}
		}
		next := r
		next.State, next.Version, next.UpdatedAt = to, r.Version+1, now
		if in.Reference != "" {
			next.RequestedReference = in.Reference
		}
		h := HistoryEntry{
			RequestID: r.ID, Event: t.Event, From: r.State, To: to, Actor: a.Username,
			Authority: a.Authority, At: now, Comment: in.Comment, Grounds: in.Grounds,
			Documents: in.Documents,
		}
		next.Deadlines = s.instruments.AdvanceDeadlines(next, h, in.Consent)
		c := Fired(s.store, a, r, next, h)
		if in.Reference != "" {
			c.Details["requested_reference"] = in.Reference
		}
		if in.Consent {
			c.Details["consent"] = true
		}
		if err := tx.Apply(ctx, c); err != nil {
			return err
		}
		out = next
		return nil
	}, func(r Request) map[string]any {
		d := DeniedEventDetails(in.Event, r.State)
		if in.Event == EventRefuse && len(in.Grounds) > 0 && len(in.Grounds) <= MaxGrounds {
			// The grounds tried are codes, not case text: a debrief (or an
			// auditor) can tell a ground the instrument does not admit.
			tried := make([]string, len(in.Grounds))
			for i, g := range in.Grounds {
				tried[i] = truncate(g, 64)
			}
			d["grounds"] = tried
		}
		return d
	})
	return out, err
}

// validatePayload checks what the event carries against what its table row
// requires; grounds must apply to the kind of request, and to its
// instrument when it names one.
func (s *Service) validatePayload(t Transition, r Request, in EventInput) error {
	k := r.Kind
	errs := fieldErrors{}
	switch {
	case in.Reference != "" && t.Event != EventAcknowledge:
		errs.add("reference", "only an acknowledgement carries the requested authority's reference")
	case in.Reference != "":
		checkText(errs, "reference", in.Reference, MaxShortText)
	}
	switch {
	case in.Consent && t.Event != EventAcknowledge:
		errs.add("consent", "only an acknowledgement records consent to surrender")
	case in.Consent && k != KindExtradition:
		errs.add("consent", "consent to surrender applies to extradition requests only")
	}
	if t.NeedsField(FieldComment) && strings.TrimSpace(in.Comment) == "" {
		errs.add("comment", "is required for "+string(t.Event))
	}
	checkText(errs, "comment", in.Comment, MaxComment)
	switch {
	case len(in.Documents) > 0 && t.Event != EventDeliver:
		errs.add("documents", "only a delivery carries documents")
	case len(in.Documents) > MaxDelivered:
		errs.add("documents", fmt.Sprintf("at most %d documents", MaxDelivered))
	}
	switch {
	case t.NeedsField(FieldGrounds) && len(in.Grounds) == 0:
		errs.add("grounds", "at least one refusal ground is required")
	case !t.NeedsField(FieldGrounds) && len(in.Grounds) > 0:
		errs.add("grounds", "only a refusal carries grounds")
	case len(in.Grounds) > MaxGrounds:
		errs.add("grounds", fmt.Sprintf("at most %d grounds", MaxGrounds))
	default:
		seen := map[string]bool{}
		for _, g := range in.Grounds {
			applies, known := GroundApplies(g, k)
			switch {
			case !known:
				errs.add("grounds", fmt.Sprintf("unknown ground %q", truncate(g, 40)))
			case !applies:
				errs.add("grounds", fmt.Sprintf("%s does not apply to %s requests", g, k))
			case !s.instruments.admits(r, g):
				errs.add("grounds", fmt.Sprintf("%s is not a ground of %s", g, s.InstrumentLabel(r.Instrument)))
			case seen[g]:
				errs.add("grounds", fmt.Sprintf("%s is listed twice", g))
			}
			seen[g] = true
		}
	}
	return errs.err()
}

// checkDelivered checks the documents a delivery hands over: each a
// distinct document of r's case file (caseFile), of a type that is evidence
// or an execution report, uploaded by the requested side, which executes
// the request (CONTRACT 6: execution in part). An id that names no document
// of r gets the same answer whether it names nothing or a document of
// another request, so that nothing is disclosed.
func checkDelivered(r Request, caseFile []CaseDocument, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	byID := make(map[string]CaseDocument, len(caseFile))
	for _, d := range caseFile {
		byID[d.ID] = d
	}
	errs := fieldErrors{}
	seen := map[string]bool{}
	for _, id := range ids {
		d, ok := byID[id]
		switch {
		case !ok || d.RequestID != r.ID:
			errs.add("documents", fmt.Sprintf("%q is no document of this request", truncate(id, 64)))
		case seen[id]:
			errs.add("documents", fmt.Sprintf("%s is listed twice", id))
		case d.Type != DocEvidence && d.Type != DocExecutionReport:
			errs.add("documents", fmt.Sprintf("%s is a document of type %s: a delivery hands over evidence or an execution report", id, d.Type))
		case d.Authority != r.RequestedAuthority:
			errs.add("documents", fmt.Sprintf("%s was not uploaded by the requested side, which delivers", id))
		}
		seen[id] = true
	}
	return errs.err()
}

// checkContent validates a request's content, that its requested
// authority exists and that its instrument serves its kind. set tells which
// fields the command sets (all for a new draft).
func (s *Service) checkContent(ctx context.Context, tx Tx, r Request, set func(string) bool) error {
	errs := validateContent(r, s.clock(), set)
	if _, bad := errs["instrument"]; !bad && r.Instrument != "" {
		switch in, ok := s.instruments.Instrument(r.Instrument); {
		case !ok:
			errs.add("instrument", "no such instrument; GET /instruments lists them")
		case !in.Serves(r.Kind):
			errs.add("instrument", fmt.Sprintf("%s does not serve %s requests", in.Label, r.Kind))
		}
	}
	if _, bad := errs["requested_authority"]; !bad {
		if _, err := tx.Authority(ctx, r.RequestedAuthority); err != nil {
			if ErrorCode(err) != ErrNotFound {
				return fmt.Errorf("load authority: %w", err)
			}
			errs.add("requested_authority", "no such authority")
		}
	}
	return errs.err()
}

// visible loads a request and hides it, as not found, from an actor who may
// not see it: a 404 for a hidden request is the same as for a missing one.
func (s *Service) visible(ctx context.Context, load func(context.Context, string) (Request, error), a Actor, id string) (Request, error) {
	if TextProblem(id) != "" {
		// No request has such an id, and PostgreSQL would refuse to look
		// it up.
		return Request{}, errRequestNotFound
	}
	r, err := load(ctx, id)
	if err != nil {
		if ErrorCode(err) == ErrNotFound {
			return Request{}, errRequestNotFound
		}
		return Request{}, fmt.Errorf("load request: %w", err)
	}
	if !s.policy.Scope(a).Includes(r) {
		return Request{}, errRequestNotFound
	}
	return r, nil
}

// recordDenied writes the audit entry of a refused attempt (403, 409, 412, 422)
// in its own short transaction. Failing to record it does not change the
// answer, which is already a refusal.
// onVisible runs fn in a transaction on the request id as a may see it: a
// request hidden from a answers not found, as a missing one, and is not
// recorded (nothing was tried on a request a does not know of); a refusal
// fn returns is recorded as an attempt at action (recordDenied), with
// details of the request as fn found it (none when details is nil). The
// commands on one request share it, so that the order "visibility first"
// and the record of refusals are one rule.
func (s *Service) onVisible(ctx context.Context, a Actor, id, action string, fn func(tx Tx, r Request) error, details func(r Request) map[string]any) error {
	var seen *Request
	err := s.store.WithTx(ctx, func(tx Tx) error {
		r, err := s.visible(ctx, tx.Request, a, id)
		if err != nil {
			return err
		}
		seen = &r
		return fn(tx, r)
	})
	if err != nil && seen != nil {
		var d map[string]any
		if details != nil {
			d = details(*seen)
		}
		s.recordDenied(ctx, a, action, id, err, d)
	}
	return err
}

func (s *Service) recordDenied(ctx context.Context, a Actor, action, requestID string, cause error, details map[string]any) {
	code := ErrorCode(cause)
	switch code {
	case ErrForbidden, ErrInvalidTransition, ErrVersionConflict, ErrPreconditionFailed, ErrValidation:
	default:
		return
	}
	c := Denied(a, s.clock(), action, requestID, code, details)
	ctx = context.WithoutCancel(ctx) // the refusal is recorded even if the client has gone
	_ = s.store.WithTx(ctx, func(tx Tx) error { return tx.Apply(ctx, c) })
}

// filter is a text a list is filtered by, with its name in the API.
type filter struct{ name, value string }

// checkFilters refuses, as a bad request, a filter that is not acceptable
// text (TextProblem): no stored value can match it, and PostgreSQL would
// refuse the query.
func checkFilters(filters ...filter) error {
	for _, f := range filters {
		if p := TextProblem(f.value); p != "" {
			return &Error{Code: ErrBadRequest, Message: "filter " + f.name + " " + p, Fields: map[string]string{f.name: p}}
		}
	}
	return nil
}

// Get returns one request the actor may see.
func (s *Service) Get(ctx context.Context, a Actor, id string) (Request, error) {
	return s.visible(ctx, s.store.Request, a, id)
}

// ListQuery is what a caller asks of the request list.
type ListQuery struct {
	States      []State
	Kind        Kind
	Direction   Direction
	Counterpart string // the other side's authority code
	Text        string // case-insensitive substring of the title
	// Deadline narrows the list to requests with a deadline overdue, or due
	// within DueSoon; SortDue orders it by the next due time.
	Deadline DeadlineFilter
	SortDue  bool
	Limit    int
	Cursor   string
}

// DeadlineFilter narrows a list by the requests' deadlines.
type DeadlineFilter string

// The deadline filters.
const (
	DeadlineAny     DeadlineFilter = ""
	DeadlineDue     DeadlineFilter = "overdue"  // some deadline runs past its due time
	DeadlineDueSoon DeadlineFilter = "due_soon" // the next falls due within DueSoon
)

// MaxSearchText bounds the title search text.
const MaxSearchText = 100

// DefaultLimit and MaxLimit bound list pages.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// List returns the requests the actor may see, newest first.
func (s *Service) List(ctx context.Context, a Actor, q ListQuery) ([]Request, string, error) {
	scope := s.policy.Scope(a)
	switch q.Direction {
	case DirectionIncoming:
		scope.RequestingStates = nil
	case DirectionOutgoing:
		scope.RequestedStates = nil
	}
	if q.Limit <= 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	if scope.Authority == "" {
		return []Request{}, "", nil
	}
	if err := checkFilters(filter{"q", q.Text}, filter{"counterpart", q.Counterpart}, filter{"cursor", q.Cursor}); err != nil {
		return nil, "", err
	}
	if utf8.RuneCountInString(q.Text) > MaxSearchText {
		return nil, "", Errorf(ErrBadRequest, "the search text is longer than %d characters", MaxSearchText)
	}
	f := ListFilter{
		Scope: scope, States: q.States, Kind: q.Kind, Counterpart: q.Counterpart,
		TitleContains: strings.TrimSpace(q.Text), DueFirst: q.SortDue, Limit: q.Limit, Cursor: q.Cursor,
	}
	now := s.clock()
	switch q.Deadline {
	case DeadlineDue:
		f.DueBefore = now
	case DeadlineDueSoon:
		f.DueFrom, f.DueBefore = now, now.Add(DueSoon)
	}
	return s.store.ListRequests(ctx, f)
}

// Counts counts the requests the actor may see, by side and state.
func (s *Service) Counts(ctx context.Context, a Actor) (Counts, error) {
	scope := s.policy.Scope(a)
	if scope.Authority == "" {
		return Counts{Incoming: map[State]int{}, Outgoing: map[State]int{}}, nil
	}
	return s.store.CountRequests(ctx, scope)
}

// Waiting lists the requests on which the actor has the next move, those
// with the nearest deadline first (overdue ones, then due soonest), then
// urgent ones, then newest: those whose state awaits the actor's side
// (AwaitingSide) and from which the actor's role may fire an event.
func (s *Service) Waiting(ctx context.Context, a Actor, limit int) ([]Request, error) {
	scope := s.policy.Scope(a)
	if scope.Authority == "" {
		return []Request{}, nil
	}
	scope.RequestingStates = s.awaiting(a, SideRequesting, scope.RequestingStates)
	scope.RequestedStates = s.awaiting(a, SideRequested, scope.RequestedStates)
	if len(scope.RequestingStates)+len(scope.RequestedStates) == 0 {
		return []Request{}, nil
	}
	if limit <= 0 || limit > MaxLimit {
		limit = DefaultLimit
	}
	list, _, err := s.store.ListRequests(ctx, ListFilter{Scope: scope, DueFirst: true, UrgentFirst: true, Limit: limit})
	return list, err
}

// awaiting keeps the states of visible in which side has the next move and
// the actor, playing that side, may fire some event. The Policy answers
// for a probe request, so that the rule stays in one place.
func (s *Service) awaiting(a Actor, side Side, visible []State) []State {
	var out []State
	for _, st := range visible {
		if AwaitingSide(st) != side {
			continue
		}
		probe := Request{State: st}
		if side == SideRequesting {
			probe.RequestingAuthority = a.Authority
		} else {
			probe.RequestedAuthority = a.Authority
		}
		if len(s.AllowedEvents(a, probe)) > 0 {
			out = append(out, st)
		}
	}
	return out
}

// History returns the transitions of a request the actor may see.
func (s *Service) History(ctx context.Context, a Actor, id string) ([]HistoryEntry, error) {
	if _, err := s.Get(ctx, a, id); err != nil {
		return nil, err
	}
	return s.store.History(ctx, id)
}

// AllowedEvents lists the events the actor may fire at r now, in table
// order: those that leave r's state and that the policy grants.
func (s *Service) AllowedEvents(a Actor, r Request) []Event {
	out := []Event{}
	for _, t := range Table {
		if t.Leaves(r.State) && s.policy.MayFire(a, r, t) {
			out = append(out, t.Event)
		}
	}
	return out
}

// Authorities lists the central authorities.
func (s *Service) Authorities(ctx context.Context) ([]Authority, error) {
	return s.store.Authorities(ctx)
}

// Audit returns a page of the audit entries the actor may read.
func (s *Service) Audit(ctx context.Context, a Actor, f AuditFilter) ([]AuditEntry, string, error) {
	authority, all, ok := s.policy.AuditScope(a)
	if !ok {
		return nil, "", Errorf(ErrForbidden, "only auditors and the administrator read the audit log")
	}
	err := checkFilters(filter{"request_id", f.RequestID}, filter{"action", f.Action}, filter{"actor", f.Actor},
		filter{"outcome", f.Outcome}, filter{"cursor", f.Cursor})
	if err != nil {
		return nil, "", err
	}
	if !all {
		f.Authority = authority
	}
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	list, next, err := s.store.AuditEntries(ctx, f)
	if err != nil {
		return nil, "", err
	}
	for i, e := range list {
		list[i] = s.readable(a, e)
	}
	return list, next, nil
}

// readable is e as a reads it: with only the details the Policy lets a
// read of e, and the names of the others in Redacted. Every view of the
// log (the API, the pages) reads it through Audit, so none can show more.
// The stored entry, which the chain seals, stays as it is.
func (s *Service) readable(a Actor, e AuditEntry) AuditEntry {
	may := func(c DetailClass) bool { return s.policy.MayReadDetail(a, e, c) }
	out := e
	out.Details, out.Redacted = ReadableDetails(e.Details, may)
	return out
}

// VerifyAudit recomputes the audit chain for someone who may read the audit
// log: the entry count and head it reports measure the whole platform's
// activity, which is nobody else's business.
func (s *Service) VerifyAudit(ctx context.Context, a Actor) (AuditVerification, error) {
	if _, _, ok := s.policy.AuditScope(a); !ok {
		return AuditVerification{}, Errorf(ErrForbidden, "only auditors and the administrator verify the audit log")
	}
	return s.VerifyChain(ctx)
}

// VerifyChain recomputes the audit chain for the operator (the command line,
// start-up). Concurrent passes are coalesced into one.
func (s *Service) VerifyChain(ctx context.Context) (AuditVerification, error) {
	v, err, _ := s.verifying.Do("verify", func() (any, error) {
		return s.store.VerifyAudit(context.WithoutCancel(ctx))
	})
	if err != nil {
		return AuditVerification{}, err
	}
	return v.(AuditVerification), nil
}

func joinRoles(roles []Role) string {
	parts := make([]string, len(roles))
	for i, r := range roles {
		parts[i] = string(r)
	}
	return strings.Join(parts, " or ")
}

// NewID returns a new opaque identifier: 26 characters of Crockford base32,
// a millisecond timestamp then 80 random bits, so identifiers sort roughly by
// creation and cannot be guessed.
func NewID() string { return NewIDAt(time.Now()) }

// NewIDAt is NewID for an identifier made at the instant at.
func NewIDAt(at time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[6:]); err != nil {
		panic(errors.New("no randomness: " + err.Error()))
	}
	return encodeID(at, b)
}

// DerivedID is an identifier of NewID's form whose 80 bits after the
// timestamp are taken from the SHA-256 of key instead of chance: whoever
// derives it from the same instant and key gets the same identifier (see
// CreateWithID), and Suffix tells which key made it.
func DerivedID(at time.Time, key string) string {
	var b [16]byte
	sum := sha256.Sum256([]byte(key))
	copy(b[6:], sum[:10])
	return encodeID(at, b)
}

// IDSuffix is the part of an identifier after its timestamp: the 80 bits
// that DerivedID derives from its key (the last 16 characters).
func IDSuffix(id string) string {
	if len(id) < 16 {
		return id
	}
	return id[len(id)-16:]
}

// encodeID writes the millisecond timestamp at into b's first six bytes
// and b in Crockford base32.
func encodeID(at time.Time, b [16]byte) string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	ms := uint64(at.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	// 128 bits → 26 base32 digits (the first carries 3 bits).
	out := make([]byte, 26)
	var acc uint64
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
		uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	for i := 25; i >= 0; i-- {
		acc = lo & 31
		out[i] = alphabet[acc]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// Editable tells whether a may edit r now: nil, ErrForbidden without the
// right (the Policy's), or ErrInvalidTransition once r is no longer a
// draft. Update asks it, and so does whoever offers an edit.
func (s *Service) Editable(a Actor, r Request) error {
	if !s.policy.MayEdit(a, r) {
		return Errorf(ErrForbidden, "only the requesting authority's officers and supervisors edit its drafts")
	}
	if r.State != StateDrafted {
		return Errorf(ErrInvalidTransition, "only drafts can be edited; this request is %s", r.State)
	}
	return nil
}

// FormatReference is the reference of the serial-th request of kind k that
// authority drafted in year, e.g. IT-MLA-2026-000042.
func FormatReference(authority string, k Kind, year int, serial int64) string {
	return fmt.Sprintf("%s-%s-%d-%06d", authority, k.referenceCode(), year, serial)
}
