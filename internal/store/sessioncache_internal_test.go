package store

import (
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestSessionCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newSessionCache()
	c.now = func() time.Time { return now }
	c.maxSize = 3
	k := sessionKey{userID: "u", sessionID: "s"}
	u := workflow.User{ID: "u"}
	s := auth.Session{ID: "s", UserID: "u"}

	if _, _, ok := c.get(k); ok {
		t.Fatal("empty cache answered")
	}
	c.put(k, c.generation(), u, s)
	if gu, gs, ok := c.get(k); !ok || gu.ID != "u" || gs.ID != "s" {
		t.Fatalf("get after put = %+v, %+v, %v", gu, gs, ok)
	}

	t.Run("too old", func(t *testing.T) {
		now = now.Add(c.maxAge)
		defer func() { now = now.Add(-c.maxAge) }()
		if _, _, ok := c.get(k); ok {
			t.Fatal("an answer as old as maxAge was served")
		}
	})
	t.Run("invalidated", func(t *testing.T) {
		c.invalidate()
		if _, _, ok := c.get(k); ok {
			t.Fatal("an answer of an older generation was served")
		}
	})
	t.Run("read before a change", func(t *testing.T) {
		gen := c.generation() // a reader starts ...
		c.invalidate()        // ... a change commits ...
		c.put(k, gen, u, s)   // ... and the reader's answer arrives
		if _, _, ok := c.get(k); ok {
			t.Fatal("an answer read before a change was kept")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		for i := range 10 {
			c.put(sessionKey{userID: "u", sessionID: string(rune('a' + i))}, c.generation(), u, s)
			if len(c.entries) > c.maxSize {
				t.Fatalf("%d entries, bound %d", len(c.entries), c.maxSize)
			}
		}
	})
}
