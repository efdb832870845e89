package exercise_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/exercise/exercisetest"
	"github.com/mla-flow/mla-flow/internal/httpapi"
	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit/apispec"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// client calls a server as one caller.
type client struct {
	t     *testing.T
	url   string
	token string
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is no JSON object: %v: %s", a.status, err, a.body)
	}
	return m
}

func (c client) do(method, path string, body any) answer {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, body: b, header: res.Header}
}

func (c client) expect(status int, method, path string, body any) map[string]any {
	c.t.Helper()
	a := c.do(method, path, body)
	if a.status != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, a.status, status, a.body)
	}
	if len(a.body) == 0 || a.header.Get("Content-Type") != "application/json" {
		return nil
	}
	return a.json(c.t)
}

func login(t *testing.T, url, username, password string) client {
	t.Helper()
	c := client{t: t, url: url}
	m := c.expect(http.StatusOK, "POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password})
	c.token = m["access_token"].(string)
	return c
}

func titles(t *testing.T, m map[string]any) []string {
	t.Helper()
	var out []string
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any)["title"].(string))
	}
	return out
}

// TestExerciseWorld runs one exercise through the API: created with its
// trainee accounts, its clock started, paused, advanced; its trainee sees
// only the world and the simulated authority moves on the exercise clock;
// injects, debrief, end and delete, each audited in the live chain; and
// after delete the trainee's token is refused.
func TestExerciseWorld(t *testing.T) {
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		ctx := context.Background()
		w := testworld.New(t, b, testworld.Options{})
		engine := &exercisetest.Engine{}
		srv := exercisetest.New(t, w.Store, w.Auth, w.Workflow, engine, nil)
		ts := httptest.NewServer(apispec.Checked(t, srv.Handler, httpapi.OpenAPI())) // the training endpoints as described
		defer ts.Close()

		trainer := login(t, ts.URL, "trainer", demo.Password)
		officer := login(t, ts.URL, "it.officer", demo.Password)

		// Only the trainer manages exercises.
		officer.expect(http.StatusForbidden, "GET", "/api/v1/scenarios", nil)
		officer.expect(http.StatusForbidden, "POST", "/api/v1/exercises", map[string]any{"scenario": exercisetest.ScenarioID})
		sc := trainer.expect(http.StatusOK, "GET", "/api/v1/scenarios", nil)
		item := sc["items"].([]any)[0].(map[string]any)
		if item["id"] != exercisetest.ScenarioID || len(item["trainee_roles"].([]any)) != 1 || len(item["authorities"].([]any)) != 3 {
			t.Fatalf("scenarios: %v", sc)
		}

		// Bad input.
		bad := trainer.expect(http.StatusUnprocessableEntity, "POST", "/api/v1/exercises", map[string]any{"scenario": "nope", "trainees": 500})
		fields := bad["error"].(map[string]any)["fields"].(map[string]any)
		if fields["scenario"] == nil || fields["trainees"] == nil {
			t.Fatalf("fields: %v", bad)
		}
		trainer.expect(http.StatusNotFound, "GET", "/api/v1/exercises/nope", nil)
		trainer.expect(http.StatusNotFound, "POST", "/api/v1/exercises/nope/clock", map[string]any{"action": "start"})

		created := trainer.expect(http.StatusCreated, "POST", "/api/v1/exercises", map[string]any{"scenario": exercisetest.ScenarioID, "seed": 7, "trainees": 2})
		id := created["id"].(string)
		clock := created["clock"].(map[string]any)
		if created["state"] != "ready" || clock["running"] != false || !strings.HasPrefix(clock["now"].(string), "2026-03-02T09:00:00") || created["seed"] != 7.0 {
			t.Fatalf("created: %v", created)
		}
		accounts := created["accounts"].([]any)
		if len(accounts) != 2 {
			t.Fatalf("accounts: %v", accounts)
		}
		acc := accounts[0].(map[string]any)
		if acc["authority"] != "IT" || acc["role"] != "supervisor" || len(acc["password"].(string)) < 12 {
			t.Fatalf("account: %v", acc)
		}
		got := trainer.expect(http.StatusOK, "GET", "/api/v1/exercises/"+id, nil)
		if _, shown := got["accounts"]; shown || len(got["trainees"].([]any)) != 2 {
			t.Fatalf("the passwords are shown once only, the trainees always: %v", got)
		}
		if b.Name == "sqlite" {
			matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dsnPath(t, w)), "exercises", "ex_*.db"))
			if len(matches) != 1 {
				t.Fatalf("world files: %v", matches)
			}
		}

		trainee := login(t, ts.URL, acc["username"].(string), acc["password"].(string))
		if auth.TokenWorld(trainee.token) != id {
			t.Fatalf("the trainee's token names world %q, want %q", auth.TokenWorld(trainee.token), id)
		}
		// The trainee's refresh token finds its world, and only there.
		grant := (client{t: t, url: ts.URL}).expect(http.StatusOK, "POST", "/api/v1/auth/login",
			map[string]string{"username": acc["username"].(string), "password": acc["password"].(string)})
		refreshed := (client{t: t, url: ts.URL}).expect(http.StatusOK, "POST", "/api/v1/auth/refresh",
			map[string]string{"refresh_token": grant["refresh_token"].(string)})
		if auth.TokenWorld(refreshed["access_token"].(string)) != id || auth.RefreshTokenWorld(refreshed["refresh_token"].(string)) != id {
			t.Fatalf("refreshed: %v", refreshed)
		}
		me := trainee.expect(http.StatusOK, "GET", "/api/v1/me", nil)
		if me["username"] != acc["username"] {
			t.Fatalf("me: %v", me)
		}
		// The world has the scenario's authorities, the live one does not.
		if !strings.Contains(string(trainee.do("GET", "/api/v1/authorities", nil).body), "SIMX") ||
			strings.Contains(string(officer.do("GET", "/api/v1/authorities", nil).body), "SIMX") {
			t.Fatal("the scenario's authority must be the world's only")
		}
		if n := len(trainee.expect(http.StatusOK, "GET", "/api/v1/requests", nil)["items"].([]any)); n != 0 {
			t.Fatalf("before the start the world has %d requests", n)
		}

		trainer.expect(http.StatusUnprocessableEntity, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "jump"})
		trainer.expect(http.StatusUnprocessableEntity, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "start", "speed": -1})
		trainer.expect(http.StatusConflict, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "pause"})
		started := trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "start", "speed": 60})
		if started["state"] != "running" || started["clock"].(map[string]any)["speed"] != 60.0 || started["clock"].(map[string]any)["running"] != true {
			t.Fatalf("started: %v", started)
		}
		inWorld := titles(t, trainee.expect(http.StatusOK, "GET", "/api/v1/requests", nil))
		if len(inWorld) != 1 || inWorld[0] != exercisetest.StartTitle {
			t.Fatalf("the trainee sees %v", inWorld)
		}
		for _, title := range titles(t, officer.expect(http.StatusOK, "GET", "/api/v1/requests?limit=200", nil)) {
			if title == exercisetest.StartTitle {
				t.Fatal("a live officer sees the exercise's request")
			}
		}
		for _, title := range inWorld {
			if strings.Contains(title, "demo") {
				t.Fatal("unreachable")
			}
		}

		// The trainee works: a request to the simulated ES, sent.
		r := trainee.expect(http.StatusCreated, "POST", "/api/v1/requests", map[string]any{
			"kind": "mla", "requested_authority": "ES", "title": "Trainee's request for hearing by video link",
		})
		rid := r["id"].(string)
		trainee.expect(http.StatusOK, "POST", "/api/v1/requests/"+rid+"/events", map[string]any{"event": "send"})
		paused := trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "pause"})
		if paused["state"] != "paused" || paused["clock"].(map[string]any)["running"] != false {
			t.Fatalf("paused: %v", paused)
		}
		now1 := paused["clock"].(map[string]any)["now"]
		time.Sleep(20 * time.Millisecond)
		if again := trainer.expect(http.StatusOK, "GET", "/api/v1/exercises/"+id, nil); again["clock"].(map[string]any)["now"] != now1 {
			t.Fatal("a paused clock moved")
		}
		if err := srv.Manager.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if st := trainee.expect(http.StatusOK, "GET", "/api/v1/requests/"+rid, nil)["state"]; st != "sent" {
			t.Fatalf("the bot moved before its time, on the exercise clock: %v", st)
		}
		adv := trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "advance", "by": "36h"})
		advNow, _ := time.Parse(time.RFC3339, adv["clock"].(map[string]any)["now"].(string))
		before, _ := time.Parse(time.RFC3339, now1.(string))
		if d := advNow.Sub(before); d != 36*time.Hour {
			t.Fatalf("advanced by %s", d)
		}
		if st := trainee.expect(http.StatusOK, "GET", "/api/v1/requests/"+rid, nil)["state"]; st != "acknowledged" {
			t.Fatalf("after 36 hours the simulated ES has not acknowledged: %v", st)
		}
		trainer.expect(http.StatusUnprocessableEntity, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "advance", "by": "soon"})
		trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "resume"})

		// Injects.
		trainer.expect(http.StatusUnprocessableEntity, "POST", "/api/v1/exercises/"+id+"/injects", map[string]any{"inject": "nope"})
		trainer.expect(http.StatusUnprocessableEntity, "POST", "/api/v1/exercises/"+id+"/injects", map[string]any{})
		trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/injects", map[string]any{"inject": "late-records"})
		if n := len(trainee.expect(http.StatusOK, "GET", "/api/v1/requests", nil)["items"].([]any)); n != 3 {
			t.Fatalf("after the inject the trainee sees %d requests, want 3", n)
		}

		// Debrief as JSON and CSV.
		d := trainer.expect(http.StatusOK, "GET", "/api/v1/exercises/"+id+"/debrief", nil)
		if d["trainees"] != 2.0 {
			t.Fatalf("debrief: %v", d)
		}
		csvAnswer := trainer.do("GET", "/api/v1/exercises/"+id+"/debrief?format=csv", nil)
		if csvAnswer.status != 200 || !strings.HasPrefix(csvAnswer.header.Get("Content-Type"), "text/csv") || !strings.Contains(string(csvAnswer.body), "requests,trainees") {
			t.Fatalf("csv: %d %s", csvAnswer.status, csvAnswer.body)
		}
		trainer.expect(http.StatusBadRequest, "GET", "/api/v1/exercises/"+id+"/debrief?format=pdf", nil)
		officer.expect(http.StatusForbidden, "GET", "/api/v1/exercises/"+id+"/debrief", nil)

		// A trainee has no exercise endpoints, the live router refuses the
		// trainee's token, the world's the live token.
		trainee.expect(http.StatusNotFound, "GET", "/api/v1/exercises", nil)
		liveOnly := httptest.NewServer(srv.Live)
		defer liveOnly.Close()
		client{t: t, url: liveOnly.URL, token: trainee.token}.expect(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		world, err := srv.Manager.World(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		worldOnly := httptest.NewServer(world.Handler)
		defer worldOnly.Close()
		client{t: t, url: worldOnly.URL, token: officer.token}.expect(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		// A live user logging in reaches live, not a world.
		login(t, ts.URL, "es.officer", demo.Password)

		ended := trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/end", nil)
		if ended["state"] != "ended" || ended["ended_at"] == nil {
			t.Fatalf("ended: %v", ended)
		}
		trainer.expect(http.StatusConflict, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "resume"})
		// An ended world is read, not changed.
		trainee.expect(http.StatusOK, "GET", "/api/v1/requests/"+rid, nil)
		refused := trainee.expect(http.StatusConflict, "POST", "/api/v1/requests", map[string]any{"kind": "mla", "requested_authority": "ES", "title": "Too late"})
		if refused["error"].(map[string]any)["code"] != "invalid_transition" {
			t.Fatalf("after the end: %v", refused)
		}
		trainer.expect(http.StatusConflict, "POST", "/api/v1/exercises/"+id+"/end", nil)
		list := trainer.expect(http.StatusOK, "GET", "/api/v1/exercises", nil)
		if len(list["items"].([]any)) != 1 {
			t.Fatalf("list: %v", list)
		}

		officer.expect(http.StatusForbidden, "DELETE", "/api/v1/exercises/"+id, nil)
		trainer.expect(http.StatusNoContent, "DELETE", "/api/v1/exercises/"+id, nil)
		trainer.expect(http.StatusNotFound, "DELETE", "/api/v1/exercises/"+id, nil)
		trainee.expect(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		trainee.expect(http.StatusUnauthorized, "GET", "/api/v1/requests", nil)
		(client{t: t, url: ts.URL}).expect(http.StatusUnauthorized, "POST", "/api/v1/auth/login",
			map[string]string{"username": acc["username"].(string), "password": acc["password"].(string)})
		if b.Name == "sqlite" {
			matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dsnPath(t, w)), "exercises", "ex_*"))
			if len(matches) != 0 {
				t.Fatalf("the world's files outlive it: %v", matches)
			}
		}

		// Every change, and every refusal, in the live chain.
		entries, _, err := w.Store.AuditEntries(ctx, workflow.AuditFilter{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			seen[e.Action+"/"+e.Outcome] = true
		}
		for _, want := range []string{"exercise.create/ok", "exercise.create/denied", "exercise.clock/ok", "exercise.clock/denied",
			"exercise.inject/ok", "exercise.inject/denied", "exercise.end/ok", "exercise.delete/ok", "exercise.delete/denied"} {
			if !seen[want] {
				t.Errorf("no %s in the live audit log", want)
			}
		}
		if v, err := w.Store.VerifyAudit(ctx); err != nil || !v.OK {
			t.Fatalf("live chain: %v %+v", err, v)
		}
	})
}

// dsnPath is the live SQLite file of w.
func dsnPath(t *testing.T, w *testworld.World) string {
	t.Helper()
	var file string
	if err := w.Store.DB().Raw("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file).Error; err != nil || file == "" {
		t.Fatalf("database file: %v", err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestExerciseWorld_survivesRestart: an exercise's clock and world are in
// the database, not in the server: a new server over the same database
// (or a second one beside it) finds the exercise at the same exercise
// time, opens its world, and takes its trainee's token.
func TestExerciseWorld_survivesRestart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		w := testworld.New(t, b, testworld.Options{})
		first := exercisetest.New(t, w.Store, w.Auth, w.Workflow, &exercisetest.Engine{}, nil)
		ts := httptest.NewServer(first.Handler)
		trainer := login(t, ts.URL, "trainer", demo.Password)
		created := trainer.expect(http.StatusCreated, "POST", "/api/v1/exercises", map[string]any{"scenario": exercisetest.ScenarioID})
		id := created["id"].(string)
		acc := created["accounts"].([]any)[0].(map[string]any)
		trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "start"})
		paused := trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "pause"})
		trainee := login(t, ts.URL, acc["username"].(string), acc["password"].(string))
		ts.Close()
		first.Manager.Close()

		second := exercisetest.New(t, w.Store, w.Auth, w.Workflow, &exercisetest.Engine{}, nil)
		ts2 := httptest.NewServer(second.Handler)
		defer ts2.Close()
		trainer.url, trainee.url = ts2.URL, ts2.URL
		again := trainer.expect(http.StatusOK, "GET", "/api/v1/exercises/"+id, nil)
		if again["clock"].(map[string]any)["now"] != paused["clock"].(map[string]any)["now"] || again["state"] != "paused" {
			t.Fatalf("after the restart: %v, before: %v", again, paused)
		}
		titles := titles(t, trainee.expect(http.StatusOK, "GET", "/api/v1/requests", nil))
		if len(titles) != 1 || titles[0] != exercisetest.StartTitle {
			t.Fatalf("after the restart the trainee sees %v", titles)
		}
	})
}

// TestExerciseWorld_injects: with the bundled Palermo scenario, a trainer
// applies one of its injects and an ad hoc one that names a request of
// the world by its key; the trainee finds both in the thread; a
// wrong ad hoc inject is refused field by field, and changes nothing.
func TestExerciseWorld_injects(t *testing.T) {
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		w := testworld.New(t, b, testworld.Options{})
		scenarios, err := scenario.Bundled()
		if err != nil {
			t.Fatal(err)
		}
		srv := exercisetest.New(t, w.Store, w.Auth, w.Workflow, exercise.NewTrainingEngine(scenarios), nil)
		ts := httptest.NewServer(apispec.Checked(t, srv.Handler, httpapi.OpenAPI()))
		defer ts.Close()
		trainer := login(t, ts.URL, "trainer", demo.Password)
		created := trainer.expect(http.StatusCreated, "POST", "/api/v1/exercises", map[string]any{"scenario": "palermo-ring", "seed": 3})
		id := created["id"].(string)
		trainer.expect(http.StatusConflict, "POST", "/api/v1/exercises/"+id+"/injects", map[string]any{"inject": "ng-status"})
		trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "start"})
		var trainee client
		for _, a := range created["accounts"].([]any) {
			if acc := a.(map[string]any); acc["role"] == "supervisor" {
				trainee = login(t, ts.URL, acc["username"].(string), acc["password"].(string))
			}
		}
		var requestID string
		for _, it := range trainee.expect(http.StatusOK, "GET", "/api/v1/requests", nil)["items"].([]any) {
			if r := it.(map[string]any); r["requesting_authority"] == "NG" {
				requestID = r["id"].(string)
			}
		}
		if requestID == "" {
			t.Fatal("no request from NG on the table")
		}
		trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/injects", map[string]any{"inject": "ng-status"})
		trainer.expect(http.StatusOK, "POST", "/api/v1/exercises/"+id+"/injects", map[string]any{"ad_hoc": map[string]any{
			"title": "Nigeria chases", "kind": "message", "from": "NG", "request": "ng-bank-records",
			"message": map[string]any{"kind": "message", "body": "Our prosecutor asks for the bank records by Friday."},
		}})
		bad := trainer.expect(http.StatusUnprocessableEntity, "POST", "/api/v1/exercises/"+id+"/injects", map[string]any{"ad_hoc": map[string]any{
			"kind": "message", "from": "IT", "request": "ng-bank-records", "message": map[string]any{"kind": "message", "body": "x"},
		}})
		fields := bad["error"].(map[string]any)["fields"].(map[string]any)
		if fields["ad_hoc.title"] == nil || fields["ad_hoc.from"] == nil {
			t.Fatalf("the wrong ad hoc inject: %v", bad)
		}
		trainer.expect(http.StatusUnprocessableEntity, "POST", "/api/v1/exercises/"+id+"/injects", map[string]any{"inject": "ng-status", "ad_hoc": map[string]any{"title": "x"}})
		thread := string(trainee.do("GET", "/api/v1/requests/"+requestID+"/messages", nil).body)
		if !strings.Contains(thread, "by Friday") || strings.Count(thread, `"body"`) < 2 {
			t.Fatalf("the thread lacks the injects: %s", thread)
		}
		if strings.Contains(thread, `"body":"x"`) {
			t.Fatal("a refused inject was applied")
		}
	})
}

// TestExercise_createdOnceUnderAKey: a creation repeated under one
// Idempotency-Key makes one exercise, and the repeat never shows the
// trainees' passwords again (nor are they kept to replay).
func TestExercise_createdOnceUnderAKey(t *testing.T) {
	w := testworld.New(t, testdb.SQLite, testworld.Options{})
	srv := exercisetest.New(t, w.Store, w.Auth, w.Workflow, &exercisetest.Engine{}, nil)
	ts := httptest.NewServer(apispec.Checked(t, srv.Handler, httpapi.OpenAPI()))
	defer ts.Close()
	trainer := login(t, ts.URL, "trainer", demo.Password)
	post := func() answer {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/exercises", strings.NewReader(`{"scenario":"`+exercisetest.ScenarioID+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+trainer.token)
		req.Header.Set("Idempotency-Key", "room 4, morning")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return answer{status: res.StatusCode, body: b, header: res.Header}
	}
	first, again := post(), post()
	if first.status != http.StatusCreated || !strings.Contains(string(first.body), `"password"`) {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	if again.status != http.StatusConflict || !strings.Contains(string(again.body), "idempotency_answer_lost") ||
		strings.Contains(string(again.body), "password") || again.header.Get("Location") != first.header.Get("Location") {
		t.Fatalf("repeat: %d %s %v", again.status, again.body, again.header)
	}
	if items := trainer.expect(http.StatusOK, "GET", "/api/v1/exercises", nil)["items"].([]any); len(items) != 1 {
		t.Fatalf("%d exercises, want 1", len(items))
	}

	// A trainee's log-in reaches the world also when its JSON comes
	// labelled as a form, as curl -d sends it and the API's log-in takes it.
	var created struct {
		Accounts []struct{ Username, Password string }
	}
	if err := json.Unmarshal(first.body, &created); err != nil || len(created.Accounts) == 0 {
		t.Fatalf("accounts: %v %s", err, first.body)
	}
	a := created.Accounts[0]
	res, err := http.Post(ts.URL+"/api/v1/auth/login", "application/x-www-form-urlencoded",
		strings.NewReader(`{"username":"`+a.Username+`","password":"`+a.Password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("trainee log-in with curl's content type: %d", res.StatusCode)
	}
}
