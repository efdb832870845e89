package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWorld_followsItsClock: a world on a clock of its own, five years
// ahead, stamps everything with that clock and not the machine's: the
// request's times, its history, its audit entry, and the access token's
// issue and expiry. This is what a training exercise on an exercise clock
// relies on.
func TestWorld_followsItsClock(t *testing.T) {
	srv := newTestServer(t)
	const ahead = 5 * 365 * 24 * time.Hour
	srv.clock.Advance(ahead)
	near := func(what, stamp string) {
		t.Helper()
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			t.Fatalf("%s %q: %v", what, stamp, err)
		}
		if d := at.Sub(time.Now().Add(ahead)); d < -time.Minute || d > time.Minute {
			t.Fatalf("%s is %s, %s from the world's clock", what, stamp, d)
		}
	}
	officer := srv.login(t, "it.officer")
	_, payload, _ := strings.Cut(officer, ".")
	payload, _, _ = strings.Cut(payload, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Iat, Exp int64 }
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	near("the token's iat", time.Unix(claims.Iat, 0).UTC().Format(time.RFC3339))
	near("the token's exp", time.Unix(claims.Exp, 0).Add(-15*time.Minute).UTC().Format(time.RFC3339))

	status, r := srv.do(t, officer, http.MethodPost, "/api/v1/requests", map[string]any{
		"kind": "mla", "requested_authority": "ES", "title": "On the world's clock",
	})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, r)
	}
	near("created_at", r["created_at"].(string))
	near("updated_at", r["updated_at"].(string))
	id := r["id"].(string)
	status, out := srv.do(t, srv.login(t, "it.supervisor"), http.MethodPost, "/api/v1/requests/"+id+"/events", map[string]any{"event": "send"})
	if status != http.StatusOK {
		t.Fatalf("send: %d %v", status, out)
	}
	_, hist := srv.do(t, officer, http.MethodGet, "/api/v1/requests/"+id+"/history", nil)
	near("the history's at", hist["items"].([]any)[0].(map[string]any)["at"].(string))
	_, audit := srv.do(t, srv.login(t, "admin"), http.MethodGet, "/api/v1/audit?request_id="+id, nil)
	for _, e := range audit["items"].([]any) {
		near("an audit entry's at", e.(map[string]any)["at"].(string))
	}
}
