package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

func sign(t *testing.T, m jwt.SigningMethod, claims jwt.MapClaims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokens_IssueVerify(t *testing.T) {
	c := newClock()
	tk := mustTokens(t, c)
	tok, life, err := tk.Issue("u1")
	if err != nil {
		t.Fatal(err)
	}
	if life != DefaultTokenLifetime {
		t.Errorf("lifetime %s, want %s", life, DefaultTokenLifetime)
	}
	sub, err := tk.Verify(tok)
	if err != nil || sub != "u1" {
		t.Fatalf("Verify = %q, %v; want u1, nil", sub, err)
	}
	c.advance(DefaultTokenLifetime - time.Second)
	if _, err := tk.Verify(tok); err != nil {
		t.Fatalf("just before expiry: %v, want valid", err)
	}
	c.advance(tokenLeeway + 2*time.Second)
	if _, err := tk.Verify(tok); err == nil {
		t.Fatal("expired token accepted")
	}
	other, _, _ := tk.Issue("u1")
	if other == tok {
		t.Error("two tokens are identical; want distinct jti")
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
	if _, err := tk.Verify(valid); err != nil {
		t.Fatalf("the unspoilt token is refused: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if sub, err := tk.Verify(tc.token); err == nil {
				t.Fatalf("accepted with subject %q, want refused", sub)
			}
		})
	}
}

func TestNewTokens_shortSecret(t *testing.T) {
	if _, err := NewTokens([]byte("short"), 0, nil); err == nil {
		t.Fatal("a 5-byte secret is accepted, want an error")
	}
}
