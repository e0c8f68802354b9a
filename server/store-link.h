/* store-link.h: ticket links and merges, and customer merges. The
 * store_* functions run on a db worker.
 *
 * A ticket write is one transaction that locks every ticket it touches
 * (in id order, so two writers on the same pair cannot deadlock), changes
 * the link rows and appends a hash-chained event to each ticket's history
 * (store-ticket.h). A customer merge is one transaction that locks both
 * customers in id order, sets or clears merged_into and appends a row to
 * customer_events. A refusal writes nothing. Nothing is moved by a merge:
 * undoing one only removes the link (and, for a ticket, restores the state
 * it had). */
#ifndef CC_STORE_LINK_H
#define CC_STORE_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <mysql.h>

#include "store-ticket.h"

#define LINK_SHOW_MAX 100 /* links in one ticket.show, each direction */

/* ticket.link and ticket.unlink: a related link between two tickets. */
struct link_pair {
	struct ticket_key ticket;
	struct ticket_key other;
};

/* ticket.merge: ticket (the duplicate) into into (the survivor). */
struct link_merge {
	struct ticket_key ticket;
	struct ticket_key into;
	unsigned int version; /* the duplicate's, as last read */
	int force;            /* allow tickets of different customers */
};

/* ticket.unmerge. */
struct link_unmerge {
	struct ticket_key ticket;
	int has_version;
	unsigned int version;
};

/* Writes: 0 done or refused (see res), -1 on a database error. */
int store_link_add(MYSQL *m, const struct ticket_actor *a, const struct link_pair *l,
                   int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_link_remove(MYSQL *m, const struct ticket_actor *a, const struct link_pair *l,
                      int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_link_merge(MYSQL *m, const struct ticket_actor *a, const struct link_merge *l,
                     int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_link_unmerge(MYSQL *m, const struct ticket_actor *a, const struct link_unmerge *l,
                       int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);

/* The links of a ticket in both directions, as a new JSON array of
 * {kind, direction, relation, id, ref, state, subject} (docs/PROTOCOL.md,
 * ticket.show): 0 or -1. */
int store_link_list(MYSQL *m, uint64_t ticket_id, json_t **out, char *err, size_t errlen);

/* customer.merge (customer into into) and customer.unmerge (into 0). */
int store_customer_merge(MYSQL *m, const struct ticket_actor *a, uint64_t customer, uint64_t into,
                         int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_customer_unmerge(MYSQL *m, const struct ticket_actor *a, uint64_t customer,
                           int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);

#endif
