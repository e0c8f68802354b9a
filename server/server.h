/* server.h: callcentred's live state and the modules that share it. The
 * event loop thread owns everything here; worker threads see only the
 * plain job structs they are handed (db.h). */
#ifndef CC_SERVER_H
#define CC_SERVER_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "errcode.h"
#include "throttle.h"

/* Why a connection ended: a metrics label and a log word each. */
enum close_reason {
	CLOSE_CLIENT,            /* the peer closed */
	CLOSE_IDLE,              /* no request within idle_timeout */
	CLOSE_HANDSHAKE_TIMEOUT, /* TLS not finished within handshake_timeout */
	CLOSE_HANDSHAKE_FAILED,  /* TLS handshake error */
	CLOSE_TOO_LARGE,         /* a line over the limit */
	CLOSE_BAD_INPUT,         /* invalid JSON or UTF-8 */
	CLOSE_SLOW_CONSUMER,     /* output queue over its cap */
	CLOSE_LIMIT,             /* over max_connections or the per-IP cap */
	CLOSE_SHUTDOWN,          /* server shutting down */
	CLOSE_ERROR,             /* socket or TLS error */
	CLOSE__COUNT
};
const char *close_reason_name(enum close_reason r);

enum role { ROLE_AGENT = 1, ROLE_SUPERVISOR = 2, ROLE_ADMIN = 4, ROLE_SERVICE = 8 };
#define ROLE_ANY (ROLE_AGENT | ROLE_SUPERVISOR | ROLE_ADMIN | ROLE_SERVICE)
/* The role bit for a role name; 0 when unknown. */
unsigned role_parse(const char *name);

/* Connection states; session_set_state() checks every transition. */
enum session_state {
	SESSION_HANDSHAKE, /* TLS handshake in progress */
	SESSION_OPEN,      /* reading requests */
	SESSION_CLOSING,   /* flushing output, then closed */
	SESSION_DEAD,      /* closed; freed when the last reference goes */
};

struct agent_info {
	unsigned int id;
	char user[257];
	char name[513];
	unsigned role;
	char role_name[16];
	char site[65];
	unsigned int site_id; /* sites.id of site; 0 when none */
};

struct session {
	TAILQ_ENTRY(session) entry;
	struct server *srv;
	struct bufferevent *bev;
	struct event *handshake_timer; /* the handshake's deadline, later the linger's */
	enum session_state state;
	int refs;
	unsigned long long serial;
	char ip[48];
	char peer[64];
	time_t since;

	int logged_in;
	struct agent_info agent;
	unsigned char token_digest[AUTH_TOKEN_HASH];
	int has_token;

	int busy;                  /* a request is waiting for a worker */
	int close_pending;         /* close once the request in flight is answered */
	time_t last_active;        /* when the last whole line arrived */
	int lingering;             /* closing: our side is shut, draining the peer's */
	enum close_reason pending; /* why we are closing */
	char pending_text[96];
	const char *refuse; /* over a limit: told after the handshake */
};
TAILQ_HEAD(session_list, session);

struct metrics {
	unsigned long long connections_total;
	unsigned long long handshake_failures;
	unsigned long long logins_ok, logins_failed, logins_throttled;
	unsigned long long errors[CC_ERR__COUNT];
	unsigned long long closes[CLOSE__COUNT];
	unsigned long long requests_total;
};

struct db_health {
	int ok; /* -1: not checked yet */
	char error[256];
	double latency; /* seconds */
	time_t checked;
	int in_flight;
};

struct ip_count;
struct sla_run;
struct router;
struct stats_run;

struct server {
	struct config cfg;
	struct event_base *base;
	SSL_CTX *ssl_ctx;
	struct evconnlistener *listener;
	struct evhttp *admin;
	struct db_pool *db;
	struct db_pool *cpu;
	struct throttle *fail_user;
	struct throttle *fail_ip;
	struct scrypt_params scrypt;
	char dummy_hash[AUTH_HASH_MAX]; /* verified for unknown users: same cost */

	struct session_list sessions;
	struct ip_count *ip_counts;
	unsigned nsessions;
	unsigned nlogged_in;
	unsigned long long next_serial;

	struct event *sig_term, *sig_int, *housekeeping, *shutdown_deadline, *accept_resume;
	int draining;
	int shutdown_expired; /* the shutdown deadline passed: cancel queued jobs */
	time_t started;
	time_t last_purge;
	struct db_health health;
	struct metrics metrics;
	struct sla_run *sla;     /* SLA clock timers (sla-run.c) */
	struct router *router;   /* routing (router.c) */
	struct stats_run *stats; /* queue statistics (stats-run.c) */
};

/* server.c */
int server_start(struct server *srv, char *err, size_t errlen);
void server_run(struct server *srv);
void server_free(struct server *srv);
/* A session ended: drop its counts, and finish a shutdown when it was the last. */
void server_session_gone(struct server *srv, struct session *s);
/* Count a new connection from ip; the reason to refuse it, or NULL. */
const char *server_admit(struct server *srv, const char *ip);
/* Refresh srv->health in the background. */
void server_check_health(struct server *srv);

/* session.c */
void session_accept(struct server *srv, evutil_socket_t fd, const struct sockaddr *sa);
void session_set_state(struct session *s, enum session_state next);
/* Queue a message; drops the session when its output is over the cap. */
void session_send(struct session *s, json_t *msg);
void session_reply_error(struct session *s, json_int_t id, enum cc_err code, const char *msg);
/* An error about one argument: the error object also names it ("field"). */
void session_reply_error_field(struct session *s, json_int_t id, enum cc_err code, const char *msg,
                               const char *field);
/* Send a closing event, flush, then close. */
void session_close_gracefully(struct session *s, enum close_reason why, const char *text);
/* Close now, without flushing. */
void session_close(struct session *s, enum close_reason why, const char *detail);
/* Send msg (consumed) to every logged-in session whose role is in roles,
 * or whose agent is agent_id (0: none). */
void session_broadcast(struct server *srv, unsigned roles, unsigned int agent_id, json_t *msg);
/* A request waits for a worker: hold a reference and stop reading. */
void session_hold(struct session *s);
/* The worker is done: resume reading; returns 0 when s is gone and the
 * result must be dropped (after which s must not be used). */
int session_release(struct session *s);
void session_ref(struct session *s);
void session_unref(struct session *s);

/* session.c: "ip" and "ip:port" (peer may be NULL) of a peer address. */
void peer_name(const struct sockaddr *sa, char *ip, size_t iplen, char *peer, size_t peerlen);

/* op.c */
struct op {
	const char *name;
	int public;     /* allowed before login */
	unsigned roles; /* who may call it once logged in */
	void (*fn)(struct session *s, json_int_t id, json_t *req);
	const char *summary;
};
/* Dispatch one request line's envelope. */
void op_dispatch(struct session *s, json_int_t id, const char *op, json_t *req);
/* The names of the ops a session may call, as a JSON array. */
json_t *op_names(const struct session *s);
/* Read a string argument of 1..max bytes; NULL after replying bad_request. */
const char *op_arg_string(struct session *s, json_int_t id, json_t *req, const char *key,
                          size_t max);

/* op-session.c */
void op_hello(struct session *s, json_int_t id, json_t *req);
void op_ping(struct session *s, json_int_t id, json_t *req);
void op_login(struct session *s, json_int_t id, json_t *req);
void op_logout(struct session *s, json_int_t id, json_t *req);
void op_whoami(struct session *s, json_int_t id, json_t *req);
/* op-ticket.c */
void op_ticket_create(struct session *s, json_int_t id, json_t *req);
void op_ticket_show(struct session *s, json_int_t id, json_t *req);
void op_ticket_list(struct session *s, json_int_t id, json_t *req);
void op_ticket_note(struct session *s, json_int_t id, json_t *req);
void op_ticket_transition(struct session *s, json_int_t id, json_t *req);
void op_ticket_update(struct session *s, json_int_t id, json_t *req);
void op_ticket_transfer(struct session *s, json_int_t id, json_t *req);
void op_ticket_resolve(struct session *s, json_int_t id, json_t *req);
void op_ticket_reopen(struct session *s, json_int_t id, json_t *req);
/* op-link.c */
void op_ticket_link(struct session *s, json_int_t id, json_t *req);
void op_ticket_unlink(struct session *s, json_int_t id, json_t *req);
void op_ticket_merge(struct session *s, json_int_t id, json_t *req);
void op_ticket_unmerge(struct session *s, json_int_t id, json_t *req);
void op_customer_merge(struct session *s, json_int_t id, json_t *req);
void op_customer_unmerge(struct session *s, json_int_t id, json_t *req);
/* op-web.c: the ops behind ccgateway (service accounts) */
void op_complaint_file(struct session *s, json_int_t id, json_t *req);
void op_complaint_status(struct session *s, json_int_t id, json_t *req);
void op_complaint_csat(struct session *s, json_int_t id, json_t *req);
void op_order_upsert(struct session *s, json_int_t id, json_t *req);
/* op-agent.c */
void op_agent_ready(struct session *s, json_int_t id, json_t *req);
void op_agent_pause(struct session *s, json_int_t id, json_t *req);
void op_agent_status(struct session *s, json_int_t id, json_t *req);
void op_agent_set(struct session *s, json_int_t id, json_t *req);
void op_agent_broadcast(struct session *s, json_int_t id, json_t *req);
void op_offer_accept(struct session *s, json_int_t id, json_t *req);
void op_offer_decline(struct session *s, json_int_t id, json_t *req);
void op_route_reload(struct session *s, json_int_t id, json_t *req);
void op_queue_set(struct session *s, json_int_t id, json_t *req);
void op_queue_items(struct session *s, json_int_t id, json_t *req);
/* op-call.c */
void op_call_arrive(struct session *s, json_int_t id, json_t *req);
void op_call_answer(struct session *s, json_int_t id, json_t *req);
void op_call_end(struct session *s, json_int_t id, json_t *req);
void op_call_abandon(struct session *s, json_int_t id, json_t *req);
void op_callback_request(struct session *s, json_int_t id, json_t *req);
void op_queue_estimate(struct session *s, json_int_t id, json_t *req);
void op_ticket_wait(struct session *s, json_int_t id, json_t *req);
/* op-stats.c */
void op_queue_stats(struct session *s, json_int_t id, json_t *req);
void op_stats_subscribe(struct session *s, json_int_t id, json_t *req);
void op_stats_unsubscribe(struct session *s, json_int_t id, json_t *req);
void op_stats_report(struct session *s, json_int_t id, json_t *req);
/* op-care.c */
void op_compensation_request(struct session *s, json_int_t id, json_t *req);
void op_compensation_approve(struct session *s, json_int_t id, json_t *req);
void op_compensation_issue(struct session *s, json_int_t id, json_t *req);
void op_followup_schedule(struct session *s, json_int_t id, json_t *req);
void op_followup_done(struct session *s, json_int_t id, json_t *req);
/* op-customer.c */
void op_customer_search(struct session *s, json_int_t id, json_t *req);
void op_customer_show(struct session *s, json_int_t id, json_t *req);
json_t *agent_info_json(const struct agent_info *a);

/* admin.c */
int admin_start(struct server *srv, char *err, size_t errlen);

/* metrics.c */
void metrics_write(struct server *srv, struct evbuffer *out);

#endif
