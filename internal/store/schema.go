package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mla-flow/mla-flow/internal/audit"
	"github.com/mla-flow/mla-flow/internal/migrate"
)

// The schema is the numbered SQL files of migrations/, one set per dialect,
// embedded in the binary (see internal/migrate). A change of schema is a new
// file; a released file is never edited, because every database records the
// checksum of what it applied.
//
//go:embed migrations
var migrationFiles embed.FS

// Migrations returns the migrations of a dialect, in order.
func Migrations(postgres bool) ([]migrate.Migration, error) {
	return migrate.Load(migrationFiles, migrationDir(postgres))
}

func migrationDir(postgres bool) string {
	if postgres {
		return "migrations/postgres"
	}
	return "migrations/sqlite"
}

// newMigrator returns the migrator of db, which adopts a database made
// before the schema was versioned (see adopt).
func newMigrator(db *sql.DB, postgres bool) (*migrate.Migrator, error) {
	migrations, err := Migrations(postgres)
	if err != nil {
		return nil, err
	}
	d := migrate.SQLite
	if postgres {
		d = migrate.Postgres
	}
	m := migrate.New(db, d, migrations, time.Now)
	m.Adopt = func(ctx context.Context, tx *sql.Tx) error { return adopt(ctx, tx, postgres) }
	return m, nil
}

// addedColumn is a column that a release before versioned migrations added
// to a table an earlier release had made. AutoMigrate added such columns to
// the databases of those releases; migration 0001, made of CREATE ... IF NOT
// EXISTS, does not, so adopt adds the ones a database lacks.
type addedColumn struct {
	table, column string
	sqlite        string // the column's definition in each dialect
	postgres      string
	// unprotected, when set, names what a database without the column
	// holds unprotected: the column is where its protection lives.
	unprotected string
}

var addedColumns = []addedColumn{
	{table: "requests", column: "urgency_reason", sqlite: "text NOT NULL DEFAULT ''", postgres: "text DEFAULT '' NOT NULL"},
	{table: "requests", column: "person_sought", sqlite: "text NOT NULL DEFAULT ''", postgres: "text DEFAULT '' NOT NULL"},
	{table: "requests", column: "warrant", sqlite: "text NOT NULL DEFAULT ''", postgres: "text DEFAULT '' NOT NULL"},
	{table: "users", column: "password_temporary", sqlite: "numeric NOT NULL DEFAULT false", postgres: "boolean DEFAULT false NOT NULL"},
	{table: "users", column: "seal", sqlite: "text NOT NULL DEFAULT ''", postgres: "text DEFAULT '' NOT NULL", unprotected: unprotectedUsers},
	{table: "audit_head", column: "seal", sqlite: "text NOT NULL DEFAULT ''", postgres: "text DEFAULT '' NOT NULL", unprotected: unprotectedHead},
	{table: "signing_keys", column: "sealed_secret", sqlite: "text NOT NULL DEFAULT ''", postgres: "text DEFAULT '' NOT NULL", unprotected: unprotectedSigningKeys},
}

// What a database from before a protection holds unprotected, as listed in
// the setting settingUnprotected.
const (
	unprotectedHead        = "audit_head"
	unprotectedSigningKeys = "signing_keys"
	unprotectedUsers       = "users"
)

// settingUnprotected lists, comma-separated, what an adopted database holds
// unprotected until Open has protected it (see protectLegacy). It is
// written in the transaction that adopts the database, so a crash between
// the adoption and the protection loses neither: the next Open protects.
const settingUnprotected = "schema.unprotected"

// adopt brings a database made by a release before versioned migrations up
// to the schema of migration 0001, in that migration's transaction: it adds
// the columns those releases added later, and records in settings what was
// unprotected for want of them. On an empty database it finds every column
// there and does nothing.
func adopt(ctx context.Context, tx *sql.Tx, postgres bool) error {
	var unprotected []string
	for _, c := range addedColumns {
		has, err := hasColumn(ctx, tx, postgres, c.table, c.column)
		if err != nil {
			return err
		}
		if has {
			continue
		}
		def := c.sqlite
		if postgres {
			def = c.postgres
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", c.table, c.column, def)); err != nil {
			return fmt.Errorf("add %s.%s: %w", c.table, c.column, err)
		}
		if c.unprotected != "" && !slices.Contains(unprotected, c.unprotected) {
			unprotected = append(unprotected, c.unprotected)
		}
	}
	if len(unprotected) == 0 {
		return nil
	}
	insert := "INSERT INTO settings (name, value) VALUES (?, ?)"
	if postgres {
		insert = "INSERT INTO settings (name, value) VALUES ($1, $2)"
	}
	if _, err := tx.ExecContext(ctx, insert, settingUnprotected, strings.Join(unprotected, ",")); err != nil {
		return fmt.Errorf("record what is unprotected: %w", err)
	}
	return nil
}

// hasColumn tells whether table has column, on the search path on
// PostgreSQL.
func hasColumn(ctx context.Context, tx *sql.Tx, postgres bool, table, column string) (bool, error) {
	query := "SELECT 1 FROM pragma_table_info(?) WHERE name = ?"
	if postgres {
		query = "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2"
	}
	rows, err := tx.QueryContext(ctx, query, table, column)
	if err != nil {
		return false, fmt.Errorf("look for %s.%s: %w", table, column, err)
	}
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}

// migrateAndSeed applies the pending migrations, then inserts the seeded
// authorities and the audit head, sealed with key, when they are missing.
// It is idempotent, and safe for several servers starting at once on one
// PostgreSQL database. It returns the migrations it applied.
func migrateAndSeed(ctx context.Context, db *gorm.DB, key []byte, postgres bool, log *slog.Logger) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	m, err := newMigrator(sqlDB, postgres)
	if err != nil {
		return err
	}
	applied, err := m.Apply(ctx)
	for _, mg := range applied {
		log.Info("schema migrated", "migration", mg.File())
	}
	if err != nil {
		return err
	}
	db = db.WithContext(ctx)
	rows := slices.Clone(seedAuthorities) // GORM may write to what it creates
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("seed authorities: %w", err)
	}
	head := auditHeadRow{ID: auditHeadID, Seq: 0, Hash: audit.GenesisHash, Seal: audit.HeadSeal(key, 0, audit.GenesisHash)}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&head).Error; err != nil {
		return fmt.Errorf("seed audit head: %w", err)
	}
	return nil
}

// protectLegacy protects, once, what an adopted database from before a
// protection holds unprotected, as the adoption recorded it, and then
// forgets the record. Each protection is idempotent, so one interrupted is
// done again at the next Open.
func (s *Store) protectLegacy(ctx context.Context) error {
	var row settingRow
	err := s.w.WithContext(ctx).Where("name = ?", settingUnprotected).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read what is unprotected: %w", err)
	}
	todo := strings.Split(row.Value, ",")
	if err := s.sealLegacySigningKeys(ctx, slices.Contains(todo, unprotectedSigningKeys)); err != nil {
		return err
	}
	if err := s.sealLegacyUsers(ctx, slices.Contains(todo, unprotectedUsers)); err != nil {
		return err
	}
	if err := s.sealLegacyHead(ctx, slices.Contains(todo, unprotectedHead)); err != nil {
		return err
	}
	if err := s.w.WithContext(ctx).Where("name = ?", settingUnprotected).Delete(&settingRow{}).Error; err != nil {
		return fmt.Errorf("forget what was unprotected: %w", err)
	}
	return nil
}

// MigrationReport reads what the database at dsn holds of this binary's
// migrations. It changes nothing and creates nothing: a SQLite file that
// does not exist reports every migration pending.
func MigrationReport(ctx context.Context, dsn string) (migrate.Report, error) {
	postgres := isPostgresDSN(dsn)
	migrations, err := Migrations(postgres)
	if err != nil {
		return migrate.Report{}, err
	}
	d := migrate.SQLite
	if postgres {
		d = migrate.Postgres
	}
	if !postgres {
		if _, err := os.Stat(dsn); errors.Is(err, fs.ErrNotExist) {
			return migrate.Empty(migrations), nil
		}
	}
	db, err := openInspection(ctx, dsn)
	if err != nil {
		return migrate.Report{}, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return migrate.Report{}, err
	}
	defer sqlDB.Close()
	return migrate.New(sqlDB, d, migrations, time.Now).Report(ctx)
}

// openInspection opens the database at dsn for reading only, without
// migrating it or taking the server lock: for tools that report on a
// database as they find it.
func openInspection(ctx context.Context, dsn string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: queryLogger{log: slog.New(slog.DiscardHandler)}}
	if isPostgresDSN(dsn) {
		return openPostgres(ctx, dsn, cfg)
	}
	rdsn, err := sqliteDSN(dsn, readerParams)
	if err != nil {
		return nil, err
	}
	return gorm.Open(sqlite.Open(rdsn), cfg)
}
