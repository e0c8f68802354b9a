/* store-web.c: see store-web.h.
 *
 * complaint.file is one transaction, in this order: the idempotency key's
 * row is read with a locking read (a second call with the same key waits
 * there for the first to commit, then answers with its ticket); the queue
 * of web.complaint_queue; the customer, found by normalised phone, then
 * e-mail, followed through merges to the survivor, or created; the ticket
 * by store_ticket_create_body, so its create event, SLA clocks and queue
 * are exactly those of ticket.create, with the language, the order and the
 * token's hash in the same INSERT and what was filed and which customer it
 * found in the create event's detail ("via": "web"); then the customer's
 * note and the complaint's details row.
 *
 * Two calls racing to create the same customer or idempotency row meet on
 * a unique key: one waits and then fails with a duplicate key, or InnoDB
 * breaks a deadlock. Either way the loser runs its transaction again once
 * and then finds what the winner wrote. */
#include "store-web.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "log.h"
#include "server.h"
#include "store.h"

#define ER_DUP_ENTRY 1062

static const char refuse_token[] = "no complaint with this reference and token";

/* --- pure helpers --- */

void
web_token_encode(const unsigned char raw[WEB_TOKEN_RAW], char out[WEB_TOKEN_LEN + 1])
{
	unsigned char b64[4 * ((WEB_TOKEN_RAW + 2) / 3) + 1];

	EVP_EncodeBlock(b64, raw, WEB_TOKEN_RAW);
	for (int i = 0; i < WEB_TOKEN_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[WEB_TOKEN_LEN] = '\0';
}

void
web_sha256(const char *s, size_t len, unsigned char out[32])
{
	SHA256((const unsigned char *)s, len, out);
}

void
web_idem_hash(unsigned int account, const struct web_complaint *c, unsigned char out[32])
{
	static const char tag[] = "cc-idem-key";
	const char *parts[] = {c->key,      c->name,       c->phone,   c->email,    c->order,
	                       c->category, c->resolution, c->urgency, c->language, c->description};
	char acc[16];
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	int ok;

	snprintf(acc, sizeof acc, "%u", account);
	ok = x != NULL && EVP_DigestInit_ex(x, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(x, tag, sizeof tag) == 1 &&
	     EVP_DigestUpdate(x, acc, strlen(acc) + 1) == 1;
	/* each part with its terminating NUL, so that no two requests run
	 * together into the same bytes */
	for (size_t i = 0; ok && i < sizeof parts / sizeof parts[0]; i++)
		ok = EVP_DigestUpdate(x, parts[i], strlen(parts[i]) + 1) == 1;
	if (!ok || EVP_DigestFinal_ex(x, out, NULL) != 1)
		abort(); /* out of memory: SHA-256 itself cannot fail */
	EVP_MD_CTX_free(x);
}

void
web_idem_pad(const char *key, unsigned char pad[WEB_TOKEN_RAW])
{
	static const char tag[] = "cc-idem-token";
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, tag, sizeof tag - 1) != 1 ||
	    EVP_DigestUpdate(c, key, strlen(key)) != 1 || EVP_DigestFinal_ex(c, pad, NULL) != 1)
		abort(); /* out of memory: SHA-256 itself cannot fail */
	EVP_MD_CTX_free(c);
}

int
web_urgency_priority(const char *urgency)
{
	static const char *const names[] = {"low", "normal", "high", "urgent"};

	for (int i = 0; i < 4; i++)
		if (strcmp(urgency, names[i]) == 0)
			return 4 + i;
	return 0;
}

/* The bytes of the UTF-8 character at p (1 for a stray byte). */
static size_t
utf8_step(const unsigned char *p)
{
	size_t n = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 1;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 1;
	return n;
}

int
web_text_cut(const char *in, size_t max_chars, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t chars = 0, off = 0;

	if (outlen < 4) {
		if (outlen > 0)
			out[0] = '\0';
		return 1;
	}
	while (p[off] != '\0' && chars < max_chars) {
		size_t n = utf8_step(p + off);
		if (off + n + 4 > outlen)
			break;
		off += n;
		chars++;
	}
	memcpy(out, in, off);
	if (p[off] == '\0') {
		out[off] = '\0';
		return 0;
	}
	memcpy(out + off, "...", 4);
	return 1;
}

void
web_subject(const char *category, const char *description, char *out, size_t outlen)
{
	char line[WEB_SUBJECT_CHARS * 4 + 1];
	const char *p = description;
	size_t n = 0, prefix;

	/* the first line with something on it */
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	while (p[n] != '\0' && p[n] != '\n' && p[n] != '\r' && n + 1 < sizeof line) {
		line[n] = (unsigned char)p[n] < 0x20 || p[n] == 0x7F ? ' ' : p[n];
		n++;
	}
	/* a line longer than line holds has more than WEB_SUBJECT_CHARS
	 * characters, so the cut below never reaches its end */
	line[n] = '\0';
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	prefix = (size_t)snprintf(out, outlen, n > 0 ? "%s: " : "%s", category);
	if (prefix >= outlen || n == 0)
		return;
	web_text_cut(line, WEB_SUBJECT_CHARS - (prefix < WEB_SUBJECT_CHARS ? prefix : 0),
	             out + prefix, outlen - prefix);
}

size_t
web_json_len(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' ||
		    *p == '\r' || *p == '\t')
			n += 2;
		else if (*p < 0x20)
			n += 6;
		else
			n++;
	}
	return n;
}

const char *
web_public_state(const char *state)
{
	if (strcmp(state, "new") == 0 || strcmp(state, "offered") == 0)
		return "queued";
	return state;
}

const char *
web_next_step(const char *state, int responded)
{
	switch (ticket_state_parse(state)) {
	case TS_IN_PROGRESS:
		return responded ? "in_progress" : "assigned";
	case TS_PENDING_CUSTOMER:
		return "waiting_for_you";
	case TS_RESOLVED:
		return "resolved";
	case TS_CLOSED:
		return "closed";
	default:
		return "received";
	}
}

const char *
web_timeline_state(const char *op, const char *old_value, const char *new_value)
{
	int action, to;

	if (op == NULL || new_value == NULL)
		return NULL;
	action = ticket_action_parse(op);
	if (action < 0 && strcmp(op, "merge") != 0 && strcmp(op, "unmerge") != 0)
		return NULL;
	/* offers and what ends them are the router's business */
	if (action == TA_OFFER || action == TA_DECLINE || action == TA_TIMEOUT)
		return NULL;
	if ((to = ticket_state_parse(new_value)) < 0 ||
	    (old_value != NULL && strcmp(old_value, new_value) == 0))
		return NULL;
	if (action == TA_REOPEN)
		return "reopened";
	if (to == TS_NEW || to == TS_OFFERED)
		return NULL;
	return ticket_state_name((enum ticket_state)to);
}

/* --- building blocks --- */

/* A string parameter, NULL when s is "" (an absent optional). */
static void
bind_opt(MYSQL_BIND *b, const char *s, unsigned long *len, my_bool *is_null)
{
	*is_null = s[0] == '\0';
	bind_str(b, s, len);
	b->is_null = is_null;
}

/* Upper-case hex of n bytes, as MySQL's HEX() gives it. */
static void
hex_of(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* n bytes from upper- or lower-case hex: 0, or -1 when malformed. */
static int
hex_to(const char *hex, unsigned char *out, size_t n)
{
	if (hex == NULL || strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		                               : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (unsigned char)(i % 2 ? (out[i / 2] | v) : v << 4);
	}
	return 0;
}

/* The customer a contact belongs to: 1 and *id, 0 none, -1. */
static int
contact_owner(MYSQL *m, const char *kind, const char *value, uint64_t *id, char *err, size_t errlen)
{
	MYSQL_BIND p[2];
	unsigned long len[2];
	json_t *row;
	int rc;

	bind_str(&p[0], kind, &len[0]);
	bind_str(&p[1], value, &len[1]);
	if ((rc = ticket_query_one(m,
	                           "SELECT customer_id FROM customer_contacts WHERE kind = ? "
	                           "AND value = ?",
	                           p, &row, err, errlen)) == 1) {
		*id = row_uint(row, "customer_id");
		json_decref(row);
	}
	return rc;
}

/* The surviving customer of id (id itself, or where its merged_into chain
 * ends, at most TICKET_MERGE_HOPS links): 1 and *row {id, flagged,
 * site_id, site}, 0 none (missing, or a chain too long), -1. */
static int
customer_survivor(MYSQL *m, uint64_t id, json_t **row, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	uint64_t cur = id;
	int rc;

	for (int hop = 0; hop <= TICKET_MERGE_HOPS; hop++) {
		bind_u64(&p[0], &cur);
		if ((rc = ticket_query_one(m,
		                           "SELECT u.id, u.merged_into, u.flagged_at IS NOT NULL "
		                           "AS flagged, u.site_id, s.code AS site FROM customers u "
		                           "LEFT JOIN sites s ON s.id = u.site_id WHERE u.id = ?",
		                           p, row, err, errlen)) != 1)
			return rc;
		if (json_is_null(json_object_get(*row, "merged_into")))
			return 1;
		cur = row_uint(*row, "merged_into");
		json_decref(*row);
		*row = NULL;
	}
	return 0;
}

/* Run body as a transaction, once more when it lost a race on a unique
 * key (see the top of this file). */
static int
web_tx_run(MYSQL *m, ticket_tx_fn body, const void *arg, struct ticket_result *res, char *err,
           size_t errlen)
{
	int rc = ticket_tx_run(m, body, arg, res, err, errlen);

	if (rc != 0 && store_errno() == ER_DUP_ENTRY && !store_group_aborted())
		rc = ticket_tx_run(m, body, arg, res, err, errlen);
	return rc;
}

/* --- complaint.file --- */

struct file_arg {
	const struct ticket_actor *a;
	const struct web_complaint *c;
	int64_t now_ms;
};

/* The reply: the ticket (whole: the loop routes it, then trims it for the
 * gateway), the token and whether this was a repeat. */
static int
file_reply(MYSQL *m, uint64_t ticket_id, const unsigned char token[WEB_TOKEN_RAW], int duplicate,
           struct ticket_result *res, char *err, size_t errlen)
{
	char text[WEB_TOKEN_LEN + 1];
	json_t *ticket;

	if (store_ticket_get(m, ticket_id, &ticket, err, errlen) != 1) {
		snprintf(err, errlen, "ticket %" PRIu64 " vanished", ticket_id);
		return -1;
	}
	web_token_encode(token, text);
	json_decref(res->reply);
	res->reply =
	    json_pack("{s:o,s:s,s:b}", "ticket", ticket, "token", text, "duplicate", duplicate);
	return 0;
}

/* The key's row, when the key was used within WEB_IDEM_TTL_MS: 0 not
 * (*stale: an expired row is there), 1 answered as a duplicate, -1. The
 * key's hash covers the calling account and the whole request
 * (web_idem_hash): the same key with another complaint, or from another
 * account, is another key, so a key can never hand out someone else's
 * token. Expired rows are deleted apart (store_web_idem_purge). */
static int
file_idempotent(MYSQL *m, const struct file_arg *x, const unsigned char key_hash[32], int *stale,
                struct ticket_result *res, char *err, size_t errlen)
{
	MYSQL_BIND p[2];
	unsigned long len[2];
	char since[48];
	unsigned char xored[WEB_TOKEN_RAW], pad[WEB_TOKEN_RAW];
	json_t *row;
	int rc;

	*stale = 0;
	/* Whether the key is there at all, by a plain read first: a locking
	 * read of an absent key locks the gap around it, and two filings that
	 * lock gaps and then insert into them deadlock. An absent key inserted
	 * meanwhile by another filing fails this one's INSERT on the primary
	 * key, and web_tx_run runs it again, finding the key. */
	bind_blob(&p[0], key_hash, &len[0], 32);
	if ((rc = ticket_query_one(m, "SELECT 1 AS here FROM web_idempotency WHERE key_hash = ?", p,
	                           &row, err, errlen)) <= 0)
		return rc;
	json_decref(row);
	ticket_format_time(x->now_ms - WEB_IDEM_TTL_MS, since);
	bind_str(&p[0], since, &len[0]);
	bind_blob(&p[1], key_hash, &len[1], 32);
	if ((rc = ticket_query_one(m,
	                           "SELECT ticket_id, HEX(token_xor) AS token_xor, "
	                           "created_at >= ? AS fresh FROM web_idempotency "
	                           "WHERE key_hash = ? FOR UPDATE",
	                           p, &row, err, errlen)) <= 0)
		return rc;
	if (row_uint(row, "fresh") == 0) {
		*stale = 1;
		json_decref(row);
		return 0;
	}
	if (hex_to(row_str(row, "token_xor"), xored, sizeof xored) != 0) {
		snprintf(err, errlen, "malformed idempotency row");
		json_decref(row);
		return -1;
	}
	web_idem_pad(x->c->key, pad);
	for (size_t i = 0; i < sizeof xored; i++)
		xored[i] ^= pad[i];
	rc = file_reply(m, row_uint(row, "ticket_id"), xored, 1, res, err, errlen);
	OPENSSL_cleanse(xored, sizeof xored);
	json_decref(row);
	return rc == 0 ? 1 : -1;
}

/* Where the complaint goes. */
struct file_target {
	unsigned int queue_id;
	unsigned int queue_site_id; /* 0: the queue serves every site */
	char site[TICKET_SITE_MAX + 1];
	uint64_t asked;    /* the customer the contact names (0: new) */
	uint64_t customer; /* the survivor, or the new customer */
	int flagged;
	int created;
};

/* The queue's site: 0, 1 refused (no such queue: unavailable, logged), -1. */
static int
file_queue(MYSQL *m, const struct file_arg *x, struct file_target *t, struct ticket_result *res,
           char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long len;
	json_t *row;
	int rc;

	bind_str(&p[0], x->c->queue, &len);
	if ((rc = ticket_query_one(m,
	                           "SELECT q.id, q.site_id, s.code AS site FROM queues q LEFT JOIN "
	                           "sites s ON s.id = q.site_id WHERE q.code = ?",
	                           p, &row, err, errlen)) < 0)
		return -1;
	if (rc == 0) {
		log_error("web",
		          "msg=\"no complaint queue\" queue=%s "
		          "fix=\"create the queue or set web.complaint_queue\"",
		          x->c->queue);
		return ticket_refuse(res, CC_ERR_UNAVAILABLE,
		                     "complaints cannot be filed right now; try again later");
	}
	t->queue_id = (unsigned int)row_uint(row, "id");
	t->queue_site_id = (unsigned int)row_uint(row, "site_id");
	snprintf(t->site, sizeof t->site, "%s", row_str(row, "site") ? row_str(row, "site") : "");
	json_decref(row);
	return 0;
}

/* A new customer with the contacts given: 0 or -1. */
static int
file_new_customer(MYSQL *m, const struct file_arg *x, unsigned int site_id, uint64_t *id, char *err,
                  size_t errlen)
{
	const struct web_complaint *c = x->c;
	MYSQL_BIND p[4];
	unsigned long len[4];
	my_bool nul = site_id == 0;
	unsigned int site = site_id;
	int primary = 1;
	char when[48];

	ticket_format_time(x->now_ms, when);
	bind_str(&p[0], c->name, &len[0]);
	bind_uint(&p[1], &site);
	p[1].is_null = &nul;
	bind_str(&p[2], c->language, &len[2]);
	bind_str(&p[3], when, &len[3]);
	if (store_insert(m,
	                 "INSERT INTO customers (name, site_id, language, created_at) VALUES "
	                 "(?, ?, ?, ?)",
	                 p, id, err, errlen) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		const char *kind = i == 0 ? "phone" : "email",
		           *value = i == 0 ? c->phone : c->email;

		if (value[0] == '\0')
			continue;
		bind_u64(&p[0], id);
		bind_str(&p[1], kind, &len[1]);
		bind_str(&p[2], value, &len[2]);
		bind_int(&p[3], &primary);
		if (store_exec(
		        m,
		        "INSERT INTO customer_contacts (customer_id, kind, value, is_primary) "
		        "VALUES (?, ?, ?, ?)",
		        p, err, errlen, NULL) != 0)
			return -1;
		primary = 0;
	}
	return 0;
}

/* The customer: found by phone, else e-mail, and followed to the survivor;
 * else created. Also settles the ticket's site: the queue's, else the
 * customer's, else the service account's. 0, 1 refused, -1. */
static int
file_customer(MYSQL *m, const struct file_arg *x, struct file_target *t, struct ticket_result *res,
              char *err, size_t errlen)
{
	const struct web_complaint *c = x->c;
	json_t *row = NULL;
	int rc = 0;

	if (c->phone[0] && (rc = contact_owner(m, "phone", c->phone, &t->asked, err, errlen)) < 0)
		return -1;
	if (rc == 0 && c->email[0] &&
	    (rc = contact_owner(m, "email", c->email, &t->asked, err, errlen)) < 0)
		return -1;
	if (rc == 1) {
		if ((rc = customer_survivor(m, t->asked, &row, err, errlen)) < 0)
			return -1;
		if (rc == 0)
			return ticket_refuse(res, CC_ERR_CONFLICT,
			                     "the customer of this contact is merged through more "
			                     "than %d others; an agent must fix the merge first",
			                     TICKET_MERGE_HOPS);
		t->customer = row_uint(row, "id");
		t->flagged = row_uint(row, "flagged") != 0;
		if (t->site[0] == '\0' && row_str(row, "site") != NULL)
			snprintf(t->site, sizeof t->site, "%s", row_str(row, "site"));
		json_decref(row);
	}
	if (t->site[0] == '\0')
		snprintf(t->site, sizeof t->site, "%s", x->a->site);
	if (t->site[0] == '\0') {
		log_error("web",
		          "msg=\"no site for a complaint\" queue=%s "
		          "fix=\"give the queue a site, or the service account one\"",
		          c->queue);
		return ticket_refuse(res, CC_ERR_UNAVAILABLE,
		                     "complaints cannot be filed right now; try again later");
	}
	if (t->customer != 0)
		return 0;
	t->created = 1;
	return file_new_customer(m, x, t->queue_site_id ? t->queue_site_id : x->a->site_id,
	                         &t->customer, err, errlen);
}

/* The order the complaint names, when it is the customer's (through
 * merges): its id, else 0 (the number stays text). 0 or -1. */
static int
file_order(MYSQL *m, const char *order, uint64_t customer, uint64_t *order_id, char *err,
           size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long len;
	json_t *row, *owner = NULL;
	int rc;

	*order_id = 0;
	if (order[0] == '\0')
		return 0;
	bind_str(&p[0], order, &len);
	if ((rc = ticket_query_one(m, "SELECT id, customer_id FROM orders WHERE external_id = ?", p,
	                           &row, err, errlen)) <= 0)
		return rc;
	rc = customer_survivor(m, row_uint(row, "customer_id"), &owner, err, errlen);
	if (rc == 1 && row_uint(owner, "id") == customer)
		*order_id = row_uint(row, "id");
	json_decref(owner);
	json_decref(row);
	return rc < 0 ? -1 : 0;
}

/* The customer's note and the details row: 0 or -1. (The details, the
 * language, the order and the token's hash went in with the ticket and its
 * create event.) */
static int
file_details(MYSQL *m, const struct file_arg *x, uint64_t id, char *err, size_t errlen)
{
	const struct web_complaint *c = x->c;
	MYSQL_BIND p[10];
	unsigned long len[10];
	my_bool nul[10] = {0};
	uint64_t tid = id, note_id;
	char when[48];

	ticket_format_time(x->now_ms, when);
	bind_u64(&p[0], &tid);
	bind_str(&p[1], c->description, &len[1]);
	bind_str(&p[2], when, &len[2]);
	if (store_insert(m,
	                 "INSERT INTO ticket_notes (ticket_id, author_kind, visibility, body, "
	                 "created_at) VALUES (?, 'customer', 'customer', ?, ?)",
	                 p, &note_id, err, errlen) != 0)
		return -1;
	bind_u64(&p[1], &tid);
	bind_str(&p[2], c->category, &len[2]);
	bind_str(&p[3], c->resolution, &len[3]);
	bind_str(&p[4], c->urgency, &len[4]);
	bind_str(&p[5], c->language, &len[5]);
	bind_str(&p[6], c->name, &len[6]);
	bind_opt(&p[7], c->phone_given, &len[7], &nul[7]);
	bind_opt(&p[8], c->email_given, &len[8], &nul[8]);
	bind_opt(&p[9], c->order, &len[9], &nul[9]);
	bind_str(&p[0], when, &len[0]);
	return store_exec(
	    m,
	    "INSERT INTO web_complaints (created_at, ticket_id, category, resolution, "
	    "urgency, language, contact_name, contact_phone, contact_email, order_ref) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    p, err, errlen, NULL);
}

/* What the create event records of a web complaint. */
static json_t *
file_event_detail(const struct web_complaint *c, const struct file_target *t, uint64_t order_id)
{
	json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "via", "web", "category",
	                      c->category, "resolution", c->resolution, "urgency", c->urgency,
	                      "language", c->language, "customer_id", (json_int_t)t->customer,
	                      "customer", t->created ? "created" : "found");

	if (t->asked != 0 && t->asked != t->customer)
		json_object_set_new(
		    d, "customer_merged",
		    json_pack("[I,I]", (json_int_t)t->asked, (json_int_t)t->customer));
	if (t->flagged)
		json_object_set_new(d, "customer_flagged", json_true());
	if (c->order[0])
		json_object_set_new(d, "order", json_string(c->order));
	if (order_id != 0)
		json_object_set_new(d, "order_id", json_integer((json_int_t)order_id));
	return d;
}

/* Remember the key with the token XORed by its pad: 0 or -1. */
static int
file_remember(MYSQL *m, const struct file_arg *x, const unsigned char key_hash[32], int stale,
              uint64_t ticket_id, char *err, size_t errlen)
{
	unsigned char xored[WEB_TOKEN_RAW], pad[WEB_TOKEN_RAW];
	MYSQL_BIND p[4];
	unsigned long len[4];
	uint64_t tid = ticket_id;
	char when[48];
	int rc;

	web_idem_pad(x->c->key, pad);
	for (size_t i = 0; i < sizeof xored; i++)
		xored[i] = x->c->token[i] ^ pad[i];
	ticket_format_time(x->now_ms, when);
	bind_u64(&p[0], &tid);
	bind_blob(&p[1], xored, &len[1], sizeof xored);
	bind_str(&p[2], when, &len[2]);
	bind_blob(&p[3], key_hash, &len[3], 32);
	rc = store_exec(m,
	                stale ? "UPDATE web_idempotency SET ticket_id = ?, token_xor = ?, "
	                        "created_at = ? WHERE key_hash = ?"
	                      : "INSERT INTO web_idempotency (ticket_id, token_xor, created_at, "
	                        "key_hash) VALUES (?, ?, ?, ?)",
	                p, err, errlen, NULL);
	OPENSSL_cleanse(xored, sizeof xored);
	return rc;
}

static int
file_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct file_arg *x = arg;
	const struct web_complaint *c = x->c;
	struct file_target t = {0};
	struct ticket_new n = {0};
	unsigned char key_hash[32], token_hash[32];
	char text[WEB_TOKEN_LEN + 1];
	uint64_t id, order_id;
	int rc, stale = 0;

	if (c->key[0]) {
		web_idem_hash(x->a->agent_id, c, key_hash);
		if ((rc = file_idempotent(m, x, key_hash, &stale, res, err, errlen)) != 0)
			return rc < 0 ? -1 : 0;
	}
	if ((rc = file_queue(m, x, &t, res, err, errlen)) != 0 ||
	    (rc = file_customer(m, x, &t, res, err, errlen)) != 0)
		return rc;
	web_token_encode(c->token, text);
	web_sha256(text, WEB_TOKEN_LEN, token_hash);
	OPENSSL_cleanse(text, sizeof text);
	if (file_order(m, c->order, t.customer, &order_id, err, errlen) != 0)
		return -1;
	snprintf(n.kind, sizeof n.kind, "complaint");
	snprintf(n.channel, sizeof n.channel, "web");
	web_subject(c->category, c->description, n.subject, sizeof n.subject);
	n.customer_id = t.customer;
	n.priority = web_urgency_priority(c->urgency);
	snprintf(n.queue, sizeof n.queue, "%s", c->queue);
	n.queue_id = t.queue_id;
	n.customer_current = 1; /* file_customer followed merges to the survivor */
	snprintf(n.site, sizeof n.site, "%s", t.site);
	snprintf(n.language, sizeof n.language, "%s", c->language);
	n.order_id = order_id;
	n.status_token_hash = token_hash;
	n.detail = file_event_detail(c, &t, order_id);
	rc = store_ticket_create_body(m, x->a, &n, x->now_ms, res, err, errlen);
	json_decref(n.detail);
	if (rc != 0)
		return rc;
	id = row_uint(json_object_get(res->reply, "ticket"), "id");
	if (file_details(m, x, id, err, errlen) != 0 ||
	    (c->key[0] && file_remember(m, x, key_hash, stale, id, err, errlen) != 0))
		return -1;
	/* the reply: the ticket as create read it, the token, not a repeat */
	web_token_encode(c->token, text);
	json_object_set_new(res->reply, "token", json_string(text));
	json_object_set_new(res->reply, "duplicate", json_false());
	return 0;
}

int
store_web_file(MYSQL *m, const struct ticket_actor *a, const struct web_complaint *c,
               int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct file_arg x = {a, c, now_ms};

	return web_tx_run(m, file_tx, &x, res, err, errlen);
}

/* --- complaint.file, batched --- */

static int web_rows(MYSQL *m, const char *sql, MYSQL_BIND *p, json_t *arr, char *err,
                    size_t errlen);

/* One complaint of a batch, its derived values and bind storage. */
struct many_item {
	struct web_file_item *it;
	unsigned char key_hash[32], token_hash[32];
	struct file_target t;
	struct ticket_new n;
	struct ticket_result scratch;
	unsigned int cust_site;
	my_bool cust_site_nul;
	char when[48];
	unsigned char xored[WEB_TOKEN_RAW];
	unsigned long len[12];
	my_bool nul[12];
	int primary[2];
};

/* The keys (key_hash of items with a key) already in web_idempotency:
 * their items are marked later (store_web_file answers them). A plain
 * read, not a locking one as file_idempotent's: a locking read of keys
 * that are not there locks the gaps around them, and two batches locking
 * gaps and then inserting into them deadlock. A key another transaction
 * adds meanwhile makes this batch's INSERT of it fail on the primary key;
 * the group is then split and that complaint filed alone, which finds the
 * key. 0 or -1. */
static int
many_keys_seen(MYSQL *m, struct many_item *v, size_t n, char *err, size_t errlen)
{
	MYSQL_BIND p[STORE_ROWS_MAX];
	unsigned long len[STORE_ROWS_MAX];
	size_t idx[STORE_ROWS_MAX];

	for (size_t i = 0; i < n;) {
		size_t k = 0, j;
		json_t *arr, *row;
		char *sql;
		int rc;

		for (; i < n && k < STORE_ROWS_MAX; i++)
			if (!v[i].it->later && v[i].it->c->key[0])
				idx[k++] = i;
		if (k == 0)
			break;
		for (j = 0; j < k; j++)
			bind_blob(&p[j], v[idx[j]].key_hash, &len[j], 32);
		sql = store_sql_rows(
		    "SELECT HEX(key_hash) AS h FROM web_idempotency WHERE key_hash IN (", "?", ", ",
		    ")", k);
		arr = json_array();
		rc = web_rows(m, sql, p, arr, err, errlen);
		free(sql);
		json_array_foreach(arr, j, row)
		{
			unsigned char h[32];

			if (hex_to(row_str(row, "h"), h, sizeof h) != 0)
				continue;
			for (size_t q = 0; q < k; q++)
				if (memcmp(v[idx[q]].key_hash, h, 32) == 0)
					v[idx[q]].it->later = 1;
		}
		json_decref(arr);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* The contacts of items not yet marked that a customer already has: those
 * items are marked later. 0 or -1. */
static int
many_contacts_known(MYSQL *m, struct many_item *v, size_t n, char *err, size_t errlen)
{
	MYSQL_BIND p[STORE_ROWS_MAX];
	unsigned long len[STORE_ROWS_MAX];
	const char *kind[STORE_ROWS_MAX], *value[STORE_ROWS_MAX];
	size_t owner[STORE_ROWS_MAX];

	for (size_t i = 0; i < n;) {
		size_t k = 0, j;
		json_t *arr, *row;
		char *sql;
		int rc;

		/* whole items: both contacts of one go in one query */
		for (; i < n && k + 2 <= STORE_ROWS_MAX; i++)
			for (int c = 0; c < 2; c++) {
				const char *val = c == 0 ? v[i].it->c->phone : v[i].it->c->email;

				if (v[i].it->later || val[0] == '\0')
					continue;
				kind[k] = c == 0 ? "phone" : "email";
				value[k] = val;
				owner[k++] = i;
			}
		if (k == 0)
			continue;
		for (j = 0; j < k; j++)
			bind_str(&p[j], value[j], &len[j]);
		/* the values on their own index (the kinds are told apart
		 * here): one range lookup each, where ORed (kind, value) pairs
		 * are checked against every row the ranges read, and a row IN
		 * list is read as a scan of the whole index */
		sql = store_sql_rows("SELECT kind, value FROM customer_contacts WHERE value IN (",
		                     "?", ", ", ")", k);
		arr = json_array();
		rc = web_rows(m, sql, p, arr, err, errlen);
		free(sql);
		json_array_foreach(arr, j, row)
		{
			for (size_t q = 0; q < k; q++)
				if (strcmp(kind[q], row_str(row, "kind")) == 0 &&
				    strcmp(value[q], row_str(row, "value")) == 0)
					v[owner[q]].it->later = 1;
		}
		json_decref(arr);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Items whose phone or e-mail an earlier item of the batch also gives:
 * marked later (the earlier one makes the customer they then find). */
static void
many_contacts_repeated(struct many_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct web_complaint *c = v[i].it->c;

		if (v[i].it->later)
			continue;
		/* earlier items left for later count too: they are filed
		 * after the batch, so this one must wait behind them */
		for (size_t j = 0; j < i && !v[i].it->later; j++) {
			const struct web_complaint *d = v[j].it->c;

			if ((c->phone[0] && strcmp(c->phone, d->phone) == 0) ||
			    (c->email[0] && strcmp(c->email, d->email) == 0))
				v[i].it->later = 1;
		}
	}
}

/* New customers and their contacts for the items left (b: their indexes,
 * k of them): 0 or -1. */
static int
many_customers(MYSQL *m, struct many_item *v, const size_t *b, size_t k, char *err, size_t errlen)
{
	MYSQL_BIND *p = calloc(k * 4 * 2, sizeof *p);
	uint64_t *ids = calloc(k, sizeof *ids), *cust = calloc(k * 2, sizeof *cust);
	size_t rows = 0;
	int rc = -1;

	if (p == NULL || ids == NULL || cust == NULL)
		abort();
	for (size_t j = 0; j < k; j++) {
		struct many_item *x = &v[b[j]];
		const struct web_complaint *c = x->it->c;

		ticket_format_time(x->it->now_ms, x->when);
		x->cust_site = x->t.queue_site_id ? x->t.queue_site_id : x->it->a->site_id;
		x->cust_site_nul = x->cust_site == 0;
		bind_str(&p[4 * j], c->name, &x->len[0]);
		bind_uint(&p[4 * j + 1], &x->cust_site);
		p[4 * j + 1].is_null = &x->cust_site_nul;
		bind_str(&p[4 * j + 2], c->language, &x->len[1]);
		bind_str(&p[4 * j + 3], x->when, &x->len[2]);
	}
	if (store_exec_rows(m,
	                    "INSERT INTO customers (name, site_id, language, created_at) VALUES ",
	                    "(?, ?, ?, ?)", ", ", "", 4, k, p, ids, err, errlen) != 0)
		goto out;
	memset(p, 0, k * 4 * 2 * sizeof *p);
	for (size_t j = 0; j < k; j++) {
		struct many_item *x = &v[b[j]];
		int primary = 1;

		x->t.customer = ids[j];
		x->t.created = 1;
		for (int c = 0; c < 2; c++) {
			const char *val = c == 0 ? x->it->c->phone : x->it->c->email;

			if (val[0] == '\0')
				continue;
			cust[rows] = ids[j];
			x->primary[c] = primary;
			primary = 0;
			bind_u64(&p[4 * rows], &cust[rows]);
			bind_str(&p[4 * rows + 1], c == 0 ? "phone" : "email", &x->len[3 + 2 * c]);
			bind_str(&p[4 * rows + 2], val, &x->len[4 + 2 * c]);
			bind_int(&p[4 * rows + 3], &x->primary[c]);
			rows++;
		}
	}
	if (rows > 0 &&
	    store_exec_rows(m,
	                    "INSERT INTO customer_contacts (customer_id, kind, value, "
	                    "is_primary) VALUES ",
	                    "(?, ?, ?, ?)", ", ", "", 4, rows, p, NULL, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(p);
	free(ids);
	free(cust);
	return rc;
}

/* The customers' notes, the details rows and the keys of the filed items:
 * 0 or -1. */
static int
many_details(MYSQL *m, struct many_item *v, const size_t *b, size_t k, uint64_t *tid, char *err,
             size_t errlen)
{
	MYSQL_BIND *p = calloc(k * 10, sizeof *p);
	size_t keys = 0;
	int rc = -1;

	if (p == NULL)
		abort();
	for (size_t j = 0; j < k; j++) {
		struct many_item *x = &v[b[j]];

		bind_u64(&p[3 * j], &tid[j]);
		bind_str(&p[3 * j + 1], x->it->c->description, &x->len[0]);
		bind_str(&p[3 * j + 2], x->when, &x->len[1]);
	}
	if (store_exec_rows(m,
	                    "INSERT INTO ticket_notes (ticket_id, author_kind, visibility, body, "
	                    "created_at) VALUES ",
	                    "(?, 'customer', 'customer', ?, ?)", ", ", "", 3, k, p, NULL, err,
	                    errlen) != 0)
		goto out;
	memset(p, 0, k * 10 * sizeof *p);
	for (size_t j = 0; j < k; j++) {
		struct many_item *x = &v[b[j]];
		const struct web_complaint *c = x->it->c;
		MYSQL_BIND *q = &p[10 * j];

		bind_str(&q[0], x->when, &x->len[0]);
		bind_u64(&q[1], &tid[j]);
		bind_str(&q[2], c->category, &x->len[2]);
		bind_str(&q[3], c->resolution, &x->len[3]);
		bind_str(&q[4], c->urgency, &x->len[4]);
		bind_str(&q[5], c->language, &x->len[5]);
		bind_str(&q[6], c->name, &x->len[6]);
		bind_opt(&q[7], c->phone_given, &x->len[7], &x->nul[7]);
		bind_opt(&q[8], c->email_given, &x->len[8], &x->nul[8]);
		bind_opt(&q[9], c->order, &x->len[9], &x->nul[9]);
	}
	if (store_exec_rows(m,
	                    "INSERT INTO web_complaints (created_at, ticket_id, category, "
	                    "resolution, urgency, language, contact_name, contact_phone, "
	                    "contact_email, order_ref) VALUES ",
	                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ", "", 10, k, p, NULL, err,
	                    errlen) != 0)
		goto out;
	memset(p, 0, k * 10 * sizeof *p);
	for (size_t j = 0; j < k; j++) {
		struct many_item *x = &v[b[j]];
		unsigned char pad[WEB_TOKEN_RAW];

		if (x->it->c->key[0] == '\0')
			continue;
		web_idem_pad(x->it->c->key, pad);
		for (size_t i = 0; i < sizeof x->xored; i++)
			x->xored[i] = x->it->c->token[i] ^ pad[i];
		bind_u64(&p[4 * keys], &tid[j]);
		bind_blob(&p[4 * keys + 1], x->xored, &x->len[10], sizeof x->xored);
		bind_str(&p[4 * keys + 2], x->when, &x->len[1]);
		bind_blob(&p[4 * keys + 3], x->key_hash, &x->len[11], 32);
		keys++;
	}
	if (keys > 0 &&
	    store_exec_rows(m,
	                    "INSERT INTO web_idempotency (ticket_id, token_xor, "
	                    "created_at, key_hash) VALUES ",
	                    "(?, ?, ?, ?)", ", ", "", 4, keys, p, NULL, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(p);
	return rc;
}

int
store_web_file_many(MYSQL *m, struct web_file_item *items, size_t n, size_t *bad, char *err,
                    size_t errlen)
{
	struct many_item *v = calloc(n, sizeof *v);
	const struct ticket_actor **a = calloc(n, sizeof *a);
	const struct ticket_new **tn = calloc(n, sizeof *tn);
	struct ticket_result **res = calloc(n, sizeof *res);
	int64_t *now = calloc(n, sizeof *now);
	uint64_t *tid = calloc(n, sizeof *tid);
	size_t *b = calloc(n, sizeof *b), k = 0;
	int rc = -1;

	if (v == NULL || a == NULL || tn == NULL || res == NULL || now == NULL || tid == NULL ||
	    b == NULL)
		abort();
	*bad = 0;
	for (size_t i = 0; i < n; i++) {
		v[i].it = &items[i];
		items[i].later = 0;
		if (items[i].c->key[0])
			web_idem_hash(items[i].a->agent_id, items[i].c, v[i].key_hash);
		/* a key repeated within the batch: the first files, the rest repeat it */
		for (size_t j = 0; j < i && items[i].c->key[0]; j++)
			if (items[j].c->key[0] && memcmp(v[j].key_hash, v[i].key_hash, 32) == 0)
				items[i].later = 1;
	}
	if ((rc = store_rows_ids_ok(m, err, errlen)) <= 0) {
		for (size_t i = 0; rc == 0 && i < n; i++)
			items[i].later = 1; /* ids not consecutive: each on its own */
		goto out;
	}
	rc = -1;
	if (store_tx_begin(m, err, errlen) != 0 || many_keys_seen(m, v, n, err, errlen) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct file_arg x = {items[i].a, items[i].c, items[i].now_ms};
		int r;

		if (items[i].later)
			continue;
		/* the queue, read once for every item that names it */
		for (size_t j = 0; j < i; j++)
			if (!items[j].later && v[j].t.queue_id != 0 &&
			    strcmp(items[j].c->queue, items[i].c->queue) == 0) {
				v[i].t = v[j].t;
				break;
			}
		if (v[i].t.queue_id == 0 &&
		    (r = file_queue(m, &x, &v[i].t, &v[i].scratch, err, errlen)) != 0) {
			json_decref(v[i].scratch.reply);
			if (r < 0)
				goto out;
			*bad = i;
			rc = 1;
			goto out;
		}
		if (v[i].t.site[0] == '\0')
			snprintf(v[i].t.site, sizeof v[i].t.site, "%s", items[i].a->site);
		if (v[i].t.site[0] == '\0' ||
		    (v[i].t.queue_site_id == 0 && items[i].a->site_id == 0))
			items[i].later = 1; /* the single path settles (or refuses) the site */
	}
	many_contacts_repeated(v, n);
	if (many_contacts_known(m, v, n, err, errlen) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!items[i].later)
			b[k++] = i;
	if (k == 0) {
		rc = 0;
		goto out;
	}
	if (many_customers(m, v, b, k, err, errlen) != 0)
		goto out;
	for (size_t j = 0; j < k; j++) {
		struct many_item *x = &v[b[j]];
		const struct web_complaint *c = x->it->c;
		struct ticket_new *t = &x->n;
		char text[WEB_TOKEN_LEN + 1];

		web_token_encode(c->token, text);
		web_sha256(text, WEB_TOKEN_LEN, x->token_hash);
		OPENSSL_cleanse(text, sizeof text);
		snprintf(t->kind, sizeof t->kind, "complaint");
		snprintf(t->channel, sizeof t->channel, "web");
		web_subject(c->category, c->description, t->subject, sizeof t->subject);
		t->customer_id = x->t.customer;
		t->priority = web_urgency_priority(c->urgency);
		snprintf(t->queue, sizeof t->queue, "%s", c->queue);
		t->queue_id = x->t.queue_id;
		t->customer_current = 1;
		snprintf(t->site, sizeof t->site, "%s", x->t.site);
		t->site_id = x->t.queue_site_id ? x->t.queue_site_id : x->it->a->site_id;
		snprintf(t->language, sizeof t->language, "%s", c->language);
		t->status_token_hash = x->token_hash;
		t->detail = file_event_detail(c, &x->t, 0); /* a new customer has no orders */
		a[j] = x->it->a;
		tn[j] = t;
		now[j] = x->it->now_ms;
		res[j] = x->it->res;
	}
	{
		size_t which = 0;

		rc = store_ticket_create_many(m, a, tn, now, k, res, &which, err, errlen);
		if (rc == 1)
			*bad = b[which];
		if (rc != 0)
			goto out;
	}
	rc = -1;
	for (size_t j = 0; j < k; j++)
		tid[j] = row_uint(json_object_get(res[j]->reply, "ticket"), "id");
	if (many_details(m, v, b, k, tid, err, errlen) != 0)
		goto out;
	for (size_t j = 0; j < k; j++) {
		char text[WEB_TOKEN_LEN + 1];

		web_token_encode(v[b[j]].it->c->token, text);
		json_object_set_new(res[j]->reply, "token", json_string(text));
		json_object_set_new(res[j]->reply, "duplicate", json_false());
		OPENSSL_cleanse(text, sizeof text);
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		json_decref(v[i].n.detail);
		OPENSSL_cleanse(v[i].xored, sizeof v[i].xored);
	}
	free(v);
	free(a);
	free(tn);
	free(res);
	free(now);
	free(tid);
	free(b);
	return rc;
}

/* --- complaint.status --- */

/* The columns complaint.status and complaint.csat read. */
#define TOKEN_ROW_SQL                                                                              \
	"SELECT t.id, t.ref, t.state, HEX(t.status_token_hash) AS token_hash, "                    \
	"t.owner_agent_id, "                                                                       \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.created_at) DIV 1000 AS created_at, "          \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.updated_at) DIV 1000 AS updated_at, "          \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.first_responded_at) DIV 1000 "                 \
	"AS responded_at, "                                                                        \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.resolved_at) DIV 1000 AS resolved_at, "        \
	"TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.closed_at) DIV 1000 AS closed_at, "            \
	"w.category, w.resolution, w.urgency, w.language FROM tickets t JOIN web_complaints w "    \
	"ON w.ticket_id = t.id WHERE t.ref = ?"

/* The complaint of t->ref when t->token is its token: 1 and *row, 0 not
 * (unknown ref, no token, wrong token: the caller answers all alike), -1.
 * The digests are compared in constant time, and a ref without a token is
 * compared against a dummy, so the work is the same. */
static int
token_row(MYSQL *m, const struct web_ticket_token *t, json_t **row, char *err, size_t errlen)
{
	static const char dummy[65] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	unsigned char digest[32];
	char want[65];
	const char *have;
	MYSQL_BIND p[1];
	unsigned long len;
	int rc, same;

	bind_str(&p[0], t->ref, &len);
	rc = ticket_query_one(m, TOKEN_ROW_SQL, p, row, err, errlen);
	if (rc < 0)
		return -1;
	web_sha256(t->token, strlen(t->token), digest);
	hex_of(digest, sizeof digest, want);
	have = rc == 1 ? row_str(*row, "token_hash") : NULL;
	same = CRYPTO_memcmp(want, have != NULL && strlen(have) == 64 ? have : dummy, 64) == 0;
	if (rc == 1 && (have == NULL || !same)) {
		json_decref(*row);
		*row = NULL;
		return 0;
	}
	return rc;
}

/* One clock as the customer sees it: {due_at, met_at, state, breached}. */
static json_t *
clock_public(const json_t *clocks, const char *metric, json_t *met_at)
{
	size_t i;
	json_t *k;

	json_array_foreach(clocks, i, k)
	{
		const char *name = json_string_value(json_object_get(k, "metric"));
		const char *state = json_string_value(json_object_get(k, "state"));
		const char *level = json_string_value(json_object_get(k, "level"));

		if (name == NULL || strcmp(name, metric) != 0)
			continue;
		if (state == NULL || strcmp(state, "stopped") != 0) {
			json_decref(met_at); /* met only once stopped */
			met_at = json_null();
		}
		return json_pack("{s:O,s:o,s:s,s:b}", "due_at", json_object_get(k, "due_at"),
		                 "met_at", met_at, "state", state ? state : "idle", "breached",
		                 level && strcmp(level, "breached") == 0);
	}
	json_decref(met_at);
	return json_pack("{s:n,s:n,s:s,s:b}", "due_at", "met_at", "state", "idle", "breached", 0);
}

/* A member of row as a new reference (null when absent). */
static json_t *
member(const json_t *row, const char *key)
{
	json_t *v = json_object_get(row, key);

	return v ? json_incref(v) : json_null();
}

#define WEB_ROW_COLS 16 /* columns of a web_rows query */

/* Run sql (a cached statement, params p) and append each row to arr as an
 * object keyed by column: integer columns as numbers, others as strings,
 * NULL as null. The rows are read into memory first, so the caller may run
 * other queries while going over arr. 0 or -1. */
static int
web_rows(MYSQL *m, const char *sql, MYSQL_BIND *p, json_t *arr, char *err, size_t errlen)
{
	MYSQL_STMT *st = store_stmt(m, sql, p, err, errlen);
	MYSQL_BIND r[WEB_ROW_COLS];
	unsigned long len[WEB_ROW_COLS];
	my_bool nul[WEB_ROW_COLS];
	MYSQL_RES *meta;
	MYSQL_FIELD *f;
	unsigned n;
	int rc, out = 0;

	if (st == NULL)
		return -1;
	if (mysql_stmt_execute(st) != 0 || (meta = mysql_stmt_result_metadata(st)) == NULL)
		return store_fail(m, st, err, errlen);
	n = mysql_num_fields(meta);
	f = mysql_fetch_fields(meta);
	memset(r, 0, sizeof r);
	for (unsigned i = 0; i < n && i < WEB_ROW_COLS; i++) {
		r[i].buffer_type = MYSQL_TYPE_STRING;
		r[i].length = &len[i];
		r[i].is_null = &nul[i];
	}
	if (n > WEB_ROW_COLS || mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		mysql_free_result(meta);
		return store_fail(m, st, err, errlen);
	}
	while (out == 0 && ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED)) {
		json_t *obj = json_object();

		for (unsigned i = 0; i < n && out == 0; i++) {
			MYSQL_BIND b;
			char *buf;
			json_t *v;

			if (nul[i]) {
				json_object_set_new(obj, f[i].name, json_null());
				continue;
			}
			if ((buf = malloc(len[i] + 1)) == NULL)
				abort();
			memset(&b, 0, sizeof b);
			b.buffer_type = MYSQL_TYPE_STRING;
			b.buffer = buf;
			b.buffer_length = len[i] + 1;
			if (len[i] > 0 && mysql_stmt_fetch_column(st, &b, i, 0) != 0)
				out = -1;
			buf[len[i]] = '\0';
			if (f[i].type == MYSQL_TYPE_TINY || f[i].type == MYSQL_TYPE_SHORT ||
			    f[i].type == MYSQL_TYPE_LONG || f[i].type == MYSQL_TYPE_INT24 ||
			    f[i].type == MYSQL_TYPE_LONGLONG)
				v = json_integer((json_int_t)strtoll(buf, NULL, 10));
			else
				v = json_stringn(buf, len[i]);
			json_object_set_new(obj, f[i].name, v ? v : json_null());
			free(buf);
		}
		json_array_append_new(arr, obj);
	}
	if (out == 0 && rc != MYSQL_NO_DATA)
		out = -1;
	mysql_free_result(meta);
	if (out != 0)
		return store_fail(m, st, err, errlen);
	store_stmt_done(st);
	return 0;
}

/* Append a timeline entry; text (may be NULL) is cut to WEB_TEXT_MAX. */
static void
entry_add(json_t *all, json_t *at, const char *kind, const char *state, const char *text)
{
	json_t *e = json_pack("{s:O,s:s}", "at", at, "kind", kind);

	if (state != NULL)
		json_object_set_new(e, "state", json_string(state));
	if (text != NULL) {
		char cut[WEB_TEXT_MAX * 4 + 4];

		web_text_cut(text, WEB_TEXT_MAX, cut, sizeof cut);
		json_object_set_new(e, "text", json_string(cut));
	}
	json_array_append_new(all, e);
}

/* The timeline (see store-web.h): state events and customer-visible notes,
 * oldest first (an event before a note of the same instant), the newest
 * WEB_TIMELINE_MAX whose texts fit WEB_TEXT_BUDGET. *out is a new array. */
static int
timeline(MYSQL *m, uint64_t id, json_t **out, char *err, size_t errlen)
{
	MYSQL_BIND p[2];
	unsigned int limit = WEB_TIMELINE_EVENTS;
	uint64_t tid = id;
	json_t *events = json_array(), *notes = json_array(), *all = json_array();
	size_t ie, in, start, budget = 0;
	const char *last = NULL;
	int rc;

	*out = NULL;
	bind_u64(&p[0], &tid);
	bind_uint(&p[1], &limit);
	rc = web_rows(m,
	              "SELECT op, old_value, new_value, "
	              "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at) DIV 1000 AS at "
	              "FROM ticket_events WHERE ticket_id = ? AND op IN ('create', 'enqueue', "
	              "'accept', 'hold', 'customer_replied', 'resolve', 'close', 'reopen', "
	              "'transfer_queue', 'transfer_agent', 'transfer_site', 'merge', "
	              "'unmerge') "
	              "ORDER BY seq DESC LIMIT ?",
	              p, events, err, errlen);
	limit = WEB_TIMELINE_MAX;
	if (rc == 0)
		rc = web_rows(m,
		              "SELECT author_kind, body, "
		              "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at) DIV 1000 AS at "
		              "FROM ticket_notes WHERE ticket_id = ? AND visibility = 'customer' "
		              "ORDER BY id DESC LIMIT ?",
		              p, notes, err, errlen);
	if (rc != 0) {
		json_decref(events);
		json_decref(notes);
		json_decref(all);
		return -1;
	}
	/* both came newest first: merge them oldest first */
	ie = json_array_size(events);
	in = json_array_size(notes);
	while (ie > 0 || in > 0) {
		json_t *e = ie > 0 ? json_array_get(events, ie - 1) : NULL;
		json_t *n = in > 0 ? json_array_get(notes, in - 1) : NULL;

		if (e != NULL && (n == NULL || row_uint(e, "at") <= row_uint(n, "at"))) {
			const char *op = row_str(e, "op"), *st;

			ie--;
			if (op != NULL && strcmp(op, "create") == 0) {
				entry_add(all, json_object_get(e, "at"), "created", NULL, NULL);
				last = row_str(e, "new_value");
				last = last ? web_public_state(last) : NULL;
				continue;
			}
			st = web_timeline_state(op, row_str(e, "old_value"),
			                        row_str(e, "new_value"));
			if (st == NULL || (last != NULL && strcmp(st, last) == 0))
				continue;
			entry_add(all, json_object_get(e, "at"), "state", st, NULL);
			last = strcmp(st, "reopened") == 0 ? "in_progress" : st;
		} else {
			const char *kind = row_str(n, "author_kind");

			in--;
			entry_add(all, json_object_get(n, "at"),
			          kind && strcmp(kind, "customer") == 0 ? "customer" : "reply",
			          NULL, row_str(n, "body") ? row_str(n, "body") : "");
		}
	}
	/* the newest that fit */
	for (start = json_array_size(all); start > 0; start--) {
		const char *text = row_str(json_array_get(all, start - 1), "text");
		size_t need = text ? web_json_len(text) : 0;

		if (json_array_size(all) - start == WEB_TIMELINE_MAX ||
		    budget + need > WEB_TEXT_BUDGET)
			break;
		budget += need;
	}
	*out = json_array();
	for (size_t i = start; i < json_array_size(all); i++)
		json_array_append(*out, json_array_get(all, i));
	json_decref(events);
	json_decref(notes);
	json_decref(all);
	return 0;
}

/* The rating of a ticket: 1 and *row {score, comment, created_at}, 0 none, -1. */
static int
csat_row(MYSQL *m, uint64_t id, int lock, json_t **row, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	uint64_t tid = id;

	bind_u64(&p[0], &tid);
	return ticket_query_one(
	    m,
	    lock ? "SELECT score, comment, "
	           "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at) DIV 1000"
	           " AS created_at "
	           "FROM csat WHERE ticket_id = ? ORDER BY round LIMIT 1 "
	           "FOR UPDATE"
	         : "SELECT score, comment, "
	           "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at) DIV 1000"
	           " AS created_at "
	           "FROM csat WHERE ticket_id = ? ORDER BY round LIMIT 1",
	    p, row, err, errlen);
}

int
store_web_status(MYSQL *m, const struct web_ticket_token *t, int64_t now_ms,
                 struct ticket_result *res, char *err, size_t errlen)
{
	json_t *row, *clocks = NULL, *tl = NULL, *rating = NULL, *c;
	const char *state;
	int rc, ended;
	uint64_t id;

	res->code = CC_OK;
	if ((rc = token_row(m, t, &row, err, errlen)) <= 0)
		return rc < 0 ? -1 : (ticket_refuse(res, CC_ERR_NOT_FOUND, refuse_token), 0);
	id = row_uint(row, "id");
	state = row_str(row, "state");
	ended = strcmp(state, "resolved") == 0 || strcmp(state, "closed") == 0;
	if (store_sla_json(m, id, now_ms, &clocks, err, errlen) != 0 ||
	    timeline(m, id, &tl, err, errlen) != 0 ||
	    (rc = csat_row(m, id, 0, &rating, err, errlen)) < 0) {
		json_decref(clocks);
		json_decref(tl);
		json_decref(row);
		return -1;
	}
	c = json_pack(
	    "{s:O,s:s,s:O,s:O,s:O,s:O,s:O,s:O}", "ref", json_object_get(row, "ref"), "state",
	    web_public_state(state), "created_at", json_object_get(row, "created_at"), "updated_at",
	    json_object_get(row, "updated_at"), "category", json_object_get(row, "category"),
	    "resolution", json_object_get(row, "resolution"), "urgency",
	    json_object_get(row, "urgency"), "language", json_object_get(row, "language"));
	json_object_set_new(c, "first_response",
	                    clock_public(clocks, "first_response", member(row, "responded_at")));
	json_object_set_new(
	    c, "resolution_clock",
	    clock_public(clocks, "resolution",
	                 member(row, json_is_null(json_object_get(row, "resolved_at"))
	                                 ? "closed_at"
	                                 : "resolved_at")));
	json_object_set_new(
	    c, "next_step",
	    json_string(web_next_step(state, !json_is_null(json_object_get(row, "responded_at")))));
	json_object_set_new(c, "timeline", tl);
	json_object_set_new(c, "csat",
	                    json_pack("{s:b,s:o,s:o}", "allowed", ended && rc == 0, "score",
	                              rc == 1 ? member(rating, "score") : json_null(), "comment",
	                              rc == 1 ? member(rating, "comment") : json_null()));
	res->reply = json_pack("{s:o}", "complaint", c);
	json_decref(rating);
	json_decref(clocks);
	json_decref(row);
	return 0;
}

/* --- complaint.csat --- */

struct csat_arg {
	const struct ticket_actor *a;
	const struct web_csat *c;
	int64_t now_ms;
};

static int
csat_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct csat_arg *x = arg;
	const struct web_csat *c = x->c;
	struct ticket_key key = {0};
	struct ticket_chain ch;
	MYSQL_BIND p[6];
	unsigned long len[6];
	my_bool nul[6] = {0};
	unsigned int score = (unsigned int)c->score, owner, queue, site;
	uint64_t tid;
	char when[48], value[4];
	json_t *row, *locked, *detail;
	int rc, st;

	if ((rc = token_row(m, &c->who, &row, err, errlen)) <= 0)
		return rc < 0 ? -1 : ticket_refuse(res, CC_ERR_NOT_FOUND, refuse_token);
	key.id = tid = row_uint(row, "id");
	json_decref(row);
	if ((rc = ticket_lock(m, x->a, &key, &locked, err, errlen)) <= 0)
		return rc < 0 ? -1 : ticket_refuse(res, CC_ERR_NOT_FOUND, refuse_token);
	st = ticket_state_parse(row_str(locked, "state"));
	owner = (unsigned int)row_uint(locked, "owner_agent_id");
	queue = (unsigned int)row_uint(locked, "queue_id");
	site = (unsigned int)row_uint(locked, "owning_site_id");
	if (st != TS_RESOLVED && st != TS_CLOSED)
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "the complaint is not resolved yet");
	else if ((rc = csat_row(m, tid, 1, &row, err, errlen)) == 1) {
		json_decref(row);
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "this complaint was already rated");
	} else if (rc == 0)
		rc = ticket_row_chain(locked, &ch, err, errlen);
	json_decref(locked);
	if (rc != 0)
		return rc;
	ticket_format_time(x->now_ms, when);
	bind_u64(&p[0], &tid);
	bind_uint(&p[1], &score);
	bind_opt(&p[2], c->comment, &len[2], &nul[2]);
	bind_uint(&p[3], &owner);
	nul[3] = owner == 0;
	p[3].is_null = &nul[3];
	bind_str(&p[4], when, &len[4]);
	if (store_exec(m,
	               "INSERT INTO csat (ticket_id, round, score, comment, agent_id, created_at) "
	               "VALUES (?, 0, ?, ?, ?, ?)",
	               p, err, errlen, NULL) != 0)
		return -1;
	detail = json_pack("{s:i}", "score", c->score);
	if (c->comment[0])
		json_object_set_new(detail, "comment", json_string(c->comment));
	snprintf(value, sizeof value, "%d", c->score);
	rc = ticket_event_append(m, tid, &ch, x->a, "csat", NULL, value, detail, x->now_ms, err,
	                         errlen);
	json_decref(detail);
	if (rc != 0)
		return -1;
	res->reply = json_pack("{s:{s:i,s:o,s:I}}", "csat", "score", c->score, "comment",
	                       c->comment[0] ? json_string(c->comment) : json_null(), "created_at",
	                       (json_int_t)x->now_ms);
	/* for the live statistics; op-web.c takes it out before answering */
	json_object_set_new(res->reply, "_stats",
	                    json_pack("{s:I,s:I,s:I}", "queue", (json_int_t)queue, "site",
	                              (json_int_t)site, "agent", (json_int_t)owner));
	return 0;
}

int
store_web_csat(MYSQL *m, const struct ticket_actor *a, const struct web_csat *c, int64_t now_ms,
               struct ticket_result *res, char *err, size_t errlen)
{
	struct csat_arg x = {a, c, now_ms};

	return ticket_tx_run(m, csat_tx, &x, res, err, errlen);
}

/* --- order.upsert --- */

struct order_arg {
	const struct ticket_actor *a;
	const struct web_order *o;
	int64_t now_ms;
};

/* The order's customer: found by member id, phone, then e-mail, followed
 * to the survivor; else created. 0 and *id, -1. */
static int
order_customer(MYSQL *m, const struct web_order *o, uint64_t *id, char *err, size_t errlen)
{
	static const char *const kinds[] = {"member_id", "phone", "email"};
	const char *values[] = {o->member_id, o->phone, o->email};
	MYSQL_BIND p[3];
	unsigned long len[3];
	int primary = 1;
	json_t *row;
	int rc;

	for (int i = 0; i < 3; i++) {
		if (values[i][0] == '\0')
			continue;
		if ((rc = contact_owner(m, kinds[i], values[i], id, err, errlen)) < 0)
			return -1;
		if (rc == 0)
			continue;
		if ((rc = customer_survivor(m, *id, &row, err, errlen)) < 0)
			return -1;
		if (rc == 1) {
			*id = row_uint(row, "id");
			json_decref(row);
		}
		return 0;
	}
	bind_str(&p[0], o->name, &len[0]);
	if (store_insert(m, "INSERT INTO customers (name) VALUES (?)", p, id, err, errlen) != 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (values[i][0] == '\0')
			continue;
		bind_u64(&p[0], id);
		bind_str(&p[1], kinds[i], &len[1]);
		bind_str(&p[2], values[i], &len[2]);
		if (store_exec(m,
		               primary ? "INSERT INTO customer_contacts (customer_id, kind, value, "
		                         "is_primary) VALUES (?, ?, ?, 1)"
		                       : "INSERT INTO customer_contacts (customer_id, kind, value, "
		                         "is_primary) VALUES (?, ?, ?, 0)",
		               p, err, errlen, NULL) != 0)
			return -1;
		primary = 0;
	}
	return 0;
}

static int
order_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct order_arg *x = arg;
	const struct web_order *o = x->o;
	MYSQL_BIND p[6];
	unsigned long len[6];
	uint64_t id, customer, amount = o->amount_minor;
	char when[48];
	json_t *row;
	int rc, created = 0;

	bind_str(&p[0], o->order, &len[0]);
	/* a plain read first, then a lock of the row only when it is there
	 * (see file_idempotent: no gap locks; a new order inserted meanwhile
	 * fails the INSERT on its unique key, and web_tx_run runs this again) */
	if ((rc = ticket_query_one(m, "SELECT id FROM orders WHERE external_id = ?", p, &row, err,
	                           errlen)) < 0)
		return -1;
	json_decref(row);
	if (rc == 1 &&
	    (rc = ticket_query_one(m,
	                           "SELECT id, customer_id, currency, refunded_minor FROM orders "
	                           "WHERE external_id = ? FOR UPDATE",
	                           p, &row, err, errlen)) < 0)
		return -1;
	if (rc == 1) {
		id = row_uint(row, "id");
		customer = row_uint(row, "customer_id");
		if (strcmp(row_str(row, "currency"), o->currency) != 0)
			rc = ticket_refuse(res, CC_ERR_BAD_REQUEST,
			                   "order %s is in %s, not %s: its currency cannot change",
			                   o->order, row_str(row, "currency"), o->currency);
		else if (row_uint(row, "refunded_minor") > amount)
			rc = ticket_refuse(res, CC_ERR_BAD_REQUEST,
			                   "order %s has %" PRIu64 " minor units refunded: "
			                   "amount_minor cannot be less",
			                   o->order, row_uint(row, "refunded_minor"));
		else
			rc = 0;
		json_decref(row);
		if (rc != 0)
			return rc;
		bind_str(&p[0], o->status, &len[0]);
		bind_u64(&p[1], &amount);
		bind_u64(&p[2], &id);
		if (store_exec(m, "UPDATE orders SET status = ?, amount_minor = ? WHERE id = ?", p,
		               err, errlen, NULL) != 0)
			return -1;
	} else {
		if (order_customer(m, o, &customer, err, errlen) != 0)
			return -1;
		ticket_format_time(o->ordered_at, when);
		bind_str(&p[0], o->order, &len[0]);
		bind_u64(&p[1], &customer);
		bind_u64(&p[2], &amount);
		bind_str(&p[3], o->currency, &len[3]);
		bind_str(&p[4], o->status, &len[4]);
		bind_str(&p[5], when, &len[5]);
		if (store_insert(
		        m,
		        "INSERT INTO orders (external_id, customer_id, amount_minor, currency, "
		        "status, ordered_at) VALUES (?, ?, ?, ?, ?, ?)",
		        p, &id, err, errlen) != 0)
			return -1;
		created = 1;
	}
	res->reply = json_pack("{s:{s:I,s:s,s:I,s:s},s:b}", "order", "id", (json_int_t)id,
	                       "external_id", o->order, "customer_id", (json_int_t)customer,
	                       "status", o->status, "created", created);
	return 0;
}

int
store_web_order(MYSQL *m, const struct ticket_actor *a, const struct web_order *o, int64_t now_ms,
                struct ticket_result *res, char *err, size_t errlen)
{
	struct order_arg x = {a, o, now_ms};

	return web_tx_run(m, order_tx, &x, res, err, errlen);
}

/* --- ticket.show --- */

int
web_name_differs(const char *given, const char *record)
{
	const unsigned char *a = (const unsigned char *)given, *b = (const unsigned char *)record;

	/* compared without spaces and ASCII case: "li lei" is "Li Lei" */
	for (;;) {
		while (*a == ' ' || *a == '\t')
			a++;
		while (*b == ' ' || *b == '\t')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a != *b;
		if (tolower(*a) != tolower(*b))
			return 1;
		a++;
		b++;
	}
}

int
store_web_complaint_json(MYSQL *m, uint64_t ticket_id, json_t **out, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	uint64_t tid = ticket_id;
	json_t *v;
	int rc;

	bind_u64(&p[0], &tid);
	if ((rc = ticket_query_one(
	         m,
	         "SELECT w.category, w.resolution, w.urgency, w.language, w.contact_name, "
	         "w.contact_phone, w.contact_email, w.order_ref, "
	         "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', w.created_at) DIV 1000 AS filed_at, "
	         "c.created_at < w.created_at AS existing, c.name AS customer_name "
	         "FROM web_complaints w JOIN tickets t ON t.id = w.ticket_id "
	         "LEFT JOIN customers c ON c.id = t.customer_id WHERE w.ticket_id = ?",
	         p, out, err, errlen)) != 1)
		return rc;
	v = json_object_get(*out, "order_ref");
	json_object_set(*out, "order", v ? v : json_null());
	json_object_del(*out, "order_ref");
	/* Nobody proved the contact is theirs: the form is public. A complaint
	 * whose phone or e-mail found an existing customer is filed on that
	 * record, so agents are told when the name given is not the record's
	 * (a typo, a relative, or someone else's number). */
	v = json_object_get(*out, "customer_name");
	json_object_set_new(*out, "contact_verified", json_false());
	json_object_set_new(*out, "customer_existing",
	                    json_boolean(row_uint(*out, "existing") != 0));
	json_object_set_new(
	    *out, "name_differs",
	    json_boolean(row_uint(*out, "existing") != 0 && json_is_string(v) &&
	                 web_name_differs(row_str(*out, "contact_name"), json_string_value(v))));
	json_object_del(*out, "existing");
	return 1;
}

int
store_web_idem_purge(MYSQL *m, int64_t now_ms, unsigned long long *deleted, char *err,
                     size_t errlen)
{
	MYSQL_BIND p[2];
	unsigned long len;
	unsigned int limit = WEB_IDEM_PURGE;
	char since[48];

	/* autocommit: the range's locks last one statement, never a filing's
	 * transaction */
	ticket_format_time(now_ms - WEB_IDEM_TTL_MS, since);
	bind_str(&p[0], since, &len);
	bind_uint(&p[1], &limit);
	return store_exec(m, "DELETE FROM web_idempotency WHERE created_at < ? LIMIT ?", p, err,
	                  errlen, deleted);
}
