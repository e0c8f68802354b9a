/* statsbench.c: the supervisor statistics benchmark's load, in one process.
 *
 *   statsbench --connect HOST:PORT --ca FILE --password-file FILE
 *              --routes FILE [options]
 *
 * Opens three kinds of sessions against callcentred, all logged in with
 * the one benchmark password:
 *   phone system  one service session (P00001 ..) per queue: every call of
 *                 a queue goes through its queue's session, pipelined, so
 *                 the server counts a queue's arrivals in the order they
 *                 were sent;
 *   agents        A00001 .. take routed work (agent.ready). An offer is
 *                 "picked up": the phone session sends call.answer, holds
 *                 the call for an exponential talk time, then call.end; the
 *                 agent wraps up (the queue's wrap-up time) and is offered
 *                 the next call by the router;
 *   supervisors   S00001 .. subscribed with stats.subscribe (every scope
 *                 each may see: a site's supervisor its site and its
 *                 queues, one of no site everything).
 * Calls arrive at --rate a second, spread evenly over the queues of
 * --routes (lines "queue-code dialled-number"), through a warm-up and
 * three measured phases of --duration seconds: subscribed, unsubscribed
 * (every supervisor sends stats.unsubscribe; the same load without the
 * pushes) and subscribed again. The server's CPU (/proc/PID/stat of
 * --server-pid) in each phase gives what the 200 subscribers cost: the
 * subscribed phases' mean over the unsubscribed one, so that drift (the
 * tables growing) cancels out.
 *
 * Push latency: a stats push names no instant of the change it reflects,
 * only the instant it was built ("at"). A queue's "offered" is the count of
 * its arrivals, and a queue's arrivals are counted in the order its session
 * sent them, so a push showing offered = N for a queue reflects the N-th
 * call of that queue. For every supervisor and every call it sees, the
 * latency is measured from the instant the client received the call's ok
 * reply (the server has committed and counted the call by then: a lower
 * bound of the true latency) and from the instant it sent call.arrive (an
 * upper bound); "delivery" is the receive time minus the push's own "at"
 * (the same machine's wall clock): the fan-out and transport alone.
 *
 * Results are key=value lines on standard output, progress on standard
 * error. Exit status 0 only when every reply was ok, no session was
 * dropped, every call was answered in time and the rate was kept. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proto.h"
#include "tls.h"

#define SB_TICK_MS      10
#define SB_PROGRESS_S   5.0
#define SB_MAX_QUEUES   256
#define SB_HIST_MS      60000 /* latency histogram: 1 ms bins up to 60 s */
#define SB_PASSWORD_MAX 1024
#define SB_FD_SPARE     64
#define SB_DRAIN_S      60.0
#define SB_TALK_CAP     5.0 /* talk time at most this many times the mean */

enum role { ROLE_PBX, ROLE_SUP, ROLE_AGENT, ROLE__COUNT };
static const char *const role_names[ROLE__COUNT] = {"pbx", "supervisor", "agent"};
static const char role_prefix[ROLE__COUNT] = {'P', 'S', 'A'};

enum conn_state { C_CONNECTING, C_LOGIN, C_SETUP, C_UP, C_DEAD };

/* The requests whose failures are counted, each by name. */
enum op {
	OP_LOGIN,
	OP_READY,
	OP_SUBSCRIBE,
	OP_UNSUBSCRIBE,
	OP_ARRIVE,
	OP_ANSWER,
	OP_END,
	OP_ABANDON,
	OP__COUNT
};
static const char *const op_names[OP__COUNT] = {
    "login",       "agent.ready", "stats.subscribe", "stats.unsubscribe",
    "call.arrive", "call.answer", "call.end",        "call.abandon",
};

enum call_state {
	CALL_SENT,       /* call.arrive in flight */
	CALL_WAITING,    /* in line (or offered, not yet picked up) */
	CALL_ANSWERING,  /* call.answer in flight */
	CALL_TALKING,    /* answered; call.end when the talk time is up */
	CALL_ENDING,     /* call.end in flight */
	CALL_ABANDONING, /* call.abandon in flight (at the end of the run) */
	CALL_DONE,
	CALL_FAILED,
};

/* The phases of a run, in order. */
enum phase { PH_SETUP, PH_WARMUP, PH_SUB1, PH_UNSUB, PH_SUB2, PH_DRAIN, PH__COUNT };
static const char *const phase_names[PH__COUNT] = {
    "setup", "warmup", "subscribed", "unsubscribed", "subscribed_again", "drain",
};

struct call {
	double t_send, t_reply, t_offer;
	long long ticket;
	int queue, agent;
	enum call_state state;
	int answered;
};

/* A pbx request awaiting its reply (replies come in request order). */
struct pend {
	long long id;
	enum op op;
	int call;
};

struct conn {
	struct sb *b;
	struct bufferevent *bev;
	enum role role;
	unsigned index; /* 0-based within the role */
	enum conn_state state;
	double t_start;
	long long next_id;
	struct pend *pq; /* pbx: ring of requests in flight */
	size_t pq_head, pq_n, pq_cap;
	uint32_t *seen; /* supervisor: offered last seen per queue (UINT32_MAX: none) */
	int want_sub;   /* supervisor: subscribed (or asked to be) */
	/* supervisor: the parts of the subscription's picture still to come
	 * (stats events of its version, right after the reply) */
	json_int_t picture_version;
	json_int_t picture_left;
};

/* What a talk timer ends. */
struct talk {
	struct sb *b;
	int call;
};

/* Latencies in 1 ms bins. */
struct hist {
	uint64_t n, over;
	double sum, max;
	uint64_t *bins;
};

/* Figures at a phase boundary. */
struct mark {
	double t, srv_cpu, cli_cpu;
	long rss_kib;
	unsigned long calls, pushes, samples;
};

struct options {
	char host[256], port[16], connect[300];
	const char *servername, *ca, *password_file, *routes;
	unsigned agents, sups, concurrency;
	double rate, duration, warmup, talk_mean, timeout, answer_limit;
	long server_pid;
	int quiet;
};

struct sb {
	struct options o;
	struct event_base *base;
	SSL_CTX *ctx;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char password[SB_PASSWORD_MAX];

	unsigned nqueues;
	char *qcode[SB_MAX_QUEUES], *qdialled[SB_MAX_QUEUES];
	uint32_t qbase[SB_MAX_QUEUES]; /* offered before the first call */
	int qbase_known[SB_MAX_QUEUES];
	int *qcalls[SB_MAX_QUEUES]; /* call indices in the order sent */
	size_t qn[SB_MAX_QUEUES], qcap[SB_MAX_QUEUES];

	struct conn **conns; /* pbx, then supervisors, then agents */
	unsigned nconns, started, connecting, up, up_by[ROLE__COUNT], dropped;
	char first_drop[200];

	struct call *calls;
	size_t ncalls, capcalls;
	unsigned long open_calls;
	/* ticket id -> call, and offers that came before the call's reply */
	struct tslot {
		long long ticket;
		int call, agent;
		double t_offer;
	} * tmap;
	size_t tmap_cap;

	enum phase phase;
	struct mark marks[PH__COUNT + 1];
	double t0, t_phase, t_progress, t_drain;
	unsigned long sent_in_phase;
	int subs_pending; /* subscribe/unsubscribe replies awaited */

	unsigned long failures[OP__COUNT];
	char first_error[OP__COUNT][200];
	unsigned long calls_answered, calls_ended, calls_abandoned, offers, offers_late;
	unsigned long retracted, paused, answer_too_slow, rate_shortfall;
	unsigned long pushes, push_lines, push_bytes, push_scopes, push_before_reply;
	struct hist lat_reply, lat_send, lat_delivery, lat_answer;
	struct event *ticker, *sig_term, *sig_int;
	int stopping, aborted;
};

static void conn_start(struct sb *b);
static void phase_next(struct sb *b);

/* Seconds on the monotonic clock. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds on the wall clock, as the server's "at". */
static double
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* User plus system CPU seconds of this process. */
static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* User plus system CPU seconds of process pid (all threads); -1 if unknown. */
static double
cpu_of(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after "pid (comm) ": state is field 3, utime and stime 14 and 15 */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS of process pid in KiB; -1 if unknown. */
static long
rss_of(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		fprintf(stderr, "statsbench: out of memory\n");
		exit(2);
	}
	return p;
}

static void
hist_add(struct hist *h, double ms)
{
	size_t bin;

	if (ms < 0)
		ms = 0;
	if (h->bins == NULL)
		h->bins = xcalloc(SB_HIST_MS, sizeof *h->bins);
	h->n++;
	h->sum += ms;
	if (ms > h->max)
		h->max = ms;
	bin = (size_t)ms;
	if (bin >= SB_HIST_MS)
		h->over++;
	else
		h->bins[bin]++;
}

/* The upper edge of the bin holding the p-th permille (nearest rank). */
static double
hist_at(const struct hist *h, unsigned permille)
{
	uint64_t rank = (h->n * permille + 999) / 1000, seen = 0;

	for (size_t i = 0; i < SB_HIST_MS; i++) {
		seen += h->bins[i];
		if (seen >= rank)
			return (double)(i + 1);
	}
	return h->max;
}

/* NAME_count, _ms_mean, _ms_p50/p90/p99/max. */
static void
hist_print(const struct hist *h, const char *name)
{
	printf("%s_count=%llu\n", name, (unsigned long long)h->n);
	if (h->n == 0)
		return;
	printf("%s_ms_mean=%.1f\n", name, h->sum / (double)h->n);
	printf("%s_ms_p50=%.0f\n", name, hist_at(h, 500));
	printf("%s_ms_p90=%.0f\n", name, hist_at(h, 900));
	printf("%s_ms_p99=%.0f\n", name, hist_at(h, 990));
	printf("%s_ms_max=%.1f\n", name, h->max);
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

/* Count a refused or failed request of kind op. */
static void
op_failed(struct sb *b, enum op op, const char *detail)
{
	b->failures[op]++;
	note_detail(b->first_error[op], sizeof b->first_error[op], detail);
}

/* The error of a reply as "code: message". */
static void
reply_error(json_t *msg, char *buf, size_t len)
{
	json_t *e = json_object_get(msg, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *m = json_string_value(json_object_get(e, "message"));

	snprintf(buf, len, "%s: %s", code ? code : "?", m ? m : "");
}

/* --- the ticket map --- */

static struct tslot *
tmap_slot(struct sb *b, long long ticket)
{
	size_t mask = b->tmap_cap - 1;
	size_t i = (size_t)(((unsigned long long)ticket * 11400714819323198485ull) >> 32) & mask;

	while (b->tmap[i].ticket != 0 && b->tmap[i].ticket != ticket)
		i = (i + 1) & mask;
	if (b->tmap[i].ticket == 0) {
		b->tmap[i].ticket = ticket;
		b->tmap[i].call = -1;
		b->tmap[i].agent = -1;
	}
	return &b->tmap[i];
}

/* --- sending --- */

static void
conn_send(struct conn *c, json_t *req)
{
	size_t len;
	char *line = proto_encode(req, &len);

	if (line == NULL) {
		fprintf(stderr, "statsbench: cannot encode a request\n");
		exit(2);
	}
	bufferevent_write(c->bev, line, len);
	free(line);
	json_decref(req);
}

/* A refused call.arrive was not counted: later calls of its queue move up
 * one place in the order the pushes count them in. */
static void
queue_forget(struct sb *b, int q, int ci)
{
	for (size_t i = b->qn[q]; i-- > 0;)
		if (b->qcalls[q][i] == ci) {
			memmove(&b->qcalls[q][i], &b->qcalls[q][i + 1],
			        (b->qn[q] - i - 1) * sizeof b->qcalls[q][0]);
			b->qn[q]--;
			return;
		}
}

/* A pbx request about call ci; its reply is matched in order. */
static void
pbx_request(struct sb *b, int ci, enum op op)
{
	struct call *k = &b->calls[ci];
	struct conn *c = b->conns[k->queue];
	long long id = ++c->next_id;
	char call_id[32], caller[32];
	json_t *req;

	if (c->state != C_UP) {
		op_failed(b, op, "the queue's phone session is gone");
		if (op == OP_ARRIVE)
			queue_forget(b, k->queue, ci);
		k->state = CALL_FAILED;
		b->open_calls--;
		return;
	}
	/* ascending, as a phone system numbers its calls */
	snprintf(call_id, sizeof call_id, "sb-%09d", ci);
	snprintf(caller, sizeof caller, "139%08d", ci % 100000000);
	if (op == OP_ARRIVE)
		req = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "op", op_names[op],
		                "call_id", call_id, "dialled", b->qdialled[k->queue], "caller",
		                caller);
	else
		req = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "op", op_names[op],
		                "call_id", call_id);
	if (c->pq_n == c->pq_cap) {
		size_t cap = c->pq_cap ? c->pq_cap * 2 : 64;
		struct pend *q = xcalloc(cap, sizeof *q);
		for (size_t i = 0; i < c->pq_n; i++)
			q[i] = c->pq[(c->pq_head + i) % c->pq_cap];
		free(c->pq);
		c->pq = q;
		c->pq_cap = cap;
		c->pq_head = 0;
	}
	c->pq[(c->pq_head + c->pq_n++) % c->pq_cap] = (struct pend){id, op, ci};
	conn_send(c, req);
}

/* A new call into queue q. */
static void
call_new(struct sb *b, unsigned q)
{
	struct call *k;
	int ci;

	if (b->ncalls == b->capcalls) {
		size_t cap = b->capcalls ? b->capcalls * 2 : 65536;
		struct call *n = realloc(b->calls, cap * sizeof *n);
		if (n == NULL) {
			fprintf(stderr, "statsbench: out of memory\n");
			exit(2);
		}
		b->calls = n;
		b->capcalls = cap;
	}
	if (b->qn[q] == b->qcap[q]) {
		size_t cap = b->qcap[q] ? b->qcap[q] * 2 : 4096;
		int *n = realloc(b->qcalls[q], cap * sizeof *n);
		if (n == NULL) {
			fprintf(stderr, "statsbench: out of memory\n");
			exit(2);
		}
		b->qcalls[q] = n;
		b->qcap[q] = cap;
	}
	ci = (int)b->ncalls++;
	k = &b->calls[ci];
	memset(k, 0, sizeof *k);
	k->queue = (int)q;
	k->agent = -1;
	k->state = CALL_SENT;
	k->t_send = now_s();
	b->qcalls[q][b->qn[q]++] = ci;
	b->open_calls++;
	b->sent_in_phase++;
	pbx_request(b, ci, OP_ARRIVE);
}

/* The talk time is up. */
static void
call_talk_cb(evutil_socket_t fd, short what, void *arg)
{
	struct talk *tk = arg;
	struct sb *b = tk->b;
	int ci = tk->call;

	(void)fd;
	(void)what;
	free(tk);
	if (b->calls[ci].state == CALL_TALKING) {
		b->calls[ci].state = CALL_ENDING;
		pbx_request(b, ci, OP_END);
	}
}

/* An exponential talk time around the mean, capped. */
static double
talk_time(struct sb *b)
{
	double u = ((double)random() + 1.0) / ((double)RAND_MAX + 2.0);
	double t = -log(u) * b->o.talk_mean;

	return t > SB_TALK_CAP * b->o.talk_mean ? SB_TALK_CAP * b->o.talk_mean : t;
}

/* Call ci was offered to agent a at t_offer: the agent picks up. */
static void
call_pick_up(struct sb *b, int ci, int a, double t_offer)
{
	struct call *k = &b->calls[ci];

	if (k->state != CALL_WAITING || b->phase == PH_DRAIN)
		return; /* abandoned at the end of the run: the offer is taken back */
	k->t_offer = t_offer;
	if (b->phase != PH_SETUP)
		hist_add(&b->lat_answer, (t_offer - k->t_send) * 1000.0);
	if (t_offer - k->t_send > b->o.answer_limit)
		b->answer_too_slow++;
	k->agent = a;
	k->state = CALL_ANSWERING;
	pbx_request(b, ci, OP_ANSWER);
}

/* The reply to a pbx request. */
static void
pbx_reply(struct conn *c, json_t *msg, const char *line)
{
	struct sb *b = c->b;
	json_t *id = json_object_get(msg, "id");
	char detail[200];
	struct pend p;
	struct call *k;

	if (c->pq_n == 0 || !json_is_integer(id) ||
	    json_integer_value(id) != c->pq[c->pq_head].id) {
		snprintf(detail, sizeof detail, "a reply out of order: %.150s", line);
		op_failed(b, OP_ARRIVE, detail);
		return;
	}
	p = c->pq[c->pq_head];
	c->pq_head = (c->pq_head + 1) % c->pq_cap;
	c->pq_n--;
	k = &b->calls[p.call];
	if (!json_is_true(json_object_get(msg, "ok"))) {
		reply_error(msg, detail, sizeof detail);
		op_failed(b, p.op, detail);
		if (p.op == OP_ARRIVE)
			queue_forget(b, k->queue, p.call);
		k->state = CALL_FAILED;
		b->open_calls--;
		return;
	}
	switch (p.op) {
	case OP_ARRIVE: {
		json_t *t = json_object_get(json_object_get(msg, "ticket"), "id");
		struct tslot *s;
		k->t_reply = now_s();
		k->state = CALL_WAITING;
		if (!json_is_integer(t)) {
			op_failed(b, OP_ARRIVE, "a reply without ticket.id");
			k->state = CALL_FAILED;
			b->open_calls--;
			return;
		}
		k->ticket = json_integer_value(t);
		s = tmap_slot(b, k->ticket);
		s->call = p.call;
		if (b->phase == PH_DRAIN) {
			k->state = CALL_ABANDONING;
			pbx_request(b, p.call, OP_ABANDON);
		} else if (s->agent >= 0)
			call_pick_up(b, p.call, s->agent, s->t_offer);
		break;
	}
	case OP_ANSWER: {
		struct talk *tk = xcalloc(1, sizeof *tk);
		double t = talk_time(b);
		struct timeval tv = {(time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6)};
		b->calls_answered++;
		k->answered = 1;
		k->state = CALL_TALKING;
		if (b->phase == PH_DRAIN) {
			free(tk);
			k->state = CALL_ENDING;
			pbx_request(b, p.call, OP_END);
			break;
		}
		tk->b = b;
		tk->call = p.call;
		if (event_base_once(b->base, -1, EV_TIMEOUT, call_talk_cb, tk, &tv) != 0) {
			fprintf(stderr, "statsbench: cannot add a timer\n");
			exit(2);
		}
		break;
	}
	case OP_END:
		b->calls_ended++;
		k->state = CALL_DONE;
		b->open_calls--;
		break;
	case OP_ABANDON:
		b->calls_abandoned++;
		k->state = CALL_DONE;
		b->open_calls--;
		break;
	default:
		break;
	}
}

/* --- supervisors --- */

static int
queue_index(struct sb *b, const char *code)
{
	for (unsigned q = 0; q < b->nqueues; q++)
		if (strcmp(b->qcode[q], code) == 0)
			return (int)q;
	return -1;
}

/* The scopes of a subscribe reply or a push. With measure, each queue's
 * new arrivals are latency samples. */
static void
sup_scopes(struct conn *c, json_t *scopes, int measure, double t_recv)
{
	struct sb *b = c->b;
	size_t i;
	json_t *s;
	int delivery_done = 0;

	json_array_foreach(scopes, i, s)
	{
		const char *kind = json_string_value(json_object_get(s, "scope"));
		const char *code = json_string_value(json_object_get(s, "queue"));
		json_t *off = json_object_get(s, "offered");
		int q;
		uint32_t n;

		if (measure && !delivery_done && json_is_integer(json_object_get(s, "at"))) {
			hist_add(&b->lat_delivery,
			         wall_ms() - (double)json_integer_value(json_object_get(s, "at")));
			delivery_done = 1;
		}
		if (kind == NULL || strcmp(kind, "queue") != 0 || code == NULL ||
		    !json_is_integer(off) || (q = queue_index(b, code)) < 0)
			continue;
		n = (uint32_t)json_integer_value(off);
		if (!b->qbase_known[q]) {
			b->qbase[q] = n; /* no call was sent before the first reply */
			b->qbase_known[q] = 1;
		}
		if (measure && c->seen[q] != UINT32_MAX) {
			for (uint32_t v = c->seen[q] + 1; v <= n && v > c->seen[q]; v++) {
				size_t ord = v - b->qbase[q];
				if (ord < 1 || ord > b->qn[q])
					continue;
				struct call *k = &b->calls[b->qcalls[q][ord - 1]];
				hist_add(&b->lat_send, (t_recv - k->t_send) * 1000.0);
				if (k->t_reply > 0)
					hist_add(&b->lat_reply, (t_recv - k->t_reply) * 1000.0);
				else {
					hist_add(&b->lat_reply, 0);
					b->push_before_reply++;
				}
			}
		}
		c->seen[q] = n;
	}
}

static int
measuring(const struct sb *b)
{
	return b->phase == PH_SUB1 || b->phase == PH_SUB2;
}

static void
sup_send(struct conn *c, enum op op)
{
	c->want_sub = op == OP_SUBSCRIBE;
	c->b->subs_pending++;
	conn_send(c, json_pack("{s:I,s:s}", "id", (json_int_t)++c->next_id, "op", op_names[op]));
}

/* --- lines --- */

static void
conn_drop(struct conn *c, const char *why)
{
	struct sb *b = c->b;

	if (c->state == C_DEAD)
		return;
	if (c->state == C_UP) {
		b->up--;
		b->up_by[c->role]--;
	} else
		b->connecting--;
	if (!b->stopping) {
		b->dropped++;
		note_detail(b->first_drop, sizeof b->first_drop, why);
		fprintf(stderr, "statsbench: %s %u dropped: %s\n", role_names[c->role], c->index,
		        why);
	}
	c->state = C_DEAD;
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (!b->stopping && b->phase == PH_SETUP)
		conn_start(b);
}

/* Logged in and set up: count it, and start the run once all are. */
static void
conn_up(struct conn *c)
{
	struct sb *b = c->b;

	c->state = C_UP;
	b->connecting--;
	b->up++;
	b->up_by[c->role]++;
	if (b->phase == PH_SETUP) {
		conn_start(b);
		if (b->up == b->nconns)
			phase_next(b);
	}
}

/* An event pushed to an agent. */
static void
agent_event(struct conn *c, const char *ev, json_t *msg)
{
	struct sb *b = c->b;

	if (strcmp(ev, "offer") == 0) {
		json_t *t = json_object_get(json_object_get(msg, "ticket"), "id");
		struct tslot *s;
		if (!json_is_integer(t))
			return;
		b->offers++;
		s = tmap_slot(b, json_integer_value(t));
		if (s->call < 0) {
			/* the arrive reply is still on its way: picked up when it comes */
			s->agent = (int)c->index;
			s->t_offer = now_s();
			b->offers_late++;
			return;
		}
		call_pick_up(b, s->call, (int)c->index, now_s());
	} else if (strcmp(ev, "offer.retracted") == 0)
		b->retracted++;
	else if (strcmp(ev, "agent.paused") == 0)
		b->paused++;
}

static void
conn_line(struct conn *c, const char *line, size_t len)
{
	struct sb *b = c->b;
	double t = now_s();
	json_t *msg = json_loads(line, 0, NULL);
	const char *ev = json_string_value(json_object_get(msg, "event"));
	json_t *ok = json_object_get(msg, "ok");
	char detail[200];

	if (!json_is_object(msg)) {
		snprintf(detail, sizeof detail, "not a JSON object: %.150s", line);
		conn_drop(c, detail);
	} else if (ev != NULL && strcmp(ev, "closing") == 0) {
		const char *why = json_string_value(json_object_get(msg, "reason"));
		snprintf(detail, sizeof detail, "closing: %s", why ? why : "");
		conn_drop(c, detail);
	} else if (ev != NULL) {
		if (c->role == ROLE_AGENT)
			agent_event(c, ev, msg);
		else if (c->role == ROLE_SUP && strcmp(ev, "stats") == 0) {
			json_int_t version = json_integer_value(json_object_get(msg, "version"));
			json_int_t part = json_integer_value(json_object_get(msg, "part"));
			json_int_t parts = json_integer_value(json_object_get(msg, "parts"));
			if (c->picture_left > 0 && version == c->picture_version) {
				/* the rest of the subscription's picture, not a push */
				c->picture_left--;
				sup_scopes(c, json_object_get(msg, "scopes"), 0, t);
			} else {
				/* a push too large for a line comes in parts */
				if (part >= parts)
					b->pushes++;
				b->push_lines++;
				b->push_bytes += len + 1;
				b->push_scopes += json_array_size(json_object_get(msg, "scopes"));
				sup_scopes(c, json_object_get(msg, "scopes"), measuring(b), t);
			}
		}
	} else if (c->state == C_LOGIN) {
		if (!json_is_true(ok)) {
			reply_error(msg, detail, sizeof detail);
			op_failed(b, OP_LOGIN, detail);
			conn_drop(c, detail);
		} else if (c->role == ROLE_PBX)
			conn_up(c);
		else {
			c->state = C_SETUP;
			if (c->role == ROLE_SUP)
				sup_send(c, OP_SUBSCRIBE);
			else
				conn_send(c, json_pack("{s:I,s:s}", "id", (json_int_t)++c->next_id,
				                       "op", "agent.ready"));
		}
	} else if (c->role == ROLE_PBX)
		pbx_reply(c, msg, line);
	else if (c->role == ROLE_SUP) {
		enum op op = c->want_sub ? OP_SUBSCRIBE : OP_UNSUBSCRIBE;
		b->subs_pending--;
		if (!json_is_true(ok)) {
			reply_error(msg, detail, sizeof detail);
			op_failed(b, op, detail);
		} else if (op == OP_SUBSCRIBE) {
			for (unsigned q = 0; q < b->nqueues; q++)
				c->seen[q] = UINT32_MAX;
			c->picture_version = json_integer_value(json_object_get(msg, "version"));
			c->picture_left = json_integer_value(json_object_get(msg, "parts")) - 1;
			sup_scopes(c, json_object_get(msg, "scopes"), 0, t);
		}
		if (c->state == C_SETUP)
			conn_up(c);
	} else if (c->state == C_SETUP) {
		if (!json_is_true(ok)) {
			reply_error(msg, detail, sizeof detail);
			op_failed(b, OP_READY, detail);
			conn_drop(c, detail);
		} else
			conn_up(c);
	}
	json_decref(msg);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	char *line;
	size_t len;

	while (c->state != C_DEAD) {
		enum line_status st =
		    line_next(bufferevent_get_input(bev), PROTO_MAX_LINE, &line, &len);
		if (st == LINE_MORE)
			return;
		if (st == LINE_TOO_LONG) {
			conn_drop(c, "line too long");
			return;
		}
		conn_line(c, line, len);
		free(line);
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	unsigned long e;
	char why[200];

	if (what & BEV_EVENT_CONNECTED) {
		struct sb *b = c->b;
		char user[32];
		snprintf(user, sizeof user, "%c%05u", role_prefix[c->role], c->index + 1);
		c->state = C_LOGIN;
		conn_send(c, json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)++c->next_id, "op",
		                       "login", "user", user, "password", b->password));
		return;
	}
	e = bufferevent_get_openssl_error(bev);
	while (bufferevent_get_openssl_error(bev) != 0)
		;
	if (e != 0 && ERR_GET_LIB(e) != 0)
		ERR_error_string_n(e, why, sizeof why);
	else
		snprintf(why, sizeof why, "%s",
		         (what & BEV_EVENT_EOF) ? "closed by the server" : "socket error");
	conn_drop(c, why);
}

/* Start the next connection(s) of the set-up, up to --concurrency at once. */
static void
conn_start(struct sb *b)
{
	while (b->started < b->nconns && b->connecting < b->o.concurrency) {
		struct conn *c = b->conns[b->started++];
		SSL *ssl = SSL_new(b->ctx);
		if (ssl == NULL || tls_client_set_host(ssl, b->o.servername) != 0) {
			fprintf(stderr, "statsbench: cannot set up TLS\n");
			exit(2);
		}
		c->t_start = now_s();
		c->state = C_CONNECTING;
		b->connecting++;
		c->bev = bufferevent_openssl_socket_new(
		    b->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			fprintf(stderr, "statsbench: cannot create a bufferevent\n");
			exit(2);
		}
		bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&b->addr,
		                               (int)b->addrlen) != 0) {
			conn_drop(c, "connect failed");
			return;
		}
	}
}

/* --- phases --- */

static void
mark_take(struct sb *b, struct mark *m)
{
	m->t = now_s();
	m->srv_cpu = cpu_of(b->o.server_pid);
	m->cli_cpu = cpu_self();
	m->rss_kib = rss_of(b->o.server_pid);
	m->calls = (unsigned long)b->ncalls;
	m->pushes = b->pushes;
	m->samples = (unsigned long)b->lat_reply.n;
}

static void
phase_next(struct sb *b)
{
	b->phase++;
	b->t_phase = now_s();
	b->sent_in_phase = 0;
	mark_take(b, &b->marks[b->phase]);
	if (!b->o.quiet)
		fprintf(stderr, "statsbench: %.0f s: %s (%lu calls so far)\n", b->t_phase - b->t0,
		        phase_names[b->phase], (unsigned long)b->ncalls);
	for (unsigned i = 0; i < b->nconns; i++) {
		struct conn *c = b->conns[i];
		if (c->role != ROLE_SUP || c->state != C_UP)
			continue;
		if (b->phase == PH_UNSUB)
			sup_send(c, OP_UNSUBSCRIBE);
		else if (b->phase == PH_SUB2)
			sup_send(c, OP_SUBSCRIBE);
	}
	if (b->phase == PH_DRAIN) {
		b->t_drain = b->t_phase;
		for (size_t ci = 0; ci < b->ncalls; ci++) {
			struct call *k = &b->calls[ci];
			if (k->state == CALL_WAITING) {
				k->state = CALL_ABANDONING;
				pbx_request(b, (int)ci, OP_ABANDON);
			} else if (k->state == CALL_TALKING) {
				k->state = CALL_ENDING;
				pbx_request(b, (int)ci, OP_END);
			}
		}
	}
}

static double
phase_length(const struct sb *b)
{
	return b->phase == PH_WARMUP ? b->o.warmup : b->o.duration;
}

/* Every tick: send the calls due, move through the phases, time out. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sb *b = arg;
	double t = now_s();

	(void)fd;
	(void)what;
	if (b->phase == PH_SETUP) {
		if (t - b->t0 > b->o.timeout) {
			fprintf(stderr, "statsbench: %u of %u sessions up after %.0f s; stopping\n",
			        b->up, b->nconns, t - b->t0);
			b->aborted = 1;
			event_base_loopbreak(b->base);
		}
		return;
	}
	if (b->phase == PH_DRAIN) {
		if (b->open_calls == 0 && b->subs_pending == 0)
			event_base_loopbreak(b->base);
		else if (t - b->t_drain > SB_DRAIN_S) {
			fprintf(stderr, "statsbench: %lu calls still open after %.0f s of drain\n",
			        b->open_calls, SB_DRAIN_S);
			b->aborted = 1;
			event_base_loopbreak(b->base);
		}
		return;
	}
	if (t - b->t_phase >= phase_length(b)) {
		/* what the last phase fell short of the rate */
		double due = b->o.rate * (t - b->t_phase);
		if ((double)b->sent_in_phase + 1 < due * 0.99)
			b->rate_shortfall++;
		phase_next(b);
		if (b->phase == PH_DRAIN)
			return;
	}
	/* the calls due by now; a stalled loop catches up, but not past one
	 * second's worth at once */
	double due = b->o.rate * (t - b->t_phase);
	double n = 0;
	while ((double)b->sent_in_phase < due && n++ < b->o.rate + 1)
		call_new(b, (unsigned)(b->ncalls % b->nqueues));
	if (!b->o.quiet && t - b->t_progress >= SB_PROGRESS_S) {
		b->t_progress = t;
		fprintf(stderr,
		        "statsbench: %.0f s: %s, %lu calls, %lu open, %lu answered, %lu pushes, "
		        "%u sessions up, %lu failed requests\n",
		        t - b->t0, phase_names[b->phase], (unsigned long)b->ncalls, b->open_calls,
		        b->calls_answered, b->pushes, b->up,
		        b->failures[OP_ARRIVE] + b->failures[OP_ANSWER] + b->failures[OP_END]);
	}
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sb *b = arg;

	(void)sig;
	(void)what;
	fprintf(stderr, "statsbench: interrupted\n");
	b->aborted = 1;
	event_base_loopbreak(b->base);
}

/* --- results --- */

/* One phase's figures; its server CPU in % of one core (-1: unknown). */
static double
print_phase(struct sb *b, enum phase p)
{
	const struct mark *m0 = &b->marks[p], *m1 = &b->marks[p + 1];
	double secs = m1->t - m0->t, pct = -1;
	const char *n = phase_names[p];

	if (secs <= 0)
		return -1;
	printf("phase.%s.seconds=%.2f\n", n, secs);
	printf("phase.%s.calls_per_second=%.1f\n", n, (double)(m1->calls - m0->calls) / secs);
	printf("phase.%s.pushes_per_second=%.1f\n", n, (double)(m1->pushes - m0->pushes) / secs);
	if (m0->srv_cpu >= 0 && m1->srv_cpu >= 0) {
		pct = (m1->srv_cpu - m0->srv_cpu) * 100.0 / secs;
		printf("phase.%s.server_cpu_seconds=%.2f\n", n, m1->srv_cpu - m0->srv_cpu);
		printf("phase.%s.server_cpu_pct=%.1f\n", n, pct);
		printf("phase.%s.server_cpu_ms_per_call=%.3f\n", n,
		       m1->calls > m0->calls
		           ? (m1->srv_cpu - m0->srv_cpu) * 1000.0 / (double)(m1->calls - m0->calls)
		           : 0.0);
	}
	printf("phase.%s.client_cpu_pct=%.1f\n", n, (m1->cli_cpu - m0->cli_cpu) * 100.0 / secs);
	if (m1->rss_kib >= 0)
		printf("phase.%s.server_rss_kib_at_end=%ld\n", n, m1->rss_kib);
	return pct;
}

static void
print_results(struct sb *b)
{
	double pct[PH__COUNT];
	unsigned long failed = 0, unanswered = 0;

	printf("agents=%u\n", b->o.agents);
	printf("supervisors=%u\n", b->o.sups);
	printf("queues=%u\n", b->nqueues);
	printf("rate=%.1f\n", b->o.rate);
	printf("talk_mean_seconds=%.2f\n", b->o.talk_mean);
	printf("sessions_up=%u\n", b->up);
	printf("sessions_up.agent=%u\n", b->up_by[ROLE_AGENT]);
	printf("sessions_up.supervisor=%u\n", b->up_by[ROLE_SUP]);
	printf("sessions_dropped=%u\n", b->dropped);
	if (b->dropped)
		printf("first_drop=\"%s\"\n", b->first_drop);
	printf("setup_seconds=%.1f\n",
	       b->marks[PH_WARMUP].t > 0 ? b->marks[PH_WARMUP].t - b->t0 : -1);
	for (enum phase p = PH_WARMUP; p < PH_DRAIN; p++)
		pct[p] = b->marks[p + 1].t > 0 ? print_phase(b, p) : -1;
	if (pct[PH_SUB1] >= 0 && pct[PH_SUB2] >= 0 && pct[PH_UNSUB] > 0) {
		double sub = (pct[PH_SUB1] + pct[PH_SUB2]) / 2;
		printf("stats.server_cpu_pct_subscribed=%.1f\n", sub);
		printf("stats.server_cpu_pct_unsubscribed=%.1f\n", pct[PH_UNSUB]);
		printf("stats.subscribers_cpu_pct=%.1f\n", sub - pct[PH_UNSUB]);
		printf("stats.cpu_ratio_subscribed_to_unsubscribed=%.3f\n", sub / pct[PH_UNSUB]);
	}
	for (size_t ci = 0; ci < b->ncalls; ci++)
		if (!b->calls[ci].answered && b->calls[ci].state != CALL_FAILED &&
		    b->marks[PH_DRAIN].t - b->calls[ci].t_send > b->o.answer_limit)
			unanswered++;
	printf("calls=%lu\n", (unsigned long)b->ncalls);
	printf("calls_answered=%lu\n", b->calls_answered);
	printf("calls_ended=%lu\n", b->calls_ended);
	printf("calls_abandoned_at_end=%lu\n", b->calls_abandoned);
	printf("calls_unanswered_past_limit=%lu\n", unanswered);
	printf("calls_answered_past_limit=%lu\n", b->answer_too_slow);
	printf("offers=%lu\n", b->offers);
	printf("offers_before_arrive_reply=%lu\n", b->offers_late);
	printf("offers_retracted=%lu\n", b->retracted);
	printf("agents_paused_missed=%lu\n", b->paused);
	printf("rate_shortfall_phases=%lu\n", b->rate_shortfall);
	hist_print(&b->lat_answer, "answer_wait");
	printf("pushes=%lu\n", b->pushes);
	printf("push_lines=%lu\n", b->push_lines);
	printf("push_bytes=%lu\n", b->push_bytes);
	printf("push_scopes_mean=%.1f\n",
	       b->pushes ? (double)b->push_scopes / (double)b->pushes : 0);
	printf("push_before_arrive_reply=%lu\n", b->push_before_reply);
	hist_print(&b->lat_reply, "push_latency");
	hist_print(&b->lat_send, "push_latency_from_send");
	hist_print(&b->lat_delivery, "push_delivery");
	for (int i = 0; i < OP__COUNT; i++) {
		failed += b->failures[i];
		if (b->failures[i]) {
			printf("failures.%s=%lu\n", op_names[i], b->failures[i]);
			printf("first_error.%s=\"%s\"\n", op_names[i], b->first_error[i]);
		}
	}
	printf("failures=%lu\n", failed);
	if (failed || b->dropped || unanswered || b->answer_too_slow || b->rate_shortfall ||
	    b->up_by[ROLE_SUP] != b->o.sups || b->lat_reply.n == 0 || b->calls_answered == 0)
		b->aborted = 1;
}

/* --- set-up --- */

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: statsbench --connect HOST:PORT --ca FILE --password-file FILE\n"
	        "                  --routes FILE [options]\n"
	        "\n"
	        "  --connect HOST:PORT  callcentred's TLS port\n"
	        "  --servername NAME    name to send and verify (default: localhost)\n"
	        "  --ca FILE            CA certificates to verify the server against\n"
	        "  --password-file FILE every benchmark user's password, on the first line\n"
	        "  --routes FILE        one queue a line: its code and the number dialled for it;\n"
	        "                       the phone sessions are P00001 .. one a queue, in order\n"
	        "  --agents N           agents A00001 .. (default 5000)\n"
	        "  --supervisors N      supervisors S00001 .. (default 200)\n"
	        "  --rate R             calls a second (default 500)\n"
	        "  --talk-mean S        mean talk time, exponential, capped at 5x (default 6)\n"
	        "  --duration D         seconds of each measured phase (default 60)\n"
	        "  --warmup W           seconds before the first (default 20)\n"
	        "  --answer-limit S     a call must be offered within S seconds (default 10)\n"
	        "  --server-pid PID     callcentred, for its CPU and memory\n"
	        "  --concurrency C      sessions connecting at once (default 64)\n"
	        "  --timeout S          seconds the set-up may take (default 600)\n"
	        "  --quiet              no progress on standard error\n");
}

static double
opt_number(const char *name, const char *v, double min, double max)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !(d >= min && d <= max)) {
		fprintf(stderr, "statsbench: --%s: \"%s\" is not a number in %g..%g\n", name, v,
		        min, max);
		exit(2);
	}
	return d;
}

static void
opt_parse(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"connect", required_argument, NULL, 'c'},
	    {"servername", required_argument, NULL, 'n'},
	    {"ca", required_argument, NULL, 'a'},
	    {"password-file", required_argument, NULL, 'p'},
	    {"routes", required_argument, NULL, 'r'},
	    {"agents", required_argument, NULL, 'A'},
	    {"supervisors", required_argument, NULL, 'S'},
	    {"rate", required_argument, NULL, 'R'},
	    {"talk-mean", required_argument, NULL, 'T'},
	    {"duration", required_argument, NULL, 'd'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"answer-limit", required_argument, NULL, 'l'},
	    {"server-pid", required_argument, NULL, 'P'},
	    {"concurrency", required_argument, NULL, 'C'},
	    {"timeout", required_argument, NULL, 't'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *colon;
	int ch;

	o->servername = "localhost";
	o->agents = 5000;
	o->sups = 200;
	o->rate = 500;
	o->talk_mean = 6;
	o->duration = 60;
	o->warmup = 20;
	o->answer_limit = 10;
	o->concurrency = 64;
	o->timeout = 600;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			snprintf(o->connect, sizeof o->connect, "%s", optarg);
			break;
		case 'n':
			o->servername = optarg;
			break;
		case 'a':
			o->ca = optarg;
			break;
		case 'p':
			o->password_file = optarg;
			break;
		case 'r':
			o->routes = optarg;
			break;
		case 'A':
			o->agents = (unsigned)opt_number("agents", optarg, 1, 99999);
			break;
		case 'S':
			o->sups = (unsigned)opt_number("supervisors", optarg, 1, 99999);
			break;
		case 'R':
			o->rate = opt_number("rate", optarg, 0.1, 100000);
			break;
		case 'T':
			o->talk_mean = opt_number("talk-mean", optarg, 0.01, 3600);
			break;
		case 'd':
			o->duration = opt_number("duration", optarg, 1, 86400);
			break;
		case 'w':
			o->warmup = opt_number("warmup", optarg, 0, 86400);
			break;
		case 'l':
			o->answer_limit = opt_number("answer-limit", optarg, 0.1, 3600);
			break;
		case 'P':
			o->server_pid = (long)opt_number("server-pid", optarg, 1, 4194304);
			break;
		case 'C':
			o->concurrency = (unsigned)opt_number("concurrency", optarg, 1, 10000);
			break;
		case 't':
			o->timeout = opt_number("timeout", optarg, 1, 86400);
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc || o->connect[0] == '\0' || o->ca == NULL || o->password_file == NULL ||
	    o->routes == NULL) {
		usage(stderr);
		exit(2);
	}
	if ((colon = strrchr(o->connect, ':')) == NULL || colon == o->connect ||
	    (size_t)(colon - o->connect) >= sizeof o->host || strlen(colon + 1) >= sizeof o->port) {
		fprintf(stderr, "statsbench: --connect takes HOST:PORT\n");
		exit(2);
	}
	memcpy(o->host, o->connect, (size_t)(colon - o->connect));
	o->host[colon - o->connect] = '\0';
	snprintf(o->port, sizeof o->port, "%s", colon + 1);
}

/* The first line of a file, without its line end; -1 when there is none. */
static int
read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "statsbench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] != '\0' ? 0 : -1;
}

static int
read_routes(struct sb *b)
{
	FILE *f = fopen(b->o.routes, "r");
	char line[256], code[128], dialled[64];

	if (f == NULL) {
		fprintf(stderr, "statsbench: %s: %s\n", b->o.routes, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' || sscanf(line, "%127s %63s", code, dialled) != 2)
			continue;
		if (b->nqueues == SB_MAX_QUEUES) {
			fprintf(stderr, "statsbench: more than %d queues\n", SB_MAX_QUEUES);
			fclose(f);
			return -1;
		}
		b->qcode[b->nqueues] = strdup(code);
		b->qdialled[b->nqueues] = strdup(dialled);
		b->nqueues++;
	}
	fclose(f);
	if (b->nqueues == 0) {
		fprintf(stderr, "statsbench: %s names no queue\n", b->o.routes);
		return -1;
	}
	return 0;
}

static int
raise_fd_limit(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need) {
		fprintf(stderr, "statsbench: descriptor limit %llu is below the %llu needed\n",
		        (unsigned long long)rl.rlim_cur, (unsigned long long)need);
		return -1;
	}
	return 0;
}

static int
setup(struct sb *b)
{
	struct addrinfo hints = {0}, *res;
	char err[256];
	unsigned i = 0;
	int rc;

	if (read_first_line(b->o.password_file, b->password, sizeof b->password) != 0 ||
	    read_routes(b) != 0)
		return -1;
	b->nconns = b->nqueues + b->o.sups + b->o.agents;
	if (raise_fd_limit((rlim_t)b->nconns + SB_FD_SPARE) != 0)
		return -1;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(b->o.host, b->o.port, &hints, &res)) != 0) {
		fprintf(stderr, "statsbench: %s: %s\n", b->o.connect, gai_strerror(rc));
		return -1;
	}
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	if ((b->ctx = tls_client_ctx(b->o.ca, 0, err, sizeof err)) == NULL) {
		fprintf(stderr, "statsbench: %s\n", err);
		return -1;
	}
	b->conns = xcalloc(b->nconns, sizeof *b->conns);
	for (int r = 0; r < ROLE__COUNT; r++) {
		unsigned n = r == ROLE_PBX ? b->nqueues : r == ROLE_SUP ? b->o.sups : b->o.agents;
		for (unsigned k = 0; k < n; k++, i++) {
			struct conn *c = xcalloc(1, sizeof *c);
			c->b = b;
			c->role = (enum role)r;
			c->index = k;
			if (r == ROLE_SUP) {
				c->seen = xcalloc(b->nqueues, sizeof *c->seen);
				for (unsigned q = 0; q < b->nqueues; q++)
					c->seen[q] = UINT32_MAX;
			}
			b->conns[i] = c;
		}
	}
	/* room for every ticket of the run, twice over */
	size_t expect = (size_t)(b->o.rate * (b->o.warmup + 3 * b->o.duration + 10)) + 1024;
	for (b->tmap_cap = 1024; b->tmap_cap < 2 * expect; b->tmap_cap *= 2)
		;
	b->tmap = xcalloc(b->tmap_cap, sizeof *b->tmap);
	if ((b->base = event_base_new()) == NULL)
		return -1;
	struct timeval tick = {0, SB_TICK_MS * 1000};
	b->ticker = event_new(b->base, -1, EV_PERSIST, tick_cb, b);
	b->sig_term = evsignal_new(b->base, SIGTERM, signal_cb, b);
	b->sig_int = evsignal_new(b->base, SIGINT, signal_cb, b);
	if (b->ticker == NULL || b->sig_term == NULL || b->sig_int == NULL)
		return -1;
	evtimer_add(b->ticker, &tick);
	evsignal_add(b->sig_term, NULL);
	evsignal_add(b->sig_int, NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct sb b;

	opt_parse(&b.o, argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	srandom(1);
	if (setup(&b) != 0)
		return 2;
	printf("target=%s\n", b.o.connect);
	b.t0 = b.t_progress = now_s();
	mark_take(&b, &b.marks[PH_SETUP]);
	if (!b.o.quiet)
		fprintf(stderr,
		        "statsbench: logging in %u phone, %u supervisor and %u agent sessions\n",
		        b.nqueues, b.o.sups, b.o.agents);
	conn_start(&b);
	event_base_dispatch(b.base);
	if (b.phase == PH_DRAIN)
		mark_take(&b, &b.marks[PH__COUNT]);
	b.stopping = 1;
	print_results(&b);
	printf("done=1\n");
	for (unsigned i = 0; i < b.nconns; i++) {
		struct conn *c = b.conns[i];
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		free(c->pq);
		free(c->seen);
		free(c);
	}
	return b.aborted ? 1 : 0;
}
