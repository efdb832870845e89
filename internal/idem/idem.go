// Package idem holds what the API's Idempotency-Key support (CONTRACT 8)
// shares with the store: the key of a caller's attempt, the record kept of
// it, and the claim an attempt carries in its context so that the store
// writes the key's mark inside the attempt's own write transaction. It
// imports no other internal package, so that both internal/httpapi, which
// runs the protocol, and internal/store, which keeps its state, may use it.
package idem

import (
	"context"
	"time"
)

// Lifetime is how long a key is remembered after its first use (CONTRACT
// 8: keys live 24 hours). A key older than that is unknown again.
const Lifetime = 24 * time.Hour

// Lease is how long an attempt holds its key before another attempt with
// the same key may decide that the holder died: an attempt that outlives
// it (only a stalled one does) loses its change, which the store refuses
// to commit once the key is taken over (see Claim).
const Lease = 2 * time.Minute

// Key is one caller's idempotency key: keys are scoped by caller, so the
// same text sent by two users is two keys.
type Key struct {
	Owner string // the caller's user id
	Key   string // the Idempotency-Key header's value
}

// Claim is an attempt's hold on its key. Token names the attempt: the
// store writes the change's mark only while the key's row still names it,
// which fences off an attempt whose key was taken over.
type Claim struct {
	Key
	Token string
}

// Record is what is stored of a key.
type Record struct {
	Key
	Token       string
	Fingerprint string    // the hash of the first attempt's method, path and body; "" until it answered
	CreatedAt   time.Time // the first use: the key lives Lifetime from it
	LeaseUntil  time.Time // while pending, when the holder's Lease lapses
	// EffectSeq is set, in the attempt's own write transaction, once the
	// attempt committed anything: the number of the last audit entry that
	// transaction wrote (-1 when it wrote none). A key with an effect is
	// never run again, whatever happened to its answer.
	EffectSeq int64
	// The answer, once stored: Status 0 while the attempt is pending.
	Status  int
	Headers map[string]string
	Body    []byte
}

// Pending tells whether the attempt holding the key has not answered yet.
func (r Record) Pending() bool { return r.Status == 0 }

// Store keeps the keys; internal/store implements it on SQLite and
// PostgreSQL, so that servers sharing a database share the keys.
type Store interface {
	// Claim takes k for the attempt token at now, atomically: when k is
	// unknown, expired (created before now-Lifetime), or pending with a
	// lapsed lease and no effect, it is (re)written as pending, held by
	// token until leaseUntil, and won is true. Otherwise it returns the
	// stored record and won false.
	Claim(ctx context.Context, k Key, token string, now, leaseUntil time.Time) (rec Record, won bool, err error)
	// Lookup reads the stored record of k, if any (expired or not).
	Lookup(ctx context.Context, k Key) (Record, bool, error)
	// Complete stores the answer of the attempt c with the fingerprint of
	// its request; it fails if c no longer holds the key.
	Complete(ctx context.Context, c Claim, fingerprint string, status int, headers map[string]string, body []byte) error
	// Release forgets the key of attempt c if that attempt committed no
	// effect (an answer that must not be replayed, a 5xx), and tells
	// whether it did.
	Release(ctx context.Context, c Claim) (bool, error)
	// PruneIdempotencyKeys deletes the keys first used before before and
	// returns how many.
	PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error)
}

type claimKey struct{}

// heldClaim is a claim and the store that holds its key.
type heldClaim struct {
	holder Store
	claim  Claim
}

// WithClaim returns ctx carrying the attempt's claim on a key that holder
// keeps, which holder's write transactions under ctx mark their key with.
// Another store's transactions under ctx (an exercise's world, made by a
// call on the live server) do not: the key is not theirs to mark.
func WithClaim(ctx context.Context, holder Store, c Claim) context.Context {
	return context.WithValue(ctx, claimKey{}, heldClaim{holder: holder, claim: c})
}

// ClaimFrom returns the claim ctx carries on a key that holder keeps, if
// any.
func ClaimFrom(ctx context.Context, holder Store) (Claim, bool) {
	h, ok := ctx.Value(claimKey{}).(heldClaim)
	if !ok || h.holder != holder {
		return Claim{}, false
	}
	return h.claim, true
}
