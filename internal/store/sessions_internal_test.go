package store

import (
	"testing"
)

// TestSessionColumns checks the hand-written column lists of the sessions
// and refresh tokens (sessions.go) against the row types GORM migrates.
func TestSessionColumns(t *testing.T) {
	var sr sessionRow
	var rr refreshTokenRow
	t.Run("auth_sessions", func(t *testing.T) { checkColumns(t, &sr, sessionColumns, sr.scanTargets()) })
	t.Run("refresh_tokens", func(t *testing.T) { checkColumns(t, &rr, refreshTokenColumns, rr.scanTargets()) })
}
