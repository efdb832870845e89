// Package testdb gives tests a fresh, empty database on every backend the
// suite runs on: a SQLite file in the test's temporary directory always,
// and a schema of its own on the PostgreSQL server named by
// MLA_TEST_POSTGRES_URL when that is set (CI always sets it). It is for
// tests only.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable that, set to a PostgreSQL URL, makes the
// store, API and end-to-end tests run on PostgreSQL too.
const PostgresEnv = "MLA_TEST_POSTGRES_URL"

// Backend is one kind of database a test can run on.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// DSN returns the address of a fresh, empty database, removed when the
	// test ends.
	DSN func(tb testing.TB) string
}

// SQLite is the backend every test runs on.
var SQLite = Backend{Name: "sqlite", DSN: func(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "data", "mla.db")
}}

// Backends lists SQLite, and PostgreSQL when MLA_TEST_POSTGRES_URL is set.
func Backends() []Backend {
	out := []Backend{SQLite}
	if base := os.Getenv(PostgresEnv); base != "" {
		out = append(out, Backend{Name: "postgres", DSN: func(tb testing.TB) string { return PostgresSchema(tb, base) }})
	}
	return out
}

// Each runs fn as one subtest per backend, named after it.
func Each(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// PostgresSchema creates a schema of its own for the test on the server at
// base and returns a URL whose search_path selects it, so that tests running
// at once on one server never see each other's tables. The schema is
// dropped when the test ends; cleanups run last-in first-out, so after the
// stores the test opened on it are closed.
func PostgresSchema(tb testing.TB, base string) string {
	tb.Helper()
	ctx := context.Background()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema on %s: %v", PostgresEnv, err)
	}
	tb.Cleanup(func() {
		if err := exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
