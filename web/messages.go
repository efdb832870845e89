package web

import (
	"strings"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The workflow's messages name events, states, kinds and grounds by their
// codes ("execute is for the requested side's supervisor", "comment is
// required for execute"): they are the API's words, for programs. A page
// speaks of the action by the label its button shows, so the handlers word
// those refusals here, from the facts the service decided on (the table's
// row, the request's state), instead of showing the service's text.

// rolePlurals name the people of a role, in a sentence about who may act.
var rolePlurals = map[workflow.Role]string{
	workflow.RoleOfficer:    "officers",
	workflow.RoleSupervisor: "supervisors",
	workflow.RoleAuditor:    "auditors",
	workflow.RoleAdmin:      "administrators",
	workflow.RoleTrainer:    "trainers",
}

// kindNouns name the requests of a kind inside a sentence.
var kindNouns = map[workflow.Kind]string{
	workflow.KindMLA:         "requests for mutual legal assistance",
	workflow.KindExtradition: "extradition requests",
}

// quoted is the label of an action as a sentence quotes it.
func quoted(ev workflow.Event) string { return "“" + labelOr(eventLabels, ev) + "”" }

// whoMayFire says who may take the action of table row t, the rule that
// refused it (the Policy grants t to its roles on its side).
func whoMayFire(t workflow.Transition) string {
	return quoted(t.Event) + " is for the " + rolesOf(t) + " of the " + string(t.Side) +
		" authority. Nothing was changed."
}

// rolesOf names the people who may take the action of t: "officers or
// supervisors".
func rolesOf(t workflow.Transition) string {
	roles := make([]string, len(t.Roles))
	for i, r := range t.Roles {
		roles[i] = labelOr(rolePlurals, r)
	}
	return strings.Join(roles, " or ")
}

// notDraftMessage says why a request that left the draft state cannot be
// edited, with its state's label.
func notDraftMessage(s workflow.State) string {
	return "Only drafts can be edited; this request is “" + labelOr(stateLabels, s) + "”."
}

// eventFieldMessages words the validation messages of an event's form
// for its fields: the comment by the form's own label of it, the grounds
// by their labels, and never the event's code, which the service appends
// ("is required for execute") and the open form already says.
func eventFieldMessages(f eventForm, k workflow.Kind, fields map[string]string) map[string]string {
	out := make(map[string]string, len(fields))
	for field, msg := range fields {
		msg = strings.TrimSuffix(msg, " for "+string(f.Event))
		switch field {
		case string(workflow.FieldComment):
			label := f.CommentLabel // as the form's field shows it
			if !f.NeedsComment {
				label = "Explanation"
			}
			if isPredicate(msg) {
				msg = "“" + label + "” " + msg
			}
		case string(workflow.FieldGrounds):
			msg = groundsMessage(msg, k)
		}
		out[field] = msg
	}
	return out
}

// groundsMessage names the ground a message starts with ("military_offence
// does not apply to mla requests") and the kind it ends with by their
// labels.
func groundsMessage(msg string, k workflow.Kind) string {
	if code, rest, ok := strings.Cut(msg, " "); ok && groundLabel(code) != code {
		msg = "“" + groundLabel(code) + "” " + rest
	}
	if noun, ok := kindNouns[k]; ok {
		msg = strings.Replace(msg, string(k)+" requests", noun, 1)
	}
	return msg
}
