package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestCountRequests_keptInStep changes requests at random (new ones, new
// states, a draft sent to another authority, changes rolled back, updates
// of a request the transaction did not read) and
// checks after each round that the counts CountRequests answers are those
// of the requests themselves, on both databases, and after Open rebuilt the
// counts of a database that had none.
func TestCountRequests_keptInStep(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.Store
			rnd := rand.New(rand.NewPCG(1, 2))
			authorities := []string{"IT", "ES", "NG", "TH"}
			var ids []string
			errRollback := errors.New("roll back")
			for round := range 6 {
				for i := range 10 {
					n := round*10 + i
					from := authorities[rnd.IntN(4)]
					to := authorities[rnd.IntN(4)]
					if to == from {
						to = authorities[(rnd.IntN(3)+1+slices.Index(authorities, from))%4]
					}
					r := newRequest(n, from, to, workflow.KindMLA, workflow.States[rnd.IntN(len(workflow.States))])
					insert(t, s, r)
					ids = append(ids, r.ID)
				}
				for range 15 {
					id := ids[rnd.IntN(len(ids))]
					rollback := rnd.IntN(4) == 0
					unread := rnd.IntN(5) == 0 // updated without reading it in the transaction
					err := s.WithTx(ctx, func(tx workflow.Tx) error {
						r, err := s.Request(ctx, id)
						if !unread {
							r, err = tx.Request(ctx, id)
						}
						if err != nil {
							return err
						}
						old := r.Version
						r.Version++
						r.State = workflow.States[rnd.IntN(len(workflow.States))]
						if rnd.IntN(3) == 0 {
							r.RequestedAuthority = authorities[(slices.Index(authorities, r.RequestingAuthority)+1+rnd.IntN(3))%4]
						}
						if err := store.Raw(tx).UpdateRequest(ctx, r, old); err != nil {
							return err
						}
						if rollback {
							return errRollback
						}
						return nil
					})
					if err != nil && !(rollback && errors.Is(err, errRollback)) {
						t.Fatal(err)
					}
				}
				checkCounts(t, s, authorities, fmt.Sprintf("round %d", round))
			}
			// Rebuilt by Open on a database from a release that had no
			// counts yet.
			exec(t, s, "DROP TABLE request_counts")
			unversion(t, s)
			s.Close()
			reopened := openStore(t, db.DSN, testKey)
			checkCounts(t, reopened, authorities, "rebuilt")
		})
	}
}

// checkCounts compares CountRequests for every authority with a count of
// the requests themselves.
func checkCounts(t *testing.T, s *store.Store, authorities []string, when string) {
	t.Helper()
	ctx := context.Background()
	type row struct {
		From, To, State string
		N               int
	}
	var rows []row
	if err := s.DB().Raw(`SELECT requesting_authority AS "from", requested_authority AS "to", state, COUNT(*) AS n
		FROM requests GROUP BY requesting_authority, requested_authority, state`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, a := range authorities {
		want := workflow.Counts{Incoming: map[workflow.State]int{}, Outgoing: map[workflow.State]int{}}
		for _, r := range rows {
			switch {
			case r.From == a:
				want.Outgoing[workflow.State(r.State)] += r.N
			case r.To == a:
				want.Incoming[workflow.State(r.State)] += r.N
			}
		}
		scope := workflow.Scope{Authority: a, RequestingStates: workflow.States, RequestedStates: workflow.States}
		got, err := s.CountRequests(ctx, scope)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s, %s: counts %v\nwant %v", when, a, got, want)
		}
	}
}
