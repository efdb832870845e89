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

// deliveredAsDelivery selects the rows of webhook_delivered in the
// columns of deliveryColumns, the message's from the outbox, the id left
// empty (it is derived: webhook.DeliveryID).
const deliveredAsDelivery = "SELECT '', v.webhook_id, v.outbox_id, o.request_id, o.action, 'delivered', 1, 0, '', v.status_code, " +
	"o.created_at_us, v.delivered_at_us, v.delivered_at_us FROM webhook_delivered v JOIN outbox o ON o.id = v.outbox_id"

// Deliveries lists the deliveries of a subscription, newest first: the
// rows of both tables.
func (s *Store) Deliveries(ctx context.Context, webhookID string, limit int) ([]webhook.Delivery, error) {
	rdb, err := s.r.DB()
	if err != nil {
		return nil, err
	}
	rows, err := rdb.QueryContext(ctx, rebind(s.postgres, "SELECT * FROM (SELECT "+deliveryColumns+
		" FROM webhook_deliveries d WHERE d.webhook_id = ? UNION ALL "+deliveredAsDelivery+" WHERE v.webhook_id = ?) x "+
		"ORDER BY 3 DESC, 1 DESC LIMIT ?"), webhookID, webhookID, limit)
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
		if d.ID == "" {
			d.ID = webhook.DeliveryID(d.WebhookID, d.OutboxID)
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
			// Delivered at its first attempt: it becomes a row of its own
			// again, its body made anew from its message.
			d, err = s.reviveDelivered(ctx, t, webhookID, deliveryID)
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

// reviveDelivered moves the delivery deliveryID of webhookID from
// webhook_delivered into webhook_deliveries, delivered as it was, with its
// body made from its outbox message; ErrNotFound when there is none.
func (s *Store) reviveDelivered(ctx context.Context, t *tx, webhookID, deliveryID string) (webhook.Delivery, error) {
	notFound := workflow.Errorf(workflow.ErrNotFound, "delivery not found")
	sub, outboxID, ok := webhook.ParseDeliveryID(deliveryID)
	if !ok || sub != webhookID {
		return webhook.Delivery{}, notFound
	}
	ctx = context.WithoutCancel(ctx)
	d, err := scanDelivery(t.batch.sqlTx.QueryRowContext(ctx, rebind(s.postgres, deliveredAsDelivery+
		" WHERE v.webhook_id = ? AND v.outbox_id = ?"), webhookID, outboxID))
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound
	}
	if err != nil {
		return d, err
	}
	d.ID = deliveryID
	entries, err := s.OutboxAfter(ctx, outboxID-1, 1)
	if err != nil {
		return d, err
	}
	if len(entries) != 1 || entries[0].ID != outboxID {
		return d, fmt.Errorf("delivery %s: its outbox message %d is missing", deliveryID, outboxID)
	}
	if _, err := t.batch.sqlTx.ExecContext(ctx, rebind(s.postgres,
		"DELETE FROM webhook_delivered WHERE webhook_id = ? AND outbox_id = ?"), webhookID, outboxID); err != nil {
		return d, err
	}
	_, err = t.batch.sqlTx.ExecContext(ctx, rebind(s.postgres, "INSERT INTO webhook_deliveries (id, webhook_id, outbox_id, "+
		"request_id, event_type, body, status, attempts, next_attempt_us, created_at_us, last_attempt_us, last_status, delivered_at_us) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)"), d.ID, d.WebhookID, d.OutboxID, d.RequestID, d.EventType,
		string(webhook.Body(entries[0])), webhook.StatusDelivered, d.Attempts, toMicros(d.CreatedAt), toMicros(d.LastAttempt),
		d.LastStatus, toMicros(d.DeliveredAt))
	return d, err
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
	"attempts", "next_attempt_us", "created_at_us", "last_attempt_us", "last_status", "last_error"}

// deliveryInsertRows is how many deliveries one INSERT writes at most.
const deliveryInsertRows = 100

// EnqueueDeliveries inserts ds, leaving a delivery already made for the
// same message and subscription as it is, and moves the cursor from from
// to to, in one transaction; ErrConflict when the cursor is no longer at
// from (another sender moved it: it is read again).
func (s *Store) EnqueueDeliveries(ctx context.Context, from, to int64, ds []webhook.NewDelivery) error {
	qs := make([]webhook.Queued, len(ds))
	for i, d := range ds {
		qs[i] = webhook.Queued{NewDelivery: d}
	}
	return s.RecordTurn(ctx, webhook.Turn{From: from, To: to, Queued: qs})
}

// RecordTurn records a sender's turn in one transaction: the cursor moved
// from t.From to t.To (ErrConflict when another sender moved it), the
// outcomes of claimed rows, the deliveries that arrived at their first
// attempt as rows of webhook_delivered, and the queued deliveries as rows
// of webhook_deliveries.
func (s *Store) RecordTurn(ctx context.Context, turn webhook.Turn) error {
	return s.withTx(ctx, func(t *tx) error {
		ctx := context.WithoutCancel(ctx)
		if turn.To != turn.From {
			res, err := t.batch.sqlTx.ExecContext(ctx, rebind(s.postgres,
				"UPDATE webhook_cursor SET last_id = ? WHERE name = ? AND last_id = ?"), turn.To, deliveriesCursor, turn.From)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return workflow.Errorf(workflow.ErrConflict, "the webhook cursor moved")
			}
		} else if len(turn.Queued)+len(turn.Delivered) > 0 {
			// Rows of messages after the cursor: only while the cursor is
			// still this sender's.
			var n int
			err := t.batch.sqlTx.QueryRowContext(ctx, rebind(s.postgres,
				"SELECT COUNT(*) FROM webhook_cursor WHERE name = ? AND last_id = ?"), deliveriesCursor, turn.From).Scan(&n)
			if err != nil {
				return err
			}
			if n != 1 {
				return workflow.Errorf(workflow.ErrConflict, "the webhook cursor moved")
			}
		}
		for _, f := range turn.Finished {
			if err := s.finishDelivery(ctx, t, f); err != nil {
				return err
			}
		}
		if err := s.insertDelivered(ctx, t, turn.Delivered); err != nil {
			return err
		}
		return s.queueDeliveries(ctx, t, turn.Queued)
	})
}

// deliveredColumns are the columns of webhook_delivered.
var deliveredColumns = []string{"webhook_id", "outbox_id", "delivered_at_us", "status_code"}

// insertDelivered writes the first attempts that arrived, many to an
// INSERT; one recorded already (by a sender before this one) stays.
func (s *Store) insertDelivered(ctx context.Context, t *tx, ds []webhook.FirstDelivered) error {
	const perInsert = 200
	for start := 0; start < len(ds); start += perInsert {
		chunk := ds[start:min(len(ds), start+perInsert)]
		args := make([]any, 0, len(chunk)*len(deliveredColumns))
		for _, d := range chunk {
			args = append(args, d.WebhookID, d.OutboxID, toMicros(d.At), d.StatusCode)
		}
		q := s.sql.insert("webhook_delivered", deliveredColumns, len(chunk), " ON CONFLICT (webhook_id, outbox_id) DO NOTHING")
		if _, err := t.batch.sqlTx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// queueDeliveries inserts qs as rows of webhook_deliveries, in order,
// leaving one made already for the same message and subscription as it
// is, and dropping those of webhooks deleted since the sender read them.
func (s *Store) queueDeliveries(ctx context.Context, t *tx, qs []webhook.Queued) error {
	if len(qs) == 0 {
		return nil
	}
	// Deliveries only to webhooks still active: one deleted since the
	// worker read the list has had its pending deliveries cancelled,
	// and must get no new ones.
	active := map[string]bool{}
	for _, q := range qs {
		if _, seen := active[q.WebhookID]; seen {
			continue
		}
		var n int
		err := t.batch.sqlTx.QueryRowContext(ctx, rebind(s.postgres,
			"SELECT COUNT(*) FROM webhooks WHERE id = ? AND deleted_at_us = 0"), q.WebhookID).Scan(&n)
		if err != nil {
			return err
		}
		active[q.WebhookID] = n > 0
	}
	qs = slices.DeleteFunc(slices.Clone(qs), func(q webhook.Queued) bool { return !active[q.WebhookID] })
	// A delivery is pending when it heads its chain (no earlier one to
	// the same subscription about the same request is still to be
	// delivered), else waiting: FinishDeliveries makes the next one of
	// a chain pending when its predecessor is delivered or parked. So
	// the senders' claims look at the heads alone, however long the
	// chains behind them. One whose first attempt failed for the last
	// time is dead, and holds up nothing.
	chained := map[webhook.Chain]bool{}
	status := make([]string, len(qs))
	for i, q := range qs {
		key := webhook.Chain{WebhookID: q.WebhookID, RequestID: q.RequestID}
		if _, seen := chained[key]; !seen {
			var n int
			err := t.batch.sqlTx.QueryRowContext(ctx, rebind(s.postgres, "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries "+
				"WHERE webhook_id = ? AND request_id = ? AND status IN ('pending', 'waiting') LIMIT 1) x"), q.WebhookID, q.RequestID).Scan(&n)
			if err != nil {
				return err
			}
			chained[key] = n > 0
		}
		switch {
		case q.Attempt != nil && q.Attempt.Dead:
			status[i] = webhook.StatusDead
			continue
		case chained[key]:
			status[i] = webhook.StatusWaiting
		default:
			status[i] = webhook.StatusPending
		}
		chained[key] = true
	}
	for start := 0; start < len(qs); start += deliveryInsertRows {
		chunk := qs[start:min(len(qs), start+deliveryInsertRows)]
		args := make([]any, 0, len(chunk)*len(deliveryInsertColumns))
		for i, q := range chunk {
			attempts, next, last, lastStatus, lastError := 0, toMicros(q.CreatedAt), int64(0), 0, ""
			if o := q.Attempt; o != nil {
				attempts, last, lastStatus, lastError = 1, toMicros(o.At), o.StatusCode, o.Error
				if !o.Dead {
					next = toMicros(o.Next)
				}
			}
			args = append(args, q.ID, q.WebhookID, q.OutboxID, q.RequestID, q.EventType, string(q.Body),
				status[start+i], attempts, next, toMicros(q.CreatedAt), last, lastStatus, lastError)
		}
		q := s.sql.insert("webhook_deliveries", deliveryInsertColumns, len(chunk), " ON CONFLICT (webhook_id, outbox_id) DO NOTHING")
		if _, err := t.batch.sqlTx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// Senders lists the active subscriptions with their secrets; one whose
// secret does not open is left out (its deliveries are not sent unsigned)
// and reported.
func (s *Store) Senders(ctx context.Context) ([]webhook.Sender, error) {
	var rows []webhookRow
	if err := s.r.WithContext(ctx).Where("deleted_at_us = 0").Order("created_at_us, id").Find(&rows).Error; err != nil {
		return nil, s.fail(err, "list webhooks")
	}
	out := make([]webhook.Sender, 0, len(rows))
	for _, r := range rows {
		secret, err := s.openWebhookSecret(r.ID, r.SealedSecret)
		if err != nil {
			s.log.Error("WEBHOOK ROW ALTERED: its secret does not open; its deliveries are not sent", "webhook_id", r.ID)
			continue
		}
		out = append(out, webhook.Sender{Subscription: r.toDomain(), Secret: secret})
	}
	return out, nil
}

// Open lists the chains with a delivery pending or waiting.
func (s *Store) Open(ctx context.Context) (map[webhook.Chain]bool, error) {
	var rows []struct{ WebhookID, RequestID string }
	err := s.r.WithContext(ctx).Raw("SELECT DISTINCT webhook_id, request_id FROM webhook_deliveries " +
		"WHERE status IN ('pending', 'waiting')").Scan(&rows).Error
	if err != nil {
		return nil, s.fail(err, "list the open chains")
	}
	out := make(map[webhook.Chain]bool, len(rows))
	for _, r := range rows {
		out[webhook.Chain{WebhookID: r.WebhookID, RequestID: r.RequestID}] = true
	}
	return out, nil
}

// SettledAfter lists the deliveries of messages after after already
// recorded, in either table.
func (s *Store) SettledAfter(ctx context.Context, after int64) (map[webhook.Settled]bool, error) {
	var rows []struct {
		WebhookID string
		OutboxID  int64
	}
	err := s.r.WithContext(ctx).Raw("SELECT webhook_id, outbox_id FROM webhook_delivered WHERE webhook_id IN "+
		"(SELECT id FROM webhooks) AND outbox_id > ? UNION ALL "+
		"SELECT webhook_id, outbox_id FROM webhook_deliveries WHERE webhook_id IN (SELECT id FROM webhooks) AND outbox_id > ?",
		after, after).Scan(&rows).Error
	if err != nil {
		return nil, s.fail(err, "list the deliveries settled")
	}
	out := make(map[webhook.Settled]bool, len(rows))
	for _, r := range rows {
		out[webhook.Settled{WebhookID: r.WebhookID, OutboxID: r.OutboxID}] = true
	}
	return out, nil
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
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		res, err = t.batch.sqlTx.ExecContext(context.WithoutCancel(ctx), rebind(s.postgres,
			"DELETE FROM webhook_delivered WHERE (webhook_id, outbox_id) IN (SELECT webhook_id, outbox_id FROM webhook_delivered "+
				"WHERE delivered_at_us < ? LIMIT ?)"), toMicros(before), pruneDeliveriesBatch)
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		n += m
		return err
	})
	return n, err
}
