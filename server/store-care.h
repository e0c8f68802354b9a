/* store-care.h: compensations and follow-ups. The store_care_* functions
 * run on a db worker. Each write is one transaction: when the row belongs
 * to a ticket, the ticket row is locked first, the change and the ticket's
 * hash-chained event are written and the chain head moves, all committed
 * together (store-ticket.h); a refusal writes nothing. */
#ifndef CC_STORE_CARE_H
#define CC_STORE_CARE_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "store-ticket.h"

#define CARE_REASON_MAX   500                        /* characters (compensations.reason) */
#define CARE_NOTE_MAX     500                        /* characters (compensations.decision_note) */
#define CARE_EXTREF_MAX   64                         /* bytes (compensations.external_ref) */
#define CARE_OUTCOME_MAX  1000                       /* characters (followups.outcome_note) */
#define CARE_AMOUNT_MAX   100000000                  /* minor units: 1,000,000.00 in a currency */
#define CARE_DUE_PAST_MS  60000                      /* a due time may lag the clock this much */
#define CARE_DUE_AHEAD_MS (366LL * 24 * 3600 * 1000) /* and lie this far ahead */

struct care_comp_request {
	struct ticket_key key;
	int has_version;
	unsigned int version;
	char kind[16];
	uint64_t amount; /* minor units */
	char currency[4];
	char reason[CARE_REASON_MAX * 4 + 1];
};

struct care_comp_decision {
	uint64_t id;
	int approve;                      /* 1 approve, 0 reject */
	char note[CARE_NOTE_MAX * 4 + 1]; /* "": none */
};

struct care_comp_issue {
	uint64_t id;
	char external_ref[CARE_EXTREF_MAX + 1]; /* "": none */
};

struct care_followup_new {
	struct ticket_key key; /* id 0 and ref "": no ticket */
	uint64_t customer_id;  /* 0: the ticket's customer */
	char purpose[16];
	int64_t due_ms;
	char assignee[TICKET_NAME_MAX + 1]; /* "": the actor */
};

struct care_followup_done {
	uint64_t id;
	char outcome[16];
	char note[CARE_OUTCOME_MAX * 4 + 1]; /* "": none */
};

/* 0 done or refused (see res), -1 on a database error. */
int store_care_comp_request(MYSQL *m, const struct ticket_actor *a,
                            const struct care_comp_request *r, int64_t now_ms,
                            struct ticket_result *res, char *err, size_t errlen);
int store_care_comp_decide(MYSQL *m, const struct ticket_actor *a,
                           const struct care_comp_decision *d, int64_t now_ms,
                           struct ticket_result *res, char *err, size_t errlen);
int store_care_comp_issue(MYSQL *m, const struct ticket_actor *a, const struct care_comp_issue *i,
                          int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_care_followup_schedule(MYSQL *m, const struct ticket_actor *a,
                                 const struct care_followup_new *f, int64_t now_ms,
                                 struct ticket_result *res, char *err, size_t errlen);
int store_care_followup_done(MYSQL *m, const struct ticket_actor *a,
                             const struct care_followup_done *d, int64_t now_ms,
                             struct ticket_result *res, char *err, size_t errlen);

#endif
