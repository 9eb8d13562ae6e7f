/* subsidy: eligibility per trainee against annex 3 amounts (copied by hand: 人工智能工程技术人员
 * 2-02-10-09, 初级 64 学时 2720 yuan, 中级 80 学时 4026 yuan) and the annex 4 limits, each rule
 * on its own trainee, figures worked out by hand below.
 *
 * Junior: 64 学时 x 45 min = 2880 min required. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/catalogue.h"
#include "engine/engine.h"
#include "engine/subsidy.h"
#include "rc.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN INT64_C(60000)

static struct catalogue *cat;

static int setup(void **state)
{
    (void)state;
    char err[ERR_LEN];
    cat = calloc(1, sizeof *cat);
    if (!cat ||
        catalogue_load(ROLLCALL_SOURCE_DIR "/server/engine/catalogue.json", cat, err) != RC_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(cat);
    return 0;
}

static int64_t date(const char *d)
{
    int64_t ms = 0;
    char err[ERR_LEN];
    assert_int_equal(ts_parse_date(d, &ms, err), RC_OK);
    return ms;
}

static const char *tp(int n)
{
    static char buf[16][EVENT_HEX_LEN + 1];
    char *b = buf[n % 16];
    memset(b, 'b', EVENT_HEX_LEN);
    snprintf(b + EVENT_HEX_LEN - 4, 5, "%04d", n);
    return b;
}

struct fixture {
    struct plan plan;
    struct engine_report r;
    struct engine_trainee t[12];
};

/* Trainee n with attended and online minutes, assessment state and student flag. */
static void trainee(struct fixture *f, int n, int64_t attended_min, int64_t online_min, bool passed,
                    bool student)
{
    struct engine_trainee *t = &f->t[f->r.n_trainees++];
    memset(t, 0, sizeof *t);
    snprintf(t->trainee, sizeof t->trainee, "%s", tp(n));
    snprintf(t->masked, sizeof t->masked, "1201**********%04d", n);
    snprintf(t->name, sizeof t->name, "T%d", n);
    t->student = student;
    t->attended_ms = attended_min * MIN;
    t->online_ms = online_min * MIN;
    t->offline_ms = t->attended_ms - t->online_ms;
    t->assessed = true;
    t->passed = passed;
}

static struct fixture *fixture(enum catalogue_level lv)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->plan.id, sizeof f->plan.id, "C-NOW");
    f->plan.n_sessions = 1;
    /* the training ends 2026-11-20 17:00+08:00 */
    f->plan.sessions[0].start_ms = date("2026-11-20") + 9 * 60 * MIN;
    f->plan.sessions[0].end_ms = date("2026-11-20") + 17 * 60 * MIN;
    snprintf(f->r.class_id, sizeof f->r.class_id, "C-NOW");
    snprintf(f->r.occupation, sizeof f->r.occupation, "2-02-10-09");
    f->r.level = lv;
    engine_policy_default(&f->r.policy);
    f->r.trainees = f->t;
    return f;
}

static struct subsidy_history hist(int n, const char *cls, const char *occ, enum catalogue_level lv,
                                   const char *granted)
{
    struct subsidy_history h;
    memset(&h, 0, sizeof h);
    snprintf(h.trainee, sizeof h.trainee, "%s", tp(n));
    snprintf(h.class_id, sizeof h.class_id, "%s", cls);
    snprintf(h.occupation, sizeof h.occupation, "%s", occ);
    h.level = lv;
    h.granted_ms = date(granted);
    return h;
}

static struct subsidy_result *eval(struct fixture *f, const struct subsidy_history *h, size_t nh,
                                   const char *claim)
{
    struct subsidy_result *res = NULL;
    size_t n = 0;
    char err[ERR_LEN] = "";
    int rc = subsidy_evaluate(&f->r, &f->plan, cat, h, nh, date(claim), &res, &n, err);
    if (rc != RC_OK)
        fail_msg("%s", err);
    assert_int_equal(n, f->r.n_trainees);
    return res;
}

static void expect_refused(const struct subsidy_result *s, enum subsidy_rule rule)
{
    assert_false(s->eligible);
    assert_int_equal(s->amount_yuan, 0);
    assert_int_equal(s->living_allowance_yuan, 0);
    assert_true(s->failed[rule]);
    assert_string_equal(s->refused_by, subsidy_rule_name(rule));
    assert_true(s->detail[rule][0] != '\0');
}

static void expect_paid(const struct subsidy_result *s, int64_t amount, int64_t living)
{
    if (!s->eligible)
        fail_msg("%s refused by %s", s->name, s->refused_by);
    assert_null(s->refused_by);
    assert_int_equal(s->amount_yuan, amount);
    assert_int_equal(s->living_allowance_yuan, living);
}

static void rules(void **state)
{
    (void)state;
    struct fixture *f = fixture(CATALOGUE_JUNIOR);
    trainee(f, 1, 2880, 1440, true, false);  /* 2880 >= 2880; 1440/2880 = 0.5 is not over */
    trainee(f, 2, 2879, 0, true, false);     /* one minute short */
    trainee(f, 3, 3000, 1501, true, false);  /* 1501/3000 = 0.5003 > 0.5 */
    trainee(f, 4, 3000, 0, false, false);    /* failed */
    trainee(f, 5, 3000, 0, true, true);      /* student, subsidised once in 2026 already */
    trainee(f, 6, 3000, 0, true, false);     /* twice in 2026 already */
    trainee(f, 7, 3000, 0, true, false);     /* once in 2026, once in 2025: fine */
    trainee(f, 8, 3000, 0, true, false);     /* 2-02-10-09 junior in 2024 */
    trainee(f, 9, 3000, 0, true, false);     /* 2-02-10-09 senior in 2025 */
    trainee(f, 10, 3000, 0, true, false);    /* only this class in its history */
    trainee(f, 11, 100, 2000, false, false); /* fails passed, hours and online: passed first */
    f->t[10].assessed = false;
    struct subsidy_history h[] = {
        hist(5, "X1", "2-02-10-11", CATALOGUE_SENIOR, "2026-03-01"),
        hist(6, "X2", "2-02-10-11", CATALOGUE_JUNIOR, "2026-01-10"),
        hist(6, "X3", "2-02-10-12", CATALOGUE_JUNIOR, "2026-06-10"),
        hist(7, "X4", "2-02-10-11", CATALOGUE_JUNIOR, "2026-06-10"),
        hist(7, "X5", "2-02-10-12", CATALOGUE_JUNIOR, "2025-12-31"),
        hist(8, "X6", "2-02-10-09", CATALOGUE_JUNIOR, "2024-05-01"),
        hist(9, "X7", "2-02-10-09", CATALOGUE_SENIOR, "2025-05-01"),
        hist(10, "C-NOW", "2-02-10-09", CATALOGUE_JUNIOR, "2026-12-01"),
    };
    struct subsidy_result *s = eval(f, h, sizeof h / sizeof h[0], "2026-12-10");
    expect_paid(&s[0], 2720, 1000);
    assert_int_equal(s[0].required_ms, 2880 * MIN);
    expect_refused(&s[1], SUBSIDY_R_HOURS);
    assert_non_null(strstr(s[1].detail[SUBSIDY_R_HOURS], "63.98 of 64"));
    expect_refused(&s[2], SUBSIDY_R_ONLINE_SHARE);
    expect_refused(&s[3], SUBSIDY_R_PASSED);
    assert_string_equal(s[3].detail[SUBSIDY_R_PASSED], "failed the assessment");
    expect_refused(&s[4], SUBSIDY_R_STUDENT_YEAR);
    assert_non_null(strstr(s[4].detail[SUBSIDY_R_STUDENT_YEAR], "a student: at most 1"));
    assert_string_equal(s[4].collides_with[SUBSIDY_R_STUDENT_YEAR], "X1");
    expect_refused(&s[5], SUBSIDY_R_TWICE_A_YEAR);
    assert_non_null(strstr(s[5].detail[SUBSIDY_R_TWICE_A_YEAR], "2 subsidies already in 2026"));
    assert_string_equal(s[5].collides_with[SUBSIDY_R_TWICE_A_YEAR], "X3");
    expect_paid(&s[6], 2720, 1000);
    expect_refused(&s[7], SUBSIDY_R_SAME_LEVEL);
    assert_string_equal(s[7].collides_with[SUBSIDY_R_SAME_LEVEL], "X6");
    expect_refused(&s[8], SUBSIDY_R_LOWER_LEVEL);
    assert_string_equal(s[8].collides_with[SUBSIDY_R_LOWER_LEVEL], "X7");
    assert_non_null(strstr(s[8].detail[SUBSIDY_R_LOWER_LEVEL], "senior"));
    expect_paid(&s[9], 2720, 1000); /* its own class in the history is not a repeat */
    expect_refused(&s[10], SUBSIDY_R_PASSED);
    assert_true(s[10].failed[SUBSIDY_R_HOURS] && s[10].failed[SUBSIDY_R_ONLINE_SHARE]);
    assert_string_equal(s[10].detail[SUBSIDY_R_PASSED], "not assessed");
    free(s);

    /* In 2027 the 2026 subsidies no longer count against the yearly limit. */
    s = eval(f, h, sizeof h / sizeof h[0], "2027-01-05");
    expect_paid(&s[4], 2720, 1000);
    expect_paid(&s[5], 2720, 1000);
    free(s);
    free(f);
}

/* An upgrade is fine: junior before, intermediate now (中级 80 学时 = 3600 min, 4026 yuan). */
static void higher_level_after_lower(void **state)
{
    (void)state;
    struct fixture *f = fixture(CATALOGUE_INTERMEDIATE);
    trainee(f, 1, 3600, 0, true, false);
    trainee(f, 2, 3599, 0, true, false);
    struct subsidy_history h = hist(1, "X1", "2-02-10-09", CATALOGUE_JUNIOR, "2025-05-01");
    struct subsidy_result *s = eval(f, &h, 1, "2026-12-10");
    expect_paid(&s[0], 4026, 1000);
    expect_refused(&s[1], SUBSIDY_R_HOURS);
    free(s);
    free(f);
}

/* Living allowance: within one year of the training's end (2026-11-20): claimed 2027-11-20
 * is in time, 2027-11-21 is not (the training subsidy is unaffected). */
static void living_allowance_window(void **state)
{
    (void)state;
    struct fixture *f = fixture(CATALOGUE_JUNIOR);
    trainee(f, 1, 3000, 0, true, false);
    struct subsidy_result *s = eval(f, NULL, 0, "2027-11-20");
    expect_paid(&s[0], 2720, 1000);
    free(s);
    s = eval(f, NULL, 0, "2027-11-21");
    assert_true(s[0].eligible);
    assert_int_equal(s[0].amount_yuan, 2720);
    assert_int_equal(s[0].living_allowance_yuan, 0);
    assert_string_equal(s[0].living_refused_by, "living_allowance_window");
    assert_non_null(strstr(s[0].detail[SUBSIDY_R_LIVING_WINDOW], "2026-11-20"));
    free(s);
    /* An unknown occupation is refused. */
    snprintf(f->r.occupation, sizeof f->r.occupation, "2-02-10-99");
    struct subsidy_result *bad = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    assert_int_equal(
        subsidy_evaluate(&f->r, &f->plan, cat, NULL, 0, date("2027-01-01"), &bad, &n, err),
        RC_INVAL);
    assert_non_null(strstr(err, "2-02-10-99"));
    free(f);
}

/* A year of scenarios across two institutions (classes A-* of one, B-* of the other; the
 * history is keyed by the city-wide pseudonym, so both count): each refusal names its rule and
 * the earlier class it collides with. The year is that of the assessment date. */
static void year_of_scenarios(void **state)
{
    (void)state;
    struct fixture *f = fixture(CATALOGUE_INTERMEDIATE); /* 2-02-10-09 中级: 80 学时, 4026 yuan */
    trainee(f, 1, 3600, 0, true, false); /* not a student, certified twice before in 2026 */
    trainee(f, 2, 3600, 0, true, true);  /* a student, certified once before in 2026 */
    trainee(f, 3, 3600, 0, true, false); /* 2-02-10-09 intermediate already */
    trainee(f, 4, 3600, 0, true, false); /* 2-02-10-09 senior already */
    trainee(f, 5, 3600, 0, true, false); /* twice in 2026, this one assessed in 2027 */
    for (size_t i = 0; i < f->r.n_trainees; i++)
        f->t[i].assessed_on_ms = date("2026-12-01");
    f->t[4].assessed_on_ms = date("2027-01-04");
    struct subsidy_history h[] = {
        hist(1, "A-0301", "2-02-10-11", CATALOGUE_JUNIOR, "2026-03-20"),
        hist(1, "B-0702", "2-02-10-12", CATALOGUE_JUNIOR, "2026-07-15"),
        hist(2, "B-0415", "2-02-10-11", CATALOGUE_JUNIOR, "2026-04-15"),
        hist(3, "A-2501", "2-02-10-09", CATALOGUE_INTERMEDIATE, "2025-06-01"),
        hist(4, "B-2502", "2-02-10-09", CATALOGUE_SENIOR, "2025-09-01"),
        hist(5, "A-0302", "2-02-10-11", CATALOGUE_JUNIOR, "2026-03-20"),
        hist(5, "B-0703", "2-02-10-12", CATALOGUE_JUNIOR, "2026-07-15"),
    };
    struct subsidy_result *s = eval(f, h, sizeof h / sizeof h[0], "2027-01-10");
    expect_refused(&s[0], SUBSIDY_R_TWICE_A_YEAR); /* the third in 2026 */
    assert_string_equal(s[0].refused_by, "limit_twice_a_year");
    assert_string_equal(s[0].collides_with[SUBSIDY_R_TWICE_A_YEAR], "B-0702");
    assert_int_equal(s[0].year, 2026);
    expect_refused(&s[1], SUBSIDY_R_STUDENT_YEAR); /* the student's second */
    assert_string_equal(s[1].refused_by, "limit_student_once_a_year");
    assert_string_equal(s[1].collides_with[SUBSIDY_R_STUDENT_YEAR], "B-0415");
    expect_refused(&s[2], SUBSIDY_R_SAME_LEVEL);
    assert_string_equal(s[2].refused_by, "limit_same_occupation_level");
    assert_string_equal(s[2].collides_with[SUBSIDY_R_SAME_LEVEL], "A-2501");
    expect_refused(&s[3], SUBSIDY_R_LOWER_LEVEL); /* intermediate after senior */
    assert_string_equal(s[3].refused_by, "limit_lower_after_higher");
    assert_string_equal(s[3].collides_with[SUBSIDY_R_LOWER_LEVEL], "B-2502");
    /* Assessed in 2027: the two 2026 subsidies do not count, though claimed together. */
    expect_paid(&s[4], 4026, 1000);
    assert_int_equal(s[4].year, 2027);
    free(s);
    free(f);
}

/* The same year counted by the claim's date (serve --subsidy-year claim): trainee 1, assessed
 * in December 2026 and claimed in January 2027, counts in 2027 where the two earlier subsidies
 * (claimed in 2026) do not; trainee 2 with an earlier subsidy claimed in 2027 is refused. */
static void year_of_claim(void **state)
{
    (void)state;
    struct fixture *f = fixture(CATALOGUE_INTERMEDIATE);
    trainee(f, 1, 3600, 0, true, false);
    trainee(f, 2, 3600, 0, true, true);
    f->t[0].assessed_on_ms = date("2026-12-01");
    f->t[1].assessed_on_ms = date("2026-12-01");
    struct subsidy_history h[] = {
        hist(1, "A-0301", "2-02-10-11", CATALOGUE_JUNIOR, "2026-03-20"),
        hist(1, "B-0702", "2-02-10-12", CATALOGUE_JUNIOR, "2026-07-15"),
        hist(2, "B-0415", "2-02-10-11", CATALOGUE_JUNIOR, "2027-01-05"),
    };
    struct subsidy_result *res = NULL;
    size_t n = 0;
    char err[ERR_LEN] = "";
    assert_int_equal(subsidy_evaluate_by(&f->r, &f->plan, cat, h, 3, date("2027-01-10"),
                                         SUBSIDY_YEAR_CLAIM, &res, &n, err),
                     RC_OK);
    assert_int_equal(n, 2);
    expect_paid(&res[0], 4026, 1000);
    assert_int_equal(res[0].year, 2027);
    expect_refused(&res[1], SUBSIDY_R_STUDENT_YEAR);
    assert_string_equal(res[1].collides_with[SUBSIDY_R_STUDENT_YEAR], "B-0415");
    free(res);
    /* By the assessment (the default): trainee 1's third in 2026, trainee 2's first. */
    res = eval(f, h, 3, "2027-01-10");
    expect_refused(&res[0], SUBSIDY_R_TWICE_A_YEAR);
    assert_int_equal(res[0].year, 2026);
    expect_paid(&res[1], 4026, 1000);
    free(res);
    enum subsidy_year y;
    assert_int_equal(subsidy_year_parse("claim", &y), RC_OK);
    assert_int_equal(y, SUBSIDY_YEAR_CLAIM);
    assert_int_equal(subsidy_year_parse("assessment", &y), RC_OK);
    assert_int_equal(y, SUBSIDY_YEAR_ASSESSMENT);
    assert_int_equal(subsidy_year_parse("Claim", &y), RC_INVAL);
    assert_string_equal(subsidy_year_name(SUBSIDY_YEAR_CLAIM), "claim");
    free(f);
}

/* The living allowance after 11 and 13 months (training ended 2026-11-20). */
static void living_allowance_months(void **state)
{
    (void)state;
    struct fixture *f = fixture(CATALOGUE_JUNIOR);
    trainee(f, 1, 3000, 0, true, false);
    struct subsidy_result *s = eval(f, NULL, 0, "2027-10-20");
    expect_paid(&s[0], 2720, 1000);
    assert_null(s[0].living_refused_by);
    free(s);
    s = eval(f, NULL, 0, "2027-12-20");
    assert_int_equal(s[0].amount_yuan, 2720);
    assert_int_equal(s[0].living_allowance_yuan, 0);
    assert_string_equal(s[0].living_refused_by, "living_allowance_window");
    free(s);
    free(f);
}

static void names(void **state)
{
    (void)state;
    const char *want[] = {"passed",
                          "hours",
                          "online_share",
                          "limit_student_once_a_year",
                          "limit_twice_a_year",
                          "limit_same_occupation_level",
                          "limit_lower_after_higher",
                          "living_allowance_window"};
    for (int i = 0; i < SUBSIDY_RULES; i++)
        assert_string_equal(subsidy_rule_name((enum subsidy_rule)i), want[i]);
    assert_null(subsidy_rule_name(SUBSIDY_RULES));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules),
        cmocka_unit_test(higher_level_after_lower),
        cmocka_unit_test(living_allowance_window),
        cmocka_unit_test(year_of_scenarios),
        cmocka_unit_test(year_of_claim),
        cmocka_unit_test(living_allowance_months),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
