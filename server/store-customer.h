/* store-customer.h: customer lookups and the customer 360 view ("screen
 * pop"). The store_* functions run on a db worker and build the reply's
 * JSON there: the loop only sends it. Times in the JSON are Unix
 * milliseconds (UTC); money is an integer of minor units. */
#ifndef CC_STORE_CUSTOMER_H
#define CC_STORE_CUSTOMER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <mysql.h>

#define CUSTOMER_SEARCH_MAX  50 /* customers in one search reply */
#define CUSTOMER_TICKETS_MAX 50 /* tickets in one page */
#define CUSTOMER_TICKETS_DEF 10
#define CUSTOMER_MERGED_MAX  32  /* customers merged into one whose history is read */
#define CUSTOMER_MERGE_HOPS  8   /* merged_into links followed to the survivor */
#define CUSTOMER_NAME_MAX    512 /* bytes of a name prefix (128 characters) */

enum customer_key {
	CUSTOMER_KEY_PHONE,
	CUSTOMER_KEY_EMAIL,
	CUSTOMER_KEY_MEMBER_ID,
	CUSTOMER_KEY_ORDER_ID,
	CUSTOMER_KEY_NAME,
};

/* Customers whose key matches value (already normalised; a name is a
 * prefix), merged ones replaced by their survivor: *out is a JSON array of
 * {id, name, site, tier, language, contact: {kind, value}|null}. 0 or -1. */
int store_customer_search(MYSQL *m, enum customer_key key, const char *value, unsigned limit,
                          json_t **out, char *err, size_t errlen);

struct customer_view_query {
	uint64_t id;        /* as asked; merges are followed */
	uint64_t before_id; /* tickets older than this id; 0: the newest */
	unsigned limit;     /* tickets per page */
	int64_t now;        /* Unix seconds, for RFM */
};

/* The customer 360 view as a JSON object (see docs/PROTOCOL.md,
 * customer.show): 1 and *out, 0 when there is no such customer, -1. */
int store_customer_view(MYSQL *m, const struct customer_view_query *q, json_t **out, char *err,
                        size_t errlen);

/* The screen-pop event for a view (store_customer_view's object, which it
 * takes over): {"event": "customer.pop", ...view}. ticket_id 0: none. */
json_t *customer_pop_build(json_t *view, uint64_t ticket_id);

struct session;
/* Load the view of customer_id on a db worker and push it to s as a
 * customer.pop event (with the offered ticket_id, 0 for none). For routing
 * to call with an offer or assignment; on any failure it logs and sends
 * nothing. Runs on the loop. */
void customer_pop_send(struct session *s, uint64_t customer_id, uint64_t ticket_id);

#endif
