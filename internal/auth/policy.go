package auth

import (
	"slices"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Policy holds every authorization rule of mla-flow, each stated once. It
// implements workflow.Policy; the workflow service asks it before every read
// and every command, and views ask it which buttons to show.
//
// It is a stateless value: the rules depend only on the actor and the
// request, so it can be copied and shared freely.
type Policy struct{}

// NewPolicy returns the access policy of the contract.
func NewPolicy() Policy { return Policy{} }

var _ workflow.Policy = Policy{}

// visibleStates lists the states in which an authority may see a request,
// given its side of it.
//
// The requesting authority sees its requests in every state: they are its
// own cases. The requested authority sees a request once it has been sent:
// a draft is the requesting side's internal work, not yet a request between
// states (UNTOC Art. 18(13): a request exists between central authorities
// once transmitted). Anybody else sees nothing: case contents are shared
// only between the two authorities of a request.
func visibleStates(side workflow.Side) []workflow.State {
	switch side {
	case workflow.SideRequesting:
		return slices.Clone(workflow.States)
	case workflow.SideRequested:
		out := make([]workflow.State, 0, len(workflow.States)-1)
		for _, s := range workflow.States {
			if s != workflow.StateDrafted {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// readsCases reports whether the actor's role works with case contents at
// all. Officers, supervisors and auditors of an authority do; the admin
// manages users and reads the audit log but sees no case contents (least
// privilege: the platform operator is not a party to any request), and a
// trainer belongs to no authority.
func readsCases(a workflow.Actor) bool {
	if a.Authority == "" {
		return false
	}
	switch a.Role {
	case workflow.RoleOfficer, workflow.RoleSupervisor, workflow.RoleAuditor:
		return true
	}
	return false
}

// writesCases reports whether the actor's role may change requests at all.
// Auditors read, never write: an auditor who could act would audit their
// own actions.
func writesCases(a workflow.Actor) bool {
	return readsCases(a) && (a.Role == workflow.RoleOfficer || a.Role == workflow.RoleSupervisor)
}

// Scope tells which requests the actor may see: those its authority
// requests, in every state, and those it is asked for, once sent. Roles that
// see no case contents get the empty scope.
func (Policy) Scope(a workflow.Actor) workflow.Scope {
	if !readsCases(a) {
		return workflow.Scope{}
	}
	return workflow.Scope{
		Authority:        a.Authority,
		RequestingStates: visibleStates(workflow.SideRequesting),
		RequestedStates:  visibleStates(workflow.SideRequested),
	}
}

// MayCreate tells whether the actor may draft requests: officers and
// supervisors of an authority, since a draft is always their authority's
// outgoing request.
func (Policy) MayCreate(a workflow.Actor) bool { return writesCases(a) }

// MayEdit tells whether the actor may edit r: officers and supervisors of
// the requesting authority, whose draft it is. Whether r is still a draft is
// the workflow's question, not an access rule.
func (Policy) MayEdit(a workflow.Actor, r workflow.Request) bool {
	return writesCases(a) && r.SideOf(a.Authority) == workflow.SideRequesting
}

// MayFire tells whether the actor may fire transition t at r: the actor's
// role must be one the table names for t, and the actor's authority must
// play the side of r that t is for (only the requested state refuses, only
// the requesting one withdraws). Auditors never write, whatever the table
// says.
func (Policy) MayFire(a workflow.Actor, r workflow.Request, t workflow.Transition) bool {
	return writesCases(a) &&
		slices.Contains(t.Roles, a.Role) &&
		r.SideOf(a.Authority) == t.Side
}

// AuditScope tells which audit entries the actor may read. The admin reads
// all of them: operating the platform means answering for all of it. An
// auditor reads those of their own authority: auditing is done per state,
// and another state's entries would reveal its activity. Nobody else reads
// the log: officers and supervisors see their cases' history instead.
func (Policy) AuditScope(a workflow.Actor) (authority string, all bool, ok bool) {
	switch {
	case a.Role == workflow.RoleAdmin:
		return "", true, true
	case a.Role == workflow.RoleAuditor && a.Authority != "":
		return a.Authority, false, true
	}
	return "", false, false
}

// MayReadDetail tells whether the actor may read the details of class c of
// audit entry e, which AuditScope lets it read. Everybody who reads an
// entry reads its metadata: who did what, when, with which outcome. Case
// content and the digests of case text are read only by an auditor of the
// entry's authority: the entries of an authority's users concern only
// requests that authority is a party to (the workflow hides every other
// request before it records anything), whose contents its users see anyway;
// refusal grounds are the requested side's decision, shown to both sides.
// The admin reads no case contents (CONTRACT.md, section 3), so not through
// the log either. A detail nobody has classified is read by nobody, so that
// a new key cannot leak before somebody decides what it is.
func (Policy) MayReadDetail(a workflow.Actor, e workflow.AuditEntry, c workflow.DetailClass) bool {
	switch c {
	case workflow.DetailMeta:
		return true
	case workflow.DetailCase, workflow.DetailDigest:
		return readsCases(a) && a.Role == workflow.RoleAuditor && e.Authority == a.Authority
	}
	return false
}

// MayManageUsers tells whether the actor may create, list and change
// accounts: the admin only. Authorities do not manage their own users, so
// that nobody can grant themselves a role on a counterpart's cases.
func (Policy) MayManageUsers(a workflow.Actor) bool { return a.Role == workflow.RoleAdmin }

// MayRunExercises tells whether the actor manages training exercises
// (CONTRACT 7): creates them, runs their clocks, sends injects, reads their
// debriefs and deletes them. The trainer alone, who belongs to no
// authority and so sees no live case.
func (Policy) MayRunExercises(a workflow.Actor) bool { return a.Role == workflow.RoleTrainer }

// MayExtendDeadline tells whether the actor may extend a deadline of r that
// binds side binds: a supervisor of that side, who answers for meeting it.
// The other side may ask for more time, not grant it to itself.
func (Policy) MayExtendDeadline(a workflow.Actor, r workflow.Request, binds workflow.Side) bool {
	return writesCases(a) && a.Role == workflow.RoleSupervisor && r.SideOf(a.Authority) == binds
}

// MaySeeProtected tells whether the actor, who may see r, may see who its
// protected persons are: the officers and supervisors of either side, who
// work the case. Auditors read the case but need not know whom it shields
// (victim protection, Palermo Protocol Art. 6); nobody else sees r at all.
func (Policy) MaySeeProtected(a workflow.Actor, r workflow.Request) bool {
	return writesCases(a) && r.SideOf(a.Authority) != workflow.SideNone
}

// MayManageWebhooks tells whether the actor may create, list, delete and
// re-send the webhooks of authority (CONTRACT 8): a supervisor of that
// authority, who answers for what its systems are told, or the admin, who
// operates the platform and connects an authority's systems for it. A
// webhook tells only what the authority may see (workflow.Audience), so
// the admin learns nothing of a case by making one: the messages hold no
// case text.
func (Policy) MayManageWebhooks(a workflow.Actor, authority string) bool {
	if a.Role == workflow.RoleAdmin {
		return true
	}
	return a.Role == workflow.RoleSupervisor && a.Authority != "" && a.Authority == authority
}

// MayConfigureAuthorities tells whether the actor may change an authority's
// settings (its completeness policy): the admin, who operates the platform.
func (Policy) MayConfigureAuthorities(a workflow.Actor) bool { return a.Role == workflow.RoleAdmin }

// MayAddDocument tells whether the actor, who may see r, may add documents
// to its case file and track their translations: the officers and
// supervisors of either side, each of which files its part (the requesting
// side its letter and annexes, the requested side its evidence and
// execution report; UNTOC 18(14) and 18(17)). What they add is seen by
// whoever sees r: the case file's visibility is the request's, so the
// requesting side's drafts reach the requested side when r is sent.
func (Policy) MayAddDocument(a workflow.Actor, r workflow.Request) bool {
	return writesCases(a) && r.SideOf(a.Authority) != workflow.SideNone
}

// MayPostMessage tells whether the actor, who may see r, may post to its
// thread: the officers and supervisors of its two authorities, who work the
// case. Auditors read, never write, and leave no read receipt.
func (Policy) MayPostMessage(a workflow.Actor, r workflow.Request) bool {
	return writesCases(a) && r.SideOf(a.Authority) != workflow.SideNone
}

// MaySeeMessage tells whether the actor, who may see r, may see its message
// m: whoever sees the request sees its thread, except the internal
// messages (notes, and what was posted on the draft), which only the
// author's authority ever sees.
func (p Policy) MaySeeMessage(a workflow.Actor, r workflow.Request, m workflow.Message) bool {
	return p.Scope(a).Includes(r) && (!m.Internal || m.Authority == a.Authority)
}

// MayManageAPIKeys tells whether the actor may create, list and revoke API
// keys: the admin only, as for accounts, since a key is an account of a
// system. A key itself never may: no key acts as admin (MayKeyActAs).
func (Policy) MayManageAPIKeys(a workflow.Actor) bool { return a.Role == workflow.RoleAdmin }

// MayKeyActAs tells whether an API key may act as a user of role r: the
// roles that work an authority's cases (officer, supervisor, auditor). Not
// admin: a leaked key that could manage users and mint keys would hand over
// the whole platform, and systems exchange cases, they do not operate it.
// Not trainer: exercises are run by people, and hand out trainees'
// passwords.
func (Policy) MayKeyActAs(r workflow.Role) bool {
	return r == workflow.RoleOfficer || r == workflow.RoleSupervisor || r == workflow.RoleAuditor
}
