/* store-customer.c: customer search and the 360 view.
 *
 * Every query is a prepared statement that starts from an index on the
 * customer's id (or on the searched key) and is bounded by a LIMIT, so the
 * cost of a view depends on one customer's history, never on the size of
 * the tables. A view is a fixed number of round trips (one per section,
 * plus one per merge hop followed). The history of a survivor includes that
 * of every customer merged into it: each section reads customer_id IN (the
 * survivor and up to CUSTOMER_MERGED_MAX merged ids). The merged ids cost
 * one query, made only when the profile query says there are any, so a
 * customer without merges (the common case) pays nothing for them.
 *
 * Rows are turned into JSON by one helper driven by a column list, so a
 * query and the names of its reply fields sit side by side. Long texts are
 * cut in SQL (LEFT counts characters, so UTF-8 stays whole). */
#include "store-customer.h"

#include <stdio.h>
#include <string.h>

#include "rfm.h"
#include "store.h"

/* A DATETIME(3) column as Unix milliseconds (the connection runs in UTC). */
#define MS(col) "CAST(FLOOR(UNIX_TIMESTAMP(" col ") * 1000) AS SIGNED)"

#define COL_MAX   14
#define COL_BYTES 1024 /* widest text: 200 characters of 4 bytes, or a name */
#define IDS_TOKEN "@IDS"

/* One result column: its JSON name and kind ('s' string, 'i' integer,
 * 'b' boolean). */
struct col {
	const char *key;
	char type;
};

struct row_buf {
	MYSQL_BIND r[COL_MAX];
	char str[COL_MAX][COL_BYTES];
	long long num[COL_MAX];
	unsigned long len[COL_MAX];
	my_bool nul[COL_MAX];
};

/* The JSON value of column i of the fetched row. */
static json_t *
row_value(const struct row_buf *rb, const struct col *c, int i)
{
	json_t *v;

	if (rb->nul[i])
		return json_null();
	if (c->type == 'i')
		return json_integer(rb->num[i]);
	if (c->type == 'b')
		return json_boolean(rb->num[i] != 0);
	v = json_stringn(rb->str[i], rb->len[i] < COL_BYTES ? rb->len[i] : COL_BYTES);
	return v ? v : json_null(); /* cut inside a character: should not happen */
}

/* Run st (from store_stmt, parameters bound) and append each row to arr
 * as an object named by cols. Gives st back (store_stmt_done), or closes
 * it through store_fail on an error. 0 or -1. */
static int
fetch_rows(MYSQL *m, MYSQL_STMT *st, const struct col *cols, int ncols, json_t *arr, char *err,
           size_t errlen)
{
	static _Thread_local struct row_buf rb;
	int rc;

	memset(rb.r, 0, sizeof rb.r);
	for (int i = 0; i < ncols; i++) {
		if (cols[i].type == 's') {
			bind_out_str(&rb.r[i], rb.str[i], COL_BYTES, &rb.len[i], &rb.nul[i]);
			continue;
		}
		rb.r[i].buffer_type = MYSQL_TYPE_LONGLONG;
		rb.r[i].buffer = &rb.num[i];
		rb.r[i].is_null = &rb.nul[i];
	}
	if (mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, rb.r) != 0 ||
	    mysql_stmt_store_result(st) != 0)
		return store_fail(m, st, err, errlen);
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		json_t *o = json_object();
		for (int i = 0; i < ncols; i++)
			json_object_set_new(o, cols[i].key, row_value(&rb, &cols[i], i));
		json_array_append_new(arr, o);
	}
	if (rc != MYSQL_NO_DATA)
		return store_fail(m, st, err, errlen);
	store_stmt_done(st);
	return 0;
}

/* sql with IDS_TOKEN replaced by n placeholders, in out. 0 or -1. */
static int
sql_with_ids(const char *sql, size_t n, char *out, size_t outlen)
{
	const char *at = strstr(sql, IDS_TOKEN);
	size_t head, used;

	if (at == NULL || n == 0)
		return -1;
	head = (size_t)(at - sql);
	if (head + 2 * n + strlen(at) >= outlen)
		return -1;
	memcpy(out, sql, head);
	used = head;
	for (size_t i = 0; i < n; i++) {
		out[used++] = '?';
		if (i + 1 < n)
			out[used++] = ',';
	}
	strcpy(out + used, at + strlen(IDS_TOKEN));
	return 0;
}

/* The customers a view reads: the survivor first, then those merged into it. */
struct id_set {
	uint64_t id[CUSTOMER_MERGED_MAX + 1];
	size_t n;
};

/* Run sql over the customers in ids (then extra params) into arr. */
static int
query_ids(MYSQL *m, const char *sql, const struct id_set *ids, MYSQL_BIND *extra, int nextra,
          const struct col *cols, int ncols, json_t *arr, char *err, size_t errlen)
{
	char text[4096];
	MYSQL_BIND p[CUSTOMER_MERGED_MAX + 4];
	uint64_t v[CUSTOMER_MERGED_MAX + 1];
	MYSQL_STMT *st;

	if (sql_with_ids(sql, ids->n, text, sizeof text) != 0) {
		snprintf(err, errlen, "statement too long for %zu customers", ids->n);
		return -1;
	}
	for (size_t i = 0; i < ids->n; i++) {
		v[i] = ids->id[i];
		bind_u64(&p[i], &v[i]);
	}
	for (int i = 0; i < nextra; i++)
		p[ids->n + (size_t)i] = extra[i];
	if ((st = store_stmt(m, text, p, err, errlen)) == NULL)
		return -1;
	return fetch_rows(m, st, cols, ncols, arr, err, errlen);
}

/* Like query_ids for a query of exactly one row (an aggregate); the row or
 * NULL after an error. */
static json_t *
query_ids_one(MYSQL *m, const char *sql, const struct id_set *ids, const struct col *cols,
              int ncols, char *err, size_t errlen)
{
	json_t *arr = json_array(), *row = NULL;

	if (query_ids(m, sql, ids, NULL, 0, cols, ncols, arr, err, errlen) == 0) {
		if ((row = json_array_get(arr, 0)) != NULL)
			json_incref(row);
		else
			snprintf(err, errlen, "aggregate returned no row");
	}
	json_decref(arr);
	return row;
}

/* ---- search ---- */

#define SEARCH_SELECT                                                                              \
	"SELECT s.id, s.name, st.code, s.value_tier, s.language, "                                 \
	"(SELECT k.kind FROM customer_contacts k WHERE k.customer_id = s.id "                      \
	" ORDER BY k.is_primary DESC, k.kind, k.id LIMIT 1), "                                     \
	"(SELECT k.value FROM customer_contacts k WHERE k.customer_id = s.id "                     \
	" ORDER BY k.is_primary DESC, k.kind, k.id LIMIT 1) "                                      \
	"FROM ("
#define SEARCH_TAIL                                                                                \
	" LIMIT ?) r JOIN customers s ON s.id = r.rid "                                            \
	"LEFT JOIN sites st ON st.id = s.site_id ORDER BY s.name, s.id"

static const char *const search_sql[] = {
    [CUSTOMER_KEY_PHONE] = SEARCH_SELECT
    "SELECT DISTINCT COALESCE(c.merged_into, c.id) AS rid FROM customer_contacts k "
    "JOIN customers c ON c.id = k.customer_id WHERE k.kind = 'phone' AND k.value = ?" SEARCH_TAIL,
    [CUSTOMER_KEY_EMAIL] = SEARCH_SELECT
    "SELECT DISTINCT COALESCE(c.merged_into, c.id) AS rid FROM customer_contacts k "
    "JOIN customers c ON c.id = k.customer_id WHERE k.kind = 'email' AND k.value = ?" SEARCH_TAIL,
    [CUSTOMER_KEY_MEMBER_ID] = SEARCH_SELECT
    "SELECT DISTINCT COALESCE(c.merged_into, c.id) AS rid FROM customer_contacts k "
    "JOIN customers c ON c.id = k.customer_id WHERE k.kind = 'member_id' AND k.value = "
    "?" SEARCH_TAIL,
    [CUSTOMER_KEY_ORDER_ID] = SEARCH_SELECT
    "SELECT DISTINCT COALESCE(c.merged_into, c.id) AS rid FROM orders o "
    "JOIN customers c ON c.id = o.customer_id WHERE o.external_id = ?" SEARCH_TAIL,
    /* the name index is read in order until limit survivors are found */
    [CUSTOMER_KEY_NAME] =
        SEARCH_SELECT "SELECT DISTINCT COALESCE(c.merged_into, c.id) AS rid FROM customers c "
                      "WHERE c.name LIKE ? ESCAPE '!'" SEARCH_TAIL,
};

/* A LIKE pattern matching names that start with prefix ('!' escapes). */
static void
like_prefix(const char *prefix, char *out, size_t outlen)
{
	size_t n = 0;

	for (const char *p = prefix; *p && n + 3 < outlen; p++) {
		if (*p == '%' || *p == '_' || *p == '!')
			out[n++] = '!';
		out[n++] = *p;
	}
	out[n++] = '%';
	out[n] = '\0';
}

/* Turn the flat contact columns of search rows into one contact object. */
static void
search_fold_contacts(json_t *arr)
{
	size_t i;
	json_t *row;

	json_array_foreach(arr, i, row)
	{
		json_t *kind = json_object_get(row, "contact_kind");
		json_t *value = json_object_get(row, "contact_value");
		json_object_set_new(row, "contact",
		                    json_is_string(kind)
		                        ? json_pack("{s:O,s:O}", "kind", kind, "value", value)
		                        : json_null());
		json_object_del(row, "contact_kind");
		json_object_del(row, "contact_value");
	}
}

int
store_customer_search(MYSQL *m, enum customer_key key, const char *value, unsigned limit,
                      json_t **out, char *err, size_t errlen)
{
	static const struct col cols[] = {
	    {"id", 'i'},       {"name", 's'},         {"site", 's'},         {"tier", 's'},
	    {"language", 's'}, {"contact_kind", 's'}, {"contact_value", 's'}};
	char pattern[2 * CUSTOMER_NAME_MAX + 2];
	MYSQL_BIND p[2];
	unsigned long vlen;
	MYSQL_STMT *st;

	if (key == CUSTOMER_KEY_NAME) {
		like_prefix(value, pattern, sizeof pattern);
		value = pattern;
	}
	bind_str(&p[0], value, &vlen);
	bind_uint(&p[1], &limit);
	if ((st = store_stmt(m, search_sql[key], p, err, errlen)) == NULL)
		return -1;
	*out = json_array();
	if (fetch_rows(m, st, cols, 7, *out, err, errlen) != 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	search_fold_contacts(*out);
	return 0;
}

/* ---- the 360 view ---- */

/* A profile; has_merged: whether any customer is merged into it. */
#define PROFILE_SQL                                                                                \
	"SELECT c.id, c.name, s.code, c.region, c.language, c.value_tier, "                        \
	"CAST(FLOOR(UNIX_TIMESTAMP(c.flagged_at) * 1000) AS SIGNED), c.flag_reason, "              \
	"c.merged_into, CAST(FLOOR(UNIX_TIMESTAMP(c.created_at) * 1000) AS SIGNED), "              \
	"CAST(FLOOR(UNIX_TIMESTAMP(c.merged_at) * 1000) AS SIGNED), "                              \
	"EXISTS (SELECT 1 FROM customers d WHERE d.merged_into = c.id) "                           \
	"FROM customers c LEFT JOIN sites s ON s.id = c.site_id WHERE c.id = ?"

/* The customers merged into one, directly or in a chain (at most
 * CUSTOMER_MERGE_HOPS deep). */
#define MERGED_SQL                                                                                 \
	"WITH RECURSIVE t (id, depth) AS (SELECT CAST(? AS UNSIGNED), 0 "                          \
	"UNION ALL SELECT c.id, t.depth + 1 FROM customers c JOIN t "                              \
	"ON c.merged_into = t.id WHERE t.depth < ?) "                                              \
	"SELECT c.id, LEFT(c.name, 200), "                                                         \
	"CAST(FLOOR(UNIX_TIMESTAMP(c.merged_at) * 1000) AS SIGNED) FROM t "                        \
	"JOIN customers c ON c.id = t.id WHERE t.depth > 0 ORDER BY c.id LIMIT ?"

/* The profile of customer id into *out (NULL when there is none), with
 * merged_at and has_merged (whether any customer is merged into it) for
 * the view to use and drop. */
static int
view_profile(MYSQL *m, uint64_t id, json_t **out, char *err, size_t errlen)
{
	static const struct col cols[] = {
	    {"id", 'i'},          {"name", 's'},       {"site", 's'},       {"region", 's'},
	    {"language", 's'},    {"value_tier", 's'}, {"flagged_at", 'i'}, {"flag_reason", 's'},
	    {"merged_into", 'i'}, {"created_at", 'i'}, {"merged_at", 'i'},  {"has_merged", 'b'},
	};
	MYSQL_BIND p[1];
	MYSQL_STMT *st;
	json_t *arr = json_array();

	bind_u64(&p[0], &id);
	st = store_stmt(m, PROFILE_SQL, p, err, errlen);
	if (st == NULL || fetch_rows(m, st, cols, 12, arr, err, errlen) != 0) {
		json_decref(arr);
		return -1;
	}
	*out = json_array_get(arr, 0);
	if (*out)
		json_incref(*out);
	json_decref(arr);
	return 0;
}

/* Follow merged_into from id to the survivor's profile. *link is the
 * asked customer's own merge {id, merged_at} when it is merged (else
 * NULL). 1, 0, -1. */
static int
view_resolve(MYSQL *m, uint64_t id, json_t **profile, json_t **link, char *err, size_t errlen)
{
	*link = NULL;
	for (int hop = 0; hop <= CUSTOMER_MERGE_HOPS; hop++) {
		json_t *next;
		if (view_profile(m, id, profile, err, errlen) != 0)
			return -1;
		if (*profile == NULL)
			return 0;
		next = json_object_get(*profile, "merged_into");
		if (!json_is_integer(next))
			return 1;
		if (hop == 0)
			*link = json_pack("{s:O,s:O}", "id", next, "merged_at",
			                  json_object_get(*profile, "merged_at"));
		id = (uint64_t)json_integer_value(next);
		json_decref(*profile);
		*profile = NULL;
	}
	json_decref(*link);
	*link = NULL;
	snprintf(err, errlen, "customer merges form a chain over %d long or a loop",
	         CUSTOMER_MERGE_HOPS);
	return -1;
}

/* The survivor and every customer merged into it, directly or in a
 * chain, into ids and the view's "merged" list. Only when the profile says
 * there are any: a customer without merges costs no query here. */
static int
view_merged(MYSQL *m, struct id_set *ids, json_t *profile, json_t *view, char *err, size_t errlen)
{
	static const struct col cols[] = {{"id", 'i'}, {"name", 's'}, {"merged_at", 'i'}};
	json_t *arr, *row, *list = json_array(), *merged = json_array();
	unsigned hops = CUSTOMER_MERGE_HOPS, limit = CUSTOMER_MERGED_MAX + 1;
	MYSQL_BIND p[3];
	MYSQL_STMT *st;
	size_t i;

	json_object_set_new(profile, "merged_ids", list);
	json_object_set_new(view, "merged", merged);
	if (!json_is_true(json_object_get(profile, "has_merged")))
		return 0;
	arr = json_array();
	bind_u64(&p[0], &ids->id[0]);
	bind_uint(&p[1], &hops);
	bind_uint(&p[2], &limit);
	st = store_stmt(m, MERGED_SQL, p, err, errlen);
	if (st == NULL || fetch_rows(m, st, cols, 3, arr, err, errlen) != 0) {
		json_decref(arr);
		return -1;
	}
	json_array_foreach(arr, i, row)
	{
		if (ids->n > CUSTOMER_MERGED_MAX) {
			json_object_set_new(profile, "merged_truncated", json_true());
			break;
		}
		ids->id[ids->n++] = (uint64_t)json_integer_value(json_object_get(row, "id"));
		json_array_append(list, json_object_get(row, "id"));
		json_array_append(merged, row);
	}
	json_decref(arr);
	return 0;
}

/* Contacts of every customer in ids. */
static int
view_contacts(MYSQL *m, const struct id_set *ids, json_t *view, char *err, size_t errlen)
{
	static const struct col cols[] = {
	    {"kind", 's'}, {"value", 's'}, {"primary", 'b'}, {"customer_id", 'i'}};
	json_t *arr = json_array();

	json_object_set_new(view, "contacts", arr);
	return query_ids(m,
	                 "SELECT kind, value, is_primary, customer_id FROM customer_contacts "
	                 "WHERE customer_id IN (" IDS_TOKEN ") "
	                 "ORDER BY is_primary DESC, kind, id LIMIT 50",
	                 ids, NULL, 0, cols, 4, arr, err, errlen);
}

/* Order aggregates, RFM, lifetime value and return rate. */
static int
view_value(MYSQL *m, const struct id_set *ids, int64_t now, json_t *view, char *err, size_t errlen)
{
	static const struct col cols[] = {
	    {"orders", 'i'},     {"kept", 'i'},         {"returned", 'i'}, {"net", 'i'},
	    {"refunded", 'i'},   {"last_kept_at", 'i'}, {"first_at", 'i'}, {"last_order_at", 'i'},
	    {"currencies", 'i'}, {"currency", 's'},
	};
	struct rfm_orders o;
	struct rfm_result r;
	json_t *a, *value;
	double rate;

	a = query_ids_one(
	    m,
	    "SELECT COUNT(*), CAST(COALESCE(SUM(amount_minor > refunded_minor), 0) AS SIGNED), "
	    "CAST(COALESCE(SUM(status IN ('returned', 'refunded')), 0) AS SIGNED), "
	    "CAST(COALESCE(SUM(amount_minor - refunded_minor), 0) AS SIGNED), "
	    "CAST(COALESCE(SUM(refunded_minor), 0) AS SIGNED), "
	    "CAST(FLOOR(UNIX_TIMESTAMP(MAX(CASE WHEN amount_minor > refunded_minor "
	    "THEN ordered_at END))) AS SIGNED), "
	    "CAST(FLOOR(UNIX_TIMESTAMP(MIN(ordered_at))) AS SIGNED), " MS(
	        "MAX(ordered_at)") ", COUNT(DISTINCT currency), MIN(currency) FROM orders "
	                           "WHERE customer_id IN (" IDS_TOKEN ") AND status <> 'cancelled'",
	    ids, cols, 10, err, errlen);
	if (a == NULL)
		return -1;
	o.orders = json_integer_value(json_object_get(a, "orders"));
	o.kept = json_integer_value(json_object_get(a, "kept"));
	o.net_minor = json_integer_value(json_object_get(a, "net"));
	o.last_kept_at = json_integer_value(json_object_get(a, "last_kept_at"));
	o.first_at = json_integer_value(json_object_get(a, "first_at"));
	rfm_score(&o, &rfm_default_thresholds, now, &r);
	rate = o.orders ? (double)json_integer_value(json_object_get(a, "returned")) / o.orders : 0;
	value = json_pack(
	    "{s:s,s:{s:i,s:i,s:i,s:s},s:I,s:I,s:O,s:I,s:I,s:f,s:O,s:O,s:b}", "tier", r.tier, "rfm",
	    "recency", r.recency, "frequency", r.frequency, "monetary", r.monetary, "segment",
	    r.segment, "orders", (json_int_t)o.orders, "kept_orders", (json_int_t)o.kept,
	    "returned_orders", json_object_get(a, "returned"), "lifetime_value_minor",
	    (json_int_t)o.net_minor, "refunded_minor",
	    json_integer_value(json_object_get(a, "refunded")), "return_rate",
	    (double)(long long)(rate * 10000 + 0.5) / 10000, "last_order_at",
	    json_object_get(a, "last_order_at"), "currency", json_object_get(a, "currency"),
	    "mixed_currencies", json_integer_value(json_object_get(a, "currencies")) > 1);
	json_decref(a);
	if (value == NULL) {
		snprintf(err, errlen, "cannot build the value section");
		return -1;
	}
	json_object_set_new(view, "value", value);
	return 0;
}

/* A page of tickets, newest first, each with its latest note. */
static int
view_tickets(MYSQL *m, const struct id_set *ids, const struct customer_view_query *q, json_t *view,
             char *err, size_t errlen)
{
	static const struct col cols[] = {
	    {"id", 'i'},           {"ref", 's'},        {"kind", 's'},       {"channel", 's'},
	    {"severity", 'i'},     {"priority", 'i'},   {"state", 's'},      {"subject", 's'},
	    {"customer_id", 'i'},  {"created_at", 'i'}, {"updated_at", 'i'}, {"last_note", 's'},
	    {"last_note_at", 'i'},
	};
	uint64_t before = q->before_id ? q->before_id : UINT64_MAX;
	unsigned limit = q->limit + 1; /* one more tells whether there is a next page */
	MYSQL_BIND extra[2];
	json_t *items = json_array(), *next = json_null();

	bind_u64(&extra[0], &before);
	bind_uint(&extra[1], &limit);
	if (query_ids(
	        m,
	        "SELECT t.id, t.ref, t.kind, t.channel, t.severity, t.priority, t.state, "
	        "LEFT(t.subject, 200), t.customer_id, " MS("t.created_at") ", " MS(
	            "t.updated_at") ", "
	                            "(SELECT LEFT(n.body, 200) FROM ticket_notes n WHERE "
	                            "n.ticket_id = t.id ORDER BY n.created_at DESC, n.id DESC "
	                            "LIMIT 1), "
	                            "(SELECT " MS(
	                                "MAX(n.created_at)") " FROM ticket_notes n WHERE "
	                                                     "n.ticket_id = t.id) "
	                                                     "FROM tickets t WHERE "
	                                                     "t.customer_id IN (" IDS_TOKEN
	                                                     ") AND t.id < ? ORDER BY t.id "
	                                                     "DESC LIMIT ?",
	        ids, extra, 2, cols, 13, items, err, errlen) != 0) {
		json_decref(items);
		return -1;
	}
	if (json_array_size(items) > q->limit) {
		json_array_remove(items, q->limit);
		next = json_incref(json_object_get(json_array_get(items, q->limit - 1), "id"));
	}
	json_object_set_new(view, "tickets",
	                    json_pack("{s:o,s:o}", "items", items, "next_before_id", next));
	return 0;
}

/* Complaints not yet resolved, gravest first. */
static int
view_complaints(MYSQL *m, const struct id_set *ids, json_t *view, char *err, size_t errlen)
{
	static const struct col cols[] = {
	    {"id", 'i'},    {"ref", 's'},     {"severity", 'i'},   {"priority", 'i'},
	    {"state", 's'}, {"subject", 's'}, {"created_at", 'i'}, {"resolution_due", 'i'},
	};
	json_t *arr = json_array();

	json_object_set_new(view, "open_complaints", arr);
	return query_ids(
	    m,
	    "SELECT t.id, t.ref, t.severity, t.priority, t.state, LEFT(t.subject, 200), " MS(
	        "t.created_at") ", " MS("t.resolution_due") " FROM tickets t "
	                                                    "WHERE t.customer_id IN "
	                                                    "(" IDS_TOKEN ") AND t.kind "
	                                                    "= 'complaint' AND t.state "
	                                                    "NOT IN ('resolved', "
	                                                    "'closed') ORDER BY "
	                                                    "COALESCE(t.severity, 9), "
	                                                    "t.id LIMIT 50",
	    ids, NULL, 0, cols, 8, arr, err, errlen);
}

/* Compensations: issued (given) and still pending, count and total. */
static int
view_compensations(MYSQL *m, const struct id_set *ids, json_t *view, char *err, size_t errlen)
{
	static const struct col cols[] = {
	    {"given", 'i'}, {"given_minor", 'i'}, {"pending", 'i'}, {"pending_minor", 'i'}};
	json_t *a = query_ids_one(
	    m,
	    "SELECT CAST(COALESCE(SUM(state = 'issued'), 0) AS SIGNED), "
	    "CAST(COALESCE(SUM(CASE WHEN state = 'issued' THEN amount_minor END), 0) AS SIGNED), "
	    "CAST(COALESCE(SUM(state IN ('requested', 'approved')), 0) AS SIGNED), "
	    "CAST(COALESCE(SUM(CASE WHEN state IN ('requested', 'approved') THEN amount_minor "
	    "END), 0) AS SIGNED) FROM compensations WHERE customer_id IN (" IDS_TOKEN ")",
	    ids, cols, 4, err, errlen);

	if (a == NULL)
		return -1;
	json_object_set_new(view, "compensations",
	                    json_pack("{s:{s:O,s:O},s:{s:O,s:O}}", "given", "count",
	                              json_object_get(a, "given"), "total_minor",
	                              json_object_get(a, "given_minor"), "pending", "count",
	                              json_object_get(a, "pending"), "total_minor",
	                              json_object_get(a, "pending_minor")));
	json_decref(a);
	return 0;
}

/* The latest satisfaction ratings. */
static int
view_csat(MYSQL *m, const struct id_set *ids, json_t *view, char *err, size_t errlen)
{
	static const struct col cols[] = {{"ticket_id", 'i'},
	                                  {"ticket_ref", 's'},
	                                  {"score", 'i'},
	                                  {"comment", 's'},
	                                  {"created_at", 'i'}};
	json_t *arr = json_array();

	json_object_set_new(view, "csat", arr);
	return query_ids(m,
	                 "SELECT t.id, t.ref, c.score, LEFT(c.comment, 200), " MS(
	                     "c.created_at") " FROM tickets t JOIN csat c ON c.ticket_id = t.id "
	                                     "WHERE t.customer_id IN (" IDS_TOKEN ") "
	                                     "ORDER BY c.created_at DESC, c.id DESC LIMIT 10",
	                 ids, NULL, 0, cols, 5, arr, err, errlen);
}

/* Follow-ups not done yet, the earliest (overdue ones) first. */
static int
view_followups(MYSQL *m, const struct id_set *ids, json_t *view, char *err, size_t errlen)
{
	static const struct col cols[] = {
	    {"id", 'i'}, {"purpose", 's'}, {"due_at", 'i'}, {"ticket_id", 'i'}, {"assignee", 's'}};
	json_t *arr = json_array();

	json_object_set_new(view, "followups", arr);
	return query_ids(m,
	                 "SELECT f.id, f.purpose, " MS(
	                     "f.due_at") ", f.ticket_id, a.username FROM followups f "
	                                 "LEFT JOIN agents a ON a.id = f.assignee_agent_id "
	                                 "WHERE f.customer_id IN (" IDS_TOKEN ") AND f.done_at IS "
	                                 "NULL ORDER BY f.due_at, f.id LIMIT 10",
	                 ids, NULL, 0, cols, 5, arr, err, errlen);
}

int
store_customer_view(MYSQL *m, const struct customer_view_query *q, json_t **out, char *err,
                    size_t errlen)
{
	struct id_set ids = {.n = 0};
	json_t *profile = NULL, *view, *link;
	int rc;

	*out = NULL;
	if ((rc = view_resolve(m, q->id, &profile, &link, err, errlen)) <= 0)
		return rc;
	ids.id[ids.n++] = (uint64_t)json_integer_value(json_object_get(profile, "id"));
	json_object_del(profile, "merged_into");
	json_object_del(profile, "merged_at");
	view = json_pack("{s:o}", "customer", profile);
	if (ids.id[0] != q->id) {
		json_object_set_new(view, "resolved_from", json_integer((json_int_t)q->id));
		json_object_set_new(view, "merged_into", link);
	}
	if (view_merged(m, &ids, profile, view, err, errlen) != 0 ||
	    view_contacts(m, &ids, view, err, errlen) != 0 ||
	    view_value(m, &ids, q->now, view, err, errlen) != 0 ||
	    view_tickets(m, &ids, q, view, err, errlen) != 0 ||
	    view_complaints(m, &ids, view, err, errlen) != 0 ||
	    view_compensations(m, &ids, view, err, errlen) != 0 ||
	    view_csat(m, &ids, view, err, errlen) != 0 ||
	    view_followups(m, &ids, view, err, errlen) != 0) {
		json_decref(view);
		return -1;
	}
	json_object_del(profile, "has_merged");
	*out = view;
	return 1;
}

json_t *
customer_pop_build(json_t *view, uint64_t ticket_id)
{
	json_t *ev = json_pack("{s:s}", "event", "customer.pop");

	if (ticket_id)
		json_object_set_new(ev, "ticket_id", json_integer((json_int_t)ticket_id));
	json_object_update(ev, view);
	json_decref(view);
	return ev;
}
