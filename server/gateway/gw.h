/* gw.h: ccgateway, the public HTTPS face of callcentre. One header split
 * into sections, one per file (docs/ARCHITECTURE.md, "ccgateway"). */
#ifndef CC_GW_H
#define CC_GW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "page.h"

#define GW_PATH_MAX 1024

/* gw-config.c */
struct gw_config {
	char listen[256];
	int max_connections;
	int max_connections_per_ip;
	int max_header_bytes;
	int max_body_bytes;
	int timeout;
	int request_timeout;
	char tls_cert[GW_PATH_MAX];
	char tls_key[GW_PATH_MAX];
	char upstream_host[256];
	int upstream_port;
	char upstream_server_name[256];
	char upstream_ca_file[GW_PATH_MAX];
	char upstream_user[128];
	char upstream_password_file[GW_PATH_MAX];
	int upstream_connections;
	int upstream_request_timeout;
	int upstream_reconnect_max;
	char form_secret_file[GW_PATH_MAX];
	int form_token_ttl;
	char api_keys_file[GW_PATH_MAX];
	int ip_requests_per_minute;
	int ip_complaints_per_hour;
	int contact_complaints_per_hour;
	int limit_table_size;
	char log_level[16];
	char base_dir[GW_PATH_MAX];

	/* read by gw_config_finish */
	char upstream_password[256];
	unsigned char form_secret[256];
	size_t form_secret_len;
};

void gw_config_defaults(struct gw_config *cfg);
/* Read an INI file; -1 with err (file:line: what) on failure. */
int gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t errlen);
/* Resolve paths, check the listen address, read the secrets; -1 with err. */
int gw_config_finish(struct gw_config *cfg, char *err, size_t errlen);
/* Split "host:port" or "[v6]:port"; -1 when malformed. */
int gw_split_addr(const char *addr, char *host, size_t hostlen, int *port);

/* token.c: form tokens, API keys, random and encodings */
#define GW_NONCE_LEN      22 /* base64url of 16 random bytes */
#define GW_FORM_TOKEN_MAX 128
#define GW_API_KEY_MAX    64

enum gw_token_check { GW_TOKEN_OK, GW_TOKEN_FORGED, GW_TOKEN_EXPIRED };

/* base64url without padding of n bytes into out (4*ceil(n/3)+1 bytes). */
void gw_b64url(char *out, const unsigned char *in, size_t n);
/* Lower-case hex SHA-256 of s into out[65]. */
void gw_sha256_hex(char out[65], const char *s, size_t len);
/* A form token "1.<issued-ms>.<nonce>.<mac>" issued at now_ms. */
void gw_form_token_make(const struct gw_config *cfg, int64_t now_ms, char out[GW_FORM_TOKEN_MAX]);
/* The same with a given nonce: a form shown again after a valid post keeps
 * its submission's name, so that sending it again cannot file twice. */
void gw_form_token_renew(const struct gw_config *cfg, int64_t now_ms, const char *nonce,
                         char out[GW_FORM_TOKEN_MAX]);
/* Check a form token in constant time; on OK copies its nonce. */
enum gw_token_check gw_form_token_check(const struct gw_config *cfg, const char *token,
                                        int64_t now_ms, char nonce[GW_NONCE_LEN + 1]);

struct gw_api_key {
	char name[65];
	unsigned char hash[32];
};
struct gw_api_keys {
	struct gw_api_key *keys;
	size_t n;
};
/* Read "name sha256hex" lines; -1 with err (file:line: what). */
int gw_api_keys_load(struct gw_api_keys *ks, const char *path, char *err, size_t errlen);
void gw_api_keys_free(struct gw_api_keys *ks);
/* The name of the key presented, or NULL; every entry is compared in
 * constant time. */
const char *gw_api_keys_match(const struct gw_api_keys *ks, const char *presented);
/* --new-api-key NAME: print a fresh key and its line; exit status. */
int gw_api_key_new(const char *name);

/* limit.c: per-key token buckets in a bounded table */
struct gw_limit;
/* rate events per period_ms for each key, at most slots keys remembered
 * (the least recently used is forgotten first); NULL when rate or
 * period_ms is below 1. */
struct gw_limit *gw_limit_new(int rate, int64_t period_ms, size_t slots);
void gw_limit_free(struct gw_limit *l);
/* Take one event for key at now_ms: 0 when allowed, else the seconds to
 * wait (>= 1) and nothing is taken. */
int gw_limit_take(struct gw_limit *l, const char *key, int64_t now_ms);
/* Would one event for key be allowed at now_ms? 0, else the seconds to
 * wait; nothing is taken. */
int gw_limit_check(struct gw_limit *l, const char *key, int64_t now_ms);
/* Take one event for key at now_ms, even when none is left (the debt is
 * paid back before the next is allowed, at most one period's worth). */
void gw_limit_charge(struct gw_limit *l, const char *key, int64_t now_ms);

/* form.c: the complaint's fields, from a form or from JSON */
#define GW_MAX_FIELD_ERRORS 10

struct gw_kv {
	char *name;
	char *value;
};
struct gw_kvs {
	struct gw_kv items[24];
	size_t n;
};
/* Parse application/x-www-form-urlencoded (at most 24 fields); -1 when
 * malformed (bad escape, NUL, too many fields). */
int gw_kvs_parse(struct gw_kvs *kv, const char *body, size_t len);
void gw_kvs_free(struct gw_kvs *kv);
/* The value of name, or NULL. */
const char *gw_kvs_get(const struct gw_kvs *kv, const char *name);

/* What a getter returns for a member that is present but not a string. */
extern const char gw_not_text[];
/* Fill f from the fields (get: name -> raw value, NULL, or gw_not_text) and check every
 * field; the errors found (at most GW_MAX_FIELD_ERRORS), in form order. */
size_t gw_form_fill(struct gw_form *f, const char *(*get)(void *, const char *), void *arg,
                    struct gw_field_error *errors);
/* The complaint.file request members of a checked form. */
json_t *gw_form_request(const struct gw_form *f, enum gw_lang lang, const char *idem_key);
/* A key for the per-contact limit: the phone's digits, else the e-mail
 * lower-cased; "" when neither. */
void gw_form_contact_key(const struct gw_form *f, char *out, size_t len);
/* Is s 1..max characters of valid UTF-8 without control characters
 * (newlines and tabs allowed when multiline)? */
int gw_text_ok(const char *s, size_t max_chars, int multiline);

/* upstream.c: the pool of logged-in connections to callcentred */
struct gw_upstream;
/* reply: the whole reply object ({"ok": true, ...} or the error); NULL when
 * no answer came (no connection, timeout, connection lost): then err says
 * why. Called once, on the loop. */
typedef void (*gw_upstream_cb)(json_t *reply, const char *err, void *arg);

struct gw_upstream *gw_upstream_new(struct event_base *base, const struct gw_config *cfg,
                                    SSL_CTX *ctx);
void gw_upstream_free(struct gw_upstream *u);
/* Is at least one connection logged in? */
int gw_upstream_ready(const struct gw_upstream *u);
/* Seconds a client should wait before trying again. */
int gw_upstream_retry_after(const struct gw_upstream *u);
/* Send req (its "op" set, "id" added here; reference taken) on the least
 * busy connection. -1 (cb not called) when no connection is up. */
int gw_upstream_call(struct gw_upstream *u, json_t *req, gw_upstream_cb cb, void *arg);
/* Fail every call in flight (shutdown). */
void gw_upstream_fail_all(struct gw_upstream *u, const char *why);

/* http.c: the listener, limits, headers and dispatch */
struct gw_conn;
TAILQ_HEAD(gw_conn_list, gw_conn);
struct gw {
	struct event_base *base;
	struct gw_config *cfg;
	SSL_CTX *server_ctx;
	struct evhttp *http;
	struct evconnlistener *listener;
	int listener_paused;
	int connections;
	struct gw_conn_list conns; /* every connection whose address is counted */
	struct gw_upstream *up;
	struct gw_api_keys keys;
	struct gw_limit *ip_requests;
	struct gw_limit *ip_complaints;
	struct gw_limit *contact_complaints;
	int shutting_down;
};

/* Bind and serve; -1 with err. */
int gw_http_start(struct gw *gw, char *err, size_t errlen);
void gw_http_stop(struct gw *gw);
/* Milliseconds since the epoch. */
int64_t gw_now_ms(void);
/* The client's address ("ip"). */
const char *gw_peer(struct evhttp_request *req);
/* The key that per-address limits count addr under: an IPv4 address (also
 * when IPv4-mapped) as itself, an IPv6 address by its /64
 * ("2001:db8:1:2::/64"), since one host holds a whole /64. */
void gw_addr_key(const char *addr, char *out, size_t len);
/* Is a form post from our own pages? Not when Sec-Fetch-Site is
 * "cross-site"; without Sec-Fetch-Site, not when Origin is present, not
 * "null", and not https://<Host>. */
int gw_same_origin(struct evhttp_request *req);
/* Send status with body (may be NULL) and the content type. */
void gw_send(struct evhttp_request *req, int status, const char *type, struct evbuffer *body);
/* Add Retry-After: seconds. */
void gw_retry_after(struct evhttp_request *req, int seconds);
/* The value of a query parameter of the request URI (malloc'd), or NULL. */
char *gw_query_param(struct evhttp_request *req, const char *name);
/* The request body as a NUL-terminated string (malloc'd); NULL when it
 * holds a NUL byte. */
char *gw_body(struct evhttp_request *req, size_t *len);

/* web.c: the pages */
void gw_web_form(struct gw *gw, struct evhttp_request *req, enum gw_lang lang);
void gw_web_complaint(struct gw *gw, struct evhttp_request *req, enum gw_lang lang);
void gw_web_confirm(struct gw *gw, struct evhttp_request *req, enum gw_lang lang, const char *ref);
void gw_web_status(struct gw *gw, struct evhttp_request *req, enum gw_lang lang, const char *ref);
void gw_web_csat(struct gw *gw, struct evhttp_request *req, enum gw_lang lang, const char *ref);
void gw_web_error(struct evhttp_request *req, enum gw_lang lang, int status);

/* api.c: the REST API */
/* Dispatch a request whose path starts with /api/; path has no query. */
void gw_api_dispatch(struct gw *gw, struct evhttp_request *req, const char *path);
/* An RFC 9457 problem (errors may be NULL; reference taken). */
void gw_api_problem(struct evhttp_request *req, int status, const char *detail, json_t *errors);

#endif
