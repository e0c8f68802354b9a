/* store-ticket.h: ticket reads and writes. The store_ticket_* functions run
 * on a db worker. Every write is one transaction that changes the ticket,
 * appends its hash-chained event (audit.h) and moves the chain head on the
 * ticket row; it is retried whole on a deadlock. Replies are built as JSON
 * here, inside the transaction, so the loop only sends them. Times in the
 * JSON are Unix milliseconds (UTC). */
#ifndef CC_STORE_TICKET_H
#define CC_STORE_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <mysql.h>

#include "audit.h"
#include "errcode.h"
#include "sla.h"
#include "store-sla.h"
#include "ticket_state.h"

#define TICKET_REF_MAX      32   /* bytes of a ref (tickets.ref) */
#define TICKET_SUBJECT_MAX  255  /* characters (tickets.subject) */
#define TICKET_NOTE_MAX     8192 /* bytes of a note body */
#define TICKET_CODE_MAX     32   /* bytes of a resolution code */
#define TICKET_SUMMARY_MAX  2000 /* characters of a resolution summary */
#define TICKET_NAME_MAX     64   /* bytes of a queue code or agent user name */
#define TICKET_SITE_MAX     64   /* bytes of a site code (16 characters) */
#define TICKET_LIST_MAX     100  /* tickets in one page */
#define TICKET_LIST_DEF     20
#define TICKET_SHOW_NOTES   50  /* newest notes in ticket.show */
#define TICKET_SHOW_EVENTS  100 /* newest events in ticket.show */
#define TICKET_REASON_MAX   500 /* characters of a transfer or reopen reason */
#define TICKET_LANGUAGE_MAX 16  /* bytes of a language tag (tickets.language) */
#define TICKET_PRODUCT_MAX  32  /* bytes of a product line (tickets.product_line) */
#define TICKET_MERGE_HOPS   8   /* merged_into links followed to the surviving customer */
#define TICKET_TX_ATTEMPTS  3   /* runs of a transaction that deadlocked */
#define TICKET_REF_ATTEMPTS 5   /* new refs tried when one is taken */

/* Who acts: the logged-in agent.
 *
 * Site fencing: an agent reaches the tickets they own and those owned by
 * their own site (tickets.owning_site_id); a supervisor likewise, or every
 * site when their agent row names none; admin and service reach all. A
 * ticket out of reach is answered exactly as one that does not exist
 * (not_found), for reads and writes alike. */
struct ticket_actor {
	unsigned int agent_id;
	char user[257];                 /* as agent_info.user */
	unsigned role;                  /* exactly one ROLE_* bit */
	char site[TICKET_SITE_MAX + 1]; /* site code; "" when none */
	/* the id of site, read with the agent at login so that a write need
	 * not look it up; 0 when not known (then site is looked up by code) */
	unsigned int site_id;
	/* tickets.reopen_window in ms: how long after resolve or close a
	 * reopen is allowed (the state table's TF_WINDOW rows). The ops set
	 * it from the configuration; 0 allows no reopen at all. */
	int64_t reopen_window_ms;
};

/* A ticket by id, or by ref when id is 0. */
struct ticket_key {
	uint64_t id;
	char ref[TICKET_REF_MAX + 1];
};

/* A write's outcome when it ran: code CC_OK and reply (members for the
 * reply object, owned by the caller), or a refusal with its message, in
 * which case nothing was written. */
struct ticket_result {
	enum cc_err code;
	char msg[256];
	json_t *reply;
	/* A ticket whose SLA clocks the write changed (0: none) and the next
	 * instant one of them warns or breaches (SLA_NEVER: none): the loop
	 * arms that ticket's timer after the commit (sla-run.h). */
	uint64_t sla_ticket;
	int64_t sla_wake_ms;
};

struct ticket_new {
	char kind[16];
	char channel[8];
	char subject[TICKET_SUBJECT_MAX * 4 + 1];
	uint64_t customer_id; /* 0: none */
	int severity;         /* 0: not graded */
	int priority;
	char queue[TICKET_NAME_MAX + 1]; /* "": none (state new) */
	char site[TICKET_SITE_MAX + 1];  /* "": the actor's site */
	/* For ops that create with more (complaint.file); zero: none. */
	char language[16];                      /* the ticket's language */
	uint64_t order_id;                      /* the order it is about */
	const unsigned char *status_token_hash; /* 32 bytes: the customer's token */
	json_t *detail;        /* members added to the create event's detail (borrowed) */
	unsigned int queue_id; /* the id of queue, when the caller read it already */
	int customer_current;  /* customer_id is known not to be merged away */
	unsigned int site_id;  /* the id of site, for store_ticket_create_many */
};

struct ticket_change {
	struct ticket_key key;
	unsigned int version; /* the version the caller read; 0: the ticket as it is
	                       * (the server's own writes, answers to offers) */
	enum ticket_action action;
	char queue[TICKET_NAME_MAX + 1];
	char agent[TICKET_NAME_MAX + 1];
	char code[TICKET_CODE_MAX + 1];
	char summary[TICKET_SUMMARY_MAX * 4 + 1];
	char site[TICKET_SITE_MAX + 1];         /* "": any; else the queue must be of this site */
	char reason[TICKET_REASON_MAX * 4 + 1]; /* "": none; kept in the event detail */
};

/* ticket.update: the fields to set. A field is changed only when its
 * UPD_* bit is in set; an unset severity or order is 0 with the bit (to
 * clear it). */
enum ticket_update_field {
	UPD_SUBJECT = 1 << 0,
	UPD_KIND = 1 << 1,
	UPD_SEVERITY = 1 << 2,
	UPD_PRIORITY = 1 << 3,
	UPD_LANGUAGE = 1 << 4,
	UPD_CUSTOMER = 1 << 5,
	UPD_ORDER = 1 << 6,
	UPD_PRODUCT = 1 << 7,
};

struct ticket_update {
	struct ticket_key key;
	unsigned int version;
	unsigned set; /* UPD_* */
	char subject[TICKET_SUBJECT_MAX * 4 + 1];
	char kind[16];
	int severity; /* 0: clear */
	int priority;
	char language[TICKET_LANGUAGE_MAX + 1];    /* "": clear */
	char product_line[TICKET_PRODUCT_MAX + 1]; /* "": clear */
	uint64_t customer_id;                      /* 0: clear */
	uint64_t order_id;                         /* 0: clear */
};

struct ticket_note {
	struct ticket_key key;
	int has_version;
	unsigned int version;
	char visibility[16];
	char body[TICKET_NOTE_MAX + 1];
};

struct ticket_filter {
	unsigned int owner_id;           /* 0: any */
	char queue[TICKET_NAME_MAX + 1]; /* "": any */
	int state;                       /* -1: any */
	uint64_t after_id;               /* 0: from the newest */
	unsigned limit;
};

/* Writes: 0 done or refused (see res), -1 on a database error. now_ms is
 * the time of the change, as stored and hashed. */
int store_ticket_create(MYSQL *m, const struct ticket_actor *a, const struct ticket_new *t,
                        int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_ticket_transition(MYSQL *m, const struct ticket_actor *a, const struct ticket_change *c,
                            int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_ticket_add_note(MYSQL *m, const struct ticket_actor *a, const struct ticket_note *n,
                          int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_ticket_update(MYSQL *m, const struct ticket_actor *a, const struct ticket_update *u,
                        int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);

/* Reads, refused like writes (not_found), fenced by the actor's site: 0
 * or -1. */
int store_ticket_show(MYSQL *m, const struct ticket_actor *a, const struct ticket_key *k,
                      struct ticket_result *res, char *err, size_t errlen);
int store_ticket_list(MYSQL *m, const struct ticket_actor *a, const struct ticket_filter *f,
                      struct ticket_result *res, char *err, size_t errlen);

/* Check the event chain of the ticket ref against its head: 0 intact, 1
 * broken, 2 no such ticket, -1 on a database error. msg says which (the
 * first broken event's id and seq). */
int store_ticket_verify(MYSQL *m, const char *ref, char *msg, size_t msglen, char *err,
                        size_t errlen);

/* Building blocks shared with the other stores that write ticket events
 * (store-care.c, store-link.c, store-sla.c). Those that take a MYSQL run
 * inside a transaction on a db worker. */

/* Refuse with a code and a printf-style message into res; 1, the
 * transaction bodies' "refused" (ticket_tx_fn). */
int ticket_refuse(struct ticket_result *res, enum cc_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* not_found for a ticket key ("no ticket with id N" / "with ref R"); 1. */
int ticket_refuse_unknown(struct ticket_result *res, const struct ticket_key *k);
/* Members of a row object from ticket_query_one: an integer (0 for null
 * or absent), a string (NULL for null or absent). */
uint64_t row_uint(const json_t *row, const char *key);
const char *row_str(const json_t *row, const char *key);

/* The head of a ticket's event chain. */
struct ticket_chain {
	uint32_t seq;
	unsigned char hash[AUDIT_HASH_LEN];
};

/* A transaction body: 0 to commit, 1 refused (res says why), -1 error. */
typedef int (*ticket_tx_fn)(MYSQL *m, const void *arg, struct ticket_result *res, char *err,
                            size_t errlen);

/* Run body in a transaction, again on a deadlock; 0 (done or refused) or -1. */
int ticket_tx_run(MYSQL *m, ticket_tx_fn body, const void *arg, struct ticket_result *res,
                  char *err, size_t errlen);
/* The first row of a query as an object keyed by column: 1 and *row (a new
 * reference), 0 none, -1. */
int ticket_query_one(MYSQL *m, const char *sql, MYSQL_BIND *p, json_t **row, char *err,
                     size_t errlen);
/* "2024-05-01 08:00:00.123" (UTC) for a DATETIME(3) column. */
void ticket_format_time(int64_t ms, char buf[48]);
/* Lock the ticket of k for a write by a: 1 and *row, 0 none or out of a's
 * reach (the site fence, see struct ticket_actor), -1. a NULL is the server
 * itself (router, timers): no fence. The row has id, ref, state, version,
 * owner_agent_id, queue_id, owning_site_id, customer_id, order_id,
 * last_event_seq and head, among others. */
int ticket_lock(MYSQL *m, const struct ticket_actor *a, const struct ticket_key *k, json_t **row,
                char *err, size_t errlen);
/* The chain head of a locked row. */
int ticket_row_chain(const json_t *row, struct ticket_chain *c, char *err, size_t errlen);
/* Append an event after c (updated to it) and move the head on the ticket
 * row. detail (may be NULL) is stored as compact JSON, exactly as hashed. */
int ticket_event_append(MYSQL *m, uint64_t ticket_id, struct ticket_chain *c,
                        const struct ticket_actor *a, const char *op, const char *old_value,
                        const char *new_value, json_t *detail, int64_t now_ms, char *err,
                        size_t errlen);
/* ticket_event_append without moving the head: the caller sets
 * last_event_seq and last_event_hash from c in an UPDATE of the row it
 * makes anyway, before the transaction commits. */
int ticket_event_insert(MYSQL *m, uint64_t ticket_id, struct ticket_chain *c,
                        const struct ticket_actor *a, const char *op, const char *old_value,
                        const char *new_value, json_t *detail, int64_t now_ms, char *err,
                        size_t errlen);

/* Tell the SLA clocks of ticket id about a change inside the write's
 * transaction (store-sla.h), and note the ticket and its next wake-up in
 * res for the loop: 0 or -1. */
int ticket_sla_hook(MYSQL *m, uint64_t id, enum sla_hook what, unsigned flags, int old_state,
                    int new_state, int64_t now_ms, struct ticket_result *res, char *err,
                    size_t errlen);

/* For stores that make a ticket inside a transaction of their own (a call):
 * the body of store_ticket_create (0, 1 refused, -1), and a ticket as the
 * ops show it (1 and *out, 0 none, -1). */
int store_ticket_create_body(MYSQL *m, const struct ticket_actor *a, const struct ticket_new *t,
                             int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_ticket_get(MYSQL *m, uint64_t id, json_t **out, char *err, size_t errlen);
/* n new tickets in multi-row statements, inside the caller's transaction:
 * each as store_ticket_create_body would make it (row, create event,
 * chain head, SLA clocks and due instants) and its reply in res[i]. Each
 * t[i] has its lookups done: queue_id (not 0), site_id (of site), a
 * current customer_id, and no severity 1 (a senior queue). The caller
 * checks store_rows_ids_ok first. 0 done; 1 t[*bad] would be refused
 * (res[*bad] says why); -1 on a database error. */
int store_ticket_create_many(MYSQL *m, const struct ticket_actor *const *a,
                             const struct ticket_new *const *t, const int64_t *now_ms, size_t n,
                             struct ticket_result *const *res, size_t *bad, char *err,
                             size_t errlen);

#endif
