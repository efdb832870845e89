package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The outbox and the timers are written by the changes themselves (Apply,
// change.go); this file reads them for the jobs that act on them later:
// the webhooks' deliveries and the event stream read the outbox after the
// last id they handled, and the job runner claims the timers that are due.

// maxOutboxPage bounds one read of the outbox.
const maxOutboxPage = 1000

// OutboxAfter returns the outbox messages after id after, in id order, at
// most limit of them (1 to maxOutboxPage). Ids increase in the order the
// changes committed (see appendOutbox), so a consumer that keeps the last
// id it handled and asks for what follows it sees every message once.
func (s *Store) OutboxAfter(ctx context.Context, after int64, limit int) ([]workflow.OutboxEntry, error) {
	limit = max(1, min(limit, maxOutboxPage))
	rows, err := s.r.WithContext(ctx).Raw(s.sql.outboxAfter, after, limit).Rows()
	if err != nil {
		return nil, s.fail(err, "read the outbox")
	}
	defer rows.Close()
	out := make([]workflow.OutboxEntry, 0, limit)
	for rows.Next() {
		var (
			e        workflow.OutboxEntry
			audience string
			at       int64
			payload  string
			p        outboxPayload
		)
		if err := rows.Scan(&e.ID, &e.RequestID, &e.Action, &audience, &at, &payload); err != nil {
			return nil, s.fail(err, "read the outbox")
		}
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			return nil, fmt.Errorf("outbox message %d: %w", e.ID, err)
		}
		e.At = fromMicros(at)
		if audience != "" {
			e.Audience = strings.Split(audience, ",")
		}
		e.Reference, e.Kind, e.Event = p.Reference, workflow.Kind(p.Kind), workflow.Event(p.Event)
		e.From, e.To, e.Version = workflow.State(p.From), workflow.State(p.To), p.Version
		e.RequestingAuthority, e.RequestedAuthority = p.RequestingAuthority, p.RequestedAuthority
		out = append(out, e)
	}
	return out, s.fail(rows.Err(), "read the outbox")
}

// ClaimDueTimers claims up to limit timers due at now that nobody holds,
// for lease: until now+lease no other claim returns them, and after it
// they are due again, so that a timer whose job died with its server runs
// after all (at least once). The job deletes a timer it has done
// (DeleteTimer). On PostgreSQL the claim skips the rows another server is
// claiming at the same moment (FOR UPDATE SKIP LOCKED) rather than wait.
// The timers come in the order they are due.
func (s *Store) ClaimDueTimers(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]workflow.DueTimer, error) {
	if limit <= 0 || lease <= 0 {
		return nil, nil
	}
	nowUS := toMicros(now)
	var out []workflow.DueTimer
	err := s.withTx(ctx, func(t *tx) error {
		out = nil // this function may run again (groupcommit.go)
		rows, err := t.batch.sqlTx.QueryContext(context.WithoutCancel(ctx), s.sql.claimTimers,
			toMicros(now.Add(lease)), nowUS, nowUS, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d workflow.DueTimer
			var due, created int64
			if err := rows.Scan(&d.ID, &d.Kind, &d.Subject, &due, &d.Payload, &created); err != nil {
				return err
			}
			d.DueAt, d.CreatedAt = fromMicros(due), fromMicros(created)
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// RETURNING keeps no order.
	slices.SortFunc(out, func(a, b workflow.DueTimer) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return int(min(max(a.ID-b.ID, -1), 1))
	})
	return out, nil
}

// DeleteTimer removes a timer its job has done. A timer gone already (done
// by another claim after a lease lapsed, or cancelled) is no error.
func (s *Store) DeleteTimer(ctx context.Context, id int64) error {
	return s.withTx(ctx, func(t *tx) error {
		_, err := t.batch.sqlTx.ExecContext(context.WithoutCancel(ctx), s.sql.deleteTimer, id)
		return err
	})
}

// OutboxHead returns the id of the newest outbox message, 0 when there is
// none: where a new consumer that wants only what comes next starts. (The
// id is the primary key, so the maximum is one index look-up.)
func (s *Store) OutboxHead(ctx context.Context) (int64, error) {
	var head int64
	err := s.r.WithContext(ctx).Raw("SELECT COALESCE(MAX(id), 0) FROM outbox").Row().Scan(&head)
	return head, s.fail(err, "read the outbox head")
}
