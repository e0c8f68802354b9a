/* op-link.c: ticket.link, ticket.unlink, ticket.merge, ticket.unmerge,
 * customer.merge and customer.unmerge.
 *
 * Each op checks its arguments on the loop, then runs one transaction on a
 * db worker (store-link.c) and is answered after the COMMIT; a refusal
 * writes nothing. Tickets are named as in ticket.*: an id (a number) or a
 * ref (a string); the second ticket of a pair is "other" (link) or "into"
 * (merge). Customers are named by their id. The rules are in
 * docs/PROTOCOL.md ("Links and merges"). */
#include <stdint.h>
#include <string.h>

#include "op-args.h"
#include "op-job.h"
#include "server.h"
#include "store-link.h"

struct link_job {
	struct op_job base;
	union {
		struct link_pair pair;
		struct link_merge merge;
		struct link_unmerge unmerge;
		struct {
			uint64_t customer, into;
		} cust;
	} in;
};

/* db worker: the store call of each op. */
static int
run_link(struct op_job *b, MYSQL *m)
{
	struct link_job *j = (struct link_job *)b;
	return store_link_add(m, &b->actor, &j->in.pair, b->now_ms, &b->res, b->err, sizeof b->err);
}

static int
run_unlink(struct op_job *b, MYSQL *m)
{
	struct link_job *j = (struct link_job *)b;
	return store_link_remove(m, &b->actor, &j->in.pair, b->now_ms, &b->res, b->err,
	                         sizeof b->err);
}

static int
run_merge(struct op_job *b, MYSQL *m)
{
	struct link_job *j = (struct link_job *)b;
	return store_link_merge(m, &b->actor, &j->in.merge, b->now_ms, &b->res, b->err,
	                        sizeof b->err);
}

static int
run_unmerge(struct op_job *b, MYSQL *m)
{
	struct link_job *j = (struct link_job *)b;
	return store_link_unmerge(m, &b->actor, &j->in.unmerge, b->now_ms, &b->res, b->err,
	                          sizeof b->err);
}

static int
run_customer_merge(struct op_job *b, MYSQL *m)
{
	struct link_job *j = (struct link_job *)b;
	return store_customer_merge(m, &b->actor, j->in.cust.customer, j->in.cust.into, b->now_ms,
	                            &b->res, b->err, sizeof b->err);
}

static int
run_customer_unmerge(struct op_job *b, MYSQL *m)
{
	struct link_job *j = (struct link_job *)b;
	return store_customer_unmerge(m, &b->actor, j->in.cust.customer, b->now_ms, &b->res, b->err,
	                              sizeof b->err);
}

static struct link_job *
job_new(struct session *s, json_int_t id, const char *sub, const char *op, op_job_fn run)
{
	return op_job_new(sizeof(struct link_job), s, id, sub, op, 1, run);
}

/* A second ticket argument under key, read like "ticket": 0, -1 refused. */
static int
arg_ticket_as(struct session *s, json_int_t id, json_t *req, const char *key, struct ticket_key *k)
{
	json_t *v = json_object_get(req, key);

	memset(k, 0, sizeof *k);
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		k->id = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return arg_text(s, id, req, key, TICKET_REF_MAX, ARG_BYTES, k->ref,
		                sizeof k->ref) == 1
		           ? 0
		           : -1;
	return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key,
	                  "must be a ticket id (a positive integer) or ref (a string)");
}

/* Whether two keys name the same ticket as written (both ids or both refs). */
static int
same_key(const struct ticket_key *a, const struct ticket_key *b)
{
	if (a->id != 0 || b->id != 0)
		return a->id == b->id;
	return strcmp(a->ref, b->ref) == 0;
}

/* The arguments of ticket.link and ticket.unlink: 0, or -1 refused. */
static int
pair_args(struct session *s, json_int_t id, json_t *req, struct link_pair *l, const char *verb)
{
	static const char *const kinds[] = {"related", NULL};
	char kind[16], msg[96];

	if (arg_ticket(s, id, req, 0, &l->ticket) < 0 ||
	    arg_ticket_as(s, id, req, "other", &l->other) < 0 ||
	    arg_enum(s, id, req, "kind", ARG_OPTIONAL, kinds,
	             "related (follow-ups come from reopen, merges from ticket.merge)", kind,
	             sizeof kind) < 0)
		return -1;
	if (same_key(&l->ticket, &l->other)) {
		snprintf(msg, sizeof msg, "a ticket cannot be %s itself", verb);
		session_reply_error(s, id, CC_ERR_BAD_REQUEST, msg);
		return -1;
	}
	return 0;
}

void
op_ticket_link(struct session *s, json_int_t id, json_t *req)
{
	struct link_job *j = job_new(s, id, "ticket", "ticket.link", run_link);

	if (pair_args(s, id, req, &j->in.pair, "linked to") != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

void
op_ticket_unlink(struct session *s, json_int_t id, json_t *req)
{
	struct link_job *j = job_new(s, id, "ticket", "ticket.unlink", run_unlink);

	if (pair_args(s, id, req, &j->in.pair, "unlinked from") != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

/* The arguments of ticket.merge: 0, or -1 refused. */
static int
merge_args(struct session *s, json_int_t id, json_t *req, struct link_merge *l)
{
	json_t *force = json_object_get(req, "force");
	json_int_t v;
	int rc;

	if (arg_ticket(s, id, req, 0, &l->ticket) < 0 ||
	    arg_ticket_as(s, id, req, "into", &l->into) < 0)
		return -1;
	if ((rc = arg_int(s, id, req, "version", 1, UINT32_MAX, &v)) < 0)
		return -1;
	if (rc == 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "version",
		                  "is required: the duplicate ticket's version you last read");
	l->version = (unsigned int)v;
	if (force != NULL && !json_is_boolean(force))
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "force", "must be true or false");
	l->force = json_is_true(force);
	if (same_key(&l->ticket, &l->into)) {
		session_reply_error(s, id, CC_ERR_BAD_REQUEST,
		                    "a ticket cannot be merged into itself");
		return -1;
	}
	return 0;
}

void
op_ticket_merge(struct session *s, json_int_t id, json_t *req)
{
	struct link_job *j = job_new(s, id, "ticket", "ticket.merge", run_merge);

	if (merge_args(s, id, req, &j->in.merge) != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

void
op_ticket_unmerge(struct session *s, json_int_t id, json_t *req)
{
	struct link_job *j = job_new(s, id, "ticket", "ticket.unmerge", run_unmerge);
	struct link_unmerge *l = &j->in.unmerge;
	json_int_t v;
	int rc;

	if (arg_ticket(s, id, req, 0, &l->ticket) < 0 ||
	    (rc = arg_int(s, id, req, "version", 1, UINT32_MAX, &v)) < 0) {
		op_job_free(&j->base);
		return;
	}
	l->has_version = rc;
	l->version = rc ? (unsigned int)v : 0;
	op_job_submit(&j->base);
}

void
op_customer_merge(struct session *s, json_int_t id, json_t *req)
{
	struct link_job *j = job_new(s, id, "customer", "customer.merge", run_customer_merge);

	if (arg_id(s, id, req, "customer", &j->in.cust.customer) < 0 ||
	    arg_id(s, id, req, "into", &j->in.cust.into) < 0) {
		op_job_free(&j->base);
		return;
	}
	if (j->in.cust.customer == j->in.cust.into) {
		session_reply_error(s, id, CC_ERR_BAD_REQUEST,
		                    "a customer cannot be merged into itself");
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

void
op_customer_unmerge(struct session *s, json_int_t id, json_t *req)
{
	struct link_job *j = job_new(s, id, "customer", "customer.unmerge", run_customer_unmerge);

	if (arg_id(s, id, req, "customer", &j->in.cust.customer) < 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}
