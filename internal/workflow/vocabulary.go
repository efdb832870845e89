package workflow

// Kind is the kind of a request. Both kinds share one state machine; they
// differ in the refusal grounds that apply and in the details they carry.
type Kind string

// The kinds of request.
const (
	KindMLA         Kind = "mla"         // mutual legal assistance
	KindExtradition Kind = "extradition" // surrender of a person
)

// Kinds lists every kind, in the order documents show them.
var Kinds = []Kind{KindMLA, KindExtradition}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindMLA || k == KindExtradition }

// referenceCode is the kind's part of a human reference (IT-MLA-2026-000042).
func (k Kind) referenceCode() string {
	if k == KindExtradition {
		return "EXT"
	}
	return "MLA"
}

// State is where a request stands in its workflow.
type State string

// The states of a request. Executed, refused and withdrawn are final.
const (
	StateDrafted       State = "drafted"
	StateSent          State = "sent"
	StateAcknowledged  State = "acknowledged"
	StateInfoRequested State = "info_requested"
	StatePostponed     State = "postponed" // execution put off (UNTOC Art. 18(25))
	StateExecuted      State = "executed"
	StateRefused       State = "refused"
	StateWithdrawn     State = "withdrawn"
)

// States lists every state in lifecycle order.
var States = []State{
	StateDrafted, StateSent, StateAcknowledged, StateInfoRequested, StatePostponed,
	StateExecuted, StateRefused, StateWithdrawn,
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, known := range States {
		if s == known {
			return true
		}
	}
	return false
}

// Final reports whether no event leaves s.
func (s State) Final() bool {
	return s == StateExecuted || s == StateRefused || s == StateWithdrawn
}

// Event is something an authority does to a request.
type Event string

// The events of the workflow.
const (
	EventSend        Event = "send"
	EventAcknowledge Event = "acknowledge"
	EventRequestInfo Event = "request_info"
	EventProvideInfo Event = "provide_info"
	EventExecute     Event = "execute"
	EventRefuse      Event = "refuse"
	EventWithdraw    Event = "withdraw"
	EventPostpone    Event = "postpone"
	EventResume      Event = "resume"
	// EventDeliver records execution in part: evidence handed over while
	// the request stays open (DOMAIN.md: "possibly in batches").
	EventDeliver Event = "deliver"
)

// Side is the part an authority plays in one request.
type Side string

// The two sides of a request; SideNone is for anybody else.
const (
	SideRequesting Side = "requesting"
	SideRequested  Side = "requested"
	SideNone       Side = ""
)

// Role is what a user may do in general; the Policy combines it with the
// user's side of a request.
type Role string

// The roles. Officers and supervisors belong to an authority and work on its
// requests; auditors of an authority only read; admin manages users and reads
// the audit log but no case contents; trainers run exercises.
const (
	RoleOfficer    Role = "officer"
	RoleSupervisor Role = "supervisor"
	RoleAuditor    Role = "auditor"
	RoleAdmin      Role = "admin"
	RoleTrainer    Role = "trainer"
)

// Roles lists every role.
var Roles = []Role{RoleOfficer, RoleSupervisor, RoleAuditor, RoleAdmin, RoleTrainer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, known := range Roles {
		if r == known {
			return true
		}
	}
	return false
}

// NeedsAuthority reports whether users of this role must belong to an
// authority (and users of the other roles must not).
func (r Role) NeedsAuthority() bool {
	return r == RoleOfficer || r == RoleSupervisor || r == RoleAuditor
}

// Field names a piece of payload an event may have to carry.
type Field string

// The payload fields of an event.
const (
	FieldComment Field = "comment"
	FieldGrounds Field = "grounds"
)

// The optional payload fields of an event: acknowledge's reference (the
// requested authority's own) and consent (of the person sought, to
// surrender: it shortens an EAW decision's deadline).
const (
	FieldReference Field = "reference"
	FieldConsent   Field = "consent"
)

// Urgency tells how fast a request should be handled.
type Urgency string

// The urgencies.
const (
	UrgencyNormal Urgency = "normal"
	UrgencyUrgent Urgency = "urgent"
)

// Valid reports whether u is a known urgency.
func (u Urgency) Valid() bool { return u == UrgencyNormal || u == UrgencyUrgent }
