package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/mla-flow/mla-flow/config"
	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/blob"
	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/httpapi"
	"github.com/mla-flow/mla-flow/internal/idem"
	"github.com/mla-flow/mla-flow/internal/jobs"
	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
	"github.com/mla-flow/mla-flow/web"
)

// app is the wired program: the store and the services over it.
type app struct {
	cfg      config.Config
	logger   *slog.Logger
	store    *store.Store
	workflow *workflow.Service
	auth     *auth.Authenticator
	keys     *auth.KeyRing
	// webhooks manages the webhooks (CONTRACT 8); their deliveries are a
	// job of the runner (backgroundJobs).
	webhooks *webhook.Service
	// webKey signs the web pages' CSRF tokens; derived from the JWT secret,
	// so that every server on one database shares it.
	webKey []byte
	// clock is the one reading of time of everything the server builds:
	// the service's ids and times, tokens, sessions, the throttle, the
	// key ring, the pages' ages, the jobs' schedule. A world with a clock
	// of its own (a training exercise) is built with another.
	clock func() time.Time
	// policy is the one Policy the services and pages share.
	policy auth.Policy
}

// role says how the program opens a database: as its server, of which a
// SQLite file has one at a time (see store.Options.Server), or as a
// command-line tool, which may run beside the server.
type role int

const (
	asTool role = iota
	asServer
)

// open wires the program from its settings: audit key, store, services.
// It is the only place where concrete implementations meet.
func open(ctx context.Context, cfg config.Config, logger *slog.Logger, as role) (*app, error) {
	st, err := openStore(ctx, cfg, logger, as)
	if err != nil {
		return nil, err
	}
	return wire(ctx, cfg, logger, st)
}

// openStore opens the database with its audit key. A tool that only reads
// the log (audit verify) needs nothing more: it then reports on a database
// whose signing keys its key cannot open.
func openStore(ctx context.Context, cfg config.Config, logger *slog.Logger, as role) (*store.Store, error) {
	key, err := audit.LoadOrCreateKeyIf(cfg.AuditKeyFile, func() error {
		holds, err := store.HoldsRecords(ctx, cfg.DB)
		if err != nil {
			return fmt.Errorf("look for an audit chain before creating a key: %w", err)
		}
		if holds {
			return fmt.Errorf("the key file %s is missing, but the database already holds an audit chain: "+
				"a new key could neither verify nor extend it, so none is created; restore the key file "+
				"(or point --audit-key-file at it)", cfg.AuditKeyFile)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	st, err := store.Open(ctx, store.Options{DSN: cfg.DB, AuditKey: key, Logger: logger, Server: as == asServer})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if as == asServer {
		// Fail closed: a server whose key did not seal the chain's head
		// (the wrong key file, another server's key on a shared database,
		// or a head moved by someone without the key) would refuse every
		// write; better not to start, and say why.
		if err := st.CheckAuditHead(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("audit key: %w", err)
		}
	}
	return st, nil
}

// wire builds the services over an open store; it closes the store when
// it fails.
func wire(ctx context.Context, cfg config.Config, logger *slog.Logger, st *store.Store) (*app, error) {
	var err error
	secret := cfg.JWTSecret
	if secret == "" {
		// Generated once and kept in the database, so that every server on
		// one database derives the same CSRF key from it. (Access tokens
		// are signed by the key ring below, not with this secret.)
		secret, err = st.EnsureSetting(ctx, "jwt_secret", randomHex(32))
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("jwt secret: %w", err)
		}
	}
	// The signing keys: a configured --jwt-secret joins the ring under a
	// key id derived from it; without one, the ring's first key is random.
	// Either way `server keys rotate` can replace it without logging anyone
	// out, and running servers pick the new key up within a minute.
	clock := time.Now
	ring, err := auth.OpenKeyRing(ctx, st, auth.KeyRingOptions{
		Configured: []byte(cfg.JWTSecret), TokenLifetime: cfg.TokenTTL, Now: clock, Logger: logger,
	})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	tokens, err := auth.NewRingTokens(ring, cfg.TokenTTL, clock)
	if err != nil {
		st.Close()
		return nil, err
	}
	instruments, err := law.Catalog()
	if err != nil {
		st.Close()
		return nil, err
	}
	policy := auth.NewPolicy()
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &app{
		cfg:    cfg,
		logger: logger,
		store:  st,
		workflow: workflow.NewService(st, policy, workflow.WithClock(clock), workflow.WithInstruments(instruments),
			workflow.WithDocuments(blobs, cfg.MaxDocument)),
		auth: auth.NewAuthenticator(st, tokens, auth.NewHasher(0), clock, logger,
			auth.WithRefreshLifetime(cfg.RefreshTTL), auth.WithPolicy(policy)),
		keys: ring,
		webhooks: webhook.NewService(st, policy, webhook.WithClock(clock),
			webhook.AllowPrivate(cfg.WebhookAllowPrivate)),
		webKey: audit.DeriveKey([]byte(secret), "mla-flow web csrf"),
		clock:  clock,
		policy: policy,
	}, nil
}

func (a *app) Close() error { return a.store.Close() }

// openBlobs opens the store of the documents' bytes: the S3-compatible
// bucket when one is configured, else the documents directory.
func openBlobs(ctx context.Context, cfg config.Config) (workflow.Blobs, error) {
	if b := cfg.DocumentsS3; b.Bucket != "" {
		return blob.NewS3(ctx, blob.S3Options{
			Endpoint: b.Endpoint, Bucket: b.Bucket, Prefix: b.Prefix, Region: b.Region,
			AccessKey: b.AccessKey, SecretKey: b.SecretKey, Insecure: b.Insecure,
		})
	}
	return blob.NewDir(cfg.DocumentsDir)
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	cfg, help, err := loadConfig(fs, args, getenv, stdout, stderr)
	if help || err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	logger.Info("starting", "config", cfg.String())
	tuneGC(getenv)

	a, err := open(ctx, cfg, logger, asServer)
	if err != nil {
		return err
	}
	defer a.Close()

	if cfg.Demo {
		if err := seedDemo(ctx, a, stdout); err != nil {
			return err
		}
	}

	exercises, err := startExercises(cfg, a, logger)
	if err != nil {
		return err
	}
	background := backgroundJobs(a, logger)
	if exercises != nil {
		defer exercises.Close() // after the runner stops
		background = append(background, exerciseJob(exercises))
	}
	runner := jobs.New(a.store.JobLease(), background, jobs.Options{Logger: logger, Now: a.clock})
	runner.Start(ctx)
	defer runner.Stop() // before the store closes

	chainIntact, stopReplay := verifyAuditAtStart(ctx, cfg, a, logger)
	defer stopReplay() // before the store closes
	// The event stream (CONTRACT 8): one poller of the outbox for every
	// stream of this server; closed when the server shuts down, which
	// ends the streams that Shutdown would otherwise wait for.
	hub := events.NewHub(a.store, events.Options{Logger: logger})
	defer hub.Close()
	handler := httpapi.New(httpapi.Deps{
		Events:   hub,
		Workflow: a.workflow,
		Auth:     a.auth,
		Webhooks: a.webhooks,
		Ready: func(ctx context.Context) error {
			if err := a.store.Ping(ctx); err != nil {
				return err
			}
			return chainIntact()
		},
		Logger:      logger,
		Idempotency: a.store,
		Exercises:   exercises,
	})
	// The officers' pages, on the same Echo instance and services as the API.
	web.New(web.Deps{
		Workflow: a.workflow, Auth: a.auth, Webhooks: a.webhooks, Logger: logger, CSRFKey: a.webKey, Now: a.clock,
		Exercises: exercises, Events: hub,
	}).Register(handler)
	if cfg.DebugAddr != "" {
		stopDebug, err := startDebug(cfg.DebugAddr, a.store, logger, stdout)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	var certificate tls.Certificate
	if cfg.TLSCert != "" {
		// Loaded before listening, so that a bad pair stops the start.
		if certificate, err = tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{certificate}})
	}
	var served http.Handler = handler
	if exercises != nil {
		// A trainee's call goes to the world of its exercise.
		served = exercises.Dispatch(handler)
	}
	srv := &http.Server{
		Handler:           served,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(hub.Close)
	if exercises != nil {
		// The worlds' streams too, which Shutdown would wait for as well.
		srv.RegisterOnShutdown(exercises.StopStreams)
	}
	ln = httpapi.WatchFraming(srv, ln)
	serving := make(chan error, 1)
	go func() { serving <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "mla-flow listening on %s\n", publicURL(scheme, ln.Addr()))

	select {
	case err := <-serving:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	// In-flight requests finish; new connections are refused at once.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serving; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// backgroundJobs is all the server's background work. It runs through one
// job runner, on one server of those sharing a database (see
// internal/jobs).
func backgroundJobs(a *app, logger *slog.Logger) []jobs.Job {
	deliveries := webhook.NewWorker(a.store, webhook.Options{
		AllowPrivate: a.cfg.WebhookAllowPrivate, Now: a.clock, Logger: logger,
	})
	return []jobs.Job{{
		// Webhooks (CONTRACT 8): each run works for most of a second of
		// the runner's, polling the outbox and the due deliveries every
		// 50 ms, so that a change is delivered well within a second.
		Name: "webhook-deliveries", Every: time.Millisecond,
		Run: deliveries.Run,
	}, {
		// Ended sessions, expired refresh tokens, and log-in events that
		// can no longer count (auth.Authenticator.PruneSessions).
		Name: "prune-sessions", Every: auth.PruneInterval,
		Run: func(ctx context.Context) error {
			sessions, tokens, err := a.auth.PruneSessions(ctx)
			if err == nil && sessions+tokens > 0 {
				logger.Info("pruned ended sessions", "sessions", sessions, "refresh_tokens", tokens)
			}
			return err
		},
	}, {
		// Idempotency keys live 24 hours (CONTRACT 8); a key older than
		// that is unknown to the API already, this forgets it.
		Name: "prune-idempotency-keys", Every: idempotencyPruneInterval,
		Run: func(ctx context.Context) error {
			n, err := a.store.PruneIdempotencyKeys(ctx, a.clock().Add(-idem.Lifetime))
			if err == nil && n > 0 {
				logger.Info("pruned idempotency keys", "keys", n)
			}
			return err
		},
	}}
}

// idempotencyPruneInterval is how often expired idempotency keys are
// deleted: they are already ignored, so this bounds only the table's size.
const idempotencyPruneInterval = 15 * time.Minute

// verifyAuditAtStart recomputes the audit chain before the server serves,
// so that tampering done while it was down is reported at once: loudly in
// the log, and by /readyz for as long as the server runs, so that a load
// balancer or an operator sees it. The replay of every request and account
// against the log, which reads every row and takes several times as long
// as the chain on a large database, then runs in the background and is
// reported the same way when it ends. intact answers the readiness error,
// nil while the audit log is intact (as far as checked) or verification is
// turned off; stop ends the replay and waits for it.
func verifyAuditAtStart(ctx context.Context, cfg config.Config, a *app, logger *slog.Logger) (intact func() error, stop func()) {
	var broken atomic.Pointer[error]
	intact = func() error {
		if err := broken.Load(); err != nil {
			return *err
		}
		return nil
	}
	report := func(err error) { broken.Store(&err) }
	if !cfg.VerifyAudit {
		logger.Warn("audit chain not verified at start-up (verify-audit is off)")
		return intact, func() {}
	}
	began := time.Now()
	v, err := a.store.VerifyAuditChain(ctx)
	if err := auditProblem(v, err, logger); err != nil {
		report(err)
		return intact, func() {}
	}
	logger.Info("audit chain verified", "entries", v.Entries, "head", v.Head, "took", time.Since(began).Round(time.Millisecond))

	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		began := time.Now()
		v, err := a.store.VerifyAuditRows(ctx)
		if ctx.Err() != nil {
			return // shutting down
		}
		if err := auditProblem(v, err, logger); err != nil {
			report(err)
			return
		}
		logger.Info("requests and accounts agree with the audit log", "took", time.Since(began).Round(time.Millisecond))
	}()
	return intact, func() { cancel(); <-done }
}

// auditProblem logs and returns the readiness error of a verification, nil
// when it found the log intact.
func auditProblem(v workflow.AuditVerification, err error, logger *slog.Logger) error {
	switch {
	case err != nil:
		logger.Error("AUDIT CHAIN COULD NOT BE VERIFIED", "error", err)
		return workflow.Errorf(workflow.ErrUnavailable, "the audit chain could not be verified")
	case !v.OK:
		logger.Error("AUDIT CHAIN BROKEN: the audit log was altered", "broken_at", v.BrokenAt, "problem", v.Problem,
			"request_id", v.RequestID, "user_id", v.UserID)
		return workflow.Errorf(workflow.ErrUnavailable, "the audit chain is broken at entry %d: %s", v.BrokenAt, v.Problem)
	}
	return nil
}

// seedDemo fills an empty database with the demo world, its users and its
// example cases, and prints the log-ins and the cases; a database that has
// users already is left alone.
func seedDemo(ctx context.Context, a *app, stdout io.Writer) error {
	logins, err := seedDemoUsers(ctx, a)
	if err != nil {
		return err
	}
	if logins == nil {
		fmt.Fprintln(stdout, "demo: the database has users already; nothing seeded")
		return nil
	}
	cases, err := seedDemoCases(ctx, a)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "demo world seeded; log in as any of these users:")
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  USERNAME\tPASSWORD\tROLE\tAUTHORITY")
	for _, l := range logins {
		authority := l.Authority
		if authority == "" {
			authority = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", l.Username, l.Password, l.Role, authority)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printDemoCases(stdout, cases)
}

// seedDemoCases creates the demo world's example cases, worked up to now
// on the server's clock, through a workflow service of their own over the
// server's store, Policy and instruments (see demo.SeedCases).
func seedDemoCases(ctx context.Context, a *app) ([]demo.Case, error) {
	instruments, err := law.Catalog()
	if err != nil {
		return nil, err
	}
	cases, err := demo.SeedCases(ctx, demo.Casework{
		Store: a.store, Policy: a.workflow.Policy(), Instruments: instruments, Accounts: a.store,
	}, a.clock())
	if err != nil {
		return nil, fmt.Errorf("seed demo cases: %w", err)
	}
	return cases, nil
}

// printDemoCases lists the demo cases, and points to server seed for
// casework in bulk.
func printDemoCases(stdout io.Writer, cases []demo.Case) error {
	if len(cases) > 0 {
		first := cases[0].OpenedAt
		for _, c := range cases {
			if c.OpenedAt.Before(first) {
				first = c.OpenedAt
			}
		}
		fmt.Fprintf(stdout, "demo cases created: %d requests of one trafficking-in-persons network between IT, ES, NG and TH, "+
			"worked through the workflow since %s:\n", len(cases), first.Format(time.DateOnly))
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  REFERENCE\tSTATE\tTO\tTITLE")
		for _, c := range cases {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Reference, c.State, c.RequestedAuthority, shorten(c.Title, 70))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(stdout, "for generated casework in bulk (benchmarks), run `server seed --requests N` "+
		"on a database without real cases")
	return err
}

// shorten cuts s to at most n characters, marking the cut.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// seedDemoUsers creates the demo world's users on a database that has no
// user yet, and returns their log-ins; nil when there were users already.
func seedDemoUsers(ctx context.Context, a *app) ([]demo.Login, error) {
	n, err := a.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return nil, err
	}
	logins, err := demo.Seed(ctx, a.auth)
	if err != nil {
		return nil, fmt.Errorf("seed demo world: %w", err)
	}
	return logins, nil
}

// publicURL turns a listening address into a URL a person can open: an
// unspecified host (":8080") is reachable as localhost.
func publicURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
