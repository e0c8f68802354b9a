#!/usr/bin/env bash
# gateway-bench.sh: durable complaints a second through ccgateway's REST API
# over HTTPS keep-alive, side by side with nginx answering the same request
# with a static 201, reproduced by one command (see docs/BENCHMARKS.md).
#
# Builds callcentred and ccgateway, starts a private MariaDB in a temporary
# folder with durable commits, callcentred with a service account for the
# gateway and the complaints queue, ccgateway with limits raised above the
# load (every request comes from 127.0.0.1), then:
#   gateway   wrk (tests/bench/gateway-complaint.lua): C connections post
#             complaints to POST /api/v1/complaints, each a new customer
#             with its own Idempotency-Key; a 201 is sent only after
#             callcentred has committed the complaint (customer, ticket,
#             event, SLA clocks, note, details, token) and is one durable
#             complaint
#   nginx     the same wrk script against nginx on the same certificate,
#             answering every request with a static 201: what the machine's
#             HTTPS and the load generator do alone
# Each phase runs a warm-up first. Results are key=value lines on standard
# output; progress goes to standard error. Exit status 1 when a check fails
# (a reply other than 201, a socket error, fewer tickets in the database
# than 201s counted, a server error logged, the rate or the p99 off target).
set -euo pipefail

CONNECTIONS=64
THREADS=2
DURATION=20
WARMUP=3
WORKERS=2
UPSTREAM=64
TARGET=3000
TARGET_P99_MS=50
SCRYPT_N_LOG2=10
DB_OPTIONS=()
BUILD=1
KEEP=0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$ROOT/build-bench
BENCH_NAME=gateway-bench
# shellcheck source=tests/bench/bench-db.sh
. "$ROOT/tests/bench/bench-db.sh"

usage() {
	cat <<EOF
usage: tests/bench/gateway-bench.sh [options]

  --connections N       wrk connections, kept alive (default $CONNECTIONS)
  --threads N           wrk threads (default $THREADS)
  --duration D          seconds counted per phase (default $DURATION)
  --warmup W            seconds run before counting (default $WARMUP)
  --workers N           callcentred database workers (default $WORKERS)
  --upstream N          ccgateway connections to callcentred (default $UPSTREAM)
  --target T            fail when under T complaints a second (default $TARGET)
  --target-p99 MS       fail when the p99 latency is over MS (default $TARGET_P99_MS)
  --mariadbd-option OPT one more mariadbd option for the private MariaDB, such
                        as --slow-query-log=1 (repeatable)
  --build-dir DIR       build tree (default: build-bench in the repository)
  --no-build            use the binaries in the build tree as they are
  --keep                keep the temporary folder (logs, config) and print its path
EOF
}

parse_args() {
	while (($# > 0)); do
		case $1 in
		--connections) CONNECTIONS=${2:?}; shift ;;
		--threads) THREADS=${2:?}; shift ;;
		--duration) DURATION=${2:?}; shift ;;
		--warmup) WARMUP=${2:?}; shift ;;
		--workers) WORKERS=${2:?}; shift ;;
		--upstream) UPSTREAM=${2:?}; shift ;;
		--target) TARGET=${2:?}; shift ;;
		--target-p99) TARGET_P99_MS=${2:?}; shift ;;
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
	for v in CONNECTIONS THREADS DURATION WARMUP WORKERS UPSTREAM TARGET TARGET_P99_MS; do
		need_number "$v" "${!v}"
	done
	((CONNECTIONS >= THREADS)) || die "--connections must be at least --threads"
}

# ---- processes -------------------------------------------------------------

SRV_PID=""
GW_PID=""
NGINX_PID=""
WRK_PID=""

stop_processes() {
	terminate "$WRK_PID" wrk 10
	terminate "$GW_PID" ccgateway 30
	terminate "$SRV_PID" callcentred 30
	terminate "$NGINX_PID" nginx 10
}

build() {
	bench_build
	if ((BUILD)); then
		cmake --build "$BUILD_DIR" -j"$(nproc)" --target ccgateway >>"$WORK/build.log" 2>&1 ||
			die "building ccgateway failed; see $WORK/build.log"
	fi
	CCGATEWAY=$BUILD_DIR/server/gateway/ccgateway
	[[ -x $CCGATEWAY ]] || die "no ccgateway in $BUILD_DIR"
	for t in wrk nginx; do
		command -v "$t" >/dev/null || die "$t is not installed (apt-get install wrk nginx-light)"
	done
}

start_db() {
	say "starting a private MariaDB (durable commits)"
	db_start --innodb-buffer-pool-size=1G --innodb-log-file-size=1G \
		--innodb-flush-log-at-trx-commit=1 --max-connections=500 --performance-schema=OFF \
		"${DB_OPTIONS[@]}"
}

write_server_config() {
	cat >"$WORK/callcentred.conf" <<EOF
# gateway-bench.sh: a throwaway callcentred for the benchmark
[server]
listen = 127.0.0.1:$PORT
admin_listen = 127.0.0.1:$ADMIN_PORT

[tls]
cert = pki/server.crt
key = pki/server.key

[database]
socket = db/sock
user = callcentre
password_file = db.pass
name = callcentre
workers = $WORKERS

[auth]
scrypt_n_log2 = $SCRYPT_N_LOG2

[log]
level = warn
EOF
}

write_gateway_config() {
	(umask 077 && openssl rand -hex 32 >"$WORK/form.secret")
	cat >"$WORK/ccgateway.conf" <<EOF
# gateway-bench.sh: a throwaway ccgateway for the benchmark
[http]
listen = 127.0.0.1:$GW_PORT
max_connections = $((CONNECTIONS + 100))
# every connection of the load comes from 127.0.0.1
max_connections_per_ip = $((CONNECTIONS + 100))

[tls]
cert = pki/server.crt
key = pki/server.key

[upstream]
host = 127.0.0.1
port = $PORT
server_name = localhost
ca_file = pki/ca.crt
user = gw0001
password_file = agent.pass
connections = $UPSTREAM

[web]
form_secret_file = form.secret

[limits]
# every request of the load comes from 127.0.0.1, each as a new customer
ip_requests_per_minute = 1000000
ip_complaints_per_hour = 1000000
contact_complaints_per_hour = 1000000

[log]
level = warn
EOF
}

write_nginx_config() {
	mkdir -p "$WORK/nginx"
	cat >"$WORK/nginx/nginx.conf" <<EOF
# gateway-bench.sh: nginx answering every request with a static 201
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $WORK/nginx/body;
	proxy_temp_path $WORK/nginx/proxy;
	fastcgi_temp_path $WORK/nginx/fastcgi;
	uwsgi_temp_path $WORK/nginx/uwsgi;
	scgi_temp_path $WORK/nginx/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$NGINX_PORT ssl;
		ssl_certificate $WORK/pki/server.crt;
		ssl_certificate_key $WORK/pki/server.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / {
			default_type application/json;
			return 201 '{"ref":"T000000-000000","token":"x"}';
		}
	}
}
EOF
}

prepare() {
	db_new_password
	write_server_config
	db_create_user
	db_create_database callcentre
	db_agent_password
	db_seed_agents GW 'Gateway bench site' gw 1 service
	sql callcentre -e "INSERT INTO queues (code, name, site_id)
		SELECT 'complaints', 'Complaints', id FROM sites WHERE code = 'GW'"
	write_gateway_config
	write_nginx_config
}

start_gateway() {
	say "starting ccgateway on 127.0.0.1:$GW_PORT"
	"$CCGATEWAY" -f "$WORK/ccgateway.conf" </dev/null >"$WORK/ccgateway.log" 2>&1 &
	GW_PID=$!
	wait_for 30 "ccgateway to reach callcentred" gateway_ready
}

gateway_ready() {
	alive "$GW_PID" || die "ccgateway exited; see $WORK/ccgateway.log"
	curl -sf --max-time 2 --cacert "$WORK/pki/ca.crt" \
		"https://localhost:$GW_PORT/healthz" --resolve "localhost:$GW_PORT:127.0.0.1" >/dev/null 2>&1
}

start_nginx() {
	say "starting nginx on 127.0.0.1:$NGINX_PORT"
	nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -g 'daemon off;' \
		</dev/null >"$WORK/nginx/stdout.log" 2>&1 &
	NGINX_PID=$!
	wait_for 10 "nginx" listening "$NGINX_PORT"
}

# wrk for $2 seconds against URL $1, its key=value lines into $3.
run_wrk() {
	local url=$1 secs=$2 out=$3 rc
	set +e
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 10s \
		-s "$ROOT/tests/bench/gateway-complaint.lua" "$url" >"$out" 2>"$out.err" &
	WRK_PID=$!
	wait "$WRK_PID"
	rc=$?
	set -e
	WRK_PID=""
	((rc == 0)) || die "wrk failed: $(tail -n 3 "$out.err")"
}

tickets() {
	sql callcentre -e "SELECT COUNT(*) FROM tickets WHERE kind = 'complaint' AND channel = 'web'"
}

# Print phase $1's figures from wrk output $2, with the CPU each process
# used over the counted run (pids in $3..., as name:pid).
report() {
	local p=$1 out=$2 k
	shift 2
	for k in created other requests per_second requests_per_second ms_p50 ms_p90 ms_p99 \
		ms_p99_9 ms_max errors_connect errors_read errors_write errors_timeout first_other; do
		echo "$p.$k=$(kv "$out" "$k")"
	done
}

# CPU seconds of name:pid pairs, as name=seconds words.
cpu_of() {
	local np
	for np in "$@"; do
		echo "${np%%:*}=$(cpu_seconds "${np#*:}")"
	done
}

# Per-complaint CPU from two cpu_of snapshots ($1 and $2) and a count $3.
cpu_per() {
	local p=$1 a=$2 b=$3 n=$4 w
	for w in $b; do
		local name=${w%%=*} after=${w#*=} before
		before=$(tr ' ' '\n' <<<"$a" | awk -F= -v n="$name" '$1 == n {print $2}')
		echo "$p.${name}_cpu_us_per_request=$(calc "($after - $before) * 1e6 / $n" 0)"
	done
}

# The database's counters: statements (round trips), executions of
# prepared statements, commits and InnoDB fsyncs, as name=value words.
db_counters() {
	local v
	for v in Questions Com_stmt_execute Com_commit Innodb_data_fsyncs; do
		echo "$v=$(status_var "$v")"
	done
}

# The database's counters per complaint, from two db_counters snapshots.
db_per() {
	local p=$1 a=$2 b=$3 n=$4 w name before after
	for w in $b; do
		name=${w%%=*}
		after=${w#*=}
		before=$(tr ' ' '\n' <<<"$a" | awk -F= -v n="$name" '$1 == n {print $2}')
		echo "$p.db_${name,,}_per_request=$(calc "($after - $before) / $n" 2)"
	done
}

run_gateway() {
	local p=gateway out=$WORK/gateway.out before after t0 t1 c0 c1 db0 db1 busy0 busy1 n
	start_server
	start_gateway
	say "gateway: $CONNECTIONS connections, ${WARMUP} s warm-up, ${DURATION} s counted"
	t0=$(tickets)
	run_wrk "https://127.0.0.1:$GW_PORT/api/v1/complaints" "$WARMUP" "$WORK/gateway-warmup.out"
	c0=$(cpu_of "mariadbd:$DB_PID" "callcentred:$SRV_PID" "ccgateway:$GW_PID")
	db0=$(db_counters)
	busy0=$(machine_busy_seconds)
	run_wrk "https://127.0.0.1:$GW_PORT/api/v1/complaints" "$DURATION" "$out"
	busy1=$(machine_busy_seconds)
	c1=$(cpu_of "mariadbd:$DB_PID" "callcentred:$SRV_PID" "ccgateway:$GW_PID")
	db1=$(db_counters)
	t1=$(tickets)
	report "$p" "$out"
	n=$(kv "$out" requests)
	cpu_per "$p" "$c0" "$c1" "$n"
	echo "$p.machine_cpu_us_per_request=$(calc "($busy1 - $busy0) * 1e6 / $n" 0)"
	db_per "$p" "$db0" "$db1" "$n"
	echo "$p.tickets_in_database=$((t1 - t0))"
	created=$(($(kv "$WORK/gateway-warmup.out" created) + $(kv "$out" created)))
	echo "$p.created_with_warmup=$created"
	check "$p.every_reply_201" test "$(kv "$out" other)" = 0
	check "$p.no_socket_errors" test "$(kv "$out" errors_connect)$(kv "$out" errors_read)$(kv "$out" errors_write)$(kv "$out" errors_timeout)" = 0000
	check "$p.every_201_is_in_the_database" test "$((t1 - t0))" -ge "$created"
	group_figures "$p"
	GW_RATE=$(kv "$out" per_second)
	GW_P99=$(kv "$out" ms_p99)
	terminate "$GW_PID" ccgateway 30
	GW_PID=""
	check "$p.gateway_clean_exit" test "$EXIT_STATUS" = 0
	check "$p.gateway_log_has_no_errors" eval "! grep -q 'level=error' '$WORK/ccgateway.log'"
	stop_server
}

run_nginx() {
	local p=nginx out=$WORK/nginx.out
	start_nginx
	say "nginx: $CONNECTIONS connections, ${WARMUP} s warm-up, ${DURATION} s counted"
	run_wrk "https://127.0.0.1:$NGINX_PORT/api/v1/complaints" "$WARMUP" "$WORK/nginx-warmup.out"
	run_wrk "https://127.0.0.1:$NGINX_PORT/api/v1/complaints" "$DURATION" "$out"
	report "$p" "$out"
	check "$p.every_reply_201" test "$(kv "$out" other)" = 0
	NGINX_RATE=$(kv "$out" per_second)
	terminate "$NGINX_PID" nginx 10
	NGINX_PID=""
}

environment() {
	echo "env.nproc=$(nproc)"
	echo "env.cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	# shellcheck disable=SC1091
	echo "env.os=$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "env.mariadb=$(mariadbd --version | awk '{print $3}')"
	echo "env.wrk=$(wrk -v 2>&1 | awk 'NR == 1 {print $2}')"
	echo "env.nginx=$(nginx -v 2>&1 | awk -F/ '{print $2}')"
	echo "env.build_type=$BUILD_TYPE"
	echo "env.connections=$CONNECTIONS"
	echo "env.threads=$THREADS"
	echo "env.workers=$WORKERS"
	echo "env.upstream=$UPSTREAM"
	echo "env.loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
	parse_args "$@"
	check_tools
	bench_begin gateway-bench
	build
	start_db
	make_pki
	PORT=$(free_port)
	ADMIN_PORT=$(free_port)
	GW_PORT=$(free_port)
	NGINX_PORT=$(free_port)
	prepare
	environment
	run_gateway
	run_nginx
	echo "gateway.complaints_per_second=$GW_RATE"
	echo "nginx.requests_per_second=$NGINX_RATE"
	echo "ratio.gateway_to_nginx=$(calc "$GW_RATE / $NGINX_RATE" 3)"
	check "gateway.target_${TARGET}_per_second" awk "BEGIN {exit !($GW_RATE >= $TARGET)}"
	check "gateway.target_p99_${TARGET_P99_MS}_ms" awk "BEGIN {exit !($GW_P99 <= $TARGET_P99_MS)}"
	echo "env.loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
	if ((${#FAILED[@]} > 0)); then
		printf 'gateway-bench: FAILED: %s\n' "${FAILED[@]}" >&2
		exit 1
	fi
	say "all checks passed"
}

main "$@"
