/* store-link.c: ticket links and merges, customer merges.
 *
 * Lock order. A write that touches two tickets first learns both ids
 * without a lock (a ref is looked up), then locks the two rows with
 * ticket_lock in ascending id order: two writers on the same pair, in
 * whichever order they name it, queue on the same first row instead of
 * deadlocking. Every check is made on the locked rows. Customer merges
 * lock both customer rows in one SELECT ... ORDER BY id FOR UPDATE.
 *
 * Merge rules (docs/PROTOCOL.md, "Links and merges"). Ticket merges are
 * one level deep: a survivor is never itself merged, and a ticket that has
 * others merged into it cannot be merged away, so following a merge is
 * always one hop. The duplicate's state before the merge, with its owner
 * and queue, is kept in the detail of its "merge" event, the record that
 * ticket.unmerge restores from; the owner and queue stay on the closed row
 * as they were, so nothing else needs undoing. A duplicate with open work
 * of one agent (offered, in_progress, pending_customer) is merged only by
 * that agent or by a supervisor, admin or service, as only they may close
 * it; ticket.unmerge, which gives that work back, follows the same rule on
 * the state the merge recorded. Customer merges are one level deep too: a
 * survivor is never itself merged and a customer with others merged into
 * it cannot be merged away, so no chain or cycle can form and following a
 * merge is one hop; the number of customers under one survivor stays
 * within what the 360 view reads (store-customer.h).
 *
 * Every reply's "ticket" is the whole ticket object (store_ticket_get), the
 * one the router reads after each write; the second ticket is brief. */
#include "store-link.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "store-customer.h"
#include "store.h"

#define LINK_COL_BYTES 1024 /* widest text: a subject of 255 characters */
#define ER_DUP_ENTRY   1062

/* A member as a new reference; null when absent. */
static json_t *
jval(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return v ? json_incref(v) : json_null();
}

/* A string member, or "" for null. */
static const char *
jstr0(const json_t *row, const char *key)
{
	const char *s = row_str(row, key);
	return s ? s : "";
}

/* The id of the ticket of k, without a lock: 1 and *id, 0 none, -1. */
static int
ticket_id_of(MYSQL *m, const struct ticket_key *k, uint64_t *id, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	unsigned long len;
	json_t *row;
	int rc;

	if (k->id != 0) {
		*id = k->id;
		return 1;
	}
	bind_str(&p[0], k->ref, &len);
	if ((rc = ticket_query_one(m, "SELECT id FROM tickets WHERE ref = ?", p, &row, err,
	                           errlen)) == 1) {
		*id = row_uint(row, "id");
		json_decref(row);
	}
	return rc;
}

/* Two locked tickets: [0] the one named first (ticket), [1] the other. */
struct pair {
	json_t *row[2];
	struct ticket_chain ch[2];
	uint64_t id[2];
};

static void
pair_free(struct pair *p)
{
	json_decref(p->row[0]);
	json_decref(p->row[1]);
}

/* Lock the tickets of k0 and k1 in id order, for actor a: 0, 1 refused
 * (unknown or out of reach: not_found; the same ticket twice: same_msg as
 * bad_request), -1. */
static int
pair_lock(MYSQL *m, const struct ticket_actor *a, const struct ticket_key *k0,
          const struct ticket_key *k1, const char *same_msg, struct pair *p,
          struct ticket_result *res, char *err, size_t errlen)
{
	const struct ticket_key *keys[2] = {k0, k1};
	int rc;

	memset(p, 0, sizeof *p);
	for (int i = 0; i < 2; i++)
		if ((rc = ticket_id_of(m, keys[i], &p->id[i], err, errlen)) <= 0)
			return rc < 0 ? -1 : ticket_refuse_unknown(res, keys[i]);
	if (p->id[0] == p->id[1])
		return ticket_refuse(res, CC_ERR_BAD_REQUEST, "%s", same_msg);
	for (int n = 0; n < 2; n++) {
		int i = (p->id[0] < p->id[1]) == (n == 0) ? 0 : 1;
		struct ticket_key k = {.id = p->id[i]};

		if ((rc = ticket_lock(m, a, &k, &p->row[i], err, errlen)) <= 0)
			return rc < 0 ? -1 : ticket_refuse_unknown(res, keys[i]);
		if (ticket_row_chain(p->row[i], &p->ch[i], err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* {id, ref, version} of a locked row whose version the write left alone. */
static json_t *
ticket_brief(const json_t *row)
{
	return json_pack("{s:I,s:s,s:I}", "id", (json_int_t)row_uint(row, "id"), "ref",
	                 jstr0(row, "ref"), "version", (json_int_t)row_uint(row, "version"));
}

/* The merged_into link of ticket id (into set): 1 and the survivor's id
 * and ref, 0 none, -1; into 0: a ticket merged into id instead (the
 * lowest id). With lock, the link row is read with a shared lock, which
 * sees a merge committed while this transaction waited for its ticket
 * locks (a plain read would see the snapshot taken before). */
static int
merge_link(MYSQL *m, uint64_t id, int into, int lock, uint64_t *other, char ref[TICKET_REF_MAX + 1],
           char *err, size_t errlen)
{
	static const char *const sql[2][2] = {
	    {"SELECT from_ticket_id AS id FROM ticket_links WHERE to_ticket_id = ? AND kind = "
	     "'merged_into' ORDER BY from_ticket_id LIMIT 1",
	     "SELECT from_ticket_id AS id FROM ticket_links WHERE to_ticket_id = ? AND kind = "
	     "'merged_into' ORDER BY from_ticket_id LIMIT 1 LOCK IN SHARE MODE"},
	    {"SELECT to_ticket_id AS id FROM ticket_links WHERE from_ticket_id = ? AND kind = "
	     "'merged_into'",
	     "SELECT to_ticket_id AS id FROM ticket_links WHERE from_ticket_id = ? AND kind = "
	     "'merged_into' LOCK IN SHARE MODE"},
	};
	MYSQL_BIND p[1];
	json_t *row;
	int rc;

	bind_u64(&p[0], &id);
	if ((rc = ticket_query_one(m, sql[!!into][!!lock], p, &row, err, errlen)) != 1)
		return rc;
	*other = row_uint(row, "id");
	json_decref(row);
	bind_u64(&p[0], other);
	if (ticket_query_one(m, "SELECT ref FROM tickets WHERE id = ?", p, &row, err, errlen) != 1)
		return -1;
	snprintf(ref, TICKET_REF_MAX + 1, "%s", jstr0(row, "ref"));
	json_decref(row);
	return 1;
}

/* Append op to both chains: old0, new0 and detail0 on p's first ticket,
 * detail1 on the other, which has the same values when both is set (a
 * link) and none otherwise (the survivor of a merge keeps its state).
 * Takes the details. 0 or -1. */
static int
pair_events(MYSQL *m, const struct ticket_actor *a, struct pair *p, const char *op, int both,
            const char *old0, const char *new0, json_t *detail0, json_t *detail1, int64_t now_ms,
            char *err, size_t errlen)
{
	int rc = ticket_event_append(m, p->id[0], &p->ch[0], a, op, old0, new0, detail0, now_ms,
	                             err, errlen);

	if (rc == 0)
		rc = ticket_event_append(m, p->id[1], &p->ch[1], a, op, both ? old0 : NULL,
		                         both ? new0 : NULL, detail1, now_ms, err, errlen);
	json_decref(detail0);
	json_decref(detail1);
	return rc;
}

/* ---- ticket.link, ticket.unlink ---- */

struct pair_arg {
	const struct ticket_actor *a;
	const struct link_pair *l;
	int64_t now_ms;
};

/* The reply of link and unlink: the first ticket (whole), the other
 * (brief) and the first one's links. */
static int
pair_reply(MYSQL *m, const struct pair *p, struct ticket_result *res, char *err, size_t errlen)
{
	json_t *links, *ticket;

	if (store_ticket_get(m, p->id[0], &ticket, err, errlen) != 1)
		return -1;
	if (store_link_list(m, p->id[0], &links, err, errlen) != 0) {
		json_decref(ticket);
		return -1;
	}
	res->reply = json_pack("{s:o,s:o,s:o}", "ticket", ticket, "other", ticket_brief(p->row[1]),
	                       "links", links);
	return 0;
}

/* The events of a related link made or removed, one on each ticket naming
 * the other, and the reply: 0 or -1. */
static int
related_events(MYSQL *m, const struct pair_arg *x, struct pair *p, const char *op,
               const char *old_value, const char *new_value, struct ticket_result *res, char *err,
               size_t errlen)
{
	if (pair_events(
	        m, x->a, p, op, 1, old_value, new_value,
	        json_pack("{s:s,s:s}", "kind", "related", "ticket", jstr0(p->row[1], "ref")),
	        json_pack("{s:s,s:s}", "kind", "related", "ticket", jstr0(p->row[0], "ref")),
	        x->now_ms, err, errlen) != 0)
		return -1;
	return pair_reply(m, p, res, err, errlen);
}

static int
link_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct pair_arg *x = arg;
	struct pair p;
	MYSQL_BIND b[3];
	uint64_t lo, hi;
	unsigned int by = x->a->agent_id;
	my_bool by_null = by == 0;
	int rc;

	if ((rc = pair_lock(m, x->a, &x->l->ticket, &x->l->other,
	                    "a ticket cannot be linked to itself", &p, res, err, errlen)) != 0)
		goto out;
	lo = p.id[0] < p.id[1] ? p.id[0] : p.id[1];
	hi = p.id[0] < p.id[1] ? p.id[1] : p.id[0];
	bind_u64(&b[0], &lo);
	bind_u64(&b[1], &hi);
	bind_uint(&b[2], &by);
	b[2].is_null = &by_null;
	/* the primary key says whether the pair is linked already: a locking
	 * read of a link that is not there would lock the gap where it goes,
	 * and two links of other pairs in that gap would deadlock at INSERT */
	if ((rc = store_exec(m,
	                     "INSERT INTO ticket_links (from_ticket_id, kind, to_ticket_id, "
	                     "created_by) VALUES (?, 'related', ?, ?)",
	                     b, err, errlen, NULL)) != 0) {
		if (store_errno() == ER_DUP_ENTRY)
			rc = ticket_refuse(res, CC_ERR_CONFLICT,
			                   "tickets %s and %s are already linked",
			                   jstr0(p.row[0], "ref"), jstr0(p.row[1], "ref"));
		goto out;
	}
	rc = related_events(m, x, &p, "link", NULL, "related", res, err, errlen);
out:
	pair_free(&p);
	return rc;
}

int
store_link_add(MYSQL *m, const struct ticket_actor *a, const struct link_pair *l, int64_t now_ms,
               struct ticket_result *res, char *err, size_t errlen)
{
	struct pair_arg x = {a, l, now_ms};

	return ticket_tx_run(m, link_tx, &x, res, err, errlen);
}

static int
unlink_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct pair_arg *x = arg;
	struct pair p;
	MYSQL_BIND b[2];
	uint64_t lo, hi;
	unsigned long long n = 0;
	int rc;

	if ((rc = pair_lock(m, x->a, &x->l->ticket, &x->l->other,
	                    "a ticket cannot be unlinked from itself", &p, res, err, errlen)) != 0)
		goto out;
	lo = p.id[0] < p.id[1] ? p.id[0] : p.id[1];
	hi = p.id[0] < p.id[1] ? p.id[1] : p.id[0];
	bind_u64(&b[0], &lo);
	bind_u64(&b[1], &hi);
	if ((rc = store_exec(m,
	                     "DELETE FROM ticket_links WHERE from_ticket_id = ? AND kind = "
	                     "'related' AND to_ticket_id = ?",
	                     b, err, errlen, &n)) != 0)
		goto out;
	if (n != 1) {
		rc = ticket_refuse(res, CC_ERR_NOT_FOUND, "tickets %s and %s are not linked",
		                   jstr0(p.row[0], "ref"), jstr0(p.row[1], "ref"));
		goto out;
	}
	rc = related_events(m, x, &p, "unlink", "related", NULL, res, err, errlen);
out:
	pair_free(&p);
	return rc;
}

int
store_link_remove(MYSQL *m, const struct ticket_actor *a, const struct link_pair *l, int64_t now_ms,
                  struct ticket_result *res, char *err, size_t errlen)
{
	struct pair_arg x = {a, l, now_ms};

	return ticket_tx_run(m, unlink_tx, &x, res, err, errlen);
}

/* ---- ticket.merge, ticket.unmerge ---- */

/* The customer a customer id stands for: merged_into followed to the end
 * (bounded). 0 and *root, -1. */
static int
customer_root(MYSQL *m, uint64_t id, uint64_t *root, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	json_t *row;
	int rc;

	for (int hop = 0; hop <= CUSTOMER_MERGE_HOPS; hop++) {
		bind_u64(&p[0], &id);
		if ((rc = ticket_query_one(m, "SELECT merged_into FROM customers WHERE id = ?", p,
		                           &row, err, errlen)) < 0)
			return -1;
		if (rc == 0 || json_is_null(json_object_get(row, "merged_into"))) {
			json_decref(row);
			break;
		}
		id = row_uint(row, "merged_into");
		json_decref(row);
	}
	*root = id;
	return 0;
}

/* The owner's user name and the queue's code of a locked row, for the
 * event detail: 0 and *names {owner, queue}, -1. */
static int
row_names(MYSQL *m, const json_t *row, json_t **names, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	uint64_t id = row_uint(row, "id");

	bind_u64(&p[0], &id);
	return ticket_query_one(m,
	                        "SELECT a.username AS owner, q.code AS queue FROM tickets t "
	                        "LEFT JOIN agents a ON a.id = t.owner_agent_id LEFT JOIN queues q "
	                        "ON q.id = t.queue_id WHERE t.id = ?",
	                        p, names, err, errlen) == 1
	           ? 0
	           : -1;
}

/* The reply of a merge or unmerge: the duplicate as the whole ticket
 * object after the write, the survivor brief. 0 or -1. */
static int
merge_reply(MYSQL *m, const struct pair *p, struct ticket_result *res, char *err, size_t errlen)
{
	json_t *ticket;

	if (store_ticket_get(m, p->id[0], &ticket, err, errlen) != 1)
		return -1;
	res->reply = json_pack("{s:o,s:o}", "ticket", ticket, "into", ticket_brief(p->row[1]));
	return 0;
}

/* Whether actor a may merge away (or unmerge) a ticket whose state is
 * state and owner owner: open work of one agent (offered, in_progress,
 * pending_customer) is closed or given back only by that agent or by a
 * supervisor, admin or service, as ticket.transition close allows. */
static int
merge_allowed(const struct ticket_actor *a, int state, uint64_t owner)
{
	if (state != TS_OFFERED && state != TS_IN_PROGRESS && state != TS_PENDING_CUSTOMER)
		return 1;
	return (a->role & (ROLE_SUPERVISOR | ROLE_ADMIN | ROLE_SERVICE)) != 0 ||
	       (owner != 0 && owner == a->agent_id);
}

struct merge_arg {
	const struct ticket_actor *a;
	const struct link_merge *l;
	int64_t now_ms;
};

/* The refusals of a merge, checked on the locked rows: 0 or 1. */
static int
merge_check(MYSQL *m, const struct merge_arg *x, const struct pair *p, struct ticket_result *res,
            char *err, size_t errlen)
{
	const char *dref = jstr0(p->row[0], "ref"), *sref = jstr0(p->row[1], "ref");
	char other[TICKET_REF_MAX + 1];
	uint64_t oid, c0, c1;
	int rc;

	if (row_uint(p->row[0], "version") != x->l->version)
		return ticket_refuse(res, CC_ERR_CONFLICT,
		                     "ticket changed since version %u (now %u)", x->l->version,
		                     (unsigned int)row_uint(p->row[0], "version"));
	if (!merge_allowed(x->a, ticket_state_parse(jstr0(p->row[0], "state")),
	                   row_uint(p->row[0], "owner_agent_id")))
		return ticket_refuse(res, CC_ERR_FORBIDDEN,
		                     "ticket %s is %s with another agent; only its owner or a "
		                     "supervisor, admin or service can merge it",
		                     dref, jstr0(p->row[0], "state"));
	if ((rc = merge_link(m, p->id[0], 1, 1, &oid, other, err, errlen)) != 0)
		return rc < 0 ? -1
		              : ticket_refuse(res, CC_ERR_CONFLICT,
		                              "ticket %s is already merged into %s", dref, other);
	if ((rc = merge_link(m, p->id[1], 1, 1, &oid, other, err, errlen)) != 0)
		return rc < 0 ? -1
		              : ticket_refuse(
		                    res, CC_ERR_CONFLICT,
		                    "ticket %s is itself merged into %s; merge into %s instead",
		                    sref, other, other);
	if ((rc = merge_link(m, p->id[0], 0, 1, &oid, other, err, errlen)) != 0)
		return rc < 0 ? -1
		              : ticket_refuse(
		                    res, CC_ERR_CONFLICT,
		                    "ticket %s has tickets merged into it (%s); unmerge them "
		                    "first",
		                    dref, other);
	if (ticket_state_parse(jstr0(p->row[1], "state")) == TS_CLOSED)
		return ticket_refuse(
		    res, CC_ERR_CONFLICT,
		    "ticket %s is closed; merge into an open ticket (or reopen it first)", sref);
	if (json_is_integer(json_object_get(p->row[0], "customer_id")) &&
	    json_is_integer(json_object_get(p->row[1], "customer_id"))) {
		if (customer_root(m, row_uint(p->row[0], "customer_id"), &c0, err, errlen) != 0 ||
		    customer_root(m, row_uint(p->row[1], "customer_id"), &c1, err, errlen) != 0)
			return -1;
		if (c0 != c1 && !x->l->force)
			return ticket_refuse(
			    res, CC_ERR_CONFLICT,
			    "tickets %s and %s belong to different customers (%" PRIu64
			    " and %" PRIu64 "); a supervisor may merge them with "
			    "force=true",
			    dref, sref, c0, c1);
		if (c0 != c1 && !(x->a->role & (ROLE_SUPERVISOR | ROLE_ADMIN)))
			return ticket_refuse(
			    res, CC_ERR_FORBIDDEN,
			    "only supervisor, admin can merge tickets of different "
			    "customers");
	}
	return 0;
}

static int
merge_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct merge_arg *x = arg;
	struct pair p;
	MYSQL_BIND b[4];
	unsigned long len;
	char when[48];
	uint64_t dup, surv;
	unsigned int by = x->a->agent_id, version = x->l->version;
	my_bool by_null = by == 0;
	unsigned long long n = 0;
	json_t *names = NULL, *d0;
	const char *old;
	int rc, old_state;

	if ((rc = pair_lock(m, x->a, &x->l->ticket, &x->l->into,
	                    "a ticket cannot be merged into itself", &p, res, err, errlen)) != 0 ||
	    (rc = merge_check(m, x, &p, res, err, errlen)) != 0 ||
	    (rc = row_names(m, p.row[0], &names, err, errlen)) != 0)
		goto out;
	dup = p.id[0];
	surv = p.id[1];
	old = jstr0(p.row[0], "state");
	old_state = ticket_state_parse(old);
	ticket_format_time(x->now_ms, when);
	bind_str(&b[0], when, &len);
	bind_u64(&b[1], &dup);
	bind_uint(&b[2], &version);
	if ((rc = store_exec(m,
	                     "UPDATE tickets SET closed_at = IF(state = 'closed', closed_at, ?), "
	                     "state = 'closed', version = version + 1 WHERE id = ? AND version = ?",
	                     b, err, errlen, &n)) != 0)
		goto out;
	if (n != 1) {
		rc =
		    ticket_refuse(res, CC_ERR_CONFLICT, "ticket changed since version %u", version);
		goto out;
	}
	bind_u64(&b[0], &dup);
	bind_u64(&b[1], &surv);
	bind_uint(&b[2], &by);
	b[2].is_null = &by_null;
	if ((rc = store_exec(m,
	                     "INSERT INTO ticket_links (from_ticket_id, kind, to_ticket_id, "
	                     "created_by) VALUES (?, 'merged_into', ?, ?)",
	                     b, err, errlen, NULL)) != 0)
		goto out;
	/* what ticket.unmerge restores */
	d0 = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "into", jstr0(p.row[1], "ref"), "state", old,
	               "owner", jval(names, "owner"), "owner_id", jval(p.row[0], "owner_agent_id"),
	               "queue", jval(names, "queue"), "queue_id", jval(p.row[0], "queue_id"));
	if ((rc = pair_events(m, x->a, &p, "merge", 0, old, "closed", d0,
	                      json_pack("{s:s}", "merged", jstr0(p.row[0], "ref")), x->now_ms, err,
	                      errlen)) != 0)
		goto out;
	/* the SLA module stops the clocks of a ticket that is closed */
	if (old_state != TS_CLOSED &&
	    (rc = ticket_sla_hook(m, dup, SLA_HOOK_STATE, 0, old_state, TS_CLOSED, x->now_ms, res,
	                          err, errlen)) != 0)
		goto out;
	rc = merge_reply(m, &p, res, err, errlen);
out:
	json_decref(names);
	pair_free(&p);
	return rc;
}

int
store_link_merge(MYSQL *m, const struct ticket_actor *a, const struct link_merge *l, int64_t now_ms,
                 struct ticket_result *res, char *err, size_t errlen)
{
	struct merge_arg x = {a, l, now_ms};

	return ticket_tx_run(m, merge_tx, &x, res, err, errlen);
}

struct unmerge_arg {
	const struct ticket_actor *a;
	const struct link_unmerge *l;
	int64_t now_ms;
};

/* What an unmerge writes: the state, owner and queue to restore. */
struct restore {
	int state;
	unsigned int owner, queue;
	int requeue; /* enqueued_at = now: the ticket joins the end of the line */
};

/* The detail of the duplicate's last "merge" event (a locking read: the
 * latest, not this transaction's snapshot): 1 and *detail, 0, -1. */
static int
merge_detail(MYSQL *m, uint64_t id, json_t **detail, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	json_t *row;
	const char *text;
	int rc;

	*detail = NULL;
	bind_u64(&p[0], &id);
	if ((rc = ticket_query_one(m,
	                           "SELECT detail FROM ticket_events WHERE ticket_id = ? AND op = "
	                           "'merge' ORDER BY seq DESC LIMIT 1 LOCK IN SHARE MODE",
	                           p, &row, err, errlen)) != 1)
		return rc;
	text = row_str(row, "detail");
	*detail = text ? json_loads(text, 0, NULL) : NULL;
	json_decref(row);
	return json_is_object(*detail) ? 1 : 0;
}

/* Whether agent id is active: 1, 0, -1. */
static int
agent_active(MYSQL *m, unsigned int id, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	json_t *row;
	int rc;

	bind_uint(&p[0], &id);
	rc = ticket_query_one(m, "SELECT id FROM agents WHERE id = ? AND active = 1", p, &row, err,
	                      errlen);
	json_decref(row);
	return rc;
}

/* Work out what to restore from the merge event's detail, within the
 * tickets CHECKs: an offer is not restored (it was a live proposal to one
 * agent), so offered comes back as queued; a state with an owner whose
 * owner is no longer active comes back as queued; queued without a queue
 * comes back as new. 0 or -1. */
static int
restore_plan(MYSQL *m, const json_t *detail, struct restore *r, char *err, size_t errlen)
{
	int st = detail ? ticket_state_parse(jstr0(detail, "state")) : -1;
	int rc = 1;

	memset(r, 0, sizeof *r);
	r->state = st < 0 ? TS_QUEUED : st;
	r->owner = (unsigned int)row_uint(detail, "owner_id");
	r->queue = (unsigned int)row_uint(detail, "queue_id");
	if (r->state == TS_CLOSED)
		return 0;
	if (r->state == TS_OFFERED) {
		r->state = TS_QUEUED;
		r->owner = 0;
	}
	if (ticket_state_owner((enum ticket_state)r->state) == TICKET_OWNER_REQUIRED) {
		if (r->owner != 0 && (rc = agent_active(m, r->owner, err, errlen)) < 0)
			return -1;
		if (r->owner == 0 || rc == 0) {
			r->state = TS_QUEUED;
			r->requeue = 1;
		}
	}
	if (ticket_state_owner((enum ticket_state)r->state) == TICKET_OWNER_NONE)
		r->owner = 0;
	if (ticket_state_needs_queue((enum ticket_state)r->state) && r->queue == 0) {
		r->state = TS_NEW;
		r->owner = 0;
	}
	return 0;
}

/* The UPDATE that restores the duplicate: 0 or -1. */
static int
restore_update(MYSQL *m, uint64_t id, const struct restore *r, int64_t now_ms, char *err,
               size_t errlen)
{
	MYSQL_BIND b[12];
	unsigned long len[12];
	my_bool nul[12];
	char when[48];
	const char *st = ticket_state_name((enum ticket_state)r->state);
	unsigned int owner = r->owner, queue = r->queue;
	int waiting = r->state == TS_QUEUED || r->state == TS_OFFERED, requeue = r->requeue,
	    closed = r->state == TS_CLOSED, resolved = r->state == TS_RESOLVED;

	ticket_format_time(now_ms, when);
	bind_str(&b[0], st, &len[0]);
	bind_uint(&b[1], &owner);
	nul[1] = owner == 0;
	b[1].is_null = &nul[1];
	bind_uint(&b[2], &queue);
	nul[2] = queue == 0;
	b[2].is_null = &nul[2];
	bind_int(&b[3], &waiting);
	bind_int(&b[4], &requeue);
	bind_str(&b[5], when, &len[5]);
	bind_str(&b[6], when, &len[6]);
	bind_int(&b[7], &closed);
	bind_int(&b[8], &resolved);
	bind_str(&b[9], when, &len[9]);
	bind_int(&b[10], &closed);
	bind_u64(&b[11], &id);
	return store_exec(
	    m,
	    "UPDATE tickets SET state = ?, owner_agent_id = ?, queue_id = ?, "
	    "enqueued_at = IF(? = 1, IF(? = 1, ?, COALESCE(enqueued_at, ?)), enqueued_at), "
	    "closed_at = IF(? = 1, closed_at, NULL), "
	    "resolved_at = IF(? = 1, COALESCE(resolved_at, ?), IF(? = 1, resolved_at, NULL)), "
	    "version = version + 1 WHERE id = ?",
	    b, err, errlen, NULL);
}

static int
unmerge_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct unmerge_arg *x = arg;
	struct pair p;
	struct ticket_key into = {0}, self = {0};
	struct restore r;
	char sref[TICKET_REF_MAX + 1];
	MYSQL_BIND b[2];
	uint64_t dup = 0;
	unsigned long long n = 0;
	json_t *detail = NULL, *names = NULL, *d0;
	int rc;

	memset(&p, 0, sizeof p);
	if ((rc = ticket_id_of(m, &x->l->ticket, &dup, err, errlen)) <= 0)
		return rc < 0 ? -1 : ticket_refuse_unknown(res, &x->l->ticket);
	/* the survivor, read without a lock to learn the lock order; the
	 * DELETE below checks the link again under both locks */
	if ((rc = merge_link(m, dup, 1, 0, &into.id, sref, err, errlen)) < 0)
		return -1;
	if (rc == 0) {
		struct ticket_key k = {.id = dup};
		json_t *row;
		if ((rc = ticket_lock(m, x->a, &k, &row, err, errlen)) <= 0)
			return rc < 0 ? -1 : ticket_refuse_unknown(res, &x->l->ticket);
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "ticket %s is not merged",
		                   jstr0(row, "ref"));
		json_decref(row);
		return rc;
	}
	self.id = dup;
	if ((rc = pair_lock(m, x->a, &self, &into, "a ticket cannot be merged into itself", &p, res,
	                    err, errlen)) != 0)
		goto out;
	if (x->l->has_version && row_uint(p.row[0], "version") != x->l->version) {
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "ticket changed since version %u (now %u)",
		                   x->l->version, (unsigned int)row_uint(p.row[0], "version"));
		goto out;
	}
	bind_u64(&b[0], &p.id[0]);
	bind_u64(&b[1], &p.id[1]);
	if ((rc = store_exec(m,
	                     "DELETE FROM ticket_links WHERE from_ticket_id = ? AND kind = "
	                     "'merged_into' AND to_ticket_id = ?",
	                     b, err, errlen, &n)) != 0)
		goto out;
	if (n != 1) {
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "ticket %s is not merged into %s",
		                   jstr0(p.row[0], "ref"), jstr0(p.row[1], "ref"));
		goto out;
	}
	/* refused after the DELETE, which the rollback undoes, so that a link
	 * gone meanwhile is answered as such */
	if ((rc = merge_detail(m, dup, &detail, err, errlen)) < 0)
		goto out;
	if (detail != NULL && !merge_allowed(x->a, ticket_state_parse(jstr0(detail, "state")),
	                                     row_uint(detail, "owner_id"))) {
		rc = ticket_refuse(res, CC_ERR_FORBIDDEN,
		                   "ticket %s was %s with another agent when it was merged; only "
		                   "that agent or a supervisor or admin can unmerge it",
		                   jstr0(p.row[0], "ref"), jstr0(detail, "state"));
		goto out;
	}
	if ((rc = restore_plan(m, detail, &r, err, errlen)) != 0 ||
	    (rc = restore_update(m, dup, &r, x->now_ms, err, errlen)) != 0 ||
	    (rc = row_names(m, p.row[0], &names, err, errlen)) != 0)
		goto out;
	d0 = json_pack("{s:s,s:s,s:o,s:o,s:b}", "into", jstr0(p.row[1], "ref"), "state",
	               ticket_state_name((enum ticket_state)r.state), "owner", jval(names, "owner"),
	               "queue", jval(names, "queue"), "restored",
	               detail != NULL && r.state == ticket_state_parse(jstr0(detail, "state")));
	if ((rc = pair_events(m, x->a, &p, "unmerge", 0, "closed",
	                      ticket_state_name((enum ticket_state)r.state), d0,
	                      json_pack("{s:s}", "merged", jstr0(p.row[0], "ref")), x->now_ms, err,
	                      errlen)) != 0)
		goto out;
	/* the SLA module restarts the clocks of a ticket that is open again */
	if (r.state != TS_CLOSED &&
	    (rc = ticket_sla_hook(m, dup, SLA_HOOK_STATE, 0, TS_CLOSED, r.state, x->now_ms, res,
	                          err, errlen)) != 0)
		goto out;
	rc = merge_reply(m, &p, res, err, errlen);
out:
	json_decref(detail);
	json_decref(names);
	pair_free(&p);
	return rc;
}

int
store_link_unmerge(MYSQL *m, const struct ticket_actor *a, const struct link_unmerge *l,
                   int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct unmerge_arg x = {a, l, now_ms};

	return ticket_tx_run(m, unmerge_tx, &x, res, err, errlen);
}

/* ---- customer.merge, customer.unmerge ---- */

struct cmerge_arg {
	const struct ticket_actor *a;
	uint64_t customer, into; /* into 0: unmerge */
	int64_t now_ms;
};

/* Lock customers c0 and c1 (c1 0: only c0), in id order: 0 and rows[0],
 * rows[1] {id, name, merged_into}, 1 refused (not_found), -1. */
static int
customers_lock(MYSQL *m, uint64_t c0, uint64_t c1, json_t *rows[2], struct ticket_result *res,
               char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	uint64_t ids[2] = {c0, c1};
	int rc;

	rows[0] = rows[1] = NULL;
	for (int n = 0; n < (c1 ? 2 : 1); n++) {
		int i = c1 == 0 || ids[0] < ids[1] ? n : 1 - n;

		bind_u64(&p[0], &ids[i]);
		if ((rc = ticket_query_one(
		         m,
		         "SELECT id, name, merged_into FROM customers WHERE id = ? "
		         "FOR UPDATE",
		         p, &rows[i], err, errlen)) <= 0)
			return rc < 0 ? -1
			              : ticket_refuse(res, CC_ERR_NOT_FOUND,
			                              "no customer with id %" PRIu64, ids[i]);
	}
	return 0;
}

/* The merge tree under customer id: how many customers are merged into it
 * (directly or in a chain) and the longest chain. 0 or -1. */
static int
customer_tree(MYSQL *m, uint64_t id, unsigned *count, unsigned *depth, char *err, size_t errlen)
{
	MYSQL_BIND p[1];
	json_t *row;

	bind_u64(&p[0], &id);
	if (ticket_query_one(m,
	                     "WITH RECURSIVE t (id, depth) AS (SELECT CAST(? AS UNSIGNED), 0 "
	                     "UNION ALL SELECT c.id, t.depth + 1 FROM customers c JOIN t ON "
	                     "c.merged_into = t.id WHERE t.depth < 64) "
	                     "SELECT COUNT(*) - 1 AS n, MAX(depth) AS depth FROM t",
	                     p, &row, err, errlen) != 1)
		return -1;
	*count = (unsigned)row_uint(row, "n");
	*depth = (unsigned)row_uint(row, "depth");
	json_decref(row);
	return 0;
}

/* Append a row to the customer's append-only event table. 0 or -1. */
static int
customer_event(MYSQL *m, const struct ticket_actor *a, uint64_t customer, const char *op,
               json_t *detail, int64_t now_ms, char *err, size_t errlen)
{
	MYSQL_BIND b[6];
	unsigned long len[6];
	my_bool agent_null = a->agent_id == 0;
	unsigned int agent = a->agent_id;
	char when[48], *text;
	int rc;

	if ((text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		abort();
	ticket_format_time(now_ms, when);
	bind_u64(&b[0], &customer);
	bind_uint(&b[1], &agent);
	b[1].is_null = &agent_null;
	bind_str(&b[2], a->agent_id ? a->user : "system", &len[2]);
	bind_str(&b[3], op, &len[3]);
	bind_str(&b[4], text, &len[4]);
	bind_str(&b[5], when, &len[5]);
	rc = store_exec(m,
	                "INSERT INTO customer_events (customer_id, actor_agent_id, actor, op, "
	                "detail, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	                b, err, errlen, NULL);
	free(text);
	json_decref(detail);
	return rc;
}

/* {id, name, merged_into, merged_at} of a customer after the write. */
static int
customer_after(MYSQL *m, uint64_t id, json_t **out, char *err, size_t errlen)
{
	MYSQL_BIND p[1];

	bind_u64(&p[0], &id);
	return ticket_query_one(m,
	                        "SELECT id, name, merged_into, TIMESTAMPDIFF(MICROSECOND, "
	                        "'1970-01-01', merged_at) DIV 1000 AS merged_at FROM customers "
	                        "WHERE id = ?",
	                        p, out, err, errlen) == 1
	           ? 0
	           : -1;
}

/* The end of a customer merge or unmerge of d and s once the row changed
 * (n rows): an event on each customer and both customers in the reply
 * (the survivor under key). 0, 1 refused, -1. */
static int
cmerge_finish(MYSQL *m, const struct cmerge_arg *x, uint64_t d, uint64_t s, unsigned long long n,
              const char *op, const char *key, struct ticket_result *res, char *err, size_t errlen)
{
	json_t *dup, *surv;

	if (n != 1)
		return ticket_refuse(res, CC_ERR_CONFLICT, "customer %" PRIu64 " changed meanwhile",
		                     d);
	if (customer_event(m, x->a, d, op, json_pack("{s:I}", "into", (json_int_t)s), x->now_ms,
	                   err, errlen) != 0 ||
	    customer_event(m, x->a, s, op, json_pack("{s:I}", "merged", (json_int_t)d), x->now_ms,
	                   err, errlen) != 0 ||
	    customer_after(m, d, &dup, err, errlen) != 0)
		return -1;
	if (customer_after(m, s, &surv, err, errlen) != 0) {
		json_decref(dup);
		return -1;
	}
	res->reply = json_pack("{s:o,s:o}", "customer", dup, key, surv);
	return 0;
}

static int
cmerge_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct cmerge_arg *x = arg;
	json_t *rows[2];
	MYSQL_BIND b[4];
	unsigned long len;
	char when[48];
	uint64_t d = x->customer, s = x->into;
	unsigned int by = x->a->agent_id;
	my_bool by_null = by == 0;
	unsigned ns, ds, nd, dd;
	unsigned long long n = 0;
	int rc;

	if ((rc = customers_lock(m, d, s, rows, res, err, errlen)) != 0)
		goto out;
	if (json_is_integer(json_object_get(rows[0], "merged_into"))) {
		rc = ticket_refuse(res, CC_ERR_CONFLICT,
		                   "customer %" PRIu64 " is already merged into %" PRIu64, d,
		                   row_uint(rows[0], "merged_into"));
		goto out;
	}
	if (json_is_integer(json_object_get(rows[1], "merged_into"))) {
		rc = ticket_refuse(res, CC_ERR_CONFLICT,
		                   "customer %" PRIu64 " is itself merged into %" PRIu64
		                   "; merge into %" PRIu64 " instead",
		                   s, row_uint(rows[1], "merged_into"),
		                   row_uint(rows[1], "merged_into"));
		goto out;
	}
	/* Merges stay one level deep: the survivor is merged into nothing
	 * and nothing is merged into the duplicate, so no chain or cycle can
	 * form, and a search's one step to the survivor is the whole way. */
	if ((rc = customer_tree(m, d, &nd, &dd, err, errlen)) != 0 ||
	    (rc = customer_tree(m, s, &ns, &ds, err, errlen)) != 0)
		goto out;
	if (nd > 0) {
		rc = ticket_refuse(res, CC_ERR_CONFLICT,
		                   "customer %" PRIu64
		                   " has %u customers merged into it; unmerge them "
		                   "first (or merge them into %" PRIu64 ")",
		                   d, nd, s);
		goto out;
	}
	if (ns + 1 > CUSTOMER_MERGED_MAX) {
		rc = ticket_refuse(res, CC_ERR_CONFLICT,
		                   "customer %" PRIu64
		                   " already has %u customers merged into it, the most "
		                   "a customer view reads",
		                   s, ns);
		goto out;
	}
	ticket_format_time(x->now_ms, when);
	bind_u64(&b[0], &s);
	bind_str(&b[1], when, &len);
	bind_uint(&b[2], &by);
	b[2].is_null = &by_null;
	bind_u64(&b[3], &d);
	if ((rc = store_exec(m,
	                     "UPDATE customers SET merged_into = ?, merged_at = ?, merged_by = ? "
	                     "WHERE id = ? AND merged_into IS NULL",
	                     b, err, errlen, &n)) != 0)
		goto out;
	rc = cmerge_finish(m, x, d, s, n, "merge", "into", res, err, errlen);
out:
	json_decref(rows[0]);
	json_decref(rows[1]);
	return rc;
}

static int
cunmerge_tx(MYSQL *m, const void *arg, struct ticket_result *res, char *err, size_t errlen)
{
	const struct cmerge_arg *x = arg;
	json_t *rows[2] = {NULL, NULL};
	MYSQL_BIND b[2];
	uint64_t d = x->customer, s;
	unsigned long long n = 0;
	int rc;

	/* learn the survivor to lock both in order; checked again locked */
	if ((rc = customers_lock(m, d, 0, rows, res, err, errlen)) != 0)
		goto out;
	if (!json_is_integer(json_object_get(rows[0], "merged_into"))) {
		rc = ticket_refuse(res, CC_ERR_CONFLICT, "customer %" PRIu64 " is not merged", d);
		goto out;
	}
	s = row_uint(rows[0], "merged_into");
	json_decref(rows[0]);
	if ((rc = customers_lock(m, d, s, rows, res, err, errlen)) != 0)
		goto out;
	bind_u64(&b[0], &d);
	bind_u64(&b[1], &s);
	if ((rc = store_exec(m,
	                     "UPDATE customers SET merged_into = NULL, merged_at = NULL, "
	                     "merged_by = NULL WHERE id = ? AND merged_into = ?",
	                     b, err, errlen, &n)) != 0)
		goto out;
	rc = cmerge_finish(m, x, d, s, n, "unmerge", "from", res, err, errlen);
out:
	json_decref(rows[0]);
	json_decref(rows[1]);
	return rc;
}

int
store_customer_merge(MYSQL *m, const struct ticket_actor *a, uint64_t customer, uint64_t into,
                     int64_t now_ms, struct ticket_result *res, char *err, size_t errlen)
{
	struct cmerge_arg x = {a, customer, into, now_ms};

	return ticket_tx_run(m, cmerge_tx, &x, res, err, errlen);
}

int
store_customer_unmerge(MYSQL *m, const struct ticket_actor *a, uint64_t customer, int64_t now_ms,
                       struct ticket_result *res, char *err, size_t errlen)
{
	struct cmerge_arg x = {a, customer, 0, now_ms};

	return ticket_tx_run(m, cunmerge_tx, &x, res, err, errlen);
}

/* ---- ticket.show's links ---- */

/* The relation of a link seen from the ticket shown. */
static const char *
link_relation(const char *kind, int to)
{
	if (strcmp(kind, "followup_of") == 0)
		return to ? "followup_of" : "followup";
	if (strcmp(kind, "merged_into") == 0)
		return to ? "merged_into" : "merged_from";
	return "related";
}

int
store_link_list(MYSQL *m, uint64_t ticket_id, json_t **out, char *err, size_t errlen)
{
	static _Thread_local char text[5][LINK_COL_BYTES];
	static const int col[5] = {0, 1, 3, 4, 5}; /* the text columns */
	MYSQL_BIND p[4], r[6];
	unsigned long len[6];
	my_bool nul[6];
	long long id;
	uint64_t tid = ticket_id;
	unsigned int limit = LINK_SHOW_MAX;
	MYSQL_STMT *st;
	int rc;

	*out = NULL;
	bind_u64(&p[0], &tid);
	bind_uint(&p[1], &limit);
	bind_u64(&p[2], &tid);
	bind_uint(&p[3], &limit);
	st = store_stmt(m,
	                "(SELECT l.kind, 'to' AS direction, t.id, t.ref, t.state, t.subject "
	                "FROM ticket_links l JOIN tickets t ON t.id = l.to_ticket_id "
	                "WHERE l.from_ticket_id = ? ORDER BY l.kind, t.id LIMIT ?) UNION ALL "
	                "(SELECT l.kind, 'from', t.id, t.ref, t.state, t.subject "
	                "FROM ticket_links l JOIN tickets t ON t.id = l.from_ticket_id "
	                "WHERE l.to_ticket_id = ? ORDER BY l.kind, t.id LIMIT ?)",
	                p, err, errlen);
	if (st == NULL)
		return -1;
	memset(r, 0, sizeof r);
	for (int i = 0; i < 5; i++)
		bind_out_str(&r[col[i]], text[i], LINK_COL_BYTES, &len[col[i]], &nul[col[i]]);
	r[2].buffer_type = MYSQL_TYPE_LONGLONG;
	r[2].buffer = &id;
	r[2].is_null = &nul[2];
	if (mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, r) != 0 ||
	    mysql_stmt_store_result(st) != 0)
		return store_fail(m, st, err, errlen);
	*out = json_array();
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		size_t n[5];
		char kind[16];
		int to;

		for (int i = 0; i < 5; i++)
			n[i] = len[col[i]] < LINK_COL_BYTES ? len[col[i]] : LINK_COL_BYTES;
		snprintf(kind, sizeof kind, "%.*s", (int)n[0], text[0]);
		to = n[1] == 2 && memcmp(text[1], "to", 2) == 0;
		json_array_append_new(*out, json_pack("{s:s,s:s,s:s,s:I,s:s%,s:s%,s:s%}", "kind",
		                                      kind, "direction", to ? "to" : "from",
		                                      "relation", link_relation(kind, to), "id",
		                                      (json_int_t)id, "ref", text[2], n[2], "state",
		                                      text[3], n[3], "subject", text[4], n[4]));
	}
	if (rc != MYSQL_NO_DATA) {
		json_decref(*out);
		*out = NULL;
		return store_fail(m, st, err, errlen);
	}
	store_stmt_done(st);
	return 0;
}
