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
		rec := workflow.AuditRecord{
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

// BenchmarkVerifyAudit verifies a chain of 10,000 entries.
func BenchmarkVerifyAudit(b *testing.B) {
	const n = 10000
	benchStores(b, func(b *testing.B, db testDB) {
		ctx := context.Background()
		// Fill the chain in a few large transactions: faster than one
		// commit per entry, and the chain is the same.
		for done := 0; done < n; {
			err := db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				for i := 0; i < 1000 && done < n; i, done = i+1, done+1 {
					if err := tx.AppendAudit(ctx, workflow.AuditRecord{
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
