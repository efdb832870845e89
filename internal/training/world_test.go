package training_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/blob"
	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/training"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// epoch is when every test exercise starts, on its own clock.
var epoch = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// simClock is an exercise clock that stands still until the test moves it.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// exercise is one exercise world built as the server builds one: a store
// of its own (a SQLite file), seeded with the scenario's authorities, and
// a workflow service over it on the exercise clock.
type exercise struct {
	t        *testing.T
	store    *store.Store
	clock    *simClock
	world    training.World
	trainees []training.Trainee
}

func bundled(t *testing.T, id string) *scenario.Scenario {
	t.Helper()
	all, err := scenario.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no bundled scenario %q", id)
	return nil
}

func newExercise(t *testing.T, s *scenario.Scenario, seed int64) *exercise {
	t.Helper()
	return newExerciseAt(t, s, seed, filepath.Join(t.TempDir(), "exercise.db"))
}

func newExerciseAt(t *testing.T, s *scenario.Scenario, seed int64, dsn string) *exercise {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DSN: dsn, AuditKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range s.Authorities {
		rec := workflow.Change{Actor: "trainer", Action: "authority.create", Outcome: workflow.OutcomeOK, Details: map[string]any{"code": a.Code}}
		err := st.AddAuthority(ctx, workflow.Authority{Code: a.Code, Name: a.Name}, rec)
		if err != nil && workflow.ErrorCode(err) != workflow.ErrConflict {
			t.Fatal(err)
		}
	}
	clock := &simClock{t: epoch}
	blobs, err := blob.NewDir(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	svc := workflow.NewService(st, auth.NewPolicy(), workflow.WithClock(clock.Now), workflow.WithInstruments(law.MustCatalog()),
		workflow.WithDocuments(blobs, 0))
	x := &exercise{t: t, store: st, clock: clock,
		world: training.World{Service: svc, Scenario: s, Seed: seed, Now: clock.Now}}
	for _, a := range s.Authorities {
		for _, role := range a.TraineeRoles {
			x.trainees = append(x.trainees, training.Trainee{Username: trainee(a.Code, role), Authority: a.Code, Role: role})
		}
	}
	return x
}

// trainee is the username of the trainee of that authority and role.
func trainee(code, role string) string { return "trainee." + code + "." + role }

func (x *exercise) actor(code, role string) workflow.Actor {
	u := trainee(code, role)
	return workflow.Actor{UserID: u, Username: u, Role: workflow.Role(role), Authority: code}
}

// action is a scripted trainee action at an exercise offset.
type action struct {
	at   time.Duration
	name string
	do   func(x *exercise) error
	// denied says the action is a mistake the workflow must refuse.
	denied bool
}

// play starts the exercise and runs it to until: the clock goes from one
// thing to do to the next (a bot's move, Step's next, or a scripted
// action), so that every move happens at its own instant.
func (x *exercise) play(script []action, until time.Duration) {
	x.t.Helper()
	ctx := context.Background()
	if err := training.Start(ctx, x.world); err != nil {
		x.t.Fatalf("start: %v", err)
	}
	end := epoch.Add(until)
	i := 0
	for steps := 0; steps < 10000; steps++ {
		next, err := training.Step(ctx, x.world)
		if err != nil {
			x.t.Fatalf("step at %s: %v", x.clock.Now().Sub(epoch), err)
		}
		now := x.clock.Now()
		if i < len(script) && !epoch.Add(script[i].at).After(now) {
			a := script[i]
			i++
			err := a.do(x)
			switch {
			case a.denied && err == nil:
				x.t.Fatalf("%s: the workflow accepted a mistake", a.name)
			case !a.denied && err != nil:
				x.t.Fatalf("%s at %s: %v", a.name, a.at, err)
			}
			continue
		}
		target := end
		if !next.IsZero() && next.Before(target) {
			target = next
		}
		if i < len(script) && epoch.Add(script[i].at).Before(target) {
			target = epoch.Add(script[i].at)
		}
		if !target.After(now) {
			if now.Equal(end) || !now.Before(end) {
				return
			}
			x.t.Fatalf("the exercise is stuck at %s (next %s)", now.Sub(epoch), next)
		}
		x.clock.Set(target)
	}
	x.t.Fatal("the exercise did not end")
}

// request finds the world's request of that title (as a trainee of the
// authority sees it).
func (x *exercise) request(code, title string) workflow.Request {
	x.t.Helper()
	list, _, err := x.world.Service.List(context.Background(), x.actor(code, "officer"), workflow.ListQuery{Limit: workflow.MaxLimit})
	if err != nil {
		x.t.Fatal(err)
	}
	for _, r := range list {
		if r.Title == title {
			return r
		}
	}
	x.t.Fatalf("%s sees no request %q", code, title)
	return workflow.Request{}
}

func (x *exercise) byKey(code, key string) workflow.Request {
	x.t.Helper()
	spec, ok := x.world.Scenario.Request(key)
	if !ok {
		x.t.Fatalf("no request %q", key)
	}
	return x.request(code, spec.Title)
}

// fire fires an event as the trainee, at the request's current version.
func (x *exercise) fire(code, role, key string, in workflow.EventInput) error {
	r := x.byKey(code, key)
	_, err := x.world.Service.Fire(context.Background(), x.actor(code, role), r.ID, in)
	return err
}

func (x *exercise) post(code, role, key string, kind workflow.MessageKind, body string) error {
	r := x.byKey(code, key)
	_, err := x.world.Service.PostMessage(context.Background(), x.actor(code, role), r.ID, kind, body)
	return err
}

func (x *exercise) debrief() *training.Report {
	x.t.Helper()
	rep, err := training.Debrief(context.Background(), x.world, x.trainees)
	if err != nil {
		x.t.Fatal(err)
	}
	return rep
}

// history is every request's history, as one comparable list.
func (x *exercise) history() []string {
	x.t.Helper()
	ctx := context.Background()
	var out []string
	seen := map[string]bool{}
	for _, a := range x.world.Scenario.Authorities {
		reader := workflow.Actor{Username: "reader", Role: workflow.RoleAuditor, Authority: a.Code}
		list, _, err := x.world.Service.List(ctx, reader, workflow.ListQuery{Limit: workflow.MaxLimit})
		if err != nil {
			x.t.Fatal(err)
		}
		for i := len(list) - 1; i >= 0; i-- {
			r := list[i]
			if seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			h, err := x.world.Service.History(ctx, reader, r.ID)
			if err != nil {
				x.t.Fatal(err)
			}
			for _, e := range h {
				out = append(out, r.Reference+" "+e.At.Sub(epoch).String()+" "+string(e.Event)+" "+e.Actor+" "+e.Comment)
			}
			m, err := x.world.Service.Messages(ctx, reader, r.ID)
			if err != nil {
				x.t.Fatal(err)
			}
			for _, e := range m {
				out = append(out, r.Reference+" "+e.At.Sub(epoch).String()+" message "+e.Actor+" "+e.Body)
			}
		}
	}
	return out
}

func ruleResult(t *testing.T, rep *training.Report, id string) training.RuleResult {
	t.Helper()
	for _, r := range rep.Rules {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %q in the debrief", id)
	return training.RuleResult{}
}

func findings(rep *training.Report, kind string) []training.Finding {
	var out []training.Finding
	for _, f := range rep.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

func traineeResult(t *testing.T, rep *training.Report, username string) training.TraineeResult {
	t.Helper()
	for _, tr := range rep.Trainees {
		if tr.Username == username {
			return tr
		}
	}
	t.Fatalf("no trainee %q in the debrief", username)
	return training.TraineeResult{}
}

func ptr[T any](v T) *T { return &v }

func adhocMessage(body string) scenario.Inject {
	return scenario.Inject{Title: "A message of the trainer's", Kind: scenario.InjectMessage, From: "NG",
		Request: "ng-extradition", Message: &scenario.MessageSpec{Kind: "message", Body: body}}
}

func asError(err error, target **workflow.Error) bool { return errors.As(err, target) }
