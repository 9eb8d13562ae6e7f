/* The evidence bundle's members as data (see bundle.h, docs/EVIDENCE.md). */
#include "evidence/bundle.h"

#include "jsonin.h"
#include "rc.h"

#include <cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_INT_MAX 9007199254740991.0 /* 2^53 - 1 */

void bundle_inputs_clear(struct bundle_inputs *b)
{
    for (size_t i = 0; i < b->n_fences; i++)
        free(b->fences[i].geojson);
    free(b->kiosks);
    free(b->venues);
    free(b->plan);
    free(b->fences);
    free(b->devices);
    free(b->batches);
    free(b->judgements);
    free(b->online);
    free(b->assessments);
    free(b->reviews);
    free(b->conflicts);
    memset(b, 0, sizeof *b);
}

/* ---- writing ---- */

static bool add_i64(cJSON *o, const char *k, int64_t v)
{
    return cJSON_AddNumberToObject(o, k, (double)v) != NULL;
}

static bool add_str(cJSON *o, const char *k, const char *v)
{
    return cJSON_AddStringToObject(o, k, v) != NULL;
}

/* A new object appended to arr, or NULL. */
static cJSON *row(cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The policy's parameters by type: one table for writing and reading policy.json. */
enum ptype { P_I64, P_DBL, P_BOOL };
static const struct {
    const char *name;
    enum ptype type;
    size_t off;
} PARAMS[] = {
    {"version", P_I64, offsetof(struct engine_policy, version)},
    {"early_window_ms", P_I64, offsetof(struct engine_policy, early_window_ms)},
    {"late_grace_ms", P_I64, offsetof(struct engine_policy, late_grace_ms)},
    {"leave_grace_ms", P_I64, offsetof(struct engine_policy, leave_grace_ms)},
    {"count_inside", P_BOOL, offsetof(struct engine_policy, count_inside)},
    {"count_uncertain", P_BOOL, offsetof(struct engine_policy, count_uncertain)},
    {"count_outside", P_BOOL, offsetof(struct engine_policy, count_outside)},
    {"count_no_fix", P_BOOL, offsetof(struct engine_policy, count_no_fix)},
    {"rollcall_missed_ends_presence", P_BOOL,
     offsetof(struct engine_policy, rollcall_missed_ends_presence)},
    {"recording_gap_ms", P_I64, offsetof(struct engine_policy, recording_gap_ms)},
    {"recording_late_ms", P_I64, offsetof(struct engine_policy, recording_late_ms)},
    {"attendance_warning", P_DBL, offsetof(struct engine_policy, attendance_warning)},
    {"attendance_serious", P_DBL, offsetof(struct engine_policy, attendance_serious)},
    {"online_share_max", P_DBL, offsetof(struct engine_policy, online_share_max)},
    {"travel_speed_mps", P_DBL, offsetof(struct engine_policy, travel_speed_mps)},
    {"travel_min_m", P_DBL, offsetof(struct engine_policy, travel_min_m)},
    {"kiosk_silence_ms", P_I64, offsetof(struct engine_policy, kiosk_silence_ms)},
    {"clock_skew_ms", P_I64, offsetof(struct engine_policy, clock_skew_ms)},
    {"application_lead_days", P_I64, offsetof(struct engine_policy, application_lead_days)},
    {"subsidy_deadline_days", P_I64, offsetof(struct engine_policy, subsidy_deadline_days)},
    {"minutes_per_hour", P_I64, offsetof(struct engine_policy, minutes_per_hour)},
    {"region_min_lat", P_DBL, offsetof(struct engine_policy, region_min_lat)},
    {"region_max_lat", P_DBL, offsetof(struct engine_policy, region_max_lat)},
    {"region_min_lon", P_DBL, offsetof(struct engine_policy, region_min_lon)},
    {"region_max_lon", P_DBL, offsetof(struct engine_policy, region_max_lon)},
};

cJSON *bundle_policy_object(const struct engine_policy *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !add_str(o, "name", p->name) || !add_str(o, "region", p->region))
        goto fail;
    for (size_t i = 0; i < sizeof PARAMS / sizeof PARAMS[0]; i++) {
        const char *at = (const char *)p + PARAMS[i].off;
        cJSON *v = NULL;
        if (PARAMS[i].type == P_I64)
            v = cJSON_CreateNumber((double)*(const int64_t *)(const void *)at);
        else if (PARAMS[i].type == P_DBL)
            v = cJSON_CreateNumber(*(const double *)(const void *)at);
        else
            v = cJSON_CreateBool(*(const bool *)(const void *)at);
        if (!v || !cJSON_AddItemToObject(o, PARAMS[i].name, v)) {
            cJSON_Delete(v);
            goto fail;
        }
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static cJSON *bundle_object(const struct bundle_inputs *b)
{
    cJSON *o = cJSON_CreateObject(), *k;
    if (!o || !add_str(o, "format", BUNDLE_FORMAT) || !add_str(o, "class", b->class_id) ||
        !add_i64(o, "as_of_ms", b->as_of_ms) || !add_i64(o, "claimed_ms", b->claimed_ms) ||
        !add_i64(o, "applied_ms", b->applied_ms) || !cJSON_AddBoolToObject(o, "names", b->names) ||
        !(k = cJSON_AddArrayToObject(o, "kiosks")))
        goto fail;
    cJSON *vs = cJSON_AddArrayToObject(o, "venues");
    if (!vs)
        goto fail;
    for (size_t i = 0; i < b->n_venues; i++) {
        cJSON *r = row(vs);
        if (!r || !add_str(r, "fence", b->venues[i].fence) ||
            !add_i64(r, "version", b->venues[i].version))
            goto fail;
    }
    for (size_t i = 0; i < b->n_kiosks; i++) {
        cJSON *r = row(k);
        if (!r || !add_str(r, "id", b->kiosks[i].id) || !add_str(r, "fence", b->kiosks[i].fence))
            goto fail;
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static cJSON *plan_object(const struct plan *p, bool names)
{
    cJSON *o = cJSON_CreateObject(), *ss, *rs;
    if (!o || !add_str(o, "id", p->id) || !add_str(o, "institution", p->institution) ||
        !add_str(o, "district", p->district) || !add_str(o, "occupation", p->occupation) ||
        !add_str(o, "level", catalogue_level_name(p->level)) ||
        !add_i64(o, "applied_on_ms", p->applied_on_ms) || !add_i64(o, "rollcalls", p->rollcalls) ||
        !add_i64(o, "rollcall_window_min", p->rollcall_window_min) ||
        !(ss = cJSON_AddArrayToObject(o, "sessions")) ||
        !(rs = cJSON_AddArrayToObject(o, "roster")))
        goto fail;
    for (size_t i = 0; i < p->n_sessions; i++) {
        const struct plan_session *s = &p->sessions[i];
        cJSON *r = row(ss);
        if (!r || !add_str(r, "id", s->id) || !add_i64(r, "start_ms", s->start_ms) ||
            !add_i64(r, "end_ms", s->end_ms) || !add_str(r, "mode", plan_mode_name(s->mode)) ||
            !add_str(r, "fence", s->fence))
            goto fail;
    }
    for (size_t i = 0; i < p->n_roster; i++) {
        const struct plan_trainee *t = &p->roster[i];
        cJSON *r = row(rs);
        if (!r || !add_str(r, "trainee", t->pseudonym) ||
            !add_str(r, "trainee_masked", t->masked) || !add_str(r, "name", names ? t->name : "") ||
            !cJSON_AddBoolToObject(r, "student", t->student))
            goto fail;
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static cJSON *rows_object(const struct bundle_inputs *b, const char *m)
{
    cJSON *a = cJSON_CreateArray();
    if (!a)
        return NULL;
    if (strcmp(m, BUNDLE_M_FENCES) == 0) {
        for (size_t i = 0; i < b->n_fences; i++) {
            const struct bundle_fence *f = &b->fences[i];
            cJSON *r = row(a);
            if (!r || !add_str(r, "id", f->id) || !add_i64(r, "version", f->version) ||
                !add_str(r, "sha256", f->sha256) || !add_str(r, "geojson", f->geojson))
                goto fail;
        }
    } else if (strcmp(m, BUNDLE_M_DEVICES) == 0) {
        for (size_t i = 0; i < b->n_devices; i++) {
            const struct bundle_device *d = &b->devices[i];
            cJSON *r = row(a);
            if (!r || !add_str(r, "id", d->id) || !add_str(r, "institution", d->institution) ||
                !add_str(r, "public_key", d->public_key) || !add_str(r, "profile", d->profile) ||
                !add_str(r, "fence", d->fence) ||
                !cJSON_AddNumberToObject(r, "assumed_eph_m", d->assumed_eph_m) ||
                !add_i64(r, "enrolled_at_ms", d->enrolled_at_ms) ||
                !cJSON_AddItemToObject(r, "enrolled_by",
                                       d->enrolled_by[0] ? cJSON_CreateString(d->enrolled_by)
                                                         : cJSON_CreateNull()))
                goto fail;
        }
    } else if (strcmp(m, BUNDLE_M_BATCHES) == 0) {
        for (size_t i = 0; i < b->n_batches; i++) {
            const struct bundle_batch *s = &b->batches[i];
            cJSON *r = row(a);
            if (!r || !add_str(r, "device", s->device) || !add_i64(r, "first_seq", s->first_seq) ||
                !add_i64(r, "last_seq", s->last_seq) || !add_str(r, "last_hash", s->last_hash) ||
                !add_str(r, "signature", s->signature) ||
                !add_i64(r, "received_at_ms", s->received_at_ms))
                goto fail;
        }
    } else if (strcmp(m, BUNDLE_M_JUDGEMENTS) == 0) {
        for (size_t i = 0; i < b->n_judgements; i++) {
            const struct bundle_judgement *j = &b->judgements[i];
            cJSON *r = row(a);
            if (!r || !add_str(r, "device", j->device) || !add_i64(r, "seq", j->seq) ||
                !add_i64(r, "received_at_ms", j->received_at_ms) ||
                !cJSON_AddItemToObject(r, "verdict",
                                       j->verdict[0] ? cJSON_CreateString(j->verdict)
                                                     : cJSON_CreateNull()) ||
                !cJSON_AddItemToObject(r, "distance_m",
                                       j->has_distance ? cJSON_CreateNumber(j->distance_m)
                                                       : cJSON_CreateNull()) ||
                !add_i64(r, "fence_version", j->fence_version))
                goto fail;
        }
    } else if (strcmp(m, BUNDLE_M_ONLINE) == 0) {
        for (size_t i = 0; i < b->n_online; i++) {
            const struct plan_online *o = &b->online[i];
            cJSON *r = row(a);
            if (!r || !add_str(r, "trainee", o->trainee) ||
                !add_str(r, "trainee_masked", o->masked) || !add_i64(r, "start_ms", o->start_ms) ||
                !add_i64(r, "end_ms", o->end_ms) || !add_str(r, "platform", o->platform))
                goto fail;
        }
    } else if (strcmp(m, BUNDLE_M_ASSESSMENTS) == 0) {
        for (size_t i = 0; i < b->n_assessments; i++) {
            const struct plan_assessment *x = &b->assessments[i];
            cJSON *r = row(a);
            if (!r || !add_str(r, "trainee", x->trainee) ||
                !add_str(r, "trainee_masked", x->masked) ||
                !cJSON_AddBoolToObject(r, "passed", x->passed) ||
                !add_i64(r, "assessed_on_ms", x->assessed_on_ms) ||
                !add_str(r, "certificate", x->certificate))
                goto fail;
        }
    } else if (strcmp(m, BUNDLE_M_REVIEWS) == 0) {
        for (size_t i = 0; i < b->n_reviews; i++) {
            const struct engine_review *v = &b->reviews[i];
            cJSON *r = row(a);
            if (!r || !add_str(r, "event_id", v->event_id) ||
                !add_str(r, "decision", v->approve ? "approve" : "reject") ||
                !add_str(r, "reason", v->reason) || !add_str(r, "reviewer", v->reviewer) ||
                !add_i64(r, "decided_at_ms", v->decided_ms))
                goto fail;
        }
    } else if (strcmp(m, BUNDLE_M_CONFLICTS) == 0) {
        for (size_t i = 0; i < b->n_conflicts; i++) {
            const struct engine_conflict *c = &b->conflicts[i];
            cJSON *r = row(a);
            if (!r || !add_str(r, "device", c->device) || !add_i64(r, "seq", c->seq) ||
                !add_str(r, "stored_id", c->stored_id))
                goto fail;
        }
    } else {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
fail:
    cJSON_Delete(a);
    return NULL;
}

static int print(cJSON *o, char **out, const char *member, char *err)
{
    *out = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!*out)
        return rc_fail(err, RC_NOMEM, "%s: out of memory", member);
    return RC_OK;
}

int bundle_member_json(const struct bundle_inputs *b, const char *m, char **out, char *err)
{
    *out = NULL;
    if (strcmp(m, BUNDLE_M_BUNDLE) == 0)
        return print(bundle_object(b), out, m, err);
    if (strcmp(m, BUNDLE_M_PLAN) == 0)
        return print(plan_object(b->plan, b->names), out, m, err);
    if (strcmp(m, BUNDLE_M_POLICY) == 0)
        return print(bundle_policy_object(&b->policy), out, m, err);
    static const char *const rows[] = {BUNDLE_M_FENCES,     BUNDLE_M_DEVICES,  BUNDLE_M_BATCHES,
                                       BUNDLE_M_JUDGEMENTS, BUNDLE_M_ONLINE,   BUNDLE_M_ASSESSMENTS,
                                       BUNDLE_M_REVIEWS,    BUNDLE_M_CONFLICTS};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (strcmp(m, rows[i]) == 0)
            return print(rows_object(b, m), out, m, err);
    }
    return rc_fail(err, RC_INVAL, "%s is not an input member", m);
}

/* ---- reading ---- */

/* Reading context: the member and row named in every error. */
struct rd {
    const char *member;
    long row; /* -1: the member's top object */
    char *err;
};

static int bad(const struct rd *r, const char *key, const char *what)
{
    if (r->row < 0)
        return rc_fail(r->err, RC_INVAL, "%s: \"%s\" %s", r->member, key, what);
    return rc_fail(r->err, RC_INVAL, "%s: row %ld: \"%s\" %s", r->member, r->row + 1, key, what);
}

static int get_str(const struct rd *r, const cJSON *o, const char *key, char *buf, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v))
        return bad(r, key, "missing or not a string");
    size_t n = strlen(v->valuestring);
    if (n >= cap)
        return bad(r, key, "too long");
    memcpy(buf, v->valuestring, n + 1);
    return RC_OK;
}

static int get_i64(const struct rd *r, const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        floor(v->valuedouble) != v->valuedouble || fabs(v->valuedouble) > JSON_INT_MAX)
        return bad(r, key, "missing or not an integer");
    *out = (int64_t)v->valuedouble;
    return RC_OK;
}

static int get_dbl(const struct rd *r, const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return bad(r, key, "missing or not a number");
    *out = v->valuedouble;
    return RC_OK;
}

static int get_bool(const struct rd *r, const cJSON *o, const char *key, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsBool(v))
        return bad(r, key, "missing or not true/false");
    *out = cJSON_IsTrue(v);
    return RC_OK;
}

/* A new zeroed array for the rows of JSON array a (n elements of size elem). */
static int rows_alloc(const struct rd *r, const cJSON *a, size_t elem, void **out, size_t *n)
{
    if (!cJSON_IsArray(a))
        return rc_fail(r->err, RC_INVAL, "%s: not a JSON array", r->member);
    size_t count = (size_t)cJSON_GetArraySize(a);
    if (count > ENGINE_INPUT_MAX)
        return rc_fail(r->err, RC_LIMIT, "%s: more than %d rows", r->member, ENGINE_INPUT_MAX);
    *out = calloc(count ? count : 1, elem);
    if (!*out)
        return rc_fail(r->err, RC_NOMEM, "%s: out of memory", r->member);
    *n = count;
    return RC_OK;
}

static int parse_bundle(struct bundle_inputs *b, const cJSON *o, struct rd *r)
{
    int rc;
    if ((rc = get_str(r, o, "format", b->format, sizeof b->format)) ||
        (rc = get_str(r, o, "class", b->class_id, sizeof b->class_id)) ||
        (rc = get_i64(r, o, "as_of_ms", &b->as_of_ms)) ||
        (rc = get_i64(r, o, "claimed_ms", &b->claimed_ms)) ||
        (rc = get_bool(r, o, "names", &b->names)))
        return rc;
    /* Bundles written before the application's submit step was recorded have no applied_ms:
     * their report took the plan's applied_on, which 0 means. */
    b->applied_ms = 0;
    if (cJSON_HasObjectItem(o, "applied_ms") && (rc = get_i64(r, o, "applied_ms", &b->applied_ms)))
        return rc;
    if (strcmp(b->format, BUNDLE_FORMAT) != 0)
        return bad(r, "format", "is not " BUNDLE_FORMAT);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kiosks");
    free(b->kiosks);
    b->kiosks = NULL;
    r->member = BUNDLE_M_BUNDLE " kiosks";
    if ((rc = rows_alloc(r, k, sizeof *b->kiosks, (void **)&b->kiosks, &b->n_kiosks)))
        return rc;
    for (r->row = 0; (size_t)r->row < b->n_kiosks; r->row++) {
        const cJSON *x = cJSON_GetArrayItem(k, (int)r->row);
        struct engine_device *d = &b->kiosks[r->row];
        if ((rc = get_str(r, x, "id", d->id, sizeof d->id)) ||
            (rc = get_str(r, x, "fence", d->fence, sizeof d->fence)))
            return rc;
    }
    const cJSON *vs = cJSON_GetObjectItemCaseSensitive(o, "venues");
    free(b->venues);
    b->venues = NULL;
    r->member = BUNDLE_M_BUNDLE " venues";
    if ((rc = rows_alloc(r, vs, sizeof *b->venues, (void **)&b->venues, &b->n_venues)))
        return rc;
    for (r->row = 0; (size_t)r->row < b->n_venues; r->row++) {
        const cJSON *x = cJSON_GetArrayItem(vs, (int)r->row);
        int64_t v;
        if ((rc =
                 get_str(r, x, "fence", b->venues[r->row].fence, sizeof b->venues[r->row].fence)) ||
            (rc = get_i64(r, x, "version", &v)))
            return rc;
        if (v < 1 || v > INT32_MAX)
            return bad(r, "version", "out of range");
        b->venues[r->row].version = (int)v;
    }
    return RC_OK;
}

static int parse_plan(struct bundle_inputs *b, const cJSON *o, struct rd *r)
{
    int rc;
    char level[32], mode[16];
    if (!b->plan && !(b->plan = malloc(sizeof *b->plan)))
        return rc_fail(r->err, RC_NOMEM, "out of memory");
    struct plan *p = b->plan;
    memset(p, 0, sizeof *p);
    if ((rc = get_str(r, o, "id", p->id, sizeof p->id)) ||
        (rc = get_str(r, o, "institution", p->institution, sizeof p->institution)) ||
        (rc = get_str(r, o, "district", p->district, sizeof p->district)) ||
        (rc = get_str(r, o, "occupation", p->occupation, sizeof p->occupation)) ||
        (rc = get_str(r, o, "level", level, sizeof level)) ||
        (rc = get_i64(r, o, "applied_on_ms", &p->applied_on_ms)) ||
        (rc = get_i64(r, o, "rollcalls", &p->rollcalls)) ||
        (rc = get_i64(r, o, "rollcall_window_min", &p->rollcall_window_min)))
        return rc;
    if (catalogue_level_parse(level, &p->level) != RC_OK)
        return bad(r, "level", "is not a level");
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(o, "sessions");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "roster");
    if (!cJSON_IsArray(ss) || cJSON_GetArraySize(ss) < 1 ||
        cJSON_GetArraySize(ss) > PLAN_SESSIONS_MAX)
        return bad(r, "sessions", "must be an array of 1..256 sessions");
    if (!cJSON_IsArray(rs) || cJSON_GetArraySize(rs) > PLAN_ROSTER_MAX)
        return bad(r, "roster", "must be an array of at most 500 trainees");
    p->n_sessions = (size_t)cJSON_GetArraySize(ss);
    p->n_roster = (size_t)cJSON_GetArraySize(rs);
    r->member = BUNDLE_M_PLAN " sessions";
    for (r->row = 0; (size_t)r->row < p->n_sessions; r->row++) {
        const cJSON *x = cJSON_GetArrayItem(ss, (int)r->row);
        struct plan_session *s = &p->sessions[r->row];
        if ((rc = get_str(r, x, "id", s->id, sizeof s->id)) ||
            (rc = get_i64(r, x, "start_ms", &s->start_ms)) ||
            (rc = get_i64(r, x, "end_ms", &s->end_ms)) ||
            (rc = get_str(r, x, "mode", mode, sizeof mode)) ||
            (rc = get_str(r, x, "fence", s->fence, sizeof s->fence)))
            return rc;
        if (strcmp(mode, "offline") == 0)
            s->mode = PLAN_OFFLINE;
        else if (strcmp(mode, "online") == 0)
            s->mode = PLAN_ONLINE;
        else
            return bad(r, "mode", "is neither offline nor online");
        if (s->end_ms <= s->start_ms || (r->row > 0 && s->start_ms < s[-1].end_ms))
            return bad(r, "start_ms", "sessions must be sorted, disjoint and end after they start");
    }
    r->member = BUNDLE_M_PLAN " roster";
    for (r->row = 0; (size_t)r->row < p->n_roster; r->row++) {
        const cJSON *x = cJSON_GetArrayItem(rs, (int)r->row);
        struct plan_trainee *t = &p->roster[r->row];
        if ((rc = get_str(r, x, "trainee", t->pseudonym, sizeof t->pseudonym)) ||
            (rc = get_str(r, x, "trainee_masked", t->masked, sizeof t->masked)) ||
            (rc = get_str(r, x, "name", t->name, sizeof t->name)) ||
            (rc = get_bool(r, x, "student", &t->student)))
            return rc;
    }
    return RC_OK;
}

static int parse_policy(struct bundle_inputs *b, const cJSON *o, struct rd *r)
{
    struct engine_policy *p = &b->policy;
    memset(p, 0, sizeof *p);
    int rc;
    if ((rc = get_str(r, o, "name", p->name, sizeof p->name)) ||
        (rc = get_str(r, o, "region", p->region, sizeof p->region)))
        return rc;
    for (size_t i = 0; i < sizeof PARAMS / sizeof PARAMS[0]; i++) {
        char *at = (char *)p + PARAMS[i].off;
        if (PARAMS[i].type == P_I64)
            rc = get_i64(r, o, PARAMS[i].name, (int64_t *)(void *)at);
        else if (PARAMS[i].type == P_DBL)
            rc = get_dbl(r, o, PARAMS[i].name, (double *)(void *)at);
        else
            rc = get_bool(r, o, PARAMS[i].name, (bool *)(void *)at);
        if (rc)
            return rc;
    }
    char why[ERR_LEN];
    if (engine_policy_check(p, why) != RC_OK)
        return rc_fail(r->err, RC_INVAL, "%s: %s", r->member, why);
    return RC_OK;
}

static int parse_rows(struct bundle_inputs *b, const cJSON *a, struct rd *r)
{
    const char *m = r->member;
    int rc = RC_OK;
    int64_t v;
    const cJSON *item = NULL;
    char decision[16];
/* Rows are walked by the list's own links: cJSON_GetArrayItem is linear in the index. */
#define EACH(arr, n)                                                                               \
    free(b->arr);                                                                                  \
    b->arr = NULL;                                                                                 \
    b->n = 0;                                                                                      \
    if ((rc = rows_alloc(r, a, sizeof *b->arr, (void **)&b->arr, &b->n)))                          \
        return rc;                                                                                 \
    item = a->child;                                                                               \
    for (r->row = 0; (size_t)r->row < b->n && rc == RC_OK; r->row++, item = item->next)
#define X item
    if (strcmp(m, BUNDLE_M_FENCES) == 0) {
        for (size_t i = 0; i < b->n_fences; i++)
            free(b->fences[i].geojson);
        EACH(fences, n_fences)
        {
            struct bundle_fence *f = &b->fences[r->row];
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(X, "geojson");
            if ((rc = get_str(r, X, "id", f->id, sizeof f->id)) ||
                (rc = get_i64(r, X, "version", &v)) ||
                (rc = get_str(r, X, "sha256", f->sha256, sizeof f->sha256)))
                break;
            if (v < 1 || v > INT32_MAX) {
                rc = bad(r, "version", "out of range");
                break;
            }
            f->version = (int)v;
            if (!cJSON_IsString(g) || strlen(g->valuestring) > BUNDLE_FENCE_MAX) {
                rc = bad(r, "geojson", "missing, not a string or too long");
                break;
            }
            if (!(f->geojson = strdup(g->valuestring)))
                rc = rc_fail(r->err, RC_NOMEM, "out of memory");
        }
    } else if (strcmp(m, BUNDLE_M_DEVICES) == 0) {
        EACH(devices, n_devices)
        {
            struct bundle_device *d = &b->devices[r->row];
            if ((rc = get_str(r, X, "id", d->id, sizeof d->id)) ||
                (rc = get_str(r, X, "institution", d->institution, sizeof d->institution)) ||
                (rc = get_str(r, X, "public_key", d->public_key, sizeof d->public_key)) ||
                (rc = get_str(r, X, "profile", d->profile, sizeof d->profile)) ||
                (rc = get_str(r, X, "fence", d->fence, sizeof d->fence)) ||
                (rc = get_dbl(r, X, "assumed_eph_m", &d->assumed_eph_m)) ||
                (rc = get_i64(r, X, "enrolled_at_ms", &d->enrolled_at_ms)))
                break;
            const cJSON *by = cJSON_GetObjectItemCaseSensitive(X, "enrolled_by");
            if (cJSON_IsString(by)) {
                if ((rc = get_str(r, X, "enrolled_by", d->enrolled_by, sizeof d->enrolled_by)))
                    break;
            } else if (!cJSON_IsNull(by)) {
                rc = bad(r, "enrolled_by", "must be a string or null");
                break;
            }
        }
    } else if (strcmp(m, BUNDLE_M_BATCHES) == 0) {
        EACH(batches, n_batches)
        {
            struct bundle_batch *s = &b->batches[r->row];
            if ((rc = get_str(r, X, "device", s->device, sizeof s->device)) ||
                (rc = get_i64(r, X, "first_seq", &s->first_seq)) ||
                (rc = get_i64(r, X, "last_seq", &s->last_seq)) ||
                (rc = get_str(r, X, "last_hash", s->last_hash, sizeof s->last_hash)) ||
                (rc = get_str(r, X, "signature", s->signature, sizeof s->signature)) ||
                (rc = get_i64(r, X, "received_at_ms", &s->received_at_ms)))
                break;
        }
    } else if (strcmp(m, BUNDLE_M_JUDGEMENTS) == 0) {
        EACH(judgements, n_judgements)
        {
            struct bundle_judgement *j = &b->judgements[r->row];
            const cJSON *vd = cJSON_GetObjectItemCaseSensitive(X, "verdict");
            const cJSON *dm = cJSON_GetObjectItemCaseSensitive(X, "distance_m");
            if ((rc = get_str(r, X, "device", j->device, sizeof j->device)) ||
                (rc = get_i64(r, X, "seq", &j->seq)) ||
                (rc = get_i64(r, X, "received_at_ms", &j->received_at_ms)) ||
                (rc = get_i64(r, X, "fence_version", &v)))
                break;
            j->fence_version = v > 0 && v <= INT32_MAX ? (int)v : 0;
            if (cJSON_IsString(vd)) {
                if ((rc = get_str(r, X, "verdict", j->verdict, sizeof j->verdict)))
                    break;
            } else if (!cJSON_IsNull(vd)) {
                rc = bad(r, "verdict", "must be a string or null");
                break;
            }
            if (cJSON_IsNumber(dm)) {
                j->has_distance = true;
                if ((rc = get_dbl(r, X, "distance_m", &j->distance_m)))
                    break;
            } else if (!cJSON_IsNull(dm)) {
                rc = bad(r, "distance_m", "must be a number or null");
                break;
            }
        }
    } else if (strcmp(m, BUNDLE_M_ONLINE) == 0) {
        EACH(online, n_online)
        {
            struct plan_online *o = &b->online[r->row];
            snprintf(o->class_id, sizeof o->class_id, "%s", b->class_id);
            if ((rc = get_str(r, X, "trainee", o->trainee, sizeof o->trainee)) ||
                (rc = get_str(r, X, "trainee_masked", o->masked, sizeof o->masked)) ||
                (rc = get_i64(r, X, "start_ms", &o->start_ms)) ||
                (rc = get_i64(r, X, "end_ms", &o->end_ms)) ||
                (rc = get_str(r, X, "platform", o->platform, sizeof o->platform)))
                break;
        }
    } else if (strcmp(m, BUNDLE_M_ASSESSMENTS) == 0) {
        EACH(assessments, n_assessments)
        {
            struct plan_assessment *x = &b->assessments[r->row];
            snprintf(x->class_id, sizeof x->class_id, "%s", b->class_id);
            if ((rc = get_str(r, X, "trainee", x->trainee, sizeof x->trainee)) ||
                (rc = get_str(r, X, "trainee_masked", x->masked, sizeof x->masked)) ||
                (rc = get_bool(r, X, "passed", &x->passed)) ||
                (rc = get_i64(r, X, "assessed_on_ms", &x->assessed_on_ms)) ||
                (rc = get_str(r, X, "certificate", x->certificate, sizeof x->certificate)))
                break;
        }
    } else if (strcmp(m, BUNDLE_M_REVIEWS) == 0) {
        EACH(reviews, n_reviews)
        {
            struct engine_review *x = &b->reviews[r->row];
            if ((rc = get_str(r, X, "event_id", x->event_id, sizeof x->event_id)) ||
                (rc = get_str(r, X, "decision", decision, sizeof decision)) ||
                (rc = get_str(r, X, "reason", x->reason, sizeof x->reason)) ||
                (rc = get_str(r, X, "reviewer", x->reviewer, sizeof x->reviewer)) ||
                (rc = get_i64(r, X, "decided_at_ms", &x->decided_ms)))
                break;
            if (strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0) {
                rc = bad(r, "decision", "is neither approve nor reject");
                break;
            }
            x->approve = decision[0] == 'a';
        }
    } else if (strcmp(m, BUNDLE_M_CONFLICTS) == 0) {
        EACH(conflicts, n_conflicts)
        {
            struct engine_conflict *c = &b->conflicts[r->row];
            if ((rc = get_str(r, X, "device", c->device, sizeof c->device)) ||
                (rc = get_i64(r, X, "seq", &c->seq)) ||
                (rc = get_str(r, X, "stored_id", c->stored_id, sizeof c->stored_id)))
                break;
        }
    } else {
        return rc_fail(r->err, RC_INVAL, "%s is not an input member", m);
    }
#undef EACH
#undef X
    if (rc != RC_OK) {
        /* A member that did not read holds nothing: no half-filled rows for a caller that
         * carries on with the other checks. */
        if (strcmp(m, BUNDLE_M_FENCES) == 0) {
            for (size_t i = 0; i < b->n_fences; i++)
                free(b->fences[i].geojson);
            b->n_fences = 0;
        } else if (strcmp(m, BUNDLE_M_DEVICES) == 0) {
            b->n_devices = 0;
        } else if (strcmp(m, BUNDLE_M_BATCHES) == 0) {
            b->n_batches = 0;
        } else if (strcmp(m, BUNDLE_M_JUDGEMENTS) == 0) {
            b->n_judgements = 0;
        } else if (strcmp(m, BUNDLE_M_ONLINE) == 0) {
            b->n_online = 0;
        } else if (strcmp(m, BUNDLE_M_ASSESSMENTS) == 0) {
            b->n_assessments = 0;
        } else if (strcmp(m, BUNDLE_M_REVIEWS) == 0) {
            b->n_reviews = 0;
        } else if (strcmp(m, BUNDLE_M_CONFLICTS) == 0) {
            b->n_conflicts = 0;
        }
    }
    return rc;
}

int bundle_member_parse(struct bundle_inputs *b, const char *member, const char *data, size_t len,
                        char *err)
{
    cJSON *root = NULL;
    char why[ERR_LEN];
    if (len > BUNDLE_MEMBER_MAX)
        return rc_fail(err, RC_LIMIT, "%s: larger than %d bytes", member, BUNDLE_MEMBER_MAX);
    if (jsonin_parse(data, len, &root, why) != RC_OK)
        return rc_fail(err, RC_INVAL, "%s: not JSON: %s", member, why);
    struct rd r = {.member = member, .row = -1, .err = err};
    int rc;
    if (strcmp(member, BUNDLE_M_BUNDLE) == 0 || strcmp(member, BUNDLE_M_PLAN) == 0 ||
        strcmp(member, BUNDLE_M_POLICY) == 0) {
        if (!cJSON_IsObject(root))
            rc = rc_fail(err, RC_INVAL, "%s: not a JSON object", member);
        else if (member[0] == 'b')
            rc = parse_bundle(b, root, &r);
        else if (member[1] == 'l')
            rc = parse_plan(b, root, &r);
        else
            rc = parse_policy(b, root, &r);
    } else {
        rc = parse_rows(b, root, &r);
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- manifest and signature ---- */

int bundle_manifest_json(const char *class_id, const struct bundle_manifest_row *rows, size_t n,
                         char **out, char *err)
{
    cJSON *o = cJSON_CreateObject(), *a;
    if (!o || !add_str(o, "format", BUNDLE_FORMAT) || !add_str(o, "class", class_id) ||
        !(a = cJSON_AddArrayToObject(o, "members")))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        cJSON *r = row(a);
        if (!r || !add_str(r, "name", rows[i].name) || !add_i64(r, "size", (int64_t)rows[i].size) ||
            !add_str(r, "sha256", rows[i].sha256))
            goto fail;
    }
    return print(o, out, BUNDLE_M_MANIFEST, err);
fail:
    cJSON_Delete(o);
    return rc_fail(err, RC_NOMEM, "out of memory");
}

int bundle_manifest_parse(const char *data, size_t len, struct bundle_manifest_row **rows,
                          size_t *n, char *class_id, size_t cap, char *err)
{
    cJSON *root = NULL;
    char why[ERR_LEN], format[32];
    struct rd r = {.member = BUNDLE_M_MANIFEST, .row = -1, .err = err};
    *rows = NULL;
    *n = 0;
    if (jsonin_parse(data, len, &root, why) != RC_OK)
        return rc_fail(err, RC_INVAL, "%s: not JSON: %s", BUNDLE_M_MANIFEST, why);
    int rc;
    struct bundle_manifest_row *v = NULL;
    size_t count = 0;
    if ((rc = get_str(&r, root, "format", format, sizeof format)) ||
        (rc = get_str(&r, root, "class", class_id, cap)))
        goto out;
    if (strcmp(format, BUNDLE_FORMAT) != 0) {
        rc = bad(&r, "format", "is not " BUNDLE_FORMAT);
        goto out;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "members");
    if ((rc = rows_alloc(&r, a, sizeof *v, (void **)&v, &count)))
        goto out;
    for (r.row = 0; (size_t)r.row < count; r.row++) {
        const cJSON *x = cJSON_GetArrayItem(a, (int)r.row);
        int64_t size;
        if ((rc = get_str(&r, x, "name", v[r.row].name, sizeof v[r.row].name)) ||
            (rc = get_i64(&r, x, "size", &size)) ||
            (rc = get_str(&r, x, "sha256", v[r.row].sha256, sizeof v[r.row].sha256)))
            goto out;
        if (size < 0) {
            rc = bad(&r, "size", "is negative");
            goto out;
        }
        v[r.row].size = (size_t)size;
    }
out:
    cJSON_Delete(root);
    if (rc != RC_OK) {
        free(v);
        return rc;
    }
    *rows = v;
    *n = count;
    return RC_OK;
}

int bundle_signature_json(const struct bundle_signature *s, char **out, char *err)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !add_str(o, "algorithm", s->algorithm) || !add_str(o, "key_id", s->key_id) ||
        !add_str(o, "public_key", s->public_key) || !add_str(o, "signature", s->signature)) {
        cJSON_Delete(o);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    return print(o, out, BUNDLE_M_SIGNATURE, err);
}

int bundle_signature_parse(const char *data, size_t len, struct bundle_signature *s, char *err)
{
    cJSON *root = NULL;
    char why[ERR_LEN];
    struct rd r = {.member = BUNDLE_M_SIGNATURE, .row = -1, .err = err};
    memset(s, 0, sizeof *s);
    if (jsonin_parse(data, len, &root, why) != RC_OK)
        return rc_fail(err, RC_INVAL, "%s: not JSON: %s", BUNDLE_M_SIGNATURE, why);
    int rc;
    if ((rc = get_str(&r, root, "algorithm", s->algorithm, sizeof s->algorithm)) == RC_OK &&
        (rc = get_str(&r, root, "key_id", s->key_id, sizeof s->key_id)) == RC_OK &&
        (rc = get_str(&r, root, "public_key", s->public_key, sizeof s->public_key)) == RC_OK &&
        (rc = get_str(&r, root, "signature", s->signature, sizeof s->signature)) == RC_OK &&
        strcmp(s->algorithm, BUNDLE_SIG_ALGORITHM) != 0)
        rc = bad(&r, "algorithm", "is not " BUNDLE_SIG_ALGORITHM);
    cJSON_Delete(root);
    return rc;
}
