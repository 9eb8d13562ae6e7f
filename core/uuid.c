#include "uuid.h"

#include "rc.h"

#include <string.h>

void uuid_v7_layout(uint64_t unix_ms, uint8_t b[UUID_LEN])
{
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(unix_ms >> (40 - 8 * i));
    b[6] = (uint8_t)(0x70 | (b[6] & 0x0f)); /* version 7 over the top 4 bits of rand_a */
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3f)); /* variant 0b10 over the top 2 bits of rand_b */
}

int uuid_v7_bytes(crypto_rng *rng, uint64_t unix_ms, uint8_t out[UUID_LEN], char *err)
{
    if (unix_ms > UUID_V7_MAX_MS)
        return rc_fail(err, RC_INVAL, "timestamp %llu ms does not fit in 48 bits",
                       (unsigned long long)unix_ms);
    int rc = crypto_rng_bytes(rng, out + 6, UUID_LEN - 6, err);
    if (rc != RC_OK)
        return rc;
    uuid_v7_layout(unix_ms, out);
    return RC_OK;
}

void uuid_format(const uint8_t in[UUID_LEN], char out[UUID_STR_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = digits[in[i] >> 4];
        out[o++] = digits[in[i] & 0x0f];
    }
    out[o] = '\0';
}

int uuid_v7(crypto_rng *rng, uint64_t unix_ms, char out[UUID_STR_LEN + 1], char *err)
{
    uint8_t b[UUID_LEN];
    int rc = uuid_v7_bytes(rng, unix_ms, b, err);
    if (rc == RC_OK)
        uuid_format(b, out);
    return rc;
}

static int lowerhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool uuid_is_valid(const char *s)
{
    if (strnlen(s, UUID_STR_LEN + 1) != UUID_STR_LEN)
        return false;
    for (size_t i = 0; i < UUID_STR_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (lowerhex(s[i]) < 0) {
            return false;
        }
    }
    return true;
}

bool uuid_is_v7(const char *s)
{
    /* s[14] is the version nibble, s[19] holds the variant bits. */
    return uuid_is_valid(s) && s[14] == '7' && (lowerhex(s[19]) & 0x0c) == 0x08;
}

int uuid_v7_time(const char *s, uint64_t *unix_ms, char *err)
{
    if (!uuid_is_v7(s))
        return rc_fail(err, RC_INVAL, "not a canonical version 7 UUID");
    uint64_t ms = 0;
    for (size_t i = 0; i < 13; i++) {
        if (i == 8)
            continue;
        ms = ms << 4 | (uint64_t)lowerhex(s[i]);
    }
    *unix_ms = ms;
    return RC_OK;
}
