/* contact.h: the one spelling of a phone number or e-mail address that
 * customer_contacts stores and that every lookup compares byte for byte.
 * Pure; the import tool and the server share it.
 *
 * Phone: spaces, tabs, '-', '.', '(' and ')' are dropped; a leading "00" is
 * the international prefix and becomes '+'. With a '+' the digits after it
 * are the whole number. Without one the number is national: one leading
 * trunk '0' is dropped and the default country code is put in front. The
 * result is '+' and 8 to 15 digits (E.164). So with country "86":
 *   "138 0013 8000", "+86 138-0013-8000", "0086 13800138000"
 *     -> "+8613800138000"
 *   "(021) 6123-4567" -> "+862161234567"
 *
 * E-mail: surrounding white space is trimmed and ASCII letters are lower-
 * cased in the whole address (mailbox names are case-insensitive in
 * practice, and one customer must not appear twice); exactly one '@', a
 * non-empty local part and a domain with a '.' not at either end; no white
 * space or control characters; at most 254 bytes. Non-ASCII bytes are kept
 * as they are. */
#ifndef CC_CONTACT_H
#define CC_CONTACT_H

#include <stddef.h>

/* Longest normalised phone number: '+', 15 digits, NUL. */
#define CONTACT_PHONE_MAX 17
#define CONTACT_EMAIL_MAX 254

/* Normalise in into out (at least CONTACT_PHONE_MAX bytes); country is the
 * default country code in digits ("86"). 0, or -1 when in is no phone
 * number. */
int contact_phone_normalize(const char *in, const char *country, char *out, size_t outlen);
/* Normalise in into out (at least CONTACT_EMAIL_MAX + 1 bytes). 0 or -1. */
int contact_email_normalize(const char *in, char *out, size_t outlen);

#endif
