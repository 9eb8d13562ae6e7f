/* The kiosk's schedule (see schedule_api.h). */
#include "http/schedule_api.h"

#include "crypto.h"
#include "engine/engine.h"
#include "engine/plan.h"
#include "log.h"
#include "rc.h"
#include "timeutil.h"
#include "trainee.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS INT64_C(86400000)

void schedule_api_window(int64_t now_ms, int64_t *from_ms, int64_t *to_ms)
{
    int64_t local = now_ms + TS_SHANGHAI_OFFSET_MS;
    int64_t day = local / DAY_MS - (local % DAY_MS < 0);
    int64_t midnight = day * DAY_MS - TS_SHANGHAI_OFFSET_MS;
    *from_ms = midnight - SCHEDULE_API_DAYS_BACK * DAY_MS;
    *to_ms = midnight + (SCHEDULE_API_DAYS_AHEAD + 1) * DAY_MS;
}

bool schedule_api_allow(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return auth_is(who, AUTH_ROLE_DEVICE);
}

struct ids {
    char (*v)[STORE_ID_MAX + 1];
    size_t n;
};

static int add_id(const struct store_class *c, void *ctx)
{
    struct ids *ids = ctx;
    if (ids->n >= SCHEDULE_API_CLASSES_MAX)
        return RC_LIMIT;
    snprintf(ids->v[ids->n++], STORE_ID_MAX + 1, "%s", c->id);
    return 0;
}

static bool add_time(cJSON *o, const char *key, int64_t ms)
{
    char t[TS_UTC_LEN + 1];
    return ts_format_utc(ms, t) == RC_OK && cJSON_AddStringToObject(o, key, t);
}

/* Adds class p's sessions at fence within [from, to) and its roster to classes; a class
 * without such a session adds nothing. Returns 0, RC_NOMEM or RC_INVAL (a stored name). */
static int add_class(cJSON *classes, const struct plan *p, const char *fence, int64_t from,
                     int64_t to, char *err)
{
    cJSON *c = NULL, *sessions = NULL, *roster = NULL;
    for (size_t i = 0; i < p->n_sessions; i++) {
        const struct plan_session *s = &p->sessions[i];
        if (s->mode != PLAN_OFFLINE || strcmp(s->fence, fence) != 0 || s->end_ms <= from ||
            s->start_ms >= to)
            continue;
        if (!c) {
            if (!(c = cJSON_CreateObject()) || !cJSON_AddItemToArray(classes, c)) {
                cJSON_Delete(c);
                return rc_fail(err, RC_NOMEM, "out of memory");
            }
            if (!cJSON_AddStringToObject(c, "id", p->id) ||
                !cJSON_AddNumberToObject(c, "rollcalls", (double)p->rollcalls) ||
                !cJSON_AddNumberToObject(c, "rollcall_window_min",
                                         (double)(p->rollcall_window_min > 0
                                                      ? p->rollcall_window_min
                                                      : PLAN_ROLLCALL_WINDOW_DEFAULT_MIN)) ||
                !(sessions = cJSON_AddArrayToObject(c, "sessions")))
                return rc_fail(err, RC_NOMEM, "out of memory");
        }
        cJSON *so = cJSON_CreateObject();
        if (!so || !cJSON_AddItemToArray(sessions, so)) {
            cJSON_Delete(so);
            return rc_fail(err, RC_NOMEM, "out of memory");
        }
        if (!cJSON_AddStringToObject(so, "id", s->id) || !add_time(so, "start", s->start_ms) ||
            !add_time(so, "end", s->end_ms) ||
            !cJSON_AddStringToObject(so, "mode", plan_mode_name(s->mode)))
            return rc_fail(err, RC_NOMEM, "out of memory");
    }
    if (!c)
        return RC_OK;
    if (!(roster = cJSON_AddArrayToObject(c, "roster")))
        return rc_fail(err, RC_NOMEM, "out of memory");
    for (size_t i = 0; i < p->n_roster; i++) {
        const struct plan_trainee *t = &p->roster[i];
        char name[PLAN_NAME_MAX + 1];
        int rc = trainee_name_mask(t->name, name, sizeof name, err);
        if (rc != RC_OK)
            return rc;
        cJSON *to_ = cJSON_CreateObject();
        if (!to_ || !cJSON_AddItemToArray(roster, to_)) {
            cJSON_Delete(to_);
            return rc_fail(err, RC_NOMEM, "out of memory");
        }
        if (!cJSON_AddStringToObject(to_, "trainee", t->pseudonym) ||
            !cJSON_AddStringToObject(to_, "masked", t->masked) ||
            !cJSON_AddStringToObject(to_, "name", name))
            return rc_fail(err, RC_NOMEM, "out of memory");
    }
    return RC_OK;
}

/* The schedule of enrolment e at now_ms as its canonical JSON text (malloc'd) in *out. */
static int build(store *st, const struct store_enrolment *e, int64_t now_ms, char **out, char *err)
{
    int rc = RC_OK;
    int64_t from, to;
    struct ids ids = {0};
    struct plan *p = NULL;
    struct engine_policy pol;
    cJSON *root = cJSON_CreateObject(), *classes = NULL, *policy = NULL;
    *out = NULL;
    schedule_api_window(now_ms, &from, &to);
    engine_policy_default(&pol);
    if (!root || !cJSON_AddStringToObject(root, "device", e->id) ||
        !cJSON_AddStringToObject(root, "fence", e->fence) || !add_time(root, "from", from) ||
        !add_time(root, "to", to) || !(policy = cJSON_AddObjectToObject(root, "policy")) ||
        !cJSON_AddNumberToObject(policy, "early_window_min",
                                 (double)(pol.early_window_ms / 60000)) ||
        !cJSON_AddNumberToObject(policy, "leave_grace_min", (double)(pol.leave_grace_ms / 60000)) ||
        !(classes = cJSON_AddArrayToObject(root, "classes"))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    if (!(ids.v = calloc(SCHEDULE_API_CLASSES_MAX, sizeof *ids.v)) || !(p = malloc(sizeof *p))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    struct store_class_filter f = {.institution = e->institution, .from_ms = from, .to_ms = to};
    rc = store_class_list(st, &f, SCHEDULE_API_CLASSES_MAX + 1, add_id, &ids, err);
    if (rc == RC_LIMIT) {
        rc = rc_fail(err, RC_LIMIT, "more than %d classes of institution '%s' in the window",
                     SCHEDULE_API_CLASSES_MAX, e->institution);
        goto out;
    }
    if (rc != RC_OK)
        goto out;
    for (size_t i = 0; i < ids.n; i++) {
        if ((rc = store_class_plan(st, ids.v[i], p, err)) != RC_OK ||
            (rc = add_class(classes, p, e->fence, from, to, err)) != RC_OK)
            goto out;
    }
    if (!(*out = cJSON_PrintUnformatted(root)))
        rc = rc_fail(err, RC_NOMEM, "out of memory");
out:
    free(p);
    free(ids.v);
    cJSON_Delete(root);
    return rc;
}

void schedule_api_get(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    const char *id = req->params[0];
    if (!auth_is_device(req->who, id)) {
        http_reply_error(res, 403, "a device reads only its own schedule");
        return;
    }
    struct store_enrolment *e = malloc(sizeof *e);
    if (!e) {
        http_reply_error(res, 500, "internal error");
        return;
    }
    char *text = NULL;
    int rc = store_enrolment_get(req->db, id, e, err);
    if (rc == RC_OK)
        rc = build(req->db, e, ts_now_ms(), &text, err);
    free(e);
    if (rc == RC_NOTFOUND) {
        http_reply_error(res, 403, "device '%s' is not enrolled", id);
        return;
    }
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "GET /v1/devices/%s/schedule: %s", id, err);
        if (rc == RC_LIMIT)
            http_reply_error(res, 500, "%s", err);
        else
            http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                             rc == RC_DB ? "database busy, retry later" : "internal error");
        return;
    }
    char hex[CRYPTO_SHA256_HEX_LEN + 1];
    size_t len = strlen(text);
    crypto_sha256_hex(text, len, hex);
    snprintf(res->etag_buf, sizeof res->etag_buf, "\"%s\"", hex);
    res->etag = res->etag_buf;
    /* The ETag is a strong validator of exactly these bytes: a kiosk holding them gets 304. */
    const char *inm = http_header(req, "If-None-Match");
    if (http_etag_matches(inm, res->etag_buf)) {
        cJSON_free(text);
        res->status = 304;
        return;
    }
    res->status = 200;
    res->body = text; /* cJSON allocates with malloc: http.c frees it */
    res->len = len;
}
