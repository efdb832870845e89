package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/config"
	"github.com/mla-flow/mla-flow/internal/auth"
)

// TestConfig_defaultsAreAuths holds the settings' defaults, which config
// states as plain values (it is a leaf), equal to auth's own defaults, so
// that the server and a caller who gives no lifetime get the same.
func TestConfig_defaultsAreAuths(t *testing.T) {
	d := config.Defaults()
	if d.TokenTTL != auth.DefaultTokenLifetime {
		t.Errorf("config's token-ttl default %s, auth's %s", d.TokenTTL, auth.DefaultTokenLifetime)
	}
	if d.RefreshTTL != auth.DefaultRefreshLifetime {
		t.Errorf("config's refresh-ttl default %s, auth's %s", d.RefreshTTL, auth.DefaultRefreshLifetime)
	}
}

// TestRun_weakSecretStopsTheStart: the strength of a jwt-secret is auth's
// rule, applied to the settings before anything is opened: no database file
// is created, and the exit is a usage error's.
func TestRun_weakSecretStopsTheStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "mla.db")
	env := func(string) string { return "" }
	err := run(context.Background(), []string{"--db", db, "--jwt-secret", "short"}, env, nil, io.Discard, io.Discard)
	if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "jwt-secret") {
		t.Fatalf("run with a short secret: %v (exit %d), want a usage error about jwt-secret", err, exitCode(err))
	}
	if files, _ := filepath.Glob(filepath.Join(filepath.Dir(db), "*")); len(files) > 0 {
		t.Errorf("a refused start left %v", files)
	}
	strong := strings.Repeat("s", auth.MinSecretBytes)
	if err := auth.CheckSecret([]byte(strong)); err != nil {
		t.Errorf("a secret of %d bytes refused: %v", auth.MinSecretBytes, err)
	}
}
