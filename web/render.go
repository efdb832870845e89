package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/httpstatus"

	"github.com/labstack/echo/v4"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// pages holds one template set per page: the layout and partials, then the
// page's own file, which defines "content".
type pages struct {
	byName map[string]*template.Template
}

func mustParsePages() *pages {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" || name == "partials.html" {
			continue
		}
		t := template.Must(base.Clone())
		p.byName[name] = template.Must(t.ParseFS(templateFS, n))
	}
	return p
}

// page is what the layout shows around every page's content.
type page struct {
	Title   string
	Header  *headerView // nil when nobody is signed in
	Nav     []navItem
	CSRF    string
	Flash   string // a confirmation, after a change
	Alert   string // a problem with what was just tried
	Content any
	// Live is what the page shows that the event stream may change: "list",
	// or a request's id; "" for no live updates (live.js).
	Live string
	// Exercise is the banner of a training exercise's pages; nil live.
	Exercise *exerciseBannerView
}

// exerciseBannerView is the banner every page of an exercise shows.
type exerciseBannerView struct {
	Title    string
	Now      string // the exercise clock, as read
	DateTime string // the same, for the time element
}

// headerView is who is signed in, as the header shows it.
type headerView struct {
	DisplayName   string
	Username      string
	Role          workflow.Role
	Authority     string
	AuthorityName string
}

// navItem is one entry of the main navigation.
type navItem struct {
	Href    string
	Label   string
	Current bool
}

// view is one answer of a page handler: which template, with what.
type view struct {
	status  int
	name    string // template file, e.g. "request_view.html"
	title   string
	flash   string
	alert   string
	content any
	live    string // see page.Live
}

// render writes v as a complete HTML page with the layout, the header of
// the signed-in user (if any) and the CSRF token for its forms.
func (h *Handler) render(c echo.Context, v view) error {
	t, ok := h.pages.byName[v.name]
	if !ok {
		return fmt.Errorf("no template %s", v.name)
	}
	p := page{Title: v.title, Flash: v.flash, Alert: v.alert, Content: v.content, Live: v.live}
	if x := h.exercise; x != nil {
		now := x.Now().UTC()
		p.Exercise = &exerciseBannerView{Title: x.Title, Now: now.Format("Mon 2 Jan 2006, 15:04 UTC"), DateTime: now.Format(time.RFC3339)}
	}
	u := userOf(c)
	p.CSRF = h.csrfToken(c, u.ID)
	if u.ID != "" {
		hv := &headerView{DisplayName: u.DisplayName, Username: u.Username, Role: u.Role, Authority: u.Authority}
		if u.Authority != "" {
			names, err := h.authorityNames(c)
			if err != nil {
				return err
			}
			hv.AuthorityName = names[u.Authority]
		}
		p.Header = hv
		p.Nav = h.nav(c, u.Actor())
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", v.name, err)
	}
	pageHeaders(c)
	status := v.status
	if status == 0 {
		status = http.StatusOK
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// pageHeaders are the answer headers of every page: not to be framed by
// another site (clickjacking), no referrer to other sites. Caching is
// already forbidden by the server's middleware.
func pageHeaders(c echo.Context) {
	hd := c.Response().Header()
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
}

// nav lists the pages the actor may open, in the order of work, asking the
// Policy the same questions the route guards ask.
func (h *Handler) nav(c echo.Context, a workflow.Actor) []navItem {
	items := []navItem{{Href: "/", Label: "Dashboard"}}
	if h.readsCases(a) {
		items = append(items,
			navItem{Href: "/inbox", Label: "Inbox"},
			navItem{Href: "/outbox", Label: "Outbox"},
			navItem{Href: "/drafts", Label: "Drafts"})
	}
	if h.policy.MayCreate(a) {
		items = append(items, navItem{Href: "/requests/new", Label: "New request"})
	}
	if h.readsAudit(a) {
		items = append(items, navItem{Href: "/audit", Label: "Audit log"})
	}
	if h.policy.MayManageUsers(a) {
		items = append(items, navItem{Href: "/users", Label: "Users"})
	}
	if h.policy.MayConfigureAuthorities(a) {
		items = append(items, navItem{Href: "/authorities", Label: "Authorities"})
	}
	if h.policy.MayManageAPIKeys(a) {
		items = append(items, navItem{Href: "/api-keys", Label: "API keys"})
	}
	if h.managesWebhooks(a) {
		items = append(items, navItem{Href: "/webhooks", Label: "Webhooks"})
	}
	if h.exercises != nil && h.policy.MayRunExercises(a) {
		items = append(items, navItem{Href: "/exercises", Label: "Exercises"})
	}
	route := c.Path()
	for i := range items {
		href := items[i].Href
		items[i].Current = route == href || (href != "/" && strings.HasPrefix(route, href+"/") && href != "/requests/new")
	}
	return items
}

// authorityNames maps authority codes to names.
func (h *Handler) authorityNames(c echo.Context) (map[string]string, error) {
	list, err := h.authorities(c)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(list))
	for _, a := range list {
		out[a.Code] = a.Name
	}
	return out, nil
}

// authorities lists the central authorities once per answer.
func (h *Handler) authorities(c echo.Context) ([]workflow.Authority, error) {
	const key = "mla-flow.web.authorities"
	if list, ok := c.Get(key).([]workflow.Authority); ok {
		return list, nil
	}
	list, err := h.wf.Authorities(c.Request().Context())
	if err != nil {
		return nil, fmt.Errorf("load authorities: %w", err)
	}
	c.Set(key, list)
	return list, nil
}

// errorView is the content of an error page.
type errorView struct {
	Status    int
	Heading   string
	Message   string
	RequestID string
}

// handleError is the error handler of every path outside the API: a
// readable page with the status, what went wrong when the user may know it,
// and the request id for a 500, whose cause goes to the log only.
func (h *Handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ev := classify(err)
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	if ev.Status >= 500 {
		h.logger.ErrorContext(c.Request().Context(), "internal error",
			"request_id", rid, "method", c.Request().Method, "route", c.Path(), "error", err.Error())
		ev.RequestID = rid
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(ev.Status)
		return
	}
	if userOf(c).ID == "" {
		// Router errors (404, 405) come before any guard: show the header
		// all the same when a session is there.
		if u, _, serr := h.session(c); serr == nil && u.ID != "" {
			c.Set(userKey, u)
		}
	}
	if rerr := h.render(c, view{status: ev.Status, name: "error.html", title: ev.Heading, content: ev}); rerr != nil {
		h.logger.ErrorContext(c.Request().Context(), "error page not rendered", "request_id", rid, "error", rerr.Error())
		if !c.Response().Committed {
			_ = c.String(ev.Status, ev.Heading+"\n")
		}
	}
}

// statusOf is the HTTP status of an error code: the API's, from
// internal/httpstatus, so that a page and the API answer the same.
func statusOf(code workflow.Code) int {
	if s, ok := httpstatus.Of(code); ok {
		return s
	}
	return http.StatusInternalServerError
}

// classify turns any error into the status and words of an error page.
// Statuses are the API's for the same codes (internal/httpstatus).
func classify(err error) errorView {
	var ae *workflow.Error
	if errors.As(err, &ae) {
		// The status is the API's for the same code; only the words differ.
		status, _ := httpstatus.Of(ae.Code)
		switch ae.Code {
		case workflow.ErrForbidden:
			return errorView{Status: status, Heading: "You may not do this", Message: ae.Message}
		case workflow.ErrNotFound:
			return errorView{Status: status, Heading: "Not found",
				Message: "There is no such page or request, or it is not visible to you."}
		case workflow.ErrBadRequest, workflow.ErrValidation:
			return errorView{Status: status, Heading: "This request could not be understood", Message: ae.Message}
		case workflow.ErrInvalidTransition, workflow.ErrVersionConflict, workflow.ErrConflict:
			return errorView{Status: status, Heading: "This could not be done now", Message: ae.Message}
		case workflow.ErrTooLarge:
			return errorView{Status: status, Heading: "Too much text", Message: ae.Message}
		case workflow.ErrRateLimited:
			return errorView{Status: status, Heading: "Too many attempts", Message: ae.Message}
		case workflow.ErrUnavailable:
			return errorView{Status: status, Heading: "Temporarily unavailable",
				Message: "The server cannot record changes right now. Nothing was changed; please try again in a moment."}
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorView{Status: http.StatusRequestEntityTooLarge, Heading: "Too much text",
			Message: "The form holds more text than the server accepts."}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return errorView{Status: http.StatusNotFound, Heading: "Not found",
				Message: "There is no such page or request, or it is not visible to you."}
		case http.StatusMethodNotAllowed:
			return errorView{Status: http.StatusMethodNotAllowed, Heading: "Not possible here",
				Message: "This page cannot be used that way. Use the links and buttons of the application."}
		case http.StatusRequestEntityTooLarge:
			return errorView{Status: http.StatusRequestEntityTooLarge, Heading: "Too much text",
				Message: "The form holds more text than the server accepts."}
		case http.StatusBadRequest:
			return errorView{Status: http.StatusBadRequest, Heading: "This request could not be understood",
				Message: "The browser sent something the server could not read."}
		}
	}
	return errorView{Status: http.StatusInternalServerError, Heading: "Something went wrong",
		Message: "The server could not complete this. Nothing you see here was lost; please try again. If it happens again, give the reference below to your administrator."}
}

// handleStatic serves the embedded style sheet and images. They change
// only with the binary, so browsers may keep them for an hour.
func (h *Handler) handleStatic() echo.HandlerFunc {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServer(http.FS(sub))
	return func(c echo.Context) error {
		name := c.Param("*")
		if st, err := fs.Stat(sub, name); name == "" || err != nil || st.IsDir() {
			return echo.ErrNotFound
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=3600")
		r := c.Request().Clone(c.Request().Context())
		r.URL.Path = "/" + name
		files.ServeHTTP(c.Response(), r)
		return nil
	}
}
