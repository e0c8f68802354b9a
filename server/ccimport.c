/* ccimport.c: load customers or orders from a CSV file into callcentred's
 * database, with a progress bar, a per-line error report and --dry-run.
 *
 * Rows are read and validated by import.c, then applied in batches: one
 * transaction per batch (--batch rows), and a savepoint around the writes
 * of each row, so that a row refused half-way (a database error after its
 * customer was inserted, say) leaves nothing behind while the rest of its
 * batch still commits. A batch that hits a deadlock is rolled back and run
 * again from its first row; a lost connection ends the run with status 3
 * and every earlier batch committed. Each row is an upsert keyed by a
 * stable key (a customer's member_id, an order's order_id), so running the
 * same file again changes nothing and a run cut short can simply be
 * repeated.
 *
 * --dry-run runs the very same statements and rolls each batch back instead
 * of committing it, so that what only the database can refuse (a constraint,
 * a trigger) is reported too. Keys used earlier in the file are remembered
 * in memory (import_keys) in both modes, so later batches are judged as if
 * the earlier ones had been committed: the report is the one a real run
 * would print. The cost: row locks for the length of a batch, and
 * AUTO_INCREMENT values used up by the rolled-back inserts. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "config.h"
#include "db.h"
#include "import.h"
#include "store.h"

#define DEFAULT_CONFIG "/etc/callcentre/callcentred.conf"
#define MAX_OVERRIDES  64
#define BATCH_DEF      500
#define BATCH_MAX      5000
#define BATCH_TRIES    4                             /* runs of a batch that meets deadlocks */
#define SITES_CACHED   256                           /* site codes remembered */
#define PROGRESS_MS    200                           /* between redraws of the progress bar */
#define ROW_CONTACTS   (1 + 2 * IMPORT_CONTACTS_MAX) /* member id, phones, e-mails */

enum exit_status { EXIT_ALL_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_DB = 3 };

struct opts {
	const char *config;
	const char *overrides[MAX_OVERRIDES];
	int noverrides;
	enum import_kind kind;
	const char *path;
	const char *errors;
	const char *country;
	int batch;
	int dry_run;
	int skip_unknown;
	int quiet;
	int zone_set;
	int zone_minutes;
};

enum outcome { OUT_INSERTED, OUT_UPDATED, OUT_UNCHANGED, OUT_REFUSED };

/* One row of the batch in progress. */
struct row {
	unsigned long line;
	enum outcome out;
	size_t nvalid, nvalid_dropped; /* problems found by validation (kept across reruns) */
	struct import_errors errs;
	union {
		struct customer_row c;
		struct order_row o;
	} v;
};

struct counts {
	unsigned long rows, inserted, updated, unchanged, refused;
};

struct progress {
	int on;
	unsigned long long total; /* file size; 0 when unknown (a pipe) */
	struct timespec start, last;
	int shown;
};

enum stmt_id {
	ST_SITE,
	ST_CUSTOMER_GET,
	ST_CUSTOMER_INSERT,
	ST_CUSTOMER_UPDATE,
	ST_ORDER_GET,
	ST_ORDER_INSERT,
	ST_ORDER_UPDATE,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_SITE] = "SELECT id FROM sites WHERE code = ?",
    [ST_CUSTOMER_GET] = "SELECT name, site_id, region, language, value_tier FROM customers "
                        "WHERE id = ?",
    [ST_CUSTOMER_INSERT] = "INSERT INTO customers (name, site_id, region, language, value_tier) "
                           "VALUES (?, ?, ?, COALESCE(?, DEFAULT(language)), "
                           "COALESCE(?, DEFAULT(value_tier)))",
    [ST_CUSTOMER_UPDATE] = "UPDATE customers SET name = ?, site_id = ?, region = ?, "
                           "language = ?, value_tier = ? WHERE id = ?",
    [ST_ORDER_GET] = "SELECT id, customer_id, amount_minor, refunded_minor, currency, status, "
                     "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ordered_at) DIV 1000 "
                     "FROM orders WHERE external_id = ?",
    [ST_ORDER_INSERT] = "INSERT INTO orders (external_id, customer_id, amount_minor, "
                        "refunded_minor, currency, status, ordered_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    [ST_ORDER_UPDATE] = "UPDATE orders SET amount_minor = ?, refunded_minor = ?, currency = ?, "
                        "status = ?, ordered_at = ? WHERE id = ?",
};

struct site_entry {
	char code[IMPORT_SITE_MAX * 4 + 1];
	unsigned int id; /* 0: no such site */
};

struct importer {
	const struct opts *o;
	struct import_opts io;
	struct import_header h;
	struct import_keys *keys;
	MYSQL *m;
	MYSQL_STMT *st[ST_COUNT];
	/* by number of contacts: who owns them, and a multi-row insert */
	MYSQL_STMT *owners_st[ROW_CONTACTS + 1];
	MYSQL_STMT *contacts_st[ROW_CONTACTS + 1];
	unsigned int db_errno;
	char db_err[256];
	unsigned long long insert_id;

	struct site_entry sites[SITES_CACHED];
	size_t nsites;

	struct row *batch;
	size_t nbatch;
	unsigned long last_line; /* of the last record read */
	struct counts done;

	FILE *report;
	struct progress prog;
	struct csv_reader *csv;
};

static const char *const kind_names[] = {
    [IMPORT_CUSTOMERS] = "customers", [IMPORT_ORDERS] = "orders"};

/* Print usage to f. */
static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: ccimport [-f FILE] [-o section.key=value ...] [-n] [-e FILE] [-b ROWS]\n"
	        "                [--country CODE] [--zone OFFSET] [--skip-unknown] [-q]\n"
	        "                customers|orders FILE.csv\n"
	        "  -f, --config FILE    callcentred's config file (default " DEFAULT_CONFIG ")\n"
	        "  -o, --set S.K=V      override one config key (repeatable)\n"
	        "  -n, --dry-run        run every row, then roll back: report, write nothing\n"
	        "  -e, --errors FILE    write the per-line error report to FILE, not stderr\n"
	        "  -b, --batch ROWS     rows per transaction (1-%d, default %d)\n"
	        "      --country CODE   country code of national phone numbers (default 86)\n"
	        "      --zone OFFSET    zone of order times written without one (Z, +08:00)\n"
	        "      --skip-unknown   ignore columns ccimport does not know\n"
	        "  -q, --quiet          no progress bar\n"
	        "  -V, --version        print the version\n"
	        "FILE - reads standard input. Exit status: 0 every row imported, 1 some rows\n"
	        "refused, 2 usage or file error, 3 database unavailable.\n",
	        BATCH_MAX, BATCH_DEF);
}

/* ---- time ---- */

static double
elapsed(const struct timespec *since, const struct timespec *now)
{
	return (double)(now->tv_sec - since->tv_sec) +
	       (double)(now->tv_nsec - since->tv_nsec) / 1e9;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- progress bar (stderr, only on a terminal) ---- */

/* "1:02:03" or "2:03" for seconds. */
static void
format_duration(double s, char *out, size_t len)
{
	unsigned long t = s > 0 && s < 1e7 ? (unsigned long)(s + 0.5) : 0;

	if (t >= 3600)
		snprintf(out, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(out, len, "%lu:%02lu", t / 60, t % 60);
}

/* Terminal columns of stderr (80 when unknown). */
static int
term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* Redraw the bar when PROGRESS_MS have passed (or always with force). */
static void
progress_draw(struct progress *p, unsigned long long bytes, unsigned long rows, int force)
{
	struct timespec now;
	char tail[128], eta[32];
	double t, rate;
	int width, bar;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && p->shown && elapsed(&p->last, &now) * 1000 < PROGRESS_MS)
		return;
	p->last = now;
	t = elapsed(&p->start, &now);
	rate = t > 0 ? rows / t : 0;
	width = term_width();
	if (p->total == 0) {
		fprintf(stderr, "\r%lu rows  %.0f rows/s  %.1f MB read\033[K", rows, rate,
		        bytes / 1e6);
		p->shown = 1;
		return;
	}
	if (bytes > 0 && bytes < p->total)
		format_duration(t * (double)(p->total - bytes) / (double)bytes, eta, sizeof eta);
	else
		snprintf(eta, sizeof eta, "0:00");
	snprintf(tail, sizeof tail, " %3d%%  %lu rows  %.0f rows/s  ETA %s",
	         (int)(bytes * 100 / p->total), rows, rate, eta);
	bar = width - 3 - (int)strlen(tail);
	if (bar > 50)
		bar = 50;
	fputc('\r', stderr);
	if (bar >= 10) {
		int full = (int)((double)bar * (double)bytes / (double)p->total);
		fputc('[', stderr);
		for (int i = 0; i < bar; i++)
			fputc(i < full ? '#' : '.', stderr);
		fputc(']', stderr);
	}
	fprintf(stderr, "%s\033[K", tail);
	p->shown = 1;
}

/* Erase the bar so that a report line can be printed. */
static void
progress_clear(struct progress *p)
{
	if (p->on && p->shown) {
		fputs("\r\033[K", stderr);
		p->shown = 0;
	}
}

/* ---- the report ---- */

/* Print one line of the report (clearing the bar first when they share
 * the terminal). */
static void
report_line(struct importer *imp, const char *line)
{
	if (imp->report == stderr)
		progress_clear(&imp->prog);
	fprintf(imp->report, "%s\n", line);
}

/* Report a row's problems and count its outcome. */
static void
report_row(struct importer *imp, const struct row *r)
{
	char line[IMPORT_MSG_MAX + 64];

	imp->done.rows++;
	switch (r->out) {
	case OUT_INSERTED:
		imp->done.inserted++;
		return;
	case OUT_UPDATED:
		imp->done.updated++;
		return;
	case OUT_UNCHANGED:
		imp->done.unchanged++;
		return;
	case OUT_REFUSED:
		imp->done.refused++;
		break;
	}
	for (size_t i = 0; i < r->errs.n; i++) {
		import_error_format(&r->errs.e[i], r->line, line, sizeof line);
		report_line(imp, line);
	}
	if (r->errs.dropped) {
		snprintf(line, sizeof line, "line %lu: %zu more problems not shown", r->line,
		         r->errs.dropped);
		report_line(imp, line);
	}
}

/* ---- statements ---- */

/* A connection or server failure that ends the batch, not just the row:
 * client errors (2000-2999: connection lost, timeouts), a killed or
 * interrupted query, a shutting-down server, deadlocks and lock waits. */
static int
db_fatal(unsigned int e)
{
	return (e >= 2000 && e < 3000) || e == 1927 || e == 1053 || e == 1317 || store_retryable(e);
}

/* Remember a statement's (or the connection's) error; -1. */
static int
db_fail(struct importer *imp, MYSQL_STMT *st)
{
	imp->db_errno = st ? mysql_stmt_errno(st) : mysql_errno(imp->m);
	snprintf(imp->db_err, sizeof imp->db_err, "%s",
	         st ? mysql_stmt_error(st) : mysql_error(imp->m));
	if (st)
		mysql_stmt_free_result(st);
	return -1;
}

/* Run statement id. With res, fetch the first row into it: 1 found, 0
 * none. Without, a write: 0, with insert_id set. -1 on error. */
static int
db_run(struct importer *imp, enum stmt_id id, MYSQL_BIND *params, MYSQL_BIND *res)
{
	MYSQL_STMT *st = imp->st[id];
	int rc;

	if (mysql_stmt_bind_param(st, params) != 0 || mysql_stmt_execute(st) != 0)
		return db_fail(imp, st);
	if (res == NULL) {
		imp->insert_id = mysql_stmt_insert_id(st);
		return 0;
	}
	if (mysql_stmt_bind_result(st, res) != 0 || mysql_stmt_store_result(st) != 0)
		return db_fail(imp, st);
	rc = mysql_stmt_fetch(st);
	mysql_stmt_free_result(st);
	if (rc == MYSQL_NO_DATA)
		return 0;
	if (rc != 0 && rc != MYSQL_DATA_TRUNCATED)
		return db_fail(imp, st);
	return 1;
}

/* A statement with no values (transaction control); 0 or -1. */
static int
db_simple(struct importer *imp, const char *sql)
{
	return mysql_real_query(imp->m, sql, strlen(sql)) == 0 ? 0 : db_fail(imp, NULL);
}

/* A BIGINT result that may be NULL. */
static void
bind_i64(MYSQL_BIND *b, int64_t *v, my_bool *is_null)
{
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
	b->is_null = is_null;
}

/* A string parameter, or NULL when s is NULL or empty. */
static void
bind_opt_str(MYSQL_BIND *b, const char *s, unsigned long *len)
{
	if (s != NULL && s[0] != '\0') {
		bind_str(b, s, len);
		return;
	}
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_NULL;
}

/* An unsigned int parameter, or NULL when *v is 0. */
static void
bind_opt_uint(MYSQL_BIND *b, unsigned int *v)
{
	if (*v != 0) {
		bind_uint(b, v);
		return;
	}
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_NULL;
}

/* A DATETIME(3) parameter for Unix ms (the session is in UTC). */
static void
bind_time(MYSQL_BIND *b, MYSQL_TIME *t, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	memset(t, 0, sizeof *t);
	t->year = (unsigned)tm.tm_year + 1900;
	t->month = (unsigned)tm.tm_mon + 1;
	t->day = (unsigned)tm.tm_mday;
	t->hour = (unsigned)tm.tm_hour;
	t->minute = (unsigned)tm.tm_min;
	t->second = (unsigned)tm.tm_sec;
	t->second_part = (unsigned long)(ms % 1000) * 1000;
	t->time_type = MYSQL_TIMESTAMP_DATETIME;
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_DATETIME;
	b->buffer = t;
}

/* Prepare every statement; -1 with db_err. */
static int
db_prepare_all(struct importer *imp)
{
	for (int i = 0; i < ST_COUNT; i++) {
		if ((imp->st[i] = mysql_stmt_init(imp->m)) == NULL)
			return db_fail(imp, NULL);
		if (mysql_stmt_prepare(imp->st[i], stmt_sql[i], strlen(stmt_sql[i])) != 0)
			return db_fail(imp, imp->st[i]);
	}
	return 0;
}

/* ---- lookups ---- */

/* A contact of a row and, once looked up, the customer it belongs to. */
struct contact_ref {
	const char *field; /* the column it came from */
	const char *kind;  /* customer_contacts.kind */
	char key;          /* its namespace in import_keys */
	const char *value;
	uint64_t owner; /* 0: nobody's */
};

/* The statement head + n groups separated by ", " + tail, prepared on first
 * use and kept in cache[n]; NULL with db_err. */
static MYSQL_STMT *
stmt_n(struct importer *imp, MYSQL_STMT **cache, size_t n, const char *head, const char *group,
       const char *tail)
{
	char sql[1024];
	size_t used = (size_t)snprintf(sql, sizeof sql, "%s", head);
	MYSQL_STMT *st;

	if (cache[n] != NULL)
		return cache[n];
	for (size_t i = 0; i < n; i++)
		used +=
		    (size_t)snprintf(sql + used, sizeof sql - used, "%s%s", i ? ", " : "", group);
	snprintf(sql + used, sizeof sql - used, "%s", tail);
	if ((st = mysql_stmt_init(imp->m)) == NULL) {
		db_fail(imp, NULL);
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		db_fail(imp, st);
		mysql_stmt_close(st);
		return NULL;
	}
	return cache[n] = st;
}

/* Fill in the owners of n contacts, in one round trip (value has an index
 * of its own; the kind is matched here). 0 or -1. */
static int
owners_of(struct importer *imp, struct contact_ref *c, size_t n)
{
	MYSQL_BIND p[ROW_CONTACTS], r[3];
	unsigned long plen[ROW_CONTACTS], klen, vlen;
	char kind[16], value[IMPORT_MEMBER_ID_MAX * 4 + 1];
	my_bool knul, vnul;
	uint64_t owner;
	MYSQL_STMT *st;
	int rc;

	st = stmt_n(imp, imp->owners_st, n,
	            "SELECT kind, value, customer_id FROM customer_contacts WHERE value IN (", "?",
	            ")");
	if (st == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		c[i].owner = 0;
		bind_str(&p[i], c[i].value, &plen[i]);
	}
	bind_out_str(&r[0], kind, sizeof kind, &klen, &knul);
	bind_out_str(&r[1], value, sizeof value, &vlen, &vnul);
	bind_u64(&r[2], &owner);
	if (mysql_stmt_bind_param(st, p) != 0 || mysql_stmt_execute(st) != 0 ||
	    mysql_stmt_bind_result(st, r) != 0 || mysql_stmt_store_result(st) != 0)
		return db_fail(imp, st);
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED)
		for (size_t i = 0; i < n; i++)
			if (klen == strlen(c[i].kind) && memcmp(kind, c[i].kind, klen) == 0 &&
			    vlen == plen[i] && memcmp(value, c[i].value, vlen) == 0)
				c[i].owner = owner;
	if (rc != MYSQL_NO_DATA)
		return db_fail(imp, st);
	mysql_stmt_free_result(st);
	return 0;
}

/* The id of a site code, 0 when unknown; -1 on error. */
static int
site_id(struct importer *imp, const char *code, unsigned int *id)
{
	MYSQL_BIND p[1], r[1];
	unsigned long len;

	for (size_t i = 0; i < imp->nsites; i++)
		if (strcmp(imp->sites[i].code, code) == 0) {
			*id = imp->sites[i].id;
			return 0;
		}
	*id = 0;
	bind_str(&p[0], code, &len);
	bind_uint(&r[0], id);
	if (db_run(imp, ST_SITE, p, r) < 0)
		return -1;
	if (imp->nsites < SITES_CACHED) {
		snprintf(imp->sites[imp->nsites].code, sizeof imp->sites[0].code, "%s", code);
		imp->sites[imp->nsites++].id = *id;
	}
	return 0;
}

/* ---- customers ---- */

/* A stored customer, as compared with a row. */
struct customer_now {
	char name[IMPORT_NAME_MAX * 4 + 1];
	char region[IMPORT_REGION_MAX * 4 + 1];
	char language[IMPORT_LANGUAGE_MAX * 4 + 1];
	char tier[16];
	unsigned int site_id;
};

/* What a customer row will do. */
struct customer_plan {
	uint64_t id; /* 0: a new customer */
	unsigned int site_id;
	struct customer_now want; /* an existing customer's fields after the row */
	int fields_changed;
	size_t ncontacts;
	struct contact_ref contact[ROW_CONTACTS]; /* the member id first */
	int contacts_missing;
};

/* Load customer id into *now; -1 on error. */
static int
customer_load(struct importer *imp, uint64_t id, struct customer_now *now)
{
	MYSQL_BIND p[1], r[5];
	unsigned long len[5];
	my_bool nul[5];
	int rc;

	bind_u64(&p[0], &id);
	memset(now, 0, sizeof *now);
	bind_out_str(&r[0], now->name, sizeof now->name, &len[0], &nul[0]);
	bind_uint(&r[1], &now->site_id);
	r[1].is_null = &nul[1];
	bind_out_str(&r[2], now->region, sizeof now->region, &len[2], &nul[2]);
	bind_out_str(&r[3], now->language, sizeof now->language, &len[3], &nul[3]);
	bind_out_str(&r[4], now->tier, sizeof now->tier, &len[4], &nul[4]);
	if ((rc = db_run(imp, ST_CUSTOMER_GET, p, r)) <= 0) {
		if (rc == 0) { /* deleted since its contacts were read */
			imp->db_errno = 0;
			snprintf(imp->db_err, sizeof imp->db_err, "customer %llu vanished",
			         (unsigned long long)id);
		}
		return -1;
	}
	now->name[len[0] < sizeof now->name ? len[0] : sizeof now->name - 1] = '\0';
	now->region[nul[2] ? 0 : (len[2] < sizeof now->region ? len[2] : 0)] = '\0';
	now->language[len[3] < sizeof now->language ? len[3] : sizeof now->language - 1] = '\0';
	now->tier[len[4] < sizeof now->tier ? len[4] : sizeof now->tier - 1] = '\0';
	if (nul[1])
		now->site_id = 0;
	return 0;
}

/* The stored fields overlaid with the row's non-empty cells. */
static void
customer_merge(const struct customer_row *c, unsigned int site, struct customer_now *now)
{
	snprintf(now->name, sizeof now->name, "%s", c->name);
	if (c->site[0])
		now->site_id = site;
	if (c->region[0])
		snprintf(now->region, sizeof now->region, "%s", c->region);
	if (c->language[0])
		snprintf(now->language, sizeof now->language, "%s", c->language);
	if (c->tier)
		snprintf(now->tier, sizeof now->tier, "%s", c->tier);
}

/* Check one contact of a row (its owner looked up): 0 free or already
 * this customer's, 1 refused (conflict added). */
static int
contact_check(struct importer *imp, struct row *r, const struct contact_ref *c, uint64_t cid)
{
	unsigned long line = import_keys_find(imp->keys, c->key, c->value);
	char q[256];

	import_quote(c->value, strlen(c->value), q, sizeof q);
	if (line) {
		import_error_add(&r->errs, IMPORT_CONFLICT, c->field,
		                 "%s is also on line %lu, for another customer", q, line);
		return 1;
	}
	if (c->owner != 0 && c->owner != cid) {
		import_error_add(&r->errs, IMPORT_CONFLICT, c->field,
		                 "%s belongs to another customer (id %llu)", q,
		                 (unsigned long long)c->owner);
		return 1;
	}
	return 0;
}

/* The contacts of a row into pl: the member id, phones, e-mails. */
static void
customer_contacts(const struct customer_row *c, struct customer_plan *pl)
{
	pl->ncontacts = 0;
	pl->contact[pl->ncontacts++] =
	    (struct contact_ref){"member_id", "member_id", 'm', c->member_id, 0};
	for (size_t i = 0; i < c->nphones; i++)
		pl->contact[pl->ncontacts++] =
		    (struct contact_ref){"phones", "phone", 'p', c->phone[i], 0};
	for (size_t i = 0; i < c->nemails; i++)
		pl->contact[pl->ncontacts++] =
		    (struct contact_ref){"emails", "email", 'e', c->email[i], 0};
}

/* Decide what a valid customer row does; 0 go, 1 refused, -1 db error. */
static int
customer_plan(struct importer *imp, struct row *r, struct customer_plan *pl)
{
	const struct customer_row *c = &r->v.c;
	unsigned long line;
	struct customer_now now;
	char q[256];
	int refused = 0;

	memset(pl, 0, sizeof *pl);
	if ((line = import_keys_find(imp->keys, 'm', c->member_id)) != 0) {
		import_quote(c->member_id, strlen(c->member_id), q, sizeof q);
		import_error_add(&r->errs, IMPORT_DUPLICATE, "member_id", "%s is also on line %lu",
		                 q, line);
		return 1;
	}
	if (c->site[0]) {
		if (site_id(imp, c->site, &pl->site_id) != 0)
			return -1;
		if (pl->site_id == 0) {
			import_quote(c->site, strlen(c->site), q, sizeof q);
			import_error_add(&r->errs, IMPORT_UNKNOWN, "site", "no site with code %s",
			                 q);
			refused = 1;
		}
	}
	customer_contacts(c, pl);
	if (owners_of(imp, pl->contact, pl->ncontacts) != 0)
		return -1;
	pl->id = pl->contact[0].owner;
	for (size_t i = 1; i < pl->ncontacts; i++) {
		refused |= contact_check(imp, r, &pl->contact[i], pl->id);
		pl->contacts_missing |= pl->contact[i].owner == 0;
	}
	if (refused || pl->id == 0)
		return refused;
	if (customer_load(imp, pl->id, &now) != 0)
		return -1;
	pl->want = now;
	customer_merge(c, pl->site_id, &pl->want);
	pl->fields_changed =
	    strcmp(pl->want.name, now.name) != 0 || pl->want.site_id != now.site_id ||
	    strcmp(pl->want.region, now.region) != 0 ||
	    strcmp(pl->want.language, now.language) != 0 || strcmp(pl->want.tier, now.tier) != 0;
	return 0;
}

/* Insert the contacts of pl that have no owner yet, in one statement. A
 * new customer's first phone (or else first e-mail, or else member id) is
 * its primary contact. 0 or -1. */
static int
contacts_insert(struct importer *imp, struct customer_plan *pl, int fresh)
{
	MYSQL_BIND p[4 * ROW_CONTACTS];
	unsigned long klen[ROW_CONTACTS], vlen[ROW_CONTACTS];
	int primary[ROW_CONTACTS];
	size_t n = 0, first = pl->ncontacts > 1 ? 1 : 0;
	MYSQL_STMT *st;

	for (size_t i = 0; i < pl->ncontacts; i++) {
		if (pl->contact[i].owner != 0)
			continue;
		primary[n] = fresh && i == first;
		bind_u64(&p[4 * n], &pl->id);
		bind_str(&p[4 * n + 1], pl->contact[i].kind, &klen[n]);
		bind_str(&p[4 * n + 2], pl->contact[i].value, &vlen[n]);
		bind_int(&p[4 * n + 3], &primary[n]);
		n++;
	}
	if (n == 0)
		return 0;
	st = stmt_n(imp, imp->contacts_st, n,
	            "INSERT INTO customer_contacts (customer_id, kind, value, is_primary) VALUES ",
	            "(?, ?, ?, ?)", "");
	if (st == NULL)
		return -1;
	if (mysql_stmt_bind_param(st, p) != 0 || mysql_stmt_execute(st) != 0)
		return db_fail(imp, st);
	return 0;
}

/* Insert or update the customer row itself; 0 or -1. */
static int
customer_upsert(struct importer *imp, const struct customer_row *c, struct customer_plan *pl)
{
	MYSQL_BIND p[6];
	unsigned long len[5];

	if (pl->id == 0) {
		bind_str(&p[0], c->name, &len[0]);
		bind_opt_uint(&p[1], &pl->site_id);
		bind_opt_str(&p[2], c->region, &len[2]);
		bind_opt_str(&p[3], c->language, &len[3]);
		bind_opt_str(&p[4], c->tier, &len[4]);
		if (db_run(imp, ST_CUSTOMER_INSERT, p, NULL) != 0)
			return -1;
		pl->id = imp->insert_id;
		return 0;
	}
	if (!pl->fields_changed)
		return 0;
	bind_str(&p[0], pl->want.name, &len[0]);
	bind_opt_uint(&p[1], &pl->want.site_id);
	bind_opt_str(&p[2], pl->want.region, &len[2]);
	bind_str(&p[3], pl->want.language, &len[3]);
	bind_str(&p[4], pl->want.tier, &len[4]);
	bind_u64(&p[5], &pl->id);
	return db_run(imp, ST_CUSTOMER_UPDATE, p, NULL);
}

/* Write a planned customer row; 0 or -1. */
static int
customer_write(struct importer *imp, const struct customer_row *c, struct customer_plan *pl)
{
	int fresh = pl->id == 0;

	if (customer_upsert(imp, c, pl) != 0)
		return -1;
	return contacts_insert(imp, pl, fresh);
}

/* Remember the keys of an accepted customer row. */
static int
customer_remember(struct importer *imp, const struct row *r)
{
	const struct customer_row *c = &r->v.c;
	int rc = import_keys_add(imp->keys, 'm', c->member_id, r->line);

	for (size_t i = 0; i < c->nphones; i++)
		rc |= import_keys_add(imp->keys, 'p', c->phone[i], r->line);
	for (size_t i = 0; i < c->nemails; i++)
		rc |= import_keys_add(imp->keys, 'e', c->email[i], r->line);
	return rc;
}

/* ---- orders ---- */

/* A stored order. */
struct order_now {
	uint64_t id, customer_id, amount, refunded;
	int64_t ordered_at_ms;
	char currency[8];
	char status[16];
};

/* The customer a row's keys name; 0 go, 1 refused, -1 db error. */
static int
order_customer(struct importer *imp, struct row *r, uint64_t *cid)
{
	const struct order_row *o = &r->v.o;
	struct contact_ref keys[3];
	char q[256], first[300] = "";
	size_t n = 0;

	if (o->member_id[0])
		keys[n++] = (struct contact_ref){"member_id", "member_id", 'm', o->member_id, 0};
	if (o->phone[0])
		keys[n++] = (struct contact_ref){"phone", "phone", 'p', o->phone, 0};
	if (o->email[0])
		keys[n++] = (struct contact_ref){"email", "email", 'e', o->email, 0};
	*cid = 0;
	if (owners_of(imp, keys, n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		import_quote(keys[i].value, strlen(keys[i].value), q, sizeof q);
		if (keys[i].owner == 0) {
			import_error_add(&r->errs, IMPORT_UNKNOWN, keys[i].field,
			                 "no customer with %s %s", keys[i].kind, q);
			return 1;
		}
		if (*cid != 0 && keys[i].owner != *cid) {
			import_error_add(&r->errs, IMPORT_CONFLICT, keys[i].field,
			                 "%s is customer %llu, but %s is customer %llu", q,
			                 (unsigned long long)keys[i].owner, first,
			                 (unsigned long long)*cid);
			return 1;
		}
		*cid = keys[i].owner;
		snprintf(first, sizeof first, "%s %s", keys[i].field, q);
	}
	return 0;
}

/* Load the order with the row's order_id: 1 found, 0 none, -1. */
static int
order_load(struct importer *imp, const char *order_id, struct order_now *now)
{
	MYSQL_BIND p[1], r[7];
	unsigned long len, clen, slen;
	my_bool cnul, snul, tnul;
	int rc;

	memset(now, 0, sizeof *now);
	bind_str(&p[0], order_id, &len);
	bind_u64(&r[0], &now->id);
	bind_u64(&r[1], &now->customer_id);
	bind_u64(&r[2], &now->amount);
	bind_u64(&r[3], &now->refunded);
	bind_out_str(&r[4], now->currency, sizeof now->currency, &clen, &cnul);
	bind_out_str(&r[5], now->status, sizeof now->status, &slen, &snul);
	bind_i64(&r[6], &now->ordered_at_ms, &tnul);
	if ((rc = db_run(imp, ST_ORDER_GET, p, r)) <= 0)
		return rc;
	now->currency[clen < sizeof now->currency ? clen : 0] = '\0';
	now->status[slen < sizeof now->status ? slen : 0] = '\0';
	return 1;
}

/* Decide and write one valid order row; 0 done, 1 refused, -1 db error. */
static int
order_apply(struct importer *imp, struct row *r)
{
	const struct order_row *o = &r->v.o;
	struct order_now now;
	MYSQL_BIND p[7];
	MYSQL_TIME t;
	unsigned long len[3];
	uint64_t cid, amount = o->amount_minor, refunded = o->refunded_minor;
	unsigned long line;
	char q[256];
	int rc;

	import_quote(o->order_id, strlen(o->order_id), q, sizeof q);
	if ((line = import_keys_find(imp->keys, 'o', o->order_id)) != 0) {
		import_error_add(&r->errs, IMPORT_DUPLICATE, "order_id", "%s is also on line %lu",
		                 q, line);
		return 1;
	}
	if ((rc = order_customer(imp, r, &cid)) != 0)
		return rc;
	if ((rc = order_load(imp, o->order_id, &now)) < 0)
		return -1;
	if (rc == 1 && now.customer_id != cid) {
		import_error_add(&r->errs, IMPORT_CONFLICT, "order_id",
		                 "%s belongs to another customer (id %llu)", q,
		                 (unsigned long long)now.customer_id);
		return 1;
	}
	if (rc == 1 && now.amount == amount && now.refunded == refunded &&
	    strcmp(now.currency, o->currency) == 0 && strcmp(now.status, o->status) == 0 &&
	    now.ordered_at_ms == o->ordered_at_ms) {
		r->out = OUT_UNCHANGED;
		return 0;
	}
	r->out = rc == 1 ? OUT_UPDATED : OUT_INSERTED;
	if (rc == 1) {
		bind_u64(&p[0], &amount);
		bind_u64(&p[1], &refunded);
		bind_str(&p[2], o->currency, &len[0]);
		bind_str(&p[3], o->status, &len[1]);
		bind_time(&p[4], &t, o->ordered_at_ms);
		bind_u64(&p[5], &now.id);
		return db_run(imp, ST_ORDER_UPDATE, p, NULL);
	}
	bind_str(&p[0], o->order_id, &len[0]);
	bind_u64(&p[1], &cid);
	bind_u64(&p[2], &amount);
	bind_u64(&p[3], &refunded);
	bind_str(&p[4], o->currency, &len[1]);
	bind_str(&p[5], o->status, &len[2]);
	bind_time(&p[6], &t, o->ordered_at_ms);
	return db_run(imp, ST_ORDER_INSERT, p, NULL);
}

/* ---- rows and batches ---- */

/* A failed write refuses its row unless it ends the batch: 1 refused, -1
 * fatal. */
static int
row_write_failed(struct importer *imp, struct row *r, int in_savepoint)
{
	unsigned int e = imp->db_errno;
	char err[sizeof imp->db_err];

	if (db_fatal(e))
		return -1;
	snprintf(err, sizeof err, "%s", imp->db_err);
	if (in_savepoint && db_simple(imp, "ROLLBACK TO SAVEPOINT row") != 0)
		return -1;
	if (e == 1062) /* ER_DUP_ENTRY: a concurrent writer took a key */
		import_error_add(&r->errs, IMPORT_CONFLICT, "",
		                 "another writer added the same key during the import (%s)", err);
	else
		import_error_add(&r->errs, IMPORT_DATABASE, "", "%s", err);
	return 1;
}

/* Apply a customer row; 0 done, 1 refused, -1 fatal. */
static int
customer_apply(struct importer *imp, struct row *r)
{
	struct customer_plan pl;
	int rc = customer_plan(imp, r, &pl);

	if (rc != 0)
		return rc < 0 ? row_write_failed(imp, r, 0) : 1;
	if (pl.id == 0)
		r->out = OUT_INSERTED;
	else
		r->out = pl.fields_changed || pl.contacts_missing ? OUT_UPDATED : OUT_UNCHANGED;
	if (r->out == OUT_UNCHANGED)
		return 0;
	if (db_simple(imp, "SAVEPOINT row") != 0)
		return -1;
	if (customer_write(imp, &r->v.c, &pl) != 0)
		return row_write_failed(imp, r, 1);
	return 0;
}

/* Apply one row that passed validation; 0 done, 1 refused, -1 fatal. */
static int
row_apply(struct importer *imp, struct row *r)
{
	int rc;

	if (imp->h.kind == IMPORT_CUSTOMERS)
		rc = customer_apply(imp, r);
	else if ((rc = order_apply(imp, r)) < 0)
		rc = row_write_failed(imp, r, 0); /* one statement: nothing to undo */
	if (rc != 0)
		return rc;
	if ((imp->h.kind == IMPORT_CUSTOMERS
	         ? customer_remember(imp, r)
	         : import_keys_add(imp->keys, 'o', r->v.o.order_id, r->line)) != 0) {
		fprintf(stderr, "ccimport: out of memory\n");
		exit(EXIT_USAGE);
	}
	return 0;
}

/* One run of the batch: 0 committed, -1 fatal (the transaction is rolled
 * back by the caller). */
static int
batch_try(struct importer *imp)
{
	for (size_t i = 0; i < imp->nbatch; i++) {
		struct row *r = &imp->batch[i];
		int rc;
		if (r->nvalid + r->nvalid_dropped) {
			r->out = OUT_REFUSED;
			continue;
		}
		if ((rc = row_apply(imp, r)) < 0)
			return -1;
		if (rc == 1)
			r->out = OUT_REFUSED;
	}
	if (imp->o->dry_run)
		return mysql_rollback(imp->m) == 0 ? 0 : db_fail(imp, NULL);
	return mysql_commit(imp->m) == 0 ? 0 : db_fail(imp, NULL);
}

/* Apply the batch, running it again after a deadlock; report its rows.
 * 0, or -1 when the database is gone. */
static int
batch_run(struct importer *imp)
{
	size_t mark = import_keys_mark(imp->keys);

	for (int attempt = 1;; attempt++) {
		if (batch_try(imp) == 0)
			break;
		mysql_rollback(imp->m);
		import_keys_undo(imp->keys, mark);
		for (size_t i = 0; i < imp->nbatch; i++) {
			imp->batch[i].errs.n = imp->batch[i].nvalid;
			imp->batch[i].errs.dropped = imp->batch[i].nvalid_dropped;
		}
		if (!store_retryable(imp->db_errno) || attempt == BATCH_TRIES)
			return -1;
		nanosleep(&(struct timespec){0, 50000000L * attempt}, NULL);
	}
	for (size_t i = 0; i < imp->nbatch; i++)
		report_row(imp, &imp->batch[i]);
	imp->nbatch = 0;
	return 0;
}

/* Validate a record into the next batch slot. */
static void
batch_add(struct importer *imp, const struct csv_record *rec)
{
	struct row *r = &imp->batch[imp->nbatch++];

	r->line = rec->line;
	r->out = OUT_REFUSED;
	memset(&r->errs, 0, sizeof r->errs);
	if (imp->h.kind == IMPORT_CUSTOMERS)
		import_customer_row(&imp->h, rec, &imp->io, &r->v.c, &r->errs);
	else
		import_order_row(&imp->h, rec, &imp->io, &r->v.o, &r->errs);
	r->nvalid = r->errs.n;
	r->nvalid_dropped = r->errs.dropped;
	imp->last_line = rec->line;
}

/* ---- set-up ---- */

/* Parse "Z", "+08:00", "-0530" into minutes east; -1 when malformed. */
static int
parse_zone(const char *s, int *minutes)
{
	int hh, mm = 0, n = 0;
	char sign;

	if (strcmp(s, "Z") == 0 || strcmp(s, "UTC") == 0) {
		*minutes = 0;
		return 0;
	}
	if (sscanf(s, "%c%2d:%2d%n", &sign, &hh, &mm, &n) == 3 && s[n] == '\0' && n == 6)
		;
	else if (sscanf(s, "%c%2d%2d%n", &sign, &hh, &mm, &n) == 3 && s[n] == '\0' && n == 5)
		;
	else
		return -1;
	if ((sign != '+' && sign != '-') || hh > 14 || mm > 59 || hh < 0 || mm < 0)
		return -1;
	*minutes = (sign == '-' ? -1 : 1) * (hh * 60 + mm);
	return 0;
}

/* Parse the command line into o; exits on --help, --version or misuse. */
static void
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
	    {"config", required_argument, NULL, 'f'}, {"set", required_argument, NULL, 'o'},
	    {"dry-run", no_argument, NULL, 'n'},      {"errors", required_argument, NULL, 'e'},
	    {"batch", required_argument, NULL, 'b'},  {"country", required_argument, NULL, 'C'},
	    {"zone", required_argument, NULL, 'Z'},   {"skip-unknown", no_argument, NULL, 'S'},
	    {"quiet", no_argument, NULL, 'q'},        {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	char *end;
	long v;
	int c;

	*o = (struct opts){.config = DEFAULT_CONFIG, .country = "86", .batch = BATCH_DEF};
	while ((c = getopt_long(argc, argv, "f:o:ne:b:qVh", lopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->config = optarg;
			break;
		case 'o':
			if (o->noverrides == MAX_OVERRIDES) {
				fprintf(stderr, "ccimport: more than %d -o overrides\n",
				        MAX_OVERRIDES);
				exit(EXIT_USAGE);
			}
			o->overrides[o->noverrides++] = optarg;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'e':
			o->errors = optarg;
			break;
		case 'b':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > BATCH_MAX) {
				fprintf(stderr, "ccimport: --batch: \"%s\" is not 1 to %d\n",
				        optarg, BATCH_MAX);
				exit(EXIT_USAGE);
			}
			o->batch = (int)v;
			break;
		case 'C':
			if (strspn(optarg, "0123456789") != strlen(optarg) || strlen(optarg) < 1 ||
			    strlen(optarg) > 3 || optarg[0] == '0') {
				fprintf(stderr,
				        "ccimport: --country: \"%s\" is not a country code "
				        "like 86\n",
				        optarg);
				exit(EXIT_USAGE);
			}
			o->country = optarg;
			break;
		case 'Z':
			if (parse_zone(optarg, &o->zone_minutes) != 0) {
				fprintf(stderr,
				        "ccimport: --zone: \"%s\" is not Z or an offset like "
				        "+08:00\n",
				        optarg);
				exit(EXIT_USAGE);
			}
			o->zone_set = 1;
			break;
		case 'S':
			o->skip_unknown = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'V':
			printf("ccimport %s\n", CC_VERSION);
			exit(EXIT_ALL_OK);
		case 'h':
			usage(stdout);
			exit(EXIT_ALL_OK);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (strcmp(argv[optind], "customers") == 0)
		o->kind = IMPORT_CUSTOMERS;
	else if (strcmp(argv[optind], "orders") == 0)
		o->kind = IMPORT_ORDERS;
	else {
		fprintf(stderr, "ccimport: \"%s\" is not customers or orders\n", argv[optind]);
		exit(EXIT_USAGE);
	}
	o->path = argv[optind + 1];
}

/* Load and check the config file; exits on error. */
static void
load_config(const struct opts *o, struct config *cfg)
{
	char err[512];

	config_defaults(cfg);
	if (config_load_file(cfg, o->config, err, sizeof err) != 0) {
		fprintf(stderr, "ccimport: %s\n", err);
		exit(EXIT_USAGE);
	}
	for (int i = 0; i < o->noverrides; i++)
		if (config_set(cfg, o->overrides[i], err, sizeof err) != 0) {
			fprintf(stderr, "ccimport: -o %s\n", err);
			exit(EXIT_USAGE);
		}
	if (config_finish(cfg, err, sizeof err) != 0) {
		fprintf(stderr, "ccimport: %s\n", err);
		exit(EXIT_USAGE);
	}
}

/* Open the input and read its header into imp->h; exits on error. */
static FILE *
open_input(struct importer *imp)
{
	const struct opts *o = imp->o;
	FILE *f = strcmp(o->path, "-") == 0 ? stdin : fopen(o->path, "rb");
	struct csv_record *rec = malloc(sizeof *rec);
	struct stat st;
	char err[1024];
	int rc;

	if (f == NULL) {
		fprintf(stderr, "ccimport: %s: %s\n", o->path, strerror(errno));
		exit(EXIT_USAGE);
	}
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
		imp->prog.total = (unsigned long long)st.st_size;
	if (rec == NULL || (imp->csv = csv_open(f)) == NULL) {
		fprintf(stderr, "ccimport: out of memory\n");
		exit(EXIT_USAGE);
	}
	if ((rc = csv_next(imp->csv, rec)) <= 0) {
		fprintf(stderr, "ccimport: %s: %s\n", o->path,
		        rc < 0 ? strerror(errno) : "empty file: no header line");
		exit(EXIT_USAGE);
	}
	if (import_header_map(&imp->h, o->kind, rec, o->skip_unknown, err, sizeof err) != 0) {
		fprintf(stderr, "ccimport: %s: %s\n", o->path, err);
		exit(EXIT_USAGE);
	}
	for (size_t i = 0; i < imp->h.nskipped; i++) {
		size_t c = imp->h.skipped[i];
		import_quote(rec->field[c], rec->len[c], err, sizeof err);
		fprintf(stderr, "ccimport: %s: warning: column %zu (%s) is not imported\n", o->path,
		        c + 1, err);
	}
	free(rec);
	return f;
}

/* Connect and prepare; exits with EXIT_DB when the database is not there. */
static void
connect_db(struct importer *imp, const struct config *cfg)
{
	struct db_params p = {
	    .host = cfg->db_host,
	    .port = cfg->db_port,
	    .socket = cfg->db_socket,
	    .user = cfg->db_user,
	    .password = cfg->db_password,
	    .name = cfg->db_name,
	    .connect_timeout = cfg->db_connect_timeout,
	};
	char err[512];

	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "ccimport: cannot initialise the MariaDB client library\n");
		exit(EXIT_DB);
	}
	if ((imp->m = db_connect(&p, err, sizeof err)) == NULL) {
		fprintf(stderr, "ccimport: cannot connect to the database: %s\n", err);
		exit(EXIT_DB);
	}
	if (db_prepare_all(imp) != 0) {
		fprintf(stderr,
		        "ccimport: the database is not ready (%s); is the schema migrated "
		        "(callcentred --migrate)?\n",
		        imp->db_err);
		exit(EXIT_DB);
	}
	/* each statement sees what others committed */
	if (db_simple(imp, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED") != 0 ||
	    mysql_autocommit(imp->m, 0) != 0) {
		fprintf(stderr, "ccimport: database session set-up failed: %s\n", imp->db_err);
		exit(EXIT_DB);
	}
}

/* The report's destination: --errors FILE (private: it quotes customer
 * data) or stderr. Exits on error. */
static FILE *
open_report(const char *path)
{
	int fd;
	FILE *f;

	if (path == NULL)
		return stderr;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "ccimport: %s: %s\n", path, strerror(errno));
		exit(EXIT_USAGE);
	}
	return f;
}

/* Print the summary on stdout. */
static void
summary(const struct importer *imp)
{
	struct timespec now;
	double t;

	clock_gettime(CLOCK_MONOTONIC, &now);
	t = elapsed(&imp->prog.start, &now);
	if (imp->o->dry_run)
		printf("dry run: nothing was written\n");
	printf("%s: %lu rows: %lu inserted, %lu updated, %lu unchanged, %lu refused "
	       "(%.1f s, %.0f rows/s)\n",
	       kind_names[imp->h.kind], imp->done.rows, imp->done.inserted, imp->done.updated,
	       imp->done.unchanged, imp->done.refused, t, t > 0 ? imp->done.rows / t : 0.0);
	fflush(stdout);
}

/* Read, validate and apply every record. The exit status. */
static int
import_all(struct importer *imp)
{
	struct csv_record *rec = malloc(sizeof *rec);
	int rc;

	if (rec == NULL) {
		fprintf(stderr, "ccimport: out of memory\n");
		return EXIT_USAGE;
	}
	for (;;) {
		rc = csv_next(imp->csv, rec);
		if (rc == 1)
			batch_add(imp, rec);
		if ((rc != 1 || imp->nbatch == (size_t)imp->o->batch) && imp->nbatch > 0 &&
		    batch_run(imp) != 0) {
			progress_clear(&imp->prog);
			fprintf(stderr,
			        "ccimport: database unavailable before line %lu: %s\n"
			        "ccimport: the rows before it are committed; run the import again "
			        "to finish (rows already imported come out unchanged)\n",
			        imp->batch[0].line, imp->db_err);
			free(rec);
			return EXIT_DB;
		}
		progress_draw(&imp->prog, csv_offset(imp->csv), imp->done.rows, 0);
		if (rc != 1)
			break;
	}
	free(rec);
	progress_draw(&imp->prog, csv_offset(imp->csv), imp->done.rows, 1);
	progress_clear(&imp->prog);
	if (rc < 0) {
		fprintf(stderr, "ccimport: %s: read error after line %lu: %s\n", imp->o->path,
		        imp->last_line, strerror(errno));
		return EXIT_USAGE;
	}
	return imp->done.refused ? EXIT_REFUSED : EXIT_ALL_OK;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	static struct opts o;
	static struct importer imp;
	FILE *in;
	int status;

	parse_args(argc, argv, &o);
	load_config(&o, &cfg);
	imp.o = &o;
	imp.io = (struct import_opts){o.country, now_ms(), o.zone_set, o.zone_minutes};
	in = open_input(&imp);
	imp.report = open_report(o.errors);
	if ((imp.batch = calloc((size_t)o.batch, sizeof *imp.batch)) == NULL ||
	    (imp.keys = import_keys_new()) == NULL) {
		fprintf(stderr, "ccimport: out of memory\n");
		return EXIT_USAGE;
	}
	connect_db(&imp, &cfg);
	imp.prog.on = !o.quiet && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &imp.prog.start);

	status = import_all(&imp);
	summary(&imp);
	if (o.errors && imp.done.refused)
		fprintf(stderr, "ccimport: %lu refused rows reported in %s\n", imp.done.refused,
		        o.errors);

	if (imp.report != stderr && fclose(imp.report) != 0) {
		fprintf(stderr, "ccimport: %s: %s\n", o.errors, strerror(errno));
		status = status == EXIT_ALL_OK ? EXIT_USAGE : status;
	}
	for (int i = 0; i < ST_COUNT; i++)
		if (imp.st[i])
			mysql_stmt_close(imp.st[i]);
	for (int i = 0; i <= ROW_CONTACTS; i++) {
		if (imp.owners_st[i])
			mysql_stmt_close(imp.owners_st[i]);
		if (imp.contacts_st[i])
			mysql_stmt_close(imp.contacts_st[i]);
	}
	mysql_close(imp.m);
	mysql_library_end();
	csv_free(imp.csv);
	if (in != stdin)
		fclose(in);
	import_keys_free(imp.keys);
	free(imp.batch);
	return status;
}
