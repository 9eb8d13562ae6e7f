/* Alert bodies, URL masking, backoff and the sender thread (alert.h). */
#include "alert/alert.h"

#include "bgthread.h"
#include "dynbuf.h"
#include "i18n.h"
#include "jsonin.h"
#include "log.h"
#include "rc.h"
#include "timeutil.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void alert_config_default(struct alert_config *c)
{
    c->poll_ms = ALERT_DEFAULT_POLL_MS;
    c->base_ms = ALERT_DEFAULT_BASE_MS;
    c->cap_ms = ALERT_DEFAULT_CAP_MS;
    c->max_attempts = ALERT_DEFAULT_ATTEMPTS;
    c->timeout_s = ALERT_DEFAULT_TIMEOUT_S;
}

bool alert_format_valid(const char *f)
{
    return f && (strcmp(f, "json") == 0 || strcmp(f, "wecom-markdown") == 0 ||
                 strcmp(f, "wecom-text") == 0);
}

int alert_url_check(const char *url, char *err)
{
    size_t n = strlen(url);
    if (n == 0 || n > STORE_ALERT_URL_MAX)
        return rc_fail(err, RC_INVAL, "a webhook URL is 1..%d bytes", STORE_ALERT_URL_MAX);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return rc_fail(err, RC_INVAL,
                           "a webhook URL is printable ASCII without spaces (percent-encode "
                           "the rest)");
    }
    const char *host = NULL;
    if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    if (!host)
        return rc_fail(err, RC_INVAL, "a webhook URL starts with https:// (or http://)");
    if (!*host || *host == '/' || *host == '?' || *host == '#')
        return rc_fail(err, RC_INVAL, "a webhook URL names a host");
    if (strchr(url, '#'))
        return rc_fail(err, RC_INVAL, "a webhook URL has no fragment");
    return RC_OK;
}

void alert_mask_url(const char *url, char *out, size_t n)
{
    struct dynbuf b;
    dynbuf_init(&b, n > 0 ? n - 1 : 0);
    int rc = RC_OK; /* the first failure sticks: a URL cut short is not shown at all */
    const char *p = url;
    const char *scheme = strstr(url, "://");
    if (scheme && scheme > url + strcspn(url, "/?#"))
        scheme = NULL; /* "://" inside the path or query is not a scheme */
    if (scheme) {
        rc = dynbuf_add(&b, url, (size_t)(scheme + 3 - url));
        p = scheme + 3;
        /* user information: everything up to '@' before the path */
        size_t auth = strcspn(p, "/?#");
        const char *at = memchr(p, '@', auth);
        if (at) {
            rc = rc ? rc : dynbuf_adds(&b, "***@");
            p = at + 1;
        }
    }
    size_t path = strcspn(p, "?#");
    rc = rc ? rc : dynbuf_add(&b, p, path);
    p += path;
    if (*p == '?') {
        p++;
        rc = rc ? rc : dynbuf_adds(&b, "?");
        bool first = true;
        while (*p && *p != '#') {
            size_t len = strcspn(p, "&#");
            size_t name = strcspn(p, "=&#");
            if (!first)
                rc = rc ? rc : dynbuf_adds(&b, "&");
            first = false;
            rc = rc ? rc : dynbuf_add(&b, p, name);
            if (name < len)
                rc = rc ? rc : dynbuf_adds(&b, "=***");
            p += len;
            if (*p == '&')
                p++;
        }
    }
    if (n > 0)
        snprintf(out, n, "%s", rc == RC_OK ? dynbuf_ptr(&b) : "(a URL too long to show)");
    dynbuf_free(&b);
}

int64_t alert_backoff_ms(int64_t attempts, int64_t base_ms, int64_t cap_ms)
{
    int64_t d = base_ms > 0 ? base_ms : 1;
    for (int64_t i = 1; i < attempts && d < cap_ms; i++)
        d = d > INT64_MAX / 2 ? INT64_MAX : d * 2;
    return d < cap_ms ? d : cap_ms;
}

void alert_key(const struct store_alert_delivery *d, char *out, size_t n)
{
    snprintf(out, n, "rollcall-alert-%lld-F%lld", (long long)d->sub.id, (long long)d->finding.id);
}

/* The Chinese name of a stored finding's kind (the catalogue's); NULL for one without. */
static const char *kind_zh(const char *kind)
{
    return i18n_text2("finding", kind, I18N_ZH);
}

/* The stored finding's template arguments (a JSON object), NULL when it has none. */
static cJSON *detail_args(const struct store_finding_row *f)
{
    cJSON *args = NULL;
    char why[ERR_LEN];
    if (!f->detail_code[0] ||
        jsonin_parse(f->detail_args, strlen(f->detail_args), &args, why) != RC_OK ||
        !cJSON_IsObject(args)) {
        cJSON_Delete(args);
        return NULL;
    }
    return args;
}

static const char *args_arg(const char *name, void *ctx)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The stored finding's detail in Chinese into out (n bytes); false when it has no template
 * (stored before migration 17, or an engine finding's English text). */
static bool detail_zh(const struct store_finding_row *f, char *out, size_t n)
{
    cJSON *args = detail_args(f);
    bool ok = args && i18n_render(f->detail_code, I18N_ZH, args_arg, args, out, n) == 0;
    cJSON_Delete(args);
    return ok;
}

static cJSON *json_str_or_null(const char *s)
{
    return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static int json_body(const struct store_alert_delivery *d, const char *key, const char *when,
                     char **body)
{
    const struct store_finding_row *f = &d->finding;
    cJSON *o = cJSON_CreateObject(), *fo = cJSON_CreateObject();
    int rc = RC_NOMEM;
    char fid[32];
    snprintf(fid, sizeof fid, "F%lld", (long long)f->id);
    if (!o || !fo || !cJSON_AddItemToObject(o, "finding", fo)) {
        cJSON_Delete(fo);
        goto out;
    }
    if (!cJSON_AddStringToObject(o, "idempotency_key", key) ||
        !cJSON_AddStringToObject(o, "type", "rollcall.finding") ||
        !cJSON_AddStringToObject(o, "subscription", d->sub.name) ||
        !cJSON_AddStringToObject(fo, "id", fid) || !cJSON_AddStringToObject(fo, "kind", f->kind) ||
        !cJSON_AddStringToObject(fo, "severity", "serious") ||
        !cJSON_AddItemToObject(fo, "kind_zh", json_str_or_null(kind_zh(f->kind))) ||
        !cJSON_AddItemToObject(fo, "device", json_str_or_null(f->device)) ||
        !cJSON_AddItemToObject(
            fo, "seq", f->seq > 0 ? cJSON_CreateNumber((double)f->seq) : cJSON_CreateNull()) ||
        !cJSON_AddItemToObject(fo, "institution", json_str_or_null(f->institution)) ||
        !cJSON_AddItemToObject(fo, "district", json_str_or_null(d->district)) ||
        !cJSON_AddItemToObject(fo, "class", json_str_or_null(f->class_id)) ||
        !cJSON_AddStringToObject(fo, "detail", f->detail) ||
        !cJSON_AddStringToObject(fo, "created_at", when))
        goto out;
    /* The detail stays English; its template code and arguments let a receiver render it in
     * its own language (docs/API.md "Languages"). */
    cJSON *args = detail_args(f);
    if (args && (!cJSON_AddStringToObject(fo, "detail_code", f->detail_code) ||
                 !cJSON_AddItemToObject(fo, "detail_args", args))) {
        cJSON_Delete(args);
        goto out;
    }
    *body = cJSON_PrintUnformatted(o);
    if (*body)
        rc = RC_OK;
out:
    cJSON_Delete(o);
    return rc;
}

/* Cuts s (NUL-terminated, in a buffer) to at most max bytes, at a UTF-8 character boundary. */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    s[n] = '\0';
}

static int wecom_body(const struct store_alert_delivery *d, const char *key, const char *when,
                      bool markdown, char **body)
{
    const struct store_finding_row *f = &d->finding;
    const char *zh = kind_zh(f->kind);
    struct dyntext t;
    dyntext_init(&t, ALERT_BODY_MAX);
    if (markdown)
        dyntext_printf(&t, "## <font color=\"warning\">严重问题</font> Serious finding\n");
    else
        dyntext_printf(&t, "【严重问题 Serious finding】\n");
    const char *q = markdown ? "> " : "";
    dyntext_printf(&t, "%s类型 Kind: %s%s%s\n", q, zh ? zh : "", zh ? " " : "", f->kind);
    if (f->institution[0])
        dyntext_printf(&t, "%s机构 Institution: %s\n", q, f->institution);
    if (d->district[0])
        dyntext_printf(&t, "%s区 District: %s\n", q, d->district);
    if (f->class_id[0])
        dyntext_printf(&t, "%s班级 Class: %s\n", q, f->class_id);
    if (f->device[0])
        dyntext_printf(&t, "%s设备 Kiosk: %s (seq %lld)\n", q, f->device, (long long)f->seq);
    dyntext_printf(&t, "%s时间 Time: %s\n", q, when);
    /* For officials: the Chinese detail first when the finding has a template, the English
     * beside it. */
    char zh_detail[STORE_DETAIL_MAX + 1];
    if (detail_zh(f, zh_detail, sizeof zh_detail))
        dyntext_printf(&t, "%s详情: %s\n%sDetail: %s\n", q, zh_detail, q, f->detail);
    else
        dyntext_printf(&t, "%s详情 Detail: %s\n", q, f->detail);
    dyntext_printf(&t, "编号 Key: %s", key);
    char *content = NULL;
    size_t len = 0;
    char err[ERR_LEN];
    if (dyntext_take(&t, "alert", &content, &len, err) != RC_OK)
        return RC_NOMEM;
    cut_utf8(content, markdown ? ALERT_WECOM_MARKDOWN_MAX : ALERT_WECOM_TEXT_MAX);
    int rc = RC_NOMEM;
    const char *type = markdown ? "markdown" : "text";
    cJSON *o = cJSON_CreateObject(), *inner = cJSON_CreateObject();
    if (!o || !inner || !cJSON_AddStringToObject(o, "msgtype", type) ||
        !cJSON_AddItemToObject(o, type, inner)) {
        cJSON_Delete(inner);
        goto out;
    }
    if (!cJSON_AddStringToObject(inner, "content", content))
        goto out;
    *body = cJSON_PrintUnformatted(o);
    if (*body)
        rc = RC_OK;
out:
    cJSON_Delete(o);
    free(content);
    return rc;
}

int alert_body(const struct store_alert_delivery *d, char **body, size_t *len, char *err)
{
    char key[ALERT_KEY_MAX], when[TS_UTC_LEN + 1];
    alert_key(d, key, sizeof key);
    if (ts_format_utc(d->finding.created_at_ms, when) != RC_OK)
        snprintf(when, sizeof when, "?");
    *body = NULL;
    int rc;
    if (strcmp(d->sub.format, "json") == 0)
        rc = json_body(d, key, when, body);
    else if (strcmp(d->sub.format, "wecom-markdown") == 0)
        rc = wecom_body(d, key, when, true, body);
    else if (strcmp(d->sub.format, "wecom-text") == 0)
        rc = wecom_body(d, key, when, false, body);
    else
        return rc_fail(err, RC_INVAL, "unknown alert format '%.16s'", d->sub.format);
    if (rc != RC_OK)
        return rc_fail(err, rc, "out of memory");
    *len = strlen(*body);
    return RC_OK;
}

/* ---- Sending ---- */

static size_t collect(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct dynbuf *b = ctx;
    size_t n = size * nmemb;
    /* Past the cap the rest is dropped, not an error: only the start matters (errcode). */
    if (b->len + n <= ALERT_RESPONSE_MAX)
        dynbuf_add(b, data, n);
    return n;
}

/* WeCom answers 200 with {"errcode": 0, "errmsg": "ok"}; anything else is a failure. */
static bool wecom_ok(const struct dynbuf *b, char *why, size_t n)
{
    cJSON *o = NULL;
    char err[ERR_LEN];
    if (b->len == 0 || jsonin_parse(b->buf, b->len, &o, err) != RC_OK) {
        snprintf(why, n, "WeCom answer is not JSON");
        return false;
    }
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "errcode");
    bool ok = cJSON_IsNumber(code) && code->valuedouble == 0;
    if (!ok)
        snprintf(why, n, "WeCom errcode %.0f", cJSON_IsNumber(code) ? code->valuedouble : -1.0);
    cJSON_Delete(o);
    return ok;
}

/* One POST. Returns true on success; *status gets the HTTP status (0: none), why the reason
 * of a failure (never the URL). */
static bool post(const struct store_alert_delivery *d, const struct alert_config *cfg,
                 const char *body, size_t len, long *status, char *why, size_t n)
{
    char key[ALERT_KEY_MAX], hdr[ALERT_KEY_MAX + 32];
    alert_key(d, key, sizeof key);
    snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
    struct curl_slist *h = NULL, *h2;
    struct dynbuf answer;
    dynbuf_init(&answer, ALERT_RESPONSE_MAX);
    bool ok = false;
    *status = 0;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, n, "libcurl could not start");
        goto out;
    }
    if (!(h2 = curl_slist_append(h, "Content-Type: application/json; charset=utf-8"))) {
        snprintf(why, n, "out of memory");
        goto out;
    }
    h = h2;
    if (!(h2 = curl_slist_append(h, hdr))) {
        snprintf(why, n, "out of memory");
        goto out;
    }
    h = h2;
    curl_easy_setopt(c, CURLOPT_URL, d->sub.url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(cfg->timeout_s < 10 ? cfg->timeout_s : 10));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "rollcall-server alerts");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
    if (d->sub.ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, d->sub.ca_file);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        /* curl_easy_strerror names the failure only, never the URL */
        snprintf(why, n, "%s", curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (*status < 200 || *status > 299) {
        snprintf(why, n, "HTTP %ld", *status);
        goto out;
    }
    if (strncmp(d->sub.format, "wecom-", 6) == 0 && !wecom_ok(&answer, why, n))
        goto out;
    ok = true;
    why[0] = '\0';
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    dynbuf_free(&answer);
    return ok;
}

struct due_list {
    struct store_alert_delivery *rows;
    size_t n;
};

static int take_due(const struct store_alert_delivery *d, void *ctx)
{
    struct due_list *l = ctx;
    l->rows[l->n++] = *d;
    return 0;
}

int alert_deliver_due(store *st, const struct alert_config *cfg, int64_t now_ms, size_t *sent,
                      size_t *failed, char *err)
{
    size_t ok_n = 0, bad_n = 0;
    struct due_list l = {calloc(ALERT_BATCH, sizeof *l.rows), 0};
    if (!l.rows)
        return rc_fail(err, RC_NOMEM, "out of memory");
    struct store_alert_filter f = {.due_at_ms = now_ms};
    int rc = store_alert_deliveries(st, &f, ALERT_BATCH, take_due, &l, err);
    for (size_t i = 0; rc == RC_OK && i < l.n; i++) {
        struct store_alert_delivery *d = &l.rows[i];
        bool claimed = false;
        int64_t lease_ms = 2 * (int64_t)cfg->timeout_s * 1000 + ALERT_LEASE_MARGIN_MS;
        if ((rc = store_alert_claim(st, d->id, d->next_at_ms, now_ms + lease_ms, &claimed, err)) !=
            RC_OK)
            break;
        if (!claimed)
            continue;
        char masked[ALERT_MASKED_URL_MAX + 1], why[STORE_ALERT_ERROR_MAX + 1] = "";
        alert_mask_url(d->sub.url, masked, sizeof masked);
        char *body = NULL;
        size_t len = 0;
        long status = 0;
        bool ok = false;
        if (alert_body(d, &body, &len, why) == RC_OK)
            ok = post(d, cfg, body, len, &status, why, sizeof why);
        free(body);
        int64_t at = ts_now_ms();
        struct store_alert_attempt a = {
            .attempts = d->attempts + 1, .status = status, .error = why, .at_ms = at};
        if (ok) {
            a.state = "delivered";
            a.next_at_ms = at;
            ok_n++;
            log_msg(LOG_LVL_INFO, "alert %lld (finding F%lld) delivered to '%s' (%s), HTTP %ld",
                    (long long)d->id, (long long)d->finding.id, d->sub.name, masked, status);
        } else {
            bool give_up = a.attempts >= (int64_t)cfg->max_attempts;
            a.state = give_up ? "failed" : "pending";
            a.next_at_ms = at + alert_backoff_ms(a.attempts, cfg->base_ms, cfg->cap_ms);
            bad_n++;
            log_msg(give_up ? LOG_LVL_ERROR : LOG_LVL_WARN,
                    "alert %lld (finding F%lld) to '%s' (%s): attempt %lld failed: %s%s",
                    (long long)d->id, (long long)d->finding.id, d->sub.name, masked,
                    (long long)a.attempts, why, give_up ? "; giving up" : "");
        }
        rc = store_alert_record(st, d->id, &a, err);
    }
    free(l.rows);
    if (sent)
        *sent = ok_n;
    if (failed)
        *failed = bad_n;
    return rc;
}

/* ---- The sender thread ---- */

struct alert_sender {
    struct bgthread bg;
    char *db_url;
    struct alert_config cfg;
};

static void *sender_main(void *arg)
{
    alert_sender *s = arg;
    store *st = NULL;
    char err[ERR_LEN];
    bool complained = false;
    while (!bgthread_stopping(&s->bg)) {
        if (!st && store_open(s->db_url, 0, &st, err) != RC_OK) {
            st = NULL;
            if (!complained)
                log_msg(LOG_LVL_ERROR, "alerts: %s", err);
            complained = true;
            bgthread_nap(&s->bg, s->cfg.poll_ms);
            continue;
        }
        size_t sent = 0, failed = 0;
        if (alert_deliver_due(st, &s->cfg, ts_now_ms(), &sent, &failed, err) != RC_OK) {
            log_msg(LOG_LVL_ERROR, "alerts: %s", err);
            store_close(st);
            st = NULL;
        } else {
            complained = false;
        }
        /* a full batch may have more behind it */
        if (sent + failed < ALERT_BATCH)
            bgthread_nap(&s->bg, s->cfg.poll_ms);
    }
    store_close(st);
    return NULL;
}

int alert_sender_start(const char *db_url, const struct alert_config *cfg, alert_sender **out,
                       char *err)
{
    alert_sender *s = calloc(1, sizeof *s);
    if (!s || !(s->db_url = strdup(db_url))) {
        free(s);
        return rc_fail(err, RC_NOMEM, "out of memory");
    }
    s->cfg = *cfg;
    int rc = bgthread_start(&s->bg, sender_main, s, "the alert sender", err);
    if (rc != RC_OK) {
        free(s->db_url);
        free(s);
        return rc;
    }
    *out = s;
    return RC_OK;
}

void alert_sender_stop(alert_sender *s)
{
    if (!s)
        return;
    bgthread_stop(&s->bg);
    free(s->db_url);
    free(s);
}
