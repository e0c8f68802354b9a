/* tls.c: one place for the TLS policy so server, client and bench agree. */
#include "tls.h"

#include <stdio.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Mozilla server-side TLS "intermediate" (v5.7) for TLS 1.2; TLS 1.3 uses
 * OpenSSL's default suites, which are exactly the intermediate ones. */
static const char tls_ciphers_12[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
static const char tls_groups[] = "X25519:P-256:P-384";

const char *
tls_error_string(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	unsigned long next;

	/* the last entry is the most specific */
	while ((next = ERR_get_error()) != 0)
		e = next;
	if (e == 0)
		snprintf(buf, len, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, len);
	return buf;
}

static SSL_CTX *
tls_ctx_common(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		tls_error_string(err, errlen);
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, tls_ciphers_12) ||
	    !SSL_CTX_set1_groups_list(ctx, tls_groups)) {
		tls_error_string(err, errlen);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	/* idle sessions give their 16 KiB buffers back: thousands of agents sit idle */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

SSL_CTX *
tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_ctx_common(TLS_server_method(), err, errlen);

	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		char e[200];
		snprintf(err, errlen, "certificate %s: %s", cert_file,
		         tls_error_string(e, sizeof e));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		char e[200];
		snprintf(err, errlen, "private key %s: %s", key_file,
		         tls_error_string(e, sizeof e));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "private key %s does not match certificate %s", key_file,
		         cert_file);
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"callcentred", 11);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx(const char *ca_file, int insecure, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_ctx_common(TLS_client_method(), err, errlen);

	if (ctx == NULL)
		return NULL;
	if (insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
	                 : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		char e[200];
		snprintf(err, errlen, "CA file %s: %s", ca_file ? ca_file : "(system)",
		         tls_error_string(e, sizeof e));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
tls_client_set_host(SSL *ssl, const char *host)
{
	/* SNI only for names, never for IP literals (RFC 6066) */
	int is_ip = strspn(host, "0123456789.:") == strlen(host);

	if (!is_ip && SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	if (SSL_get_verify_mode(ssl) == SSL_VERIFY_NONE)
		return 0;
	if (is_ip) {
		X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
		return X509_VERIFY_PARAM_set1_ip_asc(p, host) == 1 ? 0 : -1;
	}
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

void
tls_nodelay(int fd)
{
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
