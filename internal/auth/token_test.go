package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mla-flow/mla-flow/internal/testkit"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }
func mustTokens(t *testing.T, c *clock) *Tokens {
	t.Helper()
	tk, err := NewTokens(testSecret, 0, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// claimsAt returns valid claims for user u at time now; tests spoil them.
func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": TokenIssuer, "aud": TokenAudience, "sub": "u1", "jti": "j",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

// sign signs claims with the test secret's key id in the header.
func sign(t *testing.T, m jwt.SigningMethod, claims jwt.MapClaims, key any) string {
	t.Helper()
	return signKid(t, m, claims, key, ConfiguredKeyID(testSecret))
}

// signKid signs claims with kid in the header ("" for none).
func signKid(t *testing.T, m jwt.SigningMethod, claims jwt.MapClaims, key any, kid string) string {
	t.Helper()
	return testkit.SignJWT(t, m, claims, key, kid)
}

func TestTokens_IssueVerify(t *testing.T) {
	c := newClock()
	tk := mustTokens(t, c)
	ctx := context.Background()
	tok, life, err := tk.issue(ctx, "u1", "s1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if life != DefaultTokenLifetime {
		t.Errorf("lifetime %s, want %s", life, DefaultTokenLifetime)
	}
	cl, err := tk.Verify(ctx, tok)
	if err != nil || cl.UserID != "u1" || cl.SessionID != "s1" || cl.KeyID != ConfiguredKeyID(testSecret) {
		t.Fatalf("Verify = %+v, %v; want u1 in s1 signed by the test key", cl, err)
	}
	c.advance(DefaultTokenLifetime - time.Second)
	if _, err := tk.Verify(ctx, tok); err != nil {
		t.Fatalf("just before expiry: %v, want valid", err)
	}
	c.advance(tokenLeeway + 2*time.Second)
	if _, err := tk.Verify(ctx, tok); err == nil {
		t.Fatal("expired token accepted")
	}
	other, _, _ := tk.issue(ctx, "u1", "s1", time.Time{})
	if other == tok {
		t.Error("two tokens are identical; want distinct jti")
	}
}

func TestTokens_notAfter(t *testing.T) {
	c := newClock()
	tk := mustTokens(t, c)
	ctx := context.Background()
	tok, life, err := tk.issue(ctx, "u1", "s1", c.now().Add(5*time.Minute))
	if err != nil || life != 5*time.Minute {
		t.Fatalf("capped at the session's end: %s, %v; want 5m", life, err)
	}
	cl, err := tk.Verify(ctx, tok)
	if err != nil || !cl.ExpiresAt.Equal(c.now().Add(5*time.Minute)) {
		t.Fatalf("Verify = %+v, %v", cl, err)
	}
	if _, _, err := tk.issue(ctx, "u1", "s1", c.now()); err == nil {
		t.Fatal("a token for a session that has ended was issued")
	}
}

func TestTokens_Reject(t *testing.T) {
	c := newClock()
	now := c.now()
	tk := mustTokens(t, c)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	valid := sign(t, jwt.SigningMethodHS256, claimsAt(now), testSecret)
	spoil := func(f func(jwt.MapClaims)) string {
		cl := claimsAt(now)
		f(cl)
		return sign(t, jwt.SigningMethodHS256, cl, testSecret)
	}
	parts := strings.Split(valid, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "not-a-token"},
		{"three garbage parts", "a.b.c"},
		{"alg none", sign(t, jwt.SigningMethodNone, claimsAt(now), jwt.UnsafeAllowNoneSignatureType)},
		{"alg none hand-made", b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"HS384 with the secret", sign(t, jwt.SigningMethodHS384, claimsAt(now), testSecret)},
		{"HS512 with the secret", sign(t, jwt.SigningMethodHS512, claimsAt(now), testSecret)},
		{"RS256 forged", sign(t, jwt.SigningMethodRS256, claimsAt(now), rsaKey)},
		{"header says HS384, HS256 signature", b64([]byte(`{"alg":"HS384","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]},
		{"other secret", sign(t, jwt.SigningMethodHS256, claimsAt(now), []byte("another secret of thirty-two bytes!"))},
		{"tampered payload", parts[0] + "." + b64([]byte(`{"iss":"mla-flow","aud":"mla-flow-api","sub":"admin","exp":9999999999,"iat":1}`)) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))},
		{"no key id", signKid(t, jwt.SigningMethodHS256, claimsAt(now), testSecret, "")},
		{"unknown key id", signKid(t, jwt.SigningMethodHS256, claimsAt(now), testSecret, "key-0123456789abcdef")},
		{"key id not a string", b64([]byte(`{"alg":"HS256","typ":"JWT","kid":7}`)) + "." + parts[1] + "." + parts[2]},
		{"key id of odd characters", signKid(t, jwt.SigningMethodHS256, claimsAt(now), testSecret, "../../etc/passwd")},
		{"expired", spoil(func(m jwt.MapClaims) { m["exp"] = now.Add(-time.Hour).Unix() })},
		{"missing exp", spoil(func(m jwt.MapClaims) { delete(m, "exp") })},
		{"wrong issuer", spoil(func(m jwt.MapClaims) { m["iss"] = "someone-else" })},
		{"missing issuer", spoil(func(m jwt.MapClaims) { delete(m, "iss") })},
		{"wrong audience", spoil(func(m jwt.MapClaims) { m["aud"] = "other-api" })},
		{"missing audience", spoil(func(m jwt.MapClaims) { delete(m, "aud") })},
		{"not yet valid", spoil(func(m jwt.MapClaims) { m["nbf"] = now.Add(time.Hour).Unix() })},
		{"issued in the future", spoil(func(m jwt.MapClaims) { m["iat"] = now.Add(time.Hour).Unix() })},
		{"no subject", spoil(func(m jwt.MapClaims) { delete(m, "sub") })},
		{"exp as a string", spoil(func(m jwt.MapClaims) { m["exp"] = "tomorrow" })},
	}
	ctx := context.Background()
	if _, err := tk.Verify(ctx, valid); err != nil {
		t.Fatalf("the unspoilt token is refused: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if cl, err := tk.Verify(ctx, tc.token); err == nil {
				t.Fatalf("accepted with claims %+v, want refused", cl)
			}
		})
	}
}

func TestNewTokens_shortSecret(t *testing.T) {
	if _, err := NewTokens([]byte("short"), 0, nil); err == nil {
		t.Fatal("a 5-byte secret is accepted, want an error")
	}
}
