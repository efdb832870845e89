package scenario

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Scenario is one training exercise as its file describes it: the
// authorities in play, the requests on the table when the exercise starts,
// the injects the trainer (or the clock) adds, how the simulated
// counterparts behave, and what the debrief scores.
type Scenario struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
	// Briefing is what the trainees are told before they start.
	Briefing    string      `json:"briefing,omitempty"`
	Authorities []Authority `json:"authorities"`
	// Requests are on the table when the exercise starts.
	Requests []RequestSpec `json:"requests"`
	// Injects come during the exercise: at an offset from its start, or
	// when the trainer chooses (manual).
	Injects []Inject `json:"injects"`
	// Behaviour is the script of the simulated authorities.
	Behaviour []Behaviour `json:"behaviour"`
	Scoring   Scoring     `json:"scoring"`
	// File is the name of the file the scenario was read from.
	File string `json:"-"`
}

// Authority is a central authority of the scenario and who plays it.
type Authority struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Played string `json:"played"` // PlayedTrainee or PlayedSimulated
	// TraineeRoles are the roles trainees get at this authority (none when
	// simulated), e.g. officer, supervisor.
	TraineeRoles []string `json:"trainee_roles"`
}

// Who plays an authority.
const (
	PlayedTrainee   = "trainee"
	PlayedSimulated = "simulated"
)

// Simulated reports whether a bot plays the authority.
func (a Authority) Simulated() bool { return a.Played == PlayedSimulated }

// Authority returns the scenario's authority of that code.
func (s *Scenario) Authority(code string) (Authority, bool) {
	for _, a := range s.Authorities {
		if a.Code == code {
			return a, true
		}
	}
	return Authority{}, false
}

// Simulated reports whether the authority of that code is played by a bot.
func (s *Scenario) Simulated(code string) bool {
	a, ok := s.Authority(code)
	return ok && a.Simulated()
}

// TraineeRoles lists every role trainees get in the scenario, once each.
func (s *Scenario) TraineeRoles() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range s.Authorities {
		for _, r := range a.TraineeRoles {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// Request returns the starting or injected request of that key.
func (s *Scenario) Request(key string) (RequestSpec, bool) {
	for _, r := range s.Requests {
		if r.Key == key {
			return r, true
		}
	}
	for _, in := range s.Injects {
		if in.NewRequest != nil && in.NewRequest.Key == key {
			return *in.NewRequest, true
		}
	}
	return RequestSpec{}, false
}

// Inject returns the scenario's inject of that id.
func (s *Scenario) Inject(id string) (Inject, bool) {
	for _, in := range s.Injects {
		if in.ID == id {
			return in, true
		}
	}
	return Inject{}, false
}

// RequestSpec is a request as a scenario puts it on the table: drafted by
// its requesting authority (From) and, unless State says drafted, sent.
type RequestSpec struct {
	// Key names the request within the scenario, for injects, behaviour
	// and scoring rules.
	Key           string   `json:"key"`
	From          string   `json:"from"`
	To            string   `json:"to"`
	Kind          string   `json:"kind"`
	Instrument    string   `json:"instrument,omitempty"`
	Title         string   `json:"title"`
	Summary       string   `json:"summary,omitempty"`
	LegalBasis    string   `json:"legal_basis,omitempty"`
	Purpose       string   `json:"purpose,omitempty"`
	Offences      []string `json:"offences,omitempty"`
	Measures      []string `json:"measures,omitempty"`
	Urgency       string   `json:"urgency,omitempty"`
	UrgencyReason string   `json:"urgency_reason,omitempty"`
	// DueIn is the due date (UNTOC 18(24)) as an offset from the moment
	// the request is created; zero for none.
	DueIn        Offset        `json:"due_in,omitempty"`
	Persons      []PersonSpec  `json:"persons,omitempty"`
	PersonSought *PersonSought `json:"person_sought,omitempty"`
	Warrant      *WarrantSpec  `json:"warrant,omitempty"`
	// State is where the request starts: "sent" (the default) or
	// "drafted", a draft its (trainee) authority completes and sends.
	State string `json:"state,omitempty"`
	// Messages are posted to its thread when it is put on the table, by
	// the requesting authority.
	Messages []MessageSpec `json:"messages,omitempty"`
}

// The states a request may start in.
const (
	StartSent    = "sent"
	StartDrafted = "drafted"
)

// StartState is the state the request starts in.
func (r RequestSpec) StartState() string {
	if r.State == "" {
		return StartSent
	}
	return r.State
}

// PersonSpec is a person concerned by a request.
type PersonSpec struct {
	Role        string   `json:"role"`
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases,omitempty"`
	DateOfBirth string   `json:"date_of_birth,omitempty"`
	Nationality string   `json:"nationality,omitempty"`
	Location    string   `json:"location,omitempty"`
	Protected   bool     `json:"protected,omitempty"`
}

// PersonSought is the person an extradition request seeks.
type PersonSought struct {
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases,omitempty"`
	DateOfBirth string   `json:"date_of_birth,omitempty"`
	Nationality string   `json:"nationality,omitempty"`
	Description string   `json:"description,omitempty"`
	Location    string   `json:"location,omitempty"`
}

// WarrantSpec is the decision an extradition request rests on.
type WarrantSpec struct {
	Type      string `json:"type"`
	Reference string `json:"reference"`
	IssuedBy  string `json:"issued_by,omitempty"`
	IssuedOn  string `json:"issued_on,omitempty"`
}

// MessageSpec is a message to a request's thread.
type MessageSpec struct {
	Kind string `json:"kind"` // message, consultation, status_enquiry
	Body string `json:"body"`
}

// Inject is something that happens during the exercise: a new incoming
// request, a message from a counterpart, or an event such as a
// postponement fired by a simulated authority.
type Inject struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// At is the exercise offset it comes at; nil: the trainer applies it.
	At   *Offset `json:"at,omitempty"`
	Kind string  `json:"kind"` // InjectRequest, InjectMessage, InjectEvent
	// From is the (simulated) authority that acts; for a new request it is
	// NewRequest.From.
	From string `json:"from,omitempty"`
	// Request is the key of the request a message or an event goes to.
	Request    string       `json:"request,omitempty"`
	NewRequest *RequestSpec `json:"new_request,omitempty"`
	Message    *MessageSpec `json:"message,omitempty"`
	Event      *EventSpec   `json:"event,omitempty"`
	// Note is for the trainer: what the inject tests.
	Note string `json:"note,omitempty"`
}

// The kinds of inject.
const (
	InjectRequest = "request"
	InjectMessage = "message"
	InjectEvent   = "event"
)

// Manual reports whether the trainer applies the inject (it has no offset).
func (in Inject) Manual() bool { return in.At == nil }

// EventSpec is a workflow event an inject fires.
type EventSpec struct {
	Event   string   `json:"event"`
	Comment string   `json:"comment,omitempty"`
	Grounds []string `json:"grounds,omitempty"`
}

// Behaviour is how one simulated authority handles the requests it takes
// part in: those named by Requests, or all of them when it names none. The
// first behaviour of the authority that matches a request applies.
type Behaviour struct {
	Authority string   `json:"authority"`
	Requests  []string `json:"requests,omitempty"`
	// As the requested authority:
	Acknowledge *Move       `json:"acknowledge,omitempty"`
	RequestInfo *InfoMove   `json:"request_info,omitempty"`
	Refuse      *RefuseMove `json:"refuse,omitempty"`
	Execute     *Move       `json:"execute,omitempty"`
	// As the requesting authority: answers a request for information.
	ProvideInfo *Move `json:"provide_info,omitempty"`
	// Either side: answers the counterpart's messages, consultations and
	// status enquiries.
	AnswerMessages *Move `json:"answer_messages,omitempty"`
}

// Applies reports whether the behaviour covers the request of that
// scenario key ("" for a request the scenario does not name: one a
// trainee drafted).
func (b Behaviour) Applies(key string) bool {
	if len(b.Requests) == 0 {
		return true
	}
	for _, k := range b.Requests {
		if k == key {
			return true
		}
	}
	return false
}

// Move is a scripted move: after a delay drawn from After, with a text (a
// comment, an execution report or a message body).
type Move struct {
	After Delay  `json:"after"`
	Text  string `json:"text,omitempty"`
}

// InfoMove asks for more information when the request is incomplete (the
// workflow's completeness check), at most Max times (1 when zero). With
// Always it asks once even of a complete request: a provisional arrest is
// followed by the formal request and its documents (ECE Art. 16(4)).
type InfoMove struct {
	Move
	Max    int  `json:"max,omitempty"`
	Always bool `json:"always,omitempty"`
}

// RefuseMove refuses on Grounds, after consulting the requesting side
// first when Consult holds the text of the consultation (UNTOC 18(26)).
type RefuseMove struct {
	Move
	Grounds []string `json:"grounds"`
	Consult string   `json:"consult,omitempty"`
}

// Scoring is what the debrief scores: rules earning points, and
// penalties for what went wrong.
type Scoring struct {
	Rules     []Rule    `json:"rules"`
	Penalties Penalties `json:"penalties"`
}

// Rule earns Points when a trainee fires the event on the request (or
// posts a message of the kind Message to its thread), within the time
// given (counted from the moment the request reached the trainees'
// authority: its sending when they are the requested side, its creation
// when they draft it), before the first Before event on it when one is
// named, and, when Grounds are given, on those grounds only; when Complete
// holds, the request must be complete when the event is fired.
type Rule struct {
	ID       string   `json:"id"`
	Label    string   `json:"label"`
	Request  string   `json:"request"`
	Event    string   `json:"event,omitempty"`
	Message  string   `json:"message,omitempty"`
	Before   string   `json:"before,omitempty"`
	Within   Offset   `json:"within,omitempty"`
	Grounds  []string `json:"grounds,omitempty"`
	Complete bool     `json:"complete,omitempty"`
	Points   int      `json:"points"`
}

// Penalties are the points taken off per mistake.
type Penalties struct {
	// DeniedAttempt: per attempt the workflow refused (wrong role, side,
	// state, version or payload: the audit log's denied outcomes).
	DeniedAttempt int `json:"denied_attempt"`
	// WrongGround: per refusal attempt on a ground the instrument does not
	// admit, or, in a rule with Grounds, on another ground.
	WrongGround int `json:"wrong_ground"`
	// MissedDeadline: per deadline binding the trainees' side missed or
	// overdue.
	MissedDeadline int `json:"missed_deadline"`
	// MissingInfo: per request for information a counterpart had to send
	// about a trainees' request.
	MissingInfo int `json:"missing_info"`
}

// Offset is an exercise duration, written as Go writes durations with days
// allowed ("36h", "2d", "1d12h", "90m").
type Offset time.Duration

// D is the offset as a time.Duration.
func (o Offset) D() time.Duration { return time.Duration(o) }

// String writes the offset as ParseOffset reads it.
func (o Offset) String() string {
	d := time.Duration(o)
	if d == 0 {
		return "0s"
	}
	days := d / (24 * time.Hour)
	rest := d % (24 * time.Hour)
	if days == 0 {
		return rest.String()
	}
	s := strconv.FormatInt(int64(days), 10) + "d"
	if rest != 0 {
		s += rest.String()
	}
	return s
}

// MarshalJSON writes the offset as its string.
func (o Offset) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }

// UnmarshalJSON reads the offset from its string (an ad hoc inject).
func (o *Offset) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseOffset(s)
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// ParseOffset reads "2d", "36h", "1d12h30m"; negative offsets are errors.
func ParseOffset(s string) (Offset, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var days int64
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration such as 2d, 36h or 1d12h", s)
		}
		days, s = n, s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a duration such as 2d, 36h or 1d12h", s)
		}
		rest = d
	}
	return Offset(time.Duration(days)*24*time.Hour + rest), nil
}

// Delay is a range of delays, "4h" or "4h..12h"; a simulated authority
// draws its delay in it from the exercise's seed.
type Delay struct {
	Min, Max Offset
}

// ParseDelay reads "4h" or "4h..12h".
func ParseDelay(s string) (Delay, error) {
	lo, hi, ranged := strings.Cut(s, "..")
	min, err := ParseOffset(lo)
	if err != nil {
		return Delay{}, err
	}
	max := min
	if ranged {
		if max, err = ParseOffset(hi); err != nil {
			return Delay{}, err
		}
		if max < min {
			return Delay{}, fmt.Errorf("%q: the range ends before it starts", s)
		}
	}
	return Delay{Min: min, Max: max}, nil
}

// String writes the delay as ParseDelay reads it.
func (d Delay) String() string {
	if d.Min == d.Max {
		return d.Min.String()
	}
	return d.Min.String() + ".." + d.Max.String()
}

// MarshalJSON writes the delay as its string.
func (d Delay) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads the delay from its string.
func (d *Delay) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDelay(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
