/* Fetching the kiosk's schedule (see schedule_fetch.h). */
#include "schedule_fetch.h"

#include "crypto.h"
#include "dynbuf.h"
#include "rc.h"
#include "schedule.h"
#include "sync.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    ETAG_LEN = 80, /* an ETag header value kept */
};

struct fetch {
    struct dynbuf body;
    bool overflow;
    char etag[ETAG_LEN + 1];
    const volatile sig_atomic_t *stop;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct fetch *f = ctx;
    size_t n = size * nmemb;
    if (dynbuf_add(&f->body, data, n) != RC_OK) {
        f->overflow = true;
        return 0; /* aborts the transfer */
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct fetch *f = ctx;
    size_t n = size * nmemb;
    static const char name[] = "etag:";
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vn = n - (sizeof name - 1);
        while (vn && (*v == ' ' || *v == '\t')) {
            v++;
            vn--;
        }
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
            vn--;
        if (vn <= ETAG_LEN) {
            memcpy(f->etag, v, vn);
            f->etag[vn] = '\0';
        }
    }
    return n;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    const struct fetch *f = ctx;
    return f->stop && *f->stop ? 1 : 0;
}

const char *schedule_fetch_outcome_name(enum schedule_fetch_outcome o)
{
    switch (o) {
    case SCHEDULE_FETCH_UPDATED: return "updated";
    case SCHEDULE_FETCH_UNCHANGED: return "unchanged";
    case SCHEDULE_FETCH_FAILED: break;
    }
    return "failed";
}

/* The 64 hex digits of a strong ETag "\"<hex>\"" into hex, or false. */
static bool etag_hex(const char *etag, char hex[CRYPTO_SHA256_HEX_LEN + 1])
{
    size_t n = strlen(etag);
    if (n != CRYPTO_SHA256_HEX_LEN + 2 || etag[0] != '"' || etag[n - 1] != '"')
        return false;
    for (size_t i = 1; i < n - 1; i++)
        if (!((etag[i] >= '0' && etag[i] <= '9') || (etag[i] >= 'a' && etag[i] <= 'f')))
            return false;
    memcpy(hex, etag + 1, CRYPTO_SHA256_HEX_LEN);
    hex[CRYPTO_SHA256_HEX_LEN] = '\0';
    return true;
}

int schedule_fetch(struct kiosk *k, const volatile sig_atomic_t *stop,
                   enum schedule_fetch_outcome *outcome, char version[65], char *err)
{
    CURL *h = NULL;
    struct curl_slist *hdr = NULL, *t;
    char token[SYNC_TOKEN_MAX + 1] = "";
    char auth[64 + SYNC_TOKEN_MAX], inm[32 + OUTBOX_SCHEDULE_VERSION_MAX];
    char path[64 + EVENT_NAME_MAX], url[CONFIG_URL_LEN + 96];
    char curl_err[CURL_ERROR_SIZE] = "";
    struct fetch f = {.stop = stop};
    struct outbox_schedule_meta meta;
    struct schedule *parsed = NULL;
    int rc;

    *outcome = SCHEDULE_FETCH_FAILED;
    version[0] = '\0';
    dynbuf_init(&f.body, OUTBOX_SCHEDULE_MAX);
    rc = outbox_schedule_get(k->ob, &meta, NULL, NULL, err);
    if (rc == RC_NOTFOUND)
        meta.version[0] = '\0';
    else if (rc != RC_OK)
        goto out;
    snprintf(version, 65, "%s", meta.version);
    snprintf(path, sizeof path, "/v1/devices/%s/schedule", k->cfg.device_id);
    if ((rc = sync_read_token(&k->cfg, token, sizeof token, err)) != RC_OK ||
        (rc = sync_url(&k->cfg, path, url, sizeof url, err)) != RC_OK ||
        (rc = sync_curl_new(&k->cfg, &h, err)) != RC_OK)
        goto out;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    if (!(t = curl_slist_append(hdr, auth))) {
        rc = rc_fail(err, RC_NOMEM, "out of memory");
        goto out;
    }
    hdr = t;
    if (meta.version[0]) {
        snprintf(inm, sizeof inm, "If-None-Match: \"%s\"", meta.version);
        if (!(t = curl_slist_append(hdr, inm))) {
            rc = rc_fail(err, RC_NOMEM, "out of memory");
            goto out;
        }
        hdr = t;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl can decode */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &f);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, stop ? 0L : 1L);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_WRITE_ERROR && f.overflow) {
        rc = rc_fail(err, RC_LIMIT, "schedule: the answer is longer than %d bytes",
                     OUTBOX_SCHEDULE_MAX);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = rc_fail(err, RC_NET, "schedule: network: %.200s",
                     curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto out;
    }
    int64_t now = ts_now_ms();
    if (status == 304 && meta.version[0]) {
        if ((rc = outbox_schedule_touch(k->ob, now, err)) == RC_OK)
            *outcome = SCHEDULE_FETCH_UNCHANGED;
        goto out;
    }
    if (status != 200) {
        rc = rc_fail(err, status == 401 || status == 403 ? RC_AUTH : RC_NET,
                     "schedule: HTTP %ld: %.200s", status, f.body.buf ? f.body.buf : "");
        goto out;
    }
    char hex[CRYPTO_SHA256_HEX_LEN + 1], got[CRYPTO_SHA256_HEX_LEN + 1];
    const char *body = f.body.buf ? f.body.buf : "";
    if (!etag_hex(f.etag, hex)) {
        rc = rc_fail(err, RC_INVAL, "schedule: the answer has no usable ETag");
        goto out;
    }
    crypto_sha256_hex(body, f.body.len, got);
    if (strcmp(hex, got) != 0) {
        rc = rc_fail(err, RC_INVAL, "schedule: the answer does not match its ETag");
        goto out;
    }
    if ((rc = schedule_parse(body, f.body.len, &parsed, err)) != RC_OK ||
        (rc = outbox_schedule_put(k->ob, hex, body, f.body.len, now, err)) != RC_OK)
        goto out;
    *outcome = SCHEDULE_FETCH_UPDATED;
    snprintf(version, 65, "%s", hex);
out:
    schedule_free(parsed);
    if (h)
        curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    dynbuf_free(&f.body);
    memset(token, 0, sizeof token);
    memset(auth, 0, sizeof auth);
    return rc;
}
