/* audit.h: the hash chain over a ticket's events (ticket_events).
 *
 * Each event row is encoded canonically and hashed together with the hash
 * of the row before it: hash = SHA-256(prev_hash || canonical row). The
 * first event of a ticket has 32 zero bytes as prev_hash. Changing,
 * removing, inserting or reordering any row breaks the chain at that row;
 * comparing the last row with the head kept on the ticket
 * (tickets.last_event_seq, last_event_hash) also catches rows cut off the
 * end.
 *
 * Canonical encoding, version 1 (all integers big-endian):
 *   the 18 ASCII bytes "cc.ticket_event.v1"
 *   ticket_id        8 bytes
 *   seq              4 bytes
 *   actor_agent_id   1 byte 0 (NULL), or 1 byte 1 and 4 bytes
 *   actor, op, old_value, new_value, detail, each:
 *                    1 byte 0 (NULL), or 1 byte 1, 4 bytes length, the bytes
 *   time_ms          8 bytes, two's complement (created_at in ms since the
 *                    Unix epoch, UTC)
 * Every field has a fixed size or a length prefix, so the encoding can be
 * read back field by field and no two different rows encode alike (NULL
 * and the empty string differ too).
 *
 * Pure: no I/O and no clock; OpenSSL EVP computes the digests. */
#ifndef CC_AUDIT_H
#define CC_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_LEN 32
#define AUDIT_TAG      "cc.ticket_event.v1"

/* A column's bytes; ptr NULL is SQL NULL, distinct from len 0. */
struct audit_text {
	const char *ptr;
	size_t len;
};

/* One ticket_events row. actor_agent_id 0 is NULL (agent ids start at 1). */
struct audit_event {
	uint64_t ticket_id;
	uint32_t seq;
	uint32_t actor_agent_id;
	struct audit_text actor;
	struct audit_text op;
	struct audit_text old_value;
	struct audit_text new_value;
	struct audit_text detail;
	int64_t time_ms;
	unsigned char prev_hash[AUDIT_HASH_LEN];
	unsigned char hash[AUDIT_HASH_LEN];
};

/* A verified position in a chain: the last event's seq and hash (seq 0
 * with a zero hash is the start of every chain). */
struct audit_anchor {
	uint32_t seq;
	unsigned char hash[AUDIT_HASH_LEN];
};

enum audit_fault {
	AUDIT_OK,
	AUDIT_WRONG_TICKET,  /* a row of another ticket */
	AUDIT_SEQ_GAP,       /* seq is not one more than the row before */
	AUDIT_PREV_MISMATCH, /* prev_hash is not the hash of the row before */
	AUDIT_HASH_MISMATCH, /* hash is not the hash of the row's contents */
	AUDIT_HEAD_MISMATCH, /* the chain does not end at the ticket's head */
	AUDIT_ERROR,         /* a field too long to encode, or the digest failed */
};

/* Where and why verification stopped. index is the first row found broken
 * (the row count when rows are missing at the end); want_seq and got_seq
 * say which seq was expected and which was found there, -1 for none (the
 * chain should end, or does). */
struct audit_result {
	enum audit_fault fault;
	size_t index;
	int64_t want_seq;
	int64_t got_seq;
};

/* A text from a C string; NULL stays NULL. */
struct audit_text audit_text(const char *s);

/* Write e's canonical encoding into buf if it fits in cap bytes; returns
 * the encoding's length either way (like snprintf), 0 on a field over
 * 4 GiB. */
size_t audit_encode(const struct audit_event *e, unsigned char *buf, size_t cap);
/* out = SHA-256(e->prev_hash || canonical e). 0 on success, -1 on error. */
int audit_hash(const struct audit_event *e, unsigned char out[AUDIT_HASH_LEN]);
/* Chain e after the event whose hash is prev (NULL: e is the first event):
 * sets e->prev_hash and e->hash. 0 on success, -1 on error. */
int audit_seal(struct audit_event *e, const unsigned char prev[AUDIT_HASH_LEN]);

/* Verify rows[0..n) of one ticket in seq order. from is the verified
 * position before rows[0] (NULL: the start of the chain); head, when not
 * NULL, is where the chain must end (the ticket's last_event_seq and
 * last_event_hash). Returns res->fault, AUDIT_OK when every link holds. */
enum audit_fault audit_verify(uint64_t ticket_id, const struct audit_event *rows, size_t n,
                              const struct audit_anchor *from, const struct audit_anchor *head,
                              struct audit_result *res);

/* "seq gap", "hash mismatch", ...: the fault's short name. */
const char *audit_fault_name(enum audit_fault f);
/* A sentence for a result, e.g. "row 2: seq gap: expected seq 3, found
 * seq 4" or "row 1 (seq 2): hash mismatch". */
void audit_result_message(const struct audit_result *res, char *buf, size_t len);

#endif
