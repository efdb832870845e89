package webhook

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// connCounter counts the connections a test server accepted.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) watch(srv *httptest.Server) {
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.n.Add(1)
		}
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var testHeader = []byte("Content-Type: application/json\r\nwebhook-id: msg_x_1\r\n")

// TestPoster_keepsConnectionsAndSendsWhatItIsGiven: deliveries one after
// the other share one connection; the receiver gets the method, path,
// query, headers and body as given; interim, chunked and unsized answers
// are read whole; an answer too long to keep reading closes its
// connection.
func TestPoster_keepsConnectionsAndSendsWhatItIsGiven(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, string(b))
		mu.Unlock()
		switch r.URL.Query().Get("answer") {
		case "chunked":
			w.WriteHeader(http.StatusOK)
			for range 10 {
				_, _ = w.Write([]byte(strings.Repeat("x", 1000)))
				w.(http.Flusher).Flush()
			}
		case "interim":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
		case "huge":
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(strings.Repeat("y", maxAnswer+10)))
		case "busy":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	var conns connCounter
	conns.watch(srv)
	srv.Start()
	defer srv.Close()
	p := newPoster(time.Second, 5*time.Second, true)
	ctx := context.Background()

	for i, q := range []string{"", "answer=chunked", "answer=interim", "", "answer=busy", ""} {
		u := mustURL(t, srv.URL+"/in/hook?token=a%20b&"+q)
		a, err := p.post(ctx, u, testHeader, []byte(`{"n":`+string(rune('0'+i))+`}`))
		if err != nil {
			t.Fatalf("post %d (%s): %v", i, q, err)
		}
		want := map[string]int{"": 204, "answer=chunked": 200, "answer=interim": 202, "answer=busy": 503}[q]
		if a.status != want {
			t.Errorf("post %d (%s): status %d, want %d", i, q, a.status, want)
		}
		if q == "answer=busy" && a.retryAfter != "120" {
			t.Errorf("Retry-After %q", a.retryAfter)
		}
	}
	if n := conns.n.Load(); n != 1 {
		t.Errorf("%d connections for six deliveries one after the other, want 1", n)
	}
	mu.Lock()
	r := got[0]
	if r.Method != http.MethodPost || r.URL.Path != "/in/hook" || r.URL.Query().Get("token") != "a b" ||
		r.Header.Get("webhook-id") != "msg_x_1" || r.Header.Get("Content-Type") != "application/json" ||
		r.ContentLength != int64(len(bodies[0])) || bodies[0] != `{"n":0}` {
		t.Errorf("the receiver got %s %s %v, body %q", r.Method, r.URL, r.Header, bodies[0])
	}
	mu.Unlock()

	if _, err := p.post(ctx, mustURL(t, srv.URL+"/?answer=huge"), testHeader, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.post(ctx, mustURL(t, srv.URL+"/"), testHeader, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if n := conns.n.Load(); n != 2 {
		t.Errorf("%d connections after an answer too long to read, want 2 (it is closed)", n)
	}
}

// TestPoster_connectionClosedMeanwhile: a kept connection the receiver
// closed between two deliveries costs nothing: the delivery goes on a new
// one.
func TestPoster_connectionClosedMeanwhile(t *testing.T) {
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	p := newPoster(time.Second, 5*time.Second, true)
	u := mustURL(t, srv.URL)
	if _, err := p.post(context.Background(), u, testHeader, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	a, err := p.post(context.Background(), u, testHeader, []byte("{}"))
	if err != nil || a.status != http.StatusOK {
		t.Fatalf("after the receiver closed the kept connection: %+v, %v", a, err)
	}
	if n := seen.Load(); n != 2 {
		t.Errorf("the receiver got %d deliveries, want 2", n)
	}
}

// TestPoster_timeoutAndShutdown: an attempt ends at its timeout, and at
// once when its context ends.
func TestPoster_timeoutAndShutdown(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	u := mustURL(t, srv.URL)

	p := newPoster(time.Second, 200*time.Millisecond, true)
	start := time.Now()
	_, err := p.post(context.Background(), u, testHeader, []byte("{}"))
	if !errors.Is(err, errTimedOut) || time.Since(start) > 2*time.Second {
		t.Errorf("a receiver that never answers: %v after %s, want %v after 200 ms", err, time.Since(start), errTimedOut)
	}

	p = newPoster(time.Second, time.Minute, true)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	if _, err := p.post(ctx, u, testHeader, []byte("{}")); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("an attempt whose context ended: %v after %s", err, time.Since(start))
	}
}

// TestPoster_https: https destinations are sent over TLS, checked against
// the trusted certificates.
func TestPoster_https(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			t.Error("not over TLS")
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	u := mustURL(t, srv.URL)
	p := newPoster(time.Second, 5*time.Second, true)
	if _, err := p.post(context.Background(), u, testHeader, []byte("{}")); err == nil {
		t.Error("a certificate nobody trusts was accepted")
	}
	p.roots = x509.NewCertPool()
	p.roots.AddCert(srv.Certificate())
	for range 3 {
		if a, err := p.post(context.Background(), u, testHeader, []byte("{}")); err != nil || a.status != http.StatusOK {
			t.Fatalf("over TLS: %+v, %v", a, err)
		}
	}
}
