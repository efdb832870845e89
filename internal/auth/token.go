package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Fixed claims of mla-flow's access tokens. A token minted for another
// service (or by another service with the same secret) fails these checks.
const (
	TokenIssuer   = "mla-flow"
	TokenAudience = "mla-flow-api"
)

// DefaultTokenLifetime is how long an access token is valid when the caller
// does not say. Access tokens are checked against their session on every
// request, so a log-out ends them at once; they are short-lived all the
// same, so that a token that leaks is worth little, and clients renew them
// with a refresh token.
const DefaultTokenLifetime = 15 * time.Minute

// MinSecretBytes is the shortest HMAC secret accepted: HS256 needs a key of
// at least the hash size (RFC 7518 3.2).
const MinSecretBytes = 32

// CheckSecret tells whether secret may sign access tokens: nil, or why not.
// It is the one statement of the rule: the token issuers apply it, and so
// does cmd/server to a configured secret as soon as its settings are loaded,
// so that a weak one stops the start before anything is opened.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecretBytes {
		return fmt.Errorf("token secret has %d bytes, want at least %d", len(secret), MinSecretBytes)
	}
	return nil
}

// tokenLeeway tolerates clock skew between servers sharing one database:
// without it a token issued by a server whose clock is a moment ahead would
// be "used before issued" on another.
const tokenLeeway = 30 * time.Second

// errBadToken is what every verification failure becomes: the caller learns
// nothing about why a token was refused.
var errBadToken = errors.New("invalid access token")

// Claims are what a verified access token says.
type Claims struct {
	UserID    string // "sub"
	SessionID string // "sid": the session (refresh-token family) it belongs to
	KeyID     string // "kid" of the header: the key that signed it
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// accessClaims is the JWT payload of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid,omitempty"`
}

// Tokens issues and verifies HS256 access tokens.
type Tokens struct {
	keys     keySource
	audience string // TokenAudience, or a world's (see NewWorldTokens)
	lifetime time.Duration
	now      func() time.Time
	parser   *jwt.Parser
	verified verifiedTokens
}

// NewTokens returns a token issuer and verifier with one fixed key: the
// secret (at least MinSecretBytes), under the key id ConfiguredKeyID(secret).
// lifetime 0 means DefaultTokenLifetime, now nil means time.Now. Servers use
// NewRingTokens, whose keys can be rotated; this is for tests and tools.
func NewTokens(secret []byte, lifetime time.Duration, now func() time.Time) (*Tokens, error) {
	if err := CheckSecret(secret); err != nil {
		return nil, err
	}
	return newTokens(fixedKey{id: ConfiguredKeyID(secret), secret: append([]byte(nil), secret...)}, lifetime, now)
}

// NewRingTokens returns a token issuer and verifier over a key ring: the
// ring's newest key signs, its current keys verify.
func NewRingTokens(ring *KeyRing, lifetime time.Duration, now func() time.Time) (*Tokens, error) {
	if ring == nil {
		return nil, errors.New("new tokens: no key ring")
	}
	return newTokens(ring, lifetime, now)
}

// NewWorldTokens is NewRingTokens for the world of a training exercise:
// its tokens name the world in their audience (WorldAudience), so that the
// server can route a call to its world (TokenWorld), and they verify there
// only: a live token is refused by a world, a world's token by the live
// server and by every other world, whatever keys they hold.
func NewWorldTokens(ring *KeyRing, lifetime time.Duration, now func() time.Time, world string) (*Tokens, error) {
	if world == "" {
		return nil, errors.New("new world tokens: no world")
	}
	t, err := NewRingTokens(ring, lifetime, now)
	if err != nil {
		return nil, err
	}
	t.audience = WorldAudience(world)
	t.parser = newParser(t.audience, t.now)
	return t, nil
}

// worldAudiencePrefix starts the audience of a world's tokens.
const worldAudiencePrefix = TokenAudience + "/exercise/"

// WorldAudience is the audience of the tokens of the world called world.
func WorldAudience(world string) string { return worldAudiencePrefix + world }

// TokenWorld tells which world a token claims to belong to, "" for the
// live one or for anything that is no token, without verifying it: it
// only chooses where the token is then verified, by that world's keys.
func TokenWorld(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > 4096 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	// Every live call passes here: most tokens are told apart without
	// decoding their JSON.
	if err != nil || !bytes.Contains(raw, []byte(worldAudiencePrefix)) {
		return ""
	}
	var claims struct {
		Audience jwt.ClaimStrings `json:"aud"`
	}
	if json.Unmarshal(raw, &claims) != nil || len(claims.Audience) != 1 {
		return ""
	}
	world, ok := strings.CutPrefix(claims.Audience[0], worldAudiencePrefix)
	if !ok {
		return ""
	}
	return world
}

func newTokens(keys keySource, lifetime time.Duration, now func() time.Time) (*Tokens, error) {
	if lifetime == 0 {
		lifetime = DefaultTokenLifetime
	}
	if lifetime < 0 {
		return nil, fmt.Errorf("token lifetime %s is negative", lifetime)
	}
	if now == nil {
		now = time.Now
	}
	t := &Tokens{keys: keys, audience: TokenAudience, lifetime: lifetime, now: now}
	t.parser = newParser(t.audience, now)
	return t, nil
}

// newParser pins everything the library would otherwise leave open: the
// algorithm (no "none", no RS256 with the secret as a public key), issuer,
// audience, and a required expiry (jwt/v5 accepts a token without exp
// unless told).
func newParser(audience string, now func() time.Time) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(now),
	)
}

// Lifetime returns how long the tokens it issues are valid.
func (t *Tokens) Lifetime() time.Duration { return t.lifetime }

// issue returns a signed token for the user id in session sid, valid for
// the lifetime but not past notAfter (when not zero), and how long it is
// valid.
func (t *Tokens) issue(ctx context.Context, userID, sid string, notAfter time.Time) (string, time.Duration, error) {
	if userID == "" {
		return "", 0, errors.New("issue token: empty user id")
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", 0, fmt.Errorf("issue token: %w", err)
	}
	kid, secret, err := t.keys.signingKey(ctx)
	if err != nil {
		return "", 0, fmt.Errorf("issue token: %w", err)
	}
	// Whole seconds, as the token states them.
	now := t.now().Truncate(time.Second)
	exp := now.Add(t.lifetime)
	if !notAfter.IsZero() && notAfter.Before(exp) {
		exp = notAfter.Truncate(time.Second)
	}
	if !exp.After(now) {
		return "", 0, errors.New("issue token: the session has ended")
	}
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{t.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        hex.EncodeToString(jti[:]),
		},
		SessionID: sid,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(secret)
	if err != nil {
		return "", 0, fmt.Errorf("sign token: %w", err)
	}
	return s, exp.Sub(now), nil
}

// Verify checks a token's signature, algorithm, key id, issuer, audience
// and times, and returns its claims. A token without a key id, or naming a
// key that does not verify any more, is refused. Any failure is the same
// error.
//
// A client sends the same token with every call for its whole lifetime, and
// parsing it again (base64, JSON, HMAC) was a tenth of the server's CPU
// under load. So a token that verified is remembered, by its exact text,
// with its claims and the key that verified it; on a later call only what
// can have changed since is checked again: its expiry, and that its key
// still verifies (not retired past the grace period, not replaced).
func (t *Tokens) Verify(ctx context.Context, token string) (Claims, error) {
	if c, secret, ok := t.verified.get(token); ok {
		current, live := t.keys.verifyingKey(ctx, c.KeyID)
		if live && subtle.ConstantTimeCompare(current, secret) == 1 && t.now().Before(c.ExpiresAt.Add(tokenLeeway)) {
			return c, nil
		}
		t.verified.drop(token)
		return Claims{}, errBadToken
	}
	var claims accessClaims
	var kid string
	var secret []byte
	parsed, err := t.parser.ParseWithClaims(token, &claims, func(tok *jwt.Token) (any, error) {
		// WithValidMethods already refuses other algorithms; checking the
		// type as well keeps the key from ever being used with another
		// family, should the option be lost in a refactoring.
		if _, ok := tok.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, errBadToken
		}
		id, _ := tok.Header["kid"].(string)
		if !validKeyID(id) {
			return nil, errBadToken
		}
		key, ok := t.keys.verifyingKey(ctx, id)
		if !ok {
			return nil, errBadToken
		}
		kid, secret = id, key
		return key, nil
	})
	if err != nil || !parsed.Valid || claims.Subject == "" || claims.ExpiresAt == nil || claims.IssuedAt == nil {
		return Claims{}, errBadToken
	}
	c := Claims{
		UserID: claims.Subject, SessionID: claims.SessionID, KeyID: kid,
		IssuedAt: claims.IssuedAt.Time, ExpiresAt: claims.ExpiresAt.Time,
	}
	t.verified.put(token, c, secret)
	return c, nil
}

// verifiedTokens remembers tokens that verified (see Tokens.Verify). It is
// bounded: when full it starts over, which costs a parse per token.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	claims Claims
	secret []byte // the key that verified it
}

// maxVerifiedTokens bounds the memory of verifiedTokens: about half a
// kilobyte a token.
const maxVerifiedTokens = 10000

func (v *verifiedTokens) get(token string) (Claims, []byte, bool) {
	v.mu.Lock()
	e, ok := v.m[token]
	v.mu.Unlock()
	return e.claims, e.secret, ok
}

func (v *verifiedTokens) put(token string, c Claims, secret []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= maxVerifiedTokens {
		v.m = make(map[string]verifiedToken)
	}
	v.m[token] = verifiedToken{claims: c, secret: secret}
}

func (v *verifiedTokens) drop(token string) {
	v.mu.Lock()
	delete(v.m, token)
	v.mu.Unlock()
}
