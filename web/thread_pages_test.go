package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestThread_pages posts messages through the request page's form, on
// both databases: the kinds labelled, a note marked internal and never
// shown to the other authority, the unread marker in the counterpart's
// inbox until it opens the request, the read receipt, the refusal form
// pointing to the consultation or saying there was none, a delivery on the
// timeline, and the form's refusals.
func TestThread_pages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		app := newTestApp(t, db)
		r := app.sent(t, "Bank records of Rossi S.r.l.")
		app.fire(t, "es.officer", r.ID, workflow.EventInput{Event: workflow.EventAcknowledge})
		page := "/requests/" + r.ID
		es, it := app.as(t, "es.supervisor"), app.as(t, "it.officer")

		// No consultation yet: the refusal form says so and links to the thread.
		es.get(page).must(t, http.StatusOK).
			has(t, "No consultation has taken place on this request", `href="#messages"`, "No messages yet.").
			lacks(t, "The requesting authority was consulted")

		es.post(page+"/messages", url.Values{"kind": {"note"}, "body": {"ES only: the prosecutor leans towards refusal"}}).
			must(t, http.StatusSeeOther)
		p := es.post(page+"/messages", url.Values{"kind": {"consultation"}, "body": {"Can you show dual criminality for count 2?"}})
		if p.must(t, http.StatusSeeOther).location != page+"?done=message#messages" {
			t.Errorf("after posting: to %q", p.location)
		}
		es.get(page).must(t, http.StatusOK).
			has(t, "Consultation before refusal", "Internal note", "Internal: only ES sees it",
				"ES only: the prosecutor leans towards refusal", "Not yet read by the other authority",
				"The requesting authority was consulted (UNTOC Art. 18(26))").
			lacks(t, "No consultation has taken place")

		// IT's inbox of outgoing requests marks one unread message; the
		// auditor's reading leaves it unread.
		it.get("/outbox").must(t, http.StatusOK).has(t, "1 unread")
		app.as(t, "it.auditor").get(page).must(t, http.StatusOK).lacks(t, "ES only")
		it.get("/outbox").must(t, http.StatusOK).has(t, "1 unread")
		it.get(page).must(t, http.StatusOK).
			has(t, "Can you show dual criminality for count 2?", "Consultation before refusal", "New").
			lacks(t, "ES only", "the prosecutor leans")
		it.get("/outbox").must(t, http.StatusOK).lacks(t, "unread")
		// ES sees the receipt.
		es.get(page).must(t, http.StatusOK).has(t, "Read by the other authority")

		// Refused posts: an unknown kind, an empty body (422, the form
		// back); the auditor (403); a third authority (404).
		es.post(page+"/messages", url.Values{"kind": {"gossip"}, "body": {"x"}}).must(t, http.StatusUnprocessableEntity).
			has(t, "The message was not posted", "Choose what kind of message this is.")
		es.post(page+"/messages", url.Values{"kind": {"message"}, "body": {" "}}).must(t, http.StatusUnprocessableEntity).
			has(t, "Write the message.")
		app.as(t, "es.auditor").post(page+"/messages", url.Values{"kind": {"message"}, "body": {"x"}}).must(t, http.StatusForbidden)
		app.as(t, "ng.officer").post(page+"/messages", url.Values{"kind": {"message"}, "body": {"x"}}).must(t, http.StatusNotFound)

		// A delivery in part, from its form, shows on the timeline.
		es.post(page+"/events/deliver", url.Values{"comment": {"Statements of 2024 enclosed"}}).must(t, http.StatusSeeOther)
		it.get(page).must(t, http.StatusOK).has(t, "Delivered in part", "Statements of 2024 enclosed", "Acknowledged")
	})
}
