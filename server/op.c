/* op.c: the op table: one row per protocol op with who may call it. The
 * table is the single source for dispatch, for `hello`'s op list and for
 * docs/PROTOCOL.md. */
#include <string.h>

#include "proto.h"
#include "server.h"

static const struct op op_table[] = {
    {"hello", 1, ROLE_ANY, op_hello, "server version, protocol version and ops"},
    {"ping", 1, ROLE_ANY, op_ping, "liveness check; returns server time"},
    {"login", 1, ROLE_ANY, op_login, "log in with user and password, or a resume token"},
    {"logout", 0, ROLE_ANY, op_logout, "revoke the session's resume token"},
    {"whoami", 0, ROLE_ANY, op_whoami, "the logged-in agent and the connection"},
    /* tickets: op-ticket.c */
    {"ticket.create", 0, ROLE_ANY, op_ticket_create, "log a call, complaint or inquiry"},
    {"ticket.show", 0, ROLE_ANY, op_ticket_show, "a ticket with its notes and history"},
    {"ticket.list", 0, ROLE_ANY, op_ticket_list, "tickets by owner, queue or state, by page"},
    {"ticket.note", 0, ROLE_ANY, op_ticket_note, "add an internal or customer-visible note"},
    {"ticket.transition", 0, ROLE_ANY, op_ticket_transition,
     "move a ticket through its states (see the state table)"},
    {"ticket.update", 0, ROLE_ANY, op_ticket_update,
     "change a ticket's subject, kind, severity, priority, language, customer or order"},
    {"ticket.transfer", 0, ROLE_ANY, op_ticket_transfer,
     "hand a ticket to another queue, agent or site"},
    {"ticket.resolve", 0, ROLE_ANY, op_ticket_resolve,
     "resolve a ticket with a resolution code and summary"},
    {"ticket.reopen", 0, ROLE_ANY, op_ticket_reopen,
     "reopen a resolved or closed ticket (after the window: a linked follow-up)"},
    /* links and merges: op-link.c */
    {"ticket.link", 0, ROLE_ANY, op_ticket_link, "relate two tickets (shown on both)"},
    {"ticket.unlink", 0, ROLE_ANY, op_ticket_unlink, "remove a relation between two tickets"},
    {"ticket.merge", 0, ROLE_ANY, op_ticket_merge,
     "merge a duplicate ticket into another (reversible)"},
    {"ticket.unmerge", 0, ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN, op_ticket_unmerge,
     "undo a ticket merge"},
    /* routing: op-agent.c */
    {"agent.ready", 0, ROLE_AGENT | ROLE_SUPERVISOR, op_agent_ready,
     "take routed work (calls and tickets are offered to you)"},
    {"agent.pause", 0, ROLE_AGENT | ROLE_SUPERVISOR, op_agent_pause,
     "stop taking routed work, with a reason"},
    {"agent.status", 0, ROLE_ANY, op_agent_status,
     "your routing state, load and the pause reasons"},
    {"agent.set", 0, ROLE_SUPERVISOR | ROLE_ADMIN, op_agent_set,
     "a supervisor sets another agent ready or paused"},
    {"agent.broadcast", 0, ROLE_SUPERVISOR | ROLE_ADMIN, op_agent_broadcast,
     "a message from a supervisor to the agents of a site or a queue"},
    {"queue.items", 0, ROLE_SUPERVISOR | ROLE_ADMIN, op_queue_items,
     "the tickets of a queue in line or offered, in the line's order"},
    {"offer.accept", 0, ROLE_AGENT | ROLE_SUPERVISOR, op_offer_accept,
     "take the ticket you were offered"},
    {"offer.decline", 0, ROLE_AGENT | ROLE_SUPERVISOR, op_offer_decline,
     "refuse the ticket you were offered; it goes to the next agent"},
    {"queue.set", 0, ROLE_ADMIN, op_queue_set,
     "change a queue's routing policy (strategy, steps, offer, wrap-up, sticky, misses)"},
    {"route.reload", 0, ROLE_ADMIN, op_route_reload,
     "read queues, agents, skills and pause reasons again, without a restart"},
    /* calls from the phone system: op-call.c */
    {"call.arrive", 0, ROLE_SERVICE, op_call_arrive,
     "a call arrived: its ticket joins the queue of the dialled number and IVR choice"},
    {"call.answer", 0, ROLE_SERVICE, op_call_answer, "the offered agent picked the call up"},
    {"call.end", 0, ROLE_SERVICE, op_call_end,
     "the call ended: the agent wraps up and is free for the next call"},
    {"call.abandon", 0, ROLE_SERVICE, op_call_abandon, "the caller hung up while waiting"},
    {"callback.request", 0, ROLE_SERVICE, op_callback_request,
     "the caller asked to be called back: the ticket keeps its place in line"},
    {"queue.estimate", 0, ROLE_SERVICE | ROLE_SUPERVISOR | ROLE_ADMIN, op_queue_estimate,
     "the estimated wait for new work in a queue"},
    {"ticket.wait", 0, ROLE_SERVICE | ROLE_SUPERVISOR | ROLE_ADMIN, op_ticket_wait,
     "a waiting ticket's place in line and estimated wait"},
    /* live queue statistics: op-stats.c */
    {"queue.stats", 0, ROLE_SUPERVISOR | ROLE_ADMIN, op_queue_stats,
     "today's figures of every queue, a site or one queue (SL, ASA, abandons, agents)"},
    {"stats.subscribe", 0, ROLE_SUPERVISOR | ROLE_ADMIN, op_stats_subscribe,
     "receive \"stats\" events with the figures that changed, at most once a second"},
    {"stats.unsubscribe", 0, ROLE_SUPERVISOR | ROLE_ADMIN, op_stats_unsubscribe,
     "stop the \"stats\" events"},
    {"stats.report", 0, ROLE_SUPERVISOR | ROLE_ADMIN, op_stats_report,
     "figures of earlier days by queue, site, agent, day or interval, from the rollups"},
    /* compensations and follow-ups: op-care.c */
    {"compensation.request", 0, ROLE_ANY, op_compensation_request,
     "request a refund, coupon, gift, apology letter or exchange for a ticket"},
    {"compensation.approve", 0, ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN, op_compensation_approve,
     "approve or reject someone else's request, within the role's limit"},
    {"compensation.issue", 0, ROLE_SUPERVISOR | ROLE_ADMIN | ROLE_SERVICE, op_compensation_issue,
     "mark an approved compensation as issued"},
    {"followup.schedule", 0, ROLE_ANY, op_followup_schedule,
     "schedule a call-back or care contact for a ticket or customer"},
    {"followup.done", 0, ROLE_ANY, op_followup_done, "record a follow-up's outcome"},
    /* customers: op-customer.c */
    {"customer.search", 0, ROLE_ANY, op_customer_search,
     "find customers by phone, e-mail, name, member id or order id"},
    {"customer.show", 0, ROLE_ANY, op_customer_show,
     "the customer's full history: profile, value, tickets, compensations"},
    {"customer.merge", 0, ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN, op_customer_merge,
     "merge a duplicate customer into another (reversible)"},
    {"customer.unmerge", 0, ROLE_SUPERVISOR | ROLE_ADMIN, op_customer_unmerge,
     "undo a customer merge"},
    {"complaint.file", 0, ROLE_SERVICE, op_complaint_file,
     "file a complaint from the public web form or the API"},
    {"complaint.status", 0, ROLE_SERVICE | ROLE_ADMIN, op_complaint_status,
     "a complaint as its customer may see it (reference and token)"},
    {"complaint.csat", 0, ROLE_SERVICE, op_complaint_csat,
     "the customer's rating of a resolved complaint"},
    {"order.upsert", 0, ROLE_SERVICE | ROLE_ADMIN, op_order_upsert,
     "an order from the shop's feed, for RFM and the 360 view"},
};

unsigned
role_parse(const char *name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} roles[] = {{"agent", ROLE_AGENT},
	             {"supervisor", ROLE_SUPERVISOR},
	             {"admin", ROLE_ADMIN},
	             {"service", ROLE_SERVICE}};

	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(name, roles[i].name) == 0)
			return roles[i].bit;
	return 0;
}

/* May s call op now? */
static int
op_allowed(const struct session *s, const struct op *op)
{
	if (op->public)
		return 1;
	return s->logged_in && (op->roles & s->agent.role);
}

json_t *
op_names(const struct session *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++)
		if (op_table[i].public || !s->logged_in || op_allowed(s, &op_table[i]))
			json_array_append_new(a, json_string(op_table[i].name));
	return a;
}

void
op_dispatch(struct session *s, json_int_t id, const char *name, json_t *req)
{
	char msg[128];

	for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++) {
		const struct op *op = &op_table[i];
		if (strcmp(op->name, name) != 0)
			continue;
		if (!op->public && !s->logged_in) {
			session_reply_error(s, id, CC_ERR_UNAUTHORIZED, "log in first");
			return;
		}
		if (!op_allowed(s, op)) {
			snprintf(msg, sizeof msg, "role %s may not call %s", s->agent.role_name,
			         name);
			session_reply_error(s, id, CC_ERR_FORBIDDEN, msg);
			return;
		}
		op->fn(s, id, req);
		return;
	}
	snprintf(msg, sizeof msg, "unknown op '%s'; 'hello' lists the ops", name);
	session_reply_error(s, id, CC_ERR_BAD_REQUEST, msg);
}

const char *
op_arg_string(struct session *s, json_int_t id, json_t *req, const char *key, size_t max)
{
	json_t *v = json_object_get(req, key);
	char msg[128];

	if (!json_is_string(v)) {
		snprintf(msg, sizeof msg, "argument \"%s\" must be a string", key);
		session_reply_error(s, id, CC_ERR_BAD_REQUEST, msg);
		return NULL;
	}
	if (json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(msg, sizeof msg, "argument \"%s\" must be 1 to %zu bytes without NUL", key,
		         max);
		session_reply_error(
		    s, id, json_string_length(v) > max ? CC_ERR_TOO_LARGE : CC_ERR_BAD_REQUEST,
		    msg);
		return NULL;
	}
	return json_string_value(v);
}
