/* test_rfm.c: RFM scores, segments and value tiers (server/rfm.c), and the
 * contact normalisers the customer lookups and the import share
 * (server/contact.c). Each expected score is worked out from the default
 * thresholds in rfm.h: recency 30/90/180/365 days, frequency 2/3/5/10 kept
 * orders, monetary 500/2,000/5,000/15,000 yuan (in fen). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "contact.h"
#include "rfm.h"

#define DAY 86400
/* 2024-06-01T00:00:00Z */
#define NOW ((int64_t)1717200000)

static void
score(int64_t kept, int64_t net_yuan, int64_t last_days_ago, int64_t first_days_ago,
      struct rfm_result *r)
{
	struct rfm_orders o = {
	    .orders = kept,
	    .kept = kept,
	    .net_minor = net_yuan * 100,
	    .last_kept_at = kept ? NOW - last_days_ago * DAY : 0,
	    .first_at = kept ? NOW - first_days_ago * DAY : 0,
	};
	rfm_score(&o, &rfm_default_thresholds, NOW, r);
}

static void
test_score_boundaries(void **state)
{
	struct rfm_result r;

	(void)state;
	/* recency: 30 days is still 5, 31 is 4; 365 is 2, 366 is 1 */
	score(1, 10, 30, 400, &r);
	assert_int_equal(r.recency, 5);
	score(1, 10, 31, 400, &r);
	assert_int_equal(r.recency, 4);
	score(1, 10, 90, 400, &r);
	assert_int_equal(r.recency, 4);
	score(1, 10, 180, 400, &r);
	assert_int_equal(r.recency, 3);
	score(1, 10, 365, 400, &r);
	assert_int_equal(r.recency, 2);
	score(1, 10, 366, 400, &r);
	assert_int_equal(r.recency, 1);
	/* 30 days less one second is day 29: still 5 */
	struct rfm_orders o = {1, 1, 100, NOW - 31 * DAY + 1, NOW - 40 * DAY};
	rfm_score(&o, &rfm_default_thresholds, NOW, &r);
	assert_int_equal(r.recency, 5);
	/* an order stamped in the future counts as today */
	o.last_kept_at = NOW + 3600;
	rfm_score(&o, &rfm_default_thresholds, NOW, &r);
	assert_int_equal(r.recency, 5);

	/* frequency: 1 -> 1, 2 -> 2, 4 -> 3, 5 -> 4, 9 -> 4, 10 -> 5 */
	const int64_t kept[] = {1, 2, 3, 4, 5, 9, 10, 500};
	const int f[] = {1, 2, 3, 3, 4, 4, 5, 5};
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		score(kept[i], 10, 1, 400, &r);
		assert_int_equal(r.frequency, f[i]);
	}
	/* monetary: 499.99 -> 1, 500 -> 2, 1,999 -> 2, 2,000 -> 3, 5,000 -> 4, 15,000 -> 5 */
	struct rfm_orders m = {1, 1, 49999, NOW - DAY, NOW - 400 * DAY};
	rfm_score(&m, &rfm_default_thresholds, NOW, &r);
	assert_int_equal(r.monetary, 1);
	const int64_t yuan[] = {500, 1999, 2000, 4999, 5000, 15000, 1000000};
	const int ms[] = {2, 2, 3, 3, 4, 5, 5};
	for (size_t i = 0; i < sizeof yuan / sizeof yuan[0]; i++) {
		score(1, yuan[i], 1, 400, &r);
		assert_int_equal(r.monetary, ms[i]);
	}
}

static void
test_no_orders(void **state)
{
	struct rfm_result r;

	(void)state;
	score(0, 0, 0, 0, &r);
	assert_int_equal(r.recency, 0);
	assert_int_equal(r.frequency, 0);
	assert_int_equal(r.monetary, 0);
	assert_string_equal(r.segment, "prospect");
	assert_string_equal(r.tier, "potential");
	/* orders that were all refunded: not kept, still a prospect */
	struct rfm_orders o = {.orders = 2, .kept = 0, .net_minor = 0, .first_at = NOW - DAY};
	rfm_score(&o, &rfm_default_thresholds, NOW, &r);
	assert_string_equal(r.segment, "prospect");
	assert_string_equal(r.tier, "potential");
}

/* Every cell of the R x F grid against the table in rfm.h. */
static void
test_segment_grid(void **state)
{
	static const char *const grid[5][5] = {
	    /* F=1          F=2            F=3        F=4        F=5 */
	    {"lost", "lost", "at_risk", "at_risk", "at_risk"},               /* R=1 */
	    {"hibernating", "hibernating", "at_risk", "at_risk", "at_risk"}, /* R=2 */
	    {"potential", "potential", "potential", "loyal", "loyal"},       /* R=3 */
	    {"new", "potential", "potential", "champions", "champions"},     /* R=4 */
	    {"new", "potential", "potential", "champions", "champions"},     /* R=5 */
	};

	(void)state;
	for (int r = 1; r <= 5; r++)
		for (int f = 1; f <= 5; f++)
			assert_string_equal(rfm_segment(r, f), grid[r - 1][f - 1]);
	assert_string_equal(rfm_segment(0, 3), "prospect");
}

static void
test_tiers(void **state)
{
	struct rfm_result r;

	(void)state;
	/* first order 10 days ago: new, whatever else */
	score(12, 20000, 1, 10, &r);
	assert_string_equal(r.tier, "new");
	assert_string_equal(r.segment, "champions");
	/* 89 days: still new; 90 days: no longer */
	score(1, 100, 89, 89, &r);
	assert_string_equal(r.tier, "new");
	score(1, 100, 90, 90, &r);
	assert_string_equal(r.tier, "regular");
	/* F 4, M 4, R 3 (120 days): loyal even before a year */
	score(5, 5000, 120, 200, &r);
	assert_int_equal(r.recency, 3);
	assert_string_equal(r.tier, "loyal");
	assert_string_equal(r.segment, "loyal");
	/* the same customer gone quiet (R 2): old, at risk */
	score(5, 5000, 200, 400, &r);
	assert_string_equal(r.tier, "old");
	assert_string_equal(r.segment, "at_risk");
	/* high spend but only 4 orders (F 3): not loyal */
	score(4, 50000, 5, 200, &r);
	assert_string_equal(r.tier, "regular");
	/* a year and more since the first order: old */
	score(2, 300, 20, 365, &r);
	assert_string_equal(r.tier, "old");
	assert_string_equal(r.segment, "potential");
}

/* Thresholds are data: a stricter table changes the scores. */
static void
test_custom_thresholds(void **state)
{
	struct rfm_thresholds t = rfm_default_thresholds;
	struct rfm_orders o = {3, 3, 300000, NOW - 10 * DAY, NOW - 100 * DAY};
	struct rfm_result r;

	(void)state;
	rfm_score(&o, &t, NOW, &r);
	assert_int_equal(r.recency, 5);
	assert_int_equal(r.frequency, 3);
	assert_int_equal(r.monetary, 3);
	t.recency_days[0] = 7;
	t.frequency[1] = 4;
	t.monetary_minor[1] = 400000;
	rfm_score(&o, &t, NOW, &r);
	assert_int_equal(r.recency, 4);
	assert_int_equal(r.frequency, 2);
	assert_int_equal(r.monetary, 2);
}

static void
check_phone(const char *in, const char *want)
{
	char out[CONTACT_PHONE_MAX];

	if (want == NULL) {
		if (contact_phone_normalize(in, "86", out, sizeof out) == 0)
			fail_msg("\"%s\" normalised to \"%s\", expected a refusal", in, out);
		return;
	}
	if (contact_phone_normalize(in, "86", out, sizeof out) != 0)
		fail_msg("\"%s\" refused, expected \"%s\"", in, want);
	assert_string_equal(out, want);
}

static void
test_phone(void **state)
{
	(void)state;
	check_phone("138 0013 8000", "+8613800138000");
	check_phone("13800138000", "+8613800138000");
	check_phone("+86 138-0013-8000", "+8613800138000");
	check_phone("+8613800138000", "+8613800138000");
	check_phone("0086 138 0013 8000", "+8613800138000");
	check_phone("(021) 6123-4567", "+862161234567");
	check_phone("021.6123.4567", "+862161234567");
	check_phone("+1 (415) 555-0100", "+14155550100");
	check_phone("+44 20 7946 0958", "+442079460958");
	check_phone("\t138 0013 8000 ", "+8613800138000");
	/* refused: letters, a + not in front, too short, too long, +0 */
	check_phone("138-0013-800a", NULL);
	check_phone("138+0013", NULL);
	check_phone("++8613800138000", NULL);
	check_phone("12345", NULL);
	check_phone("+1234567", NULL);
	check_phone("+1234567890123456", NULL);
	check_phone("+0123456789", NULL);
	check_phone("", NULL);
	check_phone("   ", NULL);
	check_phone("１３８００１３８０００", NULL); /* full-width digits */
	/* the output buffer is honoured */
	char small[8];
	assert_int_equal(contact_phone_normalize("13800138000", "86", small, sizeof small), -1);
}

static void
check_email(const char *in, const char *want)
{
	char out[CONTACT_EMAIL_MAX + 1];

	if (want == NULL) {
		if (contact_email_normalize(in, out, sizeof out) == 0)
			fail_msg("\"%s\" normalised to \"%s\", expected a refusal", in, out);
		return;
	}
	if (contact_email_normalize(in, out, sizeof out) != 0)
		fail_msg("\"%s\" refused, expected \"%s\"", in, want);
	assert_string_equal(out, want);
}

static void
test_email(void **state)
{
	char longest[CONTACT_EMAIL_MAX + 2];

	(void)state;
	check_email("Wang.Fang@Example.COM", "wang.fang@example.com");
	check_email("  li@shop.cn\t", "li@shop.cn");
	check_email("王芳@例子.中国", "王芳@例子.中国");
	check_email("a+tag@b.co", "a+tag@b.co");
	check_email("nobody", NULL);
	check_email("@example.com", NULL);
	check_email("a@@example.com", NULL);
	check_email("a@b@c.com", NULL);
	check_email("a@localhost", NULL);
	check_email("a@.com", NULL);
	check_email("a@example.", NULL);
	check_email("a b@example.com", NULL);
	check_email("a\x01@example.com", NULL);
	check_email("", NULL);
	/* 254 bytes pass, 255 do not */
	memset(longest, 'a', sizeof longest);
	memcpy(longest + CONTACT_EMAIL_MAX - 6, "@ex.cn", 6);
	longest[CONTACT_EMAIL_MAX] = '\0';
	check_email(longest, longest);
	memset(longest, 'a', sizeof longest);
	memcpy(longest + CONTACT_EMAIL_MAX - 5, "@ex.cn", 6);
	longest[CONTACT_EMAIL_MAX + 1] = '\0';
	check_email(longest, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_score_boundaries),
	    cmocka_unit_test(test_no_orders),
	    cmocka_unit_test(test_segment_grid),
	    cmocka_unit_test(test_tiers),
	    cmocka_unit_test(test_custom_thresholds),
	    cmocka_unit_test(test_phone),
	    cmocka_unit_test(test_email),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
