/* The one mapping between the engine's types (struct plan, plan_online, plan_assessment,
 * enum catalogue_level, enum plan_mode) and the flat rows of store.h that the back-ends store
 * and read. The back-ends include no engine header (scripts/check-store-layers.sh checks
 * it): a back-end added later cannot map a plan differently from the others. */
#include "store/store.h"

#include "dynbuf.h"
#include "engine/catalogue.h"
#include "engine/plan.h"
#include "event.h"
#include "rc.h"
#include "store/store_backend.h"
#include "trainee.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)STORE_ID_MAX == (int)PLAN_ID_MAX, "ids");
_Static_assert((int)STORE_DISTRICT_LEN == (int)PLAN_DISTRICT_LEN, "districts");
_Static_assert((int)STORE_CODE_MAX == (int)CATALOGUE_CODE_MAX, "occupation codes");
_Static_assert((int)STORE_PSEUDONYM_LEN == (int)TRAINEE_PSEUDONYM_LEN, "pseudonyms");
_Static_assert((int)STORE_MASKED_LEN == (int)TRAINEE_ID_LEN, "masked numbers");
_Static_assert((int)STORE_NAME_MAX == (int)PLAN_NAME_MAX, "names");
_Static_assert((int)STORE_TEXT_MAX == (int)PLAN_TEXT_MAX, "platforms, certificates");
_Static_assert((int)STORE_SESSIONS_MAX == (int)PLAN_SESSIONS_MAX, "sessions");
_Static_assert((int)STORE_ROSTER_MAX == (int)PLAN_ROSTER_MAX, "rosters");

#define NEED(op, what)                                                                             \
    do {                                                                                           \
        if (!st->ops->op)                                                                          \
            return rc_fail(err, RC_STATE, "the %s back-end does not implement %s yet",             \
                           st->ops->name, what);                                                   \
    } while (0)

/* Copies a NUL-terminated field between arrays of the same size (asserted above). */
#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

/* ---- classes ---- */

static void plan_to_rows(const struct plan *p, struct store_plan_rows *r)
{
    const char *level = catalogue_level_name(p->level);
    COPY(r->id, p->id);
    COPY(r->institution, p->institution);
    COPY(r->district, p->district);
    COPY(r->occupation, p->occupation);
    COPY(r->level, level ? level : "");
    r->applied_on_ms = p->applied_on_ms;
    r->rollcalls = p->rollcalls;
    r->rollcall_window_min =
        p->rollcall_window_min > 0 ? p->rollcall_window_min : PLAN_ROLLCALL_WINDOW_DEFAULT_MIN;
    r->n_sessions = p->n_sessions;
    for (size_t i = 0; i < p->n_sessions; i++) {
        const struct plan_session *s = &p->sessions[i];
        struct store_session_row *o = &r->sessions[i];
        COPY(o->id, s->id);
        o->start_ms = s->start_ms;
        o->end_ms = s->end_ms;
        COPY(o->mode, plan_mode_name(s->mode));
        COPY(o->fence, s->fence);
    }
    r->n_roster = p->n_roster;
    for (size_t i = 0; i < p->n_roster; i++) {
        const struct plan_trainee *t = &p->roster[i];
        struct store_roster_row *o = &r->roster[i];
        COPY(o->trainee, t->pseudonym);
        COPY(o->city, t->city);
        COPY(o->masked, t->masked);
        COPY(o->name, t->name);
        o->student = t->student;
    }
}

static int level_of(const char *name, const char *class_id, int *level, char *err)
{
    enum catalogue_level lv;
    if (catalogue_level_parse(name, &lv) != RC_OK)
        return rc_fail(err, RC_CORRUPT, "class '%s' has an unknown level", class_id);
    *level = (int)lv;
    return RC_OK;
}

static int class_from_row(const struct store_class_row *r, struct store_class *c, char *err)
{
    memset(c, 0, sizeof *c);
    COPY(c->id, r->id);
    COPY(c->institution, r->institution);
    COPY(c->district, r->district);
    COPY(c->occupation, r->occupation);
    c->applied_on_ms = r->applied_on_ms;
    c->start_ms = r->start_ms;
    c->end_ms = r->end_ms;
    c->n_sessions = r->n_sessions;
    c->n_roster = r->n_roster;
    c->gen = r->gen;
    c->updated_at_ms = r->updated_at_ms;
    return level_of(r->level, r->id, &c->level, err);
}

static int rows_to_plan(const struct store_plan_rows *r, struct plan *p, char *err)
{
    int level = 0;
    memset(p, 0, sizeof *p);
    int rc = level_of(r->level, r->id, &level, err);
    if (rc != RC_OK)
        return rc;
    COPY(p->id, r->id);
    COPY(p->institution, r->institution);
    COPY(p->district, r->district);
    COPY(p->occupation, r->occupation);
    p->level = (enum catalogue_level)level;
    p->applied_on_ms = r->applied_on_ms;
    p->rollcalls = r->rollcalls;
    p->rollcall_window_min = r->rollcall_window_min;
    p->n_sessions = r->n_sessions;
    for (size_t i = 0; i < r->n_sessions; i++) {
        const struct store_session_row *s = &r->sessions[i];
        struct plan_session *o = &p->sessions[i];
        COPY(o->id, s->id);
        o->start_ms = s->start_ms;
        o->end_ms = s->end_ms;
        o->mode = strcmp(s->mode, "online") == 0 ? PLAN_ONLINE : PLAN_OFFLINE;
        COPY(o->fence, s->fence);
    }
    p->n_roster = r->n_roster;
    for (size_t i = 0; i < r->n_roster; i++) {
        const struct store_roster_row *t = &r->roster[i];
        struct plan_trainee *o = &p->roster[i];
        COPY(o->pseudonym, t->trainee);
        COPY(o->city, t->city);
        COPY(o->masked, t->masked);
        COPY(o->name, t->name);
        o->student = t->student;
    }
    return RC_OK;
}

int store_class_put(store *st, const struct plan *p, const char *plan_json, const char *by,
                    int64_t now_ms, bool *created, char *err)
{
    NEED(class_put, "classes");
    bool dummy;
    if (!st->in_tx)
        return rc_fail(err, RC_STATE, "store_class_put outside a transaction");
    if (p->n_sessions > STORE_SESSIONS_MAX || p->n_roster > STORE_ROSTER_MAX)
        return rc_fail(err, RC_INVAL, "class '%s' has too many sessions or trainees", p->id);
    struct store_plan_rows *rows = calloc(1, sizeof *rows);
    if (!rows)
        return rc_fail(err, RC_NOMEM, "out of memory storing class '%s'", p->id);
    plan_to_rows(p, rows);
    int rc = st->ops->class_put(st, rows, plan_json, by, now_ms, created ? created : &dummy, err);
    free(rows);
    return rc;
}

int store_class_get(store *st, const char *id, struct store_class *out, char *err)
{
    NEED(class_get, "classes");
    struct store_class_row r;
    int rc = st->ops->class_get(st, id, &r, err);
    if (rc != RC_OK)
        return rc;
    return class_from_row(&r, out, err);
}

int store_class_plan(store *st, const char *id, struct plan *out, char *err)
{
    NEED(class_plan, "classes");
    struct store_plan_rows *rows = calloc(1, sizeof *rows);
    if (!rows)
        return rc_fail(err, RC_NOMEM, "out of memory reading class '%s'", id);
    int rc = st->ops->class_plan(st, id, rows, err);
    if (rc == RC_OK)
        rc = rows_to_plan(rows, out, err);
    free(rows);
    return rc;
}

/* A caller's callback and its context, for the trampolines that map each row. */
struct each {
    int (*class_fn)(const struct store_class *, void *);
    int (*online_fn)(const struct plan_online *, void *);
    int (*assessment_fn)(const struct plan_assessment *, void *);
    int (*past_fn)(const struct store_subsidy_past *, void *);
    void *ctx;
    char *err;
};

static int each_class(const struct store_class_row *r, void *arg)
{
    struct each *e = arg;
    struct store_class c;
    int rc = class_from_row(r, &c, e->err);
    if (rc != RC_OK)
        return rc;
    return e->class_fn(&c, e->ctx);
}

int store_class_list(store *st, const struct store_class_filter *f, size_t limit,
                     int (*fn)(const struct store_class *c, void *ctx), void *ctx, char *err)
{
    NEED(class_list, "classes");
    struct each e = {.class_fn = fn, .ctx = ctx, .err = err};
    return st->ops->class_list(st, f, limit, each_class, &e, err);
}

/* ---- online records, assessments ---- */

int store_online_insert(store *st, const struct plan_online *r, const char *by, int64_t now_ms,
                        bool *duplicate, char *err)
{
    NEED(online_insert, "online records");
    bool dummy;
    struct store_online_row o;
    memset(&o, 0, sizeof o);
    COPY(o.class_id, r->class_id);
    COPY(o.trainee, r->trainee);
    COPY(o.masked, r->masked);
    o.start_ms = r->start_ms;
    o.end_ms = r->end_ms;
    COPY(o.platform, r->platform);
    bool *dup = duplicate ? duplicate : &dummy;
    bool own;
    int rc = store_write_begin(st, &own, err);
    if (rc != RC_OK)
        return rc;
    if ((rc = st->ops->online_insert(st, &o, by, now_ms, dup, err)) == RC_OK && !*dup)
        rc = store_class_changed(st, o.class_id, err);
    return store_write_end(st, own, rc, err);
}

static int each_online(const struct store_online_row *r, void *arg)
{
    struct each *e = arg;
    struct plan_online o;
    memset(&o, 0, sizeof o);
    COPY(o.class_id, r->class_id);
    COPY(o.trainee, r->trainee);
    COPY(o.masked, r->masked);
    o.start_ms = r->start_ms;
    o.end_ms = r->end_ms;
    COPY(o.platform, r->platform);
    return e->online_fn(&o, e->ctx);
}

int store_online_list(store *st, const char *class_id,
                      int (*fn)(const struct plan_online *r, void *ctx), void *ctx, char *err)
{
    NEED(online_list, "online records");
    struct each e = {.online_fn = fn, .ctx = ctx, .err = err};
    return st->ops->online_list(st, class_id, each_online, &e, err);
}

int store_assessment_put(store *st, const struct plan_assessment *a, const char *by, int64_t now_ms,
                         char *err)
{
    NEED(assessment_put, "assessments");
    struct store_assessment_row r;
    memset(&r, 0, sizeof r);
    COPY(r.class_id, a->class_id);
    COPY(r.trainee, a->trainee);
    COPY(r.masked, a->masked);
    r.passed = a->passed;
    r.assessed_on_ms = a->assessed_on_ms;
    COPY(r.certificate, a->certificate);
    bool own, changed = false;
    int rc = store_write_begin(st, &own, err);
    if (rc != RC_OK)
        return rc;
    if ((rc = st->ops->assessment_put(st, &r, by, now_ms, &changed, err)) == RC_OK && changed)
        rc = store_class_changed(st, r.class_id, err);
    return store_write_end(st, own, rc, err);
}

static int each_assessment(const struct store_assessment_row *r, void *arg)
{
    struct each *e = arg;
    struct plan_assessment a;
    memset(&a, 0, sizeof a);
    COPY(a.class_id, r->class_id);
    COPY(a.trainee, r->trainee);
    COPY(a.masked, r->masked);
    a.passed = r->passed;
    a.assessed_on_ms = r->assessed_on_ms;
    COPY(a.certificate, r->certificate);
    return e->assessment_fn(&a, e->ctx);
}

int store_assessment_list(store *st, const char *class_id,
                          int (*fn)(const struct plan_assessment *a, void *ctx), void *ctx,
                          char *err)
{
    NEED(assessment_list, "assessments");
    struct each e = {.assessment_fn = fn, .ctx = ctx, .err = err};
    return st->ops->assessment_list(st, class_id, each_assessment, &e, err);
}

/* ---- the subsidy history ---- */

static int each_past(const struct store_subsidy_past_row *r, void *arg)
{
    struct each *e = arg;
    struct store_subsidy_past p;
    memset(&p, 0, sizeof p);
    COPY(p.class_id, r->class_id);
    COPY(p.occupation, r->occupation);
    p.assessed_on_ms = r->assessed_on_ms;
    int rc = level_of(r->level, r->class_id, &p.level, e->err);
    if (rc != RC_OK)
        return rc;
    return e->past_fn(&p, e->ctx);
}

int store_subsidy_history(store *st, const char *institution, const char *trainee,
                          const char *except_class,
                          int (*fn)(const struct store_subsidy_past *p, void *ctx), void *ctx,
                          char *err)
{
    NEED(subsidy_history, "assessments");
    struct each e = {.past_fn = fn, .ctx = ctx, .err = err};
    return st->ops->subsidy_history(st, institution, trainee, except_class, each_past, &e, err);
}

/* ---- events ---- */

void store_event_from(const struct event *ev, const char *raw, size_t raw_len, const char *hash,
                      struct store_event *r)
{
    memset(r, 0, sizeof *r);
    r->device = ev->device;
    r->seq = ev->seq;
    r->event_id = ev->id;
    r->raw = raw;
    r->raw_len = raw_len;
    r->hash = hash;
    r->prev = ev->prev;
    r->type = event_type_name(ev->type);
    r->ts_ms = ev->ts_ms;
    r->boot = ev->boot;
    r->mono_ms = ev->mono_ms;
#define HAS(field) ((ev->has & EVENT_HAS(field)) != 0)
#define OPT(field, member) (HAS(field) ? ev->member : "")
    r->trainee = OPT(EVENT_F_TRAINEE, trainee);
    r->trainee_masked = OPT(EVENT_F_TRAINEE_MASKED, trainee_masked);
    r->class_id = OPT(EVENT_F_CLASS, class_id);
    r->session = OPT(EVENT_F_SESSION, session);
    r->rollcall = OPT(EVENT_F_ROLLCALL, rollcall);
    r->fence = OPT(EVENT_F_FENCE, fence);
    r->camera = OPT(EVENT_F_CAMERA, camera);
    r->file = OPT(EVENT_F_FILE, file);
    r->kind = OPT(EVENT_F_KIND, kind);
    r->verdict = HAS(EVENT_F_VERDICT) ? event_verdict_name(ev->verdict) : "";
    r->has_distance = HAS(EVENT_F_DISTANCE_M);
    r->distance_m = (double)ev->distance_mm / 1000.0;
    r->has_fix = HAS(EVENT_F_FIX);
    if (r->has_fix) {
        /* exact both ways: |lat_e8| < 2^35, so llround(fix_lat * 1e8) gives lat_e8 back */
        r->fix_lat = (double)ev->fix.lat_e8 / 1e8;
        r->fix_lon = (double)ev->fix.lon_e8 / 1e8;
        r->has_eph = ev->fix.has_eph;
        r->fix_eph = (double)ev->fix.eph_cm / 100.0;
        r->fix_mode = ev->fix.mode;
        r->has_sats = ev->fix.has_sats;
        r->fix_sats = ev->fix.sats;
        r->has_fix_time = ev->fix.has_time;
        r->fix_time_ms = ev->fix.time_ms;
        r->fix_source = event_source_name(ev->fix.source);
    }
    r->server_verdict = "";
    r->has_start = HAS(EVENT_F_START);
    r->start_ms = ev->start_ms;
    r->has_end = HAS(EVENT_F_END);
    r->end_ms = ev->end_ms;
    r->has_skew = HAS(EVENT_F_SKEW_MS);
    r->skew_ms = ev->skew_ms;
    r->cols = true;
#undef OPT
#undef HAS
}

/* The lines of one chunk of store_events_backfill: row ids and where each line lies in buf. */
struct backfill_chunk {
    int64_t *id;
    size_t *off, *len;
    size_t n, cap;
    struct dynbuf buf;
};

static int backfill_collect(const struct store_event_line *e, void *ctx)
{
    struct backfill_chunk *c = ctx;
    if (c->n == c->cap)
        return RC_LIMIT; /* the op gives at most the limit asked for */
    c->id[c->n] = e->id;
    c->off[c->n] = dynbuf_len(&c->buf);
    c->len[c->n] = e->raw_len;
    if (dynbuf_add(&c->buf, e->raw, e->raw_len) != RC_OK)
        return RC_NOMEM;
    c->n++;
    return 0;
}

enum { BACKFILL_ROWS = 16 }; /* rows of one store_event_columns_fill */

int store_events_backfill(store *st, size_t chunk, int64_t *filled, int64_t *unparsed, char *err)
{
    *filled = *unparsed = 0;
    if (chunk == 0 || chunk > 1000000)
        return rc_fail(err, RC_INVAL, "backfill: a chunk of 1 to 1000000 rows");
    struct backfill_chunk c = {.cap = chunk};
    dynbuf_init(&c.buf, chunk * (EVENT_LINE_MAX + 1));
    c.id = malloc(chunk * sizeof *c.id);
    c.off = malloc(chunk * sizeof *c.off);
    c.len = malloc(chunk * sizeof *c.len);
    struct event *ev = malloc(BACKFILL_ROWS * sizeof *ev); /* the rows' strings point here */
    int rc = RC_OK;
    if (!c.id || !c.off || !c.len || !ev) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    for (int64_t after = 0;;) {
        c.n = 0;
        dynbuf_reset(&c.buf);
        rc = store_events_uncolumned(st, after, chunk, backfill_collect, &c, err);
        if (rc == RC_LIMIT || rc == RC_NOMEM)
            rc = rc_fail(err, rc, "backfill: out of memory for a chunk of %zu lines", chunk);
        if (rc != RC_OK || c.n == 0)
            break;
        if ((rc = store_begin(st, err)) != RC_OK)
            break;
        int64_t done = 0, bad = 0;
        struct store_event rows[BACKFILL_ROWS];
        int64_t ids[BACKFILL_ROWS];
        size_t k = 0;
        for (size_t i = 0; rc == RC_OK && i <= c.n; i++) {
            if (k == BACKFILL_ROWS || (i == c.n && k)) {
                int64_t changed = 0;
                rc = store_event_columns_fill(st, ids, rows, k, &changed, err);
                done += changed; /* a row purged or filled since it was read is left */
                k = 0;
            }
            if (i == c.n || rc != RC_OK)
                break;
            const char *line = dynbuf_ptr(&c.buf) + c.off[i];
            char why[ERR_LEN];
            if (event_parse_stored(line, c.len[i], &ev[k], why) != RC_OK) {
                bad++; /* not a canonical line: the figures read it as before */
                continue;
            }
            store_event_from(&ev[k], line, c.len[i], "", &rows[k]);
            ids[k++] = c.id[i];
        }
        if (rc == RC_OK)
            rc = store_commit(st, err);
        else
            store_rollback(st);
        if (rc != RC_OK)
            break;
        *filled += done;
        *unparsed += bad;
        after = c.id[c.n - 1];
    }
out:
    free(ev);
    free(c.id);
    free(c.off);
    free(c.len);
    dynbuf_free(&c.buf);
    return rc;
}
