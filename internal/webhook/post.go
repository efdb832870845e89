package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// poster sends the deliveries: an HTTP/1.1 POST on a kept-alive
// connection of its own, written in one go and read on the caller's
// goroutine. net/http's client does the same with two goroutines per
// connection and a request's worth of bookkeeping, which at thousands of
// deliveries a second cost the server more than the changes it tells of
// (docs/BENCHMARKS.md, "Webhooks"); the answer is still parsed by
// net/http (http.ReadResponse). It connects only through the checking
// dialer (Dialer), uses no proxy, follows no redirect (a 3xx is an answer
// like any other), and bounds each attempt as a whole.
type poster struct {
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	connectTimeout time.Duration
	requestTimeout time.Duration
	roots          *x509.CertPool // the certificates trusted for https; nil for the system's

	mu   sync.Mutex
	idle map[string][]*keptConn // by scheme://host:port
}

// keptConn is a connection between two deliveries.
type keptConn struct {
	net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	usedAt time.Time
}

// Bounds of the connections kept: per destination, and how long one may
// rest before it is closed rather than used (receivers close theirs after
// a minute or more, and a connection closed under a delivery costs it).
const (
	maxIdlePerHost = 64
	maxIdleTime    = 50 * time.Second
)

func newPoster(connectTimeout, requestTimeout time.Duration, allowPrivate bool) *poster {
	return &poster{
		dial:           Dialer(connectTimeout, allowPrivate).DialContext,
		connectTimeout: connectTimeout, requestTimeout: requestTimeout,
		idle: map[string][]*keptConn{},
	}
}

// answer is what a delivery needs of the receiver's answer.
type answer struct {
	status     int
	retryAfter string
}

// errTimedOut is an attempt that took longer than the request timeout.
var errTimedOut = errors.New("timed out")

// post sends body to u with header (already in wire form, each line
// ending in CRLF) and reads the answer's status; the answer's body is read
// up to maxAnswer and dropped. A kept connection the receiver closed
// meanwhile fails before anything is read: the delivery is then sent once
// more on a new connection (the receiver may see it twice, under one
// webhook-id: at least once).
func (p *poster) post(ctx context.Context, u *url.URL, header []byte, body []byte) (answer, error) {
	deadline := time.Now().Add(p.requestTimeout)
	key := u.Scheme + "://" + u.Host
	for again := false; ; again = true {
		var c *keptConn
		reused := false
		if !again {
			c, reused = p.take(key)
		}
		if c == nil {
			var err error
			if c, err = p.connect(ctx, u, deadline); err != nil {
				return answer{}, err
			}
		}
		a, sent, err := p.exchange(ctx, c, u, header, body, deadline)
		if err == nil {
			return a, nil
		}
		c.Close()
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		if !reused || sent {
			return answer{}, err
		}
	}
}

// take returns a kept connection to key, if one is fresh enough.
func (p *poster) take(key string) (*keptConn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.idle[key]
	for len(cs) > 0 {
		c := cs[len(cs)-1]
		cs = cs[:len(cs)-1]
		if time.Since(c.usedAt) < maxIdleTime {
			p.idle[key] = cs
			return c, true
		}
		c.Close()
	}
	delete(p.idle, key)
	return nil, false
}

// keep puts c back for the next delivery to key.
func (p *poster) keep(key string, c *keptConn) {
	c.usedAt = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[key]) >= maxIdlePerHost {
		c.Close()
		return
	}
	p.idle[key] = append(p.idle[key], c)
}

// connect opens a connection to u through the checking dialer, with TLS
// for https.
func (p *poster) connect(ctx context.Context, u *url.URL, deadline time.Time) (*keptConn, error) {
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	raw, err := p.dial(dctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, err
	}
	conn := raw
	if u.Scheme == "https" {
		t := tls.Client(raw, &tls.Config{ServerName: host, RootCAs: p.roots, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		hctx, cancel := context.WithTimeout(dctx, p.connectTimeout)
		err := t.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			return nil, err
		}
		conn = t
	}
	return &keptConn{Conn: conn, r: bufio.NewReaderSize(conn, 4096), w: bufio.NewWriterSize(conn, 4096)}, nil
}

// exchange writes one request on c and reads its answer; sent tells
// whether anything of an answer came, after which the request must not be
// sent again on another connection as if it had not been.
func (p *poster) exchange(ctx context.Context, c *keptConn, u *url.URL, header, body []byte, deadline time.Time) (a answer, sent bool, err error) {
	if err := c.SetDeadline(deadline); err != nil {
		return a, false, err
	}
	// Shutting down ends the attempt at once: the connection's deadline
	// is moved to the past, which fails its read or write.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	w := c.w
	w.WriteString("POST ")
	w.WriteString(u.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(u.Host)
	w.WriteString("\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(body)))
	w.WriteString("\r\n")
	w.Write(header)
	w.WriteString("\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return a, false, timedOut(err)
	}
	if _, err := c.r.Peek(1); err != nil {
		return a, false, timedOut(err)
	}
	for {
		resp, err := http.ReadResponse(c.r, nil)
		if err != nil {
			return a, true, timedOut(err)
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // an interim answer (103 Early Hints): the real one follows
		}
		n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer+1))
		resp.Body.Close()
		a = answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
		if err != nil {
			return a, true, timedOut(err)
		}
		if !stop() || resp.Close || n > maxAnswer || resp.StatusCode == http.StatusSwitchingProtocols {
			c.Close() // shutting down, or the connection is spent
		} else {
			_ = c.SetDeadline(time.Time{})
			p.keep(u.Scheme+"://"+u.Host, c)
		}
		return a, true, nil
	}
}

// timedOut names a deadline passed as the attempt timing out.
func timedOut(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errTimedOut
	}
	return err
}
