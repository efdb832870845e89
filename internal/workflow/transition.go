package workflow

import (
	"context"
	"errors"
	"slices"

	"github.com/looplab/fsm"
)

// Transition is one row of the workflow table: the event, the states it may
// leave, where it leads, which side of the request fires it, which roles on
// that side may, and what payload it must carry.
type Transition struct {
	Event Event
	From  []State
	To    State
	Side  Side
	Roles []Role
	Needs []Field
}

// Table is the workflow, the single source of truth from which the FSM, the
// /workflows document, allowed_events, payload validation, the UI's buttons
// and the tests are derived. Both kinds of request share it.
//
// The rows follow the lifecycle of UNTOC Art. 18: transmission CA to CA
// (18(13)), requests for more information (18(16)), refusal with reasons
// (18(23)), execution, and the requesting state telling that assistance is
// no longer needed (18(24)). Execution may be postponed because it would
// interfere with the requested state's own proceedings (18(25)), and
// resumed; a postponed request may still be refused or withdrawn.
var Table = []Transition{
	{Event: EventSend, From: []State{StateDrafted}, To: StateSent,
		Side: SideRequesting, Roles: []Role{RoleSupervisor}},
	{Event: EventAcknowledge, From: []State{StateSent}, To: StateAcknowledged,
		Side: SideRequested, Roles: []Role{RoleOfficer, RoleSupervisor}},
	{Event: EventRequestInfo, From: []State{StateAcknowledged}, To: StateInfoRequested,
		Side: SideRequested, Roles: []Role{RoleOfficer, RoleSupervisor}, Needs: []Field{FieldComment}},
	{Event: EventProvideInfo, From: []State{StateInfoRequested}, To: StateAcknowledged,
		Side: SideRequesting, Roles: []Role{RoleOfficer, RoleSupervisor}, Needs: []Field{FieldComment}},
	{Event: EventExecute, From: []State{StateAcknowledged}, To: StateExecuted,
		Side: SideRequested, Roles: []Role{RoleSupervisor}, Needs: []Field{FieldComment}},
	{Event: EventPostpone, From: []State{StateAcknowledged}, To: StatePostponed,
		Side: SideRequested, Roles: []Role{RoleSupervisor}, Needs: []Field{FieldComment}},
	{Event: EventResume, From: []State{StatePostponed}, To: StateAcknowledged,
		Side: SideRequested, Roles: []Role{RoleOfficer, RoleSupervisor}},
	{Event: EventRefuse, From: []State{StateSent, StateAcknowledged, StateInfoRequested, StatePostponed}, To: StateRefused,
		Side: SideRequested, Roles: []Role{RoleSupervisor}, Needs: []Field{FieldGrounds}},
	{Event: EventWithdraw, From: []State{StateSent, StateAcknowledged, StateInfoRequested, StatePostponed}, To: StateWithdrawn,
		Side: SideRequesting, Roles: []Role{RoleSupervisor}, Needs: []Field{FieldComment}},
	// Execution in part: the requested side hands over what it has
	// gathered so far and the request stays acknowledged (CONTRACT 6). It meets no
	// deadline (no rule lists it in met_by): only execute does.
	{Event: EventDeliver, From: []State{StateAcknowledged}, To: StateAcknowledged,
		Side: SideRequested, Roles: []Role{RoleOfficer, RoleSupervisor}, Needs: []Field{FieldComment}},
}

// Lookup returns the table row of an event, and false for an unknown event.
func Lookup(e Event) (Transition, bool) {
	for _, t := range Table {
		if t.Event == e {
			return t, true
		}
	}
	return Transition{}, false
}

// Leaves reports whether the transition may leave state s.
func (t Transition) Leaves(s State) bool { return slices.Contains(t.From, s) }

// NeedsField reports whether the transition must carry field f.
func (t Transition) NeedsField(f Field) bool { return slices.Contains(t.Needs, f) }

// AwaitingSide tells which side of a request in state s has the next move
// in the ordinary course of the lifecycle: the side of the first row of the
// table that leaves s (the table lists the forward moves before refusal and
// withdrawal). SideNone for a final state.
func AwaitingSide(s State) Side {
	for _, t := range Table {
		if t.Leaves(s) {
			return t.Side
		}
	}
	return SideNone
}

// PathTo returns the shortest run of transitions that takes a new draft
// into state s, in table order where runs tie (nil for drafted, and for an
// unknown state). Tests, the demo and the seeder drive requests with it,
// so that a new row of the table reaches them all.
func PathTo(s State) []Transition {
	type step struct {
		state State
		path  []Transition
	}
	seen := map[State]bool{StateDrafted: true}
	queue := []step{{state: StateDrafted}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur.state == s {
			return cur.path
		}
		for _, t := range Table {
			if t.Leaves(cur.state) && !seen[t.To] {
				seen[t.To] = true
				queue = append(queue, step{t.To, append(slices.Clone(cur.path), t)})
			}
		}
	}
	return nil
}

// events converts the table to looplab/fsm's form.
func events() fsm.Events {
	out := make(fsm.Events, 0, len(Table))
	for _, t := range Table {
		src := make([]string, len(t.From))
		for i, s := range t.From {
			src[i] = string(s)
		}
		out = append(out, fsm.EventDesc{Name: string(t.Event), Src: src, Dst: string(t.To)})
	}
	return out
}

// NewFSM builds a state machine standing at the request's persisted state.
// It is built afresh for every command and never kept: the database row is
// the truth, the FSM only checks the move.
func NewFSM(current State) *fsm.FSM {
	return fsm.NewFSM(string(current), events(), nil)
}

// Advance checks with the FSM that event e leaves state from and returns the
// state it leads to. ErrInvalidTransition when it does not.
func Advance(ctx context.Context, from State, e Event) (State, error) {
	m := NewFSM(from)
	if err := m.Event(ctx, string(e)); err != nil {
		// looplab/fsm returns value-typed errors; a known event from the
		// wrong state is InvalidEventError, an unknown one UnknownEventError.
		var invalid fsm.InvalidEventError
		var unknown fsm.UnknownEventError
		var same fsm.NoTransitionError
		switch {
		case errors.As(err, &same) && same.Err == nil:
			// A self-transition (deliver): the move is allowed and leaves
			// the request where it is.
			return State(m.Current()), nil
		case errors.As(err, &invalid):
			return from, Errorf(ErrInvalidTransition, "%s is not possible from state %s", e, from)
		case errors.As(err, &unknown):
			return from, Invalid("event", "unknown event")
		default:
			return from, err
		}
	}
	return State(m.Current()), nil
}

// Diagram renders the workflow as a Mermaid state diagram with the given
// state highlighted (none when current is empty), for documents and pages.
func Diagram(current State) (string, error) {
	m := NewFSM(StateDrafted)
	if current != "" {
		m.SetState(string(current))
	}
	return fsm.VisualizeWithType(m, fsm.MERMAID)
}

// EventView describes one transition in the /workflows document.
type EventView struct {
	Name     Event   `json:"name"`
	From     []State `json:"from"`
	To       State   `json:"to"`
	Side     Side    `json:"side"`
	Roles    []Role  `json:"roles"`
	Requires []Field `json:"requires"`
}

// MachineView is the state machine of one kind as published by /workflows.
type MachineView struct {
	States []State     `json:"states"`
	Events []EventView `json:"events"`
}

// Document returns the published form of the workflow, per kind.
func Document() map[Kind]MachineView {
	doc := make(map[Kind]MachineView, len(Kinds))
	for _, k := range Kinds {
		view := MachineView{States: slices.Clone(States)}
		for _, t := range Table {
			needs := t.Needs
			if needs == nil {
				needs = []Field{}
			}
			view.Events = append(view.Events, EventView{
				Name: t.Event, From: slices.Clone(t.From), To: t.To, Side: t.Side,
				Roles: slices.Clone(t.Roles), Requires: slices.Clone(needs),
			})
		}
		doc[k] = view
	}
	return doc
}
