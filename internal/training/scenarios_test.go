package training_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/training"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

func logReport(t *testing.T, x *exercise, rep *training.Report) {
	t.Helper()
	for _, r := range rep.Rules {
		t.Logf("rule %s: %d/%d %s (%s)", r.ID, r.Earned, r.Points, r.By, r.Reason)
	}
	for _, f := range rep.Findings {
		t.Logf("finding %s %s %s %d %s", f.Kind, f.Trainee, f.Reference, f.Points, f.Detail)
	}
	for _, r := range rep.Requests {
		for _, d := range r.Deadlines {
			t.Logf("deadline %s %s %s due %s %s", r.Reference, d.Kind, d.Authority, d.DueAt.Sub(epoch), d.Status)
		}
	}
	for _, l := range x.history() {
		t.Log(l)
	}
	t.Logf("score %d/%d", rep.Score, rep.MaxScore)
}

// extraditionScript is the Spanish trainees' play; formalAt is when they
// send the formal request (ECE Art. 16(4): within 18 days of the arrest).
func extraditionScript(formalAt time.Duration) []action {
	return []action{
		{at: 1 * hour, name: "add the warrant", do: func(x *exercise) error {
			r := x.byKey("ES", "es-provisional-arrest")
			_, err := x.world.Service.Update(context.Background(), x.actor("ES", "officer"), r.ID, workflow.Changes{
				Warrant: &workflow.Warrant{Type: workflow.WarrantArrest, Reference: "Auto de prisión DP 2207/2024",
					IssuedBy: "Juzgado de Instrucción no. 41 de Madrid", IssuedOn: "2025-11-20"},
			}, nil)
			return err
		}},
		{at: 2 * hour, name: "send the request for provisional arrest", do: func(x *exercise) error {
			return x.fire("ES", "supervisor", "es-provisional-arrest", workflow.EventInput{Event: workflow.EventSend})
		}},
		{at: 5 * day, name: "acknowledge Thailand's request", do: func(x *exercise) error {
			return x.fire("ES", "officer", "th-victims", workflow.EventInput{Event: workflow.EventAcknowledge})
		}},
		{at: 6*day + 8*hour, name: "answer the Court of Appeal", do: func(x *exercise) error {
			return x.post("ES", "officer", "es-provisional-arrest", workflow.MessageKindMessage,
				"She would be held at the Madrid VII (Estremera) prison, which is not overcrowded; the report of the prison administration follows.")
		}},
		{at: formalAt, name: "send the formal request", do: func(x *exercise) error {
			return x.fire("ES", "supervisor", "es-provisional-arrest", workflow.EventInput{Event: workflow.EventProvideInfo,
				Comment: "Formal request for extradition (ECE Art. 12) with the certified arrest warrant, the statement of the offences and Art. 177 bis of the Criminal Code."})
		}},
	}
}

func TestUrgentExtradition(t *testing.T) {
	t.Parallel()
	t.Run("in time", func(t *testing.T) {
		t.Parallel()
		x := newExercise(t, bundled(t, "urgent-extradition"), 7)
		x.play(extraditionScript(10*day), 25*day)
		rep := x.debrief()
		logReport(t, x, rep)
		if rep.Score != 75 || rep.MaxScore != 75 || len(rep.Findings) != 0 {
			t.Errorf("score %d/%d with findings %+v, want 75/75 and none", rep.Score, rep.MaxScore, rep.Findings)
		}
		arrest := x.byKey("ES", "es-provisional-arrest")
		if arrest.State != workflow.StateExecuted {
			t.Errorf("the extradition is %s, want executed (surrender granted) by Italy's bot", arrest.State)
		}
		var kinds []string
		for _, d := range arrest.DeadlinesAt(x.clock.Now()) {
			kinds = append(kinds, d.Kind+":"+string(d.Status))
		}
		if want := []string{"provisional_arrest_may_release:met", "provisional_arrest_must_release:met"}; !slices.Equal(kinds, want) {
			t.Errorf("deadlines %v, want %v", kinds, want)
		}
	})
	t.Run("formal request late", func(t *testing.T) {
		t.Parallel()
		x := newExercise(t, bundled(t, "urgent-extradition"), 7)
		x.play(extraditionScript(20*day), 25*day)
		rep := x.debrief()
		logReport(t, x, rep)
		if r := ruleResult(t, rep, "formal-request"); r.Met || r.Earned != 0 {
			t.Errorf("formal-request met %v, want not: it came after 18 days", r.Met)
		}
		missed := findings(rep, training.FindingMissedDeadline)
		if len(missed) != 1 || !strings.HasPrefix(missed[0].Detail, "provisional_arrest_may_release missed") || missed[0].Points != -15 {
			t.Errorf("missed deadlines %+v, want the 18 days of ECE Art. 16(4), -15", missed)
		}
		if len(findings(rep, training.FindingLate)) != 1 {
			t.Errorf("late findings %+v, want the formal request", findings(rep, training.FindingLate))
		}
		if rep.Score != 35 {
			t.Errorf("score %d, want 35 (75 - 25 - 15)", rep.Score)
		}
	})
}

// refusalScript is the Italian trainees' play; ground is what they refuse
// on, and mistake adds a refusal on a ground the instrument does not admit.
func refusalScript(ground string, mistake bool) []action {
	script := []action{
		{at: 6 * hour, name: "acknowledge", do: func(x *exercise) error {
			return x.fire("IT", "officer", "ng-extradition", workflow.EventInput{Event: workflow.EventAcknowledge})
		}},
	}
	if mistake {
		script = append(script, action{at: 1 * day, name: "refuse on an EAW ground", denied: true, do: func(x *exercise) error {
			return x.fire("IT", "supervisor", "ng-extradition", workflow.EventInput{Event: workflow.EventRefuse,
				Grounds: []string{"resident_serving_sentence"}, Comment: "He serves his sentence in Italy."})
		}})
	}
	return append(script,
		action{at: 2 * day, name: "consult Nigeria", do: func(x *exercise) error {
			return x.post("IT", "officer", "ng-extradition", workflow.MessageKindConsultation,
				"Italy considers refusing: murder under section 319 of the Criminal Code Law of Edo State carries the death penalty. Can Nigeria comment before we decide (UNTOC Art. 16(16))?")
		}},
		action{at: 4 * day, name: "refuse", do: func(x *exercise) error {
			return x.fire("IT", "supervisor", "ng-extradition", workflow.EventInput{Event: workflow.EventRefuse,
				Grounds: []string{ground},
				Comment: "Extradition is refused: the offence is punishable by death under the law of the requesting state (Art. 698(2) c.p.p.; Constitutional Court judgment 223/1996)."})
		}},
	)
}

func TestRefusalDeathPenalty(t *testing.T) {
	t.Parallel()
	t.Run("right ground after a wrong try", func(t *testing.T) {
		t.Parallel()
		x := newExercise(t, bundled(t, "refusal-death-penalty"), 3)
		x.play(refusalScript("death_penalty", true), 12*day)
		rep := x.debrief()
		logReport(t, x, rep)
		wrong := findings(rep, training.FindingWrongGround)
		if len(wrong) != 1 || !strings.Contains(wrong[0].Detail, "resident_serving_sentence") || wrong[0].Points != -15 {
			t.Errorf("wrong grounds %+v, want the EAW ground the UNTOC does not admit, -15", wrong)
		}
		if rep.Score != 50 || rep.MaxScore != 65 {
			t.Errorf("score %d/%d, want 50/65", rep.Score, rep.MaxScore)
		}
		if got := x.byKey("IT", "ng-extradition").State; got != workflow.StateRefused {
			t.Errorf("the request is %s, want refused", got)
		}
	})
	t.Run("refused on nationality", func(t *testing.T) {
		t.Parallel()
		x := newExercise(t, bundled(t, "refusal-death-penalty"), 3)
		x.play(refusalScript("nationality", false), 12*day)
		rep := x.debrief()
		logReport(t, x, rep)
		if r := ruleResult(t, rep, "refuse-death-penalty"); r.Met || !strings.Contains(r.Reason, "nationality") {
			t.Errorf("refuse-death-penalty met %v (%s), want not met: he is no Italian national", r.Met, r.Reason)
		}
		wrong := findings(rep, training.FindingWrongGround)
		if len(wrong) != 1 || wrong[0].Trainee != trainee("IT", "supervisor") {
			t.Errorf("wrong grounds %+v, want the supervisor's nationality", wrong)
		}
		if rep.Score != 10 {
			t.Errorf("score %d, want 10 (10 + 15 - 15)", rep.Score)
		}
	})
}
