/* op-link.c: ticket.link, ticket.unlink, ticket.merge, ticket.unmerge,
 * customer.merge and customer.unmerge. */
#include "server.h"

void
op_ticket_link(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_INTERNAL, "not implemented yet");
}

void
op_ticket_unlink(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_INTERNAL, "not implemented yet");
}

void
op_ticket_merge(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_INTERNAL, "not implemented yet");
}

void
op_ticket_unmerge(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_INTERNAL, "not implemented yet");
}

void
op_customer_merge(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_INTERNAL, "not implemented yet");
}

void
op_customer_unmerge(struct session *s, json_int_t id, json_t *req)
{
	(void)req;
	session_reply_error(s, id, CC_ERR_INTERNAL, "not implemented yet");
}
