/* proto.h: the wire format shared by server, client and tools: JSON objects,
 * one per LF-terminated line, with a request/reply/event envelope.
 * See docs/PROTOCOL.md. */
#ifndef CC_PROTO_H
#define CC_PROTO_H

#include <stddef.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "errcode.h"

#define PROTO_VERSION  1
#define PROTO_MAX_LINE 65536 /* bytes, excluding the LF */
#define PROTO_MAX_OP   64

enum line_status {
	LINE_OK,       /* *line holds one line (malloc'd, NUL-terminated, no LF/CR) */
	LINE_MORE,     /* no complete line yet and still under the limit */
	LINE_TOO_LONG, /* the buffered line exceeds max: the peer must be dropped */
};

/* Take the next LF-terminated line out of in; a trailing CR is dropped.
 * A line longer than max bytes is never returned. */
enum line_status line_next(struct evbuffer *in, size_t max, char **line, size_t *len);

/* A parsed request envelope. root owns everything; op points into it. */
struct proto_request {
	json_t *root;
	json_int_t id; /* -1 when the request carried no usable id */
	const char *op;
};

/* Why a line is not a valid request. fatal: the stream can no longer be
 * trusted (bad JSON or UTF-8), so the peer is answered and then closed. */
struct proto_error {
	enum cc_err code;
	int fatal;
	char message[256];
};

/* Parse and validate one request line. Returns 0 and fills req (caller frees
 * with proto_request_free) or -1 and fills err; on failure req->id is still
 * the request's id when it was readable (else -1) and req->root is NULL. */
int proto_parse_request(const char *line, size_t len, struct proto_request *req,
                        struct proto_error *err);
void proto_request_free(struct proto_request *req);

/* {"id":id,"ok":true} (id omitted when < 0); add fields to it. */
json_t *proto_reply_ok(json_int_t id);
/* {"id":id,"ok":false,"error":{"code":slug,"message":msg}}; msg NULL: default. */
json_t *proto_reply_error(json_int_t id, enum cc_err code, const char *msg);
/* {"event":name}; add fields to it. */
json_t *proto_event(const char *name);
/* Serialise compactly with a trailing LF; caller frees. NULL on failure. */
char *proto_encode(const json_t *msg, size_t *len);
/* Is name a well-formed op or event name: [a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)* */
int proto_name_valid(const char *name);

#endif
