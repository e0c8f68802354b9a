/* test_utf8.c: strict UTF-8 validation (RFC 3629) and decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

/* A byte string with an explicit length (some contain NUL). */
struct bytes {
	const char *s;
	size_t len;
};
#define B(lit)                                                                                     \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}

/* Valid single code points with their expected value, at every length
 * boundary. */
static const struct {
	struct bytes in;
	uint32_t cp;
} valid[] = {
    {B("\x00"), 0x0},
    {B("A"), 0x41},
    {B("\x7f"), 0x7f},
    {B("\xc2\x80"), 0x80},
    {B("\xc3\xa9"), 0xe9}, /* é */
    {B("\xdf\xbf"), 0x7ff},
    {B("\xe0\xa0\x80"), 0x800},
    {B("\xe2\x82\xac"), 0x20ac}, /* € */
    {B("\xe6\xbc\xa2"), 0x6f22}, /* 漢 */
    {B("\xed\x9f\xbf"), 0xd7ff}, /* just below the surrogates */
    {B("\xee\x80\x80"), 0xe000}, /* just above them */
    {B("\xef\xbf\xbd"), 0xfffd},
    {B("\xef\xbf\xbf"), 0xffff},
    {B("\xf0\x90\x80\x80"), 0x10000},
    {B("\xf0\x9f\x98\x80"), 0x1f600}, /* emoji */
    {B("\xf4\x8f\xbf\xbf"), 0x10ffff},
};

/* Sequences that must be refused at their first byte. */
static const struct {
	const char *name;
	struct bytes in;
} invalid[] = {
    {"overlong NUL", B("\xc0\x80")},
    {"overlong slash", B("\xc0\xaf")},
    {"overlong 2-byte max", B("\xc1\xbf")},
    {"overlong 3-byte", B("\xe0\x80\x80")},
    {"overlong 3-byte max", B("\xe0\x9f\xbf")},
    {"overlong 4-byte", B("\xf0\x80\x80\x80")},
    {"overlong 4-byte max", B("\xf0\x8f\xbf\xbf")},
    {"surrogate D800", B("\xed\xa0\x80")},
    {"surrogate DBFF", B("\xed\xaf\xbf")},
    {"surrogate DC00", B("\xed\xb0\x80")},
    {"surrogate DFFF", B("\xed\xbf\xbf")},
    {"above U+10FFFF", B("\xf4\x90\x80\x80")},
    {"F5 lead", B("\xf5\x80\x80\x80")},
    {"F8 lead (5 bytes)", B("\xf8\x88\x80\x80\x80")},
    {"FC lead (6 bytes)", B("\xfc\x84\x80\x80\x80\x80")},
    {"FE", B("\xfe")},
    {"FF", B("\xff")},
    {"lone continuation", B("\x80")},
    {"lone continuation BF", B("\xbf")},
    {"truncated 2-byte", B("\xc3")},
    {"truncated 3-byte", B("\xe2\x82")},
    {"truncated 4-byte", B("\xf0\x9f\x98")},
    {"bad continuation", B("\xe2\x28\xa1")},
    {"ASCII in place of continuation", B("\xc3\x41")},
    {"lead in place of continuation", B("\xe2\xe2\x82\xac")},
};

/* Each valid code point decodes to its value and length. */
static void
test_decode_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		uint32_t cp = 0xdeadbeef;
		size_t n = utf8_decode((const unsigned char *)valid[i].in.s, valid[i].in.len, &cp);
		assert_int_equal(n, valid[i].in.len);
		assert_int_equal(cp, valid[i].cp);
		assert_int_equal(utf8_check(valid[i].in.s, valid[i].in.len), valid[i].in.len);
	}
}

/* Each invalid sequence is refused by both functions at offset 0. */
static void
test_decode_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		uint32_t cp;
		const unsigned char *s = (const unsigned char *)invalid[i].in.s;
		if (utf8_decode(s, invalid[i].in.len, &cp) != 0)
			fail_msg("%s: decoded as U+%04X", invalid[i].name, cp);
		if (utf8_check(invalid[i].in.s, invalid[i].in.len) != 0)
			fail_msg("%s: not refused at byte 0", invalid[i].name);
	}
}

/* utf8_check reports the offset of the first bad byte after valid text. */
static void
test_check_offset(void **state)
{
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		/* a valid prefix of 1-, 2- and 3-byte characters */
		const char prefix[] = "ab\xc3\xa9\xe2\x82\xac";
		size_t plen = sizeof prefix - 1;
		memcpy(buf, prefix, plen);
		memcpy(buf + plen, invalid[i].in.s, invalid[i].in.len);
		memcpy(buf + plen + invalid[i].in.len, "xyz", 3);
		size_t off = utf8_check(buf, plen + invalid[i].in.len + 3);
		if (off != plen)
			fail_msg("%s: offset %zu, want %zu", invalid[i].name, off, plen);
	}
}

/* Mixed valid text, the empty string and embedded NULs. */
static void
test_check_valid_text(void **state)
{
	const char text[] = "Grüße, 你好, مرحبا, 😀 and \x00 NUL";

	(void)state;
	assert_int_equal(utf8_check(text, sizeof text - 1), sizeof text - 1);
	assert_int_equal(utf8_check("", 0), 0);
	/* a multi-byte sequence cut by len is invalid at its start */
	assert_int_equal(utf8_check("a\xe2\x82\xac", 3), 1);
}

/* utf8_decode with nothing left, or fewer bytes than the lead promises. */
static void
test_decode_short(void **state)
{
	uint32_t cp;

	(void)state;
	assert_int_equal(utf8_decode((const unsigned char *)"", 0, &cp), 0);
	assert_int_equal(utf8_decode((const unsigned char *)"\xe2\x82\xac", 2, &cp), 0);
	assert_int_equal(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 3, &cp), 0);
	assert_int_equal(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
}

/* Every 2-byte lead and every 3-byte E0/ED second byte, exhaustively. */
static void
test_exhaustive_boundaries(void **state)
{
	unsigned char s[4];
	uint32_t cp;

	(void)state;
	for (unsigned lead = 0x80; lead <= 0xff; lead++) {
		s[0] = (unsigned char)lead;
		s[1] = 0x80;
		s[2] = 0x80;
		s[3] = 0x80;
		size_t n = utf8_decode(s, 4, &cp);
		if (lead < 0xc2 || lead > 0xf4)
			assert_int_equal(n, 0);
		else if (lead == 0xe0 || lead == 0xf0)
			assert_int_equal(n, 0); /* 80 after E0/F0 is overlong */
		else
			assert_int_not_equal(n, 0);
	}
	for (unsigned second = 0x80; second <= 0xbf; second++) {
		s[1] = (unsigned char)second;
		s[2] = 0x80;
		s[0] = 0xe0;
		assert_int_equal(utf8_decode(s, 3, &cp) != 0, second >= 0xa0);
		s[0] = 0xed;
		assert_int_equal(utf8_decode(s, 3, &cp) != 0, second < 0xa0);
		s[0] = 0xf4;
		s[3] = 0x80;
		assert_int_equal(utf8_decode(s, 4, &cp) != 0, second < 0x90);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_valid), cmocka_unit_test(test_decode_invalid),
	    cmocka_unit_test(test_check_offset), cmocka_unit_test(test_check_valid_text),
	    cmocka_unit_test(test_decode_short), cmocka_unit_test(test_exhaustive_boundaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
