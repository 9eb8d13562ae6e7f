/* Working days of mainland China (工作日): Monday to Friday, less the statutory holidays, plus
 * the compensatory working days (调休上班) on a Saturday or Sunday, as the State Council's
 * General Office announces them each year (国务院办公厅关于<year>年部分节假日安排的通知).
 *
 * The calendar is a data file (server/engine/workdays.json, installed beside catalogue.json),
 * one entry per year with the notice it was copied from. Deadlines counted in working days
 * (the city's 5-working-day review, docs/SUBSIDY.md) use these functions only.
 *
 * Invariants:
 * - A date in a year the calendar does not hold is never guessed: the functions refuse it
 *   (RC_NOTFOUND naming the year and the years held), unless the caller passes
 *   WORKDAYS_WEEKEND_FALLBACK, in which case weekends alone count and *fallback is set so the
 *   caller can flag the result.
 * - The loaded struct owns no heap memory; it is read-only after loading (threads may share it).
 * - Dates are Asia/Shanghai calendar dates, carried as the instant of their local midnight
 *   (ts_parse_date). */
#ifndef ROLLCALL_WORKDAYS_H
#define ROLLCALL_WORKDAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    WORKDAYS_YEARS_MAX = 40,       /* years in one calendar file */
    WORKDAYS_RANGES_MAX = 16,      /* holiday ranges in one year */
    WORKDAYS_SWAPS_MAX = 16,       /* compensatory working days in one year */
    WORKDAYS_NAME_MAX = 95,        /* bytes of a holiday's name */
    WORKDAYS_SOURCE_MAX = 1023,    /* bytes of a source note */
    WORKDAYS_ADD_MAX = 3660,       /* largest N of workdays_add (about 14 years of work) */
    WORKDAYS_FIRST_YEAR = 2000,    /* earliest year a file may hold */
    WORKDAYS_LAST_YEAR = 2100,     /* latest year a file may hold */
    WORKDAYS_WEEKEND_FALLBACK = 1, /* flag: outside the calendar, count weekends only */
};

struct workdays_off {
    char from[11], to[11]; /* "YYYY-MM-DD", inclusive */
    char name[WORKDAYS_NAME_MAX + 1];
    int64_t from_ms, to_ms; /* filled by the loader */
};

struct workdays_on {
    char date[11]; /* a Saturday or Sunday that is worked (调休上班) */
    char name[WORKDAYS_NAME_MAX + 1];
    int64_t date_ms; /* filled by the loader */
};

struct workdays_year {
    int64_t year;
    char source[WORKDAYS_SOURCE_MAX + 1]; /* the notice: title, 文号, date */
    size_t n_off;
    struct workdays_off off[WORKDAYS_RANGES_MAX];
    size_t n_on;
    struct workdays_on on[WORKDAYS_SWAPS_MAX];
};

struct workdays {
    char source[WORKDAYS_SOURCE_MAX + 1];
    size_t n_years;
    struct workdays_year years[WORKDAYS_YEARS_MAX];
};

/* The installed calendar path (ROLLCALL_DATADIR/workdays.json). Static storage. */
const char *workdays_installed_path(void);

/* Loads and checks a calendar file into *out (unchanged on failure; the struct is large:
 * allocate it). path NULL means the default, searched like catalogue_load: installed path,
 * the source tree the binary was built from, $ROLLCALL_SOURCE_DIR/server/engine/. Refuses
 * duplicate years, a range ending before it starts or outside its year (a range may start in
 * December of the year before, as 2023's 元旦 does), a worked day that is not a Saturday or
 * Sunday or lies in a holiday range. Returns 0, RC_NOTFOUND, RC_IO, RC_LIMIT, RC_INVAL or
 * RC_NOMEM with err naming the file and the JSON path. */
int workdays_load(const char *path, struct workdays *out, char *err);

/* As workdays_load, from len bytes of JSON; origin names the input in errors. */
int workdays_load_buffer(const char *text, size_t len, const char *origin, struct workdays *out,
                         char *err);

/* True when the calendar holds the year of date day_ms. */
bool workdays_holds(const struct workdays *w, int64_t day_ms);

/* Whether the date of day_ms (any instant of that Asia/Shanghai date) is a working day into
 * *workday. *fallback (may be NULL) is set when the year is not held and flags has
 * WORKDAYS_WEEKEND_FALLBACK. Returns 0, RC_NOTFOUND (year not held, no fallback) or RC_INVAL
 * (date out of range) with err. */
int workdays_is_workday(const struct workdays *w, int64_t day_ms, unsigned flags, bool *workday,
                        bool *fallback, char *err);

/* The date n working days after the date of day_ms (n = 0: that date itself, working day or
 * not) into *out_ms (its local midnight). Every date stepped over must be held, or flags must
 * allow the fallback (then *fallback, may be NULL, says it was used). Returns 0, RC_INVAL
 * (n < 0 or over WORKDAYS_ADD_MAX, date out of range) or RC_NOTFOUND with err. */
int workdays_add(const struct workdays *w, int64_t day_ms, int64_t n, unsigned flags,
                 int64_t *out_ms, bool *fallback, char *err);

/* The source note of the year of day_ms, or NULL when not held. Owned by w. */
const char *workdays_source_of(const struct workdays *w, int64_t day_ms);

#endif
