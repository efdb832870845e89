package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/mla-flow/mla-flow/internal/blob"
)

// newFakeS3 starts an in-process S3-compatible server on loopback with
// one bucket (gofakes3, in memory), and returns the Store on it.
func newFakeS3(t *testing.T) *blob.S3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("documents"); err != nil {
		t.Fatal(err)
	}
	// Over TLS, as a real store is reached: the client then sends the
	// payload unsigned, in plain parts, which the fake understands.
	srv := httptest.NewTLSServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	s, err := blob.NewS3(context.Background(), blob.S3Options{
		Endpoint: u.Host, Bucket: "documents", Prefix: "case/", AccessKey: "test", SecretKey: "test-secret",
		Region: "us-east-1", Transport: srv.Client().Transport,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3_putOpenSeekDelete(t *testing.T) {
	ctx := context.Background()
	s := newFakeS3(t)
	// Larger than one part, so that the upload is a multipart one.
	content := bytes.Repeat([]byte("0123456789abcdef"), 7<<16)
	n, err := s.Put(ctx, "key01", io.MultiReader(bytes.NewReader(content)))
	if err != nil || n != int64(len(content)) {
		t.Fatalf("Put: %d, %v; want %d", n, err, len(content))
	}
	f, err := s.Open(ctx, "key01")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	if !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes, not the content", len(got))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	again, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(again, content) {
		t.Error("after Seek(0) the content reads differently")
	}
	if err := s.Delete(ctx, "key01"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "key01"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "key01"); err != nil {
		t.Errorf("Delete twice: %v", err)
	}
	if _, err := s.Put(ctx, "../x", strings.NewReader("x")); !errors.Is(err, blob.ErrBadKey) {
		t.Errorf("Put of a bad key: %v, want ErrBadKey", err)
	}
}

func TestS3_failedPutKeepsNothing(t *testing.T) {
	ctx := context.Background()
	s := newFakeS3(t)
	if _, err := s.Put(ctx, "key02", &failing{after: 3}); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	if _, err := s.Open(ctx, "key02"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after a failed Put: %v, want ErrNotFound", err)
	}
}
