package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestPruneSessions checks the SQL of pruning on both databases: sessions
// that expired or were revoked before the cut go with all their refresh
// tokens, expired tokens of live sessions go, and everything else stays.
func TestPruneSessions(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.Store
			u := createOfficer(t, s)
			cut := baseTime.Add(48 * time.Hour)
			before, after := cut.Add(-time.Hour), cut.Add(time.Hour)
			sessions := []auth.Session{
				{ID: "expired", ExpiresAt: before},
				{ID: "revoked", ExpiresAt: after, RevokedAt: before, RevokeReason: "logout"},
				{ID: "live", ExpiresAt: after},
				{ID: "revoked-recently", ExpiresAt: after, RevokedAt: after, RevokeReason: "logout"},
			}
			tokens := []auth.RefreshToken{
				{ID: "t-expired", SessionID: "expired", ExpiresAt: before},
				{ID: "t-revoked", SessionID: "revoked", ExpiresAt: after},
				{ID: "t-live-old", SessionID: "live", ExpiresAt: before},
				{ID: "t-live", SessionID: "live", ExpiresAt: after},
				{ID: "t-recent", SessionID: "revoked-recently", ExpiresAt: after},
			}
			err := s.WithSessionTx(ctx, func(tx auth.SessionTx) error {
				for _, ss := range sessions {
					ss.UserID, ss.CreatedAt = u.ID, baseTime
					if err := tx.CreateSession(ctx, ss); err != nil {
						return err
					}
				}
				for _, rt := range tokens {
					rt.UserID, rt.CreatedAt, rt.Hash = u.ID, baseTime, []byte(rt.ID)
					if err := tx.AddRefreshToken(ctx, rt); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var ns, nt int64
			err = s.WithSessionTx(ctx, func(tx auth.SessionTx) error {
				var err error
				ns, nt, err = tx.PruneSessions(ctx, cut)
				return err
			})
			if err != nil || ns != 2 || nt != 3 {
				t.Fatalf("pruned %d sessions, %d refresh tokens (%v), want 2 and 3", ns, nt, err)
			}
			// kept tells a row found from one not found; any other error
			// fails the test rather than passing for "pruned".
			kept := func(what string, err error) bool {
				if err != nil && workflow.ErrorCode(err) != workflow.ErrNotFound {
					t.Fatalf("read %s: %v", what, err)
				}
				return err == nil
			}
			err = s.WithSessionTx(ctx, func(tx auth.SessionTx) error {
				for _, ss := range sessions {
					_, err := tx.SessionByID(ctx, ss.ID)
					if got, want := kept(ss.ID, err), ss.ID == "live" || ss.ID == "revoked-recently"; got != want {
						t.Errorf("session %s kept %v, want %v", ss.ID, got, want)
					}
				}
				for _, rt := range tokens {
					_, err := tx.RefreshTokenByHash(ctx, []byte(rt.ID))
					if got, want := kept(rt.ID, err), rt.ID == "t-live" || rt.ID == "t-recent"; got != want {
						t.Errorf("refresh token %s kept %v, want %v", rt.ID, got, want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
