/* procedure: the annex-4 procedure's transitions and deadlines, on the shipped working-day
 * calendar: applications on both sides of the 15-day line, reviews on both sides of the
 * 5-working-day line across 春节 2026 with its 调休 Saturday, claims on day 30 and day 31, a
 * living allowance after 11 and 13 months, on the anniversary and the day after, and its
 * refusals with the rule each names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/procedure.h"
#include "rc.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t day(const char *s)
{
    int64_t ms = 0;
    char err[ERR_LEN];
    if (ts_parse_date(s, &ms, err) != RC_OK)
        fail_msg("%s", err);
    return ms;
}

static struct workdays *calendar(void)
{
    struct workdays *w = calloc(1, sizeof *w);
    char err[ERR_LEN] = "";
    assert_non_null(w);
    if (workdays_load(ROLLCALL_SOURCE_DIR "/server/engine/workdays.json", w, err) != RC_OK)
        fail_msg("%s", err);
    return w;
}

static void application_15_days(void **state)
{
    (void)state;
    int64_t lead = 0;
    /* First session on 2026-03-16 at 09:00 (01:00Z). */
    int64_t start = day("2026-03-16") + INT64_C(9) * 3600000;
    assert_false(procedure_application_late(day("2026-03-01"), start, &lead));
    assert_int_equal(lead, 15);
    assert_true(procedure_application_late(day("2026-03-02"), start, &lead));
    assert_int_equal(lead, 14);
    assert_string_equal(procedure_finding_name(PROC_F_LATE_APPLICATION), "late_application");
}

static void review_5_working_days_over_spring_festival(void **state)
{
    (void)state;
    struct workdays *w = calendar();
    char err[ERR_LEN] = "";
    int64_t due = 0;
    bool late = true, fb = false;
    char d[TS_DATE_LEN + 1];
    /* Submitted Tue 2026-02-10: Wed 11, Thu 12, Fri 13, Sat 14 (调休上班), then 春节 15-23,
     * Tue 24: the fifth working day. */
    assert_int_equal(
        procedure_review_due(w, day("2026-02-10"), day("2026-02-24"), 0, &due, &late, &fb, err),
        RC_OK);
    assert_int_equal(ts_format_date(due, d), RC_OK);
    assert_string_equal(d, "2026-02-24");
    assert_false(late);
    assert_false(fb);
    assert_int_equal(
        procedure_review_due(w, day("2026-02-10"), day("2026-02-25"), 0, &due, &late, &fb, err),
        RC_OK);
    assert_true(late); /* late_review */
    /* Not reviewed yet: not late. */
    assert_int_equal(procedure_review_due(w, day("2026-02-10"), 0, 0, &due, &late, &fb, err),
                     RC_OK);
    assert_false(late);
    /* Outside the calendar: refused, or flagged with the fallback. */
    assert_int_equal(
        procedure_review_due(w, day("2026-12-28"), day("2027-01-05"), 0, &due, &late, &fb, err),
        RC_NOTFOUND);
    assert_int_equal(procedure_review_due(w, day("2026-12-28"), day("2027-01-05"),
                                          WORKDAYS_WEEKEND_FALLBACK, &due, &late, &fb, err),
                     RC_OK);
    assert_true(fb);
    assert_int_equal(ts_format_date(due, d), RC_OK);
    assert_string_equal(d, "2027-01-04");
    assert_true(late);
    free(w);
}

static void claim_30_days(void **state)
{
    (void)state;
    int64_t days = 0;
    assert_false(procedure_claim_late(day("2026-06-10"), day("2026-07-10"), &days));
    assert_int_equal(days, 30);
    assert_true(procedure_claim_late(day("2026-06-10"), day("2026-07-11"), &days));
    assert_int_equal(days, 31);
}

static void step_ok(enum procedure_kind k, enum procedure_state s, enum procedure_action a,
                    enum procedure_actor by, const char *reason, enum procedure_state want)
{
    char err[ERR_LEN] = "";
    enum procedure_state next = PROC_S_NONE;
    if (procedure_step(k, s, a, by, reason, day("2026-07-01"), 0, &next, err) != RC_OK)
        fail_msg("%s", err);
    assert_int_equal(next, want);
}

static void step_refused(enum procedure_kind k, enum procedure_state s, enum procedure_action a,
                         enum procedure_actor by, const char *reason, int64_t on, int64_t until,
                         const char *needle)
{
    char err[ERR_LEN] = "";
    enum procedure_state next = PROC_S_PAID;
    assert_int_not_equal(procedure_step(k, s, a, by, reason, on, until, &next, err), RC_OK);
    if (!strstr(err, needle))
        fail_msg("'%s' does not mention '%s'", err, needle);
    assert_int_equal(next, PROC_S_PAID); /* untouched */
}

static void transitions(void **state)
{
    (void)state;
    /* Application: submit, return with a reason, resubmit, approve. */
    step_ok(PROC_APPLICATION, PROC_S_NONE, PROC_A_SUBMIT, PROC_BY_INSTITUTION, NULL,
            PROC_S_SUBMITTED);
    step_ok(PROC_APPLICATION, PROC_S_SUBMITTED, PROC_A_RETURN, PROC_BY_CITY, "缺少考核计划",
            PROC_S_RETURNED);
    step_ok(PROC_APPLICATION, PROC_S_RETURNED, PROC_A_SUBMIT, PROC_BY_INSTITUTION, NULL,
            PROC_S_SUBMITTED);
    step_ok(PROC_APPLICATION, PROC_S_SUBMITTED, PROC_A_APPROVE, PROC_BY_CITY, NULL,
            PROC_S_APPROVED);
    step_refused(PROC_APPLICATION, PROC_S_SUBMITTED, PROC_A_APPROVE, PROC_BY_INSTITUTION, NULL, 0,
                 0, "the institution may not approve");
    step_refused(PROC_APPLICATION, PROC_S_SUBMITTED, PROC_A_RETURN, PROC_BY_CITY, "", 0, 0,
                 "a return needs a reason");
    step_refused(PROC_APPLICATION, PROC_S_APPROVED, PROC_A_APPROVE, PROC_BY_CITY, NULL, 0, 0,
                 "cannot approve in state approved");
    step_refused(PROC_APPLICATION, PROC_S_APPROVED, PROC_A_PAY, PROC_BY_CITY, NULL, 0, 0,
                 "cannot pay in state approved");
    /* Claim: submit, audit, publish, pay after the notice period. */
    step_ok(PROC_CLAIM, PROC_S_NONE, PROC_A_SUBMIT, PROC_BY_INSTITUTION, NULL, PROC_S_SUBMITTED);
    step_ok(PROC_CLAIM, PROC_S_SUBMITTED, PROC_A_AUDIT, PROC_BY_CITY, NULL, PROC_S_AUDITED);
    step_ok(PROC_CLAIM, PROC_S_AUDITED, PROC_A_PUBLISH, PROC_BY_CITY, NULL, PROC_S_PUBLISHED);
    step_ok(PROC_CLAIM, PROC_S_PUBLISHED, PROC_A_PAY, PROC_BY_CITY, NULL, PROC_S_PAID);
    step_refused(PROC_CLAIM, PROC_S_PUBLISHED, PROC_A_PAY, PROC_BY_CITY, NULL, day("2026-07-03"),
                 day("2026-07-06"), "the notice period (公示) runs until 2026-07-06");
    step_refused(PROC_CLAIM, PROC_S_SUBMITTED, PROC_A_PAY, PROC_BY_CITY, NULL, 0, 0,
                 "cannot pay in state submitted");
    step_refused(PROC_CLAIM, PROC_S_SUBMITTED, PROC_A_AUDIT, PROC_BY_ASSESSOR, NULL, 0, 0,
                 "the evaluation institution may not audit");
    step_refused(PROC_CLAIM, PROC_S_PAID, PROC_A_SUBMIT, PROC_BY_INSTITUTION, NULL, 0, 0,
                 "cannot submit in state paid");
}

static void allowance_rules(void **state)
{
    (void)state;
    char err[ERR_LEN] = "";
    int64_t end = day("2026-06-30"), until = 0;
    /* The window: the day after the anniversary is the first day out of it. */
    assert_int_equal(procedure_allowance_until(end, &until, err), RC_OK);
    assert_int_equal(until, day("2027-07-01"));
    assert_int_equal(procedure_allowance_check(true, false, end, day("2027-05-30")),
                     PROC_ALLOW_OK); /* 11 months */
    assert_int_equal(procedure_allowance_check(true, false, end, day("2027-06-30")),
                     PROC_ALLOW_OK); /* the anniversary */
    assert_int_equal(procedure_allowance_check(true, false, end, day("2027-07-01")),
                     PROC_ALLOW_TOO_LATE);
    assert_int_equal(procedure_allowance_check(true, false, end, day("2027-07-30")),
                     PROC_ALLOW_TOO_LATE); /* 13 months */
    /* A training that ended on 29 February: the window ends with 28 February. */
    assert_int_equal(procedure_allowance_until(day("2028-02-29"), &until, err), RC_OK);
    assert_int_equal(until, day("2029-03-01"));
    assert_int_equal(procedure_allowance_check(true, false, day("2028-02-29"), day("2029-03-01")),
                     PROC_ALLOW_TOO_LATE);
    /* The order of the rules: no training subsidy first, then once, then the window. */
    assert_int_equal(procedure_allowance_check(false, true, end, day("2028-01-01")),
                     PROC_ALLOW_NO_TRAINING_SUBSIDY);
    assert_int_equal(procedure_allowance_check(true, true, end, day("2028-01-01")),
                     PROC_ALLOW_ONCE);
    assert_int_equal(procedure_allowance_check(true, false, 0, day("2027-01-01")),
                     PROC_ALLOW_TOO_LATE);
    assert_int_not_equal(procedure_allowance_until(0, &until, err), RC_OK);
    assert_string_equal(procedure_allowance_rule_name(PROC_ALLOW_NO_TRAINING_SUBSIDY),
                        "allowance_no_training_subsidy");
    assert_string_equal(procedure_allowance_rule_name(PROC_ALLOW_ONCE), "allowance_once");
    assert_string_equal(procedure_allowance_rule_name(PROC_ALLOW_TOO_LATE), "allowance_too_late");
    assert_null(procedure_allowance_rule_name(PROC_ALLOW_OK));
    assert_string_equal(procedure_kind_name(PROC_ALLOWANCE), "allowance");
    /* Its record goes through the claim's states: submitted, audited, published, paid. */
    step_ok(PROC_ALLOWANCE, PROC_S_NONE, PROC_A_SUBMIT, PROC_BY_INSTITUTION, NULL,
            PROC_S_SUBMITTED);
    step_ok(PROC_ALLOWANCE, PROC_S_SUBMITTED, PROC_A_AUDIT, PROC_BY_CITY, NULL, PROC_S_AUDITED);
    step_ok(PROC_ALLOWANCE, PROC_S_AUDITED, PROC_A_PUBLISH, PROC_BY_CITY, NULL, PROC_S_PUBLISHED);
    step_ok(PROC_ALLOWANCE, PROC_S_PUBLISHED, PROC_A_PAY, PROC_BY_CITY, NULL, PROC_S_PAID);
    step_refused(PROC_ALLOWANCE, PROC_S_PUBLISHED, PROC_A_PAY, PROC_BY_CITY, NULL,
                 day("2026-07-03"), day("2026-07-06"),
                 "allowance: the notice period (公示) runs until 2026-07-06");
    step_refused(PROC_ALLOWANCE, PROC_S_NONE, PROC_A_APPROVE, PROC_BY_CITY, NULL, 0, 0,
                 "cannot approve in state none");
    step_refused(PROC_ALLOWANCE, PROC_S_SUBMITTED, PROC_A_AUDIT, PROC_BY_INSTITUTION, NULL, 0, 0,
                 "the institution may not audit");
}

static void names(void **state)
{
    (void)state;
    enum procedure_action a;
    enum procedure_state s;
    for (int i = 0; i < PROC_ACTIONS; i++) {
        assert_int_equal(
            procedure_action_parse(procedure_action_name((enum procedure_action)i), &a), RC_OK);
        assert_int_equal(a, i);
    }
    for (int i = 0; i < PROC_STATES; i++) {
        assert_int_equal(procedure_state_parse(procedure_state_name((enum procedure_state)i), &s),
                         RC_OK);
        assert_int_equal(s, i);
    }
    assert_int_equal(procedure_action_parse("approve ", &a), RC_INVAL);
    assert_null(procedure_finding_name(PROC_F_NONE));
    assert_string_equal(procedure_finding_name(PROC_F_LATE_REVIEW), "late_review");
    assert_string_equal(procedure_finding_name(PROC_F_LATE_CLAIM), "late_claim");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(application_15_days),
        cmocka_unit_test(review_5_working_days_over_spring_festival),
        cmocka_unit_test(claim_30_days),
        cmocka_unit_test(transitions),
        cmocka_unit_test(allowance_rules),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
