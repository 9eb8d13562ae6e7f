/* The yearly quality evaluation (四(三)): per institution and calendar year, the attendance rate
 * and the pass rates, with the previous year's beside them: the figures the third-party
 * evaluator publishes (docs/REPORTS.md "Yearly evaluation"). A year's classes are those whose
 * sessions overlap it (Asia/Shanghai), as in `publish`; the figures are the summary's
 * (figures_summary), so they agree with GET /v1/summary for the same dates.
 *
 * Invariant: a row exists for every institution with a class in the year or the year before;
 * a year without classes has classes = 0 and null rates, never a made-up 0%. */
#ifndef ROLLCALL_ENGINE_EVALUATION_H
#define ROLLCALL_ENGINE_EVALUATION_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

enum {
    EVALUATION_MAX_BYTES = 16 << 20, /* the JSON or CSV of one evaluation */
};

struct evaluation_year {
    size_t classes, enrolled, assessed, passed;
    int64_t scheduled_ms, attended_ms; /* over the roster: sum of trainees' scheduled/attended */
};

struct evaluation_row {
    char institution[STORE_ID_MAX + 1];
    char district[STORE_DISTRICT_LEN + 1];
    struct evaluation_year year, previous;
};

/* The evaluation of year (2000..9998) over the classes f allows (institution, district; its
 * dates are ignored): *rows (free()) sorted by institution, *n of them. RC_INVAL for a bad
 * year, store errors, RC_NOMEM. */
int evaluation_compute(store *st, int year, const struct store_class_filter *f, int64_t now_ms,
                       struct evaluation_row **rows, size_t *n, char *err);

/* As JSON: {"year", "previous_year", "institutions": [{"institution", "district", "year":
 * {...}, "previous": {...}}]} with rates as fractions or null. *out is the caller's. */
int evaluation_json(int year, const struct evaluation_row *rows, size_t n, char **out, char *err);

/* As CSV for Excel (UTF-8 BOM, CRLF, Chinese headers, rates in percent). *out (caller's) of
 * *len bytes. */
int evaluation_csv(int year, const struct evaluation_row *rows, size_t n, char **out, size_t *len,
                   char *err);

#endif
