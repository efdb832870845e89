package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// verifyBatch is how many entries VerifyAudit reads per query: enough to
// make the round trips negligible and to share the MACs of a page among the
// CPUs, few enough to keep memory flat however long the chain grows.
const verifyBatch = 4096

// appendAudit chains rec to the audit log inside the transaction (Apply). The
// entry is built and its details encoded here; it is numbered after the
// chain head, sealed with the head's hash and written when the group-commit
// batch ends (batchTx.finish), with the other items' entries, in the order
// the items ran, in the same database transaction as the change: it is
// dropped if this transaction rolls back to its savepoint, and if it cannot
// be written the batch fails before its commit and its transactions run
// again, each alone (groupcommit.go). Nothing happens without its record.
//
// rec.At is kept to the microsecond, in UTC; a zero At means now. Text
// fields are made valid UTF-8 without NUL bytes before sealing, because
// PostgreSQL refuses to store anything else (a failed log-in records
// whatever name was tried) and what is stored must be what was sealed.
func (t *tx) appendAudit(rec workflow.AuditRecord) error {
	e, err := auditEntry(rec)
	if err != nil {
		return err
	}
	t.batch.audit = append(t.batch.audit, e)
	return nil
}

// auditEntry builds the entry of rec, without its number and hashes.
func auditEntry(rec workflow.AuditRecord) (audit.Entry, error) {
	details, err := audit.CanonicalDetails(rec.Details)
	if err != nil {
		return audit.Entry{}, err
	}
	at := rec.At
	if at.IsZero() {
		at = time.Now()
	}
	return audit.Entry{
		At:        at.UTC().Truncate(time.Microsecond),
		Actor:     cleanText(rec.Actor),
		Authority: cleanText(rec.Authority),
		Action:    cleanText(rec.Action),
		RequestID: cleanText(rec.RequestID),
		Outcome:   cleanText(rec.Outcome),
		Details:   details,
	}, nil
}

// cleanText replaces invalid UTF-8 and NUL bytes with U+FFFD.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// RecordAudit applies, in its own transaction, a change that writes only
// its audit entry (refused attempts: a failed log-in, a refused refresh).
func (s *Store) RecordAudit(ctx context.Context, c workflow.Change) error {
	return s.WithTx(ctx, func(tx workflow.Tx) error { return tx.Apply(ctx, c) })
}

// AuditEntries returns one page of audit entries, newest first, narrowed by
// the filter's fields that are set, and the cursor of the next page ("" on
// the last).
func (s *Store) AuditEntries(ctx context.Context, f workflow.AuditFilter) ([]workflow.AuditEntry, string, error) {
	limit := pageLimit(f.Limit)
	after, err := s.decodeCursor(auditCursor, f.Cursor)
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
		next = s.encodeCursor(auditCursor, rows[limit-1].Seq)
	}
	out := make([]workflow.AuditEntry, len(rows))
	for i, row := range rows {
		out[i] = row.toDomain()
	}
	return out, next, nil
}

// VerifyAudit recomputes the whole chain with the store's key and compares
// its end with the head row, whose seal it checks; then it replays every
// request's audited changes and compares them with the request's row and
// history (verifyRequests). It reads the head first and then the entries
// up to it, in pages of verifyBatch in sequence order, so that memory stays
// flat and entries appended meanwhile (beyond that head) do not count as
// tampering. BrokenAt names the first bad entry: a modified one, the first
// of a deleted run (also at the tail, which the head row reveals, and its
// seal when the head was moved to match), the first out of place, or the
// first beyond a head that was reset; for a request that disagrees with the
// log, RequestID names it.
//
// It is built for speed, since a long chain is verified in full: raw SQL
// instead of GORM's reflection, pages read and their MACs checked on every
// CPU at once (readAuditPages), and on SQLite the text columns of a row
// read as one value (see readAuditPage); only the checks of order and
// links, which are cheap, run one entry after the other.
func (s *Store) VerifyAudit(ctx context.Context) (workflow.AuditVerification, error) {
	return s.verify(ctx, verifyAll)
}

// VerifyAuditChain is VerifyAudit without the replay of requests and
// accounts: the chain, its head and the head's seal. It is the quick part,
// which reads the log once in order; the replay reads every row beside it.
func (s *Store) VerifyAuditChain(ctx context.Context) (workflow.AuditVerification, error) {
	return s.verify(ctx, verifyChecks{seal: true})
}

// VerifyAuditRows is the replay of VerifyAudit alone: every account and
// request against its audited changes. Its Entries and Head are not set.
func (s *Store) VerifyAuditRows(ctx context.Context) (workflow.AuditVerification, error) {
	rb, err := s.verifyRows(ctx)
	if err != nil || rb == nil {
		return workflow.AuditVerification{OK: err == nil}, err
	}
	return rowBreak(rb), nil
}

// rowBreak is the verification that reports rb.
func rowBreak(rb *requestBreak) workflow.AuditVerification {
	v := workflow.AuditVerification{BrokenAt: rb.seq, Problem: requestProblem(rb)}
	if rb.user {
		v.UserID = rb.id
	} else {
		v.RequestID = rb.id
	}
	return v
}

// verifyChecks says what verify checks beyond the chain itself.
type verifyChecks struct {
	seal     bool // the head's seal (not yet on a database from before seals)
	requests bool // every request against its audited changes
}

var verifyAll = verifyChecks{seal: true, requests: true}

// verify is VerifyAudit with the checks of what.
func (s *Store) verify(ctx context.Context, what verifyChecks) (workflow.AuditVerification, error) {
	rdb, err := s.r.DB()
	if err != nil {
		return workflow.AuditVerification{}, err
	}
	head, err := s.readHead(ctx, rdb)
	if errors.Is(err, errHeadMissing) {
		return workflow.AuditVerification{BrokenAt: 1, Problem: errHeadMissing.Error()}, nil
	}
	if err != nil {
		return workflow.AuditVerification{}, err
	}

	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	pages := s.readAuditPages(readCtx, rdb, head.Seq)
	v := audit.NewVerifier(s.key)
	intact := true
	for p := range pages {
		if p.err != nil {
			return workflow.AuditVerification{}, s.fail(p.err, "read audit entries")
		}
		if intact = v.AddChecked(p.entries, p.macOK); !intact {
			break
		}
	}
	if intact {
		intact = v.CheckHead(head.Seq, head.Hash)
	}
	res := v.Result()
	out := func() workflow.AuditVerification {
		return workflow.AuditVerification{
			OK: res.OK, Entries: res.Count, Head: res.Head, BrokenAt: res.BrokenAt, Problem: res.Reason,
		}
	}
	broken := func(at int64, problem string) workflow.AuditVerification {
		res.OK, res.BrokenAt, res.Reason = false, at, problem
		return out()
	}
	if !intact {
		return out(), nil
	}
	// Entries beyond the head mean a head reset (or deleted and seeded
	// again by the next start), which would otherwise hide the whole
	// chain. Entries appended since the head was read are no such thing:
	// the head is read again after the entries, and an append moves both
	// in one transaction.
	beyond, err := s.entriesBeyondHead(ctx)
	if err != nil {
		return workflow.AuditVerification{}, err
	}
	if beyond > 0 {
		return broken(beyond, fmt.Sprintf("entry %d lies beyond the recorded head: the head has been reset, or entries inserted", beyond)), nil
	}
	if what.seal && !audit.HeadSealed(s.key, head.Seq, head.Hash, head.Seal) {
		return broken(head.Seq+1, fmt.Sprintf("the recorded head (entry %d) is not sealed with this audit key: "+
			"the entries after it may have been deleted and the head moved back to match, "+
			"or the key is not the one the log was written with", head.Seq)), nil
	}
	if head.Seq == 0 {
		// The seal of an empty chain is the same for every database with
		// this key, and whoever saw it can put it back: an empty log is
		// valid only on a database with nothing that would have been
		// logged.
		holds, err := s.holdsLoggedRows(ctx)
		if err != nil {
			return workflow.AuditVerification{}, err
		}
		if holds {
			return broken(1, "the audit log is empty, but the database holds users or requests: the log has been wiped"), nil
		}
	}
	if !what.requests {
		return out(), nil
	}
	rb, err := s.verifyRows(ctx)
	if err != nil {
		return workflow.AuditVerification{}, err
	}
	if rb != nil {
		v := rowBreak(rb)
		v.Entries, v.Head = res.Count, res.Head
		return v, nil
	}
	return out(), nil
}

// requestProblem says which request or account disagrees with the log,
// and how.
func requestProblem(rb *requestBreak) string {
	what, many := "request", "requests"
	if rb.user {
		what, many = "account", "accounts"
	}
	name := rb.id
	if rb.reference != "" {
		name = rb.reference + " (id " + rb.id + ")"
	}
	msg := fmt.Sprintf("%s %s does not match its audited changes: %s", what, name, rb.problem)
	if rb.count > 1 {
		msg += fmt.Sprintf(" (%d %s disagree with the log in all)", rb.count, many)
	}
	return msg
}

// holdsLoggedRows tells whether the database has users or requests, whose
// creation the audit log records.
func (s *Store) holdsLoggedRows(ctx context.Context) (bool, error) {
	holds, err := anyRow(s.r.WithContext(ctx), &userRow{}, &requestRow{})
	return holds, s.fail(err, "look for users and requests")
}

// anyRow tells whether any of the tables of rows has a row; tables that do
// not exist have none. It reads one row at most of each.
func anyRow(db *gorm.DB, rows ...any) (bool, error) {
	for _, row := range rows {
		if !db.Migrator().HasTable(row) {
			continue
		}
		var one []int
		if err := db.Model(row).Select("1").Limit(1).Scan(&one).Error; err != nil {
			return false, err
		}
		if len(one) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// auditPage is one page of entries read for verification, with their MACs
// checked, or the error that ended the reading.
type auditPage struct {
	entries []audit.Entry
	macOK   []bool
	err     error
}

// readAuditPages reads the entries up to headSeq and checks their MACs, on
// as many goroutines as there are CPUs, each with a read connection of its
// own; it returns the pages in sequence order. Page k holds the entries
// numbered k*verifyBatch+1 to (k+1)*verifyBatch, as far as they exist, and
// goes to reader k mod n, so that the pages arrive in order while all the
// readers work. Reading ends when ctx does (the caller found a break).
func (s *Store) readAuditPages(ctx context.Context, db *sql.DB, headSeq int64) <-chan auditPage {
	readers := max(1, min(runtime.GOMAXPROCS(0), readerConns, 8))
	if s.postgres {
		readers = max(1, min(runtime.GOMAXPROCS(0), postgresConns/4, 8))
	}
	npages := (headSeq + verifyBatch - 1) / verifyBatch
	chans := make([]chan auditPage, readers)
	for r := range chans {
		chans[r] = make(chan auditPage, 2)
		go func(r int, out chan<- auditPage) {
			defer close(out)
			checker := audit.NewMACChecker(s.key)
			for k := int64(r); k < npages; k += int64(readers) {
				lo, hi := k*verifyBatch, min((k+1)*verifyBatch, headSeq)
				es, err := s.readAuditPage(ctx, db, lo, hi)
				p := auditPage{entries: es, err: err}
				if err == nil {
					p.macOK = make([]bool, len(es))
					checker.Check(es, p.macOK)
				}
				select {
				case out <- p:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}(r, chans[r])
	}
	ordered := make(chan auditPage)
	go func() {
		defer close(ordered)
		for k := int64(0); k < npages; k++ {
			var p auditPage
			select {
			case p = <-chans[k%int64(readers)]:
			case <-ctx.Done():
				return
			}
			select {
			case ordered <- p:
			case <-ctx.Done():
				return
			}
			if p.err != nil {
				return
			}
		}
	}()
	return ordered
}

// readAuditPage reads the entries numbered after last, up to hi, at most
// verifyBatch of them.
//
// On SQLite the eight text columns come as one value, joined by NUL bytes
// in SQL (see statements.verifyPage): every column costs the driver a call
// into C and a Go string, and this way a row costs one of each, and the
// fields are substrings of it. The stored fields never hold a NUL (the
// store writes none), so a row that does not split into exactly eight
// fields has been tampered with: it is handed to the verifier with a hash
// that cannot match, and is reported as altered.
func (s *Store) readAuditPage(ctx context.Context, db *sql.DB, last, hi int64) ([]audit.Entry, error) {
	rows, err := db.QueryContext(ctx, s.sql.verifyPage, last, hi, verifyBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	es := make([]audit.Entry, 0, verifyBatch)
	for rows.Next() {
		var e audit.Entry
		var at int64
		if s.postgres {
			err = rows.Scan(&e.Seq, &at, &e.Actor, &e.Authority, &e.Action, &e.RequestID, &e.Outcome,
				&e.Details, &e.PrevHash, &e.Hash)
		} else {
			var packed sql.NullString
			err = rows.Scan(&e.Seq, &at, &packed)
			unpackAudit(&e, packed)
		}
		if err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		es = append(es, e)
	}
	return es, rows.Err()
}

// unpackAudit splits the joined text columns of an entry (see
// readAuditPage) into e.
func unpackAudit(e *audit.Entry, packed sql.NullString) {
	var f [8]string
	n := 0
	rest := packed.String
	for n < len(f)-1 {
		i := strings.IndexByte(rest, 0)
		if i < 0 {
			break
		}
		f[n], rest = rest[:i], rest[i+1:]
		n++
	}
	f[n] = rest
	n++
	if !packed.Valid || n != len(f) || strings.IndexByte(rest, 0) >= 0 {
		// NULL, or a NUL inside a field: the row is not what the store
		// wrote. Keep its links if they can be told, so that the verifier
		// reports the entry as altered rather than as unlinked.
		parts := strings.Split(packed.String, "\x00")
		if len(parts) >= 2 {
			e.PrevHash = parts[len(parts)-2]
		}
		e.Hash = "not as written: a text field holds a NUL byte or is NULL"
		return
	}
	e.Actor, e.Authority, e.Action, e.RequestID, e.Outcome, e.Details, e.PrevHash, e.Hash =
		f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
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
