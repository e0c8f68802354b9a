/* admin.c: the loopback admin HTTP port (libevent evhttp): /healthz for
 * load balancers and orchestration, /metrics for Prometheus. Answers come
 * from state the loop already holds, so the port never waits on a worker:
 * database health is refreshed by housekeeping every few seconds. */
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"
#include "server.h"

/* Seconds after which a health result is too old to trust. */
#define HEALTH_STALE 10

/* GET /healthz */
static void
admin_healthz(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct evbuffer *out = evbuffer_new();
	time_t now = time(NULL);
	int ok = srv->health.ok == 1 && now - srv->health.checked <= HEALTH_STALE;
	json_t *body;
	char *text;

	server_check_health(srv);
	if (ok)
		body = json_pack("{s:s,s:s,s:f,s:I,s:I,s:b}", "status", "ok", "database", "up",
		                 "database_latency_ms", srv->health.latency * 1000.0, "sessions",
		                 (json_int_t)srv->nsessions, "uptime",
		                 (json_int_t)(now - srv->started), "draining", srv->draining);
	else
		body = json_pack("{s:s,s:s,s:s,s:I,s:b}", "status", "degraded", "database",
		                 srv->health.ok == -1 ? "unknown" : "down", "error",
		                 srv->health.ok == -1   ? "not checked yet"
		                 : srv->health.error[0] ? srv->health.error
		                                        : "no recent check",
		                 "sessions", (json_int_t)srv->nsessions, "draining", srv->draining);
	text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(4));
	evbuffer_add_printf(out, "%s\n", text);
	free(text);
	json_decref(body);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evhttp_send_reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", out);
	evbuffer_free(out);
}

/* GET /metrics */
static void
admin_metrics(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evbuffer_new();

	metrics_write(arg, out);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* Anything else. */
static void
admin_not_found(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "only /healthz and /metrics are here");
}

int
admin_start(struct server *srv, char *err, size_t errlen)
{
	char host[256];
	int port;

	if (srv->cfg.admin_listen[0] == '\0')
		return 0;
	if (config_split_addr(srv->cfg.admin_listen, host, sizeof host, &port) != 0) {
		snprintf(err, errlen, "server.admin_listen: cannot parse \"%s\"",
		         srv->cfg.admin_listen);
		return -1;
	}
	srv->admin = evhttp_new(srv->base);
	evhttp_set_allowed_methods(srv->admin, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(srv->admin, 8192);
	evhttp_set_max_body_size(srv->admin, 0);
	evhttp_set_timeout(srv->admin, 10);
	evhttp_set_cb(srv->admin, "/healthz", admin_healthz, srv);
	evhttp_set_cb(srv->admin, "/metrics", admin_metrics, srv);
	evhttp_set_gencb(srv->admin, admin_not_found, srv);
	if (evhttp_bind_socket(srv->admin, host, (ev_uint16_t)port) != 0) {
		snprintf(err, errlen, "cannot listen on admin address %s", srv->cfg.admin_listen);
		return -1;
	}
	return 0;
}
