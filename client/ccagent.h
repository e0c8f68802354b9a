/* ccagent.h: the agent terminal client. One header split into sections, one
 * per file; nothing here is used outside client/. */
#ifndef CCAGENT_H
#define CCAGENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "proto.h"

/* Exit status, also documented in docs/OPERATIONS.md. */
#define EXIT_OK     0 /* every command succeeded */
#define EXIT_SERVER 1 /* the server refused a command or the login */
#define EXIT_USAGE  2 /* bad command line, config file or command syntax */
#define EXIT_CONN   3 /* cannot connect, TLS failure, or the connection was lost */

#define AGENT_MAX_REPLY       (1024 * 1024) /* longest line taken from the server */
#define AGENT_MAX_OUTPUT      (1024 * 1024) /* unsent request bytes before refusing more */
#define AGENT_MAX_PENDING     64            /* requests awaiting their reply */
#define AGENT_MAX_SCRIPT      (1024 * 1024) /* commands read from standard input */
#define AGENT_MAX_PASSWORD    1024          /* bytes of a password or user name */
#define AGENT_KEEPALIVE       60            /* idle seconds before a ping */
#define AGENT_REPLY_TIMEOUT   30            /* seconds a request may wait for its reply */
#define AGENT_CONNECT_TIMEOUT 10            /* seconds for resolve, connect and TLS */
#define AGENT_BACKOFF_MAX     30            /* longest wait between reconnect attempts */
#define AGENT_QUIT_TIMEOUT    3             /* seconds quitting waits for logout */
#define AGENT_HISTORY_MAX     1000          /* lines of history kept */

/* ccagent.c: the program; the upper layer that session.c reports to. */
struct request;
/* Logged in; again is set after a reconnect. */
void client_ready(int again);
/* The session dropped and a reconnect is scheduled (interactive only). */
void client_offline(void);
/* A reply to a command typed or scripted by the user. */
void client_reply(const struct request *req, json_t *msg, const char *line, size_t len);
/* A server push ({"event": ...}). */
void client_event(json_t *msg, const char *line, size_t len);
/* Leave the event loop with this exit status. */
void client_exit(int code);

/* prompt.c: questions asked on the terminal before connecting. */
/* Ask on /dev/tty; echo off for secrets. 0 on success, -1 with err set. */
int prompt_tty(const char *question, int echo, char *buf, size_t len, char *err, size_t errlen);

/* conn.c: transport: resolve, connect, TLS with verification, line framing.
 * Knows nothing of the protocol beyond "lines". */
enum conn_fail {
	CONN_FAIL_RESOLVE,  /* the host name does not resolve */
	CONN_FAIL_CONNECT,  /* no address accepted the TCP connection */
	CONN_FAIL_TLS,      /* handshake or certificate verification failed */
	CONN_FAIL_TIMEOUT,  /* connecting took too long */
	CONN_FAIL_LOST,     /* an established connection ended */
	CONN_FAIL_PROTOCOL, /* the server sent something we cannot frame */
};
struct conn_cb {
	void (*up)(void *arg);                                           /* handshake done */
	void (*line)(void *arg, const char *line, size_t len);           /* one line, no LF */
	void (*down)(void *arg, enum conn_fail why, const char *reason); /* closed */
};
struct conn;
struct conn *conn_new(struct event_base *base, struct evdns_base *dns, SSL_CTX *ctx,
                      const char *host, const char *port, const struct conn_cb *cb, void *arg);
void conn_free(struct conn *c);
void conn_open(struct conn *c);
void conn_close(struct conn *c);
int conn_is_up(const struct conn *c);
int conn_send(struct conn *c, const char *data, size_t len);

/* session.c: protocol: login, request/reply matching, keepalive, reconnect. */
enum req_kind {
	REQ_COMMAND,   /* typed or scripted by the user: the reply is shown */
	REQ_LOGIN,     /* automatic login, with the password or a resume token */
	REQ_HELLO,     /* automatic hello after login: the server's op list */
	REQ_KEEPALIVE, /* ping sent when idle */
	REQ_LOGOUT,    /* logout on the way out */
};
struct request {
	json_int_t id;
	enum req_kind kind;
	char op[PROTO_MAX_OP + 1];
	uint64_t sent_us; /* monotonic */
};
struct session_config {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ctx;
	const char *host;
	const char *port;
	const char *user;
	const char *password;
	int reconnect; /* interactive: reconnect after a loss, with backoff */
	int want_ops;  /* send hello after login to learn the op list */
};
void session_init(const struct session_config *cfg);
void session_free(void);
void session_start(void);
/* Send a command; req is {"op":..., args} and gets an id. Returns the id, or
 * -1 with err set (not connected, too many pending, too large). */
json_int_t session_request(json_t *req, enum req_kind kind, char *err, size_t errlen);
/* Log out if logged in, then leave the loop with code. */
void session_finish(int code);
/* The logged-in agent's user name, or the configured one. */
const char *session_user(void);
/* The "agent" object of the last login, or NULL. */
const json_t *session_agent(void);
/* Ops the server offers (from hello); NULL-terminated, possibly empty. */
const char *const *session_ops(void);
/* Whether the session can take commands now. */
int session_ready(void);
uint64_t session_now_us(void);

/* cmd.c: command table, parsing, request building. */
enum cmd_type {
	CMD_HELP,    /* print help, locally */
	CMD_QUIT,    /* leave */
	CMD_REQUEST, /* send request to the server */
};
struct cmd {
	enum cmd_type type;
	json_t *request; /* CMD_REQUEST: {"op":..., args...}, no id */
	char *topic;     /* CMD_HELP: the command asked about, or NULL */
};
struct cmd_list {
	struct cmd *v;
	size_t n;
};
/* The ticket of the offer last shown (for accept and decline); "" none. */
void cmd_offer_set(const char *ref);
/* ccagent.c: the offer is answered or gone: no more countdown. */
void client_offer_clear(void);
const char *cmd_offer_get(void);
/* Parse a line of commands separated by unquoted ';'. 0 or -1 with err. */
int cmd_parse(const char *text, struct cmd_list *out, char *err, size_t errlen);
void cmd_list_free(struct cmd_list *list);
/* Help for every command, or for one; caller frees. */
char *cmd_help(const char *topic);
/* The state-th completion candidate for the first word starting with
 * prefix; NULL when there are no more. Caller frees. */
char *cmd_complete(const char *prefix, int state);
/* Whether a line may go into the history file (no secrets). */
int cmd_history_ok(const char *line);

/* render.c: human and raw output of replies and events; all text returned is
 * safe to print on a terminal. Caller frees. */
char *render_reply(const char *op, const json_t *reply, double rtt_ms);
char *render_error(const json_t *reply);
char *render_event(const json_t *event);
char *render_raw(const char *line, size_t len);
/* A scalar (or compact JSON for containers) as one terminal-safe line. */
char *render_value(const json_t *v);
struct evbuffer;
/* The buffer's contents as a string; frees the buffer. */
char *render_take(struct evbuffer *b);

/* view.c: layouts of records read at a glance, sized to the terminal. */
/* Terminal cells taken by a (sanitised) UTF-8 string. */
size_t view_width(const char *s);
/* The customer 360 view of a customer.show reply or customer.pop event. */
char *view_customer(const json_t *reply);
/* A ticket with notes, history and links (ticket.show). */
char *view_ticket(const json_t *reply);
/* Just the ticket's header (replies to changes: create, note, transition). */
char *view_ticket_brief(const json_t *reply);
/* One line a ticket (ticket.list). */
char *view_ticket_list(const json_t *reply);

/* report.c: `ccagent report`: stats.report as a table, CSV, JSON or SVG. */
struct report_opts {
	const char *from, *to, *by, *site, *queue; /* site, queue: NULL for all */
	const char *format;                        /* table, csv or json */
	const char *chart;                         /* SVG file to write, or NULL */
};
/* Parse the report's arguments (argv[0] is "report"). 0, or -1 with err. */
int report_args(int argc, char **argv, struct report_opts *o, char *err, size_t errlen);
/* The stats.report request for o, without an id. */
json_t *report_request(const struct report_opts *o);
/* A stats.report reply's rows (and totals) rendered; caller frees. */
char *report_table(const json_t *reply);
char *report_csv(const json_t *reply);
char *report_json(const json_t *reply);
/* A standalone SVG: volume as bars and service level as a line. */
char *report_svg(const json_t *reply, const char *title);
/* Print the reply as o asks and write the chart. 0, or -1 with err. */
int report_output(const struct report_opts *o, const json_t *reply, char *err, size_t errlen);
/* Append s cut or padded to exactly cols cells (right-aligned when right). */
void report_cell(struct evbuffer *b, const char *s, size_t cols, int right);

/* top.c: `ccagent top`: the supervisors' full-screen live view. */
/* Take the terminal and subscribe; 0, or -1 with err (not a terminal). */
int top_init(struct event_base *base, char *err, size_t errlen);
/* Logged in (again after a reconnect): (re)subscribe. */
void top_ready(void);
/* The reply to one of top's requests. */
void top_reply(const struct request *req, json_t *msg);
/* A server push. */
void top_event(json_t *msg);
/* Give the terminal back (idempotent); safe to call from any exit path. */
void top_stop(void);
/* Give the terminal back and free everything (after the event loop). */
void top_free(void);

/* ui.c: terminal output and the interactive line editor. */
void ui_init(struct event_base *base, int interactive, int quiet);
/* Start the editor: prompt shown, lines go to line_cb (NULL at EOF). */
int ui_start(const char *prompt, void (*line_cb)(char *line));
/* Stop reading input and take the prompt away (quitting). */
void ui_hold(void);
/* Restore the terminal and save the history. */
void ui_stop(void);
void ui_set_prompt(const char *prompt);
/* Output text (a result) on stdout above the prompt; sanitised. */
void ui_print(const char *text);
/* Status line; suppressed by --quiet. stdout when interactive, else stderr. */
void ui_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error or warning line on stderr, never suppressed. */
void ui_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
