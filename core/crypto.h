/* Cryptography on mbedTLS 2.28: SHA-256, HMAC-SHA-256, hex and base64, a CTR-DRBG random
 * generator seeded from the OS, and ECDSA P-256 keys (generate, PEM save/load, sign, verify).
 * Functions returning int give 0 or a negative rc (rc.h) with details in err. */
#ifndef ROLLCALL_CRYPTO_H
#define ROLLCALL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

enum {
    CRYPTO_SHA256_LEN = 32,
    CRYPTO_SHA256_HEX_LEN = 64, /* without the terminating NUL */
};

/* SHA-256 of len bytes at data into out. Cannot fail. */
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
/* SHA-256 as 64 lower-case hex digits plus NUL. Cannot fail. */
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_LEN + 1]);
/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void crypto_hex(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2n lower- or upper-case hex digits into n bytes; RC_INVAL otherwise. */
int crypto_unhex(const char *hex, uint8_t *out, size_t n);

#endif
