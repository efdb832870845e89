package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/demo"
)

// caseLine is a line of the start-up output that lists a demo case.
var caseLine = regexp.MustCompile(`^\s+([A-Z]{2}-(MLA|EXT)-\d{4}-\d{6})\s+(\w+)\s`)

// TestRun_demoCases: a first start with --demo creates the demo cases
// beside the users, says so, lists them and points to server seed; the
// authorities' auditors see them, their audit log verifies, and a second
// start seeds nothing more.
func TestRun_demoCases(t *testing.T) {
	db := t.TempDir() + "/mla.db"
	url, printed, stop := startInProcess(t, "--demo", "--db", db)
	joined := strings.Join(printed, "\n")
	for _, want := range []string{"demo cases created", "server seed"} {
		if !strings.Contains(joined, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, joined)
		}
	}
	listed := map[string]string{} // reference → state
	for _, line := range printed {
		if m := caseLine.FindStringSubmatch(line); m != nil {
			listed[m[1]] = m[3]
		}
	}
	if len(listed) < 12 {
		t.Fatalf("%d demo cases listed at start-up, want about a dozen:\n%s", len(listed), joined)
	}
	auditors := make([]*client, len(demo.Authorities))
	for i, cc := range demo.Authorities {
		auditors[i] = login(t, url, strings.ToLower(cc)+".auditor")
	}
	seen := visibleReferences(auditors)
	if len(seen) != len(listed) {
		t.Errorf("the authorities see %d requests, the start-up listed %d", len(seen), len(listed))
	}
	for ref := range listed {
		if !seen[ref] {
			t.Errorf("%s was listed but no authority sees it", ref)
		}
	}
	if v := login(t, url, "admin").must(http.StatusOK, "GET", "/api/v1/audit/verify", nil); v["ok"] != true {
		t.Errorf("audit verify after the demo cases: %v", v)
	}
	stop()

	url, printed, _ = startInProcess(t, "--demo", "--db", db)
	if joined := strings.Join(printed, "\n"); strings.Contains(joined, "demo cases created") {
		t.Errorf("demo cases seeded again:\n%s", joined)
	}
	for _, c := range auditors {
		c.base = url // the sessions outlive the restart
	}
	if n := len(visibleReferences(auditors)); n != len(seen) {
		t.Errorf("after a second start %d requests, want %d", n, len(seen))
	}
}

// visibleReferences gathers the references of the requests the clients
// see.
func visibleReferences(clients []*client) map[string]bool {
	seen := map[string]bool{}
	for _, c := range clients {
		page := c.must(http.StatusOK, "GET", "/api/v1/requests?limit=200", nil)
		for _, it := range page["items"].([]any) {
			seen[it.(map[string]any)["reference"].(string)] = true
		}
	}
	return seen
}
