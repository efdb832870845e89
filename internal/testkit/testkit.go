// Package testkit holds the small helpers that the tests of several
// packages share. It is imported by tests only.
package testkit

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SyncBuffer is a bytes.Buffer that a server's goroutines may write (its
// log, say) while the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Reset forgets what has been written.
func (b *SyncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// Clock is real time shifted by an offset that a test moves forward, to
// expire tokens or leave a throttle window without waiting. Its zero value
// is real time.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the clock's time, to hand to the code under test as its clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// SignJWT signs claims with method and key, with kid in the header ("" for
// none): the tokens of tests that forge or tamper with access tokens.
func SignJWT(tb testing.TB, method jwt.SigningMethod, claims jwt.MapClaims, key any, kid string) string {
	tb.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
