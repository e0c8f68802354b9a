/* main.c: callcentred's command line and start-up. */
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/thread.h>
#include <openssl/crypto.h>

#include "log.h"
#include "migrate.h"
#include "server.h"
#include "store-ticket.h"
#include "tls.h"

#define DEFAULT_CONFIG "/etc/callcentre/callcentred.conf"
#define MAX_OVERRIDES  64 /* -o options on one command line */

/* Print usage to f. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: callcentred [-f FILE] [-o section.key=value ...]\n"
	           "                   [--check-config | --migrate | --hash-password |\n"
	           "                    --verify-ticket REF]\n"
	           "  -f, --config FILE     config file (default " DEFAULT_CONFIG ")\n"
	           "  -o, --set S.K=V       override one config key (repeatable)\n"
	           "      --check-config    validate the config, certificate and key; exit\n"
	           "      --migrate         apply pending schema migrations; exit\n"
	           "      --hash-password   read a password on stdin, print its scrypt hash\n"
	           "      --verify-ticket REF  check the ticket's event hash chain; exit 0 when\n"
	           "                        intact, 1 at the first broken link\n"
	           "  -V, --version         print the version\n");
}

/* Read one line from stdin without echo when it is a terminal. */
static int
read_password(char *buf, size_t len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);

	if (tty) {
		fprintf(stderr, "password: ");
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *r = fgets(buf, (int)len, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (r == NULL)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] ? 0 : -1;
}

/* --hash-password */
static int
hash_password(const struct scrypt_params *p)
{
	char pw[1100], hash[AUTH_HASH_MAX];

	if (read_password(pw, sizeof pw) != 0) {
		fprintf(stderr, "callcentred: no password on standard input\n");
		return 1;
	}
	if (auth_hash_password(pw, strlen(pw), p, hash, sizeof hash) != 0) {
		OPENSSL_cleanse(pw, sizeof pw);
		fprintf(stderr, "callcentred: hashing failed\n");
		return 1;
	}
	OPENSSL_cleanse(pw, sizeof pw);
	printf("%s\n", hash);
	return 0;
}

/* Raise the descriptor limit to its hard maximum; warn when it still
 * cannot hold max_connections. */
static void
raise_fd_limit(const struct config *cfg)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)cfg->max_connections + (rlim_t)cfg->db_workers + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need)
		log_warn("server",
		         "msg=\"descriptor limit below max_connections\" limit=%llu need=%llu "
		         "hint=\"raise LimitNOFILE or ulimit -n\"",
		         (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

/* The database parameters from the config. */
static struct db_params
db_params_from(const struct config *c)
{
	struct db_params p;

	config_db_params(c, &p);
	return p;
}

/* --verify-ticket: check one ticket's event chain and print the verdict. */
static int
verify_ticket(const struct config *cfg, const char *ref)
{
	struct db_params p = db_params_from(cfg);
	char err[512], msg[512];
	MYSQL *m;
	int rc;

	if (mysql_library_init(0, NULL, NULL) != 0 ||
	    (m = db_connect(&p, err, sizeof err)) == NULL) {
		fprintf(stderr, "callcentred: cannot connect to the database\n");
		return 1;
	}
	rc = store_ticket_verify(m, ref, msg, sizeof msg, err, sizeof err);
	mysql_close(m);
	mysql_library_end();
	if (rc < 0) {
		fprintf(stderr, "callcentred: %s\n", err);
		return 1;
	}
	printf("%s\n", msg);
	return rc == 0 ? 0 : 1;
}

/* Connect once and apply pending migrations. */
static int
run_migrations(const struct config *cfg)
{
	struct db_params p = db_params_from(cfg);
	char err[512];
	MYSQL *m = db_connect(&p, err, sizeof err);
	int n;

	if (m == NULL) {
		log_error("migrate", "msg=\"cannot connect to the database\" error=\"%s\"", err);
		return -1;
	}
	n = migrate_apply(m, err, sizeof err);
	mysql_close(m);
	if (n < 0) {
		log_error("migrate", "msg=\"migration failed\" error=\"%s\"", err);
		return -1;
	}
	log_info("migrate", "msg=\"schema up to date\" applied=%d known=%zu", n, migrations_count);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'f'},
	    {"set", required_argument, NULL, 'o'},
	    {"check-config", no_argument, NULL, 'C'},
	    {"migrate", no_argument, NULL, 'M'},
	    {"hash-password", no_argument, NULL, 'H'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {"verify-ticket", required_argument, NULL, 'T'},
	    {NULL, 0, NULL, 0},
	};
	static struct server srv;
	const char *config_path = NULL, *verify_ref = NULL;
	const char *overrides[MAX_OVERRIDES];
	int noverrides = 0, check = 0, migrate_only = 0, hash = 0, c;
	char err[512];

	while ((c = getopt_long(argc, argv, "f:o:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			config_path = optarg;
			break;
		case 'o':
			if (noverrides == MAX_OVERRIDES) {
				fprintf(stderr, "callcentred: more than %d -o overrides\n",
				        MAX_OVERRIDES);
				return 1;
			}
			overrides[noverrides++] = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'M':
			migrate_only = 1;
			break;
		case 'H':
			hash = 1;
			break;
		case 'T':
			verify_ref = optarg;
			break;
		case 'V':
			printf("callcentred %s\n", CC_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}

	config_defaults(&srv.cfg);
	if (config_load_file(&srv.cfg, config_path ? config_path : DEFAULT_CONFIG, err,
	                     sizeof err) != 0) {
		fprintf(stderr, "callcentred: %s\n", err);
		return 1;
	}
	for (int i = 0; i < noverrides; i++)
		if (config_set(&srv.cfg, overrides[i], err, sizeof err) != 0) {
			fprintf(stderr, "callcentred: -o %s\n", err);
			return 1;
		}
	srv.scrypt =
	    (struct scrypt_params){srv.cfg.scrypt_n_log2, srv.cfg.scrypt_r, srv.cfg.scrypt_p};
	if (hash)
		return hash_password(&srv.scrypt);
	if (config_finish(&srv.cfg, err, sizeof err) != 0) {
		fprintf(stderr, "callcentred: %s\n", err);
		return 1;
	}
	log_set_level((enum log_level)log_level_parse(srv.cfg.log_level));
	if (verify_ref)
		return verify_ticket(&srv.cfg, verify_ref);
	if ((srv.ssl_ctx = tls_server_ctx(srv.cfg.tls_cert, srv.cfg.tls_key, err, sizeof err)) ==
	    NULL) {
		fprintf(stderr, "callcentred: %s\n", err);
		return 1;
	}
	if (check) {
		printf("config ok\n");
		SSL_CTX_free(srv.ssl_ctx);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(&srv.cfg);
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "callcentred: cannot initialise the MariaDB client library\n");
		return 1;
	}
	if (run_migrations(&srv.cfg) != 0)
		return 1;
	if (migrate_only) {
		SSL_CTX_free(srv.ssl_ctx);
		mysql_library_end();
		return 0;
	}

	if (evthread_use_pthreads() != 0 || (srv.base = event_base_new()) == NULL) {
		fprintf(stderr, "callcentred: cannot create the event loop\n");
		return 1;
	}
	/* verified for unknown users, so a miss costs what a hit costs */
	if (auth_hash_password("x", 1, &srv.scrypt, srv.dummy_hash, sizeof srv.dummy_hash) != 0) {
		fprintf(stderr, "callcentred: scrypt failed: cost too high for this machine?\n");
		return 1;
	}
	struct db_params dbp = db_params_from(&srv.cfg);
	srv.db = db_pool_new(srv.base, "db", srv.cfg.db_workers, &dbp, 10000);
	srv.cpu = db_pool_new(srv.base, "hash", srv.cfg.hash_workers, NULL, 10000);
	if (server_start(&srv, err, sizeof err) != 0) {
		log_error("server", "msg=\"cannot start\" error=\"%s\"", err);
		server_free(&srv);
		event_base_free(srv.base);
		return 1;
	}
	server_run(&srv);
	server_free(&srv);
	event_base_free(srv.base);
	mysql_library_end();
	log_info("server", "msg=\"stopped\"");
	return 0;
}
