package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// DeriveKey derives the key of one purpose from a secret (the audit key,
// say): HMAC-SHA256(secret, purpose). Every use of one secret takes a
// purpose of its own, so that no two uses share a key and a value made for
// one can never stand for another.
func DeriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// FieldsMAC returns hex(HMAC-SHA256(key, the fields framed as netstrings)),
// the framing of Canonical, so that no choice of field values can move a
// boundary and make two different lists of fields authenticate alike. The
// first field names what is authenticated (a version tag), so that MACs of
// different kinds of things never coincide.
func FieldsMAC(key []byte, fields ...string) string {
	m := hmac.New(sha256.New, key)
	var b []byte
	for _, f := range fields {
		b = appendFrame(b, f)
	}
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// formatInt is strconv.FormatInt in base 10, for the fields of FieldsMAC.
func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
