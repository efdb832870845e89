package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// UserStore is what authentication needs from persistence for accounts;
// internal/store implements it.
type UserStore interface {
	// UserByUsername reads a user; an *workflow.Error with ErrNotFound
	// when none.
	UserByUsername(ctx context.Context, username string) (workflow.User, error)
	// UserByID reads a user; an *workflow.Error with ErrNotFound when none.
	UserByID(ctx context.Context, id string) (workflow.User, error)
	// CreateUser inserts the user and its audit record in one transaction;
	// ErrConflict when the username is taken, a validation error on
	// "authority" when the authority does not exist.
	CreateUser(ctx context.Context, u workflow.User, rec workflow.Change) error
	// RecordAudit appends one record to the audit log in its own
	// transaction.
	RecordAudit(ctx context.Context, rec workflow.Change) error
	// ListUsers lists every account.
	ListUsers(ctx context.Context) ([]workflow.User, error)
}

// Store is everything the Authenticator keeps: accounts, sessions and
// refresh tokens. internal/store implements it.
type Store interface {
	UserStore
	SessionStore
	LoginEvents
}

// The audited actions of this package.
const (
	ActionLogin      = "auth.login"
	ActionUserCreate = "user.create"
	ActionUserUpdate = "user.update"
)

// maxActorName bounds the name recorded for a log-in attempt: whatever a
// client sends as a username ends up in the audit log.
const maxActorName = 64

// wrongCredentials is the one answer to every failed log-in, so that it
// does not tell whether the username exists or the account is disabled.
var wrongCredentials = workflow.Errorf(workflow.ErrUnauthenticated, "wrong username or password")

// ErrBadToken is the answer to a token that is missing, malformed, forged,
// expired or names a user who cannot sign in any more; the HTTP layers
// answer it to a call without one, too.
var ErrBadToken = workflow.Errorf(workflow.ErrUnauthenticated, "missing, invalid or expired access token")

// Authenticator signs users in, turns tokens back into users, keeps their
// sessions, and creates accounts.
type Authenticator struct {
	policy          Policy
	store           Store
	tokens          *Tokens
	hasher          Hasher
	now             func() time.Time
	logger          *slog.Logger
	limits          Limits
	limiter         *limiter
	refreshLifetime time.Duration
	keyLimit        APIKeyLimit
	// refreshPrefix starts every refresh token it issues, and must start
	// every one it takes: "" live, a world's name in a world (WithWorld).
	refreshPrefix string
	// dummyHash is checked when the username is unknown, so that an
	// unknown user costs as much time as a wrong password and timing does
	// not reveal which usernames exist.
	dummyHash string
}

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithPolicy makes the Authenticator decide who may manage accounts by p,
// the one Policy the server also gives its workflow service and pages.
func WithPolicy(p Policy) Option { return func(a *Authenticator) { a.policy = p } }

// WithLimits replaces DefaultLimits of the log-in throttle. Every number
// must be positive.
func WithLimits(l Limits) Option {
	return func(a *Authenticator) { a.limits = l }
}

// WithRefreshLifetime replaces DefaultRefreshLifetime, how long a refresh
// token is valid. It must be longer than the access tokens' lifetime.
func WithRefreshLifetime(d time.Duration) Option {
	return func(a *Authenticator) { a.refreshLifetime = d }
}

// NewAuthenticator returns an authenticator over the store. now (nil means
// time.Now) stamps the audit records, the sessions and drives the throttle;
// the tokens keep their own clock. Missing dependencies, non-positive limits
// or a refresh lifetime not longer than the tokens' are wiring mistakes and
// panic.
func NewAuthenticator(st Store, tokens *Tokens, hasher Hasher, now func() time.Time, logger *slog.Logger, opts ...Option) *Authenticator {
	if st == nil || tokens == nil {
		panic("auth.NewAuthenticator: a store and tokens are required")
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{
		policy: NewPolicy(), store: st, tokens: tokens, hasher: hasher, now: now, logger: logger,
		limits: DefaultLimits, refreshLifetime: DefaultRefreshLifetime, keyLimit: DefaultAPIKeyLimit,
	}
	for _, o := range opts {
		o(a)
	}
	if a.refreshLifetime <= tokens.Lifetime() {
		panic(fmt.Sprintf("auth.NewAuthenticator: the refresh lifetime %s must be longer than the token lifetime %s",
			a.refreshLifetime, tokens.Lifetime()))
	}
	if a.keyLimit.Uses <= 0 || a.keyLimit.Window <= 0 {
		panic(fmt.Sprintf("auth.NewAuthenticator: the API key limit must be positive: %+v", a.keyLimit))
	}
	lim, err := newLimiter(st, a.limits, now)
	if err != nil {
		panic("auth.NewAuthenticator: " + err.Error())
	}
	a.limiter = lim
	// A fixed short password under bcrypt's limit cannot fail to hash.
	if a.dummyHash, err = hasher.Hash("not a password: timing equaliser"); err != nil {
		panic("auth.NewAuthenticator: " + err.Error())
	}
	return a
}

// errPasswordChange answers the right temporary password given without a
// new one.
var errPasswordChange = &workflow.Error{
	Code:    workflow.ErrPasswordChange,
	Message: "this password was set by the administrator and must be replaced: log in again with a new password",
	Fields:  map[string]string{"new_password": "is required"},
}

// Login checks a username and password, starts a session and returns its
// access and refresh tokens and the user. Every failure is the same
// ErrUnauthenticated error; too many failures give a *RateLimitError; a
// temporary password (see workflow.User.PasswordTemporary) gives
// ErrPasswordChange: LoginReplacing must replace it. Every attempt, allowed
// or not, is written to the audit log, without the password; a successful
// one in the transaction that starts the session.
func (a *Authenticator) Login(ctx context.Context, username, password, clientIP string) (Grant, error) {
	return a.LoginReplacing(ctx, username, password, "", clientIP)
}

// LoginReplacing is Login that also replaces the password with newPassword
// (none when empty), in the transaction that starts the session, which is
// how a user replaces a temporary password. The new password must pass the
// policy and differ from the old one; the user's other sessions are
// revoked, and the log-in's audit record says that the password changed.
func (a *Authenticator) LoginReplacing(ctx context.Context, username, password, newPassword, clientIP string) (Grant, error) {
	name := normalizeUsername(username)
	rec := workflow.Recorded(workflow.Actor{Username: name}, time.Time{}, ActionLogin, workflow.OutcomeDenied, nil)
	if clientIP != "" {
		rec.Details = map[string]any{"client_ip": clientIP}
	}
	deny := func(reason string, err error) (Grant, error) {
		if rec.Details == nil {
			rec.Details = map[string]any{}
		}
		rec.Details["reason"] = reason
		a.record(ctx, rec)
		return Grant{}, err
	}

	wait, err := a.limiter.wait(ctx, name, clientIP)
	if err != nil {
		return Grant{}, err
	}
	if wait > 0 {
		return deny("rate_limited", newRateLimitError(wait))
	}

	u, known, err := a.lookup(ctx, name)
	if err != nil {
		return Grant{}, err
	}
	hash := a.dummyHash
	if known {
		hash = u.PasswordHash
		rec.Authority = u.Authority
	}
	// Always run bcrypt, even for an unknown user, before deciding.
	matches := a.hasher.Check(hash, password)
	failed := func(reason string) (Grant, error) {
		if err := a.limiter.fail(ctx, name, clientIP); err != nil {
			return Grant{}, err
		}
		return deny(reason, wrongCredentials)
	}
	switch {
	case !known:
		return failed("unknown_user")
	case !matches:
		return failed("wrong_password")
	case u.Disabled:
		// Counted too: a disabled account is still a target worth
		// throttling, and not counting it would tell it apart.
		return failed("disabled")
	}

	// The password is right from here on: no failure is counted.
	var change func(SessionTx) error
	switch {
	case newPassword != "":
		if change, err = a.replacePassword(ctx, &u, password, newPassword); err != nil {
			return deny("new_password_refused", err)
		}
		if rec.Details == nil {
			rec.Details = map[string]any{}
		}
		rec.Details["password_changed"] = true
	case u.PasswordTemporary:
		return deny("password_change_required", errPasswordChange)
	}

	rec.Actor, rec.Outcome = u.Username, workflow.OutcomeOK
	g, err := a.startSession(ctx, u, rec, change)
	if err != nil {
		return Grant{}, err
	}
	if err := a.limiter.succeed(ctx, name, clientIP); err != nil {
		// The session is started and audited; the user must have it. The
		// pair's failures stay counted until they leave the window.
		a.logger.Warn("log-in throttle: success not recorded", "err", err)
	}
	return g, nil
}

// replacePassword gives u the new password, no longer temporary, and
// returns what the log-in's transaction must also write: the user, and the
// revocation of the user's other sessions, since whoever knew the old
// password may hold one.
func (a *Authenticator) replacePassword(ctx context.Context, u *workflow.User, old, newPassword string) (func(SessionTx) error, error) {
	fields := map[string]string{}
	checkPassword(fields, "new_password", newPassword, u.Username)
	if newPassword == old {
		fields["new_password"] = "must differ from the current password"
	}
	if len(fields) > 0 {
		return nil, workflow.InvalidFields(fields)
	}
	hash, err := a.hasher.Hash(newPassword)
	if err != nil {
		return nil, err
	}
	u.PasswordHash, u.PasswordTemporary = hash, false
	changed := *u
	return func(tx SessionTx) error {
		if err := tx.UpdateUser(ctx, changed); err != nil {
			return err
		}
		_, err := revokeUserSessions(ctx, tx, changed.ID, a.now().UTC(), RevokedPasswordChange)
		return err
	}, nil
}

// lookup finds a user by normalised username; known is false when none.
func (a *Authenticator) lookup(ctx context.Context, name string) (workflow.User, bool, error) {
	if !validUsername(name) {
		// Not a name any account can have: no need to ask the store.
		return workflow.User{}, false, nil
	}
	u, err := a.store.UserByUsername(ctx, name)
	switch {
	case err == nil:
		return u, true, nil
	case workflow.ErrorCode(err) == workflow.ErrNotFound:
		return workflow.User{}, false, nil
	default:
		return workflow.User{}, false, fmt.Errorf("load user: %w", err)
	}
}

// record writes the audit record of a refused attempt. The refusal stands
// whether or not it could be recorded, so a failure is only logged.
func (a *Authenticator) record(ctx context.Context, rec workflow.Change) {
	rec.At = a.now().UTC()
	if err := a.store.RecordAudit(context.WithoutCancel(ctx), rec); err != nil {
		a.logger.ErrorContext(ctx, "audit of a refused attempt failed", "action", rec.Action, "error", err)
	}
}

// Authenticate verifies a bearer token and loads its user and session, in
// one lookup. A token without a session, of a session that was revoked or
// has expired, or of a user who is unknown or disabled is refused, so a
// log-out or disabling an account takes effect at once rather than when the
// token expires.
func (a *Authenticator) Authenticate(ctx context.Context, bearerToken string) (workflow.User, error) {
	u, _, err := a.authenticate(ctx, bearerToken)
	return u, err
}

func (a *Authenticator) authenticate(ctx context.Context, bearerToken string) (workflow.User, Session, error) {
	c, err := a.tokens.Verify(ctx, bearerToken)
	if err != nil || c.SessionID == "" {
		return workflow.User{}, Session{}, ErrBadToken
	}
	u, s, err := a.store.SessionUser(ctx, c.UserID, c.SessionID)
	switch {
	case workflow.ErrorCode(err) == workflow.ErrNotFound:
		return workflow.User{}, Session{}, ErrBadToken
	case err != nil:
		return workflow.User{}, Session{}, fmt.Errorf("load session: %w", err)
	case u.Disabled, s.Revoked(), s.UserID != u.ID, !a.now().Before(s.ExpiresAt):
		return workflow.User{}, Session{}, ErrBadToken
	}
	return u, s, nil
}

// NewUser is an account to create.
type NewUser struct {
	Username    string
	DisplayName string
	Role        workflow.Role
	Authority   string
	Password    string
}

// Limits of an account's names.
const (
	MinUsername    = 3
	MaxUsername    = 64
	MaxDisplayName = 200
)

// AddUser validates and creates an account on behalf of by, and audits it
// in the same transaction. It decides no permission: its callers are the
// command line and CreateUser, which asks the Policy first (whoever runs the
// server's commands holds its database already). The password must pass
// CheckPasswordRule.
func (a *Authenticator) AddUser(ctx context.Context, by workflow.Actor, nu NewUser) (workflow.User, error) {
	return a.addUser(ctx, by, nu, newAccount{passwordPolicy: true})
}

// newAccount are the rules addUser applies to the account it creates.
type newAccount struct {
	// passwordPolicy applies CheckPasswordRule (all but the demo world).
	passwordPolicy bool
	// temporary makes the first password temporary (see
	// workflow.User.PasswordTemporary): the administrator chose it.
	temporary bool
}

// AddDemoUser is AddUser for the demo world's seed (internal/demo), the one
// place that sets a password the policy refuses: the contract fixes every
// demo user's password as "demo-pass" (CONTRACT.md section 2), which is
// public anyway, so a demo database must never hold real cases. The rest
// of the account's rules apply, and the audit record says that the
// password policy was not applied.
func (a *Authenticator) AddDemoUser(ctx context.Context, by workflow.Actor, nu NewUser) (workflow.User, error) {
	return a.addUser(ctx, by, nu, newAccount{})
}

func (a *Authenticator) addUser(ctx context.Context, by workflow.Actor, nu NewUser, rules newAccount) (workflow.User, error) {
	u := workflow.User{
		ID:                workflow.NewID(),
		Username:          nu.Username,
		DisplayName:       strings.TrimSpace(nu.DisplayName),
		Role:              nu.Role,
		Authority:         strings.ToUpper(strings.TrimSpace(nu.Authority)),
		PasswordTemporary: rules.temporary,
		CreatedAt:         a.now().UTC(),
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Username
	}
	if err := validateNewUser(u, nu.Password, rules.passwordPolicy); err != nil {
		return workflow.User{}, err
	}
	hash, err := a.hasher.Hash(nu.Password)
	if err != nil {
		return workflow.User{}, err
	}
	u.PasswordHash = hash
	rec := workflow.Recorded(by, u.CreatedAt, ActionUserCreate, workflow.OutcomeOK, map[string]any{
		"user_id": u.ID, "username": u.Username, "role": u.Role, "authority": u.Authority,
		"password_temporary": u.PasswordTemporary,
	})
	if !rules.passwordPolicy {
		rec.Details["password_policy"] = "not applied: demo account"
	}
	if err := a.store.CreateUser(ctx, u, rec); err != nil {
		return workflow.User{}, err
	}
	return u, nil
}

// validateNewUser checks an account before it is created and reports every
// problem at once. Without passwordPolicy the password only has to be one
// bcrypt can hash whole.
func validateNewUser(u workflow.User, password string, passwordPolicy bool) error {
	fields := map[string]string{}
	if !validUsername(u.Username) {
		fields["username"] = fmt.Sprintf("must be %d to %d characters of a-z, 0-9, '.', '_' and '-'", MinUsername, MaxUsername)
	}
	checkDisplayName(fields, u.DisplayName)
	checkRole(fields, u)
	switch {
	case passwordPolicy:
		checkPassword(fields, "password", password, u.Username)
	case password == "":
		fields["password"] = "is required"
	case len(password) > MaxPasswordBytes:
		fields["password"] = fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes)
	}
	if len(fields) == 0 {
		return nil
	}
	return workflow.InvalidFields(fields)
}

func checkDisplayName(fields map[string]string, name string) {
	if p := workflow.TextProblem(name); p != "" {
		fields["display_name"] = p
	} else if len([]rune(name)) > MaxDisplayName {
		fields["display_name"] = fmt.Sprintf("must be at most %d characters", MaxDisplayName)
	}
}

// checkRole checks that the role exists and that the user belongs to an
// authority exactly when the role works on an authority's cases.
func checkRole(fields map[string]string, u workflow.User) {
	switch {
	case !u.Role.Valid():
		fields["role"] = "must be one of: officer, supervisor, auditor, admin, trainer"
	case u.Role.NeedsAuthority() && u.Authority == "":
		fields["authority"] = "is required for role " + string(u.Role)
	case !u.Role.NeedsAuthority() && u.Authority != "":
		fields["authority"] = "must be empty for role " + string(u.Role)
	}
}

// checkPassword puts what CheckPasswordRule finds wrong with password
// under field: "password", or "new_password" for a replacement at log-in.
func checkPassword(fields map[string]string, field, password, username string) {
	var perr *workflow.Error
	if err := CheckPasswordRule(password, username); errors.As(err, &perr) {
		fields[field] = perr.Fields["password"]
	}
}

// validUsername reports whether name is MinUsername..MaxUsername characters
// of [a-z0-9._-]: safe in URLs, logs and audit records, and with no
// look-alike letters.
func validUsername(name string) bool {
	if len(name) < MinUsername || len(name) > MaxUsername {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// normalizeUsername turns what a client typed into the name looked up and
// recorded: trimmed, lower-cased (usernames are lower case, so "IT.Officer"
// finds it.officer) and cut to maxActorName characters.
func normalizeUsername(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if r := []rune(s); len(r) > maxActorName {
		s = string(r[:maxActorName])
	}
	return s
}
