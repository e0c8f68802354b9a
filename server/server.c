/* server.c: the listener, connection limits, signals, housekeeping and the
 * orderly shutdown. */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <uthash.h>

#include "log.h"
#include "server.h"
#include "router.h"
#include "sla-run.h"
#include "stats-run.h"
#include "store.h"

#define HOUSEKEEPING_SECONDS 2
#define PURGE_SECONDS        600
#define THROTTLE_MAX_KEYS    100000
#define SERVER_REFUSE_SLACK  64 /* refused connections told why before a hard drop */
#define SERVER_IP_SLACK      4  /* the same, from one address over its cap */

struct ip_count {
	char ip[48];
	unsigned n;
	UT_hash_handle hh;
};

/* Count a connection from ip; returns the count including it. */
static unsigned
server_ip_add(struct server *srv, const char *ip)
{
	struct ip_count *c;

	HASH_FIND_STR(srv->ip_counts, ip, c);
	if (c == NULL) {
		if ((c = calloc(1, sizeof *c)) == NULL)
			abort();
		snprintf(c->ip, sizeof c->ip, "%s", ip);
		HASH_ADD_STR(srv->ip_counts, ip, c);
	}
	return ++c->n;
}

/* Connections open from ip. */
static unsigned
server_ip_count(struct server *srv, const char *ip)
{
	struct ip_count *c;

	HASH_FIND_STR(srv->ip_counts, ip, c);
	return c != NULL ? c->n : 0;
}

/* Forget one connection from ip. */
static void
server_ip_del(struct server *srv, const char *ip)
{
	struct ip_count *c;

	HASH_FIND_STR(srv->ip_counts, ip, c);
	if (c != NULL && --c->n == 0) {
		HASH_DEL(srv->ip_counts, c);
		free(c);
	}
}

void
server_session_gone(struct server *srv, struct session *s)
{
	router_session_closed(srv, s);
	stats_run_session_gone(srv, s);
	TAILQ_REMOVE(&srv->sessions, s, entry);
	srv->nsessions--;
	if (s->logged_in)
		srv->nlogged_in--;
	server_ip_del(srv, s->ip);
	if (srv->draining && TAILQ_EMPTY(&srv->sessions)) {
		log_info("server", "msg=\"all sessions closed\"");
		event_base_loopexit(srv->base, NULL);
	}
}

const char *
server_admit(struct server *srv, const char *ip)
{
	unsigned n = server_ip_add(srv, ip);
	const char *refuse = NULL;

	if (srv->nsessions >= (unsigned)srv->cfg.max_connections)
		refuse = "too many connections to this server; try again later";
	else if (n > (unsigned)srv->cfg.max_connections_per_ip)
		refuse = "too many connections from your address";
	if (refuse != NULL)
		log_warn("server", "msg=\"connection over limit\" ip=%s from_ip=%u total=%u", ip, n,
		         srv->nsessions);
	return refuse;
}

/* A new TCP connection: hand it to a session. Connections over the cap
 * are told why after their handshake, but a flood far past it is cut at
 * once: a handshake is the most expensive thing a stranger can ask for. */
static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                 void *arg)
{
	struct server *srv = arg;
	char ip[INET6_ADDRSTRLEN];

	(void)l;
	(void)salen;
	peer_name(sa, ip, sizeof ip, NULL, 0);
	/* one address over its own cap may not hold the global one hostage */
	if (server_ip_count(srv, ip) >=
	        (unsigned)srv->cfg.max_connections_per_ip + SERVER_IP_SLACK ||
	    srv->nsessions >= (unsigned)srv->cfg.max_connections + SERVER_REFUSE_SLACK) {
		srv->metrics.closes[CLOSE_LIMIT]++;
		evutil_closesocket(fd);
		return;
	}
	session_accept(srv, fd, sa);
}

/* Accept again after a pause for descriptors. */
static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (!srv->draining)
		evconnlistener_enable(srv->listener);
}

/* accept() failed: usually out of descriptors. Pause accepting for a
 * second rather than spin on a listener that stays readable. */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval pause = {1, 0};

	log_error("server", "msg=\"accept failed; pausing 1 s\" error=\"%s\" sessions=%u",
	          evutil_socket_error_to_string(err), srv->nsessions);
	evconnlistener_disable(l);
	evtimer_add(srv->accept_resume, &pause);
}

/* Stop accepting, tell every session, and exit when they are gone. */
static void
server_shutdown(struct server *srv, const char *signame)
{
	struct session *s, *next;

	if (srv->draining) {
		log_warn("server", "msg=\"second signal: exiting now\" signal=%s", signame);
		event_base_loopexit(srv->base, NULL);
		return;
	}
	srv->draining = 1;
	log_info("server", "msg=\"shutting down\" signal=%s sessions=%u db_pending=%zu", signame,
	         srv->nsessions, db_pool_pending(srv->db));
	evconnlistener_disable(srv->listener);
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_close_gracefully(s, CLOSE_SHUTDOWN, "server shutting down");
	}
	if (TAILQ_EMPTY(&srv->sessions))
		event_base_loopexit(srv->base, NULL);
	else {
		struct timeval tv = {srv->cfg.shutdown_timeout, 0};
		evtimer_add(srv->shutdown_deadline, &tv);
	}
}

/* SIGTERM / SIGINT. */
static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	server_shutdown(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* The shutdown took longer than shutdown_timeout. */
static void
server_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	log_warn("server", "msg=\"shutdown timeout: closing remaining sessions\" sessions=%u",
	         srv->nsessions);
	srv->shutdown_expired = 1;
	event_base_loopexit(srv->base, NULL);
}

struct health_job {
	struct server *srv;
	int ok;
	int purge;
	long purged;
	char err[256];
	struct timespec t0;
	double latency;
};

/* db worker: one round trip, and the periodic purge of expired tokens. */
static void
health_work(struct db_conn *c, void *arg)
{
	struct health_job *j = arg;
	struct timespec t1;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	if (m == NULL)
		return;
	if (store_ping(m, j->err, sizeof j->err) != 0) {
		db_conn_failed(c, store_errno());
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	j->latency =
	    (double)(t1.tv_sec - j->t0.tv_sec) + (double)(t1.tv_nsec - j->t0.tv_nsec) / 1e9;
	j->ok = 1;
	if (j->purge)
		j->purged = store_session_purge(m, j->err, sizeof j->err);
}

/* loop: record the health result. */
static void
health_done(void *arg)
{
	struct health_job *j = arg;
	struct server *srv = j->srv;

	if (srv->health.ok != j->ok)
		log_msg(j->ok ? LOGL_INFO : LOGL_ERROR, "db", "msg=\"database %s\"%s%s%s",
		        j->ok ? "up" : "down", j->ok ? "" : " error=\"", j->ok ? "" : j->err,
		        j->ok ? "" : "\"");
	srv->health.ok = j->ok;
	srv->health.latency = j->latency;
	srv->health.checked = time(NULL);
	srv->health.in_flight = 0;
	snprintf(srv->health.error, sizeof srv->health.error, "%s", j->ok ? "" : j->err);
	if (j->purged > 0)
		log_info("auth", "msg=\"expired resume tokens purged\" count=%ld", j->purged);
	free(j);
}

void
server_check_health(struct server *srv)
{
	struct health_job *j;
	time_t now = time(NULL);

	if (srv->health.in_flight)
		return;
	if ((j = calloc(1, sizeof *j)) == NULL)
		abort();
	j->srv = srv;
	if (now - srv->last_purge >= PURGE_SECONDS) {
		j->purge = 1;
		srv->last_purge = now;
	}
	if (db_pool_submit(srv->db, health_work, health_done, j) != 0) {
		srv->health.ok = 0;
		snprintf(srv->health.error, sizeof srv->health.error, "database queue full");
		free(j);
		return;
	}
	srv->health.in_flight = 1;
}

/* Every few seconds: database health, throttle table expiry. */
/* Close sessions that sent no whole line for idle_timeout. A byte now and
 * then does not count: a line that never ends is idle too. */
static void
server_check_idle(struct server *srv, time_t now)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state == SESSION_OPEN && !s->busy &&
		    now - s->last_active >= srv->cfg.idle_timeout)
			session_close_gracefully(s, CLOSE_IDLE, "idle timeout");
	}
}

static void
server_housekeeping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	server_check_health(srv);
	throttle_expire(srv->fail_user, now);
	throttle_expire(srv->fail_ip, now);
	server_check_idle(srv, now);
}

/* Bind the TLS listener. */
static int
server_listen(struct server *srv, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sslen = sizeof ss;

	if (evutil_parse_sockaddr_port(srv->cfg.listen, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(err, errlen, "server.listen: cannot parse \"%s\"", srv->cfg.listen);
		return -1;
	}
	srv->listener = evconnlistener_new_bind(srv->base, server_accept_cb, srv,
	                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                            LEV_OPT_CLOSE_ON_EXEC,
	                                        1024, (struct sockaddr *)&ss, sslen);
	if (srv->listener == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", srv->cfg.listen, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->listener, server_accept_error_cb);
	srv->accept_resume = evtimer_new(srv->base, server_accept_resume_cb, srv);
	return 0;
}

int
server_start(struct server *srv, char *err, size_t errlen)
{
	struct timeval hk = {HOUSEKEEPING_SECONDS, 0};

	TAILQ_INIT(&srv->sessions);
	srv->started = time(NULL);
	srv->last_purge = 0;
	srv->health.ok = -1;
	srv->fail_user = throttle_new(srv->cfg.max_failures_per_user, srv->cfg.failure_window,
	                              srv->cfg.lockout, THROTTLE_MAX_KEYS);
	srv->fail_ip = throttle_new(srv->cfg.max_failures_per_ip, srv->cfg.failure_window,
	                            srv->cfg.lockout, THROTTLE_MAX_KEYS);
	if (sla_run_start(srv, err, errlen) != 0)
		return -1;
	if (router_start(srv, err, errlen) != 0)
		return -1;
	if (server_listen(srv, err, errlen) != 0)
		return -1;
	if (admin_start(srv, err, errlen) != 0)
		return -1;
	srv->sig_term = evsignal_new(srv->base, SIGTERM, server_signal_cb, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, server_signal_cb, srv);
	evsignal_add(srv->sig_term, NULL);
	evsignal_add(srv->sig_int, NULL);
	srv->shutdown_deadline = evtimer_new(srv->base, server_deadline_cb, srv);
	srv->housekeeping = event_new(srv->base, -1, EV_PERSIST, server_housekeeping_cb, srv);
	evtimer_add(srv->housekeeping, &hk);
	server_check_health(srv);
	log_info("server", "msg=\"listening\" addr=%s admin=%s version=%s", srv->cfg.listen,
	         srv->cfg.admin_listen[0] ? srv->cfg.admin_listen : "off", CC_VERSION);
	return 0;
}

void
server_run(struct server *srv)
{
	event_base_dispatch(srv->base);
}

void
server_free(struct server *srv)
{
	struct session *s;
	struct ip_count *c, *tmp;

	/* Finish the jobs in flight (commits) before the sessions go. Past the
	 * deadline, jobs not yet started are cancelled so that the exit stays
	 * bounded. Completions may submit to the other pool: both stop first
	 * (submits fail), both are joined, and both are drained until quiet
	 * before either is freed. */
	db_pool_stop(srv->db, srv->shutdown_expired);
	db_pool_stop(srv->cpu, srv->shutdown_expired);
	db_pool_join(srv->db);
	db_pool_join(srv->cpu);
	while (db_pool_deliver_all(srv->db) + db_pool_deliver_all(srv->cpu) > 0)
		continue;
	db_pool_free(srv->db);
	db_pool_free(srv->cpu);
	srv->db = srv->cpu = NULL;
	sla_run_stop(srv); /* after the last job that could arm a timer */
	router_stop(srv);  /* before the sessions go: no more writes to make */
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		session_close(s, CLOSE_SHUTDOWN, "shutdown timeout");
	if (srv->listener)
		evconnlistener_free(srv->listener);
	if (srv->admin)
		evhttp_free(srv->admin);
	if (srv->sig_term)
		event_free(srv->sig_term);
	if (srv->sig_int)
		event_free(srv->sig_int);
	if (srv->housekeeping)
		event_free(srv->housekeeping);
	if (srv->shutdown_deadline)
		event_free(srv->shutdown_deadline);
	if (srv->accept_resume)
		event_free(srv->accept_resume);
	HASH_ITER(hh, srv->ip_counts, c, tmp)
	{
		HASH_DEL(srv->ip_counts, c);
		free(c);
	}
	throttle_free(srv->fail_user);
	throttle_free(srv->fail_ip);
	if (srv->ssl_ctx)
		SSL_CTX_free(srv->ssl_ctx);
}
