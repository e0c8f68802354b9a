/* contact.c: normalised phone numbers and e-mail addresses (see contact.h). */
#include "contact.h"

#include <string.h>

int
contact_phone_normalize(const char *in, const char *country, char *out, size_t outlen)
{
	char digits[64];
	size_t n = 0, cc = strlen(country);
	int plus = 0;
	const char *d = digits;

	for (const char *p = in; *p; p++) {
		if (*p == '+' && n == 0 && !plus)
			plus = 1;
		else if (*p >= '0' && *p <= '9') {
			if (n + 1 >= sizeof digits)
				return -1;
			digits[n++] = *p;
		} else if (!strchr(" \t-.()", *p))
			return -1;
	}
	digits[n] = '\0';
	if (!plus && n > 2 && digits[0] == '0' && digits[1] == '0') {
		plus = 1;
		d += 2;
	} else if (!plus && n > 0 && digits[0] == '0')
		d += 1;
	n = strlen(d);
	if (!plus)
		n += cc;
	if (n < 8 || n > 15 || outlen < n + 2 || (!plus && (cc == 0 || cc > 3)))
		return -1;
	if (d[0] == '0' && plus)
		return -1; /* country codes never start with 0 */
	out[0] = '+';
	out[1] = '\0';
	if (!plus)
		strcat(out, country);
	strcat(out, d);
	return 0;
}

int
contact_email_normalize(const char *in, char *out, size_t outlen)
{
	const char *end, *at = NULL, *dot = NULL;
	size_t n;

	while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
		in++;
	end = in + strlen(in);
	while (end > in &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	n = (size_t)(end - in);
	if (n == 0 || n > CONTACT_EMAIL_MAX || n + 1 > outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= ' ' || c == 0x7f)
			return -1;
		if (c == '@') {
			if (at)
				return -1;
			at = out + i;
		}
		if (c == '.' && at)
			dot = out + i;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	out[n] = '\0';
	if (at == NULL || at == out || dot == NULL || dot == at + 1 || dot == out + n - 1)
		return -1;
	return 0;
}
