#include "trainee.h"

#include "crypto.h"
#include "rc.h"
#include "utf8.h"

#include <mbedtls/platform_util.h>
#include <string.h>

enum { NO_UPPER_BOUND = 99991231 };

/* Province-level codes (first two digits) from GB/T 2260-2007 and its updates:
 * 11-15 North (Beijing .. Inner Mongolia), 21-23 North-east, 31-37 East, 41-46 Centre-south,
 * 50-54 South-west (50 Chongqing since 1997), 61-65 North-west, 71 Taiwan (listed in
 * GB/T 2260, no mainland-issued numbers), 81 Hong Kong and 82 Macao (and 83 Taiwan): since
 * 2018 the residence permits of Hong Kong, Macao and Taiwan residents carry GB 11643 numbers
 * with address codes 810000, 820000 and 830000, and such residents may train here. */
static int province_known(int p)
{
    return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
           (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 ||
           p == 81 || p == 82 || p == 83;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* ISO 7064 MOD 11-2 check character of the first 17 digits. */
static char check_char(const char *id)
{
    static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char map[] = "10X98765432";
    int sum = 0;
    for (size_t i = 0; i < 17; i++)
        sum += (id[i] - '0') * weight[i];
    return map[sum % 11];
}

/* Full check against a latest birth date (YYYYMMDD); writes the normalised form to out. */
static int check_id(const char *in, int latest, char out[TRAINEE_ID_LEN + 1], char *err)
{
    size_t len = strnlen(in, TRAINEE_ID_LEN + 1);
    if (len != TRAINEE_ID_LEN)
        return rc_fail(err, RC_INVAL, "ID number must have %d characters, not %s%zu",
                       TRAINEE_ID_LEN, len > TRAINEE_ID_LEN ? "more than " : "",
                       len > TRAINEE_ID_LEN ? (size_t)TRAINEE_ID_LEN : len);
    char id[TRAINEE_ID_LEN + 1];
    memcpy(id, in, sizeof id);
    for (size_t i = 0; i < 17; i++)
        if (id[i] < '0' || id[i] > '9')
            return rc_fail(err, RC_INVAL, "ID number character %zu is not a digit", i + 1);
    if (id[17] == 'x')
        id[17] = 'X';
    if ((id[17] < '0' || id[17] > '9') && id[17] != 'X')
        return rc_fail(err, RC_INVAL, "ID number's last character must be a digit or X");
    int province = digits(id, 2);
    if (!province_known(province))
        return rc_fail(err, RC_INVAL, "ID number's province code %02d is not a GB/T 2260 code",
                       province);
    int y = digits(id + 6, 4), m = digits(id + 10, 2), d = digits(id + 12, 2);
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return rc_fail(err, RC_INVAL, "ID number's birth date (characters 7-14) is not a date");
    int date = y * 10000 + m * 100 + d;
    if (date < TRAINEE_BIRTH_MIN)
        return rc_fail(err, RC_INVAL, "ID number's birth date is before 1900-01-01");
    if (date > latest)
        return rc_fail(err, RC_INVAL, "ID number's birth date is in the future");
    char want = check_char(id);
    if (id[17] != want)
        return rc_fail(err, RC_INVAL, "ID number's check character is %c, expected %c", id[17],
                       want);
    memcpy(out, id, sizeof id);
    mbedtls_platform_zeroize(id, sizeof id);
    return RC_OK;
}

int trainee_id_normalise(const char *in, time_t now, char out[TRAINEE_ID_LEN + 1], char *err)
{
    time_t local = now + TRAINEE_UTC_OFFSET_S;
    struct tm tm;
    if (!gmtime_r(&local, &tm))
        return rc_fail(err, RC_INVAL, "current time out of range");
    int today = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
    return check_id(in, today, out, err);
}

int trainee_pseudonym(const uint8_t *key, size_t keylen, const char *id,
                      char out[TRAINEE_PSEUDONYM_LEN + 1], char *err)
{
    char norm[TRAINEE_ID_LEN + 1];
    uint8_t mac[CRYPTO_SHA256_LEN];
    if (keylen < TRAINEE_KEY_MIN)
        return rc_fail(err, RC_INVAL, "pseudonym key of %zu bytes is shorter than %d", keylen,
                       TRAINEE_KEY_MIN);
    int rc = check_id(id, NO_UPPER_BOUND, norm, err);
    if (rc == RC_OK)
        rc = crypto_hmac_sha256(key, keylen, norm, TRAINEE_ID_LEN, mac, err);
    if (rc == RC_OK)
        crypto_hex(mac, sizeof mac, out);
    mbedtls_platform_zeroize(norm, sizeof norm);
    return rc;
}

int trainee_mask(const char *id, char out[TRAINEE_ID_LEN + 1], char *err)
{
    char norm[TRAINEE_ID_LEN + 1];
    int rc = check_id(id, NO_UPPER_BOUND, norm, err);
    if (rc == RC_OK) {
        memcpy(out, norm, 4);
        memset(out + 4, '*', TRAINEE_ID_LEN - 8);
        memcpy(out + TRAINEE_ID_LEN - 4, norm + TRAINEE_ID_LEN - 4, 4);
        out[TRAINEE_ID_LEN] = '\0';
    }
    mbedtls_platform_zeroize(norm, sizeof norm);
    return rc;
}

int trainee_name_mask(const char *name, char *out, size_t cap, char *err)
{
    size_t n = strlen(name);
    if (cap > 0)
        out[0] = '\0';
    if (n == 0) /* (the loop below refuses what is not UTF-8) */
        return rc_fail(err, RC_INVAL, "a name must be non-empty UTF-8");
    if (cap < n + 1)
        return rc_fail(err, RC_LIMIT, "no room for the masked name");
    /* Where each code point starts: the first and the last are kept. */
    size_t chars = 0, last = 0, first_len = 0;
    for (size_t i = 0; i < n;) {
        const char *why;
        size_t len = utf8_seq((const unsigned char *)name + i, n - i, &why);
        if (len == 0)
            return rc_fail(err, RC_INVAL, "a name must be non-empty UTF-8");
        if (chars == 0)
            first_len = len;
        last = i;
        chars++;
        i += len;
    }
    size_t used = 0;
    if (chars == 1) {
        out[used++] = '*';
    } else {
        memcpy(out, name, first_len);
        used = first_len;
        size_t stars = chars == 2 ? 1 : chars - 2;
        memset(out + used, '*', stars);
        used += stars;
        if (chars > 2) {
            memcpy(out + used, name + last, n - last);
            used += n - last;
        }
    }
    out[used] = '\0';
    return RC_OK;
}
