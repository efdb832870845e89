package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
// does not say. Tokens cannot be revoked one by one (disabling the user can),
// so they are short-lived.
const DefaultTokenLifetime = 15 * time.Minute

// MinSecretBytes is the shortest HMAC secret accepted: HS256 needs a key of
// at least the hash size (RFC 7518 3.2).
const MinSecretBytes = 32

// tokenLeeway tolerates clock skew between servers sharing one database:
// without it a token issued by a server whose clock is a moment ahead would
// be "used before issued" on another.
const tokenLeeway = 30 * time.Second

// errBadToken is what every verification failure becomes: the caller learns
// nothing about why a token was refused.
var errBadToken = errors.New("invalid access token")

// Tokens issues and verifies HS256 access tokens.
type Tokens struct {
	secret   []byte
	lifetime time.Duration
	now      func() time.Time
	parser   *jwt.Parser
}

// NewTokens returns a token issuer and verifier with the given secret (at
// least MinSecretBytes), lifetime (0 means DefaultTokenLifetime) and clock
// (nil means time.Now).
func NewTokens(secret []byte, lifetime time.Duration, now func() time.Time) (*Tokens, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("token secret has %d bytes, want at least %d", len(secret), MinSecretBytes)
	}
	if lifetime == 0 {
		lifetime = DefaultTokenLifetime
	}
	if lifetime < 0 {
		return nil, fmt.Errorf("token lifetime %s is negative", lifetime)
	}
	if now == nil {
		now = time.Now
	}
	t := &Tokens{secret: append([]byte(nil), secret...), lifetime: lifetime, now: now}
	// Pin everything the library would otherwise leave open: the algorithm
	// (no "none", no RS256 with the secret as a public key), issuer,
	// audience, and a required expiry (jwt/v5 accepts a token without exp
	// unless told).
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithAudience(TokenAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(now),
	)
	return t, nil
}

// Lifetime returns how long the tokens it issues are valid.
func (t *Tokens) Lifetime() time.Duration { return t.lifetime }

// Issue returns a signed token for the user id and its lifetime.
func (t *Tokens) Issue(userID string) (string, time.Duration, error) {
	if userID == "" {
		return "", 0, errors.New("issue token: empty user id")
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", 0, fmt.Errorf("issue token: %w", err)
	}
	now := t.now()
	claims := jwt.RegisteredClaims{
		Issuer:    TokenIssuer,
		Subject:   userID,
		Audience:  jwt.ClaimStrings{TokenAudience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.lifetime)),
		ID:        hex.EncodeToString(jti[:]),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.secret)
	if err != nil {
		return "", 0, fmt.Errorf("sign token: %w", err)
	}
	return s, t.lifetime, nil
}

// Verify checks a token's signature, algorithm, issuer, audience and times,
// and returns its subject, the user id. Any failure is the same error.
func (t *Tokens) Verify(token string) (string, error) {
	var claims jwt.RegisteredClaims
	parsed, err := t.parser.ParseWithClaims(token, &claims, func(tok *jwt.Token) (any, error) {
		// WithValidMethods already refuses other algorithms; checking the
		// type as well keeps the key from ever being used with another
		// family, should the option be lost in a refactoring.
		if _, ok := tok.Method.(*jwt.SigningMethodHMAC); !ok {
			return nil, errBadToken
		}
		return t.secret, nil
	})
	if err != nil || !parsed.Valid || claims.Subject == "" {
		return "", errBadToken
	}
	return claims.Subject, nil
}
