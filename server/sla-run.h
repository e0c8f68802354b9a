/* sla-run.h: the SLA clocks of open tickets on the event loop: one timer
 * per ticket with a clock that will warn or breach, armed for that exact
 * instant. No polling: a ticket write tells sla_run_arm its next wake-up
 * after COMMIT; a timer that goes off runs store_sla_fire on a db worker,
 * tells the supervisors (and, for a warning, the owner) and arms again. */
#ifndef CC_SLA_RUN_H
#define CC_SLA_RUN_H

#include <stdint.h>

#include <event2/buffer.h>

struct server;

#define SLA_RETRY_MS 10000 /* a timer whose job failed tries again after this */

/* Build the site calendars and arm a timer for every ticket with a clock
 * that will warn or breach, reading the database over a connection of its
 * own (blocking, at start-up, on the loop thread). 0, or -1 with err. */
int sla_run_start(struct server *srv, char *err, size_t errlen);
/* Free the timers and calendars; after the db pool is gone. */
void sla_run_stop(struct server *srv);
/* (Re)arm ticket_id's timer for wake_ms (Unix ms); SLA_NEVER disarms it. */
void sla_run_arm(struct server *srv, uint64_t ticket_id, int64_t wake_ms);
/* The sla_* lines of /metrics. */
void sla_run_metrics(struct server *srv, struct evbuffer *out);

#endif
