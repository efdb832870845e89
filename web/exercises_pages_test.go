package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/mla-flow/mla-flow/internal/exercise/exercisetest"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
)

// newExerciseApp is the test server with exercises, of the scripted
// engine of exercisetest.
func newExerciseApp(t *testing.T) *testApp {
	t.Helper()
	w := testworld.New(t, testdb.SQLite, testworld.Options{})
	srv := exercisetest.New(t, w.Store, w.Auth, w.Workflow, &exercisetest.Engine{}, nil)
	ts := httptest.NewServer(srv.Handler)
	t.Cleanup(ts.Close)
	return &testApp{srv: ts, handler: srv.Handler, wf: w.Workflow, auth: w.Auth, clock: w.Clock}
}

var exerciseLink = regexp.MustCompile(`href="/exercises/([0-9a-z]+)"`)

// TestExercisePages_forms: the trainer's forms show their problems next to
// the fields, keep what was typed, and say what happened; nobody else has
// the pages.
func TestExercisePages_forms(t *testing.T) {
	app := newExerciseApp(t)
	app.as(t, "it.supervisor").get("/exercises").must(t, http.StatusForbidden).has(t, "Only trainers run exercises.")
	app.as(t, "admin").get("/exercises").must(t, http.StatusForbidden)
	b := app.as(t, "trainer")
	b.get("/").must(t, http.StatusOK).has(t, `href="/exercises"`)
	b.get("/exercises").must(t, http.StatusOK).has(t, "No exercise yet", "Fixture exercise")

	b.post("/exercises", url.Values{"scenario": {exercisetest.ScenarioID}, "trainees": {"many"}}).
		must(t, http.StatusUnprocessableEntity).has(t, "The exercise was not created", "must be a whole number", `value="many"`)
	b.post("/exercises", url.Values{"scenario": {"nope"}}).
		must(t, http.StatusUnprocessableEntity).has(t, "is not a scenario")
	sheet := b.post("/exercises", url.Values{"scenario": {exercisetest.ScenarioID}, "trainees": {"2"}, "seed": {"11"}}).
		must(t, http.StatusCreated).has(t, "Trainee accounts", "-it-supervisor-1", "-it-supervisor-2", "they are not shown again")
	m := exerciseLink.FindStringSubmatch(sheet.body)
	if m == nil {
		t.Fatalf("no link to the exercise:\n%s", sheet.body)
	}
	path := "/exercises/" + m[1]
	b.get(path).must(t, http.StatusOK).has(t, "Ready, clock not started", "Start", "Seed", "11")
	if p := b.get(path); regexp.MustCompile(`name="action" value="pause"`).MatchString(p.body) {
		t.Error("a clock not started offers pause")
	}

	b.post(path+"/clock", url.Values{"action": {"start"}, "speed": {"fast"}}).
		must(t, http.StatusUnprocessableEntity).has(t, "must be a number")
	b.post(path+"/clock", url.Values{"action": {"start"}, "speed": {"120"}}).must(t, http.StatusSeeOther)
	b.get(path+"?done=clock_start").must(t, http.StatusOK).has(t, "The exercise has started", "Running", "120 exercise seconds")
	b.post(path+"/clock", url.Values{"action": {"advance"}, "by": {"soon"}}).
		must(t, http.StatusUnprocessableEntity).has(t, "Nothing was changed", `value="soon"`, "must be a duration")
	b.post(path+"/clock", url.Values{"action": {"resume"}}).
		must(t, http.StatusConflict).has(t, "cannot resume")
	b.post(path+"/injects", url.Values{"inject": {"late-records"}}).must(t, http.StatusSeeOther)
	b.post(path+"/clock", url.Values{"action": {"pause"}, "_csrf": {"forged"}}).must(t, http.StatusForbidden)

	b.get(path+"/debrief").must(t, http.StatusOK).has(t, "Debrief", "<svg")
	csv := b.get(path+"/debrief.csv").must(t, http.StatusOK)
	if csv.header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Errorf("csv: %s", csv.header.Get("Content-Type"))
	}
	b.post(path+"/end", nil).must(t, http.StatusSeeOther)
	b.get(path).must(t, http.StatusOK).has(t, "Ended").lacks(t, `value="start"`, "Advance the clock")
	b.post(path+"/delete", nil).must(t, http.StatusSeeOther)
	b.get("/exercises?done=exercise_deleted").must(t, http.StatusOK).has(t, "has been deleted", "No exercise yet")
	b.get(path).must(t, http.StatusNotFound)
}
