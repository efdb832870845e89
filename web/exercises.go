package web

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/training"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The trainer's pages (CONTRACT 7): the scenarios and the exercises, one
// exercise with its clock, participants and injects, the accounts sheet
// to print, and the debrief. The exercise.Manager and the Policy decide;
// these pages only ask and show.

// exercisesView is the content of the exercises page.
type exercisesView struct {
	Scenarios []exercise.Scenario
	Exercises []exercise.View
	Errors    map[string]string
	Problems  []fieldProblem
	Scenario  string
	Trainees  string
	Seed      string
}

var newExerciseFields = []string{"scenario", "trainees", "seed"}

func (h *Handler) exercisesView(c echo.Context) (exercisesView, error) {
	list, err := h.exercises.List(c.Request().Context(), actorOf(c))
	if err != nil {
		return exercisesView{}, err
	}
	v := exercisesView{Scenarios: h.exercises.Scenarios(), Exercises: list, Errors: map[string]string{}, Trainees: "1"}
	if len(v.Scenarios) > 0 {
		v.Scenario = v.Scenarios[0].ID
	}
	return v, nil
}

func (h *Handler) handleExercises() echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := h.exercisesView(c)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "exercises.html", title: "Exercises", content: v, flash: doneMessages[c.QueryParam("done")]})
	}
}

// accountsView is the accounts sheet: shown once, when the exercise is
// created, since the passwords are kept hashed only.
type accountsView struct {
	Exercise exercise.View
	Accounts []exercise.Account
}

func (h *Handler) handleCreateExercise() echo.HandlerFunc {
	return func(c echo.Context) error {
		in := exercise.CreateInput{Scenario: c.FormValue("scenario")}
		fields := map[string]string{}
		if s := strings.TrimSpace(c.FormValue("trainees")); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				fields["trainees"] = "must be a whole number"
			}
			in.Trainees = n
		}
		if s := strings.TrimSpace(c.FormValue("seed")); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				fields["seed"] = "must be a whole number"
			}
			in.Seed = &n
		}
		err := formError(c)
		if err == nil && len(fields) > 0 {
			err = workflow.InvalidFields(fields)
		}
		var ev exercise.View
		var accounts []exercise.Account
		if err == nil {
			ev, accounts, err = h.exercises.Create(c.Request().Context(), actorOf(c), in)
		}
		if err == nil {
			return h.render(c, view{status: http.StatusCreated, name: "exercise_accounts.html", title: "Accounts of " + ev.Title,
				flash:   "The exercise is ready. Print this sheet or note the passwords now: they are not shown again.",
				content: accountsView{Exercise: ev, Accounts: accounts}})
		}
		if workflow.ErrorCode(err) != workflow.ErrValidation {
			return err
		}
		v, verr := h.exercisesView(c)
		if verr != nil {
			return verr
		}
		v.Errors, _ = validationFields(err)
		v.Problems = problems(v.Errors, newExerciseFields)
		v.Scenario, v.Trainees, v.Seed = in.Scenario, c.FormValue("trainees"), c.FormValue("seed")
		return h.render(c, view{status: http.StatusUnprocessableEntity, name: "exercises.html", title: "Exercises", content: v,
			alert: "The exercise was not created. Correct the fields marked below."})
	}
}

// exerciseView is the content of one exercise's page.
type exerciseView struct {
	E        exercise.View
	Scenario exercise.Scenario
	Errors   map[string]string
	Problems []fieldProblem
	By       string
	Speed    string
	// The ad hoc message, as typed.
	From, Request, MessageKind, Body string
}

func (h *Handler) exerciseView(c echo.Context) (exerciseView, error) {
	ev, err := h.exercises.Get(c.Request().Context(), actorOf(c), c.Param("id"))
	if err != nil {
		return exerciseView{}, err
	}
	sc, _ := h.exercises.Scenario(ev.Scenario)
	return exerciseView{E: ev, Scenario: sc, Errors: map[string]string{}, By: "1h", MessageKind: "message",
		Speed: strconv.FormatFloat(ev.Clock.Speed, 'f', -1, 64)}, nil
}

func (h *Handler) handleExercise() echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := h.exerciseView(c)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "exercise.html", title: v.E.Title, content: v, flash: doneMessages[c.QueryParam("done")]})
	}
}

var clockFields = []string{"action", "speed", "by", "inject", "from", "request", "message_kind", "body"}

// exerciseChange answers a form of the exercise page: back to the page
// with a confirmation, or the page again with the problem.
func (h *Handler) exerciseChange(c echo.Context, done string, change func() error) error {
	err := formError(c)
	if err == nil {
		err = change()
	}
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/exercises/"+c.Param("id")+"?done="+done)
	}
	code := workflow.ErrorCode(err)
	if code != workflow.ErrValidation && code != workflow.ErrInvalidTransition {
		return err
	}
	v, verr := h.exerciseView(c)
	if verr != nil {
		return verr
	}
	alert := "That did not work: " + err.Error()
	if fields, ok := validationFields(err); ok {
		v.Errors = fields
		v.Problems = problems(fields, clockFields)
		alert = "Nothing was changed. Correct the fields marked below."
		v.By, v.Speed = c.FormValue("by"), c.FormValue("speed")
		v.From, v.Request, v.MessageKind, v.Body = c.FormValue("from"), c.FormValue("request"), c.FormValue("message_kind"), c.FormValue("body")
	} else if we, ok := err.(*workflow.Error); ok {
		alert = we.Message
	}
	return h.render(c, view{status: statusOf(code), name: "exercise.html", title: v.E.Title, content: v, alert: alert})
}

func (h *Handler) handleExerciseClock() echo.HandlerFunc {
	return func(c echo.Context) error {
		a := exercise.ClockAction{Action: c.FormValue("action"), By: strings.TrimSpace(c.FormValue("by"))}
		if a.Action != "advance" {
			a.By = ""
		}
		if s := strings.TrimSpace(c.FormValue("speed")); s != "" && (a.Action == "start" || a.Action == "resume" || a.Action == "speed") {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return h.exerciseChange(c, "", func() error { return workflow.Invalid("speed", "must be a number") })
			}
			a.Speed = &f
		}
		return h.exerciseChange(c, "clock_"+a.Action, func() error {
			_, err := h.exercises.SetClock(c.Request().Context(), actorOf(c), c.Param("id"), a)
			return err
		})
	}
}

func (h *Handler) handleExerciseInject() echo.HandlerFunc {
	return func(c echo.Context) error {
		return h.exerciseChange(c, "inject", func() error {
			_, err := h.exercises.Inject(c.Request().Context(), actorOf(c), c.Param("id"), c.FormValue("inject"), nil)
			return err
		})
	}
}

// adHocMessage is the ad hoc inject of the exercise page: a message of a
// simulated authority in the thread of one of the scenario's requests, in
// the scenario files' shape (see docs/SCENARIOS.md).
type adHocMessage struct {
	Title   string `json:"title"`
	Kind    string `json:"kind"`
	From    string `json:"from"`
	Request string `json:"request"`
	Message struct {
		Kind string `json:"kind"`
		Body string `json:"body"`
	} `json:"message"`
}

func (h *Handler) handleExerciseAdHoc() echo.HandlerFunc {
	return func(c echo.Context) error {
		in := adHocMessage{Kind: "message", From: c.FormValue("from"), Request: c.FormValue("request")}
		in.Title = "Ad hoc message from " + in.From
		in.Message.Kind, in.Message.Body = c.FormValue("message_kind"), c.FormValue("body")
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		return h.exerciseChange(c, "inject", func() error {
			_, err := h.exercises.Inject(c.Request().Context(), actorOf(c), c.Param("id"), "", raw)
			return adHocFields(err)
		})
	}
}

// adHocFields names an ad hoc inject's problems by the form's fields.
func adHocFields(err error) error {
	fields, ok := validationFields(err)
	if !ok {
		return err
	}
	names := map[string]string{"ad_hoc.from": "from", "ad_hoc.request": "request",
		"ad_hoc.message.kind": "message_kind", "ad_hoc.message.body": "body"}
	out := map[string]string{}
	for f, reason := range fields {
		if n, ok := names[f]; ok {
			out[n] = reason
		} else {
			out[""] = strings.TrimSpace(out[""] + " " + strings.TrimPrefix(f, "ad_hoc.") + " " + reason)
		}
	}
	return workflow.InvalidFields(out)
}

func (h *Handler) handleEndExercise() echo.HandlerFunc {
	return func(c echo.Context) error {
		return h.exerciseChange(c, "ended", func() error {
			_, err := h.exercises.End(c.Request().Context(), actorOf(c), c.Param("id"))
			return err
		})
	}
}

func (h *Handler) handleDeleteExercise() echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := formError(c); err != nil {
			return err
		}
		if err := h.exercises.Delete(c.Request().Context(), actorOf(c), c.Param("id")); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/exercises?done=exercise_deleted")
	}
}

// debriefView is the content of the debrief page.
type debriefView struct {
	E      exercise.View
	Report *training.Report // nil for another engine's debrief
	SVG    template.HTML
}

func (h *Handler) handleExerciseDebrief() echo.HandlerFunc {
	return func(c echo.Context) error {
		d, ev, err := h.exercises.Debrief(c.Request().Context(), actorOf(c), c.Param("id"))
		if err != nil {
			return err
		}
		v := debriefView{E: ev}
		v.Report, _ = d.(*training.Report)
		// The SVG is the server's own drawing (training.Report.TimelineSVG,
		// which escapes every text it draws), not user input.
		v.SVG = template.HTML(d.TimelineSVG())
		return h.render(c, view{name: "exercise_debrief.html", title: "Debrief: " + ev.Title, content: v})
	}
}

func (h *Handler) handleExerciseDebriefCSV() echo.HandlerFunc {
	return func(c echo.Context) error {
		d, _, err := h.exercises.Debrief(c.Request().Context(), actorOf(c), c.Param("id"))
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := d.WriteCSV(&buf); err != nil {
			return err
		}
		c.Response().Header().Set("Content-Disposition", `attachment; filename="debrief-`+c.Param("id")+`.csv"`)
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	}
}
