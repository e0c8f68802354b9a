/* store-call.c: see store-call.h.
 *
 * call.arrive is one transaction: the calls row (unique by call id), the
 * ticket with its first event, and the SLA clocks, so a call is never half
 * recorded and a retry finds what the first attempt made. The later events
 * change the ticket through the state table (one transaction) and then the
 * calls row; each is idempotent, so a retry after a lost reply finishes
 * the job and reports the same outcome.
 *
 * Why call.arrive takes no lock before its INSERT: a locking read (FOR
 * UPDATE) of a call id that is not there yet locks the gap where it would
 * go, and phone systems number calls in ascending order, so every new call
 * falls in the same gap, the one at the end of uk_calls_call_id. Two
 * arrivals each held that gap and then waited for the other's at INSERT:
 * a deadlock for nearly every pair of concurrent arrivals. So arrive looks
 * for the call with a plain read, which locks nothing, and the unique key
 * decides: the INSERT of a call id that another transaction wrote and has
 * not yet committed waits for it, then fails with a duplicate key; the
 * loser's whole transaction (its ticket too) is rolled back and run once
 * more, and its plain read then finds the winner's call and answers with
 * that ticket, as any repeat does. Inserts of different call ids take no
 * lock that another insert waits for. The later events read the row
 * plainly first too, and lock it only once it is known to be there (a
 * record lock, no gap): a call op for an unknown call id locks nothing,
 * even inside a group of transactions that stays open after it. */
#include <stdio.h>
#include <string.h>

#include "contact.h"
#include "store-call.h"
#include "store.h"

#define CALL_COUNTRY       "86"             /* national numbers' country code */
#define CALL_STICKY_WINDOW (7 * 86400000LL) /* last agent remembered this long */
#define ER_DUP_ENTRY       1062

struct arrive_arg {
	const struct ticket_actor *a;
	const struct call_in *c;
	int64_t now_ms;
	uint32_t *sticky;
	int *fresh;
	int *lost_race; /* the INSERT met a call id another transaction wrote */
};

#define CALL_ROW_SQL                                                                               \
	"SELECT c.ticket_id, c.state, c.agent_id, t.state AS ticket_state, t.version, "            \
	"t.owner_agent_id FROM calls c JOIN tickets t ON t.id = c.ticket_id WHERE c.call_id = ?"

/* The call row by call id, read without a lock (see the top of this file):
 * 1 and *row, 0 none, -1. */
static int
call_find(MYSQL *m, const char *call_id, json_t **row, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long len;

	bind_str(&p[0], call_id, &len);
	return ticket_query_one(m, CALL_ROW_SQL, p, row, err, errlen);
}

/* The call row by call id, locked with its ticket's row: 1 and *row, 0
 * none, -1. Only a call found by call_find is locked, so the lock is on
 * the rows and never on the gap where a new call id would go. */
static int
call_row(MYSQL *m, const char *call_id, json_t **row, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long len;
	int rc = call_find(m, call_id, row, err, errlen);

	if (rc != 1)
		return rc;
	json_decref(*row);
	bind_str(&p[0], call_id, &len);
	return ticket_query_one(m, CALL_ROW_SQL " FOR UPDATE", p, row, err, errlen);
}

/* The queue, owning site and priority for a dialled number and IVR choice:
 * 1 and *row, 0 none, -1. */
static int
call_route(MYSQL *m, const struct call_in *c, json_t **row, char *err, size_t errlen)
{
	MYSQL_BIND p[2];
	unsigned long len[2];

	bind_str(&p[0], c->dialled, &len[0]);
	bind_str(&p[1], c->ivr, &len[1]);
	return ticket_query_one(
	    m,
	    "SELECT q.code AS queue, s.code AS site, r.priority FROM "
	    "call_routes r JOIN queues q ON q.id = r.queue_id LEFT JOIN sites s "
	    "ON s.id = q.site_id WHERE r.dialled = ? AND r.ivr IN (?, '') "
	    "ORDER BY r.ivr DESC LIMIT 1",
	    p, row, err, errlen);
}

/* The caller's customer (0: unknown or withheld) and its site code. */
static int
call_customer(MYSQL *m, const char *caller, uint64_t *customer, char site[TICKET_SITE_MAX + 1],
              char *err, size_t errlen)
{
	char number[CONTACT_PHONE_MAX + 1];
	MYSQL_BIND p[1];
	unsigned long len;
	json_t *row = NULL;
	int rc;

	*customer = 0;
	site[0] = '\0';
	if (caller[0] == '\0' ||
	    contact_phone_normalize(caller, CALL_COUNTRY, number, sizeof number) != 0)
		return 0;
	bind_str(&p[0], number, &len);
	rc = ticket_query_one(m,
	                      "SELECT c.customer_id, s.code AS site FROM customer_contacts c JOIN "
	                      "customers u ON u.id = c.customer_id LEFT JOIN sites s ON "
	                      "s.id = u.site_id WHERE c.kind = 'phone' AND c.value = ?",
	                      p, &row, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		*customer = (uint64_t)row_uint(row, "customer_id");
		snprintf(site, TICKET_SITE_MAX + 1, "%s",
		         row_str(row, "site") ? row_str(row, "site") : "");
	}
	json_decref(row);
	return 0;
}

/* The agent who last held a ticket of the customer, within the window. */
static int
call_sticky(MYSQL *m, uint64_t customer, int64_t now_ms, uint32_t *agent, char *err, size_t errlen)
{
	MYSQL_BIND p[2];
	unsigned long len;
	char since[48];
	json_t *row = NULL;
	int rc;

	*agent = 0;
	if (customer == 0)
		return 0;
	ticket_format_time(now_ms - CALL_STICKY_WINDOW, since);
	bind_u64(&p[0], &customer);
	bind_str(&p[1], since, &len);
	rc = ticket_query_one(m,
	                      "SELECT owner_agent_id FROM tickets WHERE customer_id = ? AND "
	                      "owner_agent_id IS NOT NULL AND updated_at >= ? "
	                      "ORDER BY updated_at DESC LIMIT 1",
	                      p, &row, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 1)
		*agent = (uint32_t)row_uint(row, "owner_agent_id");
	json_decref(row);
	return 0;
}

static json_t *
call_json(const struct call_in *c, const char *state)
{
	return json_pack("{s:s,s:s}", "call_id", c->call_id, "state", state);
}

static int
arrive_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct arrive_arg *x = arg;
	const struct call_in *c = x->c;
	struct ticket_new t = {.priority = 5};
	MYSQL_BIND p[6];
	unsigned long len[6];
	char when[48], csite[TICKET_SITE_MAX + 1];
	json_t *row = NULL, *ticket;
	uint64_t ticket_id;
	int rc;

	*x->fresh = 0;
	if ((rc = call_find(m, c->call_id, &row, err, errlen)) < 0)
		return -1;
	if (rc == 1) { /* a retry: what the first attempt made */
		if (store_ticket_get(m, (uint64_t)row_uint(row, "ticket_id"), &ticket, err,
		                     errlen) != 1) {
			json_decref(row);
			return -1;
		}
		res->reply = json_pack("{s:o,s:o}", "ticket", ticket, "call",
		                       call_json(c, row_str(row, "state")));
		json_decref(row);
		return 0;
	}
	if ((rc = call_route(m, c, &row, err, errlen)) < 0)
		return -1;
	if (rc == 0)
		return ticket_refuse(res, CC_ERR_NOT_FOUND,
		                     "no call route for dialled number %s%s%s", c->dialled,
		                     c->ivr[0] ? " and IVR choice " : "", c->ivr);
	snprintf(t.kind, sizeof t.kind, "call");
	snprintf(t.channel, sizeof t.channel, "phone");
	snprintf(t.queue, sizeof t.queue, "%s", row_str(row, "queue"));
	t.priority = (int)row_uint(row, "priority");
	if (call_customer(m, c->caller, &t.customer_id, csite, err, errlen) != 0 ||
	    call_sticky(m, t.customer_id, x->now_ms, x->sticky, err, errlen) != 0) {
		json_decref(row);
		return -1;
	}
	/* the queue's site owns the call; a queue of every site gives it to
	 * the customer's site */
	snprintf(t.site, sizeof t.site, "%s", row_str(row, "site") ? row_str(row, "site") : csite);
	json_decref(row);
	if (t.site[0] == '\0')
		return ticket_refuse(
		    res, CC_ERR_BAD_REQUEST,
		    "queue %s serves every site and the caller is not a known customer "
		    "of one: give the route a queue of one site",
		    t.queue);
	snprintf(t.subject, sizeof t.subject, "Call from %s",
	         c->caller[0] ? c->caller : "a withheld number");
	if ((rc = store_ticket_create_body(m, x->a, &t, x->now_ms, res, err, errlen)) != 0)
		return rc;
	ticket = json_object_get(res->reply, "ticket");
	ticket_id = (uint64_t)row_uint(ticket, "id");
	ticket_format_time(x->now_ms, when);
	bind_str(&p[0], c->call_id, &len[0]);
	bind_u64(&p[1], &ticket_id);
	bind_str(&p[2], c->caller, &len[2]);
	bind_str(&p[3], c->dialled, &len[3]);
	bind_str(&p[4], c->ivr, &len[4]);
	bind_str(&p[5], when, &len[5]);
	if (store_exec(m,
	               "INSERT INTO calls (call_id, ticket_id, caller, dialled, ivr, arrived_at) "
	               "VALUES (?, ?, ?, ?, ?, ?)",
	               p, err, errlen, NULL) != 0) {
		*x->lost_race = store_errno() == ER_DUP_ENTRY;
		return -1;
	}
	json_object_set_new(res->reply, "call", call_json(c, "waiting"));
	*x->fresh = 1;
	return 0;
}

int
store_call_arrive(MYSQL *m, const struct ticket_actor *a, const struct call_in *c, int64_t now_ms,
                  struct ticket_result *res, uint32_t *sticky, int *fresh, char *err, size_t errlen)
{
	int lost_race = 0;
	struct arrive_arg x = {a, c, now_ms, sticky, fresh, &lost_race};
	int rc = ticket_tx_run(m, arrive_tx, &x, res, err, errlen);

	/* lost the race for the call id: once more, to answer with the
	 * winner's ticket (in a group, the group is rolled back and this job
	 * runs again on its own) */
	if (rc != 0 && lost_race && !store_group_aborted()) {
		lost_race = 0;
		rc = ticket_tx_run(m, arrive_tx, &x, res, err, errlen);
	}
	return rc;
}

/* --- later events --- */

/* The ticket transition an event needs in the ticket's state, if any:
 * TA__COUNT none, -1 the event does not fit (refusal in res). */
static int
event_action(enum call_event ev, const char *call_state, const char *ticket_state,
             struct ticket_result *res)
{
	int waiting = strcmp(call_state, "waiting") == 0 || strcmp(call_state, "callback") == 0;
	int ts = ticket_state_parse(ticket_state);

	switch (ev) {
	case CALL_ANSWER:
		if (strcmp(call_state, "answered") == 0)
			return TA__COUNT; /* repeated */
		if (!waiting)
			return ticket_refuse(res, CC_ERR_CONFLICT, "the call is %s", call_state),
			       -1;
		if (ts == TS_OFFERED)
			return TA_ACCEPT;
		if (ts == TS_IN_PROGRESS || ts == TS_PENDING_CUSTOMER)
			return TA__COUNT; /* the agent took it in ccagent */
		return ticket_refuse(
		           res, CC_ERR_CONFLICT,
		           "the call's ticket is %s: only an offered call can be answered",
		           ticket_state),
		       -1;
	case CALL_END:
		if (strcmp(call_state, "ended") == 0)
			return TA__COUNT;
		if (strcmp(call_state, "answered") != 0)
			return ticket_refuse(
			           res, CC_ERR_CONFLICT,
			           "the call is %s: end an answered call, abandon a waiting one",
			           call_state),
			       -1;
		return TA__COUNT;
	case CALL_ABANDON:
		if (strcmp(call_state, "abandoned") == 0)
			return TA__COUNT;
		if (!waiting)
			return ticket_refuse(res, CC_ERR_CONFLICT,
			                     "the call is %s: only a waiting call can be abandoned",
			                     call_state),
			       -1;
		return ts == TS_CLOSED ? TA__COUNT : TA_CLOSE;
	case CALL_CALLBACK:
		if (strcmp(call_state, "callback") == 0)
			return TA__COUNT;
		if (strcmp(call_state, "waiting") != 0)
			return ticket_refuse(res, CC_ERR_CONFLICT,
			                     "the call is %s: a callback replaces waiting only",
			                     call_state),
			       -1;
		return TA__COUNT;
	}
	return -1;
}

struct update_arg {
	const struct ticket_actor *a;
	enum call_event ev;
	const struct call_in *c;
	uint64_t ticket_id;
	unsigned int agent;
	int64_t now_ms;
};

/* The calls row (and, for a callback, an event on the ticket's chain) in
 * one transaction; conditional, so a repeat changes nothing. */
static int
update_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct update_arg *x = arg;
	MYSQL_BIND p[3];
	unsigned long len[3];
	my_bool nul = x->agent == 0;
	unsigned int agent = x->agent;
	char when[48];

	(void)res;
	ticket_format_time(x->now_ms, when);
	switch (x->ev) {
	case CALL_ANSWER:
		bind_str(&p[0], when, &len[0]);
		bind_uint(&p[1], &agent);
		p[1].is_null = &nul;
		bind_str(&p[2], x->c->call_id, &len[2]);
		return store_exec(
		    m,
		    "UPDATE calls SET state = 'answered', answered_at = ?, agent_id = ? "
		    "WHERE call_id = ? AND state IN ('waiting', 'callback')",
		    p, err, errlen, NULL);
	case CALL_CALLBACK: {
		struct ticket_key k = {.id = x->ticket_id};
		struct ticket_chain ch;
		unsigned long long n = 0;
		json_t *row = NULL, *detail;
		int rc;

		bind_str(&p[0], x->c->number, &len[0]);
		bind_str(&p[1], x->c->call_id, &len[1]);
		if (store_exec(m,
		               "UPDATE calls SET state = 'callback', callback_to = NULLIF(?, '') "
		               "WHERE call_id = ? AND state = 'waiting'",
		               p, err, errlen, &n) != 0)
			return -1;
		if (n == 0)
			return 0; /* repeated */
		if ((rc = ticket_lock(m, NULL, &k, &row, err, errlen)) <= 0)
			return -1;
		detail =
		    json_pack("{s:s}", "number", x->c->number[0] ? x->c->number : x->c->caller);
		rc = ticket_row_chain(row, &ch, err, errlen) != 0 ||
		             ticket_event_append(m, x->ticket_id, &ch, x->a, "callback", NULL, NULL,
		                                 detail, x->now_ms, err, errlen) != 0
		         ? -1
		         : 0;
		json_decref(detail);
		json_decref(row);
		return rc;
	}
	default:
		bind_str(&p[0], x->ev == CALL_END ? "ended" : "abandoned", &len[0]);
		bind_str(&p[1], when, &len[1]);
		bind_str(&p[2], x->c->call_id, &len[2]);
		return store_exec(m,
		                  "UPDATE calls SET state = ?, ended_at = ? WHERE call_id = ? AND "
		                  "ended_at IS NULL",
		                  p, err, errlen, NULL);
	}
}

int
store_call_event(MYSQL *m, const struct ticket_actor *a, enum call_event ev,
                 const struct call_in *c, int64_t now_ms, struct ticket_result *res, char *err,
                 size_t errlen)
{
	static const char *const done_state[] = {
	    [CALL_ANSWER] = "answered",
	    [CALL_END] = "ended",
	    [CALL_ABANDON] = "abandoned",
	    [CALL_CALLBACK] = "callback",
	};
	struct update_arg x = {a, ev, c, 0, 0, now_ms};
	json_t *row = NULL, *ticket = NULL;
	int action, rc;

	memset(res, 0, sizeof *res);
	if ((rc = call_row(m, c->call_id, &row, err, errlen)) < 0)
		return -1;
	if (rc == 0) {
		ticket_refuse(res, CC_ERR_NOT_FOUND, "no call %s", c->call_id);
		return 0;
	}
	x.ticket_id = (uint64_t)row_uint(row, "ticket_id");
	x.agent = (unsigned int)row_uint(row, "owner_agent_id");
	action = event_action(ev, row_str(row, "state"), row_str(row, "ticket_state"), res);
	if (action >= 0 && action != TA__COUNT) {
		struct ticket_change ch = {.version = (unsigned int)row_uint(row, "version"),
		                           .action = (enum ticket_action)action};
		ch.key.id = x.ticket_id;
		if (action == TA_CLOSE) {
			snprintf(ch.code, sizeof ch.code, "abandoned");
			snprintf(ch.summary, sizeof ch.summary, "the caller hung up while waiting");
		}
		if (store_ticket_transition(m, a, &ch, now_ms, res, err, errlen) != 0) {
			json_decref(row);
			return -1;
		}
		if (res->code == CC_OK)
			ticket = json_incref(json_object_get(res->reply, "ticket"));
		json_decref(res->reply);
		res->reply = NULL;
	}
	json_decref(row);
	if (action < 0 || res->code != CC_OK)
		return 0;
	if (ticket_tx_run(m, update_tx, &x, res, err, errlen) != 0) {
		json_decref(ticket);
		return -1;
	}
	res->code = CC_OK;
	res->reply = json_pack("{s:{s:s,s:s,s:I}}", "call", "call_id", c->call_id, "state",
	                       done_state[ev], "ticket_id", (json_int_t)x.ticket_id);
	if (ticket != NULL)
		json_object_set_new(res->reply, "ticket", ticket);
	return 0;
}
