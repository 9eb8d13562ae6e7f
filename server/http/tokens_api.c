/* Bearer tokens for the console's admin page (see tokens_api.h). */
#include "http/tokens_api.h"

#include "http/auth.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
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

static cJSON *string_or_null(const char *s)
{
    return s[0] ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* The token as listed (its hash never), appended to the array ctx. */
static int add_token(const struct store_token *t, void *ctx)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(ctx, o)) {
        cJSON_Delete(o);
        return RC_NOMEM;
    }
    if (!cJSON_AddStringToObject(o, "name", t->name) ||
        !cJSON_AddStringToObject(o, "role", t->role) ||
        !cJSON_AddItemToObject(o, "created_at", json_time(t->created_at_ms)) ||
        !cJSON_AddItemToObject(o, "created_by", string_or_null(t->created_by)) ||
        !cJSON_AddItemToObject(o, "revoked_at",
                               t->revoked ? json_time(t->revoked_at_ms) : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(o, "revoked_by", string_or_null(t->revoked ? t->revoked_by : "")))
        return RC_NOMEM;
    return RC_OK;
}

static void reply_store_error(struct http_response *res, const char *what, int rc, const char *err)
{
    log_msg(LOG_LVL_ERROR, "%s: %s", what, err);
    http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                     rc == RC_DB ? "database busy, retry later" : "internal error");
}

static void reply_json(struct http_response *res, unsigned status, cJSON *root, const char *what)
{
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        reply_store_error(res, what, RC_NOMEM, "out of memory");
        return;
    }
    res->status = status;
    res->body = text;
    res->len = strlen(text);
}

void tokens_api_list(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "out of memory";
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "tokens") : NULL;
    int rc = arr ? store_token_list(req->db, add_token, arr, err) : RC_NOMEM;
    if (rc != RC_OK) {
        cJSON_Delete(root);
        reply_store_error(res, "GET /v1/tokens", rc, rc == RC_NOMEM ? "out of memory" : err);
        return;
    }
    reply_json(res, 200, root, "GET /v1/tokens");
}

/* The token named name as listed into a new object (*out), or an error. */
static int find_token(store *st, const char *name, cJSON **out, char *err)
{
    struct find {
        const char *name;
        cJSON *arr;
    };
    cJSON *arr = cJSON_CreateArray();
    *out = NULL;
    if (!arr)
        return rc_fail(err, RC_NOMEM, "out of memory");
    /* The list is short (tokens are made by hand): walking it keeps the store's ops few. */
    int rc = store_token_list(st, add_token, arr, err);
    cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (rc == RC_OK && cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) {
            *out = cJSON_DetachItemViaPointer(arr, it);
            break;
        }
    }
    cJSON_Delete(arr);
    if (rc == RC_OK && !*out)
        rc = rc_fail(err, RC_NOTFOUND, "no token named '%s'", name);
    return rc;
}

void tokens_api_create(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "out of memory";
    cJSON *root = NULL;
    if (req->body_len > TOKENS_API_BODY_MAX) {
        http_reply_coded(res, 413, HTTP_E_STATUS, "body over %d bytes", TOKENS_API_BODY_MAX);
        return;
    }
    int rc = jsonin_parse((const char *)req->body, req->body_len, &root, err);
    if (rc != RC_OK) {
        http_reply_coded(res, rc == RC_NOMEM ? 500 : 400,
                         rc == RC_INVAL ? HTTP_E_INVALID_JSON : HTTP_E_STATUS, "%s", err);
        return;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(root, "role");
    const cJSON *m;
    if (!cJSON_IsObject(root))
        rc = rc_fail(err, RC_INVAL, "expected a JSON object");
    if (rc == RC_OK) {
        cJSON_ArrayForEach(m, root)
        {
            if (rc == RC_OK && strcmp(m->string, "name") != 0 && strcmp(m->string, "role") != 0)
                rc = rc_fail(err, RC_INVAL, "unknown member '%.64s'", m->string);
        }
    }
    if (rc == RC_OK && (!cJSON_IsString(name) || !cJSON_IsString(role)))
        rc = rc_fail(err, RC_INVAL, "name and role must be strings");
    char token[AUTH_TOKEN_LEN + 1] = "";
    if (rc == RC_OK)
        rc = auth_token_create_by(req->db, role->valuestring, name->valuestring, req->who->name,
                                  token, err);
    if (rc == RC_INVAL || rc == RC_CONFLICT) {
        http_reply_error(res, rc == RC_CONFLICT ? 409 : 400, "%s", err);
        cJSON_Delete(root);
        return;
    }
    if (rc != RC_OK) {
        cJSON_Delete(root);
        reply_store_error(res, "POST /v1/tokens", rc, err);
        return;
    }
    char made[STORE_TOKEN_NAME_MAX + 1];
    snprintf(made, sizeof made, "%s", name->valuestring);
    cJSON_Delete(root);
    log_msg(LOG_LVL_INFO, "created token '%s' (by '%s')", made, req->who->name);
    cJSON *o = NULL;
    const cJSON *shown = NULL;
    char *text = NULL;
    rc = find_token(req->db, made, &o, err);
    if (rc == RC_OK && !(shown = cJSON_AddStringToObject(o, "token", token)))
        rc = rc_fail(err, RC_NOMEM, "out of memory");
    if (rc == RC_OK && !(text = cJSON_PrintUnformatted(o)))
        rc = rc_fail(err, RC_NOMEM, "out of memory");
    explicit_bzero(token, sizeof token);
    if (shown)
        explicit_bzero(shown->valuestring, strlen(shown->valuestring));
    cJSON_Delete(o);
    if (rc != RC_OK) {
        reply_store_error(res, "POST /v1/tokens", rc, err);
        return;
    }
    /* The answer is the only place the token ever appears (no-store: the default). */
    res->status = 201;
    res->body = text;
    res->len = strlen(text);
}

void tokens_api_revoke(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "";
    const char *name = req->params[0];
    if (!name || !auth_name_valid(name)) {
        http_reply_error(res, 404, "no token named '%.64s'", name ? name : "");
        return;
    }
    int rc = store_token_revoke(req->db, name, req->who->name, ts_now_ms(), err);
    if (rc == RC_NOTFOUND || rc == RC_CONFLICT) {
        http_reply_error(res, rc == RC_NOTFOUND ? 404 : 409, "%s", err);
        return;
    }
    if (rc != RC_OK) {
        reply_store_error(res, "POST /v1/tokens/{name}/revoke", rc, err);
        return;
    }
    log_msg(LOG_LVL_WARN, "token '%s' revoked by '%s'", name, req->who->name);
    cJSON *o = NULL;
    rc = find_token(req->db, name, &o, err);
    if (rc != RC_OK) {
        reply_store_error(res, "POST /v1/tokens/{name}/revoke", rc, err);
        return;
    }
    reply_json(res, 200, o, "POST /v1/tokens/{name}/revoke");
}
