/* router.h: the routing core (route.h) on the event loop.
 *
 * The router feeds the core from what happens on the loop and carries out
 * its decisions:
 *
 * - A ticket write that commits tells router_ticket_changed the ticket's
 *   new state; the router brings the core in line (work joins the line when
 *   a ticket is queued, is assigned when an agent holds it, is done when
 *   it is resolved, closed or moved away).
 * - Agents say ready, pause or log off (op-agent.c); a session that ends
 *   takes its agent offline.
 * - An offer is written as the ticket's "offer" transition (by the router,
 *   as the service role), and only after that commits is it sent to the
 *   agent, with the customer's screen pop; an offer that runs out is
 *   written back as "timeout". The router runs at most one write at a time
 *   per ticket, in the order the core decided them.
 *
 * At start the router reads the queues, agents and skills, takes back
 * offers left open by an earlier run (written as "timeout"), and puts every
 * queued ticket back in line with its original enqueue time. */
#ifndef CC_ROUTER_H
#define CC_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct server;
struct session;

/* Load and build, over a connection of its own (blocking, at start-up, on
 * the loop thread). 0, or -1 with err. */
int router_start(struct server *srv, char *err, size_t errlen);
void router_stop(struct server *srv);
/* A ticket write committed; ticket is the reply's "ticket" object. */
void router_ticket_changed(struct server *srv, const json_t *ticket);
/* The agent who last served the customer of a ticket about to be queued
 * (a call from a known number): offered it first, within the queue's
 * sticky time. */
void router_hint_sticky(struct server *srv, uint64_t ticket_id, uint32_t agent);
/* The call of a ticket ended: its agent wraps up and is free for the next
 * call, while the ticket stays theirs to finish. */
void router_call_ended(struct server *srv, uint64_t ticket_id);
/* An SLA warning (breach 0) or breach of a ticket owned by site (a code):
 * counted in the statistics of the queue its work is in line or in hand
 * from (nothing when the router holds no work of it). */
void router_sla_event(struct server *srv, uint64_t ticket_id, const char *site, int breach);
/* "position" and "estimated_wait_ms" of waiting work, into out. */
void router_wait_info(struct server *srv, uint64_t ticket_id, json_t *out);
/* The estimated wait for new work in the queue of id queue (ms), or -1
 * when the router does not know it. */
int64_t router_queue_ewt(struct server *srv, uint32_t queue);
/* {"queue", "estimated_wait_ms"} for new work in queue, or NULL. */
json_t *router_queue_estimate(struct server *srv, const char *queue);
/* queue.items: the tickets of a queue in line or offered, in the line's
 * order, from offset, at most limit of them: {"queue", "site", "total",
 * "waiting", "offset", "next_offset", "items"}. NULL when there is no such
 * queue for fence (a site id: a queue of another site is not shown; 0:
 * every queue). */
json_t *router_queue_items(struct server *srv, const char *queue, uint32_t fence, size_t offset,
                           size_t limit);
/* The site (an id; 0: every site's) of a queue (a code): 0, or -1 when
 * the router knows no such queue. */
int router_queue_site(struct server *srv, const char *queue, uint32_t *site);
/* Whether the agent (agents.id) serves the queue (a code) in the set-up
 * last read. */
int router_agent_serves(struct server *srv, unsigned int agent, const char *queue);
/* The session of a logged-in agent ended. */
void router_session_closed(struct server *srv, struct session *s);

/* For op-agent.c: 0, or -1 with msg (an error code in *code). */
int router_agent_ready(struct server *srv, struct session *s, char *msg, size_t len);
int router_agent_pause(struct server *srv, struct session *s, const char *reason, char *msg,
                       size_t len);
/* queue.set: a queue's routing policy; fields < 0 (strategy "") are left
 * as they are. */
struct queue_policy {
	char queue[65];
	char strategy[24];
	int relax, overflow, ewt_overflow, offer, wrapup, sticky, aht, max_misses; /* seconds */
	/* alerts (stats-run.h): each given or not; a given NULL clears it */
	int alert_sl_given, alert_wait_given;
	double alert_sl_below; /* 0..1; < 0: none */
	int alert_wait_above;  /* seconds; 0: none */
	int alert_on_breach;   /* 0 or 1; -1: unchanged */
	int short_abandon;     /* seconds; -1: unchanged */
};
/* queue.set: write the policy, then read the set-up again and apply it
 * (as route.reload); the reply is the queue's policy. */
void router_queue_set(struct session *s, json_int_t id, const struct queue_policy *p);
/* route.reload: read the queues, agents, skills and pause reasons again
 * (on a worker) and apply them; waiting work and agents' states stay. */
void router_reload(struct session *s, json_int_t id);
/* The agent's routing state as a JSON object. */
json_t *router_agent_status(struct server *srv, struct session *s);
/* Whether s is the session routing takes the agent's work on. */
int router_agent_routed(struct server *srv, const struct session *s);

#endif
