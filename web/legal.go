package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The pages' view of a request's legal substance (CONTRACT 5): its
// deadlines with their basis, the persons it concerns, the completeness
// checklist of a draft, and the extension of a deadline.

var deadlineLabels = map[string]string{
	workflow.DeadlineRequestedBy:      "Date requested by the requesting authority",
	"acknowledgement":                 "Acknowledgement of receipt",
	"decision":                        "Decision",
	"execution":                       "Execution",
	"surrender":                       "Surrender",
	"provisional_arrest_may_release":  "Provisional arrest: release possible",
	"provisional_arrest_must_release": "Provisional arrest: release required",
}

var deadlineStatusLabels = map[workflow.DeadlineStatus]string{
	workflow.DeadlineRunning: "Running",
	workflow.DeadlineMet:     "Met",
	workflow.DeadlineMissed:  "Met late",
	workflow.DeadlineOverdue: "Overdue",
	workflow.DeadlineStopped: "Stopped: the request ended",
}

var personRoleLabels = map[workflow.PersonRole]string{
	workflow.PersonSuspect:   "Suspect",
	workflow.PersonAccused:   "Accused",
	workflow.PersonSentenced: "Sentenced person",
	workflow.PersonVictim:    "Victim",
	workflow.PersonWitness:   "Witness",
	workflow.PersonExpert:    "Expert",
	workflow.PersonOther:     "Other",
}

// deadlineView is one deadline on the request page.
type deadlineView struct {
	Kind, Label, Basis string
	Side               string // "requested" or "requesting", in words: whose it is
	Yours              bool   // it binds the viewer's authority
	DueAt              time.Time
	Status             workflow.DeadlineStatus
	StatusLabel        string
	Overdue            bool
	Paused             bool
	MetAt              *time.Time
	Left               string // how long is left, or how long overdue
	Extensions         []workflow.Extension
	MayExtend          bool // the viewer may extend it now
	ExtendableLeft     int  // days the rule still allows
	Error              map[string]string
	Days, Reason       string // as typed, after a failed extension
}

// deadlineViews lists r's deadlines as the viewer a sees them at now.
func (h *Handler) deadlineViews(a workflow.Actor, r workflow.Request, now time.Time) []deadlineView {
	var out []deadlineView
	for _, d := range r.DeadlinesAt(now) {
		v := deadlineView{
			Kind: d.Kind, Label: labelOr(deadlineLabels, d.Kind), Basis: d.Basis, Side: string(d.Side),
			Yours: r.SideOf(a.Authority) == d.Side, DueAt: d.DueAt, Status: d.Status,
			StatusLabel: labelOr(deadlineStatusLabels, d.Status), Overdue: d.Status == workflow.DeadlineOverdue,
			Paused: d.Paused, MetAt: d.MetAt, Extensions: d.Extensions,
		}
		switch d.Status {
		case workflow.DeadlineRunning:
			v.Left = "due in " + span(d.DueAt.Sub(now))
		case workflow.DeadlineOverdue:
			v.Left = span(now.Sub(d.DueAt)) + " overdue"
		}
		if v.Paused {
			v.StatusLabel = "Clock stopped"
			v.Left = "the clock stands while the request is " + labelOr(stateLabels, r.State)
		}
		v.ExtendableLeft = h.wf.ExtensionLeft(a, r, d.Kind)
		v.MayExtend = v.ExtendableLeft > 0
		out = append(out, v)
	}
	return out
}

// span says a duration in days, or hours below two days.
func span(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d h", max(int(d.Hours()), 0))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// overdueOf names the overdue deadlines of r at now, for lists.
func overdueOf(r workflow.Request, now time.Time) []string {
	var out []string
	for _, d := range r.DeadlinesAt(now) {
		if d.Status == workflow.DeadlineOverdue {
			out = append(out, labelOr(deadlineLabels, d.Kind))
		}
	}
	return out
}

// personView is one person concerned on the request page.
type personView struct {
	RoleLabel string
	workflow.PersonConcerned
}

func personViews(list []workflow.PersonConcerned) []personView {
	out := make([]personView, len(list))
	for i, p := range list {
		out[i] = personView{RoleLabel: labelOr(personRoleLabels, p.Role), PersonConcerned: p}
	}
	return out
}

// checkView is one item of a draft's completeness checklist.
type checkView struct {
	Field, Label, Reason string
	Done                 bool
}

// checklist is the completeness checklist of r at now: the items that
// apply to it, each done or not, in the order of UNTOC Art. 18(15).
func checklist(r workflow.Request, now time.Time) []checkView {
	var out []checkView
	for _, item := range workflow.Checklist {
		if item.Applies(r) {
			out = append(out, checkView{Field: item.Field, Label: item.Label, Reason: item.Reason, Done: item.Has(r, now)})
		}
	}
	return out
}

// instrumentOptions are the instruments a request of kind k may rest on.
func (h *Handler) instrumentOptions(k workflow.Kind) []option {
	var out []option
	for _, in := range h.wf.Instruments() {
		if in.Serves(k) {
			out = append(out, option{Value: in.Code, Label: in.Label})
		}
	}
	return out
}

// handleExtendDeadline extends a deadline with the days and the reason
// its form carried; the service decides who may and how far.
func (h *Handler) handleExtendDeadline() echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		a, id, kind := actorOf(c), c.Param("id"), c.Param("kind")
		in := workflow.ExtendInput{Reason: strings.TrimSpace(c.FormValue("reason"))}
		typed := c.FormValue("days")
		if n, err := strconv.Atoi(strings.TrimSpace(typed)); err == nil {
			in.Days = n
		}
		if s := c.FormValue("version"); s != "" {
			if n, err := strconv.Atoi(s); err == nil {
				in.Version = &n
			}
		}
		err := formError(c)
		if err == nil {
			_, err = h.wf.ExtendDeadline(ctx, a, id, kind, in)
		}
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/requests/"+id+"?done=extended")
		}
		code := workflow.ErrorCode(err)
		if code != workflow.ErrValidation && code != workflow.ErrVersionConflict {
			return err
		}
		v, out, verr := h.refusedView(c, id, code)
		if verr != nil {
			return verr
		}
		fields, _ := validationFields(err)
		for i := range v.Deadlines {
			if v.Deadlines[i].Kind == kind {
				v.Deadlines[i].Error, v.Deadlines[i].Days, v.Deadlines[i].Reason = fields, typed, in.Reason
			}
		}
		out.alert = "The deadline was not extended. " + firstMessage(fields, err)
		return h.render(c, out)
	}
}

// firstMessage is the message of a refusal for people: its first field's
// reason, or the error's own.
func firstMessage(fields map[string]string, err error) string {
	for _, f := range []string{"days", "reason"} {
		if m := fields[f]; m != "" {
			return fieldMessage(f, m)
		}
	}
	var e *workflow.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Nothing was changed."
}

// personRoleOptions are the roles of persons concerned, for the form.
func personRoleOptions() []option {
	out := make([]option, len(workflow.PersonRoles))
	for i, r := range workflow.PersonRoles {
		out[i] = option{Value: string(r), Label: personRoleLabels[r]}
	}
	return out
}
