#!/usr/bin/env bash
# bench.sh — the performance benchmarks of docs/BENCHMARKS.md, from a clean
# checkout. Everything runs on this machine, on loopback addresses, in
# bounded runs; databases and results go under $MLA_BENCH_DIR (default
# /tmp/mla-bench), never into the repository.
#
#   scripts/bench.sh fsync          disk: write+fsync latency
#   scripts/bench.sh transitions    SQLite: 32 workers, then 1 worker (CPU per transition, memory)
#   scripts/bench.sh reads          SQLite: inbox list at 10,000 and at 1,000,000 requests (1 and 4 workers)
#   scripts/bench.sh verify         SQLite: server audit verify on the 1,000,000-request database
#   scripts/bench.sh postgres       PostgreSQL (scripts/pg-test.sh): 32 workers
#   scripts/bench.sh deadlines      SQLite, 1,000,000 requests: the deadline lists and the worklist
#   scripts/bench.sh ab             transitions of AB_BASE (a commit) and of this checkout, alternately
#   scripts/bench.sh webhooks       SQLite, 32 workers: transitions without webhooks, then with WEBHOOKS (10)
#                                   subscribed to receivers on loopback, alternately: both figures, their
#                                   ratio, and the delivery lag p99; then the same at RATE (1500)
#                                   transitions/s offered: latency p99 and delivery lag p99
#   scripts/bench.sh smoke          a few seconds of everything on a small database (CI)
#   scripts/bench.sh all            fsync, transitions, reads, verify, postgres
#
# Settings (environment): MLA_BENCH_DIR, DURATION (default 20s), REPEAT
# (runs of each load measurement, default 3; every run is printed and kept
# as JSON), BIG (requests of the large database, default 1000000; it is
# seeded once per version of the seeder and kept in $MLA_BENCH_DIR for the
# next runs). ab: AB_BASE (the commit to compare with, required), AB_RUNS
# (runs of each build, default 5), AB_INSTRUMENT (instrument of this
# checkout's requests, default eio, so that its transitions keep
# deadlines; the base is driven without one).
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${MLA_BENCH_DIR:-/tmp/mla-bench}"
duration="${DURATION:-20s}"
repeat="${REPEAT:-3}"
big="${BIG:-1000000}"
port="${MLA_BENCH_PORT:-18480}"
mkdir -p "$dir/bin" "$dir/results"

build() {
	go build -o "$dir/bin/server" ./cmd/server
	go build -o "$dir/bin/loadgen" ./cmd/loadgen
}

server_pid=""
stop_server() {
	if [[ -n "$server_pid" ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	fi
}
trap stop_server EXIT

# start_server DB [flags...]: serves DB on 127.0.0.1:$port (and pprof on
# the next port), waits until it listens.
start_server() {
	local db=$1
	shift
	local log="$dir/results/server-$port.log"
	"${server_bin:-$dir/bin/server}" --db "$db" --addr "127.0.0.1:$port" --debug-addr "127.0.0.1:$((port + 1))" \
		--log-format json "$@" >"$log.out" 2>"$log" &
	server_pid=$!
	for _ in $(seq 1 12000); do
		# Listening, and done with the replay of every request against the
		# audit log, which runs in the background after the start and would
		# share the machine with what is measured (minutes at a million).
		if grep -q "listening on" "$log.out" 2>/dev/null &&
			grep -q "agree with the audit log" "$log" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$server_pid" 2>/dev/null; then
			cat "$log" >&2
			echo "bench: the server did not start" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "bench: the server did not start in time" >&2
	return 1
}

# load NAME ARGS...: runs loadgen REPEAT times against the server, keeping
# each run's JSON as results/NAME-RUN.json.
load() {
	local name=$1
	shift
	for run in $(seq 1 "$repeat"); do
		echo "-- $name, run $run of $repeat"
		"$dir/bin/loadgen" --url "http://127.0.0.1:$port" --server-pid "$server_pid" \
			--json "$dir/results/$name-$run.json" "$@"
		curl -s "http://127.0.0.1:$((port + 1))/debug/store" && echo
	done
}

# seeded N: a SQLite database with the demo users and N requests, seeded
# once per version of the seeder, the schema and the instruments, and kept.
seeded() {
	local version
	version=$(cat internal/seed/*.go internal/store/migrations/sqlite/*.sql config/instruments.yaml | sha256sum | cut -c1-10)
	local n=$1 at="$dir/seed-$1-$version"
	local db="$at/mla.db"
	if [[ ! -f "$at/done" ]]; then
		rm -rf "$dir/seed-$1"-*
		mkdir -p "$at"
		echo "-- seeding $n requests into $db" >&2
		/usr/bin/time -f "seed: %e s elapsed, %M KB max resident" "$dir/bin/server" seed --db "$db" --requests "$n" >&2
		touch "$at/done"
	fi
	echo "$db"
}

fsync_probe() {
	echo "== fsync latency of $dir"
	"$dir/bin/loadgen" --fsync-probe "$dir" --fsync-count 5000 --json "$dir/results/fsync.json"
}

transitions() {
	echo "== transitions, SQLite"
	rm -rf "$dir/tx"
	mkdir -p "$dir/tx"
	"$dir/bin/server" seed --db "$dir/tx/mla.db" --requests 0 >/dev/null
	start_server "$dir/tx/mla.db"
	load transitions-32 --workload transitions --workers 32 --duration "$duration"
	load transitions-1 --workload transitions --workers 1 --duration "$duration"
	stop_server
}

reads() {
	echo "== reads, SQLite"
	for n in 10000 "$big"; do
		local db
		db=$(seeded "$n")
		start_server "$db"
		load "reads-$n-w1" --workload reads --workers 1 --duration "$duration"
		load "reads-$n-w4" --workload reads --workers 4 --duration "$duration"
		stop_server
	done
}

verify() {
	echo "== audit verify, SQLite"
	local db
	db=$(seeded "$big")
	for run in $(seq 1 "$repeat"); do
		local start end
		start=$(date +%s.%N)
		"$dir/bin/server" audit verify --db "$db" | tee "$dir/results/verify-$run.txt"
		end=$(date +%s.%N)
		awk -v s="$start" -v e="$end" '/^entries:/ {printf "verify: %d entries in %.2f s = %.0f entries/s (whole command, start-up included)\n", $2, e-s, $2/(e-s)}' \
			"$dir/results/verify-$run.txt" | tee -a "$dir/results/verify-$run.txt"
	done
}

postgres() {
	echo "== transitions, PostgreSQL"
	local base schema url
	base=$(bash scripts/pg-test.sh start)
	schema="bench_$(date +%s)"
	psql "$base" "CREATE SCHEMA $schema"
	url="${base}&search_path=${schema}"
	mkdir -p "$dir/pg"
	"$dir/bin/server" seed --db "$url" --audit-key-file "$dir/pg/audit.key" --requests 0 >/dev/null
	start_server "$url" --audit-key-file "$dir/pg/audit.key"
	load postgres-32 --workload transitions --workers 32 --duration "$duration"
	stop_server
	psql "$base" "DROP SCHEMA $schema CASCADE"
}

# deadlines: the lists the deadlines added, on the large database, each
# with 1 and 4 workers: the overdue requests newest first and by due
# time, the requests due soon, every request by due time, and the worklist.
deadlines() {
	echo "== deadlines, SQLite, $big requests"
	local db
	db=$(seeded "$big")
	start_server "$db"
	local name query path
	for spec in \
		"overdue|/api/v1/requests|deadline=overdue&limit=50" \
		"overdue-by-due|/api/v1/requests|deadline=overdue&sort=due&limit=50" \
		"due-soon|/api/v1/requests|deadline=due_soon&limit=50" \
		"by-due|/api/v1/requests|sort=due&limit=50" \
		"worklist|/api/v1/requests/waiting|limit=50"; do
		IFS='|' read -r name path query <<<"$spec"
		load "deadlines-$name-w1" --workload reads --path "$path" --query "$query" --workers 1 --duration "$duration"
		load "deadlines-$name-w4" --workload reads --path "$path" --query "$query" --workers 4 --duration "$duration"
	done
	stop_server
}

# ab: the transitions figure of AB_BASE and of this checkout, run
# alternately (base, this, base, this, ...) on fresh databases, so that
# the machine's drift falls on both alike; prints each run and the medians.
ab() {
	local base="${AB_BASE:?ab needs AB_BASE, the commit to compare with}"
	local runs="${AB_RUNS:-5}" instrument="${AB_INSTRUMENT:-eio}"
	echo "== transitions: $base against this checkout, $runs runs each, alternately"
	rm -rf "$dir/ab-src"
	git worktree add -f --detach "$dir/ab-src" "$base" >/dev/null
	(cd "$dir/ab-src" && go build -o "$dir/bin/server-base" ./cmd/server)
	git worktree remove --force "$dir/ab-src"
	local -a figures_base=() figures_this=()
	for run in $(seq 1 "$runs"); do
		for build in base this; do
			local bin="$dir/bin/server" flags=()
			if [[ $build == base ]]; then
				bin="$dir/bin/server-base"
			elif [[ -n "$instrument" ]]; then
				flags=(--instrument "$instrument")
			fi
			rm -rf "$dir/ab"
			mkdir -p "$dir/ab"
			"$bin" seed --db "$dir/ab/mla.db" --requests 0 >/dev/null
			server_bin="$bin" start_server "$dir/ab/mla.db"
			echo "-- $build, run $run of $runs"
			"$dir/bin/loadgen" --url "http://127.0.0.1:$port" --server-pid "$server_pid" --workload transitions \
				--workers 32 --duration "$duration" "${flags[@]}" --json "$dir/results/ab-$build-$run.json" |
				tee "$dir/results/ab-$build-$run.txt"
			stop_server
			local figure
			figure=$(grep -o '"ops_per_s": *[0-9.]*' "$dir/results/ab-$build-$run.json" | grep -o '[0-9.]*$')
			if [[ $build == base ]]; then figures_base+=("$figure"); else figures_this+=("$figure"); fi
		done
	done
	local mb mt
	mb=$(printf '%s\n' "${figures_base[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	mt=$(printf '%s\n' "${figures_this[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	echo "base $base: ${figures_base[*]} transitions/s, median $mb"
	echo "this checkout: ${figures_this[*]} transitions/s, median $mt"
	awk -v b="$mb" -v t="$mt" 'BEGIN {printf "this checkout is %.1f %% %s than the base\n", (b>t ? (b-t)/b : (t-b)/b)*100, (b>t ? "slower" : "faster")}'
}

# webhooks: the transitions figure without webhooks and with $WEBHOOKS
# (default 10) subscribed to every action, each to a receiver of
# loadgen's own on 127.0.0.1, run alternately on fresh databases (REPEAT
# runs of each); prints each run, the medians, their ratio (CONTRACT 8's
# target: at least 0.95) and the worst delivery lag p99 (target: 1 s).
webhooks() {
	local n="${WEBHOOKS:-10}" workers="${WORKERS:-32}" rate="${RATE:-1500}"
	echo "== transitions with and without $n webhooks, SQLite, $workers workers"
	local -a without=() with=() lags=()
	# webhooks_run NAME MODE [loadgen flags...]: one run on a fresh
	# database; prints loadgen's report, keeps its JSON as NAME-MODE-RUN.
	webhooks_run() {
		local name=$1 mode=$2
		shift 2
		rm -rf "$dir/wh"
		mkdir -p "$dir/wh"
		"$dir/bin/server" seed --db "$dir/wh/mla.db" --requests 0 >/dev/null
		start_server "$dir/wh/mla.db" --webhook-allow-private
		local extra=()
		[[ $mode == with ]] && extra=(--webhooks "$n")
		echo "-- $name, $mode webhooks, run $run of $repeat"
		"$dir/bin/loadgen" --url "http://127.0.0.1:$port" --server-pid "$server_pid" --workload transitions \
			--workers "$workers" --duration "$duration" "${extra[@]}" "$@" --json "$dir/results/$name-$mode-$run.json" |
			tee "$dir/results/$name-$mode-$run.txt"
		stop_server
	}
	figure() { grep -o '"ops_per_s": *[0-9.]*' "$1" | grep -o '[0-9.]*$'; }
	lag() { grep -o '"p99": *[0-9.]*' "$1" | tail -n 1 | grep -o '[0-9.]*$'; }
	for run in $(seq 1 "$repeat"); do
		for mode in without with; do
			webhooks_run webhooks "$mode"
			if [[ $mode == without ]]; then
				without+=("$(figure "$dir/results/webhooks-$mode-$run.json")")
			else
				with+=("$(figure "$dir/results/webhooks-$mode-$run.json")")
				lags+=("$(lag "$dir/results/webhooks-$mode-$run.json")")
			fi
		done
	done
	# The same at an offered load the server carries with room to spare
	# (RATE transitions/s): the delivery lag when the sender is not
	# starved of the machine, and what the webhooks add to a transition's
	# latency.
	local -a paced=() paced_lat_without=() paced_lat_with=()
	for run in $(seq 1 "$repeat"); do
		for mode in without with; do
			webhooks_run "webhooks-rate$rate" "$mode" --rate "$rate"
			local json="$dir/results/webhooks-rate$rate-$mode-$run.json" p99
			p99=$(grep -o '"p99": *[0-9.]*' "$json" | head -n 1 | grep -o '[0-9.]*$')
			if [[ $mode == without ]]; then
				paced_lat_without+=("$p99")
			else
				paced_lat_with+=("$p99")
				paced+=("$(lag "$json")")
			fi
		done
	done
	local mw mh worst
	mw=$(printf '%s\n' "${without[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	mh=$(printf '%s\n' "${with[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	worst=$(printf '%s\n' "${lags[@]}" | sort -n | tail -n 1)
	echo "without webhooks: ${without[*]} transitions/s, median $mw"
	echo "with $n webhooks: ${with[*]} transitions/s, median $mh"
	awk -v a="$mw" -v b="$mh" 'BEGIN {printf "ratio with/without: %.3f (target >= 0.95)\n", b/a}'
	echo "delivery lag p99 of each run with webhooks: ${lags[*]} ms; worst $worst ms (target <= 1000)"
	echo "at $rate transitions/s: transition latency p99 ${paced_lat_without[*]} ms without, ${paced_lat_with[*]} ms with webhooks"
	echo "at $rate transitions/s: delivery lag p99 of each run: ${paced[*]} ms; worst $(printf '%s\n' "${paced[@]}" | sort -n | tail -n 1) ms (target <= 1000)"
}

# psql URL SQL: runs one statement with the newest installed psql.
psql() {
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin/psql | sort -t/ -k5,5n | tail -n 1)
	PGOPTIONS="-c client_min_messages=warning" "$bin" "$1" -v ON_ERROR_STOP=1 -qc "$2" >/dev/null
}

# smoke: every tool for a few seconds on a small database; fails on any
# error the tools report.
smoke() {
	echo "== smoke run of the benchmark tools"
	rm -rf "$dir/smoke"
	mkdir -p "$dir/smoke"
	"$dir/bin/loadgen" --fsync-probe "$dir/smoke" --fsync-count 50
	"$dir/bin/server" seed --db "$dir/smoke/mla.db" --requests 1000
	start_server "$dir/smoke/mla.db"
	"$dir/bin/loadgen" --url "http://127.0.0.1:$port" --server-pid "$server_pid" --workload transitions \
		--workers 4 --duration 3s --warmup 500ms --json "$dir/smoke/transitions.json"
	"$dir/bin/loadgen" --url "http://127.0.0.1:$port" --workload reads --workers 4 --duration 2s \
		--warmup 200ms --json "$dir/smoke/reads.json"
	stop_server
	"$dir/bin/server" audit verify --db "$dir/smoke/mla.db"
}

build
case "${1:-all}" in
fsync) fsync_probe ;;
transitions) transitions ;;
reads) reads ;;
verify) verify ;;
postgres) postgres ;;
deadlines) deadlines ;;
ab) ab ;;
webhooks) webhooks ;;
smoke) smoke ;;
all)
	fsync_probe
	transitions
	reads
	verify
	postgres
	;;
*)
	echo "usage: $0 fsync|transitions|reads|verify|postgres|deadlines|ab|webhooks|smoke|all" >&2
	exit 2
	;;
esac
