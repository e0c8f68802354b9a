/* test_page.c: the HTML pages of ccgateway: escaping, the complaint form
 * with its values and errors, both languages, the confirmation, the status
 * page with a hostile timeline, the satisfaction form, the language rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "page.h"

/* 2026-11-23T07:04:00Z */
#define T0 1795417440000LL

/* The buffer's contents as a NUL-terminated string (malloc'd); the
 * buffer is freed. Fails the test if the output holds a NUL. */
static char *
take(struct evbuffer *b)
{
	size_t len = evbuffer_get_length(b);
	char *s = malloc(len + 1);

	assert_non_null(s);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	assert_int_equal(strlen(s), len);
	evbuffer_free(b);
	return s;
}

/* page_escape of s. */
static char *
esc(const char *s)
{
	struct evbuffer *b = evbuffer_new();

	assert_non_null(b);
	page_escape(b, s);
	return take(b);
}

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (strstr((hay), (needle)) == NULL)                                               \
			fail_msg("missing: %s", (needle));                                         \
	} while (0)
#define assert_lacks(hay, needle)                                                                  \
	do {                                                                                       \
		if (strstr((hay), (needle)) != NULL)                                               \
			fail_msg("should not be there: %s", (needle));                             \
	} while (0)

/* How many times needle occurs in hay. */
static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (hay = strstr(hay, needle); hay != NULL; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

/* The checks every page must pass: a doctype, the language, the viewport,
 * the one stylesheet, no script, no inline style or handler, no control
 * bytes, and a <label for> for every visible control. */
static void
check_page(const char *html, const char *lang_code)
{
	char want[64], id[64], label[96];
	const char *p, *q, *r;
	const unsigned char *u;
	size_t n;

	assert_true(strncmp(html, "<!DOCTYPE html>\n", 16) == 0);
	snprintf(want, sizeof want, "<html lang=\"%s\">", lang_code);
	assert_contains(html, want);
	assert_contains(html,
	                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
	assert_contains(html, "<meta charset=\"utf-8\">");
	assert_int_equal(count(html, "<link rel=\"stylesheet\" href=\"/static/gateway.css\">"), 1);
	assert_int_equal(count(html, "<h1>"), 1);
	assert_lacks(html, "<script");
	assert_lacks(html, "style=");
	assert_lacks(html, "<style");
	/* no event handler attribute and no script URL in any tag */
	for (p = strchr(html, '<'); p != NULL; p = strchr(p + 1, '<')) {
		q = strchr(p, '>');
		assert_non_null(q);
		for (r = p; r < q; r++)
			if (r[0] == ' ' && (r[1] == 'o' || r[1] == 'O') &&
			    (r[2] == 'n' || r[2] == 'N'))
				fail_msg("an on* attribute in %.*s", (int)(q - p + 1), p);
		if (memmem(p, (size_t)(q - p), "javascript:", 11) != NULL)
			fail_msg("a script URL in %.*s", (int)(q - p + 1), p);
	}
	for (u = (const unsigned char *)html; *u != '\0'; u++)
		if ((*u < 0x20 && *u != '\n' && *u != '\t') || *u == 0x7f)
			fail_msg("control byte 0x%02x in the page", *u);
	/* every input, select and textarea that is not hidden has a label */
	for (p = html; (p = strstr(p, " id=\"")) != NULL; p++) {
		for (q = p; q > html && *q != '<'; q--)
			;
		if (strncmp(q, "<input", 6) != 0 && strncmp(q, "<select", 7) != 0 &&
		    strncmp(q, "<textarea", 9) != 0)
			continue;
		n = strcspn(p + 5, "\"");
		assert_true(n < sizeof id);
		memcpy(id, p + 5, n);
		id[n] = '\0';
		snprintf(label, sizeof label, "<label for=\"%s\">", id);
		assert_contains(html, label);
	}
}

static void
test_escape_markup(void **state)
{
	char *s;

	(void)state;
	s = esc("<script>alert(\"x\" & 'y')</script>");
	assert_string_equal(s,
	                    "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
	free(s);
	s = esc("\"><img src=x onerror=alert(1)>");
	assert_string_equal(s, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
	free(s);
	s = esc("王芳 <b>€</b> 😀");
	assert_string_equal(s, "王芳 &lt;b&gt;€&lt;/b&gt; 😀");
	free(s);
	s = esc("");
	assert_string_equal(s, "");
	free(s);
}

static void
test_escape_controls(void **state)
{
	char *s;

	(void)state;
	/* ESC [31m: the escape is shown, the rest is plain text */
	s = esc("red\x1b[31mtext");
	assert_string_equal(s, "red\xef\xbf\xbd[31mtext");
	free(s);
	/* C1 CSI as a code point (U+009B) and as a lone byte */
	s = esc("a\xc2\x9b"
	        "31mb");
	assert_string_equal(s, "a\xef\xbf\xbd"
	                       "31mb");
	free(s);
	s = esc("a\x9b"
	        "31mb");
	assert_string_equal(s, "a\xef\xbf\xbd"
	                       "31mb");
	free(s);
	/* other C0, DEL, C1 (U+0080, U+009F); tab and newline stay */
	s = esc("\x01\x07\x08\x7f\xc2\x80\xc2\x9f|\t|\n|");
	assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	                       "\xef\xbf\xbd|\t|\n|");
	free(s);
	/* CRLF is a line break; a lone CR is a control */
	s = esc("a\r\nb\rc");
	assert_string_equal(s, "a\nb\xef\xbf\xbd"
	                       "c");
	free(s);
	/* U+00A0 is the first code point after C1 and stays */
	s = esc("\xc2\xa0");
	assert_string_equal(s, "\xc2\xa0");
	free(s);
}

static void
test_escape_bad_utf8(void **state)
{
	static const char *const bad[] = {
	    "\xc0\xaf",         /* overlong '/' */
	    "\xe0\x80\xaf",     /* overlong */
	    "\xed\xa0\x80",     /* a surrogate */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xe4\xb8",         /* cut short */
	    "\xff",
	    "\x80",
	};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s = esc(bad[i]);
		/* one U+FFFD per byte, nothing of the input left */
		assert_int_equal(strlen(s), 3 * strlen(bad[i]));
		assert_int_equal(count(s, "\xef\xbf\xbd"), (int)strlen(bad[i]));
		free(s);
	}
	s = esc("ok\xe4\xb8<");
	assert_string_equal(s, "ok\xef\xbf\xbd\xef\xbf\xbd&lt;");
	free(s);
	/* NULL writes nothing */
	s = esc(NULL);
	assert_string_equal(s, "");
	free(s);
}

/* page_form into a string. */
static char *
form(enum gw_lang lang, const struct gw_form *f, const struct gw_field_error *e, size_t n,
     enum gw_banner banner)
{
	struct evbuffer *b = evbuffer_new();

	assert_non_null(b);
	page_form(b, lang, "ft-1234\"<x>", f, e, n, banner);
	return take(b);
}

static void
test_form_empty_zh(void **state)
{
	char *h = form(GW_LANG_ZH, NULL, NULL, 0, GW_BANNER_NONE);

	(void)state;
	check_page(h, "zh-CN");
	assert_contains(h, "<title>提交投诉 - 客户服务中心</title>");
	assert_contains(h, "<form method=\"post\" action=\"/complaints\"");
	assert_contains(h, "<label for=\"name\">姓名");
	assert_contains(h, "<label for=\"phone\">电话号码");
	assert_contains(h, "<label for=\"email\">电子邮箱");
	assert_contains(h, "<label for=\"order\">订单号");
	assert_contains(h, "<label for=\"category\">投诉类型");
	assert_contains(h, "<label for=\"description\">问题描述");
	assert_contains(h, "<label for=\"resolution\">期望的处理方式");
	assert_contains(h, "<label for=\"urgency\">紧急程度");
	assert_contains(h, ">退款</option>");
	assert_contains(h, ">换货</option>");
	assert_contains(h, ">道歉</option>");
	assert_contains(h, ">补偿</option>");
	assert_contains(h, "<option value=\"normal\" selected>一般</option>");
	assert_contains(h, "<option value=\"\" selected>请选择</option>");
	/* the form token, escaped */
	assert_contains(h, "name=\"form_token\" value=\"ft-1234&quot;&lt;x&gt;\"");
	/* the honeypot: hidden from people and assistive technology */
	assert_contains(
	    h, "<div class=\"hp\" aria-hidden=\"true\">\n<label for=\"website\">此栏请留空");
	assert_contains(h, "<input type=\"text\" id=\"website\" name=\"website\" value=\"\" "
	                   "tabindex=\"-1\" autocomplete=\"off\">");
	/* the switch to English, no errors */
	assert_contains(h, "<a href=\"/?lang=en\" lang=\"en\" hreflang=\"en\">English</a>");
	assert_lacks(h, "aria-invalid");
	assert_lacks(h, "error-summary");
	assert_lacks(h, "role=\"alert\"");
	free(h);
}

static void
test_form_en(void **state)
{
	char *h = form(GW_LANG_EN, NULL, NULL, 0, GW_BANNER_NONE);

	(void)state;
	check_page(h, "en");
	assert_contains(h, "<title>Make a complaint - Customer service</title>");
	assert_contains(h, "<label for=\"name\">Name");
	assert_contains(h, "<label for=\"website\">Leave this field empty");
	assert_contains(h, ">Compensation</option>");
	assert_contains(h, "<a href=\"/?lang=zh-CN\" lang=\"zh-CN\" hreflang=\"zh-CN\">中文</a>");
	assert_lacks(h, "姓名");
	free(h);
}

static void
test_form_keeps_values_escaped(void **state)
{
	struct gw_form f;
	char *h;

	(void)state;
	memset(&f, 0, sizeof f);
	snprintf(f.name, sizeof f.name, "\"><script>alert(1)</script>");
	snprintf(f.phone, sizeof f.phone, "138 0013 8000");
	snprintf(f.email, sizeof f.email, "a'b@example.com");
	snprintf(f.order, sizeof f.order, "SO-1&2");
	snprintf(f.category, sizeof f.category, "refund");
	snprintf(f.description, sizeof f.description,
	         "</textarea><script>alert(2)</script>\nline 2\x1b[2J");
	snprintf(f.resolution, sizeof f.resolution, "exchange");
	snprintf(f.urgency, sizeof f.urgency, "urgent");
	h = form(GW_LANG_ZH, &f, NULL, 0, GW_BANNER_NONE);
	check_page(h, "zh-CN");
	assert_contains(h, "value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"");
	assert_contains(h, "value=\"138 0013 8000\"");
	assert_contains(h, "value=\"a&#39;b@example.com\"");
	assert_contains(h, "value=\"SO-1&amp;2\"");
	assert_contains(h, ">\n&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;\nline "
	                   "2\xef\xbf\xbd[2J</textarea>");
	assert_int_equal(count(h, "</textarea>"), 1);
	assert_contains(h, "<option value=\"refund\" selected>");
	assert_contains(h, "<option value=\"exchange\" selected>");
	assert_contains(h, "<option value=\"urgent\" selected>");
	assert_contains(h, "<option value=\"\">请选择</option>");
	assert_lacks(h, "<option value=\"normal\" selected>");
	free(h);

	/* a value that is not a choice selects nothing (or "normal") */
	snprintf(f.category, sizeof f.category, "x\"y");
	snprintf(f.urgency, sizeof f.urgency, "soon");
	h = form(GW_LANG_EN, &f, NULL, 0, GW_BANNER_NONE);
	assert_lacks(h, "x\"y");
	assert_contains(h, "<option value=\"normal\" selected>");
	assert_int_equal(count(h, " selected"), 3);
	free(h);
}

static void
test_form_errors(void **state)
{
	static const struct gw_field_error e[] = {
	    {"name", GW_PROBLEM_MISSING},
	    {"email", GW_PROBLEM_INVALID},
	    {"description", GW_PROBLEM_TOO_LONG},
	    {"category", GW_PROBLEM_CHOICE},
	};
	char *h;

	(void)state;
	h = form(GW_LANG_ZH, NULL, e, 4, GW_BANNER_INVALID);
	check_page(h, "zh-CN");
	assert_contains(h, "<title>错误：提交投诉 - 客户服务中心</title>");
	/* the summary comes before the form and links to the fields */
	assert_true(strstr(h, "class=\"error-summary\"") < strstr(h, "<form "));
	assert_contains(h, "<h2 id=\"error-summary-title\">提交前请修改以下内容</h2>");
	assert_contains(h, "<li><a href=\"#name\">请填写您的姓名</a></li>");
	assert_contains(
	    h, "<li><a href=\"#email\">请填写有效的电子邮箱，例如 name@example.com</a></li>");
	assert_contains(h, "<li><a href=\"#description\">问题描述不能超过 4000 字</a></li>");
	assert_contains(h, "<li><a href=\"#category\">请从列出的投诉类型中选择一项</a></li>");
	/* beside each field: the message, aria-invalid and aria-describedby */
	assert_contains(h, "<p class=\"error\" id=\"name-error\"><span class=\"vh\">错误：</span>"
	                   "请填写您的姓名</p>");
	assert_contains(h, "id=\"name\" name=\"name\" aria-describedby=\"name-hint name-error\" "
	                   "aria-invalid=\"true\"");
	assert_contains(h,
	                "id=\"email\" name=\"email\" aria-describedby=\"email-hint email-error\" "
	                "aria-invalid=\"true\"");
	assert_contains(
	    h, "id=\"description\" name=\"description\" aria-describedby=\"description-hint "
	       "description-error\" aria-invalid=\"true\"");
	assert_contains(h, "id=\"category\" name=\"category\" aria-describedby=\"category-error\" "
	                   "aria-invalid=\"true\"");
	assert_int_equal(count(h, "aria-invalid=\"true\""), 4);
	assert_contains(h,
	                "id=\"phone\" name=\"phone\" aria-describedby=\"phone-hint\" autocomplete");
	free(h);

	/* English messages; the contact problem marks phone and e-mail */
	{
		static const struct gw_field_error c[] = {{"phone", GW_PROBLEM_CONTACT},
		                                          {"score", GW_PROBLEM_CHOICE}};

		h = form(GW_LANG_EN, NULL, c, 2, GW_BANNER_INVALID);
		check_page(h, "en");
		assert_contains(h, "<title>Error: Make a complaint - Customer service</title>");
		assert_contains(h,
		                "<li><a href=\"#phone\">Enter a phone number or an e-mail address "
		                "so that we can reach you</a></li>");
		/* a field the form does not have is listed, not linked */
		assert_contains(h, "<li>Choose a score from 1 to 5</li>");
		assert_int_equal(count(h, "aria-invalid=\"true\""), 2);
		assert_contains(h, "id=\"email-error\"");
		free(h);
	}
}

static void
test_form_banners(void **state)
{
	char *h;

	(void)state;
	h = form(GW_LANG_ZH, NULL, NULL, 0, GW_BANNER_UNAVAILABLE);
	check_page(h, "zh-CN");
	assert_contains(h, "<div class=\"banner\" role=\"alert\">");
	assert_contains(h, "您填写的内容都还在");
	assert_lacks(h, "错误：");
	free(h);
	h = form(GW_LANG_EN, NULL, NULL, 0, GW_BANNER_EXPIRED);
	assert_contains(h, "The form expired");
	free(h);
	h = form(GW_LANG_EN, NULL, NULL, 0, GW_BANNER_RATE_LIMITED);
	assert_contains(h, "Too many complaints");
	free(h);
	/* "invalid" without a list still says what to do */
	h = form(GW_LANG_EN, NULL, NULL, 0, GW_BANNER_INVALID);
	assert_contains(h, "class=\"error-summary\"");
	assert_contains(h, "see the notes beside them");
	free(h);
}

static void
test_problem_texts(void **state)
{
	static const char *const fields[] = {"name",     "phone",       "email",      "order",
	                                     "category", "description", "resolution", "urgency",
	                                     "score",    "comment",     "unknown"};
	struct gw_field_error e;
	const char *zh, *en;
	size_t i;
	int p;

	(void)state;
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		for (p = GW_PROBLEM_MISSING; p <= GW_PROBLEM_CONTACT; p++) {
			e.field = fields[i];
			e.problem = (enum gw_problem)p;
			zh = page_problem_text(GW_LANG_ZH, &e);
			en = page_problem_text(GW_LANG_EN, &e);
			assert_non_null(zh);
			assert_non_null(en);
			assert_true(strlen(zh) > 0 && strlen(en) > 0);
			assert_string_not_equal(zh, en);
		}
	}
	e.field = "comment";
	e.problem = GW_PROBLEM_TOO_LONG;
	assert_string_equal(page_problem_text(GW_LANG_EN, &e),
	                    "Your comments must be 1,000 characters or fewer");
	e.field = NULL;
	e.problem = GW_PROBLEM_MISSING;
	assert_string_equal(page_problem_text(GW_LANG_ZH, &e), "此项为必填项");
}

static void
test_confirm(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *h;

	(void)state;
	page_confirm(b, GW_LANG_ZH, "T261123-ABC123", "/status/T261123-ABC123?token=ab_c-9",
	             T0 + 2 * 3600000 + 5 * 60000, INT64_MIN, T0);
	h = take(b);
	check_page(h, "zh-CN");
	assert_contains(h, "<p class=\"ref\" id=\"ref\">T261123-ABC123</p>");
	assert_contains(h, "<a class=\"button\" id=\"status-link\" "
	                   "href=\"/status/T261123-ABC123?token=ab_c-9\">查看处理进度</a>");
	assert_contains(h, "<meta name=\"referrer\" content=\"no-referrer\">");
	assert_contains(h, "<meta name=\"robots\" content=\"noindex, nofollow\">");
	/* 07:04 UTC + 2 h 5 min is 17:09 in Shanghai */
	assert_contains(h, "北京时间");
	assert_contains(h, "<time datetime=\"2026-11-23T09:09:00Z\">2026年11月23日 17:09</time>");
	assert_contains(h, "还剩 2 小时 5 分钟");
	assert_contains(h, "尚未开始计时");
	/* the switch keeps the token */
	assert_contains(h, "href=\"/status/T261123-ABC123?token=ab_c-9&amp;lang=en\" lang=\"en\"");
	free(h);

	b = evbuffer_new();
	page_confirm(b, GW_LANG_EN, "<ref>", "/status/x?token=\"y\"", T0 - 1, T0 + 3 * 86400000LL,
	             T0);
	h = take(b);
	check_page(h, "en");
	assert_contains(h, "&lt;ref&gt;");
	assert_contains(h, "href=\"/status/x?token=&quot;y&quot;\"");
	assert_contains(h, "All times on this page are in UTC.");
	assert_contains(h, "<time datetime=\"2026-11-26T07:04:00Z\">26 Nov 2026, 07:04 UTC</time>");
	assert_contains(h, "3 days left");
	assert_contains(h, "<strong class=\"overdue\">overdue</strong>");
	free(h);

	/* the time left in its two largest units */
	{
		static const struct {
			int64_t left;
			const char *zh, *en;
		} left[] = {
		    {59999, "还剩不到 1 分钟", "less than a minute left"},
		    {60000, "还剩 1 分钟", "1 minute left"},
		    {3600000, "还剩 1 小时", "1 hour left"},
		    {3660000, "还剩 1 小时 1 分钟", "1 hour 1 minute left"},
		    {2 * 86400000LL + 7 * 3600000 + 59 * 60000, "还剩 2 天 7 小时",
		     "2 days 7 hours left"},
		};
		size_t i;

		for (i = 0; i < sizeof left / sizeof left[0]; i++) {
			b = evbuffer_new();
			page_confirm(b, GW_LANG_ZH, "T", "/s", T0 + left[i].left, INT64_MIN, T0);
			h = take(b);
			assert_contains(h, left[i].zh);
			free(h);
			b = evbuffer_new();
			page_confirm(b, GW_LANG_EN, "T", "/s", T0 + left[i].left, INT64_MIN, T0);
			h = take(b);
			assert_contains(h, left[i].en);
			free(h);
		}
	}
}

/* A complaint object as callcentred's complaint.status gives it. */
static json_t *
complaint(const char *state, const char *next, int allowed, int score)
{
	json_error_t err;
	json_t *c = json_pack_ex(
	    &err, 0,
	    "{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s,"
	    " s:{s:I, s:I, s:s, s:b}, s:{s:I, s:n, s:s, s:b}, s:s,"
	    " s:[{s:I, s:s}, {s:I, s:s, s:s}, {s:I, s:s, s:s}, {s:I, s:s, s:s}, {s:I, s:s, s:s}],"
	    " s:{s:b, s:o, s:o}}",
	    "ref", "T261123-ABC123", "state", state, "created_at", (json_int_t)T0, "updated_at",
	    (json_int_t)(T0 + 3600000), "category", "delivery", "resolution", "refund", "urgency",
	    "high", "language", "zh-CN", "first_response", "due_at", (json_int_t)(T0 + 1800000),
	    "met_at", (json_int_t)(T0 + 600000), "state", "stopped", "breached", 0,
	    "resolution_clock", "due_at", (json_int_t)(T0 + 86400000), "met_at", "state", "running",
	    "breached", 0, "next_step", next, "timeline", "at", (json_int_t)T0, "kind", "created",
	    "at", (json_int_t)T0, "kind", "customer", "text",
	    "快递三天没到<script>alert(1)</script>\n第二行 <img src=x onerror=alert(2)>\x1b[31m",
	    "at", (json_int_t)(T0 + 60000), "kind", "state", "state", "in_progress", "at",
	    (json_int_t)(T0 + 600000), "kind", "reply", "text",
	    "您好，已为您催件。\r\n\"</p><a href='javascript:x'>点我</a>", "at",
	    (json_int_t)(T0 + 3600000), "kind", "state", "state", state, "csat", "allowed", allowed,
	    "score", score ? json_integer(score) : json_null(), "comment",
	    score ? json_string("很好 <b>谢谢</b>") : json_null());

	if (c == NULL)
		fail_msg("json_pack: %s", err.text);
	return c;
}

/* page_status into a string. */
static char *
status(enum gw_lang lang, json_t *c, int64_t now)
{
	struct evbuffer *b = evbuffer_new();

	assert_non_null(b);
	page_status(b, lang, c, "tok_EN-123", "ft-9", now);
	json_decref(c);
	return take(b);
}

static void
test_status_hostile_timeline(void **state)
{
	char *h = status(GW_LANG_ZH, complaint("in_progress", "in_progress", 0, 0), T0 + 3600000);
	const char *tl;

	(void)state;
	check_page(h, "zh-CN");
	assert_contains(h, "<meta name=\"robots\" content=\"noindex, nofollow\">");
	assert_contains(h, "<dd class=\"ref\" id=\"ref\">T261123-ABC123</dd>");
	assert_contains(
	    h, "<p class=\"state\" id=\"state\" data-state=\"in_progress\">客服正在处理</p>");
	assert_contains(h, "客服正在处理您的投诉");
	assert_contains(h, "<dd>物流配送</dd>");
	assert_contains(h, "<dd>退款</dd>");
	assert_contains(h, "<dd>较急</dd>");
	/* the promises: the first reply met at 07:14 UTC, 15:14 in Shanghai;
	 * the resolution due tomorrow with 23 hours left */
	assert_contains(h, "<strong class=\"met\">已按时完成</strong>（<time "
	                   "datetime=\"2026-11-23T07:14:00Z\">2026年11月23日 15:14</time>）");
	assert_contains(h, "最迟 <time datetime=\"2026-11-24T07:04:00Z\">2026年11月24日 "
	                   "15:04</time>（还剩 23 小时）");
	/* the timeline: in order, the hostile text inert, line breaks kept */
	tl = strstr(h, "<ol class=\"timeline\">");
	assert_non_null(tl);
	assert_true(strstr(tl, "您提交了投诉") < strstr(tl, "您的留言"));
	assert_true(strstr(tl, "您的留言") < strstr(tl, "状态更新为：客服正在处理"));
	assert_true(strstr(tl, "状态更新为：客服正在处理") < strstr(tl, "客服回复"));
	assert_contains(h,
	                "<p class=\"text\">快递三天没到&lt;script&gt;alert(1)&lt;/script&gt;<br>\n"
	                "第二行 &lt;img src=x onerror=alert(2)&gt;\xef\xbf\xbd[31m</p>");
	assert_contains(h, "<p class=\"text\">您好，已为您催件。<br>\n&quot;&lt;/p&gt;&lt;a "
	                   "href=&#39;javascript:x&#39;&gt;点我&lt;/a&gt;</p>");
	assert_lacks(h, "<img");
	assert_lacks(h, "<a href='");
	/* not resolved: no rating form, a note that it comes later */
	assert_lacks(h, "name=\"score\"");
	assert_lacks(h, "/csat\"");
	assert_contains(h, "问题解决后，您可以在这里为我们的服务评分。");
	/* the switch keeps ref and token */
	assert_contains(h, "<a href=\"/status/T261123-ABC123?token=tok_EN-123&amp;lang=en\"");
	free(h);
}

static void
test_status_csat_form(void **state)
{
	char *h = status(GW_LANG_ZH, complaint("resolved", "resolved", 1, 0), T0 + 90000000);
	int i;
	char want[128];

	(void)state;
	check_page(h, "zh-CN");
	assert_contains(h, "data-state=\"resolved\">已解决</p>");
	assert_contains(h, "<form method=\"post\" action=\"/status/T261123-ABC123/csat\"");
	assert_contains(h, "<input type=\"hidden\" name=\"token\" value=\"tok_EN-123\">");
	assert_contains(h, "<input type=\"hidden\" name=\"form_token\" value=\"ft-9\">");
	assert_contains(h, "<legend>您对本次处理满意吗？</legend>");
	for (i = 1; i <= 5; i++) {
		snprintf(want, sizeof want, "name=\"score\" value=\"%d\"", i);
		assert_contains(h, want);
		snprintf(want, sizeof want, "<label for=\"score-%d\">%d 分：", i, i);
		assert_contains(h, want);
	}
	assert_contains(h,
	                "<textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"1000\"");
	assert_contains(h, "<label for=\"comment\">您的意见");
	/* the resolution clock has passed: overdue */
	assert_contains(h, "（<strong class=\"overdue\">已超时</strong>）");
	free(h);

	/* rated already: the rating, escaped, and no form */
	h = status(GW_LANG_EN, complaint("closed", "closed", 0, 4), T0);
	check_page(h, "en");
	assert_contains(h, "data-state=\"closed\">Closed</p>");
	assert_contains(h, "Your rating: 4: satisfied");
	assert_contains(h, "很好 &lt;b&gt;谢谢&lt;/b&gt;");
	assert_lacks(h, "<form");
	assert_lacks(h, "name=\"score\"");
	assert_contains(h, "This complaint is closed.");
	assert_contains(h, "<time datetime=\"2026-11-23T07:04:00Z\">23 Nov 2026, 07:04 UTC</time>");
	assert_contains(h, "<a href=\"/status/T261123-ABC123?token=tok_EN-123&amp;lang=zh-CN\"");
	free(h);
}

static void
test_status_sparse(void **state)
{
	json_t *c =
	    json_pack("{s:s, s:s, s:[{s:s}, {s:s, s:s}], s:{s:n, s:n, s:s, s:b}}", "ref", "T<1>",
	              "state", "weird", "timeline", "kind", "nonsense", "kind", "reply", "text", "",
	              "resolution_clock", "due_at", "met_at", "state", "idle", "breached", 0);
	char *h;

	(void)state;
	assert_non_null(c);
	h = status(GW_LANG_EN, c, T0);
	check_page(h, "en");
	assert_contains(h, "T&lt;1&gt;");
	assert_contains(h, "/status/T%3C1%3E?token=tok_EN-123&amp;lang=zh-CN");
	assert_contains(h, "data-state=\"weird\">In hand</p>");
	assert_contains(h, "We are handling your complaint.");
	assert_contains(h, "not started yet");
	assert_int_equal(count(h, "<li class=\"ev"), 1);
	free(h);

	/* a paused clock says so; a NULL complaint still makes a page */
	c = json_pack("{s:s, s:{s:I, s:n, s:s, s:b}}", "state", "pending_customer",
	              "first_response", "due_at", (json_int_t)(T0 + 600000), "met_at", "state",
	              "paused", "breached", 0);
	h = status(GW_LANG_ZH, c, T0);
	assert_contains(h, "等待您回复期间暂停计时");
	assert_contains(h, "等待您的回复");
	free(h);
	h = status(GW_LANG_ZH, NULL, T0);
	check_page(h, "zh-CN");
	assert_contains(h, "暂无记录。");
	free(h);
}

static void
test_thanks_and_errors(void **state)
{
	static const int statuses[] = {400, 403, 404, 405, 413, 429, 500, 503};
	struct evbuffer *b;
	char *h, *h500;
	size_t i;

	(void)state;
	b = evbuffer_new();
	page_csat_thanks(b, GW_LANG_ZH, "/status/T1?token=t");
	h = take(b);
	check_page(h, "zh-CN");
	assert_contains(h, "<h1>感谢您的评价</h1>");
	assert_contains(h, "<a class=\"button\" href=\"/status/T1?token=t\">返回处理进度</a>");
	free(h);

	b = evbuffer_new();
	page_error(b, GW_LANG_EN, 500);
	h500 = take(b);
	for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		b = evbuffer_new();
		page_error(b, i % 2 ? GW_LANG_EN : GW_LANG_ZH, statuses[i]);
		h = take(b);
		check_page(h, i % 2 ? "en" : "zh-CN");
		assert_contains(h, i % 2 ? ">Back to the complaint form</a>" : ">返回投诉表单</a>");
		if (statuses[i] != 500 && i % 2)
			assert_string_not_equal(h, h500);
		free(h);
	}
	b = evbuffer_new();
	page_error(b, GW_LANG_EN, 418);
	h = take(b);
	assert_string_equal(h, h500);
	free(h);
	free(h500);
}

static void
test_lang(void **state)
{
	(void)state;
	assert_int_equal(page_lang(NULL, NULL), GW_LANG_ZH);
	assert_int_equal(page_lang("en", NULL), GW_LANG_EN);
	assert_int_equal(page_lang("EN", NULL), GW_LANG_EN);
	assert_int_equal(page_lang("zh-CN", "en"), GW_LANG_ZH);
	assert_int_equal(page_lang("zh-cn", "en"), GW_LANG_ZH);
	assert_int_equal(page_lang(NULL, "en"), GW_LANG_EN);
	/* an unknown query falls back to the cookie, then to zh-CN */
	assert_int_equal(page_lang("fr", "en"), GW_LANG_EN);
	assert_int_equal(page_lang("", "en"), GW_LANG_EN);
	assert_int_equal(page_lang("en-GB", NULL), GW_LANG_ZH);
	assert_int_equal(page_lang("fr", "de"), GW_LANG_ZH);
	assert_string_equal(page_lang_code(GW_LANG_ZH), "zh-CN");
	assert_string_equal(page_lang_code(GW_LANG_EN), "en");
}

static void
test_css(void **state)
{
	size_t len = 0;
	const char *css = page_css(&len);

	(void)state;
	assert_int_equal(strlen(css), len);
	assert_contains(css, ".hp{position:absolute;left:-10000px");
	assert_contains(css, ":focus-visible");
	assert_contains(css, "min-height:48px");
	assert_lacks(css, "url(");
	assert_lacks(css, "@import");
	assert_non_null(page_css(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_markup),
	    cmocka_unit_test(test_escape_controls),
	    cmocka_unit_test(test_escape_bad_utf8),
	    cmocka_unit_test(test_form_empty_zh),
	    cmocka_unit_test(test_form_en),
	    cmocka_unit_test(test_form_keeps_values_escaped),
	    cmocka_unit_test(test_form_errors),
	    cmocka_unit_test(test_form_banners),
	    cmocka_unit_test(test_problem_texts),
	    cmocka_unit_test(test_confirm),
	    cmocka_unit_test(test_status_hostile_timeline),
	    cmocka_unit_test(test_status_csat_form),
	    cmocka_unit_test(test_status_sparse),
	    cmocka_unit_test(test_thanks_and_errors),
	    cmocka_unit_test(test_lang),
	    cmocka_unit_test(test_css),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
