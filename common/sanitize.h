/* sanitize.h: make untrusted text safe to print on a terminal. */
#ifndef CC_SANITIZE_H
#define CC_SANITIZE_H

#include <stddef.h>

/* Copy s (len bytes) into a new NUL-terminated string with every terminal
 * control removed: C0 controls except LF (and TAB, which becomes a space)
 * when keep_newlines, else LF becomes a space too; DEL; C1 controls
 * (U+0080..U+009F); bidirectional overrides and isolates (U+202A..U+202E,
 * U+2066..U+2069) and invalid UTF-8, which becomes U+FFFD. Never NULL. */
char *term_sanitize(const char *s, size_t len, int keep_newlines);

#endif
