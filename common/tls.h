/* tls.h: TLS contexts with the project's policy: TLS 1.2 and 1.3 only,
 * Mozilla "intermediate" cipher list, verified peers on the client side. */
#ifndef CC_TLS_H
#define CC_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/* Server context from a PEM certificate chain and private key. On failure
 * returns NULL and writes the reason into err. */
SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen);
/* Client context. ca_file NULL: the system store. insecure: no verification
 * (the caller must warn). On failure returns NULL and writes err. */
SSL_CTX *tls_client_ctx(const char *ca_file, int insecure, char *err, size_t errlen);
/* Prepare ssl for a connection to host: SNI and host-name verification. */
int tls_client_set_host(SSL *ssl, const char *host);
/* The last OpenSSL error queue entry as text (and clear the queue). */
const char *tls_error_string(char *buf, size_t len);
/* Send each TLS record on the TCP socket fd at once (TCP_NODELAY). A
 * reply often goes out as more than one small segment (a record, then the
 * rest of a line); with Nagle's algorithm the second waits for the
 * peer's acknowledgement of the first, which the peer delays by up to
 * 40 ms, so every request would take 40 ms. Other sockets: no effect. */
void tls_nodelay(int fd);

#endif
