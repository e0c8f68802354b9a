/* render.c: turning replies and events into text for people. Known ops get
 * a layout of their own; anything else becomes an aligned "key: value"
 * listing, nested objects indented, so new ops read well without a client
 * change. Every string that came from the server passes through
 * term_sanitize on its way here: nothing the server (or a customer, through
 * the server) wrote can move the cursor or retitle the terminal. */
#include "ccagent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "sanitize.h"

#define RENDER_MAX_DEPTH 8  /* deeper values are shown as compact JSON */
#define RENDER_KEY_WIDTH 24 /* keys are aligned up to this width */

/* The buffer's contents as a string; frees the buffer. */
char *
render_take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* A new buffer; out of memory is fatal in a terminal client. */
static struct evbuffer *
render_buffer(void)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		abort();
	return b;
}

/* A scalar (or compact JSON for containers) as one terminal-safe line. */
char *
render_value(const json_t *v)
{
	char buf[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return term_sanitize(json_string_value(v), json_string_length(v), 0);
	case JSON_INTEGER:
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strdup(buf);
	case JSON_REAL:
		snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
		return strdup(buf);
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	case JSON_OBJECT:
	case JSON_ARRAY: {
		char *j = json_dumps(v, JSON_COMPACT);
		char *s = term_sanitize(j ? j : "?", j ? strlen(j) : 1, 0);
		free(j);
		return s;
	}
	case JSON_NULL:
	default:
		return strdup("-");
	}
}

/* Append "value" for v to b. */
static void
render_add_value(struct evbuffer *b, const json_t *v)
{
	char *s = render_value(v);

	evbuffer_add(b, s, strlen(s));
	free(s);
}

/* Whether every element of an array is a scalar. */
static int
render_flat_array(const json_t *a)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
	{
		if (json_is_object(v) || json_is_array(v))
			return 0;
	}
	return 1;
}

static void render_fields(struct evbuffer *b, const json_t *obj, int indent, int top, int depth);

/* Append one "key: value" entry (value possibly nested) at indent. */
static void
render_field(struct evbuffer *b, const char *key, const json_t *v, int indent, int width, int depth)
{
	char *k = term_sanitize(key, strlen(key), 0);
	size_t i;
	json_t *e;

	if (json_is_object(v) && json_object_size(v) > 0 && depth < RENDER_MAX_DEPTH) {
		evbuffer_add_printf(b, "%*s%s:\n", indent, "", k);
		render_fields(b, v, indent + 2, 0, depth + 1);
	} else if (json_is_array(v) && !render_flat_array(v) && depth < RENDER_MAX_DEPTH) {
		evbuffer_add_printf(b, "%*s%s:\n", indent, "", k);
		json_array_foreach(v, i, e)
		{
			if (json_is_object(e) && json_object_size(e) > 0) {
				evbuffer_add_printf(b, "%*s- ", indent + 2, "");
				render_fields(b, e, -(indent + 4), 0, depth + 1);
			} else {
				evbuffer_add_printf(b, "%*s- ", indent + 2, "");
				render_add_value(b, e);
				evbuffer_add(b, "\n", 1);
			}
		}
	} else {
		evbuffer_add_printf(b, "%*s%s:%*s ", indent, "", k, width - (int)strlen(k), "");
		if (json_is_array(v) && json_array_size(v) == 0)
			evbuffer_add_printf(b, "(none)");
		else if (json_is_array(v) && depth < RENDER_MAX_DEPTH) {
			json_array_foreach(v, i, e)
			{
				if (i > 0)
					evbuffer_add(b, ", ", 2);
				render_add_value(b, e);
			}
		} else
			render_add_value(b, v);
		evbuffer_add(b, "\n", 1);
	}
	free(k);
}

/* Append the members of obj, keys aligned. A negative indent means the
 * first line's indentation was already written (a "- " list item). */
static void
render_fields(struct evbuffer *b, const json_t *obj, int indent, int top, int depth)
{
	const char *key;
	json_t *v;
	int width = 0, first = indent < 0;

	if (indent < 0)
		indent = -indent;
	json_object_foreach((json_t *)obj, key, v)
	{
		int n = (int)strlen(key);
		if (n > width && n <= RENDER_KEY_WIDTH)
			width = n;
	}
	json_object_foreach((json_t *)obj, key, v)
	{
		if (top && (strcmp(key, "id") == 0 || strcmp(key, "ok") == 0))
			continue;
		render_field(b, key, v, first ? 0 : indent, width, depth);
		first = 0;
	}
}

/* "2026-11-23 10:00:00 CET" for Unix seconds, in local time. */
static void
render_time(char *buf, size_t len, json_int_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, secs);
}

/* Append "label: value" lines for (label, object, member) rows that exist. */
static void
render_rows(struct evbuffer *b, const char *const rows[][2], size_t n, const json_t *const objs[])
{
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(objs[i], rows[i][1]);
		char when[64];
		if (v == NULL)
			continue;
		evbuffer_add_printf(b, "%-7s ", rows[i][0]);
		if (strcmp(rows[i][1], "since") == 0 && json_is_integer(v)) {
			render_time(when, sizeof when, json_integer_value(v));
			evbuffer_add_printf(b, "%s", when);
		} else
			render_add_value(b, v);
		evbuffer_add(b, "\n", 1);
	}
}

/* whoami: who, and over what. */
static char *
render_whoami(const json_t *reply)
{
	static const char *const rows[][2] = {
	    {"user:", "user"}, {"name:", "name"}, {"role:", "role"},     {"site:", "site"},
	    {"peer:", "peer"}, {"tls:", "tls"},   {"cipher:", "cipher"}, {"since:", "since"},
	};
	const json_t *agent = json_object_get(reply, "agent");
	const json_t *session = json_object_get(reply, "session");
	const json_t *objs[] = {agent, agent, agent, agent, session, session, session, session};
	struct evbuffer *b = render_buffer();

	render_rows(b, rows, sizeof rows / sizeof rows[0], objs);
	return render_take(b);
}

/* hello: the server and what it offers. */
static char *
render_hello(const json_t *reply)
{
	struct evbuffer *b = render_buffer();
	json_t *ops = json_object_get(reply, "ops"), *v;
	size_t i;

	evbuffer_add_printf(b, "server:   ");
	render_add_value(b, json_object_get(reply, "server"));
	evbuffer_add_printf(b, " ");
	render_add_value(b, json_object_get(reply, "version"));
	evbuffer_add_printf(b, "\nprotocol: ");
	render_add_value(b, json_object_get(reply, "protocol"));
	evbuffer_add_printf(b, "\nmax line: ");
	render_add_value(b, json_object_get(reply, "max_line"));
	evbuffer_add_printf(b, " bytes\nops:      ");
	json_array_foreach(ops, i, v)
	{
		if (i > 0)
			evbuffer_add(b, ", ", 2);
		render_add_value(b, v);
	}
	evbuffer_add(b, "\n", 1);
	return render_take(b);
}

/* "alice (Alice Smith, agent, site main)" for an agent object. */
static void
render_agent(struct evbuffer *b, const json_t *agent)
{
	render_add_value(b, json_object_get(agent, "user"));
	evbuffer_add(b, " (", 2);
	render_add_value(b, json_object_get(agent, "name"));
	evbuffer_add(b, ", ", 2);
	render_add_value(b, json_object_get(agent, "role"));
	evbuffer_add(b, ", site ", 7);
	render_add_value(b, json_object_get(agent, "site"));
	evbuffer_add(b, ")", 1);
}

/* Human text for a successful reply to op. */
char *
render_reply(const char *op, const json_t *reply, double rtt_ms)
{
	struct evbuffer *b;
	const char *key;
	json_t *v;
	int fields = 0;

	if (strcmp(op, "whoami") == 0)
		return render_whoami(reply);
	if (strcmp(op, "hello") == 0)
		return render_hello(reply);
	if (strcmp(op, "customer.show") == 0)
		return view_customer(reply);
	if (strcmp(op, "ticket.show") == 0)
		return view_ticket(reply);
	if (strcmp(op, "ticket.list") == 0)
		return view_ticket_list(reply);
	if (strncmp(op, "ticket.", 7) == 0 && json_is_object(json_object_get(reply, "ticket")))
		return view_ticket_brief(reply);
	b = render_buffer();
	if (strcmp(op, "ping") == 0) {
		evbuffer_add_printf(b, "pong in %.1f ms\n", rtt_ms);
		return render_take(b);
	}
	if (strcmp(op, "logout") == 0) {
		evbuffer_add_printf(b, "logged out\n");
		return render_take(b);
	}
	if (strcmp(op, "login") == 0) {
		/* never the token */
		evbuffer_add_printf(b, "logged in as ");
		render_agent(b, json_object_get(reply, "agent"));
		evbuffer_add(b, "\n", 1);
		return render_take(b);
	}
	json_object_foreach((json_t *)reply, key, v)
	{
		if (strcmp(key, "id") != 0 && strcmp(key, "ok") != 0)
			fields++;
	}
	if (fields == 0)
		evbuffer_add_printf(b, "ok\n");
	else
		render_fields(b, reply, 0, 1, 0);
	return render_take(b);
}

/* "CODE: message" for an error reply (with the wait when rate limited). */
char *
render_error(const json_t *reply)
{
	const json_t *e = json_object_get(reply, "error");
	const json_t *code = json_object_get(e, "code");
	const json_t *msg = json_object_get(e, "message");
	const json_t *retry = json_object_get(reply, "retry_after");
	struct evbuffer *b = render_buffer();

	if (retry == NULL)
		retry = json_object_get(e, "retry_after");
	if (!json_is_string(code)) {
		evbuffer_add_printf(b, "internal: the server sent a malformed error reply");
		return render_take(b);
	}
	render_add_value(b, code);
	evbuffer_add(b, ": ", 2);
	if (msg != NULL)
		render_add_value(b, msg);
	else
		evbuffer_add_printf(b, "(no message)");
	if (json_is_integer(retry))
		evbuffer_add_printf(b, " (retry in %" JSON_INTEGER_FORMAT " s)",
		                    json_integer_value(retry));
	return render_take(b);
}

/* Human text for a server push. */
/* "10:00:15" (local time) for Unix milliseconds; "?" when absent. */
static void
render_clock(char *buf, size_t len, const json_t *ms)
{
	time_t t;
	struct tm tm;

	if (!json_is_integer(ms)) {
		snprintf(buf, len, "?");
		return;
	}
	t = (time_t)(json_integer_value(ms) / 1000);
	if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%H:%M:%S", &tm) == 0)
		snprintf(buf, len, "?");
}

char *
render_event(const json_t *event)
{
	const char *name = json_string_value(json_object_get(event, "event"));
	struct evbuffer *b = render_buffer();
	char *n = term_sanitize(name, strlen(name), 0);
	const char *key;
	json_t *v;
	int width = 0;

	if (strcmp(name, "closing") == 0) {
		evbuffer_add_printf(b, "server is closing the connection: ");
		render_add_value(b, json_object_get(event, "reason"));
		evbuffer_add(b, "\n", 1);
		free(n);
		return render_take(b);
	}
	if (strcmp(name, "customer.pop") == 0) {
		char *view = view_customer(event);
		evbuffer_add_printf(b, "-- screen pop --\n%s", view);
		free(view);
		free(n);
		return render_take(b);
	}
	if (strcmp(name, "offer") == 0 && json_is_object(json_object_get(event, "ticket"))) {
		char when[32], *ref, *brief = view_ticket_brief(event);
		const char *r =
		    json_string_value(json_object_get(json_object_get(event, "ticket"), "ref"));
		ref = term_sanitize(r ? r : "?", r ? strlen(r) : 1, 0);
		render_clock(when, sizeof when, json_object_get(event, "expires_at"));
		evbuffer_add_printf(b,
		                    "-- offer: %s, answer by %s --\n%s"
		                    "   offer.accept ticket=%s   |   offer.decline ticket=%s\n",
		                    ref, when, brief, ref, ref);
		free(ref);
		free(brief);
		free(n);
		return render_take(b);
	}
	evbuffer_add_printf(b, "event %s\n", n);
	free(n);
	json_object_foreach((json_t *)event, key, v)
	{
		int k = (int)strlen(key);
		if (k > width && k <= RENDER_KEY_WIDTH)
			width = k;
	}
	json_object_foreach((json_t *)event, key, v)
	{
		if (strcmp(key, "event") != 0)
			render_field(b, key, v, 2, width, 1);
	}
	return render_take(b);
}

/* The line as received when it holds no terminal controls; otherwise the
 * same JSON re-encoded with every non-ASCII character escaped, and DEL (the
 * one control JSON leaves raw) written as \u007f: same value, safe bytes. */
char *
render_raw(const char *line, size_t len)
{
	char *s = term_sanitize(line, len, 0);
	struct evbuffer *b;
	json_t *v;
	char *j;

	if (strlen(s) == len && memcmp(s, line, len) == 0)
		return s;
	v = json_loadb(line, len, 0, NULL);
	j = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(v);
	if (j == NULL)
		return s;
	free(s);
	b = render_buffer();
	for (const char *p = j; *p != '\0'; p++) {
		if (*p == 0x7f)
			evbuffer_add(b, "\\u007f", 6);
		else
			evbuffer_add(b, p, 1);
	}
	free(j);
	return render_take(b);
}
