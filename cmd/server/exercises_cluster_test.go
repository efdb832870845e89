package main

import (
	"strings"
	"testing"
	"time"
)

// TestCluster_exerciseBotsMoveOnce runs an exercise of the bundled
// Palermo scenario on two serve processes sharing one PostgreSQL database:
// the trainer works on one, the trainee on both; the simulated authorities
// and timed injects run on the job runner, so once, whichever server leads;
// the exercise clock is one for both; and deleting the exercise on one
// server logs the trainee out of the other at once.
func TestCluster_exerciseBotsMoveOnce(t *testing.T) {
	bin, common := clusterFlags(t, "--documents-dir", t.TempDir())
	servers := []*clusterServer{startLogged(t, bin, append([]string{"--demo"}, common...)...), startLogged(t, bin, common...)}

	trainer := login(t, servers[0].url, "trainer")
	created := trainer.must(201, "POST", "/api/v1/exercises", map[string]any{"scenario": "palermo-ring", "seed": 42})
	id := created["id"].(string)
	var username, password string
	for _, a := range created["accounts"].([]any) {
		if acc := a.(map[string]any); acc["role"] == "supervisor" {
			username, password = acc["username"].(string), acc["password"].(string)
		}
	}
	if username == "" {
		t.Fatalf("no supervisor account: %v", created)
	}
	trainee := &client{tb: t, base: servers[1].url}
	status, out := trainee.call("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password})
	if status != 200 {
		t.Fatalf("trainee log-in on the other server: %d %v", status, out)
	}
	trainee.token = out["access_token"].(string)
	on := func(i int) *client { return &client{tb: t, base: servers[i].url, token: trainee.token} }

	// A day of exercise time a second: the timed injects (at 2 and 3 days)
	// come while the job runner steps the world.
	trainer.must(200, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "start", "speed": 86400})
	deadline := time.Now().Add(30 * time.Second)
	for {
		titles := requestTitles(on(1).must(200, "GET", "/api/v1/requests?limit=200", nil))
		if strings.Contains(strings.Join(titles, "\n"), "subscriber") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // a few more steps, on whichever server leads
	paused := trainer.must(200, "POST", "/api/v1/exercises/"+id+"/clock", map[string]any{"action": "pause"})
	// One clock for both servers.
	if got := (&client{tb: t, base: servers[1].url, token: trainer.token}).must(200, "GET", "/api/v1/exercises/"+id, nil); got["clock"].(map[string]any)["now"] != paused["clock"].(map[string]any)["now"] {
		t.Fatalf("the servers' clocks differ: %v and %v", got["clock"], paused["clock"])
	}

	list := on(0).must(200, "GET", "/api/v1/requests?limit=200", nil)["items"].([]any)
	seen := map[string]int{}
	for _, it := range list {
		seen[it.(map[string]any)["title"].(string)]++
	}
	subscribers := 0
	for title, n := range seen {
		if n != 1 {
			t.Errorf("request %q is there %d times", title, n)
		}
		if strings.Contains(strings.ToLower(title), "subscriber") {
			subscribers++
		}
	}
	if subscribers != 1 {
		t.Fatalf("the timed inject of day 3 made %d requests, want 1: %v", subscribers, seen)
	}
	for _, it := range list {
		r := it.(map[string]any)
		msgs := on(1).must(200, "GET", "/api/v1/requests/"+r["id"].(string)+"/messages", nil)["items"].([]any)
		bodies := map[string]int{}
		for _, m := range msgs {
			bodies[m.(map[string]any)["body"].(string)]++
		}
		for body, n := range bodies {
			if n != 1 {
				t.Errorf("message %.60q is in %q %d times", body, r["title"], n)
			}
		}
		history := on(1).must(200, "GET", "/api/v1/requests/"+r["id"].(string)+"/history", nil)["items"].([]any)
		moves := map[string]int{}
		for _, h := range history {
			hm := h.(map[string]any)
			moves[hm["event"].(string)+" by "+hm["actor"].(string)]++
		}
		for move, n := range moves {
			if n != 1 {
				t.Errorf("%s: %s %d times", r["title"], move, n)
			}
		}
	}
	for i, s := range servers {
		if logs := s.logs.String(); strings.Contains(logs, "exercise-step") && strings.Contains(logs, "level=ERROR") {
			t.Errorf("server %d logged a failed step:\n%s", i, logs)
		}
	}

	// Deleting on one server logs the trainee out of both at once.
	trainer.must(204, "DELETE", "/api/v1/exercises/"+id, nil)
	for i := range servers {
		on(i).must(401, "GET", "/api/v1/me", nil)
	}
}

func requestTitles(m map[string]any) []string {
	var out []string
	for _, it := range m["items"].([]any) {
		out = append(out, it.(map[string]any)["title"].(string))
	}
	return out
}
