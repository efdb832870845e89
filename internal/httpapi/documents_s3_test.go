package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/mla-flow/mla-flow/internal/blob"
	"github.com/mla-flow/mla-flow/internal/blob/s3test"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
)

// TestDocuments_s3 runs the roundtrip and the tampering check with the
// bytes in an S3-compatible store: an in-process fake on loopback, and a
// real S3 server when the suite has one (s3test).
func TestDocuments_s3(t *testing.T) {
	s3test.Each(t, testDocumentsS3)
}

func testDocumentsS3(t *testing.T, server s3test.Server) {
	s3, err := blob.NewS3(context.Background(), server.Options(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServerWith(t, testdb.SQLite, testworld.Options{Blobs: s3})
	_, doc := sentRequestWithDocument(t, srv)
	docID := text(doc["id"])
	content := "/api/v1/documents/" + docID + "/content"
	rec := srv.raw(t, srv.login(t, "es.officer"), http.MethodGet, content, nil, nil)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), pdfBytes) {
		t.Fatalf("download from S3: %d %q", rec.Code, rec.Body.String())
	}

	stored, err := srv.store.Document(context.Background(), docID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Put(context.Background(), stored.BlobKey, bytes.NewReader(bytes.ToUpper(pdfBytes))); err != nil {
		t.Fatal(err)
	}
	rec = srv.raw(t, srv.login(t, "es.officer"), http.MethodGet, content, nil, nil)
	if rec.Code != http.StatusInternalServerError || bytes.Contains(bytes.ToUpper(rec.Body.Bytes()), []byte("%PDF")) {
		t.Fatalf("download of tampered bytes from S3: %d %q, want 500 and nothing of the file", rec.Code, rec.Body.String())
	}
	if !srv.verify(t) {
		t.Error("the audit chain does not verify")
	}
}
