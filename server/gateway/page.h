/* page.h: the HTML pages of ccgateway, rendered on the server (no script),
 * in zh-CN (the default) or English. Every string that came from a customer
 * or from callcentred is escaped here; callers pass raw UTF-8. The pages
 * share one stylesheet (page_css), served from /static/gateway.css. */
#ifndef CC_GW_PAGE_H
#define CC_GW_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <jansson.h>

enum gw_lang { GW_LANG_ZH = 0, GW_LANG_EN = 1 };

/* The language of a request: the "lang" query parameter ("zh-CN", "en"),
 * else the "lang" cookie, else zh-CN. Either may be NULL. */
enum gw_lang page_lang(const char *query_lang, const char *cookie_lang);
/* "zh-CN" or "en". */
const char *page_lang_code(enum gw_lang lang);

/* What the customer typed, kept to show the form again (UTF-8, validated
 * by the caller; sizes are the limits in bytes plus one). */
struct gw_form {
	char name[4 * 128 + 1];
	char phone[64 + 1];
	char email[254 + 1];
	char order[64 + 1];
	char category[16]; /* delivery product refund service billing other */
	char description[4 * 4000 + 1];
	char resolution[16]; /* refund exchange apology compensation other */
	char urgency[16];    /* low normal high urgent; "" = normal */
};

/* What is wrong with one field of the form. */
enum gw_problem {
	GW_PROBLEM_MISSING,  /* required and empty */
	GW_PROBLEM_TOO_LONG, /* over its limit */
	GW_PROBLEM_INVALID,  /* not a phone number, not an e-mail address, not UTF-8 ... */
	GW_PROBLEM_CHOICE,   /* not one of the offered choices */
	GW_PROBLEM_CONTACT,  /* neither phone nor e-mail given (reported on "phone") */
};
struct gw_field_error {
	const char *field; /* "name", "phone", "email", "order", "category",
	                      "description", "resolution", "urgency", "score", "comment" */
	enum gw_problem problem;
};
/* The message for a field's problem, in lang (also used by the REST API's
 * problem+json with GW_LANG_EN). */
const char *page_problem_text(enum gw_lang lang, const struct gw_field_error *e);

/* A notice above the form. */
enum gw_banner {
	GW_BANNER_NONE,
	GW_BANNER_UNAVAILABLE,  /* 503: our service is busy; what you typed is kept; try again */
	GW_BANNER_EXPIRED,      /* 403: the form expired or was not ours; please send it again */
	GW_BANNER_RATE_LIMITED, /* 429: too many submissions; try again later */
	GW_BANNER_INVALID,      /* 400: some fields need attention (listed beside them) */
};

/* The complaint form (GET /, and again after a refusal): every field with a
 * <label>, the values of f (NULL: empty), the errors beside their fields,
 * the form token in a hidden field "form_token", a honeypot field named
 * "website" hidden by the stylesheet, the language switch. Posts to
 * /complaints. */
void page_form(struct evbuffer *out, enum gw_lang lang, const char *form_token,
               const struct gw_form *f, const struct gw_field_error *errors, size_t nerrors,
               enum gw_banner banner);

/* The confirmation after a complaint was filed: its reference, the private
 * status link (status_url: an absolute path with the token, e.g.
 * "/status/T261123-ABC123?token=..."), and the promised times (ms, or
 * INT64_MIN when none) with the time left from now_ms. */
void page_confirm(struct evbuffer *out, enum gw_lang lang, const char *ref, const char *status_url,
                  int64_t first_response_due, int64_t resolution_due, int64_t now_ms);

/* The status page: complaint is the "complaint" object of callcentred's
 * complaint.status reply (docs/PROTOCOL.md): state, promised times and the
 * time left, the timeline, the next step; when complaint.csat.allowed, the
 * satisfaction form (posting score 1-5 and comment to
 * /status/<ref>/csat with hidden "token" and "form_token"). */
void page_status(struct evbuffer *out, enum gw_lang lang, const json_t *complaint,
                 const char *token, const char *form_token, int64_t now_ms);

/* After a rating: thanks, and the link back to the status page. */
void page_csat_thanks(struct evbuffer *out, enum gw_lang lang, const char *status_url);

/* An error page for status 400, 403, 404, 405, 413, 429, 500 or 503, with
 * a link back to the form. */
void page_error(struct evbuffer *out, enum gw_lang lang, int status);

/* The stylesheet (mobile-first, no external resources). */
const char *page_css(size_t *len);

/* HTML-escape s into out: & < > " ' escaped, control characters (C0, DEL,
 * C1), ESC and the bidirectional controls (LRE..RLO, LRI..PDI) shown as
 * U+FFFD so that nothing in a customer's text acts or reorders the page. */
void page_escape(struct evbuffer *out, const char *s);

#endif
