package web

import (
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// This file builds the view models, in one place: what a page shows of a
// request, a list, a history, a user. Labels are words for people; the
// rules behind them (which events, which grounds) come from workflow.

var stateLabels = map[workflow.State]string{
	workflow.StateDrafted:       "Draft",
	workflow.StateSent:          "Sent",
	workflow.StateAcknowledged:  "Acknowledged",
	workflow.StateInfoRequested: "Information requested",
	workflow.StatePostponed:     "Postponed",
	workflow.StateExecuted:      "Executed",
	workflow.StateRefused:       "Refused",
	workflow.StateWithdrawn:     "Withdrawn",
}

var eventLabels = map[workflow.Event]string{
	workflow.EventSend:        "Send",
	workflow.EventAcknowledge: "Acknowledge receipt",
	workflow.EventRequestInfo: "Request more information",
	workflow.EventProvideInfo: "Provide information",
	workflow.EventExecute:     "Record execution",
	workflow.EventRefuse:      "Refuse",
	workflow.EventWithdraw:    "Withdraw",
	workflow.EventPostpone:    "Postpone execution",
	workflow.EventResume:      "Resume execution",
	workflow.EventDeliver:     "Deliver in part",
}

// eventPast says what an event did, for the timeline: what happened
// ("Sent"), where a button says what to do ("Send").
var eventPast = map[workflow.Event]string{
	workflow.EventSend:        "Sent",
	workflow.EventAcknowledge: "Acknowledged",
	workflow.EventRequestInfo: "Information requested",
	workflow.EventProvideInfo: "Information provided",
	workflow.EventExecute:     "Executed",
	workflow.EventRefuse:      "Refused",
	workflow.EventWithdraw:    "Withdrawn",
	workflow.EventPostpone:    "Postponed",
	workflow.EventResume:      "Resumed",
	workflow.EventDeliver:     "Delivered in part",
}

// eventHints say in a line what an event does, under its button.
var eventHints = map[workflow.Event]string{
	workflow.EventSend:        "Transmit the request to the requested central authority.",
	workflow.EventAcknowledge: "Confirm that the request has been received and registered.",
	workflow.EventRequestInfo: "Ask the requesting authority for what is missing (UNTOC Art. 18(16)).",
	workflow.EventProvideInfo: "Answer the request for more information.",
	workflow.EventExecute:     "Report that the request has been carried out.",
	workflow.EventRefuse:      "Refuse the request, giving the grounds (UNTOC Art. 18(23)).",
	workflow.EventWithdraw:    "Tell the requested authority that assistance is no longer needed (UNTOC Art. 18(24)).",
	workflow.EventPostpone:    "Put execution off because it would interfere with your own investigation or proceedings (UNTOC Art. 18(25)); the deadlines' clocks stop.",
	workflow.EventResume:      "Take up execution again; the deadlines' clocks run on.",
	workflow.EventDeliver:     "Hand over what has been gathered so far (execution in part); the request stays open and its execution deadline runs on.",
}

// commentLabels name the comment an event carries.
var commentLabels = map[workflow.Event]string{
	workflow.EventRequestInfo: "What information is needed",
	workflow.EventProvideInfo: "The information provided",
	workflow.EventExecute:     "Execution report",
	workflow.EventWithdraw:    "Reason for withdrawal",
	workflow.EventPostpone:    "Reason for postponement and its expected length",
	workflow.EventDeliver:     "What is delivered now, and what remains",
}

var kindLabels = map[workflow.Kind]string{
	workflow.KindMLA:         "Mutual legal assistance",
	workflow.KindExtradition: "Extradition",
}

var roleLabels = map[workflow.Role]string{
	workflow.RoleOfficer:    "Officer",
	workflow.RoleSupervisor: "Supervisor",
	workflow.RoleAuditor:    "Auditor",
	workflow.RoleAdmin:      "Administrator",
	workflow.RoleTrainer:    "Trainer",
}

var warrantTypeLabels = map[string]string{
	workflow.WarrantArrest:   "Arrest warrant",
	workflow.WarrantJudgment: "Judgment (enforceable sentence)",
}

func labelOr[K ~string](m map[K]string, k K) string {
	if l, ok := m[k]; ok {
		return l
	}
	return string(k)
}

func measureLabel(code string) string {
	for _, m := range workflow.Measures {
		if m.Code == code {
			return m.Label
		}
	}
	return code
}

func groundLabel(code string) string {
	for _, g := range workflow.Grounds {
		if g.Code == code {
			return g.Label
		}
	}
	return code
}

// funcs are the template functions.
var funcs = template.FuncMap{
	"stateLabel":    func(s workflow.State) string { return labelOr(stateLabels, s) },
	"eventLabel":    func(e workflow.Event) string { return labelOr(eventLabels, e) },
	"roleLabel":     func(r workflow.Role) string { return labelOr(roleLabels, r) },
	"measureLabel":  measureLabel,
	"groundLabel":   groundLabel,
	"warrantLabel":  func(t string) string { return labelOr(warrantTypeLabels, t) },
	"fieldID":       fieldID,
	"has":           func(list []string, s string) bool { return slices.Contains(list, s) },
	"dateTime":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"isoTime":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"fld":           fld,
	"errFor":        errFor,
	"fieldMessage":  fieldMessage,
	"roleOfPerson":  func(r workflow.PersonRole) string { return labelOr(personRoleLabels, r) },
	"add":           func(a, b int) int { return a + b },
	"exerciseState": func(s string) string { return labelOr(exerciseStateLabels, s) },
	"personField":   func(i int, name string) string { return "persons[" + strconv.Itoa(i) + "]." + name },
	// dueSoonDays is how near a due time is due soon (workflow.DueSoon),
	// for the filter's label.
	"dueSoonDays": func() int { return int(workflow.DueSoon / (24 * time.Hour)) },
}

// exerciseStateLabels name the states of a training exercise.
var exerciseStateLabels = map[string]string{
	"ready": "Ready, clock not started", "running": "Running", "paused": "Paused", "ended": "Ended",
}

// fieldID is the id of a form field's input: "f-" and its API name with
// dots as dashes ("person_sought.name" → "f-person_sought-name").
// A row of a list gives its index ("persons[1].name" → "f-persons-1-name").
func fieldID(name string) string {
	return "f-" + strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(name)
}

// age says how long ago t was, briefly: "12 min", "5 h", "3 d".
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	default:
		return fmt.Sprintf("%d d", int(d.Hours()/24))
	}
}

// requestRow is one line of a request table.
type requestRow struct {
	ID          string
	Reference   string
	Kind        workflow.Kind
	State       workflow.State
	Title       string
	Counterpart string // authority code of the other side
	CounterName string
	Direction   string // "to" or "from"
	Urgent      bool   // urgent and still open (urgentNow)
	Closed      bool   // in a final state
	Age         string
	Created     time.Time
	DueDate     string
	Overdue     []string // labels of its overdue deadlines
	Unread      int      // the counterpart's messages not read yet
}

func (h *Handler) toRow(a workflow.Actor, r workflow.Request, names map[string]string) requestRow {
	row := requestRow{
		ID: r.ID, Reference: r.Reference, Kind: r.Kind, State: r.State, Title: r.Title,
		Urgent: urgentNow(r), Closed: r.State.Final(), Age: age(h.now(), r.CreatedAt),
		Created: r.CreatedAt, DueDate: r.DueDate, Overdue: overdueOf(r, h.now()),
	}
	if r.SideOf(a.Authority) == workflow.SideRequested {
		row.Counterpart, row.Direction = r.RequestingAuthority, "from"
	} else {
		row.Counterpart, row.Direction = r.RequestedAuthority, "to"
	}
	row.CounterName = names[row.Counterpart]
	return row
}

// urgentNow tells whether r is to be marked urgent: it was drafted as
// urgent and is still open. A closed case asks nothing of anyone, so an
// urgent mark on it would only draw attention away from those that do.
func urgentNow(r workflow.Request) bool {
	return r.Urgency == workflow.UrgencyUrgent && !r.State.Final()
}

// eventForm is one action of the request page: a button, and the fields its
// event must carry according to the workflow table.
type eventForm struct {
	Event        workflow.Event
	Label        string
	Hint         string
	NeedsComment bool
	CommentLabel string
	NeedsGrounds bool
	Grounds      []workflow.Ground // those that apply to the request's kind
	Open         bool              // shown open: its last submission failed
	Comment      string
	Chosen       []string
	Errors       map[string]string
	// TakesReference: acknowledge records the requested side's own
	// reference; TakesConsent: and, for an extradition, the person's
	// consent to surrender.
	TakesReference bool
	TakesConsent   bool
	// Evidence are the documents a delivery may hand over, ticked by the
	// officer (deliver only; see withDeliveries); ChosenDocs those ticked
	// when the form comes back refused.
	Evidence   []documentView
	ChosenDocs []string
}

// eventForms builds one form per event the actor may fire at r now.
func (h *Handler) eventForms(a workflow.Actor, r workflow.Request) []eventForm {
	var out []eventForm
	for _, ev := range h.wf.AllowedEvents(a, r) {
		t, ok := workflow.Lookup(ev)
		if !ok {
			continue
		}
		f := eventForm{
			Event: ev, Label: labelOr(eventLabels, ev), Hint: eventHints[ev],
			NeedsComment: t.NeedsField(workflow.FieldComment),
			NeedsGrounds: t.NeedsField(workflow.FieldGrounds),
			CommentLabel: labelOr(commentLabels, ev),
		}
		if f.NeedsGrounds {
			f.Grounds = h.wf.RefusalGrounds(r)
		}
		if ev == workflow.EventAcknowledge {
			f.TakesReference, f.TakesConsent = true, r.Kind == workflow.KindExtradition
		}
		out = append(out, f)
	}
	return out
}

// timelineItem is one transition in a request's history.
type timelineItem struct {
	Event    workflow.Event
	Label    string // what happened: "Sent"
	From, To workflow.State
	// Person is who did it: the username, all that the history records
	// of a person (display names are the administrator's to read).
	Person        string
	Authority     string
	AuthorityName string
	At            time.Time
	Comment       string
	Grounds       []string
	// Delivered are the documents a delivery handed over, as the case file
	// names them (withDeliveries).
	Delivered []documentView
	documents []string // the ids the history records
}

func toTimeline(list []workflow.HistoryEntry, names map[string]string) []timelineItem {
	out := make([]timelineItem, len(list))
	for i, e := range list {
		label, ok := eventPast[e.Event]
		if !ok {
			label = humanize(string(e.Event))
		}
		out[i] = timelineItem{
			Event: e.Event, Label: label, From: e.From, To: e.To, Person: e.Actor, Authority: e.Authority,
			AuthorityName: names[e.Authority], At: e.At, Comment: e.Comment, Grounds: e.Grounds,
			documents: e.Documents,
		}
	}
	return out
}

// withDeliveries fills in what the case file knows of the deliveries:
// the documents each delivery of the timeline handed over, and those that
// the deliver form offers, the requested side's evidence and execution
// reports (what the service accepts, CONTRACT 6).
func withDeliveries(r workflow.Request, timeline []timelineItem, actions []eventForm, docs []documentView) {
	byID := make(map[string]documentView, len(docs))
	var evidence []documentView
	for _, d := range docs {
		byID[d.ID] = d
		if (d.Type == workflow.DocEvidence || d.Type == workflow.DocExecutionReport) && d.Authority == r.RequestedAuthority {
			evidence = append(evidence, d)
		}
	}
	for i := range timeline {
		for _, id := range timeline[i].documents {
			if d, ok := byID[id]; ok {
				timeline[i].Delivered = append(timeline[i].Delivered, d)
			}
		}
	}
	for i := range actions {
		if actions[i].Event == workflow.EventDeliver {
			actions[i].Evidence = evidence
		}
	}
}

// humanize makes words of a code that no label names: "key_rotate" →
// "Key rotate".
func humanize(code string) string {
	s := strings.TrimSpace(strings.NewReplacer("_", " ", ".", " ").Replace(code))
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// option is a choice of a select or a group of radio buttons or boxes.
type option struct {
	Value string
	Label string
}

// counterpartOptions lists the authorities other than the actor's.
func counterpartOptions(list []workflow.Authority, own string) []option {
	var out []option
	for _, a := range list {
		if a.Code != own {
			out = append(out, option{Value: a.Code, Label: a.Code + " — " + a.Name})
		}
	}
	return out
}

func stateOptions(states []workflow.State) []option {
	out := make([]option, len(states))
	for i, s := range states {
		out[i] = option{Value: string(s), Label: labelOr(stateLabels, s)}
	}
	return out
}

func kindOptions() []option {
	out := make([]option, len(workflow.Kinds))
	for i, k := range workflow.Kinds {
		out[i] = option{Value: string(k), Label: labelOr(kindLabels, k)}
	}
	return out
}

func roleOptions() []option {
	out := make([]option, len(workflow.Roles))
	for i, r := range workflow.Roles {
		out[i] = option{Value: string(r), Label: labelOr(roleLabels, r)}
	}
	return out
}

// fieldProblem is one entry of a form's error summary.
type fieldProblem struct {
	Field   string // API name; "" for a problem of the whole form
	Label   string
	Message string
}

// formField is what the "text" and "textarea" partials show of one field.
type formField struct {
	Name, ID, Label, Value, Type, Hint, Error string
	Required, Optional                        bool
	Rows                                      int
	Autocomplete, Size                        string
}

// DescribedBy lists the ids of the hint and the error, for
// aria-describedby.
func (f formField) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// fld describes a form field for the partials: its errors come from errs
// by its API name; opts are "type=date", "hint=…", "required", "optional",
// "rows=N", "ac=…" (autocomplete) and "size=short". There is no maxlength:
// a browser silently cuts what is typed or pasted at that length, so a
// field's limit is said in its hint, and the server's answer to longer
// text is an error next to the field, with the text kept to shorten.
func fld(errs map[string]string, name, label, value string, opts ...string) formField {
	f := formField{Name: name, ID: fieldID(name), Label: label, Value: value, Type: "text"}
	if msg, ok := errs[name]; ok {
		f.Error = fieldMessage(name, msg)
	}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "type":
			f.Type = v
		case "hint":
			f.Hint = v
		case "required":
			f.Required = true
		case "optional":
			f.Optional = true
		case "rows":
			f.Rows, _ = strconv.Atoi(v)
		case "ac":
			f.Autocomplete = v
		case "size":
			f.Size = v
		}
	}
	return f
}

// errFor is the message of the error about field name, "" when none.
func errFor(errs map[string]string, name string) string {
	if msg, ok := errs[name]; ok {
		return fieldMessage(name, msg)
	}
	return ""
}

// fieldMessage makes a sentence of a validation message: the workflow's
// messages are mostly predicates ("is required", "must be at most 200
// characters") to follow the field's name.
func fieldMessage(field, msg string) string {
	if isPredicate(msg) {
		label, ok := fieldLabels[field]
		if !ok {
			label = field
		}
		return label + " " + msg + "."
	}
	if msg == "" {
		return msg
	}
	r := []rune(msg)
	out := strings.ToUpper(string(r[0])) + string(r[1:])
	if !strings.HasSuffix(out, ".") {
		out += "."
	}
	return out
}

// isPredicate reports whether a validation message is a predicate that
// needs the field's name before it ("is required", "must be …").
func isPredicate(msg string) bool {
	for _, p := range []string{"is ", "must ", "apply ", "cannot ", "are ", "has "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
