/* fuzz_envelope: bytes from a peer, split at fuzzer-chosen points, through
 * the line framer and the request parser, as the server reads them.
 * Invariants checked: a framed line is never longer than the limit and holds
 * no LF; a parsed request has a valid op and a non-negative id and encodes
 * back to one LF-terminated line; a refusal always names an error code and
 * a non-empty message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_line(const char *line, size_t len)
{
	struct proto_request req;
	struct proto_error err;
	json_t *reply;
	char *out;
	size_t outlen;

	if (len > PROTO_MAX_LINE || memchr(line, '\n', len) != NULL)
		abort();
	memset(&err, 0, sizeof err);
	if (proto_parse_request(line, len, &req, &err) != 0) {
		if (req.root != NULL || err.message[0] == '\0' || err.code == CC_OK ||
		    err.code >= CC_ERR__COUNT)
			abort();
		reply = proto_reply_error(req.id, err.code, err.message);
	} else {
		if (req.id < 0 || !proto_name_valid(req.op))
			abort();
		reply = proto_reply_ok(req.id);
		json_object_set_new(reply, "op", json_string(req.op));
		json_object_set(reply, "echo", req.root);
		proto_request_free(&req);
	}
	out = proto_encode(reply, &outlen);
	json_decref(reply);
	if (out == NULL || outlen == 0 || out[outlen - 1] != '\n' ||
	    memchr(out, '\n', outlen - 1) != NULL || utf8_check(out, outlen) != outlen)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *in = evbuffer_new();
	size_t pos = 0;
	/* the first byte picks the chunk size: reads arrive in pieces */
	size_t chunk = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	enum line_status st = LINE_MORE;

	if (in == NULL)
		return 0;
	if (size > 0)
		pos = 1;
	while (pos < size && st != LINE_TOO_LONG) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		evbuffer_add(in, data + pos, n);
		pos += n;
		for (;;) {
			char *line = NULL;
			size_t len = 0;
			st = line_next(in, PROTO_MAX_LINE, &line, &len);
			if (st != LINE_OK)
				break;
			check_line(line, len);
			free(line);
		}
	}
	evbuffer_free(in);
	return 0;
}
