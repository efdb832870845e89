package training

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/scenario"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Report is the debrief of an exercise: per request its timeline against
// its deadlines, per trainee what they did well and wrong, and the score by
// the scenario's rules.
type Report struct {
	Scenario    string    `json:"scenario"`
	Title       string    `json:"title"`
	Seed        int64     `json:"seed"`
	StartedAt   time.Time `json:"started_at"`
	GeneratedAt time.Time `json:"generated_at"`
	// Score is the trainees' team score: the points of the rules met, less
	// every penalty, never below zero; MaxScore is every rule's points.
	Score    int             `json:"score"`
	MaxScore int             `json:"max_score"`
	Trainees []TraineeResult `json:"trainees"`
	Requests []RequestResult `json:"requests"`
	Rules    []RuleResult    `json:"rules"`
	Findings []Finding       `json:"findings"`
}

// TraineeResult is one trainee's part: the rules they met, their own
// mistakes, and their score (points earned less their own penalties).
type TraineeResult struct {
	Username  string    `json:"username"`
	Authority string    `json:"authority"`
	Role      string    `json:"role"`
	Score     int       `json:"score"`
	Actions   int       `json:"actions"` // events fired and messages posted
	Denied    int       `json:"denied"`  // attempts the workflow refused
	Rules     []string  `json:"rules"`   // ids of the rules they met
	Findings  []Finding `json:"findings"`
}

// RequestResult is one request of the exercise world.
type RequestResult struct {
	ID                  string           `json:"id"`
	Reference           string           `json:"reference"`
	Key                 string           `json:"key"` // the scenario's name for it, "" for one a trainee drafted
	Title               string           `json:"title"`
	Kind                string           `json:"kind"`
	Instrument          string           `json:"instrument"`
	RequestingAuthority string           `json:"requesting_authority"`
	RequestedAuthority  string           `json:"requested_authority"`
	State               string           `json:"state"`
	CreatedAt           time.Time        `json:"created_at"`
	Timeline            []TimelineEvent  `json:"timeline"`
	Deadlines           []DeadlineResult `json:"deadlines"`
}

// TimelineEvent is one thing that happened on a request.
type TimelineEvent struct {
	At        time.Time `json:"at"`
	Type      string    `json:"type"` // event, message, denied
	Name      string    `json:"name"` // the event, the message kind, or the action refused
	Actor     string    `json:"actor"`
	Authority string    `json:"authority"`
	Trainee   bool      `json:"trainee"` // a trainee's doing, not a simulated authority's
	Detail    string    `json:"detail"`
	Grounds   []string  `json:"grounds"`
}

// The types of timeline event.
const (
	TimelineEventFired = "event"
	TimelineMessage    = "message"
	TimelineDenied     = "denied"
)

// DeadlineResult is a deadline of a request as it stood at the debrief.
type DeadlineResult struct {
	Kind      string     `json:"kind"`
	Basis     string     `json:"basis"`
	Side      string     `json:"side"`
	Authority string     `json:"authority"` // whom it binds
	Trainees  bool       `json:"trainees"`  // it binds the trainees' side
	StartsAt  time.Time  `json:"starts_at"`
	DueAt     time.Time  `json:"due_at"`
	MetAt     *time.Time `json:"met_at"`
	Status    string     `json:"status"`
}

// RuleResult is how one scoring rule came out.
type RuleResult struct {
	ID      string     `json:"id"`
	Label   string     `json:"label"`
	Request string     `json:"request"`
	Points  int        `json:"points"`
	Earned  int        `json:"earned"`
	Met     bool       `json:"met"`
	By      string     `json:"by"` // the trainee who met it, "" when none
	At      *time.Time `json:"at"`
	Reason  string     `json:"reason"` // why not, or how
}

// Finding is something late or wrong.
type Finding struct {
	Kind      string    `json:"kind"`
	Trainee   string    `json:"trainee"` // "" when it is the team's
	Authority string    `json:"authority"`
	RequestID string    `json:"request_id"`
	Reference string    `json:"reference"`
	At        time.Time `json:"at"`
	Detail    string    `json:"detail"`
	Points    int       `json:"points"` // taken off (negative), 0 when only flagged
}

// The kinds of finding.
const (
	FindingDenied         = "denied_attempt"
	FindingWrongGround    = "wrong_ground"
	FindingMissedDeadline = "missed_deadline"
	FindingMissingInfo    = "missing_info"
	FindingLate           = "late"
	FindingNotDone        = "not_done"
)

// Debrief reads the exercise world back into its report, at w.Now().
func Debrief(ctx context.Context, w World, trainees []Trainee) (*Report, error) {
	v, err := read(ctx, w)
	if err != nil {
		return nil, err
	}
	now := w.Now()
	s := w.Scenario
	rep := &Report{
		Scenario: s.ID, Title: s.Title, Seed: w.Seed, StartedAt: v.started, GeneratedAt: now,
		Trainees: []TraineeResult{}, Requests: []RequestResult{}, Rules: []RuleResult{}, Findings: []Finding{},
	}
	d := &debrief{w: w, v: v, rep: rep, now: now, histories: map[string][]workflow.HistoryEntry{}, threads: map[string][]workflow.Message{},
		known: map[string]bool{}}
	for _, t := range trainees {
		d.known[t.Username] = true
	}
	if err := d.readAll(ctx); err != nil {
		return nil, err
	}
	for _, r := range v.requests {
		if !d.involvesTrainees(r) {
			continue
		}
		rep.Requests = append(rep.Requests, d.request(r))
	}
	for _, rule := range s.Scoring.Rules {
		rep.Rules = append(rep.Rules, d.rule(rule))
	}
	d.penalties()
	d.total(trainees)
	return rep, nil
}

type debrief struct {
	w         World
	v         *view
	rep       *Report
	now       time.Time
	histories map[string][]workflow.HistoryEntry
	threads   map[string][]workflow.Message
	denied    []workflow.AuditEntry // the trainees' refused attempts
	known     map[string]bool       // the trainees' usernames
}

// isTrainee reports whether the username is a trainee's: one of the
// exercise's accounts, or, when the caller names none, anyone but the
// bots and the scenario's own actors.
func (d *debrief) isTrainee(username string) bool {
	if len(d.known) > 0 {
		return d.known[username]
	}
	return username != "" && !isBot(username)
}

func (d *debrief) trainee(code string) bool {
	a, ok := d.w.Scenario.Authority(code)
	return ok && !a.Simulated()
}

func (d *debrief) involvesTrainees(r workflow.Request) bool {
	return d.trainee(r.RequestingAuthority) || d.trainee(r.RequestedAuthority) && r.State != workflow.StateDrafted
}

// readAll reads the histories, the threads (as both sides see them) and
// the trainees' refused attempts.
func (d *debrief) readAll(ctx context.Context) error {
	for _, r := range d.v.requests {
		h, err := d.w.Service.History(ctx, readerActor(r.RequestingAuthority), r.ID)
		if err != nil {
			return fmt.Errorf("history of %s: %w", r.Reference, err)
		}
		d.histories[r.ID] = h
		seen := map[string]bool{}
		for _, code := range []string{r.RequestingAuthority, r.RequestedAuthority} {
			if code == r.RequestedAuthority && r.State == workflow.StateDrafted {
				continue
			}
			thread, err := d.w.Service.Messages(ctx, readerActor(code), r.ID)
			if err != nil {
				return fmt.Errorf("thread of %s: %w", r.Reference, err)
			}
			for _, m := range thread {
				if !seen[m.ID] {
					seen[m.ID] = true
					d.threads[r.ID] = append(d.threads[r.ID], m)
				}
			}
		}
		sort.SliceStable(d.threads[r.ID], func(i, j int) bool { return d.threads[r.ID][i].At.Before(d.threads[r.ID][j].At) })
	}
	for _, a := range d.w.Scenario.Authorities {
		if a.Simulated() {
			continue
		}
		cursor := ""
		for {
			page, next, err := d.w.Service.Audit(ctx, readerActor(a.Code), workflow.AuditFilter{
				Outcome: workflow.OutcomeDenied, Limit: workflow.MaxLimit, Cursor: cursor,
			})
			if err != nil {
				return fmt.Errorf("audit of %s: %w", a.Code, err)
			}
			for _, e := range page {
				if d.isTrainee(e.Actor) {
					d.denied = append(d.denied, e)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	sort.Slice(d.denied, func(i, j int) bool { return d.denied[i].Seq < d.denied[j].Seq })
	return nil
}

func (d *debrief) request(r workflow.Request) RequestResult {
	out := RequestResult{
		ID: r.ID, Reference: r.Reference, Key: d.v.keyOf[r.ID], Title: r.Title, Kind: string(r.Kind),
		Instrument: r.Instrument, RequestingAuthority: r.RequestingAuthority, RequestedAuthority: r.RequestedAuthority,
		State: string(r.State), CreatedAt: r.CreatedAt, Timeline: []TimelineEvent{}, Deadlines: []DeadlineResult{},
	}
	for _, h := range d.histories[r.ID] {
		out.Timeline = append(out.Timeline, TimelineEvent{
			At: h.At, Type: TimelineEventFired, Name: string(h.Event), Actor: h.Actor, Authority: h.Authority,
			Trainee: d.isTrainee(h.Actor), Detail: h.Comment, Grounds: nonNil(h.Grounds),
		})
	}
	for _, m := range d.threads[r.ID] {
		out.Timeline = append(out.Timeline, TimelineEvent{
			At: m.At, Type: TimelineMessage, Name: string(m.Kind), Actor: m.Actor, Authority: m.Authority,
			Trainee: d.isTrainee(m.Actor), Detail: m.Body, Grounds: []string{},
		})
	}
	for _, e := range d.denied {
		if e.RequestID != r.ID {
			continue
		}
		det := details(e)
		out.Timeline = append(out.Timeline, TimelineEvent{
			At: e.At, Type: TimelineDenied, Name: e.Action, Actor: e.Actor, Authority: e.Authority, Trainee: true,
			Detail: fmt.Sprint(det["error"]), Grounds: stringList(det["grounds"]),
		})
	}
	sort.SliceStable(out.Timeline, func(i, j int) bool { return out.Timeline[i].At.Before(out.Timeline[j].At) })
	for _, dl := range r.DeadlinesAt(d.now) {
		binds := r.RequestedAuthority
		if dl.Side == workflow.SideRequesting {
			binds = r.RequestingAuthority
		}
		out.Deadlines = append(out.Deadlines, DeadlineResult{
			Kind: dl.Kind, Basis: dl.Basis, Side: string(dl.Side), Authority: binds, Trainees: d.trainee(binds),
			StartsAt: dl.StartsAt, DueAt: dl.DueAt, MetAt: dl.MetAt, Status: string(dl.Status),
		})
	}
	return out
}

// rule scores one rule.
func (d *debrief) rule(rule scenario.Rule) RuleResult {
	out := RuleResult{ID: rule.ID, Label: rule.Label, Request: rule.Request, Points: rule.Points}
	r, ok := d.v.byKey[rule.Request]
	if !ok {
		out.Reason = "the request never came to the table"
		return out
	}
	// from is when the trainees' clock for the rule starts.
	from := r.CreatedAt
	if d.trainee(r.RequestedAuthority) && !d.trainee(r.RequestingAuthority) {
		for _, h := range d.histories[r.ID] {
			if h.Event == workflow.EventSend {
				from = h.At
				break
			}
		}
	}
	var before *time.Time
	if rule.Before != "" {
		for _, h := range d.histories[r.ID] {
			if string(h.Event) == rule.Before {
				at := h.At
				before = &at
				break
			}
		}
	}
	var at time.Time
	var by, how string
	found := false
	if rule.Message != "" {
		for _, m := range d.threads[r.ID] {
			if string(m.Kind) == rule.Message && d.isTrainee(m.Actor) && !m.Internal {
				at, by, found = m.At, m.Actor, true
				break
			}
		}
	} else {
		for _, h := range d.histories[r.ID] {
			if string(h.Event) != rule.Event || !d.isTrainee(h.Actor) {
				continue
			}
			at, by, found = h.At, h.Actor, true
			if len(rule.Grounds) > 0 {
				var wrong []string
				for _, g := range h.Grounds {
					if !slices.Contains(rule.Grounds, g) {
						wrong = append(wrong, g)
					}
				}
				if len(wrong) > 0 {
					d.find(Finding{Kind: FindingWrongGround, Trainee: h.Actor, Authority: h.Authority, RequestID: r.ID,
						Reference: r.Reference, At: h.At, Points: -d.w.Scenario.Scoring.Penalties.WrongGround,
						Detail: fmt.Sprintf("refused on %s; the scenario's ground is %s", strings.Join(wrong, ", "), strings.Join(rule.Grounds, " or "))})
					how = "refused on a ground that does not hold: " + strings.Join(wrong, ", ")
				}
			}
			if rule.Complete {
				if c := r.CompletenessAt(h.At); !c.Complete {
					var missing []string
					for _, m := range c.Missing {
						missing = append(missing, m.Field)
					}
					how = "the request was incomplete: " + strings.Join(missing, ", ") + " missing"
				}
			}
			break
		}
	}
	if !found {
		out.Reason = "not done"
		if rule.Within > 0 && d.now.After(from.Add(rule.Within.D())) {
			d.find(Finding{Kind: FindingNotDone, Authority: d.traineeSide(r), RequestID: r.ID, Reference: r.Reference,
				At: from.Add(rule.Within.D()), Detail: fmt.Sprintf("%s: not done within %s", rule.Label, rule.Within)})
		}
		return out
	}
	atCopy := at
	out.At, out.By = &atCopy, by
	switch {
	case how != "":
		out.Reason = how
	case before != nil && at.After(*before):
		out.Reason = fmt.Sprintf("done after %s, not before it", rule.Before)
	case rule.Within > 0 && at.After(from.Add(rule.Within.D())):
		out.Reason = fmt.Sprintf("done %s late (within %s was asked)", roundDuration(at.Sub(from.Add(rule.Within.D()))), rule.Within)
		d.find(Finding{Kind: FindingLate, Trainee: by, Authority: d.traineeSide(r), RequestID: r.ID, Reference: r.Reference,
			At: at, Detail: rule.Label + ": " + out.Reason})
	default:
		out.Met, out.Earned = true, rule.Points
		out.Reason = fmt.Sprintf("done after %s", roundDuration(at.Sub(from)))
	}
	return out
}

// traineeSide is the trainees' authority on r.
func (d *debrief) traineeSide(r workflow.Request) string {
	if d.trainee(r.RequestedAuthority) {
		return r.RequestedAuthority
	}
	return r.RequestingAuthority
}

// penalties flags the refused attempts, the deadlines missed and the
// requests for information the trainees' requests drew.
func (d *debrief) penalties() {
	p := d.w.Scenario.Scoring.Penalties
	for _, e := range d.denied {
		r := d.v.byID[e.RequestID]
		det := details(e)
		f := Finding{Kind: FindingDenied, Trainee: e.Actor, Authority: e.Authority, RequestID: e.RequestID,
			Reference: r.Reference, At: e.At, Points: -p.DeniedAttempt,
			Detail: fmt.Sprintf("%s refused: %v", e.Action, det["error"])}
		if grounds := stringList(det["grounds"]); len(grounds) > 0 && r.ID != "" {
			var inadmissible []string
			for _, g := range grounds {
				if !admits(d.w.Service, r, g) {
					inadmissible = append(inadmissible, g)
				}
			}
			if len(inadmissible) > 0 {
				f.Kind, f.Points = FindingWrongGround, -p.WrongGround
				what := "the kind of request"
				if r.Instrument != "" {
					what = d.w.Service.InstrumentLabel(r.Instrument)
				}
				f.Detail = fmt.Sprintf("tried to refuse on %s, which %s does not admit", strings.Join(inadmissible, ", "), what)
			}
		}
		d.find(f)
	}
	for _, rr := range d.rep.Requests {
		for _, dl := range rr.Deadlines {
			if !dl.Trainees || (dl.Status != string(workflow.DeadlineMissed) && dl.Status != string(workflow.DeadlineOverdue)) {
				continue
			}
			d.find(Finding{Kind: FindingMissedDeadline, Authority: dl.Authority, RequestID: rr.ID, Reference: rr.Reference,
				At: dl.DueAt, Points: -p.MissedDeadline, Detail: fmt.Sprintf("%s %s (%s)", dl.Kind, dl.Status, dl.Basis)})
		}
	}
	for _, r := range d.v.requests {
		if !d.trainee(r.RequestingAuthority) {
			continue
		}
		sender := ""
		for _, h := range d.histories[r.ID] {
			switch {
			case h.Event == workflow.EventSend:
				sender = h.Actor
			case h.Event == workflow.EventRequestInfo && !d.isTrainee(h.Actor):
				// Content is fixed once sent, so its completeness then is
				// its completeness now, as of the moment asked. A request
				// for the documents that follow a provisional arrest is
				// the procedure, not a mistake.
				if r.CompletenessAt(h.At).Complete {
					continue
				}
				if !d.isTrainee(sender) {
					sender = ""
				}
				d.find(Finding{Kind: FindingMissingInfo, Trainee: sender, Authority: r.RequestingAuthority, RequestID: r.ID,
					Reference: r.Reference, At: h.At, Points: -p.MissingInfo, Detail: firstLine(h.Comment)})
			}
		}
	}
}

// admits reports whether r may be refused on ground g: of its kind, and of
// its instrument when it names one.
func admits(s *workflow.Service, r workflow.Request, g string) bool {
	for _, x := range s.RefusalGrounds(r) {
		if x.Code == g {
			return true
		}
	}
	return false
}

func (d *debrief) find(f Finding) { d.rep.Findings = append(d.rep.Findings, f) }

// total adds the score up, the team's and each trainee's.
func (d *debrief) total(trainees []Trainee) {
	rep := d.rep
	sort.SliceStable(rep.Findings, func(i, j int) bool { return rep.Findings[i].At.Before(rep.Findings[j].At) })
	score := 0
	for _, r := range rep.Rules {
		rep.MaxScore += r.Points
		score += r.Earned
	}
	for _, f := range rep.Findings {
		score += f.Points
	}
	rep.Score = max(score, 0)
	for _, t := range trainees {
		tr := TraineeResult{Username: t.Username, Authority: t.Authority, Role: t.Role, Rules: []string{}, Findings: []Finding{}}
		for _, r := range rep.Rules {
			if r.By == t.Username && r.Met {
				tr.Score += r.Earned
				tr.Rules = append(tr.Rules, r.ID)
			}
		}
		for _, f := range rep.Findings {
			if f.Trainee == t.Username {
				tr.Findings = append(tr.Findings, f)
				tr.Score += f.Points
				if f.Kind == FindingDenied || f.Kind == FindingWrongGround && strings.HasPrefix(f.Detail, "tried") {
					tr.Denied++
				}
			}
		}
		for _, h := range d.histories {
			for _, e := range h {
				if e.Actor == t.Username {
					tr.Actions++
				}
			}
		}
		for _, th := range d.threads {
			for _, m := range th {
				if m.Actor == t.Username {
					tr.Actions++
				}
			}
		}
		rep.Trainees = append(rep.Trainees, tr)
	}
}

// details decodes an audit entry's details.
func details(e workflow.AuditEntry) map[string]any {
	out := map[string]any{}
	_ = json.Unmarshal([]byte(e.Details), &out)
	return out
}

func stringList(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// roundDuration writes d to the minute, in days and hours.
func roundDuration(d time.Duration) string {
	return scenario.Offset(d.Round(time.Minute)).String()
}
