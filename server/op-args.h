/* op-args.h: argument helpers shared by the ops. */
#ifndef CC_OP_ARGS_H
#define CC_OP_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"
#include "store-ticket.h"

/* Text argument flags. */
#define ARG_OPTIONAL  1 /* may be absent */
#define ARG_MULTILINE 2 /* LF, CR and TAB allowed */
#define ARG_BYTES     4 /* max counts bytes, not characters */

/* Unix time in milliseconds. */
int64_t now_ms(void);
/* Reply bad_request or too_large about an argument; always -1. */
int arg_refuse(struct session *s, json_int_t id, enum cc_err code, const char *key,
               const char *what);
/* Copy the text argument key into buf (which holds max characters, or
 * bytes with ARG_BYTES): 1 copied, 0 absent and optional, -1 refused.
 * Control characters are refused unless ARG_MULTILINE allows LF, CR, TAB. */
int arg_text(struct session *s, json_int_t id, json_t *req, const char *key, size_t max, int flags,
             char *buf, size_t buflen);
/* An integer argument in [min, max]: 1 and *out, 0 absent, -1 refused. */
int arg_int(struct session *s, json_int_t id, json_t *req, const char *key, json_int_t min,
            json_int_t max, json_int_t *out);
/* Whether word is one of the NULL-terminated names. */
int one_of(const char *word, const char *const *names);
/* A text argument that must be one of names (list: them, for the message):
 * 1, 0 absent (optional), -1 refused. */
int arg_enum(struct session *s, json_int_t id, json_t *req, const char *key, int flags,
             const char *const *names, const char *list, char *buf, size_t buflen);

/* A required positive id argument: 0 and *out, -1 refused. */
int arg_id(struct session *s, json_int_t id, json_t *req, const char *key, uint64_t *out);
/* "ticket": a ticket id (a number) or ref (a string), because "id" is the
 * request's own id. 1, 0 absent (when optional), -1 refused. */
int arg_ticket(struct session *s, json_int_t id, json_t *req, int optional, struct ticket_key *k);

/* Answer a job that failed on the database: unavailable when the database
 * is down or the row stayed locked (deadlock retries spent), else internal;
 * the error is logged under sub with op and the user, never sent. */
void op_reply_db_error(struct session *s, json_int_t id, const char *sub, const char *op,
                       const char *err, int db_down, unsigned int db_errno);

#endif
