#ifndef HOOKHOST_COPENSSL_TLS_H
#define HOOKHOST_COPENSSL_TLS_H
// Server-side TLS for the HTTP listener. Macros (SSL_CTX_set_min_proto_version, SSL_CTX_set_mode)
// do not import into Swift; these wrappers also keep the error-queue handling in one place.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

/// A server context with modern defaults: TLS 1.2+, no renegotiation or compression, the
/// server's cipher order, an EOF without close_notify read as a plain end of input, partial
/// writes from a buffer that may move between retries. The certificate chain and key are
/// loaded from PEM files and checked against each other. NULL on failure with `err` filled.
static inline SSL_CTX *hh_tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *step = "SSL_CTX_new";
    if (!ctx) goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION
                             | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    step = "certificate";
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) goto fail;
    step = "private key";
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) goto fail;
    step = "key does not match the certificate";
    if (SSL_CTX_check_private_key(ctx) != 1) goto fail;
    return ctx;
fail: {
        unsigned long e = ERR_peek_last_error();
        char buf[256] = "";
        if (e) ERR_error_string_n(e, buf, sizeof buf);
        snprintf(err, errlen, "%s: %s", step, buf[0] ? buf : "failed");
        ERR_clear_error();
        if (ctx) SSL_CTX_free(ctx);
        return NULL;
    }
}

/// A server-side connection over a non-blocking socket; the handshake runs inside the first reads.
static inline SSL *hh_tls_new(SSL_CTX *ctx, int fd) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl) { ERR_clear_error(); return NULL; }
    if (SSL_set_fd(ssl, fd) != 1) { SSL_free(ssl); ERR_clear_error(); return NULL; }
    SSL_set_accept_state(ssl);
    return ssl;
}

/// Outcome codes of hh_tls_read / hh_tls_write (a positive return is a byte count).
enum { HH_TLS_WANT_READ = -1, HH_TLS_WANT_WRITE = -2, HH_TLS_EOF = -3, HH_TLS_FAILED = -4 };

static inline int hh_tls_outcome(SSL *ssl, int ret) {
    int e = SSL_get_error(ssl, ret);
    int out = HH_TLS_FAILED;
    if (e == SSL_ERROR_WANT_READ) out = HH_TLS_WANT_READ;
    else if (e == SSL_ERROR_WANT_WRITE) out = HH_TLS_WANT_WRITE;
    else if (e == SSL_ERROR_ZERO_RETURN) out = HH_TLS_EOF;
    // The queue is per thread and other OpenSSL users share it: leave it empty.
    ERR_clear_error();
    return out;
}

static inline int hh_tls_read(SSL *ssl, void *buf, int len) {
    ERR_clear_error();
    int n = SSL_read(ssl, buf, len);
    return n > 0 ? n : hh_tls_outcome(ssl, n);
}

static inline int hh_tls_write(SSL *ssl, const void *buf, int len) {
    ERR_clear_error();
    int n = SSL_write(ssl, buf, len);
    return n > 0 ? n : hh_tls_outcome(ssl, n);
}

/// Sends close_notify (best effort: a non-blocking socket may not take it now).
static inline void hh_tls_shutdown(SSL *ssl) {
    ERR_clear_error();
    if (SSL_is_init_finished(ssl)) SSL_shutdown(ssl);
    ERR_clear_error();
}
#endif
