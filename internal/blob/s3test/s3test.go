// Package s3test gives tests the S3-compatible stores the suite runs on: an
// in-process fake (gofakes3, in memory) always, and a real S3 server when
// MLA_TEST_S3_URL names one (CI starts versitygw, an S3 gateway over a
// directory, with scripts/s3-test.sh). Each test gets a bucket of its
// own on the real server, so that tests run in parallel and leave nothing
// behind. It is for tests only.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/mla-flow/mla-flow/internal/blob"
)

// Env names the variable that, set to http://ACCESS:SECRET@HOST:PORT, makes
// the S3 tests run against that server too.
const Env = "MLA_TEST_S3_URL"

// Server is one S3-compatible store a test can run on.
type Server struct {
	Name string // "fake" or "server"
	// Options returns the options of a fresh, empty bucket on the server,
	// removed when the test ends.
	Options func(tb testing.TB) blob.S3Options
}

// Fake is the in-process fake, over TLS as a real store is reached: the
// client then sends the payload unsigned, in plain parts.
var Fake = Server{Name: "fake", Options: func(tb testing.TB) blob.S3Options {
	tb.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("documents"); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewTLSServer(gofakes3.New(backend).Server())
	tb.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return blob.S3Options{
		Endpoint: u.Host, Bucket: "documents", AccessKey: "test", SecretKey: "test-secret",
		Region: "us-east-1", Transport: srv.Client().Transport,
	}
}}

// Servers lists the fake, and the real server when MLA_TEST_S3_URL is set.
func Servers() []Server {
	out := []Server{Fake}
	if raw := os.Getenv(Env); raw != "" {
		out = append(out, Server{Name: "server", Options: func(tb testing.TB) blob.S3Options {
			tb.Helper()
			return bucketOn(tb, raw)
		}})
	}
	return out
}

// Each runs fn once per server, as a subtest named after it.
func Each(t *testing.T, fn func(t *testing.T, s Server)) {
	for _, s := range Servers() {
		t.Run(s.Name, func(t *testing.T) { fn(t, s) })
	}
}

// bucketOn makes a bucket of the test's own on the server at raw, and
// removes it, with what it holds, when the test ends.
func bucketOn(tb testing.TB, raw string) blob.S3Options {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || u.Host == "" {
		tb.Fatalf("%s must read http://ACCESS:SECRET@HOST:PORT, not %q", Env, raw)
	}
	secret, _ := u.User.Password()
	o := blob.S3Options{
		Endpoint: u.Host, AccessKey: u.User.Username(), SecretKey: secret, Region: "us-east-1",
		Insecure: u.Scheme == "http",
	}
	c, err := minio.New(o.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure: !o.Insecure, Region: o.Region})
	if err != nil {
		tb.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	o.Bucket = "test-" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if err := c.MakeBucket(ctx, o.Bucket, minio.MakeBucketOptions{Region: o.Region}); err != nil {
		tb.Fatalf("make bucket on %s: %v", u.Host, err)
	}
	tb.Cleanup(func() {
		for obj := range c.ListObjects(ctx, o.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				c.RemoveObject(ctx, o.Bucket, obj.Key, minio.RemoveObjectOptions{})
			}
		}
		if err := c.RemoveBucket(ctx, o.Bucket); err != nil {
			tb.Logf("remove bucket %s: %v", o.Bucket, err)
		}
	})
	return o
}
