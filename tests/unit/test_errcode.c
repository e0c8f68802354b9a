/* test_errcode.c: the protocol's error slugs are stable and round-trip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "errcode.h"

/* The slugs as docs/PROTOCOL.md lists them, in enum order. */
static const struct {
	enum cc_err code;
	const char *slug;
} expected[] = {
    {CC_ERR_BAD_REQUEST, "bad_request"},   {CC_ERR_UNAUTHORIZED, "unauthorized"},
    {CC_ERR_FORBIDDEN, "forbidden"},       {CC_ERR_NOT_FOUND, "not_found"},
    {CC_ERR_CONFLICT, "conflict"},         {CC_ERR_TOO_LARGE, "too_large"},
    {CC_ERR_RATE_LIMITED, "rate_limited"}, {CC_ERR_UNAVAILABLE, "unavailable"},
    {CC_ERR_INTERNAL, "internal"},
};

/* Every documented code has exactly its documented slug. */
static void
test_slugs_documented(void **state)
{
	(void)state;
	assert_int_equal(sizeof expected / sizeof expected[0], CC_ERR__COUNT - 1);
	for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
		assert_string_equal(cc_err_slug(expected[i].code), expected[i].slug);
}

/* Every enum value maps to a slug and back to itself. */
static void
test_slugs_round_trip(void **state)
{
	(void)state;
	for (int code = 0; code < CC_ERR__COUNT; code++) {
		const char *slug = cc_err_slug((enum cc_err)code);
		assert_non_null(slug);
		assert_int_equal(cc_err_from_slug(slug), code);
	}
}

/* Slugs are distinct. */
static void
test_slugs_unique(void **state)
{
	(void)state;
	for (int a = 0; a < CC_ERR__COUNT; a++)
		for (int b = a + 1; b < CC_ERR__COUNT; b++)
			assert_string_not_equal(cc_err_slug((enum cc_err)a),
			                        cc_err_slug((enum cc_err)b));
}

/* Unknown slugs, near misses and NULL are refused. */
static void
test_slug_unknown(void **state)
{
	(void)state;
	assert_int_equal(cc_err_from_slug("nope"), -1);
	assert_int_equal(cc_err_from_slug(""), -1);
	assert_int_equal(cc_err_from_slug("BAD_REQUEST"), -1);
	assert_int_equal(cc_err_from_slug("bad_request "), -1);
	assert_int_equal(cc_err_from_slug("bad-request"), -1);
	assert_int_equal(cc_err_from_slug(NULL), -1);
}

/* A code outside the enum is reported as "internal", never garbage. */
static void
test_slug_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(cc_err_slug(CC_ERR__COUNT), "internal");
	assert_string_equal(cc_err_slug((enum cc_err)(CC_ERR__COUNT + 100)), "internal");
	assert_string_equal(cc_err_slug((enum cc_err) - 1), "internal");
	assert_string_equal(cc_err_message((enum cc_err) - 1), cc_err_message(CC_ERR_INTERNAL));
	assert_string_equal(cc_err_message(CC_ERR__COUNT), cc_err_message(CC_ERR_INTERNAL));
}

/* Every code has a non-empty default message. */
static void
test_messages(void **state)
{
	(void)state;
	for (int code = 0; code < CC_ERR__COUNT; code++) {
		const char *msg = cc_err_message((enum cc_err)code);
		assert_non_null(msg);
		assert_true(strlen(msg) > 0);
	}
	assert_string_equal(cc_err_message(CC_ERR_UNAUTHORIZED), "log in first");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slugs_documented),  cmocka_unit_test(test_slugs_round_trip),
	    cmocka_unit_test(test_slugs_unique),      cmocka_unit_test(test_slug_unknown),
	    cmocka_unit_test(test_slug_out_of_range), cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
