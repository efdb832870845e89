package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestRun_documents uploads and downloads a document through the real
// program over TCP, its bytes landing in documents/ beside the SQLite
// database, with a size limit set by flag.
func TestRun_documents(t *testing.T) {
	db := filepath.Join(t.TempDir(), "data", "mla.db")
	url, _, _ := startInProcess(t, "--demo", "--db", db, "--max-document", "64KiB")
	it := login(t, url, "it.officer")
	draft := it.must(201, "POST", "/api/v1/requests", map[string]any{"kind": "mla", "requested_authority": "ES", "title": "Bank records"})
	id := draft["id"].(string)

	post := func(content []byte) *http.Response {
		t.Helper()
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("type", "annex")
		mw.WriteField("language", "en")
		mw.WriteField("title", "Statements")
		fw, _ := mw.CreateFormFile("file", "statements.txt")
		fw.Write(content)
		mw.Close()
		req, _ := http.NewRequest("POST", url+"/api/v1/requests/"+id+"/documents", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+it.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	content := bytes.Repeat([]byte("Account 42: 1,000 EUR\n"), 1000)
	resp := post(content)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	if resp := post(bytes.Repeat([]byte("x"), 70<<10)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("upload over --max-document: %d, want 413", resp.StatusCode)
	}

	var files int
	filepath.WalkDir(filepath.Join(filepath.Dir(db), "documents"), func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files++
		}
		return nil
	})
	if files != 1 {
		t.Errorf("%d files in documents/ beside the database, want 1", files)
	}
	list := it.must(200, "GET", "/api/v1/requests/"+id+"/documents", nil)
	doc := list["items"].([]any)[0].(map[string]any)
	req, _ := http.NewRequest("GET", url+"/api/v1/documents/"+doc["id"].(string)+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+it.token)
	dl, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	got, _ := io.ReadAll(dl.Body)
	if dl.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Errorf("download: %d, %d bytes", dl.StatusCode, len(got))
	}
}
