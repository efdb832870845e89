package web

import (
	"embed"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/events"
	"github.com/mla-flow/mla-flow/internal/exercise"
	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// MinCSRFKey is the shortest CSRF key accepted: an HMAC-SHA256 key of the
// hash size.
const MinCSRFKey = 32

// Deps are the web application's dependencies, given explicitly.
type Deps struct {
	// Workflow serves every page about requests and the audit log.
	Workflow *workflow.Service
	// Auth signs users in, verifies session tokens and manages users.
	Auth *auth.Authenticator
	// Webhooks manages the webhooks (CONTRACT 8); nil leaves their pages
	// out.
	Webhooks *webhook.Service
	// Policy answers which navigation entries a user gets; its zero value
	// is the contract's policy, the same the workflow service applies.
	Policy auth.Policy
	// Logger receives the details of internal errors; nil discards them.
	Logger *slog.Logger
	// CSRFKey signs the tokens that every form carries (at least
	// MinCSRFKey bytes). main derives it from the JWT secret, so that it
	// survives restarts and is shared by every server on one database.
	CSRFKey []byte
	// Now is the clock for ages and renewals; nil means time.Now.
	Now func() time.Time
	// Exercise, set for the pages of a training exercise's world, puts a
	// banner on every page saying so, with the exercise clock.
	Exercise *ExerciseBanner
	// Exercises, on the live server, gives trainers their pages; nil
	// leaves them out, as in an exercise's world.
	Exercises *exercise.Manager
	// Events serves /events, the event stream of the lists' and request
	// pages' live updates (the API's stream, with the session's
	// credential); nil answers it 503.
	Events *events.Hub
}

// ExerciseBanner is what the banner of an exercise's pages says: which
// exercise, and its clock.
type ExerciseBanner struct {
	Title string
	Now   func() time.Time
}

// Handler is the web application. Register adds its routes to an Echo
// instance.
type Handler struct {
	wf   *workflow.Service
	auth *auth.Authenticator
	// webhooks is nil when the pages are left out.
	webhooks *webhook.Service
	policy   auth.Policy
	logger   *slog.Logger
	key      []byte
	now      func() time.Time
	pages    *pages
	// exercise is set in an exercise's world (see Deps.Exercise).
	exercise *ExerciseBanner
	// exercises runs the trainers' exercises (see Deps.Exercises).
	exercises *exercise.Manager
	events    *events.Hub
}

// New returns the web application. Missing dependencies are wiring
// mistakes and panic, like a template that does not parse.
func New(d Deps) *Handler {
	if d.Workflow == nil || d.Auth == nil {
		panic("web.New: Workflow and Auth are required")
	}
	if len(d.CSRFKey) < MinCSRFKey {
		panic("web.New: CSRFKey must have at least 32 bytes")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{
		wf: d.Workflow, auth: d.Auth, webhooks: d.Webhooks, policy: d.Policy, logger: d.Logger,
		key: append([]byte(nil), d.CSRFKey...), now: d.Now,
		pages: mustParsePages(), exercise: d.Exercise, exercises: d.Exercises, events: d.Events,
	}
}

// Register adds the pages to e, the Echo instance of the REST API, and
// routes errors by path: /api/ and the health endpoints keep the API's
// JSON error handler, every other path gets a readable HTML page. The
// pages share that instance's middleware, whose guard (internal/textcheck)
// refuses a path or query string that is not text before any page runs;
// forms are checked by their handlers (formError), to show the form again.
func (h *Handler) Register(e *echo.Echo) {
	api := e.HTTPErrorHandler
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if isAPIPath(c.Request().URL.Path) {
			api(err, c)
			return
		}
		h.handleError(err, c)
	}
	h.routes(e)
}
