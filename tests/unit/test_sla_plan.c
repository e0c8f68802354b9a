/* test_sla_plan.c: the rule table that maps a ticket change to operations
 * on its SLA clocks (sla-plan.h), and the clock operations it relies on
 * beyond start/pause/resume/stop: retarget, continue and wake. Wall-clock
 * clocks (NULL calendar) keep the arithmetic obvious. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sla-plan.h"
#include "sla.h"
#include "ticket_state.h"

#define I SLA_CLOCK_IDLE
#define R SLA_CLOCK_RUNNING
#define P SLA_CLOCK_PAUSED
#define S SLA_CLOCK_STOPPED

#define T0  INT64_C(1718600000000) /* any instant */
#define SEC INT64_C(1000)

struct plan_case {
	const char *what;
	enum sla_hook hook;
	unsigned flags;
	int old_state, new_state;
	enum sla_clock_state st[SLA_METRIC_COUNT]; /* first, next, resolution */
	bool responded;
	enum sla_op want[SLA_METRIC_COUNT];
};

#define K  SLA_OP_KEEP
#define ST SLA_OP_START
#define PA SLA_OP_PAUSE
#define RE SLA_OP_RESUME
#define SP SLA_OP_STOP
#define CO SLA_OP_CONTINUE
#define CP SLA_OP_CONTINUE_PAUSED
#define RT SLA_OP_RETARGET

static const struct plan_case plan_cases[] = {
    {"created new", SLA_HOOK_CREATED, 0, -1, TS_NEW, {I, I, I}, false, {ST, K, ST}},
    {"created queued", SLA_HOOK_CREATED, 0, -1, TS_QUEUED, {I, I, I}, false, {ST, K, ST}},
    {"responded first time",
     SLA_HOOK_RESPONDED,
     0,
     TS_IN_PROGRESS,
     TS_IN_PROGRESS,
     {R, I, R},
     false,
     {SP, K, K}},
    {"responded while pending",
     SLA_HOOK_RESPONDED,
     0,
     TS_PENDING_CUSTOMER,
     TS_PENDING_CUSTOMER,
     {P, I, P},
     false,
     {SP, K, K}},
    {"responded again",
     SLA_HOOK_RESPONDED,
     0,
     TS_IN_PROGRESS,
     TS_IN_PROGRESS,
     {S, R, R},
     true,
     {K, SP, K}},
    {"responded with nothing counting",
     SLA_HOOK_RESPONDED,
     0,
     TS_IN_PROGRESS,
     TS_IN_PROGRESS,
     {S, S, R},
     true,
     {K, K, K}},
    {"hold pauses running",
     SLA_HOOK_STATE,
     TF_OWNER_REQUIRED | TF_SLA_PAUSE,
     TS_IN_PROGRESS,
     TS_PENDING_CUSTOMER,
     {R, I, R},
     false,
     {PA, K, PA}},
    {"hold leaves stopped",
     SLA_HOOK_STATE,
     TF_SLA_PAUSE,
     TS_IN_PROGRESS,
     TS_PENDING_CUSTOMER,
     {S, R, R},
     true,
     {K, PA, PA}},
    {"customer replied, not yet responded",
     SLA_HOOK_STATE,
     TF_SLA_RESUME,
     TS_PENDING_CUSTOMER,
     TS_IN_PROGRESS,
     {P, I, P},
     false,
     {RE, K, RE}},
    {"customer replied after a response",
     SLA_HOOK_STATE,
     TF_SLA_RESUME,
     TS_PENDING_CUSTOMER,
     TS_IN_PROGRESS,
     {S, S, P},
     true,
     {K, ST, RE}},
    {"customer replied, no first-response target",
     SLA_HOOK_STATE,
     TF_SLA_RESUME,
     TS_PENDING_CUSTOMER,
     TS_IN_PROGRESS,
     {I, I, P},
     false,
     {K, ST, RE}},
    {"resolve from pending stops (resume flag too)",
     SLA_HOOK_STATE,
     TF_CODE_REQUIRED | TF_STAMP_RESOLVED | TF_SLA_RESUME,
     TS_PENDING_CUSTOMER,
     TS_RESOLVED,
     {S, P, P},
     true,
     {K, SP, SP}},
    {"resolve stops all",
     SLA_HOOK_STATE,
     TF_STAMP_RESOLVED,
     TS_IN_PROGRESS,
     TS_RESOLVED,
     {R, I, R},
     false,
     {SP, K, SP}},
    {"close without flags (merge) stops all",
     SLA_HOOK_STATE,
     0,
     TS_QUEUED,
     TS_CLOSED,
     {R, I, R},
     false,
     {SP, K, SP}},
    {"reopen restarts resolution only",
     SLA_HOOK_STATE,
     TF_REOPEN | TF_WINDOW,
     TS_RESOLVED,
     TS_IN_PROGRESS,
     {S, S, S},
     true,
     {K, K, ST}},
    {"unmerge continues unanswered clocks",
     SLA_HOOK_STATE,
     0,
     TS_CLOSED,
     TS_QUEUED,
     {S, I, S},
     false,
     {CO, K, CO}},
    {"unmerge keeps a met first response",
     SLA_HOOK_STATE,
     0,
     TS_CLOSED,
     TS_IN_PROGRESS,
     {S, S, S},
     true,
     {K, K, CO}},
    {"unmerge back to pending",
     SLA_HOOK_STATE,
     0,
     TS_CLOSED,
     TS_PENDING_CUSTOMER,
     {S, I, S},
     false,
     {CP, K, CP}},
    {"accept changes nothing",
     SLA_HOOK_STATE,
     TF_OWNER_ACTOR,
     TS_QUEUED,
     TS_IN_PROGRESS,
     {R, I, R},
     false,
     {K, K, K}},
    {"transfer changes nothing",
     SLA_HOOK_STATE,
     TF_QUEUE_TARGET | TF_ENQUEUE,
     TS_IN_PROGRESS,
     TS_QUEUED,
     {R, I, R},
     false,
     {K, K, K}},
    {"into pending without the flag pauses",
     SLA_HOOK_STATE,
     0,
     TS_QUEUED,
     TS_PENDING_CUSTOMER,
     {R, I, R},
     false,
     {PA, K, PA}},
    {"out of pending without the flag resumes",
     SLA_HOOK_STATE,
     0,
     TS_PENDING_CUSTOMER,
     TS_QUEUED,
     {P, I, P},
     false,
     {RE, K, RE}},
    {"updated retargets counting clocks",
     SLA_HOOK_UPDATED,
     0,
     TS_IN_PROGRESS,
     TS_IN_PROGRESS,
     {S, R, P},
     true,
     {K, RT, RT}},
    {"updated leaves idle", SLA_HOOK_UPDATED, 0, TS_NEW, TS_NEW, {I, I, I}, false, {K, K, K}},
    {"created answered (a live contact logged)",
     SLA_HOOK_CREATED,
     SLA_ANSWERED,
     -1,
     TS_NEW,
     {I, I, I},
     false,
     {SLA_OP_MET, K, ST}},
    {"accept answers a live contact",
     SLA_HOOK_STATE,
     SLA_ANSWERED,
     TS_OFFERED,
     TS_IN_PROGRESS,
     {R, I, R},
     false,
     {SP, K, K}},
    {"accept answers a paused first response",
     SLA_HOOK_STATE,
     SLA_ANSWERED,
     TS_QUEUED,
     TS_IN_PROGRESS,
     {P, I, P},
     false,
     {SP, K, K}},
    {"accept after the first response",
     SLA_HOOK_STATE,
     SLA_ANSWERED,
     TS_QUEUED,
     TS_IN_PROGRESS,
     {S, I, R},
     true,
     {K, K, K}},
    {"answered and resolved at once",
     SLA_HOOK_STATE,
     SLA_ANSWERED,
     TS_IN_PROGRESS,
     TS_RESOLVED,
     {R, I, R},
     false,
     {SP, K, SP}},
};

static void
test_plan_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof plan_cases / sizeof plan_cases[0]; i++) {
		const struct plan_case *pc = &plan_cases[i];
		struct sla_change c = {.ticket_id = 1,
		                       .what = pc->hook,
		                       .flags = pc->flags,
		                       .old_state = pc->old_state,
		                       .new_state = pc->new_state};
		enum sla_op got[SLA_METRIC_COUNT];

		sla_plan(&c, pc->st, pc->responded, got);
		for (int m = 0; m < SLA_METRIC_COUNT; m++)
			if (got[m] != pc->want[m])
				fail_msg("%s: %s is %s, want %s", pc->what,
				         sla_metric_name((enum sla_metric)m), sla_op_name(got[m]),
				         sla_op_name(pc->want[m]));
	}
}

/* Every transition of the state table gives a plan that the clock
 * functions accept: no operation on a clock in the wrong state. */
static void
test_plan_every_transition(void **state)
{
	static const enum sla_clock_state states[] = {I, R, P, S};

	(void)state;
	for (size_t i = 0; i < ticket_transitions_count; i++) {
		const struct ticket_transition *t = &ticket_transitions[i];
		struct sla_change c = {.ticket_id = 1,
		                       .what = SLA_HOOK_STATE,
		                       .flags = t->flags,
		                       .old_state = (int)t->from,
		                       .new_state = (int)t->to};

		for (int combo = 0; combo < 64; combo++) {
			enum sla_clock_state st[SLA_METRIC_COUNT] = {
			    states[combo & 3], states[(combo >> 2) & 3], states[(combo >> 4) & 3]};
			enum sla_op op[SLA_METRIC_COUNT];

			sla_plan(&c, st, false, op);
			for (int m = 0; m < SLA_METRIC_COUNT; m++) {
				switch (op[m]) {
				case SLA_OP_PAUSE:
					assert_int_equal(st[m], R);
					break;
				case SLA_OP_RESUME:
					assert_int_equal(st[m], P);
					break;
				case SLA_OP_STOP:
					assert_true(st[m] == R || st[m] == P);
					break;
				case SLA_OP_CONTINUE:
				case SLA_OP_CONTINUE_PAUSED:
					assert_int_equal(st[m], S);
					break;
				case SLA_OP_RETARGET:
					fail_msg("a transition retargets");
					break;
				default:
					break;
				}
				/* an ended ticket counts nothing */
				if (t->to == TS_RESOLVED || t->to == TS_CLOSED)
					assert_true(op[m] == SLA_OP_KEEP || op[m] == SLA_OP_STOP);
			}
		}
	}
}

static void
test_op_names(void **state)
{
	(void)state;
	assert_string_equal(sla_op_name(SLA_OP_KEEP), "keep");
	assert_string_equal(sla_op_name(SLA_OP_RETARGET), "retarget");
	assert_string_equal(sla_op_name((enum sla_op)99), "(invalid)");
}

/* A 100 s wall clock warning at 50 %. */
static void
start100(struct sla_clock *c)
{
	struct sla_target t = {100 * SEC, SLA_WALL};

	assert_int_equal(sla_clock_start(c, &t, 50, T0), 0);
}

static void
test_retarget_shorter_breaches_at_once(void **state)
{
	struct sla_clock c;
	struct sla_target t = {30 * SEC, SLA_WALL};
	struct sla_status st;
	int64_t next;

	(void)state;
	start100(&c);
	/* 40 s in: warned? no (50 s); the new 30 s target is passed */
	assert_int_equal(sla_clock_retarget(&c, NULL, &t, 50, T0 + 40 * SEC), 0);
	assert_int_equal(c.state, SLA_CLOCK_RUNNING);
	sla_clock_status(&c, NULL, T0 + 40 * SEC, &st);
	assert_int_equal(st.level, SLA_BREACHED);
	assert_int_equal(st.due_ms, T0 + 40 * SEC); /* clamped: breached now */
	assert_int_equal(st.elapsed_ms, 40 * SEC);
	assert_int_equal(sla_clock_wake(&c, NULL, T0 + 40 * SEC), T0 + 40 * SEC);
	assert_int_equal(sla_clock_advance(&c, NULL, T0 + 40 * SEC, &next),
	                 SLA_EV_WARNING | SLA_EV_BREACH);
	assert_int_equal(next, SLA_NEVER);
	assert_int_equal(sla_clock_wake(&c, NULL, T0 + 41 * SEC), SLA_NEVER);
}

static void
test_retarget_longer_keeps_elapsed(void **state)
{
	struct sla_clock c;
	struct sla_target t = {200 * SEC, SLA_WALL};
	struct sla_status st;

	(void)state;
	start100(&c);
	/* warned at 50 s, reported */
	assert_int_equal(sla_clock_advance(&c, NULL, T0 + 60 * SEC, NULL), SLA_EV_WARNING);
	assert_int_equal(sla_clock_retarget(&c, NULL, &t, 50, T0 + 60 * SEC), 0);
	/* 60 s of 200: under the new warning (100 s), so it warns again then */
	assert_int_equal(c.notified, 0u);
	sla_clock_status(&c, NULL, T0 + 60 * SEC, &st);
	assert_int_equal(st.level, SLA_OK);
	assert_int_equal(st.remaining_ms, 140 * SEC);
	assert_int_equal(st.due_ms, T0 + 200 * SEC);
	assert_int_equal(sla_clock_wake(&c, NULL, T0 + 60 * SEC), T0 + 100 * SEC);
}

static void
test_retarget_paused_and_refusals(void **state)
{
	struct sla_clock c, before;
	struct sla_target t = {20 * SEC, SLA_WALL}, none = {0, SLA_WALL};
	struct sla_status st;

	(void)state;
	start100(&c);
	assert_int_equal(sla_clock_pause(&c, NULL, T0 + 30 * SEC), 0);
	before = c;
	assert_int_equal(sla_clock_retarget(&c, NULL, &none, 50, T0 + 40 * SEC), -1);
	assert_memory_equal(&c, &before, sizeof c);
	assert_int_equal(sla_clock_retarget(&c, NULL, &t, 50, T0 + 40 * SEC), 0);
	assert_int_equal(c.state, SLA_CLOCK_PAUSED);
	sla_clock_status(&c, NULL, T0 + 50 * SEC, &st);
	assert_int_equal(st.level, SLA_BREACHED);
	assert_int_equal(st.elapsed_ms, 30 * SEC); /* paused time not counted */
	assert_int_equal(st.due_ms, T0 + 40 * SEC);
	/* a paused clock with an unreported breach still wants a wake-up */
	assert_int_equal(sla_clock_wake(&c, NULL, T0 + 50 * SEC), T0 + 50 * SEC);
	/* idle and stopped clocks cannot be retargeted */
	memset(&c, 0, sizeof c);
	assert_int_equal(sla_clock_retarget(&c, NULL, &t, 50, T0), -1);
	start100(&c);
	assert_int_equal(sla_clock_stop(&c, NULL, T0 + SEC), 0);
	assert_int_equal(sla_clock_retarget(&c, NULL, &t, 50, T0), -1);
}

static void
test_continue(void **state)
{
	struct sla_clock c;
	struct sla_status st;

	(void)state;
	start100(&c);
	assert_int_equal(sla_clock_continue(&c, 0, T0), -1); /* running */
	assert_int_equal(sla_clock_stop(&c, NULL, T0 + 30 * SEC), 0);
	/* merged for 1000 s, then unmerged: 70 s remain */
	assert_int_equal(sla_clock_continue(&c, 0, T0 + 1030 * SEC), 0);
	assert_int_equal(c.state, SLA_CLOCK_RUNNING);
	sla_clock_status(&c, NULL, T0 + 1030 * SEC, &st);
	assert_int_equal(st.remaining_ms, 70 * SEC);
	assert_int_equal(st.due_ms, T0 + 1100 * SEC);
	assert_int_equal(sla_clock_wake(&c, NULL, T0 + 1030 * SEC), T0 + 1050 * SEC);
	/* paused: stays frozen until resumed */
	assert_int_equal(sla_clock_stop(&c, NULL, T0 + 1040 * SEC), 0);
	assert_int_equal(sla_clock_continue(&c, 1, T0 + 2000 * SEC), 0);
	assert_int_equal(c.state, SLA_CLOCK_PAUSED);
	sla_clock_status(&c, NULL, T0 + 3000 * SEC, &st);
	assert_int_equal(st.elapsed_ms, 40 * SEC);
	assert_int_equal(sla_clock_wake(&c, NULL, T0 + 3000 * SEC), SLA_NEVER);
	assert_int_equal(sla_clock_resume(&c, T0 + 3000 * SEC), 0);
	assert_int_equal(sla_clock_wake(&c, NULL, T0 + 3000 * SEC), T0 + 3010 * SEC);
}

static void
test_wake_stopped_late(void **state)
{
	struct sla_clock c;

	(void)state;
	start100(&c);
	/* stopped after the target before a timer reported it */
	assert_int_equal(sla_clock_stop(&c, NULL, T0 + 120 * SEC), 0);
	assert_int_equal(sla_clock_wake(&c, NULL, T0 + 121 * SEC), T0 + 121 * SEC);
	assert_int_equal(sla_clock_advance(&c, NULL, T0 + 121 * SEC, NULL),
	                 SLA_EV_WARNING | SLA_EV_BREACH);
	assert_int_equal(sla_clock_wake(&c, NULL, T0 + 122 * SEC), SLA_NEVER);
	memset(&c, 0, sizeof c);
	assert_int_equal(sla_clock_wake(&c, NULL, T0), SLA_NEVER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_table),
	    cmocka_unit_test(test_plan_every_transition),
	    cmocka_unit_test(test_op_names),
	    cmocka_unit_test(test_retarget_shorter_breaches_at_once),
	    cmocka_unit_test(test_retarget_longer_keeps_elapsed),
	    cmocka_unit_test(test_retarget_paused_and_refusals),
	    cmocka_unit_test(test_continue),
	    cmocka_unit_test(test_wake_stopped_late),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
