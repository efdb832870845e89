package auth

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// memKeys is an in-memory KeyStore shared by the "servers" of a test.
type memKeys struct {
	mu    sync.Mutex
	keys  []SigningKey
	audit []workflow.AuditRecord
	reads atomic.Int64
}

func (m *memKeys) SigningKeys(context.Context) ([]SigningKey, error) {
	m.reads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.keys), nil
}

func (m *memKeys) AddSigningKey(_ context.Context, k SigningKey, when KeyAddition, rec *workflow.Change) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.keys {
		switch {
		case when == AddIfUnknown && x.ID == k.ID:
			return false, nil
		case when == AddIfNoneUsable && x.RetiredAt.IsZero() && len(x.Secret) > 0:
			return false, nil
		}
	}
	for i := range m.keys {
		if m.keys[i].RetiredAt.IsZero() {
			m.keys[i].RetiredAt = k.CreatedAt
		}
	}
	m.keys = append(m.keys, k)
	if rec != nil {
		m.audit = append(m.audit, rec.AuditRecord())
	}
	return true, nil
}

// ringServer is one server's ring and tokens over a shared key store.
type ringServer struct {
	ring   *KeyRing
	tokens *Tokens
}

func openRingServer(t *testing.T, store KeyStore, c *clock, configured []byte) ringServer {
	t.Helper()
	ctx := context.Background()
	ring, err := OpenKeyRing(ctx, store, KeyRingOptions{Configured: configured, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := NewRingTokens(ring, 0, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return ringServer{ring: ring, tokens: tk}
}

func (s ringServer) issue(t *testing.T) (string, Claims) {
	t.Helper()
	ctx := context.Background()
	tok, _, err := s.tokens.issue(ctx, "u1", "s1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := s.tokens.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("own token refused: %v", err)
	}
	return tok, cl
}

func (s ringServer) accepts(tok string) bool {
	_, err := s.tokens.Verify(context.Background(), tok)
	return err == nil
}

func TestKeyRing_firstKeyIsShared(t *testing.T) {
	store, c := &memKeys{}, newClock()
	a := openRingServer(t, store, c, nil)
	b := openRingServer(t, store, c, nil)
	if len(store.keys) != 1 {
		t.Fatalf("%d keys after two servers started, want 1", len(store.keys))
	}
	tok, cl := a.issue(t)
	if cl.KeyID != store.keys[0].ID || !b.accepts(tok) {
		t.Fatalf("a token of server a (kid %s) is not accepted by server b", cl.KeyID)
	}
}

func TestKeyRing_rotation(t *testing.T) {
	ctx := context.Background()
	store, c := &memKeys{}, newClock()
	a := openRingServer(t, store, c, nil)
	b := openRingServer(t, store, c, nil)
	quiet := openRingServer(t, store, c, nil) // sees no token of the new key
	before, oldClaims := a.issue(t)

	k, err := a.ring.Rotate(ctx, workflow.Actor{Username: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Secret) != 0 || k.ID == oldClaims.KeyID {
		t.Fatalf("Rotate returned %+v", k)
	}
	if r := store.audit; len(r) != 1 || r[0].Action != ActionKeyRotate || r[0].Details["kid"] != k.ID || r[0].Actor != "cli" {
		t.Fatalf("audit %+v, want one auth.key_rotate of the new kid by cli", r)
	}
	// The rotating server signs with the new key at once...
	after, newClaims := a.issue(t)
	if newClaims.KeyID != k.ID {
		t.Fatalf("after rotation a signs with %s, want %s", newClaims.KeyID, k.ID)
	}
	// ...another accepts it at once: the unknown kid makes it read the
	// ring again, and it signs with the new key from then on too.
	if !b.accepts(after) {
		t.Fatal("server b refuses a token of the new key")
	}
	if _, cl := b.issue(t); cl.KeyID != k.ID {
		t.Fatalf("b signs with %s after reading the ring, want %s", cl.KeyID, k.ID)
	}
	// A server that has not seen the new key signs with the old one until
	// its next reload.
	if _, cl := quiet.issue(t); cl.KeyID != oldClaims.KeyID {
		t.Fatalf("a quiet server switched keys before its reload interval: %s", cl.KeyID)
	}
	// Nobody is logged out: the old key's tokens stay valid.
	if !a.accepts(before) || !b.accepts(before) {
		t.Fatal("a token of the retired key is refused right after the rotation")
	}
	c.advance(KeyReloadInterval)
	if _, cl := quiet.issue(t); cl.KeyID != k.ID {
		t.Fatalf("the quiet server signs with %s a reload interval after the rotation, want %s", cl.KeyID, k.ID)
	}
	// A retired key verifies for the grace period, then nothing.
	if _, ok := b.ring.verifyingKey(ctx, oldClaims.KeyID); !ok {
		t.Fatal("the retired key stopped verifying within its grace period")
	}
	c.advance(a.ring.Grace())
	if _, ok := a.ring.verifyingKey(ctx, oldClaims.KeyID); ok {
		t.Fatal("the retired key still verifies after its grace period")
	}
	// Both servers have verified the token before (and remember that):
	// it is refused all the same.
	if a.accepts(before) || b.accepts(before) {
		t.Fatal("a token of the retired key is accepted after the grace period")
	}
	if _, ok := a.ring.verifyingKey(ctx, k.ID); !ok {
		t.Fatal("the new key does not verify")
	}
}

func TestKeyRing_graceCoversTheTokenLifetime(t *testing.T) {
	store, c := &memKeys{}, newClock()
	r, err := OpenKeyRing(context.Background(), store, KeyRingOptions{TokenLifetime: time.Hour, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if r.Grace() < time.Hour+KeyReloadInterval {
		t.Fatalf("grace %s, want at least the token lifetime plus the reload interval", r.Grace())
	}
}

func TestKeyRing_unknownKidReloadsAreBounded(t *testing.T) {
	store, c := &memKeys{}, newClock()
	a := openRingServer(t, store, c, nil)
	start := store.reads.Load()
	forged := signKid(t, jwt.SigningMethodHS256, claimsAt(c.now()), testSecret, "key-ffffffffffffffff")
	for range 100 {
		if a.accepts(forged) {
			t.Fatal("a token of an unknown key is accepted")
		}
	}
	if n := store.reads.Load() - start; n != 1 {
		t.Fatalf("100 unknown key ids caused %d reads of the ring within a second, want 1", n)
	}
	c.advance(2 * keyMissInterval)
	if a.accepts(forged) {
		t.Fatal("a token of an unknown key id was accepted")
	}
	if n := store.reads.Load() - start; n != 2 {
		t.Fatalf("%d reads after the interval, want 2", n)
	}
}

func TestKeyRing_configuredSecret(t *testing.T) {
	ctx := context.Background()
	store, c := &memKeys{}, newClock()
	a := openRingServer(t, store, c, testSecret)
	tok, cl := a.issue(t)
	if cl.KeyID != ConfiguredKeyID(testSecret) {
		t.Fatalf("signed by %s, want the configured key %s", cl.KeyID, ConfiguredKeyID(testSecret))
	}
	if len(store.keys) != 1 || len(store.keys[0].Secret) != 0 {
		t.Fatalf("stored %+v, want the configured key's id without its secret", store.keys)
	}
	// The same secret given to the fixed-key Tokens makes the same tokens.
	fixed := mustTokens(t, c)
	if _, err := fixed.Verify(ctx, tok); err != nil {
		t.Fatalf("a fixed-key verifier with the same secret refuses the ring's token: %v", err)
	}
	// A restart with the same secret adds nothing.
	b := openRingServer(t, store, c, testSecret)
	if len(store.keys) != 1 || !b.accepts(tok) {
		t.Fatalf("restart: %d keys, accepts %t", len(store.keys), b.accepts(tok))
	}
	// A rotation takes over from the configured key, also after a restart.
	k, err := a.ring.Rotate(ctx, workflow.Actor{Username: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	d := openRingServer(t, store, c, testSecret)
	if _, cl := d.issue(t); cl.KeyID != k.ID {
		t.Fatalf("after rotation a restarted server signs with %s, want %s", cl.KeyID, k.ID)
	}
	if !d.accepts(tok) {
		t.Fatal("the configured key's token is refused within its grace period")
	}
	// A server without the secret cannot use the configured key.
	other := []byte("a different configured secret, 32+ bytes")
	e := openRingServer(t, store, c, other)
	if e.accepts(tok) {
		t.Fatal("a server with another secret accepts the configured key's token")
	}
}
