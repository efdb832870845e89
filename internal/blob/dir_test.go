package blob_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/blob"
)

func TestDir_putOpenDelete(t *testing.T) {
	ctx := context.Background()
	d, err := blob.NewDir(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Put(ctx, "key01", strings.NewReader("hello"))
	if err != nil || n != 5 {
		t.Fatalf("Put: %d, %v; want 5, nil", n, err)
	}
	f, err := d.Open(ctx, "key01")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello" {
		t.Errorf("Open read %q, want hello", b)
	}
	if err := d.Delete(ctx, "key01"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, "key01"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after Delete: %v, want ErrNotFound", err)
	}
	if err := d.Delete(ctx, "key01"); err != nil {
		t.Errorf("Delete twice: %v, want nil", err)
	}
}

type failing struct{ after int }

func (f *failing) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("broken client")
	}
	f.after--
	return copy(p, "data"), nil
}

func TestDir_failedPutKeepsNothing(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, _ := blob.NewDir(root)
	if _, err := d.Put(ctx, "key02", &failing{after: 3}); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	if _, err := d.Open(ctx, "key02"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after failed Put: %v, want ErrNotFound", err)
	}
	var files []string
	filepath.WalkDir(root, func(p string, e os.DirEntry, _ error) error {
		if !e.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

func TestDir_badKeys(t *testing.T) {
	d, _ := blob.NewDir(t.TempDir())
	for _, k := range []string{"", "../x", "a/b", strings.Repeat("a", 65), "a.b"} {
		if _, err := d.Put(context.Background(), k, strings.NewReader("x")); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Put(%q): %v, want ErrBadKey", k, err)
		}
	}
}
