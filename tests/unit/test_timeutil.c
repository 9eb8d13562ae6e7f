/* timeutil: against published constants (RFC 3339 examples, well-known epoch values), against
 * glibc's timegm/gmtime_r and the tz database's Asia/Shanghai on thousands of random instants,
 * and every malformed form refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { RANDOM_ROUNDS = 20000 };

/* A small deterministic generator (splitmix64) so failures reproduce. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
static int64_t rnd_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static int64_t parse_ok(const char *s)
{
    char err[ERR_LEN] = "";
    int64_t ms = -42;
    int rc = ts_parse_rfc3339(s, &ms, err);
    if (rc != RC_OK)
        fail_msg("\"%s\" refused: %s", s, err);
    return ms;
}

static void parse_refused(const char *s)
{
    char err[ERR_LEN] = "";
    int64_t ms = -42;
    int rc = ts_parse_rfc3339(s, &ms, err);
    if (rc != RC_INVAL)
        fail_msg("\"%s\" accepted as %lld", s, (long long)ms);
    assert_int_equal(ms, -42);
    assert_true(strlen(err) > 0);
}

/* Known instants, from RFC 3339 section 5.8, POSIX folklore and `date -u -d ... +%s`. */
static void known_constants(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"1970-01-01T00:00:00.000Z", INT64_C(0)},
        {"1985-04-12T23:20:50.520Z", INT64_C(482196050520)},
        {"2000-02-29T00:00:00.000Z", INT64_C(951782400000)},
        {"2009-02-13T23:31:30.000Z", INT64_C(1234567890000)},
        {"2023-11-14T22:13:20.000Z", INT64_C(1700000000000)},
        {"2026-11-27T17:08:33.000Z", INT64_C(1795799313000)},
        {"2038-01-19T03:14:07.000Z", INT64_C(2147483647000)},
        {"2100-03-01T00:00:00.000Z", INT64_C(4107542400000)},
        {"9999-12-31T23:59:59.999Z", INT64_C(253402300799999)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[TS_UTC_LEN + 1];
        assert_int_equal(parse_ok(cases[i].text), cases[i].ms);
        assert_int_equal(ts_format_utc(cases[i].ms, out), RC_OK);
        assert_string_equal(out, cases[i].text);
        assert_true(ts_is_canonical_utc(out));
    }
    assert_int_equal(TS_MAX_MS, INT64_C(253402300799999));
}

/* RFC 3339 section 5.8 examples and the forms the RFC grammar allows. */
static void rfc3339_examples(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1985-04-12T23:20:50.52Z"), INT64_C(482196050520));
    assert_int_equal(parse_ok("1996-12-19T16:39:57-08:00"), INT64_C(851042397000));
    assert_int_equal(parse_ok("1996-12-20T00:39:57Z"), INT64_C(851042397000));
    /* lower-case t and z (RFC 3339 5.6 NOTE) */
    assert_int_equal(parse_ok("1996-12-20t00:39:57z"), INT64_C(851042397000));
    /* -00:00 is UTC with an unknown local offset */
    assert_int_equal(parse_ok("1996-12-20T00:39:57-00:00"), INT64_C(851042397000));
    assert_int_equal(parse_ok("2026-11-28T01:08:33+08:00"), INT64_C(1795799313000));
    assert_int_equal(parse_ok("2026-11-02T09:00:00+08:00"),
                     /* date -u -d */ INT64_C(1793581200000));
    /* fractions: 1 to 9 digits, floored to the millisecond */
    assert_int_equal(parse_ok("2000-01-01T00:00:00.1Z"), INT64_C(946684800100));
    assert_int_equal(parse_ok("2000-01-01T00:00:00.12Z"), INT64_C(946684800120));
    assert_int_equal(parse_ok("2000-01-01T00:00:00.1239Z"), INT64_C(946684800123));
    assert_int_equal(parse_ok("2000-01-01T00:00:00.999999999Z"), INT64_C(946684800999));
    assert_int_equal(parse_ok("2000-01-01T00:00:00.000000001Z"), INT64_C(946684800000));
    /* offsets can carry the instant across the day, month and year */
    assert_int_equal(parse_ok("1999-12-31T23:59:59.999-23:59"), INT64_C(946771139999));
    assert_int_equal(parse_ok("2000-01-01T00:00:00+23:59"), INT64_C(946598460000));
    assert_int_equal(parse_ok("1970-01-01T08:00:00+08:00"), 0);
    assert_int_equal(parse_ok("1969-12-31T23:00:00-01:00"), 0);
}

static void refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026-11-27",
        "2026-11-27T17:08Z",               /* no seconds */
        "2026-11-27T17:08:33",             /* no offset */
        "2026-11-27 17:08:33Z",            /* space for T */
        "2026-11-27T17:08:33+0800",        /* offset without colon */
        "2026-11-27T17:08:33+08",          /* offset without minutes */
        "2026-11-27T17:08:33+8:00",        /* one-digit offset hour */
        "2026-11-27T17:08:33.Z",           /* dot without digits */
        "2026-11-27T17:08:33.1234567890Z", /* ten fraction digits */
        "2026-11-27T17:08:33,123Z",        /* comma fraction */
        "2026-02-30T00:00:00Z",            /* Feb 30 */
        "2026-02-29T00:00:00Z",            /* not a leap year */
        "2100-02-29T00:00:00Z",            /* century, not a leap year */
        "2026-04-31T00:00:00Z",            /* April has 30 days */
        "2026-00-10T00:00:00Z",            /* month 0 */
        "2026-13-10T00:00:00Z",            /* month 13 */
        "2026-01-00T00:00:00Z",            /* day 0 */
        "2026-01-01T24:00:00Z",            /* hour 24 */
        "2026-01-01T23:60:00Z",            /* minute 60 */
        "1990-12-31T23:59:60Z",            /* leap second (RFC 3339 5.8 example) */
        "2026-01-01T23:59:61Z",            /* second 61 */
        "2026-01-01T00:00:00+24:00",       /* offset hour 24 */
        "2026-01-01T00:00:00+05:60",       /* offset minute 60 */
        "1937-01-01T12:00:27.87+00:20",    /* RFC 3339 5.8 example, before 1970 */
        "1969-12-31T23:59:59.999Z",        /* one ms before the epoch */
        "1970-01-01T07:59:59+08:00",       /* before the epoch once offset */
        "9999-12-31T23:59:59Z+",           /* trailing garbage */
        "9999-12-31T20:00:00-08:00",       /* after 9999 once offset */
        "10000-01-01T00:00:00Z",           /* five-digit year */
        "+2026-01-01T00:00:00Z",           /* signed year */
        "2026-1-01T00:00:00Z",             /* one-digit month */
        "2026-01-01T00:00:00ZZ",           /* doubled Z */
        "2026-01-01T00:00:00 Z",           /* space before Z */
        "2026-01-01T00:00:00Z ",           /* trailing space */
        " 2026-01-01T00:00:00Z",           /* leading space */
        "2026-01-01T00:00:00UTC",          /* zone name */
        "2026-01-01X00:00:00Z",            /* not T */
        "2026-01-01T0a:00:00Z",            /* letter in hour */
        "２０２６-01-01T00:00:00Z",        /* full-width digits */
        "2026-01-01T00:00:00.123456789012345678901234567890123456789012Z", /* too long */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_refused(bad[i]);
    char err[ERR_LEN];
    int64_t ms;
    assert_int_equal(ts_parse_rfc3339(NULL, &ms, err), RC_INVAL);
    char out[TS_UTC_LEN + 1];
    assert_int_equal(ts_format_utc(-1, out), RC_INVAL);
    assert_string_equal(out, "");
    assert_int_equal(ts_format_utc(TS_MAX_MS + 1, out), RC_INVAL);
    assert_int_equal(ts_format_utc(INT64_MIN, out), RC_INVAL);
    assert_int_equal(ts_format_utc(INT64_MAX, out), RC_INVAL);
}

/* A time without an offset is told both forms the parser takes: Z and +08:00. */
static void missing_offset_names_both_forms(void **state)
{
    (void)state;
    static const char *const bare[] = {"2026-11-02T09:00:00", "2026-11-02T09:00:00.250"};
    for (size_t i = 0; i < sizeof bare / sizeof bare[0]; i++) {
        char err[ERR_LEN] = "";
        int64_t ms = -42;
        assert_int_equal(ts_parse_rfc3339(bare[i], &ms, err), RC_INVAL);
        assert_int_equal(ms, -42);
        assert_non_null(strstr(err, "Z"));
        assert_non_null(strstr(err, "+08:00"));
        assert_null(strchr(err, '\n'));
    }
}

static void canonical_form_is_exact(void **state)
{
    (void)state;
    assert_true(ts_is_canonical_utc("2026-11-27T17:08:33.123Z"));
    assert_false(ts_is_canonical_utc("2026-11-27T17:08:33Z"));
    assert_false(ts_is_canonical_utc("2026-11-27T17:08:33.12Z"));
    assert_false(ts_is_canonical_utc("2026-11-27T17:08:33.1234Z"));
    assert_false(ts_is_canonical_utc("2026-11-27t17:08:33.123Z"));
    assert_false(ts_is_canonical_utc("2026-11-27T17:08:33.123z"));
    assert_false(ts_is_canonical_utc("2026-11-28T01:08:33.123+08:00"));
    assert_false(ts_is_canonical_utc("2026-02-30T17:08:33.123Z"));
    assert_false(ts_is_canonical_utc("2026-11-27T24:08:33.123Z"));
    assert_false(ts_is_canonical_utc("1969-12-31T23:59:59.999Z"));
    assert_false(ts_is_canonical_utc("2026-11-27T17:08:33.123Z "));
    assert_false(ts_is_canonical_utc(""));
    assert_false(ts_is_canonical_utc(NULL));
}

/* glibc's gmtime_r and strftime, an independent implementation, on random instants. */
static void format_matches_gmtime(void **state)
{
    (void)state;
    for (int i = 0; i < RANDOM_ROUNDS; i++) {
        int64_t ms = i < RANDOM_ROUNDS / 2 ? rnd_range(0, TS_MAX_MS)
                                           : rnd_range(INT64_C(1577836800000), /* 2020..2040 */
                                                       INT64_C(2208988800000));
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        char ref[64], ref_ms[80];
        assert_true(strftime(ref, sizeof ref, "%Y-%m-%dT%H:%M:%S", &tm) > 0);
        snprintf(ref_ms, sizeof ref_ms, "%s.%03dZ", ref, (int)(ms % 1000));
        char out[TS_UTC_LEN + 1];
        assert_int_equal(ts_format_utc(ms, out), RC_OK);
        assert_string_equal(out, ref_ms);
        assert_true(ts_is_canonical_utc(out));
        assert_int_equal(parse_ok(out), ms);
    }
}

/* glibc's timegm on random calendar fields written with random offsets. */
static void parse_matches_timegm(void **state)
{
    (void)state;
    for (int i = 0; i < RANDOM_ROUNDS; i++) {
        struct tm tm = {0};
        tm.tm_year = (int)rnd_range(1971, 9998) - 1900;
        tm.tm_mon = (int)rnd_range(0, 11);
        tm.tm_mday = (int)rnd_range(1, 31);
        tm.tm_hour = (int)rnd_range(0, 23);
        tm.tm_min = (int)rnd_range(0, 59);
        tm.tm_sec = (int)rnd_range(0, 59);
        int oh = (int)rnd_range(0, 23), om = (int)rnd_range(0, 59);
        int sign = rnd() & 1 ? 1 : -1;
        int frac = (int)rnd_range(0, 999999999);
        char text[80];
        snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%09d%c%02d:%02d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 frac, sign > 0 ? '+' : '-', oh, om);
        struct tm norm = tm;
        time_t t = timegm(&norm);
        char err[ERR_LEN];
        int64_t ms;
        int rc = ts_parse_rfc3339(text, &ms, err);
        if (norm.tm_mday != tm.tm_mday) {
            /* timegm normalised a day that does not exist (e.g. April 31): we must refuse */
            assert_int_equal(rc, RC_INVAL);
            continue;
        }
        if (rc != RC_OK)
            fail_msg("\"%s\" refused: %s", text, err);
        int64_t want = (int64_t)t * 1000 + frac / 1000000 - sign * (oh * 60 + om) * INT64_C(60000);
        assert_int_equal(ms, want);
    }
}

/* Asia/Shanghai from the tz database (via glibc localtime_r) for instants after 1991, when
 * China's last daylight saving time ended: the fixed +08:00 must agree with it. */
static void shanghai_matches_tzdata(void **state)
{
    (void)state;
    if (access("/usr/share/zoneinfo/Asia/Shanghai", R_OK) != 0)
        fail_msg("tzdata's Asia/Shanghai is missing: apt-get install tzdata");
    assert_int_equal(setenv("TZ", "Asia/Shanghai", 1), 0);
    tzset();
    for (int i = 0; i < RANDOM_ROUNDS; i++) {
        int64_t ms = rnd_range(INT64_C(694224000000),   /* 1992-01-01 */
                               INT64_C(4102444800000)); /* 2100-01-01 */
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        assert_non_null(localtime_r(&t, &tm));
        assert_int_equal(tm.tm_gmtoff, 8 * 3600);
        char ref[64], ref_date[16], ref_iso[80];
        assert_true(strftime(ref, sizeof ref, "%Y-%m-%d %H:%M:%S", &tm) > 0);
        assert_true(strftime(ref_date, sizeof ref_date, "%Y-%m-%d", &tm) > 0);
        char hms[32];
        assert_true(strftime(hms, sizeof hms, "%Y-%m-%dT%H:%M:%S", &tm) > 0);
        snprintf(ref_iso, sizeof ref_iso, "%s.%03d+08:00", hms, (int)(ms % 1000));
        char out[TS_SHANGHAI_LEN + 1], iso[TS_SHANGHAI_ISO_LEN + 1], date[TS_DATE_LEN + 1];
        assert_int_equal(ts_format_shanghai(ms, out), RC_OK);
        assert_string_equal(out, ref);
        assert_int_equal(ts_format_shanghai_iso(ms, iso), RC_OK);
        assert_string_equal(iso, ref_iso);
        assert_int_equal(parse_ok(iso), ms);
        assert_int_equal(ts_format_date(ms, date), RC_OK);
        assert_string_equal(date, ref_date);
        /* the date's local midnight, from mktime in the same zone */
        struct tm mid = tm;
        mid.tm_hour = mid.tm_min = mid.tm_sec = 0;
        mid.tm_isdst = -1;
        time_t midnight = mktime(&mid);
        char err[ERR_LEN];
        int64_t dms;
        assert_int_equal(ts_parse_date(date, &dms, err), RC_OK);
        assert_int_equal(dms, (int64_t)midnight * 1000);
    }
    unsetenv("TZ");
    tzset();
}

static void shanghai_examples_and_limits(void **state)
{
    (void)state;
    char out[TS_SHANGHAI_LEN + 1], iso[TS_SHANGHAI_ISO_LEN + 1], date[TS_DATE_LEN + 1];
    char err[ERR_LEN];
    assert_int_equal(ts_format_shanghai(INT64_C(1795799313000), out), RC_OK);
    assert_string_equal(out, "2026-11-28 01:08:33");
    assert_int_equal(ts_format_shanghai_iso(INT64_C(1795799313456), iso), RC_OK);
    assert_string_equal(iso, "2026-11-28T01:08:33.456+08:00");
    assert_int_equal(ts_format_date(INT64_C(1795799313000), date), RC_OK);
    assert_string_equal(date, "2026-11-28");
    /* 2026-11-28 00:00+08:00 is 2026-11-27T16:00:00Z = 1795795200 s (date -u -d) */
    int64_t ms;
    assert_int_equal(ts_parse_date("2026-11-28", &ms, err), RC_OK);
    assert_int_equal(ms, INT64_C(1795795200000));
    assert_int_equal(ts_parse_date("1970-01-02", &ms, err), RC_OK);
    assert_int_equal(ms, INT64_C(57600000));
    assert_int_equal(ts_parse_date("9999-12-31", &ms, err), RC_OK);
    assert_int_equal(ms, INT64_C(253402214400000) - INT64_C(28800000));
    assert_int_equal(ts_format_shanghai(0, out), RC_OK);
    assert_string_equal(out, "1970-01-01 08:00:00");
    /* the last 8 hours before TS_MAX_MS are already year 10000 in Shanghai */
    assert_int_equal(ts_format_shanghai(TS_MAX_MS - TS_SHANGHAI_OFFSET_MS, out), RC_OK);
    assert_string_equal(out, "9999-12-31 23:59:59");
    assert_int_equal(ts_format_shanghai(TS_MAX_MS - TS_SHANGHAI_OFFSET_MS + 1, out), RC_INVAL);
    assert_int_equal(ts_format_shanghai_iso(-1, iso), RC_INVAL);
    assert_int_equal(ts_format_date(-1, date), RC_INVAL);
    static const char *const bad_dates[] = {
        "1970-01-01", "2026-02-29",           "2026-13-01",  "2026-11-31",
        "2026-11-2",  "2026/11/28",           "2026-11-28 ", "20261128",
        "",           "2026-11-28T00:00:00Z", "0000-01-01",
    };
    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
        ms = -42;
        assert_int_equal(ts_parse_date(bad_dates[i], &ms, err), RC_INVAL);
        assert_int_equal(ms, -42);
    }
    assert_int_equal(ts_parse_date(NULL, &ms, err), RC_INVAL);
    assert_int_equal(ts_parse_date("2024-02-29", &ms, err), RC_OK);
}

/* The clocks read the kernel clocks they name (compared with clock_gettime itself). */
static void clocks(void **state)
{
    (void)state;
    struct timespec a, b;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &a), 0);
    int64_t now = ts_now_ms();
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &b), 0);
    assert_true(now >= (int64_t)a.tv_sec * 1000 + a.tv_nsec / 1000000);
    assert_true(now <= (int64_t)b.tv_sec * 1000 + b.tv_nsec / 1000000);
    assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &a), 0);
    int64_t mono = ts_mono_ms();
    assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &b), 0);
    assert_true(mono >= (int64_t)a.tv_sec * 1000 + a.tv_nsec / 1000000);
    assert_true(mono <= (int64_t)b.tv_sec * 1000 + b.tv_nsec / 1000000);
}

static void hours_of_milliseconds(void **state)
{
    (void)state;
    assert_true(ts_hours(0) == 0.0);
    assert_true(ts_hours(3600000) == 1.0);
    assert_true(ts_hours(5400000) == 1.5);
    assert_true(ts_hours(-1800000) == -0.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_constants),
        cmocka_unit_test(rfc3339_examples),
        cmocka_unit_test(refusals),
        cmocka_unit_test(missing_offset_names_both_forms),
        cmocka_unit_test(canonical_form_is_exact),
        cmocka_unit_test(format_matches_gmtime),
        cmocka_unit_test(parse_matches_timegm),
        cmocka_unit_test(shanghai_matches_tzdata),
        cmocka_unit_test(shanghai_examples_and_limits),
        cmocka_unit_test(clocks),
        cmocka_unit_test(hours_of_milliseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
