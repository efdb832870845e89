package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/webhook"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The webhooks (CONTRACT 8, internal/webhook): subscriptions with their
// signing secrets sealed, deliveries made from the outbox after a durable
// cursor, and the claims of the senders.

var _ webhook.Store = (*Store)(nil)

// webhookRow is the stored form of webhook.Subscription. SealedSecret is
// the signing secret sealed with AES-256-GCM under a key derived from the
// audit key, the webhook's id authenticated with it: the server must keep
// the secret to sign, and whoever reads the database (a copied backup)
// must not be able to sign deliveries a receiver would trust.
type webhookRow struct {
	ID           string `gorm:"column:id;primaryKey"`
	Authority    string `gorm:"column:authority"`
	URL          string `gorm:"column:url"`
	Events       string `gorm:"column:events"`
	SealedSecret string `gorm:"column:sealed_secret"`
	CreatedBy    string `gorm:"column:created_by"`
	CreatedUS    int64  `gorm:"column:created_at_us"`
	DeletedUS    int64  `gorm:"column:deleted_at_us"`
}

func (webhookRow) TableName() string { return "webhooks" }

func (r webhookRow) toDomain() webhook.Subscription {
	return webhook.Subscription{
		ID: r.ID, Authority: r.Authority, URL: r.URL, Events: strings.Split(r.Events, ","),
		CreatedBy: r.CreatedBy, CreatedAt: fromMicros(r.CreatedUS),
	}
}

// webhookSecretPurpose derives the key that seals webhook secrets.
const webhookSecretPurpose = "mla-flow/webhook-secrets/v1"

func (s *Store) sealWebhookSecret(id string, secret []byte) string {
	aead := s.aeadFor(webhookSecretPurpose)
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, secret, []byte(id)))
}

func (s *Store) openWebhookSecret(id, sealed string) ([]byte, error) {
	aead := s.aeadFor(webhookSecretPurpose)
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err == nil && len(raw) > aead.NonceSize() {
		var secret []byte
		if secret, err = aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(id)); err == nil {
			return secret, nil
		}
	}
	return nil, fmt.Errorf("webhook %s: its secret does not open with the audit key (altered, or sealed under another key)", id)
}

var errWebhookNotFound = workflow.Errorf(workflow.ErrNotFound, "webhook not found")

// CreateWebhook stores sub with its secret sealed and applies c, in one
// transaction; ErrNotFound when sub's authority does not exist.
func (s *Store) CreateWebhook(ctx context.Context, sub webhook.Subscription, secret []byte, c workflow.Change) error {
	row := webhookRow{
		ID: sub.ID, Authority: sub.Authority, URL: sub.URL, Events: strings.Join(sub.Events, ","),
		SealedSecret: s.sealWebhookSecret(sub.ID, secret), CreatedBy: sub.CreatedBy, CreatedUS: toMicros(sub.CreatedAt),
	}
	return s.withTx(ctx, func(t *tx) error {
		if _, err := t.Authority(ctx, sub.Authority); err != nil {
			return err
		}
		if err := t.db.WithContext(ctx).Create(&row).Error; err != nil {
			return err
		}
		return t.Apply(ctx, c)
	})
}

// Webhooks lists the active subscriptions of authority (all for ""),
// oldest first.
func (s *Store) Webhooks(ctx context.Context, authority string) ([]webhook.Subscription, error) {
	q := s.r.WithContext(ctx).Where("deleted_at_us = 0")
	if authority != "" {
		q = q.Where("authority = ?", authority)
	}
	var rows []webhookRow
	if err := q.Order("created_at_us, id").Find(&rows).Error; err != nil {
		return nil, s.fail(err, "list webhooks")
	}
	out := make([]webhook.Subscription, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// Webhook reads one active subscription.
func (s *Store) Webhook(ctx context.Context, id string) (webhook.Subscription, error) {
	var rows []webhookRow
	if err := s.r.WithContext(ctx).Where("id = ? AND deleted_at_us = 0", id).Limit(1).Find(&rows).Error; err != nil {
		return webhook.Subscription{}, s.fail(err, "read webhook")
	}
	if len(rows) == 0 {
		return webhook.Subscription{}, errWebhookNotFound
	}
	return rows[0].toDomain(), nil
}

// DeleteWebhook ends subscription id at at, cancels its pending
// deliveries, and applies c, in one transaction.
func (s *Store) DeleteWebhook(ctx context.Context, id string, at time.Time, c workflow.Change) error {
	return s.withTx(ctx, func(t *tx) error {
		res := t.db.WithContext(ctx).Exec("UPDATE webhooks SET deleted_at_us = ? WHERE id = ? AND deleted_at_us = 0", toMicros(at), id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errWebhookNotFound
		}
		err := t.db.WithContext(ctx).Exec("UPDATE webhook_deliveries SET status = ?, claim = '', claimed_until_us = 0 "+
			"WHERE webhook_id = ? AND status IN (?, ?)", webhook.StatusCancelled, id, webhook.StatusPending, webhook.StatusWaiting).Error
		if err != nil {
			return err
		}
		return t.Apply(ctx, c)
	})
}

// deliveryColumns are the columns of a delivery, in the order of
// scanDelivery.
const deliveryColumns = "d.id, d.webhook_id, d.outbox_id, d.request_id, d.event_type, d.status, d.attempts, d.next_attempt_us, " +
	"d.last_error, d.last_status, d.created_at_us, d.last_attempt_us, d.delivered_at_us"

func scanDelivery(r rowScanner, extra ...any) (webhook.Delivery, error) {
	var d webhook.Delivery
	var next, created, last, delivered int64
	err := r.Scan(append([]any{&d.ID, &d.WebhookID, &d.OutboxID, &d.RequestID, &d.EventType, &d.Status, &d.Attempts,
		&next, &d.LastError, &d.LastStatus, &created, &last, &delivered}, extra...)...)
	if err != nil {
		return d, err
	}
	d.CreatedAt = fromMicros(created)
	if d.Status == webhook.StatusPending {
		d.NextAttempt = fromMicros(next)
	}
	if last != 0 {
		d.LastAttempt = fromMicros(last)
	}
	if delivered != 0 {
		d.DeliveredAt = fromMicros(delivered)
	}
	return d, nil
}

// Deliveries lists the deliveries of a subscription, newest first.
func (s *Store) Deliveries(ctx context.Context, webhookID string, limit int) ([]webhook.Delivery, error) {
	rdb, err := s.r.DB()
	if err != nil {
		return nil, err
	}
	rows, err := rdb.QueryContext(ctx, rebind(s.postgres, "SELECT "+deliveryColumns+
		" FROM webhook_deliveries d WHERE d.webhook_id = ? ORDER BY d.outbox_id DESC, d.id DESC LIMIT ?"), webhookID, limit)
	if err != nil {
		return nil, s.fail(err, "list deliveries")
	}
	defer rows.Close()
	var out []webhook.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, s.fail(err, "list deliveries")
		}
		out = append(out, d)
	}
	return out, s.fail(rows.Err(), "list deliveries")
}

// RetryDelivery makes a dead or delivered delivery of webhookID pending
// again, due at at, attempts counted afresh, and applies c.
func (s *Store) RetryDelivery(ctx context.Context, webhookID, deliveryID string, at time.Time, c workflow.Change) (webhook.Delivery, error) {
	var out webhook.Delivery
	err := s.withTx(ctx, func(t *tx) error {
		q := rebind(s.postgres, "SELECT "+deliveryColumns+" FROM webhook_deliveries d WHERE d.id = ? AND d.webhook_id = ?")
		d, err := scanDelivery(t.batch.sqlTx.QueryRowContext(context.WithoutCancel(ctx), q, deliveryID, webhookID))
		if errors.Is(err, sql.ErrNoRows) {
			return workflow.Errorf(workflow.ErrNotFound, "delivery not found")
		}
		if err != nil {
			return err
		}
		switch d.Status {
		case webhook.StatusPending, webhook.StatusWaiting:
			return workflow.Errorf(workflow.ErrConflict, "the delivery is %s: it is sent when due", d.Status)
		case webhook.StatusCancelled:
			return workflow.Errorf(workflow.ErrConflict, "the delivery was cancelled with its webhook")
		}
		err = t.db.WithContext(ctx).Exec("UPDATE webhook_deliveries SET status = ?, attempts = 0, next_attempt_us = ?, "+
			"delivered_at_us = 0, claimed_until_us = 0, claim = '' WHERE id = ?", webhook.StatusPending, toMicros(at), d.ID).Error
		if err != nil {
			return err
		}
		d.Status, d.Attempts, d.NextAttempt, d.DeliveredAt = webhook.StatusPending, 0, at, time.Time{}
		out = d
		return t.Apply(ctx, c)
	})
	return out, err
}

// Record applies a change that writes nothing but its audit entry.
func (s *Store) Record(ctx context.Context, c workflow.Change) error {
	return s.withTx(ctx, func(t *tx) error { return t.Apply(ctx, c) })
}

// deliveriesCursor names the cursor row of the deliveries' fan-out.
const deliveriesCursor = "deliveries"

// WebhookCursor is the last outbox id turned into deliveries.
func (s *Store) WebhookCursor(ctx context.Context) (int64, error) {
	var ids []int64
	err := s.r.WithContext(ctx).Raw("SELECT last_id FROM webhook_cursor WHERE name = ?", deliveriesCursor).Scan(&ids).Error
	if err != nil {
		return 0, s.fail(err, "read the webhook cursor")
	}
	if len(ids) == 0 {
		return 0, errors.New("the webhook cursor is missing (migration 0011 not applied?)")
	}
	return ids[0], nil
}

// deliveryInsertColumns are the columns a new delivery is inserted with.
var deliveryInsertColumns = []string{"id", "webhook_id", "outbox_id", "request_id", "event_type", "body", "status",
	"attempts", "next_attempt_us", "created_at_us"}

// deliveryInsertRows is how many deliveries one INSERT writes at most.
const deliveryInsertRows = 100

// EnqueueDeliveries inserts ds, leaving a delivery already made for the
// same message and subscription as it is, and moves the cursor from from
// to to, in one transaction; ErrConflict when the cursor is no longer at
// from (another sender moved it: it is read again).
func (s *Store) EnqueueDeliveries(ctx context.Context, from, to int64, ds []webhook.NewDelivery) error {
	return s.withTx(ctx, func(t *tx) error {
		ctx := context.WithoutCancel(ctx)
		res, err := t.batch.sqlTx.ExecContext(ctx, rebind(s.postgres,
			"UPDATE webhook_cursor SET last_id = ? WHERE name = ? AND last_id = ?"), to, deliveriesCursor, from)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return workflow.Errorf(workflow.ErrConflict, "the webhook cursor moved")
		}
		// Deliveries only to webhooks still active: one deleted since the
		// worker read the list has had its pending deliveries cancelled,
		// and must get no new ones.
		active := map[string]bool{}
		for _, d := range ds {
			if _, seen := active[d.WebhookID]; seen {
				continue
			}
			var n int
			err := t.batch.sqlTx.QueryRowContext(ctx, rebind(s.postgres,
				"SELECT COUNT(*) FROM webhooks WHERE id = ? AND deleted_at_us = 0"), d.WebhookID).Scan(&n)
			if err != nil {
				return err
			}
			active[d.WebhookID] = n > 0
		}
		ds := slices.DeleteFunc(slices.Clone(ds), func(d webhook.NewDelivery) bool { return !active[d.WebhookID] })
		// A delivery is pending when it heads its chain (no earlier one to
		// the same subscription about the same request is still to be
		// delivered), else waiting: FinishDeliveries makes the next one of
		// a chain pending when its predecessor is delivered or parked. So
		// the senders' claims look at the heads alone, however long the
		// chains behind them.
		chained := map[[2]string]bool{}
		status := make([]string, len(ds))
		for i, d := range ds {
			key := [2]string{d.WebhookID, d.RequestID}
			if _, seen := chained[key]; !seen {
				var n int
				err := t.batch.sqlTx.QueryRowContext(ctx, rebind(s.postgres, "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries "+
					"WHERE webhook_id = ? AND request_id = ? AND status IN ('pending', 'waiting') LIMIT 1) x"), d.WebhookID, d.RequestID).Scan(&n)
				if err != nil {
					return err
				}
				chained[key] = n > 0
			}
			status[i] = webhook.StatusPending
			if chained[key] {
				status[i] = webhook.StatusWaiting
			}
			chained[key] = true
		}
		for start := 0; start < len(ds); start += deliveryInsertRows {
			chunk := ds[start:min(len(ds), start+deliveryInsertRows)]
			args := make([]any, 0, len(chunk)*len(deliveryInsertColumns))
			for i, d := range chunk {
				args = append(args, d.ID, d.WebhookID, d.OutboxID, d.RequestID, d.EventType, string(d.Body),
					status[start+i], 0, toMicros(d.CreatedAt), toMicros(d.CreatedAt))
			}
			q := s.sql.insert("webhook_deliveries", deliveryInsertColumns, len(chunk), " ON CONFLICT (webhook_id, outbox_id) DO NOTHING")
			if _, err := t.batch.sqlTx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// claimDeliveriesSQL claims the due pending deliveries that head their
// chain: no earlier delivery to the same subscription about the same
// request is still pending (in flight included), so that they are sent in
// order per request. SKIP LOCKED on PostgreSQL: a sender on another server
// passes over the rows this one is claiming.
func (s *Store) claimDeliveriesSQL() string {
	skip := ""
	if s.postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	return rebind(s.postgres, "UPDATE webhook_deliveries SET claimed_until_us = ?, claim = ? WHERE id IN ("+
		"SELECT d.id FROM webhook_deliveries d WHERE d.status = 'pending' AND d.next_attempt_us <= ? AND d.claimed_until_us <= ? "+
		"AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.request_id = d.request_id "+
		"AND e.outbox_id < d.outbox_id AND e.status = 'pending') "+
		"AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id AND w.deleted_at_us = 0) "+
		"ORDER BY d.next_attempt_us, d.outbox_id LIMIT ?"+skip+")")
}

// ClaimDeliveries claims up to limit due deliveries until now+lease.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]webhook.Claimed, error) {
	if limit <= 0 {
		return nil, nil
	}
	// Most looks find nothing due: they ask a reader, and leave the
	// writer, which the changes share, alone.
	nowUS := toMicros(now)
	var due []int
	if err := s.r.WithContext(ctx).Raw("SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_us <= ? "+
		"AND claimed_until_us <= ? LIMIT 1", nowUS, nowUS).Scan(&due).Error; err != nil {
		return nil, s.fail(err, "look for due deliveries")
	}
	if len(due) == 0 {
		return nil, nil
	}
	var token [16]byte
	if _, err := rand.Read(token[:]); err != nil {
		return nil, err
	}
	claim := hex.EncodeToString(token[:])
	type claimedRow struct {
		c      webhook.Claimed
		sealed string
		body   string
	}
	var got []claimedRow
	err := s.withTx(ctx, func(t *tx) error {
		got = nil // this function may run again
		ctx := context.WithoutCancel(ctx)
		res, err := t.batch.sqlTx.ExecContext(ctx, s.claimDeliveriesSQL(), toMicros(now.Add(lease)), claim, nowUS, nowUS, limit)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		rows, err := t.batch.sqlTx.QueryContext(ctx, rebind(s.postgres, "SELECT "+deliveryColumns+
			", d.body, w.url, w.sealed_secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "+
			"WHERE d.claim = ? ORDER BY d.outbox_id"), claim)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r claimedRow
			d, err := scanDelivery(rows, &r.body, &r.c.URL, &r.sealed)
			if err != nil {
				return err
			}
			r.c.Delivery, r.c.Claim = d, claim
			got = append(got, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]webhook.Claimed, 0, len(got))
	for _, r := range got {
		secret, err := s.openWebhookSecret(r.c.WebhookID, r.sealed)
		if err != nil {
			s.log.Error("WEBHOOK ROW ALTERED: its secret does not open; its deliveries are not sent", "webhook_id", r.c.WebhookID)
			continue // its claim lapses; nothing is sent unsigned
		}
		r.c.Secret, r.c.Body = secret, []byte(r.body)
		out = append(out, r.c)
	}
	return out, nil
}

// FinishDeliveries records the outcomes of attempts, each while its
// claim is still the delivery's, in one transaction: a sender records what
// ended since it last looked at once, rather than asking the writer, which
// the changes share, once per delivery.
func (s *Store) FinishDeliveries(ctx context.Context, fs []webhook.Finished) error {
	if len(fs) == 0 {
		return nil
	}
	return s.withTx(ctx, func(t *tx) error {
		ctx := context.WithoutCancel(ctx)
		for _, f := range fs {
			if err := s.finishDelivery(ctx, t, f); err != nil {
				return err
			}
		}
		return nil
	})
}

// finishDelivery records one outcome in t.
func (s *Store) finishDelivery(ctx context.Context, t *tx, f webhook.Finished) error {
	o := f.Outcome
	at := toMicros(o.At)
	var q string
	var args []any
	switch {
	case o.Released:
		q, args = "UPDATE webhook_deliveries SET claimed_until_us = 0, claim = ''", nil
	case o.Delivered:
		q = "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_attempt_us = ?, delivered_at_us = ?, " +
			"last_status = ?, last_error = '', claimed_until_us = 0, claim = ''"
		args = []any{webhook.StatusDelivered, at, at, o.StatusCode}
	case o.Dead:
		q = "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_attempt_us = ?, " +
			"last_status = ?, last_error = ?, claimed_until_us = 0, claim = ''"
		args = []any{webhook.StatusDead, at, o.StatusCode, o.Error}
	default:
		q = "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_us = ?, next_attempt_us = ?, " +
			"last_status = ?, last_error = ?, claimed_until_us = 0, claim = ''"
		args = []any{at, toMicros(o.Next), o.StatusCode, o.Error}
	}
	q = rebind(s.postgres, q+" WHERE id = ? AND claim = ? AND status = 'pending'")
	args = append(args, f.ID, f.Claim)
	res, err := t.batch.sqlTx.ExecContext(ctx, q, args...)
	if err != nil || !(o.Delivered || o.Dead) {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // no longer this sender's: whoever holds it moves the chain on
	}
	// The next delivery of the chain is due now.
	_, err = t.batch.sqlTx.ExecContext(ctx, s.sql.promoteDelivery, at, f.ID, f.ID)
	return err
}

// pruneDeliveriesBatch bounds one pruning transaction, so that it holds
// the writer, which the changes share, only briefly.
const pruneDeliveriesBatch = 5000

// PruneDeliveries removes deliveries delivered or cancelled before
// before, at most pruneDeliveriesBatch of them, and returns how many it
// removed. Dead ones stay, to be sent again; pending and waiting ones are
// the chains still to deliver.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.withTx(ctx, func(t *tx) error {
		res, err := t.batch.sqlTx.ExecContext(context.WithoutCancel(ctx), rebind(s.postgres,
			"DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries "+
				"WHERE status IN ('delivered', 'cancelled') AND created_at_us < ? LIMIT ?)"), toMicros(before), pruneDeliveriesBatch)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
