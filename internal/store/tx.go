package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// WithTx runs fn in one write transaction and commits when fn returns nil;
// any error, or a panic, rolls back everything fn did. The transaction goes
// through the group-commit writer (groupcommit.go): fn runs on the writer's
// goroutine, inside a savepoint of a transaction it may share with other
// callers' functions, and WithTx returns only after that transaction has
// committed, or has failed with ErrUnavailable and kept nothing. A panic in
// fn is raised again here. fn must not call WithTx itself. fn may run more
// than once, each time in a fresh transaction (a batch that failed before
// its commit runs again), so it must do nothing outside the transaction
// but set its results, and set them on every run.
// Errors meaning the database cannot write now come back as ErrUnavailable.
func (s *Store) WithTx(ctx context.Context, fn func(workflow.Tx) error) error {
	return s.withTx(ctx, func(t *tx) error { return fn(t) })
}

// withTx is WithTx for this package's own commands, which need more of the
// transaction than workflow.Tx offers. Every write transaction goes
// through it, so an attempt under an Idempotency-Key (ctx carries its
// claim) marks its key in the transaction of its change (withClaim).
func (s *Store) withTx(ctx context.Context, fn func(*tx) error) error {
	return s.fail(s.gc.submit(ctx, s.withClaim(ctx, fn)), "write transaction")
}

// tx is a write transaction; it implements workflow.Tx. Its methods must be
// called from the goroutine running the WithTx callback, and not after it
// has returned.
type tx struct {
	db    *gorm.DB
	store *Store
	batch *batchTx // the group commit this transaction is part of
	// read holds the rows Request read, so that updateRequest writes only
	// the columns that changed.
	read map[string]requestRow
	// counts holds the transaction's changes of request_counts, added to
	// the batch's if it succeeds.
	counts []countChange
}

var _ workflow.Tx = (*tx)(nil)

// Request reads a request for update. On PostgreSQL the row stays locked
// (SELECT ... FOR UPDATE) until the transaction ends, so two commands on one
// request run one after the other and the second sees the first's result.
// GORM drops the clause on SQLite, where the whole write transaction is
// exclusive anyway. Lock order, everywhere: the audit head, which the
// group-commit batch locks when it begins (batchTx.begin), then request
// rows.
//
// Every command reads its request here, so it is written by hand: GORM's
// statement building and reflection cost more than SQLite's work.
func (t *tx) Request(ctx context.Context, id string) (workflow.Request, error) {
	var row requestRow
	err := t.batch.sqlTx.QueryRowContext(context.WithoutCancel(ctx), t.store.sql.requestForUpdate, id).
		Scan(row.scanTargets()...)
	if errors.Is(err, sql.ErrNoRows) {
		return workflow.Request{}, errRequestNotFound
	}
	if err != nil {
		return workflow.Request{}, err
	}
	if t.read == nil {
		t.read = map[string]requestRow{}
	}
	t.read[id] = row
	return row.toDomain()
}

// Authority reads one central authority.
func (t *tx) Authority(ctx context.Context, code string) (workflow.Authority, error) {
	return authorityByCode(t.db.WithContext(ctx), code)
}

func authorityByCode(db *gorm.DB, code string) (workflow.Authority, error) {
	var row authorityRow
	err := db.Where("code = ?", code).Take(&row).Error
	if notFound(err) {
		return workflow.Authority{}, workflow.Errorf(workflow.ErrNotFound, "authority not found")
	}
	if err != nil {
		return workflow.Authority{}, err
	}
	return row.toDomain(), nil
}

// nextSerialSQL increments the counter of one authority, kind and year, or
// starts it at 1, in one statement. The upsert takes the counter row's lock,
// so two transactions never get the same number. RETURNING needs SQLite 3.35
// (checked at Open); PostgreSQL has it since 8.2.
const nextSerialSQL = `INSERT INTO reference_counters (authority, kind, year, last_serial)
VALUES (?, ?, ?, 1)
ON CONFLICT (authority, kind, year) DO UPDATE SET last_serial = reference_counters.last_serial + 1
RETURNING last_serial`

// NextSerial returns the next serial number of the authority's references of
// that kind and year, starting at 1.
func (t *tx) NextSerial(ctx context.Context, authority string, kind workflow.Kind, year int) (int64, error) {
	var n int64
	if err := t.db.WithContext(ctx).Raw(nextSerialSQL, authority, string(kind), year).Scan(&n).Error; err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, errors.New("reference counter returned no number")
	}
	return n, nil
}

// createRequest inserts a new request (Apply).
func (t *tx) createRequest(ctx context.Context, r workflow.Request) error {
	row, err := requestFromDomain(r)
	if err != nil {
		return err
	}
	if err := t.requestWriteError(t.db.WithContext(ctx).Omit(clause.Associations).Create(&row).Error); err != nil {
		return err
	}
	t.countDelta(countKey{}, countKeyOf(row))
	return nil
}

// requestWriteError turns the error of writing a request row into the
// workflow's: a taken id or reference is a conflict, an unknown authority a
// field error. It translates the driver's error itself, as GORM does for
// its own statements, for the hand-written ones.
func (t *tx) requestWriteError(err error) error {
	if err == nil {
		return nil
	}
	if tr, ok := t.db.Dialector.(gorm.ErrorTranslator); ok {
		err = tr.Translate(err)
	}
	switch {
	case isDuplicate(err):
		return workflow.Errorf(workflow.ErrConflict, "a request with this id or reference exists")
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return workflow.Invalid("requested_authority", "no such authority")
	}
	return err
}

// updateRequest writes every field of r but its id and creation time, if the
// stored version is still oldVersion. The version condition is checked by
// the UPDATE itself, so it holds even without a lock (SQLite, or a caller
// that did not read the row in this transaction).
func (t *tx) updateRequest(ctx context.Context, r workflow.Request, oldVersion int) error {
	row, err := requestFromDomain(r)
	if err != nil {
		return err
	}
	cols := row.updateColumns()
	prev, known := t.read[r.ID]
	known = known && prev.Version == oldVersion
	var before []column
	var counted countKey // where the request is counted now
	if known {
		before = prev.updateColumns()
		counted = countKeyOf(prev)
	} else {
		err := t.batch.sqlTx.QueryRowContext(context.WithoutCancel(ctx), t.store.sql.requestCountKey, r.ID, oldVersion).
			Scan(&counted.requesting, &counted.requested, &counted.state)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// No row: the UPDATE below changes nothing and says why.
	}
	// By hand, like Request. The columns go in a fixed order, so that an
	// event's UPDATE is always the same text and stays prepared.
	var q strings.Builder
	args := make([]any, 0, len(cols)+2)
	q.WriteString("UPDATE requests SET ")
	for i, c := range cols {
		if known && before[i].value == c.value {
			// Write only what changed since this transaction read the row
			// (the version condition below proves it is still that row):
			// an event changes the state, the version and the time, and
			// SQLite then leaves alone the indexes on every other column.
			continue
		}
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString(c.name)
		q.WriteString(" = ?")
		args = append(args, c.value)
	}
	q.WriteString(" WHERE id = ? AND version = ?")
	args = append(args, r.ID, oldVersion)
	res, err := t.batch.sqlTx.ExecContext(context.WithoutCancel(ctx), rebind(t.store.postgres, q.String()), args...)
	if err != nil {
		return t.requestWriteError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return workflow.Errorf(workflow.ErrVersionConflict,
			"the request has changed since version %d; reload it and try again", oldVersion)
	}
	delete(t.read, r.ID)
	t.countDelta(counted, countKeyOf(row))
	return nil
}

// requestColumns are the columns of requestRow in the order of
// scanTargets; TestRequestColumns checks both against the row type, so a
// new column of requestRow belongs here, in scanTargets and in
// updateColumns too.
const requestColumns = "seq, id, reference, kind, state, version, requesting_authority, requested_authority, " +
	"title, summary, legal_basis, offences, measures, urgency, urgency_reason, due_date, person_sought, warrant, " +
	"created_at_us, updated_at_us, instrument, purpose, requested_reference, persons, deadlines, next_due_at_us, created_by"

// scanTargets returns pointers to the fields of row, in the order of
// requestColumns.
func (row *requestRow) scanTargets() []any {
	return []any{&row.Seq, &row.ID, &row.Reference, &row.Kind, &row.State, &row.Version,
		&row.RequestingAuthority, &row.RequestedAuthority, &row.Title, &row.Summary, &row.LegalBasis,
		&row.Offences, &row.Measures, &row.Urgency, &row.UrgencyReason, &row.DueDate, &row.PersonSought,
		&row.Warrant, &row.CreatedUS, &row.UpdatedUS, &row.Instrument, &row.Purpose, &row.RequestedReference,
		&row.Persons, &row.Deadlines, &row.NextDueUS, &row.CreatedBy}
}

// scanRequests runs a query of requests that GORM built (conditions,
// order, limit) and reads the rows itself, through scanTargets: GORM's
// reflection took longer to fill a page of the list than SQLite took to
// find it.
func scanRequests(q *gorm.DB) ([]requestRow, error) {
	rs, err := q.Select(requestColumns).Rows()
	if err != nil {
		return nil, err
	}
	return scanRequestRows(rs, 0)
}

// scanRequestRows reads rows of requestColumns through scanTargets and
// closes rs; size is how many to make room for.
func scanRequestRows(rs *sql.Rows, size int) ([]requestRow, error) {
	defer rs.Close()
	out := make([]requestRow, 0, size)
	for rs.Next() {
		var row requestRow
		if err := rs.Scan(row.scanTargets()...); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rs.Err()
}

// column is a column's name and value.
type column struct {
	name  string
	value any
}

// updateColumns lists the columns updateRequest writes, in the order of
// their names: every one but the id, the sequence number and the creation
// time. A new column of requestRow belongs here too.
func (row requestRow) updateColumns() []column {
	return []column{
		{"created_by", row.CreatedBy},
		{"deadlines", row.Deadlines},
		{"due_date", row.DueDate},
		{"instrument", row.Instrument},
		{"kind", row.Kind},
		{"legal_basis", row.LegalBasis},
		{"measures", row.Measures},
		{"next_due_at_us", nullable(row.NextDueUS)},
		{"offences", row.Offences},
		{"person_sought", row.PersonSought},
		{"persons", row.Persons},
		{"purpose", row.Purpose},
		{"reference", row.Reference},
		{"requested_authority", row.RequestedAuthority},
		{"requested_reference", row.RequestedReference},
		{"requesting_authority", row.RequestingAuthority},
		{"state", row.State},
		{"summary", row.Summary},
		{"title", row.Title},
		{"updated_at_us", row.UpdatedUS},
		{"urgency", row.Urgency},
		{"urgency_reason", row.UrgencyReason},
		{"version", row.Version},
		{"warrant", row.Warrant},
	}
}

// nullable is the value of a nullable column: nil, or the value itself, so
// that two reads of one value compare equal (updateRequest).
func nullable(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// updateAuthority writes an authority's settings (Apply).
func (t *tx) updateAuthority(ctx context.Context, a workflow.Authority) error {
	res := t.db.WithContext(ctx).Model(&authorityRow{}).Where("code = ?", a.Code).
		Update("completeness_policy", string(a.CompletenessPolicy))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return workflow.Errorf(workflow.ErrNotFound, "authority not found")
	}
	return nil
}

// appendHistory records one transition of a request (Apply).
func (t *tx) appendHistory(h workflow.HistoryEntry) error {
	row, err := historyFromDomain(h)
	if err != nil {
		return err
	}
	// Written with the other items' when the batch ends, in one statement
	// (batchTx.finish): on PostgreSQL a round trip to the server saved per
	// transition, on SQLite a statement's overhead. The request row is
	// locked by this transaction (or the whole database is, on SQLite), so
	// its foreign key holds then as now.
	t.batch.parts[partHistory].add(row.appendArgs)
	return nil
}
