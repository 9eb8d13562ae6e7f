/* Class plans, online records and assessments into the store (see classes.h). */
#include "engine/classes.h"

#include "crypto.h"
#include "rc.h"
#include "timeutil.h"

#include <cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    KEYRING_MAX = 64, /* institutions' keys held during one import */
};

/* ---- the catalogue, loaded by classes_init before any thread reads it ---- */

static struct catalogue catalogue_data;
static bool catalogue_loaded;

int classes_init(char *err)
{
    if (catalogue_loaded)
        return RC_OK;
    char why[ERR_LEN];
    int rc = catalogue_load(NULL, &catalogue_data, why);
    if (rc != RC_OK)
        return rc_fail(err, rc, "subsidy catalogue: %s", why);
    catalogue_loaded = true;
    return RC_OK;
}

void classes_fini(void)
{
    memset(&catalogue_data, 0, sizeof catalogue_data);
    catalogue_loaded = false;
}

const struct catalogue *classes_catalogue(char *err)
{
    if (!catalogue_loaded) {
        rc_fail(err, RC_STATE, "subsidy catalogue: not loaded (classes_init was not called)");
        return NULL;
    }
    return &catalogue_data;
}

int classes_kind_parse(const char *s, enum classes_kind *out)
{
    if (strcmp(s, "classes") == 0)
        *out = CLASSES_PLANS;
    else if (strcmp(s, "online") == 0)
        *out = CLASSES_ONLINE;
    else if (strcmp(s, "assessments") == 0)
        *out = CLASSES_ASSESSMENTS;
    else
        return RC_INVAL;
    return RC_OK;
}

/* ---- pseudonym keys from the store ---- */

struct keyring {
    store *st;
    int rc;
    char err[ERR_LEN];
    size_t n;
    struct {
        char institution[PLAN_ID_MAX + 1];
        uint8_t key[STORE_INSTITUTION_KEY_LEN];
    } k[KEYRING_MAX];
    char class_id[PLAN_ID_MAX + 1]; /* the last class looked up, and its institution */
    char class_institution[PLAN_ID_MAX + 1];
    bool have_city;
    uint8_t city[STORE_INSTITUTION_KEY_LEN];
};

/* plan_keys.city: the collector-only city key (docs/SECURITY.md "Keys"). It is kept as the
 * pseudonym key of the reserved row CLASSES_CITY_KEY_ID of the institutions table: an id no
 * institution, token, account or kiosk can carry (ids are [A-Za-z0-9._-]), so enrolment, which
 * hands an institution's key to its kiosks, can never hand this one out. Created on first use. */
static int keyring_city(void *arg, const uint8_t **key, size_t *keylen)
{
    struct keyring *r = arg;
    if (!r->have_city) {
        uint8_t candidate[STORE_INSTITUTION_KEY_LEN];
        bool created = false;
        int rc = crypto_random_bytes(candidate, sizeof candidate, r->err);
        if (rc == RC_OK)
            rc = store_institution_key(r->st, CLASSES_CITY_KEY_ID, candidate, ts_now_ms(), r->city,
                                       &created, r->err);
        explicit_bzero(candidate, sizeof candidate);
        if (rc != RC_OK) {
            r->rc = rc;
            return -1;
        }
        r->have_city = true;
    }
    *key = r->city;
    *keylen = STORE_INSTITUTION_KEY_LEN;
    return 0;
}

/* plan_keys.lookup: the key of an institution (created with it when new: a plan may arrive
 * before any kiosk of its institution enrolled), or of the institution running a class. */
static int keyring_lookup(void *arg, const char *institution, const char *class_id,
                          const uint8_t **key, size_t *keylen)
{
    struct keyring *r = arg;
    if (!institution) {
        if (strcmp(r->class_id, class_id) != 0) {
            struct store_class c;
            int rc = store_class_get(r->st, class_id, &c, r->err);
            if (rc != RC_OK) {
                r->rc = rc;
                return -1;
            }
            snprintf(r->class_id, sizeof r->class_id, "%s", class_id);
            snprintf(r->class_institution, sizeof r->class_institution, "%s", c.institution);
        }
        institution = r->class_institution;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->k[i].institution, institution) == 0) {
            *key = r->k[i].key;
            *keylen = STORE_INSTITUTION_KEY_LEN;
            return 0;
        }
    }
    if (r->n >= KEYRING_MAX) {
        r->rc = rc_fail(r->err, RC_LIMIT, "more than %d institutions in one import", KEYRING_MAX);
        return -1;
    }
    uint8_t candidate[STORE_INSTITUTION_KEY_LEN];
    bool created = false;
    int rc = crypto_random_bytes(candidate, sizeof candidate, r->err);
    if (rc == RC_OK)
        rc = store_institution_key(r->st, institution, candidate, ts_now_ms(), r->k[r->n].key,
                                   &created, r->err);
    explicit_bzero(candidate, sizeof candidate);
    if (rc != RC_OK) {
        r->rc = rc;
        return -1;
    }
    snprintf(r->k[r->n].institution, sizeof r->k[r->n].institution, "%s", institution);
    *key = r->k[r->n].key;
    *keylen = STORE_INSTITUTION_KEY_LEN;
    r->n++;
    return 0;
}

/* A parse refused because a key lookup failed: the store's reason is the better one. An
 * unknown class stays a refused input. */
static int keyring_failure(const struct keyring *r, int rc, const char *origin, char *err)
{
    if (r->rc == RC_OK)
        return rc;
    if (r->rc == RC_NOTFOUND)
        return rc_fail(err, RC_INVAL, "%s: %s", origin, r->err);
    return rc_fail(err, r->rc, "%s: %s", origin, r->err);
}

/* ---- the pseudonymised plan as JSON ---- */

static bool add_time(cJSON *o, const char *name, int64_t ms)
{
    char buf[TS_SHANGHAI_ISO_LEN + 1];
    if (ts_format_shanghai_iso(ms, buf) != RC_OK)
        return false;
    return cJSON_AddStringToObject(o, name, buf) != NULL;
}

char *classes_plan_json(const struct plan *p)
{
    char *text = NULL;
    char date[TS_DATE_LEN + 1];
    cJSON *o = cJSON_CreateObject();
    cJSON *sessions = NULL, *roster = NULL;
    if (!o || ts_format_date(p->applied_on_ms, date) != RC_OK ||
        !cJSON_AddStringToObject(o, "id", p->id) ||
        !cJSON_AddStringToObject(o, "institution", p->institution) ||
        !cJSON_AddStringToObject(o, "district", p->district) ||
        !cJSON_AddStringToObject(o, "occupation", p->occupation) ||
        !cJSON_AddStringToObject(o, "level", catalogue_level_name(p->level)) ||
        !cJSON_AddStringToObject(o, "applied_on", date) ||
        !cJSON_AddNumberToObject(o, "rollcalls", (double)p->rollcalls) ||
        !cJSON_AddNumberToObject(o, "rollcall_window_min", (double)p->rollcall_window_min) ||
        !(sessions = cJSON_AddArrayToObject(o, "sessions")) ||
        !(roster = cJSON_AddArrayToObject(o, "roster")))
        goto out;
    for (size_t i = 0; i < p->n_sessions; i++) {
        const struct plan_session *s = &p->sessions[i];
        cJSON *so = cJSON_CreateObject();
        if (!so || !cJSON_AddItemToArray(sessions, so)) {
            cJSON_Delete(so);
            goto out;
        }
        if (!cJSON_AddStringToObject(so, "id", s->id) || !add_time(so, "start", s->start_ms) ||
            !add_time(so, "end", s->end_ms) ||
            !cJSON_AddStringToObject(so, "mode", plan_mode_name(s->mode)) ||
            (s->fence[0] && !cJSON_AddStringToObject(so, "fence", s->fence)))
            goto out;
    }
    for (size_t i = 0; i < p->n_roster; i++) {
        const struct plan_trainee *t = &p->roster[i];
        cJSON *to = cJSON_CreateObject();
        if (!to || !cJSON_AddItemToArray(roster, to)) {
            cJSON_Delete(to);
            goto out;
        }
        if (!cJSON_AddStringToObject(to, "trainee", t->pseudonym) ||
            !cJSON_AddStringToObject(to, "trainee_masked", t->masked) ||
            !cJSON_AddStringToObject(to, "name", t->name) ||
            !cJSON_AddBoolToObject(to, "student", t->student))
            goto out;
    }
    text = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return text;
}

/* ---- the import ---- */

/* The class a record names, its roster, cached across consecutive records of one class. */
struct class_cache {
    struct plan *plan; /* heap: a plan is large */
    bool loaded;
};

static int class_for_record(store *st, struct class_cache *cc, const char *class_id, char *err)
{
    if (cc->loaded && strcmp(cc->plan->id, class_id) == 0)
        return RC_OK;
    cc->loaded = false;
    int rc = store_class_plan(st, class_id, cc->plan, err);
    if (rc == RC_NOTFOUND)
        return rc_fail(err, RC_INVAL, "class '%s' does not exist", class_id);
    if (rc == RC_OK)
        cc->loaded = true;
    return rc;
}

/* Checks one record (class and trainee) against the actor's scope and the class's roster. */
static int check_record(store *st, struct class_cache *cc, const struct classes_actor *actor,
                        const char *origin, size_t index, const char *class_id, const char *trainee,
                        const char *masked, char *err)
{
    char why[ERR_LEN];
    int rc = class_for_record(st, cc, class_id, why);
    if (rc != RC_OK)
        return rc_fail(err, rc, "%s: record %zu: %s", origin, index + 1, why);
    if (actor->class_id && strcmp(actor->class_id, class_id) != 0)
        return rc_fail(err, RC_INVAL, "%s: record %zu: class '%s', but this request is for '%s'",
                       origin, index + 1, class_id, actor->class_id);
    if (actor->institution && strcmp(actor->institution, cc->plan->institution) != 0)
        return rc_fail(err, RC_AUTH, "%s: record %zu: class '%s' is not of institution %s", origin,
                       index + 1, class_id, actor->institution);
    if (plan_find_trainee(cc->plan, trainee) < 0)
        return rc_fail(err, RC_INVAL, "%s: record %zu: trainee %s is not on the roster of '%s'",
                       origin, index + 1, masked, class_id);
    return RC_OK;
}

static int import_plans(store *st, const char *data, size_t len, const char *origin,
                        enum plan_format fmt, const struct classes_actor *actor,
                        const struct plan_keys *keys, struct keyring *ring,
                        struct classes_result *res, char *err)
{
    char why[ERR_LEN];
    struct plan *plans = NULL;
    size_t n = 0;
    const struct catalogue *cat = classes_catalogue(err);
    if (!cat)
        return RC_STATE;
    int rc = plan_import_classes(data, len, origin, fmt, cat, keys, &plans, &n, err);
    if (rc != RC_OK) {
        return keyring_failure(ring, rc, origin, err);
    }
    res->records = n;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        const struct plan *p = &plans[i];
        if (i == 0)
            snprintf(res->first_class, sizeof res->first_class, "%s", p->id);
        if (actor->class_id && strcmp(actor->class_id, p->id) != 0) {
            rc = rc_fail(err, RC_INVAL, "%s: class '%s', but this request is for '%s'", origin,
                         p->id, actor->class_id);
            break;
        }
        if (actor->institution && strcmp(actor->institution, p->institution) != 0) {
            rc = rc_fail(err, RC_AUTH, "%s: class '%s' is of institution %s, not %s", origin, p->id,
                         p->institution, actor->institution);
            break;
        }
        if ((rc = store_institution_register(st, p->institution, p->district, why)) != RC_OK) {
            rc = rc_fail(err, rc, "%s: class '%s': %s", origin, p->id, why);
            break;
        }
        char *json = classes_plan_json(p);
        if (!json) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            break;
        }
        bool created = false;
        rc = store_class_put(st, p, json, actor->name, ts_now_ms(), &created, why);
        free(json);
        if (rc != RC_OK)
            rc = rc_fail(err, rc, "%s: class '%s': %s", origin, p->id, why);
        else if (created)
            res->created++;
    }
    free(plans);
    return rc;
}

static int import_online(store *st, const char *data, size_t len, const char *origin,
                         enum plan_format fmt, const struct classes_actor *actor,
                         const struct plan_keys *keys, struct keyring *ring, struct class_cache *cc,
                         struct classes_result *res, char *err)
{
    char why[ERR_LEN];
    struct plan_online *recs = NULL;
    size_t n = 0;
    int rc = plan_import_online(data, len, origin, fmt, keys, &recs, &n, err);
    if (rc != RC_OK) {
        return keyring_failure(ring, rc, origin, err);
    }
    res->records = n;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        const struct plan_online *r = &recs[i];
        if (i == 0)
            snprintf(res->first_class, sizeof res->first_class, "%s", r->class_id);
        rc = check_record(st, cc, actor, origin, i, r->class_id, r->trainee, r->masked, err);
        if (rc != RC_OK)
            break;
        bool dup = false;
        if ((rc = store_online_insert(st, r, actor->name, ts_now_ms(), &dup, why)) != RC_OK)
            rc = rc_fail(err, rc, "%s: record %zu: %s", origin, i + 1, why);
        else if (dup)
            res->duplicates++;
    }
    free(recs);
    return rc;
}

static int import_assessments(store *st, const char *data, size_t len, const char *origin,
                              enum plan_format fmt, const struct classes_actor *actor,
                              const struct plan_keys *keys, struct keyring *ring,
                              struct class_cache *cc, struct classes_result *res, char *err)
{
    char why[ERR_LEN];
    struct plan_assessment *recs = NULL;
    size_t n = 0;
    int rc = plan_import_assessments(data, len, origin, fmt, keys, &recs, &n, err);
    if (rc != RC_OK) {
        return keyring_failure(ring, rc, origin, err);
    }
    res->records = n;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        const struct plan_assessment *a = &recs[i];
        if (i == 0)
            snprintf(res->first_class, sizeof res->first_class, "%s", a->class_id);
        rc = check_record(st, cc, actor, origin, i, a->class_id, a->trainee, a->masked, err);
        if (rc != RC_OK)
            break;
        if ((rc = store_assessment_put(st, a, actor->name, ts_now_ms(), why)) != RC_OK)
            rc = rc_fail(err, rc, "%s: record %zu: %s", origin, i + 1, why);
    }
    free(recs);
    return rc;
}

int classes_import(store *st, enum classes_kind kind, const char *data, size_t len,
                   const char *origin, enum plan_format fmt, const struct classes_actor *actor,
                   struct classes_result *res, char *err)
{
    memset(res, 0, sizeof *res);
    struct keyring *ring = calloc(1, sizeof *ring);
    struct class_cache cc = {.plan = malloc(sizeof(struct plan)), .loaded = false};
    int rc = RC_OK;
    if (!ring || !cc.plan) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    ring->st = st;
    struct plan_keys keys = {
        .lookup = keyring_lookup, .arg = ring, .now = time(NULL), .city = keyring_city};
    if ((rc = store_begin(st, err)) != RC_OK)
        goto out;
    switch (kind) {
    case CLASSES_PLANS:
        rc = import_plans(st, data, len, origin, fmt, actor, &keys, ring, res, err);
        break;
    case CLASSES_ONLINE:
        rc = import_online(st, data, len, origin, fmt, actor, &keys, ring, &cc, res, err);
        break;
    case CLASSES_ASSESSMENTS:
        rc = import_assessments(st, data, len, origin, fmt, actor, &keys, ring, &cc, res, err);
        break;
    default: rc = rc_fail(err, RC_INVAL, "unknown import kind"); break;
    }
    if (rc == RC_OK)
        rc = store_commit(st, err);
    else
        store_rollback(st);
out:
    if (ring)
        explicit_bzero(ring, sizeof *ring);
    free(ring);
    free(cc.plan);
    return rc;
}
