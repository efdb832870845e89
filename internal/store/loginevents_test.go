package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
)

// TestLoginEvents: the throttle's events are kept in the database, newest
// first, bounded by time and number, forgotten by subject and pruned by
// kind; a second store on the same database (another server) sees them at
// once.
func TestLoginEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			s := db.Store
			other := openStore(t, db.DSN, testKey)
			t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
			alice := auth.LoginEvent{Kind: "user", Subject: "alice"}
			bob := auth.LoginEvent{Kind: "user", Subject: "bob"}
			known := auth.LoginEvent{Kind: "known", Subject: "5:alice@127.0.0.1"}
			for i := range 5 {
				if err := s.RecordLoginEvents(ctx, t0.Add(time.Duration(i)*time.Second), []auth.LoginEvent{alice, bob}, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := other.RecordLoginEvents(ctx, t0, []auth.LoginEvent{known}, nil); err != nil {
				t.Fatal(err)
			}
			recent := func(st interface {
				RecentLoginEvents(context.Context, string, string, time.Time, int) ([]time.Time, error)
			}, e auth.LoginEvent, since time.Time, limit int) []time.Time {
				t.Helper()
				got, err := st.RecentLoginEvents(ctx, e.Kind, e.Subject, since, limit)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			want := []time.Time{t0.Add(4 * time.Second), t0.Add(3 * time.Second), t0.Add(2 * time.Second)}
			if got := recent(other, alice, t0.Add(time.Second), 10); !slices.Equal(got, want) {
				t.Fatalf("recent after 1 s, seen by the other server = %v, want %v", got, want)
			}
			if got := recent(s, alice, t0.Add(-time.Second), 2); !slices.Equal(got, want[:2]) {
				t.Fatalf("newest two = %v, want %v", got, want[:2])
			}
			if got := recent(s, known, t0.Add(-time.Hour), 1); len(got) != 1 {
				t.Fatalf("the other server's event is not seen: %v", got)
			}
			// Forgetting alice leaves bob; recording and forgetting go together.
			if err := other.RecordLoginEvents(ctx, t0.Add(time.Minute), []auth.LoginEvent{known}, []auth.LoginEvent{alice}); err != nil {
				t.Fatal(err)
			}
			if got := recent(s, alice, t0.Add(-time.Hour), 10); len(got) != 0 {
				t.Fatalf("alice's events after forgetting: %v", got)
			}
			if got := recent(s, bob, t0.Add(-time.Hour), 10); len(got) != 5 {
				t.Fatalf("bob's events after forgetting alice's: %v", got)
			}
			// Pruning goes by kind: users' failures up to 2 s, none of known.
			n, err := s.PruneLoginEvents(ctx, map[string]time.Time{"user": t0.Add(2 * time.Second)})
			if err != nil || n != 3 {
				t.Fatalf("prune = %d, %v; want 3", n, err)
			}
			if got := recent(s, bob, t0.Add(-time.Hour), 10); !slices.Equal(got, want[:2]) {
				t.Fatalf("bob after the prune = %v, want %v", got, want[:2])
			}
			if got := recent(s, known, t0.Add(-time.Hour), 10); len(got) != 2 {
				t.Fatalf("known after a prune of users: %v", got)
			}
		})
	}
}
