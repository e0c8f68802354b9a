/* stats-run.c: see stats-run.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <uthash.h>

#include "log.h"
#include "op-args.h"
#include "proto.h"
#include "router.h"
#include "server.h"
#include "sla.h"
#include "stats-run.h"

#define DAY_MS           86400000LL
#define PUSH_INTERVAL_MS 1000

struct sr_sub;
TAILQ_HEAD(sr_sub_list, sr_sub);

struct sr_site {
	uint32_t id;
	char code[65];
	struct sla_calendar *cal; /* NULL: UTC */
	int64_t midnight;         /* the next local midnight (Unix ms) */
	struct sr_sub_list subs;  /* subscribers of this site */
	UT_hash_handle hh, hh_code;
};

struct sr_queue {
	uint32_t id;
	char code[65];
	uint32_t site; /* the queue's own site; 0: every site's */
	uint32_t home; /* the site whose midnight resets it */
	UT_hash_handle hh, hh_code;
};

struct sr_agent {
	uint32_t id;
	char user[65];
	uint32_t site; /* as counted (never 0) */
	unsigned nqueues;
	uint32_t queues[ROUTE_MAX_QUEUES];
	UT_hash_handle hh;
};

/* The SLA warnings and breaches open on a ticket, to clear when its work
 * leaves the router: at most one entry per work item the router holds. */
struct sr_sla {
	uint64_t ticket;
	uint32_t queue, site;
	uint32_t warnings, breaches;
	UT_hash_handle hh;
};

/* A subscribed session: in the list of its site, or of every site. */
struct sr_sub {
	struct session *s;
	uint32_t site;   /* 0: every site */
	json_t *pending; /* scopes for the push being built */
	TAILQ_ENTRY(sr_sub) entry;
	TAILQ_ENTRY(sr_sub) touched;
	UT_hash_handle hh; /* by session */
};

struct stats_run {
	struct server *srv;
	struct stats *core;
	struct sr_site *sites, *sites_by_code;
	struct sr_queue *queues, *queues_by_code;
	struct sr_agent *agents;
	struct sr_sla *sla;
	struct sr_sub *subs;         /* by session */
	struct sr_sub_list subs_all; /* subscribers of every site */
	uint64_t pushed;             /* the version of the last push */
	struct event *push, *midnight;
	struct stats_ref *refs;
	size_t caprefs;
};

static struct stats_run *
run_of(struct server *srv)
{
	return srv != NULL ? srv->stats : NULL;
}

struct stats *
stats_run_core(struct server *srv)
{
	struct stats_run *run = run_of(srv);
	return run ? run->core : NULL;
}

void
stats_run_check(const char *what, uint64_t id, int rc)
{
	if (rc != STATS_OK)
		log_debug("stats", "msg=\"event refused\" event=%s id=%llu error=%s", what,
		          (unsigned long long)id, stats_rc_name(rc));
}

/* --- sites and their midnights --- */

static struct sr_site *
site_find(struct stats_run *run, uint32_t id)
{
	struct sr_site *x;
	HASH_FIND(hh, run->sites, &id, sizeof id, x);
	return x;
}

/* The first local midnight of site x after now. */
static int64_t
next_midnight(const struct sr_site *x, int64_t now)
{
	int64_t off = x->cal ? (int64_t)sla_calendar_offset(x->cal, now) * 1000 : 0;
	int64_t local = now + off, day = local - (local % DAY_MS + DAY_MS) % DAY_MS;
	int64_t at = day + DAY_MS - off;

	/* an offset change (daylight saving) before midnight moves it */
	if (x->cal != NULL) {
		int64_t off2 = (int64_t)sla_calendar_offset(x->cal, at) * 1000;
		if (off2 != off)
			at = day + DAY_MS - off2;
	}
	return at > now ? at : at + DAY_MS;
}

static void
midnight_arm(struct stats_run *run, int64_t now)
{
	struct sr_site *x, *tx;
	int64_t next = INT64_MAX, wait;
	struct timeval tv;

	HASH_ITER(hh, run->sites, x, tx)
	{
		if (x->midnight < next)
			next = x->midnight;
	}
	if (next == INT64_MAX) {
		evtimer_del(run->midnight);
		return;
	}
	wait = next - now;
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(run->midnight, &tv);
}

/* Each site whose midnight has come starts a new day. */
static void
midnight_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stats_run *run = arg;
	struct sr_site *x, *tx;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	HASH_ITER(hh, run->sites, x, tx)
	{
		if (x->midnight > now)
			continue;
		stats_run_check("day_reset", x->id, stats_day_reset(run->core, x->id, now));
		log_info("stats", "msg=\"new day\" site=%s", x->code);
		x->midnight = next_midnight(x, now);
	}
	midnight_arm(run, now);
}

void
stats_run_site(struct server *srv, uint32_t id, const char *code, const char *tz)
{
	struct stats_run *run = run_of(srv);
	struct sr_site *x;
	char err[256];

	if (run == NULL || id == 0 || code == NULL)
		return;
	if ((x = site_find(run, id)) == NULL) {
		if ((x = calloc(1, sizeof *x)) == NULL)
			abort();
		x->id = id;
		TAILQ_INIT(&x->subs);
		HASH_ADD(hh, run->sites, id, sizeof x->id, x);
	} else {
		HASH_DELETE(hh_code, run->sites_by_code, x);
	}
	snprintf(x->code, sizeof x->code, "%s", code);
	HASH_ADD_KEYPTR(hh_code, run->sites_by_code, x->code, strlen(x->code), x);
	if (x->cal == NULL || tz == NULL || strcmp(sla_calendar_tz(x->cal), tz) != 0) {
		sla_calendar_free(x->cal);
		x->cal = NULL;
		if (tz != NULL && strcmp(tz, "UTC") != 0 &&
		    (x->cal = sla_calendar_new(tz, err, sizeof err)) == NULL)
			log_warn("stats", "msg=\"site day in UTC\" site=%s error=\"%s\"", code,
			         err);
	}
	x->midnight = next_midnight(x, now_ms());
	midnight_arm(run, now_ms());
}

uint32_t
stats_run_site_of(struct server *srv, uint32_t site)
{
	struct stats_run *run = run_of(srv);
	struct sr_site *x, *tx;
	uint32_t low = 0;

	if (run == NULL)
		return 0;
	if (site != 0 && site_find(run, site) != NULL)
		return site;
	HASH_ITER(hh, run->sites, x, tx)
	{
		if (low == 0 || x->id < low)
			low = x->id;
	}
	return low;
}

uint32_t
stats_run_site_id(struct server *srv, const char *code)
{
	struct stats_run *run = run_of(srv);
	struct sr_site *x;

	if (run == NULL || code == NULL)
		return 0;
	HASH_FIND(hh_code, run->sites_by_code, code, strlen(code), x);
	return x ? x->id : 0;
}

/* --- queues and agents --- */

static struct sr_queue *
queue_find(struct stats_run *run, uint32_t id)
{
	struct sr_queue *q;
	HASH_FIND(hh, run->queues, &id, sizeof id, q);
	return q;
}

void
stats_run_queue(struct server *srv, uint32_t id, const char *code, uint32_t site, int64_t sl_ms)
{
	struct stats_run *run = run_of(srv);
	struct sr_queue *q;
	uint32_t home = stats_run_site_of(srv, site);
	int rc;

	if (run == NULL || id == 0 || code == NULL || home == 0)
		return;
	/* no short-abandon threshold is configured: every abandon counts */
	if ((rc = stats_queue_set(run->core, id, home, sl_ms, 0)) != STATS_OK) {
		log_warn("stats", "msg=\"queue not counted\" queue=%s error=%s", code,
		         stats_rc_name(rc));
		return;
	}
	if ((q = queue_find(run, id)) == NULL) {
		if ((q = calloc(1, sizeof *q)) == NULL)
			abort();
		q->id = id;
		HASH_ADD(hh, run->queues, id, sizeof q->id, q);
	} else {
		HASH_DELETE(hh_code, run->queues_by_code, q);
	}
	snprintf(q->code, sizeof q->code, "%s", code);
	HASH_ADD_KEYPTR(hh_code, run->queues_by_code, q->code, strlen(q->code), q);
	q->site = site;
	q->home = home;
}

uint32_t
stats_run_queue_id(struct server *srv, const char *code, uint32_t *home_site)
{
	struct stats_run *run = run_of(srv);
	struct sr_queue *q;

	if (run == NULL || code == NULL)
		return 0;
	HASH_FIND(hh_code, run->queues_by_code, code, strlen(code), q);
	if (q == NULL)
		return 0;
	if (home_site != NULL)
		*home_site = q->home;
	return q->id;
}

static struct sr_agent *
agent_find(struct stats_run *run, uint32_t id)
{
	struct sr_agent *a;
	HASH_FIND(hh, run->agents, &id, sizeof id, a);
	return a;
}

void
stats_run_agent(struct server *srv, uint32_t id, const char *user, uint32_t site,
                const uint32_t *queues, unsigned n)
{
	struct stats_run *run = run_of(srv);
	struct stats_agent_view v;
	struct sr_agent *a;
	uint32_t counted[ROUTE_MAX_QUEUES];
	unsigned nc = 0;
	int64_t now = now_ms();
	int rc;

	if (run == NULL || id == 0 || (site = stats_run_site_of(srv, site)) == 0)
		return;
	if ((a = agent_find(run, id)) == NULL) {
		if ((a = calloc(1, sizeof *a)) == NULL)
			abort();
		a->id = id;
		HASH_ADD(hh, run->agents, id, sizeof a->id, a);
	}
	snprintf(a->user, sizeof a->user, "%s", user ? user : "");
	a->site = site;
	/* an agent new to the core starts offline; a known one keeps its state
	 * and moves to its site */
	if (stats_agent_view(run->core, id, now, &v) == STATS_OK)
		rc = stats_agent_state(run->core, id, site, v.state, v.reason, now);
	else
		rc = stats_agent_state(run->core, id, site, ROUTE_AGENT_OFFLINE, NULL, now);
	stats_run_check("agent", id, rc);
	for (unsigned i = 0; i < n && nc < ROUTE_MAX_QUEUES; i++)
		if (queue_find(run, queues[i]) != NULL)
			counted[nc++] = queues[i];
	stats_run_check("agent_queues", id, stats_agent_queues(run->core, id, counted, nc, now));
	a->nqueues = nc;
	memcpy(a->queues, counted, nc * sizeof counted[0]);
}

void
stats_run_agent_state(struct server *srv, uint32_t agent, enum route_agent_state state,
                      const char *reason)
{
	struct stats_run *run = run_of(srv);
	struct sr_agent *a = run ? agent_find(run, agent) : NULL;

	if (a == NULL)
		return;
	stats_run_check("agent_state", agent,
	                stats_agent_state(run->core, agent, a->site, state, reason, now_ms()));
}

/* --- SLA warnings and breaches --- */

void
stats_run_sla(struct server *srv, uint64_t ticket, uint32_t queue, const char *site, int breach)
{
	struct stats_run *run = run_of(srv);
	struct sr_sla *e;
	uint32_t sid;
	int rc;

	if (run == NULL || queue == 0)
		return;
	sid = stats_run_site_of(srv, stats_run_site_id(srv, site));
	HASH_FIND(hh, run->sla, &ticket, sizeof ticket, e);
	if (e != NULL && (e->queue != queue || e->site != sid)) {
		stats_run_sla_clear(srv, ticket); /* moved since: count it where it is */
		e = NULL;
	}
	rc = stats_sla_event(run->core, queue, sid, breach ? STATS_SLA_BREACH : STATS_SLA_WARNING,
	                     1, now_ms());
	stats_run_check(breach ? "sla_breach" : "sla_warning", ticket, rc);
	if (rc != STATS_OK)
		return;
	if (e == NULL) {
		if ((e = calloc(1, sizeof *e)) == NULL)
			abort();
		e->ticket = ticket;
		e->queue = queue;
		e->site = sid;
		HASH_ADD(hh, run->sla, ticket, sizeof e->ticket, e);
	}
	if (breach)
		e->breaches++;
	else
		e->warnings++;
}

void
stats_run_sla_clear(struct server *srv, uint64_t ticket)
{
	struct stats_run *run = run_of(srv);
	struct sr_sla *e;
	int64_t now = now_ms();

	if (run == NULL)
		return;
	HASH_FIND(hh, run->sla, &ticket, sizeof ticket, e);
	if (e == NULL)
		return;
	for (; e->warnings > 0; e->warnings--)
		stats_sla_event(run->core, e->queue, e->site, STATS_SLA_WARNING, 0, now);
	for (; e->breaches > 0; e->breaches--)
		stats_sla_event(run->core, e->queue, e->site, STATS_SLA_BREACH, 0, now);
	HASH_DEL(run->sla, e);
	free(e);
}

/* --- JSON --- */

static json_t *
ratio(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *
ms_or_null(int64_t v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

static json_t *
by_state(const uint32_t *n, const int64_t *ms)
{
	json_t *o = json_object();

	for (int k = 0; k < ROUTE__AGENT_STATES; k++)
		json_object_set_new(o, route_agent_state_name((enum route_agent_state)k),
		                    n ? json_integer(n[k]) : json_integer((json_int_t)ms[k]));
	return o;
}

/* A queue's estimated wait as the router now gives it: a figure of the
 * router's, read when the queue's figures are read or pushed. */
static void
ewt_refresh(struct stats_run *run, uint32_t queue)
{
	stats_queue_ewt(run->core, queue, router_queue_ewt(run->srv, queue));
}

json_t *
stats_run_view_json(struct server *srv, enum stats_scope scope, uint32_t id, int64_t now)
{
	struct stats_run *run = run_of(srv);
	struct stats_view v;
	const struct stats_counts *c = &v.day;
	json_t *o, *x, *reasons;

	if (run == NULL)
		return NULL;
	if (scope == STATS_QUEUE && queue_find(run, id) != NULL)
		ewt_refresh(run, id);
	if (stats_view(run->core, scope, id, now, &v) != STATS_OK)
		return NULL;
	o = json_object();
	switch (scope) {
	case STATS_QUEUE: {
		struct sr_queue *q = queue_find(run, id);
		struct sr_site *s = q ? site_find(run, q->home) : NULL;
		json_object_set_new(o, "scope", json_string("queue"));
		json_object_set_new(o, "queue", json_string(q ? q->code : ""));
		json_object_set_new(o, "site", s ? json_string(s->code) : json_null());
		break;
	}
	case STATS_SITE: {
		struct sr_site *s = site_find(run, id);
		json_object_set_new(o, "scope", json_string("site"));
		json_object_set_new(o, "site", json_string(s ? s->code : ""));
		break;
	}
	default:
		json_object_set_new(o, "scope", json_string("overall"));
		break;
	}
	json_object_set_new(o, "version", json_integer((json_int_t)v.version));
	json_object_set_new(o, "at", json_integer((json_int_t)now));
	json_object_set_new(o, "waiting", json_integer(v.waiting));
	json_object_set_new(o, "oldest_at", v.oldest_ms ? json_integer(v.oldest_ms) : json_null());
	json_object_set_new(o, "longest_wait_ms", json_integer((json_int_t)v.longest_wait_ms));
	json_object_set_new(o, "offered", json_integer(c->offered));
	json_object_set_new(o, "presented", json_integer(c->presented));
	json_object_set_new(o, "answered", json_integer(c->answered));
	json_object_set_new(o, "answered_in_sl", json_integer(c->answered_in_sl));
	json_object_set_new(o, "abandoned", json_integer(c->abandoned));
	json_object_set_new(o, "abandoned_in_sl", json_integer(c->abandoned_in_sl));
	json_object_set_new(o, "short_abandoned", json_integer(c->short_abandoned));
	json_object_set_new(o, "transferred_in", json_integer(c->transferred_in));
	json_object_set_new(o, "transferred_out", json_integer(c->transferred_out));
	json_object_set_new(o, "handled", json_integer(c->handled));
	json_object_set_new(o, "wrapups", json_integer(c->wrapups));
	json_object_set_new(o, "sl", ratio(v.sl));
	json_object_set_new(o, "sl2", ratio(v.sl2));
	json_object_set_new(o, "sl3", ratio(v.sl3));
	json_object_set_new(o, "asa_ms", ms_or_null(v.asa_ms));
	json_object_set_new(o, "aht_ms", ms_or_null(v.aht_ms));
	json_object_set_new(o, "avg_wrapup_ms", ms_or_null(v.avg_wrapup_ms));
	json_object_set_new(o, "avg_abandon_ms", ms_or_null(v.avg_abandon_ms));
	json_object_set_new(o, "occupancy", ratio(v.occupancy));
	json_object_set_new(o, "csat", ratio(v.csat));
	json_object_set_new(o, "csat_count", json_integer(c->csat_count));
	x = json_object();
	for (int i = 1; i <= STATS_SEVERITIES; i++) {
		char k[2] = {(char)('0' + i), '\0'};
		json_object_set_new(x, k, json_integer(c->complaints[i]));
	}
	json_object_set_new(o, "complaints", x);
	json_object_set_new(o, "sla_warnings", json_integer(c->sla_warnings));
	json_object_set_new(o, "sla_breaches", json_integer(c->sla_breaches));
	json_object_set_new(o, "open_warnings", json_integer(v.open_warnings));
	json_object_set_new(o, "open_breaches", json_integer(v.open_breaches));
	if (scope == STATS_QUEUE)
		json_object_set_new(o, "estimated_wait_ms", ms_or_null(v.ewt_ms));
	json_object_set_new(o, "agents", by_state(v.agents, NULL));
	json_object_set_new(o, "state_ms", by_state(NULL, v.state_ms));
	reasons = json_object();
	for (unsigned i = 0; i < v.nreasons; i++)
		if (v.reasons[i].agents > 0)
			json_object_set_new(reasons, v.reasons[i].name,
			                    json_integer(v.reasons[i].agents));
	json_object_set_new(o, "paused_by_reason", reasons);
	return o;
}

static json_t *
agent_json(struct stats_run *run, const struct sr_agent *a, int64_t now)
{
	struct stats_agent_view v;
	struct sr_site *s;
	json_t *o;

	if (stats_agent_view(run->core, a->id, now, &v) != STATS_OK)
		return NULL;
	s = site_find(run, a->site);
	o = json_object();
	json_object_set_new(o, "user", json_string(a->user));
	json_object_set_new(o, "site", s ? json_string(s->code) : json_null());
	json_object_set_new(o, "state", json_string(route_agent_state_name(v.state)));
	json_object_set_new(o, "reason", v.reason[0] ? json_string(v.reason) : json_null());
	json_object_set_new(o, "since", json_integer((json_int_t)v.since_ms));
	json_object_set_new(o, "time_in_state_ms", json_integer((json_int_t)v.time_in_state_ms));
	json_object_set_new(o, "answered", json_integer(v.answered));
	json_object_set_new(o, "handled", json_integer(v.handled));
	json_object_set_new(o, "aht_ms", ms_or_null(v.aht_ms));
	json_object_set_new(o, "occupancy", ratio(v.occupancy));
	return o;
}

json_t *
stats_run_agents_json(struct server *srv, enum stats_scope scope, uint32_t id, int64_t now)
{
	struct stats_run *run = run_of(srv);
	struct sr_agent *a, *ta;
	json_t *arr = json_array();

	if (run == NULL)
		return arr;
	HASH_ITER(hh, run->agents, a, ta)
	{
		int in = scope == STATS_ALL || (scope == STATS_SITE && a->site == id);
		for (unsigned i = 0; !in && scope == STATS_QUEUE && i < a->nqueues; i++)
			in = a->queues[i] == id;
		if (in) {
			json_t *o = agent_json(run, a, now);
			if (o != NULL)
				json_array_append_new(arr, o);
		}
	}
	return arr;
}

json_t *
stats_run_scopes_json(struct server *srv, uint32_t site, int64_t now)
{
	struct stats_run *run = run_of(srv);
	struct sr_site *x, *tx;
	struct sr_queue *q, *tq;
	json_t *arr = json_array(), *o;

	if (run == NULL)
		return arr;
	if (site == 0 && (o = stats_run_view_json(srv, STATS_ALL, 0, now)) != NULL)
		json_array_append_new(arr, o);
	HASH_ITER(hh, run->sites, x, tx)
	{
		if ((site == 0 || x->id == site) &&
		    (o = stats_run_view_json(srv, STATS_SITE, x->id, now)) != NULL)
			json_array_append_new(arr, o);
	}
	HASH_ITER(hh, run->queues, q, tq)
	{
		if ((site == 0 || q->home == site) &&
		    (o = stats_run_view_json(srv, STATS_QUEUE, q->id, now)) != NULL)
			json_array_append_new(arr, o);
	}
	return arr;
}

/* --- pushes --- */

static struct sr_sub_list *
sub_list(struct stats_run *run, uint32_t site)
{
	struct sr_site *x = site ? site_find(run, site) : NULL;
	return x ? &x->subs : &run->subs_all;
}

static void
sub_free(struct stats_run *run, struct sr_sub *u)
{
	TAILQ_REMOVE(sub_list(run, u->site), u, entry);
	HASH_DEL(run->subs, u);
	json_decref(u->pending);
	session_unref(u->s);
	free(u);
}

int
stats_run_subscribe(struct server *srv, struct session *s, uint32_t site)
{
	struct stats_run *run = run_of(srv);
	struct sr_sub *u;
	int was = 0;

	if (run == NULL)
		return 0;
	HASH_FIND_PTR(run->subs, &s, u);
	if (u != NULL) {
		sub_free(run, u);
		was = 1;
	}
	/* the first subscriber has the figures in its reply: the next push
	 * starts from now */
	if (run->subs == NULL)
		run->pushed = stats_version(run->core);
	if ((u = calloc(1, sizeof *u)) == NULL)
		abort();
	u->s = s;
	u->site = site && site_find(run, site) ? site : 0;
	session_ref(s);
	HASH_ADD_PTR(run->subs, s, u);
	TAILQ_INSERT_TAIL(sub_list(run, u->site), u, entry);
	return was;
}

int
stats_run_unsubscribe(struct server *srv, struct session *s)
{
	struct stats_run *run = run_of(srv);
	struct sr_sub *u;

	if (run == NULL)
		return 0;
	HASH_FIND_PTR(run->subs, &s, u);
	if (u == NULL)
		return 0;
	sub_free(run, u);
	return 1;
}

void
stats_run_session_gone(struct server *srv, struct session *s)
{
	stats_run_unsubscribe(srv, s);
}

/* Give the scope o (a reference is taken) to the subscribers in list. */
static void
fan_out(struct sr_sub_list *list, struct sr_sub_list *touched, json_t *o)
{
	struct sr_sub *u;

	TAILQ_FOREACH(u, list, entry)
	{
		if (u->s->state != SESSION_OPEN)
			continue;
		if (u->pending == NULL) {
			u->pending = json_array();
			TAILQ_INSERT_TAIL(touched, u, touched);
		}
		json_array_append(u->pending, o);
	}
}

/* Once a second: the scopes changed since the last push, to whom may see
 * them. */
static void
push_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stats_run *run = arg;
	struct sr_sub_list touched = TAILQ_HEAD_INITIALIZER(touched);
	struct sr_sub *u;
	uint64_t since = run->pushed;
	int64_t now = now_ms();
	size_t n;

	(void)fd;
	(void)what;
	if (run->subs == NULL || stats_version(run->core) == since) {
		run->pushed = stats_version(run->core);
		return;
	}
	while ((n = stats_changed(run->core, since, run->refs, run->caprefs)) > run->caprefs) {
		free(run->refs);
		run->caprefs = n;
		if ((run->refs = calloc(n, sizeof *run->refs)) == NULL)
			abort();
	}
	/* oldest first, so a session reads them in the order they changed */
	for (size_t i = n; i-- > 0;) {
		const struct stats_ref *r = &run->refs[i];
		struct sr_site *x = NULL;
		json_t *o;

		if (r->scope == STATS_AGENT)
			continue;
		if (r->scope == STATS_SITE)
			x = site_find(run, r->id);
		else if (r->scope == STATS_QUEUE && queue_find(run, r->id) != NULL)
			x = site_find(run, queue_find(run, r->id)->home);
		if ((o = stats_run_view_json(run->srv, r->scope, r->id, now)) == NULL)
			continue;
		fan_out(&run->subs_all, &touched, o);
		if (x != NULL)
			fan_out(&x->subs, &touched, o);
		json_decref(o);
	}
	/* past the estimated waits read on the way, which went out with them */
	run->pushed = stats_version(run->core);
	while ((u = TAILQ_FIRST(&touched)) != NULL) {
		json_t *ev = proto_event("stats");
		json_object_set_new(ev, "scopes", u->pending);
		u->pending = NULL;
		TAILQ_REMOVE(&touched, u, touched);
		/* a consumer over its output cap is dropped by session_send */
		session_send(u->s, ev);
	}
}

/* --- metrics --- */

static void
help(struct evbuffer *out, const char *name, const char *type, const char *text)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A label value as the exposition format wants it (\\, \" and \n escaped). */
static void
label(struct evbuffer *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(out, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, v, 1);
	}
}

void
stats_run_metrics(struct server *srv, struct evbuffer *out)
{
	static const struct {
		const char *name, *type, *help;
	} m[] = {
	    {"cc_queue_waiting", "gauge", "Contacts waiting in the queue now."},
	    {"cc_queue_longest_wait_seconds", "gauge", "Wait of the longest waiting contact."},
	    {"cc_queue_agents_ready", "gauge", "Agents serving the queue who are ready now."},
	    {"cc_queue_offered_total", "counter", "Contacts that entered the queue today."},
	    {"cc_queue_answered_total", "counter", "Contacts answered today."},
	    {"cc_queue_answered_in_sl_total", "counter",
	     "Contacts answered within the service-level threshold today."},
	    {"cc_queue_abandoned_total", "counter", "Contacts that gave up waiting today."},
	    {"cc_queue_handled_total", "counter", "Answered contacts whose talk ended today."},
	    {"cc_queue_service_level", "gauge",
	     "Answered within the threshold / answered, today (absent: no data)."},
	    {"cc_queue_asa_seconds", "gauge", "Average speed of answer today (absent: no data)."},
	};
	struct stats_run *run = run_of(srv);
	int64_t now = now_ms();

	if (run == NULL)
		return;
	for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
		struct sr_queue *q, *tq;

		help(out, m[k].name, m[k].type, m[k].help);
		HASH_ITER(hh, run->queues, q, tq)
		{
			struct stats_view v;
			struct sr_site *s = site_find(run, q->home);
			double val;

			if (stats_view(run->core, STATS_QUEUE, q->id, now, &v) != STATS_OK)
				continue;
			switch (k) {
			case 0:
				val = v.waiting;
				break;
			case 1:
				val = (double)v.longest_wait_ms / 1000.0;
				break;
			case 2:
				val = v.agents[ROUTE_AGENT_READY];
				break;
			case 3:
				val = v.day.offered;
				break;
			case 4:
				val = v.day.answered;
				break;
			case 5:
				val = v.day.answered_in_sl;
				break;
			case 6:
				val = v.day.abandoned;
				break;
			case 7:
				val = v.day.handled;
				break;
			case 8:
				val = v.sl;
				break;
			default:
				val = v.asa_ms < 0 ? -1 : (double)v.asa_ms / 1000.0;
				break;
			}
			if (val < 0)
				continue;
			evbuffer_add_printf(out, "%s{queue=\"", m[k].name);
			label(out, q->code);
			evbuffer_add(out, "\",site=\"", 8);
			label(out, s ? s->code : "");
			evbuffer_add_printf(out, "\"} %.17g\n", val);
		}
	}
}

/* --- start and stop --- */

int
stats_run_start(struct server *srv)
{
	struct stats_run *run = calloc(1, sizeof *run);
	struct timeval tv = {PUSH_INTERVAL_MS / 1000, (PUSH_INTERVAL_MS % 1000) * 1000};

	if (run == NULL || (run->core = stats_new(NULL)) == NULL) {
		free(run);
		return -1;
	}
	run->srv = srv;
	TAILQ_INIT(&run->subs_all);
	run->midnight = evtimer_new(srv->base, midnight_cb, run);
	run->push = event_new(srv->base, -1, EV_PERSIST, push_cb, run);
	if (run->midnight == NULL || run->push == NULL)
		abort();
	evtimer_add(run->push, &tv);
	srv->stats = run;
	return 0;
}

void
stats_run_stop(struct server *srv)
{
	struct stats_run *run = run_of(srv);
	struct sr_site *x, *tx;
	struct sr_queue *q, *tq;
	struct sr_agent *a, *ta;
	struct sr_sla *e, *te;
	struct sr_sub *u, *tu;

	if (run == NULL)
		return;
	HASH_ITER(hh, run->subs, u, tu)
	{
		sub_free(run, u);
	}
	event_free(run->push);
	event_free(run->midnight);
	HASH_ITER(hh_code, run->sites_by_code, x, tx)
	{
		HASH_DELETE(hh_code, run->sites_by_code, x);
	}
	HASH_ITER(hh, run->sites, x, tx)
	{
		HASH_DEL(run->sites, x);
		sla_calendar_free(x->cal);
		free(x);
	}
	HASH_ITER(hh_code, run->queues_by_code, q, tq)
	{
		HASH_DELETE(hh_code, run->queues_by_code, q);
	}
	HASH_ITER(hh, run->queues, q, tq)
	{
		HASH_DEL(run->queues, q);
		free(q);
	}
	HASH_ITER(hh, run->agents, a, ta)
	{
		HASH_DEL(run->agents, a);
		free(a);
	}
	HASH_ITER(hh, run->sla, e, te)
	{
		HASH_DEL(run->sla, e);
		free(e);
	}
	free(run->refs);
	stats_free(run->core);
	free(run);
	srv->stats = NULL;
}
