/* Admin-only JSON routes (see admin_api.h). */
#include "http/admin_api.h"

#include "log.h"
#include "rc.h"
#include "store/store.h"
#include "timeutil.h"

#include <cJSON.h>
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
