/* op-stats.c: queue.stats, stats.subscribe and stats.unsubscribe: the
 * supervisors' live queue statistics (stats-run.h); stats.report: the
 * rollups of earlier intervals (store-stats.h), on a db job.
 *
 * The figures live in memory on the loop, so these ops answer at once,
 * without a job. Site fence, as for tickets: admins and supervisors whose
 * agent record names no site see every scope; a supervisor of a site sees
 * that site and its queues, and a scope of another site is answered as one
 * that does not exist. Overall and the skills span the sites: they are
 * forbidden to a supervisor of a site. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op-args.h"
#include "op-job.h"
#include "proto.h"
#include "server.h"
#include "stats-run.h"
#include "store-stats.h"

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
	static const char *const scopes[] = {"overall", "site", "queue", "skill", NULL};
	char kind[16], code[65], msg[160];
	uint32_t fence = fence_site(s), home = 0;
	int rc;

	if ((rc = arg_enum(s, id, req, "scope", 0, scopes, "overall, site, queue or skill", kind,
	                   sizeof kind)) < 0)
		return -1;
	if (strcmp(kind, "skill") == 0) {
		if (arg_text(s, id, req, "skill", 64, 0, code, sizeof code) < 0)
			return -1;
		if (fence != 0) {
			session_reply_error(
			    s, id, CC_ERR_FORBIDDEN,
			    "a skill's figures span the sites: a supervisor of a site "
			    "sees that site's figures");
			return -1;
		}
		*scope = STATS_SKILL;
		if ((*sid = stats_run_skill_id(s->srv, code)) == 0) {
			snprintf(msg, sizeof msg, "no skill %s", code);
			session_reply_error_field(s, id, CC_ERR_NOT_FOUND, msg, "skill");
			return -1;
		}
		return 0;
	}
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

/* The agents of a queue.stats reply come in pages that fit on a line with
 * the figures: at most AGENTS_PAGE_MAX of them and AGENTS_PAGE_BYTES. */
#define AGENTS_PAGE_MAX   1000
#define AGENTS_PAGE_BYTES (PROTO_MAX_LINE - 8192)

void
op_queue_stats(struct session *s, json_int_t id, json_t *req)
{
	enum stats_scope scope = STATS_ALL;
	uint32_t sid = 0;
	int64_t now = now_ms();
	int agents, rc, rc_limit;
	size_t len;
	json_int_t limit = AGENTS_PAGE_MAX;
	char after[65] = "", next[65];
	json_t *r, *view;

	if (stats_run_core(s->srv) == NULL) {
		session_reply_error(s, id, CC_ERR_UNAVAILABLE, "statistics are not running");
		return;
	}
	if (scope_args(s, id, req, &scope, &sid) != 0 || (agents = agents_arg(s, id, req)) < 0)
		return;
	if ((rc = arg_text(s, id, req, "agents_after", 64, ARG_OPTIONAL | ARG_BYTES, after,
	                   sizeof after)) < 0 ||
	    (rc_limit = arg_int(s, id, req, "agents_limit", 1, AGENTS_PAGE_MAX, &limit)) < 0)
		return;
	if (!agents && (rc == 1 || rc_limit == 1)) {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, rc == 1 ? "agents_after" : "agents_limit",
		           "is only given with \"agents\": true");
		return;
	}
	if ((view = stats_run_view_json(s->srv, scope, sid, now)) == NULL) {
		/* a site or queue known by name that has had nothing counted yet */
		session_reply_error(s, id, CC_ERR_NOT_FOUND, "no figures for that scope yet");
		return;
	}
	r = proto_reply_ok(id);
	json_object_set_new(r, "stats", view);
	if (agents) {
		/* the figures are a few KiB at most: the rest of the line is the
		 * agents' */
		json_object_set_new(r, "agents",
		                    stats_run_agents_page(s->srv, scope, sid, now,
		                                          rc == 1 ? after : NULL, (size_t)limit,
		                                          AGENTS_PAGE_BYTES, next, sizeof next));
		json_object_set_new(r, "agents_next", next[0] ? json_string(next) : json_null());
	}
	/* the pages keep well under the limit; a reply over it is never sent */
	if ((len = json_dumpb(r, NULL, 0, JSON_COMPACT)) > PROTO_MAX_LINE) {
		json_decref(r);
		stats_run_oversize(s->srv, "queue.stats", len);
		session_reply_error(s, id, CC_ERR_TOO_LARGE,
		                    "the figures do not fit on a line: ask for fewer agents "
		                    "(agents_limit)");
		return;
	}
	session_send(s, r);
}

void
op_stats_subscribe(struct session *s, json_int_t id, json_t *req)
{
	uint32_t fence = fence_site(s);
	int64_t now = now_ms();
	json_t *r;

	(void)req;
	if (stats_run_core(s->srv) == NULL) {
		session_reply_error(s, id, CC_ERR_UNAVAILABLE, "statistics are not running");
		return;
	}
	/* the figures as they are now (in parts when they do not fit on a
	 * line); events carry what changes after */
	r = proto_reply_ok(id);
	json_object_set_new(r, "interval_ms", json_integer(1000));
	stats_run_picture(s->srv, s, r, fence, now);
	stats_run_subscribe(s->srv, s, fence);
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

/* --- stats.report --- */

#define DAY_MS           86400000LL
#define REPORT_SPAN_DAYS 366
#define INTERVAL_DAYS    31

struct report_job {
	struct op_job j;
	struct report_req q;
};

/* db worker */
static int
report_run(struct op_job *j, MYSQL *m)
{
	struct report_job *r = (struct report_job *)j;
	return store_stats_report(m, &r->q, &j->res, j->err, sizeof j->err);
}

/* loop: the range asked for, in the reply */
static void
report_post(struct op_job *j, json_t *reply)
{
	struct report_job *r = (struct report_job *)j;
	static const char *const names[] = {"queue", "site", "agent", "day", "interval", "skill"};

	json_object_set_new(reply, "from", json_integer((json_int_t)r->q.from));
	json_object_set_new(reply, "to", json_integer((json_int_t)r->q.to));
	json_object_set_new(reply, "by", json_string(names[r->q.by]));
}

/* A bound of the range: a date "YYYY-MM-DD" (a local day of site; end: the
 * day after it, the date being inclusive) or Unix ms. 0 and *out, or -1
 * after replying. */
static int
report_bound(struct session *s, json_int_t id, json_t *req, const char *key, uint32_t site, int end,
             int64_t *out)
{
	json_t *v = json_object_get(req, key);
	int y, mon, d, n = 0;
	char extra;

	if (v == NULL || json_is_null(v))
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key,
		                  "is required: a date (YYYY-MM-DD) or Unix milliseconds");
	if (json_is_integer(v)) {
		json_int_t ms = json_integer_value(v);
		if (ms < 0 || ms > 253402300799999LL)
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key,
			                  "must be Unix milliseconds from 0 to year 9999");
		*out = ms;
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) != 10 ||
	    sscanf(json_string_value(v), "%4d-%2d-%2d%n%c", &y, &mon, &d, &n, &extra) != 3 ||
	    n != 10 || y < 1970 || y > 9998 || mon < 1 || mon > 12 || d < 1 || d > 31)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key,
		                  "must be a date (YYYY-MM-DD) or Unix milliseconds");
	{
		/* a day that does not exist (2026-02-30) is refused, not rolled over */
		static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		if (d > mdays[mon - 1] || (mon == 2 && d == 29 && !leap))
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key,
			                  "is not a date that exists");
	}
	/* the end is the midnight after the day (timegm rolls the 32nd over) */
	*out = stats_run_local_midnight(s->srv, site, y, mon, end ? d + 1 : d);
	return 0;
}

void
op_stats_report(struct session *s, json_int_t id, json_t *req)
{
	static const char *const bys[] = {"queue",    "site",  "agent", "day",
	                                  "interval", "skill", NULL};
	struct report_job *r;
	struct report_req *q;
	uint32_t fence = fence_site(s), home = 0;
	char by[16], code[65], msg[160];
	int rc;

	if (stats_run_core(s->srv) == NULL) {
		session_reply_error(s, id, CC_ERR_UNAVAILABLE, "statistics are not running");
		return;
	}
	r = op_job_new(sizeof *r, s, id, "stats", "stats.report", 0, report_run);
	q = &r->q;
	if (arg_enum(s, id, req, "by", 0, bys, "queue, site, agent, day, interval or skill", by,
	             sizeof by) < 0)
		goto refused;
	for (int i = 0; bys[i] != NULL; i++)
		if (strcmp(bys[i], by) == 0)
			q->by = (enum report_by)i;
	if (q->by == REPORT_SKILL && fence != 0) {
		session_reply_error(s, id, CC_ERR_FORBIDDEN,
		                    "a skill's figures span the sites: a supervisor of a site "
		                    "sees that site's figures");
		goto refused;
	}
	/* the site: named (its days are its local days), or the fence */
	if ((rc = arg_text(s, id, req, "site", 64, ARG_OPTIONAL, code, sizeof code)) < 0)
		goto refused;
	if (rc == 1) {
		q->site = stats_run_site_id(s->srv, code);
		if (q->site == 0 || (fence != 0 && q->site != fence)) {
			snprintf(msg, sizeof msg, "no site %s", code);
			session_reply_error_field(s, id, CC_ERR_NOT_FOUND, msg, "site");
			goto refused;
		}
		q->site_named = 1;
	} else {
		q->site = fence;
	}
	if ((rc = arg_text(s, id, req, "queue", 64, ARG_OPTIONAL, code, sizeof code)) < 0)
		goto refused;
	if (rc == 1) {
		q->queue = stats_run_queue_id(s->srv, code, &home);
		if (q->queue == 0 || (q->site != 0 && home != q->site)) {
			snprintf(msg, sizeof msg, "no queue %s", code);
			session_reply_error_field(s, id, CC_ERR_NOT_FOUND, msg, "queue");
			goto refused;
		}
		if (q->by == REPORT_SITE || q->by == REPORT_AGENT) {
			arg_refuse(s, id, CC_ERR_BAD_REQUEST, "queue",
			           "cannot be given with by site or agent: the figures of sites "
			           "and agents are not kept per queue");
			goto refused;
		}
	}
	if (q->by == REPORT_SKILL && (q->site_named || q->queue != 0)) {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, q->queue != 0 ? "queue" : "site",
		           "cannot be given with by skill: the figures of skills are not kept "
		           "per site or queue");
		goto refused;
	}
	if (report_bound(s, id, req, "from", q->site_named ? q->site : 0, 0, &q->from) < 0 ||
	    report_bound(s, id, req, "to", q->site_named ? q->site : 0, 1, &q->to) < 0)
		goto refused;
	if (q->to <= q->from) {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, "to", "must be after from");
		goto refused;
	}
	if (q->to - q->from > REPORT_SPAN_DAYS * DAY_MS + 3600000LL) {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, "to",
		           "is more than 366 days after from: ask for a shorter range");
		goto refused;
	}
	if (q->by == REPORT_INTERVAL && q->to - q->from > INTERVAL_DAYS * DAY_MS + 3600000LL) {
		arg_refuse(s, id, CC_ERR_BAD_REQUEST, "to",
		           "is more than 31 days after from: by interval takes at most 31 days");
		goto refused;
	}
	if (q->by == REPORT_DAY)
		q->ndays = stats_run_days(s->srv, q->site_named ? q->site : 0, q->from, q->to,
		                          q->day_start, q->day_name, REPORT_DAYS_MAX);
	r->j.post = report_post;
	op_job_submit(&r->j);
	return;
refused:
	op_job_free(&r->j);
}
