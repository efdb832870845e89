package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The audit actions of the webhooks' own commands.
const (
	ActionCreate = "webhook.create"
	ActionDelete = "webhook.delete"
	ActionRetry  = "webhook.retry"
)

// SecretPrefix starts a signing secret as Standard Webhooks writes it:
// whsec_ then the secret's bytes in base64.
const SecretPrefix = "whsec_"

// secretBytes is the length of a new secret: the specification asks for
// 24 to 64 bytes.
const secretBytes = 32

// maxEvents bounds the list a subscription filters by.
const maxEvents = 64

// Actions are the audit actions a subscription may ask for: those of the
// changes that write an outbox message, the drafting and editing of a
// request and every event of the one table.
func Actions() []string {
	out := []string{workflow.ActionCreate, workflow.ActionUpdate}
	for _, t := range workflow.Table {
		if a := workflow.EventAction(t.Event); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Service manages the subscriptions: every door (API, pages) goes through
// it, and its Policy decides who may.
type Service struct {
	store        Store
	policy       Policy
	now          func() time.Time
	allowPrivate bool
	resolver     Resolver
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock of the service's times.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// AllowPrivate lets subscriptions name loopback and private destinations
// (--webhook-allow-private): for a receiver inside the operator's own
// network, and for tests.
func AllowPrivate(allow bool) Option { return func(s *Service) { s.allowPrivate = allow } }

// WithResolver sets how destination names are resolved at creation.
func WithResolver(r Resolver) Option { return func(s *Service) { s.resolver = r } }

// NewService returns the service over store under policy.
func NewService(store Store, policy Policy, opts ...Option) *Service {
	s := &Service{store: store, policy: policy, now: time.Now, resolver: defaultResolver}
	for _, o := range opts {
		o(s)
	}
	return s
}

// AllowsPrivate tells whether private destinations are allowed.
func (s *Service) AllowsPrivate() bool { return s.allowPrivate }

// NewSubscription is what a caller asks for: a destination, the actions
// it wants, and, for the administrator, whose authority it is for (a
// supervisor's is always their own).
type NewSubscription struct {
	URL       string
	Events    []string
	Authority string
}

// Created is a new subscription with its secret, shown this once.
type Created struct {
	Subscription
	Secret string // whsec_BASE64
}

var errNotManager = workflow.Errorf(workflow.ErrForbidden, "only a supervisor of the authority, or the administrator, manages its webhooks")

// authorityOf is the authority a's command is about: its own, or the one
// the administrator names.
func authorityOf(a workflow.Actor, named string) string {
	if a.Authority != "" {
		return a.Authority
	}
	return strings.ToUpper(strings.TrimSpace(named))
}

// Create subscribes the authority to the actions of in.Events at in.URL:
// a supervisor for their own authority, the administrator for the
// authority named. The destination is checked (CheckDestination); the
// secret is made here, kept sealed by the store, and returned this once.
func (s *Service) Create(ctx context.Context, a workflow.Actor, in NewSubscription) (Created, error) {
	authority := authorityOf(a, in.Authority)
	details := map[string]any{"authority": truncate(authority, 8)}
	if a.Authority != "" && in.Authority != "" && !strings.EqualFold(strings.TrimSpace(in.Authority), a.Authority) {
		return Created{}, s.denied(ctx, a, ActionCreate, errNotManager, details)
	}
	if !s.policy.MayManageWebhooks(a, authority) {
		return Created{}, s.denied(ctx, a, ActionCreate, errNotManager, details)
	}
	fields := map[string]string{}
	if authority == "" {
		fields["authority"] = "is required: the authority whose requests the webhook reports"
	}
	events, reason := checkEvents(in.Events)
	if reason != "" {
		fields["events"] = reason
	}
	u, reason := CheckDestination(ctx, in.URL, s.allowPrivate, s.resolver)
	if reason != "" {
		fields["url"] = reason
	}
	if len(fields) > 0 {
		return Created{}, s.denied(ctx, a, ActionCreate, workflow.InvalidFields(fields), details)
	}
	secret := make([]byte, secretBytes)
	if _, err := rand.Read(secret); err != nil {
		return Created{}, err
	}
	now := s.now().UTC()
	sub := Subscription{
		ID: workflow.NewIDAt(now), Authority: authority, URL: u.String(), Events: events,
		CreatedBy: a.Username, CreatedAt: now,
	}
	details["webhook_id"], details["url_host"], details["events"] = sub.ID, u.Host, events
	c := workflow.Recorded(a, now, ActionCreate, workflow.OutcomeOK, details)
	if err := s.store.CreateWebhook(ctx, sub, secret, c); err != nil {
		if workflow.ErrorCode(err) == workflow.ErrNotFound {
			return Created{}, s.denied(ctx, a, ActionCreate, workflow.Invalid("authority", "no such authority"), details)
		}
		return Created{}, err
	}
	return Created{Subscription: sub, Secret: SecretPrefix + base64.StdEncoding.EncodeToString(secret)}, nil
}

// checkEvents returns the actions a subscription asked for, without
// repeats, and what is wrong with them.
func checkEvents(in []string) ([]string, string) {
	if len(in) == 0 {
		return nil, `is required: audit actions such as "request.send", or "*" for all`
	}
	if len(in) > maxEvents {
		return nil, "too many"
	}
	known := Actions()
	var out []string
	for _, e := range in {
		e = strings.TrimSpace(e)
		if e != AllEvents && !slices.Contains(known, e) {
			return nil, "unknown action " + quoteShort(e) + "; known: * " + strings.Join(known, " ")
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if slices.Contains(out, AllEvents) {
		out = []string{AllEvents}
	}
	return out, ""
}

func quoteShort(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return `"` + s + `"`
}

// List lists the subscriptions a may manage: a supervisor's authority's,
// every authority's for the administrator (or the one named).
func (s *Service) List(ctx context.Context, a workflow.Actor, authority string) ([]Subscription, error) {
	if a.Authority != "" && authority != "" && !strings.EqualFold(strings.TrimSpace(authority), a.Authority) {
		return nil, errNotManager
	}
	authority = authorityOf(a, authority)
	if a.Authority == "" && authority == "" {
		if !s.policy.MayManageWebhooks(a, "") {
			return nil, errNotManager
		}
		return s.store.Webhooks(ctx, "")
	}
	if !s.policy.MayManageWebhooks(a, authority) {
		return nil, errNotManager
	}
	return s.store.Webhooks(ctx, authority)
}

// Get reads one subscription a may manage; ErrNotFound also for one of
// another authority, whose existence is not a's business.
func (s *Service) Get(ctx context.Context, a workflow.Actor, id string) (Subscription, error) {
	sub, err := s.store.Webhook(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	if !s.policy.MayManageWebhooks(a, sub.Authority) {
		if a.Authority != "" && a.Authority == sub.Authority {
			return Subscription{}, errNotManager // its own authority's: it may know it exists
		}
		return Subscription{}, errWebhookNotFound
	}
	return sub, nil
}

var errWebhookNotFound = workflow.Errorf(workflow.ErrNotFound, "webhook not found")

// Delete ends a subscription: nothing more is sent to it.
func (s *Service) Delete(ctx context.Context, a workflow.Actor, id string) error {
	sub, err := s.Get(ctx, a, id)
	if err != nil {
		if workflow.ErrorCode(err) == workflow.ErrForbidden {
			return s.denied(ctx, a, ActionDelete, err, map[string]any{"webhook_id": truncate(id, 64)})
		}
		return err
	}
	now := s.now().UTC()
	c := workflow.Recorded(a, now, ActionDelete, workflow.OutcomeOK,
		map[string]any{"webhook_id": sub.ID, "authority": sub.Authority})
	return s.store.DeleteWebhook(ctx, sub.ID, now, c)
}

// maxDeliveriesListed bounds the deliveries listed.
const maxDeliveriesListed = 200

// Deliveries lists the latest deliveries of a subscription, newest first.
func (s *Service) Deliveries(ctx context.Context, a workflow.Actor, id string, limit int) ([]Delivery, error) {
	sub, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > maxDeliveriesListed {
		limit = maxDeliveriesListed
	}
	ds, err := s.store.Deliveries(ctx, sub.ID, limit)
	if a.Authority != sub.Authority {
		// The administrator operates the platform and is party to no
		// case: it sees how deliveries fare, not which request they
		// were about.
		for i := range ds {
			ds[i].RequestID = ""
		}
	}
	return ds, err
}

// Retry sends a dead (or delivered) delivery again, at once, with its
// attempts counted afresh and the same webhook-id.
func (s *Service) Retry(ctx context.Context, a workflow.Actor, id, deliveryID string) (Delivery, error) {
	details := map[string]any{"webhook_id": truncate(id, 64), "delivery_id": truncate(deliveryID, 64)}
	sub, err := s.Get(ctx, a, id)
	if err != nil {
		if workflow.ErrorCode(err) == workflow.ErrForbidden {
			return Delivery{}, s.denied(ctx, a, ActionRetry, err, details)
		}
		return Delivery{}, err
	}
	now := s.now().UTC()
	details["authority"] = sub.Authority
	c := workflow.Recorded(a, now, ActionRetry, workflow.OutcomeOK, details)
	d, err := s.store.RetryDelivery(ctx, sub.ID, deliveryID, now, c)
	if workflow.ErrorCode(err) == workflow.ErrConflict {
		return Delivery{}, s.denied(ctx, a, ActionRetry, err, details)
	}
	return d, err
}

// denied records a refused attempt (403, 409, 422) and returns its error.
func (s *Service) denied(ctx context.Context, a workflow.Actor, action string, cause error, details map[string]any) error {
	switch code := workflow.ErrorCode(cause); code {
	case workflow.ErrForbidden, workflow.ErrValidation, workflow.ErrConflict:
		c := workflow.Denied(a, s.now().UTC(), action, "", code, details)
		ctx = context.WithoutCancel(ctx) // recorded even if the client has gone
		if err := s.store.Record(ctx, c); err != nil {
			return err
		}
	}
	return cause
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
