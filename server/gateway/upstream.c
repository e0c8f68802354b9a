/* upstream.c: a small pool of TLS connections to callcentred, each logged
 * in as the gateway's service account, speaking the JSON-lines protocol
 * (docs/PROTOCOL.md). A call goes out on the least busy logged-in
 * connection (equals in rotation) with a fresh id and a timer; the reply
 * (matched by id), the timer or the loss of the connection ends it,
 * exactly once. A call that times out closes its connection: a stalled
 * connection would otherwise keep taking calls it never answers, and late
 * replies could no longer be trusted. A lost
 * connection comes back with exponential backoff; while none is logged in,
 * callers are told at once (gw_upstream_call returns -1) so that the client
 * gets 503 with Retry-After rather than a wait. */
#include "gw.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "log.h"
#include "proto.h"
#include "tls.h"

#define GW_UP_BACKOFF_MIN_MS 200
#define GW_UP_KEEPALIVE_S    30

enum gw_uconn_state { UCONN_DOWN, UCONN_CONNECTING, UCONN_LOGIN, UCONN_READY };
static const char *const gw_uconn_state_names[] = {"down", "connecting", "login", "ready"};

struct gw_pending {
	json_int_t id;
	gw_upstream_cb cb;
	void *arg;
	struct event *timer;
	struct gw_uconn *conn;
	TAILQ_ENTRY(gw_pending) entry;
};
TAILQ_HEAD(gw_pending_list, gw_pending);

struct gw_uconn {
	struct gw_upstream *up;
	int index;
	enum gw_uconn_state state;
	struct bufferevent *bev;
	struct event *retry;
	int backoff_ms;
	json_int_t login_id;
	int inflight;
	struct gw_pending_list pending;
};

struct gw_upstream {
	struct event_base *base;
	const struct gw_config *cfg;
	SSL_CTX *ctx;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	json_int_t next_id;
	struct event *keepalive;
	int last;    /* the connection chosen last */
	int started; /* connections opened so far (they open one at a time) */
	int n;
	struct gw_uconn conns[];
};

static void gw_uconn_connect(struct gw_uconn *c);

/* Move c to state, logging the change. */
static void
gw_uconn_set_state(struct gw_uconn *c, enum gw_uconn_state state, const char *why)
{
	if (c->state == state)
		return;
	log_debug("upstream", "conn=%d state=%s->%s why=\"%s\"", c->index,
	          gw_uconn_state_names[c->state], gw_uconn_state_names[state], why);
	c->state = state;
}

/* End one call: unlink it, stop its timer, tell the caller. */
static void
gw_pending_finish(struct gw_pending *p, json_t *reply, const char *err)
{
	TAILQ_REMOVE(&p->conn->pending, p, entry);
	p->conn->inflight--;
	event_free(p->timer);
	gw_upstream_cb cb = p->cb;
	void *arg = p->arg;
	free(p);
	cb(reply, err, arg);
}

/* Close c for why, fail its calls, and plan the next attempt. */
static void
gw_uconn_close(struct gw_uconn *c, const char *why)
{
	struct gw_pending *p;

	if (c->state == UCONN_READY)
		log_warn("upstream", "conn=%d lost: %s", c->index, why);
	else
		log_warn("upstream", "conn=%d connect failed: %s; retry in %d ms", c->index, why,
		         c->backoff_ms);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	gw_uconn_set_state(c, UCONN_DOWN, why);
	while ((p = TAILQ_FIRST(&c->pending)) != NULL)
		gw_pending_finish(p, NULL, "connection to callcentred lost");
	struct timeval tv = {c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000};
	evtimer_add(c->retry, &tv);
	c->backoff_ms *= 2;
	if (c->backoff_ms > c->up->cfg->upstream_reconnect_max * 1000)
		c->backoff_ms = c->up->cfg->upstream_reconnect_max * 1000;
}

/* Send msg on c. */
static int
gw_uconn_send(struct gw_uconn *c, const json_t *msg)
{
	size_t len;
	char *line = proto_encode(msg, &len);
	int rc;

	if (line == NULL)
		return -1;
	rc = bufferevent_write(c->bev, line, len);
	free(line);
	return rc;
}

/* The login reply: ready, or close and retry later. */
static void
gw_uconn_login_reply(struct gw_uconn *c, json_t *msg)
{
	if (json_is_true(json_object_get(msg, "ok"))) {
		c->backoff_ms = GW_UP_BACKOFF_MIN_MS;
		/* logged in: reads have no deadline now, each call has its timer */
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		gw_uconn_set_state(c, UCONN_READY, "logged in");
		log_info("upstream", "conn=%d ready user=%s", c->index, c->up->cfg->upstream_user);
		/* the pool opens one connection at a time: logins in progress at
		 * once count against the account's login limit in callcentred,
		 * as parallel password guesses would */
		if (c->up->started < c->up->n)
			gw_uconn_connect(&c->up->conns[c->up->started++]);
		return;
	}
	json_t *e = json_object_get(msg, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *text = json_string_value(json_object_get(e, "message"));
	char why[300];
	snprintf(why, sizeof why, "login refused: %s: %s", code ? code : "?", text ? text : "?");
	json_int_t ra = json_integer_value(json_object_get(e, "retry_after"));
	if (ra > 0 && ra * 1000 > c->backoff_ms)
		c->backoff_ms = ra * 1000 > 300000 ? 300000 : (int)(ra * 1000);
	gw_uconn_close(c, why);
}

/* One line from callcentred. */
static void
gw_uconn_line(struct gw_uconn *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg;
	struct gw_pending *p;

	if (len == 0)
		return;
	if ((msg = json_loadb(line, len, 0, &jerr)) == NULL || !json_is_object(msg)) {
		json_decref(msg);
		gw_uconn_close(c, "callcentred sent a line that is not a JSON object");
		return;
	}
	json_t *event = json_object_get(msg, "event");
	if (json_is_string(event)) {
		const char *reason = json_string_value(json_object_get(msg, "reason"));
		if (strcmp(json_string_value(event), "closing") == 0)
			log_info("upstream", "conn=%d closing by callcentred: %s", c->index,
			         reason ? reason : "?");
		json_decref(msg);
		return;
	}
	json_int_t id = json_integer_value(json_object_get(msg, "id"));
	if (c->state == UCONN_LOGIN && id == c->login_id) {
		gw_uconn_login_reply(c, msg);
		json_decref(msg);
		return;
	}
	TAILQ_FOREACH(p, &c->pending, entry)
	if (p->id == id)
		break;
	if (p != NULL)
		gw_pending_finish(p, msg, NULL);
	else
		log_debug("upstream", "conn=%d reply id=%lld after its timeout", c->index,
		          (long long)id);
	json_decref(msg);
}

static void
gw_uconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct gw_uconn *c = arg;
	char *line;
	size_t len;

	for (;;) {
		enum line_status st =
		    line_next(bufferevent_get_input(bev), PROTO_MAX_LINE, &line, &len);
		if (st == LINE_MORE)
			return;
		if (st == LINE_TOO_LONG) {
			gw_uconn_close(c, "callcentred sent an over-long line");
			return;
		}
		gw_uconn_line(c, line, len);
		free(line);
		if (c->bev != bev) /* closed while handling the line */
			return;
	}
}

static void
gw_uconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct gw_uconn *c = arg;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		tls_nodelay(bufferevent_getfd(bev));
		gw_uconn_set_state(c, UCONN_LOGIN, "TLS up");
		c->login_id = ++c->up->next_id;
		json_t *login = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)c->login_id,
		                          "op", "login", "user", c->up->cfg->upstream_user,
		                          "password", c->up->cfg->upstream_password);
		if (login == NULL || gw_uconn_send(c, login) != 0) {
			json_decref(login);
			gw_uconn_close(c, "cannot send the login");
			return;
		}
		json_decref(login);
		/* the login has this long to succeed */
		struct timeval tv = {c->up->cfg->upstream_request_timeout, 0};
		bufferevent_set_timeouts(bev, &tv, NULL);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof why, "timed out (%s)",
		         c->state == UCONN_CONNECTING ? "connect" : "login");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof why, "closed by callcentred");
	else {
		unsigned long e = bufferevent_get_openssl_error(bev);
		if (e != 0) {
			char buf[200];
			ERR_error_string_n(e, buf, sizeof buf);
			snprintf(why, sizeof why, "TLS: %s", buf);
		} else
			snprintf(why, sizeof why, "socket error: %s",
			         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	gw_uconn_close(c, why);
}

static void
gw_uconn_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gw_uconn_connect(arg);
}

/* Start a connection attempt. */
static void
gw_uconn_connect(struct gw_uconn *c)
{
	struct gw_upstream *u = c->up;
	SSL *ssl = SSL_new(u->ctx);

	if (ssl == NULL || tls_client_set_host(ssl, u->cfg->upstream_server_name) != 0) {
		SSL_free(ssl);
		gw_uconn_close(c, "cannot set up TLS");
		return;
	}
	c->bev = bufferevent_openssl_socket_new(u->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		SSL_free(ssl);
		gw_uconn_close(c, "out of memory");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, gw_uconn_read_cb, NULL, gw_uconn_event_cb, c);
	struct timeval tv = {u->cfg->upstream_request_timeout, 0};
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	gw_uconn_set_state(c, UCONN_CONNECTING, "connect");
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&u->addr, (int)u->addrlen) != 0)
		gw_uconn_close(c, "connect failed");
}

/* Every GW_UP_KEEPALIVE_S: a blank line on each idle logged-in connection,
 * so callcentred's idle timeout does not close the pool. */
static void
gw_upstream_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_upstream *u = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < u->n; i++) {
		if (u->conns[i].state == UCONN_READY)
			bufferevent_write(u->conns[i].bev, "\n", 1);
	}
}

struct gw_upstream *
gw_upstream_new(struct event_base *base, const struct gw_config *cfg, SSL_CTX *ctx)
{
	struct addrinfo hints = {0}, *res = NULL;
	char port[8];
	int n = cfg->upstream_connections;
	struct gw_upstream *u = calloc(1, sizeof *u + (size_t)n * sizeof u->conns[0]);

	if (u == NULL)
		return NULL;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%d", cfg->upstream_port);
	int rc = getaddrinfo(cfg->upstream_host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		log_error("upstream", "host %s: %s", cfg->upstream_host, gai_strerror(rc));
		free(u);
		return NULL;
	}
	memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
	u->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	u->base = base;
	u->cfg = cfg;
	u->ctx = ctx;
	u->n = n;
	for (int i = 0; i < n; i++) {
		struct gw_uconn *c = &u->conns[i];
		c->up = u;
		c->index = i;
		c->backoff_ms = GW_UP_BACKOFF_MIN_MS;
		TAILQ_INIT(&c->pending);
		c->retry = evtimer_new(base, gw_uconn_retry_cb, c);
	}
	u->started = 1;
	gw_uconn_connect(&u->conns[0]); /* the others follow as each logs in */
	u->keepalive = event_new(base, -1, EV_PERSIST, gw_upstream_keepalive_cb, u);
	struct timeval tv = {GW_UP_KEEPALIVE_S, 0};
	event_add(u->keepalive, &tv);
	return u;
}

void
gw_upstream_fail_all(struct gw_upstream *u, const char *why)
{
	for (int i = 0; i < u->n; i++) {
		struct gw_pending *p;
		while ((p = TAILQ_FIRST(&u->conns[i].pending)) != NULL)
			gw_pending_finish(p, NULL, why);
	}
}

void
gw_upstream_free(struct gw_upstream *u)
{
	if (u == NULL)
		return;
	gw_upstream_fail_all(u, "shutting down");
	for (int i = 0; i < u->n; i++) {
		if (u->conns[i].bev != NULL)
			bufferevent_free(u->conns[i].bev);
		event_free(u->conns[i].retry);
	}
	event_free(u->keepalive);
	free(u);
}

int
gw_upstream_ready(const struct gw_upstream *u)
{
	for (int i = 0; i < u->n; i++)
		if (u->conns[i].state == UCONN_READY)
			return 1;
	return 0;
}

int
gw_upstream_retry_after(const struct gw_upstream *u)
{
	int ms = u->cfg->upstream_reconnect_max * 1000;

	for (int i = 0; i < u->n; i++)
		if (u->conns[i].backoff_ms < ms)
			ms = u->conns[i].backoff_ms;
	return ms < 1000 ? 1 : (ms + 999) / 1000;
}

static void
gw_pending_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_pending *p = arg;

	(void)fd;
	(void)what;
	struct gw_uconn *c = p->conn;

	log_warn("upstream", "conn=%d call id=%lld timed out", c->index, (long long)p->id);
	gw_pending_finish(p, NULL, "callcentred did not answer in time");
	/* a connection that let a call time out is stalled or its replies
	 * are late: neither can be trusted with the next call */
	if (c->state == UCONN_READY)
		gw_uconn_close(c, "a call timed out");
}

int
gw_upstream_call(struct gw_upstream *u, json_t *req, gw_upstream_cb cb, void *arg)
{
	struct gw_uconn *best = NULL;
	struct gw_pending *p;

	/* the fewest calls in flight; among equals, the next after the last
	 * one chosen, so that the pool shares the load */
	for (int k = 1; k <= u->n; k++) {
		struct gw_uconn *c = &u->conns[(u->last + k) % u->n];
		if (c->state == UCONN_READY && (best == NULL || c->inflight < best->inflight))
			best = c;
	}
	if (best == NULL || (p = calloc(1, sizeof *p)) == NULL)
		return -1;
	p->id = ++u->next_id;
	p->cb = cb;
	p->arg = arg;
	p->conn = best;
	json_object_set_new(req, "id", json_integer(p->id));
	if (gw_uconn_send(best, req) != 0) {
		free(p);
		return -1;
	}
	p->timer = evtimer_new(u->base, gw_pending_timeout_cb, p);
	struct timeval tv = {u->cfg->upstream_request_timeout, 0};
	evtimer_add(p->timer, &tv);
	TAILQ_INSERT_TAIL(&best->pending, p, entry);
	best->inflight++;
	u->last = best->index;
	log_debug("upstream", "conn=%d call id=%lld op=%s", best->index, (long long)p->id,
	          json_string_value(json_object_get(req, "op")));
	return 0;
}
