package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/mla-flow/mla-flow/internal/auth"
)

var _ auth.LoginEvents = (*Store)(nil)

// RecentLoginEvents returns the times of the newest limit events of kind
// and subject after since, newest first. The index on (kind, subject,
// at_us) answers it without a sort.
func (s *Store) RecentLoginEvents(ctx context.Context, kind, subject string, since time.Time, limit int) ([]time.Time, error) {
	var us []int64
	err := s.r.WithContext(ctx).Raw(
		"SELECT at_us FROM login_events WHERE kind = ? AND subject = ? AND at_us > ? ORDER BY at_us DESC LIMIT ?",
		kind, subject, toMicros(since), limit).Scan(&us).Error
	if err != nil {
		return nil, s.fail(err, "read log-in events")
	}
	out := make([]time.Time, len(us))
	for i, u := range us {
		out[i] = fromMicros(u)
	}
	return out, nil
}

// RecordLoginEvents records an event at at for each of add and forgets
// every event of each of forget, in one transaction. The events are not
// audited (the log-in attempt they count is) and touch no row that a
// command reads, so they are written beside the group-commit writer rather
// than through it: they neither wait for a batch nor take the audit head's
// lock. On SQLite they share its one connection, and wait for it.
func (s *Store) RecordLoginEvents(ctx context.Context, at time.Time, add, forget []auth.LoginEvent) error {
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, e := range forget {
			if err := tx.Exec("DELETE FROM login_events WHERE kind = ? AND subject = ?", e.Kind, e.Subject).Error; err != nil {
				return err
			}
		}
		for _, e := range add {
			if err := tx.Exec("INSERT INTO login_events (kind, subject, at_us) VALUES (?, ?, ?)", e.Kind, e.Subject, toMicros(at)).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return s.fail(err, "record log-in events")
}

// PruneLoginEvents deletes the events of each kind in before older than
// its time, and returns how many it deleted.
func (s *Store) PruneLoginEvents(ctx context.Context, before map[string]time.Time) (int64, error) {
	var n int64
	for kind, t := range before {
		res := s.w.WithContext(ctx).Exec("DELETE FROM login_events WHERE kind = ? AND at_us <= ?", kind, toMicros(t))
		if res.Error != nil {
			return n, s.fail(res.Error, "prune log-in events")
		}
		n += res.RowsAffected
	}
	return n, nil
}
