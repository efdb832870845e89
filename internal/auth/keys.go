package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Signing keys.
//
// Access tokens are signed with HS256 under one key of a ring and carry its
// id in the JWT header ("kid"). The ring lives in the database, so that
// every server on one database shares it: the newest key that is not
// retired signs, and every key that is not retired, or was retired less
// than a grace period ago, verifies. Rotating (server keys rotate) adds a
// new key and retires the others at once; tokens they signed keep working
// until they expire, so nobody is logged out, and after the grace period the
// old keys verify nothing any more. Servers read the ring again every
// KeyReloadInterval, and at once (at most once a second) when a token names
// a key they do not know, so a rotation reaches every server within a
// minute without a restart.

// KeyReloadInterval is how often a server reads the key ring again.
const KeyReloadInterval = time.Minute

// keyMissInterval bounds the reloads that unknown key ids cause: anybody
// can send a token naming a made-up key, and each would otherwise cost a
// database query.
const keyMissInterval = time.Second

// ActionKeyRotate is the audited action of a key rotation.
const ActionKeyRotate = "auth.key_rotate"

// SigningKey is one key of the ring.
type SigningKey struct {
	// ID is the "kid" of the tokens it signs.
	ID string
	// Secret is the HMAC key, at least MinSecretBytes. It is empty in the
	// database for the key of a configured --jwt-secret: the configuration
	// holds it, the database only its id.
	Secret    []byte
	CreatedAt time.Time
	// RetiredAt is when a newer key took over; zero while the key may sign.
	RetiredAt time.Time
}

// KeyAddition says when KeyStore.AddSigningKey adds its key.
type KeyAddition int

// The conditions of KeyStore.AddSigningKey.
const (
	// AddAlways adds the key: a rotation.
	AddAlways KeyAddition = iota
	// AddIfUnknown adds the key unless a key of its id exists: the key of
	// a configured secret, added once and then treated like any other.
	AddIfUnknown
	// AddIfNoneUsable adds the key unless an unretired key with a stored
	// secret exists: the first key of a database.
	AddIfNoneUsable
)

// KeyStore keeps the key ring; internal/store implements it.
type KeyStore interface {
	// SigningKeys returns every key of the ring.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey adds k under the condition when, retiring every other
	// unretired key at k.CreatedAt, and appends rec (when not nil), in one
	// transaction. It reports whether it added the key.
	AddSigningKey(ctx context.Context, k SigningKey, when KeyAddition, rec *workflow.Change) (bool, error)
}

// ConfiguredKeyID is the key id of a configured secret: a prefix of a
// SHA-256 of it, so that every server given the same secret names it alike
// and a changed secret gets a new id. 64 bits of a hash of a secret of 256
// bits or more tell nothing usable about it.
func ConfiguredKeyID(secret []byte) string {
	h := sha256.New()
	h.Write([]byte("mla-flow signing key id\x00"))
	h.Write(secret)
	return "cfg-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// validKeyID reports whether id can be a key id of this server: 1 to 64
// characters of a-z, 0-9 and '-'. Anything else is refused before any
// lookup.
func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// newSigningKey returns a new random key: 32 bytes of secret, the HS256
// hash size (RFC 7518 3.2), and a random id.
func newSigningKey(now time.Time) (SigningKey, error) {
	secret := make([]byte, 32)
	id := make([]byte, 8)
	if _, err := rand.Read(secret); err != nil {
		return SigningKey{}, fmt.Errorf("new signing key: %w", err)
	}
	if _, err := rand.Read(id); err != nil {
		return SigningKey{}, fmt.Errorf("new signing key: %w", err)
	}
	return SigningKey{ID: "key-" + hex.EncodeToString(id), Secret: secret, CreatedAt: now.UTC()}, nil
}

// keySource gives Tokens its keys: a fixed key (NewTokens) or a KeyRing.
type keySource interface {
	// signingKey returns the key that signs now.
	signingKey(ctx context.Context) (id string, secret []byte, err error)
	// verifyingKey returns the secret of key id if it verifies tokens now.
	verifyingKey(ctx context.Context, id string) ([]byte, bool)
}

// fixedKey is a ring of one key that never changes.
type fixedKey struct {
	id     string
	secret []byte
}

func (k fixedKey) signingKey(context.Context) (string, []byte, error) { return k.id, k.secret, nil }

func (k fixedKey) verifyingKey(_ context.Context, id string) ([]byte, bool) {
	if id != k.id {
		return nil, false
	}
	return k.secret, true
}

// KeyRing is the database's key ring as one server sees it. It is safe for
// concurrent use.
type KeyRing struct {
	store      KeyStore
	configured SigningKey // ID "" when no secret is configured
	grace      time.Duration
	now        func() time.Time
	logger     *slog.Logger

	mu    sync.RWMutex
	state ringState

	reload   sync.Mutex // held while reading the ring from the database
	lastMiss time.Time  // the last reload an unknown id caused; under reload
}

// ringState is one reading of the ring.
type ringState struct {
	signing  SigningKey
	verify   map[string]ringKey
	loadedAt time.Time
}

type ringKey struct {
	secret    []byte
	retiredAt time.Time
}

// KeyRingOptions configure OpenKeyRing.
type KeyRingOptions struct {
	// Configured is the --jwt-secret, if one is set (at least
	// MinSecretBytes). Its key joins the ring under ConfiguredKeyID the
	// first time it is seen and signs from then on, until a rotation.
	Configured []byte
	// TokenLifetime is the longest lifetime of the access tokens the ring
	// signs (0 means DefaultTokenLifetime). A retired key verifies for that
	// long, plus KeyReloadInterval (a server may sign with it until it
	// notices the rotation) and the clock leeway.
	TokenLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives reload failures; nil discards them.
	Logger *slog.Logger
}

// OpenKeyRing makes sure the database holds a key this server can sign
// with (the configured secret's, or a new random one on a new database) and
// reads the ring.
func OpenKeyRing(ctx context.Context, store KeyStore, opts KeyRingOptions) (*KeyRing, error) {
	if store == nil {
		return nil, errors.New("open key ring: no key store")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = DefaultTokenLifetime
	}
	r := &KeyRing{
		store: store, now: opts.Now, logger: opts.Logger,
		grace: opts.TokenLifetime + KeyReloadInterval + tokenLeeway,
	}
	now := opts.Now().UTC()
	if len(opts.Configured) > 0 {
		if err := CheckSecret(opts.Configured); err != nil {
			return nil, err
		}
		r.configured = SigningKey{ID: ConfiguredKeyID(opts.Configured), Secret: append([]byte(nil), opts.Configured...)}
		// Only the id is stored: the secret stays in the configuration.
		if _, err := store.AddSigningKey(ctx, SigningKey{ID: r.configured.ID, CreatedAt: now}, AddIfUnknown, nil); err != nil {
			return nil, fmt.Errorf("add the configured signing key: %w", err)
		}
	} else {
		k, err := newSigningKey(now)
		if err != nil {
			return nil, err
		}
		if _, err := store.AddSigningKey(ctx, k, AddIfNoneUsable, nil); err != nil {
			return nil, fmt.Errorf("add the first signing key: %w", err)
		}
	}
	st, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	r.state = st
	return r, nil
}

// Grace returns how long a retired key still verifies tokens.
func (r *KeyRing) Grace() time.Duration { return r.grace }

// Rotate adds a new random key, which signs from now on (on other servers
// within KeyReloadInterval), and retires every other key; tokens they signed
// stay valid until they expire. The rotation is audited as by. It returns
// the new key without its secret.
func (r *KeyRing) Rotate(ctx context.Context, by workflow.Actor) (SigningKey, error) {
	now := r.now().UTC()
	k, err := newSigningKey(now)
	if err != nil {
		return SigningKey{}, err
	}
	rec := workflow.Recorded(by, now, ActionKeyRotate, workflow.OutcomeOK, map[string]any{"kid": k.ID})
	if _, err := r.store.AddSigningKey(ctx, k, AddAlways, &rec); err != nil {
		return SigningKey{}, fmt.Errorf("rotate signing keys: %w", err)
	}
	r.reload.Lock()
	defer r.reload.Unlock()
	if err := r.refresh(ctx); err != nil {
		// The rotation stands; this server reads the ring again later.
		r.logger.WarnContext(ctx, "reading the signing keys after a rotation failed", "error", err.Error())
	}
	k.Secret = nil
	return k, nil
}

// load reads the ring from the database.
func (r *KeyRing) load(ctx context.Context) (ringState, error) {
	keys, err := r.store.SigningKeys(ctx)
	if err != nil {
		return ringState{}, fmt.Errorf("read signing keys: %w", err)
	}
	st := ringState{verify: make(map[string]ringKey, len(keys)), loadedAt: r.now()}
	for _, k := range keys {
		secret := k.Secret
		if len(secret) == 0 {
			// A configured key: usable only by servers given its secret.
			if r.configured.ID == "" || k.ID != r.configured.ID {
				continue
			}
			secret = r.configured.Secret
		}
		if CheckSecret(secret) != nil || !validKeyID(k.ID) {
			continue
		}
		st.verify[k.ID] = ringKey{secret: secret, retiredAt: k.RetiredAt}
		if !k.RetiredAt.IsZero() {
			continue
		}
		s := st.signing
		if s.ID == "" || k.CreatedAt.After(s.CreatedAt) || k.CreatedAt.Equal(s.CreatedAt) && k.ID > s.ID {
			st.signing = SigningKey{ID: k.ID, Secret: secret, CreatedAt: k.CreatedAt}
		}
	}
	if st.signing.ID == "" {
		return ringState{}, errors.New("the key ring has no unretired key whose secret this server holds; " +
			"run `server keys rotate`, or give the server the configured --jwt-secret")
	}
	return st, nil
}

// refresh reads the ring again and keeps it; the caller holds r.reload.
func (r *KeyRing) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	st, err := r.load(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		// Keep the keys we have, and try again after the interval: a
		// database that is briefly away must not stop token checks.
		r.state.loadedAt = r.now()
		return err
	}
	r.state = st
	return nil
}

// current returns the ring, reading it again first if it is older than
// KeyReloadInterval. Only one caller reloads; the others go on with the
// keys they have.
func (r *KeyRing) current(ctx context.Context) ringState {
	r.mu.RLock()
	st := r.state
	r.mu.RUnlock()
	if r.now().Sub(st.loadedAt) < KeyReloadInterval || !r.reload.TryLock() {
		return st
	}
	defer r.reload.Unlock()
	if err := r.refresh(ctx); err != nil {
		r.logger.WarnContext(ctx, "reading the signing keys failed; keeping the previous ones", "error", err.Error())
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.state
}

func (r *KeyRing) signingKey(ctx context.Context) (string, []byte, error) {
	s := r.current(ctx).signing
	if s.ID == "" {
		return "", nil, errors.New("no signing key")
	}
	return s.ID, s.Secret, nil
}

func (r *KeyRing) verifyingKey(ctx context.Context, id string) ([]byte, bool) {
	st := r.current(ctx)
	k, ok := st.verify[id]
	if !ok {
		// Perhaps another server has just rotated: read the ring again,
		// but at most once per keyMissInterval, whoever asks.
		if !r.reloadForMiss(ctx, st.loadedAt) {
			return nil, false
		}
		r.mu.RLock()
		k, ok = r.state.verify[id]
		r.mu.RUnlock()
		if !ok {
			return nil, false
		}
	}
	if !k.retiredAt.IsZero() && !r.now().Before(k.retiredAt.Add(r.grace)) {
		return nil, false
	}
	return k.secret, true
}

// reloadForMiss reads the ring again for an unknown key id, unless it was
// read after seen (by another caller meanwhile) or an unknown id caused a
// read less than keyMissInterval ago. It reports whether the ring may have
// changed since seen.
func (r *KeyRing) reloadForMiss(ctx context.Context, seen time.Time) bool {
	r.reload.Lock()
	defer r.reload.Unlock()
	r.mu.RLock()
	loaded := r.state.loadedAt
	r.mu.RUnlock()
	if loaded.After(seen) {
		return true
	}
	now := r.now()
	if now.Sub(r.lastMiss) < keyMissInterval {
		return false
	}
	r.lastMiss = now
	if err := r.refresh(ctx); err != nil {
		r.logger.WarnContext(ctx, "reading the signing keys failed", "error", err.Error())
		return false
	}
	return true
}
