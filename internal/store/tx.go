package store

import (
	"context"
	"errors"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mla-flow/mla-flow/internal/workflow"
)

// WithTx runs fn in one write transaction and commits when fn returns nil;
// any error, or a panic, rolls everything back. On SQLite the transaction
// runs on the one writer connection and begins IMMEDIATE, so it holds the
// write lock from its first statement; callers queue for the connection.
// Errors meaning the database cannot write now come back as ErrUnavailable.
func (s *Store) WithTx(ctx context.Context, fn func(workflow.Tx) error) error {
	return s.withTx(ctx, func(t *tx) error { return fn(t) })
}

// withTx is WithTx for this package's own commands, which need more of the
// transaction than workflow.Tx offers.
func (s *Store) withTx(ctx context.Context, fn func(*tx) error) error {
	err := s.w.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		return fn(&tx{db: db, store: s})
	})
	return s.fail(err, "write transaction")
}

// tx is a write transaction; it implements workflow.Tx. Its methods must be
// called from the goroutine running the WithTx callback, and not after it
// has returned.
type tx struct {
	db    *gorm.DB
	store *Store
}

var _ workflow.Tx = (*tx)(nil)

// Request reads a request for update. On PostgreSQL the row stays locked
// (SELECT ... FOR UPDATE) until the transaction ends, so two commands on one
// request run one after the other and the second sees the first's result.
// GORM drops the clause on SQLite, where the whole write transaction is
// exclusive anyway. Lock order, everywhere: the request row, then the audit
// head, so that two transactions cannot wait for each other.
func (t *tx) Request(ctx context.Context, id string) (workflow.Request, error) {
	var row requestRow
	err := t.db.WithContext(ctx).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("id = ?", id).Take(&row).Error
	if notFound(err) {
		return workflow.Request{}, errRequestNotFound
	}
	if err != nil {
		return workflow.Request{}, err
	}
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

// CreateRequest inserts a new request.
func (t *tx) CreateRequest(ctx context.Context, r workflow.Request) error {
	row, err := requestFromDomain(r)
	if err != nil {
		return err
	}
	err = t.db.WithContext(ctx).Omit(clause.Associations).Create(&row).Error
	switch {
	case isDuplicate(err):
		return workflow.Errorf(workflow.ErrConflict, "a request with this id or reference exists")
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return workflow.Invalid("requested_authority", "no such authority")
	}
	return err
}

// UpdateRequest writes every field of r but its id and creation time, if the
// stored version is still oldVersion. The version condition is checked by
// the UPDATE itself, so it holds even without a lock (SQLite, or a caller
// that did not read the row in this transaction).
func (t *tx) UpdateRequest(ctx context.Context, r workflow.Request, oldVersion int) error {
	row, err := requestFromDomain(r)
	if err != nil {
		return err
	}
	res := t.db.WithContext(ctx).Model(&requestRow{}).
		Where("id = ? AND version = ?", r.ID, oldVersion).
		Updates(map[string]any{
			"reference":            row.Reference,
			"kind":                 row.Kind,
			"state":                row.State,
			"version":              row.Version,
			"requesting_authority": row.RequestingAuthority,
			"requested_authority":  row.RequestedAuthority,
			"title":                row.Title,
			"summary":              row.Summary,
			"legal_basis":          row.LegalBasis,
			"offences":             row.Offences,
			"measures":             row.Measures,
			"urgency":              row.Urgency,
			"urgency_reason":       row.UrgencyReason,
			"due_date":             row.DueDate,
			"person_sought":        row.PersonSought,
			"warrant":              row.Warrant,
			"updated_at_us":        row.UpdatedUS,
		})
	if errors.Is(res.Error, gorm.ErrForeignKeyViolated) {
		return workflow.Invalid("requested_authority", "no such authority")
	}
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return workflow.Errorf(workflow.ErrVersionConflict,
			"the request has changed since version %d; reload it and try again", oldVersion)
	}
	return nil
}

// AppendHistory records one transition of a request.
func (t *tx) AppendHistory(ctx context.Context, h workflow.HistoryEntry) error {
	row, err := historyFromDomain(h)
	if err != nil {
		return err
	}
	return t.db.WithContext(ctx).Omit(clause.Associations).Create(&row).Error
}
