/* import.c: CSV reading, column mapping and row validation for ccimport
 * (see import.h). */
#include "import.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define QUOTE_CHARS 40  /* characters of a value shown in a message */
#define QUOTE_MAX   256 /* bytes of a quoted value: 40 escaped characters fit */
#define DAY_MS      86400000LL

static const char *const code_slugs[] = {
    [IMPORT_OK] = "ok",
    [IMPORT_MALFORMED_CSV] = "malformed_csv",
    [IMPORT_TOO_LONG] = "too_long",
    [IMPORT_MISSING] = "missing",
    [IMPORT_BAD_UTF8] = "bad_utf8",
    [IMPORT_BAD_VALUE] = "bad_value",
    [IMPORT_OUT_OF_RANGE] = "out_of_range",
    [IMPORT_DUPLICATE] = "duplicate",
    [IMPORT_CONFLICT] = "conflict",
    [IMPORT_UNKNOWN] = "unknown",
    [IMPORT_DATABASE] = "database",
};

const char *
import_code_slug(enum import_code code)
{
	if ((size_t)code >= sizeof code_slugs / sizeof code_slugs[0])
		return "database";
	return code_slugs[code];
}

void
import_error_add(struct import_errors *errs, enum import_code code, const char *field,
                 const char *fmt, ...)
{
	struct import_error *e;
	va_list ap;

	if (errs->n == IMPORT_ERRORS_MAX) {
		errs->dropped++;
		return;
	}
	e = &errs->e[errs->n++];
	e->code = code;
	snprintf(e->field, sizeof e->field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
}

void
import_error_format(const struct import_error *e, unsigned long line, char *buf, size_t len)
{
	if (e->field[0])
		snprintf(buf, len, "line %lu, field %s: %s: %s", line, e->field,
		         import_code_slug(e->code), e->msg);
	else
		snprintf(buf, len, "line %lu: %s: %s", line, import_code_slug(e->code), e->msg);
}

/* Code points a terminal must not receive raw: C0, DEL, C1 and the
 * bidirectional overrides and isolates. */
static int
unsafe_cp(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

void
import_quote(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0, i = 0, chars = 0;
	char piece[16];

	if (outlen < QUOTE_MAX) {
		snprintf(out, outlen, "\"...\"");
		return;
	}
	out[o++] = '"';
	while (i < len && chars < QUOTE_CHARS) {
		const unsigned char *p = (const unsigned char *)s + i;
		uint32_t cp;
		size_t n = utf8_decode(p, len - i, &cp);

		if (n == 0) {
			snprintf(piece, sizeof piece, "\\x%02X", p[0]);
			n = 1;
		} else if (unsafe_cp(cp)) {
			snprintf(piece, sizeof piece, cp < 0x100 ? "\\x%02X" : "\\u%04X", cp);
		} else if (cp == '"' || cp == '\\') {
			snprintf(piece, sizeof piece, "\\%c", (char)cp);
		} else {
			memcpy(piece, p, n);
			piece[n] = '\0';
		}
		memcpy(out + o, piece, strlen(piece));
		o += strlen(piece);
		i += n;
		chars++;
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* ---- CSV ---- */

struct csv_reader {
	FILE *f;
	unsigned char in[65536];
	size_t pos, len;
	int eof;
	int ioerr;
	int started;
	unsigned long long offset;
	unsigned long line;
	/* the fields of the current record, each NUL-terminated */
	char buf[IMPORT_RECORD_MAX + IMPORT_FIELDS_MAX + 1];
	size_t used;
};

struct csv_reader *
csv_open(FILE *f)
{
	struct csv_reader *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	r->f = f;
	r->line = 1;
	return r;
}

void
csv_free(struct csv_reader *r)
{
	free(r);
}

unsigned long long
csv_offset(const struct csv_reader *r)
{
	return r->offset;
}

/* Make at least one unread byte available; -1 at the end or on error. */
static int
csv_fill(struct csv_reader *r)
{
	size_t n;

	if (r->pos < r->len)
		return 0;
	if (r->eof)
		return -1;
	r->pos = 0;
	r->len = 0;
	n = fread(r->in, 1, sizeof r->in, r->f);
	if (n == 0) {
		r->eof = 1;
		r->ioerr = ferror(r->f);
		return -1;
	}
	r->len = n;
	return 0;
}

/* The next byte, or -1. */
static int
csv_get(struct csv_reader *r)
{
	if (csv_fill(r) != 0)
		return -1;
	r->offset++;
	return r->in[r->pos++];
}

/* The next byte without consuming it, or -1. */
static int
csv_peek(struct csv_reader *r)
{
	if (csv_fill(r) != 0)
		return -1;
	return r->in[r->pos];
}

/* A byte order mark: UTF-8 is skipped; UTF-16 fails the first record. */
static int
csv_bom(struct csv_reader *r, struct csv_record *rec)
{
	static const unsigned char utf8_bom[3] = {0xef, 0xbb, 0xbf};

	r->started = 1;
	if (csv_fill(r) != 0)
		return 0;
	if (r->len - r->pos < 3 && !r->eof) {
		/* a short read at the start: move what we have and read on */
		size_t have = r->len - r->pos, n;
		memmove(r->in, r->in + r->pos, have);
		r->pos = 0;
		n = fread(r->in + have, 1, sizeof r->in - have, r->f);
		r->len = have + n;
	}
	if (r->len - r->pos >= 3 && memcmp(r->in + r->pos, utf8_bom, 3) == 0) {
		r->pos += 3;
		r->offset += 3;
		return 0;
	}
	if (r->len - r->pos >= 2 && ((r->in[r->pos] == 0xff && r->in[r->pos + 1] == 0xfe) ||
	                             (r->in[r->pos] == 0xfe && r->in[r->pos + 1] == 0xff))) {
		rec->line = 1;
		rec->nfields = 0;
		rec->err = IMPORT_BAD_UTF8;
		snprintf(rec->msg, sizeof rec->msg, "the file is UTF-16; save it as UTF-8");
		r->offset += r->len - r->pos;
		r->pos = r->len;
		r->eof = 1;
		return 1;
	}
	return 0;
}

/* Record the first problem of a record. */
static void csv_error(struct csv_record *rec, enum import_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
csv_error(struct csv_record *rec, enum import_code code, const char *fmt, ...)
{
	va_list ap;

	if (rec->err != IMPORT_OK)
		return;
	rec->err = code;
	va_start(ap, fmt);
	vsnprintf(rec->msg, sizeof rec->msg, fmt, ap);
	va_end(ap);
}

struct csv_state {
	size_t nfields; /* fields begun, including any beyond IMPORT_FIELDS_MAX */
	int quoted;     /* some field was quoted: the record is not blank */
};

/* Start a field. */
static void
csv_field_begin(struct csv_reader *r, struct csv_record *rec, struct csv_state *s)
{
	if (s->nfields == IMPORT_FIELDS_MAX)
		csv_error(rec, IMPORT_MALFORMED_CSV, "more than %d fields", IMPORT_FIELDS_MAX);
	if (s->nfields < IMPORT_FIELDS_MAX)
		rec->field[s->nfields] = r->buf + r->used;
	s->nfields++;
}

/* Append a byte to the current field (dropped beyond the field limit). */
static void
csv_put(struct csv_reader *r, const struct csv_state *s, int c)
{
	if (s->nfields <= IMPORT_FIELDS_MAX)
		r->buf[r->used++] = (char)c;
}

/* Close the current field. */
static void
csv_field_end(struct csv_reader *r, struct csv_record *rec, const struct csv_state *s)
{
	size_t i = s->nfields - 1;

	if (i >= IMPORT_FIELDS_MAX)
		return;
	r->buf[r->used++] = '\0';
	rec->len[i] = (size_t)(r->buf + r->used - 1 - rec->field[i]);
	rec->nfields = i + 1;
}

/* Skip the rest of an overlong record up to the end of its physical line. */
static void
csv_skip_line(struct csv_reader *r, struct csv_record *rec)
{
	int c;

	while ((c = csv_get(r)) != -1 && c != '\n')
		;
	if (c == '\n')
		r->line++;
	rec->nfields = 0;
	rec->err = IMPORT_OK;
	csv_error(rec, IMPORT_TOO_LONG,
	          "record longer than %d bytes; skipped up to the end of line %lu",
	          IMPORT_RECORD_MAX, c == '\n' ? r->line - 1 : r->line);
}

enum csv_where { AT_FIELD_START, IN_UNQUOTED, IN_QUOTED, AFTER_QUOTE };

/* One record, blank or not: 1, 0 at the end, -1 on a read error. */
static int
csv_read_record(struct csv_reader *r, struct csv_record *rec, struct csv_state *s)
{
	enum csv_where w = AT_FIELD_START;
	size_t raw = 0;
	int c;

	rec->line = r->line;
	rec->nfields = 0;
	rec->err = IMPORT_OK;
	rec->msg[0] = '\0';
	r->used = 0;
	*s = (struct csv_state){0, 0};
	csv_field_begin(r, rec, s);
	for (;;) {
		if ((c = csv_get(r)) == -1) {
			if (r->ioerr)
				return -1;
			if (raw == 0)
				return 0;
			if (w == IN_QUOTED)
				csv_error(rec, IMPORT_MALFORMED_CSV,
				          "quoted field not closed at the end of the file");
			csv_field_end(r, rec, s);
			return 1;
		}
		if (++raw > IMPORT_RECORD_MAX) {
			if (c != '\n')
				csv_skip_line(r, rec);
			else {
				r->line++;
				rec->nfields = 0;
				rec->err = IMPORT_OK;
				csv_error(rec, IMPORT_TOO_LONG,
				          "record longer than %d bytes; skipped up to the end of "
				          "line %lu",
				          IMPORT_RECORD_MAX, r->line - 1);
			}
			return 1;
		}
		if (c == '\n')
			r->line++;
		if (w == IN_QUOTED) {
			if (c != '"')
				csv_put(r, s, c);
			else if (csv_peek(r) == '"') {
				csv_get(r);
				raw++;
				csv_put(r, s, '"');
			} else
				w = AFTER_QUOTE;
			continue;
		}
		if (c == '\r' && csv_peek(r) == '\n')
			continue; /* CRLF: the LF ends the record */
		if (c == ',' || c == '\n') {
			csv_field_end(r, rec, s);
			if (c == '\n')
				return 1;
			csv_field_begin(r, rec, s);
			w = AT_FIELD_START;
			continue;
		}
		if (w == AT_FIELD_START && c == '"') {
			w = IN_QUOTED;
			s->quoted = 1;
			continue;
		}
		if (w == AFTER_QUOTE)
			csv_error(rec, IMPORT_MALFORMED_CSV,
			          "text after the closing quote (field %zu)", s->nfields);
		else if (c == '"')
			csv_error(
			    rec, IMPORT_MALFORMED_CSV,
			    "'\"' inside an unquoted field (field %zu); quote the whole field "
			    "and double its quotes",
			    s->nfields);
		w = IN_UNQUOTED;
		csv_put(r, s, c);
	}
}

int
csv_next(struct csv_reader *r, struct csv_record *rec)
{
	struct csv_state s;
	int rc;

	if (!r->started && csv_bom(r, rec))
		return 1;
	for (;;) {
		if ((rc = csv_read_record(r, rec, &s)) <= 0)
			return rc;
		if (rec->err == IMPORT_OK && rec->nfields == 1 && rec->len[0] == 0 && !s.quoted)
			continue; /* a blank line */
		return 1;
	}
}

/* ---- columns ---- */

struct col_def {
	enum import_kind kind;
	enum import_col col;
	const char *alias; /* another accepted name, or NULL */
	int required;
};

static const char *const col_names[IMPORT_COL_COUNT] = {
    [COL_MEMBER_ID] = "member_id",
    [COL_NAME] = "name",
    [COL_PHONES] = "phones",
    [COL_EMAILS] = "emails",
    [COL_SITE] = "site",
    [COL_REGION] = "region",
    [COL_LANGUAGE] = "language",
    [COL_VALUE_TIER] = "value_tier",
    [COL_ORDER_ID] = "order_id",
    [COL_PHONE] = "phone",
    [COL_EMAIL] = "email",
    [COL_AMOUNT] = "amount",
    [COL_REFUNDED] = "refunded",
    [COL_CURRENCY] = "currency",
    [COL_ORDERED_AT] = "ordered_at",
    [COL_STATUS] = "status",
};

static const struct col_def col_defs[] = {
    {IMPORT_CUSTOMERS, COL_MEMBER_ID, NULL, 1},
    {IMPORT_CUSTOMERS, COL_NAME, NULL, 1},
    {IMPORT_CUSTOMERS, COL_PHONES, "phone", 0},
    {IMPORT_CUSTOMERS, COL_EMAILS, "email", 0},
    {IMPORT_CUSTOMERS, COL_SITE, NULL, 0},
    {IMPORT_CUSTOMERS, COL_REGION, NULL, 0},
    {IMPORT_CUSTOMERS, COL_LANGUAGE, NULL, 0},
    {IMPORT_CUSTOMERS, COL_VALUE_TIER, "tier", 0},
    {IMPORT_ORDERS, COL_ORDER_ID, "external_id", 1},
    {IMPORT_ORDERS, COL_MEMBER_ID, NULL, 0},
    {IMPORT_ORDERS, COL_PHONE, NULL, 0},
    {IMPORT_ORDERS, COL_EMAIL, NULL, 0},
    {IMPORT_ORDERS, COL_AMOUNT, NULL, 1},
    {IMPORT_ORDERS, COL_REFUNDED, "refunded_amount", 0},
    {IMPORT_ORDERS, COL_CURRENCY, NULL, 0},
    {IMPORT_ORDERS, COL_ORDERED_AT, NULL, 1},
    {IMPORT_ORDERS, COL_STATUS, NULL, 0},
};

#define NDEFS (sizeof col_defs / sizeof col_defs[0])

const char *
import_col_name(enum import_col col)
{
	return (size_t)col < IMPORT_COL_COUNT ? col_names[col] : "?";
}

/* Blanks around a value: spaces and tabs. */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/* ASCII case-insensitive comparison of s (len bytes) with a name. */
static int
name_is(const char *s, size_t len, const char *name)
{
	if (name == NULL || strlen(name) != len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + ('a' - 'A'));
		if (c != name[i])
			return 0;
	}
	return 1;
}

/* The definition a header name means in kind, or NULL. */
static const struct col_def *
col_lookup(enum import_kind kind, const char *s, size_t len)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (col_defs[i].kind == kind && (name_is(s, len, col_names[col_defs[i].col]) ||
		                                 name_is(s, len, col_defs[i].alias)))
			return &col_defs[i];
	return NULL;
}

/* "member_id, name, ..." for kind. */
static void
col_list(enum import_kind kind, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NDEFS && used < outlen; i++)
		if (col_defs[i].kind == kind)
			used += (size_t)snprintf(out + used, outlen - used, "%s%s",
			                         used ? ", " : "", col_names[col_defs[i].col]);
}

/* Map field i of the header; -1 with err. */
static int
header_field(struct import_header *h, const struct csv_record *rec, size_t i, int skip_unknown,
             char *err, size_t errlen)
{
	const char *s = rec->field[i];
	size_t len = rec->len[i];
	const struct col_def *d;
	char q[QUOTE_MAX], list[256];

	trim(&s, &len);
	if (len == 0) {
		snprintf(err, errlen, "line %lu: column %zu has no name", rec->line, i + 1);
		return -1;
	}
	import_quote(s, len, q, sizeof q);
	if ((d = col_lookup(h->kind, s, len)) == NULL) {
		if (skip_unknown) {
			h->skipped[h->nskipped++] = i;
			return 0;
		}
		col_list(h->kind, list, sizeof list);
		snprintf(err, errlen,
		         "line %lu: unknown column %s (column %zu); the columns are %s "
		         "(--skip-unknown ignores others)",
		         rec->line, q, i + 1, list);
		return -1;
	}
	if (h->col[d->col] >= 0) {
		snprintf(err, errlen, "line %lu: column %zu (%s) repeats column %d (%s)", rec->line,
		         i + 1, q, h->col[d->col] + 1, col_names[d->col]);
		return -1;
	}
	h->col[d->col] = (int)i;
	return 0;
}

int
import_header_map(struct import_header *h, enum import_kind kind, const struct csv_record *rec,
                  int skip_unknown, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	h->kind = kind;
	for (size_t i = 0; i < IMPORT_COL_COUNT; i++)
		h->col[i] = -1;
	if (rec->err != IMPORT_OK) {
		snprintf(err, errlen, "line %lu: %s", rec->line, rec->msg);
		return -1;
	}
	h->nfields = rec->nfields;
	for (size_t i = 0; i < rec->nfields; i++)
		if (header_field(h, rec, i, skip_unknown, err, errlen) != 0)
			return -1;
	for (size_t i = 0; i < NDEFS; i++)
		if (col_defs[i].kind == kind && col_defs[i].required &&
		    h->col[col_defs[i].col] < 0) {
			snprintf(err, errlen, "line %lu: the required column \"%s\" is missing",
			         rec->line, col_names[col_defs[i].col]);
			return -1;
		}
	if (kind == IMPORT_ORDERS && h->col[COL_MEMBER_ID] < 0 && h->col[COL_PHONE] < 0 &&
	    h->col[COL_EMAIL] < 0) {
		snprintf(
		    err, errlen,
		    "line %lu: an orders file needs a member_id, phone or email column to find "
		    "each order's customer",
		    rec->line);
		return -1;
	}
	return 0;
}

/* ---- field checks ---- */

/* The trimmed cell of col, or 0 when the column is absent. */
static int
cell(const struct import_header *h, const struct csv_record *rec, enum import_col col,
     const char **s, size_t *len)
{
	int i = h->col[col];

	*s = "";
	*len = 0;
	if (i < 0)
		return 0;
	*s = rec->field[i];
	*len = rec->len[i];
	trim(s, len);
	return 1;
}

/* Valid UTF-8 without control characters, at most max characters (0: no
 * limit); -1 after adding the problem. */
static int
check_text(const char *field, const char *s, size_t len, size_t max, struct import_errors *errs)
{
	size_t chars = 0;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
		if (n == 0) {
			import_error_add(errs, IMPORT_BAD_UTF8, field,
			                 "invalid UTF-8 at byte %zu; save the file as UTF-8",
			                 i + 1);
			return -1;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			import_error_add(errs, IMPORT_BAD_VALUE, field, "control character U+%04X",
			                 (unsigned)cp);
			return -1;
		}
		i += n;
		chars++;
	}
	if (max && chars > max) {
		import_error_add(errs, IMPORT_TOO_LONG, field, "%zu characters; at most %zu", chars,
		                 max);
		return -1;
	}
	return 0;
}

/* A text column into out (size max * 4 + 1); "" when empty. -1 after a
 * problem. */
static int
text_col(const struct import_header *h, const struct csv_record *rec, enum import_col col,
         size_t max, int required, char *out, struct import_errors *errs)
{
	const char *s;
	size_t len;

	out[0] = '\0';
	cell(h, rec, col, &s, &len);
	if (len == 0) {
		if (!required)
			return 0;
		import_error_add(errs, IMPORT_MISSING, col_names[col], "required");
		return -1;
	}
	if (check_text(col_names[col], s, len, max, errs) != 0)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* One of the NULL-terminated names (ASCII case ignored), or NULL after
 * adding a problem. */
static const char *
enum_value(const char *field, const char *s, size_t len, const char *const *names,
           struct import_errors *errs)
{
	char q[QUOTE_MAX], list[128];
	size_t used = 0;

	for (size_t i = 0; names[i]; i++)
		if (name_is(s, len, names[i]))
			return names[i];
	for (size_t i = 0; names[i]; i++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
		                         names[i]);
	import_quote(s, len, q, sizeof q);
	import_error_add(errs, IMPORT_BAD_VALUE, field, "%s is not one of %s", q, list);
	return NULL;
}

enum contact_kind { CONTACT_PHONE, CONTACT_EMAIL };

/* Normalise one contact item into out; -1 after a problem. */
static int
contact_item(const char *field, enum contact_kind kind, const char *s, size_t len,
             const struct import_opts *o, char *out, size_t outlen, struct import_errors *errs)
{
	char buf[CONTACT_EMAIL_MAX + 2], q[QUOTE_MAX];
	int rc;

	if (check_text(field, s, len, 0, errs) != 0)
		return -1;
	import_quote(s, len, q, sizeof q);
	if (len >= sizeof buf) {
		import_error_add(errs, IMPORT_TOO_LONG, field, "%s is longer than %d bytes", q,
		                 CONTACT_EMAIL_MAX);
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (kind == CONTACT_PHONE)
		rc = contact_phone_normalize(buf, o->country, out, outlen);
	else
		rc = contact_email_normalize(buf, out, outlen);
	if (rc != 0) {
		import_error_add(errs, IMPORT_BAD_VALUE, field, "%s is not %s", q,
		                 kind == CONTACT_PHONE ? "a phone number" : "an e-mail address");
		return -1;
	}
	return 0;
}

/* A list cell (items separated by ';' or line breaks) into out[]. The
 * number kept, or -1 after a problem. */
static int
contact_list(const struct import_header *h, const struct csv_record *rec, enum import_col col,
             enum contact_kind kind, const struct import_opts *o, char *out, size_t itemlen,
             struct import_errors *errs)
{
	const char *s, *end, *field = col_names[col];
	size_t len, n = 0, before = errs->n + errs->dropped;
	char one[CONTACT_EMAIL_MAX + 1];

	cell(h, rec, col, &s, &len);
	end = s + len;
	while (s < end) {
		const char *item = s;
		size_t l = 0;
		while (item + l < end && item[l] != ';' && item[l] != '\r' && item[l] != '\n')
			l++;
		s = item + l + 1;
		trim(&item, &l);
		if (l == 0 || contact_item(field, kind, item, l, o, one, itemlen, errs) != 0)
			continue;
		int dup = 0;
		for (size_t i = 0; i < n; i++)
			dup |= strcmp(out + i * itemlen, one) == 0;
		if (dup)
			continue;
		if (n == IMPORT_CONTACTS_MAX) {
			import_error_add(
			    errs, IMPORT_TOO_LONG, field, "more than %d %s", IMPORT_CONTACTS_MAX,
			    kind == CONTACT_PHONE ? "phone numbers" : "e-mail addresses");
			return -1;
		}
		memcpy(out + n * itemlen, one, strlen(one) + 1);
		n++;
	}
	return errs->n + errs->dropped == before ? (int)n : -1;
}

const char *const import_tiers[] = {"new", "potential", "regular", "old", "loyal", NULL};
const char *const import_statuses[] = {"placed",    "paid",     "shipped",  "delivered",
                                       "cancelled", "returned", "refunded", NULL};

int
import_language_ok(const char *s)
{
	size_t n = 0, total = strlen(s);

	if (total == 0 || total > IMPORT_LANGUAGE_MAX)
		return 0;
	while (s[n] && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')))
		n++;
	if (n < 2 || n > 8)
		return 0;
	for (s += n; *s; s += n) {
		if (*s++ != '-')
			return 0;
		n = 0;
		while (s[n] && ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		                (s[n] >= '0' && s[n] <= '9')))
			n++;
		if (n < 1 || n > 8)
			return 0;
	}
	return 1;
}

/* Make sure the row has as many fields as the header; -1 after a problem. */
static int
row_shape(const struct import_header *h, const struct csv_record *rec, struct import_errors *errs)
{
	if (rec->err != IMPORT_OK) {
		import_error_add(errs, rec->err, "", "%s", rec->msg);
		return -1;
	}
	if (rec->nfields != h->nfields) {
		import_error_add(errs, IMPORT_MALFORMED_CSV, "", "%zu field%s; the header has %zu",
		                 rec->nfields, rec->nfields == 1 ? "" : "s", h->nfields);
		return -1;
	}
	return 0;
}

int
import_customer_row(const struct import_header *h, const struct csv_record *rec,
                    const struct import_opts *o, struct customer_row *out,
                    struct import_errors *errs)
{
	const char *s;
	size_t len;
	int n;

	memset(out, 0, sizeof *out);
	if (row_shape(h, rec, errs) != 0)
		return (int)errs->n;
	text_col(h, rec, COL_MEMBER_ID, IMPORT_MEMBER_ID_MAX, 1, out->member_id, errs);
	text_col(h, rec, COL_NAME, IMPORT_NAME_MAX, 1, out->name, errs);
	n = contact_list(h, rec, COL_PHONES, CONTACT_PHONE, o, &out->phone[0][0],
	                 sizeof out->phone[0], errs);
	out->nphones = n > 0 ? (size_t)n : 0;
	n = contact_list(h, rec, COL_EMAILS, CONTACT_EMAIL, o, &out->email[0][0],
	                 sizeof out->email[0], errs);
	out->nemails = n > 0 ? (size_t)n : 0;
	text_col(h, rec, COL_SITE, IMPORT_SITE_MAX, 0, out->site, errs);
	text_col(h, rec, COL_REGION, IMPORT_REGION_MAX, 0, out->region, errs);
	cell(h, rec, COL_LANGUAGE, &s, &len);
	if (len > 0 && check_text("language", s, len, 0, errs) == 0) {
		char q[QUOTE_MAX];
		if (len <= IMPORT_LANGUAGE_MAX) {
			memcpy(out->language, s, len);
			out->language[len] = '\0';
		}
		if (!import_language_ok(out->language)) {
			import_quote(s, len, q, sizeof q);
			import_error_add(errs, IMPORT_BAD_VALUE, "language",
			                 "%s is not a language tag like zh-CN or en", q);
			out->language[0] = '\0';
		}
	}
	cell(h, rec, COL_VALUE_TIER, &s, &len);
	if (len > 0)
		out->tier = enum_value("value_tier", s, len, import_tiers, errs);
	return (int)errs->n;
}

/* ---- money ---- */

struct currency {
	char code[4];
	signed char exponent;
};

/* ISO 4217 codes in use for money (not metals, funds or test codes), with
 * their minor-unit digits where not 2. */
static const char currency_codes[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR "
    "FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD "
    "JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT "
    "MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG "
    "QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB "
    "TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF "
    "XPF YER ZAR ZMW ZWG ZWL";
static const char currency_exp0[] =
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF";
static const char currency_exp3[] = "BHD IQD JOD KWD LYD OMR TND";

/* Is the three-letter code one of the space-separated list? */
static int
code_in(const char *code, const char *list)
{
	for (const char *p = list; *p; p += p[3] ? 4 : 3)
		if (memcmp(p, code, 3) == 0)
			return 1;
	return 0;
}

int
import_currency_exponent(const char *code)
{
	if (strlen(code) != 3 || !code_in(code, currency_codes))
		return -1;
	if (code_in(code, currency_exp0))
		return 0;
	if (code_in(code, currency_exp3))
		return 3;
	return 2;
}

/* minor in major units with exponent decimals ("1234.50"). */
static void
format_minor(uint64_t minor, int exponent, char *out, size_t outlen)
{
	uint64_t scale = 1;

	for (int i = 0; i < exponent; i++)
		scale *= 10;
	if (exponent == 0)
		snprintf(out, outlen, "%llu", (unsigned long long)minor);
	else
		snprintf(out, outlen, "%llu.%0*llu", (unsigned long long)(minor / scale), exponent,
		         (unsigned long long)(minor % scale));
}

int
import_parse_amount(const char *s, int exponent, uint64_t *minor, enum import_code *code, char *msg,
                    size_t msglen)
{
	const char *p = s + (s[0] == '-');
	uint64_t major = 0, frac = 0;
	size_t idigits = 0, fdigits = 0;
	char q[QUOTE_MAX], max[32];

	import_quote(s, strlen(s), q, sizeof q);
	while (p[idigits] >= '0' && p[idigits] <= '9')
		idigits++;
	if (p[idigits] == '.')
		while (p[idigits + 1 + fdigits] >= '0' && p[idigits + 1 + fdigits] <= '9')
			fdigits++;
	if (idigits == 0 || (p[idigits] == '.' && fdigits == 0) ||
	    p[idigits + (p[idigits] == '.' ? 1 + fdigits : 0)] != '\0') {
		*code = IMPORT_BAD_VALUE;
		snprintf(msg, msglen, "%s is not an amount like 1234.50", q);
		return -1;
	}
	if (s[0] == '-') {
		*code = IMPORT_OUT_OF_RANGE;
		snprintf(msg, msglen, "%s is negative", q);
		return -1;
	}
	if ((int)fdigits > exponent) {
		*code = IMPORT_BAD_VALUE;
		if (exponent == 0)
			snprintf(msg, msglen, "%s has decimals; the currency has none", q);
		else
			snprintf(msg, msglen, "%s has more than %d decimals", q, exponent);
		return -1;
	}
	for (size_t i = 0; i < idigits; i++) {
		major = major * 10 + (uint64_t)(p[i] - '0');
		if (major > IMPORT_AMOUNT_MAX_MAJOR) {
			format_minor(IMPORT_AMOUNT_MAX_MAJOR, 0, max, sizeof max);
			if (exponent > 0)
				snprintf(max + strlen(max), sizeof max - strlen(max), ".%.*s",
				         exponent, "9999");
			*code = IMPORT_OUT_OF_RANGE;
			snprintf(msg, msglen, "%s is over the limit %s", q, max);
			return -1;
		}
	}
	for (int i = 0; i < exponent; i++) {
		frac = frac * 10 + ((size_t)i < fdigits ? (uint64_t)(p[idigits + 1 + i] - '0') : 0);
		major *= 10;
	}
	*minor = major + frac;
	return 0;
}

/* ---- time ---- */

/* Read exactly n digits at *p into *v and advance; -1 when not digits. */
static int
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return days[m - 1] + (m == 2 && leap);
}

/* The zone at p ("Z", "+08:00", "+0800", "+08") in minutes east; *p
 * advanced. 1 found, 0 none, -1 malformed. */
static int
zone_offset(const char **p, int *minutes)
{
	int sign, hh, mm = 0;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*minutes = 0;
		return 1;
	}
	if (**p != '+' && **p != '-')
		return 0;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (digits(p, 2, &hh) != 0)
		return -1;
	if (**p == ':') {
		(*p)++; /* "+08:00": minutes must follow the colon */
		if (digits(p, 2, &mm) != 0)
			return -1;
	} else if (**p >= '0' && **p <= '9' && digits(p, 2, &mm) != 0)
		return -1; /* "+0800"; "+08" has no minutes */
	if (hh > 14 || mm > 59)
		return -1;
	*minutes = sign * (hh * 60 + mm);
	return 1;
}

/* Parse the civil time and zone of s; -1 when malformed. *zoned says
 * whether a zone was given. */
static int
parse_civil(const char *s, int64_t *local_ms, int *zone, int *zoned)
{
	const char *p = s;
	int y, mo, d, h, mi, sec = 0, ms = 0, z;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
		return -1;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec))
			return -1;
		if (*p == '.' || *p == ',') {
			int n = 0;
			for (p++; *p >= '0' && *p <= '9'; p++, n++)
				if (n < 3)
					ms = ms * 10 + (*p - '0');
			if (n == 0 || n > 9)
				return -1;
			for (; n < 3; n++)
				ms *= 10;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	if ((z = zone_offset(&p, zone)) < 0 || *p != '\0')
		return -1;
	*zoned = z;
	*local_ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + ms;
	return 0;
}

int
import_parse_time(const char *s, const struct import_opts *o, int64_t *ms, enum import_code *code,
                  char *msg, size_t msglen)
{
	int64_t local;
	int zone = 0, zoned = 0;
	char q[QUOTE_MAX];

	import_quote(s, strlen(s), q, sizeof q);
	if (parse_civil(s, &local, &zone, &zoned) != 0) {
		*code = IMPORT_BAD_VALUE;
		snprintf(msg, msglen, "%s is not a time like 2024-03-01T10:00:00+08:00", q);
		return -1;
	}
	if (!zoned && !o->zone_set) {
		*code = IMPORT_BAD_VALUE;
		snprintf(msg, msglen,
		         "%s has no time zone; add Z or an offset like +08:00 (or run with --zone)",
		         q);
		return -1;
	}
	*ms = local - (int64_t)(zoned ? zone : o->zone_minutes) * 60000;
	*code = IMPORT_OUT_OF_RANGE;
	if (*ms < 0) {
		snprintf(msg, msglen, "%s is before 1970", q);
		return -1;
	}
	if (*ms > o->now_ms + DAY_MS) {
		snprintf(msg, msglen, "%s is in the future", q);
		return -1;
	}
	*code = IMPORT_OK;
	return 0;
}

/* ---- orders ---- */

/* A money column: 0 when absent or empty (when not required). */
static int
amount_col(const struct import_header *h, const struct csv_record *rec, enum import_col col,
           int exponent, int required, uint64_t *out, struct import_errors *errs)
{
	const char *s;
	size_t len;
	char buf[64], msg[IMPORT_MSG_MAX], q[QUOTE_MAX];
	enum import_code code;

	*out = 0;
	cell(h, rec, col, &s, &len);
	if (len == 0) {
		if (required)
			import_error_add(errs, IMPORT_MISSING, col_names[col], "required");
		return required ? -1 : 0;
	}
	if (check_text(col_names[col], s, len, 0, errs) != 0)
		return -1;
	if (len >= sizeof buf) {
		import_quote(s, len, q, sizeof q);
		import_error_add(errs, IMPORT_BAD_VALUE, col_names[col],
		                 "%s is not an amount like 1234.50", q);
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (exponent < 0)
		return -1; /* the currency is refused already */
	if (import_parse_amount(buf, exponent, out, &code, msg, sizeof msg) != 0) {
		import_error_add(errs, code, col_names[col], "%s", msg);
		return -1;
	}
	return 0;
}

/* The currency (CNY when empty) and its exponent, -1 after a problem. */
static int
currency_col(const struct import_header *h, const struct csv_record *rec, char out[4],
             struct import_errors *errs)
{
	const char *s;
	size_t len;
	char q[QUOTE_MAX];
	int exp;

	cell(h, rec, COL_CURRENCY, &s, &len);
	if (len == 0) {
		memcpy(out, "CNY", 4);
		return 2;
	}
	if (check_text("currency", s, len, 0, errs) != 0)
		return -1;
	if (len == 3) {
		for (int i = 0; i < 3; i++)
			out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - ('a' - 'A') : s[i]);
		out[3] = '\0';
		if ((exp = import_currency_exponent(out)) >= 0)
			return exp;
	}
	import_quote(s, len, q, sizeof q);
	import_error_add(errs, IMPORT_BAD_VALUE, "currency",
	                 "%s is not an ISO 4217 currency code%s", q,
	                 len == 3 && strcmp(out, "RMB") == 0 ? " (the yuan is CNY)" : "");
	out[0] = '\0';
	return -1;
}

/* The customer keys of an order; -1 after a problem. */
static int
order_keys(const struct import_header *h, const struct csv_record *rec, const struct import_opts *o,
           struct order_row *out, struct import_errors *errs)
{
	const char *s;
	size_t len, before = errs->n;

	text_col(h, rec, COL_MEMBER_ID, IMPORT_MEMBER_ID_MAX, 0, out->member_id, errs);
	cell(h, rec, COL_PHONE, &s, &len);
	if (len > 0)
		contact_item("phone", CONTACT_PHONE, s, len, o, out->phone, sizeof out->phone,
		             errs);
	cell(h, rec, COL_EMAIL, &s, &len);
	if (len > 0)
		contact_item("email", CONTACT_EMAIL, s, len, o, out->email, sizeof out->email,
		             errs);
	if (errs->n != before)
		return -1;
	if (!out->member_id[0] && !out->phone[0] && !out->email[0]) {
		import_error_add(errs, IMPORT_MISSING, "",
		                 "no customer: give member_id, phone or email");
		return -1;
	}
	return 0;
}

/* ordered_at into out; -1 after a problem. */
static int
time_col(const struct import_header *h, const struct csv_record *rec, const struct import_opts *o,
         int64_t *out, struct import_errors *errs)
{
	const char *s;
	size_t len;
	char buf[64], msg[IMPORT_MSG_MAX], q[QUOTE_MAX];
	enum import_code code;

	cell(h, rec, COL_ORDERED_AT, &s, &len);
	if (len == 0) {
		import_error_add(errs, IMPORT_MISSING, "ordered_at", "required");
		return -1;
	}
	if (check_text("ordered_at", s, len, 0, errs) != 0)
		return -1;
	if (len >= sizeof buf) {
		import_quote(s, len, q, sizeof q);
		import_error_add(errs, IMPORT_BAD_VALUE, "ordered_at",
		                 "%s is not a time like 2024-03-01T10:00:00+08:00", q);
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (import_parse_time(buf, o, out, &code, msg, sizeof msg) != 0) {
		import_error_add(errs, code, "ordered_at", "%s", msg);
		return -1;
	}
	return 0;
}

int
import_order_row(const struct import_header *h, const struct csv_record *rec,
                 const struct import_opts *o, struct order_row *out, struct import_errors *errs)
{
	const char *s;
	size_t len;
	int exp;

	memset(out, 0, sizeof *out);
	if (row_shape(h, rec, errs) != 0)
		return (int)errs->n;
	text_col(h, rec, COL_ORDER_ID, IMPORT_ORDER_ID_MAX, 1, out->order_id, errs);
	order_keys(h, rec, o, out, errs);
	exp = currency_col(h, rec, out->currency, errs);
	if (amount_col(h, rec, COL_AMOUNT, exp, 1, &out->amount_minor, errs) == 0 &&
	    amount_col(h, rec, COL_REFUNDED, exp, 0, &out->refunded_minor, errs) == 0 &&
	    out->refunded_minor > out->amount_minor) {
		char r[32], a[32];
		format_minor(out->refunded_minor, exp, r, sizeof r);
		format_minor(out->amount_minor, exp, a, sizeof a);
		import_error_add(errs, IMPORT_OUT_OF_RANGE, "refunded",
		                 "%s is more than the amount %s", r, a);
	}
	time_col(h, rec, o, &out->ordered_at_ms, errs);
	out->status = "placed";
	cell(h, rec, COL_STATUS, &s, &len);
	if (len > 0)
		out->status = enum_value("status", s, len, import_statuses, errs);
	return (int)errs->n;
}

/* ---- keys seen in one file ---- */

#define KEYS_NIL UINT32_MAX

struct key_entry {
	uint64_t hash;
	uint32_t next;
	uint32_t len;
	size_t off; /* in the arena */
	unsigned long line;
};

struct import_keys {
	uint32_t *bucket;
	size_t nbuckets; /* a power of two */
	struct key_entry *e;
	size_t n, cap;
	char *arena;
	size_t alen, acap;
};

/* FNV-1a over the namespace letter and the key. */
static uint64_t
key_hash(char kind, const char *key, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	h = (h ^ (unsigned char)kind) * 1099511628211ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	return h;
}

/* Point every bucket at the newest entry of its chain. Entries are linked
 * in index order, so each chain runs from newest to oldest: undo relies on
 * that. */
static int
keys_rehash(struct import_keys *k, size_t nbuckets)
{
	uint32_t *b = malloc(nbuckets * sizeof *b);

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < nbuckets; i++)
		b[i] = KEYS_NIL;
	for (size_t i = 0; i < k->n; i++) {
		size_t slot = k->e[i].hash & (nbuckets - 1);
		k->e[i].next = b[slot];
		b[slot] = (uint32_t)i;
	}
	free(k->bucket);
	k->bucket = b;
	k->nbuckets = nbuckets;
	return 0;
}

struct import_keys *
import_keys_new(void)
{
	struct import_keys *k = calloc(1, sizeof *k);

	if (k == NULL || keys_rehash(k, 1024) != 0) {
		free(k);
		return NULL;
	}
	return k;
}

void
import_keys_free(struct import_keys *k)
{
	if (k == NULL)
		return;
	free(k->bucket);
	free(k->e);
	free(k->arena);
	free(k);
}

unsigned long
import_keys_find(const struct import_keys *k, char kind, const char *key)
{
	size_t len = strlen(key);
	uint64_t h = key_hash(kind, key, len);

	for (uint32_t i = k->bucket[h & (k->nbuckets - 1)]; i != KEYS_NIL; i = k->e[i].next) {
		const struct key_entry *e = &k->e[i];
		if (e->hash == h && e->len == len + 1 && k->arena[e->off] == kind &&
		    memcmp(k->arena + e->off + 1, key, len) == 0)
			return e->line;
	}
	return 0;
}

/* Grow p (of *cap elements of size) to hold need; -1 when out of memory. */
static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 256;
	void *np;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if ((np = realloc(*p, c * size)) == NULL)
		return -1;
	*p = np;
	*cap = c;
	return 0;
}

int
import_keys_add(struct import_keys *k, char kind, const char *key, unsigned long line)
{
	size_t len = strlen(key);
	uint64_t h = key_hash(kind, key, len);
	struct key_entry *e;
	size_t slot;

	if (k->n + 1 >= KEYS_NIL || grow((void **)&k->e, &k->cap, k->n + 1, sizeof *k->e) != 0 ||
	    grow((void **)&k->arena, &k->acap, k->alen + len + 1, 1) != 0)
		return -1;
	if (k->n + 1 > k->nbuckets && keys_rehash(k, k->nbuckets * 2) != 0)
		return -1;
	e = &k->e[k->n];
	e->hash = h;
	e->len = (uint32_t)(len + 1);
	e->off = k->alen;
	e->line = line;
	k->arena[k->alen] = kind;
	memcpy(k->arena + k->alen + 1, key, len);
	k->alen += len + 1;
	slot = h & (k->nbuckets - 1);
	e->next = k->bucket[slot];
	k->bucket[slot] = (uint32_t)k->n++;
	return 0;
}

size_t
import_keys_mark(const struct import_keys *k)
{
	return k->n;
}

void
import_keys_undo(struct import_keys *k, size_t mark)
{
	while (k->n > mark) {
		const struct key_entry *e = &k->e[--k->n];
		k->bucket[e->hash & (k->nbuckets - 1)] = e->next;
		k->alen = e->off;
	}
}
