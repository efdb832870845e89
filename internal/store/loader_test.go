package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/seed"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestLoader seeds a database in bulk and checks that the server can use
// it: the chain verifies (after what was there before), the requests read
// back as generated, a seeded request moves on through the service, and a
// new request gets a reference after the seeded ones.
func TestLoader(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			appendN(t, db.Store, 2) // the chain continues after what is there
			now := time.Now().UTC()
			l := db.Store.NewLoader(ctx)
			mem := &recording{Loader: l}
			st, err := seed.Generate(ctx, seed.Options{
				Requests: 2500, Authorities: []string{"IT", "ES", "NG", "TH"}, End: now, Span: 400 * 24 * time.Hour, Seed: 3,
				Digester: db.Store,
			}, mem)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if l.Written.Requests != st.Requests || l.Written.History != st.History || l.Written.Audit != st.Audit {
				t.Fatalf("written %+v, generated %+v", l.Written, st)
			}
			mustVerify(t, db.Store, 2+st.Audit)

			for _, want := range mem.requests[:50] {
				got, err := db.Store.Request(ctx, want.ID)
				if err != nil || got.State != want.State || got.Version != want.Version || got.Reference != want.Reference {
					t.Fatalf("request %s read back as %+v (%v), generated %+v", want.ID, got, err, want)
				}
			}
			svc := workflow.NewService(db.Store, testPolicy{})
			var ack workflow.Request
			for _, r := range mem.requests {
				if r.State == workflow.StateAcknowledged && r.RequestingAuthority == "IT" && r.RequestedAuthority == "ES" {
					ack = r
				}
			}
			if ack.ID == "" {
				t.Fatal("no acknowledged request from IT to ES was generated")
			}
			v := ack.Version
			r, err := svc.Fire(ctx, esOfficer, ack.ID, workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "more", Version: &v})
			if err != nil || r.State != workflow.StateInfoRequested {
				t.Fatalf("fire on a seeded request: %+v, %v", r, err)
			}
			created, err := svc.Create(ctx, itOfficer, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "After the seed"})
			if err != nil {
				t.Fatalf("create after the seed: %v", err)
			}
			for _, r := range mem.requests {
				if r.Reference == created.Reference {
					t.Fatalf("new request got the seeded reference %s", r.Reference)
				}
			}
			mustVerify(t, db.Store, 2+st.Audit+2)
			checkCounts(t, db.Store, []string{"IT", "ES", "NG", "TH"}, "after the seed")
		})
	}
}

// recording passes everything to the loader and keeps the requests.
type recording struct {
	*store.Loader
	requests []workflow.Request
}

func (r *recording) Request(q workflow.Request) error {
	r.requests = append(r.requests, q)
	return r.Loader.Request(q)
}
