/* store.h: SQL for the foundation. Every statement with a value in it is a
 * prepared statement. Functions run on a db worker; they return 1 found /
 * 0 not found (or 0 success for writes) and -1 on error with err filled. */
#ifndef CC_STORE_H
#define CC_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mysql.h>

#include "auth.h"

struct agent_row {
	unsigned int id;
	char username[257]; /* VARCHAR(64): up to 4 bytes a character */
	char display_name[513];
	char role[16];
	char site[65];        /* site code, VARCHAR(16); "" when none */
	unsigned int site_id; /* 0 when none */
	char password_hash[256];
	int active;
};

int store_agent_by_username(MYSQL *m, const char *username, struct agent_row *out, char *err,
                            size_t errlen);
/* The agent of a live resume token (by digest), or 0 when expired/revoked. */
int store_session_lookup(MYSQL *m, const unsigned char digest[AUTH_TOKEN_HASH],
                         struct agent_row *out, char *err, size_t errlen);
/* Record a new resume token and the login time, in one transaction. */
int store_session_insert(MYSQL *m, const unsigned char digest[AUTH_TOKEN_HASH],
                         unsigned int agent_id, int ttl, const char *peer, char *err,
                         size_t errlen);
int store_session_delete(MYSQL *m, const unsigned char digest[AUTH_TOKEN_HASH], char *err,
                         size_t errlen);
/* Delete expired resume tokens; the number deleted or -1. */
long store_session_purge(MYSQL *m, char *err, size_t errlen);
/* A round trip to the database. */
int store_ping(MYSQL *m, char *err, size_t errlen);
/* The mysql errno of this thread's last failure (for db_conn_failed). */
unsigned int store_errno(void);

/* Building blocks for the store-*.c files. */
/* Deadlock or lock wait timeout: the transaction may simply be run again. */
int store_retryable(unsigned int mysql_errno);
/* Fill err (and the thread's errno) from st, or m when st is NULL; closes
 * st (from store_prepare or store_stmt alike). Always -1. */
int store_fail(MYSQL *m, MYSQL_STMT *st, char *err, size_t errlen);
/* Prepare sql and bind params (may be NULL); NULL with err on failure.
 * The caller owns the statement and closes it (mysql_stmt_close). */
MYSQL_STMT *store_prepare(MYSQL *m, const char *sql, MYSQL_BIND *params, char *err, size_t errlen);
/* The prepared statement cache (see store.c): sql's statement from this
 * thread's cache, prepared on a miss, with params bound (may be NULL);
 * NULL with err on failure. sql is the key: a fixed text, not one with
 * values in it. The statement is lent: after a successful use give it back
 * with store_stmt_done (never mysql_stmt_close); after a failure pass it
 * to store_fail, which closes it. A statement may be lent once at a time:
 * the same text asked for again while lent gets a fresh one. */
MYSQL_STMT *store_stmt(MYSQL *m, const char *sql, MYSQL_BIND *params, char *err, size_t errlen);
/* Give back a statement from store_stmt; its unread result is freed. */
void store_stmt_done(MYSQL_STMT *st);
/* Close every statement this thread cached; for the owner of a connection
 * before it closes it (db.c does, for its workers). Statements lent out
 * are the borrower's to give back. */
void store_stmt_cache_drop(void);
/* Names by id: a site's or a queue's code, an agent's username. Read once
 * per connection and thread and kept: codes and usernames are identifiers
 * that are never renamed in place (docs/OPERATIONS.md). 1 and out, 0 no
 * such row, -1. */
enum store_name { STORE_NAME_SITE, STORE_NAME_QUEUE, STORE_NAME_AGENT, STORE_NAME__COUNT };
#define STORE_NAME_MAX 64
int store_name_of(MYSQL *m, enum store_name kind, unsigned int id, char *out, size_t outlen,
                  char *err, size_t errlen);
/* This thread's cache: statements held, lookups answered and missed. */
void store_stmt_cache_stats(unsigned *cached, unsigned long long *hits, unsigned long long *misses);
/* Prepare, bind and execute a write; affected rows into *affected (may be
 * NULL). 0 or -1. */
int store_exec(MYSQL *m, const char *sql, MYSQL_BIND *p, char *err, size_t errlen,
               unsigned long long *affected);
/* store_exec for an INSERT into a table with an AUTO_INCREMENT key: the
 * new row's id into *id (mysql_stmt_insert_id: no SELECT LAST_INSERT_ID()
 * round trip). 0 or -1. */
int store_insert(MYSQL *m, const char *sql, MYSQL_BIND *p, uint64_t *id, char *err, size_t errlen);
/* A transaction on m: START TRANSACTION, then COMMIT (0, or -1 with err
 * filled: the transaction is then to be rolled back) or ROLLBACK. The
 * session stays in autocommit, so nothing needs restoring afterwards. */
/* Multi-row statements. STORE_ROWS_MAX rows a statement at most. */
#define STORE_ROWS_MAX 32
/* Run head, then n copies of row joined by sep, then tail, with the binds
 * b (per_row of them for each row, rows in order), in statements of at
 * most STORE_ROWS_MAX rows (one text in the statement cache per number of
 * rows). ids (may be
 * NULL): the AUTO_INCREMENT id of each row of an INSERT; only after
 * store_rows_ids_ok said the ids of one statement are consecutive. 0 or
 * -1. */
int store_exec_rows(MYSQL *m, const char *head, const char *row, const char *sep, const char *tail,
                    unsigned per_row, size_t n, MYSQL_BIND *b, uint64_t *ids, char *err,
                    size_t errlen);
/* The text of head, k copies of row joined by sep, and tail, in a new
 * string (abort when out of memory). */
char *store_sql_rows(const char *head, const char *row, const char *sep, const char *tail,
                     size_t k);
/* Whether a multi-row INSERT on this connection takes consecutive
 * AUTO_INCREMENT values (innodb_autoinc_lock_mode 0 or 1), so that its ids
 * follow from the first: 1 yes, 0 no (interleaved mode, as on Galera), -1
 * on a database error. Read once a connection. */
int store_rows_ids_ok(MYSQL *m, char *err, size_t errlen);
int store_tx_begin(MYSQL *m, char *err, size_t errlen);
int store_tx_commit(MYSQL *m, char *err, size_t errlen);
void store_tx_rollback(MYSQL *m);

/* Group commit: between store_group_begin and store_group_end on a worker,
 * the store_tx_* calls of several jobs share one transaction. The first
 * begin starts it, commits wait for store_group_end, and a rollback (a job
 * refused or failed) aborts the group: later begins fail, and
 * store_group_end rolls everything back so that each job can run again on
 * its own. store_group_end with commit: 0 when the group committed, -1
 * when it was aborted or its COMMIT failed (err filled then). */
void store_group_begin(void);
int store_group_aborted(void);
int store_group_end(MYSQL *m, int commit, char *err, size_t errlen);
/* Parameter and result bindings; the pointed-to values must outlive the
 * statement's execution. */
void bind_str(MYSQL_BIND *b, const char *s, unsigned long *len);
void bind_blob(MYSQL_BIND *b, const unsigned char *p, unsigned long *len, size_t n);
void bind_uint(MYSQL_BIND *b, unsigned int *v);
void bind_u64(MYSQL_BIND *b, uint64_t *v);
void bind_int(MYSQL_BIND *b, int *v);
void bind_out_str(MYSQL_BIND *b, char *buf, size_t n, unsigned long *len, my_bool *is_null);

#endif
