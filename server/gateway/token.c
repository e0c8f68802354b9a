/* token.c: the signed form token against replays after expiry (cross-site
 * posts are refused by their Origin and Sec-Fetch-Site: http.c), and the
 * API keys of integrations (stored as SHA-256 only).
 *
 * A form token is "1.<issued-ms>.<nonce>.<mac>": the version, when it was
 * issued, 16 random bytes, and HMAC-SHA256 with the form secret over
 * "1|<issued-ms>|<nonce>", all base64url. The gateway keeps no state for
 * it; the nonce also names the submission (its idempotency key), so the
 * same form sent twice files one complaint. A form shown again after a
 * post with a valid token (503, 429, field errors) carries the same nonce
 * with a new issue time, so that sending it again cannot file twice. */
#include "gw.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define GW_MAC_LEN     43 /* base64url of 32 bytes */
#define GW_API_KEY_RAW 32

void
gw_b64url(char *out, const unsigned char *in, size_t n)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (int i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
}

void
gw_sha256_hex(char out[65], const char *s, size_t len)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, len, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The base64url MAC of "1|issued|nonce" into mac[GW_MAC_LEN + 1]. */
static void
gw_form_mac(const struct gw_config *cfg, const char *issued, const char *nonce, char *mac)
{
	char msg[64];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = snprintf(msg, sizeof msg, "1|%s|%s", issued, nonce);

	HMAC(EVP_sha256(), cfg->form_secret, (int)cfg->form_secret_len, (unsigned char *)msg,
	     (size_t)n, md, &mdlen);
	gw_b64url(mac, md, mdlen);
}

void
gw_form_token_renew(const struct gw_config *cfg, int64_t now_ms, const char *nonce,
                    char out[GW_FORM_TOKEN_MAX])
{
	char issued[24], mac[GW_MAC_LEN + 3];

	snprintf(issued, sizeof issued, "%" PRId64, now_ms);
	gw_form_mac(cfg, issued, nonce, mac);
	snprintf(out, GW_FORM_TOKEN_MAX, "1.%s.%s.%s", issued, nonce, mac);
}

void
gw_form_token_make(const struct gw_config *cfg, int64_t now_ms, char out[GW_FORM_TOKEN_MAX])
{
	unsigned char raw[16];
	char nonce[GW_NONCE_LEN + 3];

	if (RAND_bytes(raw, sizeof raw) != 1)
		abort(); /* no randomness: nothing safe can be issued */
	gw_b64url(nonce, raw, sizeof raw);
	gw_form_token_renew(cfg, now_ms, nonce, out);
}

/* Is s n characters of the base64url alphabet? */
static int
gw_is_b64url(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

enum gw_token_check
gw_form_token_check(const struct gw_config *cfg, const char *token, int64_t now_ms,
                    char nonce[GW_NONCE_LEN + 1])
{
	char issued[24], want[GW_MAC_LEN + 3];
	const char *p, *dot;
	size_t n;

	if (token == NULL || strncmp(token, "1.", 2) != 0 || strlen(token) >= GW_FORM_TOKEN_MAX)
		return GW_TOKEN_FORGED;
	p = token + 2;
	if ((dot = strchr(p, '.')) == NULL || (n = (size_t)(dot - p)) == 0 || n >= 20 ||
	    strspn(p, "0123456789") != n)
		return GW_TOKEN_FORGED;
	memcpy(issued, p, n);
	issued[n] = '\0';
	p = dot + 1;
	if (strlen(p) != GW_NONCE_LEN + 1 + GW_MAC_LEN || p[GW_NONCE_LEN] != '.' ||
	    !gw_is_b64url(p, GW_NONCE_LEN) || !gw_is_b64url(p + GW_NONCE_LEN + 1, GW_MAC_LEN))
		return GW_TOKEN_FORGED;
	memcpy(nonce, p, GW_NONCE_LEN);
	nonce[GW_NONCE_LEN] = '\0';
	gw_form_mac(cfg, issued, nonce, want);
	if (CRYPTO_memcmp(want, p + GW_NONCE_LEN + 1, GW_MAC_LEN) != 0)
		return GW_TOKEN_FORGED;
	int64_t at = strtoll(issued, NULL, 10);
	if (at > now_ms + 60000) /* signed by us, but from the future: a clock jump */
		return GW_TOKEN_EXPIRED;
	if (now_ms - at > (int64_t)cfg->form_token_ttl * 1000)
		return GW_TOKEN_EXPIRED;
	return GW_TOKEN_OK;
}

/* Decode 64 hex digits into 32 bytes; -1 when malformed. */
static int
gw_unhex32(const char *s, unsigned char out[32])
{
	if (strlen(s) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		char h[3] = {s[2 * i], s[2 * i + 1], '\0'};
		if (!isxdigit((unsigned char)h[0]) || !isxdigit((unsigned char)h[1]))
			return -1;
		out[i] = (unsigned char)strtoul(h, NULL, 16);
	}
	return 0;
}

/* Is name a usable key name: 1-64 of [A-Za-z0-9_.-]? */
static int
gw_key_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 64 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	           n;
}

int
gw_api_keys_load(struct gw_api_keys *ks, const char *path, char *err, size_t errlen)
{
	char line[512], name[128], hex[128], extra[8];
	FILE *f;
	int lineno = 0;

	memset(ks, 0, sizeof *ks);
	if (path[0] == '\0')
		return 0;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "web.api_keys_file %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			/* the rest would be read as a line of its own: a long
			 * comment could end in a key */
			snprintf(err, errlen, "%s:%d: longer than %zu bytes", path, lineno,
			         sizeof line - 2);
			goto fail;
		}
		char *s = line + strspn(line, " \t");
		if (*s == '#' || *s == '\n' || *s == '\r' || *s == '\0')
			continue;
		int got = sscanf(s, "%127s %127s %7s", name, hex, extra);
		struct gw_api_key k;
		if (got != 2 || !gw_key_name_ok(name) || gw_unhex32(hex, k.hash) != 0) {
			snprintf(err, errlen,
			         "%s:%d: not \"name sha256hex\" (ccgateway --new-api-key NAME "
			         "prints a line)",
			         path, lineno);
			goto fail;
		}
		if (ks->n >= 10000) {
			snprintf(err, errlen, "%s:%d: more than 10000 keys", path, lineno);
			goto fail;
		}
		memcpy(k.name, name, strlen(name) + 1); /* checked: at most 64 */
		struct gw_api_key *grown = realloc(ks->keys, (ks->n + 1) * sizeof *grown);
		if (grown == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
		ks->keys = grown;
		ks->keys[ks->n++] = k;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	gw_api_keys_free(ks);
	return -1;
}

void
gw_api_keys_free(struct gw_api_keys *ks)
{
	free(ks->keys);
	ks->keys = NULL;
	ks->n = 0;
}

const char *
gw_api_keys_match(const struct gw_api_keys *ks, const char *presented)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	const char *found = NULL;

	if (presented == NULL || presented[0] == '\0' || strlen(presented) > GW_API_KEY_MAX)
		return NULL;
	SHA256((const unsigned char *)presented, strlen(presented), md);
	/* every entry is compared, so the time says nothing about which matched */
	for (size_t i = 0; i < ks->n; i++)
		if (CRYPTO_memcmp(md, ks->keys[i].hash, sizeof md) == 0)
			found = ks->keys[i].name;
	return found;
}

int
gw_api_key_new(const char *name)
{
	unsigned char raw[GW_API_KEY_RAW];
	char enc[GW_API_KEY_MAX], key[GW_API_KEY_MAX + 8], hex[65];

	if (!gw_key_name_ok(name)) {
		fprintf(stderr, "ccgateway: key name \"%s\": use 1-64 of A-Z a-z 0-9 _ . -\n",
		        name);
		return 2;
	}
	if (RAND_bytes(raw, sizeof raw) != 1) {
		fprintf(stderr, "ccgateway: no random bytes\n");
		return 1;
	}
	gw_b64url(enc, raw, sizeof raw);
	snprintf(key, sizeof key, "ccgw_%s", enc);
	OPENSSL_cleanse(raw, sizeof raw);
	gw_sha256_hex(hex, key, strlen(key));
	printf("key: %s\n"
	       "line for web.api_keys_file: %s %s\n"
	       "The key is shown only now; the gateway keeps only its hash.\n",
	       key, name, hex);
	OPENSSL_cleanse(key, sizeof key);
	return 0;
}
