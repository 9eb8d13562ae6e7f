/* Route handlers that exist so far, and the route table. Each route's allow function is the
 * single place that says who may call it. */
#include "api.h"

#include "log.h"
#include "rc.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Who may call what. */

static bool allow_admin(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return auth_is(who, AUTH_ROLE_ADMIN);
}

static bool allow_enroll(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return auth_is(who, AUTH_ROLE_ENROLL);
}

static bool allow_device(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    /* Which device a batch belongs to is checked against the token's id by ingest, event by
     * event; here any device token may knock. */
    return auth_is(who, AUTH_ROLE_DEVICE);
}

/* Handlers. */

static void handle_healthz(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    int version = 0;
    if (store_schema_version(req->db, &version, err) != RC_OK) {
        log_msg(LOG_LVL_ERROR, "healthz: %s", err);
        http_reply_error(res, 503, "database unavailable");
        return;
    }
    char body[128];
    snprintf(body, sizeof body, "{\"status\":\"ok\",\"schema\":%d}", version);
    http_reply_json(res, 200, body);
}

static void handle_metrics(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    int64_t seen = 0;
    if (store_device_count_seen(req->db, &seen, err) == RC_OK)
        metrics_devices_seen(req->metrics, seen);
    else
        log_msg(LOG_LVL_WARN, "metrics: %s", err);
    char *text = NULL;
    size_t len = 0;
    if (metrics_render(req->metrics, &text, &len, err) != RC_OK) {
        log_msg(LOG_LVL_ERROR, "metrics: %s", err);
        http_reply_error(res, 500, "internal error");
        return;
    }
    res->status = 200;
    res->body = text;
    res->len = len;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* UTC milliseconds as RFC 3339 ("2026-11-02T01:00:00.000Z"), or NULL for 0. */
static cJSON *json_time(int64_t ms)
{
    if (ms <= 0)
        return cJSON_CreateNull();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return cJSON_CreateNull();
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return cJSON_CreateString(buf);
}

static int add_device(const struct store_device *d, void *ctx)
{
    cJSON *arr = ctx;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o))
        goto fail;
    if (!cJSON_AddStringToObject(o, "id", d->id) ||
        !cJSON_AddStringToObject(o, "institution", d->institution) ||
        !cJSON_AddItemToObject(o, "enrolled_at", json_time(d->enrolled_at_ms)) ||
        !cJSON_AddItemToObject(o, "last_seen", json_time(d->last_seen_at_ms)) ||
        !cJSON_AddNumberToObject(o, "head_seq", (double)d->head_seq))
        return RC_NOMEM;
    return 0;
fail:
    cJSON_Delete(o);
    return RC_NOMEM;
}

static void handle_devices_list(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "out of memory";
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    if (!root || !arr || !cJSON_AddItemToObject(root, "devices", arr)) {
        cJSON_Delete(arr);
        goto fail;
    }
    if (store_device_list(req->db, API_DEVICES_LIST_MAX, add_device, arr, err) != RC_OK)
        goto fail;
    char *text = cJSON_PrintUnformatted(root);
    if (!text)
        goto fail;
    cJSON_Delete(root);
    res->status = 200;
    res->body = text;
    res->len = strlen(text);
    return;
fail:
    cJSON_Delete(root);
    log_msg(LOG_LVL_ERROR, "GET /v1/devices: %s", err);
    http_reply_error(res, 500, "internal error");
}

/* Routes whose work arrives with enrolment and ingest: they already authenticate, authorise
 * and take a bounded (decoded) body, and say so. */
static void handle_not_yet(struct http_request *req, struct http_response *res)
{
    http_reply_error(res, 501, "%s %s is not implemented yet (received %zu body bytes)",
                     req->method, req->path, req->body_len);
}

static const struct http_route routes[] = {
    {"GET", "/healthz", handle_healthz, http_anyone},
    {"GET", "/metrics", handle_metrics, http_anyone},
    {"GET", "/v1/devices", handle_devices_list, allow_admin},
    {"POST", "/v1/devices", handle_not_yet, allow_enroll},
    {"POST", "/v1/batches", handle_not_yet, allow_device},
};

const struct http_route *api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
