/* test_ticket_state.c: the ticket state machine table, row by row, its
 * refusals, and the table's own consistency. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server.h"
#include "ticket_state.h"

#define DAY_MS   (INT64_C(86400000))
#define T0       INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define NSTATES  ((int)TS__COUNT)
#define NEGATIVE (-1) /* an enum value below the range */

static const unsigned all_roles[] = {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN, ROLE_SERVICE};

/* The specification, written out again by name: a change to the table
 * must be made here too, on purpose. Roles: A agent, S supervisor, D admin,
 * V service. */
static const struct {
	const char *from, *action, *to, *roles;
	unsigned flags;
} spec[] = {
    {"new", "enqueue", "queued", "ASDV", TF_QUEUE_TARGET | TF_ENQUEUE},
    {"new", "accept", "in_progress", "ASD", TF_OWNER_ACTOR | TF_QUEUE_TARGET},
    {"new", "transfer_agent", "offered", "SDV", TF_OWNER_TARGET | TF_QUEUE_TARGET | TF_ENQUEUE},
    {"new", "transfer_site", "queued", "SDV", TF_QUEUE_TARGET | TF_SITE_TARGET | TF_ENQUEUE},
    {"new", "escalate", "new", "SDV", TF_ESCALATE},
    {"new", "close", "closed", "SDV", TF_CODE_REQUIRED | TF_STAMP_CLOSED},
    {"queued", "offer", "offered", "V", TF_OWNER_TARGET},
    {"queued", "transfer_queue", "queued", "SDV", TF_QUEUE_TARGET},
    {"queued", "transfer_agent", "offered", "SDV", TF_OWNER_TARGET},
    {"queued", "transfer_site", "queued", "SDV", TF_QUEUE_TARGET | TF_SITE_TARGET},
    {"queued", "escalate", "queued", "SDV", TF_ESCALATE},
    {"queued", "close", "closed", "SDV", TF_CODE_REQUIRED | TF_STAMP_CLOSED},
    {"offered", "accept", "in_progress", "AV", TF_OWNER_REQUIRED},
    {"offered", "decline", "queued", "AV", TF_OWNER_REQUIRED | TF_OWNER_CLEAR},
    {"offered", "timeout", "queued", "V", TF_OWNER_CLEAR},
    {"offered", "escalate", "offered", "SDV", TF_ESCALATE},
    {"offered", "close", "closed", "SDV", TF_OWNER_CLEAR | TF_CODE_REQUIRED | TF_STAMP_CLOSED},
    {"in_progress", "hold", "pending_customer", "ASD", TF_OWNER_REQUIRED | TF_SLA_PAUSE},
    {"in_progress", "customer_replied", "in_progress", "ASDV", TF_OWNER_REQUIRED},
    {"in_progress", "resolve", "resolved", "ASD",
     TF_OWNER_REQUIRED | TF_CODE_REQUIRED | TF_STAMP_RESOLVED},
    {"in_progress", "transfer_queue", "queued", "ASDV",
     TF_OWNER_REQUIRED | TF_OWNER_CLEAR | TF_QUEUE_TARGET | TF_ENQUEUE},
    {"in_progress", "transfer_agent", "offered", "ASDV",
     TF_OWNER_REQUIRED | TF_OWNER_TARGET | TF_ENQUEUE},
    {"in_progress", "transfer_site", "queued", "ASDV",
     TF_OWNER_REQUIRED | TF_OWNER_CLEAR | TF_QUEUE_TARGET | TF_SITE_TARGET | TF_ENQUEUE},
    {"in_progress", "escalate", "in_progress", "ASDV", TF_OWNER_REQUIRED | TF_ESCALATE},
    {"pending_customer", "customer_replied", "in_progress", "ASDV",
     TF_OWNER_REQUIRED | TF_SLA_RESUME},
    {"pending_customer", "resolve", "resolved", "ASDV",
     TF_OWNER_REQUIRED | TF_CODE_REQUIRED | TF_STAMP_RESOLVED | TF_SLA_RESUME},
    {"pending_customer", "transfer_agent", "pending_customer", "ASD",
     TF_OWNER_REQUIRED | TF_OWNER_TARGET},
    {"pending_customer", "escalate", "pending_customer", "ASDV", TF_OWNER_REQUIRED | TF_ESCALATE},
    {"resolved", "close", "closed", "ASDV", TF_OWNER_REQUIRED | TF_STAMP_CLOSED},
    {"resolved", "reopen", "in_progress", "ASDV", TF_OWNER_REQUIRED | TF_WINDOW | TF_REOPEN},
    {"closed", "reopen", "closed", "ASDV", TF_WINDOW | TF_FOLLOWUP},
};
#define NSPEC (sizeof spec / sizeof spec[0])

/* Role bits for "ASDV" letters. */
static unsigned
roles_of(const char *letters)
{
	unsigned r = 0;

	for (const char *c = letters; *c != '\0'; c++) {
		switch (*c) {
		case 'A':
			r |= ROLE_AGENT;
			break;
		case 'S':
			r |= ROLE_SUPERVISOR;
			break;
		case 'D':
			r |= ROLE_ADMIN;
			break;
		case 'V':
			r |= ROLE_SERVICE;
			break;
		default:
			fail_msg("bad role letter %c", *c);
		}
	}
	return r;
}

/* An attempt that passes every check but the row's roles: owner, within
 * the window. */
static struct ticket_attempt
attempt(enum ticket_state s, enum ticket_action a, unsigned role)
{
	struct ticket_attempt at = {
	    .state = s,
	    .action = a,
	    .role = role,
	    .is_owner = true,
	    .now_ms = T0 + DAY_MS,
	    .ended_ms = T0,
	    .reopen_window_ms = 7 * DAY_MS,
	};

	return at;
}

/* Check and return the refusal, with the message in msg. */
static enum ticket_refusal
check(const struct ticket_attempt *at, char *msg, size_t len, const struct ticket_transition **row)
{
	return ticket_transition_check(at, row, msg, len);
}

/* Every specified row is in the table as specified, and nothing else is. */
static void
test_table_matches_spec(void **state)
{
	(void)state;
	assert_int_equal(ticket_transitions_count, NSPEC);
	for (size_t i = 0; i < NSPEC; i++) {
		int from = ticket_state_parse(spec[i].from), to = ticket_state_parse(spec[i].to);
		int act = ticket_action_parse(spec[i].action);
		const struct ticket_transition *t;

		assert_true(from >= 0 && to >= 0 && act >= 0);
		t = ticket_transition_find((enum ticket_state)from, (enum ticket_action)act);
		if (t == NULL)
			fail_msg("no row for %s + %s", spec[i].from, spec[i].action);
		assert_int_equal(t->to, to);
		assert_int_equal(t->roles, roles_of(spec[i].roles));
		if (t->flags != spec[i].flags)
			fail_msg("%s + %s: flags %#x, specified %#x", spec[i].from, spec[i].action,
			         t->flags, spec[i].flags);
		/* table order is spec order: refusal messages list in it */
		assert_ptr_equal(t, &ticket_transitions[i]);
	}
}

/* Each row is allowed for exactly its roles, and the check hands back the
 * row itself. */
static void
test_every_row_by_role(void **state)
{
	char msg[256];

	(void)state;
	for (size_t i = 0; i < ticket_transitions_count; i++) {
		const struct ticket_transition *t = &ticket_transitions[i], *got;

		for (size_t r = 0; r < 4; r++) {
			struct ticket_attempt at = attempt(t->from, t->action, all_roles[r]);
			enum ticket_refusal rc = check(&at, msg, sizeof msg, &got);

			if (t->roles & all_roles[r]) {
				if (rc != TICKET_OK)
					fail_msg("row %zu refused for role %u: %s", i, all_roles[r],
					         msg);
				assert_ptr_equal(got, t);
				assert_string_equal(msg, "");
			} else {
				assert_int_equal(rc, TICKET_ROLE);
				assert_null(got);
				assert_non_null(strstr(msg, "; only "));
			}
		}
	}
}

/* Owner-only rows refuse an agent who is not the owner, and nobody else;
 * rows without the flag do not care. */
static void
test_every_row_owner(void **state)
{
	char msg[256];

	(void)state;
	for (size_t i = 0; i < ticket_transitions_count; i++) {
		const struct ticket_transition *t = &ticket_transitions[i];

		for (size_t r = 0; r < 4; r++) {
			struct ticket_attempt at = attempt(t->from, t->action, all_roles[r]);
			enum ticket_refusal rc;

			if ((t->roles & all_roles[r]) == 0)
				continue;
			at.is_owner = false;
			rc = check(&at, msg, sizeof msg, NULL);
			if ((t->flags & TF_OWNER_REQUIRED) && all_roles[r] == ROLE_AGENT) {
				assert_int_equal(rc, TICKET_NOT_OWNER);
				assert_int_equal(ticket_refusal_err(rc), CC_ERR_FORBIDDEN);
			} else {
				assert_int_equal(rc, TICKET_OK);
			}
		}
	}
}

/* Window rows: allowed up to and including the window, refused one
 * millisecond after; a clock that stepped back does not refuse. Other rows
 * ignore the times. */
static void
test_every_row_window(void **state)
{
	char msg[256];

	(void)state;
	for (size_t i = 0; i < ticket_transitions_count; i++) {
		const struct ticket_transition *t = &ticket_transitions[i];
		struct ticket_attempt at = attempt(t->from, t->action, ROLE_ADMIN);

		if ((t->roles & ROLE_ADMIN) == 0)
			at.role = ROLE_SERVICE;
		at.now_ms = at.ended_ms + at.reopen_window_ms;
		assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_OK);
		at.now_ms++;
		assert_int_equal(check(&at, msg, sizeof msg, NULL),
		                 (t->flags & TF_WINDOW) ? TICKET_WINDOW_PASSED : TICKET_OK);
		at.now_ms = at.ended_ms - DAY_MS;
		assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_OK);
	}
}

/* Every (state, action) pair without a row is refused with the list of
 * what that role may do instead. */
static void
test_missing_rows_refused(void **state)
{
	char msg[256], allowed[160], want[300];
	int refused = 0;

	(void)state;
	for (int s = 0; s < NSTATES; s++) {
		for (int a = 0; a < (int)TA__COUNT; a++) {
			struct ticket_attempt at = attempt(s, a, ROLE_SUPERVISOR);
			const struct ticket_transition *got = (const void *)&at;

			if (ticket_transition_find(s, a) != NULL)
				continue;
			assert_int_equal(check(&at, msg, sizeof msg, &got), TICKET_NO_TRANSITION);
			assert_null(got);
			ticket_actions_allowed(s, ROLE_SUPERVISOR, allowed, sizeof allowed);
			snprintf(want, sizeof want, "cannot %s a ticket that is %s; allowed: %s",
			         ticket_action_name(a), ticket_state_name(s), allowed);
			assert_string_equal(msg, want);
			refused++;
		}
	}
	assert_int_equal(refused, NSTATES * (int)TA__COUNT - (int)ticket_transitions_count);
}

/* A sample of refusals, word for word. */
static void
test_refusal_messages(void **state)
{
	char msg[256];
	struct ticket_attempt at;

	(void)state;
	at = attempt(TS_QUEUED, TA_RESOLVE, ROLE_SUPERVISOR);
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_NO_TRANSITION);
	assert_string_equal(msg, "cannot resolve a ticket that is queued; allowed: "
	                         "transfer_queue, transfer_agent, transfer_site, escalate, close");
	assert_int_equal(ticket_refusal_err(TICKET_NO_TRANSITION), CC_ERR_CONFLICT);

	at.role = ROLE_SERVICE;
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_NO_TRANSITION);
	assert_string_equal(msg, "cannot resolve a ticket that is queued; allowed: offer, "
	                         "transfer_queue, transfer_agent, transfer_site, escalate, close");

	at.role = ROLE_AGENT;
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_NO_TRANSITION);
	assert_string_equal(msg, "cannot resolve a ticket that is queued; allowed: none");

	at = attempt(TS_CLOSED, TA_CLOSE, ROLE_ADMIN);
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_NO_TRANSITION);
	assert_string_equal(msg, "cannot close a ticket that is closed; allowed: reopen");

	at = attempt(TS_IN_PROGRESS, TA_ACCEPT, ROLE_AGENT);
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_NO_TRANSITION);
	assert_string_equal(msg, "cannot accept a ticket that is in_progress; allowed: hold, "
	                         "customer_replied, resolve, transfer_queue, transfer_agent, "
	                         "transfer_site, escalate");

	at = attempt(TS_QUEUED, TA_OFFER, ROLE_SUPERVISOR);
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_ROLE);
	assert_string_equal(msg, "a supervisor cannot offer a ticket that is queued; only "
	                         "service can");
	assert_int_equal(ticket_refusal_err(TICKET_ROLE), CC_ERR_FORBIDDEN);

	at = attempt(TS_QUEUED, TA_CLOSE, ROLE_AGENT);
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_ROLE);
	assert_string_equal(msg, "an agent cannot close a ticket that is queued; only "
	                         "supervisor, admin, service can");

	at = attempt(TS_IN_PROGRESS, TA_RESOLVE, ROLE_AGENT);
	at.is_owner = false;
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_NOT_OWNER);
	assert_string_equal(msg, "only the owner can resolve this ticket");

	at = attempt(TS_RESOLVED, TA_REOPEN, ROLE_SERVICE);
	at.now_ms = at.ended_ms + 8 * DAY_MS;
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_WINDOW_PASSED);
	assert_string_equal(msg, "cannot reopen a ticket resolved more than 7 days ago");
	assert_int_equal(ticket_refusal_err(TICKET_WINDOW_PASSED), CC_ERR_CONFLICT);

	at = attempt(TS_CLOSED, TA_REOPEN, ROLE_AGENT);
	at.reopen_window_ms = 36 * 3600000;
	at.now_ms = at.ended_ms + 2 * DAY_MS;
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_WINDOW_PASSED);
	assert_string_equal(msg, "cannot reopen a ticket closed more than 36 hours ago");

	at.reopen_window_ms = 0; /* no reopening at all, except at the same instant */
	at.now_ms = at.ended_ms + 1;
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_WINDOW_PASSED);
	assert_string_equal(msg, "cannot reopen a ticket closed more than 0 ms ago");
	at.reopen_window_ms = -5; /* nonsense counts as no window */
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_WINDOW_PASSED);
}

/* Bad input is refused, never read out of bounds; small buffers are cut
 * short and terminated. */
static void
test_bad_input(void **state)
{
	char msg[256], small[12];
	struct ticket_attempt at = attempt(TS_QUEUED, TA_OFFER, ROLE_SERVICE);
	const struct ticket_transition *got = (const void *)&at;

	(void)state;
	at.role = ROLE_SERVICE | ROLE_ADMIN;
	assert_int_equal(check(&at, msg, sizeof msg, &got), TICKET_ROLE);
	assert_null(got);
	assert_string_equal(msg, "unknown role");
	at.role = 0;
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_ROLE);
	at.role = 64;
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_ROLE);

	at = attempt((enum ticket_state)TS__COUNT, TA_OFFER, ROLE_SERVICE);
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_NO_TRANSITION);
	assert_string_equal(msg, "unknown state or action");
	at = attempt(TS_QUEUED, (enum ticket_action)NEGATIVE, ROLE_SERVICE);
	assert_int_equal(check(&at, msg, sizeof msg, NULL), TICKET_NO_TRANSITION);
	assert_null(ticket_transition_find(TS_QUEUED, (enum ticket_action)TA__COUNT));

	at = attempt(TS_QUEUED, TA_RESOLVE, ROLE_SERVICE);
	memset(small, 'x', sizeof small);
	assert_int_equal(check(&at, small, sizeof small, NULL), TICKET_NO_TRANSITION);
	assert_string_equal(small, "cannot reso");
	assert_int_equal(check(&at, NULL, 0, NULL), TICKET_NO_TRANSITION);
	at = attempt(TS_QUEUED, TA_OFFER, ROLE_SERVICE);
	assert_int_equal(check(&at, NULL, 0, NULL), TICKET_OK);
}

/* Names round-trip; unknown names and values are refused. */
static void
test_names(void **state)
{
	(void)state;
	for (int s = 0; s < NSTATES; s++)
		assert_int_equal(ticket_state_parse(ticket_state_name(s)), s);
	for (int a = 0; a < (int)TA__COUNT; a++)
		assert_int_equal(ticket_action_parse(ticket_action_name(a)), a);
	/* the names stored in tickets.state */
	assert_string_equal(ticket_state_name(TS_PENDING_CUSTOMER), "pending_customer");
	assert_string_equal(ticket_state_name(TS_IN_PROGRESS), "in_progress");
	assert_string_equal(ticket_action_name(TA_CUSTOMER_REPLIED), "customer_replied");
	assert_int_equal(ticket_state_parse("Queued"), -1);
	assert_int_equal(ticket_state_parse("queued "), -1);
	assert_int_equal(ticket_state_parse(""), -1);
	assert_int_equal(ticket_state_parse(NULL), -1);
	assert_int_equal(ticket_action_parse("transfer"), -1);
	assert_int_equal(ticket_action_parse(NULL), -1);
	assert_string_equal(ticket_state_name((enum ticket_state)TS__COUNT), "(invalid)");
	assert_string_equal(ticket_state_name((enum ticket_state)NEGATIVE), "(invalid)");
	assert_string_equal(ticket_action_name((enum ticket_action)TA__COUNT), "(invalid)");
}

/* The allowed lists, by role and for any role, and cut short safely. */
static void
test_allowed_lists(void **state)
{
	char buf[200], small[8];

	(void)state;
	ticket_actions_allowed(TS_OFFERED, 0, buf, sizeof buf);
	assert_string_equal(buf, "accept, decline, timeout, escalate, close");
	ticket_actions_allowed(TS_OFFERED, ROLE_AGENT, buf, sizeof buf);
	assert_string_equal(buf, "accept, decline");
	ticket_actions_allowed(TS_RESOLVED, ROLE_SERVICE, buf, sizeof buf);
	assert_string_equal(buf, "close, reopen");
	ticket_actions_allowed(TS_NEW, ROLE_AGENT, buf, sizeof buf);
	assert_string_equal(buf, "enqueue, accept");
	assert_int_equal(ticket_actions_allowed(TS_QUEUED, ROLE_AGENT, buf, sizeof buf), 4);
	assert_string_equal(buf, "none");
	assert_int_equal(ticket_actions_allowed(TS_OFFERED, ROLE_AGENT, small, sizeof small),
	                 (int)strlen("accept, decline"));
	assert_string_equal(small, "accept,");
}

/* No two rows share a from-state and action; every state has a way out
 * and every action is used. */
static void
test_table_unique_and_complete(void **state)
{
	int out[TS__COUNT] = {0}, used[TA__COUNT] = {0};

	(void)state;
	for (size_t i = 0; i < ticket_transitions_count; i++) {
		const struct ticket_transition *t = &ticket_transitions[i];

		assert_true((int)t->from >= 0 && t->from < TS__COUNT);
		assert_true((int)t->to >= 0 && t->to < TS__COUNT);
		assert_true((int)t->action >= 0 && t->action < TA__COUNT);
		for (size_t j = i + 1; j < ticket_transitions_count; j++)
			if (ticket_transitions[j].from == t->from &&
			    ticket_transitions[j].action == t->action)
				fail_msg("rows %zu and %zu are both %s + %s", i, j,
				         ticket_state_name(t->from), ticket_action_name(t->action));
		out[t->from]++;
		used[t->action]++;
	}
	for (int s = 0; s < NSTATES; s++)
		assert_true(out[s] > 0);
	for (int a = 0; a < (int)TA__COUNT; a++)
		assert_true(used[a] > 0);
}

/* States reachable from start following rows forward (or backward). */
static unsigned
reach(enum ticket_state start, int backward)
{
	unsigned seen = 1u << start;
	int grew = 1;

	while (grew) {
		grew = 0;
		for (size_t i = 0; i < ticket_transitions_count; i++) {
			const struct ticket_transition *t = &ticket_transitions[i];
			enum ticket_state a = backward ? t->to : t->from;
			enum ticket_state b = backward ? t->from : t->to;

			if ((seen & (1u << a)) && !(seen & (1u << b))) {
				seen |= 1u << b;
				grew = 1;
			}
		}
	}
	return seen;
}

/* Every state is reachable from new, and closed from every state. */
static void
test_table_reachability(void **state)
{
	unsigned all = (1u << TS__COUNT) - 1;

	(void)state;
	assert_int_equal(reach(TS_NEW, 0), all);
	assert_int_equal(reach(TS_CLOSED, 1), all);
	/* and nothing leaves closed: reopening it opens another ticket */
	assert_int_equal(reach(TS_CLOSED, 0), 1u << TS_CLOSED);
}

/* Whether a ticket in from still has its owner after t. */
static int
keeps_owner(const struct ticket_transition *t)
{
	return ticket_state_owner(t->from) == TICKET_OWNER_REQUIRED && !(t->flags & TF_OWNER_CLEAR);
}

/* Every row leaves the ticket as the tickets CHECKs in the schema demand,
 * and its flags say what the states imply. */
static void
test_table_invariants(void **state)
{
	(void)state;
	for (size_t i = 0; i < ticket_transitions_count; i++) {
		const struct ticket_transition *t = &ticket_transitions[i];
		unsigned f = t->flags, sets = f & (TF_OWNER_ACTOR | TF_OWNER_TARGET);
		enum ticket_state from = t->from, to = t->to;
		char what[64];

		snprintf(what, sizeof what, "%s + %s", ticket_state_name(from),
		         ticket_action_name(t->action));
		if (t->roles == 0 || (t->roles & ~(unsigned)ROLE_ANY) != 0)
			fail_msg("%s: roles %#x", what, t->roles);
		/* owner: one way to set it at most, never set and cleared */
		if ((f & TF_OWNER_ACTOR) && (f & TF_OWNER_TARGET))
			fail_msg("%s: two owners", what);
		if (sets && (f & TF_OWNER_CLEAR))
			fail_msg("%s: sets and clears the owner", what);
		if ((f & TF_OWNER_REQUIRED) && ticket_state_owner(from) == TICKET_OWNER_NONE)
			fail_msg("%s: owner required where there is none", what);
		switch (ticket_state_owner(to)) {
		case TICKET_OWNER_REQUIRED:
			if (!sets && !keeps_owner(t))
				fail_msg("%s: %s without an owner", what, ticket_state_name(to));
			break;
		case TICKET_OWNER_NONE:
			if (sets || (ticket_state_owner(from) != TICKET_OWNER_NONE &&
			             !(f & TF_OWNER_CLEAR)))
				fail_msg("%s: %s with an owner", what, ticket_state_name(to));
			break;
		case TICKET_OWNER_ANY:
			break;
		}
		/* queue and place in line */
		if (ticket_state_needs_queue(to) && !ticket_state_needs_queue(from) &&
		    !(f & TF_QUEUE_TARGET))
			fail_msg("%s: %s without a queue", what, ticket_state_name(to));
		if ((to == TS_QUEUED || to == TS_OFFERED) && from != TS_QUEUED &&
		    from != TS_OFFERED && !(f & TF_ENQUEUE))
			fail_msg("%s: waiting without an enqueue time", what);
		if ((f & TF_SITE_TARGET) && !(f & TF_QUEUE_TARGET))
			fail_msg("%s: another site but no queue there", what);
		/* time stamps and clocks follow the states */
		assert_int_equal(!!(f & TF_STAMP_RESOLVED), to == TS_RESOLVED && from != to);
		assert_int_equal(!!(f & TF_STAMP_CLOSED), to == TS_CLOSED && from != to);
		assert_int_equal(!!(f & TF_SLA_PAUSE), to == TS_PENDING_CUSTOMER && from != to);
		assert_int_equal(!!(f & TF_SLA_RESUME), from == TS_PENDING_CUSTOMER && from != to);
		if (to == TS_RESOLVED || (to == TS_CLOSED && from != TS_RESOLVED && from != to))
			assert_true(f & TF_CODE_REQUIRED);
		/* reopen is the only windowed action, always windowed */
		assert_int_equal(!!(f & TF_WINDOW), t->action == TA_REOPEN);
		assert_int_equal(!!(f & TF_REOPEN), t->action == TA_REOPEN && from != to);
		if (f & TF_FOLLOWUP)
			assert_true(from == TS_CLOSED && to == TS_CLOSED);
		assert_int_equal(!!(f & TF_ESCALATE), t->action == TA_ESCALATE);
		if (t->action == TA_ESCALATE)
			assert_int_equal(from, to);
		/* offers and their timeouts belong to the router and its timers */
		if (t->action == TA_OFFER || t->action == TA_TIMEOUT)
			assert_int_equal(t->roles, ROLE_SERVICE);
	}
}

/* The per-state rules agree with the schema's CHECKs. */
static void
test_state_rules(void **state)
{
	(void)state;
	assert_int_equal(ticket_state_owner(TS_NEW), TICKET_OWNER_NONE);
	assert_int_equal(ticket_state_owner(TS_QUEUED), TICKET_OWNER_NONE);
	assert_int_equal(ticket_state_owner(TS_OFFERED), TICKET_OWNER_REQUIRED);
	assert_int_equal(ticket_state_owner(TS_IN_PROGRESS), TICKET_OWNER_REQUIRED);
	assert_int_equal(ticket_state_owner(TS_PENDING_CUSTOMER), TICKET_OWNER_REQUIRED);
	assert_int_equal(ticket_state_owner(TS_RESOLVED), TICKET_OWNER_REQUIRED);
	assert_int_equal(ticket_state_owner(TS_CLOSED), TICKET_OWNER_ANY);
	for (int s = 0; s < NSTATES; s++) {
		assert_int_equal(ticket_state_needs_queue(s), s != TS_NEW && s != TS_CLOSED);
		assert_int_equal(ticket_state_open(s), s != TS_RESOLVED && s != TS_CLOSED);
	}
	assert_false(ticket_state_needs_queue((enum ticket_state)TS__COUNT));
	assert_false(ticket_state_open((enum ticket_state)NEGATIVE));
}

/* One ticket's life through the table: the path an ordinary complaint
 * takes, each step checked as the operations will. */
static void
test_walk(void **state)
{
	static const struct {
		enum ticket_action a;
		unsigned role;
		enum ticket_state to;
	} path[] = {
	    {TA_ENQUEUE, ROLE_SERVICE, TS_QUEUED},
	    {TA_OFFER, ROLE_SERVICE, TS_OFFERED},
	    {TA_TIMEOUT, ROLE_SERVICE, TS_QUEUED},
	    {TA_OFFER, ROLE_SERVICE, TS_OFFERED},
	    {TA_ACCEPT, ROLE_AGENT, TS_IN_PROGRESS},
	    {TA_HOLD, ROLE_AGENT, TS_PENDING_CUSTOMER},
	    {TA_CUSTOMER_REPLIED, ROLE_SERVICE, TS_IN_PROGRESS},
	    {TA_RESOLVE, ROLE_AGENT, TS_RESOLVED},
	    {TA_REOPEN, ROLE_SERVICE, TS_IN_PROGRESS},
	    {TA_RESOLVE, ROLE_AGENT, TS_RESOLVED},
	    {TA_CLOSE, ROLE_SERVICE, TS_CLOSED},
	    {TA_REOPEN, ROLE_SERVICE, TS_CLOSED},
	};
	enum ticket_state s = TS_NEW;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof path / sizeof path[0]; i++) {
		struct ticket_attempt at = attempt(s, path[i].a, path[i].role);
		const struct ticket_transition *t;

		if (check(&at, msg, sizeof msg, &t) != TICKET_OK)
			fail_msg("step %zu: %s", i, msg);
		assert_int_equal(t->to, path[i].to);
		s = t->to;
	}
	assert_true(ticket_transition_find(TS_CLOSED, TA_REOPEN)->flags & TF_FOLLOWUP);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_matches_spec),
	    cmocka_unit_test(test_every_row_by_role),
	    cmocka_unit_test(test_every_row_owner),
	    cmocka_unit_test(test_every_row_window),
	    cmocka_unit_test(test_missing_rows_refused),
	    cmocka_unit_test(test_refusal_messages),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_allowed_lists),
	    cmocka_unit_test(test_table_unique_and_complete),
	    cmocka_unit_test(test_table_reachability),
	    cmocka_unit_test(test_table_invariants),
	    cmocka_unit_test(test_state_rules),
	    cmocka_unit_test(test_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
