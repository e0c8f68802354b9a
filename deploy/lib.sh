# shellcheck shell=bash
# deploy/lib.sh: shell functions shared by deploy/up, deploy/down and
# tests/run. Sourced, never run. The caller sets -euo pipefail, CC_PROG (its
# name in messages) and CC_ROOT (the repository root, absolute).

CC_VAR="$CC_ROOT/var"
CC_DB_DIR="$CC_VAR/db"
CC_DB_DATA="$CC_DB_DIR/data"
CC_DB_SOCK="$CC_DB_DIR/mysqld.sock"
CC_DB_PIDFILE="$CC_DB_DIR/mariadbd.pid"
CC_DB_LOG="$CC_VAR/log/mariadbd.log"
CC_DB_PORT="${CC_DB_PORT:-13306}"
CC_SERVER_PIDFILE="$CC_VAR/run/callcentred.pid"
# shellcheck disable=SC2034 # used by the scripts that source this file
CC_SERVER_LOG="$CC_VAR/log/callcentred.log"
CC_USER="$(id -un)"

# Print a progress line.
cc_say() {
	printf '%s: %s\n' "$CC_PROG" "$*"
}

# Print a warning on standard error.
cc_warn() {
	printf '%s: warning: %s\n' "$CC_PROG" "$*" >&2
}

# Print an error on standard error and exit 1.
cc_die() {
	printf '%s: error: %s\n' "$CC_PROG" "$*" >&2
	exit 1
}

# Show the last lines of a log file on standard error, indented.
cc_log_tail() {
	local file=$1 lines=${2:-30}

	[ -f "$file" ] || return 0
	printf '%s: last %d lines of %s:\n' "$CC_PROG" "$lines" "${file#"$CC_ROOT"/}" >&2
	tail -n "$lines" "$file" | sed 's/^/    /' >&2
}

# Print the package names listed in deploy/packages.txt.
cc_packages_list() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$CC_ROOT/deploy/packages.txt"
}

# Print the listed packages that are not installed, one a line.
cc_packages_missing() {
	local pkg status

	for pkg in $(cc_packages_list); do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) || status=
		[ "$status" = installed ] || printf '%s\n' "$pkg"
	done
}

# Install the missing packages: as root directly, otherwise through sudo; with
# neither, print the command to run and exit 1. CC_SKIP_PACKAGES=1 skips the
# check (for systems that are not Debian).
cc_packages_ensure() {
	local missing

	[ "${CC_SKIP_PACKAGES:-0}" = 1 ] && return 0
	command -v dpkg-query >/dev/null 2>&1 ||
		cc_die "dpkg-query not found: this is not Debian; install the equivalents of deploy/packages.txt and rerun with CC_SKIP_PACKAGES=1"
	missing=$(cc_packages_missing | tr '\n' ' ')
	missing=${missing% }
	[ -n "$missing" ] || return 0

	cc_say "missing Debian packages: $missing"
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update
		# shellcheck disable=SC2086 # one word per package
		DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
	elif command -v sudo >/dev/null 2>&1; then
		sudo env DEBIAN_FRONTEND=noninteractive apt-get update
		# shellcheck disable=SC2086
		sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
	else
		printf '%s: not root and no sudo; as root, run:\n\n    apt-get update && apt-get install -y %s\n\n' \
			"$CC_PROG" "$missing" >&2
		exit 1
	fi
	missing=$(cc_packages_missing | tr '\n' ' ')
	[ -z "${missing% }" ] || cc_die "still missing after apt-get install: ${missing% }"
}

# Run the mariadb client as this system user's administrative account
# (unix_socket authentication) on the private instance; extra arguments follow.
cc_db_client() {
	mariadb --no-defaults --protocol=socket --socket="$CC_DB_SOCK" --user="$CC_USER" \
		--default-character-set=utf8mb4 --batch --skip-column-names "$@"
}

# Is the private MariaDB answering on its socket?
cc_db_alive() {
	[ -S "$CC_DB_SOCK" ] || return 1
	mariadb-admin --no-defaults --protocol=socket --socket="$CC_DB_SOCK" --user="$CC_USER" \
		--connect-timeout=2 ping >/dev/null 2>&1
}

# Create the private MariaDB data directory under var/db if it is not there,
# then start mariadbd unless it is already running; wait until it answers.
cc_db_start() {
	local pid

	mkdir -p "$CC_DB_DIR" "$CC_VAR/log"
	chmod 700 "$CC_DB_DIR"
	if cc_db_alive; then
		cc_say "MariaDB already running (socket ${CC_DB_SOCK#"$CC_ROOT"/})"
		return 0
	fi
	# sun_path holds 108 bytes including the terminating NUL.
	[ "${#CC_DB_SOCK}" -lt 108 ] ||
		cc_die "socket path $CC_DB_SOCK is longer than 107 bytes; move the repository to a shorter path"

	if [ ! -d "$CC_DB_DATA/mysql" ]; then
		cc_say "creating MariaDB data directory ${CC_DB_DATA#"$CC_ROOT"/}"
		rm -rf "$CC_DB_DATA"
		if ! mariadb-install-db --no-defaults --datadir="$CC_DB_DATA" --user="$CC_USER" \
			--auth-root-authentication-method=socket --auth-root-socket-user="$CC_USER" \
			--skip-test-db >"$CC_VAR/log/mariadb-install-db.log" 2>&1; then
			cc_log_tail "$CC_VAR/log/mariadb-install-db.log"
			rm -rf "$CC_DB_DATA"
			cc_die "mariadb-install-db failed"
		fi
	fi

	cc_say "starting MariaDB on 127.0.0.1:$CC_DB_PORT and ${CC_DB_SOCK#"$CC_ROOT"/}"
	setsid mariadbd --no-defaults --datadir="$CC_DB_DATA" --socket="$CC_DB_SOCK" \
		--port="$CC_DB_PORT" --bind-address=127.0.0.1 --user="$CC_USER" \
		--pid-file="$CC_DB_PIDFILE" --log-error="$CC_DB_LOG" --skip-log-bin \
		--skip-name-resolve --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_ci </dev/null >>"$CC_DB_LOG" 2>&1 &
	pid=$!
	for _ in $(seq 1 300); do
		cc_db_alive && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			cc_log_tail "$CC_DB_LOG"
			cc_die "mariadbd exited during start-up (is port $CC_DB_PORT taken? set CC_DB_PORT)"
		fi
		sleep 0.1
	done
	cc_log_tail "$CC_DB_LOG"
	cc_die "MariaDB did not answer within 30 s"
}

# Print the pid of the mariadbd recorded in var/db, if it is running.
cc_db_pid() {
	local pid

	[ -f "$CC_DB_PIDFILE" ] || return 1
	read -r pid <"$CC_DB_PIDFILE" || return 1
	case $pid in
	'' | *[!0-9]*) return 1 ;;
	esac
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = mariadbd ] || return 1
	printf '%s\n' "$pid"
}

# Shut the private MariaDB down cleanly, if it is running: through its socket,
# or with SIGTERM (also a clean shutdown) when the socket does not answer.
cc_db_stop() {
	local pid

	if cc_db_alive; then
		cc_say "stopping MariaDB"
		# mariadb-admin shutdown returns once the server has exited.
		mariadb-admin --no-defaults --protocol=socket --socket="$CC_DB_SOCK" \
			--user="$CC_USER" --shutdown-timeout=60 shutdown ||
			cc_die "mariadb-admin shutdown failed"
	fi
	if pid=$(cc_db_pid); then
		cc_say "stopping MariaDB (pid $pid) with SIGTERM"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 600); do
			kill -0 "$pid" 2>/dev/null || return 0
			sleep 0.1
		done
		cc_die "MariaDB (pid $pid) did not exit within 60 s of SIGTERM"
	fi
}

# Print the pid of the running callcentred recorded in var/run, if any.
cc_server_pid() {
	local pid

	[ -f "$CC_SERVER_PIDFILE" ] || return 1
	read -r pid <"$CC_SERVER_PIDFILE" || return 1
	case $pid in
	'' | *[!0-9]*) return 1 ;;
	esac
	# A stale pid file may name a process that is not ours.
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = callcentred ] || return 1
	printf '%s\n' "$pid"
}

# Stop callcentred with SIGTERM and wait for it; SIGKILL after 30 s.
cc_server_stop() {
	local pid

	if ! pid=$(cc_server_pid); then
		rm -f "$CC_SERVER_PIDFILE"
		cc_say "callcentred is not running"
		return 0
	fi
	cc_say "stopping callcentred (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		cc_warn "callcentred (pid $pid) did not exit within 30 s of SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.2
	fi
	rm -f "$CC_SERVER_PIDFILE"
}
