/* op-stats.c: queue.stats, stats.subscribe and stats.unsubscribe: the
 * supervisors' live queue statistics (stats-run.h).
 *
 * The figures live in memory on the loop, so these ops answer at once,
 * without a job. Site fence, as for tickets: admins and supervisors whose
 * agent record names no site see every scope; a supervisor of a site sees
 * that site and its queues, and a scope of another site is answered as one
 * that does not exist. */
#include <string.h>

#include "op-args.h"
#include "proto.h"
#include "server.h"
#include "stats-run.h"

/* The site s is fenced to, or 0 when it sees every site. */
static uint32_t
fence_site(const struct session *s)
{
	if (s->agent.role & ROLE_ADMIN)
		return 0;
	return s->agent.site_id;
}

/* The scope a request names: 0 and *scope, *sid, or -1 after replying. */
static int
scope_args(struct session *s, json_int_t id, json_t *req, enum stats_scope *scope, uint32_t *sid)
{
	static const char *const scopes[] = {"overall", "site", "queue", NULL};
	char kind[16], code[65], msg[160];
	uint32_t fence = fence_site(s), home = 0;
	int rc;

	if ((rc = arg_enum(s, id, req, "scope", 0, scopes, "overall, site or queue", kind,
	                   sizeof kind)) < 0)
		return -1;
	if (strcmp(kind, "overall") == 0) {
		if (fence != 0) {
			session_reply_error(
			    s, id, CC_ERR_FORBIDDEN,
			    "a supervisor of a site sees that site's figures: ask for "
			    "scope \"site\" or a queue of the site");
			return -1;
		}
		*scope = STATS_ALL;
		*sid = 0;
		return 0;
	}
	if (strcmp(kind, "site") == 0) {
		if ((rc = arg_text(s, id, req, "site", 64, ARG_OPTIONAL, code, sizeof code)) < 0)
			return -1;
		if (rc == 0 && fence == 0)
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "site",
			                  "is required with scope \"site\": a site code");
		*scope = STATS_SITE;
		*sid = rc == 0 ? fence : stats_run_site_id(s->srv, code);
		if (*sid == 0 || (fence != 0 && *sid != fence)) {
			snprintf(msg, sizeof msg, "no site %s", code);
			session_reply_error_field(s, id, CC_ERR_NOT_FOUND, msg, "site");
			return -1;
		}
		return 0;
	}
	if (arg_text(s, id, req, "queue", 64, 0, code, sizeof code) < 0)
		return -1;
	*scope = STATS_QUEUE;
	*sid = stats_run_queue_id(s->srv, code, &home);
	if (*sid == 0 || (fence != 0 && home != fence)) {
		snprintf(msg, sizeof msg, "no queue %s", code);
		session_reply_error_field(s, id, CC_ERR_NOT_FOUND, msg, "queue");
		return -1;
	}
	return 0;
}

/* The optional boolean "agents": 1 or 0, or -1 after replying. */
static int
agents_arg(struct session *s, json_int_t id, json_t *req)
{
	json_t *v = json_object_get(req, "agents");

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "agents", "must be true or false");
	return json_is_true(v);
}

void
op_queue_stats(struct session *s, json_int_t id, json_t *req)
{
	enum stats_scope scope = STATS_ALL;
	uint32_t sid = 0;
	int64_t now = now_ms();
	int agents;
	json_t *r, *view;

	if (stats_run_core(s->srv) == NULL) {
		session_reply_error(s, id, CC_ERR_UNAVAILABLE, "statistics are not running");
		return;
	}
	if (scope_args(s, id, req, &scope, &sid) != 0 || (agents = agents_arg(s, id, req)) < 0)
		return;
	if ((view = stats_run_view_json(s->srv, scope, sid, now)) == NULL) {
		/* a site or queue known by name that has had nothing counted yet */
		session_reply_error(s, id, CC_ERR_NOT_FOUND, "no figures for that scope yet");
		return;
	}
	r = proto_reply_ok(id);
	json_object_set_new(r, "stats", view);
	if (agents)
		json_object_set_new(r, "agents", stats_run_agents_json(s->srv, scope, sid, now));
	session_send(s, r);
}

void
op_stats_subscribe(struct session *s, json_int_t id, json_t *req)
{
	uint32_t fence = fence_site(s);
	int64_t now = now_ms();
	json_t *r, *scopes;

	(void)req;
	if (stats_run_core(s->srv) == NULL) {
		session_reply_error(s, id, CC_ERR_UNAVAILABLE, "statistics are not running");
		return;
	}
	/* the figures as they are now; events carry what changes after */
	scopes = stats_run_scopes_json(s->srv, fence, now);
	stats_run_subscribe(s->srv, s, fence);
	r = proto_reply_ok(id);
	json_object_set_new(r, "scopes", scopes);
	json_object_set_new(r, "interval_ms", json_integer(1000));
	session_send(s, r);
}

void
op_stats_unsubscribe(struct session *s, json_int_t id, json_t *req)
{
	json_t *r;

	(void)req;
	r = proto_reply_ok(id);
	json_object_set_new(r, "was_subscribed", json_boolean(stats_run_unsubscribe(s->srv, s)));
	session_send(s, r);
}
