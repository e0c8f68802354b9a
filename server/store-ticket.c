/* store-ticket.c: ticket transactions and reads over prepared statements.
 *
 * Every write locks the ticket row first (SELECT ... FOR UPDATE): that
 * serialises writers of one ticket, so the version each checks and the
 * chain head each extends are the current ones, and the second of two
 * concurrent writers waits and then finds the version moved (conflict).
 * The UPDATE still says WHERE version = ?, so a missed lock cannot turn
 * into a lost update. Lookups of queues, agents and sites come before the
 * lock and take none, so writers of different tickets never deadlock on
 * each other's order; should InnoDB still report a deadlock, the whole
 * transaction runs again.
 *
 * The site fence (struct ticket_actor) is one SQL condition, FENCE_SQL,
 * with its parameters from fence_bind: ticket_lock adds it to the lock of
 * every write (here and in store-care.c), and the reads add it to their
 * WHERE, so a ticket out of reach is simply not found. */
#include "store-ticket.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "audit.h"
#include "server.h"
#include "store-link.h"
#include "store-web.h"
#include "store.h"

#define ER_DUP_ENTRY 1062

/* Times are read as Unix ms: TIMESTAMPDIFF from the epoch, as every
 * DATETIME(3) holds UTC. The ticket object of the replies
 * (docs/PROTOCOL.md): */
#define TICKET_COLUMNS                                                                             \
	TICKET_COLUMNS_HEAD "s.code AS site, q.code AS queue, a.username AS owner, "               \
	                    "o.code AS owning_site, " TICKET_COLUMNS_TAIL ", c.value_tier"
/* the ticket's own columns before and after the names */
#define TICKET_COLUMNS_HEAD                                                                        \
	"t.id, t.ref, t.kind, t.channel, t.severity, t.priority, t.state, t.subject, "             \
	"t.language, t.product_line, t.customer_id, t.order_id, "
#define TICKET_COLUMNS_TAIL                                                                        \
	"t.version, t.escalation_level, t.reopen_count, "                                          \
	"t.resolution_code, t.resolution_summary, "                                                \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.enqueued_at) DIV 1000 AS enqueued_at, "        \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.resolved_at) DIV 1000 AS resolved_at, "        \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.closed_at) DIV 1000 AS closed_at, "            \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.created_at) DIV 1000 AS created_at, "          \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.updated_at) DIV 1000 AS updated_at, "          \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.first_response_due) DIV 1000 "                 \
	"AS first_response_due, "                                                                  \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.resolution_due) DIV 1000 AS resolution_due"
#define TICKET_FROM                                                                                \
	" FROM tickets t LEFT JOIN sites s ON s.id = t.site_id LEFT JOIN queues q ON "             \
	"q.id = t.queue_id LEFT JOIN agents a ON a.id = t.owner_agent_id JOIN sites o ON "         \
	"o.id = t.owning_site_id LEFT JOIN customers c ON c.id = t.customer_id"

/* The locked row a write starts from. */
#define LOCK_COLUMNS                                                                               \
	"SELECT id, ref, state, version, owner_agent_id, queue_id, owning_site_id, "               \
	"last_event_seq, HEX(last_event_hash) AS head, "                                           \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', resolved_at) DIV 1000 AS resolved_ms, "          \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', closed_at) DIV 1000 AS closed_ms, "              \
	"kind, channel, severity, priority, subject, language, product_line, customer_id, "        \
	"order_id, site_id, "                                                                      \
	"escalation_level FROM tickets t "

/* The site fence: 1 = all sites, then the actor's agent id (the owner) and
 * the id of the actor's site (0: none). */
#define FENCE_SQL " AND (? = 1 OR t.owner_agent_id = ? OR t.owning_site_id = ?)"

/* The parameters of FENCE_SQL for an actor (NULL: the server, no fence). */
struct ticket_fence {
	int all;
	unsigned int agent;
	unsigned int site;
};

/* A string parameter, or NULL when s is NULL. */
static void
bind_nstr(MYSQL_BIND *b, const char *s, unsigned long *len, my_bool *is_null)
{
	*is_null = s == NULL;
	bind_str(b, s ? s : "", len);
	b->is_null = is_null;
}

/* Refuse with a code and message; 1, the transaction callbacks' "refused". */
int
ticket_refuse(struct ticket_result *res, enum cc_err code, const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof res->msg, fmt, ap);
	va_end(ap);
	return 1;
}

/* One column value as JSON: integers as numbers, the rest as strings. */
static json_t *
column_json(const MYSQL_FIELD *f, const char *buf, unsigned long len)
{
	switch (f->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
		if (f->flags & UNSIGNED_FLAG)
			return json_integer((json_int_t)strtoull(buf, NULL, 10));
		return json_integer((json_int_t)strtoll(buf, NULL, 10));
	default: {
		json_t *v = json_stringn(buf, len);
		return v ? v : json_null();
	}
	}
}

/* Fetch column i of the current row (len bytes) into a new object member. */
static int
row_column(MYSQL_STMT *st, const MYSQL_FIELD *f, unsigned i, unsigned long len, json_t *obj)
{
	MYSQL_BIND b;
	unsigned long got = 0;
	char *buf = malloc(len + 1);

	if (buf == NULL)
		abort();
	memset(&b, 0, sizeof b);
	b.buffer_type = MYSQL_TYPE_STRING;
	b.buffer = buf;
	b.buffer_length = len + 1;
	b.length = &got;
	if (len > 0 && mysql_stmt_fetch_column(st, &b, i, 0) != 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	json_object_set_new(obj, f->name, column_json(f, buf, len));
	free(buf);
	return 0;
}

/* Execute st (lent by store_stmt) and append each row to arr as an
 * object keyed by column name (NULL as null). Gives st back, or closes it
 * through store_fail on an error. 0 or -1. */
static int
rows_json(MYSQL *m, MYSQL_STMT *st, json_t *arr, char *err, size_t errlen)
{
	MYSQL_RES *meta;
	MYSQL_FIELD *fields;
	MYSQL_BIND *r;
	unsigned long *len;
	my_bool *nul;
	unsigned n;
	int rc, out = 0;

	if (mysql_stmt_execute(st) != 0 || (meta = mysql_stmt_result_metadata(st)) == NULL)
		return store_fail(m, st, err, errlen);
	n = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	r = calloc(n, sizeof *r);
	len = calloc(n, sizeof *len);
	nul = calloc(n, sizeof *nul);
	if (r == NULL || len == NULL || nul == NULL)
		abort();
	/* no buffers: each fetch reports lengths, then columns are read to size */
	for (unsigned i = 0; i < n; i++) {
		r[i].buffer_type = MYSQL_TYPE_STRING;
		r[i].length = &len[i];
		r[i].is_null = &nul[i];
	}
	if (mysql_stmt_bind_result(st, r) != 0 || mysql_stmt_store_result(st) != 0) {
		out = -1;
		goto done;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		json_t *obj = json_object();
		for (unsigned i = 0; i < n && out == 0; i++) {
			if (nul[i])
				json_object_set_new(obj, fields[i].name, json_null());
			else if (row_column(st, &fields[i], i, len[i], obj) != 0)
				out = -1;
		}
		json_array_append_new(arr, obj);
		if (out != 0)
			break;
	}
	if (out == 0 && rc != MYSQL_NO_DATA)
		out = -1;
done:
	free(r);
	free(len);
	free(nul);
	mysql_free_result(meta);
	if (out != 0)
		return store_fail(m, st, err, errlen);
	store_stmt_done(st);
	return 0;
}

/* Run a query and append its rows to arr. The statement comes from the
 * cache (store_stmt) and is given back before this returns, and rows are
 * built in memory first: a caller may run queries of its own (the same
 * text too) while going over arr. */
static int
query_json(MYSQL *m, const char *sql, MYSQL_BIND *p, json_t *arr, char *err, size_t errlen)
{
	MYSQL_STMT *st = store_stmt(m, sql, p, err, errlen);

	if (st == NULL)
		return -1;
	return rows_json(m, st, arr, err, errlen);
}

/* The first row of a query: 1 and *row (a new reference), 0 none, -1. */
int
ticket_query_one(MYSQL *m, const char *sql, MYSQL_BIND *p, json_t **row, char *err, size_t errlen)
{
	json_t *arr = json_array();
	int rc = query_json(m, sql, p, arr, err, errlen);

	*row = NULL;
	if (rc == 0 && json_array_size(arr) > 0) {
		*row = json_incref(json_array_get(arr, 0));
		rc = 1;
	}
	json_decref(arr);
	return rc;
}

/* An integer member of a row, 0 for null or absent. */
uint64_t
row_uint(const json_t *row, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(row, key));
}

/* A string member of a row, or NULL for null. */
const char *
row_str(const json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

/* Look up the id of a row by a string key: 1 and *id, 0 none, -1. */
static int
lookup_id(MYSQL *m, const char *sql, const char *value, uint64_t *id, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long len;
	json_t *row;
	int rc;

	bind_str(&p[0], value, &len);
	if ((rc = ticket_query_one(m, sql, p, &row, err, errlen)) == 1) {
		*id = row_uint(row, "id");
		json_decref(row);
	}
	return rc;
}

/* "2024-05-01 08:00:00.123" (UTC) for a DATETIME(3) column. */
void
ticket_format_time(int64_t ms, char buf[48])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, 48, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, 48 - n, ".%03d", (int)(ms % 1000));
}

static int
hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (hex == NULL || strlen(hex) != n * 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* One ticket_events row, sealed and bound. */
#define EVENT_PARAMS 11
struct event_row {
	MYSQL_BIND b[EVENT_PARAMS];
	unsigned long len[EVENT_PARAMS];
	my_bool nul[EVENT_PARAMS];
	struct audit_event e;
	char when[48], *text;
	uint64_t tid;
	unsigned int seq, agent;
};

#define EVENT_INSERT_HEAD                                                                          \
	"INSERT INTO ticket_events (ticket_id, seq, actor_agent_id, actor, op, old_value, "        \
	"new_value, detail, created_at, prev_hash, hash) VALUES "
#define EVENT_INSERT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/* Seal the event after c and bind its row (r->text to be freed by the
 * caller, also on failure): 0 or -1. op, old_value, new_value and the
 * actor's name are borrowed by the binds. */
static int
event_row_make(struct event_row *r, uint64_t ticket_id, const struct ticket_chain *c,
               const struct ticket_actor *a, const char *op, const char *old_value,
               const char *new_value, json_t *detail, int64_t now_ms, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	if (detail != NULL && (r->text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		abort();
	r->tid = ticket_id;
	r->seq = c->seq + 1;
	r->agent = a->agent_id;
	r->e.ticket_id = ticket_id;
	r->e.seq = r->seq;
	r->e.actor_agent_id = r->agent;
	r->e.actor = audit_text(r->agent ? a->user : "system");
	r->e.op = audit_text(op);
	r->e.old_value = audit_text(old_value);
	r->e.new_value = audit_text(new_value);
	r->e.detail = audit_text(r->text);
	r->e.time_ms = now_ms;
	if (audit_seal(&r->e, c->seq > 0 ? c->hash : NULL) != 0) {
		snprintf(err, errlen, "cannot hash the event");
		return -1;
	}
	ticket_format_time(now_ms, r->when);
	bind_u64(&r->b[0], &r->tid);
	bind_uint(&r->b[1], &r->seq);
	bind_uint(&r->b[2], &r->agent);
	r->nul[2] = r->agent == 0;
	r->b[2].is_null = &r->nul[2];
	bind_str(&r->b[3], r->e.actor.ptr, &r->len[3]);
	bind_str(&r->b[4], op, &r->len[4]);
	bind_nstr(&r->b[5], old_value, &r->len[5], &r->nul[5]);
	bind_nstr(&r->b[6], new_value, &r->len[6], &r->nul[6]);
	bind_nstr(&r->b[7], r->text, &r->len[7], &r->nul[7]);
	bind_str(&r->b[8], r->when, &r->len[8]);
	bind_blob(&r->b[9], r->e.prev_hash, &r->len[9], AUDIT_HASH_LEN);
	bind_blob(&r->b[10], r->e.hash, &r->len[10], AUDIT_HASH_LEN);
	return 0;
}

/* Insert an event after c and update c to it, leaving the head to the
 * caller. */
int
ticket_event_insert(MYSQL *m, uint64_t ticket_id, struct ticket_chain *c,
                    const struct ticket_actor *a, const char *op, const char *old_value,
                    const char *new_value, json_t *detail, int64_t now_ms, char *err, size_t errlen)
{
	struct event_row r;
	int rc = event_row_make(&r, ticket_id, c, a, op, old_value, new_value, detail, now_ms, err,
	                        errlen);

	if (rc == 0)
		rc = store_exec(m, EVENT_INSERT_HEAD EVENT_INSERT_ROW, r.b, err, errlen, NULL);
	free(r.text);
	if (rc != 0)
		return -1;
	c->seq = r.seq;
	memcpy(c->hash, r.e.hash, AUDIT_HASH_LEN);
	return 0;
}

/* Append an event after c (updated to it) and move the head on the ticket
 * row. detail (may be NULL) is stored as compact JSON, exactly as hashed. */
int
ticket_event_append(MYSQL *m, uint64_t ticket_id, struct ticket_chain *c,
                    const struct ticket_actor *a, const char *op, const char *old_value,
                    const char *new_value, json_t *detail, int64_t now_ms, char *err, size_t errlen)
{
	MYSQL_BIND p[3];
	unsigned long len;
	uint64_t tid = ticket_id;

	if (ticket_event_insert(m, ticket_id, c, a, op, old_value, new_value, detail, now_ms, err,
	                        errlen) != 0)
		return -1;
	bind_uint(&p[0], &c->seq);
	bind_blob(&p[1], c->hash, &len, AUDIT_HASH_LEN);
	bind_u64(&p[2], &tid);
	return store_exec(m,
	                  "UPDATE tickets SET last_event_seq = ?, last_event_hash = ? WHERE id = ?",
	                  p, err, errlen, NULL);
}

/* Work out the fence of actor a: admin, service and a supervisor of no
 * site reach every site; an agent, or a supervisor of a site, reaches the
 * tickets they own and those of their site. The site's id comes with the
 * actor (read at login); an actor without it has it looked up by code (a
 * plain read) before any lock. 0 or -1. */
static int
fence_of(MYSQL *m, const struct ticket_actor *a, struct ticket_fence *f, char *err, size_t errlen)
{
	uint64_t id = 0;
	int rc;

	memset(f, 0, sizeof *f);
	if (a == NULL || a->role == ROLE_ADMIN || a->role == ROLE_SERVICE ||
	    (a->role == ROLE_SUPERVISOR && a->site[0] == '\0')) {
		f->all = 1;
		return 0;
	}
	f->agent = a->agent_id;
	if (a->site[0] == '\0')
		return 0;
	if (a->site_id != 0) {
		f->site = a->site_id;
		return 0;
	}
	if ((rc = lookup_id(m, "SELECT id FROM sites WHERE code = ?", a->site, &id, err, errlen)) <
	    0)
		return -1;
	f->site = (unsigned int)id; /* a site renamed away: no site's tickets */
	return 0;
}

/* Bind the three parameters of FENCE_SQL at p. */
static void
fence_bind(struct ticket_fence *f, MYSQL_BIND *p)
{
	bind_int(&p[0], &f->all);
	bind_uint(&p[1], &f->agent);
	bind_uint(&p[2], &f->site);
}

/* TICKET_COLUMNS with the names left empty and their ids at the end, for
 * ticket_json to fill from the name cache. */
#define REPLY_COLUMNS                                                                              \
	TICKET_COLUMNS_HEAD "NULL AS site, NULL AS queue, NULL AS owner, NULL AS "                 \
	                    "owning_site, " TICKET_COLUMNS_TAIL                                    \
	                    ", c.value_tier, t.site_id AS _site, t.queue_id AS _queue, "           \
	                    "t.owner_agent_id AS _owner, t.owning_site_id AS _owning_site"

/* The ticket as a reply object, as TICKET_COLUMNS gives it: 1 and *out, 0
 * none, -1. The ticket and its customer are read; the codes and the
 * owner's name come from the name cache (store_name_of), so a write's
 * reply costs one two-table read rather than a six-table join. */
#define REPLY_FROM "customers c ON c.id = t.customer_id "

/* Fill the names of a REPLY_COLUMNS row from the name cache: 0 or -1. */
static int
reply_names(MYSQL *m, json_t *row, char *err, size_t errlen)
{
	static const struct {
		const char *id, *name;
		enum store_name kind;
	} names[] = {{"_site", "site", STORE_NAME_SITE},
	             {"_queue", "queue", STORE_NAME_QUEUE},
	             {"_owner", "owner", STORE_NAME_AGENT},
	             {"_owning_site", "owning_site", STORE_NAME_SITE}};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		json_t *v = json_object_get(row, names[i].id);
		char name[STORE_NAME_MAX + 1];

		if (json_is_integer(v)) {
			int rc =
			    store_name_of(m, names[i].kind, (unsigned int)json_integer_value(v),
			                  name, sizeof name, err, errlen);
			if (rc < 0)
				return -1;
			if (rc == 1)
				json_object_set_new(row, names[i].name, json_string(name));
		}
		json_object_del(row, names[i].id);
	}
	return 0;
}

static int
ticket_json(MYSQL *m, uint64_t id, json_t **out, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	int rc;

	bind_u64(&p[0], &id);
	if ((rc = ticket_query_one(m,
	                           "SELECT " REPLY_COLUMNS " FROM tickets t LEFT JOIN " REPLY_FROM
	                           "WHERE t.id = ?",
	                           p, out, err, errlen)) != 1)
		return rc;
	if (reply_names(m, *out, err, errlen) != 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 1;
}

/* Lock the ticket of k for a write by a: 1 and *row, 0 none or fenced, -1. */
int
ticket_lock(MYSQL *m, const struct ticket_actor *a, const struct ticket_key *k, json_t **row,
            char *err, size_t errlen)
{
	struct ticket_fence f;
	MYSQL_BIND p[4];
	unsigned long len;
	uint64_t id = k->id;

	*row = NULL;
	if (fence_of(m, a, &f, err, errlen) != 0)
		return -1;
	fence_bind(&f, &p[1]);
	if (id != 0) {
		bind_u64(&p[0], &id);
		return ticket_query_one(m, LOCK_COLUMNS "WHERE t.id = ?" FENCE_SQL " FOR UPDATE", p,
		                        row, err, errlen);
	}
	bind_str(&p[0], k->ref, &len);
	return ticket_query_one(m, LOCK_COLUMNS "WHERE t.ref = ?" FENCE_SQL " FOR UPDATE", p, row,
	                        err, errlen);
}

/* The chain head of a locked row. */
int
ticket_row_chain(const json_t *row, struct ticket_chain *c, char *err, size_t errlen)
{
	c->seq = (uint32_t)row_uint(row, "last_event_seq");
	memset(c->hash, 0, sizeof c->hash);
	if (c->seq > 0 && hex_decode(row_str(row, "head"), c->hash, AUDIT_HASH_LEN) != 0) {
		snprintf(err, errlen, "ticket %" PRIu64 " has a malformed chain head",
		         row_uint(row, "id"));
		return -1;
	}
	return 0;
}

/* ticket_sla_hook, also setting head (may be NULL) on the ticket row. */
static int
sla_hook(MYSQL *m, uint64_t id, enum sla_hook what, unsigned flags, int old_state, int new_state,
         const struct sla_head *head, int64_t now_ms, struct ticket_result *res, char *err,
         size_t errlen)
{
	struct sla_change c = {.ticket_id = id,
	                       .what = what,
	                       .flags = flags,
	                       .old_state = old_state,
	                       .new_state = new_state};
	int64_t wake = SLA_NEVER;

	if (store_sla_apply(m, &c, head, now_ms, &wake, err, errlen) != 0)
		return -1;
	res->sla_ticket = id;
	res->sla_wake_ms = wake;
	return 0;
}

int
ticket_sla_hook(MYSQL *m, uint64_t id, enum sla_hook what, unsigned flags, int old_state,
                int new_state, int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	return sla_hook(m, id, what, flags, old_state, new_state, NULL, now_ms, res, err, errlen);
}

/* "not found" words for a key. */
int
ticket_refuse_unknown(struct ticket_result *res, const struct ticket_key *k)
{
	if (k->id != 0)
		return ticket_refuse(res, CC_ERR_NOT_FOUND, "no ticket with id %" PRIu64, k->id);
	return ticket_refuse(res, CC_ERR_NOT_FOUND, "no ticket with ref %s", k->ref);
}

/* A ref such as "T240501-7KQ2MX": the UTC date, then 30 random bits in
 * Crockford base32 (no I, L, O, U to misread over the phone). */
static int
ref_new(int64_t now_ms, char ref[TICKET_REF_MAX + 1])
{
	static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char rnd[6];
	time_t sec = (time_t)(now_ms / 1000);
	struct tm tm;
	int off;

	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return -1;
	gmtime_r(&sec, &tm);
	off = snprintf(ref, TICKET_REF_MAX + 1, "T%02d%02d%02d-", tm.tm_year % 100, tm.tm_mon + 1,
	               tm.tm_mday);
	for (size_t i = 0; i < sizeof rnd; i++)
		ref[off + i] = digits[rnd[i] & 31];
	ref[off + sizeof rnd] = '\0';
	return 0;
}

/* The columns of a new ticket row. */
struct ticket_fields {
	const char *kind, *channel, *subject, *state;
	uint64_t customer_id;
	unsigned int severity, priority, site_id, queue_id, owning_site_id;
	int enqueued;
	const char *language;                   /* NULL or "": none */
	uint64_t order_id;                      /* 0: none */
	const unsigned char *status_token_hash; /* NULL: none */
};

/* Insert a ticket with a fresh ref (trying another when one is taken): 0
 * and *id, ref, or -1. */
static int
ticket_insert(MYSQL *m, const struct ticket_fields *f, int64_t now_ms, uint64_t *id,
              char ref[TICKET_REF_MAX + 1], char *err, size_t errlen)
{
	MYSQL_BIND p[16];
	unsigned long len[16];
	my_bool nul[16];
	char when[48];
	uint64_t customer = f->customer_id, order = f->order_id;
	unsigned int severity = f->severity, priority = f->priority, site = f->site_id,
	             queue = f->queue_id, owning = f->owning_site_id;

	ticket_format_time(now_ms, when);
	for (int attempt = 0;; attempt++) {
		if (ref_new(now_ms, ref) != 0) {
			snprintf(err, errlen, "RAND_bytes failed");
			return -1;
		}
		bind_str(&p[0], ref, &len[0]);
		bind_str(&p[1], f->kind, &len[1]);
		bind_str(&p[2], f->channel, &len[2]);
		bind_uint(&p[3], &severity);
		nul[3] = severity == 0;
		p[3].is_null = &nul[3];
		bind_uint(&p[4], &priority);
		bind_str(&p[5], f->state, &len[5]);
		bind_str(&p[6], f->subject, &len[6]);
		bind_u64(&p[7], &customer);
		nul[7] = customer == 0;
		p[7].is_null = &nul[7];
		bind_uint(&p[8], &site);
		bind_uint(&p[9], &queue);
		nul[9] = queue == 0;
		p[9].is_null = &nul[9];
		bind_uint(&p[10], &owning);
		bind_nstr(&p[11], f->enqueued ? when : NULL, &len[11], &nul[11]);
		bind_str(&p[12], when, &len[12]);
		bind_nstr(&p[13], f->language && f->language[0] ? f->language : NULL, &len[13],
		          &nul[13]);
		bind_u64(&p[14], &order);
		nul[14] = order == 0;
		p[14].is_null = &nul[14];
		bind_blob(&p[15], f->status_token_hash, &len[15], 32);
		nul[15] = f->status_token_hash == NULL;
		p[15].is_null = &nul[15];
		if (store_insert(
		        m,
		        "INSERT INTO tickets (ref, kind, channel, severity, priority, state, "
		        "subject, customer_id, site_id, queue_id, owning_site_id, enqueued_at, "
		        "created_at, language, order_id, status_token_hash) "
		        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		        p, id, err, errlen) == 0)
			return 0;
		if (store_errno() != ER_DUP_ENTRY || attempt + 1 == TICKET_REF_ATTEMPTS)
			return -1;
	}
}

/* Run body in a transaction, again on a deadlock; 0 (done or refused) or -1. */
int
ticket_tx_run(MYSQL *m, ticket_tx_fn body, const void *arg, struct ticket_result *res, char *err,
              size_t errlen)
{
	for (int attempt = 0;; attempt++) {
		int rc;

		res->code = CC_OK;
		res->msg[0] = '\0';
		json_decref(res->reply);
		res->reply = NULL;
		res->sla_ticket = 0;
		res->sla_wake_ms = SLA_NEVER;
		if (store_tx_begin(m, err, errlen) != 0)
			return -1;
		rc = body(m, arg, res, err, errlen);
		if (rc == 0 && store_tx_commit(m, err, errlen) != 0)
			rc = -1;
		if (rc != 0)
			store_tx_rollback(m);
		if (rc == 1) {
			json_decref(res->reply);
			res->reply = NULL;
			return 0;
		}
		if (rc == 0)
			return 0;
		if (attempt + 1 == TICKET_TX_ATTEMPTS || !store_retryable(store_errno()))
			return -1;
	}
}

/* Phone and chat are live: the customer is answered when a person takes
 * the contact, which is the first response (SLA_ANSWERED). */
static int
channel_live(const char *channel)
{
	return channel != NULL && (strcmp(channel, "phone") == 0 || strcmp(channel, "chat") == 0);
}

/* store_ticket_create */

struct create_arg {
	const struct ticket_actor *a;
	const struct ticket_new *t;
	int64_t now_ms;
};

/* The surviving customer of id: id itself, or where its merged_into chain
 * ends (at most TICKET_MERGE_HOPS links, so a cycle cannot hold a worker).
 * 0 and *out, 1 refused (not_found, or a chain too long), -1. */
static int
customer_survivor(MYSQL *m, uint64_t id, uint64_t *out, struct ticket_result *res, char *err,
                  size_t errlen)
{
	MYSQL_BIND p[1];
	uint64_t cur = id;
	json_t *row;
	int rc;

	for (int hop = 0; hop <= TICKET_MERGE_HOPS; hop++) {
		bind_u64(&p[0], &cur);
		if ((rc = ticket_query_one(m, "SELECT id, merged_into FROM customers WHERE id = ?",
		                           p, &row, err, errlen)) <= 0) {
			if (rc < 0)
				return -1;
			if (cur == id)
				return ticket_refuse(res, CC_ERR_NOT_FOUND,
				                     "no customer with id %" PRIu64, id);
			snprintf(err, errlen, "customer %" PRIu64 " merged into missing %" PRIu64,
			         id, cur);
			return -1;
		}
		if (json_is_null(json_object_get(row, "merged_into"))) {
			json_decref(row);
			*out = cur;
			return 0;
		}
		cur = row_uint(row, "merged_into");
		json_decref(row);
	}
	return ticket_refuse(res, CC_ERR_CONFLICT,
	                     "customer %" PRIu64 " is merged through more than %d customers; "
	                     "fix the merge chain first",
	                     id, TICKET_MERGE_HOPS);
}

/* The site, customer and queue of a new ticket: 0, 1 refused, -1. A
 * customer that was merged into another is replaced by the survivor. */
static int
create_lookups(MYSQL *m, const struct create_arg *c, struct ticket_fields *f,
               struct ticket_result *res, char *err, size_t errlen)
{
	const char *site = c->t->site[0] ? c->t->site : c->a->site;
	uint64_t id = 0;
	int rc;

	if (site[0] == '\0')
		return ticket_refuse(res, CC_ERR_BAD_REQUEST,
		                     "you belong to no site: name one in \"site\"");
	if (c->a->site_id != 0 && strcmp(site, c->a->site) == 0)
		id = c->a->site_id; /* the actor's own, read at login */
	else if ((rc = lookup_id(m, "SELECT id FROM sites WHERE code = ?", site, &id, err,
	                         errlen)) <= 0)
		return rc < 0 ? -1
		              : ticket_refuse(res, CC_ERR_NOT_FOUND, "no site with code %s", site);
	f->site_id = f->owning_site_id = (unsigned int)id;
	if (c->t->customer_id != 0 && !c->t->customer_current &&
	    (rc = customer_survivor(m, c->t->customer_id, &f->customer_id, res, err, errlen)) != 0)
		return rc;
	if (c->t->queue[0] != '\0') {
		if (c->t->queue_id != 0)
			id = c->t->queue_id; /* read by the caller in this transaction */
		else if ((rc = lookup_id(m, "SELECT id FROM queues WHERE code = ?", c->t->queue,
		                         &id, err, errlen)) <= 0)
			return rc < 0 ? -1
			              : ticket_refuse(res, CC_ERR_NOT_FOUND,
			                              "no queue with code %s", c->t->queue);
		f->queue_id = (unsigned int)id;
		/* the gravest complaints go to the queue's senior queue, if named */
		if (strcmp(c->t->kind, "complaint") == 0 && c->t->severity == 1) {
			if ((rc = lookup_id(
			         m,
			         "SELECT critical_queue_id AS id FROM queues WHERE code = ? AND "
			         "critical_queue_id IS NOT NULL",
			         c->t->queue, &id, err, errlen)) < 0)
				return -1;
			if (rc == 1)
				f->queue_id = (unsigned int)id;
		}
	}
	return 0;
}

static int
create_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct create_arg *c = arg;
	const struct ticket_new *t = c->t;
	struct ticket_fields f = {.kind = t->kind,
	                          .channel = t->channel,
	                          .subject = t->subject,
	                          .customer_id = t->customer_id,
	                          .severity = (unsigned int)t->severity,
	                          .priority = (unsigned int)t->priority,
	                          .state = ticket_state_name(TS_NEW),
	                          .language = t->language,
	                          .order_id = t->order_id,
	                          .status_token_hash = t->status_token_hash};
	struct ticket_chain ch = {0};
	char ref[TICKET_REF_MAX + 1];
	uint64_t id;
	json_t *detail, *ticket;
	int rc;

	if ((rc = create_lookups(m, c, &f, res, err, errlen)) != 0)
		return rc;
	if (f.queue_id != 0) {
		/* a queue given: the table's enqueue, as if taken right after */
		struct ticket_attempt at = {
		    .state = TS_NEW, .action = TA_ENQUEUE, .role = c->a->role};
		const struct ticket_transition *row;
		char why[sizeof res->msg];
		enum ticket_refusal r = ticket_transition_check(&at, &row, why, sizeof why);

		if (r != TICKET_OK)
			return ticket_refuse(res, ticket_refusal_err(r), "%s", why);
		f.state = ticket_state_name(row->to);
		f.enqueued = (row->flags & TF_ENQUEUE) != 0;
	}
	if (ticket_insert(m, &f, c->now_ms, &id, ref, err, errlen) != 0)
		return -1;
	detail = json_pack("{s:s,s:s,s:i}", "kind", t->kind, "channel", t->channel, "priority",
	                   t->priority);
	if (f.customer_id != t->customer_id)
		json_object_set_new(
		    detail, "customer_merged",
		    json_pack("[I,I]", (json_int_t)t->customer_id, (json_int_t)f.customer_id));
	if (t->queue[0])
		json_object_set_new(detail, "queue", json_string(t->queue));
	if (t->detail != NULL)
		json_object_update(detail, t->detail);
	/* the SLA module's UPDATE of the new row (the due instants) moves
	 * the chain head too */
	rc = ticket_event_insert(m, id, &ch, c->a, "create", NULL, f.state, detail, c->now_ms, err,
	                         errlen);
	json_decref(detail);
	if (rc == 0) {
		struct sla_head head = {ch.seq, ch.hash};

		/* a person logging a live contact has it in hand: answered */
		unsigned flags =
		    c->a->role != ROLE_SERVICE && channel_live(t->channel) ? SLA_ANSWERED : 0;

		rc = sla_hook(m, id, SLA_HOOK_CREATED, flags, -1, ticket_state_parse(f.state),
		              &head, c->now_ms, res, err, errlen);
	}
	if (rc != 0 || ticket_json(m, id, &ticket, err, errlen) != 1)
		return -1;
	res->reply = json_pack("{s:o}", "ticket", ticket);
	return 0;
}

int
store_ticket_create(MYSQL *m, const struct ticket_actor *a, const struct ticket_new *t,
                    int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct create_arg c = {a, t, now_ms};

	return ticket_tx_run(m, create_tx, &c, res, err, errlen);
}

/* store_ticket_transition */

struct change_arg {
	const struct ticket_actor *a;
	const struct ticket_change *c;
	int64_t now_ms;
};

/* What a transition writes, worked out from the locked row and the table. */
struct change_plan {
	const struct ticket_transition *t;
	unsigned int owner, queue, owning_site;
	int queue_site_null;                  /* the named queue serves every site */
	char queue_site[TICKET_SITE_MAX + 1]; /* else the code of its site */
};

/* Resolve the queue and agent the request names: 0, 1 refused, -1. */
static int
change_lookups(MYSQL *m, const struct ticket_change *c, struct change_plan *p,
               struct ticket_result *res, char *err, size_t errlen)
{
	MYSQL_BIND b[1];
	unsigned long len;
	json_t *row;
	int rc;

	if (c->queue[0]) {
		const char *site;

		bind_str(&b[0], c->queue, &len);
		if ((rc = ticket_query_one(m,
		                           "SELECT q.id, q.site_id, s.code AS site FROM queues q "
		                           "LEFT JOIN sites s ON s.id = q.site_id WHERE q.code = ?",
		                           b, &row, err, errlen)) <= 0)
			return rc < 0 ? -1
			              : ticket_refuse(res, CC_ERR_NOT_FOUND,
			                              "no queue with code %s", c->queue);
		p->queue = (unsigned int)row_uint(row, "id");
		p->queue_site_null = json_is_null(json_object_get(row, "site_id"));
		p->owning_site = (unsigned int)row_uint(row, "site_id");
		site = row_str(row, "site");
		snprintf(p->queue_site, sizeof p->queue_site, "%s", site ? site : "");
		if (c->site[0] && (site == NULL || strcmp(site, c->site) != 0)) {
			uint64_t sid;

			rc = lookup_id(m, "SELECT id FROM sites WHERE code = ?", c->site, &sid, err,
			               errlen);
			if (rc == 0)
				rc = ticket_refuse(res, CC_ERR_NOT_FOUND, "no site with code %s",
				                   c->site);
			else if (rc == 1 && site == NULL)
				rc = ticket_refuse(res, CC_ERR_BAD_REQUEST,
				                   "queue %s serves every site, not site %s alone",
				                   c->queue, c->site);
			else if (rc == 1)
				rc = ticket_refuse(res, CC_ERR_BAD_REQUEST,
				                   "queue %s belongs to site %s, not to site %s",
				                   c->queue, site, c->site);
			json_decref(row);
			return rc;
		}
		json_decref(row);
	}
	if (c->agent[0]) {
		bind_str(&b[0], c->agent, &len);
		if ((rc = ticket_query_one(
		         m, "SELECT id FROM agents WHERE username = ? AND active = 1", b, &row, err,
		         errlen)) <= 0)
			return rc < 0 ? -1
			              : ticket_refuse(res, CC_ERR_NOT_FOUND,
			                              "no active agent named %s", c->agent);
		p->owner = (unsigned int)row_uint(row, "id");
		json_decref(row);
	}
	return 0;
}

/* Check the attempt against the table and the request's arguments against
 * the row's flags; fills the plan. 0 or 1 refused. */
static int
change_check(const struct change_arg *x, const json_t *row, struct change_plan *p,
             struct ticket_result *res)
{
	const struct ticket_change *c = x->c;
	const char *act = ticket_action_name(c->action);
	int state = ticket_state_parse(row_str(row, "state"));
	struct ticket_attempt at = {
	    .state = (enum ticket_state)state,
	    .action = c->action,
	    .role = x->a->role,
	    .is_owner = row_uint(row, "owner_agent_id") == x->a->agent_id,
	    .now_ms = x->now_ms,
	    .ended_ms = (int64_t)row_uint(row, state == TS_CLOSED ? "closed_ms" : "resolved_ms"),
	    .reopen_window_ms = x->a->reopen_window_ms,
	};
	char why[sizeof res->msg];
	enum ticket_refusal r = ticket_transition_check(&at, &p->t, why, sizeof why);
	unsigned flags;

	/* a window of 0 turns reopening off, even within the same millisecond */
	if ((r == TICKET_WINDOW_PASSED || (r == TICKET_OK && (p->t->flags & TF_WINDOW))) &&
	    at.reopen_window_ms <= 0)
		return ticket_refuse(res, CC_ERR_CONFLICT,
		                     "cannot %s: reopening is turned off on this server "
		                     "(tickets.reopen_window is 0); open a new ticket instead",
		                     act);
	if (r != TICKET_OK)
		return ticket_refuse(res, ticket_refusal_err(r), "%s", why);
	flags = p->t->flags;
	/* accepting a ticket that already waits in a queue keeps that queue */
	if ((flags & TF_QUEUE_TARGET) && !c->queue[0] &&
	    (c->action != TA_ACCEPT || json_is_null(json_object_get(row, "queue_id"))))
		return ticket_refuse(res, CC_ERR_BAD_REQUEST, "%s needs \"queue\"", act);
	if ((flags & TF_OWNER_TARGET) && !c->agent[0])
		return ticket_refuse(res, CC_ERR_BAD_REQUEST, "%s needs \"agent\"", act);
	if ((flags & TF_CODE_REQUIRED) && !c->code[0])
		return ticket_refuse(res, CC_ERR_BAD_REQUEST,
		                     "%s needs \"code\" (a resolution code)", act);
	if ((flags & TF_SITE_TARGET) && p->queue_site_null)
		return ticket_refuse(res, CC_ERR_BAD_REQUEST,
		                     "queue %s serves every site; %s needs a queue of one site",
		                     c->queue, act);
	/* only transfer_site moves a ticket to another site: a queue named
	 * otherwise serves every site or the ticket's owning site, so that the
	 * site whose queue holds the ticket can reach it */
	if ((flags & TF_QUEUE_TARGET) && !(flags & TF_SITE_TARGET) && c->queue[0] &&
	    !p->queue_site_null && p->owning_site != row_uint(row, "owning_site_id"))
		return ticket_refuse(
		    res, CC_ERR_BAD_REQUEST,
		    "queue %s belongs to site %s, not to the ticket's owning site; "
		    "to move the ticket to site %s use transfer_site "
		    "(ticket.transfer with \"site\")",
		    c->queue, p->queue_site, p->queue_site);
	if ((flags & TF_ESCALATE) && row_uint(row, "escalation_level") >= 255)
		return ticket_refuse(res, CC_ERR_CONFLICT,
		                     "the ticket is at the highest escalation level");
	return 0;
}

/* Work out the new owner, queue and site from the row and the flags. */
static void
change_plan_fill(const struct change_arg *x, const json_t *row, struct change_plan *p)
{
	unsigned flags = p->t->flags;
	unsigned int target_owner = p->owner, target_queue = p->queue, target_site = p->owning_site;

	p->owner = (unsigned int)row_uint(row, "owner_agent_id");
	p->queue = (unsigned int)row_uint(row, "queue_id");
	p->owning_site = (unsigned int)row_uint(row, "owning_site_id");
	if (flags & TF_OWNER_ACTOR)
		p->owner = x->a->agent_id;
	if (flags & TF_OWNER_TARGET)
		p->owner = target_owner;
	if (flags & TF_OWNER_CLEAR)
		p->owner = 0;
	if ((flags & TF_QUEUE_TARGET) && target_queue != 0)
		p->queue = target_queue;
	if (flags & TF_SITE_TARGET)
		p->owning_site = target_site;
}

/* The UPDATE for a planned change, under the version check, moving the
 * chain head to ch (its event already inserted): 0, 1 (the version moved),
 * -1. */
static int
change_update(MYSQL *m, const struct change_arg *x, const json_t *row, const struct change_plan *p,
              const struct ticket_chain *ch, struct ticket_result *res, char *err, size_t errlen)
{
	const struct ticket_change *c = x->c;
	unsigned flags = p->t->flags;
	MYSQL_BIND b[20];
	unsigned long len[20];
	my_bool nul[20];
	unsigned int seq = ch->seq;
	char when[48];
	uint64_t id = row_uint(row, "id");
	unsigned int owner = p->owner, queue = p->queue, site = p->owning_site,
	             version = (unsigned int)row_uint(row, "version"); /* as checked */
	int enqueue = !!(flags & TF_ENQUEUE), closed = !!(flags & TF_STAMP_CLOSED),
	    resolved = flags & TF_STAMP_RESOLVED ? 1
	               : flags & TF_REOPEN       ? 2
	                                         : 0,
	    code = flags & TF_CODE_REQUIRED ? 1
	           : flags & TF_REOPEN      ? 2
	                                    : 0,
	    escalate = !!(flags & TF_ESCALATE), reopen = !!(flags & TF_REOPEN);
	unsigned long long n = 0;

	ticket_format_time(x->now_ms, when);
	bind_str(&b[0], ticket_state_name(p->t->to), &len[0]);
	bind_uint(&b[1], &owner);
	nul[1] = owner == 0;
	b[1].is_null = &nul[1];
	bind_uint(&b[2], &queue);
	nul[2] = queue == 0;
	b[2].is_null = &nul[2];
	bind_uint(&b[3], &site);
	bind_int(&b[4], &enqueue);
	bind_str(&b[5], when, &len[5]);
	bind_int(&b[6], &resolved);
	bind_str(&b[7], when, &len[7]);
	bind_int(&b[8], &closed);
	bind_str(&b[9], when, &len[9]);
	bind_int(&b[10], &code);
	bind_str(&b[11], c->code, &len[11]);
	bind_int(&b[12], &code);
	bind_nstr(&b[13], c->summary[0] ? c->summary : NULL, &len[13], &nul[13]);
	bind_int(&b[14], &escalate);
	bind_int(&b[15], &reopen);
	bind_uint(&b[16], &seq);
	bind_blob(&b[17], ch->hash, &len[17], AUDIT_HASH_LEN);
	bind_u64(&b[18], &id);
	bind_uint(&b[19], &version);
	if (store_exec(m,
	               "UPDATE tickets SET state = ?, owner_agent_id = ?, queue_id = ?, "
	               "owning_site_id = ?, enqueued_at = IF(? = 1, ?, enqueued_at), "
	               "resolved_at = CASE ? WHEN 1 THEN ? WHEN 2 THEN NULL ELSE resolved_at END, "
	               "closed_at = IF(? = 1, ?, closed_at), "
	               "resolution_code = CASE ? WHEN 1 THEN ? WHEN 2 THEN NULL "
	               "ELSE resolution_code END, "
	               "resolution_summary = CASE ? WHEN 1 THEN ? WHEN 2 THEN NULL "
	               "ELSE resolution_summary END, "
	               "escalation_level = escalation_level + ?, reopen_count = reopen_count + ?, "
	               "last_event_seq = ?, last_event_hash = ?, "
	               "version = version + 1 WHERE id = ? AND version = ?",
	               b, err, errlen, &n) != 0)
		return -1;
	if (n != 1)
		return ticket_refuse(res, CC_ERR_CONFLICT, "ticket changed since version %u",
		                     version);
	return 0;
}

/* The event detail of a change: the arguments it used. */
static json_t *
change_detail(const struct ticket_change *c, const struct change_plan *p)
{
	json_t *d = json_object();
	unsigned flags = p->t->flags;

	if ((flags & TF_QUEUE_TARGET) && c->queue[0])
		json_object_set_new(d, "queue", json_string(c->queue));
	if ((flags & TF_OWNER_TARGET) && c->agent[0])
		json_object_set_new(d, "agent", json_string(c->agent));
	if ((flags & TF_CODE_REQUIRED) && c->code[0])
		json_object_set_new(d, "code", json_string(c->code));
	if ((flags & TF_CODE_REQUIRED) && c->summary[0])
		json_object_set_new(d, "summary", json_string(c->summary));
	if (c->reason[0])
		json_object_set_new(d, "reason", json_string(c->reason));
	if (json_object_size(d) == 0) {
		json_decref(d);
		return NULL;
	}
	return d;
}

/* Open the follow-up of a closed ticket (row), linked to it: 0 and *out
 * (its reply object), -1. */
static int
followup_open(MYSQL *m, const struct change_arg *x, const json_t *row, uint64_t *new_id,
              char ref[TICKET_REF_MAX + 1], char *err, size_t errlen)
{
	struct ticket_fields f = {
	    .kind = row_str(row, "kind"),
	    .channel = row_str(row, "channel"),
	    .subject = row_str(row, "subject"),
	    .state = ticket_state_name(TS_NEW),
	    .customer_id = row_uint(row, "customer_id"),
	    .severity = (unsigned int)row_uint(row, "severity"),
	    .priority = (unsigned int)row_uint(row, "priority"),
	    .site_id = (unsigned int)row_uint(row, "site_id"),
	    .owning_site_id = (unsigned int)row_uint(row, "owning_site_id"),
	};
	struct ticket_chain ch = {0};
	MYSQL_BIND b[3];
	uint64_t from, to = row_uint(row, "id");
	unsigned int by = x->a->agent_id;
	json_t *detail;
	int rc;

	if (f.site_id == 0)
		f.site_id = f.owning_site_id;
	if (ticket_insert(m, &f, x->now_ms, new_id, ref, err, errlen) != 0)
		return -1;
	detail = json_pack("{s:s}", "followup_of", row_str(row, "ref"));
	rc = ticket_event_append(m, *new_id, &ch, x->a, "create", NULL, f.state, detail, x->now_ms,
	                         err, errlen);
	json_decref(detail);
	if (rc != 0)
		return -1;
	from = *new_id;
	bind_u64(&b[0], &from);
	bind_u64(&b[1], &to);
	bind_uint(&b[2], &by);
	return store_exec(m,
	                  "INSERT INTO ticket_links (from_ticket_id, kind, to_ticket_id, "
	                  "created_by) VALUES (?, 'followup_of', ?, ?)",
	                  b, err, errlen, NULL);
}

static int
change_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct change_arg *x = arg;
	struct change_plan p = {0};
	struct ticket_chain ch;
	char ref[TICKET_REF_MAX + 1];
	uint64_t id, followup = 0;
	json_t *row, *detail, *ticket;
	int rc;

	if ((rc = change_lookups(m, x->c, &p, res, err, errlen)) != 0)
		return rc;
	if ((rc = ticket_lock(m, x->a, &x->c->key, &row, err, errlen)) <= 0)
		return rc < 0 ? -1 : ticket_refuse_unknown(res, &x->c->key);
	id = row_uint(row, "id");
	if (x->c->version != 0 && row_uint(row, "version") != x->c->version)
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "ticket changed since version %u (now %u)",
		                   x->c->version, (unsigned int)row_uint(row, "version"));
	else if ((rc = change_check(x, row, &p, res)) == 0 &&
	         (rc = ticket_row_chain(row, &ch, err, errlen)) == 0)
		change_plan_fill(x, row, &p);
	if (rc == 0 && (p.t->flags & TF_FOLLOWUP))
		rc = followup_open(m, x, row, &followup, ref, err, errlen);
	/* the event first, so that the one UPDATE of the row moves its head too */
	if (rc == 0) {
		detail = change_detail(x->c, &p);
		if (followup != 0) {
			if (detail == NULL)
				detail = json_object();
			json_object_set_new(detail, "followup", json_string(ref));
		}
		rc = ticket_event_insert(m, id, &ch, x->a, ticket_action_name(x->c->action),
		                         row_str(row, "state"), ticket_state_name(p.t->to), detail,
		                         x->now_ms, err, errlen);
		json_decref(detail);
	}
	if (rc == 0)
		rc = change_update(m, x, row, &p, &ch, res, err, errlen);
	if (rc == 0 && followup != 0)
		rc = ticket_sla_hook(m, followup, SLA_HOOK_CREATED, 0, -1, TS_NEW, x->now_ms, res,
		                     err, errlen);
	else if (rc == 0)
		/* an agent taking a live contact answers it */
		rc = ticket_sla_hook(
		    m, id, SLA_HOOK_STATE,
		    p.t->flags | (x->c->action == TA_ACCEPT && channel_live(row_str(row, "channel"))
		                      ? SLA_ANSWERED
		                      : 0),
		    ticket_state_parse(row_str(row, "state")), (int)p.t->to, x->now_ms, res, err,
		    errlen);
	json_decref(row);
	if (rc != 0)
		return rc;
	if (ticket_json(m, id, &ticket, err, errlen) != 1)
		return -1;
	res->reply = json_pack("{s:o}", "ticket", ticket);
	if (followup != 0) {
		if (ticket_json(m, followup, &ticket, err, errlen) != 1)
			return -1;
		json_object_set_new(res->reply, "followup", ticket);
	}
	return 0;
}

int
store_ticket_transition(MYSQL *m, const struct ticket_actor *a, const struct ticket_change *c,
                        int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct change_arg x = {a, c, now_ms};

	return ticket_tx_run(m, change_tx, &x, res, err, errlen);
}

/* store_ticket_add_note */

struct note_arg {
	const struct ticket_actor *a;
	const struct ticket_note *n;
	int64_t now_ms;
};

/* Insert the note row: 0 and *note_id, -1. */
static int
note_insert(MYSQL *m, const struct note_arg *x, uint64_t ticket_id, uint64_t *note_id, char *err,
            size_t errlen)
{
	MYSQL_BIND b[5];
	unsigned long len[5];
	unsigned int agent = x->a->agent_id;
	char when[48];

	ticket_format_time(x->now_ms, when);
	bind_u64(&b[0], &ticket_id);
	bind_uint(&b[1], &agent);
	bind_str(&b[2], x->n->visibility, &len[2]);
	bind_str(&b[3], x->n->body, &len[3]);
	bind_str(&b[4], when, &len[4]);
	return store_insert(m,
	                    "INSERT INTO ticket_notes (ticket_id, author_kind, author_agent_id, "
	                    "visibility, body, created_at) VALUES (?, 'agent', ?, ?, ?, ?)",
	                    b, note_id, err, errlen);
}

/* A note leaves the ticket's fields and version alone: only the chain
 * head moves, serialised by the row lock, so a note never makes someone
 * else's transition stale. A version given is still checked. */
static int
note_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct note_arg *x = arg;
	struct ticket_chain ch;
	uint64_t id, note_id = 0;
	json_t *row, *detail;
	int rc;

	if ((rc = ticket_lock(m, x->a, &x->n->key, &row, err, errlen)) <= 0)
		return rc < 0 ? -1 : ticket_refuse_unknown(res, &x->n->key);
	id = row_uint(row, "id");
	if (x->n->has_version && row_uint(row, "version") != x->n->version)
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "ticket changed since version %u (now %u)",
		                   x->n->version, (unsigned int)row_uint(row, "version"));
	else if ((rc = ticket_row_chain(row, &ch, err, errlen)) == 0)
		rc = note_insert(m, x, id, &note_id, err, errlen);
	if (rc == 0) {
		detail = json_pack("{s:I}", "note_id", (json_int_t)note_id);
		rc = ticket_event_append(m, id, &ch, x->a, "note", NULL, x->n->visibility, detail,
		                         x->now_ms, err, errlen);
		json_decref(detail);
	}
	if (rc == 0 && strcmp(x->n->visibility, "customer") == 0) {
		int st = ticket_state_parse(row_str(row, "state"));
		rc = ticket_sla_hook(m, id, SLA_HOOK_RESPONDED, 0, st, st, x->now_ms, res, err,
		                     errlen);
	}
	if (rc == 0)
		res->reply = json_pack("{s:{s:I,s:s,s:s,s:I},s:{s:I,s:s,s:I}}", "note", "id",
		                       (json_int_t)note_id, "visibility", x->n->visibility,
		                       "author", x->a->user, "created_at", (json_int_t)x->now_ms,
		                       "ticket", "id", (json_int_t)id, "ref", row_str(row, "ref"),
		                       "version", (json_int_t)row_uint(row, "version"));
	json_decref(row);
	return rc;
}

int
store_ticket_add_note(MYSQL *m, const struct ticket_actor *a, const struct ticket_note *n,
                      int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct note_arg x = {a, n, now_ms};

	return ticket_tx_run(m, note_tx, &x, res, err, errlen);
}

/* store_ticket_update */

struct update_arg {
	const struct ticket_actor *a;
	const struct ticket_update *u;
	int64_t now_ms;
};

/* A ticket's fields as ticket.update sees them; 0 for a NULL number, NULL
 * for a NULL string. */
struct update_fields {
	const char *subject, *kind, *language, *product_line;
	unsigned int severity, priority;
	uint64_t customer_id, order_id;
};

/* The customer of order id, followed to its survivor: 0 and *customer, 1
 * refused (not_found), -1. */
static int
order_customer(MYSQL *m, uint64_t id, uint64_t *customer, struct ticket_result *res, char *err,
               size_t errlen)
{
	MYSQL_BIND p[1];
	json_t *row;
	uint64_t c;
	int rc;

	bind_u64(&p[0], &id);
	if ((rc = ticket_query_one(m, "SELECT customer_id FROM orders WHERE id = ?", p, &row, err,
	                           errlen)) <= 0)
		return rc < 0
		           ? -1
		           : ticket_refuse(res, CC_ERR_NOT_FOUND, "no order with id %" PRIu64, id);
	c = row_uint(row, "customer_id");
	json_decref(row);
	return customer_survivor(m, c, customer, res, err, errlen);
}

/* A number as JSON, null for 0 (an unset column). */
static json_t *
num_or_null(uint64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

/* A string as JSON, null for NULL. */
static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Note field [old, new] in d when they differ. */
static void
diff_num(json_t *d, const char *field, uint64_t old, uint64_t new)
{
	if (old != new)
		json_object_set_new(d, field,
		                    json_pack("[o,o]", num_or_null(old), num_or_null(new)));
}

static void
diff_str(json_t *d, const char *field, const char *old, const char *new)
{
	if ((old == NULL) != (new == NULL) || (old && strcmp(old, new) != 0))
		json_object_set_new(d, field,
		                    json_pack("[o,o]", str_or_null(old), str_or_null(new)));
}

/* Work out the new fields from the locked row and the request, and check
 * them together (severity grades complaints only; an order belongs to the
 * ticket's customer): 0, 1 refused, -1. new_customer and order_customer
 * are the lookups made before the lock. */
static int
update_plan(MYSQL *m, const struct update_arg *x, const json_t *row, uint64_t new_customer,
            uint64_t order_cust, struct update_fields *o, struct update_fields *n,
            struct ticket_result *res, char *err, size_t errlen)
{
	const struct ticket_update *u = x->u;
	int was_complaint, is_complaint;
	uint64_t cust;
	int rc;

	o->subject = row_str(row, "subject");
	o->kind = row_str(row, "kind");
	o->language = row_str(row, "language");
	o->product_line = row_str(row, "product_line");
	o->severity = (unsigned int)row_uint(row, "severity");
	o->priority = (unsigned int)row_uint(row, "priority");
	o->customer_id = row_uint(row, "customer_id");
	o->order_id = row_uint(row, "order_id");
	*n = *o;
	if (u->set & UPD_SUBJECT)
		n->subject = u->subject;
	if (u->set & UPD_KIND)
		n->kind = u->kind;
	if (u->set & UPD_LANGUAGE)
		n->language = u->language[0] ? u->language : NULL;
	if (u->set & UPD_PRODUCT)
		n->product_line = u->product_line[0] ? u->product_line : NULL;
	if (u->set & UPD_PRIORITY)
		n->priority = (unsigned int)u->priority;
	if (u->set & UPD_CUSTOMER)
		n->customer_id = new_customer;
	if (u->set & UPD_ORDER)
		n->order_id = u->order_id;
	was_complaint = strcmp(o->kind, "complaint") == 0;
	is_complaint = strcmp(n->kind, "complaint") == 0;
	if (u->set & UPD_SEVERITY) {
		if (u->severity != 0 && !is_complaint)
			return ticket_refuse(
			    res, CC_ERR_BAD_REQUEST,
			    "severity grades complaints only; this ticket is a%s %s",
			    strchr("aeiou", n->kind[0]) ? "n" : "", n->kind);
		if (u->severity == 0 && is_complaint && o->severity != 0)
			return ticket_refuse(
			    res, CC_ERR_BAD_REQUEST,
			    "a complaint's severity can be changed (1 to 4) but not cleared; "
			    "it is cleared when the kind changes from complaint");
		n->severity = (unsigned int)u->severity;
	}
	if (was_complaint && !is_complaint)
		n->severity = 0; /* the grade goes with the kind */
	if (n->order_id == 0 || n->customer_id == 0 ||
	    (n->order_id == o->order_id && n->customer_id == o->customer_id))
		return 0;
	if (!(u->set & UPD_ORDER) &&
	    (rc = order_customer(m, n->order_id, &order_cust, res, err, errlen)) != 0)
		return rc;
	if ((rc = customer_survivor(m, n->customer_id, &cust, res, err, errlen)) != 0)
		return rc;
	if (order_cust != cust)
		return ticket_refuse(res, CC_ERR_BAD_REQUEST,
		                     "order %" PRIu64 " belongs to customer %" PRIu64
		                     ", not to the ticket's customer %" PRIu64,
		                     n->order_id, order_cust, n->customer_id);
	return 0;
}

/* The event detail: {field: [old, new]} for every field that changed. */
static json_t *
update_detail(const struct update_fields *o, const struct update_fields *n)
{
	json_t *d = json_object();

	diff_str(d, "subject", o->subject, n->subject);
	diff_str(d, "kind", o->kind, n->kind);
	diff_num(d, "severity", o->severity, n->severity);
	diff_num(d, "priority", o->priority, n->priority);
	diff_str(d, "language", o->language, n->language);
	diff_str(d, "product_line", o->product_line, n->product_line);
	diff_num(d, "customer_id", o->customer_id, n->customer_id);
	diff_num(d, "order_id", o->order_id, n->order_id);
	return d;
}

/* The UPDATE under the version check: 0, 1 (the version moved), -1. */
static int
update_write(MYSQL *m, uint64_t id, unsigned int version, const struct update_fields *n,
             struct ticket_result *res, char *err, size_t errlen)
{
	MYSQL_BIND b[10];
	unsigned long len[10];
	my_bool nul[10];
	unsigned int severity = n->severity, priority = n->priority;
	uint64_t customer = n->customer_id, order = n->order_id;
	unsigned long long changed = 0;

	bind_str(&b[0], n->subject, &len[0]);
	bind_str(&b[1], n->kind, &len[1]);
	bind_uint(&b[2], &severity);
	nul[2] = severity == 0;
	b[2].is_null = &nul[2];
	bind_uint(&b[3], &priority);
	bind_nstr(&b[4], n->language, &len[4], &nul[4]);
	bind_u64(&b[5], &customer);
	nul[5] = customer == 0;
	b[5].is_null = &nul[5];
	bind_u64(&b[6], &order);
	nul[6] = order == 0;
	b[6].is_null = &nul[6];
	bind_nstr(&b[7], n->product_line, &len[7], &nul[7]);
	bind_u64(&b[8], &id);
	bind_uint(&b[9], &version);
	if (store_exec(m,
	               "UPDATE tickets SET subject = ?, kind = ?, severity = ?, priority = ?, "
	               "language = ?, customer_id = ?, order_id = ?, product_line = ?, "
	               "version = version + 1 WHERE id = ? AND version = ?",
	               b, err, errlen, &changed) != 0)
		return -1;
	if (changed != 1)
		return ticket_refuse(res, CC_ERR_CONFLICT, "ticket changed since version %u",
		                     version);
	return 0;
}

static int
update_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct update_arg *x = arg;
	const struct ticket_update *u = x->u;
	struct update_fields o = {0}, n = {0};
	struct ticket_chain ch;
	uint64_t id, new_customer = 0, order_cust = 0;
	json_t *row, *detail = NULL, *ticket, *changed;
	const char *key;
	json_t *v;
	int rc, st;

	if ((u->set & UPD_CUSTOMER) && u->customer_id != 0 &&
	    (rc = customer_survivor(m, u->customer_id, &new_customer, res, err, errlen)) != 0)
		return rc;
	if ((u->set & UPD_ORDER) && u->order_id != 0 &&
	    (rc = order_customer(m, u->order_id, &order_cust, res, err, errlen)) != 0)
		return rc;
	if ((rc = ticket_lock(m, x->a, &u->key, &row, err, errlen)) <= 0)
		return rc < 0 ? -1 : ticket_refuse_unknown(res, &u->key);
	id = row_uint(row, "id");
	st = ticket_state_parse(row_str(row, "state"));
	if (row_uint(row, "version") != u->version)
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "ticket changed since version %u (now %u)",
		                   u->version, (unsigned int)row_uint(row, "version"));
	else if (st == TS_CLOSED)
		rc = ticket_refuse(
		    res, CC_ERR_CONFLICT,
		    "ticket %s is closed and can no longer be updated; only open tickets "
		    "can (reopen opens a follow-up)",
		    row_str(row, "ref"));
	else if ((st == TS_QUEUED || st == TS_OFFERED) && x->a->role == ROLE_AGENT &&
	         (u->set & UPD_PRIORITY) && (uint64_t)u->priority != row_uint(row, "priority"))
		/* the priority orders the queue's line: a supervisor's call */
		rc = ticket_refuse(res, CC_ERR_FORBIDDEN,
		                   "ticket %s is waiting in a queue: only a supervisor can change "
		                   "its priority",
		                   row_str(row, "ref"));
	else if ((rc = update_plan(m, x, row, new_customer, order_cust, &o, &n, res, err,
	                           errlen)) == 0 &&
	         json_object_size(detail = update_detail(&o, &n)) == 0)
		rc = ticket_refuse(res, CC_ERR_BAD_REQUEST,
		                   "nothing to change: every field given already has that value");
	if (rc == 0 && (rc = ticket_row_chain(row, &ch, err, errlen)) == 0 &&
	    (rc = update_write(m, id, u->version, &n, res, err, errlen)) == 0)
		rc = ticket_event_append(m, id, &ch, x->a, "update", NULL, NULL, detail, x->now_ms,
		                         err, errlen);
	if (rc == 0 && (json_object_get(detail, "kind") || json_object_get(detail, "severity") ||
	                json_object_get(detail, "priority")))
		rc = ticket_sla_hook(m, id, SLA_HOOK_UPDATED, 0, st, st, x->now_ms, res, err,
		                     errlen);
	json_decref(row);
	if (rc == 0 && ticket_json(m, id, &ticket, err, errlen) != 1)
		rc = -1;
	if (rc == 0) {
		changed = json_array();
		json_object_foreach(detail, key, v)
		    json_array_append_new(changed, json_string(key));
		res->reply = json_pack("{s:o,s:o}", "ticket", ticket, "changed", changed);
	}
	json_decref(detail);
	return rc;
}

int
store_ticket_update(MYSQL *m, const struct ticket_actor *a, const struct ticket_update *u,
                    int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct update_arg x = {a, u, now_ms};

	return ticket_tx_run(m, update_tx, &x, res, err, errlen);
}

/* Reads */

/* Events (newest last) with their detail parsed back into JSON. */
static int
show_events(MYSQL *m, uint64_t id, json_t *out, char *err, size_t errlen)
{
	MYSQL_BIND p[2];
	unsigned int limit = TICKET_SHOW_EVENTS;
	json_t *rows = json_array();
	size_t n;

	bind_u64(&p[0], &id);
	bind_uint(&p[1], &limit);
	if (query_json(m,
	               "SELECT seq, actor, op, old_value, new_value, detail, "
	               "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at) DIV 1000"
	               " AS time FROM ticket_events WHERE ticket_id = ? "
	               "ORDER BY seq DESC LIMIT ?",
	               p, rows, err, errlen) != 0) {
		json_decref(rows);
		return -1;
	}
	for (n = json_array_size(rows); n > 0; n--) {
		json_t *e = json_array_get(rows, n - 1);
		const char *d = row_str(e, "detail");
		json_t *parsed = d ? json_loads(d, 0, NULL) : NULL;

		if (parsed != NULL)
			json_object_set_new(e, "detail", parsed);
		json_array_append(out, e);
	}
	json_decref(rows);
	return 0;
}

int
store_ticket_show(MYSQL *m, const struct ticket_actor *a, const struct ticket_key *k,
                  struct ticket_result *res, char *err, size_t errlen)
{
	struct ticket_fence f;
	MYSQL_BIND p[4];
	unsigned long len;
	unsigned int limit = TICKET_SHOW_NOTES;
	uint64_t id = k->id;
	json_t *ticket, *notes, *events, *links, *complaint;
	int rc;

	res->code = CC_OK;
	if (fence_of(m, a, &f, err, errlen) != 0)
		return -1;
	fence_bind(&f, &p[1]);
	if (id != 0) {
		bind_u64(&p[0], &id);
		rc = ticket_query_one(
		    m, "SELECT " TICKET_COLUMNS TICKET_FROM " WHERE t.id = ?" FENCE_SQL, p, &ticket,
		    err, errlen);
	} else {
		bind_str(&p[0], k->ref, &len);
		rc = ticket_query_one(
		    m, "SELECT " TICKET_COLUMNS TICKET_FROM " WHERE t.ref = ?" FENCE_SQL, p,
		    &ticket, err, errlen);
	}
	if (rc <= 0)
		return rc < 0 ? -1 : (ticket_refuse_unknown(res, k), 0);
	id = row_uint(ticket, "id");
	res->reply =
	    json_pack("{s:o,s:[],s:[],s:[]}", "ticket", ticket, "notes", "events", "links");
	notes = json_object_get(res->reply, "notes");
	events = json_object_get(res->reply, "events");
	links = json_object_get(res->reply, "links");
	if (store_sla_show(m, id, res->reply, err, errlen) != 0)
		return -1;
	bind_u64(&p[0], &id);
	bind_uint(&p[1], &limit);
	if (query_json(m,
	               "SELECT n.id, n.author_kind, a.username AS author, n.visibility, n.body, "
	               "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', n.created_at) DIV 1000"
	               " AS created_at FROM ticket_notes n LEFT JOIN agents a "
	               "ON a.id = n.author_agent_id WHERE n.ticket_id = ? "
	               "ORDER BY n.id DESC LIMIT ?",
	               p, notes, err, errlen) != 0 ||
	    show_events(m, id, events, err, errlen) != 0)
		return -1;
	if (store_link_list(m, id, &links, err, errlen) != 0)
		return -1;
	json_object_set_new(res->reply, "links", links);
	/* a complaint filed on the web: what the customer told the form */
	if ((rc = store_web_complaint_json(m, id, &complaint, err, errlen)) < 0)
		return -1;
	if (rc == 1)
		json_object_set_new(res->reply, "complaint", complaint);
	return 0;
}

int
store_ticket_list(MYSQL *m, const struct ticket_actor *a, const struct ticket_filter *f,
                  struct ticket_result *res, char *err, size_t errlen)
{
	struct ticket_fence fence;
	char sql[2048];
	MYSQL_BIND p[8];
	unsigned long len[8];
	unsigned int owner = f->owner_id, limit = f->limit;
	uint64_t after = f->after_id;
	const char *state = f->state >= 0 ? ticket_state_name((enum ticket_state)f->state) : NULL;
	int np = 0, off;
	json_t *rows = json_array(), *last;

	res->code = CC_OK;
	if (fence_of(m, a, &fence, err, errlen) != 0) {
		json_decref(rows);
		return -1;
	}
	off = snprintf(sql, sizeof sql,
	               "SELECT " TICKET_COLUMNS TICKET_FROM " WHERE 1 = 1" FENCE_SQL);
	fence_bind(&fence, &p[np]);
	np += 3;
	/* only fixed fragments are appended; every value is a parameter */
	if (owner != 0) {
		off += snprintf(sql + off, sizeof sql - off, " AND t.owner_agent_id = ?");
		bind_uint(&p[np++], &owner);
	}
	if (f->queue[0]) {
		off += snprintf(sql + off, sizeof sql - off, " AND q.code = ?");
		bind_str(&p[np], f->queue, &len[np]);
		np++;
	}
	if (state != NULL) {
		off += snprintf(sql + off, sizeof sql - off, " AND t.state = ?");
		bind_str(&p[np], state, &len[np]);
		np++;
	}
	if (after != 0) {
		off += snprintf(sql + off, sizeof sql - off, " AND t.id < ?");
		bind_u64(&p[np++], &after);
	}
	snprintf(sql + off, sizeof sql - off, " ORDER BY t.id DESC LIMIT ?");
	bind_uint(&p[np++], &limit);
	if (query_json(m, sql, p, rows, err, errlen) != 0) {
		json_decref(rows);
		return -1;
	}
	last = json_array_size(rows) == limit ? json_array_get(rows, limit - 1) : NULL;
	res->reply = json_pack("{s:o,s:o}", "tickets", rows, "next_after_id",
	                       last ? json_integer((json_int_t)row_uint(last, "id")) : json_null());
	return 0;
}

/* Verification */

/* An event row of the JSON from the verifier's query. */
static struct audit_text
jtext(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);
	struct audit_text t = {NULL, 0};

	if (json_is_string(v)) {
		t.ptr = json_string_value(v);
		t.len = json_string_length(v);
	}
	return t;
}

/* Fill e from an event row: 0, or -1 when its hashes are malformed. */
static int
event_from_row(const json_t *row, struct audit_event *e)
{
	memset(e, 0, sizeof *e);
	e->ticket_id = row_uint(row, "ticket_id");
	e->seq = (uint32_t)row_uint(row, "seq");
	e->actor_agent_id = (uint32_t)row_uint(row, "actor_agent_id");
	e->actor = jtext(row, "actor");
	e->op = jtext(row, "op");
	e->old_value = jtext(row, "old_value");
	e->new_value = jtext(row, "new_value");
	e->detail = jtext(row, "detail");
	e->time_ms = (int64_t)json_integer_value(json_object_get(row, "time_ms"));
	if (hex_decode(row_str(row, "prev_hash"), e->prev_hash, AUDIT_HASH_LEN) != 0 ||
	    hex_decode(row_str(row, "hash"), e->hash, AUDIT_HASH_LEN) != 0)
		return -1;
	return 0;
}

/* Verify the loaded rows against the head; 0 intact, 1 broken. */
static int
verify_rows(const char *ref, uint64_t id, const json_t *rows, const struct audit_anchor *head,
            char *msg, size_t msglen)
{
	size_t n = json_array_size(rows);
	struct audit_event *ev = calloc(n ? n : 1, sizeof *ev);
	struct audit_result r;
	char why[160];
	int out = 0;

	if (ev == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if (event_from_row(json_array_get(rows, i), &ev[i]) != 0) {
			snprintf(msg, msglen,
			         "%s: event id %" PRIu64 " (seq %" PRIu64 "): malformed hash", ref,
			         row_uint(json_array_get(rows, i), "id"),
			         row_uint(json_array_get(rows, i), "seq"));
			free(ev);
			return 1;
		}
	if (audit_verify(id, ev, n, NULL, head, &r) == AUDIT_OK) {
		snprintf(msg, msglen, "ok %zu events", n);
	} else {
		audit_result_message(&r, why, sizeof why);
		if (r.index < n)
			snprintf(msg, msglen, "%s: broken at event id %" PRIu64 " (seq %u): %s",
			         ref, row_uint(json_array_get(rows, r.index), "id"),
			         ev[r.index].seq, why);
		else
			snprintf(msg, msglen, "%s: broken after the last event: %s", ref, why);
		out = 1;
	}
	free(ev);
	return out;
}

int
store_ticket_verify(MYSQL *m, const char *ref, char *msg, size_t msglen, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long len;
	struct audit_anchor head = {0};
	uint64_t id;
	json_t *t, *rows;
	int rc;

	bind_str(&p[0], ref, &len);
	if ((rc = ticket_query_one(
	         m,
	         "SELECT id, last_event_seq, HEX(last_event_hash) AS head FROM tickets "
	         "WHERE ref = ?",
	         p, &t, err, errlen)) <= 0) {
		snprintf(msg, msglen, "no ticket with ref %s", ref);
		return rc < 0 ? -1 : 2;
	}
	id = row_uint(t, "id");
	head.seq = (uint32_t)row_uint(t, "last_event_seq");
	if (head.seq > 0 && hex_decode(row_str(t, "head"), head.hash, AUDIT_HASH_LEN) != 0) {
		json_decref(t);
		snprintf(msg, msglen, "%s: malformed chain head on the ticket", ref);
		return 1;
	}
	json_decref(t);
	rows = json_array();
	bind_u64(&p[0], &id);
	if (query_json(
	        m,
	        "SELECT id, ticket_id, seq, actor_agent_id, actor, op, old_value, new_value, "
	        "detail, "
	        "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at) DIV 1000"
	        " AS time_ms, HEX(prev_hash) AS prev_hash, "
	        "HEX(hash) AS hash FROM ticket_events WHERE "
	        "ticket_id = ? ORDER BY seq",
	        p, rows, err, errlen) != 0) {
		json_decref(rows);
		return -1;
	}
	rc = verify_rows(ref, id, rows, &head, msg, msglen);
	json_decref(rows);
	return rc;
}

int
store_ticket_create_body(MYSQL *m, const struct ticket_actor *a, const struct ticket_new *t,
                         int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct create_arg c = {a, t, now_ms};

	return create_tx(m, &c, res, err, errlen);
}

/* store_ticket_create_many */

/* One new tickets row, bound (the columns of ticket_insert and the SLA's). */
#define NEW_PARAMS 21
struct new_row {
	MYSQL_BIND b[NEW_PARAMS];
	unsigned long len[NEW_PARAMS];
	my_bool nul[NEW_PARAMS];
	char ref[TICKET_REF_MAX + 1], when[48], due[SLA_METRIC_COUNT][48];
	const char *state;
	uint64_t customer, order;
	unsigned int severity, priority, site, queue, policy;
	struct sla_new_plan plan;
};

/* Bind row i of the INSERT (ref drawn), with its SLA plan made. */
static int
new_row_make(MYSQL *m, struct new_row *r, const struct ticket_actor *a, const struct ticket_new *t,
             const char *version, int64_t now_ms, struct ticket_result *res, char *err,
             size_t errlen)
{
	struct ticket_attempt at = {.state = TS_NEW, .action = TA_ENQUEUE, .role = a->role};
	const struct ticket_transition *row;
	char why[sizeof res->msg];
	enum ticket_refusal refusal = ticket_transition_check(&at, &row, why, sizeof why);
	struct sla_new in;

	if (refusal != TICKET_OK)
		return ticket_refuse(res, ticket_refusal_err(refusal), "%s", why);
	memset(r, 0, sizeof *r);
	r->state = ticket_state_name(row->to);
	in = (struct sla_new){
	    .kind = t->kind,
	    .channel = t->channel,
	    .severity = t->severity,
	    .priority = t->priority,
	    .state = (int)row->to,
	    .site_id = t->site_id,
	    .flags = a->role != ROLE_SERVICE && channel_live(t->channel) ? SLA_ANSWERED : 0,
	    .now_ms = now_ms};
	if (store_sla_plan_new(m, version, &in, &r->plan, err, errlen) != 0)
		return -1;
	if (ref_new(now_ms, r->ref) != 0) {
		snprintf(err, errlen, "RAND_bytes failed");
		return -1;
	}
	r->customer = t->customer_id;
	r->order = t->order_id;
	r->severity = (unsigned int)t->severity;
	r->priority = (unsigned int)t->priority;
	r->site = t->site_id;
	r->queue = t->queue_id;
	r->policy = r->plan.policy_id;
	ticket_format_time(now_ms, r->when);
	bind_str(&r->b[0], r->ref, &r->len[0]);
	bind_str(&r->b[1], t->kind, &r->len[1]);
	bind_str(&r->b[2], t->channel, &r->len[2]);
	bind_uint(&r->b[3], &r->severity);
	r->nul[3] = r->severity == 0;
	r->b[3].is_null = &r->nul[3];
	bind_uint(&r->b[4], &r->priority);
	bind_str(&r->b[5], r->state, &r->len[5]);
	bind_str(&r->b[6], t->subject, &r->len[6]);
	bind_u64(&r->b[7], &r->customer);
	r->nul[7] = r->customer == 0;
	r->b[7].is_null = &r->nul[7];
	bind_uint(&r->b[8], &r->site);
	bind_uint(&r->b[9], &r->queue);
	bind_uint(&r->b[10], &r->site); /* owning site */
	bind_nstr(&r->b[11], (row->flags & TF_ENQUEUE) ? r->when : NULL, &r->len[11], &r->nul[11]);
	bind_str(&r->b[12], r->when, &r->len[12]);
	bind_nstr(&r->b[13], t->language[0] ? t->language : NULL, &r->len[13], &r->nul[13]);
	bind_u64(&r->b[14], &r->order);
	r->nul[14] = r->order == 0;
	r->b[14].is_null = &r->nul[14];
	bind_blob(&r->b[15], t->status_token_hash, &r->len[15], 32);
	r->nul[15] = t->status_token_hash == NULL;
	r->b[15].is_null = &r->nul[15];
	for (int i = 0; i < SLA_METRIC_COUNT; i++) {
		r->nul[16 + i] = r->plan.due_ms[i] == SLA_NEVER;
		if (!r->nul[16 + i])
			ticket_format_time(r->plan.due_ms[i], r->due[i]);
		bind_str(&r->b[16 + i], r->due[i], &r->len[16 + i]);
		r->b[16 + i].is_null = &r->nul[16 + i];
	}
	_Static_assert(SLA_METRIC_COUNT == 3, "three due columns");
	bind_uint(&r->b[19], &r->policy);
	r->nul[19] = r->policy == 0;
	r->b[19].is_null = &r->nul[19];
	bind_nstr(&r->b[20], r->plan.responded ? r->when : NULL, &r->len[20], &r->nul[20]);
	return 0;
}

/* The create event's detail, as create_tx writes it. */
static json_t *
create_detail(const struct ticket_new *t)
{
	json_t *detail = json_pack("{s:s,s:s,s:i}", "kind", t->kind, "channel", t->channel,
	                           "priority", t->priority);

	if (t->queue[0])
		json_object_set_new(detail, "queue", json_string(t->queue));
	if (t->detail != NULL)
		json_object_update(detail, t->detail);
	return detail;
}

/* Each ticket's create event, and its chain head on the row (one UPDATE
 * joined to the heads): 0 or -1. */
static int
create_many_events(MYSQL *m, const struct ticket_actor *const *a, const struct ticket_new *const *t,
                   const int64_t *now_ms, size_t n, const uint64_t *ids, const struct new_row *rows,
                   char *err, size_t errlen)
{
	struct event_row *ev = calloc(n, sizeof *ev);
	MYSQL_BIND *b = calloc(n * EVENT_PARAMS, sizeof *b), *h = calloc(n * 2, sizeof *h);
	unsigned long *hlen = calloc(n, sizeof *hlen);
	uint64_t *hid = calloc(n, sizeof *hid);
	struct ticket_chain start = {0};
	size_t made = 0;
	int rc = -1;

	if (ev == NULL || b == NULL || h == NULL || hlen == NULL || hid == NULL)
		abort();
	for (; made < n; made++) {
		json_t *detail = create_detail(t[made]);
		int bad = event_row_make(&ev[made], ids[made], &start, a[made], "create", NULL,
		                         rows[made].state, detail, now_ms[made], err, errlen);

		json_decref(detail);
		if (bad) {
			made++;
			goto out;
		}
		memcpy(&b[made * EVENT_PARAMS], ev[made].b, sizeof ev[made].b);
		hid[made] = ids[made];
		bind_u64(&h[2 * made], &hid[made]);
		bind_blob(&h[2 * made + 1], ev[made].e.hash, &hlen[made], AUDIT_HASH_LEN);
	}
	if (store_exec_rows(m, EVENT_INSERT_HEAD, EVENT_INSERT_ROW, ", ", "", EVENT_PARAMS, n, b,
	                    NULL, err, errlen) != 0 ||
	    store_exec_rows(m, "UPDATE tickets t JOIN (", "SELECT ? AS id, ? AS h", " UNION ALL ",
	                    ") v ON v.id = t.id SET t.last_event_seq = 1, t.last_event_hash = v.h",
	                    2, n, h, NULL, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < made; i++)
		free(ev[i].text);
	free(ev);
	free(b);
	free(h);
	free(hlen);
	free(hid);
	return rc;
}

/* The replies: each ticket as ticket_json reads it, in chunks of at most
 * STORE_ROWS_MAX ids a query: 0 or -1. */
static int
create_many_replies(MYSQL *m, size_t n, const uint64_t *ids, const struct new_row *rows,
                    struct ticket_result *const *res, char *err, size_t errlen)
{
	MYSQL_BIND p[STORE_ROWS_MAX];
	uint64_t v[STORE_ROWS_MAX];

	for (size_t done = 0; done < n;) {
		size_t k = n - done < STORE_ROWS_MAX ? n - done : STORE_ROWS_MAX, got = 0;
		char *sql;
		json_t *arr = json_array(), *row;
		size_t i;
		int rc;

		for (i = 0; i < k; i++) {
			v[i] = ids[done + i];
			bind_u64(&p[i], &v[i]);
		}
		sql = store_sql_rows("SELECT " REPLY_COLUMNS " FROM tickets t LEFT JOIN " REPLY_FROM
		                     "WHERE t.id IN (",
		                     "?", ", ", ")", k);
		rc = query_json(m, sql, p, arr, err, errlen);
		free(sql);
		json_array_foreach(arr, i, row)
		{
			uint64_t id = row_uint(row, "id");

			if (rc != 0 || reply_names(m, row, err, errlen) != 0) {
				rc = -1;
				break;
			}
			for (size_t j = done; j < done + k; j++)
				if (ids[j] == id) {
					struct ticket_result *r = res[j];

					json_decref(r->reply);
					r->reply = json_pack("{s:O}", "ticket", row);
					r->sla_ticket = id;
					r->sla_wake_ms = rows[j].plan.wake_ms;
					got++;
				}
		}
		json_decref(arr);
		if (rc != 0)
			return -1;
		if (got != k) {
			snprintf(err, errlen, "%zu of %zu new tickets read back", got, k);
			return -1;
		}
		done += k;
	}
	return 0;
}

int
store_ticket_create_many(MYSQL *m, const struct ticket_actor *const *a,
                         const struct ticket_new *const *t, const int64_t *now_ms, size_t n,
                         struct ticket_result *const *res, size_t *bad, char *err, size_t errlen)
{
	struct new_row *rows = calloc(n, sizeof *rows);
	MYSQL_BIND *b = calloc(n * NEW_PARAMS, sizeof *b);
	uint64_t *ids = calloc(n, sizeof *ids);
	char version[260];
	int rc = -1;

	if (rows == NULL || b == NULL || ids == NULL)
		abort();
	*bad = 0;
	if (store_sla_version(m, version, sizeof version, err, errlen) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (t[i]->queue_id == 0 || t[i]->site_id == 0 || !t[i]->customer_current ||
		    t[i]->severity == 1) {
			snprintf(err, errlen, "a new ticket without its lookups in a batch");
			goto out;
		}
		if ((rc = new_row_make(m, &rows[i], a[i], t[i], version, now_ms[i], res[i], err,
		                       errlen)) != 0) {
			*bad = i;
			goto out;
		}
		memcpy(&b[i * NEW_PARAMS], rows[i].b, sizeof rows[i].b);
	}
	rc = -1;
	if (store_exec_rows(m,
	                    "INSERT INTO tickets (ref, kind, channel, severity, priority, state, "
	                    "subject, customer_id, site_id, queue_id, owning_site_id, enqueued_at, "
	                    "created_at, language, order_id, status_token_hash, "
	                    "first_response_due, next_response_due, resolution_due, "
	                    "sla_policy_id, first_responded_at) VALUES ",
	                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ",
	                    "", NEW_PARAMS, n, b, ids, err, errlen) != 0 ||
	    create_many_events(m, a, t, now_ms, n, ids, rows, err, errlen) != 0)
		goto out;
	{
		struct sla_new_plan *plans = calloc(n, sizeof *plans);

		if (plans == NULL)
			abort();
		for (size_t i = 0; i < n; i++)
			plans[i] = rows[i].plan;
		rc = store_sla_insert_new(m, ids, plans, n, err, errlen);
		free(plans);
	}
	if (rc == 0)
		rc = create_many_replies(m, n, ids, rows, res, err, errlen);
out:
	free(rows);
	free(b);
	free(ids);
	return rc;
}

int
store_ticket_get(MYSQL *m, uint64_t id, json_t **out, char *err, size_t errlen)
{
	return ticket_json(m, id, out, err, errlen);
}
