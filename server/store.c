/* store.c: prepared statements over MariaDB Connector/C. */
#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The mysql errno of this thread's last failure. */
static _Thread_local unsigned int store_last_errno;

/* Deadlock or lock wait timeout: the transaction may simply be run again. */
int
store_retryable(unsigned int e)
{
	return e == 1213 || e == 1205; /* ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT */
}

/* The statement cache.
 *
 * Why: a statement prepared per call costs a round trip to the server
 * (COM_STMT_PREPARE) before the one that runs it, and a ticket change runs
 * a dozen statements, so half of its round trips were prepares. Each
 * thread that talks to the database (a db worker owns exactly one
 * connection) keeps the statements it prepared, keyed by their SQL text,
 * and runs them again with new bindings.
 *
 * Bounds: at most STORE_STMT_CACHE statements a thread; the least recently
 * used one not lent out is closed to make room. The project's SQL is a
 * fixed set of texts (a multi-row statement has one text per number of
 * rows, 1 to STORE_ROWS_MAX), so in practice nothing is evicted.
 *
 * Invalidation: the cache belongs to one connection, named by its MYSQL
 * pointer and the server's connection id. A lookup with another connection
 * (or the same pointer after a reconnect: new connection id) drops every
 * statement first; db.c drops the cache when it closes a worker's
 * connection (lost, idle and dead, or shutdown), before the pointer can be
 * reused. A statement whose use failed is closed, not kept: it may belong
 * to a dead connection. So a stale MYSQL_STMT is never run.
 *
 * Between uses a statement's result is freed (mysql_stmt_free_result, on
 * the client only). mysql_stmt_reset is not needed (no cursors, no long
 * data) and would cost a round trip of its own. */
#define STORE_STMT_CACHE 640

struct store_stmt_entry {
	MYSQL_STMT *st;
	char *sql;
	uint64_t hash;
	uint64_t used; /* tick of the last lookup: the smallest is evicted */
	int lent;      /* handed out and not yet given back */
};

struct store_stmt_cache {
	MYSQL *m;                /* the connection the statements belong to */
	unsigned long thread_id; /* its server connection id */
	uint64_t tick;
	unsigned n;
	struct store_stmt_entry e[STORE_STMT_CACHE];
	unsigned long long hits, misses;
};

static _Thread_local struct store_stmt_cache store_cache;

/* The AUTO_INCREMENT settings of this thread's connection (see
 * store_cache: named by pointer and server connection id). */
static _Thread_local struct {
	MYSQL *m;
	unsigned long thread_id;
	int ok;
	uint64_t step;
} store_autoinc;

/* FNV-1a of the SQL text. */
static uint64_t
store_sql_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Forget entry i, closing its statement unless it is lent out (its
 * borrower closes it when giving it back, finding it no longer cached). */
static void
store_cache_forget(unsigned i)
{
	struct store_stmt_cache *c = &store_cache;

	if (!c->e[i].lent)
		mysql_stmt_close(c->e[i].st);
	free(c->e[i].sql);
	c->e[i] = c->e[--c->n];
}

/* The names store_name_of has read on this thread's connection: for each
 * kind, an array indexed by id (ids up to STORE_NAME_IDS; beyond, every
 * call reads). */
#define STORE_NAME_IDS (1u << 20)
static _Thread_local struct {
	char **v;
	unsigned cap;
} store_names[STORE_NAME__COUNT];

static void
store_names_drop(void)
{
	for (int k = 0; k < STORE_NAME__COUNT; k++) {
		for (unsigned i = 0; i < store_names[k].cap; i++)
			free(store_names[k].v[i]);
		free(store_names[k].v);
		store_names[k].v = NULL;
		store_names[k].cap = 0;
	}
}

void
store_stmt_cache_drop(void)
{
	while (store_cache.n > 0)
		store_cache_forget(store_cache.n - 1);
	store_cache.m = NULL;
	store_cache.thread_id = 0;
	store_names_drop(); /* the next connection may be to another database */
	memset(&store_autoinc, 0, sizeof store_autoinc);
}

void
store_stmt_cache_stats(unsigned *cached, unsigned long long *hits, unsigned long long *misses)
{
	*cached = store_cache.n;
	*hits = store_cache.hits;
	*misses = store_cache.misses;
}

/* The cache entry holding st, or -1. */
static int
store_cache_find(const MYSQL_STMT *st)
{
	for (unsigned i = 0; i < store_cache.n; i++)
		if (store_cache.e[i].st == st)
			return (int)i;
	return -1;
}

/* Fill err from a statement (or the connection when st is NULL). */
int
store_fail(MYSQL *m, MYSQL_STMT *st, char *err, size_t errlen)
{
	int i;

	store_last_errno = st ? mysql_stmt_errno(st) : mysql_errno(m);
	snprintf(err, errlen, "%s", st ? mysql_stmt_error(st) : mysql_error(m));
	if (st) {
		/* a statement that failed is not trusted again */
		if ((i = store_cache_find(st)) >= 0) {
			store_cache.e[i].lent = 0;
			store_cache_forget((unsigned)i);
		} else
			mysql_stmt_close(st);
	}
	return -1;
}

/* Prepare sql and bind params (may be NULL). */
MYSQL_STMT *
store_prepare(MYSQL *m, const char *sql, MYSQL_BIND *params, char *err, size_t errlen)
{
	MYSQL_STMT *st = mysql_stmt_init(m);

	if (st == NULL) {
		store_fail(m, NULL, err, errlen);
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0 ||
	    (params && mysql_stmt_bind_param(st, params) != 0)) {
		store_fail(m, st, err, errlen);
		return NULL;
	}
	return st;
}

/* Make room for one more entry: evict the least recently used statement
 * that is not lent out. 0, or -1 when every entry is lent out. */
static int
store_cache_room(void)
{
	struct store_stmt_cache *c = &store_cache;
	int victim = -1;

	if (c->n < STORE_STMT_CACHE)
		return 0;
	for (unsigned i = 0; i < c->n; i++)
		if (!c->e[i].lent && (victim < 0 || c->e[i].used < c->e[victim].used))
			victim = (int)i;
	if (victim < 0)
		return -1;
	store_cache_forget((unsigned)victim);
	return 0;
}

/* A prepared statement for sql from this thread's cache. */
MYSQL_STMT *
store_stmt(MYSQL *m, const char *sql, MYSQL_BIND *params, char *err, size_t errlen)
{
	struct store_stmt_cache *c = &store_cache;
	unsigned long tid = mysql_thread_id(m);
	uint64_t h = store_sql_hash(sql);
	struct store_stmt_entry *e;
	MYSQL_STMT *st;
	char *copy;

	if (c->m != m || c->thread_id != tid) {
		store_stmt_cache_drop();
		c->m = m;
		c->thread_id = tid;
	}
	c->tick++;
	for (unsigned i = 0; i < c->n; i++) {
		e = &c->e[i];
		if (e->hash != h || e->lent || strcmp(e->sql, sql) != 0)
			continue;
		if (params && mysql_stmt_bind_param(e->st, params) != 0) {
			e->lent = 1;
			store_fail(m, e->st, err, errlen);
			return NULL;
		}
		e->lent = 1;
		e->used = c->tick;
		c->hits++;
		return e->st;
	}
	c->misses++;
	if ((st = store_prepare(m, sql, params, err, errlen)) == NULL)
		return NULL;
	/* no room (every statement lent out, or no memory): an uncached
	 * statement, closed when it is given back */
	if (store_cache_room() != 0 || (copy = strdup(sql)) == NULL)
		return st;
	e = &c->e[c->n++];
	e->st = st;
	e->sql = copy;
	e->hash = h;
	e->used = c->tick;
	e->lent = 1;
	return st;
}

/* Give back a statement from store_stmt after a successful use. */
void
store_stmt_done(MYSQL_STMT *st)
{
	int i = store_cache_find(st);

	if (i < 0) {
		mysql_stmt_close(st);
		return;
	}
	/* the rest of a result not read to the end goes too, on the client */
	mysql_stmt_free_result(st);
	store_cache.e[i].lent = 0;
}

/* Bind a string parameter. */
void
bind_str(MYSQL_BIND *b, const char *s, unsigned long *len)
{
	memset(b, 0, sizeof *b);
	*len = (unsigned long)strlen(s);
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)(uintptr_t)s;
	b->buffer_length = *len;
	b->length = len;
}

/* Bind a binary parameter of n bytes. */
void
bind_blob(MYSQL_BIND *b, const unsigned char *p, unsigned long *len, size_t n)
{
	memset(b, 0, sizeof *b);
	*len = (unsigned long)n;
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)(uintptr_t)p;
	b->buffer_length = *len;
	b->length = len;
}

/* Bind an unsigned int parameter or result. */
void
bind_uint(MYSQL_BIND *b, unsigned int *v)
{
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_LONG;
	b->buffer = v;
	b->is_unsigned = 1;
}

/* Bind a BIGINT UNSIGNED parameter or result. */
void
bind_u64(MYSQL_BIND *b, uint64_t *v)
{
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
	b->is_unsigned = 1;
}

/* Bind a signed int parameter or result. */
void
bind_int(MYSQL_BIND *b, int *v)
{
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_LONG;
	b->buffer = v;
}

/* Bind a string result into buf (size n); is_null/len report the value. */
void
bind_out_str(MYSQL_BIND *b, char *buf, size_t n, unsigned long *len, my_bool *is_null)
{
	memset(b, 0, sizeof *b);
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = buf;
	b->buffer_length = (unsigned long)n;
	b->length = len;
	b->is_null = is_null;
}

#define AGENT_COLUMNS                                                                              \
	"a.id, a.username, a.display_name, a.role, COALESCE(s.code, ''), a.password_hash, "        \
	"a.active, COALESCE(s.id, 0)"

/* Execute st (from store_stmt), fetch its one row into r and give st
 * back: 1 and the row, 0 no row, -1 (a value longer than its buffer is an
 * error: a truncated buffer is not terminated, never use it). */
static int
store_fetch_row(MYSQL *m, MYSQL_STMT *st, MYSQL_BIND *r, const char *table, char *err,
                size_t errlen)
{
	int rc;

	if (mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0)
		return store_fail(m, st, err, errlen);
	rc = mysql_stmt_fetch(st);
	store_stmt_done(st);
	if (rc == MYSQL_NO_DATA)
		return 0;
	if (rc != 0) {
		store_last_errno = 0;
		snprintf(err, errlen,
		         rc == MYSQL_DATA_TRUNCATED
		             ? "a %s row holds a value longer than its column allows"
		             : "fetch from %s failed",
		         table);
		return -1;
	}
	return 1;
}

/* Run a prepared agent query and fetch at most one row into out. */
static int
store_fetch_agent(MYSQL *m, MYSQL_STMT *st, struct agent_row *out, char *err, size_t errlen)
{
	MYSQL_BIND r[8];
	unsigned long len[8];
	my_bool nul[8];

	memset(out, 0, sizeof *out);
	bind_uint(&r[0], &out->id);
	bind_out_str(&r[1], out->username, sizeof out->username, &len[1], &nul[1]);
	bind_out_str(&r[2], out->display_name, sizeof out->display_name, &len[2], &nul[2]);
	bind_out_str(&r[3], out->role, sizeof out->role, &len[3], &nul[3]);
	bind_out_str(&r[4], out->site, sizeof out->site, &len[4], &nul[4]);
	bind_out_str(&r[5], out->password_hash, sizeof out->password_hash, &len[5], &nul[5]);
	bind_int(&r[6], &out->active);
	bind_uint(&r[7], &out->site_id);
	return store_fetch_row(m, st, r, "agents", err, errlen);
}

int
store_agent_by_username(MYSQL *m, const char *username, struct agent_row *out, char *err,
                        size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long ulen;
	MYSQL_STMT *st;

	bind_str(&p[0], username, &ulen);
	st = store_stmt(m,
	                "SELECT " AGENT_COLUMNS " FROM agents a LEFT JOIN sites s ON "
	                "s.id = a.site_id WHERE a.username = ?",
	                p, err, errlen);
	if (st == NULL)
		return -1;
	return store_fetch_agent(m, st, out, err, errlen);
}

int
store_session_lookup(MYSQL *m, const unsigned char digest[AUTH_TOKEN_HASH], struct agent_row *out,
                     char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long dlen;
	MYSQL_STMT *st;

	bind_blob(&p[0], digest, &dlen, AUTH_TOKEN_HASH);
	st = store_stmt(m,
	                "SELECT " AGENT_COLUMNS " FROM agent_sessions t JOIN agents a ON "
	                "a.id = t.agent_id LEFT JOIN sites s ON s.id = a.site_id "
	                "WHERE t.token_hash = ? AND t.expires_at > UTC_TIMESTAMP(3)",
	                p, err, errlen);
	if (st == NULL)
		return -1;
	return store_fetch_agent(m, st, out, err, errlen);
}

/* Execute a prepared write; -1 on failure. */
int
store_exec(MYSQL *m, const char *sql, MYSQL_BIND *p, char *err, size_t errlen,
           unsigned long long *affected)
{
	MYSQL_STMT *st = store_stmt(m, sql, p, err, errlen);

	if (st == NULL)
		return -1;
	if (mysql_stmt_execute(st) != 0)
		return store_fail(m, st, err, errlen);
	if (affected)
		*affected = (unsigned long long)mysql_stmt_affected_rows(st);
	store_stmt_done(st);
	return 0;
}

/* Execute a prepared INSERT; the AUTO_INCREMENT id it generated. */
int
store_insert(MYSQL *m, const char *sql, MYSQL_BIND *p, uint64_t *id, char *err, size_t errlen)
{
	MYSQL_STMT *st = store_stmt(m, sql, p, err, errlen);

	if (st == NULL)
		return -1;
	if (mysql_stmt_execute(st) != 0)
		return store_fail(m, st, err, errlen);
	*id = (uint64_t)mysql_stmt_insert_id(st);
	store_stmt_done(st);
	return 0;
}

char *
store_sql_rows(const char *head, const char *row, const char *sep, const char *tail, size_t k)
{
	size_t hl = strlen(head), rl = strlen(row), sl = strlen(sep), tl = strlen(tail);
	char *sql = malloc(hl + k * (rl + sl) + tl + 1), *p;

	if (sql == NULL)
		abort();
	memcpy(sql, head, hl);
	p = sql + hl;
	for (size_t i = 0; i < k; i++) {
		if (i > 0) {
			memcpy(p, sep, sl);
			p += sl;
		}
		memcpy(p, row, rl);
		p += rl;
	}
	memcpy(p, tail, tl + 1);
	return sql;
}

int
store_rows_ids_ok(MYSQL *m, char *err, size_t errlen)
{
	MYSQL_BIND r[2];
	long long mode = 0, step = 0;
	MYSQL_STMT *st;

	if (store_autoinc.m == m && store_autoinc.thread_id == mysql_thread_id(m))
		return store_autoinc.ok;
	if ((st = store_stmt(m, "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment",
	                     NULL, err, errlen)) == NULL)
		return -1;
	memset(r, 0, sizeof r);
	r[0].buffer_type = r[1].buffer_type = MYSQL_TYPE_LONGLONG;
	r[0].buffer = &mode;
	r[1].buffer = &step;
	if (mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_fetch(st) != 0)
		return store_fail(m, st, err, errlen);
	store_stmt_done(st);
	store_autoinc.m = m;
	store_autoinc.thread_id = mysql_thread_id(m);
	store_autoinc.ok = (mode == 0 || mode == 1) && step >= 1;
	store_autoinc.step = step >= 1 ? (uint64_t)step : 1;
	return store_autoinc.ok;
}

int
store_exec_rows(MYSQL *m, const char *head, const char *row, const char *sep, const char *tail,
                unsigned per_row, size_t n, MYSQL_BIND *b, uint64_t *ids, char *err, size_t errlen)
{
	size_t done = 0;

	while (done < n) {
		size_t k = n - done < STORE_ROWS_MAX ? n - done : STORE_ROWS_MAX;
		char *sql;
		MYSQL_STMT *st;

		sql = store_sql_rows(head, row, sep, tail, k);
		st = store_stmt(m, sql, &b[done * per_row], err, errlen);
		free(sql);
		if (st == NULL)
			return -1;
		if (mysql_stmt_execute(st) != 0)
			return store_fail(m, st, err, errlen);
		if (ids != NULL) {
			uint64_t first = (uint64_t)mysql_stmt_insert_id(st);

			if (mysql_stmt_affected_rows(st) != (my_ulonglong)k || first == 0 ||
			    store_autoinc.m != m) {
				store_stmt_done(st);
				snprintf(err, errlen, "a multi-row INSERT of %zu rows gave no ids",
				         k);
				return -1;
			}
			for (size_t i = 0; i < k; i++)
				ids[done + i] = first + i * store_autoinc.step;
		}
		store_stmt_done(st);
		done += k;
	}
	return 0;
}

/* Transactions are opened with START TRANSACTION and ended with COMMIT or
 * ROLLBACK, the session staying in autocommit throughout: a transaction
 * costs two round trips besides its statements, where
 * mysql_autocommit(0) ... COMMIT ... mysql_autocommit(1) cost three. */
/* A group (store_group_begin): the transactions of several jobs run as one.
 * open: its START TRANSACTION was sent; aborted: a job rolled back, so the
 * group must be rolled back whole and every job run again on its own. */
static _Thread_local struct {
	int active, open, aborted;
} store_group;

int
store_tx_begin(MYSQL *m, char *err, size_t errlen)
{
	static const char q[] = "START TRANSACTION";

	if (store_group.active) {
		if (store_group.aborted) {
			snprintf(err, errlen, "the group of transactions was rolled back");
			return -1;
		}
		if (store_group.open)
			return 0;
	}
	if (mysql_real_query(m, q, sizeof q - 1) != 0)
		return store_fail(m, NULL, err, errlen);
	store_group.open = store_group.active;
	return 0;
}

int
store_tx_commit(MYSQL *m, char *err, size_t errlen)
{
	if (store_group.active)
		return 0; /* with the group (store_group_commit) */
	if (mysql_commit(m) != 0)
		return store_fail(m, NULL, err, errlen);
	return 0;
}

void
store_tx_rollback(MYSQL *m)
{
	if (store_group.active) {
		store_group.aborted = 1;
		if (!store_group.open)
			return;
		store_group.open = 0;
	}
	mysql_rollback(m);
}

void
store_group_begin(void)
{
	store_group.active = 1;
	store_group.open = 0;
	store_group.aborted = 0;
}

int
store_group_aborted(void)
{
	return store_group.aborted;
}

int
store_group_end(MYSQL *m, int commit, char *err, size_t errlen)
{
	int open = store_group.open, aborted = store_group.aborted;

	store_group.active = store_group.open = store_group.aborted = 0;
	if (commit && !aborted) {
		if (!open || mysql_commit(m) == 0)
			return 0;
		store_fail(m, NULL, err, errlen);
	}
	if (open)
		mysql_rollback(m);
	return -1;
}

/* One attempt at the login transaction. The agent row is updated first so
 * its exclusive lock is taken before the insert's foreign-key check would
 * take a shared one: two logins of one agent then queue instead of
 * deadlocking. */
static int
store_session_insert_once(MYSQL *m, const unsigned char digest[AUTH_TOKEN_HASH],
                          unsigned int agent_id, int ttl, const char *peer, char *err,
                          size_t errlen)
{
	MYSQL_BIND p[4];
	unsigned long dlen, plen;

	if (store_tx_begin(m, err, errlen) != 0)
		return -1;
	bind_uint(&p[0], &agent_id);
	if (store_exec(m, "UPDATE agents SET last_login_at = UTC_TIMESTAMP(3) WHERE id = ?", p, err,
	               errlen, NULL) != 0)
		goto fail;
	bind_blob(&p[0], digest, &dlen, AUTH_TOKEN_HASH);
	bind_uint(&p[1], &agent_id);
	bind_int(&p[2], &ttl);
	bind_str(&p[3], peer, &plen);
	if (store_exec(m,
	               "INSERT INTO agent_sessions (token_hash, agent_id, expires_at, peer) "
	               "VALUES (?, ?, UTC_TIMESTAMP(3) + INTERVAL ? SECOND, ?)",
	               p, err, errlen, NULL) != 0)
		goto fail;
	if (store_tx_commit(m, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	store_tx_rollback(m);
	return -1;
}

int
store_session_insert(MYSQL *m, const unsigned char digest[AUTH_TOKEN_HASH], unsigned int agent_id,
                     int ttl, const char *peer, char *err, size_t errlen)
{
	for (int attempt = 0;; attempt++) {
		if (store_session_insert_once(m, digest, agent_id, ttl, peer, err, errlen) == 0)
			return 0;
		if (attempt == 2 || !store_retryable(store_last_errno))
			return -1;
	}
}

int
store_session_delete(MYSQL *m, const unsigned char digest[AUTH_TOKEN_HASH], char *err,
                     size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long dlen;

	bind_blob(&p[0], digest, &dlen, AUTH_TOKEN_HASH);
	return store_exec(m, "DELETE FROM agent_sessions WHERE token_hash = ?", p, err, errlen,
	                  NULL);
}

long
store_session_purge(MYSQL *m, char *err, size_t errlen)
{
	unsigned long long n = 0;

	if (store_exec(m,
	               "DELETE FROM agent_sessions WHERE expires_at <= UTC_TIMESTAMP(3) "
	               "LIMIT 10000",
	               NULL, err, errlen, &n) != 0)
		return -1;
	return (long)n;
}

int
store_ping(MYSQL *m, char *err, size_t errlen)
{
	if (mysql_query(m, "SELECT 1") != 0)
		return store_fail(m, NULL, err, errlen);
	MYSQL_RES *r = mysql_store_result(m);
	mysql_free_result(r);
	return 0;
}

unsigned int
store_errno(void)
{
	return store_last_errno;
}

int
store_name_of(MYSQL *m, enum store_name kind, unsigned int id, char *out, size_t outlen, char *err,
              size_t errlen)
{
	static const char *const sql[STORE_NAME__COUNT] = {
	    [STORE_NAME_SITE] = "SELECT code FROM sites WHERE id = ?",
	    [STORE_NAME_QUEUE] = "SELECT code FROM queues WHERE id = ?",
	    [STORE_NAME_AGENT] = "SELECT username FROM agents WHERE id = ?",
	};
	char buf[STORE_NAME_MAX + 1];
	unsigned long len = 0;
	my_bool nul = 0;
	MYSQL_BIND p[1], r[1];
	MYSQL_STMT *st;
	int rc;

	if (store_cache.m != m)
		store_names_drop(); /* names of another connection's database */
	if (id < store_names[kind].cap && store_names[kind].v[id] != NULL) {
		snprintf(out, outlen, "%s", store_names[kind].v[id]);
		return 1;
	}
	bind_uint(&p[0], &id);
	bind_out_str(&r[0], buf, sizeof buf, &len, &nul);
	if ((st = store_stmt(m, sql[kind], p, err, errlen)) == NULL)
		return -1;
	if ((rc = store_fetch_row(m, st, r, kind == STORE_NAME_AGENT ? "agents" : "names", err,
	                          errlen)) <= 0)
		return rc;
	if (nul) {
		store_last_errno = 0;
		snprintf(err, errlen, "name %u of kind %d is null", id, (int)kind);
		return -1;
	}
	snprintf(out, outlen, "%s", buf);
	if (id < STORE_NAME_IDS) {
		if (id >= store_names[kind].cap) {
			unsigned cap = store_names[kind].cap ? store_names[kind].cap : 64;
			char **v;

			while (cap <= id)
				cap *= 2;
			if ((v = realloc(store_names[kind].v, cap * sizeof *v)) == NULL)
				return 1; /* not kept */
			memset(v + store_names[kind].cap, 0,
			       (cap - store_names[kind].cap) * sizeof *v);
			store_names[kind].v = v;
			store_names[kind].cap = cap;
		}
		store_names[kind].v[id] = strdup(buf);
	}
	return 1;
}
