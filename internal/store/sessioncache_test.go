package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestSessionUser_changesSeenAtOnce checks that the cache behind
// SessionUser never serves a session or a user as it was before a change
// that has been answered: revoking a session, disabling the user, and
// moving the session's expiry are seen by the very next lookup, while
// readers hammer the same session from other goroutines.
func TestSessionUser_changesSeenAtOnce(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.Store
			u := createOfficer(t, s)
			sessionTx := func(t *testing.T, fn func(auth.SessionTx) error) {
				t.Helper()
				if err := s.WithSessionTx(ctx, fn); err != nil {
					t.Fatal(err)
				}
			}
			newSession := func(t *testing.T, id string) {
				sessionTx(t, func(tx auth.SessionTx) error {
					return tx.CreateSession(ctx, auth.Session{ID: id, UserID: u.ID, CreatedAt: baseTime, ExpiresAt: baseTime.Add(time.Hour)})
				})
			}
			newSession(t, "s1")

			// lookups runs readers of session id until stop is closed; each
			// lookup that began after changed was set must satisfy seen.
			lookups := func(t *testing.T, id string, changed *atomic.Bool, seen func(workflow.User, auth.Session) bool) (stop func() int) {
				done := make(chan struct{})
				var wg sync.WaitGroup
				var checked atomic.Int64
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							select {
							case <-done:
								return
							default:
							}
							after := changed.Load()
							gu, gs, err := s.SessionUser(ctx, u.ID, id)
							if err != nil {
								t.Error(err)
								return
							}
							if after {
								checked.Add(1)
								if !seen(gu, gs) {
									t.Errorf("a lookup after the change was answered saw the old state: user %+v, session %+v", gu, gs)
									return
								}
							}
						}
					}()
				}
				return func() int {
					// Let the readers run after the change for a while.
					start := time.Now()
					for d := time.Since(start); d < 100*time.Millisecond || checked.Load() < 20 && d < 5*time.Second; d = time.Since(start) {
						time.Sleep(5 * time.Millisecond)
					}
					close(done)
					wg.Wait()
					return int(checked.Load())
				}
			}

			// Prime the cache, then change under the readers' feet.
			if _, sess, err := s.SessionUser(ctx, u.ID, "s1"); err != nil || sess.Revoked() {
				t.Fatalf("fresh session: %+v, %v", sess, err)
			}
			t.Run("expiry moved", func(t *testing.T) {
				var changed atomic.Bool
				later := baseTime.Add(2 * time.Hour).Truncate(time.Microsecond)
				stop := lookups(t, "s1", &changed, func(_ workflow.User, s auth.Session) bool { return s.ExpiresAt.Equal(later) })
				time.Sleep(20 * time.Millisecond)
				sessionTx(t, func(tx auth.SessionTx) error { return tx.ExtendSession(ctx, "s1", later) })
				changed.Store(true)
				if n := stop(); n == 0 {
					t.Fatal("no lookup ran after the change")
				}
			})
			t.Run("revoked", func(t *testing.T) {
				var changed atomic.Bool
				stop := lookups(t, "s1", &changed, func(_ workflow.User, s auth.Session) bool { return s.Revoked() })
				time.Sleep(20 * time.Millisecond)
				sessionTx(t, func(tx auth.SessionTx) error {
					_, err := tx.RevokeSession(ctx, "s1", baseTime.Add(time.Minute), "logout")
					return err
				})
				changed.Store(true)
				if n := stop(); n == 0 {
					t.Fatal("no lookup ran after the change")
				}
			})
			t.Run("user disabled", func(t *testing.T) {
				newSession(t, "s2")
				if _, _, err := s.SessionUser(ctx, u.ID, "s2"); err != nil {
					t.Fatal(err)
				}
				var changed atomic.Bool
				stop := lookups(t, "s2", &changed, func(u workflow.User, _ auth.Session) bool { return u.Disabled })
				time.Sleep(20 * time.Millisecond)
				disabled := u
				disabled.Disabled = true
				if err := s.UpdateUser(ctx, disabled, workflow.Change{Actor: "admin", Action: "user.update", Outcome: workflow.OutcomeOK}); err != nil {
					t.Fatal(err)
				}
				changed.Store(true)
				if n := stop(); n == 0 {
					t.Fatal("no lookup ran after the change")
				}
			})
			t.Run("unknown session", func(t *testing.T) {
				if _, _, err := s.SessionUser(ctx, u.ID, "nope"); workflow.ErrorCode(err) != workflow.ErrNotFound {
					t.Fatalf("unknown session: %v, want not found", err)
				}
				if _, _, err := s.SessionUser(ctx, "someone-else", "s2"); workflow.ErrorCode(err) != workflow.ErrNotFound {
					t.Fatalf("another user's session: %v, want not found", err)
				}
			})
		})
	}
}
