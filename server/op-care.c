/* op-care.c: compensation.request, compensation.approve,
 * compensation.issue, followup.schedule and followup.done.
 *
 * As in op-ticket.c: arguments are checked on the loop, one job runs on a
 * db worker (store-care.c), and a write is answered ok only after its
 * COMMIT; a refused request writes nothing. */
#include <stdint.h>
#include <string.h>
#include <sys/time.h>

#include "op-args.h"
#include "op-job.h"
#include "server.h"
#include "store-care.h"

struct care_job {
	struct op_job base;
	union {
		struct care_comp_request request;
		struct care_comp_decision decide;
		struct care_comp_issue issue;
		struct care_followup_new schedule;
		struct care_followup_done done;
	} in;
};

/* db worker: the store call of each op. */
static int
run_request(struct op_job *b, MYSQL *m)
{
	struct care_job *j = (struct care_job *)b;
	return store_care_comp_request(m, &b->actor, &j->in.request, b->now_ms, &b->res, b->err,
	                               sizeof b->err);
}

static int
run_decide(struct op_job *b, MYSQL *m)
{
	struct care_job *j = (struct care_job *)b;
	return store_care_comp_decide(m, &b->actor, &j->in.decide, b->now_ms, &b->res, b->err,
	                              sizeof b->err);
}

static int
run_issue(struct op_job *b, MYSQL *m)
{
	struct care_job *j = (struct care_job *)b;
	return store_care_comp_issue(m, &b->actor, &j->in.issue, b->now_ms, &b->res, b->err,
	                             sizeof b->err);
}

static int
run_schedule(struct op_job *b, MYSQL *m)
{
	struct care_job *j = (struct care_job *)b;
	return store_care_followup_schedule(m, &b->actor, &j->in.schedule, b->now_ms, &b->res,
	                                    b->err, sizeof b->err);
}

static int
run_done(struct op_job *b, MYSQL *m)
{
	struct care_job *j = (struct care_job *)b;
	return store_care_followup_done(m, &b->actor, &j->in.done, b->now_ms, &b->res, b->err,
	                                sizeof b->err);
}

static struct care_job *
job_new(struct session *s, json_int_t id, const char *op, op_job_fn run)
{
	return op_job_new(sizeof(struct care_job), s, id, "care", op, 1, run);
}

static const char *const comp_kinds[] = {"refund",         "coupon",   "gift",
                                         "apology_letter", "exchange", NULL};
static const char *const decisions[] = {"approve", "reject", NULL};
static const char *const purposes[] = {"callback", "complaint_check", "care", "thanks",
                                       "win_back", "survey",          NULL};
static const char *const outcomes[] = {"reached",       "no_answer", "declined",
                                       "wrong_contact", "cancelled", NULL};

/* "amount": minor units; an apology letter costs nothing, so its amount is
 * 0 (and may be left out), every other kind needs 1..CARE_AMOUNT_MAX. */
static int
amount_arg(struct session *s, json_int_t id, json_t *req, struct care_comp_request *r)
{
	json_t *v = json_object_get(req, "amount");
	int free_kind = strcmp(r->kind, "apology_letter") == 0;
	char what[96];

	if (v == NULL && free_kind)
		return 0;
	if (!json_is_integer(v))
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "amount",
		                  "is required: an integer count of minor units (fen for CNY)");
	if (free_kind && json_integer_value(v) != 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "amount",
		                  "must be 0 for an apology_letter");
	if (!free_kind && json_integer_value(v) < 1)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "amount", "must be positive");
	if (json_integer_value(v) > CARE_AMOUNT_MAX) {
		snprintf(what, sizeof what, "exceeds the largest compensation, %d minor units",
		         CARE_AMOUNT_MAX);
		return arg_refuse(s, id, CC_ERR_TOO_LARGE, "amount", what);
	}
	r->amount = (uint64_t)json_integer_value(v);
	return 0;
}

/* "currency": three capital letters (ISO 4217), CNY when absent. */
static int
currency_arg(struct session *s, json_int_t id, json_t *req, char cur[4])
{
	int rc = arg_text(s, id, req, "currency", 3, ARG_OPTIONAL | ARG_BYTES, cur, 4);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		memcpy(cur, "CNY", 4);
		return 0;
	}
	/* fewer than three letters leave a NUL in the loop, which is refused */
	for (int i = 0; i < 3; i++)
		if (cur[i] < 'A' || cur[i] > 'Z')
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "currency",
			                  "must be an ISO 4217 code such as CNY");
	return 0;
}

static int
request_args(struct session *s, json_int_t id, json_t *req, struct care_comp_request *r)
{
	json_int_t v;
	int rc;

	if (arg_ticket(s, id, req, 0, &r->key) < 0 ||
	    arg_enum(s, id, req, "kind", 0, comp_kinds,
	             "refund, coupon, gift, apology_letter, exchange", r->kind,
	             sizeof r->kind) < 0 ||
	    amount_arg(s, id, req, r) < 0 || currency_arg(s, id, req, r->currency) < 0 ||
	    arg_text(s, id, req, "reason", CARE_REASON_MAX, ARG_MULTILINE, r->reason,
	             sizeof r->reason) < 0 ||
	    (rc = arg_int(s, id, req, "version", 1, UINT32_MAX, &v)) < 0)
		return -1;
	r->has_version = rc;
	r->version = rc ? (unsigned int)v : 0;
	return 0;
}

void
op_compensation_request(struct session *s, json_int_t id, json_t *req)
{
	struct care_job *j = job_new(s, id, "compensation.request", run_request);

	if (request_args(s, id, req, &j->in.request) != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

static int
decide_args(struct session *s, json_int_t id, json_t *req, struct care_comp_decision *d)
{
	char decision[8];
	int rc;

	if (arg_id(s, id, req, "compensation", &d->id) < 0 ||
	    (rc = arg_enum(s, id, req, "decision", ARG_OPTIONAL, decisions, "approve, reject",
	                   decision, sizeof decision)) < 0 ||
	    arg_text(s, id, req, "note", CARE_NOTE_MAX, ARG_OPTIONAL | ARG_MULTILINE, d->note,
	             sizeof d->note) < 0)
		return -1;
	d->approve = rc == 0 || strcmp(decision, "approve") == 0;
	return 0;
}

void
op_compensation_approve(struct session *s, json_int_t id, json_t *req)
{
	struct care_job *j = job_new(s, id, "compensation.approve", run_decide);

	if (decide_args(s, id, req, &j->in.decide) != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

void
op_compensation_issue(struct session *s, json_int_t id, json_t *req)
{
	struct care_job *j = job_new(s, id, "compensation.issue", run_issue);
	struct care_comp_issue *i = &j->in.issue;

	if (arg_id(s, id, req, "compensation", &i->id) < 0 ||
	    arg_text(s, id, req, "external_ref", CARE_EXTREF_MAX, ARG_OPTIONAL | ARG_BYTES,
	             i->external_ref, sizeof i->external_ref) < 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

/* "due_at": Unix ms, from a minute ago up to a year ahead. */
static int
due_arg(struct session *s, json_int_t id, json_t *req, int64_t now, int64_t *due)
{
	json_int_t v;
	int rc = arg_int(s, id, req, "due_at", now - CARE_DUE_PAST_MS, now + CARE_DUE_AHEAD_MS, &v);

	if (rc == 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "due_at",
		                  "is required: Unix milliseconds, within the next year");
	if (rc < 0)
		return -1;
	*due = (int64_t)v;
	return 0;
}

static int
schedule_args(struct session *s, json_int_t id, json_t *req, int64_t now,
              struct care_followup_new *f)
{
	json_int_t v;
	int has_ticket, has_customer;

	if ((has_ticket = arg_ticket(s, id, req, 1, &f->key)) < 0 ||
	    (has_customer = arg_int(s, id, req, "customer", 1, (json_int_t)INT64_MAX, &v)) < 0)
		return -1;
	if (!has_ticket && !has_customer)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "ticket",
		                  "or \"customer\" is required: whom to follow up");
	f->customer_id = has_customer ? (uint64_t)v : 0;
	if (arg_enum(s, id, req, "purpose", 0, purposes,
	             "callback, complaint_check, care, thanks, win_back, survey", f->purpose,
	             sizeof f->purpose) < 0 ||
	    due_arg(s, id, req, now, &f->due_ms) < 0 ||
	    arg_text(s, id, req, "assignee", TICKET_NAME_MAX, ARG_OPTIONAL | ARG_BYTES, f->assignee,
	             sizeof f->assignee) < 0)
		return -1;
	return 0;
}

void
op_followup_schedule(struct session *s, json_int_t id, json_t *req)
{
	struct care_job *j = job_new(s, id, "followup.schedule", run_schedule);

	if (schedule_args(s, id, req, j->base.now_ms, &j->in.schedule) != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

void
op_followup_done(struct session *s, json_int_t id, json_t *req)
{
	struct care_job *j = job_new(s, id, "followup.done", run_done);
	struct care_followup_done *d = &j->in.done;

	if (arg_id(s, id, req, "followup", &d->id) < 0 ||
	    arg_enum(s, id, req, "outcome", 0, outcomes,
	             "reached, no_answer, declined, wrong_contact, cancelled", d->outcome,
	             sizeof d->outcome) < 0 ||
	    arg_text(s, id, req, "note", CARE_OUTCOME_MAX, ARG_OPTIONAL | ARG_MULTILINE, d->note,
	             sizeof d->note) < 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}
