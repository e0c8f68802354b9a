/* conn.c: the client's transport. Resolves the server name without blocking
 * (evdns), tries each address in turn, runs the TLS handshake with the
 * project's policy and verification, and hands complete lines up. Every way
 * a connection can end comes back through one callback with a reason that
 * names the cause (refused, certificate not trusted, closed by the server),
 * so the session layer never needs to look at sockets or SSL. */
#include "ccagent.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls.h"

struct conn {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ctx;
	char *host;
	char *port;
	const struct conn_cb *cb;
	void *arg;

	struct event *start_ev;    /* defers the start so callbacks never nest */
	struct event *deadline_ev; /* connect + handshake time limit */
	struct evdns_getaddrinfo_request *resolving;
	struct evutil_addrinfo *addrs;
	struct evutil_addrinfo *next_addr;
	evutil_socket_t fd;              /* TCP connect in progress */
	struct event *connect_ev;        /* waits for that connect */
	struct bufferevent *bev;         /* TLS, once TCP is up */
	char addr[INET6_ADDRSTRLEN + 8]; /* the address being tried */
	char last_error[256];            /* why the previous address failed */
	int active;                      /* between conn_open and the down callback */
	int up;                          /* handshake finished */
};

static void conn_try_next(struct conn *c);

/* Release everything a connection attempt or a live connection holds. */
static void
conn_teardown(struct conn *c)
{
	if (c->resolving != NULL) {
		struct evdns_getaddrinfo_request *r = c->resolving;
		c->resolving = NULL;
		evdns_getaddrinfo_cancel(r);
	}
	if (c->addrs != NULL) {
		evutil_freeaddrinfo(c->addrs);
		c->addrs = c->next_addr = NULL;
	}
	if (c->connect_ev != NULL) {
		event_free(c->connect_ev);
		c->connect_ev = NULL;
	}
	if (c->fd >= 0) {
		evutil_closesocket(c->fd);
		c->fd = -1;
	}
	if (c->bev != NULL) {
		/* frees the SSL and closes the socket; safe inside its callbacks */
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	event_del(c->start_ev);
	event_del(c->deadline_ev);
	c->up = 0;
	c->active = 0;
}

/* End the connection and tell the layer above why. */
static void
conn_fail(struct conn *c, enum conn_fail why, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	conn_teardown(c);
	c->cb->down(c->arg, why, reason);
}

/* Why the TLS layer failed, preferring the certificate verdict. */
static void
conn_tls_reason(struct conn *c, char *buf, size_t len)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e, last = 0;

	while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
		last = e;
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (v != X509_V_OK) {
		const char *hint = "";
		if (v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
		    v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
		    v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
		    v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT)
			hint = " (give the CA that signed it with --ca FILE or [server] ca)";
		else if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
			hint = " (the certificate is not for this name; use the name it was issued "
			       "for)";
		snprintf(buf, len, "TLS: certificate verification failed for %s: %s%s", c->host,
		         X509_verify_cert_error_string(v), hint);
	} else if (last != 0) {
		const char *r = ERR_reason_error_string(last);
		char tmp[200];
		if (r == NULL) {
			ERR_error_string_n(last, tmp, sizeof tmp);
			r = tmp;
		}
		snprintf(buf, len, "TLS handshake with %s failed: %s", c->addr, r);
	} else if (EVUTIL_SOCKET_ERROR() != 0) {
		snprintf(buf, len, "TLS handshake with %s failed: %s", c->addr,
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	} else
		snprintf(buf, len, "TLS handshake with %s failed: connection closed by the server",
		         c->addr);
}

/* Hand every complete line in the input buffer to the layer above. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	/* the line callback may close us: stop as soon as bev is no longer ours */
	while (c->bev == bev) {
		enum line_status st = line_next(in, AGENT_MAX_REPLY, &line, &len);
		if (st == LINE_MORE)
			return;
		if (st == LINE_TOO_LONG) {
			conn_fail(c, CONN_FAIL_PROTOCOL, "server sent a line over %d bytes",
			          AGENT_MAX_REPLY);
			return;
		}
		c->cb->line(c->arg, line, len);
		OPENSSL_cleanse(line, len);
		free(line);
	}
}

/* Handshake completion, end of stream and errors. */
static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char reason[512];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		event_del(c->deadline_ev);
		c->up = 1;
		c->cb->up(c->arg);
		return;
	}
	if (!c->up) {
		if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
			conn_fail(c, CONN_FAIL_TLS,
			          "TLS handshake with %s failed: connection closed by the server",
			          c->addr);
			return;
		}
		conn_tls_reason(c, reason, sizeof reason);
		conn_fail(c, CONN_FAIL_TLS, "%s", reason);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		conn_fail(c, CONN_FAIL_LOST, "server closed the connection");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e, last = 0;
		int err = EVUTIL_SOCKET_ERROR();
		while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
			last = e;
		if (last != 0 && ERR_reason_error_string(last) != NULL)
			conn_fail(c, CONN_FAIL_LOST, "TLS error: %s",
			          ERR_reason_error_string(last));
		else if (err != 0)
			conn_fail(c, CONN_FAIL_LOST, "%s", evutil_socket_error_to_string(err));
		else
			conn_fail(c, CONN_FAIL_LOST, "connection error");
	}
}

/* TCP is up: start the TLS handshake on the socket. */
static void
conn_start_tls(struct conn *c)
{
	evutil_socket_t fd = c->fd;
	SSL *ssl;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if ((ssl = SSL_new(c->ctx)) == NULL) {
		char e[200];
		conn_fail(c, CONN_FAIL_TLS, "TLS: %s", tls_error_string(e, sizeof e));
		return;
	}
	if (tls_client_set_host(ssl, c->host) != 0) {
		SSL_free(ssl);
		conn_fail(c, CONN_FAIL_TLS, "TLS: cannot verify against host name '%s'", c->host);
		return;
	}
	c->bev = bufferevent_openssl_socket_new(c->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		conn_fail(c, CONN_FAIL_TLS, "TLS: cannot set up the connection");
		return;
	}
	c->fd = -1; /* the bufferevent owns it now */
	evutil_freeaddrinfo(c->addrs);
	c->addrs = c->next_addr = NULL;
	/* a server that closes without close_notify has still said all it had */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* The non-blocking connect finished, one way or the other. */
static void
conn_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int err = 0;
	socklen_t n = sizeof err;

	(void)what;
	event_free(c->connect_ev);
	c->connect_ev = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) != 0)
		err = errno;
	if (err != 0) {
		snprintf(c->last_error, sizeof c->last_error, "connect to %s: %s", c->addr,
		         strerror(err));
		evutil_closesocket(c->fd);
		c->fd = -1;
		conn_try_next(c);
		return;
	}
	conn_start_tls(c);
}

/* Format addr for messages: "127.0.0.1:7443" or "[::1]:7443". */
static void
conn_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		snprintf(buf, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		evutil_inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		snprintf(buf, len, "%s:%u", ip, ntohs(s4->sin_port));
	}
}

/* Start a TCP connect to the next resolved address, or give up. */
static void
conn_try_next(struct conn *c)
{
	while (c->next_addr != NULL) {
		struct evutil_addrinfo *ai = c->next_addr;
		c->next_addr = ai->ai_next;
		conn_format_addr(ai->ai_addr, c->addr, sizeof c->addr);
		c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			snprintf(c->last_error, sizeof c->last_error, "socket for %s: %s", c->addr,
			         strerror(errno));
			continue;
		}
		if (connect(c->fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) == 0) {
			conn_start_tls(c);
			return;
		}
		if (errno == EINPROGRESS) {
			c->connect_ev = event_new(c->base, c->fd, EV_WRITE, conn_connect_cb, c);
			event_add(c->connect_ev, NULL);
			return;
		}
		snprintf(c->last_error, sizeof c->last_error, "connect to %s: %s", c->addr,
		         strerror(errno));
		evutil_closesocket(c->fd);
		c->fd = -1;
	}
	conn_fail(c, CONN_FAIL_CONNECT, "%s", c->last_error);
}

/* Name resolution finished. */
static void
conn_resolved_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct conn *c = arg;

	if (result == EVUTIL_EAI_CANCEL)
		return; /* conn_teardown cancelled us; c may be closing */
	c->resolving = NULL;
	if (result != 0) {
		conn_fail(c, CONN_FAIL_RESOLVE, "cannot resolve %s: %s", c->host,
		          evutil_gai_strerror(result));
		return;
	}
	c->addrs = c->next_addr = res;
	snprintf(c->last_error, sizeof c->last_error, "no address for %s", c->host);
	conn_try_next(c);
}

/* Deferred start of a connection attempt. */
static void
conn_start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;

	(void)fd;
	(void)what;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	/* the callback may run before this returns (numeric hosts, /etc/hosts) */
	req = evdns_getaddrinfo(c->dns, c->host, c->port, &hints, conn_resolved_cb, c);
	/* NULL when it was answered at once */
	c->resolving = req;
}

/* The connection attempt took too long. */
static void
conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->bev != NULL)
		conn_fail(c, CONN_FAIL_TIMEOUT, "TLS handshake with %s timed out after %d s",
		          c->addr, AGENT_CONNECT_TIMEOUT);
	else if (c->fd >= 0)
		conn_fail(c, CONN_FAIL_TIMEOUT, "connect to %s timed out after %d s", c->addr,
		          AGENT_CONNECT_TIMEOUT);
	else
		conn_fail(c, CONN_FAIL_TIMEOUT, "resolving %s timed out after %d s", c->host,
		          AGENT_CONNECT_TIMEOUT);
}

/* A connection to host:port with ctx; callbacks go to cb with arg. */
struct conn *
conn_new(struct event_base *base, struct evdns_base *dns, SSL_CTX *ctx, const char *host,
         const char *port, const struct conn_cb *cb, void *arg)
{
	struct conn *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->base = base;
	c->dns = dns;
	c->ctx = ctx;
	c->host = strdup(host);
	c->port = strdup(port);
	c->cb = cb;
	c->arg = arg;
	c->fd = -1;
	c->start_ev = event_new(base, -1, 0, conn_start_cb, c);
	c->deadline_ev = event_new(base, -1, 0, conn_deadline_cb, c);
	if (c->host == NULL || c->port == NULL || c->start_ev == NULL || c->deadline_ev == NULL) {
		conn_free(c);
		return NULL;
	}
	return c;
}

/* Close and free. */
void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->start_ev != NULL && c->deadline_ev != NULL)
		conn_teardown(c);
	if (c->start_ev != NULL)
		event_free(c->start_ev);
	if (c->deadline_ev != NULL)
		event_free(c->deadline_ev);
	free(c->host);
	free(c->port);
	free(c);
}

/* Begin connecting; the outcome arrives as up or down. */
void
conn_open(struct conn *c)
{
	struct timeval tv = {AGENT_CONNECT_TIMEOUT, 0};

	conn_teardown(c);
	c->active = 1;
	c->last_error[0] = '\0';
	snprintf(c->addr, sizeof c->addr, "%s:%s", c->host, c->port);
	event_active(c->start_ev, EV_TIMEOUT, 0);
	event_add(c->deadline_ev, &tv);
}

/* Close without calling back. */
void
conn_close(struct conn *c)
{
	conn_teardown(c);
}

/* Whether the TLS connection is established. */
int
conn_is_up(const struct conn *c)
{
	return c->up && c->bev != NULL;
}

/* Queue data for the server. -1 when down or when too much is unsent. */
int
conn_send(struct conn *c, const char *data, size_t len)
{
	if (!conn_is_up(c))
		return -1;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) + len > AGENT_MAX_OUTPUT)
		return -1;
	return bufferevent_write(c->bev, data, len) == 0 ? 0 : -1;
}
