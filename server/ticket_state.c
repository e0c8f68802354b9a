/* ticket_state.c: the ticket state machine table and its checks.
 *
 * The table is the whole machine: adding a transition is adding a row, and
 * tests/unit/test_ticket_state.c holds the table to the invariants that the
 * tickets CHECKs in schema/002_tickets.sql enforce (who owns a ticket in
 * which state, which states need a queue and a place in line), so a row
 * that would make an operation store an impossible ticket fails a test
 * before it fails a transaction.
 *
 * Decisions the rows encode:
 * - Only the router and timers (ROLE_SERVICE) offer and time out offers;
 *   people move waiting work with the transfer actions.
 * - A transfer to a named agent is an offer to that agent (who may decline),
 *   except for a ticket waiting for the customer, which is simply handed
 *   over: there is nothing for the new owner to answer yet.
 * - Back in line after decline or timeout, a ticket keeps its enqueue time;
 *   a ticket that leaves an agent (transfer from in_progress) joins the end.
 * - Reopening a resolved ticket within the window gives it back to its
 *   owner; reopening a closed one leaves it closed and opens a follow-up
 *   ticket linked to it, so closed stays final for reports.
 * - Escalation never changes the state; it raises the escalation level so
 *   the router and supervisors see it. */
#include "ticket_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

#define A ROLE_AGENT
#define S ROLE_SUPERVISOR
#define D ROLE_ADMIN
#define V ROLE_SERVICE

/* clang-format off */
const struct ticket_transition ticket_transitions[] = {
	/* from                 action               to                    roles        flags */
	{TS_NEW,              TA_ENQUEUE,          TS_QUEUED,           A | S | D | V, TF_QUEUE_TARGET | TF_ENQUEUE},
	{TS_NEW,              TA_ACCEPT,           TS_IN_PROGRESS,      A | S | D,     TF_OWNER_ACTOR | TF_QUEUE_TARGET},
	{TS_NEW,              TA_TRANSFER_AGENT,   TS_OFFERED,          S | D | V,     TF_OWNER_TARGET | TF_QUEUE_TARGET | TF_ENQUEUE},
	{TS_NEW,              TA_TRANSFER_SITE,    TS_QUEUED,           S | D | V,     TF_QUEUE_TARGET | TF_SITE_TARGET | TF_ENQUEUE},
	{TS_NEW,              TA_ESCALATE,         TS_NEW,              S | D | V,     TF_ESCALATE},
	{TS_NEW,              TA_CLOSE,            TS_CLOSED,           S | D | V,     TF_CODE_REQUIRED | TF_STAMP_CLOSED},

	{TS_QUEUED,           TA_OFFER,            TS_OFFERED,          V,             TF_OWNER_TARGET},
	{TS_QUEUED,           TA_TRANSFER_QUEUE,   TS_QUEUED,           S | D | V,     TF_QUEUE_TARGET},
	{TS_QUEUED,           TA_TRANSFER_AGENT,   TS_OFFERED,          S | D | V,     TF_OWNER_TARGET},
	{TS_QUEUED,           TA_TRANSFER_SITE,    TS_QUEUED,           S | D | V,     TF_QUEUE_TARGET | TF_SITE_TARGET},
	{TS_QUEUED,           TA_ESCALATE,         TS_QUEUED,           S | D | V,     TF_ESCALATE},
	{TS_QUEUED,           TA_CLOSE,            TS_CLOSED,           S | D | V,     TF_CODE_REQUIRED | TF_STAMP_CLOSED},

	{TS_OFFERED,          TA_ACCEPT,           TS_IN_PROGRESS,      A | V,         TF_OWNER_REQUIRED},
	{TS_OFFERED,          TA_DECLINE,          TS_QUEUED,           A | V,         TF_OWNER_REQUIRED | TF_OWNER_CLEAR},
	{TS_OFFERED,          TA_TIMEOUT,          TS_QUEUED,           V,             TF_OWNER_CLEAR},
	{TS_OFFERED,          TA_ESCALATE,         TS_OFFERED,          S | D | V,     TF_ESCALATE},
	{TS_OFFERED,          TA_CLOSE,            TS_CLOSED,           S | D | V,     TF_OWNER_CLEAR | TF_CODE_REQUIRED | TF_STAMP_CLOSED},

	{TS_IN_PROGRESS,      TA_HOLD,             TS_PENDING_CUSTOMER, A | S | D,     TF_OWNER_REQUIRED | TF_SLA_PAUSE},
	{TS_IN_PROGRESS,      TA_CUSTOMER_REPLIED, TS_IN_PROGRESS,      A | S | D | V, TF_OWNER_REQUIRED},
	{TS_IN_PROGRESS,      TA_RESOLVE,          TS_RESOLVED,         A | S | D,     TF_OWNER_REQUIRED | TF_CODE_REQUIRED | TF_STAMP_RESOLVED},
	{TS_IN_PROGRESS,      TA_TRANSFER_QUEUE,   TS_QUEUED,           A | S | D | V, TF_OWNER_REQUIRED | TF_OWNER_CLEAR | TF_QUEUE_TARGET | TF_ENQUEUE},
	{TS_IN_PROGRESS,      TA_TRANSFER_AGENT,   TS_OFFERED,          A | S | D | V, TF_OWNER_REQUIRED | TF_OWNER_TARGET | TF_ENQUEUE},
	{TS_IN_PROGRESS,      TA_TRANSFER_SITE,    TS_QUEUED,           A | S | D | V, TF_OWNER_REQUIRED | TF_OWNER_CLEAR | TF_QUEUE_TARGET | TF_SITE_TARGET | TF_ENQUEUE},
	{TS_IN_PROGRESS,      TA_ESCALATE,         TS_IN_PROGRESS,      A | S | D | V, TF_OWNER_REQUIRED | TF_ESCALATE},

	{TS_PENDING_CUSTOMER, TA_CUSTOMER_REPLIED, TS_IN_PROGRESS,      A | S | D | V, TF_OWNER_REQUIRED | TF_SLA_RESUME},
	{TS_PENDING_CUSTOMER, TA_RESOLVE,          TS_RESOLVED,         A | S | D | V, TF_OWNER_REQUIRED | TF_CODE_REQUIRED | TF_STAMP_RESOLVED | TF_SLA_RESUME},
	{TS_PENDING_CUSTOMER, TA_TRANSFER_AGENT,   TS_PENDING_CUSTOMER, A | S | D,     TF_OWNER_REQUIRED | TF_OWNER_TARGET},
	{TS_PENDING_CUSTOMER, TA_ESCALATE,         TS_PENDING_CUSTOMER, A | S | D | V, TF_OWNER_REQUIRED | TF_ESCALATE},

	{TS_RESOLVED,         TA_CLOSE,            TS_CLOSED,           A | S | D | V, TF_OWNER_REQUIRED | TF_STAMP_CLOSED},
	{TS_RESOLVED,         TA_REOPEN,           TS_IN_PROGRESS,      A | S | D | V, TF_OWNER_REQUIRED | TF_WINDOW | TF_REOPEN},

	{TS_CLOSED,           TA_REOPEN,           TS_CLOSED,           A | S | D | V, TF_WINDOW | TF_FOLLOWUP},
};
/* clang-format on */
const size_t ticket_transitions_count = sizeof ticket_transitions / sizeof ticket_transitions[0];

#undef A
#undef S
#undef D
#undef V

static const char *const state_names[TS__COUNT] = {
    [TS_NEW] = "new",
    [TS_QUEUED] = "queued",
    [TS_OFFERED] = "offered",
    [TS_IN_PROGRESS] = "in_progress",
    [TS_PENDING_CUSTOMER] = "pending_customer",
    [TS_RESOLVED] = "resolved",
    [TS_CLOSED] = "closed",
};

static const char *const action_names[TA__COUNT] = {
    [TA_ENQUEUE] = "enqueue",
    [TA_OFFER] = "offer",
    [TA_ACCEPT] = "accept",
    [TA_DECLINE] = "decline",
    [TA_TIMEOUT] = "timeout",
    [TA_HOLD] = "hold",
    [TA_CUSTOMER_REPLIED] = "customer_replied",
    [TA_RESOLVE] = "resolve",
    [TA_CLOSE] = "close",
    [TA_REOPEN] = "reopen",
    [TA_TRANSFER_QUEUE] = "transfer_queue",
    [TA_TRANSFER_AGENT] = "transfer_agent",
    [TA_TRANSFER_SITE] = "transfer_site",
    [TA_ESCALATE] = "escalate",
};

/* Role bits in the order messages list them, with the words they use. */
static const struct {
	unsigned bit;
	const char *name;
	const char *actor;
} role_words[] = {
    {ROLE_AGENT, "agent", "an agent"},
    {ROLE_SUPERVISOR, "supervisor", "a supervisor"},
    {ROLE_ADMIN, "admin", "an admin"},
    {ROLE_SERVICE, "service", "the service"},
};
#define NROLES (sizeof role_words / sizeof role_words[0])

const char *
ticket_state_name(enum ticket_state s)
{
	if ((int)s < 0 || s >= TS__COUNT)
		return "(invalid)";
	return state_names[s];
}

const char *
ticket_action_name(enum ticket_action a)
{
	if ((int)a < 0 || a >= TA__COUNT)
		return "(invalid)";
	return action_names[a];
}

/* Index of name in a table of n names; -1 when absent. */
static int
name_lookup(const char *const *names, int n, const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int
ticket_state_parse(const char *name)
{
	return name_lookup(state_names, TS__COUNT, name);
}

int
ticket_action_parse(const char *name)
{
	return name_lookup(action_names, TA__COUNT, name);
}

bool
ticket_state_open(enum ticket_state s)
{
	return (int)s >= 0 && s < TS_RESOLVED;
}

enum ticket_owner_rule
ticket_state_owner(enum ticket_state s)
{
	switch (s) {
	case TS_NEW:
	case TS_QUEUED:
		return TICKET_OWNER_NONE;
	case TS_CLOSED:
		return TICKET_OWNER_ANY;
	default:
		return TICKET_OWNER_REQUIRED;
	}
}

bool
ticket_state_needs_queue(enum ticket_state s)
{
	return s != TS_NEW && s != TS_CLOSED && (int)s >= 0 && s < TS__COUNT;
}

const struct ticket_transition *
ticket_transition_find(enum ticket_state from, enum ticket_action action)
{
	for (size_t i = 0; i < ticket_transitions_count; i++)
		if (ticket_transitions[i].from == from && ticket_transitions[i].action == action)
			return &ticket_transitions[i];
	return NULL;
}

/* Append to buf like snprintf at offset *off, never past len. */
static void
append(char *buf, size_t len, int *off, const char *s)
{
	int n = snprintf(*off < (int)len ? buf + *off : NULL, *off < (int)len ? len - *off : 0,
	                 "%s", s);

	*off += n;
}

int
ticket_actions_allowed(enum ticket_state s, unsigned role, char *buf, size_t len)
{
	int off = 0;

	if (len > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < ticket_transitions_count; i++) {
		const struct ticket_transition *t = &ticket_transitions[i];

		if (t->from != s || (role != 0 && (t->roles & role) == 0))
			continue;
		if (off > 0)
			append(buf, len, &off, ", ");
		append(buf, len, &off, action_names[t->action]);
	}
	if (off == 0)
		append(buf, len, &off, "none");
	return off;
}

/* "supervisor, admin, service": the roles in a mask. */
static void
roles_list(unsigned roles, char *buf, size_t len)
{
	int off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NROLES; i++) {
		if ((roles & role_words[i].bit) == 0)
			continue;
		if (off > 0)
			append(buf, len, &off, ", ");
		append(buf, len, &off, role_words[i].name);
	}
}

/* "7 days", "90 minutes": a window in the largest unit that divides it. */
static void
duration_words(int64_t ms, char *buf, size_t len)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {{86400000, "day"}, {3600000, "hour"}, {60000, "minute"}, {1000, "second"}};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms >= units[i].ms && ms % units[i].ms == 0) {
			int64_t n = ms / units[i].ms;
			snprintf(buf, len, "%" PRId64 " %s%s", n, units[i].unit, n == 1 ? "" : "s");
			return;
		}
	}
	snprintf(buf, len, "%" PRId64 " ms", ms);
}

/* The actor words for one role bit; NULL when role is not exactly one
 * known bit. */
static const char *
role_actor(unsigned role)
{
	for (size_t i = 0; i < NROLES; i++)
		if (role == role_words[i].bit)
			return role_words[i].actor;
	return NULL;
}

/* Whether more than the reopen window has passed since the ticket was
 * resolved or closed. A clock that stepped back (now before ended) counts
 * as no time elapsed; the arithmetic is unsigned so that no pair of
 * timestamps can overflow. */
static bool
window_passed(const struct ticket_attempt *a)
{
	uint64_t window = a->reopen_window_ms > 0 ? (uint64_t)a->reopen_window_ms : 0;

	if (a->now_ms <= a->ended_ms)
		return false;
	return (uint64_t)a->now_ms - (uint64_t)a->ended_ms > window;
}

enum ticket_refusal
ticket_transition_check(const struct ticket_attempt *a, const struct ticket_transition **row,
                        char *msg, size_t msglen)
{
	const struct ticket_transition *t;
	const char *actor = role_actor(a->role);
	const char *act = ticket_action_name(a->action), *st = ticket_state_name(a->state);
	char list[160];

	if (row != NULL)
		*row = NULL;
	if (msglen > 0)
		msg[0] = '\0';
	if ((int)a->state < 0 || a->state >= TS__COUNT || (int)a->action < 0 ||
	    a->action >= TA__COUNT) {
		snprintf(msg, msglen, "unknown state or action");
		return TICKET_NO_TRANSITION;
	}
	if (actor == NULL) {
		snprintf(msg, msglen, "unknown role");
		return TICKET_ROLE;
	}
	if ((t = ticket_transition_find(a->state, a->action)) == NULL) {
		ticket_actions_allowed(a->state, a->role, list, sizeof list);
		snprintf(msg, msglen, "cannot %s a ticket that is %s; allowed: %s", act, st, list);
		return TICKET_NO_TRANSITION;
	}
	if ((t->roles & a->role) == 0) {
		roles_list(t->roles, list, sizeof list);
		snprintf(msg, msglen, "%s cannot %s a ticket that is %s; only %s can", actor, act,
		         st, list);
		return TICKET_ROLE;
	}
	if ((t->flags & TF_OWNER_REQUIRED) && a->role == ROLE_AGENT && !a->is_owner) {
		snprintf(msg, msglen, "only the owner can %s this ticket", act);
		return TICKET_NOT_OWNER;
	}
	if ((t->flags & TF_WINDOW) && window_passed(a)) {
		duration_words(a->reopen_window_ms > 0 ? a->reopen_window_ms : 0, list,
		               sizeof list);
		snprintf(msg, msglen, "cannot %s a ticket %s more than %s ago", act, st, list);
		return TICKET_WINDOW_PASSED;
	}
	if (row != NULL)
		*row = t;
	return TICKET_OK;
}

enum cc_err
ticket_refusal_err(enum ticket_refusal r)
{
	switch (r) {
	case TICKET_OK:
		return CC_OK;
	case TICKET_ROLE:
	case TICKET_NOT_OWNER:
		return CC_ERR_FORBIDDEN;
	case TICKET_NO_TRANSITION:
	case TICKET_WINDOW_PASSED:
		return CC_ERR_CONFLICT;
	}
	return CC_ERR_INTERNAL;
}
