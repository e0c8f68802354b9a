/* stats.c: queue statistics kept incrementally; see stats.h for the
 * definitions.
 *
 * Structures. Queues, sites, skills, agents and tracked items are in
 * uthash tables by id. Each queue, site, skill, agent and the overall
 * figures own one struct scope: today's counters, live gauges and a
 * version. A waiting item is a node in up to 3 + ROUTE_MAX_REQ indexed
 * binary heaps ordered by (arrival, id): its queue's, its site's, the
 * overall one and those of the skills it requires, so the longest wait is
 * a heap top and a departure costs O(log n) per scope. Agents' time per
 * state is kept per scope as closed time plus, for the agents now in a
 * state, their count and the sum of the instants their current interval
 * started, so the time as of any instant is closed + count * now - sum:
 * O(1), with no per-agent walk.
 *
 * Versions. Every event that changes something takes the next global
 * version, stamps the scopes it touches and moves them to the tail of one
 * list ordered by version; stats_changed reads that list from the tail
 * and stops at the first scope not newer than asked. */
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "heap.h"
#include "stats.h"

#define OTHER_REASON (STATS_REASONS_MAX - 1)
#define ITEM_SCOPES  (3 + ROUTE_MAX_REQ) /* queue, site, overall, skills */

/* --- the model --- */

struct scope {
	enum stats_scope kind;
	uint32_t id;
	uint64_t version;
	struct scope *prev, *next; /* the change list, by version */
	int listed;
	struct stats_counts day;
	struct heap waiting;
	uint32_t open_warnings, open_breaches;
	int64_t ewt_ms;
	/* agents (site and overall scopes) */
	uint32_t agents[ROUTE__AGENT_STATES];
	int64_t closed_ms[ROUTE__AGENT_STATES];
	int64_t sum_from[ROUTE__AGENT_STATES];
	uint32_t paused[STATS_REASONS_MAX];
};

struct queue {
	uint32_t id, home_site;
	int64_t sl_ms, short_ms;
	struct scope sc;
	UT_hash_handle hh;
};

struct site {
	uint32_t id;
	struct scope sc;
	UT_hash_handle hh;
};

struct skill {
	uint32_t id, home_site;
	struct scope sc;
	UT_hash_handle hh;
};

/* An agent's place in a queue it serves. */
struct member {
	struct queue *q;
	int64_t from; /* today's accumulation of its state there since */
};

/* An agent's place in a skill it holds. */
struct holder {
	struct skill *k;
	int64_t from;
};

struct agent {
	uint32_t id;
	struct site *site;
	enum route_agent_state state;
	char reason[ROUTE_REASON_MAX + 1];
	int reason_idx;
	int64_t since; /* in this state since */
	int64_t from;  /* today's accumulation of this state since */
	int64_t closed_ms[ROUTE__AGENT_STATES];
	int wrap_open; /* a wrap-up after done work runs */
	int64_t wrap_from;
	struct queue *wrap_q;
	struct site *wrap_s;
	unsigned wrap_nk;
	struct skill *wrap_k[ROUTE_MAX_REQ];
	unsigned nmembers;
	struct member members[ROUTE_MAX_QUEUES]; /* the queues it serves */
	unsigned nheld;
	struct holder held[ROUTE_MAX_SKILLS]; /* the skills it holds */
	struct scope sc;
	UT_hash_handle hh;
};

enum item_state { I_WAITING, I_TALKING };

struct item {
	uint64_t id;
	struct queue *q;
	struct site *s;
	struct agent *agent; /* answered by */
	enum item_state state;
	int severity; /* a complaint's, counted on arrival; 0 otherwise */
	int64_t enq_ms, answered_ms;
	unsigned nk;
	struct skill *k[ROUTE_MAX_REQ]; /* the skills it requires */
	struct hnode node[ITEM_SCOPES]; /* queue, site, overall, skills */
	UT_hash_handle hh;
};

struct stats {
	struct stats_limits lim;
	struct queue *queues;
	struct site *sites;
	struct skill *skills;
	struct agent *agents;
	struct item *items;
	uint32_t nqueues, nsites, nskills, nagents, nitems;
	struct scope all;
	uint64_t version;
	struct scope *head, *tail; /* oldest and newest change */
	unsigned nreasons;
	char reasons[STATS_REASONS_MAX][ROUTE_REASON_MAX + 1];
};

static void
scope_init(struct scope *sc, enum stats_scope kind, uint32_t id)
{
	memset(sc, 0, sizeof *sc);
	sc->kind = kind;
	sc->id = id;
	sc->ewt_ms = -1;
}

struct stats *
stats_new(const struct stats_limits *lim)
{
	struct stats *st = calloc(1, sizeof *st);

	if (st == NULL)
		return NULL;
	st->lim.max_queues = lim && lim->max_queues ? lim->max_queues : 4096;
	st->lim.max_sites = lim && lim->max_sites ? lim->max_sites : 256;
	st->lim.max_agents = lim && lim->max_agents ? lim->max_agents : 65536;
	st->lim.max_items = lim && lim->max_items ? lim->max_items : 1u << 20;
	st->lim.max_skills = lim && lim->max_skills ? lim->max_skills : 4096;
	scope_init(&st->all, STATS_ALL, 0);
	strcpy(st->reasons[OTHER_REASON], "other");
	return st;
}

void
stats_free(struct stats *st)
{
	struct item *it, *ti;
	struct agent *a, *ta;
	struct queue *q, *tq;
	struct site *s, *ts;
	struct skill *k, *tk;

	if (st == NULL)
		return;
	HASH_ITER(hh, st->items, it, ti)
	{
		HASH_DEL(st->items, it);
		free(it);
	}
	HASH_ITER(hh, st->agents, a, ta)
	{
		HASH_DEL(st->agents, a);
		free(a);
	}
	HASH_ITER(hh, st->queues, q, tq)
	{
		HASH_DEL(st->queues, q);
		heap_free(&q->sc.waiting);
		free(q);
	}
	HASH_ITER(hh, st->sites, s, ts)
	{
		HASH_DEL(st->sites, s);
		heap_free(&s->sc.waiting);
		free(s);
	}
	HASH_ITER(hh, st->skills, k, tk)
	{
		HASH_DEL(st->skills, k);
		heap_free(&k->sc.waiting);
		free(k);
	}
	heap_free(&st->all.waiting);
	free(st);
}

const char *
stats_rc_name(int rc)
{
	switch (rc) {
	case STATS_OK:
		return "ok";
	case STATS_ENOENT:
		return "not_found";
	case STATS_EEXIST:
		return "exists";
	case STATS_EINVAL:
		return "invalid";
	case STATS_ESTATE:
		return "bad_state";
	case STATS_ENOSPC:
		return "limit";
	case STATS_ENOMEM:
		return "no_memory";
	}
	return "unknown";
}

/* --- lookups --- */

static struct queue *
queue_find(const struct stats *st, uint32_t id)
{
	struct queue *q;

	HASH_FIND(hh, st->queues, &id, sizeof id, q);
	return q;
}

static struct site *
site_find(const struct stats *st, uint32_t id)
{
	struct site *s;

	HASH_FIND(hh, st->sites, &id, sizeof id, s);
	return s;
}

static struct skill *
skill_find(const struct stats *st, uint32_t id)
{
	struct skill *k;

	HASH_FIND(hh, st->skills, &id, sizeof id, k);
	return k;
}

/* The n skills named by ids into out: 0, or a refusal (unknown, repeated,
 * too many). */
static int
skills_get(const struct stats *st, const uint32_t *ids, unsigned n, unsigned max,
           struct skill **out)
{
	if (n > max || (n > 0 && ids == NULL))
		return STATS_EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if ((out[i] = skill_find(st, ids[i])) == NULL)
			return STATS_ENOENT;
		for (unsigned j = 0; j < i; j++)
			if (out[j] == out[i])
				return STATS_EINVAL;
	}
	return STATS_OK;
}

static struct agent *
agent_find(const struct stats *st, uint32_t id)
{
	struct agent *a;

	HASH_FIND(hh, st->agents, &id, sizeof id, a);
	return a;
}

static struct item *
item_find(const struct stats *st, uint64_t id)
{
	struct item *it;

	HASH_FIND(hh, st->items, &id, sizeof id, it);
	return it;
}

/* The site, made when new: 0, or a refusal when it cannot be. */
static int
site_get(struct stats *st, uint32_t id, struct site **out)
{
	struct site *s;

	if (id == 0)
		return STATS_EINVAL;
	if ((s = site_find(st, id)) == NULL) {
		if (st->nsites >= st->lim.max_sites)
			return STATS_ENOSPC;
		if ((s = calloc(1, sizeof *s)) == NULL)
			return STATS_ENOMEM;
		s->id = id;
		scope_init(&s->sc, STATS_SITE, id);
		HASH_ADD(hh, st->sites, id, sizeof s->id, s);
		st->nsites++;
	}
	*out = s;
	return STATS_OK;
}

/* Whether a site could be had without passing a bound. */
static int
site_check(const struct stats *st, uint32_t id)
{
	if (id == 0)
		return STATS_EINVAL;
	if (site_find(st, id) == NULL && st->nsites >= st->lim.max_sites)
		return STATS_ENOSPC;
	return STATS_OK;
}

/* --- versions --- */

/* Start a change: the version its scopes take. */
static void
change(struct stats *st)
{
	st->version++;
}

/* The scope changed in the current change: stamp it and move it last. */
static void
touch(struct stats *st, struct scope *sc)
{
	if (sc->listed && sc->version == st->version)
		return;
	sc->version = st->version;
	if (sc->listed) {
		if (st->tail == sc)
			return;
		if (sc->prev)
			sc->prev->next = sc->next;
		else
			st->head = sc->next;
		sc->next->prev = sc->prev;
	}
	sc->listed = 1;
	sc->prev = st->tail;
	sc->next = NULL;
	if (st->tail)
		st->tail->next = sc;
	else
		st->head = sc;
	st->tail = sc;
}

/* --- counters --- */

static void
counts_sub(struct stats_counts *a, const struct stats_counts *b)
{
	a->offered -= b->offered;
	a->presented -= b->presented;
	a->answered -= b->answered;
	a->answered_in_sl -= b->answered_in_sl;
	a->abandoned -= b->abandoned;
	a->abandoned_in_sl -= b->abandoned_in_sl;
	a->short_abandoned -= b->short_abandoned;
	a->transferred_in -= b->transferred_in;
	a->transferred_out -= b->transferred_out;
	a->handled -= b->handled;
	a->wrapups -= b->wrapups;
	a->answer_wait_ms -= b->answer_wait_ms;
	a->abandon_wait_ms -= b->abandon_wait_ms;
	a->talk_ms -= b->talk_ms;
	a->wrapup_ms -= b->wrapup_ms;
	for (int i = 0; i <= STATS_SEVERITIES; i++)
		a->complaints[i] -= b->complaints[i];
	a->csat_count -= b->csat_count;
	a->csat_sum -= b->csat_sum;
	a->sla_warnings -= b->sla_warnings;
	a->sla_breaches -= b->sla_breaches;
}

/* The scopes an item event of q at s requiring the nk skills k counts
 * in, touched: how many. */
static unsigned
item_scopes(struct stats *st, struct queue *q, struct site *s, struct skill *const *k, unsigned nk,
            struct scope *sc[ITEM_SCOPES])
{
	unsigned n = 0;

	sc[n++] = &q->sc;
	sc[n++] = &s->sc;
	sc[n++] = &st->all;
	for (unsigned i = 0; i < nk; i++)
		sc[n++] = &k[i]->sc;
	for (unsigned i = 0; i < n; i++)
		touch(st, sc[i]);
	return n;
}

/* The scopes of an item as it is now, touched: how many. */
static unsigned
item_scopes_of(struct stats *st, struct item *it, struct scope *sc[ITEM_SCOPES])
{
	return item_scopes(st, it->q, it->s, it->k, it->nk, sc);
}

static int64_t
elapsed(int64_t from, int64_t now)
{
	return now > from ? now - from : 0;
}

/* The heaps of an item's scopes (not touched): how many. */
static unsigned
item_heaps(struct stats *st, struct item *it, struct scope *sc[ITEM_SCOPES])
{
	unsigned n = 0;

	sc[n++] = &it->q->sc;
	sc[n++] = &it->s->sc;
	sc[n++] = &st->all;
	for (unsigned i = 0; i < it->nk; i++)
		sc[n++] = &it->k[i]->sc;
	return n;
}

/* Put a waiting item in its heaps (room reserved). */
static void
item_enqueue(struct stats *st, struct item *it)
{
	struct scope *sc[ITEM_SCOPES];
	unsigned n = item_heaps(st, it, sc);

	for (unsigned i = 0; i < n; i++)
		heap_put(&sc[i]->waiting, &it->node[i], it->enq_ms, 0, it->id);
}

static void
item_dequeue(struct stats *st, struct item *it)
{
	struct scope *sc[ITEM_SCOPES];
	unsigned n = item_heaps(st, it, sc);

	for (unsigned i = 0; i < n; i++)
		heap_remove(&sc[i]->waiting, &it->node[i]);
}

/* Room in the heaps of q, s, overall and the nk skills k for one more
 * item. */
static int
item_reserve(struct stats *st, struct queue *q, struct site *s, struct skill *const *k, unsigned nk)
{
	if (heap_reserve(&q->sc.waiting) != 0 || heap_reserve(&s->sc.waiting) != 0 ||
	    heap_reserve(&st->all.waiting) != 0)
		return STATS_ENOMEM;
	for (unsigned i = 0; i < nk; i++)
		if (heap_reserve(&k[i]->sc.waiting) != 0)
			return STATS_ENOMEM;
	return STATS_OK;
}

static void
item_free(struct stats *st, struct item *it)
{
	item_dequeue(st, it);
	HASH_DEL(st->items, it);
	st->nitems--;
	free(it);
}

/* --- agents' time per state --- */

/* An agent in state (paused for reason slot r) since from leaves scope sc
 * at now: its interval closes there. */
static void
scope_leave(struct stats *st, struct scope *sc, enum route_agent_state state, int r, int64_t from,
            int64_t now)
{
	sc->agents[state]--;
	sc->closed_ms[state] += elapsed(from, now);
	sc->sum_from[state] -= from;
	if (state == ROUTE_AGENT_PAUSED)
		sc->paused[r]--;
	touch(st, sc);
}

/* An agent in state (paused for reason slot r) enters scope sc at now. */
static void
scope_enter(struct stats *st, struct scope *sc, enum route_agent_state state, int r, int64_t now)
{
	sc->agents[state]++;
	sc->sum_from[state] += now;
	if (state == ROUTE_AGENT_PAUSED)
		sc->paused[r]++;
	touch(st, sc);
}

/* The agent leaves its state at now: its interval closes in the agent, in
 * its site, overall, in the queues it serves and the skills it holds. */
static void
agent_leave(struct stats *st, struct agent *a, int64_t now)
{
	a->closed_ms[a->state] += elapsed(a->from, now);
	scope_leave(st, &a->site->sc, a->state, a->reason_idx, a->from, now);
	scope_leave(st, &st->all, a->state, a->reason_idx, a->from, now);
	for (unsigned i = 0; i < a->nmembers; i++)
		scope_leave(st, &a->members[i].q->sc, a->state, a->reason_idx, a->members[i].from,
		            now);
	for (unsigned i = 0; i < a->nheld; i++)
		scope_leave(st, &a->held[i].k->sc, a->state, a->reason_idx, a->held[i].from, now);
}

/* The agent enters its state (a->state, a->reason_idx set) at now. */
static void
agent_enter(struct stats *st, struct agent *a, int64_t now)
{
	a->from = now;
	scope_enter(st, &a->site->sc, a->state, a->reason_idx, now);
	scope_enter(st, &st->all, a->state, a->reason_idx, now);
	for (unsigned i = 0; i < a->nmembers; i++) {
		a->members[i].from = now;
		scope_enter(st, &a->members[i].q->sc, a->state, a->reason_idx, now);
	}
	for (unsigned i = 0; i < a->nheld; i++) {
		a->held[i].from = now;
		scope_enter(st, &a->held[i].k->sc, a->state, a->reason_idx, now);
	}
}

/* The slot of a pause reason; new reasons past the table go to "other". */
static int
reason_slot(struct stats *st, const char *reason)
{
	for (unsigned i = 0; i < st->nreasons; i++)
		if (strcmp(st->reasons[i], reason) == 0)
			return (int)i;
	if (strcmp(reason, st->reasons[OTHER_REASON]) == 0 || st->nreasons >= OTHER_REASON)
		return OTHER_REASON;
	strcpy(st->reasons[st->nreasons], reason);
	return (int)st->nreasons++;
}

/* Close the agent's running wrap-up at now, counting it where its work was. */
static void
wrap_close(struct stats *st, struct agent *a, int64_t now)
{
	struct scope *sc[ITEM_SCOPES];
	unsigned n;
	int64_t d;

	if (!a->wrap_open)
		return;
	d = elapsed(a->wrap_from, now);
	n = item_scopes(st, a->wrap_q, a->wrap_s, a->wrap_k, a->wrap_nk, sc);
	for (unsigned i = 0; i < n; i++) {
		sc[i]->day.wrapups++;
		sc[i]->day.wrapup_ms += (uint64_t)d;
	}
	a->sc.day.wrapups++;
	a->sc.day.wrapup_ms += (uint64_t)d;
	touch(st, &a->sc);
	a->wrap_open = 0;
}

/* The talk of an answered item ends at now; the agent starts its wrap-up. */
static void
talk_end(struct stats *st, struct item *it, int64_t now)
{
	struct scope *sc[ITEM_SCOPES];
	struct agent *a = it->agent;
	int64_t d = elapsed(it->answered_ms, now);
	unsigned n = item_scopes_of(st, it, sc);

	for (unsigned i = 0; i < n; i++) {
		sc[i]->day.handled++;
		sc[i]->day.talk_ms += (uint64_t)d;
	}
	a->sc.day.handled++;
	a->sc.day.talk_ms += (uint64_t)d;
	touch(st, &a->sc);
	wrap_close(st, a, now);
	a->wrap_open = 1;
	a->wrap_from = now;
	a->wrap_q = it->q;
	a->wrap_s = it->s;
	a->wrap_nk = it->nk;
	memcpy(a->wrap_k, it->k, sizeof a->wrap_k);
}

/* --- configuration --- */

int
stats_queue_set(struct stats *st, uint32_t queue, uint32_t home_site, int64_t sl_ms,
                int64_t short_ms)
{
	struct queue *q;
	struct site *s;
	int rc;

	if (queue == 0 || sl_ms < 0 || short_ms < 0)
		return STATS_EINVAL;
	if ((rc = site_check(st, home_site)) != STATS_OK)
		return rc;
	if ((q = queue_find(st, queue)) == NULL) {
		if (st->nqueues >= st->lim.max_queues)
			return STATS_ENOSPC;
		if ((q = calloc(1, sizeof *q)) == NULL)
			return STATS_ENOMEM;
		if ((rc = site_get(st, home_site, &s)) != STATS_OK) {
			free(q);
			return rc;
		}
		q->id = queue;
		scope_init(&q->sc, STATS_QUEUE, queue);
		HASH_ADD(hh, st->queues, id, sizeof q->id, q);
		st->nqueues++;
	} else if (q->home_site == home_site && q->sl_ms == sl_ms && q->short_ms == short_ms) {
		return STATS_OK;
	} else if ((rc = site_get(st, home_site, &s)) != STATS_OK) {
		return rc;
	}
	q->home_site = home_site;
	q->sl_ms = sl_ms;
	q->short_ms = short_ms;
	change(st);
	touch(st, &q->sc);
	return STATS_OK;
}

int
stats_queue_ewt(struct stats *st, uint32_t queue, int64_t ewt_ms)
{
	struct queue *q = queue_find(st, queue);

	if (q == NULL)
		return STATS_ENOENT;
	if (ewt_ms < -1)
		return STATS_EINVAL;
	if (q->sc.ewt_ms == ewt_ms)
		return STATS_OK;
	q->sc.ewt_ms = ewt_ms;
	change(st);
	touch(st, &q->sc);
	return STATS_OK;
}

int
stats_skill_set(struct stats *st, uint32_t skill, uint32_t home_site)
{
	struct skill *k;
	struct site *s;
	int rc;

	if (skill == 0)
		return STATS_EINVAL;
	if ((rc = site_check(st, home_site)) != STATS_OK)
		return rc;
	if ((k = skill_find(st, skill)) != NULL && k->home_site == home_site)
		return STATS_OK;
	if (k == NULL && st->nskills >= st->lim.max_skills)
		return STATS_ENOSPC;
	if ((rc = site_get(st, home_site, &s)) != STATS_OK)
		return rc;
	if (k == NULL) {
		if ((k = calloc(1, sizeof *k)) == NULL)
			return STATS_ENOMEM;
		k->id = skill;
		scope_init(&k->sc, STATS_SKILL, skill);
		HASH_ADD(hh, st->skills, id, sizeof k->id, k);
		st->nskills++;
	}
	k->home_site = home_site;
	change(st);
	touch(st, &k->sc);
	return STATS_OK;
}

/* --- items --- */

int
stats_item_queued(struct stats *st, uint64_t item, uint32_t queue, uint32_t site, int severity,
                  enum stats_kind kind, const uint32_t *skills, unsigned nskills, int64_t now)
{
	struct scope *sc[ITEM_SCOPES];
	struct skill *k[ROUTE_MAX_REQ];
	struct queue *q;
	struct site *s;
	struct item *it;
	unsigned n;
	int rc;

	if (item == 0 || severity < 0 || severity > STATS_SEVERITIES ||
	    (unsigned)kind >= STATS__KINDS)
		return STATS_EINVAL;
	if ((rc = skills_get(st, skills, nskills, ROUTE_MAX_REQ, k)) != STATS_OK)
		return rc;
	if ((q = queue_find(st, queue)) == NULL)
		return STATS_ENOENT;
	if (item_find(st, item) != NULL)
		return STATS_EEXIST;
	if (st->nitems >= st->lim.max_items)
		return STATS_ENOSPC;
	if ((rc = site_get(st, site, &s)) != STATS_OK)
		return rc;
	if ((rc = item_reserve(st, q, s, k, nskills)) != STATS_OK)
		return rc;
	if ((it = calloc(1, sizeof *it)) == NULL)
		return STATS_ENOMEM;
	it->id = item;
	it->q = q;
	it->s = s;
	it->nk = nskills;
	memcpy(it->k, k, nskills * sizeof k[0]);
	it->state = I_WAITING;
	it->severity = kind == STATS_COMPLAINT ? severity : -1;
	it->enq_ms = now;
	for (int i = 0; i < ITEM_SCOPES; i++)
		it->node[i].idx = HEAP_OUT;
	HASH_ADD(hh, st->items, id, sizeof it->id, it);
	st->nitems++;
	item_enqueue(st, it);

	change(st);
	n = item_scopes_of(st, it, sc);
	for (unsigned i = 0; i < n; i++) {
		sc[i]->day.offered++;
		if (kind == STATS_COMPLAINT)
			sc[i]->day.complaints[severity]++;
	}
	return STATS_OK;
}

int
stats_item_offered(struct stats *st, uint64_t item, uint32_t agent, int64_t now)
{
	struct scope *sc[ITEM_SCOPES];
	struct item *it = item_find(st, item);
	struct agent *a = agent_find(st, agent);
	unsigned n;

	(void)now;
	if (it == NULL || a == NULL)
		return STATS_ENOENT;
	if (it->state != I_WAITING)
		return STATS_ESTATE;
	change(st);
	n = item_scopes_of(st, it, sc);
	for (unsigned i = 0; i < n; i++)
		sc[i]->day.presented++;
	a->sc.day.presented++;
	touch(st, &a->sc);
	return STATS_OK;
}

int
stats_item_answered(struct stats *st, uint64_t item, uint32_t agent, int64_t now)
{
	struct scope *sc[ITEM_SCOPES];
	struct item *it = item_find(st, item);
	struct agent *a = agent_find(st, agent);
	int64_t wait;
	unsigned n;

	if (it == NULL || a == NULL)
		return STATS_ENOENT;
	if (it->state != I_WAITING)
		return STATS_ESTATE;
	wait = elapsed(it->enq_ms, now);
	change(st);
	item_dequeue(st, it);
	n = item_scopes_of(st, it, sc);
	for (unsigned i = 0; i < n; i++) {
		sc[i]->day.answered++;
		sc[i]->day.answer_wait_ms += (uint64_t)wait;
		if (wait <= it->q->sl_ms)
			sc[i]->day.answered_in_sl++;
	}
	a->sc.day.answered++;
	a->sc.day.answer_wait_ms += (uint64_t)wait;
	touch(st, &a->sc);
	it->state = I_TALKING;
	it->agent = a;
	it->answered_ms = now;
	return STATS_OK;
}

int
stats_item_abandoned(struct stats *st, uint64_t item, int64_t now)
{
	struct scope *sc[ITEM_SCOPES];
	struct item *it = item_find(st, item);
	int64_t wait;
	unsigned n;

	if (it == NULL)
		return STATS_ENOENT;
	if (it->state != I_WAITING)
		return STATS_ESTATE;
	wait = elapsed(it->enq_ms, now);
	change(st);
	n = item_scopes_of(st, it, sc);
	for (unsigned i = 0; i < n; i++) {
		if (wait < it->q->short_ms) {
			sc[i]->day.short_abandoned++;
			continue;
		}
		sc[i]->day.abandoned++;
		sc[i]->day.abandon_wait_ms += (uint64_t)wait;
		if (wait <= it->q->sl_ms)
			sc[i]->day.abandoned_in_sl++;
	}
	item_free(st, it);
	return STATS_OK;
}

int
stats_item_transferred(struct stats *st, uint64_t item, uint32_t queue, const uint32_t *skills,
                       unsigned nskills, int64_t now)
{
	struct scope *sc[ITEM_SCOPES];
	struct skill *k[ROUTE_MAX_REQ];
	struct item *it = item_find(st, item);
	struct queue *q = queue_find(st, queue);
	unsigned n;
	int rc;

	if ((rc = skills_get(st, skills, nskills, ROUTE_MAX_REQ, k)) != STATS_OK)
		return rc;
	if (it == NULL || q == NULL)
		return STATS_ENOENT;
	if (q == it->q)
		return STATS_EINVAL;
	if (item_reserve(st, q, it->s, k, nskills) != STATS_OK)
		return STATS_ENOMEM;
	change(st);
	if (it->state == I_TALKING)
		talk_end(st, it, now);
	item_dequeue(st, it);
	n = item_scopes_of(st, it, sc);
	for (unsigned i = 0; i < n; i++)
		sc[i]->day.transferred_out++;
	it->q = q;
	it->nk = nskills;
	memcpy(it->k, k, nskills * sizeof k[0]);
	it->state = I_WAITING;
	it->agent = NULL;
	it->enq_ms = now;
	item_enqueue(st, it);
	n = item_scopes_of(st, it, sc);
	for (unsigned i = 0; i < n; i++) {
		sc[i]->day.offered++;
		sc[i]->day.transferred_in++;
	}
	return STATS_OK;
}

int
stats_item_done(struct stats *st, uint64_t item, int64_t now)
{
	struct item *it = item_find(st, item);

	if (it == NULL)
		return STATS_ENOENT;
	if (it->state != I_TALKING)
		return STATS_ESTATE;
	change(st);
	talk_end(st, it, now);
	item_free(st, it);
	return STATS_OK;
}

int
stats_wrapup_end(struct stats *st, uint32_t agent, int64_t now)
{
	struct agent *a = agent_find(st, agent);

	if (a == NULL)
		return STATS_ENOENT;
	if (!a->wrap_open)
		return STATS_ESTATE;
	change(st);
	wrap_close(st, a, now);
	return STATS_OK;
}

/* --- agents --- */

int
stats_agent_state(struct stats *st, uint32_t agent, uint32_t site, enum route_agent_state state,
                  const char *reason, int64_t now)
{
	struct agent *a, *fresh = NULL;
	struct site *s;
	int rc;

	if (agent == 0 || (unsigned)state >= ROUTE__AGENT_STATES)
		return STATS_EINVAL;
	if (state != ROUTE_AGENT_PAUSED)
		reason = "";
	else if (reason == NULL || reason[0] == '\0')
		reason = "unspecified";
	if (strlen(reason) > ROUTE_REASON_MAX)
		return STATS_EINVAL;
	if ((rc = site_check(st, site)) != STATS_OK)
		return rc;
	if ((a = agent_find(st, agent)) == NULL && st->nagents >= st->lim.max_agents)
		return STATS_ENOSPC;
	if (a != NULL && a->site->id == site && a->state == state &&
	    strcmp(a->reason, reason) == 0 && (!a->wrap_open || state == ROUTE_AGENT_WRAP_UP))
		return STATS_OK;
	if ((rc = site_get(st, site, &s)) != STATS_OK)
		return rc;
	if (a == NULL && (fresh = calloc(1, sizeof *fresh)) == NULL)
		return STATS_ENOMEM;
	change(st);
	if (a == NULL) {
		a = fresh;
		a->id = agent;
		a->site = s;
		a->state = ROUTE_AGENT_OFFLINE;
		a->since = now;
		scope_init(&a->sc, STATS_AGENT, agent);
		HASH_ADD(hh, st->agents, id, sizeof a->id, a);
		st->nagents++;
		agent_enter(st, a, now);
	}
	if (state != ROUTE_AGENT_WRAP_UP)
		wrap_close(st, a, now);
	agent_leave(st, a, now);
	if (a->state != state || strcmp(a->reason, reason) != 0)
		a->since = now;
	a->site = s;
	a->state = state;
	strcpy(a->reason, reason);
	a->reason_idx = state == ROUTE_AGENT_PAUSED ? reason_slot(st, reason) : 0;
	agent_enter(st, a, now);
	touch(st, &a->sc);
	return STATS_OK;
}

int
stats_agent_queues(struct stats *st, uint32_t agent, const uint32_t *queues, unsigned n,
                   int64_t now)
{
	struct agent *a = agent_find(st, agent);
	struct queue *qs[ROUTE_MAX_QUEUES];
	struct member kept[ROUTE_MAX_QUEUES];
	unsigned nkept = 0;
	int changed = 0;

	if (a == NULL)
		return STATS_ENOENT;
	if (n > ROUTE_MAX_QUEUES || (n > 0 && queues == NULL))
		return STATS_EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if ((qs[i] = queue_find(st, queues[i])) == NULL)
			return STATS_ENOENT;
		for (unsigned j = 0; j < i; j++)
			if (qs[j] == qs[i])
				return STATS_EINVAL;
	}
	/* the queues it leaves, then the ones it joins */
	for (unsigned i = 0; i < a->nmembers; i++) {
		unsigned j = 0;
		while (j < n && qs[j] != a->members[i].q)
			j++;
		if (j < n) {
			kept[nkept++] = a->members[i];
			continue;
		}
		if (!changed++)
			change(st);
		scope_leave(st, &a->members[i].q->sc, a->state, a->reason_idx, a->members[i].from,
		            now);
	}
	a->nmembers = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned j = 0;
		while (j < nkept && kept[j].q != qs[i])
			j++;
		if (j < nkept) {
			a->members[a->nmembers++] = kept[j];
			continue;
		}
		if (!changed++)
			change(st);
		a->members[a->nmembers].q = qs[i];
		a->members[a->nmembers++].from = now;
		scope_enter(st, &qs[i]->sc, a->state, a->reason_idx, now);
	}
	if (changed)
		touch(st, &a->sc);
	return STATS_OK;
}

int
stats_agent_skills(struct stats *st, uint32_t agent, const uint32_t *skills, unsigned n,
                   int64_t now)
{
	struct agent *a = agent_find(st, agent);
	struct skill *ks[ROUTE_MAX_SKILLS];
	struct holder kept[ROUTE_MAX_SKILLS];
	unsigned nkept = 0;
	int changed = 0, rc;

	if (a == NULL)
		return STATS_ENOENT;
	if ((rc = skills_get(st, skills, n, ROUTE_MAX_SKILLS, ks)) != STATS_OK)
		return rc;
	/* the skills it drops, then the ones it takes up */
	for (unsigned i = 0; i < a->nheld; i++) {
		unsigned j = 0;
		while (j < n && ks[j] != a->held[i].k)
			j++;
		if (j < n) {
			kept[nkept++] = a->held[i];
			continue;
		}
		if (!changed++)
			change(st);
		scope_leave(st, &a->held[i].k->sc, a->state, a->reason_idx, a->held[i].from, now);
	}
	a->nheld = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned j = 0;
		while (j < nkept && kept[j].k != ks[i])
			j++;
		if (j < nkept) {
			a->held[a->nheld++] = kept[j];
			continue;
		}
		if (!changed++)
			change(st);
		a->held[a->nheld].k = ks[i];
		a->held[a->nheld++].from = now;
		scope_enter(st, &ks[i]->sc, a->state, a->reason_idx, now);
	}
	if (changed)
		touch(st, &a->sc);
	return STATS_OK;
}

/* --- satisfaction and SLA --- */

int
stats_csat(struct stats *st, uint32_t queue, uint32_t site, uint32_t agent, int score, int64_t now)
{
	struct scope *sc[ITEM_SCOPES];
	struct queue *q = queue_find(st, queue);
	struct agent *a = NULL;
	struct site *s;
	int rc;

	(void)now;
	if (score < 1 || score > STATS_CSAT_MAX)
		return STATS_EINVAL;
	if (q == NULL || (agent != 0 && (a = agent_find(st, agent)) == NULL))
		return STATS_ENOENT;
	if ((rc = site_get(st, site, &s)) != STATS_OK)
		return rc;
	change(st);
	item_scopes(st, q, s, NULL, 0, sc); /* not per skill: see stats.h */
	for (int i = 0; i < 3; i++) {
		sc[i]->day.csat_count++;
		sc[i]->day.csat_sum += (uint64_t)score;
	}
	if (a != NULL) {
		a->sc.day.csat_count++;
		a->sc.day.csat_sum += (uint64_t)score;
		touch(st, &a->sc);
	}
	return STATS_OK;
}

int
stats_sla_event(struct stats *st, uint32_t queue, uint32_t site, enum stats_sla what, int on,
                int64_t now)
{
	struct scope *sc[ITEM_SCOPES];
	struct queue *q = queue_find(st, queue);
	struct site *s = NULL;
	int rc;

	(void)now;
	if (what != STATS_SLA_WARNING && what != STATS_SLA_BREACH)
		return STATS_EINVAL;
	if (q == NULL)
		return STATS_ENOENT;
	if (!on) {
		s = site_find(st, site);
		if (s == NULL)
			return STATS_ENOENT;
		if (what == STATS_SLA_WARNING
		        ? (q->sc.open_warnings == 0 || s->sc.open_warnings == 0)
		        : (q->sc.open_breaches == 0 || s->sc.open_breaches == 0))
			return STATS_ESTATE;
	} else if ((rc = site_get(st, site, &s)) != STATS_OK) {
		return rc;
	}
	change(st);
	item_scopes(st, q, s, NULL, 0, sc); /* not per skill: see stats.h */
	for (int i = 0; i < 3; i++) {
		uint32_t *open =
		    what == STATS_SLA_WARNING ? &sc[i]->open_warnings : &sc[i]->open_breaches;
		if (!on) {
			(*open)--;
			continue;
		}
		(*open)++;
		if (what == STATS_SLA_WARNING)
			sc[i]->day.sla_warnings++;
		else
			sc[i]->day.sla_breaches++;
	}
	return STATS_OK;
}

/* --- the day --- */

int
stats_day_reset(struct stats *st, uint32_t site, int64_t now)
{
	struct site *s = site_find(st, site);
	struct queue *q, *tq;
	struct skill *sk, *tsk;
	struct agent *a, *ta;

	if (s == NULL)
		return STATS_ENOENT;
	change(st);
	counts_sub(&st->all.day, &s->sc.day);
	memset(&s->sc.day, 0, sizeof s->sc.day);
	for (int k = 0; k < ROUTE__AGENT_STATES; k++) {
		st->all.closed_ms[k] -= s->sc.closed_ms[k];
		st->all.sum_from[k] += (int64_t)s->sc.agents[k] * now - s->sc.sum_from[k];
		s->sc.closed_ms[k] = 0;
		s->sc.sum_from[k] = (int64_t)s->sc.agents[k] * now;
	}
	touch(st, &s->sc);
	touch(st, &st->all);
	HASH_ITER(hh, st->queues, q, tq)
	{
		if (q->home_site != site)
			continue;
		memset(&q->sc.day, 0, sizeof q->sc.day);
		for (int k = 0; k < ROUTE__AGENT_STATES; k++) {
			q->sc.closed_ms[k] = 0;
			q->sc.sum_from[k] = (int64_t)q->sc.agents[k] * now;
		}
		touch(st, &q->sc);
	}
	HASH_ITER(hh, st->skills, sk, tsk)
	{
		if (sk->home_site != site)
			continue;
		memset(&sk->sc.day, 0, sizeof sk->sc.day);
		for (int k = 0; k < ROUTE__AGENT_STATES; k++) {
			sk->sc.closed_ms[k] = 0;
			sk->sc.sum_from[k] = (int64_t)sk->sc.agents[k] * now;
		}
		touch(st, &sk->sc);
	}
	HASH_ITER(hh, st->agents, a, ta)
	{
		for (unsigned i = 0; i < a->nmembers; i++)
			if (a->members[i].q->home_site == site)
				a->members[i].from = now;
		for (unsigned i = 0; i < a->nheld; i++)
			if (a->held[i].k->home_site == site)
				a->held[i].from = now;
		if (a->site != s)
			continue;
		memset(&a->sc.day, 0, sizeof a->sc.day);
		memset(a->closed_ms, 0, sizeof a->closed_ms);
		a->from = now;
		touch(st, &a->sc);
	}
	return STATS_OK;
}

/* Add c to a's counters. */
static void
counts_add(struct stats_counts *a, const struct stats_counts *b)
{
	a->offered += b->offered;
	a->presented += b->presented;
	a->answered += b->answered;
	a->answered_in_sl += b->answered_in_sl;
	a->abandoned += b->abandoned;
	a->abandoned_in_sl += b->abandoned_in_sl;
	a->short_abandoned += b->short_abandoned;
	a->transferred_in += b->transferred_in;
	a->transferred_out += b->transferred_out;
	a->handled += b->handled;
	a->wrapups += b->wrapups;
	a->answer_wait_ms += b->answer_wait_ms;
	a->abandon_wait_ms += b->abandon_wait_ms;
	a->talk_ms += b->talk_ms;
	a->wrapup_ms += b->wrapup_ms;
	for (int i = 0; i <= STATS_SEVERITIES; i++)
		a->complaints[i] += b->complaints[i];
	a->csat_count += b->csat_count;
	a->csat_sum += b->csat_sum;
	a->sla_warnings += b->sla_warnings;
	a->sla_breaches += b->sla_breaches;
}

int
stats_seed(struct stats *st, enum stats_scope scope, uint32_t id, const struct stats_counts *c,
           const int64_t state_ms[ROUTE__AGENT_STATES])
{
	struct scope *sc;
	int64_t *closed;
	struct site *s;
	struct queue *q;
	struct skill *sk;
	struct agent *a;

	for (int k = 0; k < ROUTE__AGENT_STATES; k++)
		if (state_ms[k] < 0)
			return STATS_EINVAL;
	switch (scope) {
	case STATS_SITE:
		if ((s = site_find(st, id)) == NULL)
			return STATS_ENOENT;
		sc = &s->sc;
		closed = s->sc.closed_ms;
		break;
	case STATS_QUEUE:
		if ((q = queue_find(st, id)) == NULL)
			return STATS_ENOENT;
		sc = &q->sc;
		closed = q->sc.closed_ms;
		break;
	case STATS_SKILL:
		if ((sk = skill_find(st, id)) == NULL)
			return STATS_ENOENT;
		sc = &sk->sc;
		closed = sk->sc.closed_ms;
		break;
	case STATS_AGENT:
		if ((a = agent_find(st, id)) == NULL)
			return STATS_ENOENT;
		sc = &a->sc;
		closed = a->closed_ms;
		break;
	default:
		return STATS_EINVAL; /* overall is the sum of the sites */
	}
	change(st);
	counts_add(&sc->day, c);
	for (int k = 0; k < ROUTE__AGENT_STATES; k++)
		closed[k] += state_ms[k];
	touch(st, sc);
	if (scope == STATS_SITE) {
		counts_add(&st->all.day, c);
		for (int k = 0; k < ROUTE__AGENT_STATES; k++)
			st->all.closed_ms[k] += state_ms[k];
		touch(st, &st->all);
	}
	return STATS_OK;
}

int
stats_uncount_waiting(struct stats *st, uint32_t site, int64_t from, int64_t to, uint32_t *n)
{
	struct item *it, *tmp;
	struct scope *sc[ITEM_SCOPES];
	unsigned nsc;

	*n = 0;
	if (site_find(st, site) == NULL)
		return STATS_ENOENT;
	HASH_ITER(hh, st->items, it, tmp)
	{
		if (it->state != I_WAITING || it->s->id != site || it->enq_ms < from ||
		    it->enq_ms >= to)
			continue;
		if (*n == 0)
			change(st);
		nsc = item_scopes_of(st, it, sc);
		for (unsigned i = 0; i < nsc; i++) {
			if (sc[i]->day.offered > 0)
				sc[i]->day.offered--;
			if (it->severity >= 0 && sc[i]->day.complaints[it->severity] > 0)
				sc[i]->day.complaints[it->severity]--;
		}
		(*n)++;
	}
	return STATS_OK;
}

/* --- reads --- */

static double
ratio(uint64_t num, uint64_t den)
{
	return den ? (double)num / (double)den : -1.0;
}

static int64_t
average(uint64_t sum, uint64_t n)
{
	return n ? (int64_t)((sum + n / 2) / n) : -1;
}

size_t
stats_parts_split(const size_t *sizes, size_t n, size_t budget, size_t *part)
{
	size_t parts = 0, used = 0; /* the open part's bytes; 0: none open */

	for (size_t i = 0; i < n; i++) {
		if (budget < 2 || sizes[i] > budget - 2) {
			part[i] = STATS_PART_NONE;
			continue;
		}
		/* "[" + scope + "]", or "," + scope on an open part */
		if (used == 0 || used + 1 + sizes[i] > budget) {
			parts++;
			used = 2 + sizes[i];
		} else {
			used += 1 + sizes[i];
		}
		part[i] = parts - 1;
	}
	return parts;
}

double
stats_sl(const struct stats_counts *c)
{
	return ratio(c->answered_in_sl, c->answered);
}

double
stats_sl2(const struct stats_counts *c)
{
	return ratio((uint64_t)c->answered_in_sl + c->abandoned_in_sl,
	             (uint64_t)c->answered + c->abandoned);
}

double
stats_sl3(const struct stats_counts *c)
{
	return ratio(c->answered_in_sl, (uint64_t)c->answered + c->abandoned - c->abandoned_in_sl);
}

/* Occupancy from time per state: busy and wrap-up over logged in, not paused. */
static double
occupancy(const int64_t ms[ROUTE__AGENT_STATES])
{
	int64_t work = ms[ROUTE_AGENT_BUSY] + ms[ROUTE_AGENT_WRAP_UP];
	int64_t avail = work + ms[ROUTE_AGENT_READY] + ms[ROUTE_AGENT_RESERVED];

	return avail > 0 ? (double)work / (double)avail : -1.0;
}

static const struct scope *
scope_find(const struct stats *st, enum stats_scope kind, uint32_t id)
{
	const struct queue *q;
	const struct site *s;
	const struct skill *k;
	const struct agent *a;

	switch (kind) {
	case STATS_ALL:
		return &st->all;
	case STATS_SITE:
		return (s = site_find(st, id)) ? &s->sc : NULL;
	case STATS_QUEUE:
		return (q = queue_find(st, id)) ? &q->sc : NULL;
	case STATS_AGENT:
		return (a = agent_find(st, id)) ? &a->sc : NULL;
	case STATS_SKILL:
		return (k = skill_find(st, id)) ? &k->sc : NULL;
	default:
		return NULL;
	}
}

int
stats_view(const struct stats *st, enum stats_scope scope, uint32_t id, int64_t now,
           struct stats_view *out)
{
	const struct scope *sc;
	const struct stats_counts *c;

	if (scope == STATS_AGENT || (unsigned)scope >= STATS__SCOPES)
		return STATS_EINVAL;
	if ((sc = scope_find(st, scope, id)) == NULL)
		return STATS_ENOENT;
	memset(out, 0, sizeof *out);
	out->scope = scope;
	out->id = scope == STATS_ALL ? 0 : id;
	out->version = sc->version;
	out->day = sc->day;
	c = &sc->day;
	out->waiting = (uint32_t)sc->waiting.n;
	if (sc->waiting.n > 0) {
		out->oldest_ms = sc->waiting.a[0].k1;
		out->longest_wait_ms = elapsed(out->oldest_ms, now);
	}
	out->open_warnings = sc->open_warnings;
	out->open_breaches = sc->open_breaches;
	out->ewt_ms = sc->ewt_ms;
	for (int k = 0; k < ROUTE__AGENT_STATES; k++) {
		out->agents[k] = sc->agents[k];
		out->state_ms[k] =
		    sc->closed_ms[k] + (int64_t)sc->agents[k] * now - sc->sum_from[k];
	}
	for (unsigned r = 0; r < STATS_REASONS_MAX; r++) {
		if (sc->paused[r] == 0)
			continue;
		strcpy(out->reasons[out->nreasons].name, st->reasons[r]);
		out->reasons[out->nreasons++].agents = sc->paused[r];
	}
	out->sl = stats_sl(c);
	out->sl2 = stats_sl2(c);
	out->sl3 = stats_sl3(c);
	out->occupancy = occupancy(out->state_ms);
	out->csat = ratio(c->csat_sum, c->csat_count);
	out->asa_ms = average(c->answer_wait_ms, c->answered);
	out->aht_ms = average(c->talk_ms + c->wrapup_ms, c->handled);
	out->avg_wrapup_ms = average(c->wrapup_ms, c->wrapups);
	out->avg_abandon_ms = average(c->abandon_wait_ms, c->abandoned);
	return STATS_OK;
}

int
stats_agent_view(const struct stats *st, uint32_t agent, int64_t now, struct stats_agent_view *out)
{
	const struct agent *a = agent_find(st, agent);
	const struct stats_counts *c;

	if (a == NULL)
		return STATS_ENOENT;
	c = &a->sc.day;
	memset(out, 0, sizeof *out);
	out->id = a->id;
	out->site = a->site->id;
	out->version = a->sc.version;
	out->state = a->state;
	strcpy(out->reason, a->reason);
	out->since_ms = a->since;
	out->time_in_state_ms = elapsed(a->since, now);
	for (int k = 0; k < ROUTE__AGENT_STATES; k++)
		out->state_ms[k] = a->closed_ms[k];
	out->state_ms[a->state] += elapsed(a->from, now);
	out->presented = c->presented;
	out->answered = c->answered;
	out->handled = c->handled;
	out->wrapups = c->wrapups;
	out->talk_ms = c->talk_ms;
	out->wrapup_ms = c->wrapup_ms;
	out->csat_count = c->csat_count;
	out->csat_sum = c->csat_sum;
	out->occupancy = occupancy(out->state_ms);
	out->csat = ratio(c->csat_sum, c->csat_count);
	out->aht_ms = average(c->talk_ms + c->wrapup_ms, c->handled);
	return STATS_OK;
}

int
stats_agent_holds(const struct stats *st, uint32_t agent, uint32_t skill)
{
	const struct agent *a = agent_find(st, agent);

	for (unsigned i = 0; a != NULL && i < a->nheld; i++)
		if (a->held[i].k->id == skill)
			return 1;
	return 0;
}

uint64_t
stats_version(const struct stats *st)
{
	return st->version;
}

uint64_t
stats_scope_version(const struct stats *st, enum stats_scope scope, uint32_t id)
{
	const struct scope *sc = scope_find(st, scope, id);

	return sc ? sc->version : 0;
}

size_t
stats_changed(const struct stats *st, uint64_t since, struct stats_ref *out, size_t max)
{
	size_t n = 0;

	for (const struct scope *sc = st->tail; sc != NULL && sc->version > since; sc = sc->prev) {
		if (n < max) {
			out[n].scope = sc->kind;
			out[n].id = sc->id;
			out[n].version = sc->version;
		}
		n++;
	}
	return n;
}

size_t
stats_items(const struct stats *st)
{
	return st->nitems;
}
