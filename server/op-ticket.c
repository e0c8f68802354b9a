/* op-ticket.c: ticket.create, ticket.show, ticket.list, ticket.note and
 * ticket.transition.
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

#include "log.h"
#include "op-args.h"
#include "proto.h"
#include "server.h"
#include "store-ticket.h"
#include "store.h"

enum ticket_job_kind { JOB_CREATE, JOB_SHOW, JOB_LIST, JOB_NOTE, JOB_TRANSITION };

static const char *const job_names[] = {
    [JOB_CREATE] = "ticket.create",
    [JOB_SHOW] = "ticket.show",
    [JOB_LIST] = "ticket.list",
    [JOB_NOTE] = "ticket.note",
    [JOB_TRANSITION] = "ticket.transition",
};

struct ticket_job {
	struct session *s;
	json_int_t id;
	enum ticket_job_kind kind;
	struct ticket_actor actor;
	union {
		struct ticket_new create;
		struct ticket_key show;
		struct ticket_filter list;
		struct ticket_note note;
		struct ticket_change change;
	} in;

	int rc; /* 0, or -1 on a database error */
	int db_down;
	unsigned int db_errno;
	char err[256];
	struct ticket_result res;
};

/* "ticket": an id or a ref. 0, or -1 refused. */
static int
arg_ticket(struct session *s, json_int_t id, json_t *req, struct ticket_key *k)
{
	json_t *v = json_object_get(req, "ticket");

	memset(k, 0, sizeof *k);
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		k->id = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return arg_text(s, id, req, "ticket", TICKET_REF_MAX, ARG_BYTES, k->ref,
		                sizeof k->ref) == 1
		           ? 0
		           : -1;
	return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "ticket",
	                  "must be a ticket id (a positive integer) or ref (a string)");
}

static struct ticket_job *
job_new(struct session *s, json_int_t id, enum ticket_job_kind kind)
{
	struct ticket_job *j = calloc(1, sizeof *j);

	if (j == NULL)
		abort();
	j->s = s;
	j->id = id;
	j->kind = kind;
	j->actor.agent_id = s->agent.id;
	j->actor.role = s->agent.role;
	snprintf(j->actor.user, sizeof j->actor.user, "%s", s->agent.user);
	snprintf(j->actor.site, sizeof j->actor.site, "%s", s->agent.site);
	return j;
}

/* db worker: run the job's store call. */
static void
ticket_work(struct db_conn *c, void *arg)
{
	struct ticket_job *j = arg;
	const struct ticket_actor *a = &j->actor;
	char *err = j->err;
	size_t el = sizeof j->err;
	MYSQL *m = db_conn_get(c, err, el);

	if (m == NULL) {
		j->rc = -1;
		j->db_down = 1;
		return;
	}
	switch (j->kind) {
	case JOB_CREATE:
		j->rc = store_ticket_create(m, a, &j->in.create, now_ms(), &j->res, err, el);
		break;
	case JOB_SHOW:
		j->rc = store_ticket_show(m, &j->in.show, &j->res, err, el);
		break;
	case JOB_LIST:
		j->rc = store_ticket_list(m, &j->in.list, &j->res, err, el);
		break;
	case JOB_NOTE:
		j->rc = store_ticket_add_note(m, a, &j->in.note, now_ms(), &j->res, err, el);
		break;
	case JOB_TRANSITION:
		j->rc = store_ticket_transition(m, a, &j->in.change, now_ms(), &j->res, err, el);
		break;
	}
	if (j->rc < 0) {
		j->db_errno = store_errno();
		j->db_down = db_conn_failed(c, j->db_errno);
	}
}

/* loop: the job is back; answer it. */
static void
ticket_done(void *arg)
{
	struct ticket_job *j = arg;
	struct session *s = j->s;

	if (s->state == SESSION_OPEN) {
		if (j->rc < 0) {
			op_reply_db_error(s, j->id, "ticket", job_names[j->kind], j->err,
			                  j->db_down, j->db_errno);
		} else if (j->res.code != CC_OK) {
			session_reply_error(s, j->id, j->res.code, j->res.msg);
		} else {
			json_t *r = proto_reply_ok(j->id);
			json_t *t = json_object_get(j->res.reply, "ticket");
			json_object_update(r, j->res.reply);
			if (j->kind != JOB_SHOW && j->kind != JOB_LIST)
				log_info("ticket", "msg=\"changed\" op=%s ref=%s user=%s",
				         job_names[j->kind],
				         json_string_value(json_object_get(t, "ref")),
				         j->actor.user);
			session_send(s, r);
		}
	}
	session_release(s);
	json_decref(j->res.reply);
	free(j);
}

static void
ticket_submit(struct ticket_job *j)
{
	struct session *s = j->s;

	session_hold(s);
	if (db_pool_submit(s->srv->db, ticket_work, ticket_done, j) != 0) {
		session_reply_error(s, j->id, CC_ERR_UNAVAILABLE,
		                    "the server is overloaded; try again shortly");
		session_release(s);
		free(j);
	}
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
	struct ticket_job *j = job_new(s, id, JOB_CREATE);

	if (create_args(s, id, req, &j->in.create) != 0) {
		free(j);
		return;
	}
	ticket_submit(j);
}

void
op_ticket_show(struct session *s, json_int_t id, json_t *req)
{
	struct ticket_job *j = job_new(s, id, JOB_SHOW);

	if (arg_ticket(s, id, req, &j->in.show) != 0) {
		free(j);
		return;
	}
	ticket_submit(j);
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
	struct ticket_job *j = job_new(s, id, JOB_LIST);

	if (list_args(s, id, req, &j->in.list) != 0) {
		free(j);
		return;
	}
	ticket_submit(j);
}

/* The arguments of ticket.note: 0, or -1 refused. */
static int
note_args(struct session *s, json_int_t id, json_t *req, struct ticket_note *n)
{
	json_int_t v;
	int rc;

	if (arg_ticket(s, id, req, &n->key) != 0 ||
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
	struct ticket_job *j = job_new(s, id, JOB_NOTE);

	if (note_args(s, id, req, &j->in.note) != 0) {
		free(j);
		return;
	}
	ticket_submit(j);
}

/* The arguments of ticket.transition: 0, or -1 refused. The arguments an
 * action needs are checked against the state table's row on the worker. */
static int
change_args(struct session *s, json_int_t id, json_t *req, struct ticket_change *c)
{
	char action[24];
	json_int_t v;
	int a, rc;

	if (arg_ticket(s, id, req, &c->key) != 0 ||
	    arg_text(s, id, req, "action", sizeof action - 1, ARG_BYTES, action, sizeof action) < 0)
		return -1;
	if ((a = ticket_action_parse(action)) < 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "action",
		                  "is not an action of the state table (see docs/PROTOCOL.md)");
	c->action = (enum ticket_action)a;
	if ((rc = arg_int(s, id, req, "version", 1, UINT32_MAX, &v)) < 0)
		return -1;
	if (rc == 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "version",
		                  "is required: the ticket version you last read");
	c->version = (unsigned int)v;
	if (arg_text(s, id, req, "queue", TICKET_NAME_MAX, ARG_OPTIONAL | ARG_BYTES, c->queue,
	             sizeof c->queue) < 0 ||
	    arg_text(s, id, req, "agent", TICKET_NAME_MAX, ARG_OPTIONAL | ARG_BYTES, c->agent,
	             sizeof c->agent) < 0 ||
	    arg_text(s, id, req, "code", TICKET_CODE_MAX, ARG_OPTIONAL | ARG_BYTES, c->code,
	             sizeof c->code) < 0 ||
	    arg_text(s, id, req, "summary", TICKET_SUMMARY_MAX, ARG_OPTIONAL | ARG_MULTILINE,
	             c->summary, sizeof c->summary) < 0)
		return -1;
	return 0;
}

void
op_ticket_transition(struct session *s, json_int_t id, json_t *req)
{
	struct ticket_job *j = job_new(s, id, JOB_TRANSITION);

	if (change_args(s, id, req, &j->in.change) != 0) {
		free(j);
		return;
	}
	ticket_submit(j);
}
