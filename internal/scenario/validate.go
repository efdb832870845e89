package scenario

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/law"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// validator checks a decoded scenario's meaning: that every code is one
// the workflow knows, every reference points at something the scenario
// names, and the script can be played (a bot only plays a simulated
// authority).
type validator struct {
	p    parsed
	errs []string
}

func (v *validator) fail(field, format string, args ...any) {
	v.errs = append(v.errs, fmt.Sprintf("%s:%d: %s: %s", v.p.File, v.p.line(field), displayField(field), fmt.Sprintf(format, args...)))
}

var (
	idPattern        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	authorityPattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

func (v *validator) required(field, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.fail(field, "is required")
		return false
	}
	return true
}

func (v *validator) check() {
	s := v.p.Scenario
	if v.required("id", s.ID) && !idPattern.MatchString(s.ID) {
		v.fail("id", "must be lower-case letters, digits and dashes, not %q", s.ID)
	}
	v.required("title", s.Title)
	v.required("summary", s.Summary)
	v.checkAuthorities()
	if len(s.Requests) == 0 {
		// The exercise's start is read from the world as the moment its
		// first request was put on the table; injects count from it.
		v.fail("requests", "a scenario puts at least one request on the table at its start")
	}
	keys := map[string]bool{}
	for i := range s.Requests {
		v.checkRequest(fmt.Sprintf("requests[%d]", i), s.Requests[i], keys)
	}
	for i, in := range s.Injects {
		if in.NewRequest != nil {
			v.checkRequest(fmt.Sprintf("injects[%d].new_request", i), *in.NewRequest, keys)
		}
	}
	injects := map[string]bool{}
	for i, in := range s.Injects {
		f := fmt.Sprintf("injects[%d]", i)
		if v.required(f+".id", in.ID) {
			if !idPattern.MatchString(in.ID) {
				v.fail(f+".id", "must be lower-case letters, digits and dashes, not %q", in.ID)
			} else if injects[in.ID] {
				v.fail(f+".id", "%q names another inject already", in.ID)
			}
			injects[in.ID] = true
		}
		for _, e := range CheckInject(s, in) {
			v.fail(f+"."+e.Field, "%s", e.Reason)
		}
	}
	for i, b := range s.Behaviour {
		v.checkBehaviour(fmt.Sprintf("behaviour[%d]", i), b)
	}
	v.checkScoring()
}

func (v *validator) checkAuthorities() {
	s := v.p.Scenario
	if len(s.Authorities) < 2 {
		v.fail("authorities", "a scenario needs at least two authorities")
	}
	seen := map[string]bool{}
	trainees := 0
	for i, a := range s.Authorities {
		f := fmt.Sprintf("authorities[%d]", i)
		if v.required(f+".code", a.Code) {
			switch {
			case !authorityPattern.MatchString(a.Code):
				v.fail(f+".code", "must be an ISO 3166-1 alpha-2 code in capitals, not %q", a.Code)
			case seen[a.Code]:
				v.fail(f+".code", "%s is listed twice", a.Code)
			}
			seen[a.Code] = true
		}
		v.required(f+".name", a.Name)
		switch a.Played {
		case PlayedTrainee:
			trainees++
			if len(a.TraineeRoles) == 0 {
				v.fail(f+".trainee_roles", "an authority played by trainees needs at least one role (officer, supervisor, auditor)")
			}
			for j, r := range a.TraineeRoles {
				switch workflow.Role(r) {
				case workflow.RoleOfficer, workflow.RoleSupervisor, workflow.RoleAuditor:
				default:
					v.fail(fmt.Sprintf("%s.trainee_roles[%d]", f, j), "must be officer, supervisor or auditor, not %q", r)
				}
			}
		case PlayedSimulated:
			if len(a.TraineeRoles) > 0 {
				v.fail(f+".trainee_roles", "a simulated authority has no trainees")
			}
		default:
			v.fail(f+".played", "must be trainee or simulated, not %q", a.Played)
		}
	}
	if trainees == 0 && len(s.Authorities) > 0 {
		v.fail("authorities", "at least one authority must be played by trainees")
	}
}

func (v *validator) checkRequest(f string, r RequestSpec, keys map[string]bool) {
	s := v.p.Scenario
	for _, e := range checkRequestSpec(s, r) {
		v.fail(f+"."+e.Field, "%s", e.Reason)
	}
	if r.Key != "" {
		if keys[r.Key] {
			v.fail(f+".key", "%q names another request already", r.Key)
		}
		keys[r.Key] = true
	}
}

// FieldError is one problem of an inject or a request, by field.
type FieldError struct {
	Field  string
	Reason string
}

// CheckInject checks an inject against the scenario: a scenario's own at
// load time, an ad hoc one when the trainer applies it. Fields are named
// relative to the inject.
func CheckInject(s *Scenario, in Inject) []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(in.Title) == "" {
		add("title", "is required")
	}
	actsOn := func(from, key string) {
		r, ok := s.Request(key)
		switch {
		case key == "":
			add("request", "is required: the key of the request it goes to")
		case !ok:
			add("request", "no request of the scenario has the key %q", key)
		case from != r.From && from != r.To:
			add("from", "%s is neither side of request %q (%s to %s)", from, key, r.From, r.To)
		}
		if from == "" {
			add("from", "is required")
		} else if !s.Simulated(from) {
			add("from", "%s must be a simulated authority of the scenario: trainees make their own moves", from)
		}
	}
	switch in.Kind {
	case InjectRequest:
		if in.NewRequest == nil {
			add("new_request", "is required for an inject of kind request")
		} else {
			if !s.Simulated(in.NewRequest.From) {
				add("new_request.from", "%s must be a simulated authority of the scenario", in.NewRequest.From)
			}
			if in.NewRequest.StartState() != StartSent {
				add("new_request.state", "an injected request arrives sent")
			}
			for _, e := range checkRequestSpec(s, *in.NewRequest) {
				add("new_request."+e.Field, "%s", e.Reason)
			}
		}
		if in.Message != nil || in.Event != nil {
			add("kind", "a request inject carries neither message nor event")
		}
	case InjectMessage:
		actsOn(in.From, in.Request)
		if in.Message == nil {
			add("message", "is required for an inject of kind message")
		} else {
			for _, e := range checkMessage(*in.Message) {
				add("message."+e.Field, "%s", e.Reason)
			}
		}
	case InjectEvent:
		actsOn(in.From, in.Request)
		if in.Event == nil {
			add("event", "is required for an inject of kind event")
			break
		}
		t, ok := workflow.Lookup(workflow.Event(in.Event.Event))
		if !ok {
			add("event.event", "unknown event %q", in.Event.Event)
			break
		}
		if r, found := s.Request(in.Request); found {
			side := workflow.SideRequested
			if in.From == r.From {
				side = workflow.SideRequesting
			}
			if t.Side != side {
				add("event.event", "%s is for the %s side; %s is the %s side of %q", t.Event, t.Side, in.From, side, in.Request)
			}
			if t.NeedsField(workflow.FieldComment) && strings.TrimSpace(in.Event.Comment) == "" {
				add("event.comment", "%s needs a comment", t.Event)
			}
			if t.NeedsField(workflow.FieldGrounds) {
				for _, e := range checkGrounds(r, in.Event.Grounds) {
					add("event."+e.Field, "%s", e.Reason)
				}
			}
		}
	case "":
		add("kind", "is required: request, message or event")
	default:
		add("kind", "must be request, message or event, not %q", in.Kind)
	}
	return errs
}

func checkMessage(m MessageSpec) []FieldError {
	var errs []FieldError
	k := workflow.MessageKind(m.Kind)
	if !k.Valid() || k == workflow.MessageKindNote {
		errs = append(errs, FieldError{"kind", fmt.Sprintf("must be message, consultation or status_enquiry, not %q", m.Kind)})
	}
	if strings.TrimSpace(m.Body) == "" {
		errs = append(errs, FieldError{"body", "is required"})
	}
	return errs
}

// checkGrounds checks refusal grounds against the request's kind and
// instrument, as the workflow will.
func checkGrounds(r RequestSpec, grounds []string) []FieldError {
	var errs []FieldError
	if len(grounds) == 0 {
		errs = append(errs, FieldError{"grounds", "at least one ground is required"})
	}
	var inst *workflow.Instrument
	if r.Instrument != "" {
		if c, err := law.Catalog(); err == nil {
			if in, ok := c.Instrument(r.Instrument); ok {
				inst = &in
			}
		}
	}
	for i, g := range grounds {
		f := fmt.Sprintf("grounds[%d]", i)
		applies, known := workflow.GroundApplies(g, workflow.Kind(r.Kind))
		switch {
		case !known:
			errs = append(errs, FieldError{f, fmt.Sprintf("unknown ground %q", g)})
		case !applies:
			errs = append(errs, FieldError{f, fmt.Sprintf("%s does not apply to a request of kind %s", g, r.Kind)})
		case inst != nil && !inst.Admits(g):
			errs = append(errs, FieldError{f, fmt.Sprintf("%s is not a ground %s admits", g, inst.Code)})
		}
	}
	return errs
}

func checkRequestSpec(s *Scenario, r RequestSpec) []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if r.Key == "" {
		add("key", "is required: injects, behaviour and scoring name the request by it")
	} else if !idPattern.MatchString(r.Key) {
		add("key", "must be lower-case letters, digits and dashes, not %q", r.Key)
	}
	if _, ok := s.Authority(r.From); !ok {
		add("from", "%q is not an authority of the scenario", r.From)
	}
	if _, ok := s.Authority(r.To); !ok {
		add("to", "%q is not an authority of the scenario", r.To)
	} else if r.To == r.From {
		add("to", "a request goes to another authority than its own")
	}
	k := workflow.Kind(r.Kind)
	if !k.Valid() {
		add("kind", "must be mla or extradition, not %q", r.Kind)
	}
	if strings.TrimSpace(r.Title) == "" {
		add("title", "is required")
	} else if len([]rune(r.Title)) > workflow.MaxTitle {
		add("title", "at most %d characters", workflow.MaxTitle)
	}
	if r.Instrument != "" {
		c, err := law.Catalog()
		if err != nil {
			add("instrument", "the instruments cannot be read: %v", err)
		} else if in, ok := c.Instrument(r.Instrument); !ok {
			add("instrument", "unknown instrument %q", r.Instrument)
		} else if k.Valid() && !in.Serves(k) {
			add("instrument", "%s does not serve requests of kind %s", r.Instrument, r.Kind)
		}
	}
	for i, m := range r.Measures {
		if k == workflow.KindExtradition {
			add("measures", "an extradition request has no measures")
			break
		}
		if !slices.ContainsFunc(workflow.Measures, func(x workflow.Measure) bool { return x.Code == m }) {
			add(fmt.Sprintf("measures[%d]", i), "unknown measure %q", m)
		}
	}
	if r.Urgency != "" && !workflow.Urgency(r.Urgency).Valid() {
		add("urgency", "must be normal or urgent, not %q", r.Urgency)
	}
	for i, p := range r.Persons {
		if !slices.Contains(workflow.PersonRoles, workflow.PersonRole(p.Role)) {
			add(fmt.Sprintf("persons[%d].role", i), "unknown role %q", p.Role)
		}
		if strings.TrimSpace(p.Name) == "" {
			add(fmt.Sprintf("persons[%d].name", i), "is required")
		}
		checkDate(add, fmt.Sprintf("persons[%d].date_of_birth", i), p.DateOfBirth)
	}
	if r.PersonSought != nil {
		if k != workflow.KindExtradition {
			add("person_sought", "only an extradition request seeks a person")
		}
		checkDate(add, "person_sought.date_of_birth", r.PersonSought.DateOfBirth)
	}
	if r.Warrant != nil {
		if k != workflow.KindExtradition {
			add("warrant", "only an extradition request rests on a warrant")
		}
		if r.Warrant.Type != workflow.WarrantArrest && r.Warrant.Type != workflow.WarrantJudgment {
			add("warrant.type", "must be %s or %s, not %q", workflow.WarrantArrest, workflow.WarrantJudgment, r.Warrant.Type)
		}
		checkDate(add, "warrant.issued_on", r.Warrant.IssuedOn)
	}
	switch r.StartState() {
	case StartSent:
	case StartDrafted:
		if a, ok := s.Authority(r.From); ok && a.Simulated() {
			add("state", "a simulated authority sends its requests; only a trainees' request starts drafted")
		}
	default:
		add("state", "must be sent or drafted, not %q", r.State)
	}
	for i, m := range r.Messages {
		for _, e := range checkMessage(m) {
			add(fmt.Sprintf("messages[%d].%s", i, e.Field), "%s", e.Reason)
		}
	}
	return errs
}

func checkDate(add func(string, string, ...any), field, value string) {
	if value == "" {
		return
	}
	if _, err := time.Parse(time.DateOnly, value); err != nil {
		add(field, "must be a date YYYY-MM-DD, not %q", value)
	}
}

func (v *validator) checkBehaviour(f string, b Behaviour) {
	s := v.p.Scenario
	if a, ok := s.Authority(b.Authority); !ok {
		v.fail(f+".authority", "%q is not an authority of the scenario", b.Authority)
	} else if !a.Simulated() {
		v.fail(f+".authority", "%s is played by trainees; only a simulated authority has a script", b.Authority)
	}
	for i, key := range b.Requests {
		r, ok := s.Request(key)
		if !ok {
			v.fail(fmt.Sprintf("%s.requests[%d]", f, i), "no request of the scenario has the key %q", key)
			continue
		}
		if r.From != b.Authority && r.To != b.Authority {
			v.fail(fmt.Sprintf("%s.requests[%d]", f, i), "%s is neither side of %q", b.Authority, key)
		}
		if b.Refuse != nil {
			for _, e := range checkGrounds(r, b.Refuse.Grounds) {
				v.fail(f+".refuse."+e.Field, "%s (request %q)", e.Reason, key)
			}
		}
	}
	if b.Refuse != nil {
		if len(b.Requests) == 0 {
			v.fail(f+".refuse", "name the requests it refuses (requests): a refusal is a decision on a case, not a habit")
		}
		if b.Execute != nil {
			v.fail(f+".execute", "a script either refuses or executes the requests it names, not both")
		}
	}
	if b.RequestInfo != nil && b.RequestInfo.Max < 0 {
		v.fail(f+".request_info.max", "must not be negative")
	}
}

func (v *validator) checkScoring() {
	s := v.p.Scenario
	ids := map[string]bool{}
	for i, r := range s.Scoring.Rules {
		f := fmt.Sprintf("scoring.rules[%d]", i)
		if v.required(f+".id", r.ID) {
			if ids[r.ID] {
				v.fail(f+".id", "%q names another rule already", r.ID)
			}
			ids[r.ID] = true
		}
		v.required(f+".label", r.Label)
		spec, ok := s.Request(r.Request)
		if !ok {
			v.fail(f+".request", "no request of the scenario has the key %q", r.Request)
		}
		if r.Before != "" {
			if _, known := workflow.Lookup(workflow.Event(r.Before)); !known {
				v.fail(f+".before", "unknown event %q", r.Before)
			}
		}
		if r.Message != "" {
			if r.Event != "" {
				v.fail(f+".message", "a rule scores an event or a message, not both")
			}
			if k := workflow.MessageKind(r.Message); !k.Valid() || k == workflow.MessageKindNote {
				v.fail(f+".message", "must be message, consultation or status_enquiry, not %q", r.Message)
			}
			if len(r.Grounds) > 0 || r.Complete {
				v.fail(f+".message", "grounds and complete score events, not messages")
			}
			if r.Points <= 0 {
				v.fail(f+".points", "must be a positive number of points")
			}
			continue
		}
		t, known := workflow.Lookup(workflow.Event(r.Event))
		if !known {
			v.fail(f+".event", "unknown event %q (or give message: a message kind)", r.Event)
		} else if ok {
			if by := sideOf(s, spec, t.Side); by != "" && s.Simulated(by) {
				v.fail(f+".event", "%s is fired by %s, which is simulated: a rule scores what trainees do", t.Event, by)
			}
		}
		if r.Points <= 0 {
			v.fail(f+".points", "must be a positive number of points")
		}
		if len(r.Grounds) > 0 && ok {
			if t.Event != workflow.EventRefuse {
				v.fail(f+".grounds", "only a rule on refuse names grounds")
			}
			for _, e := range checkGrounds(spec, r.Grounds) {
				v.fail(f+"."+e.Field, "%s", e.Reason)
			}
		}
	}
	p := s.Scoring.Penalties
	for name, n := range map[string]int{"denied_attempt": p.DeniedAttempt, "wrong_ground": p.WrongGround, "missed_deadline": p.MissedDeadline, "missing_info": p.MissingInfo} {
		if n < 0 {
			v.fail("scoring.penalties."+name, "a penalty is the positive number of points taken off")
		}
	}
	if len(s.Scoring.Rules) == 0 {
		v.fail("scoring.rules", "a scenario scores at least one thing")
	}
}

// sideOf is the authority that plays side on the request.
func sideOf(s *Scenario, r RequestSpec, side workflow.Side) string {
	switch side {
	case workflow.SideRequesting:
		return r.From
	case workflow.SideRequested:
		return r.To
	}
	return ""
}
