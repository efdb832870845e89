// Package exercisetest wires training exercises for tests as cmd/server
// wires them: a Manager beside a live store, the worlds' API and pages,
// and the live server's handler behind the Manager's dispatch. Its Engine
// is a small scripted one, for the tests of the worlds' machinery that
// need no scenario. It is imported by tests only.
package exercisetest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/blob"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/httpapi"
	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
	"github.com/mla-flow/mla-flow/web"
)

// EventPoll is how often the event hubs, live and the worlds', read their
// outbox's head: quick, so that a test hears a change in a moment.
const EventPoll = 20 * time.Millisecond

// CSRFKey signs the pages' forms, live and in the worlds.
var CSRFKey = []byte("exercise test csrf key of 32 bytes!!")

// Server is a live server with exercises.
type Server struct {
	Manager *exercise.Manager
	// Handler is what the server serves: the dispatch to the worlds in
	// front of the live API and pages.
	Handler http.Handler
	// Live is the live API and pages alone, without the dispatch.
	Live http.Handler
}

// New wires exercises over the live store st, with its authenticator and
// service, playing engine. now is the real clock (nil: time.Now).
func New(tb testing.TB, st *store.Store, live *auth.Authenticator, wf *workflow.Service, engine exercise.Engine, now func() time.Time) *Server {
	tb.Helper()
	if now == nil {
		now = time.Now
	}
	logger := slog.New(slog.DiscardHandler)
	docs := tb.TempDir()
	m := exercise.New(exercise.Options{
		Live: st, Policy: auth.NewPolicy(), Engine: engine, Instruments: law.MustCatalog(),
		Blobs:     func(world string) (workflow.Blobs, error) { return blob.NewDir(filepath.Join(docs, world)) },
		DropBlobs: func(world string) error { return os.RemoveAll(filepath.Join(docs, world)) },
		Hasher:    auth.NewHasher(bcrypt.MinCost), Now: now, Logger: logger,
		Events: events.Options{Poll: EventPoll},
		Routers: func(w *exercise.World) http.Handler {
			e := httpapi.New(httpapi.Deps{Workflow: w.Service, Auth: w.Auth, Logger: logger, Idempotency: w.Store, Events: w.Events})
			web.New(web.Deps{Workflow: w.Service, Auth: w.Auth, Logger: logger, CSRFKey: CSRFKey, Now: now,
				Exercise: &web.ExerciseBanner{Title: w.Title, Now: w.Clock.Now}, Events: w.Events}).Register(e)
			return e
		},
	})
	tb.Cleanup(func() {
		// The worlds a test left: on PostgreSQL their schemas outlive the
		// test's own (testdb drops that one only).
		m.Close()
		es, err := st.Exercises(context.Background())
		if err != nil {
			return
		}
		for _, e := range es {
			if err := st.DropWorld(context.Background(), e.World); err != nil {
				tb.Errorf("drop world %s: %v", e.World, err)
			}
		}
	})
	hub := events.NewHub(st, events.Options{Poll: EventPoll, Logger: logger})
	tb.Cleanup(hub.Close)
	e := httpapi.New(httpapi.Deps{Workflow: wf, Auth: live, Logger: logger, Exercises: m, Idempotency: st, Events: hub})
	web.New(web.Deps{Workflow: wf, Auth: live, Logger: logger, CSRFKey: CSRFKey, Now: now, Exercises: m, Events: hub}).Register(e)
	return &Server{Manager: m, Handler: m.Dispatch(e), Live: e}
}

// ScenarioID is the Engine's one scenario.
const ScenarioID = "fixture"

// Engine is a scripted engine: at start, the simulated ES sends IT (played
// by trainees) one request titled StartTitle; each step acknowledges, as
// ES, every request sent to ES more than AckAfter ago in exercise time.
type Engine struct {
	mu    sync.Mutex
	Moves int // acknowledgements made, over every world
}

// StartTitle is the title of the starting request.
const StartTitle = "Exercise fixture: bank records of the ring"

// AckAfter is when the simulated ES acknowledges, in exercise time.
const AckAfter = 24 * time.Hour

var _ exercise.Engine = (*Engine)(nil)

func (*Engine) Scenarios() []exercise.Scenario {
	return []exercise.Scenario{{
		ID: ScenarioID, Title: "Fixture exercise", Summary: "One request from ES to IT.",
		Start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Authorities: []exercise.Authority{
			{Code: "IT", Name: "Italy, Ministry of Justice", Played: "trainee", TraineeRoles: []string{"supervisor"}},
			{Code: "ES", Name: "Spain, Ministry of Justice", Played: "simulated"},
			{Code: "SIMX", Name: "A simulated authority of the scenario", Played: "simulated"},
		},
	}}
}

func bot(code string) workflow.Actor {
	return workflow.Actor{UserID: "bot-" + code, Username: "sim." + code, Role: workflow.RoleSupervisor, Authority: code}
}

func (*Engine) Start(ctx context.Context, w *exercise.World) error {
	r, err := w.Service.Create(ctx, bot("ES"), workflow.Draft{
		Kind: workflow.KindMLA, RequestedAuthority: "IT", Title: StartTitle,
		Summary: "Bank records of three accounts.", Instrument: "untoc", Purpose: "Evidence of the ring's money flows.",
		LegalBasis: "UNTOC Art. 18", Offences: []string{"trafficking in persons"},
	})
	if err != nil {
		return err
	}
	_, err = w.Service.Fire(ctx, bot("ES"), r.ID, workflow.EventInput{Event: workflow.EventSend})
	return err
}

func (e *Engine) Step(ctx context.Context, w *exercise.World) error {
	e.mu.Lock()
	defer e.mu.Unlock() // one step at a time, as the lease makes it
	rs, _, err := w.Service.List(ctx, bot("ES"), workflow.ListQuery{States: []workflow.State{"sent"}, Direction: workflow.DirectionIncoming})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if w.Clock.Now().Sub(r.UpdatedAt) < AckAfter {
			continue
		}
		if _, err := w.Service.Fire(ctx, bot("ES"), r.ID, workflow.EventInput{Event: workflow.EventAcknowledge, Reference: "ES-SIM-1"}); err != nil {
			return err
		}
		e.Moves++
	}
	return nil
}

func (*Engine) Inject(ctx context.Context, w *exercise.World, id string, adhoc json.RawMessage) error {
	if id != "" && id != "late-records" {
		return workflow.Invalid("inject", "is not an inject of the scenario")
	}
	r, err := w.Service.Create(ctx, bot("ES"), workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "IT", Title: "Injected: " + id,
		Summary: "Late bank records.", Instrument: "untoc", Purpose: "Evidence.", LegalBasis: "UNTOC Art. 18", Offences: []string{"money laundering"}})
	if err != nil {
		return err
	}
	_, err = w.Service.Fire(ctx, bot("ES"), r.ID, workflow.EventInput{Event: workflow.EventSend})
	return err
}

// Report is the Engine's debrief: how many requests the world holds.
type Report struct {
	Requests int `json:"requests"`
	Trainees int `json:"trainees"`
}

func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"requests", "trainees"})
	_ = cw.Write([]string{fmt.Sprint(r.Requests), fmt.Sprint(r.Trainees)})
	cw.Flush()
	return cw.Error()
}

func (r *Report) TimelineSVG() []byte {
	return []byte(`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Timeline" viewBox="0 0 100 10"><rect width="100" height="10" fill="#ccc"/></svg>`)
}

func (*Engine) Debrief(ctx context.Context, w *exercise.World, trainees []store.Trainee) (exercise.Debrief, error) {
	rs, _, err := w.Service.List(ctx, bot("IT"), workflow.ListQuery{})
	if err != nil {
		return nil, err
	}
	return &Report{Requests: len(rs), Trainees: len(trainees)}, nil
}
