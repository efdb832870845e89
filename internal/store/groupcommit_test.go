package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The tests of this file prove that group commit keeps the guarantees of a
// transaction per command: exactly one winner of a race, one audit entry
// per change in one contiguous chain, a failing transaction not affecting
// the others of its batch, and nothing kept (and nobody told otherwise) when
// a batch's commit fails.

var (
	itSupervisor = workflow.Actor{UserID: "1", Username: "it.supervisor", Role: workflow.RoleSupervisor, Authority: "IT"}
	itOfficer    = workflow.Actor{UserID: "2", Username: "it.officer", Role: workflow.RoleOfficer, Authority: "IT"}
	esOfficer    = workflow.Actor{UserID: "3", Username: "es.officer", Role: workflow.RoleOfficer, Authority: "ES"}
	esSupervisor = workflow.Actor{UserID: "4", Username: "es.supervisor", Role: workflow.RoleSupervisor, Authority: "ES"}
)

// acknowledged drafts a request from IT to ES through the service and
// moves it to acknowledged: three audit entries.
func acknowledged(t testing.TB, svc *workflow.Service) workflow.Request {
	t.Helper()
	ctx := context.Background()
	r, err := svc.Create(ctx, itOfficer, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = svc.Fire(ctx, itSupervisor, r.ID, workflow.EventInput{Event: workflow.EventSend}); err != nil {
		t.Fatal(err)
	}
	if r, err = svc.Fire(ctx, esOfficer, r.ID, workflow.EventInput{Event: workflow.EventAcknowledge}); err != nil {
		t.Fatal(err)
	}
	return r
}

// auditCount counts the entries of one request with the given action and
// outcome.
func auditCount(t testing.TB, s *store.Store, requestID, action, outcome string) int {
	t.Helper()
	n := 0
	f := workflow.AuditFilter{RequestID: requestID, Action: action, Outcome: outcome, Limit: workflow.MaxLimit}
	for {
		page, next, err := s.AuditEntries(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
		if next == "" {
			return n
		}
		f.Cursor = next
	}
}

// TestGroupCommit_oneWinner fires the same event at one request from many
// goroutines at once, first all inside one batch, then as they come:
// exactly one succeeds, every other is refused with 409 and audited as
// denied, and the chain holds exactly one entry of the change.
func TestGroupCommit_oneWinner(t *testing.T) {
	t.Parallel()
	const racers = 24
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			svc := workflow.NewService(db.Store, testPolicy{})
			for _, oneBatch := range []bool{true, false} {
				t.Run(fmt.Sprintf("one batch %v", oneBatch), func(t *testing.T) {
					r := acknowledged(t, svc)
					var release func()
					var queued func() int
					if oneBatch {
						queued, release = store.HoldWriter(db.Store)
					}
					var wg sync.WaitGroup
					errs := make([]error, racers)
					start := make(chan struct{})
					for i := range racers {
						wg.Go(func() {
							<-start
							_, errs[i] = svc.Fire(context.Background(), esSupervisor, r.ID,
								workflow.EventInput{Event: workflow.EventExecute, Comment: fmt.Sprintf("report %d", i)})
						})
					}
					close(start)
					if oneBatch {
						if !store.WaitQueued(queued, racers-1) {
							release()
							t.Fatalf("the racers did not queue up: %d queued", queued())
						}
						release()
					}
					wg.Wait()
					won := 0
					for _, err := range errs {
						switch workflow.ErrorCode(err) {
						case "":
							won++
						case workflow.ErrInvalidTransition, workflow.ErrVersionConflict:
						default:
							t.Errorf("a racer failed with %v, want a 409", err)
						}
					}
					if won != 1 {
						t.Fatalf("%d racers won, want exactly 1", won)
					}
					got, err := db.Store.Request(context.Background(), r.ID)
					if err != nil || got.State != workflow.StateExecuted || got.Version != r.Version+1 {
						t.Fatalf("request = %s at %d (%v), want executed at %d", got.State, got.Version, err, r.Version+1)
					}
					if n := auditCount(t, db.Store, r.ID, "request.execute", workflow.OutcomeOK); n != 1 {
						t.Fatalf("%d ok entries of the execution, want 1", n)
					}
					if n := auditCount(t, db.Store, r.ID, "request.execute", workflow.OutcomeDenied); n != racers-1 {
						t.Fatalf("%d denied entries, want %d", n, racers-1)
					}
					hist, err := db.Store.History(context.Background(), r.ID)
					if err != nil || len(hist) != 3 {
						t.Fatalf("history has %d transitions (%v), want send, acknowledge, execute", len(hist), err)
					}
				})
			}
			v, err := db.Store.VerifyAudit(context.Background())
			if err != nil || !v.OK {
				t.Fatalf("verify = %+v, %v", v, err)
			}
		})
	}
}

// TestGroupCommit_manyTransitions moves many requests back and forth from
// many goroutines at once: every transition succeeds, and the chain holds
// one entry per change, contiguous and intact.
func TestGroupCommit_manyTransitions(t *testing.T) {
	t.Parallel()
	const workers, rounds = 32, 10
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := workflow.NewService(db.Store, testPolicy{})
			reqs := make([]workflow.Request, workers)
			for i := range reqs {
				reqs[i] = acknowledged(t, svc)
			}
			before := db.Store.WriteStats()
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					r := reqs[w]
					for i := range rounds {
						var err error
						v := r.Version
						if r, err = svc.Fire(ctx, esOfficer, r.ID, workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "which account?", Version: &v}); err != nil {
							errs <- fmt.Errorf("worker %d round %d request_info: %w", w, i, err)
							return
						}
						v = r.Version
						if r, err = svc.Fire(ctx, itOfficer, r.ID, workflow.EventInput{Event: workflow.EventProvideInfo, Comment: "this one", Version: &v}); err != nil {
							errs <- fmt.Errorf("worker %d round %d provide_info: %w", w, i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			after := db.Store.WriteStats()
			t.Logf("%d transactions in %d commits", after.Transactions-before.Transactions, after.Commits-before.Commits)
			for _, r := range reqs {
				got, err := db.Store.Request(ctx, r.ID)
				if err != nil || got.State != workflow.StateAcknowledged || got.Version != r.Version+2*rounds {
					t.Fatalf("request %s: %s at %d (%v), want acknowledged at %d", r.ID, got.State, got.Version, err, r.Version+2*rounds)
				}
				hist, err := db.Store.History(ctx, r.ID)
				if err != nil || len(hist) != 2+2*rounds {
					t.Fatalf("request %s has %d transitions (%v), want %d", r.ID, len(hist), err, 2+2*rounds)
				}
				if n := auditCount(t, db.Store, r.ID, "", ""); n != 3+2*rounds {
					t.Fatalf("request %s has %d audit entries, want %d", r.ID, n, 3+2*rounds)
				}
			}
			// One entry per change, numbered 1..n without a gap, each linked
			// to the one before (VerifyAudit checks numbers and links).
			mustVerify(t, db.Store, int64(workers*(3+2*rounds)))
		})
	}
}

// TestGroupCommit_failingItem runs a batch in which one transaction writes
// and then fails, and another panics: both are rolled back to their
// savepoints and answered with their own error (or panic), and every other
// transaction of the batch commits, its audit entries contiguous.
func TestGroupCommit_failingItem(t *testing.T) {
	t.Parallel()
	const n = 12
	const failing, panicking = 4, 9
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			appendN(t, db.Store, 3)
			refused := workflow.Errorf(workflow.ErrForbidden, "not this one")
			reqs := make([]workflow.Request, n)
			for i := range reqs {
				reqs[i] = newRequest(i, "IT", "ES", workflow.KindMLA, workflow.StateDrafted)
			}
			before := db.Store.WriteStats()
			queued, release := store.HoldWriter(db.Store)
			var wg sync.WaitGroup
			errs := make([]error, n)
			panics := make([]any, n)
			for i := range n {
				wg.Go(func() {
					defer func() { panics[i] = recover() }()
					errs[i] = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
						if err := store.Raw(tx).CreateRequest(ctx, reqs[i]); err != nil {
							return err
						}
						if err := tx.Apply(ctx, workflow.Change{
							Actor: "it.officer", Authority: "IT", Action: "request.create", RequestID: reqs[i].ID,
							Outcome: workflow.OutcomeOK, Details: map[string]any{"i": i},
						}); err != nil {
							return err
						}
						switch i {
						case failing:
							return refused
						case panicking:
							panic("boom")
						}
						return nil
					})
				})
			}
			if !store.WaitQueued(queued, n-1) {
				release()
				t.Fatalf("only %d transactions queued", queued())
			}
			release()
			wg.Wait()
			after := db.Store.WriteStats()
			if after.Commits-before.Commits != 1 || after.Transactions-before.Transactions != n {
				t.Fatalf("%d transactions in %d commits, want %d in one", after.Transactions-before.Transactions, after.Commits-before.Commits, n)
			}
			for i := range n {
				_, err := db.Store.Request(ctx, reqs[i].ID)
				switch i {
				case failing:
					if errs[i] != refused {
						t.Errorf("failing transaction returned %v, want its own error", errs[i])
					}
					wantCode(t, err, workflow.ErrNotFound)
				case panicking:
					if panics[i] != "boom" {
						t.Errorf("panicking transaction: recovered %v, want its panic", panics[i])
					}
					wantCode(t, err, workflow.ErrNotFound)
				default:
					if errs[i] != nil || panics[i] != nil {
						t.Errorf("transaction %d: %v %v", i, errs[i], panics[i])
					}
					if err != nil {
						t.Errorf("request of transaction %d: %v", i, err)
					}
				}
			}
			// 3 before, and one per committed transaction, without gaps.
			mustVerifyChain(t, db.Store, 3+n-2)
			// The chain goes on after the batch.
			appendN(t, db.Store, 2)
			mustVerifyChain(t, db.Store, 3+n-2+2)
		})
	}
}

// TestGroupCommit_commitFails injects a failing COMMIT into a batch: every
// transaction of the batch is answered ErrUnavailable, also those that had
// decided on their own, and nothing of the batch is kept.
func TestGroupCommit_commitFails(t *testing.T) {
	t.Parallel()
	const n = 8
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := workflow.NewService(db.Store, testPolicy{})
			r := acknowledged(t, svc) // 3 entries
			reqs := make([]workflow.Request, n)
			for i := range reqs {
				reqs[i] = newRequest(i, "IT", "ES", workflow.KindMLA, workflow.StateDrafted)
			}
			restore := store.FailCommits(db.Store, errors.New("injected: disk I/O error"))
			queued, release := store.HoldWriter(db.Store)
			var wg sync.WaitGroup
			errs := make([]error, n+1)
			for i := range n {
				wg.Go(func() {
					errs[i] = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
						if err := store.Raw(tx).CreateRequest(ctx, reqs[i]); err != nil {
							return err
						}
						return tx.Apply(ctx, workflow.Change{Actor: "it.officer", Action: "request.create", RequestID: reqs[i].ID})
					})
				})
			}
			// A transition in the same batch.
			wg.Go(func() {
				_, errs[n] = svc.Fire(ctx, esSupervisor, r.ID, workflow.EventInput{Event: workflow.EventExecute, Comment: "done"})
			})
			if !store.WaitQueued(queued, n) {
				release()
				t.Fatalf("only %d transactions queued", queued())
			}
			release()
			wg.Wait()
			restore()
			for i, err := range errs {
				wantCode(t, err, workflow.ErrUnavailable)
				if i < n {
					_, err := db.Store.Request(ctx, reqs[i].ID)
					wantCode(t, err, workflow.ErrNotFound)
				}
			}
			got, err := db.Store.Request(ctx, r.ID)
			if err != nil || got.State != workflow.StateAcknowledged || got.Version != r.Version {
				t.Fatalf("request after the failed commit: %s at %d (%v), want it unchanged", got.State, got.Version, err)
			}
			mustVerify(t, db.Store, 3)
			// The next batch commits, and the chain goes on from where it was.
			if _, err := svc.Fire(ctx, esSupervisor, r.ID, workflow.EventInput{Event: workflow.EventExecute, Comment: "done"}); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, db.Store, 4)
		})
	}
}

// TestGroupCommit_cancelledWhileQueued cancels a caller's context while its
// transaction waits in the queue: it is not run, and its batch goes on.
func TestGroupCommit_cancelledWhileQueued(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			queued, release := store.HoldWriter(db.Store)
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan bool, 1)
			var wg sync.WaitGroup
			var errFirst, errCancelled error
			wg.Go(func() {
				errFirst = db.Store.RecordAudit(context.Background(), workflow.Change{Actor: "a", Action: "x"})
			})
			wg.Go(func() {
				errCancelled = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
					ran <- true
					return tx.Apply(ctx, workflow.Change{Actor: "b", Action: "x"})
				})
			})
			if !store.WaitQueued(queued, 1) {
				release()
				t.Fatal("nothing queued")
			}
			cancel()
			release()
			wg.Wait()
			if errFirst != nil {
				t.Fatal(errFirst)
			}
			if !errors.Is(errCancelled, context.Canceled) {
				t.Fatalf("cancelled transaction returned %v, want context.Canceled", errCancelled)
			}
			select {
			case <-ran:
				t.Fatal("the cancelled transaction ran")
			default:
			}
			mustVerify(t, db.Store, 1)
		})
	}
}

// TestGroupCommit_closed checks that Close answers what is queued and that
// later writes fail instead of hanging.
func TestGroupCommit_closed(t *testing.T) {
	t.Parallel()
	s := openStore(t, backends()[0].DSN(t), testKey)
	appendN(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := s.RecordAudit(context.Background(), workflow.Change{Actor: "x", Action: "y"})
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("write after Close: %v, want an error saying the store is closed", err)
	}
}

// TestVerifyAudit_longChain tampers with a chain long enough to be checked
// in several pages with parallel MACs: the first bad entry is reported.
func TestVerifyAudit_longChain(t *testing.T) {
	t.Parallel()
	const n = 9000
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			err := db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				for i := range n {
					if err := tx.Apply(ctx, workflow.Change{
						At: baseTime.Add(time.Duration(i) * time.Second), Actor: "es.officer", Authority: "ES",
						Action: "request.update", Outcome: workflow.OutcomeOK, Details: map[string]any{"i": i},
					}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, db.Store, n)
			tamper := []string{
				`UPDATE audit_entries SET details = '{"i":1}' WHERE seq = 8123`,
				`UPDATE audit_entries SET actor = 'mallory' WHERE seq = 5000`,
			}
			if db.Name == "sqlite" {
				// A NUL byte inside a field: SQLite stores it, the store
				// never writes one.
				tamper = append(tamper, `UPDATE audit_entries SET actor = 'es.officer' || char(0) || 'x' WHERE seq = 4097`)
			}
			want := []int64{8123, 5000, 4097}
			for i, q := range tamper {
				if err := db.Store.DB().Exec(q).Error; err != nil {
					t.Fatal(err)
				}
				v, err := db.Store.VerifyAudit(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if v.OK || v.BrokenAt != want[i] || v.Entries != want[i]-1 || !strings.Contains(v.Problem, "altered") {
					t.Fatalf("after %s: verify = %+v, want altered at %d", q, v, want[i])
				}
			}
		})
	}
}
