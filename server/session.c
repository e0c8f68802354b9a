/* session.c: one TLS connection: handshake deadline, line framing, request
 * dispatch one at a time, bounded output, and every close with a reason.
 *
 * Lifetime: a session is referenced by the server's list while open and by
 * each worker job in flight. session_close() takes it off the list and frees
 * the bufferevent at once (libevent defers the real free while a callback of
 * it is running), but the struct stays until the last job has come back and
 * dropped its reference, so no completion ever touches freed memory. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "log.h"
#include "proto.h"
#include "server.h"
#include "tls.h"

/* Requests handled per read event before yielding to other sessions. */
#define SESSION_REQS_PER_EVENT 16
/* Seconds a closing session may take to flush before it is cut off. */
#define SESSION_FLUSH_TIMEOUT 5
/* Seconds a closed session keeps reading (and discarding) what the peer had
 * already sent, so that the kernel does not answer it with a reset that
 * destroys our last replies before the peer has read them. */
#define SESSION_LINGER_TIMEOUT 2

static const char *const close_names[CLOSE__COUNT] = {
    [CLOSE_CLIENT] = "client",
    [CLOSE_IDLE] = "idle_timeout",
    [CLOSE_HANDSHAKE_TIMEOUT] = "handshake_timeout",
    [CLOSE_HANDSHAKE_FAILED] = "handshake_failed",
    [CLOSE_TOO_LARGE] = "too_large",
    [CLOSE_BAD_INPUT] = "bad_input",
    [CLOSE_SLOW_CONSUMER] = "slow_consumer",
    [CLOSE_LIMIT] = "limit",
    [CLOSE_SHUTDOWN] = "shutdown",
    [CLOSE_ERROR] = "error",
};

static const char *const state_names[] = {"handshake", "open", "closing", "dead"};

const char *
close_reason_name(enum close_reason r)
{
	return (int)r >= 0 && r < CLOSE__COUNT ? close_names[r] : "unknown";
}

/* Allowed transitions, by current state: a bit per next state. */
static const unsigned state_next[] = {
    [SESSION_HANDSHAKE] = 1u << SESSION_OPEN | 1u << SESSION_DEAD,
    [SESSION_OPEN] = 1u << SESSION_CLOSING | 1u << SESSION_DEAD,
    [SESSION_CLOSING] = 1u << SESSION_DEAD,
    [SESSION_DEAD] = 0,
};

void
session_set_state(struct session *s, enum session_state next)
{
	if (!(state_next[s->state] & (1u << next))) {
		log_error("session", "msg=\"bad state transition\" peer=%s from=%s to=%s", s->peer,
		          state_names[s->state], state_names[next]);
		abort();
	}
	s->state = next;
}

void
session_ref(struct session *s)
{
	s->refs++;
}

void
session_unref(struct session *s)
{
	if (--s->refs == 0)
		free(s);
}

static void session_read_cb(struct bufferevent *bev, void *arg);
static void session_write_cb(struct bufferevent *bev, void *arg);
static void session_event_cb(struct bufferevent *bev, short what, void *arg);

void
session_close(struct session *s, enum close_reason why, const char *detail)
{
	struct server *srv = s->srv;

	if (s->state == SESSION_DEAD)
		return;
	if (s->state == SESSION_HANDSHAKE && why != CLOSE_HANDSHAKE_TIMEOUT &&
	    why != CLOSE_SHUTDOWN && why != CLOSE_CLIENT)
		srv->metrics.handshake_failures++;
	srv->metrics.closes[why]++;
	log_msg(why == CLOSE_CLIENT || why == CLOSE_SHUTDOWN ? LOGL_DEBUG : LOGL_INFO, "session",
	        "msg=\"closed\" peer=%s user=%s reason=%s%s%s%s", s->peer,
	        s->logged_in ? s->agent.user : "-", close_reason_name(why),
	        detail ? " detail=\"" : "", detail ? detail : "", detail ? "\"" : "");
	session_set_state(s, SESSION_DEAD);
	if (s->handshake_timer) {
		event_free(s->handshake_timer);
		s->handshake_timer = NULL;
	}
	if (s->bev) {
		SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
		bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		if (ssl && !s->lingering && why != CLOSE_HANDSHAKE_FAILED && why != CLOSE_ERROR &&
		    why != CLOSE_HANDSHAKE_TIMEOUT && SSL_is_init_finished(ssl))
			SSL_shutdown(ssl); /* close_notify, best effort */
		ERR_clear_error();
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	server_session_gone(srv, s);
	session_unref(s);
}

void
session_close_gracefully(struct session *s, enum close_reason why, const char *text)
{
	json_t *ev;

	if (s->state != SESSION_OPEN) {
		if (s->state == SESSION_HANDSHAKE)
			session_close(s, why, text);
		return;
	}
	if (s->busy) {
		/* answer the request in flight first */
		s->close_pending = 1;
		s->pending = why;
		snprintf(s->pending_text, sizeof s->pending_text, "%s", text);
		bufferevent_disable(s->bev, EV_READ);
		return;
	}
	ev = proto_event("closing");
	json_object_set_new(ev, "reason", json_string(text));
	session_send(s, ev);
	if (s->state != SESSION_OPEN)
		return; /* dropped as a slow consumer */
	session_set_state(s, SESSION_CLOSING);
	s->pending = why;
	snprintf(s->pending_text, sizeof s->pending_text, "%s", text);
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	struct timeval tv = {SESSION_FLUSH_TIMEOUT, 0};
	bufferevent_set_timeouts(s->bev, NULL, &tv);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		bufferevent_trigger(s->bev, EV_WRITE,
		                    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void
session_send(struct session *s, json_t *msg)
{
	struct evbuffer *out;
	size_t len;
	char *buf;

	if (s->state != SESSION_OPEN || s->bev == NULL) {
		json_decref(msg);
		return;
	}
	buf = proto_encode(msg, &len);
	json_decref(msg);
	if (buf == NULL) {
		session_close(s, CLOSE_ERROR, "cannot encode a reply");
		return;
	}
	out = bufferevent_get_output(s->bev);
	if (evbuffer_get_length(out) + len > (size_t)s->srv->cfg.output_queue_max) {
		free(buf);
		char detail[96];
		snprintf(detail, sizeof detail, "slow consumer: %zu bytes unsent, cap %d",
		         evbuffer_get_length(out), s->srv->cfg.output_queue_max);
		session_close(s, CLOSE_SLOW_CONSUMER, detail);
		return;
	}
	evbuffer_add_reference(out, buf, len, (evbuffer_ref_cleanup_cb)(void (*)(void))free, NULL);
}

void
session_reply_error(struct session *s, json_int_t id, enum cc_err code, const char *msg)
{
	s->srv->metrics.errors[code]++;
	session_send(s, proto_reply_error(id, code, msg));
}

void
session_reply_error_field(struct session *s, json_int_t id, enum cc_err code, const char *msg,
                          const char *field)
{
	json_t *r = proto_reply_error(id, code, msg);

	json_object_set_new(json_object_get(r, "error"), "field", json_string(field));
	s->srv->metrics.errors[code]++;
	session_send(s, r);
}

void
session_broadcast(struct server *srv, unsigned roles, unsigned int agent_id, json_t *msg)
{
	struct session *s, *next;

	/* session_send may close a slow consumer, never free it here */
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state == SESSION_OPEN && s->logged_in &&
		    ((s->agent.role & roles) != 0 || (agent_id != 0 && s->agent.id == agent_id)))
			session_send(s, json_incref(msg));
	}
	json_decref(msg);
}

void
session_hold(struct session *s)
{
	s->busy = 1;
	session_ref(s);
}

int
session_release(struct session *s)
{
	int alive = s->state == SESSION_OPEN;

	s->busy = 0;
	session_unref(s);
	if (!alive)
		return 0;
	if (s->close_pending) {
		s->close_pending = 0;
		char text[sizeof s->pending_text];
		snprintf(text, sizeof text, "%s", s->pending_text);
		session_close_gracefully(s, s->pending, text);
		return 1;
	}
	/* lines may have arrived while we waited */
	bufferevent_trigger(s->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	return 1;
}

/* Parse and dispatch one line. */
static void
session_handle_line(struct session *s, const char *line, size_t len)
{
	struct proto_request req;
	struct proto_error perr;

	s->srv->metrics.requests_total++;
	s->last_active = time(NULL); /* whole lines only: a trickle is idle */
	if (len == 0)
		return; /* blank lines are keep-alives */
	if (proto_parse_request(line, len, &req, &perr) != 0) {
		session_reply_error(s, req.id, perr.code, perr.message);
		if (perr.fatal)
			session_close_gracefully(s, CLOSE_BAD_INPUT, perr.message);
		return;
	}
	op_dispatch(s, req.id, req.op, req.root);
	proto_request_free(&req);
}

/* Read callback: frame lines and handle them, a bounded number per event.
 * Any reply may close the session (a slow consumer), so it is held for the
 * duration and its state checked before the buffers are touched again. */
static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int handled = 0;

	if (s->state == SESSION_CLOSING) {
		evbuffer_drain(in, evbuffer_get_length(in)); /* lingering: discard */
		return;
	}
	session_ref(s);
	while (s->state == SESSION_OPEN && !s->busy) {
		char *line;
		size_t len;

		if (handled == SESSION_REQS_PER_EVENT) {
			bufferevent_trigger(bev, EV_READ,
			                    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
			break;
		}
		enum line_status st = line_next(in, PROTO_MAX_LINE, &line, &len);
		if (st == LINE_MORE)
			break;
		if (st == LINE_TOO_LONG) {
			evbuffer_drain(in, evbuffer_get_length(in));
			session_reply_error(s, -1, CC_ERR_TOO_LARGE, "line exceeds 65536 bytes");
			session_close_gracefully(s, CLOSE_TOO_LARGE, "line exceeds 65536 bytes");
			break;
		}
		session_handle_line(s, line, len);
		OPENSSL_cleanse(line, len); /* it may have held a password */
		free(line);
		handled++;
	}
	session_unref(s);
}

/* Everything is written: send close_notify, shut our direction, and read
 * until the peer closes too (or SESSION_LINGER_TIMEOUT). */
static void
session_linger_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	session_close(s, s->pending, s->pending_text);
}

static void
session_linger(struct session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	struct timeval tv = {SESSION_LINGER_TIMEOUT, 0};

	s->lingering = 1;
	if (ssl != NULL && SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	ERR_clear_error();
	shutdown(bufferevent_getfd(s->bev), SHUT_WR);
	evbuffer_drain(bufferevent_get_input(s->bev),
	               evbuffer_get_length(bufferevent_get_input(s->bev)));
	/* an absolute deadline: a peer that keeps sending cannot stretch it */
	bufferevent_set_timeouts(s->bev, NULL, NULL);
	s->handshake_timer = evtimer_new(s->srv->base, session_linger_timeout, s);
	if (s->handshake_timer == NULL || evtimer_add(s->handshake_timer, &tv) != 0) {
		session_close(s, s->pending, s->pending_text);
		return;
	}
	bufferevent_enable(s->bev, EV_READ);
}

/* Write callback: a closing session lingers once its output has drained. */
static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->state == SESSION_CLOSING && !s->lingering &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		session_linger(s);
}

/* The handshake took too long. */
static void
session_handshake_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	session_close(s, CLOSE_HANDSHAKE_TIMEOUT, "TLS handshake not finished in time");
}

/* Describe the last TLS error of bev into buf. */
static const char *
session_tls_error(struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long e = bufferevent_get_openssl_error(bev);

	if (e == 0) {
		int err = EVUTIL_SOCKET_ERROR();
		snprintf(buf, len, "%s", err ? evutil_socket_error_to_string(err) : "EOF");
	} else
		ERR_error_string_n(e, buf, len);
	while (bufferevent_get_openssl_error(bev) != 0)
		;
	return buf;
}

/* Handshake done, peer gone, idle timeout, or an error. */
static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	struct server *srv = s->srv;
	char why[160];

	if (what & BEV_EVENT_CONNECTED) {
		event_free(s->handshake_timer);
		s->handshake_timer = NULL;
		session_set_state(s, SESSION_OPEN);
		/* reading idleness is judged by whole lines (server_check_idle);
		 * a write that makes no progress for idle_timeout is a dead peer */
		struct timeval idle = {srv->cfg.idle_timeout, 0};
		s->last_active = time(NULL);
		bufferevent_set_timeouts(bev, NULL, &idle);
		if (s->refuse != NULL) {
			session_close_gracefully(s, CLOSE_LIMIT, s->refuse);
			return;
		}
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (s->lingering) { /* the peer closed, reset, or took too long: done */
		session_close(s, s->pending, s->pending_text);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->state == SESSION_CLOSING)
			session_close(s, s->pending, "peer did not read its last replies");
		else if (what & BEV_EVENT_READING)
			session_close_gracefully(s, CLOSE_IDLE, "idle timeout");
		else
			session_close(s, CLOSE_SLOW_CONSUMER, "output blocked for idle_timeout");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		session_close(s,
		              s->state == SESSION_HANDSHAKE ? CLOSE_HANDSHAKE_FAILED : CLOSE_CLIENT,
		              s->state == SESSION_HANDSHAKE ? "EOF during TLS handshake" : NULL);
		return;
	}
	session_tls_error(bev, why, sizeof why);
	session_close(s, s->state == SESSION_HANDSHAKE ? CLOSE_HANDSHAKE_FAILED : CLOSE_ERROR, why);
}

void
peer_name(const struct sockaddr *sa, char *ip, size_t iplen, char *peer, size_t peerlen)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
		if (peer != NULL)
			snprintf(peer, peerlen, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)iplen);
		if (peer != NULL)
			snprintf(peer, peerlen, "%s:%u", ip, ntohs(a->sin_port));
	}
}

void
session_accept(struct server *srv, evutil_socket_t fd, const struct sockaddr *sa)
{
	struct session *s = calloc(1, sizeof *s);
	SSL *ssl;

	if (s == NULL || (ssl = SSL_new(srv->ssl_ctx)) == NULL) {
		log_error("session", "msg=\"out of memory accepting a connection\"");
		free(s);
		evutil_closesocket(fd);
		return;
	}
	s->srv = srv;
	s->refs = 1;
	s->serial = ++srv->next_serial;
	s->since = time(NULL);
	peer_name(sa, s->ip, sizeof s->ip, s->peer, sizeof s->peer);
	tls_nodelay(fd);
	s->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		log_error("session", "msg=\"cannot create bufferevent\" peer=%s", s->peer);
		SSL_free(ssl);
		evutil_closesocket(fd);
		free(s);
		return;
	}
	/* never buffer more than one line and its LF from a peer */
	bufferevent_setwatermark(s->bev, EV_READ, 0, PROTO_MAX_LINE + 2);
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb, session_event_cb, s);
	s->handshake_timer = evtimer_new(srv->base, session_handshake_timeout, s);
	struct timeval hs = {srv->cfg.handshake_timeout, 0};
	evtimer_add(s->handshake_timer, &hs);
	s->refuse = server_admit(srv, s->ip);
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	srv->metrics.connections_total++;
	bufferevent_enable(s->bev, EV_READ);
}
