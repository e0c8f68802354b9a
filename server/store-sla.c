/* store-sla.c: see store-sla.h.
 *
 * A ticket's clocks are three rows of ticket_sla_clocks, read into struct
 * sla_clock, changed by the pure functions of sla.h as sla_plan says, and
 * written back (only the rows that changed) in the caller's transaction.
 * The due columns on the ticket row copy the breach instants of running
 * clocks, so lists can sort on them. */
#include "store-sla.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uthash.h>

#include "log.h"
#include "store-ticket.h"
#include "store.h"
#include "ticket_state.h"

/* --- typed result rows --- */

#define COL_TEXT 260 /* a VARCHAR(64) in utf8mb4, with room to spare */

/* One output column: an integer or a short text; nul says NULL. */
struct col {
	long long i;
	char s[COL_TEXT];
	unsigned long len;
	my_bool nul;
	my_bool trunc;
};

/* Copy a text column into a smaller buffer, cut to fit. */
static void
text_copy(char *dst, size_t n, const char *src)
{
	size_t len = strnlen(src, n - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

typedef int (*row_fn)(const struct col *cols, void *arg);

/* Run sql with parameters p; types has one letter per column ('i' integer,
 * 's' text), and fn sees each row. 0, or -1 (err filled) on a database
 * error, a text too long, or fn failing. */
static int
query_rows(MYSQL *m, const char *sql, MYSQL_BIND *p, const char *types, row_fn fn, void *arg,
           char *err, size_t errlen)
{
	size_t n = strlen(types);
	struct col *cols = calloc(n, sizeof *cols);
	MYSQL_BIND *r = calloc(n, sizeof *r);
	MYSQL_STMT *st;
	int rc, out = 0;

	if (cols == NULL || r == NULL)
		abort();
	if ((st = store_stmt(m, sql, p, err, errlen)) == NULL) {
		free(cols);
		free(r);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (types[i] == 'i') {
			r[i].buffer_type = MYSQL_TYPE_LONGLONG;
			r[i].buffer = &cols[i].i;
		} else {
			r[i].buffer_type = MYSQL_TYPE_STRING;
			r[i].buffer = cols[i].s;
			r[i].buffer_length = sizeof cols[i].s;
		}
		r[i].length = &cols[i].len;
		r[i].is_null = &cols[i].nul;
		r[i].error = &cols[i].trunc;
	}
	if (mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		free(cols);
		free(r);
		return store_fail(m, st, err, errlen);
	}
	/* A row whose text filled its buffer, or whose number did not fit, is
	 * refused rather than read wrong. */
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		for (size_t i = 0; i < n && out == 0; i++) {
			if (types[i] == 's' && !cols[i].nul && cols[i].len >= sizeof cols[i].s) {
				snprintf(err, errlen, "a text in an SLA row is too long");
				out = -1;
			} else if (types[i] == 'i' && cols[i].trunc) {
				snprintf(err, errlen, "a number in an SLA row does not fit");
				out = -1;
			} else if (types[i] == 's') {
				cols[i].s[cols[i].nul ? 0 : cols[i].len] = '\0';
			}
		}
		if (out == 0 && fn(cols, arg) != 0) {
			snprintf(err, errlen, "unexpected value in an SLA row");
			out = -1;
		}
		if (out != 0)
			break;
	}
	if (out == 0 && rc != MYSQL_NO_DATA) {
		free(cols);
		free(r);
		return store_fail(m, st, err, errlen);
	}
	store_stmt_done(st);
	free(cols);
	free(r);
	return out;
}

/* A DATETIME(3) in ms since the epoch, as the query columns read them. */
#define MS(col) "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', " col ") DIV 1000"

/* --- calendars --- */

struct site_cal {
	unsigned int site_id;
	struct sla_calendar *cal; /* NULL: around the clock */
	UT_hash_handle hh;
};

struct sla_calendars {
	struct site_cal *map;
};

/* Read by workers, written on the loop before they may use it. */
static const struct sla_calendars *calendars_in_use;

void
store_sla_use_calendars(const struct sla_calendars *set)
{
	__atomic_store_n(&calendars_in_use, set, __ATOMIC_RELEASE);
}

/* The calendar of a site; NULL counts wall-clock time (around the clock). */
static const struct sla_calendar *
site_calendar(unsigned int site_id)
{
	const struct sla_calendars *set = __atomic_load_n(&calendars_in_use, __ATOMIC_ACQUIRE);
	struct site_cal *sc = NULL;

	if (set == NULL)
		return NULL;
	HASH_FIND(hh, set->map, &site_id, sizeof site_id, sc);
	return sc != NULL ? sc->cal : NULL;
}

struct site_row {
	unsigned int id;
	char tz[SLA_TZ_MAX + 1];
};

struct site_list {
	struct site_row *rows;
	size_t n;
};

static int
site_row(const struct col *c, void *arg)
{
	struct site_list *l = arg;

	l->rows[l->n].id = (unsigned int)c[0].i;
	text_copy(l->rows[l->n].tz, sizeof l->rows[l->n].tz, c[1].s);
	l->n++;
	return 0;
}

struct cal_load {
	struct sla_calendars *set;
	const struct site_list *sites;
};

/* The site's entry, its calendar made on first use. */
static struct site_cal *
cal_for(struct cal_load *x, unsigned int site_id)
{
	struct site_cal *sc;
	const char *tz = NULL;
	char why[256];

	HASH_FIND(hh, x->set->map, &site_id, sizeof site_id, sc);
	if (sc != NULL)
		return sc;
	for (size_t i = 0; i < x->sites->n; i++)
		if (x->sites->rows[i].id == site_id)
			tz = x->sites->rows[i].tz;
	if (tz == NULL)
		return NULL;
	if ((sc = calloc(1, sizeof *sc)) == NULL)
		abort();
	sc->site_id = site_id;
	if ((sc->cal = sla_calendar_new(tz, why, sizeof why)) == NULL)
		log_error("sla",
		          "msg=\"site calendar unusable; counting around the clock\" site_id=%u "
		          "error=\"%s\"",
		          site_id, why);
	HASH_ADD(hh, x->set->map, site_id, sizeof sc->site_id, sc);
	return sc;
}

static int
hours_row(const struct col *c, void *arg)
{
	struct cal_load *x = arg;
	struct site_cal *sc = cal_for(x, (unsigned int)c[0].i);

	if (sc == NULL || sc->cal == NULL)
		return 0;
	if (sla_calendar_add_hours(sc->cal, (enum sla_weekday)(c[1].i % 7), (int)c[2].i,
	                           (int)c[3].i) != 0)
		log_warn("sla",
		         "msg=\"calendar_hours row ignored (overlap or too many)\" site_id=%u "
		         "weekday=%lld start_min=%lld end_min=%lld",
		         sc->site_id, c[1].i, c[2].i, c[3].i);
	return 0;
}

static int
days_row(const struct col *c, void *arg)
{
	struct cal_load *x = arg;
	unsigned int site_id = (unsigned int)c[0].i;
	struct site_cal *sc;
	int rc;

	HASH_FIND(hh, x->set->map, &site_id, sizeof site_id, sc);
	if (sc == NULL || sc->cal == NULL) /* no hours: around the clock */
		return 0;
	if (strcmp(c[4].s, "closed") == 0)
		rc = sla_calendar_add_holiday(sc->cal, (int)c[1].i, (int)c[2].i, (int)c[3].i);
	else
		rc = sla_calendar_add_workday(sc->cal, (int)c[1].i, (int)c[2].i, (int)c[3].i,
		                              (enum sla_weekday)(c[5].i % 7));
	if (rc != 0)
		log_warn("sla",
		         "msg=\"calendar_days row ignored\" site_id=%u day=%04lld-%02lld-%02lld",
		         site_id, c[1].i, c[2].i, c[3].i);
	return 0;
}

struct sla_calendars *
sla_calendars_load(MYSQL *m, char *err, size_t errlen)
{
	struct sla_calendars *set = calloc(1, sizeof *set);
	struct site_list sites = {calloc(SLA_CALENDARS_MAX, sizeof *sites.rows), 0};
	struct cal_load x = {set, &sites};
	MYSQL_BIND p[1];
	unsigned int limit = SLA_CALENDARS_MAX;
	int rc;

	if (set == NULL || sites.rows == NULL)
		abort();
	bind_uint(&p[0], &limit);
	rc = query_rows(m, "SELECT id, time_zone FROM sites ORDER BY id LIMIT ?", p, "is", site_row,
	                &sites, err, errlen);
	if (rc == 0)
		rc = query_rows(m,
		                "SELECT site_id, weekday, TIME_TO_SEC(start_time) DIV 60, "
		                "TIME_TO_SEC(end_time) DIV 60 FROM calendar_hours "
		                "ORDER BY site_id, weekday, start_time",
		                NULL, "iiii", hours_row, &x, err, errlen);
	if (rc == 0)
		rc = query_rows(
		    m,
		    "SELECT site_id, YEAR(day), MONTH(day), DAYOFMONTH(day), kind, "
		    "IFNULL(hours_of_weekday, 0) FROM calendar_days ORDER BY site_id, day",
		    NULL, "iiiisi", days_row, &x, err, errlen);
	free(sites.rows);
	if (rc != 0) {
		sla_calendars_free(set);
		return NULL;
	}
	return set;
}

void
sla_calendars_free(struct sla_calendars *set)
{
	struct site_cal *sc, *tmp;

	if (set == NULL)
		return;
	HASH_ITER(hh, set->map, sc, tmp)
	{
		HASH_DEL(set->map, sc);
		sla_calendar_free(sc->cal);
		free(sc);
	}
	free(set);
}

size_t
sla_calendars_count(const struct sla_calendars *set)
{
	struct site_cal *sc, *tmp;
	size_t n = 0;

	if (set == NULL)
		return 0;
	HASH_ITER(hh, set->map, sc, tmp)
	{
		if (sc->cal != NULL)
			n++;
	}
	return n;
}

/* --- policies --- */

struct policy_set {
	struct sla_policy rows[SLA_POLICIES_MAX];
	unsigned int ids[SLA_POLICIES_MAX];
	char names[SLA_POLICIES_MAX][COL_TEXT];
	size_t n;
};

static enum sla_basis
basis_parse(const char *s)
{
	return strcmp(s, "wall") == 0 ? SLA_WALL : SLA_BUSINESS;
}

static const char *
basis_name(enum sla_basis b)
{
	return b == SLA_WALL ? "wall" : "business";
}

static int
policy_row(const struct col *c, void *arg)
{
	struct policy_set *ps = arg;
	struct sla_policy *p = &ps->rows[ps->n];

	memset(p, 0, sizeof *p);
	ps->ids[ps->n] = (unsigned int)c[0].i;
	snprintf(ps->names[ps->n], sizeof ps->names[ps->n], "%s", c[1].s);
	p->name = ps->names[ps->n];
	if (!c[2].nul && sla_kind_parse(c[2].s, &p->kind) != 0)
		return -1;
	p->severity = c[3].nul ? 0 : (int)c[3].i;
	p->priority_min = c[4].nul ? 0 : (int)c[4].i;
	p->priority_max = c[5].nul ? 0 : (int)c[5].i;
	if (!c[6].nul && sla_channel_parse(c[6].s, &p->channel) != 0)
		return -1;
	for (int i = 0; i < SLA_METRIC_COUNT; i++) {
		p->target[i].ms = c[7 + 2 * i].nul ? 0 : c[7 + 2 * i].i * 1000;
		p->target[i].basis = basis_parse(c[8 + 2 * i].s);
	}
	p->warn_pct = (int)c[13].i;
	ps->n++;
	return 0;
}

/* The policies as a db worker last read them, and the version of
 * sla_policies they were read at (POLICY_VERSION_SQL). Every SLA change
 * reads the current version with the ticket's clocks (ticket_sla_load), in
 * its own transaction, and the rows are read again whenever it differs: an
 * edit of the table applies to the next ticket change without a restart,
 * and an unchanged table costs no query. */
struct policy_cache {
	int valid;
	char version[COL_TEXT];
	struct policy_set set;
};

static _Thread_local struct policy_cache *policy_cache;

void
store_sla_cache_drop(void)
{
	free(policy_cache);
	policy_cache = NULL;
}

/* The policy for a ticket: from sla_policies when it has rows (*id the
 * row's id), else the built-in table (*id 0). NULL when none matches.
 * version is the table's version in the caller's transaction. The result
 * points into this thread's cache: valid until the next policy_pick. */
static int
policy_pick(MYSQL *m, const char *version, const char *kind, const char *channel, int severity,
            int priority, const struct sla_policy **out, unsigned int *id, char *err, size_t errlen)
{
	enum sla_kind k = SLA_KIND_ANY;
	enum sla_channel ch = SLA_CHANNEL_ANY;
	MYSQL_BIND p[1];
	unsigned int limit = SLA_POLICIES_MAX;
	const struct sla_policy *table;
	struct policy_set *ps;
	size_t n;

	*out = NULL;
	*id = 0;
	if (policy_cache == NULL && (policy_cache = calloc(1, sizeof *policy_cache)) == NULL)
		abort();
	ps = &policy_cache->set;
	if (!policy_cache->valid || strcmp(policy_cache->version, version) != 0) {
		policy_cache->valid = 0;
		ps->n = 0;
		bind_uint(&p[0], &limit);
		if (query_rows(m,
		               "SELECT id, name, kind, severity, priority_min, priority_max, "
		               "channel, first_response_seconds, first_response_basis, "
		               "next_response_seconds, next_response_basis, resolution_seconds, "
		               "resolution_basis, warn_percent "
		               "FROM sla_policies ORDER BY id LIMIT ?",
		               p, "issiiisisisisi", policy_row, ps, err, errlen) != 0)
			return -1;
		snprintf(policy_cache->version, sizeof policy_cache->version, "%s", version);
		policy_cache->valid = 1;
	}
	if (sla_kind_parse(kind, &k) != 0 || sla_channel_parse(channel, &ch) != 0) {
		snprintf(err, errlen, "ticket has kind %s, channel %s: unknown to the SLA table",
		         kind, channel);
		return -1;
	}
	if (ps->n > 0) {
		table = ps->rows;
		n = ps->n;
	} else {
		table = sla_policy_defaults(&n);
	}
	*out = sla_policy_match(table, n, k, severity, priority, ch);
	if (*out != NULL && ps->n > 0)
		*id = ps->ids[*out - ps->rows];
	return 0;
}

/* --- one ticket's clocks --- */

struct ticket_sla {
	int found;
	char policy_version[COL_TEXT]; /* POLICY_VERSION_SQL */
	char site_code[COL_TEXT];      /* the owning site's, when asked for */
	char kind[COL_TEXT], channel[COL_TEXT];
	int severity, priority, state, responded;
	unsigned int site_id;
	struct sla_clock clock[SLA_METRIC_COUNT];
	int exists[SLA_METRIC_COUNT];
	struct sla_clock loaded[SLA_METRIC_COUNT]; /* as read, to write only changes */
};

static int clock_row(const struct col *c, void *arg);

/* A row of ticket_sla_load's query: the ticket's facts, the policies'
 * version, the site code, then one clock (all NULL when the ticket has
 * none). */
static int
facts_row(const struct col *c, void *arg)
{
	struct ticket_sla *t = arg;

	t->found = 1;
	snprintf(t->kind, sizeof t->kind, "%s", c[0].s);
	snprintf(t->channel, sizeof t->channel, "%s", c[1].s);
	t->severity = (int)c[2].i;
	t->priority = (int)c[3].i;
	t->site_id = (unsigned int)c[4].i;
	t->state = ticket_state_parse(c[5].s);
	t->responded = (int)c[6].i;
	snprintf(t->policy_version, sizeof t->policy_version, "%s", c[7].s);
	text_copy(t->site_code, sizeof t->site_code, c[8].s);
	if (t->state < 0)
		return -1;
	return c[9].nul ? 0 : clock_row(c + 9, t);
}

static int
metric_parse(const char *s)
{
	for (int i = 0; i < SLA_METRIC_COUNT; i++)
		if (strcmp(s, sla_metric_name((enum sla_metric)i)) == 0)
			return i;
	return -1;
}

static int
clock_state_parse(const char *s)
{
	static const char *const names[] = {"idle", "running", "paused", "stopped"};

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static const char *
clock_state_name(enum sla_clock_state s)
{
	static const char *const names[] = {"idle", "running", "paused", "stopped"};

	return (unsigned)s < 4 ? names[s] : "idle";
}

static int
clock_row(const struct col *c, void *arg)
{
	struct ticket_sla *t = arg;
	int metric = metric_parse(c[0].s), state = clock_state_parse(c[1].s);
	struct sla_clock *k;

	if (metric < 0 || state < 0)
		return -1;
	k = &t->clock[metric];
	k->state = (enum sla_clock_state)state;
	k->basis = basis_parse(c[2].s);
	k->target_ms = c[3].i;
	k->warn_pct = (int)c[4].i;
	k->elapsed_ms = c[5].i;
	k->since_ms = c[6].nul ? 0 : c[6].i;
	k->started_ms = c[7].nul ? 0 : c[7].i;
	k->breach_ms = c[8].nul ? SLA_NEVER : c[8].i;
	k->notified = (unsigned)c[9].i & (SLA_EV_WARNING | SLA_EV_BREACH);
	t->exists[metric] = 1;
	return 0;
}

/* The columns of a ticket_sla_clocks row, as clock_row reads them. */
#define CLOCK_TYPES "sssiiiiiii"

/* The version of sla_policies: its row count, and an MD5 and a CRC32
 * over every column of every row, so that any insert, update or delete
 * changes it. The table is small (policy_pick reads at most
 * SLA_POLICIES_MAX rows) and the subquery is evaluated once a statement. */
#define POLICY_ROW_TEXT                                                                            \
	"CONCAT_WS('|', id, name, IFNULL(kind, '-'), IFNULL(severity, '-'), "                      \
	"IFNULL(priority_min, '-'), IFNULL(priority_max, '-'), IFNULL(channel, '-'), "             \
	"IFNULL(first_response_seconds, '-'), first_response_basis, "                              \
	"IFNULL(next_response_seconds, '-'), next_response_basis, "                                \
	"IFNULL(resolution_seconds, '-'), resolution_basis, warn_percent)"
#define POLICY_VERSION_SQL                                                                         \
	"(SELECT CONCAT_WS(':', COUNT(*), MD5(GROUP_CONCAT(" POLICY_ROW_TEXT                       \
	" ORDER BY id SEPARATOR '\\n')), BIT_XOR(CRC32(" POLICY_ROW_TEXT "))) FROM sla_policies)"

/* ticket_sla_load's query, with site the owning site's code column. */
#define CLOCK_SELECT                                                                               \
	"c.metric, c.state, c.basis, c.target_ms, c.warn_percent, c.elapsed_ms, " MS(              \
	    "c.since_at") ", " MS("c.started_at") ", " MS("c.breach_at") ", c.notified"
#define SLA_LOAD_SQL(site)                                                                         \
	"SELECT t.kind, t.channel, IFNULL(t.severity, 0), t.priority, t.owning_site_id, "          \
	"t.state, t.first_responded_at IS NOT NULL, " POLICY_VERSION_SQL ", " site                 \
	", " CLOCK_SELECT " FROM tickets t LEFT JOIN ticket_sla_clocks c ON c.ticket_id = t.id "   \
	"WHERE t.id = ?"

/* The ticket's facts, the policies' version and the ticket's clocks, and
 * the owning site's code when with_site (else ""), in one query: 0
 * (t->found says whether the ticket exists) or -1. */
static int
ticket_sla_load(MYSQL *m, uint64_t id, int with_site, struct ticket_sla *t, char *err,
                size_t errlen)
{
	MYSQL_BIND p[1];

	memset(t, 0, sizeof *t);
	bind_u64(&p[0], &id);
	if (query_rows(m,
	               with_site ? SLA_LOAD_SQL("(SELECT s.code FROM sites s WHERE s.id = "
	                                        "t.owning_site_id)")
	                         : SLA_LOAD_SQL("''"),
	               p, "ssiiisiss" CLOCK_TYPES, facts_row, t, err, errlen) != 0)
		return -1;
	memcpy(t->loaded, t->clock, sizeof t->loaded);
	return 0;
}

/* A time column value: the instant, or NULL. */
static void
bind_time(MYSQL_BIND *b, int64_t ms, int present, char buf[48], unsigned long *len, my_bool *nul)
{
	*nul = !present || ms == SLA_NEVER || ms < SLA_TIME_MIN || ms > SLA_TIME_MAX;
	if (!*nul)
		ticket_format_time(ms, buf);
	else
		buf[0] = '\0';
	bind_str(b, buf, len);
	b->is_null = nul;
}

/* The values of one clock row, bound for ticket_sla_save. */
#define CLOCK_PARAMS 11
struct clock_params {
	MYSQL_BIND b[CLOCK_PARAMS];
	unsigned long len[CLOCK_PARAMS];
	my_bool nul[CLOCK_PARAMS];
	char since[48], started[48], breach[48];
	uint64_t tid, target, elapsed;
	unsigned int warn, notified;
};

static void
clock_bind(struct clock_params *c, uint64_t id, int metric, const struct sla_clock *k)
{
	int idle = k->state == SLA_CLOCK_IDLE;

	c->tid = id;
	c->target = (uint64_t)k->target_ms;
	c->elapsed = (uint64_t)(k->elapsed_ms > 0 ? k->elapsed_ms : 0);
	c->warn = (unsigned int)(k->warn_pct >= 1 && k->warn_pct <= 99 ? k->warn_pct : 80);
	c->notified = k->notified;
	memset(c->b, 0, sizeof c->b);
	bind_u64(&c->b[0], &c->tid);
	bind_str(&c->b[1], sla_metric_name((enum sla_metric)metric), &c->len[1]);
	bind_str(&c->b[2], clock_state_name(k->state), &c->len[2]);
	bind_str(&c->b[3], basis_name(k->basis), &c->len[3]);
	bind_u64(&c->b[4], &c->target);
	bind_uint(&c->b[5], &c->warn);
	bind_u64(&c->b[6], &c->elapsed);
	bind_time(&c->b[7], k->since_ms, !idle, c->since, &c->len[7], &c->nul[7]);
	bind_time(&c->b[8], k->started_ms, !idle, c->started, &c->len[8], &c->nul[8]);
	bind_time(&c->b[9], k->breach_ms, !idle, c->breach, &c->len[9], &c->nul[9]);
	bind_uint(&c->b[10], &c->notified);
}

#define CLOCK_INSERT_HEAD                                                                          \
	"INSERT INTO ticket_sla_clocks (ticket_id, metric, state, basis, target_ms, "              \
	"warn_percent, elapsed_ms, since_at, started_at, breach_at, notified) VALUES "
#define CLOCK_INSERT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define CLOCK_INSERT_TAIL                                                                          \
	" ON DUPLICATE KEY UPDATE state = VALUES(state), basis = VALUES(basis), "                  \
	"target_ms = VALUES(target_ms), warn_percent = VALUES(warn_percent), "                     \
	"elapsed_ms = VALUES(elapsed_ms), since_at = VALUES(since_at), "                           \
	"started_at = VALUES(started_at), breach_at = VALUES(breach_at), "                         \
	"notified = VALUES(notified)"

/* Write the rows that are new or changed, in one statement (one text per
 * number of rows, so at most SLA_METRIC_COUNT statements to cache). */
static int
ticket_sla_save(MYSQL *m, uint64_t id, struct ticket_sla *t, char *err, size_t errlen)
{
	static const char *const sql[SLA_METRIC_COUNT] = {
	    CLOCK_INSERT_HEAD CLOCK_INSERT_ROW CLOCK_INSERT_TAIL,
	    CLOCK_INSERT_HEAD CLOCK_INSERT_ROW ", " CLOCK_INSERT_ROW CLOCK_INSERT_TAIL,
	    CLOCK_INSERT_HEAD CLOCK_INSERT_ROW ", " CLOCK_INSERT_ROW
	                                       ", " CLOCK_INSERT_ROW CLOCK_INSERT_TAIL,
	};
	_Static_assert(SLA_METRIC_COUNT == 3, "one INSERT text per number of clock rows");
	struct clock_params c[SLA_METRIC_COUNT];
	MYSQL_BIND b[SLA_METRIC_COUNT * CLOCK_PARAMS];
	int row[SLA_METRIC_COUNT], n = 0;

	for (int i = 0; i < SLA_METRIC_COUNT; i++) {
		if (t->exists[i] && memcmp(&t->clock[i], &t->loaded[i], sizeof t->clock[i]) == 0)
			continue;
		clock_bind(&c[n], id, i, &t->clock[i]);
		memcpy(&b[n * CLOCK_PARAMS], c[n].b, sizeof c[n].b);
		row[n++] = i;
	}
	if (n == 0)
		return 0;
	if (store_exec(m, sql[n - 1], b, err, errlen, NULL) != 0)
		return -1;
	for (int j = 0; j < n; j++) {
		t->exists[row[j]] = 1;
		t->loaded[row[j]] = t->clock[row[j]];
	}
	return 0;
}

/* The breach instant of a running clock, SLA_NEVER otherwise. */
static int64_t
clock_due(const struct sla_clock *k, const struct sla_calendar *cal, int64_t now)
{
	struct sla_status st;

	if (k->state != SLA_CLOCK_RUNNING)
		return SLA_NEVER;
	sla_clock_status(k, cal, now, &st);
	return st.due_ms;
}

/* The earliest wake-up over the ticket's clocks. */
static int64_t
ticket_sla_wake(const struct ticket_sla *t, const struct sla_calendar *cal, int64_t now)
{
	int64_t wake = SLA_NEVER;

	for (int i = 0; i < SLA_METRIC_COUNT; i++) {
		int64_t w = sla_clock_wake(&t->clock[i], cal, now);
		if (w < wake)
			wake = w;
	}
	return wake;
}

/* Copy the due instants to the ticket row; policy (when set_policy), the
 * first response time (when responded) and the chain head (when head is
 * not NULL) too. */
static int
ticket_due_update(MYSQL *m, uint64_t id, const struct ticket_sla *t, const struct sla_calendar *cal,
                  int set_policy, unsigned int policy_id, int responded,
                  const struct sla_head *head, int64_t now, char *err, size_t errlen)
{
	MYSQL_BIND b[9];
	unsigned long len[9];
	my_bool nul[9];
	char due[SLA_METRIC_COUNT][48], when[48];
	uint64_t tid = id;
	unsigned int pid = policy_id, seq = head ? head->seq : 0;
	int sp = set_policy;

	memset(b, 0, sizeof b);
	for (int i = 0; i < SLA_METRIC_COUNT; i++)
		bind_time(&b[i], clock_due(&t->clock[i], cal, now), 1, due[i], &len[i], &nul[i]);
	bind_int(&b[3], &sp);
	bind_uint(&b[4], &pid);
	nul[4] = pid == 0;
	b[4].is_null = &nul[4];
	bind_time(&b[5], now, responded, when, &len[5], &nul[5]);
	if (head == NULL) {
		bind_u64(&b[6], &tid);
		return store_exec(
		    m,
		    "UPDATE tickets SET first_response_due = ?, next_response_due = ?, "
		    "resolution_due = ?, sla_policy_id = IF(? = 1, ?, sla_policy_id), "
		    "first_responded_at = IFNULL(first_responded_at, ?) WHERE id = ?",
		    b, err, errlen, NULL);
	}
	bind_uint(&b[6], &seq);
	bind_blob(&b[7], head->hash, &len[7], AUDIT_HASH_LEN);
	bind_u64(&b[8], &tid);
	return store_exec(m,
	                  "UPDATE tickets SET first_response_due = ?, next_response_due = ?, "
	                  "resolution_due = ?, sla_policy_id = IF(? = 1, ?, sla_policy_id), "
	                  "first_responded_at = IFNULL(first_responded_at, ?), "
	                  "last_event_seq = ?, last_event_hash = ? WHERE id = ?",
	                  b, err, errlen, NULL);
}

/* Carry out one planned operation on clock i. */
static void
clock_apply(struct sla_clock *k, enum sla_op op, const struct sla_policy *pol, int metric,
            const struct sla_calendar *cal, int64_t now)
{
	const struct sla_target *tg = pol != NULL ? &pol->target[metric] : NULL;
	int warn = pol != NULL ? pol->warn_pct : 0;

	switch (op) {
	case SLA_OP_KEEP:
		break;
	case SLA_OP_START:
		if (tg != NULL && tg->ms > 0)
			sla_clock_start(k, tg, warn, now);
		else
			sla_clock_stop(k, cal, now); /* a new cycle without a target */
		break;
	case SLA_OP_PAUSE:
		sla_clock_pause(k, cal, now);
		break;
	case SLA_OP_RESUME:
		sla_clock_resume(k, now);
		break;
	case SLA_OP_STOP:
		sla_clock_stop(k, cal, now);
		break;
	case SLA_OP_CONTINUE:
	case SLA_OP_CONTINUE_PAUSED:
		sla_clock_continue(k, op == SLA_OP_CONTINUE_PAUSED, now);
		break;
	case SLA_OP_RETARGET:
		if (tg == NULL || tg->ms <= 0 || sla_clock_retarget(k, cal, tg, warn, now) != 0)
			sla_clock_stop(k, cal, now); /* no target any more */
		break;
	case SLA_OP_MET:
		if (tg != NULL && tg->ms > 0)
			sla_clock_start(k, tg, warn, now);
		sla_clock_stop(k, cal, now); /* met with nothing counted */
		break;
	}
	/* a row that never ran still records the policy's terms */
	if (k->state == SLA_CLOCK_IDLE && tg != NULL) {
		k->target_ms = tg->ms;
		k->basis = tg->basis;
		k->warn_pct = warn;
	}
}

int
store_sla_apply(MYSQL *m, const struct sla_change *c, const struct sla_head *head, int64_t now_ms,
                int64_t *wake_ms, char *err, size_t errlen)
{
	struct ticket_sla *t = malloc(sizeof *t);
	const struct sla_policy *pol = NULL;
	const struct sla_calendar *cal;
	enum sla_clock_state st[SLA_METRIC_COUNT];
	enum sla_op op[SLA_METRIC_COUNT];
	unsigned int policy_id = 0;
	int need_policy, changed = 0, set_policy, responded, rc = -1;

	*wake_ms = SLA_NEVER;
	if (t == NULL)
		abort();
	if (ticket_sla_load(m, c->ticket_id, 0, t, err, errlen) != 0)
		goto out;
	if (!t->found) {
		if (head != NULL)
			snprintf(err, errlen, "ticket %" PRIu64 " not found for its chain head",
			         c->ticket_id);
		rc = head != NULL ? -1 : 0;
		goto out;
	}
	cal = site_calendar(t->site_id);
	for (int i = 0; i < SLA_METRIC_COUNT; i++)
		st[i] = t->clock[i].state;
	sla_plan(c, st, t->responded, op);
	need_policy = c->what == SLA_HOOK_CREATED || c->what == SLA_HOOK_UPDATED;
	for (int i = 0; i < SLA_METRIC_COUNT; i++)
		if (op[i] == SLA_OP_START || op[i] == SLA_OP_RETARGET)
			need_policy = 1;
	if (need_policy && policy_pick(m, t->policy_version, t->kind, t->channel, t->severity,
	                               t->priority, &pol, &policy_id, err, errlen) != 0)
		goto out;
	for (int i = 0; i < SLA_METRIC_COUNT; i++) {
		clock_apply(&t->clock[i], op[i], pol, i, cal, now_ms);
		if (!t->exists[i] || memcmp(&t->clock[i], &t->loaded[i], sizeof t->clock[i]) != 0)
			changed = 1;
	}
	set_policy = c->what == SLA_HOOK_CREATED || c->what == SLA_HOOK_UPDATED;
	responded = c->what == SLA_HOOK_RESPONDED || (c->flags & SLA_ANSWERED) != 0;
	/* the due instants on the ticket row follow from the clocks: with no
	 * clock changed, no policy to set and no response to stamp they stand */
	if (ticket_sla_save(m, c->ticket_id, t, err, errlen) != 0 ||
	    ((changed || set_policy || responded || head != NULL) &&
	     ticket_due_update(m, c->ticket_id, t, cal, set_policy, policy_id, responded, head,
	                       now_ms, err, errlen) != 0))
		goto out;
	*wake_ms = ticket_sla_wake(t, cal, now_ms);
	rc = 0;
out:
	free(t);
	return rc;
}

int
store_sla_version(MYSQL *m, char *out, size_t outlen, char *err, size_t errlen)
{
	json_t *row;
	int rc = ticket_query_one(m, "SELECT " POLICY_VERSION_SQL " AS v", NULL, &row, err, errlen);

	if (rc != 1) {
		if (rc == 0)
			snprintf(err, errlen, "no version of sla_policies");
		return -1;
	}
	snprintf(out, outlen, "%s", row_str(row, "v") ? row_str(row, "v") : "");
	json_decref(row);
	return 0;
}

int
store_sla_plan_new(MYSQL *m, const char *version, const struct sla_new *in,
                   struct sla_new_plan *out, char *err, size_t errlen)
{
	struct sla_change c = {
	    .what = SLA_HOOK_CREATED, .flags = in->flags, .old_state = -1, .new_state = in->state};
	enum sla_clock_state st[SLA_METRIC_COUNT];
	enum sla_op op[SLA_METRIC_COUNT];
	const struct sla_policy *pol = NULL;
	const struct sla_calendar *cal = site_calendar(in->site_id);

	memset(out, 0, sizeof *out);
	for (int i = 0; i < SLA_METRIC_COUNT; i++)
		st[i] = SLA_CLOCK_IDLE;
	sla_plan(&c, st, false, op);
	if (policy_pick(m, version, in->kind, in->channel, in->severity, in->priority, &pol,
	                &out->policy_id, err, errlen) != 0)
		return -1;
	for (int i = 0; i < SLA_METRIC_COUNT; i++) {
		clock_apply(&out->clock[i], op[i], pol, i, cal, in->now_ms);
		out->due_ms[i] = clock_due(&out->clock[i], cal, in->now_ms);
	}
	out->responded = (in->flags & SLA_ANSWERED) != 0;
	out->wake_ms = SLA_NEVER;
	for (int i = 0; i < SLA_METRIC_COUNT; i++) {
		int64_t w = sla_clock_wake(&out->clock[i], cal, in->now_ms);
		if (w < out->wake_ms)
			out->wake_ms = w;
	}
	return 0;
}

int
store_sla_insert_new(MYSQL *m, const uint64_t *ids, const struct sla_new_plan *plans, size_t n,
                     char *err, size_t errlen)
{
	size_t rows = n * SLA_METRIC_COUNT;
	struct clock_params *c = calloc(rows, sizeof *c);
	MYSQL_BIND *b = calloc(rows * CLOCK_PARAMS, sizeof *b);
	int rc;

	if (c == NULL || b == NULL)
		abort();
	for (size_t t = 0; t < n; t++)
		for (int i = 0; i < SLA_METRIC_COUNT; i++) {
			size_t r = t * SLA_METRIC_COUNT + (size_t)i;

			clock_bind(&c[r], ids[t], i, &plans[t].clock[i]);
			memcpy(&b[r * CLOCK_PARAMS], c[r].b, sizeof c[r].b);
		}
	rc = store_exec_rows(m, CLOCK_INSERT_HEAD, CLOCK_INSERT_ROW, ", ", "", CLOCK_PARAMS, rows,
	                     b, NULL, err, errlen);
	free(b);
	free(c);
	return rc;
}

/* A time for JSON: ms, or null. */
static json_t *
time_json(int64_t ms)
{
	return ms == SLA_NEVER ? json_null() : json_integer((json_int_t)ms);
}

int
store_sla_json(MYSQL *m, uint64_t ticket_id, int64_t now_ms, json_t **out, char *err, size_t errlen)
{
	struct ticket_sla *t = malloc(sizeof *t);
	const struct sla_calendar *cal;

	*out = NULL;
	if (t == NULL)
		abort();
	if (ticket_sla_load(m, ticket_id, 0, t, err, errlen) != 0) {
		free(t);
		return -1;
	}
	*out = json_array();
	cal = site_calendar(t->site_id);
	for (int i = 0; i < SLA_METRIC_COUNT && t->found; i++) {
		const struct sla_clock *k = &t->clock[i];
		struct sla_status s;

		if (!t->exists[i])
			continue;
		sla_clock_status(k, cal, now_ms, &s);
		json_array_append_new(
		    *out,
		    json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o}", "metric",
		              sla_metric_name((enum sla_metric)i), "state",
		              clock_state_name(k->state), "level", sla_level_name(s.level), "basis",
		              basis_name(k->basis), "target_ms", (json_int_t)k->target_ms,
		              "elapsed_ms", (json_int_t)s.elapsed_ms, "remaining_ms",
		              (json_int_t)s.remaining_ms, "overdue_ms", (json_int_t)s.overdue_ms,
		              "due_at", time_json(s.due_ms)));
	}
	free(t);
	return 0;
}

int
store_sla_show(MYSQL *m, uint64_t ticket_id, json_t *reply, char *err, size_t errlen)
{
	struct timespec ts;
	json_t *sla;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (store_sla_json(m, ticket_id, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &sla,
	                   err, errlen) != 0)
		return -1;
	json_object_set_new(reply, "sla", sla);
	return 0;
}

/* --- timers --- */

struct fire_arg {
	uint64_t ticket_id;
	int64_t now_ms;
	struct sla_fired *out;
};

/* Move the chain head to ch after the timer's events, and when escalate
 * raise priority and escalation level by one (bounded, as the breach
 * event's detail says) with version + 1: one UPDATE. 0 or -1. */
static int
fire_update(MYSQL *m, uint64_t id, const struct ticket_chain *ch, int escalate, char *err,
            size_t errlen)
{
	MYSQL_BIND p[6];
	unsigned long len;
	unsigned int seq = ch->seq;
	uint64_t tid = id;
	int e = escalate ? 1 : 0;

	bind_int(&p[0], &e);
	bind_int(&p[1], &e);
	bind_int(&p[2], &e);
	bind_uint(&p[3], &seq);
	bind_blob(&p[4], ch->hash, &len, AUDIT_HASH_LEN);
	bind_u64(&p[5], &tid);
	return store_exec(
	    m,
	    "UPDATE tickets SET priority = IF(? = 1, LEAST(priority + 1, 9), priority), "
	    "escalation_level = IF(? = 1, LEAST(escalation_level + 1, 255), "
	    "escalation_level), version = version + ?, "
	    "last_event_seq = ?, last_event_hash = ? WHERE id = ?",
	    p, err, errlen, NULL);
}

static int
fire_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct fire_arg *x = arg;
	struct sla_fired *f = x->out;
	struct ticket_key key = {.id = x->ticket_id};
	struct ticket_actor sys = {0};
	struct ticket_chain ch;
	struct ticket_sla *t;
	const struct sla_calendar *cal;
	json_t *row;
	json_int_t priority, level;
	uint32_t head;
	int rc, open, escalated = 0;

	(void)res;
	json_decref(f->ticket); /* from a run that deadlocked */
	memset(f, 0, sizeof *f);
	f->wake_ms = SLA_NEVER;
	if ((rc = ticket_lock(m, NULL, &key, &row, err, errlen)) <= 0)
		return rc;
	f->found = 1;
	snprintf(f->ref, sizeof f->ref, "%s", json_string_value(json_object_get(row, "ref")));
	f->owner_agent_id = (unsigned int)row_uint(row, "owner_agent_id");
	open = ticket_state_open((enum ticket_state)ticket_state_parse(
	    json_string_value(json_object_get(row, "state"))));
	/* an escalation's values, as fire_update writes them */
	priority = (json_int_t)row_uint(row, "priority");
	level = (json_int_t)row_uint(row, "escalation_level");
	priority = priority + 1 < 9 ? priority + 1 : 9;
	level = level + 1 < 255 ? level + 1 : 255;
	rc = ticket_row_chain(row, &ch, err, errlen);
	json_decref(row);
	if (rc != 0)
		return -1;
	head = ch.seq;
	if ((t = malloc(sizeof *t)) == NULL)
		abort();
	if (ticket_sla_load(m, x->ticket_id, 1, t, err, errlen) != 0)
		goto fail;
	text_copy(f->site, sizeof f->site, t->site_code);
	cal = site_calendar(t->site_id);
	for (int i = 0; i < SLA_METRIC_COUNT; i++) {
		struct sla_clock *k = &t->clock[i];
		unsigned crossed;
		struct sla_status s;

		if (k->state == SLA_CLOCK_IDLE)
			continue;
		crossed = sla_clock_advance(k, cal, x->now_ms, NULL);
		sla_clock_status(k, cal, x->now_ms, &s);
		for (unsigned ev = SLA_EV_WARNING; ev <= SLA_EV_BREACH; ev <<= 1) {
			json_t *detail;

			if (!(crossed & ev))
				continue;
			detail = json_pack("{s:s,s:o,s:s}", "metric",
			                   sla_metric_name((enum sla_metric)i), "due_at",
			                   time_json(s.due_ms), "basis", basis_name(k->basis));
			if (ev == SLA_EV_BREACH)
				json_object_set_new(detail, "overdue_ms",
				                    json_integer((json_int_t)s.overdue_ms));
			else
				json_object_set_new(detail, "remaining_ms",
				                    json_integer((json_int_t)s.remaining_ms));
			/* one escalation per timer, however many clocks breached */
			if (ev == SLA_EV_BREACH && open && !escalated) {
				json_object_set_new(detail, "priority", json_integer(priority));
				json_object_set_new(detail, "escalation_level",
				                    json_integer(level));
				escalated = 1;
			}
			rc = ticket_event_insert(m, x->ticket_id, &ch, &sys,
			                         ev == SLA_EV_BREACH ? "sla.breach" : "sla.warning",
			                         NULL, sla_metric_name((enum sla_metric)i), detail,
			                         x->now_ms, err, errlen);
			json_decref(detail);
			if (rc != 0)
				goto fail;
			if (f->nevents < SLA_FIRE_EVENTS)
				f->events[f->nevents++] = (struct sla_fired_event){
				    .kind = ev, .metric = (enum sla_metric)i, .due_ms = s.due_ms};
		}
	}
	f->escalated = escalated;
	/* the events' head and the escalation in one UPDATE of the row */
	if ((ch.seq != head || escalated) &&
	    fire_update(m, x->ticket_id, &ch, escalated, err, errlen) != 0)
		goto fail;
	if (ticket_sla_save(m, x->ticket_id, t, err, errlen) != 0)
		goto fail;
	/* an escalated ticket moves up in the router's line */
	if (escalated && store_ticket_get(m, x->ticket_id, &f->ticket, err, errlen) != 1)
		goto fail;
	f->wake_ms = ticket_sla_wake(t, cal, x->now_ms);
	free(t);
	return 0;
fail:
	free(t);
	return -1;
}

int
store_sla_fire(MYSQL *m, uint64_t ticket_id, int64_t now_ms, struct sla_fired *out, char *err,
               size_t errlen)
{
	struct fire_arg x = {ticket_id, now_ms, out};
	struct ticket_result res = {0};
	int rc = ticket_tx_run(m, fire_tx, &x, &res, err, errlen);

	json_decref(res.reply);
	return rc;
}

/* --- start-up --- */

/* The clocks that may still need a timer, a batch of tickets at a time. */
#define WAKE_QUERY                                                                                 \
	"SELECT c.ticket_id, t.owning_site_id, c.metric, c.state, c.basis, c.target_ms, "          \
	"c.warn_percent, c.elapsed_ms, " MS("c.since_at") ", " MS("c.started_at") ", " MS(         \
	    "c.breach_at") ", c.notified FROM ticket_sla_clocks c JOIN tickets t ON "              \
	                   "t.id = c.ticket_id WHERE c.ticket_id > ? AND (c.state IN ('running', " \
	                   "'paused') "                                                            \
	                   "OR (c.state = 'stopped' AND c.breach_at IS NOT NULL AND c.notified < " \
	                   "2)) "                                                                  \
	                   "ORDER BY c.ticket_id, c.metric LIMIT ?"

struct wake_scan {
	int64_t now;
	void (*fn)(uint64_t id, int64_t wake, void *arg);
	void *arg;
	uint64_t cur;          /* the ticket whose rows are being gathered */
	unsigned int cur_site; /* its owning site */
	struct sla_clock clk[SLA_METRIC_COUNT];
	uint64_t done; /* the last ticket handed to fn */
	size_t rows;
};

/* Hand the gathered ticket to fn. */
static void
scan_flush(struct wake_scan *w)
{
	const struct sla_calendar *cal;
	int64_t wake = SLA_NEVER;

	if (w->cur == 0)
		return;
	cal = site_calendar(w->cur_site);
	for (int i = 0; i < SLA_METRIC_COUNT; i++) {
		int64_t x = sla_clock_wake(&w->clk[i], cal, w->now);
		if (x < wake)
			wake = x;
	}
	if (wake != SLA_NEVER)
		w->fn(w->cur, wake, w->arg);
	w->done = w->cur;
	w->cur = 0;
}

static int
scan_row(const struct col *c, void *arg)
{
	struct wake_scan *w = arg;
	struct ticket_sla one;
	uint64_t id = (uint64_t)c[0].i;
	int metric;

	if (id != w->cur) {
		scan_flush(w);
		w->cur = id;
		w->cur_site = (unsigned int)c[1].i;
		memset(w->clk, 0, sizeof w->clk);
	}
	memset(&one, 0, sizeof one);
	if (clock_row(c + 2, &one) != 0 || (metric = metric_parse(c[2].s)) < 0)
		return -1;
	w->clk[metric] = one.clock[metric];
	w->rows++;
	return 0;
}

int
store_sla_wakes(MYSQL *m, int64_t now_ms, void (*fn)(uint64_t id, int64_t wake, void *arg),
                void *arg, char *err, size_t errlen)
{
	struct wake_scan w = {.now = now_ms, .fn = fn, .arg = arg};
	unsigned int limit = SLA_LOAD_BATCH * SLA_METRIC_COUNT;

	for (;;) {
		MYSQL_BIND p[2];
		uint64_t after = w.done;

		w.rows = 0;
		w.cur = 0;
		bind_u64(&p[0], &after);
		bind_uint(&p[1], &limit);
		if (query_rows(m, WAKE_QUERY, p, "ii" CLOCK_TYPES, scan_row, &w, err, errlen) != 0)
			return -1;
		if (w.rows < limit) {
			scan_flush(&w); /* the last ticket is whole */
			return 0;
		}
		/* a full batch: its last ticket may continue in the next one */
		w.cur = 0;
	}
}
