// Package web is the officers' web application: server-rendered pages for
// logging in, reading and moving requests, reading the audit log and
// managing users. It is served by the same binary, on the same Echo
// instance as the REST API, and goes through the same workflow.Service and
// auth.Policy, so no rule is written twice: buttons come from
// Service.AllowedEvents, forms from workflow.Table's Needs, refusal grounds
// from workflow.GroundsFor, measures from workflow.Measures, and the
// workflow diagram from workflow.Table and workflow.States.
//
// Templates (templates/*.html) and static files (static/) are embedded
// with go:embed; the pages need no JavaScript, so that a strict Content
// Security Policy can forbid inline scripts and handlers.
package web
