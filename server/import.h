/* import.h: the pure half of ccimport. An RFC 4180 CSV reader, the mapping
 * of a header line to known columns, and the validation of one customer or
 * order row into plain values with a reason for every refusal. No database,
 * no clock (the time is a parameter), no output: ccimport.c does those.
 *
 * CSV as read here (RFC 4180, strictly): fields separated by ',', records
 * by LF or CRLF; a field that holds ',', '"' or a line break is quoted
 * with '"' and its quotes doubled. A quote inside an unquoted field, text
 * after a closing quote and a quote left open at the end of the file are
 * errors of that record. A UTF-8 byte order mark at the start is skipped;
 * a UTF-16 one is refused. Blank lines are skipped. A record is numbered by
 * the physical line it starts on, so lines inside quoted fields count. */
#ifndef CC_IMPORT_H
#define CC_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "contact.h"

#define IMPORT_RECORD_MAX   65536 /* bytes of one record, line breaks included */
#define IMPORT_FIELDS_MAX   256   /* fields of one record */
#define IMPORT_CONTACTS_MAX 8     /* phones, and e-mails, of one customer row */
#define IMPORT_ERRORS_MAX   8     /* problems reported for one row */
#define IMPORT_MSG_MAX      384

/* Lengths in characters, as the columns of schema/002_tickets.sql. */
#define IMPORT_MEMBER_ID_MAX 254
#define IMPORT_NAME_MAX      128
#define IMPORT_SITE_MAX      16
#define IMPORT_REGION_MAX    64
#define IMPORT_LANGUAGE_MAX  16
#define IMPORT_ORDER_ID_MAX  64

/* Whole units of an amount, whatever the currency: ten digits. */
#define IMPORT_AMOUNT_MAX_MAJOR 9999999999ULL

/* Why a row (or the file) is refused; the slug appears in the report. */
enum import_code {
	IMPORT_OK,
	IMPORT_MALFORMED_CSV,
	IMPORT_TOO_LONG,
	IMPORT_MISSING,
	IMPORT_BAD_UTF8,
	IMPORT_BAD_VALUE,
	IMPORT_OUT_OF_RANGE,
	IMPORT_DUPLICATE,
	IMPORT_CONFLICT,
	IMPORT_UNKNOWN,
	IMPORT_DATABASE,
};

/* "malformed_csv", "too_long", ... */
const char *import_code_slug(enum import_code code);

/* One problem: field is a column name, or "" for the whole row. */
struct import_error {
	enum import_code code;
	char field[16];
	char msg[IMPORT_MSG_MAX];
};

/* The problems of one row, the first IMPORT_ERRORS_MAX kept. */
struct import_errors {
	size_t n;
	size_t dropped;
	struct import_error e[IMPORT_ERRORS_MAX];
};

void import_error_add(struct import_errors *errs, enum import_code code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "line 12, field phones: bad_value: ..." or "line 12: ..." into buf. */
void import_error_format(const struct import_error *e, unsigned long line, char *buf, size_t len);
/* s (len bytes) as a double-quoted, printable, shortened value for a
 * message: controls, quotes and invalid UTF-8 escaped as \xNN, cut after
 * 40 characters with "...". */
void import_quote(const char *s, size_t len, char *out, size_t outlen);

/* ---- CSV ---- */

/* One record. Fields are NUL-terminated and point into the reader, valid
 * until the next csv_next. On err != IMPORT_OK the fields are whatever was
 * read and the record is refused as a whole. */
struct csv_record {
	unsigned long line; /* physical line the record starts on, from 1 */
	size_t nfields;
	char *field[IMPORT_FIELDS_MAX];
	size_t len[IMPORT_FIELDS_MAX];
	enum import_code err;
	char msg[IMPORT_MSG_MAX];
};

struct csv_reader;

/* A reader over f (not closed by csv_free). NULL when out of memory. */
struct csv_reader *csv_open(FILE *f);
void csv_free(struct csv_reader *r);
/* The next record: 1, 0 at the end of the file, -1 on a read error (errno
 * set). */
int csv_next(struct csv_reader *r, struct csv_record *rec);
/* Bytes of the file consumed so far. */
unsigned long long csv_offset(const struct csv_reader *r);

/* ---- columns ---- */

enum import_kind { IMPORT_CUSTOMERS, IMPORT_ORDERS };

enum import_col {
	COL_MEMBER_ID,
	COL_NAME,
	COL_PHONES,
	COL_EMAILS,
	COL_SITE,
	COL_REGION,
	COL_LANGUAGE,
	COL_VALUE_TIER,
	COL_ORDER_ID,
	COL_PHONE,
	COL_EMAIL,
	COL_AMOUNT,
	COL_REFUNDED,
	COL_CURRENCY,
	COL_ORDERED_AT,
	COL_STATUS,
	IMPORT_COL_COUNT
};

/* Canonical name of a column ("phones"). */
const char *import_col_name(enum import_col col);

/* Where each known column is in the records of a file. */
struct import_header {
	enum import_kind kind;
	size_t nfields;
	int col[IMPORT_COL_COUNT]; /* field index, -1 when absent */
	size_t nskipped;           /* unknown columns ignored (skip_unknown) */
	size_t skipped[IMPORT_FIELDS_MAX];
};

/* Map a header record: names are matched without regard to ASCII case or
 * surrounding blanks, aliases accepted. A missing required column, a name
 * given twice, an empty name, or an unknown one (unless skip_unknown) is an
 * error: -1 with err filled. */
int import_header_map(struct import_header *h, enum import_kind kind, const struct csv_record *rec,
                      int skip_unknown, char *err, size_t errlen);

/* ---- rows ---- */

struct import_opts {
	const char *country; /* default country code of national phone numbers */
	int64_t now_ms;      /* Unix ms: order times after now + 1 day are refused */
	int zone_set;        /* times without a zone are at zone_minutes east of UTC */
	int zone_minutes;
};

/* Empty optional cells are "" (or NULL for tier and status). */
struct customer_row {
	char member_id[IMPORT_MEMBER_ID_MAX * 4 + 1];
	char name[IMPORT_NAME_MAX * 4 + 1];
	char site[IMPORT_SITE_MAX * 4 + 1];
	char region[IMPORT_REGION_MAX * 4 + 1];
	char language[IMPORT_LANGUAGE_MAX + 1];
	const char *tier;
	size_t nphones;
	size_t nemails;
	char phone[IMPORT_CONTACTS_MAX][CONTACT_PHONE_MAX];
	char email[IMPORT_CONTACTS_MAX][CONTACT_EMAIL_MAX + 1];
};

/* Every order column has a value: defaults filled in. */
struct order_row {
	char order_id[IMPORT_ORDER_ID_MAX * 4 + 1];
	char member_id[IMPORT_MEMBER_ID_MAX * 4 + 1]; /* the customer keys; "" when not given */
	char phone[CONTACT_PHONE_MAX];
	char email[CONTACT_EMAIL_MAX + 1];
	char currency[4];
	const char *status;
	uint64_t amount_minor;
	uint64_t refunded_minor;
	int64_t ordered_at_ms;
};

/* Validate and normalise one record; 0, or the number of problems added
 * to errs. */
int import_customer_row(const struct import_header *h, const struct csv_record *rec,
                        const struct import_opts *o, struct customer_row *out,
                        struct import_errors *errs);
int import_order_row(const struct import_header *h, const struct csv_record *rec,
                     const struct import_opts *o, struct order_row *out,
                     struct import_errors *errs);

/* ---- single values (exposed for the tests) ---- */

extern const char *const import_tiers[];    /* NULL-terminated, schema order */
extern const char *const import_statuses[]; /* NULL-terminated, schema order */

/* Minor-unit digits of an ISO 4217 code (2 for CNY, 0 for JPY), -1 when
 * the code is not an active one. */
int import_currency_exponent(const char *code);
/* A decimal amount ("1234.50") in minor units of a currency with exponent
 * digits. 0, or -1 with the code returned in *code and a message. */
int import_parse_amount(const char *s, int exponent, uint64_t *minor, enum import_code *code,
                        char *msg, size_t msglen);
/* An ISO 8601 time "2024-03-01T10:00:00+08:00" (a space for T; seconds,
 * fractions and the offset's colon optional; Z for UTC) as Unix ms. */
int import_parse_time(const char *s, const struct import_opts *o, int64_t *ms,
                      enum import_code *code, char *msg, size_t msglen);
/* "zh-CN", "en", "yue-Hant-HK": letters, then '-' and letters or digits. */
int import_language_ok(const char *s);

/* ---- keys seen in one file ----
 * Which line first used a member id, contact or order id, so that a second
 * use is refused whether or not the first reached the database (the same
 * report with and without --dry-run). Entries added since a mark can be
 * dropped, for a batch that is run again. */
struct import_keys;

struct import_keys *import_keys_new(void);
void import_keys_free(struct import_keys *k);
/* The line that added key (kind is a one-letter namespace), or 0. */
unsigned long import_keys_find(const struct import_keys *k, char kind, const char *key);
/* Remember key as first used on line. 0, or -1 when out of memory. */
int import_keys_add(struct import_keys *k, char kind, const char *key, unsigned long line);
size_t import_keys_mark(const struct import_keys *k);
/* Forget every key added after mark. */
void import_keys_undo(struct import_keys *k, size_t mark);

#endif
