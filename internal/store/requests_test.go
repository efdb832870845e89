package store_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestOpen_seedsAuthorities(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			want := []workflow.Authority{
				{Code: "ES", Name: "Spain, Ministry of Justice", CompletenessPolicy: workflow.CompletenessAdvisory},
				{Code: "IT", Name: "Italy, Ministry of Justice", CompletenessPolicy: workflow.CompletenessAdvisory},
				{Code: "NG", Name: "Nigeria, Federal Ministry of Justice", CompletenessPolicy: workflow.CompletenessAdvisory},
				{Code: "TH", Name: "Thailand, Office of the Attorney General", CompletenessPolicy: workflow.CompletenessAdvisory},
			}
			got, err := db.Store.Authorities(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("authorities %v, want %v", got, want)
			}
			// A second Open of the same database changes nothing.
			again := openStore(t, db.DSN, testKey)
			got, err = again.Authorities(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("after reopening: authorities %v, want %v", got, want)
			}
			mustVerify(t, again, 0)
			if err := again.Ping(ctx); err != nil {
				t.Fatalf("ping: %v", err)
			}
		})
	}
}

func TestRequest_roundTrip(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.Store
			want := newRequest(3, "IT", "NG", workflow.KindMLA, workflow.StateDrafted)
			insert(t, s, want)

			got, err := s.Request(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("read back:\n got %+v\nwant %+v", got, want)
			}

			// Every mutable field changes; times carry nanoseconds, which
			// the store drops to microseconds.
			next := want
			next.Reference = "IT-MLA-2026-999999"
			next.State = workflow.StateSent
			next.Version = want.Version + 1
			next.RequestedAuthority = "TH"
			next.Title = "Changed"
			next.Summary = ""
			next.LegalBasis = "Bilateral treaty"
			next.Offences = []string{"corruption"}
			next.Measures = nil
			next.Urgency = workflow.UrgencyNormal
			next.DueDate = ""
			next.UpdatedAt = want.UpdatedAt.Add(time.Hour + 999*time.Nanosecond)
			err = s.WithTx(ctx, func(tx workflow.Tx) error {
				locked, err := tx.Request(ctx, want.ID)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(locked, want) {
					t.Errorf("read for update:\n got %+v\nwant %+v", locked, want)
				}
				return store.Raw(tx).UpdateRequest(ctx, next, want.Version)
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err = s.Request(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			next.Measures = []string{} // nil lists come back empty
			next.UpdatedAt = next.UpdatedAt.Truncate(time.Microsecond)
			if !reflect.DeepEqual(got, next) {
				t.Fatalf("after update:\n got %+v\nwant %+v", got, next)
			}
			if got.CreatedAt.Location() != time.UTC {
				t.Fatalf("created_at in %v, want UTC", got.CreatedAt.Location())
			}
		})
	}
}

func TestRequest_notFound(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			_, err := db.Store.Request(ctx, "nope")
			wantCode(t, err, workflow.ErrNotFound)
			err = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				_, err := tx.Request(ctx, "nope")
				return err
			})
			wantCode(t, err, workflow.ErrNotFound)
			err = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				_, err := tx.Authority(ctx, "XX")
				return err
			})
			wantCode(t, err, workflow.ErrNotFound)
			err = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				a, err := tx.Authority(ctx, "NG")
				if err == nil && a.Name != "Nigeria, Federal Ministry of Justice" {
					t.Errorf("authority NG is %+v", a)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCreateRequest_constraints(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			r := newRequest(0, "IT", "ES", workflow.KindMLA, workflow.StateDrafted)
			insert(t, db.Store, r)
			create := func(r workflow.Request) error {
				return db.Store.WithTx(ctx, func(tx workflow.Tx) error { return store.Raw(tx).CreateRequest(ctx, r) })
			}
			dup := newRequest(1, "IT", "ES", workflow.KindMLA, workflow.StateDrafted)
			dup.ID = r.ID
			wantCode(t, create(dup), workflow.ErrConflict)
			bad := newRequest(2, "IT", "XX", workflow.KindMLA, workflow.StateDrafted)
			wantCode(t, create(bad), workflow.ErrValidation)
		})
	}
}

func TestUpdateRequest_versionConflict(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			r := newRequest(0, "ES", "IT", workflow.KindExtradition, workflow.StateDrafted)
			r.Version = 4
			insert(t, db.Store, r)
			next := r
			next.Title = "stale write"
			next.Version = 4
			err := db.Store.WithTx(ctx, func(tx workflow.Tx) error { return store.Raw(tx).UpdateRequest(ctx, next, 3) })
			wantCode(t, err, workflow.ErrVersionConflict)
			next.Version = 5
			err = db.Store.WithTx(ctx, func(tx workflow.Tx) error { return store.Raw(tx).UpdateRequest(ctx, next, 4) })
			if err != nil {
				t.Fatal(err)
			}
			// The same old version again: the first writer won.
			err = db.Store.WithTx(ctx, func(tx workflow.Tx) error { return store.Raw(tx).UpdateRequest(ctx, next, 4) })
			wantCode(t, err, workflow.ErrVersionConflict)
			got, _ := db.Store.Request(ctx, r.ID)
			if got.Version != 5 || got.Title != "stale write" {
				t.Fatalf("stored version %d title %q, want 5 and the one accepted write", got.Version, got.Title)
			}
		})
	}
}

func TestWithTx_rollsBackEverything(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			r := newRequest(0, "IT", "ES", workflow.KindMLA, workflow.StateDrafted)
			refused := workflow.Errorf(workflow.ErrForbidden, "no")
			err := db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				if err := store.Raw(tx).CreateRequest(ctx, r); err != nil {
					return err
				}
				if _, err := tx.NextSerial(ctx, "IT", workflow.KindMLA, 2026); err != nil {
					return err
				}
				if err := tx.Apply(ctx, workflow.Change{Actor: "x", Action: "request.create"}); err != nil {
					return err
				}
				return refused
			})
			if err != refused {
				t.Fatalf("WithTx returned %v, want the callback's error unchanged", err)
			}
			_, err = db.Store.Request(ctx, r.ID)
			wantCode(t, err, workflow.ErrNotFound)
			mustVerify(t, db.Store, 0)
			err = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				n, err := tx.NextSerial(ctx, "IT", workflow.KindMLA, 2026)
				if err == nil && n != 1 {
					t.Errorf("serial after rollback = %d, want 1", n)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNextSerial(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			steps := []struct {
				authority string
				kind      workflow.Kind
				year      int
				want      int64
			}{
				{"IT", workflow.KindMLA, 2026, 1},
				{"IT", workflow.KindMLA, 2026, 2},
				{"IT", workflow.KindExtradition, 2026, 1},
				{"ES", workflow.KindMLA, 2026, 1},
				{"IT", workflow.KindMLA, 2027, 1},
				{"IT", workflow.KindMLA, 2026, 3},
				{"IT", workflow.KindExtradition, 2026, 2},
			}
			for i, st := range steps {
				var got int64
				err := db.Store.WithTx(ctx, func(tx workflow.Tx) error {
					var err error
					got, err = tx.NextSerial(ctx, st.authority, st.kind, st.year)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if got != st.want {
					t.Fatalf("step %d: NextSerial(%s, %s, %d) = %d, want %d", i, st.authority, st.kind, st.year, got, st.want)
				}
			}
		})
	}
}

func TestNextSerial_concurrent(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			const workers, each = 8, 10
			got := make(chan int64, workers*each)
			errs := make(chan error, workers)
			for range workers {
				go func() {
					for range each {
						err := db.Store.WithTx(context.Background(), func(tx workflow.Tx) error {
							n, err := tx.NextSerial(context.Background(), "TH", workflow.KindMLA, 2026)
							got <- n
							return err
						})
						if err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range workers {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			close(got)
			var all []int64
			for n := range got {
				all = append(all, n)
			}
			slices.Sort(all)
			for i, n := range all {
				if n != int64(i+1) {
					t.Fatalf("serials %v are not 1..%d without repeats", all, workers*each)
				}
			}
		})
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			r := newRequest(0, "IT", "ES", workflow.KindExtradition, workflow.StateSent)
			other := newRequest(1, "IT", "ES", workflow.KindMLA, workflow.StateSent)
			insert(t, db.Store, r, other)
			at := baseTime.Truncate(time.Microsecond)
			want := []workflow.HistoryEntry{
				{RequestID: r.ID, Event: workflow.EventAcknowledge, From: workflow.StateSent, To: workflow.StateAcknowledged,
					Actor: "es.officer", Authority: "ES", At: at, Comment: "", Grounds: []string{}},
				{RequestID: r.ID, Event: workflow.EventRefuse, From: workflow.StateAcknowledged, To: workflow.StateRefused,
					Actor: "es.supervisor", Authority: "ES", At: at, Comment: "same microsecond, later row",
					Grounds: []string{"nationality", "death_penalty"}},
			}
			for _, h := range append(slices.Clone(want), workflow.HistoryEntry{RequestID: other.ID, Event: workflow.EventAcknowledge, At: at}) {
				err := db.Store.WithTx(ctx, func(tx workflow.Tx) error { return store.Raw(tx).AppendHistory(ctx, h) })
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := db.Store.History(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("history:\n got %+v\nwant %+v", got, want)
			}
			none, err := db.Store.History(ctx, "nope")
			if err != nil || none == nil || len(none) != 0 {
				t.Fatalf("history of an unknown request = %v, %v; want an empty list", none, err)
			}
			err = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				return store.Raw(tx).AppendHistory(ctx, workflow.HistoryEntry{RequestID: "nope", Event: workflow.EventSend})
			})
			if err == nil {
				t.Fatal("history of an unknown request was accepted")
			}
		})
	}
}

// TestListRequests checks the SQL scope against workflow.Scope.Includes, the
// rule it must implement, for many scopes and filters, reading every page.
func TestListRequests(t *testing.T) {
	t.Parallel()
	authorities := []string{"IT", "ES", "NG", "TH"}
	rng := rand.New(rand.NewPCG(1, 2))
	var all []workflow.Request
	for i := range 80 {
		from := authorities[rng.IntN(4)]
		to := authorities[(slices.Index(authorities, from)+1+rng.IntN(3))%4]
		all = append(all, newRequest(i, from, to, workflow.Kinds[rng.IntN(2)], workflow.States[rng.IntN(len(workflow.States))]))
	}
	notDrafted := workflow.States[1:]
	scopes := []struct {
		name string
		make func(a string) workflow.Scope
	}{
		{"visible", func(a string) workflow.Scope {
			return workflow.Scope{Authority: a, RequestingStates: workflow.States, RequestedStates: notDrafted}
		}},
		{"outgoing", func(a string) workflow.Scope {
			return workflow.Scope{Authority: a, RequestingStates: workflow.States}
		}},
		{"incoming", func(a string) workflow.Scope {
			return workflow.Scope{Authority: a, RequestedStates: notDrafted}
		}},
		{"partial lists", func(a string) workflow.Scope {
			return workflow.Scope{Authority: a,
				RequestingStates: []workflow.State{workflow.StateDrafted, workflow.StateRefused},
				RequestedStates:  []workflow.State{workflow.StateSent}}
		}},
		{"all states both sides", func(a string) workflow.Scope {
			return workflow.Scope{Authority: a, RequestingStates: workflow.States, RequestedStates: workflow.States}
		}},
		{"nothing", func(a string) workflow.Scope { return workflow.Scope{Authority: a} }},
		{"no authority", func(string) workflow.Scope {
			return workflow.Scope{RequestingStates: workflow.States, RequestedStates: workflow.States}
		}},
	}
	stateFilters := [][]workflow.State{nil, {workflow.StateSent}, {workflow.StateDrafted, workflow.StateRefused, workflow.StateExecuted}}
	kinds := []workflow.Kind{"", workflow.KindMLA, workflow.KindExtradition}

	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			insert(t, db.Store, all...)
			for _, a := range authorities {
				for _, sc := range scopes {
					for _, states := range stateFilters {
						for _, kind := range kinds {
							f := workflow.ListFilter{Scope: sc.make(a), States: states, Kind: kind, Limit: 7}
							name := fmt.Sprintf("%s/%s/states=%v/kind=%q", a, sc.name, states, kind)
							checkList(t, db.Store, name, f, expected(all, f))
						}
					}
				}
			}
		})
	}
}

// expected filters the requests the way a list must, newest first.
func expected(all []workflow.Request, f workflow.ListFilter) []string {
	var ids []string
	for i := len(all) - 1; i >= 0; i-- {
		r := all[i]
		if f.Scope.Includes(r) && (len(f.States) == 0 || slices.Contains(f.States, r.State)) &&
			(f.Kind == "" || r.Kind == f.Kind) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// checkList reads every page of f and compares the ids with want.
func checkList(t *testing.T, s *store.Store, name string, f workflow.ListFilter, want []string) {
	t.Helper()
	var got []string
	pages := 0
	for {
		page, next, err := s.ListRequests(context.Background(), f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pages++
		if len(page) > f.Limit {
			t.Fatalf("%s: page of %d, limit %d", name, len(page), f.Limit)
		}
		if next != "" && len(page) != f.Limit {
			t.Fatalf("%s: short page of %d with a next cursor", name, len(page))
		}
		for _, r := range page {
			got = append(got, r.ID)
		}
		if next == "" {
			break
		}
		if pages > 100 {
			t.Fatalf("%s: more than 100 pages", name)
		}
		f.Cursor = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %d ids %v\nwant %d ids %v", name, len(got), got, len(want), want)
	}
	if wantPages := max(1, (len(want)+f.Limit-1)/f.Limit); pages != wantPages {
		t.Fatalf("%s: %d pages for %d items of %d, want %d", name, pages, len(want), f.Limit, wantPages)
	}
}

func TestListRequests_pagination(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			var rs []workflow.Request
			for i := range 23 {
				rs = append(rs, newRequest(i, "IT", "ES", workflow.KindMLA, workflow.StateSent))
			}
			insert(t, db.Store, rs...)
			scope := workflow.Scope{Authority: "ES", RequestedStates: workflow.States[1:]}
			var seen []string
			cursor := ""
			for page := 1; ; page++ {
				got, next, err := db.Store.ListRequests(ctx, workflow.ListFilter{Scope: scope, Limit: 5, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					seen = append(seen, r.ID)
				}
				if page < 5 && (len(got) != 5 || next == "") {
					t.Fatalf("page %d: %d items, next %q", page, len(got), next)
				}
				if page == 5 {
					if len(got) != 3 || next != "" {
						t.Fatalf("last page: %d items, next %q; want 3 and none", len(got), next)
					}
					break
				}
				// A request created between pages is newer than every
				// cursor: it appears on no later page, and nothing moves.
				if page == 2 {
					insert(t, db.Store, newRequest(100, "IT", "ES", workflow.KindMLA, workflow.StateSent))
				}
				cursor = next
			}
			var want []string
			for i := len(rs) - 1; i >= 0; i-- {
				want = append(want, rs[i].ID)
			}
			if !slices.Equal(seen, want) {
				t.Fatalf("pages gave %v, want %v", seen, want)
			}

			// Exactly one full page: no next cursor.
			got, next, err := db.Store.ListRequests(ctx, workflow.ListFilter{Scope: scope, Limit: 24})
			if err != nil || len(got) != 24 || next != "" {
				t.Fatalf("one full page: %d items, next %q, %v", len(got), next, err)
			}
			// No limit: the default.
			got, _, err = db.Store.ListRequests(ctx, workflow.ListFilter{Scope: scope})
			if err != nil || len(got) != 24 {
				t.Fatalf("default limit: %d items, %v", len(got), err)
			}
		})
	}
}

func TestListRequests_badCursor(t *testing.T) {
	t.Parallel()
	b64 := base64.RawURLEncoding.EncodeToString
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			scope := workflow.Scope{Authority: "IT", RequestingStates: workflow.States}
			for i := range 3 {
				insert(t, db.Store, newRequest(i, "IT", "ES", workflow.KindMLA, workflow.StateSent))
			}
			appendN(t, db.Store, 3)
			_, requestCursor, err := db.Store.ListRequests(ctx, workflow.ListFilter{Scope: scope, Limit: 1})
			if err != nil || requestCursor == "" {
				t.Fatalf("first page: %q, %v", requestCursor, err)
			}
			_, auditCursor, err := db.Store.AuditEntries(ctx, workflow.AuditFilter{Limit: 1})
			if err != nil || auditCursor == "" {
				t.Fatalf("first audit page: %q, %v", auditCursor, err)
			}
			// Cursors are sealed: the plain forms of earlier versions, garbage,
			// and an edited cursor are all refused.
			raw, _ := base64.RawURLEncoding.DecodeString(requestCursor)
			raw[len(raw)-1] ^= 1
			for _, c := range []string{"!!!", "abc", b64([]byte("r5")), b64([]byte("r0")), b64([]byte("a5")), b64(raw),
				requestCursor[:len(requestCursor)-2]} {
				_, _, err := db.Store.ListRequests(ctx, workflow.ListFilter{Scope: scope, Limit: 5, Cursor: c})
				wantCode(t, err, workflow.ErrBadRequest)
			}
			// A cursor of one list is no cursor of the other.
			_, _, err = db.Store.ListRequests(ctx, workflow.ListFilter{Scope: scope, Limit: 5, Cursor: auditCursor})
			wantCode(t, err, workflow.ErrBadRequest)
			_, _, err = db.Store.AuditEntries(ctx, workflow.AuditFilter{Limit: 5, Cursor: requestCursor})
			wantCode(t, err, workflow.ErrBadRequest)
			if _, _, err = db.Store.AuditEntries(ctx, workflow.AuditFilter{Limit: 5, Cursor: auditCursor}); err != nil {
				t.Fatalf("a cursor this store gave: %v", err)
			}
			// The same position is sealed afresh each time: a cursor carries
			// nothing a caller could compare.
			_, again, err := db.Store.ListRequests(ctx, workflow.ListFilter{Scope: scope, Limit: 1})
			if err != nil || again == "" {
				t.Fatalf("the same page again: cursor %q, %v", again, err)
			}
			if again == requestCursor {
				t.Errorf("the same page gave the same cursor twice: %q", again)
			}
		})
	}
}

// TestRequest_lockedForUpdate starts a second command on a request while a
// first one holds it: the second must wait and then read what the first
// wrote, not the version before (PostgreSQL: SELECT ... FOR UPDATE; SQLite:
// the one exclusive writer). Without the lock, the second would read the old
// version and fail with a version conflict, or worse, overwrite.
func TestRequest_lockedForUpdate(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			r := newRequest(0, "IT", "ES", workflow.KindMLA, workflow.StateSent)
			insert(t, db.Store, r)
			locked := make(chan struct{})
			first := make(chan error, 1)
			go func() {
				first <- db.Store.WithTx(ctx, func(tx workflow.Tx) error {
					cur, err := tx.Request(ctx, r.ID)
					if err != nil {
						return err
					}
					close(locked)
					time.Sleep(300 * time.Millisecond) // the second command arrives meanwhile
					next := cur
					next.State, next.Version = workflow.StateAcknowledged, cur.Version+1
					return store.Raw(tx).UpdateRequest(ctx, next, cur.Version)
				})
			}()
			<-locked
			var seen workflow.Request
			err := db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				cur, err := tx.Request(ctx, r.ID)
				if err != nil {
					return err
				}
				seen = cur
				next := cur
				next.Version = cur.Version + 1
				return store.Raw(tx).UpdateRequest(ctx, next, cur.Version)
			})
			if err := <-first; err != nil {
				t.Fatalf("first command: %v", err)
			}
			if err != nil {
				t.Fatalf("second command: %v", err)
			}
			if seen.State != workflow.StateAcknowledged || seen.Version != r.Version+1 {
				t.Fatalf("second command read state %s version %d, want the first's result (acknowledged, %d)",
					seen.State, seen.Version, r.Version+1)
			}
		})
	}
}

// TestListRequests_worklistOrder checks the worklist's order across the two
// sides of a scope, which are read separately and merged: urgent requests
// first, then the rest, newest first in each group.
func TestListRequests_worklistOrder(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			var rs []workflow.Request
			for i := range 14 {
				from, to := "IT", "ES"
				if i%2 == 1 {
					from, to = "ES", "IT"
				}
				r := newRequest(i, from, to, workflow.KindMLA, workflow.StateSent)
				r.Urgency = workflow.UrgencyNormal
				if i%3 == 0 {
					r.Urgency = workflow.UrgencyUrgent
				}
				rs = append(rs, r)
			}
			insert(t, db.Store, rs...)
			var want []string // urgent newest first, then the others newest first
			for _, urgent := range []bool{true, false} {
				for i := len(rs) - 1; i >= 0; i-- {
					if (rs[i].Urgency == workflow.UrgencyUrgent) == urgent {
						want = append(want, rs[i].Reference)
					}
				}
			}
			sent := []workflow.State{workflow.StateSent}
			scope := workflow.Scope{Authority: "IT", RequestingStates: sent, RequestedStates: sent}
			got, next, err := db.Store.ListRequests(context.Background(), workflow.ListFilter{Scope: scope, UrgentFirst: true, Limit: 9})
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, r := range got {
				refs = append(refs, r.Reference)
			}
			if !slices.Equal(refs, want[:9]) || next != "" {
				t.Fatalf("worklist %v (next %q)\nwant     %v", refs, next, want[:9])
			}
		})
	}
}

// TestListRequests_orderOfTheModel lists a mix of requests, in several
// states, urgent or not, with and without a running deadline, the way the
// worklist, a list by due time and the deadline filters ask, page by page,
// and compares each with the same list sorted in Go: the queries that
// listQueries splits a side into must merge back into the one order.
func TestListRequests_orderOfTheModel(t *testing.T) {
	t.Parallel()
	states := []workflow.State{workflow.StateSent, workflow.StateAcknowledged, workflow.StateInfoRequested, workflow.StateExecuted}
	now := baseTime.Add(30 * 24 * time.Hour)
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			var rs []workflow.Request
			for i := range 60 {
				from, to := "IT", "ES"
				if i%2 == 1 {
					from, to = "ES", "IT"
				}
				r := newRequest(i, from, to, workflow.KindMLA, states[i%len(states)])
				r.Urgency = workflow.UrgencyNormal
				if i%5 == 0 {
					r.Urgency = workflow.UrgencyUrgent
				}
				if i%3 != 0 {
					// Due between 20 days before now and 20 after, some
					// at the same time.
					due := now.Add(time.Duration(i%7*6-20) * 24 * time.Hour)
					r.Deadlines = []workflow.DeadlineTrack{{Kind: "execution", Basis: "b", Side: workflow.SideRequested, StartsAt: r.CreatedAt, DueAt: due}}
				}
				rs = append(rs, r)
			}
			insert(t, db.Store, rs...)
			due := func(r workflow.Request) int64 {
				if at, ok := r.NextDue(); ok {
					return at.UnixMicro()
				}
				return math.MaxInt64
			}
			scope := workflow.Scope{Authority: "IT", RequestingStates: states[:3], RequestedStates: states[:3]}
			cases := []struct {
				name   string
				filter workflow.ListFilter
				keep   func(workflow.Request) bool
				before func(a, b workflow.Request) bool
			}{
				{"worklist", workflow.ListFilter{Scope: scope, DueFirst: true, UrgentFirst: true}, nil,
					func(a, b workflow.Request) bool {
						if due(a) != due(b) {
							return due(a) < due(b)
						}
						if _, has := a.NextDue(); !has && a.Urgency != b.Urgency {
							return a.Urgency == workflow.UrgencyUrgent
						}
						return a.CreatedAt.After(b.CreatedAt)
					}},
				{"by due", workflow.ListFilter{Scope: scope, DueFirst: true}, nil,
					func(a, b workflow.Request) bool {
						if due(a) != due(b) {
							return due(a) < due(b)
						}
						return a.CreatedAt.After(b.CreatedAt)
					}},
				{"overdue by due", workflow.ListFilter{Scope: scope, DueFirst: true, DueBefore: now},
					func(r workflow.Request) bool { return due(r) < now.UnixMicro() },
					func(a, b workflow.Request) bool {
						if due(a) != due(b) {
							return due(a) < due(b)
						}
						return a.CreatedAt.After(b.CreatedAt)
					}},
				{"overdue", workflow.ListFilter{Scope: scope, DueBefore: now},
					func(r workflow.Request) bool { return due(r) < now.UnixMicro() },
					func(a, b workflow.Request) bool { return a.CreatedAt.After(b.CreatedAt) }},
			}
			for _, tc := range cases {
				var want []string
				var model []workflow.Request
				for _, r := range rs {
					if scope.Includes(r) && (tc.keep == nil || tc.keep(r)) {
						model = append(model, r)
					}
				}
				slices.SortStableFunc(model, func(a, b workflow.Request) int {
					if tc.before(a, b) {
						return -1
					}
					if tc.before(b, a) {
						return 1
					}
					return 0
				})
				for _, r := range model {
					want = append(want, r.Reference)
				}
				if len(want) < 8 {
					t.Fatalf("%s: only %d requests to list, too few to page", tc.name, len(want))
				}
				var got []string
				f := tc.filter
				f.Limit = 7
				for page := 0; ; page++ {
					list, next, err := db.Store.ListRequests(context.Background(), f)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range list {
						got = append(got, r.Reference)
					}
					if next == "" || f.UrgentFirst || page > 20 {
						break
					}
					f.Cursor = next
				}
				if tc.filter.UrgentFirst && len(want) > 7 {
					want = want[:7] // a worklist has one page
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s:\n got  %v\n want %v", tc.name, got, want)
				}
			}
		})
	}
}
