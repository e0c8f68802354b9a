/* gw-config.c: ccgateway's INI configuration, one table of keys with their
 * defaults and bounds (docs/OPERATIONS.md, "ccgateway"). */
#include "gw.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfgfile.h"
#include "log.h"

#define KI(sec, key, field, d, lo, hi) CFG_INT_KEY(struct gw_config, sec, key, field, d, lo, hi)
#define KS(sec, key, field, d)         CFG_STR_KEY(struct gw_config, sec, key, field, d)
#define KP(sec, key, field, d)         CFG_PATH_KEY(struct gw_config, sec, key, field, d)

static const struct cfg_key gw_keys[] = {
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
    KI("upstream", "connections", upstream_connections, "64", 1, 256),
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

void
gw_config_defaults(struct gw_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg_defaults(cfg, gw_keys, GW_NKEYS);
	snprintf(cfg->base_dir, sizeof cfg->base_dir, ".");
}

int
gw_config_load(struct gw_config *cfg, const char *path, char *err, size_t errlen)
{
	return cfg_load_file(cfg, gw_keys, GW_NKEYS, path, cfg->base_dir, sizeof cfg->base_dir, err,
	                     errlen);
}

int
gw_split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
	/* a listener or upstream needs a real port */
	return cfg_split_addr(addr, host, hostlen, port) != 0 || *port < 1 ? -1 : 0;
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
		const struct cfg_key *k = &gw_keys[i];
		char *path = (char *)cfg + k->offset;
		if (k->type != CFG_PATH || path[0] == '\0' || path[0] == '/')
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
