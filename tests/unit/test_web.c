/* test_web.c: the pure helpers of store-web.c: token text, the
 * idempotency pad, urgency, subjects, text cuts, JSON lengths, next steps
 * and the customer's timeline words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store-web.h"

static void
test_token_encode(void **state)
{
	unsigned char raw[WEB_TOKEN_RAW];
	char text[WEB_TOKEN_LEN + 1];

	(void)state;
	memset(raw, 0xFB, sizeof raw); /* base64 "+" and "/" territory */
	web_token_encode(raw, text);
	assert_int_equal(strlen(text), WEB_TOKEN_LEN);
	assert_null(strpbrk(text, "+/="));
	assert_string_equal(text, "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s");
	memset(raw, 0, sizeof raw);
	web_token_encode(raw, text);
	assert_string_equal(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

static void
test_idem_pad(void **state)
{
	unsigned char a[WEB_TOKEN_RAW], b[WEB_TOKEN_RAW], c[32];

	(void)state;
	web_idem_pad("form-nonce-0001", a);
	web_idem_pad("form-nonce-0001", b);
	assert_memory_equal(a, b, sizeof a);
	web_idem_pad("form-nonce-0002", b);
	assert_memory_not_equal(a, b, sizeof a);
	/* the pad is SHA-256 of the tag and the key, not of the key alone */
	web_sha256("form-nonce-0001", 15, c);
	assert_memory_not_equal(a, c, sizeof c);
	web_sha256("cc-idem-tokenform-nonce-0001", 28, c);
	assert_memory_equal(a, c, sizeof c);
}

/* The key's stored hash covers the account and every member: another
 * complaint or another caller with the same key is another row. */
static void
test_idem_hash(void **state)
{
	static struct web_complaint c, d;
	unsigned char a[32], b[32];

	(void)state;
	snprintf(c.key, sizeof c.key, "api-retry-0001");
	snprintf(c.name, sizeof c.name, "王芳");
	snprintf(c.phone, sizeof c.phone, "+8613800138000");
	snprintf(c.description, sizeof c.description, "包裹未到");
	d = c;
	web_idem_hash(7, &c, a);
	web_idem_hash(7, &d, b);
	assert_memory_equal(a, b, sizeof a);
	web_idem_hash(8, &d, b);
	assert_memory_not_equal(a, b, sizeof a);
	snprintf(d.description, sizeof d.description, "包裹未到!");
	web_idem_hash(7, &d, b);
	assert_memory_not_equal(a, b, sizeof a);
	/* members cannot run into each other: "ab" + "" is not "a" + "b" */
	d = c;
	snprintf(c.order, sizeof c.order, "ab");
	snprintf(d.order, sizeof d.order, "a");
	snprintf(d.category, sizeof d.category, "b");
	web_idem_hash(7, &c, a);
	web_idem_hash(7, &d, b);
	assert_memory_not_equal(a, b, sizeof a);
}

static void
test_urgency(void **state)
{
	(void)state;
	assert_int_equal(web_urgency_priority("low"), 4);
	assert_int_equal(web_urgency_priority("normal"), 5);
	assert_int_equal(web_urgency_priority("high"), 6);
	assert_int_equal(web_urgency_priority("urgent"), 7);
	assert_int_equal(web_urgency_priority("now"), 0);
}

static void
test_name_differs(void **state)
{
	(void)state;
	assert_int_equal(web_name_differs("Li Lei", "Li Lei"), 0);
	assert_int_equal(web_name_differs("li  lei", "Li Lei"), 0);
	assert_int_equal(web_name_differs(" 李雷 ", "李雷"), 0);
	assert_int_equal(web_name_differs("李雷", "李 雷"), 0);
	assert_int_equal(web_name_differs("Someone Else", "王芳"), 1);
	assert_int_equal(web_name_differs("Li Lei", "Li Leia"), 1);
	assert_int_equal(web_name_differs("Li Leia", "Li Lei"), 1);
	assert_int_equal(web_name_differs("", "Li Lei"), 1);
	assert_int_equal(web_name_differs("", ""), 0);
}

static void
test_subject(void **state)
{
	char out[TICKET_SUBJECT_MAX * 4 + 1], longer[1000];

	(void)state;
	web_subject("delivery", "\n  包裹没到\t\n第二行", out, sizeof out);
	assert_string_equal(out, "delivery: 包裹没到");
	web_subject("other", " \n\n ", out, sizeof out);
	assert_string_equal(out, "other");
	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	web_subject("product", longer, out, sizeof out);
	assert_int_equal(strlen(out), WEB_SUBJECT_CHARS + 3);
	assert_memory_equal(out, "product: xxx", 12);
	assert_string_equal(out + WEB_SUBJECT_CHARS, "...");
	/* a long line of 3-byte characters is cut between characters */
	for (size_t i = 0; i + 3 < sizeof longer; i += 3)
		memcpy(longer + i, "长", 3);
	longer[999 - 999 % 3] = '\0';
	web_subject("refund", longer, out, sizeof out);
	assert_int_equal(strlen(out), strlen("refund: ") + (WEB_SUBJECT_CHARS - 8) * 3 + 3);
}

static void
test_text_cut(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(web_text_cut("你好", 2, out, sizeof out), 0);
	assert_string_equal(out, "你好");
	assert_int_equal(web_text_cut("你好世界", 2, out, sizeof out), 1);
	assert_string_equal(out, "你好...");
	assert_int_equal(web_text_cut("abcdef", 10, out, 6), 1);
	assert_string_equal(out, "ab...");
	assert_int_equal(web_text_cut("abc", 10, out, 3), 1);
	assert_string_equal(out, "");
}

static void
test_json_len(void **state)
{
	(void)state;
	assert_int_equal(web_json_len("abc"), 3);
	assert_int_equal(web_json_len("a\"b\\c\n"), 9);
	assert_int_equal(web_json_len("\x01"), 6);
	assert_int_equal(web_json_len("长"), 3);
}

static void
test_next_step(void **state)
{
	(void)state;
	assert_string_equal(web_next_step("queued", 0), "received");
	assert_string_equal(web_next_step("offered", 0), "received");
	assert_string_equal(web_next_step("in_progress", 0), "assigned");
	assert_string_equal(web_next_step("in_progress", 1), "in_progress");
	assert_string_equal(web_next_step("pending_customer", 1), "waiting_for_you");
	assert_string_equal(web_next_step("resolved", 1), "resolved");
	assert_string_equal(web_next_step("closed", 0), "closed");
	assert_string_equal(web_public_state("offered"), "queued");
	assert_string_equal(web_public_state("new"), "queued");
	assert_string_equal(web_public_state("pending_customer"), "pending_customer");
}

static void
test_timeline_state(void **state)
{
	(void)state;
	assert_string_equal(web_timeline_state("accept", "offered", "in_progress"), "in_progress");
	assert_string_equal(web_timeline_state("hold", "in_progress", "pending_customer"),
	                    "pending_customer");
	assert_string_equal(web_timeline_state("resolve", "in_progress", "resolved"), "resolved");
	assert_string_equal(web_timeline_state("reopen", "resolved", "in_progress"), "reopened");
	assert_string_equal(web_timeline_state("merge", "queued", "closed"), "closed");
	assert_string_equal(web_timeline_state("transfer_queue", "in_progress", "queued"),
	                    "queued");
	/* the router's business and nothing-changes events */
	assert_null(web_timeline_state("offer", "queued", "offered"));
	assert_null(web_timeline_state("decline", "offered", "queued"));
	assert_null(web_timeline_state("timeout", "offered", "queued"));
	assert_null(web_timeline_state("transfer_agent", "queued", "offered"));
	assert_null(web_timeline_state("escalate", "queued", "queued"));
	assert_null(web_timeline_state("reopen", "closed", "closed"));
	assert_null(web_timeline_state("note", NULL, "customer"));
	assert_null(web_timeline_state("sla.breach", NULL, "first_response"));
	assert_null(web_timeline_state("compensation.request", NULL, "requested"));
	assert_null(web_timeline_state("accept", "offered", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_encode), cmocka_unit_test(test_idem_pad),
	    cmocka_unit_test(test_idem_hash),    cmocka_unit_test(test_urgency),
	    cmocka_unit_test(test_subject),      cmocka_unit_test(test_text_cut),
	    cmocka_unit_test(test_name_differs), cmocka_unit_test(test_json_len),
	    cmocka_unit_test(test_next_step),    cmocka_unit_test(test_timeline_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
