// Package isolation proves, by exhaustive test, that a request between two
// central authorities reaches nobody else. It has no code of its own: its
// tests start the real server (the REST API and the web pages on one Echo
// instance, wired as cmd/server wires them, over a real database with the
// demo world) and walk
//
//	every route of the server (read from Echo's route list, so that a new
//	route without a classification fails the test)
//	× every demo role, and no sign-in at all
//	× the requesting side, the requested side and a third authority
//	× both kinds of request in each of the eight states
//
// against one table of expected outcomes (expect_test.go), written from the
// contract and not from internal/auth or workflow.Table, so that a slip in
// the Policy or the table cannot hide itself: the states and events are
// restated there, and a state or event of the server that is not fails the
// test.
//
// What it proves, on SQLite and (when MLA_TEST_POSTGRES_URL is set) on
// PostgreSQL:
//
//   - a request hidden from a caller answers exactly as a request that does
//     not exist: same status, same headers, same bytes (apart from the
//     request id header and the per-session CSRF token), on every
//     per-request read and write, API and web;
//   - a visible request answers 200 with its content, and refused writes
//     answer the contract's status in the contract's order (404, 422, 409,
//     403, 409; for a deadline's extension 404, 404 for a deadline the
//     request lacks, 403 but for a supervisor of the side it binds, 409)
//     and change nothing;
//   - lists, searches, deadline filters, counts, worklists and the
//     dashboard hold exactly the visible requests;
//   - an authority's settings are the administrator's to change, and
//     nobody else's whatever the body;
//   - audit views are 403 for roles that do not read the log, hold only the
//     own authority's entries for auditors, and hold no case text for
//     anybody; the administrator reads only the metadata of the details
//     (no grounds, no digests), and nobody an unclassified detail;
//   - no answer to any caller, and no line of the server's log, holds the
//     title, text, comment, reference or id of a request hidden from that
//     caller (every request's content carries a marked secret, and every
//     answer is scanned for the marks);
//   - who a protected person is (name, aliases, date of birth, nationality,
//     location) appears in no answer and no line of the log but the
//     single-request answer (the API's, and the request's page once it
//     shows persons) to the officers and supervisors of the request's two
//     sides; everywhere else, in lists, results of changes, histories,
//     audit views, and to auditors, the person is {id, role, protected:
//     true} with nulls; the unprotected persons are shown whole to whoever
//     sees the request; and every answer that disclosed protected persons
//     wrote exactly one person.view entry for that caller and request,
//     naming the persons by id only, and no other answer wrote one;
//   - the opaque list cursors a caller is given do not depend on requests
//     hidden from that caller (TestIsolation_cursors compares a server with
//     the whole fixture and one with only the caller's visible part).
//
// TestIsolation_catchesLeaks proves the checks are not vacuous: over a
// deliberately leaky policy they report exactly the requests that leak.
// TestIsolation_catchesProtectedPersons does the same for protected
// persons, over a policy that shows them to auditors, and shows that a
// disclosure in any other answer, or one the log does not record one for
// one, is reported.
//
// Successful changes of the fixture's requests are not made here: the
// workflow's own table test (internal/httpapi, workflow_api_test.go) drives
// every transition. Here every write that the contract allows is sent with
// a stale version, so that it passes every access check and is then refused
// with 409 version_conflict, leaving the shared fixture as it was. Only at
// the end, on a request of its own, does the suite make changes, to see
// that their answers conceal protected persons.
package isolation
