/* stats.h: queue statistics for the supervisors' live view, kept
 * incrementally as events happen.
 *
 * Pure: no I/O, no clock reads, no globals. The event loop calls one
 * function per event, each with the instant (UTC milliseconds) as a
 * parameter; nothing is ever recomputed by scanning tickets. Every event
 * costs O(1) hash lookups plus O(log n) in the waiting heaps; a snapshot
 * costs O(1) (O(pause reasons) for the reason table).
 *
 * Scopes. Figures are kept per queue, per site, per skill and overall,
 * and per agent. A waiting item counts in its queue, in its site (the
 * customer's site, as given when it was queued), overall, and in each
 * skill its work requires (at most ROUTE_MAX_REQ: the skills the router
 * matches agents against, as given when it was queued or transferred).
 * Site and overall figures are sums of the item events of that site and
 * of every site: a contact that is transferred from one queue to another
 * counts in both queues (offered in each, transferred out of the first,
 * transferred in to the second), so it counts twice in its site's offered;
 * transferred_in says by how much. Agents count in their site, overall,
 * in each queue they serve (stats_agent_queues) and in each skill they
 * hold (stats_agent_skills): an agent's state change costs O(queues
 * served + skills held).
 *
 * Skills. A skill's figures are those of the work that requires it, with
 * the thresholds of each contact's queue (a contact answered within its
 * queue's T counts in SL wherever it counts), and of the agents who hold
 * it (at any proficiency). A contact that requires two skills counts in
 * both, so skills do not add up to overall. CSAT and SLA warnings and
 * breaches are given per queue, not per contact, and are not kept per
 * skill. A skill's day is that of its home site (stats_skill_set).
 *
 * Definitions (docs/ROUTING.md "Queue statistics" has the long form). A
 * contact's wait is the time from its arrival in the queue to its answer or
 * abandon. T is the queue's service-level threshold (sl_ms), S its
 * short-abandon threshold (short_ms); "within T" is wait <= T, as Asterisk's
 * app_queue counts it.
 *
 *   offered          contacts that entered the queue (arrivals and transfers in)
 *   answered         contacts answered by an agent
 *   abandoned        contacts that left unanswered after waiting S or longer
 *   short_abandoned  contacts that left unanswered within less than S
 *                    (misdials, instant hang-ups): counted apart, and in no
 *                    service level, ASA or abandon figure
 *   SL   = answered within T / answered
 *          (Asterisk app_queue "SL": callscompletedinsl / callscompleted)
 *   SL2  = (answered within T + abandoned within T) / (answered + abandoned)
 *          (Asterisk "SL2": a contact that gave up within T does not count
 *          against the queue; one that gave up after T does)
 *   SL3  = answered within T / (answered + abandoned after T)
 *          (abandons before T are left out of both sides; the common
 *          industry form, given for comparison)
 *   ASA  = sum of waits of answered contacts / answered
 *   AHT  = (talk time + wrap-up time) / handled, handled = contacts whose
 *          talk ended (talk: answer to done; wrap-up: done to wrap-up end)
 *   average wrap-up = wrap-up time / wrap-ups
 *   occupancy = (time busy + time in wrap-up)
 *             / (time ready + reserved + busy + in wrap-up), today, that is
 *               over time logged in and not paused; per agent, and over the
 *               agents of a queue (while they serve it), a site or every site
 *   CSAT = sum of scores / scores given today (scores 1..5)
 *
 * Asterisk counts a call in SL when the call ends; here a contact counts
 * when it is answered, so the live figure includes calls in progress.
 * A ratio with an empty denominator is -1 (no data), not 0 or 100 %.
 *
 * Today. Counters (offered ... CSAT, complaints, SLA warnings and breaches
 * raised, agents' time per state) are today's: stats_day_reset(site, now)
 * zeroes a site, its queues and skills (those whose home site it is) and
 * its agents, and takes the site's figures out of the overall ones, so
 * overall stays the sum of the sites. The loop calls it at each site's
 * local midnight; it costs one pass over the queues, skills and agents,
 * once a day.
 * Gauges (waiting now, longest wait, agents by state, open SLA warnings and
 * breaches, estimated wait) are live and never reset.
 *
 * Versions. A global counter is bumped by every event that changes
 * something; each scope it touches takes the new value as its version, and
 * moves to the end of a list ordered by version. stats_changed(since)
 * walks that list backwards from the newest, so a pusher that sends deltas
 * once a second pays for the scopes that changed, not for subscribers x
 * queues. Figures that grow with time alone (longest wait, time in state)
 * are given with their starting instants so a viewer can tick them locally.
 *
 * Bounds. The numbers of queues, sites, skills, agents, tracked items and
 * pause reasons are capped (struct stats_limits); an event that would pass
 * a cap is refused with STATS_ENOSPC and changes nothing. Pause reasons past the
 * cap are counted under "other". Refused events (unknown ids, bad values,
 * wrong state) change nothing either. */
#ifndef CC_STATS_H
#define CC_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "route.h"

#define STATS_SEVERITIES  4  /* complaint grades 1 (gravest) .. 4 */
#define STATS_REASONS_MAX 16 /* distinct pause reasons, "other" included */
#define STATS_CSAT_MAX    5  /* scores 1..5 */

/* In this order: the rollups store a scope by its index. */
enum stats_scope { STATS_ALL, STATS_SITE, STATS_QUEUE, STATS_AGENT, STATS_SKILL, STATS__SCOPES };

enum stats_kind { STATS_CALL, STATS_COMPLAINT, STATS_OTHER, STATS__KINDS };

enum stats_sla { STATS_SLA_WARNING, STATS_SLA_BREACH };

enum stats_rc {
	STATS_OK = 0,
	STATS_ENOENT = -1, /* unknown queue, skill, item or agent */
	STATS_EEXIST = -2, /* the item is tracked already */
	STATS_EINVAL = -3, /* a value out of range */
	STATS_ESTATE = -4, /* not allowed in the item's or agent's state */
	STATS_ENOSPC = -5, /* a bound is reached */
	STATS_ENOMEM = -6,
};

struct stats_limits {
	uint32_t max_queues; /* default 4096 */
	uint32_t max_sites;  /* default 256 */
	uint32_t max_agents; /* default 65536 */
	uint32_t max_items;  /* waiting or in talk at once; default 1 << 20 */
	uint32_t max_skills; /* default 4096 */
};

/* Today's counters of a scope. Sums are in milliseconds. */
struct stats_counts {
	uint32_t offered, presented, answered, answered_in_sl;
	uint32_t abandoned, abandoned_in_sl, short_abandoned;
	uint32_t transferred_in, transferred_out;
	uint32_t handled, wrapups;
	uint64_t answer_wait_ms, abandon_wait_ms, talk_ms, wrapup_ms;
	uint32_t complaints[STATS_SEVERITIES + 1]; /* [1..4]; [0] ungraded */
	uint32_t csat_count;
	uint64_t csat_sum;
	uint32_t sla_warnings, sla_breaches; /* raised today */
};

struct stats_reason_count {
	char name[ROUTE_REASON_MAX + 1];
	uint32_t agents;
};

/* A queue, a site, a skill or everything. */
struct stats_view {
	enum stats_scope scope;
	uint32_t id;
	uint64_t version;
	struct stats_counts day;
	uint32_t waiting;        /* waiting now, offered to an agent or not */
	int64_t oldest_ms;       /* arrival of the longest waiting; 0: none */
	int64_t longest_wait_ms; /* now - oldest_ms; 0: none */
	uint32_t open_warnings;  /* SLA warnings raised and not cleared */
	uint32_t open_breaches;
	int64_t ewt_ms;                        /* queue: the estimated wait given; -1: unknown */
	uint32_t agents[ROUTE__AGENT_STATES];  /* by state now */
	int64_t state_ms[ROUTE__AGENT_STATES]; /* agents' time per state today */
	unsigned nreasons;
	struct stats_reason_count reasons[STATS_REASONS_MAX]; /* paused agents by reason */
	/* derived; -1 where the denominator is 0 */
	double sl, sl2, sl3, occupancy, csat;
	int64_t asa_ms, aht_ms, avg_wrapup_ms, avg_abandon_ms;
};

struct stats_agent_view {
	uint32_t id, site;
	uint64_t version;
	enum route_agent_state state;
	char reason[ROUTE_REASON_MAX + 1]; /* when paused */
	int64_t since_ms;                  /* in this state since */
	int64_t time_in_state_ms;
	int64_t state_ms[ROUTE__AGENT_STATES]; /* today */
	uint32_t presented, answered, handled, wrapups, csat_count;
	uint64_t talk_ms, wrapup_ms, csat_sum;
	double occupancy, csat; /* -1: no data */
	int64_t aht_ms;         /* -1: no data */
};

struct stats_ref {
	enum stats_scope scope;
	uint32_t id; /* 0 for STATS_ALL */
	uint64_t version;
};

struct stats;

struct stats *stats_new(const struct stats_limits *lim);
void stats_free(struct stats *st);
const char *stats_rc_name(int rc);

/* Add or change a queue: its home site (whose midnight resets it), its
 * service-level threshold T and its short-abandon threshold S. */
int stats_queue_set(struct stats *st, uint32_t queue, uint32_t home_site, int64_t sl_ms,
                    int64_t short_ms);
/* Add or change a skill: its home site, whose midnight resets it. */
int stats_skill_set(struct stats *st, uint32_t skill, uint32_t home_site);
/* The queue's estimated wait for new work (from the router), or -1. */
int stats_queue_ewt(struct stats *st, uint32_t queue, int64_t ewt_ms);

/* Items. An item enters a queue (severity 0..4, 0 ungraded; complaints
 * are counted by severity here) requiring up to ROUTE_MAX_REQ distinct
 * skills, each known, may be presented to agents, and leaves the queue by
 * answer, abandon or transfer; an answered item is done when its talk ends
 * (the agent then wraps up). */
int stats_item_queued(struct stats *st, uint64_t item, uint32_t queue, uint32_t site, int severity,
                      enum stats_kind kind, const uint32_t *skills, unsigned nskills, int64_t now);
int stats_item_offered(struct stats *st, uint64_t item, uint32_t agent, int64_t now);
int stats_item_answered(struct stats *st, uint64_t item, uint32_t agent, int64_t now);
int stats_item_abandoned(struct stats *st, uint64_t item, int64_t now);
/* To another queue, requiring skills there: a waiting item keeps waiting
 * there (its wait starts again); an answered item's talk ends in the old
 * queue (as done) and it waits in the new one. */
int stats_item_transferred(struct stats *st, uint64_t item, uint32_t queue, const uint32_t *skills,
                           unsigned nskills, int64_t now);
int stats_item_done(struct stats *st, uint64_t item, int64_t now);
/* The agent's wrap-up after its last done item ended. Any later state
 * of the agent other than wrap-up, or its next done item, ends it too, so
 * the loop reports done before the agent's next state. */
int stats_wrapup_end(struct stats *st, uint32_t agent, int64_t now);

/* An agent's state (reason: the pause reason, "unspecified" when NULL or
 * empty; ignored for other states). A new agent starts offline at site; a
 * changed site moves the agent. */
int stats_agent_state(struct stats *st, uint32_t agent, uint32_t site, enum route_agent_state state,
                      const char *reason, int64_t now);

/* The queues the agent serves (up to ROUTE_MAX_QUEUES, each known): it
 * counts among their agents by state from now on. */
int stats_agent_queues(struct stats *st, uint32_t agent, const uint32_t *queues, unsigned n,
                       int64_t now);
/* The skills the agent holds (up to ROUTE_MAX_SKILLS, each known): it
 * counts among their agents by state from now on. */
int stats_agent_skills(struct stats *st, uint32_t agent, const uint32_t *skills, unsigned n,
                       int64_t now);

/* A satisfaction score 1..5 given for work of queue at site (agent 0:
 * none). */
int stats_csat(struct stats *st, uint32_t queue, uint32_t site, uint32_t agent, int score,
               int64_t now);
/* An SLA warning or breach raised (on 1) or cleared (on 0) for a ticket
 * of queue at site. A clear without an open one is refused. */
int stats_sla_event(struct stats *st, uint32_t queue, uint32_t site, enum stats_sla what, int on,
                    int64_t now);

/* A new day at site: see "Today" above. */
int stats_day_reset(struct stats *st, uint32_t site, int64_t now);

/* Add counters and agents' time per state (c, state_ms) counted earlier
 * today to a site (and overall, which stays the sum of the sites), a
 * queue, a skill or an agent: the restore of the day's figures at
 * start-up. Gauges are not touched. Overall itself is refused
 * (STATS_EINVAL). */
int stats_seed(struct stats *st, enum stats_scope scope, uint32_t id, const struct stats_counts *c,
               const int64_t state_ms[ROUTE__AGENT_STATES]);

/* Take the arrival (offered; a complaint's count by severity) of each
 * item still waiting that counts at site and arrived in [from, to) back
 * out of its queue, site, skills and overall: for work put back in line at
 * start-up whose arrival an earlier run counted and stats_seed restored.
 * *n: how many. One pass over the items, once at start-up. */
int stats_uncount_waiting(struct stats *st, uint32_t site, int64_t from, int64_t to, uint32_t *n);

/* Reads. */
int stats_view(const struct stats *st, enum stats_scope scope, uint32_t id, int64_t now,
               struct stats_view *out);
int stats_agent_view(const struct stats *st, uint32_t agent, int64_t now,
                     struct stats_agent_view *out);
/* Whether the agent holds the skill (stats_agent_skills). */
int stats_agent_holds(const struct stats *st, uint32_t agent, uint32_t skill);
/* The version of the last change (0: none yet), over everything or of one
 * scope (0 when the scope is unknown). */
uint64_t stats_version(const struct stats *st);
uint64_t stats_scope_version(const struct stats *st, enum stats_scope scope, uint32_t id);
/* The scopes changed after version since, newest first: writes up to max of
 * them and returns how many there are (more than max: the oldest are not
 * written). */
size_t stats_changed(const struct stats *st, uint64_t since, struct stats_ref *out, size_t max);

/* Lines of scopes. A picture or a push is a JSON array of scopes, and a
 * protocol line holds at most PROTO_MAX_LINE bytes: the scopes, of encoded
 * sizes sizes[0..n), go in order into parts whose encoded array (the
 * scopes, a comma between two, the brackets) is at most budget bytes.
 * part[i] is the part scope i goes in (from 0), or STATS_PART_NONE for a
 * scope too large for any part, which is left out rather than sent on a
 * line over the limit. Returns the number of parts (0 when no scope fits). */
#define STATS_PART_NONE ((size_t)-1)
size_t stats_parts_split(const size_t *sizes, size_t n, size_t budget, size_t *part);

/* Derived figures from counters; -1 when the denominator is 0. */
double stats_sl(const struct stats_counts *c);
double stats_sl2(const struct stats_counts *c);
double stats_sl3(const struct stats_counts *c);

/* Counts for tests. */
size_t stats_items(const struct stats *st);

#endif
