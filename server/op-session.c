/* op-session.c: hello, ping, login, logout, whoami.
 *
 * login runs in up to three steps, each on a worker, never on the loop:
 * fetch the agent (db pool), verify the scrypt hash (cpu pool), record the
 * resume token (db pool). An unknown user is verified against a dummy hash
 * of the same cost, so timing does not tell which user names exist, and
 * both failures get the same message. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>

#include "log.h"
#include "proto.h"
#include "router.h"
#include "server.h"
#include "store.h"

#define LOGIN_USER_MAX     64
#define LOGIN_PASSWORD_MAX 1024

struct login_job {
	struct session *s;
	json_int_t id;
	int by_token;
	char user[LOGIN_USER_MAX + 1];
	char user_key[LOGIN_USER_MAX + 3];
	char ip_key[56];
	char peer[64];
	char *password;
	size_t pwlen;
	unsigned char digest[AUTH_TOKEN_HASH]; /* presented or new token */
	char token[AUTH_TOKEN_LEN + 1];        /* new token */
	int ttl;
	const char *hash; /* what the cpu step verifies against */

	int begun_user; /* throttle_begin was called for user_key */
	int begun_ip;   /* ... and for ip_key */

	int found;    /* 1, 0, or -1 on a database error */
	int verified; /* 1 match, 0 mismatch, -1 bad hash */
	int stored;   /* 0 ok, -1 error */
	int db_down;
	char err[256];
	struct agent_row row;
};

void
op_hello(struct session *s, json_int_t id, json_t *req)
{
	json_t *r = proto_reply_ok(id);

	(void)req;
	json_object_set_new(r, "server", json_string("callcentred"));
	json_object_set_new(r, "version", json_string(CC_VERSION));
	json_object_set_new(r, "protocol", json_integer(PROTO_VERSION));
	json_object_set_new(r, "ops", op_names(s));
	json_object_set_new(r, "max_line", json_integer(PROTO_MAX_LINE));
	session_send(s, r);
}

void
op_ping(struct session *s, json_int_t id, json_t *req)
{
	json_t *r = proto_reply_ok(id);
	struct timeval tv;

	(void)req;
	gettimeofday(&tv, NULL);
	json_object_set_new(r, "time",
	                    json_integer((json_int_t)tv.tv_sec * 1000 + tv.tv_usec / 1000));
	session_send(s, r);
}

json_t *
agent_info_json(const struct agent_info *a)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:s?}", "id", (json_int_t)a->id, "user", a->user, "name",
	                 a->name, "role", a->role_name, "site", a->site[0] ? a->site : NULL);
}

/* Free a login job, wiping the password. */
static void
login_job_free(struct login_job *j)
{
	if (j->password) {
		OPENSSL_cleanse(j->password, j->pwlen);
		free(j->password);
	}
	OPENSSL_cleanse(j->token, sizeof j->token);
	free(j);
}

/* Release the session and free the job; 0 when the session is gone. */
static int
login_release(struct login_job *j)
{
	struct server *srv = j->s->srv;
	int alive;

	if (j->begun_user)
		throttle_end(srv->fail_user, j->user_key);
	if (j->begun_ip)
		throttle_end(srv->fail_ip, j->ip_key);
	alive = session_release(j->s);

	login_job_free(j);
	return alive;
}

/* Answer a failed login and count it against the user and the address. */
static void
login_fail(struct login_job *j, enum cc_err code, const char *msg, const char *why)
{
	struct session *s = j->s;
	struct server *srv = s->srv;
	time_t now = time(NULL);

	if (code == CC_ERR_UNAUTHORIZED) {
		if (!j->by_token)
			throttle_fail(srv->fail_user, j->user_key, now);
		throttle_fail(srv->fail_ip, j->ip_key, now);
		srv->metrics.logins_failed++;
	}
	log_warn("auth", "msg=\"login failed\" user=%s peer=%s reason=\"%s\"",
	         j->by_token ? "(token)" : j->user, s->peer, why);
	session_reply_error(s, j->id, code, msg);
	login_release(j);
}

/* Log the session in and answer. */
static void
login_succeed(struct login_job *j)
{
	struct session *s = j->s;
	struct server *srv = s->srv;
	struct agent_info *a = &s->agent;
	json_t *r;

	if (!j->by_token)
		throttle_clear(srv->fail_user, j->user_key);
	memset(a, 0, sizeof *a);
	a->id = j->row.id;
	snprintf(a->user, sizeof a->user, "%s", j->row.username);
	snprintf(a->name, sizeof a->name, "%s", j->row.display_name);
	snprintf(a->role_name, sizeof a->role_name, "%s", j->row.role);
	snprintf(a->site, sizeof a->site, "%s", j->row.site);
	a->site_id = j->row.site_id;
	a->role = role_parse(j->row.role);
	s->logged_in = 1;
	memcpy(s->token_digest, j->digest, sizeof s->token_digest);
	s->has_token = 1;
	srv->nlogged_in++;
	srv->metrics.logins_ok++;
	log_info("auth", "msg=\"login\" user=%s role=%s peer=%s via=%s", a->user, a->role_name,
	         s->peer, j->by_token ? "token" : "password");
	r = proto_reply_ok(j->id);
	json_object_set_new(r, "agent", agent_info_json(a));
	if (!j->by_token) {
		json_object_set_new(r, "token", json_string(j->token));
		json_object_set_new(r, "token_expires", json_integer(time(NULL) + j->ttl));
	}
	session_send(s, r);
	login_release(j);
}

/* db worker: look the user up. */
static void
login_fetch_work(struct db_conn *c, void *arg)
{
	struct login_job *j = arg;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	if (m == NULL) {
		j->found = -1;
		j->db_down = 1;
		return;
	}
	if (j->by_token)
		j->found = store_session_lookup(m, j->digest, &j->row, j->err, sizeof j->err);
	else
		j->found = store_agent_by_username(m, j->user, &j->row, j->err, sizeof j->err);
	if (j->found < 0)
		j->db_down = db_conn_failed(c, store_errno());
}

/* db worker: store the new resume token. */
static void
login_store_work(struct db_conn *c, void *arg)
{
	struct login_job *j = arg;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	if (m == NULL) {
		j->stored = -1;
		j->db_down = 1;
		return;
	}
	j->stored =
	    store_session_insert(m, j->digest, j->row.id, j->ttl, j->peer, j->err, sizeof j->err);
	if (j->stored < 0)
		j->db_down = db_conn_failed(c, store_errno());
}

/* cpu worker: check the password. */
static void
login_verify_work(struct db_conn *c, void *arg)
{
	struct login_job *j = arg;

	if (db_conn_cancelled(c))
		j->verified = -2; /* shutting down: nobody will read the answer */
	else
		j->verified = auth_verify_password(j->password, j->pwlen, j->hash);
	OPENSSL_cleanse(j->password, j->pwlen);
}

/* Answer a database failure. */
static void
login_db_error(struct login_job *j)
{
	log_error("auth", "msg=\"database error during login\" peer=%s error=\"%s\"", j->s->peer,
	          j->err);
	login_fail(j, j->db_down ? CC_ERR_UNAVAILABLE : CC_ERR_INTERNAL,
	           j->db_down ? "the database is unreachable; try again shortly"
	                      : "login failed on a database error",
	           "database error");
}

/* Submit a step or answer "unavailable" when the pool is saturated. */
static void
login_submit(struct login_job *j, struct db_pool *pool, db_work_fn work, db_done_fn done)
{
	if (pool == NULL || db_pool_submit(pool, work, done, j) != 0)
		login_fail(j, CC_ERR_UNAVAILABLE, "the server is overloaded; try again shortly",
		           "worker queue full");
}

static void login_verify_done(void *arg);
static void login_store_done(void *arg);

/* loop: the user row (or token) came back. */
static void
login_fetch_done(void *arg)
{
	struct login_job *j = arg;
	struct server *srv = j->s->srv;

	if (j->s->state != SESSION_OPEN) {
		login_release(j);
		return;
	}
	if (j->found < 0) {
		login_db_error(j);
		return;
	}
	if (j->by_token) {
		if (j->found == 0 || !j->row.active)
			login_fail(j, CC_ERR_UNAUTHORIZED, "resume token expired or revoked",
			           "bad token");
		else
			login_succeed(j);
		return;
	}
	j->hash = j->found ? j->row.password_hash : srv->dummy_hash;
	login_submit(j, srv->cpu, login_verify_work, login_verify_done);
}

/* loop: the password was checked. */
static void
login_verify_done(void *arg)
{
	struct login_job *j = arg;
	struct server *srv = j->s->srv;

	if (j->s->state != SESSION_OPEN) {
		login_release(j);
		return;
	}
	if (j->verified == -2) {
		login_fail(j, CC_ERR_UNAVAILABLE, "the server is shutting down", "shutdown");
		return;
	}
	if (j->verified < 0 && j->found) {
		log_error("auth", "msg=\"malformed password hash\" user=%s", j->user);
		login_fail(j, CC_ERR_INTERNAL, "this account's password hash is damaged",
		           "bad hash");
		return;
	}
	if (!j->found || j->verified != 1) {
		login_fail(j, CC_ERR_UNAUTHORIZED, "wrong user name or password",
		           j->found ? "wrong password" : "unknown user");
		return;
	}
	if (!j->row.active) {
		login_fail(j, CC_ERR_FORBIDDEN, "this account is disabled", "account disabled");
		return;
	}
	if (auth_token_new(j->token) != 0) {
		login_fail(j, CC_ERR_INTERNAL, "cannot make a session token", "RAND failed");
		return;
	}
	auth_token_digest(j->token, AUTH_TOKEN_LEN, j->digest);
	j->ttl = srv->cfg.session_ttl;
	login_submit(j, srv->db, login_store_work, login_store_done);
}

/* loop: the resume token is stored: the login is complete. */
static void
login_store_done(void *arg)
{
	struct login_job *j = arg;

	if (j->s->state != SESSION_OPEN) {
		login_release(j);
		return;
	}
	if (j->stored != 0) {
		login_db_error(j);
		return;
	}
	login_succeed(j);
}

/* Is name a plausible user name: letters, digits, . _ @ - only. */
static int
login_user_valid(const char *name)
{
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._@-", *p))
			return 0;
	return 1;
}

void
op_login(struct session *s, json_int_t id, json_t *req)
{
	struct server *srv = s->srv;
	struct login_job *j;
	const char *user = NULL, *password = NULL, *token = NULL;
	time_t now = time(NULL);
	int wait_user = 0, wait_ip;

	if (s->logged_in) {
		char msg[320];
		snprintf(msg, sizeof msg, "already logged in as %s; log out first", s->agent.user);
		session_reply_error(s, id, CC_ERR_CONFLICT, msg);
		return;
	}
	if (json_object_get(req, "token") != NULL) {
		if ((token = op_arg_string(s, id, req, "token", AUTH_TOKEN_LEN)) == NULL)
			return;
	} else {
		if ((user = op_arg_string(s, id, req, "user", LOGIN_USER_MAX)) == NULL ||
		    (password = op_arg_string(s, id, req, "password", LOGIN_PASSWORD_MAX)) == NULL)
			return;
		if (!login_user_valid(user)) {
			session_reply_error(s, id, CC_ERR_BAD_REQUEST,
			                    "user names have only letters, digits and . _ @ -");
			return;
		}
	}
	if ((j = calloc(1, sizeof *j)) == NULL)
		abort();
	j->s = s;
	j->id = id;
	snprintf(j->ip_key, sizeof j->ip_key, "%s", s->ip);
	snprintf(j->peer, sizeof j->peer, "%s", s->peer);
	if (token) {
		j->by_token = 1;
		auth_token_digest(token, strlen(token), j->digest);
	} else {
		snprintf(j->user, sizeof j->user, "%s", user);
		for (size_t i = 0; user[i]; i++)
			j->user_key[i] = (char)tolower((unsigned char)user[i]);
		wait_user = throttle_wait(srv->fail_user, j->user_key, now);
		j->pwlen = strlen(password);
		if ((j->password = malloc(j->pwlen + 1)) == NULL)
			abort();
		memcpy(j->password, password, j->pwlen + 1);
		/* the request's own copy goes back to the allocator wiped */
		OPENSSL_cleanse((char *)(uintptr_t)password, j->pwlen);
	}
	wait_ip = throttle_wait(srv->fail_ip, j->ip_key, now);
	if (wait_user > 0 || wait_ip > 0) {
		char msg[160];
		int wait = wait_user > wait_ip ? wait_user : wait_ip;
		json_t *r;
		snprintf(msg, sizeof msg, "too many failed logins for this %s; retry in %d s",
		         wait_user > 0 ? "user" : "address", wait);
		srv->metrics.logins_throttled++;
		srv->metrics.errors[CC_ERR_RATE_LIMITED]++;
		log_warn("auth", "msg=\"login throttled\" user=%s peer=%s retry_after=%d",
		         j->by_token ? "(token)" : j->user, s->peer, wait);
		r = proto_reply_error(id, CC_ERR_RATE_LIMITED, msg);
		json_object_set_new(json_object_get(r, "error"), "retry_after", json_integer(wait));
		json_object_set_new(r, "retry_after", json_integer(wait));
		session_send(s, r);
		login_job_free(j);
		return;
	}
	/* the attempt counts against the user and the address while it is being
	 * checked, so that parallel guesses cannot outrun the limit */
	j->begun_user = !token && throttle_begin(srv->fail_user, j->user_key, now) == 0;
	j->begun_ip = (token || j->begun_user) && throttle_begin(srv->fail_ip, j->ip_key, now) == 0;
	if (!j->begun_ip) {
		if (j->begun_user)
			throttle_end(srv->fail_user, j->user_key);
		session_reply_error(s, id, CC_ERR_RATE_LIMITED,
		                    "too many logins in progress; try again shortly");
		login_job_free(j);
		return;
	}
	session_hold(s);
	login_submit(j, srv->db, login_fetch_work, login_fetch_done);
}

struct logout_job {
	struct session *s;
	json_int_t id;
	unsigned char digest[AUTH_TOKEN_HASH];
	int rc;
	int db_down;
	char err[256];
};

/* db worker: revoke the token. */
static void
logout_work(struct db_conn *c, void *arg)
{
	struct logout_job *j = arg;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	if (m == NULL) {
		j->rc = -1;
		j->db_down = 1;
		return;
	}
	if ((j->rc = store_session_delete(m, j->digest, j->err, sizeof j->err)) < 0)
		j->db_down = db_conn_failed(c, store_errno());
}

/* loop: the token is revoked. */
static void
logout_done(void *arg)
{
	struct logout_job *j = arg;
	struct session *s = j->s;

	if (s->state == SESSION_OPEN) {
		if (j->rc != 0) {
			log_error("auth", "msg=\"logout failed\" user=%s error=\"%s\"",
			          s->agent.user, j->err);
			session_reply_error(s, j->id,
			                    j->db_down ? CC_ERR_UNAVAILABLE : CC_ERR_INTERNAL,
			                    "could not revoke the session; try again");
		} else {
			log_info("auth", "msg=\"logout\" user=%s peer=%s", s->agent.user, s->peer);
			router_session_closed(s->srv, s); /* no more routed work here */
			s->logged_in = 0;
			s->has_token = 0;
			s->srv->nlogged_in--;
			memset(&s->agent, 0, sizeof s->agent);
			session_send(s, proto_reply_ok(j->id));
		}
	}
	session_release(s);
	free(j);
}

void
op_logout(struct session *s, json_int_t id, json_t *req)
{
	struct logout_job *j = calloc(1, sizeof *j);

	(void)req;
	if (j == NULL)
		abort();
	j->s = s;
	j->id = id;
	memcpy(j->digest, s->token_digest, sizeof j->digest);
	session_hold(s);
	if (db_pool_submit(s->srv->db, logout_work, logout_done, j) != 0) {
		session_reply_error(s, id, CC_ERR_UNAVAILABLE,
		                    "the server is overloaded; try again shortly");
		session_release(s);
		free(j);
	}
}

void
op_whoami(struct session *s, json_int_t id, json_t *req)
{
	json_t *r = proto_reply_ok(id);
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	(void)req;
	json_object_set_new(r, "agent", agent_info_json(&s->agent));
	json_object_set_new(r, "session",
	                    json_pack("{s:I,s:s,s:s,s:s}", "since", (json_int_t)s->since, "peer",
	                              s->peer, "tls", SSL_get_version(ssl), "cipher",
	                              SSL_get_cipher_name(ssl)));
	session_send(s, r);
}
