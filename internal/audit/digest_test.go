package audit_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/mla-flow/mla-flow/internal/audit"
)

// TestDigester_keyed: a digest is the HMAC of the text under a key derived
// from the audit key for this one purpose; neither the text's SHA-256 nor
// an HMAC under the audit key itself, so that neither a reader of the log
// nor the chain's MACs can stand in for it.
func TestDigester_keyed(t *testing.T) {
	t.Parallel()
	auditKey := bytes.Repeat([]byte{7}, audit.KeySize)
	const text = "executed: the bank records are attached"
	got := audit.NewDigester(auditKey).Digest(text)

	derive := hmac.New(sha256.New, auditKey)
	derive.Write([]byte("mla-flow/digest/v1"))
	m := hmac.New(sha256.New, derive.Sum(nil))
	m.Write([]byte(text))
	if want := hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("Digest = %s, want HMAC under the derived key %s", got, want)
	}
	plain := sha256.Sum256([]byte(text))
	underAuditKey := hmac.New(sha256.New, auditKey)
	underAuditKey.Write([]byte(text))
	for name, other := range map[string]string{
		"SHA-256 of the text":      hex.EncodeToString(plain[:]),
		"HMAC under the audit key": hex.EncodeToString(underAuditKey.Sum(nil)),
		"digest under another key": audit.NewDigester(bytes.Repeat([]byte{8}, audit.KeySize)).Digest(text),
		"digest of another text":   audit.NewDigester(auditKey).Digest(text + "."),
	} {
		if got == other {
			t.Errorf("Digest equals the %s", name)
		}
	}
}
