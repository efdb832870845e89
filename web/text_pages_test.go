package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// TestForms_badText posts forms whose fields hold text that no field may
// (a NUL character, bytes that are not UTF-8): each form comes back with
// its normal error display, the mistake next to its field, never a 500,
// and nothing is saved. A path or a query value with such text is a 400
// page.
func TestForms_badText(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.Backend) {
		app := newTestApp(t, db)
		draft := app.draft(t, "it.officer", workflow.Draft{Kind: workflow.KindMLA, RequestedAuthority: "ES", Title: "Bank records"})
		acked := app.fire(t, "es.officer", app.sent(t, "Phone records").ID, workflow.EventInput{Event: workflow.EventAcknowledge})
		officer := app.as(t, "it.officer")
		esOfficer := app.as(t, "es.officer")
		admin := app.as(t, "admin")

		const problem = "must not contain the NUL character"
		officer.post("/requests/new", url.Values{"kind": {"mla"}, "requested_authority": {"ES"}, "title": {"Bank\x00records"}}).
			must(t, http.StatusUnprocessableEntity).has(t, "There is a problem", `id="f-title-error"`, problem)
		officer.post("/requests/new", url.Values{"kind": {"mla"}, "requested_authority": {"ES"}, "title": {"Bank records"}, "summary": {"\xff"}}).
			must(t, http.StatusUnprocessableEntity).has(t, `id="f-summary-error"`, "must be valid UTF-8 text")
		officer.post("/requests/"+draft.ID+"/edit", url.Values{"version": {"1"}, "requested_authority": {"ES"}, "title": {"x\x00"}}).
			must(t, http.StatusUnprocessableEntity).has(t, `id="f-title-error"`, problem)
		esOfficer.post("/requests/"+acked.ID+"/events/request_info", url.Values{"comment": {"which\x00account"}}).
			must(t, http.StatusUnprocessableEntity).has(t, `id="c-request_info-error"`, problem, "was not done")
		admin.post("/users", url.Values{"username": {"it.clerk"}, "display_name": {"Clerk\x00"}, "role": {"officer"},
			"authority": {"IT"}, "password": {"correct horse battery staple"}}).
			must(t, http.StatusUnprocessableEntity).has(t, `id="f-display_name-error"`, problem)

		b := app.browser(t)
		b.get("/login")
		b.post("/login", url.Values{"username": {"it.officer\x00"}, "password": {"x"}}).
			must(t, http.StatusUnprocessableEntity).has(t, `id="f-username-error"`, problem)

		officer.get("/requests/"+draft.ID+"%00").must(t, http.StatusBadRequest)
		officer.get("/drafts?q=bank%00").must(t, http.StatusBadRequest)
		app.as(t, "it.auditor").get("/audit?actor=%ff").must(t, http.StatusBadRequest)

		for _, r := range []workflow.Request{draft, acked} {
			got, err := app.wf.Get(t.Context(), app.actor(t, "it.officer"), r.ID)
			if err != nil || got.Version != r.Version {
				t.Fatalf("request %s at version %d (%v), want %d: nothing saved", r.ID, got.Version, err, r.Version)
			}
		}
		drafts, _, err := app.wf.List(t.Context(), app.actor(t, "it.officer"), workflow.ListQuery{})
		if err != nil || len(drafts) != 2 {
			t.Fatalf("%d requests (%v), want the 2 made before", len(drafts), err)
		}
	})
}
