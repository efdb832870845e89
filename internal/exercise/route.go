package exercise

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/store"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// sessionCookie is the web pages' session cookie (see web/session.go): it
// holds the same access token the API takes as a bearer token.
const sessionCookie = "mla_session"

// maxLoginBody bounds what Route reads of a log-in's body to find its
// username; a larger body goes to the live server, which refuses it.
const maxLoginBody = 64 << 10

// Dispatch returns the server's handler: every call of a trainee goes to
// its world's handler, every other to live. A call belongs to a world
// when its token (bearer or session cookie) names one, for a log-in when
// its username is a trainee's, for a refresh when its refresh token
// names one. A token naming a world that is no
// more (deleted) goes to live, which refuses it as it refuses any token
// it did not issue: so the world's trainees are logged out on every
// server at once.
func (m *Manager) Dispatch(live http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w, e := m.route(r)
		switch {
		case w == nil || w.Handler == nil:
			live.ServeHTTP(rw, r)
		case e.State == StateEnded && changes(r):
			refuseEnded(rw, r)
		default:
			w.Handler.ServeHTTP(rw, r)
		}
	})
}

// changes tells whether a call may change the world: anything but a read,
// and but signing in and out.
func changes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	switch r.URL.Path {
	case "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/login", "/logout":
		return false
	}
	return true
}

// refuseEnded answers a change in an ended exercise: its world stays to be
// read, and its debrief stays what it was when the trainer ended it.
func refuseEnded(rw http.ResponseWriter, r *http.Request) {
	const msg = "The exercise has ended: its world can be read, not changed."
	h := rw.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusConflict)
		_ = json.NewEncoder(rw).Encode(map[string]any{"error": map[string]string{"code": "invalid_transition", "message": msg}})
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(http.StatusConflict)
	_, _ = io.WriteString(rw, `<!doctype html><html lang="en"><head><meta charset="utf-8">`+
		`<meta name="viewport" content="width=device-width, initial-scale=1"><title>Exercise ended · mla-flow</title>`+
		`<link rel="stylesheet" href="/static/app.css"></head><body><main id="main" class="page">`+
		`<h1>Exercise ended</h1><p>`+msg+`</p><p><a href="/">Back to the dashboard</a></p></main></body></html>`)
}

// route finds the world of a call and its registry record; nil for live.
func (m *Manager) route(r *http.Request) (*World, store.Exercise) {
	id := auth.TokenWorld(tokenOf(r))
	switch {
	case id != "" || r.Method != http.MethodPost:
	case r.URL.Path == "/api/v1/auth/login" || r.URL.Path == "/login":
		username := peekBody(r, "username")
		if username == "" {
			return nil, store.Exercise{}
		}
		t, err := m.live.TraineeByUsername(r.Context(), username)
		if err != nil {
			return nil, store.Exercise{}
		}
		id = t.ExerciseID
	case r.URL.Path == "/api/v1/auth/refresh":
		id = auth.RefreshTokenWorld(peekBody(r, "refresh_token"))
	}
	if id == "" {
		return nil, store.Exercise{}
	}
	e, err := m.live.Exercise(r.Context(), id)
	if err != nil {
		if workflow.ErrorCode(err) == workflow.ErrNotFound {
			m.forget(id) // deleted, perhaps by another server
		}
		return nil, store.Exercise{}
	}
	w, err := m.world(r.Context(), e)
	if err != nil {
		m.logger.ErrorContext(r.Context(), "exercise world unavailable", "exercise", id, "error", err)
		return nil, store.Exercise{}
	}
	return w, e
}

// tokenOf returns the call's bearer token, or else its session cookie's.
func tokenOf(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// peekBody reads one field of a log-in's or refresh's body, JSON or
// form, and puts the body back for whoever answers it.
func peekBody(r *http.Request, field string) string {
	if r.Body == nil {
		return ""
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxLoginBody+1))
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), rest), rest}
	if err != nil || len(body) > maxLoginBody {
		return ""
	}
	// A JSON body is read as JSON whatever its Content-Type says: the API's
	// log-in does so (curl -d sends JSON labelled as a form), and a
	// trainee's log-in must reach the world the live one would not know.
	if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return ""
		}
		return v.Get(field)
	}
	var in map[string]json.RawMessage
	var value string
	if json.Unmarshal(body, &in) != nil || json.Unmarshal(in[field], &value) != nil {
		return ""
	}
	return value
}
