/* UUIDs: generation of version 7 (RFC 9562 §5.7) and validation of the canonical text form.
 *
 * Invariants:
 * - Text UUIDs are canonical: 36 characters, lower-case hex in 8-4-4-4-12 groups. Upper case
 *   is refused so that one id has one spelling (ids are compared byte for byte).
 * - A v7 UUID is: 48-bit big-endian Unix time in ms, version 7, 12 random bits (rand_a),
 *   variant 0b10, 62 random bits (rand_b). Ids made in one ms are unique by their 74 random
 *   bits, not ordered within that ms. */
#ifndef ROLLCALL_UUID_H
#define ROLLCALL_UUID_H

#include "crypto.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    UUID_LEN = 16,     /* bytes */
    UUID_STR_LEN = 36, /* characters, without the NUL */
};

#define UUID_V7_MAX_MS ((UINT64_C(1) << 48) - 1) /* the last ms a v7 timestamp can hold */

/* A new UUIDv7 for Unix time unix_ms with random bits from rng, as canonical text into out.
 * RC_INVAL if unix_ms > UUID_V7_MAX_MS; RC_CRYPTO if rng fails. */
int uuid_v7(crypto_rng *rng, uint64_t unix_ms, char out[UUID_STR_LEN + 1], char *err);
/* Writes the UUIDv7 layout into b: the 48-bit timestamp (unix_ms, caller keeps it below
 * 2^48) in bytes 0-5, then the version and variant bits over the caller's random bytes 6-15.
 * For callers with their own (e.g. deterministic) randomness; cannot fail. */
void uuid_v7_layout(uint64_t unix_ms, uint8_t b[UUID_LEN]);
/* The same, as 16 bytes (network order). */
int uuid_v7_bytes(crypto_rng *rng, uint64_t unix_ms, uint8_t out[UUID_LEN], char *err);
/* Canonical text of 16 bytes into out. Cannot fail. */
void uuid_format(const uint8_t in[UUID_LEN], char out[UUID_STR_LEN + 1]);
/* true if s is a canonical lower-case UUID of any version (NUL-terminated, exactly 36). */
bool uuid_is_valid(const char *s);
/* true if s is canonical, version 7 and variant 0b10. */
bool uuid_is_v7(const char *s);
/* The Unix ms timestamp of a v7 UUID into *unix_ms; RC_INVAL if s is not a v7 UUID. */
int uuid_v7_time(const char *s, uint64_t *unix_ms, char *err);

#endif
