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
CC_PORTS_FILE="$CC_VAR/etc/ports"
CC_SERVER_PIDFILE="$CC_VAR/run/callcentred.pid"
CC_GATEWAY_PIDFILE="$CC_VAR/run/ccgateway.pid"
# shellcheck disable=SC2034 # used by the scripts that source this file
CC_SERVER_LOG="$CC_VAR/log/callcentred.log"
# shellcheck disable=SC2034 # used by the scripts that source this file
CC_GATEWAY_LOG="$CC_VAR/log/ccgateway.log"
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

# Print the path of a program: from PATH, else from the sbin folders, which
# are not on a normal user's PATH on Debian (mariadbd is /usr/sbin/mariadbd).
# Returns 1 when it is nowhere.
cc_find_program() {
	local name=$1 dir

	if command -v "$name" 2>/dev/null; then
		return 0
	fi
	for dir in /usr/local/sbin /usr/sbin /sbin; do
		if [ -x "$dir/$name" ]; then
			printf '%s\n' "$dir/$name"
			return 0
		fi
	done
	return 1
}

# Is the process running (a zombie that its new parent has not reaped yet
# has exited)? With a second argument, is it also that program, and with a
# third, is that one of its arguments (so that a recycled pid is not taken
# for ours)?
cc_pid_alive() {
	local pid=$1 name=${2:-} arg=${3:-} stat a
	local -a args=()

	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ] || return 1
	[ -z "$name" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
	[ -n "$arg" ] || return 0
	mapfile -d "" -t args 2>/dev/null <"/proc/$pid/cmdline" || return 1
	for a in "${args[@]}"; do
		[ "$a" != "$arg" ] || return 0
	done
	return 1
}

# Print the package names listed in deploy/packages.txt. With "deploy", leave
# out those whose comment starts with "tests" (needed by tests/run only).
cc_packages_list() {
	local scope=${1:-all} line pkg note

	while IFS= read -r line || [ -n "$line" ]; do
		pkg=${line%%#*}
		pkg=${pkg//[[:space:]]/}
		[ -n "$pkg" ] || continue
		note=
		case $line in *'#'*) note=${line#*#} ;; esac
		note=${note#"${note%%[![:space:]]*}"}
		if [ "$scope" = deploy ] && [ "${note%%[!a-z]*}" = tests ]; then
			continue
		fi
		printf '%s\n' "$pkg"
	done <"$CC_ROOT/deploy/packages.txt"
}

# Print the listed packages (of the scope, see cc_packages_list) that are not
# installed, one a line.
cc_packages_missing() {
	local -A installed=()
	local pkg status
	local -a pkgs

	mapfile -t pkgs < <(cc_packages_list "${1:-all}")
	[ "${#pkgs[@]}" -gt 0 ] || return 0
	# One dpkg-query for all; it exits 1 when some package is unknown.
	while read -r pkg status; do
		if [ "$status" = installed ]; then
			installed[${pkg%%:*}]=1
		fi
	done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null || true)
	for pkg in "${pkgs[@]}"; do
		[ -n "${installed[$pkg]:-}" ] || printf '%s\n' "$pkg"
	done
}

# Run a command as root: directly when root, else through sudo (whose
# credentials cc_sudo_check has checked).
cc_as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

# Print how to install the packages by hand (with sudo when there is one,
# unless the third argument is "root"), and exit 1.
cc_packages_advise() {
	local missing=$1 why=$2 via=${3:-sudo} prefix='' who='as root'

	if [ "$via" = sudo ] && [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
		prefix='sudo '
		who='with sudo'
	fi
	printf '%s: error: %s. Install the missing packages %s:\n\n' "$CC_PROG" "$why" "$who" >&2
	printf '    %sapt-get update && %sapt-get install -y %s\n\n' "$prefix" "$prefix" "$missing" >&2
	printf '%s: then run %s again (CC_SKIP_PACKAGES=1 skips this check).\n' \
		"$CC_PROG" "$CC_PROG" >&2
	exit 1
}

# Can this user run apt-get through sudo? On a terminal sudo may ask for the
# password; elsewhere it must not need one.
cc_sudo_check() {
	local missing=$1

	command -v sudo >/dev/null 2>&1 ||
		cc_packages_advise "$missing" "not root, and sudo is not installed"
	if [ -t 0 ]; then
		cc_say "installing them with sudo apt-get (sudo may ask for your password)"
		sudo -v || cc_packages_advise "$missing" "sudo refused" root
	else
		sudo -n true 2>/dev/null ||
			cc_packages_advise "$missing" "not root, and sudo cannot run without a password (standard input is not a terminal)"
		cc_say "installing them with sudo apt-get"
	fi
}

# Install the missing packages of the scope ("all" or "deploy", see
# cc_packages_list): as root directly, otherwise through sudo; when that is
# not possible, print the apt-get command to run and exit 1.
# CC_SKIP_PACKAGES=1 skips the check (for systems that are not Debian).
cc_packages_ensure_for() {
	local scope=$1 missing
	local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3)

	[ "${CC_SKIP_PACKAGES:-0}" = 1 ] && return 0
	command -v dpkg-query >/dev/null 2>&1 ||
		cc_die "dpkg-query not found: this is not Debian; install the equivalents of deploy/packages.txt and rerun with CC_SKIP_PACKAGES=1"
	missing=$(cc_packages_missing "$scope" | tr '\n' ' ')
	missing=${missing% }
	[ -n "$missing" ] || return 0

	cc_say "missing Debian packages: $missing"
	if [ "$(id -u)" -eq 0 ]; then
		cc_say "installing them with apt-get"
	else
		cc_sudo_check "$missing"
	fi
	cc_as_root "${apt[@]}" update ||
		cc_packages_advise "$missing" "apt-get update failed"
	# shellcheck disable=SC2086 # one word per package
	cc_as_root "${apt[@]}" install -y $missing ||
		cc_packages_advise "$missing" "apt-get install failed"
	missing=$(cc_packages_missing "$scope" | tr '\n' ' ')
	[ -z "${missing% }" ] || cc_die "still missing after apt-get install: ${missing% }"
}

# Install all the missing packages (see cc_packages_ensure_for).
cc_packages_ensure() {
	cc_packages_ensure_for all
}

# Read a port from the environment variable, else from var/etc/ports (the
# ports of the last run, so that a stack started on other ports is found
# again), else the default; check it is a number from 1 to 65535.
cc_port_pick() {
	local name=$1 default=$2 value key saved=

	value=${!name:-}
	if [ -z "$value" ] && [ -f "$CC_PORTS_FILE" ]; then
		while IFS='=' read -r key saved; do
			if [ "$key" = "$name" ]; then
				value=$saved
				break
			fi
		done <"$CC_PORTS_FILE"
	fi
	value=${value:-$default}
	case $value in
	'' | *[!0-9]* | 0*) cc_die "$name=\"$value\" is not a port number" ;;
	esac
	[ "$value" -le 65535 ] || cc_die "$name=$value is not a port number"
	printf -v "$name" '%s' "$value"
}

# Set CC_PORT, CC_ADMIN_PORT, CC_DB_PORT and CC_GATEWAY_PORT (see
# cc_port_pick).
cc_ports_init() {
	cc_port_pick CC_PORT 7443
	cc_port_pick CC_ADMIN_PORT 7480
	cc_port_pick CC_DB_PORT 13306
	cc_port_pick CC_GATEWAY_PORT 8443
	if [ "$(printf '%s\n' "$CC_PORT" "$CC_ADMIN_PORT" "$CC_DB_PORT" "$CC_GATEWAY_PORT" |
		sort -u | wc -l)" -ne 4 ]; then
		cc_die "CC_PORT, CC_ADMIN_PORT, CC_DB_PORT and CC_GATEWAY_PORT must differ ($CC_PORT, $CC_ADMIN_PORT, $CC_DB_PORT, $CC_GATEWAY_PORT)"
	fi
}

# Record the ports in var/etc/ports for the next run.
cc_ports_save() {
	printf 'CC_PORT=%s\nCC_ADMIN_PORT=%s\nCC_DB_PORT=%s\nCC_GATEWAY_PORT=%s\n' \
		"$CC_PORT" "$CC_ADMIN_PORT" "$CC_DB_PORT" "$CC_GATEWAY_PORT" >"$CC_PORTS_FILE.tmp"
	mv -f "$CC_PORTS_FILE.tmp" "$CC_PORTS_FILE"
}

# Does something accept connections on 127.0.0.1:port?
cc_port_busy() {
	(: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Print three free ports, the stack's shifted by a multiple of 1000, as
# assignments for the user to copy; nothing when none is found.
cc_ports_suggest() {
	local off port ok

	for off in 1000 2000 3000 4000 5000 6000 7000 8000 9000; do
		ok=1
		for port in $((CC_PORT + off)) $((CC_ADMIN_PORT + off)) $((CC_DB_PORT + off)) \
			$((CC_GATEWAY_PORT + off)); do
			if [ "$port" -gt 65535 ] || cc_port_busy "$port"; then
				ok=0
			fi
		done
		if [ "$ok" -eq 1 ]; then
			printf 'CC_PORT=%d CC_ADMIN_PORT=%d CC_DB_PORT=%d CC_GATEWAY_PORT=%d' \
				$((CC_PORT + off)) $((CC_ADMIN_PORT + off)) $((CC_DB_PORT + off)) \
				$((CC_GATEWAY_PORT + off))
			return 0
		fi
	done
}

# Exit with advice when a port that the stack needs is taken by another
# program (another stack, a system service). Arguments: the names of the
# port variables to check (CC_PORT, CC_ADMIN_PORT, CC_DB_PORT, CC_GATEWAY_PORT).
cc_ports_require_free() {
	local name busy=() hint

	for name in "$@"; do
		if cc_port_busy "${!name}"; then
			busy+=("${!name} ($name)")
		fi
	done
	[ "${#busy[@]}" -gt 0 ] || return 0
	hint=$(cc_ports_suggest)
	printf '%s: error: ports in use by another program on 127.0.0.1: %s\n' \
		"$CC_PROG" "$(printf '%s, ' "${busy[@]}" | sed 's/, $//')" >&2
	if [ -n "$hint" ]; then
		printf '%s: choose other ports, for example:\n\n    %s %s\n\n' \
			"$CC_PROG" "$hint" "$CC_PROG" >&2
	fi
	printf '%s: the ports are kept in var/etc/ports for later runs.\n' "$CC_PROG" >&2
	exit 1
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

# Create the private MariaDB data directory under var/db if it is not there.
cc_db_init() {
	local install_db

	[ ! -d "$CC_DB_DATA/mysql" ] || return 0
	install_db=$(cc_find_program mariadb-install-db) ||
		cc_die "mariadb-install-db not found (Debian package mariadb-server)"
	cc_say "creating MariaDB data directory ${CC_DB_DATA#"$CC_ROOT"/}"
	rm -rf "$CC_DB_DATA"
	# --force: do not require this host's name to resolve (a container may
	# have no /etc/hosts); the stack's accounts are on localhost and
	# 127.0.0.1 only.
	if ! "$install_db" --no-defaults --datadir="$CC_DB_DATA" --user="$CC_USER" \
		--auth-root-authentication-method=socket --auth-root-socket-user="$CC_USER" \
		--skip-test-db --force >"$CC_VAR/log/mariadb-install-db.log" 2>&1; then
		cc_log_tail "$CC_VAR/log/mariadb-install-db.log"
		rm -rf "$CC_DB_DATA"
		cc_die "mariadb-install-db failed (full log: var/log/mariadb-install-db.log)"
	fi
}

# Create the private MariaDB data directory under var/db if it is not there,
# then start mariadbd unless it is already running; wait until it answers.
cc_db_start() {
	local pid mariadbd

	mkdir -p "$CC_DB_DIR" "$CC_VAR/log"
	chmod 700 "$CC_DB_DIR"
	if cc_db_alive; then
		cc_say "MariaDB already running (socket ${CC_DB_SOCK#"$CC_ROOT"/})"
		return 0
	fi
	# Ours but not answering yet (starting, recovering): wait, do not start a
	# second one on the same data directory.
	if pid=$(cc_db_pid); then
		cc_say "waiting for the running MariaDB (pid $pid) to answer"
		cc_db_wait "$pid"
		return 0
	fi
	# sun_path holds 108 bytes including the terminating NUL.
	[ "${#CC_DB_SOCK}" -lt 108 ] ||
		cc_die "socket path $CC_DB_SOCK is longer than 107 bytes; move the repository to a shorter path"
	mariadbd=$(cc_find_program mariadbd) ||
		cc_die "mariadbd not found in PATH or /usr/sbin (Debian package mariadb-server)"
	cc_ports_require_free CC_DB_PORT
	cc_db_init

	cc_say "starting MariaDB on 127.0.0.1:$CC_DB_PORT and ${CC_DB_SOCK#"$CC_ROOT"/}"
	rm -f "$CC_DB_SOCK"
	setsid "$mariadbd" --no-defaults --datadir="$CC_DB_DATA" --socket="$CC_DB_SOCK" \
		--port="$CC_DB_PORT" --bind-address=127.0.0.1 --user="$CC_USER" \
		--pid-file="$CC_DB_PIDFILE" --log-error="$CC_DB_LOG" --skip-log-bin \
		--skip-name-resolve --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_ci </dev/null >>"$CC_DB_LOG" 2>&1 &
	cc_db_wait $!
}

# Wait until the mariadbd with this pid answers on the socket; exit if it
# dies or takes more than 60 s (crash recovery of a large database may).
cc_db_wait() {
	local pid=$1

	for _ in $(seq 1 600); do
		cc_db_alive && return 0
		if ! cc_pid_alive "$pid"; then
			cc_log_tail "$CC_DB_LOG"
			cc_die "mariadbd exited during start-up (full log: var/log/mariadbd.log)"
		fi
		sleep 0.1
	done
	cc_log_tail "$CC_DB_LOG"
	cc_die "MariaDB did not answer within 60 s (full log: var/log/mariadbd.log)"
}

# Print the TCP port the running private MariaDB listens on.
cc_db_port() {
	cc_db_client -e 'SELECT @@port'
}

# Print the pid of the mariadbd recorded in var/db, if it is running.
cc_db_pid() {
	local pid

	[ -f "$CC_DB_PIDFILE" ] || return 1
	read -r pid <"$CC_DB_PIDFILE" || return 1
	case $pid in
	'' | *[!0-9]*) return 1 ;;
	esac
	cc_pid_alive "$pid" mariadbd "--datadir=$CC_DB_DATA" || return 1
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
			cc_warn "mariadb-admin shutdown failed; trying SIGTERM"
	fi
	if pid=$(cc_db_pid); then
		cc_say "stopping MariaDB (pid $pid) with SIGTERM"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 600); do
			cc_pid_alive "$pid" || return 0
			sleep 0.1
		done
		cc_die "MariaDB (pid $pid) did not exit within 60 s of SIGTERM"
	fi
}

# Print the pid of a running program of the stack (callcentred, ccgateway)
# recorded in its pid file under var/run, if any.
cc_program_pid() {
	local name=$1 pidfile=$2 binary=$3 pid

	[ -f "$pidfile" ] || return 1
	read -r pid <"$pidfile" || return 1
	case $pid in
	'' | *[!0-9]*) return 1 ;;
	esac
	# A stale pid file may name a process that is not ours.
	cc_pid_alive "$pid" "$name" "$binary" || return 1
	printf '%s\n' "$pid"
}

# Stop a program of the stack with SIGTERM and wait for it; SIGKILL after 30 s.
cc_program_stop() {
	local name=$1 pidfile=$2 binary=$3 pid

	if ! pid=$(cc_program_pid "$name" "$pidfile" "$binary"); then
		rm -f "$pidfile"
		cc_say "$name is not running"
		return 0
	fi
	cc_say "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 300); do
		cc_pid_alive "$pid" || break
		sleep 0.1
	done
	if cc_pid_alive "$pid"; then
		cc_warn "$name (pid $pid) did not exit within 30 s of SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.2
	fi
	rm -f "$pidfile"
}

cc_server_pid() {
	cc_program_pid callcentred "$CC_SERVER_PIDFILE" "$CC_ROOT/build/server/callcentred"
}

cc_server_stop() {
	cc_program_stop callcentred "$CC_SERVER_PIDFILE" "$CC_ROOT/build/server/callcentred"
}

cc_gateway_pid() {
	cc_program_pid ccgateway "$CC_GATEWAY_PIDFILE" "$CC_ROOT/build/server/gateway/ccgateway"
}

cc_gateway_stop() {
	cc_program_stop ccgateway "$CC_GATEWAY_PIDFILE" "$CC_ROOT/build/server/gateway/ccgateway"
}
