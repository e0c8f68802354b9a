/* test_config.c: callcentred's configuration: defaults, the INI file,
 * -o overrides, path resolution and the checks in config_finish. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* A private folder per test, removed afterwards. */
struct fixture {
	char dir[256];
	struct config cfg;
	char err[512];
};

static int
setup_dir(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/cc-test-config.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	config_defaults(&f->cfg);
	*state = f;
	return 0;
}

static int
teardown_dir(void **state)
{
	struct fixture *f = *state;
	char cmd[512];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Write text to dir/name with mode; returns the path (static buffer). */
static const char *
write_file(struct fixture *f, const char *name, const char *text, mode_t mode)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* Load text as dir/name; expect rc. */
static int
load(struct fixture *f, const char *name, const char *text)
{
	const char *path = write_file(f, name, text, 0600);
	char copy[512];

	snprintf(copy, sizeof copy, "%s", path);
	f->err[0] = '\0';
	return config_load_file(&f->cfg, copy, f->err, sizeof f->err);
}

/* Assert err contains each of the NULL-terminated needles. */
static void
expect_err(const char *err, ...)
{
	va_list ap;
	const char *needle;

	va_start(ap, err);
	while ((needle = va_arg(ap, const char *)) != NULL)
		if (strstr(err, needle) == NULL)
			fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	va_end(ap);
}

/* The defaults are the ones docs/OPERATIONS.md lists. */
static void
test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_string_equal(cfg.listen, "0.0.0.0:7443");
	assert_string_equal(cfg.admin_listen, "127.0.0.1:7480");
	assert_int_equal(cfg.max_connections, 20000);
	assert_int_equal(cfg.max_connections_per_ip, 1000);
	assert_int_equal(cfg.handshake_timeout, 10);
	assert_int_equal(cfg.idle_timeout, 600);
	assert_int_equal(cfg.output_queue_max, 1048576);
	assert_int_equal(cfg.shutdown_timeout, 10);
	assert_string_equal(cfg.tls_cert, "");
	assert_string_equal(cfg.tls_key, "");
	assert_string_equal(cfg.db_host, "127.0.0.1");
	assert_int_equal(cfg.db_port, 3306);
	assert_string_equal(cfg.db_socket, "");
	assert_string_equal(cfg.db_user, "callcentre");
	assert_string_equal(cfg.db_password, "");
	assert_string_equal(cfg.db_password_file, "");
	assert_string_equal(cfg.db_name, "callcentre");
	assert_int_equal(cfg.db_workers, 4);
	assert_int_equal(cfg.db_connect_timeout, 5);
	assert_int_equal(cfg.scrypt_n_log2, 17);
	assert_int_equal(cfg.scrypt_r, 8);
	assert_int_equal(cfg.scrypt_p, 1);
	assert_int_equal(cfg.hash_workers, 2);
	assert_int_equal(cfg.max_failures_per_user, 5);
	assert_int_equal(cfg.max_failures_per_ip, 20);
	assert_int_equal(cfg.failure_window, 900);
	assert_int_equal(cfg.lockout, 300);
	assert_int_equal(cfg.session_ttl, 86400);
	assert_int_equal(cfg.reopen_window, 7);
	assert_string_equal(cfg.log_level, "info");
}

/* A file setting every section. */
static void
test_file_all_sections(void **state)
{
	struct fixture *f = *state;
	struct config *c = &f->cfg;

	assert_int_equal(load(f, "all.conf",
	                      "; comment\n"
	                      "[server]\n"
	                      "listen = [::]:8443\n"
	                      "admin_listen = [::1]:8480\n"
	                      "max_connections = 30000\n"
	                      "max_connections_per_ip = 500\n"
	                      "handshake_timeout = 5\n"
	                      "idle_timeout = 120\n"
	                      "output_queue_max = 65536\n"
	                      "shutdown_timeout = 3\n"
	                      "\n"
	                      "[tls]\n"
	                      "cert = /etc/cc/cert.pem\n"
	                      "key = /etc/cc/key.pem\n"
	                      "[database]\n"
	                      "host = db.example\n"
	                      "port = 3307\n"
	                      "socket = /run/mysqld/mysqld.sock\n"
	                      "user = cc\n"
	                      "password = hunter2\n"
	                      "name = cc_prod\n"
	                      "workers = 8\n"
	                      "connect_timeout = 2\n"
	                      "[auth]\n"
	                      "scrypt_n_log2 = 15\n"
	                      "scrypt_r = 8\n"
	                      "scrypt_p = 2\n"
	                      "hash_workers = 3\n"
	                      "max_failures_per_user = 6\n"
	                      "max_failures_per_ip = 40\n"
	                      "failure_window = 600\n"
	                      "lockout = 60\n"
	                      "session_ttl = 3600\n"
	                      "[tickets]\n"
	                      "reopen_window = 30\n"
	                      "[log]\n"
	                      "level = debug\n"),
	                 0);
	assert_string_equal(c->listen, "[::]:8443");
	assert_string_equal(c->admin_listen, "[::1]:8480");
	assert_int_equal(c->max_connections, 30000);
	assert_int_equal(c->max_connections_per_ip, 500);
	assert_int_equal(c->handshake_timeout, 5);
	assert_int_equal(c->idle_timeout, 120);
	assert_int_equal(c->output_queue_max, 65536);
	assert_int_equal(c->shutdown_timeout, 3);
	assert_string_equal(c->tls_cert, "/etc/cc/cert.pem");
	assert_string_equal(c->tls_key, "/etc/cc/key.pem");
	assert_string_equal(c->db_host, "db.example");
	assert_int_equal(c->db_port, 3307);
	assert_string_equal(c->db_socket, "/run/mysqld/mysqld.sock");
	assert_string_equal(c->db_user, "cc");
	assert_string_equal(c->db_password, "hunter2");
	assert_string_equal(c->db_name, "cc_prod");
	assert_int_equal(c->db_workers, 8);
	assert_int_equal(c->db_connect_timeout, 2);
	assert_int_equal(c->scrypt_n_log2, 15);
	assert_int_equal(c->scrypt_r, 8);
	assert_int_equal(c->scrypt_p, 2);
	assert_int_equal(c->hash_workers, 3);
	assert_int_equal(c->max_failures_per_user, 6);
	assert_int_equal(c->max_failures_per_ip, 40);
	assert_int_equal(c->failure_window, 600);
	assert_int_equal(c->lockout, 60);
	assert_int_equal(c->session_ttl, 3600);
	assert_int_equal(c->reopen_window, 30);
	assert_string_equal(c->log_level, "debug");
	assert_string_equal(c->base_dir, f->dir);
}

/* An unknown key names section.key, the file and the line. */
static void
test_file_unknown_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "bad.conf",
	                      "[server]\nlisten = 127.0.0.1:7443\n\n"
	                      "[database]\nhost = x\npasword = oops\n"),
	                 -1);
	expect_err(f->err, "bad.conf:6:", "database.pasword", "unknown key", NULL);
	/* a known key in the wrong section is unknown there */
	assert_int_equal(load(f, "bad2.conf", "[tls]\nlisten = 127.0.0.1:1\n"), -1);
	expect_err(f->err, "bad2.conf:2:", "tls.listen", NULL);
	/* a key before any section */
	assert_int_equal(load(f, "bad3.conf", "listen = 127.0.0.1:1\n"), -1);
	expect_err(f->err, "bad3.conf:1:", "unknown key", NULL);
}

/* Integers out of their bounds are refused, with the bounds. */
static void
test_file_out_of_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "r.conf", "[server]\nidle_timeout = 0\n"), -1);
	expect_err(f->err, "r.conf:2:", "server.idle_timeout", "0 is out of range 1..86400", NULL);
	assert_int_equal(load(f, "r2.conf", "[database]\n\nport = 65536\n"), -1);
	expect_err(f->err, "r2.conf:3:", "database.port", "65536", "out of range", NULL);
	assert_int_equal(load(f, "r3.conf", "[auth]\nscrypt_n_log2 = 30\n"), -1);
	expect_err(f->err, "auth.scrypt_n_log2", "out of range", NULL);
	assert_int_equal(load(f, "r4.conf", "[server]\nmax_connections = 99999999999999999999\n"),
	                 -1);
	expect_err(f->err, "server.max_connections", NULL);
}

/* Non-integers are refused: words, trailing junk, empty, fractions. */
static void
test_file_not_integer(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "n.conf", "[server]\nmax_connections = lots\n"), -1);
	expect_err(f->err, "n.conf:2:", "server.max_connections", "\"lots\" is not an integer",
	           NULL);
	assert_int_equal(load(f, "n2.conf", "[server]\nidle_timeout = 10s\n"), -1);
	expect_err(f->err, "server.idle_timeout", "not an integer", NULL);
	assert_int_equal(load(f, "n3.conf", "[server]\nidle_timeout =\n"), -1);
	expect_err(f->err, "server.idle_timeout", "not an integer", NULL);
	assert_int_equal(load(f, "n4.conf", "[database]\nport = 33.06\n"), -1);
	expect_err(f->err, "database.port", "not an integer", NULL);
}

/* A syntax error and a missing file are reported with the path. */
static void
test_file_syntax_and_missing(void **state)
{
	struct fixture *f = *state;
	char path[512];

	assert_int_equal(load(f, "s.conf", "[server]\nthis line has no equals sign\n"), -1);
	expect_err(f->err, "s.conf:2:", NULL);
	snprintf(path, sizeof path, "%s/missing.conf", f->dir);
	assert_int_equal(config_load_file(&f->cfg, path, f->err, sizeof f->err), -1);
	expect_err(f->err, "missing.conf", "No such file", NULL);
}

/* A string longer than its field is refused rather than cut. */
static void
test_file_string_too_long(void **state)
{
	struct fixture *f = *state;
	char text[400];

	snprintf(text, sizeof text, "[database]\nname = %0100d\n", 0);
	assert_int_equal(load(f, "l.conf", text), -1);
	expect_err(f->err, "database.name", "longer than 63 bytes", NULL);
}

/* -o overrides: good ones apply, malformed ones are refused. */
static void
test_set(void **state)
{
	struct fixture *f = *state;
	struct config *c = &f->cfg;
	static const char *malformed[] = {
	    "noequals",      "nodot=1", ".idle_timeout=1", "server.=1", "=1", "server.idle_timeout",
	    "server=idle.1",
	};

	assert_int_equal(config_set(c, "server.idle_timeout=30", f->err, sizeof f->err), 0);
	assert_int_equal(c->idle_timeout, 30);
	assert_int_equal(config_set(c, "tls.cert=certs/a=b.pem", f->err, sizeof f->err), 0);
	assert_string_equal(c->tls_cert, "certs/a=b.pem");
	assert_int_equal(config_set(c, "server.admin_listen=", f->err, sizeof f->err), 0);
	assert_string_equal(c->admin_listen, "");
	assert_int_equal(config_set(c, "log.level=warn", f->err, sizeof f->err), 0);
	assert_string_equal(c->log_level, "warn");

	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		f->err[0] = '\0';
		if (config_set(c, malformed[i], f->err, sizeof f->err) != -1)
			fail_msg("accepted \"%s\"", malformed[i]);
		assert_true(strlen(f->err) > 0);
	}
	assert_int_equal(config_set(c, "noequals", f->err, sizeof f->err), -1);
	expect_err(f->err, "noequals", "section.key=value", NULL);
	assert_int_equal(config_set(c, "server.nope=1", f->err, sizeof f->err), -1);
	expect_err(f->err, "unknown key server.nope", NULL);
	assert_int_equal(config_set(c, "server.idle_timeout=abc", f->err, sizeof f->err), -1);
	expect_err(f->err, "server.idle_timeout", "not an integer", NULL);
	assert_int_equal(config_set(c, "database.workers=0", f->err, sizeof f->err), -1);
	expect_err(f->err, "database.workers", "out of range", NULL);
	assert_int_equal(c->idle_timeout, 30); /* failures change nothing */
	assert_int_equal(c->db_workers, 4);
}

/* tickets.reopen_window: whole days 0..365; 0 turns reopening off. */
static void
test_reopen_window(void **state)
{
	struct fixture *f = *state;
	struct config *c = &f->cfg;

	assert_int_equal(config_set(c, "tickets.reopen_window=0", f->err, sizeof f->err), 0);
	assert_int_equal(c->reopen_window, 0);
	assert_int_equal(config_set(c, "tickets.reopen_window=365", f->err, sizeof f->err), 0);
	assert_int_equal(c->reopen_window, 365);
	assert_int_equal(config_set(c, "tickets.reopen_window=366", f->err, sizeof f->err), -1);
	expect_err(f->err, "tickets.reopen_window", "366 is out of range 0..365", NULL);
	assert_int_equal(config_set(c, "tickets.reopen_window=-1", f->err, sizeof f->err), -1);
	expect_err(f->err, "tickets.reopen_window", "out of range", NULL);
	assert_int_equal(config_set(c, "tickets.reopen_window=7d", f->err, sizeof f->err), -1);
	expect_err(f->err, "tickets.reopen_window", "not an integer", NULL);
	assert_int_equal(c->reopen_window, 365); /* failures change nothing */
	assert_int_equal(load(f, "w.conf", "[tickets]\nreopen_window = 14\n"), 0);
	assert_int_equal(c->reopen_window, 14);
	assert_int_equal(load(f, "w2.conf", "[tickets]\nreopen = 14\n"), -1);
	expect_err(f->err, "w2.conf:2:", "unknown key tickets.reopen", NULL);
}

/* Overrides win over the file when applied after it. */
static void
test_set_after_file(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "o.conf", "[server]\nidle_timeout = 100\nhandshake_timeout = 7\n"),
	                 0);
	assert_int_equal(config_set(&f->cfg, "server.idle_timeout=200", f->err, sizeof f->err), 0);
	assert_int_equal(f->cfg.idle_timeout, 200);
	assert_int_equal(f->cfg.handshake_timeout, 7);
}

/* Give the fixture's cfg a certificate and a key (mode 0600) by absolute
 * path, as config_finish needs them. */
static void
make_tls(struct fixture *f)
{
	char set[600];

	write_file(f, "cert.pem", "not checked here\n", 0644);
	write_file(f, "key.pem", "not checked here\n", 0600);
	snprintf(set, sizeof set, "tls.cert=%s/cert.pem", f->dir);
	assert_int_equal(config_set(&f->cfg, set, f->err, sizeof f->err), 0);
	snprintf(set, sizeof set, "tls.key=%s/key.pem", f->dir);
	assert_int_equal(config_set(&f->cfg, set, f->err, sizeof f->err), 0);
}

/* Relative paths resolve against the config file's folder, absolute
 * paths stay as they are. */
static void
test_finish_relative_paths(void **state)
{
	struct fixture *f = *state;
	char want[600];

	write_file(f, "key.pem", "k\n", 0600);
	write_file(f, "dbpass", "pw\n", 0600);
	assert_int_equal(load(f, "cc.conf",
	                      "[tls]\ncert = certs/server.pem\nkey = key.pem\n"
	                      "[database]\npassword_file = dbpass\nsocket = /run/mysqld/m.sock\n"),
	                 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), 0);
	snprintf(want, sizeof want, "%s/certs/server.pem", f->dir);
	assert_string_equal(f->cfg.tls_cert, want);
	snprintf(want, sizeof want, "%s/key.pem", f->dir);
	assert_string_equal(f->cfg.tls_key, want);
	snprintf(want, sizeof want, "%s/dbpass", f->dir);
	assert_string_equal(f->cfg.db_password_file, want);
	assert_string_equal(f->cfg.db_socket, "/run/mysqld/m.sock");
}

/* The admin port must stay on a loopback address (or be disabled). */
static void
test_finish_admin_loopback(void **state)
{
	struct fixture *f = *state;
	static const char *refused[] = {"0.0.0.0:7480", "10.1.2.3:7480", "[::]:7480",
	                                "192.168.0.1:80", "example.com:7480"};
	static const char *allowed[] = {"127.0.0.1:7480", "127.9.9.9:1", "[::1]:7480",
	                                "localhost:7480", ""};
	char set[128];

	make_tls(f);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		snprintf(set, sizeof set, "server.admin_listen=%s", refused[i]);
		assert_int_equal(config_set(&f->cfg, set, f->err, sizeof f->err), 0);
		if (config_finish(&f->cfg, f->err, sizeof f->err) != -1)
			fail_msg("admin_listen %s accepted", refused[i]);
		expect_err(f->err, "server.admin_listen", "loopback", NULL);
	}
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
		snprintf(set, sizeof set, "server.admin_listen=%s", allowed[i]);
		assert_int_equal(config_set(&f->cfg, set, f->err, sizeof f->err), 0);
		if (config_finish(&f->cfg, f->err, sizeof f->err) != 0)
			fail_msg("admin_listen \"%s\" refused: %s", allowed[i], f->err);
	}
}

/* Malformed listen addresses are refused. */
static void
test_finish_bad_listen(void **state)
{
	struct fixture *f = *state;

	make_tls(f);
	assert_int_equal(config_set(&f->cfg, "server.listen=7443", f->err, sizeof f->err), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), -1);
	expect_err(f->err, "server.listen", "\"7443\"", NULL);
}

/* A private key that group or others may read is refused, naming the file
 * and the fix; 0600 and 0400 are accepted. */
static void
test_finish_key_mode(void **state)
{
	struct fixture *f = *state;
	char key[512];

	make_tls(f);
	snprintf(key, sizeof key, "%s/key.pem", f->dir);
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), -1);
	expect_err(f->err, "tls.key", key, "0644", "chmod 600", NULL);

	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), -1);
	expect_err(f->err, key, "chmod 600", NULL);

	assert_int_equal(chmod(key, 0604), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), -1);

	assert_int_equal(chmod(key, 0600), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), 0);
	assert_int_equal(chmod(key, 0400), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), 0);
}

/* Missing TLS settings or a missing key file are errors. */
static void
test_finish_tls_required(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), -1);
	expect_err(f->err, "tls.cert", "tls.key", "required", NULL);

	assert_int_equal(config_set(&f->cfg, "tls.cert=/nonexistent/c.pem", f->err, sizeof f->err),
	                 0);
	assert_int_equal(config_set(&f->cfg, "tls.key=/nonexistent/k.pem", f->err, sizeof f->err),
	                 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), -1);
	expect_err(f->err, "tls.key", "/nonexistent/k.pem", "No such file", NULL);
}

/* The password file's first line is the password, without its newline. */
static void
test_finish_password_file(void **state)
{
	struct fixture *f = *state;
	char set[600];

	make_tls(f);
	write_file(f, "pw", "s3cret pass\nsecond line\n", 0600);
	assert_int_equal(config_set(&f->cfg, "database.password=ignored", f->err, sizeof f->err),
	                 0);
	snprintf(set, sizeof set, "database.password_file=%s/pw", f->dir);
	assert_int_equal(config_set(&f->cfg, set, f->err, sizeof f->err), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), 0);
	assert_string_equal(f->cfg.db_password, "s3cret pass");

	write_file(f, "pw", "crlf\r\n", 0600);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), 0);
	assert_string_equal(f->cfg.db_password, "crlf");

	write_file(f, "pw", "no-newline", 0600);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), 0);
	assert_string_equal(f->cfg.db_password, "no-newline");

	write_file(f, "pw", "", 0600);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), 0);
	assert_string_equal(f->cfg.db_password, "");
}

/* The per-address cap never exceeds the total cap. */
static void
test_finish_per_ip_clamped(void **state)
{
	struct fixture *f = *state;

	make_tls(f);
	assert_int_equal(config_set(&f->cfg, "server.max_connections=10", f->err, sizeof f->err),
	                 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), 0);
	assert_int_equal(f->cfg.max_connections_per_ip, 10);
}

/* A password file that cannot be read is an error naming it. */
static void
test_finish_password_file_missing(void **state)
{
	struct fixture *f = *state;

	make_tls(f);
	assert_int_equal(config_set(&f->cfg, "database.password_file=nope", f->err, sizeof f->err),
	                 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), -1);
	expect_err(f->err, "database.password_file", "nope", "No such file", NULL);
}

/* An unknown log level is refused. */
static void
test_finish_log_level(void **state)
{
	struct fixture *f = *state;

	make_tls(f);
	assert_int_equal(config_set(&f->cfg, "log.level=verbose", f->err, sizeof f->err), 0);
	assert_int_equal(config_finish(&f->cfg, f->err, sizeof f->err), -1);
	expect_err(f->err, "log.level", "verbose", NULL);
}

/* host:port and [v6]:port, and what is not an address. */
static void
test_split_addr(void **state)
{
	static const char *bad[] = {
	    "",        "7443",  "host",      ":7443",   "host:",     "host:x",    "host:70000",
	    "host:-1", "[::1]", "[::1]7443", "[]:7443", "[::1:7443", "host:74x3", "host:7443 "};
	char host[64];
	int port = -1;

	(void)state;
	assert_int_equal(config_split_addr("127.0.0.1:7443", host, sizeof host, &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 7443);
	assert_int_equal(config_split_addr("[::1]:7443", host, sizeof host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 7443);
	assert_int_equal(config_split_addr("[::]:0", host, sizeof host, &port), 0);
	assert_string_equal(host, "::");
	assert_int_equal(port, 0);
	assert_int_equal(config_split_addr("[fe80::1%eth0]:65535", host, sizeof host, &port), 0);
	assert_string_equal(host, "fe80::1%eth0");
	assert_int_equal(port, 65535);
	assert_int_equal(config_split_addr("cc.example.com:443", host, sizeof host, &port), 0);
	assert_string_equal(host, "cc.example.com");
	assert_int_equal(port, 443);

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (config_split_addr(bad[i], host, sizeof host, &port) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	/* a host that does not fit is refused, not cut */
	assert_int_equal(config_split_addr("abcdefgh:1", host, 8, &port), -1);
	assert_int_equal(config_split_addr("abcdefg:1", host, 8, &port), 0);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    T(test_file_all_sections),
	    T(test_file_unknown_key),
	    T(test_file_out_of_range),
	    T(test_file_not_integer),
	    T(test_file_syntax_and_missing),
	    T(test_file_string_too_long),
	    T(test_set),
	    T(test_set_after_file),
	    T(test_reopen_window),
	    T(test_finish_relative_paths),
	    T(test_finish_admin_loopback),
	    T(test_finish_bad_listen),
	    T(test_finish_key_mode),
	    T(test_finish_tls_required),
	    T(test_finish_password_file),
	    T(test_finish_password_file_missing),
	    T(test_finish_per_ip_clamped),
	    T(test_finish_log_level),
	    cmocka_unit_test(test_split_addr),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
