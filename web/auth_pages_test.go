package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/testdb"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

func TestLogin(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)

	t.Run("form", func(t *testing.T) {
		b := app.browser(t)
		p := b.get("/login").must(t, http.StatusOK).has(t, `<label for="f-username">Username</label>`, `name="_csrf"`, `type="password"`)
		set := strings.Join(p.header.Values("Set-Cookie"), "\n")
		if !strings.Contains(set, "mla_csrf=") || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Strict") {
			t.Errorf("log-in form's CSRF cookie: %q", set)
		}
	})

	t.Run("wrong_password", func(t *testing.T) {
		b := app.browser(t)
		b.get("/login")
		b.post("/login", url.Values{"username": {"it.officer"}, "password": {"wrong"}}).
			must(t, http.StatusUnauthorized).
			has(t, "The username or password is wrong", `value="it.officer"`)
		if b.cookie("mla_session") != "" {
			t.Errorf("a session after a wrong password")
		}
	})

	t.Run("missing_fields", func(t *testing.T) {
		b := app.browser(t)
		b.get("/login")
		b.post("/login", url.Values{"username": {""}}).must(t, http.StatusUnprocessableEntity).
			has(t, "Enter your username.", "Enter your password.", `aria-invalid="true"`)
	})

	t.Run("no_csrf", func(t *testing.T) {
		b := app.browser(t)
		b.get("/login")
		b.post("/login", url.Values{"username": {"it.officer"}, "password": {"demo-pass"}, "_csrf": {""}}).
			must(t, http.StatusForbidden).has(t, "The log-in form had expired")
		if b.cookie("mla_session") != "" {
			t.Errorf("logged in without a CSRF token")
		}
		// Without the cookie at all (a forged cross-site form) it fails too.
		nb := app.browser(t)
		nb.post("/login", url.Values{"username": {"it.officer"}, "password": {"demo-pass"}, "_csrf": {b.cookie("mla_csrf")}}).
			must(t, http.StatusForbidden)
	})

	t.Run("success_sets_a_strict_cookie", func(t *testing.T) {
		b := app.browser(t)
		b.get("/login")
		anon := b.cookie("mla_csrf")
		p := b.post("/login", url.Values{"username": {"IT.Officer"}, "password": {"demo-pass"}}).must(t, http.StatusSeeOther)
		if p.location != "/" {
			t.Errorf("redirect to %q, want /", p.location)
		}
		set := strings.Join(p.header.Values("Set-Cookie"), "\n")
		for _, want := range []string{"mla_session=", "HttpOnly", "SameSite=Strict", "Path=/"} {
			if !strings.Contains(set, want) {
				t.Errorf("session cookie lacks %s: %q", want, set)
			}
		}
		if strings.Contains(set, "Secure") {
			t.Errorf("Secure cookie over plain HTTP: %q", set)
		}
		if b.cookie("mla_csrf") == anon {
			t.Errorf("the CSRF token was not renewed at log-in")
		}
		b.get("/").must(t, http.StatusOK).has(t, "Giulia Rossi", "it.officer", "Officer", "Italy, Ministry of Justice")
	})

	t.Run("returns_to_a_local_path_only", func(t *testing.T) {
		cases := []struct{ next, want string }{
			{"/inbox?state=sent", "/inbox?state=sent"},
			{"//evil.example/x", "/"},
			{"https://evil.example/", "/"},
			{"/\\evil.example", "/"},
			{"/api/v1/me", "/"},
			{"javascript:alert(1)", "/"},
		}
		for _, tc := range cases {
			b := app.browser(t)
			b.get("/login?next=" + url.QueryEscape(tc.next))
			p := b.post("/login", url.Values{"username": {"it.officer"}, "password": {"demo-pass"}, "next": {tc.next}}).
				must(t, http.StatusSeeOther)
			if p.location != tc.want {
				t.Errorf("next %q: redirect to %q, want %q", tc.next, p.location, tc.want)
			}
		}
	})

	t.Run("logout", func(t *testing.T) {
		b := app.as(t, "it.officer")
		token := b.cookie("mla_session")
		b.post("/logout", url.Values{"_csrf": {""}}).must(t, http.StatusForbidden)
		p := b.post("/logout", nil).must(t, http.StatusSeeOther)
		if p.location != "/login?bye=1" {
			t.Errorf("logout leads to %q", p.location)
		}
		b.get("/").must(t, http.StatusSeeOther)
		b.get("/login?bye=1").has(t, "You have logged out.")
		// The session is revoked, not only forgotten by the browser: a
		// copy of its cookie, or its token on the API, is refused at once.
		if _, err := app.auth.Authenticate(context.Background(), token); workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
			t.Fatalf("the logged-out session's token: %v, want unauthenticated", err)
		}
		copyCat := app.browser(t)
		u, _ := url.Parse(app.srv.URL)
		copyCat.client.Jar.SetCookies(u, []*http.Cookie{{Name: "mla_session", Value: token, Path: "/"}})
		copyCat.get("/").must(t, http.StatusSeeOther)
	})

	t.Run("api_logout_ends_the_web_session", func(t *testing.T) {
		b := app.as(t, "es.officer")
		b.get("/").must(t, http.StatusOK)
		if err := app.auth.Logout(context.Background(), b.cookie("mla_session"), auth.LogoutOptions{}); err != nil {
			t.Fatal(err)
		}
		b.get("/").must(t, http.StatusSeeOther)
	})

	t.Run("rate_limited", func(t *testing.T) {
		b := app.browser(t)
		b.get("/login")
		for i := 0; i < 50; i++ {
			p := b.post("/login", url.Values{"username": {"th.officer"}, "password": {"nope"}})
			if p.status == http.StatusTooManyRequests {
				p.has(t, "Too many failed attempts")
				if p.header.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After")
				}
				return
			}
		}
		t.Errorf("no 429 after 50 wrong passwords")
	})
}

func TestLogin_secureCookieOverTLS(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)
	tls := httptest.NewTLSServer(app.handler)
	t.Cleanup(tls.Close)
	app.srv = tls // the browser talks to the TLS server from here on
	b := app.browser(t)
	b.client.Transport = tls.Client().Transport
	p := b.get("/login").must(t, http.StatusOK)
	if set := strings.Join(p.header.Values("Set-Cookie"), "\n"); !strings.Contains(set, "Secure") {
		t.Errorf("CSRF cookie over TLS is not Secure: %q", set)
	}
	p = b.post("/login", url.Values{"username": {"it.officer"}, "password": {"demo-pass"}}).must(t, http.StatusSeeOther)
	if set := strings.Join(p.header.Values("Set-Cookie"), "\n"); !strings.Contains(set, "mla_session=") || !strings.Contains(set, "Secure") {
		t.Errorf("session cookie over TLS is not Secure: %q", set)
	}
}

func TestSession(t *testing.T) {
	app := newTestApp(t, testdb.SQLite)

	t.Run("no_session_goes_to_login_and_back", func(t *testing.T) {
		b := app.browser(t)
		p := b.get("/inbox?state=sent").must(t, http.StatusSeeOther)
		if p.location != "/login?next=%2Finbox%3Fstate%3Dsent" {
			t.Fatalf("redirect to %q", p.location)
		}
		b.get(p.location).must(t, http.StatusOK).has(t, `name="next" value="/inbox?state=sent"`)
		p = b.post("/login", url.Values{"username": {"es.officer"}, "password": {"demo-pass"}, "next": {"/inbox?state=sent"}})
		if p.location != "/inbox?state=sent" {
			t.Errorf("after log-in: %q", p.location)
		}
	})

	t.Run("expired_session", func(t *testing.T) {
		app := newTestApp(t, testdb.SQLite)
		b := app.as(t, "it.officer")
		b.get("/drafts").must(t, http.StatusOK)
		app.clock.Advance(20 * time.Minute)
		p := b.get("/drafts").must(t, http.StatusSeeOther)
		if p.location != "/login?expired=1&next=%2Fdrafts" {
			t.Errorf("redirect to %q", p.location)
		}
		b.get(p.location).has(t, "Your session has ended")
	})

	t.Run("renewed_past_half_life", func(t *testing.T) {
		app := newTestApp(t, testdb.SQLite)
		b := app.as(t, "it.officer")
		first := b.cookie("mla_session")
		app.clock.Advance(10 * time.Minute)
		b.get("/").must(t, http.StatusOK)
		renewed := b.cookie("mla_session")
		if renewed == first {
			t.Fatalf("session not renewed after 10 of 15 minutes")
		}
		app.clock.Advance(10 * time.Minute) // 20 minutes after log-in
		b.get("/").must(t, http.StatusOK)
		// The renewed token is of the same session: logging out ends it.
		b.post("/logout", nil).must(t, http.StatusSeeOther)
		if _, err := app.auth.Authenticate(context.Background(), renewed); workflow.ErrorCode(err) != workflow.ErrUnauthenticated {
			t.Fatalf("a renewed token outlives the log-out: %v", err)
		}
	})

	t.Run("ends_with_the_refresh_lifetime", func(t *testing.T) {
		app := newTestApp(t, testdb.SQLite)
		b := app.as(t, "it.officer")
		// Busy all day: a click every ten minutes keeps the session...
		for elapsed := time.Duration(0); elapsed < 7*time.Hour+50*time.Minute; elapsed += 10 * time.Minute {
			app.clock.Advance(10 * time.Minute)
			b.get("/").must(t, http.StatusOK)
		}
		// ...until the refresh lifetime after the log-in has passed.
		app.clock.Advance(11 * time.Minute)
		b.get("/").must(t, http.StatusSeeOther)
	})

	t.Run("disabled_user_is_out_at_once", func(t *testing.T) {
		officer := app.as(t, "ng.officer")
		officer.get("/").must(t, http.StatusOK)
		admin := app.as(t, "admin")
		id := app.actor(t, "ng.officer").UserID
		admin.post("/users/"+id+"/status", url.Values{"disabled": {"true"}}).must(t, http.StatusSeeOther)
		officer.get("/").must(t, http.StatusSeeOther)
	})

	t.Run("post_without_session_returns_to_the_form_page", func(t *testing.T) {
		b := app.browser(t)
		req, _ := http.NewRequest(http.MethodPost, app.srv.URL+"/requests/new", strings.NewReader("kind=mla"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Referer", app.srv.URL+"/requests/new?kind=mla")
		p := b.do(req).must(t, http.StatusSeeOther)
		if p.location != "/login?next=%2Frequests%2Fnew%3Fkind%3Dmla" {
			t.Errorf("redirect to %q", p.location)
		}
	})
}
