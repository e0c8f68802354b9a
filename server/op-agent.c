/* op-agent.c: agent.ready, agent.pause, agent.status, offer.accept and
 * offer.decline: an agent's side of routing (router.h); agent.set and
 * agent.broadcast, a supervisor's; queue.items, a queue's live line;
 * queue.set and route.reload, an admin's.
 *
 * Ready and pause change the router's state on the loop at once. Accepting
 * or declining an offer is the ticket's accept or decline transition, made
 * against the ticket's current version (the agent answers an offer, not a
 * version it read); the router follows the committed change like any other
 * ticket write. */
#include <stddef.h>
#include <string.h>

#include "log.h"
#include "op-args.h"
#include "op-job.h"
#include "proto.h"
#include "route.h"
#include "router.h"
#include "server.h"
#include "store-ticket.h"
#include "store.h"

void
op_agent_ready(struct session *s, json_int_t id, json_t *req)
{
	char msg[160];

	(void)req;
	if (router_agent_ready(s->srv, s, msg, sizeof msg) != 0) {
		session_reply_error(s, id, CC_ERR_CONFLICT, msg);
		return;
	}
	json_t *r = proto_reply_ok(id);
	json_object_update_new(r, router_agent_status(s->srv, s));
	session_send(s, r);
}

void
op_agent_pause(struct session *s, json_int_t id, json_t *req)
{
	char reason[ROUTE_REASON_MAX + 1], msg[160];

	if (arg_text(s, id, req, "reason", ROUTE_REASON_MAX, ARG_BYTES, reason, sizeof reason) < 0)
		return;
	if (strcmp(reason, "missed") == 0) {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, "reason",
		           "'missed' is given by the router, not chosen");
		return;
	}
	if (router_agent_pause(s->srv, s, reason, msg, sizeof msg) != 0) {
		session_reply_error(s, id, CC_ERR_BAD_REQUEST, msg);
		return;
	}
	json_t *r = proto_reply_ok(id);
	json_object_update_new(r, router_agent_status(s->srv, s));
	session_send(s, r);
}

void
op_agent_status(struct session *s, json_int_t id, json_t *req)
{
	json_t *r = proto_reply_ok(id);

	(void)req;
	json_object_update_new(r, router_agent_status(s->srv, s));
	session_send(s, r);
}

/* The logged-in session of user to act on: the one routing takes work
 * on, else the newest open one; NULL when the user is not logged in. */
static struct session *
agent_session(struct server *srv, const char *user)
{
	struct session *t, *found = NULL;

	TAILQ_FOREACH(t, &srv->sessions, entry)
	{
		if (t->state != SESSION_OPEN || !t->logged_in || strcmp(t->agent.user, user) != 0)
			continue;
		found = t;
		if (router_agent_routed(srv, t))
			return t;
	}
	return found;
}

void
op_agent_set(struct session *s, json_int_t id, json_t *req)
{
	static const char *const states[] = {"ready", "paused", NULL};
	char user[257], state[8], reason[ROUTE_REASON_MAX + 1] = "", msg[160];
	struct session *t;
	json_t *ev, *r;
	int rc;

	if (arg_text(s, id, req, "agent", 256, ARG_BYTES, user, sizeof user) < 0 ||
	    arg_enum(s, id, req, "state", 0, states, "ready, paused", state, sizeof state) < 0 ||
	    (rc = arg_text(s, id, req, "reason", ROUTE_REASON_MAX, ARG_OPTIONAL | ARG_BYTES, reason,
	                   sizeof reason)) < 0)
		return;
	if (strcmp(state, "paused") == 0 && rc == 0) {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, "reason", "is required to pause an agent");
		return;
	}
	if (strcmp(reason, "missed") == 0) {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, "reason",
		           "'missed' is given by the router, not chosen");
		return;
	}
	/* a supervisor of a site acts on that site's agents only; one not
	 * logged in is not_found either way, so nothing leaks */
	if ((t = agent_session(s->srv, user)) == NULL ||
	    (s->agent.role != ROLE_ADMIN && s->agent.site_id != 0 &&
	     t->agent.site_id != s->agent.site_id)) {
		session_reply_error(s, id, CC_ERR_NOT_FOUND,
		                    "no such agent logged in at your site");
		return;
	}
	if (t->agent.role != ROLE_AGENT && t->agent.role != ROLE_SUPERVISOR) {
		session_reply_error(s, id, CC_ERR_CONFLICT, "that user takes no routed work");
		return;
	}
	rc = strcmp(state, "ready") == 0 ? router_agent_ready(s->srv, t, msg, sizeof msg)
	                                 : router_agent_pause(s->srv, t, reason, msg, sizeof msg);
	if (rc != 0) {
		session_reply_error(s, id, CC_ERR_CONFLICT, msg);
		return;
	}
	log_info("router", "msg=\"agent state set\" by=%s user=%s state=%s reason=%s",
	         s->agent.user, t->agent.user, state, reason[0] ? reason : "-");
	ev =
	    json_pack("{s:s,s:s,s:s}", "event", "agent.state", "state", state, "by", s->agent.user);
	if (reason[0])
		json_object_set_new(ev, "reason", json_string(reason));
	session_send(t, ev);
	r = proto_reply_ok(id);
	json_object_set_new(r, "agent", json_string(t->agent.user));
	json_object_update_new(r, router_agent_status(s->srv, t));
	session_send(s, r);
}

/* The most a broadcast may say, in characters. */
#define BROADCAST_MAX 500

void
op_agent_broadcast(struct session *s, json_int_t id, json_t *req)
{
	char site[65] = "", queue[65] = "", message[BROADCAST_MAX * 4 + 1], msg[160];
	unsigned delivered = 0;
	uint32_t qsite;
	struct session *t, *next;
	json_t *ev, *r;
	int rc, rq;

	if ((rc = arg_text(s, id, req, "site", 64, ARG_OPTIONAL | ARG_BYTES, site, sizeof site)) <
	        0 ||
	    (rq = arg_text(s, id, req, "queue", 64, ARG_OPTIONAL | ARG_BYTES, queue,
	                   sizeof queue)) < 0 ||
	    arg_text(s, id, req, "message", BROADCAST_MAX, ARG_MULTILINE, message, sizeof message) <
	        0)
		return;
	if (rc == 1 && rq == 1) {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, "queue",
		           "and \"site\" exclude each other: a message goes to a site's agents "
		           "or to a queue's");
		return;
	}
	/* a queue the supervisor sees: of their site or of every site */
	if (rq == 1 && (router_queue_site(s->srv, queue, &qsite) != 0 ||
	                (s->agent.role != ROLE_ADMIN && s->agent.site_id != 0 && qsite != 0 &&
	                 qsite != s->agent.site_id))) {
		snprintf(msg, sizeof msg, "no queue %s", queue);
		session_reply_error_field(s, id, CC_ERR_NOT_FOUND, msg, "queue");
		return;
	}
	/* a supervisor of a site speaks to that site only */
	if (s->agent.role != ROLE_ADMIN && s->agent.site_id != 0) {
		if (rc == 1 && strcmp(site, s->agent.site) != 0) {
			session_reply_error(s, id, CC_ERR_NOT_FOUND, "no such site of yours");
			return;
		}
		snprintf(site, sizeof site, "%s", s->agent.site);
	}
	ev = json_pack("{s:s,s:s,s:s}", "event", "broadcast", "from", s->agent.user, "message",
	               message);
	json_object_set_new(ev, "site", site[0] ? json_string(site) : json_null());
	if (queue[0])
		json_object_set_new(ev, "queue", json_string(queue));
	/* session_send may close a slow consumer, never free it here */
	for (t = TAILQ_FIRST(&s->srv->sessions); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t == s || t->state != SESSION_OPEN || !t->logged_in ||
		    (t->agent.role != ROLE_AGENT && t->agent.role != ROLE_SUPERVISOR) ||
		    (site[0] && strcmp(t->agent.site, site) != 0) ||
		    (queue[0] && !router_agent_serves(s->srv, t->agent.id, queue)))
			continue;
		session_send(t, json_incref(ev));
		delivered++;
	}
	json_decref(ev);
	log_info("router", "msg=\"broadcast\" by=%s site=%s delivered=%u queue=%s chars=%zu",
	         s->agent.user, site[0] ? site : "*", delivered, queue[0] ? queue : "*",
	         strlen(message));
	r = proto_reply_ok(id);
	json_object_set_new(r, "delivered", json_integer(delivered));
	session_send(s, r);
}

struct answer_job {
	struct op_job base;
	struct ticket_key key;
	enum ticket_action action;
};

/* db worker: the transition on the ticket as it is (version 0). */
static int
run_answer(struct op_job *b, MYSQL *m)
{
	struct answer_job *j = (struct answer_job *)b;
	struct ticket_change c = {.key = j->key, .action = j->action};

	return store_ticket_transition(m, &b->actor, &c, b->now_ms, &b->res, b->err, sizeof b->err);
}

static void
answer(struct session *s, json_int_t id, json_t *req, const char *op, enum ticket_action action)
{
	struct answer_job *j = op_job_new(sizeof *j, s, id, "router", op, 1, run_answer);

	j->action = action;
	if (arg_ticket(s, id, req, 0, &j->key) < 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

void
op_offer_accept(struct session *s, json_int_t id, json_t *req)
{
	answer(s, id, req, "offer.accept", TA_ACCEPT);
}

void
op_offer_decline(struct session *s, json_int_t id, json_t *req)
{
	answer(s, id, req, "offer.decline", TA_DECLINE);
}

void
op_route_reload(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	router_reload(s, id);
}

/* queue.set's alert settings (docs/ROUTING.md, "Alerts"): alert_sl_below
 * (0..1 or null), alert_wait_above_seconds (1..86400 or null) and
 * alert_on_breach (true or false). 0 (*given counts them), or -1 refused. */
static int
queue_set_alerts(struct session *s, json_int_t id, json_t *req, struct queue_policy *p, int *given)
{
	json_t *v;

	p->alert_on_breach = -1;
	if ((v = json_object_get(req, "alert_sl_below")) != NULL) {
		if (!json_is_null(v) &&
		    (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1))
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "alert_sl_below",
			                  "must be a service level from 0 to 1, or null for none");
		p->alert_sl_given = 1;
		p->alert_sl_below = json_is_null(v) ? -1 : json_number_value(v);
		(*given)++;
	}
	if ((v = json_object_get(req, "alert_wait_above_seconds")) != NULL) {
		if (!json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 1 ||
		                         json_integer_value(v) > 86400))
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "alert_wait_above_seconds",
			                  "must be seconds from 1 to 86400, or null for none");
		p->alert_wait_given = 1;
		p->alert_wait_above = json_is_null(v) ? 0 : (int)json_integer_value(v);
		(*given)++;
	}
	if ((v = json_object_get(req, "alert_on_breach")) != NULL) {
		if (!json_is_boolean(v))
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "alert_on_breach",
			                  "must be true or false");
		p->alert_on_breach = json_is_true(v);
		(*given)++;
	}
	return 0;
}

void
op_queue_set(struct session *s, json_int_t id, json_t *req)
{
	static const char *const strategies[] = {"longest_idle",     "least_occupancy",
	                                         "best_proficiency", "round_robin",
	                                         "fewest_today",     NULL};
	static const struct {
		const char *key;
		json_int_t min, max;
		size_t off;
	} fields[] = {
	    {"relax_seconds", 0, 86400, offsetof(struct queue_policy, relax)},
	    {"overflow_seconds", 0, 86400, offsetof(struct queue_policy, overflow)},
	    {"ewt_overflow_seconds", 0, 86400, offsetof(struct queue_policy, ewt_overflow)},
	    {"offer_seconds", 1, 600, offsetof(struct queue_policy, offer)},
	    {"wrapup_seconds", 0, 3600, offsetof(struct queue_policy, wrapup)},
	    {"sticky_seconds", 0, 3600, offsetof(struct queue_policy, sticky)},
	    {"aht_seconds", 1, 86400, offsetof(struct queue_policy, aht)},
	    {"max_misses", 1, 20, offsetof(struct queue_policy, max_misses)},
	    {"short_abandon_seconds", 0, 600, offsetof(struct queue_policy, short_abandon)},
	};
	struct queue_policy p;
	int given = 0, rc;

	memset(&p, 0, sizeof p);
	if (arg_text(s, id, req, "queue", sizeof p.queue - 1, ARG_BYTES, p.queue, sizeof p.queue) <
	        0 ||
	    (rc = arg_enum(s, id, req, "strategy", ARG_OPTIONAL, strategies,
	                   "longest_idle, least_occupancy, best_proficiency, round_robin, "
	                   "fewest_today",
	                   p.strategy, sizeof p.strategy)) < 0)
		return;
	given += rc;
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		json_int_t v;
		int *dst = (int *)(void *)((char *)&p + fields[i].off);
		if ((rc = arg_int(s, id, req, fields[i].key, fields[i].min, fields[i].max, &v)) < 0)
			return;
		*dst = rc ? (int)v : -1;
		given += rc;
	}
	if (queue_set_alerts(s, id, req, &p, &given) < 0)
		return;
	if (given == 0) {
		session_reply_error(s, id, CC_ERR_BAD_REQUEST,
		                    "nothing to change: give strategy or one of the *_seconds "
		                    "settings, max_misses or an alert_* setting");
		return;
	}
	router_queue_set(s, id, &p);
}

/* queue.items: the most items one answer lists, and the default. */
#define QUEUE_ITEMS_MAX 500
#define QUEUE_ITEMS_DEF 50

void
op_queue_items(struct session *s, json_int_t id, json_t *req)
{
	char queue[65], msg[160];
	json_int_t limit = QUEUE_ITEMS_DEF, offset = 0;
	json_t *items, *r;

	if (arg_text(s, id, req, "queue", 64, ARG_BYTES, queue, sizeof queue) < 0 ||
	    arg_int(s, id, req, "limit", 1, QUEUE_ITEMS_MAX, &limit) < 0 ||
	    arg_int(s, id, req, "offset", 0, 1000000000, &offset) < 0)
		return;
	/* the live line, read on the loop: a supervisor of a site sees its
	 * site's queues and those of every site; another site's queue is one
	 * that does not exist */
	items =
	    router_queue_items(s->srv, queue, s->agent.role == ROLE_ADMIN ? 0 : s->agent.site_id,
	                       (size_t)offset, (size_t)limit);
	if (items == NULL) {
		snprintf(msg, sizeof msg, "no queue %s", queue);
		session_reply_error_field(s, id, CC_ERR_NOT_FOUND, msg, "queue");
		return;
	}
	r = proto_reply_ok(id);
	json_object_update_new(r, items);
	session_send(s, r);
}
