package web_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/exercise/exercisetest"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestBrowser_traineeLiveUpdates: a trainee's inbox, left open, says in
// its polite live region that the requests changed when the simulated
// authority of the trainee's world sends one (static/live.js over the
// world's own event stream), and says nothing of a change in another
// exercise or in the live world. Checked with axe-core at 1280 and 390 px.
func TestBrowser_traineeLiveUpdates(t *testing.T) {
	c := newChrome(t, "")
	ctx := context.Background()
	w := testworld.New(t, testdb.SQLite, testworld.Options{})
	srv := exercisetest.New(t, w.Store, w.Auth, w.Workflow, &exercisetest.Engine{}, nil)
	ts := httptest.NewServer(srv.Handler)
	t.Cleanup(func() {
		ts.CloseClientConnections() // the page's event stream stays open until then
		ts.Close()
	})
	c.base = ts.URL

	trainer := workflow.Actor{Username: "trainer", Role: workflow.RoleTrainer}
	start := func() (string, exercise.Account) {
		v, accounts, err := srv.Manager.Create(ctx, trainer, exercise.CreateInput{Scenario: exercisetest.ScenarioID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Manager.SetClock(ctx, trainer, v.ID, exercise.ClockAction{Action: "start"}); err != nil {
			t.Fatal(err)
		}
		return v.ID, accounts[0]
	}
	idA, traineeA := start()
	idB, _ := start()
	// sendToIT has ES, simulated in the exercise's world, send IT a request.
	sendToIT := func(id, title string) workflow.Request {
		world, err := srv.Manager.World(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		es := workflow.Actor{UserID: "bot-ES", Username: "sim.ES", Role: workflow.RoleSupervisor, Authority: "ES"}
		r, err := world.Service.Create(ctx, es, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "IT", Title: title})
		if err != nil {
			t.Fatal(err)
		}
		if r, err = world.Service.Fire(ctx, es, r.ID, workflow.EventInput{Event: workflow.EventSend}); err != nil {
			t.Fatal(err)
		}
		return r
	}

	c.open("/login")
	c.do(chromedp.SendKeys(chromedp.ID("f-username"), traineeA.Username), chromedp.SendKeys(chromedp.ID("f-password"), traineeA.Password))
	c.press(`form[action="/login"] button[type="submit"]`)
	c.contains(".exercise-banner", "Training exercise")
	c.open("/inbox")
	c.waitFor(liveConnected)

	// Another exercise's change, and a live one: nothing is said.
	sendToIT(idB, "Exercise B: phone records")
	live, err := w.Workflow.Create(ctx, workflow.Actor{Username: "es.officer", Role: workflow.RoleOfficer, Authority: "ES"},
		workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "IT", Title: "Live: witness statements"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Workflow.Fire(ctx, workflow.Actor{Username: "es.supervisor", Role: workflow.RoleSupervisor, Authority: "ES"},
		live.ID, workflow.EventInput{Event: workflow.EventSend}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * exercisetest.EventPoll)
	if got := c.text("#live-changes"); strings.TrimSpace(got) != "" {
		t.Fatalf("the trainee's live region speaks of another world's change: %q", got)
	}

	// The trainee's own world: said, and the reload shows it.
	r := sendToIT(idA, "Exercise A: bank records of the ring's couriers")
	c.waitFor(`document.getElementById('live-changes').textContent.includes('The requests have changed')`)
	c.contains("#live-changes", r.Reference, "Reload to see it")
	c.shoot("trainee-inbox-live")
	c.press("#live-changes a")
	c.contains("tbody", "bank records of the ring's couriers")
	if got := c.text("main"); strings.Contains(got, "phone records") || strings.Contains(got, "witness statements") {
		t.Errorf("LEAK: the trainee's inbox shows another world's case:\n%s", got)
	}
}
