package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// outbox reads the whole outbox, in pages of three, as a consumer that
// keeps the last id it handled does.
func outbox(t testing.TB, s *store.Store) []workflow.OutboxEntry {
	t.Helper()
	out := []workflow.OutboxEntry{}
	var after int64
	for {
		page, err := s.OutboxAfter(context.Background(), after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].ID
	}
}

// auditBySeq reads the audit log, by sequence number.
func auditBySeq(t testing.TB, s *store.Store) map[int64]workflow.AuditEntry {
	t.Helper()
	out := map[int64]workflow.AuditEntry{}
	cursor := ""
	for {
		page, next, err := s.AuditEntries(context.Background(), workflow.AuditFilter{Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			out[e.Seq] = e
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// TestOutbox_writtenWithChange drafts, edits, sends and acknowledges a
// request and posts to its thread: each change has its outbox message, numbered as its audit
// entry, telling its audience what it may see, the draft's to the
// requesting authority alone; a refused attempt writes none.
func TestOutbox_writtenWithChange(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := workflow.NewService(db.Store, testPolicy{})
			r, err := svc.Create(ctx, itOfficer, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Secret title"})
			if err != nil {
				t.Fatal(err)
			}
			title := "Another secret"
			if _, err := svc.Update(ctx, itOfficer, r.ID, workflow.Changes{Title: &title}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Fire(ctx, itOfficer, r.ID, workflow.EventInput{Event: workflow.EventSend}); workflow.ErrorCode(err) != workflow.ErrForbidden {
				t.Fatalf("send by an officer: %v, want forbidden", err)
			}
			if _, err := svc.Fire(ctx, itSupervisor, r.ID, workflow.EventInput{Event: workflow.EventSend}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Fire(ctx, esOfficer, r.ID, workflow.EventInput{Event: workflow.EventAcknowledge}); err != nil {
				t.Fatal(err)
			}
			// The thread: an internal note is told to its author's
			// authority alone, a message to both; neither body goes out.
			if _, err := svc.PostMessage(ctx, esOfficer, r.ID, workflow.MessageKindNote, "Secret note"); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.PostMessage(ctx, itOfficer, r.ID, workflow.MessageKindMessage, "Secret question"); err != nil {
				t.Fatal(err)
			}

			got := outbox(t, db.Store)
			type want struct {
				action   string
				audience []string
				event    workflow.Event
				from, to workflow.State
				version  int
			}
			wants := []want{
				{"request.create", []string{"IT"}, "", workflow.StateDrafted, workflow.StateDrafted, 1},
				{"request.update", []string{"IT"}, "", workflow.StateDrafted, workflow.StateDrafted, 2},
				{"request.send", []string{"ES", "IT"}, workflow.EventSend, workflow.StateDrafted, workflow.StateSent, 3},
				{"request.acknowledge", []string{"ES", "IT"}, workflow.EventAcknowledge, workflow.StateSent, workflow.StateAcknowledged, 4},
				{"message.post", []string{"ES"}, "", workflow.StateAcknowledged, workflow.StateAcknowledged, 4},
				{"message.post", []string{"ES", "IT"}, "", workflow.StateAcknowledged, workflow.StateAcknowledged, 4},
			}
			if len(got) != len(wants) {
				t.Fatalf("outbox has %d messages, want %d: %+v", len(got), len(wants), got)
			}
			entries := auditBySeq(t, db.Store)
			for i, w := range wants {
				m := got[i]
				if m.Action != w.action || !slices.Equal(m.Audience, w.audience) || m.Event != w.event ||
					m.From != w.from || m.To != w.to || m.Version != w.version || m.RequestID != r.ID ||
					m.Reference != r.Reference || m.Kind != workflow.KindMLA ||
					m.RequestingAuthority != "IT" || m.RequestedAuthority != "ES" || m.At.IsZero() {
					t.Errorf("message %d = %+v, want %+v", i, m, w)
				}
				// Its id is the number of the change's audit entry.
				e, ok := entries[m.ID]
				if !ok || e.Action != m.Action || e.RequestID != m.RequestID || e.Outcome != workflow.OutcomeOK || !e.At.Equal(m.At) {
					t.Errorf("message %d has id %d, whose audit entry is %+v", i, m.ID, e)
				}
			}
			// Nothing of the case's text goes out.
			var payloads []string
			if err := db.Store.DB().Raw("SELECT payload FROM outbox").Scan(&payloads).Error; err != nil {
				t.Fatal(err)
			}
			for _, p := range payloads {
				if strings.Contains(p, "secret") || strings.Contains(p, "Secret") {
					t.Errorf("an outbox payload holds case text: %s", p)
				}
			}
			mustVerify(t, db.Store, int64(len(entries)))
		})
	}
}

// TestOutbox_orderedUnderLoad fires events from many goroutines, in
// batches of the group commit: the ids a consumer reads increase, each
// is the audit entry of its change, and every committed change has exactly
// one message.
func TestOutbox_orderedUnderLoad(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := workflow.NewService(db.Store, testPolicy{})
			const workers, rounds = 8, 10
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := acknowledged(t, svc)
					for i := range rounds {
						var err error
						if i%2 == 0 {
							r, err = svc.Fire(ctx, esOfficer, r.ID, workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "which?"})
						} else {
							r, err = svc.Fire(ctx, itOfficer, r.ID, workflow.EventInput{Event: workflow.EventProvideInfo, Comment: "this"})
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			got := outbox(t, db.Store)
			// Per worker: create, send, acknowledge, then the rounds.
			if want := workers * (3 + rounds); len(got) != want {
				t.Fatalf("%d outbox messages, want %d", len(got), want)
			}
			entries := auditBySeq(t, db.Store)
			okEntries := 0
			for _, e := range entries {
				if strings.HasPrefix(e.Action, "request.") && e.Outcome == workflow.OutcomeOK {
					okEntries++
				}
			}
			if okEntries != len(got) {
				t.Errorf("%d changes of requests audited, %d outbox messages", okEntries, len(got))
			}
			lastVersion := map[string]int{}
			for i, m := range got {
				if i > 0 && m.ID <= got[i-1].ID {
					t.Fatalf("outbox ids out of order: %d after %d", m.ID, got[i-1].ID)
				}
				if e := entries[m.ID]; e.Action != m.Action || e.RequestID != m.RequestID {
					t.Errorf("message %d: audit entry %+v", m.ID, e)
				}
				// In order per request, as the webhooks must deliver them.
				if m.Version != lastVersion[m.RequestID]+1 {
					t.Errorf("request %s: version %d after %d", m.RequestID, m.Version, lastVersion[m.RequestID])
				}
				lastVersion[m.RequestID] = m.Version
			}
		})
	}
}

// errItem is the failure of one transaction function in these tests.
var errItem = errors.New("the item fails")

// timerChange is a change that sets a timer on subject, and cancels
// cancel's first.
func timerChange(subject string, due time.Time, cancel ...workflow.TimerRef) workflow.Change {
	return workflow.Change{
		At: baseTime, Actor: "system", Action: "timer.test", Outcome: workflow.OutcomeOK,
		Timers:       []workflow.Timer{{Kind: "test.remind", Subject: subject, DueAt: due, Payload: `{"n":1}`}},
		CancelTimers: cancel,
	}
}

// TestApply_rollbackWithout runs changes that set timers and write outbox
// messages in one batch with an item that applies its change and then
// fails: the failed item leaves neither, its batch-mates keep theirs.
// Then a batch whose COMMIT fails leaves none, and one that fails before
// its COMMIT and runs again writes every committed change's rows once.
func TestApply_rollbackWithout(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := workflow.NewService(db.Store, testPolicy{})
			r := acknowledged(t, svc)
			base := len(outbox(t, db.Store))
			due := baseTime.Add(time.Hour)
			timers := func() int64 { return countRows(t, db.Store.DB(), "timers") }

			// One batch: ok, failing, ok.
			queued, release := store.HoldWriter(db.Store)
			var wg sync.WaitGroup
			results := make([]error, 3)
			for i := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i] = db.Store.WithTx(ctx, func(tx workflow.Tx) error {
						cur, err := tx.Request(ctx, r.ID)
						if err != nil {
							return err
						}
						next := cur
						next.Version++
						next.UpdatedAt = baseTime.Add(time.Duration(i) * time.Second)
						c := workflow.Edited(db.Store, itOfficer, cur, next, []string{})
						c.Timers = timerChange(fmt.Sprint("item-", i), due).Timers
						if err := tx.Apply(ctx, c); err != nil {
							return err
						}
						if i == 1 {
							return errItem
						}
						return nil
					})
				}()
			}
			// The first is taken and held at the gate, the others queued
			// behind it: one batch.
			if !store.WaitQueued(queued, 2) {
				release()
				t.Fatal("the transactions were not queued")
			}
			release()
			wg.Wait()
			if results[0] != nil || !errors.Is(results[1], errItem) || results[2] != nil {
				t.Fatalf("results %v, want nil, the item's error, nil", results)
			}
			if got := len(outbox(t, db.Store)) - base; got != 2 {
				t.Errorf("%d outbox messages after the batch, want 2", got)
			}
			var subjects []string
			if err := db.Store.DB().Raw("SELECT subject FROM timers ORDER BY subject").Scan(&subjects).Error; err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(subjects, []string{"item-0", "item-2"}) {
				t.Errorf("timers %v, want those of items 0 and 2", subjects)
			}

			// A COMMIT that fails keeps nothing.
			before, beforeTimers := len(outbox(t, db.Store)), timers()
			restore := store.FailCommits(db.Store, errors.New("disk on fire"))
			_, err := svc.Fire(ctx, esOfficer, r.ID, workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "which?"})
			errTimer := db.Store.WithTx(ctx, func(tx workflow.Tx) error { return tx.Apply(ctx, timerChange("lost", due)) })
			restore()
			if workflow.ErrorCode(err) != workflow.ErrUnavailable || workflow.ErrorCode(errTimer) != workflow.ErrUnavailable {
				t.Fatalf("under a failing commit: %v, %v; want unavailable", err, errTimer)
			}
			if got := len(outbox(t, db.Store)); got != before {
				t.Errorf("%d outbox messages after a failed commit, want %d", got, before)
			}
			if got := timers(); got != beforeTimers {
				t.Errorf("%d timers after a failed commit, want %d", got, beforeTimers)
			}

			// A batch of one that fails before its COMMIT fails, and
			// keeps nothing either.
			restore = store.FailBeforeCommit(db.Store, errors.New("the end of the batch fails"), 1)
			if _, err := svc.Fire(ctx, esOfficer, r.ID, workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "which?"}); err == nil {
				t.Fatal("a change committed from a failed batch")
			}
			restore()
			if got, gotTimers := len(outbox(t, db.Store)), timers(); got != before || gotTimers != beforeTimers {
				t.Errorf("%d outbox messages and %d timers after a failed batch, want %d and %d", got, gotTimers, before, beforeTimers)
			}

			// A batch of two that fails before its COMMIT runs again, each
			// item alone; what commits then has its rows once.
			restore = store.FailBeforeCommit(db.Store, errors.New("the end of the batch fails"), 1)
			queued, release = store.HoldWriter(db.Store)
			results = make([]error, 2)
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, results[0] = svc.Fire(ctx, esOfficer, r.ID, workflow.EventInput{Event: workflow.EventRequestInfo, Comment: "which?"})
			}()
			go func() {
				defer wg.Done()
				results[1] = db.Store.WithTx(ctx, func(tx workflow.Tx) error { return tx.Apply(ctx, timerChange("kept", due)) })
			}()
			if !store.WaitQueued(queued, 1) {
				release()
				t.Fatal("the transactions were not queued")
			}
			release()
			wg.Wait()
			restore()
			if results[0] != nil || results[1] != nil {
				t.Fatalf("after the batch ran again: %v", results)
			}
			if got := len(outbox(t, db.Store)); got != before+1 {
				t.Errorf("%d outbox messages after a batch ran again, want %d", got, before+1)
			}
			if got := timers(); got != beforeTimers+1 {
				t.Errorf("%d timers after a batch ran again, want %d", got, beforeTimers+1)
			}
			mustVerifyChain(t, db.Store, int64(len(auditBySeq(t, db.Store))))
		})
	}
}

// TestTimers_claim sets timers with changes, cancels one by kind and
// subject, and claims the due ones: a claim holds them for its lease, a
// lapsed lease makes them due again, and a done timer is deleted.
func TestTimers_claim(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			apply := func(c workflow.Change) {
				t.Helper()
				if err := db.Store.WithTx(ctx, func(tx workflow.Tx) error { return tx.Apply(ctx, c) }); err != nil {
					t.Fatal(err)
				}
			}
			now := baseTime.Truncate(time.Microsecond)
			apply(timerChange("b", now.Add(-time.Minute)))
			apply(timerChange("a", now.Add(-time.Hour)))
			apply(timerChange("later", now.Add(time.Hour)))
			apply(timerChange("cancelled", now.Add(-time.Hour)))
			// Moved: cancelled and set again in one change.
			ref := workflow.TimerRef{Kind: "test.remind", Subject: "cancelled"}
			moved := timerChange("cancelled", now.Add(2*time.Hour), ref)
			apply(moved)

			claimed, err := db.Store.ClaimDueTimers(ctx, now, time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range claimed {
				got = append(got, d.Subject)
				if d.Kind != "test.remind" || d.Payload != `{"n":1}` || d.ID == 0 || !d.CreatedAt.Equal(baseTime.Truncate(time.Microsecond)) {
					t.Errorf("claimed %+v", d)
				}
			}
			if !slices.Equal(got, []string{"a", "b"}) {
				t.Fatalf("claimed %v, want the due ones in order, a then b", got)
			}
			if again, err := db.Store.ClaimDueTimers(ctx, now.Add(30*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
				t.Fatalf("claim within the lease: %v, %v; want none", again, err)
			}
			if err := db.Store.DeleteTimer(ctx, claimed[0].ID); err != nil {
				t.Fatal(err)
			}
			// After the lease, what was not done is due again.
			lapsed, err := db.Store.ClaimDueTimers(ctx, now.Add(2*time.Minute), time.Minute, 10)
			if err != nil || len(lapsed) != 1 || lapsed[0].Subject != "b" {
				t.Fatalf("claim after the lease: %+v, %v; want b", lapsed, err)
			}
			if err := db.Store.DeleteTimer(ctx, claimed[0].ID); err != nil {
				t.Fatalf("deleting a timer gone already: %v", err)
			}
			if err := db.Store.DeleteTimer(ctx, lapsed[0].ID); err != nil {
				t.Fatal(err)
			}
			// limit bounds a claim.
			late, err := db.Store.ClaimDueTimers(ctx, now.Add(3*time.Hour), time.Minute, 1)
			if err != nil || len(late) != 1 || late[0].Subject != "later" {
				t.Fatalf("claim of one at +3h: %+v, %v; want later", late, err)
			}
		})
	}
}

// TestTimers_claimOnce claims the same due timers from many goroutines,
// on PostgreSQL from two stores (two servers): every timer is claimed by
// exactly one of them.
func TestTimers_claimOnce(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			const n = 60
			err := db.Store.WithTx(ctx, func(tx workflow.Tx) error {
				for i := range n {
					if err := tx.Apply(ctx, timerChange(fmt.Sprint(i), baseTime)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			stores := []*store.Store{db.Store}
			if db.Name == "postgres" {
				stores = append(stores, openStore(t, db.DSN, testKey))
			}
			var mu sync.Mutex
			seen := map[int64]int{}
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := stores[w%len(stores)]
					for {
						got, err := s.ClaimDueTimers(ctx, baseTime.Add(time.Second), time.Hour, 4)
						if err != nil {
							t.Error(err)
							return
						}
						if len(got) == 0 {
							return
						}
						mu.Lock()
						for _, d := range got {
							seen[d.ID]++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(seen) != n {
				t.Errorf("%d timers claimed, want %d", len(seen), n)
			}
			for id, k := range seen {
				if k != 1 {
					t.Errorf("timer %d claimed %d times", id, k)
				}
			}
		})
	}
}
