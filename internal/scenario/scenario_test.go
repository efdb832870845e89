package scenario_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/mla-flow/mla-flow/internal/scenario"
)

func TestBundled(t *testing.T) {
	all, err := scenario.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, s := range all {
		ids[s.ID] = true
		simulated, trainees := 0, 0
		for _, a := range s.Authorities {
			if a.Simulated() {
				simulated++
			} else {
				trainees++
			}
		}
		if simulated == 0 || trainees == 0 || len(s.Requests) == 0 || len(s.Injects) == 0 || len(s.Scoring.Rules) == 0 {
			t.Errorf("%s: %d simulated, %d trainee authorities, %d requests, %d injects, %d rules; want each",
				s.ID, simulated, trainees, len(s.Requests), len(s.Injects), len(s.Scoring.Rules))
		}
	}
	for _, want := range []string{"palermo-ring", "urgent-extradition", "refusal-death-penalty"} {
		if !ids[want] {
			t.Errorf("no bundled scenario %q", want)
		}
	}
}

// valid is the smallest scenario the loader accepts; each case breaks it.
const valid = `id: tiny
title: Tiny
summary: The smallest scenario.
authorities:
  - code: IT
    name: Italy
    played: trainee
    trainee_roles: [officer]
  - code: NG
    name: Nigeria
    played: simulated
requests:
  - key: one
    from: NG
    to: IT
    kind: mla
    instrument: untoc
    title: One request
injects:
  - id: hello
    title: Hello
    at: 1d
    kind: message
    from: NG
    request: one
    message: {kind: message, body: Hello}
behaviour:
  - authority: NG
    answer_messages: {after: 1h..2h}
scoring:
  rules:
    - id: ack
      label: Acknowledged
      request: one
      event: acknowledge
      within: 2d
      points: 10
`

func TestLoad_valid(t *testing.T) {
	all, err := scenario.Load(fstest.MapFS{"tiny.yaml": {Data: []byte(valid)}})
	if err != nil {
		t.Fatal(err)
	}
	s := all[0]
	in, ok := s.Inject("hello")
	if !ok || in.At == nil || in.At.D().Hours() != 24 || in.Manual() {
		t.Errorf("inject hello = %+v, %v; want at 1d", in, ok)
	}
	if b := s.Behaviour[0].AnswerMessages; b == nil || b.After.Min.D().Hours() != 1 || b.After.Max.D().Hours() != 2 {
		t.Errorf("answer_messages = %+v, want after 1h..2h", b)
	}
	if got := strings.Join(s.TraineeRoles(), ","); got != "officer" {
		t.Errorf("trainee roles %q", got)
	}
}

func TestLoad_broken(t *testing.T) {
	cases := []struct {
		name     string
		old, new string // the edit of valid that breaks it
		want     string // the problem, with file, line and field
	}{
		{"unknown field", "summary: The smallest scenario.\n", "summary: The smallest scenario.\nsumary: typo\n", "broken.yaml:4: sumary: unknown field"},
		{"unknown nested field", "    kind: mla\n", "    kind: mla\n    urgent: yes\n", "broken.yaml:17: requests[0].urgent: unknown field"},
		{"missing title", "title: Tiny\n", "", "broken.yaml:1: title: is required"},
		{"bad played", "played: simulated", "played: robot", "broken.yaml:11: authorities[1].played: must be trainee or simulated"},
		{"unknown authority", "    to: IT\n", "    to: FR\n", "broken.yaml:15: requests[0].to: \"FR\" is not an authority of the scenario"},
		{"bad kind", "kind: mla", "kind: letter", "broken.yaml:16: requests[0].kind: must be mla or extradition"},
		{"instrument of another kind", "instrument: untoc", "instrument: eaw", "broken.yaml:17: requests[0].instrument: eaw does not serve requests of kind mla"},
		{"bad duration", "at: 1d", "at: tomorrow", "broken.yaml:22: injects[0].at: \"tomorrow\" is not a duration"},
		{"inject to unknown request", "    request: one\n", "    request: two\n", "broken.yaml:25: injects[0].request: no request of the scenario has the key \"two\""},
		{"trainee moves scripted", "  - authority: NG\n", "  - authority: IT\n", "broken.yaml:28: behaviour[0].authority: IT is played by trainees"},
		{"rule on a bot's event", "      event: acknowledge\n", "      event: send\n", "broken.yaml:35: scoring.rules[0].event: send is fired by NG, which is simulated"},
		{"wrong type", "      points: 10\n", "      points: ten\n", "broken.yaml:37: scoring.rules[0].points: must be a whole number"},
		{"not a list", "trainee_roles: [officer]", "trainee_roles: officer", "broken.yaml:8: authorities[0].trainee_roles: must be a list"},
		{"syntax", "title: Tiny\n", "title: [Tiny\n", "broken.yaml:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(valid, tc.old) {
				t.Fatalf("the case edits %q, which valid lacks", tc.old)
			}
			text := strings.Replace(valid, tc.old, tc.new, 1)
			_, err := scenario.Load(fstest.MapFS{"broken.yaml": {Data: []byte(text)}, "tiny.yaml": {Data: []byte(valid)}})
			if err == nil {
				t.Fatalf("loaded, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "tiny.yaml") {
				t.Errorf("the valid file is blamed too:\n%v", err)
			}
		})
	}
}

func TestLoad_everyProblemAtOnce(t *testing.T) {
	text := strings.Replace(strings.Replace(valid, "kind: mla", "kind: letter", 1), "played: simulated", "played: robot", 1)
	_, err := scenario.Load(fstest.MapFS{"two.yaml": {Data: []byte(text)}})
	if err == nil || !strings.Contains(err.Error(), "two.yaml:11:") || !strings.Contains(err.Error(), "two.yaml:16:") {
		t.Errorf("error %v, want both problems, each with its line", err)
	}
}

func TestLoad_duplicateID(t *testing.T) {
	_, err := scenario.Load(fstest.MapFS{"a.yaml": {Data: []byte(valid)}, "b.yaml": {Data: []byte(valid)}})
	if err == nil || !strings.Contains(err.Error(), `b.yaml:1: id: "tiny" is already the id of a.yaml`) {
		t.Errorf("error %v, want the second file blamed for the repeated id", err)
	}
}

func TestParseOffset(t *testing.T) {
	for in, want := range map[string]string{"36h": "1d12h0m0s", "2d": "2d", "1d12h": "1d12h0m0s", "90m": "1h30m0s"} {
		o, err := scenario.ParseOffset(in)
		if err != nil || o.String() != want {
			t.Errorf("ParseOffset(%q) = %s, %v; want %s", in, o, err, want)
		}
	}
	for _, in := range []string{"", "-1h", "xd", "1d-2h", "soon"} {
		if _, err := scenario.ParseOffset(in); err == nil {
			t.Errorf("ParseOffset(%q) accepted", in)
		}
	}
	if _, err := scenario.ParseDelay("5h..2h"); err == nil {
		t.Error("a delay ending before it starts was accepted")
	}
}
