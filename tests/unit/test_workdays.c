/* workdays: the shipped server/engine/workdays.json against the State Council's notices
 * (国务院办公厅关于<year>年部分节假日安排的通知, 2022-2026), copied again by hand below from each
 * notice's text in its order; add-workdays across holidays and 调休 Saturdays; the explicit
 * refusal and the flagged fallback outside the calendar; the loader's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/workdays.h"
#include "rc.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct notice {
    int year;
    const char *off[8][2]; /* 放假: first and last day */
    const char *on[8];     /* 上班 on a Saturday or Sunday */
};

static const struct notice notices[] = {
    {2022,
     {{"2022-01-01", "2022-01-03"},
      {"2022-01-31", "2022-02-06"},
      {"2022-04-03", "2022-04-05"},
      {"2022-04-30", "2022-05-04"},
      {"2022-06-03", "2022-06-05"},
      {"2022-09-10", "2022-09-12"},
      {"2022-10-01", "2022-10-07"}},
     {"2022-01-29", "2022-01-30", "2022-04-02", "2022-04-24", "2022-05-07", "2022-10-08",
      "2022-10-09"}},
    {2023,
     {{"2022-12-31", "2023-01-02"},
      {"2023-01-21", "2023-01-27"},
      {"2023-04-05", "2023-04-05"},
      {"2023-04-29", "2023-05-03"},
      {"2023-06-22", "2023-06-24"},
      {"2023-09-29", "2023-10-06"}},
     {"2023-01-28", "2023-01-29", "2023-04-23", "2023-05-06", "2023-06-25", "2023-10-07",
      "2023-10-08"}},
    {2024,
     {{"2024-01-01", "2024-01-01"},
      {"2024-02-10", "2024-02-17"},
      {"2024-04-04", "2024-04-06"},
      {"2024-05-01", "2024-05-05"},
      {"2024-06-10", "2024-06-10"},
      {"2024-09-15", "2024-09-17"},
      {"2024-10-01", "2024-10-07"}},
     {"2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
      "2024-09-29", "2024-10-12"}},
    {2025,
     {{"2025-01-01", "2025-01-01"},
      {"2025-01-28", "2025-02-04"},
      {"2025-04-04", "2025-04-06"},
      {"2025-05-01", "2025-05-05"},
      {"2025-05-31", "2025-06-02"},
      {"2025-10-01", "2025-10-08"}},
     {"2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"}},
    {2026,
     {{"2026-01-01", "2026-01-03"},
      {"2026-02-15", "2026-02-23"},
      {"2026-04-04", "2026-04-06"},
      {"2026-05-01", "2026-05-05"},
      {"2026-06-19", "2026-06-21"},
      {"2026-09-25", "2026-09-27"},
      {"2026-10-01", "2026-10-07"}},
     {"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"}},
};

static struct workdays *shipped(void)
{
    struct workdays *w = calloc(1, sizeof *w);
    char err[ERR_LEN] = "";
    assert_non_null(w);
    if (workdays_load(ROLLCALL_SOURCE_DIR "/server/engine/workdays.json", w, err) != RC_OK)
        fail_msg("%s", err);
    return w;
}

static int64_t day(const char *s)
{
    int64_t ms = 0;
    char err[ERR_LEN];
    if (ts_parse_date(s, &ms, err) != RC_OK)
        fail_msg("%s", err);
    return ms;
}

static bool is_work(const struct workdays *w, const char *d)
{
    bool work = false, fb = false;
    char err[ERR_LEN] = "";
    if (workdays_is_workday(w, day(d), 0, &work, &fb, err) != RC_OK)
        fail_msg("%s: %s", d, err);
    assert_false(fb);
    return work;
}

static const char *add(const struct workdays *w, const char *d, int64_t n)
{
    static char out[TS_DATE_LEN + 1];
    int64_t ms = 0;
    char err[ERR_LEN] = "";
    if (workdays_add(w, day(d), n, 0, &ms, NULL, err) != RC_OK)
        fail_msg("%s + %lld: %s", d, (long long)n, err);
    assert_int_equal(ts_format_date(ms, out), RC_OK);
    return out;
}

static void shipped_matches_notices(void **state)
{
    (void)state;
    struct workdays *w = shipped();
    assert_int_equal(w->n_years, sizeof notices / sizeof notices[0]);
    for (size_t i = 0; i < sizeof notices / sizeof notices[0]; i++) {
        const struct notice *n = &notices[i];
        const struct workdays_year *y = &w->years[i];
        assert_int_equal(y->year, n->year);
        assert_non_null(strstr(y->source, "国务院办公厅关于"));
        size_t n_off = 0, n_on = 0;
        for (; n_off < 8 && n->off[n_off][0]; n_off++) {
            assert_string_equal(y->off[n_off].from, n->off[n_off][0]);
            assert_string_equal(y->off[n_off].to, n->off[n_off][1]);
            for (int64_t d = day(n->off[n_off][0]); d <= day(n->off[n_off][1]);
                 d += INT64_C(86400000)) {
                char s[TS_DATE_LEN + 1];
                assert_int_equal(ts_format_date(d, s), RC_OK);
                if (d >= day("2022-01-01") && is_work(w, s))
                    fail_msg("%s is a holiday in the %d notice", s, n->year);
            }
        }
        for (; n_on < 8 && n->on[n_on]; n_on++) {
            assert_string_equal(y->on[n_on].date, n->on[n_on]);
            if (!is_work(w, n->on[n_on]))
                fail_msg("%s is worked (调休上班) in the %d notice", n->on[n_on], n->year);
        }
        assert_int_equal(y->n_off, n_off);
        assert_int_equal(y->n_on, n_on);
    }
    free(w);
}

static void ordinary_days(void **state)
{
    (void)state;
    struct workdays *w = shipped();
    assert_true(is_work(w, "2026-12-07"));  /* a Monday */
    assert_false(is_work(w, "2026-12-05")); /* a Saturday */
    assert_false(is_work(w, "2026-12-06")); /* a Sunday */
    assert_false(is_work(w, "2022-12-31")); /* Saturday, and 2023's 元旦 */
    free(w);
}

/* The notice of 2024 only encourages a day off on 除夕: it stays a working day. */
static void eve_2024_is_workday(void **state)
{
    (void)state;
    struct workdays *w = shipped();
    assert_true(is_work(w, "2024-02-09"));
    free(w);
}

static void add_workdays(void **state)
{
    (void)state;
    struct workdays *w = shipped();
    assert_string_equal(add(w, "2026-12-07", 0), "2026-12-07");
    assert_string_equal(add(w, "2026-12-07", 5), "2026-12-14"); /* Mon + 5: next Mon */
    assert_string_equal(add(w, "2026-12-04", 1), "2026-12-07"); /* Fri + 1: over the weekend */
    /* Across 春节 2026 with the 调休 Saturday 2026-02-14 counted as a working day:
     * Wed 11 + 5 = Thu 12, Fri 13, Sat 14 (上班), Tue 24, Wed 25. */
    assert_string_equal(add(w, "2026-02-11", 5), "2026-02-25");
    assert_string_equal(add(w, "2026-02-11", 3), "2026-02-14");
    /* 国庆 2026: Wed 30 Sep + 1 = Thu 8 Oct; Fri 9, Sat 10 (上班), Mon 12. */
    assert_string_equal(add(w, "2026-09-30", 1), "2026-10-08");
    assert_string_equal(add(w, "2026-09-30", 3), "2026-10-10");
    assert_string_equal(add(w, "2026-09-30", 4), "2026-10-12");
    /* Over a year end, both years held: 2022-12-30 (Fri) + 1 = 2023-01-03 (Tue). */
    assert_string_equal(add(w, "2022-12-30", 1), "2023-01-03");
    free(w);
}

static void outside_the_calendar(void **state)
{
    (void)state;
    struct workdays *w = shipped();
    char err[ERR_LEN] = "";
    bool work = true, fb = false;
    int64_t out = 0;
    assert_false(workdays_holds(w, day("2030-01-07")));
    assert_true(workdays_holds(w, day("2024-06-10")));
    assert_non_null(strstr(workdays_source_of(w, day("2024-06-10")), "国办发明电〔2023〕7号"));
    assert_int_equal(workdays_is_workday(w, day("2030-01-07"), 0, &work, &fb, err), RC_NOTFOUND);
    assert_non_null(strstr(err, "2030 is not in the working-day calendar (it holds 2022-2026)"));
    assert_false(fb);
    assert_int_equal(workdays_is_workday(w, day("2021-12-31"), 0, &work, &fb, err), RC_NOTFOUND);
    /* Stepping out of the calendar is refused too: 2026-12-31 + 1 reaches 2027. */
    assert_int_equal(workdays_add(w, day("2026-12-31"), 1, 0, &out, &fb, err), RC_NOTFOUND);
    assert_non_null(strstr(err, "2027"));
    /* The fallback counts weekends only, and says so. */
    assert_int_equal(
        workdays_is_workday(w, day("2030-01-05"), WORKDAYS_WEEKEND_FALLBACK, &work, &fb, err),
        RC_OK);
    assert_false(work);
    assert_true(fb);
    fb = false;
    assert_int_equal(
        workdays_add(w, day("2026-12-31"), 1, WORKDAYS_WEEKEND_FALLBACK, &out, &fb, err), RC_OK);
    char s[TS_DATE_LEN + 1];
    assert_int_equal(ts_format_date(out, s), RC_OK);
    assert_string_equal(s, "2027-01-01"); /* a Friday: only the notice for 2027 could say */
    assert_true(fb);
    /* Bad N. */
    assert_int_equal(workdays_add(w, day("2026-12-01"), -1, 0, &out, &fb, err), RC_INVAL);
    assert_int_equal(workdays_add(w, day("2026-12-01"), WORKDAYS_ADD_MAX + 1, 0, &out, &fb, err),
                     RC_INVAL);
    free(w);
}

static void expect_refused(const char *json, const char *needle)
{
    struct workdays *w = calloc(1, sizeof *w);
    char err[ERR_LEN] = "";
    assert_non_null(w);
    assert_int_not_equal(workdays_load_buffer(json, strlen(json), "t.json", w, err), RC_OK);
    if (!strstr(err, needle))
        fail_msg("'%s' does not mention '%s'", err, needle);
    assert_int_equal(w->n_years, 0); /* unchanged */
    free(w);
}

#define Y(year, off, on) "{\"year\":" year ",\"source\":\"s\",\"off\":[" off "],\"on\":[" on "]}"
#define OFF(a, b) "{\"from\":\"" a "\",\"to\":\"" b "\",\"name\":\"n\"}"
#define ON(a) "{\"date\":\"" a "\",\"name\":\"n\"}"

static void refusals(void **state)
{
    (void)state;
    struct workdays *w = calloc(1, sizeof *w);
    char err[ERR_LEN] = "";
    const char *good = "{\"source\":\"x\",\"years\":[" Y("2026", OFF("2026-02-15", "2026-02-23"),
                                                         ON("2026-02-14")) "]}";
    assert_int_equal(workdays_load_buffer(good, strlen(good), "t.json", w, err), RC_OK);
    free(w);
    expect_refused("{\"source\":\"x\",\"years\":[" Y("2026", OFF("2026-02-15", "2026-02-23"),
                                                     ON("2026-02-16")) "]}",
                   "$.years[0].on[0].date: expected a Saturday or Sunday");
    expect_refused("{\"source\":\"x\",\"years\":[" Y("2026", OFF("2026-02-15", "2026-02-23"),
                                                     ON("2026-02-21")) "]}",
                   "inside the holiday");
    expect_refused(
        "{\"source\":\"x\",\"years\":[" Y("2026", OFF("2026-02-23", "2026-02-15"), ) "]}",
        "$.years[0].off[0].to: before from");
    expect_refused(
        "{\"source\":\"x\",\"years\":[" Y("2026", OFF("2027-01-01", "2027-01-02"), ) "]}",
        "expected a range ending in 2026");
    expect_refused(
        "{\"source\":\"x\",\"years\":[" Y("2026", OFF("2026-02-30", "2026-03-01"), ) "]}",
        "$.years[0].off[0].from");
    expect_refused("{\"source\":\"x\",\"years\":[" Y("2026", , ) "," Y("2026", , ) "]}",
                   "$.years[1].year: duplicate");
    expect_refused("{\"source\":\"x\",\"years\":[]}", "at least one year");
    expect_refused("{\"source\":\"x\",\"years\":[" Y("2026", , ) "],\"extra\":1}", "extra");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_matches_notices), cmocka_unit_test(ordinary_days),
        cmocka_unit_test(eve_2024_is_workday),     cmocka_unit_test(add_workdays),
        cmocka_unit_test(outside_the_calendar),    cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
