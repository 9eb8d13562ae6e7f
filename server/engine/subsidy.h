/* Subsidy eligibility per trainee (DOMAIN.md rules 4-6; annex 4 note of the seed): the training
 * subsidy of the catalogue when the trainee passed, attended the required 学时 and stayed
 * within the online share, and the limits against the trainee's history hold; the one-off
 * living allowance when the claim falls within one year of the training's end.
 *
 * Invariants:
 * - Pure: a function of the class report, the catalogue, the history and the claim date.
 * - Every refusal names its rule (subsidy_rule_name); eligible means no training rule failed.
 * - History entries of the class being judged are ignored (a re-evaluation is not a repeat). */
#ifndef ROLLCALL_SUBSIDY_H
#define ROLLCALL_SUBSIDY_H

#include "engine/catalogue.h"
#include "engine/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUBSIDY_LIVING_ALLOWANCE_YUAN 1000 /* 三(四): one-off living allowance */

enum {
    SUBSIDY_STUDENT_PER_YEAR = 1, /* 院校学生: once a year */
    SUBSIDY_OTHER_PER_YEAR = 2,   /* others: at most twice a year */
    SUBSIDY_DETAIL_MAX = 160,
    SUBSIDY_HISTORY_MAX = 1000000,
};

enum subsidy_rule {
    SUBSIDY_R_PASSED = 0,    /* passed the assessment (certificate) */
    SUBSIDY_R_HOURS,         /* attended at least the catalogue's 学时 */
    SUBSIDY_R_ONLINE_SHARE,  /* online share within the policy limit */
    SUBSIDY_R_STUDENT_YEAR,  /* limit_student_once_a_year: a full-time student once a year */
    SUBSIDY_R_TWICE_A_YEAR,  /* limit_twice_a_year: anyone else at most twice a year */
    SUBSIDY_R_SAME_LEVEL,    /* limit_same_occupation_level: never twice the same and level */
    SUBSIDY_R_LOWER_LEVEL,   /* limit_lower_after_higher: never lower after a higher level */
    SUBSIDY_R_LIVING_WINDOW, /* living allowance claimed within a year of the training */
    SUBSIDY_RULES
};

/* A subsidy already granted to a trainee (any class, any institution the caller can link). */
struct subsidy_history {
    char trainee[EVENT_HEX_LEN + 1];
    char class_id[PLAN_ID_MAX + 1];
    char occupation[CATALOGUE_CODE_MAX + 1];
    enum catalogue_level level;
    int64_t granted_ms; /* the certificate's assessment date (its Asia/Shanghai year counts) */
};

struct subsidy_result {
    char class_id[PLAN_ID_MAX + 1];
    char trainee[EVENT_HEX_LEN + 1];
    char masked[TRAINEE_ID_LEN + 1];
    char name[PLAN_NAME_MAX + 1];
    bool student;
    char occupation[CATALOGUE_CODE_MAX + 1];
    enum catalogue_level level;
    int64_t minutes_per_hour; /* of the policy: minutes of one 学时 */
    int64_t required_ms;      /* catalogue 学时 x minutes_per_hour */
    int64_t attended_ms;
    double online_share;
    bool eligible;                                      /* the training subsidy */
    int64_t amount_yuan;                                /* catalogue amount when eligible, else 0 */
    int64_t living_allowance_yuan;                      /* SUBSIDY_LIVING_ALLOWANCE_YUAN or 0 */
    bool failed[SUBSIDY_RULES];                         /* which rules refused */
    char detail[SUBSIDY_RULES][SUBSIDY_DETAIL_MAX + 1]; /* why, per failed rule */
    /* the earlier subsidised class a failed limit rule collides with ("" otherwise) */
    char collides_with[SUBSIDY_RULES][PLAN_ID_MAX + 1];
    int year; /* the year the yearly limit counts in: of the assessment, else of the claim */
    const char *refused_by;        /* the first training rule that refused, or NULL */
    const char *living_refused_by; /* the rule refusing the allowance, or NULL */
};

/* Judges every trainee of report r (roster order) for a claim made at claim_ms (local date;
 * it fixes the allowance window). The yearly limits count subsidies by the calendar year of
 * the certificate's assessment date (the trainee's assessed_on_ms; the claim's year for a
 * trainee not assessed), the history's by granted_ms. history may hold entries
 * of any trainee. *out is new (free()), *n = r->n_trainees. Returns 0, RC_INVAL (occupation
 * not in cat, bad claim date) or RC_NOMEM with err. */
int subsidy_evaluate(const struct engine_report *r, const struct plan *p,
                     const struct catalogue *cat, const struct subsidy_history *history,
                     size_t n_history, int64_t claim_ms, struct subsidy_result **out, size_t *n,
                     char *err);

/* Which calendar year the yearly limits count a subsidy in (docs/SUBSIDY.md "The year"). */
enum subsidy_year {
    SUBSIDY_YEAR_ASSESSMENT = 0, /* the certificate's assessment date (the default) */
    SUBSIDY_YEAR_CLAIM,          /* the claim's date */
};

/* As subsidy_evaluate, counting the yearly limits by year: with SUBSIDY_YEAR_CLAIM this claim
 * counts in claim_ms's year and each history entry in its granted_ms's year (the caller dates
 * each entry by its class's claim). */
int subsidy_evaluate_by(const struct engine_report *r, const struct plan *p,
                        const struct catalogue *cat, const struct subsidy_history *history,
                        size_t n_history, int64_t claim_ms, enum subsidy_year year,
                        struct subsidy_result **out, size_t *n, char *err);

/* "assessment", "claim"; NULL otherwise. Static storage. */
const char *subsidy_year_name(enum subsidy_year y);
/* Parses "assessment" or "claim". Returns 0 or RC_INVAL. */
int subsidy_year_parse(const char *s, enum subsidy_year *out);

/* "passed", "hours", "online_share", "limit_student_once_a_year", "limit_twice_a_year",
 * "limit_same_occupation_level", "limit_lower_after_higher", "living_allowance_window"; NULL
 * otherwise. Static storage. */
const char *subsidy_rule_name(enum subsidy_rule r);

#endif
