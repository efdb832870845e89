package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return Load(fs, args, func(k string) string { return env[k] })
}

func TestLoad_precedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mla.yaml")
	if err := os.WriteFile(file, []byte("addr: \":7000\"\ndb: from-file.db\ntoken_ttl: 30m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantAddr string
		wantDB   string
		wantTTL  time.Duration
		wantDemo bool
		wantKey  string
	}{
		{name: "defaults", wantAddr: ":8080", wantDB: "data/mla.db", wantTTL: 15 * time.Minute, wantKey: "data/audit.key"},
		{name: "file", args: []string{"--config", file}, wantAddr: ":7000", wantDB: "from-file.db", wantTTL: 30 * time.Minute, wantKey: "audit.key"},
		{name: "env over file", args: []string{"--config", file}, env: map[string]string{"MLA_ADDR": ":7100", "MLA_DEMO": "1"},
			wantAddr: ":7100", wantDB: "from-file.db", wantTTL: 30 * time.Minute, wantDemo: true, wantKey: "audit.key"},
		{name: "flag over env", args: []string{"--addr", ":7200", "--demo", "--db", "/x/y.db"}, env: map[string]string{"MLA_ADDR": ":7100"},
			wantAddr: ":7200", wantDB: "/x/y.db", wantTTL: 15 * time.Minute, wantDemo: true, wantKey: "/x/audit.key"},
		{name: "env config file", env: map[string]string{"MLA_CONFIG": file}, wantAddr: ":7000", wantDB: "from-file.db", wantTTL: 30 * time.Minute, wantKey: "audit.key"},
		{name: "postgres key default", args: []string{"--db", "postgres://u:p@127.0.0.1/mla"}, wantAddr: ":8080",
			wantDB: "postgres://u:p@127.0.0.1/mla", wantTTL: 15 * time.Minute, wantKey: "data/audit.key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Addr != tc.wantAddr || c.DB != tc.wantDB || c.TokenTTL != tc.wantTTL || c.Demo != tc.wantDemo || c.AuditKeyFile != tc.wantKey {
				t.Errorf("got addr=%s db=%s ttl=%s demo=%t key=%s; want addr=%s db=%s ttl=%s demo=%t key=%s",
					c.Addr, c.DB, c.TokenTTL, c.Demo, c.AuditKeyFile, tc.wantAddr, tc.wantDB, tc.wantTTL, tc.wantDemo, tc.wantKey)
			}
		})
	}
}

func TestLoad_rejectsBadSettings(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.yaml")
	os.WriteFile(unknown, []byte("adress: \":1\"\n"), 0o600)
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{name: "bad ttl", env: map[string]string{"MLA_TOKEN_TTL": "forever"}},
		{name: "ttl too long", args: []string{"--token-ttl", "720h"}},
		{name: "bad demo", env: map[string]string{"MLA_DEMO": "maybe"}},
		{name: "unknown yaml key", args: []string{"--config", unknown}},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "nope.yaml")}},
		{name: "bad log format", args: []string{"--log-format", "xml"}},
		{name: "refresh ttl too short", args: []string{"--refresh-ttl", "1m"}},
		{name: "refresh ttl not longer than token ttl", args: []string{"--token-ttl", "2h", "--refresh-ttl", "2h"}},
		{name: "refresh ttl not a duration", env: map[string]string{"MLA_REFRESH_TTL": "a day"}},
		{name: "debug listener off loopback", args: []string{"--debug-addr", "0.0.0.0:6060"}},
		{name: "debug listener on all interfaces", args: []string{"--debug-addr", ":6060"}},
		{name: "debug listener without port", env: map[string]string{"MLA_DEBUG_ADDR": "127.0.0.1"}},
		{name: "unknown flag", args: []string{"--nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := load(t, tc.args, tc.env); err == nil {
				t.Errorf("Load succeeded, want an error")
			}
		})
	}
}

func TestString_masksSecrets(t *testing.T) {
	c, err := load(t, []string{"--db", "postgres://mla:hunter2@127.0.0.1/mla", "--jwt-secret", strings.Repeat("s", 40)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if strings.Contains(s, "hunter2") || strings.Contains(s, "sssss") {
		t.Errorf("String() leaks a secret: %s", s)
	}
}

func TestExampleFileLoads(t *testing.T) {
	if _, err := load(t, []string{"--config", "mla.example.yaml"}, nil); err != nil {
		t.Fatalf("example config: %v", err)
	}
}

func TestLoad_debugAddr(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0"} {
		c, err := load(t, []string{"--debug-addr", addr}, nil)
		if err != nil || c.DebugAddr != addr {
			t.Errorf("--debug-addr %s: got %q, %v", addr, c.DebugAddr, err)
		}
	}
	c, err := load(t, nil, nil)
	if err != nil || c.DebugAddr != "" {
		t.Errorf("default debug-addr %q, %v; want off", c.DebugAddr, err)
	}
}

func TestLoad_refreshTTL(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.RefreshTTL != 8*time.Hour {
		t.Errorf("default refresh-ttl %s, %v; want 8h", c.RefreshTTL, err)
	}
	c, err = load(t, []string{"--refresh-ttl", "12h"}, map[string]string{"MLA_REFRESH_TTL": "1h"})
	if err != nil || c.RefreshTTL != 12*time.Hour {
		t.Errorf("flag over env: refresh-ttl %s, %v; want 12h", c.RefreshTTL, err)
	}
	c, err = load(t, nil, map[string]string{"MLA_REFRESH_TTL": "90m"})
	if err != nil || c.RefreshTTL != 90*time.Minute {
		t.Errorf("env: refresh-ttl %s, %v; want 1h30m", c.RefreshTTL, err)
	}
}

func TestLoad_verifyAuditAndTLS(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || !c.VerifyAudit || c.TLSCert != "" {
		t.Fatalf("defaults: %+v, %v; want verify-audit on, TLS off", c, err)
	}
	c, err = load(t, []string{"--verify-audit=false", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, nil)
	if err != nil || c.VerifyAudit || c.TLSCert != "c.pem" || c.TLSKey != "k.pem" {
		t.Fatalf("flags: %+v, %v", c, err)
	}
	if c, err = load(t, nil, map[string]string{"MLA_VERIFY_AUDIT": "0"}); err != nil || c.VerifyAudit {
		t.Fatalf("env: %+v, %v", c, err)
	}
	if _, err := load(t, []string{"--tls-cert", "c.pem"}, nil); err == nil {
		t.Errorf("a certificate without a key was accepted")
	}
}

func TestLoad_documents(t *testing.T) {
	c, err := load(t, []string{"--db", filepath.Join("srv", "mla.db")}, nil)
	if err != nil || c.DocumentsDir != filepath.Join("srv", "documents") || c.MaxDocument != 25<<20 {
		t.Errorf("defaults: dir %q, max %d, %v; want documents beside the database, 25 MiB", c.DocumentsDir, c.MaxDocument, err)
	}
	c, err = load(t, []string{"--db", "postgres://mla@127.0.0.1/mla"}, nil)
	if err != nil || c.DocumentsDir != filepath.Join("data", "documents") {
		t.Errorf("PostgreSQL default dir %q, %v; want data/documents", c.DocumentsDir, err)
	}
	c, err = load(t, []string{"--max-document", "10MiB", "--documents-s3-endpoint", "127.0.0.1:9000",
		"--documents-s3-bucket", "docs", "--documents-s3-secret-key", "hunter2hunter2"}, nil)
	if err != nil || c.MaxDocument != 10<<20 || c.DocumentsS3.Bucket != "docs" {
		t.Fatalf("got max %d, bucket %q, %v", c.MaxDocument, c.DocumentsS3.Bucket, err)
	}
	if strings.Contains(c.String(), "hunter2") {
		t.Errorf("String() leaks the S3 secret key: %s", c)
	}
	for _, args := range [][]string{{"--max-document", "0"}, {"--max-document", "lots"}, {"--documents-s3-bucket", "docs"}} {
		if _, err := load(t, args, nil); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
