/* stats-run.h: the statistics core (stats.h) on the event loop.
 *
 * One struct stats per server, next to the router's core. The router
 * tells it the sites, queues and agents it loads (at start, route.reload
 * and queue.set) and every event its core hears of (router.c); this module
 * keeps the names that go with the ids, resets each site's day at its
 * local midnight, answers queue.stats and pushes "stats" events to the
 * sessions that asked for them (op-stats.c), and writes the per-queue and
 * per-skill figures into /metrics.
 *
 * Rollups and alerts. At the end of each stats.rollup_seconds interval the
 * counters counted since the last write go to stats_intervals (one db
 * job); at start-up today's rows are seeded back into the core; queues'
 * alert thresholds are checked once a second (docs/ROUTING.md "Rollups",
 * "Alerts").
 *
 * Sites. Every figure belongs to a site; work and agents of no site (and
 * the home of a queue shared by every site) count in the site with the
 * lowest id, so overall is still the sum of the sites.
 *
 * Pushes. One timer for the whole server fires once a second while anyone
 * is subscribed: it reads the scopes changed since the last push once
 * (stats_changed), builds each changed scope's JSON once, and hands it to
 * the subscribers who may see that scope: those of every site, and those
 * of the scope's site. The cost grows with the changes and the events
 * sent, not with subscribers x queues.
 *
 * Lines. A picture or push that would not fit on one protocol line
 * (PROTO_MAX_LINE) goes out in parts, each a complete line for its scopes
 * with the same version and at, numbered part / parts (stats_parts_split
 * decides them from each scope's encoded size, measured once). A line
 * still over the limit is never sent cut: it is left out, logged and
 * counted in /metrics. The agents of queue.stats come in pages by user
 * name (stats_run_agents_page). */
#ifndef CC_STATS_RUN_H
#define CC_STATS_RUN_H

#include <stdint.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "route.h"
#include "stats.h"

struct server;
struct session;

/* Make the server's statistics (and its timers): 0, or -1. */
int stats_run_start(struct server *srv);
void stats_run_stop(struct server *srv);
/* The core, or NULL when statistics are not running. */
struct stats *stats_run_core(struct server *srv);

/* The set-up, from the router: a site with its IANA time zone (NULL or
 * unknown: UTC), a skill (its day is that of the site with the lowest
 * id), a queue with its own site (0: every site's), its service-level
 * threshold and its short-abandon threshold (0: none), an agent with its
 * site (0: none), the queues it serves and the skills it holds. Sites come
 * first, then skills, then queues, then agents. */
void stats_run_site(struct server *srv, uint32_t id, const char *code, const char *tz);
void stats_run_skill(struct server *srv, uint32_t id, const char *code);
void stats_run_queue(struct server *srv, uint32_t id, const char *code, uint32_t site,
                     int64_t sl_ms, int64_t short_ms);
void stats_run_agent(struct server *srv, uint32_t id, const char *user, uint32_t site,
                     const uint32_t *queues, unsigned n, const struct route_skill *skills,
                     unsigned nskills);
/* The skills of a work item's requirements that statistics know, as ids
 * for stats_item_queued and stats_item_transferred: how many. */
unsigned stats_run_item_skills(struct server *srv, const struct route_skill *req, unsigned n,
                               uint32_t out[ROUTE_MAX_REQ]);
/* A queue's alert thresholds (docs/ROUTING.md, "Alerts"): the service
 * level below sl (< 0: none), the longest wait above wait_ms (0: none), an
 * open SLA breach (breach). After stats_run_queue. */
void stats_run_queue_alerts(struct server *srv, uint32_t id, double sl, int64_t wait_ms,
                            int breach);
/* The site figures of site id count in (the fallback for 0 or unknown). */
uint32_t stats_run_site_of(struct server *srv, uint32_t site);
/* An agent's state as the router's core reports it. */
void stats_run_agent_state(struct server *srv, uint32_t agent, enum route_agent_state state,
                           const char *reason);
/* An SLA warning (breach 0) or breach raised for ticket, waiting in or
 * served from queue, owned by site (a code): open until the work leaves
 * the router (stats_run_sla_clear). */
void stats_run_sla(struct server *srv, uint64_t ticket, uint32_t queue, const char *site,
                   int breach);
void stats_run_sla_clear(struct server *srv, uint64_t ticket);
/* Log a refused event (it changed nothing). */
void stats_run_check(const char *what, uint64_t id, int rc);

/* For op-stats.c. Lookups by code: the id, or 0. */
uint32_t stats_run_site_id(struct server *srv, const char *code);
uint32_t stats_run_queue_id(struct server *srv, const char *code, uint32_t *home_site);
uint32_t stats_run_skill_id(struct server *srv, const char *code);
/* A scope's figures as JSON, or NULL when the scope is unknown. */
json_t *stats_run_view_json(struct server *srv, enum stats_scope scope, uint32_t id, int64_t now);
/* A page of the agents of a scope (overall: all) with state, reason and
 * time in state, by user name: those after user after (NULL: from the
 * first), at most limit of them and at most budget bytes encoded as an
 * array. next: the user to ask after for the next page, or "" when this
 * is the last. */
json_t *stats_run_agents_page(struct server *srv, enum stats_scope scope, uint32_t id, int64_t now,
                              const char *after, size_t limit, size_t budget, char *next,
                              size_t nextlen);
/* Every scope a viewer fenced to site (0: every site) may see: overall
 * and the skills (site 0 only: they span the sites), the sites and the
 * queues. */
json_t *stats_run_scopes_json(struct server *srv, uint32_t site, int64_t now);
/* Send s the picture a subscription starts from: every scope of site (0:
 * every site) in reply (taken; it gets "scopes", "version", "at", "part"
 * and "parts") and, when they do not fit on one line, in "stats" events
 * right after it (docs/PROTOCOL.md, stats.subscribe). */
void stats_run_picture(struct server *srv, struct session *s, json_t *reply, uint32_t site,
                       int64_t now);
/* A line of what (an op's reply) that was not sent, bytes long: logged and
 * counted with the statistics lines over the limit. */
void stats_run_oversize(struct server *srv, const char *what, size_t bytes);
/* Subscribe s to the scopes of site (0: every site), or unsubscribe it;
 * 1 when it was subscribed before. */
int stats_run_subscribe(struct server *srv, struct session *s, uint32_t site);
int stats_run_unsubscribe(struct server *srv, struct session *s);
/* A session ended. */
void stats_run_session_gone(struct server *srv, struct session *s);

/* Rollups (stats.rollup_seconds): the interval writes done so far, and
 * those that failed (their counts are owed to the next write). */
unsigned long long stats_run_rollups(struct server *srv, unsigned long long *failures);
/* The local midnight (UTC ms) that starts day y-mon-d at site (0 or
 * unknown: UTC). */
int64_t stats_run_local_midnight(struct server *srv, uint32_t site, int y, int mon, int d);
/* The local midnights of site's days that overlap [from, to), with their
 * names ("YYYY-MM-DD"): how many were written (at most max). */
size_t stats_run_days(struct server *srv, uint32_t site, int64_t from, int64_t to, int64_t *starts,
                      char (*names)[11], size_t max);

/* The per-queue and per-skill figures for /metrics. */
void stats_run_metrics(struct server *srv, struct evbuffer *out);

#endif
