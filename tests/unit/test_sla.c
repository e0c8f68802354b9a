/* test_sla.c: business calendars, SLA policies and clocks. Every expected
 * instant is worked out by hand in the comment beside it: local time, then
 * UTC (CST = UTC+8 in Asia/Shanghai; CET = UTC+1 and CEST = UTC+2 in
 * Europe/Berlin; EST = UTC-5 and EDT = UTC-4 in America/New_York). 2024
 * changes: Berlin 31 Mar 01:00Z (02:00 CET -> 03:00 CEST) and 27 Oct 01:00Z
 * (03:00 CEST -> 02:00 CET); New York 10 Mar 07:00Z and 3 Nov 06:00Z. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sla.h"

/* UTC ms of a UTC civil time (glibc's timegm, independent of the module). */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm) * 1000;
}

/* Format an instant for failure messages. */
static const char *
fmt(int64_t ms, char *buf, size_t len)
{
	struct tm tm;
	time_t t;

	if (ms == SLA_NEVER)
		return "never";
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return buf;
}

/* Compare instants, printing both readably on a mismatch. */
#define assert_instant(actual, expected)                                                           \
	do {                                                                                       \
		int64_t a_ = (actual), e_ = (expected);                                            \
		char ab_[64], eb_[64];                                                             \
		if (a_ != e_)                                                                      \
			fail_msg("%s: got %s, expected %s", #actual, fmt(a_, ab_, sizeof ab_),     \
			         fmt(e_, eb_, sizeof eb_));                                        \
	} while (0)

#define assert_ms(actual, expected) assert_int_equal((int64_t)(actual), (int64_t)(expected))

static struct sla_calendar *
cal_new(const char *tz)
{
	char err[256] = "";
	struct sla_calendar *cal = sla_calendar_new(tz, err, sizeof err);

	if (cal == NULL)
		fail_msg("sla_calendar_new(%s): %s", tz, err);
	return cal;
}

/* Mon-Fri 09:00-18:00 in tz. */
static struct sla_calendar *
cal_office(const char *tz)
{
	struct sla_calendar *cal = cal_new(tz);

	for (int d = SLA_MON; d <= SLA_FRI; d++)
		assert_int_equal(sla_calendar_add_hours(cal, d, 9 * 60, 18 * 60), 0);
	return cal;
}

/* Names that are not zones are refused with a message saying why. */
static void
test_tz_invalid(void **state)
{
	static const struct {
		const char *tz;
		const char *msg;
	} cases[] = {
	    {"Mars/Olympus_Mons", "unknown time zone \"Mars/Olympus_Mons\""},
	    {"Europe", "unknown time zone \"Europe\""}, /* a folder */
	    {"../../../etc/passwd", "invalid time zone name"},
	    {"Europe/../Europe/Berlin", "invalid time zone name"},
	    {"/usr/share/zoneinfo/UTC", "invalid time zone name"},
	    {"CET-1CEST,M3.5.0,M10.5.0/3", "invalid time zone name"},
	    {"Europe/Berlin ", "invalid time zone name"},
	    {"", "invalid time zone name"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = '\0';
		assert_null(sla_calendar_new(cases[i].tz, err, sizeof err));
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].tz, err, cases[i].msg);
	}
	/* a message cut to the buffer is still terminated */
	assert_null(sla_calendar_new("Mars/Olympus_Mons", err, 8));
	assert_int_equal(strlen(err), 7);
}

/* Building a calendar leaves the process's TZ as it found it. */
static void
test_tz_restored(void **state)
{
	struct sla_calendar *cal;
	struct tm tm;
	time_t t = 1718600000;

	(void)state;
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	cal = cal_new("Europe/Berlin");
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	localtime_r(&t, &tm);
	assert_int_equal(tm.tm_gmtoff, 9 * 3600);
	assert_string_equal(sla_calendar_tz(cal), "Europe/Berlin");
	sla_calendar_free(cal);

	unsetenv("TZ");
	tzset();
	cal = cal_new("America/New_York");
	assert_null(getenv("TZ"));
	sla_calendar_free(cal);
}

/* Offsets change at the exact second, and history is kept (Shanghai had
 * summer time 1986-1991). */
static void
test_offsets(void **state)
{
	struct sla_calendar *ber = cal_new("Europe/Berlin");
	struct sla_calendar *ny = cal_new("America/New_York");
	struct sla_calendar *sh = cal_new("Asia/Shanghai");

	(void)state;
	assert_int_equal(sla_calendar_offset(ber, utc(2024, 3, 31, 0, 59, 59) + 999), 3600);
	assert_int_equal(sla_calendar_offset(ber, utc(2024, 3, 31, 1, 0, 0)), 7200);
	assert_int_equal(sla_calendar_offset(ber, utc(2024, 10, 27, 0, 59, 59) + 999), 7200);
	assert_int_equal(sla_calendar_offset(ber, utc(2024, 10, 27, 1, 0, 0)), 3600);
	assert_int_equal(sla_calendar_offset(ny, utc(2024, 3, 10, 6, 59, 59)), -5 * 3600);
	assert_int_equal(sla_calendar_offset(ny, utc(2024, 3, 10, 7, 0, 0)), -4 * 3600);
	assert_int_equal(sla_calendar_offset(ny, utc(2024, 11, 3, 5, 59, 59)), -4 * 3600);
	assert_int_equal(sla_calendar_offset(ny, utc(2024, 11, 3, 6, 0, 0)), -5 * 3600);
	/* far ahead: the rule continues (2099-07-01 is summer) */
	assert_int_equal(sla_calendar_offset(ber, utc(2099, 7, 1, 12, 0, 0)), 7200);
	assert_int_equal(sla_calendar_offset(sh, utc(2024, 7, 1, 0, 0, 0)), 8 * 3600);
	assert_int_equal(sla_calendar_offset(sh, utc(1990, 7, 1, 12, 0, 0)), 9 * 3600);
	sla_calendar_free(ber);
	sla_calendar_free(ny);
	sla_calendar_free(sh);
}

/* A weekend is skipped. */
static void
test_weekend(void **state)
{
	struct sla_calendar *cal = cal_office("Asia/Shanghai");

	(void)state;
	/* Fri 14 Jun 17:00 CST (09:00Z) + 3 h: 17:00-18:00 Fri is 1 h, then
	 * Mon 17 Jun 09:00-11:00 CST: Mon 11:00 CST = 03:00Z. */
	assert_instant(sla_business_add(cal, utc(2024, 6, 14, 9, 0, 0), 3 * SLA_HOUR),
	               utc(2024, 6, 17, 3, 0, 0));
	assert_ms(sla_business_between(cal, utc(2024, 6, 14, 9, 0, 0), utc(2024, 6, 17, 3, 0, 0)),
	          3 * SLA_HOUR);
	/* Mon 17 Jun 00:00 CST (Sun 16:00Z) to Mon 24 Jun 00:00 CST: 5 x 9 h */
	assert_ms(sla_business_between(cal, utc(2024, 6, 16, 16, 0, 0), utc(2024, 6, 23, 16, 0, 0)),
	          45 * SLA_HOUR);
	/* Sat 15 Jun all day: nothing */
	assert_ms(sla_business_between(cal, utc(2024, 6, 14, 16, 0, 0), utc(2024, 6, 15, 16, 0, 0)),
	          0);
	sla_calendar_free(cal);
}

/* Starting outside working hours counts from the next opening; ending at
 * closing time ends there, not the next morning. */
static void
test_start_outside_hours(void **state)
{
	struct sla_calendar *cal = cal_office("Asia/Shanghai");
	int64_t tue_close = utc(2024, 6, 18, 10, 0, 0); /* Tue 18 Jun 18:00 CST */

	(void)state;
	/* Tue 20:00 CST (12:00Z) + 30 min: Wed 19 Jun 09:30 CST = 01:30Z */
	assert_instant(sla_business_add(cal, utc(2024, 6, 18, 12, 0, 0), 30 * SLA_MINUTE),
	               utc(2024, 6, 19, 1, 30, 0));
	/* Wed 07:00 CST (Tue 23:00Z) + 30 min: the same */
	assert_instant(sla_business_add(cal, utc(2024, 6, 18, 23, 0, 0), 30 * SLA_MINUTE),
	               utc(2024, 6, 19, 1, 30, 0));
	/* at closing + 1 ms: Wed 09:00:00.001 CST */
	assert_instant(sla_business_add(cal, tue_close, 1), utc(2024, 6, 19, 1, 0, 0) + 1);
	/* Tue 09:00 CST (01:00Z) + 9 h: Tue 18:00 CST exactly */
	assert_instant(sla_business_add(cal, utc(2024, 6, 18, 1, 0, 0), 9 * SLA_HOUR), tue_close);
	/* nothing to add: the start itself, even when closed */
	assert_instant(sla_business_add(cal, utc(2024, 6, 18, 12, 0, 0), 0),
	               utc(2024, 6, 18, 12, 0, 0));
	assert_instant(sla_business_add(cal, utc(2024, 6, 18, 12, 0, 0), -5),
	               utc(2024, 6, 18, 12, 0, 0));
	assert_ms(sla_business_between(cal, tue_close, tue_close - 1), 0);
	sla_calendar_free(cal);
}

/* Several intervals a day (a lunch break) and a short Saturday. */
static void
test_split_hours(void **state)
{
	struct sla_calendar *cal = cal_new("Asia/Shanghai");

	(void)state;
	for (int d = SLA_MON; d <= SLA_FRI; d++) {
		assert_int_equal(sla_calendar_add_hours(cal, d, 13 * 60, 18 * 60), 0);
		assert_int_equal(sla_calendar_add_hours(cal, d, 9 * 60, 12 * 60), 0);
	}
	assert_int_equal(sla_calendar_add_hours(cal, SLA_SAT, 10 * 60, 16 * 60), 0);
	/* refused: overlapping, empty, reversed, past midnight, bad weekday */
	assert_int_equal(sla_calendar_add_hours(cal, SLA_MON, 11 * 60, 14 * 60), -1);
	assert_int_equal(sla_calendar_add_hours(cal, SLA_MON, 8 * 60, 8 * 60), -1);
	assert_int_equal(sla_calendar_add_hours(cal, SLA_MON, 8 * 60, 7 * 60), -1);
	assert_int_equal(sla_calendar_add_hours(cal, SLA_MON, 20 * 60, 24 * 60 + 1), -1);
	assert_int_equal(sla_calendar_add_hours(cal, 7, 9 * 60, 10 * 60), -1);
	/* touching is fine; the fifth interval of a day is one too many */
	assert_int_equal(sla_calendar_add_hours(cal, SLA_MON, 12 * 60, 12 * 60 + 30), 0);
	assert_int_equal(sla_calendar_add_hours(cal, SLA_MON, 20 * 60, 21 * 60), 0);
	assert_int_equal(sla_calendar_add_hours(cal, SLA_MON, 22 * 60, 23 * 60), -1);

	/* Tue 18 Jun 11:30 CST (03:30Z) + 1 h: 11:30-12:00, then 13:00-13:30
	 * CST = 05:30Z */
	assert_instant(sla_business_add(cal, utc(2024, 6, 18, 3, 30, 0), SLA_HOUR),
	               utc(2024, 6, 18, 5, 30, 0));
	/* Fri 21 Jun 17:00 CST (09:00Z) + 3 h: 1 h Fri, then Sat 22 Jun
	 * 10:00-12:00 CST: 04:00Z */
	assert_instant(sla_business_add(cal, utc(2024, 6, 21, 9, 0, 0), 3 * SLA_HOUR),
	               utc(2024, 6, 22, 4, 0, 0));
	/* Mon 17 Jun is 3 + 0.5 + 5 + 1 = 9.5 h: 00:00 CST (Sun 16:00Z) to
	 * Tue 00:00 CST */
	assert_ms(sla_business_between(cal, utc(2024, 6, 16, 16, 0, 0), utc(2024, 6, 17, 16, 0, 0)),
	          9 * SLA_HOUR + 30 * SLA_MINUTE);
	/* Mon 12:00-12:30 then 13:00 CST: 11:50 CST (03:50Z) + 40 min =
	 * 12:30 CST (04:30Z) exactly at the end of the short interval */
	assert_instant(sla_business_add(cal, utc(2024, 6, 17, 3, 50, 0), 40 * SLA_MINUTE),
	               utc(2024, 6, 17, 4, 30, 0));
	sla_calendar_free(cal);
}

/* China's 2024 National Day: 1-7 Oct closed, Sun 29 Sep and Sat 12 Oct
 * worked in their place. */
static void
test_holiday_and_makeup_day(void **state)
{
	struct sla_calendar *cal = cal_office("Asia/Shanghai");
	struct sla_calendar *plain = cal_office("Asia/Shanghai");

	(void)state;
	for (int d = 1; d <= 7; d++)
		assert_int_equal(sla_calendar_add_holiday(cal, 2024, 10, d), 0);
	assert_int_equal(sla_calendar_add_workday(cal, 2024, 9, 29, SLA_MON), 0);
	assert_int_equal(sla_calendar_add_workday(cal, 2024, 10, 12, SLA_MON), 0);
	assert_int_equal(sla_calendar_add_holiday(cal, 2024, 10, 3), 0); /* again: no-op */

	/* Mon 30 Sep 17:00 CST (09:00Z) + 2 h: 1 h on Mon, then Tue 8 Oct
	 * 09:00-10:00 CST: 02:00Z. Without holidays: Tue 1 Oct 02:00Z. */
	assert_instant(sla_business_add(cal, utc(2024, 9, 30, 9, 0, 0), 2 * SLA_HOUR),
	               utc(2024, 10, 8, 2, 0, 0));
	assert_instant(sla_business_add(plain, utc(2024, 9, 30, 9, 0, 0), 2 * SLA_HOUR),
	               utc(2024, 10, 1, 2, 0, 0));
	/* Fri 27 Sep 17:00 CST (09:00Z) + 2 h: 1 h on Fri, then Sun 29 Sep
	 * 09:00-10:00 CST (worked): 02:00Z. Without it: Mon 30 Sep 02:00Z. */
	assert_instant(sla_business_add(cal, utc(2024, 9, 27, 9, 0, 0), 2 * SLA_HOUR),
	               utc(2024, 9, 29, 2, 0, 0));
	assert_instant(sla_business_add(plain, utc(2024, 9, 27, 9, 0, 0), 2 * SLA_HOUR),
	               utc(2024, 9, 30, 2, 0, 0));
	/* Fri 27 Sep 00:00 CST to Mon 14 Oct 00:00 CST: worked are Fri 27,
	 * Sun 29, Mon 30, Tue 8 - Fri 11, Sat 12: 8 days x 9 h = 72 h */
	assert_ms(
	    sla_business_between(cal, utc(2024, 9, 26, 16, 0, 0), utc(2024, 10, 13, 16, 0, 0)),
	    72 * SLA_HOUR);

	/* a date is a holiday or a working day, not both; dates must exist */
	assert_int_equal(sla_calendar_add_holiday(cal, 2024, 9, 29), -1);
	assert_int_equal(sla_calendar_add_workday(cal, 2024, 10, 2, SLA_MON), -1);
	assert_int_equal(sla_calendar_add_holiday(cal, 2023, 2, 29), -1);
	assert_int_equal(sla_calendar_add_holiday(cal, 2024, 2, 30), -1);
	assert_int_equal(sla_calendar_add_holiday(cal, 2024, 13, 1), -1);
	assert_int_equal(sla_calendar_add_holiday(cal, 2024, 4, 0), -1);
	assert_int_equal(sla_calendar_add_workday(cal, 2024, 4, 6, 7), -1);
	assert_int_equal(sla_calendar_add_holiday(cal, 2024, 2, 29), 0);
	sla_calendar_free(cal);
	sla_calendar_free(plain);
}

/* Office hours across the spring change. */
static void
test_dst_spring_office(void **state)
{
	struct sla_calendar *cal = cal_office("Europe/Berlin");

	(void)state;
	/* Fri 29 Mar 17:00 CET (16:00Z) + 2 h: 1 h on Fri, then Mon 1 Apr
	 * 09:00-10:00 CEST: 08:00Z (09:00Z if summer time were ignored). */
	assert_instant(sla_business_add(cal, utc(2024, 3, 29, 16, 0, 0), 2 * SLA_HOUR),
	               utc(2024, 4, 1, 8, 0, 0));
	assert_ms(sla_business_between(cal, utc(2024, 3, 29, 16, 0, 0), utc(2024, 4, 1, 8, 0, 0)),
	          2 * SLA_HOUR);
	/* New York: Fri 8 Mar 17:00 EST (22:00Z) + 2 h: Mon 11 Mar 10:00 EDT
	 * = 14:00Z */
	sla_calendar_free(cal);
	cal = cal_office("America/New_York");
	assert_instant(sla_business_add(cal, utc(2024, 3, 8, 22, 0, 0), 2 * SLA_HOUR),
	               utc(2024, 3, 11, 14, 0, 0));
	sla_calendar_free(cal);
}

/* Office hours across the autumn change. */
static void
test_dst_fall_office(void **state)
{
	struct sla_calendar *cal = cal_office("Europe/Berlin");

	(void)state;
	/* Fri 25 Oct 17:00 CEST (15:00Z) + 2 h: Mon 28 Oct 10:00 CET = 09:00Z */
	assert_instant(sla_business_add(cal, utc(2024, 10, 25, 15, 0, 0), 2 * SLA_HOUR),
	               utc(2024, 10, 28, 9, 0, 0));
	sla_calendar_free(cal);
}

/* Hours that straddle the spring gap (02:00-03:00 does not exist). */
static void
test_dst_gap(void **state)
{
	struct sla_calendar *cal = cal_new("Europe/Berlin");
	struct sla_calendar *in_gap = cal_new("Europe/Berlin");
	struct sla_calendar *from_gap = cal_new("Europe/Berlin");
	int64_t sat = utc(2024, 3, 30, 0, 0, 0);

	(void)state;
	assert_int_equal(sla_calendar_add_hours(cal, SLA_SUN, 60, 4 * 60), 0);
	/* Sun 31 Mar [01:00 CET, 04:00 CEST) = [00:00Z, 02:00Z): 2 h */
	assert_ms(sla_business_between(cal, sat, utc(2024, 4, 1, 0, 0, 0)), 2 * SLA_HOUR);
	/* a week before, no change: [00:00Z, 03:00Z) on Sun 24 Mar: 3 h */
	assert_ms(sla_business_between(cal, utc(2024, 3, 23, 0, 0, 0), utc(2024, 3, 25, 0, 0, 0)),
	          3 * SLA_HOUR);
	/* 01:00 CET (00:00Z) + 90 min: the hour to 02:00 CET, then 30 min
	 * after the change at 01:00Z (03:00 CEST): 01:30Z */
	assert_instant(sla_business_add(cal, sat, 90 * SLA_MINUTE), utc(2024, 3, 31, 1, 30, 0));

	/* [02:15, 02:45) lies inside the gap: empty on 31 Mar, so 1 min lands
	 * on Sun 7 Apr 02:16 CEST = 00:16Z */
	assert_int_equal(sla_calendar_add_hours(in_gap, SLA_SUN, 2 * 60 + 15, 2 * 60 + 45), 0);
	assert_ms(sla_business_between(in_gap, sat, utc(2024, 4, 1, 0, 0, 0)), 0);
	assert_instant(sla_business_add(in_gap, sat, SLA_MINUTE), utc(2024, 4, 7, 0, 16, 0));
	/* on 24 Mar it is 30 min: 01:15Z-01:45Z */
	assert_ms(
	    sla_business_between(in_gap, utc(2024, 3, 23, 0, 0, 0), utc(2024, 3, 25, 0, 0, 0)),
	    30 * SLA_MINUTE);

	/* [02:30, 05:00) starts in the gap: from the change (01:00Z) to 05:00
	 * CEST (03:00Z): 2 h */
	assert_int_equal(sla_calendar_add_hours(from_gap, SLA_SUN, 2 * 60 + 30, 5 * 60), 0);
	assert_ms(sla_business_between(from_gap, sat, utc(2024, 4, 1, 0, 0, 0)), 2 * SLA_HOUR);
	assert_instant(sla_business_add(from_gap, sat, 1), utc(2024, 3, 31, 1, 0, 0) + 1);
	sla_calendar_free(cal);
	sla_calendar_free(in_gap);
	sla_calendar_free(from_gap);
}

/* Hours that straddle the autumn overlap (02:00-03:00 happens twice). */
static void
test_dst_overlap(void **state)
{
	struct sla_calendar *cal = cal_new("Europe/Berlin");
	struct sla_calendar *late = cal_new("Europe/Berlin");
	struct sla_calendar *early = cal_new("Europe/Berlin");
	struct sla_calendar *both = cal_new("Europe/Berlin");
	int64_t sat = utc(2024, 10, 26, 0, 0, 0), mon = utc(2024, 10, 28, 0, 0, 0);

	(void)state;
	/* Sun 27 Oct [01:00 CEST, 04:00 CET) = [Sat 23:00Z, 03:00Z): 4 h */
	assert_int_equal(sla_calendar_add_hours(cal, SLA_SUN, 60, 4 * 60), 0);
	assert_ms(sla_business_between(cal, sat, mon), 4 * SLA_HOUR);
	/* 23:00Z + 150 min = 01:30Z (02:30 CET, the second 02:30) */
	assert_instant(sla_business_add(cal, sat, 150 * SLA_MINUTE), utc(2024, 10, 27, 1, 30, 0));

	/* [02:30, 05:00): from the first 02:30 (CEST, 00:30Z) to 05:00 CET
	 * (04:00Z): 3.5 h */
	assert_int_equal(sla_calendar_add_hours(late, SLA_SUN, 2 * 60 + 30, 5 * 60), 0);
	assert_ms(sla_business_between(late, sat, mon), 3 * SLA_HOUR + 30 * SLA_MINUTE);
	assert_instant(sla_business_add(late, sat, 1), utc(2024, 10, 27, 0, 30, 0) + 1);

	/* [00:00, 02:30): from 00:00 CEST (Sat 22:00Z) to the first 02:30
	 * (CEST, 00:30Z): 2.5 h */
	assert_int_equal(sla_calendar_add_hours(early, SLA_SUN, 0, 2 * 60 + 30), 0);
	assert_ms(sla_business_between(early, sat, mon), 2 * SLA_HOUR + 30 * SLA_MINUTE);

	/* both: they touch at 00:30Z, so 00:00 CEST to 05:00 CET is 22:00Z to
	 * 04:00Z, 6 h, the repeated hour included once */
	assert_int_equal(sla_calendar_add_hours(both, SLA_SUN, 0, 2 * 60 + 30), 0);
	assert_int_equal(sla_calendar_add_hours(both, SLA_SUN, 2 * 60 + 30, 5 * 60), 0);
	assert_ms(sla_business_between(both, sat, mon), 6 * SLA_HOUR);
	assert_instant(sla_business_add(both, sat, 5 * SLA_HOUR), utc(2024, 10, 27, 3, 0, 0));
	sla_calendar_free(cal);
	sla_calendar_free(late);
	sla_calendar_free(early);
	sla_calendar_free(both);
}

/* Changes at midnight. Havana: 10 Mar 2024 00:00 CST -> 01:00 CDT (05:00Z),
 * so Sunday has no 00:00; 3 Nov 01:00 CDT -> 00:00 CST (05:00Z), so Sunday
 * 00:00-01:00 happens twice. Santiago: 7 Apr 2024 Sat 24:00 (-03) -> Sat
 * 23:00 (-04) at 03:00Z, so Saturday 23:00-24:00 happens twice. Hours: Sat
 * [20:00, 24:00) and Sun [00:00, 02:00). */
static void
test_dst_midnight(void **state)
{
	struct sla_calendar *hav = cal_new("America/Havana");
	struct sla_calendar *scl = cal_new("America/Santiago");

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct sla_calendar *cal = i ? scl : hav;

		assert_int_equal(sla_calendar_add_hours(cal, SLA_SAT, 20 * 60, 24 * 60), 0);
		assert_int_equal(sla_calendar_add_hours(cal, SLA_SUN, 0, 2 * 60), 0);
	}
	/* Havana spring: Sat 20:00 CST (Sun 01:00Z) to the change (05:00Z),
	 * where Sunday begins, to 02:00 CDT (06:00Z): 5 h without a seam */
	assert_ms(sla_business_between(hav, utc(2024, 3, 9, 0, 0, 0), utc(2024, 3, 11, 0, 0, 0)),
	          5 * SLA_HOUR);
	assert_instant(sla_business_add(hav, utc(2024, 3, 9, 12, 0, 0), 4 * SLA_HOUR + 1),
	               utc(2024, 3, 10, 5, 0, 0) + 1);
	/* Havana autumn: Sat 20:00 CDT (Sun 00:00Z) to the first Sunday 00:00
	 * (04:00Z), then to 02:00 CST (07:00Z): 7 h */
	assert_ms(sla_business_between(hav, utc(2024, 11, 2, 0, 0, 0), utc(2024, 11, 4, 0, 0, 0)),
	          7 * SLA_HOUR);
	/* 4.5 h after Saturday noon: Sunday 00:30 CDT, the first one (04:30Z) */
	assert_instant(
	    sla_business_add(hav, utc(2024, 11, 2, 12, 0, 0), 4 * SLA_HOUR + 30 * SLA_MINUTE),
	    utc(2024, 11, 3, 4, 30, 0));
	/* Santiago: Sat 20:00 -03 (23:00Z) to Sun 00:00 -04 (04:00Z), the
	 * repeated hour included: 5 h, then Sunday to 02:00 -04 (06:00Z) */
	assert_ms(sla_business_between(scl, utc(2024, 4, 6, 0, 0, 0), utc(2024, 4, 7, 4, 0, 0)),
	          5 * SLA_HOUR);
	assert_ms(sla_business_between(scl, utc(2024, 4, 6, 0, 0, 0), utc(2024, 4, 8, 0, 0, 0)),
	          7 * SLA_HOUR);
	assert_instant(sla_business_add(scl, utc(2024, 4, 6, 12, 0, 0), 6 * SLA_HOUR),
	               utc(2024, 4, 7, 5, 0, 0));
	sla_calendar_free(hav);
	sla_calendar_free(scl);
}

/* Around the clock, business time is wall time, 23 h and 25 h days too. */
static void
test_24x7(void **state)
{
	struct sla_calendar *cal = cal_new("America/New_York");
	uint64_t x = 88172645463325252u;

	(void)state;
	sla_calendar_set_24x7(cal);
	/* Sat 9 Mar 12:00 EST (17:00Z) to Sun 10 Mar 12:00 EDT (16:00Z): 23 h */
	assert_ms(sla_business_between(cal, utc(2024, 3, 9, 17, 0, 0), utc(2024, 3, 10, 16, 0, 0)),
	          23 * SLA_HOUR);
	assert_instant(sla_business_add(cal, utc(2024, 3, 9, 17, 0, 0), 23 * SLA_HOUR),
	               utc(2024, 3, 10, 16, 0, 0));
	/* Sat 2 Nov 12:00 EDT (16:00Z) to Sun 3 Nov 12:00 EST (17:00Z): 25 h */
	assert_ms(sla_business_between(cal, utc(2024, 11, 2, 16, 0, 0), utc(2024, 11, 3, 17, 0, 0)),
	          25 * SLA_HOUR);
	/* anywhere in 2024, for spans up to ten days */
	for (int i = 0; i < 2000; i++) {
		int64_t a, d;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		a = utc(2024, 1, 1, 0, 0, 0) + (int64_t)(x % (366 * (uint64_t)SLA_DAY));
		d = (int64_t)((x >> 20) % (10 * (uint64_t)SLA_DAY));
		assert_instant(sla_business_add(cal, a, d), a + d);
		assert_ms(sla_business_between(cal, a, a + d), d);
	}
	/* the supported range ends in 2100 */
	assert_instant(sla_business_add(cal, utc(2099, 12, 31, 12, 0, 0), SLA_DAY), SLA_NEVER);
	sla_calendar_free(cal);
}

/* No working time at all: never due, and the search ends. */
static void
test_no_working_time(void **state)
{
	struct sla_calendar *cal = cal_new("Asia/Shanghai");
	struct sla_calendar *mondays = cal_new("Asia/Shanghai");
	int64_t t = utc(2024, 6, 17, 1, 0, 0);

	(void)state;
	assert_instant(sla_business_add(cal, t, 1), SLA_NEVER);
	assert_ms(sla_business_between(cal, t, t + 365 * SLA_DAY), 0);
	/* a make-up day with the hours of a weekday that has none: still closed */
	assert_int_equal(sla_calendar_add_workday(cal, 2024, 6, 22, SLA_MON), 0);
	assert_instant(sla_business_add(cal, t, 1), SLA_NEVER);
	/* one hour a week: 10,000 h would take 190 years, past the walk limit */
	assert_int_equal(sla_calendar_add_hours(mondays, SLA_MON, 9 * 60, 10 * 60), 0);
	assert_instant(sla_business_add(mondays, t, 10000 * SLA_HOUR), SLA_NEVER);
	/* 3 h: Mon 17, 24 Jun, 1 Jul 09:00-10:00 CST: ends 1 Jul 02:00Z */
	assert_instant(sla_business_add(mondays, utc(2024, 6, 17, 0, 0, 0), 3 * SLA_HOUR),
	               utc(2024, 7, 1, 2, 0, 0));
	sla_calendar_free(cal);
	sla_calendar_free(mondays);
}

/* between(s, add(s, d)) == d, and add gives the first such instant, over a
 * calendar with breaks, holidays, a make-up day and both DST changes. */
static void
test_add_between_agree(void **state)
{
	struct sla_calendar *cal = cal_new("Europe/Berlin");
	uint64_t x = 0x9e3779b97f4a7c15u;

	(void)state;
	for (int d = SLA_MON; d <= SLA_FRI; d++) {
		assert_int_equal(sla_calendar_add_hours(cal, d, 8 * 60, 12 * 60), 0);
		assert_int_equal(sla_calendar_add_hours(cal, d, 13 * 60, 17 * 60 + 30), 0);
	}
	assert_int_equal(sla_calendar_add_hours(cal, SLA_SUN, 0, 2 * 60 + 30), 0);
	assert_int_equal(sla_calendar_add_hours(cal, SLA_SUN, 2 * 60 + 30, 5 * 60), 0);
	assert_int_equal(sla_calendar_add_hours(cal, SLA_SAT, 22 * 60, 24 * 60), 0);
	assert_int_equal(sla_calendar_add_holiday(cal, 2024, 3, 29), 0);
	assert_int_equal(sla_calendar_add_holiday(cal, 2024, 4, 1), 0);
	assert_int_equal(sla_calendar_add_holiday(cal, 2024, 12, 25), 0);
	assert_int_equal(sla_calendar_add_workday(cal, 2024, 10, 26, SLA_FRI), 0);
	for (int i = 0; i < 3000; i++) {
		int64_t s, d, e;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		s = utc(2024, 1, 1, 0, 0, 0) + (int64_t)(x % (366 * (uint64_t)SLA_DAY));
		d = 1 + (int64_t)((x >> 24) % (60 * (uint64_t)SLA_HOUR));
		e = sla_business_add(cal, s, d);
		assert_true(e > s);
		assert_ms(sla_business_between(cal, s, e), d);
		assert_ms(sla_business_between(cal, s, e - 1), d - 1);
	}
	sla_calendar_free(cal);
}

/* Warning at 80 %, then breach, to the millisecond, across a night. */
static void
test_clock_warning_then_breach(void **state)
{
	struct sla_calendar *cal = cal_office("Asia/Shanghai");
	const struct sla_target t = {15 * SLA_MINUTE, SLA_BUSINESS};
	/* Mon 17 Jun 17:50:00.123 CST = 09:50:00.123Z; 9 min 59.877 s
	 * (599,877 ms) count before 18:00. Warning at 720,000 ms: 120,123 ms
	 * after Tue 09:00 CST = Tue 09:02:00.123 CST = 01:02:00.123Z. Breach
	 * at 900,000 ms: 300,123 ms after = 09:05:00.123 CST = 01:05:00.123Z. */
	int64_t start = utc(2024, 6, 17, 9, 50, 0) + 123;
	int64_t warn = utc(2024, 6, 18, 1, 2, 0) + 123;
	int64_t due = utc(2024, 6, 18, 1, 5, 0) + 123;
	struct sla_clock c = {0}, late;
	struct sla_status st;
	int64_t next;

	(void)state;
	assert_int_equal(sla_clock_start(&c, &t, 80, start), 0);
	late = c;
	assert_instant(sla_clock_next(&c, cal, start), warn);
	assert_int_equal(sla_clock_advance(&c, cal, start, &next), 0);
	assert_instant(next, warn);

	/* at night: the count stands still */
	sla_clock_status(&c, cal, utc(2024, 6, 17, 15, 0, 0), &st);
	assert_int_equal(st.level, SLA_OK);
	assert_ms(st.elapsed_ms, 599877);
	assert_instant(st.due_ms, due);

	sla_clock_status(&c, cal, warn - 1, &st);
	assert_int_equal(st.level, SLA_OK);
	assert_ms(st.remaining_ms, 180001);
	sla_clock_status(&c, cal, warn, &st);
	assert_int_equal(st.level, SLA_WARNING);
	assert_ms(st.elapsed_ms, 720000);
	assert_ms(st.remaining_ms, 180000);
	assert_int_equal(sla_clock_advance(&c, cal, warn, &next), SLA_EV_WARNING);
	assert_instant(next, due);
	assert_int_equal(sla_clock_advance(&c, cal, warn + 5, &next), 0);

	sla_clock_status(&c, cal, due - 1, &st);
	assert_int_equal(st.level, SLA_WARNING);
	assert_ms(st.remaining_ms, 1);
	assert_ms(st.overdue_ms, 0);
	sla_clock_status(&c, cal, due, &st);
	assert_int_equal(st.level, SLA_BREACHED);
	assert_ms(st.remaining_ms, 0);
	assert_ms(st.overdue_ms, 0);
	sla_clock_status(&c, cal, due + 1500, &st);
	assert_ms(st.overdue_ms, 1500);
	assert_instant(st.due_ms, due);
	assert_int_equal(sla_clock_advance(&c, cal, due, &next), SLA_EV_BREACH);
	assert_instant(next, SLA_NEVER);
	assert_int_equal(sla_clock_advance(&c, cal, due + 1, &next), 0);

	/* a timer that slept through both reports both at once */
	assert_int_equal(sla_clock_advance(&late, cal, due + 10, &next),
	                 SLA_EV_WARNING | SLA_EV_BREACH);
	assert_string_equal(sla_level_name(SLA_BREACHED), "breached");
	sla_calendar_free(cal);
}

/* Pending on the customer overnight: paused time does not count, and the
 * due instant moves on resume. */
static void
test_clock_pause_overnight(void **state)
{
	struct sla_calendar *cal = cal_office("Asia/Shanghai");
	const struct sla_target t = {4 * SLA_HOUR, SLA_BUSINESS};
	struct sla_clock c = {0};
	struct sla_status st;

	(void)state;
	/* started Mon 17 Jun 16:00 CST (08:00Z): due Tue 11:00 CST (03:00Z) */
	assert_int_equal(sla_clock_start(&c, &t, 80, utc(2024, 6, 17, 8, 0, 0)), 0);
	sla_clock_status(&c, cal, utc(2024, 6, 17, 8, 0, 0), &st);
	assert_instant(st.due_ms, utc(2024, 6, 18, 3, 0, 0));
	/* paused at 17:00 CST (09:00Z) after 1 h */
	assert_int_equal(sla_clock_pause(&c, cal, utc(2024, 6, 17, 9, 0, 0)), 0);
	assert_int_equal(sla_clock_pause(&c, cal, utc(2024, 6, 17, 9, 0, 0)), -1);
	sla_clock_status(&c, cal, utc(2024, 6, 18, 2, 0, 0), &st); /* Tue 10:00 CST */
	assert_ms(st.elapsed_ms, SLA_HOUR);
	assert_int_equal(st.level, SLA_OK);
	assert_instant(st.due_ms, SLA_NEVER);
	assert_instant(sla_clock_next(&c, cal, utc(2024, 6, 18, 2, 0, 0)), SLA_NEVER);
	/* resumed Tue 11:00 CST (03:00Z): 3 h left, due 14:00 CST (06:00Z);
	 * warning at 3.2 h, 2.2 h on: 13:12 CST (05:12Z) */
	assert_int_equal(sla_clock_resume(&c, utc(2024, 6, 18, 3, 0, 0)), 0);
	assert_int_equal(sla_clock_resume(&c, utc(2024, 6, 18, 3, 0, 0)), -1);
	sla_clock_status(&c, cal, utc(2024, 6, 18, 3, 0, 0), &st);
	assert_instant(st.due_ms, utc(2024, 6, 18, 6, 0, 0));
	assert_instant(sla_clock_next(&c, cal, utc(2024, 6, 18, 3, 0, 0)),
	               utc(2024, 6, 18, 5, 12, 0));
	/* paused Tue 13:00 CST (05:00Z) at 3 h; resumed at 20:00 CST (12:00Z,
	 * closed): 1 h left from Wed 09:00 CST: due 10:00 CST (02:00Z) */
	assert_int_equal(sla_clock_pause(&c, cal, utc(2024, 6, 18, 5, 0, 0)), 0);
	assert_int_equal(sla_clock_resume(&c, utc(2024, 6, 18, 12, 0, 0)), 0);
	sla_clock_status(&c, cal, utc(2024, 6, 18, 12, 0, 0), &st);
	assert_ms(st.elapsed_ms, 3 * SLA_HOUR);
	assert_int_equal(st.level, SLA_OK); /* 3 h < 3.2 h */
	assert_instant(st.due_ms, utc(2024, 6, 19, 2, 0, 0));
	/* resolved Wed 09:30 CST (01:30Z): 3.5 h, met on time (warned) */
	assert_int_equal(sla_clock_stop(&c, cal, utc(2024, 6, 19, 1, 30, 0)), 0);
	assert_int_equal(c.state, SLA_CLOCK_STOPPED);
	sla_clock_status(&c, cal, utc(2024, 6, 20, 0, 0, 0), &st);
	assert_ms(st.elapsed_ms, 3 * SLA_HOUR + 30 * SLA_MINUTE);
	assert_int_equal(st.level, SLA_WARNING);
	assert_ms(st.remaining_ms, 30 * SLA_MINUTE);
	assert_instant(st.due_ms, SLA_NEVER);
	assert_instant(sla_clock_next(&c, cal, utc(2024, 6, 19, 1, 30, 0)), SLA_NEVER);
	assert_int_equal(sla_clock_stop(&c, cal, utc(2024, 6, 19, 1, 30, 0)), -1);
	assert_int_equal(sla_clock_resume(&c, utc(2024, 6, 19, 1, 30, 0)), -1);
	sla_calendar_free(cal);
}

/* A pause taken after closing counts only up to closing. */
static void
test_clock_pause_after_hours(void **state)
{
	struct sla_calendar *cal = cal_office("Asia/Shanghai");
	const struct sla_target t = {2 * SLA_HOUR, SLA_BUSINESS};
	struct sla_clock c = {0};
	struct sla_status st;

	(void)state;
	/* Mon 17:00 CST (09:00Z) to a pause at 20:00 CST (12:00Z): 1 h */
	assert_int_equal(sla_clock_start(&c, &t, 0, utc(2024, 6, 17, 9, 0, 0)), 0);
	assert_int_equal(sla_clock_pause(&c, cal, utc(2024, 6, 17, 12, 0, 0)), 0);
	assert_ms(c.elapsed_ms, SLA_HOUR);
	/* resumed Tue 08:00 CST (00:00Z): due Tue 10:00 CST (02:00Z); no
	 * warning configured, so the next event is the breach */
	assert_int_equal(sla_clock_resume(&c, utc(2024, 6, 18, 0, 0, 0)), 0);
	assert_instant(sla_clock_next(&c, cal, utc(2024, 6, 18, 0, 0, 0)),
	               utc(2024, 6, 18, 2, 0, 0));
	sla_clock_status(&c, cal, utc(2024, 6, 18, 1, 59, 0), &st);
	assert_int_equal(st.level, SLA_OK);
	sla_calendar_free(cal);
}

/* A breach inside a stretch is kept when the clock pauses or stops late. */
static void
test_clock_late(void **state)
{
	const struct sla_target t = {SLA_HOUR, SLA_WALL};
	int64_t t0 = utc(2024, 6, 15, 19, 0, 0); /* Sun 03:00 CST: wall time */
	struct sla_clock c = {0};
	struct sla_status st;
	int64_t next;

	(void)state;
	assert_int_equal(sla_clock_start(&c, &t, 50, t0), 0);
	assert_instant(sla_clock_next(&c, NULL, t0), t0 + 30 * SLA_MINUTE);
	assert_int_equal(sla_clock_pause(&c, NULL, t0 + 90 * SLA_MINUTE), 0);
	sla_clock_status(&c, NULL, t0 + 5 * SLA_HOUR, &st);
	assert_int_equal(st.level, SLA_BREACHED);
	assert_ms(st.overdue_ms, 30 * SLA_MINUTE);
	assert_instant(st.due_ms, t0 + SLA_HOUR);
	/* paused clocks change no level; crossings are still reported once */
	assert_int_equal(sla_clock_advance(&c, NULL, t0 + 5 * SLA_HOUR, &next),
	                 SLA_EV_WARNING | SLA_EV_BREACH);
	assert_instant(next, SLA_NEVER);
	assert_int_equal(sla_clock_resume(&c, t0 + 3 * SLA_HOUR), 0);
	assert_instant(sla_clock_next(&c, NULL, t0 + 3 * SLA_HOUR), SLA_NEVER);
	assert_int_equal(sla_clock_stop(&c, NULL, t0 + 3 * SLA_HOUR + 10 * SLA_MINUTE), 0);
	sla_clock_status(&c, NULL, t0 + 9 * SLA_HOUR, &st);
	assert_ms(st.elapsed_ms, 100 * SLA_MINUTE);
	assert_ms(st.overdue_ms, 40 * SLA_MINUTE);
	assert_instant(st.due_ms, t0 + SLA_HOUR);
	assert_int_equal(sla_clock_advance(&c, NULL, t0 + 9 * SLA_HOUR, &next), 0);
}

/* A wall-clock target runs through closed time; a business one does not. */
static void
test_clock_wall_basis(void **state)
{
	struct sla_calendar *cal = cal_office("Asia/Shanghai");
	size_t n;
	const struct sla_policy *tab = sla_policy_defaults(&n);
	const struct sla_policy *call =
	    sla_policy_match(tab, n, SLA_KIND_CALL, 0, 5, SLA_CHANNEL_PHONE);
	int64_t t0 = utc(2024, 6, 15, 19, 0, 0); /* Sun 16 Jun 03:00 CST */
	struct sla_clock c = {0};

	(void)state;
	assert_non_null(call);
	/* 20 s, warning at 16 s, though the office is closed */
	assert_int_equal(sla_clock_start(&c, &call->target[SLA_FIRST_RESPONSE], call->warn_pct, t0),
	                 0);
	assert_instant(sla_clock_next(&c, cal, t0), t0 + 16000);
	assert_instant(sla_clock_next(&c, cal, t0 + 16000), t0 + 20000);
	/* the same target in business time: warning Mon 17 Jun 09:00:16 CST
	 * (01:00:16Z), breach 09:00:20 CST */
	c.basis = SLA_BUSINESS;
	assert_instant(sla_clock_next(&c, cal, t0 + 16000), utc(2024, 6, 17, 1, 0, 16));
	assert_instant(sla_clock_next(&c, cal, utc(2024, 6, 17, 1, 0, 16)),
	               utc(2024, 6, 17, 1, 0, 20));
	sla_calendar_free(cal);
}

/* A restart (the next response cycle) forgets the last one; bad targets
 * and transitions are refused. */
static void
test_clock_restart_and_refusals(void **state)
{
	const struct sla_target t = {10 * SLA_MINUTE, SLA_WALL};
	const struct sla_target none = {0, SLA_BUSINESS};
	const struct sla_target huge = {SLA_MAX_TARGET + 1, SLA_WALL};
	struct sla_clock c = {0};
	struct sla_status st;
	int64_t t0 = utc(2024, 6, 17, 2, 0, 0), next;

	(void)state;
	sla_clock_status(&c, NULL, t0, &st);
	assert_int_equal(st.level, SLA_OK);
	assert_instant(st.due_ms, SLA_NEVER);
	assert_int_equal(sla_clock_pause(&c, NULL, t0), -1);
	assert_int_equal(sla_clock_stop(&c, NULL, t0), -1);
	assert_int_equal(sla_clock_start(&c, &none, 80, t0), -1);
	assert_int_equal(sla_clock_start(&c, &huge, 80, t0), -1);
	assert_int_equal(c.state, SLA_CLOCK_IDLE);

	assert_int_equal(sla_clock_start(&c, &t, 80, t0), 0);
	assert_int_equal(sla_clock_advance(&c, NULL, t0 + 11 * SLA_MINUTE, &next),
	                 SLA_EV_WARNING | SLA_EV_BREACH);
	assert_int_equal(sla_clock_stop(&c, NULL, t0 + 12 * SLA_MINUTE), 0);
	/* the customer writes again: a new cycle from t1 */
	int64_t t1 = t0 + SLA_HOUR;
	assert_int_equal(sla_clock_start(&c, &t, 80, t1), 0);
	assert_int_equal(c.notified, 0);
	assert_ms(c.elapsed_ms, 0);
	assert_instant(sla_clock_next(&c, NULL, t1), t1 + 8 * SLA_MINUTE);
	assert_int_equal(sla_clock_advance(&c, NULL, t1 + 8 * SLA_MINUTE, &next), SLA_EV_WARNING);
	/* now going backwards (a clock step) counts nothing */
	sla_clock_status(&c, NULL, t1 - SLA_MINUTE, &st);
	assert_ms(st.elapsed_ms, 0);
}

/* The defaults say what the domain promises. */
static void
test_policy_defaults(void **state)
{
	size_t n;
	const struct sla_policy *tab = sla_policy_defaults(&n);
	const struct sla_policy *p;
	static const enum sla_kind kinds[] = {SLA_KIND_CALL, SLA_KIND_COMPLAINT, SLA_KIND_INQUIRY,
	                                      SLA_KIND_REFUND};

	(void)state;
	p = sla_policy_match(tab, n, SLA_KIND_COMPLAINT, 1, 5, SLA_CHANNEL_PHONE);
	assert_string_equal(p->name, "complaint-1");
	assert_ms(p->target[SLA_FIRST_RESPONSE].ms, 15 * SLA_MINUTE);
	assert_int_equal(p->target[SLA_FIRST_RESPONSE].basis, SLA_BUSINESS);
	assert_ms(p->target[SLA_RESOLUTION].ms, 4 * SLA_HOUR);
	assert_int_equal(p->warn_pct, 80);
	p = sla_policy_match(tab, n, SLA_KIND_COMPLAINT, 0, 5, SLA_CHANNEL_WEB);
	assert_string_equal(p->name, "complaint");
	p = sla_policy_match(tab, n, SLA_KIND_REFUND, 0, 5, SLA_CHANNEL_WEB);
	assert_ms(p->target[SLA_RESOLUTION].ms, 48 * SLA_HOUR);
	assert_int_equal(p->target[SLA_RESOLUTION].basis, SLA_WALL);
	p = sla_policy_match(tab, n, SLA_KIND_INQUIRY, 0, 5, SLA_CHANNEL_CHAT);
	assert_string_equal(p->name, "inquiry-chat");
	p = sla_policy_match(tab, n, SLA_KIND_INQUIRY, 0, 5, SLA_CHANNEL_SMS);
	assert_string_equal(p->name, "inquiry");
	p = sla_policy_match(tab, n, SLA_KIND_CALL, 0, 5, SLA_CHANNEL_PHONE);
	assert_ms(p->target[SLA_FIRST_RESPONSE].ms, 20000);
	assert_int_equal(p->target[SLA_FIRST_RESPONSE].basis, SLA_WALL);
	assert_ms(p->target[SLA_NEXT_RESPONSE].ms, 0);
	/* every ticket the schema allows finds a row, with sane targets */
	for (size_t k = 0; k < 4; k++)
		for (int ch = SLA_CHANNEL_PHONE; ch <= SLA_CHANNEL_SMS; ch++)
			for (int sev = 0; sev <= 4; sev++) {
				p = sla_policy_match(tab, n, kinds[k], sev, 5, ch);
				assert_non_null(p);
				assert_true(p->target[SLA_RESOLUTION].ms > 0);
				assert_true(p->target[SLA_FIRST_RESPONSE].ms <=
				            p->target[SLA_RESOLUTION].ms);
				assert_true(p->warn_pct > 0 && p->warn_pct < 100);
			}
	/* graver complaints are answered and resolved sooner */
	for (int sev = 1; sev < 4; sev++) {
		const struct sla_policy *a =
		    sla_policy_match(tab, n, SLA_KIND_COMPLAINT, sev, 5, SLA_CHANNEL_WEB);
		const struct sla_policy *b =
		    sla_policy_match(tab, n, SLA_KIND_COMPLAINT, sev + 1, 5, SLA_CHANNEL_WEB);

		assert_true(a->target[SLA_FIRST_RESPONSE].ms < b->target[SLA_FIRST_RESPONSE].ms);
		assert_true(a->target[SLA_RESOLUTION].ms < b->target[SLA_RESOLUTION].ms);
	}
}

#define ROW(nm, k, sev, pmin, pmax, ch)                                                            \
	{                                                                                          \
		nm, k, sev, pmin, pmax, ch, {{SLA_HOUR, SLA_BUSINESS}}, 80                         \
	}

/* Most specific wins; kind, then severity, then priority, then channel;
 * ties go to the earlier row. */
static void
test_policy_precedence(void **state)
{
	static const struct sla_policy tab[] = {
	    ROW("any", SLA_KIND_ANY, 0, 0, 0, SLA_CHANNEL_ANY),
	    ROW("complaint", SLA_KIND_COMPLAINT, 0, 0, 0, SLA_CHANNEL_ANY),
	    ROW("complaint-phone", SLA_KIND_COMPLAINT, 0, 0, 0, SLA_CHANNEL_PHONE),
	    ROW("complaint-1", SLA_KIND_COMPLAINT, 1, 0, 0, SLA_CHANNEL_ANY),
	    ROW("complaint-1-web", SLA_KIND_COMPLAINT, 1, 0, 0, SLA_CHANNEL_WEB),
	    ROW("urgent", SLA_KIND_ANY, 0, 1, 2, SLA_CHANNEL_ANY),
	    ROW("complaint-1-again", SLA_KIND_COMPLAINT, 1, 0, 0, SLA_CHANNEL_ANY),
	    ROW("phone", SLA_KIND_ANY, 0, 0, 0, SLA_CHANNEL_PHONE),
	    ROW("low", SLA_KIND_INQUIRY, 0, 8, 0, SLA_CHANNEL_ANY),
	};
	static const struct {
		enum sla_kind kind;
		int sev, prio;
		enum sla_channel ch;
		const char *want;
	} cases[] = {
	    {SLA_KIND_COMPLAINT, 1, 5, SLA_CHANNEL_WEB, "complaint-1-web"},
	    /* severity beats channel; the earlier of two equal rows */
	    {SLA_KIND_COMPLAINT, 1, 5, SLA_CHANNEL_PHONE, "complaint-1"},
	    {SLA_KIND_COMPLAINT, 2, 5, SLA_CHANNEL_PHONE, "complaint-phone"},
	    {SLA_KIND_COMPLAINT, 2, 5, SLA_CHANNEL_EMAIL, "complaint"},
	    /* kind beats everything after it */
	    {SLA_KIND_COMPLAINT, 2, 1, SLA_CHANNEL_PHONE, "complaint-phone"},
	    /* priority beats channel */
	    {SLA_KIND_INQUIRY, 0, 1, SLA_CHANNEL_PHONE, "urgent"},
	    {SLA_KIND_INQUIRY, 0, 2, SLA_CHANNEL_SMS, "urgent"},
	    {SLA_KIND_INQUIRY, 0, 3, SLA_CHANNEL_PHONE, "phone"},
	    {SLA_KIND_CALL, 0, 5, SLA_CHANNEL_CHAT, "any"},
	    /* an open-ended range: priority 8 and above */
	    {SLA_KIND_INQUIRY, 0, 7, SLA_CHANNEL_WEB, "any"},
	    {SLA_KIND_INQUIRY, 0, 8, SLA_CHANNEL_WEB, "low"},
	    {SLA_KIND_INQUIRY, 0, 200, SLA_CHANNEL_WEB, "low"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct sla_policy *p =
		    sla_policy_match(tab, sizeof tab / sizeof tab[0], cases[i].kind, cases[i].sev,
		                     cases[i].prio, cases[i].ch);

		assert_non_null(p);
		if (strcmp(p->name, cases[i].want) != 0)
			fail_msg("case %zu: got %s, expected %s", i, p->name, cases[i].want);
	}
	/* no wildcard row: no match */
	assert_null(sla_policy_match(&tab[1], 4, SLA_KIND_INQUIRY, 0, 5, SLA_CHANNEL_WEB));
	assert_null(sla_policy_match(tab, 0, SLA_KIND_INQUIRY, 0, 5, SLA_CHANNEL_WEB));
}

/* Names as stored in the tickets table. */
static void
test_names(void **state)
{
	enum sla_kind k;
	enum sla_channel ch;

	(void)state;
	assert_int_equal(sla_kind_parse("return_refund", &k), 0);
	assert_int_equal(k, SLA_KIND_REFUND);
	assert_string_equal(sla_kind_name(SLA_KIND_COMPLAINT), "complaint");
	assert_int_equal(sla_kind_parse("*", &k), 0);
	assert_int_equal(k, SLA_KIND_ANY);
	assert_int_equal(sla_kind_parse("refund", &k), -1);
	assert_int_equal(sla_channel_parse("sms", &ch), 0);
	assert_int_equal(ch, SLA_CHANNEL_SMS);
	assert_string_equal(sla_channel_name(SLA_CHANNEL_EMAIL), "email");
	assert_int_equal(sla_channel_parse("Phone", &ch), -1);
	assert_string_equal(sla_metric_name(SLA_NEXT_RESPONSE), "next_response");
	assert_string_equal(sla_kind_name((enum sla_kind)42), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tz_invalid),
	    cmocka_unit_test(test_tz_restored),
	    cmocka_unit_test(test_offsets),
	    cmocka_unit_test(test_weekend),
	    cmocka_unit_test(test_start_outside_hours),
	    cmocka_unit_test(test_split_hours),
	    cmocka_unit_test(test_holiday_and_makeup_day),
	    cmocka_unit_test(test_dst_spring_office),
	    cmocka_unit_test(test_dst_fall_office),
	    cmocka_unit_test(test_dst_gap),
	    cmocka_unit_test(test_dst_overlap),
	    cmocka_unit_test(test_dst_midnight),
	    cmocka_unit_test(test_24x7),
	    cmocka_unit_test(test_no_working_time),
	    cmocka_unit_test(test_add_between_agree),
	    cmocka_unit_test(test_clock_warning_then_breach),
	    cmocka_unit_test(test_clock_pause_overnight),
	    cmocka_unit_test(test_clock_pause_after_hours),
	    cmocka_unit_test(test_clock_late),
	    cmocka_unit_test(test_clock_wall_basis),
	    cmocka_unit_test(test_clock_restart_and_refusals),
	    cmocka_unit_test(test_policy_defaults),
	    cmocka_unit_test(test_policy_precedence),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
