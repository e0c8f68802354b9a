/* main.c: ccgateway's command line and start-up: the public HTTPS face of
 * callcentre (docs/ARCHITECTURE.md, "ccgateway"). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include "gw.h"
#include "log.h"
#include "tls.h"

#define DEFAULT_CONFIG "/etc/callcentre/ccgateway.conf"

/* Print usage to f. */
static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: ccgateway [-f FILE] [--check-config]\n"
	        "       ccgateway --new-api-key NAME\n"
	        "  -f, --config FILE     config file (default " DEFAULT_CONFIG ")\n"
	        "      --check-config    validate the config, certificate, key and secrets; exit\n"
	        "      --new-api-key NAME  print a new API key once, and the line for\n"
	        "                        web.api_keys_file (which keeps only its hash)\n"
	        "  -V, --version         print the version\n");
}

/* SIGTERM/SIGINT: stop accepting, answer what waits on callcentred with
 * 503, and leave the loop once those answers had a moment to go out;
 * requests that arrive meanwhile on open connections get 503 and
 * Connection: close (http.c). */
static void
gw_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct gw *gw = arg;
	struct timeval tv = {0, 200000};

	(void)what;
	if (gw->shutting_down)
		return;
	log_info("gateway", "signal %d: shutting down", (int)sig);
	gw->shutting_down = 1;
	if (gw->listener != NULL && !gw->listener_paused)
		evconnlistener_disable(gw->listener);
	gw_upstream_fail_all(gw->up, "shutting down");
	event_base_loopexit(gw->base, &tv);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'f'},
	    {"check-config", no_argument, NULL, 'c'},
	    {"new-api-key", required_argument, NULL, 'k'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = DEFAULT_CONFIG;
	int check = 0, opt, rc = 1;
	char err[1024];
	struct gw_config cfg;
	struct gw gw;

	while ((opt = getopt_long(argc, argv, "f:Vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			break;
		case 'c':
			check = 1;
			break;
		case 'k':
			return gw_api_key_new(optarg);
		case 'V':
			printf("ccgateway %s\n", CC_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	gw_config_defaults(&cfg);
	if (gw_config_load(&cfg, path, err, sizeof err) != 0 ||
	    gw_config_finish(&cfg, err, sizeof err) != 0) {
		fprintf(stderr, "ccgateway: %s\n", err);
		return 1;
	}
	log_set_level((enum log_level)log_level_parse(cfg.log_level));

	memset(&gw, 0, sizeof gw);
	gw.cfg = &cfg;
	SSL_CTX *client_ctx = NULL;
	if ((gw.server_ctx = tls_server_ctx(cfg.tls_cert, cfg.tls_key, err, sizeof err)) == NULL ||
	    (client_ctx = tls_client_ctx(cfg.upstream_ca_file[0] ? cfg.upstream_ca_file : NULL, 0,
	                                 err, sizeof err)) == NULL ||
	    gw_api_keys_load(&gw.keys, cfg.api_keys_file, err, sizeof err) != 0) {
		fprintf(stderr, "ccgateway: %s\n", err);
		goto out;
	}
	SSL_CTX_set_session_id_context(gw.server_ctx, (const unsigned char *)"ccgateway", 9);
	if (check) {
		printf("ccgateway: config %s is valid (%zu API keys)\n", path, gw.keys.n);
		rc = 0;
		goto out;
	}
	gw.ip_requests =
	    gw_limit_new(cfg.ip_requests_per_minute, 60000, (size_t)cfg.limit_table_size);
	gw.ip_complaints =
	    gw_limit_new(cfg.ip_complaints_per_hour, 3600000, (size_t)cfg.limit_table_size);
	gw.contact_complaints =
	    gw_limit_new(cfg.contact_complaints_per_hour, 3600000, (size_t)cfg.limit_table_size);
	if (gw.ip_requests == NULL || gw.ip_complaints == NULL || gw.contact_complaints == NULL ||
	    (gw.base = event_base_new()) == NULL) {
		fprintf(stderr, "ccgateway: out of memory\n");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	struct event *sigterm = evsignal_new(gw.base, SIGTERM, gw_signal_cb, &gw);
	struct event *sigint = evsignal_new(gw.base, SIGINT, gw_signal_cb, &gw);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	if ((gw.up = gw_upstream_new(gw.base, &cfg, client_ctx)) == NULL) {
		fprintf(stderr, "ccgateway: upstream %s:%d: cannot resolve the address\n",
		        cfg.upstream_host, cfg.upstream_port);
	} else if (gw_http_start(&gw, err, sizeof err) != 0) {
		fprintf(stderr, "ccgateway: %s\n", err);
	} else {
		log_info("gateway",
		         "ccgateway %s up: https on %s, callcentred at %s:%d (%d "
		         "connections), %zu API keys",
		         CC_VERSION, cfg.listen, cfg.upstream_host, cfg.upstream_port,
		         cfg.upstream_connections, gw.keys.n);
		event_base_dispatch(gw.base);
		rc = 0;
	}
	gw.shutting_down = 1;
	/* the upstream first: failing its calls answers requests that evhttp
	 * still holds */
	gw_upstream_free(gw.up);
	gw_http_stop(&gw);
	event_free(sigterm);
	event_free(sigint);
	log_info("gateway", "stopped");
out:
	if (gw.base != NULL)
		event_base_free(gw.base);
	gw_limit_free(gw.ip_requests);
	gw_limit_free(gw.ip_complaints);
	gw_limit_free(gw.contact_complaints);
	gw_api_keys_free(&gw.keys);
	SSL_CTX_free(gw.server_ctx);
	SSL_CTX_free(client_ctx);
	OPENSSL_cleanse(cfg.upstream_password, sizeof cfg.upstream_password);
	OPENSSL_cleanse(cfg.form_secret, sizeof cfg.form_secret);
	return rc;
}
