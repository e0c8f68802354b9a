/* fuzz_sanitize: whatever a customer types, term_sanitize's output is valid
 * UTF-8 with no terminal control left in it: no C0 (except LF when asked to
 * keep newlines), no DEL, no C1, no bidirectional override or isolate. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const char *s, int keep_newlines)
{
	size_t n = strlen(s);

	if (utf8_check(s, n) != n)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !(keep_newlines && c == '\n')) || c == 0x7f)
			abort();
		/* C1 as UTF-8: C2 80..C2 9F */
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0)
			abort();
		/* U+202A..U+202E: E2 80 AA..AE; U+2066..U+2069: E2 81 A6..A9 */
		if (c == 0xe2 && i + 2 < n) {
			unsigned char b = (unsigned char)s[i + 1], d = (unsigned char)s[i + 2];
			if ((b == 0x80 && d >= 0xaa && d <= 0xae) ||
			    (b == 0x81 && d >= 0xa6 && d <= 0xa9))
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int keep = 0; keep <= 1; keep++) {
		char *s = term_sanitize((const char *)data, size, keep);
		check(s, keep);
		free(s);
	}
	return 0;
}
