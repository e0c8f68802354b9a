/* op-web.c: complaint.file, complaint.status, complaint.csat and
 * order.upsert, the ops behind ccgateway (docs/PROTOCOL.md, "Web
 * complaints and the shop feed"), for service accounts.
 *
 * Each op checks its arguments on the loop (a refusal names the argument
 * in the error's "field", so the gateway can show it beside the form
 * field) and runs one job on a db worker (store-web.c); a write is
 * answered after its COMMIT, and a filed complaint is routed like any
 * queued ticket (op-job.c tells the router) before its reply is trimmed to
 * what the gateway needs. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "contact.h"
#include "log.h"
#include "op-args.h"
#include "op-job.h"
#include "server.h"
#include "sla.h"
#include "stats-run.h"
#include "stats.h"
#include "store-web.h"
#include "store.h"

struct web_job {
	struct op_job base;
	union {
		struct web_complaint file;
		struct web_ticket_token status;
		struct web_csat csat;
		struct web_order order;
	} in;
};

static const char *const categories[] = {"delivery", "product", "refund", "service",
                                         "billing",  "other",   NULL};
static const char *const resolutions[] = {"refund",       "exchange", "apology",
                                          "compensation", "other",    NULL};
static const char *const urgencies[] = {"low", "normal", "high", "urgent", NULL};
static const char *const languages[] = {"zh-CN", "en", NULL};
static const char *const order_states[] = {"placed",   "paid",     "shipped",   "delivered",
                                           "returned", "refunded", "cancelled", NULL};

/* db worker: the store call of each op. */
static int
run_file(struct op_job *b, MYSQL *m)
{
	struct web_job *j = (struct web_job *)b;
	return store_web_file(m, &b->actor, &j->in.file, b->now_ms, &b->res, b->err, sizeof b->err);
}

/* A result as a job starts with it. */
static void
res_reset(struct ticket_result *r)
{
	json_decref(r->reply);
	memset(r, 0, sizeof *r);
	r->code = CC_OK;
	r->sla_wake_ms = SLA_NEVER;
}

/* db worker: several filings at once (op-job.c), in multi-row statements. */
static size_t
run_file_many(struct op_job **jobs, size_t n, MYSQL *m)
{
	struct web_file_item *items = calloc(n, sizeof *items);
	size_t bad = 0;
	int rc;

	if (items == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct web_job *j = (struct web_job *)jobs[i];

		jobs[i]->rc = 0;
		res_reset(&jobs[i]->res);
		items[i] = (struct web_file_item){&jobs[i]->actor, &j->in.file, jobs[i]->now_ms,
		                                  &jobs[i]->res, 0};
	}
	rc = store_web_file_many(m, items, n, &bad, jobs[0]->err, sizeof jobs[0]->err);
	for (size_t i = 0; i < n; i++)
		jobs[i]->later = items[i].later;
	free(items);
	if (rc == 0)
		return n;
	if (rc < 0) {
		jobs[0]->rc = -1;
		jobs[0]->db_errno = store_errno();
		return 0;
	}
	return bad;
}

static int
run_status(struct op_job *b, MYSQL *m)
{
	struct web_job *j = (struct web_job *)b;
	return store_web_status(m, &j->in.status, b->now_ms, &b->res, b->err, sizeof b->err);
}

static int
run_csat(struct op_job *b, MYSQL *m)
{
	struct web_job *j = (struct web_job *)b;
	return store_web_csat(m, &b->actor, &j->in.csat, b->now_ms, &b->res, b->err, sizeof b->err);
}

static int
run_order(struct op_job *b, MYSQL *m)
{
	struct web_job *j = (struct web_job *)b;
	return store_web_order(m, &b->actor, &j->in.order, b->now_ms, &b->res, b->err,
	                       sizeof b->err);
}

static struct web_job *
job_new(struct session *s, json_int_t id, const char *op, int write, op_job_fn run)
{
	return op_job_new(sizeof(struct web_job), s, id, "web", op, write, run);
}

/* Free a job whose arguments were refused, wiping the token it drew. */
static void
job_drop(struct web_job *j)
{
	OPENSSL_cleanse(&j->in, sizeof j->in);
	op_job_free(&j->base);
}

/* Deleting expired idempotency rows: a job of its own now and then, in
 * autocommit, so that its range locks never sit in a filing's
 * transaction. */
struct purge_job {
	int64_t now_ms;
	int rc;
	unsigned long long deleted;
	char err[256];
};

static void
purge_work(struct db_conn *c, void *arg)
{
	struct purge_job *p = arg;
	MYSQL *m = db_conn_get(c, p->err, sizeof p->err);

	p->rc =
	    m == NULL ? -1 : store_web_idem_purge(m, p->now_ms, &p->deleted, p->err, sizeof p->err);
	if (p->rc != 0 && m != NULL)
		db_conn_failed(c, store_errno());
}

static void
purge_done(void *arg)
{
	struct purge_job *p = arg;

	if (p->rc != 0)
		log_warn("web", "msg=\"idempotency purge failed\" error=\"%s\"", p->err);
	else if (p->deleted > 0)
		log_debug("web", "msg=\"idempotency keys expired\" deleted=%llu", p->deleted);
	free(p);
}

static void
purge_maybe(struct server *srv)
{
	static unsigned filings;
	struct purge_job *p;

	if (++filings % WEB_IDEM_PURGE_EVERY != 0 || (p = calloc(1, sizeof *p)) == NULL)
		return;
	p->now_ms = now_ms();
	if (db_pool_submit(srv->db, purge_work, purge_done, p) != 0)
		free(p); /* overloaded: the next one will */
}

/* loop, after the router had the whole ticket: the gateway gets the
 * ticket's ref, state and promised times. */
static void
file_post(struct op_job *b, json_t *reply)
{
	json_t *t = json_object_get(reply, "ticket");

	purge_maybe(b->s->srv);
	json_object_set_new(reply, "ticket",
	                    json_pack("{s:O,s:O,s:O,s:O,s:O}", "ref", json_object_get(t, "ref"),
	                              "state", json_object_get(t, "state"), "created_at",
	                              json_object_get(t, "created_at"), "first_response_due",
	                              json_object_get(t, "first_response_due"), "resolution_due",
	                              json_object_get(t, "resolution_due")));
}

/* arg_text for the web ops: a value over its limit is a bad_request
 * naming the field like any other refusal, not too_large, because the
 * gateway shows it beside the form's field (docs/PROTOCOL.md). */
static int
web_text(struct session *s, json_int_t id, json_t *req, const char *key, size_t max, int flags,
         char *buf, size_t buflen)
{
	json_t *v = json_object_get(req, key);
	char what[64];

	if (json_is_string(v)) {
		const char *p = json_string_value(v);
		size_t n = json_string_length(v), chars = 0;

		for (size_t i = 0; i < n; i++)
			chars += ((unsigned char)p[i] & 0xC0) != 0x80;
		if ((flags & ARG_BYTES ? n : chars) > max) {
			snprintf(what, sizeof what, "exceeds %zu %s", max,
			         flags & ARG_BYTES ? "bytes" : "characters");
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key, what);
		}
	}
	return arg_text(s, id, req, key, max, flags, buf, buflen);
}

/* arg_enum for the web ops: an overlong value is simply not one of names. */
static int
web_enum(struct session *s, json_int_t id, json_t *req, const char *key, int flags,
         const char *const *names, const char *list, char *buf, size_t buflen)
{
	json_t *v = json_object_get(req, key);
	char what[192];

	if (json_is_string(v) && json_string_length(v) >= buflen) {
		snprintf(what, sizeof what, "must be one of %s", list);
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key, what);
	}
	return arg_enum(s, id, req, key, flags, names, list, buf, buflen);
}

/* An optional phone argument, normalised into out: 1, 0 absent, -1. */
static int
arg_phone(struct session *s, json_int_t id, json_t *req, char *given, size_t givenlen, char *out,
          size_t outlen)
{
	int rc =
	    web_text(s, id, req, "phone", WEB_PHONE_MAX, ARG_OPTIONAL | ARG_BYTES, given, givenlen);

	if (rc == 1 && contact_phone_normalize(given, WEB_COUNTRY, out, outlen) != 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "phone",
		                  "must be a phone number: 8 to 15 digits, with an optional "
		                  "leading + and country code");
	return rc;
}

/* An optional e-mail argument, normalised into out: 1, 0 absent, -1. */
static int
arg_email(struct session *s, json_int_t id, json_t *req, char *given, size_t givenlen, char *out,
          size_t outlen)
{
	int rc = web_text(s, id, req, "email", CONTACT_EMAIL_MAX, ARG_OPTIONAL | ARG_BYTES, given,
	                  givenlen);

	if (rc == 1 && contact_email_normalize(given, out, outlen) != 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "email",
		                  "must be an e-mail address such as name@example.com");
	return rc;
}

/* The arguments of complaint.file, in the order the form shows them: 0,
 * or -1 refused. */
static int
file_args(struct session *s, json_int_t id, json_t *req, struct web_complaint *c)
{
	int phone, email, rc;

	if (web_text(s, id, req, "name", WEB_NAME_MAX, 0, c->name, sizeof c->name) < 0 ||
	    (phone = arg_phone(s, id, req, c->phone_given, sizeof c->phone_given, c->phone,
	                       sizeof c->phone)) < 0 ||
	    (email = arg_email(s, id, req, c->email_given, sizeof c->email_given, c->email,
	                       sizeof c->email)) < 0)
		return -1;
	if (!phone && !email)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "phone",
		                  "or \"email\" is required: how we can reach you");
	if (web_text(s, id, req, "order", WEB_ORDER_MAX, ARG_OPTIONAL | ARG_BYTES, c->order,
	             sizeof c->order) < 0 ||
	    web_enum(s, id, req, "category", 0, categories,
	             "delivery, product, refund, service, billing, other", c->category,
	             sizeof c->category) < 0 ||
	    web_text(s, id, req, "description", WEB_DESCRIPTION_MAX, ARG_MULTILINE, c->description,
	             sizeof c->description) < 0 ||
	    web_enum(s, id, req, "resolution", 0, resolutions,
	             "refund, exchange, apology, compensation, other", c->resolution,
	             sizeof c->resolution) < 0 ||
	    (rc = web_enum(s, id, req, "urgency", ARG_OPTIONAL, urgencies,
	                   "low, normal, high, urgent", c->urgency, sizeof c->urgency)) < 0)
		return -1;
	if (rc == 0)
		snprintf(c->urgency, sizeof c->urgency, "normal");
	if ((rc = web_enum(s, id, req, "language", ARG_OPTIONAL, languages, "zh-CN, en",
	                   c->language, sizeof c->language)) < 0)
		return -1;
	if (rc == 0)
		snprintf(c->language, sizeof c->language, "zh-CN");
	if ((rc = web_text(s, id, req, "idempotency_key", WEB_KEY_MAX, ARG_OPTIONAL | ARG_BYTES,
	                   c->key, sizeof c->key)) < 0)
		return -1;
	if (rc == 1) {
		size_t n = strlen(c->key);
		int printable = 1;

		for (size_t i = 0; i < n; i++)
			printable &= c->key[i] >= 0x20 && c->key[i] < 0x7F;
		if (n < WEB_KEY_MIN || !printable)
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "idempotency_key",
			                  "must be 8 to 128 bytes of printable ASCII");
	}
	return 0;
}

void
op_complaint_file(struct session *s, json_int_t id, json_t *req)
{
	struct web_job *j = job_new(s, id, "complaint.file", 1, run_file);

	j->base.run_many = run_file_many;
	if (file_args(s, id, req, &j->in.file) != 0) {
		job_drop(j);
		return;
	}
	if (RAND_bytes(j->in.file.token, sizeof j->in.file.token) != 1) {
		session_reply_error(s, id, CC_ERR_INTERNAL, "no random bytes for the status token");
		job_drop(j);
		return;
	}
	snprintf(j->in.file.queue, sizeof j->in.file.queue, "%s", s->srv->cfg.web_complaint_queue);
	j->base.post = file_post;
	op_job_submit(&j->base);
}

/* "ref" and "token": 0, or -1 refused. A token of the wrong form is not
 * refused here: it is simply not the complaint's, and is answered as a
 * wrong one is. */
static int
token_args(struct session *s, json_int_t id, json_t *req, struct web_ticket_token *t)
{
	return web_text(s, id, req, "ref", TICKET_REF_MAX, ARG_BYTES, t->ref, sizeof t->ref) < 0 ||
	               web_text(s, id, req, "token", WEB_TOKEN_ARG_MAX, ARG_BYTES, t->token,
	                        sizeof t->token) < 0
	           ? -1
	           : 0;
}

void
op_complaint_status(struct session *s, json_int_t id, json_t *req)
{
	struct web_job *j = job_new(s, id, "complaint.status", 0, run_status);

	if (token_args(s, id, req, &j->in.status) != 0) {
		job_drop(j);
		return;
	}
	op_job_submit(&j->base);
}

/* loop, after the rating committed: it counts in today's CSAT of the
 * ticket's queue and site (the live statistics, then the rollups). */
static void
csat_post(struct op_job *b, json_t *reply)
{
	json_t *st = json_object_get(reply, "_stats");
	struct stats *core = stats_run_core(b->s->srv);
	struct web_job *j = (struct web_job *)b;

	if (core != NULL && st != NULL)
		stats_csat(core, (uint32_t)json_integer_value(json_object_get(st, "queue")),
		           (uint32_t)json_integer_value(json_object_get(st, "site")),
		           (uint32_t)json_integer_value(json_object_get(st, "agent")),
		           j->in.csat.score, now_ms());
	json_object_del(reply, "_stats");
}

void
op_complaint_csat(struct session *s, json_int_t id, json_t *req)
{
	struct web_job *j = job_new(s, id, "complaint.csat", 1, run_csat);
	struct web_csat *c = &j->in.csat;
	json_int_t v = 0;
	int rc;

	if (token_args(s, id, req, &c->who) != 0 ||
	    (rc = arg_int(s, id, req, "score", 1, 5, &v)) < 0 ||
	    (rc == 0 && arg_refuse(s, id, CC_ERR_BAD_REQUEST, "score",
	                           "is required: an integer from 1 to 5") < 0) ||
	    web_text(s, id, req, "comment", WEB_COMMENT_MAX, ARG_OPTIONAL | ARG_MULTILINE,
	             c->comment, sizeof c->comment) < 0) {
		job_drop(j);
		return;
	}
	c->score = (int)v;
	j->base.post = csat_post;
	op_job_submit(&j->base);
}

/* The "customer" object of order.upsert into o: 0, or -1 refused. */
static int
order_customer_args(struct session *s, json_int_t id, json_t *req, struct web_order *o)
{
	json_t *c = json_object_get(req, "customer");
	char given[CONTACT_EMAIL_MAX + 1];
	int member, phone, email;

	if (!json_is_object(c))
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "customer",
		                  "is required: an object with member_id, phone, email and name");
	if ((member = web_text(s, id, c, "member_id", WEB_MEMBER_MAX, ARG_OPTIONAL | ARG_BYTES,
	                       o->member_id, sizeof o->member_id)) < 0 ||
	    (phone = arg_phone(s, id, c, given, WEB_PHONE_MAX + 1, o->phone, sizeof o->phone)) <
	        0 ||
	    (email = arg_email(s, id, c, given, sizeof given, o->email, sizeof o->email)) < 0 ||
	    web_text(s, id, c, "name", WEB_NAME_MAX, ARG_OPTIONAL, o->name, sizeof o->name) < 0)
		return -1;
	if (!member && !phone && !email)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "customer",
		                  "needs member_id, phone or email to find the customer by");
	return 0;
}

void
op_order_upsert(struct session *s, json_int_t id, json_t *req)
{
	struct web_job *j = job_new(s, id, "order.upsert", 1, run_order);
	struct web_order *o = &j->in.order;
	json_int_t amount = 0, at = 0;
	int rc;

	if (web_text(s, id, req, "order", WEB_ORDER_MAX, ARG_BYTES, o->order, sizeof o->order) <
	        0 ||
	    order_customer_args(s, id, req, o) < 0 ||
	    (rc = arg_int(s, id, req, "amount_minor", 0, WEB_AMOUNT_MAX, &amount)) < 0 ||
	    (rc == 0 && arg_refuse(s, id, CC_ERR_BAD_REQUEST, "amount_minor",
	                           "is required: the amount in minor units (fen)") < 0) ||
	    web_text(s, id, req, "currency", 3, ARG_BYTES, o->currency, sizeof o->currency) < 0)
		goto refused;
	if (strlen(o->currency) != 3 || o->currency[0] < 'A' || o->currency[0] > 'Z' ||
	    o->currency[1] < 'A' || o->currency[1] > 'Z' || o->currency[2] < 'A' ||
	    o->currency[2] > 'Z') {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, "currency",
		           "must be three capital letters (ISO 4217), such as CNY");
		goto refused;
	}
	/* from 2000-01-01 to 2100-01-01 */
	if ((rc = arg_int(s, id, req, "ordered_at", 946684800000LL, 4102444800000LL, &at)) < 0 ||
	    (rc == 0 && arg_refuse(s, id, CC_ERR_BAD_REQUEST, "ordered_at",
	                           "is required: Unix time in milliseconds") < 0) ||
	    web_enum(s, id, req, "status", 0, order_states,
	             "placed, paid, shipped, delivered, returned, refunded, cancelled", o->status,
	             sizeof o->status) < 0)
		goto refused;
	o->amount_minor = (uint64_t)amount;
	o->ordered_at = (int64_t)at;
	op_job_submit(&j->base);
	return;
refused:
	job_drop(j);
}
