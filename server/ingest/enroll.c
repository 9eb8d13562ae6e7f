/* Enrolment: request checks, then one transaction for the institution key, the fence, the
 * device and its token. */
#include "ingest/enroll.h"

#include "crypto.h"
#include "engine/fences.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"
#include "timeutil.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int refuse(struct enroll_answer *ans, unsigned status,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ans->reason, sizeof ans->reason, fmt, ap);
    va_end(ap);
    ans->status = status;
    return RC_OK;
}

/* A string member of 1..max bytes; NULL (with ans refused) otherwise. */
static const char *member_string(const cJSON *o, const char *name, size_t max,
                                 struct enroll_answer *ans)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!m) {
        refuse(ans, 400, "missing \"%s\"", name);
        return NULL;
    }
    if (!cJSON_IsString(m) || !m->valuestring[0] || strlen(m->valuestring) > max) {
        refuse(ans, 400, "\"%s\" must be a string of 1..%zu bytes", name, max);
        return NULL;
    }
    return m->valuestring;
}

/* What the request says, checked. */
struct request {
    const char *device, *institution, *profile, *fence_id;
    char pem[CRYPTO_PUBKEY_PEM_MAX]; /* normalised SubjectPublicKeyInfo */
    char fingerprint[CRYPTO_SHA256_HEX_LEN + 1];
    double assumed_eph_m;
    struct fences_item *fence;
    size_t nfence;
};

static int read_request(const cJSON *o, struct request *r, struct enroll_answer *ans, char *err)
{
    static const char *const known[] = {"device",        "institution", "public_key", "profile",
                                        "assumed_eph_m", "fence",       "fence_id"};
    if (!cJSON_IsObject(o))
        return refuse(ans, 400, "the body must be a JSON object");
    for (const cJSON *m = o->child; m; m = m->next) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || strcmp(m->string, known[i]) == 0;
        if (!ok)
            return refuse(ans, 400, "unknown member \"%.40s\"", m->string);
    }
    if (!(r->device = member_string(o, "device", STORE_ID_MAX, ans)) ||
        !(r->institution = member_string(o, "institution", STORE_ID_MAX, ans)) ||
        !(r->profile = member_string(o, "profile", STORE_PROFILE_MAX, ans)) ||
        !(r->fence_id = member_string(o, "fence_id", STORE_ID_MAX, ans)))
        return RC_OK;
    if (!auth_id_valid(r->device))
        return refuse(ans, 400, "\"device\" must be 1..%d of [A-Za-z0-9._-]", STORE_ID_MAX);
    if (!auth_id_valid(r->institution))
        return refuse(ans, 400, "\"institution\" must be 1..%d of [A-Za-z0-9._-]", STORE_ID_MAX);
    if (!auth_id_valid(r->fence_id))
        return refuse(ans, 400, "\"fence_id\" must be 1..%d of [A-Za-z0-9._-]", STORE_ID_MAX);
    for (const char *c = r->profile; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return refuse(ans, 400, "\"profile\" must not hold control characters");
    }
    const cJSON *eph = cJSON_GetObjectItemCaseSensitive(o, "assumed_eph_m");
    if (!eph)
        return refuse(ans, 400, "missing \"assumed_eph_m\"");
    if (!cJSON_IsNumber(eph) || !isfinite(eph->valuedouble) || eph->valuedouble < 0 ||
        eph->valuedouble > ENROLL_EPH_MAX_M)
        return refuse(ans, 400, "\"assumed_eph_m\" must be a number of metres in 0..%.0f",
                      ENROLL_EPH_MAX_M);
    r->assumed_eph_m = eph->valuedouble;

    const char *pem = member_string(o, "public_key", CRYPTO_PUBKEY_PEM_MAX - 1, ans);
    if (!pem)
        return RC_OK;
    crypto_key *key = NULL;
    char why[ERR_LEN];
    if (crypto_key_from_public_pem(pem, &key, why) != RC_OK)
        return refuse(ans, 400, "\"public_key\": %s", why);
    int rc = crypto_key_public_pem(key, r->pem, sizeof r->pem, err);
    if (rc == RC_OK)
        rc = crypto_key_fingerprint(key, r->fingerprint, err);
    crypto_key_destroy(key);
    if (rc != RC_OK)
        return rc;

    const cJSON *fence = cJSON_GetObjectItemCaseSensitive(o, "fence");
    if (!cJSON_IsObject(fence))
        return refuse(ans, 400, "\"fence\" must be a GeoJSON Feature or FeatureCollection");
    char *text = cJSON_PrintUnformatted(fence);
    if (!text)
        return rc_fail(err, RC_NOMEM, "out of memory");
    rc = fences_split(text, strlen(text), "fence", r->fence_id, &r->fence, &r->nfence, why);
    free(text);
    if (rc == RC_NOMEM)
        return rc_fail(err, rc, "out of memory");
    if (rc != RC_OK)
        return refuse(ans, 400, "%s", why);
    return RC_OK;
}

/* The stored key's fingerprint, to compare with the request's. */
static int stored_fingerprint(const char *pem, char out[CRYPTO_SHA256_HEX_LEN + 1], char *err)
{
    crypto_key *key = NULL;
    int rc = crypto_key_from_public_pem(pem, &key, err);
    if (rc == RC_OK)
        rc = crypto_key_fingerprint(key, out, err);
    crypto_key_destroy(key);
    if (rc != RC_OK)
        return rc_fail(err, RC_CORRUPT, "a stored device key does not load");
    return RC_OK;
}

/* Inside the transaction. Fills ans (accepted or refused) or returns a store failure. */
static int enrol(store *st, const struct request *r, const char *by, int64_t now_ms,
                 struct enroll_answer *ans, char *err)
{
    struct store_enrolment cur;
    int rc = store_enrolment_get(st, r->device, &cur, err);
    bool known = rc == RC_OK;
    if (rc != RC_OK && rc != RC_NOTFOUND)
        return rc;
    if (known) {
        char fp[CRYPTO_SHA256_HEX_LEN + 1];
        if ((rc = stored_fingerprint(cur.public_key_pem, fp, err)) != RC_OK)
            return rc;
        if (strcmp(fp, r->fingerprint) != 0)
            return refuse(ans, 409, "device already enrolled with another key");
        if (strcmp(cur.institution, r->institution) != 0)
            return refuse(ans, 409, "device already enrolled for another institution");
    }
    uint8_t candidate[STORE_INSTITUTION_KEY_LEN], key[STORE_INSTITUTION_KEY_LEN];
    if ((rc = crypto_random_bytes(candidate, sizeof candidate, err)) != RC_OK)
        return rc;
    bool created = false;
    rc = store_institution_key(st, r->institution, candidate, now_ms, key, &created, err);
    explicit_bzero(candidate, sizeof candidate);
    if (rc != RC_OK)
        return rc;
    crypto_hex(key, sizeof key, ans->institution_key);
    explicit_bzero(key, sizeof key);
    if (created)
        log_msg(LOG_LVL_INFO, "institution '%s' created with a new pseudonym key", r->institution);

    enum store_fence_outcome outcome;
    int version = 0;
    char who[STORE_ID_MAX + 16];
    snprintf(who, sizeof who, "enrol:%s", r->device);
    rc = store_fence_put(st, r->fence->id, r->fence->feature, r->fence->sha256, who, now_ms, false,
                         &outcome, &version, err);
    if (rc == RC_CONFLICT)
        return refuse(ans, 409, "%s", err);
    if (rc != RC_OK)
        return rc;

    struct store_enrolment e = {.assumed_eph_m = r->assumed_eph_m, .enrolled_at_ms = now_ms};
    snprintf(e.id, sizeof e.id, "%s", r->device);
    snprintf(e.institution, sizeof e.institution, "%s", r->institution);
    snprintf(e.public_key_pem, sizeof e.public_key_pem, "%s", r->pem);
    snprintf(e.profile, sizeof e.profile, "%s", r->profile);
    snprintf(e.fence, sizeof e.fence, "%s", r->fence_id);
    snprintf(e.enrolled_by, sizeof e.enrolled_by, "%s", by ? by : "");
    rc = known ? store_enrolment_update(st, &e, err) : store_enrolment_insert(st, &e, err);
    if (rc != RC_OK)
        return rc;

    /* A token name shows in logs: the device id, when, and a random tail for uniqueness. */
    char role[STORE_ROLE_MAX + 1];
    snprintf(role, sizeof role, "device:%s", r->device);
    uint8_t tail[3];
    if ((rc = crypto_random_bytes(tail, sizeof tail, err)) != RC_OK)
        return rc;
    char tail_hex[7];
    crypto_hex(tail, sizeof tail, tail_hex);
    char name[STORE_TOKEN_NAME_MAX + 1];
    snprintf(name, sizeof name, "%.40s@%lld-%s", r->device, (long long)now_ms, tail_hex);
    rc = auth_token_create_by(st, role, name, by ? by : "", ans->device_token, err);
    if (rc != RC_OK)
        return rc;
    snprintf(ans->device, sizeof ans->device, "%s", r->device);
    snprintf(ans->institution, sizeof ans->institution, "%s", r->institution);
    ans->status = known ? 200 : 201;
    return RC_OK;
}

int enroll_device(store *st, const char *bound, const char *by, const char *body, size_t len,
                  int64_t now_ms, struct enroll_answer *ans, char *err)
{
    struct request r = {0};
    cJSON *root = NULL;
    memset(ans, 0, sizeof *ans);
    char why[ERR_LEN];
    int rc = jsonin_parse(body, len, &root, why);
    if (rc != RC_OK) {
        refuse(ans, 400, "body: %s", why);
        return RC_OK;
    }
    rc = read_request(root, &r, ans, err);
    if (rc != RC_OK || ans->status)
        goto out;
    /* The token decides the institution, so it hands out that institution's key only. */
    if (!bound[0]) {
        refuse(ans, 403,
               "this enroll token is bound to no institution (made before enrol tokens were "
               "bound): create one with 'rollcall-server token create --role enroll "
               "--institution %s --name NAME'",
               r.institution);
        goto out;
    }
    if (strcmp(bound, r.institution) != 0) {
        refuse(ans, 403, "this enroll token enrols devices of institution '%s', not '%s'", bound,
               r.institution);
        goto out;
    }
    rc = store_begin(st, err);
    if (rc != RC_OK)
        goto out;
    rc = enrol(st, &r, by, now_ms, ans, err);
    if (rc != RC_OK || ans->status >= 300) {
        store_rollback(st);
        goto out;
    }
    rc = store_commit(st, err);
out:
    if (rc != RC_OK)
        memset(ans, 0, sizeof *ans); /* no half answer, no token */
    fences_items_free(r.fence, r.nfence);
    cJSON_Delete(root);
    return rc;
}

void enroll_http_post(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    struct enroll_answer ans;
    int rc =
        enroll_device(req->db, req->who ? req->who->role.scope : "", req->who ? req->who->name : "",
                      (const char *)req->body, req->body_len, ts_now_ms(), &ans, err);
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "POST /v1/devices: %s", err);
        http_reply_error(res, 500, "internal error");
        return;
    }
    if (ans.status >= 300) {
        log_msg(LOG_LVL_INFO, "enrolment refused (%u): %s", ans.status, ans.reason);
        http_reply_error(res, ans.status, "%s", ans.reason);
        return;
    }
    char now[TS_UTC_LEN + 1];
    ts_format_utc(ts_now_ms(), now);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "device", ans.device) ||
        !cJSON_AddStringToObject(o, "institution", ans.institution) ||
        !cJSON_AddStringToObject(o, "institution_key", ans.institution_key) ||
        !cJSON_AddStringToObject(o, "device_token", ans.device_token) ||
        !cJSON_AddStringToObject(o, "server_time", now)) {
        cJSON_Delete(o);
        http_reply_error(res, 500, "out of memory");
        goto out;
    }
    res->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!res->body) {
        http_reply_error(res, 500, "out of memory");
        goto out;
    }
    res->len = strlen(res->body);
    res->status = ans.status;
    res->content_type = NULL;
    log_msg(LOG_LVL_INFO, "device '%s' of institution '%s' %s", ans.device, ans.institution,
            ans.status == 201 ? "enrolled" : "re-enrolled (same key)");
out:
    explicit_bzero(&ans, sizeof ans);
}
