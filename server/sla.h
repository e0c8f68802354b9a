/* sla.h: service-level clocks over per-site business calendars, and the
 * policy table that says which targets apply to a ticket.
 *
 * Pure: no clock reads (time is a parameter, UTC milliseconds since the
 * epoch), no I/O after a calendar is built, no global state except the TZ
 * switch inside sla_calendar_new. The server keeps one clock per ticket and
 * metric, asks sla_clock_advance when to wake up next, and arms one timer.
 *
 * Design, and why:
 *
 * - Time zones. glibc has no per-zone API, so sla_calendar_new sets TZ to the
 *   zone, calls tzset, samples the UTC offset with localtime_r every 12 hours
 *   from 1970 to 2100 (binary-searching each change to the second), then
 *   restores TZ. The calendar keeps the resulting table of offset periods
 *   (a few kilobytes) and every later conversion is arithmetic over it. This
 *   is better than switching TZ on each call (or on each cache miss): the
 *   process-wide environment is touched once, at configuration time, the
 *   calendar is immutable afterwards (safe to read from any thread, no
 *   cache to invalidate or bound), and a conversion costs a binary search
 *   instead of a tzfile read. Cost: 15-30 ms per calendar to build.
 *   Limits: sla_calendar_new must run on one thread while no other thread
 *   reads the environment or converts local time (the event-loop thread at
 *   configuration time); offset periods shorter than 12 hours would be
 *   missed (the shortest since 1970 lasts 6.9 days); instants are clamped to
 *   [SLA_TIME_MIN, SLA_TIME_MAX].
 *
 * - Working time. Each weekday has up to SLA_MAX_SPANS intervals
 *   [start, end) in local minutes (end may be 24:00); holidays close a local
 *   date; extra working days open one with another weekday's hours (a
 *   Saturday worked in place of a holiday). An interval's boundaries become
 *   UTC instants by one rule: a local time maps to the first instant at which
 *   the wall clock reads that time or later. So
 *     in a gap (spring forward) a boundary that the clock never shows maps to
 *       the change: [01:00, 04:00) around 02:00->03:00 lasts 2 hours, and
 *       [02:15, 02:45) is empty that day;
 *     in an overlap (fall back) a boundary maps to its first occurrence:
 *       [01:00, 04:00) around 03:00->02:00 lasts 4 hours, [00:00, 02:30)
 *       ends at the first 02:30 and [02:30, 05:00) starts there.
 *   The mapping never goes backwards, so intervals keep their order, never
 *   overlap, and touching intervals (a 24x7 week, 24:00 then 00:00) still
 *   touch: no time is counted twice or lost between them. A day that
 *   starts in a gap (Havana's 00:00->01:00) starts at the change.
 *   A night shift is two intervals: [22:00, 24:00) and [00:00, 06:00) on the
 *   next weekday.
 *
 * - Bounds. sla_business_add walks at most SLA_MAX_WALK_DAYS local dates; a
 *   calendar with no working time (or a target that far away) yields
 *   SLA_NEVER at once or after that walk, never a loop.
 *
 * - Clocks. The obvious states running/paused/met/breached are split in
 *   two: the lifecycle (idle, running, paused, stopped) and the level at an
 *   instant (ok, warning, breached). A breached clock still runs and can be
 *   paused (pending customer) or stopped (resolved late); overdue time
 *   keeps counting for reports. The clock stores only the facts needed to
 *   recompute everything (time counted so far, the instant the current
 *   running stretch began); due and warning instants are derived on demand,
 *   so a clock read back from the database, or a calendar replaced after a
 *   clock started, needs no re-arming step.
 *   Warning happens when elapsed >= target * warn_pct / 100 (integer ms,
 *   rounded down) and breach when elapsed >= target: at the due instant
 *   itself the clock is already breached.
 *
 * - Policies. A table row matches a ticket when each of its keys is the
 *   ticket's value or a wildcard; among matches the most specific wins, with
 *   specificity compared key by key in the order kind, severity, priority,
 *   channel (a severity-specific row beats a channel-specific one: grade
 *   decides urgency more than the way the complaint came in). Equally
 *   specific rows: the earlier one wins. Each target has its own basis,
 *   business or wall-clock time: short response targets count working time;
 *   targets promised to customers in days count calendar time. */
#ifndef CC_SLA_H
#define CC_SLA_H

#include <stddef.h>
#include <stdint.h>

#define SLA_NEVER         INT64_MAX
#define SLA_TIME_MIN      INT64_C(0)                /* 1970-01-01T00:00:00Z */
#define SLA_TIME_MAX      INT64_C(4102444800000)    /* 2100-01-01T00:00:00Z */
#define SLA_MAX_SPANS     4                         /* working intervals per weekday */
#define SLA_MAX_WALK_DAYS 3660                      /* about ten years of local dates */
#define SLA_TZ_MAX        64                        /* as sites.time_zone */
#define SLA_MAX_TARGET    (INT64_C(366) * 86400000) /* a target longer is refused */

#define SLA_MINUTE (INT64_C(60) * 1000)
#define SLA_HOUR   (INT64_C(60) * SLA_MINUTE)
#define SLA_DAY    (INT64_C(24) * SLA_HOUR)

/* Weekdays as in struct tm. */
enum sla_weekday { SLA_SUN, SLA_MON, SLA_TUE, SLA_WED, SLA_THU, SLA_FRI, SLA_SAT };

/* --- business calendars --- */

struct sla_calendar;

/* A calendar in IANA zone tz (as "Asia/Shanghai"), with no working time yet.
 * NULL with err filled when tz is not a zone name found in the system's
 * zoneinfo. Switches TZ and restores it: see the design note above. */
struct sla_calendar *sla_calendar_new(const char *tz, char *err, size_t errlen);
void sla_calendar_free(struct sla_calendar *cal);
/* The zone name the calendar was made with. */
const char *sla_calendar_tz(const struct sla_calendar *cal);
/* Open [start_min, end_min) local minutes (0 <= start < end <= 1440) on
 * weekday. -1 when out of range, overlapping an interval already there, or
 * over SLA_MAX_SPANS. */
int sla_calendar_add_hours(struct sla_calendar *cal, enum sla_weekday wday, int start_min,
                           int end_min);
/* Open every minute of every day (replaces the weekly hours). */
void sla_calendar_set_24x7(struct sla_calendar *cal);
/* Close local date year-month-day (years 1970-2099). -1 on an invalid date
 * or one already an extra working day. */
int sla_calendar_add_holiday(struct sla_calendar *cal, int year, int month, int day);
/* Open local date year-month-day with the hours of weekday as_wday (a make-up
 * working day). -1 on an invalid date or one already a holiday. */
int sla_calendar_add_workday(struct sla_calendar *cal, int year, int month, int day,
                             enum sla_weekday as_wday);
/* The UTC instant at which business_ms of working time has passed after
 * start_ms (closed time skipped); start_ms itself when business_ms <= 0.
 * SLA_NEVER when that is not within SLA_MAX_WALK_DAYS or SLA_TIME_MAX. */
int64_t sla_business_add(const struct sla_calendar *cal, int64_t start_ms, int64_t business_ms);
/* Working time in [a_ms, b_ms); 0 when b_ms <= a_ms. */
int64_t sla_business_between(const struct sla_calendar *cal, int64_t a_ms, int64_t b_ms);
/* UTC offset in seconds (local minus UTC) at instant t_ms. */
int sla_calendar_offset(const struct sla_calendar *cal, int64_t t_ms);

/* --- policies --- */

enum sla_kind {
	SLA_KIND_ANY,
	SLA_KIND_CALL,
	SLA_KIND_COMPLAINT,
	SLA_KIND_INQUIRY,
	SLA_KIND_REFUND
};
enum sla_channel {
	SLA_CHANNEL_ANY,
	SLA_CHANNEL_PHONE,
	SLA_CHANNEL_WEB,
	SLA_CHANNEL_EMAIL,
	SLA_CHANNEL_CHAT,
	SLA_CHANNEL_SMS
};
enum sla_metric { SLA_FIRST_RESPONSE, SLA_NEXT_RESPONSE, SLA_RESOLUTION, SLA_METRIC_COUNT };
enum sla_basis { SLA_BUSINESS, SLA_WALL };

/* ms == 0: no target for this metric (no clock is started). */
struct sla_target {
	int64_t ms;
	enum sla_basis basis;
};

/* One row of the policy table. severity 0 and priority_min/max 0 are
 * wildcards; a priority range matches priority_min <= p <= priority_max. */
struct sla_policy {
	const char *name;
	enum sla_kind kind;
	int severity;
	int priority_min;
	int priority_max;
	enum sla_channel channel;
	struct sla_target target[SLA_METRIC_COUNT];
	int warn_pct;
};

/* The built-in table (domain defaults); *n is set to its length. */
const struct sla_policy *sla_policy_defaults(size_t *n);
/* The most specific row of table[0..n) matching the ticket, or NULL.
 * severity 0: the ticket has none (only wildcard rows match it). */
const struct sla_policy *sla_policy_match(const struct sla_policy *table, size_t n,
                                          enum sla_kind kind, int severity, int priority,
                                          enum sla_channel channel);
/* Names as in the tickets table ("return_refund", "phone"); parse returns -1
 * on an unknown name. */
const char *sla_kind_name(enum sla_kind kind);
int sla_kind_parse(const char *name, enum sla_kind *kind);
const char *sla_channel_name(enum sla_channel channel);
int sla_channel_parse(const char *name, enum sla_channel *channel);
const char *sla_metric_name(enum sla_metric metric);

/* --- clocks --- */

enum sla_clock_state { SLA_CLOCK_IDLE, SLA_CLOCK_RUNNING, SLA_CLOCK_PAUSED, SLA_CLOCK_STOPPED };
enum sla_level { SLA_OK, SLA_WARNING, SLA_BREACHED };

/* Threshold crossings reported once each by sla_clock_advance. */
#define SLA_EV_WARNING 0x1u
#define SLA_EV_BREACH  0x2u

/* A plain struct, stored as is by the caller; zero-initialised is idle.
 * Time counts in the target's basis (business or wall); the functions below
 * count wall-clock time when given a NULL calendar. */
struct sla_clock {
	enum sla_clock_state state;
	enum sla_basis basis;
	int64_t target_ms;
	int warn_pct;       /* 1..99; anything else: no warning */
	int64_t elapsed_ms; /* counted before since_ms */
	int64_t since_ms;   /* running: stretch start; paused/stopped: when */
	int64_t started_ms; /* start of this cycle */
	int64_t breach_ms;  /* breach instant once a settled stretch crossed it */
	unsigned notified;  /* SLA_EV_* already reported */
};

/* What a clock says at an instant. */
struct sla_status {
	enum sla_level level;
	int64_t elapsed_ms;
	int64_t remaining_ms; /* until breach, 0 once breached */
	int64_t overdue_ms;   /* past the target, 0 until breached */
	int64_t due_ms;       /* breach instant, past or future; SLA_NEVER while
	                       * paused short of the target (it depends on when
	                       * the clock resumes) */
};

/* (Re)start c at now for target t; a restart (the next response cycle)
 * forgets the previous cycle. -1 when t has no target or one over
 * SLA_MAX_TARGET (c is left unchanged). */
int sla_clock_start(struct sla_clock *c, const struct sla_target *t, int warn_pct, int64_t now);
/* Stop counting (ticket pending on the customer). -1 unless running. */
int sla_clock_pause(struct sla_clock *c, const struct sla_calendar *cal, int64_t now);
/* Count again from now. -1 unless paused. */
int sla_clock_resume(struct sla_clock *c, int64_t now);
/* The metric is met (responded, resolved): freeze the counted time. -1
 * unless running or paused. The status then says met on time (ok) or late. */
int sla_clock_stop(struct sla_clock *c, const struct sla_calendar *cal, int64_t now);
/* The clock at now. */
void sla_clock_status(const struct sla_clock *c, const struct sla_calendar *cal, int64_t now,
                      struct sla_status *st);
/* The next instant after now at which the level changes (warning or
 * breach), or SLA_NEVER when none will while the clock stays as it is. */
int64_t sla_clock_next(const struct sla_clock *c, const struct sla_calendar *cal, int64_t now);
/* For the timer callback: the SLA_EV_* crossed by now and not reported
 * before (both at once when a warning was slept through), recorded as
 * reported; *next gets sla_clock_next. */
unsigned sla_clock_advance(struct sla_clock *c, const struct sla_calendar *cal, int64_t now,
                           int64_t *next);
const char *sla_level_name(enum sla_level level);
/* Take a new target (the ticket's policy changed) keeping the time counted
 * so far, settled at now. A clock now at or over the new target is breached
 * from now on (from its old breach instant when it was already breached);
 * crossings the new target no longer reaches are forgotten, so that they
 * are reported again when reached. -1 unless running or paused, or on a
 * target sla_clock_start would refuse (c is left unchanged). */
int sla_clock_retarget(struct sla_clock *c, const struct sla_calendar *cal,
                       const struct sla_target *t, int warn_pct, int64_t now);
/* A stopped clock counts again from now (paused: stays paused from now),
 * keeping the time counted before it stopped. -1 unless stopped. */
int sla_clock_continue(struct sla_clock *c, int paused, int64_t now);
/* When the clock needs attention: now when a crossing is due and not yet
 * reported, else sla_clock_next (SLA_NEVER when none). */
int64_t sla_clock_wake(const struct sla_clock *c, const struct sla_calendar *cal, int64_t now);

#endif
