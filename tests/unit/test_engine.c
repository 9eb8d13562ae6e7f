/* engine: scenario tests on small classes. Every figure is worked out by hand in the comments
 * (minutes), then asserted to 1e-9; every policy clause and every finding kind is exercised.
 * A property test checks that shuffling, duplicating and re-batching the same input never
 * changes a byte of the report.
 *
 * Times are Asia/Shanghai wall clock on 2026-11-02 unless noted; T(9, 0) is 09:00+08:00. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "rc.h"
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define MIN INT64_C(60000)
/* 2026-11-02T00:00:00+08:00 = 2026-11-01T16:00:00Z = 1793548800 s */
#define DAY0 INT64_C(1793548800000)
#define T(h, m) (DAY0 + (int64_t)(h)*60 * MIN + (int64_t)(m)*MIN)
#define HOURS(min) ((double)(min) / 60.0)

/* ---- builders --------------------------------------------------------------------------- */

static struct plan *new_plan(const char *id)
{
    struct plan *p = calloc(1, sizeof *p);
    assert_non_null(p);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->institution, sizeof p->institution, "INST-1");
    snprintf(p->district, sizeof p->district, "120103");
    snprintf(p->occupation, sizeof p->occupation, "2-02-10-09");
    p->level = CATALOGUE_JUNIOR;
    p->applied_on_ms = DAY0 - 32 * 24 * 60 * MIN; /* 2026-10-01 */
    return p;
}

static void add_session(struct plan *p, const char *id, int64_t start, int64_t end,
                        enum plan_mode mode, const char *fence)
{
    struct plan_session *s = &p->sessions[p->n_sessions++];
    snprintf(s->id, sizeof s->id, "%s", id);
    s->start_ms = start;
    s->end_ms = end;
    s->mode = mode;
    snprintf(s->fence, sizeof s->fence, "%s", fence ? fence : "");
}

/* Pseudonym of trainee n: 64 hex digits. */
static const char *tp(int n)
{
    static char buf[8][EVENT_HEX_LEN + 1];
    char *b = buf[n % 8];
    memset(b, 'a' + n % 6, EVENT_HEX_LEN);
    snprintf(b + EVENT_HEX_LEN - 4, 5, "%04d", n);
    return b;
}

static void add_trainee(struct plan *p, int n, bool student)
{
    struct plan_trainee *t = &p->roster[p->n_roster++];
    snprintf(t->pseudonym, sizeof t->pseudonym, "%.64s", tp(n));
    snprintf(t->masked, sizeof t->masked, "1201**********%04d", n);
    snprintf(t->name, sizeof t->name, "学员%d", n);
    t->student = student;
}

struct evs {
    size_t n;
    struct engine_event e[256];
};

static int next_id = 1;

static struct engine_event *add_ev(struct evs *v, enum event_type type, const char *device,
                                   int64_t ts)
{
    assert_true(v->n < sizeof v->e / sizeof v->e[0]);
    struct engine_event *ee = &v->e[v->n++];
    memset(ee, 0, sizeof *ee);
    snprintf(ee->ev.id, sizeof ee->ev.id, "019a4000-0000-7000-8000-%012d", next_id++);
    snprintf(ee->ev.device, sizeof ee->ev.device, "%s", device);
    ee->ev.seq = next_id;
    ee->ev.type = type;
    ee->ev.ts_ms = ts;
    ee->received_ms = ts + 5000;
    return ee;
}

static struct engine_event *sign(struct evs *v, bool in, const char *cls, int trainee, int64_t ts,
                                 enum event_verdict verdict)
{
    struct engine_event *ee = add_ev(v, in ? EVENT_SIGNIN : EVENT_SIGNOUT, "K1", ts);
    ee->ev.has = EVENT_HAS(EVENT_F_TRAINEE) | EVENT_HAS(EVENT_F_TRAINEE_MASKED) |
                 EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_VERDICT);
    snprintf(ee->ev.trainee, sizeof ee->ev.trainee, "%s", tp(trainee));
    snprintf(ee->ev.trainee_masked, sizeof ee->ev.trainee_masked, "1201**********%04d", trainee);
    snprintf(ee->ev.class_id, sizeof ee->ev.class_id, "%s", cls);
    ee->ev.verdict = EVENT_OUTSIDE; /* the kiosk's advice: must be ignored */
    ee->verdict = verdict;
    return ee;
}

static struct plan_online online(const char *cls, int trainee, int64_t a, int64_t b)
{
    struct plan_online o;
    memset(&o, 0, sizeof o);
    snprintf(o.class_id, sizeof o.class_id, "%s", cls);
    snprintf(o.trainee, sizeof o.trainee, "%.64s", tp(trainee));
    o.start_ms = a;
    o.end_ms = b;
    return o;
}

static struct engine_recording rec(const char *id, const char *cam, const char *cls, int64_t a,
                                   int64_t b)
{
    struct engine_recording r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.camera, sizeof r.camera, "%s", cam);
    snprintf(r.class_id, sizeof r.class_id, "%s", cls);
    r.start_ms = a;
    r.end_ms = b;
    return r;
}

static struct plan_assessment assess(const char *cls, int trainee, bool passed, int64_t day)
{
    struct plan_assessment a;
    memset(&a, 0, sizeof a);
    snprintf(a.class_id, sizeof a.class_id, "%s", cls);
    snprintf(a.trainee, sizeof a.trainee, "%s", tp(trainee));
    a.passed = passed;
    a.assessed_on_ms = day;
    if (passed)
        snprintf(a.certificate, sizeof a.certificate, "C-%d", trainee);
    return a;
}

static struct engine_report *run(const struct engine_input *in)
{
    struct engine_report *r = NULL;
    char err[ERR_LEN] = "";
    int rc = engine_run(in, &r, err);
    if (rc != RC_OK)
        fail_msg("engine_run: %s", err);
    return r;
}

static size_t count_kind(const struct engine_report *r, enum engine_finding_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_findings; i++)
        n += r->findings[i].kind == k;
    return n;
}

static const struct engine_finding *find(const struct engine_report *r, enum engine_finding_kind k,
                                         const char *subject)
{
    for (size_t i = 0; i < r->n_findings; i++) {
        if (r->findings[i].kind == k && (!subject || strcmp(r->findings[i].subject, subject) == 0))
            return &r->findings[i];
    }
    fail_msg("no %s finding for %s", engine_finding_name(k), subject ? subject : "-");
    return NULL;
}

static bool has_evidence(const struct engine_finding *f, const char *id)
{
    for (size_t i = 0; i < f->n_evidence; i++) {
        if (strcmp(f->evidence[i], id) == 0)
            return true;
    }
    return false;
}

static void near(double got, double want)
{
    if (!(got - want <= EPS && want - got <= EPS))
        fail_msg("got %.15g, want %.15g", got, want);
}

/* ---- scenario A: the presence clauses ----------------------------------------------------
 *
 * Class A: S1 offline 09:00-12:00 (180 min), S2 offline 14:00-17:00 (180), S3 online
 * 19:00-21:00 (120): 480 min scheduled per trainee; 120 online planned, share 120/480 = 0.25.
 *
 * T1: S1 in 08:40 (early window: counts from 09:00), out 11:50 (leave grace: to 12:00) = 180.
 *     S2 in 14:20 (after the 15-min grace: from 14:20), out 16:30 (before 16:45: to 16:30)
 *     = 130. Online 18:50-19:30 and 19:20-20:00 (union 18:50-20:00, clipped to S3: 19:00-20:00)
 *     = 60, and 21:30-22:00 outside every online session = 0. Offline 310, online 60, attended
 *     370 = 6.1666.. h; rate 370/480; online share 60/370.
 * T2: in 08:20 (before the 30-min window: matches no session; server could not judge it),
 *     then S1 in 08:35 out 09:05 -> [09:00, 09:05]; in 09:10 (grace: from 09:00) out 10:00 ->
 *     [09:00, 10:00]; in 10:30 out 11:46 (grace: to 12:00) -> [10:30, 12:00]. Union 60 + 90
 *     = 150. S2 in 13:50, never out: 0 and a finding. Attended 150; rate 150/480.
 * T3: S1 in 09:00 outside the fence, out 12:00: without review 0, approved 180. S2 in 14:00
 *     uncertain (counts, finding) out 17:00 = 180. Attended 360 (180 without the review).
 * T4: S1 in 09:00 no fix (not counted), out 12:00: 0. S2 in 14:00 inside but rejected by a
 *     reviewer, out 17:00: 0 (180 without the review). Online 19:00-21:00 = 120. Attended 120,
 *     online share 120/120 = 1 > 0.5: finding. Without reviews: 300.
 * Class: 1920 min scheduled (4 x 480), attended 370 + 150 + 360 + 120 = 1000; rate 1000/1920
 *     = 0.5208.. < 0.80: serious.
 * Recordings (offline sessions, 360 min): S1 cam A 08:55-10:00, cam B 09:50-11:00, cam A
 *     11:05-12:10 -> [09:00, 11:00] + [11:05, 12:00] = 175 (the 5-min gap is under the 10-min
 *     threshold). S2 cam A 14:00-15:00, 15:30-17:00 = 150; gap 15:00-15:30 (30 min): finding.
 *     A recording of another class is ignored. Coverage 325/360.
 * Assessments: T1 pass, T2 fail (twice), T3 pass; T4 none. Pass rate 2/3 assessed, 2/4
 *     enrolled.
 * Sessions: S1 attended 180 + 150 + 180 + 0 = 510 by 3 present; S2 130 + 0 + 180 + 0 = 310 by
 *     2; S3 60 + 120 = 180 by 2. */

struct scenario {
    struct plan *plan;
    struct engine_policy pol;
    struct evs ev;
    struct plan_online on[8];
    struct engine_recording rec[8];
    struct plan_assessment as[8];
    struct engine_review rv[4];
    struct engine_input in;
    const char *t3_outside, *t4_nofix, *t4_rejected, *t2_open, *t2_early;
};

static struct scenario *scenario_a(void)
{
    struct scenario *s = calloc(1, sizeof *s);
    assert_non_null(s);
    struct plan *p = s->plan = new_plan("A");
    add_session(p, "S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1");
    add_session(p, "S2", T(14, 0), T(17, 0), PLAN_OFFLINE, "F1");
    add_session(p, "S3", T(19, 0), T(21, 0), PLAN_ONLINE, NULL);
    for (int i = 1; i <= 4; i++)
        add_trainee(p, i, false);
    engine_policy_default(&s->pol);
    struct evs *v = &s->ev;
    /* T1 */
    sign(v, true, "A", 1, T(8, 40), EVENT_INSIDE);
    sign(v, false, "A", 1, T(11, 50), EVENT_INSIDE);
    sign(v, true, "A", 1, T(14, 20), EVENT_INSIDE);
    sign(v, false, "A", 1, T(16, 30), EVENT_INSIDE);
    /* T2 */
    s->t2_early = sign(v, true, "A", 2, T(8, 20), 0)->ev.id;
    sign(v, true, "A", 2, T(8, 35), EVENT_INSIDE);
    sign(v, false, "A", 2, T(9, 5), EVENT_INSIDE);
    sign(v, true, "A", 2, T(9, 10), EVENT_INSIDE);
    sign(v, false, "A", 2, T(10, 0), EVENT_INSIDE);
    sign(v, true, "A", 2, T(10, 30), EVENT_INSIDE);
    sign(v, false, "A", 2, T(11, 46), EVENT_INSIDE);
    s->t2_open = sign(v, true, "A", 2, T(13, 50), EVENT_INSIDE)->ev.id;
    /* T3 */
    s->t3_outside = sign(v, true, "A", 3, T(9, 0), EVENT_OUTSIDE)->ev.id;
    sign(v, false, "A", 3, T(12, 0), EVENT_INSIDE);
    sign(v, true, "A", 3, T(14, 0), EVENT_UNCERTAIN);
    sign(v, false, "A", 3, T(17, 0), EVENT_INSIDE);
    /* T4 */
    s->t4_nofix = sign(v, true, "A", 4, T(9, 0), EVENT_NO_FIX)->ev.id;
    sign(v, false, "A", 4, T(12, 0), EVENT_INSIDE);
    s->t4_rejected = sign(v, true, "A", 4, T(14, 0), EVENT_INSIDE)->ev.id;
    sign(v, false, "A", 4, T(17, 0), EVENT_INSIDE);

    s->on[0] = online("A", 1, T(18, 50), T(19, 30));
    s->on[1] = online("A", 1, T(19, 20), T(20, 0));
    s->on[2] = online("A", 1, T(21, 30), T(22, 0));
    s->on[3] = online("A", 4, T(19, 0), T(21, 0));
    s->on[4] = online("B", 2, T(19, 0), T(21, 0)); /* another class */

    s->rec[0] = rec("019a4000-0000-7000-8000-r00000000001", "CAM-A", "A", T(8, 55), T(10, 0));
    s->rec[1] = rec("019a4000-0000-7000-8000-r00000000002", "CAM-B", "A", T(9, 50), T(11, 0));
    s->rec[2] = rec("019a4000-0000-7000-8000-r00000000003", "CAM-A", "A", T(11, 5), T(12, 10));
    s->rec[3] = rec("019a4000-0000-7000-8000-r00000000004", "CAM-A", "A", T(14, 0), T(15, 0));
    s->rec[4] = rec("019a4000-0000-7000-8000-r00000000005", "CAM-A", "A", T(15, 30), T(17, 0));
    s->rec[5] = rec("019a4000-0000-7000-8000-r00000000006", "CAM-X", "B", T(14, 0), T(17, 0));

    int64_t dec1 = T(9, 0) + 24 * 60 * MIN;
    s->as[0] = assess("A", 1, true, dec1);
    s->as[1] = assess("A", 2, false, dec1);
    s->as[2] = assess("A", 2, false, dec1 + 7 * 24 * 60 * MIN);
    s->as[3] = assess("A", 3, true, dec1);

    snprintf(s->rv[0].event_id, sizeof s->rv[0].event_id, "%s", s->t3_outside);
    s->rv[0].approve = true;
    snprintf(s->rv[0].reason, sizeof s->rv[0].reason, "kiosk moved to room 2 that day");
    snprintf(s->rv[0].reviewer, sizeof s->rv[0].reviewer, "district-120103");
    s->rv[0].decided_ms = T(20, 0);
    snprintf(s->rv[1].event_id, sizeof s->rv[1].event_id, "%s", s->t4_rejected);
    s->rv[1].approve = false;
    snprintf(s->rv[1].reason, sizeof s->rv[1].reason, "signed in by someone else (video)");
    snprintf(s->rv[1].reviewer, sizeof s->rv[1].reviewer, "district-120103");
    s->rv[1].decided_ms = T(20, 0);

    s->in = (struct engine_input){.plan = p,
                                  .policy = &s->pol,
                                  .events = s->ev.e,
                                  .n_events = s->ev.n,
                                  .recordings = s->rec,
                                  .n_recordings = 6,
                                  .online = s->on,
                                  .n_online = 5,
                                  .assessments = s->as,
                                  .n_assessments = 4,
                                  .reviews = s->rv,
                                  .n_reviews = 2};
    return s;
}

static void free_scenario(struct scenario *s)
{
    free(s->plan);
    free(s);
}

static void scenario_a_figures(void **state)
{
    (void)state;
    struct scenario *s = scenario_a();
    struct engine_report *r = run(&s->in);

    near(HOURS(r->scheduled_ms / MIN), 8.0);
    near(HOURS(r->online_planned_ms / MIN), 2.0);
    near(engine_ratio(r->online_planned_ms, r->planned_ms, NULL), 0.25);
    assert_int_equal(r->n_trainees, 4);
    const struct engine_trainee *t = r->trainees;
    /* T1 */
    near((double)t[0].offline_ms / (double)MIN, 310);
    near((double)t[0].online_ms / (double)MIN, 60);
    near((double)t[0].attended_ms / 3600000.0, 370.0 / 60.0);
    near(engine_ratio(t[0].attended_ms, t[0].scheduled_ms, NULL), 370.0 / 480.0);
    near(engine_ratio(t[0].online_ms, t[0].attended_ms, NULL), 60.0 / 370.0);
    /* T2 */
    near((double)t[1].attended_ms / (double)MIN, 150);
    near(engine_ratio(t[1].attended_ms, t[1].scheduled_ms, NULL), 150.0 / 480.0);
    near(engine_ratio(t[1].online_ms, t[1].attended_ms, NULL), 0.0);
    /* T3: the approval adds S1 */
    near((double)t[2].attended_ms / (double)MIN, 360);
    near((double)t[2].attended_unreviewed_ms / (double)MIN, 180);
    /* T4: the rejection removes S2 */
    near((double)t[3].offline_ms / (double)MIN, 0);
    near((double)t[3].online_ms / (double)MIN, 120);
    near((double)t[3].attended_unreviewed_ms / (double)MIN, 300);
    near(engine_ratio(t[3].online_ms, t[3].attended_ms, NULL), 1.0);
    /* class */
    near(engine_ratio(r->roster_attended_ms, r->roster_scheduled_ms, NULL), 1000.0 / 1920.0);
    near(engine_ratio(r->recorded_ms, r->offline_held_ms, NULL), 325.0 / 360.0);
    assert_int_equal(r->assessed, 3);
    assert_int_equal(r->passed, 2);
    near(engine_ratio((int64_t)r->passed, (int64_t)r->assessed, NULL), 2.0 / 3.0);
    near(engine_ratio((int64_t)r->passed, (int64_t)r->enrolled, NULL), 0.5);
    /* sessions */
    near((double)r->sessions[0].attended_ms / (double)MIN, 510);
    assert_int_equal(r->sessions[0].present, 3);
    near((double)r->sessions[0].recorded_ms / (double)MIN, 175);
    near((double)r->sessions[1].attended_ms / (double)MIN, 310);
    assert_int_equal(r->sessions[1].present, 2);
    near((double)r->sessions[1].recorded_ms / (double)MIN, 150);
    near((double)r->sessions[2].attended_ms / (double)MIN, 180);
    assert_int_equal(r->sessions[2].present, 2);
    engine_report_free(r);
    free_scenario(s);
}

static void scenario_a_findings(void **state)
{
    (void)state;
    struct scenario *s = scenario_a();
    struct engine_report *r = run(&s->in);
    const struct engine_finding *f;

    f = find(r, ENGINE_F_SIGNIN_OUTSIDE, tp(3));
    assert_true(has_evidence(f, s->t3_outside));
    assert_true(f->reviewed && f->approved);
    assert_string_equal(f->review_reason, "kiosk moved to room 2 that day");
    assert_string_equal(f->session, "S1");
    assert_int_equal(f->severity, ENGINE_WARNING);
    f = find(r, ENGINE_F_SIGNIN_UNCERTAIN, tp(3));
    assert_int_equal(f->severity, ENGINE_INFO);
    assert_string_equal(f->session, "S2");
    assert_int_equal(count_kind(r, ENGINE_F_SIGNIN_UNLOCATED), 2); /* T4 no fix, T2 unjudged */
    f = find(r, ENGINE_F_SIGNIN_UNLOCATED, tp(4));
    assert_true(has_evidence(f, s->t4_nofix));
    assert_false(f->reviewed);
    f = find(r, ENGINE_F_SIGNIN_UNLOCATED, tp(2));
    assert_true(has_evidence(f, s->t2_early));
    f = find(r, ENGINE_F_NO_SESSION, tp(2));
    assert_true(has_evidence(f, s->t2_early));
    f = find(r, ENGINE_F_SIGNIN_WITHOUT_SIGNOUT, tp(2));
    assert_true(has_evidence(f, s->t2_open));
    assert_string_equal(f->session, "S2");
    f = find(r, ENGINE_F_ONLINE_SHARE_TRAINEE, tp(4));
    assert_int_equal(count_kind(r, ENGINE_F_ONLINE_SHARE_TRAINEE), 1);
    f = find(r, ENGINE_F_RECORDING_GAP, "S2");
    assert_true(has_evidence(f, "019a4000-0000-7000-8000-r00000000004"));
    assert_true(has_evidence(f, "019a4000-0000-7000-8000-r00000000005"));
    assert_non_null(strstr(f->detail, "2026-11-02 15:00:00"));
    assert_non_null(strstr(f->detail, "1800 s"));
    assert_int_equal(count_kind(r, ENGINE_F_RECORDING_GAP), 1);
    f = find(r, ENGINE_F_ATTENDANCE_LOW, "A");
    assert_int_equal(f->severity, ENGINE_SERIOUS);
    assert_int_equal(count_kind(r, ENGINE_F_ONLINE_SHARE_PLAN), 0);
    assert_int_equal(count_kind(r, ENGINE_F_LATE_APPLICATION), 0);
    assert_int_equal(r->n_findings, 9);
    /* sorted: serious first */
    assert_int_equal(r->findings[0].severity, ENGINE_SERIOUS);
    assert_int_equal(r->by_severity[ENGINE_SERIOUS], 1);
    assert_int_equal(r->by_severity[ENGINE_WARNING], 6);
    assert_int_equal(r->by_severity[ENGINE_INFO], 2);
    /* the review in force is echoed */
    assert_int_equal(r->n_reviews, 2);
    engine_report_free(r);
    free_scenario(s);
}

/* Reviews: without them T3 and T4 change; a later decision overrides an earlier one; on a
 * tie a rejection wins. */
static void reviews(void **state)
{
    (void)state;
    struct scenario *s = scenario_a();
    s->in.n_reviews = 0;
    struct engine_report *r = run(&s->in);
    near((double)r->trainees[2].attended_ms / (double)MIN, 180);
    near((double)r->trainees[3].attended_ms / (double)MIN, 300);
    near((double)r->trainees[2].attended_unreviewed_ms / (double)MIN, 180);
    /* class: 370 + 150 + 180 + 300 = 1000 as well, by coincidence of the two reviews */
    near(engine_ratio(r->roster_attended_ms, r->roster_scheduled_ms, NULL), 1000.0 / 1920.0);
    assert_false(find(r, ENGINE_F_SIGNIN_OUTSIDE, tp(3))->reviewed);
    engine_report_free(r);

    /* a later rejection of T3's sign-in overrides the approval */
    s->rv[2] = s->rv[0];
    s->rv[2].approve = false;
    s->rv[2].decided_ms += 1;
    snprintf(s->rv[2].reason, sizeof s->rv[2].reason, "second look: not in the room");
    s->in.n_reviews = 3;
    r = run(&s->in);
    near((double)r->trainees[2].attended_ms / (double)MIN, 180);
    const struct engine_finding *f = find(r, ENGINE_F_SIGNIN_OUTSIDE, tp(3));
    assert_true(f->reviewed && !f->approved);
    assert_string_equal(f->review_reason, "second look: not in the room");
    engine_report_free(r);

    /* the same time: the rejection wins whatever the order */
    s->rv[2].decided_ms = s->rv[0].decided_ms;
    r = run(&s->in);
    near((double)r->trainees[2].attended_ms / (double)MIN, 180);
    engine_report_free(r);
    free_scenario(s);
}

/* as_of: a session that has not ended is not scheduled yet. */
static void as_of(void **state)
{
    (void)state;
    struct scenario *s = scenario_a();
    s->in.as_of_ms = T(17, 0); /* S1, S2 held; S3 not */
    struct engine_report *r = run(&s->in);
    near((double)r->scheduled_ms / (double)MIN, 360);
    /* T1: 310 offline, online not counted; 310/360 */
    near(engine_ratio(r->trainees[0].attended_ms, r->trainees[0].scheduled_ms, NULL),
         310.0 / 360.0);
    assert_false(r->sessions[2].held);
    /* planned online share is over the whole plan */
    near(engine_ratio(r->online_planned_ms, r->planned_ms, NULL), 0.25);
    engine_report_free(r);
    free_scenario(s);
}

/* Sign-ins naming their session; an uncounted verdict policy; a sign-out without sign-in. */
static void explicit_session_and_policy(void **state)
{
    (void)state;
    struct plan *p = new_plan("E");
    add_session(p, "S1", T(9, 0), T(10, 0), PLAN_OFFLINE, "F1");
    add_session(p, "S2", T(10, 10), T(11, 0), PLAN_OFFLINE, "F1");
    add_trainee(p, 1, false);
    struct engine_policy pol;
    engine_policy_default(&pol);
    struct evs v = {0};
    /* 09:50 falls in S1 and in S2's early window; naming S2 puts it in S2: from 10:10 (grace).
     * Out 10:40 -> [10:10, 10:40] = 30 of S2. A sign-out 09:30 without a sign-in counts
     * nothing. */
    struct engine_event *e = sign(&v, true, "E", 1, T(9, 50), EVENT_INSIDE);
    e->ev.has |= EVENT_HAS(EVENT_F_SESSION);
    snprintf(e->ev.session, sizeof e->ev.session, "S2");
    sign(&v, false, "E", 1, T(9, 30), EVENT_INSIDE);
    sign(&v, false, "E", 1, T(10, 40), EVENT_INSIDE);
    struct engine_input in = {.plan = p, .policy = &pol, .events = v.e, .n_events = v.n};
    struct engine_report *r = run(&in);
    near((double)r->trainees[0].attended_ms / (double)MIN, 30);
    near((double)r->sessions[0].attended_ms / (double)MIN, 0);
    engine_report_free(r);

    /* A policy that does not count uncertain verdicts. */
    sign(&v, true, "E", 1, T(9, 0), EVENT_UNCERTAIN);
    sign(&v, false, "E", 1, T(10, 0), EVENT_INSIDE);
    in.n_events = v.n;
    r = run(&in);
    /* S1 now: in 09:00, out 09:30 (closes it), out 10:00 (nothing open): [09:00, 09:30] = 30;
     * with S2's 30: 60. */
    near((double)r->trainees[0].attended_ms / (double)MIN, 60);
    engine_report_free(r);
    pol.count_uncertain = false;
    r = run(&in);
    near((double)r->trainees[0].attended_ms / (double)MIN, 30);
    engine_report_free(r);
    /* a bad policy is refused */
    pol.attendance_serious = 0.95;
    struct engine_report *bad = NULL;
    char err[ERR_LEN];
    assert_int_equal(engine_run(&in, &bad, err), RC_INVAL);
    assert_non_null(strstr(err, "attendance"));
    assert_null(bad);
    free(p);
}

static uint64_t rnd(void);

static struct engine_event *rollcall(struct evs *v, const char *cls, const char *session,
                                     const char *id, int64_t opens, int64_t closes)
{
    struct engine_event *ee = add_ev(v, EVENT_ROLLCALL, "K1", opens);
    ee->ev.has = EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_SESSION) |
                 EVENT_HAS(EVENT_F_ROLLCALL) | EVENT_HAS(EVENT_F_START) | EVENT_HAS(EVENT_F_END);
    snprintf(ee->ev.class_id, sizeof ee->ev.class_id, "%s", cls);
    snprintf(ee->ev.session, sizeof ee->ev.session, "%s", session);
    snprintf(ee->ev.rollcall, sizeof ee->ev.rollcall, "%s", id);
    ee->ev.start_ms = opens;
    ee->ev.end_ms = closes;
    return ee;
}

static struct engine_event *confirm(struct evs *v, const char *cls, const char *session,
                                    const char *id, int trainee, int64_t ts,
                                    enum event_verdict verdict)
{
    struct engine_event *ee = sign(v, true, cls, trainee, ts, verdict);
    ee->ev.type = EVENT_ROLLCALL_CONFIRM;
    ee->ev.has |= EVENT_HAS(EVENT_F_SESSION) | EVENT_HAS(EVENT_F_ROLLCALL);
    snprintf(ee->ev.session, sizeof ee->ev.session, "%s", session);
    snprintf(ee->ev.rollcall, sizeof ee->ev.rollcall, "%s", id);
    return ee;
}

/* Random roll-calls (随机点名). Session S1 09:00-12:00 (180 min), roll-calls R1 opening 10:00
 * (to 10:10) and R2 opening 11:00 (to 11:10). Trainee 1: in 09:00, out 12:00, confirms R1 at
 * 10:05 and R2 at 11:02: 180 min, nothing missed. Trainee 2: in 09:00, out 12:00, confirms R1
 * at 10:03, misses R2: presence ends at 11:00 and nothing resumes it: 120 min. Trainee 3: in
 * 09:00, misses R1, signs in again at 10:30 (resumes), confirms R2 outside the fence at 11:05
 * (not counted: missed, cut from 11:00 to the session end), out 12:00: 60 + 30 = 90 min.
 * Trainee 4: signs in only at 11:30 (after both roll-calls opened): neither is held, 30 min.
 * Trainee 5: in 09:00, out 12:00, confirms R1 only at 10:20, after it closed: not counted,
 * and it does not resume presence; R2 missed too: 60 min. Missed: 1 + 2 + 2 = 5 findings. */
static void rollcalls(void **state)
{
    (void)state;
    struct plan *p = new_plan("RC");
    add_session(p, "S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1");
    for (int i = 1; i <= 5; i++)
        add_trainee(p, i, false);
    p->rollcalls = 2;
    p->rollcall_window_min = 10;
    struct engine_policy pol;
    engine_policy_default(&pol);
    assert_true(pol.rollcall_missed_ends_presence);
    struct evs v = {0};
    struct engine_event *r1 = rollcall(&v, "RC", "S1", "R1", T(10, 0), T(10, 10));
    struct engine_event *r2 = rollcall(&v, "RC", "S1", "R2", T(11, 0), T(11, 10));
    /* the same roll-call recorded twice (a retry) is one roll-call */
    rollcall(&v, "RC", "S1", "R2", T(11, 0), T(11, 10));
    for (int i = 1; i <= 3; i++) {
        sign(&v, true, "RC", i, T(9, 0), EVENT_INSIDE);
        sign(&v, false, "RC", i, T(12, 0), EVENT_INSIDE);
    }
    confirm(&v, "RC", "S1", "R1", 1, T(10, 5), EVENT_INSIDE);
    confirm(&v, "RC", "S1", "R2", 1, T(11, 2), EVENT_UNCERTAIN);
    confirm(&v, "RC", "S1", "R1", 2, T(10, 3), EVENT_INSIDE);
    sign(&v, true, "RC", 3, T(10, 30), EVENT_INSIDE);
    confirm(&v, "RC", "S1", "R2", 3, T(11, 5), EVENT_OUTSIDE);
    sign(&v, true, "RC", 4, T(11, 30), EVENT_INSIDE);
    sign(&v, false, "RC", 4, T(12, 0), EVENT_INSIDE);
    sign(&v, true, "RC", 5, T(9, 0), EVENT_INSIDE);
    sign(&v, false, "RC", 5, T(12, 0), EVENT_INSIDE);
    confirm(&v, "RC", "S1", "R1", 5, T(10, 20), EVENT_INSIDE);
    /* another class's roll-call changes nothing here */
    rollcall(&v, "OTHER", "S1", "R9", T(9, 30), T(9, 40));
    struct engine_input in = {.plan = p, .policy = &pol, .events = v.e, .n_events = v.n};
    struct engine_report *r = run(&in);
    const double want[] = {180, 120, 90, 30, 60};
    const size_t held[] = {2, 2, 2, 0, 2}, missed[] = {0, 1, 2, 0, 2};
    for (size_t i = 0; i < 5; i++) {
        near((double)r->trainees[i].attended_ms / (double)MIN, want[i]);
        assert_int_equal(r->trainees[i].rollcalls_held, held[i]);
        assert_int_equal(r->trainees[i].rollcalls_missed, missed[i]);
    }
    near((double)r->sessions[0].attended_ms / (double)MIN, 180 + 120 + 90 + 30 + 60);
    assert_int_equal(count_kind(r, ENGINE_F_ROLLCALL_MISSED), 5);
    const struct engine_finding *f = find(r, ENGINE_F_ROLLCALL_MISSED, tp(2));
    assert_true(has_evidence(f, r2->ev.id));
    assert_int_equal(f->at_ms, T(11, 0));
    assert_string_equal(f->session, "S1");
    assert_non_null(strstr(f->detail, "R2"));
    assert_int_equal(f->severity, ENGINE_WARNING);
    f = find(r, ENGINE_F_ROLLCALL_MISSED, tp(5));
    assert_true(has_evidence(f, r1->ev.id));
    assert_string_equal(engine_finding_name(ENGINE_F_ROLLCALL_MISSED), "rollcall_missed");
    engine_report_free(r);

    /* The same events shuffled, some twice (the roll-call retry included): the same figures. */
    static struct engine_event buf[2 * sizeof v.e / sizeof v.e[0]];
    for (int round = 0; round < 50; round++) {
        size_t m = 0;
        for (size_t i = 0; i < v.n; i++) {
            buf[m++] = v.e[i];
            if (rnd() % 3 == 0) {
                buf[m] = v.e[i];
                buf[m++].received_ms += 3600000;
            }
        }
        for (size_t i = m; i > 1; i--) {
            size_t j = (size_t)(rnd() % i);
            struct engine_event tmp = buf[i - 1];
            buf[i - 1] = buf[j];
            buf[j] = tmp;
        }
        struct engine_input in2 = in;
        in2.events = buf;
        in2.n_events = m;
        r = run(&in2);
        for (size_t i = 0; i < 5; i++) {
            near((double)r->trainees[i].attended_ms / (double)MIN, want[i]);
            assert_int_equal(r->trainees[i].rollcalls_missed, missed[i]);
        }
        assert_int_equal(count_kind(r, ENGINE_F_ROLLCALL_MISSED), 5);
        engine_report_free(r);
    }

    /* With the option off, a missed roll-call is a finding only: every trainee keeps the
     * sign-in figures (3 x 180 for 1, 2, 5; trainee 3 in at 09:00 stays in: 180; 4: 30). */
    pol.rollcall_missed_ends_presence = false;
    r = run(&in);
    const double keep[] = {180, 180, 180, 30, 180};
    for (size_t i = 0; i < 5; i++) {
        near((double)r->trainees[i].attended_ms / (double)MIN, keep[i]);
        assert_int_equal(r->trainees[i].rollcalls_missed, missed[i]);
    }
    assert_int_equal(count_kind(r, ENGINE_F_ROLLCALL_MISSED), 5);
    engine_report_free(r);

    /* A reviewer approving trainee 3's outside confirmation makes R2 answered: presence runs
     * 10:30-12:00 after the R1 cut: 60 + 90 = 150. */
    pol.rollcall_missed_ends_presence = true;
    const struct engine_event *c3 = NULL;
    for (size_t i = 0; i < v.n; i++) {
        if (v.e[i].ev.type == EVENT_ROLLCALL_CONFIRM && strcmp(v.e[i].ev.trainee, tp(3)) == 0)
            c3 = &v.e[i];
    }
    assert_non_null(c3);
    struct engine_review rv = {.approve = true, .decided_ms = T(13, 0)};
    snprintf(rv.event_id, sizeof rv.event_id, "%s", c3->ev.id);
    snprintf(rv.reviewer, sizeof rv.reviewer, "rev");
    in.reviews = &rv;
    in.n_reviews = 1;
    r = run(&in);
    near((double)r->trainees[2].attended_ms / (double)MIN, 150);
    assert_int_equal(r->trainees[2].rollcalls_missed, 1);
    engine_report_free(r);
    free(p);
}

/* Attendance thresholds: 150/180 = 0.8333 is a warning; 162/180 = 0.9 exactly is none;
 * 143/180 = 0.794 is serious. */
static void attendance_thresholds(void **state)
{
    (void)state;
    struct plan *p = new_plan("W");
    add_session(p, "S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1");
    add_trainee(p, 1, false);
    struct engine_policy pol;
    engine_policy_default(&pol);
    const int outs[3][2] = {{11, 30}, {11, 42}, {11, 23}};
    const int want[3] = {ENGINE_WARNING, -1, ENGINE_SERIOUS};
    for (int i = 0; i < 3; i++) {
        struct evs v = {0};
        sign(&v, true, "W", 1, T(9, 0), EVENT_INSIDE);
        sign(&v, false, "W", 1, T(outs[i][0], outs[i][1]), EVENT_INSIDE);
        struct engine_input in = {.plan = p, .policy = &pol, .events = v.e, .n_events = v.n};
        struct engine_report *r = run(&in);
        if (want[i] < 0) {
            near(engine_ratio(r->roster_attended_ms, r->roster_scheduled_ms, NULL), 0.9);
            assert_int_equal(count_kind(r, ENGINE_F_ATTENDANCE_LOW), 0);
        } else {
            assert_int_equal(find(r, ENGINE_F_ATTENDANCE_LOW, "W")->severity, want[i]);
        }
        engine_report_free(r);
    }
    free(p);
}

/* A recording registered a week after the class still counts for 09:00-12:00 (coverage 1), and
 * its late registration is an info finding on the session it covers; one registered within the
 * policy's 24 h is not; a late one covering no session of the class says nothing. */
static void late_recording(void **state)
{
    (void)state;
    struct plan *p = new_plan("L");
    add_session(p, "S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1");
    struct engine_policy pol;
    engine_policy_default(&pol);
    struct engine_recording rs[3] = {
        rec("rec-late", "cam-1", "L", T(9, 0), T(10, 30)),
        rec("rec-soon", "cam-1", "L", T(10, 30), T(12, 0)),
        rec("rec-elsewhere", "cam-2", "L", T(14, 0), T(15, 0)),
    };
    rs[0].registered_ms = T(10, 30) + 7 * 24 * 60 * MIN;
    rs[1].registered_ms = T(10, 30) + 23 * 60 * MIN;
    rs[2].registered_ms = T(15, 0) + 7 * 24 * 60 * MIN;
    struct engine_input in = {.plan = p, .policy = &pol, .recordings = rs, .n_recordings = 3};
    struct engine_report *r = run(&in);
    assert_int_equal(r->recorded_ms, 180 * MIN);
    assert_int_equal(r->sessions[0].recorded_ms, 180 * MIN);
    assert_int_equal(count_kind(r, ENGINE_F_RECORDING_GAP), 0);
    assert_int_equal(count_kind(r, ENGINE_F_LATE_RECORDING), 1);
    const struct engine_finding *f = find(r, ENGINE_F_LATE_RECORDING, "S1");
    assert_int_equal(f->severity, ENGINE_INFO);
    assert_string_equal(f->session, "S1");
    assert_int_equal(f->at_ms, rs[0].registered_ms);
    assert_true(f->n_evidence == 1 && has_evidence(f, "rec-late"));
    assert_non_null(strstr(f->detail, "cam-1"));
    assert_non_null(strstr(f->detail, "registered"));
    assert_string_equal(engine_finding_name(ENGINE_F_LATE_RECORDING), "late_recording");
    engine_report_free(r);
    free(p);
}

/* Online share of the plan: 60 offline + 120 online = 120/180 = 0.667 > 0.5: serious. A
 * 90/90 split (0.5 exactly) is not over the limit. */
static void online_share_plan(void **state)
{
    (void)state;
    struct plan *p = new_plan("O");
    add_session(p, "S1", T(9, 0), T(10, 0), PLAN_OFFLINE, "F1");
    add_session(p, "S2", T(19, 0), T(21, 0), PLAN_ONLINE, NULL);
    struct engine_policy pol;
    engine_policy_default(&pol);
    struct engine_input in = {.plan = p, .policy = &pol};
    struct engine_report *r = run(&in);
    const struct engine_finding *f = find(r, ENGINE_F_ONLINE_SHARE_PLAN, "O");
    assert_int_equal(f->severity, ENGINE_SERIOUS);
    near(engine_ratio(r->online_planned_ms, r->planned_ms, NULL), 2.0 / 3.0);
    /* no roster: attendance undefined, no finding */
    bool defined = true;
    engine_ratio(r->roster_attended_ms, r->roster_scheduled_ms, &defined);
    assert_false(defined);
    assert_int_equal(count_kind(r, ENGINE_F_ATTENDANCE_LOW), 0);
    engine_report_free(r);
    p->sessions[0].end_ms = T(10, 30);
    p->sessions[1].end_ms = T(20, 30);
    r = run(&in);
    assert_int_equal(count_kind(r, ENGINE_F_ONLINE_SHARE_PLAN), 0);
    engine_report_free(r);
    free(p);
}

/* Devices: a venue's kiosk silent for 20 minutes; clocks; impossible travel; conflicts;
 * someone not on the roster; venues outside Tianjin. */
static void device_findings(void **state)
{
    (void)state;
    struct plan *p = new_plan("D");
    add_session(p, "S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1");
    add_session(p, "S2", T(14, 0), T(15, 0), PLAN_OFFLINE, "F2");
    add_trainee(p, 1, false);
    add_trainee(p, 2, false);
    struct engine_policy pol;
    engine_policy_default(&pol);
    struct evs *v = calloc(1, sizeof *v);
    assert_non_null(v);
    /* K1 at F1: heartbeats 08:59, then every 5 min to 10:00, nothing until 10:20, then every
     * 5 min to 12:00. The 20-min stretch 10:00-10:20 is over the 5-min limit; 5-min steps are
     * not (the limit is "longer than"). */
    add_ev(v, EVENT_HEARTBEAT, "K1", T(8, 59));
    const char *hb_before = NULL, *hb_after = NULL;
    for (int m = 0; m <= 60; m += 5)
        hb_before = add_ev(v, EVENT_HEARTBEAT, "K1", T(9, m))->ev.id;
    for (int m = 80; m <= 180; m += 5) {
        const char *id = add_ev(v, EVENT_HEARTBEAT, "K1", T(9, m))->ev.id;
        if (m == 80)
            hb_after = id;
    }
    /* K9 stands at another venue and is silent: not this class's kiosk. */
    add_ev(v, EVENT_HEARTBEAT, "K9", T(9, 0));
    /* K2 at F2 is never heard during S2: silent 14:00-15:00. */
    /* Clocks on K1: a clock event 120 s off; a fix 60 s from the device time; an event stamped
     * 2 min after the server received it. */
    struct engine_event *ck = add_ev(v, EVENT_CLOCK, "K1", T(9, 2));
    ck->ev.has |= EVENT_HAS(EVENT_F_SKEW_MS);
    ck->ev.skew_ms = 120000;
    /* Trainee 1 signs in on K1 at 39.10 N 117.20 E, then 60 s later on K2 at 39.20 N 117.20 E:
     * 0.1 degree of latitude is about 11.1 km, 185 m/s: impossible. */
    struct engine_event *a = sign(v, true, "D", 1, T(9, 1), EVENT_INSIDE);
    a->ev.has |= EVENT_HAS(EVENT_F_FIX);
    a->ev.fix = (struct event_fix){.lat_e8 = 3910000000,
                                   .lon_e8 = 11720000000,
                                   .mode = 3,
                                   .has_time = true,
                                   .time_ms = T(9, 1) + 60000};
    struct engine_event *b = sign(v, true, "D", 1, T(9, 2), EVENT_INSIDE);
    snprintf(b->ev.device, sizeof b->ev.device, "K2");
    b->ev.has |= EVENT_HAS(EVENT_F_FIX);
    b->ev.fix = (struct event_fix){.lat_e8 = 3920000000, .lon_e8 = 11720000000, .mode = 3};
    /* Trainee 2: the same two places 30 min apart (6 m/s): possible. No fix on the second
     * sign-in: its position is K2's venue, F2. */
    struct engine_event *c2 = sign(v, true, "D", 2, T(9, 0), EVENT_INSIDE);
    c2->ev.has |= EVENT_HAS(EVENT_F_FIX);
    c2->ev.fix = (struct event_fix){.lat_e8 = 3910000000, .lon_e8 = 11720000000, .mode = 3};
    struct engine_event *d2 = sign(v, false, "D", 2, T(9, 30), EVENT_INSIDE);
    snprintf(d2->ev.device, sizeof d2->ev.device, "K2");
    struct engine_event *late = sign(v, false, "D", 2, T(11, 0), EVENT_INSIDE);
    late->received_ms = late->ev.ts_ms - 120000;
    /* Someone not on the roster. */
    const char *stranger = sign(v, true, "D", 7, T(9, 5), EVENT_INSIDE)->ev.id;

    struct engine_device devs[] = {{"K1", "F1"}, {"K2", "F2"}, {"K9", "F9"}, {"K1", "F1"}};
    /* F1 in Hexi district; F2 around Beijing's Dongcheng (39.91 N 116.40 E): outside. */
    struct engine_venue ven[] = {
        {"F1", 39.09, 117.19, 39.11, 117.21, 39.10, 117.20},
        {"F2", 39.90, 116.39, 39.92, 116.41, 39.20, 117.20},
    };
    struct engine_conflict cf[] = {
        {"K1", 42, "019a4000-0000-7000-8000-c00000000001", "019a4000-0000-7000-8000-c00000000002"},
        {"K1", 42, "019a4000-0000-7000-8000-c00000000001", "019a4000-0000-7000-8000-c00000000002"},
    };
    struct engine_input in = {.plan = p,
                              .policy = &pol,
                              .events = v->e,
                              .n_events = v->n,
                              .devices = devs,
                              .n_devices = 4,
                              .venues = ven,
                              .n_venues = 2,
                              .conflicts = cf,
                              .n_conflicts = 2};
    struct engine_report *r = run(&in);
    const struct engine_finding *f;

    assert_int_equal(count_kind(r, ENGINE_F_KIOSK_SILENT), 2);
    f = find(r, ENGINE_F_KIOSK_SILENT, "K1");
    assert_string_equal(f->session, "S1");
    assert_true(has_evidence(f, hb_before) && has_evidence(f, hb_after));
    assert_non_null(strstr(f->detail, "(1200 s)"));
    f = find(r, ENGINE_F_KIOSK_SILENT, "K2");
    assert_string_equal(f->session, "S2");
    assert_non_null(strstr(f->detail, "(3600 s)"));

    assert_int_equal(count_kind(r, ENGINE_F_CLOCK), 3);
    bool skew = false, gnss = false, ahead = false;
    for (size_t i = 0; i < r->n_findings; i++) {
        f = &r->findings[i];
        if (f->kind != ENGINE_F_CLOCK)
            continue;
        skew = skew || (has_evidence(f, ck->ev.id) && strstr(f->detail, "120000 ms"));
        gnss = gnss || (has_evidence(f, a->ev.id) && strstr(f->detail, "60000 ms"));
        ahead = ahead || (has_evidence(f, late->ev.id) && strstr(f->detail, "120000 ms"));
    }
    assert_true(skew && gnss && ahead);

    assert_int_equal(count_kind(r, ENGINE_F_IMPOSSIBLE_TRAVEL), 1);
    f = find(r, ENGINE_F_IMPOSSIBLE_TRAVEL, tp(1));
    assert_int_equal(f->severity, ENGINE_SERIOUS);
    assert_true(has_evidence(f, a->ev.id) && has_evidence(f, b->ev.id));

    assert_int_equal(count_kind(r, ENGINE_F_CHAIN_CONFLICT), 1);
    f = find(r, ENGINE_F_CHAIN_CONFLICT, "K1");
    assert_int_equal(f->n_evidence, 2);
    assert_non_null(strstr(f->detail, "seq 42"));

    f = find(r, ENGINE_F_NOT_ON_ROSTER, tp(7));
    assert_true(has_evidence(f, stranger));

    assert_int_equal(count_kind(r, ENGINE_F_VENUE_OUTSIDE_REGION), 1);
    f = find(r, ENGINE_F_VENUE_OUTSIDE_REGION, "F2");
    assert_int_equal(f->subject_kind, ENGINE_S_VENUE);
    engine_report_free(r);
    free(v);
    free(p);
}

/* An event received twice counts as its first receipt, whichever copy comes first: stamped
 * 2 min ahead of the server when first received (a clock finding), an hour behind when
 * received again (none). */
static void duplicates_keep_first_receipt(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        struct plan *p = new_plan("R");
        add_session(p, "S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1");
        struct engine_policy pol;
        engine_policy_default(&pol);
        struct evs *v = calloc(1, sizeof *v);
        assert_non_null(v);
        struct engine_event *first = add_ev(v, EVENT_HEARTBEAT, "K1", T(9, 30));
        first->received_ms = first->ev.ts_ms - 120000;
        v->e[v->n] = *first;
        v->e[v->n++].received_ms = first->ev.ts_ms + 3600000;
        if (order) { /* the later copy first */
            struct engine_event t = v->e[0];
            v->e[0] = v->e[1];
            v->e[1] = t;
        }
        struct engine_device devs[] = {{"K1", "F1"}};
        struct engine_input in = {.plan = p,
                                  .policy = &pol,
                                  .events = v->e,
                                  .n_events = v->n,
                                  .devices = devs,
                                  .n_devices = 1};
        struct engine_report *r = run(&in);
        assert_int_equal(count_kind(r, ENGINE_F_CLOCK), 1);
        const struct engine_finding *f = find(r, ENGINE_F_CLOCK, "K1");
        assert_true(has_evidence(f, v->e[0].ev.id));
        assert_non_null(strstr(f->detail, "120000 ms"));
        engine_report_free(r);
        free(v);
        free(p);
    }
}

/* A class's kiosk findings come out once per kiosk however many kiosks it has (the engine
 * groups the events of up to 64 kiosks by hand, of more by a sort): each kiosk's two clock
 * events, 120 s off and interleaved in time with the other kiosks', make one clock finding
 * for that kiosk holding both. */
static void kiosks_grouped(void **state)
{
    (void)state;
    static const int counts[] = {3, 64, 70};
    for (size_t round = 0; round < sizeof counts / sizeof counts[0]; round++) {
        int kiosks = counts[round];
        struct plan *p = new_plan("M");
        add_session(p, "S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1");
        struct engine_policy pol;
        engine_policy_default(&pol);
        struct evs *v = calloc(1, sizeof *v);
        struct engine_device *devs = calloc((size_t)kiosks, sizeof *devs);
        assert_non_null(v);
        assert_non_null(devs);
        char ids[70][2][EVENT_UUID_LEN + 1];
        for (int pass = 0; pass < 2; pass++) {
            for (int k = kiosks - 1; k >= 0; k--) { /* the kiosks in reverse order */
                snprintf(devs[k].id, sizeof devs[k].id, "kiosk-%03d", k);
                snprintf(devs[k].fence, sizeof devs[k].fence, "F1");
                struct engine_event *e =
                    add_ev(v, EVENT_CLOCK, devs[k].id, T(9, 10 + pass * 60) + (kiosks - k) * 1000);
                e->ev.has |= EVENT_HAS(EVENT_F_SKEW_MS);
                e->ev.skew_ms = 120000;
                snprintf(ids[k][pass], sizeof ids[k][pass], "%s", e->ev.id);
            }
        }
        struct engine_input in = {.plan = p,
                                  .policy = &pol,
                                  .events = v->e,
                                  .n_events = v->n,
                                  .devices = devs,
                                  .n_devices = (size_t)kiosks};
        struct engine_report *r = run(&in);
        assert_int_equal(count_kind(r, ENGINE_F_CLOCK), kiosks);
        for (int k = 0; k < kiosks; k++) {
            const struct engine_finding *f = find(r, ENGINE_F_CLOCK, devs[k].id);
            assert_int_equal(f->n_evidence, 2);
            assert_true(has_evidence(f, ids[k][0]) && has_evidence(f, ids[k][1]));
        }
        engine_report_free(r);
        free(devs);
        free(v);
        free(p);
    }
}

/* GNSS quality (gnss_quality): the venue kiosk's own reports about its receiver, per (kiosk,
 * session, kind). Class G: S1 offline 09:00-12:00 and S2 14:00-15:00, both at F1 (kiosk K1);
 * K2 stands at F2, a venue of no session here. The window of S1 is 08:30-12:15 (30-min early
 * window, 15-min leave grace), of S2 13:30-15:15.
 * - K1 frozen at 08:20 (before the window: nothing), 09:10 and 10:40: one finding on S1,
 *   "2 times", first at 09:10. Trainee 1 signs in on K1 at 09:05 on a GNSS fix (before the
 *   first report: not counted), trainee 2 at 09:20 on a GNSS fix (counted) and trainee 3 at
 *   09:25 on the surveyed position (not a GNSS fix: not counted): 1 sign event, serious.
 * - K1 zero_eph at 14:40, after S2's only sign event (14:30): warning on S2.
 * - K1 time_skew (a clock event, 5 s: under the clock threshold) at 14:20 and a GNSS sign-in
 *   at 14:30: warning (time skew does not move positions), and no clock_disagreement.
 * - K1 no_fix at 09:15: not a quality finding (an unlocated sign-in is its own finding).
 * - K1 impossible_speed at 12:20: after S1's window and before S2's: nothing.
 * - K2 impossible_speed at 09:30: K2 stands at no venue of this class: nothing. */
static struct engine_event *gnss_ev(struct evs *v, const char *device, const char *kind, int64_t ts)
{
    bool skew = strcmp(kind, "time_skew") == 0;
    struct engine_event *e = add_ev(v, skew ? EVENT_CLOCK : EVENT_GNSS, device, ts);
    e->ev.has |= EVENT_HAS(EVENT_F_KIND);
    snprintf(e->ev.kind, sizeof e->ev.kind, "%s", kind);
    if (skew) {
        e->ev.has |= EVENT_HAS(EVENT_F_SKEW_MS);
        e->ev.skew_ms = 5000;
    } else {
        e->ev.has |= EVENT_HAS(EVENT_F_DETAIL);
    }
    return e;
}

static struct engine_event *sign_fix(struct evs *v, const char *cls, int trainee, int64_t ts,
                                     enum event_fix_source source)
{
    struct engine_event *e = sign(v, true, cls, trainee, ts, EVENT_INSIDE);
    e->ev.has |= EVENT_HAS(EVENT_F_FIX);
    e->ev.fix = (struct event_fix){
        .lat_e8 = 3910000000, .lon_e8 = 11720000000, .mode = 3, .source = source};
    return e;
}

static void gnss_quality(void **state)
{
    (void)state;
    struct plan *p = new_plan("G");
    add_session(p, "S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1");
    add_session(p, "S2", T(14, 0), T(15, 0), PLAN_OFFLINE, "F1");
    for (int i = 1; i <= 3; i++)
        add_trainee(p, i, false);
    struct engine_policy pol;
    engine_policy_default(&pol);
    struct evs *v = calloc(1, sizeof *v);
    assert_non_null(v);
    const char *early = gnss_ev(v, "K1", "frozen", T(8, 20))->ev.id;
    const char *fr1 = gnss_ev(v, "K1", "frozen", T(9, 10))->ev.id;
    const char *fr2 = gnss_ev(v, "K1", "frozen", T(10, 40))->ev.id;
    const char *before = sign_fix(v, "G", 1, T(9, 5), EVENT_SOURCE_GNSS)->ev.id;
    const char *after = sign_fix(v, "G", 2, T(9, 20), EVENT_SOURCE_GNSS)->ev.id;
    const char *surveyed = sign_fix(v, "G", 3, T(9, 25), EVENT_SOURCE_SURVEYED)->ev.id;
    const char *zero = gnss_ev(v, "K1", "zero_eph", T(14, 40))->ev.id;
    const char *skew = gnss_ev(v, "K1", "time_skew", T(14, 20))->ev.id;
    const char *s2_sign = sign_fix(v, "G", 1, T(14, 30), EVENT_SOURCE_GNSS)->ev.id;
    gnss_ev(v, "K1", "no_fix", T(9, 15));
    gnss_ev(v, "K1", "impossible_speed", T(12, 20));
    gnss_ev(v, "K2", "impossible_speed", T(9, 30));
    struct engine_device devs[] = {{"K1", "F1"}, {"K2", "F2"}};
    struct engine_input in = {.plan = p,
                              .policy = &pol,
                              .events = v->e,
                              .n_events = v->n,
                              .devices = devs,
                              .n_devices = 2};
    struct engine_report *r = run(&in);

    assert_int_equal(count_kind(r, ENGINE_F_GNSS_QUALITY), 3);
    assert_int_equal(count_kind(r, ENGINE_F_CLOCK), 0);
    size_t seen = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        const struct engine_finding *f = &r->findings[i];
        if (f->kind != ENGINE_F_GNSS_QUALITY)
            continue;
        assert_string_equal(f->subject, "K1");
        assert_int_equal(f->subject_kind, ENGINE_S_DEVICE);
        assert_false(has_evidence(f, early));
        if (strstr(f->detail, "frozen position")) {
            seen |= 1;
            assert_string_equal(f->session, "S1");
            assert_int_equal(f->severity, ENGINE_SERIOUS);
            assert_int_equal(f->at_ms, T(9, 10));
            assert_int_equal(f->n_evidence, 3);
            assert_true(has_evidence(f, fr1) && has_evidence(f, fr2) && has_evidence(f, after));
            assert_false(has_evidence(f, before) || has_evidence(f, surveyed));
            assert_non_null(strstr(f->detail, "2 times around session S1"));
            assert_non_null(strstr(f->detail, "; 1 sign event of this class"));
        } else if (strstr(f->detail, "zero accuracy")) {
            seen |= 2;
            assert_string_equal(f->session, "S2");
            assert_int_equal(f->severity, ENGINE_WARNING);
            assert_int_equal(f->n_evidence, 1);
            assert_true(has_evidence(f, zero));
            assert_non_null(strstr(f->detail, "; 0 sign events"));
        } else if (strstr(f->detail, "GNSS time skew")) {
            seen |= 4;
            assert_string_equal(f->session, "S2");
            assert_int_equal(f->severity, ENGINE_WARNING);
            assert_int_equal(f->n_evidence, 1);
            assert_true(has_evidence(f, skew));
            assert_false(has_evidence(f, s2_sign));
        } else {
            fail_msg("unexpected gnss_quality finding: %s", f->detail);
        }
    }
    assert_int_equal(seen, 7);
    assert_string_equal(engine_finding_name(ENGINE_F_GNSS_QUALITY), "gnss_quality");
    engine_report_free(r);
    free(v);
    free(p);
}

/* Deadlines: applied 8 days before the start (finding), exactly 15 (none); subsidy applied
 * 35 days after the assessment (finding), exactly 30 (none). */
static void deadlines(void **state)
{
    (void)state;
    struct plan *p = new_plan("L");
    add_session(p, "S1", T(9, 0), T(12, 0), PLAN_OFFLINE, "F1");
    add_trainee(p, 1, false);
    const int64_t day = 24 * 60 * MIN;
    p->applied_on_ms = DAY0 - 8 * day; /* 2026-10-25 */
    struct engine_policy pol;
    engine_policy_default(&pol);
    /* assessed 2026-12-01 = DAY0 + 29 days */
    struct plan_assessment as = assess("L", 1, true, DAY0 + 29 * day);
    struct engine_input in = {.plan = p,
                              .policy = &pol,
                              .assessments = &as,
                              .n_assessments = 1,
                              .subsidy_applied_ms = DAY0 + 64 * day}; /* 2027-01-05 */
    struct engine_report *r = run(&in);
    const struct engine_finding *f = find(r, ENGINE_F_LATE_APPLICATION, "L");
    assert_non_null(strstr(f->detail, "applied on 2026-10-25, 8 days before the start on "
                                      "2026-11-02"));
    f = find(r, ENGINE_F_LATE_SUBSIDY, "L");
    assert_non_null(strstr(f->detail, "on 2027-01-05, 35 days after the assessment on 2026-12-01"));
    engine_report_free(r);

    p->applied_on_ms = DAY0 - 15 * day;
    in.subsidy_applied_ms = DAY0 + 59 * day; /* 2026-12-31 */
    r = run(&in);
    assert_int_equal(count_kind(r, ENGINE_F_LATE_APPLICATION), 0);
    assert_int_equal(count_kind(r, ENGINE_F_LATE_SUBSIDY), 0);
    engine_report_free(r);

    /* The procedure's submit step, when there is one, is the application: submitted 14 days
     * before the start is late although the plan says 15; 15 days is in time although the
     * plan says 8. */
    in.application_ms = DAY0 - 14 * day; /* 2026-10-19 */
    r = run(&in);
    f = find(r, ENGINE_F_LATE_APPLICATION, "L");
    assert_non_null(f);
    assert_true(f && strstr(f->detail, "applied on 2026-10-19, 14 days before the start"));
    assert_int_equal(f ? f->at_ms : 0, DAY0 - 14 * day);
    engine_report_free(r);
    p->applied_on_ms = DAY0 - 8 * day;
    in.application_ms = DAY0 - 15 * day;
    r = run(&in);
    assert_int_equal(count_kind(r, ENGINE_F_LATE_APPLICATION), 0);
    engine_report_free(r);
    free(p);
}

/* Aggregation is hours-weighted: class X 1 trainee, 100 of 180 min; class Y 3 trainees,
 * 180 + 180 + 0 of 3 x 60... see below. */
static void aggregation(void **state)
{
    (void)state;
    struct engine_report x = {0}, y = {0}, z = {0};
    snprintf(x.class_id, sizeof x.class_id, "X");
    snprintf(x.institution, sizeof x.institution, "I1");
    snprintf(x.district, sizeof x.district, "120103");
    x.roster_scheduled_ms = 180 * MIN;
    x.roster_attended_ms = 90 * MIN; /* rate 0.5 */
    x.enrolled = 1;
    y = x;
    snprintf(y.class_id, sizeof y.class_id, "Y");
    y.roster_scheduled_ms = 1800 * MIN;
    y.roster_attended_ms = 1710 * MIN; /* rate 0.95 */
    y.enrolled = 10;
    y.assessed = 10;
    y.passed = 9;
    z = x;
    snprintf(z.class_id, sizeof z.class_id, "Z");
    snprintf(z.institution, sizeof z.institution, "I0");
    snprintf(z.district, sizeof z.district, "120116");
    const struct engine_report *rs[] = {&x, &y, &z};
    struct engine_total *t = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    assert_int_equal(engine_aggregate(rs, 3, ENGINE_BY_DISTRICT, &t, &n, err), RC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(t[0].key, "120103");
    /* (90 + 1710) / (180 + 1800) = 1800/1980 = 0.90909..., not (0.5 + 0.95) / 2 = 0.725 */
    near(engine_ratio(t[0].roster_attended_ms, t[0].roster_scheduled_ms, NULL), 1800.0 / 1980.0);
    assert_int_equal(t[0].classes, 2);
    assert_int_equal(t[0].enrolled, 11);
    near(engine_ratio((int64_t)t[0].passed, (int64_t)t[0].enrolled, NULL), 9.0 / 11.0);
    free(t);
    assert_int_equal(engine_aggregate(rs, 3, ENGINE_BY_INSTITUTION, &t, &n, err), RC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(t[0].key, "I0");
    assert_string_equal(t[1].key, "I1");
    free(t);
    const struct engine_report *dup[] = {&x, &x};
    assert_int_equal(engine_aggregate(dup, 2, ENGINE_BY_DISTRICT, &t, &n, err), RC_INVAL);
}

/* ---- property: order, duplicates and batching never change the report ------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    /* xorshift64*: reproducible without libc's rand */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static char *report_text(const struct engine_input *in)
{
    struct engine_report *r = run(in);
    char *json = NULL;
    char err[ERR_LEN];
    assert_int_equal(report_json(r, &json, err), RC_OK);
    engine_report_free(r);
    return json;
}

/* engine_recordings_derive derives the same recordings whatever order its events come in,
 * events read twice among them, as from input already by device and seq; and leaves the
 * events as they were. */
static void recordings_derive_any_order(void **state)
{
    (void)state;
    struct evs *v = calloc(1, sizeof *v);
    struct evs *sorted = calloc(1, sizeof *sorted);
    char err[ERR_LEN];
    assert_non_null(v);
    assert_non_null(sorted);
    const char *devs[] = {"K2", "K1", "K3"};
    for (int d = 0; d < 3; d++) {
        for (int k = 0; k < 20; k++) {
            enum event_type t = k % 4 == 0   ? EVENT_REC_START
                                : k % 4 == 1 ? EVENT_REC_STOP
                                : k % 4 == 2 ? EVENT_REC_FILE
                                             : EVENT_HEARTBEAT;
            struct engine_event *e = add_ev(v, t, devs[d], 1000000 + k * 60000);
            e->ev.seq = k + 1;
            snprintf(e->ev.camera, sizeof e->ev.camera, "cam-%d", k % 8 < 4 ? 1 : 2);
            if (t == EVENT_REC_FILE) {
                e->ev.start_ms = e->ev.ts_ms - 30000;
                e->ev.end_ms = e->ev.ts_ms;
            }
        }
    }
    /* Some events twice (overlapping windows read them twice), told apart by received_ms. */
    for (size_t i = 0; i < 60; i += 7) {
        v->e[v->n] = v->e[i];
        v->e[v->n++].received_ms += 1;
    }
    /* The reference: by device then seq, the second copy after the first. */
    for (int d = 0; d < 3; d++) {
        const char *want = d == 0 ? "K1" : d == 1 ? "K2" : "K3";
        for (int64_t seq = 1; seq <= 20; seq++)
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->e[i].ev.device, want) == 0 && v->e[i].ev.seq == seq)
                    sorted->e[sorted->n++] = v->e[i];
    }
    assert_int_equal(sorted->n, v->n);
    struct engine_recording *want_r = NULL, *got_r = NULL;
    size_t want_n = 0, got_n = 0;
    assert_int_equal(engine_recordings_derive(sorted->e, sorted->n, "C", &want_r, &want_n, err), 0);
    assert_true(want_n > 0);
    for (int round = 0; round < 50; round++) {
        struct evs *x = calloc(1, sizeof *x);
        assert_non_null(x);
        *x = *v;
        /* Shuffle, keeping each pair of copies in its order (the first stays first). */
        for (size_t i = x->n; i > 1; i--) {
            size_t j = (size_t)(rnd() % i);
            struct engine_event t = x->e[i - 1];
            x->e[i - 1] = x->e[j];
            x->e[j] = t;
        }
        for (size_t i = 0; i < x->n; i++)
            for (size_t j = i + 1; j < x->n; j++)
                if (strcmp(x->e[i].ev.id, x->e[j].ev.id) == 0 &&
                    x->e[i].received_ms > x->e[j].received_ms) {
                    struct engine_event t = x->e[i];
                    x->e[i] = x->e[j];
                    x->e[j] = t;
                }
        struct evs *before = malloc(sizeof *before);
        assert_non_null(before);
        memcpy(before, x, sizeof *x);
        assert_int_equal(engine_recordings_derive(x->e, x->n, "C", &got_r, &got_n, err), 0);
        assert_memory_equal(x, before, sizeof *x);
        free(before);
        assert_int_equal(got_n, want_n);
        assert_memory_equal(got_r, want_r, want_n * sizeof *want_r);
        free(got_r);
        free(x);
    }
    free(want_r);
    free(sorted);
    free(v);
}

static void property_order_duplicates_batches(void **state)
{
    (void)state;
    struct scenario *s = scenario_a();
    char *want = report_text(&s->in);
    size_t n = s->ev.n;
    struct engine_event *buf = malloc(4 * n * sizeof *buf);
    struct engine_recording rbuf[24];
    struct engine_review vbuf[8];
    assert_non_null(buf);
    for (int round = 0; round < 200; round++) {
        /* Split the events into batches of random sizes; deliver the batches in random
         * order; re-send some batches later (received later: duplicates keep their first
         * receipt). */
        size_t m = 0;
        size_t start = 0;
        while (start < n) {
            size_t len = 1 + (size_t)(rnd() % 5);
            if (start + len > n)
                len = n - start;
            int copies = 1 + (int)(rnd() % 3 == 0);
            for (int k = 0; k < copies; k++) {
                for (size_t i = 0; i < len; i++) {
                    buf[m] = s->ev.e[start + i];
                    buf[m].received_ms += k * 3600000;
                    m++;
                }
            }
            start += len;
        }
        for (size_t i = m; i > 1; i--) {
            size_t j = (size_t)(rnd() % i);
            struct engine_event tmp = buf[i - 1];
            buf[i - 1] = buf[j];
            buf[j] = tmp;
        }
        size_t nr = 0;
        for (size_t i = 0; i < 6; i++) {
            int copies = 1 + (int)(rnd() % 2);
            for (int k = 0; k < copies; k++)
                rbuf[nr++] = s->rec[i];
        }
        for (size_t i = nr; i > 1; i--) {
            size_t j = (size_t)(rnd() % i);
            struct engine_recording tmp = rbuf[i - 1];
            rbuf[i - 1] = rbuf[j];
            rbuf[j] = tmp;
        }
        size_t nv = 0;
        for (size_t i = 0; i < 2; i++) {
            int copies = 1 + (int)(rnd() % 2);
            for (int k = 0; k < copies; k++)
                vbuf[nv++] = s->rv[i];
        }
        if (rnd() % 2) {
            struct engine_review tmp = vbuf[0];
            vbuf[0] = vbuf[nv - 1];
            vbuf[nv - 1] = tmp;
        }
        struct plan_online on[10];
        struct plan_assessment as[8];
        for (size_t i = 0; i < 5; i++)
            on[i] = s->on[4 - i];
        on[5] = s->on[(size_t)(rnd() % 5)]; /* a duplicated online record changes nothing */
        for (size_t i = 0; i < 4; i++)
            as[i] = s->as[3 - i];
        struct engine_input in = s->in;
        in.events = buf;
        in.n_events = m;
        in.recordings = rbuf;
        in.n_recordings = nr;
        in.reviews = vbuf;
        in.n_reviews = nv;
        in.online = on;
        in.n_online = 6;
        in.assessments = as;
        in.n_assessments = 4;
        char *got = report_text(&in);
        if (strcmp(got, want) != 0)
            fail_msg("round %d: the report changed with the input order", round);
        free(got);
    }
    free(buf);
    free(want);
    free_scenario(s);
}

/* engine_ev_from keeps every field the engine reads, byte for byte, and the presence bits of
 * those only (ENGINE_EV_HAS: the store's columns give no others), and two copies of one event
 * compare equal whatever the destination held before. */
static void engine_ev_keeps_what_the_engine_reads(void **state)
{
    (void)state;
    struct event src;
    memset(&src, 0, sizeof src);
    src.has = 0x5a5a5a5au;
    src.type = EVENT_ROLLCALL_CONFIRM;
    src.verdict = EVENT_UNCERTAIN;
    src.seq = 123456789;
    src.ts_ms = 1790000000123;
    src.start_ms = 1790000001000;
    src.end_ms = 1790000002000;
    src.skew_ms = -4321;
    src.fix = (struct event_fix){.lat_e8 = 3912345678,
                                 .lon_e8 = 11712345678,
                                 .has_eph = true,
                                 .eph_cm = 250,
                                 .mode = 3,
                                 .has_sats = true,
                                 .sats = 11,
                                 .has_time = true,
                                 .time_ms = 1790000000100,
                                 .source = EVENT_SOURCE_SURVEYED};
    snprintf(src.id, sizeof src.id, "019a4000-0000-7000-8000-000000000042");
    snprintf(src.device, sizeof src.device, "KIOSK-%058d", 7);
    memset(src.trainee, 'e', EVENT_HEX_LEN); /* a pseudonym: 64 hex digits */
    snprintf(src.trainee_masked, sizeof src.trainee_masked, "1201**********123X");
    snprintf(src.class_id, sizeof src.class_id, "TJ-2026-AI-0001");
    snprintf(src.session, sizeof src.session, "S07");
    snprintf(src.rollcall, sizeof src.rollcall, "R2");
    snprintf(src.fence, sizeof src.fence, "venue-%058d", 9);
    snprintf(src.camera, sizeof src.camera, "cam-front");
    snprintf(src.kind, sizeof src.kind, "rec_file");
    struct engine_ev a, b;
    memset(&a, 0xa5, sizeof a);
    memset(&b, 0x3c, sizeof b);
    engine_ev_from(&a, &src);
    engine_ev_from(&b, &src);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(a.has, src.has & ENGINE_EV_HAS);
    assert_true(a.has & EVENT_HAS(EVENT_F_SESSION)); /* bit 11, set in src */
    assert_false(a.has & EVENT_HAS(EVENT_F_DETAIL)); /* bit 27, set in src: not the engine's */
    assert_int_equal(a.type, src.type);
    assert_int_equal(a.verdict, src.verdict);
    assert_int_equal(a.seq, src.seq);
    assert_int_equal(a.ts_ms, src.ts_ms);
    assert_int_equal(a.start_ms, src.start_ms);
    assert_int_equal(a.end_ms, src.end_ms);
    assert_int_equal(a.skew_ms, src.skew_ms);
    assert_memory_equal(&a.fix, &src.fix, sizeof a.fix);
    assert_string_equal(a.id, src.id);
    assert_string_equal(a.device, src.device);
    assert_string_equal(a.trainee, src.trainee);
    assert_string_equal(a.trainee_masked, src.trainee_masked);
    assert_string_equal(a.class_id, src.class_id);
    assert_string_equal(a.session, src.session);
    assert_string_equal(a.rollcall, src.rollcall);
    assert_string_equal(a.fence, src.fence);
    assert_string_equal(a.camera, src.camera);
    assert_string_equal(a.kind, src.kind);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(engine_ev_keeps_what_the_engine_reads),
        cmocka_unit_test(scenario_a_figures),
        cmocka_unit_test(scenario_a_findings),
        cmocka_unit_test(reviews),
        cmocka_unit_test(as_of),
        cmocka_unit_test(explicit_session_and_policy),
        cmocka_unit_test(rollcalls),
        cmocka_unit_test(attendance_thresholds),
        cmocka_unit_test(online_share_plan),
        cmocka_unit_test(late_recording),
        cmocka_unit_test(device_findings),
        cmocka_unit_test(kiosks_grouped),
        cmocka_unit_test(duplicates_keep_first_receipt),
        cmocka_unit_test(gnss_quality),
        cmocka_unit_test(deadlines),
        cmocka_unit_test(aggregation),
        cmocka_unit_test(recordings_derive_any_order),
        cmocka_unit_test(property_order_duplicates_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
