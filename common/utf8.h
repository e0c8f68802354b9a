/* utf8.h: strict UTF-8 validation (RFC 3629: no overlongs, no surrogates). */
#ifndef CC_UTF8_H
#define CC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Offset of the first byte that is not valid UTF-8, or len when all is. */
size_t utf8_check(const char *s, size_t len);
/* Decode one code point at s (len bytes left); returns its length, or 0
 * when the sequence is invalid. */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

#endif
