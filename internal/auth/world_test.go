package auth

import (
	"context"
	"testing"
	"time"
)

// TestWorldTokens: a world's tokens name their world and verify only
// there: not with the live server's tokens over the same keys, not in
// another world; the live server's name no world.
func TestWorldTokens(t *testing.T) {
	ctx := context.Background()
	store, c := &memKeys{}, newClock()
	ring, err := OpenKeyRing(ctx, store, KeyRingOptions{TokenLifetime: time.Hour, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	live, err := NewRingTokens(ring, time.Hour, c.now)
	if err != nil {
		t.Fatal(err)
	}
	worldA, err := NewWorldTokens(ring, time.Hour, c.now, "a1")
	if err != nil {
		t.Fatal(err)
	}
	worldB, err := NewWorldTokens(ring, time.Hour, c.now, "b2")
	if err != nil {
		t.Fatal(err)
	}
	liveTok, _, err := live.issue(ctx, "u1", "s1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	aTok, _, err := worldA.issue(ctx, "u1", "s1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if TokenWorld(aTok) != "a1" || TokenWorld(liveTok) != "" || TokenWorld("not.a.token") != "" || TokenWorld("") != "" {
		t.Fatalf("TokenWorld: %q %q", TokenWorld(aTok), TokenWorld(liveTok))
	}
	if _, err := worldA.Verify(ctx, aTok); err != nil {
		t.Fatalf("the world refuses its own token: %v", err)
	}
	for name, check := range map[string]func() error{
		"live takes a world's":   func() error { _, err := live.Verify(ctx, aTok); return err },
		"world B takes A's":      func() error { _, err := worldB.Verify(ctx, aTok); return err },
		"a world takes the live": func() error { _, err := worldA.Verify(ctx, liveTok); return err },
	} {
		if check() == nil {
			t.Errorf("%s token, with the same keys", name)
		}
	}
	if RefreshTokenWorld("exercise.a1.abc") != "a1" || RefreshTokenWorld("abc") != "" || RefreshTokenWorld("exercise.a1") != "" {
		t.Error("RefreshTokenWorld")
	}
}
