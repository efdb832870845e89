package httpapi

import (
	"reflect"
	"testing"
)

// TestHeadScanner feeds request streams to the scanner whole and one byte
// at a time (a connection's reads end anywhere) and checks the heads it
// reports. Over a real connection: TestServer_requestFraming in cmd/server.
func TestHeadScanner(t *testing.T) {
	const post = "POST /x HTTP/1.1\r\nHost: h\r\n"
	plain, ambiguous, chunked := head{}, head{lengthAmbiguous: true, chunked: true}, head{chunked: true}
	tests := []struct {
		name   string
		stream string
		want   []head
	}{
		{"no body, kept alive", "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", []head{plain, plain}},
		{"a body skipped, even one that looks like a head",
			post + "Content-Length: 40\r\n\r\n" + "GET / HTTP/1.1\r\nTransfer-Encoding: x\r\n\r\n" + post + "\r\n",
			[]head{plain, plain}},
		{"both headers", post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", []head{ambiguous}},
		{"bare line feeds, odd case", "POST / HTTP/1.1\ncontent-LENGTH: 3\ntransfer-encoding: chunked\n\n", []head{ambiguous}},
		{"after a chunked head, nothing more", post + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + post + "\r\n", []head{chunked}},
		{"after an unreadable length, nothing more", post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabc" + post + "\r\n", []head{plain}},
		{"blank lines before a request", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", []head{plain}},
		{"a long line is no field the scanner wants",
			post + "X-Long: " + string(make([]byte, 200)) + "\r\nContent-Length: 0\r\n\r\n" + post + "\r\n",
			[]head{plain, plain}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var whole headScanner
			if got := whole.feed([]byte(tc.stream), nil); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("whole: got %+v, want %+v", got, tc.want)
			}
			var bytewise headScanner
			var got []head
			for i := range len(tc.stream) {
				got = bytewise.feed([]byte{tc.stream[i]}, got)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("byte by byte: got %+v, want %+v", got, tc.want)
			}
		})
	}
}
