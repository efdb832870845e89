package isolation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// integrationEntry is one audit entry the fixture makes of the API keys,
// the webhooks or the exercises: its action, its actor, and the authority
// it is recorded under (its actor's), which decides who reads it.
type integrationEntry struct {
	action, actor, authority string
}

// testAuditOfIntegrations: the audit log and the audit page show the
// entries of api_key.*, webhook.* and exercise.* by the one rule of every
// other action (Policy.AuditScope, docs/SECURITY.md): the admin reads all
// of them; an auditor those recorded under its own authority, that is,
// made or tried by its authority's users and keys, and none of another
// authority's webhooks or keys; the administrator's and the trainer's,
// recorded under no authority, only the admin; every other role, and a
// trainee in its world, none (403).
func (x *xWorld) testAuditOfIntegrations(t *testing.T) {
	ctx := context.Background()
	byName := map[string]*xCaller{}
	for _, c := range x.callers {
		if c.world == "live" {
			byName[c.name] = c
		}
	}
	api := func(c *xCaller, method, path string, body any) (int, []byte) {
		t.Helper()
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		status, _, ans := x.do(t, c, method, path, b, false)
		return status, ans
	}
	actorOf := func(name string) workflow.Actor {
		c := byName[name]
		return workflow.Actor{Username: c.name, Role: c.role, Authority: c.authority}
	}

	// API keys: the admin makes one of ES and revokes it; an IT
	// supervisor tries to make one; the revoked key is used, which is
	// recorded under the key's name and authority.
	expires := x.tw.Clock.Now().AddDate(0, 3, 0).Format(time.RFC3339)
	status, ans := api(byName["admin"], http.MethodPost, "/api/v1/api-keys",
		map[string]any{"name": "es-cms", "role": "officer", "authority": "ES", "expires_at": expires})
	var key struct{ ID, Key string }
	if status != http.StatusCreated || json.Unmarshal(ans, &key) != nil || key.Key == "" {
		t.Fatalf("the admin makes an API key: %d %s", status, ans)
	}
	if status, ans := api(byName["it.supervisor"], http.MethodPost, "/api/v1/api-keys",
		map[string]any{"name": "it-cms", "role": "officer", "authority": "IT", "expires_at": expires}); status != http.StatusForbidden {
		t.Fatalf("an IT supervisor makes an API key: %d %s", status, ans)
	}
	if status, ans := api(byName["admin"], http.MethodDelete, "/api/v1/api-keys/"+key.ID, nil); status != http.StatusNoContent {
		t.Fatalf("the admin revokes the key: %d %s", status, ans)
	}
	if status, _ := api(&xCaller{token: key.Key}, http.MethodGet, "/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("the revoked key is used: %d, want 401", status)
	}

	// Webhooks (the live server of these tests serves no webhook routes:
	// the service behind them): an ES supervisor subscribes and deletes;
	// an IT officer tries; the admin subscribes NG.
	destination := "https://93.184.216.34/hooks/mla"
	es, err := x.tw.Webhooks.Create(ctx, actorOf("es.supervisor"), webhook.NewSubscription{URL: destination, Events: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.tw.Webhooks.Delete(ctx, actorOf("es.supervisor"), es.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := x.tw.Webhooks.Create(ctx, actorOf("it.officer"), webhook.NewSubscription{URL: destination, Events: []string{"*"}}); workflow.ErrorCode(err) != workflow.ErrForbidden {
		t.Fatalf("an IT officer subscribes: %v, want forbidden", err)
	}
	if _, err := x.tw.Webhooks.Create(ctx, actorOf("admin"), webhook.NewSubscription{URL: destination, Events: []string{"*"}, Authority: "NG"}); err != nil {
		t.Fatal(err)
	}

	// Exercises: the trainer made and started two (newXWorld); an IT
	// officer tries to make one.
	if status, ans := api(byName["it.officer"], http.MethodPost, "/api/v1/exercises", map[string]any{"scenario": "fixture"}); status != http.StatusForbidden {
		t.Fatalf("an IT officer makes an exercise: %d %s", status, ans)
	}

	entries := []integrationEntry{
		{"api_key.create", "admin", ""},
		{"api_key.create", "it.supervisor", "IT"},
		{"api_key.revoke", "admin", ""},
		{"api_key.use", "key:es-cms", "ES"},
		{"webhook.create", "es.supervisor", "ES"},
		{"webhook.delete", "es.supervisor", "ES"},
		{"webhook.create", "it.officer", "IT"},
		{"webhook.create", "admin", ""},
		{"exercise.create", "trainer", ""},
		{"exercise.clock", "trainer", ""},
		{"exercise.create", "it.officer", "IT"},
	}
	for _, c := range x.callers {
		if c.role == anonymous {
			continue // the other tables check the log-in first
		}
		readsLog := c.world == "live" && (c.role == workflow.RoleAdmin || c.role == workflow.RoleAuditor)
		for _, e := range entries {
			want := 0
			if readsLog && (c.role == workflow.RoleAdmin || c.authority == e.authority) {
				want = 1
			}
			q := url.Values{"action": {e.action}, "actor": {e.actor}, "limit": {"200"}}.Encode()

			what := fmt.Sprintf("%s (%s) GET /api/v1/audit?%s", c.name, c.world, q)
			status, ans := api(c, http.MethodGet, "/api/v1/audit?"+q, nil)
			if !readsLog {
				if status != http.StatusForbidden {
					t.Errorf("%s: %d, want 403", what, status)
				}
			} else {
				var p pageOfAudit
				if status != http.StatusOK || json.Unmarshal(ans, &p) != nil {
					t.Errorf("%s: %d %s", what, status, short(ans))
					continue
				}
				got := 0
				for _, it := range p.Items {
					if it.Action != e.action || it.Actor != e.actor {
						t.Errorf("%s: an entry %s by %s, outside the filter", what, it.Action, it.Actor)
						continue
					}
					if it.Authority != e.authority {
						t.Errorf("%s: recorded under %q, want %q", what, it.Authority, e.authority)
					}
					got = 1
				}
				if got != want {
					t.Errorf("%s: shown=%v, want %v", what, got == 1, want == 1)
				}
			}

			what = fmt.Sprintf("%s (%s) GET /audit?%s", c.name, c.world, q)
			status, _, page := x.do(t, c, http.MethodGet, "/audit?"+q, nil, true)
			if !readsLog {
				if status != http.StatusForbidden && !(c.world != "live" && status == http.StatusNotFound) {
					t.Errorf("%s: %d, want 403", what, status)
				}
				continue
			}
			shown := bytes.Contains(page, []byte(`<code class="action-code">`+e.action+`</code>`))
			if status != http.StatusOK || shown != (want == 1) {
				t.Errorf("%s: %d, shown=%v, want %v", what, status, shown, want == 1)
			}
		}
	}
}
