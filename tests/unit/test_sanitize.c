/* test_sanitize.c: untrusted text made safe for a terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sanitize.h"
#include "utf8.h"

#define FFFD "\xef\xbf\xbd"

/* Sanitize in (len bytes) and compare with want. */
static void
check(const char *in, size_t len, int keep_newlines, const char *want)
{
	char *out = term_sanitize(in, len, keep_newlines);

	assert_non_null(out);
	assert_string_equal(out, want);
	/* whatever goes in, what comes out is valid UTF-8 without ESC */
	assert_int_equal(utf8_check(out, strlen(out)), strlen(out));
	assert_null(strchr(out, '\x1b'));
	free(out);
}
#define CHECK(lit, keep, want) check(lit, sizeof(lit) - 1, keep, want)

/* Printable ASCII and the empty string pass unchanged. */
static void
test_plain(void **state)
{
	(void)state;
	CHECK("", 0, "");
	CHECK("Order #1234 arrived broken; refund please.", 0,
	      "Order #1234 arrived broken; refund please.");
	CHECK(" !\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~", 1,
	      " !\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~");
}

/* ESC is dropped, so CSI, OSC and DCS sequences become inert text. */
static void
test_escape_sequences(void **state)
{
	(void)state;
	CHECK("\x1b[31mred\x1b[0m", 0, "[31mred[0m");
	CHECK("\x1b[2J\x1b[H", 0, "[2J[H");
	CHECK("\x1b]0;pwned\x07", 0, "]0;pwned");
	CHECK("\x1b]52;c;ZWNobyBoaQ==\x1b\\", 0, "]52;c;ZWNobyBoaQ==\\");
	CHECK("\x1bP+q\x1b\\", 0, "P+q\\");
	CHECK("a\x1b", 0, "a");
}

/* C1 controls (U+0080..U+009F, encoded as UTF-8) are dropped; a raw C1
 * byte is invalid UTF-8 and becomes U+FFFD. */
static void
test_c1_controls(void **state)
{
	(void)state;
	CHECK("a\xc2\x9b"
	      "31mb",
	      0, "a31mb"); /* CSI */
	CHECK("a\xc2\x9d"
	      "0;x\xc2\x9c",
	      0, "a0;x"); /* OSC ... ST */
	CHECK("\xc2\x80\xc2\x85\xc2\x9f", 0, "");
	CHECK("a\x9b"
	      "31m",
	      0, "a" FFFD "31m");
	/* U+00A0 is the first character after C1 and stays */
	CHECK("\xc2\xa0", 0, "\xc2\xa0");
}

/* Other C0 controls and DEL are dropped. */
static void
test_c0_controls(void **state)
{
	(void)state;
	CHECK("a\x07"
	      "b\x08"
	      "c\x7f"
	      "d",
	      0, "abcd");
	CHECK("a\x00"
	      "b",
	      0, "ab");
	CHECK("\x01\x02\x03\x0b\x0c\x0e\x1f", 1, "");
}

/* Bidirectional overrides and isolates are dropped; other marks stay. */
static void
test_bidi(void **state)
{
	(void)state;
	/* U+202A..U+202E */
	CHECK("a\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad\xe2\x80\xae"
	      "b",
	      0, "ab");
	/* U+2066..U+2069 */
	CHECK("a\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9"
	      "b",
	      0, "ab");
	/* "invoice_[RLO]fdp.exe" must not display reversed */
	CHECK("invoice_\xe2\x80\xae"
	      "fdp.exe",
	      0, "invoice_fdp.exe");
	/* neighbours of the ranges are ordinary characters */
	CHECK("\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa", 0,
	      "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa");
}

/* Invalid UTF-8 becomes U+FFFD; valid neighbours are untouched. */
static void
test_invalid_utf8(void **state)
{
	(void)state;
	CHECK("\xff", 0, FFFD);
	CHECK("a\xff\xfe"
	      "b",
	      0, "a" FFFD FFFD "b");
	CHECK("\xc0\xaf", 0, FFFD FFFD);          /* overlong */
	CHECK("\xed\xa0\x80", 0, FFFD FFFD FFFD); /* surrogate */
	CHECK("x\xe2\x82", 0, "x" FFFD FFFD);     /* truncated at the end */
	CHECK("\xe2\x82\xe2\x82\xac", 0, FFFD FFFD "\xe2\x82\xac");
}

/* CJK, accents and emoji are kept byte for byte. */
static void
test_unicode_kept(void **state)
{
	(void)state;
	CHECK("客户投诉：包裹破损，要求退款。", 0, "客户投诉：包裹破损，要求退款。");
	CHECK("カスタマーサポート 고객센터", 0, "カスタマーサポート 고객센터");
	CHECK("Grüße 😀 ñ", 0, "Grüße 😀 ñ");
}

/* LF is kept only with keep_newlines, else it is a space; TAB is a space
 * either way; CR is dropped. */
static void
test_newlines(void **state)
{
	(void)state;
	CHECK("line 1\nline 2\n", 1, "line 1\nline 2\n");
	CHECK("line 1\nline 2\n", 0, "line 1 line 2 ");
	CHECK("a\r\nb", 1, "a\nb");
	CHECK("a\r\nb", 0, "a b");
	CHECK("a\tb", 1, "a b");
	CHECK("a\tb", 0, "a b");
	CHECK("over\rwrite", 1, "overwrite");
}

/* The worst case (every byte invalid) fits and is all U+FFFD. */
static void
test_worst_case(void **state)
{
	char in[4096];
	char *out;

	(void)state;
	memset(in, 0xff, sizeof in);
	out = term_sanitize(in, sizeof in, 0);
	assert_int_equal(strlen(out), sizeof in * 3);
	for (size_t i = 0; i < sizeof in; i++)
		assert_memory_equal(out + i * 3, FFFD, 3);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),        cmocka_unit_test(test_escape_sequences),
	    cmocka_unit_test(test_c1_controls),  cmocka_unit_test(test_c0_controls),
	    cmocka_unit_test(test_bidi),         cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_unicode_kept), cmocka_unit_test(test_newlines),
	    cmocka_unit_test(test_worst_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
