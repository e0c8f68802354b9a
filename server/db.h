/* db.h: worker pools. Blocking work (SQL, password hashing) runs on worker
 * threads; each job's completion comes back to the event loop as an event.
 * A pool either gives every worker its own database connection (the "db"
 * pool) or none (the "cpu" pool for scrypt). Workers never touch sessions
 * or bufferevents: a job carries plain data in and out. */
#ifndef CC_DB_H
#define CC_DB_H

#include <stddef.h>

#include <event2/event.h>
#include <mysql.h>

struct db_params {
	const char *host;
	int port;
	const char *socket; /* NULL or "": use host and port */
	const char *user;
	const char *password;
	const char *name;
	int connect_timeout;
};

/* A worker's connection, reconnected with backoff when it is lost. */
struct db_conn;

/* Runs on a worker. In a pool without connections db_conn_get fails, but
 * db_conn_cancelled still tells a long job to give up. */
typedef void (*db_work_fn)(struct db_conn *conn, void *arg);
/* Runs on the event loop after work, with the same arg. */
typedef void (*db_done_fn)(void *arg);

/* Runs on a worker with the args of n jobs queued one after another with
 * the same batch function (db_pool_submit_batch), n >= 1: the group commit
 * of the application. Each job's done function runs after, as usual. */
typedef void (*db_batch_fn)(struct db_conn *conn, void **args, size_t n);

/* The most jobs one batch takes. */
#define DB_BATCH_MAX 32

struct db_pool;

/* Start nthreads workers. params NULL: a pool without connections.
 * max_queue bounds the jobs waiting (submit fails beyond it). */
struct db_pool *db_pool_new(struct event_base *base, const char *name, int nthreads,
                            const struct db_params *params, size_t max_queue);
/* Queue a job. -1 when the queue is full or the pool is stopping. */
int db_pool_submit(struct db_pool *pool, db_work_fn work, db_done_fn done, void *arg);
/* Queue a job that a worker may run together with the jobs queued right
 * behind it that have the same batch function. -1 as db_pool_submit. */
int db_pool_submit_batch(struct db_pool *pool, db_batch_fn batch, db_done_fn done, void *arg);
/* Batches run so far, and the jobs in them. */
struct db_batches {
	unsigned long long batches, jobs;
};
struct db_batches db_pool_batches(struct db_pool *pool);
/* Jobs waiting, and jobs waiting or running. */
size_t db_pool_queued(struct db_pool *pool);
size_t db_pool_pending(struct db_pool *pool);
/* Workers holding a live connection. */
int db_pool_connected(struct db_pool *pool);
/* Shutting down, in steps so that two pools whose completions submit to
 * each other can be stopped without either being used after it is freed:
 * stop both (submit fails from now on; with cancel, jobs not yet started
 * run with db_conn_get failing at once and db_conn_cancelled true), join
 * both, deliver both until neither has completions, then free both. */
void db_pool_stop(struct db_pool *pool, int cancel);
/* Wait for the workers to finish every queued job and exit. */
void db_pool_join(struct db_pool *pool);
/* Run the done functions of finished jobs; how many rounds ran (0: none). */
size_t db_pool_deliver_all(struct db_pool *pool);
/* Stop, join, deliver and free (for a pool that stands alone). */
void db_pool_free(struct db_pool *pool);

/* Latency of each job from submit to completion, for metrics: buckets in
 * seconds, cumulative counts as Prometheus wants them. */
#define DB_LATENCY_BUCKETS 12
extern const double db_latency_bounds[DB_LATENCY_BUCKETS];
struct db_latency {
	unsigned long long count;
	double sum;
	unsigned long long bucket[DB_LATENCY_BUCKETS]; /* cumulative */
};
const struct db_latency *db_pool_latency(struct db_pool *pool);

/* Open a connection with the project's session settings (UTC, strict SQL
 * mode, utf8mb4). Blocking: for start-up and workers only. */
MYSQL *db_connect(const struct db_params *p, char *err, size_t errlen);
/* The live connection of a worker, connecting or reconnecting first (with
 * backoff: while backing off it fails at once). NULL with err filled when
 * the database cannot be reached. */
MYSQL *db_conn_get(struct db_conn *conn, char *err, size_t errlen);
/* Tell the connection a statement failed; a lost connection is closed so
 * the next db_conn_get reconnects. Returns 1 when the error was a lost or
 * refused connection (the job should answer "unavailable"). */
int db_conn_failed(struct db_conn *conn, unsigned int mysql_err);
/* Whether the pool was stopped with cancel: long work should give up. */
int db_conn_cancelled(struct db_conn *conn);

#endif
