/* gw-config.c: ccgateway's INI configuration, one table of keys with their
 * defaults and bounds (docs/OPERATIONS.md, "ccgateway"). */
#include "gw.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "log.h"

enum gw_key_type { KEY_INT, KEY_STR, KEY_PATH };

struct gw_key {
	const char *section;
	const char *name;
	enum gw_key_type type;
	size_t offset;
	size_t size;
	const char *def;
	long min, max;
};

#define KI(sec, key, field, d, lo, hi)                                                             \
	{                                                                                          \
		sec, key, KEY_INT, offsetof(struct gw_config, field), 0, d, lo, hi                 \
	}
#define KS(sec, key, field, d)                                                                     \
	{                                                                                          \
		sec, key, KEY_STR, offsetof(struct gw_config, field),                              \
		    sizeof(((struct gw_config *)0)->field), d, 0, 0                                \
	}
#define KP(sec, key, field, d)                                                                     \
	{                                                                                          \
		sec, key, KEY_PATH, offsetof(struct gw_config, field),                             \
		    sizeof(((struct gw_config *)0)->field), d, 0, 0                                \
	}

static const struct gw_key gw_keys[] = {
    KS("http", "listen", listen, "0.0.0.0:8443"),
    KI("http", "max_connections", max_connections, "1000", 1, 100000),
    KI("http", "max_connections_per_ip", max_connections_per_ip, "20", 1, 100000),
    KI("http", "max_header_bytes", max_header_bytes, "8192", 1024, 65536),
    KI("http", "max_body_bytes", max_body_bytes, "65536", 1024, 1048576),
    KI("http", "timeout", timeout, "10", 1, 300),
    KI("http", "request_timeout", request_timeout, "30", 1, 600),
    KP("tls", "cert", tls_cert, ""),
    KP("tls", "key", tls_key, ""),
    KS("upstream", "host", upstream_host, "127.0.0.1"),
    KI("upstream", "port", upstream_port, "7443", 1, 65535),
    KS("upstream", "server_name", upstream_server_name, ""),
    KP("upstream", "ca_file", upstream_ca_file, ""),
    KS("upstream", "user", upstream_user, "gateway"),
    KP("upstream", "password_file", upstream_password_file, ""),
    KI("upstream", "connections", upstream_connections, "4", 1, 64),
    KI("upstream", "request_timeout", upstream_request_timeout, "10", 1, 300),
    KI("upstream", "reconnect_max", upstream_reconnect_max, "10", 1, 300),
    KP("web", "form_secret_file", form_secret_file, ""),
    KI("web", "form_token_ttl", form_token_ttl, "7200", 60, 86400),
    KP("web", "api_keys_file", api_keys_file, ""),
    KI("limits", "ip_requests_per_minute", ip_requests_per_minute, "600", 1, 1000000),
    KI("limits", "ip_complaints_per_hour", ip_complaints_per_hour, "20", 1, 1000000),
    KI("limits", "contact_complaints_per_hour", contact_complaints_per_hour, "5", 1, 1000000),
    KI("limits", "table_size", limit_table_size, "65536", 64, 16777216),
    KS("log", "level", log_level, "info"),
};
#define GW_NKEYS (sizeof gw_keys / sizeof gw_keys[0])

/* Store value into the field k describes; -1 with err when invalid. */
static int
gw_key_store(struct gw_config *cfg, const struct gw_key *k, const char *value, char *err,
             size_t errlen)
{
	char *field = (char *)cfg + k->offset;

	if (k->type == KEY_INT) {
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
gw_config_defaults(struct gw_config *cfg)
{
	char err[64];

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < GW_NKEYS; i++)
		if (gw_key_store(cfg, &gw_keys[i], gw_keys[i].def, err, sizeof err) != 0)
			abort(); /* a default out of its own bounds is a bug */
	snprintf(cfg->base_dir, sizeof cfg->base_dir, ".");
}

struct gw_parse {
	struct gw_config *cfg;
	char *err;
	size_t errlen;
	int failed;
};

static int
gw_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct gw_parse *p = user;

	if (p->failed)
		return 0;
	for (size_t i = 0; i < GW_NKEYS; i++) {
		const struct gw_key *k = &gw_keys[i];
		if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
			continue;
		if (gw_key_store(p->cfg, k, value, p->err, p->errlen) != 0) {
			p->failed = 1;
			return 0;
		}
		return 1;
	}
	snprintf(p->err, p->errlen, "unknown key %s.%s", section, name);
	p->failed = 1;
	return 0;
}

int
gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t errlen)
{
	struct gw_parse p = {cfg, err, errlen, 0};
	char msg[512];
	FILE *f;
	int line;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	line = ini_parse_file(f, gw_ini_handler, &p);
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
gw_split_addr(const char *addr, char *host, size_t hostlen, int *port)
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
	if (errno != 0 || *end != '\0' || end == colon + 1 || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* Read a secret file that only its owner may read: its bytes without the
 * trailing newline. -1 with err. */
static int
gw_read_secret(const char *what, const char *path, unsigned char *buf, size_t size, size_t *len,
               char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	size_t n;

	if (path[0] == '\0') {
		snprintf(err, errlen, "%s is required", what);
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &st) != 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s %s: mode %04o lets others read it; chmod 600", what, path,
		         (unsigned)(st.st_mode & 07777));
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, size, f);
	fclose(f);
	if (n == size) {
		snprintf(err, errlen, "%s %s: longer than %zu bytes", what, path, size - 1);
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	*len = n;
	return 0;
}

int
gw_config_finish(struct gw_config *cfg, char *err, size_t errlen)
{
	char host[256], buf[GW_PATH_MAX * 2 + 2];
	int port;
	size_t n;

	for (size_t i = 0; i < GW_NKEYS; i++) {
		const struct gw_key *k = &gw_keys[i];
		char *path = (char *)cfg + k->offset;
		if (k->type != KEY_PATH || path[0] == '\0' || path[0] == '/')
			continue;
		snprintf(buf, sizeof buf, "%s/%s", cfg->base_dir, path);
		if (strlen(buf) >= k->size) {
			snprintf(err, errlen, "%s.%s: path too long", k->section, k->name);
			return -1;
		}
		memcpy(path, buf, strlen(buf) + 1);
	}
	if (log_level_parse(cfg->log_level) < 0) {
		snprintf(err, errlen, "log.level: \"%s\" is not debug, info, warn or error",
		         cfg->log_level);
		return -1;
	}
	if (gw_split_addr(cfg->listen, host, sizeof host, &port) != 0) {
		snprintf(err, errlen, "http.listen: \"%s\" is not host:port", cfg->listen);
		return -1;
	}
	if (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0') {
		snprintf(err, errlen, "tls.cert and tls.key are required");
		return -1;
	}
	if (cfg->upstream_server_name[0] == '\0')
		snprintf(cfg->upstream_server_name, sizeof cfg->upstream_server_name, "%s",
		         cfg->upstream_host);
	if (cfg->upstream_user[0] == '\0') {
		snprintf(err, errlen, "upstream.user is required");
		return -1;
	}
	if (gw_read_secret("upstream.password_file", cfg->upstream_password_file,
	                   (unsigned char *)cfg->upstream_password, sizeof cfg->upstream_password,
	                   &n, err, errlen) != 0)
		return -1;
	cfg->upstream_password[n] = '\0';
	if (n == 0 || strlen(cfg->upstream_password) != n) {
		snprintf(err, errlen, "upstream.password_file %s: empty, or holds a NUL byte",
		         cfg->upstream_password_file);
		return -1;
	}
	if (gw_read_secret("web.form_secret_file", cfg->form_secret_file, cfg->form_secret,
	                   sizeof cfg->form_secret, &cfg->form_secret_len, err, errlen) != 0)
		return -1;
	if (cfg->form_secret_len < 32) {
		snprintf(err, errlen,
		         "web.form_secret_file %s: %zu bytes; at least 32 are needed "
		         "(openssl rand -hex 32)",
		         cfg->form_secret_file, cfg->form_secret_len);
		return -1;
	}
	return 0;
}
