/* The alert routes (alerts_api.h). */
#include "http/alerts_api.h"

#include "alert/alert.h"
#include "http/scope.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"
#include "timeutil.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool alerts_api_allow(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return auth_is(who, AUTH_ROLE_ADMIN) || auth_is(who, AUTH_ROLE_CITY) ||
           auth_is(who, AUTH_ROLE_DISTRICT);
}

/* The district whose subscriptions who sees: NULL for all (admin). */
static const char *who_district(const struct auth_principal *who)
{
    return auth_is(who, AUTH_ROLE_DISTRICT) ? who->role.scope : NULL;
}

static cJSON *time_or_null(int64_t ms)
{
    char t[TS_UTC_LEN + 1];
    if (ms <= 0 || ts_format_utc(ms, t) != RC_OK)
        return cJSON_CreateNull();
    return cJSON_CreateString(t);
}

static cJSON *str_or_null(const char *s)
{
    return *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

cJSON *alerts_api_sub_json(const struct store_alert_sub *s)
{
    char masked[ALERT_MASKED_URL_MAX + 1];
    alert_mask_url(s->url, masked, sizeof masked);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddNumberToObject(o, "id", (double)s->id) ||
        !cJSON_AddStringToObject(o, "name", s->name) ||
        !cJSON_AddItemToObject(o, "district", str_or_null(s->district)) ||
        !cJSON_AddStringToObject(o, "format", s->format) ||
        !cJSON_AddStringToObject(o, "url", masked) ||
        !cJSON_AddBoolToObject(o, "ca_file", s->ca_file[0] != '\0') ||
        !cJSON_AddStringToObject(o, "created_by", s->created_by) ||
        !cJSON_AddItemToObject(o, "created_at", time_or_null(s->created_at_ms))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void reply_tree(struct http_response *res, unsigned status, cJSON *root, const char *what)
{
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        log_msg(LOG_LVL_ERROR, "%s: out of memory", what);
        http_reply_error(res, 500, "internal error");
        return;
    }
    res->status = status;
    res->body = text;
    res->len = strlen(text);
}

static int add_sub(const struct store_alert_sub *s, void *ctx)
{
    cJSON *o = alerts_api_sub_json(s);
    if (!o || !cJSON_AddItemToArray(ctx, o)) {
        cJSON_Delete(o);
        return RC_NOMEM;
    }
    return 0;
}

void alerts_api_list(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "out of memory";
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    if (!root || !arr || !cJSON_AddItemToObject(root, "subscriptions", arr)) {
        cJSON_Delete(arr);
        goto fail;
    }
    if (store_alert_sub_list(req->db, who_district(req->who), add_sub, arr, err) != RC_OK)
        goto fail;
    reply_tree(res, 200, root, "GET /v1/alerts/subscriptions");
    return;
fail:
    cJSON_Delete(root);
    log_msg(LOG_LVL_ERROR, "GET /v1/alerts/subscriptions: %s", err);
    http_reply_error(res, 500, "internal error");
}

/* Reads {"name", "url", "format", "district"?} into s. RC_INVAL (400; *not_json set when the
 * body is not JSON at all) or RC_AUTH (403) with the reason. */
static int sub_body(const struct http_request *req, struct store_alert_sub *s, bool *not_json,
                    char *err)
{
    cJSON *root = NULL;
    int rc = jsonin_parse((const char *)req->body, req->body_len, &root, err);
    if (rc == RC_INVAL)
        *not_json = true;
    if (rc != RC_OK)
        return rc;
    if (!cJSON_IsObject(root)) {
        rc = rc_fail(err, RC_INVAL, "expected a JSON object {\"name\", \"url\", \"format\"}");
        goto out;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, root)
    {
        if (strcmp(m->string, "name") != 0 && strcmp(m->string, "url") != 0 &&
            strcmp(m->string, "format") != 0 && strcmp(m->string, "district") != 0) {
            rc = rc_fail(err, RC_INVAL, "unknown member '%.64s' (name, url, format, district)",
                         m->string);
            goto out;
        }
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(root, "url");
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *district = cJSON_GetObjectItemCaseSensitive(root, "district");
    if (!cJSON_IsString(name) || !auth_name_valid(name->valuestring)) {
        rc = rc_fail(err, RC_INVAL, "name must be 1..%d of [A-Za-z0-9._:@-]", STORE_TOKEN_NAME_MAX);
        goto out;
    }
    if (!cJSON_IsString(format) || !alert_format_valid(format->valuestring)) {
        rc = rc_fail(err, RC_INVAL, "format must be json, wecom-markdown or wecom-text");
        goto out;
    }
    if (!cJSON_IsString(url)) {
        rc = rc_fail(err, RC_INVAL, "url must be a string");
        goto out;
    }
    if ((rc = alert_url_check(url->valuestring, err)) != RC_OK)
        goto out;
    const char *d = "";
    if (district && !cJSON_IsNull(district)) {
        struct auth_role r;
        char role[STORE_ROLE_MAX + 1];
        if (!cJSON_IsString(district) ||
            snprintf(role, sizeof role, "district:%.16s", district->valuestring) < 0 ||
            auth_role_parse(role, &r, err) != RC_OK) {
            rc = rc_fail(err, RC_INVAL, "district must be a 6-digit code or null");
            goto out;
        }
        d = district->valuestring;
    }
    if (auth_is(req->who, AUTH_ROLE_DISTRICT)) {
        /* a district subscribes to its own institutions' findings only */
        if (*d && strcmp(d, req->who->role.scope) != 0) {
            rc = rc_fail(err, RC_AUTH, "district %s is outside this caller's scope", d);
            goto out;
        }
        d = req->who->role.scope;
    }
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name->valuestring);
    snprintf(s->format, sizeof s->format, "%s", format->valuestring);
    snprintf(s->url, sizeof s->url, "%s", url->valuestring);
    snprintf(s->district, sizeof s->district, "%.6s", d);
    snprintf(s->created_by, sizeof s->created_by, "%s", req->who->name);
    s->created_at_ms = ts_now_ms();
out:
    cJSON_Delete(root);
    return rc;
}

void alerts_api_create(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    struct store_alert_sub s;
    if (req->body_len > ALERTS_API_BODY_MAX) {
        http_reply_error(res, 413, "subscription body over %d bytes", ALERTS_API_BODY_MAX);
        return;
    }
    bool not_json = false;
    int rc = sub_body(req, &s, &not_json, err);
    if (rc == RC_AUTH) {
        scope_refuse(req, res, err);
        return;
    }
    if (rc != RC_OK) {
        http_reply_coded(res, rc == RC_NOMEM ? 500 : 400,
                         not_json ? HTTP_E_INVALID_JSON : HTTP_E_STATUS, "%s", err);
        return;
    }
    rc = store_alert_sub_insert(req->db, &s, err);
    if (rc == RC_CONFLICT) {
        http_reply_error(res, 409, "%s", err);
        return;
    }
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "POST /v1/alerts/subscriptions: %s", err);
        http_reply_error(res, 500, "internal error");
        return;
    }
    char masked[ALERT_MASKED_URL_MAX + 1];
    alert_mask_url(s.url, masked, sizeof masked);
    log_msg(LOG_LVL_INFO, "alert subscription %lld '%s' (%s, district %s, %s) added by '%s'",
            (long long)s.id, s.name, s.format, s.district[0] ? s.district : "all", masked,
            req->who->name);
    reply_tree(res, 201, alerts_api_sub_json(&s), "POST /v1/alerts/subscriptions");
}

/* Parses a positive decimal id; false when it is not one. */
static bool parse_id(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 18)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0)
        return false;
    *out = v;
    return true;
}

void alerts_api_delete(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    int64_t id = 0;
    if (!parse_id(req->params[0], &id)) {
        http_reply_error(res, 404, "no alert subscription '%.32s'", req->params[0]);
        return;
    }
    struct store_alert_sub s;
    int rc = store_alert_sub_get(req->db, id, &s, err);
    /* another district's subscription answers as a missing one: its existence is not ours to
     * tell */
    const char *d = who_district(req->who);
    if (rc == RC_NOTFOUND || (rc == RC_OK && d && strcmp(s.district, d) != 0)) {
        http_reply_error(res, 404, "no alert subscription %lld", (long long)id);
        return;
    }
    if (rc == RC_OK)
        rc = store_alert_sub_remove(req->db, id, ts_now_ms(), err);
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "DELETE /v1/alerts/subscriptions/%lld: %s", (long long)id, err);
        http_reply_error(res, 500, "internal error");
        return;
    }
    log_msg(LOG_LVL_INFO, "alert subscription %lld '%s' removed by '%s'", (long long)id, s.name,
            req->who->name);
    res->status = 204;
}

static int add_delivery(const struct store_alert_delivery *d, void *ctx)
{
    const struct store_finding_row *f = &d->finding;
    char fid[32];
    snprintf(fid, sizeof fid, "F%lld", (long long)f->id);
    cJSON *o = cJSON_CreateObject(), *so = cJSON_CreateObject(), *fo = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(ctx, o)) {
        cJSON_Delete(o);
        cJSON_Delete(so);
        cJSON_Delete(fo);
        return RC_NOMEM;
    }
    if (!so || !cJSON_AddItemToObject(o, "subscription", so)) {
        cJSON_Delete(so);
        cJSON_Delete(fo);
        return RC_NOMEM;
    }
    if (!fo || !cJSON_AddItemToObject(o, "finding", fo)) {
        cJSON_Delete(fo);
        return RC_NOMEM;
    }
    if (!cJSON_AddNumberToObject(o, "id", (double)d->id) ||
        !cJSON_AddNumberToObject(so, "id", (double)d->sub.id) ||
        !cJSON_AddStringToObject(so, "name", d->sub.name) ||
        !cJSON_AddStringToObject(fo, "id", fid) || !cJSON_AddStringToObject(fo, "kind", f->kind) ||
        !cJSON_AddItemToObject(fo, "institution", str_or_null(f->institution)) ||
        !cJSON_AddItemToObject(fo, "district", str_or_null(d->district)) ||
        !cJSON_AddItemToObject(fo, "device", str_or_null(f->device)) ||
        !cJSON_AddStringToObject(fo, "detail", f->detail) ||
        !cJSON_AddItemToObject(fo, "created_at", time_or_null(f->created_at_ms)) ||
        !cJSON_AddStringToObject(o, "state", d->state) ||
        !cJSON_AddNumberToObject(o, "attempts", (double)d->attempts) ||
        !cJSON_AddItemToObject(o, "next_at",
                               strcmp(d->state, "pending") == 0 ? time_or_null(d->next_at_ms)
                                                                : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(o, "last_status",
                               d->last_status > 0 ? cJSON_CreateNumber((double)d->last_status)
                                                  : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(o, "last_error", str_or_null(d->last_error)) ||
        !cJSON_AddItemToObject(o, "last_at", time_or_null(d->last_at_ms)) ||
        !cJSON_AddItemToObject(o, "delivered_at", time_or_null(d->delivered_at_ms)) ||
        !cJSON_AddItemToObject(o, "created_at", time_or_null(d->created_at_ms)))
        return RC_NOMEM;
    return 0;
}

void alerts_api_deliveries(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "out of memory";
    int64_t sub = 0, limit = ALERTS_API_LIST_DEFAULT;
    const char *qs = http_query(req, "subscription"), *ql = http_query(req, "limit");
    if (qs && !parse_id(qs, &sub)) {
        http_reply_error(res, 400, "subscription must be a subscription id");
        return;
    }
    if (ql && (!parse_id(ql, &limit) || limit > ALERTS_API_LIST_MAX)) {
        http_reply_error(res, 400, "limit must be 1..%d", ALERTS_API_LIST_MAX);
        return;
    }
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    if (!root || !arr || !cJSON_AddItemToObject(root, "deliveries", arr)) {
        cJSON_Delete(arr);
        goto fail;
    }
    struct store_alert_filter f = {.district = who_district(req->who), .subscription = sub};
    if (store_alert_deliveries(req->db, &f, (size_t)limit, add_delivery, arr, err) != RC_OK)
        goto fail;
    reply_tree(res, 200, root, "GET /v1/alerts/deliveries");
    return;
fail:
    cJSON_Delete(root);
    log_msg(LOG_LVL_ERROR, "GET /v1/alerts/deliveries: %s", err);
    http_reply_error(res, 500, "internal error");
}
