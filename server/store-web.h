/* store-web.h: the database side of the ops behind ccgateway (op-web.c):
 * complaint.file, complaint.status, complaint.csat and order.upsert. The
 * store_web_* functions run on a db worker; each write is one transaction
 * (ticket_tx_run) whose ticket changes append to the ticket's hash chain,
 * and each reply is built here as JSON, so the loop only sends it.
 *
 * The status token: 32 random bytes, given to the customer once as 43
 * characters of base64url without padding. Only the SHA-256 of those 43
 * characters is stored (tickets.status_token_hash) and it is compared in
 * constant time. An idempotency key is stored as its SHA-256; its row keeps
 * the token's bytes XORed with SHA-256("cc-idem-token" || key), so a retry
 * with the same key gets the same token back, and nobody without the key
 * can recover it from the database. */
#ifndef CC_STORE_WEB_H
#define CC_STORE_WEB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <mysql.h>

#include "contact.h"
#include "store-ticket.h"

#define WEB_NAME_MAX         128  /* characters of a name (customers.name) */
#define WEB_PHONE_MAX        32   /* bytes of a phone number as given */
#define WEB_ORDER_MAX        64   /* bytes of a shop order number (orders.external_id) */
#define WEB_DESCRIPTION_MAX  4000 /* characters of a complaint's description */
#define WEB_KEY_MIN          8    /* bytes of an idempotency key */
#define WEB_KEY_MAX          128
#define WEB_TOKEN_RAW        32               /* random bytes of a status token */
#define WEB_TOKEN_LEN        43               /* its base64url characters */
#define WEB_TOKEN_ARG_MAX    64               /* bytes of a token argument (longer: too_large) */
#define WEB_COMMENT_MAX      1000             /* characters of a rating's comment (csat.comment) */
#define WEB_MEMBER_MAX       64               /* bytes of a shop member id */
#define WEB_AMOUNT_MAX       1000000000000LL  /* minor units of an order */
#define WEB_IDEM_TTL_MS      (24LL * 3600000) /* an idempotency key holds this long */
#define WEB_IDEM_PURGE       1000             /* expired keys deleted per purge */
#define WEB_IDEM_PURGE_EVERY 256              /* filings with a key between purges */
#define WEB_TIMELINE_MAX     200              /* timeline entries (the newest) */
#define WEB_TIMELINE_EVENTS  400              /* state events read for them */
#define WEB_TEXT_MAX         2000             /* characters of one timeline text (longer: cut) */
#define WEB_TEXT_BUDGET      40000            /* JSON bytes of timeline texts in one reply */
#define WEB_COUNTRY          "86"             /* national phone numbers' country code */
#define WEB_SUBJECT_CHARS    120              /* characters of a filed complaint's subject */

/* complaint.file, as checked on the loop. */
struct web_complaint {
	char queue[TICKET_NAME_MAX + 1]; /* web.complaint_queue */
	char name[WEB_NAME_MAX * 4 + 1];
	char phone_given[WEB_PHONE_MAX + 1]; /* "": none */
	char phone[CONTACT_PHONE_MAX + 1];   /* normalised */
	char email_given[CONTACT_EMAIL_MAX + 1];
	char email[CONTACT_EMAIL_MAX + 1];
	char order[WEB_ORDER_MAX + 1]; /* "": none */
	char category[16];
	char resolution[16];
	char urgency[8];
	char language[8];
	char description[WEB_DESCRIPTION_MAX * 4 + 1];
	char key[WEB_KEY_MAX + 1];          /* idempotency key; "": none */
	unsigned char token[WEB_TOKEN_RAW]; /* a fresh token, used unless a duplicate */
};

/* A complaint named by its ref and status token. */
struct web_ticket_token {
	char ref[TICKET_REF_MAX + 1];
	char token[WEB_TOKEN_ARG_MAX + 1];
};

/* complaint.csat */
struct web_csat {
	struct web_ticket_token who;
	int score;                             /* 1..5 */
	char comment[WEB_COMMENT_MAX * 4 + 1]; /* "": none */
};

/* order.upsert */
struct web_order {
	char order[WEB_ORDER_MAX + 1];
	char member_id[WEB_MEMBER_MAX + 1]; /* "": none; the rest likewise */
	char phone[CONTACT_PHONE_MAX + 1];  /* normalised */
	char email[CONTACT_EMAIL_MAX + 1];
	char name[WEB_NAME_MAX * 4 + 1];
	uint64_t amount_minor;
	char currency[4];
	int64_t ordered_at; /* ms */
	char status[16];
};

/* Writes and reads: 0 done or refused (see res), -1 on a database error. */
int store_web_file(MYSQL *m, const struct ticket_actor *a, const struct web_complaint *c,
                   int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);
int store_web_status(MYSQL *m, const struct web_ticket_token *t, int64_t now_ms,
                     struct ticket_result *res, char *err, size_t errlen);
int store_web_csat(MYSQL *m, const struct ticket_actor *a, const struct web_csat *c, int64_t now_ms,
                   struct ticket_result *res, char *err, size_t errlen);
int store_web_order(MYSQL *m, const struct ticket_actor *a, const struct web_order *o,
                    int64_t now_ms, struct ticket_result *res, char *err, size_t errlen);

/* complaint.file for several complaints inside the caller's transaction
 * (a group of writes, op-job.c), in multi-row statements: the new
 * customers, their contacts, the tickets with their events and clocks,
 * the notes, the details and the idempotency keys of the whole batch
 * each in one statement. Only the common case is filed here: a complaint
 * whose key was seen before, or whose contact is known or repeated within
 * the batch, gets later = 1 and is left to the caller, which files it on
 * its own with store_web_file after this (in the same transaction), so
 * every complaint is filed exactly as store_web_file alone would. 0 (each
 * item filed, res set, or later); 1 item *bad would be refused or cannot
 * be filed in a batch: the caller rolls back and files it alone; -1 on a
 * database error (err). */
struct web_file_item {
	const struct ticket_actor *a;
	const struct web_complaint *c;
	int64_t now_ms;
	struct ticket_result *res;
	int later;
};
int store_web_file_many(MYSQL *m, struct web_file_item *items, size_t n, size_t *bad, char *err,
                        size_t errlen);

/* The web complaint details of a ticket for ticket.show: 1 and *out (a new
 * object), 0 none (not filed on the web), -1. */
int store_web_complaint_json(MYSQL *m, uint64_t ticket_id, json_t **out, char *err, size_t errlen);

/* Pure helpers (unit-tested). */

/* Whether a name given on the form is not the customer record's name,
 * ignoring spaces and ASCII case: 1 differs, 0 the same. */
int web_name_differs(const char *given, const char *record);

/* The text form of a token's bytes: base64url without padding. */
void web_token_encode(const unsigned char raw[WEB_TOKEN_RAW], char out[WEB_TOKEN_LEN + 1]);
/* What is stored of a token's text, and of an idempotency key: SHA-256. */
void web_sha256(const char *s, size_t len, unsigned char out[32]);
/* The pad a token is XORed with for the idempotency row of key:
 * SHA-256("cc-idem-token" || key). */
void web_idem_pad(const char *key, unsigned char pad[WEB_TOKEN_RAW]);
/* The stored hash of an idempotency key: SHA-256 over the calling
 * account, the key and every member of the request. */
void web_idem_hash(unsigned int account, const struct web_complaint *c, unsigned char out[32]);
/* Delete up to WEB_IDEM_PURGE expired idempotency rows, in autocommit on
 * a worker (outside any filing's transaction): 0 (*deleted set) or -1. */
int store_web_idem_purge(MYSQL *m, int64_t now_ms, unsigned long long *deleted, char *err,
                         size_t errlen);
/* The priority of an urgency: low 4, normal 5, high 6, urgent 7; 0 unknown. */
int web_urgency_priority(const char *urgency);
/* A filed complaint's subject: "<category>: " and the description's first
 * non-blank line, cut to WEB_SUBJECT_CHARS characters with "..." when cut;
 * control characters become spaces. */
void web_subject(const char *category, const char *description, char *out, size_t outlen);
/* Copy in into out, cut to max_chars characters (UTF-8) with "..." when
 * cut; 1 when it was cut, 0 when whole. out holds max_chars * 4 + 4. */
int web_text_cut(const char *in, size_t max_chars, char *out, size_t outlen);
/* The bytes s takes as a JSON string, without the quotes. */
size_t web_json_len(const char *s);
/* What the customer should expect next, from the ticket's state and
 * whether staff answered yet: received, assigned, in_progress,
 * waiting_for_you, resolved or closed. */
const char *web_next_step(const char *state, int responded);
/* The state as a customer sees it: offered and new are "queued". */
const char *web_public_state(const char *state);
/* The timeline entry of a ticket event (op, old and new value), as the
 * customer may see it: a state word (queued, in_progress,
 * pending_customer, resolved, closed, reopened), or NULL when the event
 * shows nothing (offers, declines, time-outs and everything internal). */
const char *web_timeline_state(const char *op, const char *old_value, const char *new_value);

#endif
