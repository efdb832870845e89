package exercise

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/mla-flow/mla-flow/internal/store"
)

// Scenario is what the manager needs to know of a scenario: its names, and
// which authorities trainees play in which roles (the rest are simulated).
type Scenario struct {
	ID          string
	Title       string
	Summary     string
	Authorities []Authority
	// Start is the exercise time at which its clock starts; zero means
	// the real time the exercise is created.
	Start time.Time
	// Injects are the scenario's injects, for the trainer to apply.
	Injects []Inject
	// Requests are the scenario's requests, by key, that an ad hoc
	// inject may go to.
	Requests []Request
}

// Request is one of a scenario's requests, as an ad hoc inject names it.
type Request struct {
	Key, Title, From, To string
}

// Inject is one of a scenario's injects, as the trainer chooses it.
type Inject struct {
	ID     string
	Title  string
	Note   string // for the trainer: what it tests
	Manual bool   // the trainer applies it; else it comes by itself at its time
	At     string // when it comes by itself, from the start ("2d")
}

// Authority is one authority of a scenario.
type Authority struct {
	Code         string
	Name         string
	Played       string   // "trainee" or "simulated"
	TraineeRoles []string // the roles of its trainees, when played by trainees
}

// TraineeRoles lists the distinct roles trainees have in s.
func (s Scenario) TraineeRoles() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range s.Authorities {
		for _, r := range a.TraineeRoles {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// Engine plays the scenarios: it makes the starting requests, moves the
// simulated authorities, applies injects and writes the debrief. Every
// move goes through the world's workflow service, on the world's clock.
// internal/training implements it; the manager knows no scenario's script.
type Engine interface {
	Scenarios() []Scenario
	// Start makes the scenario's starting requests in w.
	Start(ctx context.Context, w *World) error
	// Step makes the moves due by w's clock; it must be idempotent, as
	// two servers may step one world at once in a lease's hand-over.
	Step(ctx context.Context, w *World) error
	// Inject applies the scenario's inject id, or, when id is "", the ad
	// hoc one described by adhoc. An unknown inject is a validation error.
	Inject(ctx context.Context, w *World, id string, adhoc json.RawMessage) error
	// Debrief scores the trainees' work in w.
	Debrief(ctx context.Context, w *World, trainees []store.Trainee) (Debrief, error)
}

// Debrief is an exercise's debrief: it marshals to the JSON answer, and
// writes itself as CSV and its timeline as SVG.
type Debrief interface {
	WriteCSV(w io.Writer) error
	TimelineSVG() []byte
}
