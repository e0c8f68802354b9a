/* test_import.c: ccimport's pure half: the RFC 4180 reader (quoting, line
 * breaks, byte order marks, every malformed case and the limits), the
 * header mapping, customer and order row validation with the exact report
 * text, amounts, times, and the table of keys seen in a file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "import.h"

/* 2024-06-01T00:00:00Z: "now" for the order tests. */
#define NOW_MS 1717200000000LL

static const struct import_opts opts = {"86", NOW_MS, 0, 0};

/* A reader over a copy of data (len bytes) in a temporary file. */
struct input {
	FILE *f;
	struct csv_reader *r;
	struct csv_record rec;
};

static struct input *
input_open(const char *data, size_t len)
{
	struct input *in = calloc(1, sizeof *in);

	assert_non_null(in);
	in->f = tmpfile();
	assert_non_null(in->f);
	assert_int_equal(fwrite(data, 1, len, in->f), len);
	rewind(in->f);
	in->r = csv_open(in->f);
	assert_non_null(in->r);
	return in;
}

#define input_str(s) input_open((s), strlen(s))

static void
input_close(struct input *in)
{
	csv_free(in->r);
	fclose(in->f);
	free(in);
}

/* Read the next record and check its line and fields (NULL-terminated). */
static void
expect_record(struct input *in, unsigned long line, ...)
{
	va_list ap;
	size_t n = 0;
	const char *want;

	assert_int_equal(csv_next(in->r, &in->rec), 1);
	if (in->rec.err != IMPORT_OK)
		fail_msg("line %lu: unexpected error %s", in->rec.line, in->rec.msg);
	assert_int_equal(in->rec.line, line);
	va_start(ap, line);
	while ((want = va_arg(ap, const char *)) != NULL) {
		assert_true(n < in->rec.nfields);
		assert_int_equal(in->rec.len[n], strlen(want));
		assert_memory_equal(in->rec.field[n], want, strlen(want));
		n++;
	}
	va_end(ap);
	assert_int_equal(in->rec.nfields, n);
}

/* Read the next record and check that it is refused with code and msg. */
static void
expect_bad_record(struct input *in, unsigned long line, enum import_code code, const char *msg)
{
	assert_int_equal(csv_next(in->r, &in->rec), 1);
	assert_int_equal(in->rec.line, line);
	assert_string_equal(import_code_slug(in->rec.err), import_code_slug(code));
	assert_string_equal(in->rec.msg, msg);
}

static void
expect_eof(struct input *in)
{
	assert_int_equal(csv_next(in->r, &in->rec), 0);
	assert_int_equal(csv_next(in->r, &in->rec), 0);
}

/* ---- CSV ---- */

static void
test_csv_plain(void **state)
{
	const char *data = "a,b,c\n1,,3\r\nlast,row,no newline";
	struct input *in = input_str(data);

	(void)state;
	expect_record(in, 1, "a", "b", "c", NULL);
	expect_record(in, 2, "1", "", "3", NULL);
	expect_record(in, 3, "last", "row", "no newline", NULL);
	expect_eof(in);
	assert_int_equal(csv_offset(in->r), strlen(data));
	input_close(in);
}

static void
test_csv_quoted(void **state)
{
	struct input *in = input_str("\"a,b\",\"say \"\"hi\"\"\",\"\"\r\n"
	                             "\"two\nlines\",x\n"
	                             "\"crlf\r\ninside\",\"\"\"\"\n"
	                             "after,\"\"\n");

	(void)state;
	expect_record(in, 1, "a,b", "say \"hi\"", "", NULL);
	expect_record(in, 2, "two\nlines", "x", NULL);
	expect_record(in, 4, "crlf\r\ninside", "\"", NULL);
	expect_record(in, 6, "after", "", NULL);
	expect_eof(in);
	input_close(in);
}

static void
test_csv_blank_lines_and_bom(void **state)
{
	const char *data = "\xef\xbb\xbfid,name\n\n\r\nM-1,x\n\"\"\n\n";
	struct input *in = input_str(data);

	(void)state;
	expect_record(in, 1, "id", "name", NULL);
	expect_record(in, 4, "M-1", "x", NULL);
	expect_record(in, 5, "", NULL); /* a quoted empty field is a record */
	expect_eof(in);
	assert_int_equal(csv_offset(in->r), strlen(data));
	input_close(in);
}

static void
test_csv_utf16_refused(void **state)
{
	static const char le[] = "\xff\xfei\0d\0\n\0";
	static const char be[] = "\xfe\xff\0i\0d\0\n";
	const char *files[] = {le, be};

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct input *in = input_open(files[i], 8);
		expect_bad_record(in, 1, IMPORT_BAD_UTF8, "the file is UTF-16; save it as UTF-8");
		assert_int_equal(in->rec.nfields, 0);
		expect_eof(in);
		input_close(in);
	}
}

static void
test_csv_malformed_quotes(void **state)
{
	struct input *in = input_str("ok,1\n"
	                             "a,b\"c,d\n"
	                             "\"x\"y,z\n"
	                             "next,2\n"
	                             "\"open,\"\"never\nclosed");

	(void)state;
	expect_record(in, 1, "ok", "1", NULL);
	expect_bad_record(in, 2, IMPORT_MALFORMED_CSV,
	                  "'\"' inside an unquoted field (field 2); quote the whole field and "
	                  "double its quotes");
	/* the record still ends where it should */
	assert_int_equal(in->rec.nfields, 3);
	expect_bad_record(in, 3, IMPORT_MALFORMED_CSV, "text after the closing quote (field 1)");
	assert_int_equal(in->rec.nfields, 2);
	expect_record(in, 4, "next", "2", NULL);
	expect_bad_record(in, 5, IMPORT_MALFORMED_CSV,
	                  "quoted field not closed at the end of the file");
	expect_eof(in);
	input_close(in);
}

static void
test_csv_record_too_long(void **state)
{
	size_t cap = 2 * IMPORT_RECORD_MAX, big = IMPORT_RECORD_MAX + 10, n;
	char *data = malloc(cap);
	struct input *in;

	(void)state;
	assert_non_null(data);
	n = (size_t)snprintf(data, cap, "h1,h2\n");
	memset(data + n, 'x', big);
	n += big;
	n += (size_t)snprintf(data + n, cap - n, "\nnext,row\n");
	in = input_open(data, n);
	expect_record(in, 1, "h1", "h2", NULL);
	expect_bad_record(in, 2, IMPORT_TOO_LONG,
	                  "record longer than 65536 bytes; skipped up to the end of line 2");
	assert_int_equal(in->rec.nfields, 0);
	expect_record(in, 3, "next", "row", NULL);
	expect_eof(in);
	input_close(in);

	/* exactly at the limit, line break included: accepted */
	memset(data, 'y', IMPORT_RECORD_MAX - 1);
	n = IMPORT_RECORD_MAX - 1;
	data[n++] = '\n';
	in = input_open(data, n);
	assert_int_equal(csv_next(in->r, &in->rec), 1);
	assert_int_equal(in->rec.err, IMPORT_OK);
	assert_int_equal(in->rec.len[0], IMPORT_RECORD_MAX - 1);
	input_close(in);

	/* an unclosed quote swallows at most the limit, then the reader resyncs */
	n = (size_t)snprintf(data, cap, "\"open\n");
	for (int i = 0; n < IMPORT_RECORD_MAX + 100; i++)
		n += (size_t)snprintf(data + n, cap - n, "line %d\n", i);
	n += (size_t)snprintf(data + n, cap - n, "after,it\n");
	in = input_open(data, n);
	assert_int_equal(csv_next(in->r, &in->rec), 1);
	assert_int_equal(in->rec.err, IMPORT_TOO_LONG);
	while (csv_next(in->r, &in->rec) == 1 && strcmp(in->rec.field[0], "after") != 0)
		;
	assert_string_equal(in->rec.field[1], "it");
	input_close(in);
	free(data);
}

static void
test_csv_too_many_fields(void **state)
{
	char data[2048];
	size_t n = 0;
	struct input *in;

	(void)state;
	for (int i = 0; i <= IMPORT_FIELDS_MAX; i++)
		n += (size_t)sprintf(data + n, "%s%d", i ? "," : "", i % 10);
	n += (size_t)sprintf(data + n, "\nok\n");
	in = input_open(data, n);
	expect_bad_record(in, 1, IMPORT_MALFORMED_CSV, "more than 256 fields");
	assert_int_equal(in->rec.nfields, IMPORT_FIELDS_MAX);
	expect_record(in, 2, "ok", NULL);
	input_close(in);
}

/* Records crossing the reader's 64 KiB buffer, with CRLF split across it. */
static void
test_csv_buffer_boundaries(void **state)
{
	size_t cap = 300000, n = 0;
	char *data = malloc(cap);
	struct input *in;
	int count = 0;

	(void)state;
	for (; n < cap - 100; count++)
		n += (size_t)sprintf(data + n, "\"r%d, \"\"q\"\"\",%d\r\n", count, count % 7);
	in = input_open(data, n);
	for (int i = 0; i < count; i++) {
		char want[32];
		assert_int_equal(csv_next(in->r, &in->rec), 1);
		assert_int_equal(in->rec.err, IMPORT_OK);
		assert_int_equal(in->rec.line, (unsigned long)i + 1);
		snprintf(want, sizeof want, "r%d, \"q\"", i);
		assert_string_equal(in->rec.field[0], want);
		assert_int_equal(in->rec.nfields, 2);
	}
	expect_eof(in);
	assert_int_equal(csv_offset(in->r), n);
	input_close(in);
	free(data);
}

/* ---- header ---- */

/* Map header text for kind: 0 or -1 with err. */
static int
map(const char *text, enum import_kind kind, int skip, struct import_header *h, char *err)
{
	struct input *in = input_str(text);
	int rc;

	assert_int_equal(csv_next(in->r, &in->rec), 1);
	rc = import_header_map(h, kind, &in->rec, skip, err, 512);
	input_close(in);
	return rc;
}

static void
test_header_mapping(void **state)
{
	struct import_header h;
	char err[512];

	(void)state;
	assert_int_equal(
	    map(" Member_ID ,NAME,Phone,e-mail-not,tier\n", IMPORT_CUSTOMERS, 1, &h, err), 0);
	assert_int_equal(h.col[COL_MEMBER_ID], 0);
	assert_int_equal(h.col[COL_NAME], 1);
	assert_int_equal(h.col[COL_PHONES], 2);
	assert_int_equal(h.col[COL_EMAILS], -1);
	assert_int_equal(h.col[COL_VALUE_TIER], 4);
	assert_int_equal(h.nskipped, 1);
	assert_int_equal(h.skipped[0], 3);
	assert_int_equal(h.nfields, 5);

	assert_int_equal(
	    map("external_id,email,amount,ordered_at,refunded_amount\n", IMPORT_ORDERS, 0, &h, err),
	    0);
	assert_int_equal(h.col[COL_ORDER_ID], 0);
	assert_int_equal(h.col[COL_EMAIL], 1);
	assert_int_equal(h.col[COL_REFUNDED], 4);
	assert_int_equal(h.col[COL_STATUS], -1);
}

static void
test_header_errors(void **state)
{
	static const struct {
		const char *text;
		enum import_kind kind;
		const char *err;
	} cases[] = {
	    {"member_id,phones\n", IMPORT_CUSTOMERS,
	     "line 1: the required column \"name\" is missing"},
	    {"member_id,name,emails,email\n", IMPORT_CUSTOMERS,
	     "line 1: column 4 (\"email\") repeats column 3 (emails)"},
	    {"member_id,name,nick\"name\"\n", IMPORT_CUSTOMERS,
	     "line 1: '\"' inside an unquoted field (field 3); quote the whole field and double "
	     "its quotes"},
	    {"member_id,name, \n", IMPORT_CUSTOMERS, "line 1: column 3 has no name"},
	    {"member_id,name,amount\n", IMPORT_CUSTOMERS,
	     "line 1: unknown column \"amount\" (column 3); the columns are member_id, name, "
	     "phones, emails, site, region, language, value_tier (--skip-unknown ignores "
	     "others)"},
	    {"order_id,amount,ordered_at,name\n", IMPORT_ORDERS,
	     "line 1: unknown column \"name\" (column 4); the columns are order_id, member_id, "
	     "phone, email, amount, refunded, currency, ordered_at, status (--skip-unknown "
	     "ignores others)"},
	    {"order_id,amount,ordered_at\n", IMPORT_ORDERS,
	     "line 1: an orders file needs a member_id, phone or email column to find each "
	     "order's customer"},
	    {"order_id,member_id,ordered_at\n", IMPORT_ORDERS,
	     "line 1: the required column \"amount\" is missing"},
	    {"member_id,name,\x1b[2Jx\n", IMPORT_CUSTOMERS,
	     "line 1: unknown column \"\\x1B[2Jx\" (column 3); the columns are member_id, name, "
	     "phones, emails, site, region, language, value_tier (--skip-unknown ignores "
	     "others)"},
	};
	struct import_header h;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(map(cases[i].text, cases[i].kind, 0, &h, err), -1);
		assert_string_equal(err, cases[i].err);
	}
	/* skip_unknown never hides a duplicate or a missing column */
	assert_int_equal(map("member_id,x,member_id\n", IMPORT_CUSTOMERS, 1, &h, err), -1);
	assert_string_equal(err, "line 1: column 3 (\"member_id\") repeats column 1 (member_id)");
}

/* ---- rows ---- */

struct rowtest {
	struct import_header h;
	struct import_errors errs;
	struct customer_row c;
	struct order_row o;
	char report[IMPORT_ERRORS_MAX + 1][IMPORT_MSG_MAX + 64];
};

#define CUSTOMER_HEADER "member_id,name,phones,emails,site,region,language,value_tier\n"
#define ORDER_HEADER    "order_id,member_id,phone,email,amount,refunded,currency,ordered_at,status\n"

/* Map header, then validate the record on line 2 (text). The number of
 * problems; the report lines in t->report. */
static int
run_row(struct rowtest *t, enum import_kind kind, const char *header, const char *row)
{
	char text[IMPORT_RECORD_MAX + 1024], err[512];
	struct input *in;
	int n;

	snprintf(text, sizeof text, "%s%s", header, row);
	in = input_str(text);
	assert_int_equal(csv_next(in->r, &in->rec), 1);
	if (import_header_map(&t->h, kind, &in->rec, 0, err, sizeof err) != 0)
		fail_msg("header: %s", err);
	assert_int_equal(csv_next(in->r, &in->rec), 1);
	memset(&t->errs, 0, sizeof t->errs);
	if (kind == IMPORT_CUSTOMERS)
		n = import_customer_row(&t->h, &in->rec, &opts, &t->c, &t->errs);
	else
		n = import_order_row(&t->h, &in->rec, &opts, &t->o, &t->errs);
	assert_int_equal((size_t)n, t->errs.n);
	for (size_t i = 0; i < t->errs.n; i++)
		import_error_format(&t->errs.e[i], in->rec.line, t->report[i], sizeof t->report[i]);
	input_close(in);
	return n;
}

/* Validate one customer row and expect exactly one report line. */
static void
customer_refused(struct rowtest *t, const char *row, const char *report)
{
	if (run_row(t, IMPORT_CUSTOMERS, CUSTOMER_HEADER, row) != 1)
		fail_msg("%s: %zu problems, first: %s", row, t->errs.n,
		         t->errs.n ? t->report[0] : "none");
	assert_string_equal(t->report[0], report);
}

static void
test_customer_good(void **state)
{
	struct rowtest *t = calloc(1, sizeof *t);

	(void)state;
	assert_int_equal(run_row(t, IMPORT_CUSTOMERS, CUSTOMER_HEADER,
	                         " M-1 , 王芳 ,\"138 0013 8000; 0086 139-1234-5678\n"
	                         "+86 138-0013-8000;;\",\" Wang@Example.COM \",SH,上海,zh-CN,"
	                         "Loyal\n"),
	                 0);
	assert_string_equal(t->c.member_id, "M-1");
	assert_string_equal(t->c.name, "王芳");
	assert_int_equal(t->c.nphones, 2); /* the third is the first again */
	assert_string_equal(t->c.phone[0], "+8613800138000");
	assert_string_equal(t->c.phone[1], "+8613912345678");
	assert_int_equal(t->c.nemails, 1);
	assert_string_equal(t->c.email[0], "wang@example.com");
	assert_string_equal(t->c.site, "SH");
	assert_string_equal(t->c.region, "上海");
	assert_string_equal(t->c.language, "zh-CN");
	assert_string_equal(t->c.tier, "loyal");

	/* optional cells empty, and optional columns absent */
	assert_int_equal(run_row(t, IMPORT_CUSTOMERS, CUSTOMER_HEADER, "M-2,Li,,,,,,\n"), 0);
	assert_int_equal(t->c.nphones + t->c.nemails, 0);
	assert_string_equal(t->c.site, "");
	assert_null(t->c.tier);
	assert_int_equal(run_row(t, IMPORT_CUSTOMERS, "name,member_id\n", "Li,M-3"), 0);
	assert_string_equal(t->c.member_id, "M-3");
	assert_string_equal(t->c.language, "");
	free(t);
}

static void
test_customer_refused(void **state)
{
	struct rowtest *t = calloc(1, sizeof *t);
	char row[4096], want[256];
	size_t n;

	(void)state;
	customer_refused(t, ",Li,,,,,,\n", "line 2, field member_id: missing: required");
	customer_refused(t, "M-1, ,,,,,,\n", "line 2, field name: missing: required");
	customer_refused(t, "M-1,Li,,,,,\n", "line 2: malformed_csv: 7 fields; the header has 8");
	customer_refused(t, "M-1\n", "line 2: malformed_csv: 1 field; the header has 8");
	customer_refused(t, "M-1,\"Li\"x,,,,,,\n",
	                 "line 2: malformed_csv: text after the closing quote (field 2)");
	customer_refused(t, "M-1,Li\xe9,,,,,,\n",
	                 "line 2, field name: bad_utf8: invalid UTF-8 at byte 3; save the file as "
	                 "UTF-8");
	customer_refused(t, "M-1,\xc0\xaf,,,,,,\n",
	                 "line 2, field name: bad_utf8: invalid UTF-8 at byte 1; save the file as "
	                 "UTF-8"); /* an overlong '/' */
	customer_refused(t, "M-1,\"Li\nLei\",,,,,,\n",
	                 "line 2, field name: bad_value: control character U+000A");
	customer_refused(t, "M-1,Li\x7f,,,,,,\n",
	                 "line 2, field name: bad_value: control character U+007F");
	customer_refused(t, "M-1,Li\xc2\x85,,,,,,\n",
	                 "line 2, field name: bad_value: control character U+0085");
	customer_refused(t, "M-1,Li,12ab,,,,,\n",
	                 "line 2, field phones: bad_value: \"12ab\" is not a phone number");
	customer_refused(t, "M-1,Li,13800138000;1234,,,,,\n",
	                 "line 2, field phones: bad_value: \"1234\" is not a phone number");
	customer_refused(t, "M-1,Li,,a@b,,,,\n",
	                 "line 2, field emails: bad_value: \"a@b\" is not an e-mail address");
	customer_refused(t, "M-1,Li,,,,,zh_CN,\n",
	                 "line 2, field language: bad_value: \"zh_CN\" is not a language tag like "
	                 "zh-CN or en");
	customer_refused(t, "M-1,Li,,,,,,gold\n",
	                 "line 2, field value_tier: bad_value: \"gold\" is not one of new, "
	                 "potential, regular, old, loyal");

	/* lengths are counted in characters, as the schema's VARCHARs */
	n = (size_t)sprintf(row, "M-1,");
	for (int i = 0; i < 129; i++)
		n += (size_t)sprintf(row + n, "名");
	sprintf(row + n, ",,,,,,\n");
	customer_refused(t, row, "line 2, field name: too_long: 129 characters; at most 128");
	row[n - 3] = ',';
	row[n - 2] = '\0'; /* 128 characters: accepted */
	strcat(row, ",,,,,\n");
	assert_int_equal(run_row(t, IMPORT_CUSTOMERS, CUSTOMER_HEADER, row), 0);
	n = (size_t)sprintf(row, "%0255d,Li,,,,,,\n", 0);
	customer_refused(t, row, "line 2, field member_id: too_long: 255 characters; at most 254");
	customer_refused(t, "M-1,Li,,,SH-SHANGHAI-PUDONG,,,\n",
	                 "line 2, field site: too_long: 18 characters; at most 16");
	n = (size_t)sprintf(row, "M-1,Li,,,,");
	memset(row + n, 'r', 65);
	sprintf(row + n + 65, ",,\n");
	customer_refused(t, row, "line 2, field region: too_long: 65 characters; at most 64");

	/* nine phone numbers */
	n = (size_t)sprintf(row, "M-1,Li,\"");
	for (int i = 0; i < 9; i++)
		n += (size_t)sprintf(row + n, "1380013800%d\n", i);
	sprintf(row + n, "\",,,,,\n");
	customer_refused(t, row, "line 2, field phones: too_long: more than 8 phone numbers");

	/* every problem of a row, in column order; a value echoed safely */
	assert_int_equal(
	    run_row(t, IMPORT_CUSTOMERS, CUSTOMER_HEADER, ",,\"\x1b[2J\",x,,,en_US,vip\n"), 6);
	assert_string_equal(t->report[0], "line 2, field member_id: missing: required");
	assert_string_equal(t->report[1], "line 2, field name: missing: required");
	assert_string_equal(t->report[2],
	                    "line 2, field phones: bad_value: control character U+001B");
	assert_string_equal(t->report[3],
	                    "line 2, field emails: bad_value: \"x\" is not an e-mail address");
	assert_string_equal(t->report[4], "line 2, field language: bad_value: \"en_US\" is not a "
	                                  "language tag like zh-CN or en");
	snprintf(want, sizeof want,
	         "line 2, field value_tier: bad_value: \"vip\" is not one of new, potential, "
	         "regular, old, loyal");
	assert_string_equal(t->report[5], want);

	/* more problems than are kept */
	assert_int_equal(
	    run_row(t, IMPORT_CUSTOMERS, "member_id,name,phones\n", ",,1;2;3;4;5;6;7;8;9\n"),
	    IMPORT_ERRORS_MAX);
	assert_int_equal(t->errs.dropped, 3);
	free(t);
}

static void
test_language_tags(void **state)
{
	(void)state;
	assert_true(import_language_ok("zh-CN"));
	assert_true(import_language_ok("en"));
	assert_true(import_language_ok("yue-Hant-HK"));
	assert_true(import_language_ok("es-419"));
	assert_false(import_language_ok(""));
	assert_false(import_language_ok("e"));
	assert_false(import_language_ok("zh-"));
	assert_false(import_language_ok("zh--CN"));
	assert_false(import_language_ok("-CN"));
	assert_false(import_language_ok("zh CN"));
	assert_false(import_language_ok("zh-Hant-HK-x-private")); /* 20 > 16 characters */
}

/* ---- orders ---- */

/* Validate one order row and expect exactly one report line. */
static void
order_refused(struct rowtest *t, const char *row, const char *report)
{
	if (run_row(t, IMPORT_ORDERS, ORDER_HEADER, row) != 1)
		fail_msg("%s: %zu problems, first: %s", row, t->errs.n,
		         t->errs.n ? t->report[0] : "none");
	assert_string_equal(t->report[0], report);
}

static void
test_order_good(void **state)
{
	struct rowtest *t = calloc(1, sizeof *t);

	(void)state;
	assert_int_equal(run_row(t, IMPORT_ORDERS, ORDER_HEADER,
	                         "SO-1,M-1,138 0013 8000,A@B.cn,1234.5,0.50,cny,"
	                         "2024-03-01T10:00:00+08:00,Delivered\n"),
	                 0);
	assert_string_equal(t->o.order_id, "SO-1");
	assert_string_equal(t->o.member_id, "M-1");
	assert_string_equal(t->o.phone, "+8613800138000");
	assert_string_equal(t->o.email, "a@b.cn");
	assert_int_equal(t->o.amount_minor, 123450);
	assert_int_equal(t->o.refunded_minor, 50);
	assert_string_equal(t->o.currency, "CNY");
	assert_int_equal(t->o.ordered_at_ms, 1709258400000LL); /* 02:00Z */
	assert_string_equal(t->o.status, "delivered");

	/* defaults: CNY, no refund, placed */
	assert_int_equal(run_row(t, IMPORT_ORDERS, "order_id,phone,amount,ordered_at\n",
	                         "SO-2,13800138000,0,2024-03-01T00:00:00Z\n"),
	                 0);
	assert_string_equal(t->o.currency, "CNY");
	assert_int_equal(t->o.amount_minor, 0);
	assert_int_equal(t->o.refunded_minor, 0);
	assert_string_equal(t->o.status, "placed");
	assert_string_equal(t->o.member_id, "");

	/* minor units follow the currency */
	assert_int_equal(
	    run_row(t, IMPORT_ORDERS, ORDER_HEADER, "SO-3,M-1,,,5000,,JPY,2024-03-01T00:00:00Z,\n"),
	    0);
	assert_int_equal(t->o.amount_minor, 5000);
	assert_int_equal(run_row(t, IMPORT_ORDERS, ORDER_HEADER,
	                         "SO-4,M-1,,,1.5,1.005,KWD,2024-03-01T00:00:00Z,\n"),
	                 0);
	assert_int_equal(t->o.amount_minor, 1500);
	assert_int_equal(t->o.refunded_minor, 1005);
	free(t);
}

static void
test_order_refused(void **state)
{
	struct rowtest *t = calloc(1, sizeof *t);
	char row[512];

	(void)state;
	order_refused(t, ",M-1,,,1,,,2024-03-01T00:00:00Z,\n",
	              "line 2, field order_id: missing: required");
	order_refused(t, "SO-1,,,,1,,,2024-03-01T00:00:00Z,\n",
	              "line 2: missing: no customer: give member_id, phone or email");
	order_refused(t, "SO-1,,12ab,,1,,,2024-03-01T00:00:00Z,\n",
	              "line 2, field phone: bad_value: \"12ab\" is not a phone number");
	order_refused(t, "SO-1,M-1,,,,,,2024-03-01T00:00:00Z,\n",
	              "line 2, field amount: missing: required");
	order_refused(t, "SO-1,M-1,,,1,,,,\n", "line 2, field ordered_at: missing: required");
	order_refused(t, "SO-1,M-1,,,10,10.01,,2024-03-01T00:00:00Z,\n",
	              "line 2, field refunded: out_of_range: 10.01 is more than the amount 10.00");
	order_refused(t, "SO-1,M-1,,,10,,RMB,2024-03-01T00:00:00Z,\n",
	              "line 2, field currency: bad_value: \"RMB\" is not an ISO 4217 currency code "
	              "(the yuan is CNY)");
	order_refused(t, "SO-1,M-1,,,10,,XAU,2024-03-01T00:00:00Z,\n",
	              "line 2, field currency: bad_value: \"XAU\" is not an ISO 4217 currency "
	              "code");
	order_refused(t, "SO-1,M-1,,,10,,yuan,2024-03-01T00:00:00Z,\n",
	              "line 2, field currency: bad_value: \"yuan\" is not an ISO 4217 currency "
	              "code");
	order_refused(t, "SO-1,M-1,,,10,,,2024-03-01T00:00:00Z,void\n",
	              "line 2, field status: bad_value: \"void\" is not one of placed, paid, "
	              "shipped, delivered, cancelled, returned, refunded");
	snprintf(row, sizeof row, "SO-1,M-1,,,10,,,%s,\n", "2024-03-01 08:00");
	order_refused(t, row,
	              "line 2, field ordered_at: bad_value: \"2024-03-01 08:00\" has no time zone; "
	              "add Z or an offset like +08:00 (or run with --zone)");
	free(t);
}

/* One amount: the minor units, or the report of a refusal. */
static void
amount_is(const char *s, int exponent, uint64_t minor)
{
	enum import_code code;
	char msg[IMPORT_MSG_MAX];
	uint64_t got = 0;

	if (import_parse_amount(s, exponent, &got, &code, msg, sizeof msg) != 0)
		fail_msg("\"%s\": %s", s, msg);
	assert_int_equal(got, minor);
}

static void
amount_refused(const char *s, int exponent, enum import_code want, const char *message)
{
	enum import_code code;
	char msg[IMPORT_MSG_MAX];
	uint64_t got;

	assert_int_equal(import_parse_amount(s, exponent, &got, &code, msg, sizeof msg), -1);
	assert_string_equal(import_code_slug(code), import_code_slug(want));
	assert_string_equal(msg, message);
}

static void
test_amounts(void **state)
{
	(void)state;
	amount_is("0", 2, 0);
	amount_is("1234.50", 2, 123450);
	amount_is("1234.5", 2, 123450);
	amount_is("007", 2, 700);
	amount_is("9999999999.99", 2, 999999999999ULL);
	amount_is("9999999999", 0, 9999999999ULL);
	amount_is("1.234", 3, 1234);
	amount_refused("-5.00", 2, IMPORT_OUT_OF_RANGE, "\"-5.00\" is negative");
	amount_refused("10000000000", 2, IMPORT_OUT_OF_RANGE,
	               "\"10000000000\" is over the limit 9999999999.99");
	amount_refused("10000000000", 0, IMPORT_OUT_OF_RANGE,
	               "\"10000000000\" is over the limit 9999999999");
	amount_refused("99999999999999999999999", 3, IMPORT_OUT_OF_RANGE,
	               "\"99999999999999999999999\" is over the limit 9999999999.999");
	amount_refused("1.001", 2, IMPORT_BAD_VALUE, "\"1.001\" has more than 2 decimals");
	amount_refused("1.5", 0, IMPORT_BAD_VALUE, "\"1.5\" has decimals; the currency has none");
	static const char *const bad[] = {"",   "1,234.50", "¥12", "1e5",   ".5",   "5.",
	                                  "+5", "1.2.3",    "--1", "12 34", "0x10", "1.-2"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char want[128];
		snprintf(want, sizeof want, "\"%s\" is not an amount like 1234.50", bad[i]);
		amount_refused(bad[i], 2, IMPORT_BAD_VALUE, want);
	}
}

static void
test_currencies(void **state)
{
	(void)state;
	assert_int_equal(import_currency_exponent("CNY"), 2);
	assert_int_equal(import_currency_exponent("USD"), 2);
	assert_int_equal(import_currency_exponent("HKD"), 2);
	assert_int_equal(import_currency_exponent("JPY"), 0);
	assert_int_equal(import_currency_exponent("KRW"), 0);
	assert_int_equal(import_currency_exponent("KWD"), 3);
	assert_int_equal(import_currency_exponent("ZWL"), 2); /* the last of the list */
	assert_int_equal(import_currency_exponent("AED"), 2); /* the first */
	assert_int_equal(import_currency_exponent("RMB"), -1);
	assert_int_equal(import_currency_exponent("XAU"), -1);
	assert_int_equal(import_currency_exponent("cny"), -1);
	assert_int_equal(import_currency_exponent("CN"), -1);
	assert_int_equal(import_currency_exponent("CNYY"), -1);
	assert_int_equal(import_currency_exponent("NY "), -1);
}

/* One time: its Unix ms, or the report of a refusal. */
static void
time_is(const char *s, const struct import_opts *o, int64_t ms)
{
	enum import_code code;
	char msg[IMPORT_MSG_MAX];
	int64_t got = 0;

	if (import_parse_time(s, o, &got, &code, msg, sizeof msg) != 0)
		fail_msg("\"%s\": %s", s, msg);
	assert_int_equal(got, ms);
}

static void
time_refused(const char *s, enum import_code want, const char *message)
{
	enum import_code code;
	char msg[IMPORT_MSG_MAX];
	int64_t got;

	assert_int_equal(import_parse_time(s, &opts, &got, &code, msg, sizeof msg), -1);
	assert_string_equal(import_code_slug(code), import_code_slug(want));
	assert_string_equal(msg, message);
}

static void
test_times(void **state)
{
	const struct import_opts shanghai = {"86", NOW_MS, 1, 480};
	const int64_t base = 1709258400000LL; /* 2024-03-01T02:00:00Z */

	(void)state;
	time_is("2024-03-01T02:00:00Z", &opts, base);
	time_is("2024-03-01t02:00:00z", &opts, base);
	time_is("2024-03-01 02:00Z", &opts, base);
	time_is("2024-03-01T10:00:00+08:00", &opts, base);
	time_is("2024-03-01T10:00:00+0800", &opts, base);
	time_is("2024-03-01T10:00+08", &opts, base);
	time_is("2024-02-29T21:00:00-05:00", &opts, base);
	time_is("2024-03-01T07:30:00+05:30", &opts, base);
	time_is("2024-03-01T02:00:00.250Z", &opts, base + 250);
	time_is("2024-03-01T02:00:00,5Z", &opts, base + 500);
	time_is("2024-03-01T02:00:00.123456789Z", &opts, base + 123);
	time_is("2024-03-01 10:00:00", &shanghai, base); /* --zone +08:00 */
	time_is("2024-03-01 02:00:00+00:00", &shanghai, base);
	time_is("1970-01-01T00:00:00Z", &opts, 0);
	time_is("2024-06-02T00:00:00Z", &opts, NOW_MS + 86400000LL); /* a day ahead: clock skew */

	time_refused("2024-03-01 10:00:00", IMPORT_BAD_VALUE,
	             "\"2024-03-01 10:00:00\" has no time zone; add Z or an offset like +08:00 (or "
	             "run with --zone)");
	time_refused("2024-06-02T00:00:00.001Z", IMPORT_OUT_OF_RANGE,
	             "\"2024-06-02T00:00:00.001Z\" is in the future");
	time_refused("1969-12-31T23:59:59Z", IMPORT_OUT_OF_RANGE,
	             "\"1969-12-31T23:59:59Z\" is before 1970");
	time_refused("1970-01-01T07:00:00+08:00", IMPORT_OUT_OF_RANGE,
	             "\"1970-01-01T07:00:00+08:00\" is before 1970");
	static const char *const bad[] = {
	    "",
	    "2024-03-01",
	    "2024-3-01T00:00:00Z",
	    "2024-02-30T00:00:00Z",
	    "2023-02-29T00:00:00Z",
	    "2024-13-01T00:00:00Z",
	    "2024-00-10T00:00:00Z",
	    "2024-03-01T24:00:00Z",
	    "2024-03-01T12:60:00Z",
	    "2024-03-01T12:00:60Z",
	    "2024-03-01T12:00:00.Z",
	    "2024-03-01T12:00:00+15:00",
	    "2024-03-01T12:00:00+08:",
	    "2024-03-01T12:00:00+8",
	    "2024-03-01T12:00:00 Z",
	    "2024-03-01T12:00:00Z trailing",
	    "01/03/2024 12:00",
	    "2024-03-01T12:00:00.1234567890Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char want[160];
		snprintf(want, sizeof want, "\"%s\" is not a time like 2024-03-01T10:00:00+08:00",
		         bad[i]);
		time_refused(bad[i], IMPORT_BAD_VALUE, want);
	}
	time_is("2024-02-29T00:00:00Z", &opts, 1709164800000LL); /* a leap day */
	time_is("2000-02-29T00:00:00Z", &opts, 951782400000LL);
}

/* ---- messages ---- */

static void
test_quote_and_format(void **state)
{
	char out[256];
	struct import_error e = {IMPORT_CONFLICT, "phones", "taken"};

	(void)state;
	import_quote("plain", 5, out, sizeof out);
	assert_string_equal(out, "\"plain\"");
	import_quote("a\"b\\c", 5, out, sizeof out);
	assert_string_equal(out, "\"a\\\"b\\\\c\"");
	import_quote("\x1b[31m\x07", 6, out, sizeof out);
	assert_string_equal(out, "\"\\x1B[31m\\x07\"");
	import_quote("x\xe9y", 3, out, sizeof out);
	assert_string_equal(out, "\"x\\xE9y\"");
	import_quote("\xc2\x9b"
	             "1m",
	             4, out, sizeof out); /* C1 CSI */
	assert_string_equal(out, "\"\\x9B1m\"");
	import_quote("\xe2\x80\xae"
	             "evil",
	             7, out, sizeof out); /* RIGHT-TO-LEFT OVERRIDE */
	assert_string_equal(out, "\"\\u202Eevil\"");
	import_quote("王芳", 6, out, sizeof out);
	assert_string_equal(out, "\"王芳\"");
	import_quote("a\0b", 3, out, sizeof out);
	assert_string_equal(out, "\"a\\x00b\"");
	/* 40 characters, then "..." */
	import_quote("0123456789012345678901234567890123456789", 40, out, sizeof out);
	assert_string_equal(out, "\"0123456789012345678901234567890123456789\"");
	import_quote("0123456789012345678901234567890123456789X", 41, out, sizeof out);
	assert_string_equal(out, "\"0123456789012345678901234567890123456789...\"");
	/* forty escaped characters still fit */
	memset(out, 0, sizeof out);
	{
		char worst[121];
		for (int i = 0; i < 40; i++)
			memcpy(worst + 3 * i, "\xe2\x80\xae", 3);
		import_quote(worst, 120, out, sizeof out);
		assert_int_equal(strlen(out), 2 + 40 * 6);
	}

	import_error_format(&e, 12, out, sizeof out);
	assert_string_equal(out, "line 12, field phones: conflict: taken");
	e.field[0] = '\0';
	e.code = IMPORT_DATABASE;
	import_error_format(&e, 3, out, sizeof out);
	assert_string_equal(out, "line 3: database: taken");
	assert_string_equal(import_code_slug(IMPORT_MALFORMED_CSV), "malformed_csv");
	assert_string_equal(import_code_slug(IMPORT_OUT_OF_RANGE), "out_of_range");
	assert_string_equal(import_col_name(COL_ORDERED_AT), "ordered_at");
}

/* ---- keys ---- */

static void
test_keys(void **state)
{
	struct import_keys *k = import_keys_new();
	char key[32];
	size_t mark;

	(void)state;
	assert_non_null(k);
	assert_int_equal(import_keys_find(k, 'p', "+8613800138000"), 0);
	assert_int_equal(import_keys_add(k, 'p', "+8613800138000", 2), 0);
	assert_int_equal(import_keys_add(k, 'm', "+8613800138000", 3), 0);
	assert_int_equal(import_keys_find(k, 'p', "+8613800138000"), 2);
	assert_int_equal(import_keys_find(k, 'm', "+8613800138000"), 3);
	assert_int_equal(import_keys_find(k, 'e', "+8613800138000"), 0);
	assert_int_equal(import_keys_find(k, 'p', "+861380013800"), 0);
	assert_int_equal(import_keys_add(k, 'm', "", 4), 0);
	assert_int_equal(import_keys_find(k, 'm', ""), 4);

	/* a batch that is run again forgets its keys, across table growth */
	mark = import_keys_mark(k);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "M-%d", i);
		assert_int_equal(import_keys_add(k, 'm', key, (unsigned long)i + 10), 0);
	}
	assert_int_equal(import_keys_find(k, 'm', "M-4321"), 4331);
	assert_int_equal(import_keys_find(k, 'p', "+8613800138000"), 2);
	import_keys_undo(k, mark);
	assert_int_equal(import_keys_mark(k), mark);
	for (int i = 0; i < 5000; i += 7) {
		snprintf(key, sizeof key, "M-%d", i);
		assert_int_equal(import_keys_find(k, 'm', key), 0);
	}
	assert_int_equal(import_keys_find(k, 'p', "+8613800138000"), 2);
	assert_int_equal(import_keys_find(k, 'm', ""), 4);
	/* and takes new ones afterwards */
	assert_int_equal(import_keys_add(k, 'm', "M-7", 99), 0);
	assert_int_equal(import_keys_find(k, 'm', "M-7"), 99);
	import_keys_undo(k, 0);
	assert_int_equal(import_keys_find(k, 'p', "+8613800138000"), 0);
	assert_int_equal(import_keys_find(k, 'm', "M-7"), 0);
	import_keys_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_plain),
	    cmocka_unit_test(test_csv_quoted),
	    cmocka_unit_test(test_csv_blank_lines_and_bom),
	    cmocka_unit_test(test_csv_utf16_refused),
	    cmocka_unit_test(test_csv_malformed_quotes),
	    cmocka_unit_test(test_csv_record_too_long),
	    cmocka_unit_test(test_csv_too_many_fields),
	    cmocka_unit_test(test_csv_buffer_boundaries),
	    cmocka_unit_test(test_header_mapping),
	    cmocka_unit_test(test_header_errors),
	    cmocka_unit_test(test_customer_good),
	    cmocka_unit_test(test_customer_refused),
	    cmocka_unit_test(test_language_tags),
	    cmocka_unit_test(test_order_good),
	    cmocka_unit_test(test_order_refused),
	    cmocka_unit_test(test_amounts),
	    cmocka_unit_test(test_currencies),
	    cmocka_unit_test(test_times),
	    cmocka_unit_test(test_quote_and_format),
	    cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
