package store

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm/clause"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// Loader writes generated requests, their history and their audit records
// in bulk, for benchmarks and demonstrations (server seed): never for real
// casework, because it skips the workflow's rules. What it writes is
// otherwise what the service would have written: the same rows, and audit
// entries chained and sealed with the store's key after the chain's current
// head, in the order they were given, so that the server serves the data
// and verification accepts the chain.
//
// Rows are buffered and written in large transactions through the
// group-commit writer, while the caller prepares the next ones. A request
// must be given before its history. A Loader is not safe for concurrent
// use; Close writes what is left and must be called.
type Loader struct {
	s        *Store
	ctx      context.Context
	buf      *loadBatch
	inflight chan error // the write of the previous batch, nil when none
	counters map[counterKey]int64
	// Written counts what has been written so far.
	Written LoadCounts
	pending LoadCounts
}

// LoadCounts counts loaded rows.
type LoadCounts struct {
	Requests, History, Audit int64
}

type counterKey struct {
	authority, kind string
	year            int
}

// loadBatch is what one transaction of the loader writes.
type loadBatch struct {
	requests []requestRow
	history  []historyRow
	audit    []audit.Entry // sealed when written: Seq, PrevHash and Hash unset
}

func (b *loadBatch) size() int { return len(b.requests) + len(b.history) + len(b.audit) }

// loadRowsPerTx is how many rows one loader transaction writes: large
// enough that commits cost nothing, small enough to keep memory flat.
const loadRowsPerTx = 20000

// NewLoader returns a loader that writes to the store.
func (s *Store) NewLoader(ctx context.Context) *Loader {
	return &Loader{s: s, ctx: ctx, buf: &loadBatch{}, counters: map[counterKey]int64{}}
}

// Request queues a request.
func (l *Loader) Request(r workflow.Request) error {
	row, err := requestFromDomain(r)
	if err != nil {
		return err
	}
	l.buf.requests = append(l.buf.requests, row)
	return l.maybeFlush()
}

// History queues one transition of a request given earlier.
func (l *Loader) History(h workflow.HistoryEntry) error {
	row, err := historyFromDomain(h)
	if err != nil {
		return err
	}
	l.buf.history = append(l.buf.history, row)
	return l.maybeFlush()
}

// Audit queues an audit record, to be chained after the records queued
// before it.
func (l *Loader) Audit(rec workflow.AuditRecord) error {
	e, err := auditEntry(rec)
	if err != nil {
		return err
	}
	l.buf.audit = append(l.buf.audit, e)
	return l.maybeFlush()
}

// Counter records that serial numbers up to last have been used for
// references of the authority, kind and year; Close raises the stored
// counters to at least that, so that requests created later get new
// references.
func (l *Loader) Counter(authority string, kind workflow.Kind, year int, last int64) {
	k := counterKey{authority, string(kind), year}
	l.counters[k] = max(l.counters[k], last)
}

func (l *Loader) maybeFlush() error {
	if l.buf.size() < loadRowsPerTx {
		return nil
	}
	return l.flush()
}

// flush hands the buffered rows to a write of their own and waits for the
// previous one: one batch is written while the next is prepared.
func (l *Loader) flush() error {
	if err := l.wait(); err != nil {
		return err
	}
	b := l.buf
	l.buf = &loadBatch{
		requests: make([]requestRow, 0, len(b.requests)),
		history:  make([]historyRow, 0, len(b.history)),
		audit:    make([]audit.Entry, 0, len(b.audit)),
	}
	l.pending = LoadCounts{int64(len(b.requests)), int64(len(b.history)), int64(len(b.audit))}
	l.inflight = make(chan error, 1)
	go func(done chan<- error) { done <- l.s.withTx(l.ctx, func(t *tx) error { return t.load(b) }) }(l.inflight)
	return nil
}

func (l *Loader) wait() error {
	if l.inflight == nil {
		return nil
	}
	err := <-l.inflight
	l.inflight = nil
	if err != nil {
		return err
	}
	l.Written.Requests += l.pending.Requests
	l.Written.History += l.pending.History
	l.Written.Audit += l.pending.Audit
	return nil
}

// Close writes what is buffered and the reference counters.
func (l *Loader) Close() error {
	if err := l.flush(); err != nil {
		return err
	}
	if err := l.wait(); err != nil {
		return err
	}
	if len(l.counters) == 0 {
		return nil
	}
	return l.s.withTx(l.ctx, func(t *tx) error {
		for k, last := range l.counters {
			err := t.db.Exec(`INSERT INTO reference_counters (authority, kind, year, last_serial) VALUES (?, ?, ?, ?)
ON CONFLICT (authority, kind, year) DO UPDATE SET last_serial = CASE
  WHEN reference_counters.last_serial > excluded.last_serial THEN reference_counters.last_serial
  ELSE excluded.last_serial END`, k.authority, k.kind, k.year, last).Error
			if err != nil {
				return fmt.Errorf("reference counter: %w", err)
			}
		}
		return nil
	})
}

// load writes one loader batch: the requests now, the history and the
// audit entries when the batch ends, as for any transaction
// (batchTx.finish), so that the entries are chained after the head.
func (t *tx) load(b *loadBatch) error {
	for lo := 0; lo < len(b.requests); lo += insertChunk {
		// A copy: Create sets the rows' sequence numbers, which a run
		// again of this transaction (groupcommit.go) must not insert.
		chunk := slices.Clone(b.requests[lo:min(lo+insertChunk, len(b.requests))])
		if err := t.db.Omit(clause.Associations).Create(&chunk).Error; err != nil {
			return fmt.Errorf("load requests: %w", err)
		}
	}
	for _, r := range b.requests {
		t.countDelta(countKey{}, countKeyOf(r))
	}
	for i := range b.history {
		t.batch.parts[partHistory].add(b.history[i].appendArgs)
	}
	t.batch.audit = append(t.batch.audit, b.audit...)
	return nil
}

// Analyze refreshes the query planner's statistics of every table, as is
// due after a bulk load: the planner picks its indexes by them.
func (s *Store) Analyze(ctx context.Context) error {
	if err := s.w.WithContext(ctx).Exec("ANALYZE").Error; err != nil {
		return s.fail(err, "analyze")
	}
	return nil
}

// UsedSerials returns the last serial number given to a reference of the
// authority, kind and year (0 when none), for a loader that continues the
// numbers of what the database holds.
func (s *Store) UsedSerials(ctx context.Context, authority string, kind workflow.Kind, year int) (int64, error) {
	var last []int64
	err := s.r.WithContext(ctx).Model(&referenceCounterRow{}).
		Where("authority = ? AND kind = ? AND year = ?", authority, string(kind), year).
		Pluck("last_serial", &last).Error
	if err != nil || len(last) == 0 {
		return 0, s.fail(err, "read reference counter")
	}
	return last[0], nil
}
