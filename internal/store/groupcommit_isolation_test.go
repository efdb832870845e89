package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The tests of this file prove that one caller's transaction cannot fail
// the others of its batch, whatever it writes, and that batches that lose
// a race to another server's are run again instead of answered 503.

// TestGroupCommit_badItemRunsAlone builds a batch in which some
// transactions leave rows that cannot be written when the batch ends (a
// history row of a request that does not exist; on PostgreSQL also a
// comment with a NUL character, which it refuses in text): the batch fails
// before its COMMIT, its transactions run again one by one, and only the
// bad ones fail; every other commits, with its audit entry in an intact
// chain.
func TestGroupCommit_badItemRunsAlone(t *testing.T) {
	t.Parallel()
	const n = 10
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			bad := map[int]func(*workflow.HistoryEntry){
				3: func(h *workflow.HistoryEntry) { h.RequestID = workflow.NewID() }, // no such request
			}
			if db.Name == "postgres" {
				bad[7] = func(h *workflow.HistoryEntry) { h.Comment = "a\x00b" }
			}
			reqs := make([]workflow.Request, n)
			for i := range reqs {
				reqs[i] = newRequest(i, "IT", "ES", workflow.KindMLA, workflow.StateDrafted)
			}
			queued, release := store.HoldWriter(db.Store)
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					errs[i] = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
						if err := store.Raw(tx).CreateRequest(ctx, reqs[i]); err != nil {
							return err
						}
						h := workflow.HistoryEntry{
							RequestID: reqs[i].ID, Event: workflow.EventSend, From: workflow.StateDrafted,
							To: workflow.StateSent, Actor: "it.supervisor", Authority: "IT", At: baseTime, Comment: "ok",
						}
						if spoil, ok := bad[i]; ok {
							spoil(&h)
						}
						if err := store.Raw(tx).AppendHistory(ctx, h); err != nil {
							return err
						}
						return tx.Apply(ctx, workflow.Change{
							Actor: "it.supervisor", Authority: "IT", Action: "request.send", RequestID: reqs[i].ID,
							Outcome: workflow.OutcomeOK,
						})
					})
				})
			}
			if !store.WaitQueued(queued, n-1) {
				release()
				t.Fatalf("only %d transactions queued", queued())
			}
			release()
			wg.Wait()
			for i := range n {
				_, err := db.Store.Request(ctx, reqs[i].ID)
				if _, isBad := bad[i]; isBad {
					if errs[i] == nil {
						t.Errorf("bad transaction %d succeeded", i)
					}
					if code := workflow.ErrorCode(errs[i]); code == workflow.ErrUnavailable {
						t.Errorf("bad transaction %d answered %v, want its own failure, not 503", i, errs[i])
					}
					wantCode(t, err, workflow.ErrNotFound)
					continue
				}
				if errs[i] != nil {
					t.Errorf("transaction %d, a batch-mate of a bad one, failed: %v", i, errs[i])
				}
				if err != nil {
					t.Errorf("request of transaction %d: %v", i, err)
				}
			}
			mustVerifyChain(t, db.Store, int64(n-len(bad)))
		})
	}
}

// TestGroupCommit_retriesConflicts makes a batch fail before its COMMIT
// with a deadlock, as PostgreSQL reports one: nothing was kept, so the
// batch runs again and every transaction commits once. A batch that keeps
// failing so is answered 503 after a bounded number of tries, quickly.
func TestGroupCommit_retriesConflicts(t *testing.T) {
	t.Parallel()
	deadlock := &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := workflow.NewService(db.Store, testPolicy{})
			r := acknowledged(t, svc) // 3 entries
			restore := store.FailBeforeCommit(db.Store, deadlock, 2)
			_, err := svc.Fire(ctx, esOfficer, r.ID, workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "which account?"})
			restore()
			if err != nil {
				t.Fatalf("fire after two deadlocks: %v, want success", err)
			}
			got, err := db.Store.Request(ctx, r.ID)
			if err != nil || got.Version != r.Version+1 {
				t.Fatalf("request at version %d (%v), want %d: the event applied once", got.Version, err, r.Version+1)
			}
			mustVerify(t, db.Store, 4)

			restore = store.FailBeforeCommit(db.Store, deadlock, -1)
			start := time.Now()
			_, err = svc.Fire(ctx, itOfficer, r.ID, workflow.EventInput{Event: workflow.EventProvideInfo, Comment: "this one"})
			restore()
			wantCode(t, err, workflow.ErrUnavailable)
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("giving up took %v, want well under 2s", d)
			}
			mustVerify(t, db.Store, 4)
		})
	}
}

// TestGroupCommit_twoServers opens two stores on one PostgreSQL database,
// as two servers. Through each store's service, many goroutines first
// draft requests of two authorities at once (the reference counters and
// the counts are rows their batches share), then race the same events at
// the same requests, each racer taking the requests in an order of its
// own, so that the two servers' batches take the same rows in every order.
// Every draft is saved; of each event on each request exactly one racer
// wins and every other gets a 409, none a 503; the chain verifies.
func TestGroupCommit_twoServers(t *testing.T) {
	t.Parallel()
	var pg *testdb.Backend
	for _, b := range backends() {
		if b.Name == "postgres" {
			pg = &b
		}
	}
	if pg == nil {
		t.Skip("needs PostgreSQL: set " + testdb.PostgresEnv)
	}
	const racersPerServer, draftsPerRacer = 8, 6
	ctx := context.Background()
	dsn := pg.DSN(t)
	stores := []*store.Store{openStore(t, dsn, testKey), openStore(t, dsn, testKey)}
	servers := []*workflow.Service{
		workflow.NewService(stores[0], testPolicy{}),
		workflow.NewService(stores[1], testPolicy{}),
	}
	// race runs fn(server, racer) in every racer of every server at once
	// and fails the test with what the racers report.
	race := func(fn func(s, g int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, len(servers)*racersPerServer)
		start := make(chan struct{})
		for s := range servers {
			for g := range racersPerServer {
				wg.Go(func() {
					<-start
					errs[s*racersPerServer+g] = fn(s, g)
				})
			}
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}

	// Drafts of IT and of ES, in turn, from every racer.
	var mu sync.Mutex
	var drafts []workflow.Request
	race(func(s, g int) error {
		for k := range draftsPerRacer {
			by, to := itOfficer, "ES"
			if (g+k)%2 == 1 {
				by, to = esOfficer, "IT"
			}
			r, err := servers[s].Create(ctx, by, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: to, Title: "Bank records"})
			if err != nil {
				return fmt.Errorf("server %d racer %d draft %d: %w", s, g, k, err)
			}
			mu.Lock()
			drafts = append(drafts, r)
			mu.Unlock()
		}
		return nil
	})
	entries := int64(len(drafts))

	// The same events at the same requests, from every racer.
	sides := map[string][2]workflow.Actor{ // requesting supervisor, requested officer
		"IT": {itSupervisor, esOfficer},
		"ES": {esSupervisor, itOfficer},
	}
	for _, step := range []struct {
		in    workflow.EventInput
		actor int // index into sides
	}{
		{workflow.EventInput{Event: workflow.EventSend}, 0},
		{workflow.EventInput{Event: workflow.EventAcknowledge}, 1},
		{workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "which account?"}, 1},
		{workflow.EventInput{Event: workflow.EventProvideInfo, Comment: "this one"}, 0},
	} {
		won := make([]atomic.Int64, len(drafts))
		race(func(s, g int) error {
			var errs []error
			for j := range drafts {
				i := (j*(2*g+1) + s*7 + g) % len(drafts)
				r := drafts[i]
				a := sides[r.RequestingAuthority][step.actor]
				_, err := servers[s].Fire(ctx, a, r.ID, step.in)
				switch workflow.ErrorCode(err) {
				case "":
					won[i].Add(1)
				case workflow.ErrInvalidTransition, workflow.ErrVersionConflict:
				default:
					errs = append(errs, fmt.Errorf("server %d racer %d: %s of request %d: %w", s, g, step.in.Event, i, err))
				}
			}
			return errors.Join(errs...)
		})
		for i := range won {
			if n := won[i].Load(); n != 1 {
				t.Fatalf("%s of request %d: %d winners, want 1", step.in.Event, i, n)
			}
		}
		// One entry per attempt: the winner's, and every loser's refusal.
		entries += int64(len(drafts) * len(servers) * racersPerServer)
	}
	for i, st := range stores {
		t.Logf("server %d: %+v", i, st.WriteStats())
	}
	mustVerify(t, stores[0], entries)
}
