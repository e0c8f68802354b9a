#!/usr/bin/env bash
# customer-bench.sh: the customer.show (screen pop) benchmark on the
# generated data set, reproduced by one command (see docs/BENCHMARKS.md).
#
# Builds callcentred and ccgen, starts a private MariaDB in a temporary
# folder (settings for a bulk load, below) and then:
#   determinism  ccgen twice with one seed into two databases must give
#                equal CHECKSUM TABLE results, and another seed different ones
#   generate     ccgen generate --customers N (1,000,000 by default: 5M orders,
#                2M tickets, about 10M events): run time, rows a second, size
#   verify       the row counts ccgen reports are in the tables; contacts are
#                in normal form; the event hash chains of sampled tickets pass
#                callcentred --verify-ticket
#   show         callcentred on a loopback port; ccgen show logs in as one of
#                the generated agents and requests customer.show for random
#                customers: one connection, then --concurrency connections;
#                then the same statements without the server (ccgen show
#                --direct: the server's store code on database connections),
#                and each statement's execution time by MariaDB's profiler
# Results are key=value lines on standard output; progress goes to standard
# error. Exit status 1 when a check fails (an error reply, a count or chain
# that does not hold, p99 over the target, an error in the server log).
set -euo pipefail

CUSTOMERS=1000000
REQUESTS=20000
WARMUP=2000
CONCURRENCY=4
LOADERS=2
BUFFER_POOL=4G
TARGET_P99_MS=5
VERIFY_TICKETS=50
DET_CUSTOMERS=3000
SEED=1
BUILD=1
KEEP=0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$ROOT/build-bench
BENCH_NAME=customer-bench
# shellcheck source=tests/bench/bench-db.sh
. "$ROOT/tests/bench/bench-db.sh"

usage() {
	cat <<EOF
usage: tests/bench/customer-bench.sh [options]

  --customers N         customers to generate (default $CUSTOMERS); 5N orders,
                        2N tickets, about 10N events
  --requests N          measured customer.show requests a phase (default $REQUESTS)
  --warmup W            requests before them, not measured (default $WARMUP)
  --concurrency C       connections of the concurrent phase (default $CONCURRENCY)
  --loaders L           ccgen loader connections (default $LOADERS)
  --buffer-pool SIZE    innodb_buffer_pool_size of the private MariaDB (default $BUFFER_POOL)
  --target-p99-ms T     fail when p99 over TLS, one request at a time, is above
                        T ms (the median of five slices' p99; default $TARGET_P99_MS)
  --verify-tickets K    tickets whose hash chain is checked (default $VERIFY_TICKETS)
  --seed S              ccgen's seed (default $SEED)
  --build-dir DIR       build tree (default: build-bench in the repository)
  --no-build            use the binaries in the build tree as they are
  --keep                keep the temporary folder (database, logs) and print its path
EOF
}

parse_args() {
	while (($# > 0)); do
		case $1 in
		--customers) CUSTOMERS=${2:?}; shift ;;
		--requests) REQUESTS=${2:?}; shift ;;
		--warmup) WARMUP=${2:?}; shift ;;
		--concurrency) CONCURRENCY=${2:?}; shift ;;
		--loaders) LOADERS=${2:?}; shift ;;
		--buffer-pool) BUFFER_POOL=${2:?}; shift ;;
		--target-p99-ms) TARGET_P99_MS=${2:?}; shift ;;
		--verify-tickets) VERIFY_TICKETS=${2:?}; shift ;;
		--seed) SEED=${2:?}; shift ;;
		--build-dir) BUILD_DIR=$(realpath -m "${2:?}"); shift ;;
		--no-build) BUILD=0 ;;
		--keep) KEEP=1 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown option $1" ;;
		esac
		shift
	done
	for v in CUSTOMERS REQUESTS WARMUP CONCURRENCY LOADERS TARGET_P99_MS VERIFY_TICKETS SEED; do
		need_number "$v" "${!v}"
	done
	[[ $BUFFER_POOL =~ ^[1-9][0-9]*[KMG]?$ ]] || die "--buffer-pool: \"$BUFFER_POOL\" is not a size"
}

# ---- processes -------------------------------------------------------------

SRV_PID=""
DB_STOP_LIMIT=120
SERVER_START_LIMIT=60

# What cleanup (bench-db.sh) stops before the database.
stop_processes() {
	terminate "$SRV_PID" callcentred 30
}

# ---- set-up ----------------------------------------------------------------

build() {
	bench_build ccgen
	CCGEN=$BUILD_DIR/tests/bench/ccgen
}

# MariaDB for a bulk load on one disk: a large redo log so that checkpoints
# do not throttle the inserts; the log written at each commit but flushed
# once a second (flush_log_at_trx_commit = 2): a crash of the machine could
# lose the last second, which a benchmark can afford; and an I/O capacity
# for an SSD rather than the default's spinning disk (200 writes a second),
# so that the pages the load dirtied are written out in minutes.
# Nothing that makes the data less checked: constraints, foreign keys and
# unique checks stay on.
start_db() {
	say "starting a private MariaDB (buffer pool $BUFFER_POOL)"
	DB_START_LIMIT=120 db_start --innodb-buffer-pool-size="$BUFFER_POOL" \
		--innodb-log-file-size=2G --innodb-flush-log-at-trx-commit=2 \
		--innodb-io-capacity=2000 --innodb-io-capacity-max=8000 --max-allowed-packet=64M
}

write_config() {
	PORT=$(free_port)
	ADMIN_PORT=$(free_port)
	while ((ADMIN_PORT == PORT)); do ADMIN_PORT=$(free_port); done
	db_new_password
	cat >"$WORK/callcentred.conf" <<EOF
# customer-bench.sh: a throwaway callcentred for the benchmark
[server]
listen = 127.0.0.1:$PORT
admin_listen = 127.0.0.1:$ADMIN_PORT
max_connections = 100
max_connections_per_ip = 100

[tls]
cert = pki/server.crt
key = pki/server.key

[database]
socket = db/sock
user = callcentre
password_file = db.pass
name = callcentre

[log]
level = warn
EOF
}

prepare_db() {
	say "migrating"
	db_create_user
	db_create_database callcentre
	# every generated agent gets this password: the benchmark logs in as one
	db_agent_password
	HISTORY_END=$(date -u +%F)
}

ccgen_generate() {
	local db=$1
	shift
	"$CCGEN" generate --socket "$WORK/db/sock" --user callcentre \
		--password-file "$WORK/db.pass" --database "$db" \
		--agent-password-hash "$AGENT_HASH" "$@"
}

# ---- measurements ----------------------------------------------------------

# The tables of a database, one checksum a line (without the database name).
checksums() {
	local t
	for t in sites queues agents customers customer_contacts orders tickets ticket_events \
		ticket_notes compensations csat followups; do
		printf '%s %s\n' "$t" "$(sql -e "CHECKSUM TABLE $1.$t" | awk '{print $2}')"
	done
}

# Same seed, same rows: two databases generated alike must hold the same
# bytes, and a third from another seed must not.
run_determinism() {
	local a b c db
	say "determinism: $DET_CUSTOMERS customers twice with seed $SEED, once with seed $((SEED + 1))"
	for db in ccdet_a ccdet_b ccdet_c; do db_create_database "$db"; done
	{
		ccgen_generate ccdet_a --customers "$DET_CUSTOMERS" --seed "$SEED" \
			--end 2025-06-01 --connections 1 >"$WORK/det_a.out"
		# other loaders and statement sizes: the rows must not depend on them
		ccgen_generate ccdet_b --customers "$DET_CUSTOMERS" --seed "$SEED" \
			--end 2025-06-01 --connections 3 --batch 97 >"$WORK/det_b.out"
		ccgen_generate ccdet_c --customers "$DET_CUSTOMERS" --seed "$((SEED + 1))" \
			--end 2025-06-01 >"$WORK/det_c.out"
	} 2>"$WORK/det.err" || die "ccgen generate failed; see $WORK/det.err"
	a=$(checksums ccdet_a)
	b=$(checksums ccdet_b)
	c=$(checksums ccdet_c)
	printf '%s\n' "$a" >"$WORK/det_a.sums"
	printf '%s\n' "$b" >"$WORK/det_b.sums"
	check determinism.same_seed_same_rows test "$a" = "$b"
	check determinism.other_seed_other_rows \
		test "$(grep customers <<<"$a")" != "$(grep customers <<<"$c")"
	sql -e "DROP DATABASE ccdet_a; DROP DATABASE ccdet_b; DROP DATABASE ccdet_c"
}

run_generate() {
	local out=$WORK/generate.out db0 db1 t k
	say "generating $CUSTOMERS customers with $LOADERS loader connections (progress below)"
	db0=$(cpu_seconds "$DB_PID")
	if ! ccgen_generate callcentre --customers "$CUSTOMERS" --seed "$SEED" \
		--end "$HISTORY_END" --connections "$LOADERS" >"$out"; then
		die "ccgen generate failed; see above"
	fi
	db1=$(cpu_seconds "$DB_PID")
	for k in customers customer_contacts orders tickets ticket_events ticket_notes \
		compensations csat followups; do
		echo "generate.rows.$k=$(kv "$out" "rows.$k")"
	done
	for k in rows_total events_per_ticket seconds rows_per_second customers_per_second \
		generator_cpu_seconds connections chunk_customers rows_per_statement \
		deadlock_retries seed history_end; do
		echo "generate.$k=$(kv "$out" "$k")"
	done
	echo "generate.mariadbd_cpu_seconds=$(calc "$db1 - $db0" 1)"
	check generate.counts test "$(kv "$out" check.counts)" = ok
	FIRST_ID=$(kv "$out" first_customer_id)
	LAST_ID=$(kv "$out" last_customer_id)
	# size: InnoDB's own figures, and the files on disk
	sql -e "ANALYZE TABLE callcentre.customers, callcentre.orders, callcentre.tickets,
		callcentre.ticket_events" >/dev/null
	t=$(sql -e "SELECT ROUND(SUM(data_length + index_length) / 1048576) FROM
		information_schema.tables WHERE table_schema = 'callcentre'")
	echo "db.innodb_size_mib=$t"
	echo "db.files_size_mib=$(du -sm "$WORK/db/data/callcentre" | awk '{print $1}')"
	sql -e "SELECT table_name, ROUND(data_length / 1048576), ROUND(index_length / 1048576)
		FROM information_schema.tables WHERE table_schema = 'callcentre'
		AND data_length > 16777216 ORDER BY data_length DESC" |
		awk '{printf "db.table.%s_mib=%s+%s\n", $1, $2, $3}'
}

# What the generator stored must be what the server expects.
run_verify() {
	local refs ref max i bad=0 n=0
	say "verifying contacts and $VERIFY_TICKETS tickets' event chains"
	check verify.phones_e164 test "$(sql callcentre -e "SELECT COUNT(*) FROM customer_contacts
		WHERE kind = 'phone' AND value NOT REGEXP '^[+][1-9][0-9]{7,14}\$'")" = 0
	check verify.emails_normal test "$(sql callcentre -e "SELECT COUNT(*) FROM customer_contacts
		WHERE kind = 'email' AND (BINARY value <> BINARY LOWER(value) OR value NOT LIKE '%_@_%._%'
		OR value LIKE '% %')")" = 0
	check verify.one_primary_each test "$(sql callcentre -e "SELECT COUNT(*) FROM customers c
		WHERE (SELECT COUNT(*) FROM customer_contacts k WHERE k.customer_id = c.id
		AND k.is_primary = 1) <> 1 AND c.id BETWEEN $FIRST_ID AND $((FIRST_ID + 9999))")" = 0
	# tickets at random ids, drawn here: ORDER BY RAND() would sort them all
	max=$(sql callcentre -e "SELECT MAX(id) FROM tickets")
	refs=$(for ((i = 0; i < VERIFY_TICKETS; i++)); do
		echo "SELECT ref FROM tickets WHERE id = $(((RANDOM * 32768 + RANDOM) % max + 1));"
	done | sql callcentre)
	for ref in $refs; do
		n=$((n + 1))
		if ! "$CALLCENTRED" -f "$WORK/callcentred.conf" --verify-ticket "$ref" \
			>>"$WORK/verify.log" 2>&1; then
			bad=$((bad + 1))
		fi
	done
	echo "verify.tickets_checked=$n"
	echo "verify.tickets_broken=$bad"
	check verify.event_chains test "$bad.$n" = "0.$VERIFY_TICKETS"
}

# A bulk load leaves gigabytes of dirty pages that InnoDB writes out for
# minutes afterwards; a running server does not carry such a backlog, so
# flush it before measuring reads (then restore the default).
settle_db() {
	local t0 dirty i
	t0=$(date +%s)
	say "waiting for InnoDB to write out the pages the load left dirty"
	sql -e "SET GLOBAL innodb_max_dirty_pages_pct = 0"
	for ((i = 0; i < 1800; i++)); do
		dirty=$(status_var Innodb_buffer_pool_pages_dirty)
		((dirty < 1000)) && break
		sleep 1
	done
	sql -e "SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT"
	echo "db.settle_seconds=$(($(date +%s) - t0))"
	echo "db.dirty_pages_left=$dirty"
}

# cc_db_job_seconds buckets from the admin port: "le count" lines.
db_job_buckets() {
	curl -sf --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" |
		awk -F'[{}" ]+' '/^cc_db_job_seconds_bucket/ {print $3, $4}'
}

# The share of database jobs between two bucket snapshots that finished
# within 5 ms, in percent.
share_within_5ms() {
	awk 'NR == FNR {before[$1] = $2; next} {d[$1] = $2 - before[$1]}
		END {if (d["+Inf"] > 0) printf "%.2f", 100 * d["0.005"] / d["+Inf"]; else print "missing"}' \
		"$1" "$2"
}

# One measured phase: ccgen show with $1 as the name and the rest as options.
show_phase() {
	local name=$1 out=$WORK/show-$1.out b0 b1 s0 s1 d0 d1 t0 t1 r0 r1 q0 q1 busy wall
	shift
	say "show.$name: $REQUESTS requests after $WARMUP to warm up ($*)"
	b0=$(machine_busy_seconds)
	s0=$(cpu_seconds "$SRV_PID")
	d0=$(cpu_seconds "$DB_PID")
	r0=$(status_var Innodb_buffer_pool_reads)
	q0=$(status_var Innodb_buffer_pool_read_requests)
	t0=$(date +%s.%N)
	"$CCGEN" show --first-id "$FIRST_ID" --last-id "$LAST_ID" --requests "$REQUESTS" \
		--warmup "$WARMUP" "$@" >"$out" 2>"$out.err" || true
	t1=$(date +%s.%N)
	r1=$(status_var Innodb_buffer_pool_reads)
	q1=$(status_var Innodb_buffer_pool_read_requests)
	d1=$(cpu_seconds "$DB_PID")
	s1=$(cpu_seconds "$SRV_PID")
	b1=$(machine_busy_seconds)
	[[ $(kv "$out" requests) =~ ^[0-9]+$ ]] || die "ccgen show failed: $(tail -n 3 "$out.err")"
	grep -vE '^(mode|customer_ids)=' "$out" | sed "s/^/show.$name./"
	wall=$(calc "$t1 - $t0" 3)
	busy=$(calc "$b1 - $b0" 3)
	echo "show.$name.server_cpu_ms_per_request=$(calc "($s1 - $s0) * 1000 / ($REQUESTS + $WARMUP)" 3)"
	echo "show.$name.mariadbd_cpu_ms_per_request=$(calc "($d1 - $d0) * 1000 / ($REQUESTS + $WARMUP)" 3)"
	echo "show.$name.pages_read_from_disk_per_request=$(calc "($r1 - $r0) / ($REQUESTS + $WARMUP)" 2)"
	echo "show.$name.pages_requested_per_request=$(calc "($q1 - $q0) / ($REQUESTS + $WARMUP)" 0)"
	# CPU nobody in the benchmark used: other work on the shared machine
	echo "show.$name.other_cpu_pct=$(awk -v b="$busy" -v s="$(calc "$s1 - $s0" 3)" \
		-v d="$(calc "$d1 - $d0" 3)" -v c="$(kv "$out" client_cpu_seconds)" -v w="$wall" \
		'BEGIN {v = (b - s - d - c) * 100 / w; printf "%.0f", v < 0 ? 0 : v}')"
	check "show.$name.no_errors" test "$(kv "$out" errors)" = 0
}

run_show() {
	local tls=(--connect "127.0.0.1:$PORT" --servername localhost --ca "$WORK/pki/ca.crt"
		--user sh.staff001 --password-file "$WORK/agent.pass")
	local m0 m1 p99
	m0=$WORK/metrics-0
	m1=$WORK/metrics-1
	show_phase serial "${tls[@]}" --concurrency 1 --seed 11
	db_job_buckets >"$m0"
	show_phase concurrent "${tls[@]}" --concurrency "$CONCURRENCY" --seed 12
	db_job_buckets >"$m1"
	# the server's own histogram: queueing for a worker plus the statements
	echo "show.concurrent.server_db_jobs_within_5ms_pct=$(share_within_5ms "$m0" "$m1")"
	show_phase direct_serial --direct --socket "$WORK/db/sock" --user callcentre \
		--password-file "$WORK/db.pass" --concurrency 1 --seed 13 --profile 500
	# The target is the latency of one screen pop: one request at a time,
	# so that the figure is the server's and the database's work, not time
	# spent waiting for one of two cores shared by client, server, database
	# and whatever else runs on the machine (the concurrent phase shows that).
	# Checked on the median of the p99s of five consecutive slices: a burst
	# of other work spoils a slice, a slow server spoils them all.
	p99=$(kv "$WORK/show-serial.out" latency_ms_p99_median_round)
	check "show.serial.p99_within_${TARGET_P99_MS}ms" awk "BEGIN {exit !($p99 <= $TARGET_P99_MS)}"
}

environment() {
	echo "env.nproc=$(nproc)"
	echo "env.cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "env.memory_gib=$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
	# shellcheck disable=SC1091
	echo "env.os=$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "env.mariadb=$(mariadbd --version | awk '{print $3}')"
	echo "env.build_type=$BUILD_TYPE"
	echo "env.buffer_pool=$BUFFER_POOL"
	echo "env.loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
	parse_args "$@"
	check_tools
	bench_begin customer-bench
	build
	start_db
	make_pki
	write_config
	prepare_db
	environment
	run_determinism
	run_generate
	run_verify
	settle_db
	start_server
	run_show
	stop_server
	echo "env.loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
	if ((${#FAILED[@]} > 0)); then
		printf 'customer-bench: FAILED: %s\n' "${FAILED[@]}" >&2
		exit 1
	fi
	say "all checks passed"
}

main "$@"
