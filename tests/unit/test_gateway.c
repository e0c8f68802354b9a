/* test_gateway.c: ccgateway's pure parts, with hostile input throughout:
 * the x-www-form-urlencoded parser, the complaint's field checks (through
 * gw_text_ok and gw_form_fill, which carry the static checks: trimming,
 * choices, phone, e-mail, clean text), the request built from a form, the
 * per-contact key, the form tokens, the API keys file and matching, and
 * the token buckets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "gw.h"

/* 2026-11-23T07:04:00Z */
#define T0 1795417440000LL

/* s repeated n times (malloc'd). */
static char *
repeat(const char *s, size_t n)
{
	size_t len = strlen(s);
	char *out = malloc(len * n + 1);

	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		memcpy(out + i * len, s, len);
	out[len * n] = '\0';
	return out;
}

/* ---- gw_kvs_parse, gw_kvs_get ---- */

struct kvs_case {
	const char *body;
	size_t len; /* 0: strlen(body) */
	int rc;
	size_t n;
	const char *pairs[6]; /* the first fields' names and values */
};

static const struct kvs_case kvs_cases[] = {
    {"name=Zhang+San&phone=138", 0, 0, 2, {"name", "Zhang San", "phone", "138"}},
    {"", 0, 0, 0, {NULL}},
    {"&&&", 0, 0, 0, {NULL}},
    {"a=1&&b=2&", 0, 0, 2, {"a", "1", "b", "2"}},
    {"a", 0, 0, 1, {"a", ""}},
    {"a=", 0, 0, 1, {"a", ""}},
    {"=x", 0, 0, 1, {"", "x"}},
    {"a=b=c", 0, 0, 1, {"a", "b=c"}},
    {"+=+", 0, 0, 1, {" ", " "}},
    {"a=%41%42", 0, 0, 1, {"a", "AB"}},
    {"%61=1", 0, 0, 1, {"a", "1"}},
    {"a=%E4%B8%AD%e6%96%87", 0, 0, 1, {"a", "\xe4\xb8\xad\xe6\x96\x87"}},
    {"a=%2B+%20", 0, 0, 1, {"a", "+  "}},
    {"a=%25zz", 0, 0, 1, {"a", "%zz"}},
    {"a=%26b%3Dc", 0, 0, 1, {"a", "&b=c"}},
    {"a=%0D%0A", 0, 0, 1, {"a", "\r\n"}},
    {"a=%FF%FE", 0, 0, 1, {"a", "\xff\xfe"}}, /* bytes: the field checks refuse them */
    {"a=1&a=2", 0, 0, 2, {"a", "1", "a", "2"}},
    /* malformed escapes, NUL bytes */
    {"a=%zz", 0, -1, 0, {NULL}},
    {"a=%", 0, -1, 0, {NULL}},
    {"a=%4", 0, -1, 0, {NULL}},
    {"a=%4g", 0, -1, 0, {NULL}},
    {"a=%%41", 0, -1, 0, {NULL}},
    {"%zz=1", 0, -1, 0, {NULL}},
    {"ok=1&a=%", 0, -1, 0, {NULL}},
    {"a=%00", 0, -1, 0, {NULL}},
    {"a=x%00y", 0, -1, 0, {NULL}},
    {"%00=a", 0, -1, 0, {NULL}},
    {"a=b\0c", 5, -1, 0, {NULL}},
    {"a\0=b", 4, -1, 0, {NULL}},
};

static void
test_kvs_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof kvs_cases / sizeof kvs_cases[0]; i++) {
		const struct kvs_case *c = &kvs_cases[i];
		struct gw_kvs kv;
		size_t len = c->len ? c->len : strlen(c->body);
		int rc = gw_kvs_parse(&kv, c->body, len);

		if (rc != c->rc)
			fail_msg("case %zu (%s): rc %d, want %d", i, c->body, rc, c->rc);
		assert_int_equal(kv.n, c->n);
		for (size_t j = 0; j < 3 && c->pairs[2 * j] != NULL; j++) {
			assert_string_equal(kv.items[j].name, c->pairs[2 * j]);
			assert_string_equal(kv.items[j].value, c->pairs[2 * j + 1]);
		}
		gw_kvs_free(&kv);
		assert_int_equal(kv.n, 0);
	}
}

static void
test_kvs_get(void **state)
{
	struct gw_kvs kv;
	const char body[] = "name=Li&a=1&a=2&empty=&Name=X";

	(void)state;
	assert_int_equal(gw_kvs_parse(&kv, body, strlen(body)), 0);
	assert_string_equal(gw_kvs_get(&kv, "name"), "Li");
	assert_string_equal(gw_kvs_get(&kv, "Name"), "X"); /* names are case-sensitive */
	assert_string_equal(gw_kvs_get(&kv, "a"), "1");    /* the first of repeated keys */
	assert_string_equal(gw_kvs_get(&kv, "empty"), "");
	assert_null(gw_kvs_get(&kv, "missing"));
	assert_null(gw_kvs_get(&kv, ""));
	gw_kvs_free(&kv);
	assert_null(gw_kvs_get(&kv, "name"));
}

/* body of n fields "fI=I" (malloc'd). */
static char *
fields(size_t n)
{
	char *s = malloc(n * 16 + 1), *p = s;

	assert_non_null(s);
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%sf%zu=%zu", i ? "&" : "", i, i);
	return s;
}

static void
test_kvs_bounds(void **state)
{
	struct gw_kvs kv;
	char *s;

	(void)state;
	s = fields(24);
	assert_int_equal(gw_kvs_parse(&kv, s, strlen(s)), 0);
	assert_int_equal(kv.n, 24);
	assert_string_equal(gw_kvs_get(&kv, "f23"), "23");
	gw_kvs_free(&kv);
	free(s);

	s = fields(25);
	assert_int_equal(gw_kvs_parse(&kv, s, strlen(s)), -1);
	assert_int_equal(kv.n, 0);
	free(s);

	s = fields(10000);
	assert_int_equal(gw_kvs_parse(&kv, s, strlen(s)), -1);
	assert_int_equal(kv.n, 0);
	free(s);

	/* empty fields do not count */
	s = repeat("&", 10000);
	assert_int_equal(gw_kvs_parse(&kv, s, strlen(s)), 0);
	assert_int_equal(kv.n, 0);
	free(s);

	/* a long value is the field checks' business */
	char *v = repeat("%E4%B8%AD", 20000);
	s = malloc(strlen(v) + 8);
	assert_non_null(s);
	sprintf(s, "d=%s", v);
	assert_int_equal(gw_kvs_parse(&kv, s, strlen(s)), 0);
	assert_int_equal(strlen(gw_kvs_get(&kv, "d")), 60000);
	gw_kvs_free(&kv);
	free(s);
	free(v);
}

/* ---- gw_text_ok (gw_clean) ---- */

struct text_case {
	const char *s;
	size_t max;
	int multiline;
	int want;
};

static const struct text_case text_cases[] = {
    {"", 10, 0, 0},
    {"", 10, 1, 0},
    {"a", 1, 0, 1},
    {"ab", 1, 0, 0},
    {"\xe4\xb8\xad\xe6\x96\x87", 2, 0, 1}, /* characters, not bytes */
    {"\xe4\xb8\xad\xe6\x96\x87", 1, 0, 0},
    {"\xf0\x9f\x98\x80", 1, 0, 1},
    {"a\nb", 10, 0, 0},
    {"a\nb", 10, 1, 1},
    {"a\r\nb", 10, 0, 0},
    {"a\r\nb", 10, 1, 1},
    {"a\tb", 10, 0, 0},
    {"a\tb", 10, 1, 1},
    {"\x01", 10, 0, 0},
    {"\x01", 10, 1, 0},
    {"a\x1b[31m", 10, 1, 0},
    {"a\x7f", 10, 1, 0},
    {"a\x0b", 10, 1, 0},
    {"a\xc2\x85", 10, 0, 0}, /* C1 NEL: not in one line */
    {"a\xc2\x85", 10, 1, 1}, /* free text keeps it; outputs neutralise it */
    {"a\xc2\x9b", 10, 0, 0}, /* C1 CSI */
    {"a\xc2\x9b", 10, 1, 1},
    {"a\xc2\xa0", 10, 0, 1},       /* no-break space */
    {"abc\xe2\x80\xae", 10, 0, 1}, /* RLO: passes, neutralised on output */
    {"\xef\xbb\xbf"
     "a",
     10, 0, 1},                     /* BOM */
    {"\xff", 10, 1, 0},             /* not UTF-8 */
    {"a\xc0\xaf", 10, 1, 0},        /* overlong / */
    {"\xe0\x80\xaf", 10, 1, 0},     /* overlong / */
    {"\xed\xa0\x80", 10, 1, 0},     /* surrogate */
    {"\xe4\xb8", 10, 1, 0},         /* cut short */
    {"\xf4\x90\x80\x80", 10, 1, 0}, /* above U+10FFFF */
    {"\x80", 10, 1, 0},             /* lone continuation byte */
};

static void
test_text_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof text_cases / sizeof text_cases[0]; i++) {
		const struct text_case *c = &text_cases[i];
		int got = gw_text_ok(c->s, c->max, c->multiline);
		if (got != c->want)
			fail_msg("case %zu: gw_text_ok = %d, want %d", i, got, c->want);
	}
	assert_int_equal(gw_text_ok(NULL, 10, 1), 0);

	/* at the limit, and one over, in four-byte characters */
	char *s = repeat("\xf0\xa0\x80\x80", 128);
	assert_int_equal(gw_text_ok(s, 128, 0), 1);
	assert_int_equal(gw_text_ok(s, 127, 0), 0);
	free(s);
	s = repeat("a", 4001);
	assert_int_equal(gw_text_ok(s, 4001, 1), 1);
	assert_int_equal(gw_text_ok(s, 4000, 1), 0);
	free(s);
}

/* What a one-line field may keep (bidirectional marks among it) is
 * neutralised on the way out: page_escape shows overrides, embeddings and
 * isolates as U+FFFD, as ccagent's sanitizer drops them. */
static void
test_escape_bidi(void **state)
{
	struct {
		const char *in, *want;
	} cases[] = {
	    {"abc\xe2\x80\xae"
	     "fed",
	     "abc\xef\xbf\xbd"
	     "fed"},                                                  /* RLO */
	    {"\xe2\x80\xaa\xe2\x80\xac", "\xef\xbf\xbd\xef\xbf\xbd"}, /* LRE, PDF */
	    {"a\xe2\x81\xa6"
	     "b\xe2\x81\xa9",
	     "a\xef\xbf\xbd"
	     "b\xef\xbf\xbd"}, /* LRI, PDI */
	    {"a\xe2\x80\x8f"
	     "b",
	     "a\xe2\x80\x8f"
	     "b"}, /* RLM: a mark, kept */
	    {"a\xe2\x80\xa9"
	     "b",
	     "a\xe2\x80\xa9"
	     "b"}, /* paragraph separator, kept */
	    {"a\xc2\x85<b>", "a\xef\xbf\xbd&lt;b&gt;"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct evbuffer *b = evbuffer_new();
		assert_non_null(b);
		page_escape(b, cases[i].in);
		size_t len = evbuffer_get_length(b);
		char *out = calloc(1, len + 1);
		assert_non_null(out);
		evbuffer_remove(b, out, len);
		assert_string_equal(out, cases[i].want);
		free(out);
		evbuffer_free(b);
	}
}

/* ---- gw_form_fill ---- */

/* What a request carries: NULL when absent, gw_not_text when not a string. */
struct form_in {
	const char *name, *phone, *email, *order, *category, *description, *resolution, *urgency;
};

static const struct form_in form_ok = {
    "\xe5\xbc\xa0\xe4\xb8\x89",                         /* 张三 */
    "+86 138-0013-8000",                                /* phone */
    NULL,                                               /* email */
    NULL,                                               /* order */
    "delivery",                                         /* category */
    "\xe5\x8c\x85\xe8\xa3\xb9\xe6\xb2\xa1\xe5\x88\xb0", /* 包裹没到 */
    "refund",                                           /* resolution */
    NULL,                                               /* urgency */
};

static const char **
form_member(struct form_in *in, const char *field)
{
	static const char *const names[] = {"name",     "phone",       "email",      "order",
	                                    "category", "description", "resolution", "urgency"};
	const char **members[] = {&in->name,     &in->phone,       &in->email,      &in->order,
	                          &in->category, &in->description, &in->resolution, &in->urgency};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(field, names[i]) == 0)
			return members[i];
	fail_msg("no field %s", field);
	return NULL;
}

static const char *
form_get(void *arg, const char *field)
{
	return *form_member(arg, field);
}

static size_t
fill(struct gw_form *f, struct gw_field_error *errs, const struct form_in *in)
{
	struct form_in copy = *in;

	memset(errs, 0xA5, GW_MAX_FIELD_ERRORS * sizeof *errs);
	return gw_form_fill(f, form_get, &copy, errs);
}

#define OK (-1)

struct field_case {
	const char *field;
	const char *value;
	int problem; /* OK: no error at all; else exactly this one, on field */
	const char *err_field;
};

static const struct field_case field_cases[] = {
    {"name", "Zhang San", OK, NULL},
    {"name", NULL, GW_PROBLEM_MISSING, "name"},
    {"name", "", GW_PROBLEM_MISSING, "name"},
    {"name", " \t \r\n", GW_PROBLEM_MISSING, "name"},
    {"name", "Zhang\r\nSan", GW_PROBLEM_INVALID, "name"},
    {"name", "Zhang\nSan", GW_PROBLEM_INVALID, "name"},
    {"name", "Zhang\tSan", GW_PROBLEM_INVALID, "name"},
    {"name", "a\x1b[2J", GW_PROBLEM_INVALID, "name"},
    {"name",
     "a\xc2\x9b"
     "2J",
     GW_PROBLEM_INVALID, "name"},
    {"name", "a\x7f", GW_PROBLEM_INVALID, "name"},
    {"name", "\xff\xfe", GW_PROBLEM_INVALID, "name"},
    {"name",
     "abc\xe2\x80\xae"
     "fed",
     OK, NULL},
    {"name", gw_not_text, GW_PROBLEM_INVALID, "name"},

    {"phone", "13800138000", OK, NULL},
    {"phone", "(010) 6552.1234", OK, NULL},
    {"phone", "12345", OK, NULL},
    {"phone", "1234", GW_PROBLEM_INVALID, "phone"},
    {"phone", "12345678901234567890", OK, NULL},
    {"phone", "123456789012345678901", GW_PROBLEM_INVALID, "phone"},
    {"phone", "12+345678", GW_PROBLEM_INVALID, "phone"},
    {"phone", "++8613800138000", GW_PROBLEM_INVALID, "phone"},
    {"phone", "+", GW_PROBLEM_INVALID, "phone"},
    {"phone", "138 0013 800a", GW_PROBLEM_INVALID, "phone"},
    {"phone", "138\r\n00138000", GW_PROBLEM_INVALID, "phone"},
    {"phone", "13800138000\r\n", OK, NULL},
    {"phone", "\xef\xbc\x91\xef\xbc\x93\xef\xbc\x98\xef\xbc\x90\xef\xbc\x90", GW_PROBLEM_INVALID,
     "phone"}, /* full-width digits */
    {"phone",
     "138\xff"
     "00138000",
     GW_PROBLEM_INVALID, "phone"},
    {"phone", "", GW_PROBLEM_CONTACT, "phone"},
    {"phone", NULL, GW_PROBLEM_CONTACT, "phone"},
    {"phone", gw_not_text, GW_PROBLEM_INVALID, "phone"},

    {"email", "a@b.c", OK, NULL},
    {"email", "zhang.san+cc@example.com.cn", OK, NULL},
    {"email", "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe4\xb8\xad\xe5\x9b\xbd", OK,
     NULL},
    {"email", "@b.c", GW_PROBLEM_INVALID, "email"},
    {"email", "a@", GW_PROBLEM_INVALID, "email"},
    {"email", "a@b", GW_PROBLEM_INVALID, "email"},
    {"email", "a@b.", GW_PROBLEM_INVALID, "email"},
    {"email", "a@.c", GW_PROBLEM_INVALID, "email"},
    {"email", "a@@b.c", GW_PROBLEM_INVALID, "email"},
    {"email", "a@b@c.d", GW_PROBLEM_INVALID, "email"},
    {"email", "a b@c.d", GW_PROBLEM_INVALID, "email"},
    {"email", "a<b@c.d", GW_PROBLEM_INVALID, "email"},
    {"email", "\"a\"@c.d", GW_PROBLEM_INVALID, "email"},
    {"email", "a@b.c\r\nBcc: x@y.z", GW_PROBLEM_INVALID, "email"},
    {"email", "a\xc2\x85@b.c", GW_PROBLEM_INVALID, "email"},
    {"email", "a\xff@b.c", GW_PROBLEM_INVALID, "email"},
    {"email", "a\x01@b.c", GW_PROBLEM_INVALID, "email"},
    {"email", gw_not_text, GW_PROBLEM_INVALID, "email"},

    {"order", "", OK, NULL},
    {"order", "ORD-2026-1", OK, NULL},
    {"order", "A\r\nB", GW_PROBLEM_INVALID, "order"},
    {"order", "A\tB", GW_PROBLEM_INVALID, "order"},
    {"order", "A\xc2\x85", GW_PROBLEM_INVALID, "order"},
    {"order", gw_not_text, GW_PROBLEM_INVALID, "order"},

    {"category", "delivery", OK, NULL},
    {"category", "product", OK, NULL},
    {"category", "refund", OK, NULL},
    {"category", "service", OK, NULL},
    {"category", "billing", OK, NULL},
    {"category", "other", OK, NULL},
    {"category", " other\n", OK, NULL},
    {"category", "Delivery", GW_PROBLEM_CHOICE, "category"},
    {"category", "weather", GW_PROBLEM_CHOICE, "category"},
    {"category", "deliveryx", GW_PROBLEM_CHOICE, "category"},
    {"category", "", GW_PROBLEM_MISSING, "category"},
    {"category", NULL, GW_PROBLEM_MISSING, "category"},
    {"category", gw_not_text, GW_PROBLEM_INVALID, "category"},

    {"description", "line 1\r\nline 2\n\tindented", OK, NULL},
    {"description",
     "a\xc2\x85"
     "b",
     OK, NULL},
    {"description", "a\x01", GW_PROBLEM_INVALID, "description"},
    {"description", "a\x7f", GW_PROBLEM_INVALID, "description"},
    {"description", "a\x1b[31m", GW_PROBLEM_INVALID, "description"},
    {"description", "a\xed\xa0\x80", GW_PROBLEM_INVALID, "description"},
    {"description", "", GW_PROBLEM_MISSING, "description"},
    {"description", NULL, GW_PROBLEM_MISSING, "description"},
    {"description", gw_not_text, GW_PROBLEM_INVALID, "description"},

    {"resolution", "refund", OK, NULL},
    {"resolution", "exchange", OK, NULL},
    {"resolution", "apology", OK, NULL},
    {"resolution", "compensation", OK, NULL},
    {"resolution", "other", OK, NULL},
    {"resolution", "Refund", GW_PROBLEM_CHOICE, "resolution"},
    {"resolution", "", GW_PROBLEM_MISSING, "resolution"},
    {"resolution", gw_not_text, GW_PROBLEM_INVALID, "resolution"},

    {"urgency", NULL, OK, NULL},
    {"urgency", "", OK, NULL},
    {"urgency", "low", OK, NULL},
    {"urgency", "normal", OK, NULL},
    {"urgency", "high", OK, NULL},
    {"urgency", "urgent", OK, NULL},
    {"urgency", "HIGH", GW_PROBLEM_CHOICE, "urgency"},
    {"urgency", "critical", GW_PROBLEM_CHOICE, "urgency"},
    {"urgency", gw_not_text, GW_PROBLEM_INVALID, "urgency"},
};

/* One field set to value on a valid form: no error, or exactly one. */
static void
check_field(const char *field, const char *value, int problem, const char *err_field,
            const char *what)
{
	struct gw_field_error errs[GW_MAX_FIELD_ERRORS];
	struct form_in in = form_ok;
	struct gw_form *f = malloc(sizeof *f);
	size_t n;

	assert_non_null(f);
	*form_member(&in, field) = value;
	n = fill(f, errs, &in);
	if (problem == OK && n != 0)
		fail_msg("%s: %zu errors, first %s/%d", what, n, errs[0].field, errs[0].problem);
	if (problem != OK &&
	    (n != 1 || strcmp(errs[0].field, err_field) != 0 || (int)errs[0].problem != problem))
		fail_msg("%s: %zu errors, first %s/%d; want %s/%d", what, n,
		         n ? errs[0].field : "-", n ? (int)errs[0].problem : -1, err_field,
		         problem);
	free(f);
}

static void
test_fill_table(void **state)
{
	char what[64];

	(void)state;
	for (size_t i = 0; i < sizeof field_cases / sizeof field_cases[0]; i++) {
		const struct field_case *c = &field_cases[i];
		snprintf(what, sizeof what, "case %zu (%s)", i, c->field);
		check_field(c->field, c->value, c->problem, c->err_field, what);
	}
}

/* s of n bytes: prefix, then pad repeated up to n (malloc'd). */
static char *
sized(const char *prefix, const char *pad, size_t n)
{
	char *s = malloc(n + 1);
	size_t p = strlen(prefix), q = strlen(pad);

	assert_non_null(s);
	memcpy(s, prefix, p);
	for (size_t i = p; i < n; i++)
		s[i] = pad[(i - p) % q];
	s[n] = '\0';
	return s;
}

/* Lengths at the exact limit and one over, in bytes and in characters. */
static void
test_fill_limits(void **state)
{
	struct {
		const char *field, *unit;
		size_t at; /* units at the limit */
		int problem;
	} limits[] = {
	    {"name", "a", 128, GW_PROBLEM_TOO_LONG},
	    {"name", "\xf0\xa0\x80\x80", 128, GW_PROBLEM_TOO_LONG},
	    {"name", "\xe4\xb8\xad", 128, GW_PROBLEM_TOO_LONG},
	    {"order", "x", 64, GW_PROBLEM_TOO_LONG},
	    {"description", "a", 4000, GW_PROBLEM_TOO_LONG},
	    {"description", "\xf0\x9f\x98\x80", 4000, GW_PROBLEM_TOO_LONG},
	    {"description", "\xe4\xb8\xad\n", 2000, GW_PROBLEM_TOO_LONG},
	};
	char what[64];

	(void)state;
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		char *at = repeat(limits[i].unit, limits[i].at);
		char *over = repeat(limits[i].unit, limits[i].at + 1);
		if (strcmp(limits[i].unit, "\xe4\xb8\xad\n") == 0)
			over[strlen(over) - 1] = '\0'; /* 4001 characters */
		snprintf(what, sizeof what, "limit %zu at", i);
		check_field(limits[i].field, at, OK, NULL, what);
		snprintf(what, sizeof what, "limit %zu over", i);
		check_field(limits[i].field, over, limits[i].problem, limits[i].field, what);
		free(at);
		free(over);
	}

	/* phone: 64 bytes with 5 digits, then 65 */
	char *s = sized("12345", "-", 64);
	check_field("phone", s, OK, NULL, "phone of 64 bytes");
	free(s);
	s = sized("12345", "-", 65);
	check_field("phone", s, GW_PROBLEM_TOO_LONG, "phone", "phone of 65 bytes");
	free(s);
	/* e-mail: 254 bytes, then 255 */
	s = sized("a@", "b.c", 254);
	s[253] = 'c';
	check_field("email", s, OK, NULL, "e-mail of 254 bytes");
	free(s);
	s = sized("a@", "b.c", 255);
	s[254] = 'c';
	check_field("email", s, GW_PROBLEM_TOO_LONG, "email", "e-mail of 255 bytes");
	free(s);

	/* far over the trimming buffer, in three-byte characters: too long,
	 * not "invalid" because the cut fell inside a character */
	s = repeat("\xe4\xb8\xad", 6000);
	check_field("name", s, GW_PROBLEM_TOO_LONG, "name", "name of 6000 CJK");
	check_field("description", s, GW_PROBLEM_TOO_LONG, "description", "6000 CJK");
	free(s);
	s = repeat("a", 70000);
	check_field("description", s, GW_PROBLEM_TOO_LONG, "description", "70000 bytes");
	check_field("phone", s, GW_PROBLEM_TOO_LONG, "phone", "phone of 70000 bytes");
	check_field("category", s, GW_PROBLEM_CHOICE, "category", "category of 70000 bytes");
	free(s);
}

/* The values kept to show the form again. */
static void
test_fill_values(void **state)
{
	struct gw_field_error errs[GW_MAX_FIELD_ERRORS];
	struct gw_form *f = malloc(sizeof *f);
	struct form_in in = form_ok;

	(void)state;
	assert_non_null(f);
	in.name = "\t Zhang San \r\n";
	in.email = "  a@b.c ";
	in.order = " ORD-1\t";
	in.category = " billing\n";
	in.description = " \tline 1\n  line 2\r\n\n";
	in.urgency = "high";
	assert_int_equal(fill(f, errs, &in), 0);
	assert_string_equal(f->name, "Zhang San");
	assert_string_equal(f->phone, "+86 138-0013-8000");
	assert_string_equal(f->email, "a@b.c");
	assert_string_equal(f->order, "ORD-1");
	assert_string_equal(f->category, "billing");
	assert_string_equal(f->description, "line 1\n  line 2");
	assert_string_equal(f->resolution, "refund");
	assert_string_equal(f->urgency, "high");

	/* refused values that are text are kept; those that are not UTF-8,
	 * or not strings, are not */
	in = form_ok;
	in.phone = "12+3";
	in.email = "a\xff@b.c";
	in.name = gw_not_text;
	in.category = "weather";
	in.urgency = "critical";
	assert_int_equal(fill(f, errs, &in), 5);
	assert_string_equal(f->phone, "12+3");
	assert_string_equal(f->email, "");
	assert_string_equal(f->name, "");
	assert_string_equal(f->category, ""); /* a choice is kept only when valid */
	assert_string_equal(f->urgency, "");

	/* an over-long name is kept cut at a character boundary */
	char *s = repeat("\xf0\xa0\x80\x80", 200);
	in = form_ok;
	in.name = s;
	assert_int_equal(fill(f, errs, &in), 1);
	assert_int_equal(strlen(f->name), 512);
	assert_int_equal(gw_text_ok(f->name, 128, 0), 1);
	free(s);
	s = repeat("\xe4\xb8\xad", 6000);
	in.name = s;
	assert_int_equal(fill(f, errs, &in), 1);
	assert_int_equal(strlen(f->name), 510);
	free(s);
	free(f);
}

/* expected: field, problem, ..., NULL */
static void
expect_errors(const struct gw_field_error *errs, size_t n, ...)
{
	va_list ap;
	size_t i = 0;
	const char *field;

	va_start(ap, n);
	while ((field = va_arg(ap, const char *)) != NULL) {
		int problem = va_arg(ap, int);
		if (i >= n)
			fail_msg("error %zu (%s) missing", i, field);
		if (strcmp(errs[i].field, field) != 0 || (int)errs[i].problem != problem)
			fail_msg("error %zu: %s/%d, want %s/%d", i, errs[i].field, errs[i].problem,
			         field, problem);
		i++;
	}
	va_end(ap);
	assert_int_equal(n, i);
}

static void
test_fill_errors(void **state)
{
	struct gw_field_error errs[GW_MAX_FIELD_ERRORS];
	struct gw_form *f = malloc(sizeof *f);
	struct form_in in = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
	size_t n;

	(void)state;
	assert_non_null(f);
	/* nothing sent */
	n = fill(f, errs, &in);
	expect_errors(errs, n, "name", GW_PROBLEM_MISSING, "phone", GW_PROBLEM_CONTACT, "category",
	              GW_PROBLEM_MISSING, "description", GW_PROBLEM_MISSING, "resolution",
	              GW_PROBLEM_MISSING, NULL);

	/* every member of another JSON type: one error each, in form order */
	in = (struct form_in){gw_not_text, gw_not_text, gw_not_text, gw_not_text,
	                      gw_not_text, gw_not_text, gw_not_text, gw_not_text};
	n = fill(f, errs, &in);
	expect_errors(errs, n, "name", GW_PROBLEM_INVALID, "phone", GW_PROBLEM_INVALID, "email",
	              GW_PROBLEM_INVALID, "order", GW_PROBLEM_INVALID, "category",
	              GW_PROBLEM_INVALID, "description", GW_PROBLEM_INVALID, "resolution",
	              GW_PROBLEM_INVALID, "urgency", GW_PROBLEM_INVALID, NULL);

	/* everything wrong */
	char *longname = repeat("a", 129);
	in = (struct form_in){longname, "1", "x", "a\nb", "x", "\x01", "x", "x"};
	n = fill(f, errs, &in);
	expect_errors(errs, n, "name", GW_PROBLEM_TOO_LONG, "phone", GW_PROBLEM_INVALID, "email",
	              GW_PROBLEM_INVALID, "order", GW_PROBLEM_INVALID, "category",
	              GW_PROBLEM_CHOICE, "description", GW_PROBLEM_INVALID, "resolution",
	              GW_PROBLEM_CHOICE, "urgency", GW_PROBLEM_CHOICE, NULL);
	free(longname);

	/* an e-mail alone is a contact */
	in = form_ok;
	in.phone = NULL;
	in.email = "a@b.c";
	assert_int_equal(fill(f, errs, &in), 0);
	in.phone = "  ";
	in.email = "";
	n = fill(f, errs, &in);
	expect_errors(errs, n, "phone", GW_PROBLEM_CONTACT, NULL);
	free(f);
}

/* ---- gw_form_request, gw_form_contact_key ---- */

static void
test_form_request(void **state)
{
	struct gw_field_error errs[GW_MAX_FIELD_ERRORS];
	struct gw_form *f = malloc(sizeof *f);
	struct form_in in = form_ok;
	json_t *r;

	(void)state;
	assert_non_null(f);
	assert_int_equal(fill(f, errs, &in), 0);
	r = gw_form_request(f, GW_LANG_ZH, NULL);
	assert_non_null(r);
	assert_int_equal(json_object_size(r), 7);
	assert_string_equal(json_string_value(json_object_get(r, "op")), "complaint.file");
	assert_string_equal(json_string_value(json_object_get(r, "name")), form_ok.name);
	assert_string_equal(json_string_value(json_object_get(r, "phone")), form_ok.phone);
	assert_string_equal(json_string_value(json_object_get(r, "category")), "delivery");
	assert_string_equal(json_string_value(json_object_get(r, "description")),
	                    form_ok.description);
	assert_string_equal(json_string_value(json_object_get(r, "resolution")), "refund");
	assert_string_equal(json_string_value(json_object_get(r, "language")), "zh-CN");
	assert_null(json_object_get(r, "email"));
	assert_null(json_object_get(r, "urgency"));
	json_decref(r);

	in.phone = NULL;
	in.email = "a@b.c";
	in.order = "ORD-1";
	in.urgency = "urgent";
	assert_int_equal(fill(f, errs, &in), 0);
	r = gw_form_request(f, GW_LANG_EN, "form-AAAAAAAAAAAAAAAAAAAAAA");
	assert_non_null(r);
	assert_int_equal(json_object_size(r), 10);
	assert_null(json_object_get(r, "phone"));
	assert_string_equal(json_string_value(json_object_get(r, "email")), "a@b.c");
	assert_string_equal(json_string_value(json_object_get(r, "order")), "ORD-1");
	assert_string_equal(json_string_value(json_object_get(r, "urgency")), "urgent");
	assert_string_equal(json_string_value(json_object_get(r, "language")), "en");
	assert_string_equal(json_string_value(json_object_get(r, "idempotency_key")),
	                    "form-AAAAAAAAAAAAAAAAAAAAAA");
	json_decref(r);

	r = gw_form_request(f, GW_LANG_EN, "");
	assert_non_null(r);
	assert_null(json_object_get(r, "idempotency_key"));
	json_decref(r);
	free(f);
}

static void
test_contact_key(void **state)
{
	struct {
		const char *phone, *email, *want;
	} cases[] = {
	    {"+86 138-0013-8000", NULL, "p:13800138000"},
	    {"13800138000", "a@b.c", "p:13800138000"},
	    {"0086 (138) 0013.8000", NULL, "p:13800138000"},
	    {"010-6552-1234", NULL, "p:01065521234"},
	    {"12345", NULL, "p:12345"},
	    {NULL, "Zhang.San@Example.COM", "e:zhang.san@example.com"},
	    {NULL, NULL, ""},
	};
	struct gw_field_error errs[GW_MAX_FIELD_ERRORS];
	struct gw_form *f = malloc(sizeof *f);
	char key[300];

	(void)state;
	assert_non_null(f);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct form_in in = form_ok;
		in.phone = cases[i].phone;
		in.email = cases[i].email;
		fill(f, errs, &in);
		memset(key, 'x', sizeof key);
		gw_form_contact_key(f, key, sizeof key);
		assert_string_equal(key, cases[i].want);
	}
	struct form_in in = form_ok;
	fill(f, errs, &in);
	gw_form_contact_key(f, key, 5);
	assert_string_equal(key, "p:13");
	free(f);
}

/* ---- encodings ---- */

static void
test_encodings(void **state)
{
	struct {
		const char *in;
		size_t n;
		const char *want;
	} b64[] = {
	    {"", 0, ""},
	    {"f", 1, "Zg"},
	    {"fo", 2, "Zm8"},
	    {"foo", 3, "Zm9v"},
	    {"\xfb\xff", 2, "-_8"},
	    {"\xfb\xef\xbe", 3, "----"},
	    {"\xff\xff\xff", 3, "____"},
	};
	char out[16], hex[65];

	(void)state;
	for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
		gw_b64url(out, (const unsigned char *)b64[i].in, b64[i].n);
		assert_string_equal(out, b64[i].want);
	}
	gw_sha256_hex(hex, "abc", 3);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	gw_sha256_hex(hex, "", 0);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* ---- form tokens ---- */

static struct gw_config cfg_a, cfg_b;

static void
cfg_secret(struct gw_config *cfg, const char *secret)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->form_token_ttl = 7200;
	cfg->form_secret_len = strlen(secret);
	memcpy(cfg->form_secret, secret, cfg->form_secret_len);
}

static int
token_setup(void **state)
{
	(void)state;
	cfg_secret(&cfg_a, "form-secret-for-tests-0123456789");
	cfg_secret(&cfg_b, "form-secret-for-tests-0123456788");
	return 0;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The base64url character whose 6-bit value differs from c's in bit. */
static char
b64_flip(char c, int bit)
{
	const char *p = strchr(b64chars, c);

	assert_non_null(p);
	return b64chars[(p - b64chars) ^ (1 << bit)];
}

static enum gw_token_check
check_at(const struct gw_config *cfg, const char *token, int64_t now)
{
	char nonce[GW_NONCE_LEN + 1];

	return gw_form_token_check(cfg, token, now, nonce);
}

/* The token's fields: offsets of the nonce and of the MAC. */
static void
token_parts(const char *t, size_t *nonce_at, size_t *mac_at)
{
	const char *dot = strchr(t + 2, '.');

	assert_non_null(dot);
	*nonce_at = (size_t)(dot + 1 - t);
	*mac_at = *nonce_at + GW_NONCE_LEN + 1;
	assert_int_equal(strlen(t), *mac_at + 43);
	assert_int_equal(t[*mac_at - 1], '.');
}

/* HMAC-SHA256 over "1|issued|nonce", computed independently (Python's
 * hmac module) for the secret of cfg_a. */
static void
test_token_known_answer(void **state)
{
	char t[GW_FORM_TOKEN_MAX], nonce[GW_NONCE_LEN + 1];

	(void)state;
	gw_form_token_renew(&cfg_a, T0, "AAAAAAAAAAAAAAAAAAAAAA", t);
	assert_string_equal(
	    t,
	    "1.1795417440000.AAAAAAAAAAAAAAAAAAAAAA.4Jj-irUiOgaW_2stdYBOuSMnEub9XxXl735jtMr1lwk");
	assert_int_equal(gw_form_token_check(&cfg_a, t, T0, nonce), GW_TOKEN_OK);
	assert_string_equal(nonce, "AAAAAAAAAAAAAAAAAAAAAA");
}

static void
test_token_time(void **state)
{
	char t[GW_FORM_TOKEN_MAX], t2[GW_FORM_TOKEN_MAX], nonce[GW_NONCE_LEN + 1];
	size_t nonce_at, mac_at;

	(void)state;
	gw_form_token_make(&cfg_a, T0, t);
	token_parts(t, &nonce_at, &mac_at);
	assert_true(strncmp(t, "1.1795417440000.", 16) == 0);
	assert_int_equal(gw_form_token_check(&cfg_a, t, T0, nonce), GW_TOKEN_OK);
	assert_int_equal(strlen(nonce), GW_NONCE_LEN);
	assert_memory_equal(nonce, t + nonce_at, GW_NONCE_LEN);

	/* the TTL to the millisecond */
	assert_int_equal(check_at(&cfg_a, t, T0 + 7200 * 1000LL), GW_TOKEN_OK);
	assert_int_equal(check_at(&cfg_a, t, T0 + 7200 * 1000LL + 1), GW_TOKEN_EXPIRED);
	assert_int_equal(check_at(&cfg_a, t, INT64_MAX / 2), GW_TOKEN_EXPIRED);
	/* issued in the future: a minute of clock skew, not more */
	assert_int_equal(check_at(&cfg_a, t, T0 - 60000), GW_TOKEN_OK);
	assert_int_equal(check_at(&cfg_a, t, T0 - 60001), GW_TOKEN_EXPIRED);
	assert_int_equal(check_at(&cfg_a, t, 0), GW_TOKEN_EXPIRED);

	/* two tokens at once have different nonces */
	gw_form_token_make(&cfg_a, T0, t2);
	assert_string_not_equal(t, t2);
	assert_memory_not_equal(t + nonce_at, t2 + nonce_at, GW_NONCE_LEN);
}

static void
test_token_renew(void **state)
{
	char t[GW_FORM_TOKEN_MAX], r[GW_FORM_TOKEN_MAX], nonce[GW_NONCE_LEN + 1],
	    again[GW_NONCE_LEN + 1];
	const int64_t later = T0 + 3600 * 1000LL;

	(void)state;
	gw_form_token_make(&cfg_a, T0, t);
	assert_int_equal(gw_form_token_check(&cfg_a, t, later, nonce), GW_TOKEN_OK);
	gw_form_token_renew(&cfg_a, later, nonce, r);
	assert_string_not_equal(t, r);
	assert_true(strncmp(r, "1.1795421040000.", 16) == 0);
	assert_int_equal(gw_form_token_check(&cfg_a, r, later, again), GW_TOKEN_OK);
	assert_string_equal(again, nonce);
	/* the old one expires at its time, the renewed one an hour later */
	assert_int_equal(check_at(&cfg_a, t, T0 + 7200 * 1000LL + 1), GW_TOKEN_EXPIRED);
	assert_int_equal(check_at(&cfg_a, r, T0 + 7200 * 1000LL + 1), GW_TOKEN_OK);
	assert_int_equal(check_at(&cfg_a, r, later + 7200 * 1000LL + 1), GW_TOKEN_EXPIRED);
	/* renewed under another secret: not ours */
	gw_form_token_renew(&cfg_b, later, nonce, r);
	assert_int_equal(check_at(&cfg_a, r, later), GW_TOKEN_FORGED);
}

static void
test_token_forged(void **state)
{
	char t[GW_FORM_TOKEN_MAX], m[GW_FORM_TOKEN_MAX + 8];
	size_t nonce_at, mac_at, len;

	(void)state;
	gw_form_token_make(&cfg_a, T0, t);
	token_parts(t, &nonce_at, &mac_at);
	len = strlen(t);
	assert_int_equal(check_at(&cfg_b, t, T0), GW_TOKEN_FORGED);

	/* one bit of the nonce or of the MAC (also the MAC's last
	 * character's unused low bits) */
	for (size_t i = nonce_at; i < len; i++) {
		if (i == mac_at - 1)
			continue;
		for (int bit = 0; bit < 6; bit++) {
			strcpy(m, t);
			m[i] = b64_flip(t[i], bit);
			if (check_at(&cfg_a, m, T0) != GW_TOKEN_FORGED)
				fail_msg("bit %d of byte %zu: %s accepted", bit, i, m);
		}
	}
	/* a digit of the issue time */
	for (size_t i = 2; i < nonce_at - 1; i++) {
		strcpy(m, t);
		m[i] = m[i] == '9' ? '8' : (char)(m[i] + 1);
		assert_int_equal(check_at(&cfg_a, m, T0), GW_TOKEN_FORGED);
	}
	/* every truncation, and one character more */
	for (size_t i = 0; i < len; i++) {
		memcpy(m, t, i);
		m[i] = '\0';
		if (check_at(&cfg_a, m, T0) != GW_TOKEN_FORGED)
			fail_msg("truncated to %zu accepted", i);
	}
	snprintf(m, sizeof m, "%sA", t);
	assert_int_equal(check_at(&cfg_a, m, T0), GW_TOKEN_FORGED);
	snprintf(m, sizeof m, "%s\n", t);
	assert_int_equal(check_at(&cfg_a, m, T0), GW_TOKEN_FORGED);
	/* characters outside base64url in the nonce and in the MAC */
	const char *bad[] = {"+", "/", "=", ".", " ", "%", "\xc3", "\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		strcpy(m, t);
		m[nonce_at + 3] = bad[i][0];
		assert_int_equal(check_at(&cfg_a, m, T0), GW_TOKEN_FORGED);
		strcpy(m, t);
		m[mac_at + 7] = bad[i][0];
		assert_int_equal(check_at(&cfg_a, m, T0), GW_TOKEN_FORGED);
	}
	/* the version, the time's form */
	strcpy(m, t);
	m[0] = '2';
	assert_int_equal(check_at(&cfg_a, m, T0), GW_TOKEN_FORGED);
	snprintf(m, sizeof m, "1.0%s", t + 2);
	assert_int_equal(check_at(&cfg_a, m, T0), GW_TOKEN_FORGED);
	snprintf(m, sizeof m, "1.-%s", t + 2);
	assert_int_equal(check_at(&cfg_a, m, T0), GW_TOKEN_FORGED);
	snprintf(m, sizeof m, "1.+%s", t + 2);
	assert_int_equal(check_at(&cfg_a, m, T0), GW_TOKEN_FORGED);

	const char *junk[] = {"", "1", "1.", "1..", "1...", "1.1795417440000...", "null"};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
		assert_int_equal(check_at(&cfg_a, junk[i], T0), GW_TOKEN_FORGED);
	assert_int_equal(check_at(&cfg_a, NULL, T0), GW_TOKEN_FORGED);
	char *huge = repeat("1.", 5000);
	assert_int_equal(check_at(&cfg_a, huge, T0), GW_TOKEN_FORGED);
	free(huge);
}

/* ---- API keys ---- */

static char key_path[1024];

/* Write content to a new temporary file; its name in key_path. */
static void
write_keys(const char *content)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(key_path, sizeof key_path, "%s/test_gateway_keys.XXXXXX",
	         dir != NULL && dir[0] ? dir : P_tmpdir);
	fd = mkstemp(key_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(close(fd), 0);
}

static const char key_crm[] = "crm-key-0123456789abcdefghijklmnop";
static const char key_crm_hex[] =
    "672677e0b279161fa70056fd50b3852bf8ff651c5a5a3d2a023930400c980930";

static void
test_api_keys(void **state)
{
	struct gw_api_keys ks;
	char err[512], content[4096], hex_pbx[65], hex_erp[65], hex_64[65], hex_65[65];
	char key_64[65], key_65[66];

	(void)state;
	memset(key_64, 'k', 64);
	key_64[64] = '\0';
	memset(key_65, 'k', 65);
	key_65[65] = '\0';
	gw_sha256_hex(hex_pbx, "pbx-key", 7);
	gw_sha256_hex(hex_erp, "erp-key", 7);
	for (char *p = hex_erp; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	gw_sha256_hex(hex_64, key_64, 64);
	gw_sha256_hex(hex_65, key_65, 65);
	snprintf(content, sizeof content,
	         "# integrations of the call centre\n"
	         "\n"
	         "   \t\n"
	         "  # an indented comment\n"
	         "crm %s\n"
	         "\tpbx\t%s\r\n"
	         "erp.v2_x-1 %s   \n"
	         "long %s\n"
	         "too-long %s",
	         key_crm_hex, hex_pbx, hex_erp, hex_64, hex_65);
	write_keys(content);
	assert_int_equal(gw_api_keys_load(&ks, key_path, err, sizeof err), 0);
	unlink(key_path);
	assert_int_equal(ks.n, 5);
	assert_string_equal(gw_api_keys_match(&ks, key_crm), "crm");
	assert_string_equal(gw_api_keys_match(&ks, "pbx-key"), "pbx");
	assert_string_equal(gw_api_keys_match(&ks, "erp-key"), "erp.v2_x-1");
	assert_string_equal(gw_api_keys_match(&ks, key_64), "long");
	assert_null(gw_api_keys_match(&ks, key_65)); /* longer than a key can be */

	/* the wrong key of the same length, a prefix, more, nothing */
	char wrong[sizeof key_crm];
	memcpy(wrong, key_crm, sizeof key_crm);
	wrong[sizeof key_crm - 2] ^= 1;
	assert_null(gw_api_keys_match(&ks, wrong));
	wrong[sizeof key_crm - 2] = '\0';
	assert_null(gw_api_keys_match(&ks, wrong));
	snprintf(content, sizeof content, "%s ", key_crm);
	assert_null(gw_api_keys_match(&ks, content));
	assert_null(gw_api_keys_match(&ks, key_crm_hex)); /* the hash is not the key */
	assert_null(gw_api_keys_match(&ks, ""));
	assert_null(gw_api_keys_match(&ks, NULL));
	gw_api_keys_free(&ks);
	assert_int_equal(ks.n, 0);
	assert_null(ks.keys);
	assert_null(gw_api_keys_match(&ks, key_crm));

	/* no file configured: no keys; a missing file: an error naming it */
	assert_int_equal(gw_api_keys_load(&ks, "", err, sizeof err), 0);
	assert_int_equal(ks.n, 0);
	assert_null(gw_api_keys_match(&ks, key_crm));
	snprintf(content, sizeof content, "%s.missing", key_path);
	assert_int_equal(gw_api_keys_load(&ks, content, err, sizeof err), -1);
	assert_non_null(strstr(err, content));
	assert_non_null(strstr(err, "No such file"));
}

static void
test_api_keys_refused(void **state)
{
	struct {
		const char *line;
		const char *what;
	} bad[] = {
	    {"crm\n", "not \"name sha256hex\""},
	    {"crm %s extra\n", "not \"name sha256hex\""},
	    {"crm %.63s\n", "not \"name sha256hex\""},
	    {"crm %sa\n", "not \"name sha256hex\""},
	    {"crm g%.63s\n", "not \"name sha256hex\""},
	    {"crm %.62s\xc3\xa9\n", "not \"name sha256hex\""},
	    {"cr/m %s\n", "not \"name sha256hex\""},
	    {"\xe5\x90\x8d %s\n", "not \"name sha256hex\""},
	    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa %s\n",
	     "not \"name sha256hex\""},
	    {"%s\n", "not \"name sha256hex\""},
	    {"crm=%s\n", "not \"name sha256hex\""},
	};
	struct gw_api_keys ks;
	char err[512], line[256], content[1024], want[4200];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(line, sizeof line, bad[i].line, key_crm_hex);
		snprintf(content, sizeof content, "# keys\n\nok %s\n%s", key_crm_hex, line);
		write_keys(content);
		memset(&ks, 0xA5, sizeof ks);
		assert_int_equal(gw_api_keys_load(&ks, key_path, err, sizeof err), -1);
		snprintf(want, sizeof want, "%s:4: %s", key_path, bad[i].what);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("line %zu \"%s\": %s", i, line, err);
		assert_int_equal(ks.n, 0);
		assert_null(ks.keys);
		unlink(key_path);
	}

	/* a line the reader cannot take whole is refused, not split: the
	 * tail of a long comment would otherwise be read as a key */
	char *comment = repeat("x", 510);
	char *big = malloc(700);
	assert_non_null(big);
	snprintf(big, 700, "ok %s\n#%sevil %s\n", key_crm_hex, comment, key_crm_hex);
	write_keys(big);
	assert_int_equal(gw_api_keys_load(&ks, key_path, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2: longer than 510 bytes", key_path);
	assert_string_equal(err, want);
	unlink(key_path);
	/* 510 bytes and the newline still fit */
	comment[509] = '\0';
	snprintf(big, 700, "#%s\nok %s\n", comment, key_crm_hex);
	write_keys(big);
	assert_int_equal(gw_api_keys_load(&ks, key_path, err, sizeof err), 0);
	assert_int_equal(ks.n, 1);
	gw_api_keys_free(&ks);
	unlink(key_path);
	free(big);
	free(comment);

	/* at most 10000 keys */
	size_t size = 10001 * 72 + 1;
	char *many = malloc(size), *p = many;
	assert_non_null(many);
	for (int i = 0; i < 10001; i++)
		p += sprintf(p, "k%d %s\n", i % 10, key_crm_hex);
	write_keys(many);
	assert_int_equal(gw_api_keys_load(&ks, key_path, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:10001: more than 10000 keys", key_path);
	assert_string_equal(err, want);
	assert_int_equal(ks.n, 0);
	unlink(key_path);
	free(many);
}

/* ---- token buckets ---- */

static void
test_limit_period(void **state)
{
	struct gw_limit *l = gw_limit_new(5, 60000, 64);
	const char *k = "198.51.100.7";

	(void)state;
	assert_non_null(l);
	for (int i = 0; i < 5; i++)
		assert_int_equal(gw_limit_take(l, k, T0), 0);
	assert_int_equal(gw_limit_take(l, k, T0), 12);
	assert_int_equal(gw_limit_take(l, k, T0), 12); /* a refusal takes nothing */
	assert_int_equal(gw_limit_check(l, k, T0), 12);
	/* another key is its own */
	for (int i = 0; i < 5; i++)
		assert_int_equal(gw_limit_take(l, "198.51.100.8", T0), 0);
	assert_int_equal(gw_limit_take(l, "198.51.100.8", T0), 12);
	/* refill: one token every 12 s */
	assert_int_equal(gw_limit_take(l, k, T0 + 11999), 1);
	assert_int_equal(gw_limit_take(l, k, T0 + 12000), 0);
	assert_int_equal(gw_limit_take(l, k, T0 + 12000), 12);
	/* a clock stepping back gives nothing, then or when it is back */
	assert_int_equal(gw_limit_take(l, k, T0), 12);
	assert_int_equal(gw_limit_take(l, k, T0 + 12000), 12);
	/* a whole period later: the burst again, not more */
	for (int i = 0; i < 5; i++)
		assert_int_equal(gw_limit_take(l, k, T0 + 12000 + 600000), 0);
	assert_int_equal(gw_limit_take(l, k, T0 + 12000 + 600000), 12);
	gw_limit_free(l);
	gw_limit_free(NULL);
	assert_null(gw_limit_new(0, 60000, 64));
	assert_null(gw_limit_new(5, 0, 64));

	/* the largest the configuration allows */
	l = gw_limit_new(1000000, 3600000, 16777216);
	assert_non_null(l);
	assert_int_equal(gw_limit_take(l, k, T0), 0);
	gw_limit_charge(l, k, INT64_MAX / 2);
	assert_int_equal(gw_limit_check(l, k, INT64_MAX / 2), 0);
	gw_limit_free(l);

	/* one an hour (per contact): the wait in whole seconds */
	l = gw_limit_new(1, 3600000, 64);
	assert_non_null(l);
	assert_int_equal(gw_limit_take(l, "p:13800138000", T0), 0);
	assert_int_equal(gw_limit_take(l, "p:13800138000", T0), 3600);
	assert_int_equal(gw_limit_take(l, "p:13800138000", T0 + 3599001), 1);
	assert_int_equal(gw_limit_take(l, "p:13800138000", T0 + 3600000), 0);
	gw_limit_free(l);

	/* ten a second: never less than one second */
	l = gw_limit_new(10, 1000, 64);
	assert_non_null(l);
	for (int i = 0; i < 10; i++)
		assert_int_equal(gw_limit_take(l, "", T0), 0);
	assert_int_equal(gw_limit_take(l, "", T0), 1);
	gw_limit_free(l);
}

static void
test_limit_check_charge(void **state)
{
	struct gw_limit *l = gw_limit_new(5, 60000, 64);
	const char *k = "2001:db8:1:2::/64";

	(void)state;
	assert_non_null(l);
	for (int i = 0; i < 20; i++)
		assert_int_equal(gw_limit_check(l, k, T0), 0); /* a check takes nothing */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(gw_limit_check(l, k, T0), 0);
		gw_limit_charge(l, k, T0);
	}
	assert_int_equal(gw_limit_check(l, k, T0), 12);
	/* charged past empty: the debt is paid back first */
	gw_limit_charge(l, k, T0);
	assert_int_equal(gw_limit_check(l, k, T0), 24);
	/* at most one period's worth of debt */
	for (int i = 0; i < 100; i++)
		gw_limit_charge(l, k, T0);
	assert_int_equal(gw_limit_check(l, k, T0), 72);
	assert_int_equal(gw_limit_take(l, k, T0 + 71999), 1);
	assert_int_equal(gw_limit_take(l, k, T0 + 72000), 0);
	gw_limit_free(l);
}

/* The table's hash of key, as limit.c computes it. */
static uint64_t
limit_hash(const char *key)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	uint64_t h;

	SHA256((const unsigned char *)key, strlen(key), md);
	memcpy(&h, md, sizeof h);
	return h == 0 ? 1 : h;
}

/* Nine keys whose home slot in a table of 64 is the same fill its probe
 * window of eight: the least recently used is forgotten (and so let
 * through), the others are kept. */
static void
test_limit_collisions(void **state)
{
	char keys[9][32];
	int n = 0;
	uint64_t home = limit_hash("10.0.0.0") & 63;
	struct gw_limit *l = gw_limit_new(1, 3600000, 10);

	(void)state;
	assert_non_null(l);
	for (int i = 0; n < 9 && i < 100000; i++) {
		char k[32];
		snprintf(k, sizeof k, "10.0.%d.%d", i / 256, i % 256);
		if ((limit_hash(k) & 63) == home)
			snprintf(keys[n++], sizeof keys[0], "%s", k);
	}
	assert_int_equal(n, 9);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(gw_limit_take(l, keys[i], T0 + i), 0);
		assert_int_equal(gw_limit_take(l, keys[i], T0 + i), 3600);
	}
	assert_int_equal(gw_limit_take(l, keys[8], T0 + 8), 0);
	for (int i = 1; i < 9; i++)
		assert_int_equal(gw_limit_check(l, keys[i], T0 + 9), 3600);
	assert_int_equal(gw_limit_take(l, keys[0], T0 + 10), 0);
	gw_limit_free(l);
}

/* A flood of made-up keys: the table keeps at most its size (here the
 * minimum, 64), the newest are kept and the oldest let through. */
static void
test_limit_full(void **state)
{
	struct gw_limit *l = gw_limit_new(1, 3600000, 0);
	char k[32];
	int kept = 0;

	(void)state;
	assert_non_null(l);
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof k, "203.0.%d.%d", i / 256, i % 256);
		assert_int_equal(gw_limit_take(l, k, T0 + i), 0);
	}
	snprintf(k, sizeof k, "203.0.%d.%d", 999 / 256, 999 % 256);
	assert_int_equal(gw_limit_check(l, k, T0 + 1000), 3600);
	assert_int_equal(gw_limit_check(l, "203.0.0.0", T0 + 1000), 0);
	/* newest first: a forgotten key checked takes a slot back, and only
	 * once the remembered ones have been counted */
	for (int i = 999; i >= 0; i--) {
		snprintf(k, sizeof k, "203.0.%d.%d", i / 256, i % 256);
		kept += gw_limit_check(l, k, T0 + 2000) > 0;
	}
	if (kept < 48 || kept > 64)
		fail_msg("%d keys remembered in a table of 64", kept);
	gw_limit_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kvs_table),
	    cmocka_unit_test(test_kvs_get),
	    cmocka_unit_test(test_kvs_bounds),
	    cmocka_unit_test(test_text_ok),
	    cmocka_unit_test(test_escape_bidi),
	    cmocka_unit_test(test_fill_table),
	    cmocka_unit_test(test_fill_limits),
	    cmocka_unit_test(test_fill_values),
	    cmocka_unit_test(test_fill_errors),
	    cmocka_unit_test(test_form_request),
	    cmocka_unit_test(test_contact_key),
	    cmocka_unit_test(test_encodings),
	    cmocka_unit_test_setup(test_token_known_answer, token_setup),
	    cmocka_unit_test_setup(test_token_time, token_setup),
	    cmocka_unit_test_setup(test_token_renew, token_setup),
	    cmocka_unit_test_setup(test_token_forged, token_setup),
	    cmocka_unit_test(test_api_keys),
	    cmocka_unit_test(test_api_keys_refused),
	    cmocka_unit_test(test_limit_period),
	    cmocka_unit_test(test_limit_check_charge),
	    cmocka_unit_test(test_limit_collisions),
	    cmocka_unit_test(test_limit_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
