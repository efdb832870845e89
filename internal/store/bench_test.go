package store_test

import (
	"context"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// benchStores opens a fresh store per backend for a benchmark.
func benchStores(b *testing.B, run func(b *testing.B, db testDB)) {
	for _, be := range backends() {
		b.Run(be.Name, func(b *testing.B) {
			run(b, openBackend(b, be))
		})
	}
}

// BenchmarkAppendAudit appends one audit record per write transaction, as a
// log-in does: the cost is dominated by the commit's fsync.
func BenchmarkAppendAudit(b *testing.B) {
	benchStores(b, func(b *testing.B, db testDB) {
		ctx := context.Background()
		rec := workflow.Change{
			Actor: "it.officer", Authority: "IT", Action: "auth.login", Outcome: workflow.OutcomeOK,
			Details: map[string]any{"ip": "127.0.0.1"},
		}
		for b.Loop() {
			if err := db.Store.RecordAudit(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}

// BenchmarkVerifyAudit verifies a chain of 100,000 entries.
func BenchmarkVerifyAudit(b *testing.B) {
	const n = 100000
	benchStores(b, func(b *testing.B, db testDB) {
		ctx := context.Background()
		// Fill the chain in a few large transactions: faster than one
		// commit per entry, and the chain is the same.
		for done := 0; done < n; {
			err := db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				for i := 0; i < 1000 && done < n; i, done = i+1, done+1 {
					if err := tx.Apply(ctx, workflow.Change{
						Actor: "es.officer", Authority: "ES", Action: "request.update", RequestID: "r",
						Outcome: workflow.OutcomeOK, Details: map[string]any{"i": done},
					}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			v, err := db.Store.VerifyAudit(ctx)
			if err != nil || !v.OK || v.Entries != n {
				b.Fatalf("verify = %+v, %v", v, err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}

// BenchmarkFire fires events through the workflow service on the real
// store, one request going back and forth (request_info, provide_info):
// "serial" from one goroutine, each event waiting for its own commit (the
// latency of one transition), "parallel" from 32 goroutines on requests of
// their own, which the group commit shares commits among.
func BenchmarkFire(b *testing.B) {
	benchStores(b, func(b *testing.B, db testDB) {
		ctx := context.Background()
		svc := workflow.NewService(db.Store, testPolicy{})
		step := func(r workflow.Request) (workflow.Request, error) {
			if r.State == workflow.StateAcknowledged {
				return svc.Fire(ctx, esOfficer, r.ID, workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "which account?"})
			}
			return svc.Fire(ctx, itOfficer, r.ID, workflow.EventInput{Event: workflow.EventProvideInfo, Comment: "this one"})
		}
		b.Run("serial", func(b *testing.B) {
			r := acknowledged(b, svc)
			for b.Loop() {
				var err error
				if r, err = step(r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
		})
		b.Run("parallel", func(b *testing.B) {
			before := db.Store.WriteStats()
			b.SetParallelism(16) // 32 goroutines on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				r := acknowledged(b, svc)
				for pb.Next() {
					var err error
					if r, err = step(r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			after := db.Store.WriteStats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
			if c := after.Commits - before.Commits; c > 0 {
				b.ReportMetric(float64(after.Transactions-before.Transactions)/float64(c), "tx/commit")
			}
		})
	})
}
