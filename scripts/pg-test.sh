#!/usr/bin/env bash
# pg-test.sh — a throwaway PostgreSQL for the store's tests.
#
#   scripts/pg-test.sh start   installs PostgreSQL if missing, starts a private
#                              cluster on 127.0.0.1:55432 (trust auth, loopback
#                              only) and prints its URL, for example:
#                              export MLA_TEST_POSTGRES_URL=$(scripts/pg-test.sh start)
#   scripts/pg-test.sh stop    stops it and removes its directory
#
# Both are idempotent and print nothing else on success. Run as root (CI
# does): the cluster belongs to the postgres user, which refuses to run
# PostgreSQL as root. MLA_PG_DIR and MLA_PG_PORT override the defaults.
set -euo pipefail

dir="${MLA_PG_DIR:-/tmp/mla-pg-test}"
port="${MLA_PG_PORT:-55432}"
db=mla_test
url="postgres://postgres@127.0.0.1:${port}/${db}?sslmode=disable"
data="$dir/data"
log="$dir/server.log"

die() {
	echo "pg-test: $*" >&2
	exit 1
}

# find_bin prints the bin directory of the newest PostgreSQL installed under
# /usr/lib/postgresql (sorted by version number: 9 before 15).
find_bin() {
	local ctl
	ctl=$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -t/ -k5,5n | tail -n 1)
	[[ -n "$ctl" && -x "$ctl" ]] || return 1
	dirname "$ctl"
}

as_pg() { runuser -u postgres -- "$@"; }

install_postgres() {
	local out
	out=$(mktemp)
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get update -qq && apt-get install -y -qq postgresql; } >"$out" 2>&1; then
		cat "$out" >&2
		rm -f "$out"
		die "apt-get install postgresql failed"
	fi
	rm -f "$out"
	# Debian's package may start its default cluster; the tests use their own
	# throwaway one, so stop what the install started rather than leave it.
	if command -v pg_lsclusters >/dev/null 2>&1; then
		pg_lsclusters --no-header 2>/dev/null | while read -r version name _port status _rest; do
			if [[ "$status" == online* ]]; then
				pg_ctlcluster "$version" "$name" stop >/dev/null 2>&1 || true
			fi
		done
	fi
}

start() {
	[[ $(id -u) -eq 0 ]] || die "run as root"
	local bin
	if ! bin=$(find_bin); then
		install_postgres
		bin=$(find_bin) || die "PostgreSQL installed, but no pg_ctl under /usr/lib/postgresql/*/bin"
	fi
	id postgres >/dev/null 2>&1 || die "no postgres user"

	if [[ ! -f "$data/PG_VERSION" ]]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		chown postgres:postgres "$dir"
		chmod 700 "$dir"
		# -N: a throwaway cluster need not sync its initial files; the server
		# itself runs with fsync=on, like production.
		as_pg "$bin/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	fi

	if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		as_pg "$bin/pg_ctl" -D "$data" -l "$log" \
			-o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on" -w start >/dev/null 2>&1 ||
			{ cat "$log" >&2 2>/dev/null || true; die "PostgreSQL did not start"; }
	fi

	local exists
	exists=$(as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$db'") || die "cannot connect to PostgreSQL on 127.0.0.1:$port"
	if [[ "$exists" != 1 ]]; then
		as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db" || die "createdb $db failed"
	fi
	echo "$url"
}

stop() {
	[[ $(id -u) -eq 0 ]] || die "run as root"
	local bin
	if [[ -f "$data/PG_VERSION" ]] && bin=$(find_bin); then
		if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
			as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || die "pg_ctl stop failed"
		fi
	fi
	rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
