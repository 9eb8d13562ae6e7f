/* HTTP handlers of the figures (see figures_api.h). */
#include "http/figures_api.h"

#include "engine/classes.h"
#include "engine/evaluation.h"
#include "engine/figures.h"
#include "evidence/evidence.h"
#include "evidence/publication.h"
#include "evidence/signkey.h"
#include "http/scope.h"
#include "i18n.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"
#include "report/report.h"
#include "timeutil.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS_PER_DAY INT64_C(86400000)
#define XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#define CSV_TYPE "text/csv; charset=utf-8"

enum { XLSX_MAX = 64 << 20 /* bytes of a workbook answer */ };

/* ---- helpers ---- */

static unsigned status_of(int rc)
{
    switch (rc) {
    case RC_INVAL:
    case RC_LIMIT: return 400;
    case RC_AUTH: return 403;
    case RC_NOTFOUND: return 404;
    case RC_CONFLICT: return 409;
    default: return 500;
    }
}

/* Answers a failure: refusals with their reason, internal failures logged and hidden. */
static void fail(struct http_request *req, struct http_response *res, int rc, const char *err)
{
    unsigned status = status_of(rc);
    if (status == 403) {
        scope_refuse(req, res, err);
        return;
    }
    if (status == 500) {
        log_msg(LOG_LVL_ERROR, "%s %s: %s", req->method, req->path, err);
        http_reply_error(res, 500, "internal error");
        return;
    }
    http_reply_error(res, status, "%s", err);
}

/* A query argument of at most FIGURES_API_QUERY_MAX bytes into *out (NULL when absent). */
static bool query(struct http_request *req, struct http_response *res, const char *name,
                  const char **out)
{
    const char *v = http_query(req, name);
    *out = NULL;
    if (!v)
        return true;
    if (strlen(v) > FIGURES_API_QUERY_MAX) {
        http_reply_error(res, 400, "query argument %s longer than %d bytes", name,
                         FIGURES_API_QUERY_MAX);
        return false;
    }
    *out = v;
    return true;
}

/* A date argument (YYYY-MM-DD, Asia/Shanghai) as its local midnight; end_of_day gives the next
 * midnight (an inclusive "to"). 0 when absent. */
static bool query_date(struct http_request *req, struct http_response *res, const char *name,
                       bool end_of_day, int64_t *ms)
{
    const char *v;
    char why[ERR_LEN];
    *ms = 0;
    if (!query(req, res, name, &v))
        return false;
    if (!v || !*v)
        return true;
    if (ts_parse_date(v, ms, why) != RC_OK) {
        http_reply_error(res, 400, "query argument %s: %s", name, why);
        return false;
    }
    if (end_of_day)
        *ms += MS_PER_DAY;
    return true;
}

/* The format argument: json (default), csv or xlsx (when allowed). */
enum format { FMT_JSON, FMT_CSV, FMT_XLSX };

static bool query_format(struct http_request *req, struct http_response *res, bool xlsx,
                         enum format *f)
{
    const char *v;
    *f = FMT_JSON;
    if (!query(req, res, "format", &v))
        return false;
    if (!v || strcmp(v, "json") == 0)
        return true;
    if (strcmp(v, "csv") == 0) {
        *f = FMT_CSV;
        return true;
    }
    if (xlsx && strcmp(v, "xlsx") == 0) {
        *f = FMT_XLSX;
        return true;
    }
    http_reply_error(res, 400, "format must be json, csv%s", xlsx ? " or xlsx" : "");
    return false;
}

/* Loads class id and checks who may perform a on it. Answers (404, 403, 500) and returns false
 * otherwise. */
static bool class_in_scope(struct http_request *req, struct http_response *res, const char *id,
                           enum scope_action a, struct store_class *c)
{
    char err[ERR_LEN];
    char district[STORE_DISTRICT_LEN + 1] = "";
    int rc = store_class_get(req->db, id, c, err);
    if (rc == RC_OK)
        rc = store_institution_district(req->db, c->institution, district, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return false;
    }
    if (!scope_may(req->who, a, c->institution, district)) {
        char what[ERR_LEN];
        snprintf(what, sizeof what, "class %s of institution %s (district %s)", c->id,
                 c->institution, district[0] ? district : "none");
        scope_refuse(req, res, what);
        return false;
    }
    return true;
}

static void reply_text(struct http_response *res, char *body, size_t len, const char *type)
{
    free(res->body);
    res->status = 200;
    res->body = body;
    res->len = len;
    res->content_type = type;
}

/* What an XLSX reply holds: class reports (and subsidy results) or an overview summary. */
struct xlsx_what {
    const struct engine_report *const *reports;
    size_t n;
    const struct subsidy_result *sub;
    size_t n_sub;
    const struct figures_summary *summary;
};

/* Writes an XLSX workbook through a temporary file (libxlsxwriter writes files) and answers
 * with its bytes. */
static int xlsx_send(struct http_response *res, const struct xlsx_what *w, char *err)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/rollcall-xlsx-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return rc_fail(err, RC_IO, "temporary file: %s", strerror(errno));
    close(fd);
    char *buf = NULL;
    int rc = w->summary
                 ? figures_summary_xlsx(w->summary, path, err)
                 : report_xlsx(path, w->reports, w->n, NULL, 0, NULL, 0, w->sub, w->n_sub, err);
    if (rc != RC_OK)
        goto out;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || sb.st_size <= 0 || sb.st_size > XLSX_MAX) {
        rc = rc_fail(err, RC_IO, "reading the workbook back failed");
        if (f)
            fclose(f);
        goto out;
    }
    size_t len = (size_t)sb.st_size;
    buf = malloc(len);
    if (!buf || fread(buf, 1, len, f) != len) {
        rc = rc_fail(err, buf ? RC_IO : RC_NOMEM, "reading the workbook back failed");
        fclose(f);
        goto out;
    }
    fclose(f);
    reply_text(res, buf, len, XLSX_TYPE);
    buf = NULL;
out:
    free(buf);
    unlink(path);
    return rc;
}

static int xlsx_reply(struct http_response *res, const struct engine_report *const *reports,
                      size_t n, const struct subsidy_result *sub, size_t n_sub, char *err)
{
    const struct xlsx_what w = {.reports = reports, .n = n, .sub = sub, .n_sub = n_sub};
    return xlsx_send(res, &w, err);
}

static enum plan_format body_format(struct http_request *req)
{
    const char *ct = http_header(req, "Content-Type");
    if (ct && strncasecmp(ct, "text/csv", 8) == 0)
        return PLAN_FORMAT_CSV;
    if (ct && strncasecmp(ct, "application/json", 16) == 0)
        return PLAN_FORMAT_JSON;
    return PLAN_FORMAT_AUTO;
}

/* ---- writes ---- */

static void import_body(struct http_request *req, struct http_response *res, enum classes_kind kind,
                        const char *class_id)
{
    char err[ERR_LEN];
    struct classes_result r;
    struct classes_actor actor = {
        .name = req->who->name,
        .institution = req->who->role.kind == AUTH_ROLE_INSTITUTION ? req->who->role.scope : NULL,
        .class_id = class_id,
    };
    int rc = classes_import(req->db, kind, (const char *)req->body, req->body_len, "body",
                            body_format(req), &actor, &r, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    char body[256];
    if (kind == CLASSES_PLANS) {
        log_msg(LOG_LVL_INFO, "class %s %s by token '%s'", r.first_class,
                r.created ? "declared" : "replaced", req->who->name);
        snprintf(body, sizeof body, "{\"class\":\"%s\",\"created\":%s}", r.first_class,
                 r.created ? "true" : "false");
        http_reply_json(res, r.created ? 201 : 200, body);
        return;
    }
    log_msg(LOG_LVL_INFO, "%zu %s stored (%zu duplicates) by token '%s'", r.records,
            kind == CLASSES_ONLINE ? "online records" : "assessments", r.duplicates,
            req->who->name);
    snprintf(body, sizeof body, "{\"records\":%zu,\"stored\":%zu,\"duplicates\":%zu}", r.records,
             r.records - r.duplicates, r.duplicates);
    http_reply_json(res, 200, body);
}

void figures_api_put_class(struct http_request *req, struct http_response *res)
{
    import_body(req, res, CLASSES_PLANS, req->params[0]);
}

void figures_api_post_assessments(struct http_request *req, struct http_response *res)
{
    import_body(req, res, CLASSES_ASSESSMENTS, req->params[0]);
}

void figures_api_post_online(struct http_request *req, struct http_response *res)
{
    import_body(req, res, CLASSES_ONLINE, NULL);
}

/* ---- the class report ---- */

static bool query_table(struct http_request *req, struct http_response *res, enum report_table *t)
{
    static const char *const names[] = {"classes", "sessions", "trainees", "findings"};
    const char *v;
    *t = REPORT_TRAINEES;
    if (!query(req, res, "table", &v))
        return false;
    if (!v)
        return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(v, names[i]) == 0) {
            *t = (enum report_table)i;
            return true;
        }
    }
    http_reply_error(res, 400, "table must be classes, sessions, trainees or findings");
    return false;
}

/* Names the download: "<what>-<class>[-<table>].<ext>" (class ids are [A-Za-z0-9._-]). */
static void download(struct http_response *res, const char *what, const char *class_id,
                     const char *table, const char *ext)
{
    char name[HTTP_DISPOSITION_MAX / 2];
    snprintf(name, sizeof name, "%s-%s%s%s.%s", what, class_id, table ? "-" : "",
             table ? table : "", ext);
    (void)http_set_download(res, name); /* a name over the limit: served without one */
}

/* The engine's findings of r with their details in lang (English: as they are). */
static void translate_details(struct engine_report *r, enum i18n_lang lang)
{
    char text[ENGINE_DETAIL_MAX + 1];
    for (size_t i = 0; lang != I18N_EN && i < r->n_findings; i++) {
        if (engine_detail_render(&r->findings[i], lang, text, sizeof text) == 0)
            memcpy(r->findings[i].detail, text, strlen(text) + 1);
    }
}

void figures_api_attendance(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    struct store_class c;
    enum format fmt;
    enum report_table table;
    struct engine_report *r = NULL;
    if (!query_format(req, res, true, &fmt) || !query_table(req, res, &table) ||
        !class_in_scope(req, res, req->params[0], SCOPE_READ, &c))
        return;
    int rc = figures_class_report(req->db, c.id, ts_now_ms(), &r, NULL, NULL, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    if (scope_identity_for(req->who, c.institution) == SCOPE_MASKED)
        figures_mask_names(r);
    const struct engine_report *const list[1] = {r};
    char *text = NULL;
    size_t len = 0;
    if (fmt == FMT_JSON) {
        /* The page's language (Accept-Language); the exports keep the engine's English. */
        enum i18n_lang lang = i18n_from_accept_language(http_header(req, "Accept-Language"));
        translate_details(r, lang);
        rc = figures_class_report_json(req->db, r, lang, &text, err);
        if (rc == RC_OK)
            reply_text(res, text, strlen(text), NULL);
    } else if (fmt == FMT_CSV) {
        static const char *const names[] = {"classes", "sessions", NULL, "findings"};
        rc = report_csv(list, 1, table, &text, &len, err);
        if (rc == RC_OK) {
            reply_text(res, text, len, CSV_TYPE);
            download(res, "attendance", c.id, names[table], "csv");
        }
    } else {
        if ((rc = xlsx_reply(res, list, 1, NULL, 0, err)) == RC_OK)
            download(res, "attendance", c.id, NULL, "xlsx");
    }
    engine_report_free(r);
    if (rc != RC_OK)
        fail(req, res, rc, err);
}

/* ---- evidence ---- */

/* Written by serve before the first request, read by request threads afterwards. */
static char signing_key_path[SIGNKEY_PATH_MAX];

void figures_api_set_signing_key(const char *path)
{
    snprintf(signing_key_path, sizeof signing_key_path, "%s", path ? path : "");
}

void figures_api_evidence(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    struct store_class c;
    if (!class_in_scope(req, res, req->params[0], SCOPE_READ, &c))
        return;
    /* The key is loaded per request: a rotation (signing-key rotate) takes effect at once, and
     * a key file that does not match the database's current key signs nothing. */
    signkey *key = NULL;
    int rc = signing_key_path[0] ? signkey_load(req->db, signing_key_path, &key, err)
                                 : rc_fail(err, RC_NOTFOUND, "no signing key file configured");
    if (rc != RC_OK) {
        log_msg(LOG_LVL_ERROR, "%s %s: the signing key: %s", req->method, req->path, err);
        http_reply_error(res, 503,
                         "the collector cannot sign evidence: its signing key is missing or not "
                         "current (rollcall-server signing-key check)");
        return;
    }
    bool names = scope_identity_for(req->who, c.institution) != SCOPE_MASKED;
    char *tar = NULL;
    size_t len = 0;
    rc = evidence_class_bundle(req->db, key, c.id, ts_now_ms(), names, &tar, &len, NULL, NULL, err);
    signkey_free(key);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    reply_text(res, tar, len, "application/x-tar");
    download(res, "evidence", c.id, NULL, "tar");
}

void figures_api_publication(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    const char *y = req->params[0], *fmt = http_query(req, "format");
    size_t n = strlen(y);
    bool csv = n == 8 && strcmp(y + 4, ".csv") == 0;
    if (!(n == 4 || csv) || y[0] < '2' || y[0] > '9' || !isdigit((unsigned char)y[1]) ||
        !isdigit((unsigned char)y[2]) || !isdigit((unsigned char)y[3])) {
        http_reply_error(res, 400, "the year must be YYYY or YYYY.csv");
        return;
    }
    if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
        http_reply_error(res, 400, "format must be json or csv");
        return;
    }
    csv = csv || (fmt && strcmp(fmt, "csv") == 0);
    int year = (y[0] - '0') * 1000 + (y[1] - '0') * 100 + (y[2] - '0') * 10 + (y[3] - '0');
    char *text = NULL;
    size_t len = 0;
    int rc = csv ? publication_csv(req->db, year, &text, &len, err)
                 : publication_json(req->db, year, &text, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    if (csv) {
        reply_text(res, text, len, CSV_TYPE);
        char name[64];
        snprintf(name, sizeof name, "evaluation-%d.csv", year);
        (void)http_set_download(res, name);
    } else {
        reply_text(res, text, strlen(text), NULL);
    }
}

/* ---- listings ---- */

/* The class filter of a listing from the query, narrowed to the caller's scope. Answers and
 * returns false on a bad argument or a request outside the scope. */
static bool listing_filter(struct http_request *req, struct http_response *res,
                           struct store_class_filter *f)
{
    const char *district, *institution;
    memset(f, 0, sizeof *f);
    if (!query(req, res, "district", &district) || !query(req, res, "institution", &institution) ||
        !query_date(req, res, "from", false, &f->from_ms) ||
        !query_date(req, res, "to", true, &f->to_ms))
        return false;
    char err[ERR_LEN];
    int rc =
        scope_narrow(req->db, req->who, institution, district, &f->institution, &f->district, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return false;
    }
    return true;
}

void figures_api_summary(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    struct store_class_filter f;
    struct figures_summary *s = NULL;
    char *text = NULL;
    enum format fmt;
    if (!query_format(req, res, true, &fmt) || !listing_filter(req, res, &f))
        return;
    if (fmt == FMT_CSV) {
        http_reply_error(res, 400, "format must be json or xlsx");
        return;
    }
    int rc = figures_summary(req->db, &f, ts_now_ms(), true, &s, err);
    if (rc == RC_OK && fmt == FMT_XLSX) {
        const struct xlsx_what w = {.summary = s};
        rc = xlsx_send(res, &w, err);
        figures_summary_free(s);
        if (rc != RC_OK) {
            fail(req, res, rc, err);
            return;
        }
        /* named for what it holds: summary[-district][-institution][-from][-to].xlsx */
        char name[HTTP_DISPOSITION_MAX / 2] = "summary";
        static const char *const parts[] = {"district", "institution", "from", "to"};
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            const char *v = http_query(req, parts[i]);
            size_t used = strlen(name);
            if (v && *v)
                snprintf(name + used, sizeof name - used, "-%s", v);
        }
        size_t used = strlen(name);
        snprintf(name + used, sizeof name - used, ".xlsx");
        (void)http_set_download(res, name);
        return;
    }
    if (rc == RC_OK)
        rc = figures_summary_json(s, &f, &text, err);
    figures_summary_free(s);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    reply_text(res, text, strlen(text), NULL);
}

void figures_api_evaluation(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    const char *y = req->params[0], *fmt = http_query(req, "format"), *district, *institution;
    if (strlen(y) != 4 || y[0] < '2' || y[0] > '9' || !isdigit((unsigned char)y[1]) ||
        !isdigit((unsigned char)y[2]) || !isdigit((unsigned char)y[3]) || strcmp(y, "2001") < 0) {
        http_reply_error(res, 400, "the year must be YYYY, 2001..9998");
        return;
    }
    if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
        http_reply_error(res, 400, "format must be json or csv");
        return;
    }
    if (!query(req, res, "district", &district) || !query(req, res, "institution", &institution))
        return;
    struct store_class_filter f = {0};
    int rc =
        scope_narrow(req->db, req->who, institution, district, &f.institution, &f.district, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    int year = (y[0] - '0') * 1000 + (y[1] - '0') * 100 + (y[2] - '0') * 10 + (y[3] - '0');
    bool csv = fmt && strcmp(fmt, "csv") == 0;
    struct evaluation_row *rows = NULL;
    size_t n = 0, len = 0;
    char *text = NULL;
    rc = evaluation_compute(req->db, year, &f, ts_now_ms(), &rows, &n, err);
    if (rc == RC_OK)
        rc = csv ? evaluation_csv(year, rows, n, &text, &len, err)
                 : evaluation_json(year, rows, n, &text, err);
    free(rows);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    if (csv) {
        reply_text(res, text, len, CSV_TYPE);
        char name[64];
        snprintf(name, sizeof name, "evaluation-%d-%d.csv", year, year - 1);
        (void)http_set_download(res, name);
    } else {
        reply_text(res, text, strlen(text), NULL);
    }
}

static cJSON *json_time(int64_t ms)
{
    char buf[TS_SHANGHAI_ISO_LEN + 1];
    if (ms <= 0 || ts_format_shanghai_iso(ms, buf) != RC_OK)
        return cJSON_CreateNull();
    return cJSON_CreateString(buf);
}

static const char *json_arg(const char *name, void *ctx)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Adds "title" to each listed finding: its kind's name from the catalogue, in lang (the
 * kind itself when the catalogue has none: a kind added without its texts shows, untranslated,
 * and tests/unit/test_i18n.c fails); and puts its "detail" in lang from "detail_code" and
 * "detail_args" (the engine's findings, and ingest's stored since migration 17; older stored
 * ones keep their English text). */
static int add_titles(cJSON *root, enum i18n_lang lang, char *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "findings");
    cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (!figures_add_title(item, lang))
            return rc_fail(err, RC_NOMEM, "out of memory");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(item, "detail_code");
        char text[FIGURES_API_DETAIL_MAX];
        if (lang == I18N_EN || !cJSON_IsString(code) ||
            i18n_render(code->valuestring, lang, json_arg,
                        cJSON_GetObjectItemCaseSensitive(item, "detail_args"), text,
                        sizeof text) != 0)
            continue; /* the English text stays */
        cJSON *s = cJSON_CreateString(text);
        if (!s || !cJSON_ReplaceItemInObjectCaseSensitive(item, "detail", s)) {
            cJSON_Delete(s);
            return rc_fail(err, RC_NOMEM, "out of memory");
        }
    }
    return RC_OK;
}

void figures_api_findings(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    struct store_class_filter f;
    const char *class_id;
    int64_t since = 0;
    cJSON *root = NULL;
    if (!listing_filter(req, res, &f) || !query(req, res, "class", &class_id) ||
        !query_date(req, res, "since", false, &since))
        return;
    if (class_id && *class_id) {
        struct store_class c;
        if (!class_in_scope(req, res, class_id, SCOPE_READ, &c))
            return;
    } else {
        class_id = NULL;
    }
    int rc = figures_findings(req->db, &f, class_id, since, ts_now_ms(), FIGURES_API_LIST_MAX,
                              &root, err);
    if (rc == RC_OK)
        rc = add_titles(root, i18n_from_accept_language(http_header(req, "Accept-Language")), err);
    char *text = rc == RC_OK ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (rc == RC_OK && !text)
        rc = rc_fail(err, RC_NOMEM, "out of memory");
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        return;
    }
    reply_text(res, text, strlen(text), NULL);
}

/* ---- subsidy ---- */

void figures_api_subsidy(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    struct store_class c;
    enum format fmt;
    int64_t claim = 0;
    int64_t now = ts_now_ms();
    struct subsidy_result *sub = NULL;
    size_t n = 0;
    struct engine_report *r = NULL;
    char *text = NULL;
    size_t len = 0;
    if (!query_format(req, res, true, &fmt) || !query_date(req, res, "claim", false, &claim) ||
        !class_in_scope(req, res, req->params[0], SCOPE_READ_SUBSIDY, &c))
        return;
    if (!claim) {
        char today[TS_DATE_LEN + 1];
        if (ts_format_date(now, today) != RC_OK || ts_parse_date(today, &claim, err) != RC_OK) {
            http_reply_error(res, 500, "internal error");
            return;
        }
    }
    bool mask = scope_identity_for(req->who, c.institution) == SCOPE_MASKED;
    int rc = figures_subsidy(req->db, c.id, now, claim, &sub, &n, &r, NULL, err);
    if (rc != RC_OK)
        goto out;
    if (mask) {
        figures_mask_names(r);
        for (size_t i = 0; i < n; i++)
            sub[i].name[0] = '\0';
    }
    if (fmt == FMT_JSON) {
        if ((rc = figures_subsidy_json(r, sub, n, claim, mask, &text, err)) == RC_OK)
            reply_text(res, text, strlen(text), NULL);
    } else if (fmt == FMT_CSV) {
        if ((rc = report_subsidy_csv(sub, n, &text, &len, err)) == RC_OK) {
            reply_text(res, text, len, CSV_TYPE);
            download(res, "subsidy", c.id, NULL, "csv");
        }
    } else {
        const struct engine_report *const list[1] = {r};
        if ((rc = xlsx_reply(res, list, 1, sub, n, err)) == RC_OK)
            download(res, "subsidy", c.id, NULL, "xlsx");
    }
out:
    free(sub);
    engine_report_free(r);
    if (rc != RC_OK)
        fail(req, res, rc, err);
}

/* ---- review ---- */

static bool text_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

void figures_api_review(struct http_request *req, struct http_response *res)
{
    char err[ERR_LEN];
    struct store_event_ref ev;
    struct store_review rv;
    cJSON *body = NULL;
    memset(&rv, 0, sizeof rv);
    if (jsonin_parse((const char *)req->body, req->body_len, &body, err) != RC_OK) {
        http_reply_error(res, 400, "%s", err);
        goto out;
    }
    if (!cJSON_IsObject(body)) {
        http_reply_error(res, 400, "body must be a JSON object {\"decision\", \"reason\"}");
        goto out;
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "decision");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(body, "reason");
    for (const cJSON *k = body->child; k; k = k->next) {
        if (strcmp(k->string, "decision") != 0 && strcmp(k->string, "reason") != 0) {
            http_reply_error(res, 400, "unknown key '%.64s' (decision, reason)", k->string);
            goto out;
        }
    }
    if (!cJSON_IsString(d) ||
        (strcmp(d->valuestring, "approve") != 0 && strcmp(d->valuestring, "reject") != 0)) {
        http_reply_error(res, 400, "decision must be \"approve\" or \"reject\"");
        goto out;
    }
    if (!cJSON_IsString(why) || !why->valuestring[0] ||
        strlen(why->valuestring) > STORE_REASON_MAX || !text_ok(why->valuestring)) {
        http_reply_error(res, 400, "reason must be 1..%d bytes of text on one line",
                         STORE_REASON_MAX);
        goto out;
    }
    int rc = store_event_find(req->db, req->params[0], &ev, err);
    if (rc != RC_OK) {
        fail(req, res, rc, err);
        goto out;
    }
    if (!scope_may(req->who, SCOPE_REVIEW, ev.institution, ev.district)) {
        char what[ERR_LEN];
        snprintf(what, sizeof what, "event of institution %s (district %s)", ev.institution,
                 ev.district[0] ? ev.district : "none");
        scope_refuse(req, res, what);
        goto out;
    }
    if ((strcmp(ev.type, "signin") != 0 && strcmp(ev.type, "signout") != 0) || !ev.class_id[0]) {
        http_reply_error(res, 409, "event %s is not a sign-in or sign-out of a class",
                         req->params[0]);
        goto out;
    }
    if (strcmp(ev.server_verdict, "inside") == 0) {
        http_reply_error(res, 409, "event %s is not flagged: its fix is inside the fence",
                         req->params[0]);
        goto out;
    }
    snprintf(rv.device, sizeof rv.device, "%s", ev.device);
    rv.seq = ev.seq;
    snprintf(rv.event_id, sizeof rv.event_id, "%s", ev.event_id);
    snprintf(rv.class_id, sizeof rv.class_id, "%s", ev.class_id);
    rv.approved = strcmp(d->valuestring, "approve") == 0;
    snprintf(rv.reason, sizeof rv.reason, "%s", why->valuestring);
    snprintf(rv.reviewer, sizeof rv.reviewer, "%s", req->who->name);
    rv.reviewed_at_ms = ts_now_ms();
    if ((rc = store_review_insert(req->db, &rv, err)) != RC_OK) {
        fail(req, res, rc, err);
        goto out;
    }
    log_msg(LOG_LVL_INFO, "review %lld: token '%s' %s event %s of class %s", (long long)rv.id,
            rv.reviewer, rv.approved ? "approved" : "rejected", rv.event_id, rv.class_id);
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddNumberToObject(o, "review", (double)rv.id) &&
        cJSON_AddStringToObject(o, "event", rv.event_id) &&
        cJSON_AddStringToObject(o, "class", rv.class_id) &&
        cJSON_AddStringToObject(o, "decision", rv.approved ? "approve" : "reject") &&
        cJSON_AddStringToObject(o, "reviewer", rv.reviewer) &&
        cJSON_AddItemToObject(o, "reviewed_at", json_time(rv.reviewed_at_ms)))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text)
        reply_text(res, text, strlen(text), NULL);
    else
        http_reply_error(res, 500, "out of memory");
out:
    cJSON_Delete(body);
}
