/* op-ticket.c: ticket.create, ticket.show, ticket.list, ticket.note,
 * ticket.transition, ticket.update, and the named transitions
 * ticket.transfer, ticket.resolve and ticket.reopen.
 *
 * The named transitions are ticket.transition with the action picked from
 * their arguments: they fill the same struct ticket_change and run the same
 * store call, so their checks, writes, events and replies are the state
 * table's, exactly as ticket.transition's.
 *
 * Each op checks its arguments on the loop, then runs one job on a db
 * worker (store-ticket.c) and answers on the loop when the job is back: a
 * write is answered ok only after its COMMIT. A refused request (unknown
 * ticket, stale version, a transition the state table does not allow)
 * writes nothing. A ticket is named by "ticket": its id (a number) or its
 * ref (a string), because "id" is the request's own id. */
#include <stdint.h>
#include <string.h>
#include <sys/time.h>

#include "op-args.h"
#include "op-job.h"
#include "server.h"
#include "store-ticket.h"

struct ticket_job {
	struct op_job base;
	union {
		struct ticket_new create;
		struct ticket_key show;
		struct ticket_filter list;
		struct ticket_note note;
		struct ticket_change change;
		struct ticket_update update;
	} in;
};

/* db worker: the store call of each op. */
static int
run_create(struct op_job *b, MYSQL *m)
{
	struct ticket_job *j = (struct ticket_job *)b;
	return store_ticket_create(m, &b->actor, &j->in.create, b->now_ms, &b->res, b->err,
	                           sizeof b->err);
}

static int
run_show(struct op_job *b, MYSQL *m)
{
	struct ticket_job *j = (struct ticket_job *)b;
	return store_ticket_show(m, &b->actor, &j->in.show, &b->res, b->err, sizeof b->err);
}

static int
run_list(struct op_job *b, MYSQL *m)
{
	struct ticket_job *j = (struct ticket_job *)b;
	return store_ticket_list(m, &b->actor, &j->in.list, &b->res, b->err, sizeof b->err);
}

static int
run_note(struct op_job *b, MYSQL *m)
{
	struct ticket_job *j = (struct ticket_job *)b;
	return store_ticket_add_note(m, &b->actor, &j->in.note, b->now_ms, &b->res, b->err,
	                             sizeof b->err);
}

static int
run_transition(struct op_job *b, MYSQL *m)
{
	struct ticket_job *j = (struct ticket_job *)b;
	return store_ticket_transition(m, &b->actor, &j->in.change, b->now_ms, &b->res, b->err,
	                               sizeof b->err);
}

static int
run_update(struct op_job *b, MYSQL *m)
{
	struct ticket_job *j = (struct ticket_job *)b;
	return store_ticket_update(m, &b->actor, &j->in.update, b->now_ms, &b->res, b->err,
	                           sizeof b->err);
}

static struct ticket_job *
job_new(struct session *s, json_int_t id, const char *op, int write, op_job_fn run)
{
	return op_job_new(sizeof(struct ticket_job), s, id, "ticket", op, write, run);
}

static const char *const kinds[] = {"call", "complaint", "inquiry", "return_refund", NULL};
static const char *const channels[] = {"phone", "web", "email", "chat", "sms", NULL};
static const char *const visibilities[] = {"internal", "customer", NULL};

/* The arguments of ticket.create: 0, or -1 refused. */
static int
create_args(struct session *s, json_int_t id, json_t *req, struct ticket_new *t)
{
	json_int_t v;
	int rc;

	if (arg_enum(s, id, req, "kind", 0, kinds, "call, complaint, inquiry, return_refund",
	             t->kind, sizeof t->kind) < 0 ||
	    arg_enum(s, id, req, "channel", 0, channels, "phone, web, email, chat, sms", t->channel,
	             sizeof t->channel) < 0 ||
	    arg_text(s, id, req, "subject", TICKET_SUBJECT_MAX, 0, t->subject, sizeof t->subject) <
	        0 ||
	    arg_text(s, id, req, "queue", TICKET_NAME_MAX, ARG_OPTIONAL | ARG_BYTES, t->queue,
	             sizeof t->queue) < 0 ||
	    arg_text(s, id, req, "site", TICKET_SITE_MAX, ARG_OPTIONAL | ARG_BYTES, t->site,
	             sizeof t->site) < 0)
		return -1;
	if ((rc = arg_int(s, id, req, "customer_id", 1, (json_int_t)INT64_MAX, &v)) < 0)
		return -1;
	t->customer_id = rc ? (uint64_t)v : 0;
	if ((rc = arg_int(s, id, req, "severity", 1, 4, &v)) < 0)
		return -1;
	if (rc && strcmp(t->kind, "complaint") != 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "severity", "grades complaints only");
	t->severity = rc ? (int)v : 0;
	if ((rc = arg_int(s, id, req, "priority", 1, 9, &v)) < 0)
		return -1;
	t->priority = rc ? (int)v : 5;
	return 0;
}

void
op_ticket_create(struct session *s, json_int_t id, json_t *req)
{
	struct ticket_job *j = job_new(s, id, "ticket.create", 1, run_create);

	if (create_args(s, id, req, &j->in.create) != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

void
op_ticket_show(struct session *s, json_int_t id, json_t *req)
{
	struct ticket_job *j = job_new(s, id, "ticket.show", 0, run_show);

	if (arg_ticket(s, id, req, 0, &j->in.show) < 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

/* The arguments of ticket.list: 0, or -1 refused. */
static int
list_args(struct session *s, json_int_t id, json_t *req, struct ticket_filter *f)
{
	json_t *mine = json_object_get(req, "mine");
	char state[24];
	json_int_t v;
	int rc;

	f->state = -1;
	f->limit = TICKET_LIST_DEF;
	if (mine != NULL && !json_is_boolean(mine))
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "mine", "must be true or false");
	if (json_is_true(mine))
		f->owner_id = s->agent.id;
	if (arg_text(s, id, req, "queue", TICKET_NAME_MAX, ARG_OPTIONAL | ARG_BYTES, f->queue,
	             sizeof f->queue) < 0 ||
	    (rc = arg_text(s, id, req, "state", sizeof state - 1, ARG_OPTIONAL | ARG_BYTES, state,
	                   sizeof state)) < 0)
		return -1;
	if (rc == 1 && (f->state = ticket_state_parse(state)) < 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "state",
		                  "must be one of new, queued, offered, in_progress, "
		                  "pending_customer, resolved, closed");
	if ((rc = arg_int(s, id, req, "after_id", 1, (json_int_t)INT64_MAX, &v)) < 0)
		return -1;
	f->after_id = rc ? (uint64_t)v : 0;
	if ((rc = arg_int(s, id, req, "limit", 1, TICKET_LIST_MAX, &v)) < 0)
		return -1;
	if (rc)
		f->limit = (unsigned)v;
	return 0;
}

void
op_ticket_list(struct session *s, json_int_t id, json_t *req)
{
	struct ticket_job *j = job_new(s, id, "ticket.list", 0, run_list);

	if (list_args(s, id, req, &j->in.list) != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

/* The arguments of ticket.note: 0, or -1 refused. */
static int
note_args(struct session *s, json_int_t id, json_t *req, struct ticket_note *n)
{
	json_int_t v;
	int rc;

	if (arg_ticket(s, id, req, 0, &n->key) < 0 ||
	    arg_text(s, id, req, "body", TICKET_NOTE_MAX, ARG_MULTILINE | ARG_BYTES, n->body,
	             sizeof n->body) < 0 ||
	    (rc = arg_enum(s, id, req, "visibility", ARG_OPTIONAL, visibilities,
	                   "internal, customer", n->visibility, sizeof n->visibility)) < 0)
		return -1;
	if (rc == 0)
		snprintf(n->visibility, sizeof n->visibility, "internal");
	if ((rc = arg_int(s, id, req, "version", 1, UINT32_MAX, &v)) < 0)
		return -1;
	n->has_version = rc;
	n->version = rc ? (unsigned int)v : 0;
	return 0;
}

void
op_ticket_note(struct session *s, json_int_t id, json_t *req)
{
	struct ticket_job *j = job_new(s, id, "ticket.note", 1, run_note);

	if (note_args(s, id, req, &j->in.note) != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

/* The version argument every change needs: 0 and *out, -1 refused. */
static int
version_arg(struct session *s, json_int_t id, json_t *req, unsigned int *out)
{
	json_int_t v;
	int rc;

	if ((rc = arg_int(s, id, req, "version", 1, UINT32_MAX, &v)) < 0)
		return -1;
	if (rc == 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "version",
		                  "is required: the ticket version you last read");
	*out = (unsigned int)v;
	return 0;
}

/* The optional "reason" of a change. */
static int
reason_arg(struct session *s, json_int_t id, json_t *req, struct ticket_change *c)
{
	return arg_text(s, id, req, "reason", TICKET_REASON_MAX, ARG_OPTIONAL | ARG_MULTILINE,
	                c->reason, sizeof c->reason) < 0
	           ? -1
	           : 0;
}

/* The arguments of ticket.transition: 0, or -1 refused. The arguments an
 * action needs are checked against the state table's row on the worker. */
static int
change_args(struct session *s, json_int_t id, json_t *req, struct ticket_change *c)
{
	char action[24];
	int a;

	if (arg_ticket(s, id, req, 0, &c->key) < 0 ||
	    arg_text(s, id, req, "action", sizeof action - 1, ARG_BYTES, action, sizeof action) < 0)
		return -1;
	if ((a = ticket_action_parse(action)) < 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "action",
		                  "is not an action of the state table (see docs/PROTOCOL.md)");
	c->action = (enum ticket_action)a;
	if (version_arg(s, id, req, &c->version) < 0 ||
	    arg_text(s, id, req, "queue", TICKET_NAME_MAX, ARG_OPTIONAL | ARG_BYTES, c->queue,
	             sizeof c->queue) < 0 ||
	    arg_text(s, id, req, "agent", TICKET_NAME_MAX, ARG_OPTIONAL | ARG_BYTES, c->agent,
	             sizeof c->agent) < 0 ||
	    arg_text(s, id, req, "site", TICKET_SITE_MAX, ARG_OPTIONAL | ARG_BYTES, c->site,
	             sizeof c->site) < 0 ||
	    arg_text(s, id, req, "code", TICKET_CODE_MAX, ARG_OPTIONAL | ARG_BYTES, c->code,
	             sizeof c->code) < 0 ||
	    arg_text(s, id, req, "summary", TICKET_SUMMARY_MAX, ARG_OPTIONAL | ARG_MULTILINE,
	             c->summary, sizeof c->summary) < 0 ||
	    reason_arg(s, id, req, c) < 0)
		return -1;
	return 0;
}

/* Submit a change job whose arguments args filled, or free it. */
static void
change_submit(struct session *s, json_int_t id, json_t *req, const char *op,
              int (*args)(struct session *, json_int_t, json_t *, struct ticket_change *))
{
	struct ticket_job *j = job_new(s, id, op, 1, run_transition);

	if (args(s, id, req, &j->in.change) != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}

void
op_ticket_transition(struct session *s, json_int_t id, json_t *req)
{
	change_submit(s, id, req, "ticket.transition", change_args);
}

/* The arguments of ticket.transfer: the target names the action (site and
 * queue: transfer_site; agent: transfer_agent, with a queue for a new
 * ticket; queue: transfer_queue). 0, or -1 refused. */
static int
transfer_args(struct session *s, json_int_t id, json_t *req, struct ticket_change *c)
{
	int q, a, site;

	if (arg_ticket(s, id, req, 0, &c->key) < 0 || version_arg(s, id, req, &c->version) < 0 ||
	    (q = arg_text(s, id, req, "queue", TICKET_NAME_MAX, ARG_OPTIONAL | ARG_BYTES, c->queue,
	                  sizeof c->queue)) < 0 ||
	    (a = arg_text(s, id, req, "agent", TICKET_NAME_MAX, ARG_OPTIONAL | ARG_BYTES, c->agent,
	                  sizeof c->agent)) < 0 ||
	    (site = arg_text(s, id, req, "site", TICKET_SITE_MAX, ARG_OPTIONAL | ARG_BYTES, c->site,
	                     sizeof c->site)) < 0 ||
	    reason_arg(s, id, req, c) < 0)
		return -1;
	if (site && a)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "site",
		                  "and \"agent\" exclude each other: a transfer to another site "
		                  "goes to one of its queues");
	if (site && !q)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "queue",
		                  "is required with \"site\": the queue of that site to join");
	if (!site && !a && !q)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "queue",
		                  "or \"agent\" or \"site\" is required: the transfer's target");
	c->action = site ? TA_TRANSFER_SITE : a ? TA_TRANSFER_AGENT : TA_TRANSFER_QUEUE;
	return 0;
}

void
op_ticket_transfer(struct session *s, json_int_t id, json_t *req)
{
	change_submit(s, id, req, "ticket.transfer", transfer_args);
}

/* The arguments of ticket.resolve: 0, or -1 refused. */
static int
resolve_args(struct session *s, json_int_t id, json_t *req, struct ticket_change *c)
{
	c->action = TA_RESOLVE;
	if (arg_ticket(s, id, req, 0, &c->key) < 0 || version_arg(s, id, req, &c->version) < 0 ||
	    arg_text(s, id, req, "code", TICKET_CODE_MAX, ARG_BYTES, c->code, sizeof c->code) < 0 ||
	    arg_text(s, id, req, "summary", TICKET_SUMMARY_MAX, ARG_MULTILINE, c->summary,
	             sizeof c->summary) < 0)
		return -1;
	return 0;
}

void
op_ticket_resolve(struct session *s, json_int_t id, json_t *req)
{
	change_submit(s, id, req, "ticket.resolve", resolve_args);
}

/* The arguments of ticket.reopen: 0, or -1 refused. */
static int
reopen_args(struct session *s, json_int_t id, json_t *req, struct ticket_change *c)
{
	c->action = TA_REOPEN;
	if (arg_ticket(s, id, req, 0, &c->key) < 0 || version_arg(s, id, req, &c->version) < 0 ||
	    reason_arg(s, id, req, c) < 0)
		return -1;
	return 0;
}

void
op_ticket_reopen(struct session *s, json_int_t id, json_t *req)
{
	change_submit(s, id, req, "ticket.reopen", reopen_args);
}

/* An optional integer that null clears: 1 set (*out, 0 when null), 0
 * absent, -1 refused. */
static int
arg_int_or_null(struct session *s, json_int_t id, json_t *req, const char *key, json_int_t min,
                json_int_t max, json_int_t *out)
{
	if (json_is_null(json_object_get(req, key))) {
		*out = 0;
		return 1;
	}
	return arg_int(s, id, req, key, min, max, out);
}

/* A product line code such as "apparel": lower-case letters, digits, '-'
 * and '_'. */
static int
product_ok(const char *code)
{
	for (const char *p = code; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return 0;
	return code[0] != '\0';
}

/* A language tag such as "zh-CN" or "yue": letters, digits and hyphens. */
static int
language_ok(const char *tag)
{
	if (!((tag[0] >= 'a' && tag[0] <= 'z') || (tag[0] >= 'A' && tag[0] <= 'Z')))
		return 0;
	for (; *tag; tag++)
		if (!((*tag >= 'a' && *tag <= 'z') || (*tag >= 'A' && *tag <= 'Z') ||
		      (*tag >= '0' && *tag <= '9') || *tag == '-'))
			return 0;
	return 1;
}

/* The arguments of ticket.update: 0, or -1 refused. What the fields must
 * be together (severity and kind, order and customer) is checked against
 * the ticket on the worker. */
static int
update_args(struct session *s, json_int_t id, json_t *req, struct ticket_update *u)
{
	json_int_t v;
	int rc;

	if (arg_ticket(s, id, req, 0, &u->key) < 0 || version_arg(s, id, req, &u->version) < 0)
		return -1;
	if ((rc = arg_text(s, id, req, "subject", TICKET_SUBJECT_MAX, ARG_OPTIONAL, u->subject,
	                   sizeof u->subject)) < 0)
		return -1;
	u->set |= rc ? UPD_SUBJECT : 0;
	if ((rc = arg_enum(s, id, req, "kind", ARG_OPTIONAL, kinds,
	                   "call, complaint, inquiry, return_refund", u->kind, sizeof u->kind)) < 0)
		return -1;
	u->set |= rc ? UPD_KIND : 0;
	if ((rc = arg_int_or_null(s, id, req, "severity", 1, 4, &v)) < 0)
		return -1;
	u->set |= rc ? UPD_SEVERITY : 0;
	u->severity = rc ? (int)v : 0;
	if ((rc = arg_int(s, id, req, "priority", 1, 9, &v)) < 0)
		return -1;
	u->set |= rc ? UPD_PRIORITY : 0;
	u->priority = rc ? (int)v : 0;
	if (json_is_null(json_object_get(req, "language")))
		u->set |= UPD_LANGUAGE;
	else if ((rc = arg_text(s, id, req, "language", TICKET_LANGUAGE_MAX,
	                        ARG_OPTIONAL | ARG_BYTES, u->language, sizeof u->language)) < 0)
		return -1;
	else if (rc == 1 && !language_ok(u->language))
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "language",
		                  "must be a language tag such as zh-CN, yue or en");
	else if (rc == 1)
		u->set |= UPD_LANGUAGE;
	if (json_is_null(json_object_get(req, "product_line")))
		u->set |= UPD_PRODUCT;
	else if ((rc = arg_text(s, id, req, "product_line", TICKET_PRODUCT_MAX,
	                        ARG_OPTIONAL | ARG_BYTES, u->product_line,
	                        sizeof u->product_line)) < 0)
		return -1;
	else if (rc == 1 && !product_ok(u->product_line))
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "product_line",
		                  "must be a product line code such as apparel or luxury "
		                  "(lower-case letters, digits, '-', '_')");
	else if (rc == 1)
		u->set |= UPD_PRODUCT;
	if ((rc = arg_int_or_null(s, id, req, "customer_id", 1, (json_int_t)INT64_MAX, &v)) < 0)
		return -1;
	u->set |= rc ? UPD_CUSTOMER : 0;
	u->customer_id = rc ? (uint64_t)v : 0;
	if ((rc = arg_int_or_null(s, id, req, "order_id", 1, (json_int_t)INT64_MAX, &v)) < 0)
		return -1;
	u->set |= rc ? UPD_ORDER : 0;
	u->order_id = rc ? (uint64_t)v : 0;
	if (u->set == 0) {
		session_reply_error(
		    s, id, CC_ERR_BAD_REQUEST,
		    "nothing to change: give one or more of subject, kind, severity, "
		    "priority, language, product_line, customer_id, order_id");
		return -1;
	}
	return 0;
}

void
op_ticket_update(struct session *s, json_int_t id, json_t *req)
{
	struct ticket_job *j = job_new(s, id, "ticket.update", 1, run_update);

	if (update_args(s, id, req, &j->in.update) != 0) {
		op_job_free(&j->base);
		return;
	}
	op_job_submit(&j->base);
}
