// Command loadgen drives a running mla-flow server over HTTP and prints what
// it measured: operations per second, errors, and latency percentiles.
//
//	loadgen --url http://127.0.0.1:8080 --workload transitions --workers 32 --duration 20s
//	loadgen --url http://127.0.0.1:8080 --workload reads --workers 8 --duration 20s
//	loadgen --fsync-probe /tmp
//
// Workloads:
//
//   - transitions: every worker signs in as demo users (officers and
//     supervisors of two authorities), drafts, sends and acknowledges
//     requests of its own, then moves them back and forth with
//     request_info and provide_info, each with a comment and the version it
//     expects. Every answer is checked (status, state, version), and at the
//     end every request is read back and must be where the worker left it.
//     With --instrument, the requests rest on that instrument, and the
//     server folds each transition into their deadlines.
//   - reads: every worker lists an authority's inbox, filtered (incoming,
//     open states, 50 rows), and checks the answer's shape and filter;
//     --path and --query choose another list, such as the worklist
//     (/api/v1/requests/waiting) or the overdue requests
//     (--query deadline=overdue).
//
// With --webhooks N (transitions), N webhooks are subscribed to receivers
// of loadgen's own on 127.0.0.1 for the run, and the delivery lag of the
// window's changes is reported beside the transitions figure.
//
// Only servers on loopback addresses are driven: this is a benchmark tool,
// not a way to load somebody else's machine. Runs are bounded by --duration.
//
// With --server-pid, loadgen also reads the server's CPU time and resident
// memory from /proc during the measured window, and reports the CPU time per
// operation and the peak resident memory.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errUsage marks a command line that cannot be run.
var errUsage = errors.New("usage")

// errFailed marks a run that completed but saw errors: the numbers are
// printed, and the exit status says they are not to be trusted.
var errFailed = errors.New("the run saw errors")

// maxDuration bounds a run, so that a typo cannot keep a machine busy for
// a day.
const maxDuration = time.Hour

// options are the command-line settings.
type options struct {
	url        string
	workload   string
	workers    int
	duration   time.Duration
	warmup     time.Duration
	requests   int     // per worker, transitions
	rate       float64 // transitions offered per second in all, 0 for as many as the server takes
	password   string
	path       string // reads: the list's path
	query      string // reads: the list query
	instrument string // transitions: the instrument of the requests
	serverPID  int
	jsonOut    string
	timeout    time.Duration
	fsyncProbe string
	fsyncCount int
	webhooks   int // transitions: webhooks subscribed during the run
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server (loopback only)")
	fs.StringVar(&o.workload, "workload", "transitions", "transitions or reads")
	fs.IntVar(&o.workers, "workers", 32, "concurrent workers, each with its own keep-alive connection")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of the measured window")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before the measured window, not counted")
	fs.IntVar(&o.requests, "requests", 1, "transitions: requests each worker owns and cycles")
	fs.Float64Var(&o.rate, "rate", 0, "transitions: offer this many per second in all, spread over the workers (0: each worker goes on as soon as it is answered)")
	fs.StringVar(&o.password, "password", "demo-pass", "password of the demo users")
	fs.StringVar(&o.path, "path", "/api/v1/requests", "reads: path of the list, such as /api/v1/requests/waiting")
	fs.StringVar(&o.instrument, "instrument", "", "transitions: instrument of the requests (GET /api/v1/instruments), whose deadlines the server then keeps; none when empty")
	fs.StringVar(&o.query, "query", "direction=incoming&state=sent,acknowledged,info_requested&limit=50",
		"reads: query string of GET /api/v1/requests")
	fs.IntVar(&o.serverPID, "server-pid", 0, "pid of the server, to report its CPU time per operation and peak memory")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of one HTTP request")
	fs.StringVar(&o.fsyncProbe, "fsync-probe", "", "measure write+fsync latency in this directory, then exit (no server needed)")
	fs.IntVar(&o.fsyncCount, "fsync-count", 2000, "fsync probe: number of write+fsync rounds")
	fs.IntVar(&o.webhooks, "webhooks", 0, "transitions: subscribe this many webhooks, to receivers on 127.0.0.1, and report their delivery lag (the server needs --webhook-allow-private)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if o.fsyncProbe != "" {
		if o.fsyncCount < 1 || o.fsyncCount > 1_000_000 {
			return o, fmt.Errorf("%w: --fsync-count must be 1 to 1000000", errUsage)
		}
		return o, nil
	}
	switch {
	case o.workload != "transitions" && o.workload != "reads":
		return o, fmt.Errorf("%w: --workload must be transitions or reads", errUsage)
	case o.workers < 1 || o.workers > 4096:
		return o, fmt.Errorf("%w: --workers must be 1 to 4096", errUsage)
	case o.duration <= 0 || o.duration > maxDuration:
		return o, fmt.Errorf("%w: --duration must be positive and at most %s", errUsage, maxDuration)
	case o.warmup < 0 || o.warmup > maxDuration:
		return o, fmt.Errorf("%w: --warmup must be 0 to %s", errUsage, maxDuration)
	case o.webhooks < 0 || o.webhooks > maxWebhooks:
		return o, fmt.Errorf("%w: --webhooks must be 0 to %d", errUsage, maxWebhooks)
	case o.webhooks > 0 && o.workload != "transitions":
		return o, fmt.Errorf("%w: --webhooks goes with the transitions workload", errUsage)
	case o.rate < 0 || o.rate > 1e6:
		return o, fmt.Errorf("%w: --rate must be 0 to 1000000", errUsage)
	case o.rate > 0 && o.workload != "transitions":
		return o, fmt.Errorf("%w: --rate goes with the transitions workload", errUsage)
	case o.requests < 1 || o.requests > 1000:
		return o, fmt.Errorf("%w: --requests must be 1 to 1000", errUsage)
	case !strings.HasPrefix(o.path, "/api/v1/") || strings.ContainsAny(o.path, "?#"):
		return o, fmt.Errorf("%w: --path must be a path under /api/v1/, without a query (that is --query)", errUsage)
	}
	if err := checkLoopback(o.url); err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	return o, nil
}

// checkLoopback refuses any target that is not on this machine's loopback
// interface. A host name must resolve to loopback addresses only.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--url %q: %v", raw, err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("--url %q: only http:// is supported", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("--url %q has no host", raw)
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("--url %q: %s is not a loopback address; loadgen drives local servers only", raw, host)
		}
		return nil
	}
	if host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("--url %q: %s is not a loopback name; use 127.0.0.1, ::1 or localhost", raw, host)
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return fmt.Errorf("--url %q: %v", raw, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("--url %q: %s resolves to %s, which is not a loopback address", raw, host, ip)
		}
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.fsyncProbe != "" {
		res, err := fsyncProbe(o.fsyncProbe, o.fsyncCount)
		if err != nil {
			return err
		}
		res.print(stdout)
		return writeJSON(o.jsonOut, res)
	}
	res, err := drive(ctx, o, stderr)
	if err != nil {
		return err
	}
	res.print(stdout)
	if err := writeJSON(o.jsonOut, res); err != nil {
		return err
	}
	if res.Errors > 0 {
		return fmt.Errorf("%w: %d errors, for example: %s", errFailed, res.Errors, strings.Join(res.ErrorSamples, "; "))
	}
	return nil
}

func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
