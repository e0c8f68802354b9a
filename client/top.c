/* top.c: `ccagent top`: a full-screen live view of the queues for
 * supervisors, drawn with ANSI escape sequences on the alternate screen.
 *
 * It subscribes to the server's statistics (stats.subscribe) and keeps the
 * latest figures of every scope it may see; the agents of the supervisor's
 * site (or of every site) come from queue.stats with agents, fetched again
 * after each stats event. The screen is drawn at most once a second from a
 * timer, whatever the events, and at once after a key or a resize. The
 * sparkline of waiting work is kept here, from the figures seen since the
 * view started: 60 slots of 30 seconds, each the most seen in it.
 *
 * Actions go through the server's ops, which check roles and audit: r and
 * p are agent.ready and agent.pause on one's own line and agent.set (a
 * supervisor setting an agent of the site ready or paused) on another's;
 * the protocol has no op that lists the items in a queue, so moving items
 * and priorities are not offered here.
 *
 * Every string from the server is sanitised (render_value) before it is
 * measured (view_width, CJK-aware) and drawn. */
#include "ccagent.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "sanitize.h"

#define TOP_SPARK_SLOTS   60 /* 30 minutes ... */
#define TOP_SPARK_SECONDS 30 /* ... of 30-second slots */
#define TOP_MAX_SCOPES    2048
#define TOP_MAX_AGENTS    4096
#define TOP_MAX_ALERTS    1024
#define TOP_REASON_MAX    32
#define TOP_MIN_COLS      40
#define TOP_MIN_ROWS      10

/* The queue table's columns, in screen order. */
enum top_col {
	TC_QUEUE,
	TC_SITE,
	TC_WAITING,
	TC_LONGEST,
	TC_OFFERED,
	TC_ANSWERED,
	TC_ABANDONED,
	TC_SL,
	TC_ASA,
	TC_EWT,
	TC_N,
};
static const struct top_colspec {
	const char *title;
	size_t width;
	int rank; /* dropped first when narrow: the highest rank */
	int right;
} top_cols[TC_N] = {
    [TC_QUEUE] = {"queue", 12, 0, 0},      [TC_SITE] = {"site", 5, 2, 0},
    [TC_WAITING] = {"waiting", 8, 0, 1},   [TC_LONGEST] = {"longest", 8, 0, 1},
    [TC_OFFERED] = {"offered", 8, 4, 1},   [TC_ANSWERED] = {"answered", 9, 3, 1},
    [TC_ABANDONED] = {"abandon", 8, 3, 1}, [TC_SL] = {"SL", 5, 1, 1},
    [TC_ASA] = {"ASA", 6, 5, 1},           [TC_EWT] = {"EWT", 6, 4, 1},
};

static struct top {
	struct event_base *base;
	struct termios saved;
	int active;
	int rows, cols;
	struct event *stdin_ev, *tick_ev, *sig_ev[4];

	json_t *scopes;     /* "queue:CODE", "site:CODE", "overall" -> figures */
	json_t *agents;     /* queue.stats agents, as last fetched */
	json_t *alerts;     /* "QUEUE/KIND" -> alert event, while raised */
	uint64_t agents_us; /* when the agents were fetched (monotonic) */
	int agents_pending; /* a queue.stats request is out */
	int agents_overall; /* ask for every site (no site of one's own) */
	int dirty;          /* something changed since the last frame */
	size_t sel;         /* selected agent */
	enum top_col sort;  /* queue table sorted on */
	int sort_desc;      /* largest first */
	int spark[TOP_SPARK_SLOTS];
	int64_t spark_slot[TOP_SPARK_SLOTS]; /* slot number (wall s / 30); 0 none */
	char status[512];                    /* the bottom line's message */
	char note[512];                      /* the last other push, below it */
	int asking;                          /* reading a pause reason */
	char answer[TOP_REASON_MAX + 1];
	char keys[16]; /* an escape sequence in progress */
	size_t nkeys;
} top;

/* render_value, with "-" for an absent member. */
static char *
top_value(const json_t *v)
{
	return v != NULL ? render_value(v) : strdup("-");
}

/* Unix time in ms. */
static int64_t
top_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The terminal's size, kept within what the layout can use. */
static void
top_size(void)
{
	struct winsize ws;

	top.cols = 80;
	top.rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		top.cols = ws.ws_col;
		top.rows = ws.ws_row;
	}
	if (top.cols < TOP_MIN_COLS)
		top.cols = TOP_MIN_COLS;
	if (top.rows < TOP_MIN_ROWS)
		top.rows = TOP_MIN_ROWS;
	if (top.cols > 500)
		top.cols = 500;
	if (top.rows > 300)
		top.rows = 300;
}

/* Write all of s to the terminal. */
static void
top_write(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Set the bottom line's message; text is sanitised first. */
static void
top_say(const char *text)
{
	char *clean = term_sanitize(text, strlen(text), 0);

	snprintf(top.status, sizeof top.status, "%s", clean);
	free(clean);
	top.dirty = 1;
}

/* "12s", "4m05s", "1h02m" for ms; "-" for a negative value. */
static void
top_duration(char *buf, size_t len, int64_t ms)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02lld", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, len, "%lldh%02lld", (long long)(s / 3600),
		         (long long)(s % 3600 / 60));
}

/* The scope's key in top.scopes. */
static void
top_scope_key(const json_t *sc, char *buf, size_t len)
{
	const char *kind = json_string_value(json_object_get(sc, "scope"));
	const char *q = json_string_value(json_object_get(sc, "queue"));
	const char *site = json_string_value(json_object_get(sc, "site"));

	if (kind != NULL && strcmp(kind, "queue") == 0 && q != NULL)
		snprintf(buf, len, "queue:%s", q);
	else if (kind != NULL && strcmp(kind, "site") == 0 && site != NULL)
		snprintf(buf, len, "site:%s", site);
	else if (kind != NULL && strcmp(kind, "overall") == 0)
		snprintf(buf, len, "overall");
	else
		buf[0] = '\0';
}

/* Waiting work over the queues now (the site totals when there are none). */
static int
top_waiting_total(void)
{
	const char *key;
	json_t *sc;
	long long q = 0, s = 0;
	int any_q = 0;

	json_object_foreach(top.scopes, key, sc)
	{
		long long w = json_integer_value(json_object_get(sc, "waiting"));
		if (strncmp(key, "queue:", 6) == 0) {
			q += w;
			any_q = 1;
		} else if (strncmp(key, "site:", 5) == 0)
			s += w;
	}
	q = any_q ? q : s;
	return q > 1000000 ? 1000000 : (int)q;
}

/* Note the waiting work now in its sparkline slot. */
static void
top_spark_sample(void)
{
	int64_t slot = top_wall_ms() / 1000 / TOP_SPARK_SECONDS;
	size_t at = (size_t)(slot % TOP_SPARK_SLOTS);
	int w = top_waiting_total();

	if (json_object_size(top.scopes) == 0)
		return;
	if (top.spark_slot[at] != slot) {
		top.spark_slot[at] = slot;
		top.spark[at] = w;
	} else if (w > top.spark[at])
		top.spark[at] = w;
}

/* Merge scopes (an array of figures) into top.scopes. */
static void
top_merge(const json_t *scopes)
{
	size_t i;
	json_t *sc;

	json_array_foreach(scopes, i, sc)
	{
		char key[200];
		if (!json_is_object(sc))
			continue;
		top_scope_key(sc, key, sizeof key);
		if (key[0] == '\0')
			continue;
		if (json_object_get(top.scopes, key) == NULL &&
		    json_object_size(top.scopes) >= TOP_MAX_SCOPES)
			continue;
		json_t *copy = json_copy(sc);
		if (copy == NULL)
			continue;
		/* when it came, to tick the longest wait locally */
		json_object_set_new(copy, "_rx_us", json_integer((json_int_t)session_now_us()));
		json_object_set_new(top.scopes, key, copy);
	}
	top_spark_sample();
	top.dirty = 1;
}

/* Send a request of top's own; a refusal to send goes to the status line. */
static int
top_send(json_t *req)
{
	char err[256];
	json_int_t id;

	if (req == NULL)
		return -1;
	id = session_request(req, REQ_COMMAND, err, sizeof err);
	json_decref(req);
	if (id < 0) {
		top_say(err);
		return -1;
	}
	return 0;
}

/* Ask for the agents, unless a request is out already. */
static void
top_fetch_agents(void)
{
	if (top.agents_pending)
		return;
	json_t *req =
	    top.agents_overall
	        ? json_pack("{s:s, s:s, s:b}", "op", "queue.stats", "scope", "overall", "agents", 1)
	        : json_pack("{s:s, s:s, s:b}", "op", "queue.stats", "scope", "site", "agents", 1);
	if (top_send(req) == 0)
		top.agents_pending = 1;
}

/* Whether a queue has an alert raised (by event or listed in its figures). */
static int
top_alarm(const json_t *sc)
{
	const char *q = json_string_value(json_object_get(sc, "queue"));
	const char *key;
	json_t *a;

	if (json_array_size(json_object_get(sc, "alerts")) > 0)
		return 1;
	if (q == NULL)
		return 0;
	json_object_foreach(top.alerts, key, a)
	{
		const char *aq = json_string_value(json_object_get(a, "queue"));
		if (aq != NULL && strcmp(aq, q) == 0)
			return 1;
	}
	return 0;
}

/* The longest wait of a scope now, ticked from when its figures came. */
static int64_t
top_longest(const json_t *sc)
{
	const json_t *lw = json_object_get(sc, "longest_wait_ms");

	if (!json_is_integer(lw))
		return -1;
	uint64_t rx = (uint64_t)json_integer_value(json_object_get(sc, "_rx_us"));
	uint64_t now = session_now_us();
	return json_integer_value(lw) + (now > rx ? (int64_t)((now - rx) / 1000) : 0);
}

/* A cell's text for a scope; caller frees. */
static char *
top_text(const json_t *sc, enum top_col c)
{
	char buf[64];
	const json_t *v;

	switch (c) {
	case TC_QUEUE:
		if (json_is_string(json_object_get(sc, "queue")))
			return top_value(json_object_get(sc, "queue"));
		return strdup(json_is_string(json_object_get(sc, "site")) ? "(site)" : "(all)");
	case TC_SITE:
		return top_value(json_object_get(sc, "site"));
	case TC_WAITING:
		return top_value(json_object_get(sc, "waiting"));
	case TC_LONGEST:
		top_duration(buf, sizeof buf, top_longest(sc));
		return strdup(buf);
	case TC_OFFERED:
		return top_value(json_object_get(sc, "offered"));
	case TC_ANSWERED:
		return top_value(json_object_get(sc, "answered"));
	case TC_ABANDONED:
		return top_value(json_object_get(sc, "abandoned"));
	case TC_SL:
		v = json_object_get(sc, "sl");
		if (!json_is_number(v))
			return strdup("-");
		snprintf(buf, sizeof buf, "%.0f%%", json_number_value(v) * 100.0);
		return strdup(buf);
	case TC_ASA:
	case TC_EWT:
		v = json_object_get(sc, c == TC_ASA ? "asa_ms" : "estimated_wait_ms");
		top_duration(buf, sizeof buf,
		             json_is_number(v) ? (int64_t)json_number_value(v) : -1);
		return strdup(buf);
	case TC_N:
	default:
		break;
	}
	return strdup("");
}

/* A scope's figure to sort on. */
static double
top_sort_value(const json_t *sc, enum top_col c)
{
	static const char *const keys[TC_N] = {
	    [TC_WAITING] = "waiting",       [TC_OFFERED] = "offered", [TC_ANSWERED] = "answered",
	    [TC_ABANDONED] = "abandoned",   [TC_SL] = "sl",           [TC_ASA] = "asa_ms",
	    [TC_EWT] = "estimated_wait_ms",
	};
	const json_t *v;

	if (c == TC_LONGEST)
		return (double)top_longest(sc);
	if (keys[c] == NULL)
		return 0;
	v = json_object_get(sc, keys[c]);
	return json_is_number(v) ? json_number_value(v) : -1;
}

/* qsort comparison of two scopes on the sort column; ties by queue code. */
static int
top_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	int r = 0;

	if (top.sort == TC_QUEUE || top.sort == TC_SITE) {
		const char *k = top.sort == TC_QUEUE ? "queue" : "site";
		const char *sx = json_string_value(json_object_get(x, k));
		const char *sy = json_string_value(json_object_get(y, k));
		r = strcmp(sx != NULL ? sx : "", sy != NULL ? sy : "");
	} else {
		double dx = top_sort_value(x, top.sort), dy = top_sort_value(y, top.sort);
		r = dx < dy ? -1 : dx > dy ? 1 : 0;
	}
	if (top.sort_desc)
		r = -r;
	if (r == 0) {
		const char *qx = json_string_value(json_object_get(x, "queue"));
		const char *qy = json_string_value(json_object_get(y, "queue"));
		r = strcmp(qx != NULL ? qx : "", qy != NULL ? qy : "");
	}
	return r;
}

/* Which columns fit in the width: drop the least important first. */
static void
top_fit(int show[TC_N])
{
	size_t used = 0;

	for (int c = 0; c < TC_N; c++) {
		show[c] = 1;
		used += top_cols[c].width + (c > 0);
	}
	for (int rank = 5; rank > 0 && used > (size_t)top.cols; rank--)
		for (int c = TC_N - 1; c >= 0 && used > (size_t)top.cols; c--)
			if (show[c] && top_cols[c].rank == rank) {
				show[c] = 0;
				used -= top_cols[c].width + 1;
			}
}

/* End a screen line: clear its rest, and a new line unless the last. */
static void
top_eol(struct evbuffer *b, int *row)
{
	evbuffer_add(b, "\x1b[m\x1b[K", 6);
	if (++*row < top.rows)
		evbuffer_add(b, "\r\n", 2);
}

/* The sparkline of waiting work over the last 30 minutes, w cells wide. */
static void
top_spark_line(struct evbuffer *b, size_t w)
{
	static const char *const bars[] = {"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
	                                   "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
	                                   "\xe2\x96\x87", "\xe2\x96\x88"};
	int64_t now = top_wall_ms() / 1000 / TOP_SPARK_SECONDS;
	size_t n = w < TOP_SPARK_SLOTS ? w : TOP_SPARK_SLOTS;
	int max = 0, vals[TOP_SPARK_SLOTS];

	for (size_t i = 0; i < n; i++) {
		int64_t slot = now - (int64_t)(n - 1 - i);
		size_t at =
		    (size_t)(((slot % TOP_SPARK_SLOTS) + TOP_SPARK_SLOTS) % TOP_SPARK_SLOTS);
		vals[i] = top.spark_slot[at] == slot ? top.spark[at] : -1;
		if (vals[i] > max)
			max = vals[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (vals[i] < 0)
			evbuffer_add(b, " ", 1);
		else {
			int k = max > 0 ? vals[i] * 7 / max : 0;
			evbuffer_add(b, bars[k], 3);
		}
	}
	evbuffer_add_printf(b, " max %d", max);
}

/* The agents' line for agent a. */
static void
top_agent_line(struct evbuffer *b, const json_t *a, int selected)
{
	static const size_t w[] = {16, 6, 9, 12, 9};
	char *user = top_value(json_object_get(a, "user"));
	char *site = top_value(json_object_get(a, "site"));
	char *state = top_value(json_object_get(a, "state"));
	const json_t *r = json_object_get(a, "reason");
	char *reason = json_is_string(r) ? top_value(r) : strdup("");
	char since[32];
	int64_t tis = json_integer_value(json_object_get(a, "time_in_state_ms"));
	uint64_t now = session_now_us();
	size_t used = 0;

	tis += now > top.agents_us ? (int64_t)((now - top.agents_us) / 1000) : 0;
	top_duration(since, sizeof since, tis);
	if (selected)
		evbuffer_add(b, "\x1b[7m", 4);
	const char *cells[] = {user, site, state, reason, since};
	for (size_t i = 0; i < 5; i++) {
		if (used + w[i] + (i > 0) > (size_t)top.cols)
			break;
		if (i > 0)
			evbuffer_add(b, " ", 1);
		report_cell(b, cells[i], w[i], i == 4);
		used += w[i] + (i > 0);
	}
	free(user);
	free(site);
	free(state);
	free(reason);
}

/* Draw the whole screen. */
static void
top_draw(void)
{
	struct evbuffer *b, *line;
	int show[TC_N], row = 0;
	size_t nq = 0, ns = 0, i;
	const json_t **qs, **ss;
	const char *key;
	json_t *sc;
	char clock[16];
	time_t now = time(NULL);
	struct tm tm;

	if (!top.active || (b = evbuffer_new()) == NULL)
		return;
	top.dirty = 0;
	qs = calloc(json_object_size(top.scopes) + 1, sizeof *qs);
	ss = calloc(json_object_size(top.scopes) + 1, sizeof *ss);
	if (qs == NULL || ss == NULL)
		abort();
	json_object_foreach(top.scopes, key, sc)
	{
		if (strncmp(key, "queue:", 6) == 0)
			qs[nq++] = sc;
		else if (strncmp(key, "site:", 5) == 0)
			ss[ns++] = sc;
	}
	qsort(qs, nq, sizeof *qs, top_cmp);
	qsort(ss, ns, sizeof *ss, top_cmp);
	top_fit(show);
	localtime_r(&now, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);

	evbuffer_add(b, "\x1b[H", 3);
	/* title */
	line = evbuffer_new();
	if (line == NULL)
		abort();
	{
		char *user = top_value(json_object_get(session_agent(), "user"));
		evbuffer_add_printf(line, "ccagent top  %s  %s  sort: %s %s", user, clock,
		                    top_cols[top.sort].title, top.sort_desc ? "desc" : "asc");
		free(user);
		char *t = render_take(line);
		evbuffer_add(b, "\x1b[1m", 4);
		report_cell(b, t, (size_t)top.cols, 0);
		free(t);
		top_eol(b, &row);
	}
	/* open alerts */
	size_t shown = 0;
	json_object_foreach(top.alerts, key, sc)
	{
		if (shown++ >= 3)
			break;
		char *q = top_value(json_object_get(sc, "queue"));
		char *kind = top_value(json_object_get(sc, "kind"));
		line = evbuffer_new();
		if (line == NULL)
			abort();
		evbuffer_add_printf(line, "ALERT %s %s: %g (threshold %g)", q, kind,
		                    json_number_value(json_object_get(sc, "value")),
		                    json_number_value(json_object_get(sc, "threshold")));
		char *t = render_take(line);
		evbuffer_add(b, "\x1b[1;41;37m", 10);
		report_cell(b, t, (size_t)top.cols, 0);
		free(t);
		free(q);
		free(kind);
		top_eol(b, &row);
	}
	/* the queue table: header, queues, then the sites' totals */
	for (int c = 0, first = 1; c < TC_N; c++) {
		if (!show[c])
			continue;
		char title[32];
		snprintf(title, sizeof title, "%s%s", top_cols[c].title,
		         (enum top_col)c == top.sort ? (top.sort_desc ? "v" : "^") : "");
		if (!first)
			evbuffer_add(b, " ", 1);
		first = 0;
		evbuffer_add(b, "\x1b[4m", 4);
		report_cell(b, title, top_cols[c].width, top_cols[c].right);
		evbuffer_add(b, "\x1b[24m", 5);
	}
	top_eol(b, &row);
	int room = top.rows - row - 6; /* spark, agents header, a few agents, status */
	room = room < 2 ? 2 : room;
	for (size_t k = 0; k < nq + ns && room > 0 && row < top.rows - 1; k++, room--) {
		const json_t *s = k < nq ? qs[k] : ss[k - nq];
		if (top_alarm(s))
			evbuffer_add(b, "\x1b[1;31m", 7);
		else if (k >= nq)
			evbuffer_add(b, "\x1b[2m", 4);
		for (int c = 0, first = 1; c < TC_N; c++) {
			if (!show[c])
				continue;
			char *t = top_text(s, (enum top_col)c);
			if (!first)
				evbuffer_add(b, " ", 1);
			first = 0;
			report_cell(b, t, top_cols[c].width, top_cols[c].right);
			free(t);
		}
		top_eol(b, &row);
	}
	if (nq + ns == 0 && row < top.rows - 1) {
		evbuffer_add_printf(b, "(waiting for figures)");
		top_eol(b, &row);
	}
	/* sparkline */
	if (row < top.rows - 1) {
		evbuffer_add_printf(b, "waiting, 30 min: ");
		top_spark_line(b, (size_t)top.cols > 40 ? (size_t)top.cols - 30 : 10);
		top_eol(b, &row);
	}
	/* agents, scrolled so that the selected one shows */
	size_t na = json_array_size(top.agents);
	if (top.sel >= na && na > 0)
		top.sel = na - 1;
	if (row < top.rows - 1) {
		evbuffer_add(b, "\x1b[4m", 4);
		static const char *const heads[] = {"agent", "site", "state", "reason", "in state"};
		static const size_t w[] = {16, 6, 9, 12, 9};
		size_t used = 0;
		for (size_t k = 0; k < 5 && used + w[k] + (k > 0) <= (size_t)top.cols; k++) {
			if (k > 0)
				evbuffer_add(b, " ", 1);
			report_cell(b, heads[k], w[k], k == 4);
			used += w[k] + (k > 0);
		}
		top_eol(b, &row);
	}
	int arows = top.rows - 1 - row;
	size_t first = 0;
	if (arows > 0 && top.sel >= (size_t)arows)
		first = top.sel - (size_t)arows + 1;
	for (i = first; i < na && row < top.rows - 1; i++) {
		top_agent_line(b, json_array_get(top.agents, i), i == top.sel);
		top_eol(b, &row);
	}
	while (row < top.rows - 1)
		top_eol(b, &row);
	/* the bottom line: a question, a message, or the keys */
	line = evbuffer_new();
	if (line == NULL)
		abort();
	if (top.asking)
		evbuffer_add_printf(line, "pause reason (Enter to send, Esc to cancel): %s",
		                    top.answer);
	else if (top.status[0] != '\0')
		evbuffer_add_printf(line, "%s", top.status);
	else if (top.note[0] != '\0')
		evbuffer_add_printf(line, "%s", top.note);
	else
		evbuffer_add_printf(line, "q quit  j/k move  s/S sort  r ready  p pause (self)");
	char *t = render_take(line);
	evbuffer_add(b, "\x1b[7m", 4);
	report_cell(b, t, (size_t)top.cols, 0);
	free(t);
	evbuffer_add(b, "\x1b[m", 3);
	free(qs);
	free(ss);
	t = render_take(b);
	top_write(t, strlen(t));
	free(t);
}

/* The selected agent, or NULL. */
static const json_t *
top_selected(void)
{
	return json_array_get(top.agents, top.sel);
}

/* The selected agent's user name ("" when none). */
static const char *
top_selected_user(void)
{
	const char *u = json_string_value(json_object_get(top_selected(), "user"));

	return u != NULL ? u : "";
}

/* Whether the selected agent is the logged-in user (agent.ready and
 * agent.pause act on one's own routing). */
static int
top_selected_is_self(void)
{
	const char *u = json_string_value(json_object_get(top_selected(), "user"));

	return u != NULL && strcmp(u, session_user()) == 0;
}

/* One key (or arrow, as 'k'/'j'). */
static void
top_key(int c)
{
	if (top.asking) {
		size_t n = strlen(top.answer);
		if (c == '\r' || c == '\n') {
			top.asking = 0;
			if (n == 0)
				top_say("pause: no reason given");
			else if (top_send(top_selected_is_self()
			                      ? json_pack("{s:s, s:s}", "op", "agent.pause",
			                                  "reason", top.answer)
			                      : json_pack("{s:s, s:s, s:s, s:s}", "op", "agent.set",
			                                  "agent", top_selected_user(), "state",
			                                  "paused", "reason", top.answer)) == 0)
				top_say("pause sent");
		} else if (c == 0x1b) {
			top.asking = 0;
			top_say("pause cancelled");
		} else if ((c == 0x7f || c == 0x08) && n > 0)
			top.answer[n - 1] = '\0';
		else if (((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9')) &&
		         n < TOP_REASON_MAX) {
			top.answer[n] = (char)c;
			top.answer[n + 1] = '\0';
		}
		top.dirty = 1;
		return;
	}
	top.status[0] = '\0';
	switch (c) {
	case 'q':
		top_stop();
		session_finish(EXIT_OK);
		return;
	case 'j':
		if (top.sel + 1 < json_array_size(top.agents))
			top.sel++;
		break;
	case 'k':
		if (top.sel > 0)
			top.sel--;
		break;
	case 's':
		top.sort = (enum top_col)((top.sort + 1) % TC_N);
		top.sort_desc = top.sort != TC_QUEUE && top.sort != TC_SITE;
		break;
	case 'S':
		top.sort_desc = !top.sort_desc;
		break;
	case 'r':
		if (top_selected_user()[0] == '\0')
			top_say("r: select an agent first");
		else if (top_send(top_selected_is_self()
		                      ? json_pack("{s:s}", "op", "agent.ready")
		                      : json_pack("{s:s, s:s, s:s}", "op", "agent.set", "agent",
		                                  top_selected_user(), "state", "ready")) == 0)
			top_say("ready sent");
		break;
	case 'p':
		if (top_selected_user()[0] == '\0')
			top_say("p: select an agent first");
		else {
			top.asking = 1;
			top.answer[0] = '\0';
		}
		break;
	default:
		break;
	}
	top.dirty = 1;
}

/* Standard input: keys, with arrow sequences (ESC [ A, ESC O B) read across
 * reads. */
static void
top_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	unsigned char buf[64];
	ssize_t n;

	(void)what;
	(void)arg;
	n = read(fd, buf, sizeof buf);
	if (n <= 0) {
		top_stop();
		session_finish(EXIT_OK);
		return;
	}
	for (ssize_t i = 0; i < n && top.active; i++) {
		int c = buf[i];
		if (top.nkeys > 0) {
			top.keys[top.nkeys++] = (char)c;
			if (top.nkeys == 2 && c != '[' && c != 'O') {
				top.nkeys = 0;
				top_key(0x1b);
				top_key(c);
			} else if (top.nkeys >= 3 && c >= 0x40 && c <= 0x7e) {
				top.nkeys = 0;
				if (c == 'A')
					top_key('k');
				else if (c == 'B')
					top_key('j');
			} else if (top.nkeys >= sizeof top.keys)
				top.nkeys = 0;
			continue;
		}
		if (c == 0x1b) {
			top.keys[0] = (char)c;
			top.nkeys = 1;
			/* a lone Esc (cancel) ends the read */
			if (i == n - 1 && top.asking) {
				top.nkeys = 0;
				top_key(c);
			}
			continue;
		}
		top_key(c);
	}
	if (top.active)
		top_draw();
}

/* Once a second: sample the sparkline, and draw when anything changed or a
 * clock ticks (longest waits, time in state). */
static void
top_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	top_spark_sample();
	top_draw();
}

/* Signals: leave cleanly, or follow a resize. */
static void
top_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGWINCH) {
		top_size();
		top_write("\x1b[2J", 4);
		top_draw();
		return;
	}
	top_stop();
	session_finish(EXIT_OK);
}

int
top_init(struct event_base *base, char *err, size_t errlen)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
	struct timeval second = {1, 0};
	struct termios raw;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		snprintf(err, errlen, "top needs a terminal on standard input and output");
		return -1;
	}
	if (tcgetattr(STDIN_FILENO, &top.saved) != 0) {
		snprintf(err, errlen, "top cannot read the terminal's settings");
		return -1;
	}
	top.base = base;
	top.scopes = json_object();
	top.agents = json_array();
	top.alerts = json_object();
	top.sort = TC_QUEUE;
	raw = top.saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	top.stdin_ev = event_new(base, STDIN_FILENO, EV_READ | EV_PERSIST, top_stdin_cb, NULL);
	top.tick_ev = event_new(base, -1, EV_PERSIST, top_tick_cb, NULL);
	if (top.scopes == NULL || top.agents == NULL || top.alerts == NULL ||
	    top.stdin_ev == NULL || top.tick_ev == NULL) {
		snprintf(err, errlen, "top: out of memory");
		return -1;
	}
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		top.sig_ev[i] = evsignal_new(base, sigs[i], top_signal_cb, NULL);
		if (top.sig_ev[i] == NULL || evsignal_add(top.sig_ev[i], NULL) != 0) {
			snprintf(err, errlen, "top: cannot catch signals");
			return -1;
		}
	}
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0) {
		snprintf(err, errlen, "top cannot set the terminal up");
		return -1;
	}
	top.active = 1;
	atexit(top_stop);
	top_size();
	/* the alternate screen, cursor hidden */
	top_write("\x1b[?1049h\x1b[?25l\x1b[2J", 18);
	top_say("connecting...");
	event_add(top.stdin_ev, NULL);
	event_add(top.tick_ev, &second);
	top_draw();
	return 0;
}

void
top_ready(void)
{
	const json_t *site = json_object_get(session_agent(), "site");
	const char *role = json_string_value(json_object_get(session_agent(), "role"));

	/* a supervisor of a site sees it; an admin or an unsited supervisor
	 * sees every site */
	top.agents_overall = !json_is_string(site) || (role != NULL && strcmp(role, "admin") == 0);
	top.agents_pending = 0;
	json_object_clear(top.scopes);
	if (top_send(json_pack("{s:s}", "op", "stats.subscribe")) == 0)
		top_say("");
	top_fetch_agents();
}

void
top_reply(const struct request *req, json_t *msg)
{
	int ok = json_is_true(json_object_get(msg, "ok"));

	if (strcmp(req->op, "queue.stats") == 0) {
		top.agents_pending = 0;
		if (ok) {
			json_t *agents = json_object_get(msg, "agents");
			if (json_is_array(agents) && json_array_size(agents) <= TOP_MAX_AGENTS) {
				json_decref(top.agents);
				top.agents = json_incref(agents);
				top.agents_us = session_now_us();
			}
			json_t *stats = json_object_get(msg, "stats");
			json_t *one = json_pack("[O]", stats);
			if (json_is_object(stats) && one != NULL)
				top_merge(one);
			json_decref(one);
			top.dirty = 1;
			return;
		}
	}
	if (!ok) {
		char *text = render_error(msg);
		char line[600];
		snprintf(line, sizeof line, "%s: %s", req->op, text);
		top_say(line);
		free(text);
		return;
	}
	if (strcmp(req->op, "stats.subscribe") == 0)
		top_merge(json_object_get(msg, "scopes"));
	else if (strcmp(req->op, "agent.ready") == 0 || strcmp(req->op, "agent.pause") == 0 ||
	         strcmp(req->op, "agent.set") == 0) {
		char *state = top_value(json_object_get(msg, "state"));
		char *who = top_value(json_object_get(msg, "agent"));
		char line[200];
		if (strcmp(req->op, "agent.set") == 0)
			snprintf(line, sizeof line, "%s: %s is %s", req->op, who, state);
		else
			snprintf(line, sizeof line, "%s: you are %s", req->op, state);
		top_say(line);
		free(who);
		free(state);
		top.agents_pending = 0;
		top_fetch_agents();
	}
}

void
top_event(json_t *msg)
{
	const char *name = json_string_value(json_object_get(msg, "event"));

	if (name == NULL)
		return;
	if (strcmp(name, "stats") == 0) {
		top_merge(json_object_get(msg, "scopes"));
		top_fetch_agents();
	} else if (strcmp(name, "alert") == 0) {
		char key[300];
		const char *q = json_string_value(json_object_get(msg, "queue"));
		const char *kind = json_string_value(json_object_get(msg, "kind"));
		const char *state = json_string_value(json_object_get(msg, "state"));
		if (q == NULL || kind == NULL || state == NULL)
			return;
		snprintf(key, sizeof key, "%s/%s", q, kind);
		if (strcmp(state, "cleared") == 0)
			json_object_del(top.alerts, key);
		else if (json_object_size(top.alerts) < TOP_MAX_ALERTS ||
		         json_object_get(top.alerts, key) != NULL)
			json_object_set(top.alerts, key, msg);
		top.dirty = 1;
	} else {
		/* other pushes (offers, closing) as one line at the bottom */
		char *text = render_event(msg);
		for (char *p = text; *p != '\0'; p++)
			if (*p == '\n')
				*p = ' ';
		snprintf(top.note, sizeof top.note, "%s", text);
		free(text);
		top.dirty = 1;
	}
}

void
top_stop(void)
{
	if (!top.active)
		return;
	top.active = 0;
	/* cursor back, main screen back, settings back */
	top_write("\x1b[m\x1b[?1049l\x1b[?25h", 17);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &top.saved);
	if (top.stdin_ev != NULL)
		event_del(top.stdin_ev);
	if (top.tick_ev != NULL)
		event_del(top.tick_ev);
	for (size_t i = 0; i < sizeof top.sig_ev / sizeof top.sig_ev[0]; i++)
		if (top.sig_ev[i] != NULL)
			event_del(top.sig_ev[i]);
}

void
top_free(void)
{
	top_stop();
	if (top.stdin_ev != NULL)
		event_free(top.stdin_ev);
	if (top.tick_ev != NULL)
		event_free(top.tick_ev);
	for (size_t i = 0; i < sizeof top.sig_ev / sizeof top.sig_ev[0]; i++)
		if (top.sig_ev[i] != NULL)
			event_free(top.sig_ev[i]);
	json_decref(top.scopes);
	json_decref(top.agents);
	json_decref(top.alerts);
	memset(&top, 0, sizeof top);
}
