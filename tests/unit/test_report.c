/* report: JSON fields against figures worked out by hand, CSV bytes (BOM, Chinese headers,
 * quoting, 学时 and percentages), XLSX structure read back with Python's zipfile.
 *
 * Class R on 2026-11-02: S1 offline 09:00-12:00 (180 min), S2 online 19:00-21:00 (120): 300 min
 * scheduled, online planned 120/300 = 0.4.
 *   T1 张三: in 08:50 (from 09:00) out 12:00 = 180; online 19:00-20:30 = 90; attended 270,
 *      rate 270/300 = 0.9, online share 90/270 = 1/3. 学时 of 45 min: 300/45 = 6.67,
 *      270/45 = 6.00, 180/45 = 4.00, 90/45 = 2.00. Passed.
 *   T2 Li, "Si": in 09:20 outside the fence, approved by a reviewer; out 11:00 = 100;
 *      rate 100/300 = 1/3 (33.33%); review effect 100 min = 2.22 学时. One finding.
 *   T3 =cmd: nothing; rate 0.
 *   Class: 270 + 100 + 0 = 370 of 900 = 0.4111 (serious: under 0.80). Recording 09:00-11:30: 150/180 = 0.8333,
 *   gap 11:30-12:00 (30 min) is a finding. Pass rate 1/1 assessed, 1/3 enrolled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "engine/subsidy.h"
#include "rc.h"
#include "report/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN INT64_C(60000)
#define DAY0 INT64_C(1793548800000) /* 2026-11-02T00:00:00+08:00 */
#define T(h, m) (DAY0 + (int64_t)(h)*60 * MIN + (int64_t)(m)*MIN)

static const char *tp(int n)
{
    static char buf[4][EVENT_HEX_LEN + 1];
    char *b = buf[n % 4];
    memset(b, 'c', EVENT_HEX_LEN);
    snprintf(b + EVENT_HEX_LEN - 4, 5, "%04d", n);
    return b;
}

struct fx {
    struct plan plan;
    struct engine_policy pol;
    struct engine_event ev[4];
    struct plan_online on;
    struct engine_recording rec;
    struct plan_assessment as;
    struct engine_review rv;
    struct engine_report *r;
};

static struct engine_event sign(int n, bool in, int64_t ts, enum event_verdict v, int id)
{
    struct engine_event e;
    memset(&e, 0, sizeof e);
    snprintf(e.ev.id, sizeof e.ev.id, "019a4000-0000-7000-8000-%012d", id);
    snprintf(e.ev.device, sizeof e.ev.device, "K1");
    e.ev.type = in ? EVENT_SIGNIN : EVENT_SIGNOUT;
    e.ev.ts_ms = ts;
    e.ev.has = EVENT_HAS(EVENT_F_TRAINEE) | EVENT_HAS(EVENT_F_CLASS);
    snprintf(e.ev.trainee, sizeof e.ev.trainee, "%s", tp(n));
    snprintf(e.ev.class_id, sizeof e.ev.class_id, "R");
    e.verdict = v;
    e.received_ms = ts;
    return e;
}

static struct fx *fixture(void)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct plan *p = &f->plan;
    snprintf(p->id, sizeof p->id, "R");
    snprintf(p->institution, sizeof p->institution, "INST-1");
    snprintf(p->district, sizeof p->district, "120104");
    snprintf(p->occupation, sizeof p->occupation, "2-02-10-09");
    p->applied_on_ms = DAY0 - 20 * 24 * 60 * MIN;
    p->n_sessions = 2;
    p->sessions[0] = (struct plan_session){"S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1"};
    p->sessions[1] = (struct plan_session){"S2", T(19, 0), T(21, 0), PLAN_ONLINE, ""};
    const char *names[] = {"张三", "Li, \"Si\"", "=cmd"};
    for (int i = 0; i < 3; i++) {
        struct plan_trainee *t = &p->roster[p->n_roster++];
        snprintf(t->pseudonym, sizeof t->pseudonym, "%s", tp(i + 1));
        snprintf(t->masked, sizeof t->masked, "1201**********%04u", (unsigned)(i + 1) % 10000u);
        snprintf(t->name, sizeof t->name, "%s", names[i]);
    }
    engine_policy_default(&f->pol);
    f->ev[0] = sign(1, true, T(8, 50), EVENT_INSIDE, 1);
    f->ev[1] = sign(1, false, T(12, 0), EVENT_INSIDE, 2);
    f->ev[2] = sign(2, true, T(9, 20), EVENT_OUTSIDE, 3);
    f->ev[3] = sign(2, false, T(11, 0), EVENT_INSIDE, 4);
    f->on = (struct plan_online){.start_ms = T(19, 0), .end_ms = T(20, 30)};
    snprintf(f->on.class_id, sizeof f->on.class_id, "R");
    memcpy(f->on.trainee, tp(1), EVENT_HEX_LEN + 1);
    f->rec = (struct engine_recording){.start_ms = T(9, 0), .end_ms = T(11, 30)};
    snprintf(f->rec.id, sizeof f->rec.id, "019a4000-0000-7000-8000-000000000099");
    snprintf(f->rec.class_id, sizeof f->rec.class_id, "R");
    f->as = (struct plan_assessment){.passed = true, .assessed_on_ms = DAY0 + 86400000};
    snprintf(f->as.class_id, sizeof f->as.class_id, "R");
    memcpy(f->as.trainee, tp(1), EVENT_HEX_LEN + 1);
    snprintf(f->rv.event_id, sizeof f->rv.event_id, "%s", f->ev[2].ev.id);
    f->rv.approve = true;
    snprintf(f->rv.reason, sizeof f->rv.reason, "annex room, same building");
    snprintf(f->rv.reviewer, sizeof f->rv.reviewer, "district-120104");
    f->rv.decided_ms = T(22, 0);
    struct engine_input in = {.plan = p,
                              .policy = &f->pol,
                              .events = f->ev,
                              .n_events = 4,
                              .online = &f->on,
                              .n_online = 1,
                              .recordings = &f->rec,
                              .n_recordings = 1,
                              .assessments = &f->as,
                              .n_assessments = 1,
                              .reviews = &f->rv,
                              .n_reviews = 1};
    char err[ERR_LEN] = "";
    if (engine_run(&in, &f->r, err) != RC_OK)
        fail_msg("%s", err);
    return f;
}

static void free_fx(struct fx *f)
{
    engine_report_free(f->r);
    free(f);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v))
        fail_msg("%s is not a number", k);
    return v->valuedouble;
}

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-9)
        fail_msg("got %.15g, want %.15g", got, want);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v))
        fail_msg("%s is not a string", k);
    return v->valuestring;
}

static void json(void **state)
{
    (void)state;
    struct fx *f = fixture();
    char *text = NULL;
    char err[ERR_LEN];
    assert_int_equal(report_json(f->r, &text, err), RC_OK);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(str(o, "class"), "R");
    near(num(o, "scheduled_hours"), 5.0);
    near(num(o, "online_hours_planned"), 2.0);
    near(num(o, "online_share_planned"), 0.4);
    near(num(o, "class_attendance_rate"), 370.0 / 900.0);
    near(num(o, "recording_coverage"), 150.0 / 180.0);
    near(num(o, "pass_rate_assessed"), 1.0);
    near(num(o, "pass_rate_enrolled"), 1.0 / 3.0);
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(o, "policy");
    assert_string_equal(str(pol, "name"), "default");
    near(num(pol, "version"), 1);
    near(num(pol, "early_window_min"), 30);
    near(num(pol, "late_grace_min"), 15);
    near(num(pol, "leave_grace_min"), 15);
    near(num(pol, "online_share_max"), 0.5);
    near(num(pol, "minutes_per_hour"), 45);
    char *verdicts =
        cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(pol, "counted_verdicts"));
    assert_string_equal(verdicts, "[\"inside\",\"uncertain\"]");
    cJSON_free(verdicts);
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "trainees");
    assert_int_equal(cJSON_GetArraySize(ts), 3);
    const cJSON *t1 = cJSON_GetArrayItem(ts, 0), *t2 = cJSON_GetArrayItem(ts, 1);
    assert_string_equal(str(t1, "trainee"), tp(1));
    assert_string_equal(str(t1, "trainee_masked"), "1201**********0001");
    near(num(t1, "scheduled_hours"), 5.0);
    near(num(t1, "attended_hours"), 4.5);
    near(num(t1, "offline_hours"), 3.0);
    near(num(t1, "online_hours"), 1.5);
    near(num(t1, "attendance_rate"), 0.9);
    near(num(t1, "online_share"), 1.0 / 3.0);
    near(num(t2, "attended_hours"), 100.0 / 60.0);
    near(num(t2, "review_effect_hours"), 100.0 / 60.0);
    near(num(t2, "online_share"), 0.0);
    const cJSON *t2f = cJSON_GetObjectItemCaseSensitive(t2, "findings");
    assert_int_equal(cJSON_GetArraySize(t2f), 1);
    const cJSON *fi = cJSON_GetArrayItem(t2f, 0);
    assert_string_equal(str(fi, "kind"), "signin_outside");
    assert_string_equal(str(fi, "severity"), "warning");
    assert_string_equal(str(fi, "at"), "2026-11-02T09:20:00.000+08:00");
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(fi, "review"), "decision"),
                        "approved");
    char *ev = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(fi, "evidence"));
    assert_string_equal(ev, "[\"019a4000-0000-7000-8000-000000000003\"]");
    cJSON_free(ev);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "reviews_changed_figures")));
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(o, "findings");
    /* attendance_low (serious), recording_gap, signin_outside */
    assert_int_equal(cJSON_GetArraySize(fs), 3);
    assert_string_equal(str(cJSON_GetArrayItem(fs, 0), "kind"), "attendance_low");
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(o, "sessions");
    near(num(cJSON_GetArrayItem(ss, 0), "recording_coverage"), 150.0 / 180.0);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ss, 1), "recording_coverage"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "as_of")));
    cJSON_Delete(o);
    free(text);

    /* No assessments, no offline session: undefined rates are null. */
    f->r->assessed = f->r->passed = 0;
    f->r->offline_held_ms = 0;
    assert_int_equal(report_json(f->r, &text, err), RC_OK);
    o = cJSON_Parse(text);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "pass_rate_assessed")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "recording_coverage")));
    near(num(o, "pass_rate_enrolled"), 0.0);
    cJSON_Delete(o);
    free(text);
    free_fx(f);
}

static void csv(void **state)
{
    (void)state;
    struct fx *f = fixture();
    const struct engine_report *rs[] = {f->r};
    char *out = NULL;
    size_t len = 0;
    char err[ERR_LEN];
    assert_int_equal(report_csv(rs, 1, REPORT_TRAINEES, &out, &len, err), RC_OK);
    const char *want =
        "\xef\xbb\xbf"
        "班级,学员,证件号,在校学生,应出勤学时,实出勤学时,线下学时,线上学时,出勤率,线上占比,"
        "复核影响学时,考核,未应点名,问题数\r\n"
        "R,张三,1201**********0001,否,6.67,6.00,4.00,2.00,90.00%,33.33%,0.00,通过,0,0\r\n"
        "R,\"Li, \"\"Si\"\"\",1201**********0002,否,6.67,2.22,2.22,0.00,33.33%,0.00%,2.22,"
        "未考核,0,1\r\n"
        "R,\"'=cmd\",1201**********0003,否,6.67,0.00,0.00,0.00,0.00%,0.00%,0.00,未考核,0,0\r\n";
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);

    assert_int_equal(report_csv(rs, 1, REPORT_CLASSES, &out, &len, err), RC_OK);
    /* 900 min = 20.00 学时, 370 min = 8.22; 41.11%; planned online 40%; actual 90/370 =
     * 24.32%; coverage 83.33%; 1 assessed 1 passed: 100%, 33.33%; 1 serious, 2 warnings. */
    assert_non_null(strstr(out, "\r\nR,INST-1,120104,2-02-10-09,初级,3,20.00,8.22,41.11%,40.00%,"
                                "24.32%,83.33%,1,1,100.00%,33.33%,1,2,0\r\n"));
    free(out);

    assert_int_equal(report_csv(rs, 1, REPORT_SESSIONS, &out, &len, err), RC_OK);
    assert_non_null(strstr(out, "\r\nR,S1,线下,F1,2026-11-02 09:00:00,2026-11-02 12:00:00,是,"
                                "4.00,2,6.22,3.33,83.33%\r\n"));
    assert_non_null(strstr(out, "\r\nR,S2,线上,,2026-11-02 19:00:00,2026-11-02 21:00:00,是,2.67,1,"
                                "2.00,,\r\n"));
    free(out);

    assert_int_equal(report_csv(rs, 1, REPORT_FINDINGS, &out, &len, err), RC_OK);
    assert_non_null(strstr(out, "\xef\xbb\xbf班级,级别,类型,对象类型,对象,学员,场次,时间,说明,"
                                "证据,复核,复核理由,复核人\r\n"));
    assert_non_null(strstr(out, "R,警告,signin_outside,trainee,1201**********0002,"
                                "1201**********0002,S1,2026-11-02 09:20:00,"));
    assert_non_null(strstr(out, ",019a4000-0000-7000-8000-000000000003,批准,"
                                "\"annex room, same building\",district-120104\r\n"));
    free(out);
    assert_int_equal(report_csv(rs, 1, (enum report_table)9, &out, &len, err), RC_INVAL);
    free_fx(f);
}

/* Runs a Python check over an XLSX file; returns its exit status. */
static int python_check(const char *path, const char *script)
{
    const char *py = getenv("ROLLCALL_PYTHON");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s - '%s' <<'EOF'\n%s\nEOF\n", py && *py ? py : "/usr/bin/python3",
             path, script);
    return system(cmd);
}

static void xlsx(void **state)
{
    (void)state;
    struct fx *f = fixture();
    const struct engine_report *rs[] = {f->r};
    struct engine_total *inst = NULL, *dist = NULL;
    size_t ni = 0, nd = 0, ns = 0;
    char err[ERR_LEN] = "";
    assert_int_equal(engine_aggregate(rs, 1, ENGINE_BY_INSTITUTION, &inst, &ni, err), RC_OK);
    assert_int_equal(engine_aggregate(rs, 1, ENGINE_BY_DISTRICT, &dist, &nd, err), RC_OK);
    struct subsidy_result *sub = NULL;
    struct catalogue *cat = calloc(1, sizeof *cat);
    assert_non_null(cat);
    assert_int_equal(catalogue_load(ROLLCALL_SOURCE_DIR "/server/engine/catalogue.json", cat, err),
                     RC_OK);
    assert_int_equal(
        subsidy_evaluate(f->r, &f->plan, cat, NULL, 0, DAY0 + 40 * 86400000LL, &sub, &ns, err),
        RC_OK);
    char path[] = "/tmp/rollcall-report-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    int rc = report_xlsx(path, rs, 1, inst, ni, dist, nd, sub, ns, err);
    if (rc != RC_OK)
        fail_msg("%s", err);
    /* The workbook is a zip of XML parts: sheet names in order, the percent format, Chinese
     * headers in the shared strings, and T1's rate 0.9 in the 学员 sheet (sheet3), 64 学时 required in 补贴 (sheet7). */
    const char *script =
        "import sys, zipfile, re\n"
        "z = zipfile.ZipFile(sys.argv[1])\n"
        "assert z.testzip() is None\n"
        "wb = z.read('xl/workbook.xml').decode()\n"
        "names = re.findall(r'<sheet name=\"([^\"]+)\"', wb)\n"
        "assert names == ['班级','场次','学员','问题','机构','区','补贴'], names\n"
        "assert 'formatCode=\"0.00%\"' in z.read('xl/styles.xml').decode()\n"
        "ss = z.read('xl/sharedStrings.xml').decode()\n"
        "for s in ['出勤率','应出勤学时','线上占比','张三','Li, \"Si\"','补贴金额(元)',"
        "'signin_outside']:\n"
        "    assert s in ss, s\n"
        "s3 = z.read('xl/worksheets/sheet3.xml').decode()\n"
        "assert '<v>0.9</v>' in s3, s3[:400]\n"
        "s7 = z.read('xl/worksheets/sheet7.xml').decode()\n"
        "assert '<v>64</v>' in s7, s7[:600]\n"
        "assert 'hours: attended 6.00 of 64 学时 required' in ss\n";
    int st = python_check(path, script);
    unlink(path);
    assert_int_equal(st, 0);
    /* An unwritable path is an I/O error. */
    assert_int_equal(report_xlsx("/nonexistent/dir/x.xlsx", rs, 1, NULL, 0, NULL, 0, NULL, 0, err),
                     RC_IO);
    free(sub);
    free(cat);
    free(inst);
    free(dist);
    free_fx(f);
}

static void subsidy_csv(void **state)
{
    (void)state;
    struct fx *f = fixture();
    char err[ERR_LEN];
    char *out = NULL;
    struct catalogue *cat = calloc(1, sizeof *cat);
    assert_non_null(cat);
    assert_int_equal(catalogue_load(ROLLCALL_SOURCE_DIR "/server/engine/catalogue.json", cat, err),
                     RC_OK);
    struct subsidy_result *sub = NULL;
    size_t ns = 0, len = 0;
    assert_int_equal(
        subsidy_evaluate(f->r, &f->plan, cat, NULL, 0, DAY0 + 40 * 86400000LL, &sub, &ns, err),
        RC_OK);
    assert_int_equal(report_subsidy_csv(sub, ns, &out, &len, err), RC_OK);
    /* T1 attended 270 min = 6.00 of 64 学时 required: refused by "hours". */
    assert_non_null(strstr(out,
                           "\r\nR,张三,1201**********0001,否,2-02-10-09,初级,64.00,6.00,"
                           "33.33%,否,0,0,hours,hours: attended 6.00 of 64 学时 required\r\n"));
    free(out);
    free(sub);
    free(cat);
    free_fx(f);
}

/* Excel reads a cell as a formula when = + - @ follows leading whitespace too, or when the cell
 * starts with a tab or CR: every such cell is quoted with a leading apostrophe. */
static void csv_formula_guard(void **state)
{
    (void)state;
    static const struct {
        const char *name, *want;
    } cases[] = {
        {"=cmd", "\"'=cmd\""},
        {" =1+1", "\"' =1+1\""},
        {"  +SUM(A1)", "\"'  +SUM(A1)\""},
        {"\t=cmd|' /C calc'!A0", "\"'\t=cmd|' /C calc'!A0\""},
        {"\r@SUM(A1)", "\"'\r@SUM(A1)\""},
        {"\n-2+3", "\"'\n-2+3\""},
        {"\xe3\x80\x80=1", "\"'\xe3\x80\x80=1\""}, /* ideographic space */
        {"\xc2\xa0@x", "\"'\xc2\xa0@x\""},         /* no-break space */
        {"\tplain", "\"'\tplain\""},
        {"plain = text", "plain = text"},
        {"张 三", "张 三"},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    struct subsidy_result *res = calloc(N, sizeof *res);
    assert_non_null(res);
    for (size_t i = 0; i < N; i++) {
        snprintf(res[i].class_id, sizeof res[i].class_id, "R");
        snprintf(res[i].masked, sizeof res[i].masked, "M%zu", i);
        snprintf(res[i].name, sizeof res[i].name, "%s", cases[i].name);
    }
    char *out = NULL, err[ERR_LEN];
    size_t len = 0;
    assert_int_equal(report_subsidy_csv(res, N, &out, &len, err), RC_OK);
    for (size_t i = 0; i < N; i++) {
        char want[128];
        snprintf(want, sizeof want, "\r\nR,%s,M%zu,", cases[i].want, i);
        if (!strstr(out, want))
            fail_msg("case %zu: %s not in the CSV", i, cases[i].name);
    }
    free(out);
    free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json), cmocka_unit_test(csv),         cmocka_unit_test(csv_formula_guard),
        cmocka_unit_test(xlsx), cmocka_unit_test(subsidy_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
