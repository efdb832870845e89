package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mla-flow/mla-flow/config"
	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/migrate"
)

// usage is the top-level help.
const usage = `mla-flow: mutual legal assistance and extradition requests between central authorities.

Usage:
  server [flags]                 serve HTTP (its flags are below)
  server user add [flags]        create a user
  server audit verify [flags]    check the audit chain
  server backup --out FILE       consistent online copy of the SQLite database
  server keys rotate             add a new token-signing key; running servers switch to it within a minute
  server seed --requests N       fill the database with N generated requests (benchmarks, demos)
  server migrate [--dry-run]     apply the pending schema migrations (serve applies them too, at start)
  server migrate status          list the schema migrations and whether each is applied

Every command takes the settings flags (--db, --config, --audit-key-file, ...);
run a command with --help to list its flags.
`

// errUsage marks a command line that could not be understood; it exits 2.
var errUsage = errors.New("usage")

// A database whose schema this binary refuses (migrated by a newer
// release, or a migration changed after it was applied) exits 4.

// errBrokenChain marks an audit chain that failed verification; it exits 3
// so that scripts can tell tampering from a failure to run.
var errBrokenChain = errors.New("the audit chain is broken")

func exitCode(err error) int {
	switch {
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errBrokenChain):
		return 3
	case errors.Is(err, migrate.ErrRefused):
		return 4
	}
	return 1
}

// run is the whole program, with its environment passed in, so that tests
// can start the real thing in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && (cmd == "user" || cmd == "audit" || cmd == "keys" || cmd == "migrate") {
			cmd, rest = cmd+" "+rest[0], rest[1:]
		}
	}
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		// The commands, then serving's own flags: serving is what the
		// program does without a command.
		fmt.Fprint(stdout, usage+"\n")
		return runServe(ctx, []string{"--help"}, getenv, stdout, stderr)
	}
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "user add":
		return runUserAdd(ctx, rest, getenv, stdin, stdout, stderr)
	case "audit verify":
		return runAuditVerify(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, getenv, stdout, stderr)
	case "keys rotate":
		return runKeysRotate(ctx, rest, getenv, stdout, stderr)
	case "seed":
		return runSeed(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "migrate status":
		return runMigrateStatus(ctx, rest, getenv, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

// loadCommand is loadConfig for a command that takes flags only: an
// argument besides them is a usage error.
func loadCommand(fs *flag.FlagSet, args []string, getenv func(string) string, stdout, stderr io.Writer) (config.Config, bool, error) {
	cfg, help, err := loadConfig(fs, args, getenv, stdout, stderr)
	if help || err != nil {
		return cfg, help, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return cfg, false, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	return cfg, false, nil
}

// loadConfig parses a command's flags (registered on fs beforehand) and the
// settings. --help prints the flags and ends the command without error.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string, stdout, stderr io.Writer) (config.Config, bool, error) {
	fs.SetOutput(stderr)
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout) // asked-for help is output, not an error
		}
	}
	cfg, err := config.Load(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return cfg, true, nil
	}
	if err != nil {
		return cfg, false, fmt.Errorf("%w: %v", errUsage, err)
	}
	// The strength of a secret is auth's rule, not a setting's: config is
	// a leaf, so the wiring applies the rule, before anything is opened.
	if cfg.JWTSecret != "" {
		if err := auth.CheckSecret([]byte(cfg.JWTSecret)); err != nil {
			return cfg, false, fmt.Errorf("%w: jwt-secret: %v", errUsage, err)
		}
	}
	return cfg, false, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
