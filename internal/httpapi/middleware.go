package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/upload"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// requestIDKey is where requestID keeps the id in the Echo context.
const requestIDKey = "mla-flow.httpapi.request-id"

// requestID gives every request an id, sent back as X-Request-ID and written
// in its log line, so that a user's report can be matched to the log. A
// well-formed id from the client (or a proxy) is kept to join logs across
// systems; anything else is replaced, so that logs hold no client junk.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !validRequestID(id) {
				id = newRequestID()
			}
			c.Set(requestIDKey, id)
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// requestIDOf returns the id requestID gave the request.
func requestIDOf(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// logRequests writes one line per request: method, path, route, status,
// duration, request id, and the user's id when signed in. Never bodies,
// query strings, headers, tokens or passwords: they may hold case text or
// secrets. It answers errors itself (through the error handler) so that
// the line carries the status actually sent.
func logRequests(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("method", c.Request().Method),
				slog.String("path", c.Request().URL.Path),
				slog.String("route", c.Path()),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.String("request_id", requestIDOf(c)),
			}
			if u := userFrom(c); u.ID != "" {
				attrs = append(attrs, slog.String("user_id", u.ID))
			}
			logger.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		}
	}
}

// recoverPanics turns a panic in a handler into a 500 in the contract's
// shape; the panic and its stack go to the log, never to the client.
func recoverPanics(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if r == http.ErrAbortHandler {
					panic(r) // the server's own signal to drop the connection
				}
				logger.ErrorContext(c.Request().Context(), "panic",
					"request_id", requestIDOf(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = errPanic
			}()
			return next(c)
		}
	}
}

// errPanic stands for a recovered panic; the error handler answers it like
// any internal error and the panic itself is already logged.
var errPanic = fmt.Errorf("handler panicked")

// contentSecurityPolicy allows an API answer nothing: no script at all,
// no framing (clickjacking), no plugins, no base-URI tricks, only its own
// style sheet, images and forms, should a browser ever render one.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// servesJSON tells the paths of the API and the probes, which answer JSON
// and never run a script.
func servesJSON(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz"
}

// pageSecurityPolicy is the policy of the pages (and /static): the same,
// but for the scripts of /static (the upload form's progress bar,
// web/static/upload.js), which reach back only to this origin. Nothing
// inline and no eval ('unsafe-inline' and 'unsafe-eval' are absent), so an
// injected script still cannot run; every page works without script.
const pageSecurityPolicy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every answer carries, API and pages
// alike (the web application registers on the same Echo instance):
//
//   - Cache-Control no-store: answers hold case data and tokens, which must
//     not stay in browser or proxy caches (static files override it).
//   - nosniff: a JSON answer is never run as a script.
//   - the CSPs above (the API's, or the pages'), and X-Frame-Options for browsers without
//     frame-ancestors.
//   - Referrer-Policy same-origin: no URL of a case page leaves the site.
//   - Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy: no other
//     site's window or page can hold a reference to ours or embed its
//     answers.
//   - HSTS over TLS only: sent over plain HTTP it would be ignored, and on a
//     test server it would pin a name to HTTPS for a year.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set(echo.HeaderCacheControl, "no-store")
			h.Set(echo.HeaderXContentTypeOptions, "nosniff")
			if servesJSON(c.Request().URL.Path) {
				h.Set(echo.HeaderContentSecurityPolicy, contentSecurityPolicy)
			} else {
				h.Set(echo.HeaderContentSecurityPolicy, pageSecurityPolicy)
			}
			h.Set(echo.HeaderXFrameOptions, "DENY")
			h.Set(echo.HeaderReferrerPolicy, "same-origin")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Cross-Origin-Resource-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
			if c.Request().TLS != nil {
				h.Set(echo.HeaderStrictTransportSecurity, "max-age=63072000; includeSubDomains")
			}
			return next(c)
		}
	}
}

// limitBody refuses bodies over n bytes: at once when Content-Length says
// so, and otherwise while reading, where the decoder meets the error that
// http.MaxBytesReader returns (and the server closes the connection rather
// than read the rest). An upload's route (upload.IsUpload, known once Echo
// has routed the request) gets uploads bytes instead: the document limit
// and its framing, which the upload streams to disk and never holds.
func limitBody(n, uploads int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			n := n
			if upload.IsUpload(req.Method, c.Path()) {
				n = uploads
			}
			if req.ContentLength > n {
				if n != MaxBody {
					return workflow.Errorf(workflow.ErrTooLarge, "the upload is larger than %d bytes", n)
				}
				return errTooLarge
			}
			if req.Body != nil {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, n)
			}
			return next(c)
		}
	}
}

// errTooLarge is the answer to a body over the limit.
var errTooLarge = workflow.Errorf(workflow.ErrTooLarge, "the request body is larger than %d bytes", MaxBody)
