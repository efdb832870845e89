package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Casework is what SeedCases works with: the server's store, its access
// policy and its instruments, from which it builds a workflow service of
// its own on a clock it sets; and the demo users' accounts, as whom it
// acts.
type Casework struct {
	Store       workflow.Store
	Policy      workflow.Policy
	Instruments *workflow.Catalog
	Accounts    Accounts
}

// Accounts finds a demo user's account; *store.Store is one.
type Accounts interface {
	UserByUsername(ctx context.Context, username string) (workflow.User, error)
}

// Case is one seeded case as it stands at the end of its story, for main
// to print.
type Case struct {
	ID                  string
	Reference           string
	Kind                workflow.Kind
	State               workflow.State
	RequestingAuthority string
	RequestedAuthority  string
	Title               string
	OpenedAt            time.Time
}

// SeedCases creates the demo cases (story.go) as of now: each case is
// drafted, edited, sent, answered and decided through the workflow
// service, by the demo user of the side and role whose move it is, at the
// moment the story gives it, so that every case has its history, its
// deadlines and its audit trail as if the authorities had worked it over
// the past months. The moves of all cases run in the order of their
// moments, so that the audit log reads in the order things happened.
//
// It seeds only a database without requests, and returns nil (and no
// error) on one that has some: a demo is seeded once.
func SeedCases(ctx context.Context, w Casework, now time.Time) ([]Case, error) {
	has, err := holdsRequests(ctx, w.Store)
	if err != nil || has {
		return nil, err
	}
	cases := story(newTimeline(now))
	plan, err := schedule(cases, now)
	if err != nil {
		return nil, err
	}
	clock := &clock{}
	svc := workflow.NewService(w.Store, w.Policy, workflow.WithClock(clock.now), workflow.WithInstruments(w.Instruments))
	actors := map[string]workflow.Actor{}
	actor := func(username string) (workflow.Actor, error) {
		if a, ok := actors[username]; ok {
			return a, nil
		}
		u, err := w.Accounts.UserByUsername(ctx, username)
		if err != nil {
			return workflow.Actor{}, fmt.Errorf("demo user %s: %w", username, err)
		}
		actors[username] = u.Actor()
		return u.Actor(), nil
	}
	last := make([]workflow.Request, len(cases))
	for _, p := range plan {
		c, m := cases[p.c], cases[p.c].moves[p.m]
		a, err := actor(m.by)
		if err != nil {
			return nil, err
		}
		clock.at = m.at
		id := last[p.c].ID
		var r workflow.Request
		switch {
		case p.m == 0:
			r, err = svc.Create(ctx, a, c.draft)
		case m.edit != nil:
			r, err = svc.Update(ctx, a, id, *m.edit, nil)
		case m.extend != nil:
			r, err = svc.ExtendDeadline(ctx, a, id, m.extend.kind, m.extend.in)
		default:
			r, err = svc.Fire(ctx, a, id, m.event)
		}
		if err != nil {
			return nil, fmt.Errorf("demo case %q, %s by %s: %w", c.draft.Title, m.what(p.m), m.by, err)
		}
		last[p.c] = r
	}
	out := make([]Case, len(cases))
	for i, r := range last {
		out[i] = Case{
			ID: r.ID, Reference: r.Reference, Kind: r.Kind, State: r.State,
			RequestingAuthority: r.RequestingAuthority, RequestedAuthority: r.RequestedAuthority,
			Title: r.Title, OpenedAt: r.CreatedAt,
		}
	}
	return out, nil
}

// holdsRequests tells whether any authority has a request of its own.
func holdsRequests(ctx context.Context, st workflow.Store) (bool, error) {
	authorities, err := st.Authorities(ctx)
	if err != nil {
		return false, fmt.Errorf("list authorities: %w", err)
	}
	for _, au := range authorities {
		n, err := st.CountRequests(ctx, workflow.Scope{Authority: au.Code, RequestingStates: workflow.States})
		if err != nil {
			return false, fmt.Errorf("count requests: %w", err)
		}
		for _, c := range n.Outgoing {
			if c > 0 {
				return true, nil
			}
		}
	}
	return false, nil
}

// clock is the seeding's reading of time: before each move it is set to
// the move's moment, so that the service stamps the request, its history,
// its deadlines and its audit entry with it. The moves run one at a time.
type clock struct{ at time.Time }

func (c *clock) now() time.Time { return c.at }

// demoCase is one case of the story: the draft its officer opens, and the
// moves that follow, the first of which is the drafting itself.
type demoCase struct {
	draft workflow.Draft
	moves []move
}

// move is one step of a case: at a moment, by a demo user, one of drafting
// (the first move), an edit of the draft, an extension of a deadline, or
// an event.
type move struct {
	at     time.Time
	by     string // username
	edit   *workflow.Changes
	extend *extension
	event  workflow.EventInput
}

// extension is a move that extends a deadline.
type extension struct {
	kind string
	in   workflow.ExtendInput
}

// what names the move in an error.
func (m move) what(i int) string {
	switch {
	case i == 0:
		return "drafting"
	case m.edit != nil:
		return "edit"
	case m.extend != nil:
		return "extension of " + m.extend.kind
	}
	return string(m.event.Event)
}

// planned is one move of the plan: the index of its case and its own.
type planned struct{ c, m int }

// schedule orders the moves of all cases by their moments, keeping each
// case's own order. Every case must begin with its drafting, and its moves
// must follow one another, all before now.
func schedule(cases []demoCase, now time.Time) ([]planned, error) {
	var plan []planned
	for c, dc := range cases {
		if len(dc.moves) == 0 {
			return nil, fmt.Errorf("demo case %q has no drafting", dc.draft.Title)
		}
		for m, mv := range dc.moves {
			switch {
			case !mv.at.Before(now):
				return nil, fmt.Errorf("demo case %q: move %d is not in the past", dc.draft.Title, m)
			case m > 0 && !mv.at.After(dc.moves[m-1].at):
				return nil, fmt.Errorf("demo case %q: move %d does not follow the one before", dc.draft.Title, m)
			}
			plan = append(plan, planned{c, m})
		}
	}
	slices.SortStableFunc(plan, func(a, b planned) int {
		return cases[a.c].moves[a.m].at.Compare(cases[b.c].moves[b.m].at)
	})
	return plan, nil
}

// timeline places the story's moments relative to one now: so many days
// before today, at a time of day (UTC), and dates so many days from today.
type timeline struct{ today time.Time }

func newTimeline(now time.Time) timeline {
	y, m, d := now.UTC().Date()
	return timeline{today: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// ago is the moment days days before today at hour:minute. With days of 1
// or more it is always in the past.
func (t timeline) ago(days, hour, minute int) time.Time {
	return t.today.AddDate(0, 0, -days).Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// date is the date days days from today (negative: before), as YYYY-MM-DD.
func (t timeline) date(days int) string { return t.today.AddDate(0, 0, days).Format(time.DateOnly) }

// year is the year of the day days days before today.
func (t timeline) year(days int) int { return t.today.AddDate(0, 0, -days).Year() }

// The moves, by what they do.

func draftedBy(at time.Time, by string) move { return move{at: at, by: by} }

func edit(at time.Time, by string, ch workflow.Changes) move { return move{at: at, by: by, edit: &ch} }

func extend(at time.Time, by, kind string, days int, reason string) move {
	return move{at: at, by: by, extend: &extension{kind: kind, in: workflow.ExtendInput{Days: days, Reason: reason}}}
}

func fire(at time.Time, by string, in workflow.EventInput) move {
	return move{at: at, by: by, event: in}
}

func send(at time.Time, by string) move {
	return fire(at, by, workflow.EventInput{Event: workflow.EventSend})
}

func acknowledge(at time.Time, by, reference string) move {
	return fire(at, by, workflow.EventInput{Event: workflow.EventAcknowledge, Reference: reference})
}

func requestInfo(at time.Time, by, comment string) move {
	return fire(at, by, workflow.EventInput{Event: workflow.EventRequestInfo, Comment: comment})
}

func provideInfo(at time.Time, by, comment string) move {
	return fire(at, by, workflow.EventInput{Event: workflow.EventProvideInfo, Comment: comment})
}

func postpone(at time.Time, by, comment string) move {
	return fire(at, by, workflow.EventInput{Event: workflow.EventPostpone, Comment: comment})
}

func resume(at time.Time, by, comment string) move {
	return fire(at, by, workflow.EventInput{Event: workflow.EventResume, Comment: comment})
}

func execute(at time.Time, by, report string) move {
	return fire(at, by, workflow.EventInput{Event: workflow.EventExecute, Comment: report})
}

func refuse(at time.Time, by, comment string, grounds ...string) move {
	return fire(at, by, workflow.EventInput{Event: workflow.EventRefuse, Comment: comment, Grounds: grounds})
}

func withdraw(at time.Time, by, comment string) move {
	return fire(at, by, workflow.EventInput{Event: workflow.EventWithdraw, Comment: comment})
}
