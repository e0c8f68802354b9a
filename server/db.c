/* db.c: the worker pools.
 *
 * Why this shape: the event loop owns all live state and must never block,
 * but MariaDB Connector/C's API is blocking, and scrypt is deliberately slow.
 * So a job is queued under a mutex, a worker runs its work function, puts
 * the job on the pool's done list and wakes the loop with event_active()
 * (thread-safe after evthread_use_pthreads()). The loop then runs every
 * done function in submission order of completion. One connection per
 * worker means no connection is ever shared between threads. */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <event2/thread.h>

#include "log.h"
#include "store-sla.h"
#include "store.h"

const double db_latency_bounds[DB_LATENCY_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

struct db_job {
	db_work_fn work;
	db_batch_fn batch; /* set: may run with the jobs after it (db_pool_submit_batch) */
	db_done_fn done;
	void *arg;
	struct timespec submitted;
	struct db_job *next;
};

struct db_conn {
	struct db_pool *pool;
	MYSQL *mysql;
	time_t retry_at;  /* monotonic seconds; 0: may try now */
	time_t last_used; /* monotonic seconds of the last db_conn_get */
	int backoff;      /* seconds */
};

/* A connection idle this long is pinged before use, so that one killed by
 * the server (wait_timeout, a restart, a failover) is replaced before a
 * user's request fails on it. */
#define DB_IDLE_PING_SECONDS 10

struct db_worker {
	pthread_t thread;
	struct db_conn conn;
	struct db_pool *pool;
};

struct db_pool {
	char name[16];
	struct event_base *base;
	struct event *done_ev;
	int has_db;
	struct db_params params;
	char *host, *socket, *user, *password, *dbname;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct db_job *head, *tail; /* waiting */
	struct db_job *done_head, *done_tail;
	size_t queued, running, max_queue;
	int connected;
	int stopping;  /* no new jobs */
	int cancelled; /* jobs not yet started fail fast (shutdown deadline) */
	int joined;

	int nworkers;
	struct db_worker *workers;
	struct db_latency latency; /* loop thread only */
	struct db_batches batches; /* under lock */
};

/* Monotonic seconds. */
static time_t
db_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Close the connection and count it out. Runs on the worker that owns it,
 * so the statements it cached (store.c) go first: the next connection may
 * get the same MYSQL address. */
static void
db_conn_close(struct db_conn *c)
{
	if (c->mysql == NULL)
		return;
	store_stmt_cache_drop();
	mysql_close(c->mysql);
	c->mysql = NULL;
	pthread_mutex_lock(&c->pool->lock);
	c->pool->connected--;
	pthread_mutex_unlock(&c->pool->lock);
}

MYSQL *
db_connect(const struct db_params *p, char *err, size_t errlen)
{
	unsigned int timeout = (unsigned int)p->connect_timeout;
	unsigned int rw_timeout = 30;
	my_bool off = 0;
	const char *sock = p->socket && p->socket[0] ? p->socket : NULL;
	MYSQL *m;

	if ((m = mysql_init(NULL)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_options(m, MYSQL_OPT_RECONNECT, &off);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(
	    m, MYSQL_INIT_COMMAND,
	    "SET SESSION time_zone='+00:00', SESSION sql_mode='STRICT_ALL_TABLES,"
	    "NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
	if (mysql_real_connect(m, sock ? NULL : p->host, p->user, p->password, p->name,
	                       sock ? 0 : (unsigned int)p->port, sock,
	                       CLIENT_MULTI_STATEMENTS) == NULL) {
		snprintf(err, errlen, "%s", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

int
db_conn_cancelled(struct db_conn *c)
{
	int cancelled;

	pthread_mutex_lock(&c->pool->lock);
	cancelled = c->pool->cancelled;
	pthread_mutex_unlock(&c->pool->lock);
	return cancelled;
}

MYSQL *
db_conn_get(struct db_conn *c, char *err, size_t errlen)
{
	struct db_pool *pool = c->pool;
	time_t now = db_now(), idle = now - c->last_used;
	MYSQL *m;

	if (db_conn_cancelled(c)) {
		snprintf(err, errlen, "the server is shutting down");
		return NULL;
	}
	if (!pool->has_db) {
		snprintf(err, errlen, "pool %s has no database connection", pool->name);
		return NULL;
	}
	c->last_used = now;
	if (c->mysql != NULL && idle >= DB_IDLE_PING_SECONDS && mysql_ping(c->mysql) != 0) {
		log_warn("db", "msg=\"idle connection lost; reconnecting\" pool=%s error=\"%s\"",
		         pool->name, mysql_error(c->mysql));
		db_conn_close(c);
		c->retry_at = 0; /* try at once: this is not a failed attempt */
	}
	if (c->mysql != NULL)
		return c->mysql;
	if (c->retry_at != 0 && db_now() < c->retry_at) {
		snprintf(err, errlen, "database unreachable; next attempt in %lds",
		         (long)(c->retry_at - db_now()));
		return NULL;
	}
	if ((m = db_connect(&pool->params, err, errlen)) == NULL) {
		c->backoff = c->backoff == 0 ? 1 : (c->backoff * 2 > 30 ? 30 : c->backoff * 2);
		c->retry_at = db_now() + c->backoff;
		log_warn("db", "msg=\"connect failed\" pool=%s error=\"%s\" retry_in=%d",
		         pool->name, err, c->backoff);
		return NULL;
	}
	if (c->backoff != 0)
		log_info("db", "msg=\"reconnected\" pool=%s", pool->name);
	c->backoff = 0;
	c->retry_at = 0;
	c->mysql = m;
	pthread_mutex_lock(&pool->lock);
	pool->connected++;
	pthread_mutex_unlock(&pool->lock);
	return m;
}

int
db_conn_failed(struct db_conn *c, unsigned int mysql_err)
{
	switch (mysql_err) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_LOST_EXTENDED:
		log_warn("db", "msg=\"connection lost\" pool=%s errno=%u", c->pool->name,
		         mysql_err);
		db_conn_close(c);
		return 1;
	default:
		return 0;
	}
}

/* Worker thread: take jobs until the pool stops and the queue is empty. */
static void *
db_worker_main(void *p)
{
	struct db_worker *w = p;
	struct db_pool *pool = w->pool;

	if (!pool->has_db) {
		/* nothing */
	} else if (mysql_thread_init() != 0)
		log_error("db", "msg=\"mysql_thread_init failed\" pool=%s", pool->name);
	for (;;) {
		struct db_job *jobs[DB_BATCH_MAX];
		void *args[DB_BATCH_MAX];
		size_t n = 0;

		pthread_mutex_lock(&pool->lock);
		while (pool->head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->head == NULL) {
			pthread_mutex_unlock(&pool->lock);
			break;
		}
		/* the first job, and those right behind it that share its batch
		 * function: the writes that arrived while every worker was busy */
		do {
			struct db_job *job = pool->head;

			pool->head = job->next;
			if (pool->head == NULL)
				pool->tail = NULL;
			args[n] = job->arg;
			jobs[n++] = job;
		} while (jobs[0]->batch != NULL && n < DB_BATCH_MAX && pool->head != NULL &&
		         pool->head->batch == jobs[0]->batch);
		pool->queued -= n;
		pool->running += n;
		if (jobs[0]->batch != NULL) {
			pool->batches.batches++;
			pool->batches.jobs += n;
		}
		pthread_mutex_unlock(&pool->lock);

		if (jobs[0]->batch != NULL)
			jobs[0]->batch(&w->conn, args, n);
		else
			jobs[0]->work(&w->conn, args[0]);

		pthread_mutex_lock(&pool->lock);
		for (size_t i = 0; i < n; i++) {
			jobs[i]->next = NULL;
			if (pool->done_tail)
				pool->done_tail->next = jobs[i];
			else
				pool->done_head = jobs[i];
			pool->done_tail = jobs[i];
		}
		pthread_mutex_unlock(&pool->lock);
		event_active(pool->done_ev, EV_READ, 0);
	}
	if (pool->has_db) {
		db_conn_close(&w->conn);
		mysql_thread_end();
	}
	store_sla_cache_drop(); /* the SLA policies this worker read */
	return NULL;
}

/* Record one job's latency. */
static void
db_latency_add(struct db_latency *l, const struct timespec *from)
{
	struct timespec now;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &now);
	s = (double)(now.tv_sec - from->tv_sec) + (double)(now.tv_nsec - from->tv_nsec) / 1e9;
	l->count++;
	l->sum += s;
	for (int i = 0; i < DB_LATENCY_BUCKETS; i++)
		if (s <= db_latency_bounds[i])
			l->bucket[i]++;
}

/* Loop thread: run the done functions of finished jobs. */
static void
db_pool_deliver(evutil_socket_t fd, short what, void *p)
{
	struct db_pool *pool = p;
	struct db_job *list, *job;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&pool->lock);
	list = pool->done_head;
	pool->done_head = pool->done_tail = NULL;
	pthread_mutex_unlock(&pool->lock);
	while ((job = list) != NULL) {
		list = job->next;
		db_latency_add(&pool->latency, &job->submitted);
		pthread_mutex_lock(&pool->lock);
		pool->running--;
		pthread_mutex_unlock(&pool->lock);
		if (job->done)
			job->done(job->arg);
		free(job);
	}
}

/* strdup that keeps NULL. */
static char *
db_strdup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		abort();
	return d;
}

struct db_pool *
db_pool_new(struct event_base *base, const char *name, int nthreads, const struct db_params *params,
            size_t max_queue)
{
	struct db_pool *pool = calloc(1, sizeof *pool);

	if (pool == NULL)
		abort();
	snprintf(pool->name, sizeof pool->name, "%s", name);
	pool->base = base;
	pool->max_queue = max_queue;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->done_ev = event_new(base, -1, 0, db_pool_deliver, pool);
	if (params != NULL) {
		pool->has_db = 1;
		pool->params = *params;
		pool->params.host = pool->host = db_strdup(params->host);
		pool->params.socket = pool->socket =
		    params->socket && params->socket[0] ? db_strdup(params->socket) : NULL;
		pool->params.user = pool->user = db_strdup(params->user);
		pool->params.password = pool->password = db_strdup(params->password);
		pool->params.name = pool->dbname = db_strdup(params->name);
	}
	pool->nworkers = nthreads;
	pool->workers = calloc((size_t)nthreads, sizeof *pool->workers);
	if (pool->workers == NULL)
		abort();
	for (int i = 0; i < nthreads; i++) {
		pool->workers[i].pool = pool;
		pool->workers[i].conn.pool = pool;
		if (pthread_create(&pool->workers[i].thread, NULL, db_worker_main,
		                   &pool->workers[i]) != 0) {
			log_error("db", "msg=\"cannot start worker\" pool=%s error=\"%s\"", name,
			          strerror(errno));
			abort();
		}
	}
	return pool;
}

static int
db_pool_enqueue(struct db_pool *pool, db_work_fn work, db_batch_fn batch, db_done_fn done,
                void *arg)
{
	struct db_job *job;

	pthread_mutex_lock(&pool->lock);
	if (pool->stopping || pool->queued >= pool->max_queue) {
		pthread_mutex_unlock(&pool->lock);
		return -1;
	}
	pthread_mutex_unlock(&pool->lock);
	if ((job = calloc(1, sizeof *job)) == NULL)
		abort();
	job->work = work;
	job->batch = batch;
	job->done = done;
	job->arg = arg;
	clock_gettime(CLOCK_MONOTONIC, &job->submitted);
	pthread_mutex_lock(&pool->lock);
	if (pool->tail)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pool->queued++;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

int
db_pool_submit(struct db_pool *pool, db_work_fn work, db_done_fn done, void *arg)
{
	return db_pool_enqueue(pool, work, NULL, done, arg);
}

int
db_pool_submit_batch(struct db_pool *pool, db_batch_fn batch, db_done_fn done, void *arg)
{
	return db_pool_enqueue(pool, NULL, batch, done, arg);
}

struct db_batches
db_pool_batches(struct db_pool *pool)
{
	struct db_batches b;

	pthread_mutex_lock(&pool->lock);
	b = pool->batches;
	pthread_mutex_unlock(&pool->lock);
	return b;
}

size_t
db_pool_queued(struct db_pool *pool)
{
	size_t n;

	pthread_mutex_lock(&pool->lock);
	n = pool->queued;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

size_t
db_pool_pending(struct db_pool *pool)
{
	size_t n;

	pthread_mutex_lock(&pool->lock);
	n = pool->queued + pool->running;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

int
db_pool_connected(struct db_pool *pool)
{
	int n;

	pthread_mutex_lock(&pool->lock);
	n = pool->connected;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

const struct db_latency *
db_pool_latency(struct db_pool *pool)
{
	return &pool->latency;
}

void
db_pool_stop(struct db_pool *pool, int cancel)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	if (cancel)
		pool->cancelled = 1;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

void
db_pool_join(struct db_pool *pool)
{
	if (pool == NULL || pool->joined)
		return;
	db_pool_stop(pool, 0);
	for (int i = 0; i < pool->nworkers; i++)
		pthread_join(pool->workers[i].thread, NULL);
	pool->joined = 1;
}

size_t
db_pool_deliver_all(struct db_pool *pool)
{
	size_t n = 0;

	if (pool == NULL)
		return 0;
	for (;;) {
		struct db_job *j;
		pthread_mutex_lock(&pool->lock);
		j = pool->done_head;
		pthread_mutex_unlock(&pool->lock);
		if (j == NULL)
			return n;
		n++;
		db_pool_deliver(-1, 0, pool);
	}
}

void
db_pool_free(struct db_pool *pool)
{
	if (pool == NULL)
		return;
	db_pool_join(pool);
	db_pool_deliver_all(pool);
	event_free(pool->done_ev);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	free(pool->workers);
	free(pool->host);
	free(pool->socket);
	free(pool->user);
	free(pool->password);
	free(pool->dbname);
	free(pool);
}
