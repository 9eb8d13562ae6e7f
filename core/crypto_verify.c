/* crypto_key_verify (crypto.h): the signature is parsed with mbedTLS, the ECDSA arithmetic
 * is OpenSSL's. Kept apart from crypto.c so that only programs that verify (the collector,
 * `rollcall-agent verify`-style tools) link libcrypto. */
#include "crypto.h"
#include "crypto_key.h"
#include "rc.h"

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

static void free_verifier(void *v)
{
    EVP_PKEY_free(v);
}

enum {
    P256_SCALAR_LEN = 32, /* bytes of r and s */
};

/* key's public half as an OpenSSL key (from its SubjectPublicKeyInfo DER), made once. */
static EVP_PKEY *key_verifier(crypto_key *key)
{
    unsigned char der[CRYPTO_PUBKEY_PEM_MAX];
    pthread_mutex_lock(&key->mu);
    if (!key->verifier) {
        int n = mbedtls_pk_write_pubkey_der(&key->pk, der, sizeof der);
        /* mbedTLS writes DER backwards, at the end of the buffer. */
        const unsigned char *p = der + sizeof der - (n > 0 ? (size_t)n : 0);
        if (n > 0)
            key->verifier = d2i_PUBKEY(NULL, &p, n);
        key->verifier_free = free_verifier;
    }
    EVP_PKEY *pk = key->verifier;
    pthread_mutex_unlock(&key->mu);
    return pk;
}

/* ECDSA check of (r, s), both in [1, n - 1], against hash with OpenSSL: 1 valid, 0 not,
 * RC_NOMEM when OpenSSL could not run the check. */
static int ossl_verify(crypto_key *key, const uint8_t hash[CRYPTO_SHA256_LEN], const mbedtls_mpi *r,
                       const mbedtls_mpi *s)
{
    uint8_t rb[P256_SCALAR_LEN], sb[P256_SCALAR_LEN];
    unsigned char der[CRYPTO_SIG_DER_MAX];
    unsigned char *p = der;
    BIGNUM *br = NULL, *bs = NULL;
    ECDSA_SIG *sig = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = key_verifier(key);
    int res = RC_NOMEM;
    if (!pk || mbedtls_mpi_write_binary(r, rb, sizeof rb) != 0 ||
        mbedtls_mpi_write_binary(s, sb, sizeof sb) != 0)
        goto out;
    br = BN_bin2bn(rb, sizeof rb, NULL);
    bs = BN_bin2bn(sb, sizeof sb, NULL);
    sig = ECDSA_SIG_new();
    if (!br || !bs || !sig || !ECDSA_SIG_set0(sig, br, bs))
        goto out;
    br = bs = NULL; /* owned by sig */
    int len = i2d_ECDSA_SIG(sig, NULL);
    if (len <= 0 || len > (int)sizeof der || i2d_ECDSA_SIG(sig, &p) != len)
        goto out;
    ctx = EVP_PKEY_CTX_new(pk, NULL);
    if (!ctx || EVP_PKEY_verify_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0)
        goto out;
    int v = EVP_PKEY_verify(ctx, der, (size_t)len, hash, CRYPTO_SHA256_LEN);
    res = v == 1 ? 1 : v == 0 ? 0 : RC_NOMEM; /* < 0: not a verdict (resources) */
out:
    if (res != 1)
        ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    ECDSA_SIG_free(sig);
    BN_free(br);
    BN_free(bs);
    return res;
}

/* The signature is read exactly as mbedtls_pk_verify (mbedTLS 2.28, ecdsa.c
 * mbedtls_ecdsa_read_signature) reads it, so the same encodings are accepted and refused with
 * the same error codes: a SEQUENCE spanning the whole input, two INTEGERs read as unsigned
 * magnitudes, r and s in [1, n - 1], the check, then bytes left after s refused. Only the
 * arithmetic is OpenSSL's, on the canonical DER of the same (r, s): about 35 times faster than
 * mbedTLS 2.28's bignum code (docs/SECURITY.md). */
int crypto_key_verify(crypto_key *key, const uint8_t hash[CRYPTO_SHA256_LEN], const char *sig_b64,
                      char *err)
{
    uint8_t der[CRYPTO_SIG_DER_MAX];
    size_t len = 0, seq = 0;
    char why[ERR_LEN];
    if (strnlen(sig_b64, CRYPTO_SIG_B64_MAX + 1) > CRYPTO_SIG_B64_MAX)
        return rc_fail(err, RC_INVAL, "signature longer than %d base64 characters",
                       CRYPTO_SIG_B64_MAX);
    if (crypto_base64_decode(sig_b64, der, sizeof der, &len, why) != RC_OK)
        return rc_fail(err, RC_INVAL, "signature: %s", why);
    if (len < 8)
        return rc_fail(err, RC_INVAL, "signature of %zu bytes is too short", len);
    unsigned char *p = der;
    const unsigned char *end = der + len;
    const mbedtls_mpi *n = &mbedtls_pk_ec(key->pk)->grp.N;
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    int rc = RC_OK;
    int ret = mbedtls_asn1_get_tag(&p, end, &seq, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
    if (ret != 0) {
        ret += MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
    } else if (p + seq != end) {
        ret = MBEDTLS_ERR_ECP_BAD_INPUT_DATA + MBEDTLS_ERR_ASN1_LENGTH_MISMATCH;
    } else if ((ret = mbedtls_asn1_get_mpi(&p, end, &r)) != 0 ||
               (ret = mbedtls_asn1_get_mpi(&p, end, &s)) != 0) {
        ret += MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
    }
    if (ret != 0) {
        rc = rc_fail(err, RC_INVAL, "malformed DER signature (mbedtls -0x%04x)", (unsigned)-ret);
        goto out;
    }
    if (mbedtls_mpi_cmp_int(&r, 1) < 0 || mbedtls_mpi_cmp_mpi(&r, n) >= 0 ||
        mbedtls_mpi_cmp_int(&s, 1) < 0 || mbedtls_mpi_cmp_mpi(&s, n) >= 0) {
        rc = rc_fail(err, RC_CRYPTO, "signature does not verify");
        goto out;
    }
    int v = ossl_verify(key, hash, &r, &s);
    if (v < 0)
        rc = rc_fail(err, v, "cannot check the signature (OpenSSL)");
    else if (v == 0)
        rc = rc_fail(err, RC_CRYPTO, "signature does not verify");
    else if (p != end)
        rc = rc_fail(err, RC_INVAL, "trailing bytes after the DER signature");
out:
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return rc;
}
