/* test_auth.c: scrypt password hashes in their stored format, and resume
 * tokens. Costs are kept low (N = 2^10) so the suite stays fast. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

static const struct scrypt_params cheap = {10, 8, 1};

/* RFC 7914 section 12, second vector: P = "pleaseletmein", S =
 * "SodiumChloride", N = 16384, r = 8, p = 1, dkLen = 64, in the stored
 * format. Proves the hashes are standard scrypt, not something home-made. */
static const char rfc7914_hash[] =
    "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU=$"
    "cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofLVQylVYT8Pz2LUlwUkKpr55h6F3A1lHkDfzwF7RVdYhw==";

/* A fresh hash has the documented shape and verifies. */
static void
test_hash_format(void **state)
{
	char h[AUTH_HASH_MAX];
	const char *salt, *key;
	struct scrypt_params p;

	(void)state;
	assert_int_equal(auth_hash_password("correct horse", 13, &cheap, h, sizeof h), 0);
	assert_memory_equal(h, "$scrypt$ln=10,r=8,p=1$", 22);
	salt = h + 22;
	key = strchr(salt, '$');
	assert_non_null(key);
	key++;
	assert_int_equal(key - salt - 1, 24); /* 16 bytes of salt in base64 */
	assert_int_equal(strlen(key), 44);    /* 32 bytes of key in base64 */
	for (const char *c = salt; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && strchr("+/=$", *c) == NULL)
			fail_msg("unexpected character '%c' in %s", *c, h);
	assert_int_equal(auth_hash_params(h, &p), 0);
	assert_int_equal(p.n_log2, 10);
	assert_int_equal(p.r, 8);
	assert_int_equal(p.p, 1);
	assert_int_equal(auth_verify_password("correct horse", 13, h), 1);
}

/* A wrong password does not verify; nor do near misses. */
static void
test_verify_wrong(void **state)
{
	char h[AUTH_HASH_MAX];

	(void)state;
	assert_int_equal(auth_hash_password("correct horse", 13, &cheap, h, sizeof h), 0);
	assert_int_equal(auth_verify_password("correct horsf", 13, h), 0);
	assert_int_equal(auth_verify_password("correct hors", 12, h), 0);
	assert_int_equal(auth_verify_password("Correct horse", 13, h), 0);
	assert_int_equal(auth_verify_password("", 0, h), 0);
	/* the length counts: an embedded NUL is part of the password (trailing
	 * NULs are not: HMAC pads short keys with zeros, as PBKDF2 does) */
	assert_int_equal(auth_verify_password("correct\0horse", 13, h), 0);
}

/* Two hashes of one password differ (fresh salt) and both verify. */
static void
test_salt_fresh(void **state)
{
	char a[AUTH_HASH_MAX], b[AUTH_HASH_MAX];

	(void)state;
	assert_int_equal(auth_hash_password("pw", 2, &cheap, a, sizeof a), 0);
	assert_int_equal(auth_hash_password("pw", 2, &cheap, b, sizeof b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(auth_verify_password("pw", 2, a), 1);
	assert_int_equal(auth_verify_password("pw", 2, b), 1);
}

/* Each hash carries its own cost: one made at another cost still verifies. */
static void
test_cost_in_hash(void **state)
{
	const struct scrypt_params other = {11, 4, 2};
	char h[AUTH_HASH_MAX];
	struct scrypt_params p;

	(void)state;
	assert_int_equal(auth_hash_password("pw", 2, &other, h, sizeof h), 0);
	assert_memory_equal(h, "$scrypt$ln=11,r=4,p=2$", 22);
	assert_int_equal(auth_hash_params(h, &p), 0);
	assert_int_equal(p.n_log2, 11);
	assert_int_equal(p.r, 4);
	assert_int_equal(p.p, 2);
	assert_int_equal(auth_verify_password("pw", 2, h), 1);
}

/* The RFC 7914 test vector verifies; a flipped key bit does not. */
static void
test_rfc7914_vector(void **state)
{
	char h[sizeof rfc7914_hash];

	(void)state;
	assert_int_equal(auth_verify_password("pleaseletmein", 13, rfc7914_hash), 1);
	assert_int_equal(auth_verify_password("pleaseletmeim", 13, rfc7914_hash), 0);
	memcpy(h, rfc7914_hash, sizeof h);
	h[sizeof h - 12] = h[sizeof h - 12] == 'A' ? 'B' : 'A'; /* change the key */
	assert_int_equal(auth_verify_password("pleaseletmein", 13, h), 0);
}

/* Malformed or over-expensive hashes are errors (-1), not mismatches. */
static void
test_malformed(void **state)
{
	static const char *bad[] = {
	    "",
	    "plaintext",
	    "$scrypt$",
	    "$scrypt$ln=10,r=8,p=1",
	    "$scrypt$ln=10,r=8,p=1$",
	    "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0$",
	    "$scrypt$ln=10,r=8,p=1$$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
	    "$scrypt$ln=10,r=8,p=1$!!!!$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
	    "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0$not base64 at all",
	    "$scrypt$ln=10,r=8,p=1$c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
	    "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5",
	    "$scrypt$ln=0,r=8,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
	    "$scrypt$ln=23,r=8,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
	    "$scrypt$ln=10,r=0,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
	    "$scrypt$ln=10,r=33,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
	    "$scrypt$ln=10,r=8,p=17$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
	    "$scrypt$ln=-1,r=8,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
	    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5",
	};
	struct scrypt_params p;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (auth_verify_password("pw", 2, bad[i]) != -1)
			fail_msg("verify did not refuse \"%s\"", bad[i]);
		if (auth_hash_params(bad[i], &p) != -1)
			fail_msg("params did not refuse \"%s\"", bad[i]);
	}
}

/* A well-formed hash that is not of this password, with a 12-byte salt. */
static void
test_wellformed_foreign(void **state)
{
	(void)state;
	assert_int_equal(auth_verify_password("pw", 2,
	                                      "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0$"
	                                      "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="),
	                 0);
}

/* An output buffer too small for the hash is an error, not a cut hash. */
static void
test_hash_buffer_small(void **state)
{
	char h[40];

	(void)state;
	assert_int_equal(auth_hash_password("pw", 2, &cheap, h, sizeof h), -1);
}

/* Tokens are 64 hex characters and never repeat. */
static void
test_token_new(void **state)
{
	char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1];

	(void)state;
	memset(a, 'x', sizeof a);
	assert_int_equal(auth_token_new(a), 0);
	assert_int_equal(strlen(a), AUTH_TOKEN_LEN);
	for (size_t i = 0; i < AUTH_TOKEN_LEN; i++)
		assert_true(isxdigit((unsigned char)a[i]));
	assert_int_equal(auth_token_new(b), 0);
	assert_string_not_equal(a, b);
}

/* The stored form of a token is its SHA-256 (FIPS 180-2 vector "abc"). */
static void
test_token_digest(void **state)
{
	static const unsigned char abc[AUTH_TOKEN_HASH] = {
	    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
	    0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
	    0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	unsigned char d[AUTH_TOKEN_HASH], e[AUTH_TOKEN_HASH];
	char t[AUTH_TOKEN_LEN + 1];

	(void)state;
	auth_token_digest("abc", 3, d);
	assert_memory_equal(d, abc, sizeof abc);
	assert_int_equal(auth_token_new(t), 0);
	auth_token_digest(t, strlen(t), d);
	auth_token_digest(t, strlen(t), e);
	assert_memory_equal(d, e, sizeof d);
	t[0] = t[0] == '0' ? '1' : '0';
	auth_token_digest(t, strlen(t), e);
	assert_memory_not_equal(d, e, sizeof d);
}

/* Cost bounds: OWASP's ln=17 r=8 p=1 and twice its memory pass; more
 * memory, or r * p over 64, is refused. */
static void
test_params_bounds(void **state)
{
	struct scrypt_params ok1 = {17, 8, 1}, ok2 = {18, 8, 1}, ok3 = {10, 8, 8};
	struct scrypt_params big1 = {19, 8, 1}, big2 = {22, 32, 1}, big3 = {10, 8, 9},
	                     zero = {0, 8, 1};

	(void)state;
	assert_true(auth_params_ok(&ok1));
	assert_true(auth_params_ok(&ok2));
	assert_true(auth_params_ok(&ok3));
	assert_false(auth_params_ok(&big1));
	assert_false(auth_params_ok(&big2));
	assert_false(auth_params_ok(&big3));
	assert_false(auth_params_ok(&zero));
	/* a stored hash with too high a cost is refused, not computed */
	assert_int_equal(auth_verify_password("x", 1,
	                                      "$scrypt$ln=22,r=32,p=1$c2FsdHNhbHRzYWx0c2FsdA==$"
	                                      "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="),
	                 -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_format),        cmocka_unit_test(test_verify_wrong),
	    cmocka_unit_test(test_salt_fresh),         cmocka_unit_test(test_cost_in_hash),
	    cmocka_unit_test(test_rfc7914_vector),     cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_wellformed_foreign), cmocka_unit_test(test_hash_buffer_small),
	    cmocka_unit_test(test_token_new),          cmocka_unit_test(test_token_digest),
	    cmocka_unit_test(test_params_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
