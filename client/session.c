/* session.c: the protocol side of the client. It logs in as soon as the
 * transport is up, matches every reply to its request by id, keeps an idle
 * session alive with pings and, when the connection drops in interactive
 * mode, reconnects with exponential backoff (1, 2, 4 ... 30 s, jittered so
 * that a room full of agents does not reconnect in lockstep after a server
 * restart). A reconnect logs in with the resume token from the last login,
 * falling back to the password kept in memory when the token is refused.
 *
 * The state machine is small and every change goes through
 * session_set_state, which refuses transitions that cannot happen. */
#include "ccagent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

enum session_state {
	SESSION_OFFLINE,    /* no connection; a retry may be scheduled */
	SESSION_CONNECTING, /* resolve, connect, TLS handshake */
	SESSION_LOGIN,      /* login sent, waiting for its reply */
	SESSION_READY,      /* logged in: commands go through */
	SESSION_LOGGED_OUT, /* still connected, logged out on request */
};

static const char *const session_state_names[] = {
    [SESSION_OFFLINE] = "offline", [SESSION_CONNECTING] = "connecting", [SESSION_LOGIN] = "login",
    [SESSION_READY] = "ready",     [SESSION_LOGGED_OUT] = "logged out",
};

#define S(x) (1u << (x))
static const unsigned session_moves[] = {
    [SESSION_OFFLINE] = S(SESSION_CONNECTING),
    [SESSION_CONNECTING] = S(SESSION_LOGIN) | S(SESSION_OFFLINE),
    [SESSION_LOGIN] = S(SESSION_READY) | S(SESSION_OFFLINE),
    [SESSION_READY] = S(SESSION_LOGGED_OUT) | S(SESSION_OFFLINE),
    [SESSION_LOGGED_OUT] = S(SESSION_READY) | S(SESSION_OFFLINE),
};

#define SESSION_MAX_OPS 1024

static struct session {
	struct session_config cfg;
	enum session_state state;
	struct conn *conn;
	char *token;   /* resume token from the last login */
	json_t *agent; /* the "agent" object from the last login */
	char **ops;    /* from hello, NULL-terminated */

	json_int_t next_id;
	struct request pending[AGENT_MAX_PENDING]; /* ring, oldest at head */
	size_t head;
	size_t count;

	struct event *retry_ev;     /* next reconnect attempt */
	struct event *keepalive_ev; /* idle ping */
	struct event *reply_ev;     /* the oldest request's deadline */
	struct event *quit_ev;      /* logout on the way out may not hang */
	int backoff;                /* seconds before the next attempt */
	int ever_ready;             /* logged in at least once */
	int token_login;            /* the login in flight uses the token */
	int finishing;              /* session_finish was called */
	int exit_code;              /* for session_finish */
	char closing[256];          /* reason of the server's closing event */
} s;

static void session_lost(enum conn_fail why, const char *reason);

/* Move to state to; a move the table does not allow is a bug. */
static void
session_set_state(enum session_state to)
{
	if (!(session_moves[s.state] & S(to))) {
		ui_error("ccagent: bug: session state %s -> %s", session_state_names[s.state],
		         session_state_names[to]);
		abort();
	}
	s.state = to;
}

/* Monotonic clock in microseconds. */
uint64_t
session_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Overwrite the secrets a request may carry before it is freed. */
static void
session_cleanse_secrets(json_t *msg)
{
	static const char *const keys[] = {"password", "token"};

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *v = json_object_get(msg, keys[i]);
		if (json_is_string(v))
			OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	}
}

/* Forget the resume token. */
static void
session_drop_token(void)
{
	if (s.token != NULL) {
		OPENSSL_cleanse(s.token, strlen(s.token));
		free(s.token);
		s.token = NULL;
	}
}

/* Arm the reply deadline for the oldest pending request, or stop it. */
static void
session_arm_reply_timer(void)
{
	struct timeval tv = {0, 0};

	if (s.count == 0) {
		evtimer_del(s.reply_ev);
		return;
	}
	uint64_t due = s.pending[s.head].sent_us + (uint64_t)AGENT_REPLY_TIMEOUT * 1000000u;
	uint64_t now = session_now_us();
	if (due > now) {
		tv.tv_sec = (time_t)((due - now) / 1000000u);
		tv.tv_usec = (suseconds_t)((due - now) % 1000000u);
	}
	evtimer_add(s.reply_ev, &tv);
}

/* Remove the request with this id from the pending ring into out. */
static int
session_take_pending(json_int_t id, struct request *out)
{
	for (size_t i = 0; i < s.count; i++) {
		size_t at = (s.head + i) % AGENT_MAX_PENDING;
		if (s.pending[at].id != id)
			continue;
		*out = s.pending[at];
		/* replies come in order, so this is almost always the head */
		for (size_t j = i; j > 0; j--)
			s.pending[(s.head + j) % AGENT_MAX_PENDING] =
			    s.pending[(s.head + j - 1) % AGENT_MAX_PENDING];
		s.head = (s.head + 1) % AGENT_MAX_PENDING;
		s.count--;
		return 0;
	}
	return -1;
}

/* Forget every pending request; returns how many were the user's. */
static size_t
session_clear_pending(void)
{
	size_t n = 0;

	for (size_t i = 0; i < s.count; i++)
		if (s.pending[(s.head + i) % AGENT_MAX_PENDING].kind == REQ_COMMAND)
			n++;
	s.head = s.count = 0;
	evtimer_del(s.reply_ev);
	return n;
}

/* Send req with a fresh id and remember it. */
json_int_t
session_request(json_t *req, enum req_kind kind, char *err, size_t errlen)
{
	struct timeval keepalive = {AGENT_KEEPALIVE, 0};
	const char *key, *op;
	json_t *msg, *v;
	char *line;
	size_t len;
	json_int_t id;

	if (kind == REQ_COMMAND && s.finishing) {
		snprintf(err, errlen, "quitting");
		return -1;
	}
	if (kind == REQ_COMMAND && s.state != SESSION_READY && s.state != SESSION_LOGGED_OUT) {
		snprintf(err, errlen, "not connected%s",
		         evtimer_pending(s.retry_ev, NULL) || s.state != SESSION_OFFLINE
		             ? " (reconnecting)"
		             : "");
		return -1;
	}
	if (!conn_is_up(s.conn)) {
		snprintf(err, errlen, "not connected");
		return -1;
	}
	if (s.count == AGENT_MAX_PENDING) {
		snprintf(err, errlen, "%d requests are already waiting for a reply",
		         AGENT_MAX_PENDING);
		return -1;
	}
	/* id first, then op, then the arguments: easy to read on the wire */
	id = s.next_id;
	msg = json_object();
	json_object_set_new(msg, "id", json_integer(id));
	if ((v = json_object_get(req, "op")) != NULL)
		json_object_set(msg, "op", v);
	json_object_foreach(req, key, v)
	{
		if (strcmp(key, "id") != 0 && strcmp(key, "op") != 0)
			json_object_set(msg, key, v);
	}
	line = proto_encode(msg, &len);
	op = json_string_value(json_object_get(msg, "op"));
	session_cleanse_secrets(msg);
	json_decref(msg);
	if (line == NULL) {
		snprintf(err, errlen, "cannot encode the request");
		return -1;
	}
	if (len - 1 > PROTO_MAX_LINE) {
		snprintf(err, errlen, "request too large: %zu bytes, the limit is %d", len - 1,
		         PROTO_MAX_LINE);
		OPENSSL_cleanse(line, len);
		free(line);
		return -1;
	}
	int rc = conn_send(s.conn, line, len);
	OPENSSL_cleanse(line, len);
	free(line);
	if (rc != 0) {
		snprintf(err, errlen, "cannot send: the server is not reading");
		return -1;
	}
	s.next_id++;
	struct request *r = &s.pending[(s.head + s.count) % AGENT_MAX_PENDING];
	r->id = id;
	r->kind = kind;
	snprintf(r->op, sizeof r->op, "%s", op != NULL ? op : "");
	r->sent_us = session_now_us();
	if (s.count++ == 0)
		session_arm_reply_timer();
	evtimer_add(s.keepalive_ev, &keepalive);
	return id;
}

/* Send login with the resume token when there is one, else the password. */
static void
session_send_login(void)
{
	char err[200];
	json_t *req;

	s.token_login = s.token != NULL;
	if (s.token_login)
		req = json_pack("{s:s,s:s}", "op", "login", "token", s.token);
	else
		req = json_pack("{s:s,s:s,s:s}", "op", "login", "user", s.cfg.user, "password",
		                s.cfg.password);
	if (req == NULL) {
		ui_error("the user name or password is not valid UTF-8");
		conn_close(s.conn);
		session_set_state(SESSION_OFFLINE);
		client_exit(EXIT_USAGE);
		return;
	}
	json_int_t id = session_request(req, REQ_LOGIN, err, sizeof err);
	session_cleanse_secrets(req);
	json_decref(req);
	if (id < 0)
		session_lost(CONN_FAIL_LOST, err);
}

/* Remember what a successful login returned. */
static void
session_store_login(const json_t *msg)
{
	const char *token = json_string_value(json_object_get(msg, "token"));
	json_t *agent = json_object_get(msg, "agent");

	session_drop_token();
	if (token != NULL)
		s.token = strdup(token);
	if (json_is_object(agent)) {
		json_decref(s.agent);
		s.agent = json_incref(agent);
	}
}

/* The reply to the automatic login. */
static void
session_login_reply(json_t *msg)
{
	json_t *e = json_object_get(msg, "error");
	const char *code = json_string_value(json_object_get(e, "code"));

	if (json_is_true(json_object_get(msg, "ok"))) {
		session_store_login(msg);
		session_set_state(SESSION_READY);
		s.backoff = 1;
		if (s.cfg.want_ops) {
			char err[200];
			json_t *hello = json_pack("{s:s}", "op", "hello");
			session_request(hello, REQ_HELLO, err, sizeof err);
			json_decref(hello);
		}
		client_ready(s.ever_ready);
		s.ever_ready = 1;
		return;
	}
	if (code == NULL)
		code = "internal";
	if (s.token_login && strcmp(code, "unauthorized") == 0) {
		/* expired or revoked: the password is still in memory */
		session_drop_token();
		session_send_login();
		return;
	}
	char *text = render_error(msg);
	if (s.ever_ready && s.cfg.reconnect &&
	    (strcmp(code, "rate_limited") == 0 || strcmp(code, "unavailable") == 0 ||
	     strcmp(code, "internal") == 0)) {
		json_t *ra = json_object_get(msg, "retry_after");
		if (json_is_integer(ra) && json_integer_value(ra) > s.backoff)
			s.backoff =
			    (int)(json_integer_value(ra) < 3600 ? json_integer_value(ra) : 3600);
		char reason[512];
		snprintf(reason, sizeof reason, "login refused: %s", text);
		free(text);
		session_lost(CONN_FAIL_LOST, reason);
		return;
	}
	if (s.cfg.reconnect)
		ui_error("login failed: %s", text);
	else
		ui_error("%s", text);
	free(text);
	conn_close(s.conn);
	session_clear_pending();
	session_set_state(SESSION_OFFLINE);
	client_exit(EXIT_SERVER);
}

/* Keep the op names from a hello reply for help and completion. */
static void
session_hello_reply(json_t *msg)
{
	json_t *ops = json_object_get(msg, "ops"), *v;
	size_t i, n = 0;

	if (!json_is_array(ops))
		return;
	for (i = 0; s.ops != NULL && s.ops[i] != NULL; i++)
		free(s.ops[i]);
	free(s.ops);
	s.ops = calloc(json_array_size(ops) + 1, sizeof *s.ops);
	if (s.ops == NULL)
		return;
	json_array_foreach(ops, i, v)
	{
		const char *name = json_string_value(v);
		if (n < SESSION_MAX_OPS && name != NULL && proto_name_valid(name))
			s.ops[n++] = strdup(name);
	}
}

/* One line from the server: a reply or an event. */
static void
session_line(void *arg, const char *line, size_t len)
{
	json_error_t jerr;
	struct request req;
	json_t *msg, *ev, *id;

	(void)arg;
	msg = json_loadb(line, len, 0, &jerr);
	if (!json_is_object(msg)) {
		char reason[300];
		snprintf(reason, sizeof reason, "server sent invalid JSON (%s)",
		         msg == NULL ? jerr.text : "not an object");
		json_decref(msg);
		session_lost(CONN_FAIL_PROTOCOL, reason);
		return;
	}
	ev = json_object_get(msg, "event");
	if (json_is_string(ev)) {
		if (strcmp(json_string_value(ev), "closing") == 0) {
			char *r = render_value(json_object_get(msg, "reason"));
			snprintf(s.closing, sizeof s.closing, "%s", r);
			free(r);
		}
		if (!s.finishing)
			client_event(msg, line, len);
		json_decref(msg);
		return;
	}
	id = json_object_get(msg, "id");
	if (!json_is_integer(id) || session_take_pending(json_integer_value(id), &req) != 0) {
		/* the server could not read one of our lines: say what it said */
		char *text = render_error(msg);
		ui_error("server: %s", text);
		free(text);
		json_decref(msg);
		return;
	}
	session_arm_reply_timer();
	switch (req.kind) {
	case REQ_LOGIN:
		session_login_reply(msg);
		break;
	case REQ_HELLO:
		session_hello_reply(msg);
		break;
	case REQ_KEEPALIVE:
		break;
	case REQ_LOGOUT:
		session_drop_token();
		conn_close(s.conn);
		session_clear_pending();
		session_set_state(SESSION_OFFLINE);
		client_exit(s.exit_code);
		break;
	case REQ_COMMAND:
		if (json_is_true(json_object_get(msg, "ok"))) {
			if (strcmp(req.op, "logout") == 0 && s.state == SESSION_READY) {
				session_drop_token();
				session_set_state(SESSION_LOGGED_OUT);
			} else if (strcmp(req.op, "login") == 0) {
				session_store_login(msg);
				if (s.state == SESSION_LOGGED_OUT)
					session_set_state(SESSION_READY);
			}
		}
		client_reply(&req, msg, line, len);
		break;
	}
	json_decref(msg);
}

/* A reconnect delay: the backoff step, jittered down by up to a quarter. */
static double
session_retry_delay(void)
{
	uint32_t r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		r = 0;
	return s.backoff * (0.75 + 0.25 * ((double)r / 4294967295.0));
}

/* The connection is gone (or we dropped it): reconnect or give up. */
static void
session_lost(enum conn_fail why, const char *reason)
{
	enum session_state was = s.state;
	size_t unanswered = session_clear_pending();
	char why_text[600];

	conn_close(s.conn);
	evtimer_del(s.keepalive_ev);
	session_set_state(SESSION_OFFLINE);
	if (why == CONN_FAIL_LOST && s.closing[0] != '\0')
		reason = s.closing;
	if (was == SESSION_LOGIN || was == SESSION_READY || was == SESSION_LOGGED_OUT)
		snprintf(why_text, sizeof why_text, "connection lost: %s", reason);
	else
		snprintf(why_text, sizeof why_text, "%s", reason);
	if (s.finishing) {
		client_exit(s.exit_code);
		return;
	}
	if (!s.cfg.reconnect || !s.ever_ready) {
		ui_error("%s", why_text);
		client_exit(EXIT_CONN);
		return;
	}
	double delay = session_retry_delay();
	struct timeval tv = {(time_t)delay, (suseconds_t)((delay - (time_t)delay) * 1e6)};
	int shown = (int)(delay + 0.999);
	char lost[64] = "";
	if (unanswered > 0)
		snprintf(lost, sizeof lost, " (%zu unanswered)", unanswered);
	if (was == SESSION_READY || was == SESSION_LOGGED_OUT)
		ui_error("%s%s; reconnecting in %d s", why_text, lost, shown);
	else
		ui_error("reconnect failed: %s; retrying in %d s", why_text, shown);
	evtimer_add(s.retry_ev, &tv);
	s.backoff = s.backoff * 2 > AGENT_BACKOFF_MAX ? AGENT_BACKOFF_MAX : s.backoff * 2;
	client_offline();
}

/* Transport callback: TLS is up, log in. */
static void
session_conn_up(void *arg)
{
	(void)arg;
	s.closing[0] = '\0';
	session_set_state(SESSION_LOGIN);
	session_send_login();
}

/* Transport callback: the connection ended. */
static void
session_conn_down(void *arg, enum conn_fail why, const char *reason)
{
	(void)arg;
	session_lost(why, reason);
}

static const struct conn_cb session_conn_cb = {
    .up = session_conn_up,
    .line = session_line,
    .down = session_conn_down,
};

/* Timer: try to connect again. */
static void
session_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	session_start();
}

/* Timer: nothing sent for a while; ping so the server keeps us. */
static void
session_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = {AGENT_KEEPALIVE, 0};
	char err[200];

	(void)fd;
	(void)what;
	(void)arg;
	if ((s.state == SESSION_READY || s.state == SESSION_LOGGED_OUT) && s.count == 0 &&
	    !s.finishing) {
		json_t *ping = json_pack("{s:s}", "op", "ping");
		json_int_t id = session_request(ping, REQ_KEEPALIVE, err, sizeof err);
		json_decref(ping);
		if (id >= 0)
			return; /* session_request re-armed the timer */
	}
	evtimer_add(s.keepalive_ev, &tv);
}

/* Timer: the oldest request got no reply in time. */
static void
session_reply_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	char reason[200];

	(void)fd;
	(void)what;
	(void)arg;
	snprintf(reason, sizeof reason, "no reply from the server to '%s' in %d s",
	         s.count > 0 ? s.pending[s.head].op : "?", AGENT_REPLY_TIMEOUT);
	session_lost(CONN_FAIL_TIMEOUT, reason);
}

/* Timer: logout on the way out took too long; leave anyway. */
static void
session_quit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	conn_close(s.conn);
	client_exit(s.exit_code);
}

/* Set up the session; nothing is sent until session_start. */
void
session_init(const struct session_config *cfg)
{
	memset(&s, 0, sizeof s);
	s.cfg = *cfg;
	s.state = SESSION_OFFLINE;
	s.backoff = 1;
	s.next_id = 1;
	s.conn =
	    conn_new(cfg->base, cfg->dns, cfg->ctx, cfg->host, cfg->port, &session_conn_cb, NULL);
	s.retry_ev = evtimer_new(cfg->base, session_retry_cb, NULL);
	s.keepalive_ev = evtimer_new(cfg->base, session_keepalive_cb, NULL);
	s.reply_ev = evtimer_new(cfg->base, session_reply_timeout_cb, NULL);
	s.quit_ev = evtimer_new(cfg->base, session_quit_cb, NULL);
	if (s.conn == NULL || s.retry_ev == NULL || s.keepalive_ev == NULL || s.reply_ev == NULL ||
	    s.quit_ev == NULL) {
		ui_error("ccagent: out of memory");
		exit(EXIT_CONN);
	}
}

/* Close everything and wipe the secrets. */
void
session_free(void)
{
	conn_free(s.conn);
	event_free(s.retry_ev);
	event_free(s.keepalive_ev);
	event_free(s.reply_ev);
	event_free(s.quit_ev);
	session_drop_token();
	json_decref(s.agent);
	for (size_t i = 0; s.ops != NULL && s.ops[i] != NULL; i++)
		free(s.ops[i]);
	free(s.ops);
	memset(&s, 0, sizeof s);
}

/* Connect (or reconnect) now. */
void
session_start(void)
{
	evtimer_del(s.retry_ev);
	session_set_state(SESSION_CONNECTING);
	conn_open(s.conn);
}

/* Log out if logged in, then leave with code. */
void
session_finish(int code)
{
	struct timeval tv = {AGENT_QUIT_TIMEOUT, 0};
	char err[200];

	if (s.finishing)
		return;
	s.finishing = 1;
	s.exit_code = code;
	evtimer_del(s.retry_ev);
	evtimer_del(s.keepalive_ev);
	if (s.state == SESSION_READY) {
		json_t *req = json_pack("{s:s}", "op", "logout");
		json_int_t id = session_request(req, REQ_LOGOUT, err, sizeof err);
		json_decref(req);
		if (id >= 0) {
			evtimer_add(s.quit_ev, &tv);
			return;
		}
	}
	conn_close(s.conn);
	client_exit(code);
}

/* The logged-in agent's user name, or the configured one. */
const char *
session_user(void)
{
	const char *u = json_string_value(json_object_get(s.agent, "user"));

	return u != NULL ? u : s.cfg.user;
}

/* The agent object from the last login (user, name, role, site), or NULL. */
const json_t *
session_agent(void)
{
	return s.agent;
}

/* Op names the server offered in hello; empty before hello. */
const char *const *
session_ops(void)
{
	static const char *const none[] = {NULL};

	return s.ops != NULL ? (const char *const *)s.ops : none;
}

/* Whether commands can be sent now. */
int
session_ready(void)
{
	return !s.finishing && (s.state == SESSION_READY || s.state == SESSION_LOGGED_OUT);
}
