#include "engine/subsidy.h"

#include "rc.h"
#include "timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_names[SUBSIDY_RULES] = {"passed",
                                                      "hours",
                                                      "online_share",
                                                      "limit_student_once_a_year",
                                                      "limit_twice_a_year",
                                                      "limit_same_occupation_level",
                                                      "limit_lower_after_higher",
                                                      "living_allowance_window"};

const char *subsidy_rule_name(enum subsidy_rule r)
{
    return (r >= 0 && r < SUBSIDY_RULES) ? rule_names[r] : NULL;
}

/* Asia/Shanghai calendar year of ms. */
static int year_of(int64_t ms)
{
    char d[TS_DATE_LEN + 1];
    if (ts_format_date(ms, d) != RC_OK)
        return -1;
    return (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
}

/* The same calendar date one year after ms's date (29 February gives 28 February), as the
 * local midnight of the day after: a claim before it is within the year. */
static int year_after(int64_t ms, int64_t *out, char *err)
{
    char d[TS_DATE_LEN + 1], e[TS_DATE_LEN + 8];
    int y = year_of(ms);
    if (y < 0 || y >= 9999 || ts_format_date(ms, d) != RC_OK)
        return rc_fail(err, RC_INVAL, "subsidy: date out of range");
    snprintf(e, sizeof e, "%04d%s", y + 1, d + 4);
    if (ts_parse_date(e, out, err) != RC_OK) {
        snprintf(e, sizeof e, "%04d-02-28", y + 1);
        if (ts_parse_date(e, out, err) != RC_OK)
            return RC_INVAL;
    }
    *out += INT64_C(86400000);
    return RC_OK;
}

static void fail_rule(struct subsidy_result *s, enum subsidy_rule r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_rule(struct subsidy_result *s, enum subsidy_rule r, const char *fmt, ...)
{
    va_list ap;
    s->failed[r] = true;
    va_start(ap, fmt);
    vsnprintf(s->detail[r], sizeof s->detail[r], fmt, ap);
    va_end(ap);
}

const char *subsidy_year_name(enum subsidy_year y)
{
    return y == SUBSIDY_YEAR_ASSESSMENT ? "assessment" : y == SUBSIDY_YEAR_CLAIM ? "claim" : NULL;
}

int subsidy_year_parse(const char *s, enum subsidy_year *out)
{
    if (strcmp(s, "assessment") == 0)
        *out = SUBSIDY_YEAR_ASSESSMENT;
    else if (strcmp(s, "claim") == 0)
        *out = SUBSIDY_YEAR_CLAIM;
    else
        return RC_INVAL;
    return RC_OK;
}

int subsidy_evaluate(const struct engine_report *r, const struct plan *p,
                     const struct catalogue *cat, const struct subsidy_history *history,
                     size_t n_history, int64_t claim_ms, struct subsidy_result **out, size_t *n,
                     char *err)
{
    return subsidy_evaluate_by(r, p, cat, history, n_history, claim_ms, SUBSIDY_YEAR_ASSESSMENT,
                               out, n, err);
}

int subsidy_evaluate_by(const struct engine_report *r, const struct plan *p,
                        const struct catalogue *cat, const struct subsidy_history *history,
                        size_t n_history, int64_t claim_ms, enum subsidy_year year,
                        struct subsidy_result **out, size_t *n, char *err)
{
    if (n_history > SUBSIDY_HISTORY_MAX || (n_history && !history))
        return rc_fail(err, RC_INVAL, "subsidy: bad history list");
    const struct catalogue_occupation *occ = catalogue_find(cat, r->occupation);
    if (!occ)
        return rc_fail(err, RC_INVAL, "subsidy: occupation %s is not in the catalogue",
                       r->occupation);
    int claim_year = year_of(claim_ms);
    if (claim_year < 0)
        return rc_fail(err, RC_INVAL, "subsidy: claim date out of range");
    int64_t last_end = 0;
    for (size_t i = 0; i < p->n_sessions; i++) {
        if (p->sessions[i].end_ms > last_end)
            last_end = p->sessions[i].end_ms;
    }
    int64_t living_until = 0;
    int rc = year_after(last_end, &living_until, err);
    if (rc)
        return rc;
    const struct catalogue_grade *g = catalogue_grade_of(occ, r->level);
    struct subsidy_result *res = calloc(r->n_trainees ? r->n_trainees : 1, sizeof *res);
    if (!res)
        return rc_fail(err, RC_NOMEM, "out of memory");
    for (size_t i = 0; i < r->n_trainees; i++) {
        const struct engine_trainee *t = &r->trainees[i];
        struct subsidy_result *s = &res[i];
        snprintf(s->class_id, sizeof s->class_id, "%s", r->class_id);
        snprintf(s->trainee, sizeof s->trainee, "%s", t->trainee);
        snprintf(s->masked, sizeof s->masked, "%s", t->masked);
        snprintf(s->name, sizeof s->name, "%s", t->name);
        snprintf(s->occupation, sizeof s->occupation, "%s", r->occupation);
        s->student = t->student;
        s->level = r->level;
        s->minutes_per_hour = r->policy.minutes_per_hour;
        s->required_ms = g->hours * r->policy.minutes_per_hour * INT64_C(60000);
        s->attended_ms = t->attended_ms;
        s->online_share = engine_ratio(t->online_ms, t->attended_ms, NULL);

        if (!t->passed)
            fail_rule(s, SUBSIDY_R_PASSED, t->assessed ? "failed the assessment" : "not assessed");
        if (s->attended_ms < s->required_ms)
            fail_rule(s, SUBSIDY_R_HOURS, "attended %.2f of %lld 学时 required",
                      (double)s->attended_ms / (double)(r->policy.minutes_per_hour * 60000),
                      (long long)g->hours);
        if (s->online_share > r->policy.online_share_max)
            fail_rule(s, SUBSIDY_R_ONLINE_SHARE, "online share %.2f%% over %.0f%%",
                      s->online_share * 100.0, r->policy.online_share_max * 100.0);
        s->year = year == SUBSIDY_YEAR_ASSESSMENT && t->assessed && t->assessed_on_ms > 0
                      ? year_of(t->assessed_on_ms)
                      : claim_year;
        int same_year = 0;
        const char *last_same_year = NULL;
        for (size_t k = 0; k < n_history; k++) {
            const struct subsidy_history *h = &history[k];
            if (strcmp(h->trainee, t->trainee) != 0 || strcmp(h->class_id, r->class_id) == 0)
                continue;
            if (year_of(h->granted_ms) == s->year) {
                same_year++;
                last_same_year = h->class_id;
            }
            if (strcmp(h->occupation, r->occupation) == 0 && h->level == r->level) {
                fail_rule(s, SUBSIDY_R_SAME_LEVEL, "already subsidised for %s %s (class %s)",
                          h->occupation, catalogue_level_name(h->level), h->class_id);
                snprintf(s->collides_with[SUBSIDY_R_SAME_LEVEL], PLAN_ID_MAX + 1, "%s",
                         h->class_id);
            }
            if (strcmp(h->occupation, r->occupation) == 0 && h->level > r->level) {
                fail_rule(s, SUBSIDY_R_LOWER_LEVEL,
                          "already subsidised at the higher level %s (class %s)",
                          catalogue_level_name(h->level), h->class_id);
                snprintf(s->collides_with[SUBSIDY_R_LOWER_LEVEL], PLAN_ID_MAX + 1, "%s",
                         h->class_id);
            }
        }
        int limit = t->student ? SUBSIDY_STUDENT_PER_YEAR : SUBSIDY_OTHER_PER_YEAR;
        if (same_year >= limit) {
            enum subsidy_rule rule = t->student ? SUBSIDY_R_STUDENT_YEAR : SUBSIDY_R_TWICE_A_YEAR;
            fail_rule(s, rule, "%d subsidies already in %d (%s: at most %d; last class %s)",
                      same_year, s->year, t->student ? "a student" : "not a student", limit,
                      last_same_year);
            snprintf(s->collides_with[rule], PLAN_ID_MAX + 1, "%s", last_same_year);
        }
        for (int k = SUBSIDY_R_PASSED; k < SUBSIDY_R_LIVING_WINDOW; k++) {
            if (s->failed[k]) {
                s->refused_by = rule_names[k];
                break;
            }
        }
        s->eligible = s->refused_by == NULL;
        s->amount_yuan = s->eligible ? g->amount_yuan : 0;
        if (s->eligible && claim_ms >= living_until) {
            char d[TS_DATE_LEN + 1];
            if (ts_format_date(last_end, d) != RC_OK)
                snprintf(d, sizeof d, "?");
            fail_rule(s, SUBSIDY_R_LIVING_WINDOW,
                      "claimed more than a year after the training "
                      "ended on %s",
                      d);
            s->living_refused_by = rule_names[SUBSIDY_R_LIVING_WINDOW];
        } else if (!s->eligible) {
            s->living_refused_by = s->refused_by;
        }
        s->living_allowance_yuan = s->living_refused_by ? 0 : SUBSIDY_LIVING_ALLOWANCE_YUAN;
    }
    *out = res;
    *n = r->n_trainees;
    return RC_OK;
}
