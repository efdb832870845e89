package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// requestFormView is the content of the new-request and edit pages.
type requestFormView struct {
	Editing          bool
	Action           string // where the form posts
	ID               string
	Reference        string
	Version          int
	Kind             workflow.Kind
	KindLabel        string
	Values           requestValues
	Errors           map[string]string
	Problems         []fieldProblem
	AuthorityOptions []option
	Measures         []workflow.Measure
	WarrantTypes     []option
	Instruments      []option
	PersonRoles      []option
}

// kindChoiceView is the content of the first step of a new request.
type kindChoiceView struct {
	Problem string
}

func (h *Handler) requestForm(c echo.Context, k workflow.Kind) (requestFormView, error) {
	list, err := h.authorities(c)
	if err != nil {
		return requestFormView{}, err
	}
	return requestFormView{
		Action: "/requests/new", Kind: k, KindLabel: labelOr(kindLabels, k),
		Values: requestValues{Urgency: string(workflow.UrgencyNormal)}, Errors: map[string]string{},
		AuthorityOptions: counterpartOptions(list, actorOf(c).Authority),
		Measures:         workflow.Measures,
		WarrantTypes: []option{
			{Value: workflow.WarrantArrest, Label: warrantTypeLabels[workflow.WarrantArrest]},
			{Value: workflow.WarrantJudgment, Label: warrantTypeLabels[workflow.WarrantJudgment]},
		},
		Instruments: h.instrumentOptions(k),
		PersonRoles: personRoleOptions(),
	}, nil
}

// handleNewRequest shows the form of a new request. The form depends on
// the kind, so the kind is chosen first.
func (h *Handler) handleNewRequest() echo.HandlerFunc {
	return func(c echo.Context) error {
		k := workflow.Kind(c.QueryParam("kind"))
		if !k.Valid() {
			v := kindChoiceView{}
			status := http.StatusOK
			if k != "" {
				v.Problem, status = "Choose one of the two kinds of request.", statusOf(workflow.ErrBadRequest)
			}
			return h.render(c, view{status: status, name: "request_kind.html", title: "New request", content: v})
		}
		v, err := h.requestForm(c, k)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "request_form.html", title: "New " + strings.ToLower(v.KindLabel) + " request", content: v})
	}
}

// handleCreateRequest drafts the request; a form with errors comes back
// with the input kept and each error next to its field.
func (h *Handler) handleCreateRequest() echo.HandlerFunc {
	return func(c echo.Context) error {
		k := workflow.Kind(c.FormValue("kind"))
		if !k.Valid() {
			return workflow.Errorf(workflow.ErrBadRequest, "The form did not say which kind of request to draft.")
		}
		v, err := h.requestForm(c, k)
		if err != nil {
			return err
		}
		v.Values = readRequestForm(c, k)
		var r workflow.Request
		err = formError(c)
		if err == nil {
			r, err = h.wf.Create(c.Request().Context(), actorOf(c), v.Values.draft(k))
		}
		if fields, ok := validationFields(err); ok {
			v.Errors, v.Problems = fields, problems(fields, requestFormFields)
			return h.render(c, view{status: statusOf(workflow.ErrValidation), name: "request_form.html",
				title: "New " + strings.ToLower(v.KindLabel) + " request", content: v,
				alert: "The request was not saved. Correct the fields marked below."})
		}
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/requests/"+r.ID+"?done=created")
	}
}

// validationFields returns the field errors of a validation error.
func validationFields(err error) (map[string]string, bool) {
	var ae *workflow.Error
	if errors.As(err, &ae) && ae.Code == workflow.ErrValidation {
		fields := ae.Fields
		if len(fields) == 0 {
			fields = map[string]string{"": ae.Message}
		}
		return fields, true
	}
	return nil, false
}

// requestView is the content of the request page.
type requestView struct {
	R             workflow.Request
	KindLabel     string
	Side          workflow.Side
	Requesting    string // authority names
	Requested     string
	Urgent        bool // marked urgent: urgentNow
	Timeline      []timelineItem
	Diagram       diagramView
	Mermaid       string
	Actions       []eventForm
	MayEdit       bool
	EditHint      string // beside the edit link: what editing is for, who sends
	AwaitingLabel string
	// The legal substance (CONTRACT 5).
	Instrument string // its label
	Deadlines  []deadlineView
	Persons    []personView
	Checklist  []checkView // a draft's completeness
	Complete   bool
	Enforced   bool // the requesting authority sends complete requests only
	// The case file (CONTRACT 6).
	Case caseFileView
	// The thread of messages (CONTRACT 6).
	Thread threadView
}

// doneMessages confirm a change after the redirect that follows it.
var doneMessages = map[string]string{
	"clock_start":                     "The exercise has started: its starting requests are on the trainees' desks.",
	"clock_pause":                     "The exercise clock is paused.",
	"clock_resume":                    "The exercise clock runs again.",
	"clock_advance":                   "The exercise clock has moved forward; the simulated authorities have made the moves now due.",
	"inject":                          "The inject has been applied.",
	"ended":                           "The exercise has ended. Its debrief is final.",
	"exercise_deleted":                "The exercise has been deleted, with its world; its trainees are logged out.",
	"created":                         "The draft has been saved. A supervisor of your authority sends it.",
	"updated":                         "Your changes to the draft have been saved.",
	"document":                        "The document has been added to the case file.",
	"translation":                     "The translation status has been saved.",
	string(workflow.EventSend):        "The request has been sent to the requested authority.",
	string(workflow.EventAcknowledge): "Receipt of the request has been acknowledged.",
	string(workflow.EventRequestInfo): "The request for more information has been sent.",
	string(workflow.EventProvideInfo): "The information has been provided.",
	string(workflow.EventExecute):     "The execution has been recorded.",
	string(workflow.EventRefuse):      "The request has been refused.",
	string(workflow.EventWithdraw):    "The request has been withdrawn.",
	string(workflow.EventPostpone):    "Execution has been postponed; the deadlines' clocks stand until it resumes.",
	string(workflow.EventResume):      "Execution has resumed; the deadlines' clocks run on.",
	string(workflow.EventDeliver):     "The delivery has been recorded; the request stays open.",
	"message":                         "The message has been posted.",
	"extended":                        "The deadline has been extended; the reason is recorded in the audit log.",
	"user_created":                    "The account has been created.",
	"authority_updated":               "The authority's settings have been saved; the audit log records the change.",
	"webhook_deleted":                 "The webhook has been deleted; nothing more is sent to it.",
	"webhook_retried":                 "The delivery will be sent again at once, with the same webhook-id.",
	"user_disabled":                   "The account has been disabled; its sessions end at once.",
	"user_enabled":                    "The account has been enabled.",
	"user_password":                   "The password has been reset. Give it to the user by a secure channel.",
	"user_role":                       "The role has been changed.",
	"key_revoked":                     "The API key has been revoked; every server refuses it from its next use.",
}

// buildRequestView loads what the request page shows besides the request.
// disclosed says that r is as Service.Read answered it, with its protected
// persons disclosed to this viewer and that disclosure audited; any other
// r has them concealed here.
func (h *Handler) buildRequestView(c echo.Context, r workflow.Request, disclosed bool) (requestView, error) {
	if !disclosed {
		r = r.Concealed()
	}
	a := actorOf(c)
	names, err := h.authorityNames(c)
	if err != nil {
		return requestView{}, err
	}
	history, err := h.wf.History(c.Request().Context(), a, r.ID)
	if err != nil {
		return requestView{}, err
	}
	visited := []workflow.State{workflow.States[0]}
	for _, e := range history {
		visited = append(visited, e.From, e.To)
	}
	allowed := h.wf.AllowedEvents(a, r)
	mermaid, _ := workflow.Diagram(r.State)
	v := requestView{
		R: r, KindLabel: labelOr(kindLabels, r.Kind), Side: r.SideOf(a.Authority),
		Requesting: names[r.RequestingAuthority], Requested: names[r.RequestedAuthority],
		Urgent:   urgentNow(r),
		Timeline: toTimeline(history, names),
		Diagram:  buildDiagram(r.State, visited, allowed),
		Mermaid:  mermaid,
		Actions:  h.eventForms(a, r),
		MayEdit:  h.wf.Editable(a, r) == nil,
	}
	if v.Case, err = h.caseFile(c, a, r); err != nil {
		return requestView{}, err
	}
	withDeliveries(r, v.Timeline, v.Actions, v.Case.Documents)
	if v.Thread, err = h.buildThread(c, a, r, names); err != nil {
		return requestView{}, err
	}
	now := h.now()
	v.Deadlines = h.deadlineViews(a, r, now)
	v.Persons = personViews(r.Persons)
	if r.Instrument != "" {
		v.Instrument = h.wf.InstrumentLabel(r.Instrument)
	}
	if r.State == workflow.StateDrafted {
		v.Checklist = checklist(r, now)
		v.Complete = r.CompletenessAt(now).Complete
		list, err := h.authorities(c)
		if err != nil {
			return requestView{}, err
		}
		for _, au := range list {
			if au.Code == r.RequestingAuthority {
				v.Enforced = au.CompletenessPolicy == workflow.CompletenessEnforced
			}
		}
	}
	if v.MayEdit {
		v.EditHint = "Change the request while it is a draft."
		if t, ok := workflow.Lookup(workflow.EventSend); ok && len(v.Actions) == 0 {
			// Editing is all this user does here: say who takes it on.
			v.EditHint += " When it is ready, the " + rolesOf(t) + " of your authority send it."
		}
	}
	if side := workflow.AwaitingSide(r.State); !r.State.Final() && side != workflow.SideNone {
		code := r.RequestingAuthority
		if side == workflow.SideRequested {
			code = r.RequestedAuthority
		}
		v.AwaitingLabel = "the " + string(side) + " authority (" + code + ")"
		if side == v.Side {
			v.AwaitingLabel = "your authority (" + code + ")"
		}
	}
	return v, nil
}

// handleRequestView shows a request: its details, its timeline, the
// workflow with its current state, and one button per event the user may
// fire now.
func (h *Handler) handleRequestView() echo.HandlerFunc {
	return func(c echo.Context) error {
		r, err := h.wf.Read(c.Request().Context(), actorOf(c), c.Param("id"))
		if err != nil {
			return err
		}
		v, err := h.buildRequestView(c, r, true)
		if err != nil {
			return err
		}
		return h.render(c, view{name: "request_view.html", title: r.Reference + " " + r.Title,
			flash: doneMessages[c.QueryParam("done")], content: v, live: r.ID})
	}
}

// handleFire fires one event with what its form carried. The service
// decides everything: whether the user may, whether the state allows it,
// whether the payload is complete.
func (h *Handler) handleFire() echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		a := actorOf(c)
		id := c.Param("id")
		in := workflow.EventInput{Event: workflow.Event(c.Param("event")), Comment: c.FormValue("comment"),
			Reference: strings.TrimSpace(c.FormValue("reference")), Consent: c.FormValue("consent") == "yes"}
		if form, err := c.FormParams(); err == nil {
			in.Grounds = form["grounds"]
			in.Documents = form["documents"]
		}
		if s := c.FormValue("version"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return workflow.Errorf(workflow.ErrBadRequest, "The form carried a malformed version.")
			}
			in.Version = &n
		}
		err := formError(c)
		if err == nil {
			_, err = h.wf.Fire(ctx, a, id, in)
		}
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/requests/"+id+"?done="+string(in.Event))
		}
		code := workflow.ErrorCode(err)
		if t, known := workflow.Lookup(in.Event); known && code == workflow.ErrForbidden {
			// The service's message names the event by its code.
			return workflow.Errorf(workflow.ErrForbidden, "%s", whoMayFire(t))
		}
		if code != workflow.ErrValidation && code != workflow.ErrVersionConflict && code != workflow.ErrInvalidTransition {
			return err
		}
		// Show the request as it is now, with what went wrong.
		v, out, verr := h.refusedView(c, id, code)
		if verr != nil {
			return verr
		}
		r := v.R
		switch code {
		case workflow.ErrValidation:
			fields, _ := validationFields(err)
			found := false
			for i := range v.Actions {
				if v.Actions[i].Event == in.Event {
					f := &v.Actions[i]
					f.Open, f.Comment, f.Chosen, f.ChosenDocs = true, in.Comment, in.Grounds, in.Documents
					f.Errors = eventFieldMessages(*f, r.Kind, fields)
					found = true
				}
			}
			out.alert = quoted(in.Event) + " was not done. Complete the form below."
			if !found {
				out.alert = "That action is not known. Nothing was changed."
			}
		default:
			out.alert = quoted(in.Event) + " was not done: the request moved on while you had it open. It is now “" +
				labelOr(stateLabels, r.State) + "”. Check it below and try again if still needed."
		}
		return h.render(c, out)
	}
}

// refusedView is the request page as the request stands now, answered
// with the status of a refused change: where a form of the page comes back
// with what went wrong. Its persons are concealed: it is no reading of the
// request (Service.Read).
func (h *Handler) refusedView(c echo.Context, id string, code workflow.Code) (*requestView, view, error) {
	r, err := h.wf.Get(c.Request().Context(), actorOf(c), id)
	if err != nil {
		return nil, view{}, err
	}
	v, err := h.buildRequestView(c, r, false)
	if err != nil {
		return nil, view{}, err
	}
	return &v, view{status: statusOf(code), name: "request_view.html", title: r.Reference + " " + r.Title, content: &v}, nil
}

// handleEditRequest shows the form of a draft, filled in.
func (h *Handler) handleEditRequest() echo.HandlerFunc {
	return func(c echo.Context) error {
		// The form shows the persons concerned, protected ones too: read as
		// the request page reads, disclosure audited.
		r, err := h.editable(c, h.wf.Read)
		if err != nil {
			return err
		}
		v, err := h.requestForm(c, r.Kind)
		if err != nil {
			return err
		}
		v.Editing, v.Action, v.ID, v.Reference, v.Version = true, "/requests/"+r.ID+"/edit", r.ID, r.Reference, r.Version
		v.Values = valuesOf(r)
		return h.render(c, view{name: "request_form.html", title: "Edit " + r.Reference, content: v})
	}
}

// editable loads, with read, a request the actor may edit now, with the same refusals
// as the service's: 404 when hidden, 403 without the right, 409 when it is
// no longer a draft.
func (h *Handler) editable(c echo.Context, read func(context.Context, workflow.Actor, string) (workflow.Request, error)) (workflow.Request, error) {
	a := actorOf(c)
	r, err := h.wf.Get(c.Request().Context(), a, c.Param("id"))
	if err != nil {
		return r, err
	}
	err = h.wf.Editable(a, r)
	if workflow.ErrorCode(err) == workflow.ErrInvalidTransition {
		// The service's message names the state by its code.
		return r, workflow.Errorf(workflow.ErrInvalidTransition, "%s", notDraftMessage(r.State))
	}
	if err != nil {
		return r, err
	}
	// Read only what may be edited: a refused form discloses nothing, and
	// so records no disclosure.
	return read(c.Request().Context(), a, r.ID)
}

// handleUpdateRequest saves the edit of a draft.
func (h *Handler) handleUpdateRequest() echo.HandlerFunc {
	return func(c echo.Context) error {
		r, err := h.editable(c, h.wf.Get)
		if err != nil {
			return err
		}
		v, err := h.requestForm(c, r.Kind)
		if err != nil {
			return err
		}
		v.Editing, v.Action, v.ID, v.Reference = true, "/requests/"+r.ID+"/edit", r.ID, r.Reference
		v.Values = readRequestForm(c, r.Kind)
		version, err := strconv.Atoi(c.FormValue("version"))
		if err != nil {
			return workflow.Errorf(workflow.ErrBadRequest, "The form carried no version of the draft.")
		}
		v.Version = version
		if err = formError(c); err == nil {
			_, err = h.wf.Update(c.Request().Context(), actorOf(c), r.ID, v.Values.changes(r.Kind), &version)
		}
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/requests/"+r.ID+"?done=updated")
		}
		out := view{name: "request_form.html", title: "Edit " + r.Reference, content: &v}
		if fields, ok := validationFields(err); ok {
			v.Errors, v.Problems = fields, problems(fields, requestFormFields)
			out.status, out.alert = statusOf(workflow.ErrValidation), "The changes were not saved. Correct the fields marked below."
			return h.render(c, out)
		}
		if workflow.ErrorCode(err) == workflow.ErrVersionConflict {
			out.status = statusOf(workflow.ErrVersionConflict)
			out.alert = "The changes were not saved: someone else changed this draft after you opened it. " +
				"Open the draft again to see their version, then make your changes."
			return h.render(c, out)
		}
		return err
	}
}
