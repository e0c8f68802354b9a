/* http.c: the HTTPS listener (libevent's evhttp over bufferevent_openssl),
 * its limits, the security headers every answer carries, and the routing
 * of paths to the pages (web.c) and the REST API (api.c).
 *
 * Limits: libevent refuses headers over http.max_header_bytes and bodies
 * over http.max_body_bytes (413) before a handler runs; http.timeout closes
 * a connection that stays silent in either direction (a client that sends
 * half a request, or never reads its answer), and http.request_timeout one
 * that trickles a request byte by byte (from the connection's start, or
 * from its last answer, a whole request must arrive in that time); at
 * http.max_connections the
 * listener stops accepting until a connection ends, and newcomers wait in
 * the kernel's backlog; an address (an IPv6 one by its /64) holding
 * http.max_connections_per_ip has its next connection closed at once;
 * limits.ip_requests_per_minute answers 429 and closes the connection. */
#include "gw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "log.h"
#include "tls.h"

static const char gw_csp[] = "default-src 'none'; style-src 'self'; img-src 'self'; "
                             "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

static int gw_ssl_index = -1;

/* What the gateway keeps per connection, hung on its SSL object (freed
 * with it, when evhttp frees the connection). */
struct gw_conn {
	struct gw *gw;
	struct bufferevent *bev;
	struct event *deadline; /* the next whole request must arrive by then */
	struct event *admit;    /* once accepted: count the address, or close */
	int counted;            /* in gw->conns, under key */
	char key[INET6_ADDRSTRLEN + 8];
	TAILQ_ENTRY(gw_conn) entry;
};

/* The gw_conn of req's connection, or NULL. */
static struct gw_conn *
gw_conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl ? SSL_get_ex_data(ssl, gw_ssl_index) : NULL;
}

/* The request deadline passed: shut the socket, so that evhttp sees the
 * end of the stream and frees the connection in its own time. */
static void
gw_conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conn *c = arg;
	evutil_socket_t sock = bufferevent_getfd(c->bev);

	(void)fd;
	(void)what;
	log_info("http", "connection closed: no whole request within %d s",
	         c->gw->cfg->request_timeout);
	if (sock >= 0)
		shutdown(sock, SHUT_RDWR);
}

/* Start the time the next request has to arrive. */
static void
gw_conn_arm(struct gw_conn *c)
{
	struct timeval tv = {c->gw->cfg->request_timeout, 0};

	evtimer_add(c->deadline, &tv);
}

int64_t
gw_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* The reason phrase of status. */
static const char *
gw_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 303:
		return "See Other";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return status < 500 ? "Bad Request" : "Internal Server Error";
	}
}

/* The method's name for the log. */
static const char *
gw_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	default:
		return "other";
	}
}

void
gw_addr_key(const char *addr, char *out, size_t len)
{
	struct in6_addr a6;

	if (inet_pton(AF_INET6, addr, &a6) != 1) {
		snprintf(out, len, "%s", addr);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		char v4[INET_ADDRSTRLEN];
		if (inet_ntop(AF_INET, &a6.s6_addr[12], v4, sizeof v4) != NULL) {
			snprintf(out, len, "%s", v4);
			return;
		}
	}
	char buf[INET6_ADDRSTRLEN];
	memset(&a6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a6, buf, sizeof buf) == NULL)
		snprintf(out, len, "%s", addr);
	else
		snprintf(out, len, "%s/64", buf);
}

/* The per-address limits' key of req's client. */
static void
gw_peer_key(struct evhttp_request *req, char *out, size_t len)
{
	gw_addr_key(gw_peer(req), out, len);
}

int
gw_same_origin(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *site = evhttp_find_header(h, "Sec-Fetch-Site");
	const char *origin = evhttp_find_header(h, "Origin");
	const char *host = evhttp_find_header(h, "Host");

	/* a browser that sends Sec-Fetch-Site says where the post came from;
	 * its Origin is "null" on our own pages (Referrer-Policy: no-referrer) */
	if (site != NULL)
		return strcasecmp(site, "cross-site") != 0;
	if (origin == NULL || strcmp(origin, "null") == 0)
		return 1;
	return host != NULL && host[0] != '\0' && strncasecmp(origin, "https://", 8) == 0 &&
	       strcasecmp(origin + 8, host) == 0;
}

const char *
gw_peer(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (evcon == NULL)
		return "?";
	evhttp_connection_get_peer(evcon, &addr, &port);
	return addr ? addr : "?";
}

void
gw_send(struct evhttp_request *req, int status, const char *type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", gw_csp);
	evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	if (evhttp_find_header(h, "Cache-Control") == NULL)
		evhttp_add_header(h, "Cache-Control", "no-store");
	if (type != NULL)
		evhttp_add_header(h, "Content-Type", type);
	log_info("http", "peer=%s method=%s path=%s status=%d", gw_peer(req),
	         gw_method_name(evhttp_request_get_command(req)),
	         evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req))
	             ? evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req))
	             : "?",
	         status);
	struct gw_conn *c = gw_conn_of(req);
	if (c != NULL)
		gw_conn_arm(c);
	evhttp_send_reply(req, status, gw_reason(status), body);
}

void
gw_retry_after(struct evhttp_request *req, int seconds)
{
	char buf[16];

	snprintf(buf, sizeof buf, "%d", seconds < 1 ? 1 : seconds);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", buf);
}

char *
gw_query_param(struct evhttp_request *req, const char *name)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	char *value = NULL;

	if (query == NULL || evhttp_parse_query_str(query, &params) != 0)
		return NULL;
	const char *v = evhttp_find_header(&params, name);
	if (v != NULL)
		value = strdup(v);
	evhttp_clear_headers(&params);
	return value;
}

char *
gw_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	evbuffer_copyout(in, s, n);
	s[n] = '\0';
	if (strlen(s) != n) {
		free(s);
		return NULL;
	}
	*len = n;
	return s;
}

/* The value of the "lang" cookie (into buf), or NULL. */
static const char *
gw_cookie_lang(struct evhttp_request *req, char *buf, size_t size)
{
	const char *c = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");

	while (c != NULL && *c) {
		c += strspn(c, " ;");
		if (strncmp(c, "lang=", 5) == 0) {
			size_t n = strcspn(c + 5, ";");
			if (n >= size)
				return NULL;
			memcpy(buf, c + 5, n);
			buf[n] = '\0';
			return buf;
		}
		c = strchr(c, ';');
	}
	return NULL;
}

/* The page language; a valid ?lang= is remembered in a cookie. */
static enum gw_lang
gw_request_lang(struct evhttp_request *req)
{
	char cookie[16];
	char *q = gw_query_param(req, "lang");
	enum gw_lang lang = page_lang(q, gw_cookie_lang(req, cookie, sizeof cookie));

	if (q != NULL && (strcmp(q, "en") == 0 || strcmp(q, "zh-CN") == 0)) {
		char set[96];
		snprintf(set, sizeof set,
		         "lang=%s; Path=/; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax",
		         page_lang_code(lang));
		evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", set);
	}
	free(q);
	return lang;
}

/* Is the method m, else answer 405 with Allow? */
static int
gw_method(struct evhttp_request *req, enum evhttp_cmd_type m, const char *allow, int api)
{
	enum evhttp_cmd_type got = evhttp_request_get_command(req);

	if (got == m || (m == EVHTTP_REQ_GET && got == EVHTTP_REQ_HEAD))
		return 1;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	if (api)
		gw_api_problem(req, 405, "this method is not allowed here", NULL);
	else
		gw_web_error(req, gw_request_lang(req), 405);
	return 0;
}

/* Is s a ticket reference as callcentred makes them (letters, digits and
 * dashes, 4-32)? */
static int
gw_ref_ok(const char *s, size_t n)
{
	return n >= 4 && n <= 32 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") >= n;
}

/* Every request starts here. */
static void
gw_http_cb(struct evhttp_request *req, void *arg)
{
	struct gw *gw = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	char ref[40];

	struct gw_conn *c = gw_conn_of(req);
	if (c != NULL)
		evtimer_del(c->deadline); /* the request is in; the answer re-arms */
	if (path == NULL)
		path = "/";
	if (gw->shutting_down) {
		/* nothing new goes to callcentred once the loop is ending */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		gw_retry_after(req, 1);
		if (strncmp(path, "/api/", 5) == 0)
			gw_api_problem(req, 503, "the service is restarting; try again later",
			               NULL);
		else
			gw_web_error(req, gw_request_lang(req), 503);
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		struct evbuffer *b = evbuffer_new();
		int up = gw_upstream_ready(gw->up);
		evbuffer_add_printf(b, up ? "ok\n" : "no connection to callcentred\n");
		if (!up)
			gw_retry_after(req, gw_upstream_retry_after(gw->up));
		gw_send(req, up ? 200 : 503, "text/plain; charset=utf-8", b);
		evbuffer_free(b);
		return;
	}
	int api = strncmp(path, "/api/", 5) == 0;
	char key[INET6_ADDRSTRLEN + 8];
	gw_peer_key(req, key, sizeof key);
	int wait = gw_limit_take(gw->ip_requests, key, gw_now_ms());
	if (wait > 0) {
		log_info("http", "peer=%s key=%s rate limited", gw_peer(req), key);
		gw_retry_after(req, wait);
		/* the connection is not kept: a flood must not hold a slot */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		if (api)
			gw_api_problem(req, 429, "too many requests from this address", NULL);
		else
			gw_web_error(req, gw_request_lang(req), 429);
		return;
	}
	if (api) {
		gw_api_dispatch(gw, req, path);
		return;
	}
	if (strcmp(path, "/static/gateway.css") == 0) {
		if (!gw_method(req, EVHTTP_REQ_GET, "GET, HEAD", 0))
			return;
		size_t len;
		const char *css = page_css(&len);
		struct evbuffer *b = evbuffer_new();
		evbuffer_add_reference(b, css, len, NULL, NULL);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control",
		                  "public, max-age=86400");
		gw_send(req, 200, "text/css; charset=utf-8", b);
		evbuffer_free(b);
		return;
	}
	enum gw_lang lang = gw_request_lang(req);
	if (strcmp(path, "/") == 0) {
		if (gw_method(req, EVHTTP_REQ_GET, "GET, HEAD", 0))
			gw_web_form(gw, req, lang);
		return;
	}
	if (strcmp(path, "/complaints") == 0) {
		if (gw_method(req, EVHTTP_REQ_POST, "POST", 0))
			gw_web_complaint(gw, req, lang);
		return;
	}
	if (strncmp(path, "/confirm/", 9) == 0 && gw_ref_ok(path + 9, strlen(path + 9))) {
		snprintf(ref, sizeof ref, "%s", path + 9);
		if (gw_method(req, EVHTTP_REQ_GET, "GET, HEAD", 0))
			gw_web_confirm(gw, req, lang, ref);
		return;
	}
	if (strncmp(path, "/status/", 8) == 0) {
		const char *r = path + 8;
		size_t n = strcspn(r, "/");
		if (gw_ref_ok(r, n) && r[n] == '\0') {
			snprintf(ref, sizeof ref, "%.*s", (int)n, r);
			if (gw_method(req, EVHTTP_REQ_GET, "GET, HEAD", 0))
				gw_web_status(gw, req, lang, ref);
			return;
		}
		if (gw_ref_ok(r, n) && strcmp(r + n, "/csat") == 0) {
			snprintf(ref, sizeof ref, "%.*s", (int)n, r);
			if (gw_method(req, EVHTTP_REQ_POST, "POST", 0))
				gw_web_csat(gw, req, lang, ref);
			return;
		}
	}
	gw_web_error(req, lang, 404);
}

/* OpenSSL frees a connection's SSL when evhttp frees the connection: the
 * one sure place to count connections down. */
static void
gw_ssl_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct gw_conn *c = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (c == NULL)
		return;
	struct gw *gw = c->gw;
	event_free(c->deadline);
	event_free(c->admit);
	if (c->counted)
		TAILQ_REMOVE(&gw->conns, c, entry);
	free(c);
	gw->connections--;
	if (gw->listener_paused && gw->connections < gw->cfg->max_connections &&
	    !gw->shutting_down) {
		gw->listener_paused = 0;
		evconnlistener_enable(gw->listener);
		log_info("http", "connections=%d below the cap; accepting again", gw->connections);
	}
}

/* Just after evhttp took the socket: count the connection under its
 * address's key, or close it when that address holds its share already. */
static void
gw_conn_admit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conn *c = arg;
	struct gw *gw = c->gw;
	evutil_socket_t sock = bufferevent_getfd(c->bev);
	struct sockaddr_storage sa;
	socklen_t salen = sizeof sa;
	char addr[INET6_ADDRSTRLEN];
	struct gw_conn *o;
	int n = 0;

	(void)fd;
	(void)what;
	if (sock < 0 || getpeername(sock, (struct sockaddr *)&sa, &salen) != 0)
		return;
	tls_nodelay(sock);
	if (sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, addr, sizeof addr);
	else if (sa.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, addr, sizeof addr);
	else
		return;
	gw_addr_key(addr, c->key, sizeof c->key);
	TAILQ_FOREACH(o, &gw->conns, entry)
	n += strcmp(o->key, c->key) == 0;
	if (n >= gw->cfg->max_connections_per_ip) {
		log_warn("http", "peer=%s key=%s connections=%d at the per-address cap; closed",
		         addr, c->key, n);
		shutdown(sock, SHUT_RDWR);
		return;
	}
	TAILQ_INSERT_TAIL(&gw->conns, c, entry);
	c->counted = 1;
}

/* A new connection: a TLS server bufferevent for evhttp. */
static struct bufferevent *
gw_bev_cb(struct event_base *base, void *arg)
{
	struct gw *gw = arg;
	SSL *ssl = SSL_new(gw->server_ctx);
	struct gw_conn *c = calloc(1, sizeof *c);

	if (ssl == NULL || c == NULL ||
	    (c->deadline = evtimer_new(base, gw_conn_deadline_cb, c)) == NULL ||
	    (c->admit = evtimer_new(base, gw_conn_admit_cb, c)) == NULL) {
		SSL_free(ssl);
		if (c != NULL && c->deadline != NULL)
			event_free(c->deadline);
		free(c);
		return NULL;
	}
	c->gw = gw;
	gw->connections++;
	if (gw->connections >= gw->cfg->max_connections && !gw->listener_paused) {
		gw->listener_paused = 1;
		evconnlistener_disable(gw->listener);
		log_warn("http", "connections=%d at the cap; not accepting", gw->connections);
	}
	c->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl); /* gw_ssl_free_cb does not see c yet: not attached */
		event_free(c->deadline);
		event_free(c->admit);
		free(c);
		gw->connections--;
		return NULL;
	}
	SSL_set_ex_data(ssl, gw_ssl_index, c);
	gw_conn_arm(c);
	/* evhttp gives the bufferevent its socket once this returns; the
	 * address is known from then on */
	event_active(c->admit, EV_TIMEOUT, 1);
	return c->bev;
}

int
gw_http_start(struct gw *gw, char *err, size_t errlen)
{
	char host[256];
	int port;
	struct evhttp_bound_socket *bound;

	if (gw_ssl_index < 0)
		gw_ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, gw_ssl_free_cb);
	TAILQ_INIT(&gw->conns);
	if ((gw->http = evhttp_new(gw->base)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	evhttp_set_bevcb(gw->http, gw_bev_cb, gw);
	evhttp_set_gencb(gw->http, gw_http_cb, gw);
	evhttp_set_max_headers_size(gw->http, gw->cfg->max_header_bytes);
	evhttp_set_max_body_size(gw->http, gw->cfg->max_body_bytes);
	struct timeval tv = {gw->cfg->timeout, 0};
	evhttp_set_timeout_tv(gw->http, &tv);
	evhttp_set_allowed_methods(gw->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                         EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	gw_split_addr(gw->cfg->listen, host, sizeof host, &port);
	if ((bound = evhttp_bind_socket_with_handle(gw->http, host, (ev_uint16_t)port)) == NULL) {
		snprintf(err, errlen, "http.listen %s: cannot listen (address in use?)",
		         gw->cfg->listen);
		return -1;
	}
	gw->listener = evhttp_bound_socket_get_listener(bound);
	log_info("http", "listening on %s", gw->cfg->listen);
	return 0;
}

void
gw_http_stop(struct gw *gw)
{
	if (gw->http != NULL)
		evhttp_free(gw->http);
	gw->http = NULL;
}
