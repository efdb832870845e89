package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mla-flow/mla-flow/internal/audit"
)

// The audit head's seal: what it protects, and who checks it.
//
// The head row says where the chain ends; its seal (audit.HeadSeal) says
// that someone holding the audit key put it there. Every batch that extends
// the chain checks the seal first and refuses to write on a head its key
// did not seal (batchTx.chainAudit): a head moved by someone without the
// key, or a chain written under another key — a second server started with
// another key file on the same PostgreSQL database, or a server given the
// wrong key file. Verification checks it too, so that cutting the tail and
// moving the head back to match is a break. The server checks it at start
// (CheckAuditHead) and refuses to serve when it fails.

// readHead reads the chain head through db (outside any write transaction).
func (s *Store) readHead(ctx context.Context, db *sql.DB) (auditHeadRow, error) {
	head := auditHeadRow{ID: auditHeadID}
	err := db.QueryRowContext(ctx, s.sql.readHeadPlain, auditHeadID).Scan(&head.Seq, &head.Hash, &head.Seal)
	if errors.Is(err, sql.ErrNoRows) {
		return head, errHeadMissing
	}
	if err != nil {
		return head, s.fail(err, "read audit head")
	}
	return head, nil
}

// errHeadMissing says that the head row is gone: the chain has no recorded
// end, which only tampering produces.
var errHeadMissing = errors.New("the audit head record is missing")

// CheckAuditHead tells whether this store's key sealed the chain's head,
// without reading the chain: a quick check that the server has the key the
// log was written with. It fails with an explanation when the head is
// missing or was sealed with another key (or moved by someone without one).
func (s *Store) CheckAuditHead(ctx context.Context) error {
	rdb, err := s.r.DB()
	if err != nil {
		return err
	}
	head, err := s.readHead(ctx, rdb)
	if err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	if !audit.HeadSealed(s.key, head.Seq, head.Hash, head.Seal) {
		return fmt.Errorf("the audit key does not verify the head of the audit chain (entry %d): "+
			"the key file is not the one this database's log was written with, or the head was altered "+
			"by someone without the key; nothing is written until this is resolved (run `server audit verify`)", head.Seq)
	}
	return nil
}

// sealLegacyHead seals the head of a database written before heads were
// sealed (legacy: its head had no seal column until this Open's migration
// added one), once its whole chain has verified under the store's key and
// its requests agree with it, so that the seal vouches only for what the
// key already vouches for. A chain that does not verify keeps its unsealed
// head: writes stay refused and verification reports the break.
//
// A head that had a seal column is never sealed here: an empty seal there
// is tampering (someone clearing it to have a cut tail sealed again), and
// verification reports it.
func (s *Store) sealLegacyHead(ctx context.Context, legacy bool) error {
	if !legacy {
		return nil
	}
	rdb, err := s.r.DB()
	if err != nil {
		return err
	}
	head, err := s.readHead(ctx, rdb)
	if err != nil || head.Seal != "" {
		return nil // missing: verification reports it; sealed: nothing to do
	}
	v, err := s.verify(ctx, verifyChecks{requests: true})
	if err != nil {
		return fmt.Errorf("verify the audit chain before sealing its head: %w", err)
	}
	if !v.OK {
		s.log.Error("AUDIT CHAIN BROKEN: its head is left unsealed and writes are refused",
			"broken_at", v.BrokenAt, "problem", v.Problem)
		return nil
	}
	// Directly, not through the group-commit writer, which is not started
	// yet and would refuse the unsealed head. The conditions make the
	// UPDATE a no-op if another server sealed or moved the head meanwhile.
	err = s.w.WithContext(ctx).Exec("UPDATE audit_head SET seal = ? WHERE id = ? AND seq = ? AND hash = ? AND seal = ''",
		audit.HeadSeal(s.key, head.Seq, head.Hash), auditHeadID, head.Seq, head.Hash).Error
	if err != nil {
		return fmt.Errorf("seal the audit head: %w", err)
	}
	s.log.Info("audit head sealed", "entries", head.Seq)
	return nil
}

// HoldsRecords tells whether the database at dsn holds anything of an audit
// chain: entries, users or requests. It changes nothing and creates nothing
// (a SQLite file that does not exist holds nothing), so that the server can
// ask it before it creates an audit key: a new key on a database that has a
// chain could neither verify nor extend it.
func HoldsRecords(ctx context.Context, dsn string) (bool, error) {
	if !isPostgresDSN(dsn) {
		if _, statErr := os.Stat(dsn); errors.Is(statErr, fs.ErrNotExist) {
			return false, nil
		}
	}
	db, err := openInspection(ctx, dsn)
	if err != nil {
		return false, err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	db = db.WithContext(ctx)
	holds, err := anyRow(db, &auditRow{}, &userRow{}, &requestRow{})
	if err != nil || holds {
		return holds, err
	}
	if !db.Migrator().HasTable(&auditHeadRow{}) {
		return false, nil
	}
	var seq int64
	if err := db.Model(&auditHeadRow{}).Select("COALESCE(MAX(seq), 0)").Scan(&seq).Error; err != nil {
		return false, fmt.Errorf("read audit head: %w", err)
	}
	return seq > 0, nil
}
