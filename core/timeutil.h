/* Time handling: instants are int64 milliseconds since 1970-01-01T00:00:00Z (UTC, leap seconds
 * not counted, as POSIX time). Events carry UTC; people see Asia/Shanghai.
 *
 * Invariants:
 * - every instant accepted or produced lies in [TS_MIN_MS, TS_MAX_MS], that is
 *   1970-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z; anything else is refused, so every
 *   formatted year has exactly four digits;
 * - Asia/Shanghai is a fixed UTC+08:00: China has observed no daylight saving time since
 *   1991, and no instant before 1991 matters here, so no tz database is consulted and results
 *   do not depend on TZ or the host's zoneinfo;
 * - no function here reads the environment or keeps state, except the two clock readers.
 * Integer calendar arithmetic (proleptic Gregorian), no timegm/mktime/locale. */
#ifndef ROLLCALL_TIMEUTIL_H
#define ROLLCALL_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

#define TS_MIN_MS INT64_C(0)
#define TS_MAX_MS INT64_C(253402300799999)      /* 9999-12-31T23:59:59.999Z */
#define TS_SHANGHAI_OFFSET_MS INT64_C(28800000) /* UTC+08:00 */

enum {
    TS_UTC_LEN = 24,          /* "2026-11-27T17:08:33.123Z", without the NUL */
    TS_SHANGHAI_LEN = 19,     /* "2026-11-28 01:08:33" */
    TS_SHANGHAI_ISO_LEN = 29, /* "2026-11-28T01:08:33.123+08:00" */
    TS_DATE_LEN = 10,         /* "2026-11-28" */
    TS_RFC3339_MAX = 64,      /* longest RFC 3339 text accepted (9 fraction digits is 35) */
    TS_FRACTION_MAX = 9,      /* fraction digits accepted; finer than 1 ms is floored */
};

/* Parses an RFC 3339 date-time (section 5.6): YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM).
 * 'T' and 'Z' may be lower case (RFC 3339 5.6 NOTE allows it); nothing else is optional: no
 * space for 'T', no missing seconds or offset, no offset without a colon. frac is 1..9 digits,
 * floored to the millisecond. Refuses invalid dates (Feb 30, Feb 29 of a common year), hour 24,
 * second 60 (a leap second has no POSIX instant), offsets beyond 23:59, and instants outside
 * [TS_MIN_MS, TS_MAX_MS]. "-00:00" is UTC. Returns 0 and *ms, or RC_INVAL with err. */
int ts_parse_rfc3339(const char *s, int64_t *ms, char *err);

/* Writes the canonical event form "YYYY-MM-DDTHH:MM:SS.mmmZ" (TS_UTC_LEN chars + NUL) to out.
 * Returns 0, or RC_INVAL when ms is outside [TS_MIN_MS, TS_MAX_MS] (out is then ""). */
int ts_format_utc(int64_t ms, char out[TS_UTC_LEN + 1]);

/* True when s is exactly the canonical event form of a valid instant: 24 chars, upper-case
 * 'T' and 'Z', three fraction digits, a real calendar date. */
bool ts_is_canonical_utc(const char *s);

/* A calendar date and wall-clock time. */
struct ts_civil {
    int year, month, day, hour, minute, second, milli;
};

/* The Asia/Shanghai wall-clock time of ms into *c. Returns 0, or RC_INVAL when ms is out of
 * range or the local time would fall after year 9999. */
int ts_shanghai_civil(int64_t ms, struct ts_civil *c);

/* Writes Asia/Shanghai wall time "YYYY-MM-DD HH:MM:SS" (seconds floored) for display.
 * Returns 0, or RC_INVAL when the local time would fall after year 9999 or ms is out of range. */
int ts_format_shanghai(int64_t ms, char out[TS_SHANGHAI_LEN + 1]);

/* Writes Asia/Shanghai time as RFC 3339 with its offset, "YYYY-MM-DDTHH:MM:SS.mmm+08:00"; it
 * parses back to ms with ts_parse_rfc3339. Returns 0 or RC_INVAL as ts_format_shanghai. */
int ts_format_shanghai_iso(int64_t ms, char out[TS_SHANGHAI_ISO_LEN + 1]);

/* Parses "YYYY-MM-DD", an Asia/Shanghai calendar date, into the UTC instant of its local
 * midnight (the date's 00:00+08:00). Accepts 1970-01-02 .. 9999-12-31 (1970-01-01's midnight
 * precedes TS_MIN_MS). Returns 0 and *ms, or RC_INVAL with err. */
int ts_parse_date(const char *s, int64_t *ms, char *err);

/* Writes the Asia/Shanghai calendar date "YYYY-MM-DD" of instant ms. Returns 0, or RC_INVAL
 * as ts_format_shanghai. */
int ts_format_date(int64_t ms, char out[TS_DATE_LEN + 1]);

/* Wall-clock time (CLOCK_REALTIME) in ms since the epoch; may jump when the clock is set.
 * Returns -1 only if clock_gettime failed, which Linux does not do for this clock. */
int64_t ts_now_ms(void);
/* A duration in milliseconds as (fractional) clock hours, as reports show them. */
double ts_hours(int64_t ms);

/* Time since boot (CLOCK_BOOTTIME) in ms, counting suspend; never goes backwards within one
 * boot. Pair it with the boot id. Returns -1 only if clock_gettime failed. */
int64_t ts_mono_ms(void);

#endif
