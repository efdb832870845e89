package audit

import "crypto/hmac"

// headVersion opens the encoding a head seal authenticates. It differs from
// canonicalVersion, so that no head can ever be sealed to the same bytes as
// an entry: the two uses of the one key are kept apart.
const headVersion = "mla-flow/audit-head/v1"

// HeadSeal returns the seal of a chain head: the sequence number and hash of
// the last entry, as a store keeps them beside the entries. The head alone
// says where the chain ends, so without a seal anyone who can write the
// database could delete the last entries and move the head back to match, or
// empty the log and reset the head; with one, moving the head takes the key.
// It is FieldsMAC(key, headVersion, seq, hash).
//
// A seal cannot tell an old head from the current one: a head saved earlier
// and put back together with a cut of the entries after it still verifies.
// Only something kept outside the database (a checkpoint, a counterpart's
// receipt) shows that.
func HeadSeal(key []byte, seq int64, hash string) string {
	return FieldsMAC(key, headVersion, formatInt(seq), hash)
}

// HeadSealed reports, in constant time, whether seal is the seal of the head
// (seq, hash) under key.
func HeadSealed(key []byte, seq int64, hash, seal string) bool {
	return hmac.Equal([]byte(seal), []byte(HeadSeal(key, seq, hash)))
}
