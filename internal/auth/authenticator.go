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

// UserStore is what authentication needs from persistence; internal/store
// implements it.
type UserStore interface {
	// UserByUsername reads a user; an *workflow.Error with ErrNotFound
	// when none.
	UserByUsername(ctx context.Context, username string) (workflow.User, error)
	// UserByID reads a user; an *workflow.Error with ErrNotFound when none.
	UserByID(ctx context.Context, id string) (workflow.User, error)
	// CreateUser inserts the user and its audit record in one transaction;
	// ErrConflict when the username is taken, a validation error on
	// "authority" when the authority does not exist.
	CreateUser(ctx context.Context, u workflow.User, rec workflow.AuditRecord) error
	// RecordAudit appends one record to the audit log in its own
	// transaction.
	RecordAudit(ctx context.Context, rec workflow.AuditRecord) error
	// UpdateUser writes the user and its audit record in one transaction;
	// ErrNotFound when there is no such user.
	UpdateUser(ctx context.Context, u workflow.User, rec workflow.AuditRecord) error
	// ListUsers lists every account.
	ListUsers(ctx context.Context) ([]workflow.User, error)
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

// badToken is the answer to a token that is missing, malformed, forged,
// expired or names a user who cannot sign in any more.
var badToken = workflow.Errorf(workflow.ErrUnauthenticated, "missing, invalid or expired access token")

// Authenticator signs users in, turns tokens back into users, and creates
// accounts.
type Authenticator struct {
	policy  Policy
	users   UserStore
	tokens  *Tokens
	hasher  Hasher
	now     func() time.Time
	logger  *slog.Logger
	limits  Limits
	limiter *limiter
	// dummyHash is checked when the username is unknown, so that an
	// unknown user costs as much time as a wrong password and timing does
	// not reveal which usernames exist.
	dummyHash string
}

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithLimits replaces DefaultLimits of the log-in throttle. Every number
// must be positive.
func WithLimits(l Limits) Option {
	return func(a *Authenticator) { a.limits = l }
}

// NewAuthenticator returns an authenticator over the user store. now (nil
// means time.Now) stamps the audit records and drives the throttle; the
// tokens keep their own clock. Missing dependencies or non-positive limits
// are wiring mistakes and panic.
func NewAuthenticator(users UserStore, tokens *Tokens, hasher Hasher, now func() time.Time, logger *slog.Logger, opts ...Option) *Authenticator {
	if users == nil || tokens == nil {
		panic("auth.NewAuthenticator: a user store and tokens are required")
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{policy: NewPolicy(), users: users, tokens: tokens, hasher: hasher, now: now, logger: logger, limits: DefaultLimits}
	for _, o := range opts {
		o(a)
	}
	lim, err := newLimiter(a.limits, now)
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

// Login checks a username and password and returns an access token, its
// lifetime and the user. Every failure is the same ErrUnauthenticated error;
// too many failures give a *RateLimitError. Every attempt, allowed or not,
// is written to the audit log, without the password.
func (a *Authenticator) Login(ctx context.Context, username, password, clientIP string) (string, time.Duration, workflow.User, error) {
	name := normalizeUsername(username)
	rec := workflow.AuditRecord{Actor: name, Action: ActionLogin, Outcome: workflow.OutcomeDenied}
	if clientIP != "" {
		rec.Details = map[string]any{"client_ip": clientIP}
	}
	deny := func(reason string, err error) (string, time.Duration, workflow.User, error) {
		if rec.Details == nil {
			rec.Details = map[string]any{}
		}
		rec.Details["reason"] = reason
		a.record(ctx, rec)
		return "", 0, workflow.User{}, err
	}

	if wait := a.limiter.wait(name, clientIP); wait > 0 {
		return deny("rate_limited", newRateLimitError(wait))
	}

	u, known, err := a.lookup(ctx, name)
	if err != nil {
		return "", 0, workflow.User{}, err
	}
	hash := a.dummyHash
	if known {
		hash = u.PasswordHash
		rec.Authority = u.Authority
	}
	// Always run bcrypt, even for an unknown user, before deciding.
	matches := a.hasher.Check(hash, password)
	switch {
	case !known:
		a.limiter.fail(name, clientIP)
		return deny("unknown_user", wrongCredentials)
	case !matches:
		a.limiter.fail(name, clientIP)
		return deny("wrong_password", wrongCredentials)
	case u.Disabled:
		// Counted too: a disabled account is still a target worth
		// throttling, and not counting it would tell it apart.
		a.limiter.fail(name, clientIP)
		return deny("disabled", wrongCredentials)
	}

	token, lifetime, err := a.tokens.Issue(u.ID)
	if err != nil {
		return "", 0, workflow.User{}, err
	}
	rec.Actor, rec.Outcome = u.Username, workflow.OutcomeOK
	rec.At = a.now().UTC()
	// Fail closed: a log-in that cannot be recorded does not happen.
	if err := a.users.RecordAudit(ctx, rec); err != nil {
		return "", 0, workflow.User{}, fmt.Errorf("record log-in: %w", err)
	}
	a.limiter.succeed(name)
	return token, lifetime, u, nil
}

// lookup finds a user by normalised username; known is false when none.
func (a *Authenticator) lookup(ctx context.Context, name string) (workflow.User, bool, error) {
	if !validUsername(name) {
		// Not a name any account can have: no need to ask the store.
		return workflow.User{}, false, nil
	}
	u, err := a.users.UserByUsername(ctx, name)
	switch {
	case err == nil:
		return u, true, nil
	case workflow.ErrorCode(err) == workflow.ErrNotFound:
		return workflow.User{}, false, nil
	default:
		return workflow.User{}, false, fmt.Errorf("load user: %w", err)
	}
}

// record writes the audit record of a refused log-in. The refusal stands
// whether or not it could be recorded, so a failure is only logged.
func (a *Authenticator) record(ctx context.Context, rec workflow.AuditRecord) {
	rec.At = a.now().UTC()
	if err := a.users.RecordAudit(context.WithoutCancel(ctx), rec); err != nil {
		a.logger.ErrorContext(ctx, "audit of a refused log-in failed", "action", rec.Action, "error", err)
	}
}

// Authenticate verifies a bearer token and loads its user. A user who is
// unknown or disabled is refused, so disabling an account takes effect at
// once rather than when its tokens expire.
func (a *Authenticator) Authenticate(ctx context.Context, bearerToken string) (workflow.User, error) {
	id, err := a.tokens.Verify(bearerToken)
	if err != nil {
		return workflow.User{}, badToken
	}
	u, err := a.users.UserByID(ctx, id)
	switch {
	case workflow.ErrorCode(err) == workflow.ErrNotFound:
		return workflow.User{}, badToken
	case err != nil:
		return workflow.User{}, fmt.Errorf("load user: %w", err)
	case u.Disabled:
		return workflow.User{}, badToken
	}
	return u, nil
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
// command line and the demo seed, which run with the operator's authority
// (whoever runs the server's commands holds its database already).
// Signed-in users go through CreateUser, which asks the Policy.
func (a *Authenticator) AddUser(ctx context.Context, by workflow.Actor, nu NewUser) (workflow.User, error) {
	u := workflow.User{
		ID:          workflow.NewID(),
		Username:    nu.Username,
		DisplayName: strings.TrimSpace(nu.DisplayName),
		Role:        nu.Role,
		Authority:   strings.ToUpper(strings.TrimSpace(nu.Authority)),
		CreatedAt:   a.now().UTC(),
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Username
	}
	if err := validateNewUser(u, nu.Password); err != nil {
		return workflow.User{}, err
	}
	hash, err := a.hasher.Hash(nu.Password)
	if err != nil {
		return workflow.User{}, err
	}
	u.PasswordHash = hash
	rec := workflow.AuditRecord{
		At: u.CreatedAt, Actor: by.Username, Authority: by.Authority,
		Action: ActionUserCreate, Outcome: workflow.OutcomeOK,
		Details: map[string]any{
			"user_id": u.ID, "username": u.Username, "role": u.Role, "authority": u.Authority,
		},
	}
	if err := a.users.CreateUser(ctx, u, rec); err != nil {
		return workflow.User{}, err
	}
	return u, nil
}

// validateNewUser checks an account before it is created and reports every
// problem at once.
func validateNewUser(u workflow.User, password string) error {
	fields := map[string]string{}
	if !validUsername(u.Username) {
		fields["username"] = fmt.Sprintf("must be %d to %d characters of a-z, 0-9, '.', '_' and '-'", MinUsername, MaxUsername)
	}
	checkDisplayName(fields, u.DisplayName)
	checkRole(fields, u)
	checkPassword(fields, password)
	if len(fields) == 0 {
		return nil
	}
	return &workflow.Error{Code: workflow.ErrValidation, Message: "the input is not valid", Fields: fields}
}

func checkDisplayName(fields map[string]string, name string) {
	if len([]rune(name)) > MaxDisplayName {
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

func checkPassword(fields map[string]string, password string) {
	var perr *workflow.Error
	if err := CheckPasswordRule(password); errors.As(err, &perr) {
		fields["password"] = perr.Fields["password"]
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
