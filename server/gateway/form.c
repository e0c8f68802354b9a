/* form.c: the complaint's fields, parsed from a form post or taken from a
 * JSON body, checked the way callcentred's complaint.file checks them, so
 * that a customer sees every problem beside its field at once. */
#include "gw.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "utf8.h"

/* Is s[0..n) free of NUL bytes, with every % followed by two hex digits?
 * libevent's decoder keeps a malformed escape as it is, and strndup would
 * cut at a NUL; a form from a browser has neither. */
static int
gw_raw_ok(const char *s, size_t n)
{
	if (memchr(s, '\0', n) != NULL)
		return 0;
	for (const char *p = memchr(s, '%', n); p != NULL;
	     p = memchr(p + 1, '%', n - (size_t)(p + 1 - s))) {
		size_t left = n - (size_t)(p - s);
		if (left < 3 || !isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
			return 0;
	}
	return 1;
}

int
gw_kvs_parse(struct gw_kvs *kv, const char *body, size_t len)
{
	const char *p = body, *end = body + len;

	memset(kv, 0, sizeof *kv);
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		if (stop == p) {
			p = stop + 1;
			continue;
		}
		if (kv->n >= sizeof kv->items / sizeof kv->items[0] ||
		    !gw_raw_ok(p, (size_t)(stop - p)))
			goto fail;
		const char *vstart = eq ? eq + 1 : stop;
		char *rawname = strndup(p, (size_t)((eq ? eq : stop) - p));
		char *rawvalue = strndup(vstart, (size_t)(stop - vstart));
		size_t nlen = 0, vlen = 0;
		char *name = rawname ? evhttp_uridecode(rawname, 1, &nlen) : NULL;
		char *value = rawvalue ? evhttp_uridecode(rawvalue, 1, &vlen) : NULL;
		free(rawname);
		free(rawvalue);
		if (name == NULL || value == NULL || strlen(name) != nlen ||
		    strlen(value) != vlen) {
			free(name);
			free(value);
			goto fail;
		}
		kv->items[kv->n].name = name;
		kv->items[kv->n].value = value;
		kv->n++;
		p = stop + 1;
	}
	return 0;
fail:
	gw_kvs_free(kv);
	return -1;
}

void
gw_kvs_free(struct gw_kvs *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->items[i].name);
		free(kv->items[i].value);
	}
	kv->n = 0;
}

const char *
gw_kvs_get(const struct gw_kvs *kv, const char *name)
{
	for (size_t i = 0; i < kv->n; i++)
		if (strcmp(kv->items[i].name, name) == 0)
			return kv->items[i].value;
	return NULL;
}

/* Characters (code points) in valid UTF-8 s. */
static size_t
gw_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* Is s valid UTF-8 without C0 controls and DEL (free text, multiline,
 * keeps newlines and tabs), and for a one-line field without C1 controls
 * either? These are callcentred's rules too; what free text may still
 * carry (C1 controls, bidirectional marks) every output neutralises
 * (page_escape, ccagent's sanitizer). */
static int
gw_clean(const char *s, int multiline)
{
	size_t len = strlen(s);
	const unsigned char *p = (const unsigned char *)s;

	if (utf8_check(s, len) != len)
		return 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		if (n == 0)
			return 0;
		if (multiline && (cp == '\n' || cp == '\r' || cp == '\t')) {
			i += n;
			continue;
		}
		if (cp < 0x20 || cp == 0x7F || (!multiline && cp >= 0x80 && cp < 0xA0))
			return 0;
		i += n;
	}
	return 1;
}

int
gw_text_ok(const char *s, size_t max_chars, int multiline)
{
	size_t n;

	if (s == NULL || !gw_clean(s, multiline))
		return 0;
	n = gw_chars(s);
	return n >= 1 && n <= max_chars;
}

/* Keep what fits of s in out (size bytes), cut at a character boundary;
 * nothing when s is not UTF-8 (it could not be shown). */
static void
gw_keep(char *out, size_t size, const char *s)
{
	size_t n = strlen(s);

	out[0] = '\0';
	if (utf8_check(s, n) != n)
		return;
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

const char gw_not_text[] = "";

/* Trimmed copy of a value: spaces and tabs around it go (not newlines
 * inside). NULL stays NULL. */
static const char *
gw_trim(const char *s, char *buf, size_t size)
{
	if (s == NULL || s == gw_not_text)
		return s;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n >= size) {
		/* cut at a character boundary: an over-long text is too long,
		 * not invalid */
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static const char *const gw_categories[] = {"delivery", "product", "refund", "service",
                                            "billing",  "other",   NULL};
static const char *const gw_resolutions[] = {"refund",       "exchange", "apology",
                                             "compensation", "other",    NULL};
static const char *const gw_urgencies[] = {"low", "normal", "high", "urgent", NULL};

/* Is s one of choices? */
static int
gw_choice(const char *s, const char *const *choices)
{
	for (; *choices; choices++)
		if (strcmp(s, *choices) == 0)
			return 1;
	return 0;
}

/* A phone number as people write it: digits with an optional leading +,
 * spaces, dashes, dots and brackets; 5 to 20 digits. */
static int
gw_phone_ok(const char *s)
{
	size_t digits = 0;

	for (const char *p = s; *p; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (*p == '+' && p == s)
			continue;
		else if (!strchr(" -.()", *p))
			return 0;
	}
	return digits >= 5 && digits <= 20;
}

/* An e-mail address: local@domain.tld, printable ASCII or UTF-8 without
 * spaces, one @, at most 254 bytes. */
static int
gw_email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (strlen(s) > 254 || at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    !gw_clean(s, 0) || strpbrk(s, " <>\"(),;:[]\\") != NULL)
		return 0;
	const char *dot = strrchr(at + 1, '.');
	return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

size_t
gw_form_fill(struct gw_form *f, const char *(*get)(void *, const char *), void *arg,
             struct gw_field_error *errors)
{
	char buf[4 * 4000 + 64];
	size_t n = 0;
	const char *v;

#define GW_ERR(fld, pr)                                                                            \
	do {                                                                                       \
		if (n < GW_MAX_FIELD_ERRORS) {                                                     \
			errors[n].field = fld;                                                     \
			errors[n].problem = pr;                                                    \
			n++;                                                                       \
		}                                                                                  \
	} while (0)

	memset(f, 0, sizeof *f);

	v = gw_trim(get(arg, "name"), buf, sizeof buf);
	if (v != NULL && v != gw_not_text)
		gw_keep(f->name, sizeof f->name, v);
	if (v == gw_not_text)
		GW_ERR("name", GW_PROBLEM_INVALID);
	else if (v == NULL || v[0] == '\0')
		GW_ERR("name", GW_PROBLEM_MISSING);
	else if (!gw_clean(v, 0))
		GW_ERR("name", GW_PROBLEM_INVALID);
	else if (gw_chars(v) > 128)
		GW_ERR("name", GW_PROBLEM_TOO_LONG);

	int contact = 0;
	v = gw_trim(get(arg, "phone"), buf, sizeof buf);
	if (v == gw_not_text) {
		GW_ERR("phone", GW_PROBLEM_INVALID);
		v = NULL;
		contact = 1;
	}
	if (v != NULL && v[0] != '\0') {
		gw_keep(f->phone, sizeof f->phone, v);
		contact = 1;
		if (strlen(v) > 64)
			GW_ERR("phone", GW_PROBLEM_TOO_LONG);
		else if (!gw_phone_ok(v))
			GW_ERR("phone", GW_PROBLEM_INVALID);
	}
	v = gw_trim(get(arg, "email"), buf, sizeof buf);
	if (v == gw_not_text) {
		GW_ERR("email", GW_PROBLEM_INVALID);
		v = NULL;
		contact = 1;
	}
	if (v != NULL && v[0] != '\0') {
		gw_keep(f->email, sizeof f->email, v);
		contact = 1;
		if (strlen(v) > 254)
			GW_ERR("email", GW_PROBLEM_TOO_LONG);
		else if (!gw_email_ok(v))
			GW_ERR("email", GW_PROBLEM_INVALID);
	}
	if (!contact)
		GW_ERR("phone", GW_PROBLEM_CONTACT);

	v = gw_trim(get(arg, "order"), buf, sizeof buf);
	if (v == gw_not_text) {
		GW_ERR("order", GW_PROBLEM_INVALID);
		v = NULL;
	}
	if (v != NULL && v[0] != '\0') {
		gw_keep(f->order, sizeof f->order, v);
		if (strlen(v) > 64)
			GW_ERR("order", GW_PROBLEM_TOO_LONG);
		else if (!gw_clean(v, 0))
			GW_ERR("order", GW_PROBLEM_INVALID);
	}

	v = gw_trim(get(arg, "category"), buf, sizeof buf);
	if (v == gw_not_text)
		GW_ERR("category", GW_PROBLEM_INVALID);
	else if (v == NULL || v[0] == '\0')
		GW_ERR("category", GW_PROBLEM_MISSING);
	else if (!gw_choice(v, gw_categories))
		GW_ERR("category", GW_PROBLEM_CHOICE);
	else
		gw_keep(f->category, sizeof f->category, v);

	v = gw_trim(get(arg, "description"), buf, sizeof buf);
	if (v != NULL && v != gw_not_text)
		gw_keep(f->description, sizeof f->description, v);
	if (v == gw_not_text)
		GW_ERR("description", GW_PROBLEM_INVALID);
	else if (v == NULL || v[0] == '\0')
		GW_ERR("description", GW_PROBLEM_MISSING);
	else if (!gw_clean(v, 1))
		GW_ERR("description", GW_PROBLEM_INVALID);
	else if (gw_chars(v) > 4000 || strlen(v) >= sizeof buf - 1)
		GW_ERR("description", GW_PROBLEM_TOO_LONG);

	v = gw_trim(get(arg, "resolution"), buf, sizeof buf);
	if (v == gw_not_text)
		GW_ERR("resolution", GW_PROBLEM_INVALID);
	else if (v == NULL || v[0] == '\0')
		GW_ERR("resolution", GW_PROBLEM_MISSING);
	else if (!gw_choice(v, gw_resolutions))
		GW_ERR("resolution", GW_PROBLEM_CHOICE);
	else
		gw_keep(f->resolution, sizeof f->resolution, v);

	v = gw_trim(get(arg, "urgency"), buf, sizeof buf);
	if (v == gw_not_text) {
		GW_ERR("urgency", GW_PROBLEM_INVALID);
		v = NULL;
	}
	if (v != NULL && v[0] != '\0') {
		if (!gw_choice(v, gw_urgencies))
			GW_ERR("urgency", GW_PROBLEM_CHOICE);
		else
			gw_keep(f->urgency, sizeof f->urgency, v);
	}
#undef GW_ERR
	return n;
}

json_t *
gw_form_request(const struct gw_form *f, enum gw_lang lang, const char *idem_key)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "op", "complaint.file", "name",
	                        f->name, "category", f->category, "description", f->description,
	                        "resolution", f->resolution, "language", page_lang_code(lang));

	if (req == NULL)
		return NULL;
	if (f->phone[0])
		json_object_set_new(req, "phone", json_string(f->phone));
	if (f->email[0])
		json_object_set_new(req, "email", json_string(f->email));
	if (f->order[0])
		json_object_set_new(req, "order", json_string(f->order));
	if (f->urgency[0])
		json_object_set_new(req, "urgency", json_string(f->urgency));
	if (idem_key != NULL && idem_key[0])
		json_object_set_new(req, "idempotency_key", json_string(idem_key));
	return req;
}

void
gw_form_contact_key(const struct gw_form *f, char *out, size_t len)
{
	size_t n = 0;

	if (f->phone[0]) {
		/* the last 11 digits: "+86 138..." and "138..." are one person */
		char digits[64];
		for (const char *p = f->phone; *p && n < sizeof digits - 1; p++)
			if (isdigit((unsigned char)*p))
				digits[n++] = *p;
		digits[n] = '\0';
		snprintf(out, len, "p:%s", n > 11 ? digits + n - 11 : digits);
		return;
	}
	if (f->email[0]) {
		snprintf(out, len, "e:%s", f->email);
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return;
	}
	out[0] = '\0';
}
