/* The subsidy budget report (五(一): each year the bureau proposes next year's subsidy budget):
 * the year's claims, approvals and payments by occupation, level, district and institution,
 * and a forecast of next year's need (docs/REPORTS.md "Budget" states the method).
 *
 * Figures come from the procedure's steps (engine/flow.h), never recomputed: a claim counts
 * with the figures frozen at its latest submission (training subsidy plus living allowance), in
 * the year of that submission's business date; an approval (audit) with those figures in the
 * year of the audit; a payment with its recorded amount in the year it was paid. */
#ifndef ROLLCALL_ENGINE_BUDGET_H
#define ROLLCALL_ENGINE_BUDGET_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

enum {
    BUDGET_MAX_BYTES = 16 << 20, /* the JSON or CSV of one budget report */
    BUDGET_KEY_MAX = 64,
};

enum budget_dim {
    BUDGET_OCCUPATION = 0,
    BUDGET_LEVEL,
    BUDGET_DISTRICT,
    BUDGET_INSTITUTION,
    BUDGET_DIMS
};

struct budget_sum {
    size_t classes;
    int64_t yuan;
};

struct budget_row {
    char key[BUDGET_KEY_MAX + 1];
    struct budget_sum claimed, approved, paid;
};

struct budget {
    int year;
    struct budget_sum claimed, approved, paid, paid_previous;
    size_t n[BUDGET_DIMS];
    struct budget_row *rows[BUDGET_DIMS]; /* sorted by key */
    /* Forecast of year + 1. */
    size_t applied_classes;         /* applications (not returned) of classes starting then */
    int64_t applied_trainees;       /* their rosters */
    int64_t applied_catalogue_yuan; /* rosters x catalogue amounts: everyone certified */
    int64_t claimed_certified, claimed_enrolled; /* this year's claims: the claim rate */
    int64_t from_applications_yuan;              /* applied_catalogue_yuan x claim rate */
    int64_t from_trend_yuan;                     /* paid x (paid / paid_previous) */
    int64_t proposal_yuan;                       /* the larger of the two */
};

/* The budget report of year (2001..9998). *out is filled (budget_free). RC_INVAL for a bad
 * year, store errors, RC_NOMEM. */
int budget_compute(store *st, int year, struct budget *out, char *err);
void budget_free(struct budget *b);

/* "occupation", "level", "district", "institution". */
const char *budget_dim_name(enum budget_dim d);

/* As JSON (docs/REPORTS.md "Budget"); *out is the caller's. */
int budget_json(const struct budget *b, char **out, char *err);
/* As CSV for Excel (UTF-8 BOM, CRLF, Chinese headers): one section per dimension, then the
 * forecast. *out (caller's) of *len bytes. */
int budget_csv(const struct budget *b, char **out, size_t *len, char *err);

#endif
