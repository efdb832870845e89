package web

import (
	"slices"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The workflow diagram of the request page is generated from workflow.Table
// and workflow.States, never drawn by hand: a change of the table changes
// the picture. It is HTML, not an image, so that screen readers read it as
// the ordered list it is and it reflows at any width: the states that lead
// on, in the order the table reaches them from the first state, each with
// the events that leave it; then the final states. The current state is
// marked in words as well as in colour, as are the states the request has
// passed through and the events the viewer may fire now.

// diagramView is the whole diagram.
type diagramView struct {
	Steps  []diagramNode // states that lead on, in reach order
	Finals []diagramNode // final states
}

// diagramNode is one state.
type diagramNode struct {
	State   workflow.State
	Label   string
	Current bool
	Visited bool
	Final   bool
	Out     []diagramEdge
}

// diagramEdge is one event leaving a state.
type diagramEdge struct {
	Event     workflow.Event
	Label     string
	To        workflow.State
	ToLabel   string
	Side      workflow.Side
	Roles     []workflow.Role
	Back      bool // leads back to a state reached earlier (not a final one)
	Available bool // the viewer may fire it now
}

// buildDiagram lays the table out for a request in state current that has
// passed through visited, for a viewer who may fire allowed now.
func buildDiagram(current workflow.State, visited []workflow.State, allowed []workflow.Event) diagramView {
	rank := reachOrder()
	var v diagramView
	order := slices.Clone(workflow.States)
	// Steps in reach order, then the final states in the order of
	// workflow.States (the stable sort keeps it).
	key := func(s workflow.State) int {
		if s.Final() {
			return len(workflow.States) + 1
		}
		return rank[s]
	}
	slices.SortStableFunc(order, func(a, b workflow.State) int { return key(a) - key(b) })
	for _, s := range order {
		n := diagramNode{
			State: s, Label: labelOr(stateLabels, s), Current: s == current,
			Visited: slices.Contains(visited, s) && s != current, Final: s.Final(),
		}
		for _, t := range workflow.Table {
			if !t.Leaves(s) {
				continue
			}
			n.Out = append(n.Out, diagramEdge{
				Event: t.Event, Label: labelOr(eventLabels, t.Event), To: t.To,
				ToLabel: labelOr(stateLabels, t.To), Side: t.Side, Roles: t.Roles,
				Back:      !t.To.Final() && rank[t.To] <= rank[s],
				Available: s == current && slices.Contains(allowed, t.Event),
			})
		}
		if n.Final {
			v.Finals = append(v.Finals, n)
		} else {
			v.Steps = append(v.Steps, n)
		}
	}
	return v
}

// reachOrder numbers the states by their distance from the first state
// through the table (breadth first); unreachable states come last.
func reachOrder() map[workflow.State]int {
	rank := map[workflow.State]int{}
	start := workflow.States[0]
	rank[start] = 0
	queue := []workflow.State{start}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, t := range workflow.Table {
			if _, seen := rank[t.To]; t.Leaves(s) && !seen {
				rank[t.To] = rank[s] + 1
				queue = append(queue, t.To)
			}
		}
	}
	for _, s := range workflow.States {
		if _, ok := rank[s]; !ok {
			rank[s] = len(workflow.States)
		}
	}
	return rank
}
