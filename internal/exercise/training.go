package exercise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/training"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TrainingEngine plays scenario files through internal/training: the
// server's Engine.
type TrainingEngine struct {
	byID  map[string]*scenario.Scenario
	views []Scenario
}

var _ Engine = (*TrainingEngine)(nil)

// NewTrainingEngine plays the given scenarios (scenario.Bundled for the
// server's own).
func NewTrainingEngine(scenarios []*scenario.Scenario) *TrainingEngine {
	e := &TrainingEngine{byID: map[string]*scenario.Scenario{}}
	for _, s := range scenarios {
		e.byID[s.ID] = s
		v := Scenario{ID: s.ID, Title: s.Title, Summary: s.Summary}
		for _, a := range s.Authorities {
			v.Authorities = append(v.Authorities, Authority{Code: a.Code, Name: a.Name, Played: a.Played, TraineeRoles: a.TraineeRoles})
		}
		for _, in := range s.Injects {
			iv := Inject{ID: in.ID, Title: in.Title, Note: in.Note, Manual: in.At == nil}
			if in.At != nil {
				iv.At = in.At.String()
			}
			v.Injects = append(v.Injects, iv)
		}
		for _, r := range s.Requests {
			v.Requests = append(v.Requests, Request{Key: r.Key, Title: r.Title, From: r.From, To: r.To})
		}
		for _, in := range s.Injects {
			if r := in.NewRequest; r != nil && r.Key != "" {
				v.Requests = append(v.Requests, Request{Key: r.Key, Title: r.Title, From: r.From, To: r.To})
			}
		}
		e.views = append(e.views, v)
	}
	return e
}

func (e *TrainingEngine) Scenarios() []Scenario { return e.views }

// world is w as internal/training sees it.
func (e *TrainingEngine) world(w *World) (training.World, error) {
	s, ok := e.byID[w.Scenario.ID]
	if !ok {
		return training.World{}, fmt.Errorf("scenario %q is not installed", w.Scenario.ID)
	}
	return training.World{Service: w.Service, Scenario: s, Seed: w.Seed, Now: w.Clock.Now}, nil
}

func (e *TrainingEngine) Start(ctx context.Context, w *World) error {
	tw, err := e.world(w)
	if err != nil {
		return err
	}
	return training.Start(ctx, tw)
}

func (e *TrainingEngine) Step(ctx context.Context, w *World) error {
	tw, err := e.world(w)
	if err != nil {
		return err
	}
	_, err = training.Step(ctx, tw)
	return err
}

// Inject applies the scenario's inject id, or an ad hoc one in the
// scenario files' shape, checked as the scenario's own are (by
// training.ApplyInject); an ad hoc inject's problems are fields under
// "ad_hoc.", a scenario inject's are said on "inject".
func (e *TrainingEngine) Inject(ctx context.Context, w *World, id string, adhoc json.RawMessage) error {
	tw, err := e.world(w)
	if err != nil {
		return err
	}
	var in scenario.Inject
	prefix := "ad_hoc."
	if id != "" {
		var ok bool
		if in, ok = tw.Scenario.Inject(id); !ok {
			return workflow.Invalid("inject", "is not an inject of the scenario")
		}
		prefix = ""
	} else {
		dec := json.NewDecoder(bytes.NewReader(adhoc))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return workflow.Invalid("ad_hoc", "is not an inject: "+err.Error())
		}
	}
	err = training.ApplyInject(ctx, tw, in)
	var we *workflow.Error
	if !errors.As(err, &we) || we.Code != workflow.ErrValidation || len(we.Fields) == 0 {
		return err
	}
	fields := map[string]string{}
	for f, reason := range we.Fields {
		if prefix == "" {
			fields["inject"] = f + " " + reason
		} else {
			fields[prefix+f] = reason
		}
	}
	return workflow.InvalidFields(fields)
}

func (e *TrainingEngine) Debrief(ctx context.Context, w *World, trainees []store.Trainee) (Debrief, error) {
	tw, err := e.world(w)
	if err != nil {
		return nil, err
	}
	ts := make([]training.Trainee, len(trainees))
	for i, t := range trainees {
		ts[i] = training.Trainee{Username: t.Username, Authority: t.Authority, Role: t.Role}
	}
	return training.Debrief(ctx, tw, ts)
}
