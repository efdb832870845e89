package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestReplay_legacyContentDigests replays a creation whose content digest
// was written before empty lists were encoded as []: a request created
// without offences or measures had them as null in its digest, and reads
// back with []. Both encodings verify; another content does not.
func TestReplay_legacyContentDigests(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	r := Request{
		ID: "r1", Reference: "IT-MLA-2026-000001", Kind: KindMLA, State: StateDrafted, Version: 1,
		RequestingAuthority: "IT", RequestedAuthority: "ES", Title: "Bank records", Urgency: UrgencyNormal,
		Offences: []string{}, Measures: []string{}, CreatedAt: at, UpdatedAt: at,
	}
	legacy, _ := json.Marshal([]any{r.Kind, r.RequestedAuthority, r.Title, r.Summary, r.LegalBasis,
		nil, nil, r.Urgency, r.UrgencyReason, r.DueDate, nil, nil})
	plain := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	for _, tc := range []struct {
		name, field, digest string
		agree               bool
	}{
		{"current", "content_hmac", CreatedDetails(testDigester{}, r)["content_hmac"].(string), true},
		{"legacy nulls", "content_sha256", plain(string(legacy)), true},
		{"legacy nulls, keyed", "content_hmac", testDigester{}.Digest(string(legacy)), true},
		{"other content", "content_sha256", plain(strings.Replace(string(legacy), "Bank", "Tax", 1)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			details, _ := json.Marshal(map[string]any{
				"reference": r.Reference, "kind": r.Kind, "requested_authority": "ES", tc.field: tc.digest,
			})
			var a AuditedRequest
			a.Replay(AuditEntry{Seq: 1, At: at, Actor: "it.officer", Authority: "IT", Action: "request.create",
				RequestID: r.ID, Outcome: OutcomeOK, Details: string(details)})
			why := a.Disagreement(r, nil, DigestsOf(testDigester{}))
			if (why == "") != tc.agree {
				t.Fatalf("disagreement %q, want agreement %v", why, tc.agree)
			}
		})
	}
}

// TestReplay_transitionFromAnotherState: an entry that moves a request from
// a state it was not in does not replay, whatever the row says.
func TestReplay_transitionFromAnotherState(t *testing.T) {
	var a AuditedRequest
	a.Replay(AuditEntry{Seq: 1, Action: "request.create", RequestID: "r1", Outcome: OutcomeOK, Details: `{"kind":"mla"}`})
	a.Replay(AuditEntry{Seq: 2, Action: "request.execute", RequestID: "r1", Outcome: OutcomeOK,
		Details: `{"event":"execute","from":"acknowledged","to":"executed","version":2}`})
	if !strings.Contains(a.Problem, "entry 2 moves the request from acknowledged, but it was drafted") {
		t.Fatalf("problem %q", a.Problem)
	}
}

func TestChangesRequest(t *testing.T) {
	for action, want := range map[string]bool{
		"request.create": true, "request.update": true, "request.send": true, "request.refuse": true,
		"request.event": false, "request.view": false, "auth.login": false, "user.create": false,
	} {
		if got := ChangesRequest(action, OutcomeOK); got != want {
			t.Errorf("ChangesRequest(%s) = %v, want %v", action, got, want)
		}
	}
	if ChangesRequest("request.send", OutcomeDenied) {
		t.Error("a denied attempt counts as a change")
	}
}

// testDigester stands in for the store's keyed digester.
type testDigester struct{}

func (testDigester) Digest(text string) string {
	sum := sha256.Sum256([]byte("test key|" + text))
	return hex.EncodeToString(sum[:])
}
