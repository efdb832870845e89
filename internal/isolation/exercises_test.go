package isolation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/exercise/exercisetest"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The isolation of training exercises (CONTRACT 7), which are worlds of
// their own: nothing of an exercise reaches a live user, nothing live
// reaches a trainee, and nothing of exercise A a trainee of exercise B;
// only the trainer manages exercises; and a deleted exercise's trainees
// are out at once. It walks every route of the server (the table of
// endpoints_test.go and exerciseEndpointTable) × every demo role, no
// sign-in, and a trainee of each of two exercises × the ids of each world,
// and reads every answer for the secrets of the worlds the caller is not
// in.

// exerciseEndpointTable lists the routes the exercises add to the live
// server (internal/httpapi/routes.go, web/routes.go): the trainer's.
func exerciseEndpointTable() []*endpoint {
	const get, post, del = http.MethodGet, http.MethodPost, http.MethodDelete
	return []*endpoint{
		{method: get, path: "/api/v1/scenarios", class: classAdmin},
		{method: post, path: "/api/v1/exercises", class: classAdmin},
		{method: get, path: "/api/v1/exercises", class: classAdmin},
		{method: get, path: "/api/v1/exercises/:id", class: classAdmin},
		{method: post, path: "/api/v1/exercises/:id/clock", class: classAdmin},
		{method: post, path: "/api/v1/exercises/:id/injects", class: classAdmin},
		{method: get, path: "/api/v1/exercises/:id/debrief", class: classAdmin},
		{method: post, path: "/api/v1/exercises/:id/end", class: classAdmin},
		{method: del, path: "/api/v1/exercises/:id", class: classAdmin},
		{method: get, path: "/exercises", class: classAdmin, web: true},
		{method: post, path: "/exercises", class: classAdmin, web: true},
		{method: get, path: "/exercises/:id", class: classAdmin, web: true},
		{method: post, path: "/exercises/:id/clock", class: classAdmin, web: true},
		{method: post, path: "/exercises/:id/injects", class: classAdmin, web: true},
		{method: post, path: "/exercises/:id/injects/ad-hoc", class: classAdmin, web: true},
		{method: post, path: "/exercises/:id/end", class: classAdmin, web: true},
		{method: post, path: "/exercises/:id/delete", class: classAdmin, web: true},
		{method: get, path: "/exercises/:id/debrief", class: classAdmin, web: true},
		{method: get, path: "/exercises/:id/debrief.csv", class: classAdmin, web: true},
	}
}

// xWorld is the fixture: the live demo world with a case of its own, and
// two running exercises, each with a case its trainee drafted.
type xWorld struct {
	tw      *testworld.World
	srv     *exercisetest.Server
	secrets map[string]string // world ("live", "A", "B") → the title only it holds
	reqs    map[string]string // world → the id of that case
	ids     map[string]string // "A", "B" → exercise id
	callers []*xCaller
}

// xCaller is one caller and the world it belongs to.
type xCaller struct {
	name      string
	world     string // "live", "A", "B"
	role      workflow.Role
	authority string
	token     string
	cookie    string
	csrf      string
}

func (x *xWorld) do(t testing.TB, c *xCaller, method, path string, body []byte, web bool) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if web {
		if c.cookie != "" {
			req.Header.Set("Cookie", c.cookie)
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if method == http.MethodGet && (path == "/api/v1/events" || path == "/events") {
		// An event stream never ends by itself: read what it sends in a
		// moment, from the outbox's start (every change of the world).
		ctx, cancel := context.WithTimeout(req.Context(), streamRead)
		defer cancel()
		req = req.WithContext(ctx)
		req.Header.Set("Last-Event-ID", "0")
	}
	rec := httptest.NewRecorder()
	x.srv.Handler.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

// streamedRequests reads the request ids of an event stream's events.
func streamedRequests(t testing.TB, what string, body []byte) map[string]bool {
	t.Helper()
	heard := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Data struct {
				RequestID string `json:"request_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Errorf("%s: event data %q: %v", what, data, err)
			continue
		}
		heard[ev.Data.RequestID] = true
	}
	return heard
}

func (x *xWorld) signIn(t *testing.T, c *xCaller, password string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": c.name, "password": password})
	status, _, body := x.do(t, &xCaller{}, "POST", "/api/v1/auth/login", b, false)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if status != 200 || json.Unmarshal(body, &out) != nil {
		t.Fatalf("log-in %s: %d %s", c.name, status, body)
	}
	c.token = out.AccessToken
	// The log-in page, as a browser.
	_, h, _ := x.do(t, &xCaller{}, "GET", "/login", nil, true)
	pre := cookieValue(h, "mla_csrf")
	form := url.Values{"username": {c.name}, "password": {password}, "_csrf": {pre}}
	status, h, body = x.do(t, &xCaller{cookie: "mla_csrf=" + pre}, "POST", "/login", []byte(form.Encode()), true)
	sess, tok := cookieValue(h, "mla_session"), cookieValue(h, "mla_csrf")
	if status != http.StatusSeeOther || sess == "" {
		t.Fatalf("web log-in %s: %d %s", c.name, status, body)
	}
	c.cookie, c.csrf = "mla_session="+sess+"; mla_csrf="+tok, tok
}

func newXWorld(t *testing.T, db testdb.Backend) *xWorld {
	t.Helper()
	ctx := context.Background()
	tw := testworld.New(t, db, testworld.Options{})
	x := &xWorld{
		tw:      tw,
		srv:     exercisetest.New(t, tw.Store, tw.Auth, tw.Workflow, &exercisetest.Engine{}, nil),
		secrets: map[string]string{}, reqs: map[string]string{}, ids: map[string]string{},
	}
	for _, w := range []string{"live", "A", "B"} {
		x.secrets[w] = "SECRET-OF-" + w + "-" + workflow.NewID()[18:]
	}
	live, err := tw.Workflow.Create(ctx, workflow.Actor{Username: "it.officer", Role: workflow.RoleOfficer, Authority: "IT"},
		workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: x.secrets["live"]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Workflow.Fire(ctx, workflow.Actor{Username: "it.supervisor", Role: workflow.RoleSupervisor, Authority: "IT"},
		live.ID, workflow.EventInput{Event: workflow.EventSend}); err != nil {
		t.Fatal(err)
	}
	x.reqs["live"] = live.ID
	for _, a := range actors {
		c := &xCaller{name: a.name, world: "live", role: a.role, authority: a.authority}
		if a.role != anonymous {
			x.signIn(t, c, demo.Password)
		}
		x.callers = append(x.callers, c)
	}
	trainer := x.callers[10]
	if trainer.name != "trainer" {
		t.Fatalf("the actors changed: %v", trainer.name)
	}
	for _, w := range []string{"A", "B"} {
		b, _ := json.Marshal(map[string]any{"scenario": exercisetest.ScenarioID})
		status, _, body := x.do(t, trainer, "POST", "/api/v1/exercises", b, false)
		var created struct {
			ID       string `json:"id"`
			Accounts []struct{ Username, Password string }
		}
		if status != 201 || json.Unmarshal(body, &created) != nil || len(created.Accounts) != 1 {
			t.Fatalf("create exercise %s: %d %s", w, status, body)
		}
		x.ids[w] = created.ID
		b, _ = json.Marshal(map[string]any{"action": "start"})
		if status, _, body := x.do(t, trainer, "POST", "/api/v1/exercises/"+created.ID+"/clock", b, false); status != 200 {
			t.Fatalf("start %s: %d %s", w, status, body)
		}
		c := &xCaller{name: created.Accounts[0].Username, world: w, role: workflow.RoleSupervisor, authority: "IT"}
		x.signIn(t, c, created.Accounts[0].Password)
		b, _ = json.Marshal(map[string]any{"kind": "mla", "requested_authority": "ES", "title": x.secrets[w]})
		status, _, body = x.do(t, c, "POST", "/api/v1/requests", b, false)
		var r struct{ ID string }
		if status != 201 || json.Unmarshal(body, &r) != nil {
			t.Fatalf("trainee of %s drafts: %d %s", w, status, body)
		}
		if status, _, body := x.do(t, c, "POST", "/api/v1/requests/"+r.ID+"/events", []byte(`{"event":"send"}`), false); status != 200 {
			t.Fatalf("trainee of %s sends: %d %s", w, status, body)
		}
		x.reqs[w] = r.ID
		x.callers = append(x.callers, c)
	}
	return x
}

// concrete fills a route's parameters with ids of the given world.
func (x *xWorld) concrete(path, world string) string {
	r := strings.NewReplacer(":id", x.reqs[world], ":kind", "response", ":code", "IT", ":event", "acknowledge", "*", "app.css")
	if strings.Contains(path, "exercises/:id") {
		id := x.ids[world]
		if world == "live" {
			id = workflow.NewID() // no exercise: the live world has none
		}
		r = strings.NewReplacer(":id", id)
	}
	return r.Replace(path)
}

// worldsOf lists the worlds whose ids a call of ep is made with.
func worldsOf(ep *endpoint) []string {
	if strings.Contains(ep.path, ":id") {
		return []string{"live", "A", "B"}
	}
	return []string{""}
}

// worldEndpointTable is the live table without the webhooks: an exercise
// calls no outside system, so neither a world nor the live server of
// these tests serves them (the webhooks' own phase covers them live).
func worldEndpointTable() []*endpoint {
	var out []*endpoint
	for _, ep := range endpointTable() {
		if ep.class != classWebhook {
			out = append(out, ep)
		}
	}
	return out
}

func TestIsolation_exercises(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		x := newXWorld(t, db)
		all := append(worldEndpointTable(), exerciseEndpointTable()...)

		t.Run("routes", func(t *testing.T) {
			// Every route of the live server with exercises is in one of
			// the tables; a world's own server has exactly the live table.
			known := map[string]bool{}
			for _, ep := range all {
				known[ep.key()] = true
			}
			served := map[string]bool{}
			for _, r := range x.srv.Live.(*echo.Echo).Routes() {
				key := r.Method + " " + r.Path
				served[key] = true
				if !known[key] {
					t.Errorf("unclassified route %s: add it to exerciseEndpointTable", key)
				}
			}
			for key := range known {
				if !served[key] {
					t.Errorf("the tables list %s, which the server does not serve", key)
				}
			}
			world, err := x.srv.Manager.World(context.Background(), x.ids["A"])
			if err != nil {
				t.Fatal(err)
			}
			var worldRoutes []string
			for _, r := range world.Handler.(*echo.Echo).Routes() {
				worldRoutes = append(worldRoutes, r.Method+" "+r.Path)
			}
			var liveKeys []string
			for _, ep := range worldEndpointTable() {
				liveKeys = append(liveKeys, ep.key())
			}
			sort.Strings(worldRoutes)
			sort.Strings(liveKeys)
			if strings.Join(worldRoutes, "\n") != strings.Join(liveKeys, "\n") {
				t.Errorf("a world serves other routes than the live server without exercises:\n%v\nwant\n%v", worldRoutes, liveKeys)
			}
		})

		t.Run("every_route", func(t *testing.T) {
			checks := 0
			for _, c := range x.callers {
				for _, ep := range all {
					if ep.method == http.MethodDelete || strings.HasSuffix(ep.path, "/delete") || strings.HasSuffix(ep.path, "/logout") ||
						strings.HasSuffix(ep.path, "/end") ||
						ep.path == "/api/v1/auth/login" || ep.path == "/login" || ep.path == "/api/v1/auth/refresh" {
						continue // ends a session or the exercise: checked below
					}
					for _, w := range worldsOf(ep) {
						path := x.concrete(ep.path, w)
						var body []byte
						if ep.method != http.MethodGet {
							if ep.web {
								body = []byte(url.Values{"_csrf": {c.csrf}, "title": {"x"}, "action": {"pause"}, "inject": {"late-records"}}.Encode())
							} else {
								body = []byte(`{}`)
							}
						}
						status, _, ans := x.do(t, c, ep.method, path, body, ep.web)
						checks++
						what := fmt.Sprintf("%s (%s) %s %s", c.name, c.world, ep.method, path)
						for world, secret := range x.secrets {
							if world != c.world && bytes.Contains(ans, []byte(secret)) {
								t.Errorf("LEAK: %s shows the secret of world %s", what, world)
							}
						}
						x.checkExerciseAnswer(t, what, c, ep, w, status)
						if w != "" && w != c.world && !strings.Contains(ep.path, "exercises") && status >= 200 && status < 300 {
							t.Errorf("%s: %d for an id of another world, want it unknown", what, status)
						}
					}
				}
			}
			t.Logf("%d calls", checks)
			// Nothing changed in any world by another's caller.
			for _, c := range x.callers {
				if c.world == "live" {
					continue
				}
				status, _, ans := x.do(t, c, "GET", "/api/v1/requests/"+x.reqs[c.world], nil, false)
				if status != 200 || !bytes.Contains(ans, []byte(`"state":"sent"`)) {
					t.Errorf("%s's case changed: %d %s", c.name, status, ans)
				}
			}
		})

		t.Run("event_streams", func(t *testing.T) {
			// Every caller's stream, API and pages, from the outbox's
			// start: a trainee hears the case of its own world and none
			// of another world's or of live; a live user hears no
			// world's; every signed-in caller gets a stream (a world's is
			// served by its own hub, not refused for want of one).
			checked := 0
			for _, c := range x.callers {
				if c.role == anonymous {
					continue
				}
				for _, web := range []bool{false, true} {
					path := "/api/v1/events"
					if web {
						path = "/events"
					}
					what := fmt.Sprintf("%s (%s) GET %s", c.name, c.world, path)
					status, h, body := x.do(t, c, http.MethodGet, path, nil, web)
					if c.world != "live" && (status != http.StatusOK || h.Get("Content-Type") != "text/event-stream") {
						t.Errorf("%s: %d %q, want the world's stream", what, status, h.Get("Content-Type"))
						continue
					}
					if status != http.StatusOK {
						continue // a live role without the case pages' stream
					}
					heard := streamedRequests(t, what, body)
					for world, id := range x.reqs {
						checked++
						switch {
						case world != c.world && heard[id]:
							t.Errorf("LEAK: %s carries the case of world %s (%s)", what, world, id)
						case world == c.world && c.world != "live" && !heard[id]:
							t.Errorf("%s: the trainee's own case (%s) is not in its world's stream", what, id)
						}
					}
				}
			}
			if checked == 0 {
				t.Fatal("no stream was read")
			}
		})

		t.Run("audit_of_integrations_and_exercises", x.testAuditOfIntegrations)

		t.Run("end_and_delete", func(t *testing.T) {
			trainer := x.callers[10]
			traineeA := x.callers[len(x.callers)-2]
			traineeB := x.callers[len(x.callers)-1]
			// Ended, A is read, not changed; B goes on.
			for _, ep := range []string{"/api/v1/exercises/:id/end", "/exercises/:id/end"} {
				for _, w := range []string{"live", "A", "B"} {
					c := x.callers[0] // it.officer
					web := strings.HasPrefix(ep, "/exercises")
					var body []byte
					if web {
						body = []byte(url.Values{"_csrf": {c.csrf}}.Encode())
					}
					if status, _, _ := x.do(t, c, "POST", x.concrete(ep, w), body, web); status != http.StatusForbidden {
						t.Errorf("it.officer POST %s (%s): %d, want 403", ep, w, status)
					}
				}
			}
			if status, _, body := x.do(t, trainer, "POST", "/api/v1/exercises/"+x.ids["A"]+"/end", nil, false); status != 200 {
				t.Fatalf("end: %d %s", status, body)
			}
			if status, _, _ := x.do(t, traineeA, "GET", "/api/v1/requests/"+x.reqs["A"], nil, false); status != 200 {
				t.Errorf("after the end, the trainee reads: %d", status)
			}
			if status, _, _ := x.do(t, traineeA, "POST", "/api/v1/requests/"+x.reqs["A"]+"/messages", []byte(`{"kind":"note","body":"late"}`), false); status != http.StatusConflict {
				t.Errorf("after the end, the trainee's change: %d, want 409", status)
			}
			if status, _, _ := x.do(t, traineeA, "POST", "/requests/"+x.reqs["A"]+"/messages", []byte(url.Values{"_csrf": {traineeA.csrf}, "kind": {"note"}, "body": {"late"}}.Encode()), true); status != http.StatusConflict {
				t.Errorf("after the end, the trainee's form: %d, want 409", status)
			}
			if status, _, _ := x.do(t, traineeB, "POST", "/api/v1/requests/"+x.reqs["B"]+"/messages", []byte(`{"kind":"note","body":"still on"}`), false); status != http.StatusCreated {
				t.Errorf("ending A ended B: %d", status)
			}
			if status, _, body := x.do(t, trainer, "DELETE", "/api/v1/exercises/"+x.ids["A"], nil, false); status != 204 {
				t.Fatalf("delete: %d %s", status, body)
			}
			for _, path := range []string{"/api/v1/me", "/api/v1/requests", "/api/v1/requests/" + x.reqs["A"]} {
				if status, _, _ := x.do(t, traineeA, "GET", path, nil, false); status != http.StatusUnauthorized {
					t.Errorf("after delete, the trainee's token on %s: %d, want 401", path, status)
				}
			}
			if status, h, _ := x.do(t, traineeA, "GET", "/inbox", nil, true); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
				t.Errorf("after delete, the trainee's session: %d %s, want the log-in page", status, h.Get("Location"))
			}
			if status, _, _ := x.do(t, traineeB, "GET", "/api/v1/requests/"+x.reqs["B"], nil, false); status != 200 {
				t.Errorf("deleting A ended B: %d", status)
			}
		})
	})
}

// checkExerciseAnswer checks the answers of the exercise routes: the
// trainer's alone; a trainee's world has none of them.
func (x *xWorld) checkExerciseAnswer(t *testing.T, what string, c *xCaller, ep *endpoint, w string, status int) {
	t.Helper()
	if !strings.Contains(ep.path, "exercises") && ep.path != "/api/v1/scenarios" {
		return
	}
	var want []int
	switch {
	case c.world != "live":
		want = []int{http.StatusNotFound}
	case c.role == anonymous && ep.web:
		want = []int{http.StatusSeeOther}
	case c.role == anonymous:
		want = []int{http.StatusUnauthorized}
	case c.role != workflow.RoleTrainer:
		want = []int{http.StatusForbidden}
	case w == "live":
		want = []int{http.StatusNotFound, http.StatusForbidden} // an unknown exercise (403: a form's CSRF check first)
	default:
		// The trainer's own calls: answered, or refused for their input
		// (an empty body, a clock already running).
		want = []int{200, 201, 303, 400, 409, 422}
	}
	for _, s := range want {
		if s == status {
			return
		}
	}
	t.Errorf("%s: %d, want one of %v", what, status, want)
}
