package isolation

import (
	"net/http"
	"slices"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// class is what an endpoint exposes, which decides how it is checked.
type class int

const (
	// classRequestRead shows one request, or part of it, by id: hidden must
	// answer as missing, visible with the content.
	classRequestRead class = iota
	// classRequestWrite changes one request by id: hidden must answer as
	// missing, visible but not allowed with the contract's refusal, and
	// nothing may change.
	classRequestWrite
	// classList shows many requests, or numbers about them: exactly the
	// visible ones.
	classList
	// classAudit shows the audit log: the reader's scope, no case content.
	classAudit
	// classCreate drafts a new request: always the caller's authority's.
	classCreate
	// classAdmin manages accounts: the administrator only, no case content.
	classAdmin
	// classMeta holds no case data: health, log-in, code lists, static
	// files. Every caller gets the same, without any request's secret.
	classMeta
	// classDocument reads or changes one document of a request's case
	// file, by the document's id: visibility is the request's
	// (documents_test.go).
	classDocument
	// classWebhook manages an authority's webhooks or reads their
	// deliveries: its supervisors' and the administrator's, and the
	// deliveries only of what the authority sees (webhooks_test.go).
	classWebhook
	// classStream is an event stream (CONTRACT 8): exactly the visible
	// requests' changes (events_test.go).
	classStream
)

var classNames = map[class]string{
	classRequestRead: "request read", classRequestWrite: "request write", classList: "list",
	classAudit: "audit", classCreate: "create", classAdmin: "admin", classMeta: "meta",
	classDocument: "document", classWebhook: "webhook", classStream: "stream",
}

// endpoint is one route of the server with its classification.
type endpoint struct {
	method, path string
	class        class
	web          bool            // a browser page: session cookie, HTML, CSRF on POST
	pages        []workflow.Role // web: the roles the page exists for; nil: every signed-in user
	public       bool            // answers without a sign-in

	exercised atomic.Int64 // requests sent to it in this run
}

func (ep *endpoint) key() string { return ep.method + " " + ep.path }

// operation is what a per-request check does: one of the op kinds, for
// events the event fired, for extensions the kind of deadline extended.
type operation struct {
	kind     opKind
	event    workflow.Event
	deadline string
}

// String names the operation for messages.
func (op operation) String() string {
	switch op.kind {
	case opFire:
		return "event " + string(op.event)
	case opExtend:
		return "extend " + op.deadline
	}
	return map[opKind]string{opView: "view", opHistory: "history", opEditForm: "edit form", opEdit: "edit",
		opDocuments: "documents", opUpload: "upload", opMessages: "messages", opPost: "post message",
		opLetter: "letter"}[op.kind]
}

type opKind int

const (
	opView opKind = iota
	opHistory
	opEditForm
	opEdit
	opFire
	opExtend
	opDocuments // the case file's list
	opUpload    // an upload to the case file
	// opMessages reads a request's thread; opPost posts to it a message of
	// a kind that does not exist, refused by the one allowed to post
	// (CONTRACT 6).
	opMessages
	opPost
	// opLetter reads a request's letter of request as PDF (CONTRACT 6): a
	// disclosing read, whose text the scan reads (testkit.PDFText).
	opLetter
)

// unknownEvent is an event name that the workflow does not know.
const unknownEvent workflow.Event = "no_such_event"

// fireOps are the operations of an event endpoint: every event of the
// contract and an unknown one.
func fireOps() []operation {
	var out []operation
	for _, t := range contractEvents {
		out = append(out, operation{kind: opFire, event: t.event})
	}
	return append(out, operation{kind: opFire, event: unknownEvent})
}

// noSuchDeadline is a kind of deadline that no request has.
const noSuchDeadline = "no_such_deadline"

// extendOps are the operations of the extensions endpoint: every kind of
// deadline the fixture's requests may have (fixtureDeadlines), and one that
// none has.
func extendOps() []operation {
	var out []operation
	for _, d := range fixtureDeadlines {
		out = append(out, operation{kind: opExtend, deadline: d.kind})
	}
	return append(out, operation{kind: opExtend, deadline: noSuchDeadline})
}

// endpointTable classifies every route of the server. TestIsolation fails
// on a route that is not here ("unclassified route") and on an entry that
// is no route, or that no check exercised.
func endpointTable() []*endpoint {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []*endpoint{
		// The REST API (internal/httpapi/routes.go).
		{method: get, path: "/healthz", class: classMeta, public: true},
		{method: get, path: "/readyz", class: classMeta, public: true},
		{method: post, path: "/api/v1/auth/login", class: classMeta, public: true},
		{method: get, path: "/api/v1/me", class: classMeta},
		{method: get, path: "/api/v1/authorities", class: classMeta},
		{method: patch, path: "/api/v1/authorities/:code", class: classAdmin},
		{method: get, path: "/api/v1/instruments", class: classMeta},
		{method: get, path: "/api/v1/workflows", class: classMeta},
		{method: get, path: "/api/v1/refusal-grounds", class: classMeta},
		{method: get, path: "/api/v1/measures", class: classMeta},
		{method: post, path: "/api/v1/requests", class: classCreate},
		{method: get, path: "/api/v1/requests", class: classList},
		{method: get, path: "/api/v1/requests/counts", class: classList},
		{method: get, path: "/api/v1/requests/waiting", class: classList},
		{method: get, path: "/api/v1/requests/:id", class: classRequestRead},
		{method: patch, path: "/api/v1/requests/:id", class: classRequestWrite},
		{method: post, path: "/api/v1/requests/:id/events", class: classRequestWrite},
		{method: get, path: "/api/v1/requests/:id/history", class: classRequestRead},
		{method: post, path: "/api/v1/requests/:id/deadlines/:kind/extensions", class: classRequestWrite},
		{method: post, path: "/api/v1/requests/:id/documents", class: classRequestWrite},
		{method: get, path: "/api/v1/requests/:id/documents", class: classRequestRead},
		{method: get, path: "/api/v1/documents/:id", class: classDocument},
		{method: patch, path: "/api/v1/documents/:id", class: classDocument},
		{method: get, path: "/api/v1/documents/:id/content", class: classDocument},
		{method: get, path: "/api/v1/requests/:id/messages", class: classRequestRead},
		{method: post, path: "/api/v1/requests/:id/messages", class: classRequestWrite},
		{method: get, path: "/api/v1/requests/:id/letter", class: classRequestRead},
		{method: get, path: "/api/v1/users", class: classAdmin},
		{method: post, path: "/api/v1/users", class: classAdmin},
		{method: patch, path: "/api/v1/users/:id", class: classAdmin},
		{method: post, path: "/api/v1/api-keys", class: classAdmin}, // CONTRACT 8 (apikeys_test.go)
		{method: get, path: "/api/v1/api-keys", class: classAdmin},
		{method: del, path: "/api/v1/api-keys/:id", class: classAdmin},
		{method: get, path: "/api/v1/audit", class: classAudit},
		{method: get, path: "/api/v1/audit/verify", class: classAudit},
		{method: post, path: "/api/v1/auth/refresh", class: classMeta, public: true},
		{method: post, path: "/api/v1/auth/logout", class: classMeta},
		{method: post, path: "/api/v1/webhooks", class: classWebhook},
		{method: get, path: "/api/v1/webhooks", class: classWebhook},
		{method: del, path: "/api/v1/webhooks/:id", class: classWebhook},
		{method: get, path: "/api/v1/webhooks/:id/deliveries", class: classWebhook},
		{method: post, path: "/api/v1/webhooks/:id/deliveries/:delivery/retry", class: classWebhook},
		{method: get, path: "/api/v1/events", class: classStream},
		{method: get, path: "/api/v1/openapi.json", class: classMeta, public: true},
		{method: get, path: "/api/docs", class: classMeta, public: true},

		// The web pages (web/routes.go).
		{method: get, path: "/static/*", class: classMeta, web: true, public: true},
		{method: get, path: "/login", class: classMeta, web: true, public: true},
		{method: post, path: "/login", class: classMeta, web: true, public: true},
		{method: post, path: "/logout", class: classMeta, web: true},
		{method: get, path: "/", class: classList, web: true},
		{method: get, path: "/inbox", class: classList, web: true, pages: casePages},
		{method: get, path: "/outbox", class: classList, web: true, pages: casePages},
		{method: get, path: "/drafts", class: classList, web: true, pages: casePages},
		{method: get, path: "/requests/new", class: classCreate, web: true, pages: draftPages},
		{method: post, path: "/requests/new", class: classCreate, web: true, pages: draftPages},
		{method: get, path: "/requests/:id", class: classRequestRead, web: true, pages: casePages},
		{method: get, path: "/requests/:id/edit", class: classRequestRead, web: true, pages: draftPages},
		{method: post, path: "/requests/:id/edit", class: classRequestWrite, web: true, pages: draftPages},
		{method: post, path: "/requests/:id/events/:event", class: classRequestWrite, web: true, pages: casePages},
		{method: post, path: "/requests/:id/deadlines/:kind/extensions", class: classRequestWrite, web: true, pages: casePages},
		{method: post, path: "/requests/:id/documents", class: classRequestWrite, web: true, pages: casePages},
		{method: get, path: "/documents/:id/content", class: classDocument, web: true, pages: casePages},
		{method: post, path: "/documents/:id/translation", class: classDocument, web: true, pages: casePages},
		{method: post, path: "/requests/:id/messages", class: classRequestWrite, web: true, pages: casePages},
		{method: get, path: "/requests/:id/letter", class: classRequestRead, web: true, pages: casePages},
		{method: get, path: "/events", class: classStream, web: true, pages: casePages},
		{method: get, path: "/audit", class: classAudit, web: true, pages: auditPages},
		{method: post, path: "/audit/verify", class: classAudit, web: true, pages: auditPages},
		{method: get, path: "/users", class: classAdmin, web: true, pages: adminPages},
		{method: post, path: "/users", class: classAdmin, web: true, pages: adminPages},
		{method: get, path: "/users/:id", class: classAdmin, web: true, pages: adminPages},
		{method: get, path: "/authorities", class: classAdmin, web: true, pages: adminPages},
		{method: post, path: "/authorities/:code", class: classAdmin, web: true, pages: adminPages},
		{method: post, path: "/users/:id/status", class: classAdmin, web: true, pages: adminPages},
		{method: post, path: "/users/:id/password", class: classAdmin, web: true, pages: adminPages},
		{method: post, path: "/users/:id/role", class: classAdmin, web: true, pages: adminPages},
		{method: get, path: "/api-keys", class: classAdmin, web: true, pages: adminPages},
		{method: post, path: "/api-keys", class: classAdmin, web: true, pages: adminPages},
		{method: get, path: "/api-keys/:id/revoke", class: classAdmin, web: true, pages: adminPages},
		{method: post, path: "/api-keys/:id/revoke", class: classAdmin, web: true, pages: adminPages},
		{method: get, path: "/webhooks", class: classWebhook, web: true, pages: webhookPages},
		{method: post, path: "/webhooks", class: classWebhook, web: true, pages: webhookPages},
		{method: get, path: "/webhooks/:id", class: classWebhook, web: true, pages: webhookPages},
		{method: post, path: "/webhooks/:id/delete", class: classWebhook, web: true, pages: webhookPages},
		{method: post, path: "/webhooks/:id/deliveries/:delivery/retry", class: classWebhook, web: true, pages: webhookPages},
	}
}

// endpoints is the classification of one run, looked up by "METHOD path".
type endpoints map[string]*endpoint

func newEndpoints() endpoints {
	out := endpoints{}
	for _, ep := range endpointTable() {
		out[ep.key()] = ep
	}
	return out
}

// get returns the endpoint of a key of the table; a typo is a bug of the
// test.
func (eps endpoints) get(tb testing.TB, key string) *endpoint {
	tb.Helper()
	ep, ok := eps[key]
	if !ok {
		tb.Fatalf("the test uses %q, which is not in endpointTable", key)
	}
	return ep
}

// ofClass lists the endpoints of a class in a stable order.
func (eps endpoints) ofClass(c class) []*endpoint {
	var out []*endpoint
	for _, ep := range eps {
		if ep.class == c {
			out = append(out, ep)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// checkRoutes compares the routes Echo serves with the table, both ways.
func (eps endpoints) checkRoutes(t *testing.T, e *echo.Echo) {
	t.Helper()
	served := map[string]bool{}
	for _, r := range e.Routes() {
		key := r.Method + " " + r.Path
		served[key] = true
		if _, ok := eps[key]; !ok {
			t.Errorf("unclassified route %s: add it to endpointTable with its class, and give it checks", key)
		}
	}
	for key := range eps {
		if !served[key] {
			t.Errorf("endpointTable lists %s, which the server does not serve", key)
		}
	}
}

// checkExercised fails for every endpoint that no check sent a request to:
// a classification without checks proves nothing.
func (eps endpoints) checkExercised(t *testing.T) {
	t.Helper()
	for _, ep := range eps {
		if ep.exercised.Load() == 0 {
			t.Errorf("no check exercised %s (class %s)", ep.key(), classNames[ep.class])
		}
	}
}

// checkWorkflow compares the server's workflow with the contract's states
// and events restated in contractStates and contractEvents, by name: a new
// state or event must be restated there (an event with its states, side and
// roles) before the walk can check it.
func checkWorkflow(t *testing.T) {
	t.Helper()
	var server, restated []string
	for _, tr := range workflow.Table {
		server = append(server, string(tr.Event))
	}
	for _, e := range contractEvents {
		restated = append(restated, string(e.event))
	}
	sort.Strings(server)
	sort.Strings(restated)
	if !slices.Equal(server, restated) {
		t.Errorf("the server's events %v are not those restated in contractEvents %v", server, restated)
	}
	if !slices.Equal(workflow.States, contractStates) {
		t.Errorf("the server's states %v are not those restated in contractStates %v", workflow.States, contractStates)
	}
}
