/* stats-run.c: see stats-run.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <uthash.h>

#include "db.h"
#include "log.h"
#include "op-args.h"
#include "proto.h"
#include "router.h"
#include "server.h"
#include "sla.h"
#include "stats-run.h"
#include "store-stats.h"
#include "store.h"

#define DAY_MS           86400000LL
#define PUSH_INTERVAL_MS 1000

#define RESTORE_RETRY_MS 5000

/* The bytes of a line's scopes array: the rest of PROTO_MAX_LINE is the
 * envelope's ("event", "id", "version", "at", "part", "parts", ...). */
#define PART_BUDGET (PROTO_MAX_LINE - 1024)

struct sr_sub;
TAILQ_HEAD(sr_sub_list, sr_sub);

/* A scope's counters at the last rollup write, and what is owed to the
 * next write: counted before a day reset, or of a write that failed. */
struct sr_roll {
	uint64_t last[RF__COUNT];
	uint64_t carry[RF__COUNT];
};

struct sr_site {
	uint32_t id;
	char code[65];
	struct sla_calendar *cal; /* NULL: UTC */
	int64_t midnight;         /* the next local midnight (Unix ms) */
	struct sr_sub_list subs;  /* subscribers of this site */
	struct sr_roll roll;
	UT_hash_handle hh, hh_code;
};

enum sr_alert_kind { ALERT_SL, ALERT_WAIT, ALERT_BREACH, ALERT__KINDS };

static const char *const alert_kinds[ALERT__KINDS] = {"service_level", "longest_wait",
                                                      "sla_breach"};

/* An alert of a queue: open since, with the value that raised it. */
struct sr_alert {
	int open;
	double value, threshold;
	int64_t since;
};

struct sr_queue {
	uint32_t id;
	char code[65];
	uint32_t site; /* the queue's own site; 0: every site's */
	uint32_t home; /* the site whose midnight resets it */
	struct sr_roll roll;
	double alert_sl;    /* below: an alert; < 0: none */
	int64_t alert_wait; /* ms; above: an alert; 0: none */
	int alert_breach;
	struct sr_alert alerts[ALERT__KINDS];
	UT_hash_handle hh, hh_code;
};

/* A skill: its day is that of the site with the lowest id. */
struct sr_skill {
	uint32_t id;
	char code[65];
	uint32_t home;
	struct sr_roll roll;
	UT_hash_handle hh, hh_code;
};

struct sr_agent {
	uint32_t id;
	char user[65];
	uint32_t site; /* as counted (never 0) */
	unsigned nqueues;
	uint32_t queues[ROUTE_MAX_QUEUES];
	struct sr_roll roll;
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
	size_t *sizes;   /* their encoded sizes */
	size_t capsizes;
	TAILQ_ENTRY(sr_sub) entry;
	TAILQ_ENTRY(sr_sub) touched;
	UT_hash_handle hh; /* by session */
};

struct stats_run {
	struct server *srv;
	struct stats *core;
	struct sr_site *sites, *sites_by_code;
	struct sr_queue *queues, *queues_by_code;
	struct sr_skill *skills, *skills_by_code;
	struct sr_agent *agents;
	struct sr_sla *sla;
	struct sr_sub *subs;         /* by session */
	struct sr_sub_list subs_all; /* subscribers of every site */
	uint64_t pushed;             /* the version of the last push */
	struct event *push, *midnight;
	struct stats_ref *refs;
	size_t caprefs;
	/* rollups: the interval length, the end of the current interval, the
	 * overall scope's state, the restore at start-up, writes in flight */
	int64_t roll_ms, roll_at;
	struct sr_roll roll_all;
	struct event *roll, *restore;
	int restored;
	unsigned roll_jobs;
	unsigned long long roll_writes, roll_failures;
	/* lines and scopes not sent: over the protocol's line limit */
	unsigned long long oversize;
	unsigned long long split_lines; /* lines after the first of a picture or push */
};

struct roll_set;
static void roll_all(struct stats_run *run, int64_t now, struct roll_set *set, int rebase);
static json_t *alerts_json(const struct sr_queue *q);

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
		/* the counts since the last rollup write are owed to the next;
		 * after the reset the marks start from the new day's counters */
		roll_all(run, now, NULL, 0);
		stats_run_check("day_reset", x->id, stats_day_reset(run->core, x->id, now));
		roll_all(run, now, NULL, 1);
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
stats_run_queue(struct server *srv, uint32_t id, const char *code, uint32_t site, int64_t sl_ms,
                int64_t short_ms)
{
	struct stats_run *run = run_of(srv);
	struct sr_queue *q;
	uint32_t home = stats_run_site_of(srv, site);
	int rc;

	if (run == NULL || id == 0 || code == NULL || home == 0)
		return;
	if ((rc = stats_queue_set(run->core, id, home, sl_ms, short_ms)) != STATS_OK) {
		log_warn("stats", "msg=\"queue not counted\" queue=%s error=%s", code,
		         stats_rc_name(rc));
		return;
	}
	if ((q = queue_find(run, id)) == NULL) {
		if ((q = calloc(1, sizeof *q)) == NULL)
			abort();
		q->id = id;
		q->alert_sl = -1;
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

static struct sr_skill *
skill_find(struct stats_run *run, uint32_t id)
{
	struct sr_skill *k;
	HASH_FIND(hh, run->skills, &id, sizeof id, k);
	return k;
}

void
stats_run_skill(struct server *srv, uint32_t id, const char *code)
{
	struct stats_run *run = run_of(srv);
	struct sr_skill *k;
	uint32_t home = stats_run_site_of(srv, 0);
	int rc;

	if (run == NULL || id == 0 || code == NULL || home == 0)
		return;
	if ((rc = stats_skill_set(run->core, id, home)) != STATS_OK) {
		log_warn("stats", "msg=\"skill not counted\" skill=%s error=%s", code,
		         stats_rc_name(rc));
		return;
	}
	if ((k = skill_find(run, id)) == NULL) {
		if ((k = calloc(1, sizeof *k)) == NULL)
			abort();
		k->id = id;
		HASH_ADD(hh, run->skills, id, sizeof k->id, k);
	} else {
		HASH_DELETE(hh_code, run->skills_by_code, k);
	}
	snprintf(k->code, sizeof k->code, "%s", code);
	HASH_ADD_KEYPTR(hh_code, run->skills_by_code, k->code, strlen(k->code), k);
	k->home = home;
}

uint32_t
stats_run_skill_id(struct server *srv, const char *code)
{
	struct stats_run *run = run_of(srv);
	struct sr_skill *k;

	if (run == NULL || code == NULL)
		return 0;
	HASH_FIND(hh_code, run->skills_by_code, code, strlen(code), k);
	return k ? k->id : 0;
}

unsigned
stats_run_item_skills(struct server *srv, const struct route_skill *req, unsigned n,
                      uint32_t out[ROUTE_MAX_REQ])
{
	struct stats_run *run = run_of(srv);
	unsigned m = 0;

	for (unsigned i = 0; run != NULL && i < n && m < ROUTE_MAX_REQ; i++) {
		unsigned j = 0;
		if (skill_find(run, req[i].skill) == NULL)
			continue;
		while (j < m && out[j] != req[i].skill)
			j++;
		if (j == m)
			out[m++] = req[i].skill;
	}
	return m;
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
                const uint32_t *queues, unsigned n, const struct route_skill *skills,
                unsigned nskills)
{
	struct stats_run *run = run_of(srv);
	struct stats_agent_view v;
	struct sr_agent *a;
	uint32_t counted[ROUTE_MAX_QUEUES], held[ROUTE_MAX_SKILLS];
	unsigned nc = 0, nh = 0;
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
	for (unsigned i = 0; i < nskills && nh < ROUTE_MAX_SKILLS; i++) {
		unsigned j = 0;
		if (skill_find(run, skills[i].skill) == NULL)
			continue;
		while (j < nh && held[j] != skills[i].skill)
			j++;
		if (j == nh)
			held[nh++] = skills[i].skill;
	}
	stats_run_check("agent_skills", id, stats_agent_skills(run->core, id, held, nh, now));
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

/* The encoded size of o on a line. */
static size_t
encoded_size(const json_t *o)
{
	return json_dumpb(o, NULL, 0, JSON_COMPACT);
}

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
		if (q != NULL)
			json_object_set_new(o, "alerts", alerts_json(q));
		break;
	}
	case STATS_SITE: {
		struct sr_site *s = site_find(run, id);
		json_object_set_new(o, "scope", json_string("site"));
		json_object_set_new(o, "site", json_string(s ? s->code : ""));
		break;
	}
	case STATS_SKILL: {
		struct sr_skill *k = skill_find(run, id);
		struct sr_site *s = k ? site_find(run, k->home) : NULL;
		json_object_set_new(o, "scope", json_string("skill"));
		json_object_set_new(o, "skill", json_string(k ? k->code : ""));
		json_object_set_new(o, "site", s ? json_string(s->code) : json_null());
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

/* Agents by user name, for pages. */
static int
agent_cmp(const void *a, const void *b)
{
	const struct sr_agent *x = *(const struct sr_agent *const *)a;
	const struct sr_agent *y = *(const struct sr_agent *const *)b;
	return strcmp(x->user, y->user);
}

json_t *
stats_run_agents_page(struct server *srv, enum stats_scope scope, uint32_t id, int64_t now,
                      const char *after, size_t limit, size_t budget, char *next, size_t nextlen)
{
	struct stats_run *run = run_of(srv);
	struct sr_agent *a, *ta, **in = NULL;
	json_t *arr = json_array();
	size_t n = 0, bytes = 2;

	if (nextlen > 0)
		next[0] = '\0';
	if (run == NULL || HASH_COUNT(run->agents) == 0)
		return arr;
	if ((in = calloc(HASH_COUNT(run->agents), sizeof *in)) == NULL)
		abort();
	HASH_ITER(hh, run->agents, a, ta)
	{
		int is = scope == STATS_ALL || (scope == STATS_SITE && a->site == id) ||
		         (scope == STATS_SKILL && stats_agent_holds(run->core, a->id, id));
		for (unsigned i = 0; !is && scope == STATS_QUEUE && i < a->nqueues; i++)
			is = a->queues[i] == id;
		if (is && (after == NULL || strcmp(a->user, after) > 0))
			in[n++] = a;
	}
	qsort(in, n, sizeof *in, agent_cmp);
	for (size_t i = 0; i < n; i++) {
		json_t *o = agent_json(run, in[i], now);
		size_t size;

		if (o == NULL)
			continue;
		size = encoded_size(o);
		/* the page is full: the next one starts after the last given */
		if (json_array_size(arr) >= limit || bytes + size + 1 > budget) {
			json_decref(o);
			if (json_array_size(arr) > 0) {
				const char *last = json_string_value(json_object_get(
				    json_array_get(arr, json_array_size(arr) - 1), "user"));
				snprintf(next, nextlen, "%s", last ? last : "");
				break;
			}
			/* one agent over the budget alone (never, at 64-byte names) */
			run->oversize++;
			log_warn("stats",
			         "msg=\"agent over the line limit not listed\" user=%s bytes=%zu",
			         in[i]->user, size);
			continue;
		}
		bytes += size + (json_array_size(arr) > 0);
		json_array_append_new(arr, o);
	}
	free(in);
	return arr;
}

json_t *
stats_run_scopes_json(struct server *srv, uint32_t site, int64_t now)
{
	struct stats_run *run = run_of(srv);
	struct sr_site *x, *tx;
	struct sr_queue *q, *tq;
	struct sr_skill *k, *tk;
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
	HASH_ITER(hh, run->skills, k, tk)
	{
		if (site == 0 && (o = stats_run_view_json(srv, STATS_SKILL, k->id, now)) != NULL)
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
	free(u->sizes);
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

/* Give the scope o (a reference is taken), size bytes encoded, to the
 * subscribers in list. */
static void
fan_out(struct sr_sub_list *list, struct sr_sub_list *touched, json_t *o, size_t size)
{
	struct sr_sub *u;

	TAILQ_FOREACH(u, list, entry)
	{
		size_t n;

		if (u->s->state != SESSION_OPEN)
			continue;
		if (u->pending == NULL) {
			u->pending = json_array();
			TAILQ_INSERT_TAIL(touched, u, touched);
		}
		if ((n = json_array_size(u->pending)) == u->capsizes) {
			u->capsizes = u->capsizes ? u->capsizes * 2 : 64;
			if ((u->sizes = realloc(u->sizes, u->capsizes * sizeof *u->sizes)) == NULL)
				abort();
		}
		u->sizes[n] = size;
		json_array_append(u->pending, o);
	}
}

/* Send msg (taken), whose "scopes" member is an empty array for now, with
 * scopes (taken) of bytes bytes encoded in its place; a line that would
 * be over the limit is not sent (logged and counted). 0, or -1. */
static int
line_send(struct stats_run *run, struct session *s, json_t *msg, json_t *scopes, size_t bytes)
{
	/* "[]" stands where the scopes go */
	size_t len = encoded_size(msg) - 2 + bytes;

	if (len > PROTO_MAX_LINE) {
		run->oversize++;
		log_warn("stats", "msg=\"line over the limit not sent\" user=%s bytes=%zu max=%d",
		         s->agent.user, len, PROTO_MAX_LINE);
		json_decref(scopes);
		json_decref(msg);
		return -1;
	}
	json_object_set_new(msg, "scopes", scopes);
	session_send(s, msg);
	return 0;
}

/* Send scopes (sizes: each one's encoded size) to s in parts that each fit
 * on a line: the first in reply, when there is one, the others (all of
 * them without a reply) as "stats" events. Each part carries version, at,
 * part (from 1) and parts; a scope too large for a line is left out,
 * logged and counted. The reply and scopes are taken. */
static void
parts_send(struct stats_run *run, struct session *s, json_t *reply, json_t *scopes,
           const size_t *sizes, uint64_t version, int64_t now)
{
	size_t n = json_array_size(scopes), *part = NULL, parts, i = 0;
	json_int_t id = reply ? json_integer_value(json_object_get(reply, "id")) : 0;

	if (n > 0 && (part = malloc(n * sizeof *part)) == NULL)
		abort();
	parts = stats_parts_split(sizes, n, PART_BUDGET, part);
	for (size_t k = 0; k < n; k++) {
		if (part[k] != STATS_PART_NONE)
			continue;
		run->oversize++;
		log_warn("stats", "msg=\"scope over the line limit not sent\" bytes=%zu max=%d",
		         sizes[k], PART_BUDGET);
	}
	/* a reply is sent even when it has no scopes */
	for (size_t p = 0; p < parts || (p == 0 && reply != NULL); p++) {
		json_t *msg = p == 0 && reply != NULL ? reply : proto_event("stats");
		json_t *arr = json_array();
		size_t bytes = 2;

		for (; i < n && (part[i] == STATS_PART_NONE || part[i] == p); i++) {
			if (part[i] == STATS_PART_NONE)
				continue;
			bytes += sizes[i] + (json_array_size(arr) > 0);
			json_array_append(arr, json_array_get(scopes, i));
		}
		json_object_set_new(msg, "version", json_integer((json_int_t)version));
		json_object_set_new(msg, "at", json_integer((json_int_t)now));
		json_object_set_new(msg, "part", json_integer((json_int_t)p + 1));
		json_object_set_new(msg, "parts", json_integer((json_int_t)(parts ? parts : 1)));
		json_object_set_new(msg, "scopes", json_array());
		if (p > 0)
			run->split_lines++;
		if (line_send(run, s, msg, arr, bytes) != 0 && p == 0 && reply != NULL)
			session_send(s, proto_reply_error(id, CC_ERR_INTERNAL,
			                                  "the figures do not fit on a line"));
	}
	free(part);
	json_decref(scopes);
}

void
stats_run_oversize(struct server *srv, const char *what, size_t bytes)
{
	struct stats_run *run = run_of(srv);

	if (run != NULL)
		run->oversize++;
	log_warn("stats", "msg=\"line over the limit not sent\" what=%s bytes=%zu max=%d", what,
	         bytes, PROTO_MAX_LINE);
}

void
stats_run_picture(struct server *srv, struct session *s, json_t *reply, uint32_t site, int64_t now)
{
	struct stats_run *run = run_of(srv);
	json_t *scopes = stats_run_scopes_json(srv, site, now), *o;
	size_t n = json_array_size(scopes), *sizes = NULL, i;

	if (n > 0 && (sizes = malloc(n * sizeof *sizes)) == NULL)
		abort();
	json_array_foreach(scopes, i, o)
	{
		sizes[i] = encoded_size(o);
	}
	if (run == NULL) {
		json_object_set_new(reply, "scopes", scopes);
		session_send(s, reply);
	} else {
		parts_send(run, s, reply, scopes, sizes, stats_version(run->core), now);
	}
	free(sizes);
}

/* --- alerts ---
 *
 * A queue's thresholds are checked once a second on the push timer, for
 * the queues that have one: the service level of today, the longest wait
 * now (which grows with time alone, so a change of figures is not enough)
 * and the SLA breaches open on its work. Crossing into alarm raises an
 * "alert" event, crossing back clears it; both go to every subscribed
 * session that may see the queue. Open alerts are part of the queue's
 * figures (queue.stats, "stats" events) and of /metrics. */

static json_t *
alert_event(const struct stats_run *run, const struct sr_queue *q, int kind, int64_t now)
{
	const struct sr_alert *a = &q->alerts[kind];
	struct sr_site *x;
	json_t *ev = proto_event("alert");

	HASH_FIND(hh, run->sites, &q->home, sizeof q->home, x);
	json_object_set_new(ev, "queue", json_string(q->code));
	json_object_set_new(ev, "site", x ? json_string(x->code) : json_null());
	json_object_set_new(ev, "kind", json_string(alert_kinds[kind]));
	json_object_set_new(ev, "value", json_real(a->value));
	json_object_set_new(ev, "threshold", json_real(a->threshold));
	json_object_set_new(ev, "state", json_string(a->open ? "raised" : "cleared"));
	json_object_set_new(ev, "at", json_integer((json_int_t)now));
	return ev;
}

/* Tell the subscribers of list about an alert of q. */
static void
alert_send_list(struct stats_run *run, struct sr_sub_list *list, const struct sr_queue *q, int kind,
                int64_t now)
{
	struct sr_sub *u;

	TAILQ_FOREACH(u, list, entry)
	{
		if (u->s->state == SESSION_OPEN)
			session_send(u->s, alert_event(run, q, kind, now));
	}
}

/* An alert of q changed state: log it and tell whom may see the queue. */
static void
alert_set(struct stats_run *run, struct sr_queue *q, int kind, int open, double value,
          double threshold, int64_t now)
{
	struct sr_alert *a = &q->alerts[kind];
	struct sr_site *x = site_find(run, q->home);

	a->open = open;
	a->value = value;
	a->threshold = threshold;
	if (open)
		a->since = now;
	log_info("stats", "msg=\"alert %s\" queue=%s kind=%s value=%.6g threshold=%.6g",
	         open ? "raised" : "cleared", q->code, alert_kinds[kind], value, threshold);
	alert_send_list(run, &run->subs_all, q, kind, now);
	if (x != NULL)
		alert_send_list(run, &x->subs, q, kind, now);
}

/* Whether q has any threshold or open alert. */
static int
alert_watched(const struct sr_queue *q)
{
	int open = 0;

	for (int k = 0; k < ALERT__KINDS; k++)
		open |= q->alerts[k].open;
	return open || q->alert_sl >= 0 || q->alert_wait > 0 || q->alert_breach;
}

/* Check q's thresholds against its figures now. */
static void
alert_check_queue(struct stats_run *run, struct sr_queue *q, int64_t now)
{
	struct stats_view v;
	int on;
	double wait_s;

	if (!alert_watched(q) || stats_view(run->core, STATS_QUEUE, q->id, now, &v) != STATS_OK)
		return;
	/* service level: no answered contacts yet is no alarm */
	on = q->alert_sl >= 0 && v.sl >= 0 && v.sl < q->alert_sl;
	if (on != q->alerts[ALERT_SL].open)
		alert_set(run, q, ALERT_SL, on, v.sl < 0 ? 0 : v.sl,
		          q->alert_sl < 0 ? 0 : q->alert_sl, now);
	wait_s = (double)v.longest_wait_ms / 1000.0;
	on = q->alert_wait > 0 && v.longest_wait_ms > q->alert_wait;
	if (on != q->alerts[ALERT_WAIT].open)
		alert_set(run, q, ALERT_WAIT, on, wait_s, (double)q->alert_wait / 1000.0, now);
	on = q->alert_breach && v.open_breaches > 0;
	if (on != q->alerts[ALERT_BREACH].open)
		alert_set(run, q, ALERT_BREACH, on, v.open_breaches, 0, now);
}

static void
alerts_check(struct stats_run *run, int64_t now)
{
	struct sr_queue *q, *tq;

	HASH_ITER(hh, run->queues, q, tq)
	{
		alert_check_queue(run, q, now);
	}
}

void
stats_run_queue_alerts(struct server *srv, uint32_t id, double sl, int64_t wait_ms, int breach)
{
	struct stats_run *run = run_of(srv);
	struct sr_queue *q = run ? queue_find(run, id) : NULL;

	if (q == NULL)
		return;
	q->alert_sl = sl >= 0 && sl <= 1 ? sl : -1;
	q->alert_wait = wait_ms > 0 ? wait_ms : 0;
	q->alert_breach = breach != 0;
	/* a threshold taken away or moved: checked again at once */
	alert_check_queue(run, q, now_ms());
}

/* The open alerts of q, for its figures. */
static json_t *
alerts_json(const struct sr_queue *q)
{
	json_t *arr = json_array();

	for (int k = 0; k < ALERT__KINDS; k++) {
		const struct sr_alert *a = &q->alerts[k];
		if (!a->open)
			continue;
		json_array_append_new(arr, json_pack("{s:s,s:f,s:f,s:I}", "kind", alert_kinds[k],
		                                     "value", a->value, "threshold", a->threshold,
		                                     "since", (json_int_t)a->since));
	}
	return arr;
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
	size_t n, size;

	(void)fd;
	(void)what;
	alerts_check(run, now);
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

		/* skills span the sites: only subscribers of every site see them */
		if (r->scope == STATS_AGENT)
			continue;
		if (r->scope == STATS_SITE)
			x = site_find(run, r->id);
		else if (r->scope == STATS_QUEUE && queue_find(run, r->id) != NULL)
			x = site_find(run, queue_find(run, r->id)->home);
		if ((o = stats_run_view_json(run->srv, r->scope, r->id, now)) == NULL)
			continue;
		size = encoded_size(o);
		fan_out(&run->subs_all, &touched, o, size);
		if (x != NULL)
			fan_out(&x->subs, &touched, o, size);
		json_decref(o);
	}
	/* past the estimated waits read on the way, which went out with them */
	run->pushed = stats_version(run->core);
	while ((u = TAILQ_FIRST(&touched)) != NULL) {
		json_t *scopes = u->pending;
		u->pending = NULL;
		TAILQ_REMOVE(&touched, u, touched);
		/* a consumer over its output cap is dropped by session_send */
		parts_send(run, u->s, NULL, scopes, u->sizes, run->pushed, now);
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

/* The figures of /metrics given for each queue (cc_queue_*) and each skill
 * (cc_skill_*), by name without the prefix. */
static const struct {
	const char *name, *type, *help;
} scope_metrics[] = {
    {"waiting", "gauge", "Contacts waiting now."},
    {"longest_wait_seconds", "gauge", "Wait of the longest waiting contact."},
    {"agents_ready", "gauge", "Agents who are ready now."},
    {"offered_total", "counter", "Contacts that entered today."},
    {"answered_total", "counter", "Contacts answered today."},
    {"answered_in_sl_total", "counter",
     "Contacts answered within their queue's service-level threshold today."},
    {"abandoned_total", "counter", "Contacts that gave up waiting today (short abandons apart)."},
    {"short_abandoned_total", "counter",
     "Contacts that gave up within their queue's short-abandon threshold today."},
    {"handled_total", "counter", "Answered contacts whose talk ended today."},
    {"service_level", "gauge",
     "Answered within the threshold / answered, today (absent: no data)."},
    {"asa_seconds", "gauge", "Average speed of answer today (absent: no data)."},
};

/* Figure k of scope_metrics from a view; < 0: no data. */
static double
metric_value(size_t k, const struct stats_view *v)
{
	switch (k) {
	case 0:
		return v->waiting;
	case 1:
		return (double)v->longest_wait_ms / 1000.0;
	case 2:
		return v->agents[ROUTE_AGENT_READY];
	case 3:
		return v->day.offered;
	case 4:
		return v->day.answered;
	case 5:
		return v->day.answered_in_sl;
	case 6:
		return v->day.abandoned;
	case 7:
		return v->day.short_abandoned;
	case 8:
		return v->day.handled;
	case 9:
		return v->sl;
	default:
		return v->asa_ms < 0 ? -1 : (double)v->asa_ms / 1000.0;
	}
}

void
stats_run_metrics(struct server *srv, struct evbuffer *out)
{
	struct stats_run *run = run_of(srv);
	int64_t now = now_ms();
	char name[64], text[160];

	if (run == NULL)
		return;
	for (size_t k = 0; k < sizeof scope_metrics / sizeof scope_metrics[0]; k++) {
		struct sr_queue *q, *tq;
		struct sr_skill *sk, *tsk;

		snprintf(name, sizeof name, "cc_queue_%s", scope_metrics[k].name);
		snprintf(text, sizeof text, "%s By queue.", scope_metrics[k].help);
		help(out, name, scope_metrics[k].type, text);
		HASH_ITER(hh, run->queues, q, tq)
		{
			struct stats_view v;
			struct sr_site *s = site_find(run, q->home);
			double val;

			if (stats_view(run->core, STATS_QUEUE, q->id, now, &v) != STATS_OK ||
			    (val = metric_value(k, &v)) < 0)
				continue;
			evbuffer_add_printf(out, "%s{queue=\"", name);
			label(out, q->code);
			evbuffer_add(out, "\",site=\"", 8);
			label(out, s ? s->code : "");
			evbuffer_add_printf(out, "\"} %.17g\n", val);
		}
		snprintf(name, sizeof name, "cc_skill_%s", scope_metrics[k].name);
		snprintf(text, sizeof text, "%s By skill the work requires or the agents hold.",
		         scope_metrics[k].help);
		help(out, name, scope_metrics[k].type, text);
		HASH_ITER(hh, run->skills, sk, tsk)
		{
			struct stats_view v;
			double val;

			if (stats_view(run->core, STATS_SKILL, sk->id, now, &v) != STATS_OK ||
			    (val = metric_value(k, &v)) < 0)
				continue;
			evbuffer_add_printf(out, "%s{skill=\"", name);
			label(out, sk->code);
			evbuffer_add_printf(out, "\"} %.17g\n", val);
		}
	}
	help(out, "cc_queue_alert", "gauge",
	     "An open alert of the queue, by kind (absent: none open).");
	{
		struct sr_queue *q, *tq;
		HASH_ITER(hh, run->queues, q, tq)
		{
			for (int k = 0; k < ALERT__KINDS; k++) {
				if (!q->alerts[k].open)
					continue;
				evbuffer_add_printf(out, "cc_queue_alert{queue=\"");
				label(out, q->code);
				evbuffer_add_printf(out, "\",kind=\"%s\"} 1\n", alert_kinds[k]);
			}
		}
	}
	{
		unsigned long long fails = 0, writes = stats_run_rollups(srv, &fails);
		help(out, "cc_stats_rollup_writes_total", "counter",
		     "Rollup intervals written to stats_intervals.");
		evbuffer_add_printf(out, "cc_stats_rollup_writes_total %llu\n", writes);
		help(out, "cc_stats_rollup_failures_total", "counter",
		     "Rollup writes that failed (their counts go with the next write).");
		evbuffer_add_printf(out, "cc_stats_rollup_failures_total %llu\n", fails);
		help(out, "cc_stats_oversize_total", "counter",
		     "Statistics lines and scopes not sent: over the protocol's line limit.");
		evbuffer_add_printf(out, "cc_stats_oversize_total %llu\n", run->oversize);
		help(out, "cc_stats_split_lines_total", "counter",
		     "Statistics lines after the first of a picture or push split to fit the "
		     "line limit.");
		evbuffer_add_printf(out, "cc_stats_split_lines_total %llu\n", run->split_lines);
	}
}

/* --- rollups ---
 *
 * At the end of each interval (stats.rollup_seconds, aligned in UTC) the
 * loop reads every scope's counters, takes the difference from the last
 * write (plus anything owed), and hands the rows that are not all zero to
 * one db job. The core's counters are never touched: a day reset folds the
 * counts since the last write into the owed part first, a write that fails
 * gives its rows back to it, and the restore at start-up seeds the core
 * and raises the last-write marks by as much. Rollups start only after the
 * restore has read the day's rows, so it never reads rows of this run. */

/* A scope's counters now into v: 0, or -1 when the core has no such scope. */
static int
roll_values(struct stats_run *run, enum stats_scope scope, uint32_t id, int64_t now,
            uint64_t v[RF__COUNT])
{
	if (scope == STATS_AGENT) {
		struct stats_agent_view av;
		if (stats_agent_view(run->core, id, now, &av) != STATS_OK)
			return -1;
		roll_from_agent(&av, v);
	} else {
		struct stats_view sv;
		if (stats_view(run->core, scope, id, now, &sv) != STATS_OK)
			return -1;
		roll_from_view(&sv, v);
	}
	return 0;
}

struct roll_set {
	struct roll_row *rows;
	size_t n, cap;
};

/* One scope at an interval's end (set != NULL: the row owed, if any, goes
 * into set) or before a day reset (set NULL: the counts since the last
 * write are owed; after the reset, rebase marks the new counters). */
static void
roll_scope(struct stats_run *run, enum stats_scope scope, uint32_t id, uint32_t site,
           struct sr_roll *r, int64_t now, struct roll_set *set, int rebase)
{
	uint64_t cur[RF__COUNT];
	int any = 0;

	if (roll_values(run, scope, id, now, cur) != 0)
		return;
	for (int f = 0; f < RF__COUNT; f++) {
		/* a counter below its mark was reset without a fold: nothing owed */
		if (!rebase && cur[f] > r->last[f])
			r->carry[f] += cur[f] - r->last[f];
		r->last[f] = cur[f];
		any |= r->carry[f] != 0;
	}
	if (set == NULL || !any)
		return;
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 64;
		if ((set->rows = realloc(set->rows, set->cap * sizeof *set->rows)) == NULL)
			abort();
	}
	set->rows[set->n].scope = scope;
	set->rows[set->n].id = id;
	set->rows[set->n].site = site;
	memcpy(set->rows[set->n].v, r->carry, sizeof r->carry);
	memset(r->carry, 0, sizeof r->carry);
	set->n++;
}

/* Every scope through roll_scope. */
static void
roll_all(struct stats_run *run, int64_t now, struct roll_set *set, int rebase)
{
	struct sr_site *x, *tx;
	struct sr_queue *q, *tq;
	struct sr_skill *k, *tk;
	struct sr_agent *a, *ta;

	roll_scope(run, STATS_ALL, 0, 0, &run->roll_all, now, set, rebase);
	HASH_ITER(hh, run->sites, x, tx)
	{
		roll_scope(run, STATS_SITE, x->id, x->id, &x->roll, now, set, rebase);
	}
	HASH_ITER(hh, run->queues, q, tq)
	{
		roll_scope(run, STATS_QUEUE, q->id, q->home, &q->roll, now, set, rebase);
	}
	HASH_ITER(hh, run->skills, k, tk)
	{
		roll_scope(run, STATS_SKILL, k->id, k->home, &k->roll, now, set, rebase);
	}
	HASH_ITER(hh, run->agents, a, ta)
	{
		roll_scope(run, STATS_AGENT, a->id, a->site, &a->roll, now, set, rebase);
	}
}

/* The rollup state of a scope, or NULL. */
static struct sr_roll *
roll_of(struct stats_run *run, enum stats_scope scope, uint32_t id)
{
	struct sr_site *x;
	struct sr_queue *q;
	struct sr_skill *k;
	struct sr_agent *a;

	switch (scope) {
	case STATS_ALL:
		return &run->roll_all;
	case STATS_SKILL:
		return (k = skill_find(run, id)) ? &k->roll : NULL;
	case STATS_SITE:
		return (x = site_find(run, id)) ? &x->roll : NULL;
	case STATS_QUEUE:
		return (q = queue_find(run, id)) ? &q->roll : NULL;
	case STATS_AGENT:
		return (a = agent_find(run, id)) ? &a->roll : NULL;
	default:
		return NULL;
	}
}

struct roll_job {
	struct stats_run *run;
	int64_t start;
	struct roll_set set;
	int rc;
	char err[256];
};

/* db worker */
static void
roll_work(struct db_conn *c, void *arg)
{
	struct roll_job *j = arg;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	if (m == NULL) {
		j->rc = -1;
		return;
	}
	if ((j->rc =
	         store_stats_write(m, j->start, j->set.rows, j->set.n, j->err, sizeof j->err)) != 0)
		db_conn_failed(c, store_errno());
}

/* The rows of a write that did not land are owed to the next one. */
static void
roll_give_back(struct stats_run *run, const struct roll_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct sr_roll *r = roll_of(run, set->rows[i].scope, set->rows[i].id);
		for (int f = 0; r != NULL && f < RF__COUNT; f++)
			r->carry[f] += set->rows[i].v[f];
	}
}

/* loop */
static void
roll_done(void *arg)
{
	struct roll_job *j = arg;
	struct stats_run *run = j->run;

	run->roll_jobs--;
	if (j->rc != 0) {
		run->roll_failures++;
		log_warn("stats",
		         "msg=\"rollup not written, owed to the next\" start=%lld "
		         "rows=%zu error=\"%s\"",
		         (long long)j->start, j->set.n, j->err);
		roll_give_back(run, &j->set);
	} else {
		run->roll_writes++;
	}
	free(j->set.rows);
	free(j);
}

static void
roll_arm(struct stats_run *run, int64_t now)
{
	int64_t wait;
	struct timeval tv;

	/* a timer that fires a little early must not make the same interval
	 * again: its row would be written over with the rest of it */
	if (run->roll_at > now)
		now = run->roll_at;
	run->roll_at = (now / run->roll_ms + 1) * run->roll_ms;
	wait = run->roll_at - now_ms();
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(run->roll, &tv);
}

/* An interval ended: its rows to the database. */
static void
roll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stats_run *run = arg;
	struct roll_job *j;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	if ((j = calloc(1, sizeof *j)) == NULL)
		abort();
	j->run = run;
	j->start = run->roll_at - run->roll_ms;
	roll_all(run, now, &j->set, 0);
	roll_arm(run, now);
	log_debug("stats", "msg=\"rollup\" start=%lld rows=%zu", (long long)j->start, j->set.n);
	if (j->set.n == 0) {
		free(j);
		return;
	}
	if (db_pool_submit(run->srv->db, roll_work, roll_done, j) != 0) {
		run->roll_failures++;
		log_warn("stats", "msg=\"rollup not queued, owed to the next\" start=%lld",
		         (long long)j->start);
		roll_give_back(run, &j->set);
		free(j->set.rows);
		free(j);
		return;
	}
	run->roll_jobs++;
}

/* The local midnight that began the day of site x at t. */
static int64_t
day_start(const struct sr_site *x, int64_t t)
{
	int64_t off = x->cal ? (int64_t)sla_calendar_offset(x->cal, t) * 1000 : 0;
	int64_t local = t + off, day = local - (local % DAY_MS + DAY_MS) % DAY_MS;
	int64_t at = day - off;

	if (x->cal != NULL) {
		int64_t off2 = (int64_t)sla_calendar_offset(x->cal, at) * 1000;
		if (off2 != off)
			at = day - off2;
	}
	return at > t ? at - DAY_MS : at;
}

struct restore_site {
	uint32_t id;
	int64_t from;
	int64_t last; /* the start of the last interval written today; -1: none */
	struct roll_row *rows;
	size_t n;
};

struct restore_job {
	struct stats_run *run;
	size_t nsites;
	struct restore_site *sites;
	int64_t cur_start; /* the interval under way, and its rows */
	struct roll_row *cur;
	size_t ncur;
	int rc;
	char err[256];
};

/* db worker: today's rows of every site */
static void
restore_work(struct db_conn *c, void *arg)
{
	struct restore_job *j = arg;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	if (m == NULL) {
		j->rc = -1;
		return;
	}
	for (size_t i = 0; i < j->nsites && j->rc == 0; i++) {
		struct restore_site *x = &j->sites[i];
		int rc =
		    store_stats_restore(m, x->id, x->from, &x->rows, &x->n, j->err, sizeof j->err);
		if (rc == 0)
			rc = store_stats_last(m, x->id, x->from, &x->last, j->err, sizeof j->err);
		if (rc < 0) {
			j->rc = -1;
			db_conn_failed(c, store_errno());
		} else if (rc == 0) {
			x->last = -1;
		}
	}
	if (j->rc == 0 && (j->rc = store_stats_interval(m, j->cur_start, &j->cur, &j->ncur, j->err,
	                                                sizeof j->err)) != 0)
		db_conn_failed(c, store_errno());
}

static void
restore_free(struct restore_job *j)
{
	for (size_t i = 0; i < j->nsites; i++)
		free(j->sites[i].rows);
	free(j->sites);
	free(j->cur);
	free(j);
}

/* loop: seed the core with the day's rows, then start the rollups */
static void
restore_done(void *arg)
{
	struct restore_job *j = arg;
	struct stats_run *run = j->run;
	struct timeval tv = {RESTORE_RETRY_MS / 1000, 0};
	int64_t now = now_ms();
	size_t seeded = 0;

	if (j->rc != 0) {
		log_warn("stats", "msg=\"day's figures not restored, retrying\" error=\"%s\"",
		         j->err);
		restore_free(j);
		evtimer_add(run->restore, &tv);
		return;
	}
	for (size_t i = 0; i < j->nsites; i++) {
		const struct restore_site *x = &j->sites[i];
		struct sr_site *site = site_find(run, x->id);

		/* a day that ended while the rows were read is not restored */
		if (site == NULL || day_start(site, now) != x->from)
			continue;
		for (size_t k = 0; k < x->n; k++) {
			const struct roll_row *r = &x->rows[k];
			struct sr_roll *roll = roll_of(run, r->scope, r->id);
			struct stats_counts c;
			int64_t ms[ROUTE__AGENT_STATES];
			int rc;

			if (roll == NULL)
				continue;
			roll_to_counts(r->v, &c, ms);
			rc = stats_seed(run->core, r->scope, r->id, &c, ms);
			stats_run_check("seed", r->id, rc);
			if (rc != STATS_OK)
				continue;
			/* what was seeded was written already: raise the marks */
			for (int f = 0; f < RF__COUNT; f++) {
				roll->last[f] += r->v[f];
				if (r->scope == STATS_SITE)
					run->roll_all.last[f] += r->v[f];
			}
			seeded++;
		}
		/* work waiting since before the last interval written was counted
		 * then, and again when it was put back in line at start-up */
		if (x->last >= 0) {
			uint32_t n = 0;
			stats_run_check("uncount", x->id,
			                stats_uncount_waiting(run->core, x->id, x->from,
			                                      x->last + run->roll_ms, &n));
			if (n > 0)
				log_info("stats",
				         "msg=\"waiting work counted once\" site=%s items=%u",
				         site->code, n);
		}
	}
	/* A row of the interval under way was written when the last run
	 * stopped: the next write of that interval must carry it too, as it
	 * sets the row's values. In a later interval it is just the past. */
	if (j->cur_start == now - now % run->roll_ms) {
		for (size_t k = 0; k < j->ncur; k++) {
			struct sr_roll *roll = roll_of(run, j->cur[k].scope, j->cur[k].id);
			for (int f = 0; roll != NULL && f < RF__COUNT; f++)
				roll->carry[f] += j->cur[k].v[f];
		}
	}
	log_info("stats", "msg=\"day's figures restored\" scopes=%zu", seeded);
	restore_free(j);
	run->restored = 1;
	roll_arm(run, now);
}

static void
restore_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stats_run *run = arg;
	struct restore_job *j;
	struct sr_site *x, *tx;
	struct timeval tv = {RESTORE_RETRY_MS / 1000, 0};
	int64_t now = now_ms();
	size_t i = 0;

	(void)fd;
	(void)what;
	if ((j = calloc(1, sizeof *j)) == NULL)
		abort();
	j->run = run;
	j->cur_start = now - now % run->roll_ms;
	j->nsites = HASH_COUNT(run->sites);
	if (j->nsites > 0 && (j->sites = calloc(j->nsites, sizeof *j->sites)) == NULL)
		abort();
	HASH_ITER(hh, run->sites, x, tx)
	{
		j->sites[i].id = x->id;
		j->sites[i].from = day_start(x, now);
		i++;
	}
	if (db_pool_submit(run->srv->db, restore_work, restore_done, j) != 0) {
		restore_free(j);
		evtimer_add(run->restore, &tv);
	}
}

unsigned long long
stats_run_rollups(struct server *srv, unsigned long long *failures)
{
	struct stats_run *run = run_of(srv);

	if (failures != NULL)
		*failures = run ? run->roll_failures : 0;
	return run ? run->roll_writes : 0;
}

int64_t
stats_run_local_midnight(struct server *srv, uint32_t site, int y, int mon, int d)
{
	struct stats_run *run = run_of(srv);
	struct sr_site *x = run && site ? site_find(run, site) : NULL;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d};
	int64_t utc = (int64_t)timegm(&tm) * 1000, off, at;

	if (x == NULL || x->cal == NULL)
		return utc;
	off = (int64_t)sla_calendar_offset(x->cal, utc) * 1000;
	at = utc - off;
	off = (int64_t)sla_calendar_offset(x->cal, at) * 1000;
	return utc - off;
}

size_t
stats_run_days(struct server *srv, uint32_t site, int64_t from, int64_t to, int64_t *starts,
               char (*names)[11], size_t max)
{
	struct stats_run *run = run_of(srv);
	struct sr_site *x = run && site ? site_find(run, site) : NULL;
	struct sr_site utc = {0};
	size_t n = 0;

	if (x == NULL)
		x = &utc;
	for (int64_t d = day_start(x, from); d < to && n < max; n++) {
		int64_t off = x->cal ? (int64_t)sla_calendar_offset(x->cal, d) * 1000 : 0;
		time_t secs = (time_t)((d + off) / 1000);
		struct tm tm;

		gmtime_r(&secs, &tm);
		starts[n] = d;
		strftime(names[n], 11, "%Y-%m-%d", &tm);
		/* the next local midnight: a day is 23 to 25 hours long */
		d = day_start(x, d + DAY_MS + 2 * 3600000LL);
	}
	return n;
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
	run->roll_ms = (int64_t)srv->cfg.stats_rollup_seconds * 1000;
	if (run->roll_ms <= 0)
		run->roll_ms = 900000;
	run->midnight = evtimer_new(srv->base, midnight_cb, run);
	run->push = event_new(srv->base, -1, EV_PERSIST, push_cb, run);
	run->roll = evtimer_new(srv->base, roll_cb, run);
	run->restore = evtimer_new(srv->base, restore_cb, run);
	if (run->midnight == NULL || run->push == NULL || run->roll == NULL || run->restore == NULL)
		abort();
	evtimer_add(run->push, &tv);
	/* on the loop's first turn, after the router has loaded the set-up */
	if (srv->db != NULL) {
		struct timeval zero = {0, 0};
		evtimer_add(run->restore, &zero);
	}
	srv->stats = run;
	return 0;
}

/* At shutdown, after the db workers: the counts of the interval under way
 * are written over a connection of this thread, so a restart loses none of
 * the day (the restore then carries the row on, see restore_done). Before
 * the restore there is nothing to add to, and the row is left alone. */
static void
roll_flush(struct stats_run *run)
{
	struct roll_set set = {0};
	struct db_params p;
	char err[256];
	int64_t now = now_ms();
	int64_t start = run->roll_at > 0 ? run->roll_at - run->roll_ms : now - now % run->roll_ms;
	MYSQL *m;

	if (!run->restored)
		return;
	roll_all(run, now, &set, 0);
	if (set.n == 0)
		return;
	config_db_params(&run->srv->cfg, &p);
	if ((m = db_connect(&p, err, sizeof err)) == NULL ||
	    store_stats_write(m, start, set.rows, set.n, err, sizeof err) != 0)
		log_warn("stats",
		         "msg=\"last rollup not written\" start=%lld rows=%zu error=\"%s\"",
		         (long long)start, set.n, err);
	else
		log_info("stats", "msg=\"last rollup written\" start=%lld rows=%zu",
		         (long long)start, set.n);
	if (m != NULL) {
		store_stmt_cache_drop();
		mysql_close(m);
	}
	free(set.rows);
}

void
stats_run_stop(struct server *srv)
{
	struct stats_run *run = run_of(srv);
	struct sr_site *x, *tx;
	struct sr_queue *q, *tq;
	struct sr_skill *k, *tk;
	struct sr_agent *a, *ta;
	struct sr_sla *e, *te;
	struct sr_sub *u, *tu;

	if (run == NULL)
		return;
	roll_flush(run);
	HASH_ITER(hh, run->subs, u, tu)
	{
		sub_free(run, u);
	}
	event_free(run->push);
	event_free(run->midnight);
	event_free(run->roll);
	event_free(run->restore);
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
	HASH_ITER(hh_code, run->skills_by_code, k, tk)
	{
		HASH_DELETE(hh_code, run->skills_by_code, k);
	}
	HASH_ITER(hh, run->skills, k, tk)
	{
		HASH_DEL(run->skills, k);
		free(k);
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
