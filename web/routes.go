package web

import (
	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// routes lists every page with its guards. signedIn comes first: it loads
// the session (or sends the browser to the log-in page) and checks the
// CSRF token of every POST. The role guards only decide whether a page
// exists for the user at all; which request and which event is the
// workflow service's and the Policy's question, behind the handlers, the
// same as for the API. Guards are attached per route, not with Group.Use,
// so that Echo adds no catch-all routes that would hide the 404 page.
func (h *Handler) routes(e *echo.Echo) {
	cases := h.require("Only the officers, supervisors and auditors of a central authority work with requests.", h.readsCases)
	drafter := h.require("Your role may not draft or edit requests.", h.policy.MayCreate)
	auditor := h.require("Only auditors and the administrator read the audit log.", h.readsAudit)
	admin := h.require("Only the administrator manages users.", h.policy.MayManageUsers)

	e.GET("/static/*", h.handleStatic())

	e.GET("/login", h.handleLoginForm())
	e.POST("/login", h.handleLogin()) // checks its own pre-session CSRF token
	e.POST("/logout", h.handleLogout(), h.signedIn)

	e.GET("/", h.handleDashboard(), h.signedIn)
	e.GET("/inbox", h.handleList(boxInbox), h.signedIn, cases)
	e.GET("/outbox", h.handleList(boxOutbox), h.signedIn, cases)
	e.GET("/drafts", h.handleList(boxDrafts), h.signedIn, cases)

	e.GET("/requests/new", h.handleNewRequest(), h.signedIn, drafter)
	e.POST("/requests/new", h.handleCreateRequest(), h.signedIn, drafter)
	e.GET("/requests/:id", h.handleRequestView(), h.signedIn, cases)
	e.GET("/requests/:id/edit", h.handleEditRequest(), h.signedIn, drafter)
	e.POST("/requests/:id/edit", h.handleUpdateRequest(), h.signedIn, drafter)
	e.POST("/requests/:id/events/:event", h.handleFire(), h.signedIn, cases)
	e.POST("/requests/:id/deadlines/:kind/extensions", h.handleExtendDeadline(), h.signedIn, cases)
	e.POST("/requests/:id/documents", h.handleUploadDocument(), h.signedIn, cases)
	e.GET("/documents/:id/content", h.handleDownloadDocument(), h.signedIn, cases)
	e.POST("/documents/:id/translation", h.handleTranslationStatus(), h.signedIn, cases)
	e.POST("/requests/:id/messages", h.handlePostMessage(), h.signedIn, cases) // CONTRACT 6
	e.GET("/requests/:id/letter", h.handleLetter(), h.signedIn, cases)         // CONTRACT 6: the letter as PDF

	e.GET("/events", h.handleEvents(), h.signedIn, cases) // CONTRACT 8: the live updates of live.js

	e.GET("/audit", h.handleAudit(), h.signedIn, auditor)
	e.POST("/audit/verify", h.handleVerifyAudit(), h.signedIn, auditor)

	e.GET("/users", h.handleUsers(), h.signedIn, admin)
	e.POST("/users", h.handleCreateUser(), h.signedIn, admin)
	e.GET("/users/:id", h.handleUser(), h.signedIn, admin)
	e.POST("/users/:id/status", h.handleSetDisabled(), h.signedIn, admin)
	e.POST("/users/:id/password", h.handleResetPassword(), h.signedIn, admin)
	e.POST("/users/:id/role", h.handleChangeRole(), h.signedIn, admin)
	keys := h.require("Only the administrator manages API keys.", h.policy.MayManageAPIKeys)
	e.GET("/api-keys", h.handleAPIKeys(), h.signedIn, keys) // CONTRACT 8
	e.POST("/api-keys", h.handleCreateAPIKey(), h.signedIn, keys)
	e.GET("/api-keys/:id/revoke", h.handleConfirmRevokeAPIKey(), h.signedIn, keys)
	e.POST("/api-keys/:id/revoke", h.handleRevokeAPIKey(), h.signedIn, keys)
	e.GET("/authorities", h.handleAuthorities(), h.signedIn, admin)
	e.POST("/authorities/:code", h.handleSetCompleteness(), h.signedIn, admin)

	// Webhooks (CONTRACT 8): a supervisor's for their authority, the
	// administrator's for any.
	if h.webhooks != nil {
		hooks := h.require("Only supervisors and the administrator manage webhooks.", h.managesWebhooks)
		e.GET("/webhooks", h.handleWebhooks(), h.signedIn, hooks)
		e.POST("/webhooks", h.handleCreateWebhook(), h.signedIn, hooks)
		e.GET("/webhooks/:id", h.handleWebhookDeliveries(), h.signedIn, hooks)
		e.POST("/webhooks/:id/delete", h.handleDeleteWebhook(), h.signedIn, hooks)
		e.POST("/webhooks/:id/deliveries/:delivery/retry", h.handleRetryDelivery(), h.signedIn, hooks)
	}
	// Training exercises (CONTRACT 7), on the live server only.
	if h.exercises != nil {
		trainer := h.require("Only trainers run exercises.", h.policy.MayRunExercises)
		e.GET("/exercises", h.handleExercises(), h.signedIn, trainer)
		e.POST("/exercises", h.handleCreateExercise(), h.signedIn, trainer)
		e.GET("/exercises/:id", h.handleExercise(), h.signedIn, trainer)
		e.POST("/exercises/:id/clock", h.handleExerciseClock(), h.signedIn, trainer)
		e.POST("/exercises/:id/injects", h.handleExerciseInject(), h.signedIn, trainer)
		e.POST("/exercises/:id/injects/ad-hoc", h.handleExerciseAdHoc(), h.signedIn, trainer)
		e.POST("/exercises/:id/end", h.handleEndExercise(), h.signedIn, trainer)
		e.POST("/exercises/:id/delete", h.handleDeleteExercise(), h.signedIn, trainer)
		e.GET("/exercises/:id/debrief", h.handleExerciseDebrief(), h.signedIn, trainer)
		e.GET("/exercises/:id/debrief.csv", h.handleExerciseDebriefCSV(), h.signedIn, trainer)
	}
}

// readsCases tells whether the actor sees any requests at all: the Policy's
// scope names an authority only for roles that read case contents.
func (h *Handler) readsCases(a workflow.Actor) bool { return h.policy.Scope(a).Authority != "" }

// readsAudit tells whether the Policy lets the actor read the audit log.
func (h *Handler) readsAudit(a workflow.Actor) bool {
	_, _, ok := h.policy.AuditScope(a)
	return ok
}

// require is a route guard: a 403 page with msg unless ok(actor).
func (h *Handler) require(msg string, ok func(workflow.Actor) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !ok(actorOf(c)) {
				return workflow.Errorf(workflow.ErrForbidden, "%s", msg)
			}
			return next(c)
		}
	}
}
