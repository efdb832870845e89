package training

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// World is what runs in one exercise world.
type World struct {
	Service  *workflow.Service // the exercise world's own service, on the exercise clock
	Scenario *scenario.Scenario
	Seed     int64
	Now      func() time.Time // the exercise clock
	// Started is when the exercise started, on its clock; injects count
	// their offsets from it. Zero: the moment Start put the first request
	// on the table, as the world records it.
	Started time.Time
}

// Trainee is one trainee account of an exercise.
type Trainee struct{ Username, Authority, Role string }

// BotActor is the simulated authority's actor: a supervisor of its own
// authority (it acknowledges, decides and answers), named so that every
// history line and audit entry shows that a bot made the move.
func BotActor(code string) workflow.Actor {
	u := "sim." + strings.ToLower(code)
	return workflow.Actor{UserID: u, Username: u, Role: workflow.RoleSupervisor, Authority: code}
}

// ScenarioActor is who drafts (and, when the scenario says so, has sent)
// the trainees' authority's starting requests: the colleague who left the
// file on their desk.
func ScenarioActor(code string) workflow.Actor {
	u := "scenario." + strings.ToLower(code)
	return workflow.Actor{UserID: u, Username: u, Role: workflow.RoleSupervisor, Authority: code}
}

// readerActor reads the world for planning and the debrief: an auditor of
// the authority reads requests, threads and the audit log without leaving
// read receipts or changing anything.
func readerActor(code string) workflow.Actor {
	u := "debrief." + strings.ToLower(code)
	return workflow.Actor{UserID: u, Username: u, Role: workflow.RoleAuditor, Authority: code}
}

// isBot reports whether the username is a simulated authority's or the
// scenario's own, not a trainee's.
func isBot(username string) bool {
	return strings.HasPrefix(username, "sim.") || strings.HasPrefix(username, "scenario.") || strings.HasPrefix(username, "debrief.")
}

// key derives the id suffix of what the scenario creates: one key, one
// identifier (workflow.DerivedID), whichever server derives it.
func (w World) key(parts ...string) string {
	return fmt.Sprintf("mla-flow training/%s/%d/%s", w.Scenario.ID, w.Seed, strings.Join(parts, "/"))
}

func (w World) derivedID(at time.Time, parts ...string) string {
	return workflow.DerivedID(at, w.key(parts...))
}

func (w World) suffix(parts ...string) string {
	return workflow.IDSuffix(workflow.DerivedID(time.Unix(0, 0), w.key(parts...)))
}

// draw is the delay a bot takes for a move: a whole minute in d, drawn
// from the seed, the request's reference, the rule and how many times the
// move was made before on the request.
func (w World) draw(d scenario.Delay, reference, rule string, n int) time.Duration {
	span := int64((d.Max.D() - d.Min.D()) / time.Minute)
	if span <= 0 {
		return d.Min.D()
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d|%s|%s|%d", w.Seed, reference, rule, n)))
	pick := int64(binary.BigEndian.Uint64(sum[:8]) % uint64(span+1))
	return d.Min.D() + time.Duration(pick)*time.Minute
}

// view is the world as one pass reads it.
type view struct {
	requests []workflow.Request // oldest first
	byID     map[string]workflow.Request
	keyOf    map[string]string // request id → scenario key
	byKey    map[string]workflow.Request
	started  time.Time
}

// read reads every request of the world, through the readers of the
// scenario's authorities.
func read(ctx context.Context, w World) (*view, error) {
	v := &view{byID: map[string]workflow.Request{}, keyOf: map[string]string{}, byKey: map[string]workflow.Request{}}
	for _, a := range w.Scenario.Authorities {
		cursor := ""
		for {
			page, next, err := w.Service.List(ctx, readerActor(a.Code), workflow.ListQuery{Limit: workflow.MaxLimit, Cursor: cursor})
			if err != nil {
				return nil, fmt.Errorf("list the requests of %s: %w", a.Code, err)
			}
			for _, r := range page {
				if _, seen := v.byID[r.ID]; !seen {
					v.byID[r.ID] = r
					v.requests = append(v.requests, r)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	sort.Slice(v.requests, func(i, j int) bool {
		a, b := v.requests[i], v.requests[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.Reference < b.Reference
	})
	suffixes := map[string]string{}
	for _, spec := range specs(w.Scenario) {
		suffixes[w.suffix("request", spec.Key)] = spec.Key
	}
	for _, r := range v.requests {
		if k, ok := suffixes[workflow.IDSuffix(r.ID)]; ok {
			if _, dup := v.byKey[k]; !dup {
				v.keyOf[r.ID] = k
				v.byKey[k] = r
			}
		}
	}
	v.started = w.Started
	if v.started.IsZero() {
		for _, r := range v.requests {
			if _, ok := v.keyOf[r.ID]; ok {
				v.started = r.CreatedAt
				break
			}
		}
	}
	return v, nil
}

// specs are every request the scenario names: the starting ones and the
// injected ones.
func specs(s *scenario.Scenario) []scenario.RequestSpec {
	out := append([]scenario.RequestSpec(nil), s.Requests...)
	for _, in := range s.Injects {
		if in.NewRequest != nil {
			out = append(out, *in.NewRequest)
		}
	}
	return out
}

// behaviour is the script of the simulated authority for the request of
// that key, nil when it has none.
func behaviour(s *scenario.Scenario, authority, key string) *scenario.Behaviour {
	for i, b := range s.Behaviour {
		if b.Authority == authority && b.Applies(key) {
			return &s.Behaviour[i]
		}
	}
	return nil
}

// draft turns a scenario's request into the workflow's draft, its due date
// counted from now.
func draft(spec scenario.RequestSpec, now time.Time) workflow.Draft {
	d := workflow.Draft{
		Kind: workflow.Kind(spec.Kind), RequestedAuthority: spec.To, Title: spec.Title, Summary: spec.Summary,
		LegalBasis: spec.LegalBasis, Offences: spec.Offences, Measures: spec.Measures,
		Urgency: workflow.Urgency(spec.Urgency), UrgencyReason: spec.UrgencyReason,
		Instrument: spec.Instrument, Purpose: spec.Purpose,
	}
	if spec.DueIn > 0 {
		d.DueDate = now.Add(spec.DueIn.D()).UTC().Format(time.DateOnly)
	}
	for _, p := range spec.Persons {
		d.Persons = append(d.Persons, workflow.PersonConcerned{
			Role: workflow.PersonRole(p.Role), Name: p.Name, Aliases: p.Aliases, DateOfBirth: p.DateOfBirth,
			Nationality: p.Nationality, Location: p.Location, Protected: p.Protected,
		})
	}
	if p := spec.PersonSought; p != nil {
		d.PersonSought = &workflow.Person{Name: p.Name, Aliases: p.Aliases, DateOfBirth: p.DateOfBirth,
			Nationality: p.Nationality, Description: p.Description, Location: p.Location}
	}
	if wr := spec.Warrant; wr != nil {
		d.Warrant = &workflow.Warrant{Type: wr.Type, Reference: wr.Reference, IssuedBy: wr.IssuedBy, IssuedOn: wr.IssuedOn}
	}
	return d
}

// actorFor is who acts for the authority in what the scenario itself puts
// on the table.
func actorFor(s *scenario.Scenario, code string) workflow.Actor {
	if s.Simulated(code) {
		return BotActor(code)
	}
	return ScenarioActor(code)
}

// settled reports whether err says the world has moved on from what a
// move read (another call made it first): the move is then no longer due,
// and not an error.
func settled(err error) bool {
	switch workflow.ErrorCode(err) {
	case workflow.ErrVersionConflict, workflow.ErrInvalidTransition:
		return true
	}
	return false
}
