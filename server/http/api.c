/* Route handlers that exist so far, and the route table. Each route's allow function is the
 * single place that says who may call it. */
#include "http/api.h"

#include "http/admin_api.h"
#include "http/alerts_api.h"
#include "http/fences_api.h"
#include "http/figures_api.h"
#include "http/health.h"
#include "http/live_api.h"
#include "http/openapi.h"
#include "http/photo_api.h"
#include "http/schedule_api.h"
#include "http/scope.h"
#include "http/session.h"
#include "http/subsidy_api.h"
#include "http/tokens_api.h"
#include "ingest/enroll.h"
#include "ingest/ingest.h"
#include "log.h"
#include "rc.h"
#include "timeutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Set by api_init before the first request, read by request threads afterwards. */
static ingest_writer *batch_writer;

void api_init(ingest_writer *w)
{
    batch_writer = w;
}

void api_fini(void)
{
    batch_writer = NULL;
}

/* Who may call what. */

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

/* Which devices a reader may see: the one place that scopes GET /v1/devices. Returns false
 * when the caller may see none; a NULL *institution / *district does not narrow. Admin: all;
 * an institution: its own; a district bureau: those of the institutions registered in its
 * district (remote monitoring of kiosk health). Evaluators assess figures, not kiosks. */
static bool device_scope(const struct auth_principal *who, const char **institution,
                         const char **district)
{
    *institution = *district = NULL;
    if (auth_is(who, AUTH_ROLE_ADMIN) || auth_is(who, AUTH_ROLE_CITY))
        return true;
    if (auth_is(who, AUTH_ROLE_INSTITUTION)) {
        *institution = who->role.scope;
        return true;
    }
    if (auth_is(who, AUTH_ROLE_DISTRICT)) {
        *district = who->role.scope;
        return true;
    }
    return false;
}

static bool allow_device_readers(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    const char *institution, *district;
    return device_scope(who, &institution, &district);
}

/* Handlers. */

/* 200 when every check of health.h passes, else 503 naming each problem; both with the
 * figures checked. Public, so nothing secret goes in. Not logged: probes come every few
 * seconds, and the answer itself says what is wrong. */
static void handle_healthz(struct http_request *req, struct http_response *res)
{
    struct health_report r;
    health_check(req->db, &r);
    char *body = health_json(&r);
    if (!body) {
        http_reply_error(res, 500, "internal error");
        return;
    }
    res->status = r.nproblems ? 503 : 200;
    res->body = body;
    res->len = strlen(body);
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
    struct health_report r;
    health_check(req->db, &r);
    char *gauges[2] = {health_gauges(&r), health_device_gauges(req->db)};
    for (size_t i = 0; i < 2; i++) {
        char *both = gauges[i] && text ? realloc(text, len + strlen(gauges[i]) + 1) : NULL;
        if (!both) {
            free(text);
            text = NULL;
            continue;
        }
        text = both;
        memcpy(text + len, gauges[i], strlen(gauges[i]) + 1);
        len += strlen(gauges[i]);
    }
    free(gauges[0]);
    free(gauges[1]);
    if (!text) {
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
        !cJSON_AddStringToObject(o, "profile", d->profile) ||
        !cJSON_AddStringToObject(o, "fence", d->fence) ||
        !cJSON_AddItemToObject(o, "enrolled_at", json_time(d->enrolled_at_ms)) ||
        !cJSON_AddItemToObject(o, "last_seen", json_time(d->last_seen_at_ms)) ||
        !cJSON_AddNumberToObject(o, "head_seq", (double)d->head_seq))
        return RC_NOMEM;
    const struct store_device_status *s = &d->status;
    cJSON *gnss = cJSON_CreateObject();
    if (!gnss || !cJSON_AddItemToObject(o, "gnss", gnss)) {
        cJSON_Delete(gnss);
        return RC_NOMEM;
    }
    if (!cJSON_AddItemToObject(
            o, "queue", s->has_queue ? cJSON_CreateNumber((double)s->queue) : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(o, "clock_skew_ms",
                               s->has_skew ? cJSON_CreateNumber((double)s->clock_skew_ms)
                                           : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(gnss, "last_event",
                               s->gnss[0] ? cJSON_CreateString(s->gnss) : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(gnss, "fix_mode",
                               s->has_fix ? cJSON_CreateNumber(s->fix_mode) : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(gnss, "fix_at", json_time(s->has_fix ? s->fix_ts_ms : 0)))
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
    const char *institution = NULL, *district = NULL;
    if (!device_scope(req->who, &institution, &district)) {
        cJSON_Delete(root);
        http_reply_error(res, 403, "this token's role may not list devices");
        return;
    }
    /* ?institution= and ?district= narrow further, under the same rule as the figures
     * listings: a filter outside the token's scope is 403, not an empty list. */
    const char *want_inst = http_query(req, "institution"),
               *want_dist = http_query(req, "district");
    if ((want_inst && strlen(want_inst) > FIGURES_API_QUERY_MAX) ||
        (want_dist && strlen(want_dist) > FIGURES_API_QUERY_MAX)) {
        cJSON_Delete(root);
        http_reply_error(res, 400, "query arguments institution and district are at most %d bytes",
                         FIGURES_API_QUERY_MAX);
        return;
    }
    int rc = scope_narrow(req->db, req->who, want_inst, want_dist, &institution, &district, err);
    if (rc == RC_AUTH) {
        cJSON_Delete(root);
        scope_refuse(req, res, err);
        return;
    }
    if (rc != RC_OK)
        goto fail;
    if (store_device_list_scoped(req->db, institution, district, API_DEVICES_LIST_MAX, add_device,
                                 arr, err) != RC_OK)
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

static enum metrics_refusal refusal_reason(const struct ingest_result *r)
{
    switch (r->finding) {
    case INGEST_FINDING_BAD_SIGNATURE: return METRICS_REFUSED_BAD_SIGNATURE;
    case INGEST_FINDING_CHAIN_CONFLICT:
    case INGEST_FINDING_CHAIN_BREAK: return METRICS_REFUSED_CHAIN_BREAK;
    case INGEST_FINDING_FOREIGN_EVENTS: return METRICS_REFUSED_FORBIDDEN;
    case INGEST_FINDING_BAD_EVENT:
    case INGEST_FINDING_NONE: break;
    }
    if (r->status == 409)
        return METRICS_REFUSED_CHAIN_GAP;
    if (r->status == 413)
        return METRICS_REFUSED_TOO_LARGE;
    if (r->status == 403)
        return METRICS_REFUSED_UNKNOWN_DEVICE;
    return METRICS_REFUSED_MALFORMED;
}

/* The error code of a refused batch. */
static enum http_error refusal_code(const struct ingest_result *r)
{
    switch (r->finding) {
    case INGEST_FINDING_BAD_SIGNATURE: return HTTP_E_BAD_SIGNATURE;
    case INGEST_FINDING_CHAIN_CONFLICT: return HTTP_E_CHAIN_CONFLICT;
    case INGEST_FINDING_CHAIN_BREAK: return HTTP_E_CHAIN_BREAK;
    case INGEST_FINDING_FOREIGN_EVENTS: return HTTP_E_FOREIGN_EVENTS;
    case INGEST_FINDING_BAD_EVENT: return HTTP_E_BAD_EVENT;
    case INGEST_FINDING_NONE: break;
    }
    return HTTP_E_STATUS;
}

/* True when the Content-Type names NDJSON (parameters such as charset allowed). */
static bool ndjson_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, "; \t");
    return (n == 20 && strncasecmp(ct, "application/x-ndjson", n) == 0) ||
           (n == 18 && strncasecmp(ct, "application/ndjson", n) == 0);
}

/* While a batch waits for the writer (its own connections), the pooled one serves others. */
static void release_db(void *req)
{
    http_release_db(req);
}

static void handle_batches(struct http_request *req, struct http_response *res)
{
    if (!ndjson_type(http_header(req, "Content-Type"))) {
        metrics_refused(req->metrics, METRICS_REFUSED_MALFORMED);
        http_reply_error(res, 415, "Content-Type must be application/x-ndjson");
        return;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const char *device = req->who->role.scope;
    struct ingest_result r;
    char err[ERR_LEN];
    const char *sig = http_header(req, "Rollcall-Signature");
    int rc =
        batch_writer
            ? ingest_batch_grouped_release(batch_writer, req->db, device, req->body, req->body_len,
                                           sig, ts_now_ms(), &r, release_db, req, err)
            : ingest_batch(req->db, device, req->body, req->body_len, sig, ts_now_ms(), &r, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    metrics_ingest_latency(req->metrics, (double)(t1.tv_sec - t0.tv_sec) +
                                             (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "POST /v1/batches from '%s': %s", device, err);
        http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                         rc == RC_DB ? "database busy, retry later" : "internal error");
        return;
    }
    if (r.status != 200) {
        metrics_refused(req->metrics, refusal_reason(&r));
        log_msg(r.finding ? LOG_LVL_WARN : LOG_LVL_INFO, "batch from '%s' refused (%u%s%s): %s",
                device, r.status, r.finding ? ", finding " : "", ingest_finding_name(r.finding),
                r.reason);
        if (r.status == 409) {
            res->expected_seq = r.expected_seq;
            http_reply_coded(res, 409, HTTP_E_CHAIN_GAP, "gap: expected seq %lld",
                             (long long)r.expected_seq);
            return;
        }
        http_reply_coded(res, r.status, refusal_code(&r), "%s", r.reason);
        return;
    }
    metrics_events_accepted(req->metrics, (uint64_t)r.accepted);
    metrics_events_duplicate(req->metrics, (uint64_t)r.duplicates);
    char body[160];
    snprintf(body, sizeof body, "{\"accepted\":%lld,\"duplicates\":%lld,\"ack_seq\":%lld}",
             (long long)r.accepted, (long long)r.duplicates, (long long)r.ack_seq);
    http_reply_json(res, 200, body);
}

static const struct http_route routes[] = {
    {"GET", "/healthz", handle_healthz, http_anyone},
    {"GET", "/metrics", handle_metrics, http_anyone},
    {"GET", "/openapi.json", openapi_http_get, http_anyone},
    {"POST", "/v1/login", session_login, http_anyone},
    {"POST", "/v1/logout", session_logout, session_allow_session},
    {"GET", "/v1/me", session_me, session_allow_caller},
    {"GET", "/v1/users", admin_api_users, admin_api_allow},
    {"POST", "/v1/users", admin_api_user_add, admin_api_allow},
    {"POST", "/v1/users/{name}/disable", admin_api_user_disable, admin_api_allow},
    {"POST", "/v1/users/{name}/enable", admin_api_user_enable, admin_api_allow},
    {"POST", "/v1/users/{name}/password", admin_api_user_password, admin_api_allow},
    {"POST", "/v1/fences", admin_api_fences_post, admin_api_allow},
    {"GET", "/v1/fences", fences_api_list, admin_api_allow},
    {"GET", "/v1/fences/{id}", fences_api_get, admin_api_allow},
    {"GET", "/v1/tokens", tokens_api_list, admin_api_allow},
    {"POST", "/v1/tokens", tokens_api_create, admin_api_allow},
    {"POST", "/v1/tokens/{name}/revoke", tokens_api_revoke, admin_api_allow},
    {"GET", "/v1/devices", handle_devices_list, allow_device_readers},
    {"POST", "/v1/devices", enroll_http_post, allow_enroll},
    {"GET", "/v1/devices/{id}/schedule", schedule_api_get, schedule_api_allow},
    {"POST", "/v1/batches", handle_batches, allow_device},
    {"PUT", "/v1/classes/{id}", figures_api_put_class, scope_allow_write_plan},
    {"POST", "/v1/classes/{id}/assessments", figures_api_post_assessments,
     scope_allow_write_assessment},
    {"POST", "/v1/online-records", figures_api_post_online, scope_allow_write_online},
    {"GET", "/v1/classes/{id}/attendance", figures_api_attendance, scope_allow_read},
    {"GET", "/v1/classes/{id}/evidence", figures_api_evidence, scope_allow_read},
    {"GET", "/v1/classes/{id}/subsidy", figures_api_subsidy, scope_allow_read_subsidy},
    {"GET", "/v1/summary", figures_api_summary, scope_allow_read},
    {"GET", "/v1/findings", figures_api_findings, scope_allow_read},
    {"GET", "/v1/live", live_api_get, scope_allow_read},
    {"GET", "/v1/evaluation/{year}", figures_api_evaluation, scope_allow_read},
    {"POST", "/v1/findings/{id}/review", figures_api_review, scope_allow_review},
    {"GET", "/v1/alerts/subscriptions", alerts_api_list, alerts_api_allow},
    {"POST", "/v1/alerts/subscriptions", alerts_api_create, alerts_api_allow},
    {"DELETE", "/v1/alerts/subscriptions/{id}", alerts_api_delete, alerts_api_allow},
    {"GET", "/v1/alerts/deliveries", alerts_api_deliveries, alerts_api_allow},
    {"GET", "/public/evaluation/{year}", figures_api_publication, http_anyone},
    {"PUT", "/v1/events/{id}/photo", photo_api_put, photo_api_allow_put},
    {"GET", "/v1/events/{id}/photo", photo_api_get, photo_api_allow_get},
    {"GET", "/v1/classes/{id}/procedure", subsidy_api_get, scope_allow_read_subsidy},
    {"POST", "/v1/classes/{id}/procedure", subsidy_api_post, subsidy_api_allow_post},
    {"GET", "/v1/review-queue", subsidy_api_queue, subsidy_api_allow_queue},
};

const struct http_route *api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}
