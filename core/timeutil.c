/* Time parsing and formatting; see timeutil.h for the invariants. Calendar arithmetic is
 * Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms), exact over
 * the whole int64 day range we use. */
#include "timeutil.h"

#include <stddef.h>
#include <string.h>
#include <time.h>

#include "rc.h"

#define MS_PER_DAY INT64_C(86400000)

static int64_t days_from_civil(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static void civil_from_ms(int64_t ms, struct ts_civil *c)
{
    int64_t days = ms / MS_PER_DAY; /* ms >= 0 here: truncation is floor */
    int64_t rem = ms % MS_PER_DAY;
    civil_from_days(days, &c->year, &c->month, &c->day);
    c->hour = (int)(rem / 3600000);
    c->minute = (int)(rem / 60000 % 60);
    c->second = (int)(rem / 1000 % 60);
    c->milli = (int)(rem % 1000);
}

/* Reads exactly n ASCII digits at s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static char *put(char *p, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* Writes "YYYY-MM-DD" and returns the position after it. */
static char *put_date(char *p, const struct ts_civil *c)
{
    p = put(p, c->year, 4);
    *p++ = '-';
    p = put(p, c->month, 2);
    *p++ = '-';
    return put(p, c->day, 2);
}

/* Writes "HH:MM:SS". */
static char *put_time(char *p, const struct ts_civil *c)
{
    p = put(p, c->hour, 2);
    *p++ = ':';
    p = put(p, c->minute, 2);
    *p++ = ':';
    return put(p, c->second, 2);
}

/* Parses "YYYY-MM-DD" at s (10 chars available, checked by the caller) and validates it. */
static int parse_date_part(const char *s, struct ts_civil *c, char *err)
{
    c->year = digits(s, 4);
    c->month = digits(s + 5, 2);
    c->day = digits(s + 8, 2);
    if (c->year < 0 || s[4] != '-' || c->month < 0 || s[7] != '-' || c->day < 0)
        return rc_fail(err, RC_INVAL, "date must be YYYY-MM-DD");
    if (c->month < 1 || c->month > 12)
        return rc_fail(err, RC_INVAL, "month %02d out of range 01..12", c->month);
    if (c->day < 1 || c->day > days_in_month(c->year, c->month))
        return rc_fail(err, RC_INVAL, "day %04d-%02d-%02d does not exist", c->year, c->month,
                       c->day);
    return RC_OK;
}

int ts_parse_rfc3339(const char *s, int64_t *ms, char *err)
{
    if (!s)
        return rc_fail(err, RC_INVAL, "no time given");
    size_t len = strnlen(s, TS_RFC3339_MAX + 1);
    if (len > TS_RFC3339_MAX)
        return rc_fail(err, RC_INVAL, "time longer than %d characters", TS_RFC3339_MAX);
    /* The shortest form, "YYYY-MM-DDTHH:MM:SSZ", has 20 characters; with 19 the time may be
     * complete but for its offset, which the offset check below names. */
    if (len < 19)
        return rc_fail(err, RC_INVAL,
                       "time \"%s\" is not RFC 3339 (YYYY-MM-DDTHH:MM:SSZ or "
                       "YYYY-MM-DDTHH:MM:SS+08:00)",
                       s);
    struct ts_civil c;
    int rc = parse_date_part(s, &c, err);
    if (rc)
        return rc;
    if (s[10] != 'T' && s[10] != 't')
        return rc_fail(err, RC_INVAL, "time needs 'T' between date and time");
    c.hour = digits(s + 11, 2);
    c.minute = digits(s + 14, 2);
    c.second = digits(s + 17, 2);
    if (c.hour < 0 || s[13] != ':' || c.minute < 0 || s[16] != ':' || c.second < 0)
        return rc_fail(err, RC_INVAL, "time of day must be HH:MM:SS");
    if (c.hour > 23)
        return rc_fail(err, RC_INVAL, "hour %02d out of range 00..23", c.hour);
    if (c.minute > 59)
        return rc_fail(err, RC_INVAL, "minute %02d out of range 00..59", c.minute);
    if (c.second == 60)
        return rc_fail(err, RC_INVAL, "leap second :60 has no POSIX time");
    if (c.second > 59)
        return rc_fail(err, RC_INVAL, "second %02d out of range 00..59", c.second);
    size_t i = 19;
    c.milli = 0;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 3)
                c.milli = c.milli * 10 + (s[i] - '0');
            i++;
        }
        size_t n = i - start;
        if (n == 0)
            return rc_fail(err, RC_INVAL, "'.' must be followed by fraction digits");
        if (n > TS_FRACTION_MAX)
            return rc_fail(err, RC_INVAL, "more than %d fraction digits", TS_FRACTION_MAX);
        for (; n < 3; n++)
            c.milli *= 10;
    }
    int64_t offset_min = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        if (len - i < 6)
            return rc_fail(err, RC_INVAL, "offset must be +HH:MM or -HH:MM");
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || s[i + 3] != ':' || om < 0)
            return rc_fail(err, RC_INVAL, "offset must be +HH:MM or -HH:MM");
        if (oh > 23 || om > 59)
            return rc_fail(err, RC_INVAL, "offset %c%02d:%02d out of range", s[i], oh, om);
        offset_min = (s[i] == '-' ? -1 : 1) * (int64_t)(oh * 60 + om);
        i += 6;
    } else {
        return rc_fail(err, RC_INVAL,
                       "time needs an offset: Z (UTC) or +HH:MM/-HH:MM, e.g. "
                       "2026-11-02T09:00:00+08:00 or 2026-11-02T01:00:00Z");
    }
    if (i != len)
        return rc_fail(err, RC_INVAL, "unexpected characters after the offset");
    int64_t t = days_from_civil(c.year, c.month, c.day) * MS_PER_DAY + c.hour * INT64_C(3600000) +
                c.minute * INT64_C(60000) + c.second * INT64_C(1000) + c.milli -
                offset_min * INT64_C(60000);
    if (t < TS_MIN_MS || t > TS_MAX_MS)
        return rc_fail(err, RC_INVAL, "time outside 1970-01-01T00:00:00Z..9999-12-31T23:59:59Z");
    *ms = t;
    return RC_OK;
}

int ts_format_utc(int64_t ms, char out[TS_UTC_LEN + 1])
{
    out[0] = '\0';
    if (ms < TS_MIN_MS || ms > TS_MAX_MS)
        return RC_INVAL;
    struct ts_civil c;
    civil_from_ms(ms, &c);
    char *p = put_date(out, &c);
    *p++ = 'T';
    p = put_time(p, &c);
    *p++ = '.';
    p = put(p, c.milli, 3);
    *p++ = 'Z';
    *p = '\0';
    return RC_OK;
}

bool ts_is_canonical_utc(const char *s)
{
    if (!s || strnlen(s, TS_UTC_LEN + 1) != TS_UTC_LEN)
        return false;
    if (s[10] != 'T' || s[19] != '.' || s[23] != 'Z')
        return false;
    int64_t ms;
    return ts_parse_rfc3339(s, &ms, NULL) == RC_OK;
}

int ts_shanghai_civil(int64_t ms, struct ts_civil *c)
{
    if (ms < TS_MIN_MS || ms > TS_MAX_MS - TS_SHANGHAI_OFFSET_MS)
        return RC_INVAL;
    civil_from_ms(ms + TS_SHANGHAI_OFFSET_MS, c);
    return RC_OK;
}

int ts_format_shanghai(int64_t ms, char out[TS_SHANGHAI_LEN + 1])
{
    struct ts_civil c;
    out[0] = '\0';
    if (ts_shanghai_civil(ms, &c))
        return RC_INVAL;
    char *p = put_date(out, &c);
    *p++ = ' ';
    p = put_time(p, &c);
    *p = '\0';
    return RC_OK;
}

int ts_format_shanghai_iso(int64_t ms, char out[TS_SHANGHAI_ISO_LEN + 1])
{
    struct ts_civil c;
    out[0] = '\0';
    if (ts_shanghai_civil(ms, &c))
        return RC_INVAL;
    char *p = put_date(out, &c);
    *p++ = 'T';
    p = put_time(p, &c);
    *p++ = '.';
    p = put(p, c.milli, 3);
    memcpy(p, "+08:00", 7);
    return RC_OK;
}

int ts_parse_date(const char *s, int64_t *ms, char *err)
{
    if (!s || strnlen(s, TS_DATE_LEN + 1) != TS_DATE_LEN)
        return rc_fail(err, RC_INVAL, "date must be YYYY-MM-DD");
    struct ts_civil c;
    int rc = parse_date_part(s, &c, err);
    if (rc)
        return rc;
    int64_t t = days_from_civil(c.year, c.month, c.day) * MS_PER_DAY - TS_SHANGHAI_OFFSET_MS;
    if (t < TS_MIN_MS)
        return rc_fail(err, RC_INVAL, "date %s before 1970-01-02", s);
    *ms = t;
    return RC_OK;
}

int ts_format_date(int64_t ms, char out[TS_DATE_LEN + 1])
{
    struct ts_civil c;
    out[0] = '\0';
    if (ts_shanghai_civil(ms, &c))
        return RC_INVAL;
    *put_date(out, &c) = '\0';
    return RC_OK;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec t;
    if (clock_gettime(id, &t) != 0)
        return -1;
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

double ts_hours(int64_t ms)
{
    return (double)ms / 3600000.0;
}

int64_t ts_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t ts_mono_ms(void)
{
    return clock_ms(CLOCK_BOOTTIME);
}
