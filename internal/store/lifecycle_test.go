package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestService drives the real workflow service over the store: one request
// through its life, a refused attempt, the history, the list and the chain.
func TestService(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
			clock := func() time.Time { now = now.Add(time.Second); return now }
			svc := workflow.NewService(db.Store, testPolicy{}, workflow.WithClock(clock))
			it := workflow.Actor{UserID: "1", Username: "it.supervisor", Role: workflow.RoleSupervisor, Authority: "IT"}
			es := workflow.Actor{UserID: "2", Username: "es.supervisor", Role: workflow.RoleSupervisor, Authority: "ES"}

			r, err := svc.Create(ctx, it, workflow.Draft{
				Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records of ACME",
				Offences: []string{"fraud"}, Measures: []string{"bank_records"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.Reference != "IT-MLA-2026-000001" {
				t.Fatalf("reference %q, want IT-MLA-2026-000001", r.Reference)
			}
			if _, err := svc.Get(ctx, es, r.ID); workflow.ErrorCode(err) != workflow.ErrNotFound {
				t.Fatalf("a draft is visible to the requested authority: %v", err)
			}
			steps := []struct {
				actor workflow.Actor
				in    workflow.EventInput
			}{
				{it, workflow.EventInput{Event: workflow.EventSend}},
				{es, workflow.EventInput{Event: workflow.EventAcknowledge}},
				{es, workflow.EventInput{Event: workflow.EventRefuse, Grounds: []string{"dual_criminality"}}},
			}
			for _, st := range steps {
				if r, err = svc.Fire(ctx, st.actor, r.ID, st.in); err != nil {
					t.Fatalf("%s: %v", st.in.Event, err)
				}
			}
			_, err = svc.Fire(ctx, es, r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
			wantCode(t, err, workflow.ErrInvalidTransition)

			stored, err := svc.Get(ctx, es, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stored, r) {
				t.Fatalf("stored:\n got %+v\nwant %+v", stored, r)
			}
			if stored.State != workflow.StateRefused || stored.Version != 4 {
				t.Fatalf("state %s version %d, want refused at 4", stored.State, stored.Version)
			}
			hist, err := svc.History(ctx, it, r.ID)
			if err != nil || len(hist) != 3 || hist[2].Grounds[0] != "dual_criminality" {
				t.Fatalf("history %+v, %v", hist, err)
			}
			list, _, err := svc.List(ctx, es, workflow.ListQuery{Direction: workflow.DirectionIncoming})
			if err != nil || len(list) != 1 || list[0].ID != r.ID {
				t.Fatalf("incoming list of ES = %+v, %v", list, err)
			}
			// create, send, acknowledge, refuse, and the refused attempt.
			mustVerifyChain(t, db.Store, 5)
			entries, _, err := svc.Audit(ctx, workflow.Actor{Username: "admin", Role: workflow.RoleAdmin}, workflow.AuditFilter{RequestID: r.ID})
			if err != nil || len(entries) != 5 || entries[0].Outcome != workflow.OutcomeDenied {
				t.Fatalf("audit of the request = %+v, %v", entries, err)
			}
		})
	}
}

// TestRestart closes the store and opens the same database again: all is
// there, and the chain goes on where it stopped.
func TestRestart(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			r := newRequest(0, "NG", "TH", workflow.KindExtradition, workflow.StateSent)
			insert(t, db.Store, r)
			appendN(t, db.Store, 4)
			before := mustVerifyChain(t, db.Store, 5)
			if err := db.Store.Close(); err != nil {
				t.Fatal(err)
			}

			s := openStore(t, db.DSN, testKey)
			after := mustVerifyChain(t, s, 5)
			if after.Head != before.Head {
				t.Fatalf("head %s after restart, was %s", after.Head, before.Head)
			}
			got, err := s.Request(ctx, r.ID)
			if err != nil || !reflect.DeepEqual(got, r) {
				t.Fatalf("request after restart = %+v, %v; want %+v", got, err, r)
			}
			appendN(t, s, 2)
			mustVerifyChain(t, s, 7)
		})
	}
}

func TestBackup(t *testing.T) {
	t.Parallel()
	for _, db := range openStores(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			target := filepath.Join(t.TempDir(), "backups", "mla-copy.db")
			if db.Name == "postgres" {
				err := db.Store.Backup(ctx, target)
				if err == nil || !strings.Contains(err.Error(), "pg_dump") {
					t.Fatalf("Backup on PostgreSQL: %v, want advice to use pg_dump", err)
				}
				return
			}
			r := newRequest(0, "IT", "ES", workflow.KindMLA, workflow.StateSent)
			insert(t, db.Store, r)
			appendN(t, db.Store, 9)
			live := mustVerifyChain(t, db.Store, 10)
			if err := db.Store.Backup(ctx, target); err != nil {
				t.Fatal(err)
			}
			// The live database goes on; the copy does not change.
			appendN(t, db.Store, 1)

			copied := openStore(t, target, testKey)
			v := mustVerifyChain(t, copied, 10)
			if v.Head != live.Head {
				t.Fatalf("backup head %s, want %s", v.Head, live.Head)
			}
			got, err := copied.Request(ctx, r.ID)
			if err != nil || !reflect.DeepEqual(got, r) {
				t.Fatalf("request in backup = %+v, %v", got, err)
			}

			if err := db.Store.Backup(ctx, target); err == nil || !strings.Contains(err.Error(), "exists") {
				t.Fatalf("backup over an existing file: %v, want a refusal", err)
			}
		})
	}
}

// TestBusy holds SQLite's write lock from another connection, as another
// process could: a write must wait busy_timeout and then fail as
// unavailable, not as an internal error.
func TestBusy(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for the 5 s busy timeout")
	}
	path := filepath.Join(t.TempDir(), "busy.db")
	s := openStore(t, path, testKey)
	other, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.RecordAudit(context.Background(), workflow.Change{Actor: "x", Action: "auth.login"})
	wantCode(t, err, workflow.ErrUnavailable)
	if waited := time.Since(start); waited < 4*time.Second {
		t.Fatalf("gave up after %v, before the busy timeout", waited)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAudit(context.Background(), workflow.Change{Actor: "x", Action: "auth.login"}); err != nil {
		t.Fatalf("after the lock was released: %v", err)
	}
	mustVerify(t, s, 1)
}

func TestOpen_createsDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "b")
	openStore(t, filepath.Join(dir, "mla.db"), testKey)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("database directory mode %o, want 700", fi.Mode().Perm())
	}
}

func TestOpen_unreachablePostgres(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := store.Open(ctx, store.Options{DSN: "postgres://u:secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", AuditKey: testKey})
	if err == nil {
		t.Fatal("Open succeeded without a server")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
}

// TestOpen_oneServerPerFile checks that a second server cannot open a
// SQLite file a server has open (the session cache and the single writer
// rely on it), that the command-line tools still can, and that the file is
// free again once the first server has closed it.
func TestOpen_oneServerPerFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mla.db")
	first, err := store.Open(ctx, store.Options{DSN: path, AuditKey: testKey, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := store.Open(ctx, store.Options{DSN: path, AuditKey: testKey, Server: true}); err == nil {
		s.Close()
		t.Fatal("a second server opened the file")
	} else if !strings.Contains(err.Error(), "another server is using this database") {
		t.Fatalf("second server: %v, want the reason", err)
	}
	tool, err := store.Open(ctx, store.Options{DSN: path, AuditKey: testKey})
	if err != nil {
		t.Fatalf("a command-line tool beside the server: %v", err)
	}
	tool.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := store.Open(ctx, store.Options{DSN: path, AuditKey: testKey, Server: true})
	if err != nil {
		t.Fatalf("after the first server closed: %v", err)
	}
	again.Close()
}

// TestOpen_oneServerPerFileByAnyName gives a second server other names of
// the file a server has open: the lock is on the file, not on the name, so
// every one of them is refused, and the command-line tools still run
// beside the server by any name SQLite resolves to the same journal. A hard
// link is refused to tools too: SQLite names its -wal and
// -shm after the name it was given, so through a second name the committed
// transactions still in the first name's WAL are not seen, and writes go
// to a second WAL.
func TestOpen_oneServerPerFileByAnyName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	real := filepath.Join(dir, "data", "mla.db")
	first, err := store.Open(ctx, store.Options{DSN: real, AuditKey: testKey, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	fileLink, dirLink, hardLink, renamed := filepath.Join(dir, "link.db"), filepath.Join(dir, "linked"), filepath.Join(dir, "hard.db"), filepath.Join(dir, "data", "renamed.db")
	for _, err := range []error{os.Symlink(real, fileLink), os.Symlink(filepath.Join(dir, "data"), dirLink), os.Link(real, hardLink)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	relative, err := filepath.Rel(wd, filepath.Join(dir, "data", "..", "data", "mla.db"))
	if err != nil {
		t.Fatal(err)
	}
	refused := func(name, path, why string, server bool) {
		t.Helper()
		s, err := store.Open(ctx, store.Options{DSN: path, AuditKey: testKey, Server: server})
		if err == nil {
			s.Close()
			t.Errorf("%s: opened, want refused", name)
		} else if !strings.Contains(err.Error(), why) {
			t.Errorf("%s: %v, want the reason %q", name, err, why)
		}
	}
	const running, names = "another server is using this database", "has 2 names"
	refused("a symbolic link to the file", fileLink, running, true)
	refused("a symbolic link to its directory", filepath.Join(dirLink, "mla.db"), running, true)
	refused("a relative path through ..", relative, running, true)
	refused("a hard link, for a server", hardLink, running, true)
	refused("a hard link, for a tool", hardLink, names, false)
	if err := os.Remove(hardLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(real, renamed); err != nil {
		t.Fatal(err)
	}
	refused("the file renamed under the server", renamed, running, true)
	if err := os.Rename(renamed, real); err != nil {
		t.Fatal(err)
	}
	tool, err := store.Open(ctx, store.Options{DSN: fileLink, AuditKey: testKey})
	if err != nil {
		t.Fatalf("a command-line tool through a symbolic link beside the server: %v", err)
	}
	tool.Close()
}
