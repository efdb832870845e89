package exercise

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The clock of an exercise is an anchor kept in the registry: at real time
// AnchorReal the exercise time was AnchorAt, and it moves at Speed exercise
// seconds per real second while Running. Nothing ticks: every reading is
// computed from the anchor, so a restart loses nothing and every server on
// one database reads the same time. A change (pause, resume, a new speed,
// an advance) moves the anchor to the present first, so that the time
// already passed stays passed.

// MaxSpeed bounds the clock's speed: at 100,000 a week passes in six
// seconds, enough to fast-forward through the quiet stretches of a case.
const MaxSpeed = 100000

// MaxAdvance bounds one advance of the clock.
const MaxAdvance = 366 * 24 * time.Hour

// exerciseTime is the exercise time of e at real time real.
func exerciseTime(e store.Exercise, real time.Time) time.Time {
	if !e.Running {
		return e.AnchorAt
	}
	elapsed := float64(real.Sub(e.AnchorReal)) * e.Speed
	if elapsed > math.MaxInt64/2 {
		elapsed = math.MaxInt64 / 2
	}
	return e.AnchorAt.Add(time.Duration(elapsed))
}

// reanchor moves e's anchor to real time real, keeping its exercise time.
func reanchor(e *store.Exercise, real time.Time) {
	e.AnchorAt = exerciseTime(*e, real)
	e.AnchorReal = real
}

// ClockAction is what POST /exercises/{id}/clock asks.
type ClockAction struct {
	Action string   // start, pause, resume, advance
	Speed  *float64 // exercise seconds per real second; nil keeps it
	By     string   // advance: a duration such as "36h"
}

// The states of an exercise.
const (
	StateReady   = "ready"   // created, clock not started
	StateRunning = "running" // clock running
	StatePaused  = "paused"  // clock stopped
	StateEnded   = "ended"   // over: read only, debrief final
)

// applyClock changes e by a, at real time real; it reports whether the
// scenario's starting requests are now due (the first start).
func applyClock(e *store.Exercise, a ClockAction, real time.Time) (starts bool, err error) {
	fields := map[string]string{}
	var by time.Duration
	switch a.Action {
	case "start", "pause", "resume":
	case "advance":
		if a.By == "" {
			fields["by"] = "is required for advance: a duration such as \"36h\" or \"90m\""
			break
		}
		d, perr := time.ParseDuration(a.By)
		switch {
		case perr != nil:
			fields["by"] = "must be a duration such as \"36h\" or \"90m\""
		case d <= 0 || d > MaxAdvance:
			fields["by"] = fmt.Sprintf("must be positive and at most %s", MaxAdvance)
		}
		by = d
	case "":
		fields["action"] = "is required: start, pause, resume or advance"
	default:
		fields["action"] = "must be one of: start, pause, resume, advance"
	}
	if a.Speed != nil && (math.IsNaN(*a.Speed) || *a.Speed <= 0 || *a.Speed > MaxSpeed) {
		fields["speed"] = fmt.Sprintf("must be above 0 and at most %d exercise seconds per real second", MaxSpeed)
	}
	if len(fields) > 0 {
		return false, workflow.InvalidFields(fields)
	}
	refuse := func(what string) error {
		return workflow.Errorf(workflow.ErrInvalidTransition, "the exercise is %s: it cannot %s", e.State, what)
	}
	if e.State == StateEnded {
		return false, refuse(a.Action)
	}
	reanchor(e, real)
	if a.Speed != nil {
		e.Speed = *a.Speed
	}
	switch a.Action {
	case "start":
		if e.State != StateReady {
			return false, refuse("start again (resume it instead)")
		}
		e.State, e.Running, e.Started = StateRunning, true, true
		return true, nil
	case "pause":
		if e.State != StateRunning {
			return false, refuse("pause")
		}
		e.State, e.Running = StatePaused, false
	case "resume":
		if e.State != StatePaused {
			return false, refuse("resume")
		}
		e.State, e.Running = StateRunning, true
	case "advance":
		if e.State == StateReady {
			return false, refuse("advance before it starts")
		}
		e.AnchorAt = e.AnchorAt.Add(by)
	}
	return false, nil
}

// Clock is the exercise clock a world's service runs on. Each reading of
// the registry (a call routed to the world, the job's step) sets it, so it
// follows every change made on any server.
type Clock struct {
	real func() time.Time
	mu   sync.RWMutex
	e    store.Exercise
}

func newClock(real func() time.Time, e store.Exercise) *Clock {
	return &Clock{real: real, e: e}
}

// Now is the exercise time now.
func (c *Clock) Now() time.Time {
	c.mu.RLock()
	e := c.e
	c.mu.RUnlock()
	return exerciseTime(e, c.real()).UTC()
}

// Reading is the clock as the contract shows it.
type Reading struct {
	Now     time.Time
	Speed   float64
	Running bool
}

// Read returns the clock now.
func (c *Clock) Read() Reading {
	c.mu.RLock()
	e := c.e
	c.mu.RUnlock()
	return Reading{Now: exerciseTime(e, c.real()).UTC(), Speed: e.Speed, Running: e.Running}
}

func (c *Clock) set(e store.Exercise) {
	c.mu.Lock()
	c.e = e
	c.mu.Unlock()
}
