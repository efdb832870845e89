package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"
)

// clusterServer is one serve process of a cluster test.
type clusterServer struct {
	cmd  *exec.Cmd
	url  string
	logs *testkit.SyncBuffer
}

// startLogged starts the built server like startBinary, and keeps its log.
func startLogged(t *testing.T, bin string, args ...string) *clusterServer {
	t.Helper()
	s := &clusterServer{logs: &testkit.SyncBuffer{}}
	s.cmd = exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	stdout, _ := s.cmd.StdoutPipe()
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			s.url = m[1]
			go io.Copy(io.Discard, stdout)
			return s
		}
	}
	t.Fatalf("server did not start:\n%s", s.logs)
	return nil
}

// clusterFlags skips the test without PostgreSQL or under -short, builds
// the server, and returns it with the flags that make several serve
// processes one cluster: one fresh schema, one audit key; extra flags are
// added for every server.
func clusterFlags(t *testing.T, extra ...string) (bin string, common []string) {
	t.Helper()
	base := os.Getenv(testdb.PostgresEnv)
	if base == "" {
		t.Skip("needs " + testdb.PostgresEnv)
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	common = []string{"--db", testdb.PostgresSchema(t, base), "--audit-key-file", filepath.Join(t.TempDir(), "audit.key")}
	return buildServer(t), append(common, extra...)
}

// TestCluster_threeServersAsOne starts three serve processes on one
// PostgreSQL database and drives them as other agencies' systems would
// (contract section 11): a token from one is valid on all; the same event
// fired through all three at once has one winner; the audit chain stays one
// unforked chain and the counts stay right; the log-in throttle counts the
// attempts made on all of them; a log-out or a disabled user is refused by
// every server at once.
func TestCluster_threeServersAsOne(t *testing.T) {
	bin, common := clusterFlags(t)
	// The first seeds the demo world; the others join the same database.
	servers := []*clusterServer{startLogged(t, bin, append([]string{"--demo"}, common...)...)}
	for range 2 {
		servers = append(servers, startLogged(t, bin, common...))
	}
	on := func(c *client, i int) *client { return &client{tb: t, base: servers[i].url, token: c.token} }

	// A token from one server is valid on all.
	officer := login(t, servers[0].url, "it.officer")
	supervisor := login(t, servers[1].url, "it.supervisor")
	for i := range servers {
		on(officer, i).must(200, "GET", "/api/v1/me", nil)
	}

	counts := func() map[string]any {
		return on(officer, 2).must(200, "GET", "/api/v1/requests/counts", nil)["outgoing"].(map[string]any)
	}
	before := counts()

	// The same event through all three at once: one winner per request.
	const requests = 20
	ids := make([]string, requests)
	for i := range ids {
		r := on(officer, i%3).must(201, "POST", "/api/v1/requests", map[string]any{
			"kind": "mla", "requested_authority": "ES", "title": fmt.Sprintf("Cluster case %d", i),
		})
		ids[i] = r["id"].(string)
	}
	var wg sync.WaitGroup
	codes := make([][3]int, requests)
	for i, id := range ids {
		for s := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i][s], _ = on(supervisor, s).call("POST", "/api/v1/requests/"+id+"/events", map[string]any{"event": "send"})
			}()
		}
	}
	wg.Wait()
	for i, c := range codes {
		won, lost := 0, 0
		for _, code := range c {
			switch code {
			case 200:
				won++
			case 409:
				lost++
			}
		}
		if won != 1 || lost != 2 {
			t.Errorf("request %d: answers %v, want one 200 and two 409", i, c)
		}
	}
	after := counts()
	num := func(m map[string]any, state string) int { return int(m[state].(float64)) }
	if num(after, "sent") != num(before, "sent")+requests || num(after, "drafted") != num(before, "drafted") {
		t.Errorf("counts: sent %d→%d, drafted %d→%d; want sent +%d and drafted unchanged",
			num(before, "sent"), num(after, "sent"), num(before, "drafted"), num(after, "drafted"), requests)
	}
	for _, id := range ids {
		h := on(officer, 1).must(200, "GET", "/api/v1/requests/"+id+"/history", nil)["items"].([]any)
		if len(h) != 1 {
			t.Errorf("request %s has %d transitions, want 1 send", id, len(h))
		}
	}

	// One unforked chain, verified by each server and by the tool.
	admin := login(t, servers[2].url, "admin")
	var entries float64
	for i := range servers {
		v := on(admin, i).must(200, "GET", "/api/v1/audit/verify", nil)
		if v["ok"] != true {
			t.Fatalf("server %d: audit verify %v", i, v)
		}
		if i > 0 && v["entries"] != entries {
			t.Fatalf("server %d counts %v entries, server 0 %v", i, v["entries"], entries)
		}
		entries = v["entries"].(float64)
	}
	var out bytes.Buffer
	verify := exec.Command(bin, append([]string{"audit", "verify"}, common...)...)
	verify.Stdout = &out
	if err := verify.Run(); err != nil || !strings.Contains(out.String(), "ok: the audit chain verifies") {
		t.Fatalf("server audit verify: %v\n%s", err, out.String())
	}

	// The throttle counts the failures made on all of them: ten wrong
	// passwords spread over the three, then the eleventh is refused
	// wherever it is tried, even with the right password.
	for i := range 10 {
		c := &client{tb: t, base: servers[i%3].url}
		if status, body := c.call("POST", "/api/v1/auth/login", map[string]string{"username": "th.officer", "password": "wrong password " + fmt.Sprint(i)}); status != 401 {
			t.Fatalf("failure %d: %d %v, want 401", i, status, body)
		}
	}
	for i := range servers {
		c := &client{tb: t, base: servers[i].url}
		if status, body := c.call("POST", "/api/v1/auth/login", map[string]string{"username": "th.officer", "password": "demo-pass"}); status != 429 {
			t.Fatalf("server %d after ten failures on all: %d %v, want 429", i, status, body)
		}
	}

	// A log-out on one is honoured by all at once.
	es := login(t, servers[0].url, "es.officer")
	for i := range servers {
		on(es, i).must(200, "GET", "/api/v1/me", nil)
	}
	on(es, 1).must(204, "POST", "/api/v1/auth/logout", nil)
	for i := range servers {
		on(es, i).must(401, "GET", "/api/v1/me", nil)
	}

	// Every background job runs once: one server leads the job runner;
	// killed with SIGKILL, its lease passes to another within seconds.
	leaders := func() []int {
		var out []int
		for i, s := range servers {
			if s.cmd.ProcessState == nil && strings.Contains(s.logs.String(), "job runner: leading") {
				out = append(out, i)
			}
		}
		return out
	}
	if l := leaders(); len(l) != 1 {
		t.Fatalf("servers %v lead the background jobs, want exactly one", l)
	}
	leader := leaders()[0]
	servers[leader].cmd.Process.Kill()
	servers[leader].cmd.Wait()
	killed := time.Now()
	for len(leaders()) != 1 {
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("no server took the lease within 10 s of the leader's death (leaders %v)", leaders())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("server %d took the job lease %s after server %d was killed", leaders()[0], time.Since(killed).Round(time.Millisecond), leader)
	servers[leader] = startLogged(t, bin, common...)

	// A key rotation is seen by all: a server that signs with the new
	// key (one restarted after the rotation reads it at once) gives tokens
	// that the others accept, though they have not reloaded their ring.
	oldKid := jwtKid(t, officer.token)
	rotate := exec.Command(bin, append([]string{"keys", "rotate"}, common...)...)
	if out, err := rotate.CombinedOutput(); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, out)
	}
	restarted := 0
	if leaders()[0] == 0 {
		restarted = 1 // keep the leader: the test above counted on it
	}
	servers[restarted].cmd.Process.Kill()
	servers[restarted].cmd.Wait()
	servers[restarted] = startLogged(t, bin, common...)
	fresh := login(t, servers[restarted].url, "it.officer")
	if jwtKid(t, fresh.token) == oldKid {
		t.Fatal("the restarted server still signs with the retired key")
	}
	for i := range servers {
		on(fresh, i).must(200, "GET", "/api/v1/me", nil)
		on(officer, i).must(200, "GET", "/api/v1/me", nil) // the retired key's tokens stay valid
	}

	// So is a disabled user.
	ng := login(t, servers[2].url, "ng.officer")
	me := on(ng, 0).must(200, "GET", "/api/v1/me", nil)
	on(admin, 0).must(200, "PATCH", "/api/v1/users/"+me["id"].(string), map[string]any{"disabled": true})
	for i := range servers {
		on(ng, i).must(401, "GET", "/api/v1/me", nil)
	}

}
