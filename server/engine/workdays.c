#include "engine/workdays.h"

#include "cfgmap.h"
#include "rc.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ROLLCALL_DATADIR
#define ROLLCALL_DATADIR "/usr/local/share/rollcall"
#endif

#define DAY_MS INT64_C(86400000)

static const char *check_date(const char *v)
{
    int64_t ms;
    char err[ERR_LEN];
    if (strlen(v) != TS_DATE_LEN || ts_parse_date(v, &ms, err) != RC_OK)
        return "a date YYYY-MM-DD";
    return NULL;
}

static const struct cfgmap_entry off_entries[] = {
    {.key = "from",
     CFGMAP_F_STRING(struct workdays_off, from),
     .required = true,
     .check = check_date,
     .help = "first day off (放假)"},
    {.key = "to",
     CFGMAP_F_STRING(struct workdays_off, to),
     .required = true,
     .check = check_date,
     .help = "last day off, inclusive"},
    {.key = "name",
     CFGMAP_F_STRING(struct workdays_off, name),
     .required = true,
     .help = "the holiday, as the notice names it"},
    {.key = NULL},
};
static const struct cfgmap_table off_table = {off_entries, sizeof(struct workdays_off)};

static const struct cfgmap_entry on_entries[] = {
    {.key = "date",
     CFGMAP_F_STRING(struct workdays_on, date),
     .required = true,
     .check = check_date,
     .help = "a Saturday or Sunday worked (调休上班)"},
    {.key = "name",
     CFGMAP_F_STRING(struct workdays_on, name),
     .required = true,
     .help = "why, as the notice says"},
    {.key = NULL},
};
static const struct cfgmap_table on_table = {on_entries, sizeof(struct workdays_on)};

static const struct cfgmap_entry year_entries[] = {
    {.key = "year",
     CFGMAP_F_INT(struct workdays_year, year),
     .required = true,
     .imin = WORKDAYS_FIRST_YEAR,
     .imax = WORKDAYS_LAST_YEAR,
     .help = "the calendar year the notice is for"},
    {.key = "source",
     CFGMAP_F_STRING(struct workdays_year, source),
     .required = true,
     .help = "the notice: title, 文号 and date"},
    {.key = "off",
     CFGMAP_F_ARRAY(struct workdays_year, off, n_off, &off_table),
     .required = true,
     .help = "holiday ranges (放假调休)"},
    {.key = "on",
     CFGMAP_F_ARRAY(struct workdays_year, on, n_on, &on_table),
     .help = "compensatory working days (调休上班)"},
    {.key = NULL},
};
static const struct cfgmap_table year_table = {year_entries, sizeof(struct workdays_year)};

static const struct cfgmap_entry workdays_entries[] = {
    {.key = "source",
     CFGMAP_F_STRING(struct workdays, source),
     .required = true,
     .help = "where the calendar comes from"},
    {.key = "years",
     CFGMAP_F_ARRAY(struct workdays, years, n_years, &year_table),
     .required = true,
     .help = "one entry per year, each from that year's notice"},
    {.key = NULL},
};
static const struct cfgmap_table workdays_table = {workdays_entries, sizeof(struct workdays)};

const char *workdays_installed_path(void)
{
    return ROLLCALL_DATADIR "/workdays.json";
}

/* Days since 1970-01-01 of the Asia/Shanghai date of ms. */
static int64_t day_number(int64_t ms)
{
    return (ms + TS_SHANGHAI_OFFSET_MS) / DAY_MS;
}

/* 0 Sunday .. 6 Saturday; 1970-01-01 was a Thursday. */
static int weekday(int64_t ms)
{
    return (int)((day_number(ms) + 4) % 7);
}

static int year_of(int64_t ms)
{
    struct ts_civil c;
    if (ts_shanghai_civil(ms, &c) != RC_OK)
        return -1;
    return c.year;
}

/* Fills the _ms fields and checks what cfgmap cannot. */
static int validate(struct workdays *w, const char *origin, char *err)
{
    if (w->n_years == 0)
        return rc_fail(err, RC_INVAL, "%s: $.years: expected at least one year", origin);
    for (size_t i = 0; i < w->n_years; i++) {
        struct workdays_year *y = &w->years[i];
        for (size_t j = 0; j < i; j++) {
            if (w->years[j].year == y->year)
                return rc_fail(err, RC_INVAL, "%s: $.years[%zu].year: duplicate of [%zu]", origin,
                               i, j);
        }
        for (size_t k = 0; k < y->n_off; k++) {
            struct workdays_off *o = &y->off[k];
            if (ts_parse_date(o->from, &o->from_ms, err) != RC_OK ||
                ts_parse_date(o->to, &o->to_ms, err) != RC_OK)
                return rc_fail(err, RC_INVAL, "%s: $.years[%zu].off[%zu]: bad date", origin, i, k);
            if (o->to_ms < o->from_ms)
                return rc_fail(err, RC_INVAL, "%s: $.years[%zu].off[%zu].to: before from", origin,
                               i, k);
            if (year_of(o->to_ms) != y->year ||
                (year_of(o->from_ms) != y->year && year_of(o->from_ms) != y->year - 1))
                return rc_fail(err, RC_INVAL,
                               "%s: $.years[%zu].off[%zu]: expected a range ending in %lld", origin,
                               i, k, (long long)y->year);
        }
        for (size_t k = 0; k < y->n_on; k++) {
            struct workdays_on *o = &y->on[k];
            if (ts_parse_date(o->date, &o->date_ms, err) != RC_OK)
                return rc_fail(err, RC_INVAL, "%s: $.years[%zu].on[%zu]: bad date", origin, i, k);
            int wd = weekday(o->date_ms);
            if (year_of(o->date_ms) != y->year || (wd != 0 && wd != 6))
                return rc_fail(err, RC_INVAL,
                               "%s: $.years[%zu].on[%zu].date: expected a Saturday or Sunday of "
                               "%lld",
                               origin, i, k, (long long)y->year);
            for (size_t m = 0; m < y->n_off; m++) {
                if (o->date_ms >= y->off[m].from_ms && o->date_ms <= y->off[m].to_ms)
                    return rc_fail(err, RC_INVAL,
                                   "%s: $.years[%zu].on[%zu].date: inside the holiday off[%zu]",
                                   origin, i, k, m);
            }
        }
    }
    return RC_OK;
}

int workdays_load_buffer(const char *text, size_t len, const char *origin, struct workdays *out,
                         char *err)
{
    struct workdays *tmp = calloc(1, sizeof *tmp);
    if (!tmp)
        return rc_fail(err, RC_NOMEM, "%s: out of memory", origin);
    int rc = cfgmap_load_buffer(&workdays_table, text, len, origin, tmp, err);
    if (rc == RC_OK)
        rc = validate(tmp, origin, err);
    if (rc == RC_OK)
        memcpy(out, tmp, sizeof *tmp);
    free(tmp);
    return rc;
}

static int load_path(const char *path, struct workdays *out, char *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cfgmap_read_file(path, &text, &len, err);
    if (rc == RC_OK)
        rc = workdays_load_buffer(text, len, path, out, err);
    free(text);
    return rc;
}

int workdays_load(const char *path, struct workdays *out, char *err)
{
    if (path)
        return load_path(path, out, err);
    int rc = load_path(workdays_installed_path(), out, err);
#ifdef ROLLCALL_SOURCE_DATADIR
    if (rc == RC_NOTFOUND)
        rc = load_path(ROLLCALL_SOURCE_DATADIR "/workdays.json", out, err);
#endif
    const char *src = getenv("ROLLCALL_SOURCE_DIR");
    if (rc == RC_NOTFOUND && src && *src) {
        char alt[4096];
        int n = snprintf(alt, sizeof alt, "%s/server/engine/workdays.json", src);
        if (n < 0 || (size_t)n >= sizeof alt)
            return rc_fail(err, RC_LIMIT, "ROLLCALL_SOURCE_DIR is too long");
        rc = load_path(alt, out, err);
    }
    return rc;
}

static const struct workdays_year *year_entry(const struct workdays *w, int year)
{
    for (size_t i = 0; i < w->n_years; i++) {
        if (w->years[i].year == year)
            return &w->years[i];
    }
    return NULL;
}

bool workdays_holds(const struct workdays *w, int64_t day_ms)
{
    int y = year_of(day_ms);
    return y >= 0 && year_entry(w, y) != NULL;
}

const char *workdays_source_of(const struct workdays *w, int64_t day_ms)
{
    const struct workdays_year *y = year_entry(w, year_of(day_ms));
    return y ? y->source : NULL;
}

/* "2022-2026" or "2022, 2024": the years held, for error messages. */
static void years_held(const struct workdays *w, char *out, size_t cap)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < w->n_years; i++) {
        if (w->years[i].year < lo)
            lo = w->years[i].year;
        if (w->years[i].year > hi)
            hi = w->years[i].year;
    }
    if (w->n_years == 0)
        snprintf(out, cap, "none");
    else if ((size_t)(hi - lo + 1) == w->n_years)
        snprintf(out, cap, "%lld-%lld", (long long)lo, (long long)hi);
    else
        snprintf(out, cap, "%zu years between %lld and %lld", w->n_years, (long long)lo,
                 (long long)hi);
}

int workdays_is_workday(const struct workdays *w, int64_t day_ms, unsigned flags, bool *workday,
                        bool *fallback, char *err)
{
    char d[TS_DATE_LEN + 1];
    if (ts_format_date(day_ms, d) != RC_OK)
        return rc_fail(err, RC_INVAL, "calendar: date out of range");
    int64_t midnight = 0;
    if (ts_parse_date(d, &midnight, err) != RC_OK)
        return RC_INVAL;
    int wd = weekday(midnight);
    bool weekend = wd == 0 || wd == 6;
    const struct workdays_year *y = year_entry(w, year_of(midnight));
    if (!y) {
        if (!(flags & WORKDAYS_WEEKEND_FALLBACK)) {
            char held[64];
            years_held(w, held, sizeof held);
            return rc_fail(err, RC_NOTFOUND,
                           "calendar: %.4s is not in the working-day calendar (it holds %s); add "
                           "that year's State Council notice (docs/SUBSIDY.md) or ask for the "
                           "weekend-only fallback",
                           d, held);
        }
        if (fallback)
            *fallback = true;
        *workday = !weekend;
        return RC_OK;
    }
    for (size_t k = 0; k < y->n_on; k++) {
        if (y->on[k].date_ms == midnight) {
            *workday = true;
            return RC_OK;
        }
    }
    /* A range may reach into the next year's entry (2023's 元旦 starts on 2022-12-31). */
    for (size_t i = 0; i < w->n_years; i++) {
        const struct workdays_year *e = &w->years[i];
        for (size_t k = 0; k < e->n_off; k++) {
            if (midnight >= e->off[k].from_ms && midnight <= e->off[k].to_ms) {
                *workday = false;
                return RC_OK;
            }
        }
    }
    *workday = !weekend;
    return RC_OK;
}

int workdays_add(const struct workdays *w, int64_t day_ms, int64_t n, unsigned flags,
                 int64_t *out_ms, bool *fallback, char *err)
{
    if (n < 0 || n > WORKDAYS_ADD_MAX)
        return rc_fail(err, RC_INVAL, "calendar: N must be 0..%d working days", WORKDAYS_ADD_MAX);
    char d[TS_DATE_LEN + 1];
    int64_t cur = 0;
    if (ts_format_date(day_ms, d) != RC_OK || ts_parse_date(d, &cur, err) != RC_OK)
        return rc_fail(err, RC_INVAL, "calendar: date out of range");
    for (int64_t left = n; left > 0;) {
        cur += DAY_MS;
        if (cur > TS_MAX_MS - DAY_MS)
            return rc_fail(err, RC_INVAL, "calendar: date out of range");
        bool work = false;
        int rc = workdays_is_workday(w, cur, flags, &work, fallback, err);
        if (rc)
            return rc;
        if (work)
            left--;
    }
    *out_ms = cur;
    return RC_OK;
}
