#!/usr/bin/env bash
# stats-bench.sh: the supervisor statistics benchmark, reproduced by one
# command (see docs/BENCHMARKS.md, "Supervisor statistics").
#
# Builds callcentred and statsbench, starts a private MariaDB and a
# callcentred in a temporary folder with a throwaway CA, and seeds the
# demo's three sites (GZ, SH, CD) with six queues each (service, apparel,
# cosmetics, luxury, refunds, complaints: a language skill and a product or
# task skill each), N agents spread over the sites with the site's language
# and three of the five other skills, M supervisors (one in twenty of no
# site, the rest spread over the sites) and one phone-system account a
# queue. statsbench then logs them all in, sets the agents ready,
# subscribes the supervisors to the statistics, and drives calls at R a
# second (answered by the agents, talked for an exponential time around
# --talk-mean seconds, ended, wrapped up) through a warm-up and three
# measured phases: subscribed, unsubscribed, subscribed again. It measures
# the push latency to the supervisors and callcentred's CPU in each phase;
# the CPU the subscribers cost is the subscribed phases' mean over the
# unsubscribed one. Figures from /metrics over the whole run too.
# Results are key=value lines on standard output; progress goes to standard
# error. Exit status 1 when a check fails (a reply not ok, a session
# dropped, a call not answered within --answer-limit, the rate not kept,
# an error in the server log).
set -euo pipefail

AGENTS=5000
SUPERVISORS=200
RATE=500
TALK_MEAN=6
WRAPUP=1
DURATION=60
WARMUP=20
ANSWER_LIMIT=10
FLUSH_LOG=2
SCRYPT_N_LOG2=10
QUICK=0
BUILD=1
KEEP=0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$ROOT/build-bench
BENCH_NAME=stats-bench
# shellcheck source=tests/bench/bench-db.sh
. "$ROOT/tests/bench/bench-db.sh"

SITES=(GZ SH CD)
# the queue kinds of a site: code suffix and the skill it needs besides the
# site's language
QUEUE_KINDS=(service: apparel:product.apparel cosmetics:product.cosmetics
	luxury:product.luxury refunds:task.refund complaints:complaint.l1)
OTHER_SKILLS=(product.apparel product.cosmetics product.luxury task.refund complaint.l1)

usage() {
	cat <<EOF
usage: tests/bench/stats-bench.sh [options]

  --agents N            agents taking calls, one session each (default $AGENTS)
  --supervisors M       supervisors subscribed to the statistics (default $SUPERVISORS)
  --rate R              calls a second (default $RATE)
  --talk-mean S         mean talk time in seconds, exponential (default $TALK_MEAN)
  --wrapup S            the queues' wrap-up seconds after each call (default $WRAPUP)
  --duration D          seconds of each of the three measured phases (default $DURATION)
  --warmup W            seconds of calls before the first phase (default $WARMUP)
  --answer-limit S      fail when a call waits longer for an agent (default $ANSWER_LIMIT)
  --quick               a smoke run: 300 agents, 20 supervisors, 30 calls a second,
                        8 s phases after a 4 s warm-up (any option after it wins)
  --flush-log-at-trx-commit V
                        innodb_flush_log_at_trx_commit of the private MariaDB
                        (default $FLUSH_LOG: durability is not what is measured)
  --scrypt-n-log2 L     password hash cost for the benchmark users (default $SCRYPT_N_LOG2)
  --build-dir DIR       build tree (default: build-bench in the repository)
  --no-build            use the binaries in the build tree as they are
  --keep                keep the temporary folder (logs, config) and print its path
EOF
}

parse_args() {
	while (($# > 0)); do
		case $1 in
		--agents) AGENTS=${2:?}; shift ;;
		--supervisors) SUPERVISORS=${2:?}; shift ;;
		--rate) RATE=${2:?}; shift ;;
		--talk-mean) TALK_MEAN=${2:?}; shift ;;
		--wrapup) WRAPUP=${2:?}; shift ;;
		--duration) DURATION=${2:?}; shift ;;
		--warmup) WARMUP=${2:?}; shift ;;
		--answer-limit) ANSWER_LIMIT=${2:?}; shift ;;
		--quick) QUICK=1 AGENTS=300 SUPERVISORS=20 RATE=30 DURATION=8 WARMUP=4 ;;
		--flush-log-at-trx-commit) FLUSH_LOG=${2:?}; shift ;;
		--scrypt-n-log2) SCRYPT_N_LOG2=${2:?}; shift ;;
		--build-dir) BUILD_DIR=$(realpath -m "${2:?}"); shift ;;
		--no-build) BUILD=0 ;;
		--keep) KEEP=1 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown option $1" ;;
		esac
		shift
	done
	for v in AGENTS SUPERVISORS RATE TALK_MEAN DURATION ANSWER_LIMIT SCRYPT_N_LOG2; do
		need_number "$v" "${!v}"
	done
	[[ $WRAPUP =~ ^[0-9]+$ && $WARMUP =~ ^[0-9]+$ ]] ||
		die "--wrapup and --warmup take a whole number of seconds"
	[[ $FLUSH_LOG =~ ^[012]$ ]] || die "--flush-log-at-trx-commit takes 0, 1 or 2"
	((AGENTS <= 99999 && SUPERVISORS <= 99999)) || die "at most 99999 agents and supervisors"
	# the agents busy at once: each call holds one for its talk and wrap-up
	local busy=$(((RATE * (TALK_MEAN + WRAPUP) * 100 + AGENTS - 1) / AGENTS))
	((busy <= 90)) ||
		die "$RATE calls a second of ${TALK_MEAN} s + ${WRAPUP} s keep $busy% of $AGENTS agents busy; lower --talk-mean or add agents"
}

# ---- processes -------------------------------------------------------------

SRV_PID=""
BENCH_PID=""

# What cleanup (bench-db.sh) stops before the database.
stop_processes() {
	terminate "$BENCH_PID" statsbench 30
	terminate "$SRV_PID" callcentred 30
}

# ---- set-up ----------------------------------------------------------------

build() {
	bench_build statsbench
	STATSBENCH=$BUILD_DIR/tests/bench/statsbench
}

# Descriptors for every session, on both sides.
raise_fd_limit() {
	local need=$((AGENTS + SUPERVISORS + 2000)) hard
	hard=$(ulimit -Hn)
	if [[ $hard == unlimited ]]; then
		ulimit -Sn "$need"
	elif ((hard < need)); then
		ulimit -n "$need" 2>/dev/null ||
			die "descriptor hard limit $hard is below $need; raise it or lower --agents"
	else
		ulimit -Sn "$hard"
	fi
}

start_db() {
	say "starting a private MariaDB"
	# deadlocks go to db/mariadbd.log, where a failed run's logs are kept
	db_start --innodb-buffer-pool-size=512M --innodb-flush-log-at-trx-commit="$FLUSH_LOG" \
		--max-connections=200 --innodb-print-all-deadlocks=ON
}

write_config() {
	PORT=$(free_port)
	ADMIN_PORT=$(free_port)
	while ((ADMIN_PORT == PORT)); do ADMIN_PORT=$(free_port); done
	db_new_password
	cat >"$WORK/callcentred.conf" <<EOF
# stats-bench.sh: a throwaway callcentred for the benchmark
[server]
listen = 127.0.0.1:$PORT
admin_listen = 127.0.0.1:$ADMIN_PORT
max_connections = $((AGENTS + SUPERVISORS + 1000))
max_connections_per_ip = $((AGENTS + SUPERVISORS + 1000))
handshake_timeout = 60
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
# lowered from 17 so that thousands of logins take seconds
scrypt_n_log2 = $SCRYPT_N_LOG2
max_failures_per_ip = 1000

[log]
level = warn
EOF
}

# The sites, skills, queues, call routes and users, in one transaction;
# writes $WORK/routes (queue code and number, one a line, in the order of
# the phone accounts P00001 ..).
seed() {
	local s q i kind skill lang code n=0 sep
	: >"$WORK/routes"
	{
		echo "START TRANSACTION;"
		for s in "${SITES[@]}"; do
			echo "INSERT INTO sites (code, name, time_zone) VALUES ('$s', 'Bench $s', 'UTC');"
		done
		for skill in lang.zh:language lang.yue:language product.apparel:product \
			product.cosmetics:product product.luxury:product task.refund:task complaint.l1:level; do
			echo "INSERT INTO skills (code, name, kind) VALUES ('${skill%%:*}', '${skill%%:*}', '${skill#*:}');"
		done
		for s in "${SITES[@]}"; do
			lang=lang.zh
			[[ $s == GZ ]] && lang=lang.yue
			for kind in "${QUEUE_KINDS[@]}"; do
				code=${s,,}.${kind%%:*}
				skill=${kind#*:}
				echo "INSERT INTO queues (code, name, site_id, sl_target_seconds, offer_seconds,
					wrapup_seconds, sticky_seconds, aht_seconds, max_misses)
					SELECT '$code', 'Bench $code', id, 20, 60, $WRAPUP, 0, $((TALK_MEAN + WRAPUP)), 20
					FROM sites WHERE code = '$s';"
				echo "SET @q = LAST_INSERT_ID();"
				echo "INSERT INTO queue_skills (queue_id, skill_id, min_proficiency)
					SELECT @q, id, 2 FROM skills WHERE code = '$lang';"
				[[ -z $skill ]] || echo "INSERT INTO queue_skills (queue_id, skill_id, min_proficiency)
					SELECT @q, id, 2 FROM skills WHERE code = '$skill';"
				n=$((n + 1))
				printf -v q '40082%05d' "$n"
				echo "INSERT INTO call_routes (dialled, ivr, queue_id, priority) VALUES ('$q', '', @q, 5);"
				printf '%s %s\n' "$code" "$q" >>"$WORK/routes"
			done
		done
		NQUEUES=$n
		echo "INSERT INTO agents (username, display_name, role, site_id, password_hash) VALUES"
		sep=""
		for ((i = 1; i <= NQUEUES; i++)); do
			printf "%s('P%05d', 'Bench phone system %d', 'service', NULL, '%s')" "$sep" "$i" "$i" "$AGENT_HASH"
			sep=$',\n'
		done
		for ((i = 1; i <= SUPERVISORS; i++)); do
			# one in twenty sees every site; the others one site each
			if ((i % 20 == 1)); then s=NULL; else s="(SELECT id FROM sites WHERE code = '${SITES[i % 3]}')"; fi
			printf "%s('S%05d', 'Bench supervisor %d', 'supervisor', %s, '%s')" "$sep" "$i" "$i" "$s" "$AGENT_HASH"
		done
		for ((i = 1; i <= AGENTS; i++)); do
			printf "%s('A%05d', 'Bench agent %d', 'agent', (SELECT id FROM sites WHERE code = '%s'), '%s')" \
				"$sep" "$i" "$i" "${SITES[i % 3]}" "$AGENT_HASH"
		done
		echo ";"
		# the site's language; GZ's agents speak Mandarin too; three of the
		# five other skills, proficiency 2 to 5
		echo "INSERT INTO agent_skills (agent_id, skill_id, proficiency)
			SELECT a.id, k.id, 5 FROM agents a JOIN sites s ON s.id = a.site_id
			JOIN skills k ON k.code = IF(s.code = 'GZ', 'lang.yue', 'lang.zh')
			WHERE a.role = 'agent';"
		echo "INSERT INTO agent_skills (agent_id, skill_id, proficiency)
			SELECT a.id, k.id, 3 FROM agents a JOIN sites s ON s.id = a.site_id
			JOIN skills k ON k.code = 'lang.zh' WHERE a.role = 'agent' AND s.code = 'GZ';"
		for i in 0 1 2 3 4; do
			echo "INSERT INTO agent_skills (agent_id, skill_id, proficiency)
				SELECT a.id, k.id, 2 + a.id % 4 FROM agents a
				JOIN skills k ON k.code = '${OTHER_SKILLS[i]}'
				WHERE a.role = 'agent' AND (a.id + 5 - $i) % 5 < 3;"
		done
		echo "COMMIT;"
	} >"$WORK/seed.sql"
	sql callcentre <"$WORK/seed.sql" || die "seeding the database failed"
	n=$(sql callcentre -e "SELECT COUNT(*) FROM agents")
	((n == AGENTS + SUPERVISORS + NQUEUES)) ||
		die "expected $((AGENTS + SUPERVISORS + NQUEUES)) users in the database, found $n"
}

prepare_db() {
	say "migrating and adding $AGENTS agents, $SUPERVISORS supervisors and the queues"
	db_create_user
	db_create_database callcentre
	db_agent_password
	seed
}

# ---- measurements ----------------------------------------------------------

# The /metrics text, or nothing.
metrics() {
	curl -sf --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" || true
}

# The value of sample $2 in the metrics text $1 (0 when absent).
sample() {
	awk -v m="$2" '$1 == m {print $2; found=1} END {if (!found) print 0}' <<<"$1"
}

run_load() {
	local out=$WORK/statsbench.out m0 m1 k d rc
	say "statsbench: $AGENTS agents, $SUPERVISORS supervisors, $NQUEUES queues, $RATE calls/s" \
		"(talk ${TALK_MEAN} s, wrap-up ${WRAPUP} s), warm-up ${WARMUP} s, three ${DURATION} s phases"
	m0=$(metrics)
	set +e
	"$STATSBENCH" --connect "127.0.0.1:$PORT" --servername localhost --ca "$WORK/pki/ca.crt" \
		--password-file "$WORK/agent.pass" --routes "$WORK/routes" --agents "$AGENTS" \
		--supervisors "$SUPERVISORS" --rate "$RATE" --talk-mean "$TALK_MEAN" \
		--duration "$DURATION" --warmup "$WARMUP" --answer-limit "$ANSWER_LIMIT" \
		--server-pid "$SRV_PID" >"$out" 2> >(tee "$out.err" >&2) &
	BENCH_PID=$!
	wait "$BENCH_PID"
	rc=$?
	set -e
	BENCH_PID=""
	m1=$(metrics)
	grep -v '^done=' "$out" || true
	[[ $(kv "$out" "done") == 1 ]] || FAILED+=("statsbench did not finish")
	check statsbench_status test "$rc" = 0
	# the server's own counters over the whole run (set-up included)
	for k in cc_requests_total cc_db_jobs_total cc_db_job_seconds_sum cc_db_write_groups_total \
		cc_stats_rollup_writes_total; do
		d=$(awk -v a="$(sample "$m0" "$k")" -v b="$(sample "$m1" "$k")" 'BEGIN {print b - a}')
		echo "metrics.${k}_delta=$d"
	done
	d=$(sample "$m1" 'cc_closes_total{reason="slow_consumer"}')
	echo "metrics.slow_consumer_closes=$d"
	check no_slow_consumers test "${d%.*}" = 0
	echo "server.rss_kib_end=$(awk '/^VmRSS:/ {print $2}' "/proc/$SRV_PID/status")"
	echo "server.threads=$(awk '/^Threads:/ {print $2}' "/proc/$SRV_PID/status")"
	grep -E '^(failures|first_error|first_drop)' "$out" >&2 || true
	summary "$out"
}

# The headline figures, for people, on standard error.
summary() {
	local out=$1
	say "summary: $(kv "$out" calls) calls at $RATE/s, $(kv "$out" calls_answered) answered;" \
		"$(kv "$out" supervisors) supervisors got $(kv "$out" pushes) pushes"
	say "  push latency from the call's reply: p50 $(kv "$out" push_latency_ms_p50) ms," \
		"p99 $(kv "$out" push_latency_ms_p99) ms, max $(kv "$out" push_latency_ms_max) ms" \
		"(from its request: p99 $(kv "$out" push_latency_from_send_ms_p99) ms;" \
		"delivery after the push was built: p99 $(kv "$out" push_delivery_ms_p99) ms)"
	say "  callcentred CPU, % of one core: subscribed $(kv "$out" stats.server_cpu_pct_subscribed)," \
		"unsubscribed $(kv "$out" stats.server_cpu_pct_unsubscribed): the subscribers cost" \
		"$(kv "$out" stats.subscribers_cpu_pct) (ratio $(kv "$out" stats.cpu_ratio_subscribed_to_unsubscribed));" \
		"RSS $(kv "$out" phase.subscribed_again.server_rss_kib_at_end) KiB"
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
	echo "env.quick=$QUICK"
	echo "env.flush_log_at_trx_commit=$FLUSH_LOG"
	echo "env.wrapup_seconds=$WRAPUP"
	# other work on the machine shows here: the figures are only as quiet
	echo "env.loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
	parse_args "$@"
	check_tools
	bench_begin stats-bench
	build
	raise_fd_limit
	start_db
	say "making a throwaway CA and server certificate"
	make_pki
	write_config
	prepare_db
	start_server
	environment
	run_load
	stop_server
	echo "env.loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"
	if ((${#FAILED[@]} > 0)); then
		printf 'stats-bench: FAILED: %s\n' "${FAILED[@]}" >&2
		exit 1
	fi
	say "all checks passed"
}

main "$@"
