/* report.c: `ccagent report`: the stats.report request from the command line,
 * and its rows as an aligned table, RFC 4180 CSV, JSON, or an SVG chart.
 *
 * The renderers are pure functions of the server's reply, so the unit tests
 * drive them with fixed rows. Every string from the server is sanitised
 * (term_sanitize) before it is shown; the SVG escapes it for XML as well,
 * and the CSV quotes it as RFC 4180 says. Numbers are plain in CSV and JSON
 * (ratios 0..1, times in ms) and made readable in the table (85.0%, 12.3s). */
#include "ccagent.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "sanitize.h"

#define REPORT_SVG_W      960
#define REPORT_SVG_H      420
#define REPORT_SVG_LEFT   70
#define REPORT_SVG_RIGHT  70
#define REPORT_SVG_TOP    50
#define REPORT_SVG_BOTTOM 70
#define REPORT_MAX_LABELS 24    /* x-axis labels drawn at most */
#define REPORT_MAX_TICKS  5     /* steps of the count axis at most */
#define REPORT_LABEL_MAX  28    /* characters of an x-axis label; longer ones end in "…" */
#define REPORT_LABEL_GAP  16    /* from the axis down to a label's end */
#define REPORT_LABEL_SIN  0.574 /* the labels are turned 35 degrees */
#define REPORT_LABEL_COS  0.819
#define REPORT_MIN_PLOT_H 120 /* the plot keeps this much height, whatever the labels */

/* The figures of a row, in column order. */
enum report_kind {
	RK_TEXT,  /* the row's key */
	RK_COUNT, /* an integer */
	RK_RATIO, /* 0..1 or null */
	RK_MS,    /* a duration in ms or null */
	RK_REAL,  /* a plain number or null */
};
static const struct report_col {
	const char *key;   /* member of a row */
	const char *title; /* table heading */
	enum report_kind kind;
} report_cols[] = {
    {"key", "key", RK_TEXT},
    {"offered", "offered", RK_COUNT},
    {"answered", "answered", RK_COUNT},
    {"answered_within", "in SL", RK_COUNT},
    {"abandoned", "abandoned", RK_COUNT},
    {"short_abandoned", "short ab.", RK_COUNT},
    {"sl", "SL", RK_RATIO},
    {"sl2", "SL2", RK_RATIO},
    {"asa_ms", "ASA", RK_MS},
    {"aht_ms", "AHT", RK_MS},
    {"occupancy", "occupancy", RK_RATIO},
    {"csat", "CSAT", RK_REAL},
};
#define REPORT_NCOLS (sizeof report_cols / sizeof report_cols[0])

/* A new buffer; out of memory is fatal in a terminal client. */
static struct evbuffer *
report_buffer(void)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		abort();
	return b;
}

/* render_value, with "-" for an absent member. */
static char *
report_value(const json_t *v)
{
	return v != NULL ? render_value(v) : strdup("-");
}

/* Whether s is a calendar date YYYY-MM-DD or a count of milliseconds. */
static int
report_date_ok(const char *s)
{
	struct tm tm;
	char *end;

	if (s[0] >= '0' && s[0] <= '9' && strlen(s) >= 11 && strspn(s, "0123456789") == strlen(s))
		return strlen(s) <= 15;
	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%d", &tm);
	return end != NULL && *end == '\0' && strlen(s) == 10;
}

/* One of the words in set (NULL-terminated). */
static int
report_one_of(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

int
report_args(int argc, char **argv, struct report_opts *o, char *err, size_t errlen)
{
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, 'F'},  {"to", required_argument, NULL, 'T'},
	    {"by", required_argument, NULL, 'b'},    {"site", required_argument, NULL, 'S'},
	    {"queue", required_argument, NULL, 'Q'}, {"format", required_argument, NULL, 'o'},
	    {"chart", required_argument, NULL, 'C'}, {NULL, 0, NULL, 0},
	};
	static const char *const bys[] = {"queue", "site", "agent", "day", "interval", NULL};
	static const char *const formats[] = {"table", "csv", "json", NULL};
	int c;

	memset(o, 0, sizeof *o);
	o->format = "table";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			o->from = optarg;
			break;
		case 'T':
			o->to = optarg;
			break;
		case 'b':
			o->by = optarg;
			break;
		case 'S':
			o->site = optarg;
			break;
		case 'Q':
			o->queue = optarg;
			break;
		case 'o':
			o->format = optarg;
			break;
		case 'C':
			o->chart = optarg;
			break;
		default:
			snprintf(err, errlen, "report: unknown or incomplete option \"%s\"",
			         argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "report: unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	if (o->from == NULL || o->to == NULL || o->by == NULL) {
		snprintf(err, errlen, "report: --from, --to and --by are required");
		return -1;
	}
	if (!report_date_ok(o->from) || !report_date_ok(o->to)) {
		snprintf(err, errlen, "report: --from and --to take YYYY-MM-DD or milliseconds");
		return -1;
	}
	if (!report_one_of(o->by, bys)) {
		snprintf(err, errlen, "report: --by takes queue, site, agent, day or interval");
		return -1;
	}
	if (!report_one_of(o->format, formats)) {
		snprintf(err, errlen, "report: --format takes table, csv or json");
		return -1;
	}
	if ((o->site != NULL && (o->site[0] == '\0' || strlen(o->site) > 64)) ||
	    (o->queue != NULL && (o->queue[0] == '\0' || strlen(o->queue) > 64))) {
		snprintf(err, errlen, "report: --site and --queue take a code of 1 to 64 bytes");
		return -1;
	}
	if (o->chart != NULL && o->chart[0] == '\0') {
		snprintf(err, errlen, "report: --chart takes a file name");
		return -1;
	}
	return 0;
}

/* A date or milliseconds as the request member: a string or an integer. */
static json_t *
report_when(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-')
		return json_integer(strtoll(s, NULL, 10));
	return json_string(s);
}

json_t *
report_request(const struct report_opts *o)
{
	json_t *req = json_pack("{s:s, s:o, s:o, s:s}", "op", "stats.report", "from",
	                        report_when(o->from), "to", report_when(o->to), "by", o->by);

	if (req != NULL && o->site != NULL)
		json_object_set_new(req, "site", json_string(o->site));
	if (req != NULL && o->queue != NULL)
		json_object_set_new(req, "queue", json_string(o->queue));
	return req;
}

/* The rows and then the totals row, if any, in one new array. */
static json_t *
report_all_rows(const json_t *reply)
{
	json_t *all = json_array(), *rows = json_object_get(reply, "rows");
	json_t *totals = json_object_get(reply, "totals");
	size_t i;
	json_t *r;

	if (all == NULL)
		abort();
	json_array_foreach(rows, i, r)
	{
		if (json_is_object(r))
			json_array_append(all, r);
	}
	if (json_is_object(totals) && json_array_size(all) > 0) {
		json_t *t = json_deep_copy(totals);
		if (t != NULL) {
			json_object_set_new(t, "key", json_string("total"));
			json_array_append_new(all, t);
		}
	}
	return all;
}

/* The sanitised text of a row's key; an interval start (ms) reads as
 * "YYYY-MM-DD HH:MM" UTC when human is set. Caller frees. */
static char *
report_key(const json_t *row, int human)
{
	const json_t *k = json_object_get(row, "key");
	const char *s = json_string_value(k);

	if (human && s != NULL && strlen(s) >= 11 && strspn(s, "0123456789") == strlen(s)) {
		time_t t = (time_t)(strtoll(s, NULL, 10) / 1000);
		struct tm tm;
		char buf[32];
		if (gmtime_r(&t, &tm) != NULL &&
		    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm) > 0)
			return strdup(buf);
	}
	return report_value(k);
}

/* A figure as table text: counts plain, ratios in %, durations in s. */
static void
report_human(char *buf, size_t len, const json_t *v, enum report_kind kind)
{
	if (!json_is_number(v)) {
		snprintf(buf, len, "-");
		return;
	}
	switch (kind) {
	case RK_RATIO:
		snprintf(buf, len, "%.1f%%", json_number_value(v) * 100.0);
		break;
	case RK_MS:
		snprintf(buf, len, "%.1fs", json_number_value(v) / 1000.0);
		break;
	case RK_REAL:
		snprintf(buf, len, "%.2f", json_number_value(v));
		break;
	case RK_COUNT:
	case RK_TEXT:
	default:
		snprintf(buf, len, "%.0f", json_number_value(v));
		break;
	}
}

/* A figure as CSV text: integers plain, reals with up to 6 decimals, null
 * empty. */
static void
report_plain(char *buf, size_t len, const json_t *v)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v)) {
		snprintf(buf, len, "%.6f", json_real_value(v));
		/* 0.850000 -> 0.85; 1.000000 -> 1 */
		char *dot = strchr(buf, '.');
		if (dot != NULL) {
			char *e = buf + strlen(buf) - 1;
			while (e > dot && *e == '0')
				*e-- = '\0';
			if (e == dot)
				*e = '\0';
		}
	} else
		buf[0] = '\0';
}

void
report_cell(struct evbuffer *b, const char *s, size_t cols, int right)
{
	size_t w = view_width(s);

	if (w > cols) {
		/* cut, one character at a time, leaving room for "…" */
		size_t used = 0, n = strlen(s);
		const char *p = s;
		while (n > 0 && cols > 0) {
			size_t k = 1;
			while (k < n && ((unsigned char)p[k] & 0xc0) == 0x80)
				k++;
			char ch[8];
			memcpy(ch, p, k < sizeof ch ? k : sizeof ch - 1);
			ch[k < sizeof ch ? k : sizeof ch - 1] = '\0';
			size_t cw = view_width(ch);
			if (used + cw > cols - 1)
				break;
			evbuffer_add(b, p, k);
			used += cw;
			p += k;
			n -= k;
		}
		if (cols > 0) {
			evbuffer_add(b, "\xe2\x80\xa6", 3);
			used++;
		}
		for (; used < cols; used++)
			evbuffer_add(b, " ", 1);
		return;
	}
	if (right)
		for (size_t i = w; i < cols; i++)
			evbuffer_add(b, " ", 1);
	evbuffer_add(b, s, strlen(s));
	if (!right)
		for (size_t i = w; i < cols; i++)
			evbuffer_add(b, " ", 1);
}

char *
report_table(const json_t *reply)
{
	json_t *all = report_all_rows(reply);
	size_t n = json_array_size(all), width[REPORT_NCOLS];
	struct evbuffer *b = report_buffer();
	char ***cells = calloc(n + 1, sizeof *cells);

	if (cells == NULL)
		abort();
	for (size_t c = 0; c < REPORT_NCOLS; c++)
		width[c] = view_width(report_cols[c].title);
	for (size_t i = 0; i < n; i++) {
		const json_t *row = json_array_get(all, i);
		cells[i] = calloc(REPORT_NCOLS, sizeof **cells);
		if (cells[i] == NULL)
			abort();
		for (size_t c = 0; c < REPORT_NCOLS; c++) {
			char buf[64];
			if (report_cols[c].kind == RK_TEXT)
				cells[i][c] = report_key(row, 1);
			else {
				report_human(buf, sizeof buf,
				             json_object_get(row, report_cols[c].key),
				             report_cols[c].kind);
				cells[i][c] = strdup(buf);
			}
			if (cells[i][c] == NULL)
				abort();
			if (view_width(cells[i][c]) > width[c])
				width[c] = view_width(cells[i][c]);
		}
	}
	if (width[0] > 40)
		width[0] = 40;
	for (size_t c = 0; c < REPORT_NCOLS; c++) {
		if (c > 0)
			evbuffer_add(b, "  ", 2);
		report_cell(b, report_cols[c].title, width[c], c > 0);
	}
	evbuffer_add(b, "\n", 1);
	for (size_t i = 0; i < n; i++) {
		for (size_t c = 0; c < REPORT_NCOLS; c++) {
			if (c > 0)
				evbuffer_add(b, "  ", 2);
			report_cell(b, cells[i][c], width[c], c > 0);
			free(cells[i][c]);
		}
		free(cells[i]);
		evbuffer_add(b, "\n", 1);
	}
	if (n == 0)
		evbuffer_add_printf(b, "(no rows)\n");
	free(cells);
	json_decref(all);
	return render_take(b);
}

/* Append s as one RFC 4180 field: quoted when it holds a comma, a quote,
 * CR or LF (or starts with a space), quotes doubled. */
static void
report_csv_field(struct evbuffer *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL && s[0] != ' ') {
		evbuffer_add(b, s, strlen(s));
		return;
	}
	evbuffer_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			evbuffer_add(b, "\"", 1);
		evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

char *
report_csv(const json_t *reply)
{
	json_t *all = report_all_rows(reply);
	struct evbuffer *b = report_buffer();
	size_t i;
	json_t *row;

	for (size_t c = 0; c < REPORT_NCOLS; c++)
		evbuffer_add_printf(b, "%s%s", c > 0 ? "," : "", report_cols[c].key);
	evbuffer_add(b, "\r\n", 2);
	json_array_foreach(all, i, row)
	{
		for (size_t c = 0; c < REPORT_NCOLS; c++) {
			char buf[64];
			if (c > 0)
				evbuffer_add(b, ",", 1);
			if (report_cols[c].kind == RK_TEXT) {
				char *k = report_key(row, 0);
				report_csv_field(b, k);
				free(k);
			} else {
				report_plain(buf, sizeof buf,
				             json_object_get(row, report_cols[c].key));
				evbuffer_add(b, buf, strlen(buf));
			}
		}
		evbuffer_add(b, "\r\n", 2);
	}
	json_decref(all);
	return render_take(b);
}

char *
report_json(const json_t *reply)
{
	json_t *rows = json_object_get(reply, "rows");
	char *j = json_is_array(rows) ? json_dumps(rows, JSON_COMPACT | JSON_PRESERVE_ORDER)
	                              : strdup("[]");
	char *s;
	struct evbuffer *b;

	if (j == NULL)
		abort();
	/* the exact values, escaped where a terminal would take them as
	 * controls (render_raw) */
	s = render_raw(j, strlen(j));
	free(j);
	b = report_buffer();
	evbuffer_add_printf(b, "%s\n", s);
	free(s);
	return render_take(b);
}

/* Append s escaped for XML text or an attribute value; sanitised first, so
 * no control character (which XML 1.0 forbids) survives. */
static void
report_xml(struct evbuffer *b, const char *s)
{
	char *clean = term_sanitize(s, strlen(s), 0);

	for (const char *p = clean; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(b, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(b, "&apos;", 6);
			break;
		default:
			evbuffer_add(b, p, 1);
		}
	}
	free(clean);
}

/* A number of the row, 0 when absent. */
static double
report_num(const json_t *row, const char *key)
{
	return json_number_value(json_object_get(row, key));
}

/* The count axis: the step between ticks, 1, 2 or 5 times a power of 10
 * (at least 1: counts are whole), and the top, max rounded up to a step,
 * so that every tick is a round number and there are at most
 * REPORT_MAX_TICKS steps. */
static void
report_ticks(double max, double *step, double *top)
{
	static const double mult[] = {1, 2, 5};
	double p = 1, s = 1;
	long long k;

	if (!(max <= 1e15)) /* no count is near that; NaN too */
		max = 1e15;
	for (int i = 0; p < 1e18; i = (i + 1) % 3) {
		s = mult[i] * p;
		if (max <= s * REPORT_MAX_TICKS)
			break;
		if (i == 2)
			p *= 10;
	}
	k = (long long)(max / s);
	if ((double)k * s < max)
		k++;
	*step = s;
	*top = (double)(k > 0 ? k : 1) * s;
}

/* An x-axis label: at most REPORT_LABEL_MAX characters, a longer one cut
 * with an ellipsis. s is sanitised UTF-8; caller frees. */
static char *
report_label(const char *s)
{
	size_t chars = 0, cut = 0, i;
	char *out;

	for (i = 0; s[i] != '\0'; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && chars++ == REPORT_LABEL_MAX - 1)
			cut = i;
	if (chars <= REPORT_LABEL_MAX)
		return strdup(s);
	if ((out = malloc(cut + 4)) == NULL)
		abort();
	memcpy(out, s, cut);
	memcpy(out + cut, "\xe2\x80\xa6", 4); /* "…" and the NUL */
	return out;
}

/* The width of a label at 12 px, estimated on the wide side: 7.6 px an
 * ASCII character, 12 px any other (CJK ones are a full em). */
static double
report_label_width(const char *s)
{
	double w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x80)
			w += 7.6;
		else if ((*p & 0xc0) != 0x80)
			w += 12;
	return w;
}

char *
report_svg(const json_t *reply, const char *title)
{
	static const struct {
		const char *key, *label, *colour;
	} bars[] = {
	    {"offered", "offered", "#4e79a7"},
	    {"answered", "answered", "#59a14f"},
	    {"abandoned", "abandoned", "#e15759"},
	};
	const json_t *rows = json_object_get(reply, "rows");
	size_t n = json_array_size(rows), i;
	size_t every = n > REPORT_MAX_LABELS ? (n + REPORT_MAX_LABELS - 1) / REPORT_MAX_LABELS : 1;
	double x0 = REPORT_SVG_LEFT, bottom = REPORT_SVG_BOTTOM, pw, ph, y0;
	struct evbuffer *b = report_buffer();
	double top = 0, step = 1, max = 0, slot;
	char **labels = calloc(n > 0 ? n : 1, sizeof *labels);
	const json_t *row;

	if (labels == NULL)
		abort();
	json_array_foreach(rows, i, row)
	{
		for (size_t k = 0; k < 3; k++)
			if (report_num(row, bars[k].key) > max)
				max = report_num(row, bars[k].key);
	}
	report_ticks(max, &step, &top);

	/* Room for the turned x-axis labels: each hangs down and to the left
	 * of its slot's middle, so the plot is made shorter, and narrower on
	 * the left, until the longest fits inside the picture. */
	json_array_foreach(rows, i, row)
	{
		if (i % every != 0)
			continue;
		char *k = report_key(row, 1);
		labels[i] = report_label(k);
		free(k);
		double w = report_label_width(labels[i]);
		double f = ((double)i + 0.5) / (double)n;
		double need_b = REPORT_LABEL_GAP + w * REPORT_LABEL_SIN + 10;
		double need_l =
		    (w * REPORT_LABEL_COS + 10 - (REPORT_SVG_W - REPORT_SVG_RIGHT) * f) / (1 - f);
		if (need_b > bottom)
			bottom = need_b;
		if (need_l > x0)
			x0 = need_l;
	}
	if (bottom > REPORT_SVG_H - REPORT_SVG_TOP - REPORT_MIN_PLOT_H)
		bottom = REPORT_SVG_H - REPORT_SVG_TOP - REPORT_MIN_PLOT_H;
	if (x0 > REPORT_SVG_W / 3)
		x0 = REPORT_SVG_W / 3;
	pw = REPORT_SVG_W - x0 - REPORT_SVG_RIGHT;
	ph = REPORT_SVG_H - REPORT_SVG_TOP - bottom;
	y0 = REPORT_SVG_TOP + ph;
	slot = n > 0 ? pw / (double)n : pw;

	evbuffer_add_printf(b,
	                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	                    "width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
	                    "font-size=\"12\">\n",
	                    REPORT_SVG_W, REPORT_SVG_H, REPORT_SVG_W, REPORT_SVG_H);
	evbuffer_add(b, "<title>", 7);
	report_xml(b, title);
	evbuffer_add(b, "</title>\n", 9);
	evbuffer_add_printf(b, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
	                    REPORT_SVG_W, REPORT_SVG_H);
	evbuffer_add_printf(b, "<text x=\"%d\" y=\"24\" font-size=\"16\">", REPORT_SVG_LEFT);
	report_xml(b, title);
	evbuffer_add(b, "</text>\n", 8);

	/* grid and both axes: volume on the left (a line a tick), service
	 * level on the right (a quarter a tick) */
	for (int t = 0; (double)t * step <= top; t++) {
		double y = y0 - ph * (double)t * step / top;
		evbuffer_add_printf(b,
		                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		                    "stroke=\"#dddddd\"/>\n",
		                    x0, y, x0 + pw, y);
		evbuffer_add_printf(b,
		                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
		                    x0 - 6, y + 4, (double)t * step);
	}
	for (int t = 0; t <= 4; t++) {
		double y = y0 - ph * t / 4.0;
		evbuffer_add_printf(b,
		                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		                    "stroke=\"#999999\"/>\n",
		                    x0 + pw, y, x0 + pw + 4, y);
		evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%.1f\">%d%%</text>\n", x0 + pw + 6,
		                    y + 4, t * 25);
	}
	evbuffer_add_printf(b,
	                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
	                    "stroke=\"#333333\"/>\n",
	                    x0, y0, x0 + pw, y0);
	evbuffer_add_printf(b,
	                    "<text transform=\"translate(18 %.1f) rotate(-90)\" "
	                    "text-anchor=\"middle\">contacts</text>\n",
	                    REPORT_SVG_TOP + ph / 2);
	evbuffer_add_printf(b,
	                    "<text transform=\"translate(%d %.1f) rotate(90)\" "
	                    "text-anchor=\"middle\">service level</text>\n",
	                    REPORT_SVG_W - 14, REPORT_SVG_TOP + ph / 2);

	/* bars, three to a slot, and the x-axis labels */
	json_array_foreach(rows, i, row)
	{
		double sx = x0 + slot * (double)i, bw = slot * 0.8 / 3.0;
		for (size_t k = 0; k < 3; k++) {
			double h = top > 0 ? ph * report_num(row, bars[k].key) / top : 0;
			h = h < 0 ? 0 : h > ph ? ph : h;
			evbuffer_add_printf(b,
			                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			                    "height=\"%.1f\" fill=\"%s\"/>\n",
			                    sx + slot * 0.1 + bw * (double)k, y0 - h, bw, h,
			                    bars[k].colour);
		}
		if (labels[i] != NULL) {
			evbuffer_add_printf(b,
			                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
			                    "transform=\"rotate(-35 %.1f %.1f)\">",
			                    sx + slot / 2, y0 + REPORT_LABEL_GAP, sx + slot / 2,
			                    y0 + REPORT_LABEL_GAP);
			report_xml(b, labels[i]);
			evbuffer_add(b, "</text>\n", 8);
			free(labels[i]);
		}
	}
	free(labels);

	/* the service level line, broken where a slot has none; a point with
	 * no neighbour to join is drawn as a square marker */
	for (i = 0; i < n; i++) {
		size_t j = i;

		while (j < n && json_is_number(json_object_get(json_array_get(rows, j), "sl")))
			j++;
		if (j == i)
			continue;
		if (j - i > 1)
			evbuffer_add_printf(b, "<polyline fill=\"none\" stroke=\"#f28e2b\" "
			                       "stroke-width=\"2\" points=\"");
		for (size_t k = i; k < j; k++) {
			double v =
			    json_number_value(json_object_get(json_array_get(rows, k), "sl"));
			double px = x0 + slot * ((double)k + 0.5), py;
			v = v < 0 ? 0 : v > 1 ? 1 : v;
			py = y0 - ph * v;
			if (j - i == 1)
				evbuffer_add_printf(b,
				                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" "
				                    "height=\"8\" fill=\"#f28e2b\"/>\n",
				                    px - 4, py - 4);
			else
				evbuffer_add_printf(b, "%s%.1f,%.1f", k > i ? " " : "", px, py);
		}
		if (j - i > 1)
			evbuffer_add(b, "\"/>\n", 4);
		i = j;
	}

	/* legend */
	for (size_t k = 0; k < 4; k++) {
		double lx = x0 + 150.0 + 110.0 * (double)k;
		if (k < 3)
			evbuffer_add_printf(b,
			                    "<rect x=\"%.1f\" y=\"34\" width=\"10\" height=\"10\" "
			                    "fill=\"%s\"/><text x=\"%.1f\" y=\"43\">%s</text>\n",
			                    lx, bars[k].colour, lx + 14, bars[k].label);
		else
			evbuffer_add_printf(b,
			                    "<line x1=\"%.1f\" y1=\"39\" x2=\"%.1f\" y2=\"39\" "
			                    "stroke=\"#f28e2b\" stroke-width=\"2\"/>"
			                    "<text x=\"%.1f\" y=\"43\">service level</text>\n",
			                    lx, lx + 12, lx + 16);
	}
	if (n == 0)
		evbuffer_add_printf(b,
		                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no "
		                    "data</text>\n",
		                    x0 + pw / 2, REPORT_SVG_TOP + ph / 2);
	evbuffer_add(b, "</svg>\n", 7);
	return render_take(b);
}

int
report_output(const struct report_opts *o, const json_t *reply, char *err, size_t errlen)
{
	char *text;

	if (strcmp(o->format, "csv") == 0)
		text = report_csv(reply);
	else if (strcmp(o->format, "json") == 0)
		text = report_json(reply);
	else
		text = report_table(reply);
	fputs(text, stdout);
	free(text);
	if (fflush(stdout) != 0) {
		snprintf(err, errlen, "report: writing standard output: %s", strerror(errno));
		return -1;
	}
	if (o->chart != NULL) {
		char title[200];
		snprintf(title, sizeof title, "Contacts and service level by %s, %s to %s", o->by,
		         o->from, o->to);
		char *svg = report_svg(reply, title);
		FILE *f = fopen(o->chart, "w");
		int bad = f == NULL || fputs(svg, f) == EOF;
		if (f != NULL && fclose(f) != 0)
			bad = 1;
		free(svg);
		if (bad) {
			snprintf(err, errlen, "report: cannot write %s: %s", o->chart,
			         strerror(errno));
			return -1;
		}
	}
	return 0;
}
