package store

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/audit"
)

func TestSQLiteDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, want string
	}{
		{"plain", "/var/lib/mla/mla.db", "file:///var/lib/mla/mla.db?x=1"},
		{"space", "/data dir/mla.db", "file:///data%20dir/mla.db?x=1"},
		{"uri syntax in name", "/d/a?b#c%d.db", "file:///d/a%3Fb%23c%25d.db?x=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqliteDSN(tc.path, "x=1")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("sqliteDSN(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

// TestSQLite_connections checks that the DSN parameters reach SQLite on the
// writer and on every reader: the durability and locking rules depend on
// them, and a typo in a parameter name is silently ignored by the driver.
func TestSQLite_connections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A name full of URI syntax proves the escaping end to end.
	path := filepath.Join(t.TempDir(), "odd dir?#%", "mla.db")
	s, err := Open(ctx, Options{DSN: path, AuditKey: bytes.Repeat([]byte{1}, audit.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	checks := []struct {
		pragma, writer, reader string
	}{
		{"journal_mode", "wal", "wal"},
		{"synchronous", "2", ""}, // FULL; readers never commit
		{"foreign_keys", "1", "1"},
		{"busy_timeout", "5000", "5000"},
		{"query_only", "0", "1"},
		{"temp_store", "2", ""}, // MEMORY: the savepoints' journals
	}
	wdb, _ := s.w.DB()
	rdb, _ := s.r.DB()
	var schema []string
	s.w.Raw("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL").Scan(&schema)
	t.Log(strings.Join(schema, "\n"))
	if got := wdb.Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("writer pool allows %d connections, want 1", got)
	}
	// Hold several readers at once, so that more than one connection of the
	// pool is checked.
	var conns []interface{ Close() error }
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, c := range checks {
		var got string
		if err := wdb.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.writer {
			t.Errorf("writer: PRAGMA %s = %s, want %s", c.pragma, got, c.writer)
		}
	}
	for i := range readerConns {
		conn, err := rdb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		for _, c := range checks {
			if c.reader == "" {
				continue
			}
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.reader {
				t.Errorf("reader %d: PRAGMA %s = %s, want %s", i, c.pragma, got, c.reader)
			}
		}
		_, err = conn.ExecContext(ctx, "INSERT INTO settings (name, value) VALUES ('x', 'y')")
		if err == nil || !strings.Contains(err.Error(), "readonly") {
			t.Errorf("reader %d accepted a write (err %v)", i, err)
		}
	}
}
