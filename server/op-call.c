/* op-call.c: call.arrive, call.answer, call.end, call.abandon,
 * callback.request, queue.estimate and ticket.wait: the phone system's side
 * of routing, for service accounts (the gateway and a telephony connector),
 * and the waits supervisors watch.
 *
 * A call is a ticket (kind call, channel phone) that joins the line of the
 * queue its dialled number and IVR choice lead to (call_routes); the caller
 * is looked up by number, and a known customer is offered first to the
 * agent who last served them. Every call op is keyed by the phone system's
 * own call id and is idempotent: a retry after a lost reply gets the same
 * answer and changes nothing twice. */
#include <string.h>

#include "op-args.h"
#include "op-job.h"
#include "proto.h"
#include "router.h"
#include "server.h"
#include "store-call.h"

struct call_job {
	struct op_job base;
	struct call_in in;
	enum call_event ev;
	uint32_t sticky;
	int fresh;
};

static int
run_arrive(struct op_job *b, MYSQL *m)
{
	struct call_job *j = (struct call_job *)b;
	return store_call_arrive(m, &b->actor, &j->in, b->now_ms, &b->res, &j->sticky, &j->fresh,
	                         b->err, sizeof b->err);
}

static int
run_event(struct op_job *b, MYSQL *m)
{
	struct call_job *j = (struct call_job *)b;
	return store_call_event(m, &b->actor, j->ev, &j->in, b->now_ms, &b->res, b->err,
	                        sizeof b->err);
}

/* loop: before the router sees the new call: whom it goes to first */
static void
arrive_pre(struct op_job *b)
{
	struct call_job *j = (struct call_job *)b;
	json_t *t = json_object_get(b->res.reply, "ticket");

	if (j->fresh && j->sticky != 0)
		router_hint_sticky(
		    b->s->srv, (uint64_t)json_integer_value(json_object_get(t, "id")), j->sticky);
}

/* loop: after: the caller's place in line and the estimated wait */
static void
arrive_post(struct op_job *b, json_t *reply)
{
	json_t *t = json_object_get(reply, "ticket");

	router_wait_info(b->s->srv, (uint64_t)json_integer_value(json_object_get(t, "id")),
	                 json_object_get(reply, "call"));
}

static void
end_post(struct op_job *b, json_t *reply)
{
	json_t *call = json_object_get(reply, "call");

	router_call_ended(b->s->srv,
	                  (uint64_t)json_integer_value(json_object_get(call, "ticket_id")));
}

/* The number arguments: digits with an optional leading '+', spaces,
 * dashes and brackets as people write them (a withheld caller is ""). */
static int
arg_number(struct session *s, json_int_t id, json_t *req, const char *key, int flags, char *buf,
           size_t len)
{
	int rc = arg_text(s, id, req, key, CALL_NUMBER_MAX, flags | ARG_BYTES, buf, len);

	if (rc <= 0)
		return rc;
	for (const char *p = buf; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p == '+' && p == buf) || *p == '*' ||
		      *p == '#' || *p == ' ' || *p == '-' || *p == '(' || *p == ')'))
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key,
			                  "must be a phone number: digits (spaces, dashes and "
			                  "brackets allowed), an optional leading +");
	return 1;
}

static struct call_job *
call_job_new(struct session *s, json_int_t id, json_t *req, const char *op, op_job_fn run)
{
	struct call_job *j = op_job_new(sizeof *j, s, id, "call", op, 1, run);

	if (arg_text(s, id, req, "call_id", CALL_ID_MAX, ARG_BYTES, j->in.call_id,
	             sizeof j->in.call_id) < 0) {
		op_job_free(&j->base);
		return NULL;
	}
	return j;
}

void
op_call_arrive(struct session *s, json_int_t id, json_t *req)
{
	struct call_job *j = call_job_new(s, id, req, "call.arrive", run_arrive);

	if (j == NULL)
		return;
	if (arg_number(s, id, req, "caller", ARG_OPTIONAL, j->in.caller, sizeof j->in.caller) < 0 ||
	    arg_number(s, id, req, "dialled", 0, j->in.dialled, sizeof j->in.dialled) < 0 ||
	    arg_text(s, id, req, "ivr", CALL_IVR_MAX, ARG_OPTIONAL | ARG_BYTES, j->in.ivr,
	             sizeof j->in.ivr) < 0) {
		op_job_free(&j->base);
		return;
	}
	j->base.pre = arrive_pre;
	j->base.post = arrive_post;
	op_job_submit(&j->base);
}

static void
call_event(struct session *s, json_int_t id, json_t *req, const char *op, enum call_event ev)
{
	struct call_job *j = call_job_new(s, id, req, op, run_event);

	if (j == NULL)
		return;
	j->ev = ev;
	if (ev == CALL_CALLBACK &&
	    arg_number(s, id, req, "number", ARG_OPTIONAL, j->in.number, sizeof j->in.number) < 0) {
		op_job_free(&j->base);
		return;
	}
	if (ev == CALL_END)
		j->base.post = end_post;
	op_job_submit(&j->base);
}

void
op_call_answer(struct session *s, json_int_t id, json_t *req)
{
	call_event(s, id, req, "call.answer", CALL_ANSWER);
}

void
op_call_end(struct session *s, json_int_t id, json_t *req)
{
	call_event(s, id, req, "call.end", CALL_END);
}

void
op_call_abandon(struct session *s, json_int_t id, json_t *req)
{
	call_event(s, id, req, "call.abandon", CALL_ABANDON);
}

void
op_callback_request(struct session *s, json_int_t id, json_t *req)
{
	call_event(s, id, req, "callback.request", CALL_CALLBACK);
}

void
op_queue_estimate(struct session *s, json_int_t id, json_t *req)
{
	char queue[65];
	json_t *est, *r;

	if (arg_text(s, id, req, "queue", 64, ARG_BYTES, queue, sizeof queue) < 0)
		return;
	if ((est = router_queue_estimate(s->srv, queue)) == NULL) {
		session_reply_error(s, id, CC_ERR_NOT_FOUND, "no such queue");
		return;
	}
	r = proto_reply_ok(id);
	json_object_update_new(r, est);
	session_send(s, r);
}

void
op_ticket_wait(struct session *s, json_int_t id, json_t *req)
{
	json_int_t ticket;
	json_t *r, *wait = json_object();

	if (arg_int(s, id, req, "ticket", 1, (json_int_t)INT64_MAX, &ticket) != 1) {
		if (json_object_get(req, "ticket") == NULL)
			arg_refuse(s, id, CC_ERR_BAD_REQUEST, "ticket",
			           "is required: a ticket id (a positive integer)");
		json_decref(wait);
		return;
	}
	router_wait_info(s->srv, (uint64_t)ticket, wait);
	if (json_object_size(wait) == 0) {
		json_decref(wait);
		session_reply_error(s, id, CC_ERR_NOT_FOUND, "that ticket is not waiting in line");
		return;
	}
	r = proto_reply_ok(id);
	json_object_set_new(r, "ticket", json_integer(ticket));
	json_object_update_new(r, wait);
	session_send(s, r);
}
