package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/blob"
	"github.com/mla-flow/mla-flow/internal/blob/s3test"
)

// newS3 returns the Store on a fresh bucket of server, under a prefix.
func newS3(t *testing.T, server s3test.Server) *blob.S3 {
	t.Helper()
	o := server.Options(t)
	o.Prefix = "case/"
	s, err := blob.NewS3(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3_putOpenSeekDelete(t *testing.T) {
	s3test.Each(t, testPutOpenSeekDelete)
}

func testPutOpenSeekDelete(t *testing.T, server s3test.Server) {
	ctx := context.Background()
	s := newS3(t, server)
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
	s3test.Each(t, testFailedPutKeepsNothing)
}

func testFailedPutKeepsNothing(t *testing.T, server s3test.Server) {
	ctx := context.Background()
	s := newS3(t, server)
	if _, err := s.Put(ctx, "key02", &failing{after: 3}); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	if _, err := s.Open(ctx, "key02"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after a failed Put: %v, want ErrNotFound", err)
	}
}
