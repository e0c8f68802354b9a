/* auth.h: password hashes (scrypt) and resume tokens. Pure functions; the
 * server calls the slow ones on a worker thread, never on the event loop. */
#ifndef CC_AUTH_H
#define CC_AUTH_H

#include <stddef.h>

#define AUTH_HASH_MAX   160
#define AUTH_TOKEN_LEN  64 /* hex characters */
#define AUTH_TOKEN_HASH 32 /* SHA-256 bytes */

struct scrypt_params {
	int n_log2; /* N = 2^n_log2 */
	int r;
	int p;
};

/* The most memory one hash may take (128 * r * N bytes): twice OWASP's
 * recommendation, so a damaged hash row or config cannot make a worker
 * allocate gigabytes. */
#define AUTH_SCRYPT_MAX_MEM (256u << 20)

/* Whether params are within bounds: n_log2 1..22, r 1..32, p 1..16,
 * r * p <= 64 and memory <= AUTH_SCRYPT_MAX_MEM. */
int auth_params_ok(const struct scrypt_params *p);

/* Hash password into out as "$scrypt$ln=L,r=R,p=P$<salt b64>$<hash b64>"
 * with a fresh random salt. 0 on success, -1 on failure. */
int auth_hash_password(const char *password, size_t len, const struct scrypt_params *params,
                       char *out, size_t outlen);
/* Check password against an encoded hash: 1 match, 0 mismatch, -1 when the
 * encoded hash is malformed or its cost is beyond the allowed bounds. */
int auth_verify_password(const char *password, size_t len, const char *encoded);
/* Parse the parameters out of an encoded hash; -1 when malformed. */
int auth_hash_params(const char *encoded, struct scrypt_params *params);
/* A new random resume token: AUTH_TOKEN_LEN hex characters and a NUL. */
int auth_token_new(char out[AUTH_TOKEN_LEN + 1]);
/* The stored form of a token: its SHA-256. */
void auth_token_digest(const char *token, size_t len, unsigned char out[AUTH_TOKEN_HASH]);

#endif
