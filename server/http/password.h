/* Passwords of people's accounts: the length rule, Argon2id hashing (RFC 9106) into a PHC
 * string ("$argon2id$v=19$m=65536,t=3,p=1$salt$hash"), verification.
 *
 * Invariants: a password never reaches a log line, an error message or the database; only
 * its PHC string is stored. Buffers that held a password are wiped by their owner. A stored
 * string names its own parameters, so raising PASSWORD_* later keeps old hashes verifiable.
 * Verifying an unknown user's attempt costs the same as a known one's (password_waste). */
#ifndef ROLLCALL_SERVER_PASSWORD_H
#define ROLLCALL_SERVER_PASSWORD_H

#include "store/store.h"

#include <stddef.h>

enum {
    PASSWORD_MIN_CHARS = 12,   /* characters (UTF-8 code points), not bytes */
    PASSWORD_MAX_BYTES = 1024, /* longer is refused: hashing it would be work for nothing */
    PASSWORD_T_COST = 3,       /* Argon2id passes */
    PASSWORD_M_COST_KIB = 64 * 1024,
    PASSWORD_PARALLELISM = 1,
    PASSWORD_SALT_LEN = 16,
    PASSWORD_HASH_LEN = 32,
    PASSWORD_ENCODED_MAX = STORE_PASSWORD_HASH_MAX, /* the PHC string, without NUL */
};

/* 0 when pw (len bytes) is acceptable as a new password: valid UTF-8 without control
 * characters, at least PASSWORD_MIN_CHARS characters, at most PASSWORD_MAX_BYTES bytes;
 * RC_INVAL with the rule it breaks otherwise. */
int password_check(const char *pw, size_t len, char *err);
/* Hashes pw (len bytes) with a fresh random salt into out (PASSWORD_ENCODED_MAX + 1 bytes),
 * a NUL-terminated PHC string. RC_IO without randomness, RC_NOMEM, RC_CRYPTO. */
int password_hash(const char *pw, size_t len, char *out, char *err);
/* 0 when pw (len bytes) matches encoded; RC_AUTH when it does not (or is longer than
 * PASSWORD_MAX_BYTES); RC_CORRUPT for an encoded string that is not Argon2id; RC_NOMEM. */
int password_verify(const char *encoded, const char *pw, size_t len, char *err);
/* Spends the time password_verify would, on nothing: for a login naming no (enabled) user,
 * so how long the answer takes does not tell whether the name exists. */
void password_waste(const char *pw, size_t len);

#endif
