/* proto.c: line framing and envelope validation. Everything here is pure
 * (no sockets): the server, the client, the unit tests and the fuzzer all
 * call the same code. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

enum line_status
line_next(struct evbuffer *in, size_t max, char **line, size_t *len)
{
	struct evbuffer_ptr eol;
	size_t n;

	eol = evbuffer_search(in, "\n", 1, NULL);
	if (eol.pos < 0) {
		/* max bytes and a CR may still be followed by the LF */
		n = evbuffer_get_length(in);
		if (n > max + 1 ||
		    (n == max + 1 && evbuffer_pullup(in, (ev_ssize_t)n)[n - 1] != '\r'))
			return LINE_TOO_LONG;
		return LINE_MORE;
	}
	n = (size_t)eol.pos;
	if (n > max + 1 || (n == max + 1 && evbuffer_pullup(in, (ev_ssize_t)n)[n - 1] != '\r'))
		return LINE_TOO_LONG;
	char *buf = malloc(n + 1);
	if (buf == NULL)
		return LINE_TOO_LONG;
	evbuffer_remove(in, buf, n);
	evbuffer_drain(in, 1);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*line = buf;
	*len = n;
	return LINE_OK;
}

int
proto_name_valid(const char *name)
{
	size_t n = strlen(name);
	int at_start = 1;

	if (n == 0 || n > PROTO_MAX_OP)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (at_start) {
			if (c < 'a' || c > 'z')
				return 0;
			at_start = 0;
		} else if (c == '.')
			at_start = 1;
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return !at_start;
}

static int
proto_fail(struct proto_error *err, enum cc_err code, int fatal, const char *msg)
{
	err->code = code;
	err->fatal = fatal;
	snprintf(err->message, sizeof err->message, "%s", msg);
	return -1;
}

int
proto_parse_request(const char *line, size_t len, struct proto_request *req,
                    struct proto_error *err)
{
	json_error_t jerr;
	json_t *root, *id, *op;
	size_t bad;

	memset(req, 0, sizeof *req);
	req->id = -1;
	if (len > PROTO_MAX_LINE)
		return proto_fail(err, CC_ERR_TOO_LARGE, 1, "line exceeds 65536 bytes");
	if ((bad = utf8_check(line, len)) != len) {
		err->code = CC_ERR_BAD_REQUEST;
		err->fatal = 1;
		snprintf(err->message, sizeof err->message, "invalid UTF-8 at byte %zu", bad);
		return -1;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		err->code = CC_ERR_BAD_REQUEST;
		err->fatal = 1;
		snprintf(err->message, sizeof err->message, "invalid JSON at byte %d: %.160s",
		         jerr.position, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return proto_fail(err, CC_ERR_BAD_REQUEST, 0, "a request must be a JSON object");
	}
	id = json_object_get(root, "id");
	if (json_is_integer(id) && json_integer_value(id) >= 0)
		req->id = json_integer_value(id);
	else {
		json_decref(root);
		return proto_fail(err, CC_ERR_BAD_REQUEST, 0,
		                  "\"id\" must be a non-negative integer");
	}
	op = json_object_get(root, "op");
	if (!json_is_string(op) || !proto_name_valid(json_string_value(op))) {
		json_decref(root); /* req->id stays: the error reply carries it */
		return proto_fail(
		    err, CC_ERR_BAD_REQUEST, 0,
		    "\"op\" must be a dotted lower-case name such as \"ticket.show\"");
	}
	req->root = root;
	req->op = json_string_value(op);
	return 0;
}

void
proto_request_free(struct proto_request *req)
{
	json_decref(req->root);
	req->root = NULL;
	req->op = NULL;
}

json_t *
proto_reply_ok(json_int_t id)
{
	json_t *m = json_object();
	if (id >= 0)
		json_object_set_new(m, "id", json_integer(id));
	else
		json_object_set_new(m, "id", json_null());
	json_object_set_new(m, "ok", json_true());
	return m;
}

json_t *
proto_reply_error(json_int_t id, enum cc_err code, const char *msg)
{
	json_t *m = proto_reply_ok(id);
	json_object_set_new(m, "ok", json_false());
	json_object_set_new(m, "error",
	                    json_pack("{s:s,s:s}", "code", cc_err_slug(code), "message",
	                              msg ? msg : cc_err_message(code)));
	return m;
}

json_t *
proto_event(const char *name)
{
	return json_pack("{s:s}", "event", name);
}

char *
proto_encode(const json_t *msg, size_t *len)
{
	size_t n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
	char *buf;

	if (n == 0 || (buf = malloc(n + 2)) == NULL)
		return NULL;
	if (json_dumpb(msg, buf, n, JSON_COMPACT) != n) {
		free(buf);
		return NULL;
	}
	buf[n] = '\n';
	buf[n + 1] = '\0';
	*len = n + 1;
	return buf;
}
