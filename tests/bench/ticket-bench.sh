#!/usr/bin/env bash
# ticket-bench.sh: durable ticket changes a second with concurrent agents,
# side by side with the database's own single-row INSERT rate, reproduced
# by one command (see docs/BENCHMARKS.md).
#
# Builds callcentred and ccbench, starts a private MariaDB in a temporary
# folder with durable commits (innodb_flush_log_at_trx_commit = 1: every
# commit is on disk before it is answered), one site, one queue and N
# agents, then for each database pool size asked for:
#   tickets   callcentred with that many db workers; ccbench tickets logs
#             the N agents in over TLS, one connection each, and each loops
#             ticket.create -> ticket.note -> ticket.transition accept (into
#             the queue) for the duration; each reply ok is one committed
#             change (the ticket row or note and its hash-chained event, in
#             one transaction)
# and, in the same run on the same database:
#   inserts   ccbench inserts: N threads, a connection each, looping over a
#             prepared single-row INSERT in autocommit; what the database
#             does alone at the same durability
# The figure that matters is the ratio of the two. Per phase also: CPU of
# callcentred, mariadbd and ccbench per change, InnoDB fsyncs per change
# (group commit shows as fewer fsyncs than commits), and the commands and
# prepares MariaDB received per change.
# Results are key=value lines on standard output; progress goes to standard
# error. Exit status 1 when a check fails (an error reply, a dropped
# connection, the rate under the target, an error in the server log).
set -euo pipefail

AGENTS=50
DURATION=20
WARMUP=3
WORKERS=2,4,8
TARGET=3000
FLUSH_LOG=1
BUFFER_POOL=1G
DB_OPTIONS=()
SCRYPT_N_LOG2=10
BUILD=1
KEEP=0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$ROOT/build-bench
BENCH_NAME=ticket-bench
# shellcheck source=tests/bench/bench-db.sh
. "$ROOT/tests/bench/bench-db.sh"

usage() {
	cat <<EOF
usage: tests/bench/ticket-bench.sh [options]

  --agents N            agents changing tickets at once, one connection each;
                        also the baseline's INSERT threads (default $AGENTS)
  --duration D          seconds counted per phase (default $DURATION)
  --warmup W            seconds run before counting (default $WARMUP)
  --workers LIST        callcentred database pool sizes to measure, comma
                        separated; the first is the headline (default $WORKERS)
  --target T            fail when the headline is under T changes a second
                        (default $TARGET)
  --flush-log-at-trx-commit V
                        innodb_flush_log_at_trx_commit of the private MariaDB:
                        1 durable (default), 2 written at commit and flushed
                        once a second (for comparison only)
  --buffer-pool SIZE    innodb_buffer_pool_size (default $BUFFER_POOL)
  --mariadbd-option OPT one more mariadbd option for the private MariaDB, such
                        as --thread-handling=pool-of-threads (repeatable)
  --build-dir DIR       build tree (default: build-bench in the repository)
  --no-build            use the binaries in the build tree as they are
  --keep                keep the temporary folder (logs, config) and print its path
EOF
}

parse_args() {
	while (($# > 0)); do
		case $1 in
		--agents) AGENTS=${2:?}; shift ;;
		--duration) DURATION=${2:?}; shift ;;
		--warmup) WARMUP=${2:?}; shift ;;
		--workers) WORKERS=${2:?}; shift ;;
		--target) TARGET=${2:?}; shift ;;
		--flush-log-at-trx-commit) FLUSH_LOG=${2:?}; shift ;;
		--buffer-pool) BUFFER_POOL=${2:?}; shift ;;
		--mariadbd-option)
			[[ ${2:?} == --* ]] || die "--mariadbd-option: \"$2\" is not a --option"
			DB_OPTIONS+=("$2")
			shift
			;;
		--build-dir) BUILD_DIR=$(realpath -m "${2:?}"); shift ;;
		--no-build) BUILD=0 ;;
		--keep) KEEP=1 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown option $1" ;;
		esac
		shift
	done
	for v in AGENTS DURATION WARMUP TARGET; do
		need_number "$v" "${!v}"
	done
	[[ $WORKERS =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--workers: \"$WORKERS\" is not a list of numbers"
	[[ $FLUSH_LOG =~ ^[012]$ ]] || die "--flush-log-at-trx-commit: 0, 1 or 2"
	[[ $BUFFER_POOL =~ ^[1-9][0-9]*[KMG]?$ ]] || die "--buffer-pool: \"$BUFFER_POOL\" is not a size"
	((AGENTS <= 9999)) || die "--agents: at most 9999"
}

# ---- processes -------------------------------------------------------------

SRV_PID=""
BENCH_PID=""
PHASE=0

# What cleanup (bench-db.sh) stops before the database.
stop_processes() {
	terminate "$BENCH_PID" ccbench 30
	terminate "$SRV_PID" callcentred 30
}

# ---- set-up ----------------------------------------------------------------

build() {
	bench_build ccbench
	CCBENCH=$BUILD_DIR/tests/bench/ccbench
}

# Durable commits, no binary log (a replica or point-in-time recovery
# would add one, with its own fsync: sync_binlog), the doublewrite buffer
# on: MariaDB's defaults but for the buffer pool and a redo log large
# enough that checkpoints do not throttle a few minutes of writes.
# performance_schema is off, as MariaDB ships it (said here so that a
# my.cnf elsewhere cannot turn it on unseen); the production settings are
# in docs/OPERATIONS.md.
start_db() {
	say "starting a private MariaDB (innodb_flush_log_at_trx_commit=$FLUSH_LOG)"
	db_start --innodb-buffer-pool-size="$BUFFER_POOL" --innodb-log-file-size=1G \
		--innodb-flush-log-at-trx-commit="$FLUSH_LOG" --max-connections=500 \
		--performance-schema=OFF "${DB_OPTIONS[@]}"
}

# The config for a pool of $1 database workers on database $2.
write_config() {
	cat >"$WORK/callcentred.conf" <<EOF
# ticket-bench.sh: a throwaway callcentred for the benchmark
[server]
listen = 127.0.0.1:$PORT
admin_listen = 127.0.0.1:$ADMIN_PORT
max_connections = $((AGENTS + 100))
max_connections_per_ip = $((AGENTS + 100))

[tls]
cert = pki/server.crt
key = pki/server.key

[database]
socket = db/sock
user = callcentre
password_file = db.pass
name = $2
workers = $1

[auth]
# lowered from 17: the benchmark measures ticket changes, not logins
scrypt_n_log2 = $SCRYPT_N_LOG2
# every agent logs in from 127.0.0.1 at once, and logins in flight count
# against the per-address limit
max_failures_per_ip = $((AGENTS + 100))

[log]
level = warn
EOF
}

# The database user, the agents' password, and a config for the tools
# (--migrate, --hash-password).
prepare_db() {
	db_new_password
	write_config "${WORKERS%%,*}" callcentre
	db_create_user
	db_agent_password
}

# A fresh database $1 for one phase, so that every phase starts alike
# (no tickets, no SLA clocks left by the one before): the schema, site TB
# with queue "bench", and AGENTS agents tb0001...
make_phase_db() {
	say "database $1: migrating, adding $AGENTS agents and a queue"
	db_create_database "$1"
	db_seed_agents TB 'Ticket bench site' tb "$AGENTS" agent "$1"
	sql "$1" -e "INSERT INTO queues (code, name, site_id)
		SELECT 'bench', 'Bench queue', id FROM sites WHERE code = 'TB'"
}

# ---- measurements ----------------------------------------------------------

# Snapshot the counters a phase is judged by: sets S_<name>.
snapshot() {
	S_T=$(date +%s.%N)
	S_BUSY=$(machine_busy_seconds)
	S_DB=$(cpu_seconds "$DB_PID")
	S_SRV=none
	[[ -z $SRV_PID ]] || S_SRV=$(cpu_seconds "$SRV_PID")
	S_FSYNC=$(status_var Innodb_data_fsyncs)
	S_PREP=$(status_var Com_stmt_prepare)
	S_EXEC=$(status_var Com_stmt_execute)
	S_COMMIT=$(status_var Com_commit)
	S_QUEST=$(status_var Questions)
}

# Print a phase's CPU and fsyncs per unit: $1 prefix, $2 units counted
# over the whole phase (warm-up included), $3 the client's CPU seconds.
phase_costs() {
	local p=$1 n=$2 cli=$3 t0=$S_T b0=$S_BUSY d0=$S_DB s0=$S_SRV f0=$S_FSYNC wall
	local p0=$S_PREP e0=$S_EXEC c0=$S_COMMIT q0=$S_QUEST srv
	snapshot
	wall=$(calc "$S_T - $t0" 3)
	srv=0
	[[ $s0 == none ]] || srv=$(calc "$S_SRV - $s0" 3)
	echo "$p.mariadbd_cpu_us_per_change=$(calc "($S_DB - $d0) * 1e6 / $n" 0)"
	[[ $s0 == none ]] || echo "$p.callcentred_cpu_us_per_change=$(calc "($S_SRV - $s0) * 1e6 / $n" 0)"
	echo "$p.ccbench_cpu_us_per_change=$(calc "$cli * 1e6 / $n" 0)"
	echo "$p.mariadbd_cores=$(calc "($S_DB - $d0) / $wall" 2)"
	[[ $s0 == none ]] || echo "$p.callcentred_cores=$(calc "($S_SRV - $s0) / $wall" 2)"
	# CPU nobody in the benchmark used: other work on the shared machine
	echo "$p.other_cpu_pct=$(awk -v b="$(calc "$S_BUSY - $b0" 3)" -v d="$(calc "$S_DB - $d0" 3)" \
		-v s="$srv" -v c="$cli" -v w="$wall" \
		'BEGIN {v = (b - d - s - c) * 100 / w; printf "%.0f", v < 0 ? 0 : v}')"
	# InnoDB's fsyncs (redo log and data files): fewer than commits when
	# commits are grouped
	echo "$p.fsyncs_per_change=$(calc "($S_FSYNC - $f0) / $n" 3)"
	# what a change costs in statements: round trips to the database
	echo "$p.commands_per_change=$(calc "($S_QUEST - $q0) / $n" 2)"
	echo "$p.prepares_per_change=$(calc "($S_PREP - $p0) / $n" 2)"
	echo "$p.executes_per_change=$(calc "($S_EXEC - $e0) / $n" 2)"
	echo "$p.commits_per_change=$(calc "($S_COMMIT - $c0) / $n" 2)"
}

# One tickets phase against callcentred with $1 database workers; sets RATE.
run_tickets() {
	local w=$1 p=tickets.workers$1 out=$WORK/tickets-$1.out rc n k
	PHASE=$((PHASE + 1))
	make_phase_db "tickets_$PHASE"
	write_config "$w" "tickets_$PHASE"
	start_server
	say "tickets with $w db workers: $AGENTS agents, ${WARMUP} s warm-up, ${DURATION} s counted"
	snapshot
	set +e
	"$CCBENCH" tickets --connect "127.0.0.1:$PORT" --servername localhost \
		--ca "$WORK/pki/ca.crt" --user-prefix tb --password-file "$WORK/agent.pass" \
		--queue bench --concurrency "$AGENTS" --duration "$DURATION" --warmup "$WARMUP" \
		--timeout 30 --max-failures 0 >"$out" 2>"$out.err" &
	BENCH_PID=$!
	wait "$BENCH_PID"
	rc=$?
	set -e
	BENCH_PID=""
	n=$(kv "$out" changes_total)
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "ccbench tickets counted no changes: $(tail -n 3 "$out.err")"
	phase_costs "$p" "$n" "$(kv "$out" client_cpu_total_seconds)"
	for k in logged_in changes changes_per_second change_ms_p50 change_ms_p99 change_ms_p99_9 \
		change_ms_max create_ms_p50 create_ms_p99 note_ms_p50 note_ms_p99 transition_ms_p50 \
		transition_ms_p99 failures dropped; do
		echo "$p.$k=$(kv "$out" "$k")"
	done
	grep -E '^(failures|first_error|first_drop)\.' "$out" | sed "s/^/$p./" || true
	RATE=$(kv "$out" changes_per_second)
	check "$p.ccbench_status" test "$rc" = 0
	group_figures "$p"
	stop_server_as "$p"
}

stop_server_as() {
	terminate "$SRV_PID" callcentred 30
	SRV_PID=""
	check "$1.server_clean_exit" test "$EXIT_STATUS" = 0
	check "$1.server_log_has_no_errors" no_errors_logged
	mv "$WORK/callcentred.log" "$WORK/callcentred-$1.log"
}

no_errors_logged() {
	! grep -q 'level=error' "$WORK/callcentred.log"
}

# The baseline: single-row INSERTs with as many connections as agents.
run_inserts() {
	local p=inserts out=$WORK/inserts.out rc n k
	sql -e "CREATE DATABASE baseline; GRANT ALL ON baseline.* TO 'callcentre'@'localhost'"
	say "inserts: $AGENTS connections, ${WARMUP} s warm-up, ${DURATION} s counted"
	snapshot
	set +e
	"$CCBENCH" inserts --db-socket "$WORK/db/sock" --db-user callcentre --db-name baseline \
		--password-file "$WORK/db.pass" --concurrency "$AGENTS" --duration "$DURATION" \
		--warmup "$WARMUP" >"$out" 2>"$out.err" &
	BENCH_PID=$!
	wait "$BENCH_PID"
	rc=$?
	set -e
	BENCH_PID=""
	n=$(sql baseline -e "SELECT COUNT(*) FROM bench_inserts")
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "ccbench inserts inserted nothing: $(tail -n 3 "$out.err")"
	phase_costs "$p" "$n" "$(kv "$out" client_cpu_seconds)"
	for k in inserts inserts_per_second insert_ms_p50 insert_ms_p99 insert_ms_p99_9 \
		insert_ms_max failures db.innodb_flush_log_at_trx_commit db.log_bin \
		db.innodb_doublewrite; do
		echo "$p.$k=$(kv "$out" "$k")"
	done
	INSERT_RATE=$(kv "$out" inserts_per_second)
	check "$p.ccbench_status" test "$rc" = 0
	sql -e "DROP DATABASE baseline"
}

environment() {
	echo "env.nproc=$(nproc)"
	echo "env.cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "env.memory_gib=$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
	# shellcheck disable=SC1091
	echo "env.os=$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "env.mariadb=$(mariadbd --version | awk '{print $3}')"
	echo "env.build_type=$BUILD_TYPE"
	echo "env.disk=$(df -P "$WORK" | awk 'NR == 2 {print $1}')"
	echo "env.agents=$AGENTS"
	echo "env.flush_log_at_trx_commit=$FLUSH_LOG"
	echo "env.mariadbd_options=${DB_OPTIONS[*]}"
	echo "env.loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
	local w headline="" rates=()
	parse_args "$@"
	check_tools
	bench_begin ticket-bench
	build
	start_db
	make_pki
	PORT=$(free_port)
	ADMIN_PORT=$(free_port)
	while ((ADMIN_PORT == PORT)); do ADMIN_PORT=$(free_port); done
	prepare_db
	environment
	for w in ${WORKERS//,/ }; do
		run_tickets "$w"
		rates+=("$w:$RATE")
		[[ -n $headline ]] || headline=$RATE
	done
	run_inserts
	for w in "${rates[@]}"; do
		echo "ratio.workers${w%%:*}_to_inserts=$(calc "${w#*:} / $INSERT_RATE" 3)"
	done
	echo "tickets.changes_per_second=$headline"
	echo "inserts.rows_per_second=$INSERT_RATE"
	echo "ratio.tickets_to_inserts=$(calc "$headline / $INSERT_RATE" 3)"
	check "tickets.target_${TARGET}_per_second" awk "BEGIN {exit !($headline >= $TARGET)}"
	echo "env.loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
	if ((${#FAILED[@]} > 0)); then
		printf 'ticket-bench: FAILED: %s\n' "${FAILED[@]}" >&2
		exit 1
	fi
	say "all checks passed"
}

main "$@"
