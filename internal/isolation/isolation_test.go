package isolation

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestIsolation walks every route × every actor × every fixture request
// against the table of expect_test.go, on every test database.
//
// What is covered where: here, every answer the contract gives for access
// (404 as missing, 403, 409, 422, 401, the login redirect), and that
// nothing changes on a refused write; internal/httpapi's workflow table
// test, every successful transition; internal/httpapi and web's own tests,
// the shapes, validation and successful edits of visible requests.
func TestIsolation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		start := time.Now()
		w := newWorld(t, db, auth.NewPolicy(), fixtureSpecs())
		t.Logf("fixture: %d requests, %d actors, set up in %s", len(w.requests), len(actors), time.Since(start).Round(time.Millisecond))

		t.Run("routes", func(t *testing.T) { w.eps.checkRoutes(t, w.echo) })
		t.Run("workflow", checkWorkflow)
		// Reads and lists first, on the fixture as built; then the refused
		// writes, which must leave it so; then the audit views, which by
		// then hold the refusals; creation last, as it adds requests.
		t.Run("request_reads", w.testRequestReads)
		t.Run("lists", w.testLists)
		t.Run("request_writes", w.testRequestWrites)
		t.Run("documents", w.testDocuments)
		t.Run("audit", w.testAudit)
		t.Run("admin", w.testAdmin)
		t.Run("api_keys", w.testAPIKeys)
		t.Run("webhooks", w.testWebhooks)
		t.Run("meta", w.testMeta)
		t.Run("events", w.testEvents)
		t.Run("sessions", w.testSessions)
		t.Run("create", w.testCreate)
		t.Run("changes", w.testChanges)
		t.Run("idempotency_keys", w.testIdempotencyKeys)
		t.Run("disclosures", w.testDisclosures)
		t.Run("server_log", w.testLog)
		t.Run("exercised", w.eps.checkExercised)

		perClass := map[string]int64{}
		for _, ep := range w.eps {
			perClass[classNames[ep.class]] += ep.exercised.Load()
		}
		t.Logf("%s: %d HTTP exchanges, %d checks, %d answers disclosing protected persons, in %s; exchanges per class: %v",
			db.Name, w.exchanges.Load(), w.checks.Load(), w.disclosureCount(), time.Since(start).Round(time.Millisecond), perClass)
	})
}

// readOps tells which operation each per-request read performs.
var readOps = map[string]operation{
	"GET /api/v1/requests/:id":           {kind: opView},
	"GET /api/v1/requests/:id/history":   {kind: opHistory},
	"GET /requests/:id":                  {kind: opView},
	"GET /requests/:id/edit":             {kind: opEditForm},
	"GET /api/v1/requests/:id/documents": {kind: opDocuments},
	"GET /api/v1/requests/:id/messages":  {kind: opMessages},
	"GET /api/v1/requests/:id/letter":    {kind: opLetter},
	"GET /requests/:id/letter":           {kind: opLetter},
}

// writeOps tells which operations each per-request write performs.
var writeOps = map[string][]operation{
	"PATCH /api/v1/requests/:id":                           {{kind: opEdit}},
	"POST /api/v1/requests/:id/events":                     fireOps(),
	"POST /api/v1/requests/:id/deadlines/:kind/extensions": extendOps(),
	"POST /requests/:id/edit":                              {{kind: opEdit}},
	"POST /requests/:id/events/:event":                     fireOps(),
	"POST /requests/:id/deadlines/:kind/extensions":        extendOps(),
	"POST /api/v1/requests/:id/documents":                  {{kind: opUpload}},
	"POST /requests/:id/documents":                         {{kind: opUpload}},
	"POST /api/v1/requests/:id/messages":                   {{kind: opPost}},
	"POST /requests/:id/messages":                          {{kind: opPost}},
}

func (w *world) testRequestReads(t *testing.T) {
	for _, ep := range w.eps.ofClass(classRequestRead) {
		if _, ok := readOps[ep.key()]; !ok {
			t.Fatalf("%s is a per-request read without an operation in readOps", ep.key())
		}
	}
	w.forEachActor(t, func(t *testing.T, s *session) {
		for _, ep := range w.eps.ofClass(classRequestRead) {
			w.perRequest(t, s, ep, readOps[ep.key()])
		}
	})
}

// testRequestWrites sends every write to every request as every actor.
// Each is refused, a write the contract allows by its stale version, and
// after each the request must be as built.
func (w *world) testRequestWrites(t *testing.T) {
	for _, ep := range w.eps.ofClass(classRequestWrite) {
		if _, ok := writeOps[ep.key()]; !ok {
			t.Fatalf("%s is a per-request write without operations in writeOps", ep.key())
		}
	}
	w.forEachActor(t, func(t *testing.T, s *session) {
		for _, ep := range w.eps.ofClass(classRequestWrite) {
			for _, op := range writeOps[ep.key()] {
				w.perRequest(t, s, ep, op)
			}
		}
	})
}

// forEachActor runs fn for every actor as parallel subtests; the enclosing
// t.Run returns when all have finished.
func (w *world) forEachActor(t *testing.T, fn func(t *testing.T, s *session)) {
	t.Helper()
	for _, a := range actors {
		s := w.sessions[a.name]
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			fn(t, s)
		})
	}
}

// staleVersion is sent with every write: no fixture request reaches it.
const staleVersion = 1_000_000

// requestCall is the call of op on the request id through ep.
func (w *world) requestCall(ep *endpoint, op operation, id string) call {
	path := strings.Replace(ep.path, ":id", id, 1)
	path = strings.Replace(path, ":event", string(op.event), 1)
	path = strings.Replace(path, ":kind", op.deadline, 1)
	c := call{ep: ep, path: path}
	attempt := w.attempt
	switch {
	case op.kind == opEdit && ep.web:
		c.form = url.Values{"title": {attempt}, "version": {strconv.Itoa(staleVersion)}}
	case op.kind == opEdit:
		c.json = map[string]any{"title": attempt, "version": staleVersion}
	case op.kind == opExtend && ep.web:
		c.form = url.Values{"days": {"1"}, "reason": {attempt}, "version": {strconv.Itoa(staleVersion)}}
	case op.kind == opExtend:
		c.json = map[string]any{"days": 1, "reason": attempt, "version": staleVersion}
	case op.kind == opUpload:
		c.body, c.contentType = uploadBody(attempt, ep.web)
	case op.kind == opPost && ep.web:
		c.form = url.Values{"kind": {"no_such_kind"}, "body": {attempt}}
	case op.kind == opPost:
		c.json = map[string]any{"kind": "no_such_kind", "body": attempt}
	case op.kind == opFire:
		body := map[string]any{"event": op.event, "comment": attempt, "version": staleVersion}
		form := url.Values{"comment": {attempt}, "version": {strconv.Itoa(staleVersion)}}
		switch op.event {
		case "refuse":
			body["grounds"] = []string{"dual_criminality"}
			form["grounds"] = []string{"dual_criminality"}
		case "acknowledge":
			body["reference"] = attempt // the requested side's own reference
		}
		if ep.web {
			c.form = form
		} else {
			c.json = body
		}
	}
	return c
}

// nobodys is a request between two authorities that do not exist: nobody
// sees it, so expect gives the answer due for a missing id.
var nobodys = &fixtureRequest{requesting: "XX", requested: "YY", state: "sent"}

// perRequest checks op through ep on every fixture request as s's actor:
// the status and error code of the table; for a hidden request, the very
// answer given for a missing id; for a visible one, its content, with its
// persons (the protected ones disclosed exactly to whom they may be); after
// a view, one person.view entry for each answer that disclosed; after a
// write, the request as built.
func (w *world) perRequest(t testing.TB, s *session, ep *endpoint, op operation) {
	t.Helper()
	missing := w.missingAnswer(t, s, ep, op)
	for _, r := range w.requests {
		w.perRequestOn(t, s, ep, op, r, missing)
	}
}

// perRequestOne is perRequest on one request.
func (w *world) perRequestOne(t testing.TB, s *session, ep *endpoint, op operation, r *fixtureRequest) {
	t.Helper()
	w.perRequestOn(t, s, ep, op, r, w.missingAnswer(t, s, ep, op))
}

// missingAnswer is the answer to op on a missing id, checked.
func (w *world) missingAnswer(t testing.TB, s *session, ep *endpoint, op operation) answer {
	t.Helper()
	missing := w.do(t, s, w.requestCall(ep, op, w.missing))
	w.checkStatus(t, ep.key()+" ["+op.String()+"] on a missing id as "+s.a.String(), ep, missing, expect(ep, s.a, nobodys, op))
	return missing
}

// perRequestOn checks op through ep on r, given the answer for a missing
// id.
func (w *world) perRequestOn(t testing.TB, s *session, ep *endpoint, op operation, r *fixtureRequest, missing answer) {
	t.Helper()
	what := ep.key() + " [" + op.String() + "] as " + s.a.String() + " on " + r.String()
	want := expect(ep, s.a, r, op)
	got := w.do(t, s, w.requestCall(ep, op, r.id))
	w.checkStatus(t, what, ep, got, want)
	if want.asMissing {
		w.checks.Add(1)
		if g, m := normal(got, r.id), normal(missing, w.missing); g != m {
			t.Errorf("LEAK: %s: the answer differs from the answer for a missing id, %s", what, firstDifference(g, m))
		}
	}
	if want.status == http.StatusOK && got.status == http.StatusOK {
		w.checkContent(t, what, s.a, ep, op, r, got)
	}
	if op.kind == opView || op.kind == opLetter {
		w.checkDisclosureAudit(t, what, s.a, r)
	}
	if ep.class == classRequestWrite {
		w.unchanged(t, what, r)
	}
}

// checkStatus compares an answer's status, and for the API its error code,
// with the expected outcome.
func (w *world) checkStatus(t testing.TB, what string, ep *endpoint, got answer, want outcome) {
	t.Helper()
	w.checks.Add(1)
	code := ""
	if !ep.web && got.status >= 400 {
		code = apiError(got)
	}
	wantCode := want.code
	if ep.web {
		wantCode = ""
	}
	if got.status != want.status || code != wantCode {
		t.Errorf("%s: got %d %s, want %d %s\n%s", what, got.status, code, want.status, wantCode, short(got.body))
	}
}

// checkContent checks that a visible request's answer holds its content.
func (w *world) checkContent(t testing.TB, what string, a actor, ep *endpoint, op operation, r *fixtureRequest, got answer) {
	t.Helper()
	w.checks.Add(1)
	switch {
	case op.kind == opLetter:
		w.checkLetter(t, what, a, r, got)
	case ep.web:
		want := []string{r.reference, r.title}
		if op.kind == opView {
			want = append(want, r.summary)
			want = append(want, r.comments...)
		}
		for _, s := range want {
			if !strings.Contains(string(got.body), s) {
				t.Errorf("%s: the page lacks %q", what, s)
			}
		}
		if op.kind == opView {
			w.checkPagePersons(t, what, a, r, got.body)
			// The page's thread: the actor's own authority's note, never
			// the other's (CONTRACT 6).
			for _, by := range []string{r.requesting, r.requested} {
				note := "internal note of " + by
				switch shown := strings.Contains(string(got.body), note); {
				case shown && by != a.authority:
					t.Errorf("LEAK: %s: the page shows %q", what, note)
				case !shown && by == a.authority && r.notes:
					t.Errorf("%s: the page lacks its own authority's %q", what, note)
				}
			}
		}
	case op.kind == opView:
		var body struct {
			ID, Reference, Title, Summary string
			State                         workflow.State
			RequestedReference            *string `json:"requested_reference"`
			Persons                       json.RawMessage
		}
		if !decode(t, what, got, &body) {
			return
		}
		ref := ""
		if body.RequestedReference != nil {
			ref = *body.RequestedReference
		}
		if body.ID != r.id || body.Reference != r.reference || body.Title != r.title || body.Summary != r.summary || body.State != r.state ||
			ref != r.requestedRef {
			t.Errorf("%s: got %+v, want the request %s %s %q, requested reference %q", what, body, r.id, r.reference, r.title, r.requestedRef)
		}
		w.checkPersons(t, what, r, body.Persons, seesProtected(a, r))
	case op.kind == opMessages:
		var body struct {
			Items []struct{ Body string } `json:"items"`
		}
		if !decode(t, what, got, &body) {
			return
		}
		if body.Items == nil {
			t.Errorf("%s: no items in %s", what, short(got.body))
		}
		for _, it := range body.Items {
			if strings.Contains(it.Body, "internal") && !strings.Contains(it.Body, "of "+a.authority) {
				t.Errorf("LEAK: %s: another authority's internal message %q", what, it.Body)
			}
		}
	case op.kind == opHistory:
		var body struct {
			Items []struct{ Comment string } `json:"items"`
		}
		if !decode(t, what, got, &body) {
			return
		}
		var comments []string
		for _, it := range body.Items {
			comments = append(comments, it.Comment)
		}
		if strings.Join(comments, ",") != strings.Join(r.comments, ",") {
			t.Errorf("%s: history comments %q, want %q", what, comments, r.comments)
		}
	}
}
