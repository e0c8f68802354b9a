/* test_audit.c: the ticket event hash chain. Every kind of tampering must
 * be found, at the row where it happened. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"

#define TICKET 42
#define NROWS  6
#define T0     INT64_C(1767225600123) /* 2026-01-01T00:00:00.123Z */

/* Known answers, computed independently with Python's struct and hashlib
 * from the format in audit.h:
 *   r1 = b"cc.ticket_event.v1" + pack(">QI", 42, 1) + b"\x01" + pack(">I", 7)
 *        + text(actor) + ... + pack(">q", 1767225600123)
 *   h1 = sha256(bytes(32) + r1); h2 = sha256(h1 + r2) */
static const char kat1_encoding[] =
    "63632e7469636b65745f6576656e742e7631000000000000002a00000001010000000701000000066c692e7765"
    "69010000000e7469636b65742e7265736f6c7665010000000b696e5f70726f677265737301000000087265736f"
    "6c76656401000000317b22636f6465223a22726566756e645f697373756564222c226e6f7465223a22e98080e6"
    "acbee5b7b2e588b0e8b4a6227d0000019b76daa87b";
static const char kat1_hash[] = "211c6ed26fdaaab2da402d97ce273cd8b1aeec9e08405d30e2e641eab9368066";
static const char kat2_encoding[] = "63632e7469636b65745f6576656e742e7631000000000000002a0000000200"
                                    "010000000673797374656d0100000008736c612e7761726e00010000000000"
                                    "ffffffffffffffff";
static const char kat2_hash[] = "eb98d49c2c548c8adcf756117daee834f802c435768b8d31a16bc744a76388f1";

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
static void
hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

/* A row with the fields most events have. */
static struct audit_event
row(uint32_t seq, uint32_t agent, const char *actor, const char *op, const char *old,
    const char *new, const char *detail)
{
	struct audit_event e;

	memset(&e, 0, sizeof e);
	e.ticket_id = TICKET;
	e.seq = seq;
	e.actor_agent_id = agent;
	e.actor = audit_text(actor);
	e.op = audit_text(op);
	e.old_value = audit_text(old);
	e.new_value = audit_text(new);
	e.detail = audit_text(detail);
	e.time_ms = T0 + (int64_t)seq * 61000;
	return e;
}

/* A sealed six-event history of one complaint. */
static void
make_chain(struct audit_event *ev)
{
	ev[0] = row(1, 0, "customer", "ticket.create", NULL, "new",
	            "{\"channel\":\"web\",\"subject\":"
	            "\"\xe5\x8c\x85\xe8\xa3\xb9\xe7\xa0\xb4\xe6\x8d\x9f\"}");
	ev[1] =
	    row(2, 0, "system", "ticket.enqueue", "new", "queued", "{\"queue\":\"complaints\"}");
	ev[2] = row(3, 0, "system", "ticket.offer", "queued", "offered", "{\"agent\":3}");
	ev[3] = row(4, 3, "li.wei", "ticket.accept", "offered", "in_progress", NULL);
	ev[4] = row(5, 3, "li.wei", "ticket.note", NULL, NULL, "{\"note_id\":9}");
	ev[5] = row(6, 3, "li.wei", "ticket.resolve", "in_progress", "resolved", "");
	for (int i = 0; i < NROWS; i++)
		assert_int_equal(audit_seal(&ev[i], i == 0 ? NULL : ev[i - 1].hash), 0);
}

/* The anchor at the end of rows[0..n). */
static struct audit_anchor
head_of(const struct audit_event *ev, size_t n)
{
	struct audit_anchor a;

	memset(&a, 0, sizeof a);
	if (n > 0) {
		a.seq = ev[n - 1].seq;
		memcpy(a.hash, ev[n - 1].hash, AUDIT_HASH_LEN);
	}
	return a;
}

/* Verify and check the fault and its row. */
static void
expect(const struct audit_event *ev, size_t n, const struct audit_anchor *from,
       const struct audit_anchor *head, enum audit_fault f, size_t index)
{
	struct audit_result res;
	char msg[128];

	audit_verify(TICKET, ev, n, from, head, &res);
	audit_result_message(&res, msg, sizeof msg);
	if (res.fault != f || (f != AUDIT_OK && res.index != index))
		fail_msg("expected %s at row %zu, got %s", audit_fault_name(f), index, msg);
}

/* The known-answer rows: the encoding and the digests match Python. */
static void
test_known_answer(void **state)
{
	struct audit_event e1 = row(1, 7, "li.wei", "ticket.resolve", "in_progress", "resolved",
	                            "{\"code\":\"refund_issued\",\"note\":\"退款已到账\"}");
	struct audit_event e2 = row(2, 0, "system", "sla.warn", NULL, "", NULL);
	unsigned char buf[256];
	char h[2 * sizeof buf + 1];
	size_t n;

	(void)state;
	e1.time_ms = T0;
	e2.time_ms = -1; /* two's complement: all ones */
	n = audit_encode(&e1, buf, sizeof buf);
	assert_int_equal(n, 156);
	hex(buf, n, h);
	assert_string_equal(h, kat1_encoding);
	assert_int_equal(audit_seal(&e1, NULL), 0);
	hex(e1.hash, AUDIT_HASH_LEN, h);
	assert_string_equal(h, kat1_hash);

	n = audit_encode(&e2, buf, sizeof buf);
	assert_int_equal(n, 70);
	hex(buf, n, h);
	assert_string_equal(h, kat2_encoding);
	assert_int_equal(audit_seal(&e2, e1.hash), 0);
	hex(e2.hash, AUDIT_HASH_LEN, h);
	assert_string_equal(h, kat2_hash);
	memset(h, 0, sizeof h);
	hex(e2.prev_hash, AUDIT_HASH_LEN, h);
	assert_string_equal(h, kat1_hash);
}

/* An untouched chain verifies, with and without its head, whole or from
 * an anchor in the middle. */
static void
test_chain_verifies(void **state)
{
	struct audit_event ev[NROWS];
	struct audit_anchor head, mid;
	struct audit_result res;
	char msg[64];

	(void)state;
	make_chain(ev);
	head = head_of(ev, NROWS);
	mid = head_of(ev, 3);
	assert_int_equal(audit_verify(TICKET, ev, NROWS, NULL, &head, &res), AUDIT_OK);
	audit_result_message(&res, msg, sizeof msg);
	assert_string_equal(msg, "chain intact");
	expect(ev, NROWS, NULL, NULL, AUDIT_OK, 0);
	expect(ev + 3, NROWS - 3, &mid, &head, AUDIT_OK, 0);
	expect(ev, 0, NULL, NULL, AUDIT_OK, 0);
	/* sealing is deterministic: the same rows give the same hashes */
	{
		struct audit_event again[NROWS];
		make_chain(again);
		for (int i = 0; i < NROWS; i++)
			assert_memory_equal(again[i].hash, ev[i].hash, AUDIT_HASH_LEN);
	}
}

/* A changed text: another byte in the same place, or NULL <-> "". */
static struct audit_text
altered(struct audit_text t, char *scratch, size_t cap)
{
	struct audit_text out = t;

	if (t.ptr == NULL) {
		out.ptr = "";
		out.len = 0;
	} else if (t.len == 0) {
		out.ptr = NULL;
	} else {
		assert_true(t.len <= cap);
		memcpy(scratch, t.ptr, t.len);
		scratch[t.len - 1] ^= 0x01;
		out.ptr = scratch;
	}
	return out;
}

enum field {
	F_TICKET,
	F_SEQ,
	F_AGENT,
	F_ACTOR,
	F_OP,
	F_OLD,
	F_NEW,
	F_DETAIL,
	F_TIME,
	F_PREV,
	F_HASH,
	F__COUNT
};

/* Change one field of e; returns the fault that must be found. */
static enum audit_fault
tamper(struct audit_event *e, enum field f, char *scratch, size_t cap)
{
	switch (f) {
	case F_TICKET:
		e->ticket_id++;
		return AUDIT_WRONG_TICKET;
	case F_SEQ:
		e->seq += 10;
		return AUDIT_SEQ_GAP;
	case F_AGENT:
		e->actor_agent_id = e->actor_agent_id ? 0 : 5;
		return AUDIT_HASH_MISMATCH;
	case F_ACTOR:
		e->actor = altered(e->actor, scratch, cap);
		return AUDIT_HASH_MISMATCH;
	case F_OP:
		e->op = altered(e->op, scratch, cap);
		return AUDIT_HASH_MISMATCH;
	case F_OLD:
		e->old_value = altered(e->old_value, scratch, cap);
		return AUDIT_HASH_MISMATCH;
	case F_NEW:
		e->new_value = altered(e->new_value, scratch, cap);
		return AUDIT_HASH_MISMATCH;
	case F_DETAIL:
		e->detail = altered(e->detail, scratch, cap);
		return AUDIT_HASH_MISMATCH;
	case F_TIME:
		e->time_ms++;
		return AUDIT_HASH_MISMATCH;
	case F_PREV:
		e->prev_hash[7] ^= 0x80;
		return AUDIT_PREV_MISMATCH;
	case F_HASH:
		e->hash[31] ^= 0x01;
		return AUDIT_HASH_MISMATCH;
	case F__COUNT:
		break;
	}
	fail();
	return AUDIT_OK;
}

/* Changing any one field of any row is found at that row. */
static void
test_any_field_changed(void **state)
{
	struct audit_event ev[NROWS];
	char scratch[256];

	(void)state;
	for (int i = 0; i < NROWS; i++) {
		for (int f = 0; f < F__COUNT; f++) {
			struct audit_anchor head;
			enum audit_fault want;

			make_chain(ev);
			head = head_of(ev, NROWS);
			want = tamper(&ev[i], f, scratch, sizeof scratch);
			expect(ev, NROWS, NULL, NULL, want, (size_t)i);
			expect(ev, NROWS, NULL, &head, want, (size_t)i);
		}
	}
}

/* A row changed and re-sealed by someone who cannot rewrite what follows:
 * the next row's prev_hash no longer matches; for the last row only the
 * head on the ticket catches it. */
static void
test_resealed_row(void **state)
{
	struct audit_event ev[NROWS];
	char scratch[256];

	(void)state;
	for (int i = 0; i < NROWS; i++) {
		struct audit_anchor head;

		make_chain(ev);
		head = head_of(ev, NROWS);
		ev[i].detail = altered(ev[i].detail, scratch, sizeof scratch);
		assert_int_equal(audit_seal(&ev[i], i == 0 ? NULL : ev[i - 1].hash), 0);
		if (i < NROWS - 1) {
			expect(ev, NROWS, NULL, &head, AUDIT_PREV_MISMATCH, (size_t)i + 1);
		} else {
			expect(ev, NROWS, NULL, NULL, AUDIT_OK, 0);
			expect(ev, NROWS, NULL, &head, AUDIT_HEAD_MISMATCH, NROWS - 1);
		}
	}
}

/* A deleted row leaves a seq gap where it was; a deleted last row is
 * found only against the head. */
static void
test_deleted_row(void **state)
{
	struct audit_event ev[NROWS], cut[NROWS];
	struct audit_result res;
	char msg[128];

	(void)state;
	make_chain(ev);
	for (int k = 0; k < NROWS; k++) {
		struct audit_anchor head = head_of(ev, NROWS);
		size_t n = 0;

		for (int i = 0; i < NROWS; i++)
			if (i != k)
				cut[n++] = ev[i];
		if (k < NROWS - 1) {
			expect(cut, n, NULL, NULL, AUDIT_SEQ_GAP, (size_t)k);
		} else {
			expect(cut, n, NULL, NULL, AUDIT_OK, 0);
			expect(cut, n, NULL, &head, AUDIT_HEAD_MISMATCH, n);
		}
	}
	/* the reasons, in words */
	memcpy(cut, ev, sizeof ev);
	memmove(&cut[2], &cut[3], 3 * sizeof cut[0]);
	audit_verify(TICKET, cut, NROWS - 1, NULL, NULL, &res);
	assert_int_equal(res.want_seq, 3);
	assert_int_equal(res.got_seq, 4);
	audit_result_message(&res, msg, sizeof msg);
	assert_string_equal(msg, "row 2: seq gap: expected seq 3, found seq 4");
	{
		struct audit_anchor head = head_of(ev, NROWS);
		audit_verify(TICKET, ev, NROWS - 2, NULL, &head, &res);
		audit_result_message(&res, msg, sizeof msg);
		assert_string_equal(msg, "row 4: head mismatch: expected seq 5, found the end");
	}
}

/* Rows deleted and the rest renumbered and re-sealed from there on: a
 * consistent but shorter chain, which only the head reveals. */
static void
test_rewritten_tail(void **state)
{
	struct audit_event ev[NROWS];
	struct audit_anchor head;

	(void)state;
	make_chain(ev);
	head = head_of(ev, NROWS);
	memmove(&ev[2], &ev[3], 3 * sizeof ev[0]);
	for (int i = 2; i < NROWS - 1; i++) {
		ev[i].seq = (uint32_t)i + 1;
		assert_int_equal(audit_seal(&ev[i], ev[i - 1].hash), 0);
	}
	expect(ev, NROWS - 1, NULL, NULL, AUDIT_OK, 0);
	expect(ev, NROWS - 1, NULL, &head, AUDIT_HEAD_MISMATCH, NROWS - 1);
}

/* Swapped or reordered rows are found at the first row out of place. */
static void
test_reordered(void **state)
{
	struct audit_event ev[NROWS], tmp;

	(void)state;
	for (int i = 0; i < NROWS; i++) {
		for (int j = i + 1; j < NROWS; j++) {
			make_chain(ev);
			tmp = ev[i];
			ev[i] = ev[j];
			ev[j] = tmp;
			expect(ev, NROWS, NULL, NULL, AUDIT_SEQ_GAP, (size_t)i);
		}
	}
	make_chain(ev); /* reversed */
	for (int i = 0; i < NROWS / 2; i++) {
		tmp = ev[i];
		ev[i] = ev[NROWS - 1 - i];
		ev[NROWS - 1 - i] = tmp;
	}
	expect(ev, NROWS, NULL, NULL, AUDIT_SEQ_GAP, 0);
	make_chain(ev); /* rotated by one: the last row moved to the front */
	tmp = ev[NROWS - 1];
	memmove(&ev[1], &ev[0], (NROWS - 1) * sizeof ev[0]);
	ev[0] = tmp;
	expect(ev, NROWS, NULL, NULL, AUDIT_SEQ_GAP, 0);
}

/* A row repeated, or one from another ticket's chain, is found there. */
static void
test_inserted_rows(void **state)
{
	struct audit_event ev[NROWS], dup[NROWS + 1], other[NROWS];
	struct audit_result res;
	char msg[128];

	(void)state;
	make_chain(ev);
	memcpy(dup, ev, 3 * sizeof ev[0]);
	dup[3] = ev[2];
	memcpy(&dup[4], &ev[3], 3 * sizeof ev[0]);
	expect(dup, NROWS + 1, NULL, NULL, AUDIT_SEQ_GAP, 3);

	make_chain(other);
	for (int i = 0; i < NROWS; i++) {
		other[i].ticket_id = TICKET + 1;
		assert_int_equal(audit_seal(&other[i], i == 0 ? NULL : other[i - 1].hash), 0);
	}
	ev[4] = other[4];
	audit_verify(TICKET, ev, NROWS, NULL, NULL, &res);
	assert_int_equal(res.fault, AUDIT_WRONG_TICKET);
	assert_int_equal(res.index, 4);
	audit_result_message(&res, msg, sizeof msg);
	assert_string_equal(msg, "row 4 (seq 5): wrong ticket");
	/* the other chain is intact for its own ticket */
	audit_verify(TICKET + 1, other, NROWS, NULL, NULL, &res);
	assert_int_equal(res.fault, AUDIT_OK);
}

/* Anchors: verification can start after a verified row; a wrong anchor is
 * found at the first row; the head can also be behind the rows. */
static void
test_anchors(void **state)
{
	struct audit_event ev[NROWS];
	struct audit_anchor mid, head, zero;
	struct audit_result res;
	char msg[128];

	(void)state;
	make_chain(ev);
	mid = head_of(ev, 3);
	head = head_of(ev, NROWS);
	memset(&zero, 0, sizeof zero);
	expect(ev, NROWS, &zero, &head, AUDIT_OK, 0);
	mid.hash[0] ^= 1;
	expect(ev + 3, NROWS - 3, &mid, &head, AUDIT_PREV_MISMATCH, 0);
	mid = head_of(ev, 2);
	expect(ev + 3, NROWS - 3, &mid, &head, AUDIT_SEQ_GAP, 0);
	/* rows past the head (written outside the ticket's transaction) */
	head = head_of(ev, NROWS - 2);
	audit_verify(TICKET, ev, NROWS, NULL, &head, &res);
	assert_int_equal(res.fault, AUDIT_HEAD_MISMATCH);
	assert_int_equal(res.index, NROWS - 2);
	audit_result_message(&res, msg, sizeof msg);
	assert_string_equal(msg, "row 4: head mismatch: expected the end, found seq 5");
	/* a head with the right seq but another hash */
	head = head_of(ev, NROWS);
	head.hash[5] ^= 0x10;
	audit_verify(TICKET, ev, NROWS, NULL, &head, &res);
	assert_int_equal(res.fault, AUDIT_HEAD_MISMATCH);
	assert_int_equal(res.index, NROWS - 1);
	audit_result_message(&res, msg, sizeof msg);
	assert_string_equal(msg, "row 5 (seq 6): head mismatch");
	/* no rows at all, but the ticket says there were three */
	head = head_of(ev, 3);
	expect(ev, 0, NULL, &head, AUDIT_HEAD_MISMATCH, 0);
	expect(ev, 0, NULL, &zero, AUDIT_OK, 0);
	/* the first event must be seq 1 */
	make_chain(ev);
	ev[0].seq = 0;
	audit_verify(TICKET, ev, NROWS, NULL, NULL, &res);
	audit_result_message(&res, msg, sizeof msg);
	assert_string_equal(msg, "row 0: seq gap: expected seq 1, found seq 0");
}

/* Field boundaries are part of the encoding: text moved from one field to
 * the next, NULL versus empty, and an agent id versus none all differ. */
static void
test_encoding_is_unambiguous(void **state)
{
	struct audit_event a = row(1, 0, "ab", "c", NULL, NULL, NULL);
	struct audit_event b = row(1, 0, "a", "bc", NULL, NULL, NULL);
	struct audit_event c = row(1, 0, "ab", "c", "", NULL, NULL);
	struct audit_event d = row(1, 0, "ab", "c", NULL, "", NULL);
	struct audit_event e = row(1, 1, "ab", "c", NULL, NULL, NULL);
	struct audit_event *all[] = {&a, &b, &c, &d, &e};
	unsigned char ea[128], eb[128];

	(void)state;
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(audit_seal(all[i], NULL), 0);
	for (size_t i = 0; i < 5; i++) {
		for (size_t j = i + 1; j < 5; j++) {
			size_t na = audit_encode(all[i], ea, sizeof ea);
			size_t nb = audit_encode(all[j], eb, sizeof eb);
			assert_true(na > 0 && na <= sizeof ea && nb > 0 && nb <= sizeof eb);
			if (na == nb && memcmp(ea, eb, na) == 0)
				fail_msg("rows %zu and %zu encode alike", i, j);
			if (memcmp(all[i]->hash, all[j]->hash, AUDIT_HASH_LEN) == 0)
				fail_msg("rows %zu and %zu hash alike", i, j);
		}
	}
	/* text with a NUL inside is kept whole, not cut at the NUL */
	c.detail.ptr = "x\0y";
	c.detail.len = 3;
	d = c;
	d.detail.ptr = "x\0z";
	assert_int_equal(audit_hash(&c, ea), 0);
	assert_int_equal(audit_hash(&d, eb), 0);
	assert_memory_not_equal(ea, eb, AUDIT_HASH_LEN);
}

/* audit_encode reports the length and writes only when it fits. */
static void
test_encode_sizes(void **state)
{
	struct audit_event e = row(1, 0, "system", "x", NULL, NULL, NULL);
	unsigned char buf[64];
	size_t n;

	(void)state;
	n = audit_encode(&e, NULL, 0);
	/* tag 18, ids 12, agent 1, actor 1+4+6, op 1+4+1, three NULLs 3, time 8 */
	assert_int_equal(n, 18 + 12 + 1 + 11 + 6 + 3 + 8);
	memset(buf, 0xAA, sizeof buf);
	assert_int_equal(audit_encode(&e, buf, n - 1), n);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], 0xAA);
	assert_int_equal(audit_encode(&e, buf, n), n);
	assert_memory_equal(buf, AUDIT_TAG, strlen(AUDIT_TAG));
	assert_int_equal(buf[n], 0xAA);
}

/* A field too long for its 4-byte length is an error, never a wrap. */
static void
test_field_too_long(void **state)
{
	struct audit_event ev[2];
	unsigned char h[AUDIT_HASH_LEN];
	struct audit_result res;

	(void)state;
	if (sizeof(size_t) <= 4)
		skip();
	ev[0] = row(1, 0, "system", "x", NULL, NULL, NULL);
	ev[1] = row(2, 0, "system", "y", NULL, NULL, NULL);
	assert_int_equal(audit_seal(&ev[0], NULL), 0);
	assert_int_equal(audit_seal(&ev[1], ev[0].hash), 0);
	ev[1].detail.ptr = "tiny"; /* never read: the length is refused first */
	ev[1].detail.len = (size_t)UINT32_MAX + 1;
	assert_int_equal(audit_encode(&ev[1], NULL, 0), 0);
	assert_int_equal(audit_hash(&ev[1], h), -1);
	assert_int_equal(audit_verify(TICKET, ev, 2, NULL, NULL, &res), AUDIT_ERROR);
	assert_int_equal(res.index, 1);
}

/* Every fault has a name. */
static void
test_fault_names(void **state)
{
	(void)state;
	assert_string_equal(audit_fault_name(AUDIT_SEQ_GAP), "seq gap");
	assert_string_equal(audit_fault_name(AUDIT_PREV_MISMATCH), "prev_hash mismatch");
	assert_string_equal(audit_fault_name(AUDIT_HASH_MISMATCH), "hash mismatch");
	assert_string_equal(audit_fault_name((enum audit_fault)99), "unknown");
	for (int f = AUDIT_OK; f <= AUDIT_ERROR; f++)
		assert_string_not_equal(audit_fault_name(f), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answer),
	    cmocka_unit_test(test_chain_verifies),
	    cmocka_unit_test(test_any_field_changed),
	    cmocka_unit_test(test_resealed_row),
	    cmocka_unit_test(test_deleted_row),
	    cmocka_unit_test(test_rewritten_tail),
	    cmocka_unit_test(test_reordered),
	    cmocka_unit_test(test_inserted_rows),
	    cmocka_unit_test(test_anchors),
	    cmocka_unit_test(test_encoding_is_unambiguous),
	    cmocka_unit_test(test_encode_sizes),
	    cmocka_unit_test(test_field_too_long),
	    cmocka_unit_test(test_fault_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
