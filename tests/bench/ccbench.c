/* ccbench.c: load generator for callcentred's TLS front end.
 *
 *   ccbench handshakes: keep C connections in flight for D seconds. Each
 *     connects, completes a full TLS handshake (certificate verified against
 *     --ca, host name checked) and closes once the server has confirmed the
 *     handshake by sending its first TLS 1.3 session ticket; then the next
 *     one starts. Speaks no application protocol, so the same client can
 *     measure any TLS server (openssl s_server) like for like.
 *   ccbench sessions: open N connections, at most C at a time still
 *     connecting or logging in; log each in with a login request and hold
 *     them all, idle, until SIGTERM or SIGINT (or --hold seconds).
 *   ccbench tickets: C connections, each logged in as its own agent
 *     (P0001 .. P<C>), each looping over durable ticket changes for D
 *     seconds: ticket.create, ticket.note on it, ticket.transition accept
 *     into --queue; one request in flight per connection. Every reply ok
 *     is one committed change; counted with its latency per op.
 *   ccbench inserts: the database's own figure for the same durability:
 *     C threads, each with its own connection to MariaDB, looping over a
 *     prepared single-row INSERT in autocommit for D seconds.
 *
 * One libevent loop, one bufferevent_openssl per connection (inserts: one
 * thread per connection, Connector/C being blocking). Results go to
 * standard output as key=value lines for scripts; progress and diagnostics
 * to standard error. Exit status 0 only when nothing failed. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <mysql.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "errcode.h"
#include "proto.h"
#include "tls.h"

#define BENCH_TICK_MS      100
#define BENCH_PROGRESS_S   2.0
#define BENCH_PASSWORD_MAX 1024
#define BENCH_FD_SPARE     64
#define LOGIN_REQUEST_ID   1

enum bench_mode { MODE_HANDSHAKES, MODE_SESSIONS, MODE_TICKETS, MODE_INSERTS };

/* The ticket changes each tickets-mode connection loops over. */
enum ticket_step { STEP_CREATE, STEP_NOTE, STEP_TRANSITION, STEP__COUNT };

static const char *const step_names[STEP__COUNT] = {"create", "note", "transition"};

#define BENCH_NOTE_BODY                                                                            \
	"Customer called about the delivery; checked the order and the carrier's status, "         \
	"promised a call back."

/* When a handshakes-mode connection counts as done. */
enum complete_at { COMPLETE_TICKET, COMPLETE_HANDSHAKE };

enum conn_state {
	CONN_HANDSHAKE, /* TCP connect and TLS handshake under way */
	CONN_CONFIRM,   /* handshake done, waiting for the server's session ticket */
	CONN_LOGIN,     /* login sent, waiting for the reply */
	CONN_HELD,      /* logged in and idle */
	CONN_WORK,      /* logged in, a ticket request in flight */
	CONN_DEAD,      /* queued for the reaper */
};

/* Why a connection failed. Login errors are counted per protocol error code
 * after the fixed reasons: index FAIL_LOGIN_BASE + enum cc_err. */
enum fail_reason {
	FAIL_CONNECT,   /* TCP connect refused or unreachable */
	FAIL_TLS,       /* handshake failed: verification, protocol alert */
	FAIL_CLOSED,    /* the server closed before the handshake or the reply */
	FAIL_TIMEOUT,   /* nothing finished within --timeout */
	FAIL_REFUSED,   /* the server sent a "closing" event instead of a reply */
	FAIL_BAD_REPLY, /* a reply that is not the expected JSON */
	FAIL_LOGIN_BASE,
	FAIL__COUNT = FAIL_LOGIN_BASE + CC_ERR__COUNT
};

static const char *const fail_fixed_names[FAIL_LOGIN_BASE] = {
    "connect", "tls", "closed", "timeout", "refused", "bad_reply",
};

struct conn {
	struct bench *b;
	struct bufferevent *bev;
	enum conn_state state;
	unsigned index; /* 0-based attempt number: picks the user name */
	int connected;
	int got_ticket;
	double t_start, t_tls, t_login;
	enum ticket_step step; /* tickets mode: the request in flight or next */
	long long req_id;
	double t_req;
	long long ticket_id, version; /* the ticket being changed */
	TAILQ_ENTRY(conn) entry;
};
TAILQ_HEAD(conn_list, conn);

/* Growable array of latency samples in milliseconds. */
struct samples {
	double *v;
	size_t n, cap;
};

struct options {
	enum bench_mode mode;
	char connect[300];
	char host[256];
	char port[16];
	char servername[256];
	const char *ca;
	unsigned concurrency;
	double duration, warmup, hold, timeout;
	enum complete_at complete;
	unsigned sessions;
	const char *user;
	const char *user_prefix;
	unsigned users;
	const char *password_file;
	unsigned long max_failures;
	int quiet;
	const char *queue;     /* tickets: the queue accept puts the ticket in */
	const char *db_socket; /* inserts: the database */
	const char *db_host;
	unsigned db_port;
	const char *db_user;
	const char *db_name;
};

struct bench {
	struct options o;
	struct event_base *base;
	SSL_CTX *ctx;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char password[BENCH_PASSWORD_MAX];

	struct conn_list pending; /* handshaking, confirming or logging in */
	struct conn_list held;
	struct conn_list dead;
	unsigned npending, nheld;
	struct event *reaper, *ticker, *phase_timer, *sig_term, *sig_int;

	unsigned started;            /* connections begun */
	unsigned long completed;     /* handshakes mode: done inside the window */
	unsigned long completed_all; /* and in the warm-up and the wind-down */
	unsigned long failures[FAIL__COUNT];
	char first_error[FAIL__COUNT][200];
	unsigned long failed;
	unsigned long dropped; /* held sessions the server closed */
	char first_drop[200];

	struct samples lat_tls, lat_login, lat_total;
	/* tickets mode */
	unsigned inflight; /* connections with a request in flight */
	unsigned long changes, step_done[STEP__COUNT], step_failed[STEP__COUNT];
	unsigned long changes_all;
	char step_error[STEP__COUNT][200];
	struct samples lat_step[STEP__COUNT], lat_change;
	double t0, t_window, t_end, t_ready, t_progress;
	double cpu_window, cpu_end; /* client CPU seconds at the window's ends */
	int measuring, draining, stopping, ready, aborted;
};

static struct conn *conn_start(struct bench *b);
static void bench_refill(struct bench *b);
static void bench_tickets_ready(struct bench *b);

/* Seconds on the monotonic clock. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User plus system CPU seconds this process has used. */
static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
samples_add(struct samples *s, double ms)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		double *v = realloc(s->v, cap * sizeof *v);
		if (v == NULL) {
			fprintf(stderr, "ccbench: out of memory\n");
			exit(2);
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ms;
}

static int
double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Print NAME_ms_p50/p90/p99/max by the nearest-rank method, and with fine
 * also p99.9 (as p99_9). */
static void
samples_print(struct samples *s, const char *name, int fine)
{
	static const unsigned permille[] = {500, 900, 990, 999};
	size_t n = fine ? 4 : 3;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof *s->v, double_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t rank = (s->n * permille[i] + 999) / 1000; /* ceil(n * p / 1000), >= 1 */
		if (permille[i] % 10 == 0)
			printf("%s_ms_p%u=%.2f\n", name, permille[i] / 10, s->v[rank - 1]);
		else
			printf("%s_ms_p%u_%u=%.2f\n", name, permille[i] / 10, permille[i] % 10,
			       s->v[rank - 1]);
	}
	printf("%s_ms_max=%.2f\n", name, s->v[s->n - 1]);
}

static const char *
fail_name(int reason, char *buf, size_t len)
{
	if (reason < FAIL_LOGIN_BASE)
		return fail_fixed_names[reason];
	snprintf(buf, len, "login_%s", cc_err_slug((enum cc_err)(reason - FAIL_LOGIN_BASE)));
	return buf;
}

/* Queue c for the reaper: a bufferevent is never freed inside the
 * callbacks that OpenSSL and libevent are running for it. */
static void
conn_retire(struct conn *c)
{
	struct bench *b = c->b;

	if (c->state == CONN_DEAD)
		return;
	if (c->state == CONN_WORK)
		b->inflight--;
	if (c->state == CONN_HELD || c->state == CONN_WORK) {
		TAILQ_REMOVE(&b->held, c, entry);
		b->nheld--;
	} else {
		TAILQ_REMOVE(&b->pending, c, entry);
		b->npending--;
	}
	c->state = CONN_DEAD;
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&b->dead, c, entry);
	event_active(b->reaper, EV_TIMEOUT, 0);
}

/* Keep the first detail of a kind, fit for a quoted key=value line. */
static void
note_detail(char *dst, size_t len, const char *detail)
{
	if (dst[0] != '\0')
		return;
	snprintf(dst, len, "%s", detail);
	for (char *p = dst; *p; p++)
		if (*p == '"' || (unsigned char)*p < 0x20)
			*p = '\'';
}

/* Count a failed connection and retire it. */
static void
conn_fail(struct conn *c, int reason, const char *detail)
{
	struct bench *b = c->b;

	if (c->state == CONN_HELD || c->state == CONN_WORK) {
		b->dropped++;
		note_detail(b->first_drop, sizeof b->first_drop, detail);
	} else if (!b->stopping) {
		b->failures[reason]++;
		b->failed++;
		note_detail(b->first_error[reason], sizeof b->first_error[reason], detail);
	}
	conn_retire(c);
	if (b->failed > b->o.max_failures && !b->stopping) {
		fprintf(stderr, "ccbench: more than %lu failures; stopping\n", b->o.max_failures);
		b->aborted = 1;
		b->stopping = 1;
		event_base_loopbreak(b->base);
	}
}

/* Free the retired connections, then start new ones in their place. */
static void
bench_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	struct conn *c;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&b->dead)) != NULL) {
		TAILQ_REMOVE(&b->dead, c, entry);
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		if (ssl != NULL && SSL_is_init_finished(ssl))
			SSL_shutdown(ssl); /* close_notify, best effort, like the server */
		ERR_clear_error();
		bufferevent_free(c->bev);
		free(c);
	}
	bench_refill(b);
}

/* Sessions mode results of the log-in phase, up to now. */
static void
bench_print_logins(struct bench *b)
{
	char name[64];
	double secs = now_s() - b->t0;

	printf("sessions_requested=%u\n", b->o.sessions);
	printf("sessions_held=%u\n", b->nheld);
	printf("failures=%lu\n", b->failed);
	for (int i = 0; i < FAIL__COUNT; i++)
		if (b->failures[i] != 0) {
			const char *n = fail_name(i, name, sizeof name);
			printf("failures.%s=%lu\n", n, b->failures[i]);
			printf("first_error.%s=\"%s\"\n", n, b->first_error[i]);
		}
	printf("login_seconds=%.3f\n", secs);
	printf("logins_per_second=%.1f\n", secs > 0 ? (double)b->nheld / secs : 0.0);
	samples_print(&b->lat_tls, "tls", 0);
	samples_print(&b->lat_login, "login", 0);
	samples_print(&b->lat_total, "total", 0);
	printf("client_cpu_seconds=%.2f\n", cpu_s());
}

/* All sessions-mode attempts are answered: report, then hold. */
static void
bench_sessions_ready(struct bench *b)
{
	b->ready = 1;
	b->t_ready = now_s();
	bench_print_logins(b);
	printf("ready=1\n");
	fflush(stdout);
	if (b->nheld == 0) {
		event_base_loopbreak(b->base);
		return;
	}
	if (b->o.hold > 0) {
		struct timeval tv = {(time_t)b->o.hold,
		                     (suseconds_t)((b->o.hold - (double)(time_t)b->o.hold) * 1e6)};
		evtimer_add(b->phase_timer, &tv);
	}
	if (!b->o.quiet)
		fprintf(stderr, "ccbench: %u sessions held; waiting for %s\n", b->nheld,
		        b->o.hold > 0 ? "the hold time" : "SIGTERM or SIGINT");
}

/* Keep the configured number of connections in flight. */
static void
bench_refill(struct bench *b)
{
	unsigned want;

	if (b->stopping)
		return;
	if (b->draining) {
		if (b->o.mode == MODE_TICKETS ? b->inflight == 0 : b->npending == 0)
			event_base_loopbreak(b->base);
		return;
	}
	if (b->o.mode != MODE_HANDSHAKES) {
		unsigned left = b->o.sessions - b->started;
		want = b->o.concurrency > b->npending ? b->o.concurrency - b->npending : 0;
		if (want > left)
			want = left;
	} else
		want = b->o.concurrency > b->npending ? b->o.concurrency - b->npending : 0;
	/* a fixed count per call: connections that fail at once cannot spin here */
	for (unsigned i = 0; i < want && !b->stopping; i++)
		conn_start(b);
	if (b->o.mode != MODE_HANDSHAKES && !b->ready && b->started == b->o.sessions &&
	    b->npending == 0) {
		if (b->o.mode == MODE_TICKETS)
			bench_tickets_ready(b);
		else
			bench_sessions_ready(b);
	}
}

/* Handshakes mode: one handshake is done. */
static void
conn_handshake_done(struct conn *c)
{
	struct bench *b = c->b;
	double t = now_s();

	b->completed_all++;
	if (b->measuring && t < b->t_end) {
		b->completed++;
		samples_add(&b->lat_tls, (t - c->t_start) * 1000.0);
	}
	conn_retire(c);
}

/* OpenSSL got a session ticket: the server has finished its side of the
 * handshake. The session itself is not kept (full handshakes only). */
static int
bench_new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct conn *c = SSL_get_app_data(ssl);

	(void)sess;
	if (c != NULL && c->state != CONN_DEAD) {
		c->got_ticket = 1;
		if (c->state == CONN_CONFIRM)
			conn_handshake_done(c);
	}
	return 0;
}

/* The login request for attempt index. */
static char *
login_line(struct bench *b, unsigned index, size_t *len)
{
	char user[128];
	json_t *req;
	char *line;

	if (b->o.user != NULL)
		snprintf(user, sizeof user, "%s", b->o.user);
	else
		snprintf(user, sizeof user, "%s%04u", b->o.user_prefix, index % b->o.users + 1);
	req = json_pack("{s:i,s:s,s:s,s:s}", "id", LOGIN_REQUEST_ID, "op", "login", "user", user,
	                "password", b->password);
	line = req ? proto_encode(req, len) : NULL;
	json_decref(req);
	return line;
}

/* The TLS handshake finished. */
static void
conn_connected(struct conn *c)
{
	struct bench *b = c->b;
	size_t len;
	char *line;

	c->connected = 1;
	c->t_tls = now_s();
	if (b->o.mode == MODE_HANDSHAKES) {
		c->state = CONN_CONFIRM;
		if (b->o.complete == COMPLETE_HANDSHAKE || c->got_ticket)
			conn_handshake_done(c);
		return;
	}
	samples_add(&b->lat_tls, (c->t_tls - c->t_start) * 1000.0);
	if ((line = login_line(b, c->index, &len)) == NULL) {
		fprintf(stderr, "ccbench: cannot encode the login request\n");
		exit(2);
	}
	c->state = CONN_LOGIN;
	c->t_login = now_s();
	bufferevent_write(c->bev, line, len);
	OPENSSL_cleanse(line, len);
	free(line);
}

/* A line that arrived while waiting for the login reply. */
static void
conn_login_reply(struct conn *c, json_t *msg, const char *line)
{
	struct bench *b = c->b;
	json_t *id = json_object_get(msg, "id");
	json_t *ok = json_object_get(msg, "ok");
	const char *code =
	    json_string_value(json_object_get(json_object_get(msg, "error"), "code"));
	char detail[200];
	double t = now_s();

	if (!json_is_integer(id) || json_integer_value(id) != LOGIN_REQUEST_ID ||
	    !json_is_boolean(ok)) {
		snprintf(detail, sizeof detail, "%.150s", line);
		conn_fail(c, FAIL_BAD_REPLY, detail);
		return;
	}
	if (!json_is_true(ok)) {
		int e = code ? cc_err_from_slug(code) : -1;
		const char *m =
		    json_string_value(json_object_get(json_object_get(msg, "error"), "message"));
		snprintf(detail, sizeof detail, "%s: %s", code ? code : "?", m ? m : "");
		conn_fail(c, e < 0 ? FAIL_BAD_REPLY : FAIL_LOGIN_BASE + e, detail);
		return;
	}
	samples_add(&b->lat_login, (t - c->t_login) * 1000.0);
	samples_add(&b->lat_total, (t - c->t_start) * 1000.0);
	TAILQ_REMOVE(&b->pending, c, entry);
	b->npending--;
	c->state = CONN_HELD;
	TAILQ_INSERT_TAIL(&b->held, c, entry);
	b->nheld++;
	bench_refill(b);
}

/* Tickets mode: send the connection's next change. */
static void
conn_ticket_send(struct conn *c)
{
	struct bench *b = c->b;
	json_t *req;
	char *line;
	size_t len;

	c->req_id++;
	switch (c->step) {
	case STEP_CREATE:
		req = json_pack("{s:I,s:s,s:s,s:s,s:s,s:i}", "id", (json_int_t)c->req_id, "op",
		                "ticket.create", "kind", "call", "channel", "phone", "subject",
		                "Parcel not delivered", "priority", 5);
		break;
	case STEP_NOTE:
		req =
		    json_pack("{s:I,s:s,s:I,s:s}", "id", (json_int_t)c->req_id, "op", "ticket.note",
		              "ticket", (json_int_t)c->ticket_id, "body", BENCH_NOTE_BODY);
		break;
	default:
		req = json_pack("{s:I,s:s,s:I,s:s,s:s,s:I}", "id", (json_int_t)c->req_id, "op",
		                "ticket.transition", "ticket", (json_int_t)c->ticket_id, "action",
		                "accept", "queue", b->o.queue, "version", (json_int_t)c->version);
		break;
	}
	line = req ? proto_encode(req, &len) : NULL;
	json_decref(req);
	if (line == NULL) {
		fprintf(stderr, "ccbench: cannot encode a ticket request\n");
		exit(2);
	}
	if (c->state != CONN_WORK)
		b->inflight++;
	c->state = CONN_WORK;
	c->t_req = now_s();
	bufferevent_write(c->bev, line, len);
	free(line);
}

/* Tickets mode: the reply to the change in flight. */
static void
conn_ticket_reply(struct conn *c, json_t *msg, const char *line)
{
	struct bench *b = c->b;
	json_t *id = json_object_get(msg, "id");
	json_t *ticket = json_object_get(msg, "ticket");
	enum ticket_step step = c->step;
	double t = now_s(), ms = (t - c->t_req) * 1000.0;
	char detail[200];

	if (!json_is_integer(id) || json_integer_value(id) != c->req_id ||
	    !json_is_boolean(json_object_get(msg, "ok"))) {
		snprintf(detail, sizeof detail, "%.150s", line);
		conn_fail(c, FAIL_BAD_REPLY, detail);
		return;
	}
	if (json_is_true(json_object_get(msg, "ok"))) {
		if (step == STEP_CREATE || step == STEP_TRANSITION) {
			json_t *tid = json_object_get(ticket, "id");
			json_t *ver = json_object_get(ticket, "version");
			if (!json_is_integer(tid) || !json_is_integer(ver)) {
				snprintf(detail, sizeof detail, "no ticket id or version: %.120s",
				         line);
				conn_fail(c, FAIL_BAD_REPLY, detail);
				return;
			}
			c->ticket_id = json_integer_value(tid);
			c->version = json_integer_value(ver);
		}
		b->changes_all++;
		if (b->measuring && !b->draining) {
			b->changes++;
			b->step_done[step]++;
			samples_add(&b->lat_step[step], ms);
			samples_add(&b->lat_change, ms);
		}
		c->step = (enum ticket_step)((step + 1) % STEP__COUNT);
	} else {
		json_t *e = json_object_get(msg, "error");
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *m = json_string_value(json_object_get(e, "message"));
		snprintf(detail, sizeof detail, "%s: %s", code ? code : "?", m ? m : "");
		note_detail(b->step_error[step], sizeof b->step_error[step], detail);
		b->step_failed[step]++;
		b->failed++;
		c->step = STEP_CREATE; /* start again on a new ticket */
		if (b->failed > b->o.max_failures && !b->stopping) {
			fprintf(stderr, "ccbench: more than %lu failures; stopping\n",
			        b->o.max_failures);
			b->aborted = 1;
			b->stopping = 1;
			event_base_loopbreak(b->base);
			return;
		}
	}
	if (b->draining || b->stopping) {
		c->state = CONN_HELD;
		if (--b->inflight == 0)
			event_base_loopbreak(b->base);
		return;
	}
	conn_ticket_send(c);
}

/* Tickets mode: every agent has logged in or failed to: start changing
 * tickets on all connections at once, the warm-up first. */
static void
bench_tickets_ready(struct bench *b)
{
	struct timeval w = {(time_t)b->o.warmup,
	                    (suseconds_t)((b->o.warmup - (double)(time_t)b->o.warmup) * 1e6)};
	struct conn *c;

	b->ready = 1;
	b->t_ready = now_s();
	printf("agents=%u\n", b->o.sessions);
	printf("logged_in=%u\n", b->nheld);
	printf("login_seconds=%.3f\n", b->t_ready - b->t0);
	fflush(stdout);
	if (b->nheld != b->o.sessions) {
		fprintf(stderr, "ccbench: %u of %u agents logged in; stopping\n", b->nheld,
		        b->o.sessions);
		b->aborted = 1;
		b->stopping = 1;
		event_base_loopbreak(b->base);
		return;
	}
	if (!b->o.quiet)
		fprintf(stderr, "ccbench: %u agents logged in; changing tickets\n", b->nheld);
	evtimer_add(b->phase_timer, &w);
	for (c = TAILQ_FIRST(&b->held); c != NULL; c = TAILQ_NEXT(c, entry))
		conn_ticket_send(c);
}

/* One line from the server. */
static void
conn_line(struct conn *c, const char *line)
{
	json_t *msg = json_loads(line, 0, NULL);
	const char *ev = json_string_value(json_object_get(msg, "event"));
	char detail[200];

	if (!json_is_object(msg)) {
		snprintf(detail, sizeof detail, "not a JSON object: %.150s", line);
		conn_fail(c, FAIL_BAD_REPLY, detail);
	} else if (ev != NULL && c->b->o.mode == MODE_TICKETS && strcmp(ev, "closing") != 0) {
		/* pushes to a working agent (offers, screen pops): not a reply */
	} else if (ev != NULL) {
		/* the only event an idle session gets is "closing"; the close follows */
		const char *why = json_string_value(json_object_get(msg, "reason"));
		snprintf(detail, sizeof detail, "event %s: %s", ev, why ? why : "");
		conn_fail(c, FAIL_REFUSED, detail);
	} else if (c->state == CONN_LOGIN)
		conn_login_reply(c, msg, line);
	else if (c->state == CONN_WORK)
		conn_ticket_reply(c, msg, line);
	else {
		snprintf(detail, sizeof detail, "unexpected line: %.150s", line);
		conn_fail(c, FAIL_BAD_REPLY, detail);
	}
	json_decref(msg);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	char *line;
	size_t len;

	while (c->state != CONN_DEAD) {
		enum line_status st =
		    line_next(bufferevent_get_input(bev), PROTO_MAX_LINE, &line, &len);
		if (st == LINE_MORE)
			return;
		if (st == LINE_TOO_LONG) {
			conn_fail(c, FAIL_BAD_REPLY, "line too long");
			return;
		}
		if (c->b->o.mode == MODE_HANDSHAKES)
			conn_fail(c, FAIL_BAD_REPLY, "data from the server in handshakes mode");
		else
			conn_line(c, line);
		free(line);
	}
}

/* Describe why bev failed and pick the reason. */
static int
conn_error_reason(struct conn *c, short what, char *buf, size_t len)
{
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	int serr = EVUTIL_SOCKET_ERROR();

	while (bufferevent_get_openssl_error(c->bev) != 0)
		;
	/* libevent queues a bare SSL_ERROR_SYSCALL (library 0) for socket
	 * errors such as a refused connect: errno tells those */
	if (e != 0 && ERR_GET_LIB(e) != 0) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		char msg[160];
		ERR_error_string_n(e, msg, sizeof msg);
		if (v != X509_V_OK)
			snprintf(buf, len, "%s: %s", msg, X509_verify_cert_error_string(v));
		else
			snprintf(buf, len, "%s", msg);
		return c->connected ? FAIL_CLOSED : FAIL_TLS;
	}
	if (what & BEV_EVENT_EOF) {
		snprintf(buf, len, "%s",
		         c->connected ? "closed by the server" : "EOF in handshake");
		return FAIL_CLOSED;
	}
	snprintf(buf, len, "%s", serr ? evutil_socket_error_to_string(serr) : "socket error");
	if (!c->connected && (serr == ECONNREFUSED || serr == EADDRNOTAVAIL ||
	                      serr == ENETUNREACH || serr == ETIMEDOUT || serr == EHOSTUNREACH))
		return FAIL_CONNECT;
	return FAIL_CLOSED;
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char why[200];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		conn_connected(c);
		return;
	}
	int reason = conn_error_reason(c, what, why, sizeof why);
	conn_fail(c, reason, why);
}

/* Begin one connection; NULL (and a counted failure) when it cannot. */
static struct conn *
conn_start(struct bench *b)
{
	struct conn *c = calloc(1, sizeof *c);
	SSL *ssl;

	if (c == NULL || (ssl = SSL_new(b->ctx)) == NULL) {
		fprintf(stderr, "ccbench: out of memory\n");
		exit(2);
	}
	if (tls_client_set_host(ssl, b->o.servername) != 0) {
		fprintf(stderr, "ccbench: cannot set host name %s\n", b->o.servername);
		exit(2);
	}
	SSL_set_app_data(ssl, c);
	c->b = b;
	c->index = b->started++;
	c->t_start = now_s();
	c->bev = bufferevent_openssl_socket_new(b->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		fprintf(stderr, "ccbench: cannot create a bufferevent\n");
		exit(2);
	}
	c->state = CONN_HANDSHAKE;
	TAILQ_INSERT_TAIL(&b->pending, c, entry);
	b->npending++;
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&b->addr, (int)b->addrlen) != 0) {
		int serr = EVUTIL_SOCKET_ERROR();
		conn_fail(c, FAIL_CONNECT, serr ? evutil_socket_error_to_string(serr) : "connect");
		return NULL;
	}
	return c;
}

/* Every tick: time out slow connections, show progress. */
static void
bench_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	double t = now_s();
	struct conn *c, *next;

	(void)fd;
	(void)what;
	for (c = TAILQ_FIRST(&b->pending); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (t - c->t_start > b->o.timeout)
			conn_fail(c, FAIL_TIMEOUT,
			          c->state == CONN_LOGIN ? "no login reply in time"
			          : c->connected         ? "no session ticket in time"
			                                 : "handshake not finished in time");
	}
	for (c = TAILQ_FIRST(&b->held); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == CONN_WORK && t - c->t_req > b->o.timeout)
			conn_fail(c, FAIL_TIMEOUT, "no reply to a ticket change in time");
	}
	if (b->o.quiet || t - b->t_progress < BENCH_PROGRESS_S)
		return;
	b->t_progress = t;
	if (b->o.mode == MODE_TICKETS)
		fprintf(stderr, "ccbench: %.0f s: %u agents, %lu changes counted, %lu failed\n",
		        t - b->t0, b->nheld, b->changes, b->failed);
	else if (b->o.mode == MODE_SESSIONS)
		fprintf(stderr, "ccbench: %.0f s: %u held, %u in flight, %lu failed, %lu dropped\n",
		        t - b->t0, b->nheld, b->npending, b->failed, b->dropped);
	else
		fprintf(stderr, "ccbench: %.0f s: %lu handshakes counted, %lu failed\n", t - b->t0,
		        b->completed, b->failed);
}

/* Handshakes mode: the warm-up is over (start counting), or the window
 * is over: start no more, and let those in flight finish so the server
 * never sees a handshake cut off by the benchmark. Sessions mode: the hold
 * time is over. */
static void
bench_phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	(void)fd;
	(void)what;
	int windowed = b->o.mode == MODE_HANDSHAKES || b->o.mode == MODE_TICKETS;

	if (windowed && !b->measuring) {
		struct timeval tv = {
		    (time_t)b->o.duration,
		    (suseconds_t)((b->o.duration - (double)(time_t)b->o.duration) * 1e6)};
		b->measuring = 1;
		b->t_window = now_s();
		b->t_end = b->t_window + b->o.duration;
		b->cpu_window = cpu_s();
		evtimer_add(b->phase_timer, &tv);
		return;
	}
	if (windowed) {
		b->t_end = now_s();
		b->cpu_end = cpu_s();
		b->draining = 1;
		bench_refill(b);
		return;
	}
	b->stopping = 1;
	event_base_loopbreak(b->base);
}

static void
bench_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct bench *b = arg;

	(void)what;
	if (!b->o.quiet)
		fprintf(stderr, "ccbench: %s: finishing\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	if ((b->o.mode == MODE_HANDSHAKES || b->o.mode == MODE_TICKETS) && b->measuring &&
	    !b->draining) {
		b->t_end = now_s();
		b->cpu_end = cpu_s();
		b->draining = 1;
	} else if (b->o.mode != MODE_HANDSHAKES && !b->ready)
		b->aborted = 1;
	b->stopping = 1;
	event_base_loopbreak(b->base);
}

/* Handshakes mode results. */
static void
bench_print_handshakes(struct bench *b)
{
	char name[64];
	double secs = b->measuring ? b->t_end - b->t_window : 0;
	double cpu = b->measuring ? b->cpu_end - b->cpu_window : 0;

	printf("seconds=%.3f\n", secs);
	printf("handshakes=%lu\n", b->completed);
	printf("handshakes_per_second=%.1f\n", secs > 0 ? (double)b->completed / secs : 0.0);
	printf("handshakes_total=%lu\n", b->completed_all);
	printf("failures=%lu\n", b->failed);
	for (int i = 0; i < FAIL__COUNT; i++)
		if (b->failures[i] != 0) {
			const char *n = fail_name(i, name, sizeof name);
			printf("failures.%s=%lu\n", n, b->failures[i]);
			printf("first_error.%s=\"%s\"\n", n, b->first_error[i]);
		}
	samples_print(&b->lat_tls, "handshake", 0);
	printf("client_cpu_seconds=%.2f\n", cpu);
	if (b->completed > 0)
		printf("client_cpu_us_per_handshake=%.0f\n", cpu * 1e6 / (double)b->completed);
	/* start-up, warm-up and wind-down too: tells others' CPU use from ours */
	printf("client_cpu_total_seconds=%.2f\n", cpu_s());
}

/* Tickets mode results. */
static void
bench_print_tickets(struct bench *b)
{
	char name[64];
	double secs = b->measuring ? b->t_end - b->t_window : 0;
	double cpu = b->measuring ? b->cpu_end - b->cpu_window : 0;

	printf("seconds=%.3f\n", secs);
	printf("changes=%lu\n", b->changes);
	printf("changes_per_second=%.1f\n", secs > 0 ? (double)b->changes / secs : 0.0);
	printf("changes_total=%lu\n", b->changes_all);
	for (int i = 0; i < STEP__COUNT; i++)
		printf("%s=%lu\n", step_names[i], b->step_done[i]);
	samples_print(&b->lat_change, "change", 1);
	for (int i = 0; i < STEP__COUNT; i++)
		samples_print(&b->lat_step[i], step_names[i], 1);
	printf("failures=%lu\n", b->failed);
	for (int i = 0; i < STEP__COUNT; i++)
		if (b->step_failed[i] != 0) {
			printf("failures.%s=%lu\n", step_names[i], b->step_failed[i]);
			printf("first_error.%s=\"%s\"\n", step_names[i], b->step_error[i]);
		}
	for (int i = 0; i < FAIL__COUNT; i++)
		if (b->failures[i] != 0) {
			const char *n = fail_name(i, name, sizeof name);
			printf("failures.%s=%lu\n", n, b->failures[i]);
			printf("first_error.%s=\"%s\"\n", n, b->first_error[i]);
		}
	printf("dropped=%lu\n", b->dropped);
	if (b->dropped > 0)
		printf("first_drop=\"%s\"\n", b->first_drop);
	printf("client_cpu_seconds=%.2f\n", cpu);
	printf("client_cpu_total_seconds=%.2f\n", cpu_s());
}

/* ---- inserts mode ---------------------------------------------------------
 * What the database alone does at the same durability: threads, each with
 * its own connection, looping over one prepared single-row INSERT in
 * autocommit (one commit, so one redo log write and, with
 * innodb_flush_log_at_trx_commit = 1, one fsync shared by the commits
 * grouped with it). */

#define INSERT_TABLE "bench_inserts"

enum insert_phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

struct inserter {
	struct bench *b;
	pthread_t thread;
	unsigned index;
	MYSQL *m;
	unsigned long done;
	struct samples lat;
	char error[200]; /* the failure that stopped it, or "" */
};

static _Atomic int insert_phase;

/* Connect to the database of the options; NULL with err filled. */
static MYSQL *
insert_connect(struct bench *b, char *err, size_t errlen)
{
	MYSQL *m = mysql_init(NULL);
	unsigned int timeout = 10;

	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(m, b->o.db_socket ? NULL : b->o.db_host, b->o.db_user, b->password,
	                       b->o.db_name, b->o.db_socket ? 0 : b->o.db_port, b->o.db_socket,
	                       0) == NULL) {
		snprintf(err, errlen, "%s", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

/* One inserter thread: insert until told to stop. */
static void *
inserter_main(void *arg)
{
	static const char sql[] = "INSERT INTO " INSERT_TABLE
	                          " (agent_id, body, created_at) VALUES (?, ?, UTC_TIMESTAMP(3))";
	struct inserter *w = arg;
	MYSQL_STMT *st;
	MYSQL_BIND p[2];
	unsigned int agent = w->index + 1;
	unsigned long blen = (unsigned long)strlen(BENCH_NOTE_BODY);

	mysql_thread_init();
	if ((st = mysql_stmt_init(w->m)) == NULL ||
	    mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0) {
		snprintf(w->error, sizeof w->error, "prepare: %s", mysql_error(w->m));
		goto out;
	}
	memset(p, 0, sizeof p);
	p[0].buffer_type = MYSQL_TYPE_LONG;
	p[0].buffer = &agent;
	p[0].is_unsigned = 1;
	p[1].buffer_type = MYSQL_TYPE_STRING;
	p[1].buffer = (void *)(uintptr_t)BENCH_NOTE_BODY;
	p[1].buffer_length = blen;
	p[1].length = &blen;
	if (mysql_stmt_bind_param(st, p) != 0) {
		snprintf(w->error, sizeof w->error, "bind: %s", mysql_stmt_error(st));
		goto out;
	}
	while (atomic_load(&insert_phase) != PHASE_STOP) {
		double t0 = now_s(), t1;
		if (mysql_stmt_execute(st) != 0) {
			snprintf(w->error, sizeof w->error, "insert: %s", mysql_stmt_error(st));
			break;
		}
		t1 = now_s();
		if (atomic_load(&insert_phase) == PHASE_MEASURE) {
			w->done++;
			samples_add(&w->lat, (t1 - t0) * 1000.0);
		}
	}
out:
	if (st != NULL)
		mysql_stmt_close(st);
	mysql_thread_end();
	return NULL;
}

/* Sleep s seconds. */
static void
sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Inserts mode: the whole run; the exit status. */
static int
bench_inserts(struct bench *b)
{
	unsigned n = b->o.concurrency, failed = 0;
	struct inserter *w = calloc(n, sizeof *w);
	struct samples all = {0};
	unsigned long done = 0;
	char err[256];
	double t_window, t_end, cpu0, cpu1;
	MYSQL *m;
	MYSQL_RES *r;
	MYSQL_ROW row;

	if (w == NULL || mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "ccbench: cannot initialise the MariaDB client\n");
		return 2;
	}
	if ((m = insert_connect(b, err, sizeof err)) == NULL) {
		fprintf(stderr, "ccbench: database: %s\n", err);
		return 2;
	}
	printf("mode=inserts\n");
	printf("concurrency=%u\n", n);
	/* the settings that decide what a commit costs */
	if (mysql_query(m, "SELECT @@innodb_flush_log_at_trx_commit, @@log_bin, @@sync_binlog, "
	                   "@@innodb_doublewrite, @@version") == 0 &&
	    (r = mysql_store_result(m)) != NULL) {
		if ((row = mysql_fetch_row(r)) != NULL) {
			printf("db.innodb_flush_log_at_trx_commit=%s\n", row[0] ? row[0] : "");
			printf("db.log_bin=%s\n", row[1] ? row[1] : "");
			printf("db.sync_binlog=%s\n", row[2] ? row[2] : "");
			printf("db.innodb_doublewrite=%s\n", row[3] ? row[3] : "");
			printf("db.version=%s\n", row[4] ? row[4] : "");
		}
		mysql_free_result(r);
	}
	if (mysql_query(m, "CREATE TABLE IF NOT EXISTS " INSERT_TABLE " ("
	                   "id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
	                   "agent_id INT UNSIGNED NOT NULL, body VARCHAR(255) NOT NULL, "
	                   "created_at DATETIME(3) NOT NULL) ENGINE=InnoDB") != 0) {
		fprintf(stderr, "ccbench: create table: %s\n", mysql_error(m));
		return 2;
	}
	for (unsigned i = 0; i < n; i++) {
		w[i].b = b;
		w[i].index = i;
		if ((w[i].m = insert_connect(b, err, sizeof err)) == NULL) {
			fprintf(stderr, "ccbench: database connection %u: %s\n", i + 1, err);
			return 2;
		}
	}
	atomic_store(&insert_phase, PHASE_WARMUP);
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&w[i].thread, NULL, inserter_main, &w[i]) != 0) {
			fprintf(stderr, "ccbench: cannot start a thread\n");
			exit(2);
		}
	sleep_s(b->o.warmup);
	t_window = now_s();
	cpu0 = cpu_s();
	atomic_store(&insert_phase, PHASE_MEASURE);
	sleep_s(b->o.duration);
	atomic_store(&insert_phase, PHASE_STOP);
	t_end = now_s();
	cpu1 = cpu_s();
	for (unsigned i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		done += w[i].done;
		for (size_t k = 0; k < w[i].lat.n; k++)
			samples_add(&all, w[i].lat.v[k]);
		if (w[i].error[0] != '\0') {
			if (failed++ == 0)
				printf("first_error=\"%s\"\n", w[i].error);
		}
		free(w[i].lat.v);
		mysql_close(w[i].m);
	}
	printf("seconds=%.3f\n", t_end - t_window);
	printf("inserts=%lu\n", done);
	printf("inserts_per_second=%.1f\n", (double)done / (t_end - t_window));
	samples_print(&all, "insert", 1);
	printf("failures=%u\n", failed);
	printf("client_cpu_seconds=%.2f\n", cpu1 - cpu0);
	printf("done=1\n");
	free(all.v);
	free(w);
	mysql_close(m);
	mysql_library_end();
	return failed > 0 || done == 0 ? 1 : 0;
}

/* Sessions mode results after the hold. */
static void
bench_print_hold(struct bench *b)
{
	printf("held_seconds=%.1f\n", b->ready ? now_s() - b->t_ready : 0.0);
	printf("sessions_held_at_end=%u\n", b->nheld);
	printf("dropped=%lu\n", b->dropped);
	if (b->dropped > 0)
		printf("first_drop=\"%s\"\n", b->first_drop);
}

/* Close everything still open. */
static void
bench_close_all(struct bench *b)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&b->pending)) != NULL)
		conn_retire(c);
	while ((c = TAILQ_FIRST(&b->held)) != NULL)
		conn_retire(c);
	bench_reap_cb(-1, 0, b);
}

/* Raise the descriptor limit to hold need descriptors. */
static int
bench_raise_fd_limit(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_max < need) {
		rl.rlim_max = need; /* works with CAP_SYS_RESOURCE, harmless otherwise */
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return 0;
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need) {
		fprintf(stderr,
		        "ccbench: descriptor limit %llu is below the %llu needed; raise it "
		        "(ulimit -Hn) or open fewer sessions\n",
		        (unsigned long long)rl.rlim_cur, (unsigned long long)need);
		return -1;
	}
	return 0;
}

/* Resolve --connect into b->addr. */
static int
bench_resolve(struct bench *b)
{
	struct addrinfo hints = {0}, *res;
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(b->o.host, b->o.port, &hints, &res)) != 0) {
		fprintf(stderr, "ccbench: %s: %s\n", b->o.connect, gai_strerror(rc));
		return -1;
	}
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* The first line of the password file. */
static int
bench_read_password(struct bench *b)
{
	FILE *f = fopen(b->o.password_file, "r");

	if (f == NULL) {
		fprintf(stderr, "ccbench: %s: %s\n", b->o.password_file, strerror(errno));
		return -1;
	}
	if (fgets(b->password, sizeof b->password, f) == NULL)
		b->password[0] = '\0';
	fclose(f);
	b->password[strcspn(b->password, "\r\n")] = '\0';
	if (b->password[0] == '\0') {
		fprintf(stderr, "ccbench: %s: no password on the first line\n", b->o.password_file);
		return -1;
	}
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: ccbench handshakes --connect HOST:PORT --ca FILE [options]\n"
	           "       ccbench sessions --connect HOST:PORT --ca FILE --password-file FILE\n"
	           "               (--user NAME | --user-prefix P --users K) [options]\n"
	           "       ccbench tickets --connect HOST:PORT --ca FILE --password-file FILE\n"
	           "               --user-prefix P --queue CODE [options]\n"
	           "       ccbench inserts (--db-socket PATH | --db-host H [--db-port N])\n"
	           "               --db-user U --db-name D --password-file FILE [options]\n"
	           "\n"
	           "  --connect HOST:PORT  server to load ([::1]:PORT for IPv6)\n"
	           "  --servername NAME    name to send (SNI) and verify (default: HOST)\n"
	           "  --ca FILE            CA certificates to verify the server against\n"
	           "  --concurrency C      connections in flight (default 16; sessions: 64\n"
	           "                       still connecting or logging in)\n"
	           "  --timeout S          seconds one connection may take (default 30)\n"
	           "  --max-failures F     stop after more than F failures (default 100)\n"
	           "  --quiet              no progress on standard error\n"
	           "handshakes:\n"
	           "  --duration D         seconds to count (default 10)\n"
	           "  --warmup W           seconds to run before counting (default 1)\n"
	           "  --complete ticket|handshake\n"
	           "                       a handshake counts at the server's first session\n"
	           "                       ticket (default; the server has finished) or as\n"
	           "                       soon as the client side is done\n"
	           "sessions:\n"
	           "  --sessions N         sessions to open and log in (default 10000)\n"
	           "  --user NAME          log every session in as NAME, or\n"
	           "  --user-prefix P --users K\n"
	           "                       cycle through P0001 .. P<K> (zero-padded to 4)\n"
	           "  --password-file FILE the password, on the first line\n"
	           "  --hold S             hold the sessions S seconds (default 0: until\n"
	           "                       SIGTERM or SIGINT)\n"
	           "tickets (C agents P0001 .. P<C>, --concurrency default 50; --duration,\n"
	           "--warmup as for handshakes):\n"
	           "  --queue CODE         the queue each ticket is accepted into\n"
	           "inserts (--concurrency threads, default 50; --duration, --warmup):\n"
	           "  --db-socket PATH     MariaDB's socket, or --db-host H --db-port N\n"
	           "  --db-user U --db-name D\n"
	           "                       the account and database (table " INSERT_TABLE "\n"
	           "                       is created there when missing)\n"
	           "  --password-file FILE the account's password, on the first line\n");
}

/* Parse a positive number, or exit with usage. */
static double
opt_number(const char *name, const char *v, double min, double max)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || d < min || d > max) {
		fprintf(stderr, "ccbench: --%s: \"%s\" is not a number in %g..%g\n", name, v, min,
		        max);
		exit(2);
	}
	return d;
}

/* Split HOST:PORT (or [HOST]:PORT). */
static int
opt_split_connect(struct options *o)
{
	const char *a = o->connect, *colon;
	size_t n;

	if (a[0] == '[') {
		const char *close = strchr(a, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - a - 1);
		a++;
		colon = close + 1;
	} else {
		if ((colon = strrchr(a, ':')) == NULL)
			return -1;
		n = (size_t)(colon - a);
	}
	if (n == 0 || n >= sizeof o->host || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof o->port)
		return -1;
	memcpy(o->host, a, n);
	o->host[n] = '\0';
	snprintf(o->port, sizeof o->port, "%s", colon + 1);
	return 0;
}

static void
opt_parse(struct options *o, int argc, char **argv)
{
	enum {
		O_SERVERNAME = 256,
		O_MAXFAIL,
		O_COMPLETE,
		O_USERPFX,
		O_PWFILE,
		O_WARMUP,
		O_QUEUE,
		O_DBSOCKET,
		O_DBHOST,
		O_DBPORT,
		O_DBUSER,
		O_DBNAME
	};
	static const struct option longopts[] = {
	    {"connect", required_argument, NULL, 'c'},
	    {"servername", required_argument, NULL, O_SERVERNAME},
	    {"ca", required_argument, NULL, 'a'},
	    {"concurrency", required_argument, NULL, 'C'},
	    {"timeout", required_argument, NULL, 't'},
	    {"max-failures", required_argument, NULL, O_MAXFAIL},
	    {"quiet", no_argument, NULL, 'q'},
	    {"duration", required_argument, NULL, 'd'},
	    {"warmup", required_argument, NULL, O_WARMUP},
	    {"complete", required_argument, NULL, O_COMPLETE},
	    {"sessions", required_argument, NULL, 'n'},
	    {"user", required_argument, NULL, 'u'},
	    {"user-prefix", required_argument, NULL, O_USERPFX},
	    {"users", required_argument, NULL, 'k'},
	    {"password-file", required_argument, NULL, O_PWFILE},
	    {"hold", required_argument, NULL, 'H'},
	    {"queue", required_argument, NULL, O_QUEUE},
	    {"db-socket", required_argument, NULL, O_DBSOCKET},
	    {"db-host", required_argument, NULL, O_DBHOST},
	    {"db-port", required_argument, NULL, O_DBPORT},
	    {"db-user", required_argument, NULL, O_DBUSER},
	    {"db-name", required_argument, NULL, O_DBNAME},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch, concurrency_set = 0;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		exit(argc < 2 ? 2 : 0);
	}
	if (strcmp(argv[1], "handshakes") == 0)
		o->mode = MODE_HANDSHAKES;
	else if (strcmp(argv[1], "sessions") == 0)
		o->mode = MODE_SESSIONS;
	else if (strcmp(argv[1], "tickets") == 0)
		o->mode = MODE_TICKETS;
	else if (strcmp(argv[1], "inserts") == 0)
		o->mode = MODE_INSERTS;
	else {
		fprintf(stderr,
		        "ccbench: unknown mode \"%s\" (handshakes, sessions, tickets or inserts)\n",
		        argv[1]);
		exit(2);
	}
	o->concurrency = 16;
	o->timeout = 30;
	o->max_failures = 100;
	o->duration = 10;
	o->warmup = 1;
	o->complete = COMPLETE_TICKET;
	o->sessions = 10000;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:a:C:t:qd:n:u:k:H:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			snprintf(o->connect, sizeof o->connect, "%s", optarg);
			break;
		case O_SERVERNAME:
			snprintf(o->servername, sizeof o->servername, "%s", optarg);
			break;
		case 'a':
			o->ca = optarg;
			break;
		case 'C':
			o->concurrency = (unsigned)opt_number("concurrency", optarg, 1, 100000);
			concurrency_set = 1;
			break;
		case 't':
			o->timeout = opt_number("timeout", optarg, 0.1, 3600);
			break;
		case O_MAXFAIL:
			o->max_failures = (unsigned long)opt_number("max-failures", optarg, 0, 1e9);
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'd':
			o->duration = opt_number("duration", optarg, 0.1, 86400);
			break;
		case O_WARMUP:
			o->warmup = opt_number("warmup", optarg, 0, 3600);
			break;
		case O_COMPLETE:
			if (strcmp(optarg, "ticket") == 0)
				o->complete = COMPLETE_TICKET;
			else if (strcmp(optarg, "handshake") == 0)
				o->complete = COMPLETE_HANDSHAKE;
			else {
				fprintf(stderr, "ccbench: --complete: ticket or handshake\n");
				exit(2);
			}
			break;
		case 'n':
			o->sessions = (unsigned)opt_number("sessions", optarg, 1, 1000000);
			break;
		case 'u':
			o->user = optarg;
			break;
		case O_USERPFX:
			o->user_prefix = optarg;
			break;
		case 'k':
			o->users = (unsigned)opt_number("users", optarg, 1, 1000000);
			break;
		case O_PWFILE:
			o->password_file = optarg;
			break;
		case 'H':
			o->hold = opt_number("hold", optarg, 0, 86400 * 30);
			break;
		case O_QUEUE:
			o->queue = optarg;
			break;
		case O_DBSOCKET:
			o->db_socket = optarg;
			break;
		case O_DBHOST:
			o->db_host = optarg;
			break;
		case O_DBPORT:
			o->db_port = (unsigned)opt_number("db-port", optarg, 1, 65535);
			break;
		case O_DBUSER:
			o->db_user = optarg;
			break;
		case O_DBNAME:
			o->db_name = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ccbench: unexpected argument \"%s\"\n", argv[optind]);
		exit(2);
	}
	if (o->mode == MODE_INSERTS) {
		if (!concurrency_set)
			o->concurrency = 50;
		if ((o->db_socket == NULL && o->db_host == NULL) || o->db_user == NULL ||
		    o->db_name == NULL || o->password_file == NULL) {
			fprintf(stderr, "ccbench: inserts needs --db-socket PATH (or --db-host H), "
			                "--db-user U, --db-name D and --password-file FILE\n");
			exit(2);
		}
		if (o->db_port == 0)
			o->db_port = 3306;
		return;
	}
	if (o->connect[0] == '\0' || opt_split_connect(o) != 0) {
		fprintf(stderr, "ccbench: --connect HOST:PORT is required\n");
		exit(2);
	}
	if (o->ca == NULL) {
		fprintf(stderr, "ccbench: --ca FILE is required (the bench always verifies)\n");
		exit(2);
	}
	if (o->servername[0] == '\0')
		snprintf(o->servername, sizeof o->servername, "%s", o->host);
	if (o->mode == MODE_SESSIONS) {
		if (!concurrency_set)
			o->concurrency = 64;
		if ((o->user == NULL) == (o->user_prefix == NULL) ||
		    (o->user_prefix != NULL && o->users == 0)) {
			fprintf(
			    stderr,
			    "ccbench: sessions needs --user NAME or --user-prefix P --users K\n");
			exit(2);
		}
		if (o->password_file == NULL) {
			fprintf(stderr, "ccbench: sessions needs --password-file FILE\n");
			exit(2);
		}
	}
	if (o->mode == MODE_TICKETS) {
		if (!concurrency_set)
			o->concurrency = 50;
		/* one connection, and one agent, for each of C */
		o->sessions = o->concurrency;
		o->users = o->concurrency;
		if (o->user_prefix == NULL || o->user != NULL || o->password_file == NULL ||
		    o->queue == NULL) {
			fprintf(stderr,
			        "ccbench: tickets needs --user-prefix P, --password-file FILE "
			        "and --queue CODE\n");
			exit(2);
		}
	}
}

/* Build the client TLS context; handshakes mode hears about tickets. */
static int
bench_tls_init(struct bench *b)
{
	char err[256];

	if ((b->ctx = tls_client_ctx(b->o.ca, 0, err, sizeof err)) == NULL) {
		fprintf(stderr, "ccbench: %s\n", err);
		return -1;
	}
	if (b->o.mode == MODE_HANDSHAKES) {
		/* the callback fires per ticket; nothing is cached or resumed */
		SSL_CTX_set_session_cache_mode(b->ctx, SSL_SESS_CACHE_CLIENT |
		                                           SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(b->ctx, bench_new_session_cb);
	}
	return 0;
}

/* Events of the loop itself: reaper, ticker, phase timer, signals. */
static void
bench_events_init(struct bench *b)
{
	struct timeval tick = {0, BENCH_TICK_MS * 1000};

	b->reaper = event_new(b->base, -1, 0, bench_reap_cb, b);
	b->ticker = event_new(b->base, -1, EV_PERSIST, bench_tick_cb, b);
	b->phase_timer = evtimer_new(b->base, bench_phase_cb, b);
	b->sig_term = evsignal_new(b->base, SIGTERM, bench_signal_cb, b);
	b->sig_int = evsignal_new(b->base, SIGINT, bench_signal_cb, b);
	if (!b->reaper || !b->ticker || !b->phase_timer || !b->sig_term || !b->sig_int) {
		fprintf(stderr, "ccbench: cannot create events\n");
		exit(2);
	}
	evtimer_add(b->ticker, &tick);
	evsignal_add(b->sig_term, NULL);
	evsignal_add(b->sig_int, NULL);
}

static void
bench_events_free(struct bench *b)
{
	event_free(b->reaper);
	event_free(b->ticker);
	event_free(b->phase_timer);
	event_free(b->sig_term);
	event_free(b->sig_int);
}

/* Run the loop and print the mode's results; the exit status. */
static int
bench_run(struct bench *b)
{
	b->t0 = b->t_progress = now_s();
	printf("mode=%s\n", b->o.mode == MODE_HANDSHAKES ? "handshakes"
	                    : b->o.mode == MODE_TICKETS  ? "tickets"
	                                                 : "sessions");
	printf("target=%s\n", b->o.connect);
	printf("servername=%s\n", b->o.servername);
	printf("concurrency=%u\n", b->o.concurrency);
	fflush(stdout);
	if (b->o.mode == MODE_HANDSHAKES) {
		struct timeval w = {
		    (time_t)b->o.warmup,
		    (suseconds_t)((b->o.warmup - (double)(time_t)b->o.warmup) * 1e6)};
		printf("complete=%s\n", b->o.complete == COMPLETE_TICKET ? "ticket" : "handshake");
		evtimer_add(b->phase_timer, &w);
	}
	if (b->o.mode == MODE_TICKETS)
		printf("queue=%s\n", b->o.queue);
	bench_refill(b);
	event_base_dispatch(b->base);
	if (b->o.mode == MODE_TICKETS) {
		if (!b->ready)
			printf("logged_in=%u\n", b->nheld);
		bench_print_tickets(b);
		printf("done=1\n");
		return b->aborted || b->failed > 0 || b->dropped > 0 || b->changes == 0 ? 1 : 0;
	}
	if (b->o.mode == MODE_HANDSHAKES) {
		bench_print_handshakes(b);
		printf("done=1\n");
		return b->aborted || b->failed > 0 || b->completed == 0 ? 1 : 0;
	}
	if (!b->ready) {
		bench_print_logins(b);
		printf("ready=0\n");
	}
	bench_print_hold(b);
	printf("done=1\n");
	return b->aborted || b->failed > 0 || b->dropped > 0 || b->nheld != b->o.sessions ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	rlim_t need;
	int rc;

	memset(&b, 0, sizeof b);
	opt_parse(&b.o, argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN); /* OpenSSL writes to sockets the server may have closed */
	need = (rlim_t)b.o.concurrency + BENCH_FD_SPARE +
	       (b.o.mode == MODE_SESSIONS ? (rlim_t)b.o.sessions : 0);
	if (bench_raise_fd_limit(need) != 0)
		return 2;
	if (b.o.mode != MODE_HANDSHAKES && bench_read_password(&b) != 0)
		return 2;
	if (b.o.mode == MODE_INSERTS) {
		rc = bench_inserts(&b);
		OPENSSL_cleanse(b.password, sizeof b.password);
		return rc;
	}
	if (bench_resolve(&b) != 0 || bench_tls_init(&b) != 0)
		return 2;
	if ((b.base = event_base_new()) == NULL) {
		fprintf(stderr, "ccbench: cannot create an event base\n");
		return 2;
	}
	TAILQ_INIT(&b.pending);
	TAILQ_INIT(&b.held);
	TAILQ_INIT(&b.dead);
	bench_events_init(&b);
	rc = bench_run(&b);
	b.stopping = 1;
	bench_close_all(&b);
	bench_events_free(&b);
	event_base_free(b.base);
	SSL_CTX_free(b.ctx);
	OPENSSL_cleanse(b.password, sizeof b.password);
	free(b.lat_tls.v);
	free(b.lat_login.v);
	free(b.lat_total.v);
	free(b.lat_change.v);
	for (int i = 0; i < STEP__COUNT; i++)
		free(b.lat_step[i].v);
	return rc;
}
