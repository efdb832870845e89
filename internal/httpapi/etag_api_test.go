package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// etagOf is the tag the API gives a request at a version.
func etagOf(id string, version int) string { return `"` + id + "." + strconv.Itoa(version) + `"` }

func TestETag_reads(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		tok := srv.login(t, "it.officer")
		created := srv.raw(t, tok, http.MethodPost, "/api/v1/requests", draftBody("Tagged"), nil)
		id := text(decode(t, created)["id"])
		if got := created.Header().Get("ETag"); got != etagOf(id, 1) {
			t.Fatalf("create's ETag %q, want %q", got, etagOf(id, 1))
		}
		get := srv.raw(t, tok, http.MethodGet, pathTo(id), nil, nil)
		if get.Code != 200 || get.Header().Get("ETag") != etagOf(id, 1) {
			t.Fatalf("GET: %d ETag %q", get.Code, get.Header().Get("ETag"))
		}

		for name, tc := range map[string]struct {
			ifNoneMatch string
			want        int
		}{
			"current":         {etagOf(id, 1), http.StatusNotModified},
			"current, weakly": {"W/" + etagOf(id, 1), http.StatusNotModified},
			"one of a list":   {`"x.1", ` + etagOf(id, 1), http.StatusNotModified},
			"any":             {"*", http.StatusNotModified},
			"stale":           {etagOf(id, 0), http.StatusOK},
			"another request": {etagOf("other", 1), http.StatusOK},
			"not a tag":       {"1", http.StatusOK},
		} {
			t.Run(name, func(t *testing.T) {
				rec := srv.raw(t, tok, http.MethodGet, pathTo(id), nil, http.Header{"If-None-Match": {tc.ifNoneMatch}})
				if rec.Code != tc.want || rec.Header().Get("ETag") != etagOf(id, 1) {
					t.Fatalf("If-None-Match %s: %d ETag %q, want %d", tc.ifNoneMatch, rec.Code, rec.Header().Get("ETag"), tc.want)
				}
				if tc.want == http.StatusNotModified && rec.Body.Len() != 0 {
					t.Fatalf("a 304 with a body: %s", rec.Body)
				}
			})
		}
		t.Run("hidden request", func(t *testing.T) {
			rec := srv.raw(t, srv.login(t, "es.officer"), http.MethodGet, pathTo(id), nil, http.Header{"If-None-Match": {"*"}})
			if rec.Code != http.StatusNotFound || rec.Header().Get("ETag") != "" {
				t.Fatalf("a draft hidden from the caller: %d ETag %q", rec.Code, rec.Header().Get("ETag"))
			}
		})
	})
}

// deniedWith lists the errors of the refused attempts audited on a
// request, oldest first.
func (s *testServer) deniedWith(tb testing.TB, id string) []string {
	tb.Helper()
	entries, _, err := s.store.AuditEntries(context.Background(), workflow.AuditFilter{RequestID: id, Outcome: workflow.OutcomeDenied, Limit: 50})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action+" "+entries[i].Details)
	}
	return out
}

func TestETag_ifMatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, db testdb.Backend) {
		srv := newTestServerOn(t, db)
		tok := srv.login(t, "it.officer")
		id := text(srv.newDraft(t)["id"])

		for _, tc := range []struct {
			name, method, path string
			body               map[string]any
			action             string
		}{
			{"edit", http.MethodPatch, pathTo(id), map[string]any{"title": "Edited"}, "request.update"},
			{"event", http.MethodPost, pathTo(id, "events"), map[string]any{"event": "send", "comment": "x"}, "request.send"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, cur := srv.do(t, tok, http.MethodGet, pathTo(id), nil)
				version := int(cur["version"].(float64))
				user := "it.officer"
				if tc.action == "request.send" {
					user = "it.supervisor"
				}
				utok := srv.login(t, user)
				for _, stale := range []string{etagOf(id, version-1), "W/" + etagOf(id, version), etagOf("other", version), "garbage"} {
					before := len(srv.deniedWith(t, id))
					rec := srv.raw(t, utok, tc.method, tc.path, tc.body, http.Header{"If-Match": {stale}})
					wantError(t, rec.Code, decode(t, rec), http.StatusPreconditionFailed, "precondition_failed")
					denied := srv.deniedWith(t, id)
					if len(denied) != before+1 || !strings.HasPrefix(denied[len(denied)-1], tc.action+" ") ||
						!strings.Contains(denied[len(denied)-1], `"precondition_failed"`) {
						t.Fatalf("If-Match %s: the refusal was not audited as %s: %v", stale, tc.action, denied[before:])
					}
				}
				if _, now := srv.do(t, tok, http.MethodGet, pathTo(id), nil); now["version"] != cur["version"] {
					t.Fatalf("a refused precondition changed the request: %v", now["version"])
				}
				rec := srv.raw(t, utok, tc.method, tc.path, tc.body, http.Header{"If-Match": {`"x.1", ` + etagOf(id, version)}})
				if rec.Code != http.StatusOK || rec.Header().Get("ETag") != etagOf(id, version+1) {
					t.Fatalf("If-Match current: %d %s ETag %q", rec.Code, rec.Body, rec.Header().Get("ETag"))
				}
			})
		}
		t.Run("any", func(t *testing.T) {
			id := text(srv.newDraft(t)["id"])
			rec := srv.raw(t, tok, http.MethodPatch, pathTo(id), map[string]any{"title": "Any"}, http.Header{"If-Match": {"*"}})
			if rec.Code != http.StatusOK {
				t.Fatalf("If-Match *: %d %s", rec.Code, rec.Body)
			}
		})
		t.Run("hidden request answers 404 first", func(t *testing.T) {
			id := text(srv.newDraft(t)["id"]) // a draft: hidden from the requested side
			rec := srv.raw(t, srv.login(t, "es.officer"), http.MethodPatch, pathTo(id), map[string]any{"title": "x"}, http.Header{"If-Match": {`"nope.1"`}})
			wantError(t, rec.Code, decode(t, rec), http.StatusNotFound, "not_found")
		})
	})
}
