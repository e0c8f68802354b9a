# bench-db.sh: what the benchmark scripts share, sourced by each of them
# (session-bench.sh, customer-bench.sh, ticket-bench.sh): a private MariaDB
# in the benchmark's temporary folder, the callcentre database migrated by
# callcentred, agents to log in as, a throwaway CA, the build, process
# control and the key=value helpers.
#
# The sourcing script sets BENCH_NAME (the prefix of its messages), ROOT,
# BUILD_DIR, BUILD and KEEP before calling anything here, WORK once it has
# made its temporary folder, and defines stop_processes (terminate what it
# started, before the database stops). DB_STOP_LIMIT is how long mariadbd
# may take to stop (default 60 s).
# shellcheck shell=bash

die() {
	printf '%s: %s\n' "$BENCH_NAME" "$*" >&2
	exit 1
}

say() {
	printf '== %s\n' "$*" >&2
}

need_number() {
	[[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1: \"$2\" is not a positive integer"
}

# ---- processes and cleanup -------------------------------------------------

WORK=""
DB_PID=""
DB_STOP_LIMIT=${DB_STOP_LIMIT:-60}

alive() {
	kill -0 "$1" 2>/dev/null
}

# SIGTERM a process this script started and wait for it, with SIGKILL after
# $3 seconds; EXIT_STATUS is its exit status (0 when there was none).
terminate() {
	local pid=$1 name=$2 limit=$3 i
	EXIT_STATUS=0
	[[ -n $pid ]] && alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < limit * 10; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		printf '%s: %s (pid %s) ignored SIGTERM for %s s; killing it\n' \
			"$BENCH_NAME" "$name" "$pid" "$limit" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || EXIT_STATUS=$?
}

# The EXIT trap: the script's processes, then the database, then the folder
# (kept with --keep; its logs kept when something failed).
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_processes
	terminate "$DB_PID" mariadbd "$DB_STOP_LIMIT"
	if [[ -n $WORK && -d $WORK ]]; then
		if ((KEEP)); then
			printf '%s: everything kept in %s\n' "$BENCH_NAME" "$WORK" >&2
		elif ((rc != 0)); then
			# the logs explain a failure; the database files do not
			rm -rf "$WORK/db/data"
			printf '%s: logs and config kept in %s\n' "$BENCH_NAME" "$WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

# Install the traps and make the temporary folder: $1 is its name prefix.
bench_begin() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
}

# Poll a command until it succeeds, or die after $1 seconds.
wait_for() {
	local limit=$1 what=$2 i
	shift 2
	for ((i = 0; i < limit * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	die "timed out after $limit s waiting for $what"
}

# A TCP port on 127.0.0.1 that nothing listens on, outside the ephemeral range.
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}

listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---- set-up ----------------------------------------------------------------

check_tools() {
	local t
	for t in cmake openssl mariadbd mariadb-install-db mariadb mariadb-admin curl awk; do
		command -v "$t" >/dev/null || die "$t is not installed"
	done
}

# Build callcentred and the targets named (tools in tests/bench), unless
# --no-build; sets CALLCENTRED and BUILD_TYPE, and refuses sanitizer builds.
bench_build() {
	local t names="callcentred"
	for t in "$@"; do names="$names and $t"; done
	if ((BUILD)); then
		say "building $names in $BUILD_DIR"
		cmake -S "$ROOT" -B "$BUILD_DIR" -DCC_TESTS=ON >"$WORK/build.log" 2>&1 ||
			die "cmake configure failed; see $WORK/build.log"
		cmake --build "$BUILD_DIR" -j"$(nproc)" --target callcentred "$@" \
			>>"$WORK/build.log" 2>&1 || die "build failed; see $WORK/build.log"
	fi
	CALLCENTRED=$BUILD_DIR/server/callcentred
	[[ -x $CALLCENTRED ]] || die "no callcentred in $BUILD_DIR"
	for t in "$@"; do
		[[ -x $BUILD_DIR/tests/bench/$t ]] || die "no $t in $BUILD_DIR"
	done
	if grep -Eq '^CC_(SANITIZE|FUZZ):BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
		die "$BUILD_DIR is a sanitizer or fuzz build; benchmark a plain build"
	fi
	# empty in the cache: the project sets RelWithDebInfo itself
	BUILD_TYPE=$(awk -F= '/^CMAKE_BUILD_TYPE:/ {print $2}' "$BUILD_DIR/CMakeCache.txt")
	BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
}

# ---- the private MariaDB -----------------------------------------------------

# Install a data folder under $WORK/db and start mariadbd on a socket there
# (no TCP); the arguments are mariadbd options on top of the common ones.
# Waits up to DB_START_LIMIT seconds (default 60) for it to answer.
db_start() {
	local me
	me=$(id -un)
	mkdir -p "$WORK/db"
	mariadb-install-db --no-defaults --datadir="$WORK/db/data" --user="$me" \
		--auth-root-authentication-method=normal --skip-test-db \
		>"$WORK/db/install.log" 2>&1 || die "mariadb-install-db failed; see $WORK/db/install.log"
	mariadbd --no-defaults --datadir="$WORK/db/data" --socket="$WORK/db/sock" \
		--skip-networking --skip-log-bin --user="$me" --pid-file="$WORK/db/mariadbd.pid" \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci "$@" \
		</dev/null >"$WORK/db/mariadbd.log" 2>&1 &
	DB_PID=$!
	wait_for "${DB_START_LIMIT:-60}" "mariadbd" db_ready
}

db_ready() {
	alive "$DB_PID" || die "mariadbd exited; see $WORK/db/mariadbd.log"
	mariadb-admin --no-defaults --socket="$WORK/db/sock" -uroot ping >/dev/null 2>&1
}

sql() {
	mariadb --no-defaults --socket="$WORK/db/sock" -uroot --batch --skip-column-names "$@"
}

status_var() {
	sql -e "SHOW GLOBAL STATUS LIKE '$1'" | awk '{print $2}'
}

# A random password for the callcentre database user, in $WORK/db.pass.
db_new_password() {
	DB_PASSWORD=$(openssl rand -hex 16)
	(umask 077 && printf '%s\n' "$DB_PASSWORD" >"$WORK/db.pass")
}

db_create_user() {
	sql -e "CREATE USER 'callcentre'@'localhost' IDENTIFIED BY '$DB_PASSWORD'"
}

# A database for the callcentre user, migrated by callcentred (with the
# config $WORK/callcentred.conf, its database name overridden).
db_create_database() {
	local name=$1
	sql <<EOF
CREATE DATABASE $name CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL ON $name.* TO 'callcentre'@'localhost';
EOF
	"$CALLCENTRED" -f "$WORK/callcentred.conf" -o "database.name=$name" --migrate \
		>>"$WORK/migrate.log" 2>&1 || die "callcentred --migrate of $name failed; see $WORK/migrate.log"
}

# A random agent password in $WORK/agent.pass and its hash in AGENT_HASH,
# from callcentred --hash-password (the config's scrypt cost).
db_agent_password() {
	(umask 077 && openssl rand -hex 12 >"$WORK/agent.pass")
	AGENT_HASH=$("$CALLCENTRED" -f "$WORK/callcentred.conf" --hash-password <"$WORK/agent.pass")
	[[ $AGENT_HASH == \$scrypt\$* ]] || die "--hash-password printed \"$AGENT_HASH\""
}

# One site (code $1, name $2) and $4 agents $3%04d (1..N) of role $5 there,
# all with AGENT_HASH, in database $6 (default callcentre): one hash for
# all, since the benchmarks measure sessions and tickets, not hashing.
db_seed_agents() {
	local code=$1 name=$2 prefix=$3 count=$4 role=$5 db=${6:-callcentre} i n sep=""
	{
		echo "INSERT INTO sites (code, name) VALUES ('$code', '$name');"
		echo "SET @site = (SELECT id FROM sites WHERE code = '$code');"
		echo "INSERT INTO agents (username, display_name, role, site_id, password_hash) VALUES"
		for ((i = 1; i <= count; i++)); do
			printf "%s('%s%04d', 'Bench agent %d', '%s', @site, '%s')" \
				"$sep" "$prefix" "$i" "$i" "$role" "$AGENT_HASH"
			sep=$',\n'
		done
		echo ";"
	} | sql "$db"
	n=$(sql "$db" -e "SELECT COUNT(*) FROM agents a JOIN sites s ON s.id = a.site_id
		WHERE s.code = '$code'")
	((n == count)) || die "expected $count agents in the database, found $n"
}

# A CA and an ECDSA P-256 server certificate for localhost and 127.0.0.1.
make_pki() {
	local d=$WORK/pki
	mkdir -p "$d"
	(
		cd "$d"
		umask 077
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
		openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=callcentre bench CA" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign -out ca.crt
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key
		printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
			extendedKeyUsage=serverAuth subjectAltName=DNS:localhost,IP:127.0.0.1 >server.ext
		openssl req -new -key server.key -subj /CN=localhost -out server.csr
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial 2 -days 2 \
			-sha256 -extfile server.ext -out server.crt
		chmod 644 ca.crt server.crt
	) >"$WORK/pki.log" 2>&1 || die "openssl failed making certificates; see $WORK/pki.log"
}

# ---- results -----------------------------------------------------------------

FAILED=()

check() {
	local what=$1
	shift
	if "$@"; then
		printf 'check.%s=ok\n' "$what"
	else
		printf 'check.%s=FAILED\n' "$what"
		FAILED+=("$what")
	fi
}

# The value of key in a key=value file.
kv() {
	awk -F= -v k="$2" '$1 == k {sub(/^[^=]*=/, ""); print; found=1} END {if (!found) print "missing"}' "$1"
}

calc() {
	awk "BEGIN {printf \"%.${2:-1}f\", $1}"
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# CPU seconds (user + system, all threads) a process has used.
cpu_seconds() {
	# fields after "pid (comm) ": utime and stime are the 12th and 13th
	sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{print ($12 + $13) / hz}'
}

# CPU seconds the whole machine has been busy (steal included: time the
# hypervisor gave to others is not ours either).
machine_busy_seconds() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {print ($2 + $3 + $4 + $7 + $8 + $9) / hz}' /proc/stat
}

# Start callcentred with $WORK/callcentred.conf and wait until its admin
# port says the database is up.
start_server() {
	say "starting callcentred on 127.0.0.1:$PORT"
	"$CALLCENTRED" -f "$WORK/callcentred.conf" </dev/null >"$WORK/callcentred.log" 2>&1 &
	SRV_PID=$!
	wait_for "${SERVER_START_LIMIT:-30}" "callcentred to serve" server_ready
}

server_ready() {
	alive "$SRV_PID" || die "callcentred exited; see $WORK/callcentred.log"
	curl -sf --max-time 2 "http://127.0.0.1:$ADMIN_PORT/healthz" 2>/dev/null |
		grep -q '"database":"up"'
}

no_errors_logged() {
	! grep -q 'level=error' "$WORK/callcentred.log"
}

stop_server() {
	terminate "$SRV_PID" callcentred 30
	SRV_PID=""
	check server_clean_exit test "$EXIT_STATUS" = 0
	check server_log_has_no_errors no_errors_logged
}

# The server's group commit over the whole phase (warm-up included), from
# callcentred's /metrics on $ADMIN_PORT, as $1.key=value lines: writes per
# transaction, groups split by a refused or failed write, and the runs of
# like writes filed with multi-row statements (complaints per run, and
# those left to be filed one by one).
group_figures() {
	local m
	m=$(curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics") || die "no /metrics from callcentred"
	awk -v p="$1" '
		{ v[$1] = $2 }
		END {
			printf "%s.writes_per_group=%.2f\n", p, v["cc_db_write_groups_total"] ? v["cc_db_write_group_jobs_total"] / v["cc_db_write_groups_total"] : 0
			printf "%s.group_splits=%d\n", p, v["cc_db_write_group_splits_total"]
			printf "%s.batches=%d\n", p, v["cc_db_write_batches_total"]
			printf "%s.writes_per_batch=%.2f\n", p, v["cc_db_write_batches_total"] ? v["cc_db_write_batch_jobs_total"] / v["cc_db_write_batches_total"] : 0
			printf "%s.batch_writes_filed_alone=%d\n", p, v["cc_db_write_batch_later_total"]
		}' <<<"$m"
}
