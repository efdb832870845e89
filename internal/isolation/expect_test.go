package isolation

import (
	"net/http"
	"slices"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// This file is the table of expected outcomes: the contract's access rules
// (CONTRACT.md sections 2, 3 and 5, docs/API.md), restated here without
// asking internal/auth or workflow.Table, so that a slip there shows up as a
// difference here. Only the vocabulary (role, state, event names) is shared.

// anonymous is the pseudo-role of a caller with no token and no session.
const anonymous workflow.Role = ""

// contractStates are the states of CONTRACT.md sections 3 and 5 in the
// order of the lifecycle: drafted first, the final ones last.
var contractStates = []workflow.State{
	"drafted", "sent", "acknowledged", "info_requested", "postponed", "executed", "refused", "withdrawn",
}

// contractEvents is the workflow table of CONTRACT.md section 3, with the
// rows and sources section 5 adds (postpone and resume, UNTOC 18(25);
// refuse and withdraw also from postponed) and section 6 adds (deliver:
// execution in part, the request staying acknowledged): from which states each event
// leaves, which side fires it, with which roles. The forward moves come
// before refusal and withdrawal, as in the contract.
var contractEvents = []struct {
	event workflow.Event
	from  []workflow.State
	side  workflow.Side
	roles []workflow.Role
}{
	{"send", []workflow.State{"drafted"}, "requesting", []workflow.Role{"supervisor"}},
	{"acknowledge", []workflow.State{"sent"}, "requested", []workflow.Role{"officer", "supervisor"}},
	{"request_info", []workflow.State{"acknowledged"}, "requested", []workflow.Role{"officer", "supervisor"}},
	{"provide_info", []workflow.State{"info_requested"}, "requesting", []workflow.Role{"officer", "supervisor"}},
	{"execute", []workflow.State{"acknowledged"}, "requested", []workflow.Role{"supervisor"}},
	{"postpone", []workflow.State{"acknowledged"}, "requested", []workflow.Role{"supervisor"}},
	{"resume", []workflow.State{"postponed"}, "requested", []workflow.Role{"officer", "supervisor"}},
	{"refuse", []workflow.State{"sent", "acknowledged", "info_requested", "postponed"}, "requested", []workflow.Role{"supervisor"}},
	{"withdraw", []workflow.State{"sent", "acknowledged", "info_requested", "postponed"}, "requesting", []workflow.Role{"supervisor"}},
	{"deliver", []workflow.State{"acknowledged"}, "requested", []workflow.Role{"officer", "supervisor"}},
}

// sees is "who sees what": the requesting authority in every state, the
// requested one once the request has left drafted, nobody else; admin and
// trainer see no case contents at all.
func sees(a actor, r *fixtureRequest) bool {
	if !slices.Contains([]workflow.Role{"officer", "supervisor", "auditor"}, a.role) {
		return false
	}
	switch a.sideOf(r) {
	case "requesting":
		return true
	case "requested":
		return r.state != "drafted"
	}
	return false
}

// writes: officers and supervisors change requests; auditors read, never
// write.
func writes(a actor) bool { return a.role == "officer" || a.role == "supervisor" }

// seesProtected: a protected person's identifying fields are shown to the
// officers and supervisors of the request's two sides (CONTRACT.md section
// 5), not to its auditors, and only in disclosingViews.
func seesProtected(a actor, r *fixtureRequest) bool { return sees(a, r) && writes(a) }

// disclosingViews are the single-request answers, the only answers that
// may show who a protected person is: the API's, and the request's page.
//
// The draft's edit form is such an answer too: it shows the one request it
// edits, to the drafting side's officers and supervisors only, who must see
// whom they edit (a form that hid a person would lose it on saving), and
// it audits the disclosure as the request page does. So is the letter of
// request (CONTRACT 6): the one request as a letter, audited likewise.
var disclosingViews = []string{"GET /api/v1/requests/:id", "GET /requests/:id", "GET /requests/:id/edit",
	"GET /api/v1/requests/:id/letter", "GET /requests/:id/letter"} // the letter of request (CONTRACT 6)

// Pages: the web application offers a page only to the roles that use it;
// the others get 403 whatever the id (API.md has no such guards: it answers
// by the rules above).
var (
	casePages  = []workflow.Role{"officer", "supervisor", "auditor"}
	draftPages = []workflow.Role{"officer", "supervisor"}
	auditPages = []workflow.Role{"auditor", "admin"}
	adminPages = []workflow.Role{"admin"}
)

// readsAudit: admin reads every entry, an auditor those of their own
// authority, nobody else any.
func readsAudit(a actor) bool { return a.role == "admin" || a.role == "auditor" }

// gate is the answer of ep to a about r before anything of r is looked at,
// and whether it is a refusal: the log-in for the anonymous, the page's
// roles, and r's visibility, each answering as for a missing request.
// Every per-request endpoint answers these first.
func gate(ep *endpoint, a actor, r *fixtureRequest) (outcome, bool) {
	switch {
	case a.role == anonymous && ep.web:
		return outcome{status: http.StatusSeeOther, asMissing: true}, true // to the log-in page
	case a.role == anonymous:
		return outcome{status: http.StatusUnauthorized, code: "unauthenticated", asMissing: true}, true
	case ep.pages != nil && !slices.Contains(ep.pages, a.role):
		return outcome{status: http.StatusForbidden, code: "forbidden", asMissing: true}, true
	case !sees(a, r):
		return outcome{status: http.StatusNotFound, code: "not_found", asMissing: true}, true
	}
	return outcome{}, false
}

// expect is the answer to op on r by a, through ep; stale versions are sent
// with every write, so a write the contract allows ends in version_conflict.
// The order of the checks is API.md's: visibility 404, unknown event 422,
// state 409, role and side 403, version 409.
func expect(ep *endpoint, a actor, r *fixtureRequest, op operation) outcome {
	if o, refused := gate(ep, a, r); refused {
		return o
	}
	switch op.kind {
	case opView, opHistory, opDocuments, opMessages, opLetter:
		return outcome{status: http.StatusOK}
	case opUpload:
		// CONTRACT.md section 6: the case file's visibility is the
		// request's; its two sides' officers and supervisors add to it.
		if !writes(a) {
			return outcome{status: http.StatusForbidden, code: "forbidden"}
		}
		return outcome{status: http.StatusConflict, code: "version_conflict"}
	case opPost:
		// CONTRACT 6: the officers and supervisors of both sides post; the
		// kind is checked after the right to post.
		if !writes(a) {
			return outcome{status: http.StatusForbidden, code: "forbidden"}
		}
		return outcome{status: http.StatusUnprocessableEntity, code: "validation_failed"}
	case opEditForm, opEdit:
		switch {
		case !writes(a) || a.sideOf(r) != "requesting":
			return outcome{status: http.StatusForbidden, code: "forbidden"}
		case r.state != "drafted":
			return outcome{status: http.StatusConflict, code: "invalid_transition"}
		case op.kind == opEditForm:
			return outcome{status: http.StatusOK}
		}
		return outcome{status: http.StatusConflict, code: "version_conflict"}
	}
	if op.kind == opExtend {
		// CONTRACT.md section 5: the deadline 404, then only a supervisor of
		// the side it binds, then the version.
		for _, d := range fixtureDeadlines {
			switch {
			case d.kind != op.deadline || !d.has(r):
			case a.role != "supervisor" || a.sideOf(r) != d.side:
				return outcome{status: http.StatusForbidden, code: "forbidden"}
			default:
				return outcome{status: http.StatusConflict, code: "version_conflict"}
			}
		}
		return outcome{status: http.StatusNotFound, code: "not_found"}
	}
	for _, t := range contractEvents {
		switch {
		case t.event != op.event:
		case !slices.Contains(t.from, r.state):
			return outcome{status: http.StatusConflict, code: "invalid_transition"}
		case !writes(a) || a.sideOf(r) != t.side || !slices.Contains(t.roles, a.role):
			return outcome{status: http.StatusForbidden, code: "forbidden"}
		default:
			return outcome{status: http.StatusConflict, code: "version_conflict"}
		}
	}
	return outcome{status: http.StatusUnprocessableEntity, code: "validation_failed"} // unknown event
}

// fixtureDeadlines are the deadlines of the fixture's requests, which side
// each binds and which requests have it, restated from CONTRACT.md section 5
// and the instruments' rules (config/instruments.yaml) rather than read from
// the server. Every fixture request has a due date, so the deadline
// requested_by (UNTOC 18(24)), which binds the requested side from the
// request's sending on; the extradition requests rest on the European
// Convention on Extradition and are urgent, so they have the provisional
// arrest's limit (ECE Art. 16(4)), which binds the requesting side from the
// requested side's acknowledgement on. A deadline stays on the request once
// met or ended.
var fixtureDeadlines = []struct {
	kind string
	side workflow.Side
	has  func(r *fixtureRequest) bool
}{
	{"requested_by", "requested", func(r *fixtureRequest) bool { return r.fired("send") }},
	{"provisional_arrest_may_release", "requesting", func(r *fixtureRequest) bool {
		return r.kind == "extradition" && r.fired("acknowledge")
	}},
}

// waitsFor tells whether a request in its state waits for a's move
// (API.md, "Counts and the worklist"): a's side is that of the first event
// leaving the state, and a's role may fire some event of that side from it.
func waitsFor(a actor, r *fixtureRequest) bool {
	if !sees(a, r) || !writes(a) {
		return false
	}
	var next workflow.Side
	for _, t := range contractEvents {
		if slices.Contains(t.from, r.state) && next == "" {
			next = t.side
		}
		if slices.Contains(t.from, r.state) && t.side == a.sideOf(r) && slices.Contains(t.roles, a.role) && next == t.side {
			return true
		}
	}
	return false
}

// outcome is an expected answer. asMissing: the answer must be the very
// answer given for an id that does not exist.
type outcome struct {
	status    int
	code      string // the API's error code; "" for success and for pages
	asMissing bool
}
