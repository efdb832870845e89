package store_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// These tests change the database behind the server's back, as someone
// who can write it but holds no audit key could, and expect verification,
// the writer or the start-up to notice.

// exec runs raw SQL on the store's database.
func exec(t testing.TB, s *store.Store, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if err := s.DB().Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// unversion makes the database of s look made by a release before
// versioned migrations (see store.Unversion).
func unversion(t testing.TB, s *store.Store) {
	t.Helper()
	if err := store.Unversion(s); err != nil {
		t.Fatal(err)
	}
}

// wantBroken fails unless verification reports a break at entry at whose
// problem mentions problem.
func wantBroken(t testing.TB, s *store.Store, at int64, problem string) workflow.AuditVerification {
	t.Helper()
	v, err := s.VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.OK || v.BrokenAt != at || !strings.Contains(v.Problem, problem) {
		t.Fatalf("verify = %+v, want broken at %d with a problem mentioning %q", v, at, problem)
	}
	return v
}

// TestVerifyAudit_headSeal cuts the tail of the log and moves the head back
// to match, or wipes the log and puts back the head of an empty chain: the
// head's seal, and the users that an empty log cannot explain, give both
// away.
func TestVerifyAudit_headSeal(t *testing.T) {
	t.Parallel()
	genesis := audit.HeadSeal(testKey, 0, audit.GenesisHash)
	tests := []struct {
		name    string
		sql     []string
		at      int64
		problem string
	}{
		{"tail cut and head moved back", []string{
			`DELETE FROM audit_entries WHERE seq > 7`,
			`UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_entries WHERE seq = 7)`,
		}, 8, "not sealed"},
		{"head seal cleared", []string{`UPDATE audit_head SET seal = ''`}, 11, "not sealed"},
		{"log wiped and head reset", []string{`DELETE FROM audit_entries`, `UPDATE audit_head SET seq = 0, hash = ''`}, 1, "not sealed"},
		{"log wiped and the empty chain's head put back", []string{
			`DELETE FROM audit_entries`,
			`UPDATE audit_head SET seq = 0, hash = '', seal = '` + genesis + `'`,
		}, 1, "wiped"},
	}
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := openBackend(t, db.Backend).Store
					createOfficer(t, s)
					appendN(t, s, 9)
					mustVerify(t, s, 10)
					exec(t, s, tc.sql...)
					wantBroken(t, s, tc.at, tc.problem)
					// The writer refuses to extend a head it did not seal.
					err := s.RecordAudit(context.Background(), workflow.Change{Actor: "x", Action: "auth.login"})
					if tc.problem == "not sealed" && workflow.ErrorCode(err) != workflow.ErrUnavailable {
						t.Fatalf("append over an unsealed head: %v, want unavailable", err)
					}
				})
			}
		})
	}
}

// TestOpen_doesNotResealAClearedHead cuts the tail, moves the head back and
// clears its seal, hoping that the next start takes the database for one
// from before seals and seals the cut chain: it must not.
func TestOpen_doesNotResealAClearedHead(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			createOfficer(t, db.Store)
			appendN(t, db.Store, 4)
			exec(t, db.Store,
				`DELETE FROM audit_entries WHERE seq > 3`,
				`UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_entries WHERE seq = 3), seal = ''`)
			db.Store.Close()
			s := openStore(t, db.DSN, testKey)
			wantBroken(t, s, 4, "not sealed")
			if err := s.CheckAuditHead(context.Background()); err == nil {
				t.Fatal("CheckAuditHead accepted a head whose seal was cleared")
			}
		})
	}
}

// TestOpen_sealsLegacyHead opens a database from before heads were sealed
// (the head without its seal column): Open seals its head once the chain
// verifies, and leaves a broken chain's head unsealed.
func TestOpen_sealsLegacyHead(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			for _, broken := range []bool{false, true} {
				s := openBackend(t, db.Backend)
				createOfficer(t, s.Store)
				appendN(t, s.Store, 4)
				exec(t, s.Store, `ALTER TABLE audit_head DROP COLUMN seal`)
				unversion(t, s.Store)
				if broken {
					exec(t, s.Store, `UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2`)
				}
				s.Store.Close()
				reopened := openStore(t, s.DSN, testKey)
				err := reopened.CheckAuditHead(context.Background())
				if broken {
					if err == nil {
						t.Fatal("the head of a broken legacy chain was sealed")
					}
					wantBroken(t, reopened, 2, "altered")
					continue
				}
				if err != nil {
					t.Fatalf("legacy head not sealed: %v", err)
				}
				mustVerify(t, reopened, 5)
				appendN(t, reopened, 1)
				mustVerify(t, reopened, 6)
			}
		})
	}
}

// TestStore_refusesWritesUnderAnotherKey opens a second store on the same
// database with another key, as a second server with another key file
// would: it may read, but writes nothing, and the chain stays whole.
func TestStore_refusesWritesUnderAnotherKey(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			createOfficer(t, db.Store)
			appendN(t, db.Store, 2)
			other := openStore(t, db.DSN, bytes.Repeat([]byte{0x42}, audit.KeySize))
			if err := other.CheckAuditHead(ctx); err == nil || !strings.Contains(err.Error(), "does not verify the head") {
				t.Fatalf("CheckAuditHead with another key = %v, want a refusal", err)
			}
			err := other.RecordAudit(ctx, workflow.Change{Actor: "x", Action: "auth.login", Outcome: workflow.OutcomeOK})
			if workflow.ErrorCode(err) != workflow.ErrUnavailable || !strings.Contains(err.Error(), "not sealed") {
				t.Fatalf("append under another key: %v, want unavailable", err)
			}
			// Writes without an entry are refused too.
			if _, err := other.EnsureSetting(ctx, "probe", "x"); err == nil {
				t.Fatal("a setting was written under another key")
			}
			mustVerify(t, db.Store, 3)
			appendN(t, db.Store, 1)
			mustVerify(t, db.Store, 4)
		})
	}
}

// TestHoldsRecords tells an empty or missing database from one with a
// chain, without creating anything.
func TestHoldsRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	missing := t.TempDir() + "/none.db"
	if holds, err := store.HoldsRecords(ctx, missing); err != nil || holds {
		t.Fatalf("missing file: %v, %v", holds, err)
	}
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			if holds, err := store.HoldsRecords(ctx, db.DSN); err != nil || holds {
				t.Fatalf("new database: %v, %v; want false", holds, err)
			}
			createOfficer(t, db.Store)
			if holds, err := store.HoldsRecords(ctx, db.DSN); err != nil || !holds {
				t.Fatalf("database with a user: %v, %v; want true", holds, err)
			}
		})
	}
}

// TestVerifyAudit_requestsAgainstTheLog drives requests through the real
// workflow service, changes their rows and history behind its back, and
// expects verification to name the request.
func TestVerifyAudit_requestsAgainstTheLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sql     func(id string) []string
		problem string
	}{
		{"state changed", func(id string) []string {
			return []string{`UPDATE requests SET state = 'executed' WHERE id = '` + id + `'`}
		}, "state is executed, the log says acknowledged"},
		{"moved to a third authority", func(id string) []string {
			return []string{`UPDATE requests SET requested_authority = 'TH' WHERE id = '` + id + `'`}
		}, "requested authority is TH"},
		{"title changed", func(id string) []string {
			return []string{`UPDATE requests SET title = 'Something else' WHERE id = '` + id + `'`}
		}, "content is not what the log"},
		{"version bumped", func(id string) []string {
			return []string{`UPDATE requests SET version = version + 1 WHERE id = '` + id + `'`}
		}, "version is 4"},
		{"last transition deleted", func(id string) []string {
			return []string{`DELETE FROM request_history WHERE id = (SELECT MAX(id) FROM request_history WHERE request_id = '` + id + `')`}
		}, "1 transitions in its history, the log records 2"},
		{"transition added", func(id string) []string {
			return []string{`INSERT INTO request_history (request_id, event, from_state, to_state, actor, authority, at_us, comment, grounds)
VALUES ('` + id + `', 'request_info', 'acknowledged', 'info_requested', 'es.officer', 'ES', 1, 'x', '[]')`}
		}, "3 transitions in its history"},
		{"comment rewritten", func(id string) []string {
			return []string{`UPDATE request_history SET comment = 'nothing to see' WHERE request_id = '` + id + `' AND event = 'send'`}
		}, "comment the log does not record"},
		{"transition's actor changed", func(id string) []string {
			return []string{`UPDATE request_history SET actor = 'es.officer' WHERE request_id = '` + id + `' AND event = 'acknowledge'`}
		}, "by es.officer of ES, the log says es.supervisor of ES"},
		{"request deleted", func(id string) []string {
			return []string{`DELETE FROM request_history WHERE request_id = '` + id + `'`, `DELETE FROM requests WHERE id = '` + id + `'`}
		}, "its row is gone"},
		{"request inserted", func(id string) []string {
			return []string{`INSERT INTO requests (id, reference, kind, state, version, requesting_authority, requested_authority,
title, summary, legal_basis, offences, measures, urgency, urgency_reason, due_date, person_sought, warrant, created_at_us, updated_at_us)
SELECT 'zzzz-forged', 'IT-MLA-2026-999999', kind, state, version, requesting_authority, 'TH', title, summary, legal_basis,
offences, measures, urgency, urgency_reason, due_date, person_sought, warrant, created_at_us, updated_at_us FROM requests WHERE id = '` + id + `'`}
		}, "the log records no change of it"},
	}
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := openBackend(t, db.Backend).Store
					id := driveRequest(t, s)
					mustVerify(t, s, 6)
					exec(t, s, tc.sql(id)...)
					v, err := s.VerifyAudit(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					if v.OK || !strings.Contains(v.Problem, tc.problem) || v.BrokenAt < 1 {
						t.Fatalf("verify = %+v, want broken with a problem mentioning %q", v, tc.problem)
					}
					wantID := id
					if tc.name == "request inserted" {
						wantID = "zzzz-forged"
					}
					if v.RequestID != wantID || !strings.Contains(v.Problem, "request ") {
						t.Fatalf("verify names request %q (%s), want %q", v.RequestID, v.Problem, wantID)
					}
				})
			}
		})
	}
}

// driveRequest creates two requests through the workflow service, sends
// the first with a comment-free send and acknowledges it, and returns its
// id: six audit entries in all.
func driveRequest(t testing.TB, s *store.Store) string {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	svc := workflow.NewService(s, testPolicy{}, workflow.WithClock(func() time.Time { now = now.Add(time.Second); return now }))
	it := workflow.Actor{UserID: "1", Username: "it.supervisor", Role: workflow.RoleSupervisor, Authority: "IT"}
	es := workflow.Actor{UserID: "2", Username: "es.supervisor", Role: workflow.RoleSupervisor, Authority: "ES"}
	var ids []string
	for _, title := range []string{"Bank records of ACME", "Hearing of a witness"} {
		r, err := svc.Create(ctx, it, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: title})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	for _, step := range []struct {
		a  workflow.Actor
		ev workflow.Event
	}{{it, workflow.EventSend}, {es, workflow.EventAcknowledge}} {
		if _, err := svc.Fire(ctx, step.a, ids[0], workflow.EventInput{Event: step.ev}); err != nil {
			t.Fatalf("%s: %v", step.ev, err)
		}
	}
	// A refused attempt, which is audited but changes nothing, and an edit
	// of the second draft.
	if _, err := svc.Fire(ctx, it, ids[0], workflow.EventInput{Event: workflow.EventAcknowledge}); err == nil {
		t.Fatal("the requesting side acknowledged its own request")
	}
	title := "Hearing of two witnesses"
	if _, err := svc.Update(ctx, it, ids[1], workflow.Changes{Title: &title}, nil); err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// TestVerifyAudit_usersAgainstTheLog changes accounts behind the server's
// back: an officer moved to another authority or made an administrator, a
// disabled account enabled, an account inserted or deleted. Verification
// names the account.
func TestVerifyAudit_usersAgainstTheLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sql     []string
		id      string
		problem string
	}{
		{"moved to another authority", []string{`UPDATE users SET authority = 'TH' WHERE id = 'u1'`}, "u1", `authority is "TH", the log says "IT"`},
		{"made an administrator", []string{`UPDATE users SET role = 'admin', authority = NULL WHERE id = 'u1'`}, "u1", "role is admin, the log says officer"},
		{"enabled again", []string{`UPDATE users SET disabled = false WHERE id = 'u2'`}, "u2", "disabled is false, the log says true"},
		{"inserted", []string{`INSERT INTO users (id, username, display_name, role, authority, password_hash, disabled, created_at_us)
VALUES ('u9', 'mallory', 'Mallory', 'admin', NULL, 'h', false, 1)`}, "u9", "the log records no change of it"},
		{"deleted", []string{`DELETE FROM users WHERE id = 'u2'`}, "u2", "its row is gone"},
	}
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					ctx := context.Background()
					s := openBackend(t, db.Backend).Store
					createOfficer(t, s)
					other := workflow.User{ID: "u2", Username: "es.auditor", Role: workflow.RoleAuditor, Authority: "ES", PasswordHash: "h", CreatedAt: baseTime}
					if err := s.CreateUser(ctx, other, userCreated(other)); err != nil {
						t.Fatal(err)
					}
					other.Disabled = true
					if err := s.UpdateUser(ctx, other, workflow.Change{Actor: "admin", Action: "user.update", Outcome: workflow.OutcomeOK,
						Details: map[string]any{"user_id": other.ID, "username": other.Username, "disabled": true, "changed": []string{"disabled"}}}); err != nil {
						t.Fatal(err)
					}
					mustVerify(t, s, 3)
					exec(t, s, tc.sql...)
					v, err := s.VerifyAudit(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if v.OK || v.UserID != tc.id || !strings.Contains(v.Problem, tc.problem) || !strings.Contains(v.Problem, "account ") {
						t.Fatalf("verify = %+v, want account %s named with a problem mentioning %q", v, tc.id, tc.problem)
					}
				})
			}
		})
	}
}

// TestSigningKeys_sealed: a signing secret is kept sealed under a key
// derived from the audit key, so that whoever reads the database cannot
// sign tokens with it; a sealed secret moved to another key's row does not
// open; a database from before sealing has its secrets sealed at the next
// open, and a secret written in the clear afterwards is not taken.
func TestSigningKeys_sealed(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.Store
			secret := bytes.Repeat([]byte{0x5a}, 32)
			at := baseTime.Truncate(time.Microsecond)
			for _, k := range []auth.SigningKey{{ID: "key-a", Secret: secret, CreatedAt: at}, {ID: "key-b", Secret: bytes.Repeat([]byte{1}, 32), CreatedAt: at.Add(time.Second)}} {
				if _, err := s.AddSigningKey(ctx, k, auth.AddAlways, nil); err != nil {
					t.Fatal(err)
				}
			}
			var stored []struct{ Secret, SealedSecret string }
			if err := s.DB().Raw("SELECT secret, sealed_secret FROM signing_keys ORDER BY id").Scan(&stored).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range stored {
				if r.Secret != "" || r.SealedSecret == "" || strings.Contains(r.SealedSecret, hex.EncodeToString(secret)) {
					t.Fatalf("stored %+v: want only a sealed secret", r)
				}
			}
			if got := secretOf(t, s, "key-a"); !bytes.Equal(got, secret) {
				t.Fatalf("key-a opens to %x, want %x", got, secret)
			}
			// Another key's sealed secret under key-a does not open.
			exec(t, s, `UPDATE signing_keys SET sealed_secret = (SELECT sealed_secret FROM signing_keys WHERE id = 'key-b') WHERE id = 'key-a'`)
			if _, err := s.SigningKeys(ctx); err == nil || !strings.Contains(err.Error(), "does not open") {
				t.Fatalf("a moved sealed secret: %v, want refused", err)
			}

			// From before sealing: the secret in hex, no sealed column.
			legacy := openBackend(t, db.Backend)
			if _, err := legacy.Store.AddSigningKey(ctx, auth.SigningKey{ID: "key-old", Secret: secret, CreatedAt: at}, auth.AddAlways, nil); err != nil {
				t.Fatal(err)
			}
			exec(t, legacy.Store, `ALTER TABLE signing_keys DROP COLUMN sealed_secret`,
				`UPDATE signing_keys SET secret = '`+hex.EncodeToString(secret)+`'`)
			unversion(t, legacy.Store)
			legacy.Store.Close()
			reopened := openStore(t, legacy.DSN, testKey)
			if got := secretOf(t, reopened, "key-old"); !bytes.Equal(got, secret) {
				t.Fatalf("legacy key opens to %x, want %x", got, secret)
			}
			// A secret written in the clear now is not a secret.
			exec(t, reopened, `UPDATE signing_keys SET secret = '`+hex.EncodeToString(bytes.Repeat([]byte{9}, 32))+`', sealed_secret = ''`)
			reopened.Close()
			again := openStore(t, legacy.DSN, testKey)
			if got := secretOf(t, again, "key-old"); got != nil {
				t.Fatalf("a secret written in the clear was taken: %x", got)
			}
		})
	}
}

// secretOf returns the secret of the signing key id.
func secretOf(t testing.TB, s *store.Store, id string) []byte {
	t.Helper()
	keys, err := s.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == id {
			return k.Secret
		}
	}
	t.Fatalf("no signing key %s", id)
	return nil
}

// TestOpen_previousRelease opens a copy of a database written by the
// release before sealed heads, sealed signing secrets and keyed digests
// (testdata/previous-release): its head and secrets are sealed at the
// first open, every entry, request and account verifies against its plain
// digests, and it takes new writes.
func TestOpen_previousRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for _, name := range []string{"mla.db", "audit.key"} {
		b, err := os.ReadFile(filepath.Join("testdata", "previous-release", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	key, err := audit.LoadOrCreateKey(filepath.Join(dir, "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	const entries = 1087 // as the release before counted them (server audit verify)
	s := openStore(t, filepath.Join(dir, "mla.db"), key)
	if err := s.CheckAuditHead(ctx); err != nil {
		t.Fatalf("the head was not sealed at the first open: %v", err)
	}
	mustVerify(t, s, entries)
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) == 0 || len(keys[0].Secret) < 32 {
		t.Fatalf("signing keys after the first open: %+v, %v", keys, err)
	}
	var clear int64
	if err := s.DB().Raw("SELECT COUNT(*) FROM signing_keys WHERE secret <> ''").Scan(&clear).Error; err != nil || clear != 0 {
		t.Fatalf("%d signing secrets left in the clear (%v)", clear, err)
	}
	svc := workflow.NewService(s, testPolicy{})
	it := workflow.Actor{UserID: "1", Username: "it.officer", Role: workflow.RoleOfficer, Authority: "IT"}
	if _, err := svc.Create(ctx, it, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "After the upgrade"}); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, s, entries+1)
}

// TestUsers_sealed: an account row changed behind the server's back (a
// password hash of someone else's choosing, another authority) is no
// account: the lookups that sign someone in refuse it at once, and
// verification names it. A database from before seals has its accounts
// sealed at the next open.
func TestUsers_sealed(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			for _, tamper := range []string{
				`UPDATE users SET password_hash = 'chosen by mallory' WHERE id = 'u1'`,
				`UPDATE users SET authority = 'TH' WHERE id = 'u1'`,
			} {
				s := openBackend(t, db.Backend).Store
				createOfficer(t, s)
				if _, err := s.UserByUsername(ctx, "it.officer"); err != nil {
					t.Fatal(err)
				}
				exec(t, s, tamper)
				if _, err := s.UserByUsername(ctx, "it.officer"); workflow.ErrorCode(err) != workflow.ErrNotFound {
					t.Fatalf("%s: the altered account is found (%v)", tamper, err)
				}
				if _, err := s.UserByID(ctx, "u1"); workflow.ErrorCode(err) != workflow.ErrNotFound {
					t.Fatalf("%s: the altered account is found by id (%v)", tamper, err)
				}
				v, err := s.VerifyAudit(ctx)
				if err != nil || v.OK || v.UserID != "u1" {
					t.Fatalf("%s: verify = %+v, %v; want the account named", tamper, v, err)
				}
			}

			legacy := openBackend(t, db.Backend)
			createOfficer(t, legacy.Store)
			exec(t, legacy.Store, `ALTER TABLE users DROP COLUMN seal`)
			unversion(t, legacy.Store)
			legacy.Store.Close()
			reopened := openStore(t, legacy.DSN, testKey)
			if _, err := reopened.UserByUsername(ctx, "it.officer"); err != nil {
				t.Fatalf("an account from before seals after the next open: %v", err)
			}
			mustVerify(t, reopened, 1)
		})
	}
}

// TestVerifyAudit_threadsAgainstTheLog changes a request's thread behind
// the server's back: a message reworded, an internal note made readable by
// the counterpart, its author or time changed, a message inserted or
// deleted. Verification names the request and the message.
func TestVerifyAudit_threadsAgainstTheLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sql     func(requestID, messageID string) []string
		problem string
	}{
		{"body reworded", func(_, m string) []string {
			return []string{`UPDATE messages SET body = 'We consent.' WHERE id = '` + m + `'`}
		}, "body of message " + "%s is not the one posted"},
		{"note shown to the counterpart", func(_, m string) []string {
			return []string{`UPDATE messages SET internal = false WHERE id = '` + m + `'`}
		}, "who may read it changed"},
		{"author changed", func(_, m string) []string {
			return []string{`UPDATE messages SET actor = 'it.officer' WHERE id = '` + m + `'`}
		}, "now says it.officer (ES)"},
		{"time changed", func(_, m string) []string {
			return []string{`UPDATE messages SET at_us = at_us - 86400000000 WHERE id = '` + m + `'`}
		}, "its row now says"},
		{"moved to another request", func(r, m string) []string {
			return []string{`UPDATE messages SET request_id = (SELECT MIN(id) FROM requests WHERE id <> '` + r + `') WHERE id = '` + m + `'`}
		}, "its row now says"},
		{"message deleted", func(_, m string) []string {
			return []string{`DELETE FROM messages WHERE id = '` + m + `'`}
		}, "is gone, though the log records its post"},
		{"message inserted", func(r, _ string) []string {
			return []string{`INSERT INTO messages (id, request_id, kind, internal, body, actor, authority, at_us)
VALUES ('zzzz-forged', '` + r + `', 'message', false, 'Refused, sorry.', 'es.supervisor', 'ES', 1)`}
		}, "records no post of message zzzz-forged"},
	}
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := openBackend(t, db.Backend).Store
					id := driveRequest(t, s)
					svc := workflow.NewService(s, testPolicy{})
					es := workflow.Actor{UserID: "2", Username: "es.supervisor", Role: workflow.RoleSupervisor, Authority: "ES"}
					m, err := svc.PostMessage(context.Background(), es, id, workflow.MessageKindNote, "Check the bank's answer first.")
					if err != nil {
						t.Fatal(err)
					}
					mustVerify(t, s, 7)
					exec(t, s, tc.sql(id, m.ID)...)
					v, err := s.VerifyAudit(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					problem := tc.problem
					if strings.Contains(problem, "%s") {
						problem = fmt.Sprintf(problem, m.ID)
					}
					if v.OK || !strings.Contains(v.Problem, problem) || v.BrokenAt < 1 {
						t.Fatalf("verify = %+v, want broken with a problem mentioning %q", v, problem)
					}
					if tc.name != "moved to another request" && v.RequestID != id {
						t.Fatalf("verify names request %q (%s), want %q", v.RequestID, v.Problem, id)
					}
				})
			}
		})
	}
}
