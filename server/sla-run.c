/* sla-run.c: see sla-run.h. */
#include "sla-run.h"

void
sla_run_arm(struct server *srv, uint64_t ticket_id, int64_t wake_ms)
{
	(void)srv;
	(void)ticket_id;
	(void)wake_ms;
}
