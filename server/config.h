/* config.h: callcentred's configuration: INI file, then -o overrides, then
 * validation. Every key is in one table (config.c) with its default and
 * bounds, and documented in docs/OPERATIONS.md. */
#ifndef CC_CONFIG_H
#define CC_CONFIG_H

#include <stddef.h>

#define CONFIG_PATH_MAX 1024

struct config {
	char listen[256];
	char admin_listen[256];
	int max_connections;
	int max_connections_per_ip;
	int handshake_timeout;
	int idle_timeout;
	int output_queue_max;
	int shutdown_timeout;

	char tls_cert[CONFIG_PATH_MAX];
	char tls_key[CONFIG_PATH_MAX];

	char db_host[256];
	int db_port;
	char db_socket[CONFIG_PATH_MAX];
	char db_user[128];
	char db_password[256];
	char db_password_file[CONFIG_PATH_MAX];
	char db_name[64];
	int db_workers;
	int db_connect_timeout;

	int scrypt_n_log2;
	int scrypt_r;
	int scrypt_p;
	int hash_workers;
	int max_failures_per_user;
	int max_failures_per_ip;
	int failure_window;
	int lockout;
	int session_ttl;

	int reopen_window; /* tickets.reopen_window, in days */

	char web_complaint_queue[65]; /* web.complaint_queue: where complaint.file files */

	int stats_rollup_seconds; /* stats.rollup_seconds: the rollup interval */

	char log_level[16];

	char base_dir[CONFIG_PATH_MAX]; /* folder of the config file */
};

/* Fill cfg with the defaults. */
void config_defaults(struct config *cfg);
/* Read an INI file into cfg. -1 with err filled on failure (line number,
 * unknown key, value out of range). */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/* Apply one "section.key=value" override. -1 with err on failure. */
int config_set(struct config *cfg, const char *assignment, char *err, size_t errlen);
/* Check cross-key rules and files (certificate, key permissions, password
 * file), resolve relative paths against base_dir, read the DB password file.
 * -1 with err on failure. */
int config_finish(struct config *cfg, char *err, size_t errlen);
/* Split "host:port" or "[v6]:port"; -1 on a malformed address. */
int config_split_addr(const char *addr, char *host, size_t hostlen, int *port);

struct db_params;
/* The database connection parameters of c (pointing into c). */
void config_db_params(const struct config *c, struct db_params *p);

#endif
