/* Random roll-calls at the kiosk (see rollcall.h). */
#include "rollcall.h"

#include "rc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_ENV "ROLLCALL_AGENT_TEST_ROLLCALL_OFFSETS_S"

static int state_key(const char *class_id, const char *session, char *out, size_t cap)
{
    int n = snprintf(out, cap, "rollcall/%s/%s", class_id, session);
    return n > 0 && (size_t)n < cap ? RC_OK : RC_LIMIT;
}

/* The stored form: "WINDOW_MS HANDLED OPENS1 OPENS2 ...". */
static int draw_format(const struct rollcall_draw *d, char *out, size_t cap)
{
    size_t used = 0;
    int n = snprintf(out, cap, "%" PRId64 " %d", d->window_ms, d->handled);
    for (int i = 0; n > 0 && (size_t)n < cap - used && i < d->n; i++) {
        used += (size_t)n;
        n = snprintf(out + used, cap - used, " %" PRId64, d->opens_ms[i]);
    }
    return n > 0 && (size_t)n < cap - used ? RC_OK : RC_LIMIT;
}

static int draw_parse(const char *s, struct rollcall_draw *d, char *err)
{
    memset(d, 0, sizeof *d);
    char *end = NULL;
    long long v[2 + SCHEDULE_ROLLCALLS_MAX];
    int k = 0;
    const char *p = s;
    while (*p && k < (int)(sizeof v / sizeof v[0])) {
        errno = 0;
        v[k] = strtoll(p, &end, 10);
        if (errno || end == p || v[k] < 0)
            break;
        k++;
        p = end;
        while (*p == ' ')
            p++;
    }
    if (*p || k < 2 || v[1] > k - 2)
        return rc_fail(err, RC_CORRUPT, "a stored roll-call draw is unreadable: '%.80s'", s);
    d->window_ms = v[0];
    d->handled = (int)v[1];
    d->n = k - 2;
    for (int i = 0; i < d->n; i++)
        d->opens_ms[i] = v[2 + i];
    return RC_OK;
}

/* The draw stored for class_id / session: RC_OK, RC_NOTFOUND or an error. */
static int draw_get(outbox *ob, const char *class_id, const char *session, struct rollcall_draw *d,
                    char *err)
{
    char key[2 * EVENT_NAME_MAX + 16], val[OUTBOX_STATE_VALUE_MAX + 1];
    if (state_key(class_id, session, key, sizeof key) != RC_OK)
        return rc_fail(err, RC_LIMIT, "roll-call key too long");
    int rc = outbox_state_get(ob, key, val, sizeof val, err);
    if (rc != RC_OK)
        return rc;
    return draw_parse(val, d, err);
}

static int draw_put(outbox *ob, const char *class_id, const char *session,
                    const struct rollcall_draw *d, char *err)
{
    char key[2 * EVENT_NAME_MAX + 16], val[OUTBOX_STATE_VALUE_MAX + 1];
    if (state_key(class_id, session, key, sizeof key) != RC_OK ||
        draw_format(d, val, sizeof val) != RC_OK)
        return rc_fail(err, RC_LIMIT, "roll-call state too long");
    return outbox_state_set(ob, key, val, err);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* The test-only draw: roll-call i opens offsets[i] seconds after now. 1 when set (and *d
 * filled), 0 when not, or RC_INVAL. */
static int test_draw(int want, int64_t now_ms, struct rollcall_draw *d, char *err)
{
    const char *env = getenv(TEST_ENV);
    if (!env || !*env)
        return 0;
    const char *p = env;
    while (*p && d->n < want) {
        char *end = NULL;
        errno = 0;
        long s = strtol(p, &end, 10);
        if (errno || end == p || s < 0 || s > 86400 || (*end && *end != ','))
            return rc_fail(err, RC_INVAL, "%s must be whole seconds separated by commas", TEST_ENV);
        d->opens_ms[d->n++] = now_ms + (int64_t)s * 1000;
        p = *end ? end + 1 : end;
    }
    return 1;
}

int rollcall_draw(crypto_rng *rng, const struct schedule_class *c, const struct schedule_session *s,
                  int64_t now_ms, struct rollcall_draw *out, char *err)
{
    memset(out, 0, sizeof *out);
    out->window_ms = c->rollcall_window_ms;
    int want = c->rollcalls < SCHEDULE_ROLLCALLS_MAX ? c->rollcalls : SCHEDULE_ROLLCALLS_MAX;
    int t = test_draw(want, now_ms, out, err);
    if (t < 0)
        return t;
    if (t == 0) {
        int64_t lo = s->start_ms > now_ms ? s->start_ms : now_ms;
        int64_t hi = s->end_ms - c->rollcall_window_ms;
        for (int i = 0; hi >= lo && i < want; i++) {
            uint64_t r;
            int rc = crypto_rng_bytes(rng, &r, sizeof r, err);
            if (rc != RC_OK)
                return rc;
            /* uniform over hi - lo + 1 ms; the modulo bias is below 2^-40 for any session */
            out->opens_ms[out->n++] = lo + (int64_t)(r % (uint64_t)(hi - lo + 1));
        }
    }
    qsort(out->opens_ms, (size_t)out->n, sizeof out->opens_ms[0], cmp_i64);
    return RC_OK;
}

/* Records roll-call i of d (class c, session s) as a rollcall event. */
static int record_one(outbox *ob, const struct kiosk_stamp *stamp, const struct schedule_class *c,
                      const struct schedule_session *s, const struct rollcall_draw *d, int i,
                      char *err)
{
    struct event ev;
    int rc = kiosk_stamp_event(stamp, &ev, EVENT_ROLLCALL, err);
    if (rc != RC_OK)
        return rc;
    ev.has |= EVENT_HAS(EVENT_F_CLASS) | EVENT_HAS(EVENT_F_SESSION) | EVENT_HAS(EVENT_F_ROLLCALL) |
              EVENT_HAS(EVENT_F_START) | EVENT_HAS(EVENT_F_END);
    snprintf(ev.class_id, sizeof ev.class_id, "%s", c->id);
    snprintf(ev.session, sizeof ev.session, "%s", s->id);
    snprintf(ev.rollcall, sizeof ev.rollcall, "R%d", i + 1);
    ev.start_ms = d->opens_ms[i];
    ev.end_ms = d->opens_ms[i] + d->window_ms;
    return outbox_append(ob, &ev, NULL, NULL, err);
}

static bool due(const struct schedule *sched, const struct schedule_session *s, int64_t now_ms)
{
    return now_ms >= s->start_ms - sched->early_window_ms && now_ms < s->end_ms;
}

int rollcall_tick(outbox *ob, const struct kiosk_stamp *stamp, const struct schedule *sched,
                  int64_t now_ms, int64_t *next_ms, char *err)
{
    *next_ms = now_ms + ROLLCALL_IDLE_MS;
    for (size_t ci = 0; ci < sched->n_classes; ci++) {
        const struct schedule_class *c = &sched->classes[ci];
        if (c->rollcalls <= 0)
            continue;
        for (size_t si = 0; si < c->n_sessions; si++) {
            const struct schedule_session *s = &c->sessions[si];
            if (!due(sched, s, now_ms)) {
                int64_t from = s->start_ms - sched->early_window_ms;
                if (from > now_ms && from < *next_ms)
                    *next_ms = from;
                continue;
            }
            struct rollcall_draw d;
            int rc = draw_get(ob, c->id, s->id, &d, err);
            if (rc == RC_NOTFOUND) {
                if ((rc = rollcall_draw(stamp->rng, c, s, now_ms, &d, err)) != RC_OK ||
                    (rc = draw_put(ob, c->id, s->id, &d, err)) != RC_OK)
                    return rc;
            } else if (rc != RC_OK) {
                return rc;
            }
            bool changed = false;
            while (d.handled < d.n && d.opens_ms[d.handled] <= now_ms) {
                if (now_ms < d.opens_ms[d.handled] + d.window_ms &&
                    (rc = record_one(ob, stamp, c, s, &d, d.handled, err)) != RC_OK)
                    break;
                d.handled++;
                changed = true;
            }
            if (changed) {
                char e2[ERR_LEN];
                int rc2 = draw_put(ob, c->id, s->id, &d, rc ? e2 : err);
                if (rc == RC_OK)
                    rc = rc2;
            }
            if (rc != RC_OK)
                return rc;
            if (d.handled < d.n && d.opens_ms[d.handled] < *next_ms)
                *next_ms = d.opens_ms[d.handled];
        }
    }
    return RC_OK;
}

int rollcall_list(outbox *ob, const struct schedule *sched, int64_t now_ms,
                  struct rollcall_open *out, size_t cap, size_t *n, char *err)
{
    *n = 0;
    for (size_t ci = 0; ci < sched->n_classes; ci++) {
        const struct schedule_class *c = &sched->classes[ci];
        if (c->rollcalls <= 0)
            continue;
        for (size_t si = 0; si < c->n_sessions; si++) {
            const struct schedule_session *s = &c->sessions[si];
            struct rollcall_draw d;
            int rc = draw_get(ob, c->id, s->id, &d, err);
            if (rc == RC_NOTFOUND)
                continue;
            if (rc != RC_OK)
                return rc;
            for (int i = 0; i < d.handled && *n < cap; i++) {
                if (now_ms < d.opens_ms[i] || now_ms >= d.opens_ms[i] + d.window_ms)
                    continue;
                struct rollcall_open *o = &out[(*n)++];
                snprintf(o->class_id, sizeof o->class_id, "%s", c->id);
                snprintf(o->session, sizeof o->session, "%s", s->id);
                snprintf(o->id, sizeof o->id, "R%d", i + 1);
                o->opens_ms = d.opens_ms[i];
                o->closes_ms = d.opens_ms[i] + d.window_ms;
            }
        }
    }
    return RC_OK;
}

int rollcall_lookup(outbox *ob, const char *class_id, const char *session, const char *id,
                    int64_t now_ms, struct rollcall_open *out, enum rollcall_status *st, char *err)
{
    *st = ROLLCALL_UNKNOWN;
    memset(out, 0, sizeof *out);
    char *end = NULL;
    if (id[0] != 'R' || id[1] < '1' || id[1] > '9')
        return RC_OK;
    long k = strtol(id + 1, &end, 10);
    if (*end || k < 1 || k > SCHEDULE_ROLLCALLS_MAX)
        return RC_OK;
    struct rollcall_draw d;
    int rc = draw_get(ob, class_id, session, &d, err);
    if (rc == RC_NOTFOUND)
        return RC_OK;
    if (rc != RC_OK)
        return rc;
    int i = (int)k - 1;
    if (i >= d.handled)
        return RC_OK;
    snprintf(out->class_id, sizeof out->class_id, "%s", class_id);
    snprintf(out->session, sizeof out->session, "%s", session);
    snprintf(out->id, sizeof out->id, "R%d", i + 1);
    out->opens_ms = d.opens_ms[i];
    out->closes_ms = d.opens_ms[i] + d.window_ms;
    if (now_ms >= out->closes_ms)
        *st = ROLLCALL_CLOSED;
    else if (now_ms >= out->opens_ms)
        *st = ROLLCALL_IS_OPEN;
    return RC_OK;
}
