/* sanitize.c: customer text reaches agents' terminals; an escape sequence in
 * a complaint must not be able to move the cursor, retitle the window or
 * write to the clipboard. Dropping ESC and the C1 CSI/OSC introducers is
 * enough to defuse every sequence: what remains is inert printable text. */
#include "sanitize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static int
sanitize_drop(uint32_t cp)
{
	return cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

char *
term_sanitize(const char *s, size_t len, int keep_newlines)
{
	const unsigned char *p = (const unsigned char *)s;
	/* worst case: every byte becomes U+FFFD (3 bytes) */
	char *out = malloc(len * 3 + 1);
	size_t o = 0, i = 0;
	uint32_t cp;

	if (out == NULL)
		abort();
	while (i < len) {
		size_t n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (cp < 0x20) {
			if (cp == '\n' && keep_newlines)
				out[o++] = '\n';
			else if (cp == '\n' || cp == '\t')
				out[o++] = ' ';
		} else if (!sanitize_drop(cp)) {
			memcpy(out + o, p + i, n);
			o += n;
		}
		i += n;
	}
	out[o] = '\0';
	return out;
}
