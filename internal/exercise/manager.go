// Package exercise runs training exercises (CONTRACT 7) as worlds of their
// own: each exercise has its own database, workflow service, clock and
// audit chain (see World), and the live database keeps only the registry
// of exercises and the directory of trainee accounts. The Manager creates
// and deletes worlds, runs their clocks, routes each trainee's call to its
// world (Route) and steps the simulated authorities on the job runner
// (Step). What a scenario plays is the Engine's.
package exercise

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The audited actions of exercises, in the live audit chain.
const (
	ActionCreate = "exercise.create"
	ActionClock  = "exercise.clock"
	ActionInject = "exercise.inject"
	ActionEnd    = "exercise.end"
	ActionDelete = "exercise.delete"
)

// MaxTrainees bounds the trainee accounts of one role of one authority.
const MaxTrainees = 50

// Options configure a Manager.
type Options struct {
	// Live is the live database: the registry of exercises and the
	// directory of trainees, and the place of the worlds' databases.
	Live *store.Store
	// AuditKey seals the worlds' audit chains; nil means the live
	// store's WorldAuditKey.
	AuditKey []byte
	// Policy decides who runs exercises, and what trainees may do in
	// their worlds: the same Policy as the live server's.
	Policy auth.Policy
	// Engine plays the scenarios.
	Engine Engine
	// Instruments is the law the worlds' services apply.
	Instruments *workflow.Catalog
	// Blobs opens the store of a world's documents; nil means none.
	Blobs       func(world string) (workflow.Blobs, error)
	MaxDocument int64
	// DropBlobs deletes a world's documents' bytes with the world; nil
	// leaves them.
	DropBlobs func(world string) error
	// Routers builds the API and pages that answer a world's trainees.
	Routers func(w *World) http.Handler
	// Events tunes the worlds' event hubs (World.Events); zero values
	// take the events package's defaults, a nil Logger the manager's.
	Events events.Options
	// TokenTTL and RefreshTTL are the lifetimes of the trainees' tokens
	// (0: the auth package's defaults).
	TokenTTL, RefreshTTL time.Duration
	// Hasher hashes the trainees' passwords; zero means auth's default.
	Hasher auth.Hasher
	// Now is the real clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Manager runs the exercises of one server. Its methods are safe for
// concurrent use; several servers on one database share the registry and
// so agree on every exercise and its clock.
type Manager struct {
	opts   Options
	live   *store.Store
	now    func() time.Time
	logger *slog.Logger
	hasher auth.Hasher

	mu     sync.Mutex
	worlds map[string]*World // opened by this server
	// streamsStopped is set by StopStreams: worlds opened afterwards
	// get closed hubs.
	streamsStopped bool
}

// New returns a manager. A missing live store or engine is a wiring
// mistake and panics.
func New(opts Options) *Manager {
	if opts.Live == nil || opts.Engine == nil {
		panic("exercise.New: Live and Engine are required")
	}
	if opts.AuditKey == nil {
		opts.AuditKey = opts.Live.WorldAuditKey()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hasher == (auth.Hasher{}) {
		opts.Hasher = auth.NewHasher(0)
	}
	return &Manager{
		opts: opts, live: opts.Live, now: opts.Now, logger: opts.Logger, hasher: opts.Hasher,
		worlds: map[string]*World{},
	}
}

// Close closes the worlds this server opened: their event hubs, then
// their stores.
func (m *Manager) Close() {
	m.mu.Lock()
	worlds := m.worlds
	m.worlds = map[string]*World{}
	m.mu.Unlock()
	for _, w := range worlds {
		w.close()
	}
}

// StopStreams ends every event stream of the worlds this server opened,
// and of those it opens from now on, leaving the worlds open. The server
// calls it when it shuts down (http.Server's RegisterOnShutdown), as it
// closes the live hub: Shutdown waits for open requests, and a stream
// never ends by itself, while the other requests in flight still need
// their worlds' stores.
func (m *Manager) StopStreams() {
	m.mu.Lock()
	m.streamsStopped = true
	hubs := make([]*events.Hub, 0, len(m.worlds))
	for _, w := range m.worlds {
		hubs = append(hubs, w.Events)
	}
	m.mu.Unlock()
	for _, h := range hubs {
		h.Close()
	}
}

// Scenarios lists the installed scenarios, by id.
func (m *Manager) Scenarios() []Scenario {
	out := append([]Scenario(nil), m.opts.Engine.Scenarios()...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (m *Manager) scenario(id string) (Scenario, bool) {
	for _, s := range m.opts.Engine.Scenarios() {
		if s.ID == id {
			return s, true
		}
	}
	return Scenario{}, false
}

// View is an exercise as the trainer sees it.
type View struct {
	ID        string
	Scenario  string
	Title     string
	State     string
	Seed      int64
	Clock     Reading
	CreatedBy string
	CreatedAt time.Time
	EndedAt   time.Time
	Trainees  []store.Trainee
}

// Account is a trainee account as created: its password is shown once,
// in the answer that creates it, and kept hashed only.
type Account struct {
	Username  string
	Password  string
	Authority string
	Role      string
}

// CreateInput is what POST /exercises asks.
type CreateInput struct {
	Scenario string
	Seed     *int64
	// Trainees is the number of trainee accounts per role of each
	// authority that trainees play; 0 means one.
	Trainees int
}

// errNotTrainer refuses whoever is not a trainer.
var errNotTrainer = workflow.Errorf(workflow.ErrForbidden, "only trainers run exercises")

// allowed checks the Policy, and records a refusal in the live chain.
func (m *Manager) allowed(ctx context.Context, by workflow.Actor, action, id string) error {
	if m.opts.Policy.MayRunExercises(by) {
		return nil
	}
	details := map[string]any{}
	if id != "" {
		details["exercise_id"] = id
	}
	m.record(ctx, workflow.Recorded(by, m.now().UTC(), action, workflow.OutcomeDenied, details))
	return errNotTrainer
}

// record writes an audit record of the live chain in its own transaction;
// for refusals and for what happened in a world, which the live
// transaction cannot hold. A failure is logged: what it records stands.
func (m *Manager) record(ctx context.Context, c workflow.Change) {
	if err := m.live.RecordAudit(context.WithoutCancel(ctx), c); err != nil {
		m.logger.ErrorContext(ctx, "audit of an exercise failed", "action", c.Action, "error", err)
	}
}

// Create makes an exercise of a scenario: its world, seeded with the
// scenario's authorities and the trainee accounts, registered in the live
// database. The clock waits for start.
func (m *Manager) Create(ctx context.Context, by workflow.Actor, in CreateInput) (View, []Account, error) {
	if err := m.allowed(ctx, by, ActionCreate, ""); err != nil {
		return View{}, nil, err
	}
	fields := map[string]string{}
	sc, ok := m.scenario(in.Scenario)
	switch {
	case in.Scenario == "":
		fields["scenario"] = "is required: the id of a scenario of GET /scenarios"
	case !ok:
		fields["scenario"] = "is not a scenario of GET /scenarios"
	}
	if in.Trainees < 0 || in.Trainees > MaxTrainees {
		fields["trainees"] = fmt.Sprintf("must be 1 to %d trainees per role of each trainee authority", MaxTrainees)
	}
	if len(fields) > 0 {
		return View{}, nil, workflow.InvalidFields(fields)
	}
	if in.Trainees == 0 {
		in.Trainees = 1
	}
	now := m.now().UTC()
	id := workflow.NewID()
	e := store.Exercise{
		ID: id, Scenario: sc.ID, Title: sc.Title, State: StateReady, Speed: 1,
		AnchorReal: now, AnchorAt: now.Truncate(time.Minute), World: "ex_" + id,
		CreatedBy: by.Username, CreatedAt: now,
	}
	if !sc.Start.IsZero() {
		e.AnchorAt = sc.Start.UTC()
	}
	if in.Seed != nil {
		e.Seed = *in.Seed
	} else {
		e.Seed = randomSeed()
	}
	w, err := m.openWorld(ctx, e, sc, true)
	if err != nil {
		_ = m.live.DropWorld(context.WithoutCancel(ctx), e.World)
		return View{}, nil, err
	}
	discard := func(err error) (View, []Account, error) {
		w.close()
		if derr := m.live.DropWorld(context.WithoutCancel(ctx), e.World); derr != nil {
			m.logger.Error("exercise world left behind", "world", e.World, "error", derr)
		}
		return View{}, nil, err
	}
	accounts, trainees, err := m.seedWorld(ctx, by, w, sc, in.Trainees)
	if err != nil {
		return discard(err)
	}
	rec := workflow.Recorded(by, now, ActionCreate, workflow.OutcomeOK, map[string]any{
		"exercise_id": id, "scenario": sc.ID, "seed": e.Seed, "trainees": len(trainees),
	})
	if err := m.live.CreateExercise(ctx, e, trainees, rec); err != nil {
		return discard(err)
	}
	m.mu.Lock()
	if _, opened := m.worlds[id]; opened {
		// A trainee's call, routed as soon as the registry named the
		// exercise, opened it already: keep that one, close this.
		m.mu.Unlock()
		w.close()
	} else {
		m.worlds[id] = w
		m.mu.Unlock()
	}
	v := m.view(e)
	v.Trainees = trainees
	return v, accounts, nil
}

// seedWorld adds the scenario's authorities the world lacks and the
// trainee accounts, in the world's own chain.
func (m *Manager) seedWorld(ctx context.Context, by workflow.Actor, w *World, sc Scenario, perRole int) ([]Account, []store.Trainee, error) {
	have, err := w.Store.Authorities(ctx)
	if err != nil {
		return nil, nil, err
	}
	known := map[string]bool{}
	for _, a := range have {
		known[a.Code] = true
	}
	for _, a := range sc.Authorities {
		if known[a.Code] {
			continue
		}
		rec := workflow.Recorded(by, w.Clock.Now(), "authority.create", workflow.OutcomeOK,
			map[string]any{"code": a.Code, "name": a.Name})
		if err := w.Store.AddAuthority(ctx, workflow.Authority{Code: a.Code, Name: a.Name}, rec); err != nil {
			return nil, nil, fmt.Errorf("scenario authority %s: %w", a.Code, err)
		}
		known[a.Code] = true
	}
	prefix := "ex" + strings.ToLower(w.ID[len(w.ID)-8:])
	var accounts []Account
	var trainees []store.Trainee
	for _, a := range sc.Authorities {
		if a.Played != "trainee" {
			continue
		}
		for _, role := range a.TraineeRoles {
			for n := 1; n <= perRole; n++ {
				acc := Account{
					Username:  fmt.Sprintf("%s-%s-%s-%d", prefix, strings.ToLower(a.Code), role, n),
					Password:  randomPassword(),
					Authority: a.Code, Role: role,
				}
				u, err := w.Auth.AddUser(ctx, by, auth.NewUser{
					Username: acc.Username, Password: acc.Password, Role: workflow.Role(role), Authority: a.Code,
					DisplayName: fmt.Sprintf("Trainee %d, %s %s", n, a.Code, role),
				})
				if err != nil {
					return nil, nil, fmt.Errorf("trainee account %s: %w", acc.Username, err)
				}
				accounts = append(accounts, acc)
				trainees = append(trainees, store.Trainee{
					Username: acc.Username, ExerciseID: w.ID, UserID: u.ID, Authority: a.Code, Role: role,
				})
			}
		}
	}
	return accounts, trainees, nil
}

func (m *Manager) view(e store.Exercise) View {
	return View{
		ID: e.ID, Scenario: e.Scenario, Title: e.Title, State: e.State, Seed: e.Seed,
		Clock:     Reading{Now: exerciseTime(e, m.now()).UTC(), Speed: e.Speed, Running: e.Running},
		CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, EndedAt: e.EndedAt,
	}
}

// List lists the exercises, newest first.
func (m *Manager) List(ctx context.Context, by workflow.Actor) ([]View, error) {
	if !m.opts.Policy.MayRunExercises(by) {
		return nil, errNotTrainer
	}
	es, err := m.live.Exercises(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]View, len(es))
	for i, e := range es {
		out[i] = m.view(e)
	}
	return out, nil
}

// Get returns one exercise with its trainees.
func (m *Manager) Get(ctx context.Context, by workflow.Actor, id string) (View, error) {
	if !m.opts.Policy.MayRunExercises(by) {
		return View{}, errNotTrainer
	}
	e, err := m.live.Exercise(ctx, id)
	if err != nil {
		return View{}, err
	}
	v := m.view(e)
	if v.Trainees, err = m.live.Trainees(ctx, id); err != nil {
		return View{}, err
	}
	return v, nil
}

// SetClock starts, pauses, resumes or advances the clock of an exercise,
// or changes its speed. Starting makes the scenario's starting requests;
// after every change the simulated authorities make the moves now due.
func (m *Manager) SetClock(ctx context.Context, by workflow.Actor, id string, a ClockAction) (View, error) {
	if err := m.allowed(ctx, by, ActionClock, id); err != nil {
		return View{}, err
	}
	e, err := m.live.Exercise(ctx, id)
	if err != nil {
		return View{}, err
	}
	before := e
	starts, err := applyClock(&e, a, m.now().UTC())
	if err != nil {
		m.record(ctx, workflow.Recorded(by, m.now().UTC(), ActionClock, workflow.OutcomeDenied,
			map[string]any{"exercise_id": id, "clock_action": a.Action, "reason": string(workflow.ErrorCode(err))}))
		return View{}, err
	}
	w, err := m.world(ctx, before)
	if err != nil {
		return View{}, err
	}
	details := map[string]any{"exercise_id": id, "clock_action": a.Action, "speed": e.Speed,
		"exercise_time": exerciseTime(e, m.now()).UTC().Format(time.RFC3339)}
	if a.By != "" {
		details["by"] = a.By
	}
	if err := m.live.UpdateExercise(ctx, e, workflow.Recorded(by, m.now().UTC(), ActionClock, workflow.OutcomeOK, details)); err != nil {
		return View{}, err
	}
	w.Clock.set(e)
	if starts {
		if err := m.opts.Engine.Start(ctx, w); err != nil {
			return View{}, fmt.Errorf("start exercise %s: %w", id, err)
		}
	}
	if err := m.opts.Engine.Step(ctx, w); err != nil {
		m.logger.WarnContext(ctx, "exercise step after a clock change failed", "exercise", id, "error", err)
	}
	return m.Get(ctx, by, id)
}

// Inject applies an inject of the scenario (name), or an ad hoc one.
func (m *Manager) Inject(ctx context.Context, by workflow.Actor, id, name string, adhoc json.RawMessage) (View, error) {
	if err := m.allowed(ctx, by, ActionInject, id); err != nil {
		return View{}, err
	}
	e, err := m.live.Exercise(ctx, id)
	if err != nil {
		return View{}, err
	}
	deny := func(err error) (View, error) {
		m.record(ctx, workflow.Recorded(by, m.now().UTC(), ActionInject, workflow.OutcomeDenied,
			map[string]any{"exercise_id": id, "inject": name, "reason": string(workflow.ErrorCode(err))}))
		return View{}, err
	}
	switch {
	case name == "" && len(adhoc) == 0:
		return deny(workflow.Invalid("inject", "is required: the id of one of the scenario's injects, or an ad hoc inject"))
	case e.State == StateReady || e.State == StateEnded:
		return deny(workflow.Errorf(workflow.ErrInvalidTransition, "the exercise is %s: injects need a started exercise", e.State))
	}
	w, err := m.world(ctx, e)
	if err != nil {
		return View{}, err
	}
	if err := m.opts.Engine.Inject(ctx, w, name, adhoc); err != nil {
		if c := workflow.ErrorCode(err); c != "" && c != workflow.ErrUnavailable {
			return deny(err)
		}
		return View{}, err
	}
	details := map[string]any{"exercise_id": id, "exercise_time": w.Clock.Now().Format(time.RFC3339)}
	if name != "" {
		details["inject"] = name
	} else {
		details["inject"] = "ad hoc"
	}
	m.record(ctx, workflow.Recorded(by, m.now().UTC(), ActionInject, workflow.OutcomeOK, details))
	return m.Get(ctx, by, id)
}

// Debrief scores the exercise as it stands.
func (m *Manager) Debrief(ctx context.Context, by workflow.Actor, id string) (Debrief, View, error) {
	v, err := m.Get(ctx, by, id)
	if err != nil {
		return nil, View{}, err
	}
	e, err := m.live.Exercise(ctx, id)
	if err != nil {
		return nil, View{}, err
	}
	w, err := m.world(ctx, e)
	if err != nil {
		return nil, View{}, err
	}
	d, err := m.opts.Engine.Debrief(ctx, w, v.Trainees)
	return d, v, err
}

// End ends an exercise: its clock stops for good; trainees can still
// read their world, and the debrief is final.
func (m *Manager) End(ctx context.Context, by workflow.Actor, id string) (View, error) {
	if err := m.allowed(ctx, by, ActionEnd, id); err != nil {
		return View{}, err
	}
	e, err := m.live.Exercise(ctx, id)
	if err != nil {
		return View{}, err
	}
	if e.State == StateEnded {
		m.record(ctx, workflow.Recorded(by, m.now().UTC(), ActionEnd, workflow.OutcomeDenied,
			map[string]any{"exercise_id": id, "reason": string(workflow.ErrInvalidTransition)}))
		return View{}, workflow.Errorf(workflow.ErrInvalidTransition, "the exercise has ended already")
	}
	now := m.now().UTC()
	reanchor(&e, now)
	e.State, e.Running, e.EndedAt = StateEnded, false, now
	rec := workflow.Recorded(by, now, ActionEnd, workflow.OutcomeOK,
		map[string]any{"exercise_id": id, "exercise_time": e.AnchorAt.Format(time.RFC3339)})
	if err := m.live.UpdateExercise(ctx, e, rec); err != nil {
		return View{}, err
	}
	m.mu.Lock()
	if w, ok := m.worlds[id]; ok {
		w.Clock.set(e)
	}
	m.mu.Unlock()
	return m.Get(ctx, by, id)
}

// Delete deletes an exercise and its world. Its trainees are logged out
// at once on every server: their calls find no world any more, and fall
// to the live server, which refuses their tokens.
func (m *Manager) Delete(ctx context.Context, by workflow.Actor, id string) error {
	if err := m.allowed(ctx, by, ActionDelete, id); err != nil {
		return err
	}
	e, err := m.live.Exercise(ctx, id)
	if err != nil {
		return err
	}
	rec := workflow.Recorded(by, m.now().UTC(), ActionDelete, workflow.OutcomeOK,
		map[string]any{"exercise_id": id, "scenario": e.Scenario})
	if err := m.live.DeleteExercise(ctx, id, rec); err != nil {
		return err
	}
	m.forget(id)
	if err := m.live.DropWorld(context.WithoutCancel(ctx), e.World); err != nil {
		// The registry no longer names it: nothing can reach it.
		m.logger.ErrorContext(ctx, "exercise world not removed", "world", e.World, "error", err)
	}
	if m.opts.DropBlobs != nil {
		if err := m.opts.DropBlobs(e.World); err != nil {
			m.logger.ErrorContext(ctx, "exercise documents not removed", "world", e.World, "error", err)
		}
	}
	return nil
}

// Step makes the simulated authorities' moves due in every running
// exercise. The job runner calls it on one server at a time.
func (m *Manager) Step(ctx context.Context) error {
	es, err := m.live.Exercises(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range es {
		if e.State != StateRunning {
			continue
		}
		w, err := m.world(ctx, e)
		if err == nil {
			err = m.opts.Engine.Step(ctx, w)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("exercise %s: %w", e.ID, err))
		}
	}
	return errors.Join(errs...)
}

// StepInterval is how often the job steps the running exercises.
const StepInterval = 2 * time.Second

func randomSeed() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:]) >> 33) // small enough to read out
}

// randomPassword is a trainee's password: 20 characters without
// look-alikes, about 110 bits, to be read off a printed sheet.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:5]) + "-" + string(b[5:10]) + "-" + string(b[10:15]) + "-" + string(b[15:])
}

// MayRun tells whether the actor runs exercises (the Policy's rule).
func (m *Manager) MayRun(by workflow.Actor) bool { return m.opts.Policy.MayRunExercises(by) }

// World returns the world of a registered exercise, opened on this server.
func (m *Manager) World(ctx context.Context, id string) (*World, error) {
	e, err := m.live.Exercise(ctx, id)
	if err != nil {
		return nil, err
	}
	return m.world(ctx, e)
}

// Scenario returns an installed scenario.
func (m *Manager) Scenario(id string) (Scenario, bool) { return m.scenario(id) }
