package training_test

import (
	"context"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

const (
	day  = 24 * time.Hour
	hour = time.Hour
)

// completeFreezing completes the draft EIO as a careful officer would:
// purpose, the reason it is urgent, where the suspect is.
func completeFreezing(x *exercise) error {
	r := x.byKey("IT", "it-freezing")
	persons := r.Persons
	persons[0].Location = "Madrid, Spain (Calle Marcelo Usera 41)"
	_, err := x.world.Service.Update(context.Background(), x.actor("IT", "officer"), r.ID, workflow.Changes{
		Purpose:       ptr("To secure the proceeds for confiscation at the end of the Turin proceedings"),
		UrgencyReason: ptr("The suspect is moving the funds; they may be gone within days"),
		Persons:       &persons,
	}, nil)
	return err
}

func palermoScript(complete bool) []action {
	script := []action{}
	if complete {
		script = append(script, action{at: 1 * hour, name: "complete the EIO", do: completeFreezing})
	}
	return append(script,
		action{at: 2 * hour, name: "send the EIO", do: func(x *exercise) error {
			return x.fire("IT", "supervisor", "it-freezing", workflow.EventInput{Event: workflow.EventSend})
		}},
		action{at: 5 * hour, name: "acknowledge Nigeria's request", do: func(x *exercise) error {
			return x.fire("IT", "officer", "ng-bank-records", workflow.EventInput{Event: workflow.EventAcknowledge, Reference: "IT-DAG-2026-0311"})
		}},
		action{at: 2*day + 6*hour, name: "answer Nigeria about the hearing", do: func(x *exercise) error {
			return x.post("IT", "officer", "ng-bank-records", workflow.MessageKindMessage,
				"The Turin court can host the video link on that date; the screen and voice distortion will be applied.")
		}},
		action{at: 3*day + 4*hour, name: "acknowledge the subscribers request", do: func(x *exercise) error {
			return x.fire("IT", "officer", "ng-subscribers", workflow.EventInput{Event: workflow.EventAcknowledge})
		}},
		action{at: 9 * day, name: "an officer tries to execute", denied: true, do: func(x *exercise) error {
			return x.fire("IT", "officer", "ng-bank-records", workflow.EventInput{Event: workflow.EventExecute, Comment: "done"})
		}},
		action{at: 10 * day, name: "execute Nigeria's request", do: func(x *exercise) error {
			return x.fire("IT", "supervisor", "ng-bank-records", workflow.EventInput{Event: workflow.EventExecute,
				Comment: "Bank records of Harmattan Money Transfer Srl for 2023-2025 attached; the victim was heard by video link."})
		}},
	)
}

func TestPalermoRing(t *testing.T) {
	t.Parallel()
	x := newExercise(t, bundled(t, "palermo-ring"), 42)
	x.play(palermoScript(true), 12*day)
	rep := x.debrief()
	for _, r := range rep.Rules {
		t.Logf("rule %s: %d/%d %s (%s)", r.ID, r.Earned, r.Points, r.By, r.Reason)
	}
	for _, f := range rep.Findings {
		t.Logf("finding %s %s %s %d %s", f.Kind, f.Trainee, f.Reference, f.Points, f.Detail)
	}
	for _, l := range x.history() {
		t.Log(l)
	}
	t.Logf("score %d/%d", rep.Score, rep.MaxScore)
}
