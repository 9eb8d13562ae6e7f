/* schedule: parsing the collector's answer (bounds, only offline sessions kept, the policy
 * windows) and schedule_check's time windows and roster, exactly at each edge; the stored
 * schedule in the outbox (put, touch, get, none yet). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "outbox.h"
#include "rc.h"
#include "schedule.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define MIN INT64_C(60000)

/* C1: S01 09:00-12:00 UTC on 2026-12-07 (offline), S02 online the same afternoon; roster A. */
static const char SCHED[] =
    "{\"device\":\"k1\",\"fence\":\"hexi\",\"from\":\"2026-12-05T16:00:00.000Z\","
    "\"to\":\"2026-12-14T16:00:00.000Z\",\"policy\":{\"early_window_min\":30,"
    "\"leave_grace_min\":15},\"classes\":[{\"id\":\"C1\",\"sessions\":["
    "{\"id\":\"S01\",\"start\":\"2026-12-07T09:00:00.000Z\",\"end\":\"2026-12-07T12:00:00.000Z\","
    "\"mode\":\"offline\"},"
    "{\"id\":\"S02\",\"start\":\"2026-12-07T13:00:00.000Z\",\"end\":\"2026-12-07T15:00:00.000Z\","
    "\"mode\":\"online\"},"
    "{\"id\":\"S03\",\"start\":\"2026-12-08T09:00:00.000Z\",\"end\":\"2026-12-08T12:00:00.000Z\","
    "\"mode\":\"offline\"}],"
    "\"roster\":[{\"trainee\":\"" A "\",\"masked\":\"1201**********123X\",\"name\":\"张*伟\"}]}]}";

static int64_t at(const char *t)
{
    int64_t ms;
    assert_int_equal(ts_parse_rfc3339(t, &ms, NULL), RC_OK);
    return ms;
}

static struct schedule *parse_ok(const char *text)
{
    struct schedule *s = NULL;
    char err[ERR_LEN] = "";
    int rc = schedule_parse(text, strlen(text), &s, err);
    if (rc != RC_OK)
        fail_msg("refused: %s", err);
    return s;
}

static void parses_and_keeps_offline_sessions(void **state)
{
    (void)state;
    struct schedule *s = parse_ok(SCHED);
    assert_string_equal(s->fence, "hexi");
    assert_int_equal(s->early_window_ms, 30 * MIN);
    assert_int_equal(s->leave_grace_ms, 15 * MIN);
    assert_int_equal(s->n_classes, 1);
    assert_int_equal(s->classes[0].n_sessions, 2); /* S02 is online */
    assert_string_equal(s->classes[0].sessions[1].id, "S03");
    assert_int_equal(s->classes[0].n_roster, 1);
    assert_string_equal(s->classes[0].roster[0].name, "张*伟");
    schedule_free(s);
}

static void windows_at_their_edges(void **state)
{
    (void)state;
    struct schedule *s = parse_ok(SCHED);
    struct schedule_match m;
    int64_t start = at("2026-12-07T09:00:00.000Z"), end = at("2026-12-07T12:00:00.000Z");
    /* a sign-in counts from 30 min before the start until the end */
    assert_int_equal(schedule_check(s, "C1", NULL, A, EVENT_SIGNIN, start - 30 * MIN - 1, &m),
                     SCHEDULE_NO_SESSION);
    assert_int_equal(schedule_check(s, "C1", NULL, A, EVENT_SIGNIN, start - 30 * MIN, &m),
                     SCHEDULE_OK);
    assert_string_equal(m.session->id, "S01");
    assert_string_equal(m.trainee->name, "张*伟");
    assert_int_equal(schedule_check(s, "C1", NULL, A, EVENT_SIGNIN, end - 1, &m), SCHEDULE_OK);
    assert_int_equal(schedule_check(s, "C1", NULL, A, EVENT_SIGNIN, end, &m), SCHEDULE_NO_SESSION);
    /* a sign-out until the end + 15 min grace */
    assert_int_equal(schedule_check(s, "C1", NULL, A, EVENT_SIGNOUT, end + 15 * MIN, &m),
                     SCHEDULE_OK);
    assert_int_equal(schedule_check(s, "C1", NULL, A, EVENT_SIGNOUT, end + 15 * MIN + 1, &m),
                     SCHEDULE_NO_SESSION);
    assert_int_equal(schedule_check(s, "C1", NULL, A, EVENT_SIGNOUT, start - 30 * MIN - 1, &m),
                     SCHEDULE_NO_SESSION);
    /* the online session is not held at the kiosk */
    assert_int_equal(
        schedule_check(s, "C1", NULL, A, EVENT_SIGNIN, at("2026-12-07T13:30:00.000Z"), &m),
        SCHEDULE_NO_SESSION);
    /* the next day's session */
    assert_int_equal(
        schedule_check(s, "C1", NULL, A, EVENT_SIGNIN, at("2026-12-08T10:00:00.000Z"), &m),
        SCHEDULE_OK);
    assert_string_equal(m.session->id, "S03");
    schedule_free(s);
}

static void roster_class_and_session(void **state)
{
    (void)state;
    struct schedule *s = parse_ok(SCHED);
    struct schedule_match m;
    int64_t now = at("2026-12-07T10:00:00.000Z");
    assert_int_equal(schedule_check(s, "C1", NULL, B, EVENT_SIGNIN, now, &m),
                     SCHEDULE_NOT_ON_ROSTER);
    assert_non_null(m.session);
    assert_null(m.trainee);
    assert_int_equal(schedule_check(s, "C2", NULL, A, EVENT_SIGNIN, now, &m), SCHEDULE_NO_SESSION);
    assert_null(m.cls);
    /* a named session must be the one running */
    assert_int_equal(schedule_check(s, "C1", "S01", A, EVENT_SIGNIN, now, &m), SCHEDULE_OK);
    assert_int_equal(schedule_check(s, "C1", "S03", A, EVENT_SIGNIN, now, &m), SCHEDULE_NO_SESSION);
    assert_int_equal(schedule_check(s, "C1", "", A, EVENT_SIGNIN, now, &m), SCHEDULE_OK);
    assert_string_equal(schedule_verdict_name(SCHEDULE_NOT_ON_ROSTER), "not_on_roster");
    schedule_free(s);
}

static void policy_defaults_and_bad_input(void **state)
{
    (void)state;
    struct schedule *s = parse_ok("{\"fence\":\"f\",\"classes\":[]}");
    assert_int_equal(s->early_window_ms, SCHEDULE_EARLY_WINDOW_MS_DEFAULT);
    assert_int_equal(s->leave_grace_ms, SCHEDULE_LEAVE_GRACE_MS_DEFAULT);
    /* no class at this venue: nothing to check against, everything passes */
    struct schedule_match m;
    assert_int_equal(schedule_check(s, "C1", NULL, A, EVENT_SIGNIN, 0, &m), SCHEDULE_OK);
    assert_null(m.cls);
    assert_null(m.trainee);
    schedule_free(s);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"classes\":[]}",
        "{\"fence\":\"f\"}",
        "{\"fence\":\"f\",\"policy\":{\"early_window_min\":-1},\"classes\":[]}",
        "{\"fence\":\"f\",\"policy\":{\"early_window_min\":1.5},\"classes\":[]}",
        "{\"fence\":\"f\",\"classes\":[{\"id\":\"C\",\"sessions\":[],\"roster\":{}}]}",
        "{\"fence\":\"f\",\"classes\":[{\"id\":\"C\",\"sessions\":[{\"id\":\"S\",\"start\":"
        "\"2026-12-07T12:00:00.000Z\",\"end\":\"2026-12-07T09:00:00.000Z\"}],\"roster\":[]}]}",
        "{\"fence\":\"f\",\"classes\":[{\"id\":\"C\",\"sessions\":[],\"roster\":[{\"trainee\":"
        "\"" A "\",\"masked\":\"1201**********123X\"}]}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[ERR_LEN] = "";
        struct schedule *x = (struct schedule *)1;
        int rc = schedule_parse(bad[i], strlen(bad[i]), &x, err);
        if (rc != RC_INVAL)
            fail_msg("bad schedule %zu: %s", i, rc_str(rc));
        assert_null(x);
        assert_non_null(strstr(err, "schedule"));
    }
}

static void stored_in_the_outbox(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_schedule.XXXXXX", path[64], err[ERR_LEN];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/outbox.db", dir);
    outbox *ob = NULL;
    struct outbox_options opt = {0};
    assert_int_equal(outbox_open(path, &opt, &ob, err), RC_OK);
    struct schedule *s = NULL;
    struct outbox_schedule_meta m;
    assert_int_equal(schedule_load(ob, &s, &m, err), RC_NOTFOUND);
    assert_int_equal(outbox_schedule_touch(ob, 5, err), RC_NOTFOUND);
    assert_int_equal(outbox_schedule_put(ob, "v1", SCHED, strlen(SCHED), 1000, err), RC_OK);
    assert_int_equal(outbox_schedule_touch(ob, 2000, err), RC_OK);
    outbox_close(ob);
    ob = NULL;
    assert_int_equal(outbox_open(path, &opt, &ob, err), RC_OK); /* survives a reopen */
    assert_int_equal(schedule_load(ob, &s, &m, err), RC_OK);
    assert_string_equal(m.version, "v1");
    assert_int_equal(m.fetched_ms, 1000);
    assert_int_equal(m.checked_ms, 2000);
    assert_int_equal(m.bytes, strlen(SCHED));
    assert_int_equal(s->n_classes, 1);
    schedule_free(s);
    outbox_close(ob);
    unlink(path);
    char p2[80];
    snprintf(p2, sizeof p2, "%s-reserve", path);
    unlink(p2);
    snprintf(p2, sizeof p2, "%s-wal", path);
    unlink(p2);
    snprintf(p2, sizeof p2, "%s-shm", path);
    unlink(p2);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_keeps_offline_sessions),
        cmocka_unit_test(windows_at_their_edges),
        cmocka_unit_test(roster_class_and_session),
        cmocka_unit_test(policy_defaults_and_bad_input),
        cmocka_unit_test(stored_in_the_outbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
