/* fuzz_csv: a hostile CSV file through the import's reader, header mapping
 * and row validation, as ccimport reads it. The first byte picks the kind
 * (customers or orders). Invariants checked: every record has at most
 * IMPORT_FIELDS_MAX fields, each NUL-terminated at its length; a refused
 * record carries a message; every problem formats to a line that holds no
 * control character. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each problem of a row formats to one printable line. */
static void
check_errors(const struct import_errors *errs, unsigned long line)
{
	char buf[512];

	for (size_t i = 0; i < errs->n; i++) {
		import_error_format(&errs->e[i], line, buf, sizeof buf);
		for (const char *p = buf; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
	}
}

static void
check_record(const struct csv_record *rec)
{
	if (rec->nfields > IMPORT_FIELDS_MAX)
		abort();
	for (size_t i = 0; i < rec->nfields && rec->err == IMPORT_OK; i++)
		if (rec->field[i] == NULL || rec->field[i][rec->len[i]] != '\0')
			abort();
	if (rec->err != IMPORT_OK && rec->msg[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum import_kind kind = size > 0 && (data[0] & 1) ? IMPORT_ORDERS : IMPORT_CUSTOMERS;
	struct import_opts opts = {"86", 1800000000000LL, 1, 480};
	struct import_header h;
	struct csv_record *rec = malloc(sizeof *rec);
	struct import_errors *errs = malloc(sizeof *errs);
	struct customer_row *c = malloc(sizeof *c);
	struct order_row *o = malloc(sizeof *o);
	struct csv_reader *r;
	char err[256];
	int have_header = 0;
	FILE *f;

	if (size < 2 || rec == NULL || errs == NULL || c == NULL || o == NULL)
		goto out;
	if ((f = fmemopen((void *)(uintptr_t)(data + 1), size - 1, "r")) == NULL)
		goto out;
	if ((r = csv_open(f)) != NULL) {
		while (csv_next(r, rec) == 1) {
			check_record(rec);
			if (rec->err != IMPORT_OK)
				continue;
			if (!have_header) {
				have_header =
				    import_header_map(&h, kind, rec, 1, err, sizeof err) == 0;
				if (!have_header && err[0] == '\0')
					abort();
				continue;
			}
			memset(errs, 0, sizeof *errs);
			if (kind == IMPORT_CUSTOMERS)
				import_customer_row(&h, rec, &opts, c, errs);
			else
				import_order_row(&h, rec, &opts, o, errs);
			check_errors(errs, rec->line);
		}
		csv_free(r);
	}
	fclose(f);
out:
	free(rec);
	free(errs);
	free(c);
	free(o);
	return 0;
}
