package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// API keys (CONTRACT 8) are the credentials of other agencies' systems:
// each acts as a user of one role and one authority, without a password or
// a session. A key is "mla_" followed by 32 random bytes in unpadded
// base64url, so that the HTTP guard tells it from a JWT (which has dots and
// no such prefix) without trying both, and secret scanners can find one
// committed by mistake. Only its SHA-256 is stored: the key has 256 bits
// of entropy, so a fast hash is as good as bcrypt against a stolen table,
// and a lookup by the hash does not need the key's owner to be named.

// APIKeyPrefix starts every API key.
const APIKeyPrefix = "mla_"

// apiKeySecretBytes is the key's entropy; apiKeyLen its length as text.
const (
	apiKeySecretBytes = 32
	apiKeyLen         = len(APIKeyPrefix) + 43 // base64url of 32 bytes, unpadded
)

// The audited actions of API keys.
const (
	ActionAPIKeyCreate = "api_key.create"
	ActionAPIKeyRevoke = "api_key.revoke"
	// ActionAPIKeyUse records a refused use of a known key (expired,
	// revoked, throttled), at most once per key and throttle window. A use
	// that is let through is recorded by whatever it does: every audit
	// entry of the key's actions names it as actor (APIKeyActor).
	ActionAPIKeyUse = "api_key.use"
)

// APIKeyActorPrefix starts the actor name of an API key in the audit log:
// "key:" and the key's name. No username contains ':', so a key's entries
// are never taken for a person's.
const APIKeyActorPrefix = "key:"

// MaxAPIKeyLifetime bounds how far in the future a key may expire: a year.
// A system's credential that never expires is one nobody remembers to
// rotate; a year is a yearly rotation, a date an administrator can plan.
const MaxAPIKeyLifetime = 366 * 24 * time.Hour

// APIKeyLimit is the per-key throttle: at most Uses uses within each fixed
// Window. The count lives in the key's row, so servers on one database
// share it (CONTRACT 11).
type APIKeyLimit struct {
	Uses   int
	Window time.Duration
}

// DefaultAPIKeyLimit lets a key make 600 calls a minute (10 a second on
// average): far more than a case-management system synchronising its
// requests needs, and little enough that a leaked key cannot turn the API
// into a bulk export or load one server down.
var DefaultAPIKeyLimit = APIKeyLimit{Uses: 600, Window: time.Minute}

// WithAPIKeyLimit replaces DefaultAPIKeyLimit. Both numbers must be
// positive.
func WithAPIKeyLimit(l APIKeyLimit) Option { return func(a *Authenticator) { a.keyLimit = l } }

// APIKey is a stored API key: everything but the key itself, of which only
// its SHA-256 is kept.
type APIKey struct {
	ID        string
	Name      string
	Role      workflow.Role
	Authority string
	Hash      []byte // SHA-256 of the key
	CreatedAt time.Time
	CreatedBy string // the administrator's username
	ExpiresAt time.Time
	RevokedAt time.Time // zero while not revoked
	RevokedBy string
	// LastUsedAt is when the key was last presented, let through or not;
	// zero if never.
	LastUsedAt time.Time
}

// Status names the state of k at now: "active", "expired" or "revoked".
func (k APIKey) Status(now time.Time) string {
	switch {
	case !k.RevokedAt.IsZero():
		return "revoked"
	case !now.Before(k.ExpiresAt):
		return "expired"
	}
	return "active"
}

// Actor is the identity k acts as: a user of its role and authority, named
// "key:<name>" in every audit entry of what it does.
func (k APIKey) Actor() workflow.Actor { return k.user().Actor() }

func (k APIKey) user() workflow.User {
	return workflow.User{
		ID: k.ID, Username: APIKeyActorPrefix + k.Name, DisplayName: k.Name,
		Role: k.Role, Authority: k.Authority, CreatedAt: k.CreatedAt,
	}
}

// APIKeyStore keeps API keys; internal/store implements it. The
// Authenticator finds it on its Store, so that wiring stays one store.
type APIKeyStore interface {
	// CreateAPIKey inserts k and applies rec (its audit entry) in one
	// transaction; a validation error on "name" when the name is taken,
	// on "authority" when the authority does not exist.
	CreateAPIKey(ctx context.Context, k APIKey, rec workflow.Change) error
	// APIKeys lists every key, revoked and expired ones too, newest first.
	APIKeys(ctx context.Context) ([]APIKey, error)
	// APIKeyByID reads a key; ErrNotFound when none.
	APIKeyByID(ctx context.Context, id string) (APIKey, error)
	// APIKeyByHash reads the key whose SHA-256 is hash, from the database
	// (never a cache: a revocation on another server must count at once);
	// ErrNotFound when none.
	APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	// RevokeAPIKey marks the key revoked at at by by, and applies rec, in
	// one transaction, unless it is revoked already (then it reports
	// false and writes nothing); ErrNotFound when there is no such key.
	RevokeAPIKey(ctx context.Context, id string, at time.Time, by string, rec workflow.Change) (bool, error)
	// UseAPIKey counts one use of the key at at in the fixed window that
	// starts at window, and returns the window's count with this use; it
	// also records at as the key's last use. It is one atomic statement,
	// so uses on several servers are all counted.
	UseAPIKey(ctx context.Context, id string, at, window time.Time) (int, error)
}

var errNoAPIKeys = workflow.Errorf(workflow.ErrUnavailable, "this server's store keeps no API keys")

// apiKeys returns the store of keys, or nil.
func (a *Authenticator) apiKeys() APIKeyStore {
	ks, _ := a.store.(APIKeyStore)
	return ks
}

// IsAPIKey tells whether a bearer credential is shaped as an API key (by
// its prefix alone: whether it is a valid one is AuthenticateBearer's
// question).
func IsAPIKey(credential string) bool { return strings.HasPrefix(credential, APIKeyPrefix) }

// HashAPIKey is the stored form of a key: its SHA-256.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// newAPIKeySecret draws a new key.
func newAPIKeySecret() (string, error) {
	b := make([]byte, apiKeySecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("draw API key: %w", err)
	}
	return APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormedAPIKey tells whether key is exactly what newAPIKeySecret makes,
// so that nothing else reaches the database.
func wellFormedAPIKey(key string) bool {
	if len(key) != apiKeyLen || !IsAPIKey(key) {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(key[len(APIKeyPrefix):])
	return err == nil && len(b) == apiKeySecretBytes
}

// AuthenticateBearer turns the credential of an "Authorization: Bearer"
// header into the user it acts as: an API key (by its prefix) into the
// key's user, anything else through Authenticate as an access token. The
// API's guard calls it; the web pages' session cookie stays a token only
// (Authenticate), since keys are for systems, not browsers.
func (a *Authenticator) AuthenticateBearer(ctx context.Context, credential string) (workflow.User, error) {
	if IsAPIKey(credential) {
		return a.authenticateAPIKey(ctx, credential)
	}
	return a.Authenticate(ctx, credential)
}

// authenticateAPIKey checks an API key: known, its hash equal (compared in
// constant time; the lookup is by the hash of a 256-bit secret, whose
// timing tells nothing useful), not revoked, not expired, and within its
// throttle. The key is read from the database on every use, so a
// revocation is honoured by every server at its next request. A refusal of
// a known key is audited once per throttle window, so that a leaked or
// forgotten key still in use is seen, without a flood of entries.
func (a *Authenticator) authenticateAPIKey(ctx context.Context, key string) (workflow.User, error) {
	ks := a.apiKeys()
	if ks == nil || !wellFormedAPIKey(key) {
		return workflow.User{}, ErrBadToken
	}
	hash := HashAPIKey(key)
	k, err := ks.APIKeyByHash(ctx, hash)
	switch {
	case workflow.ErrorCode(err) == workflow.ErrNotFound:
		return workflow.User{}, ErrBadToken
	case err != nil:
		return workflow.User{}, fmt.Errorf("load API key: %w", err)
	case subtle.ConstantTimeCompare(k.Hash, hash) != 1:
		return workflow.User{}, ErrBadToken
	}
	now := a.now().UTC()
	window := now.Truncate(a.keyLimit.Window)
	uses, err := ks.UseAPIKey(ctx, k.ID, now, window)
	if err != nil {
		return workflow.User{}, fmt.Errorf("count API key use: %w", err)
	}
	refuse := func(reason string, err error) (workflow.User, error) {
		first := uses == 1
		if reason == "rate_limited" {
			first = uses == a.keyLimit.Uses+1
		}
		if first {
			a.record(ctx, workflow.Recorded(k.Actor(), now, ActionAPIKeyUse, workflow.OutcomeDenied,
				map[string]any{"key_id": k.ID, "reason": reason}))
		}
		return workflow.User{}, err
	}
	switch k.Status(now) {
	case "revoked":
		return refuse("revoked", ErrBadToken)
	case "expired":
		return refuse("expired", ErrBadToken)
	}
	if uses > a.keyLimit.Uses {
		return refuse("rate_limited", newKeyRateLimitError(window.Add(a.keyLimit.Window).Sub(now)))
	}
	return k.user(), nil
}

// newKeyRateLimitError refuses a key's use beyond its throttle.
func newKeyRateLimitError(retry time.Duration) *RateLimitError {
	return &RateLimitError{
		RetryAfter: retry,
		err:        workflow.Errorf(workflow.ErrRateLimited, "this API key made too many calls; try again in %d seconds", RetrySeconds(retry)),
	}
}

// NewAPIKey is a key to create. ExpiresAt is text as a client sends it: an
// RFC 3339 time, or a date (YYYY-MM-DD, the page's date field), which
// means 00:00 UTC of that day.
type NewAPIKey struct {
	Name      string
	Role      workflow.Role
	Authority string
	ExpiresAt string
}

// errNotKeyAdmin answers a signed-in user who may not manage API keys.
var errNotKeyAdmin = workflow.Errorf(workflow.ErrForbidden, "only the administrator manages API keys")

// CreateAPIKey creates a key on behalf of by, who must be allowed to manage
// keys (Policy.MayManageAPIKeys), and returns it with the key itself, which
// is never shown again: only its hash is kept. Its audit entry, in the
// same transaction, names the key but holds nothing of the secret. A
// refused attempt is audited too.
func (a *Authenticator) CreateAPIKey(ctx context.Context, by workflow.Actor, nk NewAPIKey) (APIKey, string, error) {
	now := a.now().UTC()
	deny := func(err error) (APIKey, string, error) {
		a.record(ctx, workflow.Denied(by, now, ActionAPIKeyCreate, "", workflow.ErrorCode(err),
			map[string]any{"name": normalizeUsername(nk.Name)}))
		return APIKey{}, "", err
	}
	if !a.policy.MayManageAPIKeys(by) {
		return deny(errNotKeyAdmin)
	}
	ks := a.apiKeys()
	if ks == nil {
		return APIKey{}, "", errNoAPIKeys
	}
	k := APIKey{
		ID: workflow.NewID(), Name: strings.TrimSpace(nk.Name), Role: nk.Role,
		Authority: strings.ToUpper(strings.TrimSpace(nk.Authority)), CreatedAt: now, CreatedBy: by.Username,
	}
	fields := map[string]string{}
	if !validUsername(k.Name) {
		fields["name"] = fmt.Sprintf("must be %d to %d characters of a-z, 0-9, '.', '_' and '-'", MinUsername, MaxUsername)
	}
	switch {
	case !k.Role.Valid():
		fields["role"] = "must be one of: officer, supervisor, auditor"
	case !a.policy.MayKeyActAs(k.Role):
		fields["role"] = "an API key cannot act as " + string(k.Role) + ": it must be one of officer, supervisor, auditor"
	case k.Role.NeedsAuthority() && k.Authority == "":
		fields["authority"] = "is required for role " + string(k.Role)
	}
	expires, problem := parseExpiry(nk.ExpiresAt, now)
	if problem != "" {
		fields["expires_at"] = problem
	}
	if len(fields) > 0 {
		return deny(workflow.InvalidFields(fields))
	}
	k.ExpiresAt = expires
	key, err := newAPIKeySecret()
	if err != nil {
		return APIKey{}, "", err
	}
	k.Hash = HashAPIKey(key)
	rec := workflow.Recorded(by, now, ActionAPIKeyCreate, workflow.OutcomeOK, map[string]any{
		"key_id": k.ID, "name": k.Name, "role": k.Role, "authority": k.Authority,
		"expires_at": k.ExpiresAt.Format(time.RFC3339),
	})
	if err := ks.CreateAPIKey(ctx, k, rec); err != nil {
		if workflow.ErrorCode(err) == workflow.ErrValidation {
			return deny(err)
		}
		return APIKey{}, "", err
	}
	return k, key, nil
}

// parseExpiry reads an expiry and checks that it is in the future and at
// most MaxAPIKeyLifetime away; problem says what is wrong.
func parseExpiry(s string, now time.Time) (time.Time, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, "is required"
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, s); err != nil {
			return time.Time{}, "must be an RFC 3339 time (2027-01-31T00:00:00Z) or a date (2027-01-31)"
		}
	}
	t = t.UTC().Truncate(time.Second)
	switch {
	case !t.After(now):
		return time.Time{}, "must be in the future"
	case t.Sub(now) > MaxAPIKeyLifetime:
		return time.Time{}, "must be at most a year ahead"
	}
	return t, ""
}

// ListAPIKeys lists every key, for the administrator: never the keys
// themselves, which are not kept.
func (a *Authenticator) ListAPIKeys(ctx context.Context, by workflow.Actor) ([]APIKey, error) {
	if !a.policy.MayManageAPIKeys(by) {
		return nil, errNotKeyAdmin
	}
	ks := a.apiKeys()
	if ks == nil {
		return nil, errNoAPIKeys
	}
	return ks.APIKeys(ctx)
}

// RevokeAPIKey revokes a key on behalf of by, who must be allowed to manage
// keys: from its next use on, on every server, it is refused. Revoking a
// key revoked already changes and records nothing. A refused attempt is
// audited.
func (a *Authenticator) RevokeAPIKey(ctx context.Context, by workflow.Actor, id string) (APIKey, error) {
	now := a.now().UTC()
	if !a.policy.MayManageAPIKeys(by) {
		a.record(ctx, workflow.Denied(by, now, ActionAPIKeyRevoke, "", workflow.ErrForbidden,
			map[string]any{"key_id": truncateID(id)}))
		return APIKey{}, errNotKeyAdmin
	}
	ks := a.apiKeys()
	if ks == nil {
		return APIKey{}, errNoAPIKeys
	}
	k, err := ks.APIKeyByID(ctx, id)
	if err != nil {
		if workflow.ErrorCode(err) == workflow.ErrNotFound {
			return APIKey{}, workflow.Errorf(workflow.ErrNotFound, "API key not found")
		}
		return APIKey{}, err
	}
	rec := workflow.Recorded(by, now, ActionAPIKeyRevoke, workflow.OutcomeOK, map[string]any{
		"key_id": k.ID, "name": k.Name, "role": k.Role, "authority": k.Authority,
	})
	revoked, err := ks.RevokeAPIKey(ctx, k.ID, now, by.Username, rec)
	if err != nil {
		return APIKey{}, err
	}
	if revoked {
		k.RevokedAt, k.RevokedBy = now, by.Username
	}
	return k, nil
}

// truncateID bounds an id a client sent before it is recorded.
func truncateID(id string) string {
	if len(id) > maxActorName {
		return id[:maxActorName]
	}
	return id
}

// Now is the Authenticator's clock, in UTC: what a key's status is told
// against.
func (a *Authenticator) Now() time.Time { return a.now().UTC() }
