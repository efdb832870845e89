package web_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/exercise/exercisetest"
	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestBrowser_trainerRunsAnExercise: a trainer creates an exercise of the
// Palermo scenario, reads the accounts sheet and starts the clock; the
// trainee logs in through the ordinary log-in page, sees the exercise's
// banner on every page and only the world's requests, and acknowledges
// Nigeria's request; the trainer reads the debrief with its timeline.
// Every page is photographed at 1280 and 390 px and checked with axe-core.
func TestBrowser_trainerRunsAnExercise(t *testing.T) {
	c := newChrome(t, "")
	ctx := context.Background()
	w := testworld.New(t, testdb.SQLite, testworld.Options{})
	scenarios, err := scenario.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	srv := exercisetest.New(t, w.Store, w.Auth, w.Workflow, exercise.NewTrainingEngine(scenarios), nil)
	ts := httptest.NewServer(srv.Handler)
	defer ts.Close()
	c.base = ts.URL
	// A live case that no trainee may see.
	const liveTitle = "Live case: bank records of Rossi S.r.l."
	if _, err := w.Workflow.Create(ctx, workflow.Actor{Username: "it.officer", Role: workflow.RoleOfficer, Authority: "IT"},
		workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "NG", Title: liveTitle}); err != nil {
		t.Fatal(err)
	}

	c.login("trainer")
	c.open("/exercises")
	c.contains("main", "Operation Harmattan", "Create an exercise")
	c.shoot("exercises")
	c.do(chromedp.Click(chromedp.CSS(`input[name="scenario"][value="palermo-ring"]`)))
	c.load(201, chromedp.Click(chromedp.CSS(`form[action="/exercises"] button[type="submit"]`)))
	c.contains("main", "Trainee accounts", "they are not shown again")
	c.shoot("exercise-accounts")
	// The supervisor's line of the sheet.
	var username, password string
	rows, err := chromedp.Run(c.ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll('.accounts-sheet tbody tr')].map(r => [...r.querySelectorAll('code')].map(c => c.textContent).concat([r.cells[3].textContent.trim()]))`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) == 3 && r[2] == "supervisor" {
			username, password = r[0], r[1]
		}
	}
	if username == "" {
		t.Fatalf("no supervisor on the sheet: %v", rows)
	}
	c.press(`a.button[href^="/exercises/"]`)
	c.contains("main", "Ready, clock not started", username)
	c.do(chromedp.SetValue(chromedp.ID("f-speed"), "60"))
	c.press(`button[name="action"][value="start"]`)
	c.contains(".notice--ok", "The exercise has started")
	c.contains("main", "Running", "Injects", "An ad hoc message")
	// An empty message is refused next to its field; a message is sent.
	c.load(422, chromedp.Click(chromedp.CSS(`form[action$="/injects/ad-hoc"] button[type="submit"]`)))
	c.contains("#f-body-error", "required")
	c.do(chromedp.SendKeys(chromedp.ID("f-body"), "The prosecutor in Benin City asks for the bank records by Friday."))
	c.press(`form[action$="/injects/ad-hoc"] button[type="submit"]`)
	c.contains(".notice--ok", "The inject has been applied")
	c.shoot("exercise-running")
	exercisePath, _, _ := strings.Cut(c.location()[len(ts.URL):], "?")
	c.logout()

	// The trainee.
	c.open("/login")
	c.do(chromedp.SendKeys(chromedp.ID("f-username"), username), chromedp.SendKeys(chromedp.ID("f-password"), password))
	c.press(`form[action="/login"] button[type="submit"]`)
	c.contains(".exercise-banner", "Training exercise", "Operation Harmattan", "Exercise clock")
	c.shoot("trainee-dashboard")
	c.open("/inbox")
	c.contains(".exercise-banner", "Training exercise")
	c.contains("main", "Harmattan Money Transfer")
	if got := c.text("main"); strings.Contains(got, "Rossi") {
		t.Errorf("LEAK: the trainee sees the live case:\n%s", got)
	}
	c.shoot("trainee-inbox")
	c.press(`tbody a[href^="/requests/"]`)
	c.contains(".exercise-banner", "Training exercise")
	c.contains(".thread", "bank records by Friday")
	c.shoot("trainee-request")
	c.press(`form[action$="/events/acknowledge"] button[type="submit"]`)
	c.contains("main", "Acknowledged")
	c.logout()

	// Live, the exercise's case does not exist.
	c.login("it.officer")
	c.open("/inbox")
	if got := c.text("main"); strings.Contains(got, "Harmattan") {
		t.Errorf("LEAK: a live officer sees the exercise's case:\n%s", got)
	}
	if n, _ := chromedp.Run(c.ctx, chromedp.Evaluate[int](`document.querySelectorAll('.exercise-banner').length`)); n != 0 {
		t.Error("a live page carries the exercise banner")
	}
	c.logout()

	c.login("trainer")
	c.open(exercisePath + "/debrief")
	c.contains("main", "Debrief", "Team score", "Timeline", username)
	if n, _ := chromedp.Run(c.ctx, chromedp.Evaluate[int](`document.querySelectorAll('.debrief-chart svg').length`)); n != 1 {
		t.Error("the debrief has no timeline chart")
	}
	c.shoot("exercise-debrief")
}
