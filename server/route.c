/* route.c: the routing core; see route.h for the rules.
 *
 * Structures. Agents, items, queues and buckets are in uthash tables by id
 * or key. A bucket (queue, channel, site, level, requirements) has two
 * indexed binary heaps: its waiting items by (vkey, arrival, id) and its free
 * eligible agents by the queue's strategy key. An agent holds one
 * membership per bucket it is eligible for; the membership is the node in
 * that bucket's agent heap while the agent is free. Every timed step (offer
 * expiry, level step, sticky hold, wrap-up end) is one node in a timer heap.
 *
 * Costs. An arriving item looks at its bucket's best free agent: O(log n).
 * A freed agent looks at the best item of each bucket it is eligible for
 * (buckets are few: queues x requirement sets x sites x 3 levels) and
 * updates its memberships: O(m log n) for m memberships. A bucket is made
 * the first time an item needs it, by one pass over the agents. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <uthash.h>

#include "heap.h"
#include "route.h"

#define CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* --- the model --- */

enum presence { P_OFFLINE, P_READY, P_PAUSED, P_WRAP_UP };
enum timer_kind { T_NONE, T_STEP, T_STICKY, T_OFFER, T_WRAPUP };

struct bucket_key {
	uint32_t queue;
	uint16_t site;
	uint8_t channel, level, nreq;
	uint8_t pad[3];
	struct route_skill req[ROUTE_MAX_REQ];
};

struct queue;
struct agent;

struct bucket {
	struct bucket_key key;
	struct queue *q;
	struct heap items;  /* struct item.node */
	struct heap agents; /* struct member.node */
	UT_hash_handle hh;
};

struct member {
	struct agent *a;
	struct bucket *b;
	struct hnode node;
};

struct item {
	uint64_t id;
	struct route_item_in in;
	enum route_item_state state;
	int level;
	int64_t vkey;
	struct bucket *b;
	struct hnode node; /* in b->items while waiting */
	struct agent *agent;
	uint32_t declined_by;
	enum timer_kind tkind;
	struct hnode timer;
	TAILQ_ENTRY(item) held; /* on agent->held while held */
	UT_hash_handle hh;
};
TAILQ_HEAD(item_list, item);

struct agent {
	uint32_t id;
	struct route_agent_cfg cfg;
	enum presence presence;
	int64_t since, idle_since;
	char reason[ROUTE_REASON_MAX + 1];
	int load[ROUTE__CHANNELS];
	int forced[ROUTE__CHANNELS]; /* of the load: assigned over capacity */
	struct item *offer;
	unsigned handled, misses;
	uint64_t last_offer;
	struct member **mem;
	size_t nmem, capmem;
	struct item_list held;
	enum timer_kind tkind;
	struct hnode timer;
	UT_hash_handle hh;
};

struct queue {
	uint32_t id;
	struct route_queue_cfg cfg;
	size_t waiting; /* items not yet assigned */
	size_t serving; /* agents not offline that serve it */
	UT_hash_handle hh;
};

struct route {
	struct route_params p;
	struct agent *agents;
	struct item *items;
	struct queue *queues;
	struct bucket *buckets;
	size_t nbuckets, nwaiting;
	struct heap timers;
	uint64_t seq;
	struct route_decision *dq;
	size_t dq_head, dq_n, dq_cap;
};

static const char *const strategy_names[] = {
    [ROUTE_LONGEST_IDLE] = "longest_idle",         [ROUTE_LEAST_OCCUPANCY] = "least_occupancy",
    [ROUTE_BEST_PROFICIENCY] = "best_proficiency", [ROUTE_ROUND_ROBIN] = "round_robin",
    [ROUTE_FEWEST_TODAY] = "fewest_today",
};

static const char *const agent_state_names[] = {
    [ROUTE_AGENT_OFFLINE] = "offline",   [ROUTE_AGENT_READY] = "ready",
    [ROUTE_AGENT_RESERVED] = "reserved", [ROUTE_AGENT_BUSY] = "busy",
    [ROUTE_AGENT_WRAP_UP] = "wrap_up",   [ROUTE_AGENT_PAUSED] = "paused",
};

const char *
route_strategy_name(enum route_strategy s)
{
	return (unsigned)s < ROUTE__STRATEGIES ? strategy_names[s] : "(invalid)";
}

int
route_strategy_parse(const char *name)
{
	for (int i = 0; i < ROUTE__STRATEGIES; i++)
		if (strcmp(name, strategy_names[i]) == 0)
			return i;
	return -1;
}

const char *
route_agent_state_name(enum route_agent_state s)
{
	return (unsigned)s < ROUTE__AGENT_STATES ? agent_state_names[s] : "(invalid)";
}

struct route *
route_new(const struct route_params *p)
{
	struct route *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	if (p != NULL)
		r->p = *p;
	if (r->p.class_step_ms <= 0)
		r->p.class_step_ms = 300 * 1000;
	if (r->p.sla_horizon_ms <= 0)
		r->p.sla_horizon_ms = 3600 * 1000;
	return r;
}

void
route_free(struct route *r)
{
	struct agent *a, *ta;
	struct item *it, *ti;
	struct queue *q, *tq;
	struct bucket *b, *tb;

	if (r == NULL)
		return;
	HASH_ITER(hh, r->items, it, ti)
	{
		HASH_DEL(r->items, it);
		free(it);
	}
	HASH_ITER(hh, r->agents, a, ta)
	{
		HASH_DEL(r->agents, a);
		for (size_t i = 0; i < a->nmem; i++)
			free(a->mem[i]);
		free(a->mem);
		free(a);
	}
	HASH_ITER(hh, r->queues, q, tq)
	{
		HASH_DEL(r->queues, q);
		free(q);
	}
	HASH_ITER(hh, r->buckets, b, tb)
	{
		HASH_DEL(r->buckets, b);
		heap_free(&b->items);
		heap_free(&b->agents);
		free(b);
	}
	heap_free(&r->timers);
	free(r->dq);
	free(r);
}

/* --- decisions --- */

static void
emit(struct route *r, enum route_decision_kind kind, uint64_t item, uint32_t agent, int level,
     int64_t at)
{
	if (r->dq_head + r->dq_n == r->dq_cap) {
		if (r->dq_head > 0) {
			memmove(r->dq, r->dq + r->dq_head, r->dq_n * sizeof *r->dq);
			r->dq_head = 0;
		} else {
			size_t cap = r->dq_cap ? r->dq_cap * 2 : 64;
			struct route_decision *d = realloc(r->dq, cap * sizeof *d);
			if (d == NULL)
				abort(); /* a decision must never be lost */
			r->dq = d;
			r->dq_cap = cap;
		}
	}
	r->dq[r->dq_head + r->dq_n++] = (struct route_decision){
	    .kind = kind, .item = item, .agent = agent, .level = level, .at_ms = at};
}

int
route_decision_next(struct route *r, struct route_decision *d)
{
	if (r->dq_n == 0)
		return 0;
	*d = r->dq[r->dq_head++];
	if (--r->dq_n == 0)
		r->dq_head = 0;
	return 1;
}

/* --- timers --- */

/* Timer nodes: k1 the instant, k2 the owner (an item's or an agent's). */
enum { OWNER_ITEM, OWNER_AGENT };

static void
timer_set(struct route *r, struct hnode *t, enum timer_kind *kind, enum timer_kind k, int64_t at)
{
	heap_remove(&r->timers, t);
	*kind = k;
	heap_put(&r->timers, t, at, k == T_WRAPUP ? OWNER_AGENT : OWNER_ITEM, ++r->seq);
}

static void
timer_clear(struct route *r, struct hnode *t, enum timer_kind *kind)
{
	heap_remove(&r->timers, t);
	*kind = T_NONE;
}

int64_t
route_timer_next(const struct route *r)
{
	const struct hent *t = heap_top(&r->timers);
	return t ? t->k1 : INT64_MAX;
}

/* --- agents --- */

static struct agent *
agent_find(const struct route *r, uint32_t id)
{
	struct agent *a;
	HASH_FIND(hh, r->agents, &id, sizeof id, a);
	return a;
}

static struct queue *
queue_find(const struct route *r, uint32_t id)
{
	struct queue *q;
	HASH_FIND(hh, r->queues, &id, sizeof id, q);
	return q;
}

static int
agent_prof(const struct agent *a, uint16_t skill)
{
	for (unsigned i = 0; i < a->cfg.nskills; i++)
		if (a->cfg.skills[i].skill == skill)
			return a->cfg.skills[i].prof;
	return 0;
}

static int
agent_serves(const struct agent *a, uint32_t queue)
{
	for (unsigned i = 0; i < a->cfg.nqueues; i++)
		if (a->cfg.queues[i] == queue)
			return 1;
	return 0;
}

static int
eligible(const struct agent *a, const struct bucket_key *k)
{
	if (a->cfg.capacity[k->channel] <= 0 || !agent_serves(a, k->queue))
		return 0;
	if (k->level < 2 && a->cfg.site != k->site)
		return 0;
	for (unsigned i = 0; i < k->nreq; i++) {
		int need = k->level == 0 ? k->req[i].prof : 1;
		if (agent_prof(a, k->req[i].skill) < need)
			return 0;
	}
	return 1;
}

/* May the agent be offered work of channel ch now? */
static int
agent_free(const struct agent *a, int ch)
{
	if (a->presence != P_READY || a->offer != NULL || a->load[ROUTE_VOICE] > 0)
		return 0;
	return a->load[ch] < a->cfg.capacity[ch];
}

/* File m's agent in m's bucket heap by the queue's strategy. */
static void
member_put(struct member *m)
{
	const struct agent *a = m->a;
	const struct bucket *b = m->b;
	int64_t k1 = a->idle_since, k2 = 0;
	int cap = 0, load = 0;

	switch (b->q->cfg.strategy) {
	case ROUTE_LEAST_OCCUPANCY:
		for (int c = 0; c < ROUTE__CHANNELS; c++) {
			cap += a->cfg.capacity[c];
			load += a->load[c];
		}
		k1 = cap ? (int64_t)load * 1000 / cap : 0;
		k2 = a->idle_since;
		break;
	case ROUTE_BEST_PROFICIENCY:
		k1 = 0;
		for (unsigned i = 0; i < b->key.nreq; i++)
			k1 -= agent_prof(a, b->key.req[i].skill);
		k2 = a->idle_since;
		break;
	case ROUTE_ROUND_ROBIN:
		k1 = (int64_t)a->last_offer;
		k2 = a->idle_since;
		break;
	case ROUTE_FEWEST_TODAY:
		k1 = a->handled;
		k2 = a->idle_since;
		break;
	default:
		break;
	}
	heap_put(&m->b->agents, &m->node, k1, k2, a->id);
}

/* Put the agent in or out of its buckets' agent heaps, with fresh keys. */
static void
agent_sync(struct agent *a)
{
	for (size_t i = 0; i < a->nmem; i++) {
		struct member *m = a->mem[i];
		if (agent_free(a, m->b->key.channel))
			member_put(m);
		else
			heap_remove(&m->b->agents, &m->node);
	}
}

static int
member_add(struct agent *a, struct bucket *b)
{
	struct member *m;

	if (a->nmem == a->capmem) {
		size_t cap = a->capmem ? a->capmem * 2 : 8;
		struct member **v = realloc(a->mem, cap * sizeof *v);
		if (v == NULL)
			return -1;
		a->mem = v;
		a->capmem = cap;
	}
	if ((m = calloc(1, sizeof *m)) == NULL)
		return -1;
	m->a = a;
	m->b = b;
	m->node.idx = HEAP_OUT;
	a->mem[a->nmem++] = m;
	return 0;
}

static void
members_clear(struct agent *a)
{
	for (size_t i = 0; i < a->nmem; i++) {
		heap_remove(&a->mem[i]->b->agents, &a->mem[i]->node);
		free(a->mem[i]);
	}
	a->nmem = 0;
}

static void
serving_count(struct route *r, const struct agent *a, int delta)
{
	for (unsigned i = 0; i < a->cfg.nqueues; i++) {
		struct queue *q = queue_find(r, a->cfg.queues[i]);
		if (q != NULL)
			q->serving = (size_t)((long)q->serving + delta);
	}
}

static enum route_agent_state
agent_state(const struct agent *a)
{
	switch (a->presence) {
	case P_OFFLINE:
		return ROUTE_AGENT_OFFLINE;
	case P_PAUSED:
		return ROUTE_AGENT_PAUSED;
	case P_WRAP_UP:
		return ROUTE_AGENT_WRAP_UP;
	default:
		break;
	}
	if (a->offer != NULL)
		return ROUTE_AGENT_RESERVED;
	if (a->load[ROUTE_VOICE] > 0 ||
	    (a->load[ROUTE_ASYNC] > 0 && a->load[ROUTE_ASYNC] >= a->cfg.capacity[ROUTE_ASYNC]))
		return ROUTE_AGENT_BUSY;
	return ROUTE_AGENT_READY;
}

/* --- items and buckets --- */

static struct bucket *
bucket_get(struct route *r, const struct item *it, int level)
{
	struct bucket_key k;
	struct bucket *b;
	struct agent *a, *ta;

	memset(&k, 0, sizeof k);
	k.queue = it->in.queue;
	k.site = level >= 2 ? 0 : it->in.site;
	k.channel = (uint8_t)it->in.channel;
	k.level = (uint8_t)level;
	k.nreq = (uint8_t)it->in.nreq;
	memcpy(k.req, it->in.req, it->in.nreq * sizeof k.req[0]);
	HASH_FIND(hh, r->buckets, &k, sizeof k, b);
	if (b != NULL)
		return b;
	if ((b = calloc(1, sizeof *b)) == NULL)
		abort();
	b->key = k;
	b->q = queue_find(r, k.queue);
	HASH_ADD(hh, r->buckets, key, sizeof k, b);
	r->nbuckets++;
	HASH_ITER(hh, r->agents, a, ta)
	{
		if (!eligible(a, &k))
			continue;
		if (member_add(a, b) != 0)
			abort();
		if (agent_free(a, k.channel))
			member_put(a->mem[a->nmem - 1]);
	}
	return b;
}

static struct item *
item_find(const struct route *r, uint64_t id)
{
	struct item *it;
	HASH_FIND(hh, r->items, &id, sizeof id, it);
	return it;
}

/* The next level step of a waiting item: its instant, or INT64_MAX. */
static int64_t
step_next(const struct item *it, int *level)
{
	const struct route_queue_cfg *q = &it->b->q->cfg;
	int64_t at = INT64_MAX;

	if (it->level < 1 && q->relax_ms > 0) {
		at = it->in.enqueued_ms + q->relax_ms;
		*level = 1;
	}
	if (it->level < 2 && q->overflow_ms > 0 && it->in.enqueued_ms + q->overflow_ms <= at) {
		at = it->in.enqueued_ms + q->overflow_ms;
		*level = 2;
	}
	return at;
}

/* Reserve it for a until now + the queue's offer time; the deadline. */
static int64_t
offer_set(struct route *r, struct item *it, struct agent *a, int64_t now)
{
	int64_t until = now + it->b->q->cfg.offer_ms;

	heap_remove(&it->b->items, &it->node);
	if (it->state == ROUTE_ITEM_HELD)
		TAILQ_REMOVE(&it->agent->held, it, held);
	it->state = ROUTE_ITEM_OFFERED;
	it->agent = a;
	a->offer = it;
	a->last_offer = ++r->seq;
	agent_sync(a);
	timer_set(r, &it->timer, &it->tkind, T_OFFER, until);
	return until;
}

static void
offer(struct route *r, struct item *it, struct agent *a, int64_t now)
{
	int64_t until = offer_set(r, it, a, now);

	emit(r, ROUTE_DO_OFFER, it->id, a->id, it->level, until);
}

/* The waiting item joins its bucket: offered to the bucket's best free
 * agent (not the one who just declined it), or it waits in line. */
static void
item_place(struct route *r, struct item *it, int64_t now)
{
	const struct hent *n = heap_top(&it->b->agents);
	struct member *m = n ? CONTAINER(n->n, struct member, node) : NULL;
	int64_t at;
	int level = it->level;

	if (m != NULL && m->a->id == it->declined_by) {
		n = heap_second(&it->b->agents);
		m = n ? CONTAINER(n->n, struct member, node) : NULL;
	}
	if (m != NULL) {
		offer(r, it, m->a, now);
		return;
	}
	it->state = ROUTE_ITEM_WAITING;
	heap_put(&it->b->items, &it->node, it->vkey, it->in.enqueued_ms, it->id);
	at = step_next(it, &level);
	if (at != INT64_MAX)
		timer_set(r, &it->timer, &it->tkind, T_STEP, at);
	else
		timer_clear(r, &it->timer, &it->tkind);
}

/* Whether x goes before y in the global order. */
static int
item_before(const struct item *x, const struct item *y)
{
	struct hent ex = {x->vkey, x->in.enqueued_ms, x->id, NULL};
	struct hent ey = {y->vkey, y->in.enqueued_ms, y->id, NULL};
	return heap_less(&ex, &ey);
}

/* The best waiting item for a among its buckets, or NULL. An item the
 * agent just declined gives way to the next one in its bucket; when it is
 * alone there, nobody else was free to take it (item_place tried first),
 * so it comes back to this agent. */
static struct item *
agent_best(const struct agent *a)
{
	struct item *best = NULL;

	for (size_t i = 0; i < a->nmem; i++) {
		const struct bucket *b = a->mem[i]->b;
		const struct hent *n;
		struct item *it;

		if (!agent_free(a, b->key.channel) || (n = heap_top(&b->items)) == NULL)
			continue;
		it = CONTAINER(n->n, struct item, node);
		if (it->declined_by == a->id && (n = heap_second(&b->items)) != NULL)
			it = CONTAINER(n->n, struct item, node);
		if (best == NULL || item_before(it, best))
			best = it;
	}
	return best;
}

/* The agent may have become free: give it work, or file it as free. */
static void
agent_try(struct route *r, struct agent *a, int64_t now)
{
	struct item *it;

	if (a->presence != P_READY || a->offer != NULL) {
		agent_sync(a);
		return;
	}
	TAILQ_FOREACH(it, &a->held, held)
	{
		if (agent_free(a, it->in.channel)) {
			offer(r, it, a, now);
			return;
		}
	}
	if ((it = agent_best(a)) != NULL) {
		offer(r, it, a, now);
		return;
	}
	agent_sync(a);
}

/* --- queues --- */

int
route_queue_set(struct route *r, const struct route_queue_cfg *cfg)
{
	struct queue *q = queue_find(r, cfg->id);
	struct agent *a, *ta;
	struct item *it, *ti;

	if ((unsigned)cfg->strategy >= ROUTE__STRATEGIES || cfg->relax_ms < 0 ||
	    cfg->overflow_ms < 0 || cfg->offer_ms < 0 || cfg->wrapup_ms < 0 || cfg->sticky_ms < 0 ||
	    cfg->aht_ms < 0 || cfg->ewt_overflow_ms < 0 || cfg->max_misses < 0)
		return ROUTE_EINVAL;
	if (q == NULL) {
		if ((q = calloc(1, sizeof *q)) == NULL)
			return ROUTE_ENOMEM;
		q->id = cfg->id;
		HASH_ADD(hh, r->queues, id, sizeof q->id, q);
		HASH_ITER(hh, r->agents, a, ta)
		{
			if (a->presence != P_OFFLINE && agent_serves(a, q->id))
				q->serving++;
		}
	}
	q->cfg = *cfg;
	/* waiting work steps by the new times (an earlier step fires at once) */
	HASH_ITER(hh, r->items, it, ti)
	{
		int level = it->level;
		int64_t at;
		if (it->b->q != q || it->state != ROUTE_ITEM_WAITING)
			continue;
		if ((at = step_next(it, &level)) != INT64_MAX)
			timer_set(r, &it->timer, &it->tkind, T_STEP, at);
		else
			timer_clear(r, &it->timer, &it->tkind);
	}
	if (q->cfg.offer_ms == 0)
		q->cfg.offer_ms = 15 * 1000;
	if (q->cfg.aht_ms == 0)
		q->cfg.aht_ms = 180 * 1000;
	if (q->cfg.max_misses == 0)
		q->cfg.max_misses = 3;
	/* a new strategy reorders the free agents of the queue's buckets */
	HASH_ITER(hh, r->agents, a, ta)
	{
		if (agent_serves(a, q->id))
			agent_sync(a);
	}
	return ROUTE_OK;
}

/* --- agent events --- */

int
route_agent_set(struct route *r, const struct route_agent_cfg *cfg, int64_t now)
{
	struct agent *a = agent_find(r, cfg->id);
	struct bucket *b, *tb;

	if (cfg->id == 0 || cfg->nskills > ROUTE_MAX_SKILLS || cfg->nqueues > ROUTE_MAX_QUEUES ||
	    cfg->capacity[ROUTE_VOICE] < 0 || cfg->capacity[ROUTE_ASYNC] < 0)
		return ROUTE_EINVAL;
	for (unsigned i = 0; i < cfg->nskills; i++)
		if (cfg->skills[i].prof < 1 || cfg->skills[i].prof > ROUTE_PROF_MAX)
			return ROUTE_EINVAL;
	if (a == NULL) {
		if ((a = calloc(1, sizeof *a)) == NULL)
			return ROUTE_ENOMEM;
		a->id = cfg->id;
		a->presence = P_OFFLINE;
		a->since = a->idle_since = now;
		a->timer.idx = HEAP_OUT;
		TAILQ_INIT(&a->held);
		HASH_ADD(hh, r->agents, id, sizeof a->id, a);
	} else {
		members_clear(a);
		if (a->presence != P_OFFLINE)
			serving_count(r, a, -1);
	}
	a->cfg = *cfg;
	if (a->presence != P_OFFLINE)
		serving_count(r, a, +1);
	HASH_ITER(hh, r->buckets, b, tb)
	{
		if (eligible(a, &b->key) && member_add(a, b) != 0)
			return ROUTE_ENOMEM;
	}
	agent_try(r, a, now);
	return ROUTE_OK;
}

static void
presence_set(struct route *r, struct agent *a, enum presence p, const char *reason, int64_t now)
{
	if ((a->presence == P_OFFLINE) != (p == P_OFFLINE))
		serving_count(r, a, p == P_OFFLINE ? -1 : +1);
	if (a->presence != p)
		a->since = now;
	a->presence = p;
	snprintf(a->reason, sizeof a->reason, "%s", reason ? reason : "");
	if (p != P_WRAP_UP && a->tkind == T_WRAPUP)
		timer_clear(r, &a->timer, &a->tkind);
}

int
route_agent_ready(struct route *r, uint32_t id, int64_t now)
{
	struct agent *a = agent_find(r, id);

	if (a == NULL)
		return ROUTE_ENOENT;
	if (a->presence == P_READY)
		return ROUTE_OK;
	presence_set(r, a, P_READY, NULL, now);
	a->idle_since = now;
	a->misses = 0;
	agent_try(r, a, now);
	return ROUTE_OK;
}

static void offer_back(struct route *r, struct item *it, int64_t now, int missed);

static int
agent_leave(struct route *r, uint32_t id, enum presence p, const char *reason, int64_t now)
{
	struct agent *a = agent_find(r, id);
	struct item *it;

	if (a == NULL)
		return ROUTE_ENOENT;
	if (reason != NULL && strlen(reason) > ROUTE_REASON_MAX)
		return ROUTE_EINVAL;
	presence_set(r, a, p, reason, now);
	if (a->offer != NULL) {
		emit(r, ROUTE_DO_RETRACT, a->offer->id, a->id, a->offer->level, now);
		offer_back(r, a->offer, now, 0);
	}
	/* work held for this agent joins the line */
	while ((it = TAILQ_FIRST(&a->held)) != NULL) {
		TAILQ_REMOVE(&a->held, it, held);
		it->agent = NULL;
		it->state = ROUTE_ITEM_WAITING;
		item_place(r, it, now);
	}
	agent_sync(a);
	return ROUTE_OK;
}

int
route_agent_pause(struct route *r, uint32_t id, const char *reason, int64_t now)
{
	return agent_leave(r, id, P_PAUSED, reason, now);
}

int
route_agent_offline(struct route *r, uint32_t id, int64_t now)
{
	return agent_leave(r, id, P_OFFLINE, NULL, now);
}

void
route_day_reset(struct route *r)
{
	struct agent *a, *ta;

	HASH_ITER(hh, r->agents, a, ta)
	{
		a->handled = 0;
		agent_sync(a);
	}
}

/* --- item events --- */

int
route_item_add(struct route *r, const struct route_item_in *in, int64_t now)
{
	struct queue *q = queue_find(r, in->queue);
	struct item *it;
	struct agent *sticky;
	int64_t due;

	if (q == NULL)
		return ROUTE_ENOENT;
	if (in->id == 0 || in->nreq > ROUTE_MAX_REQ || (unsigned)in->channel >= ROUTE__CHANNELS ||
	    in->priority < 1 || in->priority > 9 || in->boost_ms < 0)
		return ROUTE_EINVAL;
	for (unsigned i = 0; i < in->nreq; i++)
		if (in->req[i].prof < 1 || in->req[i].prof > ROUTE_PROF_MAX)
			return ROUTE_EINVAL;
	if (item_find(r, in->id) != NULL)
		return ROUTE_EEXIST;
	if ((it = calloc(1, sizeof *it)) == NULL)
		return ROUTE_ENOMEM;
	it->id = in->id;
	it->in = *in;
	/* requirements in skill order, so equal sets share a bucket */
	for (unsigned i = 1; i < it->in.nreq; i++)
		for (unsigned j = i; j > 0 && it->in.req[j].skill < it->in.req[j - 1].skill; j--) {
			struct route_skill t = it->in.req[j];
			it->in.req[j] = it->in.req[j - 1];
			it->in.req[j - 1] = t;
		}
	if (it->in.enqueued_ms == 0)
		it->in.enqueued_ms = now;
	it->node.idx = it->timer.idx = HEAP_OUT;
	it->vkey =
	    it->in.enqueued_ms - (int64_t)it->in.priority * r->p.class_step_ms - it->in.boost_ms;
	if (it->in.sla_due_ms > 0 && (due = it->in.sla_due_ms - r->p.sla_horizon_ms) < it->vkey)
		it->vkey = due;
	HASH_ADD(hh, r->items, id, sizeof it->id, it);
	/* the level its wait already earned (work restored after a restart),
	 * or at once other sites when the wait here is estimated too long */
	it->level = 0;
	if (q->cfg.relax_ms > 0 && now >= it->in.enqueued_ms + q->cfg.relax_ms)
		it->level = 1;
	if ((q->cfg.overflow_ms > 0 && now >= it->in.enqueued_ms + q->cfg.overflow_ms) ||
	    (q->cfg.ewt_overflow_ms > 0 && route_queue_ewt(r, q->id) > q->cfg.ewt_overflow_ms))
		it->level = 2;
	q->waiting++;
	r->nwaiting++;
	it->b = bucket_get(r, it, it->level);
	sticky = in->sticky_agent ? agent_find(r, in->sticky_agent) : NULL;
	if (sticky != NULL && q->cfg.sticky_ms > 0 && agent_serves(sticky, q->id) &&
	    sticky->cfg.capacity[in->channel] > 0 && sticky->presence != P_OFFLINE) {
		if (agent_free(sticky, in->channel)) {
			it->state = ROUTE_ITEM_HELD;
			it->agent = sticky;
			TAILQ_INSERT_TAIL(&sticky->held, it, held);
			offer(r, it, sticky, now);
			return ROUTE_OK;
		}
		it->state = ROUTE_ITEM_HELD;
		it->agent = sticky;
		TAILQ_INSERT_TAIL(&sticky->held, it, held);
		timer_set(r, &it->timer, &it->tkind, T_STICKY, now + q->cfg.sticky_ms);
		return ROUTE_OK;
	}
	item_place(r, it, now);
	return ROUTE_OK;
}

/* Take the item's load off its agent. */
static void
load_release(struct agent *a, int ch)
{
	a->load[ch]--;
	if (a->forced[ch] > 0)
		a->forced[ch]--;
}

static void
item_forget(struct route *r, struct item *it)
{
	struct queue *q = it->b->q;

	heap_remove(&it->b->items, &it->node);
	timer_clear(r, &it->timer, &it->tkind);
	if (it->state != ROUTE_ITEM_ASSIGNED) {
		q->waiting--;
		r->nwaiting--;
	}
	HASH_DEL(r->items, it);
	free(it);
}

/* An offer ended without an accept: the item goes back to its place, the
 * agent is free again (or paused after too many misses). */
static void
offer_back(struct route *r, struct item *it, int64_t now, int missed)
{
	struct agent *a = it->agent;

	a->offer = NULL;
	it->agent = NULL;
	it->declined_by = a->id;
	timer_clear(r, &it->timer, &it->tkind);
	if (missed && ++a->misses >= (unsigned)it->b->q->cfg.max_misses && a->presence == P_READY) {
		presence_set(r, a, P_PAUSED, "missed", now);
		emit(r, ROUTE_DO_PAUSE, it->id, a->id, 0, now);
	}
	it->state = ROUTE_ITEM_WAITING;
	item_place(r, it, now);
	agent_try(r, a, now);
}

int
route_item_remove(struct route *r, uint64_t id, int64_t now)
{
	struct item *it = item_find(r, id);
	struct agent *a;

	if (it == NULL)
		return ROUTE_ENOENT;
	a = it->agent;
	switch (it->state) {
	case ROUTE_ITEM_HELD:
		TAILQ_REMOVE(&a->held, it, held);
		break;
	case ROUTE_ITEM_OFFERED:
		a->offer = NULL;
		break;
	case ROUTE_ITEM_ASSIGNED:
		load_release(a, it->in.channel);
		break;
	default:
		a = NULL;
		break;
	}
	item_forget(r, it);
	if (a != NULL)
		agent_try(r, a, now);
	return ROUTE_OK;
}

int
route_offer_accept(struct route *r, uint64_t id, int64_t now)
{
	struct item *it = item_find(r, id);
	struct agent *a;

	if (it == NULL)
		return ROUTE_ENOENT;
	if (it->state != ROUTE_ITEM_OFFERED)
		return ROUTE_ESTATE;
	a = it->agent;
	timer_clear(r, &it->timer, &it->tkind);
	it->state = ROUTE_ITEM_ASSIGNED;
	a->offer = NULL;
	a->misses = 0;
	a->idle_since = now;
	a->load[it->in.channel]++;
	it->b->q->waiting--;
	r->nwaiting--;
	agent_try(r, a, now);
	return ROUTE_OK;
}

int
route_offer_decline(struct route *r, uint64_t id, int64_t now)
{
	struct item *it = item_find(r, id);

	if (it == NULL)
		return ROUTE_ENOENT;
	if (it->state != ROUTE_ITEM_OFFERED)
		return ROUTE_ESTATE;
	offer_back(r, it, now, 1);
	return ROUTE_OK;
}

int
route_item_assign(struct route *r, uint64_t id, uint32_t agent, const struct route_item_in *in,
                  int64_t now)
{
	struct item *it = item_find(r, id);
	struct agent *a = agent_find(r, agent), *other = NULL;
	int ch, rc;

	if (a == NULL)
		return ROUTE_ENOENT;
	if (it == NULL) {
		struct queue *q;
		if (in == NULL || in->id != id || (q = queue_find(r, in->queue)) == NULL)
			return ROUTE_ENOENT;
		/* added as if the queue had no sticky hold, then taken */
		struct route_item_in copy = *in;
		copy.sticky_agent = 0;
		if ((rc = route_item_add(r, &copy, now)) != ROUTE_OK)
			return rc;
		if ((it = item_find(r, id)) == NULL)
			return ROUTE_ENOENT;
	}
	ch = it->in.channel;
	switch (it->state) {
	case ROUTE_ITEM_ASSIGNED:
		if (it->agent == a)
			return ROUTE_OK;
		other = it->agent;
		load_release(other, ch);
		break;
	case ROUTE_ITEM_OFFERED:
		other = it->agent;
		other->offer = NULL;
		it->b->q->waiting--;
		r->nwaiting--;
		break;
	case ROUTE_ITEM_HELD:
		TAILQ_REMOVE(&it->agent->held, it, held);
		it->b->q->waiting--;
		r->nwaiting--;
		break;
	default:
		heap_remove(&it->b->items, &it->node);
		it->b->q->waiting--;
		r->nwaiting--;
		break;
	}
	timer_clear(r, &it->timer, &it->tkind);
	it->state = ROUTE_ITEM_ASSIGNED;
	it->agent = a;
	if (a->load[ch] >= a->cfg.capacity[ch])
		a->forced[ch]++;
	a->load[ch]++;
	a->idle_since = now;
	agent_sync(a);
	if (other != NULL && other != a)
		agent_try(r, other, now);
	return ROUTE_OK;
}

int
route_offer_to(struct route *r, uint64_t id, uint32_t agent, const struct route_item_in *in,
               int64_t now, int64_t *until)
{
	struct item *it = item_find(r, id);
	struct agent *a = agent_find(r, agent), *other = NULL;
	int rc;

	if (a == NULL)
		return ROUTE_ENOENT;
	if (it == NULL) {
		struct route_item_in copy;
		if (in == NULL || in->id != id)
			return ROUTE_ENOENT;
		copy = *in;
		copy.sticky_agent = 0;
		if ((rc = route_item_add(r, &copy, now)) != ROUTE_OK)
			return rc;
		if ((it = item_find(r, id)) == NULL)
			return ROUTE_ENOENT;
	}
	if (it->state == ROUTE_ITEM_ASSIGNED)
		return ROUTE_ESTATE;
	if (it->state == ROUTE_ITEM_OFFERED) {
		if (it->agent == a) {
			*until = it->timer.idx != HEAP_OUT ? r->timers.a[it->timer.idx].k1 : now;
			return ROUTE_OK;
		}
		other = it->agent;
		other->offer = NULL;
		it->agent = NULL;
		it->state = ROUTE_ITEM_WAITING;
	}
	if (a->offer != NULL) {
		/* the agent's own pending offer of other work goes back */
		struct item *prev = a->offer;
		emit(r, ROUTE_DO_RETRACT, prev->id, a->id, prev->level, now);
		a->offer = NULL;
		prev->agent = NULL;
		timer_clear(r, &prev->timer, &prev->tkind);
		prev->state = ROUTE_ITEM_WAITING;
		item_place(r, prev, now);
	}
	*until = offer_set(r, it, a, now);
	if (other != NULL)
		agent_try(r, other, now);
	return ROUTE_OK;
}

int
route_item_done(struct route *r, uint64_t id, int64_t now)
{
	struct item *it = item_find(r, id);
	struct agent *a;
	int64_t wrapup;

	if (it == NULL)
		return ROUTE_ENOENT;
	if (it->state != ROUTE_ITEM_ASSIGNED)
		return ROUTE_ESTATE;
	a = it->agent;
	wrapup = a->cfg.own_wrapup ? a->cfg.wrapup_ms : it->b->q->cfg.wrapup_ms;
	load_release(a, it->in.channel);
	a->handled++;
	item_forget(r, it);
	if (wrapup > 0 && a->presence == P_READY) {
		presence_set(r, a, P_WRAP_UP, NULL, now);
		timer_set(r, &a->timer, &a->tkind, T_WRAPUP, now + wrapup);
		agent_sync(a);
		return ROUTE_OK;
	}
	if (a->load[ROUTE_VOICE] == 0 && a->load[ROUTE_ASYNC] == 0)
		a->idle_since = now;
	agent_try(r, a, now);
	return ROUTE_OK;
}

/* --- timers --- */

static void
item_timer(struct route *r, struct item *it, int64_t now)
{
	int level = it->level;

	switch (it->tkind) {
	case T_OFFER:
		emit(r, ROUTE_DO_RETRACT, it->id, it->agent->id, it->level, now);
		offer_back(r, it, now, 1);
		break;
	case T_STICKY:
		TAILQ_REMOVE(&it->agent->held, it, held);
		it->agent = NULL;
		it->tkind = T_NONE;
		it->state = ROUTE_ITEM_WAITING;
		item_place(r, it, now);
		break;
	case T_STEP: {
		int64_t at = step_next(it, &level);
		it->tkind = T_NONE;
		if (at > now) { /* the queue's steps changed since it was armed */
			if (at != INT64_MAX)
				timer_set(r, &it->timer, &it->tkind, T_STEP, at);
			break;
		}
		heap_remove(&it->b->items, &it->node);
		it->level = level;
		it->b = bucket_get(r, it, level);
		emit(r, ROUTE_DO_STEP, it->id, 0, level, now);
		item_place(r, it, now);
		break;
	}
	default:
		break;
	}
}

void
route_timer_run(struct route *r, int64_t now)
{
	const struct hent *e;

	while ((e = heap_top(&r->timers)) != NULL && e->k1 <= now) {
		struct hnode *t = e->n;
		int owner = (int)e->k2;
		heap_remove(&r->timers, t);
		if (owner == OWNER_AGENT) {
			struct agent *a = CONTAINER(t, struct agent, timer);
			a->tkind = T_NONE;
			if (a->presence == P_WRAP_UP) {
				presence_set(r, a, P_READY, NULL, now);
				a->idle_since = now;
				emit(r, ROUTE_DO_AGENT_FREE, 0, a->id, 0, now);
				agent_try(r, a, now);
			}
		} else {
			item_timer(r, CONTAINER(t, struct item, timer), now);
		}
	}
}

/* --- reads --- */

int
route_agent_info(const struct route *r, uint32_t id, struct route_agent_info *out)
{
	const struct agent *a = agent_find(r, id);

	if (a == NULL)
		return ROUTE_ENOENT;
	memset(out, 0, sizeof *out);
	out->state = agent_state(a);
	out->since_ms = a->since;
	snprintf(out->reason, sizeof out->reason, "%s", a->reason);
	memcpy(out->load, a->load, sizeof out->load);
	out->offer = a->offer ? a->offer->id : 0;
	out->handled_today = a->handled;
	out->misses = a->misses;
	return ROUTE_OK;
}

int64_t
route_queue_ewt(const struct route *r, uint32_t queue)
{
	const struct queue *q = queue_find(r, queue);

	if (q == NULL)
		return 0;
	return (int64_t)(q->waiting + 1) * q->cfg.aht_ms / (int64_t)(q->serving ? q->serving : 1);
}

int
route_item_peek(const struct route *r, uint64_t id, struct route_item_info *out)
{
	const struct item *it = item_find(r, id);

	if (it == NULL)
		return ROUTE_ENOENT;
	memset(out, 0, sizeof *out);
	out->state = it->state;
	out->level = it->level;
	out->queue = it->in.queue;
	out->agent = it->agent ? it->agent->id : 0;
	out->vkey = it->vkey;
	return ROUTE_OK;
}

int
route_item_info(const struct route *r, uint64_t id, int64_t now, struct route_item_info *out)
{
	const struct item *it = item_find(r, id);
	unsigned ahead = 0;
	size_t serving;

	if (route_item_peek(r, id, out) != ROUTE_OK)
		return ROUTE_ENOENT;
	if (it->state != ROUTE_ITEM_WAITING)
		return ROUTE_OK;
	/* a scan of the item's bucket: for status pages, not per decision */
	for (size_t i = 0; i < it->b->items.n; i++)
		if (heap_less(&it->b->items.a[i], &it->b->items.a[it->node.idx]))
			ahead++;
	out->position = ahead + 1;
	serving = it->b->q->serving ? it->b->q->serving : 1;
	out->ewt_ms = (int64_t)out->position * it->b->q->cfg.aht_ms / (int64_t)serving;
	(void)now;
	return ROUTE_OK;
}

size_t
route_waiting(const struct route *r)
{
	return r->nwaiting;
}

size_t
route_buckets(const struct route *r)
{
	return r->nbuckets;
}

/* --- invariants --- */

static int
fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int
heap_ok(const struct heap *h)
{
	for (size_t i = 0; i < h->n; i++) {
		if (h->a[i].n->idx != i)
			return 0;
		if (i > 0 && heap_less(&h->a[i], &h->a[(i - 1) / 2]))
			return 0;
	}
	return 1;
}

int
route_check(const struct route *r, char *why, size_t len)
{
	const struct agent *a, *ta;
	const struct item *it, *ti;
	const struct bucket *b, *tb;
	size_t waiting = 0;

	if (!heap_ok(&r->timers))
		return fail(why, len, "timer heap out of order");
	HASH_ITER(hh, r->agents, a, ta)
	{
		int offered = 0;
		if (a->load[ROUTE_VOICE] > a->cfg.capacity[ROUTE_VOICE] + a->forced[ROUTE_VOICE] ||
		    a->load[ROUTE_ASYNC] > a->cfg.capacity[ROUTE_ASYNC] + a->forced[ROUTE_ASYNC] ||
		    a->load[0] < 0 || a->load[1] < 0)
			return fail(why, len, "agent %u over capacity", a->id);
		if (a->offer != NULL &&
		    (a->offer->agent != a || a->offer->state != ROUTE_ITEM_OFFERED))
			return fail(why, len, "agent %u offer does not point back", a->id);
		if (a->presence == P_WRAP_UP && a->tkind != T_WRAPUP)
			return fail(why, len, "agent %u in wrap-up without a timer", a->id);
		for (size_t i = 0; i < a->nmem; i++) {
			const struct member *m = a->mem[i];
			int in = m->node.idx != HEAP_OUT;
			if (in != agent_free(a, m->b->key.channel))
				return fail(why, len, "agent %u heap membership wrong", a->id);
		}
		HASH_ITER(hh, r->items, it, ti)
		{
			if (it->state == ROUTE_ITEM_OFFERED && it->agent == a)
				offered++;
		}
		if (offered > 1 || (offered == 1) != (a->offer != NULL))
			return fail(why, len, "agent %u has %d offers", a->id, offered);
	}
	HASH_ITER(hh, r->items, it, ti)
	{
		int in = it->node.idx != HEAP_OUT;
		if (it->state != ROUTE_ITEM_ASSIGNED)
			waiting++;
		if (in != (it->state == ROUTE_ITEM_WAITING))
			return fail(why, len, "item %llu heap membership wrong",
			            (unsigned long long)it->id);
		if (it->state == ROUTE_ITEM_OFFERED &&
		    (it->tkind != T_OFFER || it->timer.idx == HEAP_OUT))
			return fail(why, len, "item %llu reserved without a timer",
			            (unsigned long long)it->id);
		if (it->state == ROUTE_ITEM_HELD &&
		    (it->tkind != T_STICKY && it->agent->offer != it))
			return fail(why, len, "item %llu held without a timer",
			            (unsigned long long)it->id);
		if ((it->state == ROUTE_ITEM_OFFERED || it->state == ROUTE_ITEM_ASSIGNED) &&
		    it->agent == NULL)
			return fail(why, len, "item %llu has no agent", (unsigned long long)it->id);
	}
	if (waiting != r->nwaiting)
		return fail(why, len, "waiting count %zu, found %zu", r->nwaiting, waiting);
	HASH_ITER(hh, r->buckets, b, tb)
	{
		const struct hent *an, *in;
		if (!heap_ok(&b->items) || !heap_ok(&b->agents))
			return fail(why, len, "bucket heap out of order");
		an = heap_top(&b->agents);
		in = heap_top(&b->items);
		if (an == NULL || in == NULL)
			continue;
		/* never a free eligible agent while work waits */
		return fail(why, len, "agent %u idle while item %llu waits",
		            CONTAINER(an->n, struct member, node)->a->id,
		            (unsigned long long)CONTAINER(in->n, struct item, node)->id);
	}
	return 0;
}
