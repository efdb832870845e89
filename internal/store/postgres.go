package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// postgresConns is the size of the PostgreSQL pool, shared by reads and
// writes. Appends serialise on the audit head anyway, so a larger pool would
// mostly hold connections waiting for that lock.
const postgresConns = 16

// migrationLockID is the PostgreSQL advisory lock key held while migrating,
// so that several servers starting at once on one database do not race to
// create the same tables ("mlaflow" in ASCII).
const migrationLockID = 0x6d6c61666c6f77

// isPostgresDSN reports whether dsn selects PostgreSQL.
func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openPostgres opens one pool for reads and writes.
func openPostgres(ctx context.Context, dsn string, cfg *gorm.Config) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(postgresConns)
	sqlDB.SetMaxIdleConns(postgresConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return db, nil
}

// migratePostgres runs the migrations in one transaction holding an advisory
// lock: PostgreSQL's DDL is transactional, so a failed migration leaves
// nothing half done, and a second server waits instead of colliding.
func migratePostgres(ctx context.Context, db *gorm.DB, key []byte) (old legacy, err error) {
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockID).Error; err != nil {
			return fmt.Errorf("lock for migration: %w", err)
		}
		old, err = migrateAndSeed(tx, key)
		return err
	})
	return old, err
}
