/* op-customer.c: customer.search, customer.show and the screen pop.
 *
 * Arguments are checked and normalised on the loop; the queries run on a db
 * worker (store-customer.c), which also builds the reply's JSON; the loop
 * sends it. Contacts are shown in full: every caller is logged-in staff
 * who must be able to call or write back, and every op is logged with the
 * agent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contact.h"
#include "log.h"
#include "proto.h"
#include "server.h"
#include "store-customer.h"
#include "store.h"

/* Country code of national phone numbers (without a leading + or 00). */
#define CUSTOMER_PHONE_COUNTRY "86"
#define CUSTOMER_SEARCH_DEF    20
#define CUSTOMER_VALUE_MAX     254 /* bytes of a member id or order id */

enum customer_job_kind { JOB_SEARCH, JOB_SHOW, JOB_POP };

struct customer_job {
	struct session *s;
	json_int_t id;
	enum customer_job_kind kind;
	enum customer_key key;
	char value[CUSTOMER_NAME_MAX + 1];
	unsigned limit;
	struct customer_view_query q;
	uint64_t ticket_id; /* JOB_POP */

	int rc; /* store result: 1/0 found, -1 error */
	int db_down;
	json_t *result;
	char err[256];
};

static const struct {
	const char *arg;
	enum customer_key key;
} search_keys[] = {
    {"phone", CUSTOMER_KEY_PHONE},         {"email", CUSTOMER_KEY_EMAIL},
    {"member_id", CUSTOMER_KEY_MEMBER_ID}, {"order_id", CUSTOMER_KEY_ORDER_ID},
    {"name", CUSTOMER_KEY_NAME},
};

/* Read an optional integer argument in [min, max] (def when absent); -1
 * after replying bad_request. */
static int
arg_uint(struct session *s, json_int_t id, json_t *req, const char *key, json_int_t min,
         json_int_t max, json_int_t def, json_int_t *out)
{
	json_t *v = json_object_get(req, key);
	char msg[128];

	if (v == NULL && def >= 0) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(msg, sizeof msg, "argument \"%s\" must be an integer from %lld to %lld",
		         key, (long long)min, (long long)max);
		session_reply_error(s, id, CC_ERR_BAD_REQUEST, msg);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* db worker: run the job's query. */
static void
customer_work(struct db_conn *c, void *arg)
{
	struct customer_job *j = arg;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	if (m == NULL) {
		j->rc = -1;
		j->db_down = 1;
		return;
	}
	if (j->kind == JOB_SEARCH)
		j->rc = store_customer_search(m, j->key, j->value, j->limit, &j->result, j->err,
		                              sizeof j->err);
	else
		j->rc = store_customer_view(m, &j->q, &j->result, j->err, sizeof j->err);
	if (j->rc < 0)
		j->db_down = db_conn_failed(c, store_errno());
}

/* Free a job and whatever result it still holds. */
static void
customer_job_free(struct customer_job *j)
{
	json_decref(j->result);
	free(j);
}

/* loop: answer a request job. */
static void
customer_done(void *arg)
{
	struct customer_job *j = arg;
	struct session *s = j->s;
	json_t *r;

	if (s->state != SESSION_OPEN)
		goto out;
	if (j->rc < 0) {
		log_error("customer", "msg=\"query failed\" user=%s error=\"%s\"", s->agent.user,
		          j->err);
		session_reply_error(s, j->id, j->db_down ? CC_ERR_UNAVAILABLE : CC_ERR_INTERNAL,
		                    j->db_down ? "the database is unreachable; try again shortly"
		                               : "customer lookup failed on a database error");
	} else if (j->kind == JOB_SHOW && j->rc == 0) {
		session_reply_error(s, j->id, CC_ERR_NOT_FOUND, "no such customer");
	} else {
		r = proto_reply_ok(j->id);
		if (j->kind == JOB_SEARCH) {
			json_object_set_new(r, "key", json_string(search_keys[j->key].arg));
			json_object_set_new(r, "value", json_string(j->value));
			json_object_set_new(r, "customers", j->result);
		} else {
			json_object_update(r, j->result);
			json_decref(j->result);
		}
		j->result = NULL;
		session_send(s, r);
	}
out:
	session_release(s);
	customer_job_free(j);
}

/* Hold the session and queue the job, or answer "unavailable". */
static void
customer_submit(struct customer_job *j)
{
	struct session *s = j->s;

	session_hold(s);
	if (db_pool_submit(s->srv->db, customer_work, customer_done, j) != 0) {
		session_reply_error(s, j->id, CC_ERR_UNAVAILABLE,
		                    "the server is overloaded; try again shortly");
		session_release(s);
		customer_job_free(j);
	}
}

/* The one search key in req, normalised into j; -1 after replying. */
static int
search_key(struct session *s, json_int_t id, json_t *req, struct customer_job *j)
{
	const char *v = NULL;
	int found = -1;
	char msg[160];

	for (size_t i = 0; i < sizeof search_keys / sizeof search_keys[0]; i++) {
		if (json_object_get(req, search_keys[i].arg) == NULL)
			continue;
		if (found >= 0) {
			session_reply_error(
			    s, id, CC_ERR_BAD_REQUEST,
			    "give only one of phone, email, member_id, order_id, name");
			return -1;
		}
		found = (int)i;
	}
	if (found < 0) {
		session_reply_error(s, id, CC_ERR_BAD_REQUEST,
		                    "give one of phone, email, member_id, order_id, name");
		return -1;
	}
	j->key = search_keys[found].key;
	if ((v = op_arg_string(s, id, req, search_keys[found].arg,
	                       j->key == CUSTOMER_KEY_NAME ? CUSTOMER_NAME_MAX
	                                                   : CUSTOMER_VALUE_MAX)) == NULL)
		return -1;
	if (j->key == CUSTOMER_KEY_PHONE &&
	    contact_phone_normalize(v, CUSTOMER_PHONE_COUNTRY, j->value, sizeof j->value) != 0) {
		snprintf(msg, sizeof msg,
		         "argument \"phone\" is not a phone number (digits, an optional leading +, "
		         "spaces and dashes)");
		session_reply_error(s, id, CC_ERR_BAD_REQUEST, msg);
		return -1;
	}
	if (j->key == CUSTOMER_KEY_EMAIL &&
	    contact_email_normalize(v, j->value, sizeof j->value) != 0) {
		session_reply_error(s, id, CC_ERR_BAD_REQUEST,
		                    "argument \"email\" is not an e-mail address");
		return -1;
	}
	if (j->key != CUSTOMER_KEY_PHONE && j->key != CUSTOMER_KEY_EMAIL)
		snprintf(j->value, sizeof j->value, "%s", v);
	return 0;
}

void
op_customer_search(struct session *s, json_int_t id, json_t *req)
{
	struct customer_job *j = calloc(1, sizeof *j);
	json_int_t limit;

	if (j == NULL)
		abort();
	j->s = s;
	j->id = id;
	j->kind = JOB_SEARCH;
	if (search_key(s, id, req, j) != 0 || arg_uint(s, id, req, "limit", 1, CUSTOMER_SEARCH_MAX,
	                                               CUSTOMER_SEARCH_DEF, &limit) != 0) {
		customer_job_free(j);
		return;
	}
	j->limit = (unsigned)limit;
	customer_submit(j);
}

void
op_customer_show(struct session *s, json_int_t id, json_t *req)
{
	struct customer_job *j = calloc(1, sizeof *j);
	json_int_t cid, before, limit;

	if (j == NULL)
		abort();
	j->s = s;
	j->id = id;
	j->kind = JOB_SHOW;
	if (arg_uint(s, id, req, "customer_id", 1, INT64_MAX, -1, &cid) != 0 ||
	    arg_uint(s, id, req, "before_id", 1, INT64_MAX, 0, &before) != 0 ||
	    arg_uint(s, id, req, "limit", 1, CUSTOMER_TICKETS_MAX, CUSTOMER_TICKETS_DEF, &limit) !=
	        0) {
		customer_job_free(j);
		return;
	}
	j->q.id = (uint64_t)cid;
	j->q.before_id = (uint64_t)before;
	j->q.limit = (unsigned)limit;
	j->q.now = (int64_t)time(NULL);
	customer_submit(j);
}

/* loop: push a loaded screen pop, unless the session went away. */
static void
customer_pop_done(void *arg)
{
	struct customer_job *j = arg;
	struct session *s = j->s;

	if (s->state == SESSION_OPEN) {
		if (j->rc == 1) {
			session_send(s, customer_pop_build(j->result, j->ticket_id));
			j->result = NULL;
		} else {
			log_warn("customer",
			         "msg=\"screen pop not sent\" user=%s customer=%llu "
			         "error=\"%s\"",
			         s->agent.user, (unsigned long long)j->q.id,
			         j->rc == 0 ? "no such customer" : j->err);
		}
	}
	session_unref(s);
	customer_job_free(j);
}

/* A push is not a request: it holds a reference but does not stop the
 * session reading, so it may arrive between replies. */
void
customer_pop_send(struct session *s, uint64_t customer_id, uint64_t ticket_id)
{
	struct customer_job *j = calloc(1, sizeof *j);

	if (j == NULL)
		abort();
	j->s = s;
	j->kind = JOB_POP;
	j->q.id = customer_id;
	j->q.limit = CUSTOMER_TICKETS_DEF;
	j->q.now = (int64_t)time(NULL);
	j->ticket_id = ticket_id;
	session_ref(s);
	if (db_pool_submit(s->srv->db, customer_work, customer_pop_done, j) != 0) {
		log_warn("customer",
		         "msg=\"screen pop not sent\" user=%s customer=%llu "
		         "error=\"worker queue full\"",
		         s->agent.user, (unsigned long long)customer_id);
		session_unref(s);
		customer_job_free(j);
	}
}
