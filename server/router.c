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
#include "store-customer.h"
#include "store-ticket.h"
#include "store.h"

#define ROUTER_ACTIONS 8 /* writes waiting per ticket */

struct rt_queue {
	uint32_t id;
	char code[65];
	unsigned nreq;
	struct route_skill req[ROUTE_MAX_REQ];
	UT_hash_handle hh, hh_code;
};

struct rt_site {
	uint16_t id;
	char code[65];
	UT_hash_handle hh_code;
};

struct rt_agent {
	uint32_t id;
	char user[65];
	struct session *s; /* logged in and routed, or NULL */
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
	int64_t until; /* an offer's deadline (Unix ms) */
};

struct rt_ticket {
	uint64_t id;
	int busy; /* a write is on a worker */
	unsigned n;
	struct rt_action q[ROUTER_ACTIONS];
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
	uint16_t level_skill[5]; /* complaint.l1..l4 by severity (0: none) */
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

/* A complaint of severity s needs a handler of level s: the skill
 * complaint.l<s> (at least proficiency 1) joins the queue's requirements. */
static void
complaint_level(struct router *rt, const json_t *t, struct route_item_in *in)
{
	json_int_t sev = jint(t, "severity");
	const char *kind = jstr(t, "kind");
	uint16_t skill;
	unsigned i;

	if (kind == NULL || strcmp(kind, "complaint") != 0 || sev < 1 || sev > 4 ||
	    (skill = rt->level_skill[sev]) == 0)
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

/* The core's work item for a ticket object (its reply JSON): 0, or -1 when
 * it names no queue the router knows. */
static int
item_from_ticket(struct router *rt, const json_t *t, struct route_item_in *in)
{
	struct rt_queue *q = queue_by_code(rt, jstr(t, "queue"));
	const char *channel = jstr(t, "channel");
	const char *site = jstr(t, "site");

	if (q == NULL)
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
	in->nreq = q->nreq;
	memcpy(in->req, q->req, sizeof in->req);
	complaint_level(rt, t, in);
	return 0;
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

/* --- writes on tickets, one at a time per ticket --- */

struct rt_job {
	struct router *rt;
	uint64_t ticket;
	struct rt_action act;
	char agent_user[65];
	int64_t now_ms;
	int rc;
	char err[256];
	struct ticket_result res;
};

/* db worker: the router's offer or timeout, against the ticket's current
 * version; the ticket may have moved on, which is a refusal, not an error. */
static void
job_work(struct db_conn *c, void *arg)
{
	struct rt_job *j = arg;
	struct ticket_actor actor = {.agent_id = 0, .role = ROLE_SERVICE};
	struct ticket_change ch;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	snprintf(actor.user, sizeof actor.user, "router");
	j->rc = -1;
	if (m == NULL)
		return;
	for (int attempt = 0; attempt < 3; attempt++) {
		MYSQL_BIND p[1];
		json_t *row = NULL;
		uint64_t id = j->ticket;
		int rc;

		bind_u64(&p[0], &id);
		rc = ticket_query_one(m, "SELECT version FROM tickets WHERE id = ?", p, &row,
		                      j->err, sizeof j->err);
		if (rc < 0)
			return;
		if (rc == 0) {
			j->rc = 0;
			j->res.code = CC_ERR_NOT_FOUND;
			return;
		}
		memset(&ch, 0, sizeof ch);
		ch.key.id = j->ticket;
		ch.version = (unsigned int)jint(row, "version");
		ch.action = j->act.action;
		if (j->act.action == TA_OFFER)
			snprintf(ch.agent, sizeof ch.agent, "%s", j->agent_user);
		json_decref(row);
		json_decref(j->res.reply);
		j->res.reply = NULL;
		j->rc = store_ticket_transition(m, &actor, &ch, j->now_ms, &j->res, j->err,
		                                sizeof j->err);
		if (j->rc < 0 || j->res.code != CC_ERR_CONFLICT ||
		    strstr(j->res.msg, "version") == NULL)
			break;
	}
	if (j->rc < 0)
		db_conn_failed(c, store_errno());
}

static void ticket_next(struct router *rt, struct rt_ticket *t);

/* loop: the write is back. */
static void
job_done(void *arg)
{
	struct rt_job *j = arg;
	struct router *rt = j->rt;
	struct rt_ticket *t;
	json_t *ticket = json_object_get(j->res.reply, "ticket");

	if (rt->srv->sla != NULL && j->rc == 0 && j->res.code == CC_OK && j->res.sla_ticket)
		sla_run_arm(rt->srv, j->res.sla_ticket, j->res.sla_wake_ms);
	if (j->rc < 0) {
		log_error("router",
		          "msg=\"ticket write failed\" ticket=%llu action=%s error=\"%s\"",
		          (unsigned long long)j->ticket, ticket_action_name(j->act.action), j->err);
		/* the ticket stays as it was: an offer never sent runs out by its timer */
	} else if (j->res.code != CC_OK) {
		log_info("router", "msg=\"ticket moved on\" ticket=%llu action=%s why=\"%s\"",
		         (unsigned long long)j->ticket, ticket_action_name(j->act.action),
		         j->res.msg);
	} else {
		/* the core decided this write: it is already in line with it */
		struct rt_agent *a = agent_by_id(rt, j->act.agent);
		if (j->act.action == TA_OFFER && a != NULL && a->s != NULL &&
		    a->s->state == SESSION_OPEN) {
			struct route_item_info info;
			json_t *ev = proto_event("offer");
			json_object_set(ev, "ticket", ticket);
			json_object_set_new(ev, "expires_at", json_integer(j->act.until));
			if (route_item_info(rt->core, j->ticket, j->now_ms, &info) == ROUTE_OK)
				json_object_set_new(ev, "level", json_integer(info.level));
			session_send(a->s, ev);
			if (jint(ticket, "customer_id") > 0)
				customer_pop_send(a->s, (uint64_t)jint(ticket, "customer_id"),
				                  j->ticket);
			rt->offers++;
		} else if (j->act.action == TA_TIMEOUT) {
			rt->timeouts++;
			if (a != NULL && a->s != NULL && a->s->state == SESSION_OPEN) {
				json_t *ev = proto_event("offer.retracted");
				json_object_set_new(ev, "ticket", json_string(jstr(ticket, "ref")));
				session_send(a->s, ev);
			}
		}
	}
	HASH_FIND(hh, rt->tickets, &j->ticket, sizeof j->ticket, t);
	json_decref(j->res.reply);
	free(j);
	if (t != NULL) {
		t->busy = 0;
		ticket_next(rt, t);
	}
	router_run(rt);
}

/* Start the ticket's next waiting write, or forget the ticket. */
static void
ticket_next(struct router *rt, struct rt_ticket *t)
{
	struct rt_job *j;
	struct rt_agent *a;

	if (t->busy)
		return;
	if (t->n == 0) {
		HASH_DEL(rt->tickets, t);
		free(t);
		return;
	}
	if ((j = calloc(1, sizeof *j)) == NULL)
		abort();
	j->rt = rt;
	j->ticket = t->id;
	j->act = t->q[0];
	j->now_ms = now_ms();
	memmove(t->q, t->q + 1, --t->n * sizeof t->q[0]);
	if ((a = agent_by_id(rt, j->act.agent)) != NULL)
		snprintf(j->agent_user, sizeof j->agent_user, "%s", a->user);
	t->busy = 1;
	if (db_pool_submit(rt->srv->db, job_work, job_done, j) != 0) {
		/* the pool is full: the offer is never sent and runs out */
		log_warn("router", "msg=\"ticket write not queued\" ticket=%llu",
		         (unsigned long long)t->id);
		t->busy = 0;
		free(j);
	}
}

static void
ticket_write(struct router *rt, uint64_t id, enum ticket_action action, uint32_t agent,
             int64_t until)
{
	struct rt_ticket *t;

	HASH_FIND(hh, rt->tickets, &id, sizeof id, t);
	if (t == NULL) {
		if ((t = calloc(1, sizeof *t)) == NULL)
			abort();
		t->id = id;
		HASH_ADD(hh, rt->tickets, id, sizeof t->id, t);
	}
	if (t->n == ROUTER_ACTIONS) {
		log_warn("router", "msg=\"too many writes waiting\" ticket=%llu",
		         (unsigned long long)id);
		return;
	}
	t->q[t->n++] = (struct rt_action){action, agent, until};
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
			ticket_write(rt, d.item, TA_OFFER, d.agent, d.at_ms);
			break;
		case ROUTE_DO_RETRACT:
			ticket_write(rt, d.item, TA_TIMEOUT, d.agent, 0);
			break;
		case ROUTE_DO_PAUSE:
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
			break;
		}
	}
	timer_arm(rt);
}

/* --- ticket changes --- */

void
router_ticket_changed(struct server *srv, const json_t *t)
{
	struct router *rt = srv->router;
	struct route_item_info info;
	struct route_item_in in;
	struct rt_agent *owner;
	const char *state;
	uint64_t id;
	int64_t now = now_ms();
	int known, ts;

	if (rt == NULL || !json_is_object(t))
		return;
	id = (uint64_t)jint(t, "id");
	state = jstr(t, "state");
	/* a whole ticket object only (some replies carry a brief one) */
	if (id == 0 || state == NULL || (ts = ticket_state_parse(state)) < 0 ||
	    json_object_get(t, "owner") == NULL || json_object_get(t, "queue") == NULL)
		return;
	owner = agent_by_user(rt, jstr(t, "owner"));
	known = route_item_info(rt->core, id, now, &info) == ROUTE_OK;
	switch (ts) {
	case TS_QUEUED: {
		struct rt_ticket *w;
		HASH_FIND(hh, rt->tickets, &id, sizeof id, w);
		if (known && info.state == ROUTE_ITEM_OFFERED && w == NULL) {
			/* the offered agent declined: back in line */
			route_offer_decline(rt->core, id, now);
		} else if (known && info.state == ROUTE_ITEM_OFFERED) {
			/* the router's own writes for this ticket are on their way
			 * (an offer ran out and went to someone else): the core is
			 * ahead of the database, and those writes settle it */
		} else if (known && info.state == ROUTE_ITEM_ASSIGNED) {
			/* sent back to a queue: done with that agent, new in line */
			route_item_done(rt->core, id, now);
			known = 0;
		} else if (known && item_from_ticket(rt, t, &in) == 0 && in.queue != info.queue) {
			/* moved to another queue while waiting */
			route_item_remove(rt->core, id, now);
			known = 0;
		}
		if (!known && item_from_ticket(rt, t, &in) == 0 &&
		    route_item_add(rt->core, &in, now) == ROUTE_OK && jint(t, "severity") == 4 &&
		    jstr(t, "kind") && strcmp(jstr(t, "kind"), "complaint") == 0) {
			/* a critical complaint: every supervisor hears of it at once */
			json_t *ev = proto_event("complaint.critical");
			json_object_set_new(ev, "ticket", json_string(jstr(t, "ref")));
			json_object_set_new(ev, "queue", json_string(jstr(t, "queue")));
			json_object_set(ev, "site", json_object_get(t, "site"));
			json_object_set(ev, "subject", json_object_get(t, "subject"));
			session_broadcast(srv, ROLE_SUPERVISOR, 0, ev);
		}
		break;
	}
	case TS_OFFERED:
	case TS_IN_PROGRESS:
	case TS_PENDING_CUSTOMER:
		if (owner == NULL) {
			if (known)
				route_item_remove(rt->core, id, now);
			break;
		}
		if (known && info.agent == owner->id &&
		    (info.state == ROUTE_ITEM_ASSIGNED ||
		     (ts == TS_OFFERED && info.state == ROUTE_ITEM_OFFERED)))
			break;
		if (known && info.state == ROUTE_ITEM_OFFERED && info.agent == owner->id) {
			route_offer_accept(rt->core, id, now);
			break;
		}
		if (item_from_ticket(rt, t, &in) == 0 || known)
			route_item_assign(rt->core, id, owner->id, known ? NULL : &in, now);
		break;
	default: /* new, resolved, closed */
		if (known && info.state == ROUTE_ITEM_ASSIGNED)
			route_item_done(rt->core, id, now);
		else if (known)
			route_item_remove(rt->core, id, now);
		break;
	}
	router_run(rt);
}

/* --- agents --- */

int
router_agent_ready(struct server *srv, struct session *s, char *msg, size_t len)
{
	struct router *rt = srv->router;
	struct rt_agent *a = rt ? agent_by_id(rt, s->agent.id) : NULL;

	if (a == NULL) {
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
	a->s = s;
	route_agent_pause(rt->core, a->id, reason, now_ms());
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
	struct rt_agent *a = rt && s->logged_in ? agent_by_id(rt, s->agent.id) : NULL;

	if (a == NULL || a->s != s)
		return;
	a->s = NULL;
	route_agent_offline(rt->core, a->id, now_ms());
	log_info("router", "msg=\"agent offline\" user=%s", a->user);
	router_run(rt);
}

/* --- start-up --- */

/* Run a fixed query (no values in it) and call row() for each row. */
static int
load_rows(MYSQL *m, const char *sql, void (*row)(struct router *, MYSQL_ROW), struct router *rt,
          char *err, size_t errlen)
{
	MYSQL_RES *res;
	MYSQL_ROW r;

	if (mysql_query(m, sql) != 0 || (res = mysql_store_result(m)) == NULL) {
		snprintf(err, errlen, "%s", mysql_error(m));
		return -1;
	}
	while ((r = mysql_fetch_row(res)) != NULL)
		row(rt, r);
	mysql_free_result(res);
	return 0;
}

static int64_t
col_int(MYSQL_ROW r, int i)
{
	return r[i] ? strtoll(r[i], NULL, 10) : 0;
}

static void
load_site(struct router *rt, MYSQL_ROW r)
{
	struct rt_site *s = calloc(1, sizeof *s);

	if (s == NULL)
		abort();
	s->id = (uint16_t)col_int(r, 0);
	snprintf(s->code, sizeof s->code, "%s", r[1]);
	HASH_ADD_KEYPTR(hh_code, rt->sites, s->code, strlen(s->code), s);
}

static void
load_queue(struct router *rt, MYSQL_ROW r)
{
	struct rt_queue *q = calloc(1, sizeof *q);
	struct route_queue_cfg c = {0};
	int s;

	if (q == NULL)
		abort();
	q->id = (uint32_t)col_int(r, 0);
	snprintf(q->code, sizeof q->code, "%s", r[1]);
	HASH_ADD(hh, rt->queues, id, sizeof q->id, q);
	HASH_ADD_KEYPTR(hh_code, rt->queues_by_code, q->code, strlen(q->code), q);
	c.id = q->id;
	c.strategy =
	    (s = route_strategy_parse(r[2])) < 0 ? ROUTE_LONGEST_IDLE : (enum route_strategy)s;
	c.relax_ms = col_int(r, 3) * 1000;
	c.overflow_ms = col_int(r, 4) * 1000;
	c.ewt_overflow_ms = col_int(r, 5) * 1000;
	c.offer_ms = col_int(r, 6) * 1000;
	c.wrapup_ms = col_int(r, 7) * 1000;
	c.sticky_ms = col_int(r, 8) * 1000;
	c.aht_ms = col_int(r, 9) * 1000;
	c.max_misses = (int)col_int(r, 10);
	route_queue_set(rt->core, &c);
}

static void
load_queue_skill(struct router *rt, MYSQL_ROW r)
{
	uint32_t id = (uint32_t)col_int(r, 0);
	struct rt_queue *q;

	HASH_FIND(hh, rt->queues, &id, sizeof id, q);
	if (q == NULL || q->nreq == ROUTE_MAX_REQ)
		return;
	q->req[q->nreq].skill = (uint16_t)col_int(r, 1);
	q->req[q->nreq].prof = (uint8_t)col_int(r, 2);
	q->nreq++;
}

/* Agents are read in one pass with their skills and queues: the rows come
 * ordered by agent, and an agent's configuration is complete when the next
 * agent starts. */
struct agent_load {
	struct route_agent_cfg cfg;
	int open;
};
static struct agent_load pending_agent;

static void
agent_flush(struct router *rt)
{
	if (pending_agent.open)
		route_agent_set(rt->core, &pending_agent.cfg, now_ms());
	pending_agent.open = 0;
}

static void
load_agent(struct router *rt, MYSQL_ROW r)
{
	struct rt_agent *a = calloc(1, sizeof *a);

	if (a == NULL)
		abort();
	a->id = (uint32_t)col_int(r, 0);
	snprintf(a->user, sizeof a->user, "%s", r[1]);
	HASH_ADD(hh, rt->agents, id, sizeof a->id, a);
	HASH_ADD_KEYPTR(hh_user, rt->agents_by_user, a->user, strlen(a->user), a);
}

static void
load_agent_cfg(struct router *rt, MYSQL_ROW r)
{
	uint32_t id = (uint32_t)col_int(r, 0);
	struct route_agent_cfg *c = &pending_agent.cfg;

	if (!pending_agent.open || c->id != id) {
		agent_flush(rt);
		memset(c, 0, sizeof *c);
		c->id = id;
		c->site = (uint16_t)col_int(r, 1);
		c->capacity[ROUTE_VOICE] = (int)col_int(r, 2);
		c->capacity[ROUTE_ASYNC] = (int)col_int(r, 3);
		pending_agent.open = 1;
	}
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
load_level_skill(struct router *rt, MYSQL_ROW r)
{
	/* complaint.l1 .. complaint.l4 */
	int level = r[1][strlen("complaint.l")] - '0';

	if (level >= 1 && level <= 4 && r[1][strlen("complaint.l") + 1] == '\0')
		rt->level_skill[level] = (uint16_t)col_int(r, 0);
}

static void
load_reason(struct router *rt, MYSQL_ROW r)
{
	struct rt_reason *x = calloc(1, sizeof *x);

	if (x == NULL)
		abort();
	snprintf(x->code, sizeof x->code, "%s", r[0]);
	HASH_ADD_STR(rt->reasons, code, x);
}

/* Work in line at start: queued tickets, with their original enqueue time.
 * Offers left open by an earlier run were taken back before this. */
static void
load_waiting(struct router *rt, MYSQL_ROW r)
{
	json_t *t =
	    json_pack("{s:I,s:s,s:s?,s:s?,s:s,s:I,s:I}", "id", (json_int_t)col_int(r, 0), "queue",
	              r[1], "site", r[2], "owning_site", r[3], "channel", r[4], "priority",
	              (json_int_t)col_int(r, 5), "enqueued_at", (json_int_t)col_int(r, 6));
	struct route_item_in in;

	if (t != NULL && item_from_ticket(rt, t, &in) == 0)
		route_item_add(rt->core, &in, now_ms());
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

int
router_start(struct server *srv, char *err, size_t errlen)
{
	struct db_params p;
	struct router *rt = calloc(1, sizeof *rt);
	char why[256];
	MYSQL *m;
	int rc;

	if (rt == NULL || (rt->core = route_new(NULL)) == NULL)
		abort();
	rt->srv = srv;
	rt->armed = INT64_MAX;
	rt->timer = evtimer_new(srv->base, timer_cb, rt);
	srv->router = rt;
	config_db_params(&srv->cfg, &p);
	if ((m = db_connect(&p, why, sizeof why)) == NULL) {
		snprintf(err, errlen, "router: cannot reach the database: %s", why);
		return -1;
	}
	rc = load_rows(m, "SELECT id, code FROM sites", load_site, rt, why, sizeof why);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT id, code, strategy, relax_seconds, overflow_seconds, "
		               "ewt_overflow_seconds, offer_seconds, wrapup_seconds, "
		               "sticky_seconds, aht_seconds, max_misses FROM queues",
		               load_queue, rt, why, sizeof why);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT queue_id, skill_id, min_proficiency FROM queue_skills "
		               "ORDER BY queue_id, skill_id",
		               load_queue_skill, rt, why, sizeof why);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT id, username FROM agents WHERE active = 1 AND role IN "
		               "('agent', 'supervisor')",
		               load_agent, rt, why, sizeof why);
	/* an agent without agent_queues rows serves its site's queues and the
	 * queues of every site */
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT a.id, COALESCE(a.site_id, 0), a.voice_capacity, "
		               "a.async_capacity, s.skill_id, s.proficiency, "
		               "COALESCE(aq.queue_id, q.id) FROM agents a "
		               "LEFT JOIN agent_skills s ON s.agent_id = a.id "
		               "LEFT JOIN agent_queues aq ON aq.agent_id = a.id "
		               "LEFT JOIN queues q ON aq.agent_id IS NULL AND "
		               "NOT EXISTS (SELECT 1 FROM agent_queues x WHERE x.agent_id = a.id) "
		               "AND (q.site_id IS NULL OR q.site_id = a.site_id) "
		               "WHERE a.active = 1 AND a.role IN ('agent', 'supervisor') "
		               "ORDER BY a.id",
		               load_agent_cfg, rt, why, sizeof why);
	agent_flush(rt);
	if (rc == 0)
		rc = load_rows(m, "SELECT code FROM pause_reasons WHERE selectable = 1",
		               load_reason, rt, why, sizeof why);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT id, code FROM skills WHERE code LIKE 'complaint.l_' "
		               "AND kind = 'level'",
		               load_level_skill, rt, why, sizeof why);
	if (rc == 0)
		rc = offers_take_back(rt, m, why, sizeof why);
	if (rc == 0)
		rc = load_rows(m,
		               "SELECT t.id, q.code, s.code, o.code, t.channel, t.priority, "
		               "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.enqueued_at) DIV 1000, "
		               "t.kind, t.severity "
		               "FROM tickets t JOIN queues q ON q.id = t.queue_id "
		               "LEFT JOIN sites s ON s.id = t.site_id "
		               "JOIN sites o ON o.id = t.owning_site_id "
		               "WHERE t.state = 'queued' ORDER BY t.enqueued_at",
		               load_waiting, rt, why, sizeof why);
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

void
router_stop(struct server *srv)
{
	struct router *rt = srv->router;
	struct rt_queue *q, *tq;
	struct rt_site *s, *ts;
	struct rt_agent *a, *ta;
	struct rt_reason *r, *tr;
	struct rt_ticket *t, *tt;

	if (rt == NULL)
		return;
	if (rt->timer)
		event_free(rt->timer);
	HASH_ITER(hh, rt->tickets, t, tt)
	{
		HASH_DEL(rt->tickets, t);
		free(t);
	}
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
}
