/* store-stats.c: see store-stats.h.
 *
 * The writer sends one prepared INSERT ... ON DUPLICATE KEY UPDATE per
 * scope that changed in the interval, all in one transaction. The report
 * is one query per request: a GROUP BY over the rows of the range, on the
 * scope the request asks for, with the keys joined in (codes, usernames)
 * or, by day and interval, the interval starts (grouped into days here). */
#include "store-stats.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const char *const field_names[RF__COUNT] = {
    "offered",
    "presented",
    "answered",
    "answered_within",
    "abandoned",
    "abandoned_within",
    "short_abandoned",
    "transferred_in",
    "transferred_out",
    "wait_ms_sum",
    "abandon_wait_ms_sum",
    "talk_ms_sum",
    "wrapup_ms_sum",
    "handled",
    "wrapups",
    "busy_ms",
    "wrapup_ms",
    "reserved_ms",
    "available_ms",
    "paused_ms",
    "csat_sum",
    "csat_count",
    "complaints_1",
    "complaints_2",
    "complaints_3",
    "complaints_4",
    "sla_warnings",
    "sla_breaches",
};

/* In the order of the ENUM of stats_intervals.scope (schema 009, 010). */
static const char *const scope_names[STATS__SCOPES] = {"all", "site", "queue", "agent", "skill"};

const char *
roll_field_name(enum roll_field f)
{
	return (unsigned)f < RF__COUNT ? field_names[f] : "?";
}

/* Time per state into v. */
static void
roll_states(const int64_t ms[ROUTE__AGENT_STATES], uint64_t v[RF__COUNT])
{
	int64_t avail = ms[ROUTE_AGENT_READY] + ms[ROUTE_AGENT_RESERVED] + ms[ROUTE_AGENT_BUSY] +
	                ms[ROUTE_AGENT_WRAP_UP];

	v[RF_BUSY_MS] = (uint64_t)ms[ROUTE_AGENT_BUSY];
	v[RF_WRAPUP_MS] = (uint64_t)ms[ROUTE_AGENT_WRAP_UP];
	v[RF_RESERVED_MS] = (uint64_t)ms[ROUTE_AGENT_RESERVED];
	v[RF_AVAILABLE_MS] = (uint64_t)avail;
	v[RF_PAUSED_MS] = (uint64_t)ms[ROUTE_AGENT_PAUSED];
}

void
roll_from_view(const struct stats_view *sv, uint64_t v[RF__COUNT])
{
	const struct stats_counts *c = &sv->day;

	memset(v, 0, RF__COUNT * sizeof v[0]);
	v[RF_OFFERED] = c->offered;
	v[RF_PRESENTED] = c->presented;
	v[RF_ANSWERED] = c->answered;
	v[RF_ANSWERED_WITHIN] = c->answered_in_sl;
	v[RF_ABANDONED] = c->abandoned;
	v[RF_ABANDONED_WITHIN] = c->abandoned_in_sl;
	v[RF_SHORT_ABANDONED] = c->short_abandoned;
	v[RF_TRANSFERRED_IN] = c->transferred_in;
	v[RF_TRANSFERRED_OUT] = c->transferred_out;
	v[RF_WAIT_MS_SUM] = c->answer_wait_ms;
	v[RF_ABANDON_WAIT_MS_SUM] = c->abandon_wait_ms;
	v[RF_TALK_MS_SUM] = c->talk_ms;
	v[RF_WRAPUP_MS_SUM] = c->wrapup_ms;
	v[RF_HANDLED] = c->handled;
	v[RF_WRAPUPS] = c->wrapups;
	v[RF_CSAT_SUM] = c->csat_sum;
	v[RF_CSAT_COUNT] = c->csat_count;
	for (int i = 1; i <= STATS_SEVERITIES; i++)
		v[RF_COMPLAINTS_1 + i - 1] = c->complaints[i];
	v[RF_SLA_WARNINGS] = c->sla_warnings;
	v[RF_SLA_BREACHES] = c->sla_breaches;
	roll_states(sv->state_ms, v);
}

void
roll_from_agent(const struct stats_agent_view *av, uint64_t v[RF__COUNT])
{
	memset(v, 0, RF__COUNT * sizeof v[0]);
	v[RF_PRESENTED] = av->presented;
	v[RF_ANSWERED] = av->answered;
	v[RF_TALK_MS_SUM] = av->talk_ms;
	v[RF_WRAPUP_MS_SUM] = av->wrapup_ms;
	v[RF_HANDLED] = av->handled;
	v[RF_WRAPUPS] = av->wrapups;
	v[RF_CSAT_SUM] = av->csat_sum;
	v[RF_CSAT_COUNT] = av->csat_count;
	roll_states(av->state_ms, v);
}

void
roll_to_counts(const uint64_t v[RF__COUNT], struct stats_counts *c,
               int64_t state_ms[ROUTE__AGENT_STATES])
{
	uint64_t worked = v[RF_BUSY_MS] + v[RF_WRAPUP_MS] + v[RF_RESERVED_MS];

	memset(c, 0, sizeof *c);
	c->offered = (uint32_t)v[RF_OFFERED];
	c->presented = (uint32_t)v[RF_PRESENTED];
	c->answered = (uint32_t)v[RF_ANSWERED];
	c->answered_in_sl = (uint32_t)v[RF_ANSWERED_WITHIN];
	c->abandoned = (uint32_t)v[RF_ABANDONED];
	c->abandoned_in_sl = (uint32_t)v[RF_ABANDONED_WITHIN];
	c->short_abandoned = (uint32_t)v[RF_SHORT_ABANDONED];
	c->transferred_in = (uint32_t)v[RF_TRANSFERRED_IN];
	c->transferred_out = (uint32_t)v[RF_TRANSFERRED_OUT];
	c->answer_wait_ms = v[RF_WAIT_MS_SUM];
	c->abandon_wait_ms = v[RF_ABANDON_WAIT_MS_SUM];
	c->talk_ms = v[RF_TALK_MS_SUM];
	c->wrapup_ms = v[RF_WRAPUP_MS_SUM];
	c->handled = (uint32_t)v[RF_HANDLED];
	c->wrapups = (uint32_t)v[RF_WRAPUPS];
	c->csat_sum = v[RF_CSAT_SUM];
	c->csat_count = (uint32_t)v[RF_CSAT_COUNT];
	for (int i = 1; i <= STATS_SEVERITIES; i++)
		c->complaints[i] = (uint32_t)v[RF_COMPLAINTS_1 + i - 1];
	c->sla_warnings = (uint32_t)v[RF_SLA_WARNINGS];
	c->sla_breaches = (uint32_t)v[RF_SLA_BREACHES];
	memset(state_ms, 0, ROUTE__AGENT_STATES * sizeof state_ms[0]);
	state_ms[ROUTE_AGENT_BUSY] = (int64_t)v[RF_BUSY_MS];
	state_ms[ROUTE_AGENT_WRAP_UP] = (int64_t)v[RF_WRAPUP_MS];
	state_ms[ROUTE_AGENT_RESERVED] = (int64_t)v[RF_RESERVED_MS];
	state_ms[ROUTE_AGENT_READY] =
	    v[RF_AVAILABLE_MS] > worked ? (int64_t)(v[RF_AVAILABLE_MS] - worked) : 0;
	state_ms[ROUTE_AGENT_PAUSED] = (int64_t)v[RF_PAUSED_MS];
}

/* --- the writer --- */

/* The INSERT, built once: its text is the statement cache's key. */
static char write_sql[2048];

static void
write_sql_build(void)
{
	size_t n = 0;

	n += (size_t)snprintf(
	    write_sql + n, sizeof write_sql - n,
	    "INSERT INTO stats_intervals (interval_start, scope, scope_id, site_id");
	for (int f = 0; f < RF__COUNT; f++)
		n += (size_t)snprintf(write_sql + n, sizeof write_sql - n, ", %s", field_names[f]);
	n += (size_t)snprintf(write_sql + n, sizeof write_sql - n, ") VALUES (?, ?, ?, ?");
	for (int f = 0; f < RF__COUNT; f++)
		n += (size_t)snprintf(write_sql + n, sizeof write_sql - n, ", ?");
	n += (size_t)snprintf(write_sql + n, sizeof write_sql - n,
	                      ") ON DUPLICATE KEY UPDATE site_id = VALUES(site_id)");
	for (int f = 0; f < RF__COUNT; f++)
		n += (size_t)snprintf(write_sql + n, sizeof write_sql - n, ", %s = VALUES(%s)",
		                      field_names[f], field_names[f]);
}

int
store_stats_write(MYSQL *m, int64_t start, const struct roll_row *rows, size_t n, char *err,
                  size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	MYSQL_BIND p[4 + RF__COUNT];
	long long at = start;
	char scope[8];
	unsigned long scope_len;
	unsigned int id, site;
	unsigned long long v[RF__COUNT];

	pthread_once(&once, write_sql_build);
	if (n == 0)
		return 0;
	memset(p, 0, sizeof p);
	p[0].buffer_type = MYSQL_TYPE_LONGLONG;
	p[0].buffer = &at;
	p[1].buffer_type = MYSQL_TYPE_STRING;
	p[1].buffer = scope;
	p[1].length = &scope_len;
	p[2].buffer_type = MYSQL_TYPE_LONG;
	p[2].buffer = &id;
	p[2].is_unsigned = 1;
	p[3].buffer_type = MYSQL_TYPE_LONG;
	p[3].buffer = &site;
	p[3].is_unsigned = 1;
	for (int f = 0; f < RF__COUNT; f++) {
		p[4 + f].buffer_type = MYSQL_TYPE_LONGLONG;
		p[4 + f].buffer = &v[f];
		p[4 + f].is_unsigned = 1;
	}
	if (store_tx_begin(m, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		MYSQL_STMT *st;

		snprintf(scope, sizeof scope, "%s", scope_names[rows[i].scope]);
		scope_len = strlen(scope);
		id = rows[i].scope == STATS_ALL ? 0 : rows[i].id;
		site = rows[i].scope == STATS_ALL ? 0 : rows[i].site;
		for (int f = 0; f < RF__COUNT; f++)
			v[f] = rows[i].v[f];
		if ((st = store_stmt(m, write_sql, p, err, errlen)) == NULL ||
		    mysql_stmt_execute(st) != 0) {
			if (st != NULL)
				store_fail(m, st, err, errlen);
			store_tx_rollback(m);
			return -1;
		}
		store_stmt_done(st);
	}
	if (store_tx_commit(m, err, errlen) != 0) {
		store_tx_rollback(m);
		return -1;
	}
	return 0;
}

/* --- sums over rows --- */

/* The SUM(...) list of every field, after a lead text. */
static void
sums_sql(char *out, size_t len, const char *lead, const char *tail)
{
	size_t n = (size_t)snprintf(out, len, "%s", lead);

	for (int f = 0; f < RF__COUNT; f++)
		n += (size_t)snprintf(out + n, len - n, ", SUM(i.%s)", field_names[f]);
	snprintf(out + n, len - n, "%s", tail);
}

/* A row of a sums query: its keys (integers, or a text) and sums. */
typedef void (*sum_fn)(void *arg, const long long ikey[2], const char *skey,
                       const uint64_t v[RF__COUNT]);

/* Run a prepared query whose columns are keys and then the RF__COUNT sums:
 * ikeys integer keys (0..2) or, with ikeys 0, one text key. fn sees each
 * row; more than max rows: *over is set and the rest is not read. 0 or -1. */
static int
sums_query(MYSQL *m, const char *sql, MYSQL_BIND *params, int ikeys, size_t max, int *over,
           sum_fn fn, void *arg, char *err, size_t errlen)
{
	MYSQL_BIND r[2 + RF__COUNT];
	MYSQL_STMT *st;
	long long ikey[2] = {0, 0};
	char skey[260];
	unsigned long skey_len = 0;
	my_bool nul[2 + RF__COUNT];
	unsigned long long v[RF__COUNT];
	int off = ikeys > 0 ? ikeys : 1;
	size_t rows = 0;
	int rc;

	memset(r, 0, sizeof r);
	memset(nul, 0, sizeof nul);
	if (ikeys == 0) {
		r[0].buffer_type = MYSQL_TYPE_STRING;
		r[0].buffer = skey;
		r[0].buffer_length = sizeof skey;
		r[0].length = &skey_len;
		r[0].is_null = &nul[0];
	}
	for (int k = 0; k < ikeys; k++) {
		r[k].buffer_type = MYSQL_TYPE_LONGLONG;
		r[k].buffer = &ikey[k];
		r[k].is_null = &nul[k];
	}
	for (int f = 0; f < RF__COUNT; f++) {
		/* a SUM is a DECIMAL: read as an unsigned 64-bit integer */
		r[off + f].buffer_type = MYSQL_TYPE_LONGLONG;
		r[off + f].buffer = &v[f];
		r[off + f].is_unsigned = 1;
		r[off + f].is_null = &nul[off + f];
	}
	if ((st = store_stmt(m, sql, params, err, errlen)) == NULL)
		return -1;
	if (mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0)
		return store_fail(m, st, err, errlen);
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		uint64_t vals[RF__COUNT];

		if (++rows > max) {
			*over = 1;
			break;
		}
		for (int f = 0; f < RF__COUNT; f++)
			vals[f] = nul[off + f] ? 0 : v[f];
		if (ikeys == 0)
			skey[skey_len < sizeof skey ? skey_len : sizeof skey - 1] = '\0';
		fn(arg, ikey, ikeys == 0 && !nul[0] ? skey : "", vals);
	}
	if (rc == 1)
		return store_fail(m, st, err, errlen);
	store_stmt_done(st);
	return 0;
}

/* --- the restore --- */

struct restore_acc {
	struct roll_row *rows;
	size_t n, cap;
	uint32_t site;
};

static void
restore_row(void *arg, const long long ikey[2], const char *skey, const uint64_t v[RF__COUNT])
{
	struct restore_acc *a = arg;
	struct roll_row *r;

	(void)skey;
	if (ikey[0] < STATS_ALL || ikey[0] >= STATS__SCOPES)
		return;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		if ((a->rows = realloc(a->rows, a->cap * sizeof *a->rows)) == NULL)
			abort();
	}
	r = &a->rows[a->n++];
	r->scope = (enum stats_scope)ikey[0];
	r->id = (uint32_t)ikey[1];
	r->site = a->site;
	memcpy(r->v, v, sizeof r->v);
}

int
store_stats_restore(MYSQL *m, uint32_t site, int64_t from_ms, struct roll_row **out, size_t *n,
                    char *err, size_t errlen)
{
	char sql[2048];
	struct restore_acc a = {.site = site};
	MYSQL_BIND p[2];
	unsigned int sid = site;
	long long from = from_ms;
	int over = 0;

	memset(p, 0, sizeof p);
	p[0].buffer_type = MYSQL_TYPE_LONG;
	p[0].buffer = &sid;
	p[0].is_unsigned = 1;
	p[1].buffer_type = MYSQL_TYPE_LONGLONG;
	p[1].buffer = &from;
	/* an ENUM's index: 1 'all', 2 'site', 3 'queue', 4 'agent' */
	sums_sql(sql, sizeof sql, "SELECT CAST(i.scope + 0 AS SIGNED) - 1, i.scope_id",
	         " FROM stats_intervals i WHERE i.site_id = ? AND i.scope <> 'all' "
	         "AND i.interval_start >= ? GROUP BY i.scope, i.scope_id");
	if (sums_query(m, sql, p, 2, SIZE_MAX, &over, restore_row, &a, err, errlen) != 0) {
		free(a.rows);
		return -1;
	}
	*out = a.rows;
	*n = a.n;
	return 0;
}

int
store_stats_last(MYSQL *m, uint32_t site, int64_t from_ms, int64_t *start, char *err, size_t errlen)
{
	MYSQL_BIND p[2], r[1];
	MYSQL_STMT *st;
	unsigned int sid = site;
	long long from = from_ms, last = 0;
	my_bool nul = 1;
	int rc;

	memset(p, 0, sizeof p);
	memset(r, 0, sizeof r);
	p[0].buffer_type = MYSQL_TYPE_LONG;
	p[0].buffer = &sid;
	p[0].is_unsigned = 1;
	p[1].buffer_type = MYSQL_TYPE_LONGLONG;
	p[1].buffer = &from;
	r[0].buffer_type = MYSQL_TYPE_LONGLONG;
	r[0].buffer = &last;
	r[0].is_null = &nul;
	if ((st = store_stmt(m,
	                     "SELECT MAX(interval_start) FROM stats_intervals "
	                     "WHERE site_id = ? AND interval_start >= ?",
	                     p, err, errlen)) == NULL)
		return -1;
	if (mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0 ||
	    ((rc = mysql_stmt_fetch(st)) != 0 && rc != MYSQL_NO_DATA))
		return store_fail(m, st, err, errlen);
	store_stmt_done(st);
	if (rc == MYSQL_NO_DATA || nul)
		return 0;
	*start = last;
	return 1;
}

int
store_stats_interval(MYSQL *m, int64_t start, struct roll_row **out, size_t *n, char *err,
                     size_t errlen)
{
	char sql[2048];
	struct restore_acc a = {.site = 0};
	MYSQL_BIND p[1];
	long long at = start;
	int over = 0;

	memset(p, 0, sizeof p);
	p[0].buffer_type = MYSQL_TYPE_LONGLONG;
	p[0].buffer = &at;
	sums_sql(sql, sizeof sql, "SELECT CAST(i.scope + 0 AS SIGNED) - 1, i.scope_id",
	         " FROM stats_intervals i WHERE i.interval_start = ? GROUP BY i.scope, i.scope_id");
	if (sums_query(m, sql, p, 2, SIZE_MAX, &over, restore_row, &a, err, errlen) != 0) {
		free(a.rows);
		return -1;
	}
	*out = a.rows;
	*n = a.n;
	return 0;
}

/* --- the report --- */

/* A ratio, or null when the denominator is 0. */
static json_t *
ratio(uint64_t num, uint64_t den)
{
	return den ? json_real((double)num / (double)den) : json_null();
}

static json_t *
average(uint64_t sum, uint64_t n)
{
	return n ? json_integer((json_int_t)((sum + n / 2) / n)) : json_null();
}

/* A report row (or the totals) from its sums. */
static json_t *
report_row(const char *key, const uint64_t v[RF__COUNT])
{
	json_t *o = json_object();

	json_object_set_new(o, "key", json_string(key));
	json_object_set_new(o, "offered", json_integer((json_int_t)v[RF_OFFERED]));
	json_object_set_new(o, "answered", json_integer((json_int_t)v[RF_ANSWERED]));
	json_object_set_new(o, "answered_within", json_integer((json_int_t)v[RF_ANSWERED_WITHIN]));
	json_object_set_new(o, "abandoned", json_integer((json_int_t)v[RF_ABANDONED]));
	json_object_set_new(o, "short_abandoned", json_integer((json_int_t)v[RF_SHORT_ABANDONED]));
	json_object_set_new(o, "handled", json_integer((json_int_t)v[RF_HANDLED]));
	json_object_set_new(o, "sl", ratio(v[RF_ANSWERED_WITHIN], v[RF_ANSWERED]));
	json_object_set_new(o, "sl2",
	                    ratio(v[RF_ANSWERED_WITHIN] + v[RF_ABANDONED_WITHIN],
	                          v[RF_ANSWERED] + v[RF_ABANDONED]));
	json_object_set_new(o, "asa_ms", average(v[RF_WAIT_MS_SUM], v[RF_ANSWERED]));
	json_object_set_new(o, "aht_ms",
	                    average(v[RF_TALK_MS_SUM] + v[RF_WRAPUP_MS_SUM], v[RF_HANDLED]));
	json_object_set_new(o, "occupancy",
	                    ratio(v[RF_BUSY_MS] + v[RF_WRAPUP_MS], v[RF_AVAILABLE_MS]));
	json_object_set_new(o, "csat", ratio(v[RF_CSAT_SUM], v[RF_CSAT_COUNT]));
	return o;
}

struct report_acc {
	const struct report_req *q;
	json_t *rows;
	uint64_t total[RF__COUNT];
	/* by day: the open day and its sums */
	long day;
	uint64_t sums[RF__COUNT];
};

static void
add(uint64_t *to, const uint64_t *v)
{
	for (int f = 0; f < RF__COUNT; f++)
		to[f] += v[f];
}

static void
report_day_close(struct report_acc *a)
{
	if (a->day >= 0)
		json_array_append_new(a->rows, report_row(a->q->day_name[a->day], a->sums));
	a->day = -1;
	memset(a->sums, 0, sizeof a->sums);
}

static void
report_add(void *arg, const long long ikey[2], const char *skey, const uint64_t v[RF__COUNT])
{
	struct report_acc *a = arg;
	char buf[24];

	add(a->total, v);
	switch (a->q->by) {
	case REPORT_INTERVAL:
		snprintf(buf, sizeof buf, "%lld", ikey[0]);
		json_array_append_new(a->rows, report_row(buf, v));
		break;
	case REPORT_DAY: {
		/* the last local midnight at or before the bucket */
		size_t lo = 0, hi = a->q->ndays;
		while (hi - lo > 1) {
			size_t mid = (lo + hi) / 2;
			if (a->q->day_start[mid] <= ikey[0])
				lo = mid;
			else
				hi = mid;
		}
		if ((long)lo != a->day) {
			report_day_close(a);
			a->day = (long)lo;
		}
		add(a->sums, v);
		break;
	}
	default:
		json_array_append_new(a->rows, report_row(skey, v));
		break;
	}
}

int
store_stats_report(MYSQL *m, const struct report_req *q, struct ticket_result *res, char *err,
                   size_t errlen)
{
	char sql[2560];
	struct report_acc a = {.q = q, .day = -1};
	MYSQL_BIND p[8];
	long long from = q->from, to = q->to, bucket, cap = REPORT_ROWS_MAX;
	unsigned int site = q->site, queue = q->queue, sid;
	char scope[8];
	unsigned long scope_len;
	int over = 0, np = 0, ikeys = 0, rc;
	size_t max = REPORT_ROWS_MAX;

	(void)cap;
	memset(p, 0, sizeof p);
#define BIND_LL(v)                                                                                 \
	do {                                                                                       \
		p[np].buffer_type = MYSQL_TYPE_LONGLONG;                                           \
		p[np++].buffer = &(v);                                                             \
	} while (0)
#define BIND_U(v)                                                                                  \
	do {                                                                                       \
		p[np].buffer_type = MYSQL_TYPE_LONG;                                               \
		p[np].is_unsigned = 1;                                                             \
		p[np++].buffer = &(v);                                                             \
	} while (0)
	switch (q->by) {
	case REPORT_QUEUE:
		sums_sql(
		    sql, sizeof sql, "SELECT k.code",
		    " FROM stats_intervals i JOIN queues k ON k.id = i.scope_id "
		    "WHERE i.scope = 'queue' AND i.interval_start >= ? AND i.interval_start < ? "
		    "AND (? = 0 OR i.site_id = ?) AND (? = 0 OR i.scope_id = ?) "
		    "GROUP BY k.code ORDER BY k.code");
		BIND_LL(from);
		BIND_LL(to);
		BIND_U(site);
		BIND_U(site);
		BIND_U(queue);
		BIND_U(queue);
		break;
	case REPORT_SITE:
		sums_sql(
		    sql, sizeof sql, "SELECT k.code",
		    " FROM stats_intervals i JOIN sites k ON k.id = i.scope_id "
		    "WHERE i.scope = 'site' AND i.interval_start >= ? AND i.interval_start < ? "
		    "AND (? = 0 OR i.site_id = ?) GROUP BY k.code ORDER BY k.code");
		BIND_LL(from);
		BIND_LL(to);
		BIND_U(site);
		BIND_U(site);
		break;
	case REPORT_SKILL:
		/* skills span the sites: asked for by a viewer of every site */
		sums_sql(
		    sql, sizeof sql, "SELECT k.code",
		    " FROM stats_intervals i JOIN skills k ON k.id = i.scope_id "
		    "WHERE i.scope = 'skill' AND i.interval_start >= ? AND i.interval_start < ? "
		    "GROUP BY k.code ORDER BY k.code");
		BIND_LL(from);
		BIND_LL(to);
		break;
	case REPORT_AGENT:
		sums_sql(
		    sql, sizeof sql, "SELECT k.username",
		    " FROM stats_intervals i JOIN agents k ON k.id = i.scope_id "
		    "WHERE i.scope = 'agent' AND i.interval_start >= ? AND i.interval_start < ? "
		    "AND (? = 0 OR i.site_id = ?) GROUP BY k.username ORDER BY k.username");
		BIND_LL(from);
		BIND_LL(to);
		BIND_U(site);
		BIND_U(site);
		break;
	default:
		/* by day: grouped by quarter hours first (every UTC offset is a
		 * multiple of 15 minutes), then into the local days here */
		bucket = q->by == REPORT_DAY ? 900000 : 1;
		max = q->by == REPORT_DAY ? (size_t)(367 * 96) : REPORT_ROWS_MAX;
		ikeys = 1;
		sums_sql(
		    sql, sizeof sql, "SELECT (i.interval_start DIV ?) * ? AS b",
		    " FROM stats_intervals i WHERE i.scope = ? AND i.scope_id = ? "
		    "AND i.interval_start >= ? AND i.interval_start < ? GROUP BY b ORDER BY b");
		BIND_LL(bucket);
		BIND_LL(bucket);
		snprintf(scope, sizeof scope, "%s",
		         queue                   ? "queue"
		         : q->site_named || site ? "site"
		                                 : "all");
		scope_len = strlen(scope);
		p[np].buffer_type = MYSQL_TYPE_STRING;
		p[np].buffer = scope;
		p[np++].length = &scope_len;
		sid = queue ? queue : site;
		BIND_U(sid);
		BIND_LL(from);
		BIND_LL(to);
		break;
	}
#undef BIND_LL
#undef BIND_U
	a.rows = json_array();
	rc = sums_query(m, sql, p, ikeys, max, &over, report_add, &a, err, errlen);
	if (rc != 0) {
		json_decref(a.rows);
		return -1;
	}
	if (over) {
		json_decref(a.rows);
		ticket_refuse(res, CC_ERR_TOO_LARGE,
		              "the report has more than %d rows: ask for a shorter range",
		              REPORT_ROWS_MAX);
		return 0;
	}
	if (q->by == REPORT_DAY)
		report_day_close(&a);
	res->code = CC_OK;
	res->reply = json_object();
	json_object_set_new(res->reply, "rows", a.rows);
	json_object_set_new(res->reply, "totals", report_row("total", a.total));
	return 0;
}
