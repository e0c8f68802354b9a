/* web.c: the customer's pages: the complaint form and its post, the
 * confirmation, the status page and the satisfaction rating. Pages are
 * drawn by page.c; this file checks what came in, asks callcentred, and
 * picks the page and status. Whenever a post is refused, the form comes
 * back with what the customer typed. */
#include "gw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"

#define GW_HTML "text/html; charset=utf-8"

enum gw_web_kind { WEB_FILE, WEB_CONFIRM, WEB_STATUS, WEB_CSAT };

/* One page request waiting for callcentred. */
struct gw_web {
	struct gw *gw;
	struct evhttp_request *req;
	enum gw_web_kind kind;
	enum gw_lang lang;
	char ref[40];
	char token[160];
	char nonce[GW_NONCE_LEN + 1]; /* WEB_FILE: the posted form token's */
	char peer_key[64];            /* WEB_FILE: the limits' keys, charged */
	char contact_key[300];        /* once callcentred has filed it */
	struct gw_form form;
};

void
gw_web_error(struct evhttp_request *req, enum gw_lang lang, int status)
{
	struct evbuffer *b = evbuffer_new();

	page_error(b, lang, status);
	gw_send(req, status, GW_HTML, b);
	evbuffer_free(b);
}

/* The form again (or first) with a fresh form token: a new nonce, or the
 * posted one (nonce not NULL) when the post carried a valid token, so
 * that sending the form again names the same submission. */
static void
gw_web_send_form(struct gw *gw, struct evhttp_request *req, enum gw_lang lang, int status,
                 const struct gw_form *f, const struct gw_field_error *errors, size_t nerrors,
                 enum gw_banner banner, const char *nonce)
{
	char token[GW_FORM_TOKEN_MAX];
	struct evbuffer *b = evbuffer_new();

	if (nonce != NULL && nonce[0] != '\0')
		gw_form_token_renew(gw->cfg, gw_now_ms(), nonce, token);
	else
		gw_form_token_make(gw->cfg, gw_now_ms(), token);
	page_form(b, lang, token, f, errors, nerrors, banner);
	gw_send(req, status, GW_HTML, b);
	evbuffer_free(b);
}

void
gw_web_form(struct gw *gw, struct evhttp_request *req, enum gw_lang lang)
{
	gw_web_send_form(gw, req, lang, 200, NULL, NULL, 0, GW_BANNER_NONE, NULL);
}

/* Is s a status token as callcentred makes them (base64url, 16-128)? */
static int
gw_status_token_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 16 && n <= 128 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* The known field names, so that a field named by callcentred can be shown
 * beside its input. */
static const char *
gw_field_name(const char *field)
{
	static const char *const names[] = {"name",     "phone",       "email",      "order",
	                                    "category", "description", "resolution", "urgency",
	                                    "score",    "comment",     NULL};

	for (int i = 0; field && names[i]; i++)
		if (strcmp(field, names[i]) == 0)
			return names[i];
	return NULL;
}

/* Answer a page request whose call to callcentred failed: no answer (503),
 * or an error reply mapped to a status. The complaint form comes back
 * with what was typed, and with the posted token's nonce; an error the
 * customer cannot fix (internal, conflict: a deadlock, a lock timeout) is
 * a 503 for a complaint too, never a page that drops the text. */
static void
gw_web_fail(struct gw_web *w, json_t *reply, const char *why)
{
	json_t *e = json_object_get(reply, "error");
	const char *code = reply ? json_string_value(json_object_get(e, "code")) : "unavailable";
	const char *msg = json_string_value(json_object_get(e, "message"));
	int status;
	enum gw_banner banner = GW_BANNER_NONE;
	struct gw_field_error fe;
	size_t nfe = 0;

	if (code == NULL)
		code = "internal";
	if (w->kind == WEB_CSAT && strcmp(code, "conflict") == 0) {
		/* rated already, or not resolved yet: the status page says which */
		char url[256];
		snprintf(url, sizeof url, "/status/%s?token=%s", w->ref, w->token);
		evhttp_add_header(evhttp_request_get_output_headers(w->req), "Location", url);
		gw_send(w->req, 303, GW_HTML, NULL);
		return;
	}
	if (strcmp(code, "unavailable") == 0) {
		status = 503;
		banner = GW_BANNER_UNAVAILABLE;
		gw_retry_after(w->req, gw_upstream_retry_after(w->gw->up));
		log_warn("web", "peer=%s %s", gw_peer(w->req),
		         why   ? why
		         : msg ? msg
		               : "unavailable");
	} else if (strcmp(code, "rate_limited") == 0) {
		status = 429;
		banner = GW_BANNER_RATE_LIMITED;
		json_int_t ra = json_integer_value(json_object_get(e, "retry_after"));
		gw_retry_after(w->req, ra > 0 && ra < 86400 ? (int)ra : 60);
	} else if (strcmp(code, "not_found") == 0) {
		status = 404;
	} else if (strcmp(code, "bad_request") == 0) {
		status = 400;
		banner = GW_BANNER_INVALID;
		fe.field = gw_field_name(json_string_value(json_object_get(e, "field")));
		fe.problem = GW_PROBLEM_INVALID;
		nfe = fe.field != NULL;
	} else if (w->kind == WEB_FILE) {
		status = 503;
		banner = GW_BANNER_UNAVAILABLE;
		gw_retry_after(w->req, gw_upstream_retry_after(w->gw->up));
		log_error("web", "peer=%s callcentred answered %s: %s; the form is kept",
		          gw_peer(w->req), code, msg ? msg : "?");
	} else {
		status = 500;
		log_error("web", "peer=%s callcentred answered %s: %s", gw_peer(w->req), code,
		          msg ? msg : "?");
	}
	if (w->kind == WEB_FILE && status != 404 && status != 500)
		gw_web_send_form(w->gw, w->req, w->lang, status, &w->form, &fe, nfe, banner,
		                 w->nonce);
	else
		gw_web_error(w->req, w->lang, status);
}

/* A status link for w: "/status/<ref>?token=<token>". */
static void
gw_web_status_url(const struct gw_web *w, char *out, size_t len)
{
	snprintf(out, len, "/status/%s?token=%s", w->ref, w->token);
}

/* int64 member of a JSON object, INT64_MIN when null or absent. */
static int64_t
gw_ms(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : INT64_MIN;
}

/* callcentred's answer for a page. */
static void
gw_web_reply_cb(json_t *reply, const char *err, void *arg)
{
	struct gw_web *w = arg;
	char url[256];

	if (reply == NULL || !json_is_true(json_object_get(reply, "ok"))) {
		gw_web_fail(w, reply, err);
		free(w);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	switch (w->kind) {
	case WEB_FILE: {
		json_t *t = json_object_get(reply, "ticket");
		const char *ref = json_string_value(json_object_get(t, "ref"));
		const char *token = json_string_value(json_object_get(reply, "token"));
		if (ref == NULL || token == NULL || strlen(ref) >= sizeof w->ref ||
		    strspn(ref, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != strlen(ref) ||
		    !gw_status_token_ok(token)) {
			log_error("web", "complaint.file answered without a usable ref or token");
			gw_web_error(w->req, w->lang, 500);
			break;
		}
		int dup = json_is_true(json_object_get(reply, "duplicate"));
		log_info("web", "peer=%s complaint %s%s", gw_peer(w->req), ref,
		         dup ? " (again)" : "");
		if (!dup) {
			gw_limit_charge(w->gw->ip_complaints, w->peer_key, gw_now_ms());
			gw_limit_charge(w->gw->contact_complaints, w->contact_key, gw_now_ms());
		}
		snprintf(url, sizeof url, "/confirm/%s?token=%s", ref, token);
		evhttp_add_header(evhttp_request_get_output_headers(w->req), "Location", url);
		gw_send(w->req, 303, GW_HTML, b);
		break;
	}
	case WEB_CONFIRM: {
		json_t *c = json_object_get(reply, "complaint");
		gw_web_status_url(w, url, sizeof url);
		page_confirm(b, w->lang, w->ref, url,
		             gw_ms(json_object_get(c, "first_response"), "due_at"),
		             gw_ms(json_object_get(c, "resolution_clock"), "due_at"), gw_now_ms());
		gw_send(w->req, 200, GW_HTML, b);
		break;
	}
	case WEB_STATUS: {
		char form_token[GW_FORM_TOKEN_MAX];
		gw_form_token_make(w->gw->cfg, gw_now_ms(), form_token);
		page_status(b, w->lang, json_object_get(reply, "complaint"), w->token, form_token,
		            gw_now_ms());
		gw_send(w->req, 200, GW_HTML, b);
		break;
	}
	case WEB_CSAT:
		gw_web_status_url(w, url, sizeof url);
		page_csat_thanks(b, w->lang, url);
		gw_send(w->req, 200, GW_HTML, b);
		break;
	}
	evbuffer_free(b);
	free(w);
}

/* Send req for w; when no connection is up, answer 503 at once. Takes req. */
static void
gw_web_call(struct gw_web *w, json_t *req)
{
	if (req == NULL || gw_upstream_call(w->gw->up, req, gw_web_reply_cb, w) != 0) {
		json_decref(req);
		gw_web_fail(w, NULL, "no connection to callcentred");
		free(w);
		return;
	}
	json_decref(req);
}

static struct gw_web *
gw_web_new(struct gw *gw, struct evhttp_request *req, enum gw_web_kind kind, enum gw_lang lang,
           const char *ref)
{
	struct gw_web *w = calloc(1, sizeof *w);

	if (w == NULL) {
		gw_web_error(req, lang, 500);
		return NULL;
	}
	w->gw = gw;
	w->req = req;
	w->kind = kind;
	w->lang = lang;
	if (ref != NULL)
		snprintf(w->ref, sizeof w->ref, "%s", ref);
	return w;
}

static const char *
gw_kvs_getter(void *arg, const char *name)
{
	return gw_kvs_get(arg, name);
}

void
gw_web_complaint(struct gw *gw, struct evhttp_request *req, enum gw_lang lang)
{
	struct gw_field_error errors[GW_MAX_FIELD_ERRORS];
	struct gw_kvs kv;
	char nonce[GW_NONCE_LEN + 1], key[300];
	size_t len;
	char *body = gw_body(req, &len);

	if (body == NULL || gw_kvs_parse(&kv, body, len) != 0) {
		free(body);
		gw_web_error(req, lang, 400);
		return;
	}
	free(body);
	int cross = !gw_same_origin(req);
	const char *website = gw_kvs_get(&kv, "website");
	if (website != NULL && website[0] != '\0') {
		log_info("web", "peer=%s honeypot filled; refused", gw_peer(req));
		gw_kvs_free(&kv);
		gw_web_error(req, lang, 400);
		return;
	}
	struct gw_web *w = gw_web_new(gw, req, WEB_FILE, lang, NULL);
	if (w == NULL) {
		gw_kvs_free(&kv);
		return;
	}
	size_t nerr = gw_form_fill(&w->form, gw_kvs_getter, &kv, errors);
	enum gw_token_check tc =
	    gw_form_token_check(gw->cfg, gw_kvs_get(&kv, "form_token"), gw_now_ms(), nonce);
	gw_kvs_free(&kv);
	if (cross) {
		/* another site's page posted this from the customer's browser */
		log_info("web", "peer=%s cross-site form post refused", gw_peer(req));
		gw_web_send_form(gw, req, lang, 403, &w->form, errors, nerr, GW_BANNER_EXPIRED,
		                 NULL);
		free(w);
		return;
	}
	if (tc != GW_TOKEN_OK) {
		log_info("web", "peer=%s form token %s", gw_peer(req),
		         tc == GW_TOKEN_EXPIRED ? "expired" : "forged or missing");
		gw_web_send_form(gw, req, lang, 403, &w->form, errors, nerr, GW_BANNER_EXPIRED,
		                 NULL);
		free(w);
		return;
	}
	snprintf(w->nonce, sizeof w->nonce, "%s", nonce);
	if (nerr > 0) {
		gw_web_send_form(gw, req, lang, 400, &w->form, errors, nerr, GW_BANNER_INVALID,
		                 w->nonce);
		free(w);
		return;
	}
	/* checked now, charged once callcentred has filed the complaint: an
	 * outage, a retry or a double submit costs the customer nothing */
	gw_addr_key(gw_peer(req), w->peer_key, sizeof w->peer_key);
	gw_form_contact_key(&w->form, w->contact_key, sizeof w->contact_key);
	int wait = gw_limit_check(gw->ip_complaints, w->peer_key, gw_now_ms());
	if (wait == 0)
		wait = gw_limit_check(gw->contact_complaints, w->contact_key, gw_now_ms());
	if (wait > 0) {
		log_info("web", "peer=%s complaints rate limited", gw_peer(req));
		gw_retry_after(req, wait);
		gw_web_send_form(gw, req, lang, 429, &w->form, NULL, 0, GW_BANNER_RATE_LIMITED,
		                 w->nonce);
		free(w);
		return;
	}
	snprintf(key, sizeof key, "form-%s", nonce);
	gw_web_call(w, gw_form_request(&w->form, lang, key));
}

/* The ticket reference and its token from ?token=: the status request, or
 * NULL after answering 404. */
static json_t *
gw_web_status_request(struct gw_web *w, const char *op)
{
	char *token = gw_query_param(w->req, "token");

	if (!gw_status_token_ok(token)) {
		free(token);
		return NULL;
	}
	snprintf(w->token, sizeof w->token, "%s", token);
	free(token);
	return json_pack("{s:s, s:s, s:s}", "op", op, "ref", w->ref, "token", w->token);
}

void
gw_web_confirm(struct gw *gw, struct evhttp_request *req, enum gw_lang lang, const char *ref)
{
	struct gw_web *w = gw_web_new(gw, req, WEB_CONFIRM, lang, ref);
	json_t *r;

	if (w == NULL)
		return;
	if ((r = gw_web_status_request(w, "complaint.status")) == NULL) {
		gw_web_error(req, lang, 404);
		free(w);
		return;
	}
	gw_web_call(w, r);
}

void
gw_web_status(struct gw *gw, struct evhttp_request *req, enum gw_lang lang, const char *ref)
{
	struct gw_web *w = gw_web_new(gw, req, WEB_STATUS, lang, ref);
	json_t *r;

	if (w == NULL)
		return;
	if ((r = gw_web_status_request(w, "complaint.status")) == NULL) {
		gw_web_error(req, lang, 404);
		free(w);
		return;
	}
	gw_web_call(w, r);
}

void
gw_web_csat(struct gw *gw, struct evhttp_request *req, enum gw_lang lang, const char *ref)
{
	struct gw_kvs kv;
	char nonce[GW_NONCE_LEN + 1];
	size_t len;
	char *body = gw_body(req, &len);

	if (body == NULL || gw_kvs_parse(&kv, body, len) != 0) {
		free(body);
		gw_web_error(req, lang, 400);
		return;
	}
	free(body);
	const char *token = gw_kvs_get(&kv, "token");
	const char *score = gw_kvs_get(&kv, "score");
	const char *comment = gw_kvs_get(&kv, "comment");
	int status = 0;
	if (!gw_same_origin(req)) {
		log_info("web", "peer=%s cross-site rating post refused", gw_peer(req));
		status = 403;
	} else if (gw_form_token_check(gw->cfg, gw_kvs_get(&kv, "form_token"), gw_now_ms(),
	                               nonce) != GW_TOKEN_OK)
		status = 403;
	else if (!gw_status_token_ok(token))
		status = 404;
	else if (score == NULL || strlen(score) != 1 || score[0] < '1' || score[0] > '5' ||
	         (comment != NULL && comment[0] != '\0' && !gw_text_ok(comment, 1000, 1)))
		status = 400;
	if (status != 0) {
		gw_kvs_free(&kv);
		gw_web_error(req, lang, status);
		return;
	}
	struct gw_web *w = gw_web_new(gw, req, WEB_CSAT, lang, ref);
	if (w == NULL) {
		gw_kvs_free(&kv);
		return;
	}
	snprintf(w->token, sizeof w->token, "%s", token);
	json_t *r = json_pack("{s:s, s:s, s:s, s:i}", "op", "complaint.csat", "ref", ref, "token",
	                      token, "score", score[0] - '0');
	if (r != NULL && comment != NULL && comment[0] != '\0')
		json_object_set_new(r, "comment", json_string(comment));
	gw_kvs_free(&kv);
	gw_web_call(w, r);
}
