package store_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestAppendAudit_fields(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			rec := workflow.Change{
				At: baseTime, Actor: "it.supervisor", Authority: "IT", Action: "request.refuse",
				RequestID: "r1", Outcome: workflow.OutcomeDenied,
				Details: map[string]any{"to": "refused", "from": "sent", "grounds": []string{"nationality"}, "note": "<&>"},
			}
			if err := db.Store.RecordAudit(ctx, rec); err != nil {
				t.Fatal(err)
			}
			got, next, err := db.Store.AuditEntries(ctx, workflow.AuditFilter{Limit: 10})
			if err != nil || len(got) != 1 || next != "" {
				t.Fatalf("entries %v, next %q, err %v", got, next, err)
			}
			e := got[0]
			want := workflow.AuditEntry{
				Seq: 1, At: baseTime.Truncate(time.Microsecond), Actor: "it.supervisor", Authority: "IT",
				Action: "request.refuse", RequestID: "r1", Outcome: workflow.OutcomeDenied,
				Details:  `{"from":"sent","grounds":["nationality"],"note":"<&>","to":"refused"}`,
				PrevHash: audit.GenesisHash,
			}
			want.Hash = audit.Seal(testKey, audit.GenesisHash, audit.Entry{
				Seq: want.Seq, At: want.At, Actor: want.Actor, Authority: want.Authority, Action: want.Action,
				RequestID: want.RequestID, Outcome: want.Outcome, Details: want.Details,
			})
			if !reflect.DeepEqual(e, want) {
				t.Fatalf("entry:\n got %+v\nwant %+v", e, want)
			}
			v := mustVerify(t, db.Store, 1)
			if v.Head != want.Hash {
				t.Fatalf("head %s, want %s", v.Head, want.Hash)
			}
		})
	}
}

// PostgreSQL refuses invalid UTF-8 and NUL bytes in text; a failed log-in
// records whatever name was tried, so the store must store, and seal, a
// cleaned form rather than fail.
func TestAppendAudit_invalidText(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			rec := workflow.Change{
				Actor: "bad\xff\x00name", Action: "auth.login", Outcome: workflow.OutcomeDenied,
				Details: map[string]any{"tried": "x\xfe\x00y"},
			}
			if err := db.Store.RecordAudit(ctx, rec); err != nil {
				t.Fatal(err)
			}
			got, _, err := db.Store.AuditEntries(ctx, workflow.AuditFilter{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Actor != "bad\uFFFD\uFFFDname" {
				t.Fatalf("actor %q", got[0].Actor)
			}
			if got[0].At.IsZero() || time.Since(got[0].At) > time.Minute {
				t.Fatalf("a record without time got %v, want now", got[0].At)
			}
			mustVerify(t, db.Store, 1)
		})
	}
}

// TestAppendAudit_concurrent appends from many goroutines at once, half of
// them together with a new request (counter row, request row, then head):
// the chain must not fork, and its numbers must be contiguous.
func TestAppendAudit_concurrent(t *testing.T) {
	t.Parallel()
	const workers, each = 16, 25
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						err := db.Store.WithTx(ctx, func(tx workflow.Tx) error {
							rec := workflow.Change{
								At: time.Now(), Actor: fmt.Sprintf("user%d", w), Authority: "IT",
								Action: "test.append", Outcome: workflow.OutcomeOK,
								Details: map[string]any{"worker": w, "i": i},
							}
							if w%2 == 0 {
								n, err := tx.NextSerial(ctx, "IT", workflow.KindMLA, 2026)
								if err != nil {
									return err
								}
								r := newRequest(w*each+i, "IT", "ES", workflow.KindMLA, workflow.StateDrafted)
								r.Reference = fmt.Sprintf("IT-MLA-2026-%06d", n)
								if err := store.Raw(tx).CreateRequest(ctx, r); err != nil {
									return err
								}
								rec.RequestID = r.ID
							}
							return tx.Apply(ctx, rec)
						})
						if err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("append: %v", err)
			}
			v := mustVerifyChain(t, db.Store, workers*each)

			// Newest first, contiguous, each linked to the one below it.
			var all []workflow.AuditEntry
			f := workflow.AuditFilter{Limit: workflow.MaxLimit}
			for {
				page, next, err := db.Store.AuditEntries(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, page...)
				if next == "" {
					break
				}
				f.Cursor = next
			}
			if len(all) != workers*each {
				t.Fatalf("%d entries listed, want %d", len(all), workers*each)
			}
			if all[0].Hash != v.Head {
				t.Fatalf("newest entry's hash %s is not the head %s", all[0].Hash, v.Head)
			}
			for i, e := range all {
				if want := int64(workers*each - i); e.Seq != want {
					t.Fatalf("entry %d has seq %d, want %d", i, e.Seq, want)
				}
				if i+1 < len(all) && e.PrevHash != all[i+1].Hash {
					t.Fatalf("entry %d does not link to entry %d", e.Seq, all[i+1].Seq)
				}
			}
		})
	}
}

// TestVerifyAudit_tampering changes the audit table behind the store's back,
// as someone with write access to the database could, and expects the
// verification to name the first entry affected.
func TestVerifyAudit_tampering(t *testing.T) {
	t.Parallel()
	const n = 10
	tests := []struct {
		name     string
		sql      []string
		brokenAt int64
		problem  string
	}{
		{"details changed", []string{`UPDATE audit_entries SET details = '{"i":99}' WHERE seq = 4`}, 4, "altered"},
		{"actor changed", []string{`UPDATE audit_entries SET actor = 'mallory' WHERE seq = 7`}, 7, "altered"},
		{"time changed by a microsecond", []string{`UPDATE audit_entries SET at_us = at_us + 1 WHERE seq = 2`}, 2, "altered"},
		{"outcome changed on the last", []string{`UPDATE audit_entries SET outcome = 'denied' WHERE seq = 10`}, 10, "altered"},
		{"middle deleted", []string{`DELETE FROM audit_entries WHERE seq = 5`}, 5, "missing"},
		{"first deleted", []string{`DELETE FROM audit_entries WHERE seq = 1`}, 1, "missing"},
		{"two swapped", []string{
			`UPDATE audit_entries SET seq = -5 WHERE seq = 5`,
			`UPDATE audit_entries SET seq = 5 WHERE seq = 6`,
			`UPDATE audit_entries SET seq = 6 WHERE seq = -5`,
		}, 5, "does not link"},
		{"last deleted", []string{`DELETE FROM audit_entries WHERE seq = 10`}, 10, "missing"},
		{"last three deleted", []string{`DELETE FROM audit_entries WHERE seq >= 8`}, 8, "missing"},
		{"everything deleted", []string{`DELETE FROM audit_entries`}, 1, "missing"},
		{"head hash changed", []string{`UPDATE audit_head SET hash = (SELECT prev_hash FROM audit_entries WHERE seq = 10)`}, 10, "head"},
		{"head reset", []string{`UPDATE audit_head SET seq = 0, hash = ''`}, 1, "beyond"},
		{"head moved back", []string{`UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_entries WHERE seq = 7)`}, 8, "beyond"},
		{"head deleted", []string{`DELETE FROM audit_head`}, 1, "head"},
		{"hash copied from a neighbour", []string{`UPDATE audit_entries SET hash = (SELECT hash FROM audit_entries WHERE seq = 2) WHERE seq = 3`}, 3, "altered"},
	}
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := openBackend(t, db.Backend).Store
					appendN(t, s, n)
					mustVerify(t, s, n)
					for _, q := range tc.sql {
						if err := s.DB().Exec(q).Error; err != nil {
							t.Fatalf("%s: %v", q, err)
						}
					}
					v, err := s.VerifyAudit(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					if v.OK || v.BrokenAt != tc.brokenAt || !strings.Contains(v.Problem, tc.problem) {
						t.Fatalf("verify = %+v, want broken at %d with a problem mentioning %q", v, tc.brokenAt, tc.problem)
					}
					// Entries before the break are intact; a bad head is found
					// after all of them.
					intact := tc.brokenAt - 1
					if tc.name == "head hash changed" {
						intact = n
					}
					if v.Entries != intact {
						t.Fatalf("%d entries intact, want %d", v.Entries, intact)
					}
				})
			}
		})
	}
}

func TestVerifyAudit_wrongKey(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			appendN(t, db.Store, 3)
			other := openStore(t, db.DSN, bytes.Repeat([]byte{0x11}, audit.KeySize))
			v, err := other.VerifyAudit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if v.OK || v.BrokenAt != 1 {
				t.Fatalf("verify with another key = %+v, want broken at 1", v)
			}
		})
	}
}

func TestOpen_rejectsShortKey(t *testing.T) {
	t.Parallel()
	_, err := store.Open(context.Background(), store.Options{DSN: t.TempDir() + "/x.db", AuditKey: make([]byte, 16)})
	if err == nil {
		t.Fatal("a 16-byte audit key was accepted")
	}
}

func TestAuditEntries_filters(t *testing.T) {
	t.Parallel()
	records := []workflow.Change{
		{Actor: "it.officer", Authority: "IT", Action: "request.create", RequestID: "a", Outcome: "ok"},
		{Actor: "es.officer", Authority: "ES", Action: "request.acknowledge", RequestID: "a", Outcome: "ok"},
		{Actor: "es.officer", Authority: "ES", Action: "request.refuse", RequestID: "a", Outcome: "denied"},
		{Actor: "nobody", Action: "auth.login", Outcome: "denied"},
		{Actor: "it.officer", Authority: "IT", Action: "request.create", RequestID: "b", Outcome: "ok"},
		{Actor: "admin", Action: "auth.login", Outcome: "ok"},
	}
	tests := []struct {
		name string
		f    workflow.AuditFilter
		want []int64
	}{
		{"all", workflow.AuditFilter{}, []int64{6, 5, 4, 3, 2, 1}},
		{"authority", workflow.AuditFilter{Authority: "IT"}, []int64{5, 1}},
		{"request", workflow.AuditFilter{RequestID: "a"}, []int64{3, 2, 1}},
		{"action", workflow.AuditFilter{Action: "auth.login"}, []int64{6, 4}},
		{"actor", workflow.AuditFilter{Actor: "es.officer"}, []int64{3, 2}},
		{"outcome", workflow.AuditFilter{Outcome: "denied"}, []int64{4, 3}},
		{"combined", workflow.AuditFilter{Authority: "ES", Outcome: "ok"}, []int64{2}},
		{"none", workflow.AuditFilter{Authority: "TH"}, nil},
		{"paged", workflow.AuditFilter{Limit: 1, Authority: "ES"}, []int64{3, 2}},
	}
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			for _, rec := range records {
				rec.At = baseTime
				if err := db.Store.RecordAudit(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					f := tc.f
					if f.Limit == 0 {
						f.Limit = 2
					}
					var got []int64
					for pages := 0; pages < 10; pages++ {
						page, next, err := db.Store.AuditEntries(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						for _, e := range page {
							got = append(got, e.Seq)
						}
						if next == "" {
							break
						}
						f.Cursor = next
					}
					if fmt.Sprint(got) != fmt.Sprint(tc.want) {
						t.Fatalf("seqs %v, want %v", got, tc.want)
					}
				})
			}
		})
	}
}

// TestVerifyAudit_headDeletedAndReseeded deletes the head row and restarts:
// Open seeds a fresh head, which must neither hide the chain from
// verification nor let appends start a second chain.
func TestVerifyAudit_headDeletedAndReseeded(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			appendN(t, db.Store, 3)
			if err := db.Store.DB().Exec("DELETE FROM audit_head").Error; err != nil {
				t.Fatal(err)
			}
			db.Store.Close()
			s := openStore(t, db.DSN, testKey)
			v, err := s.VerifyAudit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if v.OK || v.BrokenAt != 1 {
				t.Fatalf("verify = %+v, want broken at 1", v)
			}
			if err := s.RecordAudit(context.Background(), workflow.Change{Actor: "x", Action: "auth.login"}); err == nil {
				t.Fatal("an append over a reset head succeeded")
			}
		})
	}
}
