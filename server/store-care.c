/* store-care.c: compensation and follow-up transactions.
 *
 * Lock order, as in store-ticket.c: lookups that take no lock first, then
 * the ticket row (FOR UPDATE), then the compensation or follow-up row. A
 * compensation or follow-up is found by its id without a lock only to
 * learn its ticket; every check is made again on the locked row, so two
 * approvers racing on one request are serialised by the ticket lock and
 * the second finds it decided (conflict). The UPDATEs still name the state
 * they expect, so a missed lock cannot turn into a double decision.
 *
 * Approval is four-eyes: nobody decides their own request, and the
 * decider's role needs a compensation_limits row for the kind and currency
 * whose maximum covers the amount (NULL: no maximum). Requests are never
 * approved automatically. */
#include "store-care.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "store.h"

/* The compensation object of the replies (docs/PROTOCOL.md). */
#define COMP_SELECT                                                                                \
	"SELECT c.id, c.ticket_id, c.customer_id, c.kind, c.amount_minor AS amount, c.currency, "  \
	"c.state, c.reason, r.username AS requested_by, "                                          \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', c.requested_at) DIV 1000 AS requested_at, "      \
	"d.username AS approver, "                                                                 \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', c.decided_at) DIV 1000 AS decided_at, "          \
	"c.decision_note, "                                                                        \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', c.issued_at) DIV 1000 AS issued_at, "            \
	"c.external_ref, c.version FROM compensations c JOIN agents r ON r.id = c.requested_by "   \
	"LEFT JOIN agents d ON d.id = c.approver_id WHERE c.id = ?"

/* The follow-up object of the replies. */
#define FOLLOWUP_SELECT                                                                            \
	"SELECT f.id, f.customer_id, f.ticket_id, f.purpose, "                                     \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', f.due_at) DIV 1000 AS due_at, "                  \
	"a.username AS assignee, c.username AS created_by, "                                       \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', f.created_at) DIV 1000 AS created_at, "          \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', f.done_at) DIV 1000 AS done_at, "                \
	"f.outcome, f.outcome_note FROM followups f "                                              \
	"LEFT JOIN agents a ON a.id = f.assignee_agent_id "                                        \
	"LEFT JOIN agents c ON c.id = f.created_by WHERE f.id = ?"

/* A string parameter, NULL when s is empty. */
static void
bind_opt(MYSQL_BIND *b, const char *s, unsigned long *len, my_bool *is_null)
{
	*is_null = s[0] == '\0';
	bind_str(b, s, len);
	b->is_null = is_null;
}

/* One row by a u64 key: 1 and *row, 0 none, -1. */
static int
row_by_id(MYSQL *m, const char *sql, uint64_t id, json_t **row, char *err, size_t errlen)
{
	MYSQL_BIND p[1];

	bind_u64(&p[0], &id);
	return ticket_query_one(m, sql, p, row, err, errlen);
}

/* Lock ticket k for a: 0 and *row, or refused (not_found, also for a
 * ticket out of a's reach), or -1. */
static int
lock_ticket(MYSQL *m, const struct ticket_actor *a, const struct ticket_key *k, json_t **row,
            struct ticket_result *res, char *err, size_t errlen)
{
	int rc = ticket_lock(m, a, k, row, err, errlen);

	if (rc < 0)
		return -1;
	if (rc == 1)
		return 0;
	if (k->id != 0)
		return ticket_refuse(res, CC_ERR_NOT_FOUND, "no ticket with id %" PRIu64, k->id);
	return ticket_refuse(res, CC_ERR_NOT_FOUND, "no ticket with ref %s", k->ref);
}

/* Append the event op to the locked ticket row; detail is stolen. */
static int
ticket_event(MYSQL *m, const json_t *trow, const struct ticket_actor *a, const char *op,
             const char *old_value, const char *new_value, json_t *detail, int64_t now_ms,
             char *err, size_t errlen)
{
	struct ticket_chain ch;
	int rc = ticket_row_chain(trow, &ch, err, errlen);

	if (rc == 0)
		rc = ticket_event_append(m, row_uint(trow, "id"), &ch, a, op, old_value, new_value,
		                         detail, now_ms, err, errlen);
	json_decref(detail);
	return rc;
}

/* Set the reply: the object read back under name, and the ticket. */
static int
reply_with(MYSQL *m, const char *sql, uint64_t id, const char *name, const json_t *trow,
           struct ticket_result *res, char *err, size_t errlen)
{
	json_t *obj;

	if (row_by_id(m, sql, id, &obj, err, errlen) != 1)
		return -1;
	res->reply = json_pack("{s:o}", name, obj);
	if (trow != NULL)
		json_object_set_new(res->reply, "ticket",
		                    json_pack("{s:I,s:s,s:I}", "id",
		                              (json_int_t)row_uint(trow, "id"), "ref",
		                              row_str(trow, "ref"), "version",
		                              (json_int_t)row_uint(trow, "version")));
	return 0;
}

static const char *
role_name(unsigned role)
{
	switch (role) {
	case ROLE_AGENT:
		return "agent";
	case ROLE_SUPERVISOR:
		return "supervisor";
	case ROLE_ADMIN:
		return "admin";
	default:
		return "service";
	}
}

/* compensation.request */

struct request_arg {
	const struct ticket_actor *a;
	const struct care_comp_request *r;
	int64_t now_ms;
};

static int
comp_insert(MYSQL *m, const struct request_arg *x, uint64_t ticket_id, uint64_t customer_id,
            uint64_t *comp_id, char *err, size_t errlen)
{
	MYSQL_BIND p[8];
	unsigned long len[8];
	uint64_t amount = x->r->amount;
	unsigned int agent = x->a->agent_id;
	char when[48];

	ticket_format_time(x->now_ms, when);
	bind_u64(&p[0], &ticket_id);
	bind_u64(&p[1], &customer_id);
	bind_str(&p[2], x->r->kind, &len[2]);
	bind_u64(&p[3], &amount);
	bind_str(&p[4], x->r->currency, &len[4]);
	bind_str(&p[5], x->r->reason, &len[5]);
	bind_uint(&p[6], &agent);
	bind_str(&p[7], when, &len[7]);
	return store_insert(
	    m,
	    "INSERT INTO compensations (ticket_id, customer_id, kind, amount_minor, "
	    "currency, reason, requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    p, comp_id, err, errlen);
}

static int
request_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct request_arg *x = arg;
	const struct care_comp_request *r = x->r;
	uint64_t comp_id = 0;
	json_t *trow;
	int rc;

	if ((rc = lock_ticket(m, x->a, &r->key, &trow, res, err, errlen)) != 0)
		return rc;
	if (r->has_version && row_uint(trow, "version") != r->version)
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "ticket changed since version %u (now %u)",
		                   r->version, (unsigned int)row_uint(trow, "version"));
	else if (row_uint(trow, "customer_id") == 0)
		rc = ticket_refuse(
		    res, CC_ERR_BAD_REQUEST,
		    "ticket %s has no customer; set one before requesting compensation",
		    row_str(trow, "ref"));
	else
		rc = comp_insert(m, x, row_uint(trow, "id"), row_uint(trow, "customer_id"),
		                 &comp_id, err, errlen);
	if (rc == 0)
		rc = ticket_event(m, trow, x->a, "compensation.request", NULL, "requested",
		                  json_pack("{s:I,s:s,s:I,s:s}", "compensation_id",
		                            (json_int_t)comp_id, "kind", r->kind, "amount",
		                            (json_int_t)r->amount, "currency", r->currency),
		                  x->now_ms, err, errlen);
	if (rc == 0)
		rc = reply_with(m, COMP_SELECT, comp_id, "compensation", trow, res, err, errlen);
	json_decref(trow);
	return rc;
}

int
store_care_comp_request(MYSQL *m, const struct ticket_actor *a, const struct care_comp_request *r,
                        int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct request_arg x = {a, r, now_ms};

	return ticket_tx_run(m, request_tx, &x, res, err, errlen);
}

/* Locking a compensation: its ticket first, then the row itself. 0 with
 * *trow and *crow, refused, or -1. */
static int
comp_lock(MYSQL *m, const struct ticket_actor *a, uint64_t id, json_t **trow, json_t **crow,
          struct ticket_result *res, char *err, size_t errlen)
{
	struct ticket_key k = {0};
	json_t *row;
	int rc;

	*trow = *crow = NULL;
	rc =
	    row_by_id(m, "SELECT ticket_id FROM compensations WHERE id = ?", id, &row, err, errlen);
	if (rc <= 0)
		return rc < 0 ? -1
		              : ticket_refuse(res, CC_ERR_NOT_FOUND,
		                              "no compensation with id %" PRIu64, id);
	k.id = row_uint(row, "ticket_id");
	json_decref(row);
	if ((rc = lock_ticket(m, a, &k, trow, res, err, errlen)) != 0)
		return rc;
	rc = row_by_id(m,
	               "SELECT id, ticket_id, kind, amount_minor, currency, state, requested_by "
	               "FROM compensations WHERE id = ? FOR UPDATE",
	               id, crow, err, errlen);
	if (rc == 1 && row_uint(*crow, "ticket_id") == k.id)
		return 0;
	/* moved to another ticket between the two reads: let the client retry */
	json_decref(*trow);
	json_decref(*crow);
	*trow = *crow = NULL;
	return rc < 0 ? -1
	              : ticket_refuse(res, CC_ERR_CONFLICT,
	                              "compensation %" PRIu64 " changed; retry", id);
}

/* Whether the actor's role may decide crow (approving needs a limit that
 * covers the amount): 0 yes, refused (forbidden), or -1. */
static int
limit_check(MYSQL *m, const struct ticket_actor *a, const json_t *crow, int approve,
            struct ticket_result *res, char *err, size_t errlen)
{
	const char *role = role_name(a->role), *kind = row_str(crow, "kind"),
	           *cur = row_str(crow, "currency");
	uint64_t amount = row_uint(crow, "amount_minor");
	MYSQL_BIND p[3];
	unsigned long len[3];
	json_t *row, *max;
	int rc;

	bind_str(&p[0], role, &len[0]);
	bind_str(&p[1], kind, &len[1]);
	bind_str(&p[2], cur, &len[2]);
	rc = ticket_query_one(m,
	                      "SELECT max_amount_minor FROM compensation_limits WHERE role = ? "
	                      "AND kind = ? AND currency = ?",
	                      p, &row, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return ticket_refuse(
		    res, CC_ERR_FORBIDDEN,
		    "role %s has no approval limit for %s in %s; a higher role must decide", role,
		    kind, cur);
	max = json_object_get(row, "max_amount_minor");
	rc = 0;
	if (approve && json_is_integer(max) && (uint64_t)json_integer_value(max) < amount)
		rc = ticket_refuse(res, CC_ERR_FORBIDDEN,
		                   "amount %" PRIu64 " exceeds the %s approval limit of %" PRIu64
		                   " for %s in %s",
		                   amount, role, (uint64_t)json_integer_value(max), kind, cur);
	json_decref(row);
	return rc;
}

/* compensation.approve */

struct decide_arg {
	const struct ticket_actor *a;
	const struct care_comp_decision *d;
	int64_t now_ms;
};

static int
decide_check(MYSQL *m, const struct decide_arg *x, const json_t *crow, struct ticket_result *res,
             char *err, size_t errlen)
{
	const char *state = row_str(crow, "state");

	if (strcmp(state, "requested") != 0)
		return ticket_refuse(res, CC_ERR_CONFLICT,
		                     "compensation %" PRIu64
		                     " is %s; only a requested one can be decided",
		                     x->d->id, state);
	if (row_uint(crow, "requested_by") == x->a->agent_id)
		return ticket_refuse(res, CC_ERR_FORBIDDEN,
		                     "you requested compensation %" PRIu64
		                     "; someone else must decide it",
		                     x->d->id);
	return limit_check(m, x->a, crow, x->d->approve, res, err, errlen);
}

static int
decide_update(MYSQL *m, const struct decide_arg *x, char *err, size_t errlen)
{
	MYSQL_BIND p[5];
	unsigned long len[5];
	my_bool nul;
	unsigned int agent = x->a->agent_id;
	uint64_t id = x->d->id;
	char when[48];

	ticket_format_time(x->now_ms, when);
	bind_str(&p[0], x->d->approve ? "approved" : "rejected", &len[0]);
	bind_uint(&p[1], &agent);
	bind_str(&p[2], when, &len[2]);
	bind_opt(&p[3], x->d->note, &len[3], &nul);
	bind_u64(&p[4], &id);
	return store_exec(m,
	                  "UPDATE compensations SET state = ?, approver_id = ?, decided_at = ?, "
	                  "decision_note = ?, version = version + 1 "
	                  "WHERE id = ? AND state = 'requested'",
	                  p, err, errlen, NULL);
}

static int
decide_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct decide_arg *x = arg;
	const char *to = x->d->approve ? "approved" : "rejected";
	json_t *trow, *crow;
	int rc;

	if ((rc = comp_lock(m, x->a, x->d->id, &trow, &crow, res, err, errlen)) != 0)
		return rc;
	if ((rc = decide_check(m, x, crow, res, err, errlen)) == 0)
		rc = decide_update(m, x, err, errlen);
	if (rc == 0)
		rc = ticket_event(
		    m, trow, x->a, x->d->approve ? "compensation.approve" : "compensation.reject",
		    "requested", to,
		    json_pack("{s:I,s:I,s:s}", "compensation_id", (json_int_t)x->d->id, "amount",
		              (json_int_t)row_uint(crow, "amount_minor"), "currency",
		              row_str(crow, "currency")),
		    x->now_ms, err, errlen);
	if (rc == 0)
		rc = reply_with(m, COMP_SELECT, x->d->id, "compensation", trow, res, err, errlen);
	json_decref(trow);
	json_decref(crow);
	return rc;
}

int
store_care_comp_decide(MYSQL *m, const struct ticket_actor *a, const struct care_comp_decision *d,
                       int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct decide_arg x = {a, d, now_ms};

	return ticket_tx_run(m, decide_tx, &x, res, err, errlen);
}

/* compensation.issue */

struct issue_arg {
	const struct ticket_actor *a;
	const struct care_comp_issue *i;
	int64_t now_ms;
};

static int
issue_update(MYSQL *m, const struct issue_arg *x, char *err, size_t errlen)
{
	MYSQL_BIND p[3];
	unsigned long len[3];
	my_bool nul;
	uint64_t id = x->i->id;
	char when[48];

	ticket_format_time(x->now_ms, when);
	bind_str(&p[0], when, &len[0]);
	bind_opt(&p[1], x->i->external_ref, &len[1], &nul);
	bind_u64(&p[2], &id);
	return store_exec(m,
	                  "UPDATE compensations SET state = 'issued', issued_at = ?, "
	                  "external_ref = ?, version = version + 1 "
	                  "WHERE id = ? AND state = 'approved'",
	                  p, err, errlen, NULL);
}

static int
issue_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct issue_arg *x = arg;
	json_t *trow, *crow, *detail;
	int rc;

	if ((rc = comp_lock(m, x->a, x->i->id, &trow, &crow, res, err, errlen)) != 0)
		return rc;
	if (strcmp(row_str(crow, "state"), "approved") != 0)
		rc = ticket_refuse(res, CC_ERR_CONFLICT,
		                   "compensation %" PRIu64
		                   " is %s; only an approved one can be issued",
		                   x->i->id, row_str(crow, "state"));
	else
		rc = issue_update(m, x, err, errlen);
	if (rc == 0) {
		detail = json_pack("{s:I}", "compensation_id", (json_int_t)x->i->id);
		if (x->i->external_ref[0])
			json_object_set_new(detail, "external_ref",
			                    json_string(x->i->external_ref));
		rc = ticket_event(m, trow, x->a, "compensation.issue", "approved", "issued", detail,
		                  x->now_ms, err, errlen);
	}
	if (rc == 0)
		rc = reply_with(m, COMP_SELECT, x->i->id, "compensation", trow, res, err, errlen);
	json_decref(trow);
	json_decref(crow);
	return rc;
}

int
store_care_comp_issue(MYSQL *m, const struct ticket_actor *a, const struct care_comp_issue *i,
                      int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct issue_arg x = {a, i, now_ms};

	return ticket_tx_run(m, issue_tx, &x, res, err, errlen);
}

/* followup.schedule */

struct schedule_arg {
	const struct ticket_actor *a;
	const struct care_followup_new *f;
	int64_t now_ms;
};

/* The assignee's id (the actor when none is named): 0, refused, -1. */
static int
assignee_lookup(MYSQL *m, const struct schedule_arg *x, unsigned int *id, struct ticket_result *res,
                char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long len;
	json_t *row;
	int rc;

	*id = x->a->agent_id;
	if (x->f->assignee[0] == '\0')
		return 0;
	bind_str(&p[0], x->f->assignee, &len);
	rc = ticket_query_one(m, "SELECT id FROM agents WHERE username = ? AND active = 1", p, &row,
	                      err, errlen);
	if (rc <= 0)
		return rc < 0 ? -1
		              : ticket_refuse(res, CC_ERR_NOT_FOUND, "no active agent named %s",
		                              x->f->assignee);
	*id = (unsigned int)row_uint(row, "id");
	json_decref(row);
	return 0;
}

/* The customer of the follow-up, from the locked ticket (trow may be
 * NULL) or the argument: 0 and *customer, refused, -1. */
static int
customer_of(MYSQL *m, const struct care_followup_new *f, const json_t *trow, uint64_t *customer,
            struct ticket_result *res, char *err, size_t errlen)
{
	json_t *row;
	int rc;

	if (trow != NULL) {
		*customer = row_uint(trow, "customer_id");
		if (*customer == 0)
			return ticket_refuse(res, CC_ERR_BAD_REQUEST, "ticket %s has no customer",
			                     row_str(trow, "ref"));
		if (f->customer_id != 0 && f->customer_id != *customer)
			return ticket_refuse(res, CC_ERR_BAD_REQUEST,
			                     "customer %" PRIu64
			                     " is not the customer of ticket %s",
			                     f->customer_id, row_str(trow, "ref"));
		return 0;
	}
	*customer = f->customer_id;
	rc = row_by_id(m, "SELECT id FROM customers WHERE id = ?", *customer, &row, err, errlen);
	if (rc <= 0)
		return rc < 0 ? -1
		              : ticket_refuse(res, CC_ERR_NOT_FOUND, "no customer with id %" PRIu64,
		                              *customer);
	json_decref(row);
	return 0;
}

static int
followup_insert(MYSQL *m, const struct schedule_arg *x, uint64_t customer, const json_t *trow,
                unsigned int assignee, uint64_t *id, char *err, size_t errlen)
{
	MYSQL_BIND p[7];
	unsigned long len[7];
	my_bool nul = trow == NULL;
	uint64_t ticket = trow ? row_uint(trow, "id") : 0;
	unsigned int agent = x->a->agent_id;
	char due[48], when[48];

	ticket_format_time(x->f->due_ms, due);
	ticket_format_time(x->now_ms, when);
	bind_u64(&p[0], &customer);
	bind_u64(&p[1], &ticket);
	p[1].is_null = &nul;
	bind_str(&p[2], x->f->purpose, &len[2]);
	bind_str(&p[3], due, &len[3]);
	bind_uint(&p[4], &assignee);
	bind_uint(&p[5], &agent);
	bind_str(&p[6], when, &len[6]);
	return store_insert(
	    m,
	    "INSERT INTO followups (customer_id, ticket_id, purpose, due_at, "
	    "assignee_agent_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    p, id, err, errlen);
}

static int
schedule_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct schedule_arg *x = arg;
	const struct care_followup_new *f = x->f;
	json_t *trow = NULL;
	unsigned int assignee;
	uint64_t customer, id = 0;
	int rc;

	if ((rc = assignee_lookup(m, x, &assignee, res, err, errlen)) != 0)
		return rc;
	if ((f->key.id != 0 || f->key.ref[0]) &&
	    (rc = lock_ticket(m, x->a, &f->key, &trow, res, err, errlen)) != 0)
		return rc;
	if ((rc = customer_of(m, f, trow, &customer, res, err, errlen)) == 0)
		rc = followup_insert(m, x, customer, trow, assignee, &id, err, errlen);
	if (rc == 0 && trow != NULL)
		rc = ticket_event(m, trow, x->a, "followup.schedule", NULL, f->purpose,
		                  json_pack("{s:I,s:I,s:I}", "followup_id", (json_int_t)id,
		                            "due_at", (json_int_t)f->due_ms, "assignee_id",
		                            (json_int_t)assignee),
		                  x->now_ms, err, errlen);
	if (rc == 0)
		rc = reply_with(m, FOLLOWUP_SELECT, id, "followup", trow, res, err, errlen);
	json_decref(trow);
	return rc;
}

int
store_care_followup_schedule(MYSQL *m, const struct ticket_actor *a,
                             const struct care_followup_new *f, int64_t now_ms,
                             struct ticket_result *res, char *err, size_t errlen)
{
	struct schedule_arg x = {a, f, now_ms};

	return ticket_tx_run(m, schedule_tx, &x, res, err, errlen);
}

/* followup.done */

struct done_arg {
	const struct ticket_actor *a;
	const struct care_followup_done *d;
	int64_t now_ms;
};

/* Lock the follow-up (its ticket first, when it has one): 0, refused, -1. */
static int
followup_lock(MYSQL *m, const struct ticket_actor *a, uint64_t id, json_t **trow, json_t **frow,
              struct ticket_result *res, char *err, size_t errlen)
{
	struct ticket_key k = {0};
	json_t *row;
	int rc;

	*trow = *frow = NULL;
	rc = row_by_id(m, "SELECT ticket_id FROM followups WHERE id = ?", id, &row, err, errlen);
	if (rc <= 0)
		return rc < 0 ? -1
		              : ticket_refuse(res, CC_ERR_NOT_FOUND,
		                              "no follow-up with id %" PRIu64, id);
	k.id = row_uint(row, "ticket_id");
	json_decref(row);
	if (k.id != 0 && (rc = lock_ticket(m, a, &k, trow, res, err, errlen)) != 0)
		return rc;
	rc = row_by_id(m, "SELECT id, outcome FROM followups WHERE id = ? FOR UPDATE", id, frow,
	               err, errlen);
	return rc == 1 ? 0 : -1; /* follow-ups are never deleted */
}

static int
done_update(MYSQL *m, const struct done_arg *x, char *err, size_t errlen)
{
	MYSQL_BIND p[4];
	unsigned long len[4];
	my_bool nul;
	uint64_t id = x->d->id;
	char when[48];

	ticket_format_time(x->now_ms, when);
	bind_str(&p[0], when, &len[0]);
	bind_str(&p[1], x->d->outcome, &len[1]);
	bind_opt(&p[2], x->d->note, &len[2], &nul);
	bind_u64(&p[3], &id);
	return store_exec(m,
	                  "UPDATE followups SET done_at = ?, outcome = ?, outcome_note = ? "
	                  "WHERE id = ? AND done_at IS NULL",
	                  p, err, errlen, NULL);
}

static int
done_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct done_arg *x = arg;
	json_t *trow, *frow;
	int rc;

	if ((rc = followup_lock(m, x->a, x->d->id, &trow, &frow, res, err, errlen)) != 0) {
		json_decref(trow);
		return rc;
	}
	if (row_str(frow, "outcome") != NULL)
		rc = ticket_refuse(res, CC_ERR_CONFLICT,
		                   "follow-up %" PRIu64 " is already done (%s)", x->d->id,
		                   row_str(frow, "outcome"));
	else
		rc = done_update(m, x, err, errlen);
	if (rc == 0 && trow != NULL)
		rc = ticket_event(m, trow, x->a, "followup.done", "open", x->d->outcome,
		                  json_pack("{s:I}", "followup_id", (json_int_t)x->d->id),
		                  x->now_ms, err, errlen);
	if (rc == 0)
		rc = reply_with(m, FOLLOWUP_SELECT, x->d->id, "followup", trow, res, err, errlen);
	json_decref(trow);
	json_decref(frow);
	return rc;
}

int
store_care_followup_done(MYSQL *m, const struct ticket_actor *a, const struct care_followup_done *d,
                         int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct done_arg x = {a, d, now_ms};

	return ticket_tx_run(m, done_tx, &x, res, err, errlen);
}
