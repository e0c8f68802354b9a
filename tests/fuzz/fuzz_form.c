/* fuzz_form: a hostile request body through what ccgateway does with it.
 * As a form post (web.c): gw_kvs_parse, gw_form_fill, the form token check,
 * the complaint.file request and the form shown again with its errors
 * (page_form). As a JSON body (api.c, POST /api/v1/complaints, whose
 * handler needs the HTTP request: its getter is mirrored here):
 * json_loadb, gw_form_fill, the request. Invariants checked: at most 24
 * fields, each a string; at most GW_MAX_FIELD_ERRORS errors, each on a
 * known field with a message; every kept value is NUL-terminated in its
 * buffer and valid UTF-8, every kept choice one of the choices; a form
 * without errors passes the checks callcentred makes and makes a request
 * that carries its values; no token is ever accepted without the secret;
 * the page shown again is valid UTF-8 without control characters (but LF
 * and TAB), without C1, without bidirectional overrides, embeddings or
 * isolates, and without a script element. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "gw.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const known_fields[] = {
    "name", "phone", "email", "order", "category", "description", "resolution", "urgency", NULL};

static int
one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* A kept value: NUL-terminated in its buffer, valid UTF-8. */
static void
check_kept(const char *s, size_t size)
{
	const char *nul = memchr(s, '\0', size);

	if (nul == NULL || utf8_check(s, (size_t)(nul - s)) != (size_t)(nul - s))
		abort();
}

/* A kept choice: empty, or one of list. */
static void
check_choice(const char *s, const char *const *list)
{
	if (s[0] != '\0' && !one_of(s, list))
		abort();
}

/* The request member key is value, or absent when value is empty. */
static void
check_member(json_t *req, const char *key, const char *value)
{
	json_t *v = json_object_get(req, key);

	if (value[0] == '\0') {
		if (v != NULL)
			abort();
	} else if (!json_is_string(v) || strcmp(json_string_value(v), value) != 0) {
		abort();
	}
}

static void
check_form(const struct gw_form *f, const struct gw_field_error *errs, size_t n)
{
	static const char *const categories[] = {"delivery", "product", "refund", "service",
	                                         "billing",  "other",   NULL};
	static const char *const resolutions[] = {"refund",       "exchange", "apology",
	                                          "compensation", "other",    NULL};
	static const char *const urgencies[] = {"low", "normal", "high", "urgent", NULL};

	if (n > GW_MAX_FIELD_ERRORS)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *en = page_problem_text(GW_LANG_EN, &errs[i]);
		const char *zh = page_problem_text(GW_LANG_ZH, &errs[i]);
		if (!one_of(errs[i].field, known_fields) || errs[i].problem > GW_PROBLEM_CONTACT ||
		    en == NULL || en[0] == '\0' || zh == NULL || zh[0] == '\0')
			abort();
	}
	check_kept(f->name, sizeof f->name);
	check_kept(f->phone, sizeof f->phone);
	check_kept(f->email, sizeof f->email);
	check_kept(f->order, sizeof f->order);
	check_kept(f->category, sizeof f->category);
	check_kept(f->description, sizeof f->description);
	check_kept(f->resolution, sizeof f->resolution);
	check_kept(f->urgency, sizeof f->urgency);
	check_choice(f->category, categories);
	check_choice(f->resolution, resolutions);
	check_choice(f->urgency, urgencies);
	if (n > 0)
		return;

	/* accepted: what callcentred's complaint.file will check again */
	if (!gw_text_ok(f->name, 128, 0) || !gw_text_ok(f->description, 4000, 1) ||
	    f->category[0] == '\0' || f->resolution[0] == '\0' ||
	    (f->phone[0] == '\0' && f->email[0] == '\0') ||
	    (f->order[0] != '\0' && !gw_text_ok(f->order, 64, 0)))
		abort();
	json_t *req = gw_form_request(f, GW_LANG_EN, "form-AAAAAAAAAAAAAAAAAAAAAA");
	if (req == NULL)
		abort();
	check_member(req, "name", f->name);
	check_member(req, "phone", f->phone);
	check_member(req, "email", f->email);
	check_member(req, "order", f->order);
	check_member(req, "category", f->category);
	check_member(req, "description", f->description);
	check_member(req, "resolution", f->resolution);
	check_member(req, "urgency", f->urgency);
	char *text = json_dumps(req, JSON_COMPACT);
	if (text == NULL)
		abort();
	free(text);
	json_decref(req);

	char key[300];
	gw_form_contact_key(f, key, sizeof key);
	if (key[0] != 'p' && key[0] != 'e')
		abort();
}

/* The form shown again: valid UTF-8, no control character but LF and
 * TAB, no C1, no script. */
static void
check_page(const struct gw_form *f, const struct gw_field_error *errs, size_t n)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL)
		abort();
	page_form(out, GW_LANG_ZH, "1.0.AAAAAAAAAAAAAAAAAAAAAA.x", f, errs, n, GW_BANNER_INVALID);
	size_t len = evbuffer_get_length(out);
	const unsigned char *p = evbuffer_pullup(out, -1);
	if (p == NULL || utf8_check((const char *)p, len) != len)
		abort();
	for (size_t i = 0; i < len; i++) {
		if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] == 0x7f)
			abort();
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] < 0xa0)
			abort();
		/* U+202A..U+202E: E2 80 AA..AE; U+2066..U+2069: E2 81 A6..A9 */
		if (p[i] == 0xe2 && i + 2 < len &&
		    ((p[i + 1] == 0x80 && p[i + 2] >= 0xaa && p[i + 2] <= 0xae) ||
		     (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)))
			abort();
		if (p[i] == '<' && i + 7 <= len && memcmp(p + i, "<script", 7) == 0)
			abort();
	}
	evbuffer_free(out);
}

static const struct gw_config *
config(void)
{
	static struct gw_config cfg;

	if (cfg.form_secret_len == 0) {
		static const char secret[] = "fuzz-form-secret-0123456789abcdef";
		cfg.form_token_ttl = 7200;
		cfg.form_secret_len = sizeof secret - 1;
		memcpy(cfg.form_secret, secret, cfg.form_secret_len);
	}
	return &cfg;
}

static const char *
kvs_getter(void *arg, const char *name)
{
	return gw_kvs_get(arg, name);
}

/* api.c's gw_json_getter. */
static const char *
json_getter(void *arg, const char *name)
{
	json_t *v = json_object_get(arg, name);

	if (v == NULL || json_is_null(v))
		return NULL;
	return json_is_string(v) ? json_string_value(v) : gw_not_text;
}

static void
fuzz_form_body(const char *body, size_t len, struct gw_form *f)
{
	struct gw_field_error errs[GW_MAX_FIELD_ERRORS];
	char nonce[GW_NONCE_LEN + 1];
	struct gw_kvs kv;

	if (gw_kvs_parse(&kv, body, len) != 0) {
		if (kv.n != 0)
			abort();
		return;
	}
	if (kv.n > sizeof kv.items / sizeof kv.items[0])
		abort();
	for (size_t i = 0; i < kv.n; i++)
		if (kv.items[i].name == NULL || kv.items[i].value == NULL ||
		    strlen(kv.items[i].value) > len)
			abort();
	size_t n = gw_form_fill(f, kvs_getter, &kv, errs);
	check_form(f, errs, n);
	if (gw_form_token_check(config(), gw_kvs_get(&kv, "form_token"), 1795417440000LL, nonce) ==
	    GW_TOKEN_OK)
		abort();
	gw_kvs_free(&kv);
	check_page(f, errs, n);
}

static void
fuzz_json_body(const char *body, size_t len, struct gw_form *f)
{
	struct gw_field_error errs[GW_MAX_FIELD_ERRORS];
	json_error_t jerr;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

	if (o == NULL)
		return;
	if (json_is_object(o)) {
		size_t n = gw_form_fill(f, json_getter, o, errs);
		check_form(f, errs, n);
	}
	json_decref(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_form f;
	/* gw_body: a request body is a string; one with a NUL is refused */
	char *body = malloc(size + 1);

	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	fuzz_form_body(body, size, &f);
	if (memchr(body, '\0', size) == NULL)
		fuzz_json_body(body, size, &f);
	free(body);
	return 0;
}
