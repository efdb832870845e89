package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestAPIKeyFormat: a new key is "mla_" and 43 characters of base64url,
// different every time, told apart from a JWT by its prefix alone; only
// exactly that shape is well formed.
func TestAPIKeyFormat(t *testing.T) {
	a, err := newAPIKeySecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newAPIKeySecret()
	if a == b || len(a) != 47 || !IsAPIKey(a) || !wellFormedAPIKey(a) {
		t.Fatalf("keys %q and %q", a, b)
	}
	for _, bad := range []string{
		"", "mla_", a[:46], a + "A", "MLA_" + a[4:], "mla_" + strings.Repeat("*", 43),
		"mla_" + strings.Repeat("A", 42) + "=", // padding is not base64url's unpadded form
		"mla_" + strings.Repeat("A", 42) + "B", // a last character with bits beyond the 32 bytes
	} {
		if wellFormedAPIKey(bad) {
			t.Errorf("%q is taken for a key", bad)
		}
	}
	if IsAPIKey("eyJhbGciOiJIUzI1NiJ9.e30.x") {
		t.Error("a JWT is taken for a key")
	}
	if string(HashAPIKey(a)) == string(HashAPIKey(b)) || len(HashAPIKey(a)) != 32 {
		t.Error("the hashes of two keys")
	}
}

// TestParseExpiry: in the future, at most MaxAPIKeyLifetime ahead, as an
// RFC 3339 time or a date.
func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		problem bool
	}{
		{"2027-01-31T00:00:00Z", time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), false},
		{"2027-01-31T02:00:00+02:00", time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), false},
		{"2027-01-31", time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), false},
		{"2026-12-04", time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), false},
		{"2026-12-03", time.Time{}, true}, // 00:00 today is past
		{"2026-12-03T10:00:00Z", time.Time{}, true},
		{now.Add(MaxAPIKeyLifetime).Format(time.RFC3339), now.Add(MaxAPIKeyLifetime), false},
		{now.Add(MaxAPIKeyLifetime + time.Second).Format(time.RFC3339), time.Time{}, true},
		{"", time.Time{}, true},
		{"tomorrow", time.Time{}, true},
	}
	for _, tc := range tests {
		got, problem := parseExpiry(tc.in, now)
		if (problem != "") != tc.problem || !got.Equal(tc.want) {
			t.Errorf("parseExpiry(%q) = %v, %q; want %v, problem %v", tc.in, got, problem, tc.want, tc.problem)
		}
	}
}

// TestPolicy_apiKeys: only the admin manages keys; a key acts only as a
// role that works an authority's cases.
func TestPolicy_apiKeys(t *testing.T) {
	p := NewPolicy()
	for _, r := range workflow.Roles {
		if got, want := p.MayManageAPIKeys(workflow.Actor{Role: r, Authority: "IT"}), r == workflow.RoleAdmin; got != want {
			t.Errorf("MayManageAPIKeys(%s) = %v", r, got)
		}
		want := r == workflow.RoleOfficer || r == workflow.RoleSupervisor || r == workflow.RoleAuditor
		if got := p.MayKeyActAs(r); got != want {
			t.Errorf("MayKeyActAs(%s) = %v, want %v", r, got, want)
		}
	}
}

// TestAPIKeyStatus: revoked wins over expired; expiry is exclusive.
func TestAPIKeyStatus(t *testing.T) {
	now := time.Now()
	k := APIKey{ExpiresAt: now}
	if k.Status(now) != "expired" || k.Status(now.Add(-time.Second)) != "active" {
		t.Errorf("status around expiry: %s, %s", k.Status(now), k.Status(now.Add(-time.Second)))
	}
	k.RevokedAt = now.Add(-time.Hour)
	if k.Status(now.Add(-time.Second)) != "revoked" || k.Actor().Username != "key:" {
		t.Errorf("revoked: %s, actor %q", k.Status(now), k.Actor().Username)
	}
}
