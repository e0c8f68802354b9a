/* top.c: `ccagent top`: a full-screen live view of the queues for
 * supervisors, drawn with ANSI escape sequences on the alternate screen.
 *
 * It subscribes to the server's statistics (stats.subscribe) and keeps the
 * latest figures of every scope it may see; a picture or push too large
 * for one line comes in parts, kept until the last one and then applied
 * at once, so a frame never shows half of it. The agents of the
 * supervisor's site (or of every site) come from queue.stats with agents,
 * page after page, fetched again after each stats event. The screen is
 * drawn at most once a second from a timer, whatever the events, and at
 * once after a key or a resize. The sparkline of waiting work is kept
 * here, from the figures seen since the view started: 60 slots of 30
 * seconds, each the most seen in it.
 *
 * Actions go through the server's ops, which check roles and audit: r and
 * p are agent.ready and agent.pause on one's own line and agent.set (a
 * supervisor setting an agent of the site ready or paused) on another's.
 * Tab moves the selection between the agents and the queue rows; i (or
 * Enter on a queue row) opens the queue's items (queue.items), read again
 * when a stats push names that queue, or every 2 seconds, and after each
 * action. On an item, m moves it (ticket.transfer to a queue, or to
 * @agent: an offer to that agent), + and - change its priority
 * (ticket.update), both against the version the list was read at, so a
 * ticket that changed meanwhile is refused (conflict) rather than
 * overwritten; b broadcasts (agent.broadcast) to the agents of the selected
 * queue or, with Tab in the prompt, of the site. Each reply, or the
 * server's error, is shown on the bottom line.
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
#define TOP_ITEMS_LIMIT   200     /* items asked for at once (the server's most is 500) */
#define TOP_ITEMS_EVERY   2000000 /* us: the items are read again at least this often */
#define TOP_MESSAGE_MAX   500     /* characters of a broadcast (the server's limit) */
#define TOP_NAME_MAX      64      /* bytes of a queue code or user name */

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

	json_t *scopes;        /* "queue:CODE", "site:CODE", "overall" -> figures */
	json_t *agents;        /* queue.stats agents, as last fetched */
	json_t *agents_acc;    /* the pages of the fetch under way */
	json_int_t agents_req; /* the request of its page awaited */
	json_t *parts;         /* scopes of a picture or push whose last part is to come */
	json_int_t parts_version;
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
	enum top_ask {
		ASK_NONE,
		ASK_PAUSE,     /* a pause reason */
		ASK_MOVE,      /* where to move the selected item */
		ASK_BROADCAST, /* a message */
	} asking;
	char answer[TOP_MESSAGE_MAX * 4 + 1];
	char keys[16]; /* an escape sequence in progress */
	size_t nkeys;

	int on_queues;               /* j/k move among the queue rows (Tab) */
	char qsel[TOP_NAME_MAX + 1]; /* the selected queue's code */
	int bcast_site;              /* the broadcast goes to the site, not the queue */
	char bcast_to[TOP_NAME_MAX + 8];
	/* the items pane: open while iqueue is set */
	char iqueue[TOP_NAME_MAX + 1];
	json_t *items;      /* the last queue.items reply for iqueue */
	json_int_t isel_id; /* the selected item's ticket id */
	size_t isel;
	uint64_t items_us; /* when they were asked for (monotonic) */
	int items_pending; /* a queue.items request is out */
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

/* A picture or push (a stats.subscribe reply or a "stats" event), whole
 * or one of its parts ("part" i of "parts" n, all of one "version"): the
 * parts are kept until the last and then merged at once. 1 when merged. */
static int
top_stats_part(const json_t *msg)
{
	json_t *scopes = json_object_get(msg, "scopes");
	json_int_t part = json_integer_value(json_object_get(msg, "part"));
	json_int_t parts = json_integer_value(json_object_get(msg, "parts"));
	json_int_t version = json_integer_value(json_object_get(msg, "version"));

	if (!json_is_array(scopes))
		return 0;
	if (parts <= 1) {
		json_array_clear(top.parts);
		top_merge(scopes);
		return 1;
	}
	/* the first part, or a part of another push than the one kept */
	if (part <= 1 || version != top.parts_version) {
		json_array_clear(top.parts);
		top.parts_version = version;
	}
	if (json_array_size(top.parts) + json_array_size(scopes) <= TOP_MAX_SCOPES)
		json_array_extend(top.parts, scopes);
	if (part < parts)
		return 0;
	top_merge(top.parts);
	json_array_clear(top.parts);
	return 1;
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

/* Ask for a page of the agents: the first (after NULL), or the one after
 * that user. */
static void
top_fetch_page(const char *after)
{
	json_t *req = json_pack("{s:s, s:s, s:b}", "op", "queue.stats", "scope",
	                        top.agents_overall ? "overall" : "site", "agents", 1);

	char err[256];
	json_int_t id;

	if (req == NULL)
		return;
	if (after != NULL)
		json_object_set_new(req, "agents_after", json_string(after));
	id = session_request(req, REQ_COMMAND, err, sizeof err);
	json_decref(req);
	if (id < 0) {
		top_say(err);
		return;
	}
	top.agents_req = id;
	top.agents_pending = 1;
}

/* Ask for the agents, unless a request is out already. */
static void
top_fetch_agents(void)
{
	if (top.agents_pending)
		return;
	json_array_clear(top.agents_acc);
	top_fetch_page(NULL);
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

/* The queue scopes in the table's order, *n of them; caller frees. */
static const json_t **
top_sorted_queues(size_t *n)
{
	const json_t **qs = calloc(json_object_size(top.scopes) + 1, sizeof *qs);
	const char *key;
	json_t *sc;

	if (qs == NULL)
		abort();
	*n = 0;
	json_object_foreach(top.scopes, key, sc)
	{
		if (strncmp(key, "queue:", 6) == 0)
			qs[(*n)++] = sc;
	}
	qsort(qs, *n, sizeof *qs, top_cmp);
	return qs;
}

/* The index of the selected queue among qs (n of them), the first when
 * none is selected or it is gone (its code then follows). */
static size_t
top_queue_index(const json_t **qs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *q = json_string_value(json_object_get(qs[i], "queue"));
		if (q != NULL && strcmp(q, top.qsel) == 0)
			return i;
	}
	if (n > 0) {
		const char *q = json_string_value(json_object_get(qs[0], "queue"));
		snprintf(top.qsel, sizeof top.qsel, "%s", q != NULL ? q : "");
	}
	return 0;
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

static void top_bcast_label(char *buf, size_t len);

/* The items pane of queue top.iqueue: a title, then its tickets in the
 * line's order, scrolled so that the selected one shows. */
static void
top_draw_items(struct evbuffer *b, int *row)
{
	enum { I_POS, I_REF, I_STATE, I_CHAN, I_PRI, I_WAIT, I_AGENT, I_SUBJECT, I_N };
	static const char *const heads[I_N] = {"pos", "ticket", "state", "chan",
	                                       "pri", "wait",   "agent", "subject"};
	static const int right[I_N] = {1, 0, 0, 0, 1, 1, 0, 0};
	size_t w[I_N] = {4, 14, 7, 5, 3, 6, 10, 0}, used = 0, n, first = 0;
	int show[I_N] = {1, 1, 1, 1, 1, 1, 1, 1};
	json_t *items = json_object_get(top.items, "items");
	struct evbuffer *line = evbuffer_new();
	char *t, *q = term_sanitize(top.iqueue, strlen(top.iqueue), 0);
	int64_t now = top_wall_ms();

	if (line == NULL)
		abort();
	/* narrow: the channel and the agent give way first */
	if (top.cols < 72)
		show[I_CHAN] = show[I_AGENT] = 0;
	for (int k = 0; k < I_SUBJECT; k++)
		used += show[k] ? w[k] + 1 : 0;
	w[I_SUBJECT] = (size_t)top.cols > used + 8 ? (size_t)top.cols - used : 0;
	show[I_SUBJECT] = w[I_SUBJECT] > 0;
	if (top.items == NULL) {
		evbuffer_add_printf(line, "queue %s: reading its tickets...", q);
	} else {
		char *site = top_value(json_object_get(top.items, "site"));
		evbuffer_add_printf(
		    line, "queue %s (%s): %lld in line, %lld waiting", q,
		    json_is_string(json_object_get(top.items, "site")) ? site : "every site",
		    (long long)json_integer_value(json_object_get(top.items, "total")),
		    (long long)json_integer_value(json_object_get(top.items, "waiting")));
		if (json_is_integer(json_object_get(top.items, "next_offset")))
			evbuffer_add_printf(line, " (first %zu shown)", json_array_size(items));
		free(site);
	}
	free(q);
	t = render_take(line);
	evbuffer_add(b, "\x1b[1m", 4);
	report_cell(b, t, (size_t)top.cols, 0);
	free(t);
	top_eol(b, row);
	if (*row < top.rows - 1) {
		for (int k = 0, firstcol = 1; k < I_N; k++) {
			if (!show[k])
				continue;
			if (!firstcol)
				evbuffer_add(b, " ", 1);
			firstcol = 0;
			evbuffer_add(b, "\x1b[4m", 4);
			report_cell(b, heads[k], w[k], right[k]);
			evbuffer_add(b, "\x1b[24m", 5);
		}
		top_eol(b, row);
	}
	n = json_array_size(items);
	if (top.isel >= n)
		top.isel = n > 0 ? n - 1 : 0;
	int rows = top.rows - 1 - *row;
	if (rows > 0 && top.isel >= (size_t)rows)
		first = top.isel - (size_t)rows + 1;
	for (size_t i = first; i < n && *row < top.rows - 1; i++) {
		const json_t *it = json_array_get(items, i);
		const json_t *at = json_object_get(it, "enqueued_at");
		char wait[32], *cells[I_N];
		top_duration(wait, sizeof wait,
		             json_is_integer(at) ? now - json_integer_value(at) : -1);
		cells[I_POS] = json_is_integer(json_object_get(it, "position"))
		                   ? top_value(json_object_get(it, "position"))
		                   : strdup("-");
		cells[I_REF] = top_value(json_object_get(it, "ref"));
		cells[I_STATE] = top_value(json_object_get(it, "state"));
		cells[I_CHAN] = top_value(json_object_get(it, "channel"));
		cells[I_PRI] = top_value(json_object_get(it, "priority"));
		cells[I_WAIT] = strdup(wait);
		cells[I_AGENT] = json_is_string(json_object_get(it, "agent"))
		                     ? top_value(json_object_get(it, "agent"))
		                     : strdup("");
		cells[I_SUBJECT] = top_value(json_object_get(it, "subject"));
		if (i == top.isel)
			evbuffer_add(b, "\x1b[7m", 4);
		for (int k = 0, firstcol = 1; k < I_N; k++) {
			if (show[k]) {
				if (!firstcol)
					evbuffer_add(b, " ", 1);
				firstcol = 0;
				report_cell(b, cells[k] != NULL ? cells[k] : "", w[k], right[k]);
			}
			free(cells[k]);
		}
		top_eol(b, row);
	}
	if (top.items != NULL && n == 0 && *row < top.rows - 1) {
		evbuffer_add_printf(b, "(no tickets in line)");
		top_eol(b, row);
	}
}

/* The bottom line's text: a prompt, a message, or the keys. */
static char *
top_bottom_line(void)
{
	struct evbuffer *line = evbuffer_new();
	char *answer, label[TOP_NAME_MAX + 16];
	const char *ask = NULL;

	if (line == NULL)
		abort();
	switch (top.asking) {
	case ASK_PAUSE:
		ask = "pause reason (Enter to send, Esc to cancel): ";
		break;
	case ASK_MOVE:
		ask = "move to queue, or @user (Enter, Esc cancels): ";
		break;
	case ASK_BROADCAST:
		top_bcast_label(label, sizeof label);
		evbuffer_add_printf(line, "broadcast to %s (Tab: %s; Enter, Esc): ", label,
		                    top.bcast_site ? "queue" : "site");
		break;
	case ASK_NONE:
	default:
		break;
	}
	if (ask != NULL || top.asking == ASK_BROADCAST) {
		/* what was typed, sanitised; its end stays in view */
		size_t lead, keep = 0;
		if (ask != NULL)
			evbuffer_add_printf(line, "%s", ask);
		lead = evbuffer_get_length(line);
		answer = term_sanitize(top.answer, strlen(top.answer), 0);
		while (answer[keep] != '\0' &&
		       lead + 1 + view_width(answer + keep) > (size_t)top.cols)
			for (keep++; ((unsigned char)answer[keep] & 0xC0) == 0x80; keep++)
				;
		evbuffer_add_printf(line, "%s", answer + keep);
		free(answer);
	} else if (top.status[0] != '\0')
		evbuffer_add_printf(line, "%s", top.status);
	else if (top.note[0] != '\0')
		evbuffer_add_printf(line, "%s", top.note);
	else if (top.iqueue[0] != '\0')
		evbuffer_add_printf(line, "x back  j/k move  m move to  +/- priority  b broadcast  "
		                          "q quit");
	else
		evbuffer_add_printf(line,
		                    "q quit  Tab %s  j/k move  i items  s/S sort  r ready  "
		                    "p pause  b broadcast",
		                    top.on_queues ? "agents" : "queues");
	return render_take(line);
}

/* The main view below the title: the queue table, the sparkline and the
 * agents, down to the bottom line. qs: the n queue scopes in order (qat
 * the selected one), ss: the ns sites'; show: the columns that fit. */
static void
top_draw_main(struct evbuffer *b, int *row, const json_t **qs, size_t nq, const json_t **ss,
              size_t ns, size_t qat, const int show[TC_N])
{
	size_t i;

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
	top_eol(b, row);
	int room = top.rows - *row - 6; /* spark, agents header, a few agents, status */
	room = room < 2 ? 2 : room;
	/* scrolled so that the selected queue shows */
	size_t qfirst = qat >= (size_t)room ? qat - (size_t)room + 1 : 0;
	for (size_t k = qfirst; k < nq + ns && room > 0 && *row < top.rows - 1; k++, room--) {
		const json_t *s = k < nq ? qs[k] : ss[k - nq];
		if (k == qat && k < nq)
			evbuffer_add(b, top.on_queues ? "\x1b[7m" : "\x1b[1m", 4);
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
		top_eol(b, row);
	}
	if (nq + ns == 0 && *row < top.rows - 1) {
		evbuffer_add_printf(b, "(waiting for figures)");
		top_eol(b, row);
	}
	/* sparkline */
	if (*row < top.rows - 1) {
		evbuffer_add_printf(b, "waiting, 30 min: ");
		top_spark_line(b, (size_t)top.cols > 40 ? (size_t)top.cols - 30 : 10);
		top_eol(b, row);
	}
	/* agents, scrolled so that the selected one shows */
	size_t na = json_array_size(top.agents);
	if (top.sel >= na && na > 0)
		top.sel = na - 1;
	if (*row < top.rows - 1) {
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
		top_eol(b, row);
	}
	int arows = top.rows - 1 - *row;
	size_t first = 0;
	if (arows > 0 && top.sel >= (size_t)arows)
		first = top.sel - (size_t)arows + 1;
	for (i = first; i < na && *row < top.rows - 1; i++) {
		top_agent_line(b, json_array_get(top.agents, i), i == top.sel && !top.on_queues);
		top_eol(b, row);
	}
}

/* Draw the whole screen. */
static void
top_draw(void)
{
	struct evbuffer *b, *line;
	int show[TC_N], row = 0;
	size_t nq = 0, ns = 0, qat;
	const json_t **qs, **ss;
	const char *key;
	json_t *sc;
	char clock[16];
	time_t now = time(NULL);
	struct tm tm;

	if (!top.active || (b = evbuffer_new()) == NULL)
		return;
	top.dirty = 0;
	qs = top_sorted_queues(&nq);
	qat = top_queue_index(qs, nq);
	ss = calloc(json_object_size(top.scopes) + 1, sizeof *ss);
	if (ss == NULL)
		abort();
	json_object_foreach(top.scopes, key, sc)
	{
		if (strncmp(key, "site:", 5) == 0)
			ss[ns++] = sc;
	}
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
	if (top.iqueue[0] != '\0')
		top_draw_items(b, &row);
	else
		top_draw_main(b, &row, qs, nq, ss, ns, qat, show);
	while (row < top.rows - 1)
		top_eol(b, &row);
	/* the bottom line: a question, a message, or the keys */
	char *t = top_bottom_line();
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

/* The selected item of the open queue, or NULL. */
static const json_t *
top_item(void)
{
	return json_array_get(json_object_get(top.items, "items"), top.isel);
}

/* Ask for the open queue's items, unless a request is out already. */
static void
top_fetch_items(void)
{
	if (top.iqueue[0] == '\0' || top.items_pending)
		return;
	top.items_us = session_now_us();
	if (top_send(json_pack("{s:s, s:s, s:i}", "op", "queue.items", "queue", top.iqueue, "limit",
	                       TOP_ITEMS_LIMIT)) == 0)
		top.items_pending = 1;
}

/* Open the items pane of the selected queue. */
static void
top_open_items(void)
{
	size_t n;
	const json_t **qs = top_sorted_queues(&n);

	if (n > 0)
		top_queue_index(qs, n);
	free(qs);
	if (n == 0 || top.qsel[0] == '\0') {
		top_say("i: no queue to open yet");
		return;
	}
	snprintf(top.iqueue, sizeof top.iqueue, "%s", top.qsel);
	json_decref(top.items);
	top.items = NULL;
	top.isel = 0;
	top.isel_id = 0;
	top_fetch_items();
}

/* Move the selected queue row by delta. */
static void
top_queue_step(int delta)
{
	size_t n, i;
	const json_t **qs = top_sorted_queues(&n);

	if (n > 0) {
		i = top_queue_index(qs, n);
		if (delta > 0 && i + 1 < n)
			i++;
		else if (delta < 0 && i > 0)
			i--;
		const char *q = json_string_value(json_object_get(qs[i], "queue"));
		snprintf(top.qsel, sizeof top.qsel, "%s", q != NULL ? q : "");
	}
	free(qs);
}

/* m: move the selected item to a queue, or to "@user" (an offer). */
static void
top_move(const char *to)
{
	const json_t *it = top_item();
	json_t *req;

	if (it == NULL) {
		top_say("move: no ticket selected");
		return;
	}
	if (to[0] == '\0' || strcmp(to, "@") == 0) {
		top_say("move: give a queue code, or @user for an agent");
		return;
	}
	req = json_pack("{s:s, s:O, s:O}", "op", "ticket.transfer", "ticket",
	                json_object_get(it, "id"), "version", json_object_get(it, "version"));
	if (req != NULL)
		json_object_set_new(req, to[0] == '@' ? "agent" : "queue",
		                    json_string(to[0] == '@' ? to + 1 : to));
	if (top_send(req) == 0)
		top_say("move sent");
}

/* + and -: the selected item's priority one step up or down. */
static void
top_priority(int delta)
{
	const json_t *it = top_item();
	json_int_t p;

	if (it == NULL) {
		top_say("priority: no ticket selected");
		return;
	}
	p = json_integer_value(json_object_get(it, "priority")) + delta;
	if (p < 1 || p > 9) {
		top_say("priority: it goes from 1 to 9 (9 the most urgent)");
		return;
	}
	if (top_send(json_pack("{s:s, s:O, s:O, s:I}", "op", "ticket.update", "ticket",
	                       json_object_get(it, "id"), "version", json_object_get(it, "version"),
	                       "priority", p)) == 0)
		top_say("priority sent");
}

/* Where a broadcast goes now, for the prompt and the reply: "queue CODE",
 * "site CODE" or "every site". */
static void
top_bcast_label(char *buf, size_t len)
{
	const char *site = json_string_value(json_object_get(session_agent(), "site"));
	const char *q = top.iqueue[0] ? top.iqueue : top.qsel;

	if (!top.bcast_site && q[0] != '\0')
		snprintf(buf, len, "queue %s", q);
	else if (site != NULL)
		snprintf(buf, len, "site %s", site);
	else
		snprintf(buf, len, "every site");
}

/* b: send the message typed to the queue's or the site's agents. */
static void
top_broadcast(const char *message)
{
	const char *q = top.iqueue[0] ? top.iqueue : top.qsel;
	json_t *req;

	if (message[0] == '\0') {
		top_say("broadcast: no message given");
		return;
	}
	req = json_pack("{s:s, s:s}", "op", "agent.broadcast", "message", message);
	if (req != NULL && !top.bcast_site && q[0] != '\0')
		json_object_set_new(req, "queue", json_string(q));
	top_bcast_label(top.bcast_to, sizeof top.bcast_to);
	if (top_send(req) == 0)
		top_say("broadcast sent");
}

/* The prompt ended with Enter: act on the answer. */
static void
top_answer(void)
{
	enum top_ask ask = top.asking;

	top.asking = ASK_NONE;
	switch (ask) {
	case ASK_PAUSE:
		if (top.answer[0] == '\0')
			top_say("pause: no reason given");
		else if (top_send(top_selected_is_self()
		                      ? json_pack("{s:s, s:s}", "op", "agent.pause", "reason",
		                                  top.answer)
		                      : json_pack("{s:s, s:s, s:s, s:s}", "op", "agent.set",
		                                  "agent", top_selected_user(), "state", "paused",
		                                  "reason", top.answer)) == 0)
			top_say("pause sent");
		break;
	case ASK_MOVE:
		top_move(top.answer);
		break;
	case ASK_BROADCAST:
		top_broadcast(top.answer);
		break;
	case ASK_NONE:
	default:
		break;
	}
}

/* Whether byte c may be typed into the current prompt (n bytes so far). */
static int
top_answer_takes(int c, size_t n)
{
	size_t chars = 0;

	switch (top.asking) {
	case ASK_PAUSE:
		return ((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9')) &&
		       n < TOP_REASON_MAX;
	case ASK_MOVE:
		return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
		        (c == '@' && n == 0)) &&
		       n < TOP_NAME_MAX + 1;
	case ASK_BROADCAST:
		/* any text, UTF-8 included, up to the server's length */
		for (size_t i = 0; i < n; i++)
			chars += ((unsigned char)top.answer[i] & 0xC0) != 0x80;
		return c >= 0x20 && c != 0x7f && n + 1 < sizeof top.answer &&
		       (chars < TOP_MESSAGE_MAX || (c & 0xC0) == 0x80);
	case ASK_NONE:
	default:
		return 0;
	}
}

/* Start a prompt. */
static void
top_ask(enum top_ask ask)
{
	top.asking = ask;
	top.answer[0] = '\0';
}

/* A key while a prompt is up. */
static void
top_prompt_key(int c)
{
	size_t n = strlen(top.answer);

	if (c == '\r' || c == '\n')
		top_answer();
	else if (c == 0x1b) {
		top.asking = ASK_NONE;
		top_say("cancelled");
	} else if (c == '\t' && top.asking == ASK_BROADCAST)
		top.bcast_site = !top.bcast_site;
	else if ((c == 0x7f || c == 0x08) && n > 0) {
		/* a whole character back */
		while (n > 0 && ((unsigned char)top.answer[--n] & 0xC0) == 0x80)
			;
		top.answer[n] = '\0';
	} else if (top_answer_takes(c, n)) {
		top.answer[n] = (char)c;
		top.answer[n + 1] = '\0';
	}
	top.dirty = 1;
}

/* One key (or arrow, as 'k'/'j'). */
static void
top_key(int c)
{
	if (top.asking != ASK_NONE) {
		top_prompt_key(c);
		return;
	}
	top.status[0] = '\0';
	if (top.iqueue[0] != '\0') {
		/* the items pane */
		size_t n = json_array_size(json_object_get(top.items, "items"));
		switch (c) {
		case 'q':
			top_stop();
			session_finish(EXIT_OK);
			return;
		case 'x':
		case 0x1b:
			top.iqueue[0] = '\0';
			json_decref(top.items);
			top.items = NULL;
			break;
		case 'j':
			if (top.isel + 1 < n)
				top.isel++;
			break;
		case 'k':
			if (top.isel > 0)
				top.isel--;
			break;
		case 'm':
			if (top_item() == NULL)
				top_say("m: no ticket selected");
			else
				top_ask(ASK_MOVE);
			break;
		case '+':
		case '=':
			top_priority(1);
			break;
		case '-':
			top_priority(-1);
			break;
		case 'b':
			top.bcast_site = 0;
			top_ask(ASK_BROADCAST);
			break;
		default:
			break;
		}
		if (top_item() != NULL)
			top.isel_id = json_integer_value(json_object_get(top_item(), "id"));
		top.dirty = 1;
		return;
	}
	switch (c) {
	case 'q':
		top_stop();
		session_finish(EXIT_OK);
		return;
	case '\t':
		top.on_queues = !top.on_queues;
		break;
	case 'j':
		if (top.on_queues)
			top_queue_step(1);
		else if (top.sel + 1 < json_array_size(top.agents))
			top.sel++;
		break;
	case 'k':
		if (top.on_queues)
			top_queue_step(-1);
		else if (top.sel > 0)
			top.sel--;
		break;
	case '\r':
	case '\n':
		if (top.on_queues)
			top_open_items();
		break;
	case 'i':
		top_open_items();
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
		else
			top_ask(ASK_PAUSE);
		break;
	case 'b':
		/* to the selected queue from the queue rows, else to the site */
		top.bcast_site = !top.on_queues;
		top_ask(ASK_BROADCAST);
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
				/* arrows move the selection, never type into a prompt */
				if (c == 'A' && top.asking == ASK_NONE)
					top_key('k');
				else if (c == 'B' && top.asking == ASK_NONE)
					top_key('j');
			} else if (top.nkeys >= sizeof top.keys)
				top.nkeys = 0;
			continue;
		}
		if (c == 0x1b) {
			top.keys[0] = (char)c;
			top.nkeys = 1;
			/* a lone Esc (cancel, or close the items) ends the read */
			if (i == n - 1 && (top.asking != ASK_NONE || top.iqueue[0] != '\0')) {
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
	if (top.iqueue[0] != '\0' && session_now_us() - top.items_us >= TOP_ITEMS_EVERY)
		top_fetch_items();
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
	top.agents_acc = json_array();
	top.parts = json_array();
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
	    top.agents_acc == NULL || top.parts == NULL || top.stdin_ev == NULL ||
	    top.tick_ev == NULL) {
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
	top.items_pending = 0;
	json_object_clear(top.scopes);
	json_array_clear(top.parts);
	if (top_send(json_pack("{s:s}", "op", "stats.subscribe")) == 0)
		top_say("");
	top_fetch_agents();
	top_fetch_items();
}

/* A queue.items reply: the list of the open queue, the selection kept on
 * the same ticket when it is still there. */
static void
top_items_reply(json_t *msg)
{
	const char *q = json_string_value(json_object_get(msg, "queue"));
	json_t *items = json_object_get(msg, "items");

	if (q == NULL || strcmp(q, top.iqueue) != 0 || !json_is_array(items) ||
	    json_array_size(items) > TOP_ITEMS_LIMIT)
		return;
	json_decref(top.items);
	top.items = json_incref(msg);
	for (size_t i = 0; top.isel_id != 0 && i < json_array_size(items); i++)
		if (json_integer_value(json_object_get(json_array_get(items, i), "id")) ==
		    top.isel_id)
			top.isel = i;
	if (json_array_size(items) > 0) {
		if (top.isel >= json_array_size(items))
			top.isel = json_array_size(items) - 1;
		top.isel_id = json_integer_value(json_object_get(top_item(), "id"));
	}
	top.dirty = 1;
}

/* The confirmation of a move, a priority or a broadcast. */
static void
top_action_reply(const struct request *req, json_t *msg)
{
	const json_t *t = json_object_get(msg, "ticket");
	char *ref = top_value(json_object_get(t, "ref"));
	char *queue = top_value(json_object_get(t, "queue"));
	char *owner = top_value(json_object_get(t, "owner"));
	char line[400];

	if (strcmp(req->op, "agent.broadcast") == 0)
		snprintf(line, sizeof line, "broadcast to %s: delivered to %lld", top.bcast_to,
		         (long long)json_integer_value(json_object_get(msg, "delivered")));
	else if (strcmp(req->op, "ticket.update") == 0)
		snprintf(line, sizeof line, "%s: priority now %lld", ref,
		         (long long)json_integer_value(json_object_get(t, "priority")));
	else if (json_is_string(json_object_get(t, "owner")))
		snprintf(line, sizeof line, "%s: offered to %s (queue %s)", ref, owner, queue);
	else
		snprintf(line, sizeof line, "%s: moved to queue %s", ref, queue);
	top_say(line);
	free(ref);
	free(queue);
	free(owner);
	/* the list as it is now */
	top.items_us = 0;
	top_fetch_items();
}

void
top_reply(const struct request *req, json_t *msg)
{
	int ok = json_is_true(json_object_get(msg, "ok"));

	if (strcmp(req->op, "queue.stats") == 0) {
		if (req->id == top.agents_req)
			top.agents_pending = 0;
		if (ok) {
			json_t *agents = json_object_get(msg, "agents");
			const char *next = json_string_value(json_object_get(msg, "agents_next"));
			/* a page of a fetch started over since is dropped */
			if (req->id != top.agents_req)
				agents = NULL;
			if (json_is_array(agents) &&
			    json_array_size(top.agents_acc) + json_array_size(agents) <=
			        TOP_MAX_AGENTS) {
				json_array_extend(top.agents_acc, agents);
				if (next != NULL) {
					/* more pages: the list is replaced after the last */
					top_fetch_page(next);
				} else {
					json_decref(top.agents);
					top.agents = top.agents_acc;
					top.agents_acc = json_array();
					top.agents_us = session_now_us();
				}
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
	if (strcmp(req->op, "queue.items") == 0) {
		top.items_pending = 0;
		if (ok) {
			top_items_reply(msg);
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
		top_stats_part(msg);
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
	} else if (strcmp(req->op, "ticket.transfer") == 0 ||
	           strcmp(req->op, "ticket.update") == 0 || strcmp(req->op, "agent.broadcast") == 0)
		top_action_reply(req, msg);
}

void
top_event(json_t *msg)
{
	const char *name = json_string_value(json_object_get(msg, "event"));

	if (name == NULL)
		return;
	if (strcmp(name, "stats") == 0) {
		size_t i;
		json_t *sc;
		if (top_stats_part(msg))
			top_fetch_agents();
		/* the open queue's figures moved: its items too */
		json_array_foreach(json_object_get(msg, "scopes"), i, sc)
		{
			const char *q = json_string_value(json_object_get(sc, "queue"));
			if (top.iqueue[0] != '\0' && q != NULL && strcmp(q, top.iqueue) == 0)
				top_fetch_items();
		}
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
	json_decref(top.agents_acc);
	json_decref(top.parts);
	json_decref(top.alerts);
	json_decref(top.items);
	memset(&top, 0, sizeof top);
}
