package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The cookies of the web application. Both are HttpOnly and SameSite=Strict,
// and Secure when the request came over TLS.
//
// The session cookie holds the access token that auth.Authenticator.Login
// issued, the same JWT the API accepts as a bearer token; every page
// verifies it with Authenticator.Authenticate, which also loads the user
// and the session, so a disabled account or a revoked session (log-out
// here or through the API) is out at its next click.
//
// The CSRF cookie holds a random nonce bound by HMAC to the user it was
// issued for (or to nobody, on the log-in form). Every form carries the
// same value in a hidden field, and every POST must present both, equal,
// and bound to the user of the session (signed double submit): a page of
// another site can neither read the cookie nor forge the binding, and
// SameSite=Strict keeps the browser from sending the session on its
// requests in the first place.
const (
	sessionCookie = "mla_session"
	csrfCookie    = "mla_csrf"
	csrfField     = "_csrf"
)

// contextKeys of the Echo context.
const (
	userKey = "mla-flow.web.user"
	csrfKey = "mla-flow.web.csrf"
)

// userOf returns the signed-in user that signedIn stored.
func userOf(c echo.Context) workflow.User {
	u, _ := c.Get(userKey).(workflow.User)
	return u
}

// actorOf returns the acting identity of the signed-in user; the zero Actor
// (which the Policy lets see and do nothing) without a session.
func actorOf(c echo.Context) workflow.Actor { return userOf(c).Actor() }

// signedIn is the guard of every page but the log-in page. Without a valid
// session it sends a GET to the log-in page, which returns there after
// log-in; a POST goes to the log-in page too, returning to the page the form
// was on. Every POST must carry the session's CSRF token.
func (h *Handler) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, hadCookie, err := h.session(c)
		if err != nil {
			return err
		}
		if u.ID == "" {
			if hadCookie {
				clearCookie(c, sessionCookie)
			}
			return c.Redirect(http.StatusSeeOther, loginURL(returnPath(c), hadCookie))
		}
		c.Set(userKey, u)
		if c.Request().Method == http.MethodPost && !h.checkCSRF(c, u.ID) {
			return errCSRF
		}
		return next(c)
	}
}

// errCSRF refuses a form without a valid token: typically a page left open
// across a log-out, or a forged cross-site post.
var errCSRF = workflow.Errorf(workflow.ErrForbidden,
	"This form has expired or did not come from this site. Go back, reload the page and try again.")

// session reads the session cookie and returns its user; the zero user when
// there is none or it is no longer valid (expired, forged, user disabled).
// hadCookie tells whether a cookie was sent at all, so that the log-in page
// can say that the session has ended. A token past half its life is renewed.
func (h *Handler) session(c echo.Context) (u workflow.User, hadCookie bool, err error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return workflow.User{}, false, nil
	}
	u, err = h.auth.Authenticate(c.Request().Context(), ck.Value)
	if err != nil {
		if workflow.ErrorCode(err) == workflow.ErrUnauthenticated {
			return workflow.User{}, true, nil
		}
		return workflow.User{}, true, err
	}
	h.maybeRenew(c, ck.Value)
	return u, true, nil
}

// maybeRenew replaces a verified token that has passed half its lifetime
// with a new one of the same session (Authenticator.Renew), which ends at
// the latest when the session does. The times are read without a second
// verification: Authenticate has just verified this very token, and Renew
// verifies it again. A failure to renew is no failure of the page: the old
// token stays valid until it expires.
func (h *Handler) maybeRenew(c echo.Context, token string) {
	half, ok := halfLife(token)
	if !ok || h.now().Before(half) {
		return
	}
	fresh, lifetime, err := h.auth.Renew(c.Request().Context(), token)
	if err != nil {
		h.logger.WarnContext(c.Request().Context(), "session renewal failed", "error", err.Error())
		return
	}
	setSessionCookie(c, fresh, lifetime)
}

func setSessionCookie(c echo.Context, token string, lifetime time.Duration) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", MaxAge: int(lifetime.Seconds()),
		HttpOnly: true, Secure: c.IsTLS(), SameSite: http.SameSiteStrictMode,
	})
}

func clearCookie(c echo.Context, name string) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.IsTLS(), SameSite: http.SameSiteStrictMode,
	})
}

// csrfToken returns the CSRF token for the forms of this answer, bound to
// subject (the user id; "" before log-in), reusing the cookie's token when
// it is bound to the same subject and issuing a new one otherwise.
func (h *Handler) csrfToken(c echo.Context, subject string) string {
	if t, ok := c.Get(csrfKey).(string); ok {
		return t
	}
	if ck, err := c.Cookie(csrfCookie); err == nil && h.validCSRF(ck.Value, subject) {
		c.Set(csrfKey, ck.Value)
		return ck.Value
	}
	return h.issueCSRF(c, subject)
}

// issueCSRF sets a new CSRF cookie bound to subject and returns its token.
func (h *Handler) issueCSRF(c echo.Context, subject string) string {
	var nonce [18]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read does not fail (Go 1.24+)
	n := base64.RawURLEncoding.EncodeToString(nonce[:])
	t := n + "." + h.csrfMAC(subject, n)
	c.SetCookie(&http.Cookie{
		Name: csrfCookie, Value: t, Path: "/", HttpOnly: true, Secure: c.IsTLS(),
		SameSite: http.SameSiteStrictMode, // a session cookie: it ends with the browser
	})
	c.Set(csrfKey, t)
	return t
}

func (h *Handler) csrfMAC(subject, nonce string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("mla-flow web csrf v1\x00" + subject + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether t is a token this server issued for subject.
func (h *Handler) validCSRF(t, subject string) bool {
	nonce, mac, ok := strings.Cut(t, ".")
	if !ok || nonce == "" || len(t) > 128 {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(h.csrfMAC(subject, nonce)))
}

// checkCSRF reports whether a POST carries the CSRF token of its cookie, and
// that token is bound to subject. Both comparisons take constant time.
func (h *Handler) checkCSRF(c echo.Context, subject string) bool {
	ck, err := c.Cookie(csrfCookie)
	if err != nil {
		return false
	}
	var form string
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
		// An upload (documents.go): its body is streamed to disk, not
		// parsed whole for a field, so the form sends its token in its
		// address.
		form = c.QueryParam(csrfField)
	} else {
		form = c.FormValue(csrfField)
	}
	if form == "" || subtle.ConstantTimeCompare([]byte(form), []byte(ck.Value)) != 1 {
		return false
	}
	return h.validCSRF(form, subject)
}

// returnPath is where the user should come back to after logging in: the
// page itself for a GET, the page the form was on for a POST (its Referer,
// when it is of this site).
func returnPath(c echo.Context) string {
	r := c.Request()
	if r.Method == http.MethodGet {
		return localPath(r.URL.RequestURI())
	}
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host {
		return ""
	}
	return localPath(ref.RequestURI())
}

// loginURL is the log-in page that returns to next.
func loginURL(next string, expired bool) string {
	q := url.Values{}
	if next != "" && next != "/" {
		q.Set("next", next)
	}
	if expired {
		q.Set("expired", "1")
	}
	if len(q) == 0 {
		return "/login"
	}
	return "/login?" + q.Encode()
}

// localPath returns p when it is a path of this site that a browser may be
// sent back to after log-in, and "" otherwise. Anything that a browser
// could read as another host ("//evil.example", "/\evil.example", a scheme)
// is refused, so the log-in page is no open redirect.
func localPath(p string) string {
	if p == "" || len(p) > 2048 || p[0] != '/' || strings.HasPrefix(p, "//") {
		return ""
	}
	for i := 0; i < len(p); i++ {
		if ch := p[i]; ch == '\\' || ch < 0x20 || ch == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	if isAPIPath(u.Path) || u.Path == "/login" || u.Path == "/logout" || strings.HasPrefix(u.Path, "/static/") {
		return ""
	}
	return p
}

// isAPIPath tells the paths that belong to the REST API and keep its JSON
// error answers.
func isAPIPath(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz"
}

// halfLife is when a token has passed half its lifetime, read from its
// claims without verifying them (its callers have just verified it).
func halfLife(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		IssuedAt  int64 `json:"iat"`
		ExpiresAt int64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.ExpiresAt <= claims.IssuedAt {
		return time.Time{}, false
	}
	return time.Unix(claims.IssuedAt, 0).Add(time.Duration(claims.ExpiresAt-claims.IssuedAt) * time.Second / 2), true
}
