package store_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/jobs"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
)

// TestJobLease_oneLeader runs three job runners on three stores of one
// PostgreSQL database, as three servers would: one leads and alone runs
// the job; when its store's lease connection is killed, and then when it
// stops, another takes over within seconds. On SQLite the one server
// always leads.
func TestJobLease_oneLeader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sqlite := openBackend(t, testdb.SQLite).Store
	if held, err := sqlite.JobLease().TryAcquire(ctx); err != nil || !held {
		t.Fatalf("SQLite lease = %v, %v; want always held", held, err)
	}
	base := os.Getenv(testdb.PostgresEnv)
	if base == "" {
		t.Skip("the shared lease needs " + testdb.PostgresEnv)
	}
	dsn := testdb.PostgresSchema(t, base)
	const servers = 3
	runs := make([]atomic.Int64, servers)
	runners := make([]*jobs.Runner, servers)
	for i := range servers {
		st := openStore(t, dsn, testKey)
		runners[i] = jobs.New(st.JobLease(), []jobs.Job{{
			Name: "count", Every: 10 * time.Millisecond,
			Run: func(context.Context) error { runs[i].Add(1); return nil },
		}}, jobs.Options{Poll: 20 * time.Millisecond})
		runners[i].Start(ctx)
		t.Cleanup(runners[i].Stop)
	}
	leader := func() int {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			n, who := 0, -1
			for i, r := range runners {
				if r.Leading() {
					n, who = n+1, i
				}
			}
			if n > 1 {
				t.Fatalf("%d runners lead at once", n)
			}
			if n == 1 {
				return who
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no runner leads within 5 s")
		return -1
	}
	first := leader()
	before := make([]int64, servers)
	for i := range runs {
		before[i] = runs[i].Load()
	}
	time.Sleep(300 * time.Millisecond)
	for i := range runs {
		grew := runs[i].Load() > before[i]
		if grew != (i == first) {
			t.Fatalf("runner %d ran the job %d times meanwhile (leader %d)", i, runs[i].Load()-before[i], first)
		}
	}

	// Kill the leader's lease connection, as a crash or a network cut
	// would: it stops leading and another takes over.
	killLeaseSessions(t, dsn, 1)
	start := time.Now()
	deadline := time.Now().Add(5 * time.Second)
	for runners[first].Leading() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	second := leader()
	t.Logf("lease handed over from runner %d to %d in %s after its connection was killed", first, second, time.Since(start))

	// Stopping the leader hands the lease over too.
	runners[second].Stop()
	start = time.Now()
	third := leader()
	if third == second {
		t.Fatal("a stopped runner leads")
	}
	t.Logf("lease handed over from stopped runner %d to %d in %s", second, third, time.Since(start))
}

// killLeaseSessions terminates the sessions that hold the job lease on the
// database at dsn, and fails unless it killed want of them.
func killLeaseSessions(t *testing.T, dsn string, want int) {
	t.Helper()
	db, err := store.OpenInspection(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	var killed []bool
	err = db.Raw(`SELECT pg_terminate_backend(pid) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND classid = ?::oid AND objid = ?::oid AND pid <> pg_backend_pid()`,
		store.JobsLockID>>32, store.JobsLockID&0xffffffff).Scan(&killed).Error
	if err != nil || len(killed) != want {
		t.Fatalf("killed %d lease sessions (%v), want %d", len(killed), err, want)
	}
}
