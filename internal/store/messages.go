package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// The thread of a request (workflow.Message): written at once by Apply,
// like the timers, since a message is rare beside the transitions the
// batch writes at its end.

const messageColumns = "id, request_id, kind, internal, body, actor, authority, at_us, read_at_us"

// insertMessage writes a posted message (Apply).
func (t *tx) insertMessage(ctx context.Context, m workflow.Message) error {
	q := rebind(t.store.postgres, "INSERT INTO messages ("+messageColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
	var readAt any
	if m.ReadAt != nil {
		readAt = toMicros(*m.ReadAt)
	}
	_, err := t.batch.sqlTx.ExecContext(context.WithoutCancel(ctx), q, cleanText(m.ID), cleanText(m.RequestID),
		string(m.Kind), m.Internal, cleanText(m.Body), cleanText(m.Actor), cleanText(m.Authority), toMicros(m.At), readAt)
	return t.requestWriteError(err)
}

// markRead sets the read receipts of a reading (Apply), on the messages
// that are still unread: two readings at once receipt each message once,
// with the first one's time.
func (t *tx) markRead(ctx context.Context, rm workflow.ReadMark) error {
	if len(rm.IDs) == 0 {
		return nil
	}
	args := []any{toMicros(rm.At), rm.RequestID}
	marks := make([]string, len(rm.IDs))
	for i, id := range rm.IDs {
		marks[i] = "?"
		args = append(args, cleanText(id))
	}
	q := rebind(t.store.postgres, "UPDATE messages SET read_at_us = ? WHERE request_id = ? AND read_at_us IS NULL AND id IN ("+
		strings.Join(marks, ", ")+")")
	_, err := t.batch.sqlTx.ExecContext(context.WithoutCancel(ctx), q, args...)
	return err
}

// Messages returns the thread of a request, oldest first.
func (s *Store) Messages(ctx context.Context, requestID string) ([]workflow.Message, error) {
	db, err := s.r.DB()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, rebind(s.postgres, "SELECT "+messageColumns+" FROM messages WHERE request_id = ? ORDER BY seq"), requestID)
	if err != nil {
		return nil, s.fail(err, "load messages")
	}
	defer rows.Close()
	out := []workflow.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, s.fail(err, "load messages")
		}
		out = append(out, m)
	}
	return out, s.fail(rows.Err(), "load messages")
}

// scanMessage reads a row of messageColumns.
func scanMessage(rows *sql.Rows) (workflow.Message, error) {
	var m workflow.Message
	var kind string
	var at int64
	var readAt sql.NullInt64
	if err := rows.Scan(&m.ID, &m.RequestID, &kind, &m.Internal, &m.Body, &m.Actor, &m.Authority, &at, &readAt); err != nil {
		return m, err
	}
	m.Kind, m.At = workflow.MessageKind(kind), fromMicros(at)
	if readAt.Valid {
		r := fromMicros(readAt.Int64)
		m.ReadAt = &r
	}
	return m, nil
}

// UnreadMessages counts, per request of ids, the messages not internal and
// not of authority that are unread (the partial index ix_messages_unread).
func (s *Store) UnreadMessages(ctx context.Context, authority string, ids []string) (map[string]int, error) {
	out := map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	db, err := s.r.DB()
	if err != nil {
		return nil, err
	}
	args := []any{authority}
	marks := make([]string, len(ids))
	for i, id := range ids {
		marks[i] = "?"
		args = append(args, id)
	}
	internal := "internal = 0"
	if s.postgres {
		internal = "NOT internal"
	}
	q := rebind(s.postgres, "SELECT request_id, COUNT(*) FROM messages WHERE read_at_us IS NULL AND "+internal+
		" AND authority <> ? AND request_id IN ("+strings.Join(marks, ", ")+") GROUP BY request_id")
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err, "count unread messages")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, s.fail(err, "count unread messages")
		}
		out[id] = n
	}
	return out, s.fail(rows.Err(), "count unread messages")
}
