/* Admin-only JSON routes (see admin_api.h). */
#include "http/admin_api.h"

#include "crypto.h"
#include "engine/fences.h"
#include "http/password.h"
#include "http/session.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool admin_api_allow(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return auth_is(who, AUTH_ROLE_ADMIN);
}

static cJSON *json_time(int64_t ms)
{
    char buf[TS_SHANGHAI_ISO_LEN + 1];
    if (ms <= 0 || ts_format_shanghai_iso(ms, buf) != RC_OK)
        return cJSON_CreateNull();
    return cJSON_CreateString(buf);
}

static int add_user(const struct store_user *u, void *ctx)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(ctx, o)) {
        cJSON_Delete(o);
        return RC_NOMEM;
    }
    /* The password hash stays in the database. */
    if (!cJSON_AddStringToObject(o, "name", u->name) ||
        !cJSON_AddStringToObject(o, "role", u->role) ||
        !cJSON_AddItemToObject(o, "created_at", json_time(u->created_at_ms)) ||
        !cJSON_AddItemToObject(o, "password_changed_at", json_time(u->password_changed_at_ms)) ||
        !cJSON_AddItemToObject(o, "disabled_at", json_time(u->disabled_at_ms)) ||
        !cJSON_AddItemToObject(o, "last_login_at", json_time(u->last_login_at_ms)))
        return RC_NOMEM;
    return RC_OK;
}

void admin_api_users(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "out of memory";
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    char *text = NULL;
    int rc = RC_NOMEM;
    if (!root || !arr || !cJSON_AddItemToObject(root, "users", arr)) {
        cJSON_Delete(arr);
        goto fail;
    }
    if ((rc = store_user_list(req->db, add_user, arr, err)) != RC_OK)
        goto fail;
    text = cJSON_PrintUnformatted(root);
    if (!text) {
        rc = RC_NOMEM;
        goto fail;
    }
    cJSON_Delete(root);
    res->status = 200;
    res->body = text;
    res->len = strlen(text);
    return;
fail:
    cJSON_Delete(root);
    log_msg(LOG_LVL_ERROR, "GET /v1/users: %s", err);
    http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                     rc == RC_DB ? "database busy, retry later" : "internal error");
}

/* Answers user name as GET /v1/users lists it, with status. */
static void reply_user(struct http_request *req, struct http_response *res, unsigned status,
                       const char *name, const char *what)
{
    char err[ERR_LEN] = "out of memory";
    struct store_user u;
    cJSON *arr = cJSON_CreateArray();
    char *text = NULL;
    int rc = arr ? store_user_get(req->db, name, &u, err) : RC_NOMEM;
    if (rc == RC_OK)
        rc = add_user(&u, arr);
    explicit_bzero(&u, sizeof u);
    if (rc == RC_OK && !(text = cJSON_PrintUnformatted(cJSON_GetArrayItem(arr, 0))))
        rc = RC_NOMEM;
    cJSON_Delete(arr);
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "%s: %s", what, err);
        http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                         rc == RC_DB ? "database busy, retry later" : "internal error");
        return;
    }
    res->status = status;
    res->body = text;
    res->len = strlen(text);
}

/* Reads the JSON object body whose members are all among allowed (NULL-terminated) into
 * *root. RC_INVAL with the reason (*not_json when it is not JSON at all). */
static int object_body(const struct http_request *req, const char *const *allowed, cJSON **root,
                       bool *not_json, char *err)
{
    *root = NULL;
    if (req->body_len > ADMIN_API_BODY_MAX)
        return rc_fail(err, RC_LIMIT, "body over %d bytes", ADMIN_API_BODY_MAX);
    int rc = jsonin_parse((const char *)req->body, req->body_len, root, err);
    if (rc == RC_INVAL)
        *not_json = true;
    if (rc != RC_OK)
        return rc;
    if (!cJSON_IsObject(*root))
        return rc_fail(err, RC_INVAL, "expected a JSON object");
    const cJSON *m;
    cJSON_ArrayForEach(m, *root)
    {
        bool known = false;
        for (const char *const *a = allowed; *a; a++)
            known = known || strcmp(m->string, *a) == 0;
        if (!known)
            return rc_fail(err, RC_INVAL, "unknown member '%.64s'", m->string);
    }
    return RC_OK;
}

static void reply_body_error(struct http_response *res, int rc, bool not_json, const char *err)
{
    http_reply_coded(res,
                     rc == RC_NOMEM   ? 500
                     : rc == RC_LIMIT ? 413
                                      : 400,
                     not_json ? HTTP_E_INVALID_JSON : HTTP_E_STATUS, "%s", err);
}

/* The checked password member of root hashed into hash; RC_INVAL with the rule it breaks. */
static int body_password(const cJSON *root, char hash[PASSWORD_ENCODED_MAX + 1], char *err)
{
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(root, "password");
    if (!cJSON_IsString(pw))
        return rc_fail(err, RC_INVAL, "password must be a string");
    size_t len = strlen(pw->valuestring);
    int rc = password_check(pw->valuestring, len, err);
    if (rc == RC_OK)
        rc = password_hash(pw->valuestring, len, hash, err);
    explicit_bzero(pw->valuestring, len);
    return rc;
}

void admin_api_user_add(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"name", "role", "password", NULL};
    char err[ERR_LEN] = "out of memory", hash[PASSWORD_ENCODED_MAX + 1] = "";
    cJSON *root = NULL;
    bool not_json = false;
    int rc = object_body(req, allowed, &root, &not_json, err);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(root, "role");
    if (rc == RC_OK && (!cJSON_IsString(name) || !session_user_name_valid(name->valuestring)))
        rc = rc_fail(err, RC_INVAL, "name must be 1..%d of [A-Za-z0-9._@-]", STORE_USER_NAME_MAX);
    if (rc == RC_OK && !cJSON_IsString(role))
        rc = rc_fail(err, RC_INVAL, "role must be a string");
    if (rc == RC_OK)
        rc = session_user_role_check(role->valuestring, err);
    if (rc == RC_OK)
        rc = body_password(root, hash, err);
    if (rc != RC_OK) {
        cJSON_Delete(root);
        reply_body_error(res, rc, not_json, err);
        return;
    }
    struct store_user u = {0};
    snprintf(u.name, sizeof u.name, "%s", name->valuestring);
    snprintf(u.role, sizeof u.role, "%s", role->valuestring);
    snprintf(u.password_hash, sizeof u.password_hash, "%s", hash);
    explicit_bzero(hash, sizeof hash);
    cJSON_Delete(root);
    u.created_at_ms = u.password_changed_at_ms = ts_now_ms();
    rc = store_user_insert(req->db, &u, err);
    explicit_bzero(u.password_hash, sizeof u.password_hash);
    if (rc == RC_CONFLICT) {
        http_reply_error(res, 409, "a user named '%s' exists already", u.name);
        return;
    }
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "POST /v1/users: %s", err);
        http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                         rc == RC_DB ? "database busy, retry later" : "internal error");
        return;
    }
    log_msg(LOG_LVL_INFO, "added user '%s' with role %s (by '%s')", u.name, u.role, req->who->name);
    reply_user(req, res, 201, u.name, "POST /v1/users");
}

/* The user named in the path, or a 404 answered; false then. */
static bool path_user(struct http_request *req, struct http_response *res)
{
    const char *name = req->params[0];
    if (!name || !session_user_name_valid(name)) {
        http_reply_error(res, 404, "no user '%.64s'", name ? name : "");
        return false;
    }
    return true;
}

static void set_disabled(struct http_request *req, struct http_response *res, bool off)
{
    char err[ERR_LEN] = "";
    if (!path_user(req, res))
        return;
    const char *name = req->params[0];
    int rc = store_user_set_disabled(req->db, name, off, ts_now_ms(), err);
    if (rc == RC_NOTFOUND) {
        http_reply_error(res, 404, "no user '%s'", name);
        return;
    }
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "POST /v1/users/%s/%s: %s", name, off ? "disable" : "enable", err);
        http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                         rc == RC_DB ? "database busy, retry later" : "internal error");
        return;
    }
    log_msg(LOG_LVL_INFO, "user '%s' %s by '%s'%s", name, off ? "disabled" : "enabled",
            req->who->name, off ? "; their sessions have ended" : "");
    reply_user(req, res, 200, name,
               off ? "POST /v1/users/{name}/disable" : "POST /v1/users/{name}/enable");
}

void admin_api_user_disable(struct http_request *req, struct http_response *res)
{
    set_disabled(req, res, true);
}

void admin_api_user_enable(struct http_request *req, struct http_response *res)
{
    set_disabled(req, res, false);
}

void admin_api_user_password(struct http_request *req, struct http_response *res)
{
    static const char *const allowed[] = {"password", NULL};
    char err[ERR_LEN] = "out of memory", hash[PASSWORD_ENCODED_MAX + 1] = "";
    if (!path_user(req, res))
        return;
    const char *name = req->params[0];
    cJSON *root = NULL;
    bool not_json = false;
    int rc = object_body(req, allowed, &root, &not_json, err);
    if (rc == RC_OK)
        rc = body_password(root, hash, err);
    cJSON_Delete(root);
    if (rc != RC_OK) {
        reply_body_error(res, rc, not_json, err);
        return;
    }
    char key[STORE_HASH_HEX_LEN + 1];
    crypto_sha256_hex(name, strlen(name), key);
    rc = store_user_set_password(req->db, name, hash, ts_now_ms(), err);
    explicit_bzero(hash, sizeof hash);
    if (rc == RC_OK)
        rc = store_login_failures_clear(req->db, key, err);
    if (rc == RC_NOTFOUND) {
        http_reply_error(res, 404, "no user '%s'", name);
        return;
    }
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "POST /v1/users/%s/password: %s", name, err);
        http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                         rc == RC_DB ? "database busy, retry later" : "internal error");
        return;
    }
    log_msg(LOG_LVL_INFO, "new password for user '%s' set by '%s'; their sessions have ended", name,
            req->who->name);
    reply_user(req, res, 200, name, "POST /v1/users/{name}/password");
}

static const char *fence_outcome(enum store_fence_outcome o)
{
    return o == STORE_FENCE_NEW ? "new" : o == STORE_FENCE_SAME ? "unchanged" : "replaced";
}

void admin_api_fences_post(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN] = "out of memory";
    struct fences_item *items = NULL;
    size_t n = 0;
    enum store_fence_outcome *outcome = NULL;
    int *version = NULL;
    cJSON *root = NULL, *arr = NULL;
    char *text = NULL;
    int rc =
        fences_split((const char *)req->body, req->body_len, "the body", NULL, &items, &n, err);
    if (rc != RC_OK) {
        fences_items_free(items, n);
        http_reply_error(res, rc == RC_NOMEM ? 500 : 400, "%s", err);
        return;
    }
    outcome = calloc(n ? n : 1, sizeof *outcome);
    version = calloc(n ? n : 1, sizeof *version);
    rc = outcome && version ? store_begin(req->db, err) : RC_NOMEM;
    if (rc == RC_OK) {
        int64_t now = ts_now_ms();
        for (size_t i = 0; rc == RC_OK && i < n; i++)
            rc = store_fence_put(req->db, items[i].id, items[i].feature, items[i].sha256,
                                 req->who->name, now, true, &outcome[i], &version[i], err);
        if (rc == RC_OK)
            rc = store_commit(req->db, err);
        else
            store_rollback(req->db);
    }
    if (rc == RC_OK) {
        root = cJSON_CreateObject();
        arr = cJSON_AddArrayToObject(root, "fences");
        rc = arr ? RC_OK : RC_NOMEM;
    }
    for (size_t i = 0; rc == RC_OK && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o) ||
            !cJSON_AddStringToObject(o, "fence", items[i].id) ||
            !cJSON_AddNumberToObject(o, "version", version[i]) ||
            !cJSON_AddStringToObject(o, "outcome", fence_outcome(outcome[i])) ||
            !cJSON_AddStringToObject(o, "sha256", items[i].sha256)) {
            cJSON_Delete(o);
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            break;
        }
        log_msg(LOG_LVL_INFO, "fence '%s' %s (version %d) by '%s'", items[i].id,
                fence_outcome(outcome[i]), version[i], req->who->name);
    }
    if (rc == RC_OK && !(text = cJSON_PrintUnformatted(root)))
        rc = RC_NOMEM;
    cJSON_Delete(root);
    fences_items_free(items, n);
    free(outcome);
    free(version);
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "POST /v1/fences: %s", err);
        http_reply_error(res, rc == RC_DB ? 503 : 500, "%s",
                         rc == RC_DB ? "database busy, retry later" : "internal error");
        return;
    }
    res->status = 200;
    res->body = text;
    res->len = strlen(text);
}
