/* Cryptography on mbedTLS 2.28: SHA-256 (one shot, incremental, streamed from a file),
 * HMAC-SHA-256, hex and strict base64, a CTR-DRBG random generator seeded from the OS, and
 * ECDSA P-256 keys (generate, PEM save/load, public PEM export/import, sign, verify,
 * fingerprint, libcurl pin).
 *
 * Invariants:
 * - Functions returning int give 0 or a negative rc (rc.h) with a one-line reason in err
 *   (caller-owned, ERR_LEN bytes, may be NULL); on failure the outputs are unspecified
 *   and nothing was allocated or written to disk.
 * - Only P-256 keys exist as a crypto_key: every loaded or imported key of another type or
 *   curve is refused.
 * - A private key file is created 0600 and never overwritten; a private key file readable
 *   or writable by group or other is refused on load (as ssh does).
 * - Signatures are DER ECDSA over a 32-byte SHA-256 hash, carried as base64 without line
 *   breaks; signing is deterministic (RFC 6979). This is exactly what
 *   `openssl dgst -sha256 -sign key.pem FILE | base64 -w0` produces over FILE's bytes.
 * - crypto_rng and crypto_key are thread-safe (a mutex inside each). */
#ifndef ROLLCALL_CRYPTO_H
#define ROLLCALL_CRYPTO_H

#include <mbedtls/sha256.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CRYPTO_SHA256_LEN = 32,
    CRYPTO_SHA256_HEX_LEN = 64,          /* without the terminating NUL */
    CRYPTO_FILE_BUF = 256 * 1024,        /* read size of crypto_sha256_file */
    CRYPTO_SIG_DER_MAX = 72,             /* DER ECDSA P-256 signature, longest form */
    CRYPTO_SIG_B64_MAX = 96,             /* base64 of CRYPTO_SIG_DER_MAX, without NUL */
    CRYPTO_PUBKEY_PEM_MAX = 512,         /* SubjectPublicKeyInfo PEM of a P-256 key, with NUL */
    CRYPTO_KEY_FILE_MAX = 16 * 1024,     /* a private key file longer than this is refused */
    CRYPTO_PIN_LEN = 8 + 44,             /* "sha256//" + base64 of 32 bytes, without NUL */
    CRYPTO_B64_MAX_IN = 1024 * 1024 * 4, /* base64 text longer than this is refused */
};

/* Incremental SHA-256. Treat as opaque; lives on the caller's stack, no allocation. */
struct crypto_sha256 {
    mbedtls_sha256_context ctx;
};

/* SHA-256 of len bytes at data into out. Cannot fail. */
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
/* SHA-256 as 64 lower-case hex digits plus NUL. Cannot fail. */
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_LEN + 1]);
/* Starts an incremental SHA-256 in *s. Cannot fail. */
void crypto_sha256_init(struct crypto_sha256 *s);
/* Adds len bytes to the hash. Cannot fail. */
void crypto_sha256_update(struct crypto_sha256 *s, const void *data, size_t len);
/* Writes the digest to out and wipes *s (init again to reuse). Cannot fail. */
void crypto_sha256_final(struct crypto_sha256 *s, uint8_t out[CRYPTO_SHA256_LEN]);
/* Streams the regular file at path through SHA-256 with one CRYPTO_FILE_BUF buffer (memory
 * use does not grow with the file); *bytes (may be NULL) gets the byte count hashed.
 * RC_NOTFOUND, RC_IO, RC_INVAL (not a regular file), RC_NOMEM. */
int crypto_sha256_file(const char *path, uint8_t out[CRYPTO_SHA256_LEN], uint64_t *bytes,
                       char *err);

/* HMAC-SHA-256 (RFC 2104) of len bytes at data under keylen bytes of key into out.
 * RC_CRYPTO (or RC_NOMEM) only if mbedTLS fails. */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                       uint8_t out[CRYPTO_SHA256_LEN], char *err);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void crypto_hex(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2n lower- or upper-case hex digits into n bytes; RC_INVAL otherwise. */
int crypto_unhex(const char *hex, uint8_t *out, size_t n);

/* Size of the buffer (with NUL) crypto_base64_encode needs for n bytes. */
size_t crypto_base64_size(size_t n);
/* Standard base64 (RFC 4648 §4, padded, no line breaks) of n bytes into out (outsz bytes,
 * NUL-terminated). RC_LIMIT if outsz < crypto_base64_size(n). */
int crypto_base64_encode(const uint8_t *in, size_t n, char *out, size_t outsz, char *err);
/* Strictly decodes the NUL-terminated base64 text in into out (outsz bytes), *outlen the
 * byte count. Refuses (RC_INVAL) whitespace, characters outside the alphabet, a length not
 * a multiple of 4, misplaced or missing '=', non-zero padding bits; RC_LIMIT if the result
 * does not fit or the text is longer than CRYPTO_B64_MAX_IN. */
int crypto_base64_decode(const char *in, uint8_t *out, size_t outsz, size_t *outlen, char *err);

/* A CTR-DRBG (AES-256) seeded from the OS entropy source; reseeds itself after a fork. */
typedef struct crypto_rng crypto_rng;

/* Creates and seeds a generator into *out (caller frees with crypto_rng_destroy).
 * RC_NOMEM, RC_CRYPTO (no entropy). */
int crypto_rng_create(crypto_rng **out, char *err);
/* Wipes and frees a generator; NULL is ignored. */
void crypto_rng_destroy(crypto_rng *rng);
/* Fills n bytes at buf with random bytes. Thread-safe. RC_CRYPTO if the DRBG fails. */
int crypto_rng_bytes(crypto_rng *rng, void *buf, size_t n, char *err);
/* Fills n bytes at out straight from the kernel (getrandom, blocking until it is seeded), for
 * one-off secrets (tokens, pseudonym keys) where no generator is at hand. Thread-safe. RC_IO
 * (with err) if the kernel refuses. */
int crypto_random_bytes(void *out, size_t n, char *err);

/* An ECDSA P-256 key: a key pair, or a public key only. */
typedef struct crypto_key crypto_key;

/* Generates a new P-256 key pair into *out (free with crypto_key_destroy). */
int crypto_key_generate(crypto_rng *rng, crypto_key **out, char *err);
/* Wipes and frees a key; NULL is ignored. */
void crypto_key_destroy(crypto_key *key);
/* 1 if key holds a private key (can sign), 0 if it is a public key only. */
int crypto_key_has_private(crypto_key *key);
/* Writes the private key as PEM (SEC 1 "EC PRIVATE KEY") to a new file at path, mode 0600,
 * fsync'd. Refuses an existing path or a symlink (RC_CONFLICT), a public-only key
 * (RC_STATE); a half-written file is removed. */
int crypto_key_save(crypto_key *key, const char *path, char *err);
/* Loads a PEM (SEC 1 or PKCS#8, unencrypted) P-256 private key from path into *out.
 * Refuses a file readable/writable by group or other (RC_AUTH), not a regular file,
 * over CRYPTO_KEY_FILE_MAX, encrypted, or not a P-256 key (RC_INVAL). */
int crypto_key_load(const char *path, crypto_key **out, char *err);
/* The public key as PEM SubjectPublicKeyInfo ("PUBLIC KEY") into out (outsz bytes, at
 * least CRYPTO_PUBKEY_PEM_MAX is always enough). */
int crypto_key_public_pem(crypto_key *key, char *out, size_t outsz, char *err);
/* Imports a PEM SubjectPublicKeyInfo (NUL-terminated, under CRYPTO_PUBKEY_PEM_MAX) into a
 * public-only key *out. Refuses anything but one P-256 public key (RC_INVAL). */
int crypto_key_from_public_pem(const char *pem, crypto_key **out, char *err);
/* Deterministic (RFC 6979) ECDSA signature of a SHA-256 hash, as base64 of the DER form,
 * into out. rng only blinds the computation. RC_STATE for a public-only key. */
int crypto_key_sign(crypto_key *key, crypto_rng *rng, const uint8_t hash[CRYPTO_SHA256_LEN],
                    char out[CRYPTO_SIG_B64_MAX + 1], char *err);
/* Verifies a base64 DER ECDSA signature over a SHA-256 hash. 0 if valid; RC_INVAL for bad
 * base64, a wrong length, malformed DER or trailing bytes; RC_CRYPTO if it does not verify. */
int crypto_key_verify(crypto_key *key, const uint8_t hash[CRYPTO_SHA256_LEN], const char *sig_b64,
                      char *err);
/* Fingerprint: lower-case hex SHA-256 of the SubjectPublicKeyInfo DER. */
int crypto_key_fingerprint(crypto_key *key, char out[CRYPTO_SHA256_HEX_LEN + 1], char *err);
/* libcurl CURLOPT_PINNEDPUBLICKEY form: "sha256//" + base64(SHA-256(SubjectPublicKeyInfo DER)). */
int crypto_key_pin(crypto_key *key, char out[CRYPTO_PIN_LEN + 1], char *err);

#endif
