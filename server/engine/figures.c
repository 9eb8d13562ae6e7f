/* Class inputs from the store into the engine, the figures cache, summaries, subsidy (see
 * figures.h). */
#include "engine/figures.h"

#include "dynbuf.h"
#include "engine/catalogue.h"
#include "engine/classes.h"
#include "engine/regions.h"
#include "event.h"
#include "fence.h"
#include "i18n.h"
#include "jsonin.h"
#include "rc.h"
#include "report/report.h"
#include "timeutil.h"

#include <cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS_PER_DAY INT64_C(86400000)

/* Grows *p (of *cap elements of size elem) to hold at least need; false when out of memory or
 * over max. */
static bool grow(void **p, size_t *cap, size_t need, size_t elem, size_t max)
{
    if (need <= *cap)
        return true;
    if (need > max)
        return false;
    size_t want = *cap ? *cap : 64;
    while (want < need)
        want = want > max / 2 ? max : want * 2;
    void *np = realloc(*p, want * elem);
    if (!np)
        return false;
    *p = np;
    *cap = want;
    return true;
}

/* ---- loading one class ---- */

struct open_rec {
    const struct engine_event *start;
};

struct load {
    store *st;
    char *err;
    int rc;
    struct engine_event *events;
    size_t n_events, cap_events;
    struct engine_recording *recs;
    size_t n_recs, cap_recs;
    struct plan_online *online;
    size_t n_online, cap_online;
    struct plan_assessment *assessments;
    size_t n_assessments, cap_assessments;
    struct engine_review *reviews;
    size_t n_reviews, cap_reviews;
    struct engine_device *devices;
    size_t n_devices, cap_devices;
    struct engine_venue *venues;
    size_t n_venues, cap_venues;
    struct engine_conflict *conflicts;
    size_t n_conflicts, cap_conflicts;
    int64_t claimed_ms; /* the date of the class's latest subsidy claim (procedure); 0: none */
    int64_t applied_ms; /* the date of the class application's latest submission; 0: none */
};

/* The latest claim submission's date (docs/SUBSIDY.md): the engine's late_claim finding. */
static int add_claim_step(const struct store_step *s, void *ctx)
{
    struct load *l = ctx;
    if (strcmp(s->action, "submit") == 0)
        l->claimed_ms = s->on_ms;
    return 0;
}

/* The latest application submission's date: the engine's late_application finding. */
static int add_application_step(const struct store_step *s, void *ctx)
{
    struct load *l = ctx;
    if (strcmp(s->action, "submit") == 0)
        l->applied_ms = s->on_ms;
    return 0;
}

static void load_free(struct load *l)
{
    free(l->events);
    free(l->recs);
    free(l->online);
    free(l->assessments);
    free(l->reviews);
    free(l->devices);
    free(l->venues);
    free(l->conflicts);
}

static int nomem(struct load *l)
{
    return rc_fail(l->err, RC_NOMEM, "out of memory (or over the limit of one class's inputs)");
}

/* Copies the column value s (NUL-terminated) into dst (cap bytes) and sets bit in *has when
 * s is not empty. False when it does not fit. */
static bool put_col(char *dst, size_t cap, const char *s, uint32_t bit, uint32_t *has)
{
    if (!s[0]) { /* most of an event's columns are empty */
        dst[0] = '\0';
        return true;
    }
    size_t n = strlen(s);
    if (n >= cap)
        return false;
    memcpy(dst, s, n + 1);
    if (n && bit)
        *has |= bit;
    return true;
}

int figures_ev_from_row(const struct store_event *r, struct engine_ev *d, char *why)
{
    memset(d, 0, sizeof *d);
    uint32_t has = 0;
    if (event_type_parse(r->type, &d->type) != RC_OK)
        return rc_fail(why, RC_CORRUPT, "type '%s'", r->type);
    d->seq = r->seq;
    d->ts_ms = r->ts_ms;
    if (!put_col(d->id, sizeof d->id, r->event_id, 0, &has) ||
        !put_col(d->device, sizeof d->device, r->device, 0, &has) ||
        !put_col(d->trainee, sizeof d->trainee, r->trainee, EVENT_HAS(EVENT_F_TRAINEE), &has) ||
        !put_col(d->trainee_masked, sizeof d->trainee_masked, r->trainee_masked,
                 EVENT_HAS(EVENT_F_TRAINEE_MASKED), &has) ||
        !put_col(d->class_id, sizeof d->class_id, r->class_id, EVENT_HAS(EVENT_F_CLASS), &has) ||
        !put_col(d->session, sizeof d->session, r->session, EVENT_HAS(EVENT_F_SESSION), &has) ||
        !put_col(d->rollcall, sizeof d->rollcall, r->rollcall, EVENT_HAS(EVENT_F_ROLLCALL), &has) ||
        !put_col(d->fence, sizeof d->fence, r->fence, EVENT_HAS(EVENT_F_FENCE), &has) ||
        !put_col(d->camera, sizeof d->camera, r->camera, EVENT_HAS(EVENT_F_CAMERA), &has) ||
        !put_col(d->kind, sizeof d->kind, r->kind, EVENT_HAS(EVENT_F_KIND), &has))
        return rc_fail(why, RC_CORRUPT, "a column over its length");
    if (r->verdict[0]) {
        if (event_verdict_parse(r->verdict, &d->verdict) != RC_OK)
            return rc_fail(why, RC_CORRUPT, "verdict '%s'", r->verdict);
        has |= EVENT_HAS(EVENT_F_VERDICT);
    }
    if (r->has_fix) {
        has |= EVENT_HAS(EVENT_F_FIX);
        d->fix.lat_e8 = llround(r->fix_lat * 1e8);
        d->fix.lon_e8 = llround(r->fix_lon * 1e8);
        d->fix.has_eph = r->has_eph;
        d->fix.eph_cm = r->has_eph ? llround(r->fix_eph * 100.0) : 0;
        d->fix.mode = r->fix_mode;
        d->fix.has_sats = r->has_sats;
        d->fix.sats = r->has_sats ? r->fix_sats : 0;
        d->fix.has_time = r->has_fix_time;
        d->fix.time_ms = r->has_fix_time ? r->fix_time_ms : 0;
        if (event_source_parse(r->fix_source, &d->fix.source) != RC_OK)
            return rc_fail(why, RC_CORRUPT, "fix source '%s'", r->fix_source);
    }
    if (r->has_start) {
        has |= EVENT_HAS(EVENT_F_START);
        d->start_ms = r->start_ms;
    }
    if (r->has_end) {
        has |= EVENT_HAS(EVENT_F_END);
        d->end_ms = r->end_ms;
    }
    if (r->has_skew) {
        has |= EVENT_HAS(EVENT_F_SKEW_MS);
        d->skew_ms = r->skew_ms;
    }
    d->has = has;
    return RC_OK;
}

int figures_stored_ev(const struct store_raw_event *e, struct engine_ev *out, char *why)
{
    if (e->row && e->row->cols)
        return figures_ev_from_row(e->row, out, why);
    struct event ev;
    int rc = event_parse_stored(e->raw, e->raw_len, &ev, why);
    if (rc != RC_OK)
        return rc;
    engine_ev_from(out, &ev);
    return RC_OK;
}

static int add_event(const struct store_raw_event *e, void *ctx)
{
    struct load *l = ctx;
    if (!grow((void **)&l->events, &l->cap_events, l->n_events + 1, sizeof *l->events,
              FIGURES_EVENTS_MAX))
        return nomem(l);
    struct engine_event *ee = &l->events[l->n_events];
    char why[ERR_LEN];
    if (figures_stored_ev(e, &ee->ev, why) != RC_OK)
        return rc_fail(l->err, RC_CORRUPT, "a stored event of '%s' cannot be read: %s",
                       e->row && e->row->device ? e->row->device : "?", why);
    enum event_verdict v;
    ee->verdict = e->server_verdict[0] && event_verdict_parse(e->server_verdict, &v) == RC_OK
                      ? v
                      : (enum event_verdict)0;
    ee->received_ms = e->received_at_ms;
    l->n_events++;
    return 0;
}

static int add_online(const struct plan_online *r, void *ctx)
{
    struct load *l = ctx;
    if (!grow((void **)&l->online, &l->cap_online, l->n_online + 1, sizeof *l->online,
              ENGINE_INPUT_MAX))
        return nomem(l);
    l->online[l->n_online++] = *r;
    return 0;
}

static int add_assessment(const struct plan_assessment *a, void *ctx)
{
    struct load *l = ctx;
    if (!grow((void **)&l->assessments, &l->cap_assessments, l->n_assessments + 1,
              sizeof *l->assessments, ENGINE_INPUT_MAX))
        return nomem(l);
    l->assessments[l->n_assessments++] = *a;
    return 0;
}

static int add_review(const struct store_review *r, void *ctx)
{
    struct load *l = ctx;
    if (!grow((void **)&l->reviews, &l->cap_reviews, l->n_reviews + 1, sizeof *l->reviews,
              ENGINE_INPUT_MAX))
        return nomem(l);
    struct engine_review *er = &l->reviews[l->n_reviews++];
    memset(er, 0, sizeof *er);
    snprintf(er->event_id, sizeof er->event_id, "%s", r->event_id);
    er->approve = r->approved;
    snprintf(er->reason, sizeof er->reason, "%s", r->reason);
    snprintf(er->reviewer, sizeof er->reviewer, "%s", r->reviewer);
    er->decided_ms = r->reviewed_at_ms;
    return 0;
}

static int add_device(const char *device, const char *fence, void *ctx)
{
    struct load *l = ctx;
    if (!grow((void **)&l->devices, &l->cap_devices, l->n_devices + 1, sizeof *l->devices,
              ENGINE_INPUT_MAX))
        return nomem(l);
    struct engine_device *d = &l->devices[l->n_devices++];
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", device);
    snprintf(d->fence, sizeof d->fence, "%s", fence);
    return 0;
}

static int add_conflict(const char *device, int64_t seq, const char *event_id, void *ctx)
{
    struct load *l = ctx;
    if (!grow((void **)&l->conflicts, &l->cap_conflicts, l->n_conflicts + 1, sizeof *l->conflicts,
              ENGINE_INPUT_MAX))
        return nomem(l);
    struct engine_conflict *c = &l->conflicts[l->n_conflicts++];
    memset(c, 0, sizeof *c);
    snprintf(c->device, sizeof c->device, "%s", device);
    c->seq = seq;
    snprintf(c->stored_id, sizeof c->stored_id, "%s", event_id);
    return 0;
}

/* The venue of a fence id (engine_venue_of); the caller asks for each id once. Fences the
 * store does not hold are left out. */
static int add_venue(struct load *l, const char *fence_id)
{
    struct store_fence sf = {0};
    char why[ERR_LEN];
    int rc = store_fence_current(l->st, fence_id, &sf, why);
    if (rc == RC_NOTFOUND)
        return 0;
    if (rc != RC_OK)
        return rc_fail(l->err, rc, "%s", why);
    fence_set *set = NULL;
    rc = fence_set_parse(sf.geojson, strlen(sf.geojson), fence_id, &set, why);
    store_fence_clear(&sf);
    if (rc != RC_OK)
        return rc_fail(l->err, RC_CORRUPT, "stored fence %s: %s", fence_id, why);
    const struct fence *f = fence_set_find(set, fence_id);
    if (!f && set)
        f = fence_set_at(set, 0);
    if (f) {
        if (!grow((void **)&l->venues, &l->cap_venues, l->n_venues + 1, sizeof *l->venues,
                  ENGINE_INPUT_MAX)) {
            fence_set_free(set);
            return nomem(l);
        }
        engine_venue_of(f, fence_id, &l->venues[l->n_venues++]);
    }
    fence_set_free(set);
    return 0;
}

static int load_class(struct load *l, const struct plan *p, const struct engine_policy *pol)
{
    int rc;
    /* Every event naming the class, whatever its device time: a recording registered a week
     * later, or a sign-in from a kiosk whose clock was wrong, belongs to the class all the
     * same (a recording counts for the interval it recorded; a sign-in outside every session
     * is a signin_no_session finding), never a silent loss. */
    if ((rc = store_class_events(l->st, p->id, p->institution, add_event, l, l->err)) != 0 ||
        (rc = store_class_devices(l->st, p->id, p->institution, add_device, l, l->err)) != 0)
        return rc;
    /* The kiosks' own events (heartbeats, clocks) during each offline session, device by
     * device, session by session, in one call. */
    bool offline = false;
    for (size_t s = 0; s < p->n_sessions; s++)
        offline = offline || p->sessions[s].mode == PLAN_OFFLINE;
    if (l->n_devices > 0 && offline &&
        (rc = store_class_device_events(l->st, p->id, p->institution, pol->early_window_ms,
                                        pol->leave_grace_ms, add_event, l, l->err)) != 0)
        return rc;
    for (size_t d = 0; d < l->n_devices; d++) {
        if ((rc = store_device_conflicts(l->st, l->devices[d].id, add_conflict, l, l->err)) != 0)
            return rc;
    }
    free(l->recs);
    l->recs = NULL;
    if ((rc = engine_recordings_derive(l->events, l->n_events, p->id, &l->recs, &l->n_recs,
                                       l->err)) != 0)
        return rc;
    for (size_t s = 0; s < p->n_sessions; s++) {
        /* each fence id once, held by the store or not (a missing one asked for again at
         * every session was 40 round trips a class on PostgreSQL in bench_figures) */
        const char *fence_id = p->sessions[s].fence;
        bool asked = false;
        for (size_t t = 0; t < s && !asked; t++)
            asked = strcmp(p->sessions[t].fence, fence_id) == 0;
        if (fence_id[0] && !asked && (rc = add_venue(l, fence_id)) != 0)
            return rc;
    }
    if ((rc = store_online_list(l->st, p->id, add_online, l, l->err)) != 0 ||
        (rc = store_assessment_list(l->st, p->id, add_assessment, l, l->err)) != 0 ||
        (rc = store_review_list(l->st, p->id, add_review, l, l->err)) != 0 ||
        (rc = store_step_list(l->st, "application", p->id, add_application_step, l, l->err)) != 0 ||
        (rc = store_step_list(l->st, "claim", p->id, add_claim_step, l, l->err)) != 0)
        return rc;
    return 0;
}

struct figures_input_own {
    struct figures_input pub;
    struct load l;
    struct engine_policy policy;
};

void figures_input_free(struct figures_input *in)
{
    if (!in)
        return;
    struct figures_input_own *o = (struct figures_input_own *)in;
    load_free(&o->l);
    free(in->plan);
    free(o);
}

int figures_class_input(store *st, const char *class_id, int64_t now_ms, struct figures_input **out,
                        char *err)
{
    struct figures_input_own *o = calloc(1, sizeof *o);
    bool own_tx = false;
    int rc = RC_OK;
    *out = NULL;
    if (!o || !(o->pub.plan = malloc(sizeof *o->pub.plan))) {
        free(o);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    o->l.st = st;
    o->l.err = err;
    engine_policy_default(&o->policy);
    /* One snapshot for the class's generation and every input. */
    if (!store_in_transaction(st)) {
        if ((rc = store_begin_read(st, err)) != RC_OK)
            goto out;
        own_tx = true;
    }
    if ((rc = store_class_get(st, class_id, &o->pub.cls, err)) != RC_OK ||
        (rc = store_class_plan(st, class_id, o->pub.plan, err)) != RC_OK ||
        (rc = load_class(&o->l, o->pub.plan, &o->policy)) != RC_OK)
        goto out;
    struct load *l = &o->l;
    o->pub.in = (struct engine_input){
        .plan = o->pub.plan,
        .policy = &o->policy,
        .events = l->events,
        .n_events = l->n_events,
        .recordings = l->recs,
        .n_recordings = l->n_recs,
        .online = l->online,
        .n_online = l->n_online,
        .assessments = l->assessments,
        .n_assessments = l->n_assessments,
        .reviews = l->reviews,
        .n_reviews = l->n_reviews,
        .devices = l->devices,
        .n_devices = l->n_devices,
        .venues = l->venues,
        .n_venues = l->n_venues,
        .conflicts = l->conflicts,
        .n_conflicts = l->n_conflicts,
        .regions = regions_get(),
        .as_of_ms = now_ms < o->pub.cls.end_ms ? now_ms : o->pub.cls.end_ms,
        .subsidy_applied_ms = l->claimed_ms,
        .application_ms = l->applied_ms,
    };
out:
    if (own_tx)
        store_rollback(st);
    if (rc != RC_OK) {
        figures_input_free(&o->pub);
        return rc;
    }
    *out = &o->pub;
    return RC_OK;
}

int figures_class_report(store *st, const char *class_id, int64_t now_ms,
                         struct engine_report **report, struct plan **plan_out, int64_t *gen,
                         char *err)
{
    struct figures_input *in = NULL;
    *report = NULL;
    if (plan_out)
        *plan_out = NULL;
    int rc = figures_class_input(st, class_id, now_ms, &in, err);
    if (rc != RC_OK)
        return rc;
    if ((rc = engine_run(&in->in, report, err)) == RC_OK) {
        if (gen)
            *gen = in->cls.gen;
        if (plan_out) {
            *plan_out = in->plan;
            in->plan = NULL;
        }
    }
    figures_input_free(in);
    return rc;
}

void figures_from_report(const struct engine_report *r, struct store_figures *f)
{
    memset(f, 0, sizeof *f);
    f->valid_until_ms = INT64_MAX;
    for (size_t s = 0; s < r->n_sessions; s++) {
        if (!r->sessions[s].held && r->sessions[s].end_ms < f->valid_until_ms)
            f->valid_until_ms = r->sessions[s].end_ms;
    }
    f->minutes_per_hour = r->policy.minutes_per_hour;
    f->scheduled_ms = r->scheduled_ms;
    f->planned_ms = r->planned_ms;
    f->online_planned_ms = r->online_planned_ms;
    f->offline_held_ms = r->offline_held_ms;
    f->recorded_ms = r->recorded_ms;
    f->roster_scheduled_ms = r->roster_scheduled_ms;
    f->roster_attended_ms = r->roster_attended_ms;
    f->roster_online_ms = r->roster_online_ms;
    f->enrolled = (int64_t)r->enrolled;
    f->assessed = (int64_t)r->assessed;
    f->passed = (int64_t)r->passed;
    for (int i = 0; i < 3; i++)
        f->findings[i] = (int64_t)r->by_severity[i];
    for (size_t i = 0; i < r->n_findings; i++) {
        const struct engine_finding *x = &r->findings[i];
        if ((x->kind == ENGINE_F_SIGNIN_OUTSIDE || x->kind == ENGINE_F_SIGNIN_UNCERTAIN ||
             x->kind == ENGINE_F_SIGNIN_UNLOCATED) &&
            !x->reviewed)
            f->findings_pending++;
    }
}

void figures_mask_names(struct engine_report *r)
{
    for (size_t i = 0; i < r->n_trainees; i++)
        r->trainees[i].name[0] = '\0';
}

/* ---- summaries ---- */

struct rows {
    struct figures_row *v;
    size_t n, cap;
    char *err;
};

static int add_row(const struct store_class *c, void *ctx)
{
    struct rows *r = ctx;
    if (!grow((void **)&r->v, &r->cap, r->n + 1, sizeof *r->v, FIGURES_CLASSES_MAX))
        return rc_fail(r->err, RC_LIMIT, "more than %d classes", FIGURES_CLASSES_MAX);
    memset(&r->v[r->n], 0, sizeof r->v[r->n]);
    r->v[r->n++].cls = *c;
    return 0;
}

static void total_add(struct engine_total *t, const struct figures_row *row)
{
    const struct store_figures *f = &row->fig;
    t->minutes_per_hour = f->minutes_per_hour;
    t->classes++;
    t->roster_scheduled_ms += f->roster_scheduled_ms;
    t->roster_attended_ms += f->roster_attended_ms;
    t->roster_online_ms += f->roster_online_ms;
    t->offline_held_ms += f->offline_held_ms;
    t->recorded_ms += f->recorded_ms;
    t->planned_ms += f->planned_ms;
    t->online_planned_ms += f->online_planned_ms;
    t->enrolled += (size_t)f->enrolled;
    t->assessed += (size_t)f->assessed;
    t->passed += (size_t)f->passed;
    for (int i = 0; i < 3; i++)
        t->by_severity[i] += (size_t)f->findings[i];
}

static int cmp_total(const void *x, const void *y)
{
    return strcmp(((const struct engine_total *)x)->key, ((const struct engine_total *)y)->key);
}

/* Sums rows by institution or district into a new sorted array. */
static int totals(const struct figures_summary *s, bool by_district, struct engine_total **out,
                  size_t *n_out, char *err)
{
    struct engine_total *t = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < s->n; i++) {
        const char *key = by_district ? s->rows[i].cls.district : s->rows[i].cls.institution;
        size_t k = 0;
        while (k < n && strcmp(t[k].key, key) != 0)
            k++;
        if (k == n) {
            if (!grow((void **)&t, &cap, n + 1, sizeof *t, FIGURES_CLASSES_MAX)) {
                free(t);
                return rc_fail(err, RC_NOMEM, "out of memory");
            }
            memset(&t[n], 0, sizeof t[n]);
            snprintf(t[n].key, sizeof t[n].key, "%s", key);
            n++;
        }
        total_add(&t[k], &s->rows[i]);
    }
    if (n)
        qsort(t, n, sizeof *t, cmp_total);
    *out = t;
    *n_out = n;
    return RC_OK;
}

/* Reads the cached figures of every row in one store call (one round trip on a server
 * back-end); a row found is marked from_cache. */
static int cached_rows(store *st, struct figures_summary *s, const char *policy, int64_t now_ms,
                       char *err)
{
    const char **ids = calloc(s->n, sizeof *ids);
    int64_t *gens = calloc(s->n, sizeof *gens);
    struct store_figures *figs = calloc(s->n, sizeof *figs);
    bool *found = calloc(s->n, sizeof *found);
    int rc = RC_OK;
    if (!ids || !gens || !figs || !found) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        ids[i] = s->rows[i].cls.id;
        gens[i] = s->rows[i].cls.gen;
    }
    if ((rc = store_figures_get_many(st, ids, gens, s->n, policy, now_ms, figs, found, err)) !=
        RC_OK)
        goto out;
    for (size_t i = 0; i < s->n; i++) {
        if (found[i]) {
            s->rows[i].fig = figs[i];
            s->rows[i].from_cache = true;
        }
    }
out:
    free(ids);
    free(gens);
    free(figs);
    free(found);
    return rc;
}

/* The serious findings of cls's report r as alert keys: *a (free()) and *n. */
static int serious_alerts(const struct store_class *cls, const struct engine_report *r,
                          struct store_engine_alert **a_out, size_t *n_out, char *err)
{
    struct store_engine_alert *a = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        const struct engine_finding *x = &r->findings[i];
        /* A chain conflict is an ingest finding too, stored (and alerted) when it arrived. */
        if (x->severity != ENGINE_SERIOUS || x->kind == ENGINE_F_CHAIN_CONFLICT)
            continue;
        if (!grow((void **)&a, &cap, n + 1, sizeof *a, FIGURES_ALERTS_MAX)) {
            free(a);
            return rc_fail(err, RC_LIMIT, "class %s: over %d serious findings", cls->id,
                           FIGURES_ALERTS_MAX);
        }
        struct store_engine_alert *e = &a[n++];
        memset(e, 0, sizeof *e);
        snprintf(e->kind, sizeof e->kind, "%s", engine_finding_name(x->kind));
        snprintf(e->subject, sizeof e->subject, "%s", x->subject);
        snprintf(e->session, sizeof e->session, "%s", x->session);
        snprintf(e->trainee, sizeof e->trainee, "%s", x->trainee);
        snprintf(e->detail, sizeof e->detail, "%s", x->detail);
    }
    *a_out = a;
    *n_out = n;
    return RC_OK;
}

/* Classes computed and not yet written: their figures go into the cache and their serious
 * findings to the alert outbox together, in one write transaction for the lot (one commit,
 * one fsync on SQLite, instead of one or two per class). */
struct computed {
    const struct store_class *cls; /* the caller's, alive until the flush */
    struct store_figures fig;
    int64_t gen;
    struct store_engine_alert *alerts;
    size_t n_alerts;
};
struct batch {
    struct computed *v;
    size_t n, cap;
};

static void batch_clear(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i].alerts);
    b->n = 0;
}

static void batch_free(struct batch *b)
{
    batch_clear(b);
    free(b->v);
    b->v = NULL;
    b->cap = 0;
}

/* Writes b's classes (figures at the generation each was read; serious findings) in one
 * transaction and empties b. *alerted (may be NULL) grows by the new alerts. */
static int batch_flush(store *st, struct batch *b, const char *policy, int64_t now_ms,
                       size_t *alerted, char *err)
{
    if (b->n == 0)
        return RC_OK;
    int rc = store_begin(st, err);
    for (size_t i = 0; rc == RC_OK && i < b->n; i++) {
        const struct computed *c = &b->v[i];
        size_t added = 0;
        if ((rc = store_figures_put(st, c->cls->id, policy, c->gen, &c->fig, now_ms, err)) ==
                RC_OK &&
            (rc = store_engine_alerts_record(st, c->cls->id, c->cls->institution, c->alerts,
                                             c->n_alerts, now_ms, &added, err)) == RC_OK &&
            alerted)
            *alerted += added;
    }
    if (rc == RC_OK)
        rc = store_commit(st, err);
    else
        store_rollback(st);
    batch_clear(b);
    return rc;
}

/* Computes cls's figures into *fig; with b, queues them (and the report's serious findings)
 * for batch_flush. */
static int compute_row(store *st, const struct store_class *cls, int64_t now_ms,
                       struct store_figures *fig, struct batch *b, char *err)
{
    struct engine_report *r = NULL;
    int64_t gen = 0;
    int rc = figures_class_report(st, cls->id, now_ms, &r, NULL, &gen, err);
    if (rc != RC_OK)
        return rc;
    figures_from_report(r, fig);
    if (b) {
        if (!grow((void **)&b->v, &b->cap, b->n + 1, sizeof *b->v, FIGURES_CLASSES_MAX)) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
        } else {
            struct computed *c = &b->v[b->n];
            memset(c, 0, sizeof *c);
            c->cls = cls;
            c->fig = *fig;
            c->gen = gen;
            if ((rc = serious_alerts(cls, r, &c->alerts, &c->n_alerts, err)) == RC_OK)
                b->n++;
        }
    }
    engine_report_free(r);
    return rc;
}

int figures_warm(store *st, int64_t now_ms, size_t max, bool (*stop)(void *ctx), void *ctx,
                 struct figures_warm_result *res, char *err)
{
    struct engine_policy pol;
    engine_policy_default(&pol);
    struct figures_summary s = {0};
    struct rows rows = {.err = err};
    struct batch b = {0};
    int rc;
    memset(res, 0, sizeof *res);
    if ((rc = store_class_list(st, NULL, FIGURES_CLASSES_MAX, add_row, &rows, err)) != RC_OK)
        goto out;
    s.rows = rows.v;
    s.n = rows.n;
    if (s.n && (rc = cached_rows(st, &s, pol.name, now_ms, err)) != RC_OK)
        goto out;
    for (size_t i = 0; i < s.n; i++) {
        if (s.rows[i].from_cache)
            continue;
        if (res->computed >= max || (stop && stop(ctx))) {
            res->left++;
            continue;
        }
        if ((rc = compute_row(st, &s.rows[i].cls, now_ms, &s.rows[i].fig, &b, err)) != RC_OK) {
            /* a class that vanished meanwhile is not an error of the pass */
            if (rc != RC_NOTFOUND)
                goto out;
            rc = RC_OK;
            continue;
        }
        res->computed++;
        /* written at once: a reader that comes meanwhile finds it fresh */
        if ((rc = batch_flush(st, &b, pol.name, now_ms, &res->alerted, err)) != RC_OK)
            goto out;
    }
    rc = batch_flush(st, &b, pol.name, now_ms, &res->alerted, err);
out:
    batch_free(&b);
    free(rows.v);
    return rc;
}

/* Moves src's queued classes to the end of dst (src is left empty). */
static int batch_take(struct batch *dst, struct batch *src, char *err)
{
    if (src->n == 0)
        return RC_OK;
    if (!grow((void **)&dst->v, &dst->cap, dst->n + src->n, sizeof *dst->v, FIGURES_CLASSES_MAX))
        return rc_fail(err, RC_NOMEM, "out of memory");
    memcpy(&dst->v[dst->n], src->v, src->n * sizeof *src->v);
    dst->n += src->n;
    src->n = 0; /* the alerts moved with their entries */
    return RC_OK;
}

static unsigned summary_threads_setting; /* 0: one per online processor */

void figures_set_summary_threads(unsigned n)
{
    summary_threads_setting = n;
}

unsigned figures_summary_threads(void)
{
    unsigned n = summary_threads_setting;
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (unsigned)cpus : 1;
    }
    return n > FIGURES_THREADS_MAX ? FIGURES_THREADS_MAX : n;
}

/* The stale classes of a summary, shared by the threads that compute them: each takes the
 * next row from the last under lock, computes it on its own connection, and keeps what it
 * computed in its own batch until all are done. */
struct shared {
    pthread_mutex_t lock;
    struct figures_summary *s;
    size_t next; /* rows [0, next) are not taken yet */
    bool use_cache, keep, failed;
    const char *policy;
    int64_t now_ms;
};

struct worker {
    struct shared *sh;
    store *st;
    struct batch b;
    size_t computed, cached;
    int rc;
    char err[ERR_LEN];
};

/* Takes the next row (from the last) into *i; false when none is left or a worker failed. */
static bool take_row(struct shared *sh, size_t *i)
{
    pthread_mutex_lock(&sh->lock);
    bool got = !sh->failed && sh->next > 0;
    if (got)
        *i = --sh->next;
    pthread_mutex_unlock(&sh->lock);
    return got;
}

static void *work_rows(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    bool computed_one = false;
    size_t i;
    while (take_row(sh, &i)) {
        struct figures_row *row = &sh->s->rows[i];
        /* Stale when listed: before each class after this worker's first, the cache is
         * looked at again for what the warmer (of this collector or another) has written
         * meanwhile. */
        if (!row->from_cache && sh->use_cache && computed_one) {
            bool found = false;
            if ((w->rc = store_figures_get(w->st, row->cls.id, sh->policy, row->cls.gen, sh->now_ms,
                                           &row->fig, &found, w->err)) != RC_OK)
                break;
            row->from_cache = found;
        }
        if (row->from_cache) {
            w->cached++;
            continue;
        }
        if ((w->rc = compute_row(w->st, &row->cls, sh->now_ms, &row->fig, sh->keep ? &w->b : NULL,
                                 w->err)) != RC_OK)
            break;
        computed_one = true;
        w->computed++;
    }
    if (w->rc != RC_OK) {
        pthread_mutex_lock(&sh->lock);
        sh->failed = true;
        pthread_mutex_unlock(&sh->lock);
    }
    return NULL;
}

/* Computes the rows of s not from the cache: on st, and when more than one thread is allowed
 * and st holds no transaction (a helper would not see what it holds), on helper threads too,
 * each on its own connection to the same database (store_open_again). A helper that cannot
 * start leaves its share to the others. Then writes what was computed (keep) through st. */
static int compute_stale(store *st, struct figures_summary *s, bool use_cache, bool keep,
                         const char *policy, int64_t now_ms, char *err)
{
    size_t stale = 0;
    for (size_t i = 0; i < s->n; i++)
        stale += !s->rows[i].from_cache;
    size_t want = figures_summary_threads();
    if (store_in_transaction(st) || stale < FIGURES_THREAD_MIN_CLASSES)
        want = 1;
    if (want > stale)
        want = stale ? stale : 1;
    struct shared sh = {.s = s,
                        .next = s->n,
                        .use_cache = use_cache,
                        .keep = keep,
                        .policy = policy,
                        .now_ms = now_ms};
    struct worker w[FIGURES_THREADS_MAX];
    pthread_t th[FIGURES_THREADS_MAX];
    memset(w, 0, sizeof w);
    if (pthread_mutex_init(&sh.lock, NULL) != 0)
        return rc_fail(err, RC_NOMEM, "cannot create a mutex");
    w[0].sh = &sh;
    w[0].st = st;
    size_t started = 1;
    for (size_t k = 1; k < want; k++) {
        char why[ERR_LEN];
        w[started].sh = &sh;
        if (store_open_again(st, &w[started].st, why) != RC_OK)
            break;
        if (pthread_create(&th[started], NULL, work_rows, &w[started]) != 0) {
            store_close(w[started].st);
            w[started].st = NULL;
            break;
        }
        started++;
    }
    work_rows(&w[0]);
    for (size_t k = 1; k < started; k++) {
        pthread_join(th[k], NULL);
        store_close(w[k].st);
    }
    pthread_mutex_destroy(&sh.lock);
    s->threads = (unsigned)started;
    int rc = RC_OK;
    for (size_t k = 0; k < started; k++) {
        s->computed += w[k].computed;
        s->cached += w[k].cached;
        if (rc == RC_OK && w[k].rc != RC_OK)
            rc = rc_fail(err, w[k].rc, "%s", w[k].err);
        if (rc == RC_OK && k > 0)
            rc = batch_take(&w[0].b, &w[k].b, err);
    }
    if (rc == RC_OK)
        rc = batch_flush(st, &w[0].b, policy, now_ms, NULL, err);
    for (size_t k = 0; k < started; k++)
        batch_free(&w[k].b);
    return rc;
}

int figures_summary(store *st, const struct store_class_filter *f, int64_t now_ms, bool use_cache,
                    struct figures_summary **out, char *err)
{
    struct engine_policy pol;
    engine_policy_default(&pol);
    struct figures_summary *s = calloc(1, sizeof *s);
    struct rows rows = {.err = err};
    int rc = RC_OK;
    *out = NULL;
    if (!s)
        return rc_fail(err, RC_NOMEM, "out of memory");
    snprintf(s->policy, sizeof s->policy, "%s", pol.name);
    s->policy_version = pol.version;
    s->attendance_warning = pol.attendance_warning;
    s->attendance_serious = pol.attendance_serious;
    s->online_share_max = pol.online_share_max;
    if ((rc = store_class_list(st, f, FIGURES_CLASSES_MAX, add_row, &rows, err)) != RC_OK)
        goto out;
    s->rows = rows.v;
    s->n = rows.n;
    rows.v = NULL;
    if (use_cache && s->n && (rc = cached_rows(st, s, pol.name, now_ms, err)) != RC_OK)
        goto out;
    /* Stale classes from the last: the warmer (figures_warm) takes them from the first, so
     * when both work on the same stale classes they meet in the middle. */
    bool keep = use_cache && !store_in_transaction(st);
    if ((rc = compute_stale(st, s, use_cache, keep, pol.name, now_ms, err)) != RC_OK)
        goto out;
    if ((rc = totals(s, false, &s->institutions, &s->n_institutions, err)) != RC_OK ||
        (rc = totals(s, true, &s->districts, &s->n_districts, err)) != RC_OK)
        goto out;
    *out = s;
    s = NULL;
out:
    free(rows.v);
    figures_summary_free(s);
    return rc;
}

void figures_summary_free(struct figures_summary *s)
{
    if (!s)
        return;
    free(s->rows);
    free(s->institutions);
    free(s->districts);
    free(s);
}

/* A rate as a JSON number, or null when its denominator is 0. */
static cJSON *json_rate(int64_t num, int64_t den)
{
    bool defined = false;
    double v = engine_ratio(num, den, &defined);
    return defined ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *json_date(int64_t ms)
{
    char d[TS_DATE_LEN + 1];
    if (ms <= 0 || ts_format_date(ms, d) != RC_OK)
        return cJSON_CreateNull();
    return cJSON_CreateString(d);
}

static bool add_figures(cJSON *o, const struct store_figures *f)
{
    cJSON *sev = NULL;
    return cJSON_AddNumberToObject(o, "scheduled_hours", ts_hours(f->roster_scheduled_ms)) &&
           cJSON_AddNumberToObject(o, "attended_hours", ts_hours(f->roster_attended_ms)) &&
           cJSON_AddNumberToObject(o, "online_hours", ts_hours(f->roster_online_ms)) &&
           cJSON_AddItemToObject(o, "attendance_rate",
                                 json_rate(f->roster_attended_ms, f->roster_scheduled_ms)) &&
           cJSON_AddItemToObject(o, "online_share",
                                 json_rate(f->roster_online_ms, f->roster_attended_ms)) &&
           cJSON_AddItemToObject(o, "online_share_planned",
                                 json_rate(f->online_planned_ms, f->planned_ms)) &&
           cJSON_AddItemToObject(o, "recording_coverage",
                                 json_rate(f->recorded_ms, f->offline_held_ms)) &&
           cJSON_AddNumberToObject(o, "enrolled", (double)f->enrolled) &&
           cJSON_AddNumberToObject(o, "assessed", (double)f->assessed) &&
           cJSON_AddNumberToObject(o, "passed", (double)f->passed) &&
           cJSON_AddItemToObject(o, "pass_rate_assessed", json_rate(f->passed, f->assessed)) &&
           cJSON_AddItemToObject(o, "pass_rate_enrolled", json_rate(f->passed, f->enrolled)) &&
           (sev = cJSON_AddObjectToObject(o, "findings")) &&
           cJSON_AddNumberToObject(sev, "info", (double)f->findings[0]) &&
           cJSON_AddNumberToObject(sev, "warning", (double)f->findings[1]) &&
           cJSON_AddNumberToObject(sev, "serious", (double)f->findings[2]) &&
           cJSON_AddNumberToObject(o, "pending_reviews", (double)f->findings_pending);
}

static void total_figures(const struct engine_total *t, struct store_figures *f)
{
    memset(f, 0, sizeof *f);
    f->roster_scheduled_ms = t->roster_scheduled_ms;
    f->roster_attended_ms = t->roster_attended_ms;
    f->roster_online_ms = t->roster_online_ms;
    f->planned_ms = t->planned_ms;
    f->online_planned_ms = t->online_planned_ms;
    f->offline_held_ms = t->offline_held_ms;
    f->recorded_ms = t->recorded_ms;
    f->enrolled = (int64_t)t->enrolled;
    f->assessed = (int64_t)t->assessed;
    f->passed = (int64_t)t->passed;
    for (int i = 0; i < 3; i++)
        f->findings[i] = (int64_t)t->by_severity[i];
}

/* The pending reviews of the summary's classes in one institution or district. */
static int64_t pending_in(const struct figures_summary *s, bool by_district, const char *key)
{
    int64_t pending = 0;
    for (size_t r = 0; r < s->n; r++) {
        const char *k = by_district ? s->rows[r].cls.district : s->rows[r].cls.institution;
        if (strcmp(k, key) == 0)
            pending += s->rows[r].fig.findings_pending;
    }
    return pending;
}

static bool add_totals(cJSON *root, const char *name, const char *keyname,
                       const struct engine_total *t, size_t n, const struct figures_summary *s)
{
    cJSON *arr = cJSON_AddArrayToObject(root, name);
    if (!arr)
        return false;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return false;
        }
        struct store_figures f;
        total_figures(&t[i], &f);
        f.findings_pending = pending_in(s, strcmp(keyname, "district") == 0, t[i].key);
        if (!cJSON_AddStringToObject(o, keyname, t[i].key) ||
            !cJSON_AddNumberToObject(o, "classes", (double)t[i].classes) || !add_figures(o, &f))
            return false;
    }
    return true;
}

int figures_summary_json(const struct figures_summary *s, const struct store_class_filter *f,
                         char **out, char *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *pol = NULL, *classes = NULL;
    *out = NULL;
    if (!root || !(pol = cJSON_AddObjectToObject(root, "policy")) ||
        !cJSON_AddStringToObject(pol, "name", s->policy) ||
        !cJSON_AddNumberToObject(pol, "version", (double)s->policy_version) ||
        !cJSON_AddNumberToObject(pol, "attendance_warning", s->attendance_warning) ||
        !cJSON_AddNumberToObject(pol, "attendance_serious", s->attendance_serious) ||
        !cJSON_AddNumberToObject(pol, "online_share_max", s->online_share_max) ||
        !cJSON_AddItemToObject(root, "district",
                               f && f->district ? cJSON_CreateString(f->district)
                                                : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(root, "institution",
                               f && f->institution ? cJSON_CreateString(f->institution)
                                                   : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(root, "from", json_date(f ? f->from_ms : 0)) ||
        !cJSON_AddItemToObject(root, "to", json_date(f ? f->to_ms : 0)) ||
        !add_totals(root, "districts", "district", s->districts, s->n_districts, s) ||
        !add_totals(root, "institutions", "institution", s->institutions, s->n_institutions, s) ||
        !(classes = cJSON_AddArrayToObject(root, "classes")))
        goto fail;
    for (size_t i = 0; i < s->n; i++) {
        const struct figures_row *r = &s->rows[i];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(classes, o)) {
            cJSON_Delete(o);
            goto fail;
        }
        if (!cJSON_AddStringToObject(o, "class", r->cls.id) ||
            !cJSON_AddStringToObject(o, "institution", r->cls.institution) ||
            !cJSON_AddStringToObject(o, "district", r->cls.district) ||
            !cJSON_AddStringToObject(o, "occupation", r->cls.occupation) ||
            !cJSON_AddStringToObject(o, "level",
                                     catalogue_level_name((enum catalogue_level)r->cls.level)) ||
            !cJSON_AddItemToObject(o, "start", json_date(r->cls.start_ms)) ||
            !cJSON_AddItemToObject(o, "end", json_date(r->cls.end_ms)) || !add_figures(o, &r->fig))
            goto fail;
    }
    *out = cJSON_PrintUnformatted(root);
    if (!*out)
        goto fail;
    cJSON_Delete(root);
    return RC_OK;
fail:
    cJSON_Delete(root);
    return rc_fail(err, RC_NOMEM, "out of memory");
}

/* The summary as text, bounded like every output. */
enum { FIGURES_TEXT_MAX = 16 << 20 };

static void pct(char *buf, size_t n, int64_t num, int64_t den)
{
    bool defined = false;
    double v = engine_ratio(num, den, &defined);
    if (defined)
        snprintf(buf, n, "%.1f%%", v * 100.0);
    else
        snprintf(buf, n, "-");
}

static bool text_line(struct dyntext *t, const char *key, const struct store_figures *f)
{
    char att[16], onl[16], cov[16], pass[16];
    pct(att, sizeof att, f->roster_attended_ms, f->roster_scheduled_ms);
    pct(onl, sizeof onl, f->roster_online_ms, f->roster_attended_ms);
    pct(cov, sizeof cov, f->recorded_ms, f->offline_held_ms);
    pct(pass, sizeof pass, f->passed, f->assessed);
    return dyntext_printf(
        t, "%-24s %9.1f %9.1f %7s %7s %7s %5lld/%-5lld %6s %4lld/%lld/%lld %5lld\n", key,
        ts_hours(f->roster_scheduled_ms), ts_hours(f->roster_attended_ms), att, onl, cov,
        (long long)f->passed, (long long)f->assessed, pass, (long long)f->findings[2],
        (long long)f->findings[1], (long long)f->findings[0], (long long)f->findings_pending);
}

int figures_summary_text(const struct figures_summary *s, char **out, char *err)
{
    struct dyntext t;
    dyntext_init(&t, FIGURES_TEXT_MAX);
    static const char head[] = "%-24s %9s %9s %7s %7s %7s %11s %6s %12s %5s\n";
    bool ok = dyntext_printf(
                  &t, "policy %s v%lld; hours are clock hours; findings serious/warning/info\n",
                  s->policy, (long long)s->policy_version) &&
              dyntext_printf(&t, head, "class", "sched h", "attend h", "attend", "online",
                             "rec cov", "pass/asd", "pass", "findings", "todo");
    for (size_t i = 0; ok && i < s->n; i++)
        ok = text_line(&t, s->rows[i].cls.id, &s->rows[i].fig);
    ok = ok && dyntext_printf(&t, "\n") &&
         dyntext_printf(&t, head, "institution", "sched h", "attend h", "attend", "online",
                        "rec cov", "pass/asd", "pass", "findings", "todo");
    for (size_t i = 0; ok && i < s->n_institutions; i++) {
        struct store_figures f;
        total_figures(&s->institutions[i], &f);
        f.findings_pending = pending_in(s, false, s->institutions[i].key);
        ok = text_line(&t, s->institutions[i].key, &f);
    }
    ok = ok && dyntext_printf(&t, "\n") &&
         dyntext_printf(&t, head, "district", "sched h", "attend h", "attend", "online", "rec cov",
                        "pass/asd", "pass", "findings", "todo");
    for (size_t i = 0; ok && i < s->n_districts; i++) {
        struct store_figures f;
        total_figures(&s->districts[i], &f);
        f.findings_pending = pending_in(s, true, s->districts[i].key);
        ok = text_line(&t, s->districts[i].key, &f);
    }
    (void)ok; /* a failure sticks in t: dyntext_take reports it */
    return dyntext_take(&t, "summary text", out, NULL, err);
}

/* ---- subsidy ---- */

struct history {
    struct subsidy_history *v;
    size_t n, cap;
    const char *trainee;
    char *err;
};

/* Set once at start-up, before any thread reads it (serve, report subsidy). */
static enum subsidy_year subsidy_year_setting = SUBSIDY_YEAR_ASSESSMENT;

void figures_set_subsidy_year(enum subsidy_year y)
{
    subsidy_year_setting = y;
}

/* The date of a class's last claim submission (0: none). */
static int last_claim(const struct store_step *s, void *ctx)
{
    if (strcmp(s->action, "submit") == 0)
        *(int64_t *)ctx = s->on_ms;
    return 0;
}

static int add_history(const struct store_subsidy_past *p, void *ctx)
{
    struct history *h = ctx;
    if (!grow((void **)&h->v, &h->cap, h->n + 1, sizeof *h->v, SUBSIDY_HISTORY_MAX))
        return rc_fail(h->err, RC_NOMEM, "out of memory");
    struct subsidy_history *e = &h->v[h->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->trainee, sizeof e->trainee, "%s", h->trainee);
    snprintf(e->class_id, sizeof e->class_id, "%s", p->class_id);
    snprintf(e->occupation, sizeof e->occupation, "%s", p->occupation);
    e->level = (enum catalogue_level)p->level;
    e->granted_ms = p->assessed_on_ms;
    return 0;
}

int figures_subsidy(store *st, const char *class_id, int64_t now_ms, int64_t claim_ms,
                    struct subsidy_result **res, size_t *n, struct engine_report **report_out,
                    struct plan **plan_out, char *err)
{
    struct engine_report *r = NULL;
    struct plan *p = NULL;
    struct history h = {.err = err};
    int rc = figures_class_report(st, class_id, now_ms, &r, &p, NULL, err);
    if (rc != RC_OK)
        return rc;
    const struct catalogue *cat = classes_catalogue(err);
    if (!cat) {
        rc = RC_STATE;
        goto out;
    }
    for (size_t i = 0; i < p->n_roster && rc == RC_OK; i++) {
        h.trainee = p->roster[i].pseudonym;
        rc = store_subsidy_history(st, p->institution, h.trainee, p->id, add_history, &h, err);
    }
    if (rc != RC_OK)
        goto out;
    /* Counting by the claim's year: each earlier subsidy in the year of its class's claim (its
     * assessment's year when that class was never claimed through the procedure). */
    for (size_t i = 0; i < h.n && rc == RC_OK && subsidy_year_setting == SUBSIDY_YEAR_CLAIM; i++) {
        int64_t claimed = 0;
        rc = store_step_list(st, "claim", h.v[i].class_id, last_claim, &claimed, err);
        if (claimed > 0)
            h.v[i].granted_ms = claimed;
    }
    if (rc == RC_OK)
        rc = subsidy_evaluate_by(r, p, cat, h.v, h.n, claim_ms, subsidy_year_setting, res, n, err);
out:
    free(h.v);
    if (rc == RC_OK && report_out) {
        *report_out = r;
        r = NULL;
    }
    if (rc == RC_OK && plan_out) {
        *plan_out = p;
        p = NULL;
    }
    engine_report_free(r);
    free(p);
    return rc;
}

int figures_subsidy_json(const struct engine_report *r, const struct subsidy_result *res, size_t n,
                         int64_t claim_ms, bool mask, char **out, char *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = NULL;
    int64_t total = 0, living = 0;
    *out = NULL;
    if (!root || !cJSON_AddStringToObject(root, "class", r->class_id) ||
        !cJSON_AddStringToObject(root, "institution", r->institution) ||
        !cJSON_AddStringToObject(root, "occupation", r->occupation) ||
        !cJSON_AddStringToObject(root, "level", catalogue_level_name(r->level)) ||
        !cJSON_AddItemToObject(root, "claim_date", json_date(claim_ms)) ||
        !(arr = cJSON_AddArrayToObject(root, "trainees")))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const struct subsidy_result *s = &res[i];
        cJSON *o = cJSON_CreateObject();
        cJSON *refused = NULL;
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            goto fail;
        }
        if (!cJSON_AddStringToObject(o, "trainee", s->trainee) ||
            !cJSON_AddStringToObject(o, "trainee_masked", s->masked) ||
            (!mask && !cJSON_AddStringToObject(o, "name", s->name)) ||
            !cJSON_AddBoolToObject(o, "student", s->student) ||
            !cJSON_AddNumberToObject(o, "required_hours", ts_hours(s->required_ms)) ||
            !cJSON_AddNumberToObject(o, "attended_hours", ts_hours(s->attended_ms)) ||
            !cJSON_AddNumberToObject(o, "online_share", s->online_share) ||
            !cJSON_AddBoolToObject(o, "eligible", s->eligible) ||
            !cJSON_AddNumberToObject(o, "amount_yuan", (double)s->amount_yuan) ||
            !cJSON_AddNumberToObject(o, "living_allowance_yuan",
                                     (double)s->living_allowance_yuan) ||
            !(refused = cJSON_AddArrayToObject(o, "refused")))
            goto fail;
        for (int k = 0; k < SUBSIDY_RULES; k++) {
            if (!s->failed[k])
                continue;
            cJSON *why = cJSON_CreateObject();
            if (!why || !cJSON_AddItemToArray(refused, why)) {
                cJSON_Delete(why);
                goto fail;
            }
            if (!cJSON_AddStringToObject(why, "rule", subsidy_rule_name((enum subsidy_rule)k)) ||
                !cJSON_AddStringToObject(why, "detail", s->detail[k]) ||
                (s->collides_with[k][0] &&
                 !cJSON_AddStringToObject(why, "collides_with", s->collides_with[k])))
                goto fail;
        }
        total += s->amount_yuan;
        living += s->living_allowance_yuan;
    }
    if (!cJSON_AddNumberToObject(root, "total_yuan", (double)total) ||
        !cJSON_AddNumberToObject(root, "living_allowance_yuan", (double)living))
        goto fail;
    *out = cJSON_PrintUnformatted(root);
    if (!*out)
        goto fail;
    cJSON_Delete(root);
    return RC_OK;
fail:
    cJSON_Delete(root);
    return rc_fail(err, RC_NOMEM, "out of memory");
}

/* ---- findings ---- */

static cJSON *json_time_iso(int64_t ms)
{
    char buf[TS_SHANGHAI_ISO_LEN + 1];
    if (ms <= 0 || ts_format_shanghai_iso(ms, buf) != RC_OK)
        return cJSON_CreateNull();
    return cJSON_CreateString(buf);
}

/* The masked form of a trainee pseudonym in r, or "". */
static const char *masked_of(const struct engine_report *r, const char *trainee)
{
    for (size_t i = 0; trainee[0] && i < r->n_trainees; i++) {
        if (strcmp(r->trainees[i].trainee, trainee) == 0)
            return r->trainees[i].masked;
    }
    return "";
}

static bool reviewable(enum engine_finding_kind k)
{
    return k == ENGINE_F_SIGNIN_OUTSIDE || k == ENGINE_F_SIGNIN_UNCERTAIN ||
           k == ENGINE_F_SIGNIN_UNLOCATED;
}

static int add_detail_arg(const char *name, const char *value, void *ctx)
{
    return cJSON_AddStringToObject(ctx, name, value) ? 0 : RC_NOMEM;
}

/* The detail's template code and arguments (engine.h), so an API client can render it in its
 * own language from docs/API.md's table, and the collector in the caller's (figures_api). */
static bool add_detail_args(cJSON *o, const struct engine_finding *f)
{
    if (!f->detail_code[0])
        return true;
    cJSON *args = cJSON_AddObjectToObject(o, "detail_args");
    return cJSON_AddStringToObject(o, "detail_code", f->detail_code) && args &&
           engine_detail_each(f, add_detail_arg, args) == 0;
}

static bool add_engine_findings(cJSON *arr, const struct engine_report *r, size_t *count,
                                size_t limit)
{
    for (size_t i = 0; i < r->n_findings && *count < limit; i++, (*count)++) {
        const struct engine_finding *f = &r->findings[i];
        cJSON *o = cJSON_CreateObject();
        cJSON *ev = NULL;
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return false;
        }
        bool can_review = reviewable(f->kind) && f->n_evidence > 0;
        if (!cJSON_AddStringToObject(o, "source", "engine") ||
            !cJSON_AddItemToObject(
                o, "id", can_review ? cJSON_CreateString(f->evidence[0]) : cJSON_CreateNull()) ||
            !cJSON_AddStringToObject(o, "kind", engine_finding_name(f->kind)) ||
            !cJSON_AddStringToObject(o, "severity", engine_severity_name(f->severity)) ||
            !cJSON_AddStringToObject(o, "class", r->class_id) ||
            !cJSON_AddStringToObject(o, "institution", r->institution) ||
            !cJSON_AddStringToObject(o, "subject_kind", engine_subject_name(f->subject_kind)) ||
            !cJSON_AddStringToObject(o, "subject", f->subject) ||
            !cJSON_AddStringToObject(o, "trainee_masked", masked_of(r, f->trainee)) ||
            !cJSON_AddStringToObject(o, "session", f->session) ||
            !cJSON_AddItemToObject(o, "at", json_time_iso(f->at_ms)) ||
            !cJSON_AddStringToObject(o, "detail", f->detail) || !add_detail_args(o, f) ||
            !(ev = cJSON_AddArrayToObject(o, "evidence")) ||
            !cJSON_AddBoolToObject(o, "reviewable", can_review) ||
            !cJSON_AddBoolToObject(o, "reviewed", f->reviewed))
            return false;
        for (size_t k = 0; k < f->n_evidence; k++) {
            cJSON *s = cJSON_CreateString(f->evidence[k]);
            if (!s || !cJSON_AddItemToArray(ev, s)) {
                cJSON_Delete(s);
                return false;
            }
        }
        if (f->reviewed &&
            (!cJSON_AddStringToObject(o, "decision", f->approved ? "approve" : "reject") ||
             !cJSON_AddStringToObject(o, "review_reason", f->review_reason) ||
             !cJSON_AddStringToObject(o, "reviewer", f->reviewer)))
            return false;
    }
    return true;
}

struct stored_ctx {
    cJSON *arr;
    size_t *count;
    size_t limit;
    enum i18n_lang lang; /* of the detail; English is the stored text */
};

static const char *stored_arg(const char *name, void *ctx)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The stored finding's detail in lang, with its template code and arguments when it has them
 * (rows from migration 17 on; older rows and unreadable arguments: the stored English alone). */
static bool add_stored_detail(cJSON *o, const struct store_finding_row *r, enum i18n_lang lang)
{
    cJSON *args = NULL;
    char why[ERR_LEN];
    if (!r->detail_code[0] ||
        jsonin_parse(r->detail_args, strlen(r->detail_args), &args, why) != RC_OK ||
        !cJSON_IsObject(args)) {
        cJSON_Delete(args);
        return cJSON_AddStringToObject(o, "detail", r->detail) != NULL;
    }
    char text[STORE_DETAIL_MAX + 1];
    const char *detail = r->detail;
    if (lang != I18N_EN &&
        i18n_render(r->detail_code, lang, stored_arg, args, text, sizeof text) == 0)
        detail = text;
    if (!cJSON_AddStringToObject(o, "detail", detail) ||
        !cJSON_AddStringToObject(o, "detail_code", r->detail_code) ||
        !cJSON_AddItemToObject(o, "detail_args", args)) {
        cJSON_Delete(args);
        return false;
    }
    return true;
}

static int add_stored_finding(const struct store_finding_row *r, void *ctx)
{
    struct stored_ctx *c = ctx;
    if (*c->count >= c->limit)
        return 0;
    (*c->count)++;
    cJSON *o = cJSON_CreateObject();
    char id[32];
    snprintf(id, sizeof id, "F%lld", (long long)r->id);
    if (!o || !cJSON_AddItemToArray(c->arr, o)) {
        cJSON_Delete(o);
        return RC_NOMEM;
    }
    if (!cJSON_AddStringToObject(o, "source", "ingest") || !cJSON_AddStringToObject(o, "id", id) ||
        !cJSON_AddStringToObject(o, "kind", r->kind) ||
        !cJSON_AddStringToObject(o, "severity", r->severity) ||
        !cJSON_AddStringToObject(o, "class", r->class_id) ||
        !cJSON_AddStringToObject(o, "institution", r->institution) ||
        !cJSON_AddStringToObject(o, "subject_kind", "device") ||
        !cJSON_AddStringToObject(o, "subject", r->device) ||
        !cJSON_AddNumberToObject(o, "seq", (double)r->seq) ||
        !cJSON_AddItemToObject(o, "at", json_time_iso(r->created_at_ms)) ||
        !add_stored_detail(o, r, c->lang) || !cJSON_AddBoolToObject(o, "reviewable", false))
        return RC_NOMEM;
    return 0;
}

struct class_ids {
    char (*id)[STORE_ID_MAX + 1];
    size_t n, cap;
};

static int add_class_id(const struct store_class *c, void *ctx)
{
    struct class_ids *ids = ctx;
    if (ids->n == ids->cap) {
        size_t want = ids->cap ? ids->cap * 2 : 64;
        void *p = realloc(ids->id, want * sizeof *ids->id);
        if (!p)
            return RC_NOMEM;
        ids->id = p;
        ids->cap = want;
    }
    snprintf(ids->id[ids->n++], STORE_ID_MAX + 1, "%s", c->id);
    return 0;
}

int figures_findings(store *st, const struct store_class_filter *f, const char *class_id,
                     int64_t since_ms, int64_t now_ms, size_t limit, cJSON **out, char *err)
{
    struct class_ids ids = {0};
    struct store_class_filter cf = *f;
    cJSON *root = NULL, *arr = NULL;
    size_t count = 0;
    int rc = RC_OK;
    *out = NULL;
    if (class_id) {
        struct store_class c;
        if ((rc = store_class_get(st, class_id, &c, err)) == RC_OK)
            rc = add_class_id(&c, &ids);
    } else {
        if (!cf.from_ms)
            cf.from_ms = since_ms ? since_ms : now_ms - FIGURES_FINDINGS_DAYS * MS_PER_DAY;
        rc = store_class_list(st, &cf, FIGURES_CLASSES_MAX, add_class_id, &ids, err);
    }
    if (rc != RC_OK)
        goto out;
    root = cJSON_CreateObject();
    if (!root || !(arr = cJSON_AddArrayToObject(root, "findings"))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ids.n && rc == RC_OK; i++) {
        struct engine_report *r = NULL;
        rc = figures_class_report(st, ids.id[i], now_ms, &r, NULL, NULL, err);
        if (rc == RC_OK && !add_engine_findings(arr, r, &count, limit))
            rc = rc_fail(err, RC_NOMEM, "out of memory");
        engine_report_free(r);
    }
    if (rc != RC_OK)
        goto out;
    struct store_finding_filter sf = {
        .institution = f->institution,
        .district = f->district,
        .class_id = class_id,
        .since_ms = since_ms,
    };
    /* English here: figures_api renders every listed detail in the caller's language */
    struct stored_ctx sc = {.arr = arr, .count = &count, .limit = limit, .lang = I18N_EN};
    if ((rc = store_finding_list(st, &sf, limit, add_stored_finding, &sc, err)) != RC_OK)
        goto out;
    if (!cJSON_AddBoolToObject(root, "truncated", count >= limit)) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    *out = root;
    root = NULL;
out:
    cJSON_Delete(root);
    free(ids.id);
    return rc;
}

struct counted_ctx {
    struct stored_ctx *inner;
    size_t seen;
};

static int count_stored_finding(const struct store_finding_row *r, void *ctx)
{
    struct counted_ctx *c = ctx;
    c->seen++;
    return add_stored_finding(r, c->inner);
}

bool figures_add_title(cJSON *finding, enum i18n_lang lang)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(finding, "kind");
    const char *k = cJSON_IsString(kind) ? kind->valuestring : "";
    const char *title = i18n_text2("finding", k, lang);
    return cJSON_AddStringToObject(finding, "title", title ? title : k) != NULL;
}

/* figures_add_title on each finding of the named array of o. */
static bool add_kind_titles(cJSON *o, const char *array, enum i18n_lang lang)
{
    cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(o, array))
    {
        if (!figures_add_title(item, lang))
            return false;
    }
    return true;
}

int figures_class_report_json(store *st, const struct engine_report *r, enum i18n_lang lang,
                              char **out, char *err)
{
    cJSON *o = NULL, *arr = NULL;
    char *text = NULL;
    size_t count = 0;
    *out = NULL;
    int rc = report_json_object(r, &o, err);
    if (rc != RC_OK)
        return rc;
    if (!(arr = cJSON_AddArrayToObject(o, "ingest_findings"))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    struct store_finding_filter sf = {.class_id = r->class_id};
    struct stored_ctx sc = {
        .arr = arr, .count = &count, .limit = FIGURES_INGEST_FINDINGS_MAX, .lang = lang};
    /* one more than kept tells a cut list from a full one (add_stored_finding skips it) */
    struct counted_ctx cc = {.inner = &sc, .seen = 0};
    if ((rc = store_finding_list(st, &sf, FIGURES_INGEST_FINDINGS_MAX + 1, count_stored_finding,
                                 &cc, err)) != RC_OK)
        goto out;
    if (!cJSON_AddBoolToObject(o, "ingest_findings_truncated",
                               cc.seen > FIGURES_INGEST_FINDINGS_MAX) ||
        !add_kind_titles(o, "findings", lang) || !add_kind_titles(o, "ingest_findings", lang) ||
        !(text = cJSON_PrintUnformatted(o))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    /* memory the caller frees with free(), whatever allocator cJSON uses */
    size_t n = strlen(text) + 1;
    if (!(*out = malloc(n)))
        rc = rc_fail(err, RC_NOMEM, "out of memory");
    else
        memcpy(*out, text, n);
out:
    cJSON_free(text);
    cJSON_Delete(o);
    return rc;
}

int figures_summary_xlsx(const struct figures_summary *s, const char *path, char *err)
{
    struct engine_total *cls = calloc(s->n ? s->n : 1, sizeof *cls);
    if (!cls)
        return rc_fail(err, RC_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n; i++) {
        snprintf(cls[i].key, sizeof cls[i].key, "%s", s->rows[i].cls.id);
        total_add(&cls[i], &s->rows[i]);
    }
    const struct report_totals_sheet sheets[] = {
        {"区", "区", s->districts, s->n_districts},
        {"机构", "机构", s->institutions, s->n_institutions},
        {"班级", "班级", cls, s->n},
    };
    int rc = report_totals_xlsx(path, sheets, sizeof sheets / sizeof sheets[0], err);
    free(cls);
    return rc;
}
