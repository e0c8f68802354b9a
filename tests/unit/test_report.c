/* test_report.c: ccagent report's renderers on fixed stats.report rows: the
 * command line, RFC 4180 CSV, the CJK-aligned table, JSON, and the SVG
 * chart (well-formed, escaped, no script; round count ticks, long labels
 * cut and given room, a lone service level point drawn). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ccagent.h"

/* A reply with three rows (one with a hostile key, one with a Chinese
 * one, one without service level) and totals. */
static json_t *
fixture(void)
{
	const char *text =
	    "{\"ok\": true, \"from\": 1795392000000, \"to\": 1795478400000, \"by\": \"agent\","
	    " \"rows\": ["
	    "{\"key\": \"gz.\\u5f20\\u4f1f\", \"offered\": 120, \"answered\": 110,"
	    " \"answered_within\": 99, \"abandoned\": 10, \"short_abandoned\": 2,"
	    " \"sl\": 0.9, \"sl2\": 0.825, \"asa_ms\": 12345, \"aht_ms\": 240000,"
	    " \"occupancy\": 0.75, \"csat\": 4.5},"
	    "{\"key\": \"sh.a,\\\"b\\\"\\u001b[2J<x>&\", \"offered\": 7, \"answered\": 5,"
	    " \"answered_within\": 5, \"abandoned\": 2, \"short_abandoned\": 0,"
	    " \"sl\": 1, \"sl2\": 1.0, \"asa_ms\": 800, \"aht_ms\": 60000,"
	    " \"occupancy\": null, \"csat\": null},"
	    "{\"key\": \"sh.alice\", \"offered\": 0, \"answered\": 0, \"answered_within\": 0,"
	    " \"abandoned\": 0, \"short_abandoned\": 0, \"sl\": null, \"sl2\": null,"
	    " \"asa_ms\": null, \"aht_ms\": null, \"occupancy\": null, \"csat\": null}],"
	    " \"totals\": {\"key\": \"total\", \"offered\": 127, \"answered\": 115,"
	    " \"answered_within\": 104, \"abandoned\": 12, \"short_abandoned\": 2,"
	    " \"sl\": 0.904, \"sl2\": 0.83, \"asa_ms\": 11000, \"aht_ms\": 230000,"
	    " \"occupancy\": 0.75, \"csat\": 4.5}}";
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (v == NULL)
		fail_msg("fixture: %s", e.text);
	return v;
}

/* The n-th line of text (0-based) into buf, without its line end. */
static void
line_of(const char *text, int n, char *buf, size_t len)
{
	const char *p = text;

	for (int i = 0; i < n && p != NULL; i++) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	assert_non_null(p);
	size_t k = strcspn(p, "\r\n");
	assert_true(k < len);
	memcpy(buf, p, k);
	buf[k] = '\0';
}

/* Options: the good ones are taken, each bad one refused with a reason. */
static void
test_args(void **state)
{
	struct report_opts o;
	char err[256];
	char *good[] = {"report", "--from", "2026-11-01", "--to", "2026-11-23", "--by",    "queue",
	                "--site", "SH",     "--format",   "csv",  "--chart",    "out.svg", NULL};
	char *no_by[] = {"report", "--from", "2026-11-01", "--to", "2026-11-23", NULL};
	char *bad_by[] = {"report",     "--from", "2026-11-01", "--to",
	                  "2026-11-23", "--by",   "week",       NULL};
	char *bad_date[] = {"report",     "--from", "2026-13-45", "--to",
	                    "2026-11-23", "--by",   "day",        NULL};
	char *bad_fmt[] = {"report", "--from", "2026-11-01", "--to", "2026-11-23",
	                   "--by",   "day",    "--format",   "xml",  NULL};
	char *stray[] = {"report", "--from", "2026-11-01", "--to", "2026-11-23",
	                 "--by",   "day",    "extra",      NULL};
	char *ms[] = {"report",        "--from", "1795392000000", "--to",
	              "1795478400000", "--by",   "interval",      NULL};

	(void)state;
	assert_int_equal(report_args(13, good, &o, err, sizeof err), 0);
	assert_string_equal(o.by, "queue");
	assert_string_equal(o.site, "SH");
	assert_string_equal(o.format, "csv");
	assert_string_equal(o.chart, "out.svg");
	json_t *req = report_request(&o);
	assert_string_equal(json_string_value(json_object_get(req, "op")), "stats.report");
	assert_string_equal(json_string_value(json_object_get(req, "from")), "2026-11-01");
	assert_string_equal(json_string_value(json_object_get(req, "site")), "SH");
	assert_null(json_object_get(req, "queue"));
	json_decref(req);

	assert_int_equal(report_args(7, ms, &o, err, sizeof err), 0);
	assert_string_equal(o.format, "table");
	req = report_request(&o);
	assert_int_equal(json_integer_value(json_object_get(req, "from")), 1795392000000LL);
	json_decref(req);

	assert_int_equal(report_args(5, no_by, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "--by"));
	assert_int_equal(report_args(7, bad_by, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "--by takes"));
	assert_int_equal(report_args(7, bad_date, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "YYYY-MM-DD"));
	assert_int_equal(report_args(9, bad_fmt, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "--format"));
	assert_int_equal(report_args(8, stray, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "extra"));
}

/* CSV: a header row, CRLF line ends, numbers plain, null empty, fields with
 * commas or quotes quoted with quotes doubled, controls removed. */
static void
test_csv(void **state)
{
	json_t *r = fixture();
	char *csv = report_csv(r);

	(void)state;
	assert_non_null(strstr(csv, "key,offered,answered,answered_within,abandoned,"
	                            "short_abandoned,sl,sl2,asa_ms,aht_ms,occupancy,csat\r\n"));
	assert_int_equal(strncmp(csv, "key,", 4), 0);
	assert_non_null(strstr(csv, "\r\ngz.\xe5\xbc\xa0\xe4\xbc\x9f,120,110,99,10,2,0.9,0.825,"
	                            "12345,240000,0.75,4.5\r\n"));
	assert_non_null(strstr(csv, "\r\n\"sh.a,\"\"b\"\"[2J<x>&\",7,5,5,2,0,1,1,800,60000,,\r\n"));
	assert_non_null(strstr(csv, "\r\nsh.alice,0,0,0,0,0,,,,,,\r\n"));
	assert_non_null(strstr(csv, "\r\ntotal,127,115,104,12,2,0.904,0.83,11000,230000,0.75,4.5"
	                            "\r\n"));
	assert_null(strchr(csv, '\x1b'));
	/* five records, each ending in CRLF */
	size_t n = 0;
	for (const char *p = csv; (p = strstr(p, "\r\n")) != NULL; p += 2)
		n++;
	assert_int_equal(n, 5);
	assert_string_equal(csv + strlen(csv) - 2, "\r\n");
	free(csv);
	json_decref(r);
}

/* The table: every line the same width on screen, Chinese names counted as
 * two cells, numbers right-aligned under their headings. */
static void
test_table(void **state)
{
	json_t *r = fixture();
	char *t = report_table(r);
	char head[512], zh[512], latin[512], total[512];

	(void)state;
	line_of(t, 0, head, sizeof head);
	line_of(t, 1, zh, sizeof zh);
	line_of(t, 3, latin, sizeof latin);
	line_of(t, 4, total, sizeof total);
	assert_int_equal(strncmp(zh, "gz.\xe5\xbc\xa0\xe4\xbc\x9f", 9), 0);
	assert_int_equal(strncmp(latin, "sh.alice", 8), 0);
	assert_int_equal(strncmp(total, "total", 5), 0);
	assert_int_equal(view_width(head), view_width(zh));
	assert_int_equal(view_width(head), view_width(latin));
	assert_int_equal(view_width(head), view_width(total));
	/* the Chinese name takes 7 cells, so it is padded by one cell less
	 * than its 9 bytes would suggest: the next column starts at the same
	 * cell in both lines */
	const char *zh_off = strstr(zh, "120"), *lat_off = strstr(latin, "  0  ");
	assert_non_null(zh_off);
	assert_non_null(lat_off);
	char zpre[512], lpre[512];
	snprintf(zpre, sizeof zpre, "%.*s", (int)(zh_off - zh + 3), zh);
	snprintf(lpre, sizeof lpre, "%.*s", (int)(lat_off - latin + 3), latin);
	assert_int_equal(view_width(zpre), view_width(lpre));
	/* readable figures */
	assert_non_null(strstr(zh, "90.0%"));
	assert_non_null(strstr(zh, "12.3s"));
	assert_non_null(strstr(latin, "-"));
	assert_null(strchr(t, '\x1b'));
	free(t);
	json_decref(r);

	/* no rows */
	json_t *empty = json_pack("{s:[]}", "rows");
	t = report_table(empty);
	assert_non_null(strstr(t, "(no rows)"));
	free(t);
	json_decref(empty);

	/* an interval key (ms) reads as a UTC time */
	json_t *iv = json_pack("{s:[{s:s, s:i}]}", "rows", "key", "1795425300000", "offered", 3);
	t = report_table(iv);
	assert_non_null(strstr(t, "2026-11-23 09:15"));
	free(t);
	json_decref(iv);
}

/* JSON: the rows as the server gave them, controls escaped. */
static void
test_json(void **state)
{
	json_t *r = fixture();
	char *j = report_json(r);

	(void)state;
	assert_null(strchr(j, '\x1b'));
	json_t *back = json_loads(j, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, json_object_get(r, "rows")));
	json_decref(back);
	free(j);
	json_decref(r);
}

/* A small XML well-formedness check: tags nest and close, attribute values
 * are quoted, text and values hold no raw '<' and only known entities. */
static int
xml_ok(const char *s)
{
	const char *stack[256];
	size_t lens[256], depth = 0;
	int root_seen = 0;

	while (*s != '\0') {
		if (*s == '&') {
			static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;",
			                                   "&apos;"};
			int ok = 0;
			for (size_t i = 0; i < 5; i++)
				if (strncmp(s, ents[i], strlen(ents[i])) == 0)
					ok = 1;
			if (!ok)
				return 0;
			s++;
			continue;
		}
		if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t' && *s != '\r')
			return 0;
		if (*s != '<') {
			s++;
			continue;
		}
		if (strncmp(s, "<?", 2) == 0) {
			s = strstr(s, "?>");
			if (s == NULL)
				return 0;
			s += 2;
			continue;
		}
		if (s[1] == '/') {
			const char *name = s + 2;
			size_t n = strcspn(name, ">");
			if (depth == 0 || n != lens[depth - 1] ||
			    strncmp(name, stack[depth - 1], n))
				return 0;
			depth--;
			s = name + n + 1;
			continue;
		}
		const char *name = ++s;
		size_t n = strcspn(name, " />");
		if (n == 0)
			return 0;
		if (depth == 0 && root_seen)
			return 0;
		root_seen = 1;
		s = name + n;
		for (;;) {
			s += strspn(s, " \n");
			if (strncmp(s, "/>", 2) == 0) {
				s += 2;
				break;
			}
			if (*s == '>') {
				if (depth == 256)
					return 0;
				stack[depth] = name;
				lens[depth++] = n;
				s++;
				break;
			}
			size_t an = strcspn(s, "=");
			if (an == 0 || s[an] != '=' || s[an + 1] != '"')
				return 0;
			const char *v = s + an + 2, *end = strchr(v, '"');
			if (end == NULL)
				return 0;
			for (const char *p = v; p < end; p++)
				if (*p == '<')
					return 0;
			s = end + 1;
		}
	}
	return depth == 0 && root_seen;
}

/* The chart: a standalone SVG with a viewBox, axis labels, one bar per
 * figure per row, the service level line, and no script; names escaped. */
static void
test_svg(void **state)
{
	json_t *r = fixture();
	char *svg = report_svg(r, "By agent <2026> & \"more\"");

	(void)state;
	assert_true(xml_ok(svg));
	assert_non_null(strstr(svg, "viewBox=\"0 0 "));
	assert_non_null(strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
	assert_null(strstr(svg, "<script"));
	assert_null(strstr(svg, "<x>"));
	assert_null(strchr(svg, '\x1b'));
	assert_non_null(strstr(svg, "sh.a,&quot;b&quot;[2J&lt;x&gt;&amp;"));
	assert_non_null(strstr(svg, "By agent &lt;2026&gt; &amp; &quot;more&quot;"));
	assert_non_null(strstr(svg, ">contacts</text>"));
	assert_non_null(strstr(svg, ">service level</text>"));
	assert_non_null(strstr(svg, "gz.\xe5\xbc\xa0\xe4\xbc\x9f"));
	assert_non_null(strstr(svg, "<polyline"));
	size_t bars = 0;
	for (const char *p = svg; (p = strstr(p, "<rect x=")) != NULL; p++)
		bars++;
	assert_int_equal(bars, 3 * 3 + 3); /* three per row, plus the legend's */
	free(svg);
	json_decref(r);

	/* a hostile payload in the key cannot open an element */
	json_t *evil = json_pack("{s:[{s:s, s:i, s:f}]}", "rows", "key",
	                         "</text><script>alert(1)</script>", "offered", 1, "sl", 0.5);
	svg = report_svg(evil, "t");
	assert_true(xml_ok(svg));
	assert_null(strstr(svg, "<script"));
	free(svg);
	json_decref(evil);

	/* no rows: still a well-formed chart */
	json_t *empty = json_pack("{s:[]}", "rows");
	svg = report_svg(empty, "empty");
	assert_true(xml_ok(svg));
	assert_non_null(strstr(svg, "no data"));
	free(svg);
	json_decref(empty);
}

/* The labels of the count axis ("0,1,2"): the texts anchored at their end
 * that are not turned (those are the x-axis labels). */
static void
count_ticks(const char *svg, char *buf, size_t len)
{
	static const char mark[] = "text-anchor=\"end\">";
	size_t used = 0;

	buf[0] = '\0';
	for (const char *p = svg; (p = strstr(p, mark)) != NULL;) {
		p += sizeof mark - 1;
		size_t k = strcspn(p, "<");
		assert_true(used + k + 2 < len);
		if (used > 0)
			buf[used++] = ',';
		memcpy(buf + used, p, k);
		used += k;
		buf[used] = '\0';
	}
}

/* A chart of one row offering max contacts: its count axis labels. */
static void
ticks_for(json_int_t max, const char *want)
{
	json_t *r = json_pack("{s:[{s:s,s:I,s:I,s:I}]}", "rows", "key", "q", "offered", max,
	                      "answered", max, "abandoned", (json_int_t)0);
	char *svg = report_svg(r, "t"), got[256];

	count_ticks(svg, got, sizeof got);
	assert_string_equal(got, want);
	free(svg);
	json_decref(r);
}

/* The count axis steps by 1, 2 or 5 times a power of ten, and its top is
 * the maximum rounded up to a step: every label a round number. */
static void
test_svg_ticks(void **state)
{
	(void)state;
	ticks_for(0, "0,1");
	ticks_for(3, "0,1,2,3");
	ticks_for(5, "0,1,2,3,4,5");
	ticks_for(7, "0,2,4,6,8");
	ticks_for(10, "0,2,4,6,8,10");
	ticks_for(11, "0,5,10,15");
	ticks_for(100, "0,20,40,60,80,100");
	ticks_for(120, "0,50,100,150");
	ticks_for(999999, "0,200000,400000,600000,800000,1000000");

	/* figures no server sends still make a chart: no negative bar, none
	 * above the plot */
	json_t *r =
	    json_pack("{s:[{s:s,s:f,s:i}]}", "rows", "key", "q", "offered", 1e300, "answered", -5);
	char *svg = report_svg(r, "odd");
	assert_true(xml_ok(svg));
	assert_null(strstr(svg, "height=\"-"));
	assert_null(strstr(svg, "y=\"-"));
	free(svg);
	json_decref(r);
}

/* The number after attr=" in the element that holds marker. */
static double
attr_before(const char *svg, const char *marker, const char *attr)
{
	const char *m = strstr(svg, marker), *p = m;
	char key[32];

	assert_non_null(m);
	snprintf(key, sizeof key, " %s=\"", attr);
	while (p > svg && *p != '<')
		p--;
	p = strstr(p, key);
	assert_true(p != NULL && p < m);
	return strtod(p + strlen(key), NULL);
}

/* Long x-axis labels are cut with an ellipsis, and the plot makes room
 * for the longest: its far end stays inside the picture (at the widths
 * the renderer assumes, 7.6 px an ASCII character). */
static void
test_svg_long_labels(void **state)
{
	char key[61], cut[64];
	json_t *r;
	char *svg;

	(void)state;
	memset(key, 'w', 60);
	key[60] = '\0';
	memset(cut, 'w', 27);
	memcpy(cut + 27, "\xe2\x80\xa6<", 5); /* "…" and the end of the text */
	r = json_pack("{s:[{s:s,s:i,s:f},{s:s,s:i,s:f}]}", "rows", "key", key, "offered", 3, "sl",
	              0.5, "key", "short", "offered", 1, "sl", 1.0);
	svg = report_svg(r, "long");
	assert_true(xml_ok(svg));
	assert_null(strstr(svg, key));
	assert_non_null(strstr(svg, cut));
	double x = attr_before(svg, cut, "x"), y = attr_before(svg, cut, "y");
	double w = 28 * 7.6; /* 27 letters and the ellipsis, counted as wide */
	assert_true(y + w * 0.574 <= 420);
	assert_true(x - w * 0.819 >= 0);
	free(svg);
	json_decref(r);

	/* 28 characters are kept whole; CJK counts one a character */
	r = json_pack("{s:[{s:s,s:i}]}", "rows", "key",
	              "\xe6\x8a\x95\xe8\xaf\x89\xe9\x80\x80\xe6\xac\xbe"
	              "abcdefghijklmnopqrstuvwx",
	              "offered", 1);
	svg = report_svg(r, "cjk");
	assert_non_null(strstr(svg, ">\xe6\x8a\x95\xe8\xaf\x89\xe9\x80\x80\xe6\xac\xbe"
	                            "abcdefghijklmnopqrstuvwx</text>"));
	free(svg);
	json_decref(r);
}

/* The service level: a run of slots is a line, a lone point a marker. */
static void
test_svg_sl_points(void **state)
{
	json_t *r = json_pack("{s:[{s:s,s:i,s:n},{s:s,s:i,s:f},{s:s,s:i,s:n}]}", "rows", "key", "a",
	                      "offered", 1, "sl", "key", "b", "offered", 1, "sl", 0.5, "key", "c",
	                      "offered", 1, "sl");
	char *svg = report_svg(r, "one point");

	(void)state;
	assert_true(xml_ok(svg));
	assert_null(strstr(svg, "<polyline"));
	assert_non_null(strstr(svg, "width=\"8\" height=\"8\" fill=\"#f28e2b\""));
	free(svg);
	json_decref(r);

	r = json_pack("{s:[{s:s,s:f},{s:s,s:f},{s:s,s:n},{s:s,s:f}]}", "rows", "key", "a", "sl",
	              0.25, "key", "b", "sl", 0.75, "key", "c", "sl", "key", "d", "sl", 1.0);
	svg = report_svg(r, "a line and a point");
	assert_true(xml_ok(svg));
	const char *line = strstr(svg, "<polyline");
	assert_non_null(line);
	assert_null(strstr(line + 1, "<polyline"));
	assert_non_null(strchr(strstr(line, "points=\"") + 8, ' ')); /* two points */
	assert_non_null(strstr(svg, "width=\"8\" height=\"8\" fill=\"#f28e2b\""));
	free(svg);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_csv),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_svg),
	    cmocka_unit_test(test_svg_ticks),
	    cmocka_unit_test(test_svg_long_labels),
	    cmocka_unit_test(test_svg_sl_points),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
