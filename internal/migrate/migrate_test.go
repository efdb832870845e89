package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3"

	"github.com/mla-flow/mla-flow/internal/migrate"
	"github.com/mla-flow/mla-flow/internal/testdb"
)

func files(m map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, text := range m {
		fsys["m/"+name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

var three = map[string]string{
	"0001_things.sql":      "CREATE TABLE things (id BIGINT PRIMARY KEY, name TEXT NOT NULL);",
	"0002_more_things.sql": "INSERT INTO things (id, name) VALUES (1, 'one'); INSERT INTO things (id, name) VALUES (2, 'two');",
	"0003_colour.sql":      "ALTER TABLE things ADD COLUMN colour TEXT NOT NULL DEFAULT 'red';",
}

func TestLoad(t *testing.T) {
	ms, err := migrate.Load(files(three), "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].File() != "0001_things.sql" || ms[2].Name != "colour" || len(ms[1].Checksum) != 64 {
		t.Fatalf("loaded %+v", ms)
	}
	for name, set := range map[string]map[string]string{
		"a gap":        {"0001_a.sql": "", "0003_c.sql": ""},
		"not from one": {"0002_b.sql": ""},
		"a stray file": {"0001_a.sql": "", "README.md": ""},
		"a bad name":   {"0001_A.sql": ""},
		"none":         {},
	} {
		if _, err := migrate.Load(files(set), "m"); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

// each runs fn on a fresh SQLite database and, when the suite has one, a
// PostgreSQL schema.
func each(t *testing.T, fn func(t *testing.T, open func() *sql.DB, d migrate.Dialect)) {
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		dsn := b.DSN(t)
		driver, d := "sqlite3", migrate.SQLite
		if b.Name == "postgres" {
			driver, d = "pgx", migrate.Postgres
		} else {
			if err := os.MkdirAll(filepath.Dir(dsn), 0o700); err != nil {
				t.Fatal(err)
			}
			dsn = "file:" + dsn + "?_txlock=immediate&_busy_timeout=5000"
		}
		open := func() *sql.DB {
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		fn(t, open, d)
	})
}

func load(t *testing.T, m map[string]string) []migrate.Migration {
	t.Helper()
	ms, err := migrate.Load(files(m), "m")
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

var clock = func() time.Time { return time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) }

func TestApply(t *testing.T) {
	ctx := context.Background()
	each(t, func(t *testing.T, open func() *sql.DB, d migrate.Dialect) {
		db := open()
		first := load(t, map[string]string{"0001_things.sql": three["0001_things.sql"]})
		applied, err := migrate.New(db, d, first, clock).Apply(ctx)
		if err != nil || len(applied) != 1 {
			t.Fatalf("apply the first = %v, %v", applied, err)
		}
		all := load(t, three)
		m := migrate.New(db, d, all, clock)
		r, err := m.Report(ctx)
		if err != nil || !r.Versioned || len(r.Pending()) != 2 || r.Pending()[0].Version != 2 {
			t.Fatalf("report = %+v, %v", r, err)
		}
		applied, err = m.Apply(ctx)
		if err != nil || len(applied) != 2 || applied[0].Version != 2 || applied[1].Version != 3 {
			t.Fatalf("apply the rest = %v, %v", applied, err)
		}
		var colours int
		if err := db.QueryRow("SELECT COUNT(*) FROM things WHERE colour = 'red'").Scan(&colours); err != nil || colours != 2 {
			t.Fatalf("rows after the migrations: %d, %v", colours, err)
		}
		r, _ = m.Report(ctx)
		for _, s := range r.States {
			if !s.Applied || !s.AppliedAt.Equal(clock()) || s.Recorded != "" {
				t.Fatalf("state %+v", s)
			}
		}
		if applied, err := m.Apply(ctx); err != nil || len(applied) != 0 {
			t.Fatalf("apply again = %v, %v; want nothing", applied, err)
		}

		// An older binary refuses the database a newer one migrated.
		if _, err := migrate.New(db, d, first, clock).Apply(ctx); !errors.Is(err, migrate.ErrRefused) || !strings.Contains(err.Error(), "newer version") {
			t.Fatalf("older binary: %v", err)
		}
		// A file changed after it was applied is refused, and named.
		edited := map[string]string{}
		for k, v := range three {
			edited[k] = v
		}
		edited["0002_more_things.sql"] += " -- edited"
		_, err = migrate.New(db, d, load(t, edited), clock).Apply(ctx)
		if !errors.Is(err, migrate.ErrRefused) || !strings.Contains(err.Error(), "0002_more_things.sql was applied with checksum") {
			t.Fatalf("edited file: %v", err)
		}
	})
}

// TestApply_failureLeavesNothing: a migration that fails part-way leaves
// neither its changes nor its record, and those before it stay applied.
func TestApply_failureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	each(t, func(t *testing.T, open func() *sql.DB, d migrate.Dialect) {
		db := open()
		broken := map[string]string{
			"0001_things.sql": three["0001_things.sql"],
			"0002_half.sql":   "INSERT INTO things (id, name) VALUES (1, 'one'); INSERT INTO no_such_table VALUES (1);",
		}
		m := migrate.New(db, d, load(t, broken), clock)
		applied, err := m.Apply(ctx)
		if err == nil || !strings.Contains(err.Error(), "0002_half.sql") || len(applied) != 1 {
			t.Fatalf("apply = %v, %v; want 0001 applied and 0002 failed", applied, err)
		}
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM things").Scan(&n); err != nil || n != 0 {
			t.Fatalf("the failed migration left %d rows (%v)", n, err)
		}
		r, err := m.Report(ctx)
		if err != nil || len(r.Pending()) != 1 || r.Pending()[0].Version != 2 {
			t.Fatalf("report = %+v, %v", r, err)
		}
	})
}

// TestApply_concurrent: servers starting at once on one database apply
// each migration once; none fails.
func TestApply_concurrent(t *testing.T) {
	ctx := context.Background()
	each(t, func(t *testing.T, open func() *sql.DB, d migrate.Dialect) {
		ms := load(t, three)
		const servers = 4
		var wg sync.WaitGroup
		total := make(chan int, servers)
		for range servers {
			db := open()
			wg.Add(1)
			go func() {
				defer wg.Done()
				applied, err := migrate.New(db, d, ms, clock).Apply(ctx)
				if err != nil {
					t.Error(err)
				}
				total <- len(applied)
			}()
		}
		wg.Wait()
		close(total)
		sum := 0
		for n := range total {
			sum += n
		}
		if sum != len(ms) {
			t.Fatalf("%d migrations applied in all, want %d", sum, len(ms))
		}
	})
}
