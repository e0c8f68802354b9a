/* route.h: the routing core. It matches waiting work (calls, complaints,
 * callbacks) to agents by skill, load and site.
 *
 * Pure: no I/O, no clock reads, no globals. The event loop feeds it events
 * (work arrives, an agent changes state, an offer is answered, a timer
 * fires), each with the time as a parameter, and carries out the decisions
 * it queues (route_decision_next). Matching happens on those events only;
 * route_timer_next says when the earliest timed step is due (an offer
 * running out, a wait step widening a requirement, a wrap-up ending), and
 * the loop arms one timer for it.
 *
 * The ordering rule (docs/ROUTING.md has the long form):
 *
 * - Waiting work has one global order over every queue: its virtual
 *   arrival time
 *       vkey = enqueued - priority * class_step - boost
 *   lowered further to (sla_due - sla_horizon) when that is earlier; the
 *   smaller vkey goes first, then the earlier arrival, then the lower id.
 *   Every waiting item ages at the same rate, so the order never changes
 *   while items wait and can be kept in heaps. A priority step is a head
 *   start of class_step, not an absolute tier: an item of priority p waits
 *   at most class_step longer than one of priority p + 1 that arrived at the
 *   same time, so nothing starves.
 * - An agent that becomes free takes the first item in that order among all
 *   the work it may take (every queue it serves, at its level and site).
 *   This is the fairness rule for agents shared by several queues: they
 *   serve the queues by the items' virtual arrival, not queue by queue.
 * - Work that arrives while several agents are free goes to the first of
 *   them by the queue's strategy: longest idle (default), least occupancy,
 *   best proficiency in the required skills, round robin (the agent offered
 *   work longest ago), fewest handled today; ties go to the longer idle,
 *   then the lower agent id.
 *
 * Requirements and steps. An item requires up to ROUTE_MAX_REQ skills, each
 * with a minimum proficiency (1..5), and may be taken by agents who serve
 * its queue. Its level widens over its wait: level 0 needs the minimum
 * proficiency at the item's site; after the queue's relax_ms, level 1 takes
 * any proficiency (1 and up) at that site; after overflow_ms, level 2 takes
 * agents of every site. An item whose queue's estimated wait exceeds
 * ewt_overflow_ms when it arrives starts at level 2. A step keeps the
 * item's vkey: its place in line. Items with the same queue, site, level
 * and requirements share a bucket: a heap of its items by vkey and a heap
 * of its eligible free agents by the queue's strategy, so a decision costs
 * O(log n) plus one look at each bucket head an agent is eligible for.
 *
 * Capacity. An agent has a capacity per channel class: voice (live calls,
 * default 1) and async (tickets such as web complaints, default 0). A live
 * call takes the agent whole: while one is offered or in progress no other
 * work is offered; async work does not block a call (a call may be offered
 * to an agent holding async tickets, up to the async capacity). One offer at
 * a time per agent.
 *
 * Offers. An offer reserves the item and the agent until it is accepted,
 * declined or runs out (offer_ms); every reservation has its timer. A
 * declined or expired item goes back to its place in line, and is not
 * offered to the same agent again while another eligible agent is free.
 * After max_misses misses in a row an agent is paused with reason
 * "missed". Work done: the agent enters wrap-up for the queue's wrapup_ms
 * (0: none) and is free again after it.
 *
 * Sticky agent. An item may name the agent who last served the customer:
 * it is offered to that agent when free, and otherwise held for that agent
 * alone for the queue's sticky_ms, then joins the line at its original
 * place. */
#ifndef CC_ROUTE_H
#define CC_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#define ROUTE_MAX_REQ    4  /* required skills per item */
#define ROUTE_MAX_SKILLS 32 /* skills per agent */
#define ROUTE_MAX_QUEUES 32 /* queues per agent */
#define ROUTE_PROF_MAX   5
#define ROUTE_LEVELS     3
#define ROUTE_REASON_MAX 31

enum route_strategy {
	ROUTE_LONGEST_IDLE,
	ROUTE_LEAST_OCCUPANCY,
	ROUTE_BEST_PROFICIENCY,
	ROUTE_ROUND_ROBIN,
	ROUTE_FEWEST_TODAY,
	ROUTE__STRATEGIES
};

enum route_channel { ROUTE_VOICE, ROUTE_ASYNC, ROUTE__CHANNELS };

/* An agent's state as shown to supervisors. */
enum route_agent_state {
	ROUTE_AGENT_OFFLINE,
	ROUTE_AGENT_READY,    /* free for work */
	ROUTE_AGENT_RESERVED, /* an offer is pending */
	ROUTE_AGENT_BUSY,     /* working, no capacity left for more */
	ROUTE_AGENT_WRAP_UP,
	ROUTE_AGENT_PAUSED,
	ROUTE__AGENT_STATES
};

enum route_item_state {
	ROUTE_ITEM_WAITING,
	ROUTE_ITEM_HELD,    /* held for its sticky agent */
	ROUTE_ITEM_OFFERED, /* reserved for one agent */
	ROUTE_ITEM_ASSIGNED,
};

struct route_params {
	int64_t class_step_ms;  /* head start per priority step (default 300 s) */
	int64_t sla_horizon_ms; /* SLA due this soon counts as waiting (default 1 h) */
};

struct route_queue_cfg {
	uint32_t id;
	enum route_strategy strategy;
	int64_t relax_ms;        /* level 1 after this wait; 0: never */
	int64_t overflow_ms;     /* level 2 (other sites) after this wait; 0: never */
	int64_t ewt_overflow_ms; /* start at level 2 when the estimated wait is longer; 0: off */
	int64_t offer_ms;        /* how long an offer waits for an answer (default 15 s) */
	int64_t wrapup_ms;       /* wrap-up after work; 0: none */
	int64_t sticky_ms;       /* how long work waits for its sticky agent; 0: no sticky */
	int64_t aht_ms;          /* average handling time, for estimated waits (default 180 s) */
	int max_misses;          /* missed offers in a row before a pause (default 3) */
};

struct route_skill {
	uint16_t skill;
	uint8_t prof; /* 1..ROUTE_PROF_MAX */
};

struct route_agent_cfg {
	uint32_t id;
	uint16_t site;
	int capacity[ROUTE__CHANNELS];
	int own_wrapup;    /* wrapup_ms replaces the queue's wrap-up */
	int64_t wrapup_ms; /* the agent's own wrap-up */
	unsigned nskills;
	struct route_skill skills[ROUTE_MAX_SKILLS];
	unsigned nqueues;
	uint32_t queues[ROUTE_MAX_QUEUES];
};

struct route_item_in {
	uint64_t id;
	uint32_t queue;
	uint16_t site; /* the customer's site */
	enum route_channel channel;
	int priority;       /* 1 lowest .. 9 most urgent */
	int64_t boost_ms;   /* value tier: extra head start */
	int64_t sla_due_ms; /* 0: none */
	int64_t enqueued_ms;
	uint32_t sticky_agent; /* 0: none */
	unsigned nreq;
	struct route_skill req[ROUTE_MAX_REQ]; /* prof: the minimum */
};

enum route_decision_kind {
	ROUTE_DO_OFFER,      /* offer item to agent until at_ms */
	ROUTE_DO_RETRACT,    /* the offer of item to agent ran out */
	ROUTE_DO_PAUSE,      /* agent paused for missing offers */
	ROUTE_DO_STEP,       /* item widened to level (its requirement relaxed) */
	ROUTE_DO_AGENT_FREE, /* agent's wrap-up ended */
};

struct route_decision {
	enum route_decision_kind kind;
	uint64_t item;
	uint32_t agent;
	int level;
	int64_t at_ms;
};

/* Outcome of an event call. */
enum route_rc {
	ROUTE_OK = 0,
	ROUTE_ENOENT = -1, /* unknown agent, item or queue */
	ROUTE_EEXIST = -2, /* the id is taken */
	ROUTE_EINVAL = -3, /* a value out of range */
	ROUTE_ESTATE = -4, /* not allowed in the current state */
	ROUTE_ENOMEM = -5,
};

struct route;

struct route *route_new(const struct route_params *p);
void route_free(struct route *r);
const char *route_strategy_name(enum route_strategy s);
int route_strategy_parse(const char *name);
const char *route_agent_state_name(enum route_agent_state s);

/* Add or change a queue's policy; waiting work keeps its place. */
int route_queue_set(struct route *r, const struct route_queue_cfg *q);

/* Agents. A new agent is offline; changing one keeps its state and work. */
int route_agent_set(struct route *r, const struct route_agent_cfg *a, int64_t now);
int route_agent_ready(struct route *r, uint32_t agent, int64_t now);
/* Pause (reason up to ROUTE_REASON_MAX bytes) or go offline: a pending
 * offer is retracted first. Work in progress stays with the agent. */
int route_agent_pause(struct route *r, uint32_t agent, const char *reason, int64_t now);
int route_agent_offline(struct route *r, uint32_t agent, int64_t now);
/* Handled-today counters start again (at the site's midnight). */
void route_day_reset(struct route *r);

/* Work. */
int route_item_add(struct route *r, const struct route_item_in *in, int64_t now);
/* The item left: abandoned while waiting, or its offer withdrawn. */
int route_item_remove(struct route *r, uint64_t item, int64_t now);
int route_offer_accept(struct route *r, uint64_t item, int64_t now);
int route_offer_decline(struct route *r, uint64_t item, int64_t now);
/* Hand the item to agent directly (the agent took it, or a supervisor
 * gave it): out of line, an offer to anyone else withdrawn (without a
 * decision: the caller made the change), counted in the agent's load even
 * over its capacity. An item the core does not know is added first from
 * in (in may be NULL for a known item). */
int route_item_assign(struct route *r, uint64_t item, uint32_t agent,
                      const struct route_item_in *in, int64_t now);
/* Offer the item to agent by hand (a supervisor's transfer to an agent):
 * reserved for that agent with the queue's offer timer, as if the core had
 * made the offer, but without an offer decision (the caller made it). An
 * offer to anyone else is withdrawn silently; an offer the agent held for
 * other work is retracted (a decision). *until gets the deadline. An item
 * the core does not know is added first from in. */
int route_offer_to(struct route *r, uint64_t item, uint32_t agent, const struct route_item_in *in,
                   int64_t now, int64_t *until);
/* The assigned work is finished: the agent wraps up, then is free. */
int route_item_done(struct route *r, uint64_t item, int64_t now);

/* Timers: the earliest due instant (INT64_MAX: none), and its handling. */
int64_t route_timer_next(const struct route *r);
void route_timer_run(struct route *r, int64_t now);

/* The next decision to carry out: 1 and *d, 0 when there are none. */
int route_decision_next(struct route *r, struct route_decision *d);

/* Reads. */
struct route_agent_info {
	enum route_agent_state state;
	int64_t since_ms; /* in this state since */
	char reason[ROUTE_REASON_MAX + 1];
	int load[ROUTE__CHANNELS];
	uint64_t offer; /* item offered, 0 none */
	unsigned handled_today, misses;
};
int route_agent_info(const struct route *r, uint32_t agent, struct route_agent_info *out);

struct route_item_info {
	enum route_item_state state;
	int level;
	uint32_t queue;
	uint32_t agent; /* offered to or assigned to */
	int64_t vkey;
	unsigned position; /* 1-based among waiting items of its bucket */
	int64_t ewt_ms;    /* estimated wait from now */
};
int route_item_info(const struct route *r, uint64_t item, int64_t now, struct route_item_info *out);
/* As route_item_info without position and ewt_ms (left 0): O(1), no scan
 * of the item's bucket, for reading many items at once. */
int route_item_peek(const struct route *r, uint64_t item, struct route_item_info *out);
/* Estimated wait for new work in queue at site: waiting work ahead times
 * the handling time, over the agents serving it (those not offline). */
int64_t route_queue_ewt(const struct route *r, uint32_t queue);

/* Counts for tests and statistics. */
size_t route_waiting(const struct route *r);
size_t route_buckets(const struct route *r);

/* Check every internal invariant (no double assignment, heaps in order,
 * capacities respected, every reservation timed): 0, or -1 with why. */
int route_check(const struct route *r, char *why, size_t len);

#endif
