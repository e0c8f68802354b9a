/* test_proto.c: line framing over an evbuffer, the request envelope and the
 * exact bytes of replies (docs/PROTOCOL.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

/* Fresh input buffer per test. */
static int
setup_buffer(void **state)
{
	*state = evbuffer_new();
	return *state == NULL ? -1 : 0;
}

static int
teardown_buffer(void **state)
{
	evbuffer_free(*state);
	return 0;
}

/* Append a C string. */
static void
feed(struct evbuffer *in, const char *s)
{
	assert_int_equal(evbuffer_add(in, s, strlen(s)), 0);
}

/* Append n copies of c. */
static void
feed_fill(struct evbuffer *in, int c, size_t n)
{
	char *buf = malloc(n);

	assert_non_null(buf);
	memset(buf, c, n);
	assert_int_equal(evbuffer_add(in, buf, n), 0);
	free(buf);
}

/* Expect the next line to be want (NUL-free). */
static void
expect_line(struct evbuffer *in, const char *want)
{
	char *line = NULL;
	size_t len = 0;

	assert_int_equal(line_next(in, PROTO_MAX_LINE, &line, &len), LINE_OK);
	assert_non_null(line);
	assert_int_equal(len, strlen(want));
	assert_string_equal(line, want);
	free(line);
}

/* Expect a line of n bytes, all c. */
static void
expect_fill_line(struct evbuffer *in, int c, size_t n)
{
	char *line = NULL;
	size_t len = 0;

	assert_int_equal(line_next(in, PROTO_MAX_LINE, &line, &len), LINE_OK);
	assert_int_equal(len, n);
	assert_int_equal(line[n], '\0');
	for (size_t i = 0; i < n; i++)
		if (line[i] != c)
			fail_msg("byte %zu is 0x%02x", i, (unsigned char)line[i]);
	free(line);
}

/* Expect status st (not LINE_OK) and no line handed out. */
static void
expect_status(struct evbuffer *in, enum line_status st)
{
	char *line = NULL;
	size_t len = 0;

	assert_int_equal(line_next(in, PROTO_MAX_LINE, &line, &len), st);
	assert_null(line);
}

/* ---- line framing ---- */

/* One line, then nothing. */
static void
test_line_single(void **state)
{
	struct evbuffer *in = *state;

	feed(in, "{\"id\":1,\"op\":\"ping\"}\n");
	expect_line(in, "{\"id\":1,\"op\":\"ping\"}");
	expect_status(in, LINE_MORE);
	assert_int_equal(evbuffer_get_length(in), 0);
}

/* A line arriving in pieces is returned once, whole. */
static void
test_line_split(void **state)
{
	struct evbuffer *in = *state;

	expect_status(in, LINE_MORE);
	feed(in, "{\"id\":");
	expect_status(in, LINE_MORE);
	feed(in, "1,\"op\"");
	expect_status(in, LINE_MORE);
	feed(in, ":\"ping\"}\r");
	expect_status(in, LINE_MORE);
	feed(in, "\n{\"id\":2");
	expect_line(in, "{\"id\":1,\"op\":\"ping\"}");
	expect_status(in, LINE_MORE);
	assert_int_equal(evbuffer_get_length(in), strlen("{\"id\":2"));
}

/* CRLF loses its CR; a CR elsewhere, or a second CR, stays. */
static void
test_line_crlf(void **state)
{
	struct evbuffer *in = *state;

	feed(in, "a\r\nb\rc\nd\r\r\n\r\n");
	expect_line(in, "a");
	expect_line(in, "b\rc");
	expect_line(in, "d\r");
	expect_line(in, "");
	expect_status(in, LINE_MORE);
}

/* Empty lines are lines (the caller decides to skip them). */
static void
test_line_empty(void **state)
{
	struct evbuffer *in = *state;

	feed(in, "\n\nx\n");
	expect_line(in, "");
	expect_line(in, "");
	expect_line(in, "x");
	expect_status(in, LINE_MORE);
}

/* Several lines in one buffer come out in order; the tail waits. */
static void
test_line_multiple(void **state)
{
	struct evbuffer *in = *state;
	char want[32];

	for (int i = 0; i < 100; i++) {
		snprintf(want, sizeof want, "{\"id\":%d}\n", i);
		feed(in, want);
	}
	feed(in, "{\"id\":100");
	for (int i = 0; i < 100; i++) {
		snprintf(want, sizeof want, "{\"id\":%d}", i);
		expect_line(in, want);
	}
	expect_status(in, LINE_MORE);
}

/* An embedded NUL is part of the line; len says where it ends. */
static void
test_line_nul(void **state)
{
	struct evbuffer *in = *state;
	char *line;
	size_t len;

	assert_int_equal(evbuffer_add(in, "a\0b\n", 4), 0);
	assert_int_equal(line_next(in, PROTO_MAX_LINE, &line, &len), LINE_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(line, "a\0b", 4);
	free(line);
}

/* Exactly 65536 bytes are accepted, with LF or CRLF, in one add or two. */
static void
test_line_at_limit(void **state)
{
	struct evbuffer *in = *state;

	feed_fill(in, 'a', PROTO_MAX_LINE);
	expect_status(in, LINE_MORE);
	feed(in, "\n");
	expect_fill_line(in, 'a', PROTO_MAX_LINE);

	feed_fill(in, 'b', PROTO_MAX_LINE);
	feed(in, "\r");
	expect_status(in, LINE_MORE); /* the CR may be the start of CRLF */
	feed(in, "\n");
	expect_fill_line(in, 'b', PROTO_MAX_LINE);

	feed_fill(in, 'c', PROTO_MAX_LINE);
	feed(in, "\r\nnext\n");
	expect_fill_line(in, 'c', PROTO_MAX_LINE);
	expect_line(in, "next");
	expect_status(in, LINE_MORE);
}

/* 65537 bytes with a terminating LF are refused. */
static void
test_line_over_limit_lf(void **state)
{
	struct evbuffer *in = *state;

	feed_fill(in, 'a', PROTO_MAX_LINE + 1);
	feed(in, "\n");
	expect_status(in, LINE_TOO_LONG);
}

/* 65537 bytes and a CRLF: the CR does not make room for one more byte. */
static void
test_line_over_limit_crlf(void **state)
{
	struct evbuffer *in = *state;

	feed_fill(in, 'a', PROTO_MAX_LINE + 1);
	feed(in, "\r\n");
	expect_status(in, LINE_TOO_LONG);
}

/* 65536 bytes and a CR that is not followed by LF: the CR is data, the
 * line is 65537 bytes long. */
static void
test_line_over_limit_cr_data(void **state)
{
	struct evbuffer *in = *state;

	feed_fill(in, 'a', PROTO_MAX_LINE);
	feed(in, "\rx\n");
	expect_status(in, LINE_TOO_LONG);
}

/* 65537 bytes of payload with no LF yet are refused at once: whatever
 * follows, the line is already too long. */
static void
test_line_over_limit_no_lf(void **state)
{
	struct evbuffer *in = *state;

	feed_fill(in, 'a', PROTO_MAX_LINE + 1);
	expect_status(in, LINE_TOO_LONG);
}

/* A flood without any LF is refused long before memory runs out. */
static void
test_line_flood(void **state)
{
	struct evbuffer *in = *state;

	feed_fill(in, 'a', PROTO_MAX_LINE + 2);
	expect_status(in, LINE_TOO_LONG);
	feed_fill(in, 'a', 4 * PROTO_MAX_LINE);
	expect_status(in, LINE_TOO_LONG);
}

/* Good lines before an oversized one are still delivered. */
static void
test_line_good_then_long(void **state)
{
	struct evbuffer *in = *state;

	feed(in, "one\ntwo\n");
	feed_fill(in, 'x', PROTO_MAX_LINE + 10);
	feed(in, "\n");
	expect_line(in, "one");
	expect_line(in, "two");
	expect_status(in, LINE_TOO_LONG);
}

/* A caller-chosen limit is honoured the same way. */
static void
test_line_small_limit(void **state)
{
	struct evbuffer *in = *state;
	char *line;
	size_t len;

	feed(in, "1234\n12345\n");
	assert_int_equal(line_next(in, 4, &line, &len), LINE_OK);
	assert_string_equal(line, "1234");
	free(line);
	line = NULL;
	assert_int_equal(line_next(in, 4, &line, &len), LINE_TOO_LONG);
	assert_null(line);
}

/* ---- request envelope ---- */

/* Parse line and expect failure with code, fatality and message prefix. */
static void
expect_reject(const char *line, size_t len, json_int_t id, enum cc_err code, int fatal,
              const char *prefix)
{
	struct proto_request req;
	struct proto_error err;

	memset(&err, 0, sizeof err);
	if (proto_parse_request(line, len, &req, &err) != -1)
		fail_msg("accepted: %.*s", (int)len, line);
	assert_null(req.root);
	assert_int_equal(req.id, id);
	assert_int_equal(err.code, code);
	assert_int_equal(err.fatal, fatal);
	if (strncmp(err.message, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", err.message, prefix);
}
#define REJECT(lit, code, fatal, prefix)                                                           \
	expect_reject(lit, sizeof(lit) - 1, -1, code, fatal, prefix)
/* A request whose id is readable keeps it, so the error reply can carry it. */
#define REJECT_ID(lit, id, code, fatal, prefix)                                                    \
	expect_reject(lit, sizeof(lit) - 1, id, code, fatal, prefix)

/* Parse line and expect success with id and op. */
static void
expect_accept(const char *line, json_int_t id, const char *op)
{
	struct proto_request req;
	struct proto_error err;

	if (proto_parse_request(line, strlen(line), &req, &err) != 0)
		fail_msg("refused %s: %s", line, err.message);
	assert_int_equal(req.id, id);
	assert_string_equal(req.op, op);
	assert_true(json_is_object(req.root));
	proto_request_free(&req);
	assert_null(req.root);
}

/* Well-formed requests, with and without arguments. */
static void
test_parse_valid(void **state)
{
	struct proto_request req;
	struct proto_error err;
	const char *line =
	    "{\"id\":7,\"op\":\"login\",\"user\":\"li.wei\",\"password\":\"s3cr\xc3\xa9t\"}";

	(void)state;
	assert_int_equal(proto_parse_request(line, strlen(line), &req, &err), 0);
	assert_int_equal(req.id, 7);
	assert_string_equal(req.op, "login");
	assert_string_equal(json_string_value(json_object_get(req.root, "user")), "li.wei");
	assert_string_equal(json_string_value(json_object_get(req.root, "password")),
	                    "s3cr\xc3\xa9t");
	proto_request_free(&req);

	expect_accept("{\"id\":0,\"op\":\"ping\"}", 0, "ping");
	expect_accept("  {\"op\":\"ticket.show\", \"id\": 42}  ", 42, "ticket.show");
	expect_accept("{\"id\":9007199254740993,\"op\":\"a.b_c.d9\"}", 9007199254740993LL,
	              "a.b_c.d9");
	expect_accept("{\"id\":1,\"op\":\"x\",\"note\":\"\\u00e9\\ud83d\\ude00\"}", 1, "x");
}

/* id must be present, an integer and not negative. */
static void
test_parse_bad_id(void **state)
{
	const char *msg = "\"id\" must be a non-negative integer";

	(void)state;
	REJECT("{\"op\":\"ping\"}", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("{\"id\":-1,\"op\":\"ping\"}", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("{\"id\":\"7\",\"op\":\"ping\"}", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("{\"id\":7.0,\"op\":\"ping\"}", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("{\"id\":null,\"op\":\"ping\"}", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("{\"id\":true,\"op\":\"ping\"}", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("{\"id\":[1],\"op\":\"ping\"}", CC_ERR_BAD_REQUEST, 0, msg);
}

/* op must be present, a string and a dotted lower-case name. */
static void
test_parse_bad_op(void **state)
{
	const char *msg = "\"op\" must be";
	char line[256];

	(void)state;
	REJECT_ID("{\"id\":1}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":7}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":null}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":\"\"}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":\"Ping\"}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":\"PING\"}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":\".ping\"}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":\"ping.\"}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":\"ticket..show\"}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":\"ticket.9show\"}", 1, CC_ERR_BAD_REQUEST, 0, msg);
	REJECT_ID("{\"id\":1,\"op\":\"ticket show\"}", 1, CC_ERR_BAD_REQUEST, 0, msg);

	/* 64 bytes is the longest name; 65 is refused */
	snprintf(line, sizeof line, "{\"id\":1,\"op\":\"%.64s\"}",
	         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm");
	expect_accept(line, 1, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl");
	snprintf(line, sizeof line, "{\"id\":1,\"op\":\"%.65s\"}",
	         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm");
	expect_reject(line, strlen(line), 1, CC_ERR_BAD_REQUEST, 0, msg);
}

/* JSON that is not an object is a bad request, but the stream is fine. */
static void
test_parse_not_object(void **state)
{
	const char *msg = "a request must be a JSON object";

	(void)state;
	REJECT("[1,2,3]", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("[]", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("42", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("\"ping\"", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("null", CC_ERR_BAD_REQUEST, 0, msg);
	REJECT("true", CC_ERR_BAD_REQUEST, 0, msg);
}

/* Text that is not JSON is fatal, and says where it broke. */
static void
test_parse_invalid_json(void **state)
{
	const char *msg = "invalid JSON at byte ";

	(void)state;
	REJECT("{\"id\":1,", CC_ERR_BAD_REQUEST, 1, msg);
	REJECT("{id:1}", CC_ERR_BAD_REQUEST, 1, msg);
	REJECT("{\"id\":1,\"op\":\"ping\"} {}", CC_ERR_BAD_REQUEST, 1, msg);
	REJECT("{\"id\":1,\"op\":\"ping\",}", CC_ERR_BAD_REQUEST, 1, msg);
	REJECT("{\"id\":01,\"op\":\"ping\"}", CC_ERR_BAD_REQUEST, 1, msg);
	REJECT("{\"id\":1,\"op\":\"ping\"\x00}", CC_ERR_BAD_REQUEST, 1, msg);
	REJECT("{\"a\":\"\\ud800\"}", CC_ERR_BAD_REQUEST, 1, msg); /* lone surrogate escape */
	REJECT("{\"id\":1,\"op\":\"ticket\\u0000show\"}", CC_ERR_BAD_REQUEST, 1, msg);
	REJECT("", CC_ERR_BAD_REQUEST, 1, msg);
	REJECT("hello", CC_ERR_BAD_REQUEST, 1, msg);
}

/* The byte offset in the message is where the parser stopped. */
static void
test_parse_invalid_json_offset(void **state)
{
	struct proto_request req;
	struct proto_error err;
	const char *line = "{\"id\":1,\"op\":\"ping\",\"x\":tru}";
	int at;

	(void)state;
	assert_int_equal(proto_parse_request(line, strlen(line), &req, &err), -1);
	assert_int_equal(sscanf(err.message, "invalid JSON at byte %d:", &at), 1);
	assert_true(at >= 24 && at <= (int)strlen(line));
	assert_non_null(strchr(err.message, ':'));
	assert_true(strlen(strchr(err.message, ':')) > 2); /* jansson's reason follows */
}

/* Invalid UTF-8 is fatal and names the offset of the first bad byte. */
static void
test_parse_invalid_utf8(void **state)
{
	static const struct {
		const char *line;
		size_t len;
		const char *message;
	} cases[] = {
	    /* inside a string value; the prefix is 22 bytes */
	    {"{\"id\":1,\"op\":\"x\",\"a\":\"\xc0\xaf\"}", 26, "invalid UTF-8 at byte 22"},
	    {"{\"id\":1,\"op\":\"x\",\"a\":\"\xed\xa0\x80\"}", 27, "invalid UTF-8 at byte 22"},
	    {"{\"id\":1,\"op\":\"x\",\"a\":\"\xe2\x82\"}", 26, "invalid UTF-8 at byte 22"},
	    {"\xff{\"id\":1,\"op\":\"x\"}", 18, "invalid UTF-8 at byte 0"},
	    {"{\"id\":1,\"op\":\"x\"}\xf0\x9f\x98", 20, "invalid UTF-8 at byte 17"},
	    {"{\"id\":1,\"op\":\"x\",\"\xfe\":1}", 23, "invalid UTF-8 at byte 18"},
	};
	struct proto_request req;
	struct proto_error err;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(strlen(cases[i].line), cases[i].len);
		assert_int_equal(proto_parse_request(cases[i].line, cases[i].len, &req, &err), -1);
		assert_null(req.root);
		assert_int_equal(req.id, -1);
		assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
		assert_int_equal(err.fatal, 1);
		assert_string_equal(err.message, cases[i].message);
	}
}

/* The exact message for invalid UTF-8 (clients and tests match on it). */
static void
test_parse_invalid_utf8_message(void **state)
{
	struct proto_request req;
	struct proto_error err;
	const char line[] = "{\"id\":3,\"op\":\"x\",\"k\":\"ok \xff\"}";

	(void)state;
	assert_int_equal(proto_parse_request(line, sizeof line - 1, &req, &err), -1);
	assert_string_equal(err.message, "invalid UTF-8 at byte 25");
}

/* Duplicate keys are refused: two readers must never disagree on a value. */
static void
test_parse_duplicate_keys(void **state)
{
	struct proto_request req;
	struct proto_error err;
	const char *lines[] = {
	    "{\"id\":1,\"id\":2,\"op\":\"ping\"}",
	    "{\"id\":1,\"op\":\"ping\",\"op\":\"logout\"}",
	    "{\"id\":1,\"op\":\"login\",\"user\":\"a\",\"user\":\"b\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		assert_int_equal(proto_parse_request(lines[i], strlen(lines[i]), &req, &err), -1);
		assert_null(req.root);
		assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
		assert_non_null(strstr(err.message, "duplicate"));
	}
}

/* A line over the limit handed to the parser directly is too_large. */
static void
test_parse_too_large(void **state)
{
	size_t len = PROTO_MAX_LINE + 1;
	char *line = malloc(len);

	(void)state;
	assert_non_null(line);
	memset(line, ' ', len);
	line[0] = '{';
	line[len - 1] = '}';
	expect_reject(line, len, -1, CC_ERR_TOO_LARGE, 1, "line exceeds 65536 bytes");
	free(line);
}

/* A request of exactly the maximum size parses. */
static void
test_parse_max_size(void **state)
{
	const char *head = "{\"id\":5,\"op\":\"ticket.note\",\"text\":\"";
	size_t len = PROTO_MAX_LINE;
	char *line = malloc(len + 1);
	struct proto_request req;
	struct proto_error err;

	(void)state;
	assert_non_null(line);
	memset(line, 'n', len);
	memcpy(line, head, strlen(head));
	memcpy(line + len - 2, "\"}", 2);
	line[len] = '\0';
	assert_int_equal(proto_parse_request(line, len, &req, &err), 0);
	assert_int_equal(req.id, 5);
	assert_int_equal(strlen(json_string_value(json_object_get(req.root, "text"))),
	                 len - strlen(head) - 2);
	proto_request_free(&req);
	free(line);
}

/* ---- names ---- */

/* proto_name_valid against the grammar [a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*. */
static void
test_name_valid(void **state)
{
	static const char *good[] = {"a",  "ping", "ticket.show", "queue.stats", "agent.ready",
	                             "a1", "a_",   "a_b.c_d.e9",  "x.y.z"};
	static const char *bad[] = {"",    "A",   "Ping", "1a",  "_a", ".a",  "a.",  "a..b",
	                            "a-b", "a b", "a.1",  "a._", "é",  "a/b", "a.B", "a\t"};
	char name[80];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (!proto_name_valid(good[i]))
			fail_msg("refused \"%s\"", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (proto_name_valid(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	memset(name, 'a', sizeof name);
	name[PROTO_MAX_OP] = '\0';
	assert_true(proto_name_valid(name));
	name[PROTO_MAX_OP] = 'a';
	name[PROTO_MAX_OP + 1] = '\0';
	assert_false(proto_name_valid(name));
}

/* ---- replies ---- */

/* Encode msg, compare with want (which includes the LF), free msg. */
static void
expect_encoded(json_t *msg, const char *want)
{
	size_t len = 0;
	char *out;

	assert_non_null(msg);
	out = proto_encode(msg, &len);
	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	json_decref(msg);
	free(out);
}

/* Success replies echo the id, null when there was none. */
static void
test_reply_ok(void **state)
{
	json_t *m;

	(void)state;
	expect_encoded(proto_reply_ok(7), "{\"id\":7,\"ok\":true}\n");
	expect_encoded(proto_reply_ok(0), "{\"id\":0,\"ok\":true}\n");
	expect_encoded(proto_reply_ok(-1), "{\"id\":null,\"ok\":true}\n");
	m = proto_reply_ok(12);
	json_object_set_new(m, "time", json_integer(1700000000123LL));
	expect_encoded(m, "{\"id\":12,\"ok\":true,\"time\":1700000000123}\n");
}

/* Error replies carry the slug and the message, or the default message. */
static void
test_reply_error(void **state)
{
	json_t *m;

	(void)state;
	expect_encoded(proto_reply_error(7, CC_ERR_UNAUTHORIZED, "log in first"),
	               "{\"id\":7,\"ok\":false,\"error\":{\"code\":\"unauthorized\","
	               "\"message\":\"log in first\"}}\n");
	expect_encoded(proto_reply_error(-1, CC_ERR_TOO_LARGE, "line exceeds 65536 bytes"),
	               "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"too_large\","
	               "\"message\":\"line exceeds 65536 bytes\"}}\n");
	expect_encoded(proto_reply_error(3, CC_ERR_NOT_FOUND, NULL),
	               "{\"id\":3,\"ok\":false,\"error\":{\"code\":\"not_found\","
	               "\"message\":\"no such object\"}}\n");
	m = proto_reply_error(4, CC_ERR_RATE_LIMITED, "too many failed logins");
	json_object_set_new(m, "retry_after", json_integer(300));
	expect_encoded(m, "{\"id\":4,\"ok\":false,\"error\":{\"code\":\"rate_limited\","
	                  "\"message\":\"too many failed logins\"},\"retry_after\":300}\n");
}

/* Events have no id. */
static void
test_event(void **state)
{
	json_t *m = proto_event("closing");

	(void)state;
	json_object_set_new(m, "reason", json_string("server shutting down"));
	expect_encoded(m, "{\"event\":\"closing\",\"reason\":\"server shutting down\"}\n");
}

/* Control characters are escaped, so an encoded message is one line;
 * non-ASCII text is sent as UTF-8, not \u escapes. */
static void
test_encode_one_line(void **state)
{
	json_t *m = proto_reply_ok(1);
	size_t len;
	char *out;

	(void)state;
	json_object_set_new(m, "text", json_string("a\nb\r\x1b[2J\t\xe5\xae\xa2\xf0\x9f\x98\x80"));
	out = proto_encode(m, &len);
	assert_non_null(out);
	assert_string_equal(out, "{\"id\":1,\"ok\":true,\"text\":"
	                         "\"a\\nb\\r\\u001B[2J\\t\xe5\xae\xa2\xf0\x9f\x98\x80\"}\n");
	assert_ptr_equal(strchr(out, '\n'), out + len - 1);
	free(out);
	json_decref(m);
}

/* A reply survives a round trip through the framing and the parser. */
static void
test_encode_round_trip(void **state)
{
	struct evbuffer *in = *state;
	json_t *m = proto_reply_ok(99), *back;
	char *out, *line;
	size_t len, llen;

	json_object_set_new(m, "op", json_string("whoami"));
	out = proto_encode(m, &len);
	assert_int_equal(evbuffer_add(in, out, len), 0);
	assert_int_equal(line_next(in, PROTO_MAX_LINE, &line, &llen), LINE_OK);
	assert_int_equal(llen, len - 1);
	back = json_loadb(line, llen, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(m, back));
	json_decref(back);
	json_decref(m);
	free(line);
	free(out);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_buffer, teardown_buffer)
	const struct CMUnitTest tests[] = {
	    T(test_line_single),
	    T(test_line_split),
	    T(test_line_crlf),
	    T(test_line_empty),
	    T(test_line_multiple),
	    T(test_line_nul),
	    T(test_line_at_limit),
	    T(test_line_over_limit_lf),
	    T(test_line_over_limit_crlf),
	    T(test_line_over_limit_cr_data),
	    T(test_line_over_limit_no_lf),
	    T(test_line_flood),
	    T(test_line_good_then_long),
	    T(test_line_small_limit),
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_bad_id),
	    cmocka_unit_test(test_parse_bad_op),
	    cmocka_unit_test(test_parse_not_object),
	    cmocka_unit_test(test_parse_invalid_json),
	    cmocka_unit_test(test_parse_invalid_json_offset),
	    cmocka_unit_test(test_parse_invalid_utf8),
	    cmocka_unit_test(test_parse_invalid_utf8_message),
	    cmocka_unit_test(test_parse_duplicate_keys),
	    cmocka_unit_test(test_parse_too_large),
	    cmocka_unit_test(test_parse_max_size),
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_reply_ok),
	    cmocka_unit_test(test_reply_error),
	    cmocka_unit_test(test_event),
	    cmocka_unit_test(test_encode_one_line),
	    T(test_encode_round_trip),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
