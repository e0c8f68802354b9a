/* sla-plan.h: what a change to a ticket does to its SLA clocks, as one pure
 * function over plain values: the rule table of store-sla.c, kept apart so
 * that unit tests can walk it without a database.
 *
 * The rules (docs/ARCHITECTURE.md, "SLA clocks"):
 *   created      first_response and resolution start; next_response idle.
 *   responded    first_response and next_response stop if counting.
 *   updated      counting clocks take the new policy's target.
 *   into resolved or closed (flags or not): every counting clock stops.
 *   TF_REOPEN    resolution starts a new cycle; the others stay.
 *   out of resolved or closed without TF_REOPEN (an unmerge): resolution,
 *                and first_response when nobody responded yet, continue
 *                from the time they had counted (paused when the ticket
 *                comes back pending on the customer).
 *   TF_SLA_PAUSE, or into pending_customer: running clocks pause.
 *   TF_SLA_RESUME, or out of pending_customer: paused clocks resume, and
 *                next_response starts a new cycle (the customer spoke)
 *                once the first response was given or has no target.
 *   SLA_ANSWERED (with any of the above): first_response is met now.
 * "Counting" is running or paused. */
#ifndef CC_SLA_PLAN_H
#define CC_SLA_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "sla.h"

/* What happened to the ticket. */
enum sla_hook {
	SLA_HOOK_CREATED,   /* a new ticket (new_state is its first state) */
	SLA_HOOK_STATE,     /* a transition: flags are its TF_* (ticket_state.h) */
	SLA_HOOK_RESPONDED, /* staff wrote to the customer (a customer-visible note) */
	SLA_HOOK_UPDATED,   /* kind, severity, priority, channel or site changed */
};

/* A flag of struct sla_change beside the TF_* ones: the change answers a
 * live contact (an agent took a phone or chat contact, or logged the one
 * in hand), which is its first response: first_response is met at once
 * (SLA_OP_MET on a new ticket, SLA_OP_STOP on a counting clock). */
#define SLA_ANSWERED (1u << 30)

struct sla_change {
	uint64_t ticket_id;
	enum sla_hook what;
	unsigned flags; /* TF_* of a transition, and SLA_ANSWERED */
	int old_state;  /* enum ticket_state, -1 for a new ticket */
	int new_state;
};

/* What happens to one clock. */
enum sla_op {
	SLA_OP_KEEP,
	SLA_OP_START,           /* a new cycle with the policy's target */
	SLA_OP_PAUSE,           /* sla_clock_pause */
	SLA_OP_RESUME,          /* sla_clock_resume */
	SLA_OP_STOP,            /* sla_clock_stop: the metric is met */
	SLA_OP_CONTINUE,        /* stopped: count again from the time counted */
	SLA_OP_CONTINUE_PAUSED, /* stopped: paused, counted time kept */
	SLA_OP_RETARGET,        /* sla_clock_retarget to the policy's target */
	SLA_OP_MET,             /* a new cycle met as it starts (SLA_ANSWERED on creation) */
};

/* The operation on each metric's clock for change c, given the clocks'
 * states and whether the ticket has had its first response. */
void sla_plan(const struct sla_change *c, const enum sla_clock_state state[SLA_METRIC_COUNT],
              bool responded, enum sla_op op[SLA_METRIC_COUNT]);
/* "keep", "start" ... for logs and tests. */
const char *sla_op_name(enum sla_op op);

#endif
