/* config.c: table-driven INI configuration. */
#include "config.h"
#include "db.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ini.h>

#include "auth.h"
#include "log.h"

enum config_type { CONFIG_INT, CONFIG_STR, CONFIG_PATH };

struct config_key {
	const char *section;
	const char *name;
	enum config_type type;
	size_t offset;
	size_t size; /* for strings */
	const char *def;
	long min, max; /* for ints */
};

#define KI(sec, key, field, d, lo, hi)                                                             \
	{                                                                                          \
		sec, key, CONFIG_INT, offsetof(struct config, field), 0, d, lo, hi                 \
	}
#define KS(sec, key, field, d)                                                                     \
	{                                                                                          \
		sec, key, CONFIG_STR, offsetof(struct config, field),                              \
		    sizeof(((struct config *)0)->field), d, 0, 0                                   \
	}
#define KP(sec, key, field, d)                                                                     \
	{                                                                                          \
		sec, key, CONFIG_PATH, offsetof(struct config, field),                             \
		    sizeof(((struct config *)0)->field), d, 0, 0                                   \
	}

static const struct config_key config_keys[] = {
    KS("server", "listen", listen, "0.0.0.0:7443"),
    KS("server", "admin_listen", admin_listen, "127.0.0.1:7480"),
    KI("server", "max_connections", max_connections, "20000", 1, 1000000),
    KI("server", "max_connections_per_ip", max_connections_per_ip, "1000", 1, 1000000),
    KI("server", "handshake_timeout", handshake_timeout, "10", 1, 300),
    KI("server", "idle_timeout", idle_timeout, "600", 1, 86400),
    KI("server", "output_queue_max", output_queue_max, "1048576", 1024, 1 << 30),
    KI("server", "shutdown_timeout", shutdown_timeout, "10", 0, 3600),
    KP("tls", "cert", tls_cert, ""),
    KP("tls", "key", tls_key, ""),
    KS("database", "host", db_host, "127.0.0.1"),
    KI("database", "port", db_port, "3306", 1, 65535),
    KP("database", "socket", db_socket, ""),
    KS("database", "user", db_user, "callcentre"),
    KS("database", "password", db_password, ""),
    KP("database", "password_file", db_password_file, ""),
    KS("database", "name", db_name, "callcentre"),
    KI("database", "workers", db_workers, "4", 1, 64),
    KI("database", "connect_timeout", db_connect_timeout, "5", 1, 300),
    KI("auth", "scrypt_n_log2", scrypt_n_log2, "17", 10, 22),
    KI("auth", "scrypt_r", scrypt_r, "8", 1, 32),
    KI("auth", "scrypt_p", scrypt_p, "1", 1, 16),
    KI("auth", "hash_workers", hash_workers, "2", 1, 64),
    KI("auth", "max_failures_per_user", max_failures_per_user, "5", 1, 1000),
    KI("auth", "max_failures_per_ip", max_failures_per_ip, "20", 1, 100000),
    KI("auth", "failure_window", failure_window, "900", 1, 86400),
    KI("auth", "lockout", lockout, "300", 1, 86400),
    KI("auth", "session_ttl", session_ttl, "86400", 60, 30 * 86400),
    KI("tickets", "reopen_window", reopen_window, "7", 0, 365),
    KS("web", "complaint_queue", web_complaint_queue, "complaints"),
    KI("stats", "rollup_seconds", stats_rollup_seconds, "900", 1, 3600),
    KS("log", "level", log_level, "info"),
};

static const struct config_key *
config_find(const char *section, const char *name)
{
	for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Store value into the field k describes; -1 with err when invalid. */
static int
config_store(struct config *cfg, const struct config_key *k, const char *value, char *err,
             size_t errlen)
{
	char *field = (char *)cfg + k->offset;

	if (k->type == CONFIG_INT) {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0') {
			snprintf(err, errlen, "%s.%s: \"%s\" is not an integer", k->section,
			         k->name, value);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s.%s: %ld is out of range %ld..%ld", k->section,
			         k->name, v, k->min, k->max);
			return -1;
		}
		*(int *)(void *)field = (int)v;
		return 0;
	}
	if (strlen(value) >= k->size) {
		snprintf(err, errlen, "%s.%s: value longer than %zu bytes", k->section, k->name,
		         k->size - 1);
		return -1;
	}
	memcpy(field, value, strlen(value) + 1);
	return 0;
}

void
config_defaults(struct config *cfg)
{
	char err[64];

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
		if (config_store(cfg, &config_keys[i], config_keys[i].def, err, sizeof err) != 0)
			abort(); /* a default out of its own bounds is a bug */
	snprintf(cfg->base_dir, sizeof cfg->base_dir, ".");
}

struct config_parse {
	struct config *cfg;
	char *err;
	size_t errlen;
	int failed;
};

static int
config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *p = user;
	const struct config_key *k;

	if (p->failed)
		return 0;
	if ((k = config_find(section, name)) == NULL) {
		snprintf(p->err, p->errlen, "unknown key %s.%s", section, name);
		p->failed = 1;
		return 0;
	}
	if (config_store(p->cfg, k, value, p->err, p->errlen) != 0) {
		p->failed = 1;
		return 0;
	}
	return 1;
}

int
config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config_parse p = {cfg, err, errlen, 0};
	char msg[512];
	FILE *f;
	int line;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	line = ini_parse_file(f, config_ini_handler, &p);
	fclose(f);
	if (line != 0) {
		if (p.failed)
			snprintf(msg, sizeof msg, "%s:%d: %s", path, line, err);
		else
			snprintf(msg, sizeof msg, "%s:%d: syntax error", path, line);
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(cfg->base_dir, sizeof cfg->base_dir, ".");
	else if (slash == path)
		snprintf(cfg->base_dir, sizeof cfg->base_dir, "/");
	else
		snprintf(cfg->base_dir, sizeof cfg->base_dir, "%.*s", (int)(slash - path), path);
	return 0;
}

int
config_set(struct config *cfg, const char *assignment, char *err, size_t errlen)
{
	char section[64], name[64];
	const char *dot = strchr(assignment, '.');
	const char *eq = strchr(assignment, '=');
	const struct config_key *k;

	if (dot == NULL || eq == NULL || dot > eq || dot == assignment || eq == dot + 1 ||
	    (size_t)(dot - assignment) >= sizeof section || (size_t)(eq - dot - 1) >= sizeof name) {
		snprintf(err, errlen, "override \"%s\" is not section.key=value", assignment);
		return -1;
	}
	snprintf(section, sizeof section, "%.*s", (int)(dot - assignment), assignment);
	snprintf(name, sizeof name, "%.*s", (int)(eq - dot - 1), dot + 1);
	if ((k = config_find(section, name)) == NULL) {
		snprintf(err, errlen, "unknown key %s.%s", section, name);
		return -1;
	}
	return config_store(cfg, k, eq + 1, err, errlen);
}

int
config_split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
	const char *colon;
	size_t n;
	char *end;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		n = (size_t)(close - addr - 1);
		colon = close + 1;
		addr++;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL)
			return -1;
		n = (size_t)(colon - addr);
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, addr, n);
	host[n] = '\0';
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* Make a relative path absolute against the config file's folder. */
static int
config_resolve(const struct config *cfg, char *path, size_t size)
{
	char buf[CONFIG_PATH_MAX * 2 + 2];

	if (path[0] == '\0' || path[0] == '/')
		return 0;
	snprintf(buf, sizeof buf, "%s/%s", cfg->base_dir, path);
	if (strlen(buf) >= size)
		return -1;
	memcpy(path, buf, strlen(buf) + 1);
	return 0;
}

/* Is host a loopback address literal or "localhost"? */
static int
config_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int
config_finish(struct config *cfg, char *err, size_t errlen)
{
	char host[256];
	int port;
	struct stat st;
	struct scrypt_params sp = {cfg->scrypt_n_log2, cfg->scrypt_r, cfg->scrypt_p};

	if (!auth_params_ok(&sp)) {
		snprintf(
		    err, errlen,
		    "auth: scrypt cost ln=%d r=%d p=%d needs more than %u MiB a hash or r*p > 64",
		    sp.n_log2, sp.r, sp.p, AUTH_SCRYPT_MAX_MEM >> 20);
		return -1;
	}

	for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->type == CONFIG_PATH &&
		    config_resolve(cfg, (char *)cfg + k->offset, k->size) != 0) {
			snprintf(err, errlen, "%s.%s: path too long", k->section, k->name);
			return -1;
		}
	}
	if (log_level_parse(cfg->log_level) < 0) {
		snprintf(err, errlen, "log.level: \"%s\" is not debug, info, warn or error",
		         cfg->log_level);
		return -1;
	}
	if (config_split_addr(cfg->listen, host, sizeof host, &port) != 0) {
		snprintf(err, errlen, "server.listen: \"%s\" is not host:port", cfg->listen);
		return -1;
	}
	if (cfg->admin_listen[0] != '\0') {
		if (config_split_addr(cfg->admin_listen, host, sizeof host, &port) != 0) {
			snprintf(err, errlen, "server.admin_listen: \"%s\" is not host:port",
			         cfg->admin_listen);
			return -1;
		}
		if (!config_is_loopback(host)) {
			snprintf(err, errlen,
			         "server.admin_listen: %s is not a loopback address; the admin "
			         "port is plain HTTP and must stay on this host",
			         host);
			return -1;
		}
	}
	if (cfg->web_complaint_queue[0] == '\0') {
		snprintf(err, errlen, "web.complaint_queue: a queue code is required");
		return -1;
	}
	if (cfg->max_connections_per_ip > cfg->max_connections)
		cfg->max_connections_per_ip = cfg->max_connections;
	if (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0') {
		snprintf(err, errlen, "tls.cert and tls.key are required");
		return -1;
	}
	if (stat(cfg->tls_key, &st) != 0) {
		snprintf(err, errlen, "tls.key %s: %s", cfg->tls_key, strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
		         "tls.key %s: mode %04o lets group or others read it; chmod 600 it",
		         cfg->tls_key, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (cfg->db_password_file[0] != '\0') {
		FILE *f = fopen(cfg->db_password_file, "r");
		if (f == NULL) {
			snprintf(err, errlen, "database.password_file %s: %s",
			         cfg->db_password_file, strerror(errno));
			return -1;
		}
		if (fgets(cfg->db_password, sizeof cfg->db_password, f) == NULL)
			cfg->db_password[0] = '\0';
		fclose(f);
		cfg->db_password[strcspn(cfg->db_password, "\r\n")] = '\0';
	}
	return 0;
}

void
config_db_params(const struct config *c, struct db_params *p)
{
	*p = (struct db_params){
	    .host = c->db_host,
	    .port = c->db_port,
	    .socket = c->db_socket,
	    .user = c->db_user,
	    .password = c->db_password,
	    .name = c->db_name,
	    .connect_timeout = c->db_connect_timeout,
	};
}
