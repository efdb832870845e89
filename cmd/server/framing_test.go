package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loginBody is a well-formed log-in of an unknown user: the server reads
// it whole and answers 401, so a 401 means the body was taken as framed.
const loginBody = `{"username":"nobody","password":"not a password"}`

// TestServer_requestFraming sends hand-written HTTP/1.1 requests over raw
// TCP, as an attacker trying to smuggle a request past a proxy would
// (RFC 9112 §6.1 and §11.2), and checks each answer and whether the server
// then closes the connection. A message whose length two headers disagree
// on must never leave the connection open: the bytes after it would be
// read as a request of somebody else's choosing.
func TestServer_requestFraming(t *testing.T) {
	url, _, _ := startInProcess(t, "--db", filepath.Join(t.TempDir(), "mla.db"))
	addr := strings.TrimPrefix(url, "http://")
	login := "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	size := strconv.Itoa(len(loginBody))
	chunked := strconv.FormatInt(int64(len(loginBody)), 16) + "\r\n" + loginBody + "\r\n0\r\n\r\n"
	smuggled := "GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
	tests := []struct {
		name string
		raw  string
		// want are the statuses answered, in order; closed is whether the
		// connection must then be closed.
		want   []int
		code   string // the contract's error code of the last answer, if checked
		closed bool
	}{
		{
			name: "Content-Length and chunked", // ours: Go would take the chunks and keep the connection
			raw:  login + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled,
			want: []int{400}, code: "bad_request", closed: true,
		},
		{
			name: "chunked and Content-Length, other case", // ours
			raw:  login + "transfer-encoding: chunked\r\ncontent-length: " + size + "\r\n\r\n" + chunked + smuggled,
			want: []int{400}, code: "bad_request", closed: true,
		},
		{
			name: "Content-Length and a folded Transfer-Encoding", // ours
			raw:  login + "Content-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n" + chunked + smuggled,
			want: []int{400}, code: "bad_request", closed: true,
		},
		{
			name: "Content-Length and chunked on HTTP/1.0", // ours: Go ignores Transfer-Encoding on 1.0
			raw: strings.Replace(login, "HTTP/1.1", "HTTP/1.0", 1) + "Connection: keep-alive\r\n" +
				"Content-Length: " + size + "\r\nTransfer-Encoding: chunked\r\n\r\n" + loginBody + smuggled,
			want: []int{400}, code: "bad_request", closed: true,
		},
		{
			name: "the second request of a kept-alive connection", // ours
			raw: login + "Content-Length: " + size + "\r\n\r\n" + loginBody +
				login + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled,
			want: []int{401, 400}, code: "bad_request", closed: true,
		},
		{
			name: "after OPTIONS *", // ours: Go's own answer to it is off, so the API sees every request
			raw: "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
				login + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled,
			want: []int{404, 400}, code: "bad_request", closed: true,
		},
		{
			name: "chunked alone is served, then the connection closed", // ours
			raw:  login + "Transfer-Encoding: chunked\r\n\r\n" + chunked + smuggled,
			want: []int{401}, code: "unauthenticated", closed: true,
		},
		{
			name: "Content-Length alone keeps the connection", // Go
			raw:  login + "Content-Length: " + size + "\r\n\r\n" + loginBody + login + "Content-Length: " + size + "\r\n\r\n" + loginBody,
			want: []int{401, 401}, code: "unauthenticated", closed: false,
		},
		{
			name: "chunked, chunked", // Go: one coding only, 501
			raw:  login + "Transfer-Encoding: chunked, chunked\r\n\r\n" + chunked + smuggled,
			want: []int{501}, closed: true,
		},
		{
			name: "two Transfer-Encoding fields", // Go: 501
			raw:  login + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled,
			want: []int{501}, closed: true,
		},
		{
			name: "identity", // Go: 501
			raw:  login + "Transfer-Encoding: identity\r\nContent-Length: " + size + "\r\n\r\n" + loginBody + smuggled,
			want: []int{501}, closed: true,
		},
		{
			name: "two differing Content-Length", // Go: 400
			raw:  login + "Content-Length: " + size + "\r\nContent-Length: 5\r\n\r\n" + loginBody + smuggled,
			want: []int{400}, closed: true,
		},
		{
			name: "a signed Content-Length", // Go: 400
			raw:  login + "Content-Length: +" + size + "\r\n\r\n" + loginBody + smuggled,
			want: []int{400}, closed: true,
		},
		{
			name: "a bad chunk size", // Go fails the body's read: the handler answers 400, the server closes
			raw:  login + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + loginBody + "\r\n0\r\n\r\n" + smuggled,
			want: []int{400}, code: "bad_request", closed: true,
		},
		{
			name: "bare line feeds in the head", // Go accepts them (RFC 9112 §2.2 allows it), and so does the watcher
			raw: strings.ReplaceAll(login, "\r\n", "\n") + "Content-Length: " + size + "\n\n" + loginBody +
				strings.ReplaceAll(login, "\r\n", "\n") + "Content-Length: 5\nTransfer-Encoding: chunked\n\n" + chunked + smuggled,
			want: []int{401, 400}, code: "bad_request", closed: true,
		},
		{
			name: "a bare line feed after chunk data", // Go fails the body's read: 400, closed
			raw: login + "Transfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(loginBody)), 16) + "\r\n" + loginBody +
				"\n0\r\n\r\n" + smuggled,
			want: []int{400}, code: "bad_request", closed: true,
		},
		{
			name: "a chunk extension", // Go ignores it; ours closes after chunked
			raw: login + "Transfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(loginBody)), 16) + ";x=y\r\n" + loginBody +
				"\r\n0\r\n\r\n" + smuggled,
			want: []int{401}, code: "unauthenticated", closed: true,
		},
		{
			name: "a space before the colon", // Go: 400
			raw:  login + "Transfer-Encoding : chunked\r\nContent-Length: " + size + "\r\n\r\n" + loginBody + smuggled,
			want: []int{400}, closed: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.raw); err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(conn)
			var last *http.Response
			var body []byte
			for i, want := range tc.want {
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				resp, err := http.ReadResponse(rd, nil)
				if err != nil {
					t.Fatalf("answer %d: %v", i+1, err)
				}
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("answer %d: status %d (%s), want %d", i+1, resp.StatusCode, body, want)
				}
				last = resp
			}
			if tc.code != "" {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != tc.code {
					t.Errorf("body %s, want the contract's error %q", body, tc.code)
				}
			}
			if tc.closed && !last.Close {
				t.Errorf("the last answer does not say Connection: close")
			}
			if closed := connClosed(t, conn, rd); closed != tc.closed {
				t.Errorf("connection closed after the answers: %v, want %v", closed, tc.closed)
			}
		})
	}
}

// connClosed tells whether the server has closed conn: the next read ends
// (EOF, or a reset when the server dropped unread bytes) instead of timing
// out. Anything read instead is an answer that should not exist.
func connClosed(t *testing.T, conn net.Conn, rd *bufio.Reader) bool {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	extra, err := rd.ReadByte()
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return false
	case err == nil:
		rest, _ := rd.Peek(rd.Buffered())
		t.Fatalf("more was answered: %q", string(extra)+string(rest))
	default:
		t.Fatalf("reading after the answers: %v", err)
	}
	return false
}
