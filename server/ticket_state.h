/* ticket_state.h: the ticket state machine as one table of transitions.
 *
 * Every change of a ticket's state is a row: from-state, action, to-state,
 * the roles that may take it and flags that tell the operation what else the
 * transition does (owner, queue, time stamps, SLA clocks). Operations look
 * the row up and act on its flags; they never decide on states themselves.
 * Pure: no I/O, no clock reads (time is a parameter). Roles are the ROLE_*
 * bits of server.h; the server's own actions (router, timers) use
 * ROLE_SERVICE. */
#ifndef CC_TICKET_STATE_H
#define CC_TICKET_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errcode.h"

/* Values and names match tickets.state in schema/002_tickets.sql. */
enum ticket_state {
	TS_NEW,
	TS_QUEUED,
	TS_OFFERED,
	TS_IN_PROGRESS,
	TS_PENDING_CUSTOMER,
	TS_RESOLVED,
	TS_CLOSED,
	TS__COUNT
};

enum ticket_action {
	TA_ENQUEUE,          /* put a new ticket in a queue */
	TA_OFFER,            /* the router proposes the ticket to one agent */
	TA_ACCEPT,           /* the offered agent takes it, or an agent takes a new one */
	TA_DECLINE,          /* the offered agent refuses: back in line */
	TA_TIMEOUT,          /* the offer ran out: back in line */
	TA_HOLD,             /* waiting for the customer */
	TA_CUSTOMER_REPLIED, /* the customer answered */
	TA_RESOLVE,
	TA_CLOSE,
	TA_REOPEN,
	TA_TRANSFER_QUEUE, /* to another queue */
	TA_TRANSFER_AGENT, /* to a named agent */
	TA_TRANSFER_SITE,  /* to a queue of another site: ownership moves */
	TA_ESCALATE,       /* raise the escalation level; the state stays */
	TA__COUNT
};

/* What a transition does besides changing the state. */
enum ticket_flag {
	TF_OWNER_REQUIRED = 1 << 0, /* an agent may take it only on a ticket they own */
	TF_OWNER_ACTOR = 1 << 1,    /* the actor becomes the owner */
	TF_OWNER_TARGET = 1 << 2,   /* the agent named in the request becomes the owner */
	TF_OWNER_CLEAR = 1 << 3,    /* the ticket is left without an owner */
	TF_QUEUE_TARGET = 1 << 4,   /* the request names the queue to use */
	TF_SITE_TARGET = 1 << 5,    /* owning_site_id changes to the queue's site */
	TF_ENQUEUE = 1 << 6,        /* enqueued_at = now: the ticket joins the end of the line */
	TF_CODE_REQUIRED = 1 << 7,  /* the request carries a resolution code */
	TF_STAMP_RESOLVED = 1 << 8, /* resolved_at = now */
	TF_STAMP_CLOSED = 1 << 9,   /* closed_at = now */
	TF_REOPEN = 1 << 10,        /* reopen_count + 1; resolved_at, resolution cleared */
	TF_WINDOW = 1 << 11,        /* only within the reopen window after resolve or close */
	TF_FOLLOWUP = 1 << 12,      /* this ticket is unchanged: a new ticket (state new) is
	                               opened with a followup_of link to it */
	TF_SLA_PAUSE = 1 << 13,     /* the SLA clocks stop (ticket_sla_clocks) */
	TF_SLA_RESUME = 1 << 14,    /* the SLA clocks run again */
	TF_ESCALATE = 1 << 15,      /* escalation_level + 1 */
};

struct ticket_transition {
	enum ticket_state from;
	enum ticket_action action;
	enum ticket_state to;
	unsigned roles; /* ROLE_* bits that may take it */
	unsigned flags; /* TF_* */
};

/* The table, in the order that refusal messages list actions. */
extern const struct ticket_transition ticket_transitions[];
extern const size_t ticket_transitions_count;

/* Whether a state has an owner (tickets.owner_agent_id). */
enum ticket_owner_rule { TICKET_OWNER_NONE, TICKET_OWNER_REQUIRED, TICKET_OWNER_ANY };

/* The facts of one attempt that the row's roles and flags are checked
 * against. ended_ms is resolved_at or closed_at (for TF_WINDOW rows). */
struct ticket_attempt {
	enum ticket_state state;
	enum ticket_action action;
	unsigned role; /* exactly one ROLE_* bit */
	bool is_owner; /* the actor is the ticket's owner */
	int64_t now_ms;
	int64_t ended_ms;
	int64_t reopen_window_ms;
};

enum ticket_refusal {
	TICKET_OK,
	TICKET_NO_TRANSITION, /* the action does not apply in this state */
	TICKET_ROLE,          /* the actor's role may not take it */
	TICKET_NOT_OWNER,     /* an agent acting on a ticket they do not own */
	TICKET_WINDOW_PASSED, /* reopen after the window */
};

/* The name of a state or action as stored and sent ("in_progress");
 * "(invalid)" for a value out of range. */
const char *ticket_state_name(enum ticket_state s);
const char *ticket_action_name(enum ticket_action a);
/* The state or action for a name; -1 when unknown. */
int ticket_state_parse(const char *name);
int ticket_action_parse(const char *name);

/* Whether a ticket in s is still being worked (SLA clocks may run). */
bool ticket_state_open(enum ticket_state s);
/* The owner and queue rules of a state, as the tickets CHECKs enforce. */
enum ticket_owner_rule ticket_state_owner(enum ticket_state s);
bool ticket_state_needs_queue(enum ticket_state s);

/* The row for (from, action); NULL when there is none. */
const struct ticket_transition *ticket_transition_find(enum ticket_state from,
                                                       enum ticket_action action);

/* Check an attempt against the table. On TICKET_OK, *row (if row is not
 * NULL) is the transition to carry out; otherwise msg holds a sentence for
 * the actor naming what is allowed instead. msg is always terminated. */
enum ticket_refusal ticket_transition_check(const struct ticket_attempt *a,
                                            const struct ticket_transition **row, char *msg,
                                            size_t msglen);

/* The protocol error code for a refusal: conflict for a state that does not
 * allow the action (often someone else changed it first), forbidden for the
 * role and owner checks. */
enum cc_err ticket_refusal_err(enum ticket_refusal r);

/* "a, b, c": the actions that role (one ROLE_* bit, or 0 for any role) may
 * take from state s, in table order; "none" when there are none. Returns
 * the length snprintf would have written. */
int ticket_actions_allowed(enum ticket_state s, unsigned role, char *buf, size_t len);

#endif
