package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// createInput is the body of POST /requests.
type createInput struct {
	Kind               workflow.Kind    `json:"kind"`
	RequestedAuthority string           `json:"requested_authority"`
	Title              string           `json:"title"`
	Summary            string           `json:"summary"`
	LegalBasis         string           `json:"legal_basis"`
	Offences           []string         `json:"offences"`
	Measures           []string         `json:"measures"`
	Urgency            workflow.Urgency `json:"urgency"`
	UrgencyReason      string           `json:"urgency_reason"`
	DueDate            *string          `json:"due_date"` // null or absent: none
	PersonSought       *personJSON      `json:"person_sought"`
	Warrant            *warrantJSON     `json:"warrant"`
	Instrument         *string          `json:"instrument"` // null or absent: none
	Purpose            string           `json:"purpose"`
	Persons            []personInput    `json:"persons"`
}

func (in createInput) toDomain() workflow.Draft {
	d := workflow.Draft{
		Kind: in.Kind, RequestedAuthority: in.RequestedAuthority, Title: in.Title,
		Summary: in.Summary, LegalBasis: in.LegalBasis, Offences: in.Offences,
		Measures: in.Measures, Urgency: in.Urgency, UrgencyReason: in.UrgencyReason,
		DueDate: deref(in.DueDate), Instrument: deref(in.Instrument), Purpose: in.Purpose,
		Persons: personsToDomain(in.Persons),
	}
	if in.PersonSought != nil {
		p := in.PersonSought.toDomain()
		d.PersonSought = &p
	}
	if in.Warrant != nil {
		w := in.Warrant.toDomain()
		d.Warrant = &w
	}
	return d
}

// handleCreateRequest drafts a request of the caller's authority.
func handleCreateRequest(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in createInput
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
		a := actorFrom(c)
		r, err := wf.Create(c.Request().Context(), a, in.toDomain())
		if err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/requests/"+r.ID)
		return answerRequest(c, http.StatusCreated, wf, a, r)
	}
}

// handleListRequests lists the requests the caller may see, newest first.
func handleListRequests(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		q, err := listQuery(c)
		if err != nil {
			return err
		}
		a := actorFrom(c)
		list, next, err := wf.List(c.Request().Context(), a, q)
		if err != nil {
			return err
		}
		unread, err := wf.UnreadMessages(c.Request().Context(), a, list)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toPage(toRequestsJSON(wf, a, list, unread), next))
	}
}

// handleWaiting lists the requests on which the caller has the next move,
// urgent first (added: a worklist for other systems and the dashboard).
func handleWaiting(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		q, err := queryParams(c, []string{"limit"})
		if err != nil {
			return err
		}
		limit, err := parseLimit(q)
		if err != nil {
			return err
		}
		a := actorFrom(c)
		list, err := wf.Waiting(c.Request().Context(), a, limit)
		if err != nil {
			return err
		}
		unread, err := wf.UnreadMessages(c.Request().Context(), a, list)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, itemsJSON[requestJSON]{Items: toRequestsJSON(wf, a, list, unread)})
	}
}

// handleCounts counts the caller's visible requests by side and state
// (added: for dashboards).
func handleCounts(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := queryParams(c, nil); err != nil {
			return err
		}
		counts, err := wf.Counts(c.Request().Context(), actorFrom(c))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, toCountsJSON(counts))
	}
}

// handleGetRequest shows one request; 404 when it does not exist or the
// caller may not see it. It is the one answer that may disclose protected
// persons (Service.Read decides, and audits it).
func handleGetRequest(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := actorFrom(c)
		r, err := wf.Read(c.Request().Context(), a, c.Param("id"))
		if err != nil {
			return err
		}
		setRequestETag(c, r)
		if notModified(c, r) {
			return c.NoContent(http.StatusNotModified)
		}
		return c.JSON(http.StatusOK, requestJSONOf(wf, a, r))
	}
}

// updateInput is the body of PATCH /requests/{id}: every field optional.
type updateInput struct {
	Kind               optional[workflow.Kind]    `json:"kind"`
	RequestedAuthority optional[string]           `json:"requested_authority"`
	Title              optional[string]           `json:"title"`
	Summary            optional[string]           `json:"summary"`
	LegalBasis         optional[string]           `json:"legal_basis"`
	Offences           optional[[]string]         `json:"offences"`
	Measures           optional[[]string]         `json:"measures"`
	Urgency            optional[workflow.Urgency] `json:"urgency"`
	UrgencyReason      optional[string]           `json:"urgency_reason"`
	DueDate            optional[string]           `json:"due_date"`      // null clears
	PersonSought       optional[personJSON]       `json:"person_sought"` // null clears
	Warrant            optional[warrantJSON]      `json:"warrant"`       // null clears
	Instrument         optional[string]           `json:"instrument"`    // null clears
	Purpose            optional[string]           `json:"purpose"`
	Persons            optional[[]personInput]    `json:"persons"` // the whole list; null clears
	Version            *int                       `json:"version"` // null or absent: any
}

func (in updateInput) toDomain() workflow.Changes {
	return workflow.Changes{
		Kind:               in.Kind.ptr(),
		RequestedAuthority: in.RequestedAuthority.ptr(),
		Title:              in.Title.ptr(),
		Summary:            in.Summary.ptr(),
		LegalBasis:         in.LegalBasis.ptr(),
		Offences:           in.Offences.ptr(),
		Measures:           in.Measures.ptr(),
		Urgency:            in.Urgency.ptr(),
		UrgencyReason:      in.UrgencyReason.ptr(),
		DueDate:            in.DueDate.ptr(),
		PersonSought:       convert(in.PersonSought, personJSON.toDomain),
		Warrant:            convert(in.Warrant, warrantJSON.toDomain),
		Instrument:         in.Instrument.ptr(),
		Purpose:            in.Purpose.ptr(),
		Persons:            convert(in.Persons, personsToDomain),
	}
}

// convert maps a set optional value to the domain; null becomes the zero
// value, which clears.
func convert[J, D any](o optional[J], toDomain func(J) D) *D {
	if !o.Set {
		return nil
	}
	d := toDomain(o.Value)
	return &d
}

// handleUpdateRequest edits a draft.
func handleUpdateRequest(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in updateInput
		if err := decodeRequestChange(c, &in); err != nil {
			return err
		}
		a := actorFrom(c)
		id := c.Param("id")
		r, err := wf.UpdateIfMatch(c.Request().Context(), a, id, in.toDomain(), in.Version, ifMatchOf(c, id))
		if err != nil {
			return err
		}
		return answerRequest(c, http.StatusOK, wf, a, r)
	}
}

// fireInput is the body of POST /requests/{id}/events.
type fireInput struct {
	Event     workflow.Event `json:"event"`
	Comment   string         `json:"comment"`
	Grounds   []string       `json:"grounds"`
	Reference string         `json:"reference"` // acknowledge: the requested side's own
	Consent   bool           `json:"consent"`   // acknowledge (added): the person sought consents to surrender
	Documents []string       `json:"documents"` // deliver (added): the evidence handed over
	Version   *int           `json:"version"`
}

func (in fireInput) toDomain() workflow.EventInput {
	return workflow.EventInput{Event: in.Event, Comment: in.Comment, Grounds: in.Grounds,
		Reference: in.Reference, Consent: in.Consent, Documents: in.Documents, Version: in.Version}
}

// extendInput is the body of POST /requests/{id}/deadlines/{kind}/extensions.
type extendInput struct {
	Days    int    `json:"days"`
	Reason  string `json:"reason"`
	Version *int   `json:"version"` // added, as for events
}

// handleExtendDeadline extends one deadline of a request (CONTRACT 5).
func handleExtendDeadline(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in extendInput
		if err := decodeRequestChange(c, &in); err != nil {
			return err
		}
		a := actorFrom(c)
		r, err := wf.ExtendDeadline(c.Request().Context(), a, c.Param("id"), c.Param("kind"),
			workflow.ExtendInput{Days: in.Days, Reason: in.Reason, Version: in.Version})
		if err != nil {
			return err
		}
		return answerRequest(c, http.StatusOK, wf, a, r)
	}
}

// handleFireEvent moves a request through the workflow. The order of the
// checks (404, 422 unknown event, 409 state, 403 role and side, 409
// version, 422 payload) is the service's.
func handleFireEvent(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in fireInput
		if err := decodeRequestChange(c, &in); err != nil {
			return err
		}
		a := actorFrom(c)
		id := c.Param("id")
		ev := in.toDomain()
		ev.IfMatch = ifMatchOf(c, id)
		r, err := wf.Fire(c.Request().Context(), a, id, ev)
		if err != nil {
			return err
		}
		return answerRequest(c, http.StatusOK, wf, a, r)
	}
}

// handleHistory lists a request's transitions, oldest first.
func handleHistory(wf *workflow.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		list, err := wf.History(c.Request().Context(), actorFrom(c), c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, itemsOf(list, toHistoryJSON))
	}
}
