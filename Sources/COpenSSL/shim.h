#ifndef HOOKHOST_COPENSSL_SHIM_H
#define HOOKHOST_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/// One-shot HMAC-SHA256; returns 1 on success. Keeps EVP_sha256() and the out-length out of Swift.
static inline int hh_hmac_sha256(const void *key, int keylen, const unsigned char *data, size_t len,
                                 unsigned char out[32]) {
    unsigned int outlen = 0;
    return HMAC(EVP_sha256(), key, keylen, data, len, out, &outlen) != NULL && outlen == 32;
}

/// Incremental SHA-256 over an EVP_MD_CTX (for streamed results).
static inline EVP_MD_CTX *hh_sha256_new(void) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) { EVP_MD_CTX_free(ctx); return NULL; }
    return ctx;
}
#endif
