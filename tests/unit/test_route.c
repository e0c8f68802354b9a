/* test_route.c: the routing core, by scripted scenarios with a fake clock:
 * each strategy picks the agent it should, the global order and its
 * fairness rule, aging without starvation, steps at the right second,
 * cross-site overflow only when allowed, offers that run out, capacity,
 * sticky agents, wrap-up; and a seeded random simulation that checks every
 * invariant after every event and that no work is ever given twice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"

#define S(x) ((int64_t)(x)*1000)

struct log {
	struct route_decision d[4096];
	size_t n;
};

static void
drain(struct route *r, struct log *l)
{
	struct route_decision d;

	while (route_decision_next(r, &d)) {
		assert_true(l->n < sizeof l->d / sizeof l->d[0]);
		l->d[l->n++] = d;
	}
}

static void
checked(struct route *r)
{
	char why[160];

	if (route_check(r, why, sizeof why) != 0)
		fail_msg("invariant broken: %s", why);
}

/* The agent the item was last offered to in the log, or 0. */
static uint32_t
offered_to(const struct log *l, uint64_t item)
{
	uint32_t a = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->d[i].kind == ROUTE_DO_OFFER && l->d[i].item == item)
			a = l->d[i].agent;
	return a;
}

static void
queue(struct route *r, uint32_t id, enum route_strategy s)
{
	struct route_queue_cfg q = {.id = id, .strategy = s};
	assert_int_equal(route_queue_set(r, &q), ROUTE_OK);
}

/* An agent serving queues 1 and 2 at site, with skill 7 at prof. */
static void
agent(struct route *r, uint32_t id, uint16_t site, int prof, int voice, int async, int64_t now)
{
	struct route_agent_cfg a = {.id = id,
	                            .site = site,
	                            .capacity = {voice, async},
	                            .nskills = 1,
	                            .skills = {{7, (uint8_t)prof}},
	                            .nqueues = 2,
	                            .queues = {1, 2}};
	assert_int_equal(route_agent_set(r, &a, now), ROUTE_OK);
}

static void
item(struct route *r, uint64_t id, uint32_t q, uint16_t site, int prio, int minprof,
     enum route_channel ch, int64_t now)
{
	struct route_item_in in = {.id = id,
	                           .queue = q,
	                           .site = site,
	                           .channel = ch,
	                           .priority = prio,
	                           .nreq = 1,
	                           .req = {{7, (uint8_t)minprof}}};
	assert_int_equal(route_item_add(r, &in, now), ROUTE_OK);
	checked(r);
}

static struct route *
fresh(void)
{
	struct route *r = route_new(NULL);
	assert_non_null(r);
	return r;
}

/* The agent a scenario's item 1000 is offered to under strategy s. */
static uint32_t
pick_with(enum route_strategy s, void (*setup)(struct route *r))
{
	struct route *r = fresh();
	struct log l = {.n = 0};
	uint32_t who;

	queue(r, 1, s);
	queue(r, 2, s);
	setup(r);
	checked(r);
	drain(r, &l);
	l.n = 0;
	item(r, 1000, 1, 1, 5, 1, ROUTE_ASYNC, S(100));
	drain(r, &l);
	who = offered_to(&l, 1000);
	route_free(r);
	return who;
}

/* Equal agents free since 1, 2 and 3. */
static void
setup_plain(struct route *r)
{
	for (uint32_t a = 10; a <= 12; a++) {
		agent(r, a, 1, 3, 1, 4, 0);
		assert_int_equal(route_agent_ready(r, a, S(a - 9)), ROUTE_OK);
	}
}

/* 10 (proficiency 2) free since 1; 11 (proficiency 5) since 2. */
static void
setup_prof(struct route *r)
{
	agent(r, 10, 1, 2, 1, 4, 0);
	agent(r, 11, 1, 5, 1, 4, 0);
	assert_int_equal(route_agent_ready(r, 10, S(1)), ROUTE_OK);
	assert_int_equal(route_agent_ready(r, 11, S(2)), ROUTE_OK);
}

/* 10 took one async item at 3 and holds it; 11 free since 5. */
static void
setup_load(struct route *r)
{
	agent(r, 10, 1, 3, 1, 4, 0);
	agent(r, 11, 1, 3, 1, 4, 0);
	assert_int_equal(route_agent_ready(r, 10, S(1)), ROUTE_OK);
	item(r, 1, 2, 1, 5, 1, ROUTE_ASYNC, S(2));
	assert_int_equal(route_offer_accept(r, 1, S(3)), ROUTE_OK);
	assert_int_equal(route_agent_ready(r, 11, S(5)), ROUTE_OK);
}

/* 10 handled one item, finished at 3; 11 free since 5, never offered. */
static void
setup_handled(struct route *r)
{
	agent(r, 10, 1, 3, 1, 4, 0);
	agent(r, 11, 1, 3, 1, 4, 0);
	assert_int_equal(route_agent_ready(r, 10, S(1)), ROUTE_OK);
	item(r, 1, 2, 1, 5, 1, ROUTE_VOICE, S(2));
	assert_int_equal(route_offer_accept(r, 1, S(2)), ROUTE_OK);
	assert_int_equal(route_item_done(r, 1, S(3)), ROUTE_OK);
	assert_int_equal(route_agent_ready(r, 11, S(5)), ROUTE_OK);
}

static void
test_strategies(void **state)
{
	static const struct {
		void (*setup)(struct route *r);
		uint32_t want[ROUTE__STRATEGIES]; /* by enum route_strategy */
	} cases[] = {
	    /*             idle occupancy proficiency round-robin handled */
	    {setup_plain, {10, 10, 10, 10, 10}},
	    {setup_prof, {10, 10, 11, 10, 10}},
	    {setup_load, {10, 11, 10, 11, 10}},
	    {setup_handled, {10, 10, 10, 11, 11}},
	};

	(void)state;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (int s = 0; s < ROUTE__STRATEGIES; s++) {
			uint32_t got = pick_with((enum route_strategy)s, cases[c].setup);
			if (got != cases[c].want[s])
				fail_msg("case %zu, %s: agent %u, want %u", c,
				         route_strategy_name((enum route_strategy)s), got,
				         cases[c].want[s]);
		}
}

/* One agent shared by two queues takes work by virtual arrival across
 * both, and a priority step is a head start of class_step. */
static void
test_global_order(void **state)
{
	struct route *r = fresh();
	struct log l = {.n = 0};

	(void)state;
	queue(r, 1, ROUTE_LONGEST_IDLE);
	queue(r, 2, ROUTE_LONGEST_IDLE);
	agent(r, 10, 1, 3, 1, 0, 0);
	item(r, 1, 1, 1, 5, 1, ROUTE_VOICE, S(20));  /* queue 1, later */
	item(r, 2, 2, 1, 5, 1, ROUTE_VOICE, S(10));  /* queue 2, earlier */
	item(r, 3, 1, 1, 6, 1, ROUTE_VOICE, S(305)); /* one step up, 295 s later: vkey 5 */
	item(r, 4, 2, 1, 6, 1, ROUTE_VOICE, S(315)); /* one step up, 305 s later: vkey 15 */
	assert_int_equal(route_agent_ready(r, 10, S(400)), ROUTE_OK);
	drain(r, &l);
	const uint64_t want[] = {3, 2, 4, 1};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(offered_to(&l, want[i]), 10);
		assert_int_equal(route_offer_accept(r, want[i], S(400 + i)), ROUTE_OK);
		assert_int_equal(route_item_done(r, want[i], S(401 + i)), ROUTE_OK);
		checked(r);
		drain(r, &l);
	}
	assert_int_equal(route_waiting(r), 0);
	route_free(r);
}

/* Priority 9 work arrives faster than it is served; a priority 1 item
 * still gets served: exactly the urgent work that arrived before its own
 * arrival plus 8 class steps goes first, everything later after it. */
static void
test_no_starvation(void **state)
{
	struct route *r = fresh();
	const int64_t t0 = S(1000), edge = S(1000 + 8 * 300);
	int64_t t = t0, arrived[1000] = {0}, served = -1;
	uint64_t next = 100, current = 0;
	struct route_decision d;

	(void)state;
	queue(r, 1, ROUTE_LONGEST_IDLE);
	agent(r, 10, 1, 3, 1, 0, 0);
	assert_int_equal(route_agent_ready(r, 10, t - 1), ROUTE_OK);
	item(r, 99, 1, 1, 9, 1, ROUTE_VOICE, t - 1); /* the agent is busy */
	assert_int_equal(route_decision_next(r, &d), 1);
	assert_int_equal(route_offer_accept(r, 99, t - 1), ROUTE_OK);
	current = 99;
	item(r, 1, 1, 1, 1, 1, ROUTE_VOICE, t);
	/* every 30 s: two urgent items arrive, the agent finishes one */
	for (int step = 0; step < 400 && next < 990; step++) {
		while (route_decision_next(r, &d)) {
			if (d.kind != ROUTE_DO_OFFER)
				continue;
			current = d.item;
			assert_int_equal(route_offer_accept(r, d.item, t), ROUTE_OK);
			if (d.item == 1)
				served = t;
			else if (served < 0)
				assert_true(arrived[d.item] < edge);
			else
				assert_true(arrived[d.item] >= edge);
		}
		t += S(30);
		for (int k = 0; k < 2; k++) {
			arrived[next] = t;
			item(r, next++, 1, 1, 9, 1, ROUTE_VOICE, t);
		}
		assert_int_equal(route_item_done(r, current, t), ROUTE_OK);
		checked(r);
	}
	assert_true(served > edge);
	route_free(r);
}

/* Level steps at the exact second, and cross-site only when allowed. */
static void
test_steps_and_overflow(void **state)
{
	struct route *r = fresh();
	struct log l = {.n = 0};
	struct route_queue_cfg q = {.id = 1, .relax_ms = S(30), .overflow_ms = S(60)};
	struct route_queue_cfg q2 = {.id = 2}; /* no steps: never other sites */
	struct route_item_info info;

	(void)state;
	assert_int_equal(route_queue_set(r, &q), ROUTE_OK);
	assert_int_equal(route_queue_set(r, &q2), ROUTE_OK);
	agent(r, 10, 1, 2, 1, 0, 0); /* site 1, proficiency 2 */
	agent(r, 20, 2, 5, 1, 0, 0); /* site 2, proficiency 5 */
	assert_int_equal(route_agent_ready(r, 10, 0), ROUTE_OK);
	assert_int_equal(route_agent_ready(r, 20, 0), ROUTE_OK);
	item(r, 1, 1, 1, 5, 4, ROUTE_VOICE, S(100)); /* needs 4 at site 1 */
	item(r, 2, 2, 1, 5, 4, ROUTE_VOICE, S(100));
	drain(r, &l);
	assert_int_equal(l.n, 0);
	assert_int_equal(route_timer_next(r), S(130));
	route_timer_run(r, S(129) + 999);
	drain(r, &l);
	assert_int_equal(l.n, 0);
	route_timer_run(r, S(130));
	drain(r, &l);
	/* at 30 s: level 1, and agent 10 (proficiency 2, same site) gets it */
	assert_int_equal(l.d[0].kind, ROUTE_DO_STEP);
	assert_int_equal(l.d[0].level, 1);
	assert_int_equal(offered_to(&l, 1), 10);
	assert_int_equal(route_item_info(r, 1, S(130), &info), ROUTE_OK);
	assert_int_equal(info.state, ROUTE_ITEM_OFFERED);
	/* agent 10 declines: nobody else may take it yet, so it comes back */
	assert_int_equal(route_offer_decline(r, 1, S(131)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(l.d[l.n - 1].kind, ROUTE_DO_OFFER);
	assert_int_equal(l.d[l.n - 1].agent, 10);
	/* agent 10 leaves: at 60 s the item overflows to agent 20 */
	assert_int_equal(route_agent_pause(r, 10, "break", S(132)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(l.d[l.n - 1].kind, ROUTE_DO_RETRACT);
	checked(r);
	assert_int_equal(route_timer_next(r), S(160));
	route_timer_run(r, S(160));
	drain(r, &l);
	assert_int_equal(offered_to(&l, 1), 20);
	/* queue 2 has no steps: item 2 never reaches agent 20 */
	route_timer_run(r, S(100000));
	drain(r, &l);
	assert_int_equal(route_item_info(r, 2, S(100000), &info), ROUTE_OK);
	assert_int_equal(info.level, 0);
	assert_true(offered_to(&l, 2) != 20);
	checked(r);
	route_free(r);
}

/* A long estimated wait sends new work to other sites at once. */
static void
test_ewt_overflow(void **state)
{
	struct route *r = fresh();
	struct log l = {.n = 0};
	struct route_queue_cfg q = {.id = 1, .ewt_overflow_ms = S(600), .aht_ms = S(300)};

	(void)state;
	assert_int_equal(route_queue_set(r, &q), ROUTE_OK);
	agent(r, 10, 1, 5, 1, 0, 0);
	agent(r, 20, 2, 5, 1, 0, 0);
	assert_int_equal(route_agent_ready(r, 10, 0), ROUTE_OK);
	item(r, 1, 1, 1, 5, 1, ROUTE_VOICE, S(1)); /* to 10 */
	item(r, 2, 1, 1, 5, 1, ROUTE_VOICE, S(2)); /* waits: ewt 2 x 300 / 1 = 600 */
	item(r, 3, 1, 1, 5, 1, ROUTE_VOICE, S(3)); /* ewt 900 > 600: level 2 */
	assert_int_equal(route_agent_ready(r, 20, S(4)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(offered_to(&l, 1), 10);
	assert_int_equal(offered_to(&l, 3), 20);
	assert_int_equal(offered_to(&l, 2), 0);
	checked(r);
	route_free(r);
}

/* An offer runs out: retracted at the second, given to the next agent;
 * three misses in a row pause the agent with reason "missed". */
static void
test_offer_timeout(void **state)
{
	struct route *r = fresh();
	struct log l = {.n = 0};
	struct route_agent_info ai;
	struct route_queue_cfg q = {.id = 1, .offer_ms = S(15), .max_misses = 3};

	(void)state;
	assert_int_equal(route_queue_set(r, &q), ROUTE_OK);
	agent(r, 10, 1, 3, 1, 0, 0);
	assert_int_equal(route_agent_ready(r, 10, 0), ROUTE_OK);
	item(r, 1, 1, 1, 5, 1, ROUTE_VOICE, S(1));
	for (int miss = 1; miss <= 3; miss++) {
		int64_t due = route_timer_next(r);
		route_timer_run(r, due - 1);
		drain(r, &l);
		assert_int_equal(route_agent_info(r, 10, &ai), ROUTE_OK);
		assert_int_equal(ai.state, ROUTE_AGENT_RESERVED);
		route_timer_run(r, due);
		drain(r, &l);
		checked(r);
		assert_int_equal(route_agent_info(r, 10, &ai), ROUTE_OK);
		assert_int_equal(ai.misses, (unsigned)miss);
	}
	assert_int_equal(ai.state, ROUTE_AGENT_PAUSED);
	assert_string_equal(ai.reason, "missed");
	/* the agent alone was free: it was offered the same item again only
	 * because nobody else could take it; now paused, the item waits */
	assert_int_equal(route_waiting(r), 1);
	assert_int_equal(route_timer_next(r), INT64_MAX);
	/* another agent comes: it gets the item */
	agent(r, 11, 1, 3, 1, 0, S(100));
	assert_int_equal(route_agent_ready(r, 11, S(100)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(offered_to(&l, 1), 11);
	size_t retracts = 0, pauses = 0;
	for (size_t i = 0; i < l.n; i++) {
		retracts += l.d[i].kind == ROUTE_DO_RETRACT;
		pauses += l.d[i].kind == ROUTE_DO_PAUSE;
	}
	assert_int_equal(retracts, 3);
	assert_int_equal(pauses, 1);
	checked(r);
	route_free(r);
}

/* A call takes the agent whole; async work fills up to its capacity; a
 * call may still reach an agent holding async work. */
static void
test_capacity(void **state)
{
	struct route *r = fresh();
	struct log l = {.n = 0};
	struct route_agent_info ai;

	(void)state;
	queue(r, 1, ROUTE_LONGEST_IDLE);
	agent(r, 10, 1, 3, 1, 2, 0);
	assert_int_equal(route_agent_ready(r, 10, 0), ROUTE_OK);
	item(r, 1, 1, 1, 5, 1, ROUTE_ASYNC, S(1));
	assert_int_equal(route_offer_accept(r, 1, S(1)), ROUTE_OK);
	item(r, 2, 1, 1, 5, 1, ROUTE_ASYNC, S(2));
	assert_int_equal(route_offer_accept(r, 2, S(2)), ROUTE_OK);
	item(r, 3, 1, 1, 5, 1, ROUTE_ASYNC, S(3)); /* over capacity: waits */
	drain(r, &l);
	assert_int_equal(offered_to(&l, 3), 0);
	item(r, 4, 1, 1, 5, 1, ROUTE_VOICE, S(4)); /* a call still comes */
	drain(r, &l);
	assert_int_equal(offered_to(&l, 4), 10);
	assert_int_equal(route_offer_accept(r, 4, S(4)), ROUTE_OK);
	assert_int_equal(route_agent_info(r, 10, &ai), ROUTE_OK);
	assert_int_equal(ai.state, ROUTE_AGENT_BUSY);
	/* one async item done: still on the call, so item 3 keeps waiting */
	assert_int_equal(route_item_done(r, 1, S(5)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(offered_to(&l, 3), 0);
	/* the call ends: item 3 comes */
	assert_int_equal(route_item_done(r, 4, S(6)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(offered_to(&l, 3), 10);
	checked(r);
	route_free(r);
}

/* A returning customer waits for the agent who served them, within the
 * queue's sticky window; after it, anyone. */
static void
test_sticky(void **state)
{
	struct route *r = fresh();
	struct log l = {.n = 0};
	struct route_queue_cfg q = {.id = 1, .sticky_ms = S(20)};
	struct route_item_in in = {.id = 1,
	                           .queue = 1,
	                           .site = 1,
	                           .channel = ROUTE_VOICE,
	                           .priority = 5,
	                           .sticky_agent = 10};

	(void)state;
	assert_int_equal(route_queue_set(r, &q), ROUTE_OK);
	agent(r, 10, 1, 3, 1, 0, 0);
	agent(r, 11, 1, 3, 1, 0, 0);
	assert_int_equal(route_agent_ready(r, 10, 0), ROUTE_OK);
	item(r, 99, 1, 1, 5, 1, ROUTE_VOICE, S(1)); /* 10 is busy with it */
	assert_int_equal(route_offer_accept(r, 99, S(1)), ROUTE_OK);
	assert_int_equal(route_agent_ready(r, 11, S(1)), ROUTE_OK);
	assert_int_equal(route_item_add(r, &in, S(2)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(offered_to(&l, 1), 0); /* 11 is free but it waits for 10 */
	assert_int_equal(route_item_done(r, 99, S(10)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(offered_to(&l, 1), 10);
	assert_int_equal(route_offer_accept(r, 1, S(10)), ROUTE_OK);
	/* again, but 10 stays busy past the window */
	in.id = 2;
	assert_int_equal(route_item_add(r, &in, S(11)), ROUTE_OK);
	route_timer_run(r, S(30));
	drain(r, &l);
	assert_int_equal(offered_to(&l, 2), 0);
	route_timer_run(r, S(31));
	drain(r, &l);
	assert_int_equal(offered_to(&l, 2), 11);
	checked(r);
	route_free(r);
}

/* Wrap-up: no offers until it ends, at the second. */
static void
test_wrapup(void **state)
{
	struct route *r = fresh();
	struct log l = {.n = 0};
	struct route_queue_cfg q = {.id = 1, .wrapup_ms = S(10)};
	struct route_agent_info ai;

	(void)state;
	assert_int_equal(route_queue_set(r, &q), ROUTE_OK);
	agent(r, 10, 1, 3, 1, 0, 0);
	assert_int_equal(route_agent_ready(r, 10, 0), ROUTE_OK);
	item(r, 1, 1, 1, 5, 1, ROUTE_VOICE, S(1));
	assert_int_equal(route_offer_accept(r, 1, S(1)), ROUTE_OK);
	assert_int_equal(route_item_done(r, 1, S(5)), ROUTE_OK);
	item(r, 2, 1, 1, 5, 1, ROUTE_VOICE, S(6));
	assert_int_equal(route_agent_info(r, 10, &ai), ROUTE_OK);
	assert_int_equal(ai.state, ROUTE_AGENT_WRAP_UP);
	assert_int_equal(route_timer_next(r), S(15));
	route_timer_run(r, S(15));
	drain(r, &l);
	assert_int_equal(offered_to(&l, 2), 10);
	checked(r);
	/* an agent's own wrap-up time replaces the queue's: 2 s, not 10 */
	struct route_agent_cfg quick = {.id = 10,
	                                .site = 1,
	                                .capacity = {1, 0},
	                                .own_wrapup = 1,
	                                .wrapup_ms = S(2),
	                                .nskills = 1,
	                                .skills = {{7, 3}},
	                                .nqueues = 2,
	                                .queues = {1, 2}};
	assert_int_equal(route_agent_set(r, &quick, S(16)), ROUTE_OK);
	assert_int_equal(route_offer_accept(r, 2, S(16)), ROUTE_OK);
	assert_int_equal(route_item_done(r, 2, S(20)), ROUTE_OK);
	assert_int_equal(route_agent_info(r, 10, &ai), ROUTE_OK);
	assert_int_equal(ai.state, ROUTE_AGENT_WRAP_UP);
	assert_int_equal(route_timer_next(r), S(22));
	checked(r);
	route_free(r);
}

/* Direct assignment: an offer to someone else is withdrawn, the load
 * counts, and unknown work is added on the way. */
static void
test_assign(void **state)
{
	struct route *r = fresh();
	struct log l = {.n = 0};
	struct route_agent_info ai;
	struct route_item_in in = {
	    .id = 7, .queue = 1, .site = 1, .channel = ROUTE_VOICE, .priority = 5};

	(void)state;
	queue(r, 1, ROUTE_LONGEST_IDLE);
	agent(r, 10, 1, 3, 1, 0, 0);
	agent(r, 11, 1, 3, 1, 0, 0);
	assert_int_equal(route_agent_ready(r, 10, 0), ROUTE_OK);
	item(r, 1, 1, 1, 5, 1, ROUTE_VOICE, S(1)); /* offered to 10 */
	drain(r, &l);
	assert_int_equal(offered_to(&l, 1), 10);
	/* a supervisor gives it to 11 instead */
	assert_int_equal(route_item_assign(r, 1, 11, NULL, S(2)), ROUTE_OK);
	assert_int_equal(route_agent_info(r, 10, &ai), ROUTE_OK);
	assert_int_equal(ai.state, ROUTE_AGENT_READY);
	assert_int_equal(route_agent_info(r, 11, &ai), ROUTE_OK);
	assert_int_equal(ai.load[ROUTE_VOICE], 1);
	assert_int_equal(route_waiting(r), 0);
	checked(r);
	/* unknown work given straight to 10, then a second call over capacity */
	assert_int_equal(route_item_assign(r, 7, 10, &in, S(3)), ROUTE_OK);
	in.id = 8;
	assert_int_equal(route_item_assign(r, 8, 10, &in, S(3)), ROUTE_OK);
	checked(r);
	assert_int_equal(route_agent_info(r, 10, &ai), ROUTE_OK);
	assert_int_equal(ai.load[ROUTE_VOICE], 2);
	assert_int_equal(route_item_done(r, 7, S(4)), ROUTE_OK);
	assert_int_equal(route_item_done(r, 8, S(4)), ROUTE_OK);
	assert_int_equal(route_item_assign(r, 9, 10, NULL, S(5)), ROUTE_ENOENT);
	checked(r);
	route_free(r);
}

/* An offer by hand: the agent's own pending offer goes back, the item is
 * reserved with the queue's timer, and running out puts it back in line. */
static void
test_offer_to(void **state)
{
	struct route *r = fresh();
	struct log l = {.n = 0};
	struct route_queue_cfg q = {.id = 1, .offer_ms = S(15)};
	int64_t until = 0;

	(void)state;
	assert_int_equal(route_queue_set(r, &q), ROUTE_OK);
	agent(r, 10, 1, 3, 1, 0, 0);
	agent(r, 11, 1, 3, 1, 0, 0);
	item(r, 1, 1, 1, 5, 1, ROUTE_VOICE, S(1)); /* waits: nobody ready */
	assert_int_equal(route_agent_ready(r, 11, S(2)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(offered_to(&l, 1), 11);
	item(r, 2, 1, 1, 5, 1, ROUTE_VOICE, S(3)); /* waits */
	/* a supervisor hands item 2 to 11: item 1 goes back (retracted) */
	l.n = 0;
	assert_int_equal(route_offer_to(r, 2, 11, NULL, S(4), &until), ROUTE_OK);
	assert_int_equal(until, S(19));
	drain(r, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.d[0].kind, ROUTE_DO_RETRACT);
	assert_int_equal(l.d[0].item, 1);
	checked(r);
	/* 10 comes: item 1 is hers; item 2 runs out at 19 s and waits again */
	assert_int_equal(route_agent_ready(r, 10, S(5)), ROUTE_OK);
	drain(r, &l);
	assert_int_equal(offered_to(&l, 1), 10);
	route_timer_run(r, S(19));
	drain(r, &l);
	assert_int_equal(l.d[l.n - 1].kind, ROUTE_DO_OFFER); /* back to 11 at once */
	assert_int_equal(l.d[l.n - 2].kind, ROUTE_DO_RETRACT);
	assert_int_equal(route_offer_to(r, 2, 99, NULL, S(20), &until), ROUTE_ENOENT);
	checked(r);
	route_free(r);
}

/* Refusals: unknown ids, bad values, wrong states. */
static void
test_refusals(void **state)
{
	struct route *r = fresh();
	struct route_item_in in = {.id = 1, .queue = 9, .priority = 5};
	struct route_queue_cfg bad = {.id = 1, .strategy = ROUTE__STRATEGIES};

	(void)state;
	assert_int_equal(route_item_add(r, &in, 0), ROUTE_ENOENT);
	assert_int_equal(route_queue_set(r, &bad), ROUTE_EINVAL);
	queue(r, 1, ROUTE_LONGEST_IDLE);
	in.queue = 1;
	in.priority = 10;
	assert_int_equal(route_item_add(r, &in, 0), ROUTE_EINVAL);
	in.priority = 5;
	assert_int_equal(route_item_add(r, &in, 0), ROUTE_OK);
	assert_int_equal(route_item_add(r, &in, 0), ROUTE_EEXIST);
	assert_int_equal(route_offer_accept(r, 1, 0), ROUTE_ESTATE);
	assert_int_equal(route_item_done(r, 1, 0), ROUTE_ESTATE);
	assert_int_equal(route_agent_ready(r, 5, 0), ROUTE_ENOENT);
	assert_int_equal(route_strategy_parse("best_proficiency"), ROUTE_BEST_PROFICIENCY);
	assert_int_equal(route_strategy_parse("fastest"), -1);
	route_free(r);
}

/* Seeded random simulation: every event, every invariant; an item is never
 * offered while its offer is open, never to two agents, and every offer is
 * answered or runs out. */
static uint64_t rng = 88172645463325252ull;
static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void
test_simulation(void **state)
{
	struct route *r = fresh();
	enum { NA = 40, NI = 3000 };
	static uint32_t open_offer[NI + 1]; /* item -> agent with an open offer */
	static int assigned[NI + 1], gone[NI + 1];
	int64_t t = S(1);
	uint64_t next = 1;
	struct route_decision d;
	size_t offers = 0;

	(void)state;
	memset(open_offer, 0, sizeof open_offer);
	memset(assigned, 0, sizeof assigned);
	memset(gone, 0, sizeof gone);
	for (uint32_t qid = 1; qid <= 3; qid++) {
		struct route_queue_cfg q = {.id = qid,
		                            .strategy =
		                                (enum route_strategy)(qid % ROUTE__STRATEGIES),
		                            .relax_ms = S(20),
		                            .overflow_ms = qid == 3 ? 0 : S(45),
		                            .offer_ms = S(8),
		                            .wrapup_ms = qid == 2 ? S(3) : 0,
		                            .sticky_ms = S(5)};
		assert_int_equal(route_queue_set(r, &q), ROUTE_OK);
	}
	for (uint32_t a = 1; a <= NA; a++) {
		struct route_agent_cfg c = {
		    .id = a,
		    .site = (uint16_t)(1 + a % 3),
		    .capacity = {1, (int)(a % 3)},
		    .nskills = 2,
		    .skills = {{1, (uint8_t)(1 + a % 5)}, {2, (uint8_t)(1 + (a / 5) % 5)}},
		    .nqueues = 2,
		    .queues = {1 + a % 3, 1 + (a + 1) % 3}};
		assert_int_equal(route_agent_set(r, &c, t), ROUTE_OK);
	}
	for (int step = 0; step < 20000; step++) {
		uint32_t ev = rnd(100);
		t += rnd(1500);
		if (ev < 25 && next <= NI) {
			struct route_item_in in = {
			    .id = next++,
			    .queue = 1 + rnd(3),
			    .site = (uint16_t)(1 + rnd(3)),
			    .channel = rnd(3) ? ROUTE_VOICE : ROUTE_ASYNC,
			    .priority = 1 + (int)rnd(9),
			    .sticky_agent = rnd(10) == 0 ? 1 + rnd(NA) : 0,
			    .nreq = 1 + rnd(2),
			    .req = {{1, (uint8_t)(1 + rnd(5))}, {2, (uint8_t)(1 + rnd(5))}}};
			assert_int_equal(route_item_add(r, &in, t), ROUTE_OK);
		} else if (ev < 40) {
			route_agent_ready(r, 1 + rnd(NA), t);
		} else if (ev < 45) {
			route_agent_pause(r, 1 + rnd(NA), "break", t);
		} else if (ev < 47) {
			route_agent_offline(r, 1 + rnd(NA), t);
		} else if (ev < 75) {
			uint64_t id = 1 + rnd((uint32_t)next);
			if (id < next && open_offer[id] && !gone[id]) {
				if (rnd(5) == 0) {
					assert_int_equal(route_offer_decline(r, id, t), ROUTE_OK);
				} else {
					assert_int_equal(route_offer_accept(r, id, t), ROUTE_OK);
					assigned[id] = 1;
				}
				open_offer[id] = 0;
			}
		} else if (ev < 95) {
			uint64_t id = 1 + rnd((uint32_t)next);
			if (id < next && assigned[id] && !gone[id]) {
				assert_int_equal(route_item_done(r, id, t), ROUTE_OK);
				gone[id] = 1;
			}
		} else if (ev < 96) {
			uint64_t id = 1 + rnd((uint32_t)next);
			int64_t until;
			if (id < next && !gone[id] && !assigned[id]) {
				uint32_t to = 1 + rnd(NA);
				/* the agent's own pending offer comes back as a
				 * retract decision below; an offer of this item to
				 * anyone else is withdrawn without one */
				assert_int_equal(route_offer_to(r, id, to, NULL, t, &until),
				                 ROUTE_OK);
				open_offer[id] = to;
			}
		} else if (ev < 97) {
			uint64_t id = 1 + rnd((uint32_t)next);
			if (id < next && !gone[id] && !assigned[id]) {
				assert_int_equal(route_item_assign(r, id, 1 + rnd(NA), NULL, t),
				                 ROUTE_OK);
				assigned[id] = 1;
				open_offer[id] = 0;
			}
		} else {
			uint64_t id = 1 + rnd((uint32_t)next);
			if (id < next && !gone[id] && !assigned[id]) {
				assert_int_equal(route_item_remove(r, id, t), ROUTE_OK);
				gone[id] = 1;
				open_offer[id] = 0;
			}
		}
		route_timer_run(r, t);
		while (route_decision_next(r, &d)) {
			if (d.kind == ROUTE_DO_OFFER) {
				assert_int_equal(open_offer[d.item], 0);
				assert_false(assigned[d.item]);
				assert_false(gone[d.item]);
				assert_true(d.at_ms > t);
				open_offer[d.item] = d.agent;
				offers++;
			} else if (d.kind == ROUTE_DO_RETRACT) {
				assert_int_equal(open_offer[d.item], d.agent);
				open_offer[d.item] = 0;
			}
		}
		checked(r);
		/* no reservation outlives its timer */
		assert_true(route_timer_next(r) > t);
	}
	assert_true(offers > 1000);
	route_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strategies),    cmocka_unit_test(test_global_order),
	    cmocka_unit_test(test_no_starvation), cmocka_unit_test(test_steps_and_overflow),
	    cmocka_unit_test(test_ewt_overflow),  cmocka_unit_test(test_offer_timeout),
	    cmocka_unit_test(test_capacity),      cmocka_unit_test(test_sticky),
	    cmocka_unit_test(test_wrapup),        cmocka_unit_test(test_assign),
	    cmocka_unit_test(test_offer_to),      cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_simulation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
