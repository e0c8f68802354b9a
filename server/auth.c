/* auth.c: scrypt through OpenSSL's EVP_PBE_scrypt, base64 through
 * EVP_EncodeBlock, randomness from RAND_bytes, digests through EVP. */
#include "auth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define AUTH_SALT_LEN 16
#define AUTH_KEY_LEN  32

/* Derive key with scrypt; memory cap sized to the parameters. */
static int
auth_scrypt(const char *password, size_t len, const unsigned char *salt, size_t saltlen,
            const struct scrypt_params *p, unsigned char *key, size_t keylen)
{
	uint64_t n = (uint64_t)1 << p->n_log2;
	uint64_t maxmem = 128ULL * (uint64_t)p->r * (n + (uint64_t)p->p + 2) + (1u << 20);

	return EVP_PBE_scrypt(password, len, salt, saltlen, n, (uint64_t)p->r, (uint64_t)p->p,
	                      maxmem, key, keylen) == 1
	           ? 0
	           : -1;
}

int
auth_hash_password(const char *password, size_t len, const struct scrypt_params *params, char *out,
                   size_t outlen)
{
	unsigned char salt[AUTH_SALT_LEN], key[AUTH_KEY_LEN];
	char salt64[4 * ((AUTH_SALT_LEN + 2) / 3) + 1], key64[4 * ((AUTH_KEY_LEN + 2) / 3) + 1];
	int n;

	if (len == 0 || RAND_bytes(salt, sizeof salt) != 1 ||
	    auth_scrypt(password, len, salt, sizeof salt, params, key, sizeof key) != 0)
		return -1;
	EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof salt);
	EVP_EncodeBlock((unsigned char *)key64, key, sizeof key);
	OPENSSL_cleanse(key, sizeof key);
	n = snprintf(out, outlen, "$scrypt$ln=%d,r=%d,p=%d$%s$%s", params->n_log2, params->r,
	             params->p, salt64, key64);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* Decode standard base64 (with padding) into out; -1 when malformed. */
static int
auth_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax, size_t *outlen)
{
	unsigned char buf[128];
	size_t pad = 0;
	int n;

	if (inlen == 0 || inlen % 4 != 0 || inlen / 4 * 3 > sizeof buf)
		return -1;
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)inlen);
	if (n < 0)
		return -1;
	while (pad < 2 && in[inlen - 1 - pad] == '=')
		pad++;
	if ((size_t)n < pad || (size_t)n - pad > outmax)
		return -1;
	*outlen = (size_t)n - pad;
	memcpy(out, buf, *outlen);
	return 0;
}

/* Split an encoded hash into parameters, salt and key. */
static int
auth_parse(const char *encoded, struct scrypt_params *p, unsigned char *salt, size_t *saltlen,
           unsigned char *key, size_t *keylen)
{
	int consumed = 0;
	const char *s, *d;

	if (sscanf(encoded, "$scrypt$ln=%d,r=%d,p=%d$%n", &p->n_log2, &p->r, &p->p, &consumed) !=
	        3 ||
	    consumed == 0)
		return -1;
	/* bounds: refuse hashes that would make a worker allocate gigabytes */
	if (!auth_params_ok(p))
		return -1;
	s = encoded + consumed;
	if ((d = strchr(s, '$')) == NULL)
		return -1;
	if (auth_b64_decode(s, (size_t)(d - s), salt, AUTH_SALT_LEN * 2, saltlen) != 0 ||
	    auth_b64_decode(d + 1, strlen(d + 1), key, AUTH_KEY_LEN * 2, keylen) != 0 ||
	    *saltlen < 8 || *keylen < 16)
		return -1;
	return 0;
}

int
auth_params_ok(const struct scrypt_params *p)
{
	if (p->n_log2 < 1 || p->n_log2 > 22 || p->r < 1 || p->r > 32 || p->p < 1 || p->p > 16 ||
	    p->r * p->p > 64)
		return 0;
	return 128ull * (unsigned long long)p->r * (1ull << p->n_log2) <= AUTH_SCRYPT_MAX_MEM;
}

int
auth_hash_params(const char *encoded, struct scrypt_params *params)
{
	unsigned char salt[AUTH_SALT_LEN * 2], key[AUTH_KEY_LEN * 2];
	size_t saltlen, keylen;

	return auth_parse(encoded, params, salt, &saltlen, key, &keylen);
}

int
auth_verify_password(const char *password, size_t len, const char *encoded)
{
	unsigned char salt[AUTH_SALT_LEN * 2], want[AUTH_KEY_LEN * 2], got[AUTH_KEY_LEN * 2];
	size_t saltlen, keylen;
	struct scrypt_params p;
	int ok;

	if (auth_parse(encoded, &p, salt, &saltlen, want, &keylen) != 0)
		return -1;
	if (len == 0)
		return 0; /* never set: auth_hash_password refuses empty passwords */
	if (auth_scrypt(password, len, salt, saltlen, &p, got, keylen) != 0)
		return -1;
	ok = CRYPTO_memcmp(got, want, keylen) == 0;
	OPENSSL_cleanse(got, sizeof got);
	return ok;
}

int
auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
	unsigned char raw[AUTH_TOKEN_LEN / 2];
	size_t n;
	int ok;

	if (RAND_bytes(raw, sizeof raw) != 1)
		return -1;
	ok = OPENSSL_buf2hexstr_ex(out, AUTH_TOKEN_LEN + 1, &n, raw, sizeof raw, '\0');
	OPENSSL_cleanse(raw, sizeof raw);
	return ok == 1 && n == AUTH_TOKEN_LEN + 1 ? 0 : -1;
}

void
auth_token_digest(const char *token, size_t len, unsigned char out[AUTH_TOKEN_HASH])
{
	unsigned int n = AUTH_TOKEN_HASH;

	EVP_Digest(token, len, out, &n, EVP_sha256(), NULL);
}
