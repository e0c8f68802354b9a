/* store-sla.h: the SLA clocks of one ticket in ticket_sla_clocks, changed
 * inside the transaction of the ticket write that moves them. Runs on a db
 * worker. */
#ifndef CC_STORE_SLA_H
#define CC_STORE_SLA_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "sla.h"

/* What happened to the ticket. */
enum sla_hook {
	SLA_HOOK_CREATED,   /* a new ticket (new_state is its first state) */
	SLA_HOOK_STATE,     /* a transition: flags are its TF_* (ticket_state.h) */
	SLA_HOOK_RESPONDED, /* staff wrote to the customer (a customer-visible note) */
	SLA_HOOK_UPDATED,   /* kind, severity, priority, channel or site changed */
};

struct sla_change {
	uint64_t ticket_id;
	enum sla_hook what;
	unsigned flags;
	int old_state; /* enum ticket_state, -1 for a new ticket */
	int new_state;
};

/* Apply c to the ticket's clocks at now_ms (the ticket row is locked by
 * the caller): 0 and *wake_ms (the next warning or breach instant of any
 * of its clocks, SLA_NEVER when none), or -1 on a database error. */
int store_sla_apply(MYSQL *m, const struct sla_change *c, int64_t now_ms, int64_t *wake_ms,
                    char *err, size_t errlen);

#endif
