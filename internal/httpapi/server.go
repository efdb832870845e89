package httpapi

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/idem"
	"github.com/mla-flow/mla-flow/internal/textcheck"
	"github.com/mla-flow/mla-flow/internal/upload"
	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// MaxBody is the largest request body accepted, 1 MiB: a request's text
// fields add up to well under that, and the limit bounds what a client can
// make the server read and hold.
const MaxBody = 1 << 20

// Deps are the API's dependencies, given explicitly so that tests and main
// wire exactly what they mean.
type Deps struct {
	// Workflow serves every request-related endpoint.
	Workflow *workflow.Service
	// Auth signs users in and verifies their tokens.
	Auth *auth.Authenticator
	// Webhooks manages the webhooks of CONTRACT 8; nil leaves their
	// routes out.
	Webhooks *webhook.Service
	// Ready reports whether the database answers, for /readyz; nil means
	// always ready.
	Ready func(ctx context.Context) error
	// Logger receives one line per request and the details of internal
	// errors; nil discards them.
	Logger *slog.Logger
	// IPExtractor tells the client's address, which the log-in throttle
	// counts. nil means the TCP peer: headers such as X-Forwarded-For are
	// trusted only when the operator says a proxy sets them (for example
	// echo.ExtractIPFromXFFHeader with the proxy's range), or any client
	// could dodge the throttle by inventing addresses.
	IPExtractor echo.IPExtractor
	// Idempotency keeps the Idempotency-Key of every signed-in POST
	// (CONTRACT 8) in the database, so that servers sharing it share the
	// keys; nil turns the header off (it is then ignored).
	Idempotency idem.Store
	// Exercises runs the training exercises (CONTRACT 7); nil leaves their
	// endpoints out, as in the API of an exercise's own world.
	Exercises *exercise.Manager
	// Events serves GET /events (CONTRACT 8); nil answers it 503. The
	// server closes it when it shuts down, which ends every stream.
	Events *events.Hub
}

// New returns the API as an Echo instance with every route of the contract,
// its middleware and its error handler. It panics when Workflow or Auth is
// missing: that is a wiring mistake, not a runtime condition.
func New(d Deps) *echo.Echo {
	if d.Workflow == nil || d.Auth == nil {
		panic("httpapi.New: Workflow and Auth are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.IPExtractor == nil {
		d.IPExtractor = echo.ExtractIPDirect()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = d.IPExtractor
	e.HTTPErrorHandler = errorHandler(d.Logger)
	e.Use(
		requestID(),
		logRequests(d.Logger),
		recoverPanics(d.Logger),
		checkFraming(), // before securityHeaders: it restores the TLS state they look at
		securityHeaders(),
		limitBody(MaxBody, d.Workflow.MaxDocument()+upload.Slack),
		// Paths and query strings, of the API and of the web pages
		// registered on the same instance; bodies are decodeJSON's.
		textcheck.Guard(),
	)
	routes(e, d, newAuthorityNames(d.Workflow))
	return e
}
