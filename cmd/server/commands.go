package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mla-flow/mla-flow/internal/auth"
	"github.com/mla-flow/mla-flow/internal/workflow"
)

// cliActor is who the audit log names for changes made on the command line.
var cliActor = workflow.Actor{Username: "cli"}

func runUserAdd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server user add", flag.ContinueOnError)
	username := fs.String("username", "", "user name, 3-64 characters of a-z 0-9 . _ - (required)")
	role := fs.String("role", "", "role: officer, supervisor, auditor, admin or trainer (required)")
	authority := fs.String("authority", "", "authority code, e.g. IT (required for officer, supervisor, auditor)")
	displayName := fs.String("display-name", "", "name shown in the interface (default: the user name)")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input; at least 12 characters, not the user name, not a common password (default: generate one and print it)")
	cfg, help, err := loadConfig(fs, args, getenv, stdout, stderr)
	if help || err != nil {
		return err
	}
	if *username == "" || *role == "" {
		fs.Usage()
		return fmt.Errorf("%w: --username and --role are required", errUsage)
	}
	password, generated := "", false
	if *passwordStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		password, generated = generatePassword(*username), true
	}

	a, err := open(ctx, cfg, newLogger(cfg, stderr), asTool)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.auth.AddUser(ctx, cliActor, auth.NewUser{
		Username: *username, DisplayName: *displayName, Role: workflow.Role(*role),
		Authority: strings.ToUpper(*authority), Password: password,
	})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "created user %s (role %s", u.Username, u.Role)
	if u.Authority != "" {
		fmt.Fprintf(stdout, ", authority %s", u.Authority)
	}
	fmt.Fprintln(stdout, ")")
	if generated {
		fmt.Fprintf(stdout, "password: %s\n", password)
	}
	return nil
}

func runAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server audit verify", flag.ContinueOnError)
	cfg, help, err := loadConfig(fs, args, getenv, stdout, stderr)
	if help || err != nil {
		return err
	}
	tuneGC(getenv) // a pass over the whole log allocates as fast as a loaded server
	// The store alone: verification must report on a database whatever
	// else of it this key cannot open (its signing keys, say).
	st, err := openStore(ctx, cfg, newLogger(cfg, stderr), asTool)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := workflow.NewService(st, auth.NewPolicy()).VerifyChain(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "entries: %d\nhead: %s\n", v.Entries, v.Head)
	if !v.OK {
		fmt.Fprintf(stdout, "BROKEN at entry %d: %s\n", v.BrokenAt, v.Problem)
		return fmt.Errorf("%w at entry %d: %s", errBrokenChain, v.BrokenAt, v.Problem)
	}
	fmt.Fprintln(stdout, "ok: the audit chain verifies")
	return nil
}

func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server backup", flag.ContinueOnError)
	out := fs.String("out", "", "file to write the copy to; must not exist (required)")
	cfg, help, err := loadConfig(fs, args, getenv, stdout, stderr)
	if help || err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	a, err := open(ctx, cfg, newLogger(cfg, stderr), asTool)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.store.Backup(ctx, *out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backup written to %s (verify it with: server audit verify --db %s --audit-key-file %s)\n",
		*out, *out, cfg.AuditKeyFile)
	return nil
}

// generatePassword returns a random password for the account username
// that passes the password policy: 96 random bits in hex, drawn again in
// the unlikely case that they happen to contain the user name or to look
// like a sequence.
func generatePassword(username string) string {
	for {
		pw := randomHex(12)
		if auth.CheckPasswordRule(pw, username) == nil {
			return pw
		}
	}
}

func runKeysRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server keys rotate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: server keys rotate [flags]

Adds a new random key for signing access tokens and retires the others.
Running servers on the same database sign with the new key within a minute,
without a restart. Tokens signed with a retired key stay valid until they
expire (at most the token lifetime), so nobody is logged out; after that the
retired keys verify nothing. The rotation is audited as auth.key_rotate.

With a configured --jwt-secret, the new key takes over from it as well.

Flags:
`)
		fs.PrintDefaults()
	}
	cfg, help, err := loadCommand(fs, args, getenv, stdout, stderr)
	if help || err != nil {
		return err
	}
	a, err := open(ctx, cfg, newLogger(cfg, stderr), asTool)
	if err != nil {
		return err
	}
	defer a.Close()
	k, err := a.keys.Rotate(ctx, cliActor)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s; running servers switch to it within %s\n", k.ID, auth.KeyReloadInterval)
	fmt.Fprintf(stdout, "tokens signed with the retired keys stay valid for at most %s\n", a.keys.Grace())
	return nil
}

// describe turns a validation error into one line per field for a terminal.
func describe(err error) error {
	var e *workflow.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	var parts []string
	for f, reason := range e.Fields {
		parts = append(parts, "--"+f+" "+reason)
	}
	sort.Strings(parts)
	return fmt.Errorf("%s: %s", e.Message, strings.Join(parts, "; "))
}
