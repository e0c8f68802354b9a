/* sla.c: business calendars, SLA policies and clocks. See sla.h for the
 * design; the notes here say how. */
#include "sla.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Sampling step when reading a zone's offsets. It must be shorter than any
 * offset period, or a change and its reversal inside one step would go
 * unseen; the shortest since 1970 in tzdata 2025b lasts 6.9 days
 * (America/Cambridge_Bay, 2000), so 12 hours leaves a wide margin. */
#define SCAN_STEP_S (12 * 3600)
#define DAY_S       86400
#define DAY_MIN     1440

/* From at (UTC seconds) on, local time is UTC + off seconds. */
struct sla_period {
	int64_t at;
	int32_t off;
};

/* Working time in local seconds of the day, [start, end). */
struct sla_span {
	int32_t start;
	int32_t end;
};

/* A make-up working day: local date (days since 1970-01-01) and the weekday
 * whose hours it keeps. */
struct sla_workday {
	int64_t day;
	int wday;
};

struct sla_calendar {
	char tz[SLA_TZ_MAX + 1];
	struct sla_period *periods; /* periods[0].at is INT64_MIN */
	size_t nperiods;
	size_t capperiods;
	struct sla_span week[7][SLA_MAX_SPANS];
	int nspans[7];
	int64_t *holidays; /* sorted local dates */
	size_t nholidays;
	size_t capholidays;
	struct sla_workday *workdays; /* sorted by day */
	size_t nworkdays;
	size_t capworkdays;
};

/* Grow an array of elements of size sz to hold one more; abort when memory
 * is gone, as elsewhere in the server. */
static void *
grow(void *p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(p, *cap * sz);
	if (p == NULL)
		abort();
	return p;
}

/* Floor division, for instants before the epoch and negative offsets. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	int64_t yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Weekday of a local date; 1970-01-01 was a Thursday. */
static int
day_weekday(int64_t day)
{
	return (int)(((day + SLA_THU) % 7 + 7) % 7);
}

/* Days since the epoch of a valid date in the supported years, or -1. */
static int64_t
date_to_day(int year, int month, int day)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (year < 1970 || year > 2099 || month < 1 || month > 12 || day < 1)
		return -1;
	if (day > mdays[month - 1] + (month == 2 ? leap : 0))
		return -1;
	return days_from_civil(year, month, day);
}

/* --- time zones --- */

/* Whether tz looks like an IANA name: relative, no "." or ".." component,
 * only the characters zone names use. POSIX TZ strings are refused. */
static int
tz_name_valid(const char *tz)
{
	size_t len = strlen(tz);

	if (len == 0 || len > SLA_TZ_MAX || tz[0] == '/')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = tz[i];

		if (ch == '.' && (i == 0 || tz[i - 1] == '/'))
			return 0;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' || ch == '-' ||
		      ch == '+' || ch == '.'))
			return 0;
	}
	return tz[len - 1] != '/';
}

/* Check that the zone's file exists and is a compiled zone (magic "TZif").
 * glibc would silently fall back to UTC on a name it cannot load. */
static int
tz_check(const char *tz, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	char magic[4];
	FILE *f;
	size_t got;

	if (!tz_name_valid(tz)) {
		snprintf(err, errlen,
		         "invalid time zone name \"%.*s\": expected an IANA name such as "
		         "Asia/Shanghai",
		         SLA_TZ_MAX, tz);
		return -1;
	}
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof path, "%s/%s", dir, tz);
	f = fopen(path, "rbe");
	if (f == NULL) {
		snprintf(err, errlen, "unknown time zone \"%s\": %s in %s", tz, strerror(errno),
		         dir);
		return -1;
	}
	got = fread(magic, 1, sizeof magic, f);
	fclose(f);
	if (got != sizeof magic || memcmp(magic, "TZif", 4) != 0) {
		snprintf(err, errlen, "unknown time zone \"%s\": not a zone file in %s", tz, dir);
		return -1;
	}
	return 0;
}

/* UTC offset at t under the current TZ. */
static int32_t
tz_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int32_t)tm.tm_gmtoff;
}

static void
period_push(struct sla_calendar *cal, int64_t at, int32_t off)
{
	cal->periods = grow(cal->periods, &cal->capperiods, cal->nperiods, sizeof *cal->periods);
	cal->periods[cal->nperiods].at = at;
	cal->periods[cal->nperiods].off = off;
	cal->nperiods++;
}

/* Record the current TZ's offset changes over the supported range: sample
 * every SCAN_STEP_S, and bisect each change to the second. */
static void
tz_scan(struct sla_calendar *cal)
{
	int64_t t = SLA_TIME_MIN / 1000;
	const int64_t end = SLA_TIME_MAX / 1000;
	int32_t prev = tz_offset(t);

	period_push(cal, INT64_MIN, prev);
	while (t < end) {
		int64_t next = t + SCAN_STEP_S < end ? t + SCAN_STEP_S : end;
		int64_t lo = t, hi = next;

		if (tz_offset(next) == prev) {
			t = next;
			continue;
		}
		while (hi - lo > 1) {
			int64_t mid = lo + (hi - lo) / 2;

			if (tz_offset(mid) == prev)
				lo = mid;
			else
				hi = mid;
		}
		prev = tz_offset(hi);
		period_push(cal, hi, prev);
		t = hi;
	}
}

/* Set TZ to tz, scan it, and put the environment back as it was. */
static void
tz_load(struct sla_calendar *cal, const char *tz)
{
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;

	if (old != NULL && saved == NULL)
		abort();
	setenv("TZ", tz, 1);
	tzset();
	tz_scan(cal);
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

/* Index of the period holding UTC second t. */
static size_t
period_at(const struct sla_calendar *cal, int64_t t)
{
	size_t lo = 0, hi = cal->nperiods;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (cal->periods[mid].at <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The first UTC second at which the wall clock reads l or later (l in
 * seconds since 1970-01-01 00:00 local): a reading inside a gap maps to the
 * change, one inside an overlap to its first occurrence (the rule in sla.h).
 * Non-decreasing in l, so intervals keep their order and never overlap. */
static int64_t
local_to_utc(const struct sla_calendar *cal, int64_t l)
{
	const struct sla_period *p = cal->periods;
	size_t lo = 0, hi = cal->nperiods;

	/* the last period whose first reading is <= l */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (p[mid].at + p[mid].off <= l)
			lo = mid;
		else
			hi = mid;
	}
	/* the period before ends at a later reading: clocks went back */
	if (lo > 0 && l < p[lo].at + p[lo - 1].off)
		return l - p[lo - 1].off;
	/* period lo's readings end before l: clocks jumped over it */
	if (lo + 1 < cal->nperiods && l >= p[lo + 1].at + p[lo].off)
		return p[lo + 1].at;
	return l - p[lo].off;
}

/* Local date of instant t_ms. */
static int64_t
local_day(const struct sla_calendar *cal, int64_t t_ms)
{
	int64_t t = floor_div(t_ms, 1000);

	return floor_div(t + cal->periods[period_at(cal, t)].off, DAY_S);
}

int
sla_calendar_offset(const struct sla_calendar *cal, int64_t t_ms)
{
	return cal->periods[period_at(cal, floor_div(t_ms, 1000))].off;
}

/* --- calendars --- */

struct sla_calendar *
sla_calendar_new(const char *tz, char *err, size_t errlen)
{
	struct sla_calendar *cal;

	if (tz == NULL || tz_check(tz, err, errlen) < 0)
		return NULL;
	cal = calloc(1, sizeof *cal);
	if (cal == NULL)
		abort();
	snprintf(cal->tz, sizeof cal->tz, "%s", tz);
	tz_load(cal, tz);
	return cal;
}

void
sla_calendar_free(struct sla_calendar *cal)
{
	if (cal == NULL)
		return;
	free(cal->periods);
	free(cal->holidays);
	free(cal->workdays);
	free(cal);
}

const char *
sla_calendar_tz(const struct sla_calendar *cal)
{
	return cal->tz;
}

int
sla_calendar_add_hours(struct sla_calendar *cal, enum sla_weekday wday, int start_min, int end_min)
{
	struct sla_span *spans;
	int n, i;

	if ((int)wday < SLA_SUN || wday > SLA_SAT || start_min < 0 || start_min >= end_min ||
	    end_min > DAY_MIN)
		return -1;
	spans = cal->week[wday];
	n = cal->nspans[wday];
	if (n >= SLA_MAX_SPANS)
		return -1;
	for (i = 0; i < n; i++)
		if (start_min * 60 < spans[i].end && spans[i].start < end_min * 60)
			return -1;
	/* keep the day's spans sorted by start */
	for (i = n; i > 0 && spans[i - 1].start > start_min * 60; i--)
		spans[i] = spans[i - 1];
	spans[i].start = start_min * 60;
	spans[i].end = end_min * 60;
	cal->nspans[wday] = n + 1;
	return 0;
}

void
sla_calendar_set_24x7(struct sla_calendar *cal)
{
	for (int d = 0; d < 7; d++) {
		cal->week[d][0].start = 0;
		cal->week[d][0].end = DAY_S;
		cal->nspans[d] = 1;
	}
}

/* Position of day in the sorted holidays, or where it would go. */
static size_t
holiday_pos(const struct sla_calendar *cal, int64_t day)
{
	size_t lo = 0, hi = cal->nholidays;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cal->holidays[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t
workday_pos(const struct sla_calendar *cal, int64_t day)
{
	size_t lo = 0, hi = cal->nworkdays;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cal->workdays[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
is_holiday(const struct sla_calendar *cal, int64_t day)
{
	size_t i = holiday_pos(cal, day);

	return i < cal->nholidays && cal->holidays[i] == day;
}

/* The make-up working day on day, or NULL. */
static const struct sla_workday *
find_workday(const struct sla_calendar *cal, int64_t day)
{
	size_t i = workday_pos(cal, day);

	return i < cal->nworkdays && cal->workdays[i].day == day ? &cal->workdays[i] : NULL;
}

int
sla_calendar_add_holiday(struct sla_calendar *cal, int year, int month, int day)
{
	int64_t d = date_to_day(year, month, day);
	size_t i;

	if (d < 0 || find_workday(cal, d) != NULL)
		return -1;
	i = holiday_pos(cal, d);
	if (i < cal->nholidays && cal->holidays[i] == d)
		return 0;
	cal->holidays = grow(cal->holidays, &cal->capholidays, cal->nholidays, sizeof(int64_t));
	memmove(&cal->holidays[i + 1], &cal->holidays[i],
	        (cal->nholidays - i) * sizeof *cal->holidays);
	cal->holidays[i] = d;
	cal->nholidays++;
	return 0;
}

int
sla_calendar_add_workday(struct sla_calendar *cal, int year, int month, int day,
                         enum sla_weekday as_wday)
{
	int64_t d = date_to_day(year, month, day);
	size_t i;

	if (d < 0 || (int)as_wday < SLA_SUN || as_wday > SLA_SAT || is_holiday(cal, d))
		return -1;
	i = workday_pos(cal, d);
	if (i < cal->nworkdays && cal->workdays[i].day == d) {
		cal->workdays[i].wday = as_wday;
		return 0;
	}
	cal->workdays =
	    grow(cal->workdays, &cal->capworkdays, cal->nworkdays, sizeof *cal->workdays);
	memmove(&cal->workdays[i + 1], &cal->workdays[i],
	        (cal->nworkdays - i) * sizeof *cal->workdays);
	cal->workdays[i].day = d;
	cal->workdays[i].wday = as_wday;
	cal->nworkdays++;
	return 0;
}

/* Whether any weekday has working hours: without, nothing is ever open. */
static int
calendar_opens(const struct sla_calendar *cal)
{
	for (int d = 0; d < 7; d++)
		if (cal->nspans[d] > 0)
			return 1;
	return 0;
}

/* The working intervals of local date day as UTC ms [out[i][0], out[i][1]),
 * in order; returns how many. They all lie before the next date's and at or
 * after the first instant whose local date is day. */
static int
day_spans(const struct sla_calendar *cal, int64_t day, int64_t out[SLA_MAX_SPANS][2])
{
	const struct sla_workday *w;
	int wday, n = 0;

	if (is_holiday(cal, day))
		return 0;
	w = find_workday(cal, day);
	wday = w != NULL ? w->wday : day_weekday(day);
	for (int i = 0; i < cal->nspans[wday]; i++) {
		int64_t base = day * DAY_S;
		int64_t s = local_to_utc(cal, base + cal->week[wday][i].start) * 1000;
		int64_t e = local_to_utc(cal, base + cal->week[wday][i].end) * 1000;

		if (e > s) {
			out[n][0] = s;
			out[n][1] = e;
			n++;
		}
	}
	return n;
}

int64_t
sla_business_add(const struct sla_calendar *cal, int64_t start_ms, int64_t business_ms)
{
	int64_t spans[SLA_MAX_SPANS][2];
	int64_t left = business_ms, day;

	if (business_ms <= 0)
		return start_ms;
	/* the calendar check spares a futile walk of SLA_MAX_WALK_DAYS */
	if (start_ms >= SLA_TIME_MAX || !calendar_opens(cal))
		return SLA_NEVER;
	if (start_ms < SLA_TIME_MIN)
		start_ms = SLA_TIME_MIN;
	/* intervals come in order and never overlap: only the first one met
	 * can hold start_ms */
	day = local_day(cal, start_ms);
	for (int walked = 0; walked <= SLA_MAX_WALK_DAYS; walked++, day++) {
		int n = day_spans(cal, day, spans);

		for (int i = 0; i < n; i++) {
			int64_t s = spans[i][0] > start_ms ? spans[i][0] : start_ms;
			int64_t e = spans[i][1];

			if (s >= SLA_TIME_MAX)
				return SLA_NEVER;
			if (e <= s)
				continue;
			if (left <= e - s)
				return s + left > SLA_TIME_MAX ? SLA_NEVER : s + left;
			left -= e - s;
		}
	}
	return SLA_NEVER;
}

int64_t
sla_business_between(const struct sla_calendar *cal, int64_t a_ms, int64_t b_ms)
{
	int64_t spans[SLA_MAX_SPANS][2];
	int64_t total = 0, day, last;

	a_ms = a_ms > SLA_TIME_MIN ? a_ms : SLA_TIME_MIN;
	b_ms = b_ms < SLA_TIME_MAX ? b_ms : SLA_TIME_MAX;
	if (b_ms <= a_ms || !calendar_opens(cal))
		return 0;
	last = local_day(cal, b_ms);
	for (day = local_day(cal, a_ms); day <= last; day++) {
		int n = day_spans(cal, day, spans);

		for (int i = 0; i < n; i++) {
			int64_t s = spans[i][0] > a_ms ? spans[i][0] : a_ms;
			int64_t e = spans[i][1] < b_ms ? spans[i][1] : b_ms;

			if (e > s)
				total += e - s;
		}
	}
	return total;
}

/* --- policies --- */

#define SEC(n)  ((n)*INT64_C(1000))
#define MIN(n)  ((n)*SLA_MINUTE)
#define HOUR(n) ((n)*SLA_HOUR)
#define BUS(ms)                                                                                    \
	{                                                                                          \
		(ms), SLA_BUSINESS                                                                 \
	}
#define WALL(ms)                                                                                   \
	{                                                                                          \
		(ms), SLA_WALL                                                                     \
	}
#define NONE                                                                                       \
	{                                                                                          \
		0, SLA_BUSINESS                                                                    \
	}

/* The defaults. The sources fault phone lines with no stated handling time,
 * web messages answered in two days, complaints in seven and refund disputes
 * in a month; these promise much less. Response targets count working time
 * (someone must be there to answer); resolution promised in days counts
 * calendar time, as a customer reads it. Severity 1 is the gravest grade.
 * Columns: first response, next response, resolution. */
static const struct sla_policy sla_defaults[] = {
    /* anything the rows below do not cover */
    {"default",
     SLA_KIND_ANY,
     0,
     0,
     0,
     SLA_CHANNEL_ANY,
     {BUS(HOUR(4)), BUS(HOUR(8)), WALL(HOUR(72))},
     80},
    /* answered within the queue's 20 s; follow-up work within a working day */
    {"call", SLA_KIND_CALL, 0, 0, 0, SLA_CHANNEL_ANY, {WALL(SEC(20)), NONE, BUS(HOUR(8))}, 80},
    /* a complaint not graded yet is handled as grade 3 */
    {"complaint",
     SLA_KIND_COMPLAINT,
     0,
     0,
     0,
     SLA_CHANNEL_ANY,
     {BUS(HOUR(1)), BUS(HOUR(4)), WALL(HOUR(24))},
     80},
    {"complaint-1",
     SLA_KIND_COMPLAINT,
     1,
     0,
     0,
     SLA_CHANNEL_ANY,
     {BUS(MIN(15)), BUS(MIN(30)), BUS(HOUR(4))},
     80},
    {"complaint-2",
     SLA_KIND_COMPLAINT,
     2,
     0,
     0,
     SLA_CHANNEL_ANY,
     {BUS(MIN(30)), BUS(HOUR(1)), BUS(HOUR(8))},
     80},
    {"complaint-3",
     SLA_KIND_COMPLAINT,
     3,
     0,
     0,
     SLA_CHANNEL_ANY,
     {BUS(HOUR(1)), BUS(HOUR(4)), WALL(HOUR(24))},
     80},
    {"complaint-4",
     SLA_KIND_COMPLAINT,
     4,
     0,
     0,
     SLA_CHANNEL_ANY,
     {BUS(HOUR(4)), BUS(HOUR(8)), WALL(HOUR(72))},
     80},
    {"inquiry",
     SLA_KIND_INQUIRY,
     0,
     0,
     0,
     SLA_CHANNEL_ANY,
     {BUS(HOUR(2)), BUS(HOUR(4)), WALL(HOUR(24))},
     80},
    /* chat is a live conversation */
    {"inquiry-chat",
     SLA_KIND_INQUIRY,
     0,
     0,
     0,
     SLA_CHANNEL_CHAT,
     {BUS(MIN(1)), BUS(MIN(2)), BUS(HOUR(1))},
     80},
    {"inquiry-email",
     SLA_KIND_INQUIRY,
     0,
     0,
     0,
     SLA_CHANNEL_EMAIL,
     {BUS(HOUR(4)), BUS(HOUR(8)), WALL(HOUR(48))},
     80},
    {"return_refund",
     SLA_KIND_REFUND,
     0,
     0,
     0,
     SLA_CHANNEL_ANY,
     {BUS(HOUR(1)), BUS(HOUR(4)), WALL(HOUR(48))},
     80},
};

const struct sla_policy *
sla_policy_defaults(size_t *n)
{
	*n = sizeof sla_defaults / sizeof sla_defaults[0];
	return sla_defaults;
}

/* How specific a matching row is (kind 8, severity 4, priority 2, channel 1:
 * so the keys compare in that order), or -1 when it does not match. */
static int
policy_rank(const struct sla_policy *p, enum sla_kind kind, int severity, int priority,
            enum sla_channel channel)
{
	int rank = 0;

	if (p->kind != SLA_KIND_ANY) {
		if (p->kind != kind)
			return -1;
		rank |= 8;
	}
	if (p->severity != 0) {
		if (p->severity != severity)
			return -1;
		rank |= 4;
	}
	if (p->priority_min != 0 || p->priority_max != 0) {
		if ((p->priority_min != 0 && priority < p->priority_min) ||
		    (p->priority_max != 0 && priority > p->priority_max))
			return -1;
		rank |= 2;
	}
	if (p->channel != SLA_CHANNEL_ANY) {
		if (p->channel != channel)
			return -1;
		rank |= 1;
	}
	return rank;
}

const struct sla_policy *
sla_policy_match(const struct sla_policy *table, size_t n, enum sla_kind kind, int severity,
                 int priority, enum sla_channel channel)
{
	const struct sla_policy *best = NULL;
	int best_rank = -1;

	for (size_t i = 0; i < n; i++) {
		int rank = policy_rank(&table[i], kind, severity, priority, channel);

		if (rank > best_rank) {
			best = &table[i];
			best_rank = rank;
		}
	}
	return best;
}

static const char *const kind_names[] = {"*", "call", "complaint", "inquiry", "return_refund"};
static const char *const channel_names[] = {"*", "phone", "web", "email", "chat", "sms"};
static const char *const metric_names[] = {"first_response", "next_response", "resolution"};
static const char *const level_names[] = {"ok", "warning", "breached"};

/* Index of name in names[0..n), or -1. */
static int
name_find(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *
sla_kind_name(enum sla_kind kind)
{
	return (unsigned)kind < 5 ? kind_names[kind] : "?";
}

int
sla_kind_parse(const char *name, enum sla_kind *kind)
{
	int i = name_find(kind_names, 5, name);

	if (i < 0)
		return -1;
	*kind = (enum sla_kind)i;
	return 0;
}

const char *
sla_channel_name(enum sla_channel channel)
{
	return (unsigned)channel < 6 ? channel_names[channel] : "?";
}

int
sla_channel_parse(const char *name, enum sla_channel *channel)
{
	int i = name_find(channel_names, 6, name);

	if (i < 0)
		return -1;
	*channel = (enum sla_channel)i;
	return 0;
}

const char *
sla_metric_name(enum sla_metric metric)
{
	return (unsigned)metric < SLA_METRIC_COUNT ? metric_names[metric] : "?";
}

const char *
sla_level_name(enum sla_level level)
{
	return (unsigned)level < 3 ? level_names[level] : "?";
}

/* --- clocks --- */

/* Counted time in [a, b) in the clock's basis. */
static int64_t
clock_measure(const struct sla_clock *c, const struct sla_calendar *cal, int64_t a, int64_t b)
{
	if (b <= a)
		return 0;
	if (c->basis == SLA_WALL || cal == NULL)
		return b - a;
	return sla_business_between(cal, a, b);
}

/* The instant at which amount more is counted after from. */
static int64_t
clock_reach(const struct sla_clock *c, const struct sla_calendar *cal, int64_t from, int64_t amount)
{
	if (c->basis == SLA_WALL || cal == NULL)
		return from > SLA_NEVER - amount ? SLA_NEVER : from + amount;
	return sla_business_add(cal, from, amount);
}

/* Counted time at now. */
static int64_t
clock_elapsed(const struct sla_clock *c, const struct sla_calendar *cal, int64_t now)
{
	if (c->state != SLA_CLOCK_RUNNING)
		return c->elapsed_ms;
	return c->elapsed_ms + clock_measure(c, cal, c->since_ms, now);
}

/* Counted time at which the warning falls, or 0 for none. */
static int64_t
clock_warn_threshold(const struct sla_clock *c)
{
	if (c->warn_pct < 1 || c->warn_pct > 99)
		return 0;
	return c->target_ms * c->warn_pct / 100;
}

/* Close the running stretch at now, noting the breach instant if the
 * stretch crossed the target. */
static void
clock_settle(struct sla_clock *c, const struct sla_calendar *cal, int64_t now)
{
	int64_t add = clock_measure(c, cal, c->since_ms, now);

	if (c->elapsed_ms < c->target_ms && c->elapsed_ms + add >= c->target_ms)
		c->breach_ms = clock_reach(c, cal, c->since_ms, c->target_ms - c->elapsed_ms);
	c->elapsed_ms += add;
	c->since_ms = now;
}

int
sla_clock_start(struct sla_clock *c, const struct sla_target *t, int warn_pct, int64_t now)
{
	if (t == NULL || t->ms <= 0 || t->ms > SLA_MAX_TARGET ||
	    (t->basis != SLA_BUSINESS && t->basis != SLA_WALL))
		return -1;
	memset(c, 0, sizeof *c);
	c->state = SLA_CLOCK_RUNNING;
	c->basis = t->basis;
	c->target_ms = t->ms;
	c->warn_pct = warn_pct;
	c->since_ms = now;
	c->started_ms = now;
	c->breach_ms = SLA_NEVER;
	return 0;
}

int
sla_clock_pause(struct sla_clock *c, const struct sla_calendar *cal, int64_t now)
{
	if (c->state != SLA_CLOCK_RUNNING)
		return -1;
	clock_settle(c, cal, now);
	c->state = SLA_CLOCK_PAUSED;
	return 0;
}

int
sla_clock_resume(struct sla_clock *c, int64_t now)
{
	if (c->state != SLA_CLOCK_PAUSED)
		return -1;
	c->state = SLA_CLOCK_RUNNING;
	c->since_ms = now;
	return 0;
}

int
sla_clock_stop(struct sla_clock *c, const struct sla_calendar *cal, int64_t now)
{
	if (c->state == SLA_CLOCK_RUNNING)
		clock_settle(c, cal, now);
	else if (c->state == SLA_CLOCK_PAUSED)
		c->since_ms = now;
	else
		return -1;
	c->state = SLA_CLOCK_STOPPED;
	return 0;
}

void
sla_clock_status(const struct sla_clock *c, const struct sla_calendar *cal, int64_t now,
                 struct sla_status *st)
{
	int64_t warn = clock_warn_threshold(c);

	memset(st, 0, sizeof *st);
	st->due_ms = SLA_NEVER;
	if (c->state == SLA_CLOCK_IDLE)
		return;
	st->elapsed_ms = clock_elapsed(c, cal, now);
	if (st->elapsed_ms >= c->target_ms)
		st->level = SLA_BREACHED;
	else if (warn > 0 && st->elapsed_ms >= warn)
		st->level = SLA_WARNING;
	st->remaining_ms = st->level == SLA_BREACHED ? 0 : c->target_ms - st->elapsed_ms;
	st->overdue_ms = st->level == SLA_BREACHED ? st->elapsed_ms - c->target_ms : 0;
	if (c->state == SLA_CLOCK_RUNNING && c->elapsed_ms < c->target_ms)
		st->due_ms = clock_reach(c, cal, c->since_ms, c->target_ms - c->elapsed_ms);
	else
		st->due_ms = c->breach_ms;
}

int64_t
sla_clock_next(const struct sla_clock *c, const struct sla_calendar *cal, int64_t now)
{
	int64_t warn = clock_warn_threshold(c);
	int64_t at;

	if (c->state != SLA_CLOCK_RUNNING)
		return SLA_NEVER;
	/* Reach returns the first instant the amount is counted, so comparing
	 * with now tells whether the threshold is still ahead. */
	if (warn > c->elapsed_ms) {
		at = clock_reach(c, cal, c->since_ms, warn - c->elapsed_ms);
		if (at > now)
			return at;
	}
	if (c->target_ms > c->elapsed_ms) {
		at = clock_reach(c, cal, c->since_ms, c->target_ms - c->elapsed_ms);
		if (at > now)
			return at;
	}
	return SLA_NEVER;
}

unsigned
sla_clock_advance(struct sla_clock *c, const struct sla_calendar *cal, int64_t now, int64_t *next)
{
	struct sla_status st;
	unsigned crossed = 0;

	sla_clock_status(c, cal, now, &st);
	if (st.level >= SLA_WARNING && clock_warn_threshold(c) > 0)
		crossed |= SLA_EV_WARNING;
	if (st.level == SLA_BREACHED)
		crossed |= SLA_EV_BREACH;
	crossed &= ~c->notified;
	c->notified |= crossed;
	if (next != NULL)
		*next = sla_clock_next(c, cal, now);
	return crossed;
}

int
sla_clock_retarget(struct sla_clock *c, const struct sla_calendar *cal, const struct sla_target *t,
                   int warn_pct, int64_t now)
{
	int64_t warn;

	if ((c->state != SLA_CLOCK_RUNNING && c->state != SLA_CLOCK_PAUSED) || t == NULL ||
	    t->ms <= 0 || t->ms > SLA_MAX_TARGET ||
	    (t->basis != SLA_BUSINESS && t->basis != SLA_WALL))
		return -1;
	if (c->state == SLA_CLOCK_RUNNING)
		clock_settle(c, cal, now);
	c->target_ms = t->ms;
	c->basis = t->basis;
	c->warn_pct = warn_pct;
	if (c->elapsed_ms >= c->target_ms) {
		if (!(c->notified & SLA_EV_BREACH) || c->breach_ms == SLA_NEVER)
			c->breach_ms = now;
	} else {
		c->breach_ms = SLA_NEVER;
		c->notified &= ~SLA_EV_BREACH;
	}
	warn = clock_warn_threshold(c);
	if (warn == 0 || c->elapsed_ms < warn)
		c->notified &= ~SLA_EV_WARNING;
	return 0;
}

int
sla_clock_continue(struct sla_clock *c, int paused, int64_t now)
{
	if (c->state != SLA_CLOCK_STOPPED)
		return -1;
	c->state = paused ? SLA_CLOCK_PAUSED : SLA_CLOCK_RUNNING;
	c->since_ms = now;
	return 0;
}

int64_t
sla_clock_wake(const struct sla_clock *c, const struct sla_calendar *cal, int64_t now)
{
	struct sla_status st;
	unsigned crossed = 0;

	if (c->state == SLA_CLOCK_IDLE)
		return SLA_NEVER;
	sla_clock_status(c, cal, now, &st);
	if (st.level >= SLA_WARNING && clock_warn_threshold(c) > 0)
		crossed |= SLA_EV_WARNING;
	if (st.level == SLA_BREACHED)
		crossed |= SLA_EV_BREACH;
	if (crossed & ~c->notified)
		return now;
	return sla_clock_next(c, cal, now);
}
