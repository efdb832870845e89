package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The kinds of cursor. A cursor names its list, so that one taken from the
// audit log is refused by the request list instead of silently skipping to
// an unrelated position.
const (
	requestCursor = 'r'
	auditCursor   = 'a'
	// dueCursor is a position in a request list by due time (sort=due):
	// the due time (noDue for a request without one) and the seq.
	dueCursor = 'd'
)

// A cursor is the position where a page ends: the seq of its last row, so
// that the next page holds the rows with a smaller seq (keyset pagination:
// pages neither skip nor repeat rows when new ones arrive meanwhile).
//
// The seq counts every request of the platform, so shown as it is it would
// tell a caller how many requests exist between two of its own, its
// counterpart's drafts included. Cursors are therefore sealed with
// AES-256-GCM under a key derived from the server's audit key, with a fresh
// nonce each time: a cursor reveals nothing, differs at every call, and
// cannot be forged or edited (the GCM tag fails, and the caller gets 400).
const cursorNonce = 12

// cursorAEAD derives the cursor key from the audit key, which every server
// on one database shares, so a cursor from one server works on another.
func (s *Store) cursorAEAD() cipher.AEAD { return s.aeadFor("mla-flow list cursor v1") }

// aeadFor returns AES-256-GCM under a key derived from the audit key for
// one purpose, so that no two uses of the audit key share a key.
func (s *Store) aeadFor(purpose string) cipher.AEAD {
	block, err := aes.NewCipher(audit.DeriveKey(s.key, purpose))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// encodeCursor seals the position after seq in a list of the given kind.
func (s *Store) encodeCursor(kind byte, seq int64) string { return s.encodeCursorAt(kind, seq) }

// decodeCursor returns the seq a cursor points after; 0 for no cursor. A
// cursor this server did not seal for this list is a client error.
func (s *Store) decodeCursor(kind byte, cursor string) (int64, error) {
	v, err := s.decodeCursorAt(kind, cursor, 1)
	if err != nil || v == nil {
		return 0, err
	}
	if v[0] < 1 {
		return 0, workflow.Errorf(workflow.ErrBadRequest, "invalid cursor")
	}
	return v[0], nil
}

// encodeCursorAt seals a position given by one or more numbers (a list in
// another order than by seq needs its sort key too).
func (s *Store) encodeCursorAt(kind byte, values ...int64) string {
	plain := make([]byte, 1+8*len(values))
	plain[0] = kind
	for i, v := range values {
		binary.BigEndian.PutUint64(plain[1+8*i:], uint64(v))
	}
	nonce := make([]byte, cursorNonce, cursorNonce+len(plain)+16)
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(s.cursorAEAD().Seal(nonce, nonce, plain, nil))
}

// decodeCursorAt opens a cursor of n numbers; nil for no cursor.
func (s *Store) decodeCursorAt(kind byte, cursor string, n int) ([]int64, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := workflow.Errorf(workflow.ErrBadRequest, "invalid cursor")
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) != cursorNonce+1+8*n+16 {
		return nil, bad
	}
	plain, err := s.cursorAEAD().Open(nil, raw[:cursorNonce], raw[cursorNonce:], nil)
	if err != nil || plain[0] != kind {
		return nil, bad
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.BigEndian.Uint64(plain[1+8*i:]))
	}
	return out, nil
}
