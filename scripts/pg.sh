#!/usr/bin/env bash
# pg.sh starts and stops private, throwaway PostgreSQL servers for tests.
#
# Each server lives in its own fresh directory /tmp/till-pg.XXXXXX (data, log, unix socket), runs as the `postgres`
# system user when we are root (PostgreSQL refuses to run as root) or as ourselves otherwise, trusts every local
# connection, listens only on 127.0.0.1 on a free port, and is gone, directory and all, once stopped. The directory is
# under /tmp rather than in the repository because the postgres user must be able to reach it, and because a unix
# socket path is limited to 107 bytes (a deep checkout path, or one with spaces, would break it).
#
# Interactive use (state kept in ./.tmp/pg/env, which `source` can read):
#
#   scripts/pg.sh start     start a server (or report the running one) and print its URL
#   scripts/pg.sh stop      stop it and remove its directory
#   scripts/pg.sh status    print the URL if it is running, exit 1 if not
#
# scripts/test.sh sources this file and calls pg_start / pg_stop directly.
#
# Settings: PG_BIN, a directory holding initdb and pg_ctl, overrides the search described at pg_bin_dir.
set -euo pipefail

# pg_log prints a message to stderr, prefixed so it stands out in test output.
pg_log() { echo "pg: $*" >&2; }

# pg_bin_dir prints the directory of the PostgreSQL server programs: $PG_BIN if set, else the highest version under
# /usr/lib/postgresql/*/bin (Debian's layout, several versions may sit side by side), else the directory initdb is
# found in on PATH (symlinks resolved, so pg_ctl comes from the same installation). It fails when there is none.
pg_bin_dir() {
	local dir
	if [[ -n "${PG_BIN:-}" ]]; then
		[[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || {
			pg_log "PG_BIN=$PG_BIN holds no initdb and pg_ctl"
			return 1
		}
		echo "$PG_BIN"
		return 0
	fi
	# sort -V orders 9.6 < 15 < 16 correctly; the last line is the highest version.
	dir="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | while read -r d; do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; fi
	done | tail -n 1)"
	if [[ -z "$dir" ]] && command -v initdb >/dev/null 2>&1; then
		dir="$(dirname "$(readlink -f "$(command -v initdb)")")"
		[[ -x "$dir/pg_ctl" ]] || dir=""
	fi
	[[ -n "$dir" ]] || return 1
	echo "$dir"
}

# pg_as_owner runs a command as the user the server belongs to: `postgres` when we are root, ourselves otherwise. It
# runs from / so that the postgres user is never left in a directory it cannot read (pg_ctl and initdb fail on that).
pg_as_owner() {
	if [[ $(id -u) -ne 0 ]]; then
		(cd / && "$@")
	elif command -v runuser >/dev/null 2>&1; then
		(cd / && runuser -u postgres -- "$@")
	else
		(cd / && su -s /bin/bash postgres -c "$(printf '%q ' "$@")")
	fi
}

# pg_port_in_use reports whether something listens on TCP port $1 (IPv4 or IPv6), from /proc/net so that it needs
# no extra tool; without /proc it tries to connect instead.
pg_port_in_use() {
	local port=$1 hex
	hex="$(printf '%04X' "$port")"
	if [[ -r /proc/net/tcp ]]; then
		# Field 2 is local_address as HEXIP:HEXPORT, field 4 the state; 0A is LISTEN.
		awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
			/proc/net/tcp /proc/net/tcp6 2>/dev/null
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
	fi
}

# pg_free_port prints a random TCP port in 20000-59999 that nothing listens on. Another process may still take it
# before the server binds; pg_start retries on that.
pg_free_port() {
	local port i
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! pg_port_in_use "$port"; then
			echo "$port"
			return 0
		fi
	done
	pg_log "found no free port"
	return 1
}

# pg_start starts a server owned by $1 (a process id, or "interactive") and sets PG_DIR, PG_PORT, PG_URL and
# PG_BIN_DIR. On failure it prints where the server log is and its tail, leaves the directory for inspection (the next
# run's pg_reap_orphans removes it), and returns 1.
pg_start() {
	local owner=$1 bin dir port attempt started=0
	bin="$(pg_bin_dir)" || {
		pg_log "no PostgreSQL found (initdb, pg_ctl); install it: apt-get install postgresql"
		return 1
	}
	if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
		pg_log "running as root but there is no postgres user to run the server as"
		return 1
	fi

	dir="$(mktemp -d /tmp/till-pg.XXXXXX)"
	echo "$owner" >"$dir/owner"
	if [[ $(id -u) -eq 0 ]]; then
		chown -R postgres: "$dir"
	fi
	chmod 700 "$dir"

	# --no-sync only skips initdb's final flush of its template files: harmless for a throwaway server, and the
	# server itself runs with fsync on so that tests pay the real cost of a commit.
	if ! pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
		>"$dir/initdb.log" 2>&1; then
		pg_log "initdb failed; its output ($dir/initdb.log):"
		tail -n 30 "$dir/initdb.log" >&2
		return 1
	fi
	# The last setting of a name in postgresql.conf wins, so these override initdb's defaults. The port is given on
	# the command line instead, because it may change between attempts.
	cat >>"$dir/data/postgresql.conf" <<-EOF

		# Till test server (scripts/pg.sh)
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir'
		fsync = on
		synchronous_commit = on
		full_page_writes = on
		max_connections = 300
		shared_buffers = 256MB
		timezone = 'UTC'
		log_timezone = 'UTC'
	EOF

	for ((attempt = 1; attempt <= 5; attempt++)); do
		port="$(pg_free_port)" || return 1
		if pg_as_owner "$bin/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -s -o "-p $port" \
			>>"$dir/pg_ctl.log" 2>&1; then
			started=1
			break
		fi
		# Someone took the port between our check and the bind: try another one. Anything else is fatal.
		grep -q -e 'could not bind' -e 'already in use' "$dir/postgres.log" 2>/dev/null || break
		pg_log "port $port was taken, retrying"
	done
	if ((started == 0)); then
		pg_kill "$dir" # pg_ctl may have given up waiting on a server that is still starting
		pg_log "PostgreSQL failed to start; server log: $dir/postgres.log (last lines below)"
		tail -n 30 "$dir/postgres.log" "$dir/pg_ctl.log" >&2 2>/dev/null || true
		return 1
	fi

	PG_DIR="$dir"
	PG_PORT="$port"
	PG_BIN_DIR="$bin"
	PG_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	pg_wait_ready || {
		pg_kill "$dir"
		pg_log "PostgreSQL started but does not accept connections on 127.0.0.1:$port; server log: $dir/postgres.log"
		tail -n 30 "$dir/postgres.log" >&2 || true
		return 1
	}
}

# pg_wait_ready waits up to 30 seconds until the server at PG_URL answers a query over TCP (pg_ctl -w has already
# waited on its socket; this proves the URL the tests get works).
pg_wait_ready() {
	local i
	for ((i = 0; i < 300; i++)); do
		if [[ -x "$PG_BIN_DIR/psql" ]]; then
			"$PG_BIN_DIR/psql" -X -q -At -d "$PG_URL" -c 'select 1' >/dev/null 2>&1 && return 0
		elif (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# pg_kill stops the server in directory $1 if one runs there: a fast shutdown, then an immediate one, then SIGKILL.
pg_kill() {
	local dir=$1 bin pid i
	[[ -f "$dir/data/postmaster.pid" ]] || return 0
	pid="$(head -n 1 "$dir/data/postmaster.pid")"
	if bin="$(pg_bin_dir 2>/dev/null)"; then
		pg_as_owner "$bin/pg_ctl" stop -D "$dir/data" -m fast -w -t 30 -s >/dev/null 2>&1 ||
			pg_as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate -w -t 10 -s >/dev/null 2>&1 || true
	fi
	[[ "$pid" =~ ^[0-9]+$ ]] || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.1
	done
	pg_log "could not stop the server with process id $pid ($dir)"
}

# pg_stop stops the server in directory $1, if any, and removes the directory. It only removes directories that
# pg_start made (they hold an `owner` file), so a wrong path never costs anything.
pg_stop() {
	local dir=$1
	[[ -n "$dir" && -d "$dir" && -f "$dir/owner" ]] || return 0
	pg_kill "$dir"
	rm -rf -- "$dir"
}

# pg_reap_orphans stops the servers of test runs that died without cleaning up (killed with SIGKILL, a crashed
# machine): a directory whose owner is a process id that no longer exists. Interactive servers are left alone.
pg_reap_orphans() {
	local dir owner
	for dir in /tmp/till-pg.*; do
		[[ -f "$dir/owner" ]] || continue
		owner="$(cat "$dir/owner" 2>/dev/null || true)"
		if [[ "$owner" =~ ^[0-9]+$ ]] && ! kill -0 "$owner" 2>/dev/null; then
			pg_log "removing the server left by an earlier run: $dir"
			pg_stop "$dir"
		fi
	done
}

# pg_state_file is where `pg.sh start` records the interactive server: ./.tmp/pg/env in the repository.
pg_state_file() {
	echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tmp/pg/env"
}

# pg_running_dir prints the directory of the interactive server if it is still running.
pg_running_dir() {
	local state dir
	state="$(pg_state_file)"
	[[ -f "$state" ]] || return 1
	dir="$(sed -n 's/^TILL_PG_DIR=//p' "$state" | tr -d "'")"
	[[ -n "$dir" && -f "$dir/data/postmaster.pid" ]] || return 1
	kill -0 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null || return 1
	echo "$dir"
}

# pg_main implements the interactive commands; see the top of the file.
pg_main() {
	local state here
	state="$(pg_state_file)"
	here="$(dirname "${BASH_SOURCE[0]}")"
	case "${1:-}" in
	start)
		if pg_running_dir >/dev/null; then
			echo "PostgreSQL is already running:"
		else
			pg_stop "$(sed -n 's/^TILL_PG_DIR=//p' "$state" 2>/dev/null | tr -d "'")"
			pg_start interactive
			mkdir -p "$(dirname "$state")"
			{
				echo "# Written by scripts/pg.sh; source it to point tests at the server."
				echo "TILL_PG_DIR='$PG_DIR'"
				echo "export TILL_TEST_DATABASE_URL='$PG_URL'"
			} >"$state"
			echo "PostgreSQL is running (server log: $PG_DIR/postgres.log):"
		fi
		sed -n 's/^export //p' "$state"
		echo
		echo "Use it:   source .tmp/pg/env && go test ./..."
		echo "Stop it:  make pg-stop   (or $here/pg.sh stop)"
		;;
	stop)
		if [[ -f "$state" ]]; then
			pg_stop "$(sed -n 's/^TILL_PG_DIR=//p' "$state" | tr -d "'")"
			rm -f -- "$state"
			echo "PostgreSQL stopped."
		else
			echo "No PostgreSQL started by pg.sh is recorded in $state."
		fi
		;;
	status)
		if pg_running_dir >/dev/null; then
			sed -n 's/^export //p' "$state"
		else
			echo "not running"
			return 1
		fi
		;;
	*)
		echo "usage: $0 start|stop|status" >&2
		return 2
		;;
	esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	pg_main "$@"
fi
