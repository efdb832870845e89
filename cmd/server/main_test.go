package main

import (
	"database/sql"

	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/testdb"
)

// lines collects what a server prints and lets a test wait for a line.
type lines struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen chan string
}

func newLines() *lines { return &lines{seen: make(chan string, 1000)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(l.buf.Next(i + 1))
		select {
		case l.seen <- strings.TrimRight(line, "\n"):
		default:
		}
	}
}

var listening = regexp.MustCompile(`listening on (https?://\S+)`)

// waitURL waits for the server's "listening on" line and returns its URL.
func (l *lines) waitURL(tb testing.TB) (string, []string) {
	tb.Helper()
	var before []string
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line := <-l.seen:
			if m := listening.FindStringSubmatch(line); m != nil {
				return m[1], before
			}
			before = append(before, line)
		case <-deadline:
			tb.Fatalf("server did not start; it printed %q", before)
		}
	}
}

// startInProcess runs the real program in-process on a free port.
func startInProcess(tb testing.TB, args ...string) (url string, printed []string, stop func()) {
	tb.Helper()
	return startInProcessLogging(tb, io.Discard, args...)
}

// startInProcessLogging is startInProcess with the server's log written to
// logs.
func startInProcessLogging(tb testing.TB, logs io.Writer, args ...string) (url string, printed []string, stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := newLines()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), func(string) string { return "" },
			strings.NewReader(""), out, logs)
	}()
	url, printed = out.waitURL(tb)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("server stopped with %v", err)
		}
	}
	tb.Cleanup(stop)
	return url, printed, stop
}

type client struct {
	tb    testing.TB
	base  string
	token string
}

func (c *client) call(method, path string, body any) (int, map[string]any) {
	c.tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func login(tb testing.TB, base, username string) *client {
	tb.Helper()
	c := &client{tb: tb, base: base}
	status, out := c.call("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": "demo-pass"})
	if status != 200 {
		tb.Fatalf("login %s: %d %v", username, status, out)
	}
	c.token = out["access_token"].(string)
	return c
}

func (c *client) must(want int, method, path string, body any) map[string]any {
	c.tb.Helper()
	status, out := c.call(method, path, body)
	if status != want {
		c.tb.Fatalf("%s %s: got %d %v, want %d", method, path, status, out, want)
	}
	return out
}

// walk drives one request from draft to executed through the API and
// returns its id.
func walk(tb testing.TB, base string) string {
	officer := login(tb, base, "it.officer")
	supervisor := login(tb, base, "it.supervisor")
	esOfficer := login(tb, base, "es.officer")
	esSupervisor := login(tb, base, "es.supervisor")
	r := officer.must(201, "POST", "/api/v1/requests", map[string]any{
		"kind": "mla", "requested_authority": "ES", "title": "Bank records of Rossi S.r.l.",
	})
	id := r["id"].(string)
	supervisor.must(200, "POST", "/api/v1/requests/"+id+"/events", map[string]any{"event": "send"})
	esOfficer.must(200, "POST", "/api/v1/requests/"+id+"/events", map[string]any{"event": "acknowledge"})
	out := esSupervisor.must(200, "POST", "/api/v1/requests/"+id+"/events", map[string]any{"event": "execute", "comment": "Records returned"})
	if out["state"] != "executed" {
		tb.Fatalf("state %v, want executed", out["state"])
	}
	return id
}

func TestRun_demoLifecycleAndRestart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		dir := t.TempDir()
		db := b.DSN(t)
		args := []string{"--demo", "--db", db}
		if b.Name == "postgres" {
			args = append(args, "--audit-key-file", filepath.Join(dir, "audit.key"))
		}
		url, printed, stop := startInProcess(t, args...)
		joined := strings.Join(printed, "\n")
		for _, want := range []string{"it.officer", "th.auditor", "admin", "trainer", "demo-pass"} {
			if !strings.Contains(joined, want) {
				t.Errorf("start-up output lacks %q:\n%s", want, joined)
			}
		}
		id := walk(t, url)
		stop()

		if b.Name == "sqlite" {
			if _, err := os.Stat(filepath.Join(filepath.Dir(db), "audit.key")); err != nil {
				t.Errorf("audit key beside the database: %v", err)
			}
		}
		url, printed, _ = startInProcess(t, args...)
		if strings.Contains(strings.Join(printed, "\n"), "demo-pass") {
			t.Errorf("demo world seeded twice")
		}
		out := login(t, url, "es.auditor").must(200, "GET", "/api/v1/requests/"+id, nil)
		if out["state"] != "executed" {
			t.Errorf("after restart state %v, want executed", out["state"])
		}
		v := login(t, url, "admin").must(200, "GET", "/api/v1/audit/verify", nil)
		if v["ok"] != true {
			t.Errorf("audit verify after restart: %v", v)
		}
	})
}

func TestRun_subcommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "mla.db")
	ctx := context.Background()
	env := func(string) string { return "" }
	var stdout, stderr bytes.Buffer

	// user add with a password from standard input, then log in with it.
	err := run(ctx, []string{"user", "add", "--db", db, "--username", "ng.clerk", "--role", "officer", "--authority", "NG", "--password-stdin"},
		env, strings.NewReader("correct horse battery\n"), &stdout, &stderr)
	if err != nil {
		t.Fatalf("user add: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stdout.String(), "correct horse") {
		t.Errorf("user add printed the password")
	}
	err = run(ctx, []string{"user", "add", "--db", db, "--username", "ng.clerk", "--role", "officer", "--authority", "NG"},
		env, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil {
		t.Errorf("user add of a taken name succeeded")
	}
	// The password policy applies on the command line too.
	for _, weak := range []string{"short pw", "password1234", "ng.clerk2 is me"} {
		err = run(ctx, []string{"user", "add", "--db", db, "--username", "ng.clerk2", "--role", "officer", "--authority", "NG", "--password-stdin"},
			env, strings.NewReader(weak+"\n"), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--password") {
			t.Errorf("user add with the password %q: %v, want refused naming --password", weak, err)
		}
	}
	// A generated password passes it, and is printed once.
	stdout.Reset()
	err = run(ctx, []string{"user", "add", "--db", db, "--username", "ng.clerk2", "--role", "officer", "--authority", "NG"},
		env, strings.NewReader(""), &stdout, io.Discard)
	if err != nil || !regexp.MustCompile(`password: [0-9a-f]{24}\n`).MatchString(stdout.String()) {
		t.Errorf("user add with a generated password: %v, printed %q", err, stdout.String())
	}
	for _, bad := range [][]string{
		{"--username", "x1", "--role", "officer", "--authority", "NG"},      // too short
		{"--username", "ok.name", "--role", "emperor"},                      // unknown role
		{"--username", "ok.name", "--role", "officer"},                      // no authority
		{"--username", "ok.name", "--role", "officer", "--authority", "ZZ"}, // unknown authority
		{"--username", "ok.name", "--role", "admin", "--authority", "IT"},   // admin has none
	} {
		if err := run(ctx, append([]string{"user", "add", "--db", db}, bad...), env, strings.NewReader(""), io.Discard, io.Discard); err == nil {
			t.Errorf("user add %v succeeded", bad)
		}
	}

	url, _, stop := startInProcess(t, "--db", db)
	c := &client{tb: t, base: url}
	status, out := c.call("POST", "/api/v1/auth/login", map[string]string{"username": "ng.clerk", "password": "correct horse battery"})
	if status != 200 {
		t.Fatalf("login as the new user: %d %v", status, out)
	}
	stop()

	stdout.Reset()
	if err := run(ctx, []string{"audit", "verify", "--db", db}, env, nil, &stdout, &stderr); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, stdout.String())
	}
	if !regexp.MustCompile(`entries: [1-9]`).MatchString(stdout.String()) || !strings.Contains(stdout.String(), "head: ") {
		t.Errorf("audit verify printed %q", stdout.String())
	}

	backup := filepath.Join(dir, "copy.db")
	if err := run(ctx, []string{"backup", "--db", db, "--out", backup}, env, nil, io.Discard, &stderr); err != nil {
		t.Fatalf("backup: %v", err)
	}
	stdout.Reset()
	if err := run(ctx, []string{"audit", "verify", "--db", backup, "--audit-key-file", filepath.Join(dir, "audit.key")}, env, nil, &stdout, io.Discard); err != nil {
		t.Fatalf("verify the backup: %v\n%s", err, stdout.String())
	}
	if err := run(ctx, []string{"backup", "--db", db, "--out", backup}, env, nil, io.Discard, io.Discard); err == nil {
		t.Errorf("backup over an existing file succeeded")
	}
	// Editing one entry with raw SQL breaks the chain at that entry, and
	// verify names it.
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit_entries SET actor = 'someone.else' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	stdout.Reset()
	err = run(ctx, []string{"audit", "verify", "--db", db}, env, nil, &stdout, io.Discard)
	if exitCode(err) != 3 || !strings.Contains(stdout.String(), "BROKEN at entry 2") {
		t.Errorf("verify after tampering: %v (exit %d), printed %q; want exit 3 naming entry 2", err, exitCode(err), stdout.String())
	}

	// A wrong key cannot verify the chain: it exits with the broken-chain code.
	other := filepath.Join(dir, "other.key")
	if err := os.WriteFile(other, []byte(strings.Repeat("cd", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"audit", "verify", "--db", db, "--audit-key-file", other}, env, nil, io.Discard, io.Discard)
	if exitCode(err) != 3 {
		t.Errorf("verify with another key: %v (exit %d), want exit 3", err, exitCode(err))
	}
	// A missing key file is not replaced by a new key on a database that
	// has a chain.
	missing := filepath.Join(dir, "missing.key")
	err = run(ctx, []string{"audit", "verify", "--db", db, "--audit-key-file", missing}, env, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already holds an audit chain") {
		t.Errorf("verify without the key file: %v, want refused", err)
	}
}

// TestRun_keysRotate rotates the signing key under a running server: its
// tokens keep working, and it accepts tokens of the new key at once,
// without a restart.
func TestRun_keysRotate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "mla.db")
	url, _, stop := startInProcess(t, "--demo", "--db", db)
	defer stop()
	before := login(t, url, "it.officer")
	oldKid := jwtKid(t, before.token)

	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"keys", "rotate", "--db", db}, func(string) string { return "" },
		nil, &stdout, io.Discard); err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	m := regexp.MustCompile(`new signing key (key-[0-9a-f]+)`).FindStringSubmatch(stdout.String())
	if m == nil || m[1] == oldKid {
		t.Fatalf("keys rotate printed %q", stdout.String())
	}
	before.must(200, "GET", "/api/v1/me", nil)

	// A token of the new key (made here with its secret, read with the
	// audit key as another server would) is accepted by the running server
	// at once. The database alone does not give the secret away.
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	err = raw.QueryRow("SELECT secret || sealed_secret FROM signing_keys WHERE id = ?", m[1]).Scan(&stored)
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hex.DecodeString(stored); err == nil {
		t.Fatalf("the database holds the signing secret in the clear: %q", stored)
	}
	key, err := audit.LoadOrCreateKey(filepath.Join(dir, "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	tool, err := store.Open(context.Background(), store.Options{DSN: db, AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := tool.SigningKeys(context.Background())
	tool.Close()
	if err != nil {
		t.Fatal(err)
	}
	var secret []byte
	for _, k := range ring {
		if k.ID == m[1] {
			secret = k.Secret
		}
	}
	header, payload, _ := strings.Cut(before.token, ".")
	payload, _, _ = strings.Cut(payload, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(header)
	hdr = bytes.Replace(hdr, []byte(oldKid), []byte(m[1]), 1)
	signed := base64.RawURLEncoding.EncodeToString(hdr) + "." + payload
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signed))
	forged := &client{tb: t, base: url, token: signed + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))}
	forged.must(200, "GET", "/api/v1/me", nil)

	v := login(t, url, "admin").must(200, "GET", "/api/v1/audit?action=auth.key_rotate", nil)
	if items, _ := v["items"].([]any); len(items) != 1 {
		t.Fatalf("rotation audit %v", v)
	}
}

// jwtKid returns the key id of a JWT's header.
func jwtKid(tb testing.TB, token string) string {
	tb.Helper()
	header, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		tb.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.Kid == "" {
		tb.Fatalf("token header %s: no kid", raw)
	}
	return h.Kid
}

func TestRun_help(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"user", "add", "--help"}, {"audit", "verify", "--help"}, {"backup", "--help"}, {"keys", "rotate", "--help"}, {"help"}} {
		var stdout bytes.Buffer
		if err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, io.Discard); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(stdout.String(), "-") {
			t.Errorf("%v printed no help: %q", args, stdout.String())
		}
	}
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, nil, io.Discard, io.Discard); exitCode(err) != 2 {
		t.Errorf("unknown command: %v", err)
	}
	// The top-level help lists the commands and serving's flags, with the
	// defaults of those that have one.
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, nil, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server seed", "-addr", "(default :8080)", "(default data/mla.db)", "(default 15m0s)", "(default true)", "-demo"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("server --help lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestRun_seedTwice seeds one database twice: the second run continues
// the reference numbers instead of failing on the first one taken, and the
// audit chain verifies with both bodies.
func TestRun_seedTwice(t *testing.T) {
	db := filepath.Join(t.TempDir(), "mla.db")
	env := func(string) string { return "" }
	for run_ := range 2 {
		var stdout bytes.Buffer
		if err := run(context.Background(), []string{"seed", "--db", db, "--requests", "150"}, env, nil, &stdout, io.Discard); err != nil {
			t.Fatalf("seed run %d: %v\n%s", run_+1, err, stdout.String())
		}
	}
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--db", db}, env, nil, &stdout, io.Discard); err != nil {
		t.Fatalf("verify after two seeds: %v\n%s", err, stdout.String())
	}
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n, distinct int
	if err := raw.QueryRow("SELECT COUNT(*), COUNT(DISTINCT reference) FROM requests").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != 300 || distinct != 300 {
		t.Fatalf("%d requests with %d references, want 300 of each", n, distinct)
	}
}

// TestServer_survivesKill9 builds the real binary, drives requests through
// it, kills it with SIGKILL, and checks that every answered change is there
// after a restart and that the audit chain verifies.
func TestServer_survivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildServer(t)
	db := filepath.Join(t.TempDir(), "mla.db")
	start := func() (*exec.Cmd, string) { return startBinary(t, bin, "--demo", "--db", db) }
	cmd, url := start()
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, walk(t, url))
	}
	officer := login(t, url, "it.officer")
	draft := officer.must(201, "POST", "/api/v1/requests", map[string]any{"kind": "extradition", "requested_authority": "TH", "title": "Surrender of M.R."})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	_, url = start()
	es := login(t, url, "es.officer")
	for _, id := range ids {
		if out := es.must(200, "GET", "/api/v1/requests/"+id, nil); out["state"] != "executed" {
			t.Errorf("request %s is %v after kill -9, want executed", id, out["state"])
		}
	}
	login(t, url, "it.officer").must(200, "GET", fmt.Sprintf("/api/v1/requests/%s", draft["id"]), nil)
	if v := login(t, url, "admin").must(200, "GET", "/api/v1/audit/verify", nil); v["ok"] != true {
		t.Errorf("audit chain after kill -9: %v", v)
	}
}

// buildServer builds the real binary once per test.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startBinary starts the built server on a free loopback port and returns
// it with its URL; the process is killed when the test ends.
func startBinary(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stdout)
			return cmd, m[1]
		}
	}
	t.Fatalf("server did not start")
	return nil, ""
}
