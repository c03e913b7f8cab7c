#ifndef HOOKHOST_COPENSSL_SHIM_H
#define HOOKHOST_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <openssl/hmac.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/bn.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

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

// RSA for RS256 JWTs, OpenSSL 3 non-deprecated APIs only. Everything that touches OSSL_PARAM names
// is done here in C: the macros are static C strings, so OpenSSL keeps valid pointers (from Swift
// they arrive as temporaries). Every failure clears the thread's error queue.

/// The composite selection macro does not import into Swift.
static const int HH_EVP_PKEY_PUBLIC_KEY = EVP_PKEY_PUBLIC_KEY;

/// An RSA public key from big-endian modulus and exponent (JWK n, e); NULL on failure.
static inline EVP_PKEY *hh_rsa_public_from_ne(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen) {
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL), *bn_e = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bn_n && bn_e && bld
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1
        && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL
        && (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL
        && EVP_PKEY_fromdata_init(ctx) == 1) {
        if (EVP_PKEY_fromdata(ctx, &pkey, HH_EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    if (!pkey) ERR_clear_error();
    return pkey;
}

/// Size of the key's modulus in bits.
static inline int hh_pkey_bits(const EVP_PKEY *pkey) { return EVP_PKEY_get_bits(pkey); }

/// 1 when `sig` is an RSASSA-PKCS1-v1_5 SHA-256 signature of `msg` under `pkey`, else 0.
static inline int hh_rs256_verify(EVP_PKEY *pkey, const unsigned char *msg, size_t mlen, const unsigned char *sig, size_t slen) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = ctx != NULL
        && EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, pkey) == 1
        && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1
        && EVP_DigestVerify(ctx, sig, slen, msg, mlen) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) ERR_clear_error();
    return ok;
}

/// SHA-256, fetched from the default provider once: an implicit fetch on every call (what
/// EVP_sha256() in an init does in OpenSSL 3) costs a lookup under a global lock.
static inline const EVP_MD *hh_sha256_md(void) {
    // Function-local: Swift's importer emits the storage of statics inside inline functions.
    static EVP_MD *_Atomic cached = NULL;
    EVP_MD *md = atomic_load_explicit(&cached, memory_order_acquire);
    if (md) return md;
    EVP_MD *fresh = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD *expected = NULL;
    if (fresh && !atomic_compare_exchange_strong(&cached, &expected, fresh)) {
        EVP_MD_free(fresh);  // another thread won the race; use its copy
        return expected;
    }
    return fresh;
}

/// A verify context for `pkey` (RSASSA-PKCS1-v1_5 over SHA-256), set up once per key and
/// duplicated per verification; NULL on failure.
static inline EVP_PKEY_CTX *hh_rs256_template(EVP_PKEY *pkey) {
    const EVP_MD *md = hh_sha256_md();
    EVP_PKEY_CTX *ctx = md ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    if (!ctx || EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1
        || EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    return ctx;
}

/// A copy of a verify template (the copy is used by one thread, then freed by the verify).
static inline EVP_PKEY_CTX *hh_pkey_ctx_dup(EVP_PKEY_CTX *ctx) { return EVP_PKEY_CTX_dup(ctx); }

/// Verifies an RS256 signature of `msg` with a context from `hh_pkey_ctx_dup`, which it frees;
/// returns 1 when valid.
static inline int hh_rs256_verify_ctx(EVP_PKEY_CTX *ctx, const unsigned char *msg, size_t mlen, const unsigned char *sig, size_t slen) {
    unsigned char dgst[32];
    unsigned int dlen = 0;
    const EVP_MD *md = hh_sha256_md();
    int ok = ctx != NULL && md != NULL && EVP_Digest(msg, mlen, dgst, &dlen, md, NULL) == 1 && dlen == 32
        && EVP_PKEY_verify(ctx, sig, slen, dgst, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) ERR_clear_error();
    return ok;
}

/// A new RSA key pair of `bits`; NULL on failure.
static inline EVP_PKEY *hh_rsa_generate(unsigned int bits) {
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1
        || EVP_PKEY_generate(ctx, &pkey) != 1) pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    if (!pkey) ERR_clear_error();
    return pkey;
}

/// PEM text of the private key (PKCS#8, `priv` = 1) or public key (SubjectPublicKeyInfo), malloc'd
/// (free with free()); NULL on failure.
static inline char *hh_pkey_pem(EVP_PKEY *pkey, int priv, size_t *len) {
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (bio && (priv ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) : PEM_write_bio_PUBKEY(bio, pkey)) == 1) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0 && (out = malloc((size_t)n)) != NULL) { memcpy(out, data, (size_t)n); *len = (size_t)n; }
    }
    BIO_free(bio);
    if (!out) ERR_clear_error();
    return out;
}

/// An RSA private key read from PEM text (PKCS#8 or PKCS#1); NULL when it is not one.
static inline EVP_PKEY *hh_rsa_private_from_pem(const char *pem, size_t len) {
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (pkey && !EVP_PKEY_is_a(pkey, "RSA")) { EVP_PKEY_free(pkey); pkey = NULL; }
    if (!pkey) ERR_clear_error();
    return pkey;
}

/// Copies the big-endian modulus (`which` = 0) or exponent (1) into `out` (capacity `cap`);
/// returns its length, or 0 on failure.
static inline size_t hh_rsa_component(const EVP_PKEY *pkey, int which, unsigned char *out, size_t cap) {
    BIGNUM *bn = NULL;
    size_t n = 0;
    if (EVP_PKEY_get_bn_param(pkey, which == 0 ? OSSL_PKEY_PARAM_RSA_N : OSSL_PKEY_PARAM_RSA_E, &bn) == 1
        && (size_t)BN_num_bytes(bn) <= cap) n = (size_t)BN_bn2bin(bn, out);
    BN_free(bn);
    if (n == 0) ERR_clear_error();
    return n;
}

/// RSASSA-PKCS1-v1_5 SHA-256 signature of `msg` into `sig` (capacity `cap`); returns its length or 0.
static inline size_t hh_rs256_sign(EVP_PKEY *pkey, const unsigned char *msg, size_t mlen, unsigned char *sig, size_t cap) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = cap;
    int ok = ctx != NULL
        && EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, pkey) == 1
        && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1
        && EVP_DigestSign(ctx, sig, &len, msg, mlen) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) { ERR_clear_error(); return 0; }
    return len;
}
#endif
