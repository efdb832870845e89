// Package audit is the tamper-evident log of mla-flow: the Entry type, its
// canonical byte encoding, the keyed hash chain that links every entry to the
// one before it, and a streaming Verifier that recomputes the chain.
//
// Each entry is sealed as
//
//	hash = hex(HMAC-SHA256(key, frame(prev_hash) ‖ Canonical(entry)))
//
// where prev_hash is the hash of the previous entry (the empty string for the
// first one, see GenesisHash). A plain hash chain can be recomputed from a
// tampered row onward by anyone who can write the database; a keyed one
// cannot, so the key lives outside the database (LoadOrCreateKey).
//
// What the chain detects on its own: a modified entry (its hash no longer
// matches), a deleted or reordered entry (a gap in the sequence numbers, or a
// prev_hash that is not the previous entry's hash). Deleting the tail is
// caught by comparing with a separately kept head (Verifier.CheckHead); an
// attacker who truncates the tail and rewrites the head as well is caught
// only by checkpoints kept outside the database.
//
// The package is a leaf: it imports nothing else from the project, so the
// store, the command line and outside tools can all verify the same way.
package audit
