package audit

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a generated audit key and the least a key file
// must hold: HMAC-SHA256 gains nothing from more, and a shorter key would be
// the weakest link of the chain.
const KeySize = 32

// LoadOrCreateKey returns the audit key kept in the file at path, as hex
// text (surrounding white space ignored). When the file does not exist it
// creates it with KeySize random bytes, mode 0600, and its parent directory
// with mode 0700. A key shorter than KeySize bytes is refused.
//
// The file is written under a temporary name, synced, and then linked to
// path, which fails if path exists: two processes starting at once end up
// with the same key, and a crash never leaves a half-written key behind.
func LoadOrCreateKey(path string) ([]byte, error) {
	return LoadOrCreateKeyIf(path, func() error { return nil })
}

// LoadOrCreateKeyIf is LoadOrCreateKey, asking mayCreate first when the file
// does not exist: an error from it is returned, and no key is created. The
// server asks whether the database already holds a chain, which a new key
// could neither verify nor extend.
func LoadOrCreateKeyIf(path string, mayCreate func() error) ([]byte, error) {
	key, err := readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := mayCreate(); err != nil {
		return nil, err
	}
	if err := createKey(path); err != nil {
		return nil, err
	}
	return readKey(path)
}

func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read audit key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("audit key file %s: not hex: %w", path, err)
	}
	if len(key) < KeySize {
		return nil, fmt.Errorf("audit key file %s: the key has %d bytes, at least %d are needed", path, len(key), KeySize)
	}
	return key, nil
}

func createKey(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create audit key directory: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("generate audit key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".audit-key-*")
	if err != nil {
		return fmt.Errorf("create audit key: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the link, only the temporary name goes
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("create audit key: %w", err)
	}
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("write audit key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write audit key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write audit key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another process won the race; its key is the key
		}
		return fmt.Errorf("create audit key: %w", err)
	}
	// The key must survive a crash together with the entries sealed with it.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
