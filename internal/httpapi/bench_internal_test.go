package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// BenchmarkListPageJSON encodes a full page of the request list (50 rows)
// the way GET /api/v1/requests answers it: the domain values turned into
// the contract's shapes (with each row's allowed_events for the caller),
// then encoded as JSON.
func BenchmarkListPageJSON(b *testing.B) {
	wf := workflow.NewService(nil, auth.NewPolicy())
	actor := workflow.Actor{Username: "es.officer", Role: workflow.RoleOfficer, Authority: "ES"}
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)
	list := make([]workflow.Request, 50)
	for i := range list {
		list[i] = workflow.Request{
			ID: workflow.NewID(), Reference: fmt.Sprintf("IT-MLA-2026-%06d", i+1), Kind: workflow.KindMLA,
			State: workflow.StateAcknowledged, Version: 3, RequestingAuthority: "IT", RequestedAuthority: "ES",
			Title:      "Bank records of Rossi S.r.l. — «évidence»",
			Summary:    "Investigation into Rossi S.r.l. concerning fraud and money laundering; the requesting authority asks for the statements of account 2023-2025.",
			LegalBasis: "UNTOC Art. 18", Offences: []string{"fraud", "money laundering"},
			Measures: []string{"bank_records"}, Urgency: workflow.UrgencyNormal, DueDate: "2026-12-31",
			CreatedAt: at, UpdatedAt: at.Add(time.Hour),
		}
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		page := toPage(toRequestsJSON(wf, actor, list, nil), "cursor")
		w := &countingWriter{}
		if err := json.NewEncoder(w).Encode(page); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(size), "bytes/page")
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)
