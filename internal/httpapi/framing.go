package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// RFC 9112 §6.1: a request with both Transfer-Encoding and Content-Length
// "might indicate an attempt to perform request smuggling" and the server
// "MUST close the connection after responding to such a request". A proxy
// in front that goes by one header and a server that goes by the other
// disagree on where the request ends, and the rest becomes a request of the
// attacker's choosing on somebody else's connection.
//
// Go's net/http takes the chunks, deletes both headers from Request.Header
// and keeps the connection open, so no handler can tell such a request from
// a plain chunked one. WatchFraming therefore reads the request heads as
// they arrive on the connection, and checkFraming, first in the API's
// chain, refuses the ones both headers frame, with 400 and Connection:
// close. What Go refuses itself (several or unknown transfer codings,
// differing or malformed Content-Length, bad chunks) it answers and then
// closes: TestServer_requestFraming records each case.

// errAmbiguousLength is the answer to a request framed by both headers.
var errAmbiguousLength = workflow.Errorf(workflow.ErrBadRequest,
	"the request has both Content-Length and Transfer-Encoding; send one")

// errFramingUnknown answers a request whose head the connection's watcher
// did not see end, which cannot happen while the two are in step.
var errFramingUnknown = workflow.Errorf(workflow.ErrBadRequest, "the request's framing could not be checked")

// framingKey is the context key of a connection's *framingConn.
type framingKey struct{}

// WatchFraming makes srv's connections checkable by the API's checkFraming:
// it returns the listener srv must serve, whose connections read each
// request head as it passes, and sets srv.ConnContext so that every request
// carries its connection's findings. It also turns off Go's own answer to
// "OPTIONS *", which would take a request past the API without the
// API taking its finding and put the two out of step.
func WatchFraming(srv *http.Server, ln net.Listener) net.Listener {
	srv.DisableGeneralOptionsHandler = true
	prev := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prev != nil {
			ctx = prev(ctx, c)
		}
		if fc, ok := c.(*framingConn); ok {
			ctx = context.WithValue(ctx, framingKey{}, fc)
		}
		return ctx
	}
	return framingListener{ln}
}

// checkFraming refuses a request framed by both Content-Length and
// Transfer-Encoding, and closes the connection after any request with
// Transfer-Encoding: the watcher does not follow chunks, so it could not
// check the next request. (A client that streams its bodies loses only
// keep-alive.) It also gives the request back the TLS state that
// net/http cannot see through the watching connection. Requests that did
// not come through WatchFraming (tests with httptest) pass unchecked.
func checkFraming() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			fc, ok := c.Request().Context().Value(framingKey{}).(*framingConn)
			if !ok {
				return next(c)
			}
			if tc, ok := fc.Conn.(*tls.Conn); ok && c.Request().TLS == nil {
				st := tc.ConnectionState()
				c.Request().TLS = &st
			}
			h, ok := fc.next()
			if !ok || h.chunked {
				c.Response().Header().Set(echo.HeaderConnection, "close")
			}
			switch {
			case !ok:
				return errFramingUnknown // refused rather than guessed
			case h.lengthAmbiguous:
				return errAmbiguousLength
			}
			return next(c)
		}
	}
}

// framingListener hands out watched connections.
type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

// framingConn is a connection whose reads pass through a headScanner.
// net/http reads a connection from one goroutine at a time but not always
// the same one (it reads ahead while a handler runs), hence the lock.
type framingConn struct {
	net.Conn
	mu    sync.Mutex
	scan  headScanner
	heads []head // seen, not yet taken by checkFraming, oldest first
}

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.heads = c.scan.feed(p[:n], c.heads)
		c.mu.Unlock()
	}
	return n, err
}

// next takes the oldest head seen: net/http serves a connection's requests
// one after the other, in the order they came.
func (c *framingConn) next() (head, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.heads) == 0 {
		return head{}, false
	}
	h := c.heads[0]
	c.heads = c.heads[1:]
	return h, true
}

// CloseWrite passes on the half-close with which net/http makes sure the
// client reads an answer before the connection is torn down.
func (c *framingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// head is what the scanner found in one request head.
type head struct {
	lengthAmbiguous bool // both Content-Length and Transfer-Encoding
	chunked         bool // Transfer-Encoding, whatever its value
}

// maxKept bounds what the scanner keeps of a header line: enough for the
// two field names it looks for and any sane Content-Length value. A longer
// Content-Length line makes it stop (see stop).
const maxKept = 64

// headScanner follows HTTP/1.1 framing byte by byte as far as it needs to
// find each request head: the head's lines up to the empty one, then a
// Content-Length body skipped. It stops at the first head it cannot follow
// past (Transfer-Encoding, or a Content-Length it cannot read): checkFraming
// closes the connection after that request, or net/http refuses it and
// closes. It never changes what net/http reads.
type headScanner struct {
	stopped  bool
	body     int64  // bytes of the current body still to skip
	line     []byte // the current line's first maxKept bytes
	long     bool   // the current line is longer than maxKept
	lines    int    // lines of the current head so far, request line included
	length   string // the Content-Length value, "" when none
	lengthOK bool
	chunked  bool
}

// feed scans p and appends every head it completes to heads.
func (s *headScanner) feed(p []byte, heads []head) []head {
	for len(p) > 0 && !s.stopped {
		if s.body > 0 {
			n := min(int64(len(p)), s.body)
			s.body -= n
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.keep(p)
			return heads
		}
		s.keep(p[:i])
		p = p[i+1:]
		if h, done := s.endLine(); done {
			heads = append(heads, h)
		}
	}
	return heads
}

func (s *headScanner) keep(b []byte) {
	room := maxKept - len(s.line)
	if len(b) > room {
		b, s.long = b[:room], true
	}
	s.line = append(s.line, b...)
}

// endLine reads the line just ended; done says that it ended a head.
func (s *headScanner) endLine() (h head, done bool) {
	line := bytes.TrimSuffix(s.line, []byte("\r"))
	long := s.long
	s.line, s.long = s.line[:0], false
	switch {
	case len(line) == 0 && !long && s.lines == 0:
		return head{}, false // blank lines before a request: net/http skips them too
	case len(line) == 0 && !long:
		return s.endHead(), true
	}
	s.lines++
	if s.lines == 1 || line[0] == ' ' || line[0] == '\t' {
		return head{}, false // the request line, or a folded continuation
	}
	name, value, _ := bytes.Cut(line, []byte(":"))
	switch {
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		s.chunked = true
	case bytes.EqualFold(name, []byte("Content-Length")):
		v := string(bytes.Trim(value, " \t"))
		// A second, different value or one cut short: net/http refuses
		// the first and this scanner cannot know where the body ends.
		s.lengthOK = !long && (s.length == "" || s.lengthOK && s.length == v)
		s.length = v
	}
	return head{}, false
}

// endHead reports the head just ended and sets up for its body.
func (s *headScanner) endHead() head {
	h := head{lengthAmbiguous: s.chunked && s.length != "", chunked: s.chunked}
	n, err := strconv.ParseInt(s.length, 10, 64)
	switch {
	case s.chunked, s.length != "" && (!s.lengthOK || err != nil || n < 0):
		s.stopped = true
	case s.length != "":
		s.body = n
	}
	s.lines, s.length, s.lengthOK, s.chunked = 0, "", false, false
	return h
}
