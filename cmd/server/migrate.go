package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mla-flow/mla-flow/internal/migrate"
	"github.com/mla-flow/mla-flow/internal/store"
)

// runMigrate applies the pending migrations, or with --dry-run lists them
// and changes nothing. Applying is an Open of the store: the same path as
// serve's start, which also seals what an adopted database from before a
// protection holds unprotected, so it needs the audit key as serve does.
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server migrate", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "list the migrations that would be applied, and change nothing")
	cfg, help, err := loadCommand(fs, args, getenv, stdout, stderr)
	if help || err != nil {
		return err
	}
	before, err := store.MigrationReport(ctx, cfg.DB)
	if err != nil {
		return err
	}
	if err := before.Problem(); err != nil {
		return err
	}
	pending := before.Pending()
	if *dryRun {
		if len(pending) == 0 {
			fmt.Fprintf(stdout, "nothing to apply: the schema is at %s\n", lastFile(before))
			return nil
		}
		if !before.Versioned {
			fmt.Fprintln(stdout, "the database has no schema_migrations yet (new, or made before versioned migrations)")
		}
		fmt.Fprintf(stdout, "would apply %d migration(s):\n", len(pending))
		for _, m := range pending {
			fmt.Fprintf(stdout, "  %s\n", m.File())
		}
		return nil
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, stderr), asTool)
	if err != nil {
		return err
	}
	st.Close()
	if len(pending) == 0 {
		fmt.Fprintf(stdout, "nothing to apply: the schema is at %s\n", lastFile(before))
		return nil
	}
	after, err := store.MigrationReport(ctx, cfg.DB)
	if err != nil {
		return err
	}
	applied := 0
	for i, s := range after.States {
		if s.Applied && !before.States[i].Applied {
			fmt.Fprintf(stdout, "applied %s\n", s.File())
			applied++
		}
	}
	fmt.Fprintf(stdout, "%d migration(s) applied; the schema is at %s\n", applied, lastFile(after))
	return nil
}

// runMigrateStatus prints every migration of this binary and whether the
// database has it, then what refuses the database, if anything.
func runMigrateStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server migrate status", flag.ContinueOnError)
	cfg, help, err := loadCommand(fs, args, getenv, stdout, stderr)
	if help || err != nil {
		return err
	}
	r, err := store.MigrationReport(ctx, cfg.DB)
	if err != nil {
		return err
	}
	for _, s := range r.States {
		switch {
		case s.Applied && s.Recorded != "":
			fmt.Fprintf(stdout, "%-40s applied %s  CHECKSUM DIFFERS\n", s.File(), s.AppliedAt.Format(time.RFC3339))
		case s.Applied:
			fmt.Fprintf(stdout, "%-40s applied %s\n", s.File(), s.AppliedAt.Format(time.RFC3339))
		default:
			fmt.Fprintf(stdout, "%-40s pending\n", s.File())
		}
	}
	for _, u := range r.Unknown {
		fmt.Fprintf(stdout, "%-40s applied %s  UNKNOWN TO THIS VERSION\n", fmt.Sprintf("%04d_%s.sql", u.Version, u.Name), u.AppliedAt.Format(time.RFC3339))
	}
	return r.Problem()
}

// lastFile names the newest migration the database has.
func lastFile(r migrate.Report) string {
	last := "no migration"
	for _, s := range r.States {
		if s.Applied {
			last = s.File()
		}
	}
	return last
}
