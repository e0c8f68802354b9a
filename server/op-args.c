/* op-args.c: checking op arguments on the loop. Each helper either fills
 * its output or answers the request itself (bad_request or too_large,
 * naming the argument) and returns -1, so an op can stop at the first
 * refusal without writing anything. */
#include "op-args.h"

#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "store.h"

int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Reply bad_request or too_large about an argument, named in the error's
 * "field"; always -1. */
int
arg_refuse(struct session *s, json_int_t id, enum cc_err code, const char *key, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof msg, "argument \"%s\" %s", key, what);
	session_reply_error_field(s, id, code, msg, key);
	return -1;
}

/* Copy the text argument key into buf (which holds max characters): 1
 * copied, 0 absent and optional, -1 refused (replied). Characters are
 * counted as UTF-8 code points; the JSON parser has already refused
 * invalid UTF-8. Control characters would garble terminals and logs. */
int
arg_text(struct session *s, json_int_t id, json_t *req, const char *key, size_t max, int flags,
         char *buf, size_t buflen)
{
	json_t *v = json_object_get(req, key);
	const char *p;
	size_t len, chars = 0;
	char what[64];

	if (v == NULL && (flags & ARG_OPTIONAL))
		return 0;
	if (!json_is_string(v))
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key, "must be a string");
	p = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || strlen(p) != len)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key, "must be non-empty, without NUL");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c & 0xC0) != 0x80)
			chars++;
		if ((c < 0x20 || c == 0x7F) &&
		    !((flags & ARG_MULTILINE) && (c == '\n' || c == '\r' || c == '\t')))
			return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key,
			                  "contains a control character");
	}
	if ((flags & ARG_BYTES ? len : chars) > max || len >= buflen) {
		snprintf(what, sizeof what, "exceeds %zu %s", max,
		         flags & ARG_BYTES ? "bytes" : "characters");
		return arg_refuse(s, id, CC_ERR_TOO_LARGE, key, what);
	}
	memcpy(buf, p, len + 1);
	return 1;
}

/* An integer argument in [min, max]: 1 and *out, 0 absent, -1 refused. */
int
arg_int(struct session *s, json_int_t id, json_t *req, const char *key, json_int_t min,
        json_int_t max, json_int_t *out)
{
	json_t *v = json_object_get(req, key);
	char what[96];

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(what, sizeof what,
		         "must be an integer from %" JSON_INTEGER_FORMAT
		         " to %" JSON_INTEGER_FORMAT,
		         min, max);
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key, what);
	}
	*out = json_integer_value(v);
	return 1;
}

/* Whether word is one of the NULL-terminated names. */
int
one_of(const char *word, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(word, *names) == 0)
			return 1;
	return 0;
}

/* A text argument that must be one of names: 1, 0 absent (optional), -1. */
int
arg_enum(struct session *s, json_int_t id, json_t *req, const char *key, int flags,
         const char *const *names, const char *list, char *buf, size_t buflen)
{
	int rc = arg_text(s, id, req, key, buflen - 1, flags | ARG_BYTES, buf, buflen);
	char what[192];

	if (rc != 1 || one_of(buf, names))
		return rc;
	snprintf(what, sizeof what, "must be one of %s", list);
	return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key, what);
}

void
op_reply_db_error(struct session *s, json_int_t id, const char *sub, const char *op,
                  const char *err, int db_down, unsigned int db_errno)
{
	const char *msg = "the operation failed on a database error; nothing was changed";
	enum cc_err code = CC_ERR_INTERNAL;

	log_error(sub, "msg=\"database error\" op=%s user=%s error=\"%s\"", op, s->agent.user, err);
	if (db_down) {
		code = CC_ERR_UNAVAILABLE;
		msg = "the database is unreachable; try again shortly";
	} else if (store_retryable(db_errno)) {
		code = CC_ERR_UNAVAILABLE;
		msg = "the ticket is busy; try again";
	}
	session_reply_error(s, id, code, msg);
}

/* A required positive id argument: 0 and *out, -1 refused. */
int
arg_id(struct session *s, json_int_t id, json_t *req, const char *key, uint64_t *out)
{
	json_int_t v;
	int rc = arg_int(s, id, req, key, 1, (json_int_t)INT64_MAX, &v);

	if (rc == 0)
		return arg_refuse(s, id, CC_ERR_BAD_REQUEST, key,
		                  "is required: a positive integer");
	if (rc < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* "ticket": an id or a ref. 1, 0 absent (when optional), -1 refused. */
int
arg_ticket(struct session *s, json_int_t id, json_t *req, int optional, struct ticket_key *k)
{
	json_t *v = json_object_get(req, "ticket");

	memset(k, 0, sizeof *k);
	if (v == NULL && optional)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		k->id = (uint64_t)json_integer_value(v);
		return 1;
	}
	if (json_is_string(v))
		return arg_text(s, id, req, "ticket", TICKET_REF_MAX, ARG_BYTES, k->ref,
		                sizeof k->ref);
	return arg_refuse(s, id, CC_ERR_BAD_REQUEST, "ticket",
	                  "must be a ticket id (a positive integer) or ref (a string)");
}
