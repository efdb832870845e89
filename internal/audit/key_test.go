package audit_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mla-flow/mla-flow/internal/audit"
)

func TestLoadOrCreateKey_creates(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "audit.key")
	key, err := audit.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != audit.KeySize {
		t.Fatalf("key has %d bytes, want %d", len(key), audit.KeySize)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("key file mode %o, want 600", mode)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if mode := di.Mode().Perm(); mode != 0o700 {
		t.Fatalf("key directory mode %o, want 700", mode)
	}
	again, err := audit.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, again) {
		t.Fatal("a second load returned another key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files, want only the key", len(entries))
	}
}

func TestLoadOrCreateKey_concurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = audit.LoadOrCreateKey(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatal("concurrent starts got different keys")
		}
	}
}

func TestLoadOrCreateKey_existing(t *testing.T) {
	t.Parallel()
	long := bytes.Repeat([]byte{0xab}, 48)
	tests := []struct {
		name    string
		content string
		want    []byte
		wantErr string
	}{
		{"32 bytes with newline", hex.EncodeToString(testKey) + "\n", testKey, ""},
		{"longer key", "  " + hex.EncodeToString(long) + "\r\n", long, ""},
		{"too short", hex.EncodeToString(testKey[:16]), nil, "at least 32"},
		{"empty", "", nil, "at least 32"},
		{"not hex", strings.Repeat("zz", 32), nil, "not hex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.key")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := audit.LoadOrCreateKey(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("key %x, want %x", got, tc.want)
			}
		})
	}
}
