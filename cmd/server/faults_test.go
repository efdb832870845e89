package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testkit"
)

// TestServer_diskFull fills the filesystem under a running server: writes
// that cannot be recorded answer 503 in the contract's shape and leave no
// trace, reads go on, and once space returns writes succeed again and the
// audit chain verifies. The small filesystem is a tmpfs, which needs root
// (as CI runs); elsewhere the test says so and skips.
func TestServer_diskFull(t *testing.T) {
	dir := t.TempDir()
	mnt := filepath.Join(dir, "small")
	os.Mkdir(mnt, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small filesystem here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })

	url, _, stop := startInProcess(t, "--demo", "--db", filepath.Join(mnt, "mla.db"))
	officer := login(t, url, "it.officer")
	draft := func(i int) (int, map[string]any) {
		return officer.call("POST", "/api/v1/requests", map[string]any{
			"kind": "mla", "requested_authority": "ES", "title": fmt.Sprintf("Written on a full disk %d", i),
			"summary": strings.Repeat("The facts of the case. ", 400),
		})
	}
	if status, body := draft(0); status != http.StatusCreated {
		t.Fatalf("before filling: %d %v", status, body)
	}

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	var created []string
	var refused int
	for i := 1; i <= 300 && refused < 3; i++ {
		status, body := draft(i)
		switch status {
		case http.StatusCreated:
			created = append(created, body["id"].(string))
		case http.StatusServiceUnavailable:
			refused++
			if e, _ := body["error"].(map[string]any); e["code"] != "unavailable" || e["message"] == nil || e["message"] == "" {
				t.Errorf("503 answer %v, want the contract's error shape with code unavailable", body)
			}
		default:
			t.Fatalf("on a full disk: %d %v, want 201 or 503", status, body)
		}
	}
	if refused == 0 {
		t.Fatalf("%d drafts were accepted on a full disk and none refused", len(created))
	}
	// Those drafted here, not the demo cases.
	_, list := officer.call("GET", "/api/v1/requests?limit=200&q=Written+on+a+full+disk", nil)
	if n := len(list["items"].([]any)); n != 1+len(created) {
		t.Errorf("%d requests listed, want the %d answered 201: a refused one was kept, or an accepted one lost", n, 1+len(created))
	}

	os.Remove(filler)
	status, body := draft(1000)
	if status != http.StatusCreated {
		t.Fatalf("after space returned: %d %v, want 201", status, body)
	}
	if v := login(t, url, "admin").must(200, "GET", "/api/v1/audit/verify", nil); v["ok"] != true {
		t.Errorf("audit chain after the full disk: %v", v)
	}
	stop()
}

// fill writes to path until the filesystem is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	for _, size := range []int{4096, 512, 1} { // the last crumbs too
		for {
			if _, err := f.Write(chunk[:size]); err != nil {
				break
			}
		}
	}
	f.Sync()
}

// TestServer_brokenChainAtStart tampers with the audit log while the
// server is down: the next start says so loudly in the log, and /readyz
// answers 503 naming the entry, while /healthz stays 200.
func TestServer_brokenChainAtStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "mla.db")
	_, _, stop := startInProcess(t, "--demo", "--db", db)
	stop()
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit_entries SET outcome = 'denied' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	var logs testkit.SyncBuffer
	url, _, stop := startInProcessLogging(t, &logs, "--db", db)
	if !strings.Contains(logs.String(), "AUDIT CHAIN BROKEN") {
		t.Errorf("the start-up log does not report the broken chain:\n%s", logs.String())
	}
	c := &client{tb: t, base: url}
	status, body := c.call("GET", "/readyz", nil)
	if e, _ := body["error"].(map[string]any); status != http.StatusServiceUnavailable || e["code"] != "unavailable" ||
		!strings.Contains(fmt.Sprint(e["message"]), "entry 3") {
		t.Errorf("/readyz: %d %v, want 503 naming entry 3", status, body)
	}
	if status, _ := c.call("GET", "/healthz", nil); status != http.StatusOK {
		t.Errorf("/healthz: %d, want 200: the process still serves", status)
	}

	// Turned off, the start neither checks nor reports.
	stop() // one server per database file
	logs.Reset()
	url, _, _ = startInProcessLogging(t, &logs, "--db", db, "--verify-audit=false")
	if status, _ := (&client{tb: t, base: url}).call("GET", "/readyz", nil); status != http.StatusOK {
		t.Errorf("/readyz with verification off: %d, want 200", status)
	}
	if !strings.Contains(logs.String(), "not verified") {
		t.Errorf("the log does not say the chain went unverified:\n%s", logs.String())
	}
}

// TestServer_prunesEndedSessions starts a server on a database holding a
// session that expired two days ago: the server deletes it at start-up,
// says so in its log, and audits it.
func TestServer_prunesEndedSessions(t *testing.T) {
	db := filepath.Join(t.TempDir(), "mla.db")
	_, _, stop := startInProcess(t, "--demo", "--db", db)
	stop()
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	ended := time.Now().Add(-48 * time.Hour).UnixMicro()
	if _, err := raw.Exec(`INSERT INTO auth_sessions (id, user_id, created_at_us, expires_at_us, revoked_at_us, revoke_reason)
		SELECT 'ended-session', id, ?, ?, 0, '' FROM users WHERE username = 'it.officer'`, ended, ended); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	var logs testkit.SyncBuffer
	url, _, _ := startInProcessLogging(t, &logs, "--db", db)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "pruned ended sessions") {
		if time.Now().After(deadline) {
			t.Fatalf("no prune in the log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	status, body := login(t, url, "admin").call("GET", "/api/v1/audit?action=auth.prune", nil)
	if items, _ := body["items"].([]any); status != http.StatusOK || len(items) != 1 {
		t.Fatalf("audit of the prune: %d %v", status, body)
	}
}

// TestServer_oneServerPerFile starts a second server on the SQLite file of
// a running one, by its name and by other names of the same file: it must
// refuse to start, saying why, rather than write beside the first (whose
// writer and session cache assume they are alone). The command-line tools
// still run beside the server.
func TestServer_oneServerPerFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "mla.db")
	url, _, _ := startInProcess(t, "--demo", "--db", db)
	other := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	symlink, hardLink := filepath.Join(other, "symlink.db"), filepath.Join(dir, "hard.db")
	if err := os.Symlink(db, symlink); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(db, hardLink); err != nil {
		t.Fatal(err)
	}
	env := func(string) string { return "" }
	keyFile := filepath.Join(dir, "audit.key") // the server's, wherever the name is
	for _, name := range []string{db, symlink, hardLink} {
		// A server that wrongly starts serves until the deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := run(ctx, []string{"--db", name, "--audit-key-file", keyFile, "--addr", "127.0.0.1:0"},
			env, nil, io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "another server is using this database") {
			t.Errorf("second server on %s: %v, want refused with the reason", name, err)
		}
	}
	if err := os.Remove(hardLink); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--db", symlink, "--audit-key-file", keyFile},
		env, nil, io.Discard, &stderr); err != nil {
		t.Errorf("a command-line tool beside the server: %v\n%s", err, stderr.String())
	}
	if status, _ := (&client{tb: t, base: url}).call("GET", "/readyz", nil); status != http.StatusOK {
		t.Errorf("the first server after the attempt: /readyz %d, want 200", status)
	}
}

// TestServer_TLS serves over HTTPS with a certificate from the settings:
// answers carry HSTS, which plain HTTP must not.
func TestServer_TLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	url, _, _ := startInProcess(t, "--demo", "--db", filepath.Join(dir, "mla.db"), "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("listening on %s, want https", url)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := httpsClient.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("HSTS over TLS: %q", hsts)
	}
	if err := run(context.Background(), []string{"--db", filepath.Join(dir, "x.db"), "--tls-cert", cert, "--tls-key", cert},
		func(string) string { return "" }, nil, io.Discard, io.Discard); err == nil {
		t.Errorf("a certificate given as its own key was accepted")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mla-flow test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// TestServer_gracefulShutdown sends SIGTERM to the real server while
// requests are in flight: each one either completes with its answer, or
// fails at the connection without having been handled (refused, or reset
// while still in the kernel's accept queue when the listener closed) and
// then is not stored; none is cut off midway; the process exits cleanly
// with every answered change recorded.
func TestServer_gracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildServer(t)
	db := filepath.Join(t.TempDir(), "mla.db")
	cmd, url := startBinary(t, bin, "--demo", "--db", db)
	officer := login(t, url, "it.officer")

	var wg sync.WaitGroup
	var mu sync.Mutex
	var answered, unanswered []string
	var cut []error
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			for i := 0; ; i++ {
				b := fmt.Sprintf(`{"kind":"mla","requested_authority":"ES","title":"Shutdown %d-%d"}`, w, i)
				req, _ := http.NewRequest("POST", url+"/api/v1/requests", bytes.NewReader([]byte(b)))
				req.Header.Set("Authorization", "Bearer "+officer.token)
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					unanswered = append(unanswered, fmt.Sprintf("Shutdown %d-%d", w, i))
					mu.Unlock()
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				if err != nil || resp.StatusCode != http.StatusCreated {
					cut = append(cut, fmt.Errorf("%d %s %v", resp.StatusCode, body, err))
				} else {
					answered = append(answered, fmt.Sprintf("Shutdown %d-%d", w, i))
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	wg.Wait()
	if err != nil {
		t.Errorf("the server exited with %v after SIGTERM, want 0", err)
	}
	for _, e := range cut {
		t.Errorf("a request was cut off instead of finished or refused: %v", e)
	}
	if len(answered) == 0 {
		t.Fatal("no request was answered before the shutdown")
	}
	_, url = startBinary(t, bin, "--db", db)
	reader := login(t, url, "it.officer")
	titles := map[string]bool{}
	for path := "/api/v1/requests?limit=200"; path != ""; {
		_, page := reader.call("GET", path, nil)
		for _, it := range page["items"].([]any) {
			titles[it.(map[string]any)["title"].(string)] = true
		}
		path = ""
		if next, ok := page["next_cursor"].(string); ok {
			path = "/api/v1/requests?limit=200&cursor=" + next
		}
	}
	for _, title := range answered {
		if !titles[title] {
			t.Errorf("%q was answered 201 before the shutdown but is not stored", title)
		}
	}
	for _, title := range unanswered {
		if titles[title] {
			t.Errorf("%q got no answer but was stored: a request was cut off after it was handled", title)
		}
	}
	t.Logf("%d drafts answered before SIGTERM, all stored; %d unanswered, none stored", len(answered), len(unanswered))
}

// TestServer_auditKeyFailsClosed starts the server with the wrong audit key
// file, and with none, on a database that holds a chain: it must refuse to
// start, saying why, rather than write entries no key verifies; a missing
// key file is not replaced by a new key. With the right key it starts. On
// PostgreSQL the wrong key is a second server with a key file of its own.
func TestServer_auditKeyFailsClosed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, b testdb.Backend) {
		dir := t.TempDir()
		db, keyFile := filepath.Join(dir, "mla.db"), filepath.Join(dir, "audit.key")
		if b.Name != "sqlite" {
			db = b.DSN(t)
		}
		url, _, stop := startInProcess(t, "--demo", "--db", db, "--audit-key-file", keyFile)
		if b.Name == "sqlite" {
			stop() // one server per SQLite file; PostgreSQL's keeps serving
		}
		attempt := func(key string) error {
			return run(context.Background(), []string{"--db", db, "--addr", "127.0.0.1:0", "--audit-key-file", key},
				func(string) string { return "" }, nil, io.Discard, io.Discard)
		}

		other := filepath.Join(dir, "other.key")
		if err := os.WriteFile(other, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := attempt(other); err == nil || !strings.Contains(err.Error(), "does not verify the head") {
			t.Fatalf("start with the wrong key: %v, want refused", err)
		}

		missing := filepath.Join(dir, "missing.key")
		if err := attempt(missing); err == nil || !strings.Contains(err.Error(), "already holds an audit chain") {
			t.Fatalf("start without the key file: %v, want refused", err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a new key file was created beside a chain: %v", err)
		}

		if b.Name == "sqlite" {
			url, _, _ = startInProcess(t, "--db", db, "--audit-key-file", keyFile)
		}
		c := login(t, url, "admin")
		if v := c.must(http.StatusOK, "GET", "/api/v1/audit/verify", nil); v["ok"] != true {
			t.Fatalf("chain after the refused starts: %v", v)
		}
	})
}

// TestServer_requestTamperedWhileDown hands a draft to a third authority
// by raw SQL while the server is down: the chain itself is intact, so the
// server starts, and the replay of requests against the log, which runs in
// the background after the start, makes /readyz answer 503 naming it.
func TestServer_requestTamperedWhileDown(t *testing.T) {
	db := filepath.Join(t.TempDir(), "mla.db")
	url, _, stop := startInProcess(t, "--demo", "--db", db)
	draft := login(t, url, "it.officer").must(http.StatusCreated, "POST", "/api/v1/requests",
		map[string]any{"kind": "mla", "requested_authority": "ES", "title": "Bank records"})
	stop()
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE requests SET requested_authority = 'TH' WHERE id = ?`, draft["id"]); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	var logs testkit.SyncBuffer
	url, _, _ = startInProcessLogging(t, &logs, "--db", db)
	c := &client{tb: t, base: url}
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body := c.call("GET", "/readyz", nil)
		e, _ := body["error"].(map[string]any)
		if status == http.StatusServiceUnavailable && strings.Contains(fmt.Sprint(e["message"]), "requested authority is TH") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %v, want 503 naming the tampered request\n%s", status, body, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "AUDIT CHAIN BROKEN") || !strings.Contains(logs.String(), fmt.Sprint(draft["id"])) {
		t.Errorf("the log does not name the tampered request:\n%s", logs.String())
	}
}
