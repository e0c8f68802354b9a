/* api.c: the REST API (docs/API.md). JSON in and out; every refusal is an
 * RFC 9457 problem (application/problem+json) with per-field errors where a
 * field is at fault. Customers' endpoints take the complaint's status
 * token; integrations' endpoints take an API key. Members are whitelisted:
 * nothing a caller adds reaches callcentred unless this file names it. */
#include "gw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"

#define GW_JSON    "application/json"
#define GW_PROBLEM "application/problem+json"

enum gw_api_kind { API_COMPLAINT, API_TICKET, API_CSAT, API_CALL, API_ORDER, API_ESTIMATE };

/* One API request waiting for callcentred. */
struct gw_api {
	struct gw *gw;
	struct evhttp_request *req;
	enum gw_api_kind kind;
	char ref[40];
	char peer_key[64];     /* API_COMPLAINT: the limits' keys, charged */
	char contact_key[300]; /* once callcentred has filed it */
};

/* A field's problem as an errors[] entry. */
static json_t *
gw_api_field(const char *field, enum gw_problem problem)
{
	struct gw_field_error e = {field, problem};

	return json_pack("{s:s, s:s}", "field", field, "message",
	                 page_problem_text(GW_LANG_EN, &e));
}

void
gw_api_problem(struct evhttp_request *req, int status, const char *detail, json_t *errors)
{
	static const struct {
		int status;
		const char *title;
	} titles[] = {
	    {400, "Bad Request"},         {401, "Unauthorized"},
	    {403, "Forbidden"},           {404, "Not Found"},
	    {405, "Method Not Allowed"},  {409, "Conflict"},
	    {413, "Content Too Large"},   {415, "Unsupported Media Type"},
	    {429, "Too Many Requests"},   {500, "Internal Server Error"},
	    {503, "Service Unavailable"},
	};
	const char *title = "Error";

	for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
		if (titles[i].status == status)
			title = titles[i].title;
	json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title", title,
	                      "status", status, "detail", detail);
	if (errors != NULL)
		json_object_set_new(p, "errors", errors);
	char *s = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	struct evbuffer *b = evbuffer_new();
	if (s != NULL)
		evbuffer_add(b, s, strlen(s));
	free(s);
	gw_send(req, status, GW_PROBLEM, b);
	evbuffer_free(b);
}

/* Send o (reference taken) as JSON with status. */
static void
gw_api_json(struct evhttp_request *req, int status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	struct evbuffer *b = evbuffer_new();

	json_decref(o);
	if (s == NULL) {
		evbuffer_free(b);
		gw_api_problem(req, 500, "the answer could not be encoded", NULL);
		return;
	}
	evbuffer_add(b, s, strlen(s));
	free(s);
	gw_send(req, status, GW_JSON, b);
	evbuffer_free(b);
}

/* A refused call to callcentred as a problem. */
static void
gw_api_fail(struct gw_api *a, json_t *reply, const char *why)
{
	json_t *e = json_object_get(reply, "error");
	const char *code = reply ? json_string_value(json_object_get(e, "code")) : "unavailable";
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *field = json_string_value(json_object_get(e, "field"));

	if (code == NULL)
		code = "internal";
	if (msg == NULL)
		msg = why ? why : "callcentred refused the request";
	if (strcmp(code, "bad_request") == 0) {
		json_t *errors = NULL;
		if (field != NULL) {
			struct gw_field_error fe = {field, GW_PROBLEM_INVALID};
			const char *text = page_problem_text(GW_LANG_EN, &fe);
			/* a field the form does not know: callcentred's own words */
			if (strcmp(text, page_problem_text(GW_LANG_EN,
			                                   &(struct gw_field_error){
			                                       "-", GW_PROBLEM_INVALID})) == 0)
				text = msg;
			errors = json_pack("[{s:s, s:s}]", "field", field, "message", text);
		}
		gw_api_problem(a->req, 400, msg, errors);
	} else if (strcmp(code, "not_found") == 0) {
		gw_api_problem(a->req, 404, msg, NULL);
	} else if (strcmp(code, "conflict") == 0) {
		gw_api_problem(a->req, 409, msg, NULL);
	} else if (strcmp(code, "rate_limited") == 0) {
		json_int_t ra = json_integer_value(json_object_get(e, "retry_after"));
		gw_retry_after(a->req, ra > 0 && ra < 86400 ? (int)ra : 60);
		gw_api_problem(a->req, 429, msg, NULL);
	} else if (strcmp(code, "unavailable") == 0) {
		log_warn("api", "peer=%s %s", gw_peer(a->req), msg);
		gw_retry_after(a->req, gw_upstream_retry_after(a->gw->up));
		gw_api_problem(a->req, 503, "the service is unavailable; try again later", NULL);
	} else if (a->kind == API_COMPLAINT) {
		/* a transient failure (a deadlock, a lock timeout): worth a retry
		 * with the same Idempotency-Key */
		log_error("api", "peer=%s callcentred answered %s: %s", gw_peer(a->req), code, msg);
		gw_retry_after(a->req, gw_upstream_retry_after(a->gw->up));
		gw_api_problem(a->req, 503, "the complaint could not be filed now; try again later",
		               NULL);
	} else {
		log_error("api", "peer=%s callcentred answered %s: %s", gw_peer(a->req), code, msg);
		gw_api_problem(a->req, 500, "an internal error occurred", NULL);
	}
}

/* The reply without its envelope (id, ok). */
static json_t *
gw_api_body(json_t *reply)
{
	json_t *o = json_deep_copy(reply);

	json_object_del(o, "id");
	json_object_del(o, "ok");
	return o;
}

static void
gw_api_reply_cb(json_t *reply, const char *err, void *arg)
{
	struct gw_api *a = arg;

	if (reply == NULL || !json_is_true(json_object_get(reply, "ok"))) {
		gw_api_fail(a, reply, err);
		free(a);
		return;
	}
	switch (a->kind) {
	case API_COMPLAINT: {
		json_t *t = json_object_get(reply, "ticket");
		const char *ref = json_string_value(json_object_get(t, "ref"));
		const char *token = json_string_value(json_object_get(reply, "token"));
		int dup = json_is_true(json_object_get(reply, "duplicate"));
		char url[256];
		if (ref == NULL || token == NULL || strlen(ref) > 40 || strlen(token) > 128 ||
		    strspn(ref, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != strlen(ref)) {
			log_error("api", "complaint.file answered without a usable ref or token");
			gw_api_problem(a->req, 500, "an internal error occurred", NULL);
			break;
		}
		snprintf(url, sizeof url, "/api/v1/tickets/%s", ref);
		evhttp_add_header(evhttp_request_get_output_headers(a->req), "Location", url);
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:O?, s:O?, s:b}", "ref", ref, "token",
		              token, "status_url", url, "state", json_object_get(t, "state"),
		              "created_at", json_object_get(t, "created_at"), "first_response_due",
		              json_object_get(t, "first_response_due"), "resolution_due",
		              json_object_get(t, "resolution_due"), "duplicate", dup);
		if (o == NULL) {
			gw_api_problem(a->req, 500, "an internal error occurred", NULL);
			break;
		}
		/* the customer's own page, for the shop to send on */
		snprintf(url, sizeof url, "/status/%s?token=%s", ref, token);
		json_object_set_new(o, "status_page", json_string(url));
		log_info("api", "peer=%s complaint %s%s", gw_peer(a->req), ref,
		         dup ? " (again)" : "");
		if (!dup) {
			gw_limit_charge(a->gw->ip_complaints, a->peer_key, gw_now_ms());
			gw_limit_charge(a->gw->contact_complaints, a->contact_key, gw_now_ms());
		}
		gw_api_json(a->req, dup ? 200 : 201, o);
		break;
	}
	case API_CSAT:
		gw_api_json(a->req, 201, gw_api_body(reply));
		break;
	case API_ORDER:
		gw_api_json(a->req, json_is_true(json_object_get(reply, "created")) ? 201 : 200,
		            gw_api_body(reply));
		break;
	case API_TICKET:
	case API_CALL:
	case API_ESTIMATE:
		gw_api_json(a->req, 200, gw_api_body(reply));
		break;
	}
	free(a);
}

/* Send r (reference taken) for a request of kind; a complaint's limits
 * are charged under peer_key and contact_key once it is filed. */
static void
gw_api_call_charged(struct gw *gw, struct evhttp_request *req, enum gw_api_kind kind, json_t *r,
                    const char *peer_key, const char *contact_key)
{
	struct gw_api *a = calloc(1, sizeof *a);

	if (a == NULL || r == NULL) {
		free(a);
		json_decref(r);
		gw_api_problem(req, 500, "an internal error occurred", NULL);
		return;
	}
	a->gw = gw;
	a->req = req;
	a->kind = kind;
	snprintf(a->peer_key, sizeof a->peer_key, "%s", peer_key ? peer_key : "");
	snprintf(a->contact_key, sizeof a->contact_key, "%s", contact_key ? contact_key : "");
	if (gw_upstream_call(gw->up, r, gw_api_reply_cb, a) != 0) {
		json_decref(r);
		gw_api_fail(a, NULL, "no connection to callcentred");
		free(a);
		return;
	}
	json_decref(r);
}

/* Send r (reference taken) for a request of kind. */
static void
gw_api_call(struct gw *gw, struct evhttp_request *req, enum gw_api_kind kind, json_t *r)
{
	gw_api_call_charged(gw, req, kind, r, NULL, NULL);
}

/* The JSON object in the body, or NULL after answering 400/415. */
static json_t *
gw_api_read_json(struct evhttp_request *req)
{
	const char *type =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	json_error_t jerr;
	size_t len;
	char detail[300];

	if (type == NULL || strncmp(type, "application/json", 16) != 0 ||
	    (type[16] != '\0' && type[16] != ';' && type[16] != ' ')) {
		gw_api_problem(req, 415, "send the body as application/json", NULL);
		return NULL;
	}
	char *body = gw_body(req, &len);
	if (body == NULL) {
		gw_api_problem(req, 400, "the body holds a NUL byte", NULL);
		return NULL;
	}
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	free(body);
	if (o == NULL || !json_is_object(o)) {
		if (o == NULL)
			snprintf(detail, sizeof detail, "the body is not JSON: %s (at byte %d)",
			         jerr.text, jerr.position);
		else
			snprintf(detail, sizeof detail, "the body must be a JSON object");
		json_decref(o);
		gw_api_problem(req, 400, detail, NULL);
		return NULL;
	}
	return o;
}

/* "Authorization: Bearer X": X, or NULL. */
static const char *
gw_api_bearer(struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

/* Is the request's API key known? Else answer 401. */
static int
gw_api_key_ok(struct gw *gw, struct evhttp_request *req)
{
	const char *name = gw_api_keys_match(&gw->keys, gw_api_bearer(req));

	if (name != NULL) {
		log_debug("api", "peer=%s key=%s", gw_peer(req), name);
		return 1;
	}
	log_info("api", "peer=%s missing or unknown API key", gw_peer(req));
	evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
	                  "Bearer realm=\"ccgateway\"");
	gw_api_problem(req, 401, "a valid API key is needed (Authorization: Bearer <key>)", NULL);
	return 0;
}

/* A JSON member as a form value: NULL when absent or null, the string, or
 * a marker no check accepts when it is of another type. */
static const char *
gw_json_getter(void *arg, const char *name)
{
	json_t *v = json_object_get(arg, name);

	if (v == NULL || json_is_null(v))
		return NULL;
	return json_is_string(v) ? json_string_value(v) : gw_not_text;
}

/* POST /api/v1/complaints */
static void
gw_api_complaint(struct gw *gw, struct evhttp_request *req)
{
	static const char *const allowed[] = {"name",     "phone",       "email",      "order",
	                                      "category", "description", "resolution", "urgency",
	                                      "language", NULL};
	struct gw_field_error errs[GW_MAX_FIELD_ERRORS];
	struct gw_form f;
	char key[300];
	json_t *o = gw_api_read_json(req);

	if (o == NULL)
		return;
	json_t *errors = json_array();
	const char *member;
	json_t *value;
	json_object_foreach(o, member, value)
	{
		int known = 0;
		for (int i = 0; allowed[i]; i++)
			known |= strcmp(member, allowed[i]) == 0;
		if (!known && json_array_size(errors) < 10)
			json_array_append_new(errors, json_pack("{s:s, s:s}", "field", member,
			                                        "message", "unknown member"));
	}
	size_t n = gw_form_fill(&f, gw_json_getter, o, errs);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(errors, gw_api_field(errs[i].field, errs[i].problem));
	const char *language = gw_json_getter(o, "language");
	enum gw_lang lang = GW_LANG_ZH;
	if (language != NULL && strcmp(language, "en") == 0)
		lang = GW_LANG_EN;
	else if (language != NULL && strcmp(language, "zh-CN") != 0)
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "language",
		                                        "message", "Choose \"zh-CN\" or \"en\""));
	const char *idem =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
	if (idem != NULL) {
		size_t len = strlen(idem);
		int printable = 1;
		for (size_t i = 0; i < len; i++)
			printable &= idem[i] > 0x20 && idem[i] < 0x7f;
		if (len < 8 || len > 124 || !printable)
			json_array_append_new(
			    errors, json_pack("{s:s, s:s}", "field", "Idempotency-Key", "message",
			                      "Use 8 to 124 printable ASCII characters"));
	}
	json_decref(o);
	if (json_array_size(errors) > 0) {
		gw_api_problem(req, 400, "some fields need attention", errors);
		return;
	}
	json_decref(errors);
	/* checked now, charged once callcentred has filed it (not for an
	 * outage, nor for a replay of an Idempotency-Key) */
	char peer_key[64], contact_key[300];
	gw_addr_key(gw_peer(req), peer_key, sizeof peer_key);
	gw_form_contact_key(&f, contact_key, sizeof contact_key);
	int wait = gw_limit_check(gw->ip_complaints, peer_key, gw_now_ms());
	if (wait == 0)
		wait = gw_limit_check(gw->contact_complaints, contact_key, gw_now_ms());
	if (wait > 0) {
		gw_retry_after(req, wait);
		gw_api_problem(req, 429, "too many complaints; try again later", NULL);
		return;
	}
	if (idem != NULL)
		snprintf(key, sizeof key, "api-%s", idem);
	gw_api_call_charged(gw, req, API_COMPLAINT, gw_form_request(&f, lang, idem ? key : NULL),
	                    peer_key, contact_key);
}

/* The status token: "Authorization: Bearer", else ?token=, else NULL
 * (into buf). */
static const char *
gw_api_token(struct evhttp_request *req, char *buf, size_t size)
{
	const char *h = gw_api_bearer(req);
	char *q;

	if (h != NULL) {
		snprintf(buf, size, "%s", h);
		return buf;
	}
	if ((q = gw_query_param(req, "token")) == NULL)
		return NULL;
	snprintf(buf, size, "%s", q);
	free(q);
	return buf;
}

/* GET /api/v1/tickets/{ref} and POST /api/v1/tickets/{ref}/csat */
static void
gw_api_ticket(struct gw *gw, struct evhttp_request *req, const char *ref, int csat)
{
	char token[160];
	const char *t = gw_api_token(req, token, sizeof token);

	if (!csat) {
		if (t == NULL || t[0] == '\0') {
			gw_api_problem(req, 404, "no complaint with this reference and token",
			               NULL);
			return;
		}
		gw_api_call(
		    gw, req, API_TICKET,
		    json_pack("{s:s, s:s, s:s}", "op", "complaint.status", "ref", ref, "token", t));
		return;
	}
	json_t *o = gw_api_read_json(req);
	if (o == NULL)
		return;
	json_t *score = json_object_get(o, "score");
	json_t *comment = json_object_get(o, "comment");
	json_t *errors = json_array();
	if (t == NULL && json_is_string(json_object_get(o, "token")))
		t = strncpy(token, json_string_value(json_object_get(o, "token")),
		            sizeof token - 1);
	token[sizeof token - 1] = '\0';
	if (!json_is_integer(score) || json_integer_value(score) < 1 ||
	    json_integer_value(score) > 5)
		json_array_append_new(errors, gw_api_field("score", GW_PROBLEM_CHOICE));
	if (comment != NULL && !json_is_null(comment) &&
	    (!json_is_string(comment) || !gw_text_ok(json_string_value(comment), 1000, 1)))
		json_array_append_new(errors, gw_api_field("comment", GW_PROBLEM_INVALID));
	const char *member;
	json_t *value;
	json_object_foreach(o, member, value)
	{
		if (strcmp(member, "score") && strcmp(member, "comment") && strcmp(member, "token"))
			json_array_append_new(errors, json_pack("{s:s, s:s}", "field", member,
			                                        "message", "unknown member"));
	}
	if (json_array_size(errors) > 0) {
		json_decref(o);
		gw_api_problem(req, 400, "some fields need attention", errors);
		return;
	}
	json_decref(errors);
	if (t == NULL || t[0] == '\0') {
		json_decref(o);
		gw_api_problem(req, 404, "no complaint with this reference and token", NULL);
		return;
	}
	json_t *r = json_pack("{s:s, s:s, s:s, s:O}", "op", "complaint.csat", "ref", ref, "token",
	                      t, "score", score);
	if (r != NULL && json_is_string(comment))
		json_object_set(r, "comment", comment);
	json_decref(o);
	gw_api_call(gw, req, API_CSAT, r);
}

/* Copy the members of from named in allowed into to; the others become
 * errors[] entries. */
static void
gw_api_copy(json_t *to, json_t *from, const char *const *allowed, const char *prefix,
            json_t *errors)
{
	const char *member;
	json_t *value;
	char field[160];

	json_object_foreach(from, member, value)
	{
		int known = 0;
		for (int i = 0; allowed[i]; i++)
			known |= strcmp(member, allowed[i]) == 0;
		if (known) {
			json_object_set(to, member, value);
			continue;
		}
		snprintf(field, sizeof field, "%s%s", prefix, member);
		if (json_array_size(errors) < 10)
			json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field,
			                                        "message", "unknown member"));
	}
}

/* POST /api/v1/calls: a phone-system event, mapped to its call op. */
static void
gw_api_calls(struct gw *gw, struct evhttp_request *req)
{
	static const struct {
		const char *event;
		const char *op;
		const char *members[6];
	} events[] = {
	    {"arrive", "call.arrive", {"event", "call_id", "dialled", "caller", "ivr", NULL}},
	    {"answer", "call.answer", {"event", "call_id", NULL}},
	    {"end", "call.end", {"event", "call_id", NULL}},
	    {"abandon", "call.abandon", {"event", "call_id", NULL}},
	    {"callback", "callback.request", {"event", "call_id", "number", NULL}},
	};
	json_t *o = gw_api_read_json(req);

	if (o == NULL)
		return;
	const char *event = json_string_value(json_object_get(o, "event"));
	for (size_t i = 0; event != NULL && i < sizeof events / sizeof events[0]; i++) {
		if (strcmp(event, events[i].event) != 0)
			continue;
		json_t *errors = json_array();
		json_t *r = json_pack("{s:s}", "op", events[i].op);
		gw_api_copy(r, o, events[i].members, "", errors);
		json_object_del(r, "event");
		json_decref(o);
		if (json_array_size(errors) > 0) {
			json_decref(r);
			gw_api_problem(req, 400, "some fields need attention", errors);
			return;
		}
		json_decref(errors);
		gw_api_call(gw, req, API_CALL, r);
		return;
	}
	json_decref(o);
	gw_api_problem(req, 400, "some fields need attention",
	               json_pack("[{s:s, s:s}]", "field", "event", "message",
	                         "Choose one of arrive, answer, end, abandon, callback"));
}

/* POST /api/v1/orders: the shop's order feed. */
static void
gw_api_orders(struct gw *gw, struct evhttp_request *req)
{
	static const char *const top[] = {
	    "order", "customer", "amount_minor", "currency", "ordered_at", "status", NULL};
	static const char *const cust[] = {"member_id", "phone", "email", "name", NULL};
	json_t *o = gw_api_read_json(req);

	if (o == NULL)
		return;
	json_t *errors = json_array();
	json_t *r = json_pack("{s:s}", "op", "order.upsert");
	gw_api_copy(r, o, top, "", errors);
	json_t *c = json_object_get(o, "customer");
	if (json_is_object(c)) {
		json_t *cc = json_object();
		gw_api_copy(cc, c, cust, "customer.", errors);
		json_object_set_new(r, "customer", cc);
	} else if (c != NULL) {
		json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "customer",
		                                        "message", "must be an object"));
	}
	json_decref(o);
	if (json_array_size(errors) > 0) {
		json_decref(r);
		gw_api_problem(req, 400, "some fields need attention", errors);
		return;
	}
	json_decref(errors);
	gw_api_call(gw, req, API_ORDER, r);
}

/* Is s a reference, or a queue code ([a-z0-9_-], 1-64)? */
static int
gw_api_segment_ok(const char *s, size_t n, const char *chars)
{
	return n >= 1 && n <= 64 && strspn(s, chars) >= n;
}

static const char gw_ref_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
static const char gw_queue_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";

/* Is the method m, else answer 405 with Allow? */
static int
gw_api_method(struct evhttp_request *req, enum evhttp_cmd_type m, const char *allow)
{
	if (evhttp_request_get_command(req) == m)
		return 1;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	gw_api_problem(req, 405, "this method is not allowed here", NULL);
	return 0;
}

void
gw_api_dispatch(struct gw *gw, struct evhttp_request *req, const char *path)
{
	char seg[80];

	if (strcmp(path, "/api/v1/complaints") == 0) {
		if (gw_api_method(req, EVHTTP_REQ_POST, "POST"))
			gw_api_complaint(gw, req);
		return;
	}
	if (strncmp(path, "/api/v1/tickets/", 16) == 0) {
		const char *r = path + 16;
		size_t n = strcspn(r, "/");
		if (gw_api_segment_ok(r, n, gw_ref_chars) && n < 40 &&
		    (r[n] == '\0' || strcmp(r + n, "/csat") == 0)) {
			int csat = r[n] != '\0';
			snprintf(seg, sizeof seg, "%.*s", (int)n, r);
			if (gw_api_method(req, csat ? EVHTTP_REQ_POST : EVHTTP_REQ_GET,
			                  csat ? "POST" : "GET"))
				gw_api_ticket(gw, req, seg, csat);
			return;
		}
	}
	if (strcmp(path, "/api/v1/calls") == 0) {
		if (gw_api_method(req, EVHTTP_REQ_POST, "POST") && gw_api_key_ok(gw, req))
			gw_api_calls(gw, req);
		return;
	}
	if (strcmp(path, "/api/v1/orders") == 0) {
		if (gw_api_method(req, EVHTTP_REQ_POST, "POST") && gw_api_key_ok(gw, req))
			gw_api_orders(gw, req);
		return;
	}
	if (strncmp(path, "/api/v1/queues/", 15) == 0) {
		const char *q = path + 15;
		size_t n = strcspn(q, "/");
		if (gw_api_segment_ok(q, n, gw_queue_chars) && strcmp(q + n, "/estimate") == 0) {
			snprintf(seg, sizeof seg, "%.*s", (int)n, q);
			if (gw_api_method(req, EVHTTP_REQ_GET, "GET") && gw_api_key_ok(gw, req))
				gw_api_call(
				    gw, req, API_ESTIMATE,
				    json_pack("{s:s, s:s}", "op", "queue.estimate", "queue", seg));
			return;
		}
	}
	gw_api_problem(req, 404, "no such endpoint", NULL);
}
