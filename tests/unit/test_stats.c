/* test_stats.c: the queue statistics core. A scripted hour of one queue
 * and two agents checked against figures computed by hand (SL, SL2, SL3,
 * ASA, abandons and short abandons, AHT, average wrap-up, occupancy, CSAT,
 * complaints, SLA counters, longest wait); a scripted run of two skills
 * over two queues, also by hand; the day reset of one site; the version
 * counters and the change list; refusals that change nothing; and a seeded
 * random run in which, after every event, every figure of every queue,
 * site, skill and agent equals a recomputation from the event log by a
 * plain replay. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stats.h"
#include "store-stats.h"

#define S(x)  ((int64_t)(x)*1000)
#define T0    ((int64_t)1700000000000) /* the scenario's zero instant */
#define AT(x) (T0 + S(x))

static void
ok(int rc)
{
	if (rc != STATS_OK)
		fail_msg("stats call failed: %s", stats_rc_name(rc));
}

static void
near(double got, double want)
{
	if (got < want - 1e-9 || got > want + 1e-9)
		fail_msg("got %.12f, want %.12f", got, want);
}

static struct stats_view
view(struct stats *st, enum stats_scope scope, uint32_t id, int64_t now)
{
	struct stats_view v;

	ok(stats_view(st, scope, id, now, &v));
	return v;
}

static struct stats_agent_view
agent(struct stats *st, uint32_t id, int64_t now)
{
	struct stats_agent_view v;

	ok(stats_agent_view(st, id, now, &v));
	return v;
}

/* --- the scripted hour ---
 *
 * Queue 1 at site 10, service level T = 20 s, short abandons under S = 5 s.
 * Agents A (101) and B (102) at site 10 log in ready at 0 s. Ten contacts
 * (seconds from the start; wait = answer or abandon - arrival):
 *
 *   c   arrives  outcome                      wait  talk  wrap-up
 *   1   10       answered by A at 15, done 115   5   100  10 (to 125)
 *   2   20       offered to B at 40 (B reserved),
 *                answered by B at 45, done 245  25   200  10 (to 255)
 *   3   30       abandoned at 33                 3 (short)
 *   4   40       abandoned at 55                15 (within T)
 *   5   100      abandoned at 160 (complaint,   60 (after T)
 *                severity 1)
 *   6   120      answered by A at 130, done 310 10   180  20 (to 330)
 *   7   200      answered by B at 260, done 400 60   140  10 (to 410)
 *   8   300      answered by A at 340, done 540 40   200  20 (to 560)
 *   9   500      abandoned at 504 (complaint,    4 (short)
 *                severity 2)
 *   10  600      answered by B at 625, done 925 25   300  20 (to 945)
 *
 * A pauses for "lunch" from 1800 s to 2400 s; the hour ends at 3600 s.
 *
 *   offered 10; answered 6; answered within T: c1, c6 = 2;
 *   abandoned 2 (c4, c5), of which within T: c4 = 1; short abandons 2.
 *   SL  = 2 / 6                 = 0.333333
 *   SL2 = (2 + 1) / (6 + 2)     = 0.375
 *   SL3 = 2 / (6 + 2 - 1)       = 0.285714
 *   ASA = (5+25+10+60+40+25)/6  = 165/6 s  = 27.5 s
 *   average abandon wait = (15 + 60) / 2 = 37.5 s
 *   talk = 100+200+180+140+200+300 = 1120 s; wrap-up = 90 s over 6
 *   AHT = (1120 + 90) / 6 = 201.666.. s -> 201667 ms; average wrap-up 15 s
 *
 * Occupancy over the hour:
 *   A: busy 100+180+200 = 480, wrap-up 10+20+20 = 50, paused 600,
 *      ready 3600-480-50-600 = 2470: 530 / 3000 = 0.176667
 *   B: reserved 5, busy 200+140+300 = 640, wrap-up 10+10+20 = 40,
 *      ready 3600-5-640-40 = 2915: 680 / 3600 = 0.188889
 *   site: (530 + 680) / (3000 + 3600) = 1210 / 6600 = 0.183333
 * CSAT: c1 5 (A), c2 3 (B), c6 4 (A): site 4.0, A 4.5, B 3.0. */

enum { Q = 1, SITE = 10, A = 101, B = 102 };

static void
state(struct stats *st, uint32_t a, enum route_agent_state s, int64_t t)
{
	ok(stats_agent_state(st, a, SITE, s, s == ROUTE_AGENT_PAUSED ? "lunch" : NULL, AT(t)));
}

static void
answer(struct stats *st, uint64_t c, uint32_t a, int64_t t)
{
	ok(stats_item_answered(st, c, a, AT(t)));
	state(st, a, ROUTE_AGENT_BUSY, t);
}

static void
done(struct stats *st, uint64_t c, uint32_t a, int64_t t)
{
	ok(stats_item_done(st, c, AT(t)));
	state(st, a, ROUTE_AGENT_WRAP_UP, t);
}

static void
wrapped(struct stats *st, uint32_t a, int64_t t)
{
	ok(stats_wrapup_end(st, a, AT(t)));
	state(st, a, ROUTE_AGENT_READY, t);
}

static void
call(struct stats *st, uint64_t c, int64_t t)
{
	ok(stats_item_queued(st, c, Q, SITE, 0, STATS_CALL, NULL, 0, AT(t)));
}

static void
test_scripted_hour(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_view v;
	struct stats_agent_view a, b;

	(void)unused;
	assert_non_null(st);
	ok(stats_queue_set(st, Q, SITE, S(20), S(5)));
	state(st, A, ROUTE_AGENT_READY, 0);
	state(st, B, ROUTE_AGENT_READY, 0);
	ok(stats_agent_queues(st, A, (uint32_t[]){Q}, 1, AT(0)));
	ok(stats_agent_queues(st, B, (uint32_t[]){Q}, 1, AT(0)));

	call(st, 1, 10);
	answer(st, 1, A, 15);
	call(st, 2, 20);
	call(st, 3, 30);
	ok(stats_item_abandoned(st, 3, AT(33)));
	v = view(st, STATS_QUEUE, Q, AT(35)); /* c2 waits since 20 */
	assert_int_equal(v.waiting, 1);
	assert_int_equal(v.oldest_ms, AT(20));
	assert_int_equal(v.longest_wait_ms, S(15));
	call(st, 4, 40);
	ok(stats_item_offered(st, 2, B, AT(40)));
	state(st, B, ROUTE_AGENT_RESERVED, 40);
	v = view(st, STATS_SITE, SITE, AT(42)); /* c2 and c4 */
	assert_int_equal(v.waiting, 2);
	assert_int_equal(v.longest_wait_ms, S(22));
	answer(st, 2, B, 45);
	v = view(st, STATS_ALL, 0, AT(50)); /* c4 alone, since 40 */
	assert_int_equal(v.waiting, 1);
	assert_int_equal(v.longest_wait_ms, S(10));
	ok(stats_item_abandoned(st, 4, AT(55)));
	ok(stats_item_queued(st, 5, Q, SITE, 1, STATS_COMPLAINT, NULL, 0, AT(100)));
	done(st, 1, A, 115);
	call(st, 6, 120);
	wrapped(st, A, 125);
	answer(st, 6, A, 130);
	ok(stats_item_abandoned(st, 5, AT(160)));
	call(st, 7, 200);
	done(st, 2, B, 245);
	wrapped(st, B, 255);
	answer(st, 7, B, 260);
	call(st, 8, 300);
	done(st, 6, A, 310);
	wrapped(st, A, 330);
	answer(st, 8, A, 340);
	done(st, 7, B, 400);
	wrapped(st, B, 410);
	ok(stats_item_queued(st, 9, Q, SITE, 2, STATS_COMPLAINT, NULL, 0, AT(500)));
	ok(stats_item_abandoned(st, 9, AT(504)));
	done(st, 8, A, 540);
	wrapped(st, A, 560);
	call(st, 10, 600);
	answer(st, 10, B, 625);
	done(st, 10, B, 925);
	wrapped(st, B, 945);
	ok(stats_csat(st, Q, SITE, A, 5, AT(1000)));
	ok(stats_csat(st, Q, SITE, B, 3, AT(1001)));
	ok(stats_csat(st, Q, SITE, A, 4, AT(1002)));
	ok(stats_sla_event(st, Q, SITE, STATS_SLA_WARNING, 1, AT(1100)));
	ok(stats_sla_event(st, Q, SITE, STATS_SLA_BREACH, 1, AT(1200)));
	ok(stats_sla_event(st, Q, SITE, STATS_SLA_WARNING, 0, AT(1200)));
	ok(stats_queue_ewt(st, Q, S(30)));
	state(st, A, ROUTE_AGENT_PAUSED, 1800);

	v = view(st, STATS_SITE, SITE, AT(2000));
	assert_int_equal(v.agents[ROUTE_AGENT_READY], 1);
	assert_int_equal(v.agents[ROUTE_AGENT_PAUSED], 1);
	assert_int_equal(v.nreasons, 1);
	assert_string_equal(v.reasons[0].name, "lunch");
	assert_int_equal(v.reasons[0].agents, 1);
	a = agent(st, A, AT(2000));
	assert_int_equal(a.state, ROUTE_AGENT_PAUSED);
	assert_string_equal(a.reason, "lunch");
	assert_int_equal(a.since_ms, AT(1800));
	assert_int_equal(a.time_in_state_ms, S(200));
	state(st, A, ROUTE_AGENT_READY, 2400);

	for (int sc = STATS_ALL; sc <= STATS_QUEUE; sc++) {
		v = view(st, (enum stats_scope)sc, sc == STATS_QUEUE ? Q : SITE, AT(3600));
		assert_int_equal(v.waiting, 0);
		assert_int_equal(v.longest_wait_ms, 0);
		assert_int_equal(v.day.offered, 10);
		assert_int_equal(v.day.presented, 1);
		assert_int_equal(v.day.answered, 6);
		assert_int_equal(v.day.answered_in_sl, 2);
		assert_int_equal(v.day.abandoned, 2);
		assert_int_equal(v.day.abandoned_in_sl, 1);
		assert_int_equal(v.day.short_abandoned, 2);
		near(v.sl, 2.0 / 6);
		near(v.sl2, 3.0 / 8);
		near(v.sl3, 2.0 / 7);
		assert_int_equal(v.asa_ms, 27500);
		assert_int_equal(v.avg_abandon_ms, 37500);
		assert_int_equal(v.day.handled, 6);
		assert_int_equal(v.day.talk_ms, S(1120));
		assert_int_equal(v.day.wrapup_ms, S(90));
		assert_int_equal(v.aht_ms, 201667);
		assert_int_equal(v.avg_wrapup_ms, S(15));
		assert_int_equal(v.day.complaints[1], 1);
		assert_int_equal(v.day.complaints[2], 1);
		assert_int_equal(v.day.complaints[3], 0);
		near(v.csat, 4.0);
		assert_int_equal(v.open_warnings, 0);
		assert_int_equal(v.open_breaches, 1);
		assert_int_equal(v.day.sla_warnings, 1);
		assert_int_equal(v.day.sla_breaches, 1);
		assert_int_equal(v.ewt_ms, sc == STATS_QUEUE ? S(30) : -1);
		assert_int_equal(v.agents[ROUTE_AGENT_READY], 2);
		assert_int_equal(v.state_ms[ROUTE_AGENT_BUSY], S(480 + 640));
		assert_int_equal(v.state_ms[ROUTE_AGENT_WRAP_UP], S(50 + 40));
		assert_int_equal(v.state_ms[ROUTE_AGENT_PAUSED], S(600));
		assert_int_equal(v.state_ms[ROUTE_AGENT_RESERVED], S(5));
		assert_int_equal(v.state_ms[ROUTE_AGENT_READY], S(2470 + 2915));
		near(v.occupancy, 1210.0 / 6600);
	}
	a = agent(st, A, AT(3600));
	b = agent(st, B, AT(3600));
	near(a.occupancy, 530.0 / 3000);
	near(b.occupancy, 680.0 / 3600);
	assert_int_equal(a.state_ms[ROUTE_AGENT_READY], S(2470));
	assert_int_equal(b.state_ms[ROUTE_AGENT_READY], S(2915));
	assert_int_equal(a.answered, 3);
	assert_int_equal(b.answered, 3);
	assert_int_equal(b.presented, 1);
	assert_int_equal(a.talk_ms, S(480));
	assert_int_equal(a.wrapup_ms, S(50));
	assert_int_equal(a.aht_ms, S(530) / 3 + 1); /* 176666.67 rounds up */
	near(a.csat, 4.5);
	near(b.csat, 3.0);
	assert_int_equal(stats_items(st), 0);
	stats_free(st);
}

/* A transfer counts in both queues; a talking item's talk ends in the first. */
static void
test_transfer(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_view v1, v2, s;

	(void)unused;
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_queue_set(st, 2, 10, S(60), S(5)));
	ok(stats_agent_state(st, 7, 10, ROUTE_AGENT_READY, NULL, AT(0)));
	ok(stats_item_queued(st, 1, 1, 10, 0, STATS_CALL, NULL, 0, AT(0)));
	ok(stats_item_transferred(st, 1, 2, NULL, 0, AT(30)));
	v1 = view(st, STATS_QUEUE, 1, AT(40));
	v2 = view(st, STATS_QUEUE, 2, AT(40));
	assert_int_equal(v1.waiting, 0);
	assert_int_equal(v1.day.transferred_out, 1);
	assert_int_equal(v2.waiting, 1);
	assert_int_equal(v2.longest_wait_ms, S(10)); /* the wait starts again */
	assert_int_equal(v2.day.offered, 1);
	assert_int_equal(v2.day.transferred_in, 1);
	ok(stats_item_answered(st, 1, 7, AT(70))); /* 40 s in queue 2: within 60 s */
	ok(stats_item_transferred(st, 1, 1, NULL, 0, AT(100)));
	v2 = view(st, STATS_QUEUE, 2, AT(100));
	assert_int_equal(v2.day.answered_in_sl, 1);
	assert_int_equal(v2.day.handled, 1);
	assert_int_equal(v2.day.talk_ms, S(30));
	s = view(st, STATS_SITE, 10, AT(100));
	assert_int_equal(s.day.offered, 3); /* the sum of the queues */
	assert_int_equal(s.day.transferred_in, 2);
	assert_int_equal(s.waiting, 1);
	assert_int_equal(stats_item_transferred(st, 1, 1, NULL, 0, AT(101)), STATS_EINVAL);
	stats_free(st);
}

/* The day resets one site: its queues and agents, and overall by as much. */
static void
test_day_reset(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_view all, s10, s20, q1, q2;
	struct stats_agent_view a;

	(void)unused;
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_queue_set(st, 2, 20, S(20), S(5)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_READY, NULL, AT(0)));
	ok(stats_agent_state(st, 2, 20, ROUTE_AGENT_READY, NULL, AT(0)));
	ok(stats_item_queued(st, 1, 1, 10, 0, STATS_CALL, NULL, 0, AT(0)));
	ok(stats_item_queued(st, 2, 1, 10, 3, STATS_COMPLAINT, NULL, 0, AT(1)));
	ok(stats_item_queued(st, 3, 2, 20, 0, STATS_CALL, NULL, 0, AT(2)));
	ok(stats_item_answered(st, 1, 1, AT(10)));
	ok(stats_item_answered(st, 3, 2, AT(10)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_BUSY, NULL, AT(10)));
	ok(stats_csat(st, 1, 10, 1, 2, AT(20)));
	ok(stats_sla_event(st, 1, 10, STATS_SLA_BREACH, 1, AT(20)));

	ok(stats_day_reset(st, 10, AT(100)));
	s10 = view(st, STATS_SITE, 10, AT(130));
	s20 = view(st, STATS_SITE, 20, AT(130));
	all = view(st, STATS_ALL, 0, AT(130));
	q1 = view(st, STATS_QUEUE, 1, AT(130));
	q2 = view(st, STATS_QUEUE, 2, AT(130));
	assert_int_equal(s10.day.offered, 0);
	assert_int_equal(s10.day.answered, 0);
	assert_int_equal(s10.day.complaints[3], 0);
	assert_int_equal(s10.day.csat_count, 0);
	assert_int_equal(s10.day.sla_breaches, 0);
	assert_int_equal(q1.day.offered, 0);
	assert_int_equal(q2.day.offered, 1);
	assert_int_equal(q2.day.answered, 1);
	assert_int_equal(all.day.offered, s20.day.offered);
	assert_int_equal(all.day.answered, 1);
	/* gauges stay: item 2 still waits, the breach is still open */
	assert_int_equal(s10.waiting, 1);
	assert_int_equal(s10.oldest_ms, AT(1));
	assert_int_equal(q1.open_breaches, 1);
	assert_int_equal(all.open_breaches, 1);
	/* time per state counts from the reset: agent 1 busy since 10 s */
	assert_int_equal(s10.state_ms[ROUTE_AGENT_BUSY], S(30));
	assert_int_equal(s10.agents[ROUTE_AGENT_BUSY], 1);
	assert_int_equal(s20.state_ms[ROUTE_AGENT_READY], S(130));
	assert_int_equal(all.state_ms[ROUTE_AGENT_BUSY], S(30));
	assert_int_equal(all.state_ms[ROUTE_AGENT_READY], S(130));
	a = agent(st, 1, AT(130));
	assert_int_equal(a.answered, 0);
	assert_int_equal(a.state_ms[ROUTE_AGENT_BUSY], S(30));
	assert_int_equal(a.state_ms[ROUTE_AGENT_READY], 0);
	assert_int_equal(a.time_in_state_ms, S(120)); /* the state itself goes on */
	/* work after midnight counts in the new day */
	ok(stats_item_answered(st, 2, 1, AT(140)));
	s10 = view(st, STATS_SITE, 10, AT(140));
	assert_int_equal(s10.day.answered, 1);
	assert_int_equal(s10.day.answer_wait_ms, S(139));
	assert_int_equal(stats_day_reset(st, 99, AT(150)), STATS_ENOENT);
	stats_free(st);
}

/* A seed adds counters and time per state to a site (and overall), a
 * queue or an agent, on top of what is counted live; a reset drops it. */
static void
test_seed(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_counts c = {0};
	int64_t ms[ROUTE__AGENT_STATES] = {0};
	struct stats_view all, s10, q1;
	struct stats_agent_view a;

	(void)unused;
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_READY, NULL, AT(0)));
	ok(stats_item_queued(st, 1, 1, 10, 0, STATS_CALL, NULL, 0, AT(0)));
	ok(stats_item_answered(st, 1, 1, AT(10)));
	c.offered = 5;
	c.answered = 4;
	c.answered_in_sl = 3;
	c.answer_wait_ms = S(40);
	c.csat_count = 1;
	c.csat_sum = 4;
	ms[ROUTE_AGENT_BUSY] = S(60);
	ms[ROUTE_AGENT_READY] = S(60);
	ok(stats_seed(st, STATS_SITE, 10, &c, ms));
	ok(stats_seed(st, STATS_QUEUE, 1, &c, ms));
	ok(stats_seed(st, STATS_AGENT, 1, &c, ms));
	s10 = view(st, STATS_SITE, 10, AT(10));
	all = view(st, STATS_ALL, 0, AT(10));
	q1 = view(st, STATS_QUEUE, 1, AT(10));
	assert_int_equal(s10.day.offered, 6);
	assert_int_equal(s10.day.answered, 5);
	assert_int_equal(s10.day.answered_in_sl, 4);
	assert_int_equal(s10.day.answer_wait_ms, S(50));
	assert_int_equal(all.day.offered, 6);
	assert_int_equal(q1.day.answered, 5);
	assert_int_equal(s10.asa_ms, S(10));
	assert_true(s10.csat == 4.0);
	/* 60 s busy + 60 s seeded ready + 10 s live ready */
	assert_int_equal(s10.state_ms[ROUTE_AGENT_BUSY], S(60));
	assert_int_equal(s10.state_ms[ROUTE_AGENT_READY], S(70));
	assert_int_equal(all.state_ms[ROUTE_AGENT_READY], S(70));
	/* agent 1 does not serve queue 1: only the seed counts there */
	assert_int_equal(q1.state_ms[ROUTE_AGENT_READY], S(60));
	a = agent(st, 1, AT(10));
	assert_int_equal(a.answered, 5);
	assert_int_equal(a.state_ms[ROUTE_AGENT_BUSY], S(60));
	assert_int_equal(a.state_ms[ROUTE_AGENT_READY], S(70));
	/* refusals change nothing */
	assert_int_equal(stats_seed(st, STATS_ALL, 0, &c, ms), STATS_EINVAL);
	assert_int_equal(stats_seed(st, STATS_SITE, 99, &c, ms), STATS_ENOENT);
	assert_int_equal(stats_seed(st, STATS_QUEUE, 9, &c, ms), STATS_ENOENT);
	assert_int_equal(stats_seed(st, STATS_AGENT, 9, &c, ms), STATS_ENOENT);
	ms[ROUTE_AGENT_PAUSED] = -1;
	assert_int_equal(stats_seed(st, STATS_SITE, 10, &c, ms), STATS_EINVAL);
	assert_int_equal(view(st, STATS_SITE, 10, AT(10)).day.offered, 6);
	/* work put back in line at start-up, counted by the seed already:
	 * its arrival is taken back once, waiting and its wait stay */
	ok(stats_item_queued(st, 7, 1, 10, 2, STATS_COMPLAINT, NULL, 0, AT(5)));
	ok(stats_item_queued(st, 8, 1, 10, 0, STATS_CALL, NULL, 0, AT(9)));
	{
		uint32_t n = 9;
		ok(stats_uncount_waiting(st, 10, AT(0), AT(8), &n));
		assert_int_equal(n, 1);
		s10 = view(st, STATS_SITE, 10, AT(10));
		q1 = view(st, STATS_QUEUE, 1, AT(10));
		all = view(st, STATS_ALL, 0, AT(10));
		assert_int_equal(s10.day.offered, 7); /* 6, item 8 new, item 7 not */
		assert_int_equal(q1.day.offered, 7);
		assert_int_equal(all.day.offered, 7);
		assert_int_equal(q1.day.complaints[2], 0);
		assert_int_equal(q1.waiting, 2);
		assert_int_equal(q1.oldest_ms, AT(5));
		assert_int_equal(stats_uncount_waiting(st, 99, AT(0), AT(8), &n), STATS_ENOENT);
		assert_int_equal(n, 0);
	}
	/* a new day drops the seed with the rest */
	ok(stats_day_reset(st, 10, AT(20)));
	assert_int_equal(view(st, STATS_ALL, 0, AT(20)).day.offered, 0);
	assert_int_equal(view(st, STATS_SITE, 10, AT(20)).state_ms[ROUTE_AGENT_BUSY], 0);
	stats_free(st);
}

/* A rollup row from a scope's figures gives back, through a restore, the
 * same counters and time per state (ready and reserved apart). */
static void
test_roll_round_trip(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_view v;
	struct stats_counts c;
	int64_t ms[ROUTE__AGENT_STATES];
	uint64_t row[RF__COUNT];

	(void)unused;
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_READY, NULL, AT(0)));
	ok(stats_agent_queues(st, 1, (const uint32_t[]){1}, 1, AT(0)));
	ok(stats_item_queued(st, 1, 1, 10, 2, STATS_COMPLAINT, NULL, 0, AT(0)));
	ok(stats_item_queued(st, 2, 1, 10, 0, STATS_CALL, NULL, 0, AT(1)));
	ok(stats_item_offered(st, 1, 1, AT(2)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_RESERVED, NULL, AT(2)));
	ok(stats_item_answered(st, 1, 1, AT(3)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_BUSY, NULL, AT(3)));
	ok(stats_item_abandoned(st, 2, AT(30)));
	ok(stats_item_done(st, 1, AT(40)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_WRAP_UP, NULL, AT(40)));
	ok(stats_wrapup_end(st, 1, AT(45)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_PAUSED, "break", AT(45)));
	ok(stats_csat(st, 1, 10, 1, 5, AT(50)));
	ok(stats_sla_event(st, 1, 10, STATS_SLA_WARNING, 1, AT(50)));
	v = view(st, STATS_QUEUE, 1, AT(60));
	roll_from_view(&v, row);
	assert_int_equal(row[RF_OFFERED], 2);
	assert_int_equal(row[RF_ANSWERED_WITHIN], 1);
	assert_int_equal(row[RF_ABANDONED], 1);
	assert_int_equal(row[RF_AVAILABLE_MS], S(45));
	assert_int_equal(row[RF_PAUSED_MS], S(15));
	assert_int_equal(row[RF_COMPLAINTS_2], 1);
	roll_to_counts(row, &c, ms);
	assert_memory_equal(&c, &v.day, sizeof c);
	for (int k = ROUTE_AGENT_READY; k < ROUTE__AGENT_STATES; k++)
		assert_int_equal(ms[k], v.state_ms[k]);
	stats_free(st);
}

static int
has_ref(const struct stats_ref *r, size_t n, enum stats_scope scope, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].scope == scope && r[i].id == id)
			return 1;
	return 0;
}

/* Versions: an event stamps the scopes it touches; the change list gives
 * exactly those changed since a version, newest first. */
static void
test_versions(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_ref r[16];
	uint64_t v0, v1;
	size_t n;

	(void)unused;
	assert_int_equal(stats_version(st), 0);
	assert_int_equal(stats_changed(st, 0, r, 16), 0);
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_queue_set(st, 2, 20, S(20), S(5)));
	v0 = stats_version(st);
	assert_int_equal(v0, 2);
	n = stats_changed(st, 0, r, 16);
	assert_int_equal(n, 2);
	assert_true(r[0].scope == STATS_QUEUE && r[0].id == 2 && r[0].version == 2);
	assert_true(r[1].scope == STATS_QUEUE && r[1].id == 1 && r[1].version == 1);

	ok(stats_item_queued(st, 1, 1, 10, 0, STATS_CALL, NULL, 0, AT(0)));
	v1 = stats_version(st);
	assert_int_equal(v1, v0 + 1);
	n = stats_changed(st, v0, r, 16);
	assert_int_equal(n, 3);
	assert_true(has_ref(r, n, STATS_QUEUE, 1));
	assert_true(has_ref(r, n, STATS_SITE, 10));
	assert_true(has_ref(r, n, STATS_ALL, 0));
	assert_false(has_ref(r, n, STATS_QUEUE, 2));
	assert_int_equal(stats_scope_version(st, STATS_QUEUE, 1), v1);
	assert_int_equal(stats_scope_version(st, STATS_QUEUE, 2), 2);
	assert_int_equal(stats_scope_version(st, STATS_SITE, 20), 0);

	/* nothing new: no version; refusals: no version */
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_queue_ewt(st, 1, -1));
	assert_int_equal(stats_item_queued(st, 1, 1, 10, 0, STATS_CALL, NULL, 0, AT(1)),
	                 STATS_EEXIST);
	assert_int_equal(stats_version(st), v1);
	assert_int_equal(stats_changed(st, v1, r, 16), 0);

	/* an agent's change touches the agent, its site and overall */
	ok(stats_agent_state(st, 5, 20, ROUTE_AGENT_READY, NULL, AT(2)));
	n = stats_changed(st, v1, r, 16);
	assert_int_equal(n, 3);
	assert_true(has_ref(r, n, STATS_AGENT, 5));
	assert_true(has_ref(r, n, STATS_SITE, 20));
	assert_true(has_ref(r, n, STATS_ALL, 0));
	/* a short buffer gets the newest and the full count */
	n = stats_changed(st, 0, r, 2);
	assert_int_equal(n, 6);
	assert_int_equal(r[0].version, stats_version(st));
	stats_free(st);
}

/* Every refusal has its code and changes nothing. */
static void
test_refusals(void **unused)
{
	struct stats_limits lim = {
	    .max_queues = 2, .max_sites = 2, .max_agents = 1, .max_items = 1};
	struct stats *st = stats_new(&lim);
	uint64_t v;

	(void)unused;
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_READY, NULL, AT(0)));
	ok(stats_item_queued(st, 1, 1, 10, 0, STATS_CALL, NULL, 0, AT(0)));
	v = stats_version(st);
	assert_int_equal(stats_queue_set(st, 0, 10, 0, 0), STATS_EINVAL);
	assert_int_equal(stats_queue_set(st, 2, 10, -1, 0), STATS_EINVAL);
	assert_int_equal(stats_queue_set(st, 2, 0, 0, 0), STATS_EINVAL);
	assert_int_equal(stats_queue_ewt(st, 9, 0), STATS_ENOENT);
	assert_int_equal(stats_queue_ewt(st, 1, -2), STATS_EINVAL);
	assert_int_equal(stats_item_queued(st, 2, 9, 10, 0, STATS_CALL, NULL, 0, AT(1)),
	                 STATS_ENOENT);
	assert_int_equal(stats_item_queued(st, 2, 1, 10, 5, STATS_CALL, NULL, 0, AT(1)),
	                 STATS_EINVAL);
	assert_int_equal(stats_item_queued(st, 2, 1, 10, 0, STATS__KINDS, NULL, 0, AT(1)),
	                 STATS_EINVAL);
	assert_int_equal(stats_item_queued(st, 0, 1, 10, 0, STATS_CALL, NULL, 0, AT(1)),
	                 STATS_EINVAL);
	assert_int_equal(stats_item_queued(st, 2, 1, 10, 0, STATS_CALL, NULL, 0, AT(1)),
	                 STATS_ENOSPC);
	assert_int_equal(stats_item_offered(st, 1, 9, AT(1)), STATS_ENOENT);
	assert_int_equal(stats_item_answered(st, 9, 1, AT(1)), STATS_ENOENT);
	assert_int_equal(stats_item_done(st, 1, AT(1)), STATS_ESTATE);
	assert_int_equal(stats_item_transferred(st, 1, 9, NULL, 0, AT(1)), STATS_ENOENT);
	assert_int_equal(stats_wrapup_end(st, 1, AT(1)), STATS_ESTATE);
	assert_int_equal(stats_agent_state(st, 2, 10, ROUTE_AGENT_READY, NULL, AT(1)),
	                 STATS_ENOSPC);
	assert_int_equal(stats_agent_state(st, 1, 10, ROUTE__AGENT_STATES, NULL, AT(1)),
	                 STATS_EINVAL);
	assert_int_equal(stats_agent_state(st, 1, 10, ROUTE_AGENT_PAUSED,
	                                   "a reason far longer than thirty-one bytes", AT(1)),
	                 STATS_EINVAL);
	assert_int_equal(stats_agent_queues(st, 9, (uint32_t[]){1}, 1, AT(1)), STATS_ENOENT);
	assert_int_equal(stats_agent_queues(st, 1, (uint32_t[]){9}, 1, AT(1)), STATS_ENOENT);
	assert_int_equal(stats_agent_queues(st, 1, (uint32_t[]){1, 1}, 2, AT(1)), STATS_EINVAL);
	assert_int_equal(stats_agent_queues(st, 1, NULL, ROUTE_MAX_QUEUES + 1, AT(1)),
	                 STATS_EINVAL);
	assert_int_equal(stats_csat(st, 1, 10, 0, 6, AT(1)), STATS_EINVAL);
	assert_int_equal(stats_csat(st, 1, 10, 9, 5, AT(1)), STATS_ENOENT);
	assert_int_equal(stats_sla_event(st, 1, 10, STATS_SLA_BREACH, 0, AT(1)), STATS_ESTATE);
	ok(stats_queue_set(st, 2, 20, 0, 0));
	v = stats_version(st);
	assert_int_equal(stats_csat(st, 1, 30, 0, 5, AT(1)), STATS_ENOSPC); /* a third site */
	assert_int_equal(stats_queue_set(st, 3, 10, 0, 0), STATS_ENOSPC);
	assert_int_equal(stats_version(st), v);
	ok(stats_item_answered(st, 1, 1, AT(2)));
	assert_int_equal(stats_item_answered(st, 1, 1, AT(3)), STATS_ESTATE);
	assert_int_equal(stats_item_abandoned(st, 1, AT(3)), STATS_ESTATE);
	assert_int_equal(stats_item_offered(st, 1, 1, AT(3)), STATS_ESTATE);
	assert_int_equal(stats_view(st, STATS_QUEUE, 9, AT(3), &(struct stats_view){0}),
	                 STATS_ENOENT);
	assert_int_equal(stats_view(st, STATS_AGENT, 1, AT(3), &(struct stats_view){0}),
	                 STATS_EINVAL);
	assert_string_equal(stats_rc_name(STATS_ENOSPC), "limit");
	stats_free(st);
}

/* The thresholds' edges: a wait of exactly T is within T (as in
 * Asterisk), a wait of exactly S is not a short abandon. */
static void
test_thresholds(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_view v;

	(void)unused;
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_READY, NULL, AT(0)));
	for (uint64_t i = 1; i <= 6; i++)
		ok(stats_item_queued(st, i, 1, 10, 0, STATS_CALL, NULL, 0, AT(0)));
	ok(stats_item_answered(st, 1, 1, AT(20)));     /* T: in */
	ok(stats_item_answered(st, 2, 1, AT(20) + 1)); /* T + 1 ms: out */
	ok(stats_item_abandoned(st, 3, AT(5) - 1));    /* short */
	ok(stats_item_abandoned(st, 4, AT(5)));        /* S: counted, in T */
	ok(stats_item_abandoned(st, 5, AT(20)));       /* T: in */
	ok(stats_item_abandoned(st, 6, AT(20) + 1));   /* out */
	v = view(st, STATS_QUEUE, 1, AT(30));
	assert_int_equal(v.day.answered, 2);
	assert_int_equal(v.day.answered_in_sl, 1);
	assert_int_equal(v.day.short_abandoned, 1);
	assert_int_equal(v.day.abandoned, 3);
	assert_int_equal(v.day.abandoned_in_sl, 2);
	near(v.sl, 0.5);
	near(v.sl2, 3.0 / 5);
	near(v.sl3, 1.0 / 3);
	/* no contacts: no figure rather than 0 % or 100 % */
	ok(stats_queue_set(st, 2, 10, S(20), S(5)));
	v = view(st, STATS_QUEUE, 2, AT(30));
	near(v.sl, -1);
	near(v.sl2, -1);
	near(v.sl3, -1);
	assert_int_equal(v.asa_ms, -1);
	assert_int_equal(v.aht_ms, -1);
	near(v.csat, -1);
	stats_free(st);
}

/* An agent counts in the queues it serves while it serves them. */
static void
test_members(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_view v;

	(void)unused;
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_queue_set(st, 2, 10, S(20), S(5)));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_READY, NULL, AT(0)));
	ok(stats_agent_queues(st, 1, (uint32_t[]){1, 2}, 2, AT(10)));
	ok(stats_agent_queues(st, 1, (uint32_t[]){2}, 1, AT(30)));
	v = view(st, STATS_QUEUE, 1, AT(40));
	assert_int_equal(v.agents[ROUTE_AGENT_READY], 0);
	assert_int_equal(v.state_ms[ROUTE_AGENT_READY], S(20));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_PAUSED, "break", AT(45)));
	ok(stats_agent_queues(st, 1, (uint32_t[]){1, 2}, 2, AT(50)));
	v = view(st, STATS_QUEUE, 1, AT(60));
	assert_int_equal(v.agents[ROUTE_AGENT_PAUSED], 1);
	assert_int_equal(v.nreasons, 1);
	assert_string_equal(v.reasons[0].name, "break");
	assert_int_equal(v.state_ms[ROUTE_AGENT_READY], S(20));
	assert_int_equal(v.state_ms[ROUTE_AGENT_PAUSED], S(10));
	v = view(st, STATS_QUEUE, 2, AT(60)); /* served throughout since 10 */
	assert_int_equal(v.state_ms[ROUTE_AGENT_READY], S(35));
	assert_int_equal(v.state_ms[ROUTE_AGENT_PAUSED], S(15));
	ok(stats_agent_queues(st, 1, NULL, 0, AT(70)));
	v = view(st, STATS_QUEUE, 1, AT(80));
	assert_int_equal(v.agents[ROUTE_AGENT_PAUSED], 0);
	assert_int_equal(v.nreasons, 0);
	assert_int_equal(v.state_ms[ROUTE_AGENT_PAUSED], S(20));
	stats_free(st);
}

/* --- skills ---
 *
 * Skills K1 (1) and K2 (2), home site 10. Queue 1: T = 20 s, S = 5 s;
 * queue 2: T = 60 s, S = 0 (off). Agent A (101) holds K1 and K2, B (102)
 * holds K1; both ready at 0 s. Contacts (seconds; each counts in the
 * skills it requires, with its queue's thresholds):
 *
 *   c  arrives  queue  skills  outcome                          wait
 *   1  10       1      K1 K2   answered by A at 25, done 125,   15 (in T)
 *                              wrap-up to 135
 *   2  20       2      K1      answered by B at 70, done 170,   50 (in T = 60)
 *                              wrap-up to 180
 *   3  30       1      K2      abandoned at 33                   3 (short)
 *   4  40       2      K2      abandoned at 42 (S off)           2 (in T)
 *   5  50       1      K1      to queue 2 needing K2 at 60;
 *                              answered by A at 140, done 200,  80 (after T)
 *                              wrap-up to 210
 *
 *   K1: offered 3 (c1 c2 c5), answered 2 both within T, transferred out 1,
 *       handled 2, talk 100 + 100, wrap-up 10 + 10; ASA (15 + 50) / 2 =
 *       32.5 s; SL = SL2 = SL3 = 1.
 *   K2: offered 4 (c1 c3 c4, c5 in), answered 2 (c1 in T, c5 not),
 *       abandoned 1 within T (c4), short 1 (c3), transferred in 1,
 *       handled 2, talk 100 + 60, wrap-up 20; ASA (15 + 80) / 2 = 47.5 s;
 *       SL 1/2, SL2 (1 + 1) / (2 + 1) = 2/3, SL3 1 / (2 + 1 - 1) = 1/2;
 *       AHT (160 + 20) / 2 = 90 s; average abandon 2 s.
 * Over 600 s: A busy 100 + 60, wrap-up 10 + 10, ready the rest; B busy
 * 100, wrap-up 10. Occupancy K2 (A) 180 / 600; K1 (A, B) 290 / 1200. */
enum { K1 = 1, K2 = 2 };

static void
test_skills(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_view k1, k2, q;

	(void)unused;
	ok(stats_queue_set(st, 1, SITE, S(20), S(5)));
	ok(stats_queue_set(st, 2, SITE, S(60), 0));
	ok(stats_skill_set(st, K1, SITE));
	ok(stats_skill_set(st, K2, SITE));
	state(st, A, ROUTE_AGENT_READY, 0);
	state(st, B, ROUTE_AGENT_READY, 0);
	ok(stats_agent_skills(st, A, (uint32_t[]){K1, K2}, 2, AT(0)));
	ok(stats_agent_skills(st, B, (uint32_t[]){K1}, 1, AT(0)));
	assert_true(stats_agent_holds(st, A, K2));
	assert_false(stats_agent_holds(st, B, K2));

	ok(stats_item_queued(st, 1, 1, SITE, 0, STATS_CALL, (uint32_t[]){K1, K2}, 2, AT(10)));
	ok(stats_item_queued(st, 2, 2, SITE, 0, STATS_CALL, (uint32_t[]){K1}, 1, AT(20)));
	answer(st, 1, A, 25);
	ok(stats_item_queued(st, 3, 1, SITE, 0, STATS_CALL, (uint32_t[]){K2}, 1, AT(30)));
	ok(stats_item_abandoned(st, 3, AT(33)));
	ok(stats_item_queued(st, 4, 2, SITE, 0, STATS_CALL, (uint32_t[]){K2}, 1, AT(40)));
	ok(stats_item_abandoned(st, 4, AT(42)));
	k1 = view(st, STATS_SKILL, K1, AT(45)); /* c2 waits since 20 */
	k2 = view(st, STATS_SKILL, K2, AT(45));
	assert_int_equal(k1.waiting, 1);
	assert_int_equal(k1.longest_wait_ms, S(25));
	assert_int_equal(k2.waiting, 0);
	assert_int_equal(k2.oldest_ms, 0);
	assert_int_equal(k1.agents[ROUTE_AGENT_BUSY], 1);
	assert_int_equal(k1.agents[ROUTE_AGENT_READY], 1);
	assert_int_equal(k2.agents[ROUTE_AGENT_BUSY], 1);
	assert_int_equal(k2.agents[ROUTE_AGENT_READY], 0);
	ok(stats_item_queued(st, 5, 1, SITE, 0, STATS_CALL, (uint32_t[]){K1}, 1, AT(50)));
	ok(stats_item_transferred(st, 5, 2, (uint32_t[]){K2}, 1, AT(60)));
	k1 = view(st, STATS_SKILL, K1, AT(65));
	k2 = view(st, STATS_SKILL, K2, AT(65));
	assert_int_equal(k1.waiting, 1);
	assert_int_equal(k1.longest_wait_ms, S(45));
	assert_int_equal(k2.waiting, 1);
	assert_int_equal(k2.oldest_ms, AT(60));
	answer(st, 2, B, 70);
	done(st, 1, A, 125);
	wrapped(st, A, 135);
	answer(st, 5, A, 140);
	done(st, 2, B, 170);
	wrapped(st, B, 180);
	done(st, 5, A, 200);
	wrapped(st, A, 210);

	k1 = view(st, STATS_SKILL, K1, AT(600));
	assert_int_equal(k1.scope, STATS_SKILL);
	assert_int_equal(k1.id, K1);
	assert_int_equal(k1.waiting, 0);
	assert_int_equal(k1.day.offered, 3);
	assert_int_equal(k1.day.answered, 2);
	assert_int_equal(k1.day.answered_in_sl, 2);
	assert_int_equal(k1.day.abandoned, 0);
	assert_int_equal(k1.day.short_abandoned, 0);
	assert_int_equal(k1.day.transferred_out, 1);
	assert_int_equal(k1.day.transferred_in, 0);
	assert_int_equal(k1.day.handled, 2);
	assert_int_equal(k1.day.talk_ms, S(200));
	assert_int_equal(k1.day.wrapups, 2);
	assert_int_equal(k1.day.wrapup_ms, S(20));
	assert_int_equal(k1.asa_ms, 32500);
	near(k1.sl, 1.0);
	near(k1.sl2, 1.0);
	near(k1.sl3, 1.0);
	assert_int_equal(k1.agents[ROUTE_AGENT_READY], 2);
	assert_int_equal(k1.state_ms[ROUTE_AGENT_BUSY], S(260));
	assert_int_equal(k1.state_ms[ROUTE_AGENT_WRAP_UP], S(30));
	near(k1.occupancy, 290.0 / 1200);
	assert_int_equal(k1.ewt_ms, -1);

	k2 = view(st, STATS_SKILL, K2, AT(600));
	assert_int_equal(k2.day.offered, 4);
	assert_int_equal(k2.day.answered, 2);
	assert_int_equal(k2.day.answered_in_sl, 1);
	assert_int_equal(k2.day.abandoned, 1);
	assert_int_equal(k2.day.abandoned_in_sl, 1);
	assert_int_equal(k2.day.short_abandoned, 1);
	assert_int_equal(k2.day.transferred_in, 1);
	assert_int_equal(k2.day.transferred_out, 0);
	assert_int_equal(k2.day.handled, 2);
	assert_int_equal(k2.day.talk_ms, S(160));
	assert_int_equal(k2.day.wrapup_ms, S(20));
	assert_int_equal(k2.asa_ms, 47500);
	assert_int_equal(k2.aht_ms, S(90));
	assert_int_equal(k2.avg_abandon_ms, S(2));
	near(k2.sl, 0.5);
	near(k2.sl2, 2.0 / 3);
	near(k2.sl3, 0.5);
	assert_int_equal(k2.agents[ROUTE_AGENT_READY], 1);
	assert_int_equal(k2.state_ms[ROUTE_AGENT_READY], S(420));
	near(k2.occupancy, 180.0 / 600);

	/* the queues are as without skills: queue 2 has c2, c4 and c5 */
	q = view(st, STATS_QUEUE, 2, AT(600));
	assert_int_equal(q.day.offered, 3);
	assert_int_equal(q.day.answered, 2);
	assert_int_equal(q.day.abandoned, 1);

	/* B takes up K2 at 600: counted there from then on, not before */
	ok(stats_agent_skills(st, B, (uint32_t[]){K2, K1}, 2, AT(600)));
	k2 = view(st, STATS_SKILL, K2, AT(700));
	assert_int_equal(k2.agents[ROUTE_AGENT_READY], 2);
	assert_int_equal(k2.state_ms[ROUTE_AGENT_READY], S(420 + 100 + 100));
	ok(stats_agent_skills(st, A, NULL, 0, AT(700)));
	k2 = view(st, STATS_SKILL, K2, AT(800));
	assert_int_equal(k2.agents[ROUTE_AGENT_READY], 1);
	assert_int_equal(k2.state_ms[ROUTE_AGENT_READY], S(420 + 100 + 200));

	/* the day of the skills' home site resets them */
	ok(stats_day_reset(st, SITE, AT(900)));
	k2 = view(st, STATS_SKILL, K2, AT(950));
	assert_int_equal(k2.day.offered, 0);
	assert_int_equal(k2.agents[ROUTE_AGENT_READY], 1);
	assert_int_equal(k2.state_ms[ROUTE_AGENT_READY], S(50));
	assert_int_equal(k2.state_ms[ROUTE_AGENT_BUSY], 0);
	stats_free(st);
}

/* Refused skill events change nothing. */
static void
test_skill_refusals(void **unused)
{
	struct stats_limits lim = {.max_skills = 2};
	struct stats *st = stats_new(&lim);
	uint64_t v;

	(void)unused;
	ok(stats_queue_set(st, 1, 10, S(20), S(5)));
	ok(stats_queue_set(st, 2, 10, S(20), S(5)));
	ok(stats_skill_set(st, 1, 10));
	ok(stats_skill_set(st, 2, 10));
	ok(stats_agent_state(st, 1, 10, ROUTE_AGENT_READY, NULL, AT(0)));
	ok(stats_item_queued(st, 1, 1, 10, 0, STATS_CALL, (uint32_t[]){1}, 1, AT(0)));
	v = stats_version(st);
	assert_int_equal(stats_skill_set(st, 3, 10), STATS_ENOSPC);
	assert_int_equal(stats_skill_set(st, 0, 10), STATS_EINVAL);
	assert_int_equal(stats_skill_set(st, 1, 0), STATS_EINVAL);
	assert_int_equal(stats_item_queued(st, 2, 1, 10, 0, STATS_CALL, (uint32_t[]){9}, 1, AT(1)),
	                 STATS_ENOENT);
	assert_int_equal(
	    stats_item_queued(st, 2, 1, 10, 0, STATS_CALL, (uint32_t[]){1, 1}, 2, AT(1)),
	    STATS_EINVAL);
	assert_int_equal(stats_item_queued(st, 2, 1, 10, 0, STATS_CALL, (uint32_t[]){1, 2},
	                                   ROUTE_MAX_REQ + 1, AT(1)),
	                 STATS_EINVAL);
	assert_int_equal(stats_item_queued(st, 2, 1, 10, 0, STATS_CALL, NULL, 1, AT(1)),
	                 STATS_EINVAL);
	assert_int_equal(stats_item_transferred(st, 1, 2, (uint32_t[]){7}, 1, AT(1)), STATS_ENOENT);
	assert_int_equal(stats_agent_skills(st, 1, (uint32_t[]){2, 2}, 2, AT(1)), STATS_EINVAL);
	assert_int_equal(stats_agent_skills(st, 1, (uint32_t[]){5}, 1, AT(1)), STATS_ENOENT);
	assert_int_equal(stats_agent_skills(st, 9, (uint32_t[]){1}, 1, AT(1)), STATS_ENOENT);
	assert_int_equal(stats_agent_skills(st, 1, NULL, ROUTE_MAX_SKILLS + 1, AT(1)),
	                 STATS_EINVAL);
	assert_int_equal(stats_view(st, STATS_SKILL, 3, AT(1), &(struct stats_view){0}),
	                 STATS_ENOENT);
	assert_int_equal(stats_version(st), v);
	assert_int_equal(stats_items(st), 1);
	assert_int_equal(view(st, STATS_SKILL, 1, AT(1)).day.offered, 1);
	assert_int_equal(view(st, STATS_SKILL, 2, AT(1)).day.offered, 0);
	assert_int_equal(view(st, STATS_SKILL, 1, AT(1)).agents[ROUTE_AGENT_READY], 0);
	/* a skill seeded from the rollups, as a queue */
	ok(stats_seed(st, STATS_SKILL, 2, &(struct stats_counts){.offered = 4, .answered = 3},
	              (int64_t[ROUTE__AGENT_STATES]){0}));
	assert_int_equal(view(st, STATS_SKILL, 2, AT(1)).day.offered, 4);
	assert_int_equal(view(st, STATS_ALL, 0, AT(1)).day.offered, 1);
	stats_free(st);
}

/* Pause reasons past the table are counted as "other". */
static void
test_reasons(void **unused)
{
	struct stats *st = stats_new(NULL);
	struct stats_view v;
	char reason[16];
	unsigned other = 0;

	(void)unused;
	for (uint32_t a = 1; a <= STATS_REASONS_MAX + 4; a++) {
		snprintf(reason, sizeof reason, "r%u", a);
		ok(stats_agent_state(st, a, 1, ROUTE_AGENT_PAUSED, reason, AT(a)));
	}
	v = view(st, STATS_ALL, 0, AT(100));
	assert_int_equal(v.nreasons, STATS_REASONS_MAX);
	assert_int_equal(v.agents[ROUTE_AGENT_PAUSED], STATS_REASONS_MAX + 4);
	for (unsigned i = 0; i < v.nreasons; i++)
		if (strcmp(v.reasons[i].name, "other") == 0)
			other = v.reasons[i].agents;
	assert_int_equal(other, 5); /* 15 named slots, then 5 more agents */
	stats_free(st);
}

/* --- the random run against a replay of the event log --- */

#define NQ  3
#define NS  2
#define NA  4
#define NK  3
#define NEV 2500

enum ev_type {
	E_STATE,
	E_QUEUED,
	E_OFFERED,
	E_ANSWERED,
	E_ABANDONED,
	E_TRANSFER,
	E_DONE,
	E_WRAPEND,
	E_CSAT,
	E_SLA,
	E_RESET,
	E_MEMBERS,
	E_SKILLS,
	E__TYPES
};

struct ev {
	enum ev_type type;
	int64_t t;
	uint64_t item;
	uint32_t q, s, a;
	int arg, arg2; /* state / severity / score / on, reason / kind / what */
	uint32_t k;    /* skills required (bit k), as queued or transferred */
};

static const char *const reasons[] = {"lunch", "break", "training"};
static const uint32_t home[NQ + 1] = {0, 1, 1, 2};
static const int64_t sl_ms[NQ + 1] = {0, S(20), S(30), S(10)};
static const int64_t short_ms[NQ + 1] = {0, S(5), S(3), 0};
static const uint32_t agent_site[NA + 1] = {0, 1, 1, 2, 2};
static const uint32_t skill_home[NK + 1] = {0, 1, 2, 1};

struct m_item {
	uint64_t id;
	uint32_t q, s, a;
	int talking;
	int64_t enq, ans;
	uint32_t k;
};

/* The plain replay: counters by scope, items in an array, times by agent. */
struct model {
	struct stats_counts q[NQ + 1], s[NS + 1], a[NA + 1], k[NK + 1];
	uint32_t warn_q[NQ + 1], warn_s[NS + 1], br_q[NQ + 1], br_s[NS + 1];
	struct m_item items[NEV];
	size_t nitems;
	int state[NA + 1];
	int64_t from[NA + 1], closed[NA + 1][ROUTE__AGENT_STATES];
	int wrap[NA + 1];
	int member[NA + 1][NQ + 1];
	int64_t q_from[NA + 1][NQ + 1], q_closed[NA + 1][NQ + 1][ROUTE__AGENT_STATES];
	int held[NA + 1][NK + 1];
	int64_t k_from[NA + 1][NK + 1], k_closed[NA + 1][NK + 1][ROUTE__AGENT_STATES];
	int64_t wrap_from[NA + 1];
	uint32_t wrap_q[NA + 1], wrap_s[NA + 1], wrap_k[NA + 1];
};

static struct m_item *
m_find(struct model *m, uint64_t id)
{
	for (size_t i = 0; i < m->nitems; i++)
		if (m->items[i].id == id)
			return &m->items[i];
	return NULL;
}

static void
m_drop(struct model *m, struct m_item *it)
{
	*it = m->items[--m->nitems];
}

static int64_t
pos(int64_t d)
{
	return d > 0 ? d : 0;
}

/* Count into the queue's, the site's and the skills' (bits of kk)
 * counters (overall is the sum of the sites). */
#define COUNT(m, qq, ss, kk, stmt)                                                                 \
	do {                                                                                       \
		struct stats_counts *c_ = &(m)->q[qq];                                             \
		stmt;                                                                              \
		c_ = &(m)->s[ss];                                                                  \
		stmt;                                                                              \
		for (uint32_t k_ = 1; k_ <= NK; k_++) {                                            \
			if (!(((kk) >> k_) & 1))                                                   \
				continue;                                                          \
			c_ = &(m)->k[k_];                                                          \
			stmt;                                                                      \
		}                                                                                  \
	} while (0)

static void
m_wrap_close(struct model *m, uint32_t a, int64_t t)
{
	int64_t d;

	if (!m->wrap[a])
		return;
	d = pos(t - m->wrap_from[a]);
	COUNT(m, m->wrap_q[a], m->wrap_s[a], m->wrap_k[a],
	      (c_->wrapups++, c_->wrapup_ms += (uint64_t)d));
	m->a[a].wrapups++;
	m->a[a].wrapup_ms += (uint64_t)d;
	m->wrap[a] = 0;
}

static void
m_talk_end(struct model *m, struct m_item *it, int64_t t)
{
	int64_t d = pos(t - it->ans);

	COUNT(m, it->q, it->s, it->k, (c_->handled++, c_->talk_ms += (uint64_t)d));
	m->a[it->a].handled++;
	m->a[it->a].talk_ms += (uint64_t)d;
	m_wrap_close(m, it->a, t);
	m->wrap[it->a] = 1;
	m->wrap_from[it->a] = t;
	m->wrap_q[it->a] = it->q;
	m->wrap_s[it->a] = it->s;
	m->wrap_k[it->a] = it->k;
}

static void
m_apply(struct model *m, const struct ev *e)
{
	struct m_item *it = e->item ? m_find(m, e->item) : NULL;
	int64_t w;

	switch (e->type) {
	case E_STATE:
		if (e->arg != ROUTE_AGENT_WRAP_UP)
			m_wrap_close(m, e->a, e->t);
		m->closed[e->a][m->state[e->a]] += pos(e->t - m->from[e->a]);
		for (uint32_t q = 1; q <= NQ; q++) {
			if (!m->member[e->a][q])
				continue;
			m->q_closed[e->a][q][m->state[e->a]] += pos(e->t - m->q_from[e->a][q]);
			m->q_from[e->a][q] = e->t;
		}
		for (uint32_t k = 1; k <= NK; k++) {
			if (!m->held[e->a][k])
				continue;
			m->k_closed[e->a][k][m->state[e->a]] += pos(e->t - m->k_from[e->a][k]);
			m->k_from[e->a][k] = e->t;
		}
		m->state[e->a] = e->arg;
		m->from[e->a] = e->t;
		break;
	case E_MEMBERS:
		for (uint32_t q = 1; q <= NQ; q++) {
			int in = (e->arg >> q) & 1;
			if (m->member[e->a][q] && !in)
				m->q_closed[e->a][q][m->state[e->a]] +=
				    pos(e->t - m->q_from[e->a][q]);
			else if (!m->member[e->a][q] && in)
				m->q_from[e->a][q] = e->t;
			m->member[e->a][q] = in;
		}
		break;
	case E_SKILLS:
		for (uint32_t k = 1; k <= NK; k++) {
			int in = (e->arg >> k) & 1;
			if (m->held[e->a][k] && !in)
				m->k_closed[e->a][k][m->state[e->a]] +=
				    pos(e->t - m->k_from[e->a][k]);
			else if (!m->held[e->a][k] && in)
				m->k_from[e->a][k] = e->t;
			m->held[e->a][k] = in;
		}
		break;
	case E_QUEUED:
		m->items[m->nitems++] = (struct m_item){e->item, e->q, e->s, 0, 0, e->t, 0, e->k};
		COUNT(m, e->q, e->s, e->k,
		      (c_->offered++, c_->complaints[e->arg] += e->arg2 == STATS_COMPLAINT));
		break;
	case E_OFFERED:
		COUNT(m, it->q, it->s, it->k, c_->presented++);
		m->a[e->a].presented++;
		break;
	case E_ANSWERED:
		w = pos(e->t - it->enq);
		COUNT(m, it->q, it->s, it->k,
		      (c_->answered++, c_->answer_wait_ms += (uint64_t)w,
		       c_->answered_in_sl += w <= sl_ms[it->q]));
		m->a[e->a].answered++;
		m->a[e->a].answer_wait_ms += (uint64_t)w;
		it->talking = 1;
		it->a = e->a;
		it->ans = e->t;
		break;
	case E_ABANDONED:
		w = pos(e->t - it->enq);
		if (w < short_ms[it->q])
			COUNT(m, it->q, it->s, it->k, c_->short_abandoned++);
		else
			COUNT(m, it->q, it->s, it->k,
			      (c_->abandoned++, c_->abandon_wait_ms += (uint64_t)w,
			       c_->abandoned_in_sl += w <= sl_ms[it->q]));
		m_drop(m, it);
		break;
	case E_TRANSFER:
		if (it->talking)
			m_talk_end(m, it, e->t);
		COUNT(m, it->q, it->s, it->k, c_->transferred_out++);
		it->q = e->q;
		it->k = e->k;
		it->talking = 0;
		it->enq = e->t;
		COUNT(m, it->q, it->s, it->k, (c_->offered++, c_->transferred_in++));
		break;
	case E_DONE:
		m_talk_end(m, it, e->t);
		m_drop(m, it);
		break;
	case E_WRAPEND:
		m_wrap_close(m, e->a, e->t);
		break;
	case E_CSAT:
		COUNT(m, e->q, e->s, 0, (c_->csat_count++, c_->csat_sum += (uint64_t)e->arg));
		if (e->a) {
			m->a[e->a].csat_count++;
			m->a[e->a].csat_sum += (uint64_t)e->arg;
		}
		break;
	case E_SLA:
		if (e->arg2 == STATS_SLA_WARNING) {
			m->warn_q[e->q] += e->arg ? 1 : -1;
			m->warn_s[e->s] += e->arg ? 1 : -1;
			if (e->arg)
				COUNT(m, e->q, e->s, 0, c_->sla_warnings++);
		} else {
			m->br_q[e->q] += e->arg ? 1 : -1;
			m->br_s[e->s] += e->arg ? 1 : -1;
			if (e->arg)
				COUNT(m, e->q, e->s, 0, c_->sla_breaches++);
		}
		break;
	case E_RESET:
		memset(&m->s[e->s], 0, sizeof m->s[e->s]);
		for (uint32_t q = 1; q <= NQ; q++) {
			if (home[q] != e->s)
				continue;
			memset(&m->q[q], 0, sizeof m->q[q]);
			for (uint32_t a = 1; a <= NA; a++) {
				memset(m->q_closed[a][q], 0, sizeof m->q_closed[a][q]);
				m->q_from[a][q] = e->t;
			}
		}
		for (uint32_t k = 1; k <= NK; k++) {
			if (skill_home[k] != e->s)
				continue;
			memset(&m->k[k], 0, sizeof m->k[k]);
			for (uint32_t a = 1; a <= NA; a++) {
				memset(m->k_closed[a][k], 0, sizeof m->k_closed[a][k]);
				m->k_from[a][k] = e->t;
			}
		}
		for (uint32_t a = 1; a <= NA; a++) {
			if (agent_site[a] != e->s)
				continue;
			memset(&m->a[a], 0, sizeof m->a[a]);
			memset(m->closed[a], 0, sizeof m->closed[a]);
			m->from[a] = e->t;
		}
		break;
	default:
		break;
	}
}

/* The skills of bits mask into ids: how many. */
static unsigned
mask_skills(uint32_t mask, uint32_t *ids)
{
	unsigned n = 0;

	for (uint32_t k = 1; k <= NK; k++)
		if ((mask >> k) & 1)
			ids[n++] = k;
	return n;
}

static int
m_call(struct stats *st, const struct ev *e)
{
	uint32_t ks[NK];
	unsigned nk = mask_skills(e->k, ks);

	switch (e->type) {
	case E_STATE:
		return stats_agent_state(st, e->a, agent_site[e->a], (enum route_agent_state)e->arg,
		                         reasons[e->arg2], e->t);
	case E_QUEUED:
		return stats_item_queued(st, e->item, e->q, e->s, e->arg, (enum stats_kind)e->arg2,
		                         ks, nk, e->t);
	case E_OFFERED:
		return stats_item_offered(st, e->item, e->a, e->t);
	case E_ANSWERED:
		return stats_item_answered(st, e->item, e->a, e->t);
	case E_ABANDONED:
		return stats_item_abandoned(st, e->item, e->t);
	case E_TRANSFER:
		return stats_item_transferred(st, e->item, e->q, ks, nk, e->t);
	case E_DONE:
		return stats_item_done(st, e->item, e->t);
	case E_WRAPEND:
		return stats_wrapup_end(st, e->a, e->t);
	case E_CSAT:
		return stats_csat(st, e->q, e->s, e->a, e->arg, e->t);
	case E_SLA:
		return stats_sla_event(st, e->q, e->s, (enum stats_sla)e->arg2, e->arg, e->t);
	case E_RESET:
		return stats_day_reset(st, e->s, e->t);
	case E_MEMBERS: {
		uint32_t qs[NQ];
		unsigned n = 0;
		for (uint32_t q = 1; q <= NQ; q++)
			if ((e->arg >> q) & 1)
				qs[n++] = q;
		return stats_agent_queues(st, e->a, qs, n, e->t);
	}
	case E_SKILLS:
		nk = mask_skills((uint32_t)e->arg, ks);
		return stats_agent_skills(st, e->a, ks, nk, e->t);
	default:
		return STATS_EINVAL;
	}
}

static void
counts_equal(const struct stats_counts *got, const struct stats_counts *want, const char *what,
             size_t step)
{
#define EQ(f)                                                                                      \
	do {                                                                                       \
		if (got->f != want->f)                                                             \
			fail_msg("step %zu %s: " #f " %llu, want %llu", step, what,                \
			         (unsigned long long)got->f, (unsigned long long)want->f);         \
	} while (0)
	EQ(offered);
	EQ(presented);
	EQ(answered);
	EQ(answered_in_sl);
	EQ(abandoned);
	EQ(abandoned_in_sl);
	EQ(short_abandoned);
	EQ(transferred_in);
	EQ(transferred_out);
	EQ(handled);
	EQ(wrapups);
	EQ(answer_wait_ms);
	EQ(abandon_wait_ms);
	EQ(talk_ms);
	EQ(wrapup_ms);
	EQ(csat_count);
	EQ(csat_sum);
	EQ(sla_warnings);
	EQ(sla_breaches);
	for (int i = 0; i <= STATS_SEVERITIES; i++)
		EQ(complaints[i]);
#undef EQ
}

/* Waiting count and oldest arrival of the model's items in one scope
 * (q, s, k: 0 for any). */
static void
m_waiting(const struct model *m, uint32_t q, uint32_t s, uint32_t k, uint32_t *n, int64_t *oldest)
{
	*n = 0;
	*oldest = 0;
	for (size_t i = 0; i < m->nitems; i++) {
		const struct m_item *it = &m->items[i];
		if (it->talking || (q && it->q != q) || (s && it->s != s) ||
		    (k && !((it->k >> k) & 1)))
			continue;
		if (*n == 0 || it->enq < *oldest)
			*oldest = it->enq;
		(*n)++;
	}
}

static int64_t
m_state_ms(const struct model *m, uint32_t a, int k, int64_t now)
{
	return m->closed[a][k] + (m->state[a] == k ? pos(now - m->from[a]) : 0);
}

static void
check_all(struct stats *st, const struct model *m, int64_t now, size_t step)
{
	struct stats_view v;
	struct stats_agent_view av;
	struct stats_counts sum;
	char what[32];
	uint32_t n;
	int64_t oldest;

	for (uint32_t q = 1; q <= NQ; q++) {
		ok(stats_view(st, STATS_QUEUE, q, now, &v));
		snprintf(what, sizeof what, "queue %u", q);
		counts_equal(&v.day, &m->q[q], what, step);
		m_waiting(m, q, 0, 0, &n, &oldest);
		assert_int_equal(v.waiting, n);
		assert_int_equal(v.oldest_ms, oldest);
		assert_int_equal(v.open_warnings, m->warn_q[q]);
		assert_int_equal(v.open_breaches, m->br_q[q]);
		for (int k = 0; k < ROUTE__AGENT_STATES; k++) {
			uint32_t cnt = 0;
			int64_t ms = 0;
			for (uint32_t a = 1; a <= NA; a++) {
				int here = m->member[a][q] && m->state[a] == k;
				cnt += here;
				ms +=
				    m->q_closed[a][q][k] + (here ? pos(now - m->q_from[a][q]) : 0);
			}
			assert_int_equal(v.agents[k], cnt);
			assert_int_equal(v.state_ms[k], ms);
		}
	}
	for (uint32_t k = 1; k <= NK; k++) {
		ok(stats_view(st, STATS_SKILL, k, now, &v));
		snprintf(what, sizeof what, "skill %u", k);
		counts_equal(&v.day, &m->k[k], what, step);
		m_waiting(m, 0, 0, k, &n, &oldest);
		assert_int_equal(v.waiting, n);
		assert_int_equal(v.oldest_ms, oldest);
		for (int st_ = 0; st_ < ROUTE__AGENT_STATES; st_++) {
			uint32_t cnt = 0;
			int64_t ms = 0;
			for (uint32_t a = 1; a <= NA; a++) {
				int here = m->held[a][k] && m->state[a] == st_;
				cnt += here;
				ms += m->k_closed[a][k][st_] +
				      (here ? pos(now - m->k_from[a][k]) : 0);
			}
			assert_int_equal(v.agents[st_], cnt);
			assert_int_equal(v.state_ms[st_], ms);
		}
	}
	memset(&sum, 0, sizeof sum);
	for (uint32_t s = 0; s <= NS; s++) {
		const struct stats_counts *want = &sum;
		if (s > 0) {
			if (stats_view(st, STATS_SITE, s, now, &v) == STATS_ENOENT)
				continue;
			want = &m->s[s];
		} else {
			/* overall: the sum of the sites */
			for (uint32_t k = 1; k <= NS; k++) {
				const struct stats_counts *c = &m->s[k];
				sum.offered += c->offered;
				sum.presented += c->presented;
				sum.answered += c->answered;
				sum.answered_in_sl += c->answered_in_sl;
				sum.abandoned += c->abandoned;
				sum.abandoned_in_sl += c->abandoned_in_sl;
				sum.short_abandoned += c->short_abandoned;
				sum.transferred_in += c->transferred_in;
				sum.transferred_out += c->transferred_out;
				sum.handled += c->handled;
				sum.wrapups += c->wrapups;
				sum.answer_wait_ms += c->answer_wait_ms;
				sum.abandon_wait_ms += c->abandon_wait_ms;
				sum.talk_ms += c->talk_ms;
				sum.wrapup_ms += c->wrapup_ms;
				sum.csat_count += c->csat_count;
				sum.csat_sum += c->csat_sum;
				sum.sla_warnings += c->sla_warnings;
				sum.sla_breaches += c->sla_breaches;
				for (int i = 0; i <= STATS_SEVERITIES; i++)
					sum.complaints[i] += c->complaints[i];
			}
			ok(stats_view(st, STATS_ALL, 0, now, &v));
		}
		snprintf(what, sizeof what, "site %u", s);
		counts_equal(&v.day, want, what, step);
		m_waiting(m, 0, s, 0, &n, &oldest);
		assert_int_equal(v.waiting, n);
		assert_int_equal(v.oldest_ms, oldest);
		if (s > 0) {
			assert_int_equal(v.open_warnings, m->warn_s[s]);
			assert_int_equal(v.open_breaches, m->br_s[s]);
		}
		for (int k = 0; k < ROUTE__AGENT_STATES; k++) {
			uint32_t cnt = 0;
			int64_t ms = 0;
			for (uint32_t a = 1; a <= NA; a++) {
				if (s && agent_site[a] != s)
					continue;
				cnt += m->state[a] == k;
				ms += m_state_ms(m, a, k, now);
			}
			assert_int_equal(v.agents[k], cnt);
			assert_int_equal(v.state_ms[k], ms);
		}
	}
	for (uint32_t a = 1; a <= NA; a++) {
		ok(stats_agent_view(st, a, now, &av));
		assert_int_equal(av.state, m->state[a]);
		assert_int_equal(av.presented, m->a[a].presented);
		assert_int_equal(av.answered, m->a[a].answered);
		assert_int_equal(av.handled, m->a[a].handled);
		assert_int_equal(av.wrapups, m->a[a].wrapups);
		assert_int_equal(av.talk_ms, m->a[a].talk_ms);
		assert_int_equal(av.wrapup_ms, m->a[a].wrapup_ms);
		assert_int_equal(av.csat_count, m->a[a].csat_count);
		assert_int_equal(av.csat_sum, m->a[a].csat_sum);
		for (int k = 0; k < ROUTE__AGENT_STATES; k++)
			assert_int_equal(av.state_ms[k], m_state_ms(m, a, k, now));
	}
}

/* A random event that the current model allows; 0 when none fits. */
static int
pick(const struct model *m, struct ev *e, uint64_t *next_id, int64_t now)
{
	const struct m_item *cand[NEV];
	size_t nc = 0;
	int want_talking;

	memset(e, 0, sizeof *e);
	e->type = (enum ev_type)(rand() % E__TYPES);
	e->t = now;
	e->a = 1 + (uint32_t)(rand() % NA);
	e->q = 1 + (uint32_t)(rand() % NQ);
	e->s = 1 + (uint32_t)(rand() % NS);
	switch (e->type) {
	case E_STATE:
		e->arg = rand() % ROUTE__AGENT_STATES;
		e->arg2 = rand() % 3;
		return 1;
	case E_QUEUED:
		e->item = (*next_id)++;
		e->arg = rand() % (STATS_SEVERITIES + 1);
		e->arg2 = rand() % STATS__KINDS;
		e->k = (uint32_t)(rand() % (1 << NK)) << 1;
		return 1;
	case E_OFFERED:
	case E_ANSWERED:
	case E_ABANDONED:
	case E_TRANSFER:
	case E_DONE:
		want_talking = e->type == E_DONE;
		for (size_t i = 0; i < m->nitems; i++)
			if (e->type == E_TRANSFER || m->items[i].talking == want_talking)
				cand[nc++] = &m->items[i];
		if (nc == 0)
			return 0;
		e->item = cand[rand() % nc]->id;
		if (e->type == E_TRANSFER) {
			uint32_t from = cand[0]->q;
			for (size_t i = 0; i < nc; i++)
				if (cand[i]->id == e->item)
					from = cand[i]->q;
			e->q = from % NQ + 1;
			e->k = (uint32_t)(rand() % (1 << NK)) << 1;
		}
		return 1;
	case E_WRAPEND:
		return m->wrap[e->a];
	case E_CSAT:
		e->arg = 1 + rand() % STATS_CSAT_MAX;
		if (rand() % 3 == 0)
			e->a = 0;
		return 1;
	case E_SLA:
		e->arg2 = rand() % 2;
		e->arg = rand() % 2;
		if (!e->arg)
			return e->arg2 == STATS_SLA_WARNING ? m->warn_q[e->q] && m->warn_s[e->s]
			                                    : m->br_q[e->q] && m->br_s[e->s];
		return 1;
	case E_RESET:
		return rand() % 20 == 0;
	case E_MEMBERS:
		e->arg = (rand() % (1 << NQ)) << 1;
		return 1;
	case E_SKILLS:
		e->arg = (rand() % (1 << NK)) << 1;
		return 1;
	default:
		return 0;
	}
}

/* A refused call: an unknown item, agent or queue, or a bad value. */
static void
refuse_one(struct stats *st, int64_t now)
{
	uint64_t v = stats_version(st);
	int rc;

	switch (rand() % 7) {
	case 0:
		rc = stats_item_answered(st, 999999, 1, now);
		break;
	case 5: /* an unknown skill */
		rc = stats_item_queued(st, 999999, 1, 1, 0, STATS_CALL, (uint32_t[]){1, NK + 1}, 2,
		                       now);
		break;
	case 6:
		rc = stats_agent_skills(st, 1, (uint32_t[]){2, 2}, 2, now);
		break;
	case 1:
		rc = stats_item_queued(st, 999999, 9, 1, 0, STATS_CALL, NULL, 0, now);
		break;
	case 2:
		rc = stats_agent_state(st, 1, 1, ROUTE__AGENT_STATES, NULL, now);
		break;
	case 3:
		rc = stats_csat(st, 1, 1, 0, 0, now);
		break;
	default:
		rc = stats_wrapup_end(st, 77, now);
		break;
	}
	assert_true(rc < 0);
	assert_int_equal(stats_version(st), v);
}

static void
test_random_replay(void **unused)
{
	static struct ev log[NEV + NA];
	static struct model m;
	struct stats *st = stats_new(NULL);
	uint64_t next_id = 1;
	int64_t now = T0;
	size_t n = 0;

	(void)unused;
	srand(20261123);
	for (uint32_t q = 1; q <= NQ; q++)
		ok(stats_queue_set(st, q, home[q], sl_ms[q], short_ms[q]));
	for (uint32_t k = 1; k <= NK; k++)
		ok(stats_skill_set(st, k, skill_home[k]));
	for (uint32_t a = 1; a <= NA; a++) {
		log[n] = (struct ev){E_STATE, now, 0, 0, 0, a, ROUTE_AGENT_READY, 0, 0};
		ok(m_call(st, &log[n]));
		n++;
	}
	while (n < NEV + NA) {
		struct ev e;
		uint64_t v = stats_version(st);

		/* whole seconds half the time, so waits fall on the thresholds */
		now += rand() % 2 ? S(rand() % 30) : rand() % S(30);
		if (rand() % 10 == 0)
			refuse_one(st, now);
		if (!pick(&m, &e, &next_id, now))
			continue;
		ok(m_call(st, &e));
		assert_true(stats_version(st) >= v);
		log[n++] = e;
		/* recompute from the whole log */
		memset(&m, 0, sizeof m);
		for (uint32_t a = 1; a <= NA; a++)
			m.from[a] = T0;
		for (size_t i = 0; i < n; i++)
			m_apply(&m, &log[i]);
		check_all(st, &m, now + rand() % S(10), n);
	}
	assert_int_equal(stats_items(st), m.nitems);
	stats_free(st);
}

/* Scopes go into parts in order, each part's array within the budget,
 * and a scope too large for any part is left out. */
static void
test_parts_split(void **state)
{
	size_t sizes[8], part[8];

	(void)state;
	assert_int_equal(stats_parts_split(NULL, 0, 100, NULL), 0);
	/* "[a,b,c]": 2 + 3 * 10 + 2 = 34 fits 34, not 33 */
	for (int i = 0; i < 3; i++)
		sizes[i] = 10;
	assert_int_equal(stats_parts_split(sizes, 3, 34, part), 1);
	assert_int_equal(part[0], 0);
	assert_int_equal(part[2], 0);
	assert_int_equal(stats_parts_split(sizes, 3, 33, part), 2);
	assert_int_equal(part[1], 0);
	assert_int_equal(part[2], 1);
	/* one scope exactly the budget's room, then one over it, then small */
	sizes[0] = 5;
	sizes[1] = 98;
	sizes[2] = 99;
	sizes[3] = 1;
	sizes[4] = 1;
	assert_int_equal(stats_parts_split(sizes, 5, 100, part), 3);
	assert_int_equal(part[0], 0);
	assert_int_equal(part[1], 1);
	assert_int_equal(part[2], STATS_PART_NONE);
	assert_int_equal(part[3], 2);
	assert_int_equal(part[4], 2);
	/* nothing fits */
	assert_int_equal(stats_parts_split(sizes + 2, 1, 100, part), 0);
	assert_int_equal(part[0], STATS_PART_NONE);
	assert_int_equal(stats_parts_split(sizes, 1, 1, part), 0);
}

/* Many scopes: every part within the budget, each scope in one part, in
 * order, and parts as full as the next scope allows. */
static void
test_parts_split_many(void **state)
{
	enum { N = 5000, BUDGET = 64512 };
	static size_t sizes[N], part[N], used[N];
	size_t parts;
	unsigned seed = 7;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		sizes[i] = 600 + (seed >> 16) % 600;
	}
	parts = stats_parts_split(sizes, N, BUDGET, part);
	assert_true(parts > 1);
	memset(used, 0, sizeof used);
	for (size_t i = 0; i < N; i++) {
		assert_true(part[i] < parts);
		if (i > 0)
			assert_true(part[i] == part[i - 1] || part[i] == part[i - 1] + 1);
		used[part[i]] += (used[part[i]] ? 1 : 2) + sizes[i];
	}
	for (size_t p = 0; p < parts; p++) {
		assert_true(used[p] <= BUDGET);
		/* greedy: the first scope of the next part did not fit */
		if (p + 1 < parts) {
			size_t first = 0;
			while (part[first] != p + 1)
				first++;
			assert_true(used[p] + 1 + sizes[first] > BUDGET);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scripted_hour),    cmocka_unit_test(test_transfer),
	    cmocka_unit_test(test_day_reset),        cmocka_unit_test(test_seed),
	    cmocka_unit_test(test_roll_round_trip),  cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_refusals),         cmocka_unit_test(test_thresholds),
	    cmocka_unit_test(test_members),          cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_skills),           cmocka_unit_test(test_skill_refusals),
	    cmocka_unit_test(test_random_replay),    cmocka_unit_test(test_parts_split),
	    cmocka_unit_test(test_parts_split_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
