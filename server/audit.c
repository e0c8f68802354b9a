/* audit.c: canonical encoding, hashing and verification of ticket event
 * chains (the format is in audit.h).
 *
 * One encoder serves both uses: it writes into a sink that counts bytes,
 * copies them into a buffer, feeds them to a digest, or any of these, so
 * the bytes that are hashed are by construction the bytes audit_encode()
 * shows, and hashing a row needs no buffer for its (up to 64 KiB) detail. */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

/* Where encoded bytes go. */
struct sink {
	EVP_MD_CTX *md;     /* digest them, when not NULL */
	unsigned char *buf; /* copy them, when not NULL (caller checked the size) */
	size_t len;         /* bytes so far */
	int err;
};

static const unsigned char zero_hash[AUDIT_HASH_LEN];

static void
sink_put(struct sink *s, const void *p, size_t n)
{
	if (s->md != NULL && n > 0 && EVP_DigestUpdate(s->md, p, n) != 1)
		s->err = 1;
	if (s->buf != NULL && n > 0)
		memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void
sink_u8(struct sink *s, unsigned v)
{
	unsigned char b = (unsigned char)v;

	sink_put(s, &b, 1);
}

static void
sink_u32(struct sink *s, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	                      (unsigned char)(v >> 8), (unsigned char)v};

	sink_put(s, b, sizeof b);
}

static void
sink_u64(struct sink *s, uint64_t v)
{
	sink_u32(s, (uint32_t)(v >> 32));
	sink_u32(s, (uint32_t)v);
}

/* A nullable, length-prefixed text. */
static void
sink_text(struct sink *s, struct audit_text t)
{
	if (t.ptr == NULL) {
		sink_u8(s, 0);
		return;
	}
	if (t.len > UINT32_MAX) {
		s->err = 1;
		return;
	}
	sink_u8(s, 1);
	sink_u32(s, (uint32_t)t.len);
	sink_put(s, t.ptr, t.len);
}

/* The canonical encoding of e, field by field in the documented order. */
static void
encode(struct sink *s, const struct audit_event *e)
{
	sink_put(s, AUDIT_TAG, sizeof AUDIT_TAG - 1);
	sink_u64(s, e->ticket_id);
	sink_u32(s, e->seq);
	if (e->actor_agent_id == 0) {
		sink_u8(s, 0);
	} else {
		sink_u8(s, 1);
		sink_u32(s, e->actor_agent_id);
	}
	sink_text(s, e->actor);
	sink_text(s, e->op);
	sink_text(s, e->old_value);
	sink_text(s, e->new_value);
	sink_text(s, e->detail);
	/* two's complement, so times before 1970 encode too */
	sink_u64(s, (uint64_t)e->time_ms);
}

struct audit_text
audit_text(const char *s)
{
	struct audit_text t = {s, s != NULL ? strlen(s) : 0};

	return t;
}

size_t
audit_encode(const struct audit_event *e, unsigned char *buf, size_t cap)
{
	struct sink count = {0};

	encode(&count, e);
	if (count.err)
		return 0;
	if (buf != NULL && count.len <= cap) {
		struct sink out = {.buf = buf};
		encode(&out, e);
	}
	return count.len;
}

int
audit_hash(const struct audit_event *e, unsigned char out[AUDIT_HASH_LEN])
{
	struct sink s = {0};
	unsigned int n = 0;
	int rc = -1;

	if ((s.md = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1)
		goto out;
	sink_put(&s, e->prev_hash, AUDIT_HASH_LEN);
	encode(&s, e);
	if (s.err || EVP_DigestFinal_ex(s.md, out, &n) != 1 || n != AUDIT_HASH_LEN)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(s.md);
	return rc;
}

int
audit_seal(struct audit_event *e, const unsigned char prev[AUDIT_HASH_LEN])
{
	memcpy(e->prev_hash, prev != NULL ? prev : zero_hash, AUDIT_HASH_LEN);
	return audit_hash(e, e->hash);
}

/* Record a fault in res and return it. */
static enum audit_fault
fault(struct audit_result *res, enum audit_fault f, size_t index, int64_t want, int64_t got)
{
	res->fault = f;
	res->index = index;
	res->want_seq = want;
	res->got_seq = got;
	return f;
}

/* Compare where the rows ended (at) with the ticket's head. */
static enum audit_fault
check_head(const struct audit_anchor *at, const struct audit_anchor *head, size_t n,
           struct audit_result *res)
{
	if (at->seq < head->seq) /* rows cut off the end */
		return fault(res, AUDIT_HEAD_MISMATCH, n, (int64_t)at->seq + 1, -1);
	if (at->seq > head->seq) { /* rows past the head: the first of them */
		uint32_t extra = at->seq - head->seq;
		return fault(res, AUDIT_HEAD_MISMATCH, extra <= n ? n - extra : 0, -1,
		             (int64_t)head->seq + 1);
	}
	if (memcmp(at->hash, head->hash, AUDIT_HASH_LEN) != 0)
		return fault(res, AUDIT_HEAD_MISMATCH, n > 0 ? n - 1 : 0, at->seq, at->seq);
	return AUDIT_OK;
}

enum audit_fault
audit_verify(uint64_t ticket_id, const struct audit_event *rows, size_t n,
             const struct audit_anchor *from, const struct audit_anchor *head,
             struct audit_result *res)
{
	struct audit_anchor at = {0};
	unsigned char h[AUDIT_HASH_LEN];

	if (from != NULL)
		at = *from;
	fault(res, AUDIT_OK, 0, -1, -1);
	for (size_t i = 0; i < n; i++) {
		const struct audit_event *r = &rows[i];
		int64_t want = (int64_t)at.seq + 1;

		if (r->ticket_id != ticket_id)
			return fault(res, AUDIT_WRONG_TICKET, i, r->seq, r->seq);
		if (r->seq != want)
			return fault(res, AUDIT_SEQ_GAP, i, want, r->seq);
		if (memcmp(r->prev_hash, at.hash, AUDIT_HASH_LEN) != 0)
			return fault(res, AUDIT_PREV_MISMATCH, i, want, r->seq);
		if (audit_hash(r, h) != 0)
			return fault(res, AUDIT_ERROR, i, want, r->seq);
		if (memcmp(h, r->hash, AUDIT_HASH_LEN) != 0)
			return fault(res, AUDIT_HASH_MISMATCH, i, want, r->seq);
		at.seq = r->seq;
		memcpy(at.hash, r->hash, AUDIT_HASH_LEN);
	}
	if (head != NULL)
		return check_head(&at, head, n, res);
	return AUDIT_OK;
}

const char *
audit_fault_name(enum audit_fault f)
{
	static const char *const names[] = {
	    [AUDIT_OK] = "ok",
	    [AUDIT_WRONG_TICKET] = "wrong ticket",
	    [AUDIT_SEQ_GAP] = "seq gap",
	    [AUDIT_PREV_MISMATCH] = "prev_hash mismatch",
	    [AUDIT_HASH_MISMATCH] = "hash mismatch",
	    [AUDIT_HEAD_MISMATCH] = "head mismatch",
	    [AUDIT_ERROR] = "error",
	};

	if ((int)f < 0 || (size_t)f >= sizeof names / sizeof names[0])
		return "unknown";
	return names[f];
}

/* "seq 4", or "the end" for -1 (no row). */
static void
seq_words(int64_t seq, char *buf, size_t len)
{
	if (seq < 0)
		snprintf(buf, len, "the end");
	else
		snprintf(buf, len, "seq %" PRId64, seq);
}

void
audit_result_message(const struct audit_result *res, char *buf, size_t len)
{
	char want[24], got[24];

	if (res->fault == AUDIT_OK) {
		snprintf(buf, len, "chain intact");
		return;
	}
	seq_words(res->want_seq, want, sizeof want);
	seq_words(res->got_seq, got, sizeof got);
	if (res->want_seq != res->got_seq)
		snprintf(buf, len, "row %zu: %s: expected %s, found %s", res->index,
		         audit_fault_name(res->fault), want, got);
	else
		snprintf(buf, len, "row %zu (%s): %s", res->index, got,
		         audit_fault_name(res->fault));
}
