/* store-call.h: calls from the phone system (schema/005_calls.sql). Each
 * call is a ticket (kind call, channel phone) plus a calls row keyed by the
 * phone system's own call id; db worker. */
#ifndef CC_STORE_CALL_H
#define CC_STORE_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "store-ticket.h"

#define CALL_ID_MAX     64
#define CALL_NUMBER_MAX 32
#define CALL_IVR_MAX    16

struct call_in {
	char call_id[CALL_ID_MAX + 1];
	char caller[CALL_NUMBER_MAX + 1]; /* as dialled from; may be "" (withheld) */
	char dialled[CALL_NUMBER_MAX + 1];
	char ivr[CALL_IVR_MAX + 1];       /* the IVR choice, "" none */
	char number[CALL_NUMBER_MAX + 1]; /* callback.request: where to call */
};

enum call_event { CALL_ANSWER, CALL_END, CALL_ABANDON, CALL_CALLBACK };

/* call.arrive: the ticket of the call (made now, or the first time this
 * call id arrived). res->reply gets "ticket" and "call"; *sticky the agent
 * who last served the customer (0: none), *fresh whether this request made
 * it. 0 or -1. */
int store_call_arrive(MYSQL *m, const struct ticket_actor *a, const struct call_in *c,
                      int64_t now_ms, struct ticket_result *res, uint32_t *sticky, int *fresh,
                      char *err, size_t errlen);
/* call.answer, call.end, call.abandon, callback.request on a known call:
 * 0 (done, repeated or refused: see res) or -1. res->reply gets "call" and,
 * when the ticket changed, "ticket". */
int store_call_event(MYSQL *m, const struct ticket_actor *a, enum call_event ev,
                     const struct call_in *c, int64_t now_ms, struct ticket_result *res, char *err,
                     size_t errlen);

#endif
