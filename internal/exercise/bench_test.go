package exercise_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/exercise/exercisetest"
	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
)

// BenchmarkExercises_traineeCalls: one server holding MLA_BENCH_EXERCISES
// exercises (default 10) of the bundled Palermo scenario, each with
// MLA_BENCH_TRAINEES_PER_ROLE trainees per role (default 5: 10 trainees,
// IT's officers and supervisors), their clocks running at 600 and their
// bots stepped every 2 seconds as the job runner does. Every trainee calls
// at once, as a room would: their inbox, the counts, one request, and now
// and then a message, each trainee after a pause drawn around
// MLA_BENCH_THINK (default 1s, exponentially distributed: a page and its
// calls every second, far busier than a person reading a case; 0 makes
// every trainee call back to back, a saturation test that measures
// queueing rather than service). It reports the p99 latency of the
// trainees' calls (p99-ms; the figure: at most 50 ms), p50-ms and
// the calls per second served. The database is
// SQLite, or PostgreSQL when MLA_BENCH_POSTGRES=1 and MLA_TEST_POSTGRES_URL
// is set.
//
//	go test ./internal/exercise/ -run '^$' -bench Exercises_traineeCalls -benchtime 20000x
func BenchmarkExercises_traineeCalls(b *testing.B) {
	exercises := envInt("MLA_BENCH_EXERCISES", 10)
	perRole := envInt("MLA_BENCH_TRAINEES_PER_ROLE", 5)
	think := time.Second
	if v, err := time.ParseDuration(os.Getenv("MLA_BENCH_THINK")); err == nil && v >= 0 {
		think = v
	}
	backend := testdb.SQLite
	if os.Getenv("MLA_BENCH_POSTGRES") == "1" {
		if bs := testdb.Backends(); len(bs) > 1 {
			backend = bs[1]
		}
	}
	ctx := context.Background()
	w := testworld.New(b, backend, testworld.Options{})
	scenarios, err := scenario.Bundled()
	if err != nil {
		b.Fatal(err)
	}
	srv := exercisetest.New(b, w.Store, w.Auth, w.Workflow, exercise.NewTrainingEngine(scenarios), nil)
	ts := httptest.NewServer(srv.Handler)
	defer ts.Close()
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

	call := func(token, method, path string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			buf, _ := json.Marshal(body)
			rd = bytes.NewReader(buf)
		}
		req, _ := http.NewRequest(method, ts.URL+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := httpc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, out
	}
	tokenOf := func(username, password string) string {
		status, out := call("", "POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password})
		var g struct {
			AccessToken string `json:"access_token"`
		}
		if status != 200 || json.Unmarshal(out, &g) != nil {
			b.Fatalf("log-in %s: %d %s", username, status, out)
		}
		return g.AccessToken
	}
	trainer := tokenOf("trainer", demo.Password)
	type trainee struct {
		token    string
		requests []string
	}
	var trainees []*trainee
	for range exercises {
		status, out := call(trainer, "POST", "/api/v1/exercises", map[string]any{"scenario": "palermo-ring", "trainees": perRole})
		var created struct {
			ID       string
			Accounts []struct{ Username, Password string }
		}
		if status != 201 || json.Unmarshal(out, &created) != nil {
			b.Fatalf("create: %d %s", status, out)
		}
		if status, out := call(trainer, "POST", "/api/v1/exercises/"+created.ID+"/clock", map[string]any{"action": "start", "speed": 600}); status != 200 {
			b.Fatalf("start: %d %s", status, out)
		}
		for _, a := range created.Accounts {
			trainees = append(trainees, &trainee{token: tokenOf(a.Username, a.Password)})
		}
	}
	for _, t := range trainees {
		_, out := call(t.token, "GET", "/api/v1/requests", nil)
		var list struct{ Items []struct{ ID string } }
		_ = json.Unmarshal(out, &list)
		for _, r := range list.Items {
			t.requests = append(t.requests, r.ID)
		}
		if len(t.requests) == 0 {
			b.Fatal("a trainee sees no request")
		}
	}

	// The bots, as the job runner steps them.
	stop := make(chan struct{})
	var stepped sync.WaitGroup
	stepped.Add(1)
	go func() {
		defer stepped.Done()
		tick := time.NewTicker(exercise.StepInterval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = srv.Manager.Step(ctx)
			}
		}
	}()

	var next atomic.Int64
	lat := make([]time.Duration, b.N)
	var failures atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	began := time.Now()
	for n, t := range trainees {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pause := rand.New(rand.NewPCG(uint64(n), 7)) // the same pauses in every run
			for {
				if think > 0 {
					time.Sleep(time.Duration(pause.ExpFloat64() * float64(think)))
				}
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				rid := t.requests[int(i)%len(t.requests)]
				var method, path string
				var body any
				switch i % 10 {
				case 0, 1, 2, 3:
					method, path = "GET", "/api/v1/requests"
				case 4, 5:
					method, path = "GET", "/api/v1/requests/counts"
				case 6, 7, 8:
					method, path = "GET", "/api/v1/requests/"+rid
				default:
					method, path, body = "POST", "/api/v1/requests/"+rid+"/messages", map[string]string{"kind": "note", "body": "Checked the file: call " + strconv.FormatInt(i, 10)}
				}
				began := time.Now()
				status, _ := call(t.token, method, path, body)
				lat[i] = time.Since(began)
				if status >= 500 || status == 401 {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	elapsed := time.Since(began)
	close(stop)
	stepped.Wait()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d calls failed", n, b.N)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.Logf("%d exercises, %d trainees, pause %s, %d calls on %s in %s (%.0f/s): p50 %s, p99 %s, max %s",
		exercises, len(trainees), think, b.N, backend.Name, elapsed.Round(time.Millisecond), float64(b.N)/elapsed.Seconds(),
		pct(0.50), pct(0.99), lat[len(lat)-1])
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
