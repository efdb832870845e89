package workflow_test

import (
	"slices"
	"testing"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestReadableDetails: what a reader may not read is left out and named;
// what it may read is the stored text byte for byte; an unclassified key
// and details that are not an object are withheld from everybody.
func TestReadableDetails(t *testing.T) {
	metaOnly := func(c workflow.DetailClass) bool { return c == workflow.DetailMeta }
	everything := func(c workflow.DetailClass) bool { return true }
	classified := func(c workflow.DetailClass) bool { return c != workflow.DetailUnclassified }
	const refusal = `{"event":"refuse","from":"sent","grounds":["dual_criminality"],"to":"refused","version":3}`
	tests := []struct {
		name         string
		details      string
		may          func(workflow.DetailClass) bool
		wantDetails  string
		wantRedacted []string
	}{
		{"metadata only", refusal, metaOnly, `{"event":"refuse","from":"sent","to":"refused","version":3}`, []string{"grounds"}},
		{"all of it", refusal, classified, refusal, []string{}},
		{"digests, old and keyed", `{"comment_hmac":"ab","comment_sha256":"cd","event":"execute","note":"<&>"}`, metaOnly,
			`{"event":"execute"}`, []string{"comment_hmac", "comment_sha256", "note"}},
		{"text kept as stored", `{"event":"x <&>","grounds":[]}`, metaOnly, `{"event":"x <&>"}`, []string{"grounds"}},
		{"unclassified key", `{"event":"send","new_thing":"case text"}`, everything, `{"event":"send","new_thing":"case text"}`, []string{}},
		{"unclassified key, fail closed", `{"event":"send","new_thing":"case text"}`, classified, `{"event":"send"}`, []string{"new_thing"}},
		{"empty", "", metaOnly, "{}", []string{}},
		{"not an object", `["grounds"]`, everything, "{}", []string{workflow.RedactedAll}},
		{"null", `null`, everything, "{}", []string{workflow.RedactedAll}},
		{"not JSON", `{"grounds":`, everything, "{}", []string{workflow.RedactedAll}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, redacted := workflow.ReadableDetails(tc.details, tc.may)
			if got != tc.wantDetails || !slices.Equal(redacted, tc.wantRedacted) || redacted == nil {
				t.Fatalf("got %s, redacted %#v; want %s, %#v", got, redacted, tc.wantDetails, tc.wantRedacted)
			}
		})
	}
}

// TestClassOf: what the workflow writes is classified as the Policy needs
// it: case content and digests apart from metadata; an unknown key has
// no class.
func TestClassOf(t *testing.T) {
	for key, want := range map[string]workflow.DetailClass{
		"event": workflow.DetailMeta, "reference": workflow.DetailMeta, "error": workflow.DetailMeta,
		"grounds":      workflow.DetailCase,
		"comment_hmac": workflow.DetailDigest, "content_hmac": workflow.DetailDigest,
		"comment_sha256": workflow.DetailDigest, "content_sha256": workflow.DetailDigest,
		"comment": workflow.DetailUnclassified, "title": workflow.DetailUnclassified,
	} {
		if got := workflow.ClassOf(key); got != want {
			t.Errorf("ClassOf(%q) = %d, want %d", key, got, want)
		}
	}
}
