package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/demo"
	"github.com/mla-flow/mla-flow/internal/idem"
	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// draftBody is a valid new draft from IT to ES.
func draftBody(title string) map[string]any {
	return map[string]any{"kind": "mla", "requested_authority": "ES", "title": title}
}

// withKey is a header carrying an Idempotency-Key.
func withKey(key string) http.Header { return http.Header{"Idempotency-Key": {key}} }

// auditEntries counts the audit log's entries: every effect writes one,
// refused attempts too, so an unchanged count means no second effect.
func (s *testServer) auditEntries(tb testing.TB) int64 {
	tb.Helper()
	v, err := s.wf.VerifyChain(context.Background())
	if err != nil || !v.OK {
		tb.Fatalf("verify chain: %v %+v", err, v)
	}
	return v.Entries
}

// idOf is the id of a demo user.
func (s *testServer) idOf(tb testing.TB, username string) string {
	tb.Helper()
	u, err := s.store.UserByUsername(context.Background(), username)
	if err != nil {
		tb.Fatal(err)
	}
	return u.ID
}

// wantReplay fails unless again is the replay of first: the same status,
// body and answer headers, marked Idempotent-Replayed.
func wantReplay(tb testing.TB, first, again *httptest.ResponseRecorder) {
	tb.Helper()
	if again.Header().Get("Idempotent-Replayed") != "true" {
		tb.Fatalf("repeat not marked Idempotent-Replayed: %d %s", again.Code, again.Body)
	}
	if first.Header().Get("Idempotent-Replayed") != "" {
		tb.Fatalf("first answer marked Idempotent-Replayed")
	}
	if again.Code != first.Code || !bytes.Equal(again.Body.Bytes(), first.Body.Bytes()) {
		tb.Fatalf("repeat answered %d %s, want %d %s", again.Code, again.Body, first.Code, first.Body)
	}
	for _, h := range []string{"Content-Type", "ETag", "Location"} {
		if again.Header().Get(h) != first.Header().Get(h) {
			tb.Fatalf("repeat's %s is %q, want %q", h, again.Header().Get(h), first.Header().Get(h))
		}
	}
}

func TestIdempotency_replay(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		tok := srv.login(t, "it.officer")
		first := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Bank records"), withKey("create-1"))
		if first.Code != http.StatusCreated || first.Header().Get("Location") == "" || first.Header().Get("ETag") == "" {
			t.Fatalf("first: %d %s %v", first.Code, first.Body, first.Header())
		}
		entries := srv.auditEntries(t)
		again := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Bank records"), withKey("create-1"))
		wantReplay(t, first, again)
		if got := srv.auditEntries(t); got != entries {
			t.Fatalf("the repeat wrote %d audit entries, want none", got-entries)
		}

		t.Run("another body", func(t *testing.T) {
			rec := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Other records"), withKey("create-1"))
			body := decode(t, rec)
			wantError(t, rec.Code, body, http.StatusUnprocessableEntity, "validation_failed")
			if _, ok := errorFields(body)["Idempotency-Key"]; !ok || rec.Header().Get("Idempotent-Replayed") != "" {
				t.Fatalf("another body under the key: %v %v", body, rec.Header())
			}
		})
		t.Run("another endpoint", func(t *testing.T) {
			id := text(decode(t, first)["id"])
			rec := srv.raw(t, tok, http.MethodPost, pathTo(id, "messages"), draftBody("Bank records"), withKey("create-1"))
			wantError(t, rec.Code, decode(t, rec), http.StatusUnprocessableEntity, "validation_failed")
		})
		t.Run("without a key nothing is replayed", func(t *testing.T) {
			a := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Bank records"), nil)
			b := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Bank records"), nil)
			if a.Code != 201 || b.Code != 201 || decode(t, a)["id"] == decode(t, b)["id"] || b.Header().Get("Idempotent-Replayed") != "" {
				t.Fatalf("two POSTs without a key: %d %d", a.Code, b.Code)
			}
		})
		t.Run("a refusal is replayed, not audited twice", func(t *testing.T) {
			id := text(decode(t, first)["id"])
			sup := srv.login(t, "it.officer")
			ev := map[string]any{"event": "acknowledge", "comment": "x"} // the requested side's: 409 or 403, audited
			a := srv.raw(t, sup, http.MethodPost, pathTo(id, "events"), ev, withKey("refused"))
			if a.Code < 400 || a.Code >= 500 {
				t.Fatalf("a refused event answered %d", a.Code)
			}
			n := srv.auditEntries(t)
			b := srv.raw(t, sup, http.MethodPost, pathTo(id, "events"), ev, withKey("refused"))
			wantReplay(t, a, b)
			if srv.auditEntries(t) != n {
				t.Fatalf("the repeated refusal was audited again")
			}
		})
	})
}

func decode(tb testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	tb.Helper()
	var out map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			tb.Fatalf("answer is not JSON: %d %s", rec.Code, rec.Body)
		}
	}
	return out
}

func TestIdempotency_badKeys(t *testing.T) {
	srv := newTestServer(t)
	tok := srv.login(t, "it.officer")
	for name, h := range map[string]http.Header{
		"empty":         {"Idempotency-Key": {""}},
		"256 chars":     {"Idempotency-Key": {strings.Repeat("k", 256)}},
		"two keys":      {"Idempotency-Key": {"a", "b"}},
		"control chars": {"Idempotency-Key": {"a\x01b"}},
	} {
		t.Run(name, func(t *testing.T) {
			n := srv.auditEntries(t)
			rec := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Bank records"), h)
			body := decode(t, rec)
			wantError(t, rec.Code, body, http.StatusUnprocessableEntity, "validation_failed")
			if reason := errorFields(body)["Idempotency-Key"]; reason == nil || reason == "" {
				t.Fatalf("no reason for the field: %v", body)
			}
			if srv.auditEntries(t) != n {
				t.Fatalf("a refused key made an effect")
			}
		})
	}
	t.Run("255 chars", func(t *testing.T) {
		rec := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Bank records"), withKey(strings.Repeat("k", 255)))
		if rec.Code != http.StatusCreated {
			t.Fatalf("a 255-character key: %d %s", rec.Code, rec.Body)
		}
	})
}

// concurrentRepeats sends n POSTs of one draft under one key at once,
// round robin over the handlers, and checks that they made one request
// and answered the same.
func concurrentRepeats(t *testing.T, handlers []http.Handler, token string, audit func() int64) {
	const n = 20
	before := audit()
	answers := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, "/api/v1/requests", strings.NewReader(`{"kind":"mla","requested_authority":"ES","title":"Concurrent"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Idempotency-Key", "concurrent")
			rec := httptest.NewRecorder()
			<-start
			handlers[i%len(handlers)].ServeHTTP(rec, req)
			answers[i] = rec
		}()
	}
	close(start)
	wg.Wait()
	replayed := 0
	for i, a := range answers {
		if a.Code != http.StatusCreated || !bytes.Equal(a.Body.Bytes(), answers[0].Body.Bytes()) {
			t.Fatalf("answer %d: %d %s, want the first's %d %s", i, a.Code, a.Body, answers[0].Code, answers[0].Body)
		}
		if a.Header().Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != n-1 {
		t.Fatalf("%d answers replayed, want %d", replayed, n-1)
	}
	if got := audit() - before; got != 1 {
		t.Fatalf("%d concurrent repeats wrote %d audit entries, want 1", n, got)
	}
}

func TestIdempotency_concurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		concurrentRepeats(t, []http.Handler{srv.handler}, srv.login(t, "it.officer"), func() int64 { return srv.auditEntries(t) })
	})
}

// TestIdempotency_twoServers runs the repeats on two API instances over
// two stores on one PostgreSQL database: the keys live in the database,
// so the servers behave as one.
func TestIdempotency_twoServers(t *testing.T) {
	base := testdb.Backends()
	if len(base) < 2 {
		t.Skip("needs " + testdb.PostgresEnv)
	}
	dsn := base[1].DSN(t)
	fixed := testdb.Backend{Name: "postgres", DSN: func(testing.TB) string { return dsn }}
	w := testworld.New(t, fixed, testworld.Options{})
	one := New(Deps{Workflow: w.Workflow, Auth: w.Auth, Idempotency: w.Store})

	// The second server: its own store, authenticator and service on the
	// same database and token secret, as a second serve process.
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DSN: dsn, AuditKey: testworld.AuditKey, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens, err := auth.NewTokens(testworld.Secret, 0, w.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	policy := auth.NewPolicy()
	a2 := auth.NewAuthenticator(st, tokens, auth.NewHasher(bcrypt.MinCost), w.Clock.Now, slog.New(slog.DiscardHandler), auth.WithPolicy(policy))
	wf2 := workflow.NewService(st, policy, workflow.WithClock(w.Clock.Now), workflow.WithInstruments(law.MustCatalog()))
	two := New(Deps{Workflow: wf2, Auth: a2, Idempotency: st})

	srv := &testServer{handler: one, store: w.Store, wf: w.Workflow, tokens: map[string]string{}}
	concurrentRepeats(t, []http.Handler{one, two}, srv.login(t, "it.officer"), func() int64 { return srv.auditEntries(t) })
}

func TestIdempotency_expiry(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		tok := srv.login(t, "it.officer")
		first := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Day one"), withKey("daily"))
		srv.clock.Advance(idem.Lifetime - time.Second)
		tok = srv.loginWith(t, "it.officer", demo.Password) // the first token has expired
		if again := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Day one"), withKey("daily")); again.Header().Get("Idempotent-Replayed") != "true" {
			t.Fatalf("a key replays for 24 hours: %d", again.Code)
		}
		srv.clock.Advance(2 * time.Second)
		tok = srv.loginWith(t, "it.officer", demo.Password)
		n := srv.auditEntries(t)
		later := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Day two"), withKey("daily"))
		if later.Code != http.StatusCreated || later.Header().Get("Idempotent-Replayed") != "" ||
			decode(t, later)["id"] == decode(t, first)["id"] || srv.auditEntries(t) != n+1 {
			t.Fatalf("after 24 hours the key is new: %d %s", later.Code, later.Body)
		}

		// The prune job forgets keys first used over 24 hours ago.
		srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Old"), withKey("old"))
		srv.clock.Advance(idem.Lifetime + time.Second)
		tok = srv.loginWith(t, "it.officer", demo.Password)
		if rec := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Young"), withKey("young")); rec.Code != http.StatusCreated {
			t.Fatalf("young: %d", rec.Code)
		}
		pruned, err := srv.store.PruneIdempotencyKeys(context.Background(), srv.clock.Now().Add(-idem.Lifetime))
		if err != nil || pruned != 2 { // "daily" (renewed a day ago) and "old"
			t.Fatalf("pruned %d (%v), want 2", pruned, err)
		}
		owner := srv.idOf(t, "it.officer")
		for key, want := range map[string]bool{"old": false, "daily": false, "young": true} {
			if _, found, err := srv.store.Lookup(context.Background(), idem.Key{Owner: owner, Key: key}); err != nil || found != want {
				t.Errorf("key %s kept: %v (%v), want %v", key, found, err, want)
			}
		}
	})
}

// TestIdempotency_perCaller: a key is the caller's own; another caller's
// same key is another key, and never gets the first caller's answer.
func TestIdempotency_perCaller(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		a := srv.raw(t, srv.login(t, "it.officer"), http.MethodPost, "/api/v1/requests", draftBody("Mine"), withKey("shared"))
		if a.Code != http.StatusCreated {
			t.Fatalf("A: %d", a.Code)
		}
		for _, user := range []string{"it.supervisor", "es.officer"} {
			b := srv.raw(t, srv.login(t, user), http.MethodPost, "/api/v1/requests", draftBody("Mine"), withKey("shared"))
			if b.Header().Get("Idempotent-Replayed") != "" || bytes.Contains(b.Body.Bytes(), []byte(text(decode(t, a)["id"]))) {
				t.Fatalf("%s got A's answer: %d %s", user, b.Code, b.Body)
			}
		}
	})
}

// TestIdempotency_crash covers the servers that die holding a key: after
// the change committed, a repeat never makes it again; before, a repeat
// takes the key over and runs; and a stalled attempt whose key was taken
// over cannot commit its change.
func TestIdempotency_crash(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		ctx := context.Background()
		tok := srv.login(t, "it.officer")
		u, err := srv.store.UserByUsername(ctx, "it.officer")
		if err != nil {
			t.Fatal(err)
		}
		draft := workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Crash"}

		t.Run("after the commit", func(t *testing.T) {
			k := idem.Key{Owner: u.ID, Key: "crash-after"}
			now := srv.clock.Now()
			if _, won, err := srv.store.Claim(ctx, k, "dead", now, now.Add(idem.Lease)); err != nil || !won {
				t.Fatalf("claim: %v %v", won, err)
			}
			// The change commits under the claim, then the server dies
			// before storing the answer.
			if _, err := srv.wf.Create(idem.WithClaim(ctx, srv.store, idem.Claim{Key: k, Token: "dead"}), u.Actor(), draft); err != nil {
				t.Fatal(err)
			}
			n := srv.auditEntries(t)
			srv.clock.Advance(idem.Lease + time.Second)
			rec := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Crash"), withKey("crash-after"))
			wantError(t, rec.Code, decode(t, rec), http.StatusConflict, "idempotency_answer_lost")
			if srv.auditEntries(t) != n {
				t.Fatalf("the repeat made the change again")
			}
		})
		t.Run("before any effect", func(t *testing.T) {
			k := idem.Key{Owner: u.ID, Key: "crash-before"}
			now := srv.clock.Now()
			if _, won, err := srv.store.Claim(ctx, k, "dead", now, now.Add(idem.Lease)); err != nil || !won {
				t.Fatalf("claim: %v %v", won, err)
			}
			srv.clock.Advance(idem.Lease + time.Second)
			rec := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Crash"), withKey("crash-before"))
			if rec.Code != http.StatusCreated {
				t.Fatalf("taking over an abandoned key: %d %s", rec.Code, rec.Body)
			}
		})
		t.Run("a stalled attempt is fenced off", func(t *testing.T) {
			k := idem.Key{Owner: u.ID, Key: "stalled"}
			now := srv.clock.Now()
			srv.store.Claim(ctx, k, "stalled", now, now.Add(idem.Lease))
			srv.clock.Advance(idem.Lease + time.Second)
			now = srv.clock.Now()
			if _, won, err := srv.store.Claim(ctx, k, "next", now, now.Add(idem.Lease)); err != nil || !won {
				t.Fatalf("take over: %v %v", won, err)
			}
			n := srv.auditEntries(t)
			_, err := srv.wf.Create(idem.WithClaim(ctx, srv.store, idem.Claim{Key: k, Token: "stalled"}), u.Actor(), draft)
			if workflow.ErrorCode(err) != workflow.ErrIdempotencyInProgress || srv.auditEntries(t) != n {
				t.Fatalf("the stalled attempt's change: %v, %d entries written", err, srv.auditEntries(t)-n)
			}
		})
	})
}

// postCase is how the route test exercises one POST endpoint: the path
// with its parameters filled in, a body, its content type, and who sends
// it.
type postCase struct {
	user        string
	path        string
	body        func(tb testing.TB) ([]byte, string)
	endsSession bool // the answer ends the caller's session: a repeat meets 401
	// secret: the answer holds a secret shown once (keepSecret), so a
	// repeat learns that the change was made, not the answer.
	secret string
}

// TestIdempotency_everyPOST takes every POST route of the API from the
// router, so that a new POST without the protocol fails here: each runs
// once under a key and again, and the repeat must be the replay with no
// new audit entry. Log-in and refresh are the exceptions, on purpose:
// their answers are credentials, which must not be stored.
func TestIdempotency_everyPOST(t *testing.T) {
	srv := newTestServer(t)
	draft := text(srv.newDraft(t)["id"])
	sent := text(srv.requestIn(t, workflow.StateAcknowledged)["id"])
	jsonBody := func(v string) func(testing.TB) ([]byte, string) {
		return func(testing.TB) ([]byte, string) { return []byte(v), "application/json" }
	}
	exempt := map[string]string{
		"/api/v1/auth/login":   "answers an access token, which must not be stored",
		"/api/v1/auth/refresh": "answers an access token, which must not be stored",
	}
	cases := map[string]postCase{
		"/api/v1/auth/logout": {user: "it.officer", path: "/api/v1/auth/logout", body: jsonBody(`{}`), endsSession: true},
		"/api/v1/requests":    {user: "it.officer", path: "/api/v1/requests", body: jsonBody(`{"kind":"mla","requested_authority":"ES","title":"Route"}`)},
		"/api/v1/requests/:id/events": {user: "it.officer", path: pathTo(draft, "events"),
			body: jsonBody(`{"event":"send","comment":"x"}`)},
		"/api/v1/requests/:id/deadlines/:kind/extensions": {user: "es.supervisor", path: pathTo(sent, "deadlines", "execution", "extensions"),
			body: jsonBody(`{"days":5,"reason":"r"}`)},
		"/api/v1/requests/:id/messages": {user: "it.officer", path: pathTo(sent, "messages"),
			body: jsonBody(`{"kind":"message","body":"Any news?"}`)},
		"/api/v1/requests/:id/documents": {user: "it.officer", path: pathTo(draft, "documents"),
			body: func(tb testing.TB) ([]byte, string) {
				b, ct := multipartBody(tb, letterFields(), "lettera.pdf", bytes.NewReader(pdfBytes))
				return b.Bytes(), ct
			}},
		"/api/v1/api-keys": {user: "admin", path: "/api/v1/api-keys", secret: "mla_",
			body: jsonBody(`{"name":"es-cms","role":"officer","authority":"ES","expires_at":"` +
				srv.wf.Now().AddDate(0, 6, 0).Format(time.RFC3339) + `"}`)},
		"/api/v1/webhooks": {user: "es.supervisor", path: "/api/v1/webhooks", secret: "whsec_",
			body: jsonBody(`{"url":"https://93.184.216.34/hooks/mla","events":["*"]}`)},
		"/api/v1/webhooks/:id/deliveries/:delivery/retry": {user: "es.supervisor",
			path: "/api/v1/webhooks/no-such-webhook/deliveries/no-such-delivery/retry", body: jsonBody(`{}`)},
		"/api/v1/users": {user: "admin", path: "/api/v1/users",
			body: jsonBody(`{"username":"es.clerk","display_name":"Lucía","role":"officer","authority":"ES","password":"a long passphrase"}`)},
	}
	for _, r := range srv.echo.Routes() {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		if _, ok := exempt[r.Path]; ok {
			continue
		}
		tc, ok := cases[r.Path]
		if !ok {
			t.Errorf("POST %s is not covered: add it to the cases (or, with a reason, to exempt)", r.Path)
			continue
		}
		t.Run(r.Path, func(t *testing.T) {
			tok := srv.login(t, tc.user)
			if tc.endsSession {
				tok = srv.loginWith(t, tc.user, demo.Password)
			}
			body, ct := tc.body(t)
			h := http.Header{"Idempotency-Key": {"route " + r.Path}, "Content-Type": {ct}}
			first := srv.raw(t, tok, http.MethodPost, tc.path, body, h)
			if first.Code >= 500 {
				t.Fatalf("first: %d %s", first.Code, first.Body)
			}
			rec, found, err := srv.store.Lookup(context.Background(), idem.Key{Owner: srv.idOf(t, tc.user), Key: "route " + r.Path})
			if err != nil || !found || tc.secret == "" && rec.Status != first.Code {
				t.Fatalf("the answer was not kept under the key: %v %v %+v", found, err, rec)
			}
			n := srv.auditEntries(t)
			again := srv.raw(t, tok, http.MethodPost, tc.path, body, h)
			if tc.endsSession {
				if again.Code != http.StatusUnauthorized {
					t.Fatalf("repeat after the session ended: %d", again.Code)
				}
				return
			}
			if tc.secret != "" {
				wantError(t, again.Code, decode(t, again), http.StatusConflict, "idempotency_answer_lost")
				if !strings.Contains(first.Body.String(), tc.secret) || strings.Contains(again.Body.String(), tc.secret) ||
					bytes.Contains(rec.Body, []byte(tc.secret)) {
					t.Fatalf("the secret was not shown once: first %s, repeat %s, stored %s", first.Body, again.Body, rec.Body)
				}
			} else {
				wantReplay(t, first, again)
			}
			if srv.auditEntries(t) != n {
				t.Fatalf("the repeat wrote an audit entry")
			}
		})
	}
	for path := range cases {
		found := false
		for _, r := range srv.echo.Routes() {
			found = found || r.Method == http.MethodPost && r.Path == path
		}
		if !found {
			t.Errorf("case %s names no POST route", path)
		}
	}
}

// TestIdempotency_upload: an upload is hashed as it streams; the same
// bytes replay, other bytes under the key are refused and add nothing to
// the case file.
func TestIdempotency_upload(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		tok := srv.login(t, "it.officer")
		id := text(srv.newDraft(t)["id"])
		type upload struct {
			body []byte
			ct   string
		}
		build := func(content []byte) upload {
			body, ct := multipartBody(t, letterFields(), "lettera.pdf", bytes.NewReader(content))
			return upload{body.Bytes(), ct}
		}
		send := func(u upload) *httptest.ResponseRecorder {
			return srv.raw(t, tok, http.MethodPost, pathTo(id, "documents"), u.body,
				http.Header{"Content-Type": {u.ct}, "Idempotency-Key": {"upload-1"}})
		}
		same := build(pdfBytes) // the same bytes, its multipart boundary included
		first := send(same)
		if first.Code != http.StatusCreated {
			t.Fatalf("upload: %d %s", first.Code, first.Body)
		}
		wantReplay(t, first, send(same))
		other := append(append([]byte{}, pdfBytes...), []byte("% another revision\n")...)
		rec := send(build(other))
		wantError(t, rec.Code, decode(t, rec), http.StatusUnprocessableEntity, "validation_failed")
		_, list := srv.do(t, tok, http.MethodGet, pathTo(id, "documents"), nil)
		if items, _ := list["items"].([]any); len(items) != 1 {
			t.Fatalf("the case file holds %d documents, want 1", len(items))
		}
	})
}

// TestIdempotency_inProgress: a repeat waits for the first attempt's
// answer, and answers idempotency_in_progress when it does not come in
// time; nothing is done.
func TestIdempotency_inProgress(t *testing.T) {
	srv := newTestServer(t).unchecked() // an answer of its own making
	tok := srv.login(t, "it.officer")
	ctx := context.Background()
	k := idem.Key{Owner: srv.idOf(t, "it.officer"), Key: "busy"}
	now := srv.clock.Now()
	if _, won, err := srv.store.Claim(ctx, k, "busy", now, now.Add(idem.Lease)); err != nil || !won {
		t.Fatalf("claim: %v %v", won, err)
	}
	defer func(d time.Duration) { idempotencyWait = d }(idempotencyWait)
	idempotencyWait = 150 * time.Millisecond
	n := srv.auditEntries(t)
	start := time.Now()
	rec := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Busy"), withKey("busy"))
	wantError(t, rec.Code, decode(t, rec), http.StatusConflict, "idempotency_in_progress")
	if waited := time.Since(start); waited < idempotencyWait {
		t.Fatalf("answered after %s, before the wait of %s", waited, idempotencyWait)
	}
	if srv.auditEntries(t) != n {
		t.Fatal("a repeat of a key in progress made an effect")
	}

	// The first attempt answers while a repeat waits: the repeat replays it.
	idempotencyWait = 5 * time.Second
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		done <- srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Busy"), withKey("busy"))
	}()
	time.Sleep(50 * time.Millisecond)
	fp := newFingerprint(httptest.NewRequest(http.MethodPost, "/api/v1/requests", strings.NewReader(`{"kind":"mla","requested_authority":"ES","title":"Busy"}`)))
	sum, _ := fp.finish()
	if err := srv.store.Complete(ctx, idem.Claim{Key: k, Token: "busy"}, sum, http.StatusTeapot, map[string]string{"Content-Type": "text/plain"}, []byte("brewed")); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.Code != http.StatusTeapot || got.Body.String() != "brewed" || got.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the waiting repeat: %d %q %v", got.Code, got.Body, got.Header())
	}
}

// TestIdempotency_keepSecret: an answer that holds a secret shown once is
// not stored; a repeat learns that the change was made, and where, but
// never sees the secret.
func TestIdempotency_keepSecret(t *testing.T) {
	srv := newTestServer(t).unchecked() // an answer of its own making
	e := srv.echo
	made := 0
	guard := then(requireUser(srv.auth), idempotent(srv.store, srv.wf.Now, slog.New(slog.DiscardHandler)))
	e.POST("/api/v1/test-secrets", func(c echo.Context) error {
		made++
		keepSecret(c)
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/test-secrets/1")
		return c.JSON(http.StatusCreated, map[string]string{"secret": "whsec_shown-once"})
	}, guard)
	tok := srv.login(t, "it.officer")
	first := srv.raw(t, tok, http.MethodPost, "/api/v1/test-secrets", `{}`, withKey("secret"))
	if first.Code != http.StatusCreated || !strings.Contains(first.Body.String(), "whsec_shown-once") {
		t.Fatalf("first: %d %s", first.Code, first.Body)
	}
	again := srv.raw(t, tok, http.MethodPost, "/api/v1/test-secrets", `{}`, withKey("secret"))
	wantError(t, again.Code, decode(t, again), http.StatusConflict, "idempotency_answer_lost")
	if strings.Contains(again.Body.String(), "whsec") || again.Header().Get("Location") != "/api/v1/test-secrets/1" || made != 1 {
		t.Fatalf("repeat: %d %s %v, made %d", again.Code, again.Body, again.Header(), made)
	}
	rec, _, err := srv.store.Lookup(context.Background(), idem.Key{Owner: srv.idOf(t, "it.officer"), Key: "secret"})
	if err != nil || bytes.Contains(rec.Body, []byte("whsec")) {
		t.Fatalf("the secret was stored: %s (%v)", rec.Body, err)
	}
}

// TestIdempotency_noCaller: a POST with an Idempotency-Key that reaches
// the middleware without a signed-in caller (no guard before it, or a
// guard that signed in a caller without an id) is a wiring fault: it
// answers 500 in the contract's shape, logged, and the handler does not
// run, rather than running without the protocol, where a retry would make
// its change twice. Without the header such a route runs as before; the
// public log-in, which the middleware does not guard, takes a key and
// answers as always.
func TestIdempotency_noCaller(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db).unchecked()
		ran := 0
		handler := func(c echo.Context) error {
			ran++
			return c.JSON(http.StatusCreated, map[string]string{"made": "something"})
		}
		keys := idempotent(srv.store, srv.wf.Now, slog.New(slog.DiscardHandler))
		withoutID := func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				c.Set(userKey, workflow.User{Username: "ghost", Role: workflow.RoleOfficer, Authority: "IT"})
				return next(c)
			}
		}
		srv.echo.POST("/test/unguarded", handler, keys)
		srv.echo.POST("/test/caller-without-id", handler, then(withoutID, keys))

		for _, path := range []string{"/test/unguarded", "/test/caller-without-id"} {
			ran = 0
			rec := srv.raw(t, "", http.MethodPost, path, `{}`, withKey("k-"+path))
			body := decode(t, rec)
			wantError(t, rec.Code, body, http.StatusInternalServerError, "internal")
			if msg := body["error"].(map[string]any)["message"]; msg != internalMessage {
				t.Fatalf("%s: message %q, want the generic one", path, msg)
			}
			if ran != 0 {
				t.Fatalf("%s: the handler ran %d times without the protocol", path, ran)
			}
			if _, found, err := srv.store.Lookup(context.Background(), idem.Key{Key: "k-" + path}); err != nil || found {
				t.Fatalf("%s: a key was kept for nobody: %v %v", path, found, err)
			}
			if logs := srv.logs.String(); !strings.Contains(logs, "no signed-in caller") || !strings.Contains(logs, path) {
				t.Fatalf("%s: the fault is not logged:\n%s", path, logs)
			}
			// Without a key, nothing of the protocol runs: as before.
			if rec := srv.raw(t, "", http.MethodPost, path, `{}`, nil); rec.Code != http.StatusCreated || ran != 1 {
				t.Fatalf("%s without a key: %d, ran %d", path, rec.Code, ran)
			}
		}

		// The public log-in takes a key as before, twice: answered, never
		// replayed (it answers a token, which must not be stored).
		for i := 0; i < 2; i++ {
			rec := srv.raw(t, "", http.MethodPost, "/api/v1/auth/login",
				map[string]string{"username": "it.officer", "password": demo.Password}, withKey("login"))
			if rec.Code != http.StatusOK || rec.Header().Get("Idempotent-Replayed") != "" {
				t.Fatalf("log-in %d with a key: %d %s", i, rec.Code, rec.Body)
			}
		}
	})
}
