#!/usr/bin/env bash
# session-bench.sh: the TLS handshake and idle-session benchmark of
# callcentred, reproduced by one command (see docs/BENCHMARKS.md).
#
# Builds callcentred and ccbench, starts a private MariaDB and a callcentred
# in a temporary folder with a throwaway CA, then measures:
#   sessions    N TLS sessions opened and logged in, held idle; callcentred's
#               resident memory (VmRSS) before and after gives KiB a session
#   handshakes  full TLS 1.3 handshakes a second against callcentred and,
#               in the same run with the same certificate, against
#               openssl s_server, measured both with ccbench and with
#               openssl s_time; the figures that matter are the ratios
# Results are key=value lines on standard output; progress goes to standard
# error. Exit status 1 when a check fails (a session lost, a handshake
# failed, memory over the target, an error in the server log).
set -euo pipefail

SESSIONS=10000
USERS=1000
LOGIN_CONCURRENCY=64
DURATION=5
ROUNDS=5
HS_CONCURRENCY=16
MAX_RSS_KIB=64
SESSION_ROUNDS=2
LEAK_KIB=1
SCRYPT_N_LOG2=10
SETTLE=3
BUILD=1
KEEP=0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$ROOT/build-bench
BENCH_NAME=session-bench
# shellcheck source=tests/bench/bench-db.sh
. "$ROOT/tests/bench/bench-db.sh"

usage() {
	cat <<EOF
usage: tests/bench/session-bench.sh [options]

  --sessions N          idle sessions to open and log in (default $SESSIONS)
  --users K             distinct agents the sessions log in as (default $USERS)
  --login-concurrency C sessions connecting or logging in at once (default $LOGIN_CONCURRENCY)
  --duration D          seconds per handshake measurement (default $DURATION)
  --rounds R            handshake measurements per server and client; the
                        median is reported (default $ROUNDS)
  --hs-concurrency C    ccbench connections in flight (default $HS_CONCURRENCY)
  --session-rounds R    open and close the N sessions R times; rounds after the
                        first must not grow the server's memory (default $SESSION_ROUNDS)
  --max-rss-kib K       fail when a session costs more than K KiB (default $MAX_RSS_KIB)
  --scrypt-n-log2 L     password hash cost for the benchmark agents (default $SCRYPT_N_LOG2)
  --build-dir DIR       build tree (default: build-bench in the repository)
  --no-build            use the binaries in the build tree as they are
  --keep                keep the temporary folder (logs, config) and print its path
EOF
}

parse_args() {
	while (($# > 0)); do
		case $1 in
		--sessions) SESSIONS=${2:?}; shift ;;
		--users) USERS=${2:?}; shift ;;
		--login-concurrency) LOGIN_CONCURRENCY=${2:?}; shift ;;
		--duration) DURATION=${2:?}; shift ;;
		--rounds) ROUNDS=${2:?}; shift ;;
		--hs-concurrency) HS_CONCURRENCY=${2:?}; shift ;;
		--session-rounds) SESSION_ROUNDS=${2:?}; shift ;;
		--max-rss-kib) MAX_RSS_KIB=${2:?}; shift ;;
		--scrypt-n-log2) SCRYPT_N_LOG2=${2:?}; shift ;;
		--build-dir) BUILD_DIR=$(realpath -m "${2:?}"); shift ;;
		--no-build) BUILD=0 ;;
		--keep) KEEP=1 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown option $1" ;;
		esac
		shift
	done
	for v in SESSIONS USERS LOGIN_CONCURRENCY DURATION ROUNDS HS_CONCURRENCY SESSION_ROUNDS \
		MAX_RSS_KIB SCRYPT_N_LOG2; do
		need_number "$v" "${!v}"
	done
}

# ---- processes -------------------------------------------------------------

SRV_PID=""
SSRV_PID=""
BENCH_PID=""

# What cleanup (bench-db.sh) stops before the database.
stop_processes() {
	terminate "$BENCH_PID" ccbench 30
	terminate "$SSRV_PID" "openssl s_server" 10
	terminate "$SRV_PID" callcentred 30
}

# ---- set-up ----------------------------------------------------------------

build() {
	bench_build ccbench
	CCBENCH=$BUILD_DIR/tests/bench/ccbench
}

# Enough descriptors for N sessions on each side, and for callcentred's
# max_connections (N + 1000) and its workers (raised when allowed).
raise_fd_limit() {
	local need=$((SESSIONS + 2000)) hard
	hard=$(ulimit -Hn)
	if [[ $hard == unlimited ]]; then
		ulimit -Sn "$need"
	elif ((hard < need)); then
		ulimit -n "$need" 2>/dev/null ||
			die "descriptor hard limit $hard is below $need; raise it or lower --sessions"
	else
		ulimit -Sn "$hard"
	fi
}

start_db() {
	say "starting a private MariaDB"
	# durability is not what is measured: spare the shared disk the fsyncs
	db_start --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2
}

write_config() {
	PORT=$(free_port)
	ADMIN_PORT=$(free_port)
	while ((ADMIN_PORT == PORT)); do ADMIN_PORT=$(free_port); done
	db_new_password
	cat >"$WORK/callcentred.conf" <<EOF
# session-bench.sh: a throwaway callcentred for the benchmark
[server]
listen = 127.0.0.1:$PORT
admin_listen = 127.0.0.1:$ADMIN_PORT
max_connections = $((SESSIONS + 1000))
max_connections_per_ip = $((SESSIONS + 1000))
handshake_timeout = 30
idle_timeout = 86400

[tls]
cert = pki/server.crt
key = pki/server.key

[database]
socket = db/sock
user = callcentre
password_file = db.pass
name = callcentre

[auth]
# lowered from 17 so that N logins take seconds, not half an hour
scrypt_n_log2 = $SCRYPT_N_LOG2
# all logins come from 127.0.0.1, and logins in flight count against the
# per-address limit
max_failures_per_ip = $((LOGIN_CONCURRENCY + 100))

[log]
level = warn
EOF
}

# The schema, one site and USERS agents bench0001.. sharing one password.
prepare_db() {
	say "migrating and adding $USERS agents"
	db_create_user
	db_create_database callcentre
	db_agent_password
	db_seed_agents BN 'Bench site' bench "$USERS" agent
}

start_s_server() {
	SPORT=$(free_port)
	while ((SPORT == PORT || SPORT == ADMIN_PORT)); do SPORT=$(free_port); done
	say "starting openssl s_server on 127.0.0.1:$SPORT"
	# -www: answers without reading standard input; same groups as callcentred
	openssl s_server -accept "127.0.0.1:$SPORT" -cert "$WORK/pki/server.crt" \
		-key "$WORK/pki/server.key" -groups X25519:P-256:P-384 -www -quiet \
		</dev/null >"$WORK/s_server.log" 2>&1 &
	SSRV_PID=$!
	wait_for 10 "openssl s_server" s_server_ready
}

s_server_ready() {
	alive "$SSRV_PID" || die "openssl s_server exited; see $WORK/s_server.log"
	listening "$SPORT"
}

# ---- measurements ----------------------------------------------------------

metric() {
	curl -sf --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" |
		awk -v m="$1" '$1 == m {print $2; found=1} END {if (!found) print "missing"}'
}

rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

ready_line() {
	grep -q '^ready=' "$1" || ! alive "$BENCH_PID"
}

connections_are() {
	[[ $(metric cc_connections) == "$1" ]]
}

# One round: open, log in and hold SESSIONS sessions, then close them all.
# Prints its figures as sessions[.roundN].*; sets HELD_RSS and CLOSED_RSS
# (callcentred's VmRSS in KiB with the sessions held and after they closed).
session_round() {
	local r=$1 p=sessions out=$WORK/sessions-$1.out held at_end logged_in rc k
	((r == 1)) || p=sessions.round$r
	say "sessions round $r/$SESSION_ROUNDS: opening and logging in $SESSIONS sessions as $USERS agents"
	"$CCBENCH" sessions --connect "127.0.0.1:$PORT" --servername localhost \
		--ca "$WORK/pki/ca.crt" --sessions "$SESSIONS" --concurrency "$LOGIN_CONCURRENCY" \
		--user-prefix bench --users "$USERS" --password-file "$WORK/agent.pass" \
		--timeout 120 >"$out" 2>"$out.err" &
	BENCH_PID=$!
	wait_for 1800 "the sessions to log in" ready_line "$out"
	[[ $(kv "$out" ready) == 1 ]] ||
		die "ccbench sessions stopped early: $(tail -n 3 "$out.err")"
	say "sessions round $r: $(kv "$out" sessions_held) held; settling ${SETTLE} s"
	sleep "$SETTLE"
	HELD_RSS=$(rss_kib "$SRV_PID")
	logged_in=$(metric cc_sessions_logged_in)
	terminate "$BENCH_PID" ccbench 60
	rc=$EXIT_STATUS
	BENCH_PID=""
	wait_for 60 "callcentred to see the sessions close" connections_are 0
	sleep "$SETTLE"
	CLOSED_RSS=$(rss_kib "$SRV_PID")

	held=$(kv "$out" sessions_held)
	at_end=$(kv "$out" sessions_held_at_end)
	echo "$p.held=$held"
	echo "$p.held_at_end=$at_end"
	echo "$p.server_logged_in=$logged_in"
	echo "$p.failures=$(kv "$out" failures)"
	grep -E '^(failures|first_error)\.' "$out" | sed "s/^/$p./" || true
	echo "$p.login_seconds=$(kv "$out" login_seconds)"
	echo "$p.logins_per_second=$(kv "$out" logins_per_second)"
	for k in tls_ms_p50 tls_ms_p99 login_ms_p50 login_ms_p99 total_ms_p50 total_ms_p99 total_ms_max; do
		echo "$p.$k=$(kv "$out" "$k")"
	done
	echo "$p.rss_held_kib=$HELD_RSS"
	echo "$p.rss_after_close_kib=$CLOSED_RSS"
	check "$p.all_held" test "$held" = "$SESSIONS"
	check "$p.held_to_the_end" test "$at_end" = "$SESSIONS"
	check "$p.server_agrees" test "$logged_in" = "$SESSIONS"
	check "$p.ccbench_status" test "$rc" = 0
}

# The memory a held session costs, and whether the next rounds reuse it.
run_sessions() {
	local before first r per growth
	sleep "$SETTLE"
	before=$(rss_kib "$SRV_PID")
	echo "sessions.requested=$SESSIONS"
	echo "sessions.users=$USERS"
	echo "sessions.rss_before_kib=$before"
	session_round 1
	first=$HELD_RSS
	per=$(calc "($first - $before) / $SESSIONS" 1)
	echo "sessions.rss_total_mib=$(calc "($first - $before) / 1024" 1)"
	echo "sessions.rss_per_session_kib=$per"
	check sessions.rss_target awk "BEGIN {exit !($per <= $MAX_RSS_KIB)}"
	for ((r = 2; r <= SESSION_ROUNDS; r++)); do
		session_round "$r"
		# memory freed by closed sessions is reused: a leak shows as growth
		growth=$(calc "($HELD_RSS - $first) / $SESSIONS" 2)
		echo "sessions.round$r.rss_growth_per_session_kib=$growth"
		check "sessions.round$r.no_growth" awk "BEGIN {exit !($growth <= $LEAK_KIB)}"
	done
}

# One handshake measurement with ccbench against the server on port $1
# (pid $2): sets RATE (handshakes a second), CPU_US (server CPU
# microseconds a handshake) and OTHER_PCT (CPU that neither the server nor
# ccbench used during the run, in % of one core: other work on the machine).
hs_ccbench() {
	local port=$1 pid=$2 out=$3 c0 c1 n b0 b1 t0 t1
	b0=$(machine_busy_seconds)
	t0=$(date +%s.%N)
	c0=$(cpu_seconds "$pid")
	if ! "$CCBENCH" handshakes --connect "127.0.0.1:$port" --servername localhost \
		--ca "$WORK/pki/ca.crt" --duration "$DURATION" --warmup 1 \
		--concurrency "$HS_CONCURRENCY" --quiet >"$out" 2>"$out.err"; then
		FAILED+=("ccbench handshakes against port $port: $(grep -E '^(failures|first_error)' "$out" | tr '\n' ' ')")
	fi
	c1=$(cpu_seconds "$pid")
	t1=$(date +%s.%N)
	b1=$(machine_busy_seconds)
	n=$(kv "$out" handshakes_total)
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "ccbench counted no handshakes; see $out.err"
	RATE=$(kv "$out" handshakes_per_second)
	# the server's CPU spans the warm-up too: divide by every handshake
	CPU_US=$(calc "($c1 - $c0) * 1e6 / $n" 0)
	OTHER_PCT=$(awk -v busy="$(calc "$b1 - $b0" 3)" -v srv="$(calc "$c1 - $c0" 3)" \
		-v cli="$(kv "$out" client_cpu_total_seconds)" -v wall="$(calc "$t1 - $t0" 3)" \
		'BEGIN {v = (busy - srv - cli) * 100 / wall; printf "%.0f", v < 0 ? 0 : v}')
}

# One measurement with openssl s_time -new against s_server: sets RATE and CPU_US.
hs_s_time() {
	local out=$1 c0 c1 t0 t1 n
	c0=$(cpu_seconds "$SSRV_PID")
	t0=$(date +%s.%N)
	openssl s_time -connect "127.0.0.1:$SPORT" -new -time "$DURATION" \
		-CAfile "$WORK/pki/ca.crt" -verify 1 >"$out" 2>&1 || FAILED+=("openssl s_time")
	t1=$(date +%s.%N)
	c1=$(cpu_seconds "$SSRV_PID")
	n=$(awk '/connections in [0-9.]+s;/ {print $1; exit}' "$out")
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "cannot read openssl s_time output; see $out"
	# s_time reports whole real seconds only: time the run here instead
	RATE=$(calc "$n / ($t1 - $t0)" 1)
	CPU_US=$(calc "($c1 - $c0) * 1e6 / $n" 0)
}

# The three measurements of round $1, in an order that alternates between
# rounds so neither server always runs first. Appends to the arrays below.
handshake_round() {
	local r=$1 step
	local order=(callcentred s_server s_time)
	((r % 2)) || order=(s_time s_server callcentred)
	for step in "${order[@]}"; do
		case $step in
		callcentred)
			hs_ccbench "$PORT" "$SRV_PID" "$WORK/hs-callcentred-$r.out"
			CC_RATE+=("$RATE")
			CC_CPU+=("$CPU_US")
			CC_CLIENT+=("$(kv "$WORK/hs-callcentred-$r.out" client_cpu_us_per_handshake)")
			CC_OTHER+=("$OTHER_PCT")
			;;
		s_server)
			hs_ccbench "$SPORT" "$SSRV_PID" "$WORK/hs-s_server-$r.out"
			SS_RATE+=("$RATE")
			SS_CPU+=("$CPU_US")
			;;
		s_time)
			hs_s_time "$WORK/hs-s_time-$r.out"
			ST_RATE+=("$RATE")
			ST_CPU+=("$CPU_US")
			;;
		esac
	done
	say "  callcentred ${CC_RATE[-1]}/s (server ${CC_CPU[-1]} us CPU each, others busy" \
		"${CC_OTHER[-1]}% of a core); s_server ${SS_RATE[-1]}/s (${SS_CPU[-1]} us);" \
		"s_time to s_server ${ST_RATE[-1]}/s (${ST_CPU[-1]} us)"
	R_SS+=("$(calc "${CC_RATE[-1]} / ${SS_RATE[-1]}" 3)")
	R_ST+=("$(calc "${CC_RATE[-1]} / ${ST_RATE[-1]}" 3)")
	R_CPU+=("$(calc "${CC_CPU[-1]} / ${SS_CPU[-1]}" 3)")
}

# Handshakes a second and server CPU a handshake, callcentred against
# s_server. The machine is shared: each round's ratio compares runs made
# seconds apart, and the medians of those ratios are the headline.
run_handshakes() {
	local r fail0 fail1
	CC_RATE=() CC_CPU=() CC_CLIENT=() CC_OTHER=() SS_RATE=() SS_CPU=() ST_RATE=() ST_CPU=()
	R_SS=() R_ST=() R_CPU=()
	fail0=$(metric cc_tls_handshake_failures_total)
	for ((r = 1; r <= ROUNDS; r++)); do
		say "handshakes round $r/$ROUNDS: callcentred and s_server with ccbench, s_server with s_time (${DURATION} s each)"
		handshake_round "$r"
	done
	fail1=$(metric cc_tls_handshake_failures_total)
	echo "handshakes.rounds=$ROUNDS"
	echo "handshakes.seconds_each=$DURATION"
	echo "handshakes.ccbench_concurrency=$HS_CONCURRENCY"
	echo "handshakes.callcentred_per_second=$(median "${CC_RATE[@]}")"
	echo "handshakes.s_server_per_second=$(median "${SS_RATE[@]}")"
	echo "handshakes.s_server_s_time_per_second=$(median "${ST_RATE[@]}")"
	echo "handshakes.ratio_callcentred_to_s_server=$(calc "$(median "${R_SS[@]}")" 2)"
	echo "handshakes.ratio_callcentred_to_s_server_s_time=$(calc "$(median "${R_ST[@]}")" 2)"
	echo "handshakes.callcentred_cpu_us=$(median "${CC_CPU[@]}")"
	echo "handshakes.s_server_cpu_us=$(median "${SS_CPU[@]}")"
	echo "handshakes.s_server_cpu_us_s_time=$(median "${ST_CPU[@]}")"
	echo "handshakes.cpu_ratio_callcentred_to_s_server=$(calc "$(median "${R_CPU[@]}")" 2)"
	echo "handshakes.ccbench_client_cpu_us=$(median "${CC_CLIENT[@]}")"
	echo "handshakes.callcentred_all=${CC_RATE[*]}"
	echo "handshakes.s_server_all=${SS_RATE[*]}"
	echo "handshakes.s_server_s_time_all=${ST_RATE[*]}"
	echo "handshakes.ratio_callcentred_to_s_server_all=${R_SS[*]}"
	echo "handshakes.cpu_ratio_callcentred_to_s_server_all=${R_CPU[*]}"
	echo "handshakes.other_cpu_pct_all=${CC_OTHER[*]}"
	check handshakes.server_side_failures test "$((fail1 - fail0))" = 0
}

environment() {
	echo "env.nproc=$(nproc)"
	echo "env.cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	# shellcheck disable=SC1091
	echo "env.os=$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "env.openssl=$(openssl version | awk '{print $2}')"
	echo "env.libevent=$(pkg-config --modversion libevent 2>/dev/null || echo unknown)"
	echo "env.mariadb=$(mariadbd --version | awk '{print $3}')"
	echo "env.build_type=$BUILD_TYPE"
	echo "env.scrypt_n_log2=$SCRYPT_N_LOG2"
	# other work on the machine shows here: the figures are only as quiet
	echo "env.loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
	parse_args "$@"
	check_tools
	bench_begin ccbench
	build
	raise_fd_limit
	start_db
	say "making a throwaway CA and server certificate"
	make_pki
	write_config
	prepare_db
	start_server
	environment
	run_sessions
	start_s_server
	run_handshakes
	stop_server
	echo "env.loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
	if ((${#FAILED[@]} > 0)); then
		printf 'session-bench: FAILED: %s\n' "${FAILED[@]}" >&2
		exit 1
	fi
	say "all checks passed"
}

main "$@"
