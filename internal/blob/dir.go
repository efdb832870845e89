package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Store keeps blobs by key. Keys are chosen by the caller and never reused.
type Store interface {
	// Put stores what r yields under key, streaming, and returns how many
	// bytes it stored. When it fails (r's error included), nothing is kept
	// under key.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the bytes stored under key; ErrNotFound when none.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	// Delete removes what is stored under key; nothing stored is no error.
	Delete(ctx context.Context, key string) error
}

// ErrNotFound is Open's error for a key with nothing stored.
var ErrNotFound = errors.New("blob not found")

// ErrBadKey refuses a key that is not 1 to 64 letters, digits, '-' or '_':
// a key becomes a file name, never a path.
var ErrBadKey = errors.New("blob key must be 1 to 64 letters, digits, '-' or '_'")

// Dir is a Store on a directory: each blob a file, in a subdirectory named
// after the key's last two characters so that no directory grows too
// large. A blob is written to a temporary file in the same directory,
// synced, and renamed into place, so that a crash leaves either the whole
// blob or none (and at worst a temporary file, which Put's callers never
// name).
type Dir struct {
	root string
}

var _ Store = (*Dir)(nil)

// NewDir returns the Store on the directory root, creating it (mode 0700:
// case documents are nobody else's business on the machine).
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	return &Dir{root: root}, nil
}

// Root is the directory the blobs are in.
func (d *Dir) Root() string { return d.root }

// Path is the file of a key's blob.
func (d *Dir) Path(key string) (string, error) {
	if !validKey(key) {
		return "", ErrBadKey
	}
	return filepath.Join(d.root, key[len(key)-min(2, len(key)):], key), nil
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Put streams r into the blob of key.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	path, err := d.Path(key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return 0, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	done = true
	if f, err := os.Open(dir); err == nil { // the rename itself survives a crash
		_ = f.Sync()
		f.Close()
	}
	return n, nil
}

// Open opens the blob of key.
func (d *Dir) Open(_ context.Context, key string) (io.ReadSeekCloser, error) {
	path, err := d.Path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Delete removes the blob of key.
func (d *Dir) Delete(_ context.Context, key string) error {
	path, err := d.Path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// ctxReader stops reading once ctx is done: an upload whose client has
// gone stops writing.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
