package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/testworld"
)

// benchDocumentSize is the contract's default limit, 25 MiB.
const benchDocumentSize = 25 << 20

// pdfStream yields a PDF of n bytes, generated as it is read: the
// benchmark holds none of it in memory.
type pdfStream struct{ off, n int64 }

func (p *pdfStream) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	head := "%PDF-1.4\n"
	i := 0
	for ; i < len(b) && p.off < p.n; i++ {
		if p.off < int64(len(head)) {
			b[i] = head[p.off]
		} else {
			b[i] = byte('a' + p.off%26)
		}
		p.off++
	}
	return i, nil
}

// hashingWriter is a ResponseWriter that keeps only the hash of the body.
type hashingWriter struct {
	h      http.Header
	status int
	sum    interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func (w *hashingWriter) Header() http.Header { return w.h }
func (w *hashingWriter) WriteHeader(s int)   { w.status = s }
func (w *hashingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += int64(len(p))
	return w.sum.Write(p)
}

// heapPeak samples the live heap every millisecond until stopped, and
// answers the largest it saw.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// BenchmarkDocument_25MiB uploads a 25 MiB document through the router
// (multipart, streamed into the blob store and hashed on the way) and
// downloads it again (hashed before and while it is sent), on SQLite. It
// reports the time of each half and the live heap's peak above its level
// before: it stays flat, a small fraction of the document's size, because
// neither direction holds the document in memory.
func BenchmarkDocument_25MiB(b *testing.B) {
	srv := newTestServerWith(b, testdb.SQLite, testworld.Options{})
	id := text(srv.newDraft(b)["id"])
	tok := srv.login(b, "it.officer")
	var upload, download time.Duration
	var peakAbove uint64
	b.ReportAllocs()
	b.SetBytes(2 * benchDocumentSize)
	for b.Loop() {
		runtime.GC()
		base := func() uint64 {
			s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			metrics.Read(s)
			return s[0].Value.Uint64()
		}()
		stop := heapPeak()

		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			mw.WriteField("type", "evidence")
			mw.WriteField("language", "it")
			mw.WriteField("title", "Estratti conto 2023-2025")
			fw, _ := mw.CreateFormFile("file", "estratti.pdf")
			io.Copy(fw, &pdfStream{n: benchDocumentSize})
			pw.CloseWithError(mw.Close())
		}()
		req := httptest.NewRequest(http.MethodPost, pathTo(id, "documents"), pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		start := time.Now()
		srv.handler.ServeHTTP(rec, req)
		upload += time.Since(start)
		if rec.Code != http.StatusCreated {
			b.Fatalf("upload: %d %s", rec.Code, rec.Body.String())
		}
		var doc struct{ ID, SHA256 string }
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			b.Fatal(err)
		}

		req = httptest.NewRequest(http.MethodGet, "/api/v1/documents/"+doc.ID+"/content", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := &hashingWriter{h: http.Header{}, sum: sha256.New()}
		start = time.Now()
		srv.handler.ServeHTTP(w, req)
		download += time.Since(start)
		if w.status != http.StatusOK || w.n != benchDocumentSize || hex.EncodeToString(w.sum.Sum(nil)) != doc.SHA256 {
			b.Fatalf("download: %d, %d bytes", w.status, w.n)
		}
		if p := stop(); p > base && p-base > peakAbove {
			peakAbove = p - base
		}
	}
	n := float64(b.N)
	b.ReportMetric(upload.Seconds()*1000/n, "upload-ms/op")
	b.ReportMetric(download.Seconds()*1000/n, "download-ms/op")
	b.ReportMetric(float64(peakAbove)/(1<<20), "peak-heap-MiB")
}
