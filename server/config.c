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

#include "auth.h"
#include "cfgfile.h"
#include "log.h"

#define KI(sec, key, field, d, lo, hi) CFG_INT_KEY(struct config, sec, key, field, d, lo, hi)
#define KS(sec, key, field, d)         CFG_STR_KEY(struct config, sec, key, field, d)
#define KP(sec, key, field, d)         CFG_PATH_KEY(struct config, sec, key, field, d)

static const struct cfg_key config_keys[] = {
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

#define CONFIG_NKEYS (sizeof config_keys / sizeof config_keys[0])

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg_defaults(cfg, config_keys, CONFIG_NKEYS);
	snprintf(cfg->base_dir, sizeof cfg->base_dir, ".");
}

int
config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	return cfg_load_file(cfg, config_keys, CONFIG_NKEYS, path, cfg->base_dir,
	                     sizeof cfg->base_dir, err, errlen);
}

int
config_set(struct config *cfg, const char *assignment, char *err, size_t errlen)
{
	return cfg_set(cfg, config_keys, CONFIG_NKEYS, assignment, err, errlen);
}

int
config_split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
	return cfg_split_addr(addr, host, hostlen, port);
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

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct cfg_key *k = &config_keys[i];
		if (k->type == CFG_PATH &&
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
