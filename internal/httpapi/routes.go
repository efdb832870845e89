package httpapi

import (
	"github.com/labstack/echo/v4"
)

// routes lists the whole surface of the API, each route with its guard.
//
// Guards are attached per route, not with Group.Use: Echo registers a
// catch-all route for a group with middleware, which would answer an
// unknown path with 401 instead of 404. Object-level rules (which request,
// which event) are the workflow's and the Policy's, behind the handlers.
func routes(e *echo.Echo, d Deps, names *authorityNames) {
	wf := d.Workflow
	user := requireUser(d.Auth) // a valid token of an enabled user
	if d.Idempotency != nil {
		// Every signed-in POST takes an Idempotency-Key (CONTRACT 8),
		// scoped by the caller the guard signed in.
		user = then(user, idempotent(d.Idempotency, d.Workflow.Now, d.Logger))
	}

	e.GET("/healthz", handleHealth())
	e.GET("/readyz", handleReady(d.Ready))

	v1 := e.Group("/api/v1")
	v1.POST("/auth/login", handleLogin(d.Auth, names))     // public: it is how one gets a token
	v1.POST("/auth/refresh", handleRefresh(d.Auth, names)) // added; public: the refresh token is the credential
	v1.POST("/auth/logout", handleLogout(d.Auth), user)    // added
	v1.GET("/me", handleMe(names), user)
	v1.GET("/authorities", handleAuthorities(wf), user)
	v1.PATCH("/authorities/:code", handleUpdateAuthority(wf), user) // the Policy lets only the admin
	v1.GET("/instruments", handleInstruments(wf), user)
	v1.GET("/workflows", handleWorkflows(), user)
	v1.GET("/refusal-grounds", handleRefusalGrounds(), user)
	v1.GET("/measures", handleMeasures(), user) // added: the code list of MLA measures

	v1.POST("/requests", handleCreateRequest(wf), user)
	v1.GET("/requests", handleListRequests(wf), user)
	v1.GET("/requests/counts", handleCounts(wf), user)   // added
	v1.GET("/requests/waiting", handleWaiting(wf), user) // added
	v1.GET("/requests/:id", handleGetRequest(wf), user)
	v1.PATCH("/requests/:id", handleUpdateRequest(wf), user)
	v1.POST("/requests/:id/events", handleFireEvent(wf), user)
	v1.GET("/requests/:id/history", handleHistory(wf), user)
	v1.POST("/requests/:id/deadlines/:kind/extensions", handleExtendDeadline(wf), user)
	v1.POST("/requests/:id/messages", handlePostMessage(wf), user) // CONTRACT 6
	v1.GET("/requests/:id/messages", handleMessages(wf), user)
	v1.GET("/requests/:id/letter", handleLetter(wf), user) // CONTRACT 6: the letter of request as PDF

	// The case file (CONTRACT 6). An upload's body gets the document limit
	// (limitBody, upload.IsUpload), every other body the JSON limit.
	v1.POST("/requests/:id/documents", handleUploadDocument(wf), user)
	v1.GET("/requests/:id/documents", handleListDocuments(wf), user)
	v1.GET("/documents/:id", handleGetDocument(wf), user)
	v1.PATCH("/documents/:id", handleUpdateDocument(wf), user)
	v1.GET("/documents/:id/content", handleDocumentContent(wf), user)

	// added: account administration; the Policy lets only the admin in.
	v1.GET("/users", handleListUsers(d.Auth, names), user)
	v1.POST("/users", handleCreateUser(d.Auth, names), user)
	v1.PATCH("/users/:id", handleUpdateUser(d.Auth, names), user)

	// CONTRACT 8: API keys of other agencies' systems; the Policy lets
	// only the admin in.
	v1.POST("/api-keys", handleCreateAPIKey(d.Auth), user)
	v1.GET("/api-keys", handleListAPIKeys(d.Auth), user)
	v1.DELETE("/api-keys/:id", handleRevokeAPIKey(d.Auth), user)
	// Webhooks (CONTRACT 8): the Policy lets a supervisor manage their
	// authority's, the admin any authority's.
	if wh := d.Webhooks; wh != nil {
		v1.POST("/webhooks", handleCreateWebhook(wh), user)
		v1.GET("/webhooks", handleListWebhooks(wh), user)
		v1.DELETE("/webhooks/:id", handleDeleteWebhook(wh), user)
		v1.GET("/webhooks/:id/deliveries", handleDeliveries(wh), user)
		v1.POST("/webhooks/:id/deliveries/:delivery/retry", handleRetryDelivery(wh), user)
	}

	v1.GET("/audit", handleAudit(wf), user) // the Policy's AuditScope narrows it further
	v1.GET("/audit/verify", handleVerifyAudit(wf), user)

	// Training exercises (CONTRACT 7), on the live server only: a world's
	// own API has none. The Policy lets only trainers in.
	if m := d.Exercises; m != nil {
		v1.GET("/scenarios", handleScenarios(m), user)
		v1.POST("/exercises", handleCreateExercise(m), user)
		v1.GET("/exercises", handleListExercises(m), user)
		v1.GET("/exercises/:id", handleGetExercise(m), user)
		v1.POST("/exercises/:id/clock", handleExerciseClock(m), user)
		v1.POST("/exercises/:id/injects", handleExerciseInject(m), user)
		v1.GET("/exercises/:id/debrief", handleExerciseDebrief(m), user)
		v1.POST("/exercises/:id/end", handleEndExercise(m), user)
		v1.DELETE("/exercises/:id", handleDeleteExercise(m), user)
	}
	// CONTRACT 8: the event stream and the API's description.
	v1.GET("/events", handleEvents(d.Events, d.Auth, wf), user)
	v1.GET("/openapi.json", handleOpenAPI()) // public: it describes, it discloses nothing
	e.GET("/api/docs", handleAPIDocs())      // the same, as a page to read
}

// then is the guard first followed by second, for one route.
func then(first, second echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc { return first(second(next)) }
}
