/* The layout of crypto_key, shared by crypto.c (mbedTLS: keys, signing) and crypto_verify.c
 * (OpenSSL: the verification arithmetic). Private to those two files. */
#ifndef ROLLCALL_CRYPTO_KEY_H
#define ROLLCALL_CRYPTO_KEY_H

#include <mbedtls/pk.h>
#include <pthread.h>

struct crypto_key {
    pthread_mutex_t mu; /* mbedTLS caches precomputed points in the group on first use */
    mbedtls_pk_context pk;
    int has_private;
    /* The public half for OpenSSL, made by crypto_verify.c on the first verify (under mu) and
     * freed through verifier_free: crypto.c itself never calls OpenSSL, so a program that
     * only signs and hashes (the kiosk daemon) does not load libcrypto. */
    void *verifier;
    void (*verifier_free)(void *);
};

#endif
