/* sla-plan.c: see sla-plan.h. */
#include "sla-plan.h"

#include "ticket_state.h"

static bool
state_ended(int s)
{
	return s == TS_RESOLVED || s == TS_CLOSED;
}

static bool
counting(enum sla_clock_state s)
{
	return s == SLA_CLOCK_RUNNING || s == SLA_CLOCK_PAUSED;
}

/* A transition (or a merge, unmerge, or anything else that moves the
 * state): the first rule that applies decides. */
static void
plan_state(const struct sla_change *c, const enum sla_clock_state st[SLA_METRIC_COUNT],
           bool responded, enum sla_op op[SLA_METRIC_COUNT])
{
	bool into_pending =
	    c->new_state == TS_PENDING_CUSTOMER && c->old_state != TS_PENDING_CUSTOMER;
	bool out_of_pending =
	    c->old_state == TS_PENDING_CUSTOMER && c->new_state != TS_PENDING_CUSTOMER;

	if (state_ended(c->new_state)) {
		for (int i = 0; i < SLA_METRIC_COUNT; i++)
			if (counting(st[i]))
				op[i] = SLA_OP_STOP;
		return;
	}
	if (c->flags & TF_REOPEN) {
		op[SLA_RESOLUTION] = SLA_OP_START;
		return;
	}
	if (c->old_state >= 0 && state_ended(c->old_state)) {
		enum sla_op cont =
		    c->new_state == TS_PENDING_CUSTOMER ? SLA_OP_CONTINUE_PAUSED : SLA_OP_CONTINUE;
		if (st[SLA_RESOLUTION] == SLA_CLOCK_STOPPED)
			op[SLA_RESOLUTION] = cont;
		if (st[SLA_FIRST_RESPONSE] == SLA_CLOCK_STOPPED && !responded)
			op[SLA_FIRST_RESPONSE] = cont;
		return;
	}
	if ((c->flags & TF_SLA_PAUSE) || into_pending) {
		for (int i = 0; i < SLA_METRIC_COUNT; i++)
			if (st[i] == SLA_CLOCK_RUNNING)
				op[i] = SLA_OP_PAUSE;
		return;
	}
	if ((c->flags & TF_SLA_RESUME) || out_of_pending) {
		for (int i = 0; i < SLA_METRIC_COUNT; i++)
			if (st[i] == SLA_CLOCK_PAUSED)
				op[i] = SLA_OP_RESUME;
		if (responded || st[SLA_FIRST_RESPONSE] == SLA_CLOCK_IDLE)
			op[SLA_NEXT_RESPONSE] = SLA_OP_START;
	}
}

void
sla_plan(const struct sla_change *c, const enum sla_clock_state st[SLA_METRIC_COUNT],
         bool responded, enum sla_op op[SLA_METRIC_COUNT])
{
	for (int i = 0; i < SLA_METRIC_COUNT; i++)
		op[i] = SLA_OP_KEEP;
	switch (c->what) {
	case SLA_HOOK_CREATED:
		if (!state_ended(c->new_state)) {
			op[SLA_FIRST_RESPONSE] = SLA_OP_START;
			op[SLA_RESOLUTION] = SLA_OP_START;
		}
		break;
	case SLA_HOOK_RESPONDED:
		if (counting(st[SLA_FIRST_RESPONSE]))
			op[SLA_FIRST_RESPONSE] = SLA_OP_STOP;
		if (counting(st[SLA_NEXT_RESPONSE]))
			op[SLA_NEXT_RESPONSE] = SLA_OP_STOP;
		break;
	case SLA_HOOK_UPDATED:
		for (int i = 0; i < SLA_METRIC_COUNT; i++)
			if (counting(st[i]))
				op[i] = SLA_OP_RETARGET;
		break;
	case SLA_HOOK_STATE:
		plan_state(c, st, responded, op);
		break;
	}
	if (c->flags & SLA_ANSWERED) {
		if (op[SLA_FIRST_RESPONSE] == SLA_OP_START)
			op[SLA_FIRST_RESPONSE] = SLA_OP_MET;
		else if (counting(st[SLA_FIRST_RESPONSE]) && op[SLA_FIRST_RESPONSE] != SLA_OP_STOP)
			op[SLA_FIRST_RESPONSE] = SLA_OP_STOP;
	}
}

const char *
sla_op_name(enum sla_op op)
{
	static const char *const names[] = {"keep", "start",    "pause",           "resume",
	                                    "stop", "continue", "continue_paused", "retarget",
	                                    "met"};

	if ((unsigned)op >= sizeof names / sizeof names[0])
		return "(invalid)";
	return names[op];
}
