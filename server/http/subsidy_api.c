#include "http/subsidy_api.h"

#include "engine/flow.h"
#include "http/scope.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"
#include "timeutil.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The working-day calendar, loaded once by the first request that needs it and read-only
 * afterwards (workdays.h: threads may share it). */
static pthread_once_t calendar_once = PTHREAD_ONCE_INIT;
static struct workdays *calendar;
static char calendar_err[ERR_LEN];

static void load_calendar(void)
{
    struct workdays *w = malloc(sizeof *w);
    if (!w) {
        snprintf(calendar_err, sizeof calendar_err, "out of memory");
        return;
    }
    if (workdays_load(NULL, w, calendar_err) != RC_OK) {
        free(w);
        return;
    }
    calendar = w;
}

static const struct workdays *the_calendar(struct http_request *req, struct http_response *res)
{
    pthread_once(&calendar_once, load_calendar);
    if (!calendar) {
        log_msg(LOG_LVL_ERROR, "%s %s: working-day calendar: %s", req->method, req->path,
                calendar_err);
        http_reply_error(res, 500, "internal error");
    }
    return calendar;
}

bool subsidy_api_allow_post(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return auth_is(who, AUTH_ROLE_ADMIN) || auth_is(who, AUTH_ROLE_CITY) ||
           auth_is(who, AUTH_ROLE_INSTITUTION);
}

bool subsidy_api_allow_queue(const struct auth_principal *who, const struct http_request *req)
{
    (void)req;
    return auth_is(who, AUTH_ROLE_ADMIN) || auth_is(who, AUTH_ROLE_CITY);
}

static void fail(struct http_request *req, struct http_response *res, int rc, const char *err)
{
    switch (rc) {
    case RC_INVAL:
    case RC_LIMIT: http_reply_error(res, 400, "%s", err); return;
    case RC_NOTFOUND: http_reply_error(res, 404, "%s", err); return;
    case RC_CONFLICT: http_reply_error(res, 409, "%s", err); return;
    default:
        log_msg(LOG_LVL_ERROR, "%s %s: %s", req->method, req->path, err);
        http_reply_error(res, 500, "internal error");
    }
}

static void reply_json(struct http_response *res, unsigned status, cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    if (!text) {
        http_reply_error(res, 500, "internal error");
        return;
    }
    free(res->body);
    res->status = status;
    res->body = text;
    res->len = strlen(text);
}

/* The class in the caller's scope for a (read or write), or an answer sent. */
static bool class_in_scope(struct http_request *req, struct http_response *res, enum scope_action a,
                           struct store_class *c)
{
    char err[ERR_LEN];
    char district[STORE_DISTRICT_LEN + 1] = "";
    int rc = store_class_get(req->db, req->params[0], c, err);
    if (rc == RC_OK)
        rc = store_institution_district(req->db, c->institution, district, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return false;
    }
    if (!scope_may(req->who, a, c->institution, district)) {
        char what[ERR_LEN];
        snprintf(what, sizeof what, "the procedure of class %s of institution %s", c->id,
                 c->institution);
        scope_refuse(req, res, what);
        return false;
    }
    return true;
}

/* Set once by serve before any thread starts; read-only while serving. */
static int64_t notice_workdays_setting = FLOW_NOTICE_WORKDAYS_DEFAULT;

void subsidy_api_set_notice_workdays(int64_t days)
{
    notice_workdays_setting = days;
}

void subsidy_api_get(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    struct store_class c;
    cJSON *o = NULL;
    const struct workdays *w = the_calendar(req, res);
    if (!w || !class_in_scope(req, res, SCOPE_READ_SUBSIDY, &c))
        return;
    int rc = flow_status(req->db, w, c.id, 0, ts_now_ms(), &o, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    reply_json(res, 200, o);
    cJSON_Delete(o);
}

static bool text_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return n > 0 && n <= max;
}

void subsidy_api_post(struct http_request *req, struct http_response *res)
{
    static const char *const keys[] = {"kind",      "action",      "on",
                                       "reason",    "amount_yuan", "notice_workdays",
                                       "reference", "trainee",     NULL};
    char err[ERR_LEN];
    struct store_class c;
    cJSON *body = NULL, *o = NULL;
    struct flow_request rq = {0};
    const struct workdays *w = the_calendar(req, res);
    if (!w)
        return;
    if (req->body_len > SUBSIDY_API_BODY_MAX) {
        http_reply_error(res, 413, "body over %d bytes", SUBSIDY_API_BODY_MAX);
        return;
    }
    if (jsonin_parse((const char *)req->body, req->body_len, &body, err) != RC_OK) {
        http_reply_error(res, 400, "%s", err);
        goto out;
    }
    if (!cJSON_IsObject(body)) {
        http_reply_error(res, 400, "body must be a JSON object {\"kind\", \"action\", \"on\"}");
        goto out;
    }
    for (const cJSON *k = body->child; k; k = k->next) {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = strcmp(k->string, keys[i]) == 0;
        if (!known) {
            http_reply_error(res, 400, "unknown key '%.64s'", k->string);
            goto out;
        }
    }
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(body, "kind");
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(body, "action");
    const cJSON *on = cJSON_GetObjectItemCaseSensitive(body, "on");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(body, "reason");
    const cJSON *amount = cJSON_GetObjectItemCaseSensitive(body, "amount_yuan");
    const cJSON *notice = cJSON_GetObjectItemCaseSensitive(body, "notice_workdays");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(body, "reference");
    const cJSON *trainee = cJSON_GetObjectItemCaseSensitive(body, "trainee");
    rq.kind = PROC_KINDS;
    for (int k = 0; cJSON_IsString(kind) && k < PROC_KINDS; k++) {
        if (strcmp(kind->valuestring, procedure_kind_name((enum procedure_kind)k)) == 0)
            rq.kind = (enum procedure_kind)k;
    }
    if (rq.kind == PROC_KINDS) {
        http_reply_error(res, 400, "kind must be \"application\", \"claim\" or \"allowance\"");
        goto out;
    }
    if ((rq.kind == PROC_ALLOWANCE) != (trainee != NULL) ||
        (trainee && (!cJSON_IsString(trainee) || !text_ok(trainee->valuestring, STORE_ID_MAX)))) {
        http_reply_error(res, 400,
                         "trainee (the masked ID number or pseudonym, 1..%d bytes) is required "
                         "with kind allowance and only then",
                         STORE_ID_MAX);
        goto out;
    }
    rq.trainee = trainee ? trainee->valuestring : NULL;
    if (!cJSON_IsString(action) || procedure_action_parse(action->valuestring, &rq.action)) {
        http_reply_error(res, 400, "action must be submit, approve, return, audit, publish or pay");
        goto out;
    }
    if (!cJSON_IsString(on) || ts_parse_date(on->valuestring, &rq.on_ms, err) != RC_OK) {
        http_reply_error(res, 400, "on must be a date YYYY-MM-DD");
        goto out;
    }
    if (reason &&
        (!cJSON_IsString(reason) || !text_ok(reason->valuestring, PROCEDURE_REASON_MAX))) {
        http_reply_error(res, 400, "reason must be 1..%d bytes of text on one line",
                         PROCEDURE_REASON_MAX);
        goto out;
    }
    if (ref && (!cJSON_IsString(ref) || !text_ok(ref->valuestring, FLOW_REFERENCE_MAX))) {
        http_reply_error(res, 400, "reference must be 1..%d bytes of text on one line",
                         FLOW_REFERENCE_MAX);
        goto out;
    }
    if (amount &&
        (!cJSON_IsNumber(amount) || amount->valuedouble < 1 || amount->valuedouble > 1e9 ||
         amount->valuedouble != (double)(int64_t)amount->valuedouble)) {
        http_reply_error(res, 400, "amount_yuan must be whole yuan, 1..1000000000");
        goto out;
    }
    if (notice && (!cJSON_IsNumber(notice) || notice->valuedouble < 1 ||
                   notice->valuedouble > FLOW_NOTICE_WORKDAYS_MAX ||
                   notice->valuedouble != (double)(int64_t)notice->valuedouble)) {
        http_reply_error(res, 400, "notice_workdays must be 1..%d", FLOW_NOTICE_WORKDAYS_MAX);
        goto out;
    }
    /* An institution acts on its own classes (the scope of its plans); the city bureau (and
     * admin, who may act for it) on any. */
    bool city = auth_is(req->who, AUTH_ROLE_CITY) || auth_is(req->who, AUTH_ROLE_ADMIN);
    if (!class_in_scope(req, res, city ? SCOPE_READ_SUBSIDY : SCOPE_WRITE_PLAN, &c))
        goto out;
    rq.actor = city ? PROC_BY_CITY : PROC_BY_INSTITUTION;
    rq.class_id = c.id;
    rq.by = req->who->name;
    rq.reason = reason ? reason->valuestring : NULL;
    rq.reference = ref ? ref->valuestring : NULL;
    rq.amount_yuan = amount ? (int64_t)amount->valuedouble : 0;
    rq.notice_workdays = notice ? (int64_t)notice->valuedouble : notice_workdays_setting;
    rq.now_ms = ts_now_ms();
    struct store_step done;
    int rc = flow_act(req->db, w, &rq, &done, err);
    if (rc == RC_OK)
        rc = flow_status(req->db, w, c.id, 0, rq.now_ms, &o, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        goto out;
    }
    /* An allowance's subject is the city-wide pseudonym: the log names the class instead. */
    log_msg(LOG_LVL_INFO, "%s of %s: %s by %s%s%s", done.kind,
            rq.kind == PROC_ALLOWANCE ? c.id : done.subject, done.action, done.by,
            done.finding[0] ? ", finding " : "", done.finding);
    reply_json(res, 200, o);
out:
    cJSON_Delete(body);
    cJSON_Delete(o);
}

void subsidy_api_queue(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN], d[TS_DATE_LEN + 1];
    int64_t today = 0;
    cJSON *arr = NULL, *root = NULL;
    const struct workdays *w = the_calendar(req, res);
    if (!w)
        return;
    const char *on = http_query(req, "on");
    if (on ? ts_parse_date(on, &today, err) != RC_OK
           : (ts_format_date(ts_now_ms(), d) != RC_OK || ts_parse_date(d, &today, err) != RC_OK)) {
        http_reply_error(res, 400, "on must be a date YYYY-MM-DD");
        return;
    }
    int rc = flow_review_queue(req->db, w, 0, today, &arr, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    root = cJSON_CreateObject();
    if (!root || !cJSON_AddItemToObject(root, "applications", arr)) {
        cJSON_Delete(arr);
        http_reply_error(res, 500, "internal error");
    } else {
        reply_json(res, 200, root);
    }
    cJSON_Delete(root);
}
