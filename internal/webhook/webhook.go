package webhook

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Subscription is a webhook: a URL of an authority's system that wants the
// changes of the requests that authority may see, filtered by audit action.
type Subscription struct {
	ID        string
	Authority string
	URL       string
	// Events are the audit actions delivered (request.send, ...), or "*"
	// alone for all.
	Events    []string
	CreatedBy string
	CreatedAt time.Time
}

// Wants tells whether the subscription wants messages of action.
func (s Subscription) Wants(action string) bool {
	for _, e := range s.Events {
		if e == AllEvents || e == action {
			return true
		}
	}
	return false
}

// AllEvents subscribes to every action.
const AllEvents = "*"

// The statuses of a delivery.
const (
	StatusPending   = "pending"   // due for its first or next attempt
	StatusWaiting   = "waiting"   // behind an earlier delivery about the same request, not yet delivered or dead
	StatusDelivered = "delivered" // answered 2xx
	StatusDead      = "dead"      // parked after the last attempt failed; re-sendable
	StatusCancelled = "cancelled" // its webhook was deleted before it was delivered
)

// DeliveriesKept is how long deliveries delivered or cancelled are kept,
// to be seen and sent again; the server's pruning job forgets them after.
const DeliveriesKept = 30 * 24 * time.Hour

// Delivery is one message of the outbox for one subscription: ID is its
// Standard Webhooks message id (the webhook-id header), the same at every
// attempt, so that a receiver can recognise a repeat.
type Delivery struct {
	ID          string
	WebhookID   string
	OutboxID    int64
	RequestID   string
	EventType   string // the audit action
	Status      string
	Attempts    int
	NextAttempt time.Time // when pending
	LastError   string
	LastStatus  int // the HTTP status of the last attempt, 0 for none or a network error
	CreatedAt   time.Time
	LastAttempt time.Time // zero before the first
	DeliveredAt time.Time // zero until delivered
}

// NewDelivery is a delivery to make from an outbox message.
type NewDelivery struct {
	ID        string
	WebhookID string
	OutboxID  int64
	RequestID string
	EventType string
	Body      []byte
	CreatedAt time.Time
}

// Claimed is a delivery a sender holds: what it sends, where, signed with
// which secret, under which claim token.
type Claimed struct {
	Delivery
	Body   []byte
	URL    string
	Secret []byte
	Claim  string
}

// Outcome is the result of one attempt of a claimed delivery.
type Outcome struct {
	At        time.Time
	Delivered bool
	Dead      bool      // the last attempt failed: park it
	Next      time.Time // the next attempt, when neither delivered nor dead
	// Released gives the delivery back unattempted (the sender is
	// stopping): due again at once, its attempts unchanged.
	Released   bool
	StatusCode int
	Error      string
}

// Finished is the outcome of an attempt of the claimed delivery ID.
type Finished struct {
	ID, Claim string
	Outcome
}

// Store is what the webhooks need from persistence; internal/store
// implements it on SQLite and PostgreSQL. Every write that changes a
// subscription applies its audit change in the same transaction.
type Store interface {
	// CreateWebhook stores s with its signing secret (sealed) and applies c.
	CreateWebhook(ctx context.Context, s Subscription, secret []byte, c workflow.Change) error
	// Webhooks lists the active subscriptions of authority, all of them for
	// "", oldest first.
	Webhooks(ctx context.Context, authority string) ([]Subscription, error)
	// Webhook reads one active subscription; ErrNotFound when none.
	Webhook(ctx context.Context, id string) (Subscription, error)
	// DeleteWebhook ends subscription id at at, cancels its pending
	// deliveries, and applies c.
	DeleteWebhook(ctx context.Context, id string, at time.Time, c workflow.Change) error
	// Deliveries lists the deliveries of a subscription, newest first, at
	// most limit.
	Deliveries(ctx context.Context, webhookID string, limit int) ([]Delivery, error)
	// RetryDelivery makes a dead or delivered delivery pending again, due
	// at at with its attempts counted afresh, and applies c; ErrNotFound
	// when the subscription has no such delivery, ErrConflict while it is
	// pending.
	RetryDelivery(ctx context.Context, webhookID, deliveryID string, at time.Time, c workflow.Change) (Delivery, error)
	// Record applies a change that writes nothing but its audit entry (a
	// refused attempt).
	Record(ctx context.Context, c workflow.Change) error

	// WebhookCursor is the last outbox id settled for every subscription:
	// each delivery of a message up to it is delivered or is a row of its
	// own (pending, waiting, dead, cancelled).
	WebhookCursor(ctx context.Context) (int64, error)
	// OutboxAfter reads the outbox after id after, in id order.
	OutboxAfter(ctx context.Context, after int64, limit int) ([]workflow.OutboxEntry, error)
	// Senders lists the active subscriptions with their signing secrets.
	Senders(ctx context.Context) ([]Sender, error)
	// Open lists the chains (subscription and request) that have a
	// delivery pending or waiting: a new message of such a chain is queued
	// behind it rather than sent straight away.
	Open(ctx context.Context) (map[Chain]bool, error)
	// SettledAfter lists the deliveries of messages after the outbox id
	// after that are settled already (delivered, or a row of their own):
	// what a sender that starts again from the cursor must not send again.
	SettledAfter(ctx context.Context, after int64) (map[Settled]bool, error)
	// RecordTurn records what a sender did since it last recorded, in one
	// transaction; it fails, changing nothing, when the cursor is no
	// longer at t.From (another sender moved it).
	RecordTurn(ctx context.Context, t Turn) error
	// EnqueueDeliveries inserts ds (a delivery already made is left as it
	// is) and moves the cursor from from to to, in one transaction; it fails
	// when the cursor is no longer at from.
	EnqueueDeliveries(ctx context.Context, from, to int64, ds []NewDelivery) error
	// ClaimDeliveries claims, until now+lease, up to limit pending
	// deliveries due at now whose earlier deliveries to the same
	// subscription about the same request are all delivered or dead: the
	// order per request.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Claimed, error)
	// FinishDeliveries records the outcomes of attempts, each only if its
	// claim is still the sender's (it changes nothing otherwise), and makes
	// the next delivery of a chain whose head was delivered or parked
	// pending; in one transaction.
	FinishDeliveries(ctx context.Context, fs []Finished) error
}

// Sender is an active subscription with what signs its deliveries.
type Sender struct {
	Subscription
	Secret []byte
}

// Chain names the deliveries to one subscription about one request,
// which are sent in order.
type Chain struct{ WebhookID, RequestID string }

// Settled names the delivery of one message to one subscription.
type Settled struct {
	WebhookID string
	OutboxID  int64
}

// Turn is what a sender records at once: the deliveries that arrived at
// their first attempt, the deliveries to keep as rows, the outcomes of
// attempts of claimed rows, and the cursor moved past every message now
// settled for every subscription (To == From leaves it).
type Turn struct {
	From, To  int64
	Delivered []FirstDelivered
	Queued    []Queued
	Finished  []Finished
}

// FirstDelivered is a delivery answered 2xx at its first attempt.
type FirstDelivered struct {
	Settled
	At         time.Time
	StatusCode int
}

// Queued is a delivery to keep as a row: one whose first attempt failed
// (Attempt set: due again after its backoff, or dead), or one behind an
// undelivered delivery of its chain, not yet attempted (Attempt nil).
type Queued struct {
	NewDelivery
	Attempt *Outcome
}

// DeliveryID is the Standard Webhooks message id of the delivery of
// outbox message outboxID to subscription webhookID: derived, so that a
// repeat after a crash carries the id of the first attempt.
func DeliveryID(webhookID string, outboxID int64) string {
	return "msg_" + webhookID + "_" + strconv.FormatInt(outboxID, 10)
}

// ParseDeliveryID is the inverse of DeliveryID; ok is false for an id not
// of its form.
func ParseDeliveryID(id string) (webhookID string, outboxID int64, ok bool) {
	rest, found := strings.CutPrefix(id, "msg_")
	i := strings.LastIndexByte(rest, '_')
	if !found || i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return rest[:i], n, true
}

// Policy is the rule of who manages an authority's webhooks;
// auth.Policy implements it.
type Policy interface {
	// MayManageWebhooks tells whether a may create, list, delete and re-send
	// the webhooks of authority.
	MayManageWebhooks(a workflow.Actor, authority string) bool
}
