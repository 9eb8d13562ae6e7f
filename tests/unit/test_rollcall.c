/* rollcall: the kiosk's random roll-calls. The draw stays inside [max(start, now), end - window]
 * and is sorted; none when the window no longer fits; the test-only offsets. With a real
 * outbox: nothing drawn before the session's early window, one draw kept (a second tick or a
 * "restart" draws nothing new), a rollcall event recorded once when each opens, a roll-call
 * whose window passed unrecorded is skipped, and the lookup says open, closed or unknown at
 * each edge of the window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kiosk.h"
#include "outbox.h"
#include "rc.h"
#include "rollcall.h"
#include "schedule.h"
#include "timeutil.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN INT64_C(60000)

/* C1: S01 09:00-12:00 UTC on 2026-12-07, two roll-calls with a 10-minute window; C2 asks for
 * none. */
static const char SCHED[] =
    "{\"device\":\"k1\",\"fence\":\"hexi\",\"policy\":{\"early_window_min\":30,"
    "\"leave_grace_min\":15},\"classes\":[{\"id\":\"C1\",\"rollcalls\":2,"
    "\"rollcall_window_min\":10,\"sessions\":["
    "{\"id\":\"S01\",\"start\":\"2026-12-07T09:00:00.000Z\",\"end\":\"2026-12-07T12:00:00.000Z\","
    "\"mode\":\"offline\"}],\"roster\":[]},"
    "{\"id\":\"C2\",\"sessions\":[{\"id\":\"S01\",\"start\":\"2026-12-07T09:00:00.000Z\","
    "\"end\":\"2026-12-07T12:00:00.000Z\",\"mode\":\"offline\"}],\"roster\":[]}]}";

struct fixture {
    char dir[64];
    char path[128];
    struct kiosk *k;
    struct kiosk_stamp stamp;
    struct schedule *s;
};

static int64_t at(const char *t)
{
    int64_t ms;
    assert_int_equal(ts_parse_rfc3339(t, &ms, NULL), RC_OK);
    return ms;
}

static int setup(void **state)
{
    char err[ERR_LEN];
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/rollcall-rc-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/outbox.db", f->dir);
    f->k = calloc(1, sizeof *f->k);
    if (!f->k || outbox_open(f->path, NULL, &f->k->ob, err) != RC_OK ||
        crypto_rng_create(&f->k->rng, err) != RC_OK ||
        schedule_parse(SCHED, strlen(SCHED), &f->s, err) != RC_OK)
        return -1;
    snprintf(f->k->cfg.device_id, sizeof f->k->cfg.device_id, "k1");
    kiosk_boot_id(f->k->boot_id);
    f->stamp = kiosk_stamp_of(f->k);
    unsetenv("ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    outbox_close(f->k->ob);
    crypto_rng_destroy(f->k->rng);
    free(f->k);
    schedule_free(f->s);
    DIR *d = opendir(f->dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void draw_bounds(void **state)
{
    struct fixture *f = *state;
    const struct schedule_class *c = &f->s->classes[0];
    const struct schedule_session *s = &c->sessions[0];
    assert_int_equal(c->rollcalls, 2);
    assert_int_equal(c->rollcall_window_ms, 10 * MIN);
    assert_int_equal(f->s->classes[1].rollcalls, 0);
    char err[ERR_LEN];
    struct rollcall_draw d;
    int64_t lo_seen = INT64_MAX, hi_seen = INT64_MIN;
    for (int i = 0; i < 500; i++) {
        assert_int_equal(rollcall_draw(f->k->rng, c, s, at("2026-12-07T08:40:00Z"), &d, err),
                         RC_OK);
        assert_int_equal(d.n, 2);
        assert_int_equal(d.handled, 0);
        assert_true(d.opens_ms[0] <= d.opens_ms[1]);
        for (int j = 0; j < 2; j++) {
            assert_true(d.opens_ms[j] >= s->start_ms);
            assert_true(d.opens_ms[j] <= s->end_ms - 10 * MIN);
            lo_seen = d.opens_ms[j] < lo_seen ? d.opens_ms[j] : lo_seen;
            hi_seen = d.opens_ms[j] > hi_seen ? d.opens_ms[j] : hi_seen;
        }
    }
    /* 1000 uniform draws over 170 minutes reach both ends' first and last tenth */
    assert_true(lo_seen < s->start_ms + 17 * MIN);
    assert_true(hi_seen > s->end_ms - 10 * MIN - 17 * MIN);
    /* drawn late: from now on */
    int64_t late = at("2026-12-07T11:00:00Z");
    assert_int_equal(rollcall_draw(f->k->rng, c, s, late, &d, err), RC_OK);
    assert_int_equal(d.n, 2);
    assert_true(d.opens_ms[0] >= late && d.opens_ms[1] <= s->end_ms - 10 * MIN);
    /* no room left for a 10-minute window */
    assert_int_equal(rollcall_draw(f->k->rng, c, s, at("2026-12-07T11:50:01Z"), &d, err), RC_OK);
    assert_int_equal(d.n, 0);
    /* the test-only setting */
    setenv("ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S", "2,5,9", 1);
    assert_int_equal(rollcall_draw(f->k->rng, c, s, late, &d, err), RC_OK);
    assert_int_equal(d.n, 2); /* never more than the class asks for */
    assert_true(d.opens_ms[0] == late + 2000 && d.opens_ms[1] == late + 5000);
    setenv("ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S", "2,x", 1);
    assert_int_equal(rollcall_draw(f->k->rng, c, s, late, &d, err), RC_INVAL);
    assert_non_null(strstr(err, "ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S"));
    unsetenv("ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S");
}

static int64_t head(struct fixture *f)
{
    int64_t h, a;
    char err[ERR_LEN];
    assert_int_equal(outbox_seqs(f->k->ob, &h, &a, err), RC_OK);
    return h;
}

static void stored(struct fixture *f, char *out, size_t cap)
{
    char err[ERR_LEN];
    assert_int_equal(outbox_state_get(f->k->ob, "rollcall/C1/S01", out, cap, err), RC_OK);
}

static void lookup(struct fixture *f, const char *id, int64_t now, enum rollcall_status want)
{
    char err[ERR_LEN];
    struct rollcall_open o;
    enum rollcall_status st;
    assert_int_equal(rollcall_lookup(f->k->ob, "C1", "S01", id, now, &o, &st, err), RC_OK);
    if (st != want)
        fail_msg("%s at %" PRId64 ": status %d, want %d", id, now, (int)st, (int)want);
}

static int first_event(void *ctx, int64_t seq, const char *line, size_t len)
{
    char err[ERR_LEN];
    (void)seq;
    return event_parse(line, len, ctx, err);
}

static void tick_record_lookup(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN], val[OUTBOX_STATE_VALUE_MAX + 1];
    int64_t next = 0;
    /* before the early window (08:30): nothing drawn */
    assert_int_equal(
        rollcall_tick(f->k->ob, &f->stamp, f->s, at("2026-12-07T08:00:00Z"), &next, err), RC_OK);
    assert_int_equal(next, at("2026-12-07T08:01:00Z")); /* idle: at most a minute */
    assert_int_equal(outbox_state_get(f->k->ob, "rollcall/C1/S01", val, sizeof val, err),
                     RC_NOTFOUND);
    assert_int_equal(outbox_state_get(f->k->ob, "rollcall/C2/S01", val, sizeof val, err),
                     RC_NOTFOUND);
    /* in it: drawn, stored, nothing recorded yet, told when the first opens */
    assert_int_equal(
        rollcall_tick(f->k->ob, &f->stamp, f->s, at("2026-12-07T08:40:00Z"), &next, err), RC_OK);
    stored(f, val, sizeof val);
    long long w, handled, t1, t2;
    assert_int_equal(sscanf(val, "%lld %lld %lld %lld", &w, &handled, &t1, &t2), 4);
    assert_int_equal(w, 10 * MIN);
    assert_int_equal(handled, 0);
    assert_true(t1 <= t2);
    assert_int_equal(next, t1 < at("2026-12-07T08:41:00Z") ? t1 : at("2026-12-07T08:41:00Z"));
    assert_int_equal(head(f), 0);
    lookup(f, "R1", t1, ROLLCALL_UNKNOWN); /* not announced before the tick that opens it */
    /* a second tick (or a restarted daemon) keeps the draw */
    assert_int_equal(
        rollcall_tick(f->k->ob, &f->stamp, f->s, at("2026-12-07T08:50:00Z"), &next, err), RC_OK);
    char again[OUTBOX_STATE_VALUE_MAX + 1];
    stored(f, again, sizeof again);
    assert_string_equal(again, val);

    /* R1 opens: recorded once */
    assert_int_equal(rollcall_tick(f->k->ob, &f->stamp, f->s, t1, &next, err), RC_OK);
    assert_int_equal(head(f), 1);
    assert_int_equal(rollcall_tick(f->k->ob, &f->stamp, f->s, t1, &next, err), RC_OK);
    assert_int_equal(head(f), 1);
    lookup(f, "R1", t1 - 1, ROLLCALL_UNKNOWN);
    lookup(f, "R1", t1, ROLLCALL_IS_OPEN);
    lookup(f, "R1", t1 + 10 * MIN - 1, ROLLCALL_IS_OPEN);
    lookup(f, "R1", t1 + 10 * MIN, ROLLCALL_CLOSED);
    lookup(f, "R2", t1, t2 == t1 ? ROLLCALL_IS_OPEN : ROLLCALL_UNKNOWN);
    lookup(f, "R3", t1, ROLLCALL_UNKNOWN);
    lookup(f, "R0", t1, ROLLCALL_UNKNOWN);
    lookup(f, "X1", t1, ROLLCALL_UNKNOWN);
    struct rollcall_open list[ROLLCALL_LIST_MAX];
    size_t n = 0;
    assert_int_equal(rollcall_list(f->k->ob, f->s, t1, list, ROLLCALL_LIST_MAX, &n, err), RC_OK);
    assert_true(n >= 1);
    assert_string_equal(list[0].class_id, "C1");
    assert_string_equal(list[0].session, "S01");
    assert_string_equal(list[0].id, "R1");
    assert_int_equal(list[0].opens_ms, t1);
    assert_int_equal(list[0].closes_ms, t1 + 10 * MIN);

    /* the event as recorded */
    struct event ev;
    size_t visited = 0;
    assert_int_equal(
        outbox_pending(f->k->ob, 0, 1, EVENT_LINE_MAX, first_event, &ev, &visited, err), RC_OK);
    assert_int_equal(visited, 1);
    assert_int_equal(ev.type, EVENT_ROLLCALL);
    assert_string_equal(ev.class_id, "C1");
    assert_string_equal(ev.session, "S01");
    assert_string_equal(ev.rollcall, "R1");
    assert_int_equal(ev.start_ms, t1);
    assert_int_equal(ev.end_ms, t1 + 10 * MIN);
    assert_string_equal(ev.device, "k1");

    /* no daemon while R2's whole window passed: skipped, never recorded late */
    if (t2 > t1) {
        assert_int_equal(rollcall_tick(f->k->ob, &f->stamp, f->s, t2 + 10 * MIN, &next, err),
                         RC_OK);
        assert_int_equal(head(f), 1);
        lookup(f, "R2", t2 + 10 * MIN, ROLLCALL_CLOSED);
        assert_int_equal(
            rollcall_list(f->k->ob, f->s, t2 + 10 * MIN, list, ROLLCALL_LIST_MAX, &n, err), RC_OK);
        assert_int_equal(n, 0);
    }
    stored(f, val, sizeof val);
    assert_int_equal(sscanf(val, "%lld %lld", &w, &handled), 2);
    assert_int_equal(handled, 2);
}

/* A corrupt stored draw is an error naming it, not a crash or a silent redraw. */
static void corrupt_state(void **state)
{
    struct fixture *f = *state;
    char err[ERR_LEN];
    int64_t next;
    assert_int_equal(outbox_state_set(f->k->ob, "rollcall/C1/S01", "600000 5 1 2", err), RC_OK);
    assert_int_equal(
        rollcall_tick(f->k->ob, &f->stamp, f->s, at("2026-12-07T09:00:00Z"), &next, err),
        RC_CORRUPT);
    assert_non_null(strstr(err, "roll-call draw"));
    assert_int_equal(outbox_state_set(f->k->ob, "rollcall/C1/S01", "600000 0 abc", err), RC_OK);
    assert_int_equal(
        rollcall_tick(f->k->ob, &f->stamp, f->s, at("2026-12-07T09:00:00Z"), &next, err),
        RC_CORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(draw_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(tick_record_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
