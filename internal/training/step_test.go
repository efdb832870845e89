package training_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/training"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// sendFreezing starts the Palermo world and sends the EIO at 2h, so that at
// 3d1h Spain's acknowledgement and two injects are all due (Spain's
// execution then comes its delay after the acknowledgement is made).
func sendFreezing(t *testing.T, x *exercise) {
	t.Helper()
	ctx := context.Background()
	if err := training.Start(ctx, x.world); err != nil {
		t.Fatal(err)
	}
	if err := training.Start(ctx, x.world); err != nil { // a repeat puts nothing twice on the table
		t.Fatal(err)
	}
	x.clock.Set(epoch.Add(2 * hour))
	if err := completeFreezing(x); err != nil {
		t.Fatal(err)
	}
	if err := x.fire("IT", "supervisor", "it-freezing", workflow.EventInput{Event: workflow.EventSend}); err != nil {
		t.Fatal(err)
	}
	x.clock.Set(epoch.Add(3*day + time.Hour))
}

func TestStep_twiceForOneInstant(t *testing.T) {
	t.Parallel()
	x := newExercise(t, bundled(t, "palermo-ring"), 42)
	sendFreezing(t, x)
	ctx := context.Background()
	first, err := training.Step(ctx, x.world)
	if err != nil {
		t.Fatal(err)
	}
	after := x.history()
	second, err := training.Step(ctx, x.world)
	if err != nil {
		t.Fatal(err)
	}
	if again := x.history(); !slices.Equal(after, again) {
		t.Errorf("the second Step changed the world:\n%s\nthen\n%s", strings.Join(after, "\n"), strings.Join(again, "\n"))
	}
	if !first.Equal(second) {
		t.Errorf("next %s then %s, want the same answer", first, second)
	}
	wantOnce(t, after)
}

// wantOnce checks that each of the moves due at 3d1h was made exactly once.
func wantOnce(t *testing.T, history []string) {
	t.Helper()
	for _, want := range []string{" acknowledge sim.es", "NG-MLA-2026-000002", "message sim.ng The High Court of Edo State"} {
		n := 0
		for _, l := range history {
			if strings.Contains(l, want) && (want != "NG-MLA-2026-000002" || strings.Contains(l, " send ")) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q happened %d times, want once:\n%s", want, n, strings.Join(history, "\n"))
		}
	}
}

// TestStep_twoServers steps one world from two services over the same
// database file at the same instant, as two servers would: every move and
// inject happens once.
func TestStep_twoServers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		stepTwoServers(t, b.DSN(t))
	})
}

func stepTwoServers(t *testing.T, dsn string) {
	s := bundled(t, "palermo-ring")
	x := newExerciseAt(t, s, 42, dsn)
	sendFreezing(t, x)
	y := newExerciseAt(t, s, 42, dsn)
	y.clock.Set(x.clock.Now())
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, w := range []training.World{x.world, y.world} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = training.Step(ctx, w)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantOnce(t, x.history())
}

func TestStep_deterministic(t *testing.T) {
	t.Parallel()
	play := func(seed int64) []string {
		x := newExercise(t, bundled(t, "palermo-ring"), seed)
		x.play(palermoScript(true), 12*day)
		return x.history()
	}
	a, b := play(42), play(42)
	if !slices.Equal(a, b) {
		t.Errorf("one seed, two histories:\n%s\n\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if c := play(43); slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 played the same history; the delays ignore the seed")
	}
}

func TestApplyInject(t *testing.T) {
	t.Parallel()
	x := newExercise(t, bundled(t, "refusal-death-penalty"), 3)
	ctx := context.Background()
	if err := training.Start(ctx, x.world); err != nil {
		t.Fatal(err)
	}
	in, ok := x.world.Scenario.Inject("ng-assurance")
	if !ok {
		t.Fatal("no inject ng-assurance")
	}
	for range 2 {
		if err := training.ApplyInject(ctx, x.world, in); err != nil {
			t.Fatal(err)
		}
	}
	count := func(body string) int {
		n := 0
		for _, l := range x.history() {
			if strings.Contains(l, body) {
				n++
			}
		}
		return n
	}
	if n := count("undertakes to ask the court"); n != 1 {
		t.Errorf("the manual inject was applied %d times, want once", n)
	}
	// An ad hoc inject: the trainer's own message from the counterpart.
	x.clock.Set(epoch.Add(time.Hour))
	err := training.ApplyInject(ctx, x.world, adhocMessage("The suspect's lawyer has written to our embassy."))
	if err != nil {
		t.Fatal(err)
	}
	if n := count("lawyer has written"); n != 1 {
		t.Errorf("the ad hoc inject was applied %d times, want once", n)
	}
	// An ad hoc new request needs no key, and a later inject names it by
	// its reference: Nigeria withdraws it.
	err = training.ApplyInject(ctx, x.world, scenario.Inject{Title: "A second request", Kind: scenario.InjectRequest,
		NewRequest: &scenario.RequestSpec{From: "NG", To: "IT", Kind: "mla", Instrument: "untoc",
			Title: "Criminal records of Efosa Omoregie", Measures: []string{"criminal_records"}}})
	if err != nil {
		t.Fatal(err)
	}
	second := x.request("IT", "Criminal records of Efosa Omoregie")
	err = training.ApplyInject(ctx, x.world, scenario.Inject{Title: "Nigeria withdraws", Kind: scenario.InjectEvent,
		From: "NG", Request: second.Reference, Event: &scenario.EventSpec{Event: "withdraw", Comment: "No longer needed."}})
	if err != nil {
		t.Fatal(err)
	}
	if got := x.request("IT", second.Title).State; got != workflow.StateWithdrawn {
		t.Errorf("the ad hoc request is %s, want withdrawn by the ad hoc event", got)
	}
	// A wrong one is refused, field by field.
	bad := adhocMessage("")
	bad.From = "IT"
	err = training.ApplyInject(ctx, x.world, bad)
	var e *workflow.Error
	if !asError(err, &e) || e.Code != workflow.ErrValidation || e.Fields["from"] == "" || e.Fields["message.body"] == "" {
		t.Errorf("a bad inject answered %v, want validation_failed on from and message.body", err)
	}
}

func TestReport_outputs(t *testing.T) {
	t.Parallel()
	x := newExercise(t, bundled(t, "refusal-death-penalty"), 3)
	x.play(refusalScript("death_penalty", true), 12*day)
	rep := x.debrief()

	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "score", "max_score", "trainees", "requests", "rules", "findings"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("the JSON has no %q: %s", k, raw)
		}
	}
	req := doc["requests"].([]any)[0].(map[string]any)
	for _, k := range []string{"reference", "requesting_authority", "timeline", "deadlines"} {
		if _, ok := req[k]; !ok {
			t.Errorf("a request of the JSON has no %q", k)
		}
	}

	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "record,trainee,authority,reference,at,item,status,points,detail" {
		t.Errorf("CSV header %q", got)
	}
	var sawWrong, sawScore bool
	for _, r := range rows[1:] {
		sawWrong = sawWrong || r[0] == "finding" && r[5] == training.FindingWrongGround && r[7] == "-15"
		sawScore = sawScore || r[0] == "score" && r[5] == "team" && r[7] == "50/65"
	}
	if !sawWrong || !sawScore {
		t.Errorf("CSV lacks the wrong ground (%v) or the team score (%v):\n%v", sawWrong, sawScore, rows)
	}

	svg := rep.TimelineSVG()
	if err := xml.Unmarshal(svg, new(struct{})); err != nil {
		t.Fatalf("the SVG is not well-formed: %v", err)
	}
	for _, want := range []string{`role="img"`, `aria-labelledby="debrief-title debrief-desc"`, `<title id="debrief-title">`,
		`<desc id="debrief-desc">Score 50 of 65.`, "NG-EXT-2026-000001", "refused attempt"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
}

// TestApplyInject_postponeAndResume: the trainer's manual postponement
// holds Spain's bot back; resumed, it moves on.
func TestApplyInject_postponeAndResume(t *testing.T) {
	t.Parallel()
	x := newExercise(t, bundled(t, "palermo-ring"), 42)
	ctx := context.Background()
	sendFreezing(t, x) // at 3d1h Spain acknowledges
	if _, err := training.Step(ctx, x.world); err != nil {
		t.Fatal(err)
	}
	apply := func(id string) {
		t.Helper()
		in, _ := x.world.Scenario.Inject(id)
		if err := training.ApplyInject(ctx, x.world, in); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	apply("es-postpones")
	x.clock.Set(epoch.Add(10 * day))
	if _, err := training.Step(ctx, x.world); err != nil {
		t.Fatal(err)
	}
	if got := x.byKey("IT", "it-freezing").State; got != workflow.StatePostponed {
		t.Fatalf("the EIO is %s, want postponed: the bot waits", got)
	}
	apply("es-resumes")
	x.clock.Set(epoch.Add(13 * day))
	if _, err := training.Step(ctx, x.world); err != nil {
		t.Fatal(err)
	}
	// Resumed after the date the assistance was needed by, the EIO is no
	// longer complete (UNTOC 18(24)): the bot asks for a new date rather
	// than execute.
	r := x.byKey("IT", "it-freezing")
	h, err := x.world.Service.History(ctx, x.actor("IT", "officer"), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := h[len(h)-1]
	if r.State != workflow.StateInfoRequested || last.Actor != "sim.es" || !strings.Contains(last.Comment, "- due_date:") {
		t.Errorf("the EIO is %s after %s by %s (%q), want Spain asking for a new due date", r.State, last.Event, last.Actor, last.Comment)
	}
}
