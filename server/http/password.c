/* Argon2id through libargon2 (Debian libargon2-dev, the reference implementation). Why these
 * costs: docs/SECURITY.md "Passwords". argon2id_verify compares in constant time. */
#include "http/password.h"

#include "crypto.h"
#include "rc.h"
#include "utf8.h"

#include <argon2.h>
#include <string.h>

int password_check(const char *pw, size_t len, char *err)
{
    if (len > PASSWORD_MAX_BYTES)
        return rc_fail(err, RC_INVAL, "password longer than %d bytes", PASSWORD_MAX_BYTES);
    if (!utf8_valid(pw, len, NULL))
        return rc_fail(err, RC_INVAL, "password is not valid UTF-8 text");
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)pw[i];
        if (c < 0x20 || c == 0x7f)
            return rc_fail(err, RC_INVAL, "password contains a control character");
        if ((c & 0xc0) != 0x80)
            chars++;
    }
    if (chars < PASSWORD_MIN_CHARS)
        return rc_fail(err, RC_INVAL, "password too short: at least %d characters",
                       PASSWORD_MIN_CHARS);
    return RC_OK;
}

int password_hash(const char *pw, size_t len, char *out, char *err)
{
    uint8_t salt[PASSWORD_SALT_LEN];
    int rc = crypto_random_bytes(salt, sizeof salt, err);
    if (rc != RC_OK)
        return rc;
    size_t need = argon2_encodedlen(PASSWORD_T_COST, PASSWORD_M_COST_KIB, PASSWORD_PARALLELISM,
                                    PASSWORD_SALT_LEN, PASSWORD_HASH_LEN, Argon2_id);
    if (need > PASSWORD_ENCODED_MAX + 1)
        return rc_fail(err, RC_LIMIT, "an Argon2id string of %zu bytes does not fit", need);
    int ar =
        argon2id_hash_encoded(PASSWORD_T_COST, PASSWORD_M_COST_KIB, PASSWORD_PARALLELISM, pw, len,
                              salt, sizeof salt, PASSWORD_HASH_LEN, out, PASSWORD_ENCODED_MAX + 1);
    explicit_bzero(salt, sizeof salt);
    if (ar == ARGON2_MEMORY_ALLOCATION_ERROR)
        return rc_fail(err, RC_NOMEM, "out of memory hashing a password");
    if (ar != ARGON2_OK)
        return rc_fail(err, RC_CRYPTO, "argon2id: %s", argon2_error_message(ar));
    return RC_OK;
}

int password_verify(const char *encoded, const char *pw, size_t len, char *err)
{
    if (len > PASSWORD_MAX_BYTES) {
        password_waste(pw, len);
        return rc_fail(err, RC_AUTH, "wrong password");
    }
    if (strncmp(encoded, "$argon2id$", 10) != 0)
        return rc_fail(err, RC_CORRUPT, "stored password hash is not Argon2id");
    int ar = argon2id_verify(encoded, pw, len);
    if (ar == ARGON2_OK)
        return RC_OK;
    if (ar == ARGON2_VERIFY_MISMATCH)
        return rc_fail(err, RC_AUTH, "wrong password");
    if (ar == ARGON2_MEMORY_ALLOCATION_ERROR)
        return rc_fail(err, RC_NOMEM, "out of memory verifying a password");
    return rc_fail(err, RC_CORRUPT, "stored password hash: %s", argon2_error_message(ar));
}

void password_waste(const char *pw, size_t len)
{
    /* The same cost as a verification: one Argon2id computation with the current
     * parameters, over the attempt, with a fixed salt; the result is thrown away. */
    static const uint8_t salt[PASSWORD_SALT_LEN] = "rollcall-no-user";
    uint8_t out[PASSWORD_HASH_LEN];
    (void)argon2id_hash_raw(PASSWORD_T_COST, PASSWORD_M_COST_KIB, PASSWORD_PARALLELISM, pw,
                            len > PASSWORD_MAX_BYTES ? PASSWORD_MAX_BYTES : len, salt, sizeof salt,
                            out, sizeof out);
    explicit_bzero(out, sizeof out);
}
