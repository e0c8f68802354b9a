/* view.c: screen layouts for the records an agent reads at a glance: the
 * customer 360 view (customer.show and the customer.pop event). They are
 * laid out for an 80-column terminal and use wider ones for longer
 * subjects and notes. Columns are measured in terminal cells, so Chinese
 * (double-width) names line up with Latin ones; every string from the
 * server is sanitised first, then cut to its column with an ellipsis. */
#include "ccagent.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <event2/buffer.h>

#include "sanitize.h"

#define VIEW_MIN_COLS 60
#define VIEW_MAX_COLS 200

/* The UTF-8 locale used to measure text, whatever the user's locale is. */
static locale_t
view_utf8(void)
{
	static locale_t loc;
	static int tried;

	if (!tried) {
		tried = 1;
		loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	return loc;
}

/* Terminal cells taken by one character; its byte length in *len. */
static int
view_char(const char *s, size_t n, size_t *len)
{
	locale_t loc = view_utf8(), old = (locale_t)0;
	mbstate_t st;
	wchar_t wc;
	size_t k;
	int w;

	memset(&st, 0, sizeof st);
	if (loc != (locale_t)0)
		old = uselocale(loc);
	k = mbrtowc(&wc, s, n, &st);
	w = k == (size_t)-1 || k == (size_t)-2 || k == 0 ? 1 : wcwidth(wc);
	if (old != (locale_t)0)
		uselocale(old);
	*len = k == (size_t)-1 || k == (size_t)-2 || k == 0 ? 1 : k;
	return w < 0 ? 0 : w;
}

size_t
view_width(const char *s)
{
	size_t n = strlen(s), w = 0, k;

	while (n > 0) {
		w += (size_t)view_char(s, n, &k);
		s += k;
		n -= k;
	}
	return w;
}

/* Append s cut to cols cells (with "…" when cut) and, with pad, filled
 * with spaces to exactly cols cells. */
static void
view_cell(struct evbuffer *b, const char *s, size_t cols, int pad)
{
	size_t n = strlen(s), used = 0, k;

	if (view_width(s) <= cols) {
		evbuffer_add(b, s, n);
		used = view_width(s);
	} else if (cols > 0) {
		while (n > 0) {
			int w = view_char(s, n, &k);
			if (used + (size_t)w > cols - 1)
				break;
			evbuffer_add(b, s, k);
			used += (size_t)w;
			s += k;
			n -= k;
		}
		evbuffer_add(b, "\xe2\x80\xa6", 3); /* … */
		used++;
	}
	while (pad && used < cols) {
		evbuffer_add(b, " ", 1);
		used++;
	}
}

/* A member as sanitised text ("-" when absent), cut and padded. */
static void
view_field(struct evbuffer *b, const json_t *obj, const char *key, size_t cols, int pad)
{
	char *s = render_value(json_object_get(obj, key));

	view_cell(b, s, cols, pad);
	free(s);
}

/* Columns to lay out for: the terminal's, COLUMNS, or 80. */
static size_t
view_columns(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	long c = 80;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		c = ws.ws_col;
	else if (env != NULL && atol(env) > 0)
		c = atol(env);
	if (c < VIEW_MIN_COLS)
		c = VIEW_MIN_COLS;
	if (c > VIEW_MAX_COLS)
		c = VIEW_MAX_COLS;
	return (size_t)c;
}

/* "2026-11-23 10:00" (local time) for Unix milliseconds; "-" for null. */
static void
view_time(char *buf, size_t len, const json_t *ms)
{
	time_t t;
	struct tm tm;

	if (!json_is_integer(ms)) {
		snprintf(buf, len, "-");
		return;
	}
	t = (time_t)(json_integer_value(ms) / 1000);
	if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, len, "-");
}

/* Minor units as "1,234.56" (two decimals, as CNY and most currencies). */
static void
view_money(char *buf, size_t len, const json_t *minor)
{
	json_int_t v = json_is_integer(minor) ? json_integer_value(minor) : 0;
	unsigned long long a = (unsigned long long)(v < 0 ? -v : v), units = a / 100;
	unsigned cents = (unsigned)(a % 100);
	char digits[24], grouped[32]; /* 20 digits and 6 commas at most */
	size_t n, j = 0;

	snprintf(digits, sizeof digits, "%llu", units);
	n = strlen(digits);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			grouped[j++] = ',';
		grouped[j++] = digits[i];
	}
	grouped[j] = '\0';
	snprintf(buf, len, "%s%s.%02u", v < 0 ? "-" : "", grouped, cents);
}

/* The header: name, id, site, language, tier, flag. */
static void
view_customer_head(struct evbuffer *b, const json_t *reply, size_t cols)
{
	const json_t *c = json_object_get(reply, "customer");
	const json_t *from = json_object_get(reply, "resolved_from");

	view_field(b, c, "name", cols / 2, 0);
	evbuffer_add_printf(b, "  #");
	view_field(b, c, "id", 12, 0);
	evbuffer_add_printf(b, "  site ");
	view_field(b, c, "site", 8, 0);
	evbuffer_add_printf(b, "  ");
	view_field(b, c, "language", 8, 0);
	evbuffer_add(b, "\n", 1);
	if (json_is_integer(from)) {
		char when[32];
		view_time(when, sizeof when,
		          json_object_get(json_object_get(reply, "merged_into"), "merged_at"));
		evbuffer_add_printf(
		    b, "  (customer #%" JSON_INTEGER_FORMAT " was merged into this one, %s)\n",
		    json_integer_value(from), when);
	}
	if (json_is_string(json_object_get(c, "flag_reason"))) {
		evbuffer_add_printf(b, "  FLAGGED: ");
		view_field(b, c, "flag_reason", cols - 12, 0);
		evbuffer_add(b, "\n", 1);
	}
}

/* The customers merged into this one, whose history the view includes. */
static void
view_customer_merged(struct evbuffer *b, const json_t *reply, size_t cols)
{
	const json_t *list = json_object_get(reply, "merged"), *c;
	size_t i;

	if (json_array_size(list) == 0)
		return;
	evbuffer_add_printf(b, "Merged into this customer (history included)\n");
	json_array_foreach(list, i, c)
	{
		char when[32];
		view_time(when, sizeof when, json_object_get(c, "merged_at"));
		evbuffer_add_printf(b, "  #");
		view_field(b, c, "id", 12, 1);
		evbuffer_add_printf(b, " %s  ", when);
		view_field(b, c, "name", cols - 35, 0); /* 35: the columns before */
		evbuffer_add(b, "\n", 1);
	}
	if (json_is_true(json_object_get(json_object_get(reply, "customer"), "merged_truncated")))
		evbuffer_add_printf(b, "  (more not shown)\n");
}

/* Contacts, several to a line as they fit. */
static void
view_customer_contacts(struct evbuffer *b, const json_t *reply, size_t cols)
{
	const json_t *list = json_object_get(reply, "contacts"), *ct;
	size_t i, used = 2;

	evbuffer_add(b, "  ", 2);
	json_array_foreach(list, i, ct)
	{
		char *kind = render_value(json_object_get(ct, "kind"));
		char *value = render_value(json_object_get(ct, "value"));
		int primary = json_is_true(json_object_get(ct, "primary"));
		size_t w = view_width(kind) + view_width(value) + 3 + (primary ? 1 : 0);
		if (used > 2 && used + w > cols) {
			evbuffer_add(b, "\n  ", 3);
			used = 2;
		}
		evbuffer_add_printf(b, "%s ", kind);
		view_cell(b, value, cols - used - view_width(kind) - 2, 0);
		evbuffer_add_printf(b, "%s  ", primary ? "*" : "");
		used += w;
		free(kind);
		free(value);
	}
	if (i == 0)
		evbuffer_add_printf(b, "(no contacts)");
	evbuffer_add(b, "\n", 1);
}

/* Value: tier, RFM, orders, lifetime value, returns. */
static void
view_customer_value(struct evbuffer *b, const json_t *reply)
{
	const json_t *v = json_object_get(reply, "value");
	const json_t *rfm = json_object_get(v, "rfm");
	char ltv[64], refunded[64];
	double rate = json_number_value(json_object_get(v, "return_rate"));

	view_money(ltv, sizeof ltv, json_object_get(v, "lifetime_value_minor"));
	view_money(refunded, sizeof refunded, json_object_get(v, "refunded_minor"));
	evbuffer_add_printf(b, "Value   tier ");
	view_field(b, v, "tier", 10, 0);
	evbuffer_add_printf(
	    b, "  RFM %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " ",
	    json_integer_value(json_object_get(rfm, "recency")),
	    json_integer_value(json_object_get(rfm, "frequency")),
	    json_integer_value(json_object_get(rfm, "monetary")));
	view_field(b, rfm, "segment", 12, 0);
	evbuffer_add_printf(b,
	                    "\n        orders %" JSON_INTEGER_FORMAT
	                    " (returned %" JSON_INTEGER_FORMAT ", %.1f%%)  LTV %s  refunded %s ",
	                    json_integer_value(json_object_get(v, "orders")),
	                    json_integer_value(json_object_get(v, "returned_orders")), rate * 100.0,
	                    ltv, refunded);
	view_field(b, v, "currency", 4, 0);
	if (json_is_true(json_object_get(v, "mixed_currencies")))
		evbuffer_add_printf(b, " (mixed currencies)");
	evbuffer_add(b, "\n", 1);
}

/* One ticket line: ref, kind, severity, state, date, subject. */
static void
view_ticket_line(struct evbuffer *b, const json_t *t, size_t cols)
{
	char when[32], sev[8] = "  ";
	const json_t *s = json_object_get(t, "severity");

	if (json_is_integer(s))
		snprintf(sev, sizeof sev, "S%" JSON_INTEGER_FORMAT, json_integer_value(s));
	view_time(when, sizeof when, json_object_get(t, "created_at"));
	evbuffer_add(b, "  ", 2);
	view_field(b, t, "ref", 14, 1);
	evbuffer_add(b, " ", 1);
	view_field(b, t, "kind", 13, 1);
	evbuffer_add_printf(b, " %-2s ", sev);
	view_field(b, t, "state", 16, 1);
	evbuffer_add_printf(b, " %.10s ", when);
	view_field(b, t, "subject", cols - 62, 0); /* cols >= VIEW_MIN_COLS */
	evbuffer_add(b, "\n", 1);
}

/* Open complaints and the page of tickets, each with its last note. */
static void
view_customer_tickets(struct evbuffer *b, const json_t *reply, size_t cols)
{
	const json_t *open = json_object_get(reply, "open_complaints");
	const json_t *tickets = json_object_get(reply, "tickets"), *t;
	const json_t *next = json_object_get(tickets, "next_before_id");
	const json_t *c = json_object_get(reply, "customer");
	size_t i;

	if (json_array_size(open) > 0) {
		evbuffer_add_printf(b, "Open complaints (%zu)\n", json_array_size(open));
		json_array_foreach(open, i, t)
		{
			char due[32];
			view_time(due, sizeof due, json_object_get(t, "resolution_due"));
			evbuffer_add(b, "  ", 2);
			view_field(b, t, "ref", 14, 1);
			evbuffer_add_printf(b, " S%" JSON_INTEGER_FORMAT " ",
			                    json_integer_value(json_object_get(t, "severity")));
			view_field(b, t, "state", 16, 1);
			evbuffer_add_printf(b, " due %s ", due);
			view_field(b, t, "subject", cols - 58, 0); /* 58: the columns before */
			evbuffer_add(b, "\n", 1);
		}
	}
	evbuffer_add_printf(b, "Tickets (newest first)\n");
	json_array_foreach(json_object_get(tickets, "items"), i, t)
	{
		view_ticket_line(b, t, cols);
		if (json_is_string(json_object_get(t, "last_note"))) {
			evbuffer_add_printf(b, "      note: ");
			view_field(b, t, "last_note", cols - 12, 0);
			evbuffer_add(b, "\n", 1);
		}
	}
	if (i == 0)
		evbuffer_add_printf(b, "  (none)\n");
	if (json_is_integer(next))
		evbuffer_add_printf(b,
		                    "  more: customer.show customer_id=%" JSON_INTEGER_FORMAT
		                    " before_id=%" JSON_INTEGER_FORMAT "\n",
		                    json_integer_value(json_object_get(c, "id")),
		                    json_integer_value(next));
}

/* Compensations, CSAT and follow-ups. */
static void
view_customer_care(struct evbuffer *b, const json_t *reply, size_t cols)
{
	const json_t *comp = json_object_get(reply, "compensations");
	const json_t *given = json_object_get(comp, "given"),
	             *pending = json_object_get(comp, "pending");
	const json_t *csat = json_object_get(reply, "csat"), *f;
	char g[64], p[64];
	size_t i;

	view_money(g, sizeof g, json_object_get(given, "total_minor"));
	view_money(p, sizeof p, json_object_get(pending, "total_minor"));
	evbuffer_add_printf(b,
	                    "Compensations  given %" JSON_INTEGER_FORMAT
	                    " (%s)  pending %" JSON_INTEGER_FORMAT " (%s)\n",
	                    json_integer_value(json_object_get(given, "count")), g,
	                    json_integer_value(json_object_get(pending, "count")), p);
	evbuffer_add_printf(b, "CSAT    ");
	json_array_foreach(csat, i, f)
	{
		evbuffer_add_printf(b, "%s%" JSON_INTEGER_FORMAT, i ? " " : "",
		                    json_integer_value(json_object_get(f, "score")));
	}
	evbuffer_add_printf(b, "%s\n", i == 0 ? "(no ratings)" : "  (latest first)");
	if (json_array_size(json_object_get(reply, "followups")) == 0)
		return;
	evbuffer_add_printf(b, "Follow-ups\n");
	json_array_foreach(json_object_get(reply, "followups"), i, f)
	{
		char due[32];
		view_time(due, sizeof due, json_object_get(f, "due_at"));
		evbuffer_add_printf(b, "  %s  ", due);
		view_field(b, f, "purpose", cols - 20, 0);
		evbuffer_add(b, "\n", 1);
	}
}

char *
view_customer(const json_t *reply)
{
	struct evbuffer *b = evbuffer_new();
	size_t cols = view_columns();

	if (b == NULL)
		abort();
	view_customer_head(b, reply, cols);
	view_customer_merged(b, reply, cols);
	view_customer_contacts(b, reply, cols);
	view_customer_value(b, reply);
	view_customer_tickets(b, reply, cols);
	view_customer_care(b, reply, cols);
	return render_take(b);
}

/* A ticket's header: ref, state, kind, severity, priority, version, then
 * subject, then who and where, then the clock facts that exist. */
static void
view_ticket_head(struct evbuffer *b, const json_t *t, size_t cols)
{
	const json_t *sev = json_object_get(t, "severity");
	static const char *const times[][2] = {{"created", "created_at"},
	                                       {"queued", "enqueued_at"},
	                                       {"resolved", "resolved_at"},
	                                       {"closed", "closed_at"}};
	char when[32];

	view_field(b, t, "ref", 20, 0);
	evbuffer_add_printf(b, "  ");
	view_field(b, t, "state", 16, 0);
	evbuffer_add_printf(b, "  ");
	view_field(b, t, "kind", 13, 0);
	evbuffer_add_printf(b, "/");
	view_field(b, t, "channel", 6, 0);
	if (json_is_integer(sev))
		evbuffer_add_printf(b, "  S%" JSON_INTEGER_FORMAT, json_integer_value(sev));
	evbuffer_add_printf(b, "  P%" JSON_INTEGER_FORMAT "  v%" JSON_INTEGER_FORMAT "\n",
	                    json_integer_value(json_object_get(t, "priority")),
	                    json_integer_value(json_object_get(t, "version")));
	evbuffer_add_printf(b, "  ");
	view_field(b, t, "subject", cols - 2, 0);
	evbuffer_add_printf(b, "\n  customer ");
	view_field(b, t, "customer_id", 12, 0);
	evbuffer_add_printf(b, "  site ");
	view_field(b, t, "site", 8, 0);
	evbuffer_add_printf(b, "  queue ");
	view_field(b, t, "queue", 16, 0);
	evbuffer_add_printf(b, "  owner ");
	view_field(b, t, "owner", 20, 0);
	evbuffer_add_printf(b, "\n ");
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		if (!json_is_integer(json_object_get(t, times[i][1])))
			continue;
		view_time(when, sizeof when, json_object_get(t, times[i][1]));
		evbuffer_add_printf(b, " %s %s", times[i][0], when);
	}
	evbuffer_add(b, "\n", 1);
	if (json_is_string(json_object_get(t, "resolution_code"))) {
		evbuffer_add_printf(b, "  resolved as ");
		view_field(b, t, "resolution_code", 20, 0);
		evbuffer_add_printf(b, ": ");
		view_field(b, t, "resolution_summary", cols > 40 ? cols - 40 : 20, 0);
		evbuffer_add(b, "\n", 1);
	}
}

/* The other ticket of a link or merge event, from its detail, on a line
 * of its own: "into T..." (this one was merged into it), "merged T..." (it
 * was merged into this one), "with T..." (a related link). */
static void
view_event_other(struct evbuffer *b, const json_t *detail)
{
	static const char *const keys[][2] = {
	    {"into", "into"}, {"merged", "merged"}, {"ticket", "with"}};

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (!json_is_string(json_object_get(detail, keys[i][0])))
			continue;
		evbuffer_add_printf(b, "\n%19s%s ", "", keys[i][1]);
		view_field(b, detail, keys[i][0], 20, 0);
		return;
	}
}

/* What a customer told the web form, and a warning when the contact they
 * gave found a customer record under another name. */
static void
view_web_complaint(struct evbuffer *b, const json_t *c, size_t cols)
{
	static const char *const given[][2] = {{"name", "contact_name"},
	                                       {"phone", "contact_phone"},
	                                       {"e-mail", "contact_email"},
	                                       {"order", "order"}};

	if (!json_is_object(c))
		return;
	evbuffer_add_printf(b, "Web complaint  ");
	view_field(b, c, "category", 10, 0);
	evbuffer_add_printf(b, ", wants ");
	view_field(b, c, "resolution", 12, 0);
	evbuffer_add_printf(b, ", urgency ");
	view_field(b, c, "urgency", 8, 0);
	evbuffer_add_printf(b, ", ");
	view_field(b, c, "language", 8, 0);
	evbuffer_add(b, "\n ", 2);
	for (size_t i = 0; i < sizeof given / sizeof given[0]; i++) {
		if (!json_is_string(json_object_get(c, given[i][1])))
			continue;
		evbuffer_add_printf(b, " %s ", given[i][0]);
		view_field(b, c, given[i][1], cols > 48 ? 24 : 16, 0);
	}
	evbuffer_add_printf(b, "\n  contact not verified (public web form)");
	if (json_is_true(json_object_get(c, "name_differs"))) {
		evbuffer_add_printf(b, "\n  ! the contact found customer ");
		view_field(b, c, "customer_name", cols > 60 ? cols - 40 : 20, 0);
		evbuffer_add_printf(b, ", not the name given: confirm who is calling");
	}
	evbuffer_add(b, "\n", 1);
}

char *
view_ticket_brief(const json_t *reply)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		abort();
	view_ticket_head(b, json_object_get(reply, "ticket"), view_columns());
	return render_take(b);
}

char *
view_ticket(const json_t *reply)
{
	struct evbuffer *b = evbuffer_new();
	size_t cols = view_columns(), i;
	const json_t *e;
	char when[32];

	if (b == NULL)
		abort();
	view_ticket_head(b, json_object_get(reply, "ticket"), cols);
	view_web_complaint(b, json_object_get(reply, "complaint"), cols);
	if (json_array_size(json_object_get(reply, "links")) > 0) {
		evbuffer_add_printf(b, "Links\n");
		json_array_foreach(json_object_get(reply, "links"), i, e)
		{
			evbuffer_add_printf(b, "  ");
			view_field(b, e, json_object_get(e, "relation") ? "relation" : "kind", 12,
			           1);
			evbuffer_add(b, " ", 1);
			view_field(b, e, "ref", 20, 1);
			evbuffer_add(b, " ", 1);
			view_field(b, e, "state", 16, 1);
			evbuffer_add(b, " ", 1);
			view_field(b, e, "subject", cols - 54, 0); /* 54: the columns before */
			evbuffer_add(b, "\n", 1);
		}
	}
	evbuffer_add_printf(b, "Notes (newest first)\n");
	json_array_foreach(json_object_get(reply, "notes"), i, e)
	{
		view_time(when, sizeof when, json_object_get(e, "created_at"));
		evbuffer_add_printf(b, "  %s ", when);
		view_field(b, e, "author", 16, 1);
		evbuffer_add_printf(
		    b, " %s ",
		    json_is_string(json_object_get(e, "visibility")) &&
		            strcmp(json_string_value(json_object_get(e, "visibility")),
		                   "customer") == 0
		        ? "[customer]"
		        : "[internal]");
		evbuffer_add(b, "\n    ", 5);
		view_field(b, e, "body", cols - 4, 0);
		evbuffer_add(b, "\n", 1);
	}
	if (i == 0)
		evbuffer_add_printf(b, "  (none)\n");
	evbuffer_add_printf(b, "History\n");
	json_array_foreach(json_object_get(reply, "events"), i, e)
	{
		view_time(when, sizeof when, json_object_get(e, "time"));
		evbuffer_add_printf(b, "  %s ", when);
		view_field(b, e, "actor", 16, 1);
		evbuffer_add(b, " ", 1);
		view_field(b, e, "op", 16, 1);
		if (json_is_string(json_object_get(e, "new_value"))) {
			evbuffer_add(b, " ", 1);
			view_field(b, e, "old_value", 16, 0);
			evbuffer_add_printf(b, " -> ");
			view_field(b, e, "new_value", 16, 0);
		}
		view_event_other(b, json_object_get(e, "detail"));
		evbuffer_add(b, "\n", 1);
	}
	return render_take(b);
}

char *
view_ticket_list(const json_t *reply)
{
	struct evbuffer *b = evbuffer_new();
	size_t cols = view_columns(), i;
	const json_t *t, *next = json_object_get(reply, "next_after_id");

	if (b == NULL)
		abort();
	json_array_foreach(json_object_get(reply, "tickets"), i, t) view_ticket_line(b, t, cols);
	if (i == 0)
		evbuffer_add_printf(b, "(no tickets)\n");
	if (json_is_integer(next))
		evbuffer_add_printf(b, "more: add after_id=%" JSON_INTEGER_FORMAT "\n",
		                    json_integer_value(next));
	return render_take(b);
}
