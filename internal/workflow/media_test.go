package workflow_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// zipOf is a zip container with the named entries, in order.
func zipOf(t *testing.T, names ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		method := zip.Deflate
		if n == "mimetype" {
			method = zip.Store // OpenDocument: the first entry, stored
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if n == "mimetype" {
			w.Write([]byte("application/vnd.oasis.opendocument.text"))
		} else {
			w.Write([]byte("<?xml version=\"1.0\"?><x/>"))
		}
	}
	zw.Close()
	return b.Bytes()
}

func TestDetectMediaType(t *testing.T) {
	cases := []struct {
		name    string
		head    []byte
		want    string // prefix of the detected type
		allowed bool
	}{
		{"pdf", []byte("%PDF-1.7\n..."), "application/pdf", true},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image/png", true},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "image/jpeg", true},
		{"docx", zipOf(t, "[Content_Types].xml", "_rels/.rels", "word/document.xml"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", true},
		{"odt", zipOf(t, "mimetype", "content.xml"), "application/vnd.oasis.opendocument.text", true},
		{"text", []byte("Lettera di richiesta di assistenza giudiziaria.\n"), "text/plain", true},
		{"xml", []byte("<?xml version=\"1.0\"?><request><title>x</title></request>"), "text/xml", true},
		{"html", []byte("<!DOCTYPE html><html><body><script>x</script></body></html>"), "text/html", false},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>`), "image/svg+xml", false},
		{"zip", zipOf(t, "a.txt"), "application/zip", false},
		{"exe", append([]byte("MZ\x90\x00"), bytes.Repeat([]byte{0}, 100)...), "application/vnd.microsoft.portable-executable", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := workflow.DetectMediaType(tc.head)
			if !strings.HasPrefix(got, tc.want) || ok != tc.allowed {
				t.Errorf("got %s, allowed %t; want %s, allowed %t", got, ok, tc.want, tc.allowed)
			}
		})
	}
}
