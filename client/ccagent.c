/* ccagent.c: the agent terminal client's program: options, configuration,
 * credentials, and the two ways of running:
 *
 *   interactive  a prompt with line editing, history and completion; server
 *                events are shown as they come; the session reconnects by
 *                itself after a server restart;
 *   scripted     -c 'cmd; cmd' or commands on standard input, run in order,
 *                one at a time; the first failure stops the run and sets the
 *                exit status (see ccagent.h).
 *
 * Settings come from, in order of precedence: the command line, the
 * environment (CCAGENT_SERVER, CCAGENT_USER, CCAGENT_CA, CCAGENT_PASSWORD),
 * the config file, and the defaults. */
#include "ccagent.h"
#include "sanitize.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <ini.h>
#include <openssl/crypto.h>

#include "tls.h"

#define DEFAULT_PORT     "7443"
#define SYSTEM_CONFIG    "/etc/callcentre/ccagent.conf"
#define CONFIG_VALUE_MAX PATH_MAX

static const char usage_text[] =
    "usage: ccagent [options]\n"
    "  -f, --config FILE        config file (default ~/.config/ccagent/ccagent.conf,\n"
    "                           then " SYSTEM_CONFIG ", when present)\n"
    "  -s, --server HOST:PORT   server address (default port " DEFAULT_PORT ")\n"
    "  -u, --user NAME          user name\n"
    "      --ca FILE            CA certificate(s) that sign the server's certificate\n"
    "                           (default: the system's trust store)\n"
    "      --insecure           do not verify the server's certificate (unsafe)\n"
    "      --password-file FILE read the password from the first line of FILE\n"
    "  -c, --command CMDS       run CMDS (separated by ';') and exit\n"
    "      --json               print replies as the server's raw JSON lines\n"
    "  -q, --quiet              no status messages\n"
    "  -V, --version            print the version and exit\n"
    "  -h, --help               this help\n"
    "Subcommands (after the options):\n"
    "  top                      full-screen live view of the queues (supervisors)\n"
    "  report --from D --to D --by queue|site|agent|day|interval [--site S]\n"
    "         [--queue Q] [--format table|csv|json] [--chart FILE.svg]\n"
    "                           statistics of past days (stats.report)\n"
    "Without -c, commands are read from standard input when it is not a terminal.\n"
    "The password comes from --password-file, CCAGENT_PASSWORD, the config file's\n"
    "password_file, or a prompt on the terminal, in that order.\n"
    "Exit status: 0 ok, 1 refused by the server, 2 usage, 3 connection.\n";

/* Everything the program knows; one instance. */
static struct client {
	/* settings */
	char config_file[PATH_MAX];
	char config_dir[PATH_MAX];
	char server[CONFIG_VALUE_MAX];
	char user[AGENT_MAX_PASSWORD + 1];
	char ca[PATH_MAX];
	char password_file[PATH_MAX];
	char password[AGENT_MAX_PASSWORD + 1];
	char host[256];
	char port[16];
	int insecure;
	int json;
	int quiet;
	int interactive;

	/* subcommands: `top`, or `report` with its options */
	enum client_mode { MODE_SHELL, MODE_TOP, MODE_REPORT } mode;
	struct report_opts report;

	/* scripted mode: the commands and how far we got */
	struct cmd_list script;
	size_t next;

	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ctx;
	int exit_code;
	int exited;

	/* the offer on screen: its deadline, and the prompt's countdown */
	int64_t offer_until; /* Unix ms; 0 none */
	struct event *countdown;
} cl;

/* ---- the upper layer session.c reports to ---- */

void
client_exit(int code)
{
	if (cl.exited)
		return;
	cl.exited = 1;
	cl.exit_code = code;
	event_base_loopbreak(cl.base);
}

/* Unix time in milliseconds (offers carry their deadline so). */
static int64_t
client_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The prompt: "user@SITE> ", or with "(offline)" while reconnecting; an
 * offer waiting for an answer shows first, with the seconds left. */
static void
client_prompt_text(char *prompt, size_t len, int offline)
{
	const json_t *agent = session_agent();
	char *user = render_value(json_object_get(agent, "user"));
	char *site = render_value(json_object_get(agent, "site"));

	char offer[96] = "";

	if (cl.offer_until > 0 && cmd_offer_get()[0] != '\0') {
		int64_t left = (cl.offer_until - client_wall_ms() + 999) / 1000;
		char *ref = term_sanitize(cmd_offer_get(), strlen(cmd_offer_get()), 0);
		snprintf(offer, sizeof offer, "[offer %s %llds] ", ref,
		         (long long)(left > 0 ? left : 0));
		free(ref);
	}
	snprintf(prompt, len, "%s%s@%s%s> ", offer, agent != NULL ? user : session_user(),
	         agent != NULL ? site : "?", offline ? " (offline)" : "");
	free(user);
	free(site);
}

static void
client_prompt(int offline)
{
	char prompt[600];

	client_prompt_text(prompt, sizeof prompt, offline);
	ui_set_prompt(prompt);
}

/* The prompt counts the offer down, once a second, until it is answered
 * or runs out. */
static void
client_countdown_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (cl.offer_until > 0 && client_wall_ms() >= cl.offer_until + 1000)
		client_offer_clear();
	else
		client_prompt(0);
}

/* An offer came: count it down in the prompt. */
static void
client_offer_shown(int64_t until)
{
	struct timeval second = {1, 0};

	cl.offer_until = until;
	if (!cl.interactive)
		return;
	if (cl.countdown == NULL)
		cl.countdown = event_new(cl.base, -1, EV_PERSIST, client_countdown_cb, NULL);
	if (cl.countdown != NULL)
		event_add(cl.countdown, &second);
	client_prompt(0);
}

void
client_offer_clear(void)
{
	cmd_offer_set(NULL);
	cl.offer_until = 0;
	if (cl.countdown != NULL)
		event_del(cl.countdown);
	if (cl.interactive)
		client_prompt(0);
}

/* What client_command did. */
enum cmd_done {
	CMD_DONE_LOCAL, /* handled here (help) */
	CMD_DONE_SENT,  /* a request went out; its reply comes later */
	CMD_DONE_QUIT,  /* the user asked to leave */
	CMD_DONE_ERROR, /* could not send; err says why */
};

/* Run one command: help is answered locally, a request is sent. */
static enum cmd_done
client_command(const struct cmd *c, char *err, size_t errlen)
{
	char *text;

	switch (c->type) {
	case CMD_HELP:
		text = cmd_help(c->topic);
		ui_print(text);
		free(text);
		return CMD_DONE_LOCAL;
	case CMD_QUIT:
		return CMD_DONE_QUIT;
	case CMD_REQUEST:
		break;
	}
	return session_request(c->request, REQ_COMMAND, err, errlen) < 0 ? CMD_DONE_ERROR
	                                                                 : CMD_DONE_SENT;
}

/* Run the next scripted command, or finish when there are none left. */
static void
client_script_next(void)
{
	char err[256];

	while (cl.next < cl.script.n) {
		switch (client_command(&cl.script.v[cl.next++], err, sizeof err)) {
		case CMD_DONE_LOCAL:
			continue;
		case CMD_DONE_SENT:
			return; /* client_reply carries on */
		case CMD_DONE_QUIT:
			session_finish(cl.exit_code);
			return;
		case CMD_DONE_ERROR:
			ui_error("ccagent: %s", err);
			session_finish(EXIT_CONN);
			return;
		}
	}
	session_finish(EXIT_OK);
}

/* An interactive line: parse it and run each command on it. */
static void
client_line(char *line)
{
	struct cmd_list list = {0};
	char err[256];

	if (line == NULL) { /* Ctrl-D, SIGTERM, SIGHUP */
		ui_hold();
		session_finish(EXIT_OK);
		return;
	}
	if (cmd_parse(line, &list, err, sizeof err) != 0) {
		ui_error("%s", err);
		return;
	}
	for (size_t i = 0; i < list.n; i++) {
		enum cmd_done done = client_command(&list.v[i], err, sizeof err);
		if (done == CMD_DONE_ERROR)
			ui_error("%s", err);
		if (done == CMD_DONE_QUIT) {
			ui_hold();
			session_finish(EXIT_OK);
			break;
		}
	}
	cmd_list_free(&list);
}

void
client_ready(int again)
{
	const json_t *agent = session_agent();
	if (cl.mode == MODE_TOP) {
		top_ready();
		return;
	}
	if (cl.mode == MODE_REPORT) {
		json_t *req = report_request(&cl.report);
		char err[256];
		if (again)
			return;
		if (req == NULL || session_request(req, REQ_COMMAND, err, sizeof err) < 0) {
			ui_error("ccagent: %s", req == NULL ? "out of memory" : err);
			session_finish(EXIT_CONN);
		}
		json_decref(req);
		return;
	}

	char *who = render_value(json_object_get(agent, "user"));
	char *name = render_value(json_object_get(agent, "name"));
	char *role = render_value(json_object_get(agent, "role"));
	char *site = render_value(json_object_get(agent, "site"));

	if (again) {
		ui_info("reconnected as %s", who);
		client_prompt(0);
	} else {
		ui_info("logged in as %s (%s, %s, site %s)", who, name, role, site);
		if (cl.interactive) {
			char prompt[600];
			ui_info("type help for the commands, quit or Ctrl-D to leave");
			client_prompt_text(prompt, sizeof prompt, 0);
			if (ui_start(prompt, client_line) != 0) {
				ui_error("ccagent: cannot start the line editor");
				session_finish(EXIT_USAGE);
			}
		}
	}
	free(who);
	free(name);
	free(role);
	free(site);
	if (!cl.interactive && !again)
		client_script_next();
}

void
client_offline(void)
{
	if (cl.interactive)
		client_prompt(1);
}

void
client_reply(const struct request *req, json_t *msg, const char *line, size_t len)
{
	int ok = json_is_true(json_object_get(msg, "ok"));
	char *text;

	if (cl.mode == MODE_TOP) {
		top_reply(req, msg);
		return;
	}
	if (cl.mode == MODE_REPORT && ok) {
		char err[512];
		if (report_output(&cl.report, msg, err, sizeof err) != 0) {
			ui_error("ccagent: %s", err);
			session_finish(EXIT_USAGE);
		} else
			session_finish(EXIT_OK);
		return;
	}
	if (cl.json) {
		text = render_raw(line, len);
		ui_print(text);
		free(text);
	}
	if (ok && (strcmp(req->op, "offer.accept") == 0 || strcmp(req->op, "offer.decline") == 0))
		client_offer_clear();
	if (ok) {
		if (!cl.json) {
			double rtt = (double)(session_now_us() - req->sent_us) / 1000.0;
			text = render_reply(req->op, msg, rtt);
			ui_print(text);
			free(text);
		}
	} else {
		text = render_error(msg);
		ui_error("%s", text);
		free(text);
	}
	if (cl.interactive) {
		if (ok && strcmp(req->op, "logout") == 0) {
			ui_hold();
			session_finish(EXIT_OK);
		}
		return;
	}
	if (!ok) {
		cl.exit_code = EXIT_SERVER;
		session_finish(EXIT_SERVER);
		return;
	}
	client_script_next();
}

void
client_event(json_t *msg, const char *line, size_t len)
{
	const char *name = json_string_value(json_object_get(msg, "event"));
	char *text;

	if (cl.mode == MODE_TOP) {
		top_event(msg);
		return;
	}
	text = cl.json ? render_raw(line, len) : render_event(msg);
	/* accept and decline answer the offer last shown; the prompt counts
	 * it down */
	if (name != NULL && strcmp(name, "offer") == 0) {
		cmd_offer_set(
		    json_string_value(json_object_get(json_object_get(msg, "ticket"), "ref")));
		client_offer_shown(json_integer_value(json_object_get(msg, "expires_at")));
	} else if (name != NULL && strcmp(name, "offer.retracted") == 0 &&
	           json_is_string(json_object_get(msg, "ticket")) &&
	           strcmp(json_string_value(json_object_get(msg, "ticket")), cmd_offer_get()) ==
	               0) {
		client_offer_clear();
	}

	/* in scripts, events go to stderr so that stdout holds only replies */
	if (cl.interactive || cl.json)
		ui_print(text);
	else
		ui_info("%s", text);
	free(text);
}

/* ---- settings ---- */

/* Copy value into dst (size n); a path relative to the config file's folder
 * is made absolute. -1 when it does not fit. */
static int
client_set(char *dst, size_t n, const char *value, int is_path, const char *base)
{
	int w;

	if (is_path && value[0] != '/' && value[0] != '\0' && base != NULL)
		w = snprintf(dst, n, "%s/%s", base, value);
	else
		w = snprintf(dst, n, "%s", value);
	return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* inih handler for the config file. */
static int
client_ini(void *user, const char *section, const char *name, const char *value)
{
	const char *base = cl.config_dir;
	int rc;

	(void)user;
	if (strcmp(section, "server") == 0 && strcmp(name, "address") == 0)
		rc = cl.server[0] ? 0 : client_set(cl.server, sizeof cl.server, value, 0, NULL);
	else if (strcmp(section, "server") == 0 && strcmp(name, "ca") == 0)
		rc = cl.ca[0] ? 0 : client_set(cl.ca, sizeof cl.ca, value, 1, base);
	else if (strcmp(section, "agent") == 0 && strcmp(name, "user") == 0)
		rc = cl.user[0] ? 0 : client_set(cl.user, sizeof cl.user, value, 0, NULL);
	else if (strcmp(section, "agent") == 0 && strcmp(name, "password_file") == 0)
		rc = cl.password_file[0]
		         ? 0
		         : client_set(cl.password_file, sizeof cl.password_file, value, 1, base);
	else {
		fprintf(stderr, "ccagent: %s: unknown setting [%s] %s\n", cl.config_file, section,
		        name);
		return 0;
	}
	if (rc != 0)
		fprintf(stderr, "ccagent: %s: [%s] %s is too long\n", cl.config_file, section,
		        name);
	return rc == 0;
}

/* Read the config file: the one given, or the first default that exists. */
static int
client_read_config(const char *given)
{
	char path[PATH_MAX], dir[PATH_MAX];
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	int rc;

	if (given != NULL)
		snprintf(path, sizeof path, "%s", given);
	else {
		path[0] = '\0';
		if (xdg != NULL && xdg[0] == '/')
			snprintf(path, sizeof path, "%s/ccagent/ccagent.conf", xdg);
		else if (home != NULL && home[0] == '/')
			snprintf(path, sizeof path, "%s/.config/ccagent/ccagent.conf", home);
		if (path[0] == '\0' || access(path, F_OK) != 0)
			snprintf(path, sizeof path, "%s", SYSTEM_CONFIG);
		if (access(path, F_OK) != 0)
			return 0;
	}
	snprintf(cl.config_file, sizeof cl.config_file, "%s", path);
	if (realpath(path, dir) == NULL) {
		fprintf(stderr, "ccagent: %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(cl.config_dir, sizeof cl.config_dir, "%s", dirname(dir));
	rc = ini_parse(path, client_ini, NULL);
	if (rc < 0) {
		fprintf(stderr, "ccagent: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (rc > 0) {
		fprintf(stderr, "ccagent: %s: line %d is not valid\n", path, rc);
		return -1;
	}
	return 0;
}

/* Split "host:port", "[v6]:port" or "host" into cl.host and cl.port. */
static int
client_split_address(const char *addr)
{
	const char *colon, *host = addr;
	size_t hostlen;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		host = addr + 1;
		hostlen = (size_t)(end - host);
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(addr, ':');
		if (colon != NULL && strchr(addr, ':') != colon)
			return -1; /* a bare IPv6 address needs brackets */
		hostlen = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
	}
	if (hostlen == 0 || hostlen >= sizeof cl.host)
		return -1;
	memcpy(cl.host, host, hostlen);
	cl.host[hostlen] = '\0';
	const char *port = colon != NULL ? colon + 1 : DEFAULT_PORT;
	char *end;
	errno = 0;
	long p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535)
		return -1;
	snprintf(cl.port, sizeof cl.port, "%ld", p);
	return 0;
}

/* The first line of path, which only its owner may read. */
static int
client_read_password_file(const char *path)
{
	struct stat st;
	FILE *f;
	size_t n;

	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "ccagent: password file %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
		fprintf(stderr,
		        "ccagent: password file %s can be read by others (mode %03o); "
		        "chmod 600 it\n",
		        path, (unsigned)(st.st_mode & 0777));
		fclose(f);
		return -1;
	}
	if (fgets(cl.password, sizeof cl.password, f) == NULL) {
		fprintf(stderr, "ccagent: password file %s is empty\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strcspn(cl.password, "\r\n");
	if (cl.password[n] == '\0' && n == sizeof cl.password - 1) {
		OPENSSL_cleanse(cl.password, sizeof cl.password);
		fprintf(stderr, "ccagent: password file %s: the password is longer than %d bytes\n",
		        path, AGENT_MAX_PASSWORD);
		return -1;
	}
	cl.password[n] = '\0';
	return 0;
}

/* Find the password: file option, environment, config file, prompt. */
static int
client_password(void)
{
	const char *env = getenv("CCAGENT_PASSWORD");
	char err[200], question[AGENT_MAX_PASSWORD + 64];

	if (cl.password_file[0] != '\0')
		return client_read_password_file(cl.password_file);
	if (env != NULL) {
		if (strlen(env) >= sizeof cl.password) {
			fprintf(stderr, "ccagent: CCAGENT_PASSWORD is longer than %d bytes\n",
			        AGENT_MAX_PASSWORD);
			return -1;
		}
		snprintf(cl.password, sizeof cl.password, "%s", env);
		/* not passed on to anything we might start */
		OPENSSL_cleanse((char *)env, strlen(env));
		unsetenv("CCAGENT_PASSWORD");
		return 0;
	}
	snprintf(question, sizeof question, "password for %s: ", cl.user);
	if (prompt_tty(question, 0, cl.password, sizeof cl.password, err, sizeof err) != 0) {
		fprintf(stderr,
		        "ccagent: no password: %s (use --password-file, CCAGENT_PASSWORD or a "
		        "terminal)\n",
		        err);
		return -1;
	}
	return 0;
}

/* Read the script from standard input and parse it, line by line. */
static int
client_read_script(void)
{
	struct evbuffer *in = evbuffer_new();
	char *line;
	size_t len, lineno = 0;
	int rc = 0;

	if (in == NULL)
		return -1;
	for (;;) {
		int n = evbuffer_read(in, STDIN_FILENO, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "ccagent: reading standard input: %s\n", strerror(errno));
			evbuffer_free(in);
			return -1;
		}
		if (n == 0)
			break;
		if (evbuffer_get_length(in) > AGENT_MAX_SCRIPT) {
			fprintf(stderr, "ccagent: the commands on standard input exceed %d bytes\n",
			        AGENT_MAX_SCRIPT);
			evbuffer_free(in);
			return -1;
		}
	}
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL ||
	       evbuffer_get_length(in) > 0) {
		struct cmd_list part = {0};
		char err[256];

		if (line == NULL) { /* last line without a newline */
			len = evbuffer_get_length(in);
			line = malloc(len + 1);
			if (line == NULL)
				break;
			evbuffer_remove(in, line, len);
			line[len] = '\0';
		}
		lineno++;
		const char *p = line + strspn(line, " \t");
		if (*p != '\0' && *p != '#') {
			if (cmd_parse(line, &part, err, sizeof err) != 0) {
				fprintf(stderr, "ccagent: standard input line %zu: %s\n", lineno,
				        err);
				rc = -1;
			} else {
				struct cmd *v =
				    realloc(cl.script.v, (cl.script.n + part.n) * sizeof *v);
				if (v == NULL) {
					cmd_list_free(&part);
					free(line);
					rc = -1;
					break;
				}
				cl.script.v = v;
				memcpy(v + cl.script.n, part.v, part.n * sizeof *v);
				cl.script.n += part.n;
				free(part.v);
			}
		}
		OPENSSL_cleanse(line, len);
		free(line);
	}
	evbuffer_free(in);
	return rc;
}

/* Copy an option value into a settings field, or fail with a message. */
static int
client_opt(char *dst, size_t n, const char *value, const char *what)
{
	if (client_set(dst, n, value, 0, NULL) != 0) {
		fprintf(stderr, "ccagent: %s is too long\n", what);
		return -1;
	}
	return 0;
}

/* Take a setting from the environment unless already set. */
static int
client_env(char *dst, size_t n, const char *name)
{
	const char *v = getenv(name);

	if (dst[0] != '\0' || v == NULL || v[0] == '\0')
		return 0;
	return client_opt(dst, n, v, name);
}

enum { OPT_CA = 256, OPT_INSECURE, OPT_PASSWORD_FILE, OPT_JSON };

/* Parse the command line and gather the settings. */
static int
client_options(int argc, char **argv, const char **command)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'f'},
	    {"server", required_argument, NULL, 's'},
	    {"user", required_argument, NULL, 'u'},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"insecure", no_argument, NULL, OPT_INSECURE},
	    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
	    {"command", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"quiet", no_argument, NULL, 'q'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	int c, rc = 0;

	*command = NULL;
	/* "+": options end at the subcommand, which has options of its own */
	while ((c = getopt_long(argc, argv, "+f:s:u:c:qVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			config = optarg;
			break;
		case 's':
			rc |= client_opt(cl.server, sizeof cl.server, optarg, "--server");
			break;
		case 'u':
			rc |= client_opt(cl.user, sizeof cl.user, optarg, "--user");
			break;
		case OPT_CA:
			rc |= client_opt(cl.ca, sizeof cl.ca, optarg, "--ca");
			break;
		case OPT_INSECURE:
			cl.insecure = 1;
			break;
		case OPT_PASSWORD_FILE:
			rc |= client_opt(cl.password_file, sizeof cl.password_file, optarg,
			                 "--password-file");
			break;
		case 'c':
			*command = optarg;
			break;
		case OPT_JSON:
			cl.json = 1;
			break;
		case 'q':
			cl.quiet = 1;
			break;
		case 'V':
			printf("ccagent %s (protocol %d)\n", CC_VERSION, PROTO_VERSION);
			exit(EXIT_OK);
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_OK);
		default:
			fputs(usage_text, stderr);
			return -1;
		}
	}
	if (optind < argc && strcmp(argv[optind], "top") == 0 && optind + 1 == argc &&
	    *command == NULL) {
		cl.mode = MODE_TOP;
	} else if (optind < argc && strcmp(argv[optind], "report") == 0 && *command == NULL) {
		char err[256];
		cl.mode = MODE_REPORT;
		if (report_args(argc - optind, argv + optind, &cl.report, err, sizeof err) != 0) {
			fprintf(stderr, "ccagent: %s\n", err);
			return -1;
		}
	} else if (optind < argc) {
		fprintf(stderr,
		        "ccagent: unexpected argument \"%s\" (commands go after -c; the "
		        "subcommands are top and report, with no -c)\n",
		        argv[optind]);
		return -1;
	}
	if (rc != 0)
		return -1;
	rc |= client_env(cl.server, sizeof cl.server, "CCAGENT_SERVER");
	rc |= client_env(cl.user, sizeof cl.user, "CCAGENT_USER");
	rc |= client_env(cl.ca, sizeof cl.ca, "CCAGENT_CA");
	if (rc != 0 || client_read_config(config) != 0)
		return -1;
	if (cl.server[0] == '\0') {
		fprintf(stderr, "ccagent: no server: give -s HOST:PORT, CCAGENT_SERVER or "
		                "[server] address in the config file\n");
		return -1;
	}
	if (client_split_address(cl.server) != 0) {
		fprintf(stderr, "ccagent: server address \"%s\" is not HOST:PORT\n", cl.server);
		return -1;
	}
	return 0;
}

/* Ask for the user name when none was configured. */
static int
client_user(void)
{
	char err[200];

	if (cl.user[0] != '\0')
		return 0;
	if (prompt_tty("user: ", 1, cl.user, sizeof cl.user, err, sizeof err) != 0 ||
	    cl.user[0] == '\0') {
		fprintf(stderr, "ccagent: no user name: give -u NAME (%s)\n",
		        cl.user[0] ? err : "empty answer");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct session_config scfg;
	const char *command;
	char err[512];

	signal(SIGPIPE, SIG_IGN);
	/* the user's character set for line editing; UTF-8 when theirs is not */
	if (setlocale(LC_CTYPE, "") == NULL || MB_CUR_MAX == 1)
		setlocale(LC_CTYPE, "C.UTF-8");
	if (client_options(argc, argv, &command) != 0)
		return EXIT_USAGE;
	cl.interactive = cl.mode == MODE_SHELL && command == NULL && isatty(STDIN_FILENO) &&
	                 isatty(STDOUT_FILENO);
	if (cl.mode == MODE_TOP && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "ccagent: top needs a terminal on standard input and output\n");
		return EXIT_USAGE;
	}
	if (cl.mode != MODE_SHELL) {
		/* the subcommand is the whole run */
	} else if (command != NULL) {
		if (cmd_parse(command, &cl.script, err, sizeof err) != 0) {
			fprintf(stderr, "ccagent: -c: %s\n", err);
			return EXIT_USAGE;
		}
	} else if (!cl.interactive && !isatty(STDIN_FILENO)) {
		if (client_read_script() != 0)
			return EXIT_USAGE;
	} else if (!cl.interactive) {
		fprintf(stderr, "ccagent: standard output is not a terminal: give -c COMMANDS\n");
		return EXIT_USAGE;
	}
	if (client_user() != 0 || client_password() != 0)
		return EXIT_USAGE;

	cl.ctx = tls_client_ctx(cl.ca[0] ? cl.ca : NULL, cl.insecure, err, sizeof err);
	if (cl.ctx == NULL) {
		fprintf(stderr, "ccagent: TLS: %s\n", err);
		OPENSSL_cleanse(cl.password, sizeof cl.password);
		return EXIT_USAGE;
	}
	if (cl.insecure)
		fprintf(stderr, "ccagent: WARNING: --insecure: the server's certificate is not "
		                "verified; anyone between here and the server can read and change "
		                "this session, password included\n");

	cl.base = event_base_new();
	cl.dns = cl.base != NULL ? evdns_base_new(cl.base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	                                                       EVDNS_BASE_DISABLE_WHEN_INACTIVE)
	                         : NULL;
	if (cl.base == NULL || cl.dns == NULL) {
		fprintf(stderr, "ccagent: cannot set up the event loop\n");
		return EXIT_CONN;
	}
	ui_init(cl.base, cl.interactive, cl.quiet || cl.mode == MODE_TOP);
	if (cl.mode == MODE_TOP && top_init(cl.base, err, sizeof err) != 0) {
		fprintf(stderr, "ccagent: %s\n", err);
		return EXIT_USAGE;
	}
	memset(&scfg, 0, sizeof scfg);
	scfg.base = cl.base;
	scfg.dns = cl.dns;
	scfg.ctx = cl.ctx;
	scfg.host = cl.host;
	scfg.port = cl.port;
	scfg.user = cl.user;
	scfg.password = cl.password;
	scfg.reconnect = cl.interactive || cl.mode == MODE_TOP;
	scfg.want_ops = cl.interactive;
	session_init(&scfg);
	if (cl.interactive)
		ui_info("connecting to %s:%s as %s", cl.host, cl.port, cl.user);
	session_start();
	event_base_dispatch(cl.base);

	top_free();
	ui_stop();
	session_free();
	cmd_list_free(&cl.script);
	OPENSSL_cleanse(cl.password, sizeof cl.password);
	evdns_base_free(cl.dns, 0);
	event_base_free(cl.base);
	SSL_CTX_free(cl.ctx);
	return cl.exited ? cl.exit_code : EXIT_CONN;
}
