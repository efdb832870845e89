package demo

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestSchedule: the moves of all cases run in the order of their moments,
// each case's in its own order; a case whose moves go back in time, or
// reach now, is refused.
func TestSchedule(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tl := newTimeline(now)
	a := demoCase{draft: workflow.Draft{Title: "a"}, moves: []move{
		draftedBy(tl.ago(10, 9, 0), itOfficer), send(tl.ago(3, 9, 0), itSupervisor),
	}}
	b := demoCase{draft: workflow.Draft{Title: "b"}, moves: []move{
		draftedBy(tl.ago(5, 9, 0), esOfficer), send(tl.ago(1, 9, 0), esSupervisor),
	}}
	plan, err := schedule([]demoCase{a, b}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []planned{{0, 0}, {1, 0}, {0, 1}, {1, 1}}; !slices.Equal(plan, want) {
		t.Errorf("plan %v, want %v", plan, want)
	}

	tests := []struct {
		name  string
		moves []move
		want  string
	}{
		{"no drafting", nil, "no drafting"},
		{"back in time", []move{draftedBy(tl.ago(2, 9, 0), itOfficer), send(tl.ago(4, 9, 0), itSupervisor)}, "does not follow"},
		{"at the same moment", []move{draftedBy(tl.ago(2, 9, 0), itOfficer), send(tl.ago(2, 9, 0), itSupervisor)}, "does not follow"},
		{"not in the past", []move{draftedBy(tl.ago(0, 13, 0), itOfficer)}, "not in the past"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := schedule([]demoCase{{draft: workflow.Draft{Title: "x"}, moves: tc.moves}}, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("schedule: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestStory_inThePast: whatever the time of day it is seeded at, every move
// of the story is before now, and each case's moves follow one another.
func TestStory_inThePast(t *testing.T) {
	for _, now := range []time.Time{
		time.Date(2026, 12, 3, 0, 0, 1, 0, time.UTC),
		time.Date(2027, 1, 15, 23, 59, 59, 0, time.UTC),
	} {
		if _, err := schedule(story(newTimeline(now)), now); err != nil {
			t.Errorf("at %s: %v", now, err)
		}
	}
}
