package workflow

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Deadlines.
//
// A request's deadlines follow from its history: each rule of its
// instrument (and requested_by, when it has a due date) starts on an event
// or when another deadline is met, runs a number of days, and is met by one
// of its events. The clock stops while the request is postponed, and while
// the requesting side is asked for more information when the rule says so.
// The service folds each transition into the request's tracks as it makes
// it (AdvanceDeadlines), so that reading a request needs no history, and
// every deadline is the same fold of the same history whoever recomputes
// it (TestDeadlines_foldOfHistory).

// DeadlineTrack is one deadline of a request as its history has run it.
type DeadlineTrack struct {
	Kind     string
	Basis    string
	Side     Side // the side it binds
	StartsAt time.Time
	// DueAt is when it falls due, with its extensions and the stops of its
	// clock that have ended; while the clock is stopped (StoppedSince) the
	// due time moves on with the time.
	DueAt        time.Time
	StoppedSince *time.Time
	MetAt        *time.Time
	EndedAt      *time.Time // the request ended before the deadline was met
	Extensions   []Extension
}

// Extension is a deadline's extension: by how many days, why, by whom.
type Extension struct {
	Days   int
	Reason string
	Actor  string
	At     time.Time
}

// DeadlineStatus is where a deadline stands.
type DeadlineStatus string

// The statuses of a deadline.
const (
	DeadlineRunning DeadlineStatus = "running"
	DeadlineMet     DeadlineStatus = "met"     // met by its due time
	DeadlineMissed  DeadlineStatus = "missed"  // met after its due time
	DeadlineOverdue DeadlineStatus = "overdue" // running past its due time
	DeadlineStopped DeadlineStatus = "stopped" // the request ended first
)

// DueSoon is how close a due time must be for a deadline to be due soon.
const DueSoon = 7 * 24 * time.Hour

// Deadline is a deadline as it stands at one time.
type Deadline struct {
	Kind       string
	Basis      string
	Side       Side
	StartsAt   time.Time
	DueAt      time.Time
	Status     DeadlineStatus
	MetAt      *time.Time
	Paused     bool // its clock is stopped now
	Extensions []Extension
}

// running reports whether the deadline is neither met nor ended.
func (t DeadlineTrack) running() bool { return t.MetAt == nil && t.EndedAt == nil }

// At is the deadline as it stands at now.
func (t DeadlineTrack) At(now time.Time) Deadline {
	d := Deadline{
		Kind: t.Kind, Basis: t.Basis, Side: t.Side, StartsAt: t.StartsAt, DueAt: t.DueAt,
		MetAt: t.MetAt, Extensions: slices.Clone(t.Extensions),
	}
	if t.StoppedSince != nil && t.running() && now.After(*t.StoppedSince) {
		d.DueAt = d.DueAt.Add(now.Sub(*t.StoppedSince))
	}
	d.Paused = t.StoppedSince != nil && t.running()
	switch {
	case t.MetAt != nil && t.MetAt.After(t.DueAt):
		d.Status = DeadlineMissed
	case t.MetAt != nil:
		d.Status = DeadlineMet
	case t.EndedAt != nil:
		d.Status = DeadlineStopped
	case now.After(d.DueAt):
		d.Status = DeadlineOverdue
	default:
		d.Status = DeadlineRunning
	}
	return d
}

// DeadlinesAt lists r's deadlines as they stand at now, in the order they
// started.
func (r Request) DeadlinesAt(now time.Time) []Deadline {
	out := make([]Deadline, len(r.Deadlines))
	for i, t := range r.Deadlines {
		out[i] = t.At(now)
	}
	return out
}

// NextDue is the earliest due time of r's deadlines whose clocks run, and
// false when none runs: what lists sort and filter by (the store keeps it
// in a column). A deadline past due is running still, and counts.
func (r Request) NextDue() (time.Time, bool) {
	var next time.Time
	found := false
	for _, t := range r.Deadlines {
		if t.running() && t.StoppedSince == nil && (!found || t.DueAt.Before(next)) {
			next, found = t.DueAt, true
		}
	}
	return next, found
}

// stopsClock reports whether rule's clock stops in state s.
func (rule DeadlineRule) stopsClock(s State) bool {
	return s == StatePostponed || (s == StateInfoRequested && rule.StopsWhileInfoRequested)
}

// stop stops the track's clock at at, if it runs.
func (t *DeadlineTrack) stop(at time.Time) {
	if t.StoppedSince == nil {
		t.StoppedSince = &at
	}
}

// restart restarts the track's clock at at, if it is stopped: the due time
// moves by the time it stood.
func (t *DeadlineTrack) restart(at time.Time) {
	if t.StoppedSince != nil {
		if at.After(*t.StoppedSince) {
			t.DueAt = t.DueAt.Add(at.Sub(*t.StoppedSince))
		}
		t.StoppedSince = nil
	}
}

// AdvanceDeadlines returns the tracks of next, the request as transition h
// has left it, with h folded in (the service does it for every transition;
// internal/seed, which writes what the service would have, too): running deadlines met by h's event are
// met, the others ended if next is final, their clocks stopped or
// restarted by its new state; then the rules that h starts (by its event,
// or by meeting the deadline they start on) start. consent tells whether
// the person sought consented to surrender (acknowledge).
func (c *Catalog) AdvanceDeadlines(next Request, h HistoryEntry, consent bool) (tracks []DeadlineTrack) {
	rules := c.rulesFor(next)
	at := h.At
	tracks = make([]DeadlineTrack, len(next.Deadlines), len(next.Deadlines)+len(rules))
	copy(tracks, next.Deadlines)
	defer func() {
		if len(tracks) == 0 {
			tracks = nil // as a request without deadlines reads back
		}
	}()
	met := map[string]bool{}
	for i := range tracks {
		t := &tracks[i]
		if !t.running() {
			continue
		}
		rule, known := ruleIn(rules, t.Kind)
		switch {
		case known && slices.Contains(rule.MetBy, h.Event):
			t.restart(at)
			t.MetAt = &at
			met[t.Kind] = true
		case h.To.Final():
			t.restart(at)
			t.EndedAt = &at
		case known && rule.stopsClock(h.To):
			t.stop(at)
		default:
			t.restart(at)
		}
	}
	if h.To.Final() {
		return tracks
	}
	for _, rule := range rules {
		if rule.StartsOn != string(h.Event) && !met[rule.StartsOn] {
			continue
		}
		if _, i := trackIn(tracks, rule.Kind); i >= 0 || rule.OnlyUrgent && next.Urgency != UrgencyUrgent {
			continue
		}
		t := DeadlineTrack{Kind: rule.Kind, Basis: rule.Basis, Side: rule.Side, StartsAt: at}
		switch {
		case rule.Kind == DeadlineRequestedBy:
			t.DueAt = dueDateEnd(next.DueDate)
		case consent && rule.ConsentDays > 0:
			t.DueAt = at.AddDate(0, 0, rule.ConsentDays)
			t.Basis += "; the person consented to surrender"
		default:
			t.DueAt = at.AddDate(0, 0, rule.Days)
		}
		if rule.stopsClock(h.To) {
			t.stop(at)
		}
		tracks = append(tracks, t)
	}
	return tracks
}

// trackIn returns the track of that kind among tracks and its index, -1
// when there is none.
func trackIn(tracks []DeadlineTrack, kind string) (DeadlineTrack, int) {
	for i, t := range tracks {
		if t.Kind == kind {
			return t, i
		}
	}
	return DeadlineTrack{}, -1
}

// extendedDays is how many days the track's extensions added.
func (t DeadlineTrack) extendedDays() int {
	n := 0
	for _, x := range t.Extensions {
		n += x.Days
	}
	return n
}

// dueDateEnd is the end of a due date (YYYY-MM-DD): midnight UTC after it.
func dueDateEnd(date string) time.Time {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return time.Time{}
	}
	return d.AddDate(0, 0, 1)
}

// extendDeadline returns r's tracks with the deadline of kind extended by
// e, or the reason it cannot be: no such running deadline (ErrNotFound), no
// reason, or more days than the rule lets all extensions add.
func extendDeadline(r Request, rule DeadlineRule, kind string, e Extension) ([]DeadlineTrack, error) {
	errs := fieldErrors{}
	if strings.TrimSpace(e.Reason) == "" {
		errs.add("reason", "is required: say why the deadline is extended")
	}
	checkText(errs, "reason", e.Reason, MaxLegalBasis)
	t, i := trackIn(r.Deadlines, kind)
	if i < 0 {
		return nil, Errorf(ErrNotFound, "the request has no deadline %s", truncate(kind, 40))
	}
	used := t.extendedDays()
	switch {
	case !t.running():
		errs.add("days", fmt.Sprintf("the deadline %s no longer runs", kind))
	case e.Days < 1:
		errs.add("days", "must be a whole number of days, at least 1")
	case rule.ExtendableDays == 0:
		errs.add("days", fmt.Sprintf("the deadline %s cannot be extended (%s)", kind, rule.Basis))
	case used+e.Days > rule.ExtendableDays:
		errs.add("days", fmt.Sprintf("at most %d days in all; %d are left", rule.ExtendableDays, rule.ExtendableDays-used))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	tracks := slices.Clone(r.Deadlines)
	t.DueAt = t.DueAt.AddDate(0, 0, e.Days)
	t.Extensions = append(slices.Clone(t.Extensions), e)
	tracks[i] = t
	return tracks, nil
}
