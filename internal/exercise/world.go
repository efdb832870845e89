package exercise

import (
	"context"
	"fmt"
	"net/http"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// World is one exercise's world: a database of its own, the workflow
// service over it on the exercise clock, the authenticator of its trainee
// accounts, and the API and pages that answer its trainees. No live query
// reads its database, and none of its queries reads the live one: the
// isolation of an exercise holds by construction.
type World struct {
	ID       string // the exercise's id
	Scenario Scenario
	Seed     int64
	Store    *store.Store
	Service  *workflow.Service
	Auth     *auth.Authenticator
	Clock    *Clock
	// Events serves the world's event stream (CONTRACT 8: GET
	// /api/v1/events, and /events for the pages' live updates) from the
	// world's own outbox, so that a trainee's stream carries the changes of
	// this world only. It runs from the world's opening to its closing.
	Events *events.Hub
	// Handler answers the calls of the world's trainees: the ordinary API
	// and pages over Service and Auth (Options.Routers).
	Handler http.Handler
	// Title is the exercise's title, for the trainees' banner.
	Title string
}

// Now is the exercise time now.
func (w *World) Now() string { return w.Clock.Now().Format("2006-01-02 15:04") }

// openWorld opens (and, when create, makes) the world of e.
func (m *Manager) openWorld(ctx context.Context, e store.Exercise, sc Scenario, create bool) (*World, error) {
	var dsn string
	var err error
	if create {
		dsn, err = m.live.CreateWorld(ctx, e.World)
	} else {
		dsn, err = m.live.WorldDSN(e.World)
	}
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, store.Options{DSN: dsn, AuditKey: m.opts.AuditKey, Logger: m.logger, PostgresConns: worldConns})
	if err != nil {
		return nil, fmt.Errorf("open the world of exercise %s: %w", e.ID, err)
	}
	fail := func(err error) (*World, error) {
		st.Close()
		return nil, err
	}
	ring, err := auth.OpenKeyRing(ctx, st, auth.KeyRingOptions{TokenLifetime: m.opts.TokenTTL, Now: m.now, Logger: m.logger})
	if err != nil {
		return fail(fmt.Errorf("world signing keys: %w", err))
	}
	tokens, err := auth.NewWorldTokens(ring, m.opts.TokenTTL, m.now, e.ID)
	if err != nil {
		return fail(err)
	}
	clock := newClock(m.now, e)
	opts := []workflow.Option{workflow.WithClock(clock.Now)}
	if m.opts.Instruments != nil {
		opts = append(opts, workflow.WithInstruments(m.opts.Instruments))
	}
	if m.opts.Blobs != nil {
		blobs, err := m.opts.Blobs(e.World)
		if err != nil {
			return fail(err)
		}
		opts = append(opts, workflow.WithDocuments(blobs, m.opts.MaxDocument))
	}
	authOpts := []auth.Option{auth.WithPolicy(m.opts.Policy), auth.WithWorld(e.ID)}
	if m.opts.RefreshTTL > 0 {
		authOpts = append(authOpts, auth.WithRefreshLifetime(m.opts.RefreshTTL))
	}
	w := &World{
		ID: e.ID, Scenario: sc, Seed: e.Seed, Store: st, Clock: clock, Title: e.Title,
		Service: workflow.NewService(st, m.opts.Policy, opts...),
		Auth:    auth.NewAuthenticator(st, tokens, m.hasher, m.now, m.logger, authOpts...),
		Events:  m.newHub(st),
	}
	if m.opts.Routers != nil {
		w.Handler = m.opts.Routers(w)
	}
	return w, nil
}

// worldConns is the PostgreSQL pool of one world: a room of trainees and
// a few bots, not the live server's load.
const worldConns = 4

// world returns the open world of e, opening it when this server has not
// yet, and sets its clock from e.
func (m *Manager) world(ctx context.Context, e store.Exercise) (*World, error) {
	m.mu.Lock()
	w, ok := m.worlds[e.ID]
	m.mu.Unlock()
	if ok {
		w.Clock.set(e)
		return w, nil
	}
	sc, ok := m.scenario(e.Scenario)
	if !ok {
		return nil, fmt.Errorf("exercise %s: scenario %q is not installed", e.ID, e.Scenario)
	}
	// Opened outside the lock: opening reads and maybe migrates a
	// database. Two calls may race to open it; the first kept wins.
	w, err := m.openWorld(ctx, e, sc, false)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if kept, ok := m.worlds[e.ID]; ok {
		m.mu.Unlock()
		w.close()
		kept.Clock.set(e)
		return kept, nil
	}
	m.worlds[e.ID] = w
	m.mu.Unlock()
	return w, nil
}

// forget closes this server's handle of a world that is no more.
func (m *Manager) forget(id string) {
	m.mu.Lock()
	w, ok := m.worlds[id]
	delete(m.worlds, id)
	m.mu.Unlock()
	if ok {
		w.close()
	}
}

// newHub starts the event hub of a world over its store, as the live
// server starts its own (cmd/server). Once the server has begun to shut
// down (StopStreams), a world opened late gets a hub that is closed
// already: its streams end at once instead of holding up the shutdown.
func (m *Manager) newHub(st *store.Store) *events.Hub {
	opt := m.opts.Events
	if opt.Logger == nil {
		opt.Logger = m.logger
	}
	hub := events.NewHub(st, opt)
	m.mu.Lock()
	stopped := m.streamsStopped
	m.mu.Unlock()
	if stopped {
		hub.Close()
	}
	return hub
}

// close ends the world's streams and stops its hub's poller, then closes
// its store: in this order, so that no poll or stream reads a closed
// store.
func (w *World) close() {
	w.Events.Close()
	w.Store.Close()
}
