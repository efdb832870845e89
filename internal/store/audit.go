package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// verifyBatch is how many entries VerifyAudit reads per query: enough to
// make the round trips negligible, few enough to keep memory flat however
// long the chain grows.
const verifyBatch = 1000

// AppendAudit chains rec to the audit log inside the transaction. It locks
// the head row (SELECT ... FOR UPDATE), builds the entry with the next
// sequence number, seals it with the head's hash, inserts it and moves the
// head. The lock serialises appends on PostgreSQL, where two transactions
// could otherwise both read the same head and fork the chain; on SQLite the
// write transaction is exclusive already. Take it last (after the request
// row), as every command does, so that locks are always taken in one order.
//
// rec.At is kept to the microsecond, in UTC; a zero At means now. Text
// fields are made valid UTF-8 without NUL bytes before sealing, because
// PostgreSQL refuses to store anything else (a failed log-in records
// whatever name was tried) and what is stored must be what was sealed.
func (t *tx) AppendAudit(ctx context.Context, rec workflow.AuditRecord) error {
	// Encode before taking the lock, to hold it as briefly as possible.
	details, err := audit.CanonicalDetails(rec.Details)
	if err != nil {
		return err
	}
	at := rec.At
	if at.IsZero() {
		at = time.Now()
	}
	e := audit.Entry{
		At:        at.UTC().Truncate(time.Microsecond),
		Actor:     cleanText(rec.Actor),
		Authority: cleanText(rec.Authority),
		Action:    cleanText(rec.Action),
		RequestID: cleanText(rec.RequestID),
		Outcome:   cleanText(rec.Outcome),
		Details:   details,
	}

	db := t.db.WithContext(ctx)
	var head auditHeadRow
	err = db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("id = ?", auditHeadID).Take(&head).Error
	if err != nil {
		return fmt.Errorf("read audit head: %w", err)
	}
	e.Seq = head.Seq + 1
	e.PrevHash = head.Hash
	e.Hash = audit.Seal(t.store.key, head.Hash, e)
	row := auditFromEntry(e)
	if err := db.Create(&row).Error; err != nil {
		return fmt.Errorf("append audit entry %d: %w", e.Seq, err)
	}
	res := db.Model(&auditHeadRow{}).Where("id = ? AND seq = ?", auditHeadID, head.Seq).
		Updates(map[string]any{"seq": e.Seq, "hash": e.Hash})
	if res.Error != nil {
		return fmt.Errorf("move audit head: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		// Cannot happen while the head is locked; if it does, the chain
		// would fork, so the whole command fails instead.
		return errors.New("move audit head: the head moved during the append")
	}
	return nil
}

// cleanText replaces invalid UTF-8 and NUL bytes with U+FFFD.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// RecordAudit appends one audit record in its own transaction, for events
// that change nothing else (log-ins, refused attempts).
func (s *Store) RecordAudit(ctx context.Context, rec workflow.AuditRecord) error {
	return s.WithTx(ctx, func(tx workflow.Tx) error { return tx.AppendAudit(ctx, rec) })
}

// AuditEntries returns one page of audit entries, newest first, narrowed by
// the filter's fields that are set, and the cursor of the next page ("" on
// the last).
func (s *Store) AuditEntries(ctx context.Context, f workflow.AuditFilter) ([]workflow.AuditEntry, string, error) {
	limit := pageLimit(f.Limit)
	after, err := decodeCursor(auditCursor, f.Cursor)
	if err != nil {
		return nil, "", err
	}
	q := s.r.WithContext(ctx).Model(&auditRow{})
	for _, c := range []struct{ column, value string }{
		{"authority", f.Authority}, {"request_id", f.RequestID}, {"action", f.Action},
		{"actor", f.Actor}, {"outcome", f.Outcome},
	} {
		if c.value != "" {
			q = q.Where(c.column+" = ?", c.value)
		}
	}
	if after > 0 {
		q = q.Where("seq < ?", after)
	}
	var rows []auditRow
	if err := q.Order("seq DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", s.fail(err, "list audit entries")
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = encodeCursor(auditCursor, rows[limit-1].Seq)
	}
	out := make([]workflow.AuditEntry, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, next, nil
}

// VerifyAudit recomputes the whole chain with the store's key and compares
// its end with the head row. It reads the head first and then the entries
// up to it, in batches of verifyBatch in sequence order, so that memory
// stays flat and entries appended meanwhile (beyond that head) do not count
// as tampering. BrokenAt names the first bad entry: a modified one, the
// first of a deleted run (also at the tail, which the head row reveals), the
// first out of place, or the first beyond a head that was reset.
func (s *Store) VerifyAudit(ctx context.Context) (workflow.AuditVerification, error) {
	db := s.r.WithContext(ctx)
	var head auditHeadRow
	err := db.Where("id = ?", auditHeadID).Take(&head).Error
	if notFound(err) {
		return workflow.AuditVerification{BrokenAt: 1, Problem: "the audit head record is missing"}, nil
	}
	if err != nil {
		return workflow.AuditVerification{}, s.fail(err, "read audit head")
	}
	v := audit.NewVerifier(s.key)
	last := int64(0)
	intact := true
	for intact && last < head.Seq {
		var batch []auditRow
		err := db.Where("seq > ? AND seq <= ?", last, head.Seq).Order("seq").Limit(verifyBatch).Find(&batch).Error
		if err != nil {
			return workflow.AuditVerification{}, s.fail(err, "read audit entries")
		}
		if len(batch) == 0 {
			break
		}
		for _, row := range batch {
			if intact = v.Add(row.toEntry()); !intact {
				break
			}
		}
		last = batch[len(batch)-1].Seq
	}
	if intact {
		intact = v.CheckHead(head.Seq, head.Hash)
	}
	res := v.Result()
	if intact {
		// Entries beyond the head mean a head reset (or deleted and seeded
		// again by the next start), which would otherwise hide the whole
		// chain. Entries appended since the head was read are no such
		// thing: the head is read again after the entries, and an append
		// moves both in one transaction.
		beyond, err := s.entriesBeyondHead(ctx)
		if err != nil {
			return workflow.AuditVerification{}, err
		}
		if beyond > 0 {
			res.OK = false
			res.BrokenAt = beyond
			res.Reason = fmt.Sprintf("entry %d lies beyond the recorded head: the head has been reset, or entries inserted", beyond)
		}
	}
	return workflow.AuditVerification{
		OK: res.OK, Entries: res.Count, Head: res.Head, BrokenAt: res.BrokenAt, Problem: res.Reason,
	}, nil
}

// entriesBeyondHead returns the first sequence number after the current
// head if any entry has one that high, and 0 otherwise.
func (s *Store) entriesBeyondHead(ctx context.Context) (int64, error) {
	db := s.r.WithContext(ctx)
	var maxSeq int64
	if err := db.Model(&auditRow{}).Select("COALESCE(MAX(seq), 0)").Scan(&maxSeq).Error; err != nil {
		return 0, s.fail(err, "read audit entries")
	}
	var head auditHeadRow
	if err := db.Where("id = ?", auditHeadID).Take(&head).Error; err != nil {
		if notFound(err) {
			return 1, nil
		}
		return 0, s.fail(err, "read audit head")
	}
	if maxSeq > head.Seq {
		return head.Seq + 1, nil
	}
	return 0, nil
}
