package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/migrate"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// lastUnversioned is the fixture written by the last release whose schema
// came from AutoMigrate (testdata/last-unversioned/README.md).
const lastUnversioned = "testdata/last-unversioned"

// What `server seed --requests 200` wrote there, as that release counted it.
var lastUnversionedRows = map[string]int64{
	"requests": 200, "request_history": 750, "audit_entries": 1087, "users": 14,
	"authorities": 4, "reference_counters": 27, "request_counts": 52, "signing_keys": 1,
}

// TestOpen_lastUnversionedRelease opens the databases of the last release
// before versioned migrations, on SQLite from its file and on PostgreSQL
// from its dump: each is adopted and migrated to the newest schema, which is
// the schema of a database made new, keeps every row, and its audit chain
// verifies and grows.
func TestOpen_lastUnversionedRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		dsn, key := restoreLastUnversioned(t, b)
		s := openStore(t, dsn, key)
		if err := s.CheckAuditHead(ctx); err != nil {
			t.Fatalf("audit head after the migration: %v", err)
		}
		for table, n := range lastUnversionedRows {
			if got := countRows(t, s.DB(), table); got != n {
				t.Errorf("%s: %d rows after the migration, want %d", table, got, n)
			}
		}
		mustVerify(t, s, lastUnversionedRows["audit_entries"])
		report, err := store.MigrationReport(ctx, dsn)
		if err != nil || !report.Versioned || len(report.Pending()) != 0 || report.Problem() != nil {
			t.Fatalf("report after the migration: %+v, %v", report, err)
		}

		// An extradition with its person sought and warrant reads back.
		var id string
		if err := s.DB().Raw("SELECT id FROM requests WHERE kind = 'extradition' AND person_sought <> '' AND warrant <> '' ORDER BY seq LIMIT 1").Scan(&id).Error; err != nil || id == "" {
			t.Fatalf("no extradition with person and warrant in the fixture (%v)", err)
		}
		r, err := s.Request(ctx, id)
		if err != nil || r.PersonSought == nil || r.PersonSought.Name == "" || r.Warrant == nil || r.Warrant.Reference == "" {
			t.Fatalf("extradition %s after the migration: %+v, %v", id, r, err)
		}

		fresh := openBackend(t, b)
		if got, want := schemaOf(t, s.DB(), b.Name), schemaOf(t, fresh.Store.DB(), b.Name); !slices.Equal(got, want) {
			t.Errorf("the migrated schema differs from a new database's:\n%s", diffLines(got, want))
		}

		svc := workflow.NewService(s, testPolicy{})
		it := workflow.Actor{UserID: "1", Username: "it.officer", Role: workflow.RoleOfficer, Authority: "IT"}
		if _, err := svc.Create(ctx, it, workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "After the migration"}); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, s, lastUnversionedRows["audit_entries"]+1)
		s.Close()

		// Opening again applies nothing and changes nothing.
		again := openStore(t, dsn, key)
		mustVerify(t, again, lastUnversionedRows["audit_entries"]+1)
	})
}

// restoreLastUnversioned makes a database of the fixture on b and returns
// its address and audit key.
func restoreLastUnversioned(t *testing.T, b testdb.Backend) (dsn string, key []byte) {
	t.Helper()
	dir := t.TempDir()
	keyFile := "audit.key"
	if b.Name == "postgres" {
		keyFile = "postgres-audit.key"
	}
	copyFile(t, filepath.Join(lastUnversioned, keyFile), filepath.Join(dir, "audit.key"))
	key, err := audit.LoadOrCreateKey(filepath.Join(dir, "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "postgres" {
		dsn = filepath.Join(dir, "mla.db")
		copyFile(t, filepath.Join(lastUnversioned, "mla.db"), dsn)
		return dsn, key
	}
	dsn = b.DSN(t)
	dump, err := os.ReadFile(filepath.Join(lastUnversioned, "postgres.sql"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Without arguments pgx sends the dump by the simple protocol, which
	// runs many statements at once.
	if _, err := conn.Exec(ctx, string(dump)); err != nil {
		t.Fatalf("restore the dump: %v", err)
	}
	return dsn, key
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func countRows(t testing.TB, db *gorm.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.Table(table).Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// schemaOf describes the tables of db, a line per column, index and
// foreign key, sorted: two databases with the same lines have the same
// schema, whatever order or text the statements that made them had.
func schemaOf(t *testing.T, db *gorm.DB, backend string) []string {
	t.Helper()
	var lines []string
	scan := func(query string, args ...any) {
		rows, err := db.Raw(query, args...).Rows()
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				parts[i] = fmt.Sprint(v)
			}
			lines = append(lines, strings.Join(parts, " | "))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if backend == "postgres" {
		scan(`SELECT 'column', table_name, column_name, data_type, COALESCE(character_maximum_length, 0), is_nullable, COALESCE(column_default, '')
FROM information_schema.columns WHERE table_schema = current_schema()`)
		scan(`SELECT 'index', tablename, indexname, regexp_replace(indexdef, ' ON \S+\.', ' ON ') FROM pg_indexes WHERE schemaname = current_schema()`)
		scan(`SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE connamespace = current_schema()::regnamespace`)
	} else {
		var tables []string
		if err := db.Raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").Scan(&tables).Error; err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			lines = append(lines, "table | "+table)
			scan("SELECT 'column', ?, name, type, \"notnull\", COALESCE(dflt_value, ''), pk FROM pragma_table_info(?)", table, table)
			scan("SELECT 'index', ?, il.name, il.\"unique\", ii.seqno, ii.name FROM pragma_index_list(?) il, pragma_index_info(il.name) ii", table, table)
			scan("SELECT 'foreign key', ?, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?)", table, table)
		}
	}
	// AutoMigrate wrote SQLite's empty defaults as "" (an identifier
	// that SQLite takes for the string), the migrations write ''.
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(l, `""`, `''`)
	}
	slices.Sort(lines)
	return lines
}

func diffLines(got, want []string) string {
	var b strings.Builder
	for _, l := range got {
		if !slices.Contains(want, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}

// TestOpen_refusesForeignSchema: a database that a newer release migrated,
// or whose recorded checksum differs from this binary's file, is refused
// with a message that says which migration and what to do, and nothing is
// applied to it.
func TestOpen_refusesForeignSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tamper string
		want   *regexp.Regexp
	}{
		{"newer", "INSERT INTO schema_migrations (version, name, checksum, applied_at_us) VALUES (9999, 'from_the_future', 'abc', 0)",
			regexp.MustCompile(`migrated by a newer version of mla-flow \(it has migration 9999_from_the_future`)},
		{"checksum", "UPDATE schema_migrations SET checksum = 'e3b0c44298fc1c149afbf4c8996fb924' WHERE version = 1",
			regexp.MustCompile(`migration 0001_baseline\.sql was applied with checksum e3b0c44298fc, but this binary's file has [0-9a-f]{12}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, b testdb.Backend) {
				db := openBackend(t, b)
				createOfficer(t, db.Store)
				exec(t, db.Store, tc.tamper)
				before := schemaOf(t, db.Store.DB(), b.Name)
				db.Store.Close()
				_, err := store.Open(ctx, store.Options{DSN: db.DSN, AuditKey: testKey})
				if !errors.Is(err, migrate.ErrRefused) || !tc.want.MatchString(err.Error()) {
					t.Fatalf("open = %v, want refused matching %s", err, tc.want)
				}
				report, err := store.MigrationReport(ctx, db.DSN)
				if err != nil || report.Problem() == nil {
					t.Fatalf("report = %+v, %v; want the problem", report, err)
				}
				// Read through the inspection path: the refusal changed nothing.
				inspect := openStoreRaw(t, db.DSN)
				if after := schemaOf(t, inspect, b.Name); !slices.Equal(before, after) {
					t.Fatalf("the refused open changed the schema:\n%s", diffLines(after, before))
				}
			})
		})
	}
}

// openStoreRaw opens the database at dsn with GORM alone, for reading what
// a refused Open left.
func openStoreRaw(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	db, err := store.OpenInspection(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

// TestMigrationReport_changesNothing: the report on a database that does
// not exist creates nothing, and on an unversioned one (the last release's)
// lists every migration pending without applying any.
func TestMigrationReport_changesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "none", "mla.db")
	report, err := store.MigrationReport(ctx, missing)
	if err != nil || report.Versioned || len(report.Pending()) == 0 {
		t.Fatalf("report on no database = %+v, %v", report, err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the report created %s", filepath.Dir(missing))
	}
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		dsn, _ := restoreLastUnversioned(t, b)
		before := schemaOf(t, openStoreRaw(t, dsn), b.Name)
		report, err := store.MigrationReport(ctx, dsn)
		if err != nil || report.Versioned || len(report.Pending()) != len(report.States) {
			t.Fatalf("report = %+v, %v; want every migration pending", report, err)
		}
		if after := schemaOf(t, openStoreRaw(t, dsn), b.Name); !slices.Equal(before, after) {
			t.Fatalf("the report changed the schema:\n%s", diffLines(after, before))
		}
	})
}
