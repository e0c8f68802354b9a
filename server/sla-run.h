/* sla-run.h: the SLA clocks of open tickets on the event loop: one timer
 * per ticket with a running clock, armed for its next warning or breach. */
#ifndef CC_SLA_RUN_H
#define CC_SLA_RUN_H

#include <stdint.h>

struct server;

/* (Re)arm ticket_id's timer for wake_ms (Unix ms); SLA_NEVER disarms it. */
void sla_run_arm(struct server *srv, uint64_t ticket_id, int64_t wake_ms);

#endif
