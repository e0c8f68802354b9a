/* router.c: see router.h. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <uthash.h>

#include "log.h"
#include "op-args.h"
#include "proto.h"
#include "route.h"
#include "router.h"
#include "server.h"
#include "sla-run.h"
#include "stats-run.h"
#include "store-customer.h"
#include "store-ticket.h"
#include "store.h"

/* A ticket in line or offered, as queue.items shows it: what the core
 * does not keep (its ref, channel, subject), noted from each ticket
 * object the router applies, on the list of its queue. */
#define LIVE_SUBJECT_MAX 120 /* bytes kept of a subject, cut at a character */
struct rt_queue;
struct rt_live {
	uint64_t id;
	struct rt_queue *q;
	char ref[33];
	char channel[8];
	char subject[LIVE_SUBJECT_MAX + 1];
	int priority;
	unsigned int version;
	uint16_t site; /* the site that owns the ticket */
	int64_t enqueued_ms;
	TAILQ_ENTRY(rt_live) entry; /* on q->live */
	UT_hash_handle hh;
};
TAILQ_HEAD(rt_live_list, rt_live);

struct rt_queue {
	uint32_t id;
	char code[65];
	uint32_t site; /* 0: a queue of every site */
	unsigned nreq;
	struct route_skill req[ROUTE_MAX_REQ];
	struct rt_live_list live; /* its tickets in line or offered */
	UT_hash_handle hh, hh_code;
};

struct rt_site {
	uint16_t id;
	char code[65];
	UT_hash_handle hh_code;
};

struct rt_agent {
	uint32_t id;
	int active; /* in the set-up last read; inactive agents take no work */
	char user[65];
	struct session *s; /* logged in and routed, or NULL */
	unsigned nqueues;
	uint32_t queues[ROUTE_MAX_QUEUES]; /* the queues it serves */
	UT_hash_handle hh, hh_user;
};

struct rt_reason {
	char code[ROUTE_REASON_MAX + 1];
	UT_hash_handle hh;
};

/* A write the router makes on a ticket. */
struct rt_action {
	enum ticket_action action; /* TA_OFFER or TA_TIMEOUT */
	uint32_t agent;
	int64_t until;  /* an offer's deadline (Unix ms) */
	uint32_t queue; /* the queue an offer was made from */
};

/* The router's writes waiting for one ticket; q[0] is on a worker when
 * busy, or waits for its retry timer. */
struct router;
struct rt_ticket {
	uint64_t id;
	struct router *rt;
	int busy;
	unsigned n, cap, attempts;
	struct rt_action *q;
	struct event *retry;
	UT_hash_handle hh;
};

/* The newest version of a ticket the router has applied: results reach the
 * loop in the order workers finish, so an older one is ignored. Kept while
 * the core knows the ticket, then for SEEN_KEEP_MS. */
#define SEEN_KEEP_MS 60000
struct rt_seen {
	uint64_t id;
	unsigned int version;
	int64_t until; /* 0 while the core knows the ticket */
	TAILQ_ENTRY(rt_seen) gone;
	UT_hash_handle hh;
};
TAILQ_HEAD(rt_seen_list, rt_seen);

/* A language skill: lang.<tag> speaks the language tag's primary subtag. */
struct rt_lang {
	char tag[16]; /* "zh", "yue", "en" */
	uint16_t skill;
	UT_hash_handle hh;
};

/* A ticket id with a value: sticky agents for work about to join the line,
 * and calls that ended while their tickets stay open. */
struct rt_mark {
	uint64_t id;
	uint32_t agent;
	UT_hash_handle hh;
};

struct router {
	struct server *srv;
	struct route *core;
	struct event *timer;
	int64_t armed;
	struct rt_queue *queues, *queues_by_code;
	struct rt_site *sites;
	struct rt_agent *agents, *agents_by_user;
	struct rt_reason *reasons;
	struct rt_ticket *tickets;
	struct rt_seen *seen;
	struct rt_seen_list seen_gone; /* forgotten by the core, oldest first */
	struct rt_mark *sticky;        /* ticket -> the agent who last served the customer */
	struct rt_mark *released;      /* tickets whose call ended: no load any more */
	uint16_t level_skill[5];       /* complaint.l1..l4 by handling level (0: none) */
	struct rt_lang *langs;         /* language skills by the language they speak */
	struct rt_lang *products;      /* product skills by product line */
	struct rt_live *live;          /* tickets in line or offered, by id */
	unsigned long long offers, timeouts;
};

static void router_run(struct router *rt);

/* --- lookups --- */

static struct rt_agent *
agent_by_id(struct router *rt, uint32_t id)
{
	struct rt_agent *a;
	HASH_FIND(hh, rt->agents, &id, sizeof id, a);
	return a;
}

static struct rt_agent *
agent_by_user(struct router *rt, const char *user)
{
	struct rt_agent *a;
	if (user == NULL)
		return NULL;
	HASH_FIND(hh_user, rt->agents_by_user, user, strlen(user), a);
	return a;
}

static struct rt_queue *
queue_by_code(struct router *rt, const char *code)
{
	struct rt_queue *q;
	if (code == NULL)
		return NULL;
	HASH_FIND(hh_code, rt->queues_by_code, code, strlen(code), q);
	return q;
}

static uint16_t
site_by_code(struct router *rt, const char *code)
{
	struct rt_site *s;
	if (code == NULL)
		return 0;
	HASH_FIND(hh_code, rt->sites, code, strlen(code), s);
	return s ? s->id : 0;
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_int_t
jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void
mark_set(struct rt_mark **set, uint64_t id, uint32_t agent)
{
	struct rt_mark *m;

	HASH_FIND(hh, *set, &id, sizeof id, m);
	if (m == NULL) {
		if ((m = calloc(1, sizeof *m)) == NULL)
			abort();
		m->id = id;
		HASH_ADD(hh, *set, id, sizeof m->id, m);
	}
	m->agent = agent;
}

/* Take the mark of id out of set: 1 and *agent, 0 none. */
static int
mark_take(struct rt_mark **set, uint64_t id, uint32_t *agent)
{
	struct rt_mark *m;

	HASH_FIND(hh, *set, &id, sizeof id, m);
	if (m == NULL)
		return 0;
	if (agent != NULL)
		*agent = m->agent;
	HASH_DEL(*set, m);
	free(m);
	return 1;
}

static int
mark_has(struct rt_mark *set, uint64_t id)
{
	struct rt_mark *m;

	HASH_FIND(hh, set, &id, sizeof id, m);
	return m != NULL;
}

static void
mark_free(struct rt_mark **set)
{
	struct rt_mark *m, *t;

	HASH_ITER(hh, *set, m, t)
	{
		HASH_DEL(*set, m);
		free(m);
	}
}

/* A complaint needs a handler of the level its grade calls for: severity
 * 1 (the gravest) level 4, severity 4 (the mildest) level 1; the skill
 * complaint.l<level> (at least proficiency 1) joins the queue's
 * requirements. */
static void
complaint_level(struct router *rt, const json_t *t, struct route_item_in *in)
{
	json_int_t sev = jint(t, "severity");
	const char *kind = jstr(t, "kind");
	uint16_t skill;
	unsigned i;

	if (kind == NULL || strcmp(kind, "complaint") != 0 || sev < 1 || sev > 4 ||
	    (skill = rt->level_skill[5 - sev]) == 0)
		return;
	for (i = 0; i < in->nreq && in->req[i].skill != skill; i++)
		;
	if (i < in->nreq)
		return;
	if (in->nreq == ROUTE_MAX_REQ)
		in->req[ROUTE_MAX_REQ - 1] = (struct route_skill){skill, 1};
	else
		in->req[in->nreq++] = (struct route_skill){skill, 1};
}

/* Loyal, high-value customers go first (docs/ROUTING.md): the head start
 * a customer's value tier gives their work. */
static int64_t
tier_boost(const char *tier)
{
	static const struct {
		const char *tier;
		int64_t ms;
	} boosts[] = {{"loyal", 180000}, {"old", 120000}, {"regular", 60000}, {"potential", 30000}};

	for (size_t i = 0; tier != NULL && i < sizeof boosts / sizeof boosts[0]; i++)
		if (strcmp(tier, boosts[i].tier) == 0)
			return boosts[i].ms;
	return 0;
}

/* The earlier of two instants, where 0 is none. */
static int64_t
earliest(int64_t a, int64_t b)
{
	if (a <= 0)
		return b > 0 ? b : 0;
	return b > 0 && b < a ? b : a;
}

/* Whether skill is a language skill. */
static int
lang_skill(struct router *rt, uint16_t skill)
{
	struct rt_lang *l, *tl;

	HASH_ITER(hh, rt->langs, l, tl)
	{
		if (l->skill == skill)
			return 1;
	}
	return 0;
}

/* The customer's language decides which language skill the work needs:
 * a ticket in "en-GB" needs lang.en instead of the queue's language (at the
 * queue's minimum proficiency, or 1). A language without a skill changes
 * nothing. */
static void
ticket_language(struct router *rt, const json_t *t, struct route_item_in *in)
{
	const char *lang = jstr(t, "language");
	char tag[16];
	struct rt_lang *l;
	uint8_t prof = 1;
	size_t n = 0;

	if (lang == NULL || lang[0] == '\0')
		return;
	while (n + 1 < sizeof tag && lang[n] != '\0' && lang[n] != '-' && lang[n] != '_') {
		tag[n] = (char)(lang[n] >= 'A' && lang[n] <= 'Z' ? lang[n] + 32 : lang[n]);
		n++;
	}
	tag[n] = '\0';
	HASH_FIND_STR(rt->langs, tag, l);
	if (l == NULL)
		return;
	for (unsigned i = 0; i < in->nreq;) {
		if (lang_skill(rt, in->req[i].skill)) {
			if (in->req[i].prof > prof)
				prof = in->req[i].prof;
			in->req[i] = in->req[--in->nreq];
		} else {
			i++;
		}
	}
	if (in->nreq < ROUTE_MAX_REQ)
		in->req[in->nreq++] = (struct route_skill){l->skill, prof};
}

/* A ticket about a product line needs the skill product.<line> (at least
 * proficiency 1), when there is one. */
static void
ticket_product(struct router *rt, const json_t *t, struct route_item_in *in)
{
	const char *line = jstr(t, "product_line");
	struct rt_lang *l;

	if (line == NULL || strlen(line) >= sizeof l->tag)
		return;
	HASH_FIND_STR(rt->products, line, l);
	if (l == NULL || in->nreq == ROUTE_MAX_REQ)
		return;
	for (unsigned i = 0; i < in->nreq; i++)
		if (in->req[i].skill == l->skill)
			return;
	in->req[in->nreq++] = (struct route_skill){l->skill, 1};
}

/* The core's work item for a ticket object (its reply JSON): 0, or -1 when
 * it names no queue the router knows. */
static int
item_from_ticket(struct router *rt, const json_t *t, struct route_item_in *in)
{
	struct rt_queue *q = queue_by_code(rt, jstr(t, "queue"));
	const char *channel = jstr(t, "channel");
	const char *site = jstr(t, "site");

	if (q == NULL || channel == NULL || jstr(t, "owning_site") == NULL)
		return -1;
	memset(in, 0, sizeof *in);
	in->id = (uint64_t)jint(t, "id");
	in->queue = q->id;
	in->site = site_by_code(rt, site ? site : jstr(t, "owning_site"));
	if (in->site == 0)
		in->site = site_by_code(rt, jstr(t, "owning_site"));
	in->channel = channel && strcmp(channel, "phone") == 0 ? ROUTE_VOICE : ROUTE_ASYNC;
	in->priority = (int)jint(t, "priority");
	if (in->priority < 1 || in->priority > 9)
		in->priority = 5;
	in->enqueued_ms = jint(t, "enqueued_at");
	in->boost_ms = tier_boost(jstr(t, "value_tier"));
	in->sla_due_ms = earliest(jint(t, "first_response_due"), jint(t, "resolution_due"));
	in->nreq = q->nreq;
	memcpy(in->req, q->req, sizeof in->req);
	ticket_language(rt, t, in);
	ticket_product(rt, t, in);
	complaint_level(rt, t, in);
	mark_take(&rt->sticky, in->id, &in->sticky_agent);
	return 0;
}

/* --- statistics (stats-run.h): fed where the core hears of events --- */

/* The agent's state as the core now has it. */
static void
stats_agent_sync(struct router *rt, uint32_t agent)
{
	struct route_agent_info info;

	if (agent != 0 && route_agent_info(rt->core, agent, &info) == ROUTE_OK)
		stats_run_agent_state(rt->srv, agent, info.state, info.reason);
}

/* Work joined a queue (enqueued at now). */
static void
stats_queued(struct router *rt, const json_t *t, const struct route_item_in *in, int64_t now)
{
	struct stats *st = stats_run_core(rt->srv);
	const char *kind = jstr(t, "kind");
	json_int_t sev = jint(t, "severity");
	enum stats_kind k = kind == NULL                     ? STATS_OTHER
	                    : strcmp(kind, "call") == 0      ? STATS_CALL
	                    : strcmp(kind, "complaint") == 0 ? STATS_COMPLAINT
	                                                     : STATS_OTHER;
	/* the skills the work requires, as the router matches agents */
	uint32_t skills[ROUTE_MAX_REQ];
	unsigned nk = stats_run_item_skills(rt->srv, in->req, in->nreq, skills);

	if (st != NULL)
		stats_run_check(
		    "queued", in->id,
		    stats_item_queued(st, in->id, in->queue, stats_run_site_of(rt->srv, in->site),
		                      sev >= 1 && sev <= 4 ? (int)sev : 0, k, skills, nk, now));
}

/* Work the core knew (as info) joined the line again as in: moved to
 * another queue, or put back by its agent; waiting work that stays in its
 * queue keeps waiting. */
static void
stats_requeued(struct router *rt, const json_t *t, const struct route_item_in *in,
               const struct route_item_info *info, int64_t now)
{
	struct stats *st = stats_run_core(rt->srv);

	if (st == NULL)
		return;
	if (info == NULL) {
		stats_queued(rt, t, in, now);
	} else if (info->queue != in->queue) {
		uint32_t skills[ROUTE_MAX_REQ];
		unsigned nk = stats_run_item_skills(rt->srv, in->req, in->nreq, skills);
		stats_run_check("transferred", in->id,
		                stats_item_transferred(st, in->id, in->queue, skills, nk, now));
	} else if (info->state == ROUTE_ITEM_ASSIGNED) {
		stats_run_check("done", in->id, stats_item_done(st, in->id, now));
		stats_queued(rt, t, in, now);
	}
}

/* Work left the line or its agent: an answered one is done (its talk
 * ended), a waiting one was abandoned (whichever the statistics have). */
static void
stats_gone(struct router *rt, uint64_t id, int64_t now)
{
	struct stats *st = stats_run_core(rt->srv);

	if (st != NULL && stats_item_done(st, id, now) != STATS_OK)
		stats_run_check("abandoned", id, stats_item_abandoned(st, id, now));
	stats_run_sla_clear(rt->srv, id);
}

/* The agent answered the work. */
static void
stats_answered(struct router *rt, uint64_t id, uint32_t agent, int64_t now)
{
	struct stats *st = stats_run_core(rt->srv);

	if (st != NULL)
		stats_run_check("answered", id, stats_item_answered(st, id, agent, now));
}

/* --- the timer --- */

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct router *rt = arg;

	(void)fd;
	(void)what;
	rt->armed = INT64_MAX;
	route_timer_run(rt->core, now_ms());
	router_run(rt);
}

static void
timer_arm(struct router *rt)
{
	int64_t next = route_timer_next(rt->core), wait;
	struct timeval tv;

	if (next == rt->armed)
		return;
	rt->armed = next;
	if (next == INT64_MAX) {
		evtimer_del(rt->timer);
		return;
	}
	wait = next - now_ms();
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(rt->timer, &tv);
}

/* --- writes on tickets, one at a time per ticket ---
 *
 * Each write is checked on the worker against the ticket as it is: an offer
 * only while the ticket waits in the queue the core offered it from, a
 * timeout only while the ticket is offered to that agent. A ticket that
 * moved on is a refusal, not an error: the router then takes the ticket as
 * it now is. A write that fails on the database stays first in line and is
 * tried again with a growing delay, so that a timeout is never lost. */

#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS   30000

struct rt_job {
	struct router *rt;
	uint64_t ticket;
	struct rt_action act;
	char agent_user[65];
	int64_t now_ms;
	int rc;
	int moved; /* refused: the ticket is in current */
	char err[256];
	struct ticket_result res;
	json_t *current;
};

/* db worker: the ticket as it now is, for a refused write (into j->current). */
static void
job_current(struct rt_job *j, MYSQL *m)
{
	char err[256];

	if (store_ticket_get(m, j->ticket, &j->current, err, sizeof err) != 1)
		j->current = NULL;
}

static void
job_work(struct db_conn *c, void *arg)
{
	struct rt_job *j = arg;
	struct ticket_actor actor = {.agent_id = 0, .role = ROLE_SERVICE};
	struct ticket_change ch = {.key = {.id = j->ticket}, .action = j->act.action};
	MYSQL_BIND p[1];
	json_t *row = NULL;
	const char *state;
	int rc, fits;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	snprintf(actor.user, sizeof actor.user, "router");
	j->rc = -1;
	if (m == NULL)
		return;
	bind_u64(&p[0], &j->ticket);
	rc = ticket_query_one(m, "SELECT state, owner_agent_id, queue_id FROM tickets WHERE id = ?",
	                      p, &row, j->err, sizeof j->err);
	if (rc < 0)
		goto failed;
	state = rc == 1 ? row_str(row, "state") : NULL;
	fits = state == NULL ? 0
	       : j->act.action == TA_OFFER
	           ? strcmp(state, "queued") == 0 &&
	                 (uint32_t)row_uint(row, "queue_id") == j->act.queue
	           : strcmp(state, "offered") == 0 &&
	                 (uint32_t)row_uint(row, "owner_agent_id") == j->act.agent;
	json_decref(row);
	if (fits) {
		if (j->act.action == TA_OFFER)
			snprintf(ch.agent, sizeof ch.agent, "%s", j->agent_user);
		/* version 0: the ticket as it is, checked again under its lock */
		if ((j->rc = store_ticket_transition(m, &actor, &ch, j->now_ms, &j->res, j->err,
		                                     sizeof j->err)) != 0)
			goto failed;
		if (j->res.code == CC_OK)
			return;
	}
	j->rc = 0;
	j->moved = 1;
	if (rc == 1)
		job_current(j, m);
	return;
failed:
	j->rc = -1;
	db_conn_failed(c, store_errno());
}

static void ticket_next(struct router *rt, struct rt_ticket *t);
static void ticket_seen(struct router *rt, const json_t *t);
static void ticket_forget(struct router *rt, uint64_t id);
static void ticket_apply(struct router *rt, const json_t *t, int same);
static void live_note(struct router *rt, const json_t *t);
static void live_drop(struct router *rt, uint64_t id);

/* Send ev (consumed) to the agent: on the connection that takes its routed
 * work, or, when none does yet, on every connection it is logged in on. */
static void
agent_tell(struct router *rt, struct rt_agent *a, json_t *ev)
{
	if (a->s != NULL && a->s->state == SESSION_OPEN)
		session_send(a->s, ev);
	else
		session_broadcast(rt->srv, 0, a->id, ev);
}

/* The offer has been written: tell the agent, with the screen pop. */
static void
offer_send(struct router *rt, struct rt_agent *a, const json_t *ticket, int64_t until)
{
	struct route_item_info info;
	json_t *ev;

	if (a == NULL)
		return;
	if (stats_run_core(rt->srv) != NULL)
		stats_run_check("offered", (uint64_t)jint(ticket, "id"),
		                stats_item_offered(stats_run_core(rt->srv),
		                                   (uint64_t)jint(ticket, "id"), a->id, now_ms()));
	ev = proto_event("offer");
	json_object_set(ev, "ticket", (json_t *)ticket);
	json_object_set_new(ev, "expires_at", json_integer(until));
	if (route_item_info(rt->core, (uint64_t)jint(ticket, "id"), now_ms(), &info) == ROUTE_OK)
		json_object_set_new(ev, "level", json_integer(info.level));
	agent_tell(rt, a, ev);
	if (a->s != NULL && a->s->state == SESSION_OPEN && jint(ticket, "customer_id") > 0)
		customer_pop_send(a->s, (uint64_t)jint(ticket, "customer_id"),
		                  (uint64_t)jint(ticket, "id"));
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rt_ticket *t = arg;

	(void)fd;
	(void)what;
	ticket_next(t->rt, t);
	router_run(t->rt);
}

/* The first write failed on the database: try it again later. */
static void
ticket_retry(struct router *rt, struct rt_ticket *t)
{
	int64_t ms = RETRY_FIRST_MS << (t->attempts < 6 ? t->attempts : 6);
	struct timeval tv;

	if (ms > RETRY_MAX_MS)
		ms = RETRY_MAX_MS;
	t->attempts++;
	if (t->retry == NULL && (t->retry = evtimer_new(rt->srv->base, retry_cb, t)) == NULL)
		abort();
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(t->retry, &tv);
}

static void
ticket_pop(struct rt_ticket *t)
{
	memmove(t->q, t->q + 1, --t->n * sizeof t->q[0]);
	t->attempts = 0;
}

/* loop: the write is back. */
static void
job_done(void *arg)
{
	struct rt_job *j = arg;
	struct router *rt = j->rt;
	struct rt_ticket *t;
	json_t *ticket = json_object_get(j->res.reply, "ticket");
	struct rt_agent *a = agent_by_id(rt, j->act.agent);

	HASH_FIND(hh, rt->tickets, &j->ticket, sizeof j->ticket, t);
	if (t != NULL)
		t->busy = 0;
	if (j->rc < 0) {
		log_error("router",
		          "msg=\"ticket write failed, will retry\" ticket=%llu action=%s "
		          "error=\"%s\"",
		          (unsigned long long)j->ticket, ticket_action_name(j->act.action), j->err);
		if (t != NULL)
			ticket_retry(rt, t);
		goto out;
	}
	if (t != NULL)
		ticket_pop(t);
	if (j->moved) {
		struct route_item_info info;
		log_info("router", "msg=\"ticket moved on\" ticket=%llu action=%s",
		         (unsigned long long)j->ticket, ticket_action_name(j->act.action));
		/* an offer the database did not take: the core forgets it, and
		 * takes the ticket as it now is */
		if (j->act.action == TA_OFFER &&
		    route_item_info(rt->core, j->ticket, j->now_ms, &info) == ROUTE_OK &&
		    info.state == ROUTE_ITEM_OFFERED && info.agent == j->act.agent) {
			route_item_remove(rt->core, j->ticket, now_ms());
			ticket_forget(rt, j->ticket);
		}
		if (j->current != NULL)
			ticket_apply(rt, j->current, 1);
		goto out;
	}
	if (rt->srv->sla != NULL && j->res.sla_ticket)
		sla_run_arm(rt->srv, j->res.sla_ticket, j->res.sla_wake_ms);
	/* the core decided this write: it is already in line with it */
	ticket_seen(rt, ticket);
	live_note(rt, ticket);
	if (j->act.action == TA_OFFER) {
		offer_send(rt, a, ticket, j->act.until);
		rt->offers++;
	} else {
		rt->timeouts++;
		if (a != NULL) {
			json_t *ev = proto_event("offer.retracted");
			json_object_set_new(ev, "ticket", json_string(jstr(ticket, "ref")));
			agent_tell(rt, a, ev);
		}
	}
out:
	json_decref(j->res.reply);
	json_decref(j->current);
	free(j);
	if (t != NULL && (t->retry == NULL || !evtimer_pending(t->retry, NULL)))
		ticket_next(rt, t);
	router_run(rt);
}

/* Start the ticket's next write, or forget the ticket when none is left.
 * An offer the core has since taken back is not written at all. */
static void
ticket_next(struct router *rt, struct rt_ticket *t)
{
	struct rt_job *j;
	struct rt_agent *a;
	struct route_item_info info;

	if (t->busy)
		return;
	while (t->n > 0 && t->q[0].action == TA_OFFER &&
	       (route_item_info(rt->core, t->id, now_ms(), &info) != ROUTE_OK ||
	        info.state != ROUTE_ITEM_OFFERED || info.agent != t->q[0].agent))
		ticket_pop(t);
	if (t->n == 0) {
		if (t->retry != NULL)
			event_free(t->retry);
		HASH_DEL(rt->tickets, t);
		free(t->q);
		free(t);
		return;
	}
	if ((j = calloc(1, sizeof *j)) == NULL)
		abort();
	j->rt = rt;
	j->ticket = t->id;
	j->act = t->q[0];
	j->now_ms = now_ms();
	if ((a = agent_by_id(rt, j->act.agent)) != NULL)
		snprintf(j->agent_user, sizeof j->agent_user, "%s", a->user);
	t->busy = 1;
	if (db_pool_submit(rt->srv->db, job_work, job_done, j) != 0) {
		log_warn("router", "msg=\"ticket write not queued, will retry\" ticket=%llu",
		         (unsigned long long)t->id);
		t->busy = 0;
		free(j);
		ticket_retry(rt, t);
	}
}

static void
ticket_write(struct router *rt, uint64_t id, enum ticket_action action, uint32_t agent,
             int64_t until)
{
	struct route_item_info info;
	struct rt_ticket *t;
	uint32_t queue = 0;

	HASH_FIND(hh, rt->tickets, &id, sizeof id, t);
	if (t == NULL) {
		if ((t = calloc(1, sizeof *t)) == NULL)
			abort();
		t->id = id;
		t->rt = rt;
		HASH_ADD(hh, rt->tickets, id, sizeof t->id, t);
	}
	/* a timeout for an offer not yet written cancels it */
	if (action == TA_TIMEOUT && t->n > (t->busy ? 1u : 0u) &&
	    t->q[t->n - 1].action == TA_OFFER && t->q[t->n - 1].agent == agent) {
		t->n--;
		ticket_next(rt, t);
		return;
	}
	if (action == TA_OFFER && route_item_info(rt->core, id, now_ms(), &info) == ROUTE_OK)
		queue = info.queue;
	if (t->n == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 4;
		struct rt_action *q = realloc(t->q, cap * sizeof *q);
		if (q == NULL)
			abort();
		t->q = q;
		t->cap = cap;
	}
	t->q[t->n++] = (struct rt_action){action, agent, until, queue};
	ticket_next(rt, t);
}

/* Carry out the core's decisions, then arm the timer. */
static void
router_run(struct router *rt)
{
	struct route_decision d;
	struct rt_agent *a;

	while (route_decision_next(rt->core, &d)) {
		switch (d.kind) {
		case ROUTE_DO_OFFER:
			stats_agent_sync(rt, d.agent);
			ticket_write(rt, d.item, TA_OFFER, d.agent, d.at_ms);
			break;
		case ROUTE_DO_RETRACT:
			stats_agent_sync(rt, d.agent);
			ticket_write(rt, d.item, TA_TIMEOUT, d.agent, 0);
			break;
		case ROUTE_DO_PAUSE:
			stats_agent_sync(rt, d.agent);
			log_info("router", "msg=\"agent paused\" agent=%u reason=missed", d.agent);
			if ((a = agent_by_id(rt, d.agent)) != NULL && a->s != NULL &&
			    a->s->state == SESSION_OPEN) {
				json_t *ev = proto_event("agent.paused");
				json_object_set_new(ev, "reason", json_string("missed"));
				session_send(a->s, ev);
			}
			break;
		case ROUTE_DO_STEP:
			log_debug("router", "msg=\"wait step\" ticket=%llu level=%d",
			          (unsigned long long)d.item, d.level);
			break;
		case ROUTE_DO_AGENT_FREE:
			if (stats_run_core(rt->srv) != NULL)
				stats_wrapup_end(stats_run_core(rt->srv), d.agent, now_ms());
			stats_agent_sync(rt, d.agent);
			break;
		}
	}
	timer_arm(rt);
}

/* --- ticket changes --- */

static void
seen_purge(struct router *rt, int64_t now)
{
	struct rt_seen *e;

	while ((e = TAILQ_FIRST(&rt->seen_gone)) != NULL && e->until <= now) {
		TAILQ_REMOVE(&rt->seen_gone, e, gone);
		HASH_DEL(rt->seen, e);
		free(e);
	}
}

/* Whether the ticket object is older than one already applied (or as
 * old, unless same is allowed). */
static int
ticket_stale(struct router *rt, uint64_t id, unsigned int version, int same)
{
	struct rt_seen *e;

	HASH_FIND(hh, rt->seen, &id, sizeof id, e);
	return e != NULL && version != 0 &&
	       (version < e->version || (!same && version == e->version));
}

/* Remember the version of a ticket object the router applied. */
static void
ticket_seen(struct router *rt, const json_t *t)
{
	uint64_t id = (uint64_t)jint(t, "id");
	unsigned int version = (unsigned int)jint(t, "version");
	struct rt_seen *e;

	if (id == 0 || version == 0)
		return;
	HASH_FIND(hh, rt->seen, &id, sizeof id, e);
	if (e == NULL) {
		if ((e = calloc(1, sizeof *e)) == NULL)
			abort();
		e->id = id;
		HASH_ADD(hh, rt->seen, id, sizeof e->id, e);
	} else if (e->until != 0) {
		TAILQ_REMOVE(&rt->seen_gone, e, gone);
		e->until = 0;
	}
	if (version > e->version)
		e->version = version;
}

/* The core no longer knows the ticket: keep its version a while, against
 * older results still on their way. */
static void
ticket_forget(struct router *rt, uint64_t id)
{
	struct rt_seen *e;

	live_drop(rt, id);
	HASH_FIND(hh, rt->seen, &id, sizeof id, e);
	if (e == NULL || e->until != 0)
		return;
	e->until = now_ms() + SEEN_KEEP_MS;
	TAILQ_INSERT_TAIL(&rt->seen_gone, e, gone);
}

/* Note what queue.items shows of a ticket in line or offered (t a whole
 * ticket object); a ticket in any other state, or in a queue the router
 * does not know, is dropped. */
static void
live_note(struct router *rt, const json_t *t)
{
	uint64_t id = (uint64_t)jint(t, "id");
	const char *state = jstr(t, "state"), *subject = jstr(t, "subject");
	struct rt_queue *q = queue_by_code(rt, jstr(t, "queue"));
	struct rt_live *l;
	size_t n;

	if (q == NULL || state == NULL ||
	    (strcmp(state, "queued") != 0 && strcmp(state, "offered") != 0)) {
		live_drop(rt, id);
		return;
	}
	HASH_FIND(hh, rt->live, &id, sizeof id, l);
	if (l == NULL) {
		if ((l = calloc(1, sizeof *l)) == NULL)
			abort();
		l->id = id;
		HASH_ADD(hh, rt->live, id, sizeof l->id, l);
	} else if (l->q != q) {
		TAILQ_REMOVE(&l->q->live, l, entry);
	}
	if (l->q != q)
		TAILQ_INSERT_TAIL(&q->live, l, entry);
	l->q = q;
	snprintf(l->ref, sizeof l->ref, "%s", jstr(t, "ref") ? jstr(t, "ref") : "");
	snprintf(l->channel, sizeof l->channel, "%s", jstr(t, "channel") ? jstr(t, "channel") : "");
	l->priority = (int)jint(t, "priority");
	l->version = (unsigned int)jint(t, "version");
	l->enqueued_ms = jint(t, "enqueued_at");
	l->site = site_by_code(rt, jstr(t, "owning_site"));
	/* a long subject is cut at a character boundary (UTF-8) */
	n = subject ? strlen(subject) : 0;
	if (n > LIVE_SUBJECT_MAX)
		for (n = LIVE_SUBJECT_MAX; n > 0 && ((unsigned char)subject[n] & 0xC0) == 0x80; n--)
			;
	memcpy(l->subject, subject ? subject : "", n);
	l->subject[n] = '\0';
}

static void
live_drop(struct router *rt, uint64_t id)
{
	struct rt_live *l;

	HASH_FIND(hh, rt->live, &id, sizeof id, l);
	if (l == NULL)
		return;
	TAILQ_REMOVE(&l->q->live, l, entry);
	HASH_DEL(rt->live, l);
	free(l);
}

void
router_ticket_changed(struct server *srv, const json_t *t)
{
	if (srv->router != NULL)
		ticket_apply(srv->router, t, 0);
}

/* Bring the core in line with the ticket object t. same: t may be as new
 * as the newest applied (a ticket read back after a refused write). */
static void
ticket_apply(struct router *rt, const json_t *t, int same)
{
	struct server *srv = rt->srv;
	struct route_item_info info;
	struct route_item_in in;
	struct rt_agent *owner;
	struct rt_ticket *w;
	const char *state;
	uint64_t id;
	int64_t now = now_ms(), until;
	int known, ts, have_in;

	if (!json_is_object(t))
		return;
	id = (uint64_t)jint(t, "id");
	state = jstr(t, "state");
	/* a whole ticket object only (some replies carry a brief one) */
	if (id == 0 || state == NULL || (ts = ticket_state_parse(state)) < 0 ||
	    json_object_get(t, "owner") == NULL || json_object_get(t, "queue") == NULL)
		return;
	seen_purge(rt, now);
	if (ticket_stale(rt, id, (unsigned int)jint(t, "version"), same))
		return;
	ticket_seen(rt, t);
	live_note(rt, t);
	owner = agent_by_user(rt, jstr(t, "owner"));
	known = route_item_info(rt->core, id, now, &info) == ROUTE_OK;
	HASH_FIND(hh, rt->tickets, &id, sizeof id, w);
	switch (ts) {
	case TS_QUEUED:
		mark_take(&rt->released, id, NULL);
		if (known && info.state == ROUTE_ITEM_OFFERED && w == NULL) {
			/* the offered agent declined: back in line */
			route_offer_decline(rt->core, id, now);
			stats_agent_sync(rt, info.agent);
			break;
		}
		if (known && info.state == ROUTE_ITEM_OFFERED) {
			/* the router's own writes for this ticket are on their way
			 * (an offer ran out and went to someone else): the core is
			 * ahead of the database, and those writes settle it */
			break;
		}
		/* anything else about waiting work may have changed (queue,
		 * priority, site, severity): it joins the line again, at the
		 * place its enqueue time gives it */
		if (known && info.state == ROUTE_ITEM_ASSIGNED)
			route_item_done(rt->core, id, now);
		else if (known)
			route_item_remove(rt->core, id, now);
		if (item_from_ticket(rt, t, &in) != 0 ||
		    route_item_add(rt->core, &in, now) != ROUTE_OK) {
			if (known) {
				stats_gone(rt, id, now);
				stats_agent_sync(rt, info.agent);
			}
			ticket_forget(rt, id);
			break;
		}
		stats_requeued(rt, t, &in, known ? &info : NULL, now);
		if (known)
			stats_agent_sync(rt, info.agent);
		if (!known && jint(t, "severity") == 1 && jstr(t, "kind") &&
		    strcmp(jstr(t, "kind"), "complaint") == 0) {
			/* a critical complaint: every supervisor hears of it at once */
			json_t *ev = proto_event("complaint.critical");
			json_object_set_new(ev, "ticket", json_string(jstr(t, "ref")));
			json_object_set_new(ev, "queue", json_string(jstr(t, "queue")));
			json_object_set(ev, "site", json_object_get(t, "site"));
			json_object_set(ev, "subject", json_object_get(t, "subject"));
			session_broadcast(srv, ROLE_SUPERVISOR, 0, ev);
		}
		break;
	case TS_OFFERED:
		if (owner == NULL)
			goto gone;
		if (known && info.state == ROUTE_ITEM_OFFERED && info.agent == owner->id)
			break;
		/* offered by hand (a transfer to an agent): the core holds the
		 * reservation and its timer, and the agent is told */
		have_in = item_from_ticket(rt, t, &in) == 0;
		if (!have_in && !known)
			goto gone;
		if (known && info.state == ROUTE_ITEM_ASSIGNED) {
			route_item_done(rt->core, id, now);
			stats_gone(rt, id, now);
		}
		if (route_offer_to(rt->core, id, owner->id, &in, now, &until) == ROUTE_OK) {
			if (have_in && (!known || info.state == ROUTE_ITEM_ASSIGNED))
				stats_queued(rt, t, &in, now);
			offer_send(rt, owner, t, until);
		}
		if (known)
			stats_agent_sync(rt, info.agent);
		stats_agent_sync(rt, owner->id);
		break;
	case TS_IN_PROGRESS:
	case TS_PENDING_CUSTOMER:
		if (owner == NULL)
			goto gone;
		if (mark_has(rt->released, id))
			break; /* the call ended: the ticket takes no capacity */
		if (known && info.agent == owner->id && info.state == ROUTE_ITEM_ASSIGNED)
			break;
		if (known && info.state == ROUTE_ITEM_OFFERED && info.agent == owner->id) {
			route_offer_accept(rt->core, id, now);
			stats_answered(rt, id, owner->id, now);
			stats_agent_sync(rt, owner->id);
			break;
		}
		if (item_from_ticket(rt, t, &in) == 0 || known) {
			route_item_assign(rt->core, id, owner->id, known ? NULL : &in, now);
			/* taken from the line without an offer (or the offer lost) */
			if (!known || info.state != ROUTE_ITEM_ASSIGNED)
				stats_answered(rt, id, owner->id, now);
			if (known)
				stats_agent_sync(rt, info.agent);
			stats_agent_sync(rt, owner->id);
		} else {
			ticket_forget(rt, id);
		}
		break;
	default: /* new, resolved, closed */
	gone:
		mark_take(&rt->released, id, NULL);
		if (known && info.state == ROUTE_ITEM_ASSIGNED)
			route_item_done(rt->core, id, now);
		else if (known)
			route_item_remove(rt->core, id, now);
		stats_gone(rt, id, now);
		if (known)
			stats_agent_sync(rt, info.agent);
		ticket_forget(rt, id);
		break;
	}
	router_run(rt);
}

void
router_hint_sticky(struct server *srv, uint64_t ticket_id, uint32_t agent)
{
	if (srv->router != NULL && agent != 0)
		mark_set(&srv->router->sticky, ticket_id, agent);
}

void
router_call_ended(struct server *srv, uint64_t ticket_id)
{
	struct router *rt = srv->router;
	struct route_item_info info;
	int64_t now = now_ms();

	if (rt == NULL)
		return;
	if (route_item_info(rt->core, ticket_id, now, &info) == ROUTE_OK &&
	    info.state == ROUTE_ITEM_ASSIGNED) {
		route_item_done(rt->core, ticket_id, now); /* wrap-up, then free */
		mark_set(&rt->released, ticket_id, info.agent);
		stats_gone(rt, ticket_id, now);
		stats_agent_sync(rt, info.agent);
	}
	router_run(rt);
}

void
router_sla_event(struct server *srv, uint64_t ticket_id, const char *site, int breach)
{
	struct router *rt = srv->router;
	struct route_item_info info;

	if (rt != NULL && route_item_info(rt->core, ticket_id, now_ms(), &info) == ROUTE_OK)
		stats_run_sla(srv, ticket_id, info.queue, site, breach);
}

void
router_wait_info(struct server *srv, uint64_t ticket_id, json_t *out)
{
	struct router *rt = srv->router;
	struct route_item_info info;

	if (rt == NULL || route_item_info(rt->core, ticket_id, now_ms(), &info) != ROUTE_OK ||
	    info.state != ROUTE_ITEM_WAITING)
		return;
	json_object_set_new(out, "position", json_integer(info.position));
	json_object_set_new(out, "estimated_wait_ms", json_integer(info.ewt_ms));
}

static void *grow(void *v, size_t *cap, size_t n, size_t each);

/* A ticket of a queue.items answer, with what the core says of it. */
struct live_row {
	const struct rt_live *l;
	struct route_item_info info;
};

/* The line's order (docs/ROUTING.md): vkey, then arrival, then id. */
static int
live_row_cmp(const void *a, const void *b)
{
	const struct live_row *x = a, *y = b;

	if (x->info.vkey != y->info.vkey)
		return x->info.vkey < y->info.vkey ? -1 : 1;
	if (x->l->enqueued_ms != y->l->enqueued_ms)
		return x->l->enqueued_ms < y->l->enqueued_ms ? -1 : 1;
	return x->l->id < y->l->id ? -1 : x->l->id > y->l->id;
}

static const char *
live_state_name(enum route_item_state st)
{
	return st == ROUTE_ITEM_OFFERED ? "offered" : st == ROUTE_ITEM_HELD ? "held" : "waiting";
}

json_t *
router_queue_items(struct server *srv, const char *queue, uint32_t fence, size_t offset,
                   size_t limit)
{
	struct router *rt = srv->router;
	struct rt_queue *q;
	struct rt_live *l;
	struct rt_site *site, *ts;
	struct live_row *v = NULL;
	size_t n = 0, cap = 0, line = 0, shown = 0, waiting = 0;
	json_t *items, *r;

	if (rt == NULL || (q = queue_by_code(rt, queue)) == NULL ||
	    (fence != 0 && q->site != 0 && q->site != fence))
		return NULL;
	TAILQ_FOREACH(l, &q->live, entry)
	{
		struct route_item_info info;
		if (route_item_peek(rt->core, l->id, &info) != ROUTE_OK || info.queue != q->id ||
		    info.state == ROUTE_ITEM_ASSIGNED)
			continue;
		v = grow(v, &cap, n, sizeof *v);
		v[n].l = l;
		v[n++].info = info;
	}
	if (n > 1)
		qsort(v, n, sizeof *v, live_row_cmp);
	items = json_array();
	/* places count the whole line; a supervisor of a site is shown the
	 * tickets of that site only (a queue of every site holds others) */
	for (size_t i = 0; i < n; i++) {
		struct rt_agent *a =
		    v[i].info.state == ROUTE_ITEM_OFFERED ? agent_by_id(rt, v[i].info.agent) : NULL;
		json_t *o;
		/* a place in line for waiting work; offered and held work has none */
		if (v[i].info.state == ROUTE_ITEM_WAITING)
			line++;
		if (fence != 0 && v[i].l->site != fence)
			continue;
		waiting += v[i].info.state == ROUTE_ITEM_WAITING;
		if (shown++ < offset || shown - 1 - offset >= limit)
			continue;
		o = json_pack("{s:I,s:s,s:s,s:s,s:i,s:s,s:I,s:I,s:i}", "id", (json_int_t)v[i].l->id,
		              "ref", v[i].l->ref, "state", live_state_name(v[i].info.state),
		              "channel", v[i].l->channel, "priority", v[i].l->priority, "subject",
		              v[i].l->subject, "enqueued_at", (json_int_t)v[i].l->enqueued_ms,
		              "version", (json_int_t)v[i].l->version, "level", v[i].info.level);
		json_object_set_new(o, "position",
		                    v[i].info.state == ROUTE_ITEM_WAITING
		                        ? json_integer((json_int_t)line)
		                        : json_null());
		json_object_set_new(o, "agent", a ? json_string(a->user) : json_null());
		json_array_append_new(items, o);
	}
	free(v);
	r = json_pack("{s:s,s:o,s:I,s:I,s:I,s:o}", "queue", q->code, "site", json_null(), "total",
	              (json_int_t)shown, "waiting", (json_int_t)waiting, "offset",
	              (json_int_t)offset, "items", items);
	HASH_ITER(hh_code, rt->sites, site, ts)
	{
		if (site->id == q->site)
			json_object_set_new(r, "site", json_string(site->code));
	}
	json_object_set_new(r, "next_offset",
	                    offset + limit < shown ? json_integer((json_int_t)(offset + limit))
	                                           : json_null());
	return r;
}

int
router_queue_site(struct server *srv, const char *queue, uint32_t *site)
{
	struct rt_queue *q = srv->router ? queue_by_code(srv->router, queue) : NULL;

	if (q == NULL)
		return -1;
	*site = q->site;
	return 0;
}

int
router_agent_serves(struct server *srv, unsigned int agent, const char *queue)
{
	struct router *rt = srv->router;
	struct rt_queue *q;
	struct rt_agent *a;

	if (rt == NULL || (a = agent_by_id(rt, agent)) == NULL || !a->active ||
	    (q = queue_by_code(rt, queue)) == NULL)
		return 0;
	for (unsigned i = 0; i < a->nqueues; i++)
		if (a->queues[i] == q->id)
			return 1;
	return 0;
}

int64_t
router_queue_ewt(struct server *srv, uint32_t queue)
{
	struct router *rt = srv->router;
	struct rt_queue *q = NULL;

	if (rt != NULL)
		HASH_FIND(hh, rt->queues, &queue, sizeof queue, q);
	return q != NULL ? route_queue_ewt(rt->core, queue) : -1;
}

json_t *
router_queue_estimate(struct server *srv, const char *queue)
{
	struct router *rt = srv->router;
	struct rt_queue *q = rt ? queue_by_code(rt, queue) : NULL;

	if (q == NULL)
		return NULL;
	return json_pack("{s:s,s:I}", "queue", q->code, "estimated_wait_ms",
	                 (json_int_t)route_queue_ewt(rt->core, q->id));
}

/* --- agents --- */

int
router_agent_ready(struct server *srv, struct session *s, char *msg, size_t len)
{
	struct router *rt = srv->router;
	struct rt_agent *a = rt ? agent_by_id(rt, s->agent.id) : NULL;

	if (a == NULL || !a->active) {
		snprintf(msg, len, "user %s takes no routed work (no routing profile)",
		         s->agent.user);
		return -1;
	}
	if (a->s != NULL && a->s != s) {
		snprintf(msg, len, "%s is already taking work on another connection",
		         s->agent.user);
		return -1;
	}
	a->s = s;
	route_agent_ready(rt->core, a->id, now_ms());
	stats_agent_sync(rt, a->id);
	log_info("router", "msg=\"agent ready\" user=%s", a->user);
	router_run(rt);
	return 0;
}

int
router_agent_pause(struct server *srv, struct session *s, const char *reason, char *msg, size_t len)
{
	struct router *rt = srv->router;
	struct rt_agent *a = rt ? agent_by_id(rt, s->agent.id) : NULL;
	struct rt_reason *r;

	if (a == NULL) {
		snprintf(msg, len, "user %s takes no routed work (no routing profile)",
		         s->agent.user);
		return -1;
	}
	HASH_FIND_STR(rt->reasons, reason, r);
	if (r == NULL) {
		snprintf(msg, len, "unknown pause reason '%s'; agent.status lists them", reason);
		return -1;
	}
	if (a->s != NULL && a->s != s) {
		snprintf(msg, len, "%s is taking work on another connection; pause there",
		         s->agent.user);
		return -1;
	}
	a->s = s;
	route_agent_pause(rt->core, a->id, reason, now_ms());
	stats_agent_sync(rt, a->id);
	log_info("router", "msg=\"agent paused\" user=%s reason=%s", a->user, reason);
	router_run(rt);
	return 0;
}

json_t *
router_agent_status(struct server *srv, struct session *s)
{
	struct router *rt = srv->router;
	struct rt_agent *a = rt ? agent_by_id(rt, s->agent.id) : NULL;
	struct route_agent_info info;
	struct rt_reason *r, *tmp;
	json_t *o = json_object(), *reasons = json_array();

	if (rt != NULL)
		HASH_ITER(hh, rt->reasons, r, tmp)
		{
			json_array_append_new(reasons, json_string(r->code));
		}
	json_object_set_new(o, "pause_reasons", reasons);
	if (a == NULL || route_agent_info(rt->core, a->id, &info) != ROUTE_OK) {
		json_object_set_new(o, "routed", json_false());
		return o;
	}
	json_object_set_new(o, "routed", json_true());
	json_object_set_new(o, "state", json_string(route_agent_state_name(info.state)));
	json_object_set_new(o, "since", json_integer(info.since_ms));
	if (info.reason[0])
		json_object_set_new(o, "reason", json_string(info.reason));
	json_object_set_new(o, "calls", json_integer(info.load[ROUTE_VOICE]));
	json_object_set_new(o, "tickets", json_integer(info.load[ROUTE_ASYNC]));
	json_object_set_new(o, "handled_today", json_integer(info.handled_today));
	json_object_set_new(o, "missed", json_integer(info.misses));
	return o;
}

void
router_session_closed(struct server *srv, struct session *s)
{
	struct router *rt = srv->router;
	struct rt_agent *a = rt && s->agent.id ? agent_by_id(rt, s->agent.id) : NULL;

	if (a == NULL || a->s != s)
		return;
	a->s = NULL;
	route_agent_offline(rt->core, a->id, now_ms());
	stats_agent_sync(rt, a->id);
	log_info("router", "msg=\"agent offline\" user=%s", a->user);
	router_run(rt);
}

/* --- start-up --- */

/* The routing set-up as read from the database: read on any thread into
 * plain arrays (setup_load), applied on the loop (setup_apply), at start
 * and on route.reload. */
struct su_queue {
	char code[65];
	uint32_t site;      /* 0: every site's */
	int64_t sl_ms;      /* the service-level threshold */
	int64_t short_ms;   /* the short-abandon threshold; 0: none */
	double alert_sl;    /* alert below this service level; < 0: none */
	int64_t alert_wait; /* alert above this longest wait (ms); 0: none */
	int alert_breach;   /* alert on an open SLA breach */
	struct route_queue_cfg cfg;
	unsigned nreq;
	struct route_skill req[ROUTE_MAX_REQ];
};
struct su_agent {
	char user[65];
	struct route_agent_cfg cfg;
};
struct su_site {
	uint16_t id;
	char code[65];
	char tz[65];
};
struct su_skill {
	uint16_t id;
	char code[65];
};
struct rt_setup {
	struct su_queue *queues;
	size_t nq, capq;
	struct su_agent *agents;
	size_t na, capa;
	struct su_site *sites;
	size_t ns, caps;
	struct su_skill *skills; /* every skill, for the statistics */
	size_t nk, capk;
	char (*reasons)[ROUTE_REASON_MAX + 1];
	size_t nr, capr;
	uint16_t level_skill[5]; /* complaint.l1..l4 by handling level (0: none) */
	struct rt_lang *langs;   /* an array of nl */
	size_t nl, capl;
	struct rt_lang *products; /* an array of np */
	size_t np, capp;
};

/* Room for one more element in *v (of size each, n used, cap allocated). */
static void *
grow(void *v, size_t *cap, size_t n, size_t each)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	if ((v = realloc(v, *cap * each)) == NULL)
		abort();
	return v;
}

static void
setup_free(struct rt_setup *su)
{
	free(su->queues);
	free(su->agents);
	free(su->sites);
	free(su->skills);
	free(su->reasons);
	free(su->langs);
	free(su->products);
	memset(su, 0, sizeof *su);
}

/* Run a fixed query (no values in it) and call row() for each row. */
static int
load_rows(MYSQL *m, const char *sql, void (*row)(struct rt_setup *, MYSQL_ROW), struct rt_setup *su,
          char *err, size_t errlen)
{
	MYSQL_RES *res;
	MYSQL_ROW r;

	if (mysql_query(m, sql) != 0 || (res = mysql_store_result(m)) == NULL) {
		snprintf(err, errlen, "%s", mysql_error(m));
		return -1;
	}
	while ((r = mysql_fetch_row(res)) != NULL)
		row(su, r);
	mysql_free_result(res);
	return 0;
}

static int64_t
col_int(MYSQL_ROW r, int i)
{
	return r[i] ? strtoll(r[i], NULL, 10) : 0;
}

static void
load_site(struct rt_setup *su, MYSQL_ROW r)
{
	struct su_site *x;

	su->sites = grow(su->sites, &su->caps, su->ns, sizeof *su->sites);
	x = &su->sites[su->ns++];
	x->id = (uint16_t)col_int(r, 0);
	snprintf(x->code, sizeof x->code, "%s", r[1]);
	snprintf(x->tz, sizeof x->tz, "%s", r[2] ? r[2] : "UTC");
}

static void
load_queue(struct rt_setup *su, MYSQL_ROW r)
{
	struct su_queue *q;
	int s;

	su->queues = grow(su->queues, &su->capq, su->nq, sizeof *su->queues);
	q = &su->queues[su->nq++];
	memset(q, 0, sizeof *q);
	snprintf(q->code, sizeof q->code, "%s", r[1]);
	q->cfg.id = (uint32_t)col_int(r, 0);
	q->cfg.strategy =
	    (s = route_strategy_parse(r[2])) < 0 ? ROUTE_LONGEST_IDLE : (enum route_strategy)s;
	q->cfg.relax_ms = col_int(r, 3) * 1000;
	q->cfg.overflow_ms = col_int(r, 4) * 1000;
	q->cfg.ewt_overflow_ms = col_int(r, 5) * 1000;
	q->cfg.offer_ms = col_int(r, 6) * 1000;
	q->cfg.wrapup_ms = col_int(r, 7) * 1000;
	q->cfg.sticky_ms = col_int(r, 8) * 1000;
	q->cfg.aht_ms = col_int(r, 9) * 1000;
	q->cfg.max_misses = (int)col_int(r, 10);
	q->site = (uint32_t)col_int(r, 11);
	q->sl_ms = col_int(r, 12) * 1000;
	q->alert_sl = r[13] ? strtod(r[13], NULL) : -1;
	q->alert_wait = col_int(r, 14) * 1000;
	q->alert_breach = col_int(r, 15) != 0;
	q->short_ms = col_int(r, 16) * 1000;
}

static void
load_skill(struct rt_setup *su, MYSQL_ROW r)
{
	struct su_skill *k;

	su->skills = grow(su->skills, &su->capk, su->nk, sizeof *su->skills);
	k = &su->skills[su->nk++];
	k->id = (uint16_t)col_int(r, 0);
	snprintf(k->code, sizeof k->code, "%s", r[1]);
}

static void
load_queue_skill(struct rt_setup *su, MYSQL_ROW r)
{
	uint32_t id = (uint32_t)col_int(r, 0);

	for (size_t i = 0; i < su->nq; i++) {
		struct su_queue *q = &su->queues[i];
		if (q->cfg.id != id || q->nreq == ROUTE_MAX_REQ)
			continue;
		q->req[q->nreq].skill = (uint16_t)col_int(r, 1);
		q->req[q->nreq].prof = (uint8_t)col_int(r, 2);
		q->nreq++;
	}
}

/* One row per agent × skill × queue, ordered by agent: an agent's set-up
 * is complete when the next agent's rows start. */
static void
load_agent(struct rt_setup *su, MYSQL_ROW r)
{
	uint32_t id = (uint32_t)col_int(r, 0);
	struct route_agent_cfg *c;

	if (su->na == 0 || su->agents[su->na - 1].cfg.id != id) {
		su->agents = grow(su->agents, &su->capa, su->na, sizeof *su->agents);
		memset(&su->agents[su->na], 0, sizeof su->agents[0]);
		c = &su->agents[su->na].cfg;
		snprintf(su->agents[su->na].user, sizeof su->agents[0].user, "%s", r[7]);
		su->na++;
		c->id = id;
		c->site = (uint16_t)col_int(r, 1);
		c->capacity[ROUTE_VOICE] = (int)col_int(r, 2);
		c->capacity[ROUTE_ASYNC] = (int)col_int(r, 3);
		c->own_wrapup = r[8] != NULL;
		c->wrapup_ms = col_int(r, 8) * 1000;
	}
	c = &su->agents[su->na - 1].cfg;
	if (r[4] != NULL && c->nskills < ROUTE_MAX_SKILLS) {
		uint16_t skill = (uint16_t)col_int(r, 4);
		unsigned i;
		for (i = 0; i < c->nskills && c->skills[i].skill != skill; i++)
			;
		if (i == c->nskills) {
			c->skills[c->nskills].skill = skill;
			c->skills[c->nskills++].prof = (uint8_t)col_int(r, 5);
		}
	}
	if (r[6] != NULL && c->nqueues < ROUTE_MAX_QUEUES) {
		uint32_t q = (uint32_t)col_int(r, 6);
		unsigned i;
		for (i = 0; i < c->nqueues && c->queues[i] != q; i++)
			;
		if (i == c->nqueues)
			c->queues[c->nqueues++] = q;
	}
}

static void
load_level_skill(struct rt_setup *su, MYSQL_ROW r)
{
	/* complaint.l1 .. complaint.l4 */
	int level = r[1][strlen("complaint.l")] - '0';

	if (level >= 1 && level <= 4 && r[1][strlen("complaint.l") + 1] == '\0')
		su->level_skill[level] = (uint16_t)col_int(r, 0);
}

static void
load_lang(struct rt_setup *su, MYSQL_ROW r)
{
	struct rt_lang *l;

	su->langs = grow(su->langs, &su->capl, su->nl, sizeof *su->langs);
	l = &su->langs[su->nl++];
	memset(l, 0, sizeof *l);
	l->skill = (uint16_t)col_int(r, 0);
	snprintf(l->tag, sizeof l->tag, "%s", r[1] + strlen("lang."));
}

static void
load_product(struct rt_setup *su, MYSQL_ROW r)
{
	struct rt_lang *l;

	su->products = grow(su->products, &su->capp, su->np, sizeof *su->products);
	l = &su->products[su->np++];
	memset(l, 0, sizeof *l);
	l->skill = (uint16_t)col_int(r, 0);
	snprintf(l->tag, sizeof l->tag, "%s", r[1] + strlen("product."));
}

static void
load_reason(struct rt_setup *su, MYSQL_ROW r)
{
	su->reasons = grow(su->reasons, &su->capr, su->nr, sizeof *su->reasons);
	snprintf(su->reasons[su->nr++], sizeof su->reasons[0], "%s", r[0]);
}

/* Read the whole set-up over m: 0, or -1 with err. */
static int
setup_load(MYSQL *m, struct rt_setup *su, char *err, size_t errlen)
{
	int rc;

	memset(su, 0, sizeof *su);
	rc = load_rows(m, "SELECT id, code, time_zone FROM sites", load_site, su, err, errlen);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT id, code, strategy, relax_seconds, overflow_seconds, "
		               "ewt_overflow_seconds, offer_seconds, wrapup_seconds, "
		               "sticky_seconds, aht_seconds, max_misses, COALESCE(site_id, 0), "
		               "sl_target_seconds, alert_sl_below, alert_wait_above_seconds, "
		               "alert_on_breach, short_abandon_seconds FROM queues",
		               load_queue, su, err, errlen);
	if (rc == 0)
		rc = load_rows(m, "SELECT id, code FROM skills WHERE id <= 65535", load_skill, su,
		               err, errlen);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT queue_id, skill_id, min_proficiency FROM queue_skills "
		               "ORDER BY queue_id, skill_id",
		               load_queue_skill, su, err, errlen);
	/* an agent without agent_queues rows serves its site's queues and the
	 * queues of every site */
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT a.id, COALESCE(a.site_id, 0), a.voice_capacity, "
		               "a.async_capacity, s.skill_id, s.proficiency, "
		               "COALESCE(aq.queue_id, q.id), a.username, a.wrapup_seconds "
		               "FROM agents a "
		               "LEFT JOIN agent_skills s ON s.agent_id = a.id "
		               "LEFT JOIN agent_queues aq ON aq.agent_id = a.id "
		               "LEFT JOIN queues q ON aq.agent_id IS NULL AND "
		               "NOT EXISTS (SELECT 1 FROM agent_queues x WHERE x.agent_id = a.id) "
		               "AND (q.site_id IS NULL OR q.site_id = a.site_id) "
		               "WHERE a.active = 1 AND a.role IN ('agent', 'supervisor') "
		               "ORDER BY a.id",
		               load_agent, su, err, errlen);
	if (rc == 0)
		rc = load_rows(m, "SELECT code FROM pause_reasons WHERE selectable = 1",
		               load_reason, su, err, errlen);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT id, code FROM skills WHERE code LIKE 'complaint.l_' "
		               "AND kind = 'level'",
		               load_level_skill, su, err, errlen);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT id, code FROM skills WHERE kind = 'language' AND code LIKE "
		               "'lang.%' AND CHAR_LENGTH(code) BETWEEN 6 AND 20",
		               load_lang, su, err, errlen);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT id, code FROM skills WHERE kind = 'product' AND code LIKE "
		               "'product.%' AND CHAR_LENGTH(code) BETWEEN 9 AND 23",
		               load_product, su, err, errlen);
	if (rc != 0)
		setup_free(su);
	return rc;
}

/* Replace the hash *set by the n entries of v. */
static void
tags_set(struct rt_lang **set, const struct rt_lang *v, size_t n)
{
	struct rt_lang *l, *tl;

	HASH_ITER(hh, *set, l, tl)
	{
		HASH_DEL(*set, l);
		free(l);
	}
	for (size_t i = 0; i < n; i++) {
		if ((l = calloc(1, sizeof *l)) == NULL)
			abort();
		snprintf(l->tag, sizeof l->tag, "%s", v[i].tag);
		l->skill = v[i].skill;
		HASH_ADD_STR(*set, tag, l);
	}
}

/* Make the router's set-up su: queues and agents added or changed in place
 * (waiting work and agents' states stay), agents no longer active taken
 * offline. Loop thread. */
static void
setup_apply(struct router *rt, const struct rt_setup *su)
{
	struct rt_reason *r, *tr;
	struct rt_agent *a, *ta;
	int64_t now = now_ms();

	for (size_t i = 0; i < su->ns; i++) {
		struct rt_site *x;
		HASH_FIND(hh_code, rt->sites, su->sites[i].code, strlen(su->sites[i].code), x);
		if (x != NULL)
			continue;
		if ((x = calloc(1, sizeof *x)) == NULL)
			abort();
		x->id = su->sites[i].id;
		snprintf(x->code, sizeof x->code, "%s", su->sites[i].code);
		HASH_ADD_KEYPTR(hh_code, rt->sites, x->code, strlen(x->code), x);
	}
	for (size_t i = 0; i < su->ns; i++)
		stats_run_site(rt->srv, su->sites[i].id, su->sites[i].code, su->sites[i].tz);
	for (size_t i = 0; i < su->nk; i++)
		stats_run_skill(rt->srv, su->skills[i].id, su->skills[i].code);
	for (size_t i = 0; i < su->nq; i++) {
		const struct su_queue *sq = &su->queues[i];
		struct rt_queue *q;
		HASH_FIND(hh, rt->queues, &sq->cfg.id, sizeof sq->cfg.id, q);
		if (q == NULL) {
			if ((q = calloc(1, sizeof *q)) == NULL)
				abort();
			q->id = sq->cfg.id;
			TAILQ_INIT(&q->live);
			HASH_ADD(hh, rt->queues, id, sizeof q->id, q);
		} else {
			HASH_DELETE(hh_code, rt->queues_by_code, q);
		}
		snprintf(q->code, sizeof q->code, "%s", sq->code);
		HASH_ADD_KEYPTR(hh_code, rt->queues_by_code, q->code, strlen(q->code), q);
		q->site = sq->site;
		q->nreq = sq->nreq;
		memcpy(q->req, sq->req, sizeof q->req);
		route_queue_set(rt->core, &sq->cfg);
		stats_run_queue(rt->srv, q->id, q->code, sq->site, sq->sl_ms, sq->short_ms);
		stats_run_queue_alerts(rt->srv, q->id, sq->alert_sl, sq->alert_wait,
		                       sq->alert_breach);
	}
	HASH_ITER(hh, rt->agents, a, ta)
	{
		a->active = 0;
	}
	for (size_t i = 0; i < su->na; i++) {
		const struct su_agent *sa = &su->agents[i];
		a = agent_by_id(rt, sa->cfg.id);
		if (a == NULL) {
			if ((a = calloc(1, sizeof *a)) == NULL)
				abort();
			a->id = sa->cfg.id;
			snprintf(a->user, sizeof a->user, "%s", sa->user);
			HASH_ADD(hh, rt->agents, id, sizeof a->id, a);
			HASH_ADD_KEYPTR(hh_user, rt->agents_by_user, a->user, strlen(a->user), a);
		}
		a->active = 1;
		a->nqueues = sa->cfg.nqueues;
		memcpy(a->queues, sa->cfg.queues, sizeof a->queues);
		route_agent_set(rt->core, &sa->cfg, now);
		stats_run_agent(rt->srv, a->id, a->user, sa->cfg.site, sa->cfg.queues,
		                sa->cfg.nqueues, sa->cfg.skills, sa->cfg.nskills);
		stats_agent_sync(rt, a->id);
	}
	HASH_ITER(hh, rt->agents, a, ta)
	{
		if (!a->active) { /* deactivated: no more routed work */
			route_agent_offline(rt->core, a->id, now);
			stats_agent_sync(rt, a->id);
		}
	}
	HASH_ITER(hh, rt->reasons, r, tr)
	{
		HASH_DEL(rt->reasons, r);
		free(r);
	}
	for (size_t i = 0; i < su->nr; i++) {
		if ((r = calloc(1, sizeof *r)) == NULL)
			abort();
		snprintf(r->code, sizeof r->code, "%s", su->reasons[i]);
		HASH_ADD_STR(rt->reasons, code, r);
	}
	memcpy(rt->level_skill, su->level_skill, sizeof rt->level_skill);
	tags_set(&rt->langs, su->langs, su->nl);
	tags_set(&rt->products, su->products, su->np);
}

/* Work at start: queued tickets in line with their original enqueue time,
 * and tickets in hand counted in their agents' load. Offers left open by an
 * earlier run were taken back before this. */
static void
load_waiting(struct router *rt, MYSQL_ROW r)
{
	json_t *t = json_pack(
	    "{s:I,s:s,s:s?,s:s?,s:s,s:I,s:I,s:s,s:I,s:s?,s:I,s:I}", "id", (json_int_t)col_int(r, 0),
	    "queue", r[1], "site", r[2], "owning_site", r[3], "channel", r[4], "priority",
	    (json_int_t)col_int(r, 5), "enqueued_at", (json_int_t)col_int(r, 6), "kind", r[7],
	    "severity", (json_int_t)col_int(r, 8), "value_tier", r[11], "first_response_due",
	    (json_int_t)col_int(r, 12), "resolution_due", (json_int_t)col_int(r, 13));
	struct route_item_in in;

	if (t != NULL && r[14] != NULL)
		json_object_set_new(t, "language", json_string(r[14]));
	if (t != NULL && r[15] != NULL)
		json_object_set_new(t, "product_line", json_string(r[15]));
	if (t != NULL && item_from_ticket(rt, t, &in) == 0) {
		if (strcmp(r[9], "queued") == 0) {
			json_object_set_new(t, "state", json_string(r[9]));
			json_object_set_new(t, "ref", json_string(r[16]));
			json_object_set_new(t, "version", json_integer(col_int(r, 17)));
			json_object_set_new(t, "subject", json_string(r[18]));
			/* waiting since its enqueue time, for the statistics too */
			if (route_item_add(rt->core, &in, now_ms()) == ROUTE_OK) {
				live_note(rt, t);
				stats_queued(rt, t, &in,
				             in.enqueued_ms > 0 && in.enqueued_ms < now_ms()
				                 ? in.enqueued_ms
				                 : now_ms());
			}
		} else if (r[10] != NULL) { /* work in hand counts in its agent's load */
			route_item_assign(rt->core, in.id, (uint32_t)col_int(r, 10), &in, now_ms());
		}
	}
	json_decref(t);
}

/* Take back the offers an earlier run left open: each becomes a timeout,
 * written like any other (event on the hash chain). */
static int
offers_take_back(struct router *rt, MYSQL *m, char *err, size_t errlen)
{
	MYSQL_RES *res;
	MYSQL_ROW r;
	struct ticket_actor actor = {.agent_id = 0, .role = ROLE_SERVICE};
	unsigned n = 0;

	(void)rt;
	snprintf(actor.user, sizeof actor.user, "router");
	if (mysql_query(m, "SELECT id, version FROM tickets WHERE state = 'offered'") != 0 ||
	    (res = mysql_store_result(m)) == NULL) {
		snprintf(err, errlen, "%s", mysql_error(m));
		return -1;
	}
	while ((r = mysql_fetch_row(res)) != NULL) {
		struct ticket_change c = {.action = TA_TIMEOUT};
		struct ticket_result tr = {0};
		c.key.id = (uint64_t)col_int(r, 0);
		c.version = (unsigned int)col_int(r, 1);
		if (store_ticket_transition(m, &actor, &c, now_ms(), &tr, err, errlen) != 0) {
			mysql_free_result(res);
			return -1;
		}
		n += tr.code == CC_OK;
		json_decref(tr.reply);
	}
	mysql_free_result(res);
	if (n > 0)
		log_info("router", "msg=\"open offers taken back\" count=%u", n);
	return 0;
}

/* Put the tickets of a fixed query through load_waiting. */
static int
load_work(struct router *rt, MYSQL *m, char *err, size_t errlen)
{
	MYSQL_RES *res;
	MYSQL_ROW r;

	if (mysql_query(m, "SELECT t.id, q.code, s.code, o.code, t.channel, t.priority, "
	                   "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.enqueued_at) DIV 1000, "
	                   "t.kind, t.severity, t.state, t.owner_agent_id, c.value_tier, "
	                   "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.first_response_due) DIV "
	                   "1000, TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.resolution_due) DIV "
	                   "1000, t.language, t.product_line, t.ref, t.version, t.subject "
	                   "FROM tickets t JOIN queues q ON q.id = t.queue_id "
	                   "LEFT JOIN customers c ON c.id = t.customer_id "
	                   "LEFT JOIN sites s ON s.id = t.site_id "
	                   "JOIN sites o ON o.id = t.owning_site_id "
	                   "WHERE t.state IN ('queued', 'in_progress', 'pending_customer') "
	                   "ORDER BY t.enqueued_at") != 0 ||
	    (res = mysql_store_result(m)) == NULL) {
		snprintf(err, errlen, "%s", mysql_error(m));
		return -1;
	}
	while ((r = mysql_fetch_row(res)) != NULL)
		load_waiting(rt, r);
	mysql_free_result(res);
	return 0;
}

int
router_start(struct server *srv, char *err, size_t errlen)
{
	struct db_params p;
	struct router *rt = calloc(1, sizeof *rt);
	struct rt_setup su;
	char why[256];
	MYSQL *m;
	int rc;

	if (rt == NULL || (rt->core = route_new(NULL)) == NULL)
		abort();
	rt->srv = srv;
	rt->armed = INT64_MAX;
	TAILQ_INIT(&rt->seen_gone);
	rt->timer = evtimer_new(srv->base, timer_cb, rt);
	srv->router = rt;
	if (stats_run_start(srv) != 0)
		abort();
	config_db_params(&srv->cfg, &p);
	if ((m = db_connect(&p, why, sizeof why)) == NULL) {
		snprintf(err, errlen, "router: cannot reach the database: %s", why);
		return -1;
	}
	if ((rc = setup_load(m, &su, why, sizeof why)) == 0) {
		setup_apply(rt, &su);
		setup_free(&su);
	}
	if (rc == 0)
		rc = offers_take_back(rt, m, why, sizeof why);
	if (rc == 0)
		rc = load_work(rt, m, why, sizeof why);
	store_stmt_cache_drop(); /* statements of this connection, cached on this thread */
	mysql_close(m);
	if (rc != 0) {
		snprintf(err, errlen, "router: cannot load the routing set-up: %s", why);
		return -1;
	}
	log_info("router", "msg=\"routing loaded\" queues=%u agents=%u waiting=%zu",
	         HASH_CNT(hh, rt->queues), HASH_CNT(hh, rt->agents), route_waiting(rt->core));
	router_run(rt);
	return 0;
}

/* --- route.reload --- */

/* Write a queue's policy (one fixed statement: a field not given keeps its
 * value). *refused when there is no such queue. 0 or -1. */
static int
policy_write(MYSQL *m, const struct queue_policy *p, int *refused, char *err, size_t errlen)
{
	MYSQL_BIND b[16];
	unsigned long len[2];
	my_bool nul[16] = {0};
	int v[8] = {p->relax,  p->overflow, p->ewt_overflow, p->offer,
	            p->wrapup, p->sticky,   p->aht,          p->max_misses};
	int short_abandon = p->short_abandon;
	int sl_given = p->alert_sl_given, wait_given = p->alert_wait_given;
	int wait = p->alert_wait_above, breach = p->alert_on_breach;
	double sl = p->alert_sl_below;
	unsigned long long n = 0;
	json_t *row = NULL;
	int rc;

	bind_str(&b[0], p->strategy, &len[0]);
	nul[0] = p->strategy[0] == '\0';
	b[0].is_null = &nul[0];
	for (int i = 0; i < 8; i++) {
		bind_int(&b[1 + i], &v[i]);
		nul[1 + i] = v[i] < 0;
		b[1 + i].is_null = &nul[1 + i];
	}
	/* the alerts: given (a NULL value clears one) or kept */
	bind_int(&b[9], &sl_given);
	memset(&b[10], 0, sizeof b[10]);
	b[10].buffer_type = MYSQL_TYPE_DOUBLE;
	b[10].buffer = &sl;
	nul[10] = sl < 0;
	b[10].is_null = &nul[10];
	bind_int(&b[11], &wait_given);
	bind_int(&b[12], &wait);
	nul[12] = wait <= 0;
	b[12].is_null = &nul[12];
	bind_int(&b[13], &breach);
	nul[13] = breach < 0;
	b[13].is_null = &nul[13];
	bind_int(&b[14], &short_abandon);
	nul[14] = short_abandon < 0;
	b[14].is_null = &nul[14];
	bind_str(&b[15], p->queue, &len[1]);
	if (store_exec(m,
	               "UPDATE queues SET strategy = COALESCE(?, strategy), "
	               "relax_seconds = COALESCE(?, relax_seconds), "
	               "overflow_seconds = COALESCE(?, overflow_seconds), "
	               "ewt_overflow_seconds = COALESCE(?, ewt_overflow_seconds), "
	               "offer_seconds = COALESCE(?, offer_seconds), "
	               "wrapup_seconds = COALESCE(?, wrapup_seconds), "
	               "sticky_seconds = COALESCE(?, sticky_seconds), "
	               "aht_seconds = COALESCE(?, aht_seconds), "
	               "max_misses = COALESCE(?, max_misses), "
	               "alert_sl_below = IF(?, ?, alert_sl_below), "
	               "alert_wait_above_seconds = IF(?, ?, alert_wait_above_seconds), "
	               "alert_on_breach = COALESCE(?, alert_on_breach), "
	               "short_abandon_seconds = COALESCE(?, short_abandon_seconds) WHERE code = ?",
	               b, err, errlen, &n) != 0)
		return -1;
	if (n > 0)
		return 0;
	/* nothing changed: the values were the same, or there is no such queue */
	bind_str(&b[0], p->queue, &len[0]);
	if ((rc = ticket_query_one(m, "SELECT id FROM queues WHERE code = ?", b, &row, err,
	                           errlen)) < 0)
		return -1;
	*refused = rc == 0;
	json_decref(row);
	return 0;
}

struct reload_job {
	struct session *s;
	json_int_t id;
	int has_policy; /* queue.set: write it first */
	struct queue_policy policy;
	struct rt_setup su;
	int refused; /* the queue named does not exist */
	int rc;
	int db_down;
	unsigned int db_errno;
	char err[256];
};

static void
reload_work(struct db_conn *c, void *arg)
{
	struct reload_job *j = arg;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	if (m == NULL) {
		j->rc = -1;
		j->db_down = 1;
		return;
	}
	if (j->has_policy &&
	    (j->rc = policy_write(m, &j->policy, &j->refused, j->err, sizeof j->err)) != 0) {
		j->db_errno = mysql_errno(m);
		j->db_down = db_conn_failed(c, j->db_errno);
		return;
	}
	if (j->refused)
		return;
	if ((j->rc = setup_load(m, &j->su, j->err, sizeof j->err)) != 0) {
		j->db_errno = mysql_errno(m);
		j->db_down = db_conn_failed(c, j->db_errno);
	}
}

static void
reload_done(void *arg)
{
	struct reload_job *j = arg;
	struct session *s = j->s;
	struct router *rt = s->srv->router;

	if (j->rc == 0 && !j->refused && rt != NULL) {
		setup_apply(rt, &j->su);
		log_info("router", "msg=\"routing set-up reloaded\" user=%s queues=%zu agents=%zu",
		         s->agent.user, j->su.nq, j->su.na);
		router_run(rt);
	}
	if (s->state == SESSION_OPEN) {
		if (j->rc != 0) {
			op_reply_db_error(s, j->id, "router",
			                  j->has_policy ? "queue.set" : "route.reload", j->err,
			                  j->db_down, j->db_errno);
		} else if (j->refused) {
			session_reply_error(s, j->id, CC_ERR_NOT_FOUND, "no such queue");
		} else if (j->has_policy) {
			json_t *r = proto_reply_ok(j->id);
			for (size_t i = 0; i < j->su.nq; i++) {
				const struct su_queue *q = &j->su.queues[i];
				if (strcmp(q->code, j->policy.queue) != 0)
					continue;
				json_object_set_new(
				    r, "queue",
				    json_pack(
				        "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i}", "code",
				        q->code, "strategy", route_strategy_name(q->cfg.strategy),
				        "relax_seconds", (json_int_t)(q->cfg.relax_ms / 1000),
				        "overflow_seconds", (json_int_t)(q->cfg.overflow_ms / 1000),
				        "ewt_overflow_seconds",
				        (json_int_t)(q->cfg.ewt_overflow_ms / 1000),
				        "offer_seconds", (json_int_t)(q->cfg.offer_ms / 1000),
				        "wrapup_seconds", (json_int_t)(q->cfg.wrapup_ms / 1000),
				        "sticky_seconds", (json_int_t)(q->cfg.sticky_ms / 1000),
				        "aht_seconds", (json_int_t)(q->cfg.aht_ms / 1000),
				        "max_misses", q->cfg.max_misses));
				json_t *qo = json_object_get(r, "queue");
				json_object_set_new(qo, "alert_sl_below",
				                    q->alert_sl < 0 ? json_null()
				                                    : json_real(q->alert_sl));
				json_object_set_new(
				    qo, "alert_wait_above_seconds",
				    q->alert_wait > 0
				        ? json_integer((json_int_t)(q->alert_wait / 1000))
				        : json_null());
				json_object_set_new(qo, "alert_on_breach",
				                    json_boolean(q->alert_breach));
				json_object_set_new(qo, "short_abandon_seconds",
				                    json_integer((json_int_t)(q->short_ms / 1000)));
			}
			session_send(s, r);
		} else {
			json_t *r = proto_reply_ok(j->id);
			json_object_set_new(r, "queues", json_integer((json_int_t)j->su.nq));
			json_object_set_new(r, "agents", json_integer((json_int_t)j->su.na));
			json_object_set_new(r, "pause_reasons", json_integer((json_int_t)j->su.nr));
			session_send(s, r);
		}
	}
	setup_free(&j->su);
	session_release(s);
	free(j);
}

static void reload_submit(struct reload_job *j);

void
router_reload(struct session *s, json_int_t id)
{
	struct reload_job *j = calloc(1, sizeof *j);

	if (j == NULL)
		abort();
	j->s = s;
	j->id = id;
	reload_submit(j);
}

void
router_queue_set(struct session *s, json_int_t id, const struct queue_policy *p)
{
	struct reload_job *j = calloc(1, sizeof *j);

	if (j == NULL)
		abort();
	j->s = s;
	j->id = id;
	j->has_policy = 1;
	j->policy = *p;
	reload_submit(j);
}

static void
reload_submit(struct reload_job *j)
{
	struct session *s = j->s;
	json_int_t id = j->id;

	session_hold(s);
	if (db_pool_submit(s->srv->db, reload_work, reload_done, j) != 0) {
		session_reply_error(s, id, CC_ERR_UNAVAILABLE,
		                    "the server is overloaded; try again shortly");
		session_release(s);
		free(j);
	}
}

void
router_stop(struct server *srv)
{
	struct router *rt = srv->router;
	struct rt_queue *q, *tq;
	struct rt_site *s, *ts;
	struct rt_agent *a, *ta;
	struct rt_reason *r, *tr;
	struct rt_ticket *t, *tt;
	struct rt_seen *e, *te;
	struct rt_live *l, *tl;

	if (rt == NULL)
		return;
	if (rt->timer)
		event_free(rt->timer);
	HASH_ITER(hh, rt->tickets, t, tt)
	{
		HASH_DEL(rt->tickets, t);
		if (t->retry != NULL)
			event_free(t->retry);
		free(t->q);
		free(t);
	}
	HASH_ITER(hh, rt->seen, e, te)
	{
		HASH_DEL(rt->seen, e);
		free(e);
	}
	HASH_ITER(hh, rt->live, l, tl)
	{
		HASH_DEL(rt->live, l);
		free(l);
	}
	mark_free(&rt->sticky);
	mark_free(&rt->released);
	tags_set(&rt->langs, NULL, 0);
	tags_set(&rt->products, NULL, 0);
	HASH_ITER(hh_code, rt->queues_by_code, q, tq)
	{
		HASH_DELETE(hh_code, rt->queues_by_code, q);
	}
	HASH_ITER(hh, rt->queues, q, tq)
	{
		HASH_DEL(rt->queues, q);
		free(q);
	}
	HASH_ITER(hh_code, rt->sites, s, ts)
	{
		HASH_DELETE(hh_code, rt->sites, s);
		free(s);
	}
	HASH_ITER(hh_user, rt->agents_by_user, a, ta)
	{
		HASH_DELETE(hh_user, rt->agents_by_user, a);
	}
	HASH_ITER(hh, rt->agents, a, ta)
	{
		HASH_DEL(rt->agents, a);
		free(a);
	}
	HASH_ITER(hh, rt->reasons, r, tr)
	{
		HASH_DEL(rt->reasons, r);
		free(r);
	}
	route_free(rt->core);
	free(rt);
	srv->router = NULL;
	stats_run_stop(srv);
}

int
router_agent_routed(struct server *srv, const struct session *s)
{
	struct router *rt = srv->router;
	struct rt_agent *a = rt ? agent_by_id(rt, s->agent.id) : NULL;

	return a != NULL && a->s == s;
}
