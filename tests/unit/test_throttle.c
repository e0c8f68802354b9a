/* test_throttle.c: failed-login throttling with time as a parameter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "throttle.h"

#define T0 1700000000 /* an arbitrary start time */

/* Five failures lock the key for the lockout; the wait counts down. */
static void
test_lock_after_max(void **state)
{
	struct throttle *t = throttle_new(5, 900, 300, 100);

	(void)state;
	for (int i = 0; i < 4; i++) {
		throttle_fail(t, "li.wei", T0 + i);
		assert_int_equal(throttle_wait(t, "li.wei", T0 + i), 0);
	}
	throttle_fail(t, "li.wei", T0 + 10);
	assert_int_equal(throttle_wait(t, "li.wei", T0 + 10), 300);
	assert_int_equal(throttle_wait(t, "li.wei", T0 + 11), 299);
	assert_int_equal(throttle_wait(t, "li.wei", T0 + 309), 1);
	assert_int_equal(throttle_wait(t, "li.wei", T0 + 310), 0);
	/* other keys are not affected */
	assert_int_equal(throttle_wait(t, "wang.fang", T0 + 10), 0);
	throttle_free(t);
}

/* After a lockout the count starts again from zero. */
static void
test_relock(void **state)
{
	struct throttle *t = throttle_new(3, 900, 60, 100);

	(void)state;
	for (int i = 0; i < 3; i++)
		throttle_fail(t, "k", T0);
	assert_int_equal(throttle_wait(t, "k", T0), 60);
	throttle_fail(t, "k", T0 + 61);
	assert_int_equal(throttle_wait(t, "k", T0 + 61), 0);
	throttle_fail(t, "k", T0 + 62);
	assert_int_equal(throttle_wait(t, "k", T0 + 62), 0);
	throttle_fail(t, "k", T0 + 63);
	assert_int_equal(throttle_wait(t, "k", T0 + 63), 60);
	throttle_free(t);
}

/* Failures older than the window no longer count. */
static void
test_window(void **state)
{
	struct throttle *t = throttle_new(5, 900, 300, 100);

	(void)state;
	for (int i = 0; i < 4; i++)
		throttle_fail(t, "k", T0);
	throttle_fail(t, "k", T0 + 900); /* the window has passed: count is 1 */
	assert_int_equal(throttle_wait(t, "k", T0 + 900), 0);
	for (int i = 0; i < 3; i++)
		throttle_fail(t, "k", T0 + 901);
	assert_int_equal(throttle_wait(t, "k", T0 + 901), 0);
	throttle_fail(t, "k", T0 + 902); /* fifth inside the new window */
	assert_int_equal(throttle_wait(t, "k", T0 + 902), 300);
	throttle_free(t);
}

/* A successful login forgets the failures. */
static void
test_clear(void **state)
{
	struct throttle *t = throttle_new(5, 900, 300, 100);

	(void)state;
	for (int i = 0; i < 4; i++)
		throttle_fail(t, "k", T0);
	assert_int_equal(throttle_count(t), 1);
	throttle_clear(t, "k");
	assert_int_equal(throttle_count(t), 0);
	throttle_fail(t, "k", T0);
	assert_int_equal(throttle_wait(t, "k", T0), 0);
	throttle_clear(t, "never-seen");
	assert_int_equal(throttle_count(t), 1);
	throttle_free(t);
}

/* Expiry drops keys only once both their window and lockout are over. */
static void
test_expire(void **state)
{
	struct throttle *t = throttle_new(2, 100, 500, 100);

	(void)state;
	throttle_fail(t, "once", T0);
	throttle_fail(t, "locked", T0);
	throttle_fail(t, "locked", T0);
	assert_int_equal(throttle_count(t), 2);
	throttle_expire(t, T0 + 99);
	assert_int_equal(throttle_count(t), 2);
	throttle_expire(t, T0 + 100); /* "once" is out of its window */
	assert_int_equal(throttle_count(t), 1);
	assert_int_equal(throttle_wait(t, "locked", T0 + 100), 400);
	throttle_expire(t, T0 + 499);
	assert_int_equal(throttle_count(t), 1);
	throttle_expire(t, T0 + 500);
	assert_int_equal(throttle_count(t), 0);
	throttle_free(t);
}

/* The table never holds more than max_keys; the oldest key goes first. */
static void
test_bounded(void **state)
{
	struct throttle *t = throttle_new(5, 900, 300, 3);
	char key[32];

	(void)state;
	for (int i = 0; i < 4; i++) {
		throttle_fail(t, "a", T0);
		throttle_fail(t, "b", T0);
		throttle_fail(t, "c", T0);
	}
	throttle_fail(t, "d", T0 + 1); /* evicts "a" */
	assert_int_equal(throttle_count(t), 3);
	throttle_fail(t, "c", T0 + 2); /* c is still tracked: fifth failure */
	assert_int_equal(throttle_wait(t, "c", T0 + 2), 300);
	throttle_fail(t, "a", T0 + 3); /* a starts over (and evicts "b") */
	assert_int_equal(throttle_wait(t, "a", T0 + 3), 0);
	assert_int_equal(throttle_count(t), 3);
	throttle_fail(t, "b", T0 + 4); /* b was forgotten too */
	assert_int_equal(throttle_wait(t, "b", T0 + 4), 0);

	/* a flood of made-up names stays within the bound */
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "user%d", i);
		throttle_fail(t, key, T0 + 5);
		assert_true(throttle_count(t) <= 3);
	}
	throttle_free(t);
}

/* Expired keys are reclaimed before a live one is evicted. */
static void
test_bounded_prefers_expired(void **state)
{
	struct throttle *t = throttle_new(2, 10, 100, 2);

	(void)state;
	throttle_fail(t, "locked", T0);
	throttle_fail(t, "locked", T0); /* locked until T0 + 100 */
	throttle_fail(t, "stale", T0);
	throttle_fail(t, "new", T0 + 50); /* "stale" has expired, "locked" has not */
	assert_int_equal(throttle_count(t), 2);
	assert_int_equal(throttle_wait(t, "locked", T0 + 50), 50);
	throttle_free(t);
}

/* throttle_free accepts NULL. */
static void
test_free_null(void **state)
{
	(void)state;
	throttle_free(NULL);
}

/* Attempts in flight count with the failures: with 3 failures and 2 in
 * flight a limit of 5 makes the next wait 1 s; ending one lets one more in. */
static void
test_pending(void **state)
{
	struct throttle *t = throttle_new(5, 900, 300, 100);

	(void)state;
	for (int i = 0; i < 3; i++)
		throttle_fail(t, "u", T0);
	assert_int_equal(throttle_begin(t, "u", T0), 0);
	assert_int_equal(throttle_wait(t, "u", T0), 0);
	assert_int_equal(throttle_begin(t, "u", T0), 0);
	assert_int_equal(throttle_wait(t, "u", T0), 1);
	throttle_end(t, "u");
	assert_int_equal(throttle_wait(t, "u", T0), 0);
	/* the one still in flight fails: now locked for the lockout */
	throttle_fail(t, "u", T0 + 1);
	throttle_end(t, "u");
	assert_int_equal(throttle_wait(t, "u", T0 + 1), 0);
	throttle_fail(t, "u", T0 + 2);
	assert_int_equal(throttle_wait(t, "u", T0 + 2), 300);
	/* an end without a begin is harmless */
	throttle_end(t, "nobody");
	throttle_free(t);
}

/* A full table keeps its locked and busy keys: a new key is refused rather
 * than one of them forgotten. */
static void
test_full_of_locked(void **state)
{
	struct throttle *t = throttle_new(1, 900, 300, 2);

	(void)state;
	throttle_fail(t, "a", T0);                       /* locked */
	assert_int_equal(throttle_begin(t, "b", T0), 0); /* busy */
	assert_int_equal(throttle_begin(t, "c", T0), -1);
	throttle_fail(t, "c", T0); /* dropped, and a stays locked */
	assert_int_equal(throttle_wait(t, "a", T0 + 1), 299);
	assert_int_equal(throttle_count(t), 2);
	throttle_end(t, "b");
	assert_int_equal(throttle_begin(t, "c", T0 + 1), 0); /* b was idle: evicted */
	assert_int_equal(throttle_wait(t, "a", T0 + 1), 299);
	throttle_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lock_after_max),
	    cmocka_unit_test(test_relock),
	    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_clear),
	    cmocka_unit_test(test_expire),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_bounded_prefers_expired),
	    cmocka_unit_test(test_free_null),
	    cmocka_unit_test(test_pending),
	    cmocka_unit_test(test_full_of_locked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
