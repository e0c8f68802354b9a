/* sla-run.c: see sla-run.h.
 *
 * One entry per ticket id in a hash map, holding a libevent timer. An
 * entry exists while its ticket has a wake-up ahead or a timer job in
 * flight; the map's size is the armed-timers gauge. A job that comes back
 * arms the entry with the wake-up it computed under the ticket's lock: a
 * ticket write that committed before it is already in that answer, and
 * one that commits after it is delivered after it (and arms again). */
#include "sla-run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "log.h"
#include "op-args.h"
#include "proto.h"
#include "router.h"
#include "server.h"
#include "sla.h"
#include "store-sla.h"
#include "store.h"

struct sla_timer {
	uint64_t ticket_id;
	struct sla_run *run;
	struct event *ev;
	int64_t wake_ms;
	int busy;        /* a job for it is in flight */
	int64_t pending; /* while busy: the earliest wake-up a write asked for */
	UT_hash_handle hh;
};

struct sla_run {
	struct server *srv;
	struct sla_calendars *calendars;
	struct sla_timer *timers;
	unsigned long long warnings, breaches, failures;
};

struct sla_job {
	struct sla_run *run;
	uint64_t ticket_id;
	int64_t now_ms;
	int rc;
	char err[256];
	struct sla_fired fired;
};

static void sla_timer_cb(evutil_socket_t fd, short what, void *arg);

/* Forget a ticket's timer. */
static void
timer_drop(struct sla_run *run, struct sla_timer *t)
{
	HASH_DEL(run->timers, t);
	event_free(t->ev);
	free(t);
}

/* Put t's event on the loop for its wake-up. */
static void
timer_schedule(struct sla_timer *t)
{
	int64_t delay = t->wake_ms - now_ms();
	struct timeval tv;

	if (delay < 0)
		delay = 0;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	evtimer_add(t->ev, &tv);
}

void
sla_run_arm(struct server *srv, uint64_t ticket_id, int64_t wake_ms)
{
	struct sla_run *run = srv->sla;
	struct sla_timer *t;

	if (run == NULL || ticket_id == 0)
		return;
	HASH_FIND(hh, run->timers, &ticket_id, sizeof ticket_id, t);
	if (t != NULL && t->busy) {
		/* the job's own answer arms it, no later than a write that
		 * committed meanwhile asks (its result may come back first) */
		if (wake_ms < t->pending)
			t->pending = wake_ms;
		return;
	}
	if (wake_ms == SLA_NEVER) {
		if (t != NULL)
			timer_drop(run, t);
		return;
	}
	if (t == NULL) {
		if ((t = calloc(1, sizeof *t)) == NULL)
			abort();
		t->ticket_id = ticket_id;
		t->run = run;
		if ((t->ev = evtimer_new(srv->base, sla_timer_cb, t)) == NULL)
			abort();
		HASH_ADD(hh, run->timers, ticket_id, sizeof t->ticket_id, t);
	}
	t->wake_ms = wake_ms;
	timer_schedule(t);
}

/* db worker: the clocks of one ticket at the instant its timer went off. */
static void
sla_job_work(struct db_conn *c, void *arg)
{
	struct sla_job *j = arg;
	MYSQL *m = db_conn_get(c, j->err, sizeof j->err);

	if (m == NULL) {
		j->rc = -1;
		return;
	}
	j->rc = store_sla_fire(m, j->ticket_id, j->now_ms, &j->fired, j->err, sizeof j->err);
	if (j->rc != 0)
		db_conn_failed(c, store_errno());
}

/* Tell the sessions that should know about one crossing. */
static void
sla_notify(struct sla_run *run, const struct sla_fired *f, const struct sla_fired_event *e,
           uint64_t ticket_id)
{
	int breach = e->kind == SLA_EV_BREACH;
	json_t *msg = proto_event(breach ? "sla.breach" : "sla.warning");

	json_object_set_new(msg, "ticket_id", json_integer((json_int_t)ticket_id));
	json_object_set_new(msg, "ref", json_string(f->ref));
	json_object_set_new(msg, "metric", json_string(sla_metric_name(e->metric)));
	json_object_set_new(msg, "due_at",
	                    e->due_ms == SLA_NEVER ? json_null()
	                                           : json_integer((json_int_t)e->due_ms));
	json_object_set_new(msg, "site", json_string(f->site));
	if (breach)
		json_object_set_new(msg, "escalated", json_boolean(f->escalated));
	log_info("sla", "msg=\"%s\" ref=%s metric=%s site=%s", breach ? "breach" : "warning",
	         f->ref, sla_metric_name(e->metric), f->site);
	if (breach)
		run->breaches++;
	else
		run->warnings++;
	router_sla_event(run->srv, ticket_id, f->site, breach);
	session_broadcast(run->srv, ROLE_SUPERVISOR, breach ? 0 : f->owner_agent_id, msg);
}

/* loop: the job is back: tell, count, and arm again. */
static void
sla_job_done(void *arg)
{
	struct sla_job *j = arg;
	struct sla_run *run = j->run;
	struct sla_timer *t;
	int64_t wake;

	int64_t pending = SLA_NEVER;

	HASH_FIND(hh, run->timers, &j->ticket_id, sizeof j->ticket_id, t);
	if (t != NULL) {
		t->busy = 0;
		pending = t->pending;
		t->pending = SLA_NEVER;
	}
	if (j->rc != 0) {
		run->failures++;
		log_warn("sla",
		         "msg=\"clock check failed; retrying\" ticket_id=%" PRIu64 " error=\"%s\"",
		         j->ticket_id, j->err);
		wake = now_ms() + SLA_RETRY_MS;
	} else {
		for (size_t i = 0; i < j->fired.nevents; i++)
			sla_notify(run, &j->fired, &j->fired.events[i], j->ticket_id);
		if (j->fired.ticket != NULL)
			router_ticket_changed(run->srv, j->fired.ticket);
		wake = j->fired.wake_ms;
	}
	if (pending < wake)
		wake = pending;
	sla_run_arm(run->srv, j->ticket_id, wake);
	json_decref(j->fired.ticket);
	free(j);
}

/* loop: a ticket's wake-up came. */
static void
sla_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sla_timer *t = arg;
	struct sla_run *run = t->run;
	struct sla_job *j;

	(void)fd;
	(void)what;
	if ((j = calloc(1, sizeof *j)) == NULL)
		abort();
	j->run = run;
	j->ticket_id = t->ticket_id;
	j->now_ms = now_ms();
	t->busy = 1;
	t->pending = SLA_NEVER;
	if (db_pool_submit(run->srv->db, sla_job_work, sla_job_done, j) != 0) {
		t->busy = 0;
		free(j);
		run->failures++;
		t->wake_ms = now_ms() + SLA_RETRY_MS;
		timer_schedule(t);
	}
}

/* store_sla_wakes: arm one ticket found at start-up. */
static void
sla_load_one(uint64_t id, int64_t wake, void *arg)
{
	sla_run_arm(arg, id, wake);
}

int
sla_run_start(struct server *srv, char *err, size_t errlen)
{
	struct db_params p;
	struct sla_run *run = calloc(1, sizeof *run);
	char why[256];
	MYSQL *m;
	int rc;

	if (run == NULL)
		abort();
	run->srv = srv;
	config_db_params(&srv->cfg, &p);
	if ((m = db_connect(&p, why, sizeof why)) == NULL) {
		snprintf(err, errlen, "SLA clocks: cannot reach the database: %s", why);
		free(run);
		return -1;
	}
	if ((run->calendars = sla_calendars_load(m, why, sizeof why)) == NULL) {
		snprintf(err, errlen, "SLA clocks: cannot load the site calendars: %s", why);
		store_stmt_cache_drop();
		mysql_close(m);
		free(run);
		return -1;
	}
	store_sla_use_calendars(run->calendars);
	srv->sla = run;
	rc = store_sla_wakes(m, now_ms(), sla_load_one, srv, why, sizeof why);
	store_stmt_cache_drop(); /* statements of this connection, cached on the loop thread */
	mysql_close(m);
	if (rc != 0) {
		snprintf(err, errlen, "SLA clocks: cannot load the running clocks: %s", why);
		return -1;
	}
	log_info("sla", "msg=\"clocks loaded\" calendars=%zu timers=%u",
	         sla_calendars_count(run->calendars), HASH_COUNT(run->timers));
	return 0;
}

void
sla_run_stop(struct server *srv)
{
	struct sla_run *run = srv->sla;
	struct sla_timer *t, *tmp;

	if (run == NULL)
		return;
	HASH_ITER(hh, run->timers, t, tmp)
	{
		timer_drop(run, t);
	}
	store_sla_use_calendars(NULL);
	sla_calendars_free(run->calendars);
	free(run);
	srv->sla = NULL;
}

void
sla_run_metrics(struct server *srv, struct evbuffer *out)
{
	const struct sla_run *run = srv->sla;
	unsigned long long w = run ? run->warnings : 0, b = run ? run->breaches : 0,
	                   f = run ? run->failures : 0;
	unsigned n = run ? HASH_COUNT(run->timers) : 0;

	evbuffer_add_printf(out,
	                    "# HELP cc_sla_warnings_total SLA clocks that reached their warning.\n"
	                    "# TYPE cc_sla_warnings_total counter\ncc_sla_warnings_total %llu\n",
	                    w);
	evbuffer_add_printf(out,
	                    "# HELP cc_sla_breaches_total SLA clocks that reached their target.\n"
	                    "# TYPE cc_sla_breaches_total counter\ncc_sla_breaches_total %llu\n",
	                    b);
	evbuffer_add_printf(out,
	                    "# HELP cc_sla_timers Tickets with an SLA timer armed or running.\n"
	                    "# TYPE cc_sla_timers gauge\ncc_sla_timers %u\n",
	                    n);
	evbuffer_add_printf(out,
	                    "# HELP cc_sla_timer_failures_total SLA timer jobs that failed and "
	                    "were retried.\n# TYPE cc_sla_timer_failures_total counter\n"
	                    "cc_sla_timer_failures_total %llu\n",
	                    f);
}
