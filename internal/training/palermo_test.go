package training_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/training"
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
	t.Run("careful", func(t *testing.T) {
		t.Parallel()
		x := newExercise(t, bundled(t, "palermo-ring"), 42)
		x.play(palermoScript(true), 12*day)
		rep := x.debrief()
		logReport(t, x, rep)
		for _, r := range rep.Rules {
			if !r.Met || r.Earned != r.Points {
				t.Errorf("rule %s: %d of %d (%s), want all its points", r.ID, r.Earned, r.Points, r.Reason)
			}
		}
		denied := findings(rep, training.FindingDenied)
		if len(denied) != 1 || denied[0].Trainee != trainee("IT", "officer") || denied[0].Points != -2 {
			t.Errorf("denied attempts = %+v, want the officer's execute, -2", denied)
		}
		if got := len(rep.Findings); got != 1 {
			t.Errorf("%d findings, want only the refused attempt: %+v", got, rep.Findings)
		}
		if rep.Score != 83 || rep.MaxScore != 85 {
			t.Errorf("score %d/%d, want 83/85", rep.Score, rep.MaxScore)
		}
		if sup, off := traineeResult(t, rep, trainee("IT", "supervisor")), traineeResult(t, rep, trainee("IT", "officer")); sup.Score != 55 || off.Score != 28 || off.Denied != 1 {
			t.Errorf("supervisor %d, officer %d (denied %d), want 55 and 28 (1)", sup.Score, off.Score, off.Denied)
		}
		// Spain's bot froze the assets: acknowledged, then executed with its report.
		freezing := x.byKey("IT", "it-freezing")
		if freezing.State != workflow.StateExecuted {
			t.Errorf("the EIO is %s, want executed by Spain's bot", freezing.State)
		}
		docs, err := x.world.Service.Documents(context.Background(), x.actor("IT", "officer"), freezing.ID)
		if err != nil || len(docs) != 1 || docs[0].Type != workflow.DocExecutionReport || docs[0].UploadedBy != "sim.es" {
			t.Errorf("case file %+v (%v), want Spain's execution report", docs, err)
		}
		if got := x.byKey("IT", "ng-subscribers").State; got != workflow.StateAcknowledged {
			t.Errorf("the injected request is %s, want acknowledged", got)
		}
	})
	t.Run("incomplete EIO", func(t *testing.T) {
		t.Parallel()
		x := newExercise(t, bundled(t, "palermo-ring"), 42)
		x.play(palermoScript(false), 12*day)
		rep := x.debrief()
		logReport(t, x, rep)
		if r := ruleResult(t, rep, "freezing-complete"); r.Met || !strings.Contains(r.Reason, "purpose") {
			t.Errorf("freezing-complete: met %v (%s), want not met for the missing purpose", r.Met, r.Reason)
		}
		missing := findings(rep, training.FindingMissingInfo)
		if len(missing) != 1 || missing[0].Trainee != trainee("IT", "supervisor") || missing[0].Points != -10 {
			t.Errorf("missing information = %+v, want Spain's request for it, -10 to the supervisor who sent", missing)
		}
		if got := x.byKey("IT", "it-freezing").State; got != workflow.StateInfoRequested {
			t.Errorf("the EIO is %s, want info_requested: Spain asks before freezing", got)
		}
		if rep.Score != 58 {
			t.Errorf("score %d, want 58 (85 - 15 not earned - 2 - 10)", rep.Score)
		}
	})
}
