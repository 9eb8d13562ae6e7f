/* Venue fences for the console's admin page (see fences_api.h). */
#include "http/fences_api.h"

#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *json_time(int64_t ms)
{
    char buf[TS_SHANGHAI_ISO_LEN + 1];
    if (ms <= 0 || ts_format_shanghai_iso(ms, buf) != RC_OK)
        return cJSON_CreateNull();
    return cJSON_CreateString(buf);
}

/* The list is walked newest version first per id: the first row of an id makes its entry. */
static int add_version(const struct store_fence_info *f, void *ctx)
{
    cJSON *arr = ctx;
    cJSON *last = cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(last, "id");
    cJSON *versions = NULL;
    if (last && cJSON_IsString(id) && strcmp(id->valuestring, f->id) == 0) {
        versions = cJSON_GetObjectItemCaseSensitive(last, "versions");
    } else {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return RC_NOMEM;
        }
        if (!cJSON_AddStringToObject(o, "id", f->id) ||
            !cJSON_AddNumberToObject(o, "version", f->version) ||
            !cJSON_AddStringToObject(o, "sha256", f->sha256) ||
            !cJSON_AddItemToObject(o, "created_at", json_time(f->created_at_ms)) ||
            !cJSON_AddStringToObject(o, "created_by", f->created_by) ||
            !cJSON_AddNumberToObject(o, "devices", (double)f->devices) ||
            !(versions = cJSON_AddArrayToObject(o, "versions")))
            return RC_NOMEM;
    }
    cJSON *v = cJSON_CreateObject();
    if (!v || !cJSON_AddItemToArray(versions, v)) {
        cJSON_Delete(v);
        return RC_NOMEM;
    }
    if (!cJSON_AddNumberToObject(v, "version", f->version) ||
        !cJSON_AddStringToObject(v, "sha256", f->sha256) ||
        !cJSON_AddItemToObject(v, "created_at", json_time(f->created_at_ms)) ||
        !cJSON_AddStringToObject(v, "created_by", f->created_by) ||
        !cJSON_AddItemToObject(v, "superseded_at", json_time(f->superseded_at_ms)))
        return RC_NOMEM;
    return RC_OK;
}

void fences_api_list(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "out of memory";
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "fences") : NULL;
    int rc = arr ? store_fence_list(req->db, add_version, arr, err) : RC_NOMEM;
    char *text = rc == RC_OK ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        log_msg(LOG_LVL_ERROR, "GET /v1/fences: %s", rc == RC_NOMEM ? "out of memory" : err);
        http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                         rc == RC_DB ? "database busy, retry later" : "internal error");
        return;
    }
    res->status = 200;
    res->body = text;
    res->len = strlen(text);
}

void fences_api_get(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "";
    const char *id = req->params[0];
    const char *vq = http_query(req, "version");
    long version = 0;
    if (vq) {
        char *end = NULL;
        errno = 0;
        version = strtol(vq, &end, 10);
        if (errno || end == vq || *end || version < 1 || version > 1000000) {
            http_reply_error(res, 400, "version must be a positive integer");
            return;
        }
    }
    if (!id || strlen(id) > STORE_ID_MAX) {
        http_reply_error(res, 404, "no fence '%.64s'", id ? id : "");
        return;
    }
    struct store_fence f = {0};
    int rc = vq ? store_fence_version(req->db, id, (int)version, &f, err)
                : store_fence_current(req->db, id, &f, err);
    if (rc == RC_NOTFOUND) {
        http_reply_error(res, 404, "%s", err);
        return;
    }
    if (rc != RC_OK) {
        store_fence_clear(&f);
        log_msg(LOG_LVL_ERROR, "GET /v1/fences/%s: %s", id, err);
        http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                         rc == RC_DB ? "database busy, retry later" : "internal error");
        return;
    }
    res->status = 200;
    res->body = f.geojson; /* handed over: http.c frees it */
    res->len = strlen(f.geojson);
    res->content_type = "application/geo+json";
}
