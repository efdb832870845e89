package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The thread of a request on its page (CONTRACT 6): the messages the
// Policy lets the viewer see, a form to post one, and, on the refusal
// form, whether the requesting side was consulted (UNTOC 18(26)).

// messageKindLabels name the kinds of message.
var messageKindLabels = map[workflow.MessageKind]string{
	workflow.MessageKindMessage:       "Message",
	workflow.MessageKindConsultation:  "Consultation before refusal",
	workflow.MessageKindStatusEnquiry: "Status enquiry",
	workflow.MessageKindNote:          "Internal note",
}

// messageKindHints say what each kind is for, in the form.
var messageKindHints = map[workflow.MessageKind]string{
	workflow.MessageKindMessage:       "Seen by both authorities.",
	workflow.MessageKindConsultation:  "Consult the other authority before refusing or postponing (UNTOC Art. 18(26)). Seen by both authorities.",
	workflow.MessageKindStatusEnquiry: "Ask where the request stands (UNTOC Art. 18(24)). Seen by both authorities.",
	workflow.MessageKindNote:          "Only your own authority ever sees it.",
}

// messageView is one message of the thread.
type messageView struct {
	ID            string
	Kind          workflow.MessageKind
	KindLabel     string
	Body          string
	Actor         string
	Authority     string
	AuthorityName string
	At            time.Time
	ReadAt        *time.Time
	Internal      bool
	Mine          bool // of the viewer's authority
	New           bool // unread by the viewer's authority until this page
}

// kindOption is a kind the form offers.
type kindOption struct {
	Value    workflow.MessageKind
	Label    string
	Hint     string
	Selected bool
}

// threadView is the thread panel of the request page.
type threadView struct {
	Messages []messageView
	MayPost  bool
	Kinds    []kindOption
	Body     string            // the body typed, when the form comes back
	Errors   map[string]string // what was wrong with it
	// Consultation is the first consultation of the thread, which the
	// refusal form points to; nil when none took place.
	Consultation *messageView
}

// buildThread reads the thread of r as a sees it (which marks the
// counterpart's messages read when a may post) for the request page.
func (h *Handler) buildThread(c echo.Context, a workflow.Actor, r workflow.Request, names map[string]string) (threadView, error) {
	list, err := h.wf.Messages(c.Request().Context(), a, r.ID)
	if err != nil {
		return threadView{}, err
	}
	v := threadView{MayPost: h.policy.MayPostMessage(a, r)}
	for _, m := range list {
		mv := messageView{
			ID: m.ID, Kind: m.Kind, KindLabel: labelOr(messageKindLabels, m.Kind), Body: m.Body,
			Actor: m.Actor, Authority: m.Authority, AuthorityName: names[m.Authority], At: m.At,
			ReadAt: m.ReadAt, Internal: m.Internal, Mine: m.Authority == a.Authority, New: m.New,
		}
		v.Messages = append(v.Messages, mv)
		if m.Kind == workflow.MessageKindConsultation && !m.Internal && v.Consultation == nil {
			first := mv
			v.Consultation = &first
		}
	}
	v.Kinds = messageKindOptions(workflow.MessageKindMessage)
	return v, nil
}

func messageKindOptions(selected workflow.MessageKind) []kindOption {
	out := make([]kindOption, len(workflow.MessageKinds))
	for i, k := range workflow.MessageKinds {
		out[i] = kindOption{Value: k, Label: messageKindLabels[k], Hint: messageKindHints[k], Selected: k == selected}
	}
	return out
}

// handlePostMessage posts a message from the thread's form; a refused one
// comes back on the request page with what was wrong.
func (h *Handler) handlePostMessage() echo.HandlerFunc {
	return func(c echo.Context) error {
		a := actorOf(c)
		id := c.Param("id")
		kind, body := workflow.MessageKind(c.FormValue("kind")), c.FormValue("body")
		err := formError(c)
		if err == nil {
			_, err = h.wf.PostMessage(c.Request().Context(), a, id, kind, body)
		}
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/requests/"+id+"?done=message#messages")
		}
		fields, invalid := validationFields(err)
		if !invalid {
			if workflow.ErrorCode(err) == workflow.ErrForbidden {
				return workflow.Errorf(workflow.ErrForbidden, "Only the officers and supervisors of the request's two authorities post messages.")
			}
			return err
		}
		v, out, verr := h.refusedView(c, id, workflow.ErrValidation)
		if verr != nil {
			return verr
		}
		v.Thread.Body, v.Thread.Errors = body, map[string]string{}
		for f, why := range fields {
			switch f {
			case "kind":
				v.Thread.Errors["kind"] = "Choose what kind of message this is."
			case "body":
				if strings.TrimSpace(body) == "" {
					why = "Write the message."
				}
				v.Thread.Errors["body"] = why
			default:
				v.Thread.Errors["body"] = why
			}
		}
		if kind.Valid() {
			v.Thread.Kinds = messageKindOptions(kind)
		}
		out.alert = "The message was not posted. Correct the form below."
		return h.render(c, out)
	}
}
