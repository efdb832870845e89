package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// pdfBytes is a small PDF, as its bytes say (the media type is detected,
// not declared).
var pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// multipartBody builds an upload: the fields in order, then the file.
func multipartBody(tb testing.TB, fields map[string]string, filename string, content io.Reader) (*bytes.Buffer, string) {
	tb.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, k := range []string{"type", "language", "title", "translation_of", "translation_status", "version"} {
		if v, ok := fields[k]; ok {
			w.WriteField(k, v)
		}
	}
	if content != nil {
		fw, err := w.CreateFormFile("file", filename)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.Copy(fw, content); err != nil {
			tb.Fatal(err)
		}
	}
	w.Close()
	return &b, w.FormDataContentType()
}

// upload posts a document to the request as the user.
func (s *testServer) upload(tb testing.TB, username, requestID string, fields map[string]string, filename string, content []byte) (int, map[string]any) {
	tb.Helper()
	body, ct := multipartBody(tb, fields, filename, bytes.NewReader(content))
	rec := s.raw(tb, s.login(tb, username), http.MethodPost, pathTo(requestID, "documents"), body, http.Header{"Content-Type": {ct}})
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		tb.Fatalf("upload: answer is not JSON: %d %s", rec.Code, rec.Body.String())
	}
	return rec.Code, out
}

func letterFields() map[string]string {
	return map[string]string{"type": "letter_of_request", "language": "it", "title": "Lettera di richiesta"}
}

// sentRequest is a request from IT to ES, sent, with a document that
// it.officer added while it was a draft.
func sentRequestWithDocument(t *testing.T, srv *testServer) (requestID string, doc map[string]any) {
	t.Helper()
	id := text(srv.newDraft(t)["id"])
	status, doc := srv.upload(t, "it.officer", id, letterFields(), "lettera.pdf", pdfBytes)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %v", status, doc)
	}
	srv.fire(t, "it.supervisor", id, workflow.EventSend)
	return id, doc
}

func TestDocuments_roundtrip(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		id := text(srv.newDraft(t)["id"])
		status, doc := srv.upload(t, "it.officer", id, letterFields(), "lettera.pdf", pdfBytes)
		if status != http.StatusCreated {
			t.Fatalf("upload: %d %v", status, doc)
		}
		sum := sha256.Sum256(pdfBytes)
		want := map[string]any{
			"request_id": id, "type": "letter_of_request", "language": "it", "title": "Lettera di richiesta",
			"filename": "lettera.pdf", "media_type": "application/pdf", "size": float64(len(pdfBytes)),
			"sha256": hex.EncodeToString(sum[:]), "translation_of": nil, "translation_status": nil,
			"uploaded_by": "it.officer", "authority": "IT",
		}
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("upload answer %s = %v, want %v", k, doc[k], v)
			}
		}
		for _, k := range []string{"id", "at"} {
			if text(doc[k]) == "" {
				t.Errorf("upload answer lacks %s: %v", k, doc)
			}
		}
		docID := text(doc["id"])

		// A translation into Spanish, linked to its original.
		status, tr := srv.upload(t, "it.officer", id, map[string]string{
			"type": "translation", "language": "es", "title": "Carta rogatoria", "translation_of": docID,
		}, "carta.txt", []byte("Carta rogatoria: registros bancarios de Rossi Srl.\n"))
		if status != http.StatusCreated || tr["translation_of"] != docID || tr["translation_status"] != "done" ||
			!strings.HasPrefix(text(tr["media_type"]), "text/plain") {
			t.Fatalf("upload translation: %d %v", status, tr)
		}

		status, list := srv.do(t, srv.login(t, "it.officer"), http.MethodGet, pathTo(id, "documents"), nil)
		items, _ := list["items"].([]any)
		if status != http.StatusOK || len(items) != 2 || jsonText(list["languages_done"]) != `["es","it"]` {
			t.Fatalf("list: %d %v", status, list)
		}

		status, meta := srv.do(t, srv.login(t, "it.supervisor"), http.MethodGet, "/api/v1/documents/"+docID, nil)
		if status != http.StatusOK || meta["sha256"] != want["sha256"] {
			t.Fatalf("metadata: %d %v", status, meta)
		}

		rec := srv.raw(t, srv.login(t, "it.supervisor"), http.MethodGet, "/api/v1/documents/"+docID+"/content", nil, nil)
		h := rec.Header()
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), pdfBytes) {
			t.Fatalf("download: %d %q", rec.Code, rec.Body.String())
		}
		if h.Get("Content-Type") != "application/pdf" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Content-Disposition") != `attachment; filename=lettera.pdf` {
			t.Errorf("download headers: %v", h)
		}

		status, patched := srv.do(t, srv.login(t, "it.officer"), http.MethodPatch, "/api/v1/documents/"+docID,
			map[string]any{"translation_status": "needed"})
		if status != http.StatusOK || patched["translation_status"] != "needed" {
			t.Fatalf("patch: %d %v", status, patched)
		}
		status, body := srv.do(t, srv.login(t, "it.officer"), http.MethodPatch, "/api/v1/documents/"+docID,
			map[string]any{"translation_status": "finished"})
		wantError(t, status, body, http.StatusUnprocessableEntity, "validation_failed")

		// The audit log: the upload with its SHA-256, the download, the
		// patch; and the chain verifies, requests replayed.
		actions := map[string]map[string]any{}
		for _, e := range srv.auditOf(t, id) {
			if e["outcome"] == "ok" {
				actions[text(e["action"])] = e
			}
		}
		for _, a := range []string{"document.upload", "document.download", "document.update"} {
			if actions[a] == nil {
				t.Errorf("no %s entry in the audit log of the request", a)
			}
		}
		if d := text(actions["document.upload"]["details"]); !strings.Contains(d, text(want["sha256"])) {
			t.Errorf("document.upload details %s lack the SHA-256 %s", d, want["sha256"])
		}
		if !srv.verify(t) {
			t.Error("the audit chain does not verify")
		}
	})
}

// auditOf reads the audit entries of a request, as IT's auditor (who
// reads its digests).
func (s *testServer) auditOf(tb testing.TB, requestID string) []map[string]any {
	tb.Helper()
	status, body := s.do(tb, s.login(tb, "it.auditor"), http.MethodGet, "/api/v1/audit?limit=200&request_id="+requestID, nil)
	if status != http.StatusOK {
		tb.Fatalf("audit: %d %v", status, body)
	}
	var out []map[string]any
	items, _ := body["items"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		if d, ok := m["details"].(map[string]any); ok {
			m["details"] = jsonText(d)
		}
		out = append(out, m)
	}
	return out
}

func TestDocuments_visibility(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		id := text(srv.newDraft(t)["id"])
		status, doc := srv.upload(t, "it.officer", id, letterFields(), "lettera.pdf", pdfBytes)
		if status != http.StatusCreated {
			t.Fatalf("upload: %d %v", status, doc)
		}
		docID := text(doc["id"])
		reads := []string{pathTo(id, "documents"), "/api/v1/documents/" + docID, "/api/v1/documents/" + docID + "/content"}
		check := func(user string, want int) {
			t.Helper()
			for _, p := range reads {
				rec := srv.raw(t, srv.login(t, user), http.MethodGet, p, nil, nil)
				if rec.Code != want {
					t.Errorf("%s GET %s: %d, want %d", user, p, rec.Code, want)
				}
				if want == http.StatusNotFound && bytes.Contains(rec.Body.Bytes(), pdfBytes[:8]) {
					t.Errorf("%s GET %s: the answer holds the document", user, p)
				}
			}
		}
		// A draft's documents are the requesting side's only.
		check("it.officer", http.StatusOK)
		check("es.officer", http.StatusNotFound)
		check("ng.supervisor", http.StatusNotFound)
		status, body := srv.upload(t, "es.officer", id, letterFields(), "x.pdf", pdfBytes)
		wantError(t, status, body, http.StatusNotFound, "not_found")

		// Once sent, the requested side sees them, and adds its own.
		srv.fire(t, "it.supervisor", id, workflow.EventSend)
		check("es.officer", http.StatusOK)
		check("es.auditor", http.StatusOK)
		check("ng.supervisor", http.StatusNotFound)
		status, body = srv.upload(t, "es.officer", id, map[string]string{"type": "evidence", "language": "es", "title": "Extractos"}, "e.pdf", pdfBytes)
		if status != http.StatusCreated || body["authority"] != "ES" {
			t.Fatalf("requested side's upload: %d %v", status, body)
		}
		// Auditors read, never write; a third authority sees nothing.
		status, body = srv.upload(t, "es.auditor", id, letterFields(), "x.pdf", pdfBytes)
		wantError(t, status, body, http.StatusForbidden, "forbidden")
		status, body = srv.upload(t, "th.supervisor", id, letterFields(), "x.pdf", pdfBytes)
		wantError(t, status, body, http.StatusNotFound, "not_found")
		status, body = srv.do(t, srv.login(t, "th.officer"), http.MethodPatch, "/api/v1/documents/"+docID, map[string]any{"translation_status": "done"})
		wantError(t, status, body, http.StatusNotFound, "not_found")
		status, body = srv.do(t, srv.login(t, "es.auditor"), http.MethodPatch, "/api/v1/documents/"+docID, map[string]any{"translation_status": "done"})
		wantError(t, status, body, http.StatusForbidden, "forbidden")
	})
}

func TestDocuments_refused(t *testing.T) {
	srv := newTestServerWith(t, testdb.SQLite, testworld.Options{MaxDocument: 4096})
	id := text(srv.newDraft(t)["id"])
	tok := srv.login(t, "it.officer")
	cases := []struct {
		name    string
		fields  map[string]string
		content []byte
		status  int
		code    string
		field   string
	}{
		{"too large", letterFields(), append(append([]byte{}, pdfBytes...), bytes.Repeat([]byte("x"), 5000)...), 413, "too_large", ""},
		{"exactly the limit", letterFields(), append(append([]byte{}, pdfBytes...), bytes.Repeat([]byte("x"), 4096-len(pdfBytes))...), 201, "", ""},
		{"an executable", letterFields(), append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0}, 200)...), 415, "unsupported_media_type", ""},
		{"html", letterFields(), []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), 415, "unsupported_media_type", ""},
		{"no type", map[string]string{"language": "it", "title": "x"}, pdfBytes, 422, "validation_failed", "type"},
		{"bad language", map[string]string{"type": "annex", "language": "italiano!", "title": "x"}, pdfBytes, 422, "validation_failed", "language"},
		{"no title", map[string]string{"type": "annex", "language": "it"}, pdfBytes, 422, "validation_failed", "title"},
		{"translation of nothing", map[string]string{"type": "translation", "language": "es", "title": "x", "translation_of": "nope"}, pdfBytes, 422, "validation_failed", "translation_of"},
		{"stale version", map[string]string{"type": "annex", "language": "it", "title": "x", "version": "99"}, pdfBytes, 409, "version_conflict", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := srv.upload(t, "it.officer", id, tc.fields, "f.bin", tc.content)
			if status != tc.status || (tc.code != "" && errorCode(body) != tc.code) {
				t.Fatalf("got %d %v, want %d %s", status, body, tc.status, tc.code)
			}
			if tc.field != "" && errorFields(body)[tc.field] == nil {
				t.Errorf("fields %v lack %s", errorFields(body), tc.field)
			}
		})
	}
	t.Run("no file", func(t *testing.T) {
		body, ct := multipartBody(t, letterFields(), "", nil)
		rec := srv.raw(t, tok, http.MethodPost, pathTo(id, "documents"), body, http.Header{"Content-Type": {ct}})
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"file"`) {
			t.Errorf("got %d %s, want 422 on file", rec.Code, rec.Body.String())
		}
	})
	t.Run("not multipart", func(t *testing.T) {
		rec := srv.raw(t, tok, http.MethodPost, pathTo(id, "documents"), `{"title":"x"}`, nil)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("got %d %s, want 400", rec.Code, rec.Body.String())
		}
	})
	t.Run("declared too large", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, pathTo(id, "documents"), strings.NewReader("x"))
		req.ContentLength = 1 << 30
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		rec := httptest.NewRecorder()
		srv.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("got %d %s, want 413", rec.Code, rec.Body.String())
		}
	})
	t.Run("JSON bodies keep their limit", func(t *testing.T) {
		big := `{"title":"` + strings.Repeat("x", 2<<20) + `"}`
		rec := srv.raw(t, tok, http.MethodPatch, pathTo(id), big, nil)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("got %d, want 413", rec.Code)
		}
	})
	// Nothing refused left a file behind: only the one accepted upload.
	var files int
	walkFiles(t, srv.blobs.Root(), func(string) { files++ })
	if files != 1 {
		t.Errorf("%d files in the blob store, want 1 (the accepted upload)", files)
	}
}

func walkFiles(tb testing.TB, root string, fn func(path string)) {
	tb.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		p := root + "/" + e.Name()
		if e.IsDir() {
			walkFiles(tb, p, fn)
		} else {
			fn(p)
		}
	}
}

func TestDocuments_tamperingDetected(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		id, doc := sentRequestWithDocument(t, srv)
		docID := text(doc["id"])
		stored, err := srv.store.Document(context.Background(), docID)
		if err != nil {
			t.Fatal(err)
		}
		path, err := srv.blobs.Path(stored.BlobKey)
		if err != nil {
			t.Fatal(err)
		}
		tampered := bytes.Replace(pdfBytes, []byte("Catalog"), []byte("Catalgo"), 1)
		if err := os.WriteFile(path, tampered, 0o600); err != nil {
			t.Fatal(err)
		}
		rec := srv.raw(t, srv.login(t, "es.officer"), http.MethodGet, "/api/v1/documents/"+docID+"/content", nil, nil)
		if rec.Code != http.StatusInternalServerError || bytes.Contains(rec.Body.Bytes(), []byte("%PDF")) {
			t.Fatalf("download of tampered bytes: %d %q, want 500 and nothing of the file", rec.Code, rec.Body.String())
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q: the error, not the document", ct)
		}
		if !strings.Contains(srv.logs.String(), "TAMPERING") {
			t.Errorf("the log does not report the tampering:\n%s", srv.logs.String())
		}
		for _, e := range srv.auditOf(t, id) {
			if e["action"] == "document.download" && e["outcome"] == "ok" {
				t.Errorf("a download of tampered bytes was recorded as served: %v", e)
			}
		}
	})
}
