/* op-web.c: complaint.file, complaint.status, complaint.csat and
 * order.upsert, the ops behind ccgateway (docs/PROTOCOL.md). */
#include "op-args.h"
#include "op-job.h"
#include "server.h"
#include "store-web.h"

void
op_complaint_file(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_UNAVAILABLE, "not available yet");
}

void
op_complaint_status(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_UNAVAILABLE, "not available yet");
}

void
op_complaint_csat(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_UNAVAILABLE, "not available yet");
}

void
op_order_upsert(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_UNAVAILABLE, "not available yet");
}
