package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// digestPurpose separates the digest key from the chain key it is derived
// from: HMAC(auditKey, digestPurpose). One key for two uses would let a
// digest of chosen text stand for a MAC of the chain, or the reverse.
const digestPurpose = "mla-flow/digest/v1"

// Digester binds case text (a comment, a request's content) into audit
// details without holding it. A plain SHA-256 of the text would let anyone
// who reads the log confirm a guess ("was the comment 'refused: no dual
// criminality'?") by hashing it; a digest keyed with a key that readers of
// the log do not hold cannot be recomputed without the key file. It is safe
// for concurrent use.
type Digester struct{ key []byte }

// NewDigester returns the Digester of the audit key auditKey (see
// LoadOrCreateKey); its key is derived from auditKey, never auditKey itself.
func NewDigester(auditKey []byte) *Digester {
	return &Digester{key: DeriveKey(auditKey, digestPurpose)}
}

// Digest returns hex(HMAC-SHA256(digest key, text)).
func (d *Digester) Digest(text string) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(text))
	return hex.EncodeToString(m.Sum(nil))
}
