/* store-sla.h: the SLA clocks of tickets in ticket_sla_clocks, changed
 * inside the transaction of the ticket write that moves them (the rules
 * are sla-plan.h), advanced by the timers of sla-run.c, and shown in
 * ticket.show. Everything but the calendar set's loading runs on a db
 * worker.
 *
 * Business-time clocks count the calendar of the ticket's owning site.
 * Calendars are built once at start-up on the event-loop thread
 * (sla_calendar_new switches TZ, see sla.h) into an immutable set that
 * the workers only read; store_sla_use_calendars publishes it before the
 * first job that needs it is queued. A site without calendar_hours rows,
 * or not in the set, counts around the clock. Each transaction reads the
 * version of sla_policies (a digest of its rows) with the ticket's clocks,
 * and a worker reads the rows again whenever that version differs from
 * the one it holds them at, so a change to the table applies to the next
 * ticket change without a restart; an empty table means the built-in
 * defaults (sla_policy_defaults). */
#ifndef CC_STORE_SLA_H
#define CC_STORE_SLA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <mysql.h>

#include "sla-plan.h"
#include "sla.h"

#define SLA_POLICIES_MAX  256  /* sla_policies rows read (lowest ids first) */
#define SLA_CALENDARS_MAX 4096 /* sites with a calendar */
#define SLA_FIRE_EVENTS   (2 * SLA_METRIC_COUNT)
#define SLA_LOAD_BATCH    1000 /* tickets read per query at start-up */

/* Site id -> calendar, immutable once built. */
struct sla_calendars;

/* Build every site's calendar (loop thread only: see sla.h). A site whose
 * time zone is unknown is logged and counts around the clock. NULL with
 * err on a database error. */
struct sla_calendars *sla_calendars_load(MYSQL *m, char *err, size_t errlen);
void sla_calendars_free(struct sla_calendars *set);
/* Sites with a calendar of their own. */
size_t sla_calendars_count(const struct sla_calendars *set);
/* The calendar the workers use from now on (NULL: every site around the
 * clock). The caller keeps set alive until no job can use it. */
void store_sla_use_calendars(const struct sla_calendars *set);

/* A ticket's new event chain head (its event inserted by the caller),
 * for store_sla_apply to set with the due instants in the one UPDATE of
 * the ticket row it makes. */
struct sla_head {
	uint32_t seq;
	const unsigned char *hash; /* AUDIT_HASH_LEN bytes */
};

/* Apply c to the ticket's clocks at now_ms (the ticket row is locked by
 * the caller), and set head (may be NULL) on the ticket row: 0 and
 * *wake_ms (the next warning or breach instant of any of its clocks,
 * SLA_NEVER when none), or -1 on a database error. */
int store_sla_apply(MYSQL *m, const struct sla_change *c, const struct sla_head *head,
                    int64_t now_ms, int64_t *wake_ms, char *err, size_t errlen);

/* The clocks of a ticket about to be inserted, worked out before its row
 * exists so that the due instants and the policy go into its INSERT: the
 * batched filing of web complaints (store-web.c), where one multi-row
 * statement writes many tickets. The same planning as store_sla_apply
 * with SLA_HOOK_CREATED on a ticket without clocks. */
struct sla_new {
	const char *kind, *channel;
	int severity, priority, state; /* state: enum ticket_state */
	unsigned int site_id;          /* the owning site (its calendar) */
	unsigned flags;                /* SLA_ANSWERED or 0 */
	int64_t now_ms;
};
struct sla_new_plan {
	struct sla_clock clock[SLA_METRIC_COUNT];
	int64_t due_ms[SLA_METRIC_COUNT]; /* SLA_NEVER: none (NULL) */
	unsigned int policy_id;           /* 0: the built-in table or none (NULL) */
	int responded;                    /* first_responded_at = now */
	int64_t wake_ms;
};
/* The version of sla_policies in the caller's transaction, for
 * store_sla_plan_new: 0 or -1. */
int store_sla_version(MYSQL *m, char *out, size_t outlen, char *err, size_t errlen);
/* Plan a new ticket's clocks: 0 or -1 (a policy read failed). */
int store_sla_plan_new(MYSQL *m, const char *version, const struct sla_new *in,
                       struct sla_new_plan *out, char *err, size_t errlen);
/* Write the clock rows of n new tickets (ids[i] planned as plans[i]) in
 * multi-row statements: 0 or -1. */
int store_sla_insert_new(MYSQL *m, const uint64_t *ids, const struct sla_new_plan *plans, size_t n,
                         char *err, size_t errlen);

/* Free this thread's copy of the SLA policies (read by store_sla_apply,
 * kept while the table's version stays the same); for a db worker that
 * ends. */
void store_sla_cache_drop(void);

/* The clocks of a ticket for ticket.show: *out is a new array of
 * {metric, state, level, basis, target_ms, elapsed_ms, remaining_ms,
 * overdue_ms, due_at}. 0 or -1. */
int store_sla_json(MYSQL *m, uint64_t ticket_id, int64_t now_ms, json_t **out, char *err,
                   size_t errlen);

/* store_sla_json at the current time, set as reply's "sla" member. 0 or -1. */
int store_sla_show(MYSQL *m, uint64_t ticket_id, json_t *reply, char *err, size_t errlen);

/* One crossing reported by store_sla_fire. */
struct sla_fired_event {
	unsigned kind; /* SLA_EV_WARNING or SLA_EV_BREACH */
	enum sla_metric metric;
	int64_t due_ms; /* SLA_NEVER: not known */
};

/* What a timer's transaction did. */
struct sla_fired {
	int found; /* the ticket exists */
	char ref[33];
	char site[65]; /* owning site code */
	unsigned int owner_agent_id;
	size_t nevents;
	struct sla_fired_event events[SLA_FIRE_EVENTS];
	int escalated;
	json_t *ticket; /* escalated: the ticket as it now is (a reference) */
	int64_t wake_ms;
};

/* A ticket's timer went off at now_ms: in one transaction, lock the
 * ticket, advance its clocks, record each new warning and breach as a
 * ticket event, and on a breach of an open ticket raise its priority by
 * one (9 is the most urgent) and its escalation level by one. 0 and *out,
 * or -1. */
int store_sla_fire(MYSQL *m, uint64_t ticket_id, int64_t now_ms, struct sla_fired *out, char *err,
                   size_t errlen);

/* Every ticket with a running or paused clock and its next wake-up (now
 * when a crossing is unreported), for the timers at start-up: fn is called
 * for each wake-up before SLA_NEVER. 0 or -1. */
int store_sla_wakes(MYSQL *m, int64_t now_ms, void (*fn)(uint64_t id, int64_t wake, void *arg),
                    void *arg, char *err, size_t errlen);

#endif
