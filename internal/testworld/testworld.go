// Package testworld builds, for the tests of the packages that serve it,
// the demo world over a fresh database, wired as cmd/server wires it. It
// is imported by tests only.
package testworld

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/blob"
	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"
	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Secret signs the world's access tokens.
var Secret = []byte("test secret of at least thirty-two bytes")

// AuditKey seals the world's audit chain and keys its digests, so that a
// test can compute what only the key's holder can.
var AuditKey = bytes.Repeat([]byte{7}, 32)

// Options adjust a World; the zero value is the server's wiring.
type Options struct {
	Logger        *slog.Logger    // nil: discarded
	Policy        workflow.Policy // nil: auth.NewPolicy()
	TokenLifetime time.Duration   // 0: auth.DefaultTokenLifetime
	MaxDocument   int64           // 0: workflow.DefaultMaxDocument
	Blobs         workflow.Blobs  // nil: a directory of the test's own (World.Blobs)
	AuthOptions   []auth.Option   // more options of the authenticator (an API key limit, say)
	// WebhookAllowPrivate lets the world's webhooks name loopback
	// receivers (httptest servers), as --webhook-allow-private does.
	WebhookAllowPrivate bool
}

// World is a store holding the demo world (its authorities and users), and
// the authenticator and workflow service over it, on a clock the test may
// move forward. Passwords are hashed at bcrypt's minimum cost, to stay fast.
type World struct {
	Store *store.Store
	// DSN is the database's address, for a test that opens a second
	// server on it.
	DSN      string
	Auth     *auth.Authenticator
	Workflow *workflow.Service
	Clock    *testkit.Clock
	// Blobs holds the bytes of the case file's documents, in a directory
	// of the test's own.
	Blobs *blob.Dir
	// Webhooks manages the world's webhooks (CONTRACT 8).
	Webhooks *webhook.Service
}

// New builds a World on a fresh database of db's kind, closed when the test
// ends.
func New(tb testing.TB, db testdb.Backend, o Options) *World {
	tb.Helper()
	ctx := context.Background()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Policy == nil {
		o.Policy = auth.NewPolicy()
	}
	dsn := db.DSN(tb)
	st, err := store.Open(ctx, store.Options{DSN: dsn, AuditKey: AuditKey, Logger: o.Logger})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	clock := &testkit.Clock{}
	tokens, err := auth.NewTokens(Secret, o.TokenLifetime, clock.Now)
	if err != nil {
		tb.Fatal(err)
	}
	var opts []auth.Option
	if p, ok := o.Policy.(auth.Policy); ok {
		opts = append(opts, auth.WithPolicy(p)) // the one Policy, as the server wires it
	}
	opts = append(opts, o.AuthOptions...)
	a := auth.NewAuthenticator(st, tokens, auth.NewHasher(bcrypt.MinCost), clock.Now, o.Logger, opts...)
	if _, err := demo.Seed(ctx, a); err != nil {
		tb.Fatalf("seed: %v", err)
	}
	blobs, err := blob.NewDir(filepath.Join(tb.TempDir(), "documents"))
	if err != nil {
		tb.Fatal(err)
	}
	var docs workflow.Blobs = blobs
	if o.Blobs != nil {
		docs = o.Blobs
	}
	var whPolicy webhook.Policy = auth.NewPolicy()
	if p, ok := o.Policy.(webhook.Policy); ok {
		whPolicy = p
	}
	return &World{
		Store: st, DSN: dsn, Auth: a, Clock: clock, Blobs: blobs,
		Webhooks: webhook.NewService(st, whPolicy, webhook.WithClock(clock.Now), webhook.AllowPrivate(o.WebhookAllowPrivate)),
		Workflow: workflow.NewService(st, o.Policy, workflow.WithClock(clock.Now), workflow.WithInstruments(law.MustCatalog()),
			workflow.WithDocuments(docs, o.MaxDocument)),
	}
}
