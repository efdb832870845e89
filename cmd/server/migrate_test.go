package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/store"
)

// TestRun_migrate drives the migrate commands on a database of the last
// release before versioned migrations: status and --dry-run list the
// migrations pending and change nothing, migrate applies them, and a
// database whose recorded checksum differs is refused by migrate and by
// serve alike, with the migration named and exit code 4.
func TestRun_migrate(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"mla.db", "audit.key"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "internal", "store", "testdata", "last-unversioned", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "mla.db")
	migrations, err := store.Migrations(false)
	if err != nil {
		t.Fatal(err)
	}
	n, newest := len(migrations), migrations[len(migrations)-1].File()
	env := func(string) string { return "" }
	cmd := func(args ...string) (string, error) {
		var stdout bytes.Buffer
		err := run(context.Background(), append(args, "--db", db), env, nil, &stdout, io.Discard)
		return stdout.String(), err
	}
	expect := func(out string, err error, want ...string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Fatalf("output lacks %q:\n%s", w, out)
			}
		}
	}
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	hasVersions := func() bool {
		var n int
		raw.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'").Scan(&n)
		return n == 1
	}

	out, err := cmd("migrate", "status")
	expect(out, err, "0001_baseline.sql", "pending")
	out, err = cmd("migrate", "--dry-run")
	expect(out, err, fmt.Sprintf("would apply %d migration(s):", n), "0001_baseline.sql", newest)
	if hasVersions() {
		t.Fatal("status or --dry-run changed the database")
	}
	out, err = cmd("migrate")
	expect(out, err, "applied 0001_baseline.sql", "applied "+newest, fmt.Sprintf("%d migration(s) applied; the schema is at %s", n, newest))
	out, err = cmd("migrate", "status")
	expect(out, err, "0001_baseline.sql", "applied 20")
	out, err = cmd("migrate")
	expect(out, err, "nothing to apply: the schema is at "+newest)
	out, err = cmd("audit", "verify")
	expect(out, err, "entries: 1087", "ok: the audit chain verifies")

	if _, err := raw.Exec("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"migrate"}, {"migrate", "status"}, {"--addr", "127.0.0.1:0"}} {
		out, err := cmd(args...)
		if err == nil || exitCode(err) != 4 || !strings.Contains(err.Error(), "migration 0001_baseline.sql was applied with checksum edited") {
			t.Fatalf("%v on a changed checksum: %v (exit %d)\n%s", args, err, exitCode(err), out)
		}
	}
}
