#!/usr/bin/env bash
# s3-test.sh — a throwaway S3 server for the document store's tests.
#
#   scripts/s3-test.sh build   builds versitygw (an Apache-2.0 S3 gateway over a
#                              directory, from the Go module proxy) into the
#                              cache directory, unless it is there already
#   scripts/s3-test.sh start   builds it if needed, starts it on 127.0.0.1:57070
#                              (loopback only) over a directory of its own, with
#                              keys made up for this run, and prints its URL:
#                              export MLA_TEST_S3_URL=$(scripts/s3-test.sh start)
#   scripts/s3-test.sh stop    stops it and removes its directory
#
# Each test makes and removes a bucket of its own (internal/blob/s3test).
# MLA_S3_DIR, MLA_S3_PORT and MLA_S3_BIN override the defaults.
set -euo pipefail

version=v1.8.0
dir="${MLA_S3_DIR:-/tmp/mla-s3-test}"
port="${MLA_S3_PORT:-57070}"
bindir="${MLA_S3_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/mla-flow/versitygw-$version}"
exe="$bindir/versitygw"

die() {
	echo "s3-test: $*" >&2
	exit 1
}

build() {
	[[ -x "$exe" ]] && return 0
	mkdir -p "$bindir"
	local out
	out=$(mktemp)
	# Outside the module, so that the project's go.mod is not touched.
	if ! (cd / && GOBIN="$bindir" GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$version") >"$out" 2>&1; then
		cat "$out" >&2
		rm -f "$out"
		die "go install versitygw@$version failed"
	fi
	rm -f "$out"
}

start() {
	build
	if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
		cat "$dir/url"
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir/root"
	local access secret
	access=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	ROOT_ACCESS_KEY="$access" ROOT_SECRET_KEY="$secret" \
		nohup "$exe" --port "127.0.0.1:$port" posix "$dir/root" >"$dir/server.log" 2>&1 &
	echo $! >"$dir/pid"
	local url="http://$access:$secret@127.0.0.1:$port"
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$url" >"$dir/url"
			echo "$url"
			return 0
		fi
		kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/server.log" >&2; die "versitygw exited"; }
		sleep 0.1
	done
	cat "$dir/server.log" >&2
	die "versitygw did not listen on 127.0.0.1:$port"
}

stop() {
	if [[ -f "$dir/pid" ]]; then
		kill "$(cat "$dir/pid")" 2>/dev/null || true
	fi
	rm -rf "$dir"
}

case "${1:-}" in
build) build ;;
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 build|start|stop" >&2
	exit 2
	;;
esac
