package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Options say where an S3-compatible store is (AWS S3, MinIO, Ceph,
// Garage, ...) and how to sign in to it.
type S3Options struct {
	Endpoint  string // host:port
	Bucket    string
	Prefix    string // put before every key, e.g. "documents/"
	AccessKey string
	SecretKey string
	Region    string
	// Insecure speaks plain HTTP: for a store on the same machine or a
	// private network only.
	Insecure bool
	// Transport, when set, carries the requests (tests).
	Transport http.RoundTripper
}

// S3 is a Store in a bucket of an S3-compatible object store. An upload is
// streamed in parts of s3PartSize, so that a document of unknown length
// holds at most one part in memory; a failed upload is aborted by the
// client and leaves no object.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
}

var _ Store = (*S3)(nil)

// s3PartSize is the size of one part of a multipart upload: S3's minimum.
const s3PartSize = 5 << 20

// NewS3 returns the Store on the bucket, which must exist.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Secure: !o.Insecure,
		Region: o.Region, Transport: o.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 store: %w", err)
	}
	ok, err := c.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("S3 store: bucket %s: %w", o.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("S3 store: no bucket %s", o.Bucket)
	}
	return &S3{client: c, bucket: o.Bucket, prefix: o.Prefix}, nil
}

func (s *S3) name(key string) (string, error) {
	if !validKey(key) {
		return "", ErrBadKey
	}
	return s.prefix + key, nil
}

// Put streams r into the object of key.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	name, err := s.name(key)
	if err != nil {
		return 0, err
	}
	info, err := s.client.PutObject(ctx, s.bucket, name, r, -1, minio.PutObjectOptions{
		ContentType: "application/octet-stream", PartSize: s3PartSize,
	})
	if err != nil {
		return 0, err
	}
	return info.Size, nil
}

// Open opens the object of key; it reads by ranged requests as it is read
// and sought.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if isNoSuchKey(err) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return obj, nil
}

// Delete removes the object of key.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	err = s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
	if err != nil && !isNoSuchKey(err) {
		return err
	}
	return nil
}

func isNoSuchKey(err error) bool {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code == "NoSuchKey" || er.StatusCode == http.StatusNotFound
	}
	return strings.Contains(err.Error(), "NoSuchKey")
}
